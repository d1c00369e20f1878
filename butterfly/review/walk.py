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
from typing import TYPE_CHECKING, Any

from butterfly.checklist.model import Checklist
from butterfly.conversation import snapshot
from butterfly.labels import ui
from butterfly.review import walk_input
from butterfly.review.guards import skip_reason
from butterfly.review.lifecycle import (
    complete_review,
    ensure_reviewable,
    get_review,
    load_lenses,
    reopen_review,
    set_experience_level,
    start_review,
)
from butterfly.review.prefill import Prefiller
from butterfly.review.queries import review_detail
from butterfly.review.walk_answers import WalkAnswers
from butterfly.review.walk_base import (
    ReviewContext,
    Step,
    WalkIO,
    WalkStopped,
    build_steps,
    resume_index,
    review_context,
)
from butterfly.sanitise import terminal_plain, terminal_safe
from butterfly.store.models import ReviewStatus

if TYPE_CHECKING:
    from sqlmodel import Session

    from butterfly.review.queries import ReviewDetail
    from butterfly.store.models import Ticket

__all__ = [
    "ReviewContext",
    "Step",
    "Walk",
    "WalkIO",
    "WalkStopped",
    "build_steps",
    "resume_index",
    "review_context",
    "run_review_walk",
]


class Walk(WalkAnswers):
    """One run of the interactive walk over a review."""

    # -- entry point -----------------------------------------------------------------------------------------
    def run(self, context: ReviewContext | None = None) -> ReviewDetail | None:
        """Walk the review; returns its detail at the end, or ``None`` when the reviewer quit."""
        if context is None:
            context = review_context(session=self.session, ticket=self.ticket, lang=self.lang)
        self.context = context
        conversation = context.conversation.facts if context.conversation is not None else None
        self.prefiller = Prefiller(
            session=self.session, ticket=self.ticket, similar=context.similar, lang=self.lang, conversation=conversation
        )
        asked = {s.question.id for s in self.steps if not self.asked(s.question)} | set(self.answers)
        index = resume_index(self.steps, asked, self.review.position)
        if index >= len(self.steps):  # no question to read while the similar tickets are looked up
            self.settle_similar(show=False)
        self.io.show_context(self.context)
        # what this reviewer sees is stored with the review (the ticket report shows it, whatever the thread becomes)
        snapshot.record(session=self.session, review=self.review, ticket=self.ticket, now=context.conversation)
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
        finally:
            if self.context is not None and self.context.lookup is not None:
                self.context.lookup.wait()  # its thread reads the database: not left running

    def _show_done(self, index: int) -> None:
        title = ui("resuming", self.lang, progress=self.progress())
        rows = []
        for cl in (self.checklist, *self.lenses):
            for cell in cl.cells:
                scope = [q for q in cell.questions if q.id in self.answers or self.asked(q)]
                done = sum(1 for q in scope if q.id in self.answers)
                mark = "✓" if done == len(scope) else ""
                rows.append((cell.title, f"{done}/{len(scope)} {mark}"))
        self.io.show_table(title, (ui("sum.cell", self.lang), ui("sum.answered", self.lang)), rows)
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
                    skipped = ui("skipped", self.lang, qid=q.id, reason=ui(reason, self.lang))
                    self._say(f"[dim]{terminal_safe(skipped)}[/]")
                index += direction
                if index < 0:
                    index, direction = 0, 1
                continue
            direction = 1
            if self.similar_due(q):
                self.settle_similar(show=True)
            outcome = self._question(index, step)
            if outcome == "back":
                direction = -1
                index = max(0, index - 1)
            elif isinstance(outcome, int):
                index = outcome
            else:
                index += 1

    # -- the end ---------------------------------------------------------------------------------------------
    def _finish(self) -> ReviewDetail | int:
        """Experience level, completion and the summary; an index when the reviewer goes back (b / j)."""
        self._jump_cell = None
        self.settle_similar(show=True)
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
    # before any write: Enter → first question is fast; the similar tickets are looked up in a thread while the
    # reviewer reads the first question (shown before the next one, see butterfly.review.walk_similar)
    context = review_context(session=session, ticket=ticket, lang=checklist.language, defer_similar=True)
    review = start_review(
        session=session,
        ticket=ticket,
        reviewer=reviewer,
        checklist=checklist,
        lenses=lens_names,
        allow_open=allow_open,
    )
    if review.status == ReviewStatus.complete.value:
        context = context.with_similar()
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
        context = review_context(session=session, ticket=ticket, lang=checklist.language, defer_similar=True)
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
