"""``butterfly sync SOURCE``: pull the tickets that changed since the last sync from a helpdesk's API."""

from typing import TYPE_CHECKING, Annotated

import typer

from butterfly.cli._common import DbOption, JsonOption, LangOption, err, language, out, print_json, session_for
from butterfly.sanitise import terminal_plain, terminal_safe

if TYPE_CHECKING:
    from butterfly.sync.service import SyncSummary


def sync_command(
    ctx: typer.Context,
    source: Annotated[str, typer.Argument(help="zendesk, freshdesk, jira, github or servicenow")],
    repo: Annotated[
        list[str] | None, typer.Option("--repo", help="github: OWNER/NAME (repeat; default: \\[sync.github] repos)")
    ] = None,
    since: Annotated[
        str | None, typer.Option("--since", help="start here (a date or date-time; default: where the last sync ended)")
    ] = None,
    full: Annotated[bool, typer.Option("--full", help="read everything again (still nothing duplicated)")] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="fetch and count only: import nothing, save nothing")
    ] = False,
    comments: Annotated[
        bool | None,
        typer.Option(
            "--comments/--no-comments",
            help="also fetch each synced ticket's conversation (default: the source's comments setting, off)",
            show_default=False,
        ),
    ] = None,
    lang: LangOption = None,
    as_json: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Pull changed tickets from a helpdesk's API, imported like `butterfly import` (nothing lost or duplicated).

    Settings per source in the config file (\\[sync.zendesk] subdomain, email; \\[sync.github] repos; …) or
    BUTTERFLY_SYNC__SOURCE__FIELD variables; the API secret in the variable the source names (e.g.
    BUTTERFLY_ZENDESK_TOKEN) or the OS keyring. Each page is committed before the position is saved: stopped or
    killed, the next sync resumes from the last committed page. --comments (or comments = true in the source's
    settings) fetches each synced ticket's conversation too.

    Example: BUTTERFLY_GITHUB_TOKEN=… butterfly sync github --repo acme/support --since 2026-01-01
    """
    from butterfly.importers.dates import parse_datetime
    from butterfly.settings import get_settings
    from butterfly.sync.config import sync_settings
    from butterfly.sync.service import run_sync

    start = None
    if since is not None:
        start = parse_datetime(since)
        if start is None:
            from butterfly.errors import InvalidInputError

            raise InvalidInputError(
                f"--since '{since}' is not a date", hint="write it as YYYY-MM-DD or an ISO date-time"
            )
    settings = get_settings()
    lng = language(lang)
    progress = _progress(source, lng) if not as_json and err().is_terminal else None
    with session_for(ctx, db, create=True, lang=lng) as session:
        try:
            summary = run_sync(
                session=session,
                source=source,
                settings=sync_settings(settings.sync),
                data_dir=settings.data_dir,
                since=start,
                full=full,
                dry_run=dry_run,
                repos=list(repo) if repo else None,
                progress=progress[1] if progress else None,
                comments=comments,
            )
        finally:
            if progress:
                progress[0].stop()
    if as_json:
        print_json(_as_dict(summary))
    else:
        _show(summary, lng)
    if summary.total("rejected"):
        raise typer.Exit(1)


def _t(key: str, lang: str, **values: object) -> str:
    """A line of ``butterfly sync`` (``command_texts.yaml``, ``sync.*``) in ``lang``."""
    from butterfly.labels import command_text

    return command_text(f"sync.{key}", lang, **values)


def _progress(source: str, lang: str):  # type: ignore[no-untyped-def]
    from rich.progress import Progress, SpinnerColumn, TextColumn

    bar = Progress(SpinnerColumn(), TextColumn("{task.description}"), console=err(), transient=True)
    task = bar.add_task(_t("connecting", lang, source=terminal_safe(source)), total=None)
    bar.start()

    def update(account: str, fetched: int) -> None:
        said = _t("fetching", lang, source=terminal_safe(source), account=terminal_safe(account), fetched=fetched)
        bar.update(task, description=said)

    return bar, update


def _as_dict(summary: "SyncSummary") -> dict[str, object]:
    return {
        "source": summary.source,
        "stored_as": summary.name,
        "dry_run": summary.dry_run,
        "requests": summary.requests,
        "retries": summary.retries,
        "rejects_file": summary.rejects_path,
        "comments": summary.comments,
        "accounts": [
            {
                "account": a.account,
                "pages": a.pages,
                "fetched": a.fetched,
                **a.counts,
                "threads": a.threads,
                "messages": a.messages,
                "messages_over_cap": a.messages_over_cap,
                "position": a.position,
            }
            for a in summary.accounts
        ],
    }


def _show(summary: "SyncSummary", lang: str) -> None:
    from rich.table import Table

    # the title on its own line: as the table's title it would wrap at the width of a narrow (dry-run) table
    title = _t("title.dry_run" if summary.dry_run else "title", lang, source=terminal_safe(summary.source))
    out().print(title, soft_wrap=True)
    table = Table()
    names = ("account", "pages", "fetched") + (
        () if summary.dry_run else ("new", "updated", "unchanged", "duplicate", "skipped", "rejected")
    )
    for name in names:
        table.add_column(_t(f"col.{name}", lang), justify="left" if name == "account" else "right", overflow="fold")
    for a in summary.accounts:
        row = [terminal_safe(a.account), f"{a.pages:,}", f"{a.fetched:,}"]
        if not summary.dry_run:
            c = a.counts
            row += [f"{c[k]:,}" for k in ("created", "updated", "unchanged", "duplicates", "skipped", "rejected")]
        table.add_row(*row)
    out().print(table)
    lines = []
    if summary.comments and not summary.dry_run:
        lines.append(_t("threads", lang, threads=summary.total("threads"), messages=summary.total("messages")))
        over = summary.total("messages_over_cap")
        if over:
            from butterfly.importers.threads import MAX_MESSAGES

            lines.append(_t("over_cap", lang, n=over, cap=MAX_MESSAGES))
    deleted = summary.total("marked_deleted")
    if deleted:
        lines.append(_t("marked_deleted", lang, n=deleted))
    lines.append(_t("requests", lang, requests=summary.requests, retries=summary.retries, seconds=summary.seconds))
    if summary.rejects_path:
        lines.append(_t("rejected", lang, n=summary.total("rejected"), path=terminal_plain(summary.rejects_path)))
    for line in lines:
        err().print(line, markup=False)


def register(app: typer.Typer) -> None:
    app.command("sync")(sync_command)
