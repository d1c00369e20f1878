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
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, exists, func, select
from sqlmodel import col

from butterfly.clock import Clock, settings_clock
from butterfly.errors import InvalidInputError
from butterfly.gate_result import SCHEMA, Check, GateResult, judge
from butterfly.periods import Period
from butterfly.review.actions import overdue_conditions
from butterfly.review.answers import is_yes
from butterfly.store.models import ActionItem, Answer, Finding, Review, Ticket
from butterfly.tickets import ticket_ref

if TYPE_CHECKING:
    from sqlmodel import Session

    from butterfly.checklist.model import Checklist

__all__ = ["CLOSED_STATUSES", "SCHEMA", "Check", "GateResult", "guard_question_ids", "run_gate"]

CLOSED_STATUSES = ("closed", "resolved")


# -- the gate ----------------------------------------------------------------------------------------------------


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

    judge(result)
    return result


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):  # coalesce() over SQLite text comes back as text
        return datetime.fromisoformat(value).replace(tzinfo=UTC).isoformat()
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat()
