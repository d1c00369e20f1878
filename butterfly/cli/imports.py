"""``butterfly import FILE…``: tickets from CSV/JSON exports and native helpdesk exports."""

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from butterfly.cli._common import DbOption, JsonOption, ci_mode, err, out, print_json
from butterfly.errors import shorten
from butterfly.sanitise import terminal_safe

if TYPE_CHECKING:
    from butterfly.importers.encoding import Encoding
    from butterfly.importers.mapping import Mapping
    from butterfly.importers.service import ImportSummary

EXIT_REJECTS = 1


def import_command(
    ctx: typer.Context,
    files: Annotated[list[Path], typer.Argument(help="Export files (CSV, JSON, JSON Lines, helpdesk exports).")],
    format: Annotated[
        str,
        typer.Option(
            "--format",
            help="auto, csv, jsonl, json, zendesk, freshdesk, jira, github or servicenow.",
        ),
    ] = "auto",
    source: Annotated[
        str | None,
        typer.Option(
            "--source",
            help="Name of the system the tickets come from (tickets are keyed by source + id). "
            "Default: the format (csv, json, zendesk, …).",
            show_default=False,
        ),
    ] = None,
    map_: Annotated[
        list[str] | None,
        typer.Option(
            "--map",
            help="FIELD=COLUMN (repeatable) or a mapping file (.yaml, .toml, .json). Fields: id, customer, "
            "organization, subject, description, category, subcategory, tags, status, priority, channel, group, "
            "assignee, problem_id, created, first_response, resolved, closed, updated.",
            show_default=False,
        ),
    ] = None,
    encoding: Annotated[
        str | None,
        typer.Option("--encoding", help="utf-8, gbk/gb18030, big5, … (default: detected).", show_default=False),
    ] = None,
    timezone: Annotated[
        str | None,
        typer.Option(
            "--timezone",
            help="Zone of times without one, e.g. Asia/Shanghai (default: settings, UTC).",
            show_default=False,
        ),
    ] = None,
    rejects: Annotated[
        Path | None,
        typer.Option(
            "--rejects",
            help="Where rejected records go (default: next to each input, FILE.rejects.txt).",
            show_default=False,
        ),
    ] = None,
    strict: Annotated[
        bool, typer.Option("--strict", help="Import nothing if any record would be rejected (exit 2).")
    ] = False,
    json_: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Import tickets from helpdesk exports; importing the same export again changes nothing.

    Rejected records are written unchanged, with line number and reason, to a rejects file. Exit codes:
    0 everything imported, 1 imported but some records rejected, 2 input or database error (with --strict:
    any reject; nothing imported).

    Example: butterfly import examples/tickets.csv
    """
    from butterfly.cli._common import session_for
    from butterfly.importers import import_files

    console = err()
    show_progress = sys.stderr.isatty() and not ci_mode() and not json_

    def on_mapping(path: str, mapping: "Mapping", enc: "Encoding") -> None:
        _show_mapping(console, path, mapping, enc)

    with session_for(ctx, db, create=True) as session, _progress(show_progress) as progress:
        try:
            summary = import_files(
                session=session,
                paths=files,
                format=format,
                source=source,
                mapping=map_,
                encoding=encoding,
                timezone=timezone,
                rejects=rejects,
                strict=strict,
                on_mapping=on_mapping,
                progress=progress,
            )
        except KeyboardInterrupt:
            console.print(
                "stopped by user: the batches committed so far are kept (a large first import keeps nothing); "
                "run the same command again to finish — nothing will be duplicated"
            )
            raise typer.Exit(130) from None
    if json_:
        print_json(_summary_json(summary))
    else:
        _show_summary(summary)
    if not summary.clean:
        raise typer.Exit(EXIT_REJECTS)


def _show_mapping(console: Any, path: str, mapping: "Mapping", enc: "Encoding") -> None:
    from rich.table import Table

    if not mapping.guessed:
        return
    table = Table(title=f"{terminal_safe(path)} ({enc.label}): columns → ticket fields", title_justify="left")
    table.add_column("field")
    table.add_column("column")
    table.add_column("")
    for name, column, guessed in mapping.rows():
        table.add_row(name, terminal_safe(column), "guessed" if guessed else "--map")
    console.print(table)
    if mapping.unmapped:
        console.print(f"kept in raw (not mapped): {unmapped_summary(mapping.unmapped)}")
    console.print("[dim]Not right? Name columns with --map FIELD=COLUMN or --map mapping.yaml.[/]")


MAX_NAMED_COLUMNS = 20


def unmapped_summary(columns: list[str]) -> str:
    """The unmapped columns by name, the first :data:`MAX_NAMED_COLUMNS` of them and a count of the rest."""
    shown = ", ".join(terminal_safe(shorten(c, 60)) for c in columns[:MAX_NAMED_COLUMNS])
    rest = len(columns) - MAX_NAMED_COLUMNS
    return shown + (f" … and {rest:,} more" if rest > 0 else "")


class _progress:
    """A Rich progress bar with records/second on stderr (only on a terminal, never under CI)."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.bar: Any = None
        self.tasks: dict[str, Any] = {}

    def __enter__(self) -> Any:
        if not self.enabled:
            return None
        from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn

        self.bar = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TaskProgressColumn(),
            TextColumn("{task.fields[records]:,} records, {task.fields[rate]:,.0f}/s"),
            TimeRemainingColumn(),
            console=err(),
            transient=False,
        )
        self.bar.start()
        return self.update

    def update(self, path: str, done: int, total: int, records: int) -> None:
        task = self.tasks.get(path)
        if task is None:
            task = self.bar.add_task(terminal_safe(Path(path).name), total=max(total, 1), records=0, rate=0.0)
            self.tasks[path] = task
        elapsed = self.bar.tasks[task].elapsed or 0.0
        rate = records / elapsed if elapsed > 0 else 0.0
        self.bar.update(task, completed=min(done, total), records=records, rate=rate)

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()


