"""Section: review coverage, how many of the week's closed tickets were reviewed, by whom, and the weak cells."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlmodel import col

from butterfly.checklist.model import Checklist
from butterfly.reports.weekly.common import checklist_for, cols, fetch_all
from butterfly.reports.weekly.model import CLOSED_STATUSES, WEAK_SCORE, CellWeakness, Coverage, ReviewerCoverage
from butterfly.review.scoring import AnswerValue, cell_scores
from butterfly.store.models import Answer, Review, Ticket

if TYPE_CHECKING:
    from sqlmodel import Session


def review_coverage(
    *, session: Session, start: datetime, end: datetime, closed: int, lang: str, main: Checklist | None
) -> Coverage:
    """Closed tickets of the week vs. reviewed, by reviewer; which cells were weak most often."""
    in_week = (
        col(Ticket.status).in_(CLOSED_STATUSES),
        col(Ticket.closed_at) >= start,
        col(Ticket.closed_at) < end,
    )
    reviews = fetch_all(
        session,
        select(
            *cols(
                Review.id,
                Review.ticket_id,
                Review.reviewer,
                Review.status,
                Review.experience_level,
                Review.checklist_id,
            )
        )
        .join(Ticket, col(Ticket.id) == Review.ticket_id)
        .where(*in_week),
    )
    complete_tickets = {tid for _, tid, _, status, _, _ in reviews if status == "complete"}
    any_tickets = {tid for _, tid, _, _, _, _ in reviews}
    per_reviewer: dict[str, list[int]] = {}
    levels: Counter[str] = Counter()
    for _, _, reviewer, status, level, _ in reviews:
        counts = per_reviewer.setdefault(reviewer, [0, 0])
        counts[0 if status == "complete" else 1] += 1
        if status == "complete" and level:
            levels[level] += 1
    answers: dict[int, dict[str, AnswerValue]] = {}
    for review_id, qid, value, na in fetch_all(
        session,
        select(*cols(Answer.review_id, Answer.question_id, Answer.value, Answer.na))
        .join(Review, col(Review.id) == Answer.review_id)
        .join(Ticket, col(Ticket.id) == Review.ticket_id)
        .where(*in_week, col(Review.status) == "complete"),
    ):
        answers.setdefault(review_id, {})[qid] = AnswerValue(value, na)
    cache: dict[str, Checklist] = {}
    weak: dict[str, list[float]] = {}
    titles: dict[str, tuple[str, str | None, str | None]] = {}
    for review_id, _, _, status, _, checklist_id in reviews:
        if status != "complete":
            continue
        cl = checklist_for(cache, checklist_id, lang, main)
        for score in cell_scores(cl, answers.get(review_id, {})):
            cell = cl.cell(score.cell_id)
            titles.setdefault(score.cell_id, (cell.title, cell.side, cell.horizon))
            if score.score is not None:
                weak.setdefault(score.cell_id, []).append(score.score)
    cells = [
        CellWeakness(
            cell_id=cid,
            title=titles[cid][0],
            side=titles[cid][1],
            horizon=titles[cid][2],
            weak=sum(1 for s in scores if s < WEAK_SCORE),
            scored=len(scores),
            average=round(sum(scores) / len(scores), 3) if scores else None,
        )
        for cid, scores in weak.items()
    ]
    cells.sort(key=lambda c: (-c.weak, c.average if c.average is not None else 1.0, c.cell_id))
    return Coverage(
        closed=closed,
        reviewed=len(complete_tickets),
        draft_only=len(any_tickets - complete_tickets),
        rate=round(len(complete_tickets) / closed, 3) if closed else None,
        by_reviewer=sorted(
            (ReviewerCoverage(reviewer=r, complete=c[0], drafts=c[1]) for r, c in per_reviewer.items()),
            key=lambda r: (-r.complete, -r.drafts, r.reviewer),
        ),
        weak_cells=cells,
        experience_levels=dict(levels),
    )
