"""`butterfly sync SOURCE --comments`: each synced ticket's conversation fetched from the helpdesk's API (served by
tests/sync_server.py in each vendor's documented shapes, comments paginated), stored like an import's thread: a
re-sync with unchanged comments changes nothing, a changed comment is updated in place, and the token never
appears in any output, file or the database."""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any

import pytest
from sync_server import Answer, Api, paged, serve

from butterfly.store.db import open_session, sqlite_url
from butterfly.sync.config import SyncSettings
from butterfly.sync.service import run_sync

TOKEN = "ghp_C0mmentS3cret77"
NO_SLEEP = {"sleep": lambda seconds: None}


def _sync(db_url: str, settings: SyncSettings, tmp_path: Path, **kwargs: Any) -> Any:
    kwargs.setdefault("http_options", NO_SLEEP)
    with open_session(db_url) as session:
        return run_sync(session=session, settings=settings, data_dir=tmp_path / "data", **kwargs)


def _thread(db_url: str, external_id: str) -> list[tuple[int, str, bool, str | None, str]]:
    from sqlmodel import col, select

    from butterfly.store.models import Message, Ticket

    with open_session(db_url) as session:
        ticket = session.exec(select(Ticket).where(Ticket.external_id == external_id)).one()
        rows = session.exec(select(Message).where(Message.ticket_id == ticket.id).order_by(col(Message.position))).all()
        return [(m.position, m.role, m.public, m.author, m.text) for m in rows]


def _paths(api: Api) -> list[str]:
    return [p for p, _q, _h in api.requests]


# -- GitHub ------------------------------------------------------------------------------------------------------


def _issue(number: int, comments: int, *, pr: bool = False) -> dict[str, Any]:
    issue: dict[str, Any] = {
        "id": 2000 + number,
        "number": number,
        "title": f"Export broken #{number}",
        "body": "The CSV export is empty since Monday.",
        "state": "closed",
        "user": {"login": "anna", "type": "User"},
        "comments": comments,
        "created_at": "2026-03-01T09:00:00Z",
        "updated_at": f"2026-03-0{number + 1}T10:00:00Z",
        "closed_at": f"2026-03-0{number + 1}T10:00:00Z",
        "html_url": f"https://github.com/acme/support/issues/{number}",
        "repository_url": "https://api.github.com/repos/acme/support",
    }
    if pr:
        issue["pull_request"] = {"url": f"https://api.github.com/repos/acme/support/pulls/{number}"}
    return issue


def _gh_comment(cid: int, login: str, association: str, body: str, at: str, kind: str = "User") -> dict[str, Any]:
    return {
        "id": cid,
        "node_id": f"IC_{cid}",
        "url": f"https://api.github.com/repos/acme/support/issues/comments/{cid}",
        "html_url": f"https://github.com/acme/support/issues/1#issuecomment-{cid}",
        "issue_url": "https://api.github.com/repos/acme/support/issues/1",
        "body": body,
        "user": {"login": login, "type": kind},
        "author_association": association,
        "created_at": at,
        "updated_at": at,
    }


GH_COMMENTS = [
    _gh_comment(11, "bo", "MEMBER", "Thanks, we are looking into it.", "2026-03-01T10:00:00Z"),
    _gh_comment(12, "anna", "NONE", "Any update? Payroll runs tomorrow.", "2026-03-01T15:00:00Z"),
    _gh_comment(13, "stale[bot]", "NONE", "This issue has been labelled.", "2026-03-01T16:00:00Z", "Bot"),
    _gh_comment(14, "carl", "NONE", "Same here.", "2026-03-01T17:00:00Z"),
    _gh_comment(15, "bo", "MEMBER", "Fixed in 2.4.1, released by 5 pm today.", "2026-03-01T18:00:00Z"),
]


