"""Consistency across teams: is the service the same whichever group, person, channel or source a customer meets?

Customers judge a brand by the consistency of its service across outlets, teams and times (seed 002: "客户在不同
场景、不同时间享受到的服务的一致性"). This module puts the groups of one grouping side by side over the last
``weeks`` weeks and shows how far apart they are on three measures:

- **resolution time**: ``resolved_at - created_at`` of every ticket resolved in the window (median and
  quartiles per group);
- **review cell scores**: the mean cell score (0-1, the share of the rating scale reached, see
  :mod:`butterfly.review.scoring`) of every completed review of those tickets, overall and per cell;
- **experience levels**: the distribution of the five levels (:mod:`butterfly.review.experience`) in those reviews.

**Which tickets.** A ticket is in the window when it was resolved in ``[end - weeks, end)``; a ticket with no
resolution time but a closing time in the window is counted too (it has no resolution time). Reviews are the
completed reviews of those tickets (drafts are left out).

**Flags, and when there are none.** A group is *judged* only when it has enough data to mean something:

- resolution time: at least :data:`MIN_TICKETS` (10) tickets with a resolution time;
- cell scores and experience levels: at least :data:`MIN_REVIEWS` (5) completed reviews with a score / a level.

Each judged group is compared with the *other* judged groups (never with itself): its value's robust z-score is
``(value - median(others)) / (1.4826 x MAD(others))``, falling back to ``1.2533 x mean absolute deviation`` when
the MAD is 0, and never dividing by less than the practical difference below / 3 (so that when all other groups
agree exactly, a group is flagged exactly when it is practically different from them). Resolution times are compared on a log scale (a group twice as slow is as far from the rest whether
the others take two hours or two days). A group is flagged when ``|z| >= 3`` (three robust standard deviations)
**and** the difference matters in practice: at least 1.5x (or at most
1/1.5x) the others' median resolution time, at least 0.10 of the scale in mean cell score, or at least 0.5 of a
level in mean experience rank. With fewer than :data:`MIN_GROUPS_TO_COMPARE` (3) other judged groups there is
nothing to compare against, and no flag is raised. Counts are always shown, so a group of two tickets is visible
but gets no verdict.
"""

from __future__ import annotations

import json
import math
import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, literal_column, or_
from sqlalchemy import select as sa_select
from sqlmodel import col

from butterfly.checklist.model import CELL_ORDER, AnswerKind, load_builtin
from butterfly.errors import ButterflyError, InvalidInputError
from butterfly.reports.labels import labels
from butterfly.reports.rendering import FORMATS, report_context
from butterfly.review.experience import LEVEL_IDS, load_experience_levels
from butterfly.review.scoring import AnswerValue, cell_scores
from butterfly.store.models import Answer, Review, ReviewStatus, Ticket
from butterfly.templating.environment import render
from butterfly.timeutil import as_utc, utcnow

if TYPE_CHECKING:
    from sqlmodel import Session

    from butterfly.checklist.model import Checklist

MIN_TICKETS = 10
MIN_REVIEWS = 5
MIN_GROUPS_TO_COMPARE = 3
Z_THRESHOLD = 3.0
TIME_RATIO = 1.5
SCORE_DIFFERENCE = 0.10
RANK_DIFFERENCE = 0.5
DEFAULT_WEEKS = 8
CHUNK = 500  # review ids per IN (...) when fetching answers
NO_VALUE = "(none)"  # the group of tickets with no assignee / group / channel


class GroupBy(StrEnum):
    """What to group tickets by; each maps to a Ticket column."""

    assignee = "assignee"
    group = "group"
    channel = "channel"
    source = "source"

    @property
    def column(self) -> str:
        return "group_name" if self is GroupBy.group else self.value


class Measure(StrEnum):
    resolution_time = "resolution_time"
    cell_score = "cell_score"
    experience = "experience"


