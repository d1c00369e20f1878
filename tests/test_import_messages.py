"""`butterfly import TICKETS --messages FILE`: a messages CSV beside a ticket CSV, GitHub issue comments (GitHub's
documented comment shape), Zendesk's incremental ticket events with comment child events, and threads in JSON Lines.
Every row is counted; bad rows are rejected naming file, line and field; re-imports change nothing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import col, select

from butterfly.store.db import open_session
from butterfly.store.models import Message, Ticket

TICKETS = (
    "id,customer,subject,status,created,closed\n"
    "T-1,Acme,Export fails,closed,2026-03-01T09:00:00Z,2026-03-03T09:00:00Z\n"
    "T-2,Bolt,Login broken,closed,2026-03-01T10:00:00Z,2026-03-02T09:00:00Z\n"
)
MESSAGES = (
    "ticket_id,time,role,author,text,public\n"
    "T-1,2026-03-01T09:00:00Z,customer,Ana,The export is empty,\n"  # line 2
    "T-2,2026-03-01T10:00:00Z,requester,Bo,I cannot log in,\n"  # 3
    "T-1,2026-03-01T11:00:00Z,agent,Li,We are checking,true\n"  # 4
    'T-1,2026-03-01T12:00:00Z,agent,Li,"<p>Root cause: the template &amp; its cache</p>",false\n'  # 5
    "T-2,2026-03-01T10:30:00Z,agent,Li,Reset link sent; it works within 10 minutes.,\n"  # 6
    "T-1,2026-03-01T10:00:00Z,customer,Ana,Any update?,\n"  # 7: earlier than line 4: sorted by time
    "T-1,2026-03-01T13:00:00Z,manager,Zed,I escalate,\n"  # 8: unknown role
    "T-1,not a time,agent,Li,Fixed,\n"  # 9: bad time
    "T-9,2026-03-01T13:00:00Z,agent,Li,Hello,\n"  # 10: no such ticket
    "T-2,2026-03-01T13:00:00Z,agent,Li,,\n"  # 11: empty text
    "T-2,2026-03-01T13:00:00Z,agent,Li,Done,maybe\n"  # 12: bad public
)


def _thread(db_url: str, external_id: str) -> list[tuple[int, str, bool, str]]:
    with open_session(db_url) as session:
        ticket = session.exec(select(Ticket).where(Ticket.external_id == external_id)).one()
        rows = session.exec(select(Message).where(Message.ticket_id == ticket.id).order_by(col(Message.position))).all()
        return [(m.position, m.role, m.public, m.text) for m in rows]


def _file(data: dict[str, Any], name: str) -> dict[str, Any]:
    return next(f for f in data["files"] if f["path"].endswith(name))


def test_a_messages_csv_beside_a_ticket_csv(tmp_path: Path, db_url: str, cli: Any) -> None:
    tickets = tmp_path / "tickets.csv"
    tickets.write_text(TICKETS, encoding="utf-8")
    messages = tmp_path / "messages.csv"
    messages.write_text(MESSAGES, encoding="utf-8")
    result = cli("import", str(tickets), "--messages", str(messages), "--json", "--db", db_url)
    assert result.exit_code == 1, result.output  # imported, some rows rejected
    summary = _file(json.loads(result.stdout), "messages.csv")
    assert summary["records"] == 11
    assert (summary["new"], summary["rejected"], summary["threads"], summary["messages"]) == (6, 5, 2, 6)
    assert summary["new"] + summary["updated"] + summary["unchanged"] + summary["skipped"] + summary["rejected"] == 11
    assert _thread(db_url, "T-1") == [
        (1, "customer", True, "The export is empty"),
        (2, "customer", True, "Any update?"),
        (3, "agent", True, "We are checking"),
        (4, "agent", False, "Root cause: the template & its cache"),  # HTML reduced to text, public=false
    ]
    assert [r for _p, r, _pub, _t in _thread(db_url, "T-2")] == ["customer", "agent"]
    rejects = (tmp_path / "messages.csv.rejects.txt").read_text(encoding="utf-8")
    for line, field in ((8, "role"), (9, "time"), (10, "ticket_id"), (11, "text"), (12, "public")):
        assert f"# line {line}: {field}:" in rejects
    assert "T-9,2026-03-01T13:00:00Z,agent,Li,Hello," in rejects  # the row itself, as it was

    again = json.loads(cli("import", str(tickets), "--messages", str(messages), "--json", "--db", db_url).stdout)
    assert _file(again, "messages.csv")["unchanged"] == 6 and _file(again, "messages.csv")["threads"] == 0

    messages.write_text(MESSAGES.replace("We are checking", "We are checking the template"), encoding="utf-8")
    changed = json.loads(cli("import", str(tickets), "--messages", str(messages), "--json", "--db", db_url).stdout)
    assert (_file(changed, "messages.csv")["updated"], _file(changed, "messages.csv")["unchanged"]) == (4, 2)
    assert _thread(db_url, "T-1")[2][3] == "We are checking the template"
    assert len(_thread(db_url, "T-1")) == 4


def test_a_messages_csv_without_a_required_column_is_one_error(tmp_path: Path, db_url: str, cli: Any) -> None:
    tickets = tmp_path / "tickets.csv"
    tickets.write_text(TICKETS, encoding="utf-8")
    messages = tmp_path / "messages.csv"
    messages.write_text("ticket_id,time,text\nT-1,2026-03-01T09:00:00Z,hello\n", encoding="utf-8")
    result = cli("import", str(tickets), "--messages", str(messages), "--db", db_url)
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    (line,) = [x for x in result.stderr.splitlines() if x.startswith("Error:")]
    assert "messages.csv:1" in line and "role" in line


def _gh_issue(number: int) -> dict[str, Any]:
    return {
        "id": 9000 + number,
        "number": number,
        "title": f"Crash on start #{number}",
        "body": "The app crashes on start.",
        "state": "closed",
        "user": {"login": "anna", "type": "User"},
        "comments": 2,
        "created_at": "2026-03-01T09:00:00Z",
        "updated_at": "2026-03-02T09:00:00Z",
        "closed_at": "2026-03-02T09:00:00Z",
        "html_url": f"https://github.com/acme/app/issues/{number}",
        "repository_url": "https://api.github.com/repos/acme/app",
    }


def _gh_comment(cid: int, number: int, login: str, association: str, body: str, at: str) -> dict[str, Any]:
    return {
        "id": cid,
        "node_id": f"IC_kwDO{cid}",
        "url": f"https://api.github.com/repos/acme/app/issues/comments/{cid}",
        "html_url": f"https://github.com/acme/app/issues/{number}#issuecomment-{cid}",
        "issue_url": f"https://api.github.com/repos/acme/app/issues/{number}",
        "body": body,
        "user": {"login": login, "id": cid * 7, "type": "User"},
        "created_at": at,
        "updated_at": at,
        "author_association": association,
    }


def test_github_issue_comments_from_a_separate_file(tmp_path: Path, db_url: str, cli: Any) -> None:
    issues = tmp_path / "issues.json"
    issues.write_text(json.dumps([_gh_issue(1), _gh_issue(2)]), encoding="utf-8")
    comments = tmp_path / "comments.json"
    comments.write_text(
        json.dumps(
            [  # the repository-wide listing: sorted by creation, issues interleaved
                _gh_comment(1, 1, "bo", "MEMBER", "Which version?", "2026-03-01T10:00:00Z"),
                _gh_comment(2, 2, "bo", "MEMBER", "Looking.", "2026-03-01T10:30:00Z"),
                _gh_comment(3, 1, "anna", "NONE", "2.4.0", "2026-03-01T11:00:00Z"),
                _gh_comment(4, 7, "bo", "MEMBER", "Wrong issue", "2026-03-01T11:30:00Z"),
                {"id": 5, "body": "no issue_url"},
            ]
        ),
        encoding="utf-8",
    )
    result = cli("import", str(issues), "--messages", str(comments), "--json", "--db", db_url)
    assert result.exit_code == 1, result.output
    summary = _file(json.loads(result.stdout), "comments.json")
    assert (summary["records"], summary["new"], summary["rejected"]) == (5, 3, 2)
    assert _thread(db_url, "acme/app#1") == [
        (1, "customer", True, "The app crashes on start."),
        (2, "agent", True, "Which version?"),
        (3, "customer", True, "2.4.0"),
    ]
    rejects = (tmp_path / "comments.json.rejects.txt").read_text(encoding="utf-8")
    assert "# comment 4: ticket_id: no ticket 'acme/app#7'" in rejects
    assert "# comment 5: issue_url:" in rejects


def test_zendesk_comment_events_merge_into_the_stored_thread(tmp_path: Path, db_url: str, cli: Any) -> None:
    ticket = {
        "id": 42,
        "url": "https://acme.zendesk.com/api/v2/tickets/42.json",
        "subject": "Invoice export fails",
        "status": "solved",
        "requester_id": 7,
        "created_at": "2026-03-02T09:00:00Z",
        "updated_at": "2026-03-03T09:00:00Z",
        "via": {"channel": "email"},
        "comments": [
            {"id": 1, "author_id": 7, "public": True, "body": "Export fails", "created_at": "2026-03-02T09:00:00Z"},
            {"id": 2, "author_id": 99, "public": True, "body": "Checking", "created_at": "2026-03-02T10:00:00Z"},
        ],
    }
    export = tmp_path / "tickets.json"
    export.write_text(json.dumps({"tickets": [ticket]}), encoding="utf-8")

    def comment(cid: int, author: int, body: str, at: str, public: bool = True) -> dict[str, Any]:
        return {
            "id": cid,
            "via": {"channel": "web", "source": {"from": {}, "to": {}, "rel": None}},
            "via_reference_id": None,
            "type": "Comment",
            "author_id": author,
            "body": body,
            "html_body": f'<div class="zd-comment" dir="auto"><p dir="auto">{body}</p></div>',
            "plain_body": body,
            "public": public,
            "attachments": [],
            "audit_id": 500 + cid,
            "created_at": at,
            "event_type": "Comment",
        }

    events = {
        "ticket_events": [
            {
                "id": 502,
                "ticket_id": 42,
                "timestamp": 1772449200,
                "created_at": "2026-03-02T10:00:00Z",
                "updater_id": 99,
                "via": "Web form",
                "system": {},
                "metadata": {},
                "event_type": "Audit",
                "child_events": [
                    comment(2, 99, "Checking", "2026-03-02T10:00:00Z"),
                    {
                        "id": 9001,
                        "via": "Web form",
                        "event_type": "Change",
                        "field_name": "status",
                        "value": "open",
                        "previous_value": "new",
                    },
                ],
            },
            {
                "id": 503,
                "ticket_id": 42,
                "timestamp": 1772463600,
                "created_at": "2026-03-02T14:00:00Z",
                "updater_id": 99,
                "event_type": "Audit",
                "child_events": [
                    comment(3, 99, "L2 says: template lost", "2026-03-02T14:00:00Z", public=False),
                    comment(4, 7, "Any update?", "2026-03-02T13:00:00Z"),
                ],
            },
            {
                "id": 504,
                "ticket_id": 42,
                "created_at": "2026-03-02T15:00:00Z",
                "event_type": "Audit",
                "child_events": [],
            },
        ],
        "next_page": "https://acme.zendesk.com/api/v2/incremental/ticket_events.json?start_time=1772463600",
        "count": 3,
        "end_of_stream": True,
        "end_time": 1772463600,
    }
    path = tmp_path / "ticket_events.json"
    path.write_text(json.dumps(events), encoding="utf-8")
    result = cli("import", str(export), "--messages", str(path), "--json", "--db", db_url)
    assert result.exit_code == 0, result.output
    summary = _file(json.loads(result.stdout), "ticket_events.json")
    assert summary["records"] == 5 and summary["skipped"] == 2  # a Change child event, an audit without children
    assert summary["skipped_reasons"] == {"not a comment event": 1, "ticket event without child events": 1}
    assert _thread(db_url, "42") == [
        (1, "customer", True, "Export fails"),
        (2, "agent", True, "Checking"),  # the same comment: merged, not repeated
        (3, "customer", True, "Any update?"),  # by time
        (4, "internal", False, "L2 says: template lost"),
    ]
    again = json.loads(cli("import", str(export), "--messages", str(path), "--json", "--db", db_url).stdout)
    assert _file(again, "ticket_events.json")["unchanged"] == 3
    assert len(_thread(db_url, "42")) == 4


def test_threads_in_json_lines(tmp_path: Path, db_url: str, cli: Any) -> None:
    lines = [
        {
            "id": "C-1",
            "subject": "Late parcel",
            "status": "closed",
            "created": "2026-03-01T09:00:00Z",
            "messages": [
                {"role": "customer", "text": "Where is my parcel?", "created_at": "2026-03-01T09:00:00Z"},
                {"role": "agent", "text": "It arrives tomorrow before noon.", "created_at": "2026-03-01T09:30:00Z"},
            ],
        },
        {"id": "C-2", "subject": "No thread", "status": "closed", "created": "2026-03-01T09:00:00Z"},
    ]
    path = tmp_path / "tickets.jsonl"
    path.write_text("\n".join(json.dumps(x) for x in lines) + "\n", encoding="utf-8")
    result = cli("import", str(path), "--json", "--db", db_url)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)["files"][0]
    assert (data["records"], data["threads"], data["messages"]) == (2, 1, 2)
    assert [r for _p, r, _pub, _t in _thread(db_url, "C-1")] == ["customer", "agent"]
    assert _thread(db_url, "C-2") == []


def test_messages_for_tickets_of_several_sources_need_a_source(tmp_path: Path, db_url: str, cli: Any) -> None:
    a = tmp_path / "a.csv"
    a.write_text(TICKETS, encoding="utf-8")
    b = tmp_path / "b.jsonl"
    b.write_text(json.dumps({"id": "X-1", "subject": "s", "status": "open"}) + "\n", encoding="utf-8")
    messages = tmp_path / "messages.csv"
    messages.write_text("ticket_id,time,role,text\nT-1,2026-03-01T09:00:00Z,customer,hello\n", encoding="utf-8")
    result = cli("import", str(a), str(b), "--messages", str(messages), "--db", db_url)
    assert result.exit_code == 2
    assert any(x.startswith("Error:") and "--messages" in x for x in result.stderr.splitlines())


def test_the_import_summary_speaks_the_settings_language(
    tmp_path: Path, db_url: str, cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from butterfly.settings import get_settings

    tickets = tmp_path / "tickets.csv"
    tickets.write_text(TICKETS + ",Nobody,No id,closed,2026-03-01T09:00:00Z,\n", encoding="utf-8")
    messages = tmp_path / "messages.csv"
    messages.write_text(MESSAGES, encoding="utf-8")
    expected = {  # the first run stores the threads; the later ones find them unchanged
        "zh-CN": ("导入", "拒收 6 条记录", "保存或更新了 2 段对话（6 条消息）"),
        "zh-TW": ("匯入", "拒收 6 筆記錄", None),
        "en": ("Import", "6 record(s) rejected", None),
    }
    for lang, (title, rejected, threads) in expected.items():
        monkeypatch.setenv("BUTTERFLY_LANGUAGE", lang)
        get_settings.cache_clear()
        result = cli("import", str(tickets), "--messages", str(messages), "--db", db_url)
        assert result.exit_code == 1, result.output
        assert title in result.stdout and rejected in result.stderr, lang
        if threads:
            assert threads in result.stderr


def test_html_in_messages_is_reduced_to_text_without_scripts_styles_or_comments() -> None:
    from butterfly.importers.threads import MAX_TEXT, plain

    body = (
        "<html><head><title>t</title><style>p{color:red}</style></head><body><p>Hello &amp; welcome</p>"
        "<script>alert(1)</script><!-- agent-only note --><p>Bye &lt;3</p></body></html>"
    )
    text = plain(body)
    assert "Hello & welcome" in text and "Bye <3" in text
    assert "alert" not in text and "color" not in text and "agent-only" not in text
    assert plain("<p>cut <script>evil()") == "cut"  # an unclosed script is dropped to the end
    assert len(plain("<p>" + "x" * 500_000)) == MAX_TEXT  # one message is capped


def test_a_merge_beyond_the_cap_is_counted_not_silently_dropped(
    tmp_path: Path, sqlite_url_fixture: str, cli: Any
) -> None:
    """1,500 comments stored with the ticket, then 1,000 newer comment events: the merged thread keeps the cap
    (2,000) and the import says that 500 messages of ticket 42 were left out."""
    from butterfly.importers.threads import MAX_MESSAGES

    def comment(cid: int, minute: int) -> dict[str, Any]:
        at = f"2026-03-{2 + minute // 1440:02d}T{minute // 60 % 24:02d}:{minute % 60:02d}:00Z"
        return {"id": cid, "author_id": 7, "public": True, "body": f"message {cid}", "created_at": at}

    ticket = {
        "id": 42,
        "subject": "Invoice export fails",
        "status": "solved",
        "requester_id": 7,
        "created_at": "2026-03-02T00:00:00Z",
        "comments": [comment(i, i) for i in range(1, 1501)],
    }
    export = tmp_path / "tickets.json"
    export.write_text(json.dumps({"tickets": [ticket]}), encoding="utf-8")
    first = cli("import", str(export), "--json", "--db", sqlite_url_fixture)
    assert first.exit_code == 0, first.output
    assert _file(json.loads(first.stdout), "tickets.json")["messages_over_cap"] == 0
    events = {
        "ticket_events": [
            {
                "id": 9000 + i,
                "ticket_id": 42,
                "created_at": comment(i, i)["created_at"],
                "event_type": "Audit",
                "child_events": [{**comment(i, i), "type": "Comment", "event_type": "Comment"}],
            }
            for i in range(1501, 2501)
        ]
    }
    path = tmp_path / "ticket_events.json"
    path.write_text(json.dumps(events), encoding="utf-8")
    result = cli("import", str(export), "--messages", str(path), "--json", "--db", sqlite_url_fixture)
    assert result.exit_code == 0, result.output
    summary = _file(json.loads(result.stdout), "ticket_events.json")
    assert summary["messages_over_cap"] == 500
    assert summary["capped_tickets"] == {"42": 500}
    assert len(_thread(sqlite_url_fixture, "42")) == MAX_MESSAGES
    shown = cli("import", str(export), "--messages", str(path), "--db", sqlite_url_fixture)
    assert "500" in shown.stderr  # the summary line says it (tests/test_thread_cap_stream.py checks its words)
