"""Tickets written as generic CSV — the columns of ``examples/tickets.csv`` — that import reads back unchanged.

Times are written as ISO 8601 in UTC with microseconds; tags as ``a;b`` when that is unambiguous, otherwise as a
JSON list; empty values as empty cells; lines end in CRLF (RFC 4180).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from sqlmodel import col, select

from butterfly.files import atomic_output
from butterfly.importers.prepare import TAG_SEPARATORS
from butterfly.store.models import Ticket

if TYPE_CHECKING:
    from sqlmodel import Session


COLUMNS = [
    "id",
    "customer",
    "subject",
    "description",
    "category",
    "tags",
    "status",
    "created",
    "first_response",
    "resolved",
    "closed",
    "assignee",
    "group",
    "channel",
]
EXTRA_COLUMNS = ["organization", "subcategory", "priority", "problem_id", "updated"]


def format_tags(tags: list[str]) -> str:
    """``a;b`` when splitting it gives back exactly ``tags``; a JSON list otherwise."""
    simple = all(
        t and t == t.strip() and not any(sep in t for sep in TAG_SEPARATORS) and not t.startswith("[") for t in tags
    )
    if simple:
        return ";".join(tags)
    return json.dumps(tags, ensure_ascii=False)


def format_time(value: datetime | None) -> str:
    if value is None:
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def ticket_row(ticket: Ticket, *, extra: bool = False) -> list[str]:
    values = [
        ticket.external_id,
        ticket.customer or "",
        ticket.subject or "",
        ticket.description or "",
        ticket.category or "",
        format_tags(list(ticket.tags or [])),
        ticket.status,
        format_time(ticket.created_at),
        format_time(ticket.first_response_at),
        format_time(ticket.resolved_at),
        format_time(ticket.closed_at),
        ticket.assignee or "",
        ticket.group_name or "",
        ticket.channel or "",
    ]
    if extra:
        values += [
            ticket.organization or "",
            ticket.subcategory or "",
            ticket.priority or "",
            ticket.problem_id or "",
            format_time(ticket.updated_at),
        ]
    return values


def csv_writer(handle: IO[str]) -> Any:
    """A CSV writer whose records read back exactly: CRLF line ends (RFC 4180), so that a field holding a lone
    carriage return or line feed is quoted (Python quotes only the characters of its line terminator)."""
    return csv.writer(handle, lineterminator="\r\n")


def write_tickets_csv(tickets: Iterable[Ticket], handle: IO[str], *, extra: bool = False) -> int:
    writer = csv_writer(handle)
    writer.writerow(COLUMNS + (EXTRA_COLUMNS if extra else []))
    n = 0
    for ticket in tickets:
        writer.writerow(ticket_row(ticket, extra=extra))
        n += 1
    return n


def export_tickets_csv(*, session: Session, path: Path | str, source: str | None = None, extra: bool = False) -> int:
    """Write the tickets (of ``source``, or all) to ``path`` (0600, atomically: :mod:`butterfly.files`)."""
    query = select(Ticket).order_by(col(Ticket.id))
    if source is not None:
        query = query.where(Ticket.source == source)
    with atomic_output(path) as handle:
        return write_tickets_csv(session.exec(query), handle, extra=extra)
