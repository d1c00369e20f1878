"""The walk's ``t`` key: the ticket's whole thread, a page at a time, terminal-safe.

Each message shows its number, role (internal notes marked), author and time (UTC), then its text; every piece of
ticket text goes through :func:`butterfly.sanitise.terminal_safe` (no control characters, bidi overrides or Rich
markup reach the terminal). After each page the reviewer presses Enter for the next or ``q`` to go back to the
question.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from butterfly.labels import ui
from butterfly.sanitise import terminal_safe
from butterfly.timeutil import as_utc

if TYPE_CHECKING:
    from butterfly.conversation.facts import Message

PAGE_SIZE = 8  # messages per page


def message_lines(m: Message, lang: str) -> list[str]:
    """One message as printable lines (Rich markup of our own, ticket text escaped)."""
    role = ui(f"thread.role.{m.role}", lang) if m.role in ("customer", "agent", "system", "internal") else m.role
    head = f"#{m.position} {terminal_safe(role)}"
    if not m.public and m.role != "internal":
        head += f" ({terminal_safe(ui('thread.internal', lang))})"
    at = as_utc(m.at)
    tail = " · ".join(x for x in (terminal_safe(m.author or ""), at.strftime("%Y-%m-%d %H:%M") if at else "") if x)
    return [f"\n[bold]{head}[/]" + (f" [dim]{tail}[/]" if tail else ""), terminal_safe(m.text) or "-"]


def show_thread(
    messages: Sequence[Message],
    *,
    lang: str,
    say: Callable[[str], None],
    ask: Callable[[str], str],
    page_size: int = PAGE_SIZE,
) -> None:
    """Print ``messages`` page by page; returns when the reviewer leaves (``q``) or the thread ends."""
    if not messages:
        say(f"[yellow]{terminal_safe(ui('thread.none', lang))}[/]")
        return
    say(f"\n[bold]{terminal_safe(ui('thread.title', lang, n=len(messages)))}[/]")
    for start in range(0, len(messages), page_size):
        for m in messages[start : start + page_size]:
            for line in message_lines(m, lang):
                say(line)
        left = len(messages) - start - page_size
        if left <= 0:
            say(f"[dim]{terminal_safe(ui('thread.end', lang))}[/]")
            return
        if ask(f"{ui('thread.more', lang, n=left)} > ").strip():
            return  # q (or anything typed): back to the question
