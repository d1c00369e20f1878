"""Reading export files: CSV in batches of lines (with exact line numbers for every record), JSON and JSON Lines,
and telling which format a file is in.

The CSV reader is built for speed: a batch of physical lines goes through the C ``csv`` module in one call;
only a batch with a broken record, a blank line or a record spanning several lines is walked record by record
(to know each record's lines). A quoted field that is not closed within ``MAX_RECORD_LINES`` lines has its first
line rejected and reading resumes on the next line, however the file falls into batches (or parts:
:mod:`butterfly.importers.csv_chunks`).
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any, BinaryIO

from butterfly.errors import InvalidInputError
from butterfly.importers.encoding import locate_decode_error
from butterfly.yamlload import JsonDataError, json_loads

BATCH_LINES = 20_000
MAX_RECORD_LINES = 5_000
MAX_LINE_BYTES = 64 * 1024 * 1024  # the longest line read: a record this size is no ticket
TEXT_CHUNK_BYTES = 64 * 1024  # text decoded at a time when reading lines (8 KB by default: more calls, ~15% slower)
csv.field_size_limit(MAX_LINE_BYTES)

FORMATS = ("auto", "csv", "jsonl", "json", "zendesk", "freshdesk", "jira", "github", "servicenow")
NATIVE_JSON = ("zendesk", "freshdesk", "jira", "github")


@dataclass
class CsvBatch:
    """Records of consecutive lines. ``starts[i]``/``ends[i]``: the physical lines of ``rows[i]``."""

    rows: list[list[str]]
    first_line: int
    starts: list[int] | None = None  # None: one record per line, record i on line first_line + i
    ends: list[int] | None = None
    broken: list[tuple[int, int, str]] = field(default_factory=list)  # (first, last line, reason)
    bytes_read: int = 0

    def lines_of(self, i: int) -> tuple[int, int]:
        if self.starts is None or self.ends is None:
            return self.first_line + i, self.first_line + i
        return self.starts[i], self.ends[i]


class LineTooLongError(InvalidInputError):
    """A line longer than :data:`MAX_LINE_BYTES`: not a ticket export (a binary, compressed or damaged file)."""


class _CountingReader(io.RawIOBase):
    """A raw file that counts the bytes read (for the progress bar) and refuses endless lines.

    A file with no line break in :data:`MAX_LINE_BYTES` would otherwise be read into memory as one line (a 2 GB
    file without a newline: gigabytes of memory, then a reject copying all of it); it stops here with an error
    naming the file and the line, having held at most one buffer of it.
    """

    def __init__(
        self, handle: BinaryIO, path: Path, *, start: int = 0, line: int = 1, limit: int | None = None
    ) -> None:
        self.handle = handle
        self.path = path
        self.count = start  # the offset in the file: where reading started (see csv_chunks), plus the bytes read
        self.lines = line  # the line being read
        self.since_break = 0  # bytes since the last line break
        self.limit = limit  # read up to this offset (None: to the end of the file); raised to read on

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        want = len(buffer) if self.limit is None else min(len(buffer), self.limit - self.count)
        if want <= 0:
            return 0
        data = self.handle.read(want)
        n = len(data)
        if not n:
            return 0
        buffer[:n] = data
        self.count += n
        last = max(data.rfind(b"\n"), data.rfind(b"\r"))
        if last < 0:
            self.since_break += n
            if self.since_break > MAX_LINE_BYTES:
                raise LineTooLongError(
                    f"{self.path}:{self.lines}: a line longer than {MAX_LINE_BYTES // (1024 * 1024)} MB "
                    "(no line break): not a ticket export",
                    hint="is it a binary or compressed file? nothing from this file was imported",
                )
        else:
            self.lines += data.count(b"\n") or data.count(b"\r")
            self.since_break = n - last - 1
        return n

    def close(self) -> None:
        self.handle.close()
        super().close()


def open_text_lines(
    path: Path, codec: str, *, start: int = 0, line: int = 1, limit: int | None = None
) -> tuple[io.TextIOWrapper, _CountingReader]:
    """``path`` opened for reading text line by line, through the endless-line guard (from byte ``start``, which
    is the beginning of physical line ``line``, up to byte ``limit``: see :mod:`butterfly.importers.csv_chunks`)."""
    handle = path.open("rb")
    if start:
        handle.seek(start)
    raw = _CountingReader(handle, path, start=start, line=line, limit=limit)
    buffered = io.BufferedReader(raw, buffer_size=1 << 20)
    text = io.TextIOWrapper(buffered, encoding=codec, errors="strict", newline="")
    text._CHUNK_SIZE = TEXT_CHUNK_BYTES  # type: ignore[attr-defined]  # CPython's; 8 KB by default
    return text, raw


class CsvFile:
    """A CSV file opened for reading: its header, dialect, and batches of records."""

    read_past_end = False  # a part of a file (csv_chunks) whose last record ran on past the part's end

    def __init__(self, path: Path, codec: str, *, delimiter: str | None = None) -> None:
        self.path = path
        self.codec = codec
        self.given_delimiter = delimiter
        self.size = os.path.getsize(path)
        self._text, self._raw = open_text_lines(path, codec)
        try:
            self._read_header()
        except BaseException:
            self.close()  # an empty or unreadable file must not leak its handle
            raise

    def _read_header(self) -> None:
        path = self.path
        self.header_lines = (1, 1)
        first = self._next_lines(1)
        if not first:
            raise InvalidInputError(f"{path}: the file is empty")
        self.delimiter = self._delimiter(first[0])
        header_lines = first
        while True:
            try:
                header = next(csv.reader(header_lines, delimiter=self.delimiter, strict=True))
                break
            except csv.Error as exc:
                more = self._next_lines(1)
                if not more or len(header_lines) > 50:
                    raise InvalidInputError(f"{path}:1: cannot read the header: {exc}") from None
                header_lines += more
        self.header_lines = (1, len(header_lines))
        self.header = [h.strip().lstrip("\ufeff") or f"column {i + 1}" for i, h in enumerate(header)]
        self.next_line = len(header_lines) + 1

    def _delimiter(self, line: str) -> str:
        if self.given_delimiter:
            return self.given_delimiter
        if self.path.suffix.lower() in (".tsv", ".tab"):
            return "\t"
        return sniff_delimiter(line)

    def _next_lines(self, n: int) -> list[str]:
        try:
            return list(islice(self._text, n))
        except UnicodeDecodeError:
            line, detail = locate_decode_error(self.path, self.codec)
            raise InvalidInputError(
                f"{self.path}:{line}: {detail}",
                hint="the file is not in the encoding used; name it with --encoding (utf-8, gbk, big5, …)",
            ) from None

    def close(self) -> None:
        self._text.close()

    def batches(self, batch_lines: int = BATCH_LINES) -> Iterator[CsvBatch]:
        carry: list[str] = []
        eof = False
        while True:
            new = [] if eof else self._next_lines(batch_lines)
            eof = eof or len(new) < batch_lines
            lines = carry + new if carry else new
            if not lines:
                return
            base = self.next_line
            batch, consumed = self._parse(lines, base, eof and self.at_end())
            self.next_line = base + consumed
            carry = lines[consumed:]
            if eof and carry and not self.at_end():  # a record runs on past the part of the file read
                self.read_on()
                eof = False
            batch.bytes_read = self._raw.count
            del new, lines  # one batch of text in memory at a time
            if batch.rows or batch.broken:
                yield batch
            del batch
            if eof and not carry:
                return

    def at_end(self) -> bool:
        """Whether the lines read end where the file does (a part of a file may end earlier: csv_chunks)."""
        return True

    def read_on(self) -> None:
        """Read on past the end of the part (only a part of a file has one: csv_chunks)."""

    def _parse(self, lines: list[str], base: int, eof: bool) -> tuple[CsvBatch, int]:
        """Parse ``lines`` (the first is physical line ``base``); returns the batch and how many lines it used."""
        try:
            rows = list(csv.reader(lines, delimiter=self.delimiter, strict=True))
        except csv.Error:
            rows = None
        if rows is not None and len(rows) == len(lines) and all(rows):
            return CsvBatch(rows=rows, first_line=base), len(lines)
        return self._parse_slowly(lines, base, eof)

    def _parse_slowly(self, lines: list[str], base: int, eof: bool) -> tuple[CsvBatch, int]:
        batch = CsvBatch(rows=[], first_line=base, starts=[], ends=[])
        assert batch.starts is not None and batch.ends is not None
        position = 0  # lines used so far
        while position < len(lines):
            reader = csv.reader(lines[position:], delimiter=self.delimiter, strict=True)
            done = 0  # lines used by this reader
            restart = False
            while True:
                try:
                    row = next(reader)
                except StopIteration:
                    break
                except csv.Error as exc:
                    end = reader.line_num
                    at_end = position + end >= len(lines)
                    message = str(exc)
                    span = end - done
                    open_at_end = at_end and "unexpected end of data" in message
                    if open_at_end and not eof and span < MAX_RECORD_LINES:
                        return batch, position + done  # the record continues in the next batch
                    if open_at_end or span >= MAX_RECORD_LINES:
                        # a quote never closed (or closed too late to be a record, whichever batch the closing
                        # line came in): reject its first line, read on from the next
                        position, restart = self._never_closed(batch, base, position, done), True
                        break
                    batch.broken.append((base + position + done, base + position + end - 1, _csv_reason(message)))
                    done = end
                    continue
                end = reader.line_num
                if end - done >= MAX_RECORD_LINES:
                    # closed too late to be a record, whichever batch the closing line came in: as never closed
                    position, restart = self._never_closed(batch, base, position, done), True
                    break
                if row:
                    batch.rows.append(row)
                    batch.starts.append(base + position + done)
                    batch.ends.append(base + position + end - 1)
                done = end
            if not restart:
                position += done
                break
        return batch, position

    @staticmethod
    def _never_closed(batch: CsvBatch, base: int, position: int, done: int) -> int:
        """Reject the first line of a record whose quote is not closed within MAX_RECORD_LINES lines; the
        position to read on from (the next line)."""
        first = base + position + done
        batch.broken.append((first, first, "a quoted field is never closed (unbalanced '\"')"))
        return position + done + 1


DELIMITERS = (",", ";", "\t", "|")


def sniff_delimiter(line: str) -> str:
    """The delimiter of a header line, quote-aware: each candidate splits the line as the csv module would, and
    the one giving the most fields wins among those that leave no stray quote inside a field (a ``;`` inside
    ``"Subject (short; EN)"`` is text, not a delimiter). Ties go to the earlier of ``, ; tab |``."""
    best, best_fields = ",", 1
    for delimiter in DELIMITERS:
        if delimiter not in line:
            continue
        try:
            fields = next(csv.reader([line.rstrip("\r\n")], delimiter=delimiter, strict=True), [])
        except csv.Error:
            continue
        if any('"' in f for f in fields):
            continue  # quotes that are not quoting for this delimiter: the wrong one
        if len(fields) > best_fields:
            best, best_fields = delimiter, len(fields)
    return best


def _csv_reason(message: str) -> str:
    if "expected after" in message:
        return f"bad quoting: {message}"
    if "NUL" in message or "nul" in message:
        return "the line contains a NUL byte"
    return message


# -- JSON ---------------------------------------------------------------------------------------------------


def read_text(path: Path, codec: str) -> str:
    """The whole file decoded strictly; InvalidInputError naming the line of bad bytes."""
    data = path.read_bytes()
    try:
        return data.decode(codec)
    except UnicodeDecodeError:
        line, detail = locate_decode_error(path, codec)
        raise InvalidInputError(
            f"{path}:{line}: {detail}", hint="name the file's encoding with --encoding (utf-8, gbk, big5, …)"
        ) from None


def load_json(path: Path, codec: str) -> Any:
    text = read_text(path, codec)
    try:
        return json_loads(text, unique_keys=False)
    except json.JSONDecodeError as exc:
        raise InvalidInputError(f"{path}:{exc.lineno}: not valid JSON: {exc.msg} (column {exc.colno})") from None
    except JsonDataError as exc:
        raise InvalidInputError(f"{path}: not a ticket export: {exc}") from None


def json_records(doc: Any, path: Path) -> list[Any]:
    """The list of records in a JSON export: the document itself or its one list-valued member."""
    if isinstance(doc, list):
        return doc
    if isinstance(doc, dict):
        for key in ("tickets", "issues", "results", "records", "data", "items", "result"):
            if isinstance(doc.get(key), list):
                return list(doc[key])
        lists = [v for v in doc.values() if isinstance(v, list) and v and isinstance(v[0], dict)]
        if len(lists) == 1:
            return lists[0]
        return [doc]
    raise InvalidInputError(f"{path}: expected a JSON list of records or an object holding one")


def jsonl_lines(path: Path, codec: str) -> Iterator[tuple[int, str]]:
    """(line number, text) of each non-blank line."""
    handle, _ = open_text_lines(path, codec)
    with handle:
        number = 0
        try:
            for number, line in enumerate(handle, start=1):
                if line.strip():
                    yield number, line
        except UnicodeDecodeError:
            line_no, detail = locate_decode_error(path, codec)
            raise InvalidInputError(f"{path}:{line_no}: {detail}", hint="name the encoding with --encoding") from None


# -- which format -------------------------------------------------------------------------------------------

SERVICENOW_COLUMNS = {"number", "incident_state", "sys_mod_count", "caller_id"}


def detect_format(path: Path, codec: str, given: str = "auto") -> str:
    """The format of ``path``: ``given`` unless it is ``auto``; else by extension and a look inside."""
    if given != "auto":
        if given not in FORMATS:
            raise InvalidInputError(f"unknown format '{given}'", hint="formats: " + ", ".join(FORMATS))
        return given
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson"):
        return "jsonl"
    with path.open("rb") as handle:
        head = handle.read(65536)
    text = head.decode(codec, errors="ignore").lstrip("\ufeff \t\r\n")
    if suffix == ".json" or text.startswith(("{", "[")):
        return "json"  # refined by detect_json_format once loaded
    first_line = text.split("\n", 1)[0]
    names = {c.strip().strip('"').lower() for c in first_line.split(",")}
    if names >= SERVICENOW_COLUMNS:
        return "servicenow"
    return "csv"


def detect_json_format(doc: Any) -> str:
    """A vendor format recognised from the shape of a JSON export, or ``json`` (generic).

    Lists of records and the API's envelopes: Zendesk ``{"tickets": …}`` and a single ``{"ticket": …}``, Freshdesk
    search ``{"total", "results": …}`` and a single ticket (an object with ``requester_id``), Jira
    ``{"issues": …}``, GitHub search ``{"total_count", "items": …}``."""
    records = doc if isinstance(doc, list) else None
    if isinstance(doc, dict):
        if isinstance(doc.get("issues"), list) and doc["issues"] and _all_have(doc["issues"], {"key", "fields"}):
            return "jira"
        if isinstance(doc.get("tickets"), list):
            records = doc["tickets"]
            if (
                records
                and _all_have(records, {"requester_id", "status", "subject"})
                and ("url" in records[0] or "via" in records[0] or "end_of_stream" in doc or "next_page" in doc)
            ):
                return "zendesk"
        elif isinstance(doc.get("ticket"), dict):
            records = [doc["ticket"]]
        elif isinstance(doc.get("results"), list) and "total" in doc:
            records = doc["results"]
        elif isinstance(doc.get("items"), list) and "total_count" in doc:
            records = doc["items"]
        elif {"key", "fields"} <= doc.keys() or {"requester_id", "status", "subject"} <= doc.keys():
            records = [doc]  # one ticket or issue on its own (GET /tickets/1)
        elif {"number", "title", "state"} <= doc.keys():
            records = [doc]
    if records and isinstance(records[0], dict):
        first = records[0]
        if {"key", "fields"} <= first.keys():
            return "jira"
        if {"requester_id", "status", "subject"} <= first.keys() and (
            "fr_due_by" in first or "stats" in first or "company_id" in first or "responder_id" in first
        ):
            return "freshdesk"
        if {"requester_id", "status", "subject"} <= first.keys() and ("via" in first or "url" in first):
            return "zendesk"
        if {"number", "title", "state"} <= first.keys() and (
            "user" in first or "html_url" in first or "repository_url" in first
        ):
            return "github"
    return "json"


def _all_have(records: list[Any], keys: set[str]) -> bool:
    return all(isinstance(r, dict) and keys <= r.keys() for r in records[:20])
