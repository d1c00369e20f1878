"""A ticket's stored thread, read back with its certainty facts (the import writes it: importers/threads.py)."""

from __future__ import annotations

from sqlmodel import Session, col, func, select

from butterfly.conversation.facts import Facts, Message, facts
from butterfly.store import models


def load_thread(*, session: Session, ticket_id: int) -> list[Message]:
    rows = session.exec(
        select(models.Message).where(models.Message.ticket_id == ticket_id).order_by(col(models.Message.position))
    ).all()
    return [Message(r.position, r.role, r.text, r.at, r.public, r.author) for r in rows]


def count_messages(*, session: Session, ticket_id: int | None) -> int:
    if ticket_id is None:
        return 0
    return int(session.exec(select(func.count()).where(models.Message.ticket_id == ticket_id)).one())


def thread_facts(*, session: Session, ticket: models.Ticket) -> tuple[list[Message], Facts | None]:
    """The ticket's stored thread and its certainty facts (None without a thread)."""
    if ticket.id is None:
        return [], None
    thread = load_thread(session=session, ticket_id=ticket.id)
    if not thread:
        return [], None
    return thread, facts(thread, closed_at=ticket.resolved_at or ticket.closed_at)
