"""Threads out of the exports the importers read, stored with their tickets (the ``message`` table).

Each extractor yields (ticket id, messages) in the thread's order:

- Zendesk: ``comments`` of each ticket (a comment by the requester is the customer's; ``public: false`` is an
  internal note).
- Freshdesk: the description, then ``conversations`` (``incoming`` = the customer; ``private`` = internal note).
- Jira: the description, then ``fields.comment.comments`` (the reporter = the customer; ``jsdPublic: false`` =
  internal; Atlassian Document Format bodies are reduced to text).
- Generic JSON: a list under ``messages``, ``comments``, ``conversation``, ``dialog`` or ``dialogContent`` whose
  items carry the text (``text``/``body``/``message``) and the role (``role``, or a ``client``/``customer`` or
  ``agent`` key naming the author, as in Twitter customer-care threads), and optionally the time
  (``datetime``/``created_at``/``time``).

HTML is reduced to text; a thread is capped at :data:`MAX_MESSAGES` messages of :data:`MAX_TEXT` characters.
"""

from __future__ import annotations

import hashlib
import html
import json
import re
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

from butterfly.conversation.facts import Message
from butterfly.importers.dates import parse_datetime, to_utc_text
from butterfly.importers.native import adf_text

MAX_MESSAGES = 2_000
MAX_TEXT = 20_000
THREAD_KEYS = ("messages", "comments", "conversation", "conversations", "dialog", "dialogContent", "thread")
TEXT_KEYS = ("text", "body_text", "plain_body", "body", "message", "content")
TIME_KEYS = ("datetime", "created_at", "created", "time", "timestamp", "date")
_TAGS = re.compile(r"<[^>]{0,2000}>")
_BLANKS = re.compile(r"[ \t]*\n\s*\n\s*")


def plain(value: Any) -> str:
    """Text of an HTML or ADF body, unescaped and with markup removed (never interpreted)."""
    if isinstance(value, dict):  # Atlassian Document Format
        return adf_text(value)[:MAX_TEXT]
    text = str(value or "")
    if "<" in text and ">" in text:
        text = _TAGS.sub(" ", re.sub(r"(?i)<br\s*/?>|</p>|</div>|</li>", "\n", text))
        text = html.unescape(text)
    return _BLANKS.sub("\n\n", text).strip()[:MAX_TEXT]


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        return parse_datetime(value.strip())
    except (ValueError, OverflowError):
        return None


def _first(item: dict[str, Any], keys: tuple[str, ...]) -> Any:
    for key in keys:
        if item.get(key) not in (None, ""):
            return item[key]
    return None


def _numbered(messages: list[Message]) -> list[Message]:
    return [
        Message(position=i, role=m.role, text=m.text, at=m.at, public=m.public, author=m.author)
        for i, m in enumerate(messages[:MAX_MESSAGES], start=1)
    ]


def zendesk(ticket: dict[str, Any]) -> list[Message]:
    comments = ticket.get("comments")
    if not isinstance(comments, list):
        return []
    requester = ticket.get("requester_id")
    out = []
    for c in comments:
        if not isinstance(c, dict):
            continue
        public = c.get("public", True) is not False
        customer = requester is not None and c.get("author_id") == requester
        role = "customer" if customer else ("agent" if public else "internal")
        out.append(
            Message(
                0,
                role,
                plain(_first(c, ("plain_body", "body", "html_body"))),
                _time(c.get("created_at")),
                public,
                str(c.get("author_id")) if c.get("author_id") is not None else None,
            )
        )
    return _numbered(out)


def freshdesk(ticket: dict[str, Any]) -> list[Message]:
    conversations = ticket.get("conversations")
    if not isinstance(conversations, list):
        return []
    out = []
    description = _first(ticket, ("description_text", "description"))
    if description:
        out.append(Message(0, "customer", plain(description), _time(ticket.get("created_at"))))
    for c in conversations:
        if not isinstance(c, dict):
            continue
        private = bool(c.get("private"))
        role = "internal" if private else ("customer" if c.get("incoming") else "agent")
        out.append(
            Message(
                0,
                role,
                plain(_first(c, ("body_text", "body"))),
                _time(c.get("created_at")),
                not private,
                str(c.get("user_id")) if c.get("user_id") is not None else None,
            )
        )
    return _numbered(out)


