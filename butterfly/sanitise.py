"""Untrusted text (ticket subjects, customer names, answers) made inert before it is shown.

The one home of the rule: C0/C1 control characters (ESC and BEL start terminal escape sequences) and the bidi
overrides (text that reads backwards) are removed. :func:`terminal_safe` also escapes Rich markup, for text
printed through Rich; :func:`terminal_plain` is for plain prompts. The Markdown and HTML escapers of the
reports (``butterfly.templating``) use :data:`CONTROL` with line breaks kept.
"""

from __future__ import annotations

import re

from rich.markup import escape

# C0/C1 controls except tab and line feed, plus the bidi embedding/override/isolate characters
_TERMINAL_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
# the same, keeping carriage returns too (documents normalise line breaks themselves)
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def terminal_safe(value: object) -> str:
    """Untrusted text made inert for the terminal: control/escape sequences removed, Rich markup escaped."""
    if value is None:
        return ""
    return escape(_TERMINAL_CONTROL.sub("", str(value)))


def terminal_plain(value: object) -> str:
    """Untrusted text without control sequences or bidi overrides, for plain (non-Rich) prompts."""
    return _TERMINAL_CONTROL.sub("", str(value or ""))
