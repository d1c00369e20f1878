"""Database: one engine per process, one session per command, migrations applied on first use.

SQLite (the embedded default) gets WAL, foreign keys, a busy timeout, and a file created 0600. PostgreSQL
(``postgresql+psycopg://…``) works the same way; a team shares one.
"""

from __future__ import annotations

import functools
import logging
import os
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import create_engine, event, func, inspect, select, text
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, SQLModel

import butterfly.store.models  # noqa: F401 - register the tables
from butterfly.errors import DatabaseError, NotFoundError
from butterfly.settings import get_settings
from butterfly.urls import redact_text, redact_url

if TYPE_CHECKING:
    from sqlalchemy import Engine
    from sqlalchemy.engine import Connection

    from butterfly.settings import Settings

SQLITE_BUSY_TIMEOUT_MS = 30_000
_engines: dict[str, Engine] = {}
_migrated: set[str] = set()
_lock = threading.Lock()


def resolve_url(db: str | None = None, settings: Settings | None = None) -> str:
    """The database URL from ``--db`` (a path or URL), settings, or the default SQLite file."""
    if settings is None:
        settings = get_settings()
    value = db or settings.database_url
    if value is None:
        return sqlite_url(settings.default_database_path)
    if "://" in value:
        return with_postgres_driver(value)
    return sqlite_url(Path(value))


def with_postgres_driver(url: str) -> str:
    """``postgresql://`` and ``postgres://`` name psycopg 3 explicitly (the driver butterfly's ``postgres`` extra
    installs); SQLAlchemy would otherwise look for psycopg2, which butterfly does not use."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path.expanduser().resolve()}"


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL (``None`` for other backends or in-memory)."""
    if not url.startswith("sqlite"):
        return None
    path = url.split(":///", 1)[1] if ":///" in url else ""
    path = path.split("?", 1)[0]
    if not path or path == ":memory:":
        return None
    return Path(path)


def require_existing_database(url: str) -> None:
    """:class:`NotFoundError` when ``url`` names a SQLite file that does not exist (never create one here).

    Commands that only read call this first: a mistyped ``--db`` is an error naming the path, not an empty
    database that looks like lost data.
    """
    path = sqlite_path(url)
    if path is not None and not path.exists():
        raise NotFoundError(
            f"no database at {path}",
            hint="check --db / BUTTERFLY_DATABASE_URL for a typo; `butterfly import` or `butterfly db upgrade` "
            "creates a new one",
        )


def is_new_database(url: str) -> bool:
    """Whether ``url`` names a SQLite file that does not exist yet (opening it will create it)."""
    path = sqlite_path(url)
    return path is not None and not path.exists()


