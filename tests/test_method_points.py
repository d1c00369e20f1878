"""Seed 004's points in the shipped checklists and guard texts, and the words each language uses for them."""

from __future__ import annotations

from importlib import resources

import pytest

from butterfly.checklist.model import load_builtin
from butterfly.labels import labels
from butterfly.review.guards import LANGUAGES, finding_title, text

POINTS = {  # question id -> the point's words in each language
    "company.short.another_person": {"en": "why did I choose", "zh-CN": "为什么“我”选择", "zh-TW": "為什麼「我」選擇"},
    "company.short.blameless_root_cause": {"en": "every side gains", "zh-CN": "报喜不报忧", "zh-TW": "報喜不報憂"},
    "company.short.resources_authority": {
        "en": "best people",
        "zh-CN": "挑选最优秀的人员",
        "zh-TW": "挑選最優秀的人員",
    },
    "customer.short.fast_accurate": {"en": "repairing the relationship", "zh-CN": "关系修复", "zh-TW": "關係修復"},
    "customer.mid.trouble_mindset": {"en": "forgives a small mistake", "zh-CN": "原谅朋友", "zh-TW": "原諒朋友"},
    "customer.long.story": {"en": "moat", "zh-CN": "护城河", "zh-TW": "護城河"},
}


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_method_points_are_in_the_checklist_help(lang: str) -> None:
    checklist = load_builtin("butterfly", lang)
    for qid, words in POINTS.items():
        assert words[lang] in (checklist.question(qid).help or ""), (lang, qid)


def test_the_blameless_prompt_asks_in_the_first_person_and_about_bad_news() -> None:
    assert "Why did I choose this person" in text("blameless.prompt", "en", match="X")
    assert "为什么“我”选择这个人" in text("blameless.prompt", "zh-CN", match="X")
    assert "為什麼「我」選擇這個人" in text("blameless.prompt", "zh-TW", match="X")
    assert "报喜不报忧" in text("blameless.prompt", "zh-CN", match="X")


def test_taiwan_and_mainland_wording() -> None:
    builtin = resources.files("butterfly") / "checklist" / "builtin"
    for name in ("butterfly", "human-needs", "surprise"):
        tw = (builtin / f"{name}.zh-TW.yaml").read_text(encoding="utf-8")
        assert "復盤" not in tw and "跟進" not in tw and "聯繫" not in tw, name
    assert "移情" not in (builtin / "human-needs.zh-CN.yaml").read_text(encoding="utf-8")
    tw_labels = labels("zh-TW")
    assert tw_labels["report_ticket_title"] == "蝴蝶檢查覆盤"
    assert not any(w in v for v in tw_labels.values() for w in ("復盤", "跟進", "聯繫"))
    assert "例如遇到客訴" in text("compensation.why", "zh-TW")


@pytest.mark.parametrize("lang", LANGUAGES)
def test_one_name_per_finding_in_walk_and_reports(lang: str) -> None:
    report = labels(lang)
    for kind in ("compensation_before_resolution", "blame_wording", "publicity_without_consent"):
        assert report[f"finding_{kind}"] == finding_title(kind, lang)
