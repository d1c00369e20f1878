"""Section: action items, opened, done and overdue."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Date, bindparam, func, or_, select
from sqlalchemy import text as sql_text
from sqlmodel import col

from butterfly.reports.weekly.common import cols, fetch_all
from butterfly.reports.weekly.model import MAX_LISTED, ActionLink, ActionSummary
from butterfly.store.models import ActionItem, Review, Ticket, UTCDateTime
from butterfly.tickets import ticket_ref

if TYPE_CHECKING:
    from sqlmodel import Session


def action_summary(
    *, session: Session, start: datetime, end: datetime, today: date, as_of: datetime | None = None
) -> ActionSummary:
    """Action items opened and done in the week; overdue (due before ``today``) and open in total, both as of the
    same moment: now, or with ``as_of`` (a past instant, the end of a past week) as they stood then (created
    before it, not done before it). The overdue ones listed."""
    was_open = "(status <> 'done' OR done_at >= :as_of) AND created_at < :as_of" if as_of else "status <> 'done'"
    stmt = sql_text(
        "SELECT "
        "SUM(CASE WHEN created_at >= :start AND created_at < :end THEN 1 ELSE 0 END), "
        "SUM(CASE WHEN done_at >= :start AND done_at < :end THEN 1 ELSE 0 END), "
        f"SUM(CASE WHEN {was_open} AND due_date < :today THEN 1 ELSE 0 END), "
        f"SUM(CASE WHEN {was_open} THEN 1 ELSE 0 END) "
        "FROM action_item"
    ).bindparams(
        bindparam("start", type_=UTCDateTime()),
        bindparam("end", type_=UTCDateTime()),
        bindparam("today", type_=Date()),
        *([bindparam("as_of", type_=UTCDateTime())] if as_of else []),
    )
    params: dict[str, Any] = {"start": start, "end": end, "today": today}
    if as_of:
        params["as_of"] = as_of
    opened, done, overdue, open_total = session.connection().execute(stmt, params).one()
    ticket_id = select(*cols(Review.ticket_id)).where(col(Review.id) == ActionItem.review_id).scalar_subquery()

    rows = fetch_all(
        session,
        select(*cols(ActionItem, Ticket.source, Ticket.external_id))
        .outerjoin(Ticket, col(Ticket.id) == func.coalesce(ActionItem.ticket_id, ticket_id))
        .where(*_open_at(as_of), col(ActionItem.due_date) < today)
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
        as_of=as_of,
    )


def _open_at(as_of: datetime | None) -> list[Any]:
    """Action items open now, or at ``as_of`` (created before it and not done before it)."""
    if as_of is None:
        return [col(ActionItem.status) != "done"]
    return [
        or_(col(ActionItem.status) != "done", col(ActionItem.done_at) >= as_of),
        col(ActionItem.created_at) < as_of,
    ]
