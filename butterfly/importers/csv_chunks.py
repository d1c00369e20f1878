"""A large CSV file cut into parts at record boundaries, so that several worker processes can prepare its records
at once (:mod:`butterfly.importers.csv_batches`) while the importing process writes them in file order.

Where a record ends is only known by parsing from the start, so a cut is a guess that is checked:

* **The guess.** A part ends after a line break preceded by an even number of ``"`` in the part (RFC 4180 quoting:
  a line break inside a quoted field follows an odd number). Every worker computes the same parts from the bytes
  alone (:func:`parts`), in the file's own encoding: only encodings in which the bytes of ``"``, CR and LF never
  occur inside another character are cut (:func:`can_cut`).
* **The check.** A part is read exactly as the whole file would be (:class:`PartFile`, the same batches and
  rules as :class:`~butterfly.importers.sources.CsvFile`). Its first part starts at a true record boundary; if
  its last record is still open where the part ends, the cut was wrong (a ``"`` inside an unquoted field, which
  the ``csv`` module keeps as text, makes the count odd), and the worker that read it reads on to the end of the
  file (:meth:`PartFile.read_on`) and tells the importing process, which then takes the rest of the file from
  that worker alone. If the part ends cleanly, its end is a true record boundary, and so the next part starts at
  one: by induction every part is read as the whole file would be, with the same line numbers.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from butterfly.importers.sources import CsvFile, open_text_lines

PART_BYTES = 8 * 1024 * 1024  # about 25,000 records of a typical export
PART_BATCH_LINES = 5_000  # lines per batch of a part: each worker holds one (the peak memory of the tree)
LOOK_BACK = 1024 * 1024  # how far from the end of a part a cut is looked for; none found: the rest is one part
# encodings (as codecs.lookup names them) in which the bytes of '"', CR and LF only ever mean those characters
CUTTABLE = frozenset(
    {"utf-8", "utf-8-sig", "ascii", "gb18030", "gbk", "big5", "big5hkscs", "cp950", "shift_jis", "cp932",
     "euc_jp", "euc_kr", "iso8859-1", "cp1252"}
)  # fmt: skip


@dataclass(frozen=True)
class Part:
    """Bytes ``start``..``end`` of the file, the first of them on physical line ``line``."""

    index: int
    start: int
    end: int
    line: int


def can_cut(codec: str) -> bool:
    return codecs.lookup(codec).name in CUTTABLE


def after_first_line(path: Path) -> int:
    """The offset of the second line (a header on one line ends there); 0 if the file has one line only."""
    with path.open("rb") as handle:
        offset = 0
        while block := handle.read(1 << 16):
            ends = [i for i in (block.find(b"\n"), block.find(b"\r")) if i >= 0]
            if ends:
                at = min(ends)
                if block[at : at + 2] == b"\r\n":
                    return offset + at + 2
                if block[at] == 13 and at + 1 == len(block):  # CR at the end of a block: LF may follow
                    handle.seek(offset + at + 1)
                    return offset + at + 1 + (1 if handle.read(1) == b"\n" else 0)
                return offset + at + 1
            offset += len(block)
    return 0


def line_breaks(data: bytes, end: int) -> int:
    """Physical lines ended in ``data[:end]`` as the text reader counts them (LF, CR, or CR LF)."""
    if data.find(b"\r", 0, end) < 0:  # LF only, as most files: one count instead of three (every worker counts
        return data.count(b"\n", 0, end)  # the lines of the whole file to number its parts)
    return data.count(b"\n", 0, end) + data.count(b"\r", 0, end) - data.count(b"\r\n", 0, end)


def cut(block: bytes) -> int:
    """The length of ``block`` up to and including its last LF preceded by an even number of ``"`` (within the
    last :data:`LOOK_BACK` bytes); -1 if there is none."""
    quotes = block.count(b'"')
    end, after = len(block), 0  # after: the quotes in block[end:]
    floor = max(0, len(block) - LOOK_BACK)
    while (at := block.rfind(b"\n", floor, end)) >= 0:
        after += block.count(b'"', at, end)
        if (quotes - after) % 2 == 0:
            return at + 1
        end = at
    return -1


def parts(path: Path, start: int, line: int, size: int, part_bytes: int = PART_BYTES) -> Iterator[Part]:
    """The parts of the file from byte ``start`` (physical line ``line``) to ``size``: the same for every caller."""
    index = 0
    with path.open("rb") as handle:
        while start < size:
            if size - start <= part_bytes + part_bytes // 4:  # the rest (no small last part)
                yield Part(index, start, size, line)
                return
            handle.seek(start)
            block = handle.read(part_bytes)
            at = cut(block)
            if at <= 0:
                yield Part(index, start, size, line)  # no cut found: one part to the end
                return
            yield Part(index, start, start + at, line)
            line += line_breaks(block, at)
            start += at
            index += 1


class PartFile(CsvFile):
    """One :class:`Part` of a CSV file whose header was read already, read in batches as :class:`CsvFile` reads
    the whole file. ``read_past_end`` tells whether its last record ran on past the part (see the module)."""

    def __init__(self, path: Path, codec: str, *, delimiter: str, header: list[str], size: int, part: Part) -> None:
        self.path = path
        self.codec = "utf-8" if codecs.lookup(codec).name == "utf-8-sig" else codec  # a BOM only opens the file
        self.given_delimiter = delimiter
        self.delimiter = delimiter
        self.header = header
        self.header_lines = (1, 1)
        self.size = size
        self.part = part
        self.next_line = part.line
        self._text, self._raw = open_text_lines(path, self.codec, start=part.start, line=part.line, limit=part.end)

    def at_end(self) -> bool:
        return self._raw.limit is None or self._raw.limit >= self.size

    def read_on(self) -> None:
        self._raw.limit = None
        self.read_past_end = True
