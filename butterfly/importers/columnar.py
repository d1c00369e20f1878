"""The first load of a large CSV export into an empty SQLite ticket table, column by column.

A million records through Python one at a time cost about 30 s, six times ``sqlite3 .import`` of the same file.
Here the work runs in C, on both cores:

* Arrow's CSV reader parses blocks of the file on its thread pool;
* each column is converted with Arrow compute kernels (ids trimmed, ISO 8601 times to canonical UTC text);
  statuses and tags go through the record path's own converters once per distinct value, and so do times
  Arrow does not read (other formats; times without a zone when the import's zone is not UTC);
* ADBC's SQLite driver binds each record batch, in C, to the same UPSERT the record path uses
  (:class:`~butterfly.importers.bulk.TicketWriter`), while a second thread prepares the next batch.

The load is one transaction that drops the ticket table's secondary indexes and builds them at the end. When no
other connection has the database open it runs in rollback-journal mode (each page is written once, instead of
to the WAL and again at the checkpoint) and switches back to WAL afterwards; otherwise it stays in WAL mode.

Only the plain case is taken. Anything that needs a closer look raises :class:`NotColumnar` after rolling back
(a record of the wrong width, a missing id, an unknown status, a time no converter reads, quoting the strict
reader would refuse, a NUL byte, bytes that are not UTF-8, any database error), and the caller imports the file
record by record, which names each bad record by its line. Content hashes are the record path's, so a later
import of the same export finds every ticket unchanged whichever path it takes.

The work runs in a process of its own (:func:`load_in_child`; see the note above :func:`load_in_child` on why).
Before starting it, the importing process closes its own pooled connections
(:meth:`~butterfly.importers.bulk.BulkConnection.release`): SQLite leaves WAL mode only when no other connection
has the file open.
"""

from __future__ import annotations

import importlib.util
import io
import json
import os
import pickle
import queue
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, tzinfo
from pathlib import Path
from typing import Any
from urllib.parse import quote

import adbc_driver_sqlite.dbapi as adbc
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv

from butterfly.importers.bulk import SQLITE_CACHE_KB, Counts, drop_secondary_indexes
from butterfly.importers.dates import canonical
from butterfly.importers.fields import DATE_FIELDS
from butterfly.importers.mapping import Mapping
from butterfly.importers.prepare import US, TabularPreparer, digests

BLOCK_BYTES = 1 << 20  # Arrow parses the file in blocks of this size (memory stays flat with the file size)
QUEUE_BATCHES = 2  # prepared batches waiting for the writer
INDEX_CACHE_KB = 2000  # SQLite's default page cache, while the deferred indexes are built
SORTER_THREADS = 2  # helper threads SQLite's sorter may use for CREATE INDEX
CODECS = ("utf-8", "utf-8-sig")

# a time Arrow converts exactly as dates.canonical does: ISO 8601 to the second, with a zone (Z, ±HH:MM, ±HHMM)
# or, when the import's zone is UTC, without. The pattern only admits days that exist (Arrow's strptime would roll
# 30 February over into March); 29 February goes to canonical() like every other time the pattern leaves out.
_DAY = r"(?:(?:0[13578]|1[02])-(?:0[1-9]|[12]\d|3[01])|(?:0[469]|11)-(?:0[1-9]|[12]\d|30)|02-(?:0[1-9]|1\d|2[0-8]))"
_TIME = r"[T ](?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d"
_ZONED = rf"^[1-9]\d{{3}}-{_DAY}{_TIME}(?:Z|[+-](?:[01]\d|2[0-3]):?[0-5]\d)$"
_NAIVE = rf"^[1-9]\d{{3}}-{_DAY}{_TIME}$"
_ISO_ZONED = "%Y-%m-%dT%H:%M:%S%z"
_ISO_NAIVE = "%Y-%m-%dT%H:%M:%S"
# a quote in the middle of unquoted text, or text right after a closing quote: the strict reader refuses
# `"abc"def` where Arrow would read `abcdef` (it also flags `5" screen`, which then goes record by record)
_MID_QUOTE = rb'"(?<=[^"\r\n%s]")(?=[^"\r\n%s])'


class NotColumnar(Exception):
    """Why the file goes record by record instead."""


def unavailable() -> str | None:
    """Why the columnar load cannot run here (its libraries are missing), or ``None``. Imports nothing."""
    missing = [name for name in ("pyarrow", "adbc_driver_sqlite") if importlib.util.find_spec(name) is None]
    if missing:
        return f"the columnar load needs pyarrow and adbc-driver-sqlite ({', '.join(missing)} not installed)"
    return None


