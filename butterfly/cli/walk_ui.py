"""The interactive walk's terminal: Rich panels (the ticket's context, the review's summary) and ``$EDITOR``.

:class:`TerminalIO` is the :class:`~butterfly.review.walk.WalkIO` the ``butterfly review`` command gives the walk
engine (``butterfly.review.walk``): Rich output, plain ``input()`` (works under a pty, CliRunner and pipes), and
``$EDITOR`` through ``butterfly.cli.walk_editor``.
"""

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from rich.console import Console, Group
from rich.panel import Panel
from rich.rule import Rule
from rich.table import Table

from butterfly.checklist.model import is_asked
from butterfly.cli._common import resume_gc
from butterfly.cli.cjk_wrap import cjk, has_cjk, wrap_text
from butterfly.cli.walk_editor import edit_answer
from butterfly.labels import labels, ui
from butterfly.review.guards import Publication, finding_note, finding_title
from butterfly.sanitise import terminal_plain, terminal_safe
from butterfly.tickets import timeline
from butterfly.timeutil import as_utc, format_duration

if TYPE_CHECKING:
    from butterfly.review.queries import ReviewDetail
    from butterfly.review.walk_base import ReviewContext


class TerminalIO:
    """The walk's input and output: Rich output, plain ``input()`` (works under a pty, CliRunner and pipes)."""

    def __init__(self, console: Console) -> None:
        self.console = console

    def print(self, *objects: Any, soft_wrap: bool = False) -> None:
        if not soft_wrap and len(objects) == 1 and isinstance(objects[0], str) and has_cjk(objects[0]):
            # Chinese: our own line breaks (no punctuation mark at the start of a line), printed as they are
            text = self.console.render_str(objects[0])
            self.console.print(wrap_text(text, self.console.width), soft_wrap=True)
            return
        self.console.print(*objects, soft_wrap=soft_wrap)

    def ask(self, prompt: str) -> str:
        self.console.file.flush()
        resume_gc()  # start-up is over once a question is on the screen (see cli/_common.gc_paused)
        line = input(prompt)
        return line

    def edit(self, initial: str, comment: str) -> str:
        return edit_answer(initial, comment)

    def show_cell(self, title: str, purpose: str) -> None:
        self.console.print(Rule(terminal_safe(title)))
        self.print(f"[italic]{terminal_safe(purpose)}[/]")

    def show_table(self, title: str, headers: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
        table = Table(title=terminal_safe(title), title_justify="left", box=None, padding=(0, 2))
        for n, header in enumerate(headers):
            table.add_column(terminal_safe(header), justify="right" if n else "left")
        for row in rows:
            table.add_row(*(cjk(terminal_safe(value)) for value in row))
        self.console.print(table)

    def show_context(self, context: "ReviewContext") -> None:
        self.console.print(render_context(context))

    def show_similar(self, context: "ReviewContext") -> None:
        title = terminal_safe(ui("ctx.title", context.lang, ref=context.ticket.external_id))
        self.console.print(Panel(cjk(similar_part(context)), title=title, title_align="left"))

    def show_summary(self, detail: "ReviewDetail", ref: str, report_command: str | None = None) -> None:
        self.console.print(render_summary(detail, ref=ref))
        self.console.print(report_hint(detail, ref=ref, report_command=report_command), soft_wrap=True)


# -- context panel ------------------------------------------------------------------------------------------


def _fmt_time(value: datetime | None) -> str:
    v = as_utc(value)
    return v.strftime("%Y-%m-%d %H:%M") if v is not None else "-"


def render_context(ctx: "ReviewContext") -> Any:
    """The context panel as a Rich renderable."""
    t = ctx.ticket
    lang = ctx.lang

    def label(key: str, **values: object) -> str:
        return terminal_safe(ui(f"ctx.{key}", lang, **values))

    facts = Table.grid(padding=(0, 2))
    facts.add_column(style="bold")
    facts.add_column()
    facts.add_row(cjk(label("subject")), cjk(terminal_safe(t.subject) or "-"))
    facts.add_row(cjk(label("customer")), cjk(terminal_safe(t.customer) or "-"))
    facts.add_row(
        cjk(label("category")), cjk(terminal_safe(" / ".join(x for x in (t.category, t.subcategory) if x)) or "-")
    )
    facts.add_row(cjk(label("status")), cjk(terminal_safe(t.status)))
    facts.add_row(cjk(label("assignee")), cjk(terminal_safe(t.assignee) or "-"))
    if t.priority or t.channel:
        facts.add_row(cjk(label("priority_channel")), cjk(terminal_safe(f"{t.priority or '-'} / {t.channel or '-'}")))

    line = Table(title=label("timeline"), title_justify="left", box=None, padding=(0, 2))
    line.add_column(label("step"))
    line.add_column(label("when"))
    line.add_column(label("after_previous"), justify="right")
    line.add_column(label("after_creation"), justify="right")
    for step in timeline(t):
        line.add_row(
            cjk(label(f"step.{step.name}")),
            _fmt_time(step.at),
            format_duration(step.since_previous, lang),
            format_duration(step.since_created, lang),
        )

    h = ctx.history
    if h.customer:
        history = f"[bold]{label('earlier')}[/] " + label("earlier.count", n=h.earlier, recent=h.last_90_days)
        for b in h.recent[:3]:
            history += f"\n  {terminal_safe(b.external_id)}  {_fmt_time(b.created_at)}  {terminal_safe(b.subject)}  [dim]{terminal_safe(b.status)}[/]"
    else:
        history = f"[bold]{label('earlier')}[/] {label('earlier.unknown')}"

    states = state_lines(ctx)
    parts: list[Any] = [
        facts,
        "",
        line,
        *(["", states] if states else []),
        "",
        conversation_lines(ctx),
        "",
        history,
        "",
        similar_part(ctx),
    ]
    return Panel(Group(*(cjk(p) for p in parts)), title=label("title", ref=t.external_id), title_align="left")


def similar_part(ctx: "ReviewContext") -> Any:
    """The same problem at other customers: a table, "none found", or (the look-up still running) a line saying
    they are shown after the first question."""
    lang = ctx.lang

    def label(key: str, **values: object) -> str:
        return terminal_safe(ui(f"ctx.{key}", lang, **values))

    if ctx.similar_pending:
        return f"[bold]{label('similar.none')}[/] {label('similar.pending')}"
    if not ctx.similar:
        return f"[bold]{label('similar.none')}[/] {label('none_found')}"
    from butterfly.review.similar import MIN_TEXT_SIMILARITY

    sim = Table(title=label("similar"), title_justify="left", box=None, padding=(0, 2))
    for column in ("ticket", "customer", "subject", "closed", "why"):
        sim.add_column(label(f"col.{column}"))
    for s in ctx.similar:
        why = []
        if s.same_category:
            why.append(label("same_category"))
        if s.text_similarity >= MIN_TEXT_SIMILARITY:
            why.append(label("subject_alike", pct=round(s.text_similarity * 100)))
        sim.add_row(
            terminal_safe(s.ticket.external_id),
            cjk(terminal_safe(s.ticket.customer) or "-"),
            cjk(terminal_safe(s.ticket.subject) or "-"),
            _fmt_time(s.ticket.closed_at or s.ticket.resolved_at)[:10],
            cjk(", ".join(why)),
        )
    return sim


def state_lines(ctx: "ReviewContext") -> str | None:
    """The state timeline in two lines: how many steps and reassignments over what span, and the path of states
    with each reassignment's new group or assignee; None when no event log was imported (most helpdesks)."""
    states = ctx.states
    if states is None:
        return None
    lang = ctx.lang

    def label(key: str, **values: object) -> str:
        return terminal_safe(ui(f"ctx.{key}", lang, **values))

    key = "states.summary.one" if states.reassignments == 1 else "states.summary"
    head = label(
        key,
        steps=len(states.steps),
        n=states.reassignments,
        start=_fmt_time(states.first_at),
        end=_fmt_time(states.last_at),
    )
    moves = []
    for step in states.changes():
        if step.reassigned:
            to = " / ".join(x for x in (step.group, step.assignee) if x) or "-"
            moves.append(f"{_fmt_time(step.at)[5:]} {label('states.to', to=terminal_safe(to))}")
    path = " → ".join(terminal_safe(p) for p in states.path())
    lines = [f"[bold]{label('states')}[/] {head}", f"  {path}"]
    if moves:
        shown = moves[:4] + (["…"] if len(moves) > 4 else [])
        lines.append(f"  {label('states.moves')} {'; '.join(shown)}")
    return "\n".join(lines)


def conversation_lines(ctx: "ReviewContext") -> str:
    """The thread's three certainty facts, one line each (chases with when, longest silence, first definite plan),
    or that no thread was imported (the certainty question then shows speed as speed)."""
    lang = ctx.lang

    def label(key: str, **values: object) -> str:
        return terminal_safe(ui(f"ctx.{key}", lang, **values))

    conv = ctx.conversation
    if conv is None:
        return f"[bold]{label('conversation')}[/] {label('conv.none')}"
    found = conv.facts
    chases = ", ".join(f"#{c.position} {_fmt_time(c.at)}" for c in found.chases[:5])
    if len(found.chases) > 5:
        chases += ", …"
    key = "conv.chases.one" if len(found.chases) == 1 else "conv.chases"
    chased = label(key, n=len(found.chases), list=f" ({chases})" if chases else "")
    if found.longest_silence is not None and found.silence_from is not None:
        end = f"#{found.silence_to.position}" if found.silence_to is not None else label("step.closed")
        silence = label(
            "conv.silence_value",
            duration=format_duration(found.longest_silence, lang),
            start=f"#{found.silence_from.position}",
            end=end,
        )
    else:
        silence = label("conv.no_silence")
    if found.first_plan is not None:
        plan = label(
            "conv.plan_value",
            position=found.first_plan.position,
            when=_fmt_time(found.first_plan.at),
            phrase=found.plan_phrase or "",
        )
    else:
        plan = label("conv.no_plan")
    return "\n".join(
        [
            f"[bold]{label('conversation')}[/] {label('conv.messages', n=ctx.messages)}",
            f"  {label('conv.chased')} {chased}",
            f"  {label('conv.silence')} {silence}",
            f"  {label('conv.plan')} {plan}",
        ]
    )


# -- summary --------------------------------------------------------------------------------------------------


def render_summary(detail: "ReviewDetail", *, ref: str) -> Any:
    """The end-of-walk summary (also ``reviews show``): cell scores, findings, actions, the report command."""
    lang = detail.checklist.language
    r = detail.review
    # what the default walk asks (follow-ups when they apply), plus whatever else was answered
    scope = [q for q in detail.questions if q.id in detail.answers or is_asked(q, detail.answers)]
    answered = sum(1 for q in scope if q.id in detail.answers)

    def label(key: str, **values: object) -> str:
        return terminal_safe(ui(f"sum.{key}", lang, **values))

    status = label(f"status.{r.status}") if r.status in ("draft", "complete") else terminal_safe(r.status)
    progress = terminal_safe(ui("progress", lang, answered=answered, total=len(scope)))
    head = label("head", ticket=detail.ticket.external_id, reviewer=r.reviewer, status=status, progress=progress)
    parts: list[Any] = [f"\n[bold]{head}[/]"]
    scores = Table(title=label("cells"), title_justify="left", box=None, padding=(0, 2))
    scores.add_column(label("cell"))
    scores.add_column(label("score"), justify="right")
    scores.add_column(label("ratings"), justify="right")
    scores.add_column(label("answered"), justify="right")
    titles = {c.id: c.title for cl in (detail.checklist, *detail.lenses) for c in cl.cells}
    all_scores = [*detail.scores, *(s for v in detail.lens_scores.values() for s in v)]
    for s in all_scores:
        score = "-" if s.score is None else f"{round(s.score * 100)}%"
        scores.add_row(
            cjk(f"{terminal_safe(titles.get(s.cell_id, s.cell_id))} [dim]{s.cell_id}[/]"),
            score,
            f"{s.rated}/{s.ratings}",
            f"{s.answered}/{s.questions}",
        )
    parts.append(scores)
    if detail.findings:
        parts.append(f"[bold]{label('findings')}[/]")
        for f in detail.findings:
            title, where = terminal_safe(finding_title(f.kind, lang)), terminal_safe(f.question_id or "")
            parts.append(f"  • {title} [dim]{where}[/]: {terminal_safe(finding_note(f, lang))}")
    else:
        parts.append(f"[bold]{label('findings.none')}[/]")
    if detail.actions:
        parts.append(f"[bold]{label('actions')}[/]")
        for a in detail.actions:
            due = a.due_date.isoformat() if a.due_date else label("no_due")
            owner = terminal_safe(a.owner) if a.owner else label("no_owner")
            kind, state = a.kind, a.status
            if lang.startswith("zh"):  # the report's words for the kind and the status; English keeps the ids
                words = labels(lang)
                kind, state = words.get(f"action_{a.kind}", a.kind), words.get(f"action_{a.status}", a.status)
            parts.append(
                f"  #{a.id} ({terminal_safe(kind)}) {terminal_safe(a.text)} — {owner}, {due}, {terminal_safe(state)}"
            )
    else:
        parts.append(f"[bold]{label('actions.none')}[/]")
    if detail.publication.status is Publication.publishable:
        parts.append(label("story.publishable"))
    elif detail.publication.status is Publication.not_for_publication:
        parts.append(f"[yellow]{label('story.not_for_publication')}[/]")
    if r.experience_level:
        parts.append(label("level", level=r.experience_level))
    if r.allow_gaps:
        parts.append(f"[yellow]{terminal_safe(ui('summary.gaps', lang))}[/]")
    return Group(*(cjk(p) for p in parts))


def report_hint(detail: "ReviewDetail", *, ref: str, report_command: str | None = None) -> str:
    """``Render the report: butterfly report ticket …`` (print it with ``soft_wrap``: a command to copy)."""
    command = report_command or f"butterfly report ticket {terminal_plain(ref)}"
    return "\n" + ui("report", detail.checklist.language, command=f"[bold]{terminal_safe(command)}[/]")
