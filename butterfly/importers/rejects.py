"""The rejects file: every record an import could not take, byte for byte, with its line number and reason.

Default place: next to the input, ``<input>.rejects.txt``; ``--rejects PATH`` puts every file's rejects there.
Written like every file butterfly writes (:func:`butterfly.files.atomic_output`): a private (0600) temporary file
beside it, renamed into place when the import ends, so a link or a device planted at that name in an export drop
folder is replaced, never written through; a full disk leaves no empty file. The format::

    # butterfly import: records of tickets.csv that were not imported (encoding UTF-8)
    # each "# line N: reason" line is followed by that record exactly as it is in the input
    # line 1: header
    id,customer,subject,…
    # line 17: missing id
    ,Acme Retail,Login broken,…

CSV and JSON Lines records are copied from the input's bytes; a record of a JSON array is written as compact
JSON (``# record N: reason``).
"""

from __future__ import annotations

import io
import re
import sys
from contextlib import AbstractContextManager
from pathlib import Path
from typing import IO, BinaryIO

from butterfly.files import atomic_output
from butterfly.importers.encoding import is_wide

MARKER = b"# butterfly import:"
_LONE_CR = re.compile(rb"(?<=\r)(?!\n)")


def default_path(input_path: Path) -> Path:
    return input_path.with_name(input_path.name + ".rejects.txt")


class _Lines:
    """Physical lines of a file as bytes, split like Python's universal newlines (\\n, \\r\\n, \\r)."""

    def __init__(self, handle: BinaryIO) -> None:
        self.handle = handle
        self.number = 0  # lines consumed so far
        self.pending: list[bytes] = []

    def next(self) -> bytes | None:
        if not self.pending:
            chunk = self.handle.readline()
            if not chunk:
                return None
            self.pending = [p for p in _LONE_CR.split(chunk) if p] if b"\r" in chunk else [chunk]
        self.number += 1
        return self.pending.pop(0)


class _TextLines(_Lines):
    """Physical lines of a UTF-16/UTF-32 file, decoded, as UTF-8 bytes (split like the CSV reader splits them)."""

    def __init__(self, handle: BinaryIO, codec: str) -> None:
        super().__init__(handle)
        self.text = io.TextIOWrapper(handle, encoding=codec, errors="replace", newline="")

    def next(self) -> bytes | None:
        line = self.text.readline()
        if not line:
            return None
        self.number += 1
        return line.encode("utf-8", errors="backslashreplace")


class RejectsFile:
    """Collects rejects as they happen (in input order) and writes them; the file exists only if needed."""

    def __init__(self, path: Path, *, devices: bool = False) -> None:
        self.path = path
        self.devices = devices  # only a path the user named (--rejects /dev/stderr) may be a device or FIFO
        self.count = 0
        self._out: IO[bytes] | None = None
        self._file: AbstractContextManager[IO[bytes]] | None = None
        self._source: Path | None = None
        self._codec = "utf-8"
        self._lines: _Lines | None = None
        self._input: BinaryIO | None = None
        self._header_lines: tuple[int, int] | None = None
        self._written_for_source = False

    def start_source(self, source: Path, *, codec: str, label: str, header_lines: tuple[int, int] | None) -> None:
        """The next rejects come from ``source`` (decoded with ``codec``; ``header_lines`` repeated first)."""
        self._close_input()
        self._source = source
        self._wide = is_wide(codec)  # UTF-16/32: lines are read as text and written as UTF-8
        self._source_codec = codec
        self._codec = "utf-8" if codec in ("utf-8-sig",) or self._wide else codec
        self._label = f"UTF-8; the input is {label}" if self._wide else label
        self._header_lines = header_lines
        self._written_for_source = False

    def _text(self, text: str) -> bytes:
        return text.encode(self._codec, errors="backslashreplace")

    def _open(self) -> IO[bytes]:
        if self._out is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = atomic_output(self.path, binary=True, devices=self.devices)
            self._out = self._file.__enter__()
        out = self._out
        if not self._written_for_source and self._source is not None:
            self._write(
                self._text(
                    f"# butterfly import: records of {self._source} that were not imported (encoding {self._label})\n"
                    '# each "# line N: reason" line is followed by that record exactly as it is in the input\n'
                )
            )
            self._written_for_source = True
            if self._header_lines is not None:
                self._copy_lines(*self._header_lines, "header")
        return out

    def _copy_lines(self, first: int, last: int, reason: str) -> None:
        assert self._out is not None and self._source is not None
        if self._lines is None or self._lines.number >= first:
            self._close_input()
            self._input = self._source.open("rb")
            self._lines = _TextLines(self._input, self._source_codec) if self._wide else _Lines(self._input)
        where = f"line {first}" if first == last else f"lines {first}-{last}"
        self._write(self._text(f"# {where}: {_one_line(reason)}\n"))
        lines = self._lines
        while lines.number < first - 1:
            if lines.next() is None:
                return
        last_written = b"\n"
        for _ in range(first, last + 1):
            data = lines.next()
            if data is None:
                break
            self._write(data)
            last_written = data
        if not last_written.endswith((b"\n", b"\r")):
            self._write(b"\n")

    def add_lines(self, first: int, last: int, reason: str) -> None:
        """Reject the record on physical lines ``first``..``last`` of the current source."""
        self._open()
        self._copy_lines(first, last, reason)
        self.count += 1

    def add_record(self, label: str, record: str, reason: str) -> None:
        """Reject a record that has no line of its own (an element of a JSON array)."""
        self._open()
        self._write(self._text(f"# {label}: {_one_line(reason)}\n"))
        self._write(record.encode("utf-8", errors="backslashreplace") + b"\n")
        self.count += 1

    def _close_input(self) -> None:
        if self._input is not None:
            self._input.close()
        self._input = None
        self._lines = None

    def _write(self, data: bytes) -> None:
        assert self._out is not None and self._file is not None
        try:
            self._out.write(data)
        except OSError:  # a full disk: the temporary file goes, the error names the rejects file
            self._out = None
            file, self._file = self._file, None
            file.__exit__(*sys.exc_info())
            raise

    def close(self) -> None:
        """Put the rejects file in place (when there is one)."""
        self._close_input()
        if self._file is not None:
            file, self._file = self._file, None
            self._out = None
            file.__exit__(None, None, None)

    def remove_stale(self) -> None:
        """Delete a rejects file left by an earlier run (only if butterfly wrote it) when this run had none."""
        if self.count or not self.path.exists():
            return
        try:
            with self.path.open("rb") as handle:
                if handle.read(len(MARKER)) == MARKER:
                    self.path.unlink()
        except OSError:
            pass


def _one_line(text: str) -> str:
    return " ".join(text.split())
