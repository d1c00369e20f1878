"""Cell scores from rating answers: the share of the scale reached, N/A and unanswered left out."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from butterfly.checklist.model import AnswerKind, Checklist


@dataclass(frozen=True)
class AnswerValue:
    """The part of a stored answer scoring needs."""

    value: object
    na: bool = False


@dataclass(frozen=True)
class CellScore:
    cell_id: str
    score: float | None  # 0.0-1.0; None when no rating in the cell was answered
    rated: int  # ratings answered (not N/A)
    ratings: int  # rating questions in the cell
    answered: int  # questions answered, any kind, N/A included
    questions: int


def cell_scores(checklist: Checklist, answers: Mapping[str, AnswerValue]) -> list[CellScore]:
    """One :class:`CellScore` per cell, in checklist order.

    A rating answer ``v`` on a scale ``lo..hi`` counts ``(v - lo) / (hi - lo)``; the cell score is their mean.
    """
    lo, hi = checklist.scale.minimum, checklist.scale.maximum
    span = hi - lo
    out = []
    for cell in checklist.cells:
        values: list[float] = []
        ratings = answered = 0
        for q in cell.questions:
            a = answers.get(q.id)
            if a is not None and (a.na or a.value is not None):
                answered += 1
            if q.kind is not AnswerKind.rating:
                continue
            ratings += 1
            if a is None or a.na or a.value is None:
                continue
            if isinstance(a.value, bool) or not isinstance(a.value, int | float):
                continue
            values.append((float(a.value) - lo) / span)
        score = sum(values) / len(values) if values else None
        out.append(CellScore(cell.id, score, len(values), ratings, answered, len(cell.questions)))
    return out
