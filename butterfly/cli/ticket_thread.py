"""``butterfly tickets show``: a ticket's conversation (the certainty facts, ``--thread`` the whole thread) and its
state timeline (``--timeline``), in the terminal and as JSON."""

from datetime import datetime
from typing import TYPE_CHECKING, Any

from butterfly.cli._common import out
from butterfly.sanitise import terminal_safe

if TYPE_CHECKING:
    from butterfly.conversation.facts import Facts, Message
    from butterfly.store.models import Ticket, TicketEvent


def _time(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value is not None else "-"


def state_steps(session: Any, ticket: "Ticket") -> "list[TicketEvent]":
    from butterfly.tickets import state_timeline

    return state_timeline(session=session, ticket_id=ticket.id) if ticket.id is not None else []


def print_state_timeline(events: "list[TicketEvent]") -> None:
    from rich.table import Table

    console = out()
    console.print()
    if not events:
        console.print("state timeline: none imported (an event log such as ServiceNow's brings one)")
        return
    table = Table(title="state timeline (UTC)", title_justify="left", show_edge=False, pad_edge=False)
    for name in ("#", "at", "state", "group", "assignee", ""):
        table.add_column(name)
    for e in events:
        table.add_row(
            str(e.position),
            _time(e.at),
            terminal_safe(e.state or "-"),
            terminal_safe(e.group_name or "-"),
            terminal_safe(e.assignee or "-"),
            "reassigned" if e.reassigned else "",
        )
    console.print(table)


def _moment(position: int, at: datetime | None) -> str:
    return f"#{position} {_time(at)}" if at is not None else f"#{position}"


def print_conversation(messages: "list[Message]", found: "Facts | None", *, whole: bool) -> None:
    from butterfly.timeutil import format_duration

    console = out()
    console.print()
    if found is None:
        console.print("conversation: none imported (the walk shows speed as speed)")
        return
    console.print(f"[bold]conversation[/] ({len(messages)} messages)")
    chases = ", ".join(_moment(c.position, c.at) for c in found.chases)
    console.print(f"  {'chased:':<18}{len(found.chases)} time(s)" + (f": {chases}" if chases else ""))
    if found.longest_silence is not None and found.silence_from is not None:
        console.print(
            f"  {'longest silence:':<18}{format_duration(found.longest_silence)} "
            f"(from {_moment(found.silence_from.position, found.silence_from.at)})"
        )
    if found.first_plan is not None:
        phrase = terminal_safe(found.plan_phrase or "")
        console.print(f'  {"definite plan:":<18}{_moment(found.first_plan.position, found.first_plan.at)} "{phrase}"')
    else:
        console.print(f"  {'definite plan:':<18}none given")
    if found.need_climbed is not None:
        console.print(f"  {'need climbed:':<18}{_moment(found.need_climbed.position, found.need_climbed.at)}")
    if not whole:
        return
    for m in messages:
        visibility = "" if m.public else " (internal)"
        who = f" {terminal_safe(m.author)}" if m.author else ""
        console.print(f"\n[bold]#{m.position} {m.role}{visibility}[/]{who}  {_time(m.at)}")
        console.print(terminal_safe(m.text))


def conversation_json(messages: "list[Message]", found: "Facts | None", *, whole: bool) -> dict[str, Any] | None:
    if found is None:
        return None
    from butterfly.conversation.snapshot import facts_json

    data: dict[str, Any] = {**facts_json(found), "messages": len(messages)}
    if whole:
        data["thread"] = [
            {
                "position": m.position,
                "role": m.role,
                "public": m.public,
                "author": m.author,
                "at": m.at.isoformat() if m.at else None,
                "text": m.text,
            }
            for m in messages
        ]
    return data
