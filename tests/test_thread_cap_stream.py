"""A record that embeds a huge thread (a ticket with hundreds of thousands of comments) is capped while the JSON is
streamed, before the record is built: memory stays bounded, and the import summary says how many messages were over
the 2,000-message cap, for which tickets (#18)."""

from __future__ import annotations

import json
import tracemalloc
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import func, select

from butterfly.importers.jsonstream import open_json
from butterfly.importers.threads import MAX_MESSAGES
from butterfly.store.db import open_session
from butterfly.store.models import Message, Ticket


def _zendesk_file(path: Path, comments: int, *, small: int = 3) -> Path:
    """A Zendesk export written piece by piece: ticket 7 with ``comments`` comments, then ``small`` ordinary ones."""
    with path.open("w", encoding="utf-8") as out:
        out.write('{"tickets": [{"id": 7, "subject": "Big", "status": "solved", "requester_id": 1, ')
        out.write('"created_at": "2026-03-02T09:00:00Z", "updated_at": "2026-03-03T09:00:00Z", "comments": [')
        for i in range(comments):
            comment = {
                "id": i + 1,
                "author_id": 1 if i % 2 else 2,
                "public": True,
                "body": f"Any update on the invoice export? This is message {i}.",
                "created_at": "2026-03-02T10:00:00Z",
            }
            out.write(("," if i else "") + json.dumps(comment))
        out.write("]}")
        for n in range(small):
            ticket = {
                "id": 100 + n,
                "subject": "Small",
                "status": "solved",
                "requester_id": 1,
                "created_at": "2026-03-02T09:00:00Z",
                "updated_at": "2026-03-03T09:00:00Z",
                "comments": [{"id": 1, "author_id": 1, "body": "hi", "created_at": "2026-03-02T10:00:00Z"}],
            }
            out.write("," + json.dumps(ticket))
        out.write('], "count": 4}')
    return path


def _peak_reading(path: Path) -> tuple[int, list[int]]:
    """tracemalloc's peak while the file is opened and every record read (and kept: a record holds its thread)."""
    tracemalloc.start()
    try:
        source = open_json(path, "utf-8")
        kept = list(source.records())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak, [len(r.get("comments", [])) for r in kept]


def test_memory_stays_bounded_however_many_comments_a_ticket_embeds(tmp_path: Path) -> None:
    small_peak, small_lengths = _peak_reading(_zendesk_file(tmp_path / "small.json", 4_000))
    big_peak, big_lengths = _peak_reading(_zendesk_file(tmp_path / "big.json", 200_000))
    assert small_lengths == big_lengths == [MAX_MESSAGES, 1, 1, 1]
    # 200,000 comment dicts built whole take well over 50 MB; capped, the peak is that of the 4,000-comment file
    assert big_peak < 1.5 * small_peak + 2_000_000, (small_peak, big_peak)
    assert big_peak < 20_000_000, big_peak


def test_the_records_say_how_many_items_the_stream_left_out(tmp_path: Path) -> None:
    doc = [
        {"id": 1, "conversations": [{"id": i, "body": "x"} for i in range(2_300)]},  # Freshdesk
        {"id": 2, "fields": {"comment": {"comments": [{"id": i} for i in range(2_050)]}}},  # Jira
        {"id": 3, "messages": [{"text": "hi"}]},
        {"id": 4, "tags": [f"t{i}" for i in range(3_000)]},  # not a thread: kept whole
    ]
    path = tmp_path / "mixed.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    records = list(open_json(path, "utf-8").records())
    assert [getattr(r, "over_cap", 0) for r in records] == [300, 50, 0, 0]
    assert len(records[0]["conversations"]) == MAX_MESSAGES
    assert records[0]["conversations"][-1]["id"] == MAX_MESSAGES - 1  # the first ones are kept, in order
    assert len(records[1]["fields"]["comment"]["comments"]) == MAX_MESSAGES
    assert len(records[3]["tags"]) == 3_000


@pytest.mark.parametrize("lang", ["en", "zh-CN"])
def test_the_import_summary_names_the_capped_tickets(tmp_path: Path, db_url: str, cli: Any, lang: str) -> None:
    path = _zendesk_file(tmp_path / "zendesk.json", MAX_MESSAGES + 700)
    result = cli("import", str(path), "--format", "zendesk", "--db", db_url, env={"BUTTERFLY_LANGUAGE": lang})
    assert result.exit_code == 0, result.output
    line = (
        "700 messages over the 2,000-message cap"
        if lang == "en"
        else "超过每张 2,000 条消息的上限，共 700 条消息没有导入"
    )
    assert line in result.output and "7 (700)" in result.output
    data = json.loads(cli("import", str(path), "--format", "zendesk", "--json", "--db", db_url).stdout)["files"][0]
    assert data["messages_over_cap"] == 700 and data["capped_tickets"] == {"7": 700}
    assert data["records"] == 4 and data["unchanged"] == 4  # a re-import reads the same capped thread
    with open_session(db_url) as session:
        ticket = session.exec(select(Ticket).where(Ticket.external_id == "7")).one()
        stored = session.exec(select(func.count()).select_from(Message).where(Message.ticket_id == ticket.id)).one()
    assert stored == MAX_MESSAGES
