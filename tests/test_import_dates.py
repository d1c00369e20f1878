"""Dates in imports never swap day and month (#17), and odd date cells are rejects with their line (#21)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

BUCKETS = ("new", "updated", "unchanged", "duplicates", "skipped", "rejected")


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def _tickets(db_url: str) -> dict[str, Any]:
    from sqlmodel import select

    from butterfly.store.db import open_session
    from butterfly.store.models import Ticket

    with open_session(db_url) as session:
        return {t.external_id: t for t in session.exec(select(Ticket)).all()}


def _summary(result: Any) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(result.stdout)
    for f in data["files"]:
        assert sum(f[b] for b in BUCKETS) == f["records"], f
    return data


def at(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


def test_day_first_column_with_one_digit_fields(cli, db_url: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    # ServiceNow rendered for a day-first locale: d/m/yyyy H:MM
    path = _write(
        tmp_path / "incidents.csv",
        "number,state,opened_at\nINC1,Closed,3/1/2016 9:05\nINC2,Closed,29/2/2016 1:16\nINC3,Closed,1/3/2016 23:59\n",
    )
    result = cli("import", str(path), "--db", db_url, "--json")
    assert result.exit_code == 0, result.output
    assert "day first" in _summary(result)["files"][0]["dates"]["created"]
    tickets = _tickets(db_url)
    assert tickets["INC1"].created_at == at(2016, 1, 3, 9, 5)
    assert tickets["INC2"].created_at == at(2016, 2, 29, 1, 16)
    assert tickets["INC3"].created_at == at(2016, 3, 1, 23, 59)


def test_month_first_column_is_never_read_day_first(cli, db_url: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    # the US rendering (MM-dd-yyyy): 03-01-2016 is 1 March, because 02-29-2016 says the column is month-first
    path = _write(
        tmp_path / "us.csv",
        "number,state,opened_at\nINC0000468,Closed,03-01-2016 01:36\nINC9,Closed,02-29-2016 10:00\n",
    )
    result = cli("import", str(path), "--db", db_url, "--json")
    assert result.exit_code == 0, result.output
    assert _tickets(db_url)["INC0000468"].created_at == at(2016, 3, 1, 1, 36)


def test_a_column_of_only_ambiguous_dates_is_refused_naming_column_and_examples(
    cli, db_url: str, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    path = _write(tmp_path / "amb.csv", "id,status,Opened\nA1,closed,03/04/2016 10:00\nA2,closed,05/06/2016 11:30\n")
    result = cli("import", str(path), "--db", db_url)
    assert result.exit_code == 2
    assert "column 'Opened'" in result.stderr and "03/04/2016 10:00" in result.stderr
    assert "Traceback" not in result.output
    assert _tickets(db_url) == {}
    assert cli("import", str(path), "--db", db_url, "--day-first").exit_code == 0
    assert _tickets(db_url)["A1"].created_at == at(2016, 4, 3, 10, 0)
    assert cli("import", str(path), "--db", db_url, "--month-first").exit_code == 0
    assert _tickets(db_url)["A1"].created_at == at(2016, 3, 4, 10, 0)  # re-imported: the new reading wins


def test_date_format_option_and_mapping_file(cli, db_url: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = _write(tmp_path / "fmt.csv", "id,status,created\nF1,closed,03.04.16 10h00\nF2,closed,2016-04-05T08:00:00Z\n")
    result = cli("import", str(path), "--db", db_url, "--date-format", "%d.%m.%y %Hh%M")
    assert result.exit_code == 0, result.output
    tickets = _tickets(db_url)
    assert tickets["F1"].created_at == at(2016, 4, 3, 10, 0)
    assert tickets["F2"].created_at == at(2016, 4, 5, 8, 0)  # ISO 8601 is always read
    mapping = _write(tmp_path / "map.yaml", 'date_format:\n  created: "%m.%d.%y %Hh%M"\n')
    assert cli("import", str(path), "--db", db_url, "--map", str(mapping)).exit_code == 0
    assert _tickets(db_url)["F1"].created_at == at(2016, 3, 4, 10, 0)
    bad = _write(tmp_path / "bad.yaml", "date_order: sideways\n")
    result = cli("import", str(path), "--db", db_url, "--map", str(bad))
    assert result.exit_code == 2 and "date_order" in result.stderr


def test_contradicting_orders_are_refused(cli, db_url: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = _write(tmp_path / "mixed.csv", "id,status,created\nM1,closed,29/2/2016\nM2,closed,2/29/2016\n")
    result = cli("import", str(path), "--db", db_url)
    assert result.exit_code == 2 and "mixes day-first" in result.stderr
    assert cli("import", str(path), "--db", db_url, "--day-first", "--month-first").exit_code == 2


def test_jira_csv_dates_and_excel_serials(cli, db_url: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    jira = _write(
        tmp_path / "jira.csv",
        "Issue key,Status,Created,Resolved\nSUP-1,Done,10/Mar/24 1:15 PM,11/Mar/24 9:00 AM\nSUP-2,Done,2/Apr/24 12:05 AM,\n",
    )
    assert cli("import", str(jira), "--db", db_url).exit_code == 0
    tickets = _tickets(db_url)
    assert tickets["SUP-1"].created_at == at(2024, 3, 10, 13, 15)
    assert tickets["SUP-1"].resolved_at == at(2024, 3, 11, 9, 0)
    assert tickets["SUP-2"].created_at == at(2024, 4, 2, 0, 5)
    excel = _write(tmp_path / "excel.csv", "id,status,created\nX1,closed,45000\nX2,closed,45000.5\n")
    result = cli("import", str(excel), "--db", db_url, "--json")
    assert result.exit_code == 0, result.output
    assert "Excel" in _summary(result)["files"][0]["dates"]["created"]
    assert _tickets(db_url)["X2"].created_at == at(2023, 3, 15, 12, 0)


@pytest.mark.parametrize("cell", ["2026-10-1", "2026-1", "2026", "0", "1", "31/31/2016", "2026-02-30"])
def test_short_and_impossible_date_cells_are_rejects_with_their_line_and_value(  # type: ignore[no-untyped-def]
    cli, db_url: str, tmp_path: Path, cell: str
) -> None:
    path = _write(tmp_path / "short.csv", f"id,status,created\nS1,closed,2026-10-05T09:00:00Z\nS2,closed,{cell}\n")
    result = cli("import", str(path), "--db", db_url, "--json")
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert _summary(result)["files"][0]["rejected"] == 1
    rejects = (tmp_path / "short.csv.rejects.txt").read_text(encoding="utf-8")
    assert "# line 3:" in rejects and f"'{cell}'" in rejects
    assert set(_tickets(db_url)) == {"S1"}


def test_epoch_seconds_column_reads_small_numbers_as_epoch(cli, db_url: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = _write(tmp_path / "epoch.csv", "id,status,created\nE1,closed,1700000000\nE2,closed,0\n")
    assert cli("import", str(path), "--db", db_url).exit_code == 0
    assert _tickets(db_url)["E2"].created_at == at(1970, 1, 1)


@pytest.mark.parametrize(
    ("cell", "timezone"),
    [
        ("9999-12-31T23:59:59-12:00", None),
        ("0001-01-01T00:00:00+14:00", None),
        ("9999-12-31 23:59", "America/New_York"),
    ],
)
def test_dates_at_the_edge_of_the_calendar_are_rejects(  # type: ignore[no-untyped-def]
    cli, db_url: str, tmp_path: Path, cell: str, timezone: str | None
) -> None:
    path = _write(tmp_path / "edge.csv", f"id,status,created\nG1,closed,2026-10-05 09:00\nG2,closed,{cell}\n")
    args = ["--timezone", timezone] if timezone else []
    result = cli("import", str(path), "--db", db_url, "--json", *args)
    assert result.exit_code == 1, result.output
    assert _summary(result)["files"][0]["rejected"] == 1
    assert "outside the calendar" in (tmp_path / "edge.csv.rejects.txt").read_text(encoding="utf-8")


def test_the_mapping_shown_before_import_says_how_dates_are_read(cli, db_url: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = _write(tmp_path / "m.csv", "id,status,created\nA1,closed,29/2/2016 10:00\n")
    result = cli("import", str(path), "--db", db_url)
    assert result.exit_code == 0
    assert "day first" in result.stderr and "29/2/2016 10:00" in result.stderr


def test_json_lines_dates_are_decided_too(cli, db_url: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    lines = [{"id": "J-amb", "status": "closed", "created": "3/4/2016"}]  # ambiguous: read on for a deciding value
    lines += [{"id": f"J{i}", "status": "closed", "created": f"{i % 12 + 1}/{i % 12 + 1}/2016"} for i in range(1500)]
    lines.append({"id": "J-last", "status": "closed", "created": "4/13/2016"})  # after the first 1000: month first
    path = tmp_path / "t.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in lines), encoding="utf-8")
    assert cli("import", str(path), "--db", db_url).exit_code == 0
    assert _tickets(db_url)["J-amb"].created_at == at(2016, 3, 4)


def test_parse_datetime_never_guesses(tmp_path: Path) -> None:
    from butterfly.importers.dates import AmbiguousDateError, parse_datetime

    with pytest.raises(AmbiguousDateError):
        parse_datetime("03/04/2016")
    assert parse_datetime("03/03/2016") == at(2016, 3, 3)
    assert parse_datetime("13/04/2016") == at(2016, 4, 13)
    assert parse_datetime("04/13/2016 1:05 PM") == at(2016, 4, 13, 13, 5)
    with pytest.raises(ValueError, match="'13/13/2016'"):
        parse_datetime("13/13/2016")


ZONES = ["", "Z", "+08:00", "-05:00", "+0800", "-03:30", "+14:00", "+08", "-12:00", "+23:00"]


@st.composite
def _time_columns(draw: st.DrawFn) -> list[list[str]]:
    """Two batches of one column of times: mostly one shape (as exports are), with empty cells, other zones and
    lengths, impossible dates, hours, minutes and seconds, and the edges of the calendar mixed in now and then."""
    shape_zone = draw(st.sampled_from(ZONES))
    separator = draw(st.sampled_from("T "))
    odd = draw(st.floats(min_value=0, max_value=0.05))

    def one(rnd: Any) -> str:
        if rnd.random() < 0.1:
            return ""
        year = rnd.choice([1, 2, 2016, 2024, 2025, 2026, 9999])
        value = (
            f"{year:04d}-{rnd.randint(1, 12):02d}-{rnd.randint(1, 28):02d}{separator}"
            f"{rnd.randint(0, 23):02d}:{rnd.randint(0, 59):02d}:{rnd.randint(0, 59):02d}{shape_zone}"
        )
        if rnd.random() < odd:
            value = rnd.choice(
                [
                    value[:8] + "31" + value[10:],  # the 31st (of a month without one, now and then)
                    value[:5] + "02-30" + value[10:],  # 30 February
                    value[:11] + "24" + value[13:],  # hour 24
                    value[:14] + "60" + value[16:],  # minute 60
                    value[:17] + "61" + value[19:],  # second 61
                    value[:2] + "٢" + value[3:],  # an Arabic-Indic digit
                    value[:19] + rnd.choice(ZONES),  # another zone (often another length)
                    value[:16],  # no seconds
                    value[:10],  # a day only
                    value.replace(":", "-", 1),
                    "not a date",
                ]
            )
        return value

    rnd = draw(st.randoms(use_true_random=True))
    size = draw(st.integers(min_value=256, max_value=700))
    return [[one(rnd) for _ in range(size)] for _ in range(2)]


@settings(max_examples=150, deadline=None)
@given(columns=_time_columns(), zone_name=st.sampled_from(["UTC", "Asia/Shanghai", "America/New_York", "Asia/Kolkata"]))
def test_a_column_of_times_converts_as_array_exactly_as_value_by_value(
    columns: list[list[str]], zone_name: str
) -> None:
    """The array conversion of a long column (numpy) gives the text the memo path gives value by value, or the
    same None (the batch then goes record by record and says which value is wrong)."""
    from zoneinfo import ZoneInfo

    from butterfly.importers.date_columns import ColumnDates

    tz = ZoneInfo(zone_name)
    array, memo = ColumnDates(tz), ColumnDates(tz)
    for column in columns:  # two batches: the second finds most date-hours learned by the first
        assert array.convert(column) == memo.convert_by_memo(column)
