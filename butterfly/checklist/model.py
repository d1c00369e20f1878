"""The butterfly checklist as validated data.

A checklist file (YAML or JSON) holds one checklist in one language. The shipped ones live in
``butterfly/checklist/builtin/`` as ``<id>.<lang>.yaml``: the butterfly check itself (six cells: two sides x three
horizons) and optional *lenses* (``kind: lens``) that a review can append after the six cells.

Loading a file with a mistake raises :class:`~butterfly.errors.FileProblemsError` naming the file, the line
and the field of every problem.

The parts of a checklist (scale, questions, cells, follow-up conditions) are :mod:`butterfly.checklist.questions`;
their names are re-exported here.
"""

from __future__ import annotations

import re
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import Field, ValidationError, model_validator

from butterfly.checklist.questions import (
    CELL_ORDER,
    DEFAULT_CHECKLIST_ID,
    HORIZONS,
    ID_PATTERN,
    LANGUAGES,
    SIDES,
    ActionKind,
    AnswerKind,
    Cell,
    Choice,
    Condition,
    ConditionValue,
    Guard,
    LocatedError,
    Question,
    Scale,
    ScalePoint,
    _Strict,
    condition_holds,
    condition_value_problem,
    is_asked,
    missing_required,
)
from butterfly.errors import FileProblemsError, InvalidInputError, NotFoundError, Problem
from butterfly.files import read_input_text
from butterfly.yamlload import load_yaml

__all__ = [
    "CELL_ORDER",
    "DEFAULT_CHECKLIST_ID",
    "HORIZONS",
    "ID_PATTERN",
    "LANGUAGES",
    "SIDES",
    "ActionKind",
    "AnswerKind",
    "Cell",
    "Checklist",
    "Choice",
    "Condition",
    "ConditionValue",
    "Guard",
    "LocatedError",
    "Question",
    "Scale",
    "ScalePoint",
    "builtin_checklist_ids",
    "builtin_checklist_path",
    "check_kind",
    "condition_holds",
    "condition_value_problem",
    "is_asked",
    "load_builtin",
    "load_checklist_file",
    "missing_required",
    "parse_checklist_text",
    "resolve_checklist",
]


class Checklist(_Strict):
    """A checklist in one language."""

    id: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")]
    version: Annotated[str, Field(pattern=r"^\d+(\.\d+)*$")]
    language: Literal["zh-CN", "zh-TW", "en"]
    kind: Literal["butterfly", "lens"] = "butterfly"
    title: str = Field(min_length=1)
    description: str | None = None
    source: str | None = None
    scale: Scale
    cells: list[Cell] = Field(min_length=1)

    @model_validator(mode="after")
    def _structure(self) -> Checklist:
        seen: set[str] = set()
        for cell in self.cells:
            for question in cell.questions:
                if question.id in seen:
                    raise ValueError(f"question id '{question.id}' is used more than once")
                seen.add(question.id)
                if not question.id.startswith(cell.id + "."):
                    raise ValueError(f"question id '{question.id}' must start with its cell id '{cell.id}.'")
        self._conditions_and_anchors()
        cell_ids = [c.id for c in self.cells]
        if len(cell_ids) != len(set(cell_ids)):
            raise ValueError("cell ids must be unique")
        if self.kind == "butterfly":
            for cell in self.cells:
                if cell.side is None or cell.horizon is None:
                    raise ValueError(f"cell '{cell.id}' needs 'side' and 'horizon'")
                if cell.id != f"{cell.side}.{cell.horizon}":
                    raise ValueError(f"cell id '{cell.id}' must be '{cell.side}.{cell.horizon}'")
            if tuple(cell_ids) != CELL_ORDER:
                raise ValueError("a butterfly checklist has exactly six cells in this order: " + ", ".join(CELL_ORDER))
        else:
            for cell in self.cells:
                if not cell.id.startswith(self.id + "."):
                    raise ValueError(f"lens cell id '{cell.id}' must start with the lens id '{self.id}.'")
        return self

    def _conditions_and_anchors(self) -> None:
        """Each ``when`` names an earlier question of this checklist with answers it can have; anchors fit the scale."""
        earlier: dict[str, Question] = {}
        values = [p.value for p in self.scale.points]
        for ci, cell in enumerate(self.cells):
            for qi, q in enumerate(cell.questions):
                loc: tuple[int | str, ...] = ("cells", ci, "questions", qi)
                if q.anchors is not None and sorted(q.anchors) != values:
                    raise LocatedError(
                        f"anchors must describe each scale value ({', '.join(map(str, values))})", (*loc, "anchors")
                    )
                for ref, accepted in (item for c in q.conditions for item in c.items()):
                    target = earlier.get(ref)
                    if target is None:
                        where = "a later question" if ref in self.question_ids() else "no question of this checklist"
                        raise LocatedError(f"'when' names '{ref}', {where}; name an earlier question", (*loc, "when"))
                    for value in accepted if isinstance(accepted, list) else [accepted]:
                        problem = condition_value_problem(target, value, values)
                        if problem:
                            raise LocatedError(f"'when' on '{ref}': {problem}", (*loc, "when"))
                earlier[q.id] = q

    # -- lookups -------------------------------------------------------------------------------------------
    @property
    def questions(self) -> list[Question]:
        return [q for cell in self.cells for q in cell.questions]

    def question(self, question_id: str) -> Question:
        for q in self.questions:
            if q.id == question_id:
                return q
        raise KeyError(question_id)

    def question_ids(self) -> list[str]:
        return [q.id for q in self.questions]

    def cell_of(self, question_id: str) -> Cell:
        for cell in self.cells:
            if any(q.id == question_id for q in cell.questions):
                return cell
        raise KeyError(question_id)

    def cell(self, cell_id: str) -> Cell:
        for cell in self.cells:
            if cell.id == cell_id:
                return cell
        raise KeyError(cell_id)


