"""``butterfly import FILE…``: tickets from CSV/JSON exports and native helpdesk exports."""

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from butterfly.cli._common import DbOption, JsonOption, ci_mode, err, language, out, print_json
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
        bool,
        typer.Option(
            "--strict", help="Import nothing if any record would be rejected or an id repeats in a file (exit 2)."
        ),
    ] = False,
    day_first: Annotated[
        bool, typer.Option("--day-first", help="Dates like 3/4/2016 are 3 April (every date column).")
    ] = False,
    month_first: Annotated[
        bool, typer.Option("--month-first", help="Dates like 3/4/2016 are 4 March (every date column).")
    ] = False,
    date_format: Annotated[
        str | None,
        typer.Option(
            "--date-format",
            help="strptime format of every date column, e.g. '%d/%m/%Y %H:%M' (ISO 8601 is always read).",
            show_default=False,
        ),
    ] = None,
    delimiter: Annotated[
        str | None,
        typer.Option("--delimiter", help="CSV delimiter: , ; | or tab (default: sniffed).", show_default=False),
    ] = None,
    id_from_row: Annotated[
        bool,
        typer.Option(
            "--id-from-row",
            help="The file has no id column: make each ticket's id from its line number and content "
            "(row<LINE>-<hash>; a changed or moved record becomes a new ticket).",
        ),
    ] = False,
    messages: Annotated[
        list[Path] | None,
        typer.Option(
            "--messages",
            help="Conversations of these tickets in a file of their own (repeatable): a CSV with ticket_id, "
            "time, role, text (optional author, public), GitHub issue comments (JSON) or Zendesk ticket events "
            "(JSON). See docs/import.md.",
            show_default=False,
        ),
    ] = None,
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
    lang = language(None)

    def on_mapping(path: str, mapping: "Mapping", enc: "Encoding") -> None:
        _show_mapping(console, path, mapping, enc, lang)

    if day_first and month_first:
        console.print("Error: " + _t("day_month_both", lang))
        raise typer.Exit(2)
    date_order = "dmy" if day_first else "mdy" if month_first else None
    with session_for(ctx, db, create=True, lang=lang) as session, _progress(show_progress, lang) as bar:
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
                progress=bar.update if bar is not None else None,
                on_indexes=bar.indexes if bar is not None else None,
                date_order=date_order,
                date_format=date_format,
                delimiter=delimiter,
                id_from_row=id_from_row,
                messages=list(messages or []),
            )
        except KeyboardInterrupt:
            console.print(_t("stopped", lang))
            raise typer.Exit(130) from None
    if json_:
        print_json(_summary_json(summary))
    else:
        _show_summary(summary, lang)
    if not summary.clean:
        raise typer.Exit(EXIT_REJECTS)


def _t(key: str, lang: str, **values: object) -> str:
    """A text of ``butterfly/data/import_texts.yaml`` in ``lang``."""
    from butterfly.labels import text

    return text("import_texts.yaml", key, lang, **values)


def _show_mapping(console: Any, path: str, mapping: "Mapping", enc: "Encoding", lang: str) -> None:
    from rich.table import Table

    special_dates = {f: d for f, d in mapping.dates.items() if not d.startswith("ISO 8601")}
    if not (mapping.guessed or special_dates or mapping.id_from_row or mapping.status_note):
        return
    table = Table(title=_t("mapping.title", lang, path=terminal_safe(path), encoding=enc.label), title_justify="left")
    table.add_column(_t("mapping.field", lang))
    table.add_column(_t("mapping.column", lang))
    table.add_column("")
    for name, column, guessed in mapping.rows():
        if name == "id" and mapping.id_from_row:
            table.add_row(name, _t("mapping.none", lang), _t("mapping.row_id", lang))
            continue
        how = _t("mapping.guessed", lang) if guessed else "--map"
        if name in special_dates:
            how += "; " + terminal_safe(special_dates[name])
        table.add_row(name, terminal_safe(column), how)
    console.print(table)
    if mapping.status_note:
        console.print(_status_note(mapping, lang))
    if mapping.unmapped:
        console.print(_t("mapping.unmapped", lang, columns=unmapped_summary(mapping.unmapped, lang)))
    console.print("[dim]" + _t("mapping.not_right", lang) + "[/]")


MAX_NAMED_COLUMNS = 20


def _status_note(mapping: "Mapping", lang: str) -> str:
    """``Mapping.status_note`` (how statuses are set when no column gives them) in ``lang``: by a close or resolve
    time when a column gives one, else every ticket open."""
    times = any(f in mapping.columns for f in ("closed", "resolved"))
    return _t("mapping.status_from_times" if times else "mapping.status_open", lang)


def unmapped_summary(columns: list[str], lang: str = "en") -> str:
    """The unmapped columns by name, the first :data:`MAX_NAMED_COLUMNS` of them and a count of the rest."""
    shown = ", ".join(terminal_safe(shorten(c, 60)) for c in columns[:MAX_NAMED_COLUMNS])
    rest = len(columns) - MAX_NAMED_COLUMNS
    return shown + (" " + _t("mapping.more", lang, n=rest) if rest > 0 else "")


