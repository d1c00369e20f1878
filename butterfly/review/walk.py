"""The guided butterfly walk: context first, then cell by cell, every answer saved the moment it is given.

The engine is independent of the terminal: it talks to a small :class:`WalkIO` (print a Rich renderable, ask
for one line, open an editor), so it runs the same under a real terminal, ``CliRunner(input=...)`` and pexpect.
Nothing is kept only in memory: each answer goes through :func:`butterfly.review.answers.save_answer`, which commits
at once, and the review remembers the question the reviewer was on, so running the command again resumes
there. Ctrl-C, a closed terminal or ``kill -9`` lose at most the answer being typed.

Keys at any question: ``?`` help, Enter keep/skip, ``s`` skip, ``b`` back, ``j`` jump to a cell, ``na`` not
applicable, ``a`` add an action item, ``e`` open ``$EDITOR`` (text answers), ``q`` quit. A text answer that is
one of these keys is typed with a leading backslash (``\\b``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from rich.rule import Rule
from rich.table import Table

from butterfly.checklist.model import ActionKind, AnswerKind, Cell, Checklist, Guard, Question
from butterfly.errors import ConflictError, InvalidInputError
from butterfly.review.actions import create_action, parse_due, parse_kind
from butterfly.review.answers import answer_values, answers_for, display_value, save_answer, validate_answer
from butterfly.review.guards import (
    Publication,
    certainty_line,
    compensation_before_resolution,
    consent_text,
    find_blame,
    local_time,
    publication_status,
    skip_reason,
    text,
)
from butterfly.review.lifecycle import (
    complete_review,
    ensure_reviewable,
    get_review,
    load_lenses,
    refresh_findings,
    reopen_review,
    set_experience_level,
    set_position,
    start_review,
)
from butterfly.review.queries import review_detail
from butterfly.review.similar import CustomerHistory, SimilarTicket, customer_history, similar_tickets
from butterfly.sanitise import terminal_plain, terminal_safe
from butterfly.settings import get_settings
from butterfly.store.models import ReviewStatus
from butterfly.timeutil import format_duration

if TYPE_CHECKING:
    from sqlmodel import Session

    from butterfly.review.queries import ReviewDetail
    from butterfly.store.models import Answer, Review, Ticket

KEYS_HELP = (
    "keys: ? help · Enter keep the answer (or skip) · s skip · b back · j jump to a cell · na not applicable · "
    "a add an action item · e editor (text) · q quit. End a line with \\ to write several lines."
)
COMMANDS = frozenset({"?", "b", "s", "j", "q", "e", "a", "<", ">"})


class WalkIO(Protocol):
    """What the walk needs from a terminal."""

    def print(self, *objects: Any) -> None: ...

    def ask(self, prompt: str) -> str:
        """One line of input (without the newline); raises EOFError when input is closed."""
        ...

    def edit(self, initial: str) -> str:
        """Let the reviewer edit ``initial`` in their editor; returns the new text."""
        ...

    def show_context(self, context: ReviewContext) -> None:
        """Show the ticket's context (facts, timeline, the customer's history, similar tickets)."""
        ...

    def show_summary(self, detail: ReviewDetail, ref: str) -> None:
        """Show the review's summary: cell scores, findings, action items."""
        ...


class WalkStopped(Exception):
    """The reviewer quit (``q``) or the input was closed; everything answered is saved."""


# -- context panel ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReviewContext:
    """What the reviewer sees before the first question."""

    ticket: Ticket
    history: CustomerHistory
    similar: list[SimilarTicket]


def review_context(*, session: Session, ticket: Ticket, similar_limit: int = 5) -> ReviewContext:
    """The ticket, the customer's earlier tickets and the same problem at other customers."""
    return ReviewContext(
        ticket=ticket,
        history=customer_history(session=session, ticket=ticket),
        similar=similar_tickets(session=session, ticket=ticket, limit=similar_limit),
    )


# -- steps ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    question: Question
    cell: Cell
    checklist: Checklist


def build_steps(checklist: Checklist, lenses: Sequence[Checklist]) -> list[Step]:
    """The six cells' questions in order (customer short → long, company short → long), then each lens."""
    return [Step(q, cell, cl) for cl in (checklist, *lenses) for cell in cl.cells for q in cell.questions]


