"""The one write loop every reader shares: prepared rows into the ticket table batch by batch, each record counted
into one bucket, commits together with the import log's counters.

A reader (:mod:`~butterfly.importers.csv_import`, :mod:`~butterfly.importers.json_import`) makes a
:class:`WriteLoop` for its file, hands it batches (:meth:`WriteLoop.write` a prepared batch, or
:meth:`WriteLoop.add` one row at a time) and calls :meth:`WriteLoop.finish` at the end.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from itertools import compress
from typing import TYPE_CHECKING

from butterfly.importers import staging
from butterfly.importers.bulk import Counts, TicketWriter
from butterfly.importers.dates import to_utc_text
from butterfly.importers.prepare import DuplicateIds, Prepared, last_of_each
from butterfly.importers.runlog import FileImport, FileSummary, Run
from butterfly.importers.thread_store import MERGED_SOURCES, save_threads, save_timelines
from butterfly.timeutil import utcnow

if TYPE_CHECKING:
    from butterfly.conversation.facts import Message
    from butterfly.importers.thread_store import Step

BATCH_RECORDS = 5_000  # rows :meth:`WriteLoop.add` gathers before it writes them
BATCH_MESSAGES = 50_000  # ... or fewer, when their records' threads hold this many messages


class WriteLoop:
    """Writes one file's prepared rows. ``commit_records``: commit once at least that many records were read
    since the last commit (0: after every batch); never before :meth:`finish` with ``--strict`` or while
    :attr:`one_transaction` is set."""

    def __init__(self, job: FileImport, fields: Sequence[str], *, commit_records: int = 0) -> None:
        self.job = job
        self.db = job.db
        self.summary = job.summary
        self.run = Run(job.db, job.summary, job.run_options, job.path)
        self.writer = TicketWriter(
            job.db, source=job.summary.source, fields=fields, import_id=self.run.id, imported_at=to_utc_text(utcnow())
        )
        # the stored content hashes, for counting repeated ids exactly; None: the source has no tickets yet
        self.lookup: Callable[[list[str]], dict[str, str]] | None = (
            self.writer.known_hashes if self.writer.has_tickets() else None
        )
        self.dups = DuplicateIds()
        self.commit_records = commit_records
        self.one_transaction = job.options.strict
        self.on_batch: Callable[[list[str]], None] | None = None  # called with the ids of each batch of add()ed rows
        self.deferred: list[str] = []  # secondary indexes dropped for a first load, built again by finish()
        self._uncommitted = 0
        self._rows: list[tuple[str, ...]] = []
        self._ids: list[str] = []
        self._threads: list[tuple[str, list[Message]]] = []  # the conversations of the gathered rows
        self._messages = 0
        self._timelines: list[tuple[str, list[Step]]] = []  # their state timelines (ServiceNow's event log)

    def defer_indexes(self) -> None:
        """A first load into an empty table: one transaction that drops the secondary indexes now and builds them
        again at the end (sorting once costs a third of updating them row by row); a crash rolls all of it back,
        indexes included. On SQLite the file is in rollback-journal mode meanwhile when nothing else has it open
        (:meth:`~butterfly.importers.bulk.BulkConnection.rollback_journal`)."""
        self.one_transaction = True
        self.db.rollback_journal()
        self.deferred = self.writer.drop_secondary_indexes()
        self.writer.first_load_cache()

    def write(self, prepared: Prepared) -> None:
        """Write a prepared batch and count its records (commits are :meth:`read`'s)."""
        write_counted(self.writer, self.summary, prepared, self.dups, self.lookup)

    def read(self, records: int) -> None:
        """``records`` more records of the file are written or rejected: commit with the import log when due."""
        self._uncommitted += records
        if self._uncommitted >= self.commit_records and not self.one_transaction:
            self.run.save()
            self.db.commit()
            self._uncommitted = 0

    def add(
        self,
        row: tuple[str, ...],
        ticket_id: str,
        *,
        thread: list[Message] | None = None,
        timeline: list[Step] | None = None,
    ) -> None:
        """One prepared row; written with the others of its batch (the last row of each id wins), and its thread
        and state timeline stored once its ticket is written."""
        self._rows.append(row)
        self._ids.append(ticket_id)
        if thread:
            self._threads.append((ticket_id, thread))
            self._messages += len(thread)
        if timeline:
            self._timelines.append((ticket_id, timeline))
        if len(self._rows) >= BATCH_RECORDS or self._messages >= BATCH_MESSAGES:
            self.flush()

    def flush(self) -> None:
        """Write the rows :meth:`add` gathered."""
        if not self._rows:
            return
        rows, ids, threads, timelines = self._rows, self._ids, self._threads, self._timelines
        self._rows, self._ids, self._threads, self._timelines, self._messages = [], [], [], [], 0
        if self.on_batch is not None:
            self.on_batch(ids)
        self.write(last_of_each(rows, ids))
        summary = self.summary
        if timelines:
            summary.timelines += save_timelines(self.db, summary.source, timelines)
        if threads:
            merge = summary.format in MERGED_SOURCES
            written, messages, over_cap = save_threads(self.db, summary.source, threads, merge=merge)
            summary.threads += written
            summary.messages += messages
            for ticket, n in over_cap.items():  # a merge with the stored thread went over the cap
                summary.over_cap(ticket, n)
        self.read(len(rows))

    def finish(self) -> None:
        """The rest of the rows, the deferred indexes, and the import log's final counters."""
        self.flush()
        if self.deferred:
            if self.job.options.on_indexes is not None:
                self.job.options.on_indexes(str(self.job.path))
            self.writer.create_indexes(self.deferred)
        summary = self.summary
        self.run.save(status="done", rejects_path=str(self.job.rejects.path) if summary.rejected else None)
        if not self.job.options.strict:
            self.db.commit()
            self.db.wal_again()


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
    if isinstance(prepared.rows, staging.StagedRows):
        _write_staged(writer, summary, prepared, prepared.rows, dups)
        return
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


def _write_staged(
    writer: TicketWriter, summary: FileSummary, prepared: Prepared, rows: staging.StagedRows, dups: DuplicateIds
) -> None:
    """:func:`write_counted` for rows a worker staged. Only a file whose source had no tickets before the import,
    written in one transaction (which no other writer can enter), is staged, all of its batches
    (:mod:`butterfly.importers.csv_import`); so every ticket of the source there is one this file's records made,
    and a record that creates none repeats an earlier record's id. The database says how many did, instead of a
    set of every id seen (a second of CPU and 55 MB per million)."""
    assert prepared.stored is None and not prepared.unchanged  # nothing was looked up
    dups.replaced(prepared.replaced)
    counts = writer.write(rows)
    summary.created += counts.created
    repeats = len(rows) - counts.created
    if repeats:
        listed = writer.repeated_ids(rows, dups.LISTED) if len(dups.first) < dups.LISTED else []
        dups.repeated(repeats, listed)
    summary.duplicates = dups.count
    summary.duplicate_ids = list(dups.first)


def count_into(summary: FileSummary, counts: Counts) -> None:
    summary.created += counts.created
    summary.updated += counts.updated
    summary.unchanged += counts.unchanged
