"""Section: the guards' findings of the week's reviews."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import func, select
from sqlmodel import col

from butterfly.reports.weekly.common import cols, fetch_all
from butterfly.reports.weekly.model import MAX_LISTED, FindingItem, FindingSummary
from butterfly.store.models import Finding, FindingKind, FindingStatus, Review, Ticket
from butterfly.tickets import ticket_ref

if TYPE_CHECKING:
    from sqlmodel import Session


def finding_summary(*, session: Session, start: datetime, end: datetime) -> FindingSummary:
    """Open findings made in the week, counted by kind, the latest listed by review (ticket and reviewer). A
    blame-wording finding is listed without its words: the weekly report names reviews, never the people an
    answer names. Findings reworded clean or dismissed as not blame are only counted apart."""
    window = (col(Finding.created_at) >= start, col(Finding.created_at) < end)
    is_open = col(Finding.status) == FindingStatus.open.value
    counts = {kind.value: 0 for kind in FindingKind}
    for kind, n in fetch_all(
        session, select(*cols(Finding.kind, func.count())).where(*window, is_open).group_by(Finding.kind)
    ):
        counts[kind] = int(n)
    closed = {status.value: 0 for status in FindingStatus}
    for status, n in fetch_all(
        session,
        select(*cols(Finding.status, func.count()))
        .where(*window, col(Finding.kind) == FindingKind.blame_wording.value)
        .group_by(Finding.status),
    ):
        closed[status] = int(n)
    rows = fetch_all(
        session,
        select(
            *cols(Finding.kind, Finding.detail, Review.reviewer, Ticket.source, Ticket.external_id, Finding.created_at)
        )
        .join(Review, col(Review.id) == Finding.review_id)
        .join(Ticket, col(Ticket.id) == Review.ticket_id)
        .where(*window, is_open)
        .order_by(col(Finding.created_at).desc(), col(Finding.id).desc())
        .limit(MAX_LISTED * 3),
    )
    items = [
        FindingItem(
            kind=k,
            detail="" if k == FindingKind.blame_wording.value else d,
            reviewer=r,
            ticket_ref=ticket_ref(s, e),
            created_at=c,
        )
        for k, d, r, s, e, c in rows
    ]
    return FindingSummary(
        counts=counts,
        items=items,
        blame_reworded=closed[FindingStatus.reworded.value],
        blame_dismissed=closed[FindingStatus.dismissed.value],
    )
