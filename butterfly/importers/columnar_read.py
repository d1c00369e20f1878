"""Reading a CSV export as Arrow record batches and preparing them for the columnar load
(:mod:`butterfly.importers.columnar`): the checked file Arrow reads, the plan that turns each batch into the
UPSERT's parameters (ids trimmed, statuses and tags per distinct value, ISO 8601 times by Arrow kernels, the record
path's content hash), and the reading thread with its queue to the writer."""

from __future__ import annotations

import io
import queue
import re
import threading
from collections.abc import Callable, Iterator
from datetime import UTC
from pathlib import Path
from typing import Any

try:  # the fast-import extra; columnar.unavailable() says when it is missing
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pcsv
except ImportError:
    pass

from butterfly.importers.dateorder import AUTO
from butterfly.importers.fields import BOOL_FIELDS, DATE_FIELDS, INT_FIELDS
from butterfly.importers.prepare import US, TabularPreparer, digests

BLOCK_BYTES = 1 << 20  # Arrow parses the file in blocks of this size (memory stays flat with the file size)

# a time Arrow converts exactly as dates.canonical does: ISO 8601 to the second, with a zone (Z, ±HH:MM, ±HHMM)
# or, when the import's zone is UTC, without. The pattern only admits days that exist (Arrow's strptime would roll
# 30 February over into March); 29 February goes to canonical() like every other time the pattern leaves out.
_DAY = r"(?:(?:0[13578]|1[02])-(?:0[1-9]|[12]\d|3[01])|(?:0[469]|11)-(?:0[1-9]|[12]\d|30)|02-(?:0[1-9]|1\d|2[0-8]))"
_TIME = r"[T ](?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d"
_YEAR = r"(?:[1-8]\d{3}|9[0-8]\d{2}|99[0-8]\d|999[0-8])"  # 1000-9998: year 9999 may end in year 10000 in UTC
_ZONED = rf"^{_YEAR}-{_DAY}{_TIME}(?:Z|[+-](?:[01]\d|2[0-3]):?[0-5]\d)$"
_NAIVE = rf"^{_YEAR}-{_DAY}{_TIME}$"
_ISO_ZONED = "%Y-%m-%dT%H:%M:%S%z"
_ISO_NAIVE = "%Y-%m-%dT%H:%M:%S"
# a quote in the middle of unquoted text, or text right after a closing quote: the strict reader refuses
# `"abc"def` where Arrow would read `abcdef` (it also flags `5" screen`, which then goes record by record)
_MID_QUOTE = rb'"(?<=[^"\r\n%s]")(?=[^"\r\n%s])'


class NotColumnar(Exception):
    """Why the file goes record by record instead."""


class CheckedFile(io.RawIOBase):
    """The export as Arrow reads it: counts bytes (progress) and stops at quoting or bytes the record path
    would refuse."""

    def __init__(self, path: Path, delimiter: str) -> None:
        self._handle = path.open("rb")
        d = re.escape(delimiter.encode())
        self._mid_quote = re.compile(_MID_QUOTE.replace(b"%s", d))
        self._tail = b""
        self.count = 0
        self.problem: str | None = None

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        n = self._handle.readinto(buffer) or 0
        if n:
            chunk = self._tail + bytes(memoryview(buffer)[:n])
            if b"\x00" in chunk:
                self.problem = "a NUL byte"
            elif self._mid_quote.search(chunk):
                self.problem = 'a quote inside an unquoted field or text after a closing quote (e.g. "abc"def)'
            if self.problem:
                raise OSError(self.problem)
            self._tail = chunk[-2:]
            self.count += n
        return n

    def close(self) -> None:
        self._handle.close()
        super().close()


