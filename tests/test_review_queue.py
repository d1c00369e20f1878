"""Which ticket to review next: the reviewer's open draft first, then the tickets with the most to learn from."""

from __future__ import annotations

import json
import re
from datetime import timedelta

from review_support import BASE, make_ticket

from butterfly.review.queue import ticket_signals


def _tickets(session) -> None:  # type: ignore[no-untyped-def]
    make_ticket(session, "T-plain", closed_at=BASE + timedelta(days=1))
    make_ticket(
        session,
        "T-reopened",
        closed_at=BASE + timedelta(days=2),
        raw={"reopen_count": "2", "made_sla": "FALSE", "reassignment_count": "0"},
    )
    make_ticket(session, "T-passed-around", closed_at=BASE + timedelta(days=3), raw={"reassignment_count": "3"})
    make_ticket(
        session,
        "T-silent",
        closed_at=BASE + timedelta(days=4),
        first_response_at=BASE + timedelta(hours=30),  # 30 h before anyone answered
        resolved_at=BASE + timedelta(days=2),
    )


def test_signals_come_from_the_raw_fields_through_one_accessor(session) -> None:  # type: ignore[no-untyped-def]
    t = make_ticket(session, "T-1", raw={"reopen_count": "1", "reassignment_count": "?", "made_sla": "TRUE"})
    s = ticket_signals(t)
    assert (s.reopen_count, s.reassignment_count, s.made_sla) == (1, None, True)
    assert ticket_signals(make_ticket(session, "T-2")).made_sla is None


def test_worth_reviewing_lists_the_queue_with_reasons(cli, session, db_url) -> None:  # type: ignore[no-untyped-def]
    _tickets(session)
    result = cli("tickets", "list", "--worth-reviewing", "--db", db_url, "--json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [(r["external_id"], r["score"], r["reasons"]) for r in rows] == [
        ("T-reopened", 6, ["reopened", "sla_missed"]),
        ("T-silent", 2, ["long_silence"]),
        ("T-passed-around", 2, ["reassigned"]),
    ]  # T-plain shows no sign; equal scores: the most recently closed first
    assert rows[1]["why"] == "1d 6h of silence"
    human = cli("tickets", "list", "--worth-reviewing", "--db", db_url, "--lang", "zh-CN")
    assert "重新打开过 2 次；未达成 SLA" in human.stdout
    assert "中间沉默了 1天6小时" in human.stdout


def test_next_opens_your_draft_first_then_the_ticket_most_worth_reviewing(cli, session, db_url) -> None:  # type: ignore[no-untyped-def]
    _tickets(session)
    first = cli("review", "--next", "--interactive", "--db", db_url, input="2\nq\n")
    assert first.exit_code == 0, first.output
    assert "next ticket for tester: T-reopened (reopened 2×; SLA missed)" in first.stderr
    again = cli("review", "--next", "--interactive", "--db", db_url, input="q\n")
    assert "next ticket for tester: T-reopened (your open draft)" in again.stderr
    other = cli("review", "--next", "--reviewer", "li", "--interactive", "--db", db_url, input="q\n")
    assert "next ticket for li: T-reopened (reopened 2×; SLA missed)" in other.stderr  # a draft is per reviewer


def test_next_without_any_sign_takes_the_oldest_closed_ticket(cli, session, db_url) -> None:  # type: ignore[no-untyped-def]
    make_ticket(session, "T-new", closed_at=BASE + timedelta(days=9))
    make_ticket(session, "T-old", closed_at=BASE + timedelta(days=3))
    result = cli("review", "--next", "--interactive", "--db", db_url, input="q\n")
    assert re.search(r"next ticket for tester: T-old \(the oldest closed ticket not reviewed yet\)", result.stderr)


def test_demo_run_again_opens_the_draft(cli, db_url) -> None:  # type: ignore[no-untyped-def]
    from butterfly.review.lifecycle import get_review
    from butterfly.review.queue import next_pick
    from butterfly.store.db import open_session

    assert cli("--db", db_url, "demo", "--reviewer", "ann").exit_code == 0
    with open_session(db_url) as s:
        pick = next_pick(session=s, reviewer="ann")
        assert not pick.draft
        first = pick.ticket.external_id
    walked = cli("--db", db_url, "review", first, "--reviewer", "ann", "--interactive", input="2\nq\n")
    assert walked.exit_code == 0, walked.output
    again = cli("--db", db_url, "demo", "--reviewer", "ann")
    assert f"review {first}" in again.stderr  # the demo offers the open draft, not a new ticket
    with open_session(db_url) as s:
        assert get_review(session=s, ticket_id=pick.ticket.id, reviewer="ann") is not None


def test_the_queue_reads_the_named_ticket_columns_before_raw_fields() -> None:
    """#17 keeps reopen_count, reassignment_count and made_sla as ticket columns; the queue uses them, and falls
    back to the raw export fields for tickets imported before the columns existed."""
    from butterfly.review.queue import ticket_signals
    from butterfly.store.models import Ticket

    named = Ticket(
        source="servicenow", external_id="INC1", reopen_count=2, reassignment_count=3, made_sla=False, raw={}
    )
    old = Ticket(
        source="servicenow",
        external_id="INC2",
        raw={"reopen_count": "1", "reassignment_count": "0", "made_sla": "true"},
    )
    assert (ticket_signals(named).reopen_count, ticket_signals(named).reassignment_count) == (2, 3)
    assert ticket_signals(named).made_sla is False
    assert (ticket_signals(old).reopen_count, ticket_signals(old).made_sla) == (1, True)
