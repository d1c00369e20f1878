"""Database faults, injected for real: PostgreSQL stopped or unreachable, SQLite locked, read-only, disk full.

Every one must give one clear ``Error: …`` line, exit code 2, no traceback, and keep what was saved before.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from faultkit import (
    PrivateCluster,
    counts,
    make_read_only,
    private_cluster,
    private_cluster_unavailable,
    run,
    seed,
    tiny_tmpfs,
)

from butterfly.store.db import dispose_engines, sqlite_url

SECRET = "s3cret-Pw"

# Library-level writer run in a child process: N tickets in one transaction; prints JSON; exit 2 on DatabaseError.
WRITE = """
import json, sys
from butterfly.store.db import open_session
from butterfly.errors import DatabaseError
from butterfly.store.models import Ticket
url, n, size, prefix = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
try:
    with open_session(url) as session:
        for i in range(n):
            session.add(Ticket(source="w", external_id=f"{prefix}{i}", description="x" * size, content_hash="h"))
        session.commit()
except DatabaseError as exc:
    print(json.dumps({"error": exc.message, "hint": exc.hint}))
    sys.exit(2)
print(json.dumps({"ok": n}))
"""


def _check_ok(url: str) -> None:
    result = run(["db", "check", "--db", url, "--json"])
    assert result.returncode == 0, result.stdout + result.stderr
    assert json.loads(result.stdout)["ok"] is True


def _clear_error(result, *needles: str) -> None:  # type: ignore[no-untyped-def]
    output = (getattr(result, "stdout", "") or "") + (getattr(result, "stderr", "") or "")
    code = getattr(result, "returncode", getattr(result, "exit_code", None))
    assert code == 2, output
    assert "Traceback" not in output
    assert SECRET not in output
    assert result.stderr.startswith("Error: "), result.stderr
    for needle in needles:
        assert needle in result.stderr, result.stderr


# -- PostgreSQL unreachable ------------------------------------------------------------------------------------

DB_COMMANDS = [["db", "info"], ["db", "check"], ["db", "upgrade"], ["db", "info", "--json"]]


@pytest.mark.parametrize("command", DB_COMMANDS, ids=" ".join)
def test_postgresql_on_a_closed_port(cli, command: list[str]) -> None:  # type: ignore[no-untyped-def]
    url = f"postgresql+psycopg://lead:{SECRET}@127.0.0.1:1/butterfly"
    result = cli(*command, "--db", url)
    _clear_error(result, "lead:***@127.0.0.1:1", "Hint: is the database server running")


@pytest.fixture(scope="module")
def cluster() -> Iterator[PrivateCluster]:
    reason = private_cluster_unavailable()
    if reason:
        pytest.skip(f"no private PostgreSQL cluster: {reason}")
    with private_cluster() as c:
        yield c


@pytest.mark.postgres
@pytest.mark.slow
def test_postgresql_server_stopped_then_started_again(cluster: PrivateCluster) -> None:
    url = cluster.create_database("stopped")
    saved = seed(url, tickets=20)
    dispose_engines()
    assert run(["db", "check", "--db", url]).returncode == 0
    cluster.stop()
    try:
        for command in (["db", "info"], ["db", "check"], ["db", "upgrade"]):
            result = run([*command, "--db", url])
            _clear_error(result, f"127.0.0.1:{cluster.port}", "is the database server running")
        writer = run([url, "1", "10", "X"], code=WRITE)
        assert writer.returncode == 2 and "Traceback" not in writer.stderr
        assert "connection" in json.loads(writer.stdout)["error"].lower()
    finally:
        cluster.start()
    assert counts(url) == saved
    _check_ok(url)
    dispose_engines()


@pytest.mark.postgres
@pytest.mark.slow
def test_postgresql_server_stops_in_the_middle_of_work(cluster: PrivateCluster) -> None:
    """A command running when the server goes away: clear error, and every commit before it is still there."""
    url = cluster.create_database("midway")
    seed(url, tickets=3)
    dispose_engines()
    # a child commits one ticket per transaction until it fails
    loop = (
        "import sys, time\n"
        "from butterfly.store.db import open_session\n"
        "from butterfly.errors import DatabaseError\n"
        "from butterfly.store.models import Ticket\n"
        "n = 0\n"
        "try:\n"
        "    with open_session(sys.argv[1]) as s:\n"
        "        while True:\n"
        "            s.add(Ticket(source='loop', external_id=f'L{n}', content_hash='h'))\n"
        "            s.commit()\n"
        "            n += 1\n"
        "            print(n, flush=True)\n"
        "            time.sleep(0.01)\n"
        "except DatabaseError as exc:\n"
        "    print('ERROR', exc.message, flush=True)\n"
        "    sys.exit(2)\n"
    )
    import subprocess
    import sys

    child = subprocess.Popen(
        [sys.executable, "-c", loop, url], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout is not None
        for _ in range(20):  # let it commit a few
            child.stdout.readline()
        cluster.stop()
        out, err = child.communicate(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
        if not cluster.running():
            cluster.start()
    lines = out.strip().splitlines()
    assert child.returncode == 2, err
    assert "Traceback" not in err
    assert lines[-1].startswith("ERROR database error at")
    committed = int(lines[-2]) if len(lines) > 1 and lines[-2].isdigit() else 20
    dispose_engines()
    assert counts(url)["ticket"] - 3 >= committed  # every acknowledged commit survived the stop
    _check_ok(url)
    dispose_engines()


# -- SQLite locked --------------------------------------------------------------------------------------------


def _hold_lock(path: Path, seconds: float, *, journal: str | None = None) -> tuple[threading.Thread, threading.Event]:
    """Another connection holds ``BEGIN EXCLUSIVE`` (with a pending write) until released or ``seconds`` pass."""
    ready, release = threading.Event(), threading.Event()

    def hold() -> None:
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        if journal:
            conn.execute(f"PRAGMA journal_mode = {journal}")
        conn.execute("BEGIN EXCLUSIVE")
        conn.execute("UPDATE ticket SET subject = 'held' WHERE id = 1")
        ready.set()
        # polled with sleep, not release.wait(seconds): under libfaketime (the calendar pass) a wait with a timeout
        # waits until a deadline on the faked clock, a year away
        deadline = time.monotonic() + seconds
        while not release.is_set() and time.monotonic() < deadline:
            time.sleep(0.01)
        conn.execute("ROLLBACK")
        conn.close()

    thread = threading.Thread(target=hold)
    thread.start()
    assert ready.wait(10)
    return thread, release


def test_sqlite_locked_by_another_process_readers_and_writers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A rollback-journal file under BEGIN EXCLUSIVE: reads and writes both give 'database is locked'."""
    path = tmp_path / "team.db"
    url = sqlite_url(path)
    saved = seed(url, tickets=5)
    dispose_engines()
    sqlite3.connect(path).execute("PRAGMA journal_mode = DELETE").close()
    monkeypatch.setenv("BUTTERFLY_SQLITE_BUSY_TIMEOUT", "0.3")
    thread, release = _hold_lock(path, 60)
    try:
        info = run(["db", "info", "--db", url])
        check = run(["db", "check", "--db", url])
        writer = run([url, "1", "10", "X"], code=WRITE)
    finally:
        release.set()
        thread.join()
    for result in (info, check):
        _clear_error(result, "database is locked", "BUTTERFLY_SQLITE_BUSY_TIMEOUT")
    assert writer.returncode == 2 and "database is locked" in json.loads(writer.stdout)["error"]
    assert counts(url) == saved
    _check_ok(url)


