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
- GitHub: the issue body, then its comments (a separate listing: `--messages` or `sync --comments`).
- ServiceNow: the description, then the journal (`sys_journal_field`: comments, work notes = internal).

HTML is reduced to text; a thread is capped at :data:`MAX_MESSAGES` messages of :data:`MAX_TEXT` characters.
Storing them: :mod:`butterfly.importers.thread_store`.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from butterfly.conversation.facts import Message
from butterfly.importers.dates import parse_datetime
from butterfly.importers.native import adf_text

MAX_MESSAGES = 2_000
MAX_TEXT = 20_000
THREAD_KEYS = ("messages", "comments", "conversation", "conversations", "dialog", "dialogContent", "thread")
TEXT_KEYS = ("text", "body_text", "plain_body", "body", "message", "content")
TIME_KEYS = ("datetime", "created_at", "created", "time", "timestamp", "date")
MAX_INPUT = 4 * MAX_TEXT  # characters of one body looked at (an HTML body is mostly markup)
_TAGS = re.compile(r"<[^>]{0,2000}>")
_HIDDEN = re.compile(r"(?is)<!--.*?(?:-->|$)|<(script|style|head|template)\b[^>]*>.*?(?:</\1\s*>|$)")
_BLANKS = re.compile(r"[ \t]*\n\s*\n\s*")


def plain(value: Any) -> str:
    """Text of an HTML or ADF body, unescaped and with markup removed (never interpreted): tags go, the contents of
    ``script``, ``style`` and ``head`` elements and comments go with them, entities become characters. At most
    :data:`MAX_INPUT` characters of a body are looked at (a message is kept to :data:`MAX_TEXT`)."""
    if isinstance(value, dict):  # Atlassian Document Format
        return adf_text(value)[:MAX_TEXT]
    text = str(value or "")[:MAX_INPUT]
    if "<" in text and ">" in text:
        text = _HIDDEN.sub(" ", text)
        text = _TAGS.sub(" ", re.sub(r"(?i)<br\s*/?>|</p>|</div>|</li>|</tr>|</h[1-6]>", "\n", text))
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


class Thread(list[Message]):
    """A thread as extracted: at most :data:`MAX_MESSAGES` messages; ``over_cap`` says how many more there were."""

    over_cap: int = 0


def _numbered(messages: list[Message]) -> Thread:
    thread = Thread(
        Message(position=i, role=m.role, text=m.text, at=m.at, public=m.public, author=m.author, key=m.key)
        for i, m in enumerate(messages[:MAX_MESSAGES], start=1)
    )
    thread.over_cap = max(0, len(messages) - MAX_MESSAGES)
    return thread


def over_cap(record: Any, thread: Any) -> int:
    """Messages of a record's thread beyond the cap: those the JSON stream left out before the record was built
    (:class:`butterfly.importers.jsonstream.CappedRecord`) and those the extractor left out."""
    return int(getattr(record, "over_cap", 0)) + int(getattr(thread, "over_cap", 0))


def _key(item: dict[str, Any]) -> str | None:
    value = item.get("id", item.get("sys_id"))
    return str(value) if isinstance(value, str | int) and not isinstance(value, bool) and str(value) else None


def zendesk(ticket: dict[str, Any]) -> list[Message]:
    comments = ticket.get("comments")
    if not isinstance(comments, list):
        return []
    return _numbered(zendesk_comments(comments, ticket.get("requester_id")))


def zendesk_comments(comments: Iterable[Any], requester: Any) -> list[Message]:
    """Zendesk comments (``/api/v2/tickets/{id}/comments``, the ticket export's ``comments``, or the Comment child
    events of the incremental ticket events export): the requester's are the customer's; ``public: false`` is an
    internal note."""
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
                _key(c),
            )
        )
    return out


