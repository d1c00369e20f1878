"""Line breaks for Chinese text that follow the usual rule (禁则): no closing punctuation mark (，。、；：？！）」…)
at the start of a line and no opening one (（「『“) at its end; runs of Latin letters and digits are not split.

Rich folds text without spaces at any character, so a line of Chinese may start with "。". The walk's terminal
(``cli/walk_ui.TerminalIO``) breaks such text itself with :func:`wrap_text` and prints it unwrapped.
"""

from rich.cells import cell_len
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
