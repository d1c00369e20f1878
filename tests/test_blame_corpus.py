"""The blame-wording guard on the labelled corpus (tests/data/blame_corpus.yaml) and on the issue's hard shapes."""

from __future__ import annotations

import pytest
from blamekit import LANGUAGES, load, load_fresh, score, tuned_on
from hypothesis import given, settings
from hypothesis import strategies as st

from butterfly.errors import FileProblemsError
from butterfly.review.blame import find_blame, has_blame, parse_rules

PRECISION_FLOOR = 0.9
RECALL_FLOOR = 0.85
ITEMS = load()
FRESH = [i for i in load_fresh() if tuned_on(i)]  # a round not yet tuned for is the benchmark's alone


def test_corpus_has_the_promised_shape() -> None:
    assert len(ITEMS) >= 300
    for lang in LANGUAGES:
        mine = [i for i in ITEMS if i.lang == lang]
        assert len(mine) >= 100
        assert sum(i.blame for i in mine) == len(mine) // 2
    assert len({i.text for i in ITEMS}) == len(ITEMS)  # no answer twice


@pytest.mark.parametrize("part", ["held-out", "full", "fresh"])
@pytest.mark.parametrize("lang", LANGUAGES)
def test_corpus_meets_the_floor(lang: str, part: str) -> None:
    pool = FRESH if part == "fresh" else ITEMS
    chosen = [i for i in pool if i.lang == lang and (part != "held-out" or i.held_out)]
    s, false_alarms, misses = score(chosen, has_blame)
    detail = [f"false alarm {i.ref}: {i.text}" for i in false_alarms] + [f"missed {i.ref}: {i.text}" for i in misses]
    assert s.precision >= PRECISION_FLOOR, detail
    assert s.recall >= RECALL_FLOOR, detail


# The answers quoted in issue #14: the old word list missed the first group and flagged the second.
MISSED_BEFORE = [
    "这次主要是小王的问题",
    "小王答应回电，结果忘得一干二净",
    "处理人王磊能力不足",
    "张经理拍板太慢",
    "新来的客服态度敷衍",
    "Jenny's lack of follow-up is why the customer escalated.",
    "The night-shift agent didn't bother to read the notes.",
    "這是小陳的疏失",
]
FLAGGED_BEFORE = [
    "值班同事没看到这条工单，因为它被自动归到了低优先级队列",
    "工程师没有及时到场，是因为派单系统把工单派错了",
    "She didn't see the ticket because it was auto-routed to the low-priority queue.",
    "Mark never received the customer's reply.",
]


@pytest.mark.parametrize("answer", MISSED_BEFORE)
def test_issue_blame_shapes_are_caught(answer: str) -> None:
    assert has_blame(answer)


@pytest.mark.parametrize("answer", FLAGGED_BEFORE)
def test_issue_system_descriptions_are_left_alone(answer: str) -> None:
    assert not has_blame(answer)


def test_the_same_slip_is_blame_without_a_system_cause() -> None:
    assert has_blame("She didn't see the ticket.")
    assert not has_blame("She didn't see the ticket because it was auto-routed to the low-priority queue.")
    assert has_blame("值班同事没看到这条工单。")
    # a cause that is itself a person's slip is no system cause
    assert has_blame("工单超时是因为小彭忘了设置提醒。")
    assert has_blame("The rep gave wrong information because he didn't read the manual.")


def test_strong_fault_stays_blame_whatever_the_sentence_adds() -> None:
    assert has_blame("新来的客服态度敷衍，因为系统太慢。")
    assert has_blame("Mark was careless because the queue was long.")


def test_negation_and_the_reviewer_are_not_blame() -> None:
    assert not has_blame("不是小李的问题，邮件被过滤了。")
    assert not has_blame("It wasn't Wang's fault.")
    assert not has_blame("为什么我选择小陈去？因为当天只有他有空，而我没有确认他熟不熟悉这个型号。")


def test_match_spans_point_into_the_text() -> None:
    answer = "客户等了三天。这次主要是小王的问题。"
    [match] = find_blame(answer)
    assert answer[match.start : match.end] == match.phrase == "小王的问题"


