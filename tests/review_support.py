"""Helpers for the review tests: tickets made directly through the model, and the shipped example tickets."""

from __future__ import annotations

import csv
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BASE = datetime(2026, 10, 1, 9, 0, tzinfo=UTC)


def make_ticket(session: Any, external_id: str = "T-1", **fields: Any) -> Any:
    """A ticket with sensible defaults: closed, created at BASE, first response +2h, resolved +20h, closed +2d."""
    from butterfly.store.models import Ticket

    created = fields.pop("created_at", BASE)
    values: dict[str, Any] = {
        "source": "csv",
        "external_id": external_id,
        "customer": "Acme",
        "subject": "Invoice export fails",
        "category": "billing",
        "status": "closed",
        "assignee": "wang.li",
        "created_at": created,
        "first_response_at": created + timedelta(hours=2),
        "resolved_at": created + timedelta(hours=20),
        "closed_at": created + timedelta(days=2),
        "content_hash": external_id,
    }
    values.update(fields)
    ticket = Ticket(**values)
    session.add(ticket)
    session.commit()
    return ticket


def load_example_tickets(session: Any) -> int:
    """Insert examples/tickets.csv through the model (until `butterfly import` is used here)."""
    from butterfly.store.models import Ticket

    def when(text: str) -> datetime | None:
        return datetime.fromisoformat(text) if text else None

    n = 0
    with (ROOT / "examples" / "tickets.csv").open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            session.add(
                Ticket(
                    source="csv",
                    external_id=row["id"],
                    customer=row["customer"] or None,
                    subject=row["subject"] or None,
                    description=row["description"] or None,
                    category=row["category"] or None,
                    tags=[t for t in row["tags"].split(";") if t],
                    status=row["status"],
                    created_at=when(row["created"]),
                    first_response_at=when(row["first_response"]),
                    resolved_at=when(row["resolved"]),
                    closed_at=when(row["closed"]),
                    assignee=row["assignee"] or None,
                    group_name=row["group"] or None,
                    channel=row["channel"] or None,
                    content_hash=row["id"],
                )
            )
            n += 1
    session.commit()
    return n


def start(session: Any, ticket: Any, reviewer: str = "tester", lang: str = "en", lenses: tuple[str, ...] = ()) -> Any:
    from butterfly.checklist.model import load_builtin
    from butterfly.review.lifecycle import start_review

    return start_review(
        session=session, ticket=ticket, reviewer=reviewer, checklist=load_builtin("butterfly", lang), lenses=lenses
    )
