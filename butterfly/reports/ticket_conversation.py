"""The ticket report's "Conversation" section: the certainty facts and the key moments (first reply, each chase, the
plan given, the need climbing, the resolution) as stored with a review, so the report shows what the reviewer saw
even when a later import changed the thread; the whole thread with ``--thread``; redacted with ``--redact``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from butterfly.conversation import snapshot
from butterfly.conversation.store import load_thread
from butterfly.exports import NAME_MASK, redact_text
from butterfly.reports.ticket_model import ConversationMoment, ConversationSection

if TYPE_CHECKING:
    from sqlmodel import Session

    from butterfly.conversation.facts import Message
    from butterfly.store.models import Review, Ticket


def conversation_section(
    *,
    session: Session,
    ticket: Ticket,
    reviews: Sequence[Review],
    whole: bool = False,
    redact: bool = False,
) -> ConversationSection | None:
    """The facts stored with the first of ``reviews`` that has them, else the ticket's thread as it is now; None
    when there is neither."""
    assert ticket.id is not None
    now = snapshot.current(session=session, ticket=ticket)
    snap, reviewer = None, None
    for review in reviews:
        snap = snapshot.for_review(session=session, review=review, ticket=None)
        if snap is not None:
            reviewer = review.reviewer
            break
    if snap is None:
        snap = now
    if snap is None:
        return None
    thread = load_thread(session=session, ticket_id=ticket.id) if whole else []
    names = _names(ticket, snap.moments, thread) if redact else []

    def text(value: str) -> str:
        return redact_text(value, names) if redact else value

    def author(value: str | None) -> str | None:
        return None if redact else value  # the role says who wrote it

    at_position = {m.position: m for m in snap.moments}
    chases = []
    for c in snap.facts.chases:
        known = at_position.get(c.position)
        chases.append(
            ConversationMoment(
                kinds=["chase"],
                position=c.position,
                at=c.at,
                role="customer",
                author=author(known.author) if known else None,
                text=text(known.text) if known else "",
            )
        )
    moments: list[ConversationMoment] = []
    for k in snap.moments:  # one line per message, with every reason it is a key moment
        if moments and moments[-1].position == k.position:
            moments[-1].kinds.append(k.kind)
            continue
        moments.append(
            ConversationMoment(
                kinds=[k.kind], position=k.position, at=k.at, role=k.role, author=author(k.author), text=text(k.text)
            )
        )
    found = snap.facts
    return ConversationSection(
        reviewer=reviewer,
        taken_at=snap.taken_at if reviewer else None,
        thread_changed=bool(reviewer and now is not None and now.thread_hash != snap.thread_hash),
        chases=chases,
        longest_silence_s=found.longest_silence.total_seconds() if found.longest_silence else None,
        silence_from=found.silence_from.position if found.silence_from else None,
        first_plan=found.first_plan.position if found.first_plan else None,
        first_plan_at=found.first_plan.at if found.first_plan else None,
        plan_phrase=text(found.plan_phrase) if found.plan_phrase else None,
        need_climbed=found.need_climbed.position if found.need_climbed else None,
        need_escalation=found.need_escalation,
        moments=moments,
        thread=[
            ConversationMoment(
                kinds=[],
                position=m.position,
                at=m.at,
                role=m.role,
                author=author(m.author),
                public=m.public,
                text=text(m.text),
            )
            for m in thread
        ]
        if whole
        else None,
        redacted=redact,
    )


def _names(ticket: Ticket, moments: Sequence[snapshot.KeyMoment], thread: Sequence[Message]) -> list[str]:
    """The names a redacted report masks in message text: the customer's, and every message author's."""
    found = [ticket.customer, ticket.organization, ticket.requester, ticket.assignee]
    found += [m.author for m in moments] + [m.author for m in thread]
    return [n for n in dict.fromkeys(found) if n and n != NAME_MASK]
