"""The issue trackers' exports: Jira (``/rest/api/3/search``, rich text in Atlassian Document Format) and GitHub
issues (keyed ``owner/name#number``); the dispatch and the helpdesks are in :mod:`butterfly.importers.native`."""

from __future__ import annotations

import re
from datetime import tzinfo
from typing import Any

from butterfly.importers.native_values import Problem, date_of, require_id, text_of
from butterfly.importers.prepare import tags_json

# -- Jira ---------------------------------------------------------------------------------------------------


def adf_text(node: Any) -> str:
    """Plain text of an Atlassian Document Format document (Jira Cloud's rich text)."""
    parts: list[str] = []

    def walk(n: Any, depth: int = 0) -> None:
        if isinstance(n, list):
            for child in n:
                walk(child, depth)
            return
        if not isinstance(n, dict):
            return
        kind = n.get("type")
        attrs = n.get("attrs") or {}
        if kind == "text":
            parts.append(str(n.get("text", "")))
        elif kind == "hardBreak":
            parts.append("\n")
        elif kind in ("mention", "emoji", "status", "date"):
            parts.append(str(attrs.get("text") or attrs.get("shortName") or attrs.get("timestamp") or ""))
        elif kind in ("inlineCard", "blockCard"):
            parts.append(str(attrs.get("url", "")))
        elif kind == "listItem":
            parts.append("  " * max(depth - 1, 0) + "- ")
            walk(n.get("content"), depth)
            return
        elif kind in ("bulletList", "orderedList"):
            walk(n.get("content"), depth + 1)
            return
        walk(n.get("content"), depth)
        if kind in ("paragraph", "heading", "codeBlock", "blockquote", "rule", "panel", "tableRow"):
            parts.append("\n")

    walk(node)
    text = "".join(parts)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def _jira_status(status: dict[str, Any]) -> str:
    name = text_of(status.get("name")).lower()
    category = text_of((status.get("statusCategory") or {}).get("key")).lower()
    if name == "resolved":
        return "resolved"
    if category == "done" or name in ("closed", "done"):
        return "closed"
    if "wait" in name or "pending" in name:
        return "pending"
    return "open"


def _person(value: Any) -> str:
    if isinstance(value, dict):
        return text_of(
            value.get("displayName") or value.get("emailAddress") or value.get("name") or value.get("accountId")
        )
    return text_of(value)


def jira_one(issue: dict[str, Any], tz: tzinfo) -> dict[str, str]:
    """An issue of ``GET /rest/api/3/search`` (or ``/rest/api/2/search``: description as plain text)."""
    key = require_id(issue.get("key"), "key")
    f = issue.get("fields") or {}
    description = f.get("description")
    if isinstance(description, dict):
        description = adf_text(description)
    status = f.get("status") or {}
    status_value = _jira_status(status if isinstance(status, dict) else {"name": status})
    components = [str(c["name"]) for c in f.get("components") or [] if isinstance(c, dict) and c.get("name")]
    issuetype = f.get("issuetype") or {}
    resolution_date = date_of(f.get("resolutiondate"), tz, "fields.resolutiondate")
    organizations = f.get("organizations") or []
    org = ""
    if isinstance(organizations, list) and organizations and isinstance(organizations[0], dict):
        org = text_of(organizations[0].get("name"))
    priority = f.get("priority") or {}
    project = f.get("project") or {}
    resolution = f.get("resolution") or {}
    return {
        "id": key,
        "project": text_of(project.get("key") if isinstance(project, dict) else project) or key.rsplit("-", 1)[0],
        "resolution": text_of(resolution.get("name") if isinstance(resolution, dict) else resolution),
        "customer": org or _person(f.get("reporter")),
        "organization": org,
        "subject": text_of(f.get("summary")),
        "description": text_of(description),
        "category": components[0]
        if components
        else text_of(issuetype.get("name") if isinstance(issuetype, dict) else ""),
        "subcategory": components[1] if len(components) > 1 else "",
        "tags": tags_json([str(x) for x in f.get("labels") or []]),
        "status": status_value,
        "priority": text_of(priority.get("name") if isinstance(priority, dict) else priority),
        "assignee": _person(f.get("assignee")),
        "created": date_of(f.get("created"), tz, "fields.created"),
        "resolved": resolution_date,
        "closed": resolution_date if status_value == "closed" else "",
        "updated": date_of(f.get("updated"), tz, "fields.updated"),
    }


# -- GitHub -------------------------------------------------------------------------------------------------


GITHUB_REPO = re.compile(r"(?:/repos/|github\.com/)([^/\s]+/[^/\s]+?)(?:/(?:issues|pull)/\d+)?/?$")


def github_repository(issue: dict[str, Any]) -> str:
    """``owner/name`` of an issue's repository, from ``repository_url``, ``repository.full_name`` or ``html_url``."""
    repo = issue.get("repository")
    if isinstance(repo, dict) and repo.get("full_name"):
        return text_of(repo["full_name"])
    for key in ("repository_url", "html_url", "url"):
        m = GITHUB_REPO.search(text_of(issue.get(key)))
        if m:
            return m.group(1)
    return ""


def _is_pull_request(issue: dict[str, Any]) -> bool:
    """A pull request has a ``pull_request`` object with a URL (the 2012 API put an empty stub on every issue)."""
    stub = issue.get("pull_request")
    if isinstance(stub, dict):
        return any(stub.get(k) for k in ("url", "html_url", "diff_url", "patch_url"))
    return bool(stub)


def github_one(issue: dict[str, Any], tz: tzinfo) -> dict[str, str] | None:
    """An issue of ``GET /repos/{owner}/{repo}/issues`` or ``/search/issues`` (pull requests are skipped).

    Keyed ``owner/name#number``: issue numbers are only unique within a repository."""
    number = require_id(issue.get("number"), "number")
    repository = github_repository(issue)
    ticket_id = f"{repository}#{number}" if repository else number
    if _is_pull_request(issue):
        return {"_skip": "pull request", "id": ticket_id}
    state = text_of(issue.get("state")).lower()
    if state not in ("open", "closed"):
        raise Problem(f"unknown GitHub state '{state}'")
    labels = [
        text_of(label.get("name")) if isinstance(label, dict) else text_of(label) for label in issue.get("labels") or []
    ]
    user = issue.get("user") or {}
    assignee = issue.get("assignee") or {}
    closed = date_of(issue.get("closed_at"), tz, "closed_at")
    return {
        "id": ticket_id,
        "project": repository,
        "customer": text_of(user.get("login")) if isinstance(user, dict) else text_of(user),
        "subject": text_of(issue.get("title")),
        "description": text_of(issue.get("body")),
        "category": labels[0] if labels else "",
        "tags": tags_json(labels),
        "status": "closed" if state == "closed" else "open",
        "assignee": text_of(assignee.get("login")) if isinstance(assignee, dict) else "",
        "created": date_of(issue.get("created_at"), tz, "created_at"),
        "resolved": closed if text_of(issue.get("state_reason")) != "not_planned" else "",
        "closed": closed,
        "updated": date_of(issue.get("updated_at"), tz, "updated_at"),
    }