def resume_index(steps: Sequence[Step], answered: set[str], position: str | None) -> int:
    """The first unanswered question after the saved position (wrapping around); ``len(steps)`` when done."""
    ids = [s.question.id for s in steps]
    start = ids.index(position) + 1 if position in ids else 0
    order = list(range(start, len(steps))) + list(range(0, start))
    for i in order:
        if ids[i] not in answered:
            return i
    return len(steps)


# -- the walk ------------------------------------------------------------------------------------------------


class Walk:
    """One run of the interactive walk over a review."""

    def __init__(
        self,
        *,
        session: Session,
        io: WalkIO,
        ticket: Ticket,
        review: Review,
        checklist: Checklist,
        lenses: Sequence[Checklist] = (),
        reviewer: str,
        ref: str,
        tz: str | None = None,
    ) -> None:
        assert review.id is not None
        self.session = session
        self.io = io
        self.ticket = ticket
        self.review = review
        self.checklist = checklist
        self.lenses = list(lenses)
        self.reviewer = reviewer
        self.ref = ref
        self.tz = tz
        self.lang = checklist.language
        self.steps = build_steps(checklist, self.lenses)
        self.questions = [s.question for s in self.steps]
        # each question's rating scale is its own checklist's (a team lens may use another scale)
        self.scales = {s.question.id: s.checklist.scale for s in self.steps}
        self.answers: dict[str, Answer] = answers_for(session=session, review_id=review.id)
        self._shown_cell: str | None = None

    # -- helpers ---------------------------------------------------------------------------------------------
    @property
    def answered(self) -> int:
        ids = {q.id for q in self.questions}
        return sum(1 for qid in self.answers if qid in ids)

    def progress(self) -> str:
        return f"{self.answered}/{len(self.questions)} answered"

    def _say(self, message: str) -> None:
        self.io.print(message)

    def _ask(self, prompt: str) -> str:
        try:
            return self.io.ask(prompt)
        except EOFError:
            raise WalkStopped("input closed") from None

    def _values(self) -> dict[str, Any]:
        return answer_values(self.answers)

    # -- entry point -----------------------------------------------------------------------------------------
    def run(self, context: ReviewContext | None = None) -> ReviewDetail | None:
        """Walk the review; returns its detail at the end, or ``None`` when the reviewer quit."""
        if context is None:
            context = review_context(session=self.session, ticket=self.ticket)
        self.io.show_context(context)
        index = resume_index(self.steps, set(self.answers), self.review.position)
        if self.answers:
            self._show_done(index)
        else:
            self._say(f"[dim]{KEYS_HELP}[/]")
        try:
            while True:
                self._loop(index)
                outcome = self._finish()
                if not isinstance(outcome, int):
                    return outcome
                index = outcome  # back into the questions from the final steps
        except WalkStopped:
            self._say(
                f"Stopped. {self.progress()}, everything saved. Resume with: [bold]butterfly review {terminal_safe(self.ref)}[/]"
            )
            return None
        except KeyboardInterrupt:
            self._say(f"\n{self.progress()}, saved. Resume with: butterfly review {terminal_safe(self.ref)}")
            raise

    def _show_done(self, index: int) -> None:
        table = Table(title=f"Resuming your review: {self.progress()}", title_justify="left", box=None, padding=(0, 2))
        table.add_column("cell")
        table.add_column("answered", justify="right")
        for cl in (self.checklist, *self.lenses):
            for cell in cl.cells:
                done = sum(1 for q in cell.questions if q.id in self.answers)
                mark = "done" if done == len(cell.questions) else ""
                table.add_row(terminal_safe(cell.title), f"{done}/{len(cell.questions)} {mark}")
        self.io.print(table)
        if index < len(self.steps):
            self._say(f"Continuing at {self.steps[index].question.id}. [dim]{KEYS_HELP}[/]")
        else:
            self._say(
                "Every question has an answer. At the next prompt: b goes back to the last question, "
                "j jumps to a cell to change answers."
            )

    # -- the loop --------------------------------------------------------------------------------------------
    def _loop(self, index: int) -> None:
        direction = 1
        while 0 <= index < len(self.steps):
            step = self.steps[index]
            reason = skip_reason(step.question, self.questions, self._values())
            if reason is not None:
                self._say(f"[dim]skipped {step.question.id}: {reason}[/]")
                index += direction
                if index < 0:
                    index, direction = 0, 1
                continue
            direction = 1
            outcome = self._question(index, step)
            if outcome == "back":
                direction = -1
                index = max(0, index - 1)
            elif isinstance(outcome, int):
                index = outcome
            else:
                index += 1

    def _cell_header(self, step: Step) -> None:
        if self._shown_cell == step.cell.id:
            return
        self._shown_cell = step.cell.id
        self.io.print(Rule(f"{terminal_safe(step.cell.title)}"))
        self._say(f"[italic]{terminal_safe(step.cell.purpose)}[/]")

    def _kind_hint(self, q: Question) -> str:
        scale = self.scales.get(q.id, self.checklist.scale)
        if q.kind is AnswerKind.rating:
            points = " · ".join(f"{p.value} = {terminal_safe(p.label)}" for p in scale.points)
            return f"{points} · na = {terminal_safe(scale.na_label)}"
        if q.kind is AnswerKind.yes_no:
            return "y = yes · n = no · na"
        if q.kind is AnswerKind.datetime:
            return f"YYYY-MM-DD HH:MM ({terminal_safe(self.tz or get_settings().timezone)}) · na"
        if q.kind is AnswerKind.choice:
            assert q.choices is not None
            lines = "\n".join(f"  {i}) {terminal_safe(c.label)}" for i, c in enumerate(q.choices, start=1))
            how = "numbers separated by commas" if q.multiple else "a number"
            return f"{lines}\n  ({how}, or na)"
        return "text · e = editor · end a line with \\ to continue"

    def _show_question(self, index: int, step: Step) -> None:
        q = step.question
        self._cell_header(step)
        position = f"{step.cell.id} {step.cell.questions.index(q) + 1}/{len(step.cell.questions)}"
        self._say(f"\n[bold]{terminal_safe(q.text)}[/]\n[dim]{position} · {q.id} · {self.progress()}[/]")
        if q.guard is Guard.certainty:
            self._say(
                f"[cyan]{terminal_safe(text('certainty.title', self.lang))}:[/] {terminal_safe(certainty_line(self.ticket, self.lang))}"
            )
        self._say(self._kind_hint(q))
        current = self.answers.get(q.id)
        if current is not None:
            shown = display_value(
                q, current.value, current.na, self.scales.get(q.id, self.checklist.scale), lang=self.lang
            )
            self._say(f"[dim]current answer:[/] {terminal_safe(shown)}  [dim](Enter keeps it)[/]")

    def _question(self, index: int, step: Step) -> str | int | None:
        """Ask one question until it is answered or left; returns 'back', a new index, or None (next)."""
        q = step.question
        self._show_question(index, step)
        while True:
            raw = self._ask("> ")
            word = raw.strip()
            low = word.lower()
            if low == "?":
                self._say(f"[italic]{terminal_safe(q.help or 'No help text for this question.')}[/]")
                self._say(f"[dim]{KEYS_HELP}[/]")
                continue
            if low == "q":
                raise WalkStopped("quit")
            if low in ("b", "<"):
                return "back"
            if low in ("s", ">"):
                return None
            if low == "":
                return None  # keep the current answer, or leave it unanswered
            if low == "j":
                target = self._choose_cell()
                if target is not None:
                    return target
                self._show_question(index, step)
                continue
            if low == "a":
                self._offer_action(q, ask_first=False)
                continue
            if low == "e":
                if q.kind is not AnswerKind.text:
                    self._say("[yellow]The editor is for text answers.[/]")
                    continue
                current = self.answers.get(q.id)
                initial = current.value if current is not None and isinstance(current.value, str) else ""
                try:
                    edited = self.io.edit(_editor_template(q, initial))
                except InvalidInputError as exc:
                    self._say(f"[red]{terminal_safe(exc.message)}[/]")
                    continue
                raw = _strip_editor_comments(edited)
                if not raw.strip():
                    self._say("[yellow]Nothing written; the answer is unchanged.[/]")
                    continue
            elif q.kind is AnswerKind.text:
                if word.startswith("\\") and word[1:].lower() in COMMANDS:
                    raw = word[1:]
                lines = [raw]
                while lines[-1].endswith("\\"):
                    lines[-1] = lines[-1][:-1]
                    lines.append(self._ask("… "))
                raw = "\n".join(lines)
            if self._answer(q, raw):
                return None

    def _answer(self, q: Question, raw: str) -> bool:
        """Validate and save one answer, then run the guards; False to ask again."""
        try:
            value, na = validate_answer(q, raw, self.scales.get(q.id, self.checklist.scale), tz=self.tz)
        except InvalidInputError as exc:
            hint = f" ({exc.hint})" if exc.hint else ""
            self._say(f"[red]{terminal_safe(exc.message)}{terminal_safe(hint)}[/]")
            return False
        current = self.answers.get(q.id)
        try:
            saved = save_answer(
                session=self.session,
                review_id=self.review.id or 0,
                question_id=q.id,
                value=value,
                na=na,
                note=current.note if current is not None else None,
                by=self.reviewer,
                expected_version=current.version if current is not None else 0,
            )
        except ConflictError as exc:
            from butterfly.review.answers import answers_for

            self._say(f"[red]{terminal_safe(exc.message)}[/]")
            self.answers = answers_for(session=self.session, review_id=self.review.id or 0)
            newer = self.answers.get(q.id)
            if newer is not None:
                shown = display_value(
                    q, newer.value, newer.na, self.scales.get(q.id, self.checklist.scale), lang=self.lang
                )
                self._say(f"now saved: {terminal_safe(shown)} — answer again to replace it, or Enter to keep it")
            return False
        self.answers[q.id] = saved

        self.review = set_position(session=self.session, review=self.review, question_id=q.id)
        self._say(f"[green]saved[/] [dim]({self.progress()})[/]")
        return self._after_answer(q, saved)

    # -- guards after an answer ---------------------------------------------------------------------------------
    def _refresh_findings(self) -> None:
        refresh_findings(
            session=self.session, review=self.review, ticket=self.ticket, questions=self.questions, lang=self.lang
        )

    def _after_answer(self, q: Question, saved: Answer) -> bool:
        if q.guard is not None:
            self._refresh_findings()
        if q.guard is Guard.blameless and isinstance(saved.value, str) and not saved.na:
            matches = find_blame(saved.value)
            if matches:
                phrase = "; ".join(m.phrase for m in matches)
                self._say(f"\n[yellow]{terminal_safe(text('blameless.title', self.lang))}[/]")
                self._say(terminal_safe(text("blameless.prompt", self.lang, match=phrase)))
                while True:
                    choice = self._ask(f"{text('blameless.choice', self.lang)} > ").strip().lower()
                    if choice in ("r", "k", ""):
                        break
                if choice == "r":
                    self._say("Reword your answer (in terms of resources, process and authority):")
                    return False  # ask again; the finding stays and is marked reworded once the wording is clean
        if q.guard in (Guard.compensation_made, Guard.compensation_time):
            check = compensation_before_resolution(self.questions, self._values(), self.ticket)
            if check is not None:
                self._say(f"\n[yellow]{terminal_safe(text('compensation.title', self.lang))}[/]")
                self._say(
                    terminal_safe(
                        text(
                            "compensation.before_resolution",
                            self.lang,
                            made_at=local_time(check.made_at, self.tz),
                            resolved_at=local_time(check.resolved_at, self.tz),
                            gap=format_duration(check.early_by),
                        )
                    )
                )
                self._say(terminal_safe(text("compensation.why", self.lang)))
        if q.guard is Guard.publicity_planned and saved.value is True:
            self._say(f"\n[yellow]{terminal_safe(text('consent.title', self.lang))}[/]")
            self._say(terminal_safe(text("consent.required", self.lang)))
        if q.guard in (Guard.consent_given, Guard.consent_scope):
            status = publication_status(self.questions, self._values())
            last = q.guard is Guard.consent_scope or (q.guard is Guard.consent_given and saved.value is False)
            if last and status.status is Publication.not_for_publication:
                self._say(f"[yellow]{terminal_safe(consent_text('consent.not_for_publication', status, self.lang))}[/]")
        if q.action is not None and not saved.na:
            self._offer_action(q, ask_first=True)
        return True

    # -- actions, jumps ------------------------------------------------------------------------------------------
    def _offer_action(self, q: Question, *, ask_first: bool) -> None:
        kind = q.action.value if q.action else None
        if ask_first:
            label = (kind or "action").replace("_", " ")
            if self._ask(f"Create an action item ({label}) from this answer? [y/N] > ").strip().lower() not in (
                "y",
                "yes",
                "是",
            ):
                return
        if kind is None:
            kinds = " · ".join(f"{i}) {k.value}" for i, k in enumerate(ActionKind, start=1))
            while True:
                raw = self._ask(f"kind: {kinds} > ").strip()
                if not raw:
                    return
                if raw.isdigit() and 1 <= int(raw) <= len(ActionKind):
                    kind = list(ActionKind)[int(raw) - 1].value
                    break
                try:
                    kind = parse_kind(raw).value
                    break
                except InvalidInputError as exc:
                    self._say(f"[red]{terminal_safe(exc.message)}[/]")
        current = self.answers.get(q.id)
        default = ""
        if current is not None and isinstance(current.value, str) and q.kind is AnswerKind.text:
            default = current.value.splitlines()[0][:200]
        body = self._ask(f"what to do{f' [{terminal_plain(default)}]' if default else ''} > ").strip() or default
        if not body:
            self._say("[dim]no action item created[/]")
            return
        owner = self._ask("owner (Enter for none) > ").strip() or None
        while True:
            due_raw = self._ask("due date YYYY-MM-DD (Enter for none) > ").strip()
            try:
                due = parse_due(due_raw)
                break
            except InvalidInputError as exc:
                self._say(f"[red]{terminal_safe(exc.message)}[/]")
        item = create_action(
            session=self.session,
            kind=kind,
            text=body,
            owner=owner,
            due_date=due,
            review_id=self.review.id,
            ticket_id=self.ticket.id,
            question_id=q.id,
            by=self.reviewer,
        )
        self._say(f"[green]action item #{item.id} saved[/] ({terminal_safe(item.kind)}, due {item.due_date or '-'})")

    def _choose_cell(self) -> int | None:
        cells: list[tuple[Cell, int]] = []
        for i, step in enumerate(self.steps):
            if not cells or cells[-1][0].id != step.cell.id:
                cells.append((step.cell, i))
        for n, (cell, _) in enumerate(cells, start=1):
            done = sum(1 for q in cell.questions if q.id in self.answers)
            self._say(f"  {n}) {terminal_safe(cell.title)} [dim]({cell.id}, {done}/{len(cell.questions)})[/]")
        raw = self._ask("jump to cell (number or id, Enter to stay) > ").strip()
        if not raw:
            return None
        for n, (cell, start) in enumerate(cells, start=1):
            if raw == str(n) or raw == cell.id:
                self._shown_cell = None
                return start
        self._say(f"[red]no cell '{terminal_safe(raw)}'[/]")
        return None

    # -- the end ---------------------------------------------------------------------------------------------
    def _finish(self) -> ReviewDetail | int:
        """Experience level, completion and the summary; an index when the reviewer goes back (b / j)."""
        missing = [q.id for q in self.questions if q.required and q.id not in self.answers]
        if missing:
            self._say(
                f"\n{len(missing)} required question(s) not answered yet: {', '.join(missing[:8])}"
                + (" …" if len(missing) > 8 else "")
            )
        back = self._ask_experience(set_experience_level)
        if back is not None:
            return back
        default_yes = not missing
        prompt = f"Mark the review complete? [{'Y/n' if default_yes else 'y/N'}] > "
        answer = self._ask(prompt).strip().lower()
        if answer in ("y", "yes", "是") or (answer == "" and default_yes):
            self.review = complete_review(session=self.session, review=self.review)
        detail = review_detail(session=self.session, review=self.review, checklist=self.checklist)
        self.io.show_summary(detail, self.ref)
        return detail

    def _ask_experience(self, setter: Any) -> int | None:
        """Ask for the overall experience level; an index to go back to when the reviewer types b or j."""
        try:
            from butterfly.review.experience import load_experience_levels
        except ImportError:  # pragma: no cover - shipped with butterfly
            return None
        levels = load_experience_levels().levels
        self._say("\n[bold]Overall, which experience level did the customer get?[/]")
        for i, lv in enumerate(levels, start=1):
            self._say(f"  {i}) {terminal_safe(lv.label(self.lang))} [dim]— {terminal_safe(lv.describe(self.lang))}[/]")
        current = self.review.experience_level
        # the surprise lens asks the same question: its answer is offered when the review has no level yet
        lens_answer = self.answers.get("surprise.foundation.level")
        suggested = None
        if not current and lens_answer is not None and not lens_answer.na:
            suggested = next((lv.id for lv in levels if lv.id == lens_answer.value), None)
        if current:
            keep = f" (Enter keeps {current})"
        elif suggested:
            keep = f" (Enter takes {suggested}, your surprise-lens answer)"
        else:
            keep = " (Enter to skip)"
        while True:
            raw = self._ask(f"experience level 1-{len(levels)}{keep}, b back, j jump > ").strip().lower()
            if raw in ("b", "<"):
                self._shown_cell = None
                return len(self.steps) - 1
            if raw == "j":
                target = self._choose_cell()
                if target is not None:
                    return target
                continue
            if raw == "q":
                raise WalkStopped("quit")
            if not raw and suggested:
                raw = suggested
            if not raw:
                return None
            chosen = None
            if raw.isdigit() and 1 <= int(raw) <= len(levels):
                chosen = levels[int(raw) - 1].id
            else:
                chosen = next((lv.id for lv in levels if raw in (lv.id, lv.label(self.lang).lower())), None)
            if chosen is None:
                self._say(f"[red]'{terminal_safe(raw)}' is not a level[/] (1-{len(levels)})")
                continue
            self.review = setter(session=self.session, review=self.review, level=chosen)
            self._say(f"[green]saved[/] experience level: {chosen}")
            return None


