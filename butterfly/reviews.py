"""Reviews: one reviewer's butterfly check of one ticket, its lifecycle, and the non-interactive path.

Each reviewer has their own review of a ticket (unique ``(ticket_id, reviewer)``). A review is a *draft* while
it is being answered and *complete* once the reviewer says so; it can be reopened and edited, and every change
of an answer is kept in the history (:mod:`butterfly.answers`).

:func:`apply_answers_file` is ``butterfly review TICKET --answers FILE``: it validates every answer in the file
first and then writes them all in one transaction, so a bad file saves nothing.
"""

from __future__ import annotations

import difflib
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from butterfly.answers import answer_values, answers_for, display_value, validate_answer, write_answer
from butterfly.checklist import Checklist, Question, Scale, load_builtin, resolve_checklist
from butterfly.errors import (
    ConflictError,
    FileProblemsError,
    InvalidInputError,
    NotFoundError,
    Problem,
)
from butterfly.guards import PublicationStatus, evaluate, publication_status, sync_findings
from butterfly.models import ReviewStatus, TicketStatus
from butterfly.timeutil import utcnow

if TYPE_CHECKING:
    from sqlmodel import Session

    from butterfly.models import ActionItem, Answer, AnswerChange, Finding, Review, Ticket
    from butterfly.scoring import CellScore

REVIEWABLE_STATUSES = (TicketStatus.closed.value, TicketStatus.resolved.value)
ENTRY_KEYS = ("value", "na", "note", "action")
ACTION_KEYS = ("kind", "text", "owner", "due")
TOP_LEVEL_KEYS = ("experience_level",)


# -- checklists of a review -------------------------------------------------------------------------------


def load_lenses(names: Sequence[str], lang: str) -> list[Checklist]:
    """The lens checklists named (``human-needs``, ``surprise`` or a lens file); each must be ``kind: lens``."""
    out: list[Checklist] = []
    for name in names:
        lens = resolve_checklist(name, lang, kind="lens")
        if all(existing.id != lens.id for existing in out):
            out.append(lens)
    return out


def review_checklist(review: Review, lang: str | None = None) -> Checklist:
    """The checklist a review was started with (shipped by id, or the configured team checklist)."""
    language = lang or review.language
    try:
        return load_builtin(review.checklist_id, language)
    except (NotFoundError, FileProblemsError):
        pass
    from butterfly.settings import get_settings

    configured = get_settings().checklist
    if configured:
        try:
            cl = resolve_checklist(configured, language)
            if cl.id == review.checklist_id:
                return cl
        except (NotFoundError, FileProblemsError):
            pass
    return load_builtin("butterfly", language)


def question_scales(checklist: Checklist, lenses: Sequence[Checklist]) -> dict[str, Scale]:
    """The rating scale of every question: its own checklist's (a team lens may use another scale)."""
    return {q.id: cl.scale for cl in (checklist, *lenses) for q in cl.questions}


def all_questions(checklist: Checklist, lenses: Sequence[Checklist]) -> list[Question]:
    """The six cells' questions, then each lens's."""
    return [*checklist.questions, *(q for lens in lenses for q in lens.questions)]


# -- lifecycle ----------------------------------------------------------------------------------------------


def ensure_reviewable(ticket: Ticket, *, allow_open: bool = False) -> None:
    """Only closed or resolved tickets are reviewed (unless ``allow_open``)."""
    if allow_open or ticket.status in REVIEWABLE_STATUSES:
        return
    raise InvalidInputError(
        f"ticket {ticket.external_id} is {ticket.status}: only closed or resolved tickets are reviewed",
        hint="review it once it is closed, or pass --allow-open to review it anyway",
    )


def get_review(*, session: Session, ticket_id: int, reviewer: str) -> Review | None:
    from sqlmodel import select

    from butterfly.models import Review

    return session.exec(
        select(Review)
        .where(Review.ticket_id == ticket_id, Review.reviewer == reviewer)
        .execution_options(populate_existing=True)
    ).first()


