"""ISO weeks: parsing ``2026-W09``, a week's bounds in the report's time zone, the last complete week."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from butterfly.errors import InvalidInputError

if TYPE_CHECKING:
    pass


_WEEK = re.compile(r"^(\d{4})-?W(\d{1,2})$", re.IGNORECASE)
# -- weeks ---------------------------------------------------------------------------------------------------


def parse_week(text: str) -> tuple[int, int]:
    """``2026-W47`` (or ``2026W47``) as (ISO year, ISO week); a clear error otherwise."""
    m = _WEEK.match(text.strip())
    if not m:
        raise InvalidInputError(f"invalid week '{text}'", hint="write an ISO week like 2026-W47")
    year, week = int(m.group(1)), int(m.group(2))
    try:
        date.fromisocalendar(year, week, 1)
    except ValueError:
        raise InvalidInputError(f"invalid week '{text}': {year} has no week {week}") from None
    return year, week


def week_bounds(year: int, week: int, tz: str = "UTC") -> tuple[datetime, datetime]:
    """Monday 00:00 of the week and of the next week, in ``tz``, as aware UTC datetimes."""
    zone = ZoneInfo(tz)
    monday = date.fromisocalendar(year, week, 1)
    start = datetime(monday.year, monday.month, monday.day, tzinfo=zone)
    nxt = monday + timedelta(days=7)
    end = datetime(nxt.year, nxt.month, nxt.day, tzinfo=zone)
    return start.astimezone(UTC), end.astimezone(UTC)


def last_complete_week(now: datetime, tz: str = "UTC") -> str:
    """The ISO week before the one ``now`` falls in (the last complete week)."""
    local = now.astimezone(ZoneInfo(tz)).date() - timedelta(days=7)
    iso = local.isocalendar()
    return f"{iso.year}-W{iso.week:02d}"
