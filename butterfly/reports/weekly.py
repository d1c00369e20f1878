"""The weekly recurring-issue report: recurring problems, silent customers, demand signals, review coverage,
action items, findings and stories, for one ISO week.

All counting is done by SQL aggregates or narrow indexed fetches; only the text grouping of the week's closed
tickets runs in Python (vectorised, see ``textsim``). A ticket is *closed in the week* when its status is
closed or resolved and ``closed_at`` falls in the week; weeks run Monday 00:00 to Monday 00:00 in the report's
time zone.
"""

from __future__ import annotations

import importlib
import json
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel
from sqlalchemy import Date, bindparam, func, or_, select
from sqlalchemy import text as sql_text
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col

from butterfly.checklist.model import DEFAULT_CHECKLIST_ID, Checklist, Guard, builtin_checklist_ids, load_builtin
from butterfly.errors import InvalidInputError, NotFoundError
from butterfly.reports.consistency import consistency
from butterfly.reports.recurring import DEFAULT_METHOD, GroupInput, category_key, group_labels, groups_of
from butterfly.reports.silent import SilentCustomer, SilentRule, silent_customers
from butterfly.reports.textsim import SimilarityParams, cluster_texts, normalise
from butterfly.review.experience import load_experience_levels
from butterfly.review.scoring import AnswerValue, cell_scores
from butterfly.store.models import ActionItem, Answer, Finding, FindingKind, Review, Ticket, UTCDateTime
from butterfly.timeutil import as_utc, utcnow

if TYPE_CHECKING:
    from sqlmodel import Session

CLOSED_STATUSES = ("closed", "resolved")
WEAK_SCORE = 0.5  # a cell scoring below this in a review counts as weak
STORY_SCORE = 1.0  # customer.long score that makes a story (or experience level "ultimate")
MAX_LISTED = 10
_WEEK = re.compile(r"^(\d{4})-?W(\d{1,2})$", re.IGNORECASE)


# -- the data ------------------------------------------------------------------------------------------------


class TicketLink(BaseModel):
    ref: str
    customer: str | None
    subject: str | None


class ActionLink(BaseModel):
    id: int
    kind: str
    text: str
    owner: str | None
    due_date: date | None
    status: str
    overdue: bool
    ticket_ref: str | None


class RecurringGroup(BaseModel):
    label: str
    category: str | None
    tags: list[str]  # tags at least half of the group's tickets carry
    ticket_count: int
    customer_count: int
    customers: list[str]
    first_seen: datetime | None
    weeks_seen: int  # weeks of the trend with at least one ticket
    trend: list[int]  # tickets per week, oldest first; the last is the report week
    tickets: list[TicketLink]
    actions: list[ActionLink]
    process_patch: str  # missing | open | overdue | done
    overdue_actions: int
    outreach_candidates: list[str]
    outreach_candidate_count: int


class DemandExample(BaseModel):
    text: str
    ticket_ref: str
    customer: str | None
    reviewer: str


class DemandGroup(BaseModel):
    label: str
    mentions: int
    customers: list[str]
    examples: list[DemandExample]


class ReviewerCoverage(BaseModel):
    reviewer: str
    complete: int
    drafts: int


class CellWeakness(BaseModel):
    cell_id: str
    title: str
    side: str | None
    horizon: str | None
    weak: int
    scored: int
    average: float | None


class Coverage(BaseModel):
    closed: int
    reviewed: int  # closed tickets with at least one complete review
    draft_only: int  # ... with only draft reviews
    rate: float | None
    by_reviewer: list[ReviewerCoverage]
    weak_cells: list[CellWeakness]
    experience_levels: dict[str, int]


class ActionSummary(BaseModel):
    opened: int
    done: int
    overdue: int
    open_total: int
    overdue_items: list[ActionLink]


class FindingItem(BaseModel):
    kind: str
    detail: str
    reviewer: str
    ticket_ref: str
    created_at: datetime


class FindingSummary(BaseModel):
    counts: dict[str, int]
    items: list[FindingItem]


class Story(BaseModel):
    ticket_ref: str
    customer: str | None
    subject: str | None
    reviewer: str
    experience_level: str | None
    experience_label: str | None
    customer_long_score: float | None


