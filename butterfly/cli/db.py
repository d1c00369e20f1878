"""``butterfly db …``: schema upgrades and database information."""

from __future__ import annotations

import typer

from butterfly.cli._common import DbOption, JsonOption, err, out, print_json, resolve_db, safe

db_app = typer.Typer(help="Database: upgrade the schema, show information.", no_args_is_help=True)


@db_app.command("upgrade")
def upgrade(ctx: typer.Context, db: DbOption = None) -> None:
    """Apply pending schema migrations (also done automatically on first use).

    Example: butterfly db upgrade --db postgresql+psycopg://team@db.example/butterfly
    """
    from sqlalchemy.exc import SQLAlchemyError

    from butterfly import db as database

    url = resolve_db(ctx, db)
    engine = database.get_engine(url)
    try:
        before, after = database.upgrade(engine)
    except SQLAlchemyError as exc:
        raise database.database_error(exc, engine) from None
    if before == after:
        err().print(f"{safe(database.redact_url(url))}: already at revision {after}")
    else:
        err().print(f"{safe(database.redact_url(url))}: upgraded {before or 'empty'} -> {after}")


@db_app.command("info")
def info(ctx: typer.Context, db: DbOption = None, as_json: JsonOption = False) -> None:
    """Show the database URL (password hidden), schema revision and row counts.

    Example: butterfly db info
    """
    from butterfly import db as database

    url = resolve_db(ctx, db)
    with database.open_session(url) as session:
        counts = database.table_counts(session)
        revision = database.current_revision(database.get_engine(url))
    data = {
        "url": database.redact_url(url),
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
    console.print(f"database: {safe(data['url'])}")
    console.print(f"backend:  {data['backend']}")
    console.print(f"revision: {revision} (newest: {data['head']})")
    table = Table("table", "rows")
    for name, n in counts.items():
        table.add_row(name, str(n))
    console.print(table)


def register(app: typer.Typer) -> None:
    app.add_typer(db_app, name="db")
