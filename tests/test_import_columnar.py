"""The columnar first load (pyarrow + ADBC) stores exactly what the record-by-record path stores, and gives every
file it should not take back to that path.

SQLite only: the columnar load is the embedded database's first-import path; PostgreSQL imports use COPY.
"""

from __future__ import annotations

import contextlib
import csv
import io
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from butterfly.errors import FileProblemsError
from butterfly.importers import columnar, csv_import, import_files
from butterfly.importers.service import ImportSummary
from butterfly.store.db import dispose_engines, open_session, sqlite_url

HEADER = ["id", "customer", "subject", "description", "category", "tags", "status", "created", "closed", "note"]

# every time format the importer reads, and the edges where Arrow and Python could disagree
TIMES = [
    "2026-10-05T09:12:00+08:00",
    "2026-10-05 09:12:00+08:00",
    "2026-10-05T09:12:00Z",
    "2026-10-05T09:12:00+0800",
    "2026-10-05T09:12:00-03:30",
    "2026-10-05T09:12:00",
    "2026-10-05 09:12:00",
    "2026-10-05 09:12",
    "2026-10-05",
    "2026-10-05T09:12:00.250+08:00",
    "25-10-2026 09:12",  # day first: the column's order is decided from it
    "29/2/2016 1:16",
    "10/Mar/24 1:15 PM",
    "9998-12-31T23:59:59-12:00",  # year 9998: the last the Arrow kernels take (9999 may end in year 10000)
    "2026/10/05 09:12",
    "2026年10月05日 09:12",
    "1791170000",
    "2024-02-29T23:59:59+08:00",
    "2026-12-31T23:30:00-01:00",
    "?",
    "",
]
STATUSES = ["closed", "Closed", "已关闭", "solved", "resolved", "pending", "open", ""]
TAGS = ["billing;invoice", "a, b", '["x", "y"]', "发票、导出", "", "one"]
TEXTS = [
    "Login fails",
    "发票导出失败，提示“模板不存在”",
    'quoted "word", and a comma',
    "two\nlines",
    "windows\r\nline",
    "  padded  ",
    "",
    "emoji 🦋",
]


def _rows(n: int) -> list[list[str]]:
    rows = []
    for i in range(n):
        rows.append(
            [
                f" T-{i % (n - 7):05d} " if i % 97 == 0 else f"T-{i % (n - 7):05d}",  # 7 repeated ids: later wins
                f"客户{i % 13}" if i % 3 else f"Customer {i % 11}",
                TEXTS[i % len(TEXTS)],
                TEXTS[(i * 7) % len(TEXTS)] * (1 + i % 3),
                f"cat{i % 5}",
                TAGS[i % len(TAGS)],
                STATUSES[i % len(STATUSES)],
                TIMES[i % len(TIMES)],
                TIMES[(i * 5 + 3) % len(TIMES)],
                "" if i % 4 else f"extra {i}",  # not mapped: kept in raw
            ]
        )
    return rows


def _write(path: Path, rows: list[list[str]], header: list[str] = HEADER, encoding: str = "utf-8") -> Path:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n" if "crlf" in path.name else "\n")
    writer.writerow(header)
    writer.writerows(rows)
    path.write_bytes(buffer.getvalue().encode(encoding))
    return path


@pytest.fixture(autouse=True)
def _template(sqlite_template: Path) -> None:
    global TEMPLATE
    TEMPLATE = sqlite_template


TEMPLATE: Path | None = None


def _new_db(tmp_path: Path, name: str) -> str:
    """A migrated SQLite file (a copy of the session's template)."""
    assert TEMPLATE is not None
    path = tmp_path / f"{name}.db"
    shutil.copyfile(TEMPLATE, path)
    os.chmod(path, 0o600)
    return sqlite_url(path)


def _import(url: str, path: Path, **kwargs: Any) -> ImportSummary:
    with open_session(url) as session:
        summary = import_files(session=session, paths=[path], **kwargs)
    dispose_engines()
    return summary


def _tickets(url: str) -> list[tuple[Any, ...]]:
    skip = {"id", "imported_at", "import_id"}
    with _connect(url.split(":///", 1)[1]) as conn:
        columns = [r[1] for r in conn.execute("PRAGMA table_info(ticket)") if r[1] not in skip]
        return conn.execute(f"SELECT {', '.join(columns)} FROM ticket ORDER BY source, external_id").fetchall()