class WeeklyReport(BaseModel):
    kind: str = "weekly"
    week: str
    start: datetime
    end: datetime
    language: str
    timezone: str
    generated_at: datetime
    weeks_back: int
    method: str
    closed_tickets: int
    recurring: list[RecurringGroup]
    silent: list[SilentCustomer]
    silent_rule: dict[str, int | float]
    demand: list[DemandGroup]
    coverage: Coverage
    actions: ActionSummary
    findings: FindingSummary
    stories: list[Story]
    experience: dict[str, Any] | None = None
    consistency: dict[str, Any] | None = (
        None  # butterfly.reports.consistency over the weeks_back weeks up to the week's end
    )


# -- weeks ---------------------------------------------------------------------------------------------------


def parse_week(text: str) -> tuple[int, int]:
    """``2026-W47`` (or ``2026W47``) as (ISO year, ISO week); a clear error otherwise."""
    m = _WEEK.match(text.strip())
    if not m:
        raise InvalidInputError(f"invalid week '{text}'", hint="write an ISO week like 2026-W47")
    year, week = int(m.group(1)), int(m.group(2))
    try:
        date.fromisocalendar(year, week, 1)
    except ValueError:
        raise InvalidInputError(f"invalid week '{text}': {year} has no week {week}") from None
    return year, week


def week_bounds(year: int, week: int, tz: str = "UTC") -> tuple[datetime, datetime]:
    """Monday 00:00 of the week and of the next week, in ``tz``, as aware UTC datetimes."""
    zone = ZoneInfo(tz)
    monday = date.fromisocalendar(year, week, 1)
    start = datetime(monday.year, monday.month, monday.day, tzinfo=zone)
    nxt = monday + timedelta(days=7)
    end = datetime(nxt.year, nxt.month, nxt.day, tzinfo=zone)
    return start.astimezone(UTC), end.astimezone(UTC)


def last_complete_week(now: datetime, tz: str = "UTC") -> str:
    """The ISO week before the one ``now`` falls in (the last complete week)."""
    local = now.astimezone(ZoneInfo(tz)).date() - timedelta(days=7)
    iso = local.isocalendar()
    return f"{iso.year}-W{iso.week:02d}"


# -- helpers -------------------------------------------------------------------------------------------------


def _c(*attrs: Any) -> list[Any]:
    """Model attributes as SQL column expressions (typed for ``select``); model classes pass through."""
    return [a if isinstance(a, type | ColumnElement) else col(a) for a in attrs]


def _earlier(a: datetime | None, b: datetime | None) -> datetime | None:
    if a is None:
        return b
    if b is None:
        return a
    return min(a, b)


def _all(session: Session, stmt: Any) -> Sequence[Any]:
    """All rows of a SQLAlchemy ``select`` of columns, run through the ORM session (types converted)."""
    rows: Sequence[Any] = session.exec(stmt).all()
    return rows


def _ref(source: str, external_id: str) -> str:
    return f"{source}:{external_id}"


def _who(customer: str | None, organization: str | None) -> str | None:
    return customer or organization or None


@lru_cache(maxsize=16)
def _builtin_guard_questions(guard: Guard) -> tuple[str, ...]:
    ids: dict[str, None] = {}
    for cid in builtin_checklist_ids():
        for q in load_builtin(cid, "en").questions:
            if q.guard is guard:
                ids[q.id] = None
    return tuple(ids)


def guard_questions(guard: Guard, extra: Iterable[Checklist] = ()) -> list[str]:
    """Ids of the questions tagged ``guard`` in the shipped checklists and lenses, and in ``extra`` ones."""
    ids = dict.fromkeys(_builtin_guard_questions(guard))
    for cl in extra:
        for q in cl.questions:
            if q.guard is guard:
                ids[q.id] = None
    return list(ids)


def _checklist(cache: dict[str, Checklist], checklist_id: str, lang: str, main: Checklist | None) -> Checklist:
    if checklist_id not in cache:
        if main is not None and main.id == checklist_id:
            cache[checklist_id] = main
        else:
            try:
                cache[checklist_id] = load_builtin(checklist_id, lang)
            except NotFoundError:
                cache[checklist_id] = main or load_builtin(DEFAULT_CHECKLIST_ID, lang)
    return cache[checklist_id]


def _yes(value: object) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        return value.strip().lower() in ("yes", "y", "true", "1", "是")
    return False


def _dt(value: object) -> datetime | None:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return as_utc(value) if isinstance(value, datetime) else None


