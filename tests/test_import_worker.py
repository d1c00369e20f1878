"""The record path's worker process (butterfly.importers.csv_batches): a first load whose batches are prepared in a
second process stores exactly what the importing process alone stores, and counts and rejects the same records."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from butterfly.errors import InvalidInputError
from butterfly.importers import csv_batches, import_files
from butterfly.store.db import dispose_engines, open_session

LINES = 45_000  # three batches of 20,000 lines


def _export(path: Path) -> Path:
    """A CSV of three batches with what the record path must handle: a record spanning two lines, a wrong width,
    an id repeated in a later batch (once changed, once the same record again), an impossible date, an unknown
    status, Chinese text."""
    written: dict[int, str] = {}
    with path.open("w", encoding="utf-8", newline="") as handle:
        handle.write("id,customer,subject,status,created,closed,note\n")
        for i in range(LINES):
            line = i + 2
            ticket = f"W{i:06d}"
            day = 1 + i % 28
            created, closed, status = f"2026-09-{day:02d}T08:00:00+08:00", f"2026-09-{day:02d} 18:30", "closed"
            note = f"备注 {i % 13}" if i % 3 else ""
            if line == 25_000:
                handle.write(f"{ticket},only three,fields\n")
                continue
            elif line == 30_000:
                ticket = "W000100"  # the record of line 102 again, changed: the last one wins
            elif line == 35_000:
                handle.write(written[202])  # the record of line 202 again, unchanged
                continue
            elif line == 41_000:
                created = "2026-02-30T08:00:00Z"
            elif line == 42_000:
                status = "weird"
            elif line == 43_000:
                note = '"two\nlines"'  # from here on the physical lines are one further on
            written[line] = f"{ticket},客户{i % 97},Login fails {i % 50},{status},{created},{closed},{note}\n"
            handle.write(written[line])
    return path


def _rows(url: str) -> list[tuple[Any, ...]]:
    from sqlalchemy import create_engine, text
    from sqlalchemy.pool import NullPool

    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            names = list(conn.execute(text("SELECT * FROM ticket WHERE 1 = 0")).keys())
            keep = [c for c in names if c not in ("id", "import_id", "imported_at")]
            query = f"SELECT {', '.join(keep)} FROM ticket ORDER BY external_id"
            return [tuple(r) for r in conn.execute(text(query))]
    finally:
        engine.dispose()


def _clear(url: str) -> None:
    from sqlalchemy import create_engine, text
    from sqlalchemy.pool import NullPool

    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM ticket"))
            conn.execute(text("DELETE FROM import_run"))
    finally:
        engine.dispose()


def _import(url: str, path: Path, rejects: Path) -> tuple[dict[str, Any], list[str], str]:
    with open_session(url) as session:
        summary = import_files(session=session, paths=[path], rejects=rejects)
    dispose_engines()
    f = summary.files[0]
    buckets = {
        name: getattr(f, name)
        for name in (
            "rows_read",
            "created",
            "updated",
            "unchanged",
            "duplicates",
            "duplicate_ids",
            "skipped",
            "rejected",
        )
    }
    assert f.accounted == f.rows_read
    return buckets, [str(p) for p in summary.problems], rejects.read_text(encoding="utf-8")


def _large(monkeypatch: pytest.MonkeyPatch) -> None:
    """The file counts as a large first load (one transaction, indexes at the end) on the record path."""
    from butterfly.importers import columnar, csv_import

    monkeypatch.setattr(csv_import, "INITIAL_LOAD_BYTES", 1)
    monkeypatch.setattr(columnar, "unavailable", lambda: "this test is about the record path")


@pytest.mark.parametrize("large", [False, True])
def test_a_first_load_prepared_by_the_worker_stores_and_counts_the_same(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, large: bool
) -> None:
    """The same tickets, counts, listed duplicates and rejects with or without the worker; on SQLite, a large first
    load (one transaction) gets its rows as database images (staging), and a smaller one, committed batch by
    batch while other writers may write, does not."""
    if large:
        _large(monkeypatch)
    export = _export(tmp_path / "tickets.csv")
    started: list[str] = []
    staged: list[bool] = []
    real_worker = csv_batches.Worker

    class Spy(real_worker):  # type: ignore[misc,valid-type]
        def __init__(self, job: csv_batches.WorkerJob, spare: csv_batches.Spare | None = None, count: int = 1) -> None:
            started.append(job.path)
            staged.append(job.stage is not None)
            super().__init__(job, spare, count)

    monkeypatch.setattr(csv_batches, "Worker", Spy)

    monkeypatch.setattr(csv_batches, "WORKER_BYTES", 1 << 40)  # this process alone
    alone = _import(db_url, export, tmp_path / "alone.rejects.txt")
    alone_rows = _rows(db_url)
    assert started == []
    _clear(db_url)

    monkeypatch.setattr(csv_batches, "WORKER_BYTES", 1)  # batches from the worker process
    with_worker = _import(db_url, export, tmp_path / "worker.rejects.txt")
    assert started == [str(export)]
    assert staged == [large and db_url.startswith("sqlite")]
    assert _rows(db_url) == alone_rows
    assert with_worker == alone
    buckets, problems, rejects = with_worker
    assert buckets["rejected"] == 3 and buckets["duplicates"] == 2
    assert buckets["duplicate_ids"] == ["W000100", "W000200"]
    assert buckets["created"] == LINES - 3 - 2
    assert any(":25000:" in p and "has 3 fields" in p for p in problems)
    assert "# line 41000:" in rejects and "# line 42000: unknown status 'weird'" in rejects


def _in_parts(monkeypatch: pytest.MonkeyPatch, workers: int) -> None:
    """Imports prepared by ``workers`` worker processes, the file cut into parts of 64 KB (about 1,000 lines)."""
    from butterfly.importers import csv_chunks

    monkeypatch.setattr(csv_batches, "WORKER_BYTES", 1)
    monkeypatch.setattr(csv_chunks, "PART_BYTES", 64 * 1024)
    monkeypatch.setattr(csv_batches, "workers_for", lambda size, codec, header_lines: workers)


@pytest.mark.parametrize(
    ("workers", "stray_quote", "large"), [(2, False, True), (3, True, True), (2, True, False), (3, False, False)]
)
def test_a_first_load_prepared_in_parts_by_several_workers_stores_and_counts_the_same(
    sqlite_url_fixture: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    workers: int,
    stray_quote: bool,
    large: bool,
) -> None:
    """Parts prepared by several processes at once are written in file order: the same tickets, the same counts
    (a repeated id across parts, rejects by line), the same rejects file. A ``"`` inside an unquoted field (which
    the csv module keeps as text) makes a cut by counting quotes fall inside a record: the worker of that part
    reads on to the end of the file and the result is still the same."""
    if large:  # one transaction: the rows come as database images
        _large(monkeypatch)
    export = _export(tmp_path / "tickets.csv")
    if stray_quote:
        text = export.read_text(encoding="utf-8").splitlines(keepends=True)
        text[5_000] = text[5_000].replace("Login fails", 'Login "fails', 1)
        text[5_100] = text[5_100].rsplit(",", 1)[0] + ',"first\nsecond"\n'  # a quoted field of two lines
        export.write_text("".join(text), encoding="utf-8")
    monkeypatch.setattr(csv_batches, "WORKER_BYTES", 1 << 40)  # this process alone
    alone = _import(sqlite_url_fixture, export, tmp_path / "alone.rejects.txt")
    alone_rows = _rows(sqlite_url_fixture)
    _clear(sqlite_url_fixture)

    _in_parts(monkeypatch, workers)
    staged: list[bool] = []
    real_init = csv_batches.Worker.__init__

    def spy(self: csv_batches.Worker, job: csv_batches.WorkerJob, *args: Any, **kwargs: Any) -> None:
        staged.append(job.stage is not None)
        real_init(self, job, *args, **kwargs)

    monkeypatch.setattr(csv_batches.Worker, "__init__", spy)
    in_parts = _import(sqlite_url_fixture, export, tmp_path / "parts.rejects.txt")
    assert staged == [large]
    assert _rows(sqlite_url_fixture) == alone_rows
    assert in_parts == alone
    assert in_parts[0]["duplicates"] == 2 and in_parts[0]["rows_read"] == LINES
    assert in_parts[0]["duplicate_ids"] == ["W000100", "W000200"]


def test_a_header_alone_is_never_cut_into_parts(
    sqlite_url_fixture: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file of one long line (a header and no records): there is nothing after the header to share, so it is
    not cut into parts; cut from its first byte, the header itself would be read as a record."""
    export = tmp_path / "header.csv"
    export.write_text("id,subject," + ",".join(f"column {i}" for i in range(20_000)), encoding="utf-8")
    _in_parts(monkeypatch, 2)
    with open_session(sqlite_url_fixture) as session:
        summary = import_files(session=session, paths=[export], rejects=tmp_path / "rejects.txt")
    dispose_engines()
    assert (summary.files[0].rows_read, summary.files[0].created) == (0, 0)
    assert _rows(sqlite_url_fixture) == []


