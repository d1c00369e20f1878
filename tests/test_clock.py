"""One clock: every command counts "overdue" on today in the ``timezone`` setting, whatever the machine's TZ."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from butterfly.store.models import ActionItem, Ticket

# 26 hours apart: the machine's date and the settings' date always differ
FAR_APART = [("Pacific/Kiritimati", "Etc/GMT+12"), ("Etc/GMT+12", "Pacific/Kiritimati"), ("UTC", "Etc/GMT+12")]


@pytest.fixture
def machine_tz(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Set the process's TZ (what ``date.today()`` and ``datetime.now()`` read); restored afterwards."""

    def set_tz(name: str) -> None:
        monkeypatch.setenv("TZ", name)
        time.tzset()

    yield set_tz
    monkeypatch.undo()
    time.tzset()


@pytest.mark.parametrize(("setting", "machine"), FAR_APART)
def test_every_command_agrees_on_what_is_overdue(
    cli, session, db_url: str, monkeypatch, machine_tz, setting: str, machine: str
) -> None:  # type: ignore[no-untyped-def]
    from butterfly.settings import get_settings

    monkeypatch.setenv("BUTTERFLY_TIMEZONE", setting)
    get_settings.cache_clear()
    machine_tz(machine)
    today = datetime.now(ZoneInfo(setting)).date()
    assert date.today() != today or setting == "UTC"  # the machine's date is another day (the bug's condition)

    t = Ticket(source="csv", external_id="A1", customer="Acme", status="closed", content_hash="A1")
    t.closed_at = datetime.now(UTC) - timedelta(days=30)
    session.add(t)
    session.commit()

    def action(due: date, status: str = "open") -> int:
        a = ActionItem(ticket_id=t.id, kind="process_patch", text=f"patch due {due}", due_date=due, status=status)
        session.add(a)
        session.commit()
        assert a.id is not None
        return a.id

    late = action(today - timedelta(days=1))
    action(today)  # due today: not yet overdue
    action(today + timedelta(days=1))
    action(today - timedelta(days=3), status="done")
    expected = [late]

    listed = cli("actions", "list", "--overdue", "--json", "--db", db_url)
    assert listed.exit_code == 0, listed.output
    assert [r["id"] for r in json.loads(listed.stdout)] == expected

    gate = cli("check", "--json", "--limit", "0", "--db", db_url)
    assert gate.exit_code == 1, gate.output
    data = json.loads(gate.stdout)
    assert data["today"] == today.isoformat()
    assert [a["action_id"] for a in data["overdue_actions"]] == expected

    ticket = cli("report", "ticket", "csv:A1", "--format", "json", "--db", db_url)
    assert ticket.exit_code == 0, ticket.output
    assert [a["id"] for a in json.loads(ticket.stdout)["actions"] if a["overdue"]] == expected

    weekly = cli("report", "weekly", "--week", "this", "--format", "json", "--db", db_url)
    assert weekly.exit_code == 0, weekly.output
    summary = json.loads(weekly.stdout)["actions"]
    assert [a["id"] for a in summary["overdue_items"]] == expected
    assert summary["overdue"] == 1 and summary["open_total"] == 3


def test_a_past_week_counts_overdue_and_open_as_of_its_end(session) -> None:  # type: ignore[no-untyped-def]
    from butterfly.clock import Clock
    from butterfly.reports.weekly.build import build_weekly_report

    t = Ticket(source="csv", external_id="B1", customer="Acme", status="closed", content_hash="B1")
    session.add(t)
    session.commit()
    week_end = datetime(2026, 11, 23, tzinfo=UTC)  # 2026-W47 ends Monday 2026-11-23 00:00 UTC
    items = [
        # (due, status, created, done): overdue at the week's end?
        (date(2026, 11, 20), "done", datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 12, 5, tzinfo=UTC)),  # yes
        (date(2026, 11, 22), "open", datetime(2026, 11, 1, tzinfo=UTC), None),  # yes: due Sunday
        (date(2026, 11, 23), "open", datetime(2026, 11, 1, tzinfo=UTC), None),  # no: due Monday; open
        (date(2026, 11, 20), "done", datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 11, 21, tzinfo=UTC)),  # no
        (date(2026, 11, 20), "open", datetime(2026, 12, 1, tzinfo=UTC), None),  # no: written after the week
    ]
    ids = []
    for due, status, created, done in items:
        a = ActionItem(
            ticket_id=t.id, kind="follow_up", text="x", due_date=due, status=status, created_at=created, done_at=done
        )
        session.add(a)
        session.commit()
        ids.append(a.id)
    report = build_weekly_report(
        session=session, week="2026-W47", clock=Clock("UTC", fixed=datetime(2027, 3, 1, tzinfo=UTC))
    )
    assert report.as_of == week_end
    assert [i.id for i in report.actions.overdue_items] == ids[:2]
    assert (report.actions.overdue, report.actions.open_total) == (2, 3)
    # the same week while it is still running: as of now, by today's status
    during = Clock("UTC", fixed=datetime(2026, 11, 21, 12, tzinfo=UTC))
    report = build_weekly_report(session=session, week="this", clock=during)
    assert report.week == "2026-W47" and report.as_of == during.now()
    assert [i.id for i in report.actions.overdue_items] == [ids[4]]  # due 11-20, open; the 11-22 one is not due yet


