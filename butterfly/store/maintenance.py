"""Database maintenance: online backups and health checks (``butterfly db backup`` / ``butterfly db check``).

A backup of a SQLite database uses SQLite's online backup API (:meth:`sqlite3.Connection.backup`): it is a
consistent snapshot even while other processes write, it is written to a private temporary file beside the
target and renamed into place, so a crash or a full disk never leaves a half-written backup at ``PATH``.
PostgreSQL is backed up with ``pg_dump``; :func:`backup_database` says exactly which command to run.

:func:`check_database` never changes the database (it does not even apply migrations): SQLite's
``integrity_check`` and ``foreign_key_check``, orphan rows on both backends, and the schema revision against
the newest one this release ships.
"""

from __future__ import annotations

import fcntl
import os
import re
import shlex
import sqlite3
import stat
import tempfile
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect, text
from sqlalchemy.engine import URL
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import SQLModel

import butterfly.store.models  # noqa: F401 - register the tables
from butterfly.errors import DatabaseError, InvalidInputError
from butterfly.store import db as database
from butterfly.store.db import _alembic_config, database_error
from butterfly.urls import redact_url, without_secrets

if TYPE_CHECKING:
    from sqlmodel import Session

Level = Literal["ok", "warning", "problem"]

# (name, what is wrong, SQL counting the bad rows, SQL listing a few of their ids, tables the query needs)
_ORPHAN_CHECKS: tuple[tuple[str, str, str, tuple[str, ...]], ...] = (
    (
        "answers without review",
        "answer",
        "FROM answer c LEFT JOIN review p ON p.id = c.review_id WHERE p.id IS NULL",
        ("answer", "review"),
    ),
    (
        "reviews without ticket",
        "review",
        "FROM review c LEFT JOIN ticket p ON p.id = c.ticket_id WHERE p.id IS NULL",
        ("review", "ticket"),
    ),
    (
        "answer history without answer",
        "answer_change",
        "FROM answer_change c LEFT JOIN answer p ON p.id = c.answer_id WHERE p.id IS NULL",
        ("answer_change", "answer"),
    ),
    (
        "answer history without review",
        "answer_change",
        "FROM answer_change c LEFT JOIN review p ON p.id = c.review_id WHERE p.id IS NULL",
        ("answer_change", "review"),
    ),
    (
        "findings without review",
        "finding",
        "FROM finding c LEFT JOIN review p ON p.id = c.review_id WHERE p.id IS NULL",
        ("finding", "review"),
    ),
    (
        "action items with a missing review",
        "action_item",
        "FROM action_item c LEFT JOIN review p ON p.id = c.review_id WHERE c.review_id IS NOT NULL AND p.id IS NULL",
        ("action_item", "review"),
    ),
    (
        "action items with a missing ticket",
        "action_item",
        "FROM action_item c LEFT JOIN ticket p ON p.id = c.ticket_id WHERE c.ticket_id IS NOT NULL AND p.id IS NULL",
        ("action_item", "ticket"),
    ),
    (
        "tickets with a missing import run",
        "ticket",
        "FROM ticket c LEFT JOIN import_run p ON p.id = c.import_id WHERE c.import_id IS NOT NULL AND p.id IS NULL",
        ("ticket", "import_run"),
    ),
)

# SQLite messages that mean the file itself is damaged (a finding of the check, not an unreachable database)
_CORRUPT_MARKERS = ("malformed", "not a database", "corrupt")


# -- shared ---------------------------------------------------------------------------------------------------


def backend_of(url: str) -> str:
    """``sqlite`` or ``postgresql`` (the part of the URL before ``+driver://``)."""
    return url.split(":", 1)[0].split("+", 1)[0]


# -- backup ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BackupResult:
    """What ``db backup`` wrote."""

    source: str  # the database URL, password hidden
    path: Path
    size: int  # bytes
    revision: str | None
    tables: dict[str, int]  # row counts read back from the backup


def pg_dump_command(url: str, dest: Path | str) -> str:
    """The ``pg_dump`` command that backs up the PostgreSQL database at ``url`` (never with the password)."""
    parsed = without_secrets(url)
    plain = URL.create(  # the same URL without the driver suffix, the password and secret parameters
        "postgresql",
        username=parsed.username,
        host=parsed.host,
        port=parsed.port,
        database=parsed.database,
        query=parsed.query,
    )
    conninfo = plain.render_as_string(hide_password=False)
    return f"pg_dump --format=custom --file={shlex.quote(str(dest))} {shlex.quote(conninfo)}"


