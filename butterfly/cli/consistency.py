"""``butterfly report consistency``: resolution times, review scores and experience levels across groups."""

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from butterfly.cli._common import DbOption, FormatOption, LangOption, emit, language, report_format


class By(StrEnum):
    assignee = "assignee"
    group = "group"
    channel = "channel"
    source = "source"


def consistency_command(
    ctx: typer.Context,
    by: Annotated[By, typer.Option("--by", help="Compare tickets grouped by this field.")] = By.group,
    weeks: Annotated[int, typer.Option("--weeks", help="How many weeks back from --until.", min=1, max=520)] = 8,
    until: Annotated[
        str | None,
        typer.Option(
            "--until",
            help="Last day of the period, YYYY-MM-DD in the configured timezone (default: now).",
            show_default=False,
        ),
    ] = None,
    min_tickets: Annotated[
        int, typer.Option("--min-tickets", help="Tickets with a resolution time a group needs to be compared.", min=1)
    ] = 10,
    min_reviews: Annotated[
        int,
        typer.Option("--min-reviews", help="Completed reviews a group needs to be compared on scores/levels.", min=1),
    ] = 5,
    fmt: FormatOption = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "-o", "--output", help="Write the report to this file (mode 0600) instead of stdout.", dir_okay=False
        ),
    ] = None,
    templates: Annotated[
        Path | None,
        typer.Option("--templates", help="Folder of templates overriding the built-in ones.", file_okay=False),
    ] = None,
    lang: LangOption = None,
    db: DbOption = None,
) -> None:
    """Compare groups (assignee, group, channel or source) on resolution time, review cell scores and experience
    levels over the last N weeks; flag groups far from the rest, only when they have enough tickets to mean
    something (counts are always shown).

    Example: butterfly report consistency --by group --weeks 8 --format html -o consistency.html
    """

    from butterfly.cli._common import session_for
    from butterfly.files import check_output
    from butterfly.reports.consistency import consistency, render_consistency, until_end
    from butterfly.settings import get_settings

    check_output(output)
    settings = get_settings()
    lang_ = language(lang)
    end = until_end(until, settings.timezone) if until else None
    with session_for(ctx, db) as session:
        report = consistency(
            session=session,
            by=by.value,
            weeks=weeks,
            end=end,
            min_tickets=min_tickets,
            min_reviews=min_reviews,
            language=lang_,
        )
    text = render_consistency(
        report, fmt=report_format(fmt, output), tz=settings.timezone, user_templates=templates or settings.templates
    )
    emit(text, output)
