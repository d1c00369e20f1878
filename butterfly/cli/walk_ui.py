"""The interactive walk's terminal: Rich panels (the ticket's context, the review's summary) and ``$EDITOR``.

:class:`TerminalIO` is the :class:`~butterfly.review.walk.WalkIO` the ``butterfly review`` command gives the walk
engine (``butterfly.review.walk``): Rich output, plain ``input()`` (works under a pty, CliRunner and pipes).
"""

import os
import shlex
import subprocess
import tempfile
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table

from butterfly.errors import InvalidInputError
from butterfly.review.guards import Publication, finding_title, text
from butterfly.sanitise import terminal_safe
from butterfly.tickets import timeline
from butterfly.timeutil import as_utc, format_duration

if TYPE_CHECKING:
    from butterfly.review.queries import ReviewDetail
    from butterfly.review.walk import ReviewContext


class TerminalIO:
    """The walk's input and output: Rich output, plain ``input()`` (works under a pty, CliRunner and pipes)."""

    def __init__(self, console: Console) -> None:
        self.console = console

    def print(self, *objects: Any) -> None:
        self.console.print(*objects)

    def ask(self, prompt: str) -> str:
        self.console.file.flush()
        line = input(prompt)
        return line

    def edit(self, initial: str) -> str:
        return run_editor(initial)

    def show_context(self, context: "ReviewContext") -> None:
        self.console.print(render_context(context))

    def show_summary(self, detail: "ReviewDetail", ref: str) -> None:
        self.console.print(render_summary(detail, ref=ref))


# -- context panel ------------------------------------------------------------------------------------------


def _fmt_time(value: datetime | None) -> str:
    v = as_utc(value)
    return v.strftime("%Y-%m-%d %H:%M") if v is not None else "-"


def render_context(ctx: "ReviewContext") -> Any:
    """The context panel as a Rich renderable."""
    t = ctx.ticket
    facts = Table.grid(padding=(0, 2))
    facts.add_column(style="bold")
    facts.add_column()
    facts.add_row("subject", terminal_safe(t.subject) or "-")
    facts.add_row("customer", terminal_safe(t.customer) or "-")
    facts.add_row("category", terminal_safe(" / ".join(x for x in (t.category, t.subcategory) if x)) or "-")
    facts.add_row("status", terminal_safe(t.status))
    facts.add_row("assignee", terminal_safe(t.assignee) or "-")
    if t.priority or t.channel:
        facts.add_row("priority / channel", terminal_safe(f"{t.priority or '-'} / {t.channel or '-'}"))

    line = Table(title="timeline", title_justify="left", box=None, padding=(0, 2))
    line.add_column("step")
    line.add_column("when (UTC)")
    line.add_column("after previous", justify="right")
    line.add_column("after creation", justify="right")
    for step in timeline(t):
        line.add_row(
            step.name.replace("_", " "),
            _fmt_time(step.at),
            format_duration(step.since_previous),
            format_duration(step.since_created),
        )

    h = ctx.history
    if h.customer:
        history = (
            f"[bold]customer's earlier tickets:[/] {h.earlier} ({h.last_90_days} in the {90} days before this one)"
        )
        for b in h.recent[:3]:
            history += f"\n  {terminal_safe(b.external_id)}  {_fmt_time(b.created_at)}  {terminal_safe(b.subject)}  [dim]{terminal_safe(b.status)}[/]"
    else:
        history = "[bold]customer's earlier tickets:[/] unknown customer"

    parts: list[Any] = [facts, "", line, "", history, ""]
    if ctx.similar:
        sim = Table(
            title="the same problem at other customers (closed)", title_justify="left", box=None, padding=(0, 2)
        )
        sim.add_column("ticket")
        sim.add_column("customer")
        sim.add_column("subject")
        sim.add_column("closed")
        sim.add_column("why")
        for s in ctx.similar:
            why = []
            if s.same_category:
                why.append("same category")
            if s.subject_similarity >= 0.3:
                why.append(f"subject {round(s.subject_similarity * 100)}% alike")
            sim.add_row(
                terminal_safe(s.ticket.external_id),
                terminal_safe(s.ticket.customer) or "-",
                terminal_safe(s.ticket.subject) or "-",
                _fmt_time(s.ticket.closed_at or s.ticket.resolved_at)[:10],
                ", ".join(why),
            )
        parts.append(sim)
    else:
        parts.append("[bold]the same problem at other customers:[/] none found")
    return Panel(Group(*parts), title=f"ticket {terminal_safe(t.external_id)}", title_align="left")


