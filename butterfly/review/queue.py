"""Which ticket to review next: the reviewer's open draft first, then the tickets with the most to learn from.

What QA tools call spotlight or smart sampling. A closed ticket the reviewer has not reviewed scores points for each
sign that there is something to learn from it, and the reasons are kept to show the reviewer:

- **reopened** (ServiceNow ``reopen_count``), **reassigned** two or more times (``reassignment_count``), **SLA
  missed** (``made_sla`` false): read through :func:`ticket_signals`, the one accessor of those fields;
- **long silences**: a day or more before the first response, or five days or more from it to the resolution;
- **recurring problem**: tickets of the same category and subcategory at two or more other customers;
- **customer trending silent**: the customer's requests fell away (the silent-customer rule of the weekly report).

Only the ``window`` most recently closed unreviewed tickets are scored (one query each for the tickets, the
category counts and the silent customers), so ``review --next`` stays quick on a million tickets; when none of them
shows a sign, the oldest unreviewed closed ticket comes next, as before.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from itertools import pairwise
from typing import TYPE_CHECKING, Any

from sqlalchemy import func
from sqlmodel import col, select

from butterfly.review.queries import next_ticket_for
from butterfly.store.models import Review, ReviewStatus, Ticket, TicketStatus
from butterfly.timeutil import as_utc, format_duration

if TYPE_CHECKING:
    from sqlmodel import Session

REVIEWABLE = (TicketStatus.closed.value, TicketStatus.resolved.value)
FIRST_RESPONSE_SILENCE = timedelta(hours=24)
STEP_SILENCE = timedelta(days=5)
WEIGHTS = {"reopened": 3, "sla_missed": 3, "trending_silent": 3, "reassigned": 2, "long_silence": 2, "recurring": 2}


@dataclass(frozen=True)
class TicketSignals:
    """Fields the importers keep that say a ticket was hard (``None`` when the source does not have them)."""

    reopen_count: int | None = None
    reassignment_count: int | None = None
    made_sla: bool | None = None


def _int(value: Any) -> int | None:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return None


def _bool(value: Any) -> bool | None:
    word = str(value).strip().lower() if value is not None else ""
    if word in ("true", "1", "yes", "t"):
        return True
    if word in ("false", "0", "no", "f"):
        return False
    return None


def ticket_signals(ticket: Ticket) -> TicketSignals:
    """reopen_count, reassignment_count and made_sla of ``ticket``: the named ticket columns the importers fill
    (ServiceNow's export, or a mapped column), else the ticket's raw fields (tickets imported before the columns
    existed, until their export is imported again)."""
    raw = ticket.raw or {}
    return TicketSignals(
        reopen_count=ticket.reopen_count if ticket.reopen_count is not None else _int(raw.get("reopen_count")),
        reassignment_count=(
            ticket.reassignment_count if ticket.reassignment_count is not None else _int(raw.get("reassignment_count"))
        ),
        made_sla=ticket.made_sla if ticket.made_sla is not None else _bool(raw.get("made_sla")),
    )


@dataclass
class Reason:
    """Why a ticket was picked: a key of ``butterfly/data/walk.yaml`` (``queue.<key>``) and its values."""

    key: str
    values: dict[str, Any] = field(default_factory=dict)


@dataclass
class Pick:
    ticket: Ticket
    reasons: list[Reason]
    score: int = 0
    draft: bool = False


def _silences(ticket: Ticket) -> timedelta | None:
    """The longest wait worth naming (first response after a day or more, resolution five days or more later)."""
    # created -> first response -> resolved (the wait for closing after resolution is no silence to the customer)
    steps = [as_utc(t) for t in (ticket.created_at, ticket.first_response_at, ticket.resolved_at)]
    longest: timedelta | None = None
    for i, (a, b) in enumerate(pairwise(steps)):
        if a is None or b is None:
            continue
        gap = b - a
        limit = FIRST_RESPONSE_SILENCE if i == 0 else STEP_SILENCE
        if gap >= limit and (longest is None or gap > longest):
            longest = gap
    return longest


def _score(ticket: Ticket, others: int, silent: set[str]) -> Pick:
    s = ticket_signals(ticket)
    reasons: list[Reason] = []
    if s.reopen_count:
        reasons.append(Reason("reopened", {"n": s.reopen_count}))
    if s.made_sla is False:
        reasons.append(Reason("sla_missed"))
    if s.reassignment_count is not None and s.reassignment_count >= 2:
        reasons.append(Reason("reassigned", {"n": s.reassignment_count}))
    gap = _silences(ticket)
    if gap is not None:
        reasons.append(Reason("long_silence", {"gap": gap}))
    if others >= 2:
        reasons.append(Reason("recurring", {"n": others}))
    if ticket.customer and ticket.customer in silent:
        reasons.append(Reason("trending_silent"))
    return Pick(ticket, reasons, sum(WEIGHTS[r.key] for r in reasons))


def _filters(reviewer: str, customer: str | None, category: str | None) -> list[Any]:
    reviewed = select(Review.id).where(Review.ticket_id == Ticket.id, Review.reviewer == reviewer).exists()
    out: list[Any] = [~reviewed, col(Ticket.status).in_(REVIEWABLE)]
    if customer:
        out.append(Ticket.customer == customer)
    if category:
        out.append(Ticket.category == category)
    return out


def worth_reviewing(
    *,
    session: Session,
    reviewer: str,
    customer: str | None = None,
    category: str | None = None,
    limit: int = 20,
    window: int = 2000,
) -> list[Pick]:
    """Unreviewed closed tickets with something to learn from, most first (ties: the most recently closed)."""
    from butterfly.silent import silent_customers

    closed = func.coalesce(col(Ticket.closed_at), col(Ticket.resolved_at))
    tickets = list(
        session.exec(
            select(Ticket)
            .where(*_filters(reviewer, customer, category))
            .order_by(closed.desc(), col(Ticket.id).desc())
            .limit(window)
        )
    )
    if not tickets:
        return []
    categories = sorted({t.category for t in tickets if t.category})
    customers_of: dict[tuple[str, str], set[str]] = {}  # (category, subcategory) -> customers
    if categories:
        rows = session.exec(
            select(Ticket.category, Ticket.subcategory, Ticket.customer)
            .where(col(Ticket.category).in_(categories), col(Ticket.customer).is_not(None))
            .group_by(col(Ticket.category), col(Ticket.subcategory), col(Ticket.customer))
        ).all()
        for cat, sub, cust in rows:
            customers_of.setdefault((str(cat), str(sub or "")), set()).add(str(cust))
    latest = session.exec(select(func.max(Ticket.created_at))).one()
    silent = {s.customer for s in silent_customers(session=session, end=latest)} if latest is not None else set()
    picks = []
    for t in tickets:
        others = len(customers_of.get((t.category or "", t.subcategory or ""), set()) - {t.customer or ""})
        pick = _score(t, others, silent)
        if pick.score:
            picks.append(pick)
    picks.sort(key=lambda p: -p.score)  # stable: the most recently closed first among equals
    return picks[:limit] if limit else picks


def next_pick(*, session: Session, reviewer: str, customer: str | None = None, category: str | None = None) -> Pick:
    """The reviewer's open draft (most recently changed) first; then the ticket most worth reviewing; then the
    oldest unreviewed closed ticket."""
    draft = session.exec(
        select(Ticket)
        .join(Review, col(Review.ticket_id) == col(Ticket.id))
        .where(Review.reviewer == reviewer, Review.status == ReviewStatus.draft.value)
        .where(
            *([Ticket.customer == customer] if customer else []), *([Ticket.category == category] if category else [])
        )
        .order_by(col(Review.updated_at).desc(), col(Review.id).desc())
        .limit(1)
    ).first()
    if draft is not None:
        return Pick(draft, [Reason("draft")], draft=True)
    best = worth_reviewing(session=session, reviewer=reviewer, customer=customer, category=category, limit=1)
    if best:
        return best[0]
    return Pick(
        next_ticket_for(session=session, reviewer=reviewer, customer=customer, category=category),
        [Reason("oldest")],
    )


def describe(pick: Pick, lang: str) -> str:
    """The reasons a ticket was picked, in ``lang``."""
    from butterfly.labels import ui

    parts = []
    for r in pick.reasons:
        values = dict(r.values)
        if "gap" in values:
            values["gap"] = format_duration(values["gap"], lang)
        parts.append(ui(f"queue.{r.key}", lang, **values))
    sep = "；" if lang.startswith("zh") else "; "
    return sep.join(parts)