# -- sections --------------------------------------------------------------------------------------------------


class _WeekTicket:
    __slots__ = (
        "category",
        "closed_at",
        "created_at",
        "customer",
        "description",
        "id",
        "ref",
        "subcategory",
        "subject",
        "tags",
    )

    def __init__(self, row: Sequence[Any]) -> None:
        (
            self.id,
            source,
            external_id,
            customer,
            organization,
            self.subject,
            self.description,
            self.category,
            self.subcategory,
            tags,
            self.created_at,
            self.closed_at,
        ) = row
        self.ref = _ref(source, external_id)
        self.customer = _who(customer, organization)
        self.tags = [str(t) for t in tags] if isinstance(tags, list) else []


def closed_tickets(session: Session, start: datetime, end: datetime) -> list[_WeekTicket]:
    """The tickets closed in ``[start, end)`` (status closed/resolved), with what grouping needs."""
    stmt = select(
        *_c(
            Ticket.id,
            Ticket.source,
            Ticket.external_id,
            Ticket.customer,
            Ticket.organization,
            Ticket.subject,
            Ticket.description,
            Ticket.category,
            Ticket.subcategory,
            Ticket.tags,
            Ticket.created_at,
            Ticket.closed_at,
        )
    ).where(col(Ticket.status).in_(CLOSED_STATUSES), col(Ticket.closed_at) >= start, col(Ticket.closed_at) < end)
    return [_WeekTicket(row) for row in _all(session, stmt)]


def _history(session: Session, start: datetime, end: datetime) -> list[tuple[Any, ...]]:
    """Closed tickets in ``[start, end)`` as raw rows (no per-row type conversion: this can be 100k+ rows).

    Columns: customer, organization, category, subcategory, tags (JSON text or list), subject, created_at,
    closed_at (text on SQLite, datetime on PostgreSQL).
    """
    stmt = sql_text(
        "SELECT customer, organization, category, subcategory, tags, subject, created_at, closed_at FROM ticket "
        "WHERE status IN ('closed', 'resolved') AND closed_at >= :start AND closed_at < :end"
    ).bindparams(bindparam("start", type_=UTCDateTime()), bindparam("end", type_=UTCDateTime()))
    return [tuple(row) for row in session.connection().execute(stmt, {"start": start, "end": end})]


def json_key(value: Any) -> str:
    """A hashable stand-in for a decoded JSON value (PostgreSQL returns lists)."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def _raw_tags(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return ()
    return tuple(str(t) for t in value) if isinstance(value, list) else ()


def _action_links(
    session: Session, start: datetime, end: datetime, today: date
) -> tuple[dict[int, list[ActionLink]], dict[str, list[ActionLink]]]:
    """Action items of the week's closed tickets (by ticket id), and process patches by category key."""
    ticket_id = func.coalesce(ActionItem.ticket_id, Review.ticket_id)
    stmt = (
        select(
            *_c(
                ActionItem.id,
                ActionItem.kind,
                ActionItem.text,
                ActionItem.owner,
                ActionItem.due_date,
                ActionItem.status,
                Ticket.id,
                Ticket.source,
                Ticket.external_id,
                Ticket.category,
                Ticket.subcategory,
                Ticket.tags,
                Ticket.closed_at,
            )
        )
        .select_from(ActionItem)
        .outerjoin(Review, col(Review.id) == ActionItem.review_id)
        .join(Ticket, col(Ticket.id) == ticket_id)
        .where(
            or_(
                col(ActionItem.kind) == "process_patch",
                (col(Ticket.closed_at) >= start) & (col(Ticket.closed_at) < end),
            )
        )
    )
    by_ticket: dict[int, list[ActionLink]] = {}
    patches: dict[str, list[ActionLink]] = {}
    for aid, kind, text, owner, due, status, tid, source, ext, cat, sub, tags, closed in _all(session, stmt):
        link = ActionLink(
            id=aid,
            kind=kind,
            text=text,
            owner=owner,
            due_date=due,
            status=status,
            overdue=status != "done" and due is not None and due < today,
            ticket_ref=_ref(source, ext),
        )
        closed_at = as_utc(closed)
        if closed_at is not None and start <= closed_at < end:
            by_ticket.setdefault(tid, []).append(link)
        if kind == "process_patch":
            key = category_key(cat, sub, tags if isinstance(tags, list) else [])
            if key is not None:
                patches.setdefault(key, []).append(link)
    return by_ticket, patches