@pytest.fixture
def github_api(monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setattr("butterfly.sync.github.PER_PAGE", 2)

    def handle(api: Api, path: str, query: dict[str, str], headers: dict[str, str]) -> Answer:
        if headers.get("authorization") != f"Bearer {TOKEN}":
            return 401, {}, {"message": "Bad credentials"}
        if path == "/repos/acme/support/issues":
            return paged(api.data["issues"], query, api.base, path, int(query.get("per_page", "2")))
        if path.startswith("/repos/acme/support/issues/") and path.endswith("/comments"):
            number = int(path.split("/")[-2])
            return paged(api.data["comments"].get(number, []), query, api.base, path, int(query.get("per_page", "2")))
        return 404, {}, {"message": "Not Found"}

    api = Api(handle=handle)
    api.data["issues"] = [_issue(1, 5), _issue(2, 0), _issue(3, 1, pr=True)]
    api.data["comments"] = {
        1: copy.deepcopy(GH_COMMENTS),
        3: [_gh_comment(31, "bo", "MEMBER", "LGTM", "2026-03-03T10:00:00Z")],
    }
    with serve(api):
        monkeypatch.setenv("BUTTERFLY_GITHUB_TOKEN", TOKEN)
        yield api


def _gh_settings(api: Api, **extra: Any) -> SyncSettings:
    return SyncSettings.model_validate({"github": {"url": api.base, "repos": ["acme/support"], **extra}})


def test_github_comments_are_paged_to_the_end_and_attributed(github_api: Api, db_url: str, tmp_path: Path) -> None:
    summary = _sync(db_url, _gh_settings(github_api), tmp_path, source="github", comments=True)
    assert summary.total("threads") == 2 and summary.total("messages") == 7  # issue 1: body + 5; issue 2: body
    assert [(p, r, a) for p, r, _pub, a, _t in _thread(db_url, "acme/support#1")] == [
        (1, "customer", "anna"),  # the issue body
        (2, "agent", "bo"),  # MEMBER
        (3, "customer", "anna"),  # the issue's author
        (4, "system", "stale[bot]"),  # a bot
        (5, "customer", "carl"),  # another user with the same problem
        (6, "agent", "bo"),
    ]
    comment_pages = [q.get("page", "1") for p, q, _h in github_api.requests if p.endswith("/1/comments")]
    assert comment_pages == ["1", "2", "3"]  # 5 comments, 2 a page: followed the Link header to the end
    assert not any(p.endswith("/2/comments") for p in _paths(github_api))  # "comments": 0 needs no request
    assert not any(p.endswith("/3/comments") for p in _paths(github_api))  # a pull request: no ticket, no thread


def test_a_thread_over_the_cap_is_counted_in_the_sync_summary(
    github_api: Api, sqlite_url_fixture: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 1 has 6 messages (the body and 5 comments). With a cap of 3 the reader stops fetching once it holds 3
    comments (pages of 2: 4 fetched), and the body + 4 fetched are cut to 3: the summary says at least 2 were not
    stored (the one never fetched cannot be counted)."""
    monkeypatch.setattr("butterfly.importers.threads.MAX_MESSAGES", 3)
    monkeypatch.setattr("butterfly.importers.thread_store.MAX_MESSAGES", 3)
    summary = _sync(sqlite_url_fixture, _gh_settings(github_api), tmp_path, source="github", comments=True)
    assert summary.total("messages_over_cap") == 2
    assert len(_thread(sqlite_url_fixture, "acme/support#1")) == 3


def test_github_resync_changes_nothing_then_updates_an_edited_comment_in_place(
    github_api: Api, db_url: str, tmp_path: Path
) -> None:
    settings = _gh_settings(github_api, comments=True)  # the setting, not the option
    _sync(db_url, settings, tmp_path, source="github")
    before = _thread(db_url, "acme/support#1")
    again = _sync(db_url, settings, tmp_path, source="github", full=True)
    assert again.total("threads") == 0 and again.total("messages") == 0
    assert _thread(db_url, "acme/support#1") == before

    github_api.data["comments"][1][4]["body"] = "Fixed in 2.4.2, released by 6 pm today."
    edited = _sync(db_url, settings, tmp_path, source="github", full=True)
    assert edited.total("threads") == 1
    after = _thread(db_url, "acme/support#1")
    assert len(after) == len(before) and after[:5] == before[:5]
    assert after[5][4] == "Fixed in 2.4.2, released by 6 pm today."

    without = _sync(db_url, settings, tmp_path, source="github", full=True, comments=False)
    assert without.total("threads") == 0
    assert not any("/comments" in p for p in _paths(github_api)[-2:])


def test_the_token_never_appears_with_comments(
    github_api: Api, tmp_path: Path, cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "sync.db"
    monkeypatch.setenv("BUTTERFLY_SYNC__GITHUB__URL", github_api.base)
    outputs = []
    for extra in ([], ["--json"], ["--full"]):
        result = cli("sync", "github", "--repo", "acme/support", "--comments", "--db", sqlite_url(db), *extra)
        assert result.exit_code == 0, result.output + result.stderr
        outputs.append(result.output + result.stderr)
    assert "conversation(s) stored or updated" in outputs[0]
    for text in outputs:
        assert TOKEN not in text
    for path in [*tmp_path.rglob("*"), *Path(os.environ["HOME"]).rglob("*")]:
        if path.is_file():
            assert TOKEN.encode() not in path.read_bytes(), path


# -- Zendesk -----------------------------------------------------------------------------------------------------


def _zd_comment(cid: int, author: int, body: str, at: str, public: bool = True) -> dict[str, Any]:
    return {
        "id": cid,
        "type": "Comment",
        "author_id": author,
        "body": body,
        "html_body": f'<div class="zd-comment"><p>{body}</p></div>',
        "plain_body": body,
        "public": public,
        "attachments": [],
        "audit_id": cid + 1000,
        "via": {"channel": "web"},
        "created_at": at,
    }


ZD_COMMENTS = [
    _zd_comment(1, 501, "The VAT export says template not found.", "2026-03-01T09:00:00Z"),
    _zd_comment(2, 900, "Sorry! We are checking.", "2026-03-01T10:00:00Z"),
    _zd_comment(3, 900, "L2: template lost in the release", "2026-03-01T10:05:00Z", public=False),
    _zd_comment(4, 501, "Any update?", "2026-03-01T15:00:00Z"),
    _zd_comment(5, 900, "Restored by 5 pm today.", "2026-03-01T15:30:00Z"),
]


def test_zendesk_comments_follow_the_cursor_and_are_not_paced(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("butterfly.sync.zendesk.COMMENTS_PER_PAGE", 2)
    monkeypatch.setenv("BUTTERFLY_ZENDESK_TOKEN", TOKEN)
    tickets = [
        {
            "id": 1,
            "subject": "Invoice export fails",
            "status": "solved",
            "requester_id": 501,
            "created_at": "2026-03-01T09:00:00Z",
            "updated_at": "2026-03-02T10:00:00Z",
            "via": {"channel": "email"},
        },
        {"id": 2, "subject": "gone", "status": "deleted", "requester_id": 502, "updated_at": "2026-03-02T11:00:00Z"},
    ]

    def handle(api: Api, path: str, query: dict[str, str], headers: dict[str, str]) -> Answer:
        if path == "/api/v2/incremental/tickets/cursor.json":
            return 200, {}, {"tickets": tickets, "after_cursor": "c1", "end_of_stream": True}
        if path == "/api/v2/tickets/1/comments.json":
            size = int(query.get("page[size]", "100"))
            start = int(query.get("page[after]", "0"))
            chunk = ZD_COMMENTS[start : start + size]
            more = start + size < len(ZD_COMMENTS)
            after = str(start + size)
            return (
                200,
                {},
                {
                    "comments": chunk,
                    "meta": {"has_more": more, "after_cursor": after, "before_cursor": str(start)},
                    "links": {
                        "next": f"{api.base}{path}?page[after]={after}&page[size]={size}" if more else None,
                        "prev": None,
                    },
                },
            )
        return 404, {}, {"error": "RecordNotFound"}

    pauses: list[float] = []
    with serve(Api(handle=handle)) as api:
        settings = SyncSettings.model_validate({"zendesk": {"url": api.base, "email": "lead@acme.example"}})
        summary = _sync(
            db_url, settings, tmp_path, source="zendesk", comments=True, http_options={"sleep": pauses.append}
        )
        assert [q.get("page[after]") for p, q, _h in api.requests if p.endswith("/comments.json")] == [None, "2", "4"]
        assert not any(p.startswith("/api/v2/tickets/2/") for p in _paths(api))  # deleted: no comments asked
    assert pauses == []  # one export request: nothing to pace; the comment requests are not paced
    assert summary.total("threads") == 1
    assert [(r, pub) for _p, r, pub, _a, _t in _thread(db_url, "1")] == [
        ("customer", True),
        ("agent", True),
        ("internal", False),
        ("customer", True),
        ("agent", True),
    ]


# -- Freshdesk, Jira, ServiceNow ---------------------------------------------------------------------------------


def test_freshdesk_jira_and_servicenow_threads(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("butterfly.sync.freshdesk.PER_PAGE", 2)
    monkeypatch.setattr("butterfly.sync.jira.PER_PAGE", 2)
    monkeypatch.setattr("butterfly.sync.servicenow.PER_PAGE", 2)
    for var in ("BUTTERFLY_FRESHDESK_TOKEN", "BUTTERFLY_JIRA_TOKEN", "BUTTERFLY_SERVICENOW_PASSWORD"):
        monkeypatch.setenv(var, TOKEN)
    fd_tickets = [
        {
            "id": 11,
            "subject": "Refund missing",
            "description_text": "No refund yet",
            "status": 5,
            "requester_id": 70,
            "created_at": "2026-03-01T09:00:00Z",
            "updated_at": "2026-03-02T09:00:00Z",
        }
    ]
    fd_conversations = [
        {
            "id": 101,
            "body": "<p>还没好吗？</p>",
            "body_text": "还没好吗？",
            "incoming": True,
            "private": False,
            "user_id": 70,
            "source": 0,
            "created_at": "2026-03-01T12:00:00Z",
        },
        {
            "id": 102,
            "body_text": "退款会在3个工作日内原路退回。",
            "incoming": False,
            "private": False,
            "user_id": 9,
            "source": 0,
            "created_at": "2026-03-01T13:00:00Z",
        },
        {
            "id": 103,
            "body_text": "checked with finance",
            "incoming": False,
            "private": True,
            "user_id": 9,
            "source": 2,
            "created_at": "2026-03-01T13:05:00Z",
        },
    ]

    def adf(text: str) -> dict[str, Any]:
        return {
            "type": "doc",
            "version": 1,
            "content": [{"type": "paragraph", "content": [{"type": "text", "text": text}]}],
        }

    jira_comments = [
        {
            "id": str(900 + i),
            "author": {"accountId": who, "displayName": who},
            "body": adf(text),
            "created": f"2026-03-01T1{i}:00:00.000+0000",
            "jsdPublic": public,
        }
        for i, (who, text, public) in enumerate(
            [
                ("a9", "Looking at it", True),
                ("c1", "Any news?", True),
                ("a9", "VPN config fixed by Friday", True),
                ("a9", "root cause: cert", False),
            ]
        )
    ]
    jira_issue = {
        "key": "SUP-7",
        "fields": {
            "summary": "VPN down",
            "status": {"name": "Done", "statusCategory": {"key": "done"}},
            "created": "2026-03-01T09:00:00.000+0000",
            "updated": "2026-03-02T09:00:00.000+0000",
            "reporter": {"accountId": "c1", "displayName": "c1"},
            "description": adf("VPN is down for the office"),
            "comment": {"comments": jira_comments[:1], "maxResults": 1, "total": 4, "startAt": 0},
        },
    }
    sn_incident = {
        "sys_id": {"display_value": "a1b2", "value": "a1b2"},
        "number": {"display_value": "INC0010009", "value": "INC0010009"},
        "state": {"display_value": "Closed", "value": "7"},
        "opened_at": {"display_value": "01-03-2026 09:00:00", "value": "2026-03-01 09:00:00"},
        "closed_at": {"display_value": "02-03-2026 09:00:00", "value": "2026-03-02 09:00:00"},
        "sys_updated_on": {"display_value": "02-03-2026 09:00:00", "value": "2026-03-02 09:00:00"},
        "caller_id": {"display_value": "Abel Tuter", "value": "c0ffee"},
        "caller_id.user_name": {"display_value": "abel.tuter", "value": "abel.tuter"},
        "short_description": {"display_value": "Printer jam", "value": "Printer jam"},
        "description": {"display_value": "Printer jams on every page", "value": "Printer jams on every page"},
    }
    journal = [
        {
            "sys_id": "j1",
            "element": "comments",
            "element_id": "a1b2",
            "value": "Any update?",
            "sys_created_on": "2026-03-01 12:00:00",
            "sys_created_by": "abel.tuter",
        },
        {
            "sys_id": "j2",
            "element": "work_notes",
            "element_id": "a1b2",
            "value": "Fuser unit ordered",
            "sys_created_on": "2026-03-01 12:30:00",
            "sys_created_by": "beth.anglin",
        },
        {
            "sys_id": "j3",
            "element": "comments",
            "element_id": "a1b2",
            "value": "A technician comes tomorrow at 10 am.",
            "sys_created_on": "2026-03-01 13:00:00",
            "sys_created_by": "beth.anglin",
        },
    ]

    def handle(api: Api, path: str, query: dict[str, str], headers: dict[str, str]) -> Answer:
        if path == "/api/v2/tickets":
            return 200, {}, fd_tickets
        if path == "/api/v2/tickets/11/conversations":
            return paged(fd_conversations, query, api.base, path, int(query.get("per_page", "2")))
        if path == "/rest/api/3/search/jql":
            return 200, {}, {"issues": [jira_issue], "isLast": True}
        if path == "/rest/api/3/issue/SUP-7/comment":
            start, size = int(query["startAt"]), int(query["maxResults"])
            return (
                200,
                {},
                {"startAt": start, "maxResults": size, "total": 4, "comments": jira_comments[start : start + size]},
            )
        if path == "/api/now/table/incident":
            return 200, {}, {"result": [sn_incident]}
        if path == "/api/now/table/sys_journal_field":
            offset = int(query.get("sysparm_offset", "0"))
            out = {}
            if offset + 2 < len(journal):
                out["Link"] = f'<{api.base}{path}?sysparm_offset={offset + 2}&sysparm_limit=2>; rel="next"'
            return 200, out, {"result": journal[offset : offset + 2]}
        return 404, {}, {}

    with serve(Api(handle=handle)) as api:
        settings = SyncSettings.model_validate(
            {
                "freshdesk": {"url": api.base},
                "jira": {"url": api.base, "email": "lead@acme.example"},
                "servicenow": {"url": api.base, "user": "butterfly"},
            }
        )
        for source in ("freshdesk", "jira", "servicenow"):
            summary = _sync(db_url, settings, tmp_path, source=source, comments=True)
            assert summary.total("threads") == 1, source
        requests = api.requests
        fd_pages = [q.get("page", "1") for p, q, _h in requests if p.endswith("/conversations")]
        assert fd_pages == ["1", "2"]
        assert [q["startAt"] for p, q, _h in requests if p.endswith("/SUP-7/comment")] == ["0", "2"]
        incident_query = next(q for p, q, _h in requests if p == "/api/now/table/incident")
        assert "caller_id.user_name" in incident_query["sysparm_fields"].split(",")
        journal_queries = [q for p, q, _h in requests if p == "/api/now/table/sys_journal_field"]
        assert len(journal_queries) == 2 and "element_idINa1b2" in journal_queries[0]["sysparm_query"]

    assert [(r, pub) for _p, r, pub, _a, _t in _thread(db_url, "11")] == [
        ("customer", True),
        ("customer", True),
        ("agent", True),
        ("internal", False),
    ]
    assert [(r, t) for _p, r, _pub, _a, t in _thread(db_url, "SUP-7")] == [
        ("customer", "VPN is down for the office"),
        ("agent", "Looking at it"),
        ("customer", "Any news?"),
        ("agent", "VPN config fixed by Friday"),
        ("internal", "root cause: cert"),
    ]
    assert [(r, pub, a) for _p, r, pub, a, _t in _thread(db_url, "INC0010009")] == [
        ("customer", True, None),
        ("customer", True, "abel.tuter"),
        ("internal", False, "beth.anglin"),
        ("agent", True, "beth.anglin"),
    ]
