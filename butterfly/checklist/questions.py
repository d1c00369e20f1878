"""The parts of a checklist: the answer kinds and guards, the rating scale, choices, questions and cells, and when a
follow-up question is asked (its ``when`` conditions, ``deep`` questions).

A whole checklist and loading one from a file is :mod:`butterfly.checklist.model`, which re-exports these names.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

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