def recurring_groups(
    *,
    session: Session,
    tickets: Sequence[_WeekTicket],
    start: datetime,
    end: datetime,
    weeks_back: int,
    today: date,
    method: str = DEFAULT_METHOD,
    params: SimilarityParams | None = None,
) -> list[RecurringGroup]:
    """Groups of the week's tickets seen at two or more customers, with their history over ``weeks_back`` weeks."""
    items = [GroupInput(t.subject, t.description, t.category, t.subcategory, t.tags) for t in tickets]
    groups = [
        g
        for g in groups_of(group_labels(items, method=method, params=params))
        if len({tickets[i].customer for i in g if tickets[i].customer}) >= 2
    ]
    if not groups:
        return []
    # what identifies each group in earlier weeks: its category keys and its exact normalised subjects
    by_key: dict[str, int] = {}
    by_subject: dict[str, int] = {}
    for gi, members in enumerate(groups):
        for i in members:
            t = tickets[i]
            key = category_key(t.category, t.subcategory, t.tags)
            if key is not None and method in ("hybrid", "category"):
                by_key.setdefault(key, gi)
            subject = normalise(t.subject)
            if subject:
                by_subject.setdefault(subject, gi)
    hist_start = start - timedelta(weeks=weeks_back - 1)
    trend = [[0] * weeks_back for _ in groups]
    first_seen: list[datetime | None] = [None] * len(groups)
    past_customers: list[set[str]] = [set() for _ in groups]
    norm_cache: dict[str, str] = {}
    key_cache: dict[tuple[Any, ...], str | None] = {}
    week_cache: dict[Any, int] = {}
    earliest: list[Any] = [None] * len(groups)
    for customer, org, cat, sub, tags, subject, created, closed in _history(session, hist_start, start):
        cache_key = (cat, sub, tags if isinstance(tags, str) else json_key(tags))
        if cache_key in key_cache:
            key = key_cache[cache_key]
        else:
            key = key_cache[cache_key] = category_key(cat, sub, _raw_tags(tags))
        hit = by_key.get(key) if key is not None else None
        via_category = hit is not None
        if hit is None and subject:
            norm = norm_cache.get(subject)
            if norm is None:
                norm = norm_cache[subject] = normalise(subject)
            hit = by_subject.get(norm)
        if hit is None:
            continue
        day = closed[:10] if isinstance(closed, str) else closed.date()
        week_index = week_cache.get(day)
        if week_index is None:
            closed_at = _dt(closed)
            assert closed_at is not None
            week_index = week_cache[day] = int((closed_at - hist_start) / timedelta(weeks=1))
        trend[hit][min(max(week_index, 0), weeks_back - 1)] += 1
        first = created if created is not None else closed
        if earliest[hit] is None or first < earliest[hit]:  # same type per backend: text (SQLite) or datetime
            earliest[hit] = first
        who = customer or org
        if who and via_category:
            past_customers[hit].add(who)
    for gi, value in enumerate(earliest):
        first_seen[gi] = _dt(value)
    actions_by_ticket, patches = _action_links(session, start, end, today)
    out = []
    for gi, members in enumerate(groups):
        rows = [tickets[i] for i in members]
        customers = sorted({t.customer for t in rows if t.customer})
        subjects = Counter(normalise(t.subject) for t in rows if normalise(t.subject))
        label = ""
        if subjects:
            top = subjects.most_common(1)[0][0]
            label = next((t.subject or "") for t in rows if normalise(t.subject) == top)
        keys = Counter(category_key(t.category, t.subcategory, t.tags) for t in rows)
        keys.pop(None, None)
        cats = Counter(" › ".join(p for p in (t.category, t.subcategory) if p) for t in rows)
        cats.pop("", None)
        category = cats.most_common(1)[0][0] if cats else None
        tag_counts = Counter(tag for t in rows for tag in t.tags)
        tags = [tag for tag, n in tag_counts.most_common() if n * 2 >= len(rows)]
        label = label or " · ".join(p for p in (category, ", ".join(tags)) if p) or rows[0].ref
        trend[gi][-1] = len(rows)
        for t in rows:
            first_seen[gi] = _earlier(first_seen[gi], as_utc(t.created_at) or as_utc(t.closed_at))
        linked: dict[int, ActionLink] = {}
        for t in rows:
            for a in actions_by_ticket.get(t.id, []):
                linked[a.id] = a
        for key in keys:
            for a in patches.get(key, []):  # type: ignore[arg-type]
                linked[a.id] = a
        actions = sorted(linked.values(), key=lambda a: (a.status == "done", a.due_date or date.max, a.id))
        patch_items = [a for a in actions if a.kind == "process_patch"]
        if not patch_items:
            patch = "missing"
        elif any(a.overdue for a in patch_items):
            patch = "overdue"
        elif any(a.status != "done" for a in patch_items):
            patch = "open"
        else:
            patch = "done"
        candidates = sorted(past_customers[gi] - set(customers))
        out.append(
            RecurringGroup(
                label=label,
                category=category,
                tags=tags,
                ticket_count=len(rows),
                customer_count=len(customers),
                customers=customers[: MAX_LISTED * 2],
                first_seen=first_seen[gi],
                weeks_seen=sum(1 for v in trend[gi] if v),
                trend=trend[gi],
                tickets=[TicketLink(ref=t.ref, customer=t.customer, subject=t.subject) for t in rows[:MAX_LISTED]],
                actions=actions[:MAX_LISTED],
                process_patch=patch,
                overdue_actions=sum(1 for a in actions if a.overdue),
                outreach_candidates=candidates[: MAX_LISTED * 2],
                outreach_candidate_count=len(candidates),
            )
        )
    out.sort(key=lambda g: (-g.customer_count, -g.ticket_count, g.label))
    return out


