"""``butterfly tickets list`` and ``butterfly tickets show`` on the sample tickets (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "tickets.csv"


@pytest.fixture
def imported(cli, db_url: str) -> str:  # type: ignore[no-untyped-def]
    result = cli("import", str(EXAMPLE), "--db", db_url)
    assert result.exit_code == 0, result.output
    return db_url


def test_list_filters_and_json(cli, imported: str) -> None:  # type: ignore[no-untyped-def]
    result = cli("tickets", "list", "--db", imported, "--json", "--limit", "100")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert len(rows) == 42
    assert rows[0]["external_id"] == "T-1042"  # newest first
    created = [r["created_at"] for r in rows]
    assert created == sorted(created, reverse=True)

    result = cli("tickets", "list", "--db", imported, "--json", "--status", "open")
    assert [r["external_id"] for r in json.loads(result.stdout)] == ["T-1041"]

    result = cli("tickets", "list", "--db", imported, "--json", "--customer", "Northwind Traders", "--limit", "100")
    northwind = json.loads(result.stdout)
    assert len(northwind) == 8
    assert max(r["created_at"] for r in northwind) < "2026-10-25"  # the customer who went quiet

    result = cli("tickets", "list", "--db", imported, "--json", "--since", "2026-11-10", "--status", "closed")
    since = json.loads(result.stdout)
    assert since and all(r["created_at"] >= "2026-11-10" and r["status"] == "closed" for r in since)

    result = cli("tickets", "list", "--db", imported, "--limit", "3")
    assert result.exit_code == 0
    assert "T-1042" in result.stdout and "T-1039" not in result.stdout


def test_list_rejects_bad_filters(cli, imported: str) -> None:  # type: ignore[no-untyped-def]
    result = cli("tickets", "list", "--db", imported, "--status", "done")
    assert result.exit_code == 2
    assert "unknown status 'done'" in result.stderr
    result = cli("tickets", "list", "--db", imported, "--since", "last week")
    assert result.exit_code == 2
    assert "--since last week: not a date" in result.stderr


def test_show_prints_the_timeline_with_durations(cli, imported: str) -> None:  # type: ignore[no-untyped-def]
    result = cli("tickets", "show", "T-1001", "--db", imported)
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "发票导出失败" in out and "华星物流" in out
    lines = {line.split("│")[0].strip(): line for line in out.splitlines() if "│" in line}
    # created 09:15, first response 12:15 (3h), resolved 13:18 (1h 03m later), closed 2026-10-08 16:18
    assert "2026-10-05 09:15" in lines["created"]
    assert "3h 00m" in lines["first response"]
    assert "1h 03m" in lines["resolved"] and "4h 03m" in lines["resolved"]
    assert "3d 3h" in lines["closed"] and "3d 7h" in lines["closed"]


def test_show_json_and_a_ticket_still_open(cli, imported: str) -> None:  # type: ignore[no-untyped-def]
    result = cli("tickets", "show", "csv:T-1041", "--db", imported, "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["status"] == "open"
    steps = {s["step"]: s for s in data["timeline"]}
    assert steps["first_response"]["since_previous_seconds"] == 75 * 60
    assert steps["resolved"]["at"] is None and steps["closed"]["at"] is None


def test_show_unknown_ticket_suggests_close_matches(cli, imported: str) -> None:  # type: ignore[no-untyped-def]
    result = cli("tickets", "show", "T-10O1", "--db", imported)
    assert result.exit_code == 2
    assert "no ticket 'T-10O1'" in result.stderr
    assert "did you mean: T-10" in result.stderr


def test_timeline_durations_in_the_library() -> None:
    from butterfly.store.models import Ticket
    from butterfly.tickets import timeline

    start = datetime(2026, 1, 1, 8, 0, tzinfo=UTC)
    ticket = Ticket(
        source="x",
        external_id="1",
        content_hash="h",
        created_at=start,
        first_response_at=None,
        resolved_at=start + timedelta(hours=5),
        closed_at=start + timedelta(days=2, hours=5),
    )
    steps = timeline(ticket)
    assert [s.name for s in steps] == ["created", "first_response", "resolved", "closed"]
    assert steps[1].at is None and steps[1].since_previous is None
    assert steps[2].since_previous == timedelta(hours=5)  # measured from the last step that happened
    assert steps[3].since_previous == timedelta(days=2)
    assert steps[3].since_created == timedelta(days=2, hours=5)
