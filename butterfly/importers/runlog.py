"""One file's import run: what happened to it (:class:`FileSummary`), its row in the import log (:class:`Run`),
and how each record read is counted into exactly one bucket (new, updated, unchanged, duplicate, skipped,
rejected)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import tzinfo
from itertools import compress
from pathlib import Path
from typing import Any

from butterfly.conversation.facts import Message
from butterfly.errors import Problem
from butterfly.importers.bulk import BulkConnection, Counts, TicketWriter
from butterfly.importers.dateorder import DateOptions
from butterfly.importers.dates import to_utc_text
from butterfly.importers.encoding import Encoding
from butterfly.importers.mapping import Mapping, MappingSpec
from butterfly.importers.prepare import DuplicateIds, Prepared
from butterfly.importers.rejects import RejectsFile
from butterfly.importers.thread_store import MERGED_SOURCES, Step, save_threads, save_timelines
from butterfly.timeutil import utcnow

SMALL_FILE = 32 * 1024 * 1024  # files up to this size get their sha256 in the import log
MAX_LISTED_PROBLEMS = 20


@dataclass
class FileSummary:
    """What happened to one file."""

    path: str
    format: str
    source: str
    encoding: str | None
    rows_read: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    skipped: int = 0
    duplicates: int = 0  # records a later record of the same id in this file replaced (last one wins)
    duplicate_ids: list[str] = field(default_factory=list)  # the first few of them
    skipped_reasons: dict[str, int] = field(default_factory=dict)
    import_id: int | None = None
    mapping: list[tuple[str, str, bool]] = field(default_factory=list)
    dates: dict[str, str] = field(default_factory=dict)  # date field -> how its column is read
    marked_deleted: int = 0
    rekeyed: int = 0  # GitHub tickets of an earlier release re-keyed from "128" to "owner/name#128"  # stored tickets this export says were deleted in the helpdesk
    id_from_row: bool = False
    threads: int = 0  # tickets whose conversation was stored or replaced (unchanged threads are not counted)
    messages: int = 0
    timelines: int = 0  # tickets whose state timeline was stored or replaced (ServiceNow's event log)
    seconds: float = 0.0
    method: str = "records"  # "columns": the columnar first load (butterfly.importers.columnar) took the file
    note: str | None = None  # why a large first load went record by record

    @property
    def accounted(self) -> int:
        """Records in a bucket: new + updated + unchanged + duplicates + skipped + rejected (= ``rows_read``)."""
        return self.created + self.updated + self.unchanged + self.duplicates + self.skipped + self.rejected

    def skip(self, reason: str, n: int = 1) -> None:
        self.skipped += n
        self.skipped_reasons[reason] = self.skipped_reasons.get(reason, 0) + n


Progress = Callable[[str, int, int, int], None]  # (file, bytes done, bytes total, records read)
OnMapping = Callable[[str, Mapping, Encoding], None]


@dataclass
class ImportOptions:
    format: str
    source: str | None
    spec: MappingSpec
    encoding: str | None
    tz: tzinfo
    tz_name: str
    strict: bool
    on_mapping: OnMapping | None
    progress: Progress | None
    dates: DateOptions = field(default_factory=DateOptions)
    delimiter: str | None = None
    id_from_row: bool = False
    messages: list[Path] = field(default_factory=list)  # --messages: thread files read after the ticket files


class Run:
    """The import log row of one file, written through the bulk connection (so it commits with the batches)."""

    def __init__(self, db: BulkConnection, summary: FileSummary, options: dict[str, Any], path: Path) -> None:
        self.db = db
        self.summary = summary
        self.path = str(path.resolve())
        sha = None
        if path.stat().st_size <= SMALL_FILE:
            sha = hashlib.sha256(path.read_bytes()).hexdigest()
        now = to_utc_text(utcnow())
        cursor = db.execute(
            "INSERT INTO import_run (source, format, path, file_sha256, started_at, status, rows_read, created, "
            "updated, unchanged, rejected, rejects_path, options) "
            "VALUES (?, ?, ?, ?, ?, 'running', 0, 0, 0, 0, 0, NULL, ?) RETURNING id",
            (summary.source, summary.format, self.path, sha, now, json.dumps(options, ensure_ascii=False)),
        )
        self.id = int(cursor.fetchone()[0])
        summary.import_id = self.id
        if not db.in_strict:
            db.commit()

    def save(self, *, status: str = "running", rejects_path: str | None = None) -> None:
        s = self.summary
        finished = to_utc_text(utcnow()) if status != "running" else None
        self.db.execute(
            "UPDATE import_run SET rows_read = ?, created = ?, updated = ?, unchanged = ?, rejected = ?, "
            "status = ?, finished_at = ?, rejects_path = coalesce(?, rejects_path) WHERE id = ?",
            (s.rows_read, s.created, s.updated, s.unchanged, s.rejected, status, finished, rejects_path, self.id),
        )
        if status == "done":
            # earlier runs of this file still marked running were killed (kill -9, a lost connection): this run
            # has now imported the file, so they are settled as interrupted and `db check` stops warning. A run
            # that is in fact still going writes its own status again with its next batch.
            self.db.execute(
                "UPDATE import_run SET status = 'interrupted', finished_at = ? "
                "WHERE status = 'running' AND path = ? AND id < ?",
                (finished, self.path, self.id),
            )


def reject_record(
    rejects: RejectsFile, problems: list[Problem], summary: FileSummary, path: Path, line: int, reason: str
) -> None:
    summary.rejected += 1
    if len(problems) <= MAX_LISTED_PROBLEMS:
        problems.append(Problem(str(path), reason, line=line))


def finish(db: BulkConnection, run: Run, rejects: RejectsFile, options: ImportOptions) -> None:
    summary = run.summary
    run.save(status="done", rejects_path=str(rejects.path) if summary.rejected else None)
    if not options.strict:
        db.commit()


def write(
    db: BulkConnection,
    writer: TicketWriter,
    run: Run,
    prepared: Prepared,
    dups: DuplicateIds,
    options: ImportOptions,
    lookup: Callable[[list[str]], dict[str, str]] | None = None,
    threads: list[tuple[str, list[Message]]] | None = None,
    timelines: list[tuple[str, list[Step]]] | None = None,
) -> None:
    """Write a batch (and the threads and state timelines of its records, once their tickets are written), count
    it, and commit it with the import log's counters."""
    write_counted(writer, run.summary, prepared, dups, lookup)
    if timelines:
        run.summary.timelines += save_timelines(db, run.summary.source, timelines)
    if threads:
        merge = run.summary.format in MERGED_SOURCES
        written, messages = save_threads(db, run.summary.source, threads, merge=merge)
        run.summary.threads += written
        run.summary.messages += messages
    run.save()
    if not options.strict:
        db.commit()


