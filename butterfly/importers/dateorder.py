"""How each date column of an export is read: decided from its values, never by guessing day and month.

A column whose dates give day and month as numbers (``29/2/2016``, ``02-29-2016``) has one order: a value
with a first number above 12 makes it day-first, a second number above 12 month-first. A column whose values
all fit both orders takes the order of the file's other date columns when they agree (one system wrote them
all); otherwise the import is refused with an error that names the column and shows examples, until the user
says ``--day-first``, ``--month-first`` or ``--date-format`` (or ``date_order:`` / ``date_format:`` in a mapping
file). A column that mixes both orders is refused too.

A column of plain numbers is read as Excel serial dates when every number lies between 1970 and 2100 in that
system (25569-73051), as epoch seconds (milliseconds from 13 digits) when at least one of them looks like one;
otherwise such numbers are rejected, each with its line.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo

from butterfly.errors import InvalidInputError
from butterfly.importers.dates import (
    DAY_FIRST,
    MONTH_FIRST,
    NUMERIC_DATE,
    from_epoch,
    from_excel,
    is_empty,
    parse_datetime,
    to_utc_text,
)

EXCEL_RANGE = (25569.0, 73051.0)  # 1970-01-01 .. 2100-01-01 as Excel serial dates
ORDER_NAMES = {DAY_FIRST: "day first", MONTH_FIRST: "month first"}
ORDER_WORDS = {
    "day-first": DAY_FIRST,
    "dayfirst": DAY_FIRST,
    "dmy": DAY_FIRST,
    "month-first": MONTH_FIRST,
    "monthfirst": MONTH_FIRST,
    "mdy": MONTH_FIRST,
}
EXAMPLES = 3


def order_from_word(word: str) -> str | None:
    """``dmy``/``mdy`` for ``day-first``/``month-first`` (and ``dmy``/``mdy``); ``None`` if not one of them."""
    return ORDER_WORDS.get(word.strip().lower().replace("_", "-"))


@dataclass(frozen=True)
class DateRule:
    """How the values of one date column are read. ``kind``: ``auto`` (ISO and unambiguous forms), ``dmy``,
    ``mdy``, ``format`` (``fmt`` for :meth:`datetime.strptime`), ``excel`` or ``epoch``."""

    kind: str = "auto"
    fmt: str = ""
    why: str = ""  # for the mapping shown before import: "29/2/2016 01:16", "--day-first", "like column X"

    @property
    def order(self) -> str | None:
        return self.kind if self.kind in (DAY_FIRST, MONTH_FIRST) else None

    def describe(self) -> str:
        what = {
            "auto": "ISO 8601 or unambiguous",
            DAY_FIRST: "day first (d/m/yyyy)",
            MONTH_FIRST: "month first (m/d/yyyy)",
            "format": f"format {self.fmt}",
            "excel": "Excel serial dates",
            "epoch": "epoch seconds",
        }[self.kind]
        return f"{what} ({self.why})" if self.why else what

    def parse(self, value: str, tz: tzinfo = UTC) -> datetime | None:
        """``value`` as an aware datetime (``None`` if empty); ValueError quoting the value."""
        text = value.strip()
        if is_empty(text):
            return None
        if self.kind in ("auto", DAY_FIRST, MONTH_FIRST):
            return parse_datetime(text, tz, self.order)
        if self.kind == "format":
            try:
                dt = datetime.strptime(text, self.fmt)
            except ValueError:
                try:  # an ISO 8601 time is never misread; anything else must match the format
                    return parse_datetime(text, tz) if text[:4].isdigit() and text[4:5] == "-" else None
                except ValueError:
                    pass
                raise ValueError(f"not a date: '{text}' (expected the format {self.fmt})") from None
        elif self.kind == "excel":
            dt = from_excel(text)
        else:
            dt = from_epoch(text)
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=tz)
        try:
            dt.astimezone(UTC)
        except OverflowError:
            raise ValueError(f"not a date: '{text}' (outside the years 1-9999 in UTC)") from None
        return dt

    def canonical(self, value: str, tz: tzinfo = UTC) -> str:
        dt = self.parse(value, tz)
        return "" if dt is None else to_utc_text(dt)


AUTO = DateRule()


@dataclass
class DateOptions:
    """What the user said: ``order`` (``dmy``/``mdy``), one ``fmt`` for every date column, or one per field."""

    order: str | None = None
    fmt: str | None = None
    formats: dict[str, str] = field(default_factory=dict)
    source: str = "--date-format"

    def rule_for(self, date_field: str) -> DateRule | None:
        fmt = self.formats.get(date_field) or self.fmt
        if fmt:
            return DateRule("format", fmt, self.source)
        if self.order:
            return DateRule(self.order, why="--day-first" if self.order == DAY_FIRST else "--month-first")
        return None

    @property
    def empty(self) -> bool:
        return not (self.order or self.fmt or self.formats)


def check_format(fmt: str) -> str:
    """``fmt`` if :meth:`datetime.strptime` can use it (it names a day, month and year); InvalidInputError else."""
    if not all(code in fmt for code in ("%d", "%Y")) and "%y" not in fmt:
        raise InvalidInputError(
            f"--date-format '{fmt}': needs a day (%d), a month (%m or %b) and a year (%Y or %y)",
            hint="e.g. --date-format '%d/%m/%Y %H:%M' or '%m-%d-%Y %I:%M %p'",
        )
    if "%m" not in fmt and "%b" not in fmt and "%B" not in fmt:
        raise InvalidInputError(f"--date-format '{fmt}': needs a month (%m, %b or %B)")
    try:
        datetime.strftime(datetime(2001, 2, 3, 4, 5, 6), fmt)
    except ValueError as exc:
        raise InvalidInputError(f"--date-format '{fmt}': {exc}") from None
    return fmt


@dataclass
class _Evidence:
    column: str
    day_first: list[str] = field(default_factory=list)  # values only day-first reads
    month_first: list[str] = field(default_factory=list)
    ambiguous: list[str] = field(default_factory=list)
    numbers: int = 0  # values that are plain numbers
    others: int = 0  # anything else that is not empty
    low: float = float("inf")
    high: float = float("-inf")
    epoch_like: bool = False

    def add(self, value: str) -> None:
        text = value.strip()
        if is_empty(text):
            return
        if text[:4].isdigit() and text[4:5] == "-":  # ISO 8601: nothing to decide
            self.others += 1
            return
        m = NUMERIC_DATE.fullmatch(text)
        if m:
            self.others += 1
            a, b = int(m.group(1)), int(m.group(3))
            if a > 12 >= b:
                bucket = self.day_first
            elif b > 12 >= a:
                bucket = self.month_first
            elif a != b and a <= 12 and b <= 12:
                bucket = self.ambiguous
            else:
                return  # the same number twice, or both above 12 (rejected later, with the value)
            if len(bucket) < EXAMPLES and text not in bucket:
                bucket.append(text)
            return
        try:
            number = float(text)
        except ValueError:
            self.others += 1
            return
        if number != number or number in (float("inf"), float("-inf")):
            self.others += 1
            return
        self.numbers += 1
        self.low = min(self.low, number)
        self.high = max(self.high, number)
        digits = text.split(".")[0].lstrip("-")
        if len(digits) in (9, 10, 13):
            self.epoch_like = True

    @property
    def decided(self) -> bool:
        return bool(self.day_first or self.month_first) or not self.ambiguous


def decide(
    columns: Mapping[str, str],
    rows: Iterable[Mapping[str, str]],
    options: DateOptions | None = None,
    *,
    more: Iterable[Mapping[str, str]] | None = None,
    file: str = "",
) -> dict[str, DateRule]:
    """The rule of each date field in ``columns`` (field -> column name), from ``rows`` (field -> value).

    ``more``: the rest of the file, read only while a column has nothing but ambiguous values.
    InvalidInputError naming the column and examples when a column cannot be decided or mixes both orders.
    """
    options = options or DateOptions()
    rules: dict[str, DateRule] = {}
    open_fields: dict[str, _Evidence] = {}
    for date_field, column in columns.items():
        given = options.rule_for(date_field)
        if given is not None:
            rules[date_field] = given
        else:
            open_fields[date_field] = _Evidence(column)
    if not open_fields:
        return rules
    for row in rows:
        for date_field, evidence in open_fields.items():
            evidence.add(row.get(date_field, ""))
    if more is not None and not all(e.decided for e in open_fields.values()):
        undecided = {f: e for f, e in open_fields.items() if not e.decided}
        for row in more:
            for date_field, evidence in undecided.items():
                evidence.add(row.get(date_field, ""))
            if all(e.decided for e in undecided.values()):
                break
    for date_field, evidence in open_fields.items():
        rules[date_field] = _rule_of(evidence, file)
    orders = {r.kind for f, r in rules.items() if f in open_fields and r.kind in (DAY_FIRST, MONTH_FIRST)}
    for date_field, evidence in open_fields.items():
        if rules[date_field].kind != "undecided":
            continue
        if len(orders) == 1:
            order = next(iter(orders))
            donor = next(columns[f] for f, r in rules.items() if r.kind == order and f in open_fields)
            rules[date_field] = DateRule(order, why=f"like column '{donor}'")
        else:
            raise _ambiguous_error(file, evidence, date_field)
    return rules


def _rule_of(evidence: _Evidence, file: str) -> DateRule:
    if evidence.numbers and not evidence.others:
        low, high = EXCEL_RANGE
        if low <= evidence.low and evidence.high <= high:
            return DateRule("excel", why=f"every value a number from {evidence.low:g} to {evidence.high:g}")
        if evidence.epoch_like and evidence.low >= 0:
            return DateRule("epoch", why="every value a number")
        return AUTO
    if evidence.day_first and evidence.month_first:
        raise InvalidInputError(
            f"{file}: column '{evidence.column}' mixes day-first dates ({', '.join(evidence.day_first)}) and "
            f"month-first dates ({', '.join(evidence.month_first)})",
            hint="fix the export, or say which is right with --day-first, --month-first or --date-format "
            "(the other values are then rejected, each with its line)",
        )
    if evidence.day_first:
        return DateRule(DAY_FIRST, why=f"from '{evidence.day_first[0]}'")
    if evidence.month_first:
        return DateRule(MONTH_FIRST, why=f"from '{evidence.month_first[0]}'")
    if evidence.ambiguous:
        return DateRule("undecided")
    return AUTO


def _ambiguous_error(file: str, evidence: _Evidence, date_field: str) -> InvalidInputError:
    return InvalidInputError(
        f"{file}: column '{evidence.column}' ({date_field}): every date in it fits both day-first and month-first "
        f"(e.g. {', '.join(evidence.ambiguous)}); butterfly never guesses which",
        hint="say --day-first or --month-first, or --date-format '%d/%m/%Y %H:%M' "
        "(in a mapping file: date_order: day-first, or date_format: …)",
    )


def fingerprint(rules: Mapping[str, DateRule]) -> str:
    """A short text that changes with any rule other than ``auto`` (part of a record's content hash)."""
    special = sorted((f, r.kind, r.fmt) for f, r in rules.items() if r.kind != "auto")
    if not special:
        return ""
    return hashlib.blake2b(repr(special).encode(), digest_size=6).hexdigest()
