"""``import_files``: the library entry behind ``butterfly import``.

For each file: detect its encoding and format, settle the column mapping (and show it through ``on_mapping``
before anything is written), then stream records through the preparer into the bulk writer, one transaction
per batch together with the import log's counters. Records that cannot be imported go to the rejects file.
With ``strict=True`` every file is imported in one transaction that is rolled back if anything was rejected.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from butterfly.errors import FileProblemsError, InvalidInputError, Problem
from butterfly.files import not_a_file_reason
from butterfly.importers import csv_import, json_import
from butterfly.importers.bulk import BulkConnection
from butterfly.importers.dateorder import DateOptions, check_format
from butterfly.importers.dates import zone
from butterfly.importers.encoding import detect
from butterfly.importers.jsonstream import open_json
from butterfly.importers.mapping import MappingSpec, parse_options
from butterfly.importers.rejects import RejectsFile, default_path
from butterfly.importers.runlog import (
    MAX_LISTED_PROBLEMS,
    FileImport,
    FileSummary,
    ImportOptions,
    OnMapping,
    Progress,
)
from butterfly.importers.sources import NATIVE_JSON, detect_format, detect_json_format
from butterfly.timeutil import utcnow

if TYPE_CHECKING:
    from sqlmodel import Session

    from butterfly.importers.messages import MessagesFile

GENERIC_SOURCES = {"csv": "csv", "json": "json", "jsonl": "json"}


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
    date_order: str | None = None,
    date_format: str | None = None,
    delimiter: str | None = None,
    id_from_row: bool = False,
    messages: Sequence[Path | str] = (),
    on_indexes: Callable[[str], None] | None = None,
) -> ImportSummary:
    """Import ticket exports into the database of ``session``; see the module docstring.

    ``mapping``: ``--map`` values (``field=column`` or mapping files) or a :class:`MappingSpec`.
    ``date_order``: ``dmy`` or ``mdy`` for every date column; ``date_format``: a :meth:`datetime.strptime` format
    for every date column (both override the mapping file's). ``delimiter``: the CSV delimiter (default: sniffed).
    ``id_from_row``: make each record's id from its line number and content (for exports without an id column).
    ``messages``: files of conversations for the tickets of these files (:mod:`butterfly.importers.messages`),
    read after them. ``on_indexes(file)``: called when a first load of the record path starts building the indexes it
    deferred (seconds per million tickets after the last record is read).
    Raises InvalidInputError for an unreadable file, FileProblemsError when ``strict`` and a record was rejected.
    """
    spec = mapping if isinstance(mapping, MappingSpec) else parse_options(list(mapping or []))
    if source is not None and not source.strip():
        raise InvalidInputError("--source must not be empty")
    if source is not None and len(source) > 64:
        raise InvalidInputError("--source is longer than 64 characters")
    tz_name = timezone or spec.timezone or _settings_timezone()
    options = ImportOptions(
        format=format,
        source=source.strip() if source else None,
        spec=spec,
        encoding=encoding or spec.encoding,
        tz=zone(tz_name),
        tz_name=tz_name or "UTC",
        strict=strict,
        on_mapping=on_mapping,
        progress=progress,
        dates=_date_options(spec, date_order, date_format),
        delimiter=_check_delimiter(delimiter),
        id_from_row=id_from_row,
        messages=[Path(p) for p in messages],
        on_indexes=on_indexes,
    )
    files = [Path(p) for p in paths]
    if not files:
        raise InvalidInputError("no file to import")
    for path in [*files, *options.messages]:
        reason = not_a_file_reason(path, streams=False)
        if reason is not None:
            raise InvalidInputError(f"{path}: {reason}")
    checked: list[MessagesFile] = []
    if options.messages:
        from butterfly.importers.messages import check_file

        checked = [check_file(path, options.encoding) for path in options.messages]
    session.commit()  # the session must not hold a write lock while the bulk connection writes
    engine = session.get_bind()
    shared = Path(rejects) if rejects else None
    summaries: list[FileSummary] = []
    problems: list[Problem] = []
    db = BulkConnection(engine, tz=options.tz_name)
    rejects_files: list[RejectsFile] = []
    try:
        shared_file = RejectsFile(shared, devices=True) if shared else None
        for path in files:
            rejects_file = shared_file or RejectsFile(default_path(path))
            if rejects_file not in rejects_files:
                rejects_files.append(rejects_file)
            try:
                _import_one(db, path, options, rejects_file, problems, summaries)
            except RecursionError:  # json and nested records are walked recursively: thousands of [ or { levels
                raise InvalidInputError(f"{path}: nested too deeply to be a ticket export") from None
        if options.messages:
            _import_messages(db, checked, options, summaries, problems, shared_file, rejects_files)
        total_rejected = sum(s.rejected for s in summaries)
        duplicated = [s for s in summaries if s.duplicates]
        if strict and duplicated and not total_rejected:
            db.rollback()
            listed = [
                Problem(
                    s.path, f"{s.duplicates} record(s) repeat an id of an earlier record: {', '.join(s.duplicate_ids)}"
                )
                for s in duplicated
            ]
            error = FileProblemsError(", ".join(str(p) for p in files), listed)
            error.hint = "--strict: nothing was imported; without --strict the last record of each id wins"
            raise error
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


def _import_messages(
    db: BulkConnection,
    checked: list[MessagesFile],
    options: ImportOptions,
    summaries: list[FileSummary],
    problems: list[Problem],
    shared: RejectsFile | None,
    rejects_files: list[RejectsFile],
) -> None:
    """The ``--messages`` files (as :func:`~butterfly.importers.messages.check_file` found them), attached to the
    tickets of the source this command imported."""
    from butterfly.importers.messages import import_messages

    sources = {s.source for s in summaries}
    if options.source is None and len(sources) > 1:
        raise InvalidInputError(
            "--messages: the tickets come from several sources (" + ", ".join(sorted(sources)) + ")",
            hint="name the source of the tickets the messages belong to with --source",
        )
    source = options.source or next(iter(sources))
    for messages_file in checked:
        rejects_file = shared or RejectsFile(default_path(messages_file.path))
        if rejects_file not in rejects_files:
            rejects_files.append(rejects_file)
        import_messages(db, messages_file, source, options, rejects_file, problems, summaries)


def _date_options(spec: MappingSpec, order: str | None, fmt: str | None) -> DateOptions:
    """The command line's --day-first/--month-first/--date-format over the mapping file's date settings."""
    if order is not None and order not in ("dmy", "mdy"):
        raise InvalidInputError(f"unknown date order '{order}'", hint="dmy (--day-first) or mdy (--month-first)")
    if order is None and fmt is None:
        return spec.dates
    return DateOptions(order=order, fmt=check_format(fmt) if fmt else None)


def _check_delimiter(delimiter: str | None) -> str | None:
    if delimiter is None:
        return None
    value = {"\\t": "\t", "tab": "\t", "TAB": "\t"}.get(delimiter, delimiter)
    if len(value) != 1 or value in ('"', "\r", "\n"):
        raise InvalidInputError(f"--delimiter '{delimiter}': expected one character (or tab)")
    return value


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


def _import_one(
    db: BulkConnection,
    path: Path,
    options: ImportOptions,
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
        doc = open_json(path, enc.codec)  # streamed record by record when it can be
        if options.format == "auto":
            fmt = detect_json_format(doc.shape())
    if (fmt in NATIVE_JSON or fmt == "servicenow") and not options.spec.empty:
        raise InvalidInputError(f"{path}: --map applies to csv, json and jsonl; {fmt} exports have a fixed mapping")
    source = options.source or GENERIC_SOURCES.get(fmt, fmt)
    summary = FileSummary(path=str(path), format=fmt, source=source, encoding=enc.label)
    summaries.append(summary)
    run_options = {"encoding": enc.codec, "timezone": options.tz_name, "strict": options.strict}
    db.in_strict = options.strict
    job = FileImport(db, path, enc, fmt, options, rejects, problems, summary, run_options, doc)
    if fmt == "csv":
        csv_import.import_csv(job)
    elif fmt in ("json", "jsonl"):
        json_import.import_generic_json(job)
    else:
        json_import.import_native(job)
    summary.seconds = time.perf_counter() - started