def start_review(
    *,
    session: Session,
    ticket: Ticket,
    reviewer: str,
    checklist: Checklist,
    lenses: Sequence[str] = (),
    allow_open: bool = False,
) -> Review:
    """The reviewer's review of ``ticket``, created if there is none yet (race-safe).

    New ``lenses`` are added to an existing review's lenses.
    """
    from sqlalchemy.exc import IntegrityError, OperationalError

    from butterfly.db import LOCKED_RETRIES, locked_retry_delay
    from butterfly.models import Review

    assert ticket.id is not None
    reviewer = reviewer.strip()
    if not reviewer:
        raise InvalidInputError("the reviewer name is empty", hint="pass --reviewer NAME or set BUTTERFLY_REVIEWER")
    locked = 0
    for _ in range(3 + LOCKED_RETRIES):
        review = get_review(session=session, ticket_id=ticket.id, reviewer=reviewer)
        if review is not None:
            missing = [name for name in lenses if name not in review.lenses]
            if missing:
                review = _update_review(session, review, lenses=[*review.lenses, *missing])
            return review
        ensure_reviewable(ticket, allow_open=allow_open)
        review = Review(
            ticket_id=ticket.id,
            reviewer=reviewer,
            checklist_id=checklist.id,
            checklist_version=checklist.version,
            language=checklist.language,
            lenses=list(dict.fromkeys(lenses)),
        )
        session.add(review)
        try:
            session.commit()
        except IntegrityError:
            session.rollback()  # another process created it at the same moment: use theirs
            continue
        except OperationalError as exc:
            session.rollback()
            delay = locked_retry_delay(exc, locked)
            if delay is None:
                raise
            locked += 1
            time.sleep(delay)
            continue
        return review
    raise ConflictError(f"could not start the review of {ticket.external_id}; try again")


def _update_review(session: Session, review: Review, *, commit: bool = True, **values: Any) -> Review:
    """Compare-and-swap update of the review row (bumps ``version`` and ``updated_at``)."""
    import sqlalchemy as sa

    from butterfly.models import Review

    table = Review.__table__  # type: ignore[attr-defined]
    current = review
    for _ in range(5):
        result = session.execute(
            sa.update(table)
            .where(table.c.id == current.id, table.c.version == current.version)
            .values(**values, updated_at=utcnow(), version=current.version + 1)
        )
        if getattr(result, "rowcount", 0) == 1:
            if commit:
                session.commit()
            else:
                session.flush()
            fresh = session.get(Review, current.id, populate_existing=True)
            assert fresh is not None
            return fresh
        if not commit:
            raise _Retry()
        session.rollback()
        reloaded = session.get(Review, current.id, populate_existing=True)
        if reloaded is None:
            raise NotFoundError(f"review {current.id} no longer exists")
        current = reloaded
    raise ConflictError(f"review {review.id} kept changing; try again")


def set_position(*, session: Session, review: Review, question_id: str | None) -> Review:
    """Remember the question the reviewer is on (the resume point)."""
    if review.position == question_id:
        return review
    return _update_review(session, review, position=question_id)


def set_experience_level(*, session: Session, review: Review, level: str | None) -> Review:
    """Store the overall experience level the customer got (``devil`` … ``ultimate``), or clear it."""
    if level is not None:
        from butterfly.experience import load_experience_levels

        level = load_experience_levels().level(level).id
    if review.experience_level == level:
        return review
    return _update_review(session, review, experience_level=level)


def complete_review(*, session: Session, review: Review) -> Review:
    """Mark the review complete (a no-op when it already is)."""
    if review.status == ReviewStatus.complete.value:
        return review
    return _update_review(session, review, status=ReviewStatus.complete.value, completed_at=utcnow())


def reopen_review(*, session: Session, review: Review) -> Review:
    """Make a complete review a draft again so it can be edited (the history keeps every change)."""
    if review.status == ReviewStatus.draft.value:
        return review
    return _update_review(session, review, status=ReviewStatus.draft.value, completed_at=None)


def find_review(*, session: Session, ticket: Ticket, reviewer: str | None, default_reviewer: str) -> Review:
    """The review of ``ticket`` by ``reviewer``; without one, the default reviewer's, or the only one."""
    from sqlmodel import select

    from butterfly.models import Review

    assert ticket.id is not None
    if reviewer:
        review = get_review(session=session, ticket_id=ticket.id, reviewer=reviewer)
        if review is None:
            raise NotFoundError(f"{reviewer} has not reviewed ticket {ticket.external_id}")
        return review
    reviews = list(session.exec(select(Review).where(Review.ticket_id == ticket.id)).all())
    if not reviews:
        raise NotFoundError(
            f"ticket {ticket.external_id} has no review yet", hint=f"start one: butterfly review {ticket.external_id}"
        )
    for review in reviews:
        if review.reviewer == default_reviewer:
            return review
    if len(reviews) == 1:
        return reviews[0]
    names = ", ".join(sorted(r.reviewer for r in reviews))
    raise InvalidInputError(
        f"ticket {ticket.external_id} has reviews by {names}", hint="choose one with --reviewer NAME"
    )


