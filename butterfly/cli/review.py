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

reviews_app = typer.Typer(help="List, show and reopen reviews.", no_args_is_help=True)

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
    complete: Annotated[bool, typer.Option("--complete", help="With --answers: mark the review complete.")] = False,
    next_: Annotated[
        bool, typer.Option("--next", help="Open the oldest closed ticket you have not reviewed yet.")
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

    Keys during the walk: ? help, Enter keep/skip, s skip, b back, j jump to a cell, na not applicable,
    a action item, e editor, q quit. Run it again to resume where you stopped.

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
    cl = resolve_checklist(checklist or settings.checklist, language(lang), kind="butterfly")
    # a team's lens file is kept by its absolute path, so reports made from another folder still find it
    lens = [str(Path(n).resolve()) if Path(n).is_file() else n for n in lens or []]
    with _session(ctx, db, create=True) as session:
        if next_:
            from butterfly.review.queries import next_ticket_for

            t = next_ticket_for(session=session, reviewer=name, customer=customer, category=category)
            err().print(f"next ticket for {terminal_safe(name)}: {terminal_safe(t.external_id)}")
        else:
            assert ticket is not None
            t = get_ticket(session=session, ref=ticket)
        ref = ticket if ticket and not ticket.startswith("#") else t.external_id
        if answers is not None:
            _apply(session, answers, t, name, cl, lens or [], allow_open, complete, ref, as_json)
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
        )


def _apply(
    session: "Session",
    path: Path,
    ticket: Any,
    reviewer: str,
    checklist: Any,
    lenses: list[str],
    allow_open: bool,
    complete: bool,
    ref: str,
    as_json: bool,
) -> None:
    from butterfly.review.answers_file import apply_answers_file
    from butterfly.review.guards import finding_title
    from butterfly.review.queries import review_detail

    result = apply_answers_file(
        session=session,
        path=path,
        ticket=ticket,
        reviewer=reviewer,
        checklist=checklist,
        lenses=lenses,
        allow_open=allow_open,
        complete=complete,
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
        console.print(
            f"  finding: {terminal_safe(finding_title(f.kind, checklist.language))}: {terminal_safe(f.detail)}"
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

    from butterfly.cli.walk_ui import render_summary
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
    if history:
        table = Table(title="history", title_justify="left", box=None, padding=(0, 2))
        for col in ("when (UTC)", "who", "question", "old", "new"):
            table.add_column(col)
        for h in detail.history:
            old = "N/A" if h.old_na else ("—" if h.old_na is None else terminal_safe(h.old_value))
            new = "N/A" if h.new_na else terminal_safe(h.new_value)
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


def register(app: typer.Typer) -> None:
    """Add ``review`` and the ``reviews`` group to the root app."""
    app.command("review")(review)
    app.add_typer(reviews_app, name="reviews")
