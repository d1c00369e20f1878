"""The guided walk driven through CliRunner (``--interactive`` reads the answers line by line from input)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from review_support import make_ticket

from butterfly.review.answers import answers_for

FULL_WALK = [  # the deep walk (--deep): every question, follow-ups when an answer makes them relevant
    "?",  # customer.short.fast_accurate: help first
    "2",
    "1",  # customer.short.certainty
    "b",  # need_escalation: go back to certainty
    "",  # keep certainty
    "2",  # need_escalation: climbed -> its follow-up progress_updates is asked
    "na",  # progress_updates: N/A
    "2",  # friend_mindset (deep)
    "2",  # customer.mid.trouble_mindset (deep)
    "y",  # compensation_made -> time, kind and order follow
    "n",  # ... no compensation action item
    "2026-10-01 10:00",  # compensation_at: before the resolution (2026-10-02 05:00)
    "1,6",  # compensation_kind: "None" with another choice is refused
    "1,3",  # compensation_kind
    "0",  # sequence
    "4",  # save_face: not customer caused
    "2",  # customer.long.story_signal: warm thanks
    "1",  # story (deep)
    "1",  # extra_value (deep)
    "y",  # publicity_planned
    "n",  # consent_given: no -> time and scope are not asked
    "1",  # company.short.resources_authority
    "都怪小李",  # another_person (deep): blame
    "r",  # reword it
    "一线没有查看模板配置的权限",
    "no read access to the template config\\",  # blameless_root_cause, two lines
    "and no fast lane on tax day",
    "1",  # red_lines
    "2",  # decision_backing
    "recurring",  # company.mid.recurrence
    "1",  # process_gap
    "half a day of work",  # cost_of_fixing (a gap was found)
    "Add a template check to the release list",  # process_patch
    "2026-12-01",  # create the action item? a date is not yes or no: asked again
    "y",  # create the process_patch action item
    "",  # ... with the answer as its text
    "li",  # owner
    "+14d",  # due
    "2",  # process_improved
    "Check the other customers on the template",  # proactive_outreach (recurring)
    "n",  # no outreach action item
    "1",  # company.long.needs_changed
    "s",  # offhand_wishes: skip
    "1",  # request_drop
    "n",  # no follow-up action item
    "e",  # capability_plan: in the editor
    "4",  # experience level: baseline
    "",  # a required question is unanswered: the review stays a draft
]

EDITOR_SCRIPT = """\
import sys
path = sys.argv[1]
text = open(path, encoding="utf-8").read()
open(path, "w", encoding="utf-8").write("Self-check before tax day\\nsecond line\\n" + text)
"""


def _db_arg(db_url: str) -> str:
    """How the walk's hints name the database: the SQLite file, or the URL without its password."""
    from butterfly.store.db import redact_url, sqlite_path

    path = sqlite_path(db_url)
    return str(path) if path is not None else redact_url(db_url)


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
    result = _walk(cli, db_url, "T-1", FULL_WALK, "--deep", env={"EDITOR": f"{sys.executable} {editor}"})
    assert result.exit_code == 0, result.output
    out = result.stdout
    # context panel
    for expected in ("发票导出失败", "华星物流", "billing", "wang.li", "first response", "2h 00m", "20h 00m"):
        assert expected in out
    assert "customer's earlier tickets: 1 (1 in the 90 days before this one)" in out
    assert "T-2" in out and "same category" in out
    # the walk
    assert "0/23 answered" in out  # 33 questions, 10 of them follow-ups not (yet) relevant
    assert "0 = slow or wrong, and left there · 1 = fixed, but slowly or at the second try" in out  # anchors
    assert "Once something is left to drag on" in out  # help of the first question
    assert "created → first response 2h 00m; created → resolved 20h 00m" in out  # certainty
    assert "current answer: 1 (Partly)" in out  # after going back
    assert "The order of making amends" in out and "a favour they will remember" in out
    assert "19h 00m too early" in out
    assert "Consent before publicity" in out
    assert "Not for publication: the customer did not agree to this case being used as a story" in out
    assert "customer.long.consent_at" not in out  # a follow-up that does not apply is not even mentioned
    assert "'None' cannot be picked together with other choices" in out
    assert "Please answer y or n (是/否)." in out
    assert "都怪小李" in out and "Blameless wording" in out
    assert "Not complete yet: 1 required question(s) unanswered: company.long.offhand_wishes" in out
    # summary
    assert f"Render the report: butterfly report ticket T-1 --db {_db_arg(db_url)}" in out
    assert "draft, 30/31 answered" in out  # the summary counts what the default walk asks, plus answers
    assert "(reworded)" in out
    assert "Add a template check to the release list — li, " in out

    from butterfly.review.lifecycle import get_review
    from butterfly.review.queries import review_detail

    review = get_review(session=session, ticket_id=ticket.id, reviewer="tester")
    detail = review_detail(session=session, review=review)
    answers = detail.answers
    assert len(answers) == 30
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
    [action] = detail.actions
    assert (action.kind, action.owner) == ("process_patch", "li")
    assert (action.due_date - action.created_at.date()).days in (13, 14, 15)  # +14d in the configured zone
    assert (review.status, review.experience_level, review.allow_gaps) == ("draft", "baseline", False)
    assert detail.publication.status.value == "not_for_publication"
    # answers are stored as readable UTF-8 JSON, not \\u escapes
    from sqlalchemy import text as sql

    stored = session.execute(
        sql("SELECT CAST(value AS TEXT) FROM answer WHERE question_id = 'company.short.another_person'")
    ).scalar_one()
    assert "一线没有查看模板配置的权限" in stored


