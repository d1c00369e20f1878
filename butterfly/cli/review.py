"""``butterfly review TICKET`` (the guided walk, or ``--answers FILE``) and ``butterfly reviews …``."""

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from butterfly.cli._common import (
    DbOption,
    JsonOption,
    LangOption,
    ci_mode,
    err,
    language,
    out,
    print_json,
    reviewer_name,
)
from butterfly.cli.reviews import reviews_app
from butterfly.sanitise import terminal_safe

if TYPE_CHECKING:
    from sqlmodel import Session


ReviewerOption = Annotated[
    str | None,
    typer.Option("--reviewer", help="Your reviewer name (default: settings, then the OS user).", show_default=False),
]
ChecklistOption = Annotated[
    str | None,
    typer.Option(
        "--checklist", help="A checklist file (YAML/JSON) or shipped id; default: settings, then 'butterfly'."
    ),
]


def _session(ctx: typer.Context, db: str | None, *, create: bool = False, lang: str | None = None) -> Any:
    from butterfly.cli._common import session_for

    return session_for(ctx, db, create=create, lang=lang)


def review(
    ctx: typer.Context,
    ticket: Annotated[str | None, typer.Argument(help="Ticket id, SOURCE:ID or #row.", show_default=False)] = None,
    reviewer: ReviewerOption = None,
    lang: LangOption = None,
    checklist: ChecklistOption = None,
    lens: Annotated[
        list[str] | None, typer.Option("--lens", help="Append a lens's questions after the six cells (repeatable).")
    ] = None,
    answers: Annotated[
        Path | None,
        typer.Option("--answers", help="Answers file (YAML/JSON keyed by question id): no prompts.", dir_okay=False),
    ] = None,
    complete: Annotated[
        bool,
        typer.Option(
            "--complete", help="With --answers: mark the review complete (refused while required answers miss)."
        ),
    ] = False,
    allow_gaps: Annotated[
        bool,
        typer.Option(
            "--allow-gaps", help="Let the review be marked complete with required questions unanswered (recorded)."
        ),
    ] = False,
    deep: Annotated[
        bool,
        typer.Option("--deep", help="Ask every question (the default walk asks the essential ones and follow-ups)."),
    ] = False,
    next_: Annotated[
        bool,
        typer.Option(
            "--next",
            help="Open your open draft, else the unreviewed closed ticket with the most to learn from (and say why).",
        ),
    ] = False,
    customer: Annotated[str | None, typer.Option("--customer", help="With --next: only this customer.")] = None,
    category: Annotated[str | None, typer.Option("--category", help="With --next: only this category.")] = None,
    allow_open: Annotated[bool, typer.Option("--allow-open", help="Review a ticket that is not closed yet.")] = False,
    force_prompt: Annotated[
        bool,
        typer.Option(
            "--interactive", help="Prompt even when stdin is not a terminal (answers piped in, line by line)."
        ),
    ] = False,
    as_json: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Review a closed ticket with the butterfly check: context, then the six cells, saved as you go.

    Keys during the walk: ? help, Enter keep/skip, s skip, b back, j jump to a cell, c the ticket again,
    d deep walk, x whole cell N/A, na not applicable, a action item, e editor, q quit; at a rating, "1 2 - 1"
    answers the cell's ratings in one line. Run it again to resume where you stopped, in the review's language.

    Example: butterfly review T-1042 --lang zh-CN
    """
    from butterfly.cli._common import gc_paused

    with gc_paused():  # until the first question is on the screen (cli/walk_ui.py resumes it there)
        from butterfly.checklist.model import resolve_checklist
        from butterfly.errors import InvalidInputError
        from butterfly.settings import get_settings
        from butterfly.tickets import get_ticket

        if not ticket and not next_:
            raise InvalidInputError(
                "name the ticket to review", hint="butterfly review TICKET, or butterfly review --next"
            )
        if ticket and next_:
            raise InvalidInputError("give either a TICKET or --next, not both")
        settings = get_settings()
        name = reviewer_name(reviewer)
        # a team's lens file is kept by its absolute path, so reports made from another folder still find it
        lens = [str(Path(n).resolve()) if Path(n).is_file() else n for n in lens or []]
        with _session(ctx, db, create=True, lang=lang) as session:
            if next_:
                from butterfly.labels import ui
                from butterfly.review.queue import describe, next_pick

                pick = next_pick(session=session, reviewer=name, customer=customer, category=category)
                t = pick.ticket
                why = describe(pick, language(lang))
                err().print(
                    terminal_safe(ui("queue.next", language(lang), reviewer=name, ticket=t.external_id, why=why)),
                    soft_wrap=True,
                )
            else:
                assert ticket is not None
                t = get_ticket(session=session, ref=ticket)
            ref = ticket if ticket and not ticket.startswith("#") else t.external_id
            cl = resolve_checklist(
                checklist or settings.checklist, _review_language(session, t, name, lang), kind="butterfly"
            )
            if answers is not None:
                _apply(session, answers, t, name, cl, lens or [], allow_open, (complete, allow_gaps), ref, as_json)
                return
            tty = sys.stdin.isatty() and sys.stdout.isatty() and not ci_mode()
            if not (tty or force_prompt):  # checked after the ticket: a mistyped ticket says so first
                raise InvalidInputError(
                    "the review walk asks questions, but this is not an interactive terminal"
                    + (" (CI=true)" if ci_mode() else ""),
                    hint="pass --answers FILE to answer from a YAML/JSON file, or run it in a terminal",
                )
            from butterfly.cli.walk_ui import TerminalIO
            from butterfly.review.walk import run_review_walk

            console = out()
            run_review_walk(
                session=session,
                io=TerminalIO(console),
                ticket=t,
                reviewer=name,
                checklist=cl,
                lenses=lens or [],
                allow_open=allow_open,
                ref=ref,
                deep=deep,
                allow_gaps=allow_gaps,
                hint_args=hint_args(ctx, db, reviewer, lang),
            )


def _review_language(session: "Session", ticket: Any, reviewer: str, lang: str | None) -> str:
    """``--lang``; without it, the language the reviewer's review of this ticket was started in; then settings."""
    if lang:
        return language(lang)
    from butterfly.review.lifecycle import get_review

    existing = get_review(session=session, ticket_id=ticket.id, reviewer=reviewer)
    return existing.language if existing is not None else language(None)


def hint_args(ctx: typer.Context, db: str | None, reviewer: str | None, lang: str | None) -> str:
    """The ``--db``, ``--reviewer`` and ``--lang`` given to this command, for the commands the walk prints."""
    import shlex

    root = ctx.find_root()
    db_given = db or (root.obj.get("db") if isinstance(root.obj, dict) else None)
    parts: list[str] = []
    if db_given:
        from butterfly.store.db import sqlite_path
        from butterfly.urls import redact_url

        path = sqlite_path(db_given) if "://" in db_given else None
        parts += ["--db", str(path) if path is not None else redact_url(db_given)]
    if reviewer:
        parts += ["--reviewer", reviewer]
    if lang:
        parts += ["--lang", lang]
    return " ".join(shlex.quote(x) for x in parts)


def _apply(
    session: "Session",
    path: Path,
    ticket: Any,
    reviewer: str,
    checklist: Any,
    lenses: list[str],
    allow_open: bool,
    completion: tuple[bool, bool],
    ref: str,
    as_json: bool,
) -> None:
    from butterfly.review.answers_file import apply_answers_file
    from butterfly.review.guards import finding_note, finding_title
    from butterfly.review.queries import review_detail

    result = apply_answers_file(
        session=session,
        path=path,
        ticket=ticket,
        reviewer=reviewer,
        checklist=checklist,
        lenses=lenses,
        allow_open=allow_open,
        complete=completion[0],
        allow_gaps=completion[1],
    )
    if as_json:
        data = review_detail(session=session, review=result.review, checklist=checklist).as_dict()
        data["saved"] = result.saved
        data["unchanged"] = result.unchanged
        print_json(data)
        return
    from butterfly.labels import ui

    lng = checklist.language
    status = ui(f"sum.status.{result.review.status}", lng) if result.review.status in ("draft", "complete") else ""
    console = out()
    applied = ui(
        "file.applied",
        lng,
        path=path,
        saved=len(result.saved),
        unchanged=len(result.unchanged),
        actions=len(result.actions),
        ticket=ticket.external_id,
        reviewer=reviewer,
        status=status or result.review.status,
    )
    console.print(terminal_safe(applied))
    for f in result.findings:
        title, note = finding_title(f.kind, lng), finding_note(f, lng)
        console.print(terminal_safe(ui("file.finding", lng, title=title, qid=f.question_id, note=note)))
    if result.publication.status.value == "not_for_publication":
        console.print(terminal_safe(ui("file.not_for_publication", lng)))
    console.print(terminal_safe(ui("report", lng, command=f"butterfly report ticket {ref}")))


# -- reviews ---------------------------------------------------------------------------------------------------


def register(app: typer.Typer) -> None:
    """Add ``review`` and the ``reviews`` group to the root app."""
    app.command("review")(review)
    app.add_typer(reviews_app, name="reviews")
