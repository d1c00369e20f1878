"""A JSON export read record by record: a top-level array (``[ {...}, … ]``) or a vendor document whose records are
the list under ``tickets``, ``issues``, ``results``, ``records``, ``data``, ``items`` or ``result`` (the other
members, such as Zendesk's ``users`` sideload or ``end_of_stream``, are kept as the *envelope*).

The file is read twice with ijson's C parser: first to check the whole document and count its records (a broken
file imports nothing, as before), then record by record while importing; memory holds one batch and the first
:data:`SAMPLE` records (the columns of a generic export are learnt from them), never the whole file. What cannot be
streamed this way — another encoding than UTF-8, numbers beyond 64 bits or ``NaN`` (which ijson refuses), a
document with no such list — is read whole as before (:func:`butterfly.importers.sources.load_json`), which also
gives a syntax error its line and column.

A record may embed a huge thread (a ticket with a million comments). The first pass notes records holding more than
:data:`~butterfly.importers.threads.MAX_MESSAGES` objects; when there is one, the second pass drops the items of a
thread list (``comments``, ``conversations``, ``messages``, … at any depth of the record) beyond that cap *while
parsing*, before the record is built, and the record comes out as a :class:`CappedRecord` that says how many it
left out. Files without such a record are read as before (ijson builds each record in C).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import IO, Any

import ijson

from butterfly.importers.sources import json_records, load_json
from butterfly.importers.threads import MAX_MESSAGES, THREAD_KEYS

RECORD_KEYS = ("tickets", "issues", "results", "records", "data", "items", "result")
SAMPLE = 1000
# deeper documents are read whole, as before (which refuses them as "nested too deeply"): ijson's prefixes grow with
# the depth, and a 100,000-deep file of 200 KB would hold gigabytes of them
MAX_DEPTH = 500
STREAMED_CODECS = ("utf-8", "utf-8-sig", "utf_8", "utf_8_sig", "ascii")
BOM = b"\xef\xbb\xbf"
_START = ("start_map", "start_array")
_END = ("end_map", "end_array")


class CappedRecord(dict[str, Any]):
    """A record whose thread lists were cut to the cap while streaming; ``over_cap``: the items left out."""

    over_cap: int = 0


@dataclass
class JsonSource:
    """The records of one JSON file (streamed, or from the document read whole: ``doc``)."""

    path: Path
    key: str | None = None  # the list holding the records in a vendor document (None: a top-level array)
    envelope: dict[str, Any] | None = None  # the document's other members
    count: int = 0
    sample: list[Any] = field(default_factory=list)  # the first SAMPLE records
    doc: Any = None  # the whole document, when it was not streamed
    streamed: bool = False
    heavy: bool = False  # a record holds more objects than a thread may have messages: cap while streaming
    limit: int = MAX_MESSAGES  # items kept of one thread list

    def records(self) -> Iterator[Any]:
        """Every record, in order (a new pass over the file each call when streamed)."""
        if not self.streamed:
            yield from json_records(self.doc, self.path)
            return
        prefix = f"{self.key}.item" if self.key else "item"
        with _open(self.path) as handle:
            if not self.heavy:
                yield from ijson.items(handle, prefix, use_float=True)
                return
            dropped: dict[int, int] = {}
            events = _capped(ijson.parse(handle, use_float=True), prefix, self.limit, dropped)
            for n, record in enumerate(ijson.items(events, prefix)):
                over = dropped.pop(n, 0)
                if over and isinstance(record, dict):
                    record = CappedRecord(record)
                    record.over_cap = over
                yield record

    def shape(self) -> Any:
        """A small document of the file's shape (the envelope and the first records) for telling its format."""
        if not self.streamed:
            return self.doc
        head = self.sample[:20]
        return {**(self.envelope or {}), self.key: head} if self.key else head

    def side(self) -> Any:
        """The document without its records: the envelope (sideloads) or the document itself."""
        return self.doc if not self.streamed else (self.envelope or [])


class _NotStreamed(Exception):
    pass


def _open(path: Path) -> IO[bytes]:
    handle = path.open("rb")
    if handle.read(3) != BOM:
        handle.seek(0)
    return handle


def open_json(path: Path, codec: str) -> JsonSource:
    """The records of ``path``: streamed when it can be (see the module docstring), else read whole."""
    if codec.lower() in STREAMED_CODECS:
        try:
            return _scan(path)
        except (_NotStreamed, ijson.JSONError, ValueError, OverflowError):
            pass  # read whole below: the same document, or the error with its line
    doc = load_json(path, codec)
    records = json_records(doc, path)
    return JsonSource(path=path, doc=doc, count=len(records), sample=records[:SAMPLE])


def nesting_depth(path: Path, limit: int = MAX_DEPTH) -> int:
    """How deep the JSON in ``path`` nests, stopping once it passes ``limit`` (it returns ``limit + 1`` then).

    Reads events without path prefixes, so a hostile 100,000-deep file costs one pass and little memory; raises
    ijson's JSONError on a syntax error."""
    deepest = depth = 0
    with _open(path) as handle:
        for event, _value in ijson.basic_parse(handle, use_float=True):
            if event in ("start_map", "start_array"):
                depth += 1
                if depth > limit:
                    return depth
                deepest = max(deepest, depth)
            elif event in ("end_map", "end_array"):
                depth -= 1
    return deepest


def _first_byte(path: Path) -> bytes:
    with _open(path) as handle:
        while True:
            byte = handle.read(1)
            if not byte or not byte.isspace():
                return byte