def test_a_broken_rule_is_reported_with_its_place() -> None:
    good = {
        "persons": ["x"],
        "others": ["x"],
        "strong": ["x"],
        "lapse": ["x"],
        "direct": ["{person}"],
        "blame_causes": ["x"],
    }
    good |= {"cause_markers": ["x"], "system": ["x"], "structural": ["x"], "reframes": ["x"], "negations": ["x"]}
    data = {"languages": {"zh-CN": good, "zh-TW": good, "en": good | {"strong": ["(unclosed"]}}}
    with pytest.raises(FileProblemsError) as err:
        parse_rules("rules.yaml", data)
    assert [p.field for p in err.value.problems] == ["languages.en.strong[0]"]
    with pytest.raises(FileProblemsError) as err:
        parse_rules("rules.yaml", {"languages": {"zh-CN": good, "en": good}})
    assert [p.field for p in err.value.problems] == ["languages.zh-TW"]


ALPHABET = "abcdeTom didn't forgot because queue 小王忘了因为系统的问题不是，。,.;!?'-\n"


@given(st.text(alphabet=ALPHABET, max_size=300))
@settings(max_examples=150, deadline=None)
def test_any_text_gives_matches_that_point_into_it(answer: str) -> None:
    for match in find_blame(answer):
        assert 0 <= match.start < match.end <= len(answer)
        assert answer[match.start : match.end].strip() == match.phrase


def test_a_run_on_answer_is_read_in_pieces_with_true_offsets() -> None:
    from butterfly.review.blame import MAX_SENTENCE

    filler = "the queue was long and the tool was slow and "
    answer = filler * (3 * MAX_SENTENCE // len(filler)) + "都怪小李。"
    [match] = find_blame(answer)
    assert answer[match.start : match.end] == "都怪小李"
    blamed = "Tom dropped the ball and " * 100  # 2,500 characters, no sentence end
    assert len(find_blame(blamed)) == 100


# Shapes the generalised recognisers must read (written while broadening them; none is in the corpus): people and
# groups named by nickname, full name, title, role, "those over there", pronoun or team; fault, attitude, slowness,
# not caring, should-have and blame-assigning constructions; passive voice.
GENERAL_BLAME = [
    "小吴压根没看客户附的截图，就回了一句模板话。",
    "这回又是阿坤，问他什么都说不知道。",
    "技术支持那边的人根本不把客户当回事。",
    "责任全在客服小林。",
    "這次的鍋在小王。",
    "售后组一直拖着不处理。",
    "二線團隊態度很差。",
    "承辦人根本沒看附件就結案。",
    "工程师老秦觉得客户的问题太简单，懒得远程排查。",
    "The ticket was ignored by Sam for a week.",
    "The blame falls squarely on the night-shift agent.",
    "The delay mostly sat with Mr. Yan.",
    "Honestly the new guy has no idea what he's doing.",
    "Ken should have escalated it.",
    "The billing team dropped the ball.",
    "They were lazy about it.",
    "工单被小李压了三天。",
    "阿豪很白目，直接跟客戶嗆聲。",
    "Sloppy work from Chris, again.",
    "The manager overrode the process and made it worse.",
]
GENERAL_BLAMELESS = [
    "小吴没看到截图，因为附件在系统里显示不出来。",
    "经理当天就批了，没有耽误。",
    "老李不是不负责，他根本没有这个系统的权限。",
    "顾客态度很差，一直骂人。",
    "客户很生气，骂了小李一顿。",
    "夜班小组没有及时回复，因为系统告警没有推送。",
    "承辦人沒看到附件，因為系統不顯示超過十MB的檔案。",
    "Nina couldn't follow up because the ticket was closed automatically after 48 hours.",
    "It's not that he was careless; the form hid the field.",
    "She wasn't slow; the tool took ten minutes to load.",
    "The customer was upset and they hung up on us.",
    "The billing team didn't get the ticket because the routing rule sent it elsewhere.",
    "We should have given Ana access earlier.",
    "He didn't forget; the reminder never fired.",
    "他没有忘，提醒根本没有弹出来。",
    "老李担心客户觉得我们态度不好，所以多打了一次电话。",
]


@pytest.mark.parametrize("answer", GENERAL_BLAME)
def test_general_shapes_of_blame_are_caught(answer: str) -> None:
    assert has_blame(answer)


@pytest.mark.parametrize("answer", GENERAL_BLAMELESS)
def test_general_shapes_naming_people_are_left_alone(answer: str) -> None:
    assert not has_blame(answer)
