"""The method's guards: blameless wording (Chinese and English), compensation order, consent, certainty, texts."""

from __future__ import annotations

from datetime import timedelta

import pytest
from review_support import BASE, make_ticket, start

from butterfly.checklist.model import load_builtin
from butterfly.review.answers import save_answer
from butterfly.review.guards import (
    LANGUAGES,
    Publication,
    certainty_line,
    evaluate,
    find_blame,
    measured_durations,
    publication_status,
    text,
    text_keys,
)
from butterfly.review.scoring import AnswerValue
from butterfly.store.models import Ticket

BLAMING = [
    # English
    "It was Wang's fault.",
    "because Wang forgot to call the customer back",
    "They put the blame on Li for the delay",
    "Blame it on Zhang, he never escalated",
    "The agent forgot to escalate the ticket",
    "he dropped the ball on the follow-up",
    "Li Ming failed to follow up",
    "Honestly, it's her fault",
    "blamed Zhang for the outage",
    "The fault lies with Peter",
    "Since Priya ignored the alert, the customer waited",
    "Tom was careless with the template",
    # Simplified Chinese
    "他的错",
    "都怪小李",
    "因为小王忘了",
    "是他没做好",
    "这次是王工的失误",
    "客服没有及时回复客户",
    "因为王伟忘了提交工单",
    "责任在老张",
    "要怪就怪她太粗心",
    "小陈疏忽了，没检查模板",
    # Traditional Chinese
    "因為小王忘了回電話",
    "都怪小李沒跟進",
    "是他沒做好",
]

BLAMELESS = [
    "The process had no step for checking the template",
    "We had no spare parts in stock",
    "It wasn't Wang's fault; the tool was down",
    "The agent didn't have access to the billing system",
    "The system failed to send the email",
    "Nobody's fault really, the approval chain was too long",
    "Escalation took three days because approvals were slow",
    "Front line lacked authority to issue a credit",
    "不是他的错，是流程不清楚",
    "因为流程不清楚，一线没有授权",
    "系统故障导致延误",
    "他没有足够的权限审批退款",
    "方案没做好评估",
    "很奇怪他们没有收到通知",
    "高层没有授权",
    "一线缺少查看配置的只读权限",
    "不能怪小李，模板是发布时丢的",
    "缺少備件，流程也沒有加急通道",
]


@pytest.mark.parametrize("phrase", BLAMING)
def test_blame_on_a_person_is_detected(phrase: str) -> None:
    assert find_blame(phrase), phrase


@pytest.mark.parametrize("phrase", BLAMELESS)
def test_blameless_wording_is_left_alone(phrase: str) -> None:
    assert find_blame(phrase) == [], phrase


def test_blame_match_quotes_the_phrase() -> None:
    [match] = find_blame("等了三个小时，都怪小李，其他都还好")
    assert match.phrase == "都怪小李"


def test_certainty_line_is_labelled_as_speed() -> None:
    line = certainty_line(_ticket(), "en")
    assert line.startswith("created → first response 3h 00m; created → resolved 1d 0h. That is speed")
    assert text("certainty.title", "en") == "Speed (not certainty)"
    assert "这是响应速度" in certainty_line(_ticket(), "zh-CN")
    assert "這是回應速度" in certainty_line(_ticket(), "zh-TW")


def test_every_guard_text_exists_in_three_languages() -> None:
    keys = text_keys()
    assert {"compensation.why", "blameless.prompt", "consent.required", "certainty.measured"} <= set(keys)
    fill = dict.fromkeys(
        (
            *("match", "missing", "made_at", "resolved_at", "gap", "first_response", "resolution", "by", "date", "n"),
            *("chases", "chase_list", "silence", "plan", "position", "when", "phrase"),
        ),
        "X",
    )
    for key in keys:
        texts = {lang: text(key, lang, **fill) for lang in LANGUAGES}
        assert all(t.strip() for t in texts.values()), key
        assert texts["zh-CN"] != texts["en"], key
    assert "顺序" in text("compensation.why", "zh-CN")
    assert "順序" in text("compensation.why", "zh-TW")
    assert "backfire" not in text("compensation.why", "zh-CN")
    assert "小李" in text("blameless.prompt", "zh-CN", match="都怪小李")