def _scan(path: Path) -> JsonSource:
    first = _first_byte(path)
    if first == b"[":
        count, heavy = _count_array(path)
        source = JsonSource(path=path, count=count, streamed=True, heavy=heavy)
    elif first == b"{":
        key, envelope, count, heavy = _scan_object(path)
        source = JsonSource(path=path, key=key, envelope=envelope, count=count, streamed=True, heavy=heavy)
    else:
        raise _NotStreamed
    source.sample = list(islice(source.records(), SAMPLE))
    return source


def _capped(
    events: Iterator[tuple[str, str, Any]], prefix: str, limit: int, dropped: dict[int, int]
) -> Iterator[tuple[str, str, Any]]:
    """``events`` without the items of a record's thread lists beyond ``limit``; ``dropped``: how many were left out,
    by record (numbered from 0 in the order of ``prefix``'s items)."""
    level = 0  # containers open before this event
    record = -1
    lists: dict[int, int] = {}  # the content level of an open thread list -> its items so far
    skip_to = -1  # while leaving out an item: the level its end brings back
    keyed: str | None = None  # the member name just read (an array right after it is that member's value)
    inside = prefix + "."
    for event in events:
        kind = event[1]
        if skip_to >= 0:
            if kind in _START:
                level += 1
            elif kind in _END:
                level -= 1
                if level == skip_to:
                    skip_to = -1
            continue
        if lists and level in lists and kind != "end_array":
            lists[level] += 1
            if lists[level] > limit:
                dropped[record] = dropped.get(record, 0) + 1
                if kind in _START:
                    skip_to, level = level, level + 1
                continue
        if kind == "map_key":
            keyed = event[2]
            yield event
            continue
        if kind in _START:
            if event[0] == prefix:
                record += 1
            elif kind == "start_array" and keyed in THREAD_KEYS and event[0].startswith(inside):
                lists[level + 1] = 0
            level += 1
        elif kind in _END:
            level -= 1
            if kind == "end_array":
                lists.pop(level + 1, None)
        elif event[0] == prefix:
            record += 1  # a record that is a plain value
        keyed = None
        yield event


def _count_array(path: Path) -> tuple[int, bool]:
    """The records of a top-level array, and whether one holds more objects than a thread may have messages;
    checks the whole document, and that it nests at most MAX_DEPTH deep."""
    count = depth = 0
    objects = 0  # objects in the current record
    heavy = False
    with _open(path) as handle:
        for event, _value in ijson.basic_parse(handle, use_float=True):
            if event in _START:
                depth += 1
                if depth == 2:
                    count += 1
                    heavy = heavy or objects > MAX_MESSAGES
                    objects = 0
                elif depth > MAX_DEPTH:
                    raise _NotStreamed
                elif event == "start_map":
                    objects += 1
            elif event in ("end_map", "end_array"):
                depth -= 1
            elif depth == 1:
                count += 1  # a record that is a plain value (rejected later as not a JSON object)
    return count, heavy or objects > MAX_MESSAGES


def _scan_object(path: Path) -> tuple[str, dict[str, Any], int, bool]:
    """The key of the record list, the other members (built), the number of records, and whether one holds more
    objects than a thread may have messages; checks the document."""
    envelope: dict[str, Any] = {}
    key: str | None = None
    count = 0
    objects = 0  # objects in the current record
    heavy = False
    with _open(path) as handle:
        # basic_parse, not parse: parse gives every event its path prefix, built anew per event, so a document
        # nested N deep costs O(N^2) before the depth check below can stop it (50,000 levels: 6 GB)
        events = ijson.basic_parse(handle, use_float=True)
        member: str | None = None
        builder: Any = None
        depth = 0
        skipping = False
        level = 0  # the nesting depth in the whole document
        for event, value in events:
            outermost = False  # the document's own braces
            if event in ("start_map", "start_array"):
                level += 1
                outermost = level == 1
                if level > MAX_DEPTH:
                    raise _NotStreamed
            elif event in ("end_map", "end_array"):
                level -= 1
                outermost = level == 0
            if depth == 0:
                if event == "map_key":
                    member = str(value)
                    continue
                if outermost and event in ("start_map", "end_map"):
                    continue
                if member is None:
                    raise _NotStreamed
                if event == "start_array" and member in RECORD_KEYS and key is None:
                    key, skipping, depth = member, True, 1
                    continue
                if member in envelope or member == key:
                    raise _NotStreamed  # a member given twice: read whole (the last one wins there)
                builder = ijson.ObjectBuilder()
                builder.event(event, value)
                if event in ("start_map", "start_array"):
                    depth = 1
                else:
                    envelope[member] = builder.value
                continue
            if event in _START:
                if skipping:
                    if depth == 1:
                        count += 1
                        heavy = heavy or objects > MAX_MESSAGES
                        objects = 0
                    elif event == "start_map":
                        objects += 1
                depth += 1
            elif event in ("end_map", "end_array"):
                depth -= 1
            elif skipping and depth == 1:
                count += 1  # a record that is a plain value (rejected later as not a JSON object)
            if not skipping:
                builder.event(event, value)
                if depth == 0:
                    assert member is not None
                    envelope[member] = builder.value
            elif depth == 0:
                skipping = False
    if key is None or any(isinstance(envelope.get(k), list) for k in RECORD_KEYS):
        raise _NotStreamed  # no record list, or two of them: read whole, where the first by RECORD_KEYS wins
    return key, envelope, count, heavy or objects > MAX_MESSAGES
