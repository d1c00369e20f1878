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
import statistics
from collections import defaultdict
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, literal_column, or_
from sqlalchemy import select as sa_select
from sqlmodel import col

from butterfly.checklist.model import AnswerKind, load_builtin
from butterfly.errors import ButterflyError, InvalidInputError
from butterfly.labels import labels
from butterfly.reports.consistency_stats import (
    CHUNK,
    DEFAULT_WEEKS,
    MIN_REVIEWS,
    MIN_TICKETS,
    NO_VALUE,
    ConsistencyReport,
    GroupBy,
    GroupStats,
    Measure,
    flag_groups,
    spread_of,
)
from butterfly.reports.rendering import FORMATS, report_context
from butterfly.review.scoring import AnswerValue, cell_scores
from butterfly.store.models import Answer, Review, ReviewStatus, Ticket
from butterfly.templating.environment import render
from butterfly.timeutil import as_utc, utcnow

if TYPE_CHECKING:
    from sqlmodel import Session

    from butterfly.checklist.model import Checklist

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
