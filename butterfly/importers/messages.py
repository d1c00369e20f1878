"""``butterfly import TICKETS --messages FILE``: conversations in a file of their own, attached to tickets stored
under the same source.

Three shapes, told apart by a look inside:

- **messages CSV**: one message per row with the columns ``ticket_id``, ``time``, ``role`` (customer, agent,
  system or internal) and ``text``; optional ``author`` and ``public`` (and ``message_id``). Header names are
  matched case-insensitively with the aliases in :data:`COLUMNS`.
- **GitHub issue comments** (``GET /repos/{owner}/{repo}/issues/comments``, a JSON array): each comment's
  ``issue_url`` names its ticket ``owner/name#number``; the stored issue's body opens the thread.
- **Zendesk ticket events** (``GET /api/v2/incremental/ticket_events.json?include=comment_events``): the
  ``child_events`` of type ``Comment``; other child events are skipped. An export of events covers a time window,
  so its comments are merged into the stored thread by comment id.

Every row (comment, child event) is counted in one bucket: its thread new, updated or unchanged, skipped, or
rejected with its line (CSV) or record number and field in the rejects file. The file is read twice, record by
record: first to check every record and count each ticket's messages, then to gather each ticket's thread and store
it as soon as its last message is read, so memory holds the threads still open, each capped at
:data:`~butterfly.importers.threads.MAX_MESSAGES`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import ijson

from butterfly.conversation.facts import ROLES, Message
from butterfly.errors import InvalidInputError, Problem
from butterfly.importers import threads
from butterfly.importers.bulk import BulkConnection
from butterfly.importers.dates import parse_datetime
from butterfly.importers.encoding import Encoding, detect
from butterfly.importers.jsonstream import MAX_DEPTH, nesting_depth
from butterfly.importers.rejects import RejectsFile
from butterfly.importers.runlog import FileSummary, ImportOptions, Run, reject_record
from butterfly.importers.sources import CsvFile
from butterfly.importers.thread_store import replace_thread, ticket_row

COLUMNS = {
    "ticket_id": ("ticket_id", "ticket", "ticket id", "ticket_number", "ticket number", "issue", "key"),
    "time": ("time", "at", "created_at", "created", "timestamp", "datetime", "date"),
    "role": ("role", "author_role", "author role", "sender_role", "from"),
    "text": ("text", "body", "message", "content"),
    "author": ("author", "author_name", "author name", "name", "user"),
    "public": ("public", "is_public", "visibility"),
    "message_id": ("message_id", "message id", "comment_id", "id"),
}
REQUIRED = ("ticket_id", "time", "role", "text")
ROLE_ALIASES = {
    "requester": "customer",
    "end-user": "customer",
    "end_user": "customer",
    "user": "customer",
    "client": "customer",
    "staff": "agent",
    "support": "agent",
    "note": "internal",
    "private": "internal",
    "bot": "system",
}
TRUE = {"true", "yes", "1", "public", "y"}
FALSE = {"false", "no", "0", "internal", "private", "n"}
GITHUB_ISSUE = re.compile(r"/repos/([^/\s]+/[^/\s]+)/issues/(\d+)/?$")
COMMIT_THREADS = 500


@dataclass
class Item:
    """One record of a messages file: the ticket it belongs to and its message, or why it cannot be taken."""

    ticket: str
    label: str
    line: int | None
    raw: Any = None
    message: Any = None  # a Message (CSV) or the vendor's comment dict
    problem: str | None = None
    skip: str | None = None


def kind_of(path: Path, codec: str) -> str:
    """``csv``, ``github-comments`` or ``zendesk-events`` from a look at the file's start."""
    with path.open("rb") as handle:
        head = handle.read(65536).decode(codec, errors="ignore").lstrip("\ufeff \t\r\n")
    if not head.startswith(("[", "{")):
        return "csv"
    if head.startswith("{") and '"ticket_events"' in head:
        return "zendesk-events"
    if head.startswith("[") and '"issue_url"' in head:
        return "github-comments"
    raise InvalidInputError(
        f"{path}: not a messages file",
        hint="--messages takes a CSV (ticket_id, time, role, text), GitHub issue comments (a JSON array) or "
        "Zendesk ticket events (ticket_events.json?include=comment_events)",
    )


@dataclass(frozen=True)
class MessagesFile:
    """A messages file that :func:`check_file` accepted: its encoding and kind, found once."""

    path: Path
    enc: Encoding
    kind: str


def check_file(path: Path, encoding: str | None) -> MessagesFile:
    """Refuse a messages file that cannot be read, before anything of the import is written: an unknown kind, or
    JSON nested deeper than any export (ijson.items gives every event its path prefix, so reading a deeply nested
    file would cost memory growing with the square of its depth)."""
    enc = detect(path, encoding)
    kind = kind_of(path, enc.codec)
    if kind == "csv":
        return MessagesFile(path, enc, kind)
    try:
        too_deep = nesting_depth(path) > MAX_DEPTH
    except ijson.JSONError as exc:
        raise InvalidInputError(f"{path}: not valid JSON: {exc}") from None
    if too_deep:
        raise InvalidInputError(f"{path}: nested too deeply to be a messages file")
    return MessagesFile(path, enc, kind)


