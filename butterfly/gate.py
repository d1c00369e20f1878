"""The review gate behind ``butterfly check``: what falls short, and whether a pipeline should fail.

Four things can fall short:

- **coverage**: closed tickets (status ``closed`` or ``resolved``, closed in the period) that have no review;
  ``coverage`` is the share that have one (with ``require_complete``, a *complete* one);
- **incomplete reviews**: draft reviews of those tickets (they fail the gate only with ``require_complete``);
- **overdue action items**: status ``open`` and ``due_date`` before today in the ``timezone`` setting
  (:mod:`butterfly.clock`) — as of today, whatever the period;
- **publicity without consent**: a review of those tickets with a ``publicity_without_consent`` finding, or a
  complete review whose answer to the question guarded ``publicity_planned`` is yes without a yes to the
  question guarded ``consent_given``. Always fails the gate.

:func:`run_gate` returns a :class:`GateResult`; its :meth:`GateResult.to_dict` is the documented, versioned
``--json`` shape (``"schema": "butterfly.check/1"``). Ticket lists name tickets by ``source:external_id`` only
(no customer names: gate output ends up in CI logs).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, exists, func, select
from sqlmodel import col

from butterfly.clock import Clock, settings_clock
from butterfly.errors import InvalidInputError
from butterfly.periods import Period
from butterfly.review.actions import overdue_conditions
from butterfly.review.answers import is_yes
from butterfly.store.models import ActionItem, Answer, Finding, Review, Ticket
from butterfly.tickets import ticket_ref

if TYPE_CHECKING:
    from sqlmodel import Session

    from butterfly.checklist.model import Checklist

SCHEMA = "butterfly.check/1"
CLOSED_STATUSES = ("closed", "resolved")


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
    with_gaps_count: int = 0  # complete reviews marked complete with required answers missing (--allow-gaps)
    with_gaps: list[dict[str, Any]] = field(default_factory=list)
    limit: int | None = None
    checks: list[Check] = field(default_factory=list)
    timezone: str = "UTC"  # the zone "today" is the date in

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
            "timezone": self.timezone,
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
                "complete_with_gaps": self.with_gaps_count,
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
            "complete_with_gaps": self.with_gaps,
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
    clock: Clock | None = None,
    today: date | None = None,
    limit: int | None = 20,
) -> GateResult:
    """Measure the period against the thresholds. Read-only.

    Overdue is counted as of ``today`` (default: today on ``clock``, default the ``timezone`` setting's clock),
    whatever the period, like ``butterfly actions list --overdue`` and the reports.
    """
    if not 0.0 <= min_coverage <= 1.0:
        raise InvalidInputError(f"--min-coverage must be between 0 and 1, not {min_coverage}")
    if max_overdue < 0:
        raise InvalidInputError(f"--max-overdue must be 0 or more, not {max_overdue}")
    if limit is not None and limit <= 0:
        limit = None
    clock = clock or settings_clock()
    today = today or clock.today()
    result = GateResult(period, today, min_coverage, max_overdue, require_complete, limit=limit)
    result.timezone = clock.timezone

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

    # complete reviews closed knowingly incomplete (--allow-gaps): they count, and they are named
    gaps_where = [*in_period, col(Review.status) == "complete", col(Review.allow_gaps).is_(True)]
    gaps = (
        select(col(Ticket.source), col(Ticket.external_id), col(Review.reviewer), col(Review.completed_at))
        .join(Ticket, col(Ticket.id) == col(Review.ticket_id))
        .where(*gaps_where)
        .order_by(col(Review.completed_at), col(Review.id))
    )
    for source, external_id, reviewer, completed in session.execute(gaps):
        result.with_gaps_count += 1
        if limit is None or len(result.with_gaps) < limit:
            result.with_gaps.append(
                {"ticket": ticket_ref(source, external_id), "reviewer": reviewer, "completed_at": _iso(completed)}
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
    overdue_where = overdue_conditions(today)
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
        .where(*in_period, col(Finding.kind) == "publicity_without_consent", col(Finding.status) == "open")
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
            "complete_with_gaps",
            True,
            False,
            result.with_gaps_count,
            None,
            f"{result.with_gaps_count} complete review{'s' if result.with_gaps_count != 1 else ''} closed with "
            "required questions unanswered (--allow-gaps)",
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
