"""``butterfly db backup``: online backups.

A backup of a SQLite database uses SQLite's online backup API (:meth:`sqlite3.Connection.backup`): it is a
consistent snapshot even while other processes write, it is written to a private temporary file beside the
target and renamed into place, so a crash or a full disk never leaves a half-written backup at ``PATH``.
PostgreSQL is backed up with ``pg_dump``; :func:`backup_database` says exactly which command to run.
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
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import URL
from sqlalchemy.exc import SQLAlchemyError

from butterfly.errors import DatabaseError, InvalidInputError
from butterfly.store import db as database
from butterfly.store.db import database_error
from butterfly.urls import redact_url, without_secrets

if TYPE_CHECKING:
    pass


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
    if database.backend_of(url) != "sqlite":
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