@pytest.mark.parametrize(
    "args",
    [
        ("check", "--until", "9999-12-31", "--json"),
        ("check", "--since", "0001-01-01", "--until", "9999-12-31", "--json"),
        ("export", "reviews", "--until", "9999-12-31"),
        ("export", "reviews", "--since", "999999999999h"),
        ("report", "consistency", "--until", "9999-12-31", "--format", "json"),
        ("tickets", "list", "--until", "9999-12-31", "--json"),
    ],
)
def test_calendar_edges_are_open_ends(cli, db_url: str, args: tuple[str, ...]) -> None:  # type: ignore[no-untyped-def]
    result = cli(*args, "--db", db_url)
    assert result.exit_code == 0, result.output
    if args[0] == "check":
        assert json.loads(result.stdout)["period"]["until"] is None


@pytest.mark.parametrize(
    "args",
    [
        ("report", "weekly", "--week", "9999-W52"),
        ("report", "weekly", "--week", "0001-W01"),
        ("check", "--week", "9999-W52"),
        ("export", "reviews", "--week", "0001-W01"),
        ("check", "--since", "9999-12-31T23:59:59-12:00"),
        ("check", "--until", "0001-01-01T00:00:00+14:00"),
        ("export", "reviews", "--since", "99999999999999999999999h"),
        ("report", "consistency", "--until", "0001-01-02", "--weeks", "8"),
    ],
)
def test_calendar_edges_out_of_reach_are_one_error_line(cli, db_url: str, args: tuple[str, ...]) -> None:  # type: ignore[no-untyped-def]
    result = cli(*args, "--db", db_url)
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("Error: ")
    assert "Traceback" not in result.output
    assert result.stdout == ""


def test_week_last_and_this_work_for_the_report_as_for_the_gate(cli, db_url: str) -> None:  # type: ignore[no-untyped-def]
    from butterfly.clock import Clock
    from butterfly.periods import parse_week

    last = parse_week("last", clock=Clock("UTC")).label
    report = cli("report", "weekly", "--week", "last", "--format", "json", "--db", db_url)
    assert report.exit_code == 0, report.output
    assert json.loads(report.stdout)["week"] == last
    gate = cli("check", "--week", "last", "--json", "--db", db_url)
    assert json.loads(gate.stdout)["period"]["week"] == last


EDGE_ANSWERS = """\
customer.mid.compensation_at: "9999-12-31T23:59:59-12:00"
company.mid.fix_at: "0001-01-01T00:00:00+14:00"
customer.long.consent_at: 9999-12-31T23:59:59-12:00
"""


