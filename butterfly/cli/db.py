"""``butterfly db …``: schema upgrades, database information, backups and health checks."""

from pathlib import Path
from typing import Annotated

import typer

from butterfly.cli._common import DbOption, JsonOption, LangOption, err, language, out, print_json, resolve_db
from butterfly.labels import text
from butterfly.sanitise import terminal_safe


def _t(key: str, lang: str, **values: object) -> str:
    return text("db_texts.yaml", key, lang, **values)


db_app = typer.Typer(
    help="Database: upgrade the schema, show information, back up, check integrity.", no_args_is_help=True
)


@db_app.command("upgrade")
def upgrade(ctx: typer.Context, db: DbOption = None, lang: LangOption = None) -> None:
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
    lng, shown = language(lang), terminal_safe(redact_url(url))
    if before == after:
        err().print(_t("upgrade.current", lng, url=shown, revision=after), markup=False, highlight=False)
    else:
        was = before or _t("upgrade.empty", lng)
        err().print(_t("upgrade.done", lng, url=shown, before=was, after=after), markup=False, highlight=False)


@db_app.command("info")
def info(ctx: typer.Context, db: DbOption = None, as_json: JsonOption = False, lang: LangOption = None) -> None:
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

    console, lng = out(), language(lang)
    console.print(_t("info.database", lng, url=terminal_safe(str(data["url"]))), markup=False, highlight=False)
    console.print(_t("info.backend", lng, backend=data["backend"]), markup=False, highlight=False)
    console.print(_t("info.revision", lng, revision=revision, head=data["head"]), markup=False, highlight=False)
    table = Table(_t("info.col.table", lng), _t("info.col.rows", lng))
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
    lang: LangOption = None,
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
    lng, rows = language(lang), sum(result.tables.values())
    line = _t(
        "backup.done",
        lng,
        source=terminal_safe(result.source),
        path=terminal_safe(str(result.path)),
        size=f"{result.size:,}",
        rows=f"{rows:,}",
        revision=result.revision or _t("backup.no_revision", lng),
    )
    err().print(line, markup=False, highlight=False)


@db_app.command("check")
def check(ctx: typer.Context, db: DbOption = None, as_json: JsonOption = False, lang: LangOption = None) -> None:
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

        console, lng = out(), language(lang)
        console.print(_t("info.database", lng, url=terminal_safe(report.url)), markup=False, highlight=False)
        table = Table(*(_t(f"check.col.{c}", lng) for c in ("check", "result", "detail")))
        for item in report.items:
            table.add_row(*(terminal_safe(cell) for cell in item.shown(lng)))
        console.print(table)
        n = len(report.problems)
        if report.ok:
            console.print(_t("check.ok", lng), markup=False, highlight=False)
        else:
            console.print(_t("check.problems", lng, n=n, s="s" if n != 1 else ""), markup=False, highlight=False)
    if not report.ok:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.add_typer(db_app, name="db")
