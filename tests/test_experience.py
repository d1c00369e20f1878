"""Experience levels across reviews: the weekly distribution, its 8-week trend and the "ultimate" reviews."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from butterfly.errors import InvalidInputError

GOLDEN = Path(__file__).resolve().parent / "golden"
WEEK = datetime(2024, 3, 4, tzinfo=UTC)  # a Monday: the report week is 2024-03-04 .. 2024-03-10

# (weeks before the report week, level or None, reviewer, status) for a fixed, hand-countable dataset
DATASET: list[tuple[int, str | None, str, str]] = [
    # the report week: 2 ultimate, 1 baseline, 1 basement, 1 devil, 1 without a level, 1 draft (never counted)
    (0, "ultimate", "li", "complete"),
    (0, "ultimate", "wang", "complete"),
    (0, "baseline", "li", "complete"),
    (0, "basement", "li", "complete"),
    (0, "devil", "zhao", "complete"),
    (0, None, "zhao", "complete"),
    (0, "ultimate", "li", "draft"),
    # one week before: 1 terrible, 2 baseline
    (1, "terrible", "li", "complete"),
    (1, "baseline", "li", "complete"),
    (1, "baseline", "wang", "complete"),
    # three weeks before: 1 ultimate
    (3, "ultimate", "wang", "complete"),
    # seven weeks before (the oldest week of the trend): 1 devil
    (7, "devil", "li", "complete"),
    # eight weeks before: outside the trend
    (8, "ultimate", "li", "complete"),
    # the week after: outside everything
    (-1, "ultimate", "li", "complete"),
]


def _fill(session) -> None:  # type: ignore[no-untyped-def]
    from butterfly.store.models import Review, Ticket

    for n, (weeks_before, level_id, reviewer, status) in enumerate(DATASET, start=1):
        completed = WEEK - timedelta(weeks=weeks_before) + timedelta(days=n % 7, hours=9)
        ticket = Ticket(
            source="demo",
            external_id=f"T-{n:03d}",
            subject=f"ticket {n}",
            group_name="Billing" if n % 2 else "Logistics",
            assignee=f"agent{n % 3}",
            created_at=completed - timedelta(days=2),
            resolved_at=completed - timedelta(days=1),
            content_hash=f"{n:064d}",
        )
        session.add(ticket)
        session.flush()
        session.add(
            Review(
                ticket_id=ticket.id,
                reviewer=reviewer,
                checklist_id="butterfly",
                checklist_version="1.0",
                language="en",
                status=status,
                experience_level=level_id,
                started_at=completed - timedelta(hours=1),
                completed_at=completed if status == "complete" else None,
            )
        )
    session.commit()


def _golden(name: str, data: object) -> None:
    path = GOLDEN / name
    text = json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True) + "\n"
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"golden file missing: {path} (run with UPDATE_GOLDEN=1 once and review it)"
    assert text == path.read_text(encoding="utf-8")


def test_distribution_trend_and_ultimate_match_the_golden_output(session) -> None:  # type: ignore[no-untyped-def]
    from butterfly.reports.experience_stats import experience_summary

    _fill(session)
    summary = experience_summary(session=session, week_start=WEEK, language="en")
    week = summary.week
    assert week.counts == {"devil": 1, "terrible": 0, "basement": 1, "baseline": 1, "ultimate": 2}
    assert (week.total, week.not_rated, week.below_baseline) == (5, 1, 2)
    assert [d.total for d in summary.trend] == [1, 0, 0, 0, 1, 0, 3, 5]
    assert summary.trend[0].start.date().isoformat() == "2024-01-15"
    assert summary.trend[-1] == week
    assert [u.ticket_ref for u in summary.ultimate] == ["demo:T-001", "demo:T-002"]
    _golden("experience_summary.en.json", summary.to_dict())


def test_level_names_and_descriptions_come_in_the_report_language(session) -> None:  # type: ignore[no-untyped-def]
    from butterfly.reports.experience_stats import experience_summary

    _fill(session)
    cn = experience_summary(session=session, week_start=WEEK, language="zh-CN")
    tw = experience_summary(session=session, week_start=WEEK, language="zh-TW")
    assert [lv.name for lv in cn.levels] == ["魔鬼式", "恶劣型", "底层", "基础", "极致"]
    assert [lv.name for lv in tw.levels] == ["魔鬼式", "惡劣型", "底層", "基礎", "極致"]
    assert "惊喜" in cn.levels[-1].description
    assert cn.week.counts == tw.week.counts


def test_an_empty_week_has_zero_counts_not_an_error(session) -> None:  # type: ignore[no-untyped-def]
    from butterfly.reports.experience_stats import experience_summary

    summary = experience_summary(session=session, week_start=WEEK, language="en")
    assert summary.week.total == 0
    assert summary.week.mean_rank is None
    assert summary.week.share("ultimate") is None
    assert summary.ultimate == []
    assert len(summary.trend) == 8


def test_an_empty_period_is_refused(session) -> None:  # type: ignore[no-untyped-def]
    from butterfly.reports.experience_stats import level_distribution, level_trend

    with pytest.raises(InvalidInputError):
        level_distribution(session=session, start=WEEK, end=WEEK)
    with pytest.raises(InvalidInputError):
        level_trend(session=session, week_start=WEEK, weeks=0)


def _section(text: str, start: str, stop: str) -> str:
    i = text.index(start)
    return text[i : text.index(stop, i)]


def test_weekly_report_shows_distribution_trend_ultimate_and_consistency(session) -> None:  # type: ignore[no-untyped-def]
    from butterfly.labels import labels
    from butterfly.reports.rendering import render_report
    from butterfly.reports.weekly.build import build_weekly_report

    _fill(session)
    now = WEEK + timedelta(weeks=1, hours=9)
    for lang in ("en", "zh-CN"):
        data = build_weekly_report(session=session, week="2024-W10", lang=lang, now=now)
        assert data.experience is not None and data.experience["week"]["total"] == 5
        assert data.consistency is not None and data.consistency["by"] == "group"
        md = render_report("weekly", data, fmt="md", labels=labels(lang), lang=lang, tz="UTC")
        html = render_report("weekly", data, fmt="html", labels=labels(lang), lang=lang, tz="UTC")
        title = labels(lang)["experience_levels"]
        section = _section(md, f"### {title}", "\n## ")
        _golden_text(f"weekly_experience_section.{lang}.md", section)
        assert "## 8. " in md and '<section id="consistency">' in html
        assert '<section id="experience">' in html and "demo:T-001" in html


def _golden_text(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"golden file missing: {path} (run with UPDATE_GOLDEN=1 once and review it)"
    assert text == path.read_text(encoding="utf-8")