def import_messages(
    db: BulkConnection,
    checked: MessagesFile,
    source: str,
    options: ImportOptions,
    rejects: RejectsFile,
    problems: list[Problem],
    summaries: list[FileSummary],
) -> FileSummary:
    path, enc, kind = checked.path, checked.enc, checked.kind
    summary = FileSummary(path=str(path), format=f"messages ({kind})", source=source, encoding=enc.label)
    summaries.append(summary)
    run = Run(db, summary, {"messages": kind, "encoding": enc.codec, "timezone": options.tz_name}, path)
    if kind == "csv":
        reader = _csv_reader(path, enc.codec, options)
        rejects.start_source(path, codec=enc.codec, label=enc.label, header_lines=(1, 1))
    else:
        reader = _json_reader(path, kind)
        rejects.start_source(path, codec=enc.codec, label=enc.label, header_lines=None)
    known: dict[str, tuple[int, dict[str, Any] | None] | None] = {}
    totals: dict[str, int] = {}
    for item in reader():  # first pass: check every record, count each ticket's messages
        summary.rows_read += 1
        if item.problem is None and item.skip is None:
            if item.ticket not in known:
                known[item.ticket] = ticket_row(db, source, item.ticket)
            if known[item.ticket] is None:
                item.problem = f"ticket_id: no ticket '{item.ticket}' stored under source '{source}'"
        if item.problem is not None:
            if item.line is not None:
                rejects.add_lines(item.line, item.line, item.problem)
                reject_record(rejects, problems, summary, path, item.line, item.problem)
            else:
                rejects.add_record(item.label, json.dumps(item.raw, ensure_ascii=False), item.problem)
                reject_record(rejects, problems, summary, path, 0, f"{item.label}: {item.problem}")
        elif item.skip is not None:
            summary.skip(item.skip)
        else:
            totals[item.ticket] = totals.get(item.ticket, 0) + 1
    open_threads: dict[str, list[Any]] = {}
    seen: dict[str, int] = {}
    stored = 0
    for item in reader():  # second pass: gather each thread, store it once its last message is read
        if item.problem is not None or item.skip is not None or item.ticket not in totals:
            continue
        gathered = open_threads.setdefault(item.ticket, [])
        if len(gathered) < threads.MAX_MESSAGES:
            gathered.append(item.message)
        seen[item.ticket] = seen.get(item.ticket, 0) + 1
        if seen[item.ticket] < totals[item.ticket]:
            continue
        found = known[item.ticket]
        assert found is not None
        _store(db, kind, item.ticket, found, open_threads.pop(item.ticket), totals[item.ticket], summary)
        stored += 1
        if stored % COMMIT_THREADS == 0:
            run.save()
            if not options.strict:
                db.commit()
    run.save(status="done", rejects_path=str(rejects.path) if summary.rejected else None)
    if not options.strict:
        db.commit()
    return summary


def _store(
    db: BulkConnection,
    kind: str,
    ticket: str,
    found: tuple[int, dict[str, Any] | None],
    items: list[Any],
    total: int,
    summary: FileSummary,
) -> None:
    ticket_id, record = found
    record = record or {}
    if kind == "csv":
        thread = _numbered(sorted(items, key=_moment))
    elif kind == "github-comments":
        thread = threads.github(record, items)
    else:
        thread = threads.zendesk({**record, "comments": items})
    before = db.execute("SELECT count(*) FROM message WHERE ticket_id = ?", (ticket_id,)).fetchone()[0]
    written, merged_over = replace_thread(db, ticket_id, thread, merge=kind == "zendesk-events")
    capped = max(0, total - threads.MAX_MESSAGES)
    if capped:
        summary.skip(f"beyond {threads.MAX_MESSAGES:,} messages of one ticket", capped)
    if merged_over:  # the events merged with the thread stored before went over the cap
        summary.over_cap(ticket, merged_over)
    counted = total - capped
    if not written:
        summary.unchanged += counted
    elif before:
        summary.updated += counted
        summary.threads += 1
        summary.messages += written
    else:
        summary.created += counted
        summary.threads += 1
        summary.messages += written


def _moment(message: Message) -> datetime:
    assert message.at is not None  # a CSV message without a time is rejected
    return message.at


def _numbered(messages: list[Message]) -> list[Message]:
    return [
        Message(i, m.role, m.text, m.at, m.public, m.author, m.key)
        for i, m in enumerate(messages[: threads.MAX_MESSAGES], start=1)
    ]


# -- the messages CSV ---------------------------------------------------------------------------------------


