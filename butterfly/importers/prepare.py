"""Turning source records into prepared rows for :mod:`butterfly.importers.bulk`.

Two ways for tabular records (CSV, and JSON records flattened to columns):

* :meth:`TabularPreparer.fast` works a whole batch column by column with C-level ``map``/``zip`` calls and
  memoised lookups (statuses, tags and the date-hours of times repeat a lot). It gives up (returns ``None``) as
  soon as any record needs a closer look.
* :meth:`TabularPreparer.slow` walks record by record, converts dates in Python, and says exactly which
  record is wrong and why.

The content hash covers every column of the record plus what changes its meaning (source, mapping, time zone),
so importing the same export again finds every ticket unchanged.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import tzinfo
from functools import partial
from itertools import compress
from operator import itemgetter, methodcaller, ne
from typing import Any

from butterfly.importers.date_columns import ColumnDates
from butterfly.importers.dateorder import AUTO, DateRule, fingerprint
from butterfly.importers.fields import (
    BOOL_FIELDS,
    DATE_FIELDS,
    FIELDS,
    INT_FIELDS,
    STATUS_ALIASES,
    bool_text,
    number_text,
)
from butterfly.importers.mapping import Mapping
from butterfly.importers.staging import Rows

HASH_VERSION = "bf1"
US = "\x1f"  # between the fields of a record in its content hash
_blake = partial(hashlib.blake2b, digest_size=16)
_hexdigest = methodcaller("hexdigest")
_encode = methodcaller("encode", "utf-8", "surrogatepass")
TAG_SEPARATORS = (";", ",", "|", "，", "；", "、", "\n")


def content_hashes(prefix: str, records: Sequence[Sequence[str]]) -> list[str]:
    """One hash per record (all C-level calls: no Python code runs per record)."""
    return digests(map(_encode, map(prefix.__add__, map(US.join, records))))


def digests(encoded: Iterable[bytes]) -> list[str]:
    """The content hash of each record given as the UTF-8 bytes of its prefix and fields joined by ``US``."""
    return list(map(_hexdigest, map(_blake, encoded)))


def content_hash(prefix: str, parts: Sequence[str]) -> str:
    return content_hashes(prefix, [parts])[0]


def split_tags(value: str) -> list[str]:
    """Tags from an export cell: a JSON list of strings, or text separated by ; , | ， ； 、 or newlines."""
    text = value.strip()
    if not text:
        return []
    if text.startswith("["):
        try:
            data = json.loads(text)
        except ValueError:  # not JSON (or a number of thousands of digits): plain text
            data = None
        if isinstance(data, list) and all(isinstance(t, str) for t in data):
            return data
    for sep in TAG_SEPARATORS[1:]:
        text = text.replace(sep, ";")
    return [t.strip() for t in text.split(";") if t.strip()]


def tags_json(tags: Sequence[str]) -> str:
    return json.dumps(list(tags), ensure_ascii=False)


class _Memo(dict[str, Any]):
    """A dict that computes missing values (so ``map(memo.__getitem__, column)`` stays in C for hits)."""

    def __init__(self, compute: Callable[[str], Any], limit: int = 50_000) -> None:
        super().__init__()
        self.compute = compute
        self.limit = limit

    def __missing__(self, key: str) -> Any:
        if len(self) >= self.limit:
            self.clear()
        value = self.compute(key)
        self[key] = value
        return value


class RecordProblem(Exception):
    """Why one record cannot be imported."""


class TabularPreparer:
    """Prepared rows from records that are lists of text aligned with ``header``."""

    def __init__(
        self,
        *,
        mapping: Mapping,
        header: list[str],
        source: str,
        tz: tzinfo,
        hash_salt: str,
        date_rules: dict[str, DateRule] | None = None,
    ) -> None:
        self.mapping = mapping
        self.date_rules = {f: r for f, r in (date_rules or {}).items() if r.kind != "auto"}
        self.header = header
        self.source = source
        self.tz = tz
        self.fields = [f for f in FIELDS if f in mapping.columns]
        self.indexes = [header.index(mapping.columns[f]) for f in self.fields]
        self.width = len(header)
        self.id_index = header.index(mapping.columns["id"])
        used = set(self.indexes)
        self.extra = [(i, name) for i, name in enumerate(header) if i not in used]
        self.hash_salt = hash_salt
        dates = fingerprint(self.date_rules)  # '' when every date column is read the default way
        self.prefix = f"{HASH_VERSION}{US}{source}{US}{mapping.fingerprint()}{dates}{US}{hash_salt}\x1e"
        statuses = {**STATUS_ALIASES, **mapping.statuses}
        # butterfly's status of an export's status text ('' for none, None if unknown), and tags as JSON text:
        # memoised, since both repeat a lot (also used by butterfly.importers.columnar, once per distinct value)
        self.status_of = _Memo(lambda v: "" if not v.strip() else statuses.get(v.strip().lower()))
        self.tags_json_of = _Memo(lambda v: tags_json(split_tags(v)))
        # per distinct value: canonical text, or None (the record path then says what is wrong)
        self.date_of = {f: _Memo(partial(_or_none, r.canonical, tz=tz)) for f, r in self.date_rules.items()}
        self.number_of = _Memo(number_text)
        self.bool_of = _Memo(bool_text)
        self._dates = ColumnDates(tz)
        self.date_misses = 0  # batches whose times the column converter could not take
        self.python_dates = False  # set when this file's times never fit the column converter

    # -- fast: a whole batch, column by column -----------------------------------------------------------

    def fast(
        self, rows: list[list[str]], known: Callable[[list[str]], dict[str, str]] | None = None
    ) -> Prepared | None:
        """The prepared rows of a batch (and the ids skipped as unchanged or replaced by a later record of the
        batch), or ``None`` if the batch needs :meth:`slow`.

        ``known(ids)`` gives the stored content hash of those ids that exist: a record whose hash is the same is
        skipped before any further work (a re-import of the same export costs little more than reading it).
        """
        columns = self.fast_columns(rows, known)
        return None if columns is None else columns.prepared()

    def fast_columns(
        self, rows: list[list[str]], known: Callable[[list[str]], dict[str, str]] | None = None
    ) -> PreparedColumns | None:
        """:meth:`fast`'s batch as columns (cheap to send to another process: see
        :mod:`butterfly.importers.csv_batches`), or ``None`` if the batch needs :meth:`slow`."""
        if not rows or self.python_dates:
            return None
        if len(set(map(len, rows))) != 1 or len(rows[0]) != self.width:
            return None
        ids = list(map(str.strip, map(itemgetter(self.id_index), rows)))
        if "" in ids:
            return None
        replaced: list[str] = []
        if len(set(ids)) != len(ids):  # a later record of the same ticket wins
            keep = _last_positions(ids)
            replaced = [i for i, kept in zip(ids, keep, strict=True) if not kept]
            rows = list(compress(rows, keep))
            ids = list(compress(ids, keep))
        hashes = content_hashes(self.prefix, rows)
        unchanged: list[str] = []
        stored: dict[str, str] | None = None
        if known is not None:
            stored = known(ids)
            if stored:
                changed = list(map(ne, map(stored.get, ids), hashes))
                if not all(changed):
                    unchanged = [i for i, c in zip(ids, changed, strict=True) if not c]
                    rows = list(compress(rows, changed))
                    ids = list(compress(ids, changed))
                    hashes = list(compress(hashes, changed))
                    if not rows:
                        return PreparedColumns([], [], unchanged, replaced, stored)
        columns = list(zip(*rows, strict=True))
        out: list[Sequence[str] | str] = [self.source]  # a str: the same value in every row
        for f, index in zip(self.fields, self.indexes, strict=True):
            if f == "id":
                out.append(ids)
            elif f == "status":
                statuses = list(map(self.status_of.__getitem__, columns[index]))
                if None in statuses:
                    return None
                out.append(statuses)
            elif f == "tags":
                out.append(list(map(self.tags_json_of.__getitem__, columns[index])))
            elif f in self.date_of or f in INT_FIELDS or f in BOOL_FIELDS:
                memo = self.date_of.get(f) or (self.number_of if f in INT_FIELDS else self.bool_of)
                values = list(map(memo.__getitem__, columns[index]))
                if None in values:
                    return None
                out.append(values)
            elif f in DATE_FIELDS:
                converted = self._dates.convert(columns[index])
                if converted is None:
                    self.date_misses += 1
                    self.python_dates = self.date_misses >= 3
                    return None
                out.append(converted)
            else:
                out.append(columns[index])
        out.append(list(map(self._raw, rows)) if self.extra else "")
        out.append(hashes)
        return PreparedColumns(out, ids, unchanged, replaced, stored)

    def _raw(self, row: Sequence[str]) -> str:
        return self.raw_json([row[i] if i < len(row) else "" for i, _ in self.extra])

    def raw_json(self, values: Sequence[str]) -> str:
        """The unmapped columns' ``values`` (in :attr:`extra` order) as JSON; ``''`` when all are empty."""
        extra = {name: value for (_, name), value in zip(self.extra, values, strict=True) if value != ""}
        return json.dumps(extra, ensure_ascii=False) if extra else ""

    # -- slow: record by record, dates in Python ----------------------------------------------------------

    def prepare_one(self, row: list[str]) -> tuple[str, ...]:
        """One prepared row; RecordProblem saying what is wrong."""
        if len(row) != self.width:
            if len(row) > self.width and not any(v.strip() for v in row[self.width :]):
                row = row[: self.width]
            else:
                raise RecordProblem(f"has {len(row)} fields, the header has {self.width}")
        values: list[str] = [self.source]
        for f, index in zip(self.fields, self.indexes, strict=True):
            value = row[index]
            column = self.header[index]
            if f == "id":
                value = value.strip()
                if not value:
                    raise RecordProblem(f"missing id (column '{column}')")
            elif f == "status":
                status = self.status_of[value]
                if status is None:
                    raise RecordProblem(
                        f"unknown status '{value.strip()}' (column '{column}'); "
                        "map it in a mapping file under statuses: to open, pending, resolved or closed"
                    )
                value = status
            elif f == "tags":
                value = self.tags_json_of[value]
            elif f in DATE_FIELDS:
                try:
                    value = self.date_rules.get(f, AUTO).canonical(value, self.tz)
                except ValueError as exc:
                    raise RecordProblem(f"{f} (column '{column}'): {exc}") from None
            elif f in INT_FIELDS:
                number = self.number_of[value]
                if number is None:
                    raise RecordProblem(f"{f} (column '{column}'): '{value.strip()}' is not a whole number")
                value = number
            elif f in BOOL_FIELDS:
                flag = self.bool_of[value]
                if flag is None:
                    raise RecordProblem(f"{f} (column '{column}'): '{value.strip()}' is not yes or no")
                value = flag
            values.append(value)
        values.append(self._raw(row) if self.extra else "")
        values.append(content_hash(self.prefix, row))
        return tuple(values)

    def slow(self, rows: list[list[str]], reject: Callable[[int, str], None]) -> Prepared:
        """Prepared rows for the records that are fine; ``reject(i, reason)`` for each that is not."""
        prepared: list[tuple[str, ...]] = []
        ids: list[str] = []
        id_at = 1 + self.fields.index("id")
        for i, row in enumerate(rows):
            try:
                values = self.prepare_one(row)
            except RecordProblem as exc:
                reject(i, str(exc))
                continue
            prepared.append(values)
            ids.append(values[id_at])
        return last_of_each(prepared, ids)


