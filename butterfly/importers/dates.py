"""Reading the dates helpdesk exports contain, and writing them as UTC.

Accepted: ISO 8601 with or without a zone (``2026-10-05T09:12:00+08:00``, ``2026-10-05 09:12``, ``…Z``,
Jira's ``+0800``), day and month as numbers (``29/2/2016 01:16``, ``02-29-2016 1:16 PM``, ``29.02.2016``: which
comes first is decided per column, see :mod:`butterfly.importers.dateorder`), a month name (Jira's CSV export
``10/Mar/24 1:15 PM``), ``yyyy/mm/dd [HH:MM[:SS]]``, ``yyyy年mm月dd日 [HH:MM]``, and epoch seconds (or
milliseconds, 13 digits). Times without a zone are in the import's time zone (``--timezone``, default UTC).
A value that cannot be read, or lies outside the years 1-9999 once in UTC, raises ValueError quoting the value.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, tzinfo

from butterfly.clock import OFF_CALENDAR, zone

__all__ = ["OffCalendar", "canonical", "parse_datetime", "to_utc_text", "zone"]

# day and month as numbers, either order: (first)(sep)(second)(sep)(year) [time [AM|PM]]
NUMERIC_DATE = re.compile(
    r"(\d{1,2})([-./])(\d{1,2})\2(\d{4})"
    r"(?:[ T]+(\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?\s*([AaPp]\.?[Mm]\.?)?)?"
)
_MONTH_NAME = re.compile(
    r"(\d{1,2})[-/ ]([A-Za-z]{3,9})\.?[-/ ](\d{4}|\d{2})"
    r"(?:[ T,]+(\d{1,2}):(\d{2})(?::(\d{2}))?\s*([AaPp]\.?[Mm]\.?)?)?"
)
_YMD_SLASH = re.compile(r"(\d{4})/(\d{1,2})/(\d{1,2})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?")
_YMD_CN = re.compile(r"(\d{4})年(\d{1,2})月(\d{1,2})日\s*(?:(\d{1,2})[:：时](\d{2})(?:[:：分](\d{2})秒?)?)?")
_EPOCH = re.compile(r"\d{9,10}(?:\.\d+)?|\d{13}")
_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_SHORT_OFFSET = re.compile(r"([+-]\d{2})(\d{2})$")
MONTHS = {
    name: number
    for number, names in enumerate(
        (
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ),
        start=1,
    )
    for name in names
}
DAY_FIRST = "dmy"
MONTH_FIRST = "mdy"
EXCEL_EPOCH = datetime(1899, 12, 30)  # Excel's day 0 in the 1900 date system (with its 1900-02-29 quirk)


class AmbiguousDateError(ValueError):
    """Day and month are both 12 or less and nothing says which comes first."""


class OffCalendar(ValueError):
    """A time before year 1 or after 9999 once in UTC: a date, but not one that can be stored."""


def is_empty(text: str) -> bool:
    return not text or text in ("?", "-", "null", "NULL", "None")


def parse_datetime(value: str, tz: tzinfo = UTC, order: str | None = None) -> datetime | None:
    """``value`` as an aware datetime; ``None`` for an empty value; ValueError (quoting the value) if it is not a
    date. ``order``: ``"dmy"`` or ``"mdy"`` for day and month given as numbers (``None``: only when one of them is
    above 12 or both are the same; otherwise AmbiguousDateError)."""
    text = value.strip()
    if is_empty(text):
        return None
    try:
        dt = _parse(text, order)
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=tz)
    except AmbiguousDateError:
        raise
    except (ValueError, OverflowError) as exc:
        raise ValueError(_explain(text, exc)) from None
    try:
        dt.astimezone(UTC)
    except OverflowError:  # 9999-12-31T23:59:59-12:00, 0001-01-01T00:00:00+14:00
        raise OffCalendar(f"'{text}' is {OFF_CALENDAR}") from None
    return dt


def _explain(text: str, exc: BaseException) -> str:
    message = str(exc)
    if f"'{text}'" in message:
        return message
    if isinstance(exc, OverflowError) or "out of range" in message:
        return f"not a date: '{text}' (outside the years 1-9999 in UTC)"
    if not message or "Invalid isoformat" in message or "does not match format" in message:
        return f"not a date: '{text}'"
    return f"not a date: '{text}' ({message})"


def _parse(text: str, order: str | None) -> datetime:
    try:
        return datetime.fromisoformat(text)
    except ValueError as exc:
        iso_error = str(exc) if _ISO_DAY.match(text) else None
    if " " in text:  # "2026-10-05 09:12:00 +08:00"
        try:
            return datetime.fromisoformat(text.replace(" +", "+").replace(" -", "-"))
        except ValueError:
            pass
    try:
        return _parse_other(text, order)
    except AmbiguousDateError:
        raise
    except ValueError:
        if iso_error and "Invalid isoformat" not in iso_error:
            raise ValueError(f"not a date: '{text}' ({iso_error})") from None
        raise


def _hour(hh: str | None, ampm: str | None) -> int:
    hour = int(hh or 0)
    if ampm:
        if not 1 <= hour <= 12:
            raise ValueError(f"hour {hour} with {ampm}")
        pm = ampm[0] in "Pp"
        hour = (hour % 12) + (12 if pm else 0)
    return hour


def day_month(first: int, second: int, order: str | None, text: str) -> tuple[int, int]:
    """(day, month) of a date written with two numbers, in ``order`` or the only order that makes sense."""
    if order == DAY_FIRST:
        return first, second
    if order == MONTH_FIRST:
        return second, first
    if first > 12 or first == second:
        return first, second
    if second > 12:
        return second, first
    raise AmbiguousDateError(f"ambiguous date '{text}': day or month first? (--day-first, --month-first)")


def _parse_other(text: str, order: str | None = None) -> datetime:
    m = NUMERIC_DATE.fullmatch(text)
    if m:
        a, _sep, b, year, hh, mi, ss, frac, ampm = m.groups()
        day, month = day_month(int(a), int(b), order, text)
        micro = int((frac or "0").ljust(6, "0"))
        return datetime(int(year), month, day, _hour(hh, ampm), int(mi or 0), int(ss or 0), micro)
    m = _MONTH_NAME.fullmatch(text)
    if m and m.group(2).lower() in MONTHS:
        d, name, y, hh, mi, ss, ampm = m.groups()
        year = int(y) + (2000 if len(y) == 2 else 0)  # Jira's dd/MMM/yy: 24 is 2024
        return datetime(year, MONTHS[name.lower()], int(d), _hour(hh, ampm), int(mi or 0), int(ss or 0))
    for pattern in (_YMD_SLASH, _YMD_CN):
        m = pattern.fullmatch(text)
        if m:
            a, b, c, hh, mm, ss = m.groups()
            return datetime(int(a), int(b), int(c), int(hh or 0), int(mm or 0), int(ss or 0))
    if _EPOCH.fullmatch(text):
        return from_epoch(text)
    m = _SHORT_OFFSET.search(text)
    if m and _ISO_DAY.match(text):  # "2026-10-05T09:12:33.000+0800" on Pythons that want "+08:00"
        return datetime.fromisoformat(text[: m.start()] + m.group(1) + ":" + m.group(2))
    raise ValueError(f"not a date: '{text}'")


def from_epoch(text: str) -> datetime:
    """Epoch seconds (milliseconds from 13 digits on) as a UTC datetime; ValueError if out of range."""
    number = float(text)
    if abs(number) >= 1e12:
        number /= 1000
    try:
        return datetime.fromtimestamp(number, UTC)
    except (OverflowError, OSError, ValueError):
        raise ValueError(f"not a date: '{text}' (outside the years 1-9999)") from None


def from_excel(text: str) -> datetime:
    """An Excel serial date (days since 1899-12-30, a fraction is the time of day), without a zone."""
    try:
        return EXCEL_EPOCH + timedelta(days=float(text))
    except (OverflowError, ValueError):
        raise ValueError(f"not a date: '{text}' (as an Excel serial date)") from None


def to_utc_text(dt: datetime) -> str:
    """The canonical text the bulk writer stores: ``YYYY-MM-DD HH:MM:SS.ffffff`` in UTC (what SQLAlchemy writes
    for SQLite; PostgreSQL reads it as a UTC ``timestamptz``)."""
    return dt.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")  # years below 1000 with zeros


def canonical(value: str, tz: tzinfo = UTC, order: str | None = None) -> str:
    """``value`` as canonical UTC text (``''`` for an empty value); ValueError if it is not a date."""
    dt = parse_datetime(value, tz, order)
    return "" if dt is None else to_utc_text(dt)