def default_backup_name(now: datetime | None = None) -> str:
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%d-%H%M%S")
    return f"butterfly-{stamp}.db"


def backup_database(*, url: str, dest: str | Path, overwrite: bool = False) -> BackupResult:
    """Copy the SQLite database at ``url`` to ``dest`` (a file, or a folder to put a dated file in).

    The copy is a consistent snapshot taken with SQLite's online backup API while others keep working, written
    to a 0600 temporary file in the target folder, checked, and renamed into place. On PostgreSQL this raises
    :class:`InvalidInputError` whose message gives the ``pg_dump`` command to run instead.
    """
    if backend_of(url) != "sqlite":
        target = Path(dest).expanduser()
        command = pg_dump_command(url, target if target.suffix else target / "butterfly.dump")
        raise InvalidInputError(
            "`butterfly db backup` copies SQLite databases; back up PostgreSQL with pg_dump:\n  " + command,
            hint="pg_dump asks for the password (or reads PGPASSWORD / ~/.pgpass); restore with pg_restore",
        )
    source = database.sqlite_path(url)
    if source is None:
        raise InvalidInputError(f"cannot back up {redact_url(url)}: not a database file")
    database.require_existing_database(url)
    target = Path(dest).expanduser()
    if target.is_dir():
        target = target / default_backup_name()
    target = target.absolute()
    if target.resolve() == source.resolve():
        raise InvalidInputError(f"the backup target {target} is the database itself", hint="choose another path")
    if target.exists() and not overwrite:
        raise InvalidInputError(f"{target} already exists", hint="use --force to replace it, or choose another path")
    if not target.parent.is_dir():
        raise InvalidInputError(f"cannot write the backup to {target}: the folder {target.parent} does not exist")

    engine = database.get_engine(url)
    _remove_stale_backups(target.parent)
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as exc:
        raise InvalidInputError(f"cannot write the backup to {target}: {exc.strerror}") from None
    fcntl.flock(fd, fcntl.LOCK_EX)  # held until the end: this temporary file belongs to a live backup
    tmp = Path(tmp_name)
    try:
        raw = engine.raw_connection()
        try:
            src = raw.driver_connection
            assert isinstance(src, sqlite3.Connection)
            dst = sqlite3.connect(tmp)
            try:
                src.backup(dst)
                dst.execute("PRAGMA journal_mode = DELETE")  # one self-contained file, no -wal beside it
                problems = [row[0] for row in dst.execute("PRAGMA quick_check")]
                if problems != ["ok"]:
                    raise DatabaseError(f"the backup did not verify: {problems[0]}")
                revision, tables = _describe(dst)
            finally:
                dst.close()
        finally:
            raw.close()
        _fsync(tmp)
        os.chmod(tmp, 0o600)
        os.replace(tmp, target)
        _fsync_dir(target.parent)
    except (sqlite3.Error, SQLAlchemyError) as exc:
        tmp.unlink(missing_ok=True)
        raise _sqlite_error(exc, engine, target) from None
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise InvalidInputError(f"cannot write the backup to {target}: {exc.strerror or exc}") from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    finally:
        os.close(fd)  # mkstemp made it 0600; SQLite wrote into it through its own descriptor
    return BackupResult(
        source=redact_url(url),
        path=target,
        size=target.stat().st_size,
        revision=revision,
        tables=tables,
    )


_TEMP_NAME = re.compile(r"^\..+\.[A-Za-z0-9_]{8}\.tmp$")  # tempfile.mkstemp(prefix=".NAME.", suffix=".tmp")
_SQLITE_HEADER = b"SQLite format 3\x00"


def _remove_stale_backups(folder: Path) -> int:
    """Delete the temporary files of backups killed in ``folder`` (full-size copies); returns how many.

    A live backup holds an exclusive ``flock`` on its temporary file, so only files nobody holds are removed,
    and only files named like ours, untouched for two seconds, that are empty or SQLite databases.
    """
    removed = 0
    try:
        names = [entry.name for entry in os.scandir(folder) if _TEMP_NAME.match(entry.name)]
    except OSError:
        return 0
    for name in names:
        path = folder / name
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
        except OSError:
            continue
        try:
            st = os.fstat(fd)
            # a second's grace: a backup starting now has made its file but may not hold the lock yet
            if (
                not stat.S_ISREG(st.st_mode)
                or time.time() - st.st_mtime < 2
                or os.read(fd, 16) not in (b"", _SQLITE_HEADER)
            ):
                continue
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            path.unlink()
            removed += 1
        except OSError:  # locked: a backup running now
            continue
        finally:
            os.close(fd)
    return removed


