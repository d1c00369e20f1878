"""ServiceNow's event log becomes each incident's state timeline (state, assignment group, assignee, reassignment, at
what time), stored per ticket (migration 0010) and shown by `butterfly tickets show ID --timeline`."""

from __future__ import annotations

import json
from itertools import islice
from pathlib import Path
from typing import Any

from sqlmodel import col, select

from butterfly.store.db import open_session
from butterfly.store.models import Ticket, TicketEvent
from tests.conftest import real_data

HEADER = (
    "number,incident_state,active,reassignment_count,reopen_count,sys_mod_count,made_sla,caller_id,opened_by,"
    "opened_at,sys_created_by,sys_created_at,sys_updated_by,sys_updated_at,contact_type,location,category,"
    "subcategory,u_symptom,cmdb_ci,impact,urgency,priority,assignment_group,assigned_to,knowledge,"
    "u_priority_confirmation,notify,problem_id,rfc,vendor,caused_by,closed_code,resolved_by,resolved_at,closed_at"
)


def _row(number: str, state: str, mod: int, updated: str, group: str, assignee: str, reassignments: int) -> str:
    return (
        f"{number},{state},TRUE,{reassignments},0,{mod},TRUE,Caller 2403,Opened by  8,29-02-2016 01:16,Created by 6,"
        f"29-02-2016 01:23,Updated by 21,{updated},Phone,Location 143,Category 55,Subcategory 170,Symptom 72,?,"
        f"2 - Medium,2 - Medium,3 - Moderate,{group},{assignee},TRUE,FALSE,Do Not Notify,?,?,?,?,code 5,"
        "Resolved by 149,29-02-2016 11:29,05-03-2016 12:00"
    )


LOG = "\n".join(
    [
        HEADER,
        _row("INC0000045", "New", 0, "29-02-2016 01:23", "Group 56", "?", 0),
        _row("INC0000047", "Active", 1, "29-02-2016 05:00", "Group 24", "Resolver 31", 0),
        _row("INC0000045", "Active", 1, "29-02-2016 02:10", "Group 56", "Resolver 89", 0),
        _row("INC0000045", "Active", 2, "29-02-2016 02:40", "Group 56", "Resolver 89", 0),  # nothing changed
        _row("INC0000045", "Awaiting User Info", 4, "29-02-2016 06:00", "Group 70", "Resolver 12", 1),
        _row("INC0000045", "Active", 3, "29-02-2016 04:00", "Group 70", "?", 1),  # out of order in the file
        _row("INC0000045", "Resolved", 5, "29-02-2016 08:53", "Group 70", "Resolver 12", 1),
        _row("INC0000045", "Closed", 6, "05-03-2016 12:00", "Group 70", "Resolver 12", 1),
    ]
)


def _steps(db_url: str, number: str) -> list[tuple[int, str, str | None, str | None, str | None, bool]]:
    with open_session(db_url) as session:
        ticket = session.exec(select(Ticket).where(Ticket.external_id == number)).one()
        rows = session.exec(
            select(TicketEvent).where(TicketEvent.ticket_id == ticket.id).order_by(col(TicketEvent.position))
        ).all()
        return [
            (
                e.position,
                e.at.strftime("%Y-%m-%d %H:%M") if e.at else "",
                e.state,
                e.group_name,
                e.assignee,
                e.reassigned,
            )
            for e in rows
        ]


def test_the_event_log_becomes_a_state_timeline(tmp_path: Path, db_url: str, cli: Any) -> None:
    log = tmp_path / "incident_event_log.csv"
    log.write_text(LOG + "\n", encoding="utf-8")
    result = cli("import", str(log), "--day-first", "--json", "--db", db_url)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)["files"][0]
    assert data["timelines"] == 2 and data["records"] == 8
    assert _steps(db_url, "INC0000045") == [
        (1, "2016-02-29 01:23", "New", "Group 56", None, False),
        (2, "2016-02-29 02:10", "Active", "Group 56", "Resolver 89", False),  # first assignee: not a reassignment
        (3, "2016-02-29 04:00", "Active", "Group 70", None, True),  # to another group
        (4, "2016-02-29 06:00", "Awaiting User Info", "Group 70", "Resolver 12", False),
        (5, "2016-02-29 08:53", "Resolved", "Group 70", "Resolver 12", False),
        (6, "2016-03-05 12:00", "Closed", "Group 70", "Resolver 12", False),
    ]
    assert len(_steps(db_url, "INC0000047")) == 1

    again = json.loads(cli("import", str(log), "--day-first", "--json", "--db", db_url).stdout)["files"][0]
    assert again["timelines"] == 0 and again["unchanged"] == 2
    assert len(_steps(db_url, "INC0000045")) == 6

    shown = cli("tickets", "show", "INC0000045", "--timeline", "--db", db_url)
    assert shown.exit_code == 0, shown.output
    assert "state timeline (UTC)" in shown.output and "Awaiting User Info" in shown.output
    assert "reassigned" in shown.output
    assert "state timeline" not in cli("tickets", "show", "INC0000045", "--db", db_url).output
    payload = json.loads(cli("tickets", "show", "INC0000045", "--timeline", "--json", "--db", db_url).stdout)
    assert [s["state"] for s in payload["state_timeline"]][:2] == ["New", "Active"]
    assert payload["state_timeline"][2]["reassigned"] is True


def test_a_ticket_without_a_timeline_says_so(tmp_path: Path, db_url: str, cli: Any) -> None:
    tickets = tmp_path / "t.csv"
    tickets.write_text("id,subject,status\nT-1,Printer,closed\n", encoding="utf-8")
    cli("import", str(tickets), "--db", db_url)
    shown = cli("tickets", "show", "T-1", "--timeline", "--db", db_url)
    assert "state timeline: none imported" in shown.output


def test_the_real_event_log_gives_timelines(tmp_path: Path, sqlite_url_fixture: str, cli: Any) -> None:
    source = real_data("incident_event_log.csv")
    part = tmp_path / "log.csv"
    with source.open(encoding="utf-8") as handle:
        part.write_text("".join(islice(handle, 3001)), encoding="utf-8")
    result = cli("import", str(part), "--day-first", "--json", "--db", sqlite_url_fixture)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)["files"][0]
    assert data["records"] == 3000
    incidents = data["new"]
    assert data["timelines"] == incidents > 0  # every incident has at least its first state
    with open_session(sqlite_url_fixture) as session:
        steps = session.exec(select(TicketEvent)).all()
    assert len(steps) >= incidents and any(s.reassigned for s in steps)
    assert all(s.state for s in steps)
