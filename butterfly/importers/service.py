"""``import_files``: the library entry behind ``butterfly import``.

For each file: detect its encoding and format, settle the column mapping (and show it through ``on_mapping``
before anything is written), then stream records through the preparer into the bulk writer, one transaction
per batch together with the import log's counters. Records that cannot be imported go to the rejects file.
With ``strict=True`` every file is imported in one transaction that is rolled back if anything was rejected.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import tzinfo
from itertools import chain, islice
from pathlib import Path
from typing import TYPE_CHECKING, Any

from butterfly.errors import FileProblemsError, InvalidInputError, Problem
from butterfly.importers import columnar, native, servicenow
from butterfly.importers.bulk import BulkConnection, Counts, TicketWriter
from butterfly.importers.dates import to_utc_text, zone
from butterfly.importers.encoding import Encoding, detect
from butterfly.importers.fields import FIELDS
from butterfly.importers.mapping import Mapping, MappingSpec, parse_options, resolve
from butterfly.importers.prepare import HASH_VERSION, RecordProblem, TabularPreparer, content_hash, last_of_each
from butterfly.importers.rejects import RejectsFile, default_path
from butterfly.importers.sources import (
    NATIVE_JSON,
    CsvBatch,
    CsvFile,
    detect_format,
    detect_json_format,
    json_records,
    jsonl_lines,
    load_json,
)
from butterfly.timeutil import utcnow

if TYPE_CHECKING:
    from sqlmodel import Session

# records per transaction: a commit writes every page it changed to the WAL, and random inserts into the ticket
# indexes change most of their pages, so a few large commits cost far less than many small ones
COMMIT_RECORDS = 100_000
INITIAL_LOAD_BYTES = 32 * 1024 * 1024  # from this size a first import into an empty table defers its indexes
SMALL_FILE = 32 * 1024 * 1024  # files up to this size get their sha256 in the import log
MAX_LISTED_PROBLEMS = 20
GENERIC_SOURCES = {"csv": "csv", "json": "json", "jsonl": "json"}


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
    import_id: int | None = None
    mapping: list[tuple[str, str, bool]] = field(default_factory=list)
    threads: int = 0  # tickets whose conversation was stored or replaced (unchanged threads are not counted)
    messages: int = 0
    seconds: float = 0.0
    method: str = "records"  # "columns": the columnar first load (butterfly.importers.columnar) took the file
    note: str | None = None  # why a large first load went record by record


@dataclass
class ImportSummary:
    """What ``import_files`` did: per file and in total; ``rejects_path`` if anything was rejected."""

    files: list[FileSummary]
    rejects_path: str | None
    strict: bool = False
    problems: list[Problem] = field(default_factory=list)

    def total(self, name: str) -> int:
        return sum(int(getattr(f, name)) for f in self.files)

    @property
    def rejected(self) -> int:
        return self.total("rejected")

    @property
    def clean(self) -> bool:
        return self.rejected == 0


Progress = Callable[[str, int, int, int], None]  # (file, bytes done, bytes total, records read)
OnMapping = Callable[[str, Mapping, Encoding], None]


@dataclass
class _Options:
    format: str
    source: str | None
    spec: MappingSpec
    encoding: str | None
    tz: tzinfo
    tz_name: str
    strict: bool
    on_mapping: OnMapping | None
    progress: Progress | None


def import_files(
    *,
    session: Session,
    paths: Sequence[Path | str],
    format: str = "auto",
    source: str | None = None,
    mapping: Sequence[str] | MappingSpec | None = None,
    encoding: str | None = None,
    timezone: str | None = None,
    rejects: Path | str | None = None,
    strict: bool = False,
    on_mapping: OnMapping | None = None,
    progress: Progress | None = None,
) -> ImportSummary:
    """Import ticket exports into the database of ``session``; see the module docstring.

    ``mapping``: ``--map`` values (``field=column`` or mapping files) or a :class:`MappingSpec`.
    Raises InvalidInputError for an unreadable file, FileProblemsError when ``strict`` and a record was rejected.
    """
    spec = mapping if isinstance(mapping, MappingSpec) else parse_options(list(mapping or []))
    if source is not None and not source.strip():
        raise InvalidInputError("--source must not be empty")
    if source is not None and len(source) > 64:
        raise InvalidInputError("--source is longer than 64 characters")
    tz_name = timezone or spec.timezone or _settings_timezone()
    options = _Options(
        format=format,
        source=source.strip() if source else None,
        spec=spec,
        encoding=encoding or spec.encoding,
        tz=zone(tz_name),
        tz_name=tz_name or "UTC",
        strict=strict,
        on_mapping=on_mapping,
        progress=progress,
    )
    files = [Path(p) for p in paths]
    if not files:
        raise InvalidInputError("no file to import")
    for path in files:
        if not path.is_file():
            raise InvalidInputError(f"no such file: {path}")
    session.commit()  # the session must not hold a write lock while the bulk connection writes
    engine = session.get_bind()
    shared = Path(rejects) if rejects else None
    summaries: list[FileSummary] = []
    problems: list[Problem] = []
    db = BulkConnection(engine, tz=options.tz_name)
    rejects_files: list[RejectsFile] = []
    try:
        shared_file = RejectsFile(shared) if shared else None
        for path in files:
            rejects_file = shared_file or RejectsFile(default_path(path))
            if rejects_file not in rejects_files:
                rejects_files.append(rejects_file)
            try:
                _import_one(db, path, options, rejects_file, problems, summaries)
            except RecursionError:  # json and nested records are walked recursively: thousands of [ or { levels
                raise InvalidInputError(f"{path}: nested too deeply to be a ticket export") from None
        total_rejected = sum(s.rejected for s in summaries)
        if strict and total_rejected:
            db.rollback()
            for summary in summaries:
                summary.created = summary.updated = summary.unchanged = 0
                summary.import_id = None
            where = ", ".join(str(r.path) for r in rejects_files if r.count)
            listed = problems[:MAX_LISTED_PROBLEMS]
            if total_rejected > len(listed):
                listed.append(Problem(str(files[0]), f"… and {total_rejected - len(listed)} more (see {where})"))
            error = FileProblemsError(", ".join(str(p) for p in files), listed)
            error.hint = f"--strict: nothing was imported; every rejected record is in {where}"
            raise error
        db.commit()
    except BaseException as exc:
        db.rollback()
        _finish_runs_interrupted(engine, summaries)
        if isinstance(exc, Exception) and type(exc).__module__.split(".")[0] in ("sqlite3", "psycopg"):
            from sqlalchemy import Engine

            from butterfly.store.db import database_error

            raise database_error(exc, engine if isinstance(engine, Engine) else None) from None
        raise
    finally:
        db.close()
        for r in rejects_files:
            r.close()
    for r in rejects_files:
        r.remove_stale()
    paths_with_rejects = [str(r.path) for r in rejects_files if r.count]
    return ImportSummary(
        files=summaries, rejects_path=", ".join(paths_with_rejects) or None, strict=strict, problems=problems
    )


def _settings_timezone() -> str | None:
    try:
        from butterfly.settings import get_settings

        value = getattr(get_settings(), "timezone", None)
        return str(value) if value else None
    except Exception:
        return None


def _finish_runs_interrupted(engine: Any, summaries: list[FileSummary]) -> None:
    """Mark this command's import runs that did commit batches as interrupted (best effort)."""
    ids = [s.import_id for s in summaries if s.import_id is not None]
    if not ids:
        return
    try:
        from sqlalchemy import update
        from sqlmodel import Session, col

        from butterfly.store.models import ImportRun

        with Session(engine) as session:
            session.execute(
                update(ImportRun)
                .where(col(ImportRun.id).in_(ids), col(ImportRun.status) == "running")
                .values(status="interrupted", finished_at=utcnow())
            )
            session.commit()
    except Exception:
        pass


