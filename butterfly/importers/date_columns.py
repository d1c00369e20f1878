"""A whole column of ISO 8601 times converted to canonical UTC text at once, for the record path's batches
(:meth:`butterfly.importers.prepare.TabularPreparer.fast`): by memos of the date-hour and the minutes, or, for a
long column of one shape, as one numpy byte array. A value of any other shape makes the column go value by value
through :func:`butterfly.importers.dates.canonical`, which says what is wrong with it."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta, tzinfo
from itertools import compress
from operator import itemgetter
from typing import Any

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


class _PairMemo(dict[tuple[str, str], str | None]):
    """:class:`_Memo` for a key given in two parts: computed from the two joined."""

    def __init__(self, compute: Callable[[str], str | None], limit: int = 50_000) -> None:
        super().__init__()
        self.compute = compute
        self.limit = limit

    def __missing__(self, key: tuple[str, str]) -> str | None:
        if len(self) >= self.limit:
            self.clear()
        value = self.compute(key[0] + key[1])
        self[key] = value
        return value


_HEAD_AND_ZONE = itemgetter(_HEAD, _ZONE)
_MINSEC_OF = itemgetter(_MINSEC)


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
        # keyed by (date-and-hour, zone) as itemgetter gives them: a fifth faster than joining the two first
        self._heads = _PairMemo(self._head)
        self._minsecs = _Memo(self._minsec)
        self._arrays: _ColumnArrays | None = None  # made on the first long column (numpy is imported then)

    def convert(self, column: Sequence[str]) -> list[str] | None:
        """The column as canonical UTC text, or ``None`` when a value is not of this converter's shapes."""
        if len(column) >= _ARRAY_MIN:
            if self._arrays is None:
                self._arrays = _ColumnArrays(self._heads)
            converted = self._arrays.convert(column)
            if converted is not _NOT_ARRAY:
                return converted  # type: ignore[return-value]
        return self.convert_by_memo(column)

    def convert_by_memo(self, column: Sequence[str]) -> list[str] | None:
        """:meth:`convert` value by value through the memos (any length, any mix of shapes)."""
        heads = map(self._heads.__getitem__, map(_HEAD_AND_ZONE, column))
        minsecs = map(self._minsecs.__getitem__, map(_MINSEC_OF, column))
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
        if not date_only and len(key) < 13:
            return None  # "2026-10-1", "2026", "0": not this converter's shape
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
        else:
            written = _written_offset(zone_text)
            if written is None:
                return None
            offset = written
        if offset.total_seconds() % 3600:
            return None  # half-hour zones: the minutes change too
        try:
            utc = local - offset
        except OverflowError:
            return None  # beyond year 9999 or before year 1 in UTC: the record path rejects it, quoting it
        return utc.isoformat(" ", "microseconds") if date_only else utc.isoformat(" ", "hours")


# -- a whole column as one array (numpy): the common case of full ISO times with seconds ----------------------

_ARRAY_MIN = 256  # shorter columns go value by value: numpy's fixed cost per call is not worth it
_NOT_ARRAY = object()  # ColumnArrays.convert's "not this shape": the memo path decides
_HEAD_DIGITS = [0, 1, 2, 3, 5, 6, 8, 9, 11, 12]  # YYYY MM DD HH in "YYYY-MM-DDTHH"
_MINSEC_DIGITS = [14, 15, 17, 18]  # MM SS in ":MM:SS"
_MAX_ZONE = 8  # "+08:00" is 6 characters; a longer zone text goes value by value
_ZONE_BITS = 20  # a date-hour's key: YYYYMMDDHH shifted left by this, plus the zone text's number


