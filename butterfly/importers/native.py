"""Helpdesk exports with a fixed shape: Zendesk, Freshdesk, Jira and GitHub issues (JSON).

Each converter turns one record into ticket fields (text; dates as canonical UTC text, tags as JSON) and keeps
the whole record as ``raw``. Status mapping (documented in the README):

* Zendesk ``new``/``open`` -> open, ``pending``/``hold`` -> pending, ``solved`` -> resolved, ``closed`` -> closed;
  ``deleted`` tickets (and the incremental export's ``deleted_tickets``) are skipped, and a stored ticket of
  that id is marked: its status becomes ``deleted``.
* Freshdesk 2 Open -> open, 3 Pending -> pending, 4 Resolved -> resolved, 5 Closed -> closed, other (custom)
  statuses -> pending.
* Jira: status category ``done`` -> closed (``Resolved`` -> resolved), ``new``/``indeterminate`` -> open
  (names with "waiting"/"pending" -> pending).
* GitHub ``open`` -> open, ``closed`` -> closed; pull requests (a ``pull_request`` with a URL) are skipped.
  Issues are keyed ``owner/name#number`` (numbers repeat across repositories).
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import timedelta, tzinfo
from typing import Any

from butterfly.importers.dates import parse_datetime, to_utc_text
from butterfly.importers.prepare import tags_json


@dataclass
class Converted:
    """One source record, converted (``values``), rejected (``problem``) or deliberately ``skip``-ped."""

    label: str
    raw: str
    values: dict[str, str] | None = None
    problem: str | None = None
    skip: bool = False
    skip_reason: str = ""
    lines: tuple[int, int] | None = None
    events: int = 1  # source rows this ticket was built from
    record: Any = None  # the source record (JSON exports): its thread is read from it
    timeline: Any = None  # the state timeline (ServiceNow's event log): a list of thread_store.Step


class Problem(Exception):
    pass


def _text(value: Any) -> str:
    if value is None:
        return ""
    return str(value).strip() if not isinstance(value, str) else value


def _date(value: Any, tz: tzinfo, name: str) -> str:
    if value is None or value == "":
        return ""
    try:
        if isinstance(value, int | float) and not isinstance(value, bool):
            dt = parse_datetime(str(int(value)), tz)
        else:
            dt = parse_datetime(str(value), tz)
    except ValueError as exc:
        raise Problem(f"{name}: {exc}") from None
    return "" if dt is None else to_utc_text(dt)


def _index(items: Any) -> dict[Any, dict[str, Any]]:
    if not isinstance(items, list):
        return {}
    return {i.get("id"): i for i in items if isinstance(i, dict) and "id" in i}


def convert(fmt: str, doc: Any, tz: tzinfo, records: Iterable[Any] | None = None) -> Iterator[Converted]:
    """Converted records of a native JSON export; ``records``: its records read one by one (``doc`` is then the
    document without them, e.g. Zendesk's sideloads)."""
    if fmt == "zendesk":
        yield from _zendesk(doc, tz, records)
    elif fmt == "freshdesk":
        yield from _each(
            _records(doc, "tickets", "results") if records is None else records, tz, _freshdesk_one, "ticket"
        )
    elif fmt == "jira":
        yield from _each(_records(doc, "issues") if records is None else records, tz, _jira_one, "issue")
    elif fmt == "github":
        yield from _each(_records(doc, "items") if records is None else records, tz, _github_one, "issue")
    else:  # pragma: no cover - guarded by the caller
        raise ValueError(fmt)


def _records(doc: Any, *keys: str) -> list[Any]:
    """The records of an export: a list, a list under one of ``keys`` (``tickets``, Freshdesk search's
    ``results``, GitHub search's ``items``), Zendesk's single ``{"ticket": …}``, or one record on its own."""
    if isinstance(doc, list):
        return doc
    if isinstance(doc, dict):
        for key in keys:
            if isinstance(doc.get(key), list):
                return list(doc[key])
        if isinstance(doc.get("ticket"), dict):
            return [doc["ticket"]]
    return [doc]


def _each(records: Iterable[Any], tz: tzinfo, one: Any, noun: str) -> Iterator[Converted]:
    for i, record in enumerate(records, start=1):
        raw = json.dumps(record, ensure_ascii=False)
        label = f"{noun} {i}"
        if not isinstance(record, dict):
            yield Converted(label=label, raw=raw, problem="not a JSON object")
            continue
        try:
            values = one(record, tz)
        except Problem as exc:
            yield Converted(label=label, raw=raw, problem=str(exc))
            continue
        if values is None or "_skip" in values:
            reason = values["_skip"] if values else "skipped"
            yield Converted(label=label, raw=raw, skip=True, skip_reason=reason, values=values)
            continue
        yield Converted(label=label, raw=raw, values=values, record=record)


def _require_id(value: Any, name: str) -> str:
    text = _text(value).strip()
    if not text:
        raise Problem(f"missing {name}")
    return text


# -- Zendesk ------------------------------------------------------------------------------------------------

ZENDESK_STATUS = {
    "new": "open",
    "open": "open",
    "pending": "pending",
    "hold": "pending",
    "solved": "resolved",
    "closed": "closed",
}


def _zendesk(doc: Any, tz: tzinfo, records: Iterable[Any] | None = None) -> Iterator[Converted]:
    """Tickets of the API (``/api/v2/tickets``) or the incremental export, with sideloads when present
    (``users``, ``organizations``, ``groups``, ``metric_sets``) for names and solved/first-reply times."""
    side = doc if isinstance(doc, dict) else {}
    users = _index(side.get("users"))
    orgs = _index(side.get("organizations"))
    groups = _index(side.get("groups"))
    metrics = {m.get("ticket_id"): m for m in side.get("metric_sets") or [] if isinstance(m, dict)}

    def one(t: dict[str, Any], tz: tzinfo) -> dict[str, str] | None:
        ticket_id = _require_id(t.get("id"), "id")
        status = _text(t.get("status")).lower()
        if status == "deleted":
            return {"_skip": DELETED, "id": ticket_id}
        if status not in ZENDESK_STATUS:
            raise Problem(f"unknown Zendesk status '{status}'")
        metric = metrics.get(t.get("id")) or t.get("metric_set") or {}
        org = orgs.get(t.get("organization_id"))
        requester = users.get(t.get("requester_id"))
        assignee = users.get(t.get("assignee_id"))
        group = groups.get(t.get("group_id"))
        org_name = _text(org.get("name")) if org else _text(t.get("organization_id"))
        requester_name = (
            _text(requester.get("name") or requester.get("email")) if requester else _text(t.get("requester_id"))
        )
        created = _date(t.get("created_at"), tz, "created_at")
        first_response = ""
        reply = (metric.get("reply_time_in_minutes") or {}).get("calendar") if metric else None
        if isinstance(reply, int | float) and t.get("created_at"):
            start = parse_datetime(str(t["created_at"]), tz)
            if start is not None:
                first_response = to_utc_text(start + timedelta(minutes=reply))
        solved = t.get("solved_at") or (metric.get("solved_at") if metric else None)
        updated = _date(t.get("updated_at"), tz, "updated_at")
        closed = ""
        if status == "closed":
            closed = _date(metric.get("status_updated_at") if metric else None, tz, "status_updated_at") or updated
        via = t.get("via") or {}
        rating = t.get("satisfaction_rating")
        return {
            "requester": requester_name,
            "satisfaction": _text(rating.get("score") if isinstance(rating, dict) else rating),
            "id": ticket_id,
            "customer": org_name or requester_name,
            "organization": org_name,
            "subject": _text(t.get("subject") or t.get("raw_subject")),
            "description": _text(t.get("description")),
            "category": _text(t.get("type")),
            "tags": tags_json([str(x) for x in t.get("tags") or []]),
            "status": ZENDESK_STATUS[status],
            "priority": _text(t.get("priority")),
            "channel": _text(via.get("channel") if isinstance(via, dict) else via),
            "group": _text(group.get("name")) if group else _text(t.get("group_id")),
            "assignee": _text(assignee.get("name")) if assignee else _text(t.get("assignee_id")),
            "problem_id": _text(t.get("problem_id")),
            "created": created,
            "first_response": first_response,
            "resolved": _date(solved, tz, "solved_at"),
            "closed": closed,
            "updated": updated,
        }

    yield from _each(_records(doc, "tickets") if records is None else records, tz, one, "ticket")
    for i, deleted in enumerate(side.get("deleted_tickets") or [], start=1):  # the incremental export's list
        ticket_id = _text(deleted.get("id")) if isinstance(deleted, dict) else _text(deleted)
        if ticket_id.strip():
            yield Converted(
                label=f"deleted ticket {i}",
                raw=json.dumps(deleted, ensure_ascii=False),
                skip=True,
                skip_reason=DELETED,
                values={"id": ticket_id.strip()},
            )


# -- Freshdesk ----------------------------------------------------------------------------------------------

DELETED = "deleted in the helpdesk (a stored ticket is marked deleted)"

FRESHDESK_STATUS = {2: "open", 3: "pending", 4: "resolved", 5: "closed"}
FRESHDESK_PRIORITY = {1: "low", 2: "medium", 3: "high", 4: "urgent"}
FRESHDESK_SOURCE = {
    1: "email",
    2: "portal",
    3: "phone",
    5: "twitter",
    6: "facebook",
    7: "chat",
    8: "mobihelp",
    9: "feedback widget",
    10: "outbound email",
}


def _strip_html(text: str) -> str:
    text = re.sub(r"(?i)<br\s*/?>|</p>|</div>", "\n", text)
    return html.unescape(re.sub(r"<[^>]+>", "", text)).strip()


def _freshdesk_one(t: dict[str, Any], tz: tzinfo) -> dict[str, str]:
    """A ticket of ``GET /api/v2/tickets?include=stats,requester,company`` (embedded objects optional)."""
    ticket_id = _require_id(t.get("id"), "id")
    try:
        code = int(t.get("status"))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise Problem(f"status '{t.get('status')}' is not a Freshdesk status number") from None
    stats = t.get("stats") or {}
    company = t.get("company") or {}
    requester = t.get("requester") or {}
    company_name = _text(company.get("name")) or _text(t.get("company_id"))
    requester_name = _text(requester.get("name") or requester.get("email")) or _text(t.get("requester_id"))
    description = _text(t.get("description_text")) or _strip_html(_text(t.get("description")))
    priority = t.get("priority")
    source = t.get("source")
    return {
        "id": ticket_id,
        "requester": requester_name,
        "customer": company_name or requester_name,
        "organization": company_name,
        "subject": _text(t.get("subject")),
        "description": description,
        "category": _text(t.get("type")),
        "tags": tags_json([str(x) for x in t.get("tags") or []]),
        "status": FRESHDESK_STATUS.get(code, "pending"),
        "priority": FRESHDESK_PRIORITY.get(priority, _text(priority)) if isinstance(priority, int) else "",
        "channel": FRESHDESK_SOURCE.get(source, _text(source)) if isinstance(source, int) else _text(source),
        "group": _text(t.get("group_id")),
        "assignee": _text(t.get("responder_id")),
        "created": _date(t.get("created_at"), tz, "created_at"),
        "first_response": _date(stats.get("first_responded_at"), tz, "stats.first_responded_at"),
        "resolved": _date(stats.get("resolved_at"), tz, "stats.resolved_at"),
        "closed": _date(stats.get("closed_at") or t.get("closed_at"), tz, "stats.closed_at"),
        "updated": _date(t.get("updated_at"), tz, "updated_at"),
    }


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
    name = _text(status.get("name")).lower()
    category = _text((status.get("statusCategory") or {}).get("key")).lower()
    if name == "resolved":
        return "resolved"
    if category == "done" or name in ("closed", "done"):
        return "closed"
    if "wait" in name or "pending" in name:
        return "pending"
    return "open"


def _person(value: Any) -> str:
    if isinstance(value, dict):
        return _text(
            value.get("displayName") or value.get("emailAddress") or value.get("name") or value.get("accountId")
        )
    return _text(value)


def _jira_one(issue: dict[str, Any], tz: tzinfo) -> dict[str, str]:
    """An issue of ``GET /rest/api/3/search`` (or ``/rest/api/2/search``: description as plain text)."""
    key = _require_id(issue.get("key"), "key")
    f = issue.get("fields") or {}
    description = f.get("description")
    if isinstance(description, dict):
        description = adf_text(description)
    status = f.get("status") or {}
    status_value = _jira_status(status if isinstance(status, dict) else {"name": status})
    components = [str(c["name"]) for c in f.get("components") or [] if isinstance(c, dict) and c.get("name")]
    issuetype = f.get("issuetype") or {}
    resolution_date = _date(f.get("resolutiondate"), tz, "fields.resolutiondate")
    organizations = f.get("organizations") or []
    org = ""
    if isinstance(organizations, list) and organizations and isinstance(organizations[0], dict):
        org = _text(organizations[0].get("name"))
    priority = f.get("priority") or {}
    project = f.get("project") or {}
    resolution = f.get("resolution") or {}
    return {
        "id": key,
        "project": _text(project.get("key") if isinstance(project, dict) else project) or key.rsplit("-", 1)[0],
        "resolution": _text(resolution.get("name") if isinstance(resolution, dict) else resolution),
        "customer": org or _person(f.get("reporter")),
        "organization": org,
        "subject": _text(f.get("summary")),
        "description": _text(description),
        "category": components[0]
        if components
        else _text(issuetype.get("name") if isinstance(issuetype, dict) else ""),
        "subcategory": components[1] if len(components) > 1 else "",
        "tags": tags_json([str(x) for x in f.get("labels") or []]),
        "status": status_value,
        "priority": _text(priority.get("name") if isinstance(priority, dict) else priority),
        "assignee": _person(f.get("assignee")),
        "created": _date(f.get("created"), tz, "fields.created"),
        "resolved": resolution_date,
        "closed": resolution_date if status_value == "closed" else "",
        "updated": _date(f.get("updated"), tz, "fields.updated"),
    }


# -- GitHub -------------------------------------------------------------------------------------------------


GITHUB_REPO = re.compile(r"(?:/repos/|github\.com/)([^/\s]+/[^/\s]+?)(?:/(?:issues|pull)/\d+)?/?$")


def github_repository(issue: dict[str, Any]) -> str:
    """``owner/name`` of an issue's repository, from ``repository_url``, ``repository.full_name`` or ``html_url``."""
    repo = issue.get("repository")
    if isinstance(repo, dict) and repo.get("full_name"):
        return _text(repo["full_name"])
    for key in ("repository_url", "html_url", "url"):
        m = GITHUB_REPO.search(_text(issue.get(key)))
        if m:
            return m.group(1)
    return ""


def _is_pull_request(issue: dict[str, Any]) -> bool:
    """A pull request has a ``pull_request`` object with a URL (the 2012 API put an empty stub on every issue)."""
    stub = issue.get("pull_request")
    if isinstance(stub, dict):
        return any(stub.get(k) for k in ("url", "html_url", "diff_url", "patch_url"))
    return bool(stub)


def _github_one(issue: dict[str, Any], tz: tzinfo) -> dict[str, str] | None:
    """An issue of ``GET /repos/{owner}/{repo}/issues`` or ``/search/issues`` (pull requests are skipped).

    Keyed ``owner/name#number``: issue numbers are only unique within a repository."""
    number = _require_id(issue.get("number"), "number")
    repository = github_repository(issue)
    ticket_id = f"{repository}#{number}" if repository else number
    if _is_pull_request(issue):
        return {"_skip": "pull request", "id": ticket_id}
    state = _text(issue.get("state")).lower()
    if state not in ("open", "closed"):
        raise Problem(f"unknown GitHub state '{state}'")
    labels = [
        _text(label.get("name")) if isinstance(label, dict) else _text(label) for label in issue.get("labels") or []
    ]
    user = issue.get("user") or {}
    assignee = issue.get("assignee") or {}
    closed = _date(issue.get("closed_at"), tz, "closed_at")
    return {
        "id": ticket_id,
        "project": repository,
        "customer": _text(user.get("login")) if isinstance(user, dict) else _text(user),
        "subject": _text(issue.get("title")),
        "description": _text(issue.get("body")),
        "category": labels[0] if labels else "",
        "tags": tags_json(labels),
        "status": "closed" if state == "closed" else "open",
        "assignee": _text(assignee.get("login")) if isinstance(assignee, dict) else "",
        "created": _date(issue.get("created_at"), tz, "created_at"),
        "resolved": closed if _text(issue.get("state_reason")) != "not_planned" else "",
        "closed": closed,
        "updated": _date(issue.get("updated_at"), tz, "updated_at"),
    }
