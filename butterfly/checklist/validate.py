"""``butterfly checklist validate``: a team checklist file checked before use: every problem with file, line and
field (schema, duplicate keys), plus warnings when a guard tag sits on a question of the wrong answer kind."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from butterfly.checklist.model import AnswerKind, Checklist, load_checklist_file
from butterfly.errors import FileProblemsError, Problem

# -- validation of team checklist files ------------------------------------------------------------------------

# The answer kind each guard's consumers expect (``butterfly.review.guards``, the gate, the weekly report).
GUARD_KINDS: dict[str, tuple[AnswerKind, ...]] = {
    "compensation_made": (AnswerKind.yes_no,),
    "compensation_time": (AnswerKind.datetime,),
    "publicity_planned": (AnswerKind.yes_no,),
    "consent_given": (AnswerKind.yes_no,),
    "consent_time": (AnswerKind.datetime,),
    "blameless": (AnswerKind.text,),
    "consent_scope": (AnswerKind.text,),
    "demand_signal": (AnswerKind.text, AnswerKind.choice),
    "certainty": (AnswerKind.rating,),
}


@dataclass
class ValidationResult:
    """The outcome of validating one checklist file."""

    file: str
    problems: list[Problem] = field(default_factory=list)  # the file is invalid when there is any
    warnings: list[Problem] = field(default_factory=list)  # valid, but something will not work as expected
    checklist: Checklist | None = None

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        def problem(p: Problem) -> dict[str, Any]:
            return {"line": p.line, "field": p.field, "message": p.message}

        cl = self.checklist
        return {
            "file": self.file,
            "valid": self.ok,
            "id": cl.id if cl else None,
            "version": cl.version if cl else None,
            "language": cl.language if cl else None,
            "kind": cl.kind if cl else None,
            "questions": len(cl.questions) if cl else None,
            "problems": [problem(p) for p in self.problems],
            "warnings": [problem(p) for p in self.warnings],
        }


def validate_checklist_file(path: str | Path) -> ValidationResult:
    """Every problem of one checklist file (never raises for a bad file: the problems are the result)."""
    name = str(path)
    result = ValidationResult(name)
    try:
        result.checklist = load_checklist_file(path)
    except FileProblemsError as exc:
        result.problems.extend(exc.problems)
    result.problems.sort(key=lambda p: (p.line or 0, p.field or ""))
    if result.checklist is not None and not result.problems:
        result.warnings.extend(_guard_warnings(result.checklist, Path(path), name))
    return result


def _guard_warnings(cl: Checklist, path: Path, name: str) -> list[Problem]:
    warnings = []
    lines = _question_lines(path)
    guards = {q.guard.value for q in cl.questions if q.guard}
    for cell_index, cell in enumerate(cl.cells):
        for q_index, q in enumerate(cell.questions):
            if q.guard is None:
                continue
            expected = GUARD_KINDS.get(q.guard.value)
            if expected and q.kind not in expected:
                want = " or ".join(k.value for k in expected)
                warnings.append(
                    Problem(
                        name,
                        f"guard '{q.guard.value}' expects a question of kind {want}, not '{q.kind.value}'; "
                        "the guard will ignore its answers",
                        line=lines.get(q.id),
                        field=f"cells[{cell_index}].questions[{q_index}].guard",
                    )
                )
    if "publicity_planned" in guards and "consent_given" not in guards:
        warnings.append(
            Problem(
                name,
                "a question has guard 'publicity_planned' but none has 'consent_given': "
                "`butterfly check` would report every planned publicity as lacking consent",
            )
        )
    return warnings


def _question_lines(path: Path) -> dict[str, int]:
    """Line of each ``id: <question id>`` in the file (for warnings), best effort."""
    found: dict[str, int] = {}
    try:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            m = re.match(r"""\s*-?\s*["']?id["']?\s*:\s*["']?([a-z0-9][a-z0-9_.-]*)""", line)
            if m:
                found.setdefault(m.group(1), number)
    except (OSError, UnicodeDecodeError):
        pass
    return found