def _columns(path: Path, header: list[str]) -> dict[str, int]:
    lowered = [h.strip().lower() for h in header]
    found: dict[str, int] = {}
    for name, aliases in COLUMNS.items():
        for alias in aliases:
            if alias in lowered and lowered.index(alias) not in found.values():
                found[name] = lowered.index(alias)
                break
    for name in REQUIRED:
        if name not in found:
            raise InvalidInputError(
                f"{path}:1: no {name} column (the header has: {', '.join(header)})",
                hint=f"a messages CSV has the columns {', '.join(REQUIRED)}; {name} may be named "
                + ", ".join(COLUMNS[name]),
            )
    return found


def _csv_reader(path: Path, codec: str, options: ImportOptions) -> Callable[[], Iterator[Item]]:
    probe = CsvFile(path, codec, delimiter=options.delimiter)
    try:
        at = _columns(path, probe.header)
        width = len(probe.header)
        delimiter = probe.delimiter
    finally:
        probe.close()

    def read() -> Iterator[Item]:
        source = CsvFile(path, codec, delimiter=delimiter)
        try:
            for batch in source.batches():
                for first, _last, reason in batch.broken:
                    yield Item("", f"line {first}", first, problem=reason)
                for i, cells in enumerate(batch.rows):
                    line = batch.lines_of(i)[0]
                    if len(cells) != width:
                        yield Item("", f"line {line}", line, problem=f"has {len(cells)} fields, the header has {width}")
                        continue
                    yield _csv_item(cells, at, line, options)
        finally:
            source.close()

    return read


def _csv_item(cells: list[str], at: dict[str, int], line: int, options: ImportOptions) -> Item:
    def cell(name: str) -> str:
        return cells[at[name]].strip() if name in at else ""

    ticket = cell("ticket_id")
    item = Item(ticket, f"line {line}", line)
    if not ticket:
        item.problem = "ticket_id: empty"
        return item
    raw_role = cell("role").lower()
    role = ROLE_ALIASES.get(raw_role, raw_role)
    if role not in ROLES:
        item.problem = f"role: '{cell('role')}' is not customer, agent, system or internal"
        return item
    text = threads.plain(cells[at["text"]])
    if not text:
        item.problem = "text: empty"
        return item
    moment: datetime | None
    try:
        moment = parse_datetime(cell("time"), options.tz, options.dates.order)
    except ValueError as exc:
        item.problem = f"time: {exc}"
        return item
    if moment is None:
        item.problem = "time: empty"
        return item
    public = role != "internal"
    flag = cell("public").lower()
    if flag:
        if flag not in TRUE | FALSE:
            item.problem = f"public: '{cell('public')}' is not true or false"
            return item
        public = public and flag in TRUE
    item.message = Message(0, role, text, moment, public, cell("author") or None, cell("message_id") or None)
    return item


# -- GitHub comments and Zendesk ticket events (JSON, read record by record) ---------------------------------------


def _json_reader(path: Path, kind: str) -> Callable[[], Iterator[Item]]:
    def read() -> Iterator[Item]:
        with path.open("rb") as handle:
            try:
                if kind == "github-comments":
                    for n, comment in enumerate(ijson.items(handle, "item", use_float=True), start=1):
                        yield _github_item(n, comment)
                else:
                    for n, event in enumerate(ijson.items(handle, "ticket_events.item", use_float=True), start=1):
                        yield from _zendesk_items(n, event)
            except ijson.JSONError as exc:
                raise InvalidInputError(f"{path}: not valid JSON: {exc}") from None

    return read


def _github_item(n: int, comment: Any) -> Item:
    label = f"comment {n}"
    if not isinstance(comment, dict):
        return Item("", label, None, raw=comment, problem="not a JSON object")
    match = GITHUB_ISSUE.search(str(comment.get("issue_url") or ""))
    if match is None:
        return Item("", label, None, raw=comment, problem="issue_url: missing or not a GitHub issue URL")
    if not str(comment.get("body") or "").strip():
        return Item("", label, None, raw=comment, problem="body: empty")
    return Item(f"{match.group(1)}#{match.group(2)}", label, None, raw=comment, message=comment)


def _zendesk_items(n: int, event: Any) -> Iterator[Item]:
    label = f"ticket event {n}"
    if not isinstance(event, dict):
        yield Item("", label, None, raw=event, problem="not a JSON object")
        return
    ticket = event.get("ticket_id")
    children = event.get("child_events")
    if not isinstance(children, list) or not children:
        yield Item("", label, None, raw=event, skip="ticket event without child events")
        return
    for i, child in enumerate(children, start=1):
        child_label = f"{label}, child event {i}"
        if not isinstance(child, dict):
            yield Item("", child_label, None, raw=child, problem="not a JSON object")
        elif (child.get("event_type") or child.get("type")) != "Comment":
            yield Item("", child_label, None, raw=child, skip="not a comment event")
        elif ticket is None or isinstance(ticket, bool) or not str(ticket).strip():
            yield Item("", child_label, None, raw=event, problem="ticket_id: missing")
        else:
            comment = {**child, "created_at": child.get("created_at") or event.get("created_at")}
            yield Item(str(ticket).strip(), child_label, None, raw=child, message=comment)