@dataclass(frozen=True)
class Flag:
    """One group far from the rest on one measure."""

    measure: Measure
    direction: str  # "slower" / "faster", "lower" / "higher"
    value: float  # the group's value (hours, score 0-1, mean rank 1-5)
    others: float  # the median of the other judged groups
    z: float
    compared_with: int  # how many other groups

    def to_dict(self) -> dict[str, Any]:
        return {
            "measure": self.measure.value,
            "direction": self.direction,
            "value": round(self.value, 4),
            "others_median": round(self.others, 4),
            "z": round(self.z, 2),
            "compared_with": self.compared_with,
        }


@dataclass
class GroupStats:
    """One group's counts and measures in the window."""

    name: str
    tickets: int = 0
    hours: list[float] = field(default_factory=list, repr=False)  # resolution times
    reviews: int = 0  # completed reviews
    review_scores: list[float] = field(default_factory=list, repr=False)  # one mean cell score per scored review
    cell_values: dict[str, list[float]] = field(default_factory=dict, repr=False)
    levels: dict[str, int] = field(default_factory=lambda: dict.fromkeys(LEVEL_IDS, 0))
    flags: list[Flag] = field(default_factory=list)
    z: dict[Measure, float] = field(default_factory=dict)  # distance from the other judged groups, per measure

    # -- counts --------------------------------------------------------------------------------------------
    @property
    def timed(self) -> int:
        """Tickets with a resolution time."""
        return len(self.hours)

    @property
    def scored(self) -> int:
        """Reviews with at least one answered rating."""
        return len(self.review_scores)

    @property
    def rated(self) -> int:
        """Reviews with an experience level."""
        return sum(self.levels.values())

    # -- measures ------------------------------------------------------------------------------------------
    @property
    def median_hours(self) -> float | None:
        return statistics.median(self.hours) if self.hours else None

    @property
    def quartile_hours(self) -> tuple[float, float] | None:
        """The 25th and 75th percentile of resolution time (needs two tickets)."""
        if len(self.hours) < 2:
            return None
        q = statistics.quantiles(self.hours, n=4, method="inclusive")
        return q[0], q[2]

    @property
    def mean_score(self) -> float | None:
        return statistics.fmean(self.review_scores) if self.review_scores else None

    def cell_mean(self, cell_id: str) -> float | None:
        values = self.cell_values.get(cell_id)
        return statistics.fmean(values) if values else None

    @property
    def mean_rank(self) -> float | None:
        if not self.rated:
            return None
        return sum((LEVEL_IDS.index(i) + 1) * n for i, n in self.levels.items()) / self.rated

    # -- who is judged ---------------------------------------------------------------------------------------
    def judged_on(self, measure: Measure, *, min_tickets: int, min_reviews: int) -> bool:
        if measure is Measure.resolution_time:
            return self.timed >= min_tickets
        if measure is Measure.cell_score:
            return self.scored >= min_reviews
        return self.rated >= min_reviews

    def value(self, measure: Measure) -> float | None:
        if measure is Measure.resolution_time:
            return self.median_hours
        if measure is Measure.cell_score:
            return self.mean_score
        return self.mean_rank

    def to_dict(self) -> dict[str, Any]:
        quart = self.quartile_hours
        return {
            "name": self.name,
            "tickets": self.tickets,
            "resolved_with_time": self.timed,
            "resolution_hours": {
                "median": _round(self.median_hours, 2),
                "p25": _round(quart[0], 2) if quart else None,
                "p75": _round(quart[1], 2) if quart else None,
            },
            "reviews": self.reviews,
            "scored_reviews": self.scored,
            "mean_cell_score": _round(self.mean_score, 4),
            "cell_scores": {c: _round(self.cell_mean(c), 4) for c in CELL_ORDER},
            "experience": {"counts": dict(self.levels), "rated": self.rated, "mean_rank": _round(self.mean_rank, 3)},
            "z": {m.value: round(v, 2) for m, v in self.z.items()},
            "flags": [f.to_dict() for f in self.flags],
        }


