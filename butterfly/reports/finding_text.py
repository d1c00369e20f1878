"""Finding details in the report's language.

A finding's ``detail`` is stored in the language of the review that made it. A report in another language runs the
guards again on that review's saved answers, in the report's language; a detail the answers no longer produce (a
blame wording since reworded) keeps its stored text.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from sqlmodel import col, select

from butterfly.errors import ButterflyError
from butterfly.review.guards import evaluate
from butterfly.store.models import Answer, Review, Ticket

if TYPE_CHECKING:
    from sqlmodel import Session

    from butterfly.checklist.model import Checklist

DetailKey = tuple[int, str, str | None]  # review id, finding kind, question id


def details_in(
    *,
    session: Session,
    lang: str,
    review_ids: Iterable[int],
    checklist_for: Callable[[str], Checklist],
    tz: str = "UTC",
) -> dict[DetailKey, str]:
    """``{(review id, kind, question id): detail in lang}`` for the reviews written in another language."""
    ids = sorted(set(review_ids))
    if not ids:
        return {}
    rows = session.exec(
        select(Review, Ticket)
        .join(Ticket, col(Ticket.id) == col(Review.ticket_id))
        .where(col(Review.id).in_(ids), col(Review.language) != lang)
    ).all()
    if not rows:
        return {}
    answers: dict[int, dict[str, Answer]] = {}
    for a in session.exec(select(Answer).where(col(Answer.review_id).in_([r.id for r, _ in rows]))):
        answers.setdefault(a.review_id, {})[a.question_id] = a
    out: dict[DetailKey, str] = {}
    for review, ticket in rows:
        assert review.id is not None
        given = answers.get(review.id)
        if not given:
            continue
        try:
            questions = checklist_for(review.checklist_id).questions
            specs = evaluate(questions=questions, answers=given, ticket=ticket, lang=lang, tz=tz)
        except ButterflyError:
            continue
        for spec in specs:
            out[(review.id, spec.kind, spec.question_id)] = spec.detail
    return out
