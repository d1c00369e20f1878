"""The walk in a real terminal: the installed command under a pty (pexpect), Ctrl-C, restart, and kill -9."""

from __future__ import annotations

import os
import signal
import sys

import pexpect
import pytest
from review_support import make_ticket

pytestmark = pytest.mark.slow

# (what to wait for, what to type) after the restart; prompts end with "> "
REST_OF_THE_WALK = [
    ("customer.short.need_escalation", "1"),
    ("customer.short.friend_mindset", "2"),
    ("customer.mid.trouble_mindset", "2"),
    ("customer.mid.compensation_made", "n"),
    (r"action item \(compensation\)", "n"),
    ("customer.mid.compensation_kind", "6"),
    ("customer.mid.sequence", "na"),
    ("customer.mid.save_face", "4"),
    ("customer.long.story", "1"),
    ("customer.long.extra_value", "1"),
    ("customer.long.publicity_planned", "n"),
    ("company.short.resources_authority", "1"),
    ("company.short.another_person", "一线没有查看配置的权限"),
    ("company.short.blameless_root_cause", "发布流程里没有模板检查"),
    ("company.short.red_lines", "1"),
    ("company.short.decision_backing", "2"),
    ("company.mid.recurrence", "1"),
    ("company.mid.process_gap", "4"),
    ("company.mid.cost_of_fixing", "half a day"),
    ("company.mid.process_patch", "none needed"),
    (r"action item \(process patch\)", "n"),
    ("company.mid.process_improved", "2"),
    ("company.mid.proactive_outreach", "none"),
    (r"action item \(outreach\)", "n"),
    ("company.long.needs_changed", "1"),
    ("company.long.offhand_wishes", "if only it checked templates itself"),
    (r"action item \(follow up\)", "n"),
    ("company.long.request_drop", "1"),
    (r"action item \(follow up\)", "n"),
    ("company.long.capability_plan", "template self-check"),
    ("experience level 1-5", "5"),
    (r"Mark the review complete\? \[Y/n\]", "y"),
]


def _spawn(db_url: str, *args: str) -> pexpect.spawn:
    env = dict(os.environ)
    env.update({"TERM": "dumb", "NO_COLOR": "1", "COLUMNS": "200", "LINES": "60", "PYTHONUNBUFFERED": "1"})
    env.pop("CI", None)
    return pexpect.spawn(
        sys.executable,
        ["-m", "butterfly", "review", "T-1", "--db", db_url, *args],
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
    _answer(child, r"0/32 answered", "2")
    child.expect(r"saved \(1/32 answered\)")
    _answer(child, "customer.short.certainty", "1")
    child.expect(r"saved \(2/32 answered\)")
    _answer(child, "customer.short.progress_updates", "b")  # go back
    child.expect(r"current answer: 1 \(Partly\)")
    child.expect("> ")
    child.sendline("2")  # change it: the history keeps the 1
    child.expect(r"saved \(2/32 answered\)")
    _answer(child, "customer.short.progress_updates", "0")
    child.expect(r"saved \(3/32 answered\)")
    child.expect("customer.short.need_escalation")
    child.expect("> ")
    child.sendintr()  # Ctrl-C mid-walk
    child.expect("stopped by user")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 130

    child = _spawn(db_url)
    child.expect(r"Resuming your review: 3/32 answered")
    child.expect("Continuing at customer.short.need_escalation")
    for waiting_for, typed in REST_OF_THE_WALK:
        _answer(child, waiting_for, typed)
    child.expect("complete, 28/32 answered")
    child.expect("Render the report: butterfly report ticket T-1")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0

    review, counts, changes = _db_state(db_url, ticket.id)
    assert review.status == "complete"
    assert review.experience_level == "ultimate"
    assert len(counts) == 28
    assert set(counts.values()) == {1}  # every answer exactly once
    certainty = [(c.old_value, c.new_value) for c in changes if c.question_id == "customer.short.certainty"]
    assert certainty == [(None, 1), (1, 2)]  # the history kept the first answer
    assert len(changes) == 29


def test_kill_9_right_after_an_answer_keeps_it(session, db_url) -> None:  # type: ignore[no-untyped-def]
    ticket = make_ticket(session, "T-1")
    child = _spawn(db_url)
    _answer(child, r"0/32 answered", "2")
    child.expect(r"saved \(1/32 answered\)")
    child.expect("> ")
    child.send("1")  # being typed, not yet entered: this one may be lost
    os.kill(child.pid, signal.SIGKILL)
    child.expect(pexpect.EOF)
    child.close()
    assert child.signalstatus == signal.SIGKILL

    _, counts, _ = _db_state(db_url, ticket.id)
    assert counts == {"customer.short.fast_accurate": 1}
    child = _spawn(db_url)
    child.expect(r"Resuming your review: 1/32 answered")
    child.expect("Continuing at customer.short.certainty")
    child.expect("> ")
    child.sendline("q")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
