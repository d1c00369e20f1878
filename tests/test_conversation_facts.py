"""The certainty facts of a thread: chases, the longest silence, the first definite plan, the need climbing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from butterfly.conversation.facts import Message, facts, gives_plan

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
DATA = Path(__file__).resolve().parent / "data"


def _thread(*parts: tuple[str, str, float], internal: set[int] = frozenset()) -> list[Message]:  # type: ignore[assignment]
    return [
        Message(position=i, role=role, text=text, at=T0 + timedelta(hours=hours), public=i not in internal)
        for i, (role, text, hours) in enumerate(parts, start=1)
    ]


def test_chases_silence_plan_and_climb_in_english() -> None:
    thread = _thread(
        ("customer", "The invoice export fails with 'template not found'.", 0),
        ("agent", "Sorry about that, we're looking into it.", 1),
        ("customer", "Any update? We file taxes today.", 5),
        ("customer", "Hello?? Still waiting.", 9),
        ("agent", "Internal: second line is on it.", 9.5),
        ("agent", "The template will be restored by 3 pm today.", 10),
        ("customer", "We missed the filing deadline because of this. I want compensation.", 30),
        internal={5},
    )
    found = facts(thread, closed_at=T0 + timedelta(hours=40))
    assert [c.position for c in found.chases] == [3, 4]
    assert found.longest_silence == timedelta(hours=10)  # message 3 waited 5 h for the plan; message 7, 10 h
    assert found.silence_from is not None and found.silence_from.position == 7  # the last message waited 10 h
    assert found.first_plan is not None and found.first_plan.position == 6
    assert found.plan_phrase is not None and "3 pm" in found.plan_phrase
    assert found.need_climbed is not None and found.need_climbed.position == 7
    assert found.need_escalation == "climbed"


def test_a_chinese_thread_without_a_plan() -> None:
    thread = _thread(
        ("customer", "退款一直没到账。", 0),
        ("agent", "我们正在处理中，请您耐心等待。", 2),
        ("customer", "还没好吗？", 26),
        ("agent", "有消息我们会第一时间通知您。", 50),
    )
    found = facts(thread)
    assert [c.position for c in found.chases] == [3]
    assert found.first_plan is None
    assert found.longest_silence == timedelta(hours=24)
    assert found.need_escalation == "stayed"  # the choice id of customer.short.need_escalation


def test_internal_notes_and_system_messages_are_not_replies() -> None:
    thread = _thread(
        ("customer", "登录失败", 0),
        ("agent", "已转二线，明天上午处理", 1),  # an internal note: the customer never saw this plan
        ("system", "Ticket assigned to group L2", 1),
        ("customer", "進度如何？", 20),
        internal={2},
    )
    found = facts(thread)
    assert found.first_plan is None
    assert [c.position for c in found.chases] == [4]
    assert found.longest_silence is None  # nobody answered and the ticket is not closed yet


def test_the_first_message_asking_when_is_not_a_chase() -> None:
    found = facts(_thread(("customer", "When will this be fixed?", 0)))
    assert found.chases == []


@pytest.mark.parametrize(
    ("text", "plan"),
    [
        ("We will refund the duplicate charge within 3 business days.", True),
        ("We will look into it as soon as possible.", False),
        ("The problem started yesterday at 5 pm.", False),
        ("Would tomorrow morning work for a call?", False),
        ("退款会在3个工作日内原路退回。", True),
        ("目前暂时无法确定修复时间。", False),
        ("我們的服務時間是週一到週五9點到18點。", False),
        ("發票範本今天下午5點前恢復。", True),
        # round 4's generalisations: a date before the month, ranges of days, deadlines, aspect and habit
        ("The credit will show on your next statement, dated 1 December.", True),
        ("Your new card will arrive in 7 to 10 days.", True),
        ("The last backup ran at 3 am and completed successfully.", False),
        ("Our office is open 8 am to 8 pm on weekdays.", False),
        ("We hope to have more information later this week.", False),
        ("21号上午重新派送。", True),
        ("贷款合同周四寄出，请在20号前签回。", True),
        ("师傅周二上门检查过，线路没有发现故障。", False),
        ("最近一次备份是凌晨3点完成的，状态正常。", False),
        ("路由器6点12分报错后自动重启了。", False),
        ("我們平日早上8點到晚上8點上班。", False),
        ("希望這週稍晚能有更多消息。", False),
        ("退款會在3個工作天內退回。", True),
        # round 6's generalisations (kinds seen in round 5): tense by English clause, aspect, habit, full width
        ("We received your documents on Monday and will post the card on Thursday.", True),
        ("The parcel left our depot on Monday morning.", False),
        ("I booked the engineer for Thursday at 3 pm.", True),
        ("Opening times vary between 8 and 10 am depending on the branch.", False),
        ("Our helpline is closed on Sundays from 1 pm.", False),
        ("已为您安排周四下午3点上门。", True),
        ("包裹周一上午已从仓库发出。", False),
        ("包裹3天前已经发出。", False),
        ("在线客服每个工作日8点到18点在线。", False),
        ("發票15號開立給您。", True),
        ("明天１０：３０前給您回電。", True),
    ],
)
def test_what_counts_as_a_definite_plan(text: str, plan: bool) -> None:
    assert (gives_plan(text) is not None) is plan


@pytest.mark.parametrize(
    "name",
    ["agent_replies.yaml", "agent_replies_round3.yaml", "agent_replies_round4.yaml", "agent_replies_round5.yaml"],
)
def test_the_labelled_replies_meet_the_goal(name: str) -> None:
    """Precision and recall >= 0.85 per language on the corpora the rules were tuned on (rounds 1, 3, 4 and 5;
    benchmarks/bench_certainty.py prints the figures, and round 6's, which was never tuned on)."""
    corpus = yaml.safe_load((DATA / name).read_text(encoding="utf-8"))
    for lang, items in corpus.items():
        said = [(bool(i["plan"]), gives_plan(str(i["text"])) is not None) for i in items]
        tp = sum(1 for t, s in said if t and s)
        fp = sum(1 for t, s in said if s and not t)
        fn = sum(1 for t, s in said if t and not s)
        assert tp / (tp + fp) >= 0.85 and tp / (tp + fn) >= 0.85, (lang, tp, fp, fn)
    assert sum(len(v) for v in corpus.values()) >= (200 if name == "agent_replies.yaml" else 60)


def test_the_held_out_round_6_is_large_enough_and_labelled_both_ways() -> None:
    """Round 6 (the held-out figure in benchmarks/README.md) keeps at least 60 replies per language, half plans;
    its score is printed by benchmarks/bench_certainty.py, not asserted here, so that nobody tunes against it."""
    corpus = yaml.safe_load((DATA / "agent_replies_round6.yaml").read_text(encoding="utf-8"))
    assert set(corpus) == {"en", "zh-CN", "zh-TW"}
    for items in corpus.values():
        assert len(items) >= 60 and sum(bool(i["plan"]) for i in items) * 2 == len(items)