def demand_signals(
    *, session: Session, start: datetime, end: datetime, extra: Iterable[Checklist] = ()
) -> list[DemandGroup]:
    """Answers to ``demand_signal`` questions in reviews completed in the week, similar ones grouped."""
    ids = guard_questions(Guard.demand_signal, extra)
    if not ids:
        return []
    stmt = (
        select(
            *_c(Answer.value, Review.reviewer, Ticket.source, Ticket.external_id, Ticket.customer, Ticket.organization)
        )
        .join(Review, col(Review.id) == Answer.review_id)
        .join(Ticket, col(Ticket.id) == Review.ticket_id)
        .where(
            col(Answer.question_id).in_(ids),
            col(Answer.na).is_(False),
            col(Review.status) == "complete",
            col(Review.completed_at) >= start,
            col(Review.completed_at) < end,
        )
    )
    rows = [
        (str(value).strip(), reviewer, _ref(source, ext), _who(customer, org))
        for value, reviewer, source, ext, customer, org in _all(session, stmt)
        if isinstance(value, str) and value.strip()
    ]
    if not rows:
        return []
    labels = cluster_texts([normalise(r[0]) or r[0] for r in rows], params=SimilarityParams(threshold=0.4))
    out = []
    for members in groups_of([int(v) for v in labels]):
        texts = Counter(rows[i][0] for i in members)
        label = min(texts, key=lambda s: (-texts[s], len(s)))
        out.append(
            DemandGroup(
                label=label,
                mentions=len(members),
                customers=sorted({rows[i][3] for i in members if rows[i][3]}),
                examples=[
                    DemandExample(text=rows[i][0], ticket_ref=rows[i][2], customer=rows[i][3], reviewer=rows[i][1])
                    for i in members[:3]
                ],
            )
        )
    out.sort(key=lambda g: (-g.mentions, g.label))
    return out


