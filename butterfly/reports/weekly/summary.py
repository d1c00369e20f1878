"""The two-minute summary that opens the weekly report, and what changed since the week before.

The summary is built from the finished sections (no second pass over the tickets) plus a few aggregates for the
previous week: closed tickets, review coverage, overdue process patches, findings and silent customers. The
recurring problems of the previous week are not grouped again (that is the expensive part); instead each top
problem carries its own trend, and the summary counts the problems that are new this week.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from butterfly.reports.weekly.coverage import review_coverage
from butterfly.reports.weekly.findings import finding_summary
from butterfly.reports.weekly.model import (
    FINDING_ORDER,
    SUMMARY_PROBLEMS,
    SummaryProblem,
    WeekFigures,
    WeeklyReport,
    WeeklySummary,
)
from butterfly.silent import SilentRule, check_silent

if TYPE_CHECKING:
    from sqlmodel import Session


def trend_word(trend: list[int], first: int = 0) -> str:
    """``new`` (nothing in the earlier weeks that have data), ``rising``/``falling`` (this week vs. the mean of the
    earlier weeks, by at least half) or ``steady``. ``first`` skips weeks before the data begins."""
    earlier = trend[first:-1]
    if not trend:
        return "steady"
    if not any(earlier):
        return "new"
    mean = sum(earlier) / len(earlier)
    if trend[-1] >= mean * 1.5:
        return "rising"
    if trend[-1] <= mean * 0.5:
        return "falling"
    return "steady"


def overdue_patches(session: Session, as_of: datetime, today: date) -> int:
    """Process patches that were open at ``as_of`` and due before ``today``."""
    from sqlalchemy import Date, bindparam, text

    from butterfly.store.models import UTCDateTime

    stmt = text(
        "SELECT COUNT(*) FROM action_item WHERE kind = 'process_patch' AND created_at < :as_of "
        "AND (status <> 'done' OR done_at >= :as_of) AND due_date < :today"
    ).bindparams(bindparam("as_of", type_=UTCDateTime()), bindparam("today", type_=Date()))
    return int(session.connection().execute(stmt, {"as_of": as_of, "today": today}).scalar_one() or 0)


def _closed_count(session: Session, start: datetime, end: datetime) -> int:
    from sqlalchemy import bindparam, text

    from butterfly.store.models import UTCDateTime

    stmt = text(
        "SELECT COUNT(*) FROM ticket WHERE status IN ('closed', 'resolved') AND closed_at >= :start AND closed_at < :end"
    ).bindparams(bindparam("start", type_=UTCDateTime()), bindparam("end", type_=UTCDateTime()))
    return int(session.connection().execute(stmt, {"start": start, "end": end}).scalar_one() or 0)


def previous_week(
    *, session: Session, week: str, start: datetime, end: datetime, today: date, lang: str, silent_rule: object
) -> WeekFigures:
    """The figures the summary compares against, for the week ``[start, end)`` (the one before the report's)."""

    closed = _closed_count(session, start, end)
    coverage = review_coverage(session=session, start=start, end=end, closed=closed, lang=lang, main=None)
    findings = finding_summary(session=session, start=start, end=end)
    rule = silent_rule if isinstance(silent_rule, SilentRule) else SilentRule()
    check, _ = check_silent(session=session, end=end, rule=rule)
    return WeekFigures(
        week=week,
        closed=closed,
        coverage=coverage.rate,
        overdue_patches=overdue_patches(session, end, today),
        findings=sum(findings.counts.values()),
        silent=check.silent_count if check.status == "checked" else None,
    )


def summarise(
    *,
    report: object,
    overdue: int,
    coverage_target: float,
    last_week: WeekFigures | None,
    trend_from: int,
) -> WeeklySummary:
    """The summary of a built weekly report (``butterfly.reports.weekly.WeeklyReport``)."""
    assert isinstance(report, WeeklyReport)
    counts = report.findings.counts
    order = [k for k in FINDING_ORDER if k in counts] + sorted(k for k in counts if k not in FINDING_ORDER)
    rate = report.coverage.rate
    top = [
        SummaryProblem(
            position=i + 1,
            label=g.label,
            customers=g.customer_count,
            tickets=g.ticket_count,
            trend=trend_word(g.trend, trend_from),
            process_patch=g.process_patch,
        )
        for i, g in enumerate(report.recurring[:SUMMARY_PROBLEMS])
    ]
    silent_status = report.silent_check.status if report.silent_check else "checked"
    this_week = WeekFigures(
        week=report.week,
        closed=report.closed_tickets,
        coverage=rate,
        overdue_patches=overdue,
        findings=sum(counts.values()),
        silent=len(report.silent) if silent_status == "checked" else None,
    )
    return WeeklySummary(
        coverage=rate,
        coverage_target=coverage_target,
        coverage_met=None if rate is None else rate >= coverage_target,
        overdue_patches=overdue,
        findings=[(k, counts[k]) for k in order if counts[k]],
        publicity_without_consent=counts.get("publicity_without_consent", 0),
        top_problems=top,
        problems=len(report.recurring),
        new_problems=sum(1 for g in report.recurring if trend_word(g.trend, trend_from) == "new"),
        silent_status=silent_status,
        silent=len(report.silent),
        this_week=this_week,
        last_week=last_week,
    )


def trend_start(hist_start: datetime, weeks: int, data_from: datetime | None) -> int:
    """How many of the trend's ``weeks`` (starting at ``hist_start``) end before the data's first ticket."""
    if data_from is None:
        return weeks
    skip = 0
    while skip < weeks and hist_start + timedelta(weeks=skip + 1) <= data_from:
        skip += 1
    return skip
