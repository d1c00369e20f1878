"""Line breaks for Chinese text that follow the usual rule (禁则): no closing punctuation mark (，。、；：？！）」…)
at the start of a line and no opening one (（「『“) at its end; runs of Latin letters and digits are not split.

Rich folds text without spaces at any character, so a line of Chinese may start with "。". The walk's terminal
(``cli/walk_ui.TerminalIO``) breaks such text itself with :func:`wrap_text` and prints it unwrapped; inside tables
and panels, where Rich decides the width, each Chinese cell or line is a :class:`CjkText` (see :func:`cjk`).
"""

import re

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, RenderableType, RenderResult
from rich.measure import Measurement
from rich.text import Text

CLOSING = frozenset("，。、；：？！）」』”’》〉】…—%,.;:?!)")
OPENING = frozenset("（「『“‘《〈【(")


def has_cjk(text: str) -> bool:
    return any("\u3000" <= ch <= "\u9fff" or "\uff00" <= ch <= "\uffef" for ch in text)


def _word_char(ch: str) -> bool:
    return ch.isascii() and (ch.isalnum() or ch in "_-./:")


def _no_break_at(plain: str, i: int) -> bool:
    """A break before ``plain[i]`` would start a line with a closing mark, end one with an opening mark, or split
    a Latin word or a number."""
    if plain[i] in CLOSING or plain[i - 1] in OPENING:
        return True
    return _word_char(plain[i]) and _word_char(plain[i - 1])


def break_offsets(plain: str, width: int) -> list[int]:
    """Offsets in ``plain`` where a line break goes so no line is wider than ``width`` cells (existing newlines
    kept), moving a break back so a line neither starts with a closing mark nor ends with an opening one."""
    offsets: list[int] = []
    start = 0
    col = 0
    i = 0
    while i < len(plain):
        ch = plain[i]
        if ch == "\n":
            start, col, i = i + 1, 0, i + 1
            continue
        w = cell_len(ch)
        if col + w <= width or i == start:
            col += w
            i += 1
            continue
        br = i
        while br - 1 > start and _no_break_at(plain, br):
            br -= 1
        if br - 1 <= start:  # nowhere better: break where the width ran out
            br = i
        while br < len(plain) and plain[br] == " ":  # a space at the break is dropped by the caller
            br += 1
        offsets.append(br)
        start = br
        col = 0
        i = br
    return offsets


def wrap_text(text: Text, width: int) -> Text:
    """``text`` with line breaks inserted at :func:`break_offsets` (styles kept)."""
    offsets = [o for o in break_offsets(text.plain, width) if 0 < o < len(text.plain)]
    if not offsets:
        return text
    lines = text.divide(offsets)
    for line in lines:
        line.rstrip()
    return Text("\n").join(lines)


_UNBREAKABLE = re.compile(r"[A-Za-z0-9_\-./:]+")


class CjkText:
    """Text that breaks by :func:`break_offsets` at whatever width Rich gives it: a table cell, a line of a panel.

    Rich folds text without spaces at any character, inside tables and panels too, so a cell of Chinese may start
    a line with "。". Put in a table (or a :class:`~rich.console.Group`), this renderable is told its column's width
    and breaks its own lines there; the lines it yields fit, so Rich does not break them again.
    """

    def __init__(self, text: Text) -> None:
        self.text = text

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        plain = self.text.plain
        widest = max((cell_len(line) for line in plain.split("\n")), default=0)
        # the narrowest it can go: its longest Latin word or number (never split), or a character and a mark
        word = max((cell_len(w) for w in _UNBREAKABLE.findall(plain)), default=0)
        return Measurement(min(max(word, 4), widest), widest)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        wrapped = wrap_text(self.text, options.max_width)
        wrapped.overflow = "fold"  # only a Latin word wider than the cell is folded
        yield wrapped


def cjk(value: str | Text | RenderableType) -> RenderableType:
    """A string (Rich markup) or text as :class:`CjkText` when it holds Chinese; anything else as it is."""
    if isinstance(value, str):
        return CjkText(Text.from_markup(value)) if has_cjk(value) else value
    if isinstance(value, Text):
        return CjkText(value) if has_cjk(value.plain) else value
    return value