def review_coverage(
    *, session: Session, start: datetime, end: datetime, closed: int, lang: str, main: Checklist | None
) -> Coverage:
    """Closed tickets of the week vs. reviewed, by reviewer; which cells were weak most often."""
    in_week = (
        col(Ticket.status).in_(CLOSED_STATUSES),
        col(Ticket.closed_at) >= start,
        col(Ticket.closed_at) < end,
    )
    reviews = _all(
        session,
        select(
            *_c(
                Review.id,
                Review.ticket_id,
                Review.reviewer,
                Review.status,
                Review.experience_level,
                Review.checklist_id,
            )
        )
        .join(Ticket, col(Ticket.id) == Review.ticket_id)
        .where(*in_week),
    )
    complete_tickets = {tid for _, tid, _, status, _, _ in reviews if status == "complete"}
    any_tickets = {tid for _, tid, _, _, _, _ in reviews}
    per_reviewer: dict[str, list[int]] = {}
    levels: Counter[str] = Counter()
    for _, _, reviewer, status, level, _ in reviews:
        counts = per_reviewer.setdefault(reviewer, [0, 0])
        counts[0 if status == "complete" else 1] += 1
        if status == "complete" and level:
            levels[level] += 1
    answers: dict[int, dict[str, AnswerValue]] = {}
    for review_id, qid, value, na in _all(
        session,
        select(*_c(Answer.review_id, Answer.question_id, Answer.value, Answer.na))
        .join(Review, col(Review.id) == Answer.review_id)
        .join(Ticket, col(Ticket.id) == Review.ticket_id)
        .where(*in_week, col(Review.status) == "complete"),
    ):
        answers.setdefault(review_id, {})[qid] = AnswerValue(value, na)
    cache: dict[str, Checklist] = {}
    weak: dict[str, list[float]] = {}
    titles: dict[str, tuple[str, str | None, str | None]] = {}
    for review_id, _, _, status, _, checklist_id in reviews:
        if status != "complete":
            continue
        cl = _checklist(cache, checklist_id, lang, main)
        for score in cell_scores(cl, answers.get(review_id, {})):
            cell = cl.cell(score.cell_id)
            titles.setdefault(score.cell_id, (cell.title, cell.side, cell.horizon))
            if score.score is not None:
                weak.setdefault(score.cell_id, []).append(score.score)
    cells = [
        CellWeakness(
            cell_id=cid,
            title=titles[cid][0],
            side=titles[cid][1],
            horizon=titles[cid][2],
            weak=sum(1 for s in scores if s < WEAK_SCORE),
            scored=len(scores),
            average=round(sum(scores) / len(scores), 3) if scores else None,
        )
        for cid, scores in weak.items()
    ]
    cells.sort(key=lambda c: (-c.weak, c.average if c.average is not None else 1.0, c.cell_id))
    return Coverage(
        closed=closed,
        reviewed=len(complete_tickets),
        draft_only=len(any_tickets - complete_tickets),
        rate=round(len(complete_tickets) / closed, 3) if closed else None,
        by_reviewer=sorted(
            (ReviewerCoverage(reviewer=r, complete=c[0], drafts=c[1]) for r, c in per_reviewer.items()),
            key=lambda r: (-r.complete, -r.drafts, r.reviewer),
        ),
        weak_cells=cells,
        experience_levels=dict(levels),
    )


def action_summary(*, session: Session, start: datetime, end: datetime, today: date) -> ActionSummary:
    """Action items opened and done in the week, overdue at its end, open in total; the overdue ones listed."""
    stmt = sql_text(
        "SELECT "
        "SUM(CASE WHEN created_at >= :start AND created_at < :end THEN 1 ELSE 0 END), "
        "SUM(CASE WHEN done_at >= :start AND done_at < :end THEN 1 ELSE 0 END), "
        "SUM(CASE WHEN status <> 'done' AND due_date < :today THEN 1 ELSE 0 END), "
        "SUM(CASE WHEN status <> 'done' THEN 1 ELSE 0 END) "
        "FROM action_item"
    ).bindparams(
        bindparam("start", type_=UTCDateTime()),
        bindparam("end", type_=UTCDateTime()),
        bindparam("today", type_=Date()),
    )
    opened, done, overdue, open_total = (
        session.connection().execute(stmt, {"start": start, "end": end, "today": today}).one()
    )
    ticket_id = select(*_c(Review.ticket_id)).where(col(Review.id) == ActionItem.review_id).scalar_subquery()

    rows = _all(
        session,
        select(*_c(ActionItem, Ticket.source, Ticket.external_id))
        .outerjoin(Ticket, col(Ticket.id) == func.coalesce(ActionItem.ticket_id, ticket_id))
        .where(col(ActionItem.status) != "done", col(ActionItem.due_date) < today)
        .order_by(col(ActionItem.due_date), col(ActionItem.id))
        .limit(MAX_LISTED * 2),
    )
    items = [
        ActionLink(
            id=a.id or 0,
            kind=a.kind,
            text=a.text,
            owner=a.owner,
            due_date=a.due_date,
            status=a.status,
            overdue=True,
            ticket_ref=_ref(source, ext) if source is not None else None,
        )
        for a, source, ext in rows
    ]
    return ActionSummary(
        opened=int(opened or 0),
        done=int(done or 0),
        overdue=int(overdue or 0),
        open_total=int(open_total or 0),
        overdue_items=items,
    )


