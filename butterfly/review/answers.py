"""Answers: the one place review answers are written.

:func:`save_answer` inserts or updates one answer and commits at once, so an answer is safe the moment it is
given. Every write also adds an :class:`~butterfly.store.models.AnswerChange` row (who, when, old and new value), so
nothing is ever overwritten silently; an unchanged answer writes nothing. Writes are race-safe on SQLite and
PostgreSQL: the first insert relies on the unique ``(review_id, question_id)`` constraint (losing an insert race
turns into an update), and updates are compare-and-swap on the answer's ``version``.

Validating and showing one answer (:func:`validate_answer`, :func:`display_value`) is
:mod:`butterfly.review.answer_parse`; its names are re-exported here.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import select

from butterfly.errors import ConflictError, NotFoundError
from butterfly.review.answer_parse import (
    MAX_TEXT_LENGTH,
    NA_WORDS,
    NO_WORDS,
    YES_WORDS,
    AnswerError,
    display_value,
    is_na_token,
    is_yes,
    parse_datetime,
    validate_answer,
)
from butterfly.review.scoring import AnswerValue
from butterfly.store.models import Answer, AnswerChange, Review
from butterfly.store.retry import write_attempts
from butterfly.timeutil import utcnow

if TYPE_CHECKING:
    from sqlmodel import Session

__all__ = [
    "MAX_TEXT_LENGTH",
    "NA_WORDS",
    "NO_WORDS",
    "YES_WORDS",
    "AnswerError",
    "answer_values",
    "answers_for",
    "display_value",
    "is_na_token",
    "is_yes",
    "parse_datetime",
    "save_answer",
    "validate_answer",
    "write_answer",
]


# -- writing ------------------------------------------------------------------------------------------------


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S UTC") if value is not None else "an unknown time"


def _conflict(question_id: str, current: Answer, expected: int) -> ConflictError:
    return ConflictError(
        f"the answer to {question_id} was changed by {current.answered_by} at {_when(current.answered_at)} "
        f"(version {current.version}; you had version {expected})",
        hint="reload the review to see the new answer, then answer again if you still want to change it",
    )


def _load(session: Session, review_id: int, question_id: str, *, lock: bool = False) -> Answer | None:
    """The stored answer; ``lock=True`` holds its row until commit (``FOR UPDATE``; SQLite locks on write)."""
    stmt = (
        select(Answer)
        .where(Answer.review_id == review_id, Answer.question_id == question_id)
        .execution_options(populate_existing=True)
    )
    if lock:
        stmt = stmt.with_for_update()
    return session.exec(stmt).first()


def answers_for(*, session: Session, review_id: int) -> dict[str, Answer]:
    """The current answers of a review, keyed by question id."""
    stmt = select(Answer).where(Answer.review_id == review_id).execution_options(populate_existing=True)
    return {a.question_id: a for a in session.exec(stmt).all()}


def write_answer(
    session: Session,
    *,
    review_id: int,
    question_id: str,
    value: Any,
    na: bool,
    note: str | None,
    by: str,
    expected_version: int | None,
) -> tuple[Answer, bool] | None:
    """One attempt at writing an answer inside the caller's transaction (no commit).

    Returns ``(answer, changed)``; ``None`` when the compare-and-swap lost a race (the caller rolls back and
    tries again). Raises :class:`ConflictError` when ``expected_version`` is stale and IntegrityError when an
    insert collides (the caller rolls back and tries again).
    """
    if na:
        value = None
    now = utcnow()
    current = _load(session, review_id, question_id, lock=True)
    if current is None:
        if expected_version not in (None, 0):
            raise ConflictError(
                f"there is no saved answer to {question_id} any more (you had version {expected_version})",
                hint="reload the review",
            )
        answer = Answer(
            review_id=review_id,
            question_id=question_id,
            value=value,
            na=na,
            note=note,
            answered_at=now,
            answered_by=by,
            version=1,
        )
        session.add(answer)
        session.flush()
        assert answer.id is not None
        session.add(
            AnswerChange(
                answer_id=answer.id,
                review_id=review_id,
                question_id=question_id,
                old_value=None,
                old_na=None,
                old_note=None,
                new_value=value,
                new_na=na,
                new_note=note,
                changed_at=now,
                changed_by=by,
            )
        )
        session.flush()
        return answer, True
    if current.value == value and bool(current.na) == na and current.note == note:
        return current, False  # nothing changes, nothing is written
    if expected_version is not None and current.version != expected_version:
        raise _conflict(question_id, current, expected_version)
    table = Answer.__table__  # type: ignore[attr-defined]
    result = session.execute(
        sa.update(table)
        .where(table.c.id == current.id, table.c.version == current.version)
        .values(value=value, na=na, note=note, answered_at=now, answered_by=by, version=current.version + 1)
    )
    if getattr(result, "rowcount", 0) != 1:
        return None
    assert current.id is not None
    session.add(
        AnswerChange(
            answer_id=current.id,
            review_id=review_id,
            question_id=question_id,
            old_value=current.value,
            old_na=current.na,
            old_note=current.note,
            new_value=value,
            new_na=na,
            new_note=note,
            changed_at=now,
            changed_by=by,
        )
    )
    session.flush()
    for key, new in (
        ("value", value),
        ("na", na),
        ("note", note),
        ("answered_at", now),
        ("answered_by", by),
        ("version", current.version + 1),
    ):
        set_committed_value(current, key, new)
    return current, True


def save_answer(
    *,
    session: Session,
    review_id: int,
    question_id: str,
    value: Any,
    na: bool = False,
    note: str | None = None,
    by: str,
    expected_version: int | None = None,
) -> Answer:
    """Insert or update one answer and commit immediately; every change is kept in the answer history.

    ``value``, ``na`` and ``note`` are the answer's new state (``na=True`` stores no value). An answer equal to
    the stored one writes nothing. With ``expected_version`` (the version the caller last saw; 0 for "not yet
    answered"), a stored answer with another version raises :class:`ConflictError` naming who changed it and
    when, instead of overwriting it.
    """
    last_error: Exception | None = None
    for _attempt in write_attempts():
        try:
            outcome = write_answer(
                session,
                review_id=review_id,
                question_id=question_id,
                value=value,
                na=na,
                note=note,
                by=by,
                expected_version=expected_version,
            )
        except IntegrityError as exc:
            # another writer inserted the same answer first (or the review does not exist): look again
            session.rollback()
            last_error = exc
            if _load(session, review_id, question_id) is None and not _review_exists(session, review_id):
                raise NotFoundError(f"no review with id {review_id}") from None
            continue
        except BaseException:
            session.rollback()
            raise
        if outcome is None:  # the compare-and-swap lost a race: read again and retry
            session.rollback()
            current = _load(session, review_id, question_id)
            if expected_version is not None and current is not None and current.version != expected_version:
                raise _conflict(question_id, current, expected_version)
            continue
        answer, changed = outcome
        if changed:
            session.commit()
        return answer
    raise ConflictError(
        f"could not save the answer to {question_id}: it kept changing under us",
        hint=f"try again ({type(last_error).__name__ if last_error else 'concurrent updates'})",
    )


def _review_exists(session: Session, review_id: int) -> bool:
    return session.get(Review, review_id) is not None


def answer_values(answers: Mapping[str, Answer]) -> dict[str, Any]:
    """``{question_id: scoring.AnswerValue}`` for :func:`butterfly.review.scoring.cell_scores` and the guards."""
    return {qid: AnswerValue(a.value, bool(a.na)) for qid, a in answers.items()}
