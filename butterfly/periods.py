"""One parser for periods, instants and due dates, read against one :class:`~butterfly.clock.Clock`.

- instants (``--since``/``--until``): ``YYYY-MM-DD`` (00:00 that day in the clock's zone; as an end, the whole
  day), an ISO date-time (naive ones in the clock's zone), or ``7d`` / ``12h`` / ``2w`` before now;
- weeks (``--week``): ``2026-W47``, ``this`` or ``last`` (the week of today, or the one before, in the zone);
- due dates: ``YYYY-MM-DD``, ``YYYY/MM/DD``, ``2026年3月25日``, or ``+14d`` / ``+2w`` from today;
- date-times in answers files: what ``butterfly import`` reads (:mod:`butterfly.importers.dates`), naive ones in
  the zone.

The calendar ends are not errors to trip over: an end at or past the last day butterfly can store (``--until
9999-12-31``, the usual "no end date") means open-ended, and a start before the first one means from the
beginning; anything else that falls off the calendar is one clear :class:`InvalidInputError`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any

from butterfly.clock import OFF_CALENDAR, Clock, settings_clock
from butterfly.errors import InvalidInputError

FIRST_WEEK_YEAR = 1900  # weeks a report covers; the history windows reach about three years back
LAST_WEEK_YEAR = 9998
INSTANT_HINT = "use YYYY-MM-DD, an ISO date-time such as 2026-11-20T09:00, or 7d / 12h / 2w (that long ago)"
_RELATIVE = re.compile(r"(\d{1,18})\s*([dhw])", re.IGNORECASE)
_RELATIVE_DUE = re.compile(r"\+\s*(\d{1,6})\s*([dw])", re.IGNORECASE)
_DAY = re.compile(r"(\d{4})[-/](\d{1,2})[-/](\d{1,2})|(\d{4})年(\d{1,2})月(\d{1,2})日")
_WEEK = re.compile(r"(\d{4})-?W(\d{1,2})", re.IGNORECASE)
_UNITS = {"d": "days", "h": "hours", "w": "weeks"}


@dataclass(frozen=True)
class Period:
    """A half-open time range [since, until) in UTC; either end may be open."""

    since: datetime | None = None
    until: datetime | None = None
    week: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "since": self.since.isoformat() if self.since else None,
            "until": self.until.isoformat() if self.until else None,
            "week": self.week,
        }

    def describe(self) -> str:
        if self.week:
            return f"week {self.week}"
        if self.since and self.until:
            return f"{self.since.isoformat()} to {self.until.isoformat()}"
        if self.since:
            return f"since {self.since.isoformat()}"
        if self.until:
            return f"until {self.until.isoformat()}"
        return "all time"


def _off_calendar(text: str, option: str) -> InvalidInputError:
    return InvalidInputError(
        f"{option}: '{text}' is {OFF_CALENDAR}",
        hint="leave the option out for an open end",
    )


def parse_instant(
    text: str, *, clock: Clock | None = None, option: str = "--since", end: bool = False
) -> datetime | None:
    """The UTC instant ``text`` names; ``None`` for an open end (see the module docs).

    With ``end``, a bare date means the start of the next day (the whole day is in).
    """
    clock = clock or settings_clock()
    value = text.strip()
    relative = _RELATIVE.fullmatch(value)
    try:
        if relative:
            amount = timedelta(**{_UNITS[relative.group(2).lower()]: int(relative.group(1))})
            return clock.now() - amount
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            day = date.fromisoformat(value)
            return clock.midnight(day + timedelta(days=1) if end else day)
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00") if value.endswith("Z") else value)
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=clock.tz)
        return parsed.astimezone(UTC)
    except OverflowError:
        # past the last storable instant: as an end, open-ended; as a start, nothing can match
        if end and not relative and value[:4] == "9999":
            return None
        if not end and (relative or value[:4] == "0001"):
            return None  # from before the first storable instant: from the beginning
        raise _off_calendar(text, option) from None
    except ValueError:
        raise InvalidInputError(f"{option}: '{text}' is not a date or time", hint=INSTANT_HINT) from None


@dataclass(frozen=True)
class Week:
    """An ISO week in the clock's zone: ``label`` (``2026-W47``), Monday 00:00 and next Monday 00:00 as UTC."""

    label: str
    start: datetime
    end: datetime