def _describe(conn: sqlite3.Connection) -> tuple[str | None, dict[str, int]]:
    names = [
        r[0]
        for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
        )
    ]
    revision = None
    if "alembic_version" in names:
        row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
        revision = row[0] if row else None
    tables = {n: conn.execute(f'SELECT count(*) FROM "{n}"').fetchone()[0] for n in names if n != "alembic_version"}
    return revision, tables


def _sqlite_error(exc: Exception, engine: Any, target: Path) -> DatabaseError:
    error = database_error(exc, engine)
    return DatabaseError(f"backup to {target} failed: {error.message}", hint=error.hint)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# -- check ----------------------------------------------------------------------------------------------------


@dataclass
class CheckItem:
    """One finding of ``db check``."""

    name: str
    level: Level
    detail: str
    count: int = 0
    sample: list[Any] = field(default_factory=list)


@dataclass
class CheckReport:
    """The outcome of :func:`check_database`: ``ok`` when no item is a problem."""

    url: str
    backend: str
    revision: str | None
    head: str
    items: list[CheckItem]

    @property
    def problems(self) -> list[CheckItem]:
        return [i for i in self.items if i.level == "problem"]

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "backend": self.backend,
            "ok": self.ok,
            "revision": self.revision,
            "head": self.head,
            "problems": len(self.problems),
            "checks": [asdict(i) for i in self.items],
        }


def check_database(*, session: Session) -> CheckReport:
    """Check the database behind ``session`` without changing it.

    Driver errors that mean the file is damaged are reported as problems; an unreachable database raises
    :class:`DatabaseError` (through :func:`butterfly.store.db.open_session`).
    """
    bind = session.get_bind()
    engine = bind if isinstance(bind, Engine) else bind.engine
    url = engine.url.render_as_string(hide_password=True)
    backend = engine.dialect.name
    head = database.head_revision()
    items: list[CheckItem] = []
    revision: str | None = None

    def damaged(exc: SQLAlchemyError, name: str) -> bool:
        detail = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        if any(marker in detail.lower() for marker in _CORRUPT_MARKERS):
            items.append(CheckItem(name, "problem", f"the database file is damaged: {detail}", 1))
            return True
        return False

    try:
        tables = set(inspect(session.connection()).get_table_names())
    except SQLAlchemyError as exc:
        if damaged(exc, "integrity"):
            return CheckReport(redact_url(url), backend, None, head, items)
        raise

    try:
        if backend == "sqlite":
            items.extend(_sqlite_integrity(session))
        elif backend == "postgresql":
            items.extend(_postgres_indexes(session))
        revision = _revision(session, tables)
        items.append(_migration_state(revision, head))
        if revision == head:
            items.append(_schema_matches(session))
        items.extend(_orphans(session, tables))
        items.extend(_stale_imports(session, tables))
    except SQLAlchemyError as exc:
        session.rollback()
        if not damaged(exc, "integrity"):
            raise
    return CheckReport(redact_url(url), backend, revision, head, items)


def _rows(session: Session, sql: str) -> list[tuple[Any, ...]]:
    return [tuple(r) for r in session.execute(text(sql)).all()]


def _sqlite_integrity(session: Session) -> list[CheckItem]:
    items = []
    result = [r[0] for r in _rows(session, "PRAGMA integrity_check(20)")]
    if result == ["ok"]:
        items.append(CheckItem("integrity", "ok", "PRAGMA integrity_check: ok"))
    else:
        items.append(CheckItem("integrity", "problem", "; ".join(str(r) for r in result[:5]), len(result)))
    fk = _rows(session, "PRAGMA foreign_key_check")
    if not fk:
        items.append(CheckItem("foreign keys", "ok", "PRAGMA foreign_key_check: ok"))
    else:
        by_table: dict[str, int] = {}
        for table, *_ in fk:
            by_table[str(table)] = by_table.get(str(table), 0) + 1
        detail = ", ".join(f"{n} in {t}" for t, n in sorted(by_table.items()))
        items.append(
            CheckItem(
                "foreign keys",
                "problem",
                f"rows pointing at missing rows: {detail}",
                len(fk),
                [list(r) for r in fk[:5]],
            )
        )
    return items


def _postgres_indexes(session: Session) -> list[CheckItem]:
    invalid = _rows(
        session,
        "SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
        "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE NOT i.indisvalid AND n.nspname = current_schema()",
    )
    if invalid:
        names = [r[0] for r in invalid]
        return [CheckItem("indexes", "problem", "invalid indexes: " + ", ".join(names), len(names), names)]
    return [CheckItem("indexes", "ok", "no invalid indexes")]