@dataclass
class Prepared:
    """A batch ready for the writer: ``rows`` (one per id, the last record of each), their ``ids``, and the ids of
    records that were not written: ``unchanged`` (same content as stored) and ``replaced`` (a later record of the
    same id in the batch won)."""

    rows: Rows  # a list of tuples, or a database image of them made by a worker process (staging)
    ids: list[str]
    unchanged: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    stored: dict[str, str] | None = None  # the stored content hash of those ids that exist (None: not looked up)


@dataclass
class PreparedColumns:
    """A :class:`Prepared` batch held column by column (in prepared-row order): a column is a sequence with one
    value per row, or one ``str`` that every row has (the source, an empty raw column). Pickled, it is a few
    long lists instead of a tuple per row: several times cheaper to send to another process and to read back."""

    columns: list[Sequence[str] | str]
    ids: list[str]
    unchanged: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    stored: dict[str, str] | None = None

    def full_columns(self) -> list[Sequence[str]]:
        """Every column with one value per row (a ``str`` column repeated)."""
        return [[c] * len(self.ids) if isinstance(c, str) else c for c in self.columns]

    def prepared(self) -> Prepared:
        if not self.ids:
            return Prepared([], [], self.unchanged, self.replaced, self.stored)
        return Prepared(
            list(zip(*self.full_columns(), strict=True)), self.ids, self.unchanged, self.replaced, self.stored
        )


