"""The butterfly checklist as validated data.

A checklist file (YAML or JSON) holds one checklist in one language. The shipped ones live in
``butterfly/checklist/builtin/`` as ``<id>.<lang>.yaml``: the butterfly check itself (six cells: two sides x three
horizons) and optional *lenses* (``kind: lens``) that a review can append after the six cells.

Loading a file with a mistake raises :class:`~butterfly.errors.FileProblemsError` naming the file, the line
and the field of every problem.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from enum import StrEnum
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from butterfly.errors import FileProblemsError, InvalidInputError, NotFoundError, Problem
from butterfly.files import read_input_text
from butterfly.yamlload import load_yaml

LANGUAGES = ("zh-CN", "zh-TW", "en")
DEFAULT_CHECKLIST_ID = "butterfly"
SIDES = ("customer", "company")
HORIZONS = ("short", "mid", "long")
CELL_ORDER = tuple(f"{side}.{horizon}" for side in SIDES for horizon in HORIZONS)

ID_PATTERN = r"^[a-z0-9][a-z0-9_-]*(\.[a-z0-9][a-z0-9_-]*)*$"


class AnswerKind(StrEnum):
    """How a question is answered."""

    text = "text"
    rating = "rating"
    yes_no = "yes_no"
    datetime = "datetime"
    choice = "choice"


class Guard(StrEnum):
    """The role a question plays in one of the method's guards (see ``butterfly.review.guards``).

    Guards find their questions by this tag, not by id, so a team's own checklist can use them too.
    """

    certainty = "certainty"  # show measured response/resolution times next to it
    compensation_made = "compensation_made"  # yes/no: was a compensation or apology gesture made?
    compensation_time = "compensation_time"  # date-time of that gesture (checked against resolution)
    blameless = "blameless"  # free text checked for blame on a named person
    publicity_planned = "publicity_planned"  # yes/no: do we plan to use the case as a story?
    consent_given = "consent_given"  # yes/no: did the customer consent?
    consent_time = "consent_time"  # date-time of the consent
    consent_scope = "consent_scope"  # what the consent covers
    demand_signal = "demand_signal"  # free text: offhand wishes, collected by the weekly report


class ActionKind(StrEnum):
    """Kinds of action item a review can create."""

    process_patch = "process_patch"
    outreach = "outreach"
    compensation = "compensation"
    follow_up = "follow_up"


class LocatedError(ValueError):
    """A checklist problem found by a whole-checklist check, with the field it is about (``cells[4]…``)."""

    def __init__(self, message: str, loc: tuple[int | str, ...]) -> None:
        super().__init__(message)
        self.loc = loc


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ScalePoint(_Strict):
    value: int
    label: str = Field(min_length=1)


class Scale(_Strict):
    """The rating scale of a checklist, e.g. 0 = not done, 1 = partly, 2 = fully; N/A allowed."""

    points: list[ScalePoint] = Field(min_length=2)
    na_label: str = Field(default="N/A", min_length=1)

    @model_validator(mode="after")
    def _ascending(self) -> Scale:
        values = [p.value for p in self.points]
        if values != sorted(set(values)):
            raise ValueError("scale points must have distinct values in ascending order")
        return self

    @property
    def minimum(self) -> int:
        return self.points[0].value

    @property
    def maximum(self) -> int:
        return self.points[-1].value

    def label(self, value: int | None) -> str:
        if value is None:
            return self.na_label
        for point in self.points:
            if point.value == value:
                return point.label
        return str(value)


class Choice(_Strict):
    id: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")]
    label: str = Field(min_length=1)
    exclusive: bool = False  # of a multiple choice: cannot be picked with another ("None")


ConditionValue = bool | int | str
"""One accepted answer in a ``when`` condition: yes/no, a rating value or a choice id."""
Condition = dict[str, ConditionValue | list[ConditionValue]]
"""``{earlier question id: accepted answer(s)}``: holds when every named question has an accepted answer."""


class Question(_Strict):
    id: Annotated[str, Field(pattern=ID_PATTERN)]
    text: str = Field(min_length=1)
    help: str | None = None
    kind: AnswerKind
    choices: list[Choice] | None = None
    multiple: bool = False
    guard: Guard | None = None
    action: ActionKind | None = None
    required: bool = True
    # a follow-up: asked only when every named earlier question has one of the given answers
    # (a list of such mappings: when any one of them holds)
    when: Condition | list[Condition] | None = None
    # asked only in the deep walk (``--deep``, or ``d`` during the walk); never required to complete
    deep: bool = False
    # rating questions: what each scale value looks like on a real ticket
    anchors: dict[int, str] | None = None

    @model_validator(mode="after")
    def _choices_match_kind(self) -> Question:
        if self.anchors is not None and self.kind is not AnswerKind.rating:
            raise ValueError("'anchors' is only allowed for kind 'rating'")
        if self.when is not None and (not self.when or any(not c for c in self.conditions)):
            raise ValueError("'when' needs at least one condition (question id: answer)")
        if self.kind is AnswerKind.choice:
            if not self.choices:
                raise ValueError("a question of kind 'choice' needs a non-empty 'choices' list")
            ids = [c.id for c in self.choices]
            if len(ids) != len(set(ids)):
                raise ValueError("choice ids must be unique within a question")
        elif self.choices:
            raise ValueError(f"'choices' is only allowed for kind 'choice', not '{self.kind.value}'")
        if self.multiple and self.kind is not AnswerKind.choice:
            raise ValueError("'multiple' is only allowed for kind 'choice'")
        return self

    @property
    def conditions(self) -> list[Condition]:
        """The ``when`` mappings (any one holding is enough); empty for a question always asked."""
        if self.when is None:
            return []
        return self.when if isinstance(self.when, list) else [self.when]


class Cell(_Strict):
    """One cell of the checklist: for the butterfly check, one side at one horizon."""

    id: Annotated[str, Field(pattern=ID_PATTERN)]
    side: Literal["customer", "company"] | None = None
    horizon: Literal["short", "mid", "long"] | None = None
    title: str = Field(min_length=1)
    purpose: str = Field(min_length=1)
    questions: list[Question] = Field(min_length=1)


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


# -- conditions (follow-ups) -------------------------------------------------------------------------------


def condition_value_problem(target: Question, value: ConditionValue, scale_values: list[int]) -> str | None:
    """Why ``value`` can never be an answer to ``target`` (``None`` when it can)."""
    if target.kind is AnswerKind.yes_no:
        return None if isinstance(value, bool) else f"'{value}' is not yes or no (write yes / no unquoted)"
    if target.kind is AnswerKind.rating:
        if isinstance(value, bool) or not isinstance(value, int) or value not in scale_values:
            return f"'{value}' is not a value of the scale ({', '.join(map(str, scale_values))})"
        return None
    if target.kind is AnswerKind.choice:
        ids = [c.id for c in target.choices or []]
        return (
            None
            if isinstance(value, str) and value in ids
            else f"'{value}' is not one of its choices: {', '.join(ids)}"
        )
    return f"a {target.kind.value} question cannot be a condition (use yes/no, rating or choice)"


def _matches(answer: Any, accepted: ConditionValue | list[ConditionValue]) -> bool:
    options = accepted if isinstance(accepted, list) else [accepted]
    if isinstance(answer, list):  # a multiple choice matches when any picked choice is accepted
        return any(a in options for a in answer)
    if isinstance(answer, bool):
        return any(isinstance(o, bool) and o is answer for o in options)
    return any(not isinstance(o, bool) and o == answer for o in options)


def condition_holds(question: Question, values: Mapping[str, Any]) -> bool:
    """Whether a follow-up's ``when`` holds for ``values`` (``{question id: answer}``: a value, or an object
    with ``value`` and ``na``).

    A condition on an unanswered (or N/A) question does not hold: the follow-up waits for that answer.
    """
    conditions = question.conditions
    return not conditions or any(_holds(c, values) for c in conditions)


def _holds(condition: Condition, values: Mapping[str, Any]) -> bool:
    for ref, accepted in condition.items():
        answer: Any = values.get(ref)
        if hasattr(answer, "na"):  # a stored answer (or scoring.AnswerValue): N/A counts as no answer
            answer = None if answer.na else answer.value
        if answer is None or not _matches(answer, accepted):
            return False
    return True


def is_asked(question: Question, values: Mapping[str, Any], *, deep: bool = False) -> bool:
    """Whether the walk asks ``question``: deep questions only in the deep walk, follow-ups only when they apply."""
    if question.deep and not deep:
        return False
    return condition_holds(question, values)


def missing_required(questions: Iterable[Question], values: Mapping[str, Any], answered: Iterable[str]) -> list[str]:
    """Ids of required questions still without an answer (deep ones and follow-ups that do not apply are not)."""
    done = set(answered)
    return [q.id for q in questions if q.required and q.id not in done and is_asked(q, values)]


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