def test_stop_and_resume_where_the_reviewer_left(cli, session, db_url) -> None:  # type: ignore[no-untyped-def]
    ticket = make_ticket(session, "T-1")
    first = _walk(cli, db_url, "T-1", ["2", "1", "climbed"])  # input ends: like a closed terminal
    assert first.exit_code == 0, first.output
    resume = f"Resume with: butterfly review T-1 --db {_db_arg(db_url)}"
    assert f"Stopped. 3/14 answered, everything saved. {resume}" in first.stdout  # the follow-up now counts
    second = _walk(cli, db_url, "T-1", ["0", "q"])
    assert second.exit_code == 0, second.output
    assert "Resuming your review: 3/14 answered" in second.stdout
    assert "Continuing at customer.short.progress_updates" in second.stdout
    assert "Stopped. 4/14 answered" in second.stdout
    from butterfly.review.lifecycle import get_review

    review = get_review(session=session, ticket_id=ticket.id, reviewer="tester")
    assert set(answers_for(session=session, review_id=review.id)) == {
        "customer.short.fast_accurate",
        "customer.short.certainty",
        "customer.short.progress_updates",
        "customer.short.need_escalation",
    }
    assert review.position == "customer.short.progress_updates"


def test_jump_to_a_cell_and_invalid_answers_are_asked_again(cli, session, db_url) -> None:  # type: ignore[no-untyped-def]
    make_ticket(session, "T-1")
    # jump to company.mid, answer its two questions, then back to the first unanswered question (cell 1)
    result = _walk(cli, db_url, "T-1", ["j", "5", "sometimes", "1", "4", "2", "q"])
    assert result.exit_code == 0
    out = result.stdout
    assert "5) Company, mid term: process and training" in out
    assert "'sometimes' is not one of the choices" in out
    assert "Back to the first unanswered question: customer.short.fast_accurate" in out
    from butterfly.review.queries import list_reviews

    [row] = list_reviews(session=session)
    assert row.answered == 3
    answers = answers_for(session=session, review_id=row.review.id)
    assert answers["company.mid.recurrence"].value == "one_off"
    assert answers["customer.short.fast_accurate"].value == 2  # not company.long: back where the gaps are


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
    assert "next ticket for tester: T-old (the oldest closed ticket not reviewed yet)" in first.stderr
    second = cli("review", "--next", "--category", "billing", "--interactive", "--db", db_url, input="q\n")
    assert "next ticket for tester: T-old (your open draft)" in second.stderr  # the draft comes first
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
    assert "1 (Partly)" in shown.stdout.split("history", 1)[1]  # the history shows labels, not raw values
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
    complete_review(session=session, review=row.review, allow_gaps=True)
    kept = _walk(cli, db_url, "T-1", ["later", "n"])
    assert "Please answer y or n (是/否)." in kept.stdout
    assert "completed with gaps (--allow-gaps)" in kept.stdout
    assert "This review is complete. Reopen it to edit?" in kept.stdout
    assert json.loads(cli("reviews", "list", "--json", "--db", db_url).stdout)[0]["status"] == "complete"
    reopened = _walk(cli, db_url, "T-1", ["y", "1", "q"])
    assert reopened.exit_code == 0, reopened.output
    assert json.loads(cli("reviews", "list", "--json", "--db", db_url).stdout)[0]["status"] == "draft"


