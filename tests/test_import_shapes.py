"""Real API shapes, old and new (#17): each sample is written in the vendor's documented shape, auto-detected, and
the import summary's buckets add up to the records read."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

SHAPES = Path(__file__).resolve().parent / "fixtures" / "import" / "shapes"
BUCKETS = ("new", "updated", "unchanged", "duplicates", "skipped", "rejected")


def _tickets(db_url: str, source: str) -> dict[str, Any]:
    from sqlmodel import select

    from butterfly.store.db import open_session
    from butterfly.store.models import Ticket

    with open_session(db_url) as session:
        return {t.external_id: t for t in session.exec(select(Ticket).where(Ticket.source == source)).all()}


def _import(cli, db_url: str, *args: str) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    result = cli("import", *args, "--db", db_url, "--json")
    assert result.exit_code in (0, 1), result.output
    data: dict[str, Any] = json.loads(result.stdout)
    for f in data["files"]:
        assert sum(f[b] for b in BUCKETS) == f["records"], f  # every record in exactly one bucket
    return data


def test_2012_github_issues_with_an_empty_pull_request_stub_are_issues(cli, db_url: str) -> None:  # type: ignore[no-untyped-def]
    data = _import(cli, db_url, str(SHAPES / "github_2012_issues.json"))
    (f,) = data["files"]
    assert f["format"] == "github"
    assert (f["records"], f["new"], f["skipped"]) == (4, 3, 1)
    assert f["skipped_reasons"] == {"pull request": 1}  # only the one whose pull_request has URLs
    tickets = _tickets(db_url, "github")
    # issue 128 of two repositories: two tickets, neither overwrites the other
    assert tickets["kitchenware/ladle#128"].subject == "Ladle crashes on empty pot"
    assert tickets["seaside/msgpack-lite#128"].subject == "Decoder drops trailing zero"
    assert tickets["seaside/msgpack-lite#128"].project == "seaside/msgpack-lite"
    assert tickets["kitchenware/ladle#129"].status == "open"


def test_github_search_results_import_as_github(cli, db_url: str) -> None:  # type: ignore[no-untyped-def]
    data = _import(cli, db_url, str(SHAPES / "github_search.json"))
    (f,) = data["files"]
    assert (f["format"], f["new"], f["skipped"]) == ("github", 1, 1)
    assert list(_tickets(db_url, "github")) == ["harbor/crane#7"]


def test_a_single_freshdesk_ticket_imports_the_ticket_not_its_attachment(cli, db_url: str) -> None:  # type: ignore[no-untyped-def]
    data = _import(cli, db_url, str(SHAPES / "freshdesk_ticket.json"))
    (f,) = data["files"]
    assert (f["format"], f["records"], f["new"]) == ("freshdesk", 1, 1)
    (ticket,) = _tickets(db_url, "freshdesk").values()
    assert ticket.external_id == "1"
    assert ticket.subject == "Printer at front desk shows error E-204"
    assert ticket.status == "resolved"
    assert ticket.requester == "Lena Brandt"


def test_freshdesk_search_results_import_as_freshdesk(cli, db_url: str) -> None:  # type: ignore[no-untyped-def]
    data = _import(cli, db_url, str(SHAPES / "freshdesk_search.json"))
    (f,) = data["files"]
    assert (f["format"], f["new"]) == ("freshdesk", 2)
    assert _tickets(db_url, "freshdesk")["2"].status == "closed"


def test_a_single_zendesk_ticket_keeps_satisfaction_and_channel(cli, db_url: str) -> None:  # type: ignore[no-untyped-def]
    data = _import(cli, db_url, str(SHAPES / "zendesk_ticket.json"))
    (f,) = data["files"]
    assert (f["format"], f["new"]) == ("zendesk", 1)
    ticket = _tickets(db_url, "zendesk")["35436"]
    assert (ticket.satisfaction, ticket.channel, ticket.status) == ("good", "web", "resolved")


def test_zendesk_tickets_deleted_later_are_marked(cli, db_url: str) -> None:  # type: ignore[no-untyped-def]
    _import(cli, db_url, str(SHAPES / "zendesk_before_delete.json"))
    assert {t.status for t in _tickets(db_url, "zendesk").values()} == {"open"}
    data = _import(cli, db_url, str(SHAPES / "zendesk_after_delete.json"))
    (f,) = data["files"]
    # a ticket with status deleted, and the incremental export's deleted_tickets list
    assert f["skipped"] == 2 and f["marked_deleted"] == 2
    tickets = _tickets(db_url, "zendesk")
    assert (tickets["501"].status, tickets["502"].status, tickets["503"].status) == ("deleted", "open", "deleted")


def test_jira_project_and_resolution_are_fields(cli, db_url: str) -> None:  # type: ignore[no-untyped-def]
    _import(cli, db_url, str(SHAPES / "jira_project_resolution.json"))
    ticket = _tickets(db_url, "jira")["OPS-17"]
    assert (ticket.project, ticket.resolution) == ("OPS", "Done")


def test_tickets_show_names_the_helpdesk_fields(cli, db_url: str) -> None:  # type: ignore[no-untyped-def]
    _import(cli, db_url, str(SHAPES / "zendesk_ticket.json"))
    result = cli("tickets", "show", "zendesk:35436", "--db", db_url)
    assert result.exit_code == 0, result.output
    assert "satisfaction:" in result.stdout and "good" in result.stdout
    data = json.loads(cli("tickets", "show", "zendesk:35436", "--db", db_url, "--json").stdout)
    assert data["satisfaction"] == "good"


@pytest.mark.parametrize("name", sorted(p.name for p in SHAPES.glob("*.json")))
def test_each_shape_imports_again_unchanged(cli, db_url: str, name: str) -> None:  # type: ignore[no-untyped-def]
    first = _import(cli, db_url, str(SHAPES / name))
    again = _import(cli, db_url, str(SHAPES / name))
    assert again["files"][0]["new"] == 0 and again["files"][0]["updated"] == 0
    assert again["files"][0]["records"] == first["files"][0]["records"]


def test_github_tickets_stored_by_number_alone_are_rekeyed_not_duplicated(cli, db_url: str) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import text

    from butterfly.store.db import open_session

    _import(cli, db_url, str(SHAPES / "github_2012_issues.json"))
    with open_session(db_url) as session:  # as an earlier release stored it: keyed by the issue number alone
        row_id = session.execute(text("SELECT id FROM ticket WHERE external_id = 'kitchenware/ladle#129'")).scalar()
        session.execute(text("UPDATE ticket SET external_id = '129' WHERE id = :id"), {"id": row_id})
        session.commit()
    data = _import(cli, db_url, str(SHAPES / "github_2012_issues.json"))
    assert data["files"][0]["rekeyed"] == 1 and data["files"][0]["new"] == 0
    tickets = _tickets(db_url, "github")
    assert len(tickets) == 3 and tickets["kitchenware/ladle#129"].id == row_id
