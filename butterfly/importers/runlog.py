"""One file's import run: the options of the import (:class:`ImportOptions`), the file being imported
(:class:`FileImport`, what every reader takes), what happened to it (:class:`FileSummary`: each record read is
counted into exactly one bucket, new, updated, unchanged, duplicate, skipped or rejected) and its row in the import
log (:class:`Run`)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import tzinfo
from pathlib import Path
from typing import Any

from butterfly.errors import Problem
from butterfly.importers.bulk import BulkConnection
from butterfly.importers.dateorder import DateOptions
from butterfly.importers.dates import to_utc_text
from butterfly.importers.encoding import Encoding
from butterfly.importers.mapping import Mapping, MappingSpec
from butterfly.importers.rejects import RejectsFile
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
    messages_over_cap: int = 0  # messages of embedded threads beyond the per-ticket cap, not imported
    capped_tickets: dict[str, int] = field(default_factory=dict)  # the first of those tickets -> messages left out
    capped_ticket_count: int = 0
    seconds: float = 0.0
    method: str = "records"  # "columns": the columnar first load (butterfly.importers.columnar) took the file
    note: str | None = None  # why a large first load went record by record

    @property
    def accounted(self) -> int:
        """Records in a bucket: new + updated + unchanged + duplicates + skipped + rejected (= ``rows_read``)."""
        return self.created + self.updated + self.unchanged + self.duplicates + self.skipped + self.rejected

    def over_cap(self, ticket: str, n: int) -> None:
        """``n`` messages of ``ticket``'s thread were beyond the per-ticket cap and left out (they are no records:
        ``skipped`` does not count them)."""
        if n <= 0:
            return
        self.messages_over_cap += n
        self.capped_ticket_count += 1
        if len(self.capped_tickets) < MAX_LISTED_PROBLEMS:
            self.capped_tickets[ticket] = self.capped_tickets.get(ticket, 0) + n

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
    on_indexes: Callable[[str], None] | None = None  # told (the file) when a first load builds its indexes


@dataclass
class FileImport:
    """One file being imported: everything a reader (:mod:`~butterfly.importers.csv_import`,
    :mod:`~butterfly.importers.json_import`) needs, passed as one object."""

    db: BulkConnection
    path: Path
    enc: Encoding
    fmt: str
    options: ImportOptions
    rejects: RejectsFile
    problems: list[Problem]  # the first rejected records of the whole import, for the error message
    summary: FileSummary
    run_options: dict[str, Any]  # what the import log keeps of this file's options
    doc: Any = None  # the parsed document of a JSON export

    def reject(
        self, reason: str, *, lines: tuple[int, int] | None = None, label: str | None = None, raw: str = ""
    ) -> None:
        """Count one record as rejected and copy it to the rejects file: its ``lines`` of the input, or (for a
        record of a JSON document) its ``label`` and ``raw`` JSON. A ``label`` also starts the listed problem."""
        if lines is not None:
            self.rejects.add_lines(lines[0], lines[1], reason)
        else:
            self.rejects.add_record(label or "", raw, reason)
        self.summary.rejected += 1
        if len(self.problems) <= MAX_LISTED_PROBLEMS:
            text = f"{label}: {reason}" if label else reason
            self.problems.append(Problem(str(self.path), text, line=lines[0] if lines else 0))


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
    """Count one record of a file read outside :class:`FileImport` (a ``--messages`` file) as rejected and list it
    among the import's first problems; the caller copies it to ``rejects``."""
    summary.rejected += 1
    if len(problems) <= MAX_LISTED_PROBLEMS:
        problems.append(Problem(str(path), reason, line=line))
