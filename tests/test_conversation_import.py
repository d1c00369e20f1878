"""Threads come in with their tickets: Zendesk comments, Freshdesk conversations, Jira comments (ADF too) and
generic JSON dialogs; stored once, replaced in place when they change, shown by `tickets show --thread`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlmodel import select

from butterfly.store.db import open_session
from butterfly.store.models import Message, Ticket

ROOT = Path(__file__).resolve().parent.parent


def _zendesk(comments: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "tickets": [
            {
                "id": 42,
                "subject": "Invoice export fails",
                "description": "Template not found",
                "status": "solved",
                "requester_id": 7,
                "created_at": "2026-03-02T09:00:00Z",
                "updated_at": "2026-03-03T09:00:00Z",
                "comments": comments,
            }
        ]
    }


COMMENTS = [
    {
        "id": 1,
        "author_id": 7,
        "public": True,
        "body": "Export fails: template not found",
        "created_at": "2026-03-02T09:00:00Z",
    },
    {
        "id": 2,
        "author_id": 99,
        "public": True,
        "html_body": "<p>Sorry! We&#39;re checking.</p>",
        "body": "Sorry! We're checking.",
        "created_at": "2026-03-02T10:00:00Z",
    },
    {
        "id": 3,
        "author_id": 7,
        "public": True,
        "body": "Any update? We file taxes today.",
        "created_at": "2026-03-02T15:00:00Z",
    },
    {
        "id": 4,
        "author_id": 99,
        "public": False,
        "body": "L2: template lost in the release",
        "created_at": "2026-03-02T15:10:00Z",
    },
    {
        "id": 5,
        "author_id": 99,
        "public": True,
        "body": "The template will be restored by 5 pm today.",
        "created_at": "2026-03-02T15:30:00Z",
    },
]


def _messages(db_url: str, external_id: str) -> list[tuple[int, str, bool, str]]:
    with open_session(db_url) as session:
        ticket = session.exec(select(Ticket).where(Ticket.external_id == external_id)).one()
        rows = session.exec(select(Message).where(Message.ticket_id == ticket.id).order_by(Message.position)).all()
        return [(m.position, m.role, m.public, m.text) for m in rows]


def test_zendesk_comments_are_stored_once_and_replaced_when_they_change(tmp_path: Path, db_url: str, cli: Any) -> None:
    export = tmp_path / "zendesk.json"
    export.write_text(json.dumps(_zendesk(COMMENTS)), encoding="utf-8")
    assert cli("import", str(export), "--format", "zendesk", "--db", db_url).exit_code == 0
    stored = _messages(db_url, "42")
    assert [(p, r, pub) for p, r, pub, _t in stored] == [
        (1, "customer", True),
        (2, "agent", True),
        (3, "customer", True),
        (4, "internal", False),
        (5, "agent", True),
    ]
    assert stored[1][3] == "Sorry! We're checking."  # text of the HTML, entities unescaped

    assert cli("import", str(export), "--format", "zendesk", "--db", db_url).exit_code == 0
    assert _messages(db_url, "42") == stored  # a re-import changes nothing, duplicates nothing

    changed = [
        *COMMENTS,
        {"id": 6, "author_id": 7, "public": True, "body": "Thanks, works now.", "created_at": "2026-03-02T17:00:00Z"},
    ]
    export.write_text(json.dumps(_zendesk(changed)), encoding="utf-8")
    assert cli("import", str(export), "--format", "zendesk", "--db", db_url).exit_code == 0
    again = _messages(db_url, "42")
    assert len(again) == 6 and again[:5] == stored


def test_tickets_show_gives_the_facts_and_the_thread(tmp_path: Path, db_url: str, cli: Any) -> None:
    export = tmp_path / "zendesk.json"
    export.write_text(json.dumps(_zendesk(COMMENTS)), encoding="utf-8")
    cli("import", str(export), "--format", "zendesk", "--db", db_url)
    shown = cli("tickets", "show", "42", "--db", db_url)
    assert shown.exit_code == 0, shown.output
    assert "chased:" in shown.output and "1 time(s): #3" in shown.output
    assert "definite plan:" in shown.output and "#5" in shown.output and "5 pm" in shown.output
    assert "L2: template lost" not in shown.output  # the whole thread only with --thread
    whole = cli("tickets", "show", "42", "--thread", "--db", db_url)
    assert "L2: template lost in the release" in whole.output and "(internal)" in whole.output
    data = json.loads(cli("tickets", "show", "42", "--json", "--thread", "--db", db_url).output)
    conv = data["conversation"]
    assert [c["position"] for c in conv["chases"]] == [3]
    assert conv["first_plan"]["position"] == 5 and len(conv["thread"]) == 5


def test_a_ticket_without_a_thread_says_so(tmp_path: Path, db_url: str, cli: Any) -> None:
    export = tmp_path / "zendesk.json"
    export.write_text(json.dumps(_zendesk([])), encoding="utf-8")
    cli("import", str(export), "--format", "zendesk", "--db", db_url)
    shown = cli("tickets", "show", "42", "--db", db_url)
    assert "conversation: none imported" in shown.output


def test_freshdesk_conversations_and_jira_comments(tmp_path: Path, db_url: str, cli: Any) -> None:
    freshdesk = [
        {
            "id": 11,
            "subject": "Refund missing",
            "description_text": "No refund yet",
            "status": 5,
            "priority": 1,
            "created_at": "2026-03-01T09:00:00Z",
            "updated_at": "2026-03-02T09:00:00Z",
            "conversations": [
                {"body_text": "还没好吗？", "incoming": True, "private": False, "created_at": "2026-03-01T12:00:00Z"},
                {
                    "body_text": "退款会在3个工作日内原路退回。",
                    "incoming": False,
                    "private": False,
                    "created_at": "2026-03-01T13:00:00Z",
                },
                {"body_text": "note", "incoming": False, "private": True, "created_at": "2026-03-01T13:05:00Z"},
            ],
        }
    ]
    path = tmp_path / "fd.json"
    path.write_text(json.dumps(freshdesk, ensure_ascii=False), encoding="utf-8")
    assert cli("import", str(path), "--format", "freshdesk", "--db", db_url).exit_code == 0
    assert [r for _p, r, _pub, _t in _messages(db_url, "11")] == ["customer", "customer", "agent", "internal"]

    adf = {"type": "doc", "content": [{"type": "paragraph", "content": [{"type": "text", "text": "Fixed by Friday."}]}]}
    jira = {
        "issues": [
            {
                "key": "SUP-7",
                "fields": {
                    "summary": "VPN down",
                    "status": {"name": "Done", "statusCategory": {"key": "done"}},
                    "created": "2026-03-01T09:00:00.000+0000",
                    "updated": "2026-03-02T09:00:00.000+0000",
                    "reporter": {"accountId": "c1", "displayName": "Ana"},
                    "description": "VPN is down for the whole office",
                    "comment": {
                        "comments": [
                            {
                                "author": {"accountId": "a9", "displayName": "Bo"},
                                "body": adf,
                                "created": "2026-03-01T10:00:00.000+0000",
                            },
                            {
                                "author": {"accountId": "c1", "displayName": "Ana"},
                                "body": "thanks",
                                "created": "2026-03-01T11:00:00.000+0000",
                            },
                        ]
                    },
                },
            }
        ]
    }
    path = tmp_path / "jira.json"
    path.write_text(json.dumps(jira), encoding="utf-8")
    assert cli("import", str(path), "--format", "jira", "--db", db_url).exit_code == 0
    assert _messages(db_url, "SUP-7") == [
        (1, "customer", True, "VPN is down for the whole office"),
        (2, "agent", True, "Fixed by Friday."),
        (3, "customer", True, "thanks"),
    ]


def test_twitter_threads_through_the_example_mapping(tmp_path: Path, db_url: str, cli: Any) -> None:
    dialogs = [
        {
            "dialogHeader": {
                "sessionID": "s1",
                "company": "AcmeSupport",
                "conversationDateTime": "2020-01-12T14:50:11.000Z",
            },
            "dialogContent": [
                {"client": "anna", "datetime": "2020-01-12T14:50:11.000Z", "message": "@Acme my printer is offline"},
                {
                    "agent": "AcmeSupport",
                    "datetime": "2020-01-12T15:10:00.000Z",
                    "message": "We'll call you tomorrow at 10 am.",
                },
                {"client": "anna", "datetime": "2020-01-13T09:00:00.000Z", "message": "any update?"},
            ],
        }
    ]
    path = tmp_path / "threads.json"
    path.write_text(json.dumps(dialogs), encoding="utf-8")
    result = cli("import", str(path), "--map", str(ROOT / "examples" / "twitter-threads.yaml"), "--db", db_url)
    assert result.exit_code == 0, result.output
    assert [(p, r) for p, r, _pub, _t in _messages(db_url, "s1")] == [(1, "customer"), (2, "agent"), (3, "customer")]


def test_the_certainty_line_reads_the_conversation_when_there_is_one(tmp_path: Path, db_url: str, cli: Any) -> None:
    """#14: with a thread the walk's certainty line shows chases, silence and the plan, naming the messages; without
    one it is labelled as speed."""
    from butterfly.conversation.store import thread_facts
    from butterfly.review.guards import certainty_line

    export = tmp_path / "zendesk.json"
    export.write_text(json.dumps(_zendesk(COMMENTS)), encoding="utf-8")
    cli("import", str(export), "--format", "zendesk", "--db", db_url)
    with open_session(db_url) as session:
        ticket = session.exec(select(Ticket).where(Ticket.external_id == "42")).one()
        _thread, found = thread_facts(session=session, ticket=ticket)
        line = certainty_line(ticket, "en", found)
        zh = certainty_line(ticket, "zh-CN", found)
        plain = certainty_line(ticket, "en", None)
    assert "chased 1 time(s) (#3)" in line and "#5" in line and "5 pm" in line
    assert "催了 1 次" in zh and "#5" in zh
    assert "That is speed" in plain