# -- one file -----------------------------------------------------------------------------------------------


class _Run:
    """The import log row of one file, written through the bulk connection (so it commits with the batches)."""

    def __init__(self, db: BulkConnection, summary: FileSummary, options: dict[str, Any], path: Path) -> None:
        self.db = db
        self.summary = summary
        sha = None
        if path.stat().st_size <= SMALL_FILE:
            sha = hashlib.sha256(path.read_bytes()).hexdigest()
        now = to_utc_text(utcnow())
        cursor = db.execute(
            "INSERT INTO import_run (source, format, path, file_sha256, started_at, status, rows_read, created, "
            "updated, unchanged, rejected, rejects_path, options) "
            "VALUES (?, ?, ?, ?, ?, 'running', 0, 0, 0, 0, 0, NULL, ?) RETURNING id",
            (summary.source, summary.format, str(path.resolve()), sha, now, json.dumps(options, ensure_ascii=False)),
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


def _import_one(
    db: BulkConnection,
    path: Path,
    options: _Options,
    rejects: RejectsFile,
    problems: list[Problem],
    summaries: list[FileSummary],
) -> None:
    """Import one file; its summary joins ``summaries`` as soon as it exists (so an interrupted run is known)."""
    started = time.perf_counter()
    enc = detect(path, options.encoding)
    fmt = detect_format(path, enc.codec, options.format)
    doc: Any = None
    if fmt == "json" or (fmt in NATIVE_JSON):
        doc = load_json(path, enc.codec)
        if options.format == "auto":
            fmt = detect_json_format(doc)
    if (fmt in NATIVE_JSON or fmt == "servicenow") and not options.spec.empty:
        raise InvalidInputError(f"{path}: --map applies to csv, json and jsonl; {fmt} exports have a fixed mapping")
    source = options.source or GENERIC_SOURCES.get(fmt, fmt)
    summary = FileSummary(path=str(path), format=fmt, source=source, encoding=enc.label)
    summaries.append(summary)
    run_options = {"encoding": enc.codec, "timezone": options.tz_name, "strict": options.strict}
    db.in_strict = options.strict
    if fmt == "csv":
        _import_csv(db, path, enc, options, rejects, problems, summary, run_options)
    elif fmt in ("json", "jsonl"):
        _import_generic_json(db, path, enc, doc, fmt, options, rejects, problems, summary, run_options)
    else:
        _import_native(db, path, enc, doc, fmt, options, rejects, problems, summary, run_options)
    if doc is not None and fmt != "servicenow":
        _save_threads(db, doc, fmt, summary, run_options, options)
    summary.seconds = time.perf_counter() - started


def _save_threads(
    db: BulkConnection, doc: Any, fmt: str, summary: FileSummary, run_options: dict[str, Any], options: _Options
) -> None:
    """The conversations the export carries (:mod:`butterfly.conversation.extract`), stored with their tickets."""
    from butterfly.importers.threads import native_records, save_threads, threads

    if fmt == "json":
        records = json_records(doc, Path(summary.path))
        id_column = (run_options.get("mapping") or {}).get("id")
        if not id_column:
            return
        ids = [str(_flatten(r).get(id_column, "")).strip() if isinstance(r, dict) else "" for r in records]
    else:
        records, ids = native_records(fmt, doc)
    summary.threads, summary.messages = save_threads(db, summary.source, threads(fmt, records, ids))
    if summary.threads and not options.strict:
        db.commit()


def _reject(
    rejects: RejectsFile, problems: list[Problem], summary: FileSummary, path: Path, line: int, reason: str
) -> None:
    summary.rejected += 1
    if len(problems) <= MAX_LISTED_PROBLEMS:
        problems.append(Problem(str(path), reason, line=line))


def _finish(db: BulkConnection, run: _Run, rejects: RejectsFile, options: _Options) -> None:
    summary = run.summary
    run.save(status="done", rejects_path=str(rejects.path) if summary.rejected else None)
    if not options.strict:
        db.commit()


def _write(
    db: BulkConnection,
    writer: TicketWriter,
    run: _Run,
    prepared: list[tuple[str, ...]],
    options: _Options,
) -> None:
    counts = writer.write(prepared)
    _count(run.summary, counts)
    run.save()
    if not options.strict:
        db.commit()


def _count(summary: FileSummary, counts: Counts) -> None:
    summary.created += counts.created
    summary.updated += counts.updated
    summary.unchanged += counts.unchanged


def _import_csv(
    db: BulkConnection,
    path: Path,
    enc: Encoding,
    options: _Options,
    rejects: RejectsFile,
    problems: list[Problem],
    summary: FileSummary,
    run_options: dict[str, Any],
) -> None:
    reader = CsvFile(path, enc.codec)
    try:
        mapping = resolve(options.spec, reader.header, file=str(path))
        summary.mapping = mapping.rows()
        if options.on_mapping is not None:
            options.on_mapping(str(path), mapping, enc)
        run_options["mapping"] = mapping.columns
        rejects.start_source(path, codec=enc.codec, label=enc.label, header_lines=reader.header_lines)
        preparer = TabularPreparer(
            mapping=mapping, header=reader.header, source=summary.source, tz=options.tz, hash_salt=options.tz_name
        )
        run = _Run(db, summary, run_options, path)
        writer = TicketWriter(
            db,
            source=summary.source,
            fields=preparer.fields,
            import_id=run.id,
            imported_at=to_utc_text(utcnow()),
        )
        check_existing = writer.has_tickets()
        # a large first load into an empty SQLite table: one transaction that drops the secondary indexes and
        # builds them again at the end (sorting once costs a third of updating them row by row); a crash rolls
        # all of it back, indexes included
        initial_load = reader.size >= INITIAL_LOAD_BYTES and db.dialect == "sqlite" and writer.table_is_empty()
        if (
            initial_load
            and not options.strict
            and _load_columnar(db, path, enc, reader, preparer, writer, run, options)
        ):
            _finish(db, run, rejects, options)
            return
        deferred = writer.drop_secondary_indexes() if initial_load else []
        one_transaction = options.strict or initial_load
        uncommitted = 0
        for batch in reader.batches():
            summary.rows_read += len(batch.rows) + len(batch.broken)
            bad: list[tuple[int, int, str]] = list(batch.broken)
            fast = preparer.fast(batch.rows, writer.known_hashes if check_existing else None)
            if fast is not None:
                prepared, skipped = fast
                summary.unchanged += skipped
            else:

                def reject(i: int, reason: str, batch: CsvBatch = batch, bad: list[Any] = bad) -> None:
                    bad.append((*batch.lines_of(i), reason))

                prepared = preparer.slow(batch.rows, reject)
            _count(summary, writer.write(prepared))
            for first, last, reason in sorted(bad):
                rejects.add_lines(first, last, reason)
                _reject(rejects, problems, summary, path, first, reason)
            uncommitted += len(batch.rows) + len(batch.broken)
            if uncommitted >= COMMIT_RECORDS and not one_transaction:
                run.save()
                db.commit()
                uncommitted = 0
            if options.progress is not None:
                options.progress(str(path), batch.bytes_read, reader.size, summary.rows_read)
            del batch, prepared, bad  # before the next batch is read
        writer.create_indexes(deferred)
        _finish(db, run, rejects, options)
    finally:
        reader.close()


def _load_columnar(
    db: BulkConnection,
    path: Path,
    enc: Encoding,
    reader: CsvFile,
    preparer: TabularPreparer,
    writer: TicketWriter,
    run: _Run,
    options: _Options,
) -> bool:
    """The columnar first load (:mod:`butterfly.importers.columnar`); False: the file goes record by record."""
    summary = run.summary
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
            job = columnar.Job(
                path=str(path),
                database=str(database),
                delimiter=reader.delimiter,
                header=reader.header,
                mapping=preparer.mapping,
                source=preparer.source,
                tz=preparer.tz,
                hash_salt=preparer.hash_salt,
                upsert_sql=writer.sql,
                import_id=run.id,
                busy_timeout_ms=busy_timeout_ms,
                block_bytes=columnar.BLOCK_BYTES,
            )
            loaded = columnar.load_in_child(job, progress)
        except columnar.NotColumnar as exc:
            summary.note = str(exc)
            return False
    finally:
        db.reopen()
    summary.rows_read = loaded.records
    _count(summary, loaded.counts)
    summary.method = "columns"
    return True


# -- JSON ---------------------------------------------------------------------------------------------------

BATCH_RECORDS = 5_000


def _flatten(record: Any, prefix: str = "", out: dict[str, Any] | None = None) -> dict[str, Any]:
    """``{"a": {"b": 1}}`` -> ``{"a.b": 1}`` (lists stay values)."""
    out = {} if out is None else out
    if isinstance(record, dict):
        for key, value in record.items():
            name = f"{prefix}{key}"
            if isinstance(value, dict) and value:
                _flatten(value, name + ".", out)
            else:
                out[name] = value
    return out


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, list) and all(isinstance(v, str | int | float) for v in value):
        return json.dumps([str(v) for v in value], ensure_ascii=False)
    return json.dumps(value, ensure_ascii=False)


