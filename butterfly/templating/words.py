"""Numbers, plurals, percentages and durations in the report's language, by Babel (CLDR data), not by hand rules.

A counted label has a plural form per CLDR category: ``KEY`` holds the general ("other") text and ``KEY__one`` the
singular where a language has one (English "1 ticket"; Chinese has no plural, so both texts are the same).
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from babel import Locale

_LOCALES = {"zh-CN": "zh_Hans_CN", "zh-TW": "zh_Hant_TW", "en": "en"}
# CLDR's narrow list joins zh-Hant units without a space after a spaced number ("2 天3 小時"): its short list reads well
_UNIT_LIST: dict[str, Literal["unit-short", "unit-narrow"]] = {"zh-TW": "unit-short"}


@lru_cache(maxsize=8)
def locale(lang: str) -> Locale:
    from babel import Locale

    return Locale.parse(_LOCALES.get(lang, "en"))


def number(value: float | int | None, lang: str) -> str:
    """``12,345`` / ``1.5`` the locale's way; an en dash for None."""
    from babel.numbers import format_decimal

    return "–" if value is None else format_decimal(value, locale=locale(lang))


def percent(value: float | None, lang: str) -> str:
    """A share (0..1) as a whole percentage the locale's way; an en dash for None."""
    from babel.numbers import format_percent

    return "–" if value is None else format_percent(value, locale=locale(lang))


def plural_category(n: float | int, lang: str) -> str:
    """The CLDR plural category of ``n`` (``one``, ``other`` …)."""
    category: str = locale(lang).plural_form(n)
    return category


def counted(labels: dict[str, str], key: str, n: int, lang: str, **values: object) -> str:
    """The label ``key`` (``KEY__one`` when the language's rule says singular) with ``{n}`` and ``values`` filled."""
    form = f"{key}__{plural_category(n, lang)}"
    text = labels.get(form, labels[key])
    for name, value in {"n": number(n, lang), **values}.items():
        text = text.replace("{" + name + "}", str(value))
    return text


def duration(seconds: float | None, lang: str) -> str:
    """A duration with its two largest units: in Chinese the locale's unit forms by Babel (``3小时0分钟``,
    ``2 天 7 小時``); in English the house short form of :func:`butterfly.timeutil.format_duration` (``3h 00m``)."""
    from datetime import timedelta

    from babel.lists import format_list
    from babel.units import format_unit

    from butterfly.timeutil import format_duration

    if seconds is None:
        return ""
    if lang not in _LOCALES or lang == "en":
        return format_duration(timedelta(seconds=seconds))
    total = int(seconds)
    sign = "-" if total < 0 else ""
    total = abs(total)
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        units = [(days, "duration-day"), (hours, "duration-hour")]
    elif hours:
        units = [(hours, "duration-hour"), (minutes, "duration-minute")]
    else:
        units = [(minutes, "duration-minute")]
    loc = locale(lang)
    parts = [format_unit(v, u, length="narrow", locale=loc) for v, u in units]
    return sign + format_list(parts, style=_UNIT_LIST.get(lang, "unit-narrow"), locale=loc)
