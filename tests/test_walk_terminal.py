"""The walk in a real terminal: the installed command under a pty (pexpect), Ctrl-C, restart, and kill -9."""

from __future__ import annotations

import io
import os
import signal
import sys

import pexpect
import pytest
from review_support import make_ticket

pytestmark = pytest.mark.slow

# (what to wait for, what to type) after the restart; prompts end with "> "
REST_OF_THE_WALK = [
    ("customer.short.need_escalation", "1"),  # stayed: its follow-up progress_updates is not asked
    ("customer.mid.compensation_made", "n"),  # no gesture: time, kind and order are not asked
    (r"action item \(compensation\)", "n"),
    ("proposed: N/A, the customer didn't cause it", ""),  # save_face: Enter accepts the proposal
    ("customer.long.story_signal", "2"),
    ("customer.long.publicity_planned", "n"),
    ("company.short.resources_authority", "1"),
    ("company.short.blameless_root_cause", "发布流程里没有模板检查"),
    ("proposed: One-off", ""),  # recurrence: no similar ticket at another customer
    ("company.mid.process_gap", "4"),  # not a process issue: no cost, patch or outreach follow-up
    ("company.long.offhand_wishes", "if only it checked templates itself"),
    (r"action item \(follow up\)", "n"),
    ("company.long.request_drop", "1"),
    (r"action item \(follow up\)", "n"),
    ("experience level 1-5", "5"),
    (r"Mark the review complete\? \[Y/n\]", "y"),
]


def _spawn(db_url: str, *args: str, command: tuple[str, ...] = ("review", "T-1")) -> pexpect.spawn:
    env = dict(os.environ)
    env.update({"TERM": "dumb", "NO_COLOR": "1", "COLUMNS": "200", "LINES": "60", "PYTHONUNBUFFERED": "1"})
    env.pop("CI", None)
    return pexpect.spawn(
        sys.executable,
        ["-m", "butterfly", "--db", db_url, *command, *args],
        env=env,
        encoding="utf-8",
        timeout=60,
        dimensions=(60, 200),
    )


def _answer(child: pexpect.spawn, waiting_for: str, typed: str) -> None:
    child.expect(waiting_for)
    child.expect("> ")
    child.sendline(typed)


def _db_state(db_url: str, ticket_id: int):  # type: ignore[no-untyped-def]
    from sqlmodel import func, select

    from butterfly.store.db import open_session
    from butterfly.store.models import Answer, AnswerChange, Review

    with open_session(db_url) as s:
        review = s.exec(select(Review).where(Review.ticket_id == ticket_id)).one()
        rows = s.exec(
            select(Answer.question_id, func.count()).where(Answer.review_id == review.id).group_by(Answer.question_id)
        ).all()
        changes = s.exec(
            select(AnswerChange).where(AnswerChange.review_id == review.id).order_by(AnswerChange.id)
        ).all()
        return review, dict(rows), list(changes)


def test_walk_go_back_ctrl_c_restart_and_finish(session, db_url) -> None:  # type: ignore[no-untyped-def]
    ticket = make_ticket(session, "T-1")
    child = _spawn(db_url)
    child.expect("ticket T-1")
    child.expect("first response")
    _answer(child, r"0/13 answered", "2")
    child.expect(r"saved \(1/13 answered\)")
    _answer(child, "customer.short.certainty", "1")
    child.expect(r"saved \(2/13 answered\)")
    _answer(child, "customer.short.need_escalation", "b")  # go back
    child.expect(r"current answer: 1 \(Partly\)")
    child.expect("> ")
    child.sendline("2")  # change it: the history keeps the 1
    child.expect(r"saved \(2/13 answered\)")
    child.expect("customer.short.need_escalation")
    child.expect("> ")
    child.sendintr()  # Ctrl-C mid-walk
    child.expect("stopped by user")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 130

    child = _spawn(db_url)
    child.expect(r"Resuming your review: 2/13 answered")
    child.expect("Continuing at customer.short.need_escalation")
    for waiting_for, typed in REST_OF_THE_WALK:
        _answer(child, waiting_for, typed)
    child.expect("complete, 13/13 answered")
    child.expect("Render the report: butterfly report ticket T-1 --db ")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0

    review, counts, changes = _db_state(db_url, ticket.id)
    assert review.status == "complete"
    assert review.experience_level == "ultimate"
    assert len(counts) == 13
    assert set(counts.values()) == {1}  # every answer exactly once
    certainty = [(c.old_value, c.new_value) for c in changes if c.question_id == "customer.short.certainty"]
    assert certainty == [(None, 1), (1, 2)]  # the history kept the first answer
    assert len(changes) == 14
    saved_face = [c.new_value for c in changes if c.question_id == "customer.mid.save_face"]
    assert saved_face == ["not_customer_caused"]  # the accepted proposal, stored once accepted