@dataclass(frozen=True)
class Spread:
    """How far apart the judged groups are on one measure."""

    measure: Measure
    groups: int  # judged groups
    minimum: float | None
    p25: float | None
    median: float | None
    p75: float | None
    maximum: float | None

    @property
    def ratio(self) -> float | None:
        """Slowest / fastest median resolution time (resolution time only)."""
        if self.measure is not Measure.resolution_time or not self.minimum or self.maximum is None:
            return None
        return self.maximum / self.minimum

    def to_dict(self) -> dict[str, Any]:
        digits = 2 if self.measure is Measure.resolution_time else 4
        return {
            "measure": self.measure.value,
            "judged_groups": self.groups,
            "min": _round(self.minimum, digits),
            "p25": _round(self.p25, digits),
            "median": _round(self.median, digits),
            "p75": _round(self.p75, digits),
            "max": _round(self.maximum, digits),
            "max_over_min": _round(self.ratio, 2),
        }


@dataclass(frozen=True)
class ConsistencyReport:
    """The groups of one grouping side by side, with the spread between them and the flags."""

    by: GroupBy
    weeks: int
    start: datetime
    end: datetime
    min_tickets: int
    min_reviews: int
    groups: list[GroupStats]  # most tickets first
    overall: GroupStats
    spreads: dict[Measure, Spread]
    unscored_reviews: int = 0  # completed reviews whose checklist could not be loaded for scoring
    language: str = "en"  # of the level names in :meth:`to_dict`
    generated_at: datetime = field(default_factory=utcnow)

    @property
    def judged(self) -> list[GroupStats]:
        """Groups with enough tickets for at least the resolution-time comparison, or enough reviews."""
        return [g for g in self.groups if any(self.is_judged(g, m) for m in Measure)]

    @property
    def too_small(self) -> list[GroupStats]:
        return [g for g in self.groups if not any(self.is_judged(g, m) for m in Measure)]

    @property
    def flagged(self) -> list[GroupStats]:
        return [g for g in self.groups if g.flags]

    def is_judged(self, group: GroupStats, measure: Measure) -> bool:
        return group.judged_on(measure, min_tickets=self.min_tickets, min_reviews=self.min_reviews)

    def to_dict(self) -> dict[str, Any]:
        """Everything as plain data: the JSON output, and what the templates render."""
        return {
            "kind": "consistency",
            "language": self.language,
            "generated_at": self.generated_at.isoformat(),
            "by": self.by.value,
            "weeks": self.weeks,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "thresholds": {
                "min_tickets": self.min_tickets,
                "min_reviews": self.min_reviews,
                "min_groups_to_compare": MIN_GROUPS_TO_COMPARE,
                "z": Z_THRESHOLD,
                "time_ratio": TIME_RATIO,
                "score_difference": SCORE_DIFFERENCE,
                "rank_difference": RANK_DIFFERENCE,
            },
            "totals": {
                "groups": len(self.groups),
                "judged_groups": len(self.judged),
                "flagged_groups": len(self.flagged),
                "tickets": self.overall.tickets,
                "reviews": self.overall.reviews,
                "unscored_reviews": self.unscored_reviews,
            },
            "levels": [{"id": lv.id, "name": lv.label(self.language)} for lv in load_experience_levels().levels],
            "cells": list(CELL_ORDER),
            "overall": self.overall.to_dict(),
            "spread": {m.value: s.to_dict() for m, s in self.spreads.items()},
            "groups": [
                {
                    **g.to_dict(),
                    "judged": {m.value: self.is_judged(g, m) for m in Measure},
                }
                for g in self.groups
            ],
        }


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


# -- statistics ----------------------------------------------------------------------------------------------


