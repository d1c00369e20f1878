"""``butterfly export reviews|actions``: stream reviews and action items to JSON Lines, CSV or JSON."""

from typing import TYPE_CHECKING, Annotated

import typer

from butterfly.cli._common import DbOption, err, session_for
from butterfly.sanitise import terminal_safe

if TYPE_CHECKING:
    from butterfly.periods import Period

export_app = typer.Typer(
    help="Export reviews and action items for warehouses and spreadsheets (streamed).", no_args_is_help=True
)

SinceOption = Annotated[
    str | None,
    typer.Option("--since", help="From this time: YYYY-MM-DD, ISO date-time, or 7d / 12h ago.", show_default=False),
]
UntilOption = Annotated[
    str | None,
    typer.Option(
        "--until",
        help="Up to this time (a bare date includes that whole day; 9999-12-31: no end).",
        show_default=False,
    ),
]
WeekOption = Annotated[
    str | None, typer.Option("--week", help="An ISO week (2026-W47), 'last' or 'this'.", show_default=False)
]
FormatOption = Annotated[str, typer.Option("--format", "-f", help="jsonl, csv or json.")]
OutputOption = Annotated[
    str, typer.Option("--output", "-o", help="File to write (0600, replaced atomically); '-' for stdout.")
]
RedactOption = Annotated[
    bool, typer.Option("--redact", help="Mask e-mail addresses, phone numbers and customer names.")
]


def _period(since: str | None, until: str | None, week: str | None) -> "Period":
    from butterfly.periods import resolve_period

    return resolve_period(since=since, until=until, week=week)


def _done(n: int, output: str) -> None:
    where = "stdout" if output == "-" else output
    err().print(f"exported {n} record{'s' if n != 1 else ''} to {terminal_safe(where)}")


@export_app.command("reviews")
def reviews(
    ctx: typer.Context,
    since: SinceOption = None,
    until: UntilOption = None,
    week: WeekOption = None,
    fmt: FormatOption = "jsonl",
    per: Annotated[str, typer.Option("--per", help="One record per 'answer' or per 'review'.")] = "answer",
    redact: RedactOption = False,
    output: OutputOption = "-",
    db: DbOption = None,
) -> None:
    """Export reviews: one record per answer (default) or per review, with ticket, customer, reviewer,
    checklist id and version and timestamps. --since/--until select reviews changed in that time.

    Example: butterfly export reviews --since 1d --format jsonl --redact -o reviews.jsonl
    """
    import sys

    from butterfly.exports import (
        ANSWER_FIELDS,
        REVIEW_FIELDS,
        check_format,
        iter_review_records,
        review_question_columns,
        write_records,
    )
    from butterfly.files import check_output, open_output

    check_format(fmt, per)
    check_output(output)
    period = _period(since, until, week)
    with session_for(ctx, db) as session:
        columns = None
        if per == "review" and fmt == "csv":
            columns = review_question_columns(session, since=period.since, until=period.until)
        records = iter_review_records(session, since=period.since, until=period.until, per=per, redact=redact)
        fields = ANSWER_FIELDS if per == "answer" else REVIEW_FIELDS
        with open_output(output, stdout=sys.stdout) as stream:
            n = write_records(records, stream, fmt=fmt, fields=fields, answer_columns=columns)
    _done(n, output)


@export_app.command("actions")
def actions(
    ctx: typer.Context,
    since: SinceOption = None,
    until: UntilOption = None,
    week: WeekOption = None,
    status: Annotated[
        str | None, typer.Option("--status", help="Only 'open' or 'done' items.", show_default=False)
    ] = None,
    fmt: FormatOption = "jsonl",
    redact: RedactOption = False,
    output: OutputOption = "-",
    db: DbOption = None,
) -> None:
    """Export action items (created or done in the period), with their ticket, review and checklist.

    Example: butterfly export actions --status open --format csv -o actions.csv
    """
    import sys

    from butterfly.errors import InvalidInputError
    from butterfly.exports import ACTION_FIELDS, check_format, iter_action_records, write_records
    from butterfly.files import check_output, open_output

    check_format(fmt)
    check_output(output)
    if status not in (None, "open", "done"):
        raise InvalidInputError(f"unknown --status '{status}'", hint="use open or done")
    period = _period(since, until, week)
    with session_for(ctx, db) as session:
        records = iter_action_records(session, since=period.since, until=period.until, status=status, redact=redact)
        with open_output(output, stdout=sys.stdout) as stream:
            n = write_records(records, stream, fmt=fmt, fields=ACTION_FIELDS)
    _done(n, output)


def register(app: typer.Typer) -> None:
    """Add ``butterfly export …`` to the root app."""
    app.add_typer(export_app, name="export")