def finding_summary(*, session: Session, start: datetime, end: datetime) -> FindingSummary:
    """Findings made in the week, counted by kind, the latest listed."""
    window = (col(Finding.created_at) >= start, col(Finding.created_at) < end)
    counts = {kind.value: 0 for kind in FindingKind}
    for kind, n in _all(session, select(*_c(Finding.kind, func.count())).where(*window).group_by(Finding.kind)):
        counts[kind] = int(n)
    rows = _all(
        session,
        select(
            *_c(Finding.kind, Finding.detail, Review.reviewer, Ticket.source, Ticket.external_id, Finding.created_at)
        )
        .join(Review, col(Review.id) == Finding.review_id)
        .join(Ticket, col(Ticket.id) == Review.ticket_id)
        .where(*window)
        .order_by(col(Finding.created_at).desc(), col(Finding.id).desc())
        .limit(MAX_LISTED * 3),
    )
    items = [
        FindingItem(kind=k, detail=d, reviewer=r, ticket_ref=_ref(s, e), created_at=c) for k, d, r, s, e, c in rows
    ]
    return FindingSummary(counts=counts, items=items)


def stories(*, session: Session, start: datetime, end: datetime, lang: str, main: Checklist | None) -> list[Story]:
    """Reviews completed in the week with an outstanding customer outcome (experience level "ultimate", or a full
    score in the customer's long-term cell). A review whose case is planned for publicity without the customer's
    consent is never listed."""
    extra = [main] if main is not None else []
    planned_ids = set(guard_questions(Guard.publicity_planned, extra))
    consent_ids = set(guard_questions(Guard.consent_given, extra))
    reviews = _all(
        session,
        select(
            *_c(
                Review.id,
                Review.reviewer,
                Review.experience_level,
                Review.checklist_id,
                Ticket.source,
                Ticket.external_id,
                Ticket.customer,
                Ticket.organization,
                Ticket.subject,
            )
        )
        .join(Ticket, col(Ticket.id) == Review.ticket_id)
        .where(col(Review.status) == "complete", col(Review.completed_at) >= start, col(Review.completed_at) < end)
        .order_by(col(Review.completed_at), col(Review.id)),
    )
    if not reviews:
        return []
    answers: dict[int, dict[str, AnswerValue]] = {}
    for review_id, qid, value, na in _all(
        session,
        select(*_c(Answer.review_id, Answer.question_id, Answer.value, Answer.na))
        .join(Review, col(Review.id) == Answer.review_id)
        .where(col(Review.status) == "complete", col(Review.completed_at) >= start, col(Review.completed_at) < end),
    ):
        answers.setdefault(review_id, {})[qid] = AnswerValue(value, na)
    levels = load_experience_levels()
    cache: dict[str, Checklist] = {}
    out = []
    for rid, reviewer, level, checklist_id, source, ext, customer, org, subject in reviews:
        given = answers.get(rid, {})
        planned = any(_yes(given[q].value) for q in planned_ids if q in given and not given[q].na)
        consent = any(_yes(given[q].value) for q in consent_ids if q in given and not given[q].na)
        if planned and not consent:
            continue
        cl = _checklist(cache, checklist_id, lang, main)
        long_score = next((s.score for s in cell_scores(cl, given) if s.cell_id == "customer.long"), None)
        if level != "ultimate" and (long_score is None or long_score < STORY_SCORE):
            continue
        label = None
        if level:
            try:
                label = levels.level(level).label(lang)
            except NotFoundError:
                label = level
        out.append(
            Story(
                ticket_ref=_ref(source, ext),
                customer=_who(customer, org),
                subject=subject,
                reviewer=reviewer,
                experience_level=level,
                experience_label=label,
                customer_long_score=long_score,
            )
        )
    return out[: MAX_LISTED * 2]


def _experience(session: Session, start: datetime, lang: str) -> dict[str, Any] | None:
    """The experience-level summary of ``butterfly.reports.experience_stats`` when it is there."""
    try:
        summary = importlib.import_module("butterfly.reports.experience_stats").experience_summary
    except (ImportError, AttributeError):
        return None
    result: dict[str, Any] = summary(session=session, week_start=start, language=lang).to_dict()
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