def robust_z(value: float, others: Sequence[float], *, floor: float = 0.0) -> float | None:
    """``value``'s distance from the median of ``others`` in robust standard deviations.

    The scale is ``1.4826 x MAD``, or ``1.2533 x mean absolute deviation`` when the MAD is 0, and never less than
    ``floor``. None when there are fewer than three others or no spread at all (and no floor).
    """
    if len(others) < MIN_GROUPS_TO_COMPARE:
        return None
    center = statistics.median(others)
    deviations = [abs(o - center) for o in others]
    scale = 1.4826 * statistics.median(deviations)
    if scale == 0:
        scale = 1.2533 * statistics.fmean(deviations)
    scale = max(scale, floor)
    if scale == 0:
        return None
    return (value - center) / scale


def _floor(measure: Measure) -> float:
    """The smallest scale: the practical difference divided by the z cut-off, so that when the other groups
    agree exactly, a group is flagged exactly when it differs from them by the practical difference."""
    if measure is Measure.resolution_time:
        return math.log(TIME_RATIO) / Z_THRESHOLD
    if measure is Measure.cell_score:
        return SCORE_DIFFERENCE / Z_THRESHOLD
    return RANK_DIFFERENCE / Z_THRESHOLD


def _transform(measure: Measure, value: float) -> float:
    if measure is Measure.resolution_time:
        return math.log(max(value, 1 / 60))  # at least a minute: a zero time must not be -inf
    return value


def _far_enough(measure: Measure, value: float, others: float) -> bool:
    if measure is Measure.resolution_time:
        low, high = sorted((max(value, 1 / 60), max(others, 1 / 60)))
        return high / low >= TIME_RATIO
    if measure is Measure.cell_score:
        return abs(value - others) >= SCORE_DIFFERENCE - 1e-9
    return abs(value - others) >= RANK_DIFFERENCE - 1e-9


def _direction(measure: Measure, z: float) -> str:
    if measure is Measure.resolution_time:
        return "slower" if z > 0 else "faster"
    return "higher" if z > 0 else "lower"


def flag_groups(groups: Sequence[GroupStats], *, min_tickets: int, min_reviews: int) -> None:
    """Set ``flags`` on every judged group far from the other judged groups (see the module docs)."""
    for g in groups:
        g.flags = []
        g.z = {}
    for measure in Measure:
        judged = [
            (g, v)
            for g in groups
            if g.judged_on(measure, min_tickets=min_tickets, min_reviews=min_reviews)
            and (v := g.value(measure)) is not None
        ]
        for g, v in judged:
            others = [o for h, o in judged if h is not g]
            z = robust_z(_transform(measure, v), [_transform(measure, o) for o in others], floor=_floor(measure))
            if z is None:
                continue
            g.z[measure] = z
            if abs(z) < Z_THRESHOLD:
                continue
            center = statistics.median(others)
            if not _far_enough(measure, v, center):
                continue
            g.flags.append(Flag(measure, _direction(measure, z), v, center, z, len(others)))


def spread_of(groups: Iterable[GroupStats], measure: Measure, *, min_tickets: int, min_reviews: int) -> Spread:
    values = sorted(
        v
        for g in groups
        if g.judged_on(measure, min_tickets=min_tickets, min_reviews=min_reviews)
        and (v := g.value(measure)) is not None
    )
    if not values:
        return Spread(measure, 0, None, None, None, None, None)
    if len(values) == 1:
        v = values[0]
        return Spread(measure, 1, v, v, v, v, v)
    q = statistics.quantiles(values, n=4, method="inclusive")
    return Spread(measure, len(values), values[0], q[0], q[1], q[2], values[-1])


# -- reading the data -----------------------------------------------------------------------------------------


def _window(weeks: int, end: datetime | None) -> tuple[datetime, datetime]:
    if weeks < 1:
        raise InvalidInputError(f"--weeks must be at least 1 (got {weeks})")
    e = as_utc(end) if end is not None else utcnow()
    assert e is not None
    return e - timedelta(weeks=weeks), e


