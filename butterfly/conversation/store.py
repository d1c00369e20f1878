"""Messages in the database: stored with their ticket, replaced in place when the thread changed, read back."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from typing import Any

from sqlmodel import Session, col, select

from butterfly.conversation.facts import Facts, Message, facts
from butterfly.store import models


def thread_hash(messages: list[Message]) -> str:
    parts = [[m.role, m.public, m.author, m.at.isoformat() if m.at else None, m.text] for m in messages]
    return hashlib.sha256(json.dumps(parts, ensure_ascii=False).encode()).hexdigest()


def _utc_text(value: Any) -> str | None:
    from butterfly.importers.dates import to_utc_text

    return to_utc_text(value) if value is not None else None


def save_threads(db: Any, source: str, threads: Iterable[tuple[str, list[Message]]]) -> tuple[int, int]:
    """Store the threads of tickets of ``source`` through an import's bulk connection, in its transaction.

    A thread whose hash is stored already is left alone; a changed one replaces the ticket's messages. Returns
    (threads written, messages written).
    """
    written = messages_written = 0
    for external_id, thread in threads:
        row = db.execute("SELECT id FROM ticket WHERE source = ? AND external_id = ?", (source, external_id)).fetchone()
        if row is None:
            continue  # the ticket was rejected: its thread goes with it
        ticket_id = row[0]
        digest = thread_hash(thread)
        stored = db.execute("SELECT thread_hash FROM message WHERE ticket_id = ? LIMIT 1", (ticket_id,)).fetchone()
        if stored is not None and stored[0] == digest:
            continue
        db.execute("DELETE FROM message WHERE ticket_id = ?", (ticket_id,))
        for m in thread:
            db.execute(
                "INSERT INTO message (ticket_id, position, at, role, author, public, text, thread_hash) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (ticket_id, m.position, _utc_text(m.at), m.role, m.author, m.public, m.text, digest),
            )
        written += 1
        messages_written += len(thread)
    return written, messages_written


def load_thread(*, session: Session, ticket_id: int) -> list[Message]:
    rows = session.exec(
        select(models.Message).where(models.Message.ticket_id == ticket_id).order_by(col(models.Message.position))
    ).all()
    return [Message(r.position, r.role, r.text, r.at, r.public, r.author) for r in rows]


def thread_facts(*, session: Session, ticket: models.Ticket) -> tuple[list[Message], Facts | None]:
    """The ticket's stored thread and its certainty facts (None without a thread)."""
    if ticket.id is None:
        return [], None
    thread = load_thread(session=session, ticket_id=ticket.id)
    if not thread:
        return [], None
    return thread, facts(thread, closed_at=ticket.resolved_at or ticket.closed_at)