# -- summary --------------------------------------------------------------------------------------------------


def render_summary(detail: "ReviewDetail", *, ref: str) -> Any:
    """The end-of-walk summary (also ``reviews show``): cell scores, findings, actions, the report command."""
    lang = detail.checklist.language
    r = detail.review
    parts: list[Any] = [
        f"\n[bold]Review of {terminal_safe(detail.ticket.external_id)}[/] by {terminal_safe(r.reviewer)} — {r.status}, "
        f"{detail.answered}/{len(detail.questions)} answered"
    ]
    scores = Table(title="cells", title_justify="left", box=None, padding=(0, 2))
    scores.add_column("cell")
    scores.add_column("score", justify="right")
    scores.add_column("ratings", justify="right")
    scores.add_column("answered", justify="right")
    titles = {c.id: c.title for cl in (detail.checklist, *detail.lenses) for c in cl.cells}
    all_scores = [*detail.scores, *(s for v in detail.lens_scores.values() for s in v)]
    for s in all_scores:
        score = "-" if s.score is None else f"{round(s.score * 100)}%"
        scores.add_row(
            f"{terminal_safe(titles.get(s.cell_id, s.cell_id))} [dim]{s.cell_id}[/]",
            score,
            f"{s.rated}/{s.ratings}",
            f"{s.answered}/{s.questions}",
        )
    parts.append(scores)
    if detail.findings:
        parts.append("[bold]findings[/]")
        for f in detail.findings:
            note = ""
            if f.kind == "blame_wording":
                note = " " + text("finding.kept" if f.kept else "finding.reworded", lang)
            parts.append(
                f"  • {terminal_safe(finding_title(f.kind, lang))}: {terminal_safe(f.detail)}{terminal_safe(note)}"
            )
    else:
        parts.append("[bold]findings:[/] none")
    if detail.actions:
        parts.append("[bold]action items[/]")
        for a in detail.actions:
            due = a.due_date.isoformat() if a.due_date else "no due date"
            parts.append(
                f"  #{a.id} ({terminal_safe(a.kind)}) {terminal_safe(a.text)} — {terminal_safe(a.owner or 'no owner')}, {due}, {terminal_safe(a.status)}"
            )
    else:
        parts.append("[bold]action items:[/] none")
    if detail.publication.status is Publication.publishable:
        parts.append("story: may be published (consent recorded)")
    elif detail.publication.status is Publication.not_for_publication:
        parts.append("story: [yellow]not for publication[/] (no full consent)")
    if r.experience_level:
        parts.append(f"experience level: {terminal_safe(r.experience_level)}")
    parts.append(f"\nRender the report: [bold]butterfly report ticket {terminal_safe(ref)}[/]")
    return Group(*parts)


# -- editor ---------------------------------------------------------------------------------------------------


def run_editor(initial: str, *, editor: str | None = None) -> str:
    """Open ``initial`` in ``$VISUAL``/``$EDITOR`` (default ``vi``) in a private temp file; returns the text.

    The editor gets the file path as an argument (an argument list, never a shell string).
    """
    command = editor or os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi"
    try:
        argv = shlex.split(command)
    except ValueError:
        argv = []
    if not argv:
        raise InvalidInputError(f"cannot use the editor '{command}'", hint="set EDITOR, e.g. EDITOR=nano")
    fd, path = tempfile.mkstemp(prefix="butterfly-answer-", suffix=".md")  # created 0600
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(initial)
        try:
            result = subprocess.run([*argv, path], check=False)
        except OSError as exc:
            raise InvalidInputError(
                f"cannot start the editor '{argv[0]}': {exc.strerror}", hint="set EDITOR, e.g. EDITOR=nano"
            ) from None
        if result.returncode != 0:
            raise InvalidInputError(f"the editor exited with code {result.returncode}; the answer is unchanged")
        return Path(path).read_text(encoding="utf-8")
    finally:
        try:
            os.unlink(path)
        except OSError:
            pass
