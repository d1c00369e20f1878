"""A CSV file cut into parts (butterfly.importers.csv_chunks): reading it part by part, as several worker processes
do, gives the records, line numbers and broken records that reading it whole gives, whatever the quoting."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from butterfly.importers import csv_batches, csv_chunks, sources
from butterfly.importers.sources import CsvFile


def _whole(path: Path, batch_lines: int) -> list[tuple[list[str], tuple[int, int]] | tuple[int, int, str]]:
    reader = CsvFile(path, "utf-8")
    try:
        return _records(reader, batch_lines)
    finally:
        reader.close()


def _records(reader: CsvFile, batch_lines: int) -> list[tuple[list[str], tuple[int, int]] | tuple[int, int, str]]:
    out: list[tuple[list[str], tuple[int, int]] | tuple[int, int, str]] = []
    for batch in reader.batches(batch_lines=batch_lines):
        out += [(row, batch.lines_of(i)) for i, row in enumerate(batch.rows)]
        out += list(batch.broken)
    return out


def _in_parts(path: Path, part_bytes: int, batch_lines: int) -> tuple[list[object], int | None]:
    """The records part by part, as the workers read them; and the part whose worker read on to the end, if any."""
    whole = CsvFile(path, "utf-8")
    header, delimiter = whole.header, whole.delimiter
    whole.close()
    size = path.stat().st_size
    out: list[object] = []
    for part in csv_chunks.parts(path, csv_chunks.after_first_line(path), 2, size, part_bytes):
        reader = csv_chunks.PartFile(path, "utf-8", delimiter=delimiter, header=header, size=size, part=part)
        try:
            out += _records(reader, batch_lines)
        finally:
            reader.close()
        if reader.read_past_end:
            return out, part.index
    return out, None


def _sorted(records: list[object]) -> list[object]:
    # broken records come after the rows of their batch: order both by their first line
    def line(item: object) -> int:
        if isinstance(item, tuple) and isinstance(item[0], list):
            return int(item[1][0])
        return int(item[0])  # type: ignore[index]

    return sorted(records, key=line)


def test_a_stray_quote_makes_the_worker_read_on_and_the_records_stay_the_same(tmp_path: Path) -> None:
    """A ``"`` inside an unquoted field is text to the csv module but turns the quote count odd: the cut after it
    falls inside a quoted field of two lines; the worker reading that part reads on to the end of the file."""
    lines = ["id,subject,body\n"]
    for i in range(3_000):
        if i == 1_500:
            lines.append(f'{i},a"b,plain\n')  # the stray quote
        elif i % 7 == 0:
            lines.append(f'{i},s{i},"b ""q"" {i}\nsecond line"\n')  # quoted, two lines
        else:
            lines.append(f"{i},s{i},b{i}\n")
    path = tmp_path / "stray.csv"
    path.write_text("".join(lines), encoding="utf-8")
    whole = _whole(path, 500)
    parts, read_on = _in_parts(path, 3_000, 100)
    assert read_on is not None and read_on > 0  # earlier parts were cut right
    assert _sorted(parts) == _sorted(whole)
    assert len([r for r in whole if isinstance(r[0], list)]) == 3_000


def test_parts_of_a_clean_file_are_cut_at_record_ends_and_keep_line_numbers(tmp_path: Path) -> None:
    lines = ["id,subject\r\n"] + [
        (f'{i},"two\r\nlines {i}"\r\n' if i % 5 == 0 else f"{i},客户 {i}\r\n") for i in range(4_000)
    ]
    path = tmp_path / "crlf.csv"
    path.write_text("".join(lines), encoding="utf-8", newline="")
    size = path.stat().st_size
    cuts = list(csv_chunks.parts(path, csv_chunks.after_first_line(path), 2, size, 4_096))
    assert len(cuts) > 10
    assert [p.start for p in cuts[1:]] == [p.end for p in cuts[:-1]] and cuts[-1].end == size
    parts, read_on = _in_parts(path, 4_096, 300)
    assert read_on is None
    assert _sorted(parts) == _sorted(_whole(path, 1_000))


FIELD = st.one_of(
    st.text(alphabet="ab 客,", max_size=6),
    st.text(alphabet='ab"', max_size=4),  # stray quotes inside unquoted fields
    st.text(alphabet='ab\n",', max_size=8).map(lambda t: '"' + t.replace('"', '""') + '"'),  # quoted, any content
    st.just('"never closed'),
    st.just(""),
)
LINE_END = st.sampled_from(["\n", "\r\n", "\r"])


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    records=st.lists(st.tuples(st.lists(FIELD, min_size=1, max_size=4), LINE_END), min_size=1, max_size=120),
    part_bytes=st.integers(min_value=8, max_value=400),
    batch_lines=st.integers(min_value=1, max_value=40),
    record_lines=st.sampled_from([3, sources.MAX_RECORD_LINES]),
)
def test_any_file_read_in_parts_reads_as_the_whole_file(
    tmp_path: Path, records: list[tuple[list[str], str]], part_bytes: int, batch_lines: int, record_lines: int
) -> None:
    """Any mix of quoted fields over several lines, stray and never-closed quotes, CR, LF and CR LF, with a quote
    never closed rejected after ``record_lines`` lines (the reader's limit, made small to be reached here)."""
    path = tmp_path / "any.csv"
    text = "a,b,c,d\n" + "".join(",".join(fields) + end for fields, end in records)
    path.write_text(text, encoding="utf-8", newline="")
    limit = sources.MAX_RECORD_LINES
    sources.MAX_RECORD_LINES = record_lines
    try:
        parts, _ = _in_parts(path, part_bytes, batch_lines)
        assert _sorted(parts) == _sorted(_whole(path, 1_000))  # the whole file in one batch
    finally:
        sources.MAX_RECORD_LINES = limit


@pytest.mark.parametrize(
    ("size", "codec", "header_lines", "parts"),
    [
        (1 << 30, "utf-8", (1, 1), True),
        (1 << 30, "gb18030", (1, 1), True),
        (1 << 30, "utf-16-le", (1, 1), False),  # CR and LF bytes occur inside other characters
        (1 << 30, "utf-8", (1, 2), False),  # a header of two lines
        (csv_chunks.PART_BYTES, "utf-8", (1, 1), False),  # too small to share
    ],
)
def test_which_files_are_read_in_parts(size: int, codec: str, header_lines: tuple[int, int], parts: bool) -> None:
    expected = max(1, min(os.cpu_count() or 1, csv_batches.MAX_WORKERS)) if parts else 1
    assert csv_batches.workers_for(size, codec, header_lines) == expected
