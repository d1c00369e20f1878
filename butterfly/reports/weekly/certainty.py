"""Section (in review coverage): the certainty gap across the team, by group.

Of the week's closed tickets whose thread was imported, how many left the customer chasing (at least two chases)
or waiting more than a day for a public reply, by the ticket's group: the facts of
:func:`butterfly.conversation.facts.facts`, the same the walk and the ticket report show. Messages are read in one
query, in ticket order, and one ticket's thread is held at a time.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from itertools import groupby
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlmodel import col

from butterfly.conversation.facts import CHASES_OFTEN, LONG_SILENCE, facts
from butterfly.conversation.facts import Message as ThreadMessage
from butterfly.reports.weekly.common import cols
from butterfly.reports.weekly.model import CLOSED_STATUSES, CertaintyGap, CertaintyGroup
from butterfly.store.models import Message, Ticket

if TYPE_CHECKING:
    from sqlmodel import Session


def _threads(rows: Iterable[Any]) -> Iterator[tuple[Any, list[ThreadMessage]]]:
    """(ticket columns, its thread) per ticket, from rows ordered by ticket and position."""
    for _tid, group in groupby(rows, key=lambda r: r[0]):
        items = list(group)
        first = items[0]
        thread = [ThreadMessage(r[4], r[5], r[6] or "", r[7], bool(r[8])) for r in items]
        yield first, thread


def certainty_gap(*, session: Session, start: datetime, end: datetime, closed: int) -> CertaintyGap | None:
    """The week's certainty gap, or None when no closed ticket of the week has a thread."""
    stmt = (
        select(
            *cols(
                Ticket.id,
                Ticket.group_name,
                Ticket.resolved_at,
                Ticket.closed_at,
                Message.position,
                Message.role,
                Message.text,
                Message.at,
                Message.public,
            )
        )
        .join(Message, col(Message.ticket_id) == Ticket.id)
        .where(col(Ticket.status).in_(CLOSED_STATUSES), col(Ticket.closed_at) >= start, col(Ticket.closed_at) < end)
        .order_by(col(Ticket.id), col(Message.position))
    )
    groups: dict[str | None, list[int]] = {}  # group -> [with thread, chased, waited, gap]
    for ticket, thread in _threads(session.exec(stmt).yield_per(2000)):  # type: ignore[call-overload]
        found = facts(thread, closed_at=ticket[2] or ticket[3])
        chased, waited = found.chased_often, found.waited_long
        counts = groups.setdefault(ticket[1] or None, [0, 0, 0, 0])
        counts[0] += 1
        counts[1] += chased
        counts[2] += waited
        counts[3] += chased or waited
    if not groups:
        return None
    rows = [
        CertaintyGroup(group=name, with_thread=n, chased=c, waited=w, gap=g, rate=round(g / n, 3) if n else None)
        for name, (n, c, w, g) in groups.items()
    ]
    rows.sort(key=lambda r: (-r.gap, -(r.rate or 0.0), r.group or "\uffff"))
    total = [sum(r[i] for r in groups.values()) for i in range(4)]
    return CertaintyGap(
        closed=closed,
        with_thread=total[0],
        chased=total[1],
        waited=total[2],
        gap=total[3],
        rate=round(total[3] / total[0], 3) if total[0] else None,
        chases_min=CHASES_OFTEN,
        silence_hours=int(LONG_SILENCE.total_seconds() // 3600),
        by_group=rows,
    )
