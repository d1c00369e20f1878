"""Zendesk: the cursor-based incremental ticket export (``GET /api/v2/incremental/tickets/cursor.json``).

The first request starts at ``start_time`` (``--since``, else the saved high-water mark, else the beginning); each
answer gives ``after_cursor`` and ``end_of_stream``. The saved state is the cursor of the next page plus the
latest ``updated_at`` seen, so an expired or refused cursor (HTTP 400/422) falls back to a time-based start.
Deleted tickets come with status ``deleted`` and mark the stored ticket. Permissions: an agent's API token
(admin for the incremental export), e-mail ``EMAIL/token`` as user name. Zendesk allows 10 requests a minute
on this export: requests are paced 6 s apart, and a 429's ``Retry-After`` is waited out.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from butterfly.conversation.facts import Message
from butterfly.errors import ConfigError
from butterfly.importers import threads as extract
from butterfly.sync.config import ZendeskSync, secret
from butterfly.sync.http import Http
from butterfly.sync.pages import Page, latest, parse_time

PATH = "/api/v2/incremental/tickets/cursor.json"
COMMENTS = "/api/v2/tickets/{id}/comments.json"
COMMENTS_PER_PAGE = 100


def connect(cfg: ZendeskSync, **kwargs: Any) -> tuple[str, Http]:
    if not (cfg.url or cfg.subdomain):
        raise ConfigError(
            "zendesk: no subdomain", hint="set [sync.zendesk] subdomain or BUTTERFLY_SYNC__ZENDESK__SUBDOMAIN"
        )
    if not cfg.email:
        raise ConfigError("zendesk: no e-mail", hint="set [sync.zendesk] email (the agent whose token is used)")
    url = cfg.url or f"https://{cfg.subdomain}.zendesk.com"
    account = cfg.subdomain or urlsplit(url).netloc
    token = secret("zendesk", account, cfg.token_env)
    # the incremental export allows 10 requests a minute: pace them instead of running into 429s
    return account, Http("zendesk", url, auth=(f"{cfg.email}/token", token), min_interval=6.0, **kwargs)


def pages(http: Http, account: str, state: dict[str, Any], since: datetime | None) -> Iterator[Page]:
    high = state.get("high_water")
    cursor = None if since else state.get("cursor")
    response = None
    if cursor:
        response = http.get(PATH, params={"cursor": cursor}, allow=(400, 422))
        if response.status_code in (400, 422):  # an expired or unknown cursor: start again from the time
            response = None
    if response is None:
        start = since or parse_time(high)
        response = http.get(PATH, params={"start_time": int(start.timestamp()) if start else 0})
    while True:
        body = http.json(response)
        tickets = body.get("tickets") if isinstance(body, dict) else None
        if not isinstance(tickets, list):
            tickets = []
        high = latest([t.get("updated_at") for t in tickets if isinstance(t, dict)], high)
        after = body.get("after_cursor") if isinstance(body, dict) else None
        yield Page(account, "zendesk", {"tickets": tickets}, len(tickets), {"cursor": after, "high_water": high})
        if not after or (isinstance(body, dict) and body.get("end_of_stream")):
            return
        response = http.get(PATH, params={"cursor": after})


def threads(http: Http, page: Page) -> Iterator[tuple[str, list[Message]]]:
    """Each ticket's whole thread (``GET /api/v2/tickets/{id}/comments.json``, cursor-paginated with
    ``page[size]``, following ``links.next`` while ``meta.has_more``). These requests fall under Zendesk's general
    rate limit, not the export's 10 a minute: they are not paced, and a 429's ``Retry-After`` is waited out.
    Deleted tickets have no comments to read."""
    for ticket in page.doc.get("tickets", []) if isinstance(page.doc, dict) else []:
        if not isinstance(ticket, dict) or ticket.get("id") is None or ticket.get("status") == "deleted":
            continue
        comments: list[Any] = []
        url: str | None = COMMENTS.format(id=ticket["id"])
        params: dict[str, Any] | None = {"page[size]": COMMENTS_PER_PAGE}
        while url and len(comments) < extract.MAX_MESSAGES:  # a thread is capped: the rest is not fetched
            body = http.json(http.get(url, params=params, paced=False))
            params = None
            if not isinstance(body, dict):
                break
            comments.extend(c for c in body.get("comments") or [] if isinstance(c, dict))
            meta: dict[str, Any] = body["meta"] if isinstance(body.get("meta"), dict) else {}
            links: dict[str, Any] = body["links"] if isinstance(body.get("links"), dict) else {}
            url = links.get("next") if meta.get("has_more") else None
        thread = extract.zendesk({**ticket, "comments": comments})
        if thread:
            yield str(ticket["id"]), thread
