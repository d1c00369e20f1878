"""Reading the dates helpdesk exports contain, and writing them as UTC.

Accepted: ISO 8601 with or without a zone (``2026-10-05T09:12:00+08:00``, ``2026-10-05 09:12``, ``…Z``,
Jira's ``+0800``), ``dd-mm-yyyy HH:MM[:SS]`` (ServiceNow), ``yyyy/mm/dd [HH:MM[:SS]]``, ``yyyy年mm月dd日 [HH:MM]``,
and epoch seconds (or milliseconds, 13 digits). Times without a zone are in the import's time zone
(``--timezone``, default UTC).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from butterfly.errors import InvalidInputError

_DMY = re.compile(r"(\d{1,2})[-.](\d{1,2})[-.](\d{4})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?")
_YMD_SLASH = re.compile(r"(\d{4})/(\d{1,2})/(\d{1,2})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?")
_YMD_CN = re.compile(r"(\d{4})年(\d{1,2})月(\d{1,2})日\s*(?:(\d{1,2})[:：时](\d{2})(?:[:：分](\d{2})秒?)?)?")
_EPOCH = re.compile(r"\d{9,10}(?:\.\d+)?|\d{13}")
_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_SHORT_OFFSET = re.compile(r"([+-]\d{2})(\d{2})$")


def zone(name: str | None) -> tzinfo:
    """The time zone called ``name`` (``None`` or empty: UTC); InvalidInputError if unknown."""
    if not name or name.upper() in ("UTC", "Z", "GMT"):
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInputError(
            f"unknown time zone '{name}'", hint="use an IANA name such as Asia/Shanghai or UTC"
        ) from None


def parse_datetime(value: str, tz: tzinfo = UTC) -> datetime | None:
    """``value`` as an aware datetime; ``None`` for an empty value; ValueError if it is not a date."""
    text = value.strip()
    if not text or text in ("?", "-", "null", "NULL", "None"):
        return None
    dt: datetime | None = None
    iso_error: str | None = None
    try:
        dt = datetime.fromisoformat(text)
    except ValueError as exc:
        iso_error = str(exc) if _ISO_DAY.match(text) else None
    if dt is None and " " in text:  # "2026-10-05 09:12:00 +08:00"
        try:
            dt = datetime.fromisoformat(text.replace(" +", "+").replace(" -", "-"))
        except ValueError:
            dt = None
    if dt is None:
        try:
            dt = _parse_other(text)
        except ValueError:
            if iso_error and "Invalid isoformat" not in iso_error:
                raise ValueError(f"not a date: '{text}' ({iso_error})") from None
            raise
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=tz)
    return dt


def _parse_other(text: str) -> datetime:
    for pattern, order in ((_DMY, "dmy"), (_YMD_SLASH, "ymd"), (_YMD_CN, "ymd")):
        m = pattern.fullmatch(text)
        if m:
            a, b, c, hh, mm, ss = m.groups()
            year, month, day = (int(c), int(b), int(a)) if order == "dmy" else (int(a), int(b), int(c))
            return datetime(year, month, day, int(hh or 0), int(mm or 0), int(ss or 0))
    if _EPOCH.fullmatch(text):
        seconds = float(text) / (1000 if len(text) == 13 else 1)
        return datetime.fromtimestamp(seconds, UTC)
    m = _SHORT_OFFSET.search(text)
    if m:  # "2026-10-05T09:12:33.000+0800" on Pythons that want "+08:00"
        return datetime.fromisoformat(text[: m.start()] + m.group(1) + ":" + m.group(2))
    raise ValueError(f"not a date: '{text}'")


def to_utc_text(dt: datetime) -> str:
    """The canonical text butterfly hands the bulk writer: ``YYYY-MM-DD HH:MM:SS.ffffffZ`` in UTC."""
    return dt.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%fZ")


def canonical(value: str, tz: tzinfo = UTC) -> str:
    """``value`` as canonical UTC text (``''`` for an empty value); ValueError if it is not a date."""
    dt = parse_datetime(value, tz)
    return "" if dt is None else to_utc_text(dt)