def _import_generic_json(
    db: BulkConnection,
    path: Path,
    enc: Encoding,
    doc: Any,
    fmt: str,
    options: _Options,
    rejects: RejectsFile,
    problems: list[Problem],
    summary: FileSummary,
    run_options: dict[str, Any],
) -> None:
    """JSON arrays and JSON Lines of flat or nested records, mapped like CSV columns (dotted paths)."""
    rejects.start_source(path, codec=enc.codec, label=enc.label, header_lines=None)
    items: Iterable[tuple[str, int | None, Any]]
    if fmt == "json":
        records = json_records(doc, path)
        items = ((f"record {i}", None, r) for i, r in enumerate(records, start=1))
        sample = [_flatten(r) for r in records[:1000] if isinstance(r, dict)]
    else:

        def parse_lines() -> Iterator[tuple[str, int | None, Any]]:
            for number, text in jsonl_lines(path, enc.codec):
                try:
                    yield f"line {number}", number, json.loads(text)
                except json.JSONDecodeError as exc:
                    yield f"line {number}", number, _BadLine(f"not valid JSON: {exc.msg}")

        stream = parse_lines()
        head = list(islice(stream, 1000))  # the header is learnt from the first records; the rest streams
        items = chain(head, stream)
        sample = [_flatten(r) for _, _, r in head if isinstance(r, dict)]
    header: list[str] = []
    seen: set[str] = set()
    for flat in sample:
        for key in flat:
            if key not in seen:
                seen.add(key)
                header.append(key)
    if not header:
        raise InvalidInputError(f"{path}: no records with fields found")
    mapping = resolve(options.spec, header, file=str(path))
    summary.mapping = mapping.rows()
    if options.on_mapping is not None:
        options.on_mapping(str(path), mapping, enc)
    run_options["mapping"] = mapping.columns
    preparer = TabularPreparer(
        mapping=mapping, header=header, source=summary.source, tz=options.tz, hash_salt=options.tz_name
    )
    run = _Run(db, summary, run_options, path)
    writer = TicketWriter(
        db, source=summary.source, fields=preparer.fields, import_id=run.id, imported_at=to_utc_text(utcnow())
    )
    batch: list[tuple[str, ...]] = []
    seen_ids: list[str] = []
    for label, line, record in items:
        summary.rows_read += 1
        try:
            if isinstance(record, _BadLine):
                raise RecordProblem(record.reason)
            if not isinstance(record, dict):
                raise RecordProblem("not a JSON object")
            flat = _flatten(record)
            row = [_cell(flat.get(h)) for h in header]
            values = list(preparer.prepare_one(row))
            values[-2] = json.dumps(record, ensure_ascii=False)  # raw: the whole record
        except RecordProblem as exc:
            if line is not None:
                rejects.add_lines(line, line, str(exc))
            else:
                rejects.add_record(label, json.dumps(record, ensure_ascii=False), str(exc))
            _reject(rejects, problems, summary, path, line or 0, f"{label}: {exc}" if line is None else str(exc))
            continue
        batch.append(tuple(values))
        seen_ids.append(values[1])
        if len(batch) >= BATCH_RECORDS:
            _write(db, writer, run, last_of_each(batch, seen_ids), options)
            batch, seen_ids = [], []
    _write(db, writer, run, last_of_each(batch, seen_ids), options)
    _finish(db, run, rejects, options)


