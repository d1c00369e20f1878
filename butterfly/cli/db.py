"""``butterfly db …``: schema upgrades, database information, backups and health checks."""

from pathlib import Path
from typing import Annotated

import typer

from butterfly.cli._common import DbOption, JsonOption, err, out, print_json, resolve_db
from butterfly.sanitise import terminal_safe

db_app = typer.Typer(
    help="Database: upgrade the schema, show information, back up, check integrity.", no_args_is_help=True
)


@db_app.command("upgrade")
def upgrade(ctx: typer.Context, db: DbOption = None) -> None:
    """Apply pending schema migrations (also done automatically on first use).

    Example: butterfly db upgrade --db postgresql+psycopg://team@db.example/butterfly
    """
    from sqlalchemy.exc import SQLAlchemyError

    from butterfly.cli._common import new_database
    from butterfly.store import db as database
    from butterfly.urls import redact_url

    url = resolve_db(ctx, db)
    notice = new_database(url, create=True)
    engine = database.get_engine(url)
    if notice:
        err().print(notice, markup=False, highlight=False)
    try:
        before, after = database.upgrade(engine)
    except SQLAlchemyError as exc:
        raise database.database_error(exc, engine) from None
    if before == after:
        err().print(f"{terminal_safe(redact_url(url))}: already at revision {after}")
    else:
        err().print(f"{terminal_safe(redact_url(url))}: upgraded {before or 'empty'} -> {after}")


@db_app.command("info")
def info(ctx: typer.Context, db: DbOption = None, as_json: JsonOption = False) -> None:
    """Show the database URL (password hidden), schema revision and row counts.

    Example: butterfly db info
    """
    from butterfly.store import db as database
    from butterfly.urls import redact_url

    url = resolve_db(ctx, db)
    database.require_existing_database(url)
    with database.open_session(url) as session:
        counts = database.table_counts(session)
        revision = database.current_revision(database.get_engine(url))
    data = {
        "url": redact_url(url),
        "backend": url.split(":", 1)[0].split("+", 1)[0],
        "revision": revision,
        "head": database.head_revision(),
        "tables": counts,
    }
    if as_json:
        print_json(data)
        return
    from rich.table import Table

    console = out()
    console.print(f"database: {terminal_safe(data['url'])}")
    console.print(f"backend:  {data['backend']}")
    console.print(f"revision: {revision} (newest: {data['head']})")
    table = Table("table", "rows")
    for name, n in counts.items():
        table.add_row(name, str(n))
    console.print(table)


@db_app.command("backup")
def backup(
    ctx: typer.Context,
    path: Annotated[Path, typer.Argument(help="Backup file to write, or a folder to put a dated file in.")],
    db: DbOption = None,
    force: Annotated[bool, typer.Option("--force", help="Replace PATH if it exists.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Copy the SQLite database to PATH while others keep working (online backup; file mode 0600).

    The copy is a consistent snapshot, checked, and renamed into place: PATH is never half-written. On
    PostgreSQL this prints the pg_dump command to run instead (exit code 2). No migration is applied first,
    so back up before `butterfly db upgrade`.

    Example: butterfly db backup ~/backups/butterfly-before-upgrade.db
    """
    from butterfly.store.backup import backup_database

    url = resolve_db(ctx, db)
    result = backup_database(url=url, dest=path, overwrite=force)
    if as_json:
        print_json(
            {
                "source": result.source,
                "path": str(result.path),
                "bytes": result.size,
                "revision": result.revision,
                "tables": result.tables,
            }
        )
        return
    rows = sum(result.tables.values())
    err().print(
        f"backed up {terminal_safe(result.source)} to {terminal_safe(result.path)} "
        f"({result.size:,} bytes, {rows:,} rows, revision {result.revision or 'none'})"
    )


@db_app.command("check")
def check(ctx: typer.Context, db: DbOption = None, as_json: JsonOption = False) -> None:
    """Check the database without changing it: integrity, orphan rows, migration state.

    SQLite: PRAGMA integrity_check and foreign_key_check. Both backends: answers without review, reviews
    without ticket, history without answer, action items pointing at a missing review or ticket, the schema
    revision against the newest, and tables/indexes against the migrations. Exit code 0 when all is well, 1 when
    problems are found.

    Example: butterfly db check --json
    """
    from butterfly.store import db as database
    from butterfly.store.check import check_database

    url = resolve_db(ctx, db)
    database.require_existing_database(url)
    with database.open_session(url, migrate=False) as session:
        report = check_database(session=session)
    if as_json:
        print_json(report.as_dict())
    else:
        from rich.table import Table

        console = out()
        console.print(f"database: {terminal_safe(report.url)}")
        table = Table("check", "result", "detail")
        for item in report.items:
            table.add_row(terminal_safe(item.name), item.level, terminal_safe(item.detail))
        console.print(table)
        n = len(report.problems)
        if report.ok:
            console.print("ok: no problems found")
        else:
            console.print(f"{n} problem{'s' if n != 1 else ''} found")
    if not report.ok:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.add_typer(db_app, name="db")
