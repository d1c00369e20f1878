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
    by: Annotated[
        By,
        typer.Option(
            "--by", help="Compare tickets grouped by this field (by assignee: counts only, no flags, no ranking)."
        ),
    ] = By.group,
    weeks: Annotated[int, typer.Option("--weeks", help="How many weeks back from --until.", min=1, max=520)] = 8,
    until: Annotated[
        str | None,
        typer.Option(
            "--until",
            help="End of the period: a last day (YYYY-MM-DD, in the configured timezone), an ISO date-time or 7d / 12h "
            "ago (default and 9999-12-31: now).",
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
    something (counts are always shown). By assignee there are no flags and no ranking: the method asks "why did I
    choose this person?" rather than pinning a slip on one; group, channel and source give the verdicts.

    Example: butterfly report consistency --by group --weeks 8 --format html -o consistency.html
    """

    from butterfly.cli._common import session_for
    from butterfly.files import check_output
    from butterfly.periods import parse_instant
    from butterfly.reports.consistency import consistency, render_consistency
    from butterfly.settings import get_settings

    check_output(output)
    settings = get_settings()
    lang_ = language(lang)
    end = parse_instant(until, option="--until", end=True) if until else None
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
