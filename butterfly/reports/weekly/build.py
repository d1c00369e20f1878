"""The weekly report put together: every section for one ISO week, plus the experience and consistency summaries."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from butterfly.checklist.model import Checklist
from butterfly.clock import Clock
from butterfly.errors import InvalidInputError
from butterfly.periods import parse_week
from butterfly.reports.consistency import consistency
from butterfly.reports.experience_stats import experience_summary
from butterfly.reports.recurring import DEFAULT_METHOD
from butterfly.reports.weekly.actions import action_summary
from butterfly.reports.weekly.certainty import certainty_gap
from butterfly.reports.weekly.common import closed_tickets
from butterfly.reports.weekly.coverage import review_coverage
from butterfly.reports.weekly.demand import demand_signals
from butterfly.reports.weekly.findings import finding_summary, not_for_publication
from butterfly.reports.weekly.model import DEFAULT_COVERAGE_TARGET, DEFAULT_TOP, WeeklyReport
from butterfly.reports.weekly.recurring import recurring_groups
from butterfly.reports.weekly.stories import stories
from butterfly.reports.weekly.summary import overdue_patches, previous_week, summarise, trend_start
from butterfly.silent import SilentRule, check_silent
from butterfly.similarity.choice import engine_name, make_engine
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
    clock: Clock | None = None,
    top: int = DEFAULT_TOP,
    coverage_target: float = DEFAULT_COVERAGE_TARGET,
    similarity: str | None = None,
) -> WeeklyReport:
    """The weekly report for ``week`` (``2026-W47``, ``last``, ``this``; default: the last complete week) in
    ``lang``, with weeks in ``tz``, opening with a summary; the Markdown and HTML list ``top`` items of each long
    list (the JSON all of them). ``similarity``: the engine of the ``tfidf`` grouping, ``tfidf`` or ``embeddings``
    (default: the settings'; see ``butterfly.similarity.choice``).

    Overdue and open action items are counted as of one moment, :attr:`WeeklyReport.as_of`: the end of the week,
    or now (``now``, else ``clock``'s, else the system clock) while the week is not over.
    """
    if weeks_back < 1 or weeks_back > 104:
        raise InvalidInputError(f"--weeks-back must be between 1 and 104, not {weeks_back}")
    if top < 1:
        raise InvalidInputError(f"--top must be at least 1, not {top}")
    if not 0.0 <= coverage_target <= 1.0:
        raise InvalidInputError(f"--coverage-target must be between 0 and 1, not {coverage_target}")
    clock = Clock(tz, fixed=now or (clock.now() if clock else utcnow()))
    now = clock.now()
    period = parse_week(week or "last", clock=clock)
    label, start, end = period.label, period.start, period.end
    as_of = min(end, now)
    today = clock.day_of(as_of)
    past = as_of if as_of < now else None
    rule = silent_rule or SilentRule()
    engine_used = engine_name(similarity) if method == "tfidf" else "tfidf"
    engine = make_engine(engine_used, session=session, lang=lang)
    tickets = closed_tickets(session, start, end)
    check, silent = check_silent(session=session, end=end, rule=rule)
    report = WeeklyReport(
        week=label,
        start=start,
        end=end,
        language=lang,
        timezone=tz,
        generated_at=now,
        weeks_back=weeks_back,
        method=method,
        similarity=engine_used,
        closed_tickets=len(tickets),
        recurring=recurring_groups(
            session=session,
            tickets=tickets,
            start=start,
            end=end,
            weeks_back=weeks_back,
            today=today,
            method=method,
            as_of=past,
            engine=engine,
        ),
        silent=silent,
        silent_rule={
            "recent_weeks": rule.recent_weeks,
            "baseline_weeks": rule.baseline_weeks,
            "min_baseline": rule.min_baseline,
            "min_drop": rule.min_drop,
            "min_baseline_weeks": rule.min_baseline_weeks,
            "min_covered_weeks": rule.min_covered_weeks,
        },
        demand=demand_signals(session=session, start=start, end=end, extra=[checklist] if checklist else []),
        coverage=review_coverage(
            session=session, start=start, end=end, closed=len(tickets), lang=lang, main=checklist
        ).model_copy(update={"certainty": certainty_gap(session=session, start=start, end=end, closed=len(tickets))}),
        actions=action_summary(session=session, start=start, end=end, today=today, as_of=past),
        findings=finding_summary(session=session, start=start, end=end, lang=lang, main=checklist, tz=tz),
        stories=stories(session=session, start=start, end=end, lang=lang, main=checklist),
        experience=_experience(session, start, lang),
        consistency=_consistency(session, end, weeks_back, lang, consistency_by),
        as_of=as_of,
        top=top,
        silent_check=check,
        trend_from=trend_start(start - timedelta(weeks=weeks_back - 1), weeks_back, check.data_from),
        not_for_publication=not_for_publication(session=session, start=start, end=end),
    )
    prev_iso = (start - timedelta(days=3)).astimezone(clock.tz).isocalendar()
    prev = parse_week(f"{prev_iso.year}-W{prev_iso.week:02d}", clock=clock)
    prev_start, prev_end = prev.start, prev.end  # exact also across a DST change
    last_week = None
    if check.data_from is not None and check.data_from < prev_end:
        last_week = previous_week(
            session=session,
            week=prev.label,
            start=prev_start,
            end=prev_end,
            today=today - timedelta(days=7),
            lang=lang,
            silent_rule=rule,
        )
    report.summary = summarise(
        report=report,
        overdue=overdue_patches(session, end, today),
        coverage_target=coverage_target,
        last_week=last_week,
        trend_from=report.trend_from,
    )
    return report
