"""``butterfly actions …``: the follow-ups reviews create (process patch, outreach, compensation, follow-up)."""

from typing import Annotated

import typer

from butterfly.cli._common import DbOption, JsonOption, err, out, print_json, reviewer_name, session_for
from butterfly.sanitise import terminal_safe

actions_app = typer.Typer(help="Action items from reviews: list, add, mark done.", no_args_is_help=True)


@actions_app.command("list")
def list_(
    ctx: typer.Context,
    overdue: Annotated[bool, typer.Option("--overdue", help="Only open items past their due date.")] = False,
    status: Annotated[str | None, typer.Option("--status", help="open or done (default: all).")] = None,
    owner: Annotated[str | None, typer.Option("--owner", help="Only this owner's items.")] = None,
    as_json: JsonOption = False,
    db: DbOption = None,
) -> None:
    """List action items, open ones first by due date.

    Example: butterfly actions list --overdue
    """
    from butterfly.clock import settings_clock
    from butterfly.review.actions import list_actions

    clock = settings_clock()
    with session_for(ctx, db) as session:
        rows = list_actions(session=session, overdue=overdue, status=status, owner=owner, clock=clock)
    if as_json:
        print_json([r.as_dict() for r in rows])
        return
    if not rows:
        err().print("no overdue action items" if overdue else "no action items")
        return
    from rich.table import Table

    table = Table(box=None, padding=(0, 2))
    for col in ("id", "kind", "what", "owner", "due", "status", "ticket"):
        table.add_column(col)
    for r in rows:
        i = r.item
        due = i.due_date.isoformat() if i.due_date else "-"
        table.add_row(
            str(i.id),
            i.kind,
            terminal_safe(i.text),
            terminal_safe(i.owner or "-"),
            f"[red]{due} overdue[/]" if r.overdue else due,
            i.status,
            terminal_safe(r.ticket_ref or "-"),
        )
    out().print(table)


@actions_app.command("done")
def done(
    ctx: typer.Context,
    action_id: Annotated[int, typer.Argument(metavar="ID", help="The action item's id (see `actions list`).")],
    by: Annotated[str | None, typer.Option("--by", help="Who did it (default: you).")] = None,
    db: DbOption = None,
) -> None:
    """Mark an action item done.

    Example: butterfly actions done 12
    """
    from butterfly.review.actions import mark_done

    with session_for(ctx, db) as session:
        item = mark_done(session=session, action_id=action_id, by=reviewer_name(by))
    err().print(f"action item #{item.id} done ({terminal_safe(item.text)})")


@actions_app.command("add")
def add(
    ctx: typer.Context,
    ticket: Annotated[str, typer.Argument(help="The ticket it is about (id, SOURCE:ID or #row).")],
    kind: Annotated[str, typer.Option("--kind", help="process_patch, outreach, compensation or follow_up.")],
    text: Annotated[str, typer.Option("--text", help="What to do.")],
    owner: Annotated[str | None, typer.Option("--owner", help="Who does it.")] = None,
    due: Annotated[str | None, typer.Option("--due", help="Due date: YYYY-MM-DD, or +14d / +2w from today.")] = None,
    reviewer: Annotated[
        str | None, typer.Option("--reviewer", help="Attach it to this reviewer's review (default: yours, if any).")
    ] = None,
    db: DbOption = None,
) -> None:
    """Add an action item for a ticket (attached to your review of it when there is one).

    Example: butterfly actions add T-1042 --kind outreach --text "Offer the patch to ACME" --due 2025-07-01
    """
    from butterfly.review.actions import create_action
    from butterfly.review.lifecycle import get_review
    from butterfly.tickets import get_ticket

    with session_for(ctx, db) as session:
        t = get_ticket(session=session, ref=ticket)
        assert t.id is not None
        review = get_review(session=session, ticket_id=t.id, reviewer=reviewer_name(reviewer))
        item = create_action(
            session=session,
            kind=kind,
            text=text,
            owner=owner,
            due_date=due,
            review_id=review.id if review is not None else None,
            ticket_id=t.id,
            by=reviewer_name(reviewer),
        )
    err().print(f"action item #{item.id} added ({item.kind}, due {item.due_date or '-'})")
    out().print(str(item.id))


def register(app: typer.Typer) -> None:
    """Add the ``actions`` group to the root app."""
    app.add_typer(actions_app, name="actions")
