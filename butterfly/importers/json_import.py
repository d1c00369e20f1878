"""Importing one JSON or JSON Lines file (generic records mapped like CSV columns) or a native helpdesk export
(Zendesk, Freshdesk, Jira, GitHub JSON; the ServiceNow CSV event log)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import chain, islice
from pathlib import Path
from typing import Any

from butterfly.errors import InvalidInputError
from butterfly.importers import native, servicenow, threads
from butterfly.importers.bulk import TicketWriter
from butterfly.importers.dateorder import DateRule, decide
from butterfly.importers.encoding import Encoding
from butterfly.importers.fields import FIELDS
from butterfly.importers.jsonstream import SAMPLE
from butterfly.importers.mapping import Mapping, resolve
from butterfly.importers.native_trackers import github_repository
from butterfly.importers.native_values import Converted
from butterfly.importers.prepare import HASH_VERSION, RecordProblem, TabularPreparer, content_hash
from butterfly.importers.runlog import FileImport, ImportOptions
from butterfly.importers.sources import jsonl_lines
from butterfly.importers.writeloop import WriteLoop
from butterfly.yamlload import json_loads


def flatten(record: Any, prefix: str = "", out: dict[str, Any] | None = None) -> dict[str, Any]:
    """``{"a": {"b": 1}}`` -> ``{"a.b": 1}`` (lists stay values)."""
    out = {} if out is None else out
    if isinstance(record, dict):
        for key, value in record.items():
            name = f"{prefix}{key}"
            if isinstance(value, dict) and value:
                flatten(value, name + ".", out)
            else:
                out[name] = value
    return out


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, list) and all(isinstance(v, str | int | float) for v in value):
        return json.dumps([str(v) for v in value], ensure_ascii=False)
    return json.dumps(value, ensure_ascii=False)


def import_generic_json(job: FileImport) -> None:
    """JSON arrays and JSON Lines of flat or nested records, mapped like CSV columns (dotted paths)."""
    path, enc, doc, fmt, options, summary = job.path, job.enc, job.doc, job.fmt, job.options, job.summary
    job.rejects.start_source(path, codec=enc.codec, label=enc.label, header_lines=None)
    items: Iterable[tuple[str, int | None, Any]]
    if fmt == "json":
        items = ((f"record {i}", None, r) for i, r in enumerate(doc.records(), start=1))
        sample = [flatten(r) for r in doc.sample[:SAMPLE] if isinstance(r, dict)]
    else:

        def parse_lines() -> Iterator[tuple[str, int | None, Any]]:
            for number, text in jsonl_lines(path, enc.codec):
                try:
                    yield f"line {number}", number, json_loads(text, unique_keys=False)
                except json.JSONDecodeError as exc:
                    yield f"line {number}", number, _BadLine(f"not valid JSON: {exc.msg}")
                except ValueError as exc:  # a number of thousands of digits
                    yield f"line {number}", number, _BadLine(str(exc))

        stream = parse_lines()
        head = list(islice(stream, 1000))  # the header is learnt from the first records; the rest streams
        items = chain(head, stream)
        sample = [flatten(r) for _, _, r in head if isinstance(r, dict)]
    header: list[str] = []
    seen: set[str] = set()
    for flat in sample:
        for key in flat:
            if key not in seen:
                seen.add(key)
                header.append(key)
    if not header:
        raise InvalidInputError(f"{path}: no records with fields found")
    mapping = resolve(options.spec, header, file=str(path))
    _check_paths(path, mapping, header, sample)
    rules = _json_dates(path, enc, fmt, doc, mapping, sample, options)
    summary.mapping = mapping.rows()
    summary.dates = mapping.dates = {f: r.describe() for f, r in rules.items()}
    if options.on_mapping is not None:
        options.on_mapping(str(path), mapping, enc)
    job.run_options["mapping"] = mapping.columns
    if summary.dates:
        job.run_options["dates"] = summary.dates
    preparer = TabularPreparer(
        mapping=mapping,
        header=header,
        source=summary.source,
        tz=options.tz,
        hash_salt=options.tz_name,
        date_rules=rules,
    )
    loop = WriteLoop(job, preparer.fields)
    id_at = 1 + preparer.fields.index("id")
    for label, line, record in items:
        summary.rows_read += 1
        try:
            if isinstance(record, _BadLine):
                raise RecordProblem(record.reason)
            if not isinstance(record, dict):
                raise RecordProblem("not a JSON object")
            flat = flatten(record)
            row = [_cell(flat.get(h)) for h in header]
            values = list(preparer.prepare_one(row))
            values[-2] = json.dumps(record, ensure_ascii=False)  # raw: the whole record
        except RecordProblem as exc:
            if line is not None:
                job.reject(str(exc), lines=(line, line))
            else:
                job.reject(str(exc), label=label, raw=json.dumps(record, ensure_ascii=False))
            continue
        thread = threads.generic(record)
        summary.over_cap(str(values[id_at]), threads.over_cap(record, thread))
        loop.add(tuple(values), values[id_at], thread=thread)
    loop.finish()


def _check_paths(path: Path, mapping: Mapping, header: list[str], sample: list[dict[str, Any]]) -> None:
    """Every mapped column is a field of the records: a dotted path into a list, or one no record of the first
    thousand has, is an error naming the mapping and the field (not a column of empty values)."""
    for target, column in mapping.columns.items():
        if column in header:
            continue
        parts = column.split(".")
        through = next(
            (
                ".".join(parts[:i])
                for i in range(1, len(parts))
                if any(isinstance(flat.get(".".join(parts[:i])), list) for flat in sample)
            ),
            None,
        )
        if through is not None:
            raise InvalidInputError(
                f"{path}: --map {target}={column}: '{through}' is a list in the records; a ticket field takes one "
                "value, not a path inside a list",
                hint=f"map {target} to a field outside the list, or keep it in raw (it is stored there whole)",
            )
        raise InvalidInputError(
            f"{path}: --map {target}={column}: no record of the first {len(sample):,} has the field '{column}'",
            hint="fields: " + ", ".join(header[:40]) + (" …" if len(header) > 40 else ""),
        )


def _json_dates(
    path: Path,
    enc: Encoding,
    fmt: str,
    doc: Any,
    mapping: Mapping,
    sample: list[dict[str, Any]],
    options: ImportOptions,
) -> dict[str, DateRule]:
    """How each date field is read, from the first records (and the rest while a field is still ambiguous)."""
    from butterfly.importers.fields import DATE_FIELDS

    columns = {f: c for f, c in mapping.columns.items() if f in DATE_FIELDS}
    if not columns:
        return {}

    def values(flat: dict[str, Any]) -> dict[str, str]:
        return {f: _cell(flat.get(c)) for f, c in columns.items()}

    def rest() -> Iterator[dict[str, str]]:
        if fmt == "json":
            others: Iterable[Any] = islice(doc.records(), len(sample), None)
        else:
            others = (_loads_or_none(text) for _n, text in islice(jsonl_lines(path, enc.codec), len(sample), None))
        for record in others:
            if isinstance(record, dict):
                yield values(flatten(record))

    return decide(columns, map(values, sample), options.dates, more=rest(), file=str(path))


def _loads_or_none(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return None


@dataclass
class _BadLine:
    reason: str


def import_native(job: FileImport) -> None:
    """Zendesk, Freshdesk, Jira, GitHub (JSON) and ServiceNow (CSV event log): fixed mappings."""
    path, enc, fmt, options, summary = job.path, job.enc, job.fmt, job.options, job.summary
    records: Iterator[Converted]
    if fmt == "servicenow":
        rules, records = servicenow.read(path, enc.codec, options.tz, options.dates, options.delimiter)
        summary.dates = {f: r.describe() for f, r in rules.items() if r.kind != "auto"}
        if summary.dates:
            job.run_options["dates"] = summary.dates
        job.rejects.start_source(path, codec=enc.codec, label=enc.label, header_lines=(1, 1))
    else:
        doc = job.doc
        records = native.convert(fmt, doc.side(), options.tz, doc.records() if doc.streamed else None)
        job.rejects.start_source(path, codec=enc.codec, label=enc.label, header_lines=None)
    loop = WriteLoop(job, FIELDS)
    if fmt == "github" and loop.lookup is not None:
        writer = loop.writer

        def rekey(ids: list[str]) -> None:
            summary.rekeyed += _rekey_github(writer, ids)

        loop.on_batch = rekey
    # n2: the named fields (requester, project, …) and GitHub's owner/name#number ids are new: a re-import fills them
    prefix = f"{HASH_VERSION}n2\x1f{summary.source}\x1f{fmt}\x1f{options.tz_name}\x1e"
    deleted: list[str] = []
    extract = threads.EXTRACTORS.get(fmt)
    for item in records:
        summary.rows_read += item.events
        if item.events > 1:  # an event log (ServiceNow): the earlier rows of the incident are its history
            summary.skip("earlier event of the same incident (event log)", item.events - 1)
        if item.skip:
            summary.skip(item.skip_reason or "skipped")
            if item.skip_reason == native.DELETED and item.values:
                deleted.append(item.values["id"])
            continue
        if item.problem is not None or item.values is None:
            job.reject(item.problem or "cannot be read", lines=item.lines, label=item.label, raw=item.raw)
            continue
        values = item.values
        row = [summary.source, *(values.get(f, "") or "" for f in FIELDS), item.raw]
        row.append(content_hash(prefix, [item.raw]))
        thread = extract(item.record) if extract is not None and isinstance(item.record, dict) else None
        if thread is not None:
            summary.over_cap(values["id"], threads.over_cap(item.record, thread))
        loop.add(tuple(row), values["id"], thread=thread, timeline=item.timeline)
    loop.flush()
    if deleted:
        summary.marked_deleted = loop.writer.mark_deleted(deleted)
    loop.finish()


def _rekey_github(writer: TicketWriter, ids: list[str]) -> int:
    """Give GitHub tickets stored by an earlier release under their bare number (``128``) their ``owner/name#128``
    key, when their stored record names the same repository; reviews stay with them (they point at the row)."""
    wanted = {i.rpartition("#")[2]: i for i in ids if "#" in i}
    if not wanted:
        return 0
    marks = ", ".join("?" * len(wanted))
    found = writer.db.execute(
        f"SELECT id, external_id, raw FROM ticket WHERE source = ? AND external_id IN ({marks})",
        (writer.source, *wanted),
    ).fetchall()
    moved = 0
    for row_id, number, raw in found:
        record = json.loads(raw) if isinstance(raw, str) else raw
        new_id = wanted[number]
        if isinstance(record, dict) and f"{github_repository(record)}#{number}" == new_id:
            taken = writer.db.execute(
                "SELECT 1 FROM ticket WHERE source = ? AND external_id = ?", (writer.source, new_id)
            ).fetchone()
            if taken is None:
                writer.db.execute("UPDATE ticket SET external_id = ? WHERE id = ?", (new_id, row_id))
                moved += 1
    return moved
