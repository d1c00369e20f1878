"""Generic CSV import: mapping, idempotence, updates, dates, statuses, rejects and exit codes (SQLite and PostgreSQL)."""

from __future__ import annotations

import csv
import io
import json
import os
import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "tickets.csv"


def _tickets(db_url: str) -> dict[str, object]:
    from sqlmodel import select

    from butterfly.store.db import open_session
    from butterfly.store.models import Ticket

    with open_session(db_url) as session:
        return {t.external_id: t for t in session.exec(select(Ticket)).all()}


def _runs(db_url: str) -> list[object]:
    from sqlmodel import select

    from butterfly.store.db import open_session
    from butterfly.store.models import ImportRun

    with open_session(db_url) as session:
        return list(session.exec(select(ImportRun).order_by(ImportRun.id)).all())  # type: ignore[arg-type]


def _summary(result) -> dict[str, object]:  # type: ignore[no-untyped-def]
    return json.loads(result.stdout)


def _write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def test_example_imports_and_reimport_changes_nothing(cli, db_url: str) -> None:  # type: ignore[no-untyped-def]
    first = cli("import", str(EXAMPLE), "--db", db_url, "--json")
    assert first.exit_code == 0, first.output
    data = _summary(first)
    assert (data["new"], data["updated"], data["unchanged"], data["rejected"]) == (42, 0, 0, 0)
    tickets = _tickets(db_url)
    assert len(tickets) == 42
    t = tickets["T-1001"]
    assert t.source == "csv"  # type: ignore[attr-defined]
    assert t.customer == "华星物流"  # type: ignore[attr-defined]
    assert t.tags == ["invoice", "export"]  # type: ignore[attr-defined]
    # 2026-10-05T17:15:00+08:00 stored as UTC
    assert t.created_at == datetime(2026, 10, 5, 9, 15, tzinfo=UTC)  # type: ignore[attr-defined]
    assert t.status == "closed"  # type: ignore[attr-defined]
    assert tickets["T-1042"].status == "pending"  # type: ignore[attr-defined]
    assert tickets["T-1042"].closed_at is None  # type: ignore[attr-defined]

    again = cli("import", str(EXAMPLE), "--db", db_url, "--json")
    assert again.exit_code == 0, again.output
    data = _summary(again)
    assert (data["new"], data["updated"], data["unchanged"]) == (0, 0, 42)
    assert len(_tickets(db_url)) == 42
    runs = _runs(db_url)
    assert [(r.status, r.created, r.unchanged) for r in runs] == [("done", 42, 0), ("done", 0, 42)]  # type: ignore[attr-defined]


