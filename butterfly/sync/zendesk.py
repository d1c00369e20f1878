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

from butterfly.errors import ConfigError
from butterfly.sync.config import ZendeskSync, secret
from butterfly.sync.http import Http
from butterfly.sync.pages import Page, latest, parse_time

PATH = "/api/v2/incremental/tickets/cursor.json"


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
