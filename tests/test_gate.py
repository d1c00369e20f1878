"""``butterfly check``: exit codes and the versioned --json shape on databases built row by row."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from butterfly.store.models import ActionItem, Answer, Finding, Review, Ticket

WEEK = "2026-W47"  # Monday 2026-11-16 .. Sunday 2026-11-22
IN_WEEK = datetime(2026, 11, 18, 10, 0, tzinfo=UTC)
BEFORE_WEEK = datetime(2026, 11, 10, 10, 0, tzinfo=UTC)


def ticket(session: Any, ext: str, closed_at: datetime | None = IN_WEEK, status: str = "closed", **kw: Any) -> Ticket:
    t = Ticket(
        source="csv",
        external_id=ext,
        customer=kw.pop("customer", f"Customer {ext}"),
        status=status,
        closed_at=closed_at,
        content_hash=ext,
        **kw,
    )
    session.add(t)
    session.commit()
    return t


def review(session: Any, t: Ticket, status: str = "complete", reviewer: str = "lead", **answers: Any) -> Review:
    r = Review(
        ticket_id=t.id,
        reviewer=reviewer,
        checklist_id="butterfly",
        checklist_version="1.0",
        language="en",
        status=status,
    )
    session.add(r)
    session.commit()
    for qid, value in answers.items():
        session.add(Answer(review_id=r.id, question_id=qid.replace("__", "."), value=value, answered_by=reviewer))
    session.commit()
    return r


def action(session: Any, t: Ticket, due: date | None, status: str = "open") -> ActionItem:
    a = ActionItem(ticket_id=t.id, kind="process_patch", text="patch the refund process", due_date=due, status=status)
    session.add(a)
    session.commit()
    return a


def check(cli: Any, db_url: str, *args: str) -> tuple[int, dict[str, Any]]:
    result = cli("check", "--db", db_url, "--json", *args)
    assert result.exit_code in (0, 1), result.output
    data = json.loads(result.stdout)
    assert data["exit_code"] == result.exit_code
    return result.exit_code, data


def test_all_reviewed_nothing_overdue_exits_0(cli, session, db_url: str) -> None:  # type: ignore[no-untyped-def]
    for i in range(5):
        review(session, ticket(session, f"T{i}"))
    action(session, ticket(session, "T9", closed_at=BEFORE_WEEK), due=date.today() + timedelta(days=3))
    code, data = check(cli, db_url, "--week", WEEK)
    assert code == 0
    assert data["schema"] == "butterfly.check/1"
    assert data["ok"] is True
    assert data["counts"]["closed_tickets"] == 5
    assert data["coverage"] == 1.0
    assert data["period"]["week"] == WEEK
    assert data["period"]["since"] == "2026-11-16T00:00:00+00:00"
    assert data["period"]["until"] == "2026-11-23T00:00:00+00:00"
    assert {c["name"] for c in data["checks"]} == {
        "coverage",
        "incomplete_reviews",
        "overdue_actions",
        "publicity_without_consent",
    }


def test_coverage_below_the_minimum_exits_1_and_names_the_unreviewed_tickets(cli, session, db_url: str) -> None:  # type: ignore[no-untyped-def]
    for i in range(3):
        review(session, ticket(session, f"R{i}"))
    ticket(session, "U1", customer="Zhang Wei")
    ticket(session, "U2")
    ticket(session, "OLD", closed_at=BEFORE_WEEK)  # outside the week: not counted
    ticket(session, "OPEN", status="open", closed_at=None)  # not closed: not counted
    code, data = check(cli, db_url, "--week", WEEK)
    assert code == 1
    assert data["counts"]["closed_tickets"] == 5
    assert data["counts"]["unreviewed"] == 2
    assert data["coverage"] == 0.6
    assert [t["ticket"] for t in data["unreviewed"]] == ["csv:U1", "csv:U2"]
    coverage = next(c for c in data["checks"] if c["name"] == "coverage")
    assert coverage == {
        "name": "coverage",
        "ok": False,
        "enforced": True,
        "value": 0.6,
        "limit": 0.8,
        "message": "3 of 5 closed tickets have reviews (60%; minimum 80%)",
    }
    # a lower bar passes
    assert check(cli, db_url, "--week", WEEK, "--min-coverage", "0.6")[0] == 0

    # human output: the shortfall on stdout, the verdict on stderr, no customer names in CI logs
    result = cli("check", "--db", db_url, "--week", WEEK)
    assert result.exit_code == 1
    assert "FAIL  coverage" in result.stdout
    assert "csv:U1" in result.stdout
    assert "Zhang Wei" not in result.output
    assert "check failed: coverage" in result.stderr


def test_overdue_action_items_fail_whatever_the_period(cli, session, db_url: str) -> None:  # type: ignore[no-untyped-def]
    t = ticket(session, "A1", closed_at=BEFORE_WEEK)
    review(session, t)
    overdue = action(session, t, due=date.today() - timedelta(days=2))
    action(session, t, due=date.today() - timedelta(days=9), status="done")  # done: not overdue
    action(session, t, due=date.today())  # due today: not yet overdue
    action(session, t, due=None)  # no due date: never overdue
    code, data = check(cli, db_url, "--week", WEEK)
    assert code == 1
    assert data["counts"]["overdue_actions"] == 1
    assert data["overdue_actions"] == [
        {
            "action_id": overdue.id,
            "ticket": "csv:A1",
            "kind": "process_patch",
            "owner": None,
            "due_date": (date.today() - timedelta(days=2)).isoformat(),
            "days_overdue": 2,
        }
    ]
    assert check(cli, db_url, "--week", WEEK, "--max-overdue", "1")[0] == 0


def test_draft_reviews_count_as_reviewed_unless_complete_is_required(cli, session, db_url: str) -> None:  # type: ignore[no-untyped-def]
    review(session, ticket(session, "D1"), status="draft", reviewer="wang")
    review(session, ticket(session, "C1"))
    code, data = check(cli, db_url, "--week", WEEK)
    assert code == 0
    assert data["counts"]["incomplete_reviews"] == 1
    drafts = next(c for c in data["checks"] if c["name"] == "incomplete_reviews")
    assert drafts["ok"] is True and drafts["enforced"] is False

    code, data = check(cli, db_url, "--week", WEEK, "--require-complete", "--min-coverage", "0.5")
    assert code == 1
    assert data["coverage"] == 0.5  # only the complete review counts
    assert [c["name"] for c in data["checks"] if not c["ok"]] == ["incomplete_reviews"]
    assert data["incomplete_reviews"][0]["ticket"] == "csv:D1"
    assert data["incomplete_reviews"][0]["reviewer"] == "wang"
    assert data["unreviewed"] == [
        {"ticket": "csv:D1", "closed_at": "2026-11-18T10:00:00+00:00", "has_draft_review": True}
    ]


def test_publicity_without_consent_from_answers_fails(cli, session, db_url: str) -> None:  # type: ignore[no-untyped-def]
    planned = "customer.long.publicity_planned"
    consent = "customer.long.consent_given"
    review(session, ticket(session, "P1"), **{planned.replace(".", "__"): True})  # no consent answer
    review(session, ticket(session, "P2"), **{planned.replace(".", "__"): "yes", consent.replace(".", "__"): "no"})
    review(session, ticket(session, "P3"), **{planned.replace(".", "__"): True, consent.replace(".", "__"): True})
    review(session, ticket(session, "P4"), **{planned.replace(".", "__"): False})
    # a draft has not reached the consent question yet: not counted
    review(session, ticket(session, "P5"), status="draft", **{planned.replace(".", "__"): True})
    code, data = check(cli, db_url, "--week", WEEK)
    assert code == 1
    assert data["counts"]["publicity_without_consent"] == 2
    assert [(p["ticket"], p["reason"]) for p in data["publicity_without_consent"]] == [
        ("csv:P1", "answers"),
        ("csv:P2", "answers"),
    ]


def test_publicity_finding_fails_the_gate(cli, session, db_url: str) -> None:  # type: ignore[no-untyped-def]
    r = review(session, ticket(session, "F1"))
    session.add(Finding(review_id=r.id, kind="publicity_without_consent", detail="story planned, no consent"))
    session.commit()
    code, data = check(cli, db_url, "--week", WEEK)
    assert code == 1
    assert data["publicity_without_consent"] == [
        {"review_id": r.id, "ticket": "csv:F1", "reviewer": "lead", "reason": "finding"}
    ]


def test_team_checklist_guards_are_used(cli, session, db_url: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from butterfly.checklist.export import export_checklist
    from butterfly.checklist.model import load_builtin

    text = export_checklist(load_builtin("butterfly", "en"), "yaml")
    text = text.replace("customer.long.publicity_planned", "customer.long.case_study")
    team = tmp_path / "team.yaml"
    team.write_text(text.replace("id: butterfly\n", "id: team\n"), encoding="utf-8")
    review(session, ticket(session, "G1"), customer__long__case_study=True)
    assert check(cli, db_url, "--week", WEEK)[0] == 0  # the shipped checklist knows no such question
    code, data = check(cli, db_url, "--week", WEEK, "--checklist", str(team))
    assert code == 1
    assert data["counts"]["publicity_without_consent"] == 1


def test_no_closed_tickets_passes(cli, db_url: str) -> None:  # type: ignore[no-untyped-def]
    code, data = check(cli, db_url, "--since", "2026-11-01", "--until", "2026-11-30")
    assert code == 0
    assert data["coverage"] is None
    assert data["period"]["until"] == "2026-12-01T00:00:00+00:00"  # a bare --until date includes that day


def test_week_follows_the_configured_time_zone(cli, session, db_url: str, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # Sunday 2026-11-22 23:30 in Shanghai is 15:30 UTC: inside W47 there; Monday 00:30 Shanghai is not.
    ticket(session, "SUN", closed_at=datetime(2026, 11, 22, 15, 30, tzinfo=UTC))
    ticket(session, "MON", closed_at=datetime(2026, 11, 22, 16, 30, tzinfo=UTC))
    monkeypatch.setenv("BUTTERFLY_TIMEZONE", "Asia/Shanghai")
    from butterfly.settings import get_settings

    get_settings.cache_clear()
    _, data = check(cli, db_url, "--week", WEEK, "--min-coverage", "0")
    assert [t["ticket"] for t in data["unreviewed"]] == ["csv:SUN"]
    assert data["period"]["since"] == "2026-11-15T16:00:00+00:00"


def test_limit_caps_lists_but_not_counts(cli, session, db_url: str) -> None:  # type: ignore[no-untyped-def]
    for i in range(5):
        ticket(session, f"L{i}")
    _, data = check(cli, db_url, "--week", WEEK, "--limit", "2")
    assert data["counts"]["unreviewed"] == 5
    assert len(data["unreviewed"]) == 2
    assert data["list_limit"] == 2
    _, data = check(cli, db_url, "--week", WEEK, "--limit", "0")
    assert len(data["unreviewed"]) == 5
    result = cli("check", "--db", db_url, "--week", WEEK, "--limit", "2")
    assert "... and 3 more" in result.stdout


@pytest.mark.parametrize(
    "args",
    [
        ["--week", "2026-47"],
        ["--week", "2026-W54"],
        ["--week", WEEK, "--since", "2026-11-01"],
        ["--since", "yesterday-ish"],
        ["--since", "2026-11-20", "--until", "2026-11-10"],
        ["--min-coverage", "1.5"],
        ["--min-coverage", "most"],
        ["--max-overdue", "-1"],
    ],
)
def test_usage_errors_exit_2(cli, sqlite_url_fixture: str, args: list[str]) -> None:  # type: ignore[no-untyped-def]
    result = cli("check", "--db", sqlite_url_fixture, *args)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert result.stdout == ""


def test_unreachable_database_exits_2(cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("check", "--db", "postgresql+psycopg://x:pw@127.0.0.1:1/none", "--json")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "pw@" not in result.stderr


def test_installed_command_exit_code(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The exit code reaches a real shell (what CI sees), not only the in-process runner."""
    import subprocess
    import sys

    from butterfly.store.db import open_session, sqlite_url

    url = sqlite_url(tmp_path / "gate.db")
    with open_session(url) as s:
        ticket(s, "X1")
    run = subprocess.run(
        [sys.executable, "-m", "butterfly", "check", "--db", url, "--week", WEEK, "--json"],
        capture_output=True,
        text=True,
        check=False,
        env={**__import__("os").environ, "CI": "true"},
    )
    assert run.returncode == 1, run.stderr
    assert json.loads(run.stdout)["counts"]["unreviewed"] == 1
    assert "\x1b[" not in run.stdout + run.stderr  # no colour under CI