def test_lens_questions_follow_the_six_cells(cli, session, db_url) -> None:  # type: ignore[no-untyped-def]
    make_ticket(session, "T-1")
    result = _walk(cli, db_url, "T-1", ["j", "7", "na", "q"], "--lens", "human-needs")
    assert result.exit_code == 0, result.output
    assert "7) Relevant" in result.stdout
    assert "human-needs.relevant.goal" in result.stdout
    rows = json.loads(cli("reviews", "list", "--json", "--db", db_url).stdout)
    assert rows[0]["lenses"] == ["human-needs"]
    from butterfly.checklist.model import load_builtin

    assert rows[0]["questions"] == 33 + len(load_builtin("human-needs", "en").questions)


def test_walk_in_chinese_shows_the_chinese_checklist_and_guard_texts(cli, session, db_url) -> None:  # type: ignore[no-untyped-def]
    make_ticket(session, "T-1")
    result = _walk(cli, db_url, "T-1", ["9", "j", "4", "1", "因为小王忘了", "k", "q"], "--lang", "zh-CN")
    assert result.exit_code == 0, result.output
    assert "“9”不在评分范围内（可用：0 (没做到), 1 (部分做到), 2 (完全做到)，或 na）" in result.stdout
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
    # the last question the default walk asks (capability_plan is asked in the deep walk only)
    assert "company.long 3/4 · company.long.request_drop" in after
    assert "current answer: No, about the same as usual" in after


# -- the short default walk (checklist v2) ---------------------------------------------------------------------

DEFAULT_WALK = [
    "2 1",  # customer.short: fast_accurate and certainty in one line
    "1",  # need_escalation: stayed -> progress_updates is not asked
    "n",  # compensation_made: no -> time, kind and order are not asked
    "n",  # ... no compensation action item
    "4",  # save_face: N/A, the customer did not cause it
    "3",  # customer.long.story_signal: nothing either way
    "n",  # publicity_planned
    "2",  # company.short.resources_authority
    "The template check was missing from the release list",  # blameless_root_cause
    "1",  # company.mid.recurrence: one-off
    "4",  # process_gap: not a process issue -> cost, patch and outreach are not asked
    "wants a template self-check",  # offhand_wishes
    "n",  # no follow-up action item
    "1",  # request_drop
    "n",  # no follow-up action item
    "4",  # experience level
    "y",  # complete
]


def test_default_walk_asks_13_questions_with_two_text_answers(cli, session, db_url) -> None:  # type: ignore[no-untyped-def]
    ticket = make_ticket(session, "T-1")
    result = _walk(cli, db_url, "T-1", DEFAULT_WALK)
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "0/13 answered" in out
    assert "saved (2/13 answered)" in out  # the one-line answer saved both ratings
    assert "complete, 13/13 answered" in out
    for not_asked in ("progress_updates", "compensation_at", "friend_mindset", "cost_of_fixing", "capability_plan"):
        assert not_asked not in out
    from butterfly.review.lifecycle import get_review

    review = get_review(session=session, ticket_id=ticket.id, reviewer="tester")
    assert (review.status, review.allow_gaps) == ("complete", False)
    answers = answers_for(session=session, review_id=review.id)
    assert (answers["customer.short.fast_accurate"].value, answers["customer.short.certainty"].value) == (2, 1)