def test_answers_file_date_times_off_the_calendar_are_problem_lines(cli, session, db_url, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from review_support import make_ticket

    make_ticket(session, "T-1")
    path = tmp_path / "answers.yaml"
    path.write_text(EDGE_ANSWERS, encoding="utf-8")
    result = cli("review", "T-1", "--answers", str(path), "--db", db_url)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert (
        f"{path}:1: customer.mid.compensation_at: '9999-12-31T23:59:59-12:00' is outside the calendar" in result.stderr
    )
    assert f"{path}:3: customer.long.consent_at: " in result.stderr


def test_answers_file_reads_the_date_times_import_reads(cli, session, db_url, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from review_support import make_ticket

    from butterfly.settings import get_settings

    monkeypatch.setenv("BUTTERFLY_TIMEZONE", "Asia/Shanghai")
    get_settings.cache_clear()
    make_ticket(session, "T-1")
    path = tmp_path / "answers.yaml"
    path.write_text('customer.mid.compensation_at: "2026年3月25日 10:00"\n', encoding="utf-8")
    result = cli("review", "T-1", "--answers", str(path), "--db", db_url)
    assert result.exit_code == 0, result.output
    shown = json.loads(cli("reviews", "show", "T-1", "--json", "--db", db_url).stdout)
    assert shown["answers"]["customer.mid.compensation_at"]["value"] == "2026-03-25T02:00:00+00:00"


def test_due_dates_are_dates_or_counted_from_today_on_the_clock() -> None:
    from butterfly.clock import Clock
    from butterfly.errors import InvalidInputError
    from butterfly.periods import parse_day
    from butterfly.review.actions import parse_due

    # 2026-03-01 20:00 UTC is already 2026-03-02 in Shanghai: "+14d" counts from the Shanghai day
    clock = Clock("Asia/Shanghai", fixed=datetime(2026, 3, 1, 20, tzinfo=UTC))
    assert parse_day("+14d", clock=clock) == date(2026, 3, 16)
    assert parse_day("+2w", clock=clock) == date(2026, 3, 16)
    assert parse_day("2026-12-01", clock=clock) == date(2026, 12, 1)
    assert parse_day("2026/12/01", clock=clock) == date(2026, 12, 1)
    assert parse_day("2026年12月1日", clock=clock) == date(2026, 12, 1)
    assert parse_due("+1d", today=date(2030, 1, 31)) == date(2030, 2, 1)
    for bad in ("2026-02-30", "+9999999d", "tomorrow", "+14", "9" * 5000):
        with pytest.raises(InvalidInputError):
            parse_day(bad, clock=clock)


def test_instants_read_in_the_clock_zone() -> None:
    from butterfly.clock import Clock
    from butterfly.periods import parse_instant, resolve_period

    clock = Clock("Asia/Shanghai", fixed=datetime(2026, 11, 25, 1, tzinfo=UTC))
    assert parse_instant("2026-11-20", clock=clock) == datetime(2026, 11, 19, 16, tzinfo=UTC)
    assert parse_instant("2026-11-20", clock=clock, end=True) == datetime(2026, 11, 20, 16, tzinfo=UTC)
    assert parse_instant("2026-11-20T09:00", clock=clock) == datetime(2026, 11, 20, 1, tzinfo=UTC)
    assert parse_instant("2026-11-20T09:00Z", clock=clock) == datetime(2026, 11, 20, 9, tzinfo=UTC)
    assert parse_instant("12h", clock=clock) == datetime(2026, 11, 24, 13, tzinfo=UTC)
    assert parse_instant("9999-12-31", clock=clock, option="--until", end=True) is None
    # 2026-11-25 01:00 UTC is Wednesday 09:00 in Shanghai: this week began Monday 2026-11-23 there
    this = resolve_period(week="this", clock=clock)
    assert (this.week, this.since) == ("2026-W48", datetime(2026, 11, 22, 16, tzinfo=UTC))
    assert resolve_period(week="LAST", clock=clock).week == "2026-W47"


def test_import_rejects_times_off_the_calendar_with_their_line(cli, db_url: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "edge.csv"
    path.write_text(
        "id,customer,subject,status,created,closed\n"
        "T1,Acme,x,closed,9999-12-31 23:59,2026-01-02\n"
        "T2,Acme,y,closed,0001-01-01T00:00:00+14:00,2026-01-02\n"
        "T3,Acme,z,closed,2026-01-01,9999-12-31T23:59:59-12:00\n"
        "T4,Acme,fine,closed,2026-01-01,2026-01-02\n",
        encoding="utf-8",
    )
    result = cli("import", str(path), "--timezone", "America/New_York", "--db", db_url)
    assert result.exit_code == 1, result.output  # finished, with rejects
    assert "Traceback" not in result.output
    for line in (2, 3, 4):
        assert f"edge.csv:{line}: " in result.stderr
    listed = json.loads(cli("tickets", "list", "--json", "--db", db_url).stdout)
    assert [t["external_id"] for t in listed] == ["T4"]
