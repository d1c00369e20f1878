"""The conversation facts a review was made with, stored beside the review (table ``review_conversation``).

A later import may change a ticket's thread (a new message, an edited one); the ticket report must still show what
the reviewer saw. :func:`record` takes the facts and the key moments (first reply, each chase, the plan given, the
resolution, with their text) when a walk or an answers file works on a draft review, and keeps them as they are
once the review is complete. :func:`for_review` reads them back, falling back to the current thread for reviews
made before this table existed (``Snapshot.stored`` tells which).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from butterfly.conversation.facts import Facts, Message, Moment
from butterfly.conversation.store import thread_facts
from butterfly.store import models
from butterfly.store.retry import write_attempts
from butterfly.timeutil import utcnow

if TYPE_CHECKING:
    from collections.abc import Sequence

    from sqlmodel import Session

MOMENT_TEXT_LIMIT = 500  # characters of a key moment's message kept with the review
KINDS = ("first_reply", "chase", "plan", "need_climbed", "resolution")


@dataclass(frozen=True)
class KeyMoment:
    """A message that matters for the certainty cell: ``kind`` is one of :data:`KINDS`."""

    kind: str
    position: int
    at: datetime | None
    role: str
    author: str | None
    text: str


@dataclass
class Snapshot:
    """The facts and key moments of a ticket's thread, as stored with a review (or read from the thread now)."""

    thread_hash: str
    facts: Facts
    moments: list[KeyMoment] = field(default_factory=list)
    taken_at: datetime | None = None
    stored: bool = False  # False: computed from the current thread (no stored facts for this review)


def key_moments(messages: Sequence[Message], found: Facts, *, resolved_at: datetime | None = None) -> list[KeyMoment]:
    """The first public reply, each chase, the first definite plan, the need climbing and the resolution (the last
    public agent message up to the ticket's resolution), in thread order; a message that is several of them is
    listed once per kind."""
    by_position = {m.position: m for m in messages}
    replies = [m for m in messages if m.role == "agent" and m.public]
    wanted: list[tuple[str, int]] = []
    if replies:
        wanted.append(("first_reply", replies[0].position))
    wanted.extend(("chase", c.position) for c in found.chases)
    if found.first_plan is not None:
        wanted.append(("plan", found.first_plan.position))
    if found.need_climbed is not None:
        wanted.append(("need_climbed", found.need_climbed.position))
    closing = [m for m in replies if resolved_at is None or m.at is None or m.at <= resolved_at]
    if closing and closing[-1].position != replies[0].position:
        wanted.append(("resolution", closing[-1].position))
    out = []
    for kind, position in sorted(wanted, key=lambda w: (w[1], KINDS.index(w[0]))):
        m = by_position[position]
        text = m.text if len(m.text) <= MOMENT_TEXT_LIMIT else m.text[: MOMENT_TEXT_LIMIT - 1] + "…"
        out.append(KeyMoment(kind, position, m.at, m.role, m.author, text))
    return out


def current(*, session: Session, ticket: models.Ticket) -> Snapshot | None:
    """The facts and key moments of the ticket's thread as stored now (None without a thread)."""
    messages, found = thread_facts(session=session, ticket=ticket)
    if found is None or ticket.id is None:
        return None
    digest = session.exec(select(models.Message.thread_hash).where(models.Message.ticket_id == ticket.id)).first()
    moments = key_moments(messages, found, resolved_at=ticket.resolved_at or ticket.closed_at)
    return Snapshot(thread_hash=digest or "", facts=found, moments=moments)


