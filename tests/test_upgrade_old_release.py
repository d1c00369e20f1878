"""A database made by an old release upgrades to the newest schema without losing a row or a value.

``tests/data/butterfly-0001.db`` was written by ``tests/data/make_old_db.py`` at the oldest migration (0001) with
realistic rows. On PostgreSQL the same script builds the old schema and rows in a fresh database. Every value of
every old column must survive ``butterfly db upgrade`` (new columns may appear; nothing may disappear).
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from butterfly.store.db import dispose_engines, head_revision, sqlite_url

DATA = Path(__file__).resolve().parent / "data"
OLD_DB = DATA / "butterfly-0001.db"
PG_URL = os.environ.get("BUTTERFLY_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def _make_old_db() -> Any:
    spec = importlib.util.spec_from_file_location("make_old_db", DATA / "make_old_db.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _normal(value: Any) -> Any:
    """Compare JSON text by meaning (a migration may re-serialise it) and everything else as is."""
    if isinstance(value, str) and value[:1] in "[{":
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _snapshot_sqlite(path: Path) -> dict[str, list[dict[str, Any]]]:
    conn = sqlite3.connect(path)
    conn.row_factory = sqlite3.Row
    names = [
        r[0]
        for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'")
        if r[0] != "alembic_version"
    ]
    snap = {
        n: [
            {k: _normal(v) for k, v in zip(row.keys(), tuple(row), strict=True)}
            for row in conn.execute(f'SELECT * FROM "{n}" ORDER BY id')
        ]
        for n in names
    }
    conn.close()
    return snap


def _snapshot_pg(url: str) -> dict[str, list[dict[str, Any]]]:
    import sqlalchemy as sa

    from butterfly.store.db import get_engine

    snap = {}
    with get_engine(url).connect() as conn:
        names = [n for n in sa.inspect(conn).get_table_names() if n != "alembic_version"]
        for n in names:
            rows = conn.execute(sa.text(f'SELECT * FROM "{n}" ORDER BY id')).mappings().all()
            snap[n] = [{k: _normal(v) for k, v in row.items()} for row in rows]
    return snap


def _assert_nothing_lost(before: dict[str, list[dict[str, Any]]], after: dict[str, list[dict[str, Any]]]) -> None:
    assert before, "the old database has tables"
    for table, rows in before.items():
        assert table in after, f"table {table} disappeared"
        assert len(after[table]) == len(rows), f"{table}: {len(rows)} rows before, {len(after[table])} after"
        for old, new in zip(rows, after[table], strict=True):
            for column, value in old.items():
                assert column in new, f"{table}.{column} disappeared"
                assert new[column] == value, f"{table} #{old['id']}.{column}: {value!r} became {new[column]!r}"


def test_the_saved_old_database_is_what_the_script_makes(tmp_path: Path) -> None:
    """The committed file and its generator agree (rebuild it with the script when this fails)."""
    module = _make_old_db()
    assert OLD_DB.exists(), "run: python tests/data/make_old_db.py"
    fresh = tmp_path / "fresh.db"
    module.build(sqlite_url(fresh))
    assert _snapshot_sqlite(fresh) == _snapshot_sqlite(OLD_DB)
    conn = sqlite3.connect(OLD_DB)
    assert conn.execute("SELECT version_num FROM alembic_version").fetchone()[0] == module.OLD_REVISION
    conn.close()


def test_old_sqlite_database_upgrades_to_head_without_loss(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    copy = tmp_path / "team.db"
    shutil.copyfile(OLD_DB, copy)
    copy.chmod(0o600)
    before = _snapshot_sqlite(copy)
    url = sqlite_url(copy)
    # the cautious path: back up first (the backup keeps the old revision: it never migrates)
    backup = cli("db", "backup", str(tmp_path / "before-upgrade.db"), "--db", url, "--json")
    assert backup.exit_code == 0, backup.output
    assert json.loads(backup.stdout)["revision"] == "0001"
    result = cli("db", "upgrade", "--db", url)
    assert result.exit_code == 0, result.output
    head = head_revision()
    if head == "0001":
        assert "already at revision 0001" in result.stderr
    else:
        assert f"upgraded 0001 -> {head}" in result.stderr
    dispose_engines()
    _assert_nothing_lost(before, _snapshot_sqlite(copy))
    check = cli("db", "check", "--db", url, "--json")
    assert check.exit_code == 0, check.output
    assert json.loads(check.stdout)["revision"] == head
    assert _snapshot_sqlite(tmp_path / "before-upgrade.db") == before


def test_old_sqlite_database_upgrades_on_first_use(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    copy = tmp_path / "team.db"
    shutil.copyfile(OLD_DB, copy)
    before = _snapshot_sqlite(copy)
    info = cli("db", "info", "--db", str(copy), "--json")
    assert info.exit_code == 0, info.output
    data = json.loads(info.stdout)
    assert data["revision"] == data["head"]
    assert data["tables"]["ticket"] == len(before["ticket"]) == 12
    dispose_engines()
    _assert_nothing_lost(before, _snapshot_sqlite(copy))


@pytest.fixture
def empty_pg_database() -> Iterator[str]:
    try:
        import psycopg

        admin = psycopg.connect(PG_URL.replace("postgresql+psycopg://", "postgresql://"), autocommit=True)
    except Exception as exc:
        if os.environ.get("CI", "").lower() in ("1", "true") or os.environ.get("BUTTERFLY_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"PostgreSQL not reachable at {PG_URL}: {exc}")
        pytest.skip(f"PostgreSQL not reachable at {PG_URL}: {exc}")
    name = f"butterfly_old_{uuid.uuid4().hex[:10]}"
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield PG_URL.rsplit("/", 1)[0] + "/" + name
    finally:
        dispose_engines()
        with psycopg.connect(PG_URL.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.postgres
def test_old_postgresql_database_upgrades_to_head_without_loss(cli, empty_pg_database: str) -> None:  # type: ignore[no-untyped-def]
    module = _make_old_db()
    counts = module.build(empty_pg_database)
    assert counts["ticket"] == 12 and counts["answer_change"] > counts["answer"]
    before = _snapshot_pg(empty_pg_database)
    result = cli("db", "upgrade", "--db", empty_pg_database)
    assert result.exit_code == 0, result.output
    dispose_engines()
    _assert_nothing_lost(before, _snapshot_pg(empty_pg_database))
    check = cli("db", "check", "--db", empty_pg_database, "--json")
    assert check.exit_code == 0, check.output
    assert json.loads(check.stdout)["revision"] == head_revision()