# -- lists and details --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReviewSummary:
    review: Review
    ticket_ref: str
    subject: str | None
    customer: str | None
    answered: int
    questions: int | None
    findings: int

    def as_dict(self) -> dict[str, Any]:
        r = self.review
        return {
            "id": r.id,
            "ticket": self.ticket_ref,
            "subject": self.subject,
            "customer": self.customer,
            "reviewer": r.reviewer,
            "status": r.status,
            "answered": self.answered,
            "questions": self.questions,
            "findings": self.findings,
            "lenses": list(r.lenses),
            "experience_level": r.experience_level,
            "started_at": r.started_at.isoformat() if r.started_at else None,
            "updated_at": r.updated_at.isoformat() if r.updated_at else None,
            "completed_at": r.completed_at.isoformat() if r.completed_at else None,
        }


def _question_total(review: Review) -> int | None:
    try:
        cl = review_checklist(review)
        lenses = load_lenses(review.lenses, cl.language) if review.lenses else []
    except (NotFoundError, FileProblemsError, InvalidInputError):
        return None
    return len(all_questions(cl, lenses))


def list_reviews(
    *, session: Session, status: str | None = None, reviewer: str | None = None, limit: int | None = None
) -> list[ReviewSummary]:
    """Reviews, most recently updated first, with answered counts and findings."""
    from sqlmodel import col, func, select

    from butterfly.models import Answer, Finding, Review, Ticket

    if status is not None and status not in {s.value for s in ReviewStatus}:
        raise InvalidInputError(f"unknown status '{status}'", hint="use draft or complete")
    answered = select(Answer.review_id, func.count().label("n")).group_by(col(Answer.review_id)).subquery("answered")
    findings = select(Finding.review_id, func.count().label("n")).group_by(col(Finding.review_id)).subquery("findings")
    stmt = (
        select(Review, Ticket.external_id, Ticket.subject, Ticket.customer, answered.c.n, findings.c.n)  # type: ignore[call-overload]
        .join(Ticket, col(Review.ticket_id) == Ticket.id)
        .join(answered, answered.c.review_id == Review.id, isouter=True)
        .join(findings, findings.c.review_id == Review.id, isouter=True)
        .order_by(col(Review.updated_at).desc(), col(Review.id).desc())
    )
    if status is not None:
        stmt = stmt.where(Review.status == status)
    if reviewer is not None:
        stmt = stmt.where(Review.reviewer == reviewer)
    if limit is not None:
        stmt = stmt.limit(limit)
    totals: dict[tuple[str, str, tuple[str, ...]], int | None] = {}
    out = []
    for review, ext, subject, customer, n_answered, n_findings in session.exec(stmt).all():
        key = (review.checklist_id, review.language, tuple(review.lenses))
        if key not in totals:
            totals[key] = _question_total(review)
        out.append(
            ReviewSummary(review, ext, subject, customer, int(n_answered or 0), totals[key], int(n_findings or 0))
        )
    return out


