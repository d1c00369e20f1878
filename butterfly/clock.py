"""One clock: what "now" and "today" mean for every command.

"Today" is the date in the ``timezone`` setting, never the machine's local date and never UTC by accident: a
team in Shanghai whose CI runners run in UTC sees the same overdue items in ``butterfly check``, ``butterfly
actions list --overdue`` and both reports. Library functions take a :class:`Clock` (or ``now=``/``today=``) so
tests and reports about the past pass their own; the CLI passes :func:`settings_clock`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from butterfly.errors import InvalidInputError

OFF_CALENDAR = "outside the calendar butterfly can store (years 1 to 9999 in UTC)"


def zone(name: str | None) -> tzinfo:
    """The time zone called ``name`` (an IANA name; ``None``, empty, ``UTC``: UTC); a clear error if unknown."""
    if not name or name.strip().upper() in ("UTC", "Z", "GMT", "ETC/UTC"):
        return UTC
    try:
        return ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInputError(
            f"unknown time zone '{name}'", hint="use an IANA name such as Asia/Shanghai or UTC"
        ) from None


@dataclass(frozen=True)
class Clock:
    """Now and today in ``timezone``; ``fixed`` pins "now" (tests, a report "as of" a past instant)."""

    timezone: str = "UTC"
    fixed: datetime | None = None
    tz: tzinfo = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "tz", zone(self.timezone))
        if self.fixed is not None and self.fixed.tzinfo is None:
            raise ValueError("a fixed clock needs an aware datetime")

    def now(self) -> datetime:
        """The current instant, aware, in UTC."""
        return self.fixed.astimezone(UTC) if self.fixed is not None else datetime.now(UTC)

    def today(self) -> date:
        """Today's date in the clock's time zone."""
        return self.day_of(self.now())

    def day_of(self, instant: datetime) -> date:
        """The date ``instant`` falls on in the clock's time zone."""
        return instant.astimezone(self.tz).date()

    def midnight(self, day: date) -> datetime:
        """00:00 of ``day`` in the clock's time zone, as UTC (OverflowError at the very ends of the calendar)."""
        return datetime.combine(day, time(0), self.tz).astimezone(UTC)

    def at(self, instant: datetime) -> Clock:
        """The same clock stopped at ``instant``."""
        return replace(self, fixed=instant)


def settings_clock() -> Clock:
    """The clock of the ``timezone`` setting (what every command uses)."""
    # imported here: the import's worker process reads dates through this module and needs no settings (pydantic
    # settings cost it more than half its start-up)
    from butterfly.settings import get_settings

    return Clock(get_settings().timezone)
