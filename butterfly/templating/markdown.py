"""The Markdown escaper: untrusted text made inert for Markdown (one line, or a block keeping its paragraphs)."""

from __future__ import annotations

import re

from markupsafe import Markup

from butterfly.sanitise import CONTROL

_MD_SPECIAL = re.compile(r"([\\`*_\[\]{}|~#+!$])")
_LINE_START = re.compile(r"^(\s*)(?:([-=])|(\d+)([.)]))", re.MULTILINE)


def _html_entities(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _escape_line_start(m: re.Match[str]) -> str:
    if m.group(2):
        return m.group(1) + "\\" + m.group(2)
    return m.group(1) + m.group(3) + "\\" + m.group(4)


def md_inline(value: object) -> Markup:
    """Untrusted text made inert for Markdown on one line (headings, list items, table cells).

    HTML is turned into entities (shown as text, never run), Markdown punctuation is backslash-escaped (no
    links, images, emphasis, code or table breaks can be injected) and line breaks become spaces.
    """
    if value is None:
        return Markup("")
    if isinstance(value, Markup):
        return value
    text = CONTROL.sub("", str(value))
    text = re.sub(r"\s*[\r\n]+\s*", " ", text)
    text = _MD_SPECIAL.sub(r"\\\1", _html_entities(text))
    text = _LINE_START.sub(_escape_line_start, text)
    return Markup(text)


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
