"""What grouping needs of one ticket, and its category key (shared by every grouping method)."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache


@dataclass
class GroupInput:
    """What grouping needs of one ticket."""

    subject: str | None = None
    description: str | None = None
    category: str | None = None
    subcategory: str | None = None
    tags: Sequence[str] = field(default_factory=tuple)
    organization: str | None = None  # a product / brand / account the ticket is about: the block when no category
    key: int | None = None  # the ticket's row id: where the embeddings engine caches its vector (None: not cached)


def loose_label(text: object) -> str:
    """A category or tag compared loosely: NFKC, case-folded, inner whitespace collapsed (digits kept)."""
    if text is None:
        return ""
    return " ".join(unicodedata.normalize("NFKC", str(text)).casefold().split())


def category_key(category: str | None, subcategory: str | None, tags: Sequence[str] = ()) -> str | None:
    """``category › subcategory [tag, tag]`` compared loosely; ``None`` when the ticket has none of them."""
    return _category_key(category, subcategory, tuple(str(t) for t in tags))


@lru_cache(maxsize=65536)
def _category_key(category: str | None, subcategory: str | None, tags: tuple[str, ...]) -> str | None:
    cat = loose_label(category)
    sub = loose_label(subcategory)
    tag_set = sorted({loose_label(t) for t in tags if loose_label(t)})
    if not (cat or sub or tag_set):
        return None
    return f"{cat} › {sub} [{', '.join(tag_set)}]"
