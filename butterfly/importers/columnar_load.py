"""The columnar load itself, run in the load process (:mod:`butterfly.importers.columnar`): one transaction on an
ADBC connection that drops the secondary indexes, binds each prepared Arrow batch to the record path's UPSERT while
the reading thread (:mod:`butterfly.importers.columnar_read`) prepares the next, builds the indexes again and
commits only when the importing process confirms."""

from __future__ import annotations

import queue
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import tzinfo
from pathlib import Path
from typing import Any
from urllib.parse import quote

try:  # the fast-import extra; columnar.unavailable() says when it is missing
    import adbc_driver_sqlite.dbapi as adbc
    import pyarrow as pa
except ImportError:
    pass

from butterfly.importers.bulk import INDEX_CACHE_KB, SORTER_THREADS, SQLITE_CACHE_KB, Counts, drop_secondary_indexes
from butterfly.importers.columnar_read import BLOCK_BYTES, NotColumnar, Plan, read_batches, results, unblock
from butterfly.importers.dateorder import DateRule
from butterfly.importers.mapping import Mapping
from butterfly.importers.prepare import TabularPreparer

QUEUE_BATCHES = 2  # prepared batches waiting for the writer


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
    date_rules: dict[str, DateRule]
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


def _release_arrow_memory() -> None:
    pa.default_memory_pool().release_unused()


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
        mapping=job.mapping,
        header=job.header,
        source=job.source,
        tz=job.tz,
        hash_salt=job.hash_salt,
        date_rules=job.date_rules,
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
        plan = Plan(preparer)
        thread = threading.Thread(
            target=read_batches,
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
        for batch, bytes_read in results(out):
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
        # sorting each index: a small page cache and a helper thread (see butterfly.importers.bulk)
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
            unblock(out, stop)
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