class DuplicateIds:
    """The ids one file has had so far (as hashes: a few bytes each), and the records a later one replaced."""

    LISTED = 5
    ORIGINALS = 100_000  # updated tickets whose content before the import is remembered (see write_counted)

    def __init__(self) -> None:
        self._seen: set[int] = set()
        self.count = 0
        self.first: list[str] = []
        self.originals: dict[int, str] = {}  # hash(id) -> content hash stored before this import overwrote it

    def replaced(self, ids: Iterable[str]) -> None:
        listed = list(ids)
        self.repeated(len(listed), listed)

    def repeated(self, count: int, ids: Iterable[str]) -> None:
        """``count`` more records repeated an earlier record's id (the database told: see writeloop); ``ids``:
        some of them, in order, for the list."""
        self.count += count
        for ticket_id in ids:
            if len(self.first) < self.LISTED and ticket_id not in self.first:
                self.first.append(ticket_id)

    def earlier(self, ids: list[str]) -> list[bool]:
        """For each id: whether an earlier batch of the file had it."""
        if not self._seen:
            return [False] * len(ids)
        return list(map(self._seen.__contains__, map(hash, ids)))

    def add(self, ids: Iterable[str]) -> None:
        self._seen.update(map(hash, ids))


def _or_none(convert: Callable[..., str], value: str, *, tz: tzinfo) -> str | None:
    try:
        return convert(value, tz)
    except ValueError:
        return None


def _last_positions(ids: list[str]) -> list[bool]:
    last = {ticket_id: i for i, ticket_id in enumerate(ids)}
    return [last[ticket_id] == i for i, ticket_id in enumerate(ids)]


def last_of_each(rows: list[tuple[str, ...]], ids: list[str]) -> Prepared:
    """The last row for each id (a later row of the same ticket in one file wins); ``ids[i]`` is row i's."""
    if len(set(ids)) == len(ids):
        return Prepared(rows, ids)
    keep = _last_positions(ids)
    replaced = [i for i, kept in zip(ids, keep, strict=True) if not kept]
    return Prepared(list(compress(rows, keep)), list(compress(ids, keep)), [], replaced)
