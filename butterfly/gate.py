"""The review gate behind ``butterfly check``: what falls short, and whether a pipeline should fail.

Four things can fall short:

- **coverage**: closed tickets (status ``closed`` or ``resolved``, closed in the period) that have no review;
  ``coverage`` is the share that have one (with ``require_complete``, a *complete* one);
- **incomplete reviews**: draft reviews of those tickets (they fail the gate only with ``require_complete``);
- **overdue action items**: status ``open`` and ``due_date`` before today — as of today, whatever the period;
- **publicity without consent**: a review of those tickets with a ``publicity_without_consent`` finding, or a
  complete review whose answer to the question guarded ``publicity_planned`` is yes without a yes to the
  question guarded ``consent_given``. Always fails the gate.

:func:`run_gate` returns a :class:`GateResult`; its :meth:`GateResult.to_dict` is the documented, versioned
``--json`` shape (``"schema": "butterfly.check/1"``). Ticket lists name tickets by ``source:external_id`` only
(no customer names: gate output ends up in CI logs).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import and_, exists, func, select
from sqlmodel import col

from butterfly.errors import InvalidInputError
from butterfly.review.answers import is_yes
from butterfly.store.models import ActionItem, Answer, Finding, Review, Ticket
from butterfly.tickets import ticket_ref

if TYPE_CHECKING:
    from sqlmodel import Session

    from butterfly.checklist.model import Checklist

SCHEMA = "butterfly.check/1"
CLOSED_STATUSES = ("closed", "resolved")


# -- periods -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """A half-open time range [since, until); either end may be open."""

    since: datetime | None = None
    until: datetime | None = None
    week: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "since": self.since.isoformat() if self.since else None,
            "until": self.until.isoformat() if self.until else None,
            "week": self.week,
        }

    def describe(self) -> str:
        if self.week:
            return f"week {self.week}"
        if self.since and self.until:
            return f"{self.since.isoformat()} to {self.until.isoformat()}"
        if self.since:
            return f"since {self.since.isoformat()}"
        if self.until:
            return f"until {self.until.isoformat()}"
        return "all time"


def zone(name: str) -> tzinfo:
    """A time zone by IANA name (``UTC`` for UTC)."""
    if name.upper() == "UTC":
        return UTC

    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInputError(f"unknown time zone '{name}'", hint="use an IANA name such as Asia/Shanghai") from None


def parse_instant(text: str, tz: tzinfo, *, option: str, end: bool = False, now: datetime | None = None) -> datetime:
    """``YYYY-MM-DD`` (start of that day; with ``end``, the start of the next day), an ISO date-time (naive ones
    in ``tz``), or ``7d`` / ``12h`` (that long before now)."""
    value = text.strip()
    rel = re.fullmatch(r"(\d+)\s*([dhw])", value)
    if rel:
        n, unit = int(rel.group(1)), rel.group(2)
        delta = {"d": timedelta(days=n), "h": timedelta(hours=n), "w": timedelta(weeks=n)}[unit]
        return (now or datetime.now(UTC)) - delta
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            day = date.fromisoformat(value)
            if end:
                day += timedelta(days=1)
            return datetime.combine(day, time(0), tz).astimezone(UTC)
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInputError(
            f"{option}: '{text}' is not a date or time",
            hint="use YYYY-MM-DD, an ISO date-time such as 2026-11-20T09:00, or 7d / 12h",
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=tz)
    return parsed.astimezone(UTC)


def parse_week(text: str, tz: tzinfo, *, today: date | None = None) -> tuple[str, datetime, datetime]:
    """``2026-W47``, ``last`` or ``this`` -> (label, Monday 00:00, next Monday 00:00) in ``tz``, as UTC."""
    value = text.strip()
    today = today or datetime.now(tz).date()
    if value in ("this", "last"):
        monday = today - timedelta(days=today.weekday())
        if value == "last":
            monday -= timedelta(days=7)
    else:
        m = re.fullmatch(r"(\d{4})-?W(\d{1,2})", value, flags=re.IGNORECASE)
        if not m:
            raise InvalidInputError(f"--week: '{text}' is not an ISO week", hint="use e.g. 2026-W47, last or this")
        try:
            monday = date.fromisocalendar(int(m.group(1)), int(m.group(2)), 1)
        except ValueError:
            raise InvalidInputError(f"--week: {text} does not exist") from None
    year, week, _ = monday.isocalendar()
    start = datetime.combine(monday, time(0), tz).astimezone(UTC)
    end = datetime.combine(monday + timedelta(days=7), time(0), tz).astimezone(UTC)
    return f"{year}-W{week:02d}", start, end


def resolve_period(
    *,
    since: str | None = None,
    until: str | None = None,
    week: str | None = None,
    tz: tzinfo = UTC,
    now: datetime | None = None,
) -> Period:
    """The period named by ``--since``/``--until`` or ``--week`` (not both)."""
    if week is not None:
        if since is not None or until is not None:
            raise InvalidInputError("--week cannot be combined with --since/--until")
        today = (now or datetime.now(UTC)).astimezone(tz).date()
        label, monday, next_monday = parse_week(week, tz, today=today)
        return Period(monday, next_monday, label)
    start: datetime | None = parse_instant(since, tz, option="--since", now=now) if since else None
    end: datetime | None = parse_instant(until, tz, option="--until", end=True, now=now) if until else None
    if start and end and start >= end:
        raise InvalidInputError(f"--since ({since}) must be before --until ({until})")
    return Period(start, end)


# -- the gate ----------------------------------------------------------------------------------------------------


@dataclass
class Check:
    name: str  # coverage | incomplete_reviews | overdue_actions | publicity_without_consent
    ok: bool
    enforced: bool
    value: float | int | None
    limit: float | int | None
    message: str


@dataclass
class GateResult:
    period: Period
    today: date
    min_coverage: float
    max_overdue: int
    require_complete: bool
    closed_tickets: int = 0
    reviewed: int = 0  # closed tickets with a review that counts (any, or complete with require_complete)
    complete: int = 0  # closed tickets with a complete review
    unreviewed_count: int = 0
    unreviewed: list[dict[str, Any]] = field(default_factory=list)
    drafts_count: int = 0
    drafts: list[dict[str, Any]] = field(default_factory=list)
    overdue_count: int = 0
    overdue: list[dict[str, Any]] = field(default_factory=list)
    publicity_count: int = 0
    publicity: list[dict[str, Any]] = field(default_factory=list)
    limit: int | None = None
    checks: list[Check] = field(default_factory=list)

    @property
    def coverage(self) -> float | None:
        return self.reviewed / self.closed_tickets if self.closed_tickets else None

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    @property
    def exit_code(self) -> int:
        return 0 if self.ok else 1

    def to_dict(self) -> dict[str, Any]:
        """The ``--json`` shape, version ``butterfly.check/1`` (see README: "butterfly check")."""
        return {
            "schema": SCHEMA,
            "ok": self.ok,
            "exit_code": self.exit_code,
            "period": self.period.to_dict(),
            "today": self.today.isoformat(),
            "thresholds": {
                "min_coverage": self.min_coverage,
                "max_overdue": self.max_overdue,
                "require_complete": self.require_complete,
            },
            "counts": {
                "closed_tickets": self.closed_tickets,
                "reviewed": self.reviewed,
                "complete": self.complete,
                "unreviewed": self.unreviewed_count,
                "incomplete_reviews": self.drafts_count,
                "overdue_actions": self.overdue_count,
                "publicity_without_consent": self.publicity_count,
            },
            "coverage": None if self.coverage is None else round(self.coverage, 4),
            "checks": [
                {
                    "name": c.name,
                    "ok": c.ok,
                    "enforced": c.enforced,
                    "value": c.value,
                    "limit": c.limit,
                    "message": c.message,
                }
                for c in self.checks
            ],
            "list_limit": self.limit,
            "unreviewed": self.unreviewed,
            "incomplete_reviews": self.drafts,
            "overdue_actions": self.overdue,
            "publicity_without_consent": self.publicity,
        }


def guard_question_ids(checklists: Iterable[Checklist], guard: str) -> set[str]:
    return {q.id for cl in checklists for q in cl.questions if q.guard is not None and q.guard.value == guard}


def run_gate(
    session: Session,
    *,
    period: Period,
    checklists: Sequence[Checklist],
    min_coverage: float = 0.8,
    max_overdue: int = 0,
    require_complete: bool = False,
    today: date | None = None,
    limit: int | None = 20,
) -> GateResult:
    """Measure the period against the thresholds. Read-only."""
    if not 0.0 <= min_coverage <= 1.0:
        raise InvalidInputError(f"--min-coverage must be between 0 and 1, not {min_coverage}")
    if max_overdue < 0:
        raise InvalidInputError(f"--max-overdue must be 0 or more, not {max_overdue}")
    if limit is not None and limit <= 0:
        limit = None
    today = today or datetime.now(UTC).date()
    result = GateResult(period, today, min_coverage, max_overdue, require_complete, limit=limit)

    closed_time = func.coalesce(col(Ticket.closed_at), col(Ticket.resolved_at))
    in_period: list[Any] = [col(Ticket.status).in_(CLOSED_STATUSES)]
    if period.since is not None:
        in_period.append(closed_time >= period.since)
    if period.until is not None:
        in_period.append(closed_time < period.until)
    any_review = exists().where(col(Review.ticket_id) == col(Ticket.id))
    complete_review = exists().where(col(Review.ticket_id) == col(Ticket.id), col(Review.status) == "complete")
    counting = complete_review if require_complete else any_review

    def count(*conds: Any) -> int:
        return int(session.execute(select(func.count()).select_from(Ticket).where(*in_period, *conds)).scalar_one())

    result.closed_tickets = count()
    result.reviewed = count(counting)
    result.complete = count(complete_review)
    result.unreviewed_count = result.closed_tickets - result.reviewed

    unreviewed = (
        select(col(Ticket.source), col(Ticket.external_id), closed_time.label("closed"), any_review.label("draft"))
        .where(*in_period, ~counting)
        .order_by(closed_time, col(Ticket.id))
        .limit(limit)
    )
    for source, external_id, closed, has_draft in session.execute(unreviewed):
        result.unreviewed.append(
            {
                "ticket": ticket_ref(source, external_id),
                "closed_at": _iso(closed),
                "has_draft_review": bool(has_draft),
            }
        )

    # incomplete (draft) reviews of the period's closed tickets
    draft_where = [*in_period, col(Review.status) == "draft"]
    result.drafts_count = int(
        session.execute(
            select(func.count())
            .select_from(Review)
            .join(Ticket, col(Ticket.id) == col(Review.ticket_id))
            .where(*draft_where)
        ).scalar_one()
    )
    drafts = (
        select(
            col(Review.id), col(Ticket.source), col(Ticket.external_id), col(Review.reviewer), col(Review.updated_at)
        )
        .join(Ticket, col(Ticket.id) == col(Review.ticket_id))
        .where(*draft_where)
        .order_by(col(Review.updated_at), col(Review.id))
        .limit(limit)
    )
    for review_id, source, external_id, reviewer, updated in session.execute(drafts):
        result.drafts.append(
            {
                "review_id": review_id,
                "ticket": ticket_ref(source, external_id),
                "reviewer": reviewer,
                "updated_at": _iso(updated),
            }
        )

    # overdue action items: as of today, whatever the period
    overdue_where = [col(ActionItem.status) == "open", col(ActionItem.due_date) < today]
    result.overdue_count = int(
        session.execute(select(func.count()).select_from(ActionItem).where(*overdue_where)).scalar_one()
    )
    overdue = (
        select(
            col(ActionItem.id),
            col(ActionItem.kind),
            col(ActionItem.owner),
            col(ActionItem.due_date),
            col(Ticket.source),
            col(Ticket.external_id),
        )
        .select_from(ActionItem)
        .outerjoin(Ticket, col(Ticket.id) == col(ActionItem.ticket_id))
        .where(*overdue_where)
        .order_by(col(ActionItem.due_date), col(ActionItem.id))
        .limit(limit)
    )
    for action_id, kind, owner, due, source, external_id in session.execute(overdue):
        result.overdue.append(
            {
                "action_id": action_id,
                "ticket": ticket_ref(source, external_id) if source is not None else None,
                "kind": kind,
                "owner": owner,
                "due_date": due.isoformat(),
                "days_overdue": (today - due).days,
            }
        )

    # publicity without consent
    flagged: dict[int, str] = {}
    findings = (
        select(col(Finding.review_id))
        .join(Review, col(Review.id) == col(Finding.review_id))
        .join(Ticket, col(Ticket.id) == col(Review.ticket_id))
        .where(*in_period, col(Finding.kind) == "publicity_without_consent")
    )
    for (review_id,) in session.execute(findings):
        flagged[review_id] = "finding"
    planned_ids = guard_question_ids(checklists, "publicity_planned")
    consent_ids = guard_question_ids(checklists, "consent_given")
    if planned_ids:
        answers = (
            select(col(Answer.review_id), col(Answer.question_id), col(Answer.value), col(Answer.na))
            .join(Review, col(Review.id) == col(Answer.review_id))
            .join(Ticket, col(Ticket.id) == col(Review.ticket_id))
            .where(
                *in_period,
                col(Review.status) == "complete",
                col(Answer.question_id).in_(sorted(planned_ids | consent_ids)),
            )
            .execution_options(yield_per=1000)
        )
        planned: set[int] = set()
        consented: set[int] = set()
        for review_id, question_id, value, na in session.execute(answers):
            if na or not is_yes(value):
                continue
            (planned if question_id in planned_ids else consented).add(review_id)
        for review_id in planned - consented:
            flagged.setdefault(review_id, "answers")
    result.publicity_count = len(flagged)
    if flagged:
        ids = sorted(flagged)[: limit or None]
        rows = session.execute(
            select(col(Review.id), col(Ticket.source), col(Ticket.external_id), col(Review.reviewer))
            .join(Ticket, col(Ticket.id) == col(Review.ticket_id))
            .where(and_(col(Review.id).in_(ids)))
            .order_by(col(Review.id))
        )
        for review_id, source, external_id, reviewer in rows:
            result.publicity.append(
                {
                    "review_id": review_id,
                    "ticket": ticket_ref(source, external_id),
                    "reviewer": reviewer,
                    "reason": flagged[review_id],
                }
            )

    _judge(result)
    return result


def _judge(result: GateResult) -> None:
    cov = result.coverage
    if cov is None:
        message = "no closed tickets in the period"
        ok = True
    else:
        ok = cov >= result.min_coverage
        what = "complete reviews" if result.require_complete else "reviews"
        message = (
            f"{result.reviewed} of {result.closed_tickets} closed tickets have {what} ({cov:.0%}; "
            f"minimum {result.min_coverage:.0%})"
        )
    result.checks.append(
        Check("coverage", ok, True, None if cov is None else round(cov, 4), result.min_coverage, message)
    )
    result.checks.append(
        Check(
            "incomplete_reviews",
            result.drafts_count == 0 or not result.require_complete,
            result.require_complete,
            result.drafts_count,
            0 if result.require_complete else None,
            f"{result.drafts_count} draft review{'s' if result.drafts_count != 1 else ''}"
            + ("" if result.require_complete else " (not enforced; use --require-complete)"),
        )
    )
    result.checks.append(
        Check(
            "overdue_actions",
            result.overdue_count <= result.max_overdue,
            True,
            result.overdue_count,
            result.max_overdue,
            f"{result.overdue_count} open action item{'s' if result.overdue_count != 1 else ''} past due "
            f"(maximum {result.max_overdue})",
        )
    )
    result.checks.append(
        Check(
            "publicity_without_consent",
            result.publicity_count == 0,
            True,
            result.publicity_count,
            0,
            f"{result.publicity_count} review{'s' if result.publicity_count != 1 else ''} plan publicity "
            "without the customer's consent",
        )
    )


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):  # coalesce() over SQLite text comes back as text
        return datetime.fromisoformat(value).replace(tzinfo=UTC).isoformat()
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat()
