"""Numbers, plurals, percentages and durations in the report's language, by CLDR's data (:mod:`butterfly.cldr`, a
snapshot of what Babel ships), not by hand rules.

A counted label has a plural form per CLDR category: ``KEY`` holds the general ("other") text and ``KEY__one`` the
singular where a language has one (English "1 ticket"; Chinese has no plural, so both texts are the same).
"""

from __future__ import annotations

from datetime import timedelta

from butterfly import cldr
from butterfly.timeutil import format_duration


def number(value: float | int | None, lang: str) -> str:
    """``12,345`` / ``1.5`` the locale's way; an en dash for None."""
    return "–" if value is None else cldr.format_decimal(value, lang)


def percent(value: float | None, lang: str) -> str:
    """A share (0..1) as a whole percentage the locale's way; an en dash for None."""
    return "–" if value is None else cldr.format_percent(value, lang)


def plural_category(n: float | int, lang: str) -> str:
    """The CLDR plural category of ``n`` (``one``, ``other`` …)."""
    return cldr.plural_form(n, lang)


def counted(labels: dict[str, str], key: str, n: int, lang: str, **values: object) -> str:
    """The label ``key`` (``KEY__one`` when the language's rule says singular) with ``{n}`` and ``values`` filled."""
    form = f"{key}__{plural_category(n, lang)}"
    text = labels.get(form, labels[key])
    for name, value in {"n": number(n, lang), **values}.items():
        text = text.replace("{" + name + "}", str(value))
    return text


def duration(seconds: float | None, lang: str) -> str:
    """A duration in the report's language (:func:`butterfly.timeutil.format_duration`); empty for None."""
    if seconds is None:
        return ""
    return format_duration(timedelta(seconds=seconds), lang)