def _in_window(start: datetime, end: datetime) -> Any:
    """SQL condition: resolved in the window, or (no resolution time) closed in it."""
    resolved, closed = col(Ticket.resolved_at), col(Ticket.closed_at)
    return or_(
        and_(resolved >= start, resolved < end),
        and_(resolved.is_(None), closed >= start, closed < end),
    )


def _hours_expr(session: Session) -> Any:
    """SQL: hours from ``created_at`` to ``resolved_at`` (NULL when either is missing), on either backend."""
    created, resolved = col(Ticket.created_at), col(Ticket.resolved_at)
    if session.get_bind().dialect.name == "sqlite":  # UTC text 'YYYY-MM-DD HH:MM:SS.ffffff'
        return (func.julianday(resolved) - func.julianday(created)) * literal_column("24.0")
    return func.extract("epoch", resolved - created) / literal_column("3600.0")


def _name(value: object) -> str:
    text = str(value).strip() if value is not None else ""
    return text or NO_VALUE


def _checklist_for(cache: dict[tuple[str, str], Checklist | None], checklist_id: str, lang: str) -> Checklist | None:
    key = (checklist_id, lang)
    if key not in cache:
        try:
            cl = load_builtin(checklist_id, lang)
        except ButterflyError:
            cl = None  # a team checklist that is not shipped: its reviews are counted but not scored
        cache[key] = cl if cl is not None and cl.kind == "butterfly" else None
    return cache[key]


