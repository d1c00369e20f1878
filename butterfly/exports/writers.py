"""Writing exported records as JSON Lines, one JSON array or CSV, one record at a time."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Sequence
from typing import IO, Any, TextIO

from butterfly.checklist.export import neutralise_formula
from butterfly.exports.records import check_format
from butterfly.sanitise import json_dumps


def csv_cell(value: Any) -> str:
    """A value as one CSV cell: yes/no for booleans, ``;``-joined lists, formulas neutralised."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, list):
        return neutralise_formula(";".join("" if v is None else str(v) for v in value))
    if isinstance(value, dict):
        return neutralise_formula(json.dumps(value, ensure_ascii=False, sort_keys=True))
    return neutralise_formula(str(value))


def write_records(
    records: Iterable[dict[str, Any]],
    stream: TextIO | IO[str],
    *,
    fmt: str,
    fields: Sequence[str],
    answer_columns: tuple[list[str], set[str]] | None = None,
) -> int:
    """Write records one at a time; returns how many. ``answer_columns`` turns per-review CSV wide."""
    check_format(fmt)
    n = 0
    if fmt == "jsonl":
        for record in records:
            stream.write(json_dumps(record) + "\n")
            n += 1
    elif fmt == "json":
        stream.write("[")
        for record in records:
            stream.write(("," if n else "") + "\n" + json_dumps(record))
            n += 1
        stream.write("\n]\n" if n else "]\n")
    else:
        writer = csv.writer(stream, lineterminator="\r\n")
        header = list(fields)
        questions, noted = answer_columns or ([], set())
        for qid in questions:
            header.append(qid)
            if qid in noted:
                header.append(f"{qid} note")
        writer.writerow(header)
        for record in records:
            row = [csv_cell(record.get(name)) for name in fields]
            if answer_columns is not None:
                answers = record.get("answers", {})
                for qid in questions:
                    a = answers.get(qid)
                    row.append("" if a is None else ("N/A" if a["na"] else csv_cell(a["value"])))
                    if qid in noted:
                        row.append("" if a is None else csv_cell(a["note"]))
            writer.writerow(row)
            n += 1
    stream.flush()
    return n
