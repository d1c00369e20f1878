"""The exported records: field lists, and the review, answer and action-item rows streamed from the database with a
server-side cursor, one plain dict at a time."""

from __future__ import annotations

from collections.abc import Generator, Iterable, Iterator
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, exists, or_, select
from sqlalchemy.orm import aliased
from sqlmodel import col

from butterfly.checklist.model import builtin_checklist_ids, load_builtin
from butterfly.errors import InvalidInputError
from butterfly.exports.redact import NAME_MASK, redact_text, redact_value
from butterfly.store.models import ActionItem, Answer, Review, Ticket

if TYPE_CHECKING:
    from sqlmodel import Session

FORMATS = ("jsonl", "csv", "json")
PER = ("answer", "review")
YIELD_PER = 1000

REVIEW_FIELDS = (
    "review_id",
    "ticket_source",
    "ticket_external_id",
    "ticket_category",
    "customer",
    "organization",
    "ticket_created_at",
    "ticket_closed_at",
    "reviewer",
    "review_status",
    "checklist_id",
    "checklist_version",
    "language",
    "lenses",
    "experience_level",
    "review_started_at",
    "review_updated_at",
    "review_completed_at",
)
ANSWER_FIELDS = (*REVIEW_FIELDS, "question_id", "value", "na", "note", "answered_at", "answered_by")
ACTION_FIELDS = (
    "action_id",
    "review_id",
    "ticket_source",
    "ticket_external_id",
    "customer",
    "organization",
    "reviewer",
    "checklist_id",
    "checklist_version",
    "question_id",
    "kind",
    "text",
    "owner",
    "due_date",
    "status",
    "created_at",
    "created_by",
    "done_at",
    "done_by",
)


def _iso(value: datetime | date | None) -> str | None:
    if value is None:
        return None
    return value.isoformat()


# -- queries -----------------------------------------------------------------------------------------------------


def check_format(fmt: str, per: str = "answer") -> None:
    if fmt not in FORMATS:
        raise InvalidInputError(f"unknown export format '{fmt}'", hint="use one of: " + ", ".join(FORMATS))
    if per not in PER:
        raise InvalidInputError(f"unknown --per '{per}'", hint="use answer or review")


def _review_columns() -> list[Any]:
    return [
        col(Review.id).label("review_id"),
        col(Ticket.source).label("ticket_source"),
        col(Ticket.external_id).label("ticket_external_id"),
        col(Ticket.category).label("ticket_category"),
        col(Ticket.customer).label("customer"),
        col(Ticket.organization).label("organization"),
        col(Ticket.created_at).label("ticket_created_at"),
        col(Ticket.closed_at).label("ticket_closed_at"),
        col(Review.reviewer).label("reviewer"),
        col(Review.status).label("review_status"),
        col(Review.checklist_id).label("checklist_id"),
        col(Review.checklist_version).label("checklist_version"),
        col(Review.language).label("language"),
        col(Review.lenses).label("lenses"),
        col(Review.experience_level).label("experience_level"),
        col(Review.started_at).label("review_started_at"),
        col(Review.updated_at).label("review_updated_at"),
        col(Review.completed_at).label("review_completed_at"),
    ]


def _answer_columns() -> list[Any]:
    return [
        col(Answer.question_id).label("question_id"),
        col(Answer.value).label("value"),
        col(Answer.na).label("na"),
        col(Answer.note).label("note"),
        col(Answer.answered_at).label("answered_at"),
        col(Answer.answered_by).label("answered_by"),
    ]


def _in_window(column: Any, since: datetime | None, until: datetime | None) -> list[Any]:
    """The conditions for ``column`` in [since, until) (none for an open end)."""
    conds = []
    if since is not None:
        conds.append(column >= since)
    if until is not None:
        conds.append(column < until)
    return conds


def _review_filter(since: datetime | None, until: datetime | None) -> list[Any]:
    """Reviews changed in [since, until): the review row itself or any of its answers."""
    if since is None and until is None:
        return []
    other = aliased(Answer)
    changed = and_(*_in_window(col(Review.updated_at), since, until))
    answered = exists().where(col(other.review_id) == col(Review.id), *_in_window(col(other.answered_at), since, until))
    return [or_(changed, answered)]


def _mask_names(record: dict[str, Any], row: Any) -> list[str]:
    """Mask the customer and organisation fields of ``record``; returns the names to mask in its free text."""
    record["customer"] = NAME_MASK if row.customer else None
    record["organization"] = NAME_MASK if row.organization else None
    return [n for n in (row.customer, row.organization) if n]


def _stream(session: Session, stmt: Any) -> Generator[Any, None, None]:
    result = session.execute(stmt.execution_options(yield_per=YIELD_PER))
    try:
        yield from result
    finally:
        result.close()


def _base_review_record(row: Any, redact: bool) -> tuple[dict[str, Any], list[str]]:
    record = {
        "review_id": row.review_id,
        "ticket_source": row.ticket_source,
        "ticket_external_id": row.ticket_external_id,
        "ticket_category": row.ticket_category,
        "customer": row.customer,
        "organization": row.organization,
        "ticket_created_at": _iso(row.ticket_created_at),
        "ticket_closed_at": _iso(row.ticket_closed_at),
        "reviewer": row.reviewer,
        "review_status": row.review_status,
        "checklist_id": row.checklist_id,
        "checklist_version": row.checklist_version,
        "language": row.language,
        "lenses": list(row.lenses or []),
        "experience_level": row.experience_level,
        "review_started_at": _iso(row.review_started_at),
        "review_updated_at": _iso(row.review_updated_at),
        "review_completed_at": _iso(row.review_completed_at),
    }
    names = _mask_names(record, row) if redact else []
    return record, names