@dataclass
class ReviewDetail:
    """Everything about one review: answers, history, findings, actions and the cell scores."""

    review: Review
    ticket: Ticket
    checklist: Checklist
    lenses: list[Checklist]
    answers: dict[str, Answer]
    history: list[AnswerChange]
    findings: list[Finding]
    actions: list[ActionItem]
    scores: list[CellScore]
    lens_scores: dict[str, list[CellScore]]
    publication: PublicationStatus
    extra_answers: dict[str, Answer] = field(default_factory=dict)  # ids not in the checklist (e.g. renamed)

    @property
    def questions(self) -> list[Question]:
        return all_questions(self.checklist, self.lenses)

    @property
    def answered(self) -> int:
        ids = {q.id for q in self.questions}
        return sum(1 for qid in self.answers if qid in ids)

    def as_dict(self) -> dict[str, Any]:
        r, t = self.review, self.ticket
        qs = {q.id: q for q in self.questions}
        scales = question_scales(self.checklist, self.lenses)

        def answer_dict(a: Answer) -> dict[str, Any]:
            q = qs.get(a.question_id)
            return {
                "value": a.value,
                "na": a.na,
                "note": a.note,
                "display": display_value(q, a.value, a.na, scales[q.id]) if q else None,
                "answered_by": a.answered_by,
                "answered_at": a.answered_at.isoformat(),
                "version": a.version,
            }

        def score_dict(s: CellScore) -> dict[str, Any]:
            return {
                "cell": s.cell_id,
                "score": None if s.score is None else round(s.score, 4),
                "rated": s.rated,
                "ratings": s.ratings,
                "answered": s.answered,
                "questions": s.questions,
            }

        return {
            "review": {
                "id": r.id,
                "ticket": t.external_id,
                "source": t.source,
                "reviewer": r.reviewer,
                "status": r.status,
                "checklist": r.checklist_id,
                "checklist_version": r.checklist_version,
                "language": r.language,
                "lenses": list(r.lenses),
                "experience_level": r.experience_level,
                "position": r.position,
                "started_at": r.started_at.isoformat(),
                "updated_at": r.updated_at.isoformat(),
                "completed_at": r.completed_at.isoformat() if r.completed_at else None,
                "publication": self.publication.status.value,
                "answered": self.answered,
                "questions": len(self.questions),
            },
            "answers": {q.id: answer_dict(self.answers[q.id]) for q in self.questions if q.id in self.answers},
            "other_answers": {qid: answer_dict(a) for qid, a in self.extra_answers.items()},
            "scores": [score_dict(s) for s in self.scores],
            "lens_scores": {k: [score_dict(s) for s in v] for k, v in self.lens_scores.items()},
            "findings": [
                {"id": f.id, "kind": f.kind, "question_id": f.question_id, "detail": f.detail, "kept": f.kept}
                for f in self.findings
            ],
            "actions": [
                {
                    "id": a.id,
                    "kind": a.kind,
                    "text": a.text,
                    "owner": a.owner,
                    "due_date": a.due_date.isoformat() if a.due_date else None,
                    "status": a.status,
                    "question_id": a.question_id,
                }
                for a in self.actions
            ],
            "history": [
                {
                    "question_id": h.question_id,
                    "old_value": h.old_value,
                    "old_na": h.old_na,
                    "new_value": h.new_value,
                    "new_na": h.new_na,
                    "changed_by": h.changed_by,
                    "changed_at": h.changed_at.isoformat(),
                }
                for h in self.history
            ],
        }


def review_detail(
    *, session: Session, review: Review, checklist: Checklist | None = None, lang: str | None = None
) -> ReviewDetail:
    """Answers, history, findings, actions, cell scores (via :func:`butterfly.scoring.cell_scores`)."""
    from sqlmodel import col, select

    from butterfly.models import ActionItem, AnswerChange, Finding, Ticket
    from butterfly.scoring import cell_scores

    assert review.id is not None
    cl = checklist or review_checklist(review, lang)
    lenses = load_lenses(review.lenses, cl.language) if review.lenses else []
    ticket = session.get(Ticket, review.ticket_id)
    assert ticket is not None
    answers = answers_for(session=session, review_id=review.id)
    history = list(
        session.exec(
            select(AnswerChange)
            .where(AnswerChange.review_id == review.id)
            .order_by(col(AnswerChange.changed_at), col(AnswerChange.id))
        ).all()
    )
    findings = list(session.exec(select(Finding).where(Finding.review_id == review.id).order_by(col(Finding.id))).all())
    actions = list(
        session.exec(select(ActionItem).where(ActionItem.review_id == review.id).order_by(col(ActionItem.id))).all()
    )
    values = answer_values(answers)
    questions = all_questions(cl, lenses)
    known = {q.id for q in questions}
    return ReviewDetail(
        review=review,
        ticket=ticket,
        checklist=cl,
        lenses=lenses,
        answers=answers,
        history=history,
        findings=findings,
        actions=actions,
        scores=cell_scores(cl, values),
        lens_scores={lens.id: cell_scores(lens, values) for lens in lenses},
        publication=publication_status(questions, values),
        extra_answers={qid: a for qid, a in answers.items() if qid not in known},
    )