def parse_week(text: str, *, clock: Clock | None = None, option: str = "--week") -> Week:
    """``2026-W47`` (or ``2026W47``), ``this`` or ``last`` -> :class:`Week`; a clear error otherwise."""
    clock = clock or settings_clock()
    value = text.strip().lower()
    if value in ("this", "last"):
        today = clock.today()
        monday = today - timedelta(days=today.weekday() + (7 if value == "last" else 0))
    else:
        m = _WEEK.fullmatch(value)
        if not m:
            raise InvalidInputError(f"{option}: '{text}' is not an ISO week", hint="use e.g. 2026-W47, last or this")
        try:
            monday = date.fromisocalendar(int(m.group(1)), int(m.group(2)), 1)
        except ValueError:
            raise InvalidInputError(f"{option}: week {m.group(2)} of {m.group(1)} does not exist") from None
    if not FIRST_WEEK_YEAR <= monday.year <= LAST_WEEK_YEAR:
        raise InvalidInputError(
            f"{option}: '{text}' is outside the weeks butterfly reports on "
            f"({FIRST_WEEK_YEAR}-W01 to {LAST_WEEK_YEAR}-W52)"
        )
    year, week, _ = monday.isocalendar()
    return Week(f"{year}-W{week:02d}", clock.midnight(monday), clock.midnight(monday + timedelta(days=7)))


def last_complete_week(clock: Clock | None = None) -> Week:
    """The week before the one today falls in."""
    return parse_week("last", clock=clock)


def resolve_period(
    *,
    since: str | None = None,
    until: str | None = None,
    week: str | None = None,
    clock: Clock | None = None,
) -> Period:
    """The period named by ``--since``/``--until`` or ``--week`` (not both)."""
    clock = clock or settings_clock()
    if week is not None:
        if since is not None or until is not None:
            raise InvalidInputError("--week cannot be combined with --since/--until")
        w = parse_week(week, clock=clock)
        return Period(w.start, w.end, w.label)
    start = parse_instant(since, clock=clock, option="--since") if since else None
    stop = parse_instant(until, clock=clock, option="--until", end=True) if until else None
    if start and stop and start >= stop:
        raise InvalidInputError(f"--since ({since}) must be before --until ({until})")
    return Period(start, stop)


def parse_day(raw: object, *, clock: Clock | None = None, what: str = "due date") -> date | None:
    """A calendar day: ``YYYY-MM-DD``, ``YYYY/MM/DD``, ``2026年3月25日``, or ``+14d`` / ``+2w`` from today in the
    clock's zone (so a file kept in a repository can say "two weeks after it is applied"). ``None`` when empty."""
    if raw is None or raw == "":
        return None
    if isinstance(raw, datetime):
        return raw.date()
    if isinstance(raw, date):
        return raw
    text = str(raw).strip()
    relative = _RELATIVE_DUE.fullmatch(text)
    try:
        if relative:
            days = int(relative.group(1)) * (7 if relative.group(2).lower() == "w" else 1)
            return (clock or settings_clock()).today() + timedelta(days=days)
        m = _DAY.fullmatch(text)
        if m:
            y, mo, d = (int(g) for g in (m.group(1, 2, 3) if m.group(1) else m.group(4, 5, 6)))
            return date(y, mo, d)
    except (OverflowError, ValueError):
        pass
    raise InvalidInputError(
        f"'{text[:80]}' is not a {what}", hint="write it as YYYY-MM-DD, or +14d / +2w counted from today"
    )


def parse_moment(raw: object, *, tz: tzinfo | None = None) -> datetime:
    """A date-time from an answers file as aware UTC: what ``butterfly import`` reads (ISO 8601, ``2026-03-25
    10:00``, ``2026/03/25 10:00``, ``2026年3月25日 10:00`` …), or a date (its 00:00); naive ones in ``tz``
    (default: the ``timezone`` setting). A clear :class:`InvalidInputError` otherwise, also off the calendar."""
    local = tz or settings_clock().tz
    hint = "write it as YYYY-MM-DD HH:MM (or ISO 8601, e.g. 2024-05-01T09:30)"
    if isinstance(raw, datetime):
        value: datetime | None = raw
        shown = raw.isoformat()
    elif isinstance(raw, date):
        value = datetime(raw.year, raw.month, raw.day)
        shown = raw.isoformat()
    elif isinstance(raw, str) and raw.strip():
        # imported here: importing any module of butterfly.importers runs the package's __init__, which loads the
        # whole import service (numpy, pyarrow, ADBC: ~0.7 s of CPU), and the review walk imports this module
        from butterfly.importers.dates import OffCalendar, parse_datetime

        shown = raw.strip()[:80]
        try:
            value = parse_datetime(raw.strip()[:200], local)
        except OffCalendar:
            raise InvalidInputError(f"'{shown}' is {OFF_CALENDAR}") from None
        except (ValueError, OverflowError, IndexError):
            value = None
        if value is None:
            raise InvalidInputError(f"'{shown}' is not a date-time", hint=hint)
    else:
        raise InvalidInputError("expected a date-time such as 2024-05-01 09:30", hint=hint)
    assert value is not None
    if value.tzinfo is None:
        value = value.replace(tzinfo=local)
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise InvalidInputError(f"'{shown}' is {OFF_CALENDAR}") from None
