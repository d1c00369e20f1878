"""Experience levels across reviews: the distribution for one week, its trend, and the reviews that reached the top.

A review closes with the overall experience the customer got, on the five "net user value" layers of
:mod:`butterfly.review.experience` (devil, terrible, basement, baseline, ultimate). The weekly report shows

- the **distribution** for the report week: how many completed reviews landed on each level;
- its **trend** over the last 8 weeks (the report week and the 7 before it), oldest first;
- the **reviews that reached "ultimate"**: what went right is as worth copying as what went wrong.

A review counts in the week in which it was completed (``Review.completed_at``); drafts do not count. Every
reviewer's review of a ticket counts on its own. Completed reviews without a level are counted apart
(``not_rated``) so a gap in the data is visible rather than hidden.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlmodel import col, select

from butterfly.errors import InvalidInputError
from butterfly.review.experience import LEVEL_IDS, load_experience_levels
from butterfly.store.models import Review, ReviewStatus, Ticket
from butterfly.tickets import ticket_ref
from butterfly.timeutil import as_utc

if TYPE_CHECKING:
    from sqlmodel import Session

TREND_WEEKS = 8
BELOW_BASELINE: tuple[str, ...] = ("devil", "terrible", "basement")


@dataclass(frozen=True)
class LevelInfo:
    """One level's id, rank, name and one-line description in the report language."""

    id: str
    rank: int
    name: str
    description: str


@dataclass(frozen=True)
class Distribution:
    """Counts of completed reviews per experience level in ``[start, end)``."""

    start: datetime
    end: datetime
    counts: dict[str, int]  # every level id, worst first, zero included
    not_rated: int = 0  # completed reviews without a level

    @property
    def total(self) -> int:
        """Reviews with a level."""
        return sum(self.counts.values())

    def share(self, level_id: str) -> float | None:
        """The share (0-1) of rated reviews on this level; None when no review has a level."""
        return self.counts[level_id] / self.total if self.total else None

    @property
    def below_baseline(self) -> int:
        return sum(self.counts[i] for i in BELOW_BASELINE)

    @property
    def mean_rank(self) -> float | None:
        """The mean rank (1 = devil … 5 = ultimate) of rated reviews; None when there is none."""
        if not self.total:
            return None
        return sum((LEVEL_IDS.index(i) + 1) * n for i, n in self.counts.items()) / self.total

    def to_dict(self) -> dict[str, Any]:
        mean = self.mean_rank
        return {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "counts": dict(self.counts),
            "total": self.total,
            "not_rated": self.not_rated,
            "below_baseline": self.below_baseline,
            "ultimate_share": None if not self.total else round(self.counts["ultimate"] / self.total, 4),
            "mean_rank": None if mean is None else round(mean, 3),
        }


@dataclass(frozen=True)
class UltimateReview:
    """A completed review whose customer got the top experience level."""

    review_id: int
    ticket_ref: str  # SOURCE:EXTERNAL_ID
    subject: str | None
    reviewer: str
    completed_at: datetime
    group_name: str | None
    assignee: str | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "review_id": self.review_id,
            "ticket": self.ticket_ref,
            "subject": self.subject,
            "reviewer": self.reviewer,
            "completed_at": self.completed_at.isoformat(),
            "group": self.group_name,
            "assignee": self.assignee,
        }


@dataclass(frozen=True)
class ExperienceSummary:
    """Everything the weekly report shows about experience levels, with texts in ``language``."""

    language: str
    levels: list[LevelInfo]
    week: Distribution
    trend: list[Distribution] = field(default_factory=list)  # oldest first; the last one is ``week``
    ultimate: list[UltimateReview] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "language": self.language,
            "levels": [
                {"id": lv.id, "rank": lv.rank, "name": lv.name, "description": lv.description} for lv in self.levels
            ],
            "week": self.week.to_dict(),
            "trend": [d.to_dict() for d in self.trend],
            "ultimate": [u.to_dict() for u in self.ultimate],
        }


