"""Untrusted text (ticket subjects, customer names, answers) made inert before it is shown.

The one home of the rule: C0/C1 control characters (ESC and BEL start terminal escape sequences) and the bidi
overrides (text that reads backwards) are removed. :func:`terminal_safe` also escapes Rich markup, for text
printed through Rich; :func:`terminal_plain` is for plain prompts. The Markdown and HTML escapers of the
reports (``butterfly.templating``) use :data:`CONTROL` with line breaks kept. JSON keeps the text whole but
shows those characters as ``\\uXXXX`` escapes (:func:`json_dumps`), so a reader of the raw file sees them.
"""

from __future__ import annotations

import json
import re
from typing import Any

from rich.markup import escape

# C0/C1 controls except tab and line feed, plus the bidi embedding/override/isolate characters
_TERMINAL_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
# the same, keeping carriage returns too (documents normalise line breaks themselves)
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
# what JSON must escape beyond json.dumps (which escapes C0 controls, ESC among them): DEL and the C1 controls,
# and every bidi control (marks, embeddings, overrides, isolates); they only ever stand inside JSON strings
_JSON_HIDDEN = re.compile(r"[\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def terminal_safe(value: object) -> str:
    """Untrusted text made inert for the terminal: control/escape sequences removed, Rich markup escaped."""
    if value is None:
        return ""
    return escape(_TERMINAL_CONTROL.sub("", str(value)))


def terminal_plain(value: object) -> str:
    """Untrusted text without control sequences or bidi overrides, for plain (non-Rich) prompts."""
    return _TERMINAL_CONTROL.sub("", str(value or ""))


def json_dumps(data: Any, *, indent: int | None = None, sort_keys: bool = False, default: Any = None) -> str:
    """``data`` as JSON for a file or stdout: non-ASCII text kept readable, control and bidi characters escaped
    (``\\u202e`` as ESC is ``\\u001b``), so nothing in it reorders or recolours what a reader sees."""
    text = json.dumps(data, ensure_ascii=False, indent=indent, sort_keys=sort_keys, default=default)
    return _JSON_HIDDEN.sub(lambda m: f"\\u{ord(m.group(0)):04x}", text)
