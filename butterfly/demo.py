"""``butterfly demo``: the sample tickets in ``examples/`` imported into a demo database, a ticket picked to review."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from butterfly.clock import Clock, settings_clock
from butterfly.errors import InvalidInputError
from butterfly.importers.service import import_files
from butterfly.paths import examples_dir
from butterfly.review.queue import next_pick
from butterfly.timeutil import as_utc

if TYPE_CHECKING:
    from sqlmodel import Session

    from butterfly.importers.service import ImportSummary
    from butterfly.store.models import Ticket

DEMO_FILES = ("tickets.csv",)  # zendesk_tickets.json holds the same tickets in Zendesk's shape


@dataclass
class DemoSetup:
    summary: ImportSummary
    ticket: Ticket  # the ticket the walk opens on: the reviewer's open draft, else the next one worth reviewing
    files: list[Path]
    week: str  # the ISO week in which most sample tickets were closed (the weekly report worth opening)


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
    ticket = next_pick(session=session, reviewer=reviewer).ticket  # the reviewer's open draft first
    return DemoSetup(summary=summary, ticket=ticket, files=files, week=busiest_week(session, summary))


def busiest_week(session: Session, summary: ImportSummary, clock: Clock | None = None) -> str:
    """The ISO week (in the clock's zone) in which most of the imported tickets were closed, the later one on a
    tie: the sample tickets are dated, so the week to suggest comes from them, not from the calendar."""
    from sqlmodel import col, select

    from butterfly.store.models import Ticket

    clock = clock or settings_clock()
    sources = {f.source for f in summary.files}
    closed = session.exec(
        select(Ticket.closed_at).where(col(Ticket.source).in_(sources), col(Ticket.closed_at).isnot(None))
    )
    weeks = Counter(clock.day_of(at).isocalendar()[:2] for at in map(as_utc, closed) if at is not None)
    year, week = max(weeks, key=lambda w: (weeks[w], w)) if weeks else clock.today().isocalendar()[:2]
    return f"{year}-W{week:02d}"
