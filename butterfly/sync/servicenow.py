"""ServiceNow: the Table API on ``incident`` (``GET /api/now/table/incident``), ordered by ``sys_updated_on``.

Asked with ``sysparm_display_value=all``: reference and choice fields give their display value (the caller's name,
``Closed``), dates their stored UTC value. Each page becomes a CSV in the columns of ServiceNow's incident export
(``number``, ``incident_state``, ``opened_at``, …) and is imported with the ``servicenow`` format, one row per
incident. Encoded queries compare dates in the API user's time zone: a saved high-water mark is moved back
:data:`~butterfly.sync.pages.OVERLAP` before it is used. Permissions: a user with the ``itil`` role (read on
``incident``); basic authentication with its password.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from butterfly.conversation.facts import Message
from butterfly.errors import ConfigError
from butterfly.importers import threads as extract
from butterfly.sync.config import ServicenowSync, secret
from butterfly.sync.http import Http, next_link
from butterfly.sync.pages import OVERLAP, Page, latest, parse_time

PATH = "/api/now/table/incident"
JOURNAL = "/api/now/table/sys_journal_field"
CALLER_LOGIN = "caller_id.user_name"  # dot-walked: whose comments are the customer's
PER_PAGE = 100
# export column <- Table API field (the export calls the state incident_state, the update time sys_updated_at)
COLUMNS = {
    "number": "number",
    "incident_state": "state",
    "active": "active",
    "reassignment_count": "reassignment_count",
    "reopen_count": "reopen_count",
    "sys_mod_count": "sys_mod_count",
    "made_sla": "made_sla",
    "caller_id": "caller_id",
    "opened_at": "opened_at",
    "sys_updated_at": "sys_updated_on",
    "contact_type": "contact_type",
    "category": "category",
    "subcategory": "subcategory",
    "u_symptom": "u_symptom",
    "priority": "priority",
    "assignment_group": "assignment_group",
    "assigned_to": "assigned_to",
    "problem_id": "problem_id",
    "closed_code": "close_code",
    "resolved_at": "resolved_at",
    "closed_at": "closed_at",
    "short_description": "short_description",
    "description": "description",
}
DATES = {"opened_at", "sys_updated_on", "resolved_at", "closed_at"}


def connect(cfg: ServicenowSync, **kwargs: Any) -> tuple[str, Http]:
    if not (cfg.url or cfg.instance):
        raise ConfigError(
            "servicenow: no instance", hint="set [sync.servicenow] instance or BUTTERFLY_SYNC__SERVICENOW__INSTANCE"
        )
    if not cfg.user:
        raise ConfigError("servicenow: no user", hint="set [sync.servicenow] user (a user with the itil role)")
    url = cfg.url or f"https://{cfg.instance}.service-now.com"
    account = cfg.instance or urlsplit(url).netloc
    return account, Http("servicenow", url, auth=(cfg.user, secret("servicenow", account, cfg.token_env)), **kwargs)


def _cell(record: dict[str, Any], api_field: str) -> str:
    value = record.get(api_field)
    if isinstance(value, dict):  # display_value=all: {"display_value": …, "value": …}
        value = value.get("value") if api_field in DATES else value.get("display_value")
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def to_csv(records: list[dict[str, Any]]) -> str:
    """The page as a CSV in the incident export's columns (what ``butterfly import --format servicenow`` reads)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for record in records:
        writer.writerow([_cell(record, field) for field in COLUMNS.values()])
    return out.getvalue()


def query(extra: str | None, start: datetime | None) -> str:
    parts = [extra] if extra else []
    if start is not None:
        parts.append(f"sys_updated_on>={start.strftime('%Y-%m-%d %H:%M:%S')}")
    return "^".join([*parts, "ORDERBYsys_updated_on"])


def pages(
    http: Http,
    account: str,
    state: dict[str, Any],
    since: datetime | None,
    extra: str | None = None,
    comments: bool = False,
) -> Iterator[Page]:
    high = state.get("high_water")
    saved = parse_time(high)
    start = since or (saved - OVERLAP if saved else None)
    params: dict[str, Any] = {
        "sysparm_query": query(extra, start),
        "sysparm_display_value": "all",
        "sysparm_exclude_reference_link": "true",
        "sysparm_limit": PER_PAGE,
    }
    if comments:  # the incident's sys_id and the caller's user name, to read and attribute its journal
        params["sysparm_fields"] = ",".join([*dict.fromkeys(COLUMNS.values()), "sys_id", CALLER_LOGIN])
    url: str | None = PATH
    first = True
    while url is not None:
        response = http.get(url, params=params if first else None)
        first = False
        body = http.json(response)
        records = body.get("result") if isinstance(body, dict) else None
        if not isinstance(records, list):
            records = []
        records = [r for r in records if isinstance(r, dict)]
        high = latest([_cell(r, "sys_updated_on") for r in records], high)
        yield Page(
            account, "servicenow", to_csv(records), len(records), {"high_water": high}, ".csv", "UTC", items=records
        )
        url = next_link(response) if records else None


def _value(record: dict[str, Any], name: str) -> str:
    value = record.get(name)
    if isinstance(value, dict):
        value = value.get("value")
    return "" if value is None else str(value)


def threads(http: Http, page: Page) -> Iterator[tuple[str, list[Message]]]:
    """Each incident's description and journal: ``sys_journal_field`` rows of ``element`` ``comments`` (additional
    comments, seen by the caller) and ``work_notes`` (internal), for the page's incidents in one query
    (``element_idIN…``), oldest first, ``Link`` to the next page."""
    incidents = {_value(r, "sys_id"): r for r in page.items if _value(r, "sys_id") and _value(r, "number")}
    if not incidents:
        return
    entries: dict[str, list[dict[str, Any]]] = {sys_id: [] for sys_id in incidents}
    params: dict[str, Any] | None = {
        "sysparm_query": "name=incident^elementINcomments,work_notes^element_idIN"
        + ",".join(incidents)
        + "^ORDERBYsys_created_on",
        "sysparm_fields": "sys_id,element,element_id,value,sys_created_on,sys_created_by",
        "sysparm_limit": PER_PAGE,
    }
    url: str | None = JOURNAL
    while url:
        response = http.get(url, params=params)
        params = None
        body = http.json(response)
        rows = body.get("result") if isinstance(body, dict) else None
        if not isinstance(rows, list) or not rows:
            break
        for row in rows:
            if isinstance(row, dict) and _value(row, "element_id") in entries:
                entries[_value(row, "element_id")].append({k: _value(row, k) for k in row})
        url = next_link(response)
    for sys_id, record in incidents.items():
        incident = {
            "description": _value(record, "description") or _value(record, "short_description"),
            "opened_at": _value(record, "opened_at"),
        }
        thread = extract.servicenow(incident, entries[sys_id], _value(record, CALLER_LOGIN) or None)
        if thread:
            yield _value(record, "number"), thread
