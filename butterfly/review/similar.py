"""Look-ups for a review's context panel: the customer's earlier tickets, and the same problem elsewhere.

"The same problem at different customers" is what the company-side mid-term cell asks about, so the walk shows
closed tickets at *other* customers that look like this one: the same category, or a similar subject.

This must stay fast on a million tickets. Two indexed queries fetch a bounded set of candidates (the most recently
closed tickets of the same category, and the tickets closed just before this one in any category; 4,000 at most);
they are then scored in Python by character n-grams of the subject, which works for Chinese as well as English.
"""

from __future__ import annotations

import re
import unicodedata
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


CATEGORY_CANDIDATES = 2000
NEARBY_CANDIDATES = 2000
MIN_SUBJECT_SIMILARITY = 0.3
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
    score: float  # 0..1.5: subject similarity (0..1) + 0.5 for the same category
    same_category: bool
    subject_similarity: float

    def as_dict(self) -> dict[str, Any]:
        return {
            **self.ticket.as_dict(),
            "score": round(self.score, 3),
            "same_category": self.same_category,
            "subject_similarity": round(self.subject_similarity, 3),
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


# -- subject similarity ------------------------------------------------------------------------------------

_REPLY_PREFIX = re.compile(r"^\s*(?:(?:re|fw|fwd|aw|答复|回复|回覆|转发|轉寄)\s*[:：]\s*)+", re.IGNORECASE)
_NOISE = re.compile(r"[\W_]+", re.UNICODE)


def normalize_subject(subject: str | None) -> str:
    """Lower case, NFKC, reply prefixes and punctuation removed, spaces collapsed."""
    if not subject:
        return ""
    text = unicodedata.normalize("NFKC", subject)
    text = _REPLY_PREFIX.sub("", text).lower()
    return " ".join(_NOISE.sub(" ", text).split())


@lru_cache(maxsize=16384)
def subject_grams(subject: str | None) -> frozenset[str]:
    """The n-grams of a normalised subject (cached: help-desk subjects repeat a lot)."""
    return ngrams(normalize_subject(subject))


def ngrams(text: str) -> frozenset[str]:
    """Character 2- and 3-grams (Chinese has no spaces; n-grams work for both scripts)."""
    if not text:
        return frozenset()
    if len(text) < 3:
        return frozenset((text,))
    n = len(text)
    return frozenset([text[i : i + 2] for i in range(n - 1)] + [text[i : i + 3] for i in range(n - 2)])


def gram_similarity(ga: frozenset[str], gb: frozenset[str]) -> float:
    """Mean of the Dice coefficient and the overlap coefficient of two n-gram sets (0..1).

    Dice alone punishes a short subject against a long one ("发票导出报错" vs "发票导出失败，提示模板不存在");
    the overlap coefficient alone would make a two-character subject match everything, so it only counts when
    the shorter side has at least four n-grams.
    """
    if not ga or not gb:
        return 0.0
    common = len(ga & gb)
    dice = 2 * common / (len(ga) + len(gb))
    shorter = min(len(ga), len(gb))
    if shorter < 4:
        return dice
    return (dice + common / shorter) / 2


def subject_similarity(a: str | None, b: str | None) -> float:
    """How alike two subjects are, from their character n-grams (0..1)."""
    return gram_similarity(subject_grams(a), subject_grams(b))


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


def similar_candidates(*, session: Session, ticket: Ticket) -> list[Candidate]:
    """The bounded candidate set, from two indexed queries.

    - the most recently closed tickets of the same category (index on ``(category, closed_at)``);
    - the tickets closed just before this one, any category (index on ``(status, closed_at)``): a problem that
      hits several customers at the same time (a bad release, an outage) shows up here even when it was filed
      under different categories.

    Plain Core queries without type conversion: this runs on every walk start and reads up to 4,000 rows.
    """
    table = T.__table__  # type: ignore[attr-defined]
    c = table.c
    columns = [c.id, c.external_id, c.subject, c.category, sa.literal_column("ticket.closed_at").label("closed_key")]
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
    if normalize_subject(ticket.subject):
        until = as_utc(ticket.closed_at or ticket.resolved_at or ticket.created_at)
        stmt = sa.select(*columns).where(c.status == "closed", c.closed_at.is_not(None), *others)
        if until is not None:
            stmt = stmt.where(c.closed_at <= until)
        for r in session.execute(stmt.order_by(c.closed_at.desc()).limit(NEARBY_CANDIDATES)):
            seen.setdefault(r[0], Candidate(*r))
    return list(seen.values())


def similar_tickets(*, session: Session, ticket: Ticket, limit: int = 5) -> list[SimilarTicket]:
    """Closed tickets at other customers that look like the same problem, best first.

    A candidate qualifies by the same category or a subject similarity of at least 0.3; the score is the
    subject similarity plus 0.5 for the same category, ties broken by the most recently closed.
    """
    target_grams = subject_grams(ticket.subject)
    scored: list[tuple[float, Any, int, bool, float]] = []
    for cand in similar_candidates(session=session, ticket=ticket):
        same_category = bool(ticket.category) and cand.category == ticket.category
        sim = gram_similarity(target_grams, subject_grams(cand.subject)) if target_grams else 0.0
        if not same_category and sim < MIN_SUBJECT_SIMILARITY:
            continue
        scored.append((sim + (0.5 if same_category else 0.0), cand.closed_key, cand.id, same_category, sim))
    # best score first; among equal scores the most recently closed (two stable sorts: raw times compare only
    # with each other, never with None)
    scored.sort(key=lambda s: s[2])
    scored.sort(key=lambda s: (s[1] is not None, s[1] if s[1] is not None else 0), reverse=True)
    scored.sort(key=lambda s: -s[0])
    best = scored[: max(0, limit)]
    if not best:
        return []
    rows = session.exec(select(*_columns()).where(col(T.id).in_([b[2] for b in best]))).all()
    briefs = {r[0]: _brief(r) for r in rows}
    return [SimilarTicket(briefs[i], score, same, sim) for score, _, i, same, sim in best if i in briefs]
