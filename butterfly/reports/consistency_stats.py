"""The consistency report's data and statistics: groups, measures, spreads and the robust z-scores that flag a
group far from the rest (see :mod:`butterfly.reports.consistency` for what is compared and why)."""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from butterfly.checklist.model import CELL_ORDER
from butterfly.review.experience import LEVEL_IDS, load_experience_levels
from butterfly.timeutil import utcnow

if TYPE_CHECKING:
    pass


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
