"""Embedding every closed ticket ahead of time (``butterfly tickets embed``), so that neither the weekly report nor
the review walk's similar-ticket panel waits for the model: both then read the vectors from the database, and a
look-up that finds all of its vectors stored never loads the model at all."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import sqlalchemy as sa

from butterfly.similarity.engine import DESCRIPTION_CHARS, EmbeddingEngine, embed_text, has_cjk
from butterfly.store.models import Ticket

if TYPE_CHECKING:
    from sqlmodel import Session

BATCH = 2000  # tickets read (and their missing vectors embedded and stored) at a time


@dataclass
class Warmed:
    tickets: int = 0  # closed or resolved tickets read
    english: int = 0  # of which the model compares (the others keep TF-IDF)
    embedded: int = 0  # texts sent to the model now (the rest were stored already)


def embed_closed(
    *, session: Session, engine: EmbeddingEngine, progress: Callable[[Warmed], None] | None = None
) -> Warmed:
    """Store a vector for every closed or resolved English ticket that has none, or whose text changed."""
    t = Ticket.__table__  # type: ignore[attr-defined]
    c = t.c
    done = Warmed()
    last = 0
    while True:
        stmt = (
            sa.select(c.id, c.subject, sa.func.substr(c.description, 1, DESCRIPTION_CHARS))
            .where(c.status.in_(("closed", "resolved")), c.id > last)
            .order_by(c.id)
            .limit(BATCH)
        )
        rows = session.execute(stmt).all()
        if not rows:
            return done
        last = int(rows[-1][0])
        texts = [(int(tid), embed_text(subject, description)) for tid, subject, description in rows]
        english = [(tid, text) for tid, text in texts if text and not has_cjk(text)]
        before = engine.embedded
        if english:
            engine.vectors([text for _, text in english], [tid for tid, _ in english])
        done.tickets += len(rows)
        done.english += len(english)
        done.embedded += engine.embedded - before
        if progress is not None:
            progress(done)
