"""Time helpers: everything stored is timezone-aware UTC. What "now" and "today" are: :mod:`butterfly.clock`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Literal


def utcnow() -> datetime:
    """The current time, aware, in UTC."""
    return datetime.now(UTC)


def as_utc(value: datetime | None) -> datetime | None:
    """Treat a naive datetime as UTC; convert an aware one to UTC."""
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def format_duration(delta: timedelta | None, lang: str | None = None) -> str:
    """A short human duration: ``3d 4h``, ``2h 05m``, ``45m``; ``-`` for None. With ``lang`` (zh-CN, zh-TW, en)
    in that language's CLDR unit forms (``3小时0分钟``); English keeps the short form above."""
    if delta is None:
        return "-"
    if lang is not None and lang != "en":
        return _cldr_duration(delta, lang)
    seconds = int(delta.total_seconds())
    sign = "-" if seconds < 0 else ""
    seconds = abs(seconds)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        return f"{sign}{days}d {hours}h"
    if hours:
        return f"{sign}{hours}h {minutes:02d}m"
    return f"{sign}{minutes}m"


# CLDR's narrow list joins zh-Hant units without a space after a spaced number ("2 天3 小時"): its short list reads well
UNIT_LIST: dict[str, Literal["unit-short", "unit-narrow"]] = {"zh-TW": "unit-short"}


def duration_units(delta: timedelta) -> tuple[str, list[tuple[int, str]]]:
    """The sign and the two largest units of ``delta`` as CLDR unit names: ``("", [(3, "duration-hour"), (0,
    "duration-minute")])``."""
    total = int(delta.total_seconds())
    sign = "-" if total < 0 else ""
    days, rest = divmod(abs(total), 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        return sign, [(days, "duration-day"), (hours, "duration-hour")]
    if hours:
        return sign, [(hours, "duration-hour"), (minutes, "duration-minute")]
    return sign, [(minutes, "duration-minute")]


def _cldr_duration(delta: timedelta, lang: str) -> str:
    """The two largest units in ``lang``'s CLDR narrow unit forms (``3小时0分钟``, ``2 天 7 小時``)."""
    from butterfly import cldr

    sign, units = duration_units(delta)
    parts = [cldr.format_unit(v, u, lang) for v, u in units]
    return sign + cldr.format_list(parts, UNIT_LIST.get(lang, "unit-narrow"), lang)
