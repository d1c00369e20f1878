"""The walk's state and its terminal contract: :class:`WalkIO`, the steps, and the helpers every part of the walk
uses (progress, which questions are asked, yes/no prompts).

The walk itself is :class:`butterfly.review.walk.Walk`, built in layers so each module has one job:
``walk_base`` (state, helpers) ← ``walk_actions`` (action items, jumps) ← ``walk_answers`` (asking and saving one
question, one-line ratings, guards after an answer) ← ``walk`` (the loop, the end, the entry point). The terminal
(Rich panels, ``$EDITOR``) is ``butterfly.cli.walk_ui``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Protocol

from butterfly.checklist.model import Cell, Checklist, Question, is_asked, missing_required
from butterfly.conversation import snapshot
from butterfly.conversation.snapshot import Snapshot
from butterfly.conversation.store import count_messages
from butterfly.errors import InvalidInputError
from butterfly.labels import ui
from butterfly.review import walk_input
from butterfly.review.answers import AnswerError, answer_values, answers_for
from butterfly.review.lifecycle import discard_if_empty
from butterfly.review.prefill import Prefiller, Proposal
from butterfly.review.similar import CustomerHistory, SimilarTicket, customer_history, similar_tickets
from butterfly.review.walk_similar import SimilarLookup
from butterfly.sanitise import terminal_plain, terminal_safe
from butterfly.state_history import StateHistory, state_history

if TYPE_CHECKING:
    from sqlmodel import Session

    from butterfly.review.queries import ReviewDetail
    from butterfly.store.models import Answer, Review, Ticket

COMMANDS = frozenset({"?", "b", "s", "j", "q", "e", "a", "c", "t", "d", "x", "<", ">"})


class WalkIO(Protocol):
    """What the walk needs from a terminal."""

    def print(self, *objects: Any, soft_wrap: bool = False) -> None:
        """Print Rich renderables; ``soft_wrap`` prints a line unwrapped and uncropped (a command to copy)."""
        ...

    def ask(self, prompt: str) -> str:
        """One line of input (without the newline); raises EOFError when input is closed."""
        ...

    def edit(self, initial: str, comment: str) -> str:
        """Let the reviewer edit the answer ``initial`` in their editor, ``comment`` (the question, how to answer)
        shown below it as comments; returns the new answer (the comments removed). Raises ``InvalidInputError``
        (an ``AnswerError`` with a ``walk.yaml`` key when it can) when the editor cannot be used."""
        ...

    def show_cell(self, title: str, purpose: str) -> None:
        """A cell's heading (its title as a rule, then its purpose), shown before its first question."""
        ...

    def show_table(self, title: str, headers: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
        """A small table of plain text (escaped by the terminal); columns after the first are right-aligned."""
        ...

    def show_context(self, context: ReviewContext) -> None:
        """Show the ticket's context (facts, timeline, the customer's history, similar tickets; while the
        similar-ticket look-up still runs, a line saying they follow)."""
        ...

    def show_similar(self, context: ReviewContext) -> None:
        """Show the context panel's similar tickets on their own (when the look-up ran after the panel)."""
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
    conversation: Snapshot | None = None  # the thread's certainty facts and key moments (None: no thread)
    messages: int = 0  # messages in the thread
    states: StateHistory | None = None  # the state timeline an event log brought (None: none imported)
    lookup: SimilarLookup | None = None  # the similar-ticket look-up while it has not been shown (``similar`` empty)

    @property
    def similar_pending(self) -> bool:
        return self.lookup is not None

    def with_similar(self) -> ReviewContext:
        """The context with the look-up's similar tickets (waiting for it if it still runs)."""
        if self.lookup is None:
            return self
        return replace(self, similar=self.lookup.result(), lookup=None)


def review_context(
    *, session: Session, ticket: Ticket, similar_limit: int = 5, lang: str = "en", defer_similar: bool = False
) -> ReviewContext:
    """The ticket, the customer's earlier tickets, the same problem at other customers and the thread's facts.

    ``defer_similar``: the similar tickets are not looked up yet; the context carries a :class:`SimilarLookup`
    to start (in a thread) once the first question is shown.
    """
    conversation = snapshot.current(session=session, ticket=ticket)
    lookup = SimilarLookup(session=session, ticket=ticket, limit=similar_limit) if defer_similar else None
    return ReviewContext(
        ticket=ticket,
        history=customer_history(session=session, ticket=ticket),
        similar=[] if lookup is not None else similar_tickets(session=session, ticket=ticket, limit=similar_limit),
        lang=lang,
        conversation=conversation,
        messages=count_messages(session=session, ticket_id=ticket.id) if conversation is not None else 0,
        lookup=lookup,
        states=state_history(session=session, ticket_id=ticket.id),
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


class WalkBase:
    """The walk's state and helpers; :class:`butterfly.review.walk.Walk` adds the questions and the end."""

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
        if self.prefiller.needs_similar(q.id):
            self.settle_similar(show=True)
        return self.prefiller.propose(q.id, self.answers)

    # -- the similar tickets, looked up while the reviewer reads the first question ---------------------------
    def similar_due(self, q: Question) -> bool:
        """Whether the similar tickets are shown before asking ``q``: once a question has been on the screen
        (the look-up ran meanwhile), or before a question whose proposal is drawn from them."""
        lookup = self.context.lookup if self.context is not None else None
        if lookup is None:
            return False
        return lookup.started or (self.prefiller is not None and self.prefiller.needs_similar(q.id))

    def settle_similar(self, *, show: bool) -> None:
        """Put the look-up's similar tickets into the context (waiting for it if it still runs); ``show`` them."""
        if self.context is None or self.context.lookup is None:
            return
        self.context = self.context.with_similar()
        if self.prefiller is not None:
            self.prefiller.similar = self.context.similar
        if show:
            self.io.show_similar(self.context)

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
        if self.context is not None and self.context.lookup is not None:
            self.context.lookup.start()  # a question is on the screen: look up the similar tickets meanwhile
        try:
            return self.io.ask(prompt)
        except EOFError:
            raise WalkStopped("input closed") from None

    def _error(self, exc: InvalidInputError) -> str:
        """An error to show the reviewer: in their language when it has a ``walk.yaml`` key (``AnswerError``)."""
        message, hint = exc.message, exc.hint
        if isinstance(exc, AnswerError):  # said in the reviewer's language
            message = ui(exc.key, self.lang, **exc.values)
            hint = (
                ui(f"{exc.key}.hint", self.lang, **exc.values) if exc.hint and exc.key.startswith("answer.") else None
            )
        shown_hint = "" if not hint else (f"（{hint}）" if self.lang.startswith("zh") else f" ({hint})")
        return f"[red]{terminal_safe(message)}{terminal_safe(shown_hint)}[/]"

    def _values(self) -> dict[str, Any]:
        return answer_values(self.answers)

    def _discard_if_empty(self) -> bool:
        if self.answers:
            return False
        try:
            return discard_if_empty(session=self.session, review=self.review)
        except Exception:  # never lose the stop itself over the clean-up
            self.session.rollback()
            return False

    def first_unanswered_of(self, ids: Sequence[str]) -> int:
        wanted = set(ids)
        return next((i for i, s in enumerate(self.steps) if s.question.id in wanted), len(self.steps))
