"""The Markdown escaper: untrusted text made inert for Markdown (one line, or a block keeping its paragraphs).

Escaped for Markdown, not HTML: ``<`` and Markdown punctuation get a backslash (CommonMark shows ``\\<`` as ``<``),
``&`` only where it would start an entity, ``>`` only where it would start a quote; so ``pending > 7 days`` reads
the same in the file and rendered, never ``pending &gt; 7 days``.
"""

from __future__ import annotations

import re

from markupsafe import Markup

from butterfly.sanitise import CONTROL

_MD_SPECIAL = re.compile(r"([\\`*_\[\]{}|~#+!$<])")  # < : no HTML tag or autolink can start
_ENTITY = re.compile(r"&(?=#?[0-9A-Za-z]+;)")  # & only where it would start an entity (&lt; &#60;)
_LINE_START = re.compile(r"^(\s*)(?:([-=>])|(\d+)([.)]))", re.MULTILINE)
# what GitHub would turn into a live link by itself: a scheme's "://", "www." and e-mail addresses' "@"
_AUTOLINK = re.compile(r"(?i)(?<=[a-z0-9])(:)(?=//)|(?<![\w.])(www)(\.)|(?<=\w)(@)(?=\w)")


def _escape_line_start(m: re.Match[str]) -> str:
    if m.group(2):
        return m.group(1) + "\\" + m.group(2)
    return m.group(1) + m.group(3) + "\\" + m.group(4)


def md_inline(value: object) -> Markup:
    """Untrusted text made inert for Markdown on one line (headings, list items, table cells).

    Markdown punctuation and ``<`` are backslash-escaped (no HTML, links, images, emphasis, code or table breaks
    can be injected), an ``&`` that would start an entity too, bare URLs, ``www.`` and e-mail addresses are broken
    up so that no autolink is live, and line breaks become spaces.
    """
    if value is None:
        return Markup("")
    if isinstance(value, Markup):
        return value
    text = CONTROL.sub("", str(value))
    text = re.sub(r"\s*[\r\n]+\s*", " ", text)
    text = _ENTITY.sub(r"\\&", _MD_SPECIAL.sub(r"\\\1", text))
    text = _LINE_START.sub(_escape_line_start, text)
    text = _AUTOLINK.sub(_escape_autolink, text)
    return Markup(text)


def _escape_autolink(m: re.Match[str]) -> str:
    if m.group(1):
        return "\\:"
    if m.group(2):
        return m.group(2) + "\\."
    return "\\@"


def md_block(value: object) -> Markup:
    """Untrusted multi-line text made inert for Markdown, keeping its paragraphs and line breaks."""
    if value is None:
        return Markup("")
    if isinstance(value, Markup):
        return value
    text = CONTROL.sub("", str(value)).replace("\r\n", "\n").replace("\r", "\n")
    paragraphs = [p for p in re.split(r"\n\s*\n", text) if p.strip()]
    out = []
    for para in paragraphs:
        lines = [md_inline(line.strip()) for line in para.split("\n") if line.strip()]
        out.append("  \n".join(str(line) for line in lines))
    return Markup("\n\n".join(out))
