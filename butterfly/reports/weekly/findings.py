"""Section: the guards' findings of the week's reviews."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import case, func, or_, select
from sqlmodel import col

from butterfly.checklist.model import Checklist
from butterfly.reports.finding_text import details_in
from butterfly.reports.weekly.common import checklist_for, cols, fetch_all
from butterfly.reports.weekly.model import MAX_LISTED, FindingItem, FindingSummary
from butterfly.store.models import Finding, FindingKind, FindingStatus, Review, Ticket
from butterfly.tickets import ticket_ref

if TYPE_CHECKING:
    from sqlmodel import Session


def finding_summary(
    *,
    session: Session,
    start: datetime,
    end: datetime,
    lang: str | None = None,
    main: Checklist | None = None,
    tz: str = "UTC",
) -> FindingSummary:
    """Open findings made in the week, counted by kind; publicity without consent listed first, then the latest,
    by review (ticket and reviewer). A blame-wording finding is listed without its words: the weekly report names
    reviews, never the people an answer names. Findings reworded clean or dismissed as not blame are only counted
    apart. With ``lang``, details written in another language are shown in ``lang``."""
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
            *cols(
                Finding.kind,
                Finding.detail,
                Review.reviewer,
                Ticket.source,
                Ticket.external_id,
                Finding.created_at,
                Finding.review_id,
                Finding.question_id,
            )
        )
        .join(Review, col(Review.id) == Finding.review_id)
        .join(Ticket, col(Ticket.id) == Review.ticket_id)
        .where(*window, is_open)
        .order_by(
            case((col(Finding.kind) == "publicity_without_consent", 0), else_=1),
            col(Finding.created_at).desc(),
            col(Finding.id).desc(),
        )
        .limit(MAX_LISTED * 3),
    )
    details: dict[tuple[int, str, str | None], str] = {}
    if lang is not None:
        cache: dict[str, Checklist] = {}
        language = lang
        details = details_in(
            session=session,
            lang=language,
            review_ids=[row[6] for row in rows],
            checklist_for=lambda cid: checklist_for(cache, cid, language, main),
            tz=tz,
        )
    items = [
        FindingItem(
            kind=k,
            detail="" if k == FindingKind.blame_wording.value else details.get((rid, k, qid), d),
            reviewer=r,
            ticket_ref=ticket_ref(s, e),
            created_at=c,
            review_id=rid,
            question_id=qid,
        )
        for k, d, r, s, e, c, rid, qid in rows
    ]
    return FindingSummary(
        counts=counts,
        items=items,
        blame_reworded=closed[FindingStatus.reworded.value],
        blame_dismissed=closed[FindingStatus.dismissed.value],
    )


def not_for_publication(*, session: Session, start: datetime, end: datetime) -> list[str]:
    """Tickets whose reviews (completed in the week, or with a finding made in it) found publicity without
    consent: marked "not for publication" wherever the weekly report lists them."""
    rows = fetch_all(
        session,
        select(*cols(Ticket.source, Ticket.external_id))
        .join(Review, col(Review.ticket_id) == Ticket.id)
        .join(Finding, col(Finding.review_id) == Review.id)
        .where(
            col(Finding.kind) == "publicity_without_consent",
            or_(
                (col(Review.completed_at) >= start) & (col(Review.completed_at) < end),
                (col(Finding.created_at) >= start) & (col(Finding.created_at) < end),
            ),
        )
        .distinct(),
    )
    return sorted({ticket_ref(source, ext) for source, ext in rows})
