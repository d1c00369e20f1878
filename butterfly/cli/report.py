"""``butterfly report …``: the per-ticket retrospective and the weekly recurring-issue report."""

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from butterfly.cli._common import DbOption, FormatOption, LangOption, emit, language, report_format, session_for

report_app = typer.Typer(help="Retrospective of one ticket; weekly recurring-issue report.", no_args_is_help=True)


class SimilarityEngine(StrEnum):
    tfidf = "tfidf"
    embeddings = "embeddings"


SimilarityOption = Annotated[
    SimilarityEngine | None,
    typer.Option(
        "--similarity",
        help="How ticket texts are compared: tfidf (character n-grams), or embeddings (English text by a sentence-"
        "embedding model, CJK text by tfidf; needs the butterfly-check\\[embeddings] extra). Default: the "
        "\\[similarity] engine setting, else tfidf.",
        show_default=False,
    ),
]


class Grouping(StrEnum):
    tfidf = "tfidf"
    hybrid = "hybrid"
    text = "text"
    category = "category"
    subject = "subject"


OutputOption = Annotated[
    Path | None,
    typer.Option("--output", "-o", help="Write to this file (created 0600, replaced atomically); default: stdout."),
]
TemplatesOption = Annotated[
    Path | None,
    typer.Option(
        "--templates",
        help="Folder of your own templates (ticket.html, weekly.md, …) used before the built-in ones; "
        'a template can {% extends "default:ticket.html" %} and override single blocks.',
        show_default=False,
    ),
]


def _templates(templates: Path | None) -> Path | None:
    from butterfly.settings import get_settings

    return templates if templates is not None else get_settings().templates


def _team_checklist(lang: str):  # type: ignore[no-untyped-def]
    from butterfly.checklist.model import resolve_checklist
    from butterfly.settings import get_settings

    spec = get_settings().checklist
    return resolve_checklist(spec, lang, kind="butterfly") if spec else None


@report_app.command("ticket")
def ticket(
    ctx: typer.Context,
    ticket_ref: Annotated[str, typer.Argument(metavar="TICKET", help="External id, SOURCE:ID or #row-id.")],
    fmt: FormatOption = None,
    lang: LangOption = None,
    output: OutputOption = None,
    reviewer: Annotated[
        list[str] | None, typer.Option("--reviewer", help="Only this reviewer's review (repeatable; default: all).")
    ] = None,
    templates: TemplatesOption = None,
    thread: Annotated[
        bool, typer.Option("--thread", help="Include the whole conversation (default: its facts and key moments).")
    ] = False,
    redact: Annotated[
        bool,
        typer.Option(
            "--redact",
            help="Mask the customer's name, e-mail addresses and phone numbers, message text and author names.",
        ),
    ] = False,
    similarity: SimilarityOption = None,
    db: DbOption = None,
) -> None:
    """Retrospective of one ticket: facts, timeline, the conversation's facts and key moments (as the reviewer saw
    them), the butterfly figure, the six cells side by side for every reviewer, findings, action items and similar
    tickets at other customers.

    Example: butterfly report ticket T-1001 --format html -o T-1001.html
    """
    from butterfly.labels import labels
    from butterfly.reports.rendering import render_report
    from butterfly.reports.ticket_report import build_ticket_report
    from butterfly.settings import get_settings
    from butterfly.tickets import get_ticket

    lang_ = language(lang)
    tz = get_settings().timezone
    texts = labels(lang_)
    kind = report_format(fmt, output)
    with session_for(ctx, db) as session:
        found = get_ticket(session=session, ref=ticket_ref)
        data = build_ticket_report(
            session=session,
            ticket=found,
            lang=lang_,
            labels=texts,
            reviewers=reviewer,
            checklist=_team_checklist(lang_),
            tz=tz,
            thread=thread,
            redact=redact,
            similarity=similarity.value if similarity else None,
        )
    text = render_report(
        "ticket", data, fmt=kind, labels=texts, lang=lang_, tz=tz, user_templates=_templates(templates)
    )
    emit(text, output)


@report_app.command("weekly")
def weekly(
    ctx: typer.Context,
    week: Annotated[
        str | None,
        typer.Option("--week", help="ISO week (2026-W47), 'last' or 'this' (default: last, the last complete week)."),
    ] = None,
    weeks_back: Annotated[
        int, typer.Option("--weeks-back", min=1, max=104, help="Weeks of history for trends and first-seen.")
    ] = 8,
    fmt: FormatOption = None,
    lang: LangOption = None,
    output: OutputOption = None,
    templates: TemplatesOption = None,
    grouping: Annotated[
        Grouping,
        typer.Option(
            "--grouping",
            help="How tickets form a problem: what customers write, split by category (tfidf); category/tags or "
            "near-duplicate text (hybrid); near-duplicate text only; category only; or exact subject.",
        ),
    ] = Grouping.tfidf,
    consistency_by: Annotated[
        str,
        typer.Option("--consistency-by", help="Consistency section: compare by assignee, group, channel or source."),
    ] = "group",
    top: Annotated[
        int, typer.Option("--top", help="List this many of each long list (the rest: appendix and JSON).")
    ] = 10,
    coverage_target: Annotated[
        float,
        typer.Option("--coverage-target", help="Review coverage the summary measures against (the gate's target)."),
    ] = 0.8,
    similarity: SimilarityOption = None,
    db: DbOption = None,
) -> None:
    """Weekly report, opening with a summary a manager reads in two minutes: recurring problems at two or more customers (with trend, action items and outreach
    candidates), silent customers, demand signals, review coverage, action items, findings and stories.

    Example: butterfly report weekly --week 2026-W47 --format html -o week47.html
    """
    from butterfly.clock import settings_clock
    from butterfly.labels import labels
    from butterfly.reports.rendering import render_report
    from butterfly.reports.weekly.build import build_weekly_report
    from butterfly.settings import get_settings

    lang_ = language(lang)
    tz = get_settings().timezone
    clock = settings_clock()
    texts = labels(lang_)
    kind = report_format(fmt, output)
    with session_for(ctx, db) as session:
        data = build_weekly_report(
            session=session,
            week=week,
            weeks_back=weeks_back,
            lang=lang_,
            tz=tz,
            checklist=_team_checklist(lang_),
            method=grouping.value,
            consistency_by=consistency_by,
            top=top,
            coverage_target=coverage_target,
            clock=clock,
            similarity=similarity.value if similarity else None,
        )
    text = render_report(
        "weekly", data, fmt=kind, labels=texts, lang=lang_, tz=tz, user_templates=_templates(templates)
    )
    emit(text, output)


from butterfly.cli.consistency import consistency_command  # noqa: E402

report_app.command("consistency")(consistency_command)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root app."""
    app.add_typer(report_app, name="report")