def test_kill_9_right_after_an_answer_keeps_it(session, db_url) -> None:  # type: ignore[no-untyped-def]
    ticket = make_ticket(session, "T-1")
    child = _spawn(db_url)
    _answer(child, r"0/13 answered", "2")
    child.expect(r"saved \(1/13 answered\)")
    child.expect("> ")
    child.send("1")  # being typed, not yet entered: this one may be lost
    os.kill(child.pid, signal.SIGKILL)
    child.expect(pexpect.EOF)
    child.close()
    assert child.signalstatus == signal.SIGKILL

    _, counts, _ = _db_state(db_url, ticket.id)
    assert counts == {"customer.short.fast_accurate": 1}
    child = _spawn(db_url)
    child.expect(r"Resuming your review: 1/13 answered")
    child.expect("Continuing at customer.short.certainty")
    child.expect("> ")
    child.sendline("q")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0


def test_one_line_ratings_jump_and_return_override_and_resume_in_zh_tw(session, db_url) -> None:  # type: ignore[no-untyped-def]
    ticket = make_ticket(session, "T-1")
    child = _spawn(db_url, "--lang", "zh-TW")
    _answer(child, r"已答 0/13", "2 1")  # fast_accurate and certainty in one line
    child.expect(r"已儲存（已答 2/13）")
    _answer(child, "customer.short.need_escalation", "j")
    _answer(child, r"\(company.long, 0/4\)", "5")  # company, mid term
    child.expect("建議：偶發")  # recurrence: proposed one-off ...
    child.expect("> ")
    child.sendline("2")  # ... overridden: recurring
    _answer(child, "company.mid.process_gap", "4")
    _answer(child, "company.mid.cost_of_fixing", "s")  # follow-ups of "recurring"
    _answer(child, "company.mid.process_patch", "s")
    _answer(child, "company.mid.proactive_outreach", "s")
    child.expect("回到第一個未回答的問題：customer.short.need_escalation")  # not company.long: back to the gaps
    child.expect("> ")
    child.sendline("q")
    child.expect("繼續：butterfly review T-1 --db ")
    child.expect(r"--lang zh-TW")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0

    child = _spawn(db_url)  # no --lang: the review remembers zh-TW
    child.expect("繼續你的覆盤：已答 4/16")
    _answer(child, "company.mid.cost_of_fixing", "q")
    child.expect(pexpect.EOF)
    child.close()
    review, counts, _ = _db_state(db_url, ticket.id)
    assert review.language == "zh-TW"
    assert set(counts) == {
        "customer.short.fast_accurate",
        "customer.short.certainty",
        "company.mid.recurrence",
        "company.mid.process_gap",
    }


def test_demo_run_again_resumes_the_open_draft(db_url) -> None:  # type: ignore[no-untyped-def]
    import re

    child = _spawn(db_url, "--reviewer", "ann", command=("demo",))
    child.expect(r"review (T-\d+)")
    ref = child.match.group(1)
    child.expect(r"ticket " + ref)
    _answer(child, "0/13 answered", "2")
    child.expect(r"saved \(1/13 answered\)")
    child.expect("> ")
    child.sendline("q")
    child.expect(pexpect.EOF)
    child.close()

    child = _spawn(db_url, "--reviewer", "ann", command=("demo",))
    child.expect(r"review (T-\d+)")
    assert child.match.group(1) == ref  # the open draft, not a new ticket
    child.expect(r"Resuming your review: 1/13 answered")
    child.expect("> ")
    child.sendline("q")
    child.expect(re.escape(f"Resume with: butterfly review {ref} --db "))
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0


def test_the_thread_key_pages_the_conversation_in_a_real_terminal(session, db_url) -> None:  # type: ignore[no-untyped-def]
    from datetime import timedelta

    from review_support import BASE

    from butterfly.store.models import Message

    ticket = make_ticket(session, "T-1")
    for i in range(10):
        session.add(
            Message(
                ticket_id=ticket.id,
                position=i + 1,
                at=BASE + timedelta(hours=i),
                role="customer" if i % 2 == 0 else "agent",
                text=f"message {i + 1}" if i else "Any update? \x1b]0;title\x07 the export still fails",
                thread_hash="h",
            )
        )
    session.commit()
    child = _spawn(db_url)
    seen = io.StringIO()
    child.logfile_read = seen  # everything the terminal received
    child.expect("conversation: 10 messages")
    _answer(child, r"0/13 answered", "t")  # the thread, at the first question
    child.expect(r"the thread \(10 messages, times in UTC\)")
    child.expect("#1 customer")
    child.expect("the export still fails")
    child.expect("message 8")
    child.expect(r"2 more · Enter next page · q back to the question > ")
    child.sendline("")  # the next page
    child.expect("message 10")
    child.expect(r"\(end of the thread\)")
    _answer(child, "customer.short.fast_accurate", "2")  # back at the same question
    child.expect(r"saved \(1/13 answered\)")
    _answer(child, "customer.short.certainty", "q")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert "the export still fails" in seen.getvalue() and "\x1b]0;" not in seen.getvalue()  # no escape got out
    _review, counts, _changes = _db_state(db_url, ticket.id)
    assert counts == {"customer.short.fast_accurate": 1}