def jira(issue: dict[str, Any]) -> list[Message]:
    raw_fields = issue.get("fields")
    fields: dict[str, Any] = raw_fields if isinstance(raw_fields, dict) else {}
    block = fields.get("comment")
    comments = block.get("comments") if isinstance(block, dict) else None
    if not isinstance(comments, list):
        return []
    reporter = (fields.get("reporter") or {}).get("accountId") if isinstance(fields.get("reporter"), dict) else None
    out = []
    if fields.get("description"):
        out.append(Message(0, "customer", plain(fields["description"]), _time(fields.get("created"))))
    for c in comments:
        if not isinstance(c, dict):
            continue
        raw_author = c.get("author")
        author: dict[str, Any] = raw_author if isinstance(raw_author, dict) else {}
        public = c.get("jsdPublic", True) is not False
        customer = reporter is not None and author.get("accountId") == reporter
        role = "customer" if customer else ("agent" if public else "internal")
        out.append(Message(0, role, plain(c.get("body")), _time(c.get("created")), public, author.get("displayName")))
    return _numbered(out)


def generic(record: dict[str, Any]) -> list[Message]:
    items = next((record[k] for k in THREAD_KEYS if isinstance(record.get(k), list)), None)
    if not items:
        return []
    out = []
    for item in items:
        if not isinstance(item, dict):
            continue
        text = _first(item, TEXT_KEYS)
        if text is None:
            continue
        role = str(item.get("role") or item.get("author_role") or "").strip().lower()
        author = None
        if role not in ("customer", "agent", "system", "internal"):
            if item.get("client") or item.get("customer") or item.get("incoming") is True:
                role, author = "customer", item.get("client") or item.get("customer")
            elif item.get("agent") or item.get("incoming") is False:
                role, author = "agent", item.get("agent")
            else:
                role = "customer" if role in ("user", "client", "requester", "end-user", "end_user") else "agent"
        public = item.get("public", True) is not False and role != "internal"
        out.append(
            Message(0, role, plain(text), _time(_first(item, TIME_KEYS)), public, str(author) if author else None)
        )
    return _numbered(out)


EXTRACTORS = {"zendesk": zendesk, "freshdesk": freshdesk, "jira": jira}
_LISTS = {"zendesk": ("tickets",), "freshdesk": ("tickets", "results"), "jira": ("issues",)}


def native_records(fmt: str, doc: Any) -> tuple[list[Any], list[str]]:
    """The records of a native export that can carry a thread, and the ids the importer stores them under."""
    keys = _LISTS.get(fmt)
    if keys is None:
        return [], []  # GitHub issue exports hold no comments (they are a separate listing)
    records: list[Any] = []
    if isinstance(doc, list):
        records = doc
    elif isinstance(doc, dict):
        found = next((doc[k] for k in keys if isinstance(doc.get(k), list)), None)
        records = (
            list(found) if found is not None else [doc.get("ticket") if isinstance(doc.get("ticket"), dict) else doc]
        )
    ids = []
    for record in records:
        value = (record.get("key") if fmt == "jira" else record.get("id")) if isinstance(record, dict) else None
        ids.append(str(value).strip() if value is not None else "")
    return records, ids


def threads(fmt: str, records: list[Any], ids: list[str]) -> Iterator[tuple[str, list[Message]]]:
    """(ticket id, thread) of each record that has a thread; ``ids`` are the records' stored ids, in order."""
    extract = EXTRACTORS.get(fmt, generic)
    for record, ticket_id in zip(records, ids, strict=True):
        if isinstance(record, dict) and ticket_id:
            thread = extract(record)
            if thread:
                yield ticket_id, thread


def thread_hash(messages: list[Message]) -> str:
    parts = [[m.role, m.public, m.author, m.at.isoformat() if m.at else None, m.text] for m in messages]
    return hashlib.sha256(json.dumps(parts, ensure_ascii=False).encode()).hexdigest()


def _utc_text(value: datetime | None) -> str | None:
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