def refresh_findings(
    *, session: Session, review: Review, ticket: Ticket, questions: Sequence[Question], lang: str, commit: bool = True
) -> list[Finding]:
    """Recompute the guards' findings from the review's current answers and store them."""
    assert review.id is not None
    values = answer_values(answers_for(session=session, review_id=review.id))
    specs = evaluate(questions=questions, answers=values, ticket=ticket, lang=lang)
    return sync_findings(session=session, review_id=review.id, specs=specs, commit=commit)


# -- next ticket ------------------------------------------------------------------------------------------


def next_ticket_for(
    *, session: Session, reviewer: str, customer: str | None = None, category: str | None = None
) -> Ticket:
    """The oldest closed ticket (by closing time) this reviewer has not reviewed; then resolved ones."""
    from sqlmodel import col, select

    from butterfly.models import Review, Ticket

    reviewed = select(Review.id).where(Review.ticket_id == Ticket.id, Review.reviewer == reviewer).exists()
    filters: list[Any] = [~reviewed]
    if customer:
        filters.append(Ticket.customer == customer)
    if category:
        filters.append(Ticket.category == category)
    queries = (
        select(Ticket)
        .where(Ticket.status == TicketStatus.closed.value, col(Ticket.closed_at).is_not(None), *filters)
        .order_by(col(Ticket.closed_at), col(Ticket.id)),
        select(Ticket).where(col(Ticket.status).in_(REVIEWABLE_STATUSES), *filters).order_by(col(Ticket.id)),
    )
    for stmt in queries:
        ticket = session.exec(stmt.limit(1)).first()
        if ticket is not None:
            return ticket
    where = " ".join(f"{k}={v}" for k, v in (("customer", customer), ("category", category)) if v)
    raise NotFoundError(
        f"no closed ticket left for {reviewer} to review" + (f" ({where})" if where else ""),
        hint="import more tickets with `butterfly import`, or see `butterfly reviews list`",
    )


# -- answers file -------------------------------------------------------------------------------------------


@dataclass
class PlannedAction:
    question_id: str
    kind: str
    text: str
    owner: str | None
    due: date | None


@dataclass
class PlannedAnswer:
    question_id: str
    value: Any
    na: bool
    note: str | None


@dataclass
class AnswersPlan:
    """A validated answers file, ready to write."""

    path: str
    answers: list[PlannedAnswer]
    actions: list[PlannedAction]
    experience_level: str | None = None
    set_experience: bool = False


@dataclass
class ApplyResult:
    review: Review
    saved: list[str]
    unchanged: list[str]
    actions: list[ActionItem]
    findings: list[Finding]
    publication: PublicationStatus


def read_answers_file(path: str | Path) -> tuple[Any, dict[tuple[str, ...], int], str]:
    """Parse an answers file (YAML, or JSON by extension); problems name the file and line.

    Read with a size limit; YAML through :func:`butterfly.yamlload.load_yaml` (no aliases, plain data, no
    duplicate keys), JSON with the same duplicate-key and long-number checks.
    """
    from butterfly.files import read_input_text
    from butterfly.yamlload import JsonDataError, json_loads, key_lines, load_yaml

    p = Path(path)
    name = str(p)
    text = read_input_text(p, encoding="utf-8-sig")
    if p.suffix.lower() != ".json":
        data, root = load_yaml(text, filename=name)
        return data, key_lines(root), name
    try:
        data = json_loads(text)
    except json.JSONDecodeError as exc:
        raise FileProblemsError(name, [Problem(name, f"not valid JSON: {exc.msg}", line=exc.lineno)]) from None
    except JsonDataError as exc:
        raise FileProblemsError(name, [Problem(name, str(exc))]) from None
    except RecursionError:  # json parses recursively: thousands of nested [ or { exhaust the stack
        raise FileProblemsError(name, [Problem(name, "not an answers file: nested too deeply")]) from None
    try:  # JSON is YAML (for the lines of keys); a JSON-only spelling just leaves the lines out
        _, root = load_yaml(text, filename=name)
    except FileProblemsError:
        root = None
    return data, key_lines(root), name


def _bool_hint(raw: object) -> str:
    return " (YAML reads unquoted yes/no/on/off as true/false: put text in quotes)" if isinstance(raw, bool) else ""


