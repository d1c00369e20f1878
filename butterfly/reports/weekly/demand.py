"""Section: demand signals, what customers asked for that the product does not do yet."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlmodel import col

from butterfly.checklist.model import Checklist, Guard
from butterfly.reports.recurring import groups_of
from butterfly.reports.textsim import SimilarityParams, cluster_texts, normalise
from butterfly.reports.weekly.common import cols, customer_label, fetch_all, guard_questions
from butterfly.reports.weekly.model import DemandExample, DemandGroup
from butterfly.store.models import Answer, Review, Ticket
from butterfly.tickets import ticket_ref

if TYPE_CHECKING:
    from sqlmodel import Session


def demand_signals(
    *, session: Session, start: datetime, end: datetime, extra: Iterable[Checklist] = ()
) -> list[DemandGroup]:
    """Answers to ``demand_signal`` questions in reviews completed in the week, similar ones grouped."""
    ids = guard_questions(Guard.demand_signal, extra)
    if not ids:
        return []
    stmt = (
        select(
            *cols(
                Answer.value, Review.reviewer, Ticket.source, Ticket.external_id, Ticket.customer, Ticket.organization
            )
        )
        .join(Review, col(Review.id) == Answer.review_id)
        .join(Ticket, col(Ticket.id) == Review.ticket_id)
        .where(
            col(Answer.question_id).in_(ids),
            col(Answer.na).is_(False),
            col(Review.status) == "complete",
            col(Review.completed_at) >= start,
            col(Review.completed_at) < end,
        )
    )
    rows = [
        (str(value).strip(), reviewer, ticket_ref(source, ext), customer_label(customer, org))
        for value, reviewer, source, ext, customer, org in fetch_all(session, stmt)
        if isinstance(value, str) and value.strip()
    ]
    if not rows:
        return []
    labels = cluster_texts([normalise(r[0]) or r[0] for r in rows], params=SimilarityParams(threshold=0.4))
    out = []
    for members in groups_of([int(v) for v in labels]):
        texts = Counter(rows[i][0] for i in members)
        label = min(texts, key=lambda s: (-texts[s], len(s)))
        out.append(
            DemandGroup(
                label=label,
                mentions=len(members),
                customers=sorted({rows[i][3] for i in members if rows[i][3]}),
                examples=[
                    DemandExample(text=rows[i][0], ticket_ref=rows[i][2], customer=rows[i][3], reviewer=rows[i][1])
                    for i in members[:3]
                ],
            )
        )
    out.sort(key=lambda g: (-g.mentions, g.label))
    return out
