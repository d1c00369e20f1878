"""Action items: created from answers or by hand, listed (overdue = open and past due), marked done."""

from __future__ import annotations

import json
from datetime import date

import pytest
from review_support import make_ticket, start

from butterfly.errors import InvalidInputError, NotFoundError
from butterfly.review.actions import create_action, list_actions, mark_done


def test_create_list_and_done(session) -> None:  # type: ignore[no-untyped-def]
    ticket = make_ticket(session)
    review = start(session, ticket)
    late = create_action(
        session=session,
        kind="outreach",
        text="Call the other stores",
        owner="li",
        due_date="2026-01-01",
        review_id=review.id,
        question_id="company.mid.proactive_outreach",
        by="tester",
    )
    soon = create_action(
        session=session, kind="process_patch", text="Patch", due_date=date(2026, 3, 1), review_id=review.id
    )
    undated = create_action(session=session, kind="follow_up", text="Ask about the new use case", ticket_id=ticket.id)
    assert late.ticket_id == ticket.id  # taken from the review
    today = date(2026, 2, 1)
    rows = list_actions(session=session, today=today)
    assert [r.item.id for r in rows] == [late.id, soon.id, undated.id]
    assert [r.overdue for r in rows] == [True, False, False]
    assert [r.item.id for r in list_actions(session=session, overdue=True, today=today)] == [late.id]
    done = mark_done(session=session, action_id=late.id, by="li")
    assert (done.status, done.done_by) == ("done", "li")
    assert list_actions(session=session, overdue=True, today=today) == []
    assert mark_done(session=session, action_id=late.id, by="someone").done_by == "li"  # done twice: no-op


def test_same_action_from_the_same_answer_is_not_duplicated(session) -> None:  # type: ignore[no-untyped-def]
    review = start(session, make_ticket(session))
    a = create_action(session=session, kind="compensation", text="Send a gift", review_id=review.id, question_id="q")
    b = create_action(session=session, kind="compensation", text="Send a gift", review_id=review.id, question_id="q")
    assert a.id == b.id


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"kind": "party", "text": "x"}, "not an action kind"),
        ({"kind": "outreach", "text": "  "}, "needs a text"),
        ({"kind": "outreach", "text": "x", "due_date": "next week"}, "not a due date"),
    ],
)
def test_bad_action_input(session, kwargs: dict, message: str) -> None:  # type: ignore[no-untyped-def,type-arg]
    with pytest.raises(InvalidInputError, match=message):
        create_action(session=session, **kwargs)


def test_done_unknown_item(session) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(NotFoundError):
        mark_done(session=session, action_id=12345, by="x")


def test_cli_add_list_overdue_json_and_done(cli, session, db_url) -> None:  # type: ignore[no-untyped-def]
    make_ticket(session, "T-9")
    added = cli(
        "actions",
        "add",
        "T-9",
        "--kind",
        "outreach",
        "--text",
        "Offer the fix to ACME",
        "--due",
        "2020-01-01",
        "--owner",
        "li",
        "--db",
        db_url,
    )
    assert added.exit_code == 0, added.output
    item_id = added.stdout.strip()
    listed = cli("actions", "list", "--overdue", "--json", "--db", db_url)
    assert listed.exit_code == 0
    [row] = json.loads(listed.stdout)
    assert (str(row["id"]), row["ticket"], row["overdue"], row["owner"]) == (item_id, "T-9", True, "li")
    human = cli("actions", "list", "--db", db_url)
    assert "Offer the fix to ACME" in human.stdout and "overdue" in human.stdout
    assert cli("actions", "done", item_id, "--db", db_url).exit_code == 0
    assert json.loads(cli("actions", "list", "--overdue", "--json", "--db", db_url).stdout) == []
    missing = cli("actions", "done", "999", "--db", db_url)
    assert missing.exit_code == 2
    assert "no action item 999" in missing.stderr
    bad = cli("actions", "add", "T-9", "--kind", "nonsense", "--text", "x", "--db", db_url)
    assert bad.exit_code == 2
    assert "process_patch, outreach, compensation, follow_up" in bad.stderr
