"""Test fixtures: an isolated home for every test, and a database on each backend.

Every test that takes ``db_url`` runs twice: on SQLite and on PostgreSQL. PostgreSQL is
``BUTTERFLY_TEST_PG_URL`` (default ``postgresql+psycopg://postgres@127.0.0.1:5432/test``); each test session
gets its own freshly created database there. Without a server the PostgreSQL half is skipped with a reason
on a developer machine, and FAILS under CI (``CI=true``) or ``BUTTERFLY_REQUIRE_POSTGRES=1``.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

PG_URL = os.environ.get("BUTTERFLY_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
# ../shared/data/real beside the checkout, or the folder in BUTTERFLY_REAL_DATA (a git worktree lives elsewhere)
REAL_DATA = Path(
    os.environ.get("BUTTERFLY_REAL_DATA") or Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "real"
)
ROOT = Path(__file__).resolve().parent.parent


def postgres_required() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true") or os.environ.get("BUTTERFLY_REQUIRE_POSTGRES") == "1"


def real_data(name: str) -> Path:
    """A file of ../shared/data/real, or skip the test with the reason."""
    path = REAL_DATA / name
    if not path.exists():
        pytest.skip(f"real data not available: {path} (it lives in ../shared beside the project)")
    return path


@pytest.fixture(autouse=True)
def isolated_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """No test touches the real user config, data dir or database."""
    home = tmp_path_factory.mktemp("home")
    for var in list(os.environ):
        if var.startswith("BUTTERFLY_") and var not in ("BUTTERFLY_TEST_PG_URL", "BUTTERFLY_REQUIRE_POSTGRES"):
            monkeypatch.delenv(var)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local" / "share"))
    monkeypatch.setenv("BUTTERFLY_CONFIG", str(home / "config.toml"))
    monkeypatch.setenv("BUTTERFLY_DATA_DIR", str(home / "data"))
    monkeypatch.setenv("BUTTERFLY_REVIEWER", "tester")
    monkeypatch.setenv("BUTTERFLY_LANGUAGE", "en")
    monkeypatch.setenv("COLUMNS", "120")
    monkeypatch.setenv("TERM", "dumb")
    monkeypatch.delenv("CI", raising=False)
    from butterfly.settings import get_settings

    get_settings.cache_clear()
    yield home
    get_settings.cache_clear()
    from butterfly.store.db import dispose_engines

    dispose_engines()


def _pg_admin_connect():  # type: ignore[no-untyped-def]
    import psycopg

    plain = PG_URL.replace("postgresql+psycopg://", "postgresql://")
    return psycopg.connect(plain, autocommit=True, connect_timeout=5)


@pytest.fixture(scope="session")
def pg_server_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session (dropped at the end), migrated to head."""
    try:
        admin = _pg_admin_connect()
    except Exception as exc:
        message = f"PostgreSQL not reachable at {PG_URL}: {exc}"
        if postgres_required():
            pytest.fail(message + " (required under CI / BUTTERFLY_REQUIRE_POSTGRES=1)")
        pytest.skip(message)
    name = f"butterfly_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        # commits of this throw-away database do not wait for the WAL to reach the disk: a test kills clients, never
        # the server (tests/test_faults.py stops a private cluster of its own), so nothing a test checks changes
        admin.execute(f'ALTER DATABASE "{name}" SET synchronous_commit = off')
    base = PG_URL.rsplit("/", 1)[0]
    url = f"{base}/{name}"
    from butterfly.store.db import dispose_engines, ensure_schema, get_engine

    ensure_schema(get_engine(url))
    dispose_engines()
    yield url
    dispose_engines()
    with _pg_admin_connect() as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for each test (faster than migrating every time)."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    from butterfly.store.db import dispose_engines, ensure_schema, get_engine, sqlite_url

    ensure_schema(get_engine(sqlite_url(path)))
    dispose_engines()
    return path


def _truncate_all(url: str) -> None:
    """Empty every table of the migrated database and restart its ids, as a new database would have them.

    DELETE, not TRUNCATE: on tables of a few rows it is ~20x faster (TRUNCATE swaps each table's files), and this
    runs before every PostgreSQL test. Foreign-key triggers are off for the transaction (the test user is the
    superuser of a throw-away database), so the order of the tables does not matter, new tables included."""
    from butterfly.store.db import get_engine

    with get_engine(url).begin() as conn:
        tables = [
            row[0]
            for row in conn.exec_driver_sql(
                "SELECT quote_ident(table_name) FROM information_schema.tables "
                "WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' AND table_name <> 'alembic_version'"
            )
        ]
        sequences = [
            row[0]
            for row in conn.exec_driver_sql(
                "SELECT quote_ident(sequence_name) FROM information_schema.sequences "
                "WHERE sequence_schema = current_schema()"
            )
        ]
        statements = ["SET LOCAL session_replication_role = replica"]
        statements += [f"DELETE FROM {t}" for t in tables] + [f"ALTER SEQUENCE {s} RESTART" for s in sequences]
        conn.exec_driver_sql("; ".join(statements))


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty, migrated database: SQLite file or PostgreSQL (each test runs on both)."""
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path / "butterfly.db"
        shutil.copyfile(template, path)
        os.chmod(path, 0o600)
        from butterfly.store.db import sqlite_url

        return sqlite_url(path)
    url: str = request.getfixturevalue("pg_server_url")
    _truncate_all(url)
    return url


@pytest.fixture
def session(db_url: str) -> Iterator[object]:
    """A SQLModel session on ``db_url``."""
    from butterfly.store.db import open_session

    with open_session(db_url) as s:
        yield s


@pytest.fixture
def sqlite_url_fixture(tmp_path: Path, sqlite_template: Path) -> str:
    """An empty, migrated SQLite database for tests that only need the embedded default (read-only commands
    refuse a database file that does not exist)."""
    from butterfly.store.db import sqlite_url

    path = tmp_path / "butterfly.db"
    shutil.copyfile(sqlite_template, path)
    os.chmod(path, 0o600)
    return sqlite_url(path)


@pytest.fixture
def cli():  # type: ignore[no-untyped-def]
    """Invoke the CLI in-process: ``cli("db", "info", "--db", url)`` -> click Result (stdout/stderr apart)."""
    from typer.testing import CliRunner

    from butterfly.cli import app

    runner = CliRunner()

    def invoke(*args: str, input: str | None = None, env: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
        from butterfly.settings import get_settings

        # a command reads its settings afresh, as a new process would: an environment variable the test set after
        # something else (a session fixture migrating the template database) read the settings still counts
        get_settings.cache_clear()
        return runner.invoke(app, list(args), input=input, env=env, catch_exceptions=False, terminal_width=120)

    return invoke
