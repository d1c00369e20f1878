"""What a new checklist version does to old reviews: added, removed and changed questions.

Question ids are the contract between a checklist and the answers stored for it. This module compares two
checklists by question id and, given a database session, counts the stored answers each removed or changed
question has. It only reads: answers to removed questions stay in the database and old reviews show them as
answers to a question no longer in the checklist; nothing is ever deleted.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from butterfly.checklist.model import (
    Checklist,
    Question,
    builtin_checklist_ids,
    check_kind,
    load_builtin,
    resolve_checklist,
)

if TYPE_CHECKING:
    from sqlmodel import Session

SCHEMA = "butterfly.checklist-diff/1"

# Attributes compared, in the order they are reported. The first group changes what an old answer means.
_MEANING = ("kind", "choices", "multiple")
_OTHER = ("text", "help", "required", "guard", "action", "cell", "when", "deep", "anchors")


@dataclass
class ChecklistRef:
    id: str
    version: str
    language: str
    kind: str

    @classmethod
    def of(cls, checklist: Checklist) -> ChecklistRef:
        return cls(checklist.id, checklist.version, checklist.language, checklist.kind)

    def __str__(self) -> str:
        return f"{self.id} v{self.version} ({self.language})"


@dataclass
class RemovedQuestion:
    id: str
    text: str
    kind: str
    answers: int | None = None  # stored answers (with a database); kept, never deleted


@dataclass
class AddedQuestion:
    id: str
    text: str
    kind: str


@dataclass
class ChangedQuestion:
    id: str
    changed: list[str]  # attribute names, e.g. ["kind", "text"]
    old_kind: str
    new_kind: str
    old_text: str
    new_text: str
    choices_added: list[str] = field(default_factory=list)
    choices_removed: list[str] = field(default_factory=list)
    choices_relabelled: list[str] = field(default_factory=list)
    answers: int | None = None
    answers_with_removed_choices: int | None = None

    @property
    def affects_answers(self) -> bool:
        """True when an old answer may no longer fit the question (kind, removed choices, single/multiple)."""
        return (
            "kind" in self.changed
            or "multiple" in self.changed
            or bool(self.choices_removed)
            or "scale" in self.changed
        )


@dataclass
class ChecklistDiff:
    old: ChecklistRef
    new: ChecklistRef
    added: list[AddedQuestion]
    removed: list[RemovedQuestion]
    changed: list[ChangedQuestion]
    scale_changed: bool
    counted: bool = False  # answers were counted in a database

    @property
    def identical(self) -> bool:
        return not (self.added or self.removed or self.changed or self.scale_changed)

    @property
    def kept(self) -> list[str]:
        """Question ids in both versions whose old answers still fit (same id, same kind, no choice removed)."""
        changed = {c.id: c for c in self.changed}
        return [qid for qid in self.common if qid not in changed or not changed[qid].affects_answers]

    common: list[str] = field(default_factory=list)  # question ids in both versions, in the new order
    deep_now: list[str] = field(default_factory=list)  # kept questions the new version asks only in the deep walk
    follow_up_now: list[str] = field(default_factory=list)  # kept questions the new version asks only as follow-ups

    def to_dict(self) -> dict[str, Any]:
        """The documented ``--json`` shape (``schema: butterfly.checklist-diff/1``)."""
        changed = []
        for c in self.changed:
            item = asdict(c)
            item["affects_answers"] = c.affects_answers
            changed.append(item)
        return {
            "schema": SCHEMA,
            "old": asdict(self.old),
            "new": asdict(self.new),
            "identical": self.identical,
            "scale_changed": self.scale_changed,
            "answers_counted": self.counted,
            "added": [asdict(a) for a in self.added],
            "removed": [asdict(r) for r in self.removed],
            "changed": changed,
            "kept": self.kept,
            "deep_now": self.deep_now,
            "follow_up_now": self.follow_up_now,
        }


def resolve_spec(spec: str, language: str, *, kind: str | None = None) -> Checklist:
    """A checklist from a file path or a shipped id.

    Like :func:`butterfly.checklist.model.resolve_checklist`, but a shipped id wins over a *folder* of the same name
    (running from a checkout, ``butterfly`` is also the package folder).
    """
    if spec in builtin_checklist_ids() and not Path(spec).is_file():
        found = load_builtin(spec, language)
        check_kind(found, spec, kind)
        return found
    return resolve_checklist(spec, language, kind=kind)


def _choice_map(q: Question) -> dict[str, str]:
    return {c.id: c.label for c in q.choices or []}


def _compare(old: Question, new: Question, old_cl: Checklist, new_cl: Checklist) -> ChangedQuestion | None:
    changed: list[str] = []
    if old.kind != new.kind:
        changed.append("kind")
    old_choices, new_choices = _choice_map(old), _choice_map(new)
    added = [c for c in new_choices if c not in old_choices]
    removed = [c for c in old_choices if c not in new_choices]
    relabelled = [c for c in new_choices if c in old_choices and old_choices[c] != new_choices[c]]
    if added or removed or relabelled or list(old_choices) != list(new_choices):
        changed.append("choices")
    if old.multiple != new.multiple:
        changed.append("multiple")
    if old.kind.value == "rating" and new.kind.value == "rating" and _scale_values(old_cl) != _scale_values(new_cl):
        changed.append("scale")
    if " ".join(old.text.split()) != " ".join(new.text.split()):
        changed.append("text")
    if " ".join((old.help or "").split()) != " ".join((new.help or "").split()):
        changed.append("help")
    if old.required != new.required:
        changed.append("required")
    if old.guard != new.guard:
        changed.append("guard")
    if old.action != new.action:
        changed.append("action")
    if old_cl.cell_of(old.id).id != new_cl.cell_of(new.id).id:
        changed.append("cell")
    if old.conditions != new.conditions:
        changed.append("when")
    if old.deep != new.deep:
        changed.append("deep")
    if old.anchors != new.anchors:
        changed.append("anchors")
    if not changed:
        return None
    return ChangedQuestion(
        id=new.id,
        changed=changed,
        old_kind=old.kind.value,
        new_kind=new.kind.value,
        old_text=old.text,
        new_text=new.text,
        choices_added=added,
        choices_removed=removed,
        choices_relabelled=relabelled,
    )


def _scale_values(cl: Checklist) -> list[int]:
    return [p.value for p in cl.scale.points]


def diff_checklists(old: Checklist, new: Checklist, *, session: Session | None = None) -> ChecklistDiff:
    """Compare two checklists by question id; with ``session``, count the stored answers affected."""
    old_qs = {q.id: q for q in old.questions}
    new_qs = {q.id: q for q in new.questions}
    added = [AddedQuestion(q.id, q.text, q.kind.value) for q in new.questions if q.id not in old_qs]
    removed = [RemovedQuestion(q.id, q.text, q.kind.value) for q in old.questions if q.id not in new_qs]
    changed = []
    for q in new.questions:
        if q.id in old_qs:
            change = _compare(old_qs[q.id], q, old, new)
            if change is not None:
                changed.append(change)
    result = ChecklistDiff(
        old=ChecklistRef.of(old),
        new=ChecklistRef.of(new),
        added=added,
        removed=removed,
        changed=changed,
        scale_changed=_scale_values(old) != _scale_values(new),
        common=[q.id for q in new.questions if q.id in old_qs],
        deep_now=[q.id for q in new.questions if q.id in old_qs and q.deep and not old_qs[q.id].deep],
        follow_up_now=[q.id for q in new.questions if q.id in old_qs and q.conditions and not old_qs[q.id].conditions],
    )
    if session is not None:
        _count_answers(session, old, result)
        result.counted = True
    return result


def _count_answers(session: Session, old: Checklist, result: ChecklistDiff) -> None:
    """Fill in how many stored answers each removed or changed question has (read-only)."""
    # imported here: `checklist export` resolves checklists through this module without needing SQLAlchemy
    from sqlalchemy import func, select
    from sqlmodel import col

    from butterfly.store.models import Answer, Review

    ids = [r.id for r in result.removed] + [c.id for c in result.changed]
    if not ids:
        return
    question_id = col(Answer.question_id)
    stmt = select(question_id, func.count()).where(question_id.in_(ids))
    if old.kind == "butterfly":
        # a lens's question ids start with the lens id, so they are unique across checklists already
        stmt = stmt.join(Review, col(Review.id) == col(Answer.review_id)).where(col(Review.checklist_id) == old.id)
    counts = {qid: int(n) for qid, n in session.execute(stmt.group_by(question_id)).all()}
    for r in result.removed:
        r.answers = counts.get(r.id, 0)
    for c in result.changed:
        c.answers = counts.get(c.id, 0)
    for c in result.changed:
        if not c.choices_removed:
            continue
        gone = set(c.choices_removed)
        vstmt = select(col(Answer.value)).where(question_id == c.id, col(Answer.na).is_(False))
        if old.kind == "butterfly":
            vstmt = vstmt.join(Review, col(Review.id) == col(Answer.review_id)).where(
                col(Review.checklist_id) == old.id
            )
        n = 0
        for (value,) in session.execute(vstmt.execution_options(yield_per=1000)):
            if _uses_any(value, gone):
                n += 1
        c.answers_with_removed_choices = n


def _uses_any(value: Any, choice_ids: set[str]) -> bool:
    if isinstance(value, str):
        return value in choice_ids
    if isinstance(value, Iterable) and not isinstance(value, dict | bytes):
        return any(isinstance(v, str) and v in choice_ids for v in value)
    return False