@dataclass
class _BadLine:
    reason: str


# -- native helpdesk exports --------------------------------------------------------------------------------


def _import_native(
    db: BulkConnection,
    path: Path,
    enc: Encoding,
    doc: Any,
    fmt: str,
    options: _Options,
    rejects: RejectsFile,
    problems: list[Problem],
    summary: FileSummary,
    run_options: dict[str, Any],
) -> None:
    """Zendesk, Freshdesk, Jira, GitHub (JSON) and ServiceNow (CSV event log): fixed mappings."""
    if fmt == "servicenow":
        records: Iterator[native.Converted] = servicenow.read(path, enc.codec, options.tz)
        rejects.start_source(path, codec=enc.codec, label=enc.label, header_lines=(1, 1))
    else:
        records = native.convert(fmt, doc, options.tz)
        rejects.start_source(path, codec=enc.codec, label=enc.label, header_lines=None)
    run = _Run(db, summary, run_options, path)
    writer = TicketWriter(db, source=summary.source, fields=FIELDS, import_id=run.id, imported_at=to_utc_text(utcnow()))
    prefix = f"{HASH_VERSION}\x1f{summary.source}\x1f{fmt}\x1f{options.tz_name}\x1e"
    batch: list[tuple[str, ...]] = []
    ids: list[str] = []
    for item in records:
        summary.rows_read += item.events
        if item.skip:
            summary.skipped += 1
            continue
        if item.problem is not None or item.values is None:
            reason = item.problem or "cannot be read"
            if item.lines is not None:
                rejects.add_lines(item.lines[0], item.lines[1], reason)
            else:
                rejects.add_record(item.label, item.raw, reason)
            _reject(rejects, problems, summary, path, item.lines[0] if item.lines else 0, f"{item.label}: {reason}")
            continue
        values = item.values
        row = [summary.source, *(values.get(f, "") or "" for f in FIELDS), item.raw]
        row.append(content_hash(prefix, [item.raw]))
        batch.append(tuple(row))
        ids.append(values["id"])
        if len(batch) >= BATCH_RECORDS:
            _write(db, writer, run, last_of_each(batch, ids), options)
            batch, ids = [], []
    _write(db, writer, run, last_of_each(batch, ids), options)
    _finish(db, run, rejects, options)
