"""JSON exports are read record by record (butterfly.importers.jsonstream): a big generated array and a vendor
document ({"tickets": [...]} with sideloads after the list) are imported with every record counted; a document
broken at its end imports nothing; what ijson cannot stream (numbers beyond 64 bits) is read whole, as before.
Peak memory is measured by benchmarks/bench_json_memory.py, not here."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy import func
from sqlmodel import select

from butterfly.importers.jsonstream import open_json
from butterfly.store.db import open_session
from butterfly.store.models import Ticket

RECORDS = 20_000


def _record(i: int) -> dict[str, Any]:
    return {
        "id": f"T-{i}",
        "customer": f"Customer {i % 97}",
        "subject": f"Export fails {i}",
        "status": "closed",
        "created": "2026-03-01T09:00:00Z",
        "details": {"channel": "email", "tags": ["a", "b"]},
    }


def _count(db_url: str) -> int:
    with open_session(db_url) as session:
        return int(session.exec(select(func.count()).select_from(Ticket)).one())


def test_a_big_generated_array_is_streamed_and_every_record_counted(tmp_path: Path, db_url: str, cli: Any) -> None:
    path = tmp_path / "big.json"
    with path.open("w", encoding="utf-8") as out:
        out.write("\ufeff[\n")  # a byte order mark, as some exporters write
        out.write(",\n".join(json.dumps(_record(i)) for i in range(1, RECORDS + 1)))
        out.write(',\n"not an object"\n]\n')
    source = open_json(path, "utf-8-sig")
    assert source.streamed and source.count == RECORDS + 1 and len(source.sample) == 1000
    result = cli("import", str(path), "--json", "--db", db_url)
    assert result.exit_code == 1, result.output  # the last record is rejected
    data = json.loads(result.stdout)["files"][0]
    assert (data["records"], data["new"], data["rejected"]) == (RECORDS + 1, RECORDS, 1)
    assert data["mapping"]["customer"] == "customer"
    assert _count(db_url) == RECORDS
    again = json.loads(cli("import", str(path), "--json", "--db", db_url).stdout)["files"][0]
    assert again["unchanged"] == RECORDS


def test_a_vendor_document_keeps_its_sideloads_after_the_list(tmp_path: Path, db_url: str, cli: Any) -> None:
    tickets = [
        {
            "id": i,
            "url": f"https://acme.zendesk.com/api/v2/tickets/{i}.json",
            "subject": f"Invoice {i}",
            "status": "closed",
            "requester_id": 7,
            "organization_id": 3,
            "created_at": "2026-03-01T09:00:00Z",
            "updated_at": "2026-03-02T09:00:00Z",
            "via": {"channel": "email"},
        }
        for i in range(1, 2001)
    ]
    doc = {
        "tickets": tickets,
        "users": [{"id": 7, "name": "Ana Lima"}],
        "organizations": [{"id": 3, "name": "Acme Retail"}],
        "after_cursor": "c9",
        "end_of_stream": True,
    }
    path = tmp_path / "export.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    source = open_json(path, "utf-8")
    assert source.streamed and source.key == "tickets" and source.count == 2000
    assert source.envelope is not None and source.envelope["users"] == [{"id": 7, "name": "Ana Lima"}]
    result = cli("import", str(path), "--json", "--db", db_url)  # format told from the envelope and first records
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)["files"][0]
    assert (data["format"], data["records"], data["new"]) == ("zendesk", 2000, 2000)
    with open_session(db_url) as session:
        ticket = session.exec(select(Ticket).where(Ticket.external_id == "1")).one()
    assert (ticket.customer, ticket.requester) == ("Acme Retail", "Ana Lima")  # the sideloads after the list


def test_a_document_broken_at_its_end_imports_nothing(tmp_path: Path, db_url: str, cli: Any) -> None:
    path = tmp_path / "cut.json"
    text = "[" + ",".join(json.dumps(_record(i)) for i in range(1, 6001)) + "]"
    path.write_text(text[:-40], encoding="utf-8")  # cut off in the last record
    result = cli("import", str(path), "--db", db_url)
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    (line,) = [x for x in result.stderr.splitlines() if x.startswith("Error:")]
    assert str(path.name) in line and "not valid JSON" in line
    assert _count(db_url) == 0


def test_numbers_beyond_64_bits_are_read_whole(tmp_path: Path, db_url: str, cli: Any) -> None:
    path = tmp_path / "bigint.json"
    path.write_text(
        json.dumps([{"id": 123456789012345678901234567890, "subject": "Huge id", "status": "open"}]), encoding="utf-8"
    )
    assert not open_json(path, "utf-8").streamed
    result = cli("import", str(path), "--json", "--db", db_url)
    assert result.exit_code == 0, result.output
    with open_session(db_url) as session:
        assert session.exec(select(Ticket.external_id)).one() == "123456789012345678901234567890"


def test_a_mapping_into_a_list_is_one_error_naming_the_mapping(tmp_path: Path, db_url: str, cli: Any) -> None:
    path = tmp_path / "nested.json"
    path.write_text(json.dumps([{"id": 1, "subject": "s", "people": [{"name": "Ana"}]}]), encoding="utf-8")
    for column in ("people.name", "people.0.name", "nowhere.name"):
        result = cli("import", str(path), "--map", f"customer={column}", "--db", db_url)
        assert result.exit_code == 2, column
        assert "Traceback" not in result.output
        (line,) = [x for x in result.stderr.splitlines() if x.startswith("Error:")]
        assert f"--map customer={column}" in line and "nested.json" in line
    assert _count(db_url) == 0


def _peak_bytes(work: Any) -> int:
    import tracemalloc

    tracemalloc.start()
    try:
        work()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_a_deeply_nested_vendor_document_is_refused_in_little_memory(tmp_path: Path) -> None:
    """100 KB of brackets under "tickets": reading it used 6 GB once (a path prefix built for every level)."""
    from butterfly.errors import InvalidInputError

    path = tmp_path / "deep.json"
    path.write_bytes(b'{"tickets": ' + b"[" * 50_000 + b"]" * 50_000 + b"}")

    def read() -> None:
        try:
            open_json(path, "utf-8")
        except (InvalidInputError, RecursionError):
            pass  # refused as nested too deeply: what the import says (tests/test_fuzz_import.py)

    assert _peak_bytes(read) < 64 * 1024 * 1024


def test_a_deeply_nested_messages_file_is_one_clear_error_in_little_memory(
    tmp_path: Path, sqlite_url_fixture: str, cli: Any
) -> None:
    comment = {"issue_url": "https://api.github.com/repos/a/b/issues/1", "body": "x", "created_at": "2026-01-01T00:00Z"}
    path = tmp_path / "comments.json"
    path.write_bytes(b"[" + json.dumps(comment).encode() + b", " + b"[" * 50_000 + b"]" * 50_000 + b"]")
    from butterfly.importers.jsonstream import MAX_DEPTH, nesting_depth

    assert _peak_bytes(lambda: nesting_depth(path)) < 64 * 1024 * 1024
    assert nesting_depth(path) == MAX_DEPTH + 1
    tickets = Path(__file__).resolve().parent.parent / "examples" / "tickets.csv"
    result = cli("import", str(tickets), "--messages", str(path), "--db", sqlite_url_fixture)
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert str(path) in result.stderr
    assert _count(sqlite_url_fixture) == 0  # the tickets beside it are not half-imported