def plan_answers(
    data: Any,
    *,
    filename: str,
    lines: dict[tuple[str, ...], int],
    checklist: Checklist,
    lenses: Sequence[Checklist],
    tz: str | None = None,
) -> AnswersPlan:
    """Validate the whole answers file against the checklist; every problem is reported, nothing is written."""
    from butterfly.actions import parse_due, parse_kind, parse_text

    problems: list[Problem] = []

    def problem(message: str, path: tuple[str, ...], qid: str | None = None) -> None:
        line = None
        for depth in range(len(path), 0, -1):
            line = lines.get(path[:depth])
            if line is not None:
                break
        problems.append(Problem(filename, message, line=line, field=qid or (".".join(path) or None)))

    if not isinstance(data, dict):
        raise FileProblemsError(
            filename, [Problem(filename, "an answers file is a mapping of question id -> answer", line=1)]
        )
    prefix: tuple[str, ...] = ()
    top = data
    entries: dict[Any, Any]
    if isinstance(data.get("answers"), dict):
        entries = data["answers"]
        prefix = ("answers",)
        for key in data:
            if key != "answers" and key not in TOP_LEVEL_KEYS:
                problem(f"unknown top-level key '{key}'", (str(key),))
    else:
        entries = {k: v for k, v in data.items() if k not in TOP_LEVEL_KEYS}
    questions = {q.id: q for q in all_questions(checklist, lenses)}
    scales = question_scales(checklist, lenses)
    plan = AnswersPlan(path=filename, answers=[], actions=[])
    if "experience_level" in top:
        from butterfly.experience import load_experience_levels

        raw_level = top["experience_level"]
        if raw_level is None or raw_level == "":
            plan.set_experience = True
        else:
            try:
                plan.experience_level = load_experience_levels().level(str(raw_level).strip()).id
                plan.set_experience = True
            except NotFoundError as exc:
                problem(f"{exc.message} ({exc.hint})", ("experience_level",), "experience_level")
    for raw_key, entry in entries.items():
        qid = str(raw_key)
        path = (*prefix, qid)
        question = questions.get(qid)
        if question is None:
            close = difflib.get_close_matches(qid, list(questions), n=3, cutoff=0.6)
            lens_ids = {"human-needs", "surprise"}
            hint = ""
            if qid.split(".", 1)[0] in lens_ids:
                hint = f"; add --lens {qid.split('.', 1)[0]} to answer lens questions"
            elif close:
                hint = "; did you mean " + ", ".join(close) + "?"
            problem(f"unknown question id '{qid}'{hint}", path, qid)
            continue
        value: Any = entry
        note: str | None = None
        na = False
        actions_raw: list[Any] = []
        if isinstance(entry, dict):
            for key in entry:
                if key not in ENTRY_KEYS:
                    problem(f"unknown key '{key}' (use: {', '.join(ENTRY_KEYS)})", (*path, str(key)), qid)
            value = entry.get("value")
            na_raw = entry.get("na", False)
            if not isinstance(na_raw, bool):
                problem("'na' must be true or false", (*path, "na"), qid)
            na = na_raw is True
            if entry.get("note") is not None:
                note = str(entry["note"]).strip() or None
            if "action" in entry and entry["action"] is not None:
                actions_raw = entry["action"] if isinstance(entry["action"], list) else [entry["action"]]
            if value is None and not na:
                problem("needs a 'value' (or 'na: true')", path, qid)
                continue
        if na:
            planned = PlannedAnswer(qid, None, True, note)
        else:
            try:
                v, is_na = validate_answer(question, value, scales[qid], tz=tz)
            except InvalidInputError as exc:
                hint = f" ({exc.hint})" if exc.hint else ""
                vpath = (*path, "value") if isinstance(entry, dict) else path
                problem(f"{exc.message}{hint}{_bool_hint(value)}", vpath, qid)
                continue
            planned = PlannedAnswer(qid, v, is_na, note)
        plan.answers.append(planned)
        for i, spec in enumerate(actions_raw):
            apath = (*path, "action") if len(actions_raw) == 1 else (*path, "action", str(i))
            if not isinstance(spec, dict):
                problem("an action is a mapping with kind, text, owner, due", apath, qid)
                continue
            for key in spec:
                if key not in ACTION_KEYS:
                    problem(f"unknown action key '{key}' (use: {', '.join(ACTION_KEYS)})", (*apath, str(key)), qid)
            try:
                kind = parse_kind(spec.get("kind") or (question.action.value if question.action else ""))
                body = parse_text(spec.get("text"))
                due = parse_due(spec.get("due"))
            except InvalidInputError as exc:
                hint = f" ({exc.hint})" if exc.hint else ""
                problem(f"action: {exc.message}{hint}", apath, qid)
                continue
            owner = str(spec["owner"]).strip() if spec.get("owner") is not None else None
            plan.actions.append(PlannedAction(qid, kind.value, body, owner or None, due))
    if problems:
        raise FileProblemsError(filename, problems)
    return plan