def consistency(
    *,
    session: Session,
    by: GroupBy | str = GroupBy.group,
    weeks: int = DEFAULT_WEEKS,
    end: datetime | None = None,
    min_tickets: int = MIN_TICKETS,
    min_reviews: int = MIN_REVIEWS,
    language: str = "en",
) -> ConsistencyReport:
    """Resolution times, review cell scores and experience levels per group over ``weeks`` weeks up to ``end``.

    ``end`` defaults to now; the window is ``[end - weeks, end)``. See the module docs for which tickets and
    reviews count and when a group is flagged. ``language`` names the experience levels in :meth:`to_dict`.
    """
    try:
        grouping = GroupBy(by)
    except ValueError:
        raise InvalidInputError(
            f"unknown grouping '{by}'", hint="use one of: " + ", ".join(g.value for g in GroupBy)
        ) from None
    if min_tickets < 1 or min_reviews < 1:
        raise InvalidInputError("the minimum numbers of tickets and reviews must be at least 1")
    start, stop = _window(weeks, end)
    key_col = getattr(Ticket, grouping.column)
    where = _in_window(start, stop)

    groups: dict[str, GroupStats] = {}
    overall = GroupStats("all")

    def group(name: str) -> GroupStats:
        if name not in groups:
            groups[name] = GroupStats(name)
        return groups[name]

    # tickets and resolution times (hours computed by the database: no datetime parsing per row)
    for key, hours in session.execute(sa_select(key_col, _hours_expr(session)).where(where)).all():
        g = group(_name(key))
        g.tickets += 1
        overall.tickets += 1
        if hours is not None and hours >= 0:
            g.hours.append(float(hours))
            overall.hours.append(float(hours))

    # completed reviews of those tickets: experience levels
    reviews: dict[int, tuple[str, str, str]] = {}  # review id -> (group, checklist id, language)
    for review_id, key, level_id, checklist_id, lang in session.execute(
        sa_select(col(Review.id), key_col, col(Review.experience_level), col(Review.checklist_id), col(Review.language))
        .join(Ticket, col(Ticket.id) == col(Review.ticket_id))
        .where(where, col(Review.status) == ReviewStatus.complete.value)
    ).all():
        assert review_id is not None
        name = _name(key)
        reviews[review_id] = (name, checklist_id, lang)
        g = group(name)
        g.reviews += 1
        overall.reviews += 1
        if level_id in g.levels:
            g.levels[level_id] += 1
            overall.levels[level_id] += 1

    # their rating answers (only ratings count for cell scores), fetched by review id in chunks
    cache: dict[tuple[str, str], Checklist | None] = {}
    checklists = {key: _checklist_for(cache, *key) for key in {(cid, lang) for _, cid, lang in reviews.values()}}
    rating_ids = sorted(
        {q.id for cl in checklists.values() if cl is not None for q in cl.questions if q.kind is AnswerKind.rating}
    )
    answers: dict[int, dict[str, AnswerValue]] = defaultdict(dict)
    scored_ids = [rid for rid, (_, cid, lang) in reviews.items() if checklists[(cid, lang)] is not None]
    for i in range(0, len(scored_ids) if rating_ids else 0, CHUNK):
        for review_id, question_id, value, na in session.execute(
            sa_select(col(Answer.review_id), col(Answer.question_id), col(Answer.value), col(Answer.na)).where(
                col(Answer.review_id).in_(scored_ids[i : i + CHUNK]), col(Answer.question_id).in_(rating_ids)
            )
        ).all():
            answers[review_id][question_id] = AnswerValue(value, na)
    unscored = 0
    for review_id, (name, checklist_id, lang) in reviews.items():
        cl = checklists[(checklist_id, lang)]
        if cl is None:
            unscored += 1
            continue
        scores = [s for s in cell_scores(cl, answers.get(review_id, {})) if s.score is not None]
        if not scores:
            continue
        g = groups[name]
        mean = statistics.fmean(s.score for s in scores if s.score is not None)
        g.review_scores.append(mean)
        overall.review_scores.append(mean)
        for s in scores:
            assert s.score is not None
            g.cell_values.setdefault(s.cell_id, []).append(s.score)
            overall.cell_values.setdefault(s.cell_id, []).append(s.score)

    ordered = sorted(groups.values(), key=lambda g: (-g.tickets, -g.reviews, g.name))
    flag_groups(ordered, min_tickets=min_tickets, min_reviews=min_reviews)
    spreads = {m: spread_of(ordered, m, min_tickets=min_tickets, min_reviews=min_reviews) for m in Measure}
    return ConsistencyReport(
        by=grouping,
        weeks=weeks,
        start=start,
        end=stop,
        min_tickets=min_tickets,
        min_reviews=min_reviews,
        groups=ordered,
        overall=overall,
        spreads=spreads,
        unscored_reviews=unscored,
        language=language,
    )


def until_end(day: str, tz: str) -> datetime:
    """The end of the period whose last day is ``day`` (``YYYY-MM-DD`` in ``tz``): the next midnight there."""
    try:
        last = date.fromisoformat(day.strip())
    except ValueError:
        raise InvalidInputError(f"--until: '{day}' is not a date", hint="use YYYY-MM-DD, e.g. 2016-04-24") from None
    return datetime.combine(last + timedelta(days=1), time(0), tzinfo=ZoneInfo(tz))


def render_consistency(
    report: ConsistencyReport, *, fmt: str, tz: str = "UTC", user_templates: str | Path | None = None
) -> str:
    """The report as ``json``, or through the templates ``consistency.md`` / ``consistency.html``.

    The templates get the plain data of :meth:`ConsistencyReport.to_dict` as ``report`` (the same shape the weekly
    report embeds), the report labels as ``t``, and ``lang`` and ``tz``.
    """
    if fmt not in FORMATS:
        raise InvalidInputError(f"unknown report format '{fmt}'", hint="use md, html or json")
    data = report.to_dict()
    if fmt == "json":
        return json.dumps(data, ensure_ascii=False, indent=2) + "\n"
    context = report_context(data, labels(report.language), lang=report.language, tz=tz)
    return render(f"consistency.{fmt}", context, user_templates=user_templates)
