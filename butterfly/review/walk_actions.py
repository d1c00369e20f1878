"""The walk's action items (``a``, or after a question that suggests one) and its jump to a cell (``j``)."""

from __future__ import annotations

from typing import Any

from butterfly.checklist.model import ActionKind, AnswerKind, Cell, Question
from butterfly.errors import InvalidInputError
from butterfly.labels import labels, ui
from butterfly.review.actions import create_action, parse_due, parse_kind
from butterfly.review.answer_parse import AnswerError
from butterfly.review.walk_base import WalkBase
from butterfly.sanitise import terminal_plain, terminal_safe
from butterfly.settings import get_settings


class WalkActions(WalkBase):
    """Action items and jumps, on top of the walk's state."""

    def _offer_action(self, q: Question, *, ask_first: bool) -> None:
        kind = q.action.value if q.action else None
        if ask_first:
            label = self._kind_label(kind) if kind else (kind or "action")
            if not self.confirm(ui("action.ask", self.lang, label=label), default=False):
                return
        if kind is None:
            kinds = " · ".join(
                f"{i}) {self._kind_label(k.value) if self.lang.startswith('zh') else k.value}"
                for i, k in enumerate(ActionKind, start=1)
            )
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
                except InvalidInputError:
                    ids = ", ".join(k.value for k in ActionKind)
                    self._say(f"[red]{terminal_safe(ui('action.kind.bad', self.lang, raw=raw[:80], kinds=ids))}[/]")
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
            except InvalidInputError:
                self._say(f"[red]{terminal_safe(ui('action.due.bad', self.lang, raw=due_raw[:80]))}[/]")
                continue
            past = due is not None and due < _today(self.tz)
            if past and not self.confirm(ui("due.past", self.lang, due=str(due)), default=False):
                continue
            break
        try:
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
        except InvalidInputError as exc:  # e.g. a text over the length kept: nothing stored, the walk goes on
            reason = ui(exc.key, self.lang, **exc.values) if isinstance(exc, AnswerError) else exc.message
            self._say(f"[red]{terminal_safe(ui('action.failed', self.lang, reason=reason))}[/]")
            return
        kind_label = self._kind_label(item.kind)
        saved_item = ui("action.saved", self.lang, id=item.id, kind=kind_label, due=item.due_date or "-")
        self._say(f"[green]{terminal_safe(saved_item)}[/]")

    def _kind_label(self, kind: str) -> str:
        """An action kind as the reviewer reads it: the report's label in Chinese (with the id to type), the id in
        English words otherwise."""
        if not self.lang.startswith("zh"):
            return kind.replace("_", " ")
        return f"{labels(self.lang).get(f'action_{kind}', kind)}（{kind}）"

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


def _today(tz: str | None) -> Any:
    """Today in ``tz`` (default: the ``timezone`` setting), from the one clock."""
    from butterfly.clock import Clock

    return Clock(tz or get_settings().timezone).today()
