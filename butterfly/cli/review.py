"""``butterfly review TICKET`` (the guided walk, or ``--answers FILE``) and ``butterfly reviews …``."""

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from butterfly.cli._common import DbOption, JsonOption, LangOption, ci_mode, err, language, out, print_json
from butterfly.sanitise import terminal_safe

if TYPE_CHECKING:
    from sqlmodel import Session

    from butterfly.store.models import Review

reviews_app = typer.Typer(help="List, show and reopen reviews; dismiss a finding.", no_args_is_help=True)

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


def _reviewer(name: str | None) -> str:
    from butterfly.settings import get_settings

    return (name or "").strip() or get_settings().effective_reviewer()


def _session(ctx: typer.Context, db: str | None, *, create: bool = False) -> Any:
    from butterfly.cli._common import session_for

    return session_for(ctx, db, create=create)


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
    from butterfly.checklist.model import resolve_checklist
    from butterfly.errors import InvalidInputError
    from butterfly.settings import get_settings
    from butterfly.tickets import get_ticket

    if not ticket and not next_:
        raise InvalidInputError("name the ticket to review", hint="butterfly review TICKET, or butterfly review --next")
    if ticket and next_:
        raise InvalidInputError("give either a TICKET or --next, not both")
    settings = get_settings()
    name = _reviewer(reviewer)
    # a team's lens file is kept by its absolute path, so reports made from another folder still find it
    lens = [str(Path(n).resolve()) if Path(n).is_file() else n for n in lens or []]
    with _session(ctx, db, create=True) as session:
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
    console = out()
    console.print(
        f"{terminal_safe(path)}: saved {len(result.saved)} answer(s), {len(result.unchanged)} unchanged, "
        f"{len(result.actions)} action item(s) — review of {terminal_safe(ticket.external_id)} by {terminal_safe(reviewer)} "
        f"({result.review.status})"
    )
    for f in result.findings:
        note = finding_note(f, checklist.language)
        console.print(
            f"  finding: {terminal_safe(finding_title(f.kind, checklist.language))} ({terminal_safe(f.question_id)}): "
            f"{terminal_safe(note)}"
        )
    if result.publication.status.value == "not_for_publication":
        console.print("  story: not for publication (no full consent)")
    console.print(f"Render the report: butterfly report ticket {terminal_safe(ref)}")


# -- reviews ---------------------------------------------------------------------------------------------------


@reviews_app.command("list")
def list_(
    ctx: typer.Context,
    status: Annotated[str | None, typer.Option("--status", help="draft or complete.")] = None,
    reviewer: Annotated[str | None, typer.Option("--reviewer", help="Only this reviewer's reviews.")] = None,
    as_json: JsonOption = False,
    db: DbOption = None,
) -> None:
    """List reviews, most recently changed first.

    Example: butterfly reviews list --status draft
    """
    from butterfly.review.queries import list_reviews

    with _session(ctx, db) as session:
        rows = list_reviews(session=session, status=status, reviewer=reviewer)
    if as_json:
        print_json([r.as_dict() for r in rows])
        return
    if not rows:
        err().print("no reviews yet; start one with: butterfly review TICKET")
        return
    from rich.table import Table

    table = Table(box=None, padding=(0, 2))
    for col in ("ticket", "reviewer", "status", "answered", "findings", "updated (UTC)", "subject"):
        table.add_column(col)
    for r in rows:
        total = f"/{r.questions}" if r.questions is not None else ""
        table.add_row(
            terminal_safe(r.ticket_ref),
            terminal_safe(r.review.reviewer),
            r.review.status,
            f"{r.answered}{total}",
            str(r.findings),
            r.review.updated_at.strftime("%Y-%m-%d %H:%M"),
            terminal_safe(r.subject or ""),
        )
    out().print(table)


def _find(session: "Session", ticket: str, reviewer: str | None) -> "Review":
    from butterfly.review.lifecycle import find_review
    from butterfly.tickets import get_ticket

    t = get_ticket(session=session, ref=ticket)
    return find_review(session=session, ticket=t, reviewer=reviewer, default_reviewer=_reviewer(None))