def test_one_line_ratings_skip_na_and_a_whole_cell_na(cli, session, db_url) -> None:  # type: ignore[no-untyped-def]
    ticket = make_ticket(session, "T-1")
    # too many, a bad token, skip + N/A; x at need_escalation, then x for all of customer.mid
    lines = ["2 2 2", "1 x", "- na", "x", "x", "q"]
    result = _walk(cli, db_url, "T-1", lines)
    assert result.exit_code == 0, result.output
    assert "3 ratings given, but this cell has 2 rating question(s) left from here." in result.stdout
    assert "'x' is not a rating (use 0, 1, 2, - to skip, na)." in result.stdout
    assert "1 question(s) of this cell marked N/A." in result.stdout  # need_escalation
    assert "2 question(s) of this cell marked N/A." in result.stdout  # compensation_made and save_face
    from butterfly.review.lifecycle import get_review

    review = get_review(session=session, ticket_id=ticket.id, reviewer="tester")
    answers = answers_for(session=session, review_id=review.id)
    assert "customer.short.fast_accurate" not in answers  # "-" skipped it
    assert answers["customer.short.certainty"].na is True
    assert {q for q, a in answers.items() if a.na} == {
        "customer.short.certainty",
        "customer.short.need_escalation",
        "customer.mid.compensation_made",
        "customer.mid.save_face",
    }


