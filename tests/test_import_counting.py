"""Every record read lands in exactly one bucket of the import summary; repeated ids are reported (#17)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

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


def _file(result: Any) -> dict[str, Any]:
    assert result.exit_code in (0, 1), result.output
    (f,) = json.loads(result.stdout)["files"]
    assert sum(f[b] for b in BUCKETS) == f["records"], f
    return dict(f)


def test_one_id_twice_in_a_csv_is_a_duplicate_and_the_last_wins(cli, db_url: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = _write(tmp_path / "dup.csv", "id,status,subject\nD1,open,first\nD2,open,other\nD1,closed,second\n")
    f = _file(cli("import", str(path), "--db", db_url, "--json"))
    assert (f["records"], f["new"], f["duplicates"], f["duplicate_ids"]) == (3, 2, 1, ["D1"])
    assert _tickets(db_url)["D1"].subject == "second"
    result = cli("import", str(path), "--db", db_url)
    assert "1 record(s) repeat the id" in result.stderr and "D1" in result.stderr
    again = _file(cli("import", str(path), "--db", db_url, "--json"))
    assert (again["unchanged"], again["duplicates"]) == (2, 1)


def test_strict_refuses_a_file_with_a_repeated_id(cli, db_url: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = _write(tmp_path / "dup.csv", "id,status\nD1,open\nD1,closed\n")
    result = cli("import", str(path), "--db", db_url, "--strict")
    assert result.exit_code == 2
    assert "D1" in result.stderr and "repeat an id" in result.stderr
    assert _tickets(db_url) == {}


def test_duplicates_across_batches_and_rejects_are_counted_once(  # type: ignore[no-untyped-def]
    cli, db_url: str, tmp_path: Path, monkeypatch
) -> None:
    from butterfly.importers import sources

    monkeypatch.setattr(sources.CsvFile.batches, "__defaults__", (4,))  # the repeated ids fall in later batches
    lines = ["id,status,created"]
    lines += [f"B{i},closed,2026-10-0{1 + i % 9}T10:00:00Z" for i in range(10)]
    lines += ["B1,open,2026-10-05T10:00:00Z", "B2,closed,2026-10-02T10:00:00Z", ",closed,", "B3,weird,"]
    path = _write(tmp_path / "b.csv", "\n".join(lines) + "\n")
    f = _file(cli("import", str(path), "--db", db_url, "--json"))
    assert (f["records"], f["new"], f["duplicates"], f["rejected"]) == (14, 10, 2, 2)
    assert _tickets(db_url)["B1"].status == "open"  # the later record won
    again = _file(cli("import", str(path), "--db", db_url, "--json"))
    # the earlier record of a repeated id is written before the later one is seen; the later one puts back what was
    # stored, so the earlier one counts as unchanged, not updated
    assert (again["unchanged"], again["updated"], again["duplicates"], again["rejected"]) == (10, 0, 2, 2)
    assert _tickets(db_url)["B1"].status == "open"
    changed = _write(tmp_path / "b.csv", "\n".join(lines).replace("B1,open,", "B1,pending,") + "\n")
    f = _file(cli("import", str(changed), "--db", db_url, "--json"))
    assert (f["unchanged"], f["updated"], f["duplicates"]) == (9, 1, 2)  # B1 really changed
    assert _tickets(db_url)["B1"].status == "pending"


def test_json_records_with_repeated_ids(cli, db_url: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "t.json"
    path.write_text(json.dumps([{"id": "J1", "status": "open"}, {"id": "J1", "status": "closed"}]), encoding="utf-8")
    f = _file(cli("import", str(path), "--db", db_url, "--json"))
    assert (f["new"], f["duplicates"]) == (1, 1)


def test_servicenow_events_are_counted_as_skipped_history(cli, db_url: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    header = "number,incident_state,sys_mod_count,caller_id,opened_at,sys_updated_at,reopen_count,reassignment_count,made_sla"
    path = _write(
        tmp_path / "incident_event_log.csv",
        f"{header}\n"
        "INC1,New,0,Caller 1,29/2/2016 01:16,29/2/2016 01:16,0,0,true\n"
        "INC1,Active,1,Caller 1,29/2/2016 01:16,29/2/2016 02:00,0,1,true\n"
        "INC1,Closed,2,Caller 1,29/2/2016 01:16,1/3/2016 09:00,1,2,false\n"
        "INC2,New,0,Caller 2,1/3/2016 10:00,1/3/2016 10:00,0,0,true\n",
    )
    f = _file(cli("import", str(path), "--db", db_url, "--json"))
    assert (f["format"], f["records"], f["new"], f["skipped"]) == ("servicenow", 4, 2, 2)
    inc = _tickets(db_url)["INC1"]
    assert (inc.status, inc.reopen_count, inc.reassignment_count, inc.made_sla) == ("closed", 1, 2, False)
    assert inc.updated_at is not None and (inc.updated_at.month, inc.updated_at.day) == (3, 1)


def test_id_from_row_makes_labelled_stable_ids(cli, db_url: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = _write(tmp_path / "endava.csv", "title,body,category\nPrinter,jams,hw\nVPN,drops,net\n")
    result = cli("import", str(path), "--db", db_url)
    assert result.exit_code == 2 and "no column for the ticket id" in result.stderr
    result = cli("import", str(path), "--db", db_url, "--id-from-row")
    assert result.exit_code == 0, result.output
    assert "--id-from-row" in result.stderr
    ids = sorted(_tickets(db_url))
    assert len(ids) == 2 and all(i.startswith(("row2-", "row3-")) for i in ids)
    again = _file(cli("import", str(path), "--db", db_url, "--id-from-row", "--json"))
    assert again["unchanged"] == 2 and sorted(_tickets(db_url)) == ids


def test_no_status_and_no_dates_means_open_and_the_mapping_says_so(cli, db_url: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = _write(tmp_path / "plain.csv", "id,subject\nP1,hello\n")
    result = cli("import", str(path), "--db", db_url)
    assert result.exit_code == 0
    assert "imported as open" in result.stderr
    assert _tickets(db_url)["P1"].status == "open"


def test_exact_column_name_wins_over_a_synonym(cli, db_url: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = _write(tmp_path / "e.csv", "id,ticket_type,status,category\nE1,Request,closed,Billing\n")
    assert cli("import", str(path), "--db", db_url).exit_code == 0
    assert _tickets(db_url)["E1"].category == "Billing"


def test_quoted_delimiters_in_the_header_and_the_delimiter_option(cli, db_url: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = _write(tmp_path / "q.csv", 'id,"Subject (short; EN; ZH; JP)",status\nQ1,"a; b",closed\n')
    assert cli("import", str(path), "--db", db_url).exit_code == 0
    assert _tickets(db_url)["Q1"].status == "closed"
    piped = _write(tmp_path / "p.txt", "id|status|subject\nP1|closed|x,y;z\n")
    assert cli("import", str(piped), "--db", db_url, "--delimiter", "|").exit_code == 0
    assert _tickets(db_url)["P1"].subject == "x,y;z"
    assert cli("import", str(piped), "--db", db_url, "--delimiter", "||").exit_code == 2


def test_named_fields_from_a_generic_csv(cli, db_url: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = _write(
        tmp_path / "n.csv", "id,status,reopen_count,made_sla,project\nN1,closed,2,TRUE,OPS\nN2,closed,x,no,OPS\n"
    )
    f = _file(cli("import", str(path), "--db", db_url, "--json"))
    assert (f["new"], f["rejected"]) == (1, 1)
    n1 = _tickets(db_url)["N1"]
    assert (n1.reopen_count, n1.made_sla, n1.project) == (2, True, "OPS")


def test_repeated_ids_on_the_record_by_record_path_count_exactly_on_reimport(  # type: ignore[no-untyped-def]
    cli, db_url: str, tmp_path: Path, monkeypatch
) -> None:
    from butterfly.importers import sources

    monkeypatch.setattr(sources.CsvFile.batches, "__defaults__", (3,))
    # day-first dates are converted value by value (the record-by-record path)
    lines = ["id,status,created"] + [f"R{i},closed,{13 + i}/2/2016 9:00" for i in range(6)]
    lines += ["R0,open,20/2/2016 9:00", "R1,closed,14/2/2016 9:00"]
    path = _write(tmp_path / "r.csv", "\n".join(lines) + "\n")
    first = _file(cli("import", str(path), "--db", db_url, "--json"))
    assert (first["new"], first["duplicates"]) == (6, 2)
    again = _file(cli("import", str(path), "--db", db_url, "--json"))
    assert (again["unchanged"], again["updated"], again["duplicates"]) == (6, 0, 2)
