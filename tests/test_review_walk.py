"""The guided walk driven through CliRunner (``--interactive`` reads the answers line by line from input)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from review_support import make_ticket

from butterfly.review.answers import answers_for

FULL_WALK = [
    "?",  # customer.short.fast_accurate: help first
    "2",
    "1",  # customer.short.certainty
    "b",  # progress_updates: go back to certainty
    "",  # keep certainty
    "na",  # progress_updates: N/A
    "2",  # need_escalation: climbed
    "2",  # friend_mindset
    "2",  # customer.mid.trouble_mindset
    "y",  # compensation_made
    "n",  # ... no compensation action item
    "2026-10-01 10:00",  # compensation_at: before the resolution (2026-10-02 05:00)
    "1,3",  # compensation_kind
    "0",  # sequence
    "4",  # save_face: not customer caused
    "1",  # customer.long.story
    "1",  # extra_value
    "y",  # publicity_planned
    "n",  # consent_given: no -> time and scope skipped
    "1",  # company.short.resources_authority
    "都怪小李",  # another_person: blame
    "r",  # reword it
    "一线没有查看模板配置的权限",
    "no read access to the template config\\",  # blameless_root_cause, two lines
    "and no fast lane on tax day",
    "1",  # red_lines
    "2",  # decision_backing
    "recurring",  # company.mid.recurrence
    "1",  # process_gap
    "half a day of work",  # cost_of_fixing
    "Add a template check to the release list",  # process_patch
    "y",  # create the process_patch action item
    "",  # ... with the answer as its text
    "li",  # owner
    "2026-12-01",  # due
    "2",  # process_improved
    "Check the other customers on the template",  # proactive_outreach
    "n",  # no outreach action item
    "1",  # company.long.needs_changed
    "s",  # offhand_wishes: skip
    "1",  # request_drop
    "n",  # no follow-up action item
    "e",  # capability_plan: in the editor
    "4",  # experience level: baseline
    "y",  # mark complete
]

EDITOR_SCRIPT = """\
import sys
path = sys.argv[1]
text = open(path, encoding="utf-8").read()
open(path, "w", encoding="utf-8").write("Self-check before tax day\\nsecond line\\n" + text)
"""


def _walk(cli, db_url: str, ticket: str, lines: list[str], *extra: str, env: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    return cli("review", ticket, "--interactive", "--db", db_url, *extra, input="\n".join(lines) + "\n", env=env)


def test_full_walk_saves_everything_with_guards_actions_and_summary(cli, session, db_url, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ticket = make_ticket(session, "T-1", subject="发票导出失败", customer="华星物流")
    make_ticket(session, "T-2", subject="发票导出报错", customer="Acme")  # same problem, other customer
    make_ticket(
        session, "T-0", subject="账单", customer="华星物流", created_at=ticket.created_at.replace(day=1, month=8)
    )
    editor = tmp_path / "editor.py"
    editor.write_text(EDITOR_SCRIPT, encoding="utf-8")
    result = _walk(cli, db_url, "T-1", FULL_WALK, env={"EDITOR": f"{sys.executable} {editor}"})
    assert result.exit_code == 0, result.output
    out = result.stdout
    # context panel
    for expected in ("发票导出失败", "华星物流", "billing", "wang.li", "first response", "2h 00m", "20h 00m"):
        assert expected in out
    assert "customer's earlier tickets: 1 (1 in the 90 days before this one)" in out
    assert "T-2" in out and "same category" in out
    # the walk
    assert "0/32 answered" in out and "0 = Not done · 1 = Partly · 2 = Fully · na = N/A" in out
    assert "Once something is left to drag on" in out  # help of the first question
    assert "created → first response 2h 00m; created → resolved 20h 00m" in out  # certainty
    assert "current answer: 1 (Partly)" in out  # after going back
    assert "The order of making amends" in out and "a favour they will remember" in out
    assert "19h 00m too early" in out
    assert "Consent before publicity" in out
    assert "Not for publication: the customer did not agree to this case being used as a story" in out
    assert "skipped customer.long.consent_at: the customer did not consent" in out
    assert "都怪小李" in out and "Blameless wording" in out
    assert "1 required question(s) not answered yet: company.long.offhand_wishes" in out
    # summary
    assert "Render the report: butterfly report ticket T-1" in out
    assert "complete, 29/32 answered" in out
    assert "(reworded)" in out
    assert "Add a template check to the release list — li, 2026-12-01, open" in out

    from butterfly.review.lifecycle import get_review
    from butterfly.review.queries import review_detail

    review = get_review(session=session, ticket_id=ticket.id, reviewer="tester")
    detail = review_detail(session=session, review=review)
    answers = detail.answers
    assert len(answers) == 29
    assert answers["customer.short.progress_updates"].na is True
    assert answers["customer.mid.compensation_at"].value == "2026-10-01T10:00:00+00:00"
    assert answers["customer.mid.compensation_kind"].value == ["thank_you_call", "small_gift"]
    assert answers["company.short.another_person"].value == "一线没有查看模板配置的权限"
    assert answers["company.short.blameless_root_cause"].value == (
        "no read access to the template config\nand no fast lane on tax day"
    )
    assert answers["company.long.capability_plan"].value == "Self-check before tax day\nsecond line"
    assert "company.long.offhand_wishes" not in answers
    changes = [h for h in detail.history if h.question_id == "company.short.another_person"]
    assert [h.new_value for h in changes] == ["都怪小李", "一线没有查看模板配置的权限"]
    assert {f.kind: f.kept for f in detail.findings} == {
        "compensation_before_resolution": False,
        "blame_wording": False,
        "publicity_without_consent": False,
    }
    assert [(a.kind, a.owner, str(a.due_date)) for a in detail.actions] == [("process_patch", "li", "2026-12-01")]
    assert (review.status, review.experience_level) == ("complete", "baseline")
    assert detail.publication.status.value == "not_for_publication"


def test_stop_and_resume_where_the_reviewer_left(cli, session, db_url) -> None:  # type: ignore[no-untyped-def]
    ticket = make_ticket(session, "T-1")
    first = _walk(cli, db_url, "T-1", ["2", "1", "0"])  # input ends: like a closed terminal
    assert first.exit_code == 0, first.output
    assert "Stopped. 3/32 answered, everything saved. Resume with: butterfly review T-1" in first.stdout
    second = _walk(cli, db_url, "T-1", ["climbed", "q"])
    assert second.exit_code == 0, second.output
    assert "Resuming your review: 3/32 answered" in second.stdout
    assert "Continuing at customer.short.need_escalation" in second.stdout
    assert "Stopped. 4/32 answered" in second.stdout
    from butterfly.review.lifecycle import get_review

    review = get_review(session=session, ticket_id=ticket.id, reviewer="tester")
    assert set(answers_for(session=session, review_id=review.id)) == {
        "customer.short.fast_accurate",
        "customer.short.certainty",
        "customer.short.progress_updates",
        "customer.short.need_escalation",
    }
    assert review.position == "customer.short.need_escalation"


def test_jump_to_a_cell_and_invalid_answers_are_asked_again(cli, session, db_url) -> None:  # type: ignore[no-untyped-def]
    make_ticket(session, "T-1")
    result = _walk(cli, db_url, "T-1", ["j", "5", "sometimes", "2", "q"])
    assert result.exit_code == 0
    out = result.stdout
    assert "5) Company, mid term: process and training" in out
    assert "'sometimes' is not one of the choices" in out
    from butterfly.review.queries import list_reviews

    [row] = list_reviews(session=session)
    assert row.answered == 1
    assert answers_for(session=session, review_id=row.review.id)["company.mid.recurrence"].value == "recurring"


def test_no_terminal_and_no_answers_file_is_a_clear_error(cli, session, db_url) -> None:  # type: ignore[no-untyped-def]
    make_ticket(session, "T-1")
    result = cli("review", "T-1", "--db", db_url)
    assert result.exit_code == 2
    assert "not an interactive terminal" in result.stderr and "--answers FILE" in result.stderr
    ci = cli("review", "T-1", "--db", db_url, env={"CI": "true"})
    assert ci.exit_code == 2 and "(CI=true)" in ci.stderr


def test_unknown_ticket_suggests_close_matches(cli, session, db_url) -> None:  # type: ignore[no-untyped-def]
    make_ticket(session, "T-1001")
    result = _walk(cli, db_url, "T-1010", [])
    assert result.exit_code == 2
    assert "no ticket 'T-1010'" in result.stderr and "T-1001" in result.stderr


def test_open_ticket_is_refused_with_a_hint(cli, session, db_url) -> None:  # type: ignore[no-untyped-def]
    make_ticket(session, "T-1", status="open", resolved_at=None, closed_at=None)
    result = _walk(cli, db_url, "T-1", ["q"])
    assert result.exit_code == 2
    assert "only closed or resolved tickets are reviewed" in result.stderr and "--allow-open" in result.stderr
    assert _walk(cli, db_url, "T-1", ["q"], "--allow-open").exit_code == 0


def test_next_opens_the_oldest_closed_ticket_not_yet_reviewed(cli, session, db_url) -> None:  # type: ignore[no-untyped-def]
    from datetime import timedelta

    from review_support import BASE

    make_ticket(session, "T-new", closed_at=BASE + timedelta(days=9))
    make_ticket(session, "T-old", closed_at=BASE + timedelta(days=3))
    make_ticket(session, "T-open", status="open", closed_at=None)
    make_ticket(session, "T-other", closed_at=BASE, category="login")
    first = cli("review", "--next", "--category", "billing", "--interactive", "--db", db_url, input="2\nq\n")
    assert first.exit_code == 0, first.output
    assert "next ticket for tester: T-old" in first.stderr
    second = cli("review", "--next", "--category", "billing", "--interactive", "--db", db_url, input="q\n")
    assert "next ticket for tester: T-new" in second.stderr
    other = cli("review", "--next", "--reviewer", "li", "--interactive", "--db", db_url, input="q\n")
    assert "next ticket for li: T-other" in other.stderr


def test_two_reviewers_have_their_own_reviews(cli, session, db_url) -> None:  # type: ignore[no-untyped-def]
    make_ticket(session, "T-1")
    assert _walk(cli, db_url, "T-1", ["2", "q"], "--reviewer", "ann").exit_code == 0
    assert _walk(cli, db_url, "T-1", ["0", "1", "q"], "--reviewer", "bob").exit_code == 0
    rows = json.loads(cli("reviews", "list", "--json", "--db", db_url).stdout)
    assert sorted((r["reviewer"], r["answered"]) for r in rows) == [("ann", 1), ("bob", 2)]
    ambiguous = cli("reviews", "show", "T-1", "--db", db_url)
    assert ambiguous.exit_code == 2 and "ann, bob" in ambiguous.stderr and "--reviewer" in ambiguous.stderr
    shown = cli("reviews", "show", "T-1", "--reviewer", "bob", "--history", "--db", db_url)
    assert shown.exit_code == 0, shown.output
    assert "0 (Not done)" in shown.stdout and "history" in shown.stdout
    drafts = json.loads(
        cli("reviews", "list", "--status", "draft", "--reviewer", "ann", "--json", "--db", db_url).stdout
    )
    assert [r["reviewer"] for r in drafts] == ["ann"]


def test_complete_review_is_only_reopened_on_request(cli, session, db_url) -> None:  # type: ignore[no-untyped-def]
    make_ticket(session, "T-1")
    path_lines = ["2", "j", "6", "q"]
    assert _walk(cli, db_url, "T-1", path_lines).exit_code == 0
    from butterfly.review.lifecycle import complete_review
    from butterfly.review.queries import list_reviews

    [row] = list_reviews(session=session)
    complete_review(session=session, review=row.review)
    kept = _walk(cli, db_url, "T-1", ["n"])
    assert "This review is complete. Reopen it to edit?" in kept.stdout
    assert json.loads(cli("reviews", "list", "--json", "--db", db_url).stdout)[0]["status"] == "complete"
    reopened = _walk(cli, db_url, "T-1", ["y", "1", "q"])
    assert reopened.exit_code == 0, reopened.output
    assert json.loads(cli("reviews", "list", "--json", "--db", db_url).stdout)[0]["status"] == "draft"


def test_lens_questions_follow_the_six_cells(cli, session, db_url) -> None:  # type: ignore[no-untyped-def]
    make_ticket(session, "T-1")
    result = _walk(cli, db_url, "T-1", ["j", "7", "q"], "--lens", "human-needs")
    assert result.exit_code == 0, result.output
    assert "7) Relevant" in result.stdout
    assert "human-needs.relevant.goal" in result.stdout
    rows = json.loads(cli("reviews", "list", "--json", "--db", db_url).stdout)
    assert rows[0]["lenses"] == ["human-needs"]
    from butterfly.checklist.model import load_builtin

    assert rows[0]["questions"] == 32 + len(load_builtin("human-needs", "en").questions)


def test_walk_in_chinese_shows_the_chinese_checklist_and_guard_texts(cli, session, db_url) -> None:  # type: ignore[no-untyped-def]
    make_ticket(session, "T-1")
    result = _walk(cli, db_url, "T-1", ["j", "4", "1", "因为小王忘了", "k", "q"], "--lang", "zh-CN")
    assert result.exit_code == 0, result.output
    assert "公司端" in result.stdout or "公司" in result.stdout
    assert "这个回答似乎把原因归到了某个具体的人身上" in result.stdout
    assert "[r] 重新表述" in result.stdout
    from butterfly.review.queries import list_reviews

    [row] = list_reviews(session=session)
    assert row.findings == 1


def test_a_fully_answered_review_can_still_be_edited_from_the_final_steps(cli, session, db_url) -> None:  # type: ignore[no-untyped-def]
    from review_support import ROOT

    make_ticket(session, "T-1001")
    done = cli("review", "T-1001", "--answers", str(ROOT / "examples" / "answers.yaml"), "--complete", "--db", db_url)
    assert done.exit_code == 0, done.output
    # reopen from the walk, jump back from the experience prompt to the first cell, change one answer
    result = _walk(cli, db_url, "T-1001", ["y", "j", "1", "0", "q"])
    assert result.exit_code == 0, result.output
    assert "Every question has an answer" in result.stdout
    assert "current answer: 2 (Fully)" in result.stdout
    shown = json.loads(cli("reviews", "show", "T-1001", "--json", "--db", db_url).stdout)
    assert shown["review"]["status"] == "draft"
    assert shown["answers"]["customer.short.fast_accurate"]["value"] == 0
    changes = [h for h in shown["history"] if h["question_id"] == "customer.short.fast_accurate"]
    assert [(h["old_value"], h["new_value"]) for h in changes] == [(None, 2), (2, 0)]
    # b from the experience prompt goes back to the last question
    back = _walk(cli, db_url, "T-1001", ["b", "q"])
    assert back.exit_code == 0, back.output
    after = back.stdout.split("experience level 1-5", 1)[1]
    assert "company.long 4/4 · company.long.capability_plan" in after
    assert "current answer: 报税日前的自检和提醒" in after
