"""Action items: the follow-ups a review creates (process patch, outreach, compensation, follow-up).

Any answer can create one, with an owner and a due date. An item is *overdue* when it is still open and its
due date is before today in the ``timezone`` setting (:mod:`butterfly.clock`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlmodel import col, select

from butterfly.checklist.model import ActionKind
from butterfly.clock import Clock, settings_clock
from butterfly.errors import ConflictError, InvalidInputError, NotFoundError
from butterfly.periods import parse_day
from butterfly.review.answer_parse import AnswerError
from butterfly.store.models import ActionItem, ActionStatus, Review, Ticket
from butterfly.timeutil import utcnow

if TYPE_CHECKING:
    from sqlmodel import Session


MAX_ACTION_TEXT = 2_000

KIND_ALIASES = {
    "patch": ActionKind.process_patch,
    "process": ActionKind.process_patch,
    "process-patch": ActionKind.process_patch,
    "outreach": ActionKind.outreach,
    "proactive_outreach": ActionKind.outreach,
    "compensation": ActionKind.compensation,
    "follow-up": ActionKind.follow_up,
    "followup": ActionKind.follow_up,
    "follow_up": ActionKind.follow_up,
}


def parse_kind(raw: object) -> ActionKind:
    """An :class:`ActionKind` from its value (or a common alias); :class:`InvalidInputError` otherwise."""
    word = str(raw or "").strip().lower()
    try:
        return ActionKind(word)
    except ValueError:
        pass
    if word in KIND_ALIASES:
        return KIND_ALIASES[word]
    raise InvalidInputError(
        f"'{raw}' is not an action kind", hint="use one of: " + ", ".join(k.value for k in ActionKind)
    )


def parse_due(raw: object, *, today: date | None = None, clock: Clock | None = None) -> date | None:
    """A due date from ``YYYY-MM-DD`` (or a date), or ``+14d`` / ``+2w`` counted from today.

    ``None`` for no due date. Today is ``today``, else today on ``clock`` (default: the ``timezone`` setting), so
    an answers file kept in a repository can say "two weeks after the review is applied" without going stale.
    The parsing is :func:`butterfly.periods.parse_day`'s.
    """
    if today is not None:
        clock = Clock(fixed=datetime.combine(today, time(12), UTC))
    return parse_day(raw, clock=clock)


def parse_text(raw: object) -> str:
    """The action's text, stripped; an :class:`AnswerError` (the walk says it in the reviewer's language) when it
    is empty or longer than :data:`MAX_ACTION_TEXT` characters."""
    text = str(raw or "").strip()
    if not text:
        raise AnswerError("an action item needs a text saying what to do", key="action.text_empty")
    if len(text) > MAX_ACTION_TEXT:
        raise AnswerError(
            f"the action text is {len(text)} characters long; at most {MAX_ACTION_TEXT}",
            key="action.text_long",
            n=len(text),
            max=MAX_ACTION_TEXT,
        )
    return text


def create_action(
    *,
    session: Session,
    kind: str | ActionKind,
    text: str,
    owner: str | None = None,
    due_date: date | str | None = None,
    review_id: int | None = None,
    ticket_id: int | None = None,
    question_id: str | None = None,
    by: str | None = None,
    commit: bool = True,
) -> ActionItem:
    """Create an action item (from a review answer, or on its own). The same open item is not created twice."""
    action_kind = parse_kind(kind)
    body = parse_text(text)
    due = parse_due(due_date)
    owner = (owner or "").strip() or None
    if review_id is not None and ticket_id is None:
        review = session.get(Review, review_id)
        if review is None:
            raise NotFoundError(f"no review with id {review_id}")
        ticket_id = review.ticket_id
    same = session.exec(
        select(ActionItem).where(
            ActionItem.review_id == review_id,
            ActionItem.question_id == question_id,
            ActionItem.kind == action_kind.value,
            ActionItem.text == body,
        )
    ).first()
    if same is not None:
        return same
    item = ActionItem(
        review_id=review_id,
        ticket_id=ticket_id,
        question_id=question_id,
        kind=action_kind.value,
        text=body,
        owner=owner,
        due_date=due,
        created_by=by,
    )
    session.add(item)
    session.flush()
    if commit:
        session.commit()
    return item


@dataclass(frozen=True)
class ActionRow:
    """An action item with the ticket it came from, for lists and JSON."""

    item: ActionItem
    ticket_ref: str | None
    overdue: bool

    def as_dict(self) -> dict[str, Any]:
        i = self.item
        return {
            "id": i.id,
            "kind": i.kind,
            "text": i.text,
            "owner": i.owner,
            "due_date": i.due_date.isoformat() if i.due_date else None,
            "status": i.status,
            "overdue": self.overdue,
            "ticket": self.ticket_ref,
            "review_id": i.review_id,
            "question_id": i.question_id,
            "created_at": i.created_at.isoformat() if i.created_at else None,
            "created_by": i.created_by,
            "done_at": i.done_at.isoformat() if i.done_at else None,
            "done_by": i.done_by,
        }


def is_overdue(item: ActionItem, today: date | None = None, *, clock: Clock | None = None) -> bool:
    """Open and due before ``today`` (default: today on ``clock``, default the ``timezone`` setting's clock)."""
    today = today or (clock or settings_clock()).today()
    return item.status == ActionStatus.open.value and item.due_date is not None and item.due_date < today


def overdue_conditions(today: date) -> list[Any]:
    """SQL conditions for "overdue as of ``today``": open and due before that day. The one definition the gate,
    ``actions list --overdue`` and the reports share."""
    return [
        col(ActionItem.status) == ActionStatus.open.value,
        col(ActionItem.due_date).is_not(None),
        col(ActionItem.due_date) < today,
    ]


def list_actions(
    *,
    session: Session,
    overdue: bool = False,
    status: str | None = None,
    review_id: int | None = None,
    owner: str | None = None,
    today: date | None = None,
    clock: Clock | None = None,
) -> list[ActionRow]:
    """Action items, open ones first by due date; ``overdue=True`` for open items past their due date as of
    ``today`` (default: today on ``clock``, default the ``timezone`` setting's clock)."""
    today = today or (clock or settings_clock()).today()
    stmt = select(ActionItem, Ticket.external_id).join(Ticket, col(ActionItem.ticket_id) == Ticket.id, isouter=True)
    if overdue:
        stmt = stmt.where(*overdue_conditions(today))
    elif status is not None:
        if status not in {s.value for s in ActionStatus}:
            raise InvalidInputError(f"unknown status '{status}'", hint="use open or done")
        stmt = stmt.where(ActionItem.status == status)
    if review_id is not None:
        stmt = stmt.where(ActionItem.review_id == review_id)
    if owner is not None:
        stmt = stmt.where(ActionItem.owner == owner)
    rows = session.exec(stmt).all()
    out = [ActionRow(item, ext, is_overdue(item, today)) for item, ext in rows]
    out.sort(
        key=lambda r: (
            r.item.status != ActionStatus.open.value,
            r.item.due_date is None,
            r.item.due_date or date.max,
            r.item.id or 0,
        )
    )
    return out


def mark_done(*, session: Session, action_id: int, by: str) -> ActionItem:
    """Mark an action item done (compare-and-swap on its version; done twice is a no-op)."""
    for _ in range(3):
        item = session.exec(
            select(ActionItem).where(ActionItem.id == action_id).execution_options(populate_existing=True)
        ).first()
        if item is None:
            raise NotFoundError(f"no action item {action_id}", hint="see `butterfly actions list`")
        if item.status == ActionStatus.done.value:
            return item
        table = ActionItem.__table__  # type: ignore[attr-defined]
        result = session.execute(
            sa.update(table)
            .where(table.c.id == action_id, table.c.version == item.version)
            .values(status=ActionStatus.done.value, done_at=utcnow(), done_by=by, version=item.version + 1)
        )
        if getattr(result, "rowcount", 0) == 1:
            session.commit()
            done = session.exec(
                select(ActionItem).where(ActionItem.id == action_id).execution_options(populate_existing=True)
            ).one()
            return done
        session.rollback()
    raise ConflictError(f"action item {action_id} kept changing; try again")