def freshdesk(ticket: dict[str, Any]) -> list[Message]:
    conversations = ticket.get("conversations")
    if not isinstance(conversations, list):
        return []
    out = []
    description = _first(ticket, ("description_text", "description"))
    if description:
        out.append(Message(0, "customer", plain(description), _time(ticket.get("created_at")), key="description"))
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
                _key(c),
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
        out.append(
            Message(0, "customer", plain(fields["description"]), _time(fields.get("created")), key="description")
        )
    for c in comments:
        if not isinstance(c, dict):
            continue
        raw_author = c.get("author")
        author: dict[str, Any] = raw_author if isinstance(raw_author, dict) else {}
        public = c.get("jsdPublic", True) is not False
        customer = reporter is not None and author.get("accountId") == reporter
        role = "customer" if customer else ("agent" if public else "internal")
        out.append(
            Message(0, role, plain(c.get("body")), _time(c.get("created")), public, author.get("displayName"), _key(c))
        )
    return _numbered(out)


MAINTAINERS = ("OWNER", "MEMBER", "COLLABORATOR")


def github(issue: dict[str, Any], comments: Iterable[Any] | None = None) -> list[Message]:
    """A GitHub issue's body, then its comments (``GET /repos/{owner}/{repo}/issues/{number}/comments``; given,
    or a list under the issue's ``comments`` in place of GitHub's count): the issue's author is the customer, a
    bot (``user.type: Bot``) is the system, an ``OWNER``/``MEMBER``/``COLLABORATOR`` (``author_association``) is
    an agent, anyone else a customer (another user with the same problem)."""
    if comments is None:
        comments = issue.get("comments") if isinstance(issue.get("comments"), list) else None
        if comments is None:
            return []
    raw_user = issue.get("user")
    opener = raw_user.get("login") if isinstance(raw_user, dict) else None
    out = []
    if issue.get("body"):
        out.append(Message(0, "customer", plain(issue["body"]), _time(issue.get("created_at")), True, opener, "issue"))
    for c in comments:
        if not isinstance(c, dict):
            continue
        raw = c.get("user")
        user: dict[str, Any] = raw if isinstance(raw, dict) else {}
        login = user.get("login")
        if user.get("type") == "Bot":
            role = "system"
        elif opener is not None and login == opener:
            role = "customer"
        elif str(c.get("author_association") or "").upper() in MAINTAINERS:
            role = "agent"
        else:
            role = "customer"
        out.append(Message(0, role, plain(c.get("body")), _time(c.get("created_at")), True, login, _key(c)))
    return _numbered(out)


def servicenow(incident: dict[str, Any], entries: Iterable[Any], caller: str | None = None) -> list[Message]:
    """An incident's journal (``sys_journal_field`` rows of element ``comments`` or ``work_notes``), oldest first:
    work notes are internal; a comment written by the caller (``sys_created_by`` = the caller's user name) is the
    customer's, any other comment an agent's. The incident's description opens the thread."""
    out = []
    description = _first(incident, ("description", "short_description"))
    if description:
        out.append(Message(0, "customer", plain(description), _time(incident.get("opened_at")), key="description"))
    rows = [e for e in entries if isinstance(e, dict)]
    rows.sort(key=lambda e: str(e.get("sys_created_on") or ""))
    for e in rows:
        by = str(e.get("sys_created_by") or "") or None
        if e.get("element") == "work_notes":
            role, public = "internal", False
        else:
            role, public = ("customer" if caller and by == caller else "agent"), True
        out.append(Message(0, role, plain(e.get("value")), _time(e.get("sys_created_on")), public, by, _key(e)))
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
            Message(
                0,
                role,
                plain(text),
                _time(_first(item, TIME_KEYS)),
                public,
                str(author) if author else None,
                _key(item),
            )
        )
    return _numbered(out)


EXTRACTORS: dict[str, Callable[[dict[str, Any]], list[Message]]] = {
    "zendesk": zendesk,
    "freshdesk": freshdesk,
    "jira": jira,
    "github": github,
}
_LISTS = {"zendesk": ("tickets",), "freshdesk": ("tickets", "results"), "jira": ("issues",), "github": ("items",)}
