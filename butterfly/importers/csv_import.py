"""Importing one CSV file: the mapping, how its dates are read, then batches through the preparer into the bulk
writer — or, for a large first load into an empty SQLite table, the columnar load
(:mod:`butterfly.importers.columnar`)."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import replace
from itertools import chain, islice
from pathlib import Path

from butterfly.errors import InvalidInputError
from butterfly.importers import columnar, csv_batches
from butterfly.importers.csv_batches import PreparedBatch
from butterfly.importers.dateorder import DateRule, decide
from butterfly.importers.encoding import Encoding
from butterfly.importers.mapping import Mapping, resolve
from butterfly.importers.prepare import TabularPreparer
from butterfly.importers.runlog import FileImport, ImportOptions
from butterfly.importers.sources import CsvBatch, CsvFile
from butterfly.importers.writeloop import WriteLoop

# records per transaction: a commit writes every page it changed to the WAL, and random inserts into the ticket
# indexes change most of their pages, so a few large commits cost far less than many small ones
COMMIT_RECORDS = 100_000
INITIAL_LOAD_BYTES = 32 * 1024 * 1024  # from this size a first import into an empty table defers its indexes


ROW_ID_COLUMN = "(row id)"


def _drain(items: list[CsvBatch]) -> Iterator[CsvBatch]:
    while items:
        yield items.pop(0)


def _csv_dates(
    path: Path, enc: Encoding, reader: CsvFile, mapping: Mapping, options: ImportOptions, first: CsvBatch | None
) -> dict[str, DateRule]:
    """How each date column is read, from the first batch (and the rest of the file only while a column has
    nothing but ambiguous values)."""
    from butterfly.importers.fields import DATE_FIELDS

    columns = {f: c for f, c in mapping.columns.items() if f in DATE_FIELDS and c in reader.header}
    if not columns:
        return {}
    at = {f: reader.header.index(c) for f, c in columns.items()}

    def records(batches: Iterable[CsvBatch]) -> Iterator[dict[str, str]]:
        for batch in batches:
            for row in batch.rows:
                yield {f: row[i] for f, i in at.items() if i < len(row)}

    def rest() -> Iterator[dict[str, str]]:
        again = CsvFile(path, enc.codec, delimiter=reader.delimiter)
        try:
            yield from islice(records(again.batches()), len(first.rows) if first else 0, None)
        finally:
            again.close()

    return decide(columns, records([first] if first else []), options.dates, more=rest(), file=str(path))


def _spare_worker(job: FileImport, reader: CsvFile) -> csv_batches.Spare | None:
    """The worker process started now when the file will surely be prepared by one (a large file of a source with
    no tickets yet, which the columnar load will not take): it starts while this process decides the dates."""
    if reader.size < csv_batches.WORKER_BYTES or (os.cpu_count() or 1) < 2:
        return None
    db, options = job.db, job.options
    columnar_may = (
        reader.size >= INITIAL_LOAD_BYTES
        and db.dialect == "sqlite"
        and not options.strict
        and not options.id_from_row
        and columnar.unavailable() is None
    )
    if columnar_may or db.execute("SELECT 1 FROM ticket WHERE source = ? LIMIT 1", (job.summary.source,)).fetchone():
        return None
    return csv_batches.Spare(csv_batches.workers_for(reader.size, job.enc.codec, reader.header_lines))


def import_csv(job: FileImport) -> None:
    path, enc, options, summary = job.path, job.enc, job.options, job.summary
    reader = CsvFile(path, enc.codec, delimiter=options.delimiter)
    spare: csv_batches.Spare | None = None
    try:
        header = reader.header
        spec = options.spec
        if options.id_from_row:
            if "id" in spec.columns:
                raise InvalidInputError(f"{path}: --id-from-row and --map id=… name the id twice: keep one")
            header = [*header, ROW_ID_COLUMN]
            spec = replace(spec, columns={**spec.columns, "id": ROW_ID_COLUMN})
            summary.id_from_row = True
        mapping = resolve(spec, header, file=str(path))
        spare = _spare_worker(job, reader)
        batches = reader.batches()
        first = next(batches, None)
        rules = _csv_dates(path, enc, reader, mapping, options, first)
        head = [first] if first is not None else []
        del first  # the batch loop holds the only reference: freed once imported
        summary.mapping = mapping.rows()
        summary.dates = {f: r.describe() for f, r in rules.items()}
        mapping.dates = summary.dates
        mapping.id_from_row = options.id_from_row
        if options.on_mapping is not None:
            options.on_mapping(str(path), mapping, enc)
        job.run_options["mapping"] = mapping.columns
        if summary.dates:
            job.run_options["dates"] = summary.dates
        job.rejects.start_source(path, codec=enc.codec, label=enc.label, header_lines=reader.header_lines)
        how = csv_batches.WorkerJob(  # how the batches are prepared, here or in the worker process
            path=str(path),
            codec=enc.codec,
            delimiter=reader.delimiter,
            id_from_row=options.id_from_row,
            mapping=mapping,
            header=header,
            source=summary.source,
            tz=options.tz,
            hash_salt=options.tz_name,
            date_rules=rules,
        )
        preparer = how.preparer()
        loop = WriteLoop(job, preparer.fields, commit_records=COMMIT_RECORDS)
        # a large first load into an empty SQLite table: one transaction, secondary indexes built at the end
        initial_load = reader.size >= INITIAL_LOAD_BYTES and job.db.dialect == "sqlite" and loop.writer.table_is_empty()
        if (
            initial_load
            and not options.strict
            and not options.id_from_row
            and _load_columnar(job, reader, preparer, loop)
        ):
            loop.finish()
            return
        if initial_load and options.id_from_row:
            summary.note = "--id-from-row reads record by record"
        if initial_load:
            loop.defer_indexes()
        if loop.lookup is None and reader.size >= csv_batches.WORKER_BYTES and (os.cpu_count() or 1) > 1:
            # nothing to look up in the database: the batches are prepared on the other cores meanwhile (in parts
            # of the file, by several workers, when it is large: csv_chunks)
            head.clear()
            reader.close()
            workers = csv_batches.share(how, reader.size, reader.header_lines)
            # rows staged as database images only while this import alone writes (a first load is one transaction):
            # their repeated ids are then told by the database (writeloop._write_staged)
            how.stage = loop.writer.stage_statements() if loop.one_transaction else None
            with csv_batches.Worker(how, spare, count=workers) as worker:
                _write(job, loop, worker.batches(), reader.size)
        else:
            prepared = csv_batches.prepared_batches(
                chain(_drain(head), batches), preparer, id_from_row=options.id_from_row, lookup=loop.lookup
            )
            _write(job, loop, prepared, reader.size)
        loop.finish()
    finally:
        if spare is not None:
            spare.close()  # not taken: the file went another way (or failed)
        reader.close()


def _write(job: FileImport, loop: WriteLoop, batches: Iterable[PreparedBatch], size: int) -> None:
    """Each prepared batch through the write loop, its rejects (by line) into the rejects file, progress after it."""
    summary, progress = job.summary, job.options.progress
    for batch in batches:
        summary.rows_read += batch.records
        loop.write(batch.prepared)
        for first_line, last_line, reason in batch.bad:
            job.reject(reason, lines=(first_line, last_line))
        loop.read(batch.records)
        if progress is not None:
            progress(str(job.path), batch.bytes_read, size, summary.rows_read)


def _load_columnar(job: FileImport, reader: CsvFile, preparer: TabularPreparer, loop: WriteLoop) -> bool:
    """The columnar first load (:mod:`butterfly.importers.columnar`); False: the file goes record by record."""
    db, path, enc, options, summary = job.db, job.path, job.enc, job.options, job.summary
    database = db.engine.url.database
    why = columnar.unavailable()
    if why is None and enc.codec not in columnar.CODECS:
        why = f"the file is {enc.label}, the columnar load reads UTF-8"
    if why is None and reader.header_lines != (1, 1):
        why = "the header spans several lines"
    if why is None and (not database or database == ":memory:" or not Path(database).is_file()):
        why = "the database is not a file"
    if why is not None:
        summary.note = why
        return False
    busy_timeout_ms = int(db.conn.execute("PRAGMA busy_timeout").fetchone()[0])
    db.release()  # so that the load may switch the file out of WAL mode for its own writes
    try:

        def progress(bytes_read: int, records: int) -> None:
            if options.progress is not None:
                options.progress(str(path), bytes_read, reader.size, records)

        try:
            load_job = columnar.Job(
                path=str(path),
                database=str(database),
                delimiter=reader.delimiter,
                header=reader.header,
                mapping=preparer.mapping,
                source=preparer.source,
                tz=preparer.tz,
                hash_salt=preparer.hash_salt,
                date_rules=preparer.date_rules,
                upsert_sql=loop.writer.sql,
                import_id=loop.run.id,
                busy_timeout_ms=busy_timeout_ms,
                block_bytes=columnar.BLOCK_BYTES,
            )
            loaded = columnar.load_in_child(load_job, progress)
        except columnar.NotColumnar as exc:
            summary.note = str(exc)
            return False
    finally:
        db.reopen()
    summary.rows_read = loaded.records
    # the table was empty: a record that updated or left a ticket unchanged repeated an earlier record's id
    summary.created = loaded.counts.created
    summary.duplicates = loaded.records - loaded.counts.created
    summary.method = "columns"
    return True
