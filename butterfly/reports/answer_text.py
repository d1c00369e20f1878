"""A stored answer as the text a report reader sees: scale and choice labels, yes/no, a local date-time."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from butterfly.checklist.model import AnswerKind, Checklist, Question


def _yes_no(value: object) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return bool(value)
    if isinstance(value, str):
        v = value.strip().lower()
        if v in ("yes", "y", "true", "1", "是"):
            return True
        if v in ("no", "n", "false", "0", "否"):
            return False
    return None


def show_answer(
    question: Question | None, value: Any, na: bool, checklist: Checklist, labels: dict[str, str], tz: str
) -> str:
    """An answer as the text a reader sees: scale and choice labels, yes/no, a local date-time."""
    if na:
        return checklist.scale.na_label
    if value is None or value == "" or value == []:
        return ""
    kind = question.kind if question is not None else None
    if kind is AnswerKind.rating and isinstance(value, int | float) and not isinstance(value, bool):
        return f"{value} · {checklist.scale.label(int(value))}"
    if kind is AnswerKind.yes_no:
        yn = _yes_no(value)
        if yn is not None:
            return labels["yes"] if yn else labels["no"]
    if kind is AnswerKind.choice and question is not None and question.choices:
        names = {c.id: c.label for c in question.choices}
        ids = value if isinstance(value, list) else [value]
        return "; ".join(names.get(str(i), str(i)) for i in ids)
    if kind is AnswerKind.datetime and isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return value
        if moment.tzinfo is None:
            return moment.strftime("%Y-%m-%d %H:%M")
        return moment.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M")
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "; ".join(str(v) for v in value)
    return json.dumps(value, ensure_ascii=False)
