"""Section: stories, reviews whose customer came out well in the long run and may be told (with consent)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlmodel import col

from butterfly.checklist.model import Checklist, Guard
from butterfly.errors import NotFoundError
from butterfly.reports.weekly.common import checklist_for, cols, customer_label, fetch_all, guard_questions
from butterfly.reports.weekly.model import MAX_LISTED, STORY_SCORE, Story
from butterfly.review.answers import is_yes
from butterfly.review.experience import load_experience_levels
from butterfly.review.scoring import AnswerValue, cell_scores
from butterfly.store.models import Answer, Review, Ticket
from butterfly.tickets import ticket_ref

if TYPE_CHECKING:
    from sqlmodel import Session


def stories(*, session: Session, start: datetime, end: datetime, lang: str, main: Checklist | None) -> list[Story]:
    """Reviews completed in the week with an outstanding customer outcome (experience level "ultimate", or a full
    score in the customer's long-term cell). A review whose case is planned for publicity without the customer's
    consent is never listed."""
    extra = [main] if main is not None else []
    planned_ids = set(guard_questions(Guard.publicity_planned, extra))
    consent_ids = set(guard_questions(Guard.consent_given, extra))
    reviews = fetch_all(
        session,
        select(
            *cols(
                Review.id,
                Review.reviewer,
                Review.experience_level,
                Review.checklist_id,
                Ticket.source,
                Ticket.external_id,
                Ticket.customer,
                Ticket.organization,
                Ticket.subject,
            )
        )
        .join(Ticket, col(Ticket.id) == Review.ticket_id)
        .where(col(Review.status) == "complete", col(Review.completed_at) >= start, col(Review.completed_at) < end)
        .order_by(col(Review.completed_at), col(Review.id)),
    )
    if not reviews:
        return []
    answers: dict[int, dict[str, AnswerValue]] = {}
    for review_id, qid, value, na in fetch_all(
        session,
        select(*cols(Answer.review_id, Answer.question_id, Answer.value, Answer.na))
        .join(Review, col(Review.id) == Answer.review_id)
        .where(col(Review.status) == "complete", col(Review.completed_at) >= start, col(Review.completed_at) < end),
    ):
        answers.setdefault(review_id, {})[qid] = AnswerValue(value, na)
    levels = load_experience_levels()
    cache: dict[str, Checklist] = {}
    out = []
    for rid, reviewer, level, checklist_id, source, ext, customer, org, subject in reviews:
        given = answers.get(rid, {})
        planned = any(is_yes(given[q].value) for q in planned_ids if q in given and not given[q].na)
        consent = any(is_yes(given[q].value) for q in consent_ids if q in given and not given[q].na)
        if planned and not consent:
            continue
        cl = checklist_for(cache, checklist_id, lang, main)
        long_score = next((s.score for s in cell_scores(cl, given) if s.cell_id == "customer.long"), None)
        if level != "ultimate" and (long_score is None or long_score < STORY_SCORE):
            continue
        label = None
        if level:
            try:
                label = levels.level(level).label(lang)
            except NotFoundError:
                label = level
        out.append(
            Story(
                ticket_ref=ticket_ref(source, ext),
                customer=customer_label(customer, org),
                subject=subject,
                reviewer=reviewer,
                experience_level=level,
                experience_label=label,
                customer_long_score=long_score,
            )
        )
    return out[: MAX_LISTED * 2]