@dataclass
class Job:
    """Everything the load process needs (sent to it pickled on its standard input)."""

    path: str
    database: str
    delimiter: str
    header: list[str]
    mapping: Mapping
    source: str
    tz: tzinfo
    hash_salt: str
    upsert_sql: str
    import_id: int
    busy_timeout_ms: int
    block_bytes: int = BLOCK_BYTES


@dataclass
class Loaded:
    """What a columnar load wrote."""

    records: int
    counts: Counts
    journal: str  # the journal mode the load ran in: "delete" or "wal"


class _CheckedFile(io.RawIOBase):
    """The export as Arrow reads it: counts bytes (progress) and stops at quoting or bytes the record path
    would refuse."""

    def __init__(self, path: Path, delimiter: str) -> None:
        self._handle = path.open("rb")
        d = re.escape(delimiter.encode())
        self._mid_quote = re.compile(_MID_QUOTE.replace(b"%s", d))
        self._tail = b""
        self.count = 0
        self.problem: str | None = None

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        n = self._handle.readinto(buffer) or 0
        if n:
            chunk = self._tail + bytes(memoryview(buffer)[:n])
            if b"\x00" in chunk:
                self.problem = "a NUL byte"
            elif self._mid_quote.search(chunk):
                self.problem = 'a quote inside an unquoted field or text after a closing quote (e.g. "abc"def)'
            if self.problem:
                raise OSError(self.problem)
            self._tail = chunk[-2:]
            self.count += n
        return n

    def close(self) -> None:
        self._handle.close()
        super().close()


class _Plan:
    """How each Arrow record batch becomes the parameters of the writer's UPSERT."""

    def __init__(self, preparer: TabularPreparer) -> None:
        self.p = preparer
        self.prefix = preparer.prefix.encode("utf-8", "surrogatepass")
        self.utc = preparer.tz is UTC  # times without a zone are UTC: Arrow reads them too
        self._leftover_times: dict[str, str] = {}

        # Arrow scalars, not Python values: pyarrow converts a Python value on every call (and tries to import
        # pandas each time when it is not installed)
        self.empty = pa.scalar("", pa.string())
        self.null = pa.scalar(None, pa.string())

    def prepare(self, batch: Any) -> Any:
        p = self.p
        columns = batch.columns
        n = batch.num_rows
        out: list[Any] = [pa.array([p.source] * n, pa.string())]
        for f, index in zip(p.fields, p.indexes, strict=True):
            column = columns[index]
            if f == "id":
                column = pc.utf8_trim_whitespace(column)
                if pc.any(pc.equal(column, self.empty)).as_py():
                    raise NotColumnar("a record has no id")
            elif f == "status":
                column = self._per_value(column, p.status_of.__getitem__, "an unknown status")
            elif f == "tags":
                column = self._per_value(column, p.tags_json_of.__getitem__, "tags")
            elif f in DATE_FIELDS:
                column = self._times(column, f)
            out.append(column)
        out.append(self._raw(columns))
        out.append(pa.array(self._hashes(columns), pa.string()))
        return pa.RecordBatch.from_arrays(out, names=[f"p{i}" for i in range(1, len(out) + 1)])

    def _hashes(self, columns: list[Any]) -> list[str]:
        """The record path's content hash of each record: blake2b of the prefix and the fields joined by US."""
        joined = pc.binary_join_element_wise(*columns, pa.scalar(US, pa.string())).cast(pa.binary())
        return digests(map(self.prefix.__add__, joined.to_pylist()))

    @staticmethod
    def _per_value(column: Any, convert: Callable[[str], str | None], what: str) -> Any:
        """``convert`` once per distinct value (statuses and tags repeat a lot)."""
        encoded = column.dictionary_encode()
        values = [convert(v) for v in encoded.dictionary.to_pylist()]
        if None in values:
            raise NotColumnar(what)
        return pc.take(pa.array(values, pa.string()), encoded.indices)

    def _times(self, column: Any, field: str) -> Any:
        """Canonical UTC text: Arrow for ISO 8601 to the second, :func:`canonical` for anything else."""
        iso = pc.utf8_replace_slice(column, 10, 11, "T")  # "YYYY-MM-DD HH…" as "YYYY-MM-DDTHH…"
        zoned = pc.match_substring_regex(column, _ZONED)
        parsed = pc.strptime(iso, format=_ISO_ZONED, unit="us", error_is_null=True)
        result = pc.if_else(zoned, _as_text(parsed), self.null)
        if self.utc and pc.any(pc.and_(pc.invert(zoned), pc.not_equal(column, self.empty))).as_py():
            naive = pc.match_substring_regex(column, _NAIVE)
            local = pc.strptime(iso, format=_ISO_NAIVE, unit="us", error_is_null=True)
            result = pc.if_else(naive, _as_text(local), result)
        leftover = pc.and_(pc.is_null(result), pc.not_equal(column, self.empty))
        if pc.any(leftover).as_py():
            memo = self._leftover_times
            if len(memo) > 200_000:
                memo.clear()
            converted = []
            for value in pc.filter(column, leftover).to_pylist():
                text = memo.get(value)
                if text is None:
                    try:
                        text = canonical(value, self.p.tz)
                    except ValueError as exc:
                        raise NotColumnar(f"{field}: {exc}") from None
                    memo[value] = text
                converted.append(text)
            result = pc.replace_with_mask(result, leftover, pa.array(converted, pa.string()))
        return pc.fill_null(result, self.empty)

    def _raw(self, columns: list[Any]) -> Any:
        """The unmapped columns of each record as JSON (``''`` when all are empty), as the record path writes."""
        n = len(columns[0]) if columns else 0
        if not self.p.extra:
            return pa.array([""] * n, pa.string())
        values = [columns[i].to_pylist() for i, _ in self.p.extra]
        raws = [self.p.raw_json(row) if any(row) else "" for row in zip(*values, strict=True)]
        return pa.array(raws, pa.string())


