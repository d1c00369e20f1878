"""What the reviewer types during the walk, parsed strictly: yes/no prompts and a cell's ratings in one line."""

from __future__ import annotations

from dataclasses import dataclass

YES = frozenset({"y", "yes", "是"})
NO = frozenset({"n", "no", "否"})
NA_TOKENS = frozenset({"na", "n/a", "不适用", "不適用"})
SKIP_TOKEN = "-"


def yes_no(raw: str, *, default: bool | None) -> bool | None:
    """``True``/``False`` for y/yes/是 and n/no/否 (Enter: ``default``); ``None`` for anything else: ask again."""
    word = raw.strip().lower()
    if not word:
        return default
    if word in YES:
        return True
    if word in NO:
        return False
    return None


@dataclass(frozen=True)
class LineRating:
    """One entry of a one-line rating answer: a value, N/A, or skip (``-``)."""

    value: int | None = None
    na: bool = False
    skip: bool = False


def rating_line(raw: str, values: list[int]) -> list[LineRating] | str:
    """``1 2 - na`` → entries; a token that is none of these is returned as text (the bad token).

    Only a line of two or more tokens is a one-line answer; the caller handles a single token as usual.
    """
    out: list[LineRating] = []
    for token in raw.split():
        low = token.lower()
        if low == SKIP_TOKEN:
            out.append(LineRating(skip=True))
        elif low in NA_TOKENS:
            out.append(LineRating(na=True))
        elif token.lstrip("+-").isdigit() and int(token) in values:
            out.append(LineRating(value=int(token)))
        else:
            return token
    return out


def is_rating_line(raw: str) -> bool:
    """Whether ``raw`` has the shape of a one-line rating answer (two or more space-separated tokens)."""
    return len(raw.split()) >= 2
