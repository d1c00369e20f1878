"""The guided butterfly walk: context first, then cell by cell, every answer saved the moment it is given.

The engine is independent of the terminal: it talks to a small :class:`WalkIO` (print a Rich renderable, ask
for one line, open an editor), so it runs the same under a real terminal, ``CliRunner(input=...)`` and pexpect.
Nothing is kept only in memory: each answer goes through :func:`butterfly.review.answers.save_answer`, which commits
at once, and the review remembers the question the reviewer was on, so running the command again resumes
there. Ctrl-C, a closed terminal or ``kill -9`` lose at most the answer being typed.

Keys at any question: ``?`` help, Enter keep/skip, ``s`` skip, ``b`` back, ``j`` jump to a cell, ``c`` show the
ticket again, ``d`` deep walk, ``x`` the whole cell N/A, ``na`` not applicable, ``a`` add an action item, ``e``
open ``$EDITOR`` (text answers), ``q`` quit. A text answer that is one of these keys is typed with a leading
backslash (``\\b``). At a rating, ``1 2 - 1`` answers the cell's ratings from there in one line.

The default walk asks the questions that are not ``deep`` and, of the follow-ups (``when``), those an earlier
answer makes relevant; ``--deep`` (or ``d``) asks every question. Every word printed comes from
``butterfly/data/walk.yaml`` (or the guards' and checklist files) in the review's language.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from rich.rule import Rule
from rich.table import Table

from butterfly.checklist.model import (
    ActionKind,
    AnswerKind,
    Cell,
    Checklist,
    Guard,
    Question,
    is_asked,
    missing_required,
)
from butterfly.conversation.store import thread_facts
from butterfly.errors import ConflictError, InvalidInputError
from butterfly.labels import ui
from butterfly.review import walk_input
from butterfly.review.actions import create_action, parse_due, parse_kind
from butterfly.review.answers import (
    AnswerError,
    answer_values,
    answers_for,
    display_value,
    save_answer,
    validate_answer,
)
from butterfly.review.findings import dismiss_finding
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
    discard_if_empty,
    ensure_reviewable,
    get_review,
    load_lenses,
    refresh_findings,
    reopen_review,
    set_experience_level,
    set_position,
    start_review,
)
from butterfly.review.prefill import Prefiller, Proposal
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

COMMANDS = frozenset({"?", "b", "s", "j", "q", "e", "a", "c", "d", "x", "<", ">"})


class WalkIO(Protocol):
    """What the walk needs from a terminal."""

    def print(self, *objects: Any, soft_wrap: bool = False) -> None:
        """Print Rich renderables; ``soft_wrap`` prints a line unwrapped and uncropped (a command to copy)."""
        ...

    def ask(self, prompt: str) -> str:
        """One line of input (without the newline); raises EOFError when input is closed."""
        ...

    def edit(self, initial: str) -> str:
        """Let the reviewer edit ``initial`` in their editor; returns the new text."""
        ...

    def show_context(self, context: ReviewContext) -> None:
        """Show the ticket's context (facts, timeline, the customer's history, similar tickets)."""
        ...

    def show_summary(self, detail: ReviewDetail, ref: str, report_command: str | None = None) -> None:
        """Show the review's summary (cell scores, findings, action items) and the report command, unwrapped."""
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
    lang: str = "en"  # the language the panel is shown in