def _as_text(timestamps: Any) -> Any:
    """``timestamp[us]`` (zone or not) as ``YYYY-MM-DD HH:MM:SS.ffffff`` of its UTC value."""
    return timestamps.cast(pa.int64()).cast(pa.timestamp("us")).cast(pa.string())


def _release_arrow_memory() -> None:
    pa.default_memory_pool().release_unused()


def _batches(
    path: Path,
    *,
    delimiter: str,
    width: int,
    plan: _Plan,
    stop: threading.Event,
    out: queue.Queue[Any],
    block_bytes: int = BLOCK_BYTES,
) -> None:
    """Thread: read and prepare record batches into ``out``; then ``None``, or the exception that stopped it."""
    source = _CheckedFile(path, delimiter)
    try:
        names = [f"c{i}" for i in range(width)]
        reader = pcsv.open_csv(
            source,
            read_options=pcsv.ReadOptions(block_size=block_bytes, use_threads=True, skip_rows=1, column_names=names),
            parse_options=pcsv.ParseOptions(delimiter=delimiter, newlines_in_values=True, ignore_empty_lines=True),
            convert_options=pcsv.ConvertOptions(
                check_utf8=True, strings_can_be_null=False, column_types=dict.fromkeys(names, pa.string())
            ),
        )
        for batch in reader:
            if stop.is_set():
                return
            prepared = plan.prepare(batch)
            _put(out, (prepared, source.count), stop)
        _put(out, None, stop)
    except BaseException as exc:  # handed to the writer thread, which raises it
        _put(out, _reason(exc, source.problem), stop)
    finally:
        source.close()


def _reason(exc: BaseException, problem: str | None) -> NotColumnar:
    if problem:
        return NotColumnar(problem)
    if isinstance(exc, NotColumnar):
        return exc
    first_line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return NotColumnar(f"Arrow: {first_line}")