class _ColumnArrays:
    """:meth:`ColumnDates.convert` for a column whose values are all empty or all ``YYYY-MM-DDTHH:MM:SS`` with
    the same length of zone text after them, in C: the values are joined into one byte array and checked there
    (digits, separators, minutes and seconds 00-59); each date-hour-and-zone is converted once per file through
    the same memo the value-by-value path uses (so the text is the same either way) and kept in sorted arrays,
    where the other values of a file find theirs by binary search."""

    def __init__(self, heads: _PairMemo) -> None:
        import numpy as np

        self.np = np
        self.heads = heads
        self.zones: dict[int, int] = {}  # a zone text's bytes (packed into 8) -> its number in the keys
        self.zone_hours: list[int] = []  # each zone number's offset in whole hours, or _NO_OFFSET
        self.keys = np.empty(0, dtype=np.int64)  # sorted: (YYYYMMDDHH << _ZONE_BITS) + zone number
        self.utc = np.empty((0, 13), dtype=np.uint8)  # "YYYY-MM-DD HH" in UTC, for each key

    def convert(self, column: Sequence[str]) -> list[str] | object | None:
        """The converted column; ``_NOT_ARRAY`` when it is of another shape (the caller goes value by value);
        ``None`` when a date-hour cannot be converted."""
        np = self.np
        n = len(column)
        lengths = np.fromiter(map(len, column), dtype=np.int64, count=n)
        width = int(lengths.max())
        if width < 19 or width - 19 > _MAX_ZONE:
            return _NOT_ARRAY
        full = lengths == width
        every = bool(full.all())
        if not every and not (full | (lengths == 0)).all():
            return _NOT_ARRAY
        values = column if every else list(compress(column, full.tolist()))
        m = len(values)
        try:
            raw = "\n".join(values).encode("ascii")
        except UnicodeEncodeError:
            return _NOT_ARRAY
        if raw.count(b"\n") != m - 1:  # a value with a line break in it: the rows would not line up
            return _NOT_ARRAY
        rows = np.frombuffer(raw + b"\n", dtype=np.uint8).reshape(m, width + 1)
        digits = rows[:, _HEAD_DIGITS + _MINSEC_DIGITS].astype(np.int64) - ord("0")
        if not (
            ((digits >= 0) & (digits <= 9)).all()
            and (rows[:, [4, 7]] == ord("-")).all()
            and ((rows[:, 10] == ord("T")) | (rows[:, 10] == ord(" "))).all()
            and (rows[:, [13, 16]] == ord(":")).all()
            and (digits[:, [10, 12]] <= 5).all()  # minutes and seconds below 60
        ):
            return _NOT_ARRAY
        hour = digits[:, :10] @ (10 ** np.arange(9, -1, -1, dtype=np.int64))
        zones = np.zeros((m, _MAX_ZONE), dtype=np.uint8)
        zones[:, : width - 19] = rows[:, 19:width]
        codes, zone_at, zone_of = np.unique(zones.view(np.uint64).ravel(), return_index=True, return_inverse=True)
        if len(self.zones) + len(codes) >= 1 << _ZONE_BITS:
            return _NOT_ARRAY
        numbers = np.array(
            [self.zone_number(c, values[int(zone_at[i])][19:]) for i, c in enumerate(codes.tolist())], dtype=np.int64
        )
        keys = (hour << _ZONE_BITS) + numbers[zone_of.ravel()]
        distinct, first, which = np.unique(keys, return_index=True, return_inverse=True)
        at = np.searchsorted(self.keys, distinct)
        known = at < len(self.keys)
        known[known] = self.keys[at[known]] == distinct[known]
        if not known.all():
            learnt = self._learn(distinct[~known], first[~known], values)
            if learnt is not True:
                return learnt  # None, or not this shape after all
            at = np.searchsorted(self.keys, distinct)
        out = np.empty((m, 27), dtype=np.uint8)  # "YYYY-MM-DD HH" ":MM:SS" ".000000" and a line break
        out[:, :13] = self.utc[at[which.ravel()]]
        out[:, 13:19] = rows[:, 13:19]
        out[:, 19:] = np.frombuffer(b".000000\n", dtype=np.uint8)
        texts: list[str] = out.tobytes().decode("ascii").split("\n")
        texts.pop()
        if every:
            return texts
        result = np.full(n, "", dtype=object)
        result[full] = texts
        converted: list[str] = result.tolist()
        return converted

    def _learn(self, keys: Any, rows: Any, values: Sequence[str]) -> object:
        """Convert the date-hours of ``keys`` (each as in ``values[row]``): those with a whole-hour offset in their
        text by arithmetic on the array (:meth:`_by_offset`), the others through the memo. True, or ``None`` if one
        cannot be converted (``_NOT_ARRAY`` if one is not ``YYYY-MM-DD HH`` in UTC)."""
        np = self.np
        utc = np.empty((len(keys), 13), dtype=np.uint8)
        done = self._by_offset(keys, utc)
        heads = []
        for row in rows[~done].tolist():
            value = values[row]
            head = self.heads[_HEAD_AND_ZONE(value)]  # the memo key of the value-by-value path
            if head is None:
                return None
            if len(head) != 13:
                return _NOT_ARRAY
            heads.append(head)
        if heads:
            utc[~done] = np.frombuffer("".join(heads).encode("ascii"), dtype=np.uint8).reshape(len(heads), 13)
        merged = np.concatenate([self.keys, keys])
        order = np.argsort(merged, kind="stable")
        self.keys = merged[order]
        self.utc = np.concatenate([self.utc, utc])[order]
        return True

    def _by_offset(self, keys: Any, utc: Any) -> Any:
        """Fill ``utc`` for the ``keys`` whose zone text is a whole-hour offset (``Z``, ``+08:00``, ``-0500``) and
        whose date-hour is valid and far from year 1 and 9999: the local date-hour minus the offset, as
        :meth:`ColumnDates._head` gives it, by arithmetic instead of a ``datetime`` each (a million tickets have
        tens of thousands of distinct date-hours, which every worker process learns). Which keys it filled; the
        others (no zone, invalid dates, other zones) go through the memo."""
        np = self.np
        offset = np.array([self.zone_hours[z] for z in (keys & ((1 << _ZONE_BITS) - 1)).tolist()], dtype=np.int64)
        hour = keys >> _ZONE_BITS  # YYYYMMDDHH
        year, month, day, hh = hour // 1_000_000, hour // 10_000 % 100, hour // 100 % 100, hour % 100
        ok = (offset != _NO_OFFSET) & (year >= 2) & (year <= 9998) & (month >= 1) & (month <= 12)
        ok &= (day >= 1) & (day <= 31) & (hh <= 23)
        if not ok.any():
            return ok
        months = ((year - 1970) * 12 + month - 1).astype("datetime64[M]")
        days = months.astype("datetime64[D]") + (day - 1)
        ok &= days.astype("datetime64[M]") == months  # the 31st of a month of 30 days is not a date
        hours = days.astype("datetime64[h]") + (hh - offset)
        text = np.datetime_as_string(hours[ok], unit="h").astype("S13")  # "YYYY-MM-DDTHH"
        filled = np.frombuffer(text.tobytes(), dtype=np.uint8).reshape(len(text), 13).copy()
        filled[:, 10] = ord(" ")
        utc[ok] = filled
        return ok

    def zone_number(self, code: int, text: str) -> int:
        """The number of a zone text in the keys (packed into ``code``), numbered on first sight."""
        number = self.zones.get(code)
        if number is None:
            number = self.zones[code] = len(self.zones)
            self.zone_hours.append(_whole_hours(text))
        return number


_NO_OFFSET = -(1 << 40)  # a zone text that is not a whole-hour offset


def _written_offset(zone_text: str) -> timedelta | None:
    """The offset a zone text after a time gives (``Z``, ``+08:00``, ``+0800``, ``-05``), or ``None``."""
    if zone_text == "Z":
        return timedelta(0)
    m = _OFFSET_RE.fullmatch(zone_text)
    if m is None:
        return None
    sign = -1 if m.group(1) == "-" else 1
    return sign * timedelta(hours=int(m.group(2)), minutes=int(m.group(3) or 0))


def _whole_hours(zone_text: str) -> int:
    """The offset in whole hours a zone text gives (:func:`_written_offset`); ``_NO_OFFSET`` for no zone (the
    setting's zone decides, with its summer time), half-hour zones and anything else."""
    offset = _written_offset(zone_text) if zone_text else None
    if offset is None or offset.total_seconds() % 3600:
        return _NO_OFFSET
    return int(offset.total_seconds()) // 3600
