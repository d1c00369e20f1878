"""Finding tickets by what a user types (an external id, ``source:external_id``, or ``#<row id>``), listing them,
and their timeline (created → first response → resolved → closed)."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlmodel import col, select

from butterfly.errors import InvalidInputError, NotFoundError
from butterfly.store.models import Ticket, TicketEvent, TicketStatus
from butterfly.timeutil import as_utc

if TYPE_CHECKING:
    from sqlmodel import Session


def ticket_ref(source: str, external_id: str) -> str:
    """How butterfly names a ticket in reports, JSON and messages: ``source:external_id`` (what ``ref`` accepts)."""
    return f"{source}:{external_id}"


def short_ticket_ref(source: str, external_id: str) -> str:
    """The shorter name ``tickets list`` shows: the id alone for the default ``csv``/``json`` sources, else
    :func:`ticket_ref` (both are accepted wherever a ticket is named)."""
    return external_id if source in ("csv", "json") else ticket_ref(source, external_id)


def get_ticket(*, session: Session, ref: str) -> Ticket:
    """The ticket ``ref`` names; :class:`NotFoundError` with close matches when there is none or it is ambiguous."""
    ref = ref.strip()
    if ref.startswith("#") and ref[1:].isdigit():
        ticket = session.get(Ticket, int(ref[1:]))
        if ticket is not None:
            return ticket
    candidates = list(session.exec(select(Ticket).where(Ticket.external_id == ref)).all())
    if not candidates and ":" in ref:
        source, _, external = ref.partition(":")
        candidates = list(
            session.exec(select(Ticket).where(Ticket.source == source, Ticket.external_id == external)).all()
        )
    if len(candidates) == 1:
        return candidates[0]
    if len(candidates) > 1:
        names = ", ".join(ticket_ref(t.source, t.external_id) for t in candidates)
        raise NotFoundError(f"'{ref}' is ambiguous: {names}", hint="name it as SOURCE:ID")
    # close matches: same prefix first (cheap, uses the unique index), then fuzzy among those
    stem = ref[: max(1, len(ref) - 2)]
    nearby = list(
        session.exec(
            select(Ticket.source, Ticket.external_id).where(col(Ticket.external_id).startswith(stem)).limit(200)
        ).all()
    )
    ids = [e for _, e in nearby]
    matches = difflib.get_close_matches(ref, ids, n=5, cutoff=0.6) or ids[:5]
    hint = ("did you mean: " + ", ".join(matches) + "?") if matches else "see `butterfly tickets list`"
    raise NotFoundError(f"no ticket '{ref}'", hint=hint)


# -- listing and timelines ----------------------------------------------------------------------------------


def list_tickets(
    *,
    session: Session,
    status: str | None = None,
    customer: str | None = None,
    category: str | None = None,
    source: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int | None = 50,
) -> list[Ticket]:
    """Tickets matching the filters, newest (by creation time) first; ``since``/``until`` bound ``created_at``."""
    query = select(Ticket)
    if status is not None:
        if status not in {s.value for s in TicketStatus}:
            raise InvalidInputError(
                f"unknown status '{status}'", hint="use " + ", ".join(s.value for s in TicketStatus)
            )
        query = query.where(Ticket.status == status)
    if customer is not None:
        query = query.where(Ticket.customer == customer)
    if category is not None:
        query = query.where(Ticket.category == category)
    if source is not None:
        query = query.where(Ticket.source == source)
    if since is not None:
        query = query.where(col(Ticket.created_at) >= since)
    if until is not None:
        query = query.where(col(Ticket.created_at) < until)
    query = query.order_by(col(Ticket.created_at).desc(), col(Ticket.id).desc())
    if limit is not None:
        if limit < 1:
            raise InvalidInputError("--limit must be at least 1")
        query = query.limit(limit)
    return list(session.exec(query).all())


@dataclass(frozen=True)
class TimelineStep:
    """One step of a ticket's life: when it happened and how long it took from the step before and from creation."""

    name: str  # created | first_response | resolved | closed
    at: datetime | None
    since_previous: timedelta | None
    since_created: timedelta | None


TIMELINE_STEPS = (
    ("created", "created_at"),
    ("first_response", "first_response_at"),
    ("resolved", "resolved_at"),
    ("closed", "closed_at"),
)


def timeline(ticket: Ticket) -> list[TimelineStep]:
    """created → first response → resolved → closed, with durations (``None`` where a time is missing)."""
    created = as_utc(ticket.created_at)
    steps: list[TimelineStep] = []
    previous: datetime | None = None
    for name, attribute in TIMELINE_STEPS:
        at = as_utc(getattr(ticket, attribute))
        since_previous = at - previous if at is not None and previous is not None else None
        since_created = at - created if at is not None and created is not None and name != "created" else None
        steps.append(TimelineStep(name=name, at=at, since_previous=since_previous, since_created=since_created))
        if at is not None:
            previous = at
    return steps


def state_timeline(*, session: Session, ticket_id: int) -> list[TicketEvent]:
    """The ticket's state timeline (state, assignment group, assignee, reassignments; from ServiceNow's event log),
    oldest step first; empty when its import brought none."""
    return list(
        session.exec(select(TicketEvent).where(TicketEvent.ticket_id == ticket_id).order_by(col(TicketEvent.position)))
    )