def write_counted(
    writer: TicketWriter,
    summary: FileSummary,
    prepared: Prepared,
    dups: DuplicateIds,
    lookup: Callable[[list[str]], dict[str, str]] | None = None,
) -> None:
    """Write a batch and put each of its records in one bucket: a record whose id an earlier record of the same
    file had is a duplicate (it is written: the last one wins), whatever the database says about it.

    An earlier record of a repeated id is written before the later one is seen; when the later one turns out to
    be what was stored before the import (the same export imported again), the earlier one's *updated* becomes
    *unchanged*. ``lookup(ids)`` gives the stored content hashes when the batch did not look them up."""
    dups.replaced(prepared.replaced)
    unchanged_again = dups.earlier(prepared.unchanged)
    if any(unchanged_again):
        dups.replaced(compress(prepared.unchanged, unchanged_again))
    summary.unchanged += len(prepared.unchanged) - sum(unchanged_again)
    earlier = dups.earlier(prepared.ids)
    stored = prepared.stored
    if stored is None and lookup is not None and prepared.ids:
        stored = lookup(prepared.ids)
    rows = prepared.rows
    if any(earlier):
        again_rows = [row for row, again in zip(rows, earlier, strict=True) if again]
        again_ids = list(compress(prepared.ids, earlier))
        writer.write(again_rows)
        dups.replaced(again_ids)
        back = 0
        for ticket_id, row in zip(again_ids, again_rows, strict=True):
            if dups.originals.pop(hash(ticket_id), None) == row[-1]:  # row[-1]: the record's content hash
                back += 1
        summary.updated -= back
        summary.unchanged += back
        rows = [row for row, again in zip(rows, earlier, strict=True) if not again]
        fresh_ids = [i for i, again in zip(prepared.ids, earlier, strict=True) if not again]
    else:
        fresh_ids = prepared.ids
    if stored and len(dups.originals) < dups.ORIGINALS:
        for ticket_id, row in zip(fresh_ids, rows, strict=True):
            before = stored.get(ticket_id)
            if before is not None and before != row[-1]:
                dups.originals[hash(ticket_id)] = before
    count_into(summary, writer.write(rows))
    dups.add(prepared.ids)
    dups.add(prepared.unchanged)
    summary.duplicates = dups.count
    summary.duplicate_ids = list(dups.first)


def count_into(summary: FileSummary, counts: Counts) -> None:
    summary.created += counts.created
    summary.updated += counts.updated
    summary.unchanged += counts.unchanged
