"""The fast write path: prepared rows straight into the ``ticket`` table, one transaction per batch.

The ORM is far too slow for a million rows (one Python object per row). Here a batch of prepared rows goes to
the database in one statement — SQLite ``executemany`` of an UPSERT, PostgreSQL ``COPY`` into a staging table
and one ``INSERT … SELECT … ON CONFLICT`` — and the database converts text to NULLs, timestamps to UTC, and
leaves a row alone when its ``content_hash`` did not change.

A prepared row is a tuple of text: the source, then one value per provided field (in
:data:`~butterfly.importers.fields.FIELDS` order; ``''`` means empty), then the raw JSON (or ``''``) and the
content hash. Tags are JSON text; the status is butterfly's (or ``''`` to derive it from the dates); a date is
canonical UTC text ``YYYY-MM-DD HH:MM:SS.ffffff`` (:func:`butterfly.importers.dates.to_utc_text`) — converted in
Python, because SQLite's own date functions cost more per value than Python's.

Each batch commits together with the import log's counters, so a crash leaves whole batches and the
re-run's UPSERT completes the job without duplicates.
"""

from __future__ import annotations

import contextlib
import json
import re
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import chain
from pathlib import Path
from typing import Any

from butterfly.importers import staging
from butterfly.importers.fields import BOOL_FIELDS, DATE_FIELDS, FIELD_COLUMNS, INT_FIELDS
from butterfly.importers.staging import StagedRows, StageStatements


@dataclass
class Counts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0

    def add(self, other: Counts) -> None:
        self.created += other.created
        self.updated += other.updated
        self.unchanged += other.unchanged


def _sqlite_date(p: str) -> str:
    return f"NULLIF({p}, '')"


def _pg_date(p: str) -> str:
    return f"NULLIF({p}, '')::timestamptz"


_NULLIF = re.compile(r"NULLIF\(\?(\d+), ''\)")


def _bare_param(expr: str, offset: int, bare: frozenset[int]) -> str:
    """``NULLIF(?k, '')`` as ``?k`` when the value at position ``k - 1 - offset`` of its row is in ``bare``."""
    m = _NULLIF.fullmatch(expr)
    return f"?{m.group(1)}" if m and int(m.group(1)) - 1 - offset in bare else expr


def _derived_status(date_sql: dict[str, str]) -> str:
    """The status when there is none: closed if there is a close time, resolved if a resolve time, else open (also
    when the export has no status and no date column at all)."""
    whens = [f"WHEN {date_sql[f]} IS NOT NULL THEN '{f}'" for f in ("closed", "resolved") if f in date_sql]
    return f"CASE {' '.join(whens)} ELSE 'open' END" if whens else "'open'"


SQLITE_CACHE_KB = 64 * 1024  # page cache of the import's connection
# ... in a first load into an empty table (no secondary indexes until the end): its pages are new ones written once,
# so a larger cache only holds them longer (1M rows, in id order or shuffled: as fast as with 64 MB, 50 MB less)
FIRST_LOAD_CACHE_KB = 16 * 1024
# rows per SQLite INSERT statement: at most 29 parameters a row, so 32 rows stay under 999 parameters (the limit of
# SQLite before 3.32)
ROWS_PER_INSERT = 32
SQLITE_CHECKPOINT_PAGES = 20_000  # checkpoint the WAL every ~80 MB instead of every 4 MB
# building the deferred indexes of a first load: a small page cache sorts faster (measured 2.9 s with 2 MB, 4.5 s
# with 32 MB, for three indexes on a million tickets), and a helper thread sorts alongside (2.0 s)
INDEX_CACHE_KB = 2000  # SQLite's default page cache
SORTER_THREADS = 2  # helper threads SQLite's sorter may use for CREATE INDEX


