"""``butterfly tickets show``: a ticket's conversation (the certainty facts, ``--thread`` the whole thread) and its
state timeline (``--timeline``), in the terminal and as JSON."""

from datetime import datetime
from typing import TYPE_CHECKING, Any

from butterfly.cli._common import out
from butterfly.labels import text
from butterfly.sanitise import terminal_safe

if TYPE_CHECKING:
    from butterfly.conversation.facts import Facts, Message
    from butterfly.store.models import Ticket, TicketEvent


def say(key: str, lang: str, **values: object) -> str:
    """A line of ``butterfly tickets show`` (``ticket_texts.yaml``) in ``lang``."""
    return text("ticket_texts.yaml", key, lang, **values)


def label(key: str, lang: str, width: int) -> str:
    """``key``'s label padded to ``width`` terminal cells (a Chinese character takes two)."""
    from rich.cells import cell_len

    word = say(key, lang)
    return word + " " * max(1, width - cell_len(word))


def field_label(name: str, lang: str, width: int = 14) -> str:
    """A ticket field's name with its colon, padded to ``width`` cells: ``customer:``, ``客户：``."""
    from rich.cells import cell_len

    word = say(f"field.{name}", lang) + (":" if lang == "en" else "：")
    return word + " " * max(1, width - cell_len(word))


def _time(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value is not None else "-"


def state_steps(session: Any, ticket: "Ticket") -> "list[TicketEvent]":
    from butterfly.tickets import state_timeline

    return state_timeline(session=session, ticket_id=ticket.id) if ticket.id is not None else []


def print_state_timeline(events: "list[TicketEvent]", lang: str) -> None:
    from rich.table import Table

    console = out()
    console.print()
    if not events:
        console.print(say("state.none", lang))
        return
    table = Table(title=say("state.title", lang), title_justify="left", show_edge=False, pad_edge=False)
    for name in ("#", say("state.at", lang), say("state.state", lang), say("state.group", lang)):
        table.add_column(name)
    table.add_column(say("state.assignee", lang))
    table.add_column("")
    for e in events:
        table.add_row(
            str(e.position),
            _time(e.at),
            terminal_safe(e.state or "-"),
            terminal_safe(e.group_name or "-"),
            terminal_safe(e.assignee or "-"),
            say("state.reassigned", lang) if e.reassigned else "",
        )
    console.print(table)


def _moment(position: int, at: datetime | None) -> str:
    return f"#{position} {_time(at)}" if at is not None else f"#{position}"


def print_conversation(messages: "list[Message]", found: "Facts | None", *, whole: bool, lang: str) -> None:
    from butterfly.timeutil import format_duration

    console = out()
    console.print()
    if found is None:
        console.print(say("conv.none", lang))
        return
    console.print(f"[bold]{say('conv.head', lang, n=len(messages))}[/]")
    chases = ", ".join(_moment(c.position, c.at) for c in found.chases)
    count = say("conv.chases", lang, n=len(found.chases))
    console.print(f"  {label('conv.chased', lang, 18)}{count}" + (f": {chases}" if chases else ""))
    if found.longest_silence is not None and found.silence_from is not None:
        duration = format_duration(found.longest_silence, lang)
        moment = _moment(found.silence_from.position, found.silence_from.at)
        console.print(
            f"  {label('conv.silence', lang, 18)}{say('conv.silence_from', lang, duration=duration, moment=moment)}"
        )
    if found.first_plan is not None:
        phrase = terminal_safe(found.plan_phrase or "")
        moment = _moment(found.first_plan.position, found.first_plan.at)
        console.print(f'  {label("conv.plan", lang, 18)}{moment} "{phrase}"')
    else:
        console.print(f"  {label('conv.plan', lang, 18)}{say('conv.no_plan', lang)}")
    if found.need_climbed is not None:
        console.print(
            f"  {label('conv.climbed', lang, 18)}{_moment(found.need_climbed.position, found.need_climbed.at)}"
        )
    if not whole:
        return
    for m in messages:
        visibility = "" if m.public else say("conv.internal", lang)
        role = say(f"role.{m.role}", lang) if m.role in ("customer", "agent", "system", "internal") else m.role
        who = f" {terminal_safe(m.author)}" if m.author else ""
        console.print(f"\n[bold]#{m.position} {terminal_safe(role)}{visibility}[/]{who}  {_time(m.at)}")
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
