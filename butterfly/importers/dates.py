"""Reading the dates helpdesk exports contain, and writing them as UTC.

Accepted: ISO 8601 with or without a zone (``2026-10-05T09:12:00+08:00``, ``2026-10-05 09:12``, ``…Z``,
Jira's ``+0800``), ``dd-mm-yyyy HH:MM[:SS]`` (ServiceNow), ``yyyy/mm/dd [HH:MM[:SS]]``, ``yyyy年mm月dd日 [HH:MM]``,
and epoch seconds (or milliseconds, 13 digits). Times without a zone are in the import's time zone
(``--timezone``, default UTC).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta, tzinfo
from itertools import repeat

from butterfly.clock import OFF_CALENDAR, zone

__all__ = ["ColumnDates", "OffCalendar", "canonical", "parse_datetime", "to_utc_text", "zone"]

_DMY = re.compile(r"(\d{1,2})[-.](\d{1,2})[-.](\d{4})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?")
_YMD_SLASH = re.compile(r"(\d{4})/(\d{1,2})/(\d{1,2})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?")
_YMD_CN = re.compile(r"(\d{4})年(\d{1,2})月(\d{1,2})日\s*(?:(\d{1,2})[:：时](\d{2})(?:[:：分](\d{2})秒?)?)?")
_EPOCH = re.compile(r"\d{9,10}(?:\.\d+)?|\d{13}")
_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_SHORT_OFFSET = re.compile(r"([+-]\d{2})(\d{2})$")


class OffCalendar(ValueError):
    """A time before year 1 or after 9999 once in UTC: a date, but not one that can be stored."""


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
    try:
        dt.astimezone(UTC)
    except OverflowError:  # 9999-12-31T23:59:59-12:00, 0001-01-01T00:00:00+14:00
        raise OffCalendar(f"'{text}' is {OFF_CALENDAR}") from None
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
    """The canonical text the bulk writer stores: ``YYYY-MM-DD HH:MM:SS.ffffff`` in UTC (what SQLAlchemy writes
    for SQLite; PostgreSQL reads it as a UTC ``timestamptz``)."""
    return dt.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def canonical(value: str, tz: tzinfo = UTC) -> str:
    """``value`` as canonical UTC text (``''`` for an empty value); ValueError if it is not a date."""
    dt = parse_datetime(value, tz)
    return "" if dt is None else to_utc_text(dt)


# -- a whole column at once ----------------------------------------------------------------------------------

_HEAD = slice(0, 13)  # "YYYY-MM-DDTHH"
_MINSEC = slice(13, 19)  # ":MM:SS"
_ZONE = slice(19, None)  # "", "Z", "+08:00"
_MINSEC_RE = re.compile(r":[0-5]\d(?::[0-5]\d)?")
_OFFSET_RE = re.compile(r"([+-])(\d\d):?(\d\d)?")


class _Memo(dict[str, str | None]):
    def __init__(self, compute: object, limit: int = 50_000) -> None:
        super().__init__()
        self.compute = compute
        self.limit = limit

    def __missing__(self, key: str) -> str | None:
        if len(self) >= self.limit:
            self.clear()
        value: str | None = self.compute(key)  # type: ignore[operator]
        self[key] = value
        return value


class ColumnDates:
    """Converts a column of ISO 8601 times to canonical UTC text with no Python code per value.

    A time ``YYYY-MM-DDTHH:MM:SS±HH:MM`` (or ``Z``, or no zone, or ``YYYY-MM-DD``, ``YYYY-MM-DD HH:MM``) is split by
    C-level slicing into its date-and-hour with the zone, and its minutes and seconds; each part is looked up in
    a memo (a day of tickets shares 24 date-hours), converted once, and the parts are joined again. Anything else
    (fractions of seconds, half-hour zones, other formats) makes :meth:`convert` return ``None`` and the caller
    converts that batch value by value with :func:`canonical`.
    """

    def __init__(self, tz: tzinfo = UTC) -> None:
        self.tz = tz
        self._heads = _Memo(self._head)
        self._minsecs = _Memo(self._minsec)

    def convert(self, column: Sequence[str]) -> list[str] | None:
        get = str.__getitem__
        heads = map(
            self._heads.__getitem__, map(str.__add__, map(get, column, repeat(_HEAD)), map(get, column, repeat(_ZONE)))
        )
        minsecs = map(self._minsecs.__getitem__, map(get, column, repeat(_MINSEC)))
        try:
            return list(map(str.__add__, heads, minsecs))  # type: ignore[arg-type]
        except TypeError:  # a part the memo could not convert (None)
            return None

    @staticmethod
    def _minsec(text: str) -> str | None:
        if text == "":
            return ""
        if not _MINSEC_RE.fullmatch(text):
            return None
        return text + (":00.000000" if len(text) == 3 else ".000000")

    def _head(self, key: str) -> str | None:
        """``YYYY-MM-DDTHH`` + zone -> UTC ``YYYY-MM-DD HH`` (or a whole day for ``YYYY-MM-DD``)."""
        if key == "":
            return ""
        date_only = len(key) == 10
        head, zone_text = (key, "") if date_only else (key[:13], key[13:])
        if not (
            head[:4].isdigit() and head[4] == "-" and head[5:7].isdigit() and head[7] == "-" and head[8:10].isdigit()
        ):
            return None
        if not date_only and not (head[10] in "T " and head[11:13].isdigit()):
            return None
        try:
            local = datetime(int(head[:4]), int(head[5:7]), int(head[8:10]), 0 if date_only else int(head[11:13]))
        except ValueError:
            return None
        if zone_text == "":
            offset = local.replace(tzinfo=self.tz).utcoffset() or timedelta(0)
        elif zone_text == "Z":
            offset = timedelta(0)
        else:
            m = _OFFSET_RE.fullmatch(zone_text)
            if m is None:
                return None
            sign = -1 if m.group(1) == "-" else 1
            offset = sign * timedelta(hours=int(m.group(2)), minutes=int(m.group(3) or 0))
        if offset.total_seconds() % 3600:
            return None  # half-hour zones: the minutes change too
        try:
            utc = local - offset
        except OverflowError:
            return None  # off the calendar in UTC: canonical() says so for the value
        return utc.strftime("%Y-%m-%d %H:%M:%S.%f") if date_only else utc.strftime("%Y-%m-%d %H")