# -- evaluation ------------------------------------------------------------------------------------------------

CL = load_builtin("butterfly", "en")


def _ticket(**kw: object) -> Ticket:
    values: dict[str, object] = {
        "source": "csv",
        "external_id": "T-1",
        "status": "closed",
        "created_at": BASE,
        "first_response_at": BASE + timedelta(hours=3),
        "resolved_at": BASE + timedelta(days=1),
        "closed_at": BASE + timedelta(days=2),
        "content_hash": "x",
    }
    values.update(kw)
    return Ticket(**values)


def _kinds(answers: dict[str, object], ticket: Ticket | None = None) -> dict[str, object]:
    values = {k: AnswerValue(v) for k, v in answers.items()}
    specs = evaluate(questions=CL.questions, answers=values, ticket=ticket or _ticket(), lang="en", tz="UTC")
    return {s.kind: s for s in specs}


def test_compensation_before_resolution_is_a_finding() -> None:
    before = (BASE + timedelta(hours=5)).isoformat()
    found = _kinds({"customer.mid.compensation_made": True, "customer.mid.compensation_at": before})
    spec = found["compensation_before_resolution"]
    assert spec.question_id == "customer.mid.compensation_at"
    assert "19h 00m too early" in spec.detail  # type: ignore[attr-defined]


def test_compensation_after_resolution_or_not_made_is_fine() -> None:
    after = (BASE + timedelta(days=1, hours=1)).isoformat()
    assert _kinds({"customer.mid.compensation_made": True, "customer.mid.compensation_at": after}) == {}
    before = (BASE + timedelta(hours=5)).isoformat()
    assert _kinds({"customer.mid.compensation_made": False, "customer.mid.compensation_at": before}) == {}


def test_compensation_checks_closed_time_when_resolution_is_unknown() -> None:
    t = _ticket(resolved_at=None)
    when = (BASE + timedelta(days=1, hours=1)).isoformat()  # before closing (day 2)
    assert "compensation_before_resolution" in _kinds(
        {"customer.mid.compensation_made": True, "customer.mid.compensation_at": when}, t
    )


def test_blame_finding_per_blameless_question() -> None:
    found = _kinds({"company.short.another_person": "都怪小李", "company.short.blameless_root_cause": "没有流程"})
    assert found["blame_wording"].question_id == "company.short.another_person"  # type: ignore[attr-defined]
    assert found["blame_wording"].kept is True  # type: ignore[attr-defined]


def test_publicity_needs_full_consent() -> None:
    planned = {"customer.long.publicity_planned": True}
    status = publication_status(CL.questions, {k: AnswerValue(v) for k, v in planned.items()})
    assert status.status is Publication.not_for_publication
    assert status.missing == ("consent", "time", "scope")
    full = {
        **planned,
        "customer.long.consent_given": True,
        "customer.long.consent_at": "2026-10-05T00:00:00+00:00",
        "customer.long.consent_scope": "our website case study",
    }
    assert publication_status(CL.questions, {k: AnswerValue(v) for k, v in full.items()}).publishable
    assert "publicity_without_consent" not in _kinds(full)
    declined = {**full, "customer.long.consent_given": False}
    assert "publicity_without_consent" in _kinds(declined)
    assert publication_status(CL.questions, {}).status is Publication.no_story


def test_certainty_shows_measured_durations() -> None:
    t = _ticket()
    d = measured_durations(t)
    assert (d.first_response, d.resolution) == (timedelta(hours=3), timedelta(days=1))
    assert "3h 00m" in certainty_line(t, "en")
    assert "1天0小时" in certainty_line(t, "zh-CN")  # durations in the reader's language
    assert "首次响应" in certainty_line(t, "zh-CN")


