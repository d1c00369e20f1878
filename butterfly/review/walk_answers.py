"""Asking one question of the walk: the cell heading, the question and its hint, the keys, saving the answer, a
cell's ratings in one line (``1 2 - 1``) or N/A (``x``), and the guards that speak after an answer."""

from __future__ import annotations

from typing import TYPE_CHECKING

from butterfly.checklist.model import AnswerKind, Guard, Question
from butterfly.conversation.store import load_thread
from butterfly.errors import ConflictError, InvalidInputError
from butterfly.labels import ui
from butterfly.review import walk_input
from butterfly.review.answers import answers_for, display_value, save_answer, validate_answer
from butterfly.review.findings import dismiss_finding
from butterfly.review.guards import (
    Publication,
    certainty_line,
    compensation_before_resolution,
    consent_text,
    find_blame,
    local_time,
    publication_status,
    text,
)
from butterfly.review.lifecycle import refresh_findings, set_position
from butterfly.review.walk_actions import WalkActions
from butterfly.review.walk_base import COMMANDS, Step, WalkStopped
from butterfly.review.walk_thread import show_thread
from butterfly.sanitise import terminal_safe
from butterfly.settings import get_settings
from butterfly.timeutil import format_duration

if TYPE_CHECKING:
    from butterfly.store.models import Answer


class WalkAnswers(WalkActions):
    """One question at a time, on top of the walk's state, action items and jumps."""

    def _cell_header(self, step: Step) -> None:
        if self._shown_cell == step.cell.id:
            return
        self._shown_cell = step.cell.id
        self.io.show_cell(step.cell.title, step.cell.purpose)

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
            conversation = self.context.conversation if self.context is not None else None
            facts = conversation.facts if conversation is not None else None
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

    def _show_thread(self) -> None:
        """The ``t`` key: the whole thread, paged (it is read again: an import may have changed it)."""
        messages = load_thread(session=self.session, ticket_id=self.ticket.id) if self.ticket.id is not None else []
        show_thread(messages, lang=self.lang, say=self._say, ask=self._ask)

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
                self.settle_similar(show=False)
                self.io.show_context(self.context)
                self._show_question(index, step)
                continue
            if low == "t":
                self._show_thread()
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
                    raw = self.io.edit(initial, f"{q.text}\n{ui('editor.comment', self.lang)}")
                except InvalidInputError as exc:
                    self._say(self._error(exc))
                    continue
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
            self._say(self._error(exc))
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
            self.answers = answers_for(session=self.session, review_id=self.review.id or 0)
            newer = self.answers.get(q.id)
            if newer is None:
                self._say(f"[red]{terminal_safe(exc.message)}[/]")
            else:
                at = newer.answered_at.strftime("%Y-%m-%d %H:%M:%S UTC") if newer.answered_at else "-"
                expected = current.version if current is not None else 0
                changed = ui(
                    "conflict",
                    self.lang,
                    qid=q.id,
                    by=newer.answered_by,
                    at=at,
                    version=newer.version,
                    expected=expected,
                )
                self._say(f"[red]{terminal_safe(changed)}[/]")
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
