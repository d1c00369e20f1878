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


@pytest.mark.slow
def test_killed_import_leaves_whole_batches_and_a_rerun_completes(db_url: str, tmp_path: Path) -> None:
    export = tmp_path / "big.csv"
    _write_export(export)
    command = [sys.executable, "-m", "butterfly", "import", str(export), "--db", db_url, "--json"]
    env = {**os.environ, "CI": "true"}
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    committed = 0
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline and process.poll() is None:
            committed = _count(db_url)[0]
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
    assert 0 < total < ROWS, "the kill should land between batches"
    assert total == distinct
    assert total % 100_000 == 0  # whole transactions only, never half of one
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
    assert _count(db_url) == (ROWS, ROWS)