# -- findings stored with the review ---------------------------------------------------------------------------


def test_reworded_blame_leaves_no_open_finding_and_no_quote(session) -> None:  # type: ignore[no-untyped-def]
    from butterfly.review.lifecycle import refresh_findings
    from butterfly.review.queries import review_detail

    ticket = make_ticket(session)
    review = start(session, ticket)
    qid = "company.short.another_person"
    save_answer(session=session, review_id=review.id, question_id=qid, value="because Wang forgot", by="tester")
    [f] = refresh_findings(session=session, review=review, ticket=ticket, questions=CL.questions, lang="en")
    assert (f.kind, f.kept, f.status) == ("blame_wording", True, "open")
    save_answer(session=session, review_id=review.id, question_id=qid, value="no checklist for it", by="tester")
    [f] = refresh_findings(session=session, review=review, ticket=ticket, questions=CL.questions, lang="en")
    assert (f.kind, f.kept, f.status, f.status_by) == ("blame_wording", False, "reworded", review.reviewer)
    assert "Wang" not in f.detail
    # the answer's history keeps the old wording
    history = review_detail(session=session, review=review, checklist=CL).history
    assert any(h.old_value == "because Wang forgot" for h in history)
    # blame wording again: the same finding is open again
    save_answer(session=session, review_id=review.id, question_id=qid, value="Wang's fault", by="tester")
    [f] = refresh_findings(session=session, review=review, ticket=ticket, questions=CL.questions, lang="en")
    assert (f.status, f.status_by) == ("open", None)


def test_dismissed_blame_stays_dismissed_until_the_wording_changes(session) -> None:  # type: ignore[no-untyped-def]
    from butterfly.errors import NotFoundError
    from butterfly.review.findings import dismiss_finding
    from butterfly.review.lifecycle import refresh_findings

    ticket = make_ticket(session)
    review = start(session, ticket)
    qid = "company.short.another_person"
    with pytest.raises(NotFoundError):
        dismiss_finding(session=session, review=review, question_id=qid, by="lead")
    save_answer(session=session, review_id=review.id, question_id=qid, value="because Wang forgot", by="tester")
    refresh_findings(session=session, review=review, ticket=ticket, questions=CL.questions, lang="en")
    f = dismiss_finding(session=session, review=review, question_id=qid, by="lead")
    assert (f.status, f.status_by) == ("dismissed", "lead")
    assert f.status_at is not None
    save_answer(session=session, review_id=review.id, question_id=qid, value="because Wang forgot", by="tester")
    [f] = refresh_findings(session=session, review=review, ticket=ticket, questions=CL.questions, lang="en")
    assert f.status == "dismissed"  # the same words: still dismissed
    save_answer(session=session, review_id=review.id, question_id=qid, value="Li's fault, he forgot", by="t")
    [f] = refresh_findings(session=session, review=review, ticket=ticket, questions=CL.questions, lang="en")
    assert f.status == "open"  # new blame wording: open again


def test_consent_finding_disappears_once_consent_is_recorded(session) -> None:  # type: ignore[no-untyped-def]
    from butterfly.review.lifecycle import refresh_findings

    ticket = make_ticket(session)
    review = start(session, ticket)

    def put(qid: str, value: object) -> list:  # type: ignore[type-arg]
        save_answer(session=session, review_id=review.id, question_id=qid, value=value, by="tester")
        return refresh_findings(session=session, review=review, ticket=ticket, questions=CL.questions, lang="en")

    assert [f.kind for f in put("customer.long.publicity_planned", True)] == ["publicity_without_consent"]
    put("customer.long.consent_given", True)
    put("customer.long.consent_at", "2026-10-05T00:00:00+00:00")
    assert put("customer.long.consent_scope", "website") == []
