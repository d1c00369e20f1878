"""``butterfly reviews …``: list, show and reopen reviews; dismiss a finding. (``butterfly review`` is
``cli/review.py``.)"""

from typing import TYPE_CHECKING, Annotated, Any

import typer

from butterfly.cli._common import (
    DbOption,
    JsonOption,
    LangOption,
    err,
    language,
    out,
    print_json,
    reviewer_name,
    session_for,
)
from butterfly.sanitise import terminal_plain, terminal_safe

if TYPE_CHECKING:
    from sqlmodel import Session

    from butterfly.store.models import Review

reviews_app = typer.Typer(help="List, show and reopen reviews; dismiss a finding.", no_args_is_help=True)


@reviews_app.command("list")
def list_(
    ctx: typer.Context,
    status: Annotated[str | None, typer.Option("--status", help="draft or complete.")] = None,
    reviewer: Annotated[str | None, typer.Option("--reviewer", help="Only this reviewer's reviews.")] = None,
    lang: LangOption = None,
    as_json: JsonOption = False,
    db: DbOption = None,
) -> None:
    """List reviews, most recently changed first.

    Example: butterfly reviews list --status draft
    """
    from butterfly.labels import command_text, ui
    from butterfly.review.queries import list_reviews

    lng = language(lang)
    with session_for(ctx, db) as session:
        rows = list_reviews(session=session, status=status, reviewer=reviewer)
    if as_json:
        print_json([r.as_dict() for r in rows])
        return
    if not rows:
        err().print(command_text("reviews.none", lng), markup=False)
        return
    from rich.table import Table

    from butterfly.cli.cjk_wrap import cjk

    table = Table(box=None, padding=(0, 2))
    for col in ("ticket", "reviewer", "status", "answered", "findings", "updated", "subject"):
        table.add_column(terminal_safe(command_text(f"reviews.col.{col}", lng)))
    for r in rows:
        total = f"/{r.questions}" if r.questions is not None else ""
        state = r.review.status
        table.add_row(
            terminal_safe(r.ticket_ref),
            terminal_safe(r.review.reviewer),
            ui(f"sum.status.{state}", lng) if state in ("draft", "complete") else terminal_safe(state),
            f"{r.answered}{total}",
            str(r.findings),
            r.review.updated_at.strftime("%Y-%m-%d %H:%M"),
            cjk(terminal_safe(r.subject or "")),
        )
    out().print(table)


def _find(session: "Session", ticket: str, reviewer: str | None) -> "Review":
    from butterfly.review.lifecycle import find_review
    from butterfly.tickets import get_ticket

    t = get_ticket(session=session, ref=ticket)
    return find_review(session=session, ticket=t, reviewer=reviewer, default_reviewer=reviewer_name(None))


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

    with session_for(ctx, db) as session:
        review = _find(session, ticket, reviewer)
        detail = review_detail(session=session, review=review, lang=language(lang) if lang else None)
    if as_json:
        print_json(detail.as_dict())
        return
    _render_detail(detail, ticket, history)


def _render_detail(detail: Any, ref: str, history: bool) -> None:
    from rich.table import Table

    from butterfly.cli.cjk_wrap import cjk
    from butterfly.cli.walk_ui import render_summary, report_hint
    from butterfly.labels import ui
    from butterfly.review.answers import display_value

    lang = detail.checklist.language

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
                    cjk(f"{terminal_safe(q.text)} [dim]{q.id}[/]"),
                    cjk(terminal_safe(shown) if a is not None else shown),
                )
            console.print(table)
    console.print(render_summary(detail, ref=ref))
    console.print(report_hint(detail, ref=ref), soft_wrap=True)
    if history:
        table = Table(title=terminal_safe(ui("history.title", lang)), title_justify="left", box=None, padding=(0, 2))
        for col in ("when", "who", "question", "old", "new"):
            table.add_column(terminal_safe(ui(f"history.col.{col}", lang)))
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
        console.print(f"[dim]{terminal_safe(ui('history.count', lang, n=len(detail.history)))}[/]")


@reviews_app.command("reopen")
def reopen(
    ctx: typer.Context,
    ticket: Annotated[str, typer.Argument(help="Ticket id, SOURCE:ID or #row.")],
    reviewer: Annotated[str | None, typer.Option("--reviewer", help="Whose review (default: yours).")] = None,
    lang: LangOption = None,
    db: DbOption = None,
) -> None:
    """Reopen a complete review as a draft so it can be edited (every change stays in the history).

    Example: butterfly reviews reopen T-1042
    """
    from butterfly.labels import command_text
    from butterfly.review.lifecycle import reopen_review

    lng = language(lang)
    with session_for(ctx, db) as session:
        review = reopen_review(session=session, review=_find(session, ticket, reviewer))
    said = command_text("reviews.reopened", lng, ticket=ticket, reviewer=review.reviewer)
    err().print(terminal_plain(said), soft_wrap=True, markup=False)


@reviews_app.command("dismiss-finding")
def dismiss_finding_cmd(
    ctx: typer.Context,
    ticket: Annotated[str, typer.Argument(help="Ticket id, SOURCE:ID or #row.")],
    question: Annotated[str, typer.Argument(help="The question id the blame-wording finding is on.")],
    reviewer: Annotated[str | None, typer.Option("--reviewer", help="Whose review (default: yours).")] = None,
    by: Annotated[
        str | None, typer.Option("--by", help="Who dismisses it (default: your reviewer name).", show_default=False)
    ] = None,
    lang: LangOption = None,
    db: DbOption = None,
) -> None:
    """Dismiss a blame-wording finding as "not blame" (who and when are recorded; reports stop counting it).

    Example: butterfly reviews dismiss-finding T-1042 company.short.another_person
    """
    from butterfly.labels import command_text
    from butterfly.review.findings import dismiss_finding

    lng = language(lang)
    with session_for(ctx, db) as session:
        found = dismiss_finding(
            session=session, review=_find(session, ticket, reviewer), question_id=question, by=reviewer_name(by)
        )
        when = found.status_at.strftime("%Y-%m-%d %H:%M UTC") if found.status_at else ""
    said = command_text("reviews.dismissed", lng, question=question, ticket=ticket, by=found.status_by or "", when=when)
    err().print(terminal_plain(said), soft_wrap=True, markup=False)
