"""Answers: the one place review answers are validated and written.

:func:`save_answer` inserts or updates one answer and commits at once, so an answer is safe the moment it is
given. Every write also adds an :class:`~butterfly.store.models.AnswerChange` row (who, when, old and new value), so
nothing is ever overwritten silently; an unchanged answer writes nothing. Writes are race-safe on SQLite and
PostgreSQL: the first insert relies on the unique ``(review_id, question_id)`` constraint (losing an insert race
turns into an update), and updates are compare-and-swap on the answer's ``version``.

:func:`validate_answer` turns what a reviewer typed (or what an answers file holds) into the stored value for
the question's kind.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, date, datetime, time
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import select

from butterfly.checklist.model import AnswerKind, Question, Scale
from butterfly.errors import ConflictError, InvalidInputError, NotFoundError
from butterfly.review.scoring import AnswerValue
from butterfly.settings import get_settings
from butterfly.store.models import Answer, AnswerChange, Review
from butterfly.store.retry import write_attempts
from butterfly.timeutil import utcnow

if TYPE_CHECKING:
    from sqlmodel import Session


MAX_TEXT_LENGTH = 20_000

NA_WORDS = frozenset({"na", "n/a", "n.a.", "not applicable", "不适用", "不適用", "无关", "無關"})
YES_WORDS = frozenset({"y", "yes", "true", "1", "是", "是的", "对", "對", "有"})
NO_WORDS = frozenset({"n", "no", "false", "0", "否", "不是", "不", "没有", "沒有", "无", "無"})


# -- validation ---------------------------------------------------------------------------------------------


def is_na_token(raw: object, scale: Scale | None = None) -> bool:
    """Whether ``raw`` means "not applicable" (``na``, ``N/A``, ``不适用`` or the scale's N/A label)."""
    if not isinstance(raw, str):
        return False
    word = raw.strip().lower()
    if word in NA_WORDS:
        return True
    return scale is not None and word == scale.na_label.strip().lower()


def _zone(tz: str | None) -> ZoneInfo:
    if tz is None:
        tz = get_settings().timezone
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInputError(f"unknown time zone '{tz}'", hint="use an IANA name such as Asia/Shanghai") from None


_DT_FORMATS = ("%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%Y/%m/%d %H:%M", "%Y-%m-%d", "%Y/%m/%d")


def parse_datetime(raw: object, *, tz: str | None = None) -> datetime:
    """An aware UTC datetime from ISO text, ``YYYY-MM-DD HH:MM`` (in the configured zone) or a date.

    Naive values are read in ``tz`` (default: the ``timezone`` setting) and converted to UTC.
    """
    if isinstance(raw, datetime):
        value = raw
    elif isinstance(raw, date):
        value = datetime.combine(raw, time())
    elif isinstance(raw, str) and raw.strip():
        text = raw.strip()
        value_or_none: datetime | None = None
        try:
            value_or_none = datetime.fromisoformat(text.replace("Z", "+00:00") if text.endswith("Z") else text)
        except ValueError:
            for fmt in _DT_FORMATS:
                try:
                    value_or_none = datetime.strptime(text, fmt)
                    break
                except ValueError:
                    continue
        if value_or_none is None:
            raise InvalidInputError(
                f"'{text}' is not a date-time", hint="write it as YYYY-MM-DD HH:MM (or ISO 8601, e.g. 2024-05-01T09:30)"
            )
        value = value_or_none
    else:
        raise InvalidInputError("expected a date-time such as 2024-05-01 09:30")
    if value.tzinfo is None:
        value = value.replace(tzinfo=_zone(tz))
    return value.astimezone(UTC)


def _rating(raw: object, scale: Scale) -> int:
    allowed = ", ".join(f"{p.value} ({p.label})" for p in scale.points)
    value: int | None = None
    if isinstance(raw, bool):
        value = None
    elif isinstance(raw, int):
        value = raw
    elif isinstance(raw, float) and raw.is_integer():
        value = int(raw)
    elif isinstance(raw, str):
        text = raw.strip()
        if re.fullmatch(r"[+-]?\d+", text):
            value = int(text)
        else:
            for point in scale.points:
                if point.label.strip().lower() == text.lower():
                    value = point.value
    if value is None or value not in {p.value for p in scale.points}:
        raise InvalidInputError(f"'{raw}' is not on the rating scale", hint=f"use one of {allowed}, or N/A")
    return value


def is_yes(value: object) -> bool:
    """A stored yes/no answer that says yes: ``True``, ``1`` or a yes word (y, yes, true, 是 …); anything else no."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return value == 1
    if isinstance(value, str):
        return value.strip().lower() in YES_WORDS
    return False


def _yes_no(raw: object) -> bool:
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, int) and raw in (0, 1):
        return bool(raw)
    if isinstance(raw, str):
        word = raw.strip().lower()
        if word in YES_WORDS:
            return True
        if word in NO_WORDS:
            return False
    raise InvalidInputError(f"'{raw}' is not yes or no", hint="answer y/yes/是 or n/no/否")


def _one_choice(question: Question, raw: object) -> str:
    assert question.choices is not None
    choices = question.choices
    if isinstance(raw, int) and not isinstance(raw, bool):
        text = str(raw)
    elif isinstance(raw, str):
        text = raw.strip()
    else:
        text = ""
    if text:
        if text.isdigit() and 1 <= int(text) <= len(choices):
            return choices[int(text) - 1].id
        for choice in choices:
            if choice.id == text:
                return choice.id
        low = text.lower()
        for choice in choices:
            if choice.label.strip().lower() == low:
                return choice.id
    options = ", ".join(f"{i} = {c.id}" for i, c in enumerate(choices, start=1))
    raise InvalidInputError(f"'{raw}' is not one of the choices", hint=f"use a number or id: {options}")


def _choice(question: Question, raw: object) -> str | list[str]:
    if not question.multiple:
        return _one_choice(question, raw)
    items: list[object]
    if isinstance(raw, list | tuple):
        items = list(raw)
    elif isinstance(raw, str):
        items = [part for part in re.split(r"[,，;；、\s]+", raw.strip()) if part]
    else:
        items = [raw]
    if not items:
        raise InvalidInputError("pick at least one choice")
    picked: list[str] = []
    for item in items:
        choice_id = _one_choice(question, item)
        if choice_id not in picked:
            picked.append(choice_id)
    return picked


def _text(raw: object) -> str:
    if isinstance(raw, bool) or raw is None or isinstance(raw, dict | list):
        raise InvalidInputError("expected text")
    text = str(raw).replace("\r\n", "\n").strip()
    if not text:
        raise InvalidInputError("the answer is empty")
    if len(text) > MAX_TEXT_LENGTH:
        raise InvalidInputError(f"the answer is {len(text)} characters long; at most {MAX_TEXT_LENGTH} are kept")
    return text


def validate_answer(question: Question, raw: object, scale: Scale, *, tz: str | None = None) -> tuple[Any, bool]:
    """Convert and validate ``raw`` for ``question``; returns ``(value, na)``.

    - rating: a point of ``scale`` (its number or label), or N/A;
    - yes_no: ``True``/``False`` from y/n, yes/no, 是/否, 是的, true/false;
    - datetime: ISO 8601 or ``YYYY-MM-DD HH:MM`` in the configured time zone, stored as UTC ISO text;
    - choice: a choice id, its label or its 1-based number (a list of them for ``multiple``);
    - text: non-empty text (several lines allowed).

    Any kind may be answered N/A (``na``, ``N/A``, ``不适用`` or the scale's N/A label): ``(None, True)``.
    Raises :class:`InvalidInputError` saying what is accepted.
    """
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        raise InvalidInputError("no answer given")
    if is_na_token(raw, scale):
        return None, True
    kind = question.kind
    if kind is AnswerKind.rating:
        return _rating(raw, scale), False
    if kind is AnswerKind.yes_no:
        return _yes_no(raw), False
    if kind is AnswerKind.datetime:
        return parse_datetime(raw, tz=tz).isoformat(), False
    if kind is AnswerKind.choice:
        return _choice(question, raw), False
    return _text(raw), False


_YES_NO = {"zh-CN": ("是", "否"), "zh-TW": ("是", "否")}


def display_value(question: Question, value: Any, na: bool, scale: Scale, *, lang: str | None = None) -> str:
    """A stored answer as a short human string (choice labels, scale labels, yes/no; 是/否 in Chinese)."""
    if na:
        return scale.na_label
    if value is None:
        return ""
    if question.kind is AnswerKind.rating and isinstance(value, int):
        return f"{value} ({scale.label(value)})"
    if question.kind is AnswerKind.yes_no:
        yes, no = _YES_NO.get(lang or "", ("yes", "no"))
        return yes if value else no
    if question.kind is AnswerKind.choice and question.choices:
        labels = {c.id: c.label for c in question.choices}
        if isinstance(value, list):
            return "; ".join(labels.get(str(v), str(v)) for v in value)
        return labels.get(str(value), str(value))
    if question.kind is AnswerKind.datetime and isinstance(value, str):
        try:
            return datetime.fromisoformat(value).strftime("%Y-%m-%d %H:%M UTC")
        except ValueError:
            return value
    return str(value)


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