def _create_private_file(path: Path) -> None:
    """Create the SQLite file (and its folder) readable by its owner only."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        if not path.exists():
            fd = os.open(path, os.O_CREAT | os.O_WRONLY, 0o600)
            os.close(fd)
            os.chmod(path, 0o600)
    except OSError as exc:
        raise DatabaseError(f"cannot create the database file {path}: {exc.strerror}") from None


def _sqlite_busy_timeout_ms() -> int:
    """The SQLite busy timeout: ``BUTTERFLY_SQLITE_BUSY_TIMEOUT`` seconds (settings), default 30 s."""
    return int(get_settings().sqlite_busy_timeout * 1000)


def _on_sqlite_connect(dbapi_connection: Any, _record: Any, busy_timeout_ms: int = SQLITE_BUSY_TIMEOUT_MS) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
    try:
        cursor.execute("PRAGMA journal_mode = WAL")
    except Exception:
        pass
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.execute("PRAGMA synchronous = NORMAL")
    cursor.close()


def get_engine(url: str) -> Engine:
    """The process-wide engine for ``url`` (created once)."""
    with _lock:
        engine = _engines.get(url)
        if engine is not None:
            return engine

        # SQLAlchemy logs (with a traceback) when it cannot reset a pooled connection whose server has gone; with
        # no logging configured Python would print that to stderr. The error itself reaches the user as a
        # DatabaseError; a NullHandler keeps the log quiet unless the caller configures logging.
        logging.getLogger("sqlalchemy").addHandler(logging.NullHandler())

        path = sqlite_path(url)
        if url.startswith("sqlite"):
            busy_ms = _sqlite_busy_timeout_ms()

            def on_connect(dbapi_connection: Any, record: Any) -> None:
                _on_sqlite_connect(dbapi_connection, record, busy_ms)

        if path is not None:
            _create_private_file(path)
            engine = create_engine(url, connect_args={"timeout": busy_ms / 1000}, json_serializer=_json_text)
            event.listen(engine, "connect", on_connect)
        elif url.startswith("sqlite"):
            engine = create_engine(url, json_serializer=_json_text)
            event.listen(engine, "connect", on_connect)
        else:
            try:
                engine = create_engine(url, pool_pre_ping=True, json_serializer=_json_text)
            except ModuleNotFoundError as exc:
                raise _missing_driver(url, exc.name or "") from None
            except Exception as exc:
                raise DatabaseError(f"cannot use database {redact_url(url)}: {redact_text(str(exc), url)}") from None
        _engines[url] = engine
        return engine


def _missing_driver(url: str, module: str) -> DatabaseError:
    """The database's Python driver is not installed: name it, and the extra that brings it."""
    if module.split(".")[0] == "psycopg":
        hint = "PostgreSQL needs the postgres extra: pip install 'butterfly-check[postgres]'"
    else:
        hint = f"install the Python driver {module!r} for this database, or use a postgresql+psycopg:// URL"
    return DatabaseError(f"cannot use database {redact_url(url)}: its driver {module!r} is not installed", hint=hint)


def _json_text(value: object) -> str:
    """JSON columns (answers, history) stored as readable UTF-8 (``"发票"``, not ``"\\u53d1\\u7968"``)."""
    import json

    return json.dumps(value, ensure_ascii=False)


def dispose_engines() -> None:
    """Close every pooled connection (tests, forks)."""
    with _lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()
        _migrated.clear()


# -- migrations ---------------------------------------------------------------------------------------------


def alembic_config(connection: Connection | None = None) -> Any:
    # Alembic is imported only when a migration runs: at module level it cost every command (and the walk's
    # Enter → first question) ~0.1 s of CPU, which head_revision() exists to avoid
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


_REVISION_LINE = re.compile(r"^(revision|down_revision)\b[^=]*=\s*(?:None|[\"']([^\"']+)[\"'])", re.MULTILINE)


@functools.cache
def head_revision() -> str:
    """The newest migration revision shipped with this version of butterfly.

    Read from the migration files' ``revision``/``down_revision`` lines rather than through Alembic, which would
    cost every command ~0.1 s of imports; ``tests/test_foundation.py`` checks it agrees with Alembic's head.
    """
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in (Path(__file__).parent / "migrations" / "versions").glob("*.py"):
        found = dict((m.group(1), m.group(2)) for m in _REVISION_LINE.finditer(path.read_text(encoding="utf-8")))
        if found.get("revision"):
            revisions.add(found["revision"])
        if found.get("down_revision"):
            parents.add(found["down_revision"])
    heads = revisions - parents
    if len(heads) != 1:
        raise DatabaseError(f"butterfly's migrations have {len(heads)} heads ({', '.join(sorted(heads))}), not one")
    return heads.pop()


def current_revision(engine: Engine) -> str | None:
    """The schema revision of the database (``None`` for an empty database)."""
    with engine.connect() as conn:
        return _revision_on(conn)


