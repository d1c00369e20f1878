"""Jira: ``GET /rest/api/3/search/jql`` with ``updated >= "…" ORDER BY updated ASC`` and ``nextPageToken``.

JQL compares dates in the API user's time zone, in minutes: a saved high-water mark is moved back
:data:`~butterfly.sync.pages.OVERLAP` before it is used (issues read again are unchanged). ``jql`` in the settings
narrows the issues (``project = SUP``). Permissions: an API token of a user who can browse those projects; the
e-mail is the user name.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from butterfly.conversation.facts import Message
from butterfly.errors import ConfigError
from butterfly.importers import threads as extract
from butterfly.sync.config import JiraSync, secret
from butterfly.sync.http import Http
from butterfly.sync.pages import OVERLAP, Page, latest, parse_time

PATH = "/rest/api/3/search/jql"
COMMENTS = "/rest/api/3/issue/{key}/comment"
PER_PAGE = 100


def connect(cfg: JiraSync, **kwargs: Any) -> tuple[str, Http]:
    if not cfg.url:
        raise ConfigError("jira: no site URL", hint="set [sync.jira] url, e.g. https://acme.atlassian.net")
    if not cfg.email:
        raise ConfigError("jira: no e-mail", hint="set [sync.jira] email (the user whose API token is used)")
    account = urlsplit(cfg.url).netloc or cfg.url
    return account, Http("jira", cfg.url, auth=(cfg.email, secret("jira", account, cfg.token_env)), **kwargs)


def jql(extra: str | None, start: datetime | None) -> str:
    clauses = [f"({extra})"] if extra else []
    if start is not None:
        clauses.append(f'updated >= "{start.strftime("%Y-%m-%d %H:%M")}"')
    return " AND ".join(clauses) + " ORDER BY updated ASC"


def pages(
    http: Http, account: str, state: dict[str, Any], since: datetime | None, extra: str | None = None
) -> Iterator[Page]:
    high = state.get("high_water")
    saved = parse_time(high)
    start = since or (saved - OVERLAP if saved else None)
    token: str | None = None
    while True:
        params: dict[str, Any] = {"jql": jql(extra, start), "maxResults": PER_PAGE, "fields": "*all"}
        if token:
            params["nextPageToken"] = token
        body = http.json(http.get(PATH, params=params))
        issues = body.get("issues") if isinstance(body, dict) else None
        if not isinstance(issues, list):
            issues = []
        high = latest([(i.get("fields") or {}).get("updated") for i in issues if isinstance(i, dict)], high)
        yield Page(account, "jira", {"issues": issues}, len(issues), {"high_water": high})
        token = body.get("nextPageToken") if isinstance(body, dict) else None
        if not token or body.get("isLast"):
            return


def threads(http: Http, page: Page) -> Iterator[tuple[str, list[Message]]]:
    """Each issue's description and comments: the search's embedded ``fields.comment`` when it holds them all
    (``total`` <= the comments given), else ``GET /rest/api/3/issue/{key}/comment`` page by page (``startAt``,
    ``maxResults``, ``total``; Atlassian Document Format bodies)."""
    for issue in page.doc.get("issues", []) if isinstance(page.doc, dict) else []:
        if not isinstance(issue, dict) or not issue.get("key"):
            continue
        fields: dict[str, Any] = issue["fields"] if isinstance(issue.get("fields"), dict) else {}
        block: dict[str, Any] = fields["comment"] if isinstance(fields.get("comment"), dict) else {}
        comments = [c for c in block.get("comments") or [] if isinstance(c, dict)]
        total = block.get("total")
        if not block or (isinstance(total, int) and total > len(comments)):
            comments = []
            while True:
                params = {"startAt": len(comments), "maxResults": PER_PAGE, "orderBy": "created"}
                body = http.json(http.get(COMMENTS.format(key=issue["key"]), params=params))
                got = [c for c in (body.get("comments") or [] if isinstance(body, dict) else []) if isinstance(c, dict)]
                comments.extend(got)
                total = body.get("total") if isinstance(body, dict) else None
                if not got or not isinstance(total, int) or len(comments) >= min(total, extract.MAX_MESSAGES):
                    break
        whole = {**issue, "fields": {**fields, "comment": {"comments": comments, "total": len(comments)}}}
        thread = extract.jira(whole)
        if thread:
            yield str(issue["key"]), thread