@reviews_app.command("show")
def show(
    ctx: typer.Context,
    ticket: Annotated[str, typer.Argument(help="Ticket id, SOURCE:ID or #row.")],
    reviewer: Annotated[
        str | None, typer.Option("--reviewer", help="Whose review (default: yours, or the only one).")
    ] = None,
    history: Annotated[bool, typer.Option("--history", help="Also list every change of every answer.")] = False,
    lang: LangOption = None,
    as_json: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Show one review: its answers cell by cell, scores, findings, action items (and --history).

    Example: butterfly reviews show T-1042 --history
    """
    from butterfly.review.queries import review_detail

    with _session(ctx, db) as session:
        review = _find(session, ticket, reviewer)
        detail = review_detail(session=session, review=review, lang=language(lang) if lang else None)
    if as_json:
        print_json(detail.as_dict())
        return
    _render_detail(detail, ticket, history)


def _render_detail(detail: Any, ref: str, history: bool) -> None:
    from rich.table import Table

    from butterfly.cli.walk_ui import render_summary, report_hint
    from butterfly.review.answers import display_value

    console = out()
    for cl in (detail.checklist, *detail.lenses):
        for cell in cl.cells:
            table = Table(
                title=terminal_safe(cell.title), title_justify="left", box=None, padding=(0, 2), show_header=False
            )
            table.add_column("question", ratio=3)
            table.add_column("answer", ratio=2)
            for q in cell.questions:
                a = detail.answers.get(q.id)
                shown = display_value(q, a.value, a.na, cl.scale, lang=cl.language) if a is not None else "[dim]—[/]"
                table.add_row(
                    f"{terminal_safe(q.text)} [dim]{q.id}[/]", terminal_safe(shown) if a is not None else shown
                )
            console.print(table)
    console.print(render_summary(detail, ref=ref))
    console.print(report_hint(detail, ref=ref), soft_wrap=True)
    if history:
        table = Table(title="history", title_justify="left", box=None, padding=(0, 2))
        for col in ("when (UTC)", "who", "question", "old", "new"):
            table.add_column(col)
        questions = {q.id: (q, cl) for cl in (detail.checklist, *detail.lenses) for q in cl.questions}

        def label(question_id: str, value: Any, na: bool | None) -> str:
            if na is None:
                return "—"  # no answer before this change
            found = questions.get(question_id)
            if found is None:  # a question no longer in the checklist: the stored value as it is
                return "N/A" if na else terminal_safe(value)
            q, cl = found
            return terminal_safe(display_value(q, value, na, cl.scale, lang=cl.language))

        for h in detail.history:
            old = label(h.question_id, h.old_value, h.old_na)
            new = label(h.question_id, h.new_value, h.new_na)
            table.add_row(
                h.changed_at.strftime("%Y-%m-%d %H:%M:%S"), terminal_safe(h.changed_by), h.question_id, old, new
            )
        console.print(table)
    else:
        console.print(f"[dim]{len(detail.history)} change(s) in the history (--history to list them)[/]")


@reviews_app.command("reopen")
def reopen(
    ctx: typer.Context,
    ticket: Annotated[str, typer.Argument(help="Ticket id, SOURCE:ID or #row.")],
    reviewer: Annotated[str | None, typer.Option("--reviewer", help="Whose review (default: yours).")] = None,
    db: DbOption = None,
) -> None:
    """Reopen a complete review as a draft so it can be edited (every change stays in the history).

    Example: butterfly reviews reopen T-1042
    """
    from butterfly.review.lifecycle import reopen_review

    with _session(ctx, db) as session:
        review = reopen_review(session=session, review=_find(session, ticket, reviewer))
    err().print(
        f"review of {terminal_safe(ticket)} by {terminal_safe(review.reviewer)} is a draft again: butterfly review {terminal_safe(ticket)}"
    )


@reviews_app.command("dismiss-finding")
def dismiss_finding_cmd(
    ctx: typer.Context,
    ticket: Annotated[str, typer.Argument(help="Ticket id, SOURCE:ID or #row.")],
    question: Annotated[str, typer.Argument(help="The question id the blame-wording finding is on.")],
    reviewer: Annotated[str | None, typer.Option("--reviewer", help="Whose review (default: yours).")] = None,
    by: Annotated[
        str | None, typer.Option("--by", help="Who dismisses it (default: your reviewer name).", show_default=False)
    ] = None,
    db: DbOption = None,
) -> None:
    """Dismiss a blame-wording finding as "not blame" (who and when are recorded; reports stop counting it).

    Example: butterfly reviews dismiss-finding T-1042 company.short.another_person
    """
    from butterfly.review.findings import dismiss_finding

    with _session(ctx, db) as session:
        found = dismiss_finding(
            session=session, review=_find(session, ticket, reviewer), question_id=question, by=_reviewer(by)
        )
        when = found.status_at.strftime("%Y-%m-%d %H:%M UTC") if found.status_at else ""
    err().print(
        f"blame-wording finding on {terminal_safe(question)} of {terminal_safe(ticket)} dismissed as not blame "
        f"by {terminal_safe(found.status_by or '')} ({when})"
    )


def register(app: typer.Typer) -> None:
    """Add ``review`` and the ``reviews`` group to the root app."""
    app.command("review")(review)
    app.add_typer(reviews_app, name="reviews")