def _put(out: queue.Queue[Any], item: Any, stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            out.put(item, timeout=0.2)
            return
        except queue.Full:
            continue


def _results(out: queue.Queue[Any], reader: threading.Thread) -> Iterator[tuple[Any, int]]:
    while True:
        try:
            item = out.get(timeout=0.5)
        except queue.Empty:
            if reader.is_alive():
                continue
            raise NotColumnar("the reading thread stopped") from None  # it always ends with None or a reason
        if item is None:
            return
        if isinstance(item, BaseException):
            raise item
        yield item


def load(
    job: Job,
    *,
    progress: Callable[[int, int], None] | None = None,
    wanted: Callable[[], bool] = lambda: True,
    confirm: Callable[[], bool] = lambda: True,
) -> Loaded:
    """Load ``job.path`` into the empty ticket table of the SQLite file ``job.database``; NotColumnar if it cannot.

    Runs in the load process (:func:`main`). ``progress(bytes_read, records)`` after each batch; ``wanted()`` is
    asked after each batch (False: the process that asked for the load is gone, roll back); ``confirm()`` right
    before the commit (False: roll back). The import log row ``job.import_id`` gets its counters in the same
    transaction as the tickets.
    """
    preparer = TabularPreparer(
        mapping=job.mapping, header=job.header, source=job.source, tz=job.tz, hash_salt=job.hash_salt
    )
    uri = f"file:{quote(str(Path(job.database).resolve()))}?mode=rw"
    try:
        conn = adbc.connect(uri, autocommit=True)
    except Exception as exc:
        raise NotColumnar(f"cannot open the database with ADBC: {exc}") from None
    cursor = conn.cursor()
    journal = "wal"
    stop = threading.Event()
    thread: threading.Thread | None = None
    try:

        def run(sql: str, params: Any = None) -> Any:
            cursor.execute(sql, params)
            return cursor.fetchall() if cursor.description else None

        run(f"PRAGMA busy_timeout = {int(job.busy_timeout_ms)}")
        run("PRAGMA foreign_keys = OFF")  # as BulkConnection: the load writes tickets of its own import_run only
        run("PRAGMA synchronous = NORMAL")
        run(f"PRAGMA cache_size = -{SQLITE_CACHE_KB // 2}")
        try:
            journal = str(run("PRAGMA journal_mode = DELETE")[0][0]).lower()  # works only while no one else is in
        except Exception:
            journal = "wal"
        run("BEGIN IMMEDIATE")
        if run("SELECT 1 FROM ticket LIMIT 1"):
            raise NotColumnar("the ticket table is no longer empty")
        deferred = drop_secondary_indexes(run)
        changes_before = int(run("SELECT total_changes()")[0][0])
        out: queue.Queue[Any] = queue.Queue(maxsize=QUEUE_BATCHES)
        plan = _Plan(preparer)
        thread = threading.Thread(
            target=_batches,
            kwargs={
                "path": Path(job.path),
                "delimiter": job.delimiter,
                "block_bytes": job.block_bytes,
                "width": preparer.width,
                "plan": plan,
                "stop": stop,
                "out": out,
            },
            name="butterfly-columnar",
            daemon=True,
        )
        thread.start()
        records = 0
        for batch, bytes_read in _results(out, thread):
            cursor.executemany(job.upsert_sql, batch)
            records += batch.num_rows
            if progress is not None:
                progress(bytes_read, records)
            if not wanted():
                raise NotColumnar("the importing process is gone")
        thread.join()
        changed = int(run("SELECT total_changes()")[0][0]) - changes_before
        created = int(run("SELECT count(*) FROM ticket")[0][0])
        _release_arrow_memory()
        # sorting each index: a small page cache is faster here (measured 2.9 s with 2 MB, 4.5 s with 32 MB, for
        # three indexes on a million tickets), and a helper thread sorts alongside (2.0 s)
        run(f"PRAGMA cache_size = -{INDEX_CACHE_KB}")
        run(f"PRAGMA threads = {SORTER_THREADS}")
        for sql in deferred:
            run(sql)
        counts = Counts(created=created, updated=changed - created, unchanged=records - changed)
        run(
            "UPDATE import_run SET rows_read = ?, created = ?, updated = ?, unchanged = ? WHERE id = ?",
            (records, counts.created, counts.updated, counts.unchanged, int(job.import_id)),
        )
        if not confirm():
            raise NotColumnar("the importing process did not confirm the commit")
        run("COMMIT")
        return Loaded(records=records, counts=counts, journal=journal)
    except BaseException as exc:
        if isinstance(exc, KeyboardInterrupt) and threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not stop the rollback
        stop.set()
        try:
            cursor.execute("ROLLBACK")
        except Exception:
            pass  # not in a transaction, or SQLite rolled back already (a full disk)
        if thread is not None:
            thread.join()
        if isinstance(exc, NotColumnar | KeyboardInterrupt | SystemExit):
            raise
        if isinstance(exc, Exception):
            raise NotColumnar(f"database: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from None
        raise
    finally:
        try:
            if journal == "delete":
                cursor.execute("PRAGMA journal_mode = WAL")
                cursor.fetchall()
        except Exception:
            pass  # the next connection butterfly opens sets WAL again
        cursor.close()
        conn.close()


# -- the load process ---------------------------------------------------------------------------------------
#
# The ADBC driver carries its own copy of SQLite. Two copies of SQLite in one process must not have the same file
# open (POSIX locks belong to the process: closing the file in one copy drops the locks of the other, and each
# copy takes the other's connections for its own, so it may checkpoint and delete a WAL still in use). So the
# load runs in a process of its own, which only ever opens the database through ADBC; the importing process
# keeps its SQLAlchemy connections and talks to it over pipes: the job pickled on standard input, progress and
# the result as lines on standard output.


def load_in_child(job: Job, progress: Callable[[int, int], None] | None = None) -> Loaded:
    """Run :func:`load` for ``job`` in a new Python process; NotColumnar if it cannot take the file.

    The load process asks before it commits (a ``ready`` line; ``commit`` back on its stdin), so the commit never
    races a Ctrl-C here: KeyboardInterrupt closes its stdin and passes SIGINT on, it rolls back, and the
    KeyboardInterrupt is raised again. A killed importer closes the pipe too: the load process rolls back.
    """
    command = [sys.executable, "-m", "butterfly.importers.columnar"]
    process = subprocess.Popen(  # a fixed command: the job travels on stdin, never on a command line
        command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert process.stdin is not None and process.stdout is not None
    result: Loaded | None = None
    reason: str | None = None
    try:
        try:
            process.stdin.write(pickle.dumps(job))
            process.stdin.flush()
        except BrokenPipeError:
            pass  # the process failed at start-up: its exit status and stderr tell why
        for raw in process.stdout:
            kind, _, rest = raw.decode("utf-8", "replace").rstrip("\n").partition("\t")
            if kind == "progress" and progress is not None:
                done, records = rest.split("\t")
                progress(int(done), int(records))
            elif kind == "ready":
                try:
                    process.stdin.write(b"commit\n")
                    process.stdin.flush()
                except BrokenPipeError:
                    pass  # it died after asking: its exit status says so
            elif kind == "done":
                data = json.loads(rest)
                result = Loaded(records=data["records"], counts=Counts(**data["counts"]), journal=data["journal"])
            elif kind == "not":
                reason = rest
        stderr = process.stderr.read().decode("utf-8", "replace") if process.stderr else ""
        code = process.wait()
    except BaseException:
        _close_quietly(process.stdin)  # no commit now
        if process.poll() is None:
            process.send_signal(signal.SIGINT)  # roll back (a terminal's Ctrl-C reached it already: no harm)
            try:
                process.wait(timeout=120)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        raise
    finally:
        for stream in (process.stdin, process.stdout, process.stderr):
            _close_quietly(stream)
    if result is not None and code == 0:
        return result
    if code == 130:
        raise KeyboardInterrupt
    if reason is None:
        last = stderr.strip().splitlines()[-1] if stderr.strip() else f"exit status {code}"
        reason = f"the load process failed: {last}"
    raise NotColumnar(reason)


def _close_quietly(stream: Any) -> None:
    try:
        if stream is not None:
            stream.close()
    except OSError:
        pass  # a pipe whose reader is gone


def main() -> int:
    """The load process: a pickled :class:`Job` on stdin; ``progress``, then ``done`` or ``not`` lines on stdout."""
    job = pickle.load(sys.stdin.buffer)  # from the importing process, through a pipe it opened
    parent = os.getppid()

    def say(*fields: object) -> None:
        try:
            sys.stdout.write("\t".join(str(f).replace("\n", " ").replace("\t", " ") for f in fields) + "\n")
            sys.stdout.flush()
        except BrokenPipeError:  # the importing process is gone; wanted() says so at the next batch
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())

    def wanted() -> bool:
        return os.getppid() == parent  # re-parented: the importing process was killed

    def confirm() -> bool:
        say("ready")
        return sys.stdin.buffer.readline() == b"commit\n" and wanted()  # end of file: the importer is gone

    try:
        loaded = load(
            job, progress=lambda done, records: say("progress", done, records), wanted=wanted, confirm=confirm
        )
    except NotColumnar as exc:
        say("not", exc)
        return 3
    except KeyboardInterrupt:
        return 130
    counts = {"created": loaded.counts.created, "updated": loaded.counts.updated, "unchanged": loaded.counts.unchanged}
    say("done", json.dumps({"records": loaded.records, "counts": counts, "journal": loaded.journal}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
