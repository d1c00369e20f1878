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
from datetime import timedelta, tzinfo
from typing import Any

from butterfly.importers.dates import parse_datetime, to_utc_text
from butterfly.importers.native_trackers import adf_text as adf_text  # where threads.py reads Jira's rich text
from butterfly.importers.native_trackers import github_one, jira_one
from butterfly.importers.native_values import (
    Converted,
    Problem,
    date_of,
    each,
    index_by_id,
    records_of,
    require_id,
    text_of,
)
from butterfly.importers.prepare import tags_json


def convert(fmt: str, doc: Any, tz: tzinfo, records: Iterable[Any] | None = None) -> Iterator[Converted]:
    """Converted records of a native JSON export; ``records``: its records read one by one (``doc`` is then the
    document without them, e.g. Zendesk's sideloads)."""
    if fmt == "zendesk":
        yield from _zendesk(doc, tz, records)
    elif fmt == "freshdesk":
        yield from each(
            records_of(doc, "tickets", "results") if records is None else records, tz, _freshdesk_one, "ticket"
        )
    elif fmt == "jira":
        yield from each(records_of(doc, "issues") if records is None else records, tz, jira_one, "issue")
    elif fmt == "github":
        yield from each(records_of(doc, "items") if records is None else records, tz, github_one, "issue")
    else:  # pragma: no cover - guarded by the caller
        raise ValueError(fmt)


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
    users = index_by_id(side.get("users"))
    orgs = index_by_id(side.get("organizations"))
    groups = index_by_id(side.get("groups"))
    metrics = {m.get("ticket_id"): m for m in side.get("metric_sets") or [] if isinstance(m, dict)}

    def one(t: dict[str, Any], tz: tzinfo) -> dict[str, str] | None:
        ticket_id = require_id(t.get("id"), "id")
        status = text_of(t.get("status")).lower()
        if status == "deleted":
            return {"_skip": DELETED, "id": ticket_id}
        if status not in ZENDESK_STATUS:
            raise Problem(f"unknown Zendesk status '{status}'")
        metric = metrics.get(t.get("id")) or t.get("metric_set") or {}
        org = orgs.get(t.get("organization_id"))
        requester = users.get(t.get("requester_id"))
        assignee = users.get(t.get("assignee_id"))
        group = groups.get(t.get("group_id"))
        org_name = text_of(org.get("name")) if org else text_of(t.get("organization_id"))
        requester_name = (
            text_of(requester.get("name") or requester.get("email")) if requester else text_of(t.get("requester_id"))
        )
        created = date_of(t.get("created_at"), tz, "created_at")
        first_response = ""
        reply = (metric.get("reply_time_in_minutes") or {}).get("calendar") if metric else None
        if isinstance(reply, int | float) and t.get("created_at"):
            start = parse_datetime(str(t["created_at"]), tz)
            if start is not None:
                first_response = to_utc_text(start + timedelta(minutes=reply))
        solved = t.get("solved_at") or (metric.get("solved_at") if metric else None)
        updated = date_of(t.get("updated_at"), tz, "updated_at")
        closed = ""
        if status == "closed":
            closed = date_of(metric.get("status_updated_at") if metric else None, tz, "status_updated_at") or updated
        via = t.get("via") or {}
        rating = t.get("satisfaction_rating")
        return {
            "requester": requester_name,
            "satisfaction": text_of(rating.get("score") if isinstance(rating, dict) else rating),
            "id": ticket_id,
            "customer": org_name or requester_name,
            "organization": org_name,
            "subject": text_of(t.get("subject") or t.get("raw_subject")),
            "description": text_of(t.get("description")),
            "category": text_of(t.get("type")),
            "tags": tags_json([str(x) for x in t.get("tags") or []]),
            "status": ZENDESK_STATUS[status],
            "priority": text_of(t.get("priority")),
            "channel": text_of(via.get("channel") if isinstance(via, dict) else via),
            "group": text_of(group.get("name")) if group else text_of(t.get("group_id")),
            "assignee": text_of(assignee.get("name")) if assignee else text_of(t.get("assignee_id")),
            "problem_id": text_of(t.get("problem_id")),
            "created": created,
            "first_response": first_response,
            "resolved": date_of(solved, tz, "solved_at"),
            "closed": closed,
            "updated": updated,
        }

    yield from each(records_of(doc, "tickets") if records is None else records, tz, one, "ticket")
    for i, deleted in enumerate(side.get("deleted_tickets") or [], start=1):  # the incremental export's list
        ticket_id = text_of(deleted.get("id")) if isinstance(deleted, dict) else text_of(deleted)
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
    ticket_id = require_id(t.get("id"), "id")
    try:
        code = int(t.get("status"))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise Problem(f"status '{t.get('status')}' is not a Freshdesk status number") from None
    stats = t.get("stats") or {}
    company = t.get("company") or {}
    requester = t.get("requester") or {}
    company_name = text_of(company.get("name")) or text_of(t.get("company_id"))
    requester_name = text_of(requester.get("name") or requester.get("email")) or text_of(t.get("requester_id"))
    description = text_of(t.get("description_text")) or _strip_html(text_of(t.get("description")))
    priority = t.get("priority")
    source = t.get("source")
    return {
        "id": ticket_id,
        "requester": requester_name,
        "customer": company_name or requester_name,
        "organization": company_name,
        "subject": text_of(t.get("subject")),
        "description": description,
        "category": text_of(t.get("type")),
        "tags": tags_json([str(x) for x in t.get("tags") or []]),
        "status": FRESHDESK_STATUS.get(code, "pending"),
        "priority": FRESHDESK_PRIORITY.get(priority, text_of(priority)) if isinstance(priority, int) else "",
        "channel": FRESHDESK_SOURCE.get(source, text_of(source)) if isinstance(source, int) else text_of(source),
        "group": text_of(t.get("group_id")),
        "assignee": text_of(t.get("responder_id")),
        "created": date_of(t.get("created_at"), tz, "created_at"),
        "first_response": date_of(stats.get("first_responded_at"), tz, "stats.first_responded_at"),
        "resolved": date_of(stats.get("resolved_at"), tz, "stats.resolved_at"),
        "closed": date_of(stats.get("closed_at") or t.get("closed_at"), tz, "stats.closed_at"),
        "updated": date_of(t.get("updated_at"), tz, "updated_at"),
    }