def test_sqlite_write_lock_in_wal_mode(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """WAL: readers keep working while another process writes; a second writer gets a clear error."""
    path = tmp_path / "team.db"
    url = sqlite_url(path)
    saved = seed(url, tickets=5)
    dispose_engines()
    monkeypatch.setenv("BUTTERFLY_SQLITE_BUSY_TIMEOUT", "0.3")
    thread, release = _hold_lock(path, 60)
    try:
        info = run(["db", "info", "--db", url, "--json"])
        writer = run([url, "1", "10", "X"], code=WRITE)
    finally:
        release.set()
        thread.join()
    assert info.returncode == 0, info.stderr
    assert json.loads(info.stdout)["tables"]["ticket"] == 5
    assert writer.returncode == 2
    assert json.loads(writer.stdout)["error"].endswith("database is locked")
    assert counts(url) == saved


def test_sqlite_lock_released_within_the_busy_timeout_just_waits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "team.db"
    url = sqlite_url(path)
    seed(url, tickets=5)
    dispose_engines()
    monkeypatch.setenv("BUTTERFLY_SQLITE_BUSY_TIMEOUT", "60")
    thread, _ = _hold_lock(path, 0.5)
    try:
        writer = run([url, "3", "10", "X"], code=WRITE)
    finally:
        thread.join()
    assert writer.returncode == 0, writer.stdout + writer.stderr
    assert counts(url)["ticket"] == 8


# -- read-only ------------------------------------------------------------------------------------------------


def test_sqlite_read_only_file(tmp_path: Path) -> None:
    folder = tmp_path / "shared"
    folder.mkdir()
    path = folder / "team.db"
    url = sqlite_url(path)
    saved = seed(url, tickets=5)
    dispose_engines()
    make_read_only(path)
    try:
        info = run(["db", "info", "--db", url, "--json"], unprivileged=True)
        writer = run([url, "1", "10", "X"], code=WRITE, unprivileged=True)
    finally:
        path.chmod(0o600)
    assert info.returncode == 0, info.stderr  # reading a read-only database works
    assert json.loads(info.stdout)["tables"]["ticket"] == 5
    assert writer.returncode == 2, writer.stdout + writer.stderr
    assert "readonly" in json.loads(writer.stdout)["error"]
    assert counts(url) == saved


def test_sqlite_read_only_file_that_needs_its_schema(tmp_path: Path) -> None:
    """A command that must write (create the schema) on a read-only file: exit 2 with a hint, file unchanged."""
    path = tmp_path / "empty.db"
    sqlite3.connect(path).close()
    make_read_only(path)
    try:
        result = run(["db", "info", "--db", str(path)], unprivileged=True)
    finally:
        path.chmod(0o600)
    _clear_error(result, "readonly", "Hint: the database file or its folder is read-only")
    assert path.stat().st_size == 0


def test_sqlite_read_only_folder(tmp_path: Path) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    existing = folder / "team.db"
    url = sqlite_url(existing)
    saved = seed(url, tickets=5)
    dispose_engines()
    make_read_only(folder)
    try:
        new = run(["db", "upgrade", "--db", str(folder / "new.db")], unprivileged=True)  # db info never creates
        writer = run([url, "1", "10", "X"], code=WRITE, unprivileged=True)
    finally:
        folder.chmod(0o755)
    _clear_error(new, "cannot create the database file", "Permission denied")
    assert not (folder / "new.db").exists()
    assert writer.returncode == 2, writer.stdout + writer.stderr
    assert "Traceback" not in writer.stderr
    assert counts(url) == saved


# -- disk full ------------------------------------------------------------------------------------------------


def test_sqlite_disk_full_on_a_tiny_tmpfs(tmp_path: Path) -> None:
    with tiny_tmpfs(640) as mount:
        if mount is None:
            pytest.skip("cannot mount a tmpfs here (not root); the file-size-limit test covers disk full")
        url = sqlite_url(mount / "team.db")
        saved = seed(url, tickets=5)
        dispose_engines()
        result = run([url, "800", "2000", "F"], code=WRITE)  # ~1.6 MiB into 640 KiB
        assert result.returncode == 2, result.stdout + result.stderr
        error = json.loads(result.stdout)
        assert "database or disk is full" in error["error"]
        assert "disk is full" in error["hint"]
        assert counts(url) == saved
        _check_ok(url)
        dispose_engines()


def test_sqlite_disk_full_by_file_size_limit(tmp_path: Path) -> None:
    """RLIMIT_FSIZE: the kernel refuses to grow the files past the limit (works without privileges)."""
    path = tmp_path / "team.db"
    url = sqlite_url(path)
    saved = seed(url, tickets=5)
    dispose_engines()
    limit = path.stat().st_size + 64 * 1024
    result = run([url, "400", "2000", "F"], code=WRITE, file_size_limit=limit)
    assert result.returncode == 2, result.stdout + result.stderr
    error = json.loads(result.stdout)
    assert "disk" in error["error"]
    assert "intact" in error["hint"]
    assert counts(url) == saved
    _check_ok(url)


def _big_csv(folder: Path, rows: int = 20_000) -> Path:
    import subprocess
    import sys

    path = folder / "tickets.csv"
    root = Path(__file__).resolve().parent.parent
    subprocess.run(
        [
            sys.executable,
            str(root / "benchmarks" / "generate_tickets.py"),
            "--rows",
            str(rows),
            "--seed",
            "5",
            "-o",
            str(path),
        ],
        check=True,
        capture_output=True,
    )
    return path


@pytest.mark.slow
def test_import_onto_a_full_disk_is_a_clear_error(tmp_path: Path) -> None:
    """The importer's own connection: SQLite rolls back by itself on a full disk; no 'cannot rollback' traceback."""
    csv_path = _big_csv(tmp_path)
    with tiny_tmpfs(1024) as mount:
        if mount is not None:
            url = sqlite_url(mount / "team.db")
            saved = seed(url, tickets=5)
            dispose_engines()
            result = run(["import", str(csv_path), "--db", url])
            _clear_error_anywhere(result, "database or disk is full")
            assert counts(url)["ticket"] == saved["ticket"]
            _check_ok(url)
            dispose_engines()
    path = tmp_path / "team.db"
    url = sqlite_url(path)
    saved = seed(url, tickets=5)
    dispose_engines()
    result = run(["import", str(csv_path), "--db", url], file_size_limit=path.stat().st_size + 128 * 1024)
    _clear_error_anywhere(result, "disk I/O error")
    assert counts(url)["ticket"] == saved["ticket"]
    _check_ok(url)


@pytest.mark.slow
def test_a_columnar_first_load_onto_a_full_disk_is_a_clear_error(tmp_path: Path) -> None:
    """A 40 MB first import into an empty database is loaded column by column in a child process: it fails on the
    file size limit, rolls back, hands the file to the record path, which fails the same way with the usual error;
    no ticket, no traceback, the database whole and in WAL mode."""
    import sqlite3
    from contextlib import closing

    csv_path = _big_csv(tmp_path, rows=125_000)
    assert csv_path.stat().st_size > 32 * 1024 * 1024
    path = tmp_path / "team.db"
    url = sqlite_url(path)
    from butterfly.store.db import open_session

    with open_session(url) as session:  # migrated, no tickets: a first load
        session.commit()
    dispose_engines()
    result = run(["import", str(csv_path), "--db", url], file_size_limit=path.stat().st_size + 2 * 1024 * 1024)
    _clear_error_anywhere(result, "disk I/O error")
    assert counts(url)["ticket"] == 0
    with closing(sqlite3.connect(path)) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    _check_ok(url)


def _clear_error_anywhere(result, needle: str) -> None:  # type: ignore[no-untyped-def]
    """Like _clear_error, for commands that print something (the import's column mapping) before failing."""
    assert result.returncode == 2, result.stderr[-1500:]
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error: ")]
    assert errors and needle in errors[0], result.stderr[-1500:]


@pytest.mark.postgres
@pytest.mark.slow
def test_postgresql_server_stops_during_an_import(cluster: PrivateCluster, tmp_path: Path) -> None:
    """The import's own connection dies mid-transaction: one clear error, no pool-reset traceback logged."""
    import subprocess
    import sys

    from faultkit import wait_for

    url = cluster.create_database("importing")
    seed(url, tickets=3)
    dispose_engines()
    csv_path = _big_csv(tmp_path, rows=40_000)
    child = subprocess.Popen(
        [sys.executable, "-m", "butterfly", "import", str(csv_path), "--db", url],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert wait_for(lambda: counts(url)["import_run"] > 0 or child.poll() is not None, timeout=120, step=0.02)
        dispose_engines()
        cluster.stop()
        _, err = child.communicate(timeout=120)
    finally:
        if child.poll() is None:
            child.kill()
        if not cluster.running():
            cluster.start()
    assert child.returncode == 2, err[-2000:]
    assert "Traceback" not in err, err[-3000:]
    errors = [line for line in err.splitlines() if line.startswith("Error: ")]
    assert errors and f"127.0.0.1:{cluster.port}" in errors[0]
    dispose_engines()
    assert counts(url)["ticket"] == 3  # the import's uncommitted batch is gone, the rest is there
    _check_ok(url)
    dispose_engines()