def iter_review_records(
    session: Session,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    per: str = "answer",
    redact: bool = False,
) -> Iterator[dict[str, Any]]:
    """Stream review records (one per answer, or one per review with its answers), ordered by review id.

    Two cursors walk side by side, both ordered by review id: the reviews (with their ticket) and their answers;
    each review's fields are built once, not once per answer.
    """
    check_format("jsonl", per)
    where = _review_filter(since, until)
    reviews_stmt = (
        select(*_review_columns())
        .select_from(Review)
        .join(Ticket, col(Ticket.id) == col(Review.ticket_id))
        .where(*where)
        .order_by(col(Review.id))
    )
    answers_stmt = (
        select(col(Answer.review_id).label("review_id"), *_answer_columns())
        .select_from(Answer)
        .join(Review, col(Review.id) == col(Answer.review_id))
        .where(*where)
        .order_by(col(Answer.review_id), col(Answer.id))
    )
    answers = _stream(session, answers_stmt)
    pending = next(answers, None)
    try:
        for row in _stream(session, reviews_stmt):
            base, names = _base_review_record(row, redact)
            collected: dict[str, Any] = {}
            while pending is not None and pending.review_id == row.review_id:
                a = pending
                pending = next(answers, None)
                value, note = a.value, a.note
                if redact:
                    value = redact_value(value, names)
                    note = redact_text(note, names) if note else note
                if per == "answer":
                    record = dict(base)
                    record.update(
                        question_id=a.question_id,
                        value=value,
                        na=bool(a.na),
                        note=note,
                        answered_at=_iso(a.answered_at),
                        answered_by=a.answered_by,
                    )
                    yield record
                else:
                    collected[a.question_id] = {"value": value, "na": bool(a.na), "note": note}
            if per == "review":
                base["answers"] = collected
                yield base
    finally:
        answers.close()


def review_question_columns(
    session: Session, *, since: datetime | None = None, until: datetime | None = None
) -> tuple[list[str], set[str]]:
    """For the per-review CSV: the answered question ids (checklist order where known) and those with notes."""
    base = (
        select(col(Answer.question_id))
        .join(Review, col(Review.id) == col(Answer.review_id))
        .where(*_review_filter(since, until))
        .distinct()
    )
    ids = [qid for (qid,) in session.execute(base)]
    noted_stmt = base.where(and_(col(Answer.note).is_not(None), col(Answer.note) != ""))
    noted = {qid for (qid,) in session.execute(noted_stmt)}
    return _checklist_order(ids), noted


def _checklist_order(ids: Iterable[str]) -> list[str]:
    order: dict[str, int] = {}
    for checklist_id in ["butterfly", *[i for i in builtin_checklist_ids() if i != "butterfly"]]:
        for q in load_builtin(checklist_id, "en").questions:
            order.setdefault(q.id, len(order))
    return sorted(set(ids), key=lambda q: (order.get(q, len(order)), q))


def iter_action_records(
    session: Session,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    status: str | None = None,
    redact: bool = False,
) -> Iterator[dict[str, Any]]:
    """Stream action items (created or done in [since, until)), ordered by id."""
    a = ActionItem
    stmt: Any = (
        select(
            col(a.id).label("action_id"),
            col(a.review_id).label("review_id"),
            col(Ticket.source).label("ticket_source"),
            col(Ticket.external_id).label("ticket_external_id"),
            col(Ticket.customer).label("customer"),
            col(Ticket.organization).label("organization"),
            col(Review.reviewer).label("reviewer"),
            col(Review.checklist_id).label("checklist_id"),
            col(Review.checklist_version).label("checklist_version"),
            col(a.question_id).label("question_id"),
            col(a.kind).label("kind"),
            col(a.text).label("text"),
            col(a.owner).label("owner"),
            col(a.due_date).label("due_date"),
            col(a.status).label("status"),
            col(a.created_at).label("created_at"),
            col(a.created_by).label("created_by"),
            col(a.done_at).label("done_at"),
            col(a.done_by).label("done_by"),
        )
        .select_from(a)
        .outerjoin(Review, col(Review.id) == col(a.review_id))
        .outerjoin(Ticket, col(Ticket.id) == col(a.ticket_id))
        .order_by(col(a.id))
    )
    if since is not None or until is not None:
        created = and_(*_in_window(col(a.created_at), since, until))
        stmt = stmt.where(or_(created, and_(*_in_window(col(a.done_at), since, until))))
    if status is not None:
        stmt = stmt.where(col(a.status) == status)
    for row in _stream(session, stmt):
        record = {name: getattr(row, name) for name in ACTION_FIELDS}
        record["due_date"] = _iso(row.due_date)
        for name in ("created_at", "done_at"):
            record[name] = _iso(record[name])
        if redact:
            record["text"] = redact_text(row.text or "", _mask_names(record, row))
        yield record