def _editor_template(q: Question, initial: str) -> str:
    head = "\n".join(f"# {line}" for line in q.text.splitlines())
    return f"{initial}\n\n{head}\n# Lines starting with # are ignored. Save and close the editor to answer.\n"


def _strip_editor_comments(text_in: str) -> str:
    return "\n".join(line for line in text_in.splitlines() if not line.startswith("#")).strip()


# -- entry point -------------------------------------------------------------------------------------------------


def run_review_walk(
    *,
    session: Session,
    io: WalkIO,
    ticket: Ticket,
    reviewer: str,
    checklist: Checklist,
    lenses: Sequence[str] = (),
    allow_open: bool = False,
    ref: str | None = None,
    tz: str | None = None,
) -> ReviewDetail | None:
    """Start or resume the reviewer's review of ``ticket`` and walk it; ``None`` when the reviewer stopped.

    A complete review is reopened only if the reviewer says so.
    """
    assert ticket.id is not None
    ref = ref or ticket.external_id
    existing = get_review(session=session, ticket_id=ticket.id, reviewer=reviewer)
    if existing is None:
        ensure_reviewable(ticket, allow_open=allow_open)
    lens_names = list(dict.fromkeys([*(existing.lenses if existing else []), *lenses]))
    lens_lists = load_lenses(lens_names, checklist.language)
    context = review_context(session=session, ticket=ticket)  # before any write: Enter → first question is fast
    review = start_review(
        session=session,
        ticket=ticket,
        reviewer=reviewer,
        checklist=checklist,
        lenses=lens_names,
        allow_open=allow_open,
    )
    if review.status == ReviewStatus.complete.value:
        io.show_context(context)
        detail = review_detail(session=session, review=review, checklist=checklist)
        io.show_summary(detail, ref)
        try:
            answer = io.ask("This review is complete. Reopen it to edit? [y/N] > ").strip().lower()
        except EOFError:
            return detail
        if answer not in ("y", "yes", "是"):
            return detail
        review = reopen_review(session=session, review=review)
        context = review_context(session=session, ticket=ticket)
    walk = Walk(
        session=session,
        io=io,
        ticket=ticket,
        review=review,
        checklist=checklist,
        lenses=lens_lists,
        reviewer=reviewer,
        ref=ref,
        tz=tz,
    )
    return walk.run(context)
