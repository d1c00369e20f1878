"""Review and action-item exports for warehouses and spreadsheets, streamed in constant memory.

``iter_review_records`` / ``iter_action_records`` walk the database with a server-side cursor (``yield_per``;
on PostgreSQL a named cursor, on SQLite the driver's own incremental fetch) and yield one plain dict per record;
``write_records`` writes them as JSON Lines, CSV or one JSON array without ever holding them all. Files are
written to a temporary file beside the target (mode 0600) and renamed into place only when complete, so a
failed or interrupted export never leaves a half-written file behind.

Record shapes (field order as listed; the README documents them):

- reviews, ``per="answer"`` (default): one record per stored answer — :data:`ANSWER_FIELDS`.
- reviews, ``per="review"``: one record per review — :data:`REVIEW_FIELDS` plus ``answers`` (JSON) or one
  column per question id (CSV).
- actions: one record per action item — :data:`ACTION_FIELDS`.

``redact=True`` masks e-mail addresses, phone numbers (international ``+…``/``00…`` forms, Chinese mobile numbers,
common national forms) and the customer's and organisation's names, in the name fields and inside every free
text.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Generator, Iterable, Iterator, Sequence
from datetime import date, datetime
from typing import IO, TYPE_CHECKING, Any, TextIO

from sqlalchemy import and_, exists, or_, select
from sqlalchemy.orm import aliased
from sqlmodel import col

from butterfly.checklist.export import neutralise_formula
from butterfly.checklist.model import builtin_checklist_ids, load_builtin
from butterfly.errors import InvalidInputError
from butterfly.sanitise import json_dumps
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

# -- redaction ---------------------------------------------------------------------------------------------------

EMAIL_MASK = "[email]"
PHONE_MASK = "[phone]"
NAME_MASK = "[customer]"

EMAIL_RE = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
# what is left of an address glued to another ("a@b.coma@c.com"): mask from the @ to the end of the domain
LEFTOVER_AT_RE = re.compile(r"[^\s@\[\]]*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+|(?<=\])@|@(?=\[)")
# +CC / 00CC international numbers: digits with spaces, dots, dashes or brackets between them
INTL_PHONE_RE = re.compile(r"(?:\+|(?<!\d)00)\s?\d(?:[\s.\-()]{0,2}\d){6,}")
# Chinese mobile numbers: 1[3-9]x xxxx xxxx, optionally +86 / 86 / 0086 in front, spaces or dashes allowed
CN_MOBILE_RE = re.compile(r"(?<!\d)(?:(?:\+|00)?86[\s\-]?)?1[3-9]\d(?:[\s\-]?\d{4}){2}(?!\d)")
# national forms: (415) 555-2671, 415-555-2671, 415.555.2671, 010-12345678, 0755 1234 5678
NATIONAL_PHONE_RE = re.compile(
    r"(?<!\d)(?:\(\d{2,4}\)\s?\d{3,4}[\s.\-]?\d{4}"
    r"|\d{3}[.\-\s]\d{3}[.\-\s]\d{4}"
    r"|0\d{2,3}[\s\-]\d{7,8}"
    r"|0\d{2,3}\s\d{4}\s\d{4})(?!\d)"
)
# the sweep: any other 7 or more digits in a row, allowing separators (numbers glued together, unusual forms;
# also masks long order numbers in text) -- except dates such as 2026-11-20 or 2026.11.20 14
SWEEP_RE = re.compile(r"\+?\d(?:[ .\-()]{0,2}\d){6,}")
DATE_LIKE_RE = re.compile(r"\d{4}[-./]\d{1,2}[-./]\d{1,2}(?:[ T]\d{1,2})?")


def _sweep(match: re.Match[str]) -> str:
    return match.group(0) if DATE_LIKE_RE.fullmatch(match.group(0)) else PHONE_MASK


def redact_text(text: str, names: Sequence[str] = ()) -> str:
    """``text`` with e-mail addresses, phone numbers and the given names masked."""
    # addresses first (a numeric QQ address is one address, not a phone number and a domain)
    text = EMAIL_RE.sub(EMAIL_MASK, text)
    text = LEFTOVER_AT_RE.sub(EMAIL_MASK, text)
    text = CN_MOBILE_RE.sub(PHONE_MASK, text)
    text = INTL_PHONE_RE.sub(PHONE_MASK, text)
    text = NATIONAL_PHONE_RE.sub(PHONE_MASK, text)
    text = SWEEP_RE.sub(_sweep, text)
    for name in sorted({n.strip() for n in names if n and len(n.strip()) >= 2}, key=len, reverse=True):
        pattern = re.escape(name)
        if name.isascii():  # whole words only ("Li" must not eat "policy"); CJK text has no word breaks
            pattern = rf"(?<![A-Za-z0-9]){pattern}(?![A-Za-z0-9])"
        text = re.sub(pattern, NAME_MASK, text, flags=re.IGNORECASE)
    return text


def _redact_value(value: Any, names: Sequence[str]) -> Any:
    if isinstance(value, str):
        return redact_text(value, names)
    if isinstance(value, list):
        return [_redact_value(v, names) for v in value]
    if isinstance(value, dict):
        return {k: _redact_value(v, names) for k, v in value.items()}
    return value


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


def _review_filter(since: datetime | None, until: datetime | None) -> list[Any]:
    """Reviews changed in [since, until): the review row itself or any of its answers."""
    if since is None and until is None:
        return []
    other = aliased(Answer)
    review_conds = []
    answer_conds = [col(other.review_id) == col(Review.id)]
    if since is not None:
        review_conds.append(col(Review.updated_at) >= since)
        answer_conds.append(col(other.answered_at) >= since)
    if until is not None:
        review_conds.append(col(Review.updated_at) < until)
        answer_conds.append(col(other.answered_at) < until)
    return [or_(and_(*review_conds), exists().where(*answer_conds))]


def _stream(session: Session, stmt: Any) -> Generator[Any, None, None]:
    result = session.execute(stmt.execution_options(yield_per=YIELD_PER))
    try:
        yield from result
    finally:
        result.close()


def _base_review_record(row: Any, redact: bool) -> tuple[dict[str, Any], list[str]]:
    names = [n for n in (row.customer, row.organization) if n]
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
    if redact:
        record["customer"] = NAME_MASK if row.customer else None
        record["organization"] = NAME_MASK if row.organization else None
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
                    value = _redact_value(value, names)
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
        created: list[Any] = []
        done: list[Any] = []
        if since is not None:
            created.append(col(a.created_at) >= since)
            done.append(col(a.done_at) >= since)
        if until is not None:
            created.append(col(a.created_at) < until)
            done.append(col(a.done_at) < until)
        stmt = stmt.where(or_(and_(*created), and_(*done)))
    if status is not None:
        stmt = stmt.where(col(a.status) == status)
    for row in _stream(session, stmt):
        record = {name: getattr(row, name) for name in ACTION_FIELDS}
        record["due_date"] = _iso(row.due_date)
        for name in ("created_at", "done_at"):
            record[name] = _iso(record[name])
        if redact:
            names = [n for n in (row.customer, row.organization) if n]
            record["customer"] = NAME_MASK if row.customer else None
            record["organization"] = NAME_MASK if row.organization else None
            record["text"] = redact_text(row.text or "", names)
        yield record


# -- writers -----------------------------------------------------------------------------------------------------


def csv_cell(value: Any) -> str:
    """A value as one CSV cell: yes/no for booleans, ``;``-joined lists, formulas neutralised."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, list):
        return neutralise_formula(";".join("" if v is None else str(v) for v in value))
    if isinstance(value, dict):
        return neutralise_formula(json.dumps(value, ensure_ascii=False, sort_keys=True))
    return neutralise_formula(str(value))


