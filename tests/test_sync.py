"""butterfly sync against a local API server (tests/sync_server.py) answering in each vendor's documented shapes:
pagination to the end, rate limits and retries, cursors saved only after a committed page, nothing duplicated on
re-runs or after a kill -9, and the API secret never in any output or file."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from sync_server import Answer, Api, paged, serve

from butterfly.store.db import open_session, sqlite_url
from butterfly.sync.config import SyncSettings
from butterfly.sync.service import run_sync

TOKEN = "ghp_S3cretTokenValue42"
NO_SLEEP = {"sleep": lambda seconds: None}


def _issue(repo: str, number: int, updated: str, *, title: str = "Login fails", pr: bool = False) -> dict[str, Any]:
    issue: dict[str, Any] = {
        "id": 1000 + number,
        "number": number,
        "title": f"{title} #{number}",
        "body": "It fails after the update.",
        "state": "closed",
        "user": {"login": f"customer{number}"},
        "labels": [{"name": "bug"}],
        "created_at": "2026-03-01T09:00:00Z",
        "updated_at": updated,
        "closed_at": updated,
        "html_url": f"https://github.com/{repo}/issues/{number}",
        "repository_url": f"https://api.github.com/repos/{repo}",
    }
    if pr:
        issue["pull_request"] = {"url": f"https://api.github.com/repos/{repo}/pulls/{number}"}
    return issue


def _github(api: Api, path: str, query: dict[str, str], headers: dict[str, str]) -> Answer:
    if headers.get("authorization") != f"Bearer {TOKEN}":
        return 401, {}, {"message": "Bad credentials"}
    repo = path.removeprefix("/repos/").removesuffix("/issues")
    issues = sorted(api.data.get(repo, []), key=lambda i: i["updated_at"])
    since = query.get("since")
    if since:
        issues = [i for i in issues if i["updated_at"] >= since]
    return paged(issues, query, api.base, path, int(query.get("per_page", "100")) if "per_page" in query else 2)


@pytest.fixture
def github_api(monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setattr("butterfly.sync.github.PER_PAGE", 2)  # several pages from a few issues
    api = Api(handle=_github)
    api.data["acme/support"] = [
        _issue("acme/support", 1, "2026-03-02T10:00:00Z"),
        _issue("acme/support", 2, "2026-03-03T10:00:00Z"),
        _issue("acme/support", 3, "2026-03-04T10:00:00Z", pr=True),
        _issue("acme/support", 4, "2026-03-05T10:00:00Z"),
        _issue("acme/support", 5, "2026-03-06T10:00:00Z"),
    ]
    api.data["other/app"] = [_issue("other/app", 1, "2026-03-02T11:00:00Z", title="Crash")]
    with serve(api):
        monkeypatch.setenv("BUTTERFLY_GITHUB_TOKEN", TOKEN)
        yield api


def _settings(api: Api, **github: Any) -> SyncSettings:
    return SyncSettings.model_validate({"github": {"url": api.base, **github}})


def _sync(db_url: str, settings: SyncSettings, tmp_path: Path, **kwargs: Any) -> Any:
    kwargs.setdefault("http_options", NO_SLEEP)
    with open_session(db_url) as session:
        return run_sync(session=session, settings=settings, data_dir=tmp_path / "data", **kwargs)


def _tickets(db_url: str) -> dict[str, tuple[str, str]]:
    from sqlmodel import select

    from butterfly.store.models import Ticket

    with open_session(db_url) as session:
        return {t.external_id: (t.subject or "", t.status) for t in session.exec(select(Ticket)).all()}


def test_github_pages_to_the_end_skips_pull_requests_and_saves_the_position(
    github_api: Api, db_url: str, tmp_path: Path
) -> None:
    github_api.faults += [
        ("/repos/acme", (429, {"Retry-After": "1"}, {"message": "slow down"})),
        ("/repos/acme", (502, {}, {"message": "bad gateway"})),
        ("/repos/acme", (403, {"Retry-After": "0"}, {"message": "You have exceeded a secondary rate limit."})),
    ]
    summary = _sync(db_url, _settings(github_api), tmp_path, source="github", repos=["acme/support", "other/app"])
    stored = _tickets(db_url)
    assert set(stored) == {"acme/support#1", "acme/support#2", "acme/support#4", "acme/support#5", "other/app#1"}
    acme, other = summary.accounts
    assert (acme.pages, acme.fetched) == (3, 5)
    assert acme.counts["created"] == 4 and acme.counts["skipped"] == 1  # the pull request
    assert acme.counts["rows_read"] == 5 == sum(acme.counts[b] for b in ("created", "updated", "unchanged", "skipped"))
    assert other.counts["created"] == 1
    assert summary.retries == 3
    assert acme.position == {"high_water": "2026-03-06T10:00:00+00:00"}

    # the next sync asks only for what changed since, and finds it unchanged
    github_api.requests.clear()
    again = _sync(db_url, _settings(github_api), tmp_path, source="github", repos=["acme/support"])
    assert github_api.requests[0][1]["since"] == "2026-03-06T10:00:00Z"
    assert again.accounts[0].counts["unchanged"] == 1 and again.accounts[0].counts["created"] == 0


def test_a_ticket_changed_between_two_syncs_is_updated_in_place(github_api: Api, db_url: str, tmp_path: Path) -> None:
    _sync(db_url, _settings(github_api), tmp_path, source="github", repos=["acme/support"])
    github_api.data["acme/support"][1] = _issue("acme/support", 2, "2026-03-09T08:00:00Z", title="Login still fails")
    summary = _sync(db_url, _settings(github_api), tmp_path, source="github", repos=["acme/support"])
    counts = summary.accounts[0].counts
    assert (counts["updated"], counts["created"]) == (1, 0)
    assert _tickets(db_url)["acme/support#2"][0] == "Login still fails #2"
    assert len(_tickets(db_url)) == 4


def test_full_reads_everything_again_and_duplicates_nothing(github_api: Api, db_url: str, tmp_path: Path) -> None:
    _sync(db_url, _settings(github_api), tmp_path, source="github", repos=["acme/support"])
    summary = _sync(db_url, _settings(github_api), tmp_path, source="github", repos=["acme/support"], full=True)
    assert summary.accounts[0].counts["unchanged"] == 4
    assert len(_tickets(db_url)) == 4


def test_dry_run_fetches_and_stores_nothing(github_api: Api, db_url: str, tmp_path: Path) -> None:
    summary = _sync(db_url, _settings(github_api), tmp_path, source="github", repos=["acme/support"], dry_run=True)
    assert summary.accounts[0].fetched == 5
    assert _tickets(db_url) == {}
    with open_session(db_url) as session:
        from butterfly.sync import state

        assert state.load(session=session, source="github", account="acme/support") == {}


# -- Zendesk ----------------------------------------------------------------------------------------------------


def _zd_ticket(n: int, updated: str, status: str = "closed") -> dict[str, Any]:
    return {
        "id": n,
        "subject": f"Invoice export fails {n}",
        "description": "The VAT invoice export says template not found.",
        "status": status,
        "requester_id": 500 + n,
        "organization_id": 77,
        "tags": ["invoice"],
        "created_at": "2026-03-01T09:00:00Z",
        "updated_at": updated,
        "via": {"channel": "email"},
    }


ZD_PAGES = {
    "start": {
        "tickets": [_zd_ticket(1, "2026-03-02T10:00:00Z"), _zd_ticket(2, "2026-03-03T10:00:00Z")],
        "after_cursor": "c1",
        "end_of_stream": False,
    },
    "c1": {
        "tickets": [_zd_ticket(3, "2026-03-04T10:00:00Z"), _zd_ticket(1, "2026-03-05T10:00:00Z", "deleted")],
        "after_cursor": "c2",
        "end_of_stream": True,
    },
}


def _zendesk(api: Api, path: str, query: dict[str, str], headers: dict[str, str]) -> Answer:
    if not headers.get("authorization", "").startswith("Basic "):
        return 401, {}, {"error": "Couldn't authenticate you"}
    if path != "/api/v2/incremental/tickets/cursor.json":
        return 404, {}, {}
    if "cursor" in query:
        if query["cursor"] == "expired":
            return 422, {}, {"error": "InvalidPaginationParameter"}
        return 200, {}, api.data["pages"].get(query["cursor"], {"tickets": [], "end_of_stream": True})
    api.data.setdefault("start_times", []).append(query.get("start_time"))
    return 200, {}, api.data["pages"]["start"]


@pytest.fixture
def zendesk_api(monkeypatch: pytest.MonkeyPatch) -> Any:
    api = Api(handle=_zendesk)
    api.data["pages"] = json.loads(json.dumps(ZD_PAGES))
    with serve(api):
        monkeypatch.setenv("BUTTERFLY_ZENDESK_TOKEN", TOKEN)
        yield api


def test_zendesk_cursor_export_marks_deleted_tickets_and_resumes_from_the_cursor(
    zendesk_api: Api, db_url: str, tmp_path: Path
) -> None:
    settings = SyncSettings.model_validate({"zendesk": {"url": zendesk_api.base, "email": "lead@acme.example"}})
    pauses: list[float] = []
    summary = _sync(db_url, settings, tmp_path, source="zendesk", http_options={"sleep": pauses.append})
    assert len(pauses) == 1 and 5 < pauses[0] <= 6  # two requests, paced for Zendesk's 10 a minute
    (part,) = summary.accounts
    assert part.pages == 2 and part.fetched == 4
    assert part.position == {"cursor": "c2", "high_water": "2026-03-05T10:00:00+00:00"}
    stored = _tickets(db_url)
    assert set(stored) == {"1", "2", "3"}
    assert part.counts["marked_deleted"] == 1
    assert zendesk_api.data["start_times"] == ["0"]

    # an expired cursor: start again from the high-water mark, nothing duplicated
    with open_session(db_url) as session:
        from butterfly.sync import state

        state.save(
            session=session, source="zendesk", account=part.account, state={**part.position, "cursor": "expired"}
        )
    again = _sync(db_url, settings, tmp_path, source="zendesk")
    assert zendesk_api.data["start_times"][-1] == str(1772704800)  # 2026-03-05T10:00:00Z
    assert len(_tickets(db_url)) == 3
    assert again.accounts[0].counts["created"] == 0


def test_a_sync_after_a_file_import_of_the_same_export_finds_everything_unchanged(
    zendesk_api: Api, db_url: str, tmp_path: Path, cli: Any
) -> None:
    export = tmp_path / "zendesk.json"
    export.write_text(json.dumps({"tickets": ZD_PAGES["start"]["tickets"]}), encoding="utf-8")
    assert cli("import", str(export), "--format", "zendesk", "--db", db_url).exit_code == 0
    zendesk_api.data["pages"]["start"]["end_of_stream"] = True
    settings = SyncSettings.model_validate({"zendesk": {"url": zendesk_api.base, "email": "lead@acme.example"}})
    summary = _sync(db_url, settings, tmp_path, source="zendesk")
    assert summary.accounts[0].counts["unchanged"] == 2
    assert summary.accounts[0].counts["created"] == 0


# -- Freshdesk, Jira, ServiceNow -----------------------------------------------------------------------------


def test_freshdesk_jira_and_servicenow_page_to_the_end(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("butterfly.sync.freshdesk.PER_PAGE", 1)
    monkeypatch.setattr("butterfly.sync.servicenow.PER_PAGE", 1)
    for var in ("BUTTERFLY_FRESHDESK_TOKEN", "BUTTERFLY_JIRA_TOKEN", "BUTTERFLY_SERVICENOW_PASSWORD"):
        monkeypatch.setenv(var, TOKEN)
    fd = [
        {
            "id": 11,
            "subject": "Refund missing",
            "description_text": "No refund yet",
            "status": 5,
            "priority": 1,
            "requester": {"name": "Ana"},
            "created_at": "2026-03-01T09:00:00Z",
            "updated_at": "2026-03-02T09:00:00Z",
        },
        {
            "id": 12,
            "subject": "Refund late",
            "description_text": "Still waiting",
            "status": 4,
            "priority": 2,
            "requester": {"name": "Bo"},
            "created_at": "2026-03-01T09:00:00Z",
            "updated_at": "2026-03-03T09:00:00Z",
        },
    ]
    jira_pages = {
        None: {
            "issues": [
                {
                    "key": "SUP-1",
                    "fields": {
                        "summary": "VPN down",
                        "status": {"name": "Done", "statusCategory": {"key": "done"}},
                        "created": "2026-03-01T09:00:00.000+0000",
                        "updated": "2026-03-02T09:00:00.000+0000",
                        "project": {"key": "SUP"},
                    },
                }
            ],
            "nextPageToken": "t2",
            "isLast": False,
        },
        "t2": {
            "issues": [
                {
                    "key": "SUP-2",
                    "fields": {
                        "summary": "VPN slow",
                        "status": {"name": "Done", "statusCategory": {"key": "done"}},
                        "created": "2026-03-01T09:00:00.000+0000",
                        "updated": "2026-03-03T09:00:00.000+0000",
                        "project": {"key": "SUP"},
                    },
                }
            ],
            "isLast": True,
        },
    }
    sn = [
        {
            "number": {"display_value": "INC0010001", "value": "INC0010001"},
            "state": {"display_value": "Closed", "value": "7"},
            "opened_at": {"display_value": "01-03-2026 09:00:00", "value": "2026-03-01 09:00:00"},
            "closed_at": {"display_value": "02-03-2026 09:00:00", "value": "2026-03-02 09:00:00"},
            "sys_updated_on": {"display_value": "02-03-2026 09:00:00", "value": "2026-03-02 09:00:00"},
            "caller_id": {"display_value": "Caller 7", "value": "abc"},
            "short_description": {"display_value": "Printer jam", "value": "Printer jam"},
            "sys_mod_count": {"display_value": "3", "value": "3"},
        },
        {
            "number": {"display_value": "INC0010002", "value": "INC0010002"},
            "state": {"display_value": "Resolved", "value": "6"},
            "opened_at": {"display_value": "01-03-2026 10:00:00", "value": "2026-03-01 10:00:00"},
            "resolved_at": {"display_value": "03-03-2026 09:00:00", "value": "2026-03-03 09:00:00"},
            "sys_updated_on": {"display_value": "03-03-2026 09:00:00", "value": "2026-03-03 09:00:00"},
            "caller_id": {"display_value": "Caller 8", "value": "def"},
            "short_description": {"display_value": "Printer offline", "value": "Printer offline"},
            "sys_mod_count": {"display_value": "1", "value": "1"},
        },
    ]

    def handle(api: Api, path: str, query: dict[str, str], headers: dict[str, str]) -> Answer:
        if path == "/api/v2/tickets":
            return paged(fd, query, api.base, path, int(query["per_page"]))
        if path == "/rest/api/3/search/jql":
            return 200, {}, jira_pages[query.get("nextPageToken")]
        if path == "/api/now/table/incident":
            offset = int(query.get("sysparm_offset", "0"))
            headers_out = {}
            if offset + 1 < len(sn):
                headers_out["Link"] = f'<{api.base}{path}?sysparm_offset={offset + 1}&sysparm_limit=1>; rel="next"'
            return 200, headers_out, {"result": sn[offset : offset + 1]}
        return 404, {}, {}

    with serve(Api(handle=handle)) as api:
        settings = SyncSettings.model_validate(
            {
                "freshdesk": {"url": api.base},
                "jira": {"url": api.base, "email": "lead@acme.example", "jql": "project = SUP"},
                "servicenow": {"url": api.base, "user": "butterfly"},
            }
        )
        for source, pages in (("freshdesk", 2), ("jira", 2), ("servicenow", 2)):
            summary = _sync(db_url, settings, tmp_path, source=source)
            assert summary.accounts[0].pages == pages, source
            assert summary.accounts[0].counts["created"] == 2, (source, summary.accounts[0].counts)
        jql = next(q for p, q, _h in api.requests if p == "/rest/api/3/search/jql")["jql"]
        assert jql == "(project = SUP) ORDER BY updated ASC"
    stored = _tickets(db_url)
    assert {"11", "12", "SUP-1", "SUP-2", "INC0010001", "INC0010002"} <= set(stored)
    assert stored["INC0010001"] == ("Printer jam", "closed")
    assert stored["INC0010002"][1] == "resolved"


# -- errors, secrets, kill -9 ------------------------------------------------------------------------------------


def test_a_refused_token_is_one_error_line_naming_the_source(
    github_api: Api, db_url: str, cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BUTTERFLY_GITHUB_TOKEN", "wrong-token")
    monkeypatch.setenv("BUTTERFLY_SYNC__GITHUB__URL", github_api.base)
    result = cli("sync", "github", "--repo", "acme/support", "--db", db_url)
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and "github" in errors[0] and "401" in errors[0]


def test_a_missing_secret_names_the_variable(
    github_api: Api, db_url: str, cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("BUTTERFLY_GITHUB_TOKEN")
    monkeypatch.setenv("BUTTERFLY_SYNC__GITHUB__URL", github_api.base)
    result = cli("sync", "github", "--repo", "acme/support", "--db", db_url)
    assert result.exit_code == 2
    assert "BUTTERFLY_GITHUB_TOKEN" in result.stderr


def test_the_token_never_appears_in_output_files_or_database(
    github_api: Api, tmp_path: Path, cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "sync.db"
    monkeypatch.setenv("BUTTERFLY_SYNC__GITHUB__URL", github_api.base)
    github_api.data["acme/support"].append({"number": "not a number", "updated_at": "2026-03-07T00:00:00Z"})
    outputs = []
    for extra in ([], ["--json"], ["--dry-run"]):
        result = cli("sync", "github", "--repo", "acme/support", "--db", sqlite_url(db), *extra)
        outputs.append(result.output + result.stderr)
    config = cli("config", "show")
    outputs.append(config.output + config.stderr)
    for text in outputs:
        assert TOKEN not in text
    for path in [*tmp_path.rglob("*"), *Path(os.environ["HOME"]).rglob("*")]:
        if path.is_file():
            assert TOKEN.encode() not in path.read_bytes(), path


@pytest.mark.slow
def test_a_sync_killed_between_pages_loses_and_duplicates_nothing(
    github_api: Api, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "kill.db"
    stall = threading.Event()
    real = github_api.handle

    def slow_second_page(api: Api, path: str, query: dict[str, str], headers: dict[str, str]) -> Answer:
        if query.get("page") == "2":
            stall.wait(60)
        return real(api, path, query, headers)

    github_api.handle = slow_second_page
    env = {**os.environ, "BUTTERFLY_SYNC__GITHUB__URL": github_api.base}
    script = (
        "import sys\nimport butterfly.sync.github as g\ng.PER_PAGE = 2\n"
        "from butterfly.cli import main\nsys.argv = ['butterfly', *sys.argv[1:]]\nmain()\n"
    )
    command = [sys.executable, "-c", script, "sync", "github", "--repo", "acme/support", "--db", sqlite_url(db)]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    saved = None
    while time.monotonic() < deadline and saved is None:
        time.sleep(0.1)
        if db.exists():
            try:
                with sqlite3.connect(db) as conn:
                    saved = conn.execute("SELECT state FROM sync_state").fetchone()
            except sqlite3.OperationalError:
                saved = None
    assert saved is not None, "the first page was never committed"
    process.send_signal(signal.SIGKILL)
    process.wait(10)
    stall.set()
    with sqlite3.connect(db) as conn:
        first = {r[0] for r in conn.execute("SELECT external_id FROM ticket")}
    assert first == {"acme/support#1", "acme/support#2"}
    assert json.loads(saved[0]) == {"high_water": "2026-03-03T10:00:00+00:00"}

    rerun = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    assert rerun.returncode == 0, rerun.stderr
    with sqlite3.connect(db) as conn:
        ids = [r[0] for r in conn.execute("SELECT external_id FROM ticket")]
    assert sorted(ids) == ["acme/support#1", "acme/support#2", "acme/support#4", "acme/support#5"]