def drop_secondary_indexes(run: Callable[[str], Any]) -> list[str]:
    """Drop the SQLite ticket table's non-unique indexes through ``run(sql)`` (which returns a query's rows) on any
    connection, pysqlite or ADBC; the SQL that creates them again."""
    dropped = []
    for name, sql in run(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'ticket' AND sql IS NOT NULL"
    ):
        if sql.lstrip().upper().startswith("CREATE UNIQUE"):
            continue  # the UPSERT needs the unique key
        run(f'DROP INDEX "{name}"')
        dropped.append(sql)
    return dropped


class BulkConnection:
    """One DBAPI connection for an import, with explicit transactions (a batch = one transaction)."""

    def __init__(self, engine: Any, *, tz: str) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name
        self.tz = tz
        self.in_tx = False
        self.in_strict = False  # one transaction for the whole import (no commit per batch)
        self.journal_switched = False  # SQLite: in rollback-journal mode for a first load (see rollback_journal)
        self.staging = False  # SQLite: a schema is attached for staged rows (see _open)
        self._open()

    def _open(self) -> None:
        self._raw: Any = self.engine.raw_connection()
        self.conn: Any = self._raw.driver_connection
        if self.dialect == "sqlite":
            self._saved_isolation = self.conn.isolation_level
            self.conn.isolation_level = None  # explicit BEGIN/COMMIT
            # Foreign keys: the import only writes tickets that point at its own import_run row and never changes
            # a ticket's id, so the per-row checks (ticket is the parent of reviews and action items) can be
            # skipped: they cost as much as the rest of the insert.
            self.conn.execute("PRAGMA foreign_keys = OFF")
            self.conn.execute(f"PRAGMA cache_size = -{SQLITE_CACHE_KB}")
            self.conn.execute(f"PRAGMA wal_autocheckpoint = {SQLITE_CHECKPOINT_PAGES}")
            # where rows staged by a worker process are loaded (TicketWriter.write): attached now, since SQLite
            # attaches nothing inside a transaction; an empty in-memory database until an image comes
            self.staging = staging.available()
            if self.staging:
                self.conn.execute(f"ATTACH DATABASE ':memory:' AS {staging.STAGE_SCHEMA}")

    def release(self) -> None:
        """Close this connection and the engine's pooled ones (the columnar load runs faster when no other
        connection has the file open: see :mod:`butterfly.importers.columnar`). :meth:`reopen` afterwards."""
        self.commit()
        self.close()
        self.engine.dispose()

    def reopen(self) -> None:
        self.in_tx = False
        self._open()

    def rollback_journal(self) -> bool:
        """SQLite, outside ``--strict``: reopen alone and switch the file to rollback-journal mode for a first load
        into an empty table, as the columnar load does (in WAL mode every page of the load is written twice,
        to the WAL and again by the checkpoint; a new page of the file needs no journal at all). A kill still
        leaves whole transactions: SQLite rolls a hot journal back when the file is next opened. It works only
        while no other connection has the file open (True if it did); :meth:`wal_again` (or :meth:`close`)
        switches back."""
        if self.dialect != "sqlite" or self.in_strict or self.journal_switched:
            return False
        database = self.engine.url.database
        if not database or database == ":memory:" or database.startswith("file:") or not Path(database).is_file():
            return False  # only a file reopens with its data: releasing an in-memory database would drop it
        self.release()
        self.reopen()
        try:
            mode = str(self.conn.execute("PRAGMA main.journal_mode = DELETE").fetchone()[0]).lower()
        except Exception:  # another connection has the file open (a reader, another butterfly): stay in WAL
            return False
        self.journal_switched = mode == "delete"
        return self.journal_switched

    def wal_again(self) -> None:
        """Back to WAL mode after :meth:`rollback_journal` (outside a transaction: call after a commit)."""
        if not self.journal_switched or self.in_tx:
            return
        try:
            self.conn.execute("PRAGMA main.journal_mode = WAL")
        except Exception:
            pass  # the next connection butterfly opens sets WAL again
        self.journal_switched = False

    def begin(self) -> None:
        if self.in_tx:
            return
        if self.dialect == "sqlite":
            self.conn.execute("BEGIN IMMEDIATE")
        else:
            self.conn.execute("SELECT set_config('TimeZone', 'UTC', true)")  # canonical times are UTC
        self.in_tx = True

    def commit(self) -> None:
        if self.in_tx:
            if self.dialect == "sqlite":
                self.conn.execute("COMMIT")
            else:
                self.conn.commit()
            self.in_tx = False

    def rollback(self) -> None:
        if self.in_tx:
            if self.dialect == "sqlite":
                if self.conn.in_transaction:  # SQLite has already rolled back after a full disk or an I/O error
                    self.conn.execute("ROLLBACK")
            else:
                try:
                    self.conn.rollback()
                except Exception:
                    if not getattr(self.conn, "broken", False):
                        raise  # a lost connection's transaction died with it; anything else is news
            self.in_tx = False

    def close(self) -> None:
        try:
            self.rollback()
        finally:
            if self.dialect == "sqlite":
                self.wal_again()
                self.conn.execute("PRAGMA cache_size = -2000")
                self.conn.execute("PRAGMA wal_autocheckpoint = 1000")
                self.conn.execute("PRAGMA foreign_keys = ON")
                if self.staging:
                    self.conn.execute(f"DETACH DATABASE {staging.STAGE_SCHEMA}")
                self.conn.isolation_level = self._saved_isolation
            self._raw.close()

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        """A statement in the current transaction; ``?`` placeholders (turned into ``%s`` for PostgreSQL)."""
        self.begin()
        if self.dialect == "sqlite":
            return self.conn.execute(sql, params)
        return self.conn.execute(sql.replace("?", "%s"), params)


