"""What the weekly sections share: the week's closed tickets, column lists, guard questions, value helpers."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, select
from sqlalchemy import text as sql_text
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col

from butterfly.checklist.model import DEFAULT_CHECKLIST_ID, Checklist, Guard, builtin_checklist_ids, load_builtin
from butterfly.errors import NotFoundError
from butterfly.reports.weekly.model import CLOSED_STATUSES
from butterfly.store.models import Ticket, UTCDateTime
from butterfly.tickets import ticket_ref
from butterfly.timeutil import as_utc

if TYPE_CHECKING:
    from sqlmodel import Session


# -- helpers -------------------------------------------------------------------------------------------------


def cols(*attrs: Any) -> list[Any]:
    """Model attributes as SQL column expressions (typed for ``select``); model classes pass through."""
    return [a if isinstance(a, type | ColumnElement) else col(a) for a in attrs]


def earlier_of(a: datetime | None, b: datetime | None) -> datetime | None:
    if a is None:
        return b
    if b is None:
        return a
    return min(a, b)


def fetch_all(session: Session, stmt: Any) -> Sequence[Any]:
    """All rows of a SQLAlchemy ``select`` of columns, run through the ORM session (types converted)."""
    rows: Sequence[Any] = session.exec(stmt).all()
    return rows


def customer_label(customer: str | None, organization: str | None) -> str | None:
    return customer or organization or None


@lru_cache(maxsize=16)
def _builtin_guard_questions(guard: Guard) -> tuple[str, ...]:
    ids: dict[str, None] = {}
    for cid in builtin_checklist_ids():
        for q in load_builtin(cid, "en").questions:
            if q.guard is guard:
                ids[q.id] = None
    return tuple(ids)


def guard_questions(guard: Guard, extra: Iterable[Checklist] = ()) -> list[str]:
    """Ids of the questions tagged ``guard`` in the shipped checklists and lenses, and in ``extra`` ones."""
    ids = dict.fromkeys(_builtin_guard_questions(guard))
    for cl in extra:
        for q in cl.questions:
            if q.guard is guard:
                ids[q.id] = None
    return list(ids)


def checklist_for(cache: dict[str, Checklist], checklist_id: str, lang: str, main: Checklist | None) -> Checklist:
    if checklist_id not in cache:
        if main is not None and main.id == checklist_id:
            cache[checklist_id] = main
        else:
            try:
                cache[checklist_id] = load_builtin(checklist_id, lang)
            except NotFoundError:
                cache[checklist_id] = main or load_builtin(DEFAULT_CHECKLIST_ID, lang)
    return cache[checklist_id]


def as_datetime(value: object) -> datetime | None:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return as_utc(value) if isinstance(value, datetime) else None


# -- sections --------------------------------------------------------------------------------------------------


class WeekTicket:
    __slots__ = (
        "category",
        "closed_at",
        "created_at",
        "customer",
        "description",
        "id",
        "ref",
        "subcategory",
        "subject",
        "tags",
    )

    def __init__(self, row: Sequence[Any]) -> None:
        (
            self.id,
            source,
            external_id,
            customer,
            organization,
            self.subject,
            self.description,
            self.category,
            self.subcategory,
            tags,
            self.created_at,
            self.closed_at,
        ) = row
        self.ref = ticket_ref(source, external_id)
        self.customer = customer_label(customer, organization)
        self.tags = [str(t) for t in tags] if isinstance(tags, list) else []


def closed_tickets(session: Session, start: datetime, end: datetime) -> list[WeekTicket]:
    """The tickets closed in ``[start, end)`` (status closed/resolved), with what grouping needs."""
    stmt = select(
        *cols(
            Ticket.id,
            Ticket.source,
            Ticket.external_id,
            Ticket.customer,
            Ticket.organization,
            Ticket.subject,
            Ticket.description,
            Ticket.category,
            Ticket.subcategory,
            Ticket.tags,
            Ticket.created_at,
            Ticket.closed_at,
        )
    ).where(col(Ticket.status).in_(CLOSED_STATUSES), col(Ticket.closed_at) >= start, col(Ticket.closed_at) < end)
    return [WeekTicket(row) for row in fetch_all(session, stmt)]


def history_rows(session: Session, start: datetime, end: datetime) -> list[tuple[Any, ...]]:
    """Closed tickets in ``[start, end)`` as raw rows (no per-row type conversion: this can be 100k+ rows).

    Columns: customer, organization, category, subcategory, tags (JSON text or list), subject, created_at,
    closed_at (text on SQLite, datetime on PostgreSQL).
    """
    stmt = sql_text(
        "SELECT customer, organization, category, subcategory, tags, subject, created_at, closed_at FROM ticket "
        "WHERE status IN ('closed', 'resolved') AND closed_at >= :start AND closed_at < :end"
    ).bindparams(bindparam("start", type_=UTCDateTime()), bindparam("end", type_=UTCDateTime()))
    return [tuple(row) for row in session.connection().execute(stmt, {"start": start, "end": end})]


def json_key(value: Any) -> str:
    """A hashable stand-in for a decoded JSON value (PostgreSQL returns lists)."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def raw_tags(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return ()
    return tuple(str(t) for t in value) if isinstance(value, list) else ()