def level_infos(language: str) -> list[LevelInfo]:
    """The five levels, worst first, named and described in ``language``."""
    return [
        LevelInfo(lv.id, lv.rank, lv.label(language), lv.describe(language)) for lv in load_experience_levels().levels
    ]


def _rows(session: Session, start: datetime, end: datetime) -> list[tuple[str | None, datetime]]:
    stmt = select(Review.experience_level, Review.completed_at).where(
        Review.status == ReviewStatus.complete.value,
        col(Review.completed_at) >= start,
        col(Review.completed_at) < end,
    )
    rows: list[tuple[str | None, datetime]] = []
    for level_id, completed_at in session.exec(stmt).all():
        stamp = as_utc(completed_at)
        if stamp is not None:
            rows.append((level_id, stamp))
    return rows


def _count(rows: Sequence[tuple[str | None, datetime]], start: datetime, end: datetime) -> Distribution:
    counts = dict.fromkeys(LEVEL_IDS, 0)
    not_rated = 0
    for level_id, stamp in rows:
        if not start <= stamp < end:
            continue
        if level_id in counts:
            counts[level_id] += 1
        else:  # no level (or one this version does not know): counted apart, never dropped silently
            not_rated += 1
    return Distribution(start, end, counts, not_rated)


def _check_window(start: datetime, end: datetime) -> tuple[datetime, datetime]:
    s, e = as_utc(start), as_utc(end)
    assert s is not None and e is not None
    if e <= s:
        raise InvalidInputError(f"the period is empty: it ends ({e.isoformat()}) before it starts ({s.isoformat()})")
    return s, e


def level_distribution(*, session: Session, start: datetime, end: datetime) -> Distribution:
    """How many reviews completed in ``[start, end)`` reached each experience level."""
    s, e = _check_window(start, end)
    return _count(_rows(session, s, e), s, e)


def level_trend(*, session: Session, week_start: datetime, weeks: int = TREND_WEEKS) -> list[Distribution]:
    """The distribution for the week starting at ``week_start`` and the ``weeks - 1`` weeks before it, oldest first."""
    if weeks < 1:
        raise InvalidInputError(f"weeks must be at least 1 (got {weeks})")
    ws = as_utc(week_start)
    assert ws is not None
    first = ws - timedelta(weeks=weeks - 1)
    end = ws + timedelta(weeks=1)
    rows = _rows(session, first, end)
    return [_count(rows, first + timedelta(weeks=i), first + timedelta(weeks=i + 1)) for i in range(weeks)]


def ultimate_reviews(*, session: Session, start: datetime, end: datetime) -> list[UltimateReview]:
    """Completed reviews in ``[start, end)`` whose experience level is "ultimate", oldest first."""
    s, e = _check_window(start, end)
    stmt = (
        select(Review, Ticket)
        .join(Ticket, col(Ticket.id) == col(Review.ticket_id))
        .where(
            Review.status == ReviewStatus.complete.value,
            Review.experience_level == "ultimate",
            col(Review.completed_at) >= s,
            col(Review.completed_at) < e,
        )
        .order_by(col(Review.completed_at), col(Review.id))
    )
    out: list[UltimateReview] = []
    for review, ticket in session.exec(stmt).all():
        completed = as_utc(review.completed_at)
        assert review.id is not None and completed is not None
        out.append(
            UltimateReview(
                review_id=review.id,
                ticket_ref=ticket_ref(ticket.source, ticket.external_id),
                subject=ticket.subject,
                reviewer=review.reviewer,
                completed_at=completed,
                group_name=ticket.group_name,
                assignee=ticket.assignee,
            )
        )
    return out


def experience_summary(
    *, session: Session, week_start: datetime, language: str, weeks: int = TREND_WEEKS
) -> ExperienceSummary:
    """Distribution for the week starting at ``week_start``, its ``weeks``-week trend and the "ultimate" reviews."""
    trend = level_trend(session=session, week_start=week_start, weeks=weeks)
    week = trend[-1]
    return ExperienceSummary(
        language=language,
        levels=level_infos(language),
        week=week,
        trend=trend,
        ultimate=ultimate_reviews(session=session, start=week.start, end=week.end),
    )
