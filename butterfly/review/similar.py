"""Look-ups for a review's context panel: the customer's earlier tickets, and the same problem elsewhere.

"The same problem at different customers" is what the company-side mid-term cell asks about, so the walk shows
closed tickets at *other* customers that look like this one: the same category, or similar text.

This must stay fast on a million tickets. Two indexed queries fetch a bounded set of candidates (the most recently
closed tickets of the same category, and the tickets closed just before this one in any category; 2,000 at most);
they are then scored by the engine of the weekly grouping (``butterfly.similarity.tfidf``: TF-IDF over character
n-grams of subject + description, folded for width and traditional/simplified Chinese; with the optional
``embeddings`` engine, an English ticket is compared with English candidates by sentence embeddings of subject +
description, cached per ticket in the database, while CJK text keeps TF-IDF).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlmodel import col, func, select

from butterfly.store.models import Ticket
from butterfly.store.models import Ticket as T
from butterfly.timeutil import as_utc

if TYPE_CHECKING:
    from sqlmodel import Session

    from butterfly.similarity.engine import EmbeddingEngine

# the look-up's cost is linear in these (reading the rows, folding their subjects, TF-IDF): on 1M tickets
# 1,000 + 1,000 took 91 ms of CPU where 2,000 + 2,000 took 187 ms (benchmarks/README.md, review walk)
CATEGORY_CANDIDATES = 1000
NEARBY_CANDIDATES = 1000
MIN_TEXT_SIMILARITY = 0.05
# embeddings: cosine of all-MiniLM-L6-v2 vectors; two unrelated English support messages average about 0.12
MIN_EMBEDDING_SIMILARITY = 0.3
SAME_PROBLEM = {"tfidf": 0.3, "embeddings": 0.6}  # text similarity that makes a candidate the same problem
CATEGORY_BONUS = 0.3
DESCRIPTION_CHARS = 120  # of a description compared in place of a missing subject
EMBED_DESCRIPTION_CHARS = 300  # of a description the embeddings engine reads after the subject
RECENT_DAYS = 90
REVIEWABLE = ("closed", "resolved")


@dataclass(frozen=True)
class TicketBrief:
    """The few columns of a ticket the context panel and reports show."""

    id: int
    source: str
    external_id: str
    customer: str | None
    subject: str | None
    category: str | None
    status: str
    created_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "source": self.source,
            "external_id": self.external_id,
            "customer": self.customer,
            "subject": self.subject,
            "category": self.category,
            "status": self.status,
            "created_at": self.created_at.isoformat() if self.created_at else None,
            "resolved_at": self.resolved_at.isoformat() if self.resolved_at else None,
            "closed_at": self.closed_at.isoformat() if self.closed_at else None,
        }


@dataclass(frozen=True)
class SimilarTicket:
    ticket: TicketBrief
    score: float  # text similarity (0..1) + CATEGORY_BONUS for the same category
    same_category: bool
    text_similarity: float  # cosine of TF-IDF character n-gram vectors of subject + description (or embeddings)
    engine: str = "tfidf"  # what measured text_similarity: tfidf, or embeddings (both texts English)

    @property
    def same_problem(self) -> bool:
        """Whether the text is alike enough to call it the same problem (each engine has its own scale)."""
        return self.text_similarity >= SAME_PROBLEM[self.engine]

    def as_dict(self) -> dict[str, Any]:
        return {
            **self.ticket.as_dict(),
            "score": round(self.score, 3),
            "same_category": self.same_category,
            "text_similarity": round(self.text_similarity, 3),
        }


@dataclass(frozen=True)
class CustomerHistory:
    customer: str | None
    earlier: int  # tickets of this customer created before this one
    last_90_days: int  # ... of which in the 90 days before it
    recent: list[TicketBrief]

    def as_dict(self) -> dict[str, Any]:
        return {
            "customer": self.customer,
            "earlier": self.earlier,
            "last_90_days": self.last_90_days,
            "recent": [t.as_dict() for t in self.recent],
        }


def _columns() -> list[Any]:
    return [
        Ticket.id,
        Ticket.source,
        Ticket.external_id,
        Ticket.customer,
        Ticket.subject,
        Ticket.category,
        Ticket.status,
        Ticket.created_at,
        Ticket.resolved_at,
        Ticket.closed_at,
    ]


def _brief(row: Any) -> TicketBrief:
    return TicketBrief(
        id=row[0],
        source=row[1],
        external_id=row[2],
        customer=row[3],
        subject=row[4],
        category=row[5],
        status=row[6],
        created_at=as_utc(row[7]),
        resolved_at=as_utc(row[8]),
        closed_at=as_utc(row[9]),
    )


# -- text similarity -----------------------------------------------------------------------------------------

Brief = tuple[str | None, str | None, str | None]  # subject, description, category


def normalize_subject(subject: str | None) -> str:
    """A subject as compared (see ``butterfly.similarity.tfidf.fold``)."""
    from butterfly.similarity.tfidf import fold  # NumPy: imported when a look-up runs, not when the walk starts

    return fold(subject)


@lru_cache(maxsize=16384)
def _fold_subject(subject: str) -> str:
    """Subjects repeat a lot in a help desk: each is folded once per process."""
    from butterfly.similarity.tfidf import fold

    return fold(subject)


def rank_candidates(
    target: Brief,
    candidates: Sequence[Brief],
    *,
    engine: EmbeddingEngine | None = None,
    keys: Sequence[int | None] | None = None,
) -> list[tuple[int, float, bool, float, str]]:
    """Candidates that look like the same problem as ``target``, best first: (index, score, same category,
    text similarity, engine that measured it).

    Text similarity is the cosine of TF-IDF vectors of the subjects (character n-grams, weights from the candidates
    themselves; the start of the description stands in for a missing subject); a candidate qualifies with the same
    category or a text similarity of at least ``MIN_TEXT_SIMILARITY``, and scores its similarity plus
    ``CATEGORY_BONUS`` for the same category. Ties go to the earlier candidate (the caller lists them newest first).

    With an ``engine`` and an English target, English candidates are compared by the cosine of sentence embeddings
    of subject + description instead (at least ``MIN_EMBEDDING_SIMILARITY``); ``keys`` (the target's, then each
    candidate's ticket id) are where their vectors are cached. CJK targets and candidates keep TF-IDF.
    """
    from butterfly.similarity.tfidf import fold, similarity_to, tfidf

    if engine is not None:
        from butterfly.similarity.engine import embed_text, has_cjk

    def text(b: Brief) -> str:
        return _fold_subject(b[0]) if b[0] and b[0].strip() else fold((b[1] or "")[:DESCRIPTION_CHARS])

    matrix = tfidf([text(target), *(text(c) for c in candidates)])
    sims = similarity_to(matrix, 0)[1:].tolist()
    engines = ["tfidf"] * len(candidates)
    if engine is not None:
        raw = [embed_text(b[0], (b[1] or "")[:EMBED_DESCRIPTION_CHARS]) for b in (target, *candidates)]
        if raw[0] and not has_cjk(raw[0]):
            english = [k for k in range(len(candidates)) if raw[k + 1] and not has_cjk(raw[k + 1])]
            rows = [0, *(k + 1 for k in english)]
            x = engine.vectors([raw[r] for r in rows], [keys[r] for r in rows] if keys is not None else None)
            cos = (x[1:] @ x[0]).tolist() if len(x) else []
            for k, value in zip(english, cos, strict=True):
                sims[k] = float(value)
                engines[k] = "embeddings"
    category = target[2]
    out = []
    for k, (cand, sim) in enumerate(zip(candidates, sims, strict=True)):
        same = bool(category) and cand[2] == category
        floor = MIN_EMBEDDING_SIMILARITY if engines[k] == "embeddings" else MIN_TEXT_SIMILARITY
        if not same and sim < floor:
            continue
        out.append((k, sim + (CATEGORY_BONUS if same else 0.0), same, sim, engines[k]))
    out.sort(key=lambda r: (-r[1], r[0]))
    return out


# -- look-ups ------------------------------------------------------------------------------------------------


def customer_history(*, session: Session, ticket: Ticket, recent: int = 5) -> CustomerHistory:
    """The customer's tickets before this one: how many, how many in the 90 days before it, the latest few."""
    if not ticket.customer:
        return CustomerHistory(None, 0, 0, [])
    base: list[Any] = [T.customer == ticket.customer, T.id != ticket.id]
    created = as_utc(ticket.created_at)
    if created is not None:
        base.append(col(T.created_at) < created)
    earlier = session.exec(select(func.count()).select_from(T).where(*base)).one()
    last_90 = 0
    if created is not None:
        last_90 = session.exec(
            select(func.count()).select_from(T).where(*base, col(T.created_at) >= created - timedelta(days=RECENT_DAYS))
        ).one()
    rows = session.exec(select(*_columns()).where(*base).order_by(col(T.created_at).desc()).limit(recent)).all()
    return CustomerHistory(ticket.customer, int(earlier), int(last_90), [_brief(r) for r in rows])


@dataclass(frozen=True)
class Candidate:
    """The few columns scoring needs (full rows are read for the winners only)."""

    id: int
    external_id: str
    subject: str | None
    category: str | None
    closed_key: Any  # the stored closing time, unconverted: only compared with others from the same query
    description: str | None = None  # its first DESCRIPTION_CHARS characters when it has no subject (full_text:
    # its first EMBED_DESCRIPTION_CHARS characters, always)


def similar_candidates(*, session: Session, ticket: Ticket, full_text: bool = False) -> list[Candidate]:
    """The bounded candidate set, from two indexed queries.

    - the most recently closed tickets of the same category (index on ``(category, closed_at)``);
    - the tickets closed just before this one, any category (index on ``(status, closed_at)``): a problem that
      hits several customers at the same time (a bad release, an outage) shows up here even when it was filed
      under different categories.

    Plain Core queries without type conversion: this runs on every walk start and reads up to 2,000 rows.
    ``full_text``: read the start of every description (the embeddings engine reads subject + description).
    """
    table = T.__table__  # type: ignore[attr-defined]
    c = table.c
    columns = [
        c.id,
        c.external_id,
        c.subject,
        c.category,
        sa.literal_column("ticket.closed_at").label("closed_key"),
        sa.func.substr(c.description, 1, EMBED_DESCRIPTION_CHARS)
        if full_text
        else sa.case(
            (sa.func.coalesce(sa.func.trim(c.subject), "") == "", sa.func.substr(c.description, 1, DESCRIPTION_CHARS)),
            else_=sa.null(),
        ),
    ]
    others: list[Any] = [c.id != ticket.id, c.status.in_(REVIEWABLE)]
    if ticket.customer:
        others.append(sa.or_(c.customer.is_(None), c.customer != ticket.customer))
    seen: dict[int, Candidate] = {}
    if ticket.category:
        stmt = (
            sa.select(*columns)
            .where(c.category == ticket.category, *others)
            .order_by(c.closed_at.desc())
            .limit(CATEGORY_CANDIDATES)
        )
        for r in session.execute(stmt):
            seen.setdefault(r[0], Candidate(*r))
    if normalize_subject(ticket.subject) or normalize_subject(ticket.description):
        until = as_utc(ticket.closed_at or ticket.resolved_at or ticket.created_at)
        stmt = sa.select(*columns).where(c.status == "closed", c.closed_at.is_not(None), *others)
        if until is not None:
            stmt = stmt.where(c.closed_at <= until)
        for r in session.execute(stmt.order_by(c.closed_at.desc()).limit(NEARBY_CANDIDATES)):
            seen.setdefault(r[0], Candidate(*r))
    return list(seen.values())


def similar_tickets(
    *,
    session: Session,
    ticket: Ticket,
    limit: int = 5,
    engine: str | EmbeddingEngine | None = None,
    lang: str | None = None,
) -> list[SimilarTicket]:
    """Closed tickets at other customers that look like the same problem, best first (see
    :func:`rank_candidates`); among equal scores the most recently closed first.

    ``engine``: ``tfidf``, ``embeddings`` or an engine object (default: the ``[similarity] engine`` setting); a
    missing ``embeddings`` extra is an error in ``lang`` (default: the settings' language)."""
    if engine is None or isinstance(engine, str):
        from butterfly.similarity.choice import make_engine

        if lang is None:
            from butterfly.settings import get_settings

            lang = get_settings().language
        engine = make_engine(engine, session=session, lang=lang)
    cands = similar_candidates(session=session, ticket=ticket, full_text=engine is not None)
    # newest first (two stable sorts: raw times compare only with each other, never with None)
    cands.sort(key=lambda c: c.id)
    cands.sort(key=lambda c: (c.closed_key is not None, c.closed_key if c.closed_key is not None else 0), reverse=True)
    ranked = rank_candidates(
        (ticket.subject, ticket.description, ticket.category),
        [(c.subject, c.description, c.category) for c in cands],
        engine=engine,
        keys=[ticket.id, *(c.id for c in cands)],
    )
    best = ranked[: max(0, limit)]
    if not best:
        return []
    ids = [cands[k].id for k, *_ in best]
    rows = session.exec(select(*_columns()).where(col(T.id).in_(ids))).all()
    briefs = {r[0]: _brief(r) for r in rows}
    return [
        SimilarTicket(briefs[cands[k].id], score, same, sim, how)
        for k, score, same, sim, how in best
        if cands[k].id in briefs
    ]
