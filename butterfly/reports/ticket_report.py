"""The per-ticket retrospective: ticket facts, timeline, each reviewer's six cells side by side, the butterfly
figure's scores, findings, action items and similar tickets at other customers."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel
from sqlmodel import col, select

from butterfly.checklist.model import (
    DEFAULT_CHECKLIST_ID,
    AnswerKind,
    Checklist,
    Question,
    load_builtin,
    resolve_checklist,
)
from butterfly.errors import ButterflyError, NotFoundError
from butterfly.review.experience import load_experience_levels
from butterfly.review.scoring import AnswerValue, cell_scores
from butterfly.review.similar import similar_tickets
from butterfly.store.models import ActionItem, Answer, Finding, Review
from butterfly.tickets import ticket_ref
from butterfly.timeutil import as_utc, utcnow

if TYPE_CHECKING:
    from sqlmodel import Session

    from butterfly.store.models import Ticket

TIMELINE_FIELDS = ("created_at", "first_response_at", "resolved_at", "closed_at")


class TicketFacts(BaseModel):
    id: int
    ref: str
    source: str
    external_id: str
    customer: str | None
    organization: str | None
    subject: str | None
    description: str | None
    category: str | None
    subcategory: str | None
    tags: list[str]
    status: str
    priority: str | None
    channel: str | None
    group_name: str | None
    assignee: str | None
    problem_id: str | None


class TimelineStep(BaseModel):
    key: str  # created_at | first_response_at | resolved_at | closed_at
    at: datetime
    since_created_s: float | None
    since_previous_s: float | None


class ReviewSummary(BaseModel):
    id: int
    reviewer: str
    status: str
    checklist_id: str
    checklist_version: str
    language: str
    lenses: list[str]
    experience_level: str | None
    experience_label: str | None
    experience_description: str | None
    started_at: datetime
    completed_at: datetime | None
    cell_scores: dict[str, float | None]


class AnswerShown(BaseModel):
    text: str
    answered: bool
    na: bool
    note: str | None = None


class QuestionRow(BaseModel):
    id: str
    text: str
    kind: str
    answers: list[AnswerShown]  # one per review, in the order of ``TicketReport.reviews``


class CellSection(BaseModel):
    id: str
    title: str
    purpose: str
    side: str | None
    horizon: str | None
    scores: list[float | None]  # one per review
    questions: list[QuestionRow]


class LensSection(BaseModel):
    id: str
    title: str
    cells: list[CellSection]


class FindingRow(BaseModel):
    review_id: int
    reviewer: str
    kind: str
    question_id: str | None
    question_text: str | None
    detail: str
    kept: bool
    created_at: datetime


class ActionRow(BaseModel):
    id: int
    kind: str
    text: str
    owner: str | None
    due_date: date | None
    status: str
    overdue: bool
    created_at: datetime
    created_by: str | None


class SimilarRow(BaseModel):
    ref: str
    source: str
    external_id: str
    customer: str | None
    subject: str | None
    category: str | None
    closed_at: datetime | None
    score: float | None


class TicketReport(BaseModel):
    kind: str = "ticket"
    language: str
    timezone: str
    generated_at: datetime
    checklist_id: str
    checklist_title: str
    ticket: TicketFacts
    timeline: list[TimelineStep]
    reviews: list[ReviewSummary]
    cells: list[CellSection]
    lenses: list[LensSection]
    extra_answers: list[QuestionRow]
    findings: list[FindingRow]
    actions: list[ActionRow]
    similar: list[SimilarRow]
    similar_method: str  # "similar": butterfly.review.similar


# -- answers as text ----------------------------------------------------------------------------------------


def _yes_no(value: object) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return bool(value)
    if isinstance(value, str):
        v = value.strip().lower()
        if v in ("yes", "y", "true", "1", "是"):
            return True
        if v in ("no", "n", "false", "0", "否"):
            return False
    return None


def show_answer(
    question: Question | None, value: Any, na: bool, checklist: Checklist, labels: dict[str, str], tz: str
) -> str:
    """An answer as the text a reader sees: scale and choice labels, yes/no, a local date-time."""
    if na:
        return checklist.scale.na_label
    if value is None or value == "" or value == []:
        return ""
    kind = question.kind if question is not None else None
    if kind is AnswerKind.rating and isinstance(value, int | float) and not isinstance(value, bool):
        return f"{value} · {checklist.scale.label(int(value))}"
    if kind is AnswerKind.yes_no:
        yn = _yes_no(value)
        if yn is not None:
            return labels["yes"] if yn else labels["no"]
    if kind is AnswerKind.choice and question is not None and question.choices:
        names = {c.id: c.label for c in question.choices}
        ids = value if isinstance(value, list) else [value]
        return "; ".join(names.get(str(i), str(i)) for i in ids)
    if kind is AnswerKind.datetime and isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return value
        if moment.tzinfo is None:
            return moment.strftime("%Y-%m-%d %H:%M")
        return moment.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M")
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "; ".join(str(v) for v in value)
    return json.dumps(value, ensure_ascii=False)


# -- building -----------------------------------------------------------------------------------------------


def _facts(ticket: Ticket) -> TicketFacts:
    assert ticket.id is not None
    return TicketFacts(
        id=ticket.id,
        ref=ticket_ref(ticket.source, ticket.external_id),
        source=ticket.source,
        external_id=ticket.external_id,
        customer=ticket.customer,
        organization=ticket.organization,
        subject=ticket.subject,
        description=ticket.description,
        category=ticket.category,
        subcategory=ticket.subcategory,
        tags=[str(t) for t in (ticket.tags or [])],
        status=ticket.status,
        priority=ticket.priority,
        channel=ticket.channel,
        group_name=ticket.group_name,
        assignee=ticket.assignee,
        problem_id=ticket.problem_id,
    )


def _timeline(ticket: Ticket) -> list[TimelineStep]:
    steps: list[TimelineStep] = []
    created = as_utc(ticket.created_at)
    previous: datetime | None = None
    for key in TIMELINE_FIELDS:
        at = as_utc(getattr(ticket, key))
        if at is None:
            continue
        steps.append(
            TimelineStep(
                key=key,
                at=at,
                since_created_s=(at - created).total_seconds() if created is not None and key != "created_at" else None,
                since_previous_s=(at - previous).total_seconds() if previous is not None else None,
            )
        )
        previous = at
    return steps


def _checklist_for(checklist_id: str, lang: str, override: Checklist | None) -> Checklist:
    if override is not None and override.id == checklist_id:
        return override
    try:
        return load_builtin(checklist_id, lang)
    except NotFoundError:
        return override if override is not None else load_builtin(DEFAULT_CHECKLIST_ID, lang)


def _rows(
    checklist: Checklist,
    reviews: Sequence[Review],
    answers: dict[int, dict[str, Answer]],
    labels: dict[str, str],
    tz: str,
) -> list[CellSection]:
    sections = []
    for cell in checklist.cells:
        rows = []
        for q in cell.questions:
            shown = []
            for r in reviews:
                assert r.id is not None
                a = answers.get(r.id, {}).get(q.id)
                if a is None:
                    shown.append(AnswerShown(text="", answered=False, na=False))
                else:
                    text = show_answer(q, a.value, a.na, checklist, labels, tz)
                    shown.append(AnswerShown(text=text, answered=bool(text) or a.na, na=a.na, note=a.note))
            rows.append(QuestionRow(id=q.id, text=q.text, kind=q.kind.value, answers=shown))
        scores = []
        for r in reviews:
            assert r.id is not None
            values = {qid: AnswerValue(a.value, a.na) for qid, a in answers.get(r.id, {}).items()}
            score = next(s.score for s in cell_scores(checklist, values) if s.cell_id == cell.id)
            scores.append(score)
        sections.append(
            CellSection(
                id=cell.id,
                title=cell.title,
                purpose=cell.purpose,
                side=cell.side,
                horizon=cell.horizon,
                scores=scores,
                questions=rows,
            )
        )
    return sections


def _similar(session: Session, ticket: Ticket, limit: int) -> tuple[list[SimilarRow], str]:
    """Similar tickets at other customers (:func:`butterfly.review.similar.similar_tickets`)."""
    rows = [
        SimilarRow(
            ref=ticket_ref(item.ticket.source, item.ticket.external_id),
            source=item.ticket.source,
            external_id=item.ticket.external_id,
            customer=item.ticket.customer,
            subject=item.ticket.subject,
            category=item.ticket.category,
            closed_at=as_utc(item.ticket.closed_at),
            score=round(float(item.score), 3),
        )
        for item in similar_tickets(session=session, ticket=ticket, limit=limit)[:limit]
    ]
    return rows, "similar"


def build_ticket_report(
    *,
    session: Session,
    ticket: Ticket,
    lang: str,
    labels: dict[str, str],
    reviewers: Sequence[str] | None = None,
    checklist: Checklist | None = None,
    tz: str = "UTC",
    similar_limit: int = 5,
    now: datetime | None = None,
) -> TicketReport:
    """Everything the retrospective of ``ticket`` shows, in ``lang``; only ``reviewers``' reviews when given."""
    assert ticket.id is not None
    now = now or utcnow()
    reviews = list(
        session.exec(
            select(Review).where(Review.ticket_id == ticket.id).order_by(col(Review.started_at), col(Review.id))
        )
    )
    if reviewers:
        wanted = list(dict.fromkeys(reviewers))
        missing = [name for name in wanted if name not in {r.reviewer for r in reviews}]
        if missing:
            have = ", ".join(r.reviewer for r in reviews) or "nobody yet"
            raise NotFoundError(
                f"no review of {ticket_ref(ticket.source, ticket.external_id)} by {', '.join(missing)}",
                hint=f"reviewed by: {have}",
            )
        reviews = sorted((r for r in reviews if r.reviewer in wanted), key=lambda r: wanted.index(r.reviewer))
    review_ids = [r.id for r in reviews if r.id is not None]
    answers: dict[int, dict[str, Answer]] = {rid: {} for rid in review_ids}
    if review_ids:
        for a in session.exec(select(Answer).where(col(Answer.review_id).in_(review_ids))):
            answers[a.review_id][a.question_id] = a
    main = _checklist_for(reviews[0].checklist_id if reviews else DEFAULT_CHECKLIST_ID, lang, checklist)
    cells = _rows(main, reviews, answers, labels, tz)
    known = set(main.question_ids())

    lens_ids = list(dict.fromkeys(lens for r in reviews for lens in (r.lenses or [])))
    lenses = []
    for lens_id in lens_ids:
        try:  # a shipped lens id, or a team's own lens file (stored as its path)
            lens = resolve_checklist(lens_id, lang)
        except ButterflyError:
            continue
        known.update(lens.question_ids())
        lenses.append(LensSection(id=lens.id, title=lens.title, cells=_rows(lens, reviews, answers, labels, tz)))

    extra_ids = sorted({qid for per in answers.values() for qid in per if qid not in known})
    extra = []
    for qid in extra_ids:
        shown = []
        for r in reviews:
            assert r.id is not None
            found_answer = answers[r.id].get(qid)
            if found_answer is None:
                shown.append(AnswerShown(text="", answered=False, na=False))
                continue
            text = show_answer(None, found_answer.value, found_answer.na, main, labels, tz)
            shown.append(AnswerShown(text=text, answered=True, na=found_answer.na, note=found_answer.note))
        extra.append(QuestionRow(id=qid, text=qid, kind="unknown", answers=shown))

    levels = load_experience_levels()
    summaries = []
    for index, r in enumerate(reviews):
        assert r.id is not None
        level_label = level_text = None
        if r.experience_level:
            try:
                lv = levels.level(r.experience_level)
                level_label, level_text = lv.label(lang), lv.describe(lang)
            except NotFoundError:
                level_label = r.experience_level
        summaries.append(
            ReviewSummary(
                id=r.id,
                reviewer=r.reviewer,
                status=r.status,
                checklist_id=r.checklist_id,
                checklist_version=r.checklist_version,
                language=r.language,
                lenses=list(r.lenses or []),
                experience_level=r.experience_level,
                experience_label=level_label,
                experience_description=level_text,
                started_at=r.started_at,
                completed_at=r.completed_at,
                cell_scores={c.id: c.scores[index] for c in cells},
            )
        )

    by_review = {r.id: r.reviewer for r in reviews}
    findings = []
    if review_ids:
        for f in session.exec(
            select(Finding).where(col(Finding.review_id).in_(review_ids)).order_by(col(Finding.id))
        ).all():
            qtext = None
            if f.question_id:
                try:
                    qtext = main.question(f.question_id).text
                except KeyError:
                    qtext = f.question_id
            findings.append(
                FindingRow(
                    review_id=f.review_id,
                    reviewer=by_review.get(f.review_id, ""),
                    kind=f.kind,
                    question_id=f.question_id,
                    question_text=qtext,
                    detail=f.detail,
                    kept=f.kept,
                    created_at=f.created_at,
                )
            )

    # every action item of this ticket (also those from reviews not shown, they belong to the ticket)
    all_review_ids = [rid for rid in session.exec(select(Review.id).where(Review.ticket_id == ticket.id))]
    condition = col(ActionItem.ticket_id) == ticket.id
    if all_review_ids:
        condition = condition | col(ActionItem.review_id).in_(all_review_ids)
    today = now.astimezone(ZoneInfo(tz)).date()
    actions = [
        ActionRow(
            id=a.id or 0,
            kind=a.kind,
            text=a.text,
            owner=a.owner,
            due_date=a.due_date,
            status=a.status,
            overdue=a.status != "done" and a.due_date is not None and a.due_date < today,
            created_at=a.created_at,
            created_by=a.created_by,
        )
        for a in session.exec(select(ActionItem).where(condition).order_by(col(ActionItem.id))).all()
    ]
    similar, method = _similar(session, ticket, similar_limit)
    return TicketReport(
        language=lang,
        timezone=tz,
        generated_at=now,
        checklist_id=main.id,
        checklist_title=main.title,
        ticket=_facts(ticket),
        timeline=_timeline(ticket),
        reviews=summaries,
        cells=cells,
        lenses=lenses,
        extra_answers=extra,
        findings=findings,
        actions=actions,
        similar=similar,
        similar_method=method,
    )