def record(
    *, session: Session, review: models.Review, ticket: models.Ticket, now: Snapshot | None = None
) -> Snapshot | None:
    """Store the thread's facts with ``review`` (a draft: refreshed when the thread changed; complete: left as it
    is) and return what is stored; None when nothing is (no thread, or a complete review without stored facts)."""
    assert review.id is not None
    stored = for_review(session=session, review=review, ticket=None)
    if review.status == models.ReviewStatus.complete.value:
        return stored  # what the reviewer saw is kept; a review completed before facts were stored gets none
    if now is None:  # ``now``: the thread's facts as the caller just read them (the walk's context)
        now = current(session=session, ticket=ticket)
    if now is None:
        return stored
    if stored is not None and stored.thread_hash == now.thread_hash:
        return stored
    data = to_json(now)
    for _attempt in write_attempts():
        row = session.exec(
            select(models.ReviewConversation).where(models.ReviewConversation.review_id == review.id)
        ).first()
        if row is None:
            row = models.ReviewConversation(review_id=review.id, thread_hash=now.thread_hash, data=data)
        else:
            row.thread_hash, row.data, row.taken_at = now.thread_hash, data, utcnow()
        session.add(row)
        try:
            session.commit()
        except IntegrityError:
            session.rollback()  # another process stored it at the same moment: write over theirs
            continue
        break
    now.stored, now.taken_at = True, utcnow()
    return now


def for_review(*, session: Session, review: models.Review, ticket: models.Ticket | None) -> Snapshot | None:
    """The facts stored with ``review``; without stored facts, the ticket's current thread (when ``ticket`` is
    given), else None."""
    row = session.exec(
        select(models.ReviewConversation).where(models.ReviewConversation.review_id == review.id)
    ).first()
    if row is not None:
        snap = from_json(row.data)
        snap.thread_hash, snap.taken_at, snap.stored = row.thread_hash, row.taken_at, True
        return snap
    return current(session=session, ticket=ticket) if ticket is not None else None


def delete_for_review(*, session: Session, review_id: int) -> None:
    """Remove the facts stored with a review that is being deleted (the caller commits)."""
    for row in session.exec(
        select(models.ReviewConversation).where(models.ReviewConversation.review_id == review_id)
    ).all():
        session.delete(row)


# -- JSON --------------------------------------------------------------------------------------------------


def _at(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _parse_at(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) else None


def _moment(m: Moment | None) -> dict[str, Any] | None:
    return None if m is None else {"position": m.position, "at": _at(m.at)}


def _parse_moment(data: Any) -> Moment | None:
    return None if not isinstance(data, dict) else Moment(int(data["position"]), _parse_at(data.get("at")))


def facts_json(found: Facts) -> dict[str, Any]:
    """The facts as JSON (the stored shape, also used by ``tickets show --json`` and the JSON reports)."""
    return {
        "customer_messages": found.messages,
        "chases": [_moment(c) for c in found.chases],
        "longest_silence_seconds": found.longest_silence.total_seconds() if found.longest_silence else None,
        "silence_from": _moment(found.silence_from),
        "silence_to": _moment(found.silence_to),
        "first_plan": _moment(found.first_plan),
        "plan_phrase": found.plan_phrase,
        "need_climbed": _moment(found.need_climbed),
        "need_escalation": found.need_escalation,
    }


def to_json(snap: Snapshot) -> dict[str, Any]:
    return {
        "version": 1,
        "facts": facts_json(snap.facts),
        "moments": [
            {
                "kind": k.kind,
                "position": k.position,
                "at": _at(k.at),
                "role": k.role,
                "author": k.author,
                "text": k.text,
            }
            for k in snap.moments
        ],
    }


def from_json(data: dict[str, Any]) -> Snapshot:
    f = data.get("facts") or {}
    seconds = f.get("longest_silence_seconds")
    found = Facts(
        messages=int(f.get("customer_messages") or 0),
        chases=[m for m in (_parse_moment(c) for c in f.get("chases") or []) if m is not None],
        longest_silence=timedelta(seconds=float(seconds)) if seconds is not None else None,
        silence_from=_parse_moment(f.get("silence_from")),
        silence_to=_parse_moment(f.get("silence_to")),
        first_plan=_parse_moment(f.get("first_plan")),
        plan_phrase=f.get("plan_phrase"),
        need_climbed=_parse_moment(f.get("need_climbed")),
    )
    moments = [
        KeyMoment(
            str(k["kind"]),
            int(k["position"]),
            _parse_at(k.get("at")),
            str(k.get("role") or ""),
            k.get("author"),
            str(k.get("text") or ""),
        )
        for k in data.get("moments") or []
    ]
    return Snapshot(thread_hash="", facts=found, moments=moments)
