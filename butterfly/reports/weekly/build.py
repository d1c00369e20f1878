"""The weekly report put together: every section for one ISO week, plus the experience and consistency summaries."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from butterfly.checklist.model import Checklist
from butterfly.errors import InvalidInputError
from butterfly.reports.consistency import consistency
from butterfly.reports.experience_stats import experience_summary
from butterfly.reports.recurring import DEFAULT_METHOD
from butterfly.reports.silent import SilentRule, silent_customers
from butterfly.reports.weekly.actions import action_summary
from butterfly.reports.weekly.common import closed_tickets
from butterfly.reports.weekly.coverage import review_coverage
from butterfly.reports.weekly.demand import demand_signals
from butterfly.reports.weekly.findings import finding_summary
from butterfly.reports.weekly.model import WeeklyReport
from butterfly.reports.weekly.recurring import recurring_groups
from butterfly.reports.weekly.stories import stories
from butterfly.reports.weekly.weeks import last_complete_week, parse_week, week_bounds
from butterfly.timeutil import utcnow

if TYPE_CHECKING:
    from sqlmodel import Session


def _experience(session: Session, start: datetime, lang: str) -> dict[str, Any] | None:
    """The experience-level summary of the week (``butterfly.reports.experience_stats``)."""
    result: dict[str, Any] = experience_summary(session=session, week_start=start, language=lang).to_dict()
    return result


def _consistency(session: Session, end: datetime, weeks: int, lang: str, by: str) -> dict[str, Any]:
    """Resolution times, review scores and experience levels across groups (``butterfly.reports.consistency``)."""
    return consistency(session=session, by=by, weeks=weeks, end=end, language=lang).to_dict()


def build_weekly_report(
    *,
    session: Session,
    week: str | None = None,
    weeks_back: int = 8,
    lang: str = "en",
    tz: str = "UTC",
    checklist: Checklist | None = None,
    method: str = DEFAULT_METHOD,
    silent_rule: SilentRule | None = None,
    now: datetime | None = None,
    consistency_by: str = "group",
) -> WeeklyReport:
    """The weekly report for ISO ``week`` (default: the last complete week) in ``lang``."""
    if weeks_back < 1 or weeks_back > 104:
        raise InvalidInputError(f"--weeks-back must be between 1 and 104, not {weeks_back}")
    now = now or utcnow()
    week = week or last_complete_week(now, tz)
    year, number = parse_week(week)
    label = f"{year}-W{number:02d}"
    start, end = week_bounds(year, number, tz)
    today = (end - timedelta(microseconds=1)).astimezone(ZoneInfo(tz)).date() + timedelta(days=1)
    rule = silent_rule or SilentRule()
    tickets = closed_tickets(session, start, end)
    return WeeklyReport(
        week=label,
        start=start,
        end=end,
        language=lang,
        timezone=tz,
        generated_at=now,
        weeks_back=weeks_back,
        method=method,
        closed_tickets=len(tickets),
        recurring=recurring_groups(
            session=session, tickets=tickets, start=start, end=end, weeks_back=weeks_back, today=today, method=method
        ),
        silent=silent_customers(session=session, end=end, rule=rule),
        silent_rule={
            "recent_weeks": rule.recent_weeks,
            "baseline_weeks": rule.baseline_weeks,
            "min_baseline": rule.min_baseline,
            "min_drop": rule.min_drop,
        },
        demand=demand_signals(session=session, start=start, end=end, extra=[checklist] if checklist else []),
        coverage=review_coverage(session=session, start=start, end=end, closed=len(tickets), lang=lang, main=checklist),
        actions=action_summary(session=session, start=start, end=end, today=today),
        findings=finding_summary(session=session, start=start, end=end),
        stories=stories(session=session, start=start, end=end, lang=lang, main=checklist),
        experience=_experience(session, start, lang),
        consistency=_consistency(session, end, weeks_back, lang, consistency_by),
    )
