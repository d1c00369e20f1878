"""``butterfly tickets list|show``: the imported tickets and a ticket's timeline."""

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer

from butterfly.cli._common import DbOption, JsonOption, LangOption, out, print_json
from butterfly.cli.ticket_thread import (
    conversation_json,
    field_label,
    print_conversation,
    print_state_timeline,
    say,
    state_steps,
)
from butterfly.sanitise import terminal_safe

if TYPE_CHECKING:
    from butterfly.store.models import Ticket
    from butterfly.tickets import TimelineStep

tickets_app = typer.Typer(help="List imported tickets and show one with its timeline.", no_args_is_help=True)


def _time(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value is not None else "-"


def _day(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d") if value is not None else "-"


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def ticket_json(ticket: "Ticket") -> dict[str, Any]:
    return {
        "id": ticket.id,
        "source": ticket.source,
        "external_id": ticket.external_id,
        "customer": ticket.customer,
        "organization": ticket.organization,
        "subject": ticket.subject,
        "category": ticket.category,
        "subcategory": ticket.subcategory,
        "tags": list(ticket.tags or []),
        "status": ticket.status,
        "priority": ticket.priority,
        "channel": ticket.channel,
        "group": ticket.group_name,
        "assignee": ticket.assignee,
        "problem_id": ticket.problem_id,
        "created_at": _iso(ticket.created_at),
        "first_response_at": _iso(ticket.first_response_at),
        "resolved_at": _iso(ticket.resolved_at),
        "closed_at": _iso(ticket.closed_at),
        "updated_at": _iso(ticket.updated_at),
    }


@tickets_app.command("list")
def list_command(
    ctx: typer.Context,
    status: Annotated[
        str | None, typer.Option("--status", help="open, pending, resolved, closed or deleted.", show_default=False)
    ] = None,
    customer: Annotated[str | None, typer.Option("--customer", help="Only this customer.", show_default=False)] = None,
    category: Annotated[str | None, typer.Option("--category", help="Only this category.", show_default=False)] = None,
    source: Annotated[
        str | None, typer.Option("--source", help="Only tickets from this source.", show_default=False)
    ] = None,
    since: Annotated[
        str | None,
        typer.Option("--since", help="Created from: YYYY-MM-DD, ISO date-time, or 7d / 12h ago.", show_default=False),
    ] = None,
    until: Annotated[
        str | None, typer.Option("--until", help="Created up to (a bare date includes that day).", show_default=False)
    ] = None,
    limit: Annotated[
        int, typer.Option("--limit", help="At most this many tickets.", max=1_000_000_000, clamp=True)
    ] = 50,
    worth_reviewing: Annotated[
        bool,
        typer.Option(
            "--worth-reviewing",
            help="The review queue: unreviewed closed tickets with the most to learn from first, and why.",
        ),
    ] = False,
    reviewer: Annotated[
        str | None, typer.Option("--reviewer", help="With --worth-reviewing: whose queue.", show_default=False)
    ] = None,
    lang: LangOption = None,
    json_: JsonOption = False,
    db: DbOption = None,
) -> None:
    """List tickets, newest first (or the review queue with --worth-reviewing).

    Example: butterfly tickets list --status closed --since 2026-10-01
    """
    from butterfly.cli._common import session_for
    from butterfly.periods import resolve_period
    from butterfly.tickets import list_tickets

    if worth_reviewing:
        _queue(ctx, db, reviewer, customer, category, limit, lang, json_)
        return
    period = resolve_period(since=since, until=until)
    with session_for(ctx, db) as session:
        tickets = list_tickets(
            session=session,
            status=status,
            customer=customer,
            category=category,
            source=source,
            since=period.since,
            until=period.until,
            limit=limit,
        )
    if json_:
        print_json([ticket_json(t) for t in tickets])
        return
    from rich.table import Table

    from butterfly.tickets import short_ticket_ref

    console = out()
    if not tickets:
        console.print("no tickets match (import some with `butterfly import FILE`)")
        return
    table = Table(show_edge=False, pad_edge=False)
    refs = [short_ticket_ref(t.source, t.external_id) for t in tickets]
    fixed = {"id": max(len(r) for r in refs), "status": 8, "created": 10, "closed": 10}
    for name in ("id", "customer", "subject", "category", "status", "created", "closed"):
        if name in fixed:
            table.add_column(name, no_wrap=True, min_width=fixed[name])
        elif name == "subject":
            table.add_column(name, no_wrap=True, overflow="ellipsis", max_width=36)
        else:
            table.add_column(name, no_wrap=True, overflow="ellipsis", max_width=12)
    for t, ref in zip(tickets, refs, strict=True):
        table.add_row(
            terminal_safe(ref),
            terminal_safe(t.customer),
            terminal_safe(t.subject),
            terminal_safe(t.category),
            t.status,
            _day(t.created_at),
            _day(t.closed_at),
        )
    console.print(table)


def _queue(
    ctx: typer.Context,
    db: str | None,
    reviewer: str | None,
    customer: str | None,
    category: str | None,
    limit: int,
    lang: str | None,
    json_: bool,
) -> None:
    """``tickets list --worth-reviewing``: the queue ``review --next`` takes its tickets from."""
    from butterfly.cli._common import language, session_for
    from butterfly.review.queue import describe, worth_reviewing
    from butterfly.settings import get_settings
    from butterfly.tickets import short_ticket_ref

    lng = language(lang)
    name = (reviewer or "").strip() or get_settings().effective_reviewer()
    with session_for(ctx, db) as session:
        picks = worth_reviewing(session=session, reviewer=name, customer=customer, category=category, limit=limit)
    if json_:
        print_json(
            [
                {
                    **ticket_json(p.ticket),
                    "score": p.score,
                    "reasons": [r.key for r in p.reasons],
                    "why": describe(p, lng),
                }
                for p in picks
            ]
        )
        return
    from rich.table import Table

    if not picks:
        out().print(f"no unreviewed closed ticket for {terminal_safe(name)} shows a sign worth a review")
        return
    table = Table(show_edge=False, pad_edge=False)
    for column in ("id", "customer", "closed", "score", "why"):
        table.add_column(column, no_wrap=column != "why")
    for p in picks:
        t = p.ticket
        ref = short_ticket_ref(t.source, t.external_id)
        table.add_row(
            terminal_safe(ref),
            terminal_safe(t.customer),
            _day(t.closed_at),
            str(p.score),
            terminal_safe(describe(p, lng)),
        )
    out().print(table)


def _timeline_json(steps: "list[TimelineStep]") -> list[dict[str, Any]]:
    return [
        {
            "step": s.name,
            "at": _iso(s.at),
            "since_previous_seconds": int(s.since_previous.total_seconds()) if s.since_previous is not None else None,
            "since_created_seconds": int(s.since_created.total_seconds()) if s.since_created is not None else None,
        }
        for s in steps
    ]


@tickets_app.command("show")
def show_command(
    ctx: typer.Context,
    ticket_ref: Annotated[str, typer.Argument(metavar="ID", help="Ticket id, SOURCE:ID, or #ROW.")],
    thread: Annotated[bool, typer.Option("--thread", help="Print the whole conversation too.")] = False,
    state_timeline: Annotated[
        bool,
        typer.Option("--timeline", help="Print the state timeline too: each state, group and assignee with its time."),
    ] = False,
    json_: JsonOption = False,
    lang: LangOption = None,
    db: DbOption = None,
) -> None:
    """Show a ticket, its timeline (created → first response → resolved → closed) and its conversation's facts.

    The facts the certainty question asks about, when the import brought the thread: how often the customer
    chased, the longest silence on our side, the first reply with a definite plan and time, whether the need
    climbed to cost or compensation. --thread prints every message (roles, times, text); --timeline the state
    timeline an event log brought (ServiceNow: state, assignment group, assignee, reassignments, at what time).
    Printed in --lang (zh-CN, zh-TW or en); --json keeps English keys.

    Example: butterfly tickets show T-1001 --thread --lang zh-CN
    """
    from butterfly.cli._common import language, session_for

    lng = language(lang)
    from butterfly.conversation.store import thread_facts
    from butterfly.tickets import get_ticket, timeline

    with session_for(ctx, db) as session:
        ticket = get_ticket(session=session, ref=ticket_ref)
        messages, found = thread_facts(session=session, ticket=ticket)
        events = state_steps(session, ticket) if state_timeline else []
    steps = timeline(ticket)
    if json_:
        data = ticket_json(ticket)
        data["description"] = ticket.description
        data.update({name: value for name, value in _helpdesk_facts(ticket)})
        data["timeline"] = _timeline_json(steps)
        data["conversation"] = conversation_json(messages, found, whole=thread)
        if state_timeline:
            data["state_timeline"] = [
                {
                    "position": e.position,
                    "at": _iso(e.at),
                    "state": e.state,
                    "group": e.group_name,
                    "assignee": e.assignee,
                    "reassigned": e.reassigned,
                }
                for e in events
            ]
        print_json(data)
        return
    from rich.table import Table

    from butterfly.timeutil import format_duration

    console = out()
    console.print(
        f"[bold]{terminal_safe(ticket.source)}:{terminal_safe(ticket.external_id)}[/]  {terminal_safe(ticket.subject)}"
    )
    status = ticket.status
    if status in ("open", "pending", "resolved", "closed", "deleted"):
        status = say(f"status.{status}", lng)
    facts = [
        ("customer", ticket.customer),
        ("organization", ticket.organization if ticket.organization != ticket.customer else None),
        ("status", status),
        ("category", " / ".join(x for x in (ticket.category, ticket.subcategory) if x) or None),
        ("tags", ", ".join(ticket.tags or []) or None),
        ("priority", ticket.priority),
        ("channel", ticket.channel),
        ("group", ticket.group_name),
        ("assignee", ticket.assignee),
        ("problem", ticket.problem_id),
        *(
            (name, value if not isinstance(value, bool) else say("value.yes" if value else "value.no", lng))
            for name, value in _helpdesk_facts(ticket)
        ),
    ]
    for name, value in facts:
        if value is not None and value != "":
            console.print(f"  {field_label(name, lng)}{terminal_safe(str(value))}")
    table = Table(title=say("timeline.title", lng), title_justify="left", show_edge=False, pad_edge=False)
    table.add_column(say("timeline.step", lng))
    table.add_column(say("timeline.at", lng))
    table.add_column(say("timeline.after_previous", lng), justify="right")
    table.add_column(say("timeline.since_created", lng), justify="right")
    for step in steps:
        shown = step.at is not None and step.name != "created"
        table.add_row(
            say(f"step.{step.name}", lng),
            _time(step.at),
            format_duration(step.since_previous, lng) if shown else "",
            format_duration(step.since_created, lng) if shown else "",
        )
    console.print()
    console.print(table)
    if ticket.description:
        console.print()
        console.print(terminal_safe(ticket.description))
    print_conversation(messages, found, whole=thread, lang=lng)
    if state_timeline:
        print_state_timeline(events, lng)


def _helpdesk_facts(ticket: "Ticket") -> list[tuple[str, Any]]:
    """The fields only some helpdesks have (requester, project or repository, resolution, satisfaction, ServiceNow's
    counts and made_sla), in the order shown."""
    return [
        ("requester", ticket.requester if ticket.requester != ticket.customer else None),
        ("project", ticket.project),
        ("resolution", ticket.resolution),
        ("satisfaction", ticket.satisfaction),
        ("reopen_count", ticket.reopen_count),
        ("reassignment_count", ticket.reassignment_count),
        ("made_sla", ticket.made_sla),
    ]


from butterfly.cli.ticket_embed import embed_command  # noqa: E402

tickets_app.command("embed")(embed_command)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root app."""
    app.add_typer(tickets_app, name="tickets")