def write_records(
    records: Iterable[dict[str, Any]],
    stream: TextIO | IO[str],
    *,
    fmt: str,
    fields: Sequence[str],
    answer_columns: tuple[list[str], set[str]] | None = None,
) -> int:
    """Write records one at a time; returns how many. ``answer_columns`` turns per-review CSV wide."""
    check_format(fmt)
    n = 0
    if fmt == "jsonl":
        for record in records:
            stream.write(json_dumps(record) + "\n")
            n += 1
    elif fmt == "json":
        stream.write("[")
        for record in records:
            stream.write(("," if n else "") + "\n" + json_dumps(record))
            n += 1
        stream.write("\n]\n" if n else "]\n")
    else:
        writer = csv.writer(stream, lineterminator="\r\n")
        header = list(fields)
        questions, noted = answer_columns or ([], set())
        for qid in questions:
            header.append(qid)
            if qid in noted:
                header.append(f"{qid} note")
        writer.writerow(header)
        for record in records:
            row = [csv_cell(record.get(name)) for name in fields]
            if answer_columns is not None:
                answers = record.get("answers", {})
                for qid in questions:
                    a = answers.get(qid)
                    row.append("" if a is None else ("N/A" if a["na"] else csv_cell(a["value"])))
                    if qid in noted:
                        row.append("" if a is None else csv_cell(a["note"]))
            writer.writerow(row)
            n += 1
    stream.flush()
    return n
