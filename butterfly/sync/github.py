"""GitHub: ``GET /repos/OWNER/NAME/issues?state=all&sort=updated&direction=asc&since=…`` per repository (``Link``).

Each repository is an account of its own with its own high-water mark. The listing holds pull requests too: the
import skips them (counted as skipped). Permissions: a fine-grained token with read access to the repositories'
issues (classic: ``repo`` for private ones, none for public). Rate limits (403/429 with ``Retry-After`` or
``X-RateLimit-Remaining: 0``) are waited out.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from butterfly.conversation.facts import Message
from butterfly.errors import ConfigError
from butterfly.importers import threads as extract
from butterfly.importers.native_trackers import github_repository
from butterfly.sync.config import GithubSync, secret
from butterfly.sync.http import Http, next_link
from butterfly.sync.pages import Page, iso_z, latest, parse_time

PER_PAGE = 100


def repositories(cfg: GithubSync, repos: list[str] | None) -> list[str]:
    names = list(repos or cfg.repos)
    if not names:
        raise ConfigError("github: no repository", hint="name them with --repo OWNER/NAME or [sync.github] repos")
    for name in names:
        owner, _, repo = name.partition("/")
        if not owner or not repo or "/" in repo or any(c.isspace() for c in name):
            raise ConfigError(f"github: '{name}' is not OWNER/NAME")
    return names


def connect(cfg: GithubSync, **kwargs: Any) -> Http:
    token = secret("github", cfg.url, cfg.token_env)
    headers = {
        "Authorization": f"Bearer {token}",
        "Accept": "application/vnd.github+json",
        "X-GitHub-Api-Version": "2022-11-28",
    }
    return Http("github", cfg.url, headers=headers, **kwargs)


def pages(http: Http, repo: str, state: dict[str, Any], since: datetime | None) -> Iterator[Page]:
    high = state.get("high_water")
    start = since or parse_time(high)
    params: dict[str, Any] = {"state": "all", "sort": "updated", "direction": "asc", "per_page": PER_PAGE}
    if start is not None:
        params["since"] = iso_z(start)
    url: str | None = f"/repos/{repo}/issues"
    first = True
    while url is not None:
        response = http.get(url, params=params if first else None)
        first = False
        issues = http.json(response)
        if not isinstance(issues, list):
            issues = []
        high = latest([i.get("updated_at") for i in issues if isinstance(i, dict)], high)
        yield Page(repo, "github", issues, len(issues), {"high_water": high})
        url = next_link(response)


def threads(http: Http, page: Page) -> Iterator[tuple[str, list[Message]]]:
    """Each issue's body and comments (``GET /repos/OWNER/NAME/issues/NUMBER/comments``, ``per_page`` 100,
    ``Link`` to the next page); issues whose ``comments`` count is 0 need no request. Pull requests are skipped
    like their tickets."""
    for issue in page.doc if isinstance(page.doc, list) else []:
        if not isinstance(issue, dict) or issue.get("number") is None:
            continue
        stub = issue.get("pull_request")
        if isinstance(stub, dict) and any(stub.get(k) for k in ("url", "html_url")):
            continue
        repo = github_repository(issue) or page.account
        comments: list[Any] = []
        count = issue.get("comments")
        url: str | None = f"/repos/{repo}/issues/{issue['number']}/comments"
        params: dict[str, Any] | None = {"per_page": PER_PAGE}
        while url and not (isinstance(count, int) and count == 0) and len(comments) < extract.MAX_MESSAGES:
            response = http.get(url, params=params)
            params = None
            body = http.json(response)
            if isinstance(body, list):
                comments.extend(c for c in body if isinstance(c, dict))
            url = next_link(response)
        thread = extract.github(issue, comments)
        if thread:
            yield f"{repo}#{issue['number']}", thread
