"""``butterfly demo``: try the whole thing on the sample tickets, in a database of its own."""

from pathlib import Path
from typing import Annotated

import typer

from butterfly.cli._common import LangOption, err, interactive
from butterfly.sanitise import terminal_safe


def demo(
    ctx: typer.Context,
    fresh: Annotated[bool, typer.Option("--fresh", help="Delete the demo database first and start over.")] = False,
    walk: Annotated[
        bool, typer.Option("--walk/--no-walk", help="Open the review walk after importing (on a terminal).")
    ] = True,
    reviewer: Annotated[str | None, typer.Option("--reviewer", help="Your reviewer name.", show_default=False)] = None,
    lang: LangOption = None,
) -> None:
    """Import the sample tickets in examples/ into a demo database and open the review walk on one of them.

    The demo database is demo.db in the data dir (or the global --db). Running it again resumes the review.

    Example: butterfly demo --lang zh-CN
    """
    from butterfly.cli.review import review
    from butterfly.demo import set_up_demo
    from butterfly.settings import get_settings
    from butterfly.store.db import dispose_engines, open_session, sqlite_path, sqlite_url
    from butterfly.urls import redact_url

    settings = get_settings()
    root = ctx.find_root().obj or {}
    url = root.get("db") or sqlite_url(settings.data_dir / "demo.db")
    if "://" not in url:
        url = sqlite_url(Path(url))
    path = sqlite_path(url)
    if fresh and path is not None:
        dispose_engines()  # no pooled connection may keep the old file alive
        for suffix in ("", "-wal", "-shm"):
            path.with_name(path.name + suffix).unlink(missing_ok=True)
    name = reviewer or settings.effective_reviewer()
    with open_session(url) as session:
        setup = set_up_demo(session=session, reviewer=name)
        ref, week = setup.ticket.external_id, setup.week
    console = err()
    s = setup.summary
    console.print(
        f"demo database: {terminal_safe(redact_url(url))}\n"
        f"sample tickets: {s.total('rows_read')} read, {s.total('created')} new, {s.total('updated')} updated, "
        f"{s.total('unchanged')} unchanged",
        soft_wrap=True,
    )
    db_arg = f"--db {path}" if path is not None else "--db URL"
    console.print(
        "next:\n"
        f"  butterfly {db_arg} review {terminal_safe(ref)}          # the butterfly walk on one ticket\n"
        f"  butterfly {db_arg} report ticket {terminal_safe(ref)} --format html -o {terminal_safe(ref)}.html\n"
        f"  butterfly {db_arg} report weekly --week {week}\n"
        f"  butterfly {db_arg} tickets list",
        soft_wrap=True,
    )
    if walk and interactive():
        ctx.invoke(review, ctx=ctx, ticket=ref, reviewer=name, lang=lang, db=url)
    elif walk:
        console.print(
            "(not a terminal: the walk was not opened; run the review command above in a terminal)", soft_wrap=True
        )


def register(app: typer.Typer) -> None:
    """Add ``demo`` to the root app."""
    app.command("demo")(demo)
