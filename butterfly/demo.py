"""``butterfly demo``: the sample tickets in ``examples/`` imported into a demo database, a ticket picked to review."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from butterfly.errors import InvalidInputError
from butterfly.importers.service import import_files
from butterfly.paths import examples_dir
from butterfly.review.queries import next_ticket_for

if TYPE_CHECKING:
    from sqlmodel import Session

    from butterfly.importers.service import ImportSummary
    from butterfly.store.models import Ticket

DEMO_FILES = ("tickets.csv",)  # zendesk_tickets.json holds the same tickets in Zendesk's shape


@dataclass
class DemoSetup:
    summary: ImportSummary
    ticket: Ticket  # the ticket the walk opens on: the oldest closed one the reviewer has not reviewed
    files: list[Path]


def demo_files() -> list[Path]:
    """The shipped sample export the demo imports."""
    folder = examples_dir()
    files = [folder / name for name in DEMO_FILES]
    missing = [str(p) for p in files if not p.is_file()]
    if missing:
        raise InvalidInputError(f"sample tickets not found: {', '.join(missing)}", hint="reinstall butterfly")
    return files


def set_up_demo(*, session: Session, reviewer: str) -> DemoSetup:
    """Import the sample tickets (idempotent: a second run changes nothing) and pick a ticket to review."""
    files = demo_files()
    summary = import_files(session=session, paths=files, format="auto", rejects=None)
    ticket = next_ticket_for(session=session, reviewer=reviewer)
    return DemoSetup(summary=summary, ticket=ticket, files=files)