def review_context(*, session: Session, ticket: Ticket, similar_limit: int = 5, lang: str = "en") -> ReviewContext:
    """The ticket, the customer's earlier tickets and the same problem at other customers."""
    return ReviewContext(
        ticket=ticket,
        history=customer_history(session=session, ticket=ticket),
        similar=similar_tickets(session=session, ticket=ticket, limit=similar_limit),
        lang=lang,
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
        deep: bool = False,
        allow_gaps: bool = False,
        hint_args: str = "",
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
        self.deep = deep
        self.allow_gaps = allow_gaps
        self.hint_args = hint_args  # --db/--reviewer/--lang in use, carried by every command hint printed
        self.context: ReviewContext | None = None
        self._jump_cell: str | None = None  # after a jump: this cell, then back to the first unanswered
        self._done_in_line: set[str] = set()  # answered by a one-line rating answer in this run: not asked again
        self.prefiller: Prefiller | None = None

    def proposal(self, q: Question) -> Proposal | None:
        """An answer the data proposes for ``q`` (only while it has no answer): Enter accepts it."""
        if self.prefiller is None or q.id in self.answers:
            return None
        return self.prefiller.propose(q.id, self.answers)

    # -- helpers ---------------------------------------------------------------------------------------------
    @property
    def answered(self) -> int:
        ids = {q.id for q in self.questions}
        return sum(1 for qid in self.answers if qid in ids)

    def asked(self, q: Question) -> bool:
        """Whether this walk asks ``q`` (deep ones only in the deep walk, follow-ups when they apply)."""
        return is_asked(q, self.answers, deep=self.deep)

    def in_scope(self) -> list[Question]:
        """The questions this walk asks, plus any other question already answered."""
        return [q for q in self.questions if q.id in self.answers or self.asked(q)]

    def progress(self) -> str:
        scope = self.in_scope()
        done = sum(1 for q in scope if q.id in self.answers)
        return ui("progress", self.lang, answered=done, total=len(scope))

    def missing(self) -> list[str]:
        return missing_required(self.questions, self.answers, self.answers)

    def first_unanswered(self) -> int:
        """Index of the first question asked and not answered yet; ``len(steps)`` when there is none."""
        for i, step in enumerate(self.steps):
            if step.question.id not in self.answers and self.asked(step.question):
                return i
        return len(self.steps)

    def command(self, what: str) -> str:
        """A command hint with the options in use (``--db``, ``--reviewer``, ``--lang``)."""
        return f"butterfly {what} {terminal_plain(self.ref)}" + (f" {self.hint_args}" if self.hint_args else "")

    def confirm(self, question: str, *, default: bool) -> bool:
        """A ``[y/N]`` prompt that takes y/n/是/否 only (Enter: the default); anything else asks again."""
        marks = ui("yn.yes_default" if default else "yn.no_default", self.lang)
        while True:
            answer = walk_input.yes_no(self._ask(f"{question} {marks} > "), default=default)
            if answer is not None:
                return answer
            self._say(f"[yellow]{terminal_safe(ui('yes_no.again', self.lang))}[/]")

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
            context = review_context(session=self.session, ticket=self.ticket, lang=self.lang)
        self.context = context
        self.prefiller = Prefiller(session=self.session, ticket=self.ticket, similar=context.similar, lang=self.lang)
        self.io.show_context(context)
        asked = {s.question.id for s in self.steps if not self.asked(s.question)} | set(self.answers)
        index = resume_index(self.steps, asked, self.review.position)
        if self.answers:
            self._show_done(index)
        else:
            self._say(f"[dim]{terminal_safe(ui('keys', self.lang))}[/]")
        try:
            while True:
                self._loop(index)
                outcome = self._finish()
                if not isinstance(outcome, int):
                    return outcome
                index = outcome  # back into the questions from the final steps
        except WalkStopped:
            if self._discard_if_empty():
                self._say(terminal_safe(ui("stopped.empty", self.lang)))
            else:
                command = f"[bold]{terminal_safe(self.command('review'))}[/]"
                self.io.print(ui("stopped", self.lang, progress=self.progress(), command=command), soft_wrap=True)
            return None
        except KeyboardInterrupt:
            if self._discard_if_empty():
                self._say("\n" + terminal_safe(ui("stopped.empty", self.lang)))
            else:
                command = terminal_safe(self.command("review"))
                self.io.print(
                    "\n" + ui("interrupted", self.lang, progress=self.progress(), command=command), soft_wrap=True
                )
            raise

    def _discard_if_empty(self) -> bool:
        if self.answers:
            return False
        try:
            return discard_if_empty(session=self.session, review=self.review)
        except Exception:  # never lose the stop itself over the clean-up
            self.session.rollback()
            return False

    def _show_done(self, index: int) -> None:

        title = ui("resuming", self.lang, progress=self.progress())
        table = Table(title=terminal_safe(title), title_justify="left", box=None, padding=(0, 2))
        table.add_column(terminal_safe(ui("sum.cell", self.lang)))
        table.add_column(terminal_safe(ui("sum.answered", self.lang)), justify="right")
        for cl in (self.checklist, *self.lenses):
            for cell in cl.cells:
                scope = [q for q in cell.questions if q.id in self.answers or self.asked(q)]
                done = sum(1 for q in scope if q.id in self.answers)
                mark = "✓" if done == len(scope) else ""
                table.add_row(terminal_safe(cell.title), f"{done}/{len(scope)} {mark}")
        self.io.print(table)
        if index < len(self.steps):
            continuing = ui("continuing", self.lang, qid=self.steps[index].question.id)
            self._say(f"{terminal_safe(continuing)} [dim]{terminal_safe(ui('keys', self.lang))}[/]")
        else:
            self._say(terminal_safe(ui("all_answered", self.lang)))

    # -- the loop --------------------------------------------------------------------------------------------
    def _loop(self, index: int) -> None:
        direction = 1
        while 0 <= index < len(self.steps):
            step = self.steps[index]
            if self._jump_cell is not None and step.cell.id != self._jump_cell:
                # a jump walks the chosen cell, then returns to the first unanswered question
                self._jump_cell = None
                index = self.first_unanswered()
                if index < len(self.steps):
                    self._say(f"[dim]{terminal_safe(ui('jump.back', self.lang, qid=self.steps[index].question.id))}[/]")
                continue
            q = step.question
            leave = not self.asked(q) or (q.id in self._done_in_line and direction == 1)
            reason = None if leave or q.conditions else skip_reason(q, self.questions, self._values())
            if leave or reason is not None:
                if reason is not None:
                    self._say(f"[dim]skipped {q.id}: {reason}[/]")
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
            if q.anchors:
                points = " · ".join(f"{v} = {terminal_safe(a)}" for v, a in sorted(q.anchors.items()))
            else:
                points = " · ".join(f"{p.value} = {terminal_safe(p.label)}" for p in scale.points)
            return f"{points} · na = {terminal_safe(scale.na_label)}"
        if q.kind is AnswerKind.yes_no:
            return ui("hint.yes_no", self.lang)
        if q.kind is AnswerKind.datetime:
            return f"YYYY-MM-DD HH:MM ({terminal_safe(self.tz or get_settings().timezone)}) · na"
        if q.kind is AnswerKind.choice:
            assert q.choices is not None
            lines = "\n".join(f"  {i}) {terminal_safe(c.label)}" for i, c in enumerate(q.choices, start=1))
            return f"{lines}\n  ({ui('hint.choices' if q.multiple else 'hint.choice', self.lang)})"
        return ui("hint.text", self.lang)

    def _show_question(self, index: int, step: Step) -> None:
        q = step.question
        self._cell_header(step)
        position = f"{step.cell.id} {step.cell.questions.index(q) + 1}/{len(step.cell.questions)}"
        self._say(f"\n[bold]{terminal_safe(q.text)}[/]\n[dim]{position} · {q.id} · {self.progress()}[/]")
        if q.guard is Guard.certainty:
            _thread, facts = thread_facts(session=self.session, ticket=self.ticket)
            title = text("certainty.title_facts" if facts is not None else "certainty.title", self.lang)
            line = certainty_line(self.ticket, self.lang, facts)
            self._say(f"[cyan]{terminal_safe(title)}:[/] {terminal_safe(line)}")
        self._say(self._kind_hint(q))
        current = self.answers.get(q.id)
        if current is not None:
            shown = display_value(
                q, current.value, current.na, self.scales.get(q.id, self.checklist.scale), lang=self.lang
            )
            current_label, keep = ui("current", self.lang), ui("current.keep", self.lang)
            self._say(f"[dim]{terminal_safe(current_label)}[/] {terminal_safe(shown)}  [dim]{terminal_safe(keep)}[/]")
        proposed = self.proposal(q)
        if proposed is not None:
            scale = self.scales.get(q.id, self.checklist.scale)
            try:
                value, na = validate_answer(q, proposed.raw, scale, tz=self.tz)
            except InvalidInputError:  # a team checklist with other choice ids: no proposal
                return
            shown = display_value(q, value, na, scale, lang=self.lang)
            source = ui(proposed.source, self.lang, **proposed.values)
            self._say(f"[cyan]{terminal_safe(ui('proposal', self.lang, answer=shown, source=source))}[/]")

    def _question(self, index: int, step: Step) -> str | int | None:
        """Ask one question until it is answered or left; returns 'back', a new index, or None (next)."""
        q = step.question
        self._show_question(index, step)
        while True:
            raw = self._ask("> ")
            word = raw.strip()
            low = word.lower()
            if low == "?":
                self._say(f"[italic]{terminal_safe(q.help or ui('help.none', self.lang))}[/]")
                for value, anchor in sorted((q.anchors or {}).items()):
                    self._say(f"  {value} = {terminal_safe(anchor)}")
                self._say(f"[dim]{terminal_safe(ui('keys', self.lang))}[/]")
                continue
            if low == "c" and self.context is not None:
                self.io.show_context(self.context)
                self._show_question(index, step)
                continue
            if low == "d":
                self.deep = True
                self._say(f"[cyan]{terminal_safe(ui('deep.on', self.lang))}[/]")
                return self.first_unanswered()
            if low == "x":
                return self._cell_na(index, step)
            if q.kind is AnswerKind.rating and walk_input.is_rating_line(word):
                outcome = self._rating_line(index, step, word)
                if outcome is not None:
                    return outcome
                continue
            if low == "q":
                raise WalkStopped("quit")
            if low in ("b", "<"):
                return "back"
            if low in ("s", ">"):
                return None
            if low == "":
                proposed = self.proposal(q)
                if proposed is not None:  # Enter accepts the proposal: only now is it stored
                    if self._answer(q, proposed.raw):
                        return None
                    continue
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
                    self._say(f"[yellow]{terminal_safe(ui('editor.text_only', self.lang))}[/]")
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
                    self._say(f"[yellow]{terminal_safe(ui('editor.nothing', self.lang))}[/]")
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

    def _answer(self, q: Question, raw: str, *, quiet: bool = False) -> bool:
        """Validate and save one answer, then run the guards; False to ask again."""
        try:
            value, na = validate_answer(q, raw, self.scales.get(q.id, self.checklist.scale), tz=self.tz)
        except InvalidInputError as exc:
            message, hint = exc.message, exc.hint
            if isinstance(exc, AnswerError):  # said in the reviewer's language
                message = ui(exc.key, self.lang, **exc.values)
                hint = ui(f"{exc.key}.hint", self.lang, **exc.values) if exc.hint else None
            shown_hint = "" if not hint else (f"（{hint}）" if self.lang.startswith("zh") else f" ({hint})")
            self._say(f"[red]{terminal_safe(message)}{terminal_safe(shown_hint)}[/]")
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
            self._say(f"[red]{terminal_safe(exc.message)}[/]")
            self.answers = answers_for(session=self.session, review_id=self.review.id or 0)
            newer = self.answers.get(q.id)
            if newer is not None:
                shown = display_value(
                    q, newer.value, newer.na, self.scales.get(q.id, self.checklist.scale), lang=self.lang
                )
                self._say(terminal_safe(ui("conflict.now", self.lang, answer=shown)))
            return False
        self.answers[q.id] = saved
        self.review = set_position(session=self.session, review=self.review, question_id=q.id)
        if not quiet:
            self._say(f"[green]{terminal_safe(ui('saved', self.lang, progress=self.progress()))}[/]")
        return self._after_answer(q, saved)

    # -- one line for a cell: ratings, or N/A ---------------------------------------------------------------
    def _cell_rest(self, index: int, step: Step) -> list[int]:
        """Indexes of the questions asked in ``step``'s cell from ``index`` on."""
        out = []
        for i in range(index, len(self.steps)):
            if self.steps[i].cell.id != step.cell.id:
                break
            if self.asked(self.steps[i].question):
                out.append(i)
        return out

    def _rating_line(self, index: int, step: Step, raw: str) -> int | None:
        """``1 2 - na``: the ratings of this cell from here; the index to go on at, or ``None`` to ask again."""
        scale = self.scales.get(step.question.id, self.checklist.scale)
        values = [p.value for p in scale.points]
        entries = walk_input.rating_line(raw, values)
        if isinstance(entries, str):
            allowed = ", ".join(map(str, values))
            self._say(f"[red]{terminal_safe(ui('line.bad', self.lang, token=entries, allowed=allowed))}[/]")
            return None
        ratings = [i for i in self._cell_rest(index, step) if self.steps[i].question.kind is AnswerKind.rating]
        if len(entries) > len(ratings):
            self._say(f"[red]{terminal_safe(ui('line.too_many', self.lang, given=len(entries), left=len(ratings)))}[/]")
            return None
        for i, entry in zip(ratings, entries, strict=False):
            q = self.steps[i].question
            if entry.skip:
                continue
            if not self._answer(q, "na" if entry.na else str(entry.value)):
                return None
            self._done_in_line.add(q.id)
        return index + 1

    def _cell_na(self, index: int, step: Step) -> int:
        """``x``: every question of this cell not answered yet (from here) is N/A; then the next cell."""
        n = 0
        for i in self._cell_rest(index, step):
            q = self.steps[i].question
            if q.id not in self.answers and self._answer(q, "na", quiet=True):
                self._done_in_line.add(q.id)
                n += 1
        self._say(
            f"[green]{terminal_safe(ui('cell_na.done', self.lang, n=n))}[/] [dim]({terminal_safe(self.progress())})[/]"
        )
        end = index
        while end < len(self.steps) and self.steps[end].cell.id == step.cell.id:
            end += 1
        return end

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
                    if choice in ("r", "k", "d", ""):
                        break
                if choice == "d":
                    dismiss_finding(session=self.session, review=self.review, question_id=q.id, by=self.review.reviewer)
                    self._say(terminal_safe(text("blameless.dismissed", self.lang)))
                if choice == "r":
                    self._say(terminal_safe(ui("blameless.reword", self.lang)))
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
                            gap=format_duration(check.early_by, self.lang),
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
            if not self.confirm(ui("action.ask", self.lang, label=label), default=False):
                return
        if kind is None:
            kinds = " · ".join(f"{i}) {k.value}" for i, k in enumerate(ActionKind, start=1))
            while True:
                raw = self._ask(f"{ui('action.kind', self.lang)}: {kinds} > ").strip()
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
        what = ui("action.what", self.lang)
        body = self._ask(f"{what}{f' [{terminal_plain(default)}]' if default else ''} > ").strip() or default
        if not body:
            self._say(f"[dim]{terminal_safe(ui('action.none', self.lang))}[/]")
            return
        owner = self._ask(f"{ui('action.owner', self.lang)} > ").strip() or None
        while True:
            due_raw = self._ask(f"{ui('action.due', self.lang)} > ").strip()
            try:
                due = parse_due(due_raw)
            except InvalidInputError as exc:
                self._say(f"[red]{terminal_safe(exc.message)}[/]")
                continue
            past = due is not None and due < _today(self.tz)
            if past and not self.confirm(ui("due.past", self.lang, due=str(due)), default=False):
                continue
            break
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
        saved_item = ui("action.saved", self.lang, id=item.id, kind=item.kind, due=item.due_date or "-")
        self._say(f"[green]{terminal_safe(saved_item)}[/]")

    def _choose_cell(self) -> int | None:
        cells: list[tuple[Cell, int]] = []
        for i, step in enumerate(self.steps):
            if not cells or cells[-1][0].id != step.cell.id:
                cells.append((step.cell, i))
        for n, (cell, _) in enumerate(cells, start=1):
            done = sum(1 for q in cell.questions if q.id in self.answers)
            self._say(f"  {n}) {terminal_safe(cell.title)} [dim]({cell.id}, {done}/{len(cell.questions)})[/]")
        raw = self._ask(f"{ui('jump.ask', self.lang)} > ").strip()
        if not raw:
            return None
        for n, (cell, start) in enumerate(cells, start=1):
            if raw == str(n) or raw == cell.id:
                self._shown_cell = None
                self._jump_cell = cell.id
                return start
        self._say(f"[red]{terminal_safe(ui('jump.none', self.lang, cell=raw))}[/]")
        return None

    # -- the end ---------------------------------------------------------------------------------------------
    def _finish(self) -> ReviewDetail | int:
        """Experience level, completion and the summary; an index when the reviewer goes back (b / j)."""
        self._jump_cell = None
        back = self._ask_experience(set_experience_level)
        if back is not None:
            return back
        missing = self.missing()
        if not missing:
            if self.confirm(ui("complete.ask", self.lang), default=True):
                self.review = complete_review(session=self.session, review=self.review)
        else:
            shown = ", ".join(missing[:8]) + (" …" if len(missing) > 8 else "")
            self._say(f"\n[yellow]{terminal_safe(ui('complete.refused', self.lang, n=len(missing), ids=shown))}[/]")
            if self.allow_gaps:
                if self.confirm(ui("complete.with_gaps", self.lang), default=False):
                    self.review = complete_review(session=self.session, review=self.review, allow_gaps=True)
            else:
                while True:
                    raw = self._ask(f"{ui('complete.missing_prompt', self.lang)} > ").strip().lower()
                    if raw == "g":
                        self._shown_cell = None
                        return self.first_unanswered_of(missing)
                    if raw == "j":
                        target = self._choose_cell()
                        if target is not None:
                            return target
                        continue
                    if raw == "q":
                        raise WalkStopped("quit")
                    if raw == "":
                        self._say(terminal_safe(ui("complete.draft", self.lang)))
                        break
        detail = review_detail(session=self.session, review=self.review, checklist=self.checklist)
        self.io.show_summary(detail, self.ref, self.command("report ticket"))
        return detail

    def first_unanswered_of(self, ids: Sequence[str]) -> int:
        wanted = set(ids)
        return next((i for i, s in enumerate(self.steps) if s.question.id in wanted), len(self.steps))

    def _ask_experience(self, setter: Any) -> int | None:
        """Ask for the overall experience level; an index to go back to when the reviewer types b or j."""
        try:
            from butterfly.review.experience import load_experience_levels
        except ImportError:  # pragma: no cover - shipped with butterfly
            return None
        levels = load_experience_levels().levels
        self._say(f"\n[bold]{terminal_safe(ui('level.ask', self.lang))}[/]")
        for i, lv in enumerate(levels, start=1):
            self._say(f"  {i}) {terminal_safe(lv.label(self.lang))} [dim]— {terminal_safe(lv.describe(self.lang))}[/]")
        current = self.review.experience_level
        # the surprise lens asks the same question: its answer is offered when the review has no level yet
        lens_answer = self.answers.get("surprise.foundation.level")
        suggested = None
        if not current and lens_answer is not None and not lens_answer.na:
            suggested = next((lv.id for lv in levels if lv.id == lens_answer.value), None)
        if current:
            keep = ui("level.keep", self.lang, level=current)
        elif suggested:
            keep = ui("level.suggested", self.lang, level=suggested)
        else:
            keep = ui("level.skip", self.lang)
        while True:
            raw = self._ask(f"{ui('level.prompt', self.lang, n=len(levels), keep=keep)} > ").strip().lower()
            if raw in ("b", "<"):
                self._shown_cell = None
                asked = [i for i, st in enumerate(self.steps) if self.asked(st.question)]
                return asked[-1] if asked else len(self.steps) - 1
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
                self._say(f"[red]{terminal_safe(ui('level.bad', self.lang, raw=raw, n=len(levels)))}[/]")
                continue
            self.review = setter(session=self.session, review=self.review, level=chosen)
            self._say(f"[green]{terminal_safe(ui('level.saved', self.lang, level=chosen))}[/]")
            return None


def _editor_template(q: Question, initial: str) -> str:
    head = "\n".join(f"# {line}" for line in q.text.splitlines())
    return f"{initial}\n\n{head}\n# Lines starting with # are ignored. Save and close the editor to answer.\n"


def _strip_editor_comments(text_in: str) -> str:
    return "\n".join(line for line in text_in.splitlines() if not line.startswith("#")).strip()


# -- entry point and editor -------------------------------------------------------------------------------------


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
    deep: bool = False,
    allow_gaps: bool = False,
    hint_args: str = "",
) -> ReviewDetail | None:
    """Start or resume the reviewer's review of ``ticket`` and walk it; ``None`` when the reviewer stopped.

    A complete review is reopened only if the reviewer says so. ``hint_args`` (``--db … --reviewer …``) is
    added to every command the walk prints.
    """

    assert ticket.id is not None
    ref = ref or ticket.external_id
    existing = get_review(session=session, ticket_id=ticket.id, reviewer=reviewer)
    if existing is None:
        ensure_reviewable(ticket, allow_open=allow_open)
    lens_names = list(dict.fromkeys([*(existing.lenses if existing else []), *lenses]))
    lens_lists = load_lenses(lens_names, checklist.language)
    # before any write: Enter → first question is fast
    context = review_context(session=session, ticket=ticket, lang=checklist.language)
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
        report = f"butterfly report ticket {terminal_plain(ref)}" + (f" {hint_args}" if hint_args else "")
        io.show_summary(detail, ref, report)
        marks = ui("yn.no_default", checklist.language)
        while True:
            try:
                raw = io.ask(f"{ui('reopen.ask', checklist.language)} {marks} > ")
            except EOFError:
                return detail
            answer = walk_input.yes_no(raw, default=False)
            if answer is not None:
                break
            io.print(terminal_safe(ui("yes_no.again", checklist.language)))
        if not answer:
            return detail
        review = reopen_review(session=session, review=review)
        context = review_context(session=session, ticket=ticket, lang=checklist.language)
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
        deep=deep,
        allow_gaps=allow_gaps,
        hint_args=hint_args,
    )
    return walk.run(context)


def _today(tz: str | None) -> Any:
    """Today in ``tz`` (default: the ``timezone`` setting), from the one clock."""
    from butterfly.clock import Clock

    return Clock(tz or get_settings().timezone).today()
