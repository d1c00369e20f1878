"""Run one sync: fetch the pages that changed since the saved position, import each through ``import_files``,
save the position after each committed page.

A page is written to a private temporary file in the shape of the source's file export and imported exactly as
``butterfly import --format SOURCE`` would import it (same source name, mapping, statuses, content hashes,
summary buckets), so a sync after a file import of the same data finds every ticket unchanged, and a page read
twice (a resumed sync, the overlap of a time-based position) changes nothing. Rejected records go to one rejects
file per run in the data folder. Killed between pages, the next run starts from the last committed page.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlmodel import Session

from butterfly.conversation.facts import Message
from butterfly.errors import InvalidInputError
from butterfly.files import write_private
from butterfly.importers import import_files
from butterfly.importers.thread_store import MERGED_SOURCES, store_threads
from butterfly.sync import freshdesk, github, jira, servicenow, state, zendesk
from butterfly.sync.config import SOURCES, SyncSettings
from butterfly.sync.http import Http
from butterfly.sync.pages import Page

BUCKETS = ("rows_read", "created", "updated", "unchanged", "duplicates", "skipped", "rejected", "marked_deleted")


@dataclass
class AccountSummary:
    """One account's (or repository's) part of a sync."""

    account: str
    pages: int = 0
    fetched: int = 0
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(BUCKETS, 0))
    position: dict[str, Any] = field(default_factory=dict)  # the saved state after the run
    threads: int = 0  # tickets whose conversation was stored or replaced (--comments; unchanged ones not counted)
    messages: int = 0
    messages_over_cap: int = 0  # fetched messages beyond the per-ticket cap, not stored (the rest is not fetched)


@dataclass
class SyncSummary:
    source: str  # the helpdesk
    name: str  # butterfly's source name the tickets are stored under
    dry_run: bool
    comments: bool = False
    accounts: list[AccountSummary] = field(default_factory=list)
    requests: int = 0
    retries: int = 0
    rejects_path: str | None = None
    seconds: float = 0.0

    def total(self, bucket: str) -> int:
        if bucket in ("pages", "fetched", "threads", "messages", "messages_over_cap"):
            return sum(int(getattr(a, bucket)) for a in self.accounts)
        return sum(a.counts[bucket] for a in self.accounts)


Progress = Callable[[str, int], None]  # (account, records fetched so far)


def run_sync(
    *,
    session: Session,
    source: str,
    settings: SyncSettings,
    data_dir: Path,
    since: datetime | None = None,
    full: bool = False,
    dry_run: bool = False,
    repos: list[str] | None = None,
    progress: Progress | None = None,
    http_options: dict[str, Any] | None = None,
    comments: bool | None = None,
) -> SyncSummary:
    """Sync ``source`` (one of :data:`~butterfly.sync.config.SOURCES`) into the database of ``session``.

    ``since``: where a sync with no saved position starts (and, given, overrides the saved position);
    ``full``: read everything again (from ``since`` or the beginning; still idempotent); ``dry_run``: fetch and
    count, import nothing, save nothing. ``http_options`` go to :class:`~butterfly.sync.http.Http` (tests pass a
    ``sleep``). ``comments``: also fetch each synced ticket's conversation and store it like an import of an
    export with threads (``None``: the source's ``comments`` setting); it is committed before the position.
    """
    if source not in SOURCES:
        raise InvalidInputError(f"unknown sync source '{source}'", hint="use one of: " + ", ".join(SOURCES))
    started = time.monotonic()
    cfg = getattr(settings, source)
    name = (cfg.source or source).strip()
    with_comments = cfg.comments if comments is None else comments
    summary = SyncSummary(source=source, name=name, dry_run=dry_run, comments=with_comments)
    options = http_options or {}
    with tempfile.TemporaryDirectory(prefix="butterfly-sync-") as scratch:
        rejects = _Rejects(data_dir, source, Path(scratch))
        for account, http, fetch, read_threads in _plan(source, cfg, repos, options, with_comments):
            with http:
                saved = {} if full else state.load(session=session, source=source, account=account)
                part = AccountSummary(account=account, position=saved)
                summary.accounts.append(part)
                try:
                    for page in fetch(http, account, saved, since):
                        part.pages += 1
                        part.fetched += page.records
                        if progress is not None:
                            progress(account, part.fetched)
                        if dry_run:
                            continue
                        _import_page(session, page, name, Path(scratch), part, rejects)
                        if with_comments:
                            written, messages, over_cap = store_threads(
                                session=session,
                                source=name,
                                threads=read_threads(http, page),
                                merge=source in MERGED_SOURCES,
                            )
                            part.threads += written
                            part.messages += messages
                            part.messages_over_cap += over_cap
                        state.save(session=session, source=source, account=account, state=page.state)
                        part.position = page.state
                finally:
                    summary.requests += http.requests
                    summary.retries += http.retries
        summary.rejects_path = rejects.finish()
    summary.seconds = time.monotonic() - started
    return summary


Fetch = Callable[[Http, str, dict[str, Any], datetime | None], Iterator[Page]]
Threads = Callable[[Http, Page], Iterator[tuple[str, list[Message]]]]


def _plan(
    source: str, cfg: Any, repos: list[str] | None, options: dict[str, Any], comments: bool
) -> Iterator[tuple[str, Http, Fetch, Threads]]:
    """Each account to sync, with its client, its pages and how the conversations of a page are read."""
    if source == "github":
        names = github.repositories(cfg, repos)
        for repo in names:
            yield repo, github.connect(cfg, **options), github.pages, github.threads
        return
    if repos:
        raise InvalidInputError("--repo is for github only")
    if source == "zendesk":
        account, http = zendesk.connect(cfg, **options)
        yield account, http, zendesk.pages, zendesk.threads
    elif source == "freshdesk":
        account, http = freshdesk.connect(cfg, **options)
        yield account, http, freshdesk.pages, freshdesk.threads
    elif source == "jira":
        account, http = jira.connect(cfg, **options)
        yield account, http, lambda h, a, s, t: jira.pages(h, a, s, t, cfg.jql), jira.threads
    else:
        account, http = servicenow.connect(cfg, **options)
        yield (
            account,
            http,
            lambda h, a, s, t: servicenow.pages(h, a, s, t, cfg.query, comments),
            servicenow.threads,
        )


def _import_page(
    session: Session, page: Page, name: str, scratch: Path, part: AccountSummary, rejects: _Rejects
) -> None:
    path = scratch / f"page{page.suffix}"
    text = json.dumps(page.doc, ensure_ascii=False) if page.suffix == ".json" else str(page.doc)
    path.write_text(text, encoding="utf-8")
    page_rejects = rejects.page_path()
    result = import_files(
        session=session,
        paths=[path],
        format=page.format,
        source=name,
        rejects=page_rejects,
        timezone=page.timezone,
    )
    for file in result.files:
        for bucket in BUCKETS:
            part.counts[bucket] += int(getattr(file, bucket))
    rejects.collect(page_rejects, f"{part.account} page {part.pages}")
    path.unlink(missing_ok=True)


class _Rejects:
    """One rejects file per run (in ``DATA_DIR/sync-rejects/``), gathered from each page's rejects."""

    def __init__(self, data_dir: Path, source: str, scratch: Path) -> None:
        self.target = data_dir / "sync-rejects" / f"{source}-{time.strftime('%Y%m%dT%H%M%S')}.rejects.txt"
        self.scratch = scratch
        self.parts: list[tuple[str, bytes]] = []

    def page_path(self) -> Path:
        return self.scratch / "page.rejects.txt"

    def collect(self, path: Path, label: str) -> None:
        if path.exists():
            data = path.read_bytes()
            if data.strip():
                self.parts.append((label, data))
            path.unlink()

    def finish(self) -> str | None:
        if not self.parts:
            return None
        self.target.parent.mkdir(parents=True, exist_ok=True)
        body = "".join(f"# {label}\n" + data.decode("utf-8", "replace") for label, data in self.parts)
        write_private(self.target, body)
        return str(self.target)
