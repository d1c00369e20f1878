"""Section: action items, opened, done and overdue."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import Date, bindparam, func, select
from sqlalchemy import text as sql_text
from sqlmodel import col

from butterfly.reports.weekly.common import cols, fetch_all
from butterfly.reports.weekly.model import MAX_LISTED, ActionLink, ActionSummary
from butterfly.store.models import ActionItem, Review, Ticket, UTCDateTime
from butterfly.tickets import ticket_ref

if TYPE_CHECKING:
    from sqlmodel import Session


def action_summary(*, session: Session, start: datetime, end: datetime, today: date) -> ActionSummary:
    """Action items opened and done in the week, overdue at its end, open in total; the overdue ones listed."""
    stmt = sql_text(
        "SELECT "
        "SUM(CASE WHEN created_at >= :start AND created_at < :end THEN 1 ELSE 0 END), "
        "SUM(CASE WHEN done_at >= :start AND done_at < :end THEN 1 ELSE 0 END), "
        "SUM(CASE WHEN status <> 'done' AND due_date < :today THEN 1 ELSE 0 END), "
        "SUM(CASE WHEN status <> 'done' THEN 1 ELSE 0 END) "
        "FROM action_item"
    ).bindparams(
        bindparam("start", type_=UTCDateTime()),
        bindparam("end", type_=UTCDateTime()),
        bindparam("today", type_=Date()),
    )
    opened, done, overdue, open_total = (
        session.connection().execute(stmt, {"start": start, "end": end, "today": today}).one()
    )
    ticket_id = select(*cols(Review.ticket_id)).where(col(Review.id) == ActionItem.review_id).scalar_subquery()

    rows = fetch_all(
        session,
        select(*cols(ActionItem, Ticket.source, Ticket.external_id))
        .outerjoin(Ticket, col(Ticket.id) == func.coalesce(ActionItem.ticket_id, ticket_id))
        .where(col(ActionItem.status) != "done", col(ActionItem.due_date) < today)
        .order_by(col(ActionItem.due_date), col(ActionItem.id))
        .limit(MAX_LISTED * 2),
    )
    items = [
        ActionLink(
            id=a.id or 0,
            kind=a.kind,
            text=a.text,
            owner=a.owner,
            due_date=a.due_date,
            status=a.status,
            overdue=True,
            ticket_ref=ticket_ref(source, ext) if source is not None else None,
        )
        for a, source, ext in rows
    ]
    return ActionSummary(
        opened=int(opened or 0),
        done=int(done or 0),
        overdue=int(overdue or 0),
        open_total=int(open_total or 0),
        overdue_items=items,
    )