def test_complete_is_refused_while_required_answers_miss_and_allow_gaps_is_recorded(
    cli, session, db_url, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    make_ticket(session, "T-1")
    make_ticket(session, "T-2")
    refused = _walk(cli, db_url, "T-1", ["2 1", *["s"] * 11, "", "y", ""])  # skip the rest; no level
    assert refused.exit_code == 0, refused.output
    assert "Not complete yet: 11 required question(s) unanswered: customer.short.need_escalation" in refused.stdout
    assert "draft, 2/13 answered" in refused.stdout
    gaps = _walk(cli, db_url, "T-1", [*["s"] * 11, "", "y"], "--allow-gaps")
    assert gaps.exit_code == 0, gaps.output
    assert "Mark it complete anyway, recorded as with gaps (--allow-gaps)? [y/N]" in gaps.stdout
    assert "completed with gaps (--allow-gaps)" in gaps.stdout
    shown = json.loads(cli("reviews", "show", "T-1", "--json", "--db", db_url).stdout)
    assert (shown["review"]["status"], shown["review"]["allow_gaps"]) == ("complete", True)
    report = cli("report", "ticket", "T-1", "--db", db_url)
    assert report.exit_code == 0, report.output
    assert "complete, with gaps (--allow-gaps)" in report.stdout

    answers = tmp_path / "few.yaml"
    answers.write_text("customer.short.fast_accurate: 2\n", encoding="utf-8")
    file_refused = cli("review", "T-2", "--answers", str(answers), "--complete", "--db", db_url)
    assert file_refused.exit_code == 2
    assert "Error: the review of T-2 is not complete: 12 required question(s) unanswered:" in file_refused.stderr
    assert "--allow-gaps" in file_refused.stderr
    assert json.loads(cli("reviews", "list", "--json", "--db", db_url).stdout)[0]["ticket"] != "T-2"  # nothing kept
    allowed = cli("review", "T-2", "--answers", str(answers), "--complete", "--allow-gaps", "--db", db_url)
    assert allowed.exit_code == 0, allowed.output
    shown = json.loads(cli("reviews", "show", "T-2", "--json", "--db", db_url).stdout)
    assert (shown["review"]["status"], shown["review"]["allow_gaps"]) == ("complete", True)


def test_quitting_before_any_answer_leaves_no_draft(cli, session, db_url) -> None:  # type: ignore[no-untyped-def]
    make_ticket(session, "T-1")
    result = _walk(cli, db_url, "T-1", ["q"])
    assert result.exit_code == 0, result.output
    assert "Stopped before any answer: no draft was left behind." in result.stdout
    assert json.loads(cli("reviews", "list", "--json", "--db", db_url).stdout) == []


def test_a_review_resumes_in_its_own_language_and_hints_carry_the_options(cli, session, db_url) -> None:  # type: ignore[no-untyped-def]
    make_ticket(session, "T-1")
    first = _walk(cli, db_url, "T-1", ["2", "q"], "--lang", "zh-TW", "--reviewer", "ann")
    assert first.exit_code == 0, first.output
    assert f"繼續：butterfly review T-1 --db {_db_arg(db_url)} --reviewer ann --lang zh-TW" in first.stdout
    again = _walk(cli, db_url, "T-1", ["c", "d", "1 2", "q"], "--reviewer", "ann")  # no --lang
    assert again.exit_code == 0, again.output
    assert "繼續你的覆盤：已答 1/13" in again.stdout
    assert again.stdout.count("工單 T-1") == 2  # c showed the ticket again, in zh-TW like the rest
    assert "首次回應" in again.stdout and "2 小時 0 分鐘" in again.stdout  # labels and durations in the language
    assert "深入檢查：從現在起問全部問題。" in again.stdout
    # d: the deep questions are asked too: "1 2" rated certainty and the deep friend_mindset
    from butterfly.review.queries import list_reviews

    [row] = list_reviews(session=session)
    assert answers_for(session=session, review_id=row.review.id)["customer.short.friend_mindset"].value == 2


def test_a_due_date_in_the_past_asks_for_confirmation(cli, session, db_url) -> None:  # type: ignore[no-untyped-def]
    make_ticket(session, "T-1")
    lines = ["j", "6", "wants a self-check", "y", "", "", "2001-01-01", "n", "2001-01-02", "y", "q"]
    result = _walk(cli, db_url, "T-1", lines)
    assert result.exit_code == 0, result.output
    assert "2001-01-01 is in the past. Keep it? [y/N]" in result.stdout
    assert "2001-01-02 is in the past. Keep it? [y/N]" in result.stdout
    from sqlmodel import select

    from butterfly.store.models import ActionItem

    [item] = session.exec(select(ActionItem)).all()
    assert str(item.due_date) == "2001-01-02"


def test_answers_the_data_gives_are_proposed_and_stored_only_when_accepted(cli, session, db_url) -> None:  # type: ignore[no-untyped-def]
    from datetime import timedelta

    from review_support import BASE

    ticket = make_ticket(session, "T-1", customer="Acme", subject="Invoice export fails")
    make_ticket(session, "T-2", customer="Beta", subject="Invoice export fails")
    make_ticket(session, "T-3", customer="Gamma", subject="Invoice export fails")
    for i in range(24):  # Acme was busy in the 12 weeks before the last 4, then went quiet
        make_ticket(
            session, f"H-{i}", customer="Acme", subject="Login", created_at=BASE - timedelta(weeks=5, days=i * 3)
        )
    lines = [
        *["j", "2", "y", "n", "2026-10-01 10:00", "1"],  # customer.mid: a gesture, made before the resolution
        "",  # sequence: accept the proposal (0: before the resolution)
        "1",  # save_face: override the proposal (not customer caused) with "helped"
        *["j", "5", "", "4"],  # recurrence: accept "recurring"; process_gap
        *["j", "6", "s", "", "n"],  # request_drop: accept "dropped"; no action item
        "q",
    ]
    result = _walk(cli, db_url, "T-1", lines)
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "proposed: 0 (Not done) (from the gesture came 19h 00m before the resolution)." in out
    assert (
        "proposed: N/A, the customer didn't cause it (from nothing in the ticket suggests the customer caused it)."
        in out
    )
    assert "proposed: Recurring (from closed tickets with a similar subject at 2 other customers)." in out
    assert (
        "proposed: Yes, noticeably fewer (from 1 tickets in the 4 weeks before closing against 24 in the 12 weeks"
        in out
    )
    from butterfly.review.lifecycle import get_review

    review = get_review(session=session, ticket_id=ticket.id, reviewer="tester")
    answers = answers_for(session=session, review_id=review.id)
    assert answers["customer.mid.sequence"].value == 0
    assert answers["customer.mid.save_face"].value == "helped"  # the override, not the proposal
    assert answers["company.mid.recurrence"].value == "recurring"
    assert answers["company.long.request_drop"].value == "dropped"
    assert "company.long.offhand_wishes" not in answers
    # a proposal is never stored on its own: quit at a question that shows one, and nothing is saved for it
    other = _walk(cli, db_url, "T-2", ["j", "2", "n", "n", "q"])
    assert "proposed: N/A, the customer didn't cause it" in other.stdout
    other_review = get_review(session=session, ticket_id=ticket.id + 1, reviewer="tester")
    assert set(answers_for(session=session, review_id=other_review.id)) == {"customer.mid.compensation_made"}