def _connect(path: str | Path, timeout: float = 5.0) -> contextlib.closing[sqlite3.Connection]:
    return contextlib.closing(sqlite3.connect(path, timeout=timeout))


def _pragma(url: str, name: str) -> Any:
    with _connect(url.split(":///", 1)[1]) as conn:
        return conn.execute(f"PRAGMA {name}").fetchone()[0]


@pytest.fixture
def large(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every file counts as a large first load (the columnar path starts at 32 MB)."""
    monkeypatch.setattr(csv_import, "INITIAL_LOAD_BYTES", 1)


def _record_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(columnar, "unavailable", lambda: "forced by the test")


@pytest.mark.parametrize("timezone", [None, "Asia/Shanghai"])
@pytest.mark.parametrize("name", ["tickets.csv", "tickets-crlf.csv"])
def test_columnar_load_stores_what_the_record_path_stores(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, large: None, timezone: str | None, name: str
) -> None:
    export = _write(tmp_path / name, _rows(3000))
    fast_db, slow_db = _new_db(tmp_path, "fast"), _new_db(tmp_path, "slow")

    fast = _import(fast_db, export, timezone=timezone)
    assert fast.files[0].method == "columns", fast.files[0].note
    with monkeypatch.context() as m:
        _record_path(m)
        slow = _import(slow_db, export, timezone=timezone)
    assert slow.files[0].method == "records"

    stored = _tickets(fast_db)
    assert stored == _tickets(slow_db)
    assert len(stored) == 3000 - 7
    assert (fast.files[0].rows_read, fast.files[0].created, fast.files[0].rejected) == (3000, 3000 - 7, 0)
    assert slow.files[0].created == fast.files[0].created
    # the file really held what this test is about
    assert any(row[4] == "windows\r\nline" for row in stored)  # subject
    assert any(row[15] is not None and row[15].endswith(".250000") for row in stored)  # created_at from .250


def test_a_reimport_after_a_columnar_load_finds_every_ticket_unchanged(
    tmp_path: Path, large: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    export = _write(tmp_path / "tickets.csv", _rows(2000))
    url = _new_db(tmp_path, "db")
    first = _import(url, export)
    assert first.files[0].method == "columns"
    again = _import(url, export)  # the table is not empty: record by record, comparing content hashes
    assert again.files[0].method == "records"
    assert (again.total("created"), again.total("updated"), again.total("unchanged")) == (0, 0, 2000 - 7)

    changed = _rows(2000)
    changed[10][2] = "a new subject"
    again = _import(url, _write(tmp_path / "tickets.csv", changed))
    assert (again.total("created"), again.total("updated")) == (0, 1)


def test_the_database_is_back_in_wal_mode_private_and_whole(tmp_path: Path, large: None) -> None:
    url = _new_db(tmp_path, "db")
    before = _pragma(url, "journal_mode")
    summary = _import(url, _write(tmp_path / "tickets.csv", _rows(500)))
    assert summary.files[0].method == "columns"
    path = Path(url.split(":///", 1)[1])
    assert before == "wal" and _pragma(url, "journal_mode") == "wal"
    assert _pragma(url, "integrity_check") == "ok"
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert not Path(f"{path}-journal").exists()
    with _connect(path) as conn:
        names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE tbl_name = 'ticket'")}
        run = conn.execute("SELECT status, rows_read, created, updated, unchanged FROM import_run").fetchone()
    assert {"ix_ticket_customer_created_at", "ix_ticket_status_closed_at", "ix_ticket_category_closed_at"} <= names
    assert run == ("done", 500, 500 - 7, 0, 0)
    assert summary.files[0].duplicates == 7  # the 7 later records of a repeated id: duplicates, the last wins
    assert summary.files[0].accounted == 500


def test_with_another_connection_open_the_load_stays_in_wal_mode(
    tmp_path: Path, large: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = _new_db(tmp_path, "db")
    journals: list[str] = []
    original = columnar.load_in_child

    def spy(*args: Any, **kwargs: Any) -> columnar.Loaded:
        loaded = original(*args, **kwargs)
        journals.append(loaded.journal)
        return loaded

    monkeypatch.setattr(columnar, "load_in_child", spy)
    reader = sqlite3.connect(url.split(":///", 1)[1])  # e.g. a reviewer, idle (the load runs in its own process)
    try:
        reader.execute("SELECT count(*) FROM ticket").fetchone()
        summary = _import(url, _write(tmp_path / "tickets.csv", _rows(500)))
    finally:
        reader.close()
    assert summary.files[0].method == "columns"
    assert journals == ["wal"]
    assert len(_tickets(url)) == 500 - 7


BROKEN = {
    "wrong width": ("T-9,only two\n", 3, "has 2 fields"),
    "missing id": (",Customer,subject,,c,,closed,2026-10-05T09:12:00Z,,\n", 3, "missing id"),
    "bad time": ("T-9,C,s,d,c,,closed,2026-02-30T09:12:00Z,,\n", 3, "created (column 'created')"),
    "unknown status": ("T-9,C,s,d,c,,weird,,,\n", 3, "unknown status 'weird'"),
    "text after a closing quote": ('T-9,C,"s"x,d,c,,closed,,,\n', 3, "bad quoting"),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_a_file_with_a_bad_record_goes_record_by_record_and_the_record_is_rejected_by_line(
    tmp_path: Path, large: None, case: str
) -> None:
    line, number, reason = BROKEN[case]
    export = tmp_path / "tickets.csv"
    good = "T-1,C,s,d,c,,closed,2026-10-05T09:12:00Z,,\n"
    export.write_text(",".join(HEADER) + "\n" + good + line + good.replace("T-1", "T-2"), encoding="utf-8")
    url = _new_db(tmp_path, "db")
    summary = _import(url, export)
    f = summary.files[0]
    assert f.method == "records" and f.note
    assert (f.created, f.rejected) == (2, 1)
    assert [p.line for p in summary.problems] == [number]
    assert reason in summary.problems[0].message
    rejects = Path(summary.rejects_path or "").read_text(encoding="utf-8")
    assert line.strip() in rejects


def test_a_quote_inside_unquoted_text_is_imported_record_by_record(tmp_path: Path, large: None) -> None:
    export = tmp_path / "tickets.csv"
    export.write_text(",".join(HEADER) + '\nT-1,C,a 5" screen,d,c,,closed,,,\n', encoding="utf-8")
    url = _new_db(tmp_path, "db")
    summary = _import(url, export)
    assert summary.files[0].method == "records" and "quote" in (summary.files[0].note or "")
    assert _tickets(url)[0][4] == 'a 5" screen'


def test_a_gbk_file_goes_record_by_record(tmp_path: Path, large: None) -> None:
    export = _write(
        tmp_path / "tickets.csv",
        [["T-1", "华星物流", "发票导出失败", "", "", "", "closed", "", "", ""]],
        encoding="gbk",
    )
    url = _new_db(tmp_path, "db")
    summary = _import(url, export, encoding="gbk")
    assert summary.files[0].method == "records" and "UTF-8" in (summary.files[0].note or "")
    assert _tickets(url)[0][2] == "华星物流"


def test_strict_imports_go_record_by_record(tmp_path: Path, large: None) -> None:
    url = _new_db(tmp_path, "db")
    rows = _rows(100)
    summary = _import(url, _write(tmp_path / "tickets.csv", rows[:93]), strict=True)  # no repeated id
    assert summary.files[0].method == "records"
    assert summary.total("created") == 93
    with pytest.raises(FileProblemsError, match="7 record"):  # --strict refuses repeated ids
        _import(url, _write(tmp_path / "again.csv", rows), strict=True)


def test_ctrl_c_during_a_columnar_load_leaves_nothing_and_a_rerun_finishes(
    tmp_path: Path, large: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(columnar, "BLOCK_BYTES", 16 * 1024)  # many batches
    export = _write(tmp_path / "tickets.csv", _rows(3000))
    url = _new_db(tmp_path, "db")
    path = url.split(":///", 1)[1]
    with _connect(path) as conn:
        indexes = sorted(conn.execute("SELECT name, sql FROM sqlite_master WHERE tbl_name = 'ticket'"))

    seen: list[int] = []

    def progress(_path: str, _done: int, _total: int, records: int) -> None:
        seen.append(records)
        if len(seen) == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        _import(url, export, progress=progress)
    assert seen[-1] > 0
    assert _tickets(url) == []
    with _connect(path) as conn:
        assert sorted(conn.execute("SELECT name, sql FROM sqlite_master WHERE tbl_name = 'ticket'")) == indexes
        assert conn.execute("SELECT status FROM import_run").fetchall() == [("interrupted",)]
    assert _pragma(url, "journal_mode") == "wal"

    summary = _import(url, export)
    assert summary.files[0].method == "columns"
    assert len(_tickets(url)) == 3000 - 7


@pytest.mark.slow
def test_kill_9_during_a_columnar_load_and_a_rerun_leaves_every_ticket_once(tmp_path: Path) -> None:
    """A real process, a file over the 32 MB threshold, killed while its load transaction is open (kill -9 reaches
    the importing process only; its load process must notice and roll back rather than commit)."""
    rows = 110_000
    export = tmp_path / "big.csv"
    with export.open("w", encoding="utf-8", newline="") as handle:
        handle.write(",".join(HEADER) + "\n")
        body = "门店收银台无法登录，提示会话过期。" * 8
        for i in range(rows):
            handle.write(
                f"K{i:07d},客户{i % 997},Login fails at store {i % 50},{body},c{i % 9},a;b,closed,"
                f"2026-09-{1 + i % 28:02d}T08:00:00+08:00,2026-09-{1 + i % 28:02d}T18:30:00+08:00,\n"
            )
    assert export.stat().st_size > csv_import.INITIAL_LOAD_BYTES
    url = _new_db(tmp_path, "db")
    db_path = Path(url.split(":///", 1)[1])
    journal = Path(f"{db_path}-journal")
    command = [sys.executable, "-m", "butterfly", "import", str(export), "--db", url, "--json"]
    env = {**os.environ, "CI": "true"}
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None and not journal.exists():
        time.sleep(0.002)  # the rollback journal appears once the load's transaction writes
    assert process.poll() is None, process.communicate()
    time.sleep(0.3)
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=30)
    # the load process sees its importer gone at its next batch and rolls back; a reader waits for its locks
    with _connect(db_path, timeout=60) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("SELECT count(*) FROM ticket").fetchone()[0] == 0
    rerun = subprocess.run(command, env=env, capture_output=True, check=False)
    assert rerun.returncode == 0, rerun.stderr.decode()
    with _connect(db_path) as conn:
        total, distinct = conn.execute("SELECT count(*), count(DISTINCT external_id) FROM ticket").fetchone()
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert total == distinct == rows
    assert '"method": "columns"' in rerun.stdout.decode()


cell = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=20)
time_cell = st.one_of(st.sampled_from(TIMES), st.datetimes().map(lambda d: d.isoformat(timespec="seconds")))


@pytest.mark.slow
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(cell, cell, cell, st.sampled_from(STATUSES), time_cell, cell), min_size=1, max_size=30))
def test_random_records_are_stored_the_same_by_both_paths(
    tmp_path_factory: pytest.TempPathFactory, records: list[tuple[str, ...]]
) -> None:
    tmp_path = tmp_path_factory.mktemp("columnar")
    rows = [[f"R{i}", c, s, d, "", "", status, t, "", note] for i, (c, s, d, status, t, note) in enumerate(records)]
    export = _write(tmp_path / "random.csv", rows)
    fast_db, slow_db = _new_db(tmp_path, "fast"), _new_db(tmp_path, "slow")
    with pytest.MonkeyPatch.context() as m:
        m.setattr(csv_import, "INITIAL_LOAD_BYTES", 1)
        fast = _import(fast_db, export)
        _record_path(m)
        slow = _import(slow_db, export)
    assert _tickets(fast_db) == _tickets(slow_db)
    assert fast.total("rejected") == slow.total("rejected")


@pytest.mark.parametrize("blocked", ["pyarrow", "adbc_driver_sqlite"])
def test_without_the_fast_import_extra_a_large_first_load_says_what_installing_it_buys(
    tmp_path: Path, blocked: str
) -> None:
    """The default install has no pyarrow: the record path stores everything, and one line names the extra.

    A fresh process where the module cannot be imported (``sys.modules[name] = None`` before butterfly is loaded,
    exactly what Python does for a missing package), so nothing imported earlier in the test session hides it.
    """
    export = _write(tmp_path / "tickets.csv", _rows(200))
    db = _new_db(tmp_path, "plain")
    script = (
        "import sys\n"
        f"sys.modules[{blocked!r}] = None\n"
        "from butterfly.importers import csv_import\n"
        "csv_import.INITIAL_LOAD_BYTES = 1  # every file counts as a large first load\n"
        "from butterfly.cli import main\n"
        "sys.argv = ['butterfly', *sys.argv[1:]]\n"
        "main()\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script, "import", str(export), "--db", db],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "COLUMNS": "200"},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    hints = [line for line in result.stderr.splitlines() if "butterfly-check[fast-import]" in line]
    assert len(hints) == 1 and blocked in hints[0], result.stderr
    assert len(_tickets(db)) == 200 - 7
