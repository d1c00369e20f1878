"""What an answer may be: :func:`validate_answer` turns what a reviewer typed (or what an answers file holds) into
the stored value for the question's kind, and :func:`display_value` shows a stored value in the reviewer's language.

Writing answers is :mod:`butterfly.review.answers`.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from butterfly.checklist.model import AnswerKind, Question, Scale
from butterfly.clock import OFF_CALENDAR, zone
from butterfly.errors import InvalidInputError
from butterfly.periods import parse_moment

MAX_TEXT_LENGTH = 20_000

NA_WORDS = frozenset({"na", "n/a", "n.a.", "not applicable", "不适用", "不適用", "无关", "無關"})
YES_WORDS = frozenset({"y", "yes", "true", "1", "是", "是的", "对", "對", "有"})
NO_WORDS = frozenset({"n", "no", "false", "0", "否", "不是", "不", "没有", "沒有", "无", "無"})


# -- validation ---------------------------------------------------------------------------------------------


class AnswerError(InvalidInputError):
    """An answer that does not fit its question; ``key`` and ``values`` let the walk say it in the reviewer's
    language (``butterfly/data/walk.yaml``: ``<key>`` and ``<key>.hint``); ``message`` stays English for files."""

    def __init__(self, message: str, *, hint: str | None = None, key: str, **values: object) -> None:
        super().__init__(message, hint=hint)
        self.key = key
        self.values = values


def is_na_token(raw: object, scale: Scale | None = None) -> bool:
    """Whether ``raw`` means "not applicable" (``na``, ``N/A``, ``不适用`` or the scale's N/A label)."""
    if not isinstance(raw, str):
        return False
    word = raw.strip().lower()
    if word in NA_WORDS:
        return True
    return scale is not None and word == scale.na_label.strip().lower()


def parse_datetime(raw: object, *, tz: str | None = None) -> datetime:
    """An aware UTC datetime from what ``butterfly import`` reads (ISO 8601, ``YYYY-MM-DD HH:MM``,
    ``2026年3月25日 10:00`` …) or a date; naive values in ``tz`` (default: the ``timezone`` setting).

    The parsing is :func:`butterfly.periods.parse_moment`'s; a value off the calendar is a clear error.
    """
    try:
        return parse_moment(raw, tz=None if tz is None else zone(tz))
    except InvalidInputError as exc:
        shown = raw.strip()[:80] if isinstance(raw, str) else str(raw)[:80]
        if isinstance(raw, str) and raw.strip() and "is not a date-time" in exc.message:  # said in the walk's language
            raise AnswerError(exc.message, hint=exc.hint, key="answer.datetime", raw=shown) from None
        if OFF_CALENDAR in exc.message:
            raise AnswerError(exc.message, hint=exc.hint, key="answer.datetime_off", raw=shown) from None
        raise AnswerError(exc.message, hint=exc.hint, key="answer.datetime", raw=shown) from None


def _rating(raw: object, scale: Scale) -> int:
    allowed = ", ".join(f"{p.value} ({p.label})" for p in scale.points)
    value: int | None = None
    if isinstance(raw, bool):
        value = None
    elif isinstance(raw, int):
        value = raw
    elif isinstance(raw, float) and raw.is_integer():
        value = int(raw)
    elif isinstance(raw, str):
        text = raw.strip()
        if re.fullmatch(r"[+-]?\d+", text):
            value = int(text)
        else:
            for point in scale.points:
                if point.label.strip().lower() == text.lower():
                    value = point.value
    if value is None or value not in {p.value for p in scale.points}:
        raise AnswerError(
            f"'{raw}' is not on the rating scale",
            hint=f"use one of {allowed}, or N/A",
            key="answer.rating",
            raw=raw,
            allowed=allowed,
        )
    return value


def is_yes(value: object) -> bool:
    """A stored yes/no answer that says yes: ``True``, ``1`` or a yes word (y, yes, true, 是 …); anything else no."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return value == 1
    if isinstance(value, str):
        return value.strip().lower() in YES_WORDS
    return False


def _yes_no(raw: object) -> bool:
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, int) and raw in (0, 1):
        return bool(raw)
    if isinstance(raw, str):
        word = raw.strip().lower()
        if word in YES_WORDS:
            return True
        if word in NO_WORDS:
            return False
    raise AnswerError(f"'{raw}' is not yes or no", hint="answer y/yes/是 or n/no/否", key="answer.yes_no", raw=raw)


def _one_choice(question: Question, raw: object) -> str:
    assert question.choices is not None
    choices = question.choices
    if isinstance(raw, int) and not isinstance(raw, bool):
        text = str(raw)
    elif isinstance(raw, str):
        text = raw.strip()
    else:
        text = ""
    if text:
        if text.isdigit() and 1 <= int(text) <= len(choices):
            return choices[int(text) - 1].id
        for choice in choices:
            if choice.id == text:
                return choice.id
        low = text.lower()
        for choice in choices:
            if choice.label.strip().lower() == low:
                return choice.id
    options = ", ".join(f"{i} = {c.id}" for i, c in enumerate(choices, start=1))
    raise AnswerError(
        f"'{raw}' is not one of the choices",
        hint=f"use a number or id: {options}",
        key="answer.choice",
        raw=raw,
        options=options,
    )


def _choice(question: Question, raw: object) -> str | list[str]:
    if not question.multiple:
        return _one_choice(question, raw)
    items: list[object]
    if isinstance(raw, list | tuple):
        items = list(raw)
    elif isinstance(raw, str):
        items = [part for part in re.split(r"[,，;；、\s]+", raw.strip()) if part]
    else:
        items = [raw]
    if not items:
        raise AnswerError("pick at least one choice", key="answer.no_choice")
    picked: list[str] = []
    for item in items:
        choice_id = _one_choice(question, item)
        if choice_id not in picked:
            picked.append(choice_id)
    exclusive = [c for c in question.choices or [] if c.exclusive and c.id in picked]
    if exclusive and len(picked) > 1:
        label = exclusive[0].label
        raise AnswerError(
            f"'{label}' cannot be picked together with other choices",
            hint=f"pick '{label}' alone, or only the others",
            key="answer.exclusive",
            label=label,
        )
    return picked


def _text(raw: object) -> str:
    if isinstance(raw, bool) or raw is None or isinstance(raw, dict | list):
        raise AnswerError("expected text", key="answer.not_text")
    text = str(raw).replace("\r\n", "\n").strip()
    if not text:
        raise AnswerError("the answer is empty", key="answer.empty")
    if len(text) > MAX_TEXT_LENGTH:
        raise AnswerError(
            f"the answer is {len(text)} characters long; at most {MAX_TEXT_LENGTH} are kept",
            key="answer.too_long",
            n=len(text),
            max=MAX_TEXT_LENGTH,
        )
    return text


def validate_answer(question: Question, raw: object, scale: Scale, *, tz: str | None = None) -> tuple[Any, bool]:
    """Convert and validate ``raw`` for ``question``; returns ``(value, na)``.

    - rating: a point of ``scale`` (its number or label), or N/A;
    - yes_no: ``True``/``False`` from y/n, yes/no, 是/否, 是的, true/false;
    - datetime: ISO 8601 or ``YYYY-MM-DD HH:MM`` in the configured time zone, stored as UTC ISO text;
    - choice: a choice id, its label or its 1-based number (a list of them for ``multiple``);
    - text: non-empty text (several lines allowed).

    Any kind may be answered N/A (``na``, ``N/A``, ``不适用`` or the scale's N/A label): ``(None, True)``.
    Raises :class:`InvalidInputError` saying what is accepted.
    """
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        raise AnswerError("no answer given", key="answer.none")
    if is_na_token(raw, scale):
        return None, True
    kind = question.kind
    if kind is AnswerKind.rating:
        return _rating(raw, scale), False
    if kind is AnswerKind.yes_no:
        return _yes_no(raw), False
    if kind is AnswerKind.datetime:
        return parse_datetime(raw, tz=tz).isoformat(), False
    if kind is AnswerKind.choice:
        return _choice(question, raw), False
    return _text(raw), False


_YES_NO = {"zh-CN": ("是", "否"), "zh-TW": ("是", "否")}


def display_value(question: Question, value: Any, na: bool, scale: Scale, *, lang: str | None = None) -> str:
    """A stored answer as a short human string (choice labels, scale labels, yes/no; 是/否 in Chinese)."""
    if na:
        return scale.na_label
    if value is None:
        return ""
    if question.kind is AnswerKind.rating and isinstance(value, int):
        return f"{value} ({scale.label(value)})"
    if question.kind is AnswerKind.yes_no:
        yes, no = _YES_NO.get(lang or "", ("yes", "no"))
        return yes if value else no
    if question.kind is AnswerKind.choice and question.choices:
        labels = {c.id: c.label for c in question.choices}
        if isinstance(value, list):
            return "; ".join(labels.get(str(v), str(v)) for v in value)
        return labels.get(str(value), str(value))
    if question.kind is AnswerKind.datetime and isinstance(value, str):
        try:
            return datetime.fromisoformat(value).strftime("%Y-%m-%d %H:%M UTC")
        except ValueError:
            return value
    return str(value)