class _progress:
    """A Rich progress bar with records/second on stderr (only on a terminal, never under CI), in ``lang``; it says
    when a first load builds its indexes after the last record (the bar would otherwise sit at 100%)."""

    def __init__(self, enabled: bool, lang: str) -> None:
        self.enabled = enabled
        self.lang = lang
        self.bar: Any = None
        self.tasks: dict[str, Any] = {}

    def __enter__(self) -> "_progress | None":
        if not self.enabled:
            return None
        from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn

        self.bar = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TaskProgressColumn(),
            TextColumn("{task.fields[counts]}"),
            TimeRemainingColumn(),
            console=err(),
            transient=False,
        )
        self.bar.start()
        return self

    def _task(self, path: str, total: int) -> Any:
        task = self.tasks.get(path)
        if task is None:
            task = self.bar.add_task(terminal_safe(Path(path).name), total=max(total, 1), counts="")
            self.tasks[path] = task
        return task

    def update(self, path: str, done: int, total: int, records: int) -> None:
        task = self._task(path, total)
        elapsed = self.bar.tasks[task].elapsed or 0.0
        rate = records / elapsed if elapsed > 0 else 0.0
        counts = _t("progress.counts", self.lang, records=records, rate=rate)
        self.bar.update(task, completed=min(done, total), counts=counts)

    def indexes(self, path: str) -> None:
        task = self._task(path, 1)
        name = terminal_safe(Path(path).name)
        self.bar.update(task, description=_t("progress.indexes", self.lang, file=name))

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
                "skipped_reasons": f.skipped_reasons,
                "duplicates": f.duplicates,
                "duplicate_ids": f.duplicate_ids,
                "marked_deleted": f.marked_deleted,
                "threads": f.threads,
                "messages": f.messages,
                "timelines": f.timelines,
                "messages_over_cap": f.messages_over_cap,
                "capped_tickets": f.capped_tickets,
                "capped_ticket_count": f.capped_ticket_count,
                "rekeyed": f.rekeyed,
                "dates": f.dates,
                "id_from_row": f.id_from_row,
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
        "duplicates": summary.total("duplicates"),
        "skipped": summary.total("skipped"),
        "rejects_file": summary.rejects_path,
    }


def _show_summary(summary: "ImportSummary", lang: str) -> None:
    """One table of every file's counts; on a terminal too narrow for it (a million records in an 80-column
    terminal), a short table per file, so that no count is cut to an ellipsis."""
    from rich.cells import cell_len
    from rich.table import Table
    from rich.text import Text

    columns = ("file", "format", "source", "records", "new", "updated", "unchanged", "duplicate", "skipped", "rejected")
    headings = [_t(f"summary.{name}", lang) for name in columns]
    rows = [
        [
            terminal_safe(f.path),
            f.format,
            terminal_safe(f.source),
            *(f"{n:,}" for n in (f.rows_read, f.created, f.updated, f.unchanged, f.duplicates, f.skipped, f.rejected)),
        ]
        for f in summary.files
    ]
    console = out()
    # every column at its widest cell, each with a space either side and a border: what the table needs uncut
    # (a path folds onto several lines: its column needs the file's name only)
    cells = [[terminal_safe(Path(f.path).name), *r[1:]] for f, r in zip(summary.files, rows, strict=True)]
    needed = 1 + sum(3 + max(cell_len(text) for text in [h, *(r[i] for r in cells)]) for i, h in enumerate(headings))
    if needed <= console.width:
        table = Table(title=_t("summary.title", lang), title_justify="left")
        for name, heading in zip(columns, headings, strict=True):
            if name == "file":
                table.add_column(heading, overflow="fold")
            else:
                table.add_column(heading, justify="left" if name in ("format", "source") else "right", no_wrap=True)
        for row in rows:
            table.add_row(*row)
        console.print(table)
    else:
        for row in rows:
            console.print(Text(_t("summary.of_file", lang, file=row[0]), overflow="fold"))
            table = Table(show_header=False)
            table.add_column(overflow="fold")
            table.add_column(justify="right", no_wrap=True)
            for heading, value in zip(headings[1:], row[1:], strict=True):
                table.add_row(heading, value)
            console.print(table)
    for f in summary.files:
        name = terminal_safe(Path(f.path).name)
        if f.duplicates:
            ids = ", ".join(terminal_safe(i) for i in f.duplicate_ids)
            if ids:
                err().print(_t("line.duplicates_ids", lang, file=name, n=f.duplicates, ids=ids))
            else:
                err().print(_t("line.duplicates", lang, file=name, n=f.duplicates))
        for reason, n in f.skipped_reasons.items():
            err().print(_t("line.skipped", lang, file=name, n=n, reason=terminal_safe(reason)))
        if f.rekeyed:
            err().print(_t("line.rekeyed", lang, file=name, n=f.rekeyed))
        if f.marked_deleted:
            err().print(_t("line.marked_deleted", lang, file=name, n=f.marked_deleted))
        if f.id_from_row:
            err().print(_t("line.id_from_row", lang, file=name))
        if f.threads:
            err().print(_t("line.threads", lang, file=name, n=f.threads, messages=f.messages))
        if f.messages_over_cap:
            from butterfly.importers.threads import MAX_MESSAGES as MAX_THREAD

            listed = ", ".join(f"{terminal_safe(t)} ({n:,})" for t, n in f.capped_tickets.items())
            more = f.capped_ticket_count - len(f.capped_tickets)
            err().print(
                _t(
                    "line.over_cap",
                    lang,
                    file=name,
                    n=f.messages_over_cap,
                    cap=MAX_THREAD,
                    tickets=f.capped_ticket_count,
                )
                + " "
                + listed
                + (_t("line.over_cap_more", lang, n=more) if more > 0 else "")
            )
        if f.timelines:
            err().print(_t("line.timelines", lang, file=name, n=f.timelines))
        if f.note:
            err().print(_t("line.note", lang, file=name, note=terminal_safe(f.note)))
    if summary.rejects_path:
        err().print(_t("line.rejected", lang, n=summary.rejected, path=terminal_safe(summary.rejects_path)))
        for problem in summary.problems[:5]:
            err().print(f"  {terminal_safe(str(problem))}")


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root app."""
    app.command("import")(import_command)
