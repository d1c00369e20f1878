"""Freshdesk: ``GET /api/v2/tickets?updated_since=…&order_by=updated_at&order_type=asc`` page by page (``Link``).

The saved state is the latest ``updated_at`` committed; a resumed or later sync starts there (the tickets of that
second are read again and found unchanged). Freshdesk lists at most 300 pages for one query: the listing starts
again from the high-water mark when it ends there. Permissions: an agent's API key (user name; password ``X``).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from butterfly.conversation.facts import Message
from butterfly.errors import ConfigError
from butterfly.importers import threads as extract
from butterfly.sync.config import FreshdeskSync, secret
from butterfly.sync.http import Http, next_link
from butterfly.sync.pages import Page, iso_z, latest, parse_time

PATH = "/api/v2/tickets"
CONVERSATIONS = "/api/v2/tickets/{id}/conversations"
PER_PAGE = 100
MAX_PAGES = 300


def connect(cfg: FreshdeskSync, **kwargs: Any) -> tuple[str, Http]:
    if not (cfg.url or cfg.domain):
        raise ConfigError(
            "freshdesk: no domain", hint="set [sync.freshdesk] domain or BUTTERFLY_SYNC__FRESHDESK__DOMAIN"
        )
    url = cfg.url or f"https://{cfg.domain}.freshdesk.com"
    account = cfg.domain or urlsplit(url).netloc
    return account, Http("freshdesk", url, auth=(secret("freshdesk", account, cfg.token_env), "X"), **kwargs)


def pages(http: Http, account: str, state: dict[str, Any], since: datetime | None) -> Iterator[Page]:
    high = state.get("high_water")
    start = since or parse_time(high) or datetime(2000, 1, 1, tzinfo=UTC)
    while True:
        params = {
            "updated_since": iso_z(start),
            "order_by": "updated_at",
            "order_type": "asc",
            "per_page": PER_PAGE,
            "include": "description,requester",
        }
        url: str | None = PATH
        count = 0
        while url is not None:
            response = http.get(url, params=params if url == PATH else None)
            tickets = http.json(response)
            if not isinstance(tickets, list):
                tickets = []
            high = latest([t.get("updated_at") for t in tickets if isinstance(t, dict)], high)
            yield Page(account, "freshdesk", tickets, len(tickets), {"high_water": high})
            count += 1
            url = next_link(response)
        if count < MAX_PAGES:
            return
        restart = parse_time(high)
        if restart is None or restart <= start:
            return
        start = restart


def threads(http: Http, page: Page) -> Iterator[tuple[str, list[Message]]]:
    """Each ticket's description and conversations (``GET /api/v2/tickets/{id}/conversations``, ``per_page``
    100, ``Link`` to the next page)."""
    for ticket in page.doc if isinstance(page.doc, list) else []:
        if not isinstance(ticket, dict) or ticket.get("id") is None:
            continue
        conversations: list[Any] = []
        url: str | None = CONVERSATIONS.format(id=ticket["id"])
        params: dict[str, Any] | None = {"per_page": PER_PAGE}
        while url and len(conversations) < extract.MAX_MESSAGES:  # a thread is capped: the rest is not fetched
            response = http.get(url, params=params)
            params = None
            body = http.json(response)
            if isinstance(body, list):
                conversations.extend(c for c in body if isinstance(c, dict))
            url = next_link(response)
        thread = extract.freshdesk({**ticket, "conversations": conversations})
        if thread:
            yield str(ticket["id"]), thread
