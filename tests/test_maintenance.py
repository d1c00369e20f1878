"""``butterfly db backup`` and ``butterfly db check``: online backups, integrity, orphans, migration state."""

from __future__ import annotations

import json
import os
import sqlite3
import stat
import threading
from pathlib import Path

import pytest
from faultkit import counts, run, seed

from butterfly.store.db import sqlite_path, sqlite_url


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


# -- backup ---------------------------------------------------------------------------------------------------


def test_backup_is_a_private_consistent_copy_taken_while_someone_writes(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    url = sqlite_url(tmp_path / "team.db")
    seeded = seed(url, tickets=5)
    # another reviewer is in the middle of a write transaction (not committed) during the backup
    writer = sqlite3.connect(tmp_path / "team.db", isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("UPDATE ticket SET subject = 'uncommitted' WHERE id = 1")
    target = tmp_path / "backups" / "b.db"
    target.parent.mkdir()
    try:
        result = cli("db", "backup", str(target), "--db", url)
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    assert result.exit_code == 0, result.output
    assert "backed up" in result.stderr
    assert _mode(target) == 0o600
    assert sorted(p.name for p in target.parent.iterdir()) == ["b.db"]  # no temporary file left behind
    copy = sqlite3.connect(target)
    assert copy.execute("PRAGMA journal_mode").fetchone()[0] == "delete"  # one self-contained file
    assert copy.execute("SELECT subject FROM ticket WHERE id = 1").fetchone()[0] != "uncommitted"
    copy.close()
    assert counts(sqlite_url(target)) == seeded
    check = cli("db", "check", "--db", sqlite_url(target), "--json")
    assert check.exit_code == 0, check.output


def test_backup_into_a_folder_and_refusing_to_overwrite(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    url = sqlite_url(tmp_path / "team.db")
    seed(url)
    folder = tmp_path / "backups"
    folder.mkdir()
    result = cli("db", "backup", str(folder), "--db", url, "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    made = Path(data["path"])
    assert made.parent == folder and made.name.startswith("butterfly-") and made.suffix == ".db"
    assert data["tables"]["ticket"] == 3 and data["revision"]
    again = cli("db", "backup", str(made), "--db", url)
    assert again.exit_code == 2
    assert "already exists" in again.stderr and "--force" in again.stderr
    forced = cli("db", "backup", str(made), "--db", url, "--force")
    assert forced.exit_code == 0, forced.output
    same = cli("db", "backup", str(tmp_path / "team.db"), "--db", url, "--force")
    assert same.exit_code == 2 and "is the database itself" in same.stderr


def test_backup_of_a_missing_database_creates_nothing(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    result = cli("db", "backup", str(tmp_path / "b.db"), "--db", str(tmp_path / "nothere.db"))
    assert result.exit_code == 2
    assert "no database at" in result.stderr
    assert not (tmp_path / "nothere.db").exists() and not (tmp_path / "b.db").exists()


def test_backup_that_runs_out_of_space_leaves_no_file_at_the_target(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "team.db")
    seed(url, tickets=400)  # ~ a few hundred KiB
    size = (tmp_path / "team.db").stat().st_size
    target = tmp_path / "out" / "b.db"
    target.parent.mkdir()
    result = run(["db", "backup", str(target), "--db", url], file_size_limit=size // 3)
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("Error: backup to")
    assert "Traceback" not in result.stderr
    assert list(target.parent.iterdir()) == []  # neither a partial backup nor its temporary file
    assert counts(url)["ticket"] == 400


def test_backup_on_postgresql_gives_the_pg_dump_command_without_the_password(cli) -> None:  # type: ignore[no-untyped-def]
    url = "postgresql+psycopg://lead:s3cret-pw@db.example:5433/butterfly?sslmode=require"
    result = cli("db", "backup", "/backups/team.dump", "--db", url)
    assert result.exit_code == 2
    assert "s3cret" not in result.output
    line = next(x for x in result.stderr.splitlines() if x.strip().startswith("pg_dump"))
    assert line.strip() == (
        "pg_dump --format=custom --file=/backups/team.dump 'postgresql://lead@db.example:5433/butterfly?sslmode=require'"
    )


# -- check ----------------------------------------------------------------------------------------------------


def test_check_passes_on_a_healthy_database(cli, db_url: str) -> None:  # type: ignore[no-untyped-def]
    seed(db_url)
    result = cli("db", "check", "--db", db_url, "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["ok"] is True and report["problems"] == 0
    names = {c["name"] for c in report["checks"]}
    assert {"migrations", "orphans: answers without review", "orphans: reviews without ticket"} <= names
    if db_url.startswith("sqlite"):
        assert {"integrity", "foreign keys"} <= names
    text = cli("db", "check", "--db", db_url)
    assert text.exit_code == 0
    assert text.stdout.strip().endswith("ok: no problems found")


def _orphan_rows(db_url: str) -> None:
    """Delete parents behind the foreign keys' back (SQLite: foreign_keys off; PostgreSQL: replica role)."""
    import sqlalchemy as sa

    from butterfly.store.db import get_engine

    with get_engine(db_url).connect() as conn:
        off = "PRAGMA foreign_keys = OFF" if conn.dialect.name == "sqlite" else "SET session_replication_role = replica"
        conn.exec_driver_sql(off)
        conn.execute(sa.text("DELETE FROM review"))  # its answers, history and action item stay behind
        conn.execute(sa.text("DELETE FROM ticket WHERE external_id = 'T0002'"))
        conn.execute(
            sa.text(
                "INSERT INTO action_item (ticket_id, kind, text, status, created_at, version) "
                "VALUES (999, 'follow_up', 'call back', 'open', CURRENT_TIMESTAMP, 1)"
            )
        )
        conn.commit()
        on = "PRAGMA foreign_keys = ON" if conn.dialect.name == "sqlite" else "SET session_replication_role = DEFAULT"
        conn.exec_driver_sql(on)
        conn.commit()


def test_check_finds_orphan_rows_on_each_backend(cli, db_url: str) -> None:  # type: ignore[no-untyped-def]
    seed(db_url)
    _orphan_rows(db_url)
    from butterfly.store.db import dispose_engines

    dispose_engines()
    result = cli("db", "check", "--db", db_url, "--json")
    assert result.exit_code == 1, result.output
    report = json.loads(result.stdout)
    bad = {c["name"]: c for c in report["checks"] if c["level"] == "problem"}
    assert bad["orphans: answers without review"]["count"] == 2
    assert bad["orphans: answer history without review"]["count"] == 2
    assert bad["orphans: action items with a missing review"]["count"] == 1
    assert bad["orphans: action items with a missing ticket"]["count"] == 1
    assert "orphans: reviews without ticket" not in bad
    if db_url.startswith("sqlite"):
        assert bad["foreign keys"]["count"] == 6  # 2 answers + 2 history rows + 2 action items
    text = cli("db", "check", "--db", db_url)
    assert text.exit_code == 1
    assert "problems found" in text.stdout
    assert "2 answer rows (#1, #2)" in text.stdout


def test_check_reports_a_damaged_sqlite_file(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    url = sqlite_url(tmp_path / "team.db")
    seed(url, tickets=300)
    path = sqlite_path(url)
    assert path is not None
    from butterfly.store.db import dispose_engines

    dispose_engines()
    data = bytearray(path.read_bytes())
    page = 4096
    for n in range(3, len(data) // page - 1, 2):  # scribble over every other page after the schema pages
        data[n * page + 8 : n * page + 400] = b"\xa5" * 392
    path.write_bytes(bytes(data))
    result = cli("db", "check", "--db", url, "--json")
    assert result.exit_code == 1, result.output
    report = json.loads(result.stdout)
    integrity = next(c for c in report["checks"] if c["name"] == "integrity")
    assert integrity["level"] == "problem"


def test_check_reports_the_migration_state_without_migrating(cli, db_url: str) -> None:  # type: ignore[no-untyped-def]
    import sqlalchemy as sa

    from butterfly.store.db import dispose_engines, get_engine, head_revision

    with get_engine(db_url).begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '0999'"))
    dispose_engines()
    result = cli("db", "check", "--db", db_url, "--json")
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["revision"] == "0999" and report["head"] == head_revision()
    migrations = next(c for c in report["checks"] if c["name"] == "migrations")
    assert "unknown to this release" in migrations["detail"]
    # a database made by a newer release: other commands refuse clearly instead of a traceback
    info = cli("db", "info", "--db", db_url)
    assert info.exit_code == 2
    assert "revision 0999" in info.stderr and "newer butterfly" in info.stderr
    with get_engine(db_url).begin() as conn:
        assert conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar() == "0999"
        conn.execute(sa.text("DELETE FROM alembic_version"))
    dispose_engines()
    try:
        empty = json.loads(cli("db", "check", "--db", db_url, "--json").stdout)
        migrations = next(c for c in empty["checks"] if c["name"] == "migrations")
        assert "run `butterfly db upgrade`" in migrations["detail"]
    finally:  # the PostgreSQL database is shared by the test session: put the revision back
        with get_engine(db_url).begin() as conn:
            conn.execute(sa.text("INSERT INTO alembic_version (version_num) VALUES (:v)"), {"v": head_revision()})


def test_check_warns_about_import_runs_left_running(cli, db_url: str) -> None:  # type: ignore[no-untyped-def]
    from butterfly.store.db import open_session
    from butterfly.store.models import ImportRun

    with open_session(db_url) as session:
        session.add(ImportRun(source="zendesk", format="csv", path="/tmp/t.csv", status="running"))
        session.commit()
    result = cli("db", "check", "--db", db_url, "--json")
    assert result.exit_code == 0  # a warning, not a problem: the import may still be running
    warning = next(c for c in json.loads(result.stdout)["checks"] if c["name"] == "import runs")
    assert warning["level"] == "warning" and warning["count"] == 1


def test_check_does_not_create_a_missing_database(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    result = cli("db", "check", "--db", str(tmp_path / "nothere.db"))
    assert result.exit_code == 2
    assert not (tmp_path / "nothere.db").exists()


def test_backup_runs_while_reviews_are_being_written(tmp_path: Path) -> None:
    """A writer thread commits rows during the backup: the copy is consistent and the writer is not blocked."""
    from butterfly.store.backup import backup_database

    url = sqlite_url(tmp_path / "team.db")
    seed(url, tickets=50)
    stop = threading.Event()
    written: list[int] = []

    def write() -> None:
        conn = sqlite3.connect(tmp_path / "team.db", timeout=30)
        i = 0
        while not stop.is_set():
            i += 1
            conn.execute(
                "INSERT INTO ticket (source, external_id, tags, status, content_hash, imported_at) "
                "VALUES ('live', ?, '[]', 'closed', 'h', CURRENT_TIMESTAMP)",
                (f"L{i}",),
            )
            conn.commit()
            written.append(i)
        conn.close()

    thread = threading.Thread(target=write)
    thread.start()
    try:
        results = [backup_database(url=url, dest=tmp_path / f"b{n}.db") for n in range(3)]
    finally:
        stop.set()
        thread.join()
    assert written, "the writer was blocked by the backup"
    for result in results:
        assert _mode(result.path) == 0o600
        conn = sqlite3.connect(result.path)
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        live = conn.execute(
            "SELECT count(*), max(CAST(substr(external_id, 2) AS INTEGER)) FROM ticket WHERE source = 'live'"
        ).fetchone()
        conn.close()
        if live[0]:
            assert live[0] == live[1]  # a prefix of the writes: nothing torn, nothing skipped
        assert result.tables["ticket"] == 50 + live[0]


@pytest.mark.parametrize("kind", ["file", "folder"])
def test_backup_to_a_read_only_place_is_a_clear_error(tmp_path: Path, kind: str) -> None:
    url = sqlite_url(tmp_path / "team.db")
    seed(url)
    out = tmp_path / "ro"
    out.mkdir()
    target = out / "b.db"
    if kind == "file":
        target.write_bytes(b"old backup")
        target.chmod(0o444)
    out.chmod(0o555)
    try:
        result = run(["db", "backup", str(target), "--db", url, "--force"], unprivileged=True)
    finally:
        out.chmod(0o755)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert "cannot write the backup" in result.stderr
    if kind == "file":
        assert target.read_bytes() == b"old backup"
    else:
        assert not target.exists()


def test_check_finds_a_missing_index(cli, db_url: str) -> None:  # type: ignore[no-untyped-def]
    """E.g. a crash during a first load that drops and rebuilds indexes: db check must notice if one is gone."""
    import sqlalchemy as sa

    from butterfly.store.db import dispose_engines, get_engine

    seed(db_url)
    with get_engine(db_url).begin() as conn:
        conn.execute(sa.text("DROP INDEX ix_ticket_customer_created_at"))
    dispose_engines()
    try:
        result = cli("db", "check", "--db", db_url, "--json")
        assert result.exit_code == 1, result.output
        schema = next(c for c in json.loads(result.stdout)["checks"] if c["name"] == "schema")
        assert schema["level"] == "problem"
        assert "missing index ticket.ix_ticket_customer_created_at" in schema["detail"]
    finally:  # the PostgreSQL database is shared by the test session
        with get_engine(db_url).begin() as conn:
            conn.execute(
                sa.text("CREATE INDEX IF NOT EXISTS ix_ticket_customer_created_at ON ticket (customer, created_at)")
            )
    with get_engine(db_url).begin() as conn:
        conn.execute(sa.text("CREATE TABLE team_notes (id integer primary key, note text)"))
    try:
        extra = cli("db", "check", "--db", db_url, "--json")
        assert extra.exit_code == 0, extra.output  # someone's own table beside butterfly's: only a warning
        schema = next(c for c in json.loads(extra.stdout)["checks"] if c["name"] == "schema")
        assert schema["level"] == "warning" and "unexpected table team_notes" in schema["detail"]
    finally:
        with get_engine(db_url).begin() as conn:
            conn.execute(sa.text("DROP TABLE team_notes"))