# -- loading with line numbers -----------------------------------------------------------------------------


def _node_line(root: Any, loc: tuple[int | str, ...]) -> int | None:
    """Follow a Pydantic error location through a composed YAML node tree; return the 1-based line."""
    node = root
    line: int | None = node.start_mark.line + 1 if node is not None else None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            nxt = None
            for key_node, value_node in node.value:
                if key_node.value == part:
                    nxt = value_node
                    line = key_node.start_mark.line + 1
                    break
            if nxt is None:
                break
            node = nxt
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            break
    return line


def _format_loc(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def parse_checklist_text(text: str, *, filename: str) -> Checklist:
    """Parse and validate checklist YAML/JSON text; problems name ``filename``, line and field."""
    data, root = load_yaml(text, filename=filename, what="YAML/JSON")
    if not isinstance(data, dict):
        raise FileProblemsError(
            filename, [Problem(filename, "a checklist file must be a mapping at the top level", line=1)]
        )
    try:
        return Checklist.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = tuple(err["loc"])
            located = (err.get("ctx") or {}).get("error")
            if isinstance(located, LocatedError):
                loc = (*loc, *located.loc)
            # model validators report at the enclosing object; keep the loc they give
            message = err["msg"].removeprefix("Value error, ")
            if err["type"] == "string_type" and isinstance(err.get("input"), bool):
                message += " (YAML reads unquoted yes/no/on/off/true/false as booleans: put it in quotes)"
            problems.append(
                Problem(
                    filename,
                    message,
                    line=_node_line(root, loc),
                    field=_format_loc(loc) or None,
                )
            )
        raise FileProblemsError(filename, problems) from None


def load_checklist_file(path: str | Path) -> Checklist:
    """Load a checklist file from disk."""
    p = Path(path)
    text = read_input_text(p)
    return parse_checklist_text(text, filename=str(p))


def builtin_checklist_path(checklist_id: str, language: str) -> Path:
    """Path of a shipped checklist or lens file."""
    base = resources.files("butterfly.checklist") / "builtin"
    return Path(str(base / f"{checklist_id}.{language}.yaml"))


def builtin_checklist_ids(kind: str | None = None) -> list[str]:
    """Ids of the shipped checklists (``kind='lens'`` for lenses only)."""
    base = Path(str(resources.files("butterfly.checklist") / "builtin"))
    ids = sorted({p.name.split(".")[0] for p in base.glob("*.en.yaml")})
    if kind is None:
        return ids
    return [i for i in ids if load_builtin(i, "en").kind == kind]


@lru_cache(maxsize=64)
def load_builtin(checklist_id: str, language: str) -> Checklist:
    """Load a shipped checklist or lens by id and language."""
    if language not in LANGUAGES:
        raise NotFoundError(f"unknown language '{language}'", hint="use one of: " + ", ".join(LANGUAGES))
    path = builtin_checklist_path(checklist_id, language)
    if not path.exists():
        known = ", ".join(builtin_checklist_ids()) or "none"
        raise NotFoundError(
            f"no shipped checklist or lens '{checklist_id}'", hint=f"shipped: {known}; or give a file path"
        )
    return load_checklist_file(path)


def resolve_checklist(spec: str | Path | None, language: str, *, kind: str | None = None) -> Checklist:
    """A checklist from a path, a shipped id, or the default (``None``).

    ``kind`` (``"butterfly"`` for a main checklist, ``"lens"``): anything else is an error naming it, so a lens
    given as ``--checklist`` (or a main checklist as ``--lens``) never gets as far as a review without six cells.
    """
    if spec is None:
        return load_builtin(DEFAULT_CHECKLIST_ID, language)
    text = str(spec)
    if re.fullmatch(r"[a-z0-9][a-z0-9_-]*", text) and not Path(text).is_file():
        found = load_builtin(text, language)
    elif kind is None:
        found = load_checklist_file(text)
    else:
        try:
            found = load_checklist_file(text)
        except FileProblemsError as exc:  # a wrong --lens/--checklist: the file and its first problem, not a page
            raise _first_problem(exc) from None
    check_kind(found, text, kind)
    return found


def _first_problem(exc: FileProblemsError) -> FileProblemsError:
    if len(exc.problems) <= 1:
        return exc
    first = exc.problems[0]
    more = len(exc.problems) - 1
    shortened = FileProblemsError(exc.file, [first])
    shortened.hint = f"{more} more problem(s): butterfly checklist validate {exc.file}"
    return shortened


def check_kind(checklist: Checklist, spec: str, kind: str | None) -> None:
    """:class:`InvalidInputError` when ``checklist`` (named ``spec``) is not of ``kind`` (``None``: any)."""
    if kind is None or checklist.kind == kind:
        return
    if kind == "lens":
        lenses = ", ".join(builtin_checklist_ids("lens"))
        raise InvalidInputError(f"'{spec}' is not a lens (kind: {checklist.kind})", hint=f"shipped lenses: {lenses}")
    raise InvalidInputError(
        f"'{spec}' is a lens, not a main checklist (kind: {checklist.kind})",
        hint="give a lens with --lens; --checklist takes a checklist with the six cells",
    )
