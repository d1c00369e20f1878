"""The state timeline an event log brought (ServiceNow) where the reviewer and the reader need it (#18): two lines in
the walk's context panel and a compact section in the ticket report (md, html, json; three languages; assignee names
masked with --redact)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.test_import_timeline import LOG

NAMES = ("Resolver 89", "Resolver 12")


@pytest.fixture
def servicenow(tmp_path: Path, db_url: str, cli: Any) -> str:
    log = tmp_path / "incident_event_log.csv"
    log.write_text(LOG + "\n", encoding="utf-8")
    assert cli("import", str(log), "--day-first", "--db", db_url).exit_code == 0
    tickets = tmp_path / "t.csv"
    tickets.write_text("id,subject,status,assignee\nT-1,Printer,closed,li.na\n", encoding="utf-8")
    assert cli("import", str(tickets), "--db", db_url).exit_code == 0
    return db_url


@pytest.mark.parametrize(
    ("lang", "summary", "move"),
    [
        ("en", "state timeline: 6 steps, 1 reassignment", "to Group 70"),
        ("zh-CN", "状态时间线： 6 步，转派 1 次", "转给 Group 70"),
        ("zh-TW", "狀態時間軸： 6 步，轉派 1 次", "轉給 Group 70"),
    ],
)
def test_the_walk_context_shows_the_state_timeline(
    servicenow: str, cli: Any, lang: str, summary: str, move: str
) -> None:
    result = cli("review", "INC0000045", "--interactive", "--lang", lang, "--db", servicenow, input="q\n")
    assert result.exit_code == 0, result.output
    assert summary in result.output
    assert "New → Active → Awaiting User Info → Resolved → Closed" in result.output
    assert move in result.output
    other = cli("review", "T-1", "--interactive", "--lang", lang, "--db", servicenow, input="q\n")
    assert other.exit_code == 0, other.output
    assert summary.split("：")[0].split(":")[0] not in other.output  # no event log: no state line at all


@pytest.mark.parametrize(
    ("lang", "heading", "count"),
    [
        ("en", "State timeline", "1 reassignment"),
        ("zh-CN", "状态时间线", "转派 1 次"),
        ("zh-TW", "狀態時間軸", "轉派 1 次"),
    ],
)
def test_the_ticket_report_has_a_state_timeline_section(
    servicenow: str, cli: Any, lang: str, heading: str, count: str
) -> None:
    for fmt in ("md", "html"):
        out = cli("report", "ticket", "INC0000045", "--format", fmt, "--lang", lang, "--db", servicenow)
        assert out.exit_code == 0, out.output
        assert heading in out.output and count in out.output
        assert "Awaiting User Info" in out.output and "Resolver 89" in out.output
    data = json.loads(
        cli("report", "ticket", "INC0000045", "--format", "json", "--lang", lang, "--db", servicenow).output
    )
    states = data["states"]
    assert states["steps"] == 6 and states["reassignments"] == 1
    assert states["path"] == ["New", "Active", "Awaiting User Info", "Resolved", "Closed"]
    assert [c["reassigned"] for c in states["changes"]] == [False, False, True, False, False, False]
    plain = cli("report", "ticket", "T-1", "--format", "md", "--lang", lang, "--db", servicenow)
    assert plain.exit_code == 0 and heading not in plain.output
    assert json.loads(cli("report", "ticket", "T-1", "--format", "json", "--db", servicenow).output)["states"] is None


def test_redact_masks_the_assignees_of_the_state_timeline(servicenow: str, cli: Any) -> None:
    for fmt in ("md", "html", "json"):
        out = cli("report", "ticket", "INC0000045", "--format", fmt, "--redact", "--db", servicenow)
        assert out.exit_code == 0, out.output
        for name in NAMES:
            assert name not in out.output, (fmt, name)
    data = json.loads(cli("report", "ticket", "INC0000045", "--format", "json", "--redact", "--db", servicenow).output)
    assert [c["assignee"] for c in data["states"]["changes"]] == [
        None,
        "[agent 1]",
        None,
        "[agent 2]",
        "[agent 2]",
        "[agent 2]",
    ]
    assert data["ticket"]["assignee"] == "[agent 2]"  # the same person as in the timeline
    assert data["states"]["redacted"] is True
    other = json.loads(cli("report", "ticket", "T-1", "--format", "json", "--redact", "--db", servicenow).output)
    assert other["ticket"]["assignee"] == "[agent]"