def _revision_on(conn: Connection) -> str | None:
    if not inspect(conn).has_table("alembic_version"):
        return None
    return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def upgrade(engine: Engine, revision: str = "head") -> tuple[str | None, str]:
    """Migrate the database to ``revision``; returns (before, after). Safe to run concurrently."""
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(7461626)"))  # one migrator at a time
        elif conn.dialect.name == "sqlite":
            # the write lock first (waits up to the busy timeout), so a second process that started at the same
            # moment reads the schema only after the first has finished and finds nothing left to do
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        before = _revision_on(conn)  # read under the lock: what this process found, not what another one did
        from alembic import command
        from alembic.util.exc import CommandError

        try:
            command.upgrade(alembic_config(conn), revision)
        except CommandError as exc:  # e.g. a revision this release does not know (a newer butterfly made it)
            raise DatabaseError(
                f"cannot migrate the database schema from revision {before}: {exc}",
                hint="a newer butterfly may have made this database: upgrade butterfly (pip install -U butterfly-check)",
            ) from None
    after = current_revision(engine) or ""
    return before, after


def ensure_schema(engine: Engine) -> None:
    """Apply pending migrations once per process (cheap check first, Alembic only when needed)."""
    key = str(engine.url)
    if key in _migrated:
        return

    try:
        if current_revision(engine) != head_revision():
            upgrade(engine)
    except SQLAlchemyError as exc:
        raise database_error(exc, engine) from None
    _migrated.add(key)


def database_error(exc: Exception, engine: Engine | None = None) -> DatabaseError:
    """Turn a driver error into a clear, password-free :class:`DatabaseError`."""
    full = str(engine.url.render_as_string(hide_password=False)) if engine is not None else ""
    where = redact_url(full) if engine is not None else "the database"
    detail = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    detail = redact_text(detail, full)
    hint = None
    low = detail.lower()
    if "readonly" in low or "read-only" in low:
        hint = "the database file or its folder is read-only"
    elif "locked" in low:
        hint = "another process holds a lock on the database; try again (BUTTERFLY_SQLITE_BUSY_TIMEOUT sets the wait)"
    elif ("disk" in low and "full" in low) or "no space left" in low or "could not extend file" in low:
        hint = "the disk is full; free space and run the command again (what was saved before is intact)"
    elif "disk i/o error" in low:
        hint = (
            "a write to the database file failed (disk full, quota or file-size limit, failing disk); "
            "what was saved before is intact"
        )
    elif "not a database" in low or "malformed" in low:
        hint = "the file is not a butterfly database or is damaged: check --db; `butterfly db check` tells more"
    elif "unable to open database file" in low:
        hint = "check that the database file and its folder exist and that you may read and write them"
    elif "password authentication failed" in low:
        hint = "check the user name and password (PGPASSWORD or ~/.pgpass keep it out of the URL)"
    elif "does not exist" in low and "database" in low:
        hint = "create the database first (createdb) or fix the URL"
    elif "no such table" in low or ("relation" in low and "does not exist" in low):
        hint = "the schema is missing: run `butterfly db upgrade`"
    elif "connection" in low or "connect" in low or "server closed" in low or "terminating" in low:
        hint = "is the database server running and the URL right?"
    return DatabaseError(f"database error at {where}: {detail}", hint=hint)


@contextmanager
def open_session(url: str | None = None, *, migrate: bool = True) -> Iterator[Session]:
    """One session for one command; migrations applied on first use; driver errors become DatabaseError."""
    engine = get_engine(url or resolve_url())
    if migrate:
        ensure_schema(engine)
    try:
        with Session(engine, expire_on_commit=False) as session:
            yield session
    except SQLAlchemyError as exc:
        raise database_error(exc, engine) from None


def table_counts(session: Session) -> dict[str, int]:
    """Row counts of butterfly's tables."""
    counts = {}
    for name, table in sorted(SQLModel.metadata.tables.items()):
        counts[name] = int(session.execute(select(func.count()).select_from(table)).scalar_one())
    return counts


# -- for db backup / db check ----------------------------------------------------------------------------------


def backend_of(url: str) -> str:
    """``sqlite`` or ``postgresql`` (the part of the URL before ``+driver://``)."""
    return url.split(":", 1)[0].split("+", 1)[0]
