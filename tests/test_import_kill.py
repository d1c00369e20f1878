"""kill -9 in the middle of an import: the database stays consistent and the same command finishes the job."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROWS = 250_000


def _write_export(path: Path) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        handle.write("id,customer,subject,status,created,closed\n")
        for i in range(ROWS):
            day = 1 + i % 28
            handle.write(
                f"K{i:07d},客户{i % 997},Login fails at store {i % 50},closed,"
                f"2026-09-{day:02d}T08:00:00+08:00,2026-09-{day:02d}T18:30:00+08:00\n"
            )


def _count(url: str) -> tuple[int, int]:
    from sqlalchemy import create_engine, text
    from sqlalchemy.pool import NullPool

    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            total, distinct = conn.execute(text("SELECT count(*), count(DISTINCT external_id) FROM ticket")).one()
            return int(total), int(distinct)
    finally:
        engine.dispose()


def _logged(url: str) -> tuple[int, int]:
    """The records read and tickets created, as the killed run's import log row was last committed."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.pool import NullPool

    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            query = "SELECT rows_read, created FROM import_run WHERE source = 'csv' ORDER BY id DESC LIMIT 1"
            rows_read, created = conn.execute(text(query)).one()
            return int(rows_read), int(created)
    finally:
        engine.dispose()


@pytest.mark.slow
def test_killed_import_leaves_whole_batches_and_a_rerun_completes(db_url: str, tmp_path: Path) -> None:
    export = tmp_path / "big.csv"
    _write_export(export)
    env = {**os.environ, "CI": "true"}
    # a ticket from elsewhere first: the table is not empty, so the import commits batch by batch
    other = tmp_path / "other.csv"
    other.write_text("id,subject\nX1,from another export\n", encoding="utf-8")
    subprocess.run(
        [sys.executable, "-m", "butterfly", "import", str(other), "--db", db_url, "--source", "other"],
        env=env,
        check=True,
        capture_output=True,
    )
    command = [sys.executable, "-m", "butterfly", "import", str(export), "--db", db_url, "--json"]
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    committed = 0
    deadline = time.monotonic() + 600  # the first commit: minutes on a busy machine
    try:
        while time.monotonic() < deadline and process.poll() is None:
            committed = _count(db_url)[0] - 1
            if committed > 0:
                break
            time.sleep(0.01)
        assert process.poll() is None, "the import finished before it could be killed"
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.wait(timeout=30)
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()
    assert process.returncode == -signal.SIGKILL
    total, distinct = _count(db_url)
    total, distinct = total - 1, distinct - 1  # without X1
    assert 0 < total < ROWS, "the kill should land between batches"
    assert total == distinct
    # whole transactions only, never half of one: the tickets and the import log's counters commit together
    # (batch ends need not fall on round numbers: a large file is prepared in parts by several processes)
    assert (total, total) == _logged(db_url)
    assert total >= 100_000  # a commit after every 100,000 records or more
    if db_url.startswith("sqlite"):
        import sqlite3

        path = db_url.split(":///", 1)[1]
        with sqlite3.connect(path) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)

    rerun = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert rerun.returncode == 0, rerun.stderr
    import json

    summary = json.loads(rerun.stdout)
    assert summary["new"] + summary["unchanged"] == ROWS
    assert summary["unchanged"] == total
    assert _count(db_url) == (ROWS + 1, ROWS + 1)


def _indexes(path: str) -> list[tuple[str, str]]:
    import sqlite3

    with sqlite3.connect(path) as conn:
        return sorted(conn.execute("SELECT name, sql FROM sqlite_master WHERE tbl_name = 'ticket' AND type = 'index'"))


@pytest.mark.slow
def test_a_first_large_load_is_one_transaction_that_keeps_the_indexes(
    sqlite_url_fixture: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A big first import into an empty table defers its indexes; stopped half-way, nothing changed at all.

    This is the record-by-record first load (the columnar one is tested in test_import_columnar.py)."""
    from butterfly.importers import bulk, columnar, csv_import, import_files
    from butterfly.store.db import open_session

    export = tmp_path / "first.csv"
    _write_export(export)
    monkeypatch.setattr(csv_import, "INITIAL_LOAD_BYTES", 1)  # this file counts as large
    monkeypatch.setattr(columnar, "unavailable", lambda: "this test is about the record path")
    path = sqlite_url_fixture.split(":///", 1)[1]
    with open_session(sqlite_url_fixture) as session:
        session.commit()
    before = _indexes(path)
    assert any(name == "ix_ticket_customer_created_at" for name, _ in before)

    calls = 0
    original = bulk.TicketWriter.write

    def write_then_stop(self, rows):  # type: ignore[no-untyped-def]
        nonlocal calls
        calls += 1
        if calls == 8:  # 8 x 20k lines in: well past a batch commit's worth
            raise KeyboardInterrupt
        return original(self, rows)

    monkeypatch.setattr(bulk.TicketWriter, "write", write_then_stop)
    with pytest.raises(KeyboardInterrupt), open_session(sqlite_url_fixture) as session:
        import_files(session=session, paths=[export])
    assert _count(sqlite_url_fixture) == (0, 0)
    assert _indexes(path) == before  # the dropped indexes came back with the rollback

    monkeypatch.setattr(bulk.TicketWriter, "write", original)
    with open_session(sqlite_url_fixture) as session:
        summary = import_files(session=session, paths=[export])
    assert summary.total("created") == ROWS
    assert _count(sqlite_url_fixture) == (ROWS, ROWS)
    assert _indexes(path) == before


@pytest.mark.slow
def test_ctrl_c_keeps_committed_batches_and_says_so(sqlite_url_fixture: str, tmp_path: Path) -> None:
    export = tmp_path / "big.csv"
    _write_export(export)
    env = {**os.environ, "CI": "true"}
    other = tmp_path / "other.csv"
    other.write_text("id,subject\nX1,from another export\n", encoding="utf-8")
    base = [sys.executable, "-m", "butterfly", "import"]
    subprocess.run([*base, str(other), "--db", sqlite_url_fixture], env=env, check=True, capture_output=True)
    process = subprocess.Popen(
        [*base, str(export), "--db", sqlite_url_fixture], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    deadline = time.monotonic() + 600  # the first commit: minutes on a busy machine
    while time.monotonic() < deadline and process.poll() is None and _count(sqlite_url_fixture)[0] <= 1:
        time.sleep(0.01)
    assert process.poll() is None, "the import finished before it could be interrupted"
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130
    assert "stopped by user: the batches committed so far are kept" in stderr.decode()
    kept = _count(sqlite_url_fixture)[0] - 1
    assert 0 < kept < ROWS and kept % 100_000 == 0
    rerun = subprocess.run([*base, str(export), "--db", sqlite_url_fixture], env=env, capture_output=True, check=False)
    assert rerun.returncode == 0
    assert _count(sqlite_url_fixture) == (ROWS + 1, ROWS + 1)
