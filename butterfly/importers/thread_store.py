"""Storing threads (the ``message`` table) and state timelines (``ticket_event``) through an import's bulk
connection, in its transaction, for tickets already written.

A whole thread (an export's ``comments``, a ticket's comment listing) replaces the ticket's stored messages when its
content hash changed, and changes nothing when it did not. Comment *events* (Zendesk's incremental ticket events)
bring only the comments of a time window: they are merged into the stored thread by the helpdesk's comment id
(``merge=True``): a known comment is updated in place, a new one joins in time order.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from butterfly.conversation.facts import Message
from butterfly.importers.dates import to_utc_text
from butterfly.importers.threads import MAX_MESSAGES


def thread_hash(messages: list[Message]) -> str:
    parts = [[m.role, m.public, m.author, m.at.isoformat() if m.at else None, m.text] for m in messages]
    keys = [m.key for m in messages]
    payload: list[Any] = [parts, keys] if any(keys) else parts  # threads stored before keys hash as they did
    return hashlib.sha256(json.dumps(payload, ensure_ascii=False).encode()).hexdigest()


def _utc_text(value: datetime | None) -> str | None:
    return to_utc_text(value) if value is not None else None


def _as_datetime(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    parsed = datetime.fromisoformat(str(value))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def store_threads(
    *, session: Any, source: str, threads: Iterable[tuple[str, list[Message]]], merge: bool = False
) -> tuple[int, int, int]:
    """:func:`save_threads` in a transaction of its own on the database of ``session`` (what ``butterfly sync``
    calls after a page's tickets are committed); returns (threads written, messages written, messages left out
    over the per-ticket cap: by the extractor, :class:`butterfly.importers.threads.Thread`, or by a merge)."""
    from butterfly.importers.bulk import BulkConnection

    extracted_over = 0

    def counted() -> Iterable[tuple[str, list[Message]]]:
        nonlocal extracted_over
        for external_id, thread in threads:
            extracted_over += int(getattr(thread, "over_cap", 0))
            yield external_id, thread

    session.commit()  # the session must not hold a write lock while the bulk connection writes
    db = BulkConnection(session.get_bind(), tz="UTC")
    try:
        written, messages, merged_over = save_threads(db, source, counted(), merge=merge)
        db.commit()
    finally:
        db.close()
    return written, messages, extracted_over + sum(merged_over.values())


def ticket_row(db: Any, source: str, external_id: str) -> tuple[int, Any] | None:
    """(row id, the stored record as a dict or None) of the ticket ``source``/``external_id``, or None."""
    row = db.execute(
        "SELECT id, raw FROM ticket WHERE source = ? AND external_id = ?", (source, external_id)
    ).fetchone()
    if row is None:
        return None
    raw = row[1]
    if isinstance(raw, str) and raw:
        try:
            raw = json.loads(raw)
        except ValueError:
            raw = None
    return int(row[0]), raw if isinstance(raw, dict) else None


def stored_thread(db: Any, ticket_id: int) -> list[Message]:
    rows = db.execute(
        "SELECT position, at, role, author, public, text, external_id FROM message WHERE ticket_id = ? "
        "ORDER BY position",
        (ticket_id,),
    ).fetchall()
    return [
        Message(int(p), role, text, _as_datetime(at), bool(pub), author, key)
        for p, at, role, author, pub, text, key in rows
    ]


def merged(stored: list[Message], incoming: list[Message], *, whole: bool = False) -> tuple[list[Message], int]:
    """``incoming`` merged into ``stored`` by key (a known key is replaced where it stood, a new one added), in
    time order when every message has a time; renumbered from 1 and capped at :data:`MAX_MESSAGES`, with the number
    of messages the cap left out. ``whole``: ``incoming`` is a whole thread, so stored messages without a key
    (stored before messages had one) are dropped, not kept beside it."""
    out = [m for m in stored if m.key] if whole and any(m.key for m in incoming) else list(stored)
    where = {m.key: i for i, m in enumerate(out) if m.key}
    for m in incoming:
        if m.key and m.key in where:
            out[where[m.key]] = m
        else:
            if m.key:
                where[m.key] = len(out)
            out.append(m)
    if all(m.at is not None for m in out):
        out.sort(key=lambda m: m.at)  # type: ignore[arg-type,return-value]
    kept = [replace(m, position=i) for i, m in enumerate(out[:MAX_MESSAGES], start=1)]
    return kept, len(out) - len(kept)


MERGED_SOURCES = ("zendesk",)  # comments are never deleted there (only redacted): whole threads merge by id too


def save_threads(
    db: Any, source: str, threads: Iterable[tuple[str, list[Message]]], *, merge: bool = False
) -> tuple[int, int, dict[str, int]]:
    """Store the threads of tickets of ``source`` (see the module docstring). Returns (threads written, messages
    written); a ticket that is not stored (rejected) keeps no thread. ``merge``: the threads are whole threads of
    a helpdesk whose comments are never deleted (Zendesk): merged by comment id into the stored one, so an older
    export or the comment events imported before it take nothing away. The third value: the tickets whose merged
    thread went beyond :data:`MAX_MESSAGES`, and how many messages the cap left out of each."""
    written = messages_written = 0
    over_cap: dict[str, int] = {}
    for external_id, thread in threads:
        row = db.execute("SELECT id FROM ticket WHERE source = ? AND external_id = ?", (source, external_id)).fetchone()
        if row is None:
            continue  # the ticket was rejected: its thread goes with it
        written_now, left_out = replace_thread(db, int(row[0]), thread, merge=merge, whole=True)
        if written_now:
            written += 1
            messages_written += written_now
        if left_out:
            over_cap[external_id] = over_cap.get(external_id, 0) + left_out
    return written, messages_written, over_cap


def replace_thread(
    db: Any, ticket_id: int, thread: list[Message], *, merge: bool = False, whole: bool = False
) -> tuple[int, int]:
    """Store ``thread`` as the ticket's (merged into the stored one with ``merge``; see :func:`merged` for
    ``whole``): the messages written (0: the stored thread was the same) and the messages a merge left out over the
    per-ticket cap."""
    left_out = 0
    if merge:
        thread, left_out = merged(stored_thread(db, ticket_id), thread, whole=whole)
    digest = thread_hash(thread)
    stored = db.execute("SELECT thread_hash FROM message WHERE ticket_id = ? LIMIT 1", (ticket_id,)).fetchone()
    if stored is not None and stored[0] == digest:
        return 0, left_out
    db.execute("DELETE FROM message WHERE ticket_id = ?", (ticket_id,))
    for m in thread:
        db.execute(
            "INSERT INTO message (ticket_id, position, at, role, author, public, text, thread_hash, external_id) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (ticket_id, m.position, _utc_text(m.at), m.role, m.author, m.public, m.text, digest, m.key),
        )
    return len(thread), left_out


# -- state timelines ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """One step of a state timeline: from ``at`` on the ticket was in ``state``, with ``group`` and ``assignee``;
    ``reassigned``: this step moved it to another group or person."""

    position: int
    at: datetime | None
    state: str | None
    group: str | None
    assignee: str | None
    reassigned: bool = False


def timeline_hash(steps: list[Step]) -> str:
    parts = [[s.at.isoformat() if s.at else None, s.state, s.group, s.assignee, s.reassigned] for s in steps]
    return hashlib.sha256(json.dumps(parts, ensure_ascii=False).encode()).hexdigest()


def save_timelines(db: Any, source: str, timelines: Iterable[tuple[str, list[Step]]]) -> int:
    """Store each ticket's timeline (replaced when its hash changed); the tickets whose timeline was written."""
    written = 0
    for external_id, steps in timelines:
        row = db.execute("SELECT id FROM ticket WHERE source = ? AND external_id = ?", (source, external_id)).fetchone()
        if row is None or not steps:
            continue
        ticket_id = int(row[0])
        digest = timeline_hash(steps)
        stored = db.execute(
            "SELECT timeline_hash FROM ticket_event WHERE ticket_id = ? LIMIT 1", (ticket_id,)
        ).fetchone()
        if stored is not None and stored[0] == digest:
            continue
        db.execute("DELETE FROM ticket_event WHERE ticket_id = ?", (ticket_id,))
        for s in steps:
            db.execute(
                "INSERT INTO ticket_event (ticket_id, position, at, state, group_name, assignee, reassigned, "
                "timeline_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (ticket_id, s.position, _utc_text(s.at), s.state, s.group, s.assignee, s.reassigned, digest),
            )
        written += 1
    return written