def test_a_file_the_worker_cannot_read_is_named_as_without_it(
    tmp_path: Path, sqlite_url_fixture: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    export = _export(tmp_path / "tickets.csv")
    with export.open("ab") as handle:
        handle.write(b"W999999,\xff\xfe broken,subject,closed,,,\n")  # not UTF-8, on line LINES + 3
    messages = []
    for threshold in (1 << 40, 1, 0):
        if threshold:
            monkeypatch.setattr(csv_batches, "WORKER_BYTES", threshold)
        else:
            _in_parts(monkeypatch, 2)  # the broken line is in the last part, read by the second worker
        with pytest.raises(InvalidInputError) as caught, open_session(sqlite_url_fixture) as session:
            import_files(session=session, paths=[export], encoding="utf-8")
        dispose_engines()
        messages.append(str(caught.value))
    assert messages[0] == messages[1] == messages[2]
    assert f"{export}:{LINES + 3}:" in messages[1]
    assert _rows(sqlite_url_fixture) == []  # nothing half-imported


def _pragma(path: str, name: str) -> str:
    import sqlite3

    with sqlite3.connect(path) as conn:
        return str(conn.execute(f"PRAGMA {name}").fetchone()[0])


@pytest.mark.parametrize("reader_open", [False, True])
def test_a_record_path_first_load_runs_in_rollback_journal_mode_alone_and_leaves_wal(
    sqlite_url_fixture: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, reader_open: bool
) -> None:
    """A first load into an empty table switches the file out of WAL mode while nothing else has it open (each
    page written once), and back afterwards; with another connection open it stays in WAL mode. Same tickets."""
    import sqlite3

    from butterfly.importers import bulk, columnar, csv_import

    monkeypatch.setattr(csv_import, "INITIAL_LOAD_BYTES", 1)  # this file counts as large
    monkeypatch.setattr(columnar, "unavailable", lambda: "this test is about the record path")
    switched: list[bool] = []
    original = bulk.BulkConnection.rollback_journal

    def spy(self: bulk.BulkConnection) -> bool:
        switched.append(original(self))
        return switched[-1]

    monkeypatch.setattr(bulk.BulkConnection, "rollback_journal", spy)
    export = _export(tmp_path / "tickets.csv")
    path = sqlite_url_fixture.split(":///", 1)[1]
    with open_session(sqlite_url_fixture) as session:
        session.commit()
    dispose_engines()
    reader = sqlite3.connect(path) if reader_open else None
    try:
        if reader is not None:
            reader.execute("BEGIN")
            reader.execute("SELECT count(*) FROM ticket").fetchone()  # a reader in the middle of a transaction
        buckets, _, _ = _import(sqlite_url_fixture, export, tmp_path / "rejects.txt")
    finally:
        if reader is not None:
            reader.close()
    assert switched == [not reader_open]
    assert buckets["created"] == LINES - 3 - 2 and buckets["rejected"] == 3
    assert _pragma(path, "journal_mode") == "wal"
    assert _pragma(path, "integrity_check") == "ok"
    assert not Path(f"{path}-journal").exists()
    with sqlite3.connect(path) as conn:
        names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE tbl_name = 'ticket'")}
    assert {"ix_ticket_customer_created_at", "ix_ticket_status_closed_at", "ix_ticket_category_closed_at"} <= names


def test_an_in_memory_database_is_never_released_for_the_journal_switch() -> None:
    """Releasing the connections of an in-memory SQLite database would drop it: it keeps its journal and data."""
    from sqlalchemy import create_engine
    from sqlalchemy.pool import StaticPool

    from butterfly.importers.bulk import BulkConnection

    engine = create_engine("sqlite://", poolclass=StaticPool)
    db = BulkConnection(engine, tz="UTC")
    try:
        db.execute("CREATE TABLE kept (x)")
        db.execute("INSERT INTO kept VALUES (1)")
        db.commit()
        assert db.rollback_journal() is False
        assert db.execute("SELECT x FROM kept").fetchall() == [(1,)]
    finally:
        db.close()
        engine.dispose()
