"""The walk and the ticket's conversation (#18): the context panel's three facts, the ``t`` key (the whole thread,
paged, terminal-safe), the facts as proposals the reviewer accepts with Enter or overrides, the facts stored with
the review, and a ticket without a thread shown as speed."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from review_support import BASE, make_ticket
from sqlmodel import select

from butterfly.review.answers import answers_for
from butterfly.review.lifecycle import get_review
from butterfly.store.models import Message, ReviewConversation


def _thread(session: Any, ticket: Any, messages: list[tuple[str, float, str]]) -> None:
    for position, (role, hours, text) in enumerate(messages, start=1):
        session.add(
            Message(
                ticket_id=ticket.id,
                position=position,
                at=BASE + timedelta(hours=hours),
                role=role,
                author={"customer": "Ana", "agent": "wang.li"}.get(role),
                public=role != "internal",
                text=text,
                thread_hash="h1",
            )
        )
    session.commit()


CHASED = [
    ("customer", 0, "Invoice export fails: template not found"),
    ("agent", 1, "Sorry, we are looking into it."),
    ("customer", 3, "Any update? We file taxes today."),
    ("customer", 5, "Still nothing. This is costing us a penalty."),
    ("internal", 5.5, "L2: template lost in the release"),
    ("agent", 6, "The template will be restored by 5 pm today."),
]


def _walk(cli: Any, db_url: str, lines: list[str], *extra: str) -> Any:
    return cli("review", "T-1", "--interactive", "--db", db_url, *extra, input="\n".join(lines) + "\n")


def test_the_panel_shows_the_three_facts_and_the_proposals_name_their_messages(cli, session, db_url) -> None:  # type: ignore[no-untyped-def]
    ticket = make_ticket(session, "T-1")
    _thread(session, ticket, CHASED)
    lines = [
        "2",  # fast_accurate
        "",  # certainty: accept the proposal (1: the plan came after a chase)
        "",  # need_escalation: accept "climbed" (#4 asked about cost)
        "2",  # progress_updates: override the proposal (0: chased twice)
        "q",
    ]
    result = _walk(cli, db_url, lines)
    assert result.exit_code == 0, result.output
    out = " ".join(result.stdout.split())  # the terminal wraps long lines: compare the words
    assert "conversation: 6 messages · t shows the thread" in out
    assert "customer chased: 2 times (#3 2026-10-01 12:00, #4 2026-10-01 14:00)" in out
    assert "longest silence: 3h 00m (#3 → #6)" in out
    assert "first definite plan: #6 2026-10-01 15:00: “by 5 pm”" in out
    assert (
        "proposed: 1 (Partly) (from the definite plan and time came only at #6 (2026-10-01 15:00): “by 5 pm”, "
        "after the customer chased (#3, #4))." in out
    )
    assert "proposed: Yes, they started asking about the impact" in out
    assert "at #4 the customer asked about cost, impact or compensation" in out
    assert "proposed: 0 (Not done) (from chases by the customer: 2 (#3, #4); longest silence 3h 00m (from #3))." in out
    review = get_review(session=session, ticket_id=ticket.id, reviewer="tester")
    answers = answers_for(session=session, review_id=review.id)
    assert answers["customer.short.certainty"].value == 1  # accepted
    assert answers["customer.short.need_escalation"].value == "climbed"  # accepted
    assert answers["customer.short.progress_updates"].value == 2  # the override, not the proposal
    stored = session.exec(select(ReviewConversation).where(ReviewConversation.review_id == review.id)).one()
    assert [c["position"] for c in stored.data["facts"]["chases"]] == [3, 4]  # what the reviewer saw, kept


def test_the_thread_key_pages_the_whole_thread_terminal_safe(cli, session, db_url) -> None:  # type: ignore[no-untyped-def]
    ticket = make_ticket(session, "T-1")
    many = [("customer" if i % 2 == 0 else "agent", i, f"message number {i + 1}") for i in range(11)]
    many[2] = ("customer", 2, "evil \x1b[31mred\x1b[0m [bold]markup[/bold] \u202eoverride")
    many[4] = ("internal", 4, "internal: not for the customer")
    _thread(session, ticket, many)
    result = _walk(cli, db_url, ["t", "", "t", "q", "q"])
    assert result.exit_code == 0, result.output
    out = " ".join(result.stdout.split())  # the terminal wraps long lines: compare the words
    assert "the thread (11 messages, times in UTC)" in out
    assert "#1 customer Ana · 2026-10-01 09:00" in out and "message number 1" in out
    assert "#5 internal" in out and "internal: not for the customer" in out
    assert "3 more · Enter next page · q back to the question >" in out
    assert "message number 11" in out and "(end of the thread)" in out  # Enter: the second page
    assert out.count("3 more · Enter next page") == 2  # the second time, q went back after the first page
    assert "\x1b[31m" not in out and "\u202e" not in out  # no terminal escapes, no bidi override
    assert "[bold]markup[/bold]" in out  # ticket text printed as text, never as markup


def test_without_a_thread_the_walk_says_so_and_shows_speed_as_speed(cli, session, db_url) -> None:  # type: ignore[no-untyped-def]
    ticket = make_ticket(session, "T-1")
    result = _walk(cli, db_url, ["2", "t", "q"])
    out = " ".join(result.stdout.split())  # the terminal wraps long lines: compare the words
    assert "no thread imported: the certainty question can only show speed, and speed is not certainty" in out
    assert "created → first response 2h 00m" in out  # the certainty line shows speed, labelled as speed
    assert "This ticket has no imported thread." in out
    assert "proposed: 0" not in out  # no fact, no proposal for the certainty questions
    review = get_review(session=session, ticket_id=ticket.id, reviewer="tester")
    assert session.exec(select(ReviewConversation).where(ReviewConversation.review_id == review.id)).first() is None


def test_the_panel_and_the_thread_in_chinese(cli, session, db_url) -> None:  # type: ignore[no-untyped-def]
    ticket = make_ticket(session, "T-1")
    _thread(
        session,
        ticket,
        [
            ("customer", 0, "发票导出失败"),
            ("agent", 1, "您好，明天上午十点前恢复模板。"),
            ("customer", 2, "好的，谢谢"),
        ],
    )
    result = _walk(cli, db_url, ["2", "t", "", "q"], "--lang", "zh-TW")
    out = " ".join(result.stdout.split())  # the terminal wraps long lines: compare the words
    assert "對話： 3 則訊息 · 按 t 查看對話" in out
    assert "客戶催促： 0 次" in out
    assert "首個明確計畫： #2 2026-10-01 10:00：「明天」" in out
    assert "#2 客服 wang.li · 2026-10-01 10:00" in out and "（對話結束）" in out
    assert "#2（2026-10-01 10:00）在客戶催促之前給出了明確的計畫和時間：「明天」" in out  # the certainty proposal
    review = get_review(session=session, ticket_id=ticket.id, reviewer="tester")
    assert answers_for(session=session, review_id=review.id)["customer.short.certainty"].value == 2  # Enter took it