class Plan:
    """How each Arrow record batch becomes the parameters of the writer's UPSERT."""

    def __init__(self, preparer: TabularPreparer) -> None:
        self.p = preparer
        self.prefix = preparer.prefix.encode("utf-8", "surrogatepass")
        self.utc = preparer.tz is UTC  # times without a zone are UTC: Arrow reads them too
        self._leftover_times: dict[str, dict[str, str]] = {}

        # Arrow scalars, not Python values: pyarrow converts a Python value on every call (and tries to import
        # pandas each time when it is not installed)
        self.empty = pa.scalar("", pa.string())
        self.null = pa.scalar(None, pa.string())

    def prepare(self, batch: Any) -> Any:
        p = self.p
        columns = batch.columns
        n = batch.num_rows
        out: list[Any] = [pa.array([p.source] * n, pa.string())]
        for f, index in zip(p.fields, p.indexes, strict=True):
            column = columns[index]
            if f == "id":
                column = pc.utf8_trim_whitespace(column)
                if pc.any(pc.equal(column, self.empty)).as_py():
                    raise NotColumnar("a record has no id")
            elif f == "status":
                column = self._per_value(column, p.status_of.__getitem__, "an unknown status")
            elif f == "tags":
                column = self._per_value(column, p.tags_json_of.__getitem__, "tags")
            elif f in INT_FIELDS:
                column = self._per_value(column, p.number_of.__getitem__, f"{f}: not a whole number")
            elif f in BOOL_FIELDS:
                column = self._per_value(column, p.bool_of.__getitem__, f"{f}: not yes or no")
            elif f in DATE_FIELDS:
                column = self._times(column, f)
            out.append(column)
        out.append(self._raw(columns))
        out.append(pa.array(self._hashes(columns), pa.string()))
        return pa.RecordBatch.from_arrays(out, names=[f"p{i}" for i in range(1, len(out) + 1)])

    def _hashes(self, columns: list[Any]) -> list[str]:
        """The record path's content hash of each record: blake2b of the prefix and the fields joined by US."""
        joined = pc.binary_join_element_wise(*columns, pa.scalar(US, pa.string())).cast(pa.binary())
        return digests(map(self.prefix.__add__, joined.to_pylist()))

    @staticmethod
    def _per_value(column: Any, convert: Callable[[str], str | None], what: str) -> Any:
        """``convert`` once per distinct value (statuses and tags repeat a lot)."""
        encoded = column.dictionary_encode()
        values = [convert(v) for v in encoded.dictionary.to_pylist()]
        if None in values:
            raise NotColumnar(what)
        return pc.take(pa.array(values, pa.string()), encoded.indices)

    def _times(self, column: Any, field: str) -> Any:
        """Canonical UTC text: Arrow for ISO 8601 to the second, :func:`canonical` for anything else."""
        iso = pc.utf8_replace_slice(column, 10, 11, "T")  # "YYYY-MM-DD HH…" as "YYYY-MM-DDTHH…"
        zoned = pc.match_substring_regex(column, _ZONED)
        parsed = pc.strptime(iso, format=_ISO_ZONED, unit="us", error_is_null=True)
        result = pc.if_else(zoned, _as_text(parsed), self.null)
        if self.utc and pc.any(pc.and_(pc.invert(zoned), pc.not_equal(column, self.empty))).as_py():
            naive = pc.match_substring_regex(column, _NAIVE)
            local = pc.strptime(iso, format=_ISO_NAIVE, unit="us", error_is_null=True)
            result = pc.if_else(naive, _as_text(local), result)
        leftover = pc.and_(pc.is_null(result), pc.not_equal(column, self.empty))
        if pc.any(leftover).as_py():
            rule = self.p.date_rules.get(field, AUTO)  # the column's order or format: as the record path reads it
            memo = self._leftover_times.setdefault(field, {})
            if len(memo) > 200_000:
                memo.clear()
            converted = []
            for value in pc.filter(column, leftover).to_pylist():
                text = memo.get(value)
                if text is None:
                    try:
                        text = rule.canonical(value, self.p.tz)
                    except ValueError as exc:
                        raise NotColumnar(f"{field}: {exc}") from None
                    memo[value] = text
                converted.append(text)
            result = pc.replace_with_mask(result, leftover, pa.array(converted, pa.string()))
        return pc.fill_null(result, self.empty)

    def _raw(self, columns: list[Any]) -> Any:
        """The unmapped columns of each record as JSON (``''`` when all are empty), as the record path writes."""
        n = len(columns[0]) if columns else 0
        if not self.p.extra:
            return pa.array([""] * n, pa.string())
        values = [columns[i].to_pylist() for i, _ in self.p.extra]
        raws = [self.p.raw_json(row) if any(row) else "" for row in zip(*values, strict=True)]
        return pa.array(raws, pa.string())


def _as_text(timestamps: Any) -> Any:
    """``timestamp[us]`` (zone or not) as ``YYYY-MM-DD HH:MM:SS.ffffff`` of its UTC value."""
    return timestamps.cast(pa.int64()).cast(pa.timestamp("us")).cast(pa.string())


def read_batches(
    path: Path,
    *,
    delimiter: str,
    width: int,
    plan: Plan,
    stop: threading.Event,
    out: queue.Queue[Any],
    block_bytes: int = BLOCK_BYTES,
) -> None:
    """Thread: read and prepare record batches into ``out``; then ``None``, or the exception that stopped it."""
    source = CheckedFile(path, delimiter)
    final: Any = None
    try:
        names = [f"c{i}" for i in range(width)]
        reader = pcsv.open_csv(
            source,
            read_options=pcsv.ReadOptions(block_size=block_bytes, use_threads=True, skip_rows=1, column_names=names),
            parse_options=pcsv.ParseOptions(delimiter=delimiter, newlines_in_values=True, ignore_empty_lines=True),
            convert_options=pcsv.ConvertOptions(
                check_utf8=True, strings_can_be_null=False, column_types=dict.fromkeys(names, pa.string())
            ),
        )
        for batch in reader:
            if stop.is_set():
                return
            prepared = plan.prepare(batch)
            _put(out, (prepared, source.count), stop)
    except BaseException as exc:  # handed to the writer thread, which raises it
        try:
            final = _reason(exc, source.problem)
        except BaseException:
            final = NotColumnar(f"Arrow: {type(exc).__name__}")
    finally:
        try:
            source.close()
        finally:
            _put(out, final, stop)  # always the last item (None: all read), so the writer never waits in vain


def _reason(exc: BaseException, problem: str | None) -> NotColumnar:
    if problem:
        return NotColumnar(problem)
    if isinstance(exc, NotColumnar):
        return exc
    first_line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return NotColumnar(f"Arrow: {first_line}")


def _put(out: queue.Queue[Any], item: Any, stop: threading.Event) -> None:
    """Hand ``item`` to the writer, unless it has stopped. No timed waits (a test under libfaketime would spin or
    sleep for a year): a writer that stops empties the queue (:func:`unblock`), so a put blocked on a full queue
    returns, and the reader sees ``stop`` before its next put."""
    if not stop.is_set():
        out.put(item)


def unblock(out: queue.Queue[Any], stop: threading.Event) -> None:
    """The writer stopped: tell the reading thread and empty the queue so that it is not blocked putting."""
    stop.set()
    while True:
        try:
            out.get_nowait()
        except queue.Empty:
            return


def results(out: queue.Queue[Any]) -> Iterator[tuple[Any, int]]:
    """The reading thread's batches, until its last item (None, or the reason it stopped, raised here)."""
    while True:
        item = out.get()
        if item is None:
            return
        if isinstance(item, BaseException):
            raise item
        yield item
