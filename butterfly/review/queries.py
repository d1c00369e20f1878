"""Reviews listed and shown: summaries with answered counts, one review in detail, the next ticket to review."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlmodel import col, func, select

from butterfly.checklist.model import Checklist, Question
from butterfly.errors import (
    FileProblemsError,
    InvalidInputError,
    NotFoundError,
)
from butterfly.review.answers import answer_values, answers_for, display_value
from butterfly.review.guards import PublicationStatus, publication_status
from butterfly.review.lifecycle import (
    REVIEWABLE_STATUSES,
    all_questions,
    load_lenses,
    question_scales,
    review_checklist,
)
from butterfly.review.scoring import cell_scores
from butterfly.store.models import ActionItem, Answer, AnswerChange, Finding, Review, ReviewStatus, Ticket, TicketStatus

if TYPE_CHECKING:
    from sqlmodel import Session

    from butterfly.review.scoring import CellScore


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
    """Answers, history, findings, actions, cell scores (via :func:`butterfly.review.scoring.cell_scores`)."""
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


# -- next ticket ------------------------------------------------------------------------------------------


def next_ticket_for(
    *, session: Session, reviewer: str, customer: str | None = None, category: str | None = None
) -> Ticket:
    """The oldest closed ticket (by closing time) this reviewer has not reviewed; then resolved ones."""
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