def _summary_json(summary: "ImportSummary") -> dict[str, Any]:
    return {
        "files": [
            {
                "path": f.path,
                "format": f.format,
                "source": f.source,
                "encoding": f.encoding,
                "records": f.rows_read,
                "new": f.created,
                "updated": f.updated,
                "unchanged": f.unchanged,
                "rejected": f.rejected,
                "skipped": f.skipped,
                "import_id": f.import_id,
                "mapping": {name: column for name, column, _ in f.mapping},
                "seconds": round(f.seconds, 3),
                "method": f.method,
                "note": f.note,
            }
            for f in summary.files
        ],
        "new": summary.total("created"),
        "updated": summary.total("updated"),
        "unchanged": summary.total("unchanged"),
        "rejected": summary.rejected,
        "rejects_file": summary.rejects_path,
    }


def _show_summary(summary: "ImportSummary") -> None:
    from rich.table import Table

    table = Table(title="Import", title_justify="left")
    for name in ("file", "format", "source", "records", "new", "updated", "unchanged", "rejected"):
        if name == "file":
            table.add_column(name, overflow="fold")
        else:
            table.add_column(name, justify="left" if name in ("format", "source") else "right", no_wrap=True)
    for f in summary.files:
        records = f"{f.rows_read:,}" + (f" ({f.skipped:,} skipped)" if f.skipped else "")
        table.add_row(
            terminal_safe(f.path),
            f.format,
            terminal_safe(f.source),
            records,
            f"{f.created:,}",
            f"{f.updated:,}",
            f"{f.unchanged:,}",
            f"{f.rejected:,}",
        )
    console = out()
    console.print(table)
    for f in summary.files:
        if f.note:
            err().print(f"{terminal_safe(Path(f.path).name)}: read record by record ({terminal_safe(f.note)})")
    if summary.rejects_path:
        err().print(
            f"{summary.rejected:,} record(s) rejected, kept with line numbers and reasons in {terminal_safe(summary.rejects_path)}"
        )
        for problem in summary.problems[:5]:
            err().print(f"  {terminal_safe(str(problem))}")


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root app."""
    app.command("import")(import_command)