def test_newer_export_updates_changed_tickets_and_counts_them(cli, db_url: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert cli("import", str(EXAMPLE), "--db", db_url).exit_code == 0
    rows = list(csv.reader(io.StringIO(EXAMPLE.read_text(encoding="utf-8"))))
    header, body = rows[0], rows[1:]
    status = header.index("status")
    closed = header.index("closed")
    body[-1][status] = "closed"  # T-1042 got closed
    body[-1][closed] = "2026-11-20T10:00:00+08:00"
    body.append(["T-2001", "Acme Retail", "New problem", "", "billing", "", "open", "2026-11-21T09:00:00Z"] + [""] * 6)
    newer = tmp_path / "newer.csv"
    with newer.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows([header, *body])
    result = cli("import", str(newer), "--db", db_url, "--json")
    assert result.exit_code == 0, result.output
    data = _summary(result)
    assert (data["new"], data["updated"], data["unchanged"]) == (1, 1, 41)
    tickets = _tickets(db_url)
    assert tickets["T-1042"].status == "closed"  # type: ignore[attr-defined]
    assert tickets["T-1042"].closed_at == datetime(2026, 11, 20, 2, 0, tzinfo=UTC)  # type: ignore[attr-defined]
    assert len(tickets) == 43


def test_chinese_headers_are_mapped_and_the_guess_is_shown_first(cli, db_url: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = _write(
        tmp_path / "导出.csv",
        "工单号,客户,标题,状态,创建时间,关闭时间,备注\n"
        "A-1,华星物流,发票导出失败,已关闭,2026-10-05 09:00,2026-10-06 10:30,VIP\n"
        "A-2,青禾餐饮,小票打印错位,处理中,2026-10-07 08:00,,\n",
    )
    result = cli("import", str(path), "--db", db_url, "--timezone", "Asia/Shanghai")
    assert result.exit_code == 0, result.output
    stderr = result.stderr
    assert "guessed" in stderr
    for column in ("工单号", "客户", "标题", "状态", "创建时间", "关闭时间"):
        assert column in stderr
    assert "备注" in stderr  # the unmapped column is named (kept in raw)
    assert stderr.index("guessed") < len(stderr)  # shown on stderr, the summary table is on stdout
    assert "Import" in result.stdout
    tickets = _tickets(db_url)
    a1 = tickets["A-1"]
    assert (a1.customer, a1.subject, a1.status) == ("华星物流", "发票导出失败", "closed")  # type: ignore[attr-defined]
    assert a1.created_at == datetime(2026, 10, 5, 1, 0, tzinfo=UTC)  # type: ignore[attr-defined]
    assert a1.raw == {"备注": "VIP"}  # type: ignore[attr-defined]
    assert tickets["A-2"].status == "open"  # type: ignore[attr-defined]


def test_map_options_and_mapping_files(cli, db_url: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = _write(
        tmp_path / "crm.csv",
        "Case,Company,What happened,Stage,Opened\n"
        "C1,Northwind,Login broken,Waiting on customer,05-10-2026 09:00\n"
        "C2,Summit,Slow search,Done and dusted,2026/10/06\n",
    )
    mapping = _write(
        tmp_path / "mapping.yaml",
        "columns:\n  id: Case\n  customer: Company\n  subject: What happened\n  status: Stage\n  created: Opened\n"
        "statuses:\n  Waiting on customer: pending\n  Done and dusted: closed\ndate_order: day-first\n",
    )
    result = cli("import", str(path), "--db", db_url, "--map", str(mapping), "--json")
    assert result.exit_code == 0, result.output
    assert "guessed" not in result.stderr  # nothing was guessed, so no table
    tickets = _tickets(db_url)
    assert tickets["C1"].status == "pending"  # type: ignore[attr-defined]
    assert tickets["C1"].created_at == datetime(2026, 10, 5, 9, 0, tzinfo=UTC)  # type: ignore[attr-defined]  # dd-mm-yyyy
    assert tickets["C2"].status == "closed"  # type: ignore[attr-defined]
    assert tickets["C2"].created_at == datetime(2026, 10, 6, tzinfo=UTC)  # type: ignore[attr-defined]

    toml = _write(tmp_path / "m.toml", '[columns]\nid = "Case"\n')
    other = _write(tmp_path / "other.csv", "Case,Company\nC9,Acme\n")
    result = cli("import", str(other), "--db", db_url, "--map", str(toml), "--map", "customer=Company")
    assert result.exit_code == 0, result.output
    assert _tickets(db_url)["C9"].customer == "Acme"  # type: ignore[attr-defined]


def test_bad_mapping_is_an_input_error_naming_the_problem(cli, db_url: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = _write(tmp_path / "t.csv", "Case,Company\nC1,Acme\n")
    bad = _write(tmp_path / "bad.yaml", "columns:\n  id: Case\n  colour: Company\nstatuses:\n  x: finished\n")
    result = cli("import", str(path), "--db", db_url, "--map", str(bad))
    assert result.exit_code == 2
    assert f"{bad}: colour: unknown ticket field" in result.stderr
    assert f"{bad}: statuses.x: 'finished' is not one of open, pending, resolved, closed" in result.stderr
    result = cli("import", str(path), "--db", db_url, "--map", "id=Nope")
    assert result.exit_code == 2
    assert "no column 'Nope' (for id)" in result.stderr
    no_id = _write(tmp_path / "noid.csv", "Company,Note\nAcme,x\n")
    result = cli("import", str(no_id), "--db", db_url)
    assert result.exit_code == 2
    assert "no column for the ticket id" in result.stderr
    assert "--map id=COLUMN" in result.stderr
    assert _tickets(db_url) == {}


BROKEN = (
    "id,customer,subject,status,created\n"  # 1
    "B1,Acme,fine,closed,2026-10-01T10:00:00Z\n"  # 2
    ",Acme,no id,closed,2026-10-01T10:00:00Z\n"  # 3
    'B3,Acme,"bad "quoting,closed,2026-10-01T10:00:00Z\n'  # 4
    "B4,Acme,bad date,closed,2026-02-30T10:00:00Z\n"  # 5
    "B5,Acme,unknown status,exploded,2026-10-01T10:00:00Z\n"  # 6
    "B6,Acme,too,many,fields,here\n"  # 7
    'B7,Acme,"a description\nover two lines",closed,2026-10-02T10:00:00Z\n'  # 8-9
    "B8,Acme,fine too,open,1759399200\n"  # 10
)


def test_broken_rows_go_to_the_rejects_file_unchanged_and_exit_1(cli, db_url: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = _write(tmp_path / "broken.csv", BROKEN)
    result = cli("import", str(path), "--db", db_url, "--json")
    assert result.exit_code == 1, result.output
    data = _summary(result)
    assert (data["new"], data["rejected"]) == (3, 5)
    rejects = tmp_path / "broken.csv.rejects.txt"
    assert data["rejects_file"] == str(rejects)
    assert stat.S_IMODE(os.stat(rejects).st_mode) == 0o600
    text = rejects.read_text(encoding="utf-8")
    lines = text.splitlines()
    assert lines[2:4] == ["# line 1: header", "id,customer,subject,status,created"]
    assert "# line 3: missing id (column 'id')\n,Acme,no id,closed,2026-10-01T10:00:00Z\n" in text
    assert "# line 4: bad quoting" in text and 'B3,Acme,"bad "quoting,closed,2026-10-01T10:00:00Z\n' in text
    assert (
        "# line 5: created (column 'created'): not a date: '2026-02-30T10:00:00Z' (day is out of range for month)\nB4,"
        in text
    )
    assert "# line 6: unknown status 'exploded' (column 'status')" in text
    assert "# line 7: has 6 fields, the header has 5\nB6,Acme,too,many,fields,here\n" in text
    tickets = _tickets(db_url)
    assert sorted(tickets) == ["B1", "B7", "B8"]
    assert tickets["B7"].subject == "a description\nover two lines"  # type: ignore[attr-defined]
    assert tickets["B8"].created_at == datetime.fromtimestamp(1759399200, UTC)  # type: ignore[attr-defined]
    assert _runs(db_url)[-1].rejected == 5  # type: ignore[attr-defined]
    # every rejected line is in the file byte for byte: the records can be fixed and imported again
    original = path.read_bytes().splitlines(keepends=True)
    for number in (3, 4, 5, 6, 7):
        assert original[number - 1] in rejects.read_bytes()


def test_strict_imports_nothing_when_anything_is_rejected(cli, db_url: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = _write(tmp_path / "broken.csv", BROKEN)
    result = cli("import", str(path), "--db", db_url, "--strict")
    assert result.exit_code == 2
    assert f"{path}:3: missing id" in result.stderr
    assert "--strict: nothing was imported" in result.stderr
    assert _tickets(db_url) == {}
    assert _runs(db_url) == []
    assert (tmp_path / "broken.csv.rejects.txt").exists()
    clean = _write(tmp_path / "clean.csv", "id,subject\nK1,fine\n")
    result = cli("import", str(clean), "--db", db_url, "--strict")
    assert result.exit_code == 0
    assert list(_tickets(db_url)) == ["K1"]


def test_a_quote_never_closed_rejects_one_line_and_reading_goes_on(cli, db_url: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    rows = ["id,subject"] + [f"Q{i},row {i}" for i in range(1, 6)]
    rows[2] = 'Q2,"never closed'
    path = _write(tmp_path / "quote.csv", "\n".join(rows) + "\n")
    rejects = tmp_path / "elsewhere" / "rejected.txt"
    result = cli("import", str(path), "--db", db_url, "--rejects", str(rejects))
    assert result.exit_code == 1, result.output
    assert sorted(_tickets(db_url)) == ["Q1", "Q3", "Q4", "Q5"]
    assert "# line 3: a quoted field is never closed" in rejects.read_text(encoding="utf-8")
    assert not (tmp_path / "quote.csv.rejects.txt").exists()


def test_without_a_status_column_the_dates_decide(cli, db_url: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = _write(
        tmp_path / "nostatus.csv",
        "id,created,resolved,closed\nS1,2026-10-01,,\nS2,2026-10-01,2026-10-02,\nS3,2026-10-01,2026-10-02,2026-10-03\n",
    )
    assert cli("import", str(path), "--db", db_url).exit_code == 0
    tickets = _tickets(db_url)
    assert [tickets[k].status for k in ("S1", "S2", "S3")] == ["open", "resolved", "closed"]  # type: ignore[attr-defined]


def test_a_later_row_of_the_same_ticket_wins(cli, db_url: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = _write(tmp_path / "dup.csv", "id,status\nD1,open\nD2,open\nD1,closed\n")
    assert cli("import", str(path), "--db", db_url).exit_code == 0
    tickets = _tickets(db_url)
    assert len(tickets) == 2
    assert tickets["D1"].status == "closed"  # type: ignore[attr-defined]
    # again, with the stored version of D1 last: the earlier, different row must not win
    again = _write(tmp_path / "dup2.csv", "id,status\nD1,open\nD1,closed\n")
    assert cli("import", str(again), "--db", db_url).exit_code == 0
    assert _tickets(db_url)["D1"].status == "closed"  # type: ignore[attr-defined]
    result = cli("import", str(_write(tmp_path / "dup3.csv", "id,status\nD1,closed\nD1,open\n")), "--db", db_url)
    assert result.exit_code == 0
    assert _tickets(db_url)["D1"].status == "open"  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-10-05T17:15:00+08:00", datetime(2026, 10, 5, 9, 15, tzinfo=UTC)),
        ("2026-10-05T09:15:00Z", datetime(2026, 10, 5, 9, 15, tzinfo=UTC)),
        ("2026-10-05 17:15", datetime(2026, 10, 5, 9, 15, tzinfo=UTC)),  # naive: --timezone
        ("05-10-2026 17:15", datetime(2026, 10, 5, 9, 15, tzinfo=UTC)),
        ("2026/10/05 17:15:30", datetime(2026, 10, 5, 9, 15, 30, tzinfo=UTC)),
        ("2026年10月5日 17:15", datetime(2026, 10, 5, 9, 15, tzinfo=UTC)),
        ("1759655700", datetime(2025, 10, 5, 9, 15, tzinfo=UTC)),
        ("2026-10-05T09:15:00.123456Z", datetime(2026, 10, 5, 9, 15, 0, 123456, tzinfo=UTC)),
    ],
)
def test_date_formats(value: str, expected: datetime) -> None:
    from butterfly.importers.dates import parse_datetime, zone

    assert parse_datetime(value, zone("Asia/Shanghai"), "dmy") == expected


def test_unknown_timezone_and_missing_file_are_input_errors(cli, db_url: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    result = cli("import", str(EXAMPLE), "--db", db_url, "--timezone", "Mars/Olympus")
    assert result.exit_code == 2
    assert "unknown time zone 'Mars/Olympus'" in result.stderr
    result = cli("import", str(tmp_path / "nope.csv"), "--db", db_url)
    assert result.exit_code == 2
    assert "nope.csv: file not found" in result.stderr


def test_progress_bar_only_on_a_terminal(cli, sqlite_url_fixture: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import sys

    import pexpect

    result = cli("import", str(EXAMPLE), "--db", sqlite_url_fixture)
    assert "records," not in result.stderr  # not a terminal: no progress bar
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env.update({"TERM": "xterm", "COLUMNS": "120"})
    child = pexpect.spawn(
        sys.executable,
        ["-m", "butterfly", "import", str(EXAMPLE), "--db", str(tmp_path / "tty.db")],
        env=env,
        encoding="utf-8",
        timeout=60,
        dimensions=(40, 120),
    )
    child.expect(r"42 records, [\d,]+/s")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    child = pexpect.spawn(
        sys.executable,
        ["-m", "butterfly", "import", str(EXAMPLE), "--db", str(tmp_path / "ci.db")],
        env={**env, "CI": "true"},
        encoding="utf-8",
        timeout=60,
    )
    output = child.read()
    child.close()
    assert "records," not in output and "Import" in output


@pytest.mark.parametrize(
    ("lang", "counts", "indexes"),
    [
        ("en", "1,234 records", "tickets.csv: building indexes"),
        ("zh-CN", "1,234 条记录", "tickets.csv：正在建立索引"),
        ("zh-TW", "1,234 筆記錄", "tickets.csv：正在建立索引"),
    ],
)
def test_the_progress_bar_speaks_the_language_and_says_when_indexes_are_built(
    monkeypatch: pytest.MonkeyPatch, lang: str, counts: str, indexes: str
) -> None:
    """The counts beside the bar are in the user's language, and after the last record of a first load the bar
    says the indexes are being built instead of sitting at 100% without a word."""
    from rich.console import Console

    from butterfly.cli import imports

    out = io.StringIO()
    monkeypatch.setattr(imports, "err", lambda: Console(file=out, force_terminal=True, width=100, color_system=None))
    with imports._progress(True, lang) as bar:
        assert bar is not None
        bar.update("/exports/tickets.csv", 500, 1_000, 1_234)
        bar.indexes("/exports/tickets.csv")
    shown = out.getvalue()
    assert counts in shown and indexes in shown
    assert "records" not in shown or lang == "en"


def test_a_first_load_says_when_it_builds_its_indexes(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``on_indexes`` is told, once, when a large first load on the record path starts building the indexes it
    deferred (SQLite); an import into a table with tickets already builds none and says nothing."""
    from butterfly.importers import columnar, csv_import, import_files
    from butterfly.store.db import dispose_engines, open_session

    monkeypatch.setattr(csv_import, "INITIAL_LOAD_BYTES", 1)  # every file counts as large
    monkeypatch.setattr(columnar, "unavailable", lambda: "this test is about the record path")
    told: list[str] = []
    for _ in range(2):  # a first load, then the same file again
        with open_session(db_url) as session:
            import_files(session=session, paths=[EXAMPLE], rejects=tmp_path / "r.txt", on_indexes=told.append)
        dispose_engines()
    assert told == ([str(EXAMPLE)] if db_url.startswith("sqlite") else [])


@pytest.mark.parametrize("lang", ["en", "zh-CN", "zh-TW"])
def test_the_summary_never_cuts_a_count_on_a_narrow_terminal(cli, db_url: str, tmp_path: Path, lang: str) -> None:  # type: ignore[no-untyped-def]
    """A wide table of ten columns does not fit 60 columns: each file then gets a short table of its own, and every
    count is shown whole (not '1,00…'); on a wide terminal it stays one table."""
    folder = tmp_path / "exports-from-the-helpdesk-of-the-northern-region"
    folder.mkdir()
    export = folder / "tickets-2026-11.csv"
    rows = "".join(f"N{i:05d},Login fails {i},closed\n" for i in range(1_234))
    export.write_text("id,subject,status\n" + rows + "N00001,again,closed\n", encoding="utf-8")
    narrow = cli("import", str(export), "--db", db_url, env={"COLUMNS": "60", "BUTTERFLY_LANGUAGE": lang})
    assert narrow.exit_code == 0, narrow.stderr
    lines = narrow.stdout.splitlines()
    assert all(len(line) <= 60 for line in lines)
    assert "…" not in narrow.stdout
    assert sum("1,235" in line for line in lines) == 1  # records read: 1,234 + the repeated one
    assert sum("1,234" in line for line in lines) == 1  # new
    wide = cli("import", str(export), "--db", db_url, env={"COLUMNS": "200", "BUTTERFLY_LANGUAGE": lang})
    header = next(line for line in wide.stdout.splitlines() if "┃" in line)
    assert header.count("┃") == 11  # one table of ten columns