class _Retry(Exception):
    """A concurrent writer won a race inside the batch: roll back and write the batch again."""


def apply_answers_file(
    *,
    session: Session,
    path: str | Path,
    ticket: Ticket,
    reviewer: str,
    checklist: Checklist,
    lenses: Sequence[str] = (),
    allow_open: bool = False,
    complete: bool = False,
    tz: str | None = None,
) -> ApplyResult:
    """``review TICKET --answers FILE``: validate everything, then write it all in one transaction.

    Errors name the file, the question id and (for YAML) the line; a file with any error saves nothing.
    Writing the same file twice changes nothing the second time.
    """
    from sqlalchemy.exc import IntegrityError, OperationalError

    from butterfly.actions import create_action
    from butterfly.db import LOCKED_RETRIES, locked_retry_delay

    ensure_reviewable(ticket, allow_open=allow_open)
    existing = get_review(session=session, ticket_id=ticket.id or 0, reviewer=reviewer)
    lens_names = list(dict.fromkeys([*(existing.lenses if existing else []), *lenses]))
    lens_lists = load_lenses(lens_names, checklist.language)
    data, lines, name = read_answers_file(path)
    plan = plan_answers(data, filename=name, lines=lines, checklist=checklist, lenses=lens_lists, tz=tz)
    review = start_review(
        session=session, ticket=ticket, reviewer=reviewer, checklist=checklist, lenses=lens_names, allow_open=allow_open
    )
    assert review.id is not None
    questions = all_questions(checklist, lens_lists)
    locked = 0
    for _attempt in range(5 + LOCKED_RETRIES):
        saved: list[str] = []
        unchanged: list[str] = []
        made: list[ActionItem] = []
        try:
            for item in plan.answers:
                outcome = write_answer(
                    session,
                    review_id=review.id,
                    question_id=item.question_id,
                    value=item.value,
                    na=item.na,
                    note=item.note,
                    by=reviewer,
                    expected_version=None,
                )
                if outcome is None:
                    raise _Retry()
                (saved if outcome[1] else unchanged).append(item.question_id)
            for action in plan.actions:
                made.append(
                    create_action(
                        session=session,
                        kind=action.kind,
                        text=action.text,
                        owner=action.owner,
                        due_date=action.due,
                        review_id=review.id,
                        ticket_id=ticket.id,
                        question_id=action.question_id,
                        by=reviewer,
                        commit=False,
                    )
                )
            current = session.get(type(review), review.id, populate_existing=True)
            assert current is not None
            changes: dict[str, Any] = {}
            if plan.set_experience and current.experience_level != plan.experience_level:
                changes["experience_level"] = plan.experience_level
            if complete and current.status != ReviewStatus.complete.value:
                changes["status"] = ReviewStatus.complete.value
                changes["completed_at"] = utcnow()
            if current.status == ReviewStatus.complete.value and (saved or changes or session.new):
                raise ConflictError(
                    f"the review of {ticket.external_id} by {reviewer} is complete",
                    hint=f"reopen it first: butterfly reviews reopen {ticket.external_id} --reviewer {reviewer}",
                )
            if saved and "status" not in changes:
                changes["position"] = saved[-1]
            if changes:
                current = _update_review(session, current, commit=False, **changes)
            findings = refresh_findings(
                session=session,
                review=current,
                ticket=ticket,
                questions=questions,
                lang=checklist.language,
                commit=False,
            )
            session.commit()
        except (IntegrityError, _Retry):
            session.rollback()
            continue
        except OperationalError as exc:
            session.rollback()
            delay = locked_retry_delay(exc, locked)
            if delay is None:
                raise
            locked += 1
            time.sleep(delay)
            continue
        except BaseException:
            session.rollback()
            raise
        values = answer_values(answers_for(session=session, review_id=review.id))
        return ApplyResult(current, saved, unchanged, made, findings, publication_status(questions, values))
    raise ConflictError(f"could not save {name}: the review kept changing under us; try again")
