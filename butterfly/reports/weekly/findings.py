"""Section: the guards' findings of the week's reviews."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import func, select
from sqlmodel import col

from butterfly.reports.weekly.common import cols, fetch_all
from butterfly.reports.weekly.model import MAX_LISTED, FindingItem, FindingSummary
from butterfly.store.models import Finding, FindingKind, Review, Ticket
from butterfly.tickets import ticket_ref

if TYPE_CHECKING:
    from sqlmodel import Session


def finding_summary(*, session: Session, start: datetime, end: datetime) -> FindingSummary:
    """Findings made in the week, counted by kind, the latest listed."""
    window = (col(Finding.created_at) >= start, col(Finding.created_at) < end)
    counts = {kind.value: 0 for kind in FindingKind}
    for kind, n in fetch_all(session, select(*cols(Finding.kind, func.count())).where(*window).group_by(Finding.kind)):
        counts[kind] = int(n)
    rows = fetch_all(
        session,
        select(
            *cols(Finding.kind, Finding.detail, Review.reviewer, Ticket.source, Ticket.external_id, Finding.created_at)
        )
        .join(Review, col(Review.id) == Finding.review_id)
        .join(Ticket, col(Ticket.id) == Review.ticket_id)
        .where(*window)
        .order_by(col(Finding.created_at).desc(), col(Finding.id).desc())
        .limit(MAX_LISTED * 3),
    )
    items = [
        FindingItem(kind=k, detail=d, reviewer=r, ticket_ref=ticket_ref(s, e), created_at=c)
        for k, d, r, s, e, c in rows
    ]
    return FindingSummary(counts=counts, items=items)
