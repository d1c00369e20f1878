"""``butterfly demo``: the first command a new user runs."""

from __future__ import annotations

import csv
import os
import stat
from pathlib import Path

from butterfly.paths import examples_dir


def test_demo_imports_the_samples_and_names_the_next_steps(cli, db_url: str) -> None:  # type: ignore[no-untyped-def]
    with (examples_dir() / "tickets.csv").open(encoding="utf-8") as fh:
        rows = sum(1 for _ in csv.DictReader(fh))
    result = cli("--db", db_url, "demo")
    assert result.exit_code == 0, result.output
    assert f"{rows} read, {rows} new" in result.stderr
    assert "review T-" in result.stderr
    assert "not a terminal" in result.stderr  # no prompt without a terminal: it does not hang in CI
    again = cli("--db", db_url, "demo")
    assert f"{rows} read, 0 new, 0 updated, {rows} unchanged" in again.stderr


def test_demo_default_database_is_private_and_fresh_starts_over(cli, isolated_home: Path) -> None:  # type: ignore[no-untyped-def]
    first = cli("demo", "--no-walk")
    assert first.exit_code == 0, first.output
    path = isolated_home / "data" / "demo.db"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert " 0 new" in cli("demo", "--no-walk").stderr
    assert " 0 new" not in cli("demo", "--no-walk", "--fresh").stderr


def test_the_weekly_report_the_demo_suggests_has_the_sample_tickets(cli, db_url: str) -> None:  # type: ignore[no-untyped-def]
    """The suggested week comes from the samples' close dates (it was a fixed week none of them closed in)."""
    import re
    from datetime import UTC

    from butterfly.importers.dates import parse_datetime

    with (examples_dir() / "tickets.csv").open(encoding="utf-8") as fh:
        closed = [parse_datetime(r["closed"]) for r in csv.DictReader(fh) if r["closed"].strip()]
    days = [d.astimezone(UTC).date() for d in closed if d is not None]  # the weeks of the default zone, UTC
    weeks = [f"{d.isocalendar()[0]}-W{d.isocalendar()[1]:02d}" for d in days]
    busiest = max(set(weeks), key=lambda w: (weeks.count(w), w))
    demo = cli("--db", db_url, "demo")
    suggested = re.search(r"report weekly --week (\S+)", demo.stderr)
    assert suggested is not None and suggested.group(1) == busiest
    report = cli("--db", db_url, "report", "weekly", "--week", busiest)
    assert report.exit_code == 0, report.stderr
    assert f"Tickets closed this week: **{weeks.count(busiest)}**" in report.stdout