def _revision(session: Session, tables: set[str]) -> str | None:
    if "alembic_version" not in tables:
        return None
    rows = _rows(session, "SELECT version_num FROM alembic_version")
    return str(rows[0][0]) if rows else None


def known_revisions() -> list[str]:
    """Every migration revision shipped with this release, oldest first."""
    script = ScriptDirectory.from_config(_alembic_config())
    return [r.revision for r in reversed(list(script.walk_revisions()))]


def _migration_state(revision: str | None, head: str) -> CheckItem:
    if revision == head:
        return CheckItem("migrations", "ok", f"schema at revision {revision} (the newest)")
    if revision is None:
        return CheckItem("migrations", "problem", "no butterfly schema in this database: run `butterfly db upgrade`", 1)
    if revision in known_revisions():
        return CheckItem(
            "migrations", "problem", f"schema at revision {revision}, newest is {head}: run `butterfly db upgrade`", 1
        )
    return CheckItem(
        "migrations",
        "problem",
        f"schema revision {revision} is unknown to this release (newest {head}): made by a newer butterfly?",
        1,
    )


def _schema_matches(session: Session) -> CheckItem:
    """Tables, columns and indexes as the newest migration makes them (e.g. no index lost to a crash)."""
    diff = compare_metadata(MigrationContext.configure(session.connection()), SQLModel.metadata)
    if not diff:
        return CheckItem("schema", "ok", "tables, columns and indexes as the migrations make them")
    described = [_describe_diff(d) for d in diff]
    # a table of someone's own beside butterfly's does no harm: a warning; anything else is a problem
    extra_only = all(not isinstance(d, list) and d[0] == "remove_table" for d in diff)
    level: Level = "warning" if extra_only else "problem"
    return CheckItem("schema", level, "; ".join(described[:5]), len(described), described[:5])


_DIFF_WORDS = {
    "add_table": "missing table",
    "remove_table": "unexpected table",
    "add_column": "missing column",
    "remove_column": "unexpected column",
    "add_index": "missing index",
    "remove_index": "unexpected index",
    "add_constraint": "missing constraint",
    "remove_constraint": "unexpected constraint",
    "add_fk": "missing foreign key",
    "remove_fk": "unexpected foreign key",
}


def _describe_diff(diff: Any) -> str:
    """One Alembic autogenerate difference in words (what is missing or unexpected in the database)."""
    entry = diff[0] if isinstance(diff, list) else diff  # column changes come as a list of tuples
    action = str(entry[0])
    if action.startswith("modify_"):  # ("modify_nullable", schema, table, column, ...)
        return f"column {entry[2]}.{entry[3]} differs ({action.removeprefix('modify_')})"
    words = _DIFF_WORDS.get(action, action.replace("_", " "))
    if action.endswith("column"):  # (action, schema, table, Column)
        return f"{words} {entry[2]}.{getattr(entry[3], 'name', entry[3])}"
    obj = entry[1]
    name = getattr(obj, "name", None) or str(obj)
    table = getattr(getattr(obj, "table", None), "name", None)
    return f"{words} {table + '.' if table else ''}{name}"


def _orphans(session: Session, tables: set[str]) -> list[CheckItem]:
    items = []
    for name, table, where, needs in _ORPHAN_CHECKS:
        if not set(needs) <= tables:
            continue
        count = int(_rows(session, f"SELECT count(*) {where}")[0][0])
        if count:
            sample = [r[0] for r in _rows(session, f"SELECT c.id {where} ORDER BY c.id LIMIT 5")]
            ids = ", ".join(f"#{i}" for i in sample) + (", …" if count > len(sample) else "")
            items.append(CheckItem(f"orphans: {name}", "problem", f"{count} {table} rows ({ids})", count, sample))
        else:
            items.append(CheckItem(f"orphans: {name}", "ok", "none"))
    return items


def _stale_imports(session: Session, tables: set[str]) -> list[CheckItem]:
    if "import_run" not in tables:
        return []
    rows = _rows(session, "SELECT id FROM import_run WHERE status = 'running' ORDER BY id")
    if not rows:
        return []
    ids = [r[0] for r in rows]
    return [
        CheckItem(
            "import runs",
            "warning",
            f"{len(ids)} import run(s) still marked running ({', '.join(f'#{i}' for i in ids[:5])}): "
            "an import in progress, or one that was stopped: run it again to finish it",
            len(ids),
            ids[:5],
        )
    ]