class TicketWriter:
    """Writes batches of prepared rows of one file; ``fields`` says which ticket fields the rows carry."""

    def __init__(
        self, db: BulkConnection, *, source: str, fields: Sequence[str], import_id: int, imported_at: str
    ) -> None:
        self.db = db
        self.source = source
        self.dialect = db.dialect
        self.fields = [f for f in FIELD_COLUMNS if f in fields]
        self.import_id = int(import_id)
        self.imported_at = imported_at
        self.sql = self._sqlite_sql() if self.dialect == "sqlite" else self._pg_sql()
        self.sql_rows = self._sqlite_sql(ROWS_PER_INSERT) if self.dialect == "sqlite" else ""
        self.last_before = 0  # SQLite: the largest ticket id before the last batch was written
        self.staged_sql = self._staged_sql() if self.dialect == "sqlite" else ""

    # -- SQL ----------------------------------------------------------------------------------------------

    def _columns(self) -> list[str]:
        cols = ["source", *(FIELD_COLUMNS[f] for f in self.fields)]
        if "status" not in self.fields:
            cols.append("status")
        if "tags" not in self.fields:
            cols.append("tags")
        return [*cols, "raw", "content_hash", "imported_at", "import_id"]

    def _value_exprs(self, params: list[str], date_fn: Any, json_cast: str) -> tuple[list[str], dict[str, str]]:
        exprs = [params[0]]
        dates = {f: date_fn(params[i + 1]) for i, f in enumerate(self.fields) if f in DATE_FIELDS}
        status_sql = _derived_status(dates)
        for i, f in enumerate(self.fields):
            p = params[i + 1]
            if f in DATE_FIELDS:
                exprs.append(dates[f])
            elif f == "tags":
                exprs.append(f"coalesce(NULLIF({p}, ''), '[]'){json_cast}")
            elif f == "status":
                exprs.append(f"coalesce(NULLIF({p}, ''), {status_sql})")
            elif f in INT_FIELDS or f in BOOL_FIELDS:  # canonical text: digits, or '1'/'0'
                pg_type = "boolean" if f in BOOL_FIELDS else "integer"
                exprs.append(f"NULLIF({p}, '')::{pg_type}" if json_cast else f"CAST(NULLIF({p}, '') AS INTEGER)")
            else:
                exprs.append(f"NULLIF({p}, '')")
        if "status" not in self.fields:
            exprs.append(status_sql)
        if "tags" not in self.fields:
            exprs.append(f"'[]'{json_cast}")
        n = len(self.fields)
        exprs += [
            f"NULLIF({params[n + 1]}, ''){json_cast}",
            params[n + 2],
            f"'{self.imported_at}'{'::timestamptz' if json_cast else ''}",
            str(self.import_id),
        ]
        return exprs, dates

    def _upsert_tail(self) -> str:
        cols = self._columns()
        updates = ", ".join(f"{c} = excluded.{c}" for c in cols if c not in ("source", "external_id"))
        return (
            f"ON CONFLICT (source, external_id) DO UPDATE SET {updates} "
            "WHERE ticket.content_hash <> excluded.content_hash"
        )

    def _sqlite_values(self, rows: int, *, stamped: bool = True, bare: frozenset[int] = frozenset()) -> str:
        """The VALUES of ``rows`` rows (their parameters one after the other); ``stamped``: with the import's time
        and id at the end of each row; ``bare``: the positions in a row whose value is bound as it is (an empty
        value comes as NULL already: see :meth:`stage_statements`)."""
        n = len(self.fields) + 3
        values = []
        for row in range(rows):
            params = [f"?{row * n + i}" for i in range(1, n + 1)]
            exprs, _ = self._value_exprs(params, _sqlite_date, "")
            if bare:
                exprs = [_bare_param(e, row * n, bare) for e in exprs]
            values.append(f"({', '.join(exprs if stamped else exprs[:-2])})")
        return f"VALUES {', '.join(values)}"

    def _nullif_positions(self) -> frozenset[int]:
        """The positions of a prepared row whose column is just the value, NULL when empty (most text columns)."""
        n = len(self.fields) + 3
        exprs, _ = self._value_exprs([f"?{i}" for i in range(1, n + 1)], _sqlite_date, "")
        return frozenset(int(m.group(1)) - 1 for e in exprs if (m := _NULLIF.fullmatch(e)))

    def _sqlite_sql(self, rows: int = 1) -> str:
        """The UPSERT of ``rows`` rows at a time (their values one after the other in the parameters)."""
        return f"INSERT INTO ticket ({', '.join(self._columns())}) {self._sqlite_values(rows)} " + self._upsert_tail()

    def stage_statements(self) -> StageStatements | None:
        """What a worker process runs to stage this writer's prepared rows (:mod:`butterfly.importers.staging`):
        the same expressions into a table of the same columns but the import's time and id; ``None`` where the
        rows cannot be staged (PostgreSQL, a ``sqlite3`` without database images)."""
        if self.dialect != "sqlite" or not staging.available():
            return None
        columns = ", ".join(self._columns()[:-2])
        table = staging.STAGE_TABLE
        # the worker turns the empty values of plain text columns into None itself, cheaper than NULLIF in SQL
        bare = self._nullif_positions()
        many = self._sqlite_values(ROWS_PER_INSERT, stamped=False, bare=bare)
        return StageStatements(
            create=f"CREATE TABLE {table} ({columns})",
            insert_rows=f"INSERT INTO {table} ({columns}) {many}",
            insert_one=f"INSERT INTO {table} ({columns}) {self._sqlite_values(1, stamped=False, bare=bare)}",
            rows_per_insert=ROWS_PER_INSERT,
            nulled=tuple(sorted(bare)),
        )

    def _staged_sql(self) -> str:
        """The UPSERT of the staged rows (:mod:`butterfly.importers.staging`), in their order."""
        columns = self._columns()
        return (
            f"INSERT INTO ticket ({', '.join(columns)}) SELECT {', '.join(columns[:-2])}, '{self.imported_at}', "
            f"{self.import_id} FROM {staging.STAGE_SCHEMA}.{staging.STAGE_TABLE} "
            "WHERE true ORDER BY rowid "  # a WHERE before ON CONFLICT: SQLite's parser needs one there
            + self._upsert_tail()
        )

    def _pg_sql(self) -> str:
        n = len(self.fields) + 3
        params = [f"p{i}" for i in range(1, n + 1)]
        exprs, _ = self._value_exprs(params, _pg_date, "::json")
        id_param = params[1 + self.fields.index("id")]
        return (
            f"WITH up AS (INSERT INTO ticket ({', '.join(self._columns())}) "
            f"SELECT {', '.join(exprs)} FROM (SELECT DISTINCT ON ({id_param}) * FROM bf_stage_{n} "
            f"ORDER BY {id_param}, ord DESC) s " + self._upsert_tail() + " RETURNING (xmax = 0) AS inserted) "
            "SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM up"
        )

    # -- what is there already ----------------------------------------------------------------------------

    def has_tickets(self) -> bool:
        """Whether this source has tickets already (if not, nothing can be unchanged: skip the look-ups)."""
        found = self.db.execute("SELECT 1 FROM ticket WHERE source = ? LIMIT 1", (self.source,)).fetchone()
        return found is not None

    def known_hashes(self, ids: list[str]) -> dict[str, str]:
        """The stored content hash of each of ``ids`` (of this writer's source) that exists."""
        if not ids:
            return {}
        source = self.source
        if self.dialect == "sqlite":
            rows = self.db.conn.execute(
                "SELECT external_id, content_hash FROM ticket WHERE source = ? "
                "AND external_id IN (SELECT value FROM json_each(?))",
                (source, json.dumps(ids, ensure_ascii=False)),
            ).fetchall()
        else:
            rows = self.db.conn.execute(
                "SELECT external_id, content_hash FROM ticket WHERE source = %s AND external_id = ANY(%s)",
                (source, ids),
            ).fetchall()
        return dict(rows)

    def mark_deleted(self, ids: list[str]) -> int:
        """Set status ``deleted`` on the stored tickets of this source with these ids; how many changed."""
        marked = 0
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ", ".join("?" * len(chunk))
            cursor = self.db.execute(
                f"UPDATE ticket SET status = 'deleted', import_id = ? WHERE source = ? AND external_id IN ({marks}) "
                "AND status <> 'deleted'",
                (self.import_id, self.source, *chunk),
            )
            marked += max(cursor.rowcount, 0)
        return marked

    def table_is_empty(self) -> bool:
        return self.db.execute("SELECT 1 FROM ticket LIMIT 1").fetchone() is None

    def drop_secondary_indexes(self) -> list[str]:
        """Drop the ticket table's non-unique indexes (SQLite) in the current transaction; their SQL to recreate."""
        return drop_secondary_indexes(lambda sql: self.db.execute(sql).fetchall())

    def create_indexes(self, statements: list[str]) -> None:
        if not statements:
            return
        # as the columnar load (butterfly.importers.columnar_load): a small page cache, a sorter helper thread
        self.db.execute(f"PRAGMA cache_size = -{INDEX_CACHE_KB}")
        self.db.execute(f"PRAGMA threads = {SORTER_THREADS}")
        for sql in statements:
            self.db.execute(sql)
        self.db.execute("PRAGMA threads = 0")
        self.db.execute(f"PRAGMA cache_size = -{SQLITE_CACHE_KB}")

    def first_load_cache(self) -> None:
        """The smaller page cache of a first load into an empty table (SQLite; :meth:`create_indexes` and the
        connection's close restore theirs)."""
        if self.dialect == "sqlite":
            self.db.execute(f"PRAGMA cache_size = -{FIRST_LOAD_CACHE_KB}")

    # -- writing ------------------------------------------------------------------------------------------

    def write(self, rows: Sequence[Sequence[str]] | StagedRows) -> Counts:
        """Upsert ``rows`` (prepared rows, or rows staged by a worker: :mod:`butterfly.importers.staging`) inside
        the current transaction (a savepoint: all or nothing)."""
        self.db.begin()
        if not rows:
            return Counts()
        if self.dialect == "sqlite":
            return self._write_sqlite(rows)
        assert not isinstance(rows, StagedRows)  # only SQLite writers stage (stage_statements)
        return self._write_pg(rows)

    def _insert_sqlite(self, rows: Sequence[Sequence[str]] | StagedRows) -> int:
        """Insert or update ``rows``; how many rows changed."""
        conn = self.db.conn
        if isinstance(rows, StagedRows):
            conn.deserialize(rows.image, name=staging.STAGE_SCHEMA)
            return int(conn.execute(self.staged_sql).rowcount)
        # ROWS_PER_INSERT rows per statement (a fifth less CPU than one statement per row), the rest one by one
        whole = len(rows) - len(rows) % ROWS_PER_INSERT
        head = iter(rows[:whole])
        changed = conn.executemany(
            self.sql_rows, map(tuple, map(chain.from_iterable, zip(*[head] * ROWS_PER_INSERT, strict=True)))
        ).rowcount
        if whole < len(rows):
            changed += conn.executemany(self.sql, rows[whole:]).rowcount
        return int(changed)

    def _write_sqlite(self, rows: Sequence[Sequence[str]] | StagedRows) -> Counts:
        conn = self.db.conn
        before = self.last_before = conn.execute("SELECT coalesce(max(id), 0) FROM ticket").fetchone()[0]
        conn.execute("SAVEPOINT bf_batch")
        try:
            changed = self._insert_sqlite(rows)
        except BaseException:
            # a full disk (SQLITE_FULL, I/O errors) can make SQLite roll the whole transaction back by itself, and
            # with it the savepoint: then there is nothing to undo here, and the original error is the one to report
            if conn.in_transaction:
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("ROLLBACK TO bf_batch")
                    conn.execute("RELEASE bf_batch")
            raise
        conn.execute("RELEASE bf_batch")
        created = conn.execute("SELECT count(*) FROM ticket WHERE id > ?", (before,)).fetchone()[0]
        return Counts(created=created, updated=changed - created, unchanged=len(rows) - changed)

    def repeated_ids(self, rows: StagedRows, limit: int) -> list[str]:
        """The ids of ``rows``, the staged rows written last, whose ticket was there before them (at most
        ``limit``, in row order)."""
        source = f"{staging.STAGE_SCHEMA}.{staging.STAGE_TABLE}"
        found = self.db.conn.execute(
            f"SELECT s.external_id FROM {source} s JOIN ticket t ON t.source = s.source "
            "AND t.external_id = s.external_id WHERE t.id <= ? ORDER BY s.rowid LIMIT ?",
            (self.last_before, limit),
        ).fetchall()
        return [ticket_id for (ticket_id,) in found]

    def _write_pg(self, rows: Sequence[Sequence[str]]) -> Counts:
        import psycopg  # the postgres extra: only a PostgreSQL database gets here, and it has the driver

        conn = self.db.conn
        n = len(self.fields) + 3
        cols = ", ".join(f"p{i} text" for i in range(1, n + 1))
        conn.execute(f"CREATE TEMP TABLE IF NOT EXISTS bf_stage_{n} (ord bigint, {cols})")
        names = ", ".join(f"p{i}" for i in range(1, n + 1))
        try:
            with conn.transaction(), conn.cursor() as cur:
                with cur.copy(f"COPY bf_stage_{n} (ord, {names}) FROM STDIN") as copy:
                    for ordinal, row in enumerate(rows):
                        copy.write_row((ordinal, *row))
                cur.execute(self.sql)
                created, updated = cur.fetchone()
                cur.execute(f"DELETE FROM bf_stage_{n}")
        except psycopg.DataError as exc:
            if "NUL" not in str(exc):
                raise
            # PostgreSQL text cannot hold NUL bytes (SQLite can): drop them and write the batch again
            return self._write_pg([tuple(v.replace("\x00", "") if isinstance(v, str) else v for v in r) for r in rows])
        distinct = len({row[1 + self.fields.index("id")] for row in rows})
        return Counts(created=created, updated=updated, unchanged=distinct - created - updated)
