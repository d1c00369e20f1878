"""Native helpdesk exports (Zendesk, Freshdesk, Jira, GitHub, ServiceNow) and generic JSON / JSON Lines."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from tests.conftest import real_data

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "import"
ROOT = Path(__file__).resolve().parent.parent


def _tickets(db_url: str, source: str) -> dict[str, object]:
    from sqlmodel import select

    from butterfly.store.db import open_session
    from butterfly.store.models import Ticket

    with open_session(db_url) as session:
        return {t.external_id: t for t in session.exec(select(Ticket).where(Ticket.source == source)).all()}


def _import(cli, db_url: str, *args: str) -> dict[str, object]:  # type: ignore[no-untyped-def]
    result = cli("import", *args, "--db", db_url, "--json")
    assert result.exit_code in (0, 1), result.output
    data: dict[str, object] = json.loads(result.stdout)
    data["exit_code"] = result.exit_code
    return data


def at(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


def test_zendesk_incremental_export(cli, db_url: str) -> None:  # type: ignore[no-untyped-def]
    data = _import(cli, db_url, str(FIXTURES / "zendesk_incremental.json"))
    assert data["exit_code"] == 0
    (info,) = data["files"]  # type: ignore[misc]
    assert info["format"] == "zendesk"
    assert (info["records"], info["new"], info["skipped"]) == (5, 3, 1)  # ticket 104 twice, 103 deleted
    tickets = _tickets(db_url, "zendesk")
    assert sorted(tickets) == ["101", "102", "104"]
    t = tickets["101"]
    assert (t.customer, t.organization, t.status) == ("华星物流", "华星物流", "closed")  # type: ignore[attr-defined]
    assert (t.assignee, t.group_name, t.channel, t.problem_id) == ("wang.li", "Billing", "email", "99")  # type: ignore[attr-defined]
    assert t.tags == ["invoice", "export"]  # type: ignore[attr-defined]
    assert t.first_response_at == at(2026, 9, 1, 2, 45)  # type: ignore[attr-defined]  # created + 35 min
    assert t.resolved_at == at(2026, 9, 1, 6, 40)  # type: ignore[attr-defined]  # metric_sets.solved_at
    assert t.closed_at == at(2026, 9, 4, 8, 0)  # type: ignore[attr-defined]
    assert t.raw["subject"] == "发票导出失败"  # type: ignore[attr-defined]
    assert tickets["102"].customer == "Sam Porter"  # type: ignore[attr-defined]  # no organization: the requester
    assert tickets["102"].status == "resolved"  # type: ignore[attr-defined]
    assert tickets["104"].status == "pending"  # type: ignore[attr-defined]  # the later record of 104 wins
    again = _import(cli, db_url, str(FIXTURES / "zendesk_incremental.json"))
    assert (again["new"], again["updated"], again["unchanged"]) == (0, 0, 3)


def test_example_zendesk_export_matches_the_example_csv(cli, db_url: str) -> None:  # type: ignore[no-untyped-def]
    _import(cli, db_url, str(ROOT / "examples" / "tickets.csv"))
    _import(cli, db_url, str(ROOT / "examples" / "zendesk_tickets.json"))
    by_csv = _tickets(db_url, "csv")
    by_zendesk = list(_tickets(db_url, "zendesk").values())
    assert len(by_zendesk) == 42
    for z in by_zendesk:
        c = by_csv[z.raw["external_id"]]  # type: ignore[attr-defined]
        assert (z.customer, z.status, z.created_at, z.first_response_at, z.resolved_at, z.closed_at) == (  # type: ignore[attr-defined]
            c.customer,
            c.status,
            c.created_at,
            c.first_response_at,
            c.resolved_at,
            c.closed_at,
        )


def test_freshdesk_tickets_with_stats(cli, db_url: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    rejects_file = tmp_path / "freshdesk.rejects.txt"  # not next to the fixture, inside the repository
    data = _import(cli, db_url, str(FIXTURES / "freshdesk_tickets.json"), "--rejects", str(rejects_file))
    assert data["exit_code"] == 1  # one ticket has a created_at that is not a date
    assert data["files"][0]["format"] == "freshdesk"  # type: ignore[index]
    tickets = _tickets(db_url, "freshdesk")
    assert [tickets[k].status for k in ("2001", "2002", "2003", "2004")] == [  # type: ignore[attr-defined]
        "closed",
        "open",
        "resolved",
        "pending",
    ]
    t = tickets["2001"]
    assert (t.customer, t.priority, t.channel) == ("青禾餐饮", "high", "email")  # type: ignore[attr-defined]
    assert t.first_response_at == at(2026, 9, 8, 8, 20)  # type: ignore[attr-defined]
    assert t.resolved_at == at(2026, 9, 9, 11, 0)  # type: ignore[attr-defined]
    assert t.closed_at == at(2026, 9, 10, 9, 0)  # type: ignore[attr-defined]
    assert tickets["2002"].description == 'The reset link says "expired".'  # type: ignore[attr-defined]  # HTML stripped
    assert tickets["2003"].customer == "43002002"  # type: ignore[attr-defined]  # company id without the company object
    assert data["rejects_file"] == str(rejects_file)
    rejects = rejects_file.read_text(encoding="utf-8")
    assert "# ticket 5: created_at: not a date: 'yesterday'" in rejects
    assert '"id": 2005' in rejects


def test_jira_search_with_adf_description(cli, db_url: str) -> None:  # type: ignore[no-untyped-def]
    data = _import(cli, db_url, str(FIXTURES / "jira_search.json"))
    assert (data["exit_code"], data["new"]) == (0, 3)
    tickets = _tickets(db_url, "jira")
    t = tickets["SUP-41"]
    assert t.description == (  # type: ignore[attr-defined]
        "Our ERP's calls to /orders/webhook fail with 500.\n"
        "- retries create duplicate orders\n"
        "- reported by @刘伟\n"
        "First line\nsecond line"
    )
    assert (t.customer, t.status, t.category, t.priority, t.assignee) == (  # type: ignore[attr-defined]
        "刘伟",
        "closed",
        "integration",
        "High",
        "Alex Kim",
    )
    assert t.tags == ["api", "webhook"]  # type: ignore[attr-defined]
    assert t.created_at == at(2026, 9, 1, 2, 0)  # type: ignore[attr-defined]  # +0800
    assert t.closed_at == at(2026, 9, 3, 10, 30)  # type: ignore[attr-defined]
    assert tickets["SUP-42"].description == "Plain text description from API v2."  # type: ignore[attr-defined]
    assert tickets["SUP-42"].status == "pending"  # type: ignore[attr-defined]
    assert tickets["SUP-43"].status == "open"  # type: ignore[attr-defined]


def test_github_issues_skip_pull_requests(cli, db_url: str) -> None:  # type: ignore[no-untyped-def]
    data = _import(cli, db_url, str(FIXTURES / "github_issues.json"))
    assert data["files"][0]["skipped"] == 1  # type: ignore[index]
    tickets = _tickets(db_url, "github")
    assert sorted(tickets) == ["1347", "1352"]
    t = tickets["1347"]
    assert (t.customer, t.subject, t.status, t.assignee) == ("octocat", "Found a bug", "closed", "hubot")  # type: ignore[attr-defined]
    assert t.tags == ["bug", "printing"]  # type: ignore[attr-defined]
    assert t.closed_at == at(2026, 8, 20, 10, 0)  # type: ignore[attr-defined]
    assert tickets["1352"].status == "open"  # type: ignore[attr-defined]


def test_servicenow_event_log_collapses_to_890_incidents(cli, db_url: str) -> None:  # type: ignore[no-untyped-def]
    path = real_data("incident_event_log.csv")
    data = _import(cli, db_url, str(path))
    assert data["exit_code"] == 0, data
    (info,) = data["files"]  # type: ignore[misc]
    assert (info["format"], info["records"], info["new"], info["rejected"]) == ("servicenow", 5998, 890, 0)
    tickets = _tickets(db_url, "servicenow")
    assert len(tickets) == 890
    assert all(t.customer and t.customer.startswith("Caller ") for t in tickets.values())  # type: ignore[attr-defined]
    assert all(t.closed_at is not None for t in tickets.values())  # type: ignore[attr-defined]
    t = tickets["INC0000045"]  # four events; its final state (sys_mod_count 4) is Closed
    assert (t.customer, t.status, t.category, t.priority, t.group_name) == (  # type: ignore[attr-defined]
        "Caller 2403",
        "closed",
        "Category 55",
        "3 - Moderate",
        "Group 56",
    )
    assert t.tags == ["Symptom 72"]  # type: ignore[attr-defined]
    assert t.created_at == at(2016, 2, 29, 1, 16)  # type: ignore[attr-defined]
    assert t.closed_at == at(2016, 3, 5, 12, 0)  # type: ignore[attr-defined]
    assert t.raw["sys_mod_count"] == "4"  # type: ignore[attr-defined]
    assert sum(1 for t in tickets.values() if t.problem_id) > 0  # type: ignore[attr-defined]
    again = _import(cli, db_url, str(path))
    assert (again["new"], again["updated"], again["unchanged"]) == (0, 0, 890)


def test_generic_json_and_json_lines(cli, db_url: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    records = [
        {"ticket_id": "J1", "requester": {"name": "Acme"}, "title": "Broken login", "state": "closed", "labels": ["a"]},
        {"ticket_id": "J2", "requester": {"name": "Summit"}, "title": "Slow", "state": "open", "labels": []},
    ]
    path = tmp_path / "export.json"
    path.write_text(json.dumps({"results": records}), encoding="utf-8")
    data = _import(cli, db_url, str(path))
    assert data["files"][0]["format"] == "json"  # type: ignore[index]
    tickets = _tickets(db_url, "json")
    assert (tickets["J1"].customer, tickets["J1"].status, tickets["J1"].tags) == ("Acme", "closed", ["a"])  # type: ignore[attr-defined]
    assert tickets["J1"].raw == records[0]  # type: ignore[attr-defined]

    lines = tmp_path / "export.jsonl"
    lines.write_text(
        '{"id": "L1", "customer": "Acme", "created": "2026-10-01T08:00:00+08:00"}\n'
        "{not json\n"
        '{"id": "L2", "customer": "Summit"}\n',
        encoding="utf-8",
    )
    data = _import(cli, db_url, str(lines), "--source", "helpdesk")
    assert (data["exit_code"], data["new"], data["rejected"]) == (1, 2, 1)
    tickets = _tickets(db_url, "helpdesk")
    assert tickets["L1"].created_at == at(2026, 10, 1, 0, 0)  # type: ignore[attr-defined]
    rejects = Path(str(data["rejects_file"])).read_text(encoding="utf-8")
    assert "# line 2: not valid JSON" in rejects and "{not json\n" in rejects


def test_native_formats_refuse_a_column_mapping(cli, db_url: str) -> None:  # type: ignore[no-untyped-def]
    result = cli("import", str(FIXTURES / "jira_search.json"), "--map", "id=key", "--db", db_url)
    assert result.exit_code == 2
    assert "--map applies to csv, json and jsonl" in result.stderr
