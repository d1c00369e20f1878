"""ServiceNow incident exports: an event log (one row per change of an incident) collapsed to each incident's
final state — the row with the highest ``sys_mod_count``, then the latest ``sys_updated_at``, then the last
in the file.

Columns: ``number`` -> id, ``caller_id`` -> customer, ``category``/``subcategory``, ``u_symptom`` -> tags,
``priority``, ``contact_type`` -> channel, ``assignment_group`` -> group, ``assigned_to`` -> assignee,
``problem_id``, ``opened_at`` -> created, ``resolved_at``, ``closed_at``, ``sys_updated_at`` -> updated,
``short_description`` -> subject and ``description`` when present, ``closed_code`` -> resolution,
``reopen_count``, ``reassignment_count`` and ``made_sla``. Day-first or month-first dates are decided per column
(:mod:`butterfly.importers.dateorder`). ``?`` means empty. Every column of the final
row is kept in ``raw``. Statuses: New, Active, In Progress -> open; Awaiting … and On Hold -> pending;
Resolved -> resolved; Closed, Canceled -> closed.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any

from butterfly.errors import InvalidInputError
from butterfly.importers.dateorder import DateOptions, DateRule, decide
from butterfly.importers.dates import parse_datetime, to_utc_text
from butterfly.importers.fields import bool_text, number_text
from butterfly.importers.native_values import Converted
from butterfly.importers.prepare import tags_json
from butterfly.importers.sources import CsvFile
from butterfly.importers.thread_store import Step

STATES = {
    "new": "open",
    "active": "open",
    "in progress": "open",
    "awaiting user info": "pending",
    "awaiting problem": "pending",
    "awaiting vendor": "pending",
    "awaiting evidence": "pending",
    "awaiting change": "pending",
    "on hold": "pending",
    "resolved": "resolved",
    "closed": "closed",
    "canceled": "closed",
    "cancelled": "closed",
}
COLUMNS = {
    "customer": "caller_id",
    "subject": "short_description",
    "description": "description",
    "category": "category",
    "subcategory": "subcategory",
    "priority": "priority",
    "channel": "contact_type",
    "group": "assignment_group",
    "assignee": "assigned_to",
    "problem_id": "problem_id",
    "resolution": "closed_code",
}
COUNTS = {"reopen_count": "reopen_count", "reassignment_count": "reassignment_count"}
DATES = {"created": "opened_at", "resolved": "resolved_at", "closed": "closed_at", "updated": "sys_updated_at"}


def _value(row: dict[str, str], column: str) -> str:
    value = row.get(column, "")
    return "" if value is None or value.strip() == "?" else value.strip()


def _order(row: dict[str, str], tz: tzinfo, position: int, order: str | None) -> tuple[int, datetime, int]:
    try:
        count = int(_value(row, "sys_mod_count") or -1)
    except ValueError:
        count = -1
    try:  # an ambiguous day/month (without --day-first …) leaves the order to sys_mod_count and the position
        updated = parse_datetime(_value(row, "sys_updated_at"), tz, order) or datetime.min.replace(tzinfo=tz)
    except ValueError:
        updated = datetime.min.replace(tzinfo=tz)
    return count, updated, position


def read(
    path: Path, codec: str, tz: tzinfo, dates: DateOptions | None = None, delimiter: str | None = None
) -> tuple[dict[str, DateRule], Iterator[Converted]]:
    """How each date column is read, and one converted record per incident (in order of first appearance;
    unreadable rows rejected by line). The file is read here; InvalidInputError for a date column whose order
    cannot be decided (see :mod:`butterfly.importers.dateorder`)."""
    dates = dates or DateOptions()
    history: History = {}
    best, events, broken = _collect(path, codec, tz, dates, delimiter, history)
    columns = {target: column for target, column in DATES.items()}
    finals = ({target: _value(row, column) for target, column in DATES.items()} for _k, row, _l in best.values())
    rules = decide(columns, finals, dates, file=str(path))

    def converted() -> Iterator[Converted]:
        yield from sorted(broken, key=lambda c: c.lines or (0, 0))
        for number, (_key, row, line) in best.items():
            item = _convert(number, row, line, events[number], tz, rules)
            item.timeline = timeline(history.pop(number, []), tz, rules["updated"])
            yield item

    return rules, converted()


History = dict[str, list[tuple[tuple[int, datetime, int], str, str, str, str]]]


def _collect(
    path: Path, codec: str, tz: tzinfo, dates: DateOptions, delimiter: str | None, history: History | None = None
) -> tuple[dict[str, tuple[tuple[int, datetime, int], dict[str, str], int]], dict[str, int], list[Converted]]:
    """Each incident's final row (and its line), how many rows it had, and the rows that cannot be read; with
    ``history``, each row's order key, update time (as written), state, group and assignee, per incident."""
    source = CsvFile(path, codec, delimiter=delimiter)
    header = source.header
    if "number" not in header:
        source.close()

        raise InvalidInputError(f"{path}: not a ServiceNow incident export (no 'number' column)")
    best: dict[str, tuple[tuple[int, datetime, int], dict[str, str], int]] = {}
    events: dict[str, int] = {}
    broken: list[Converted] = []
    position = 0
    try:
        for batch in source.batches():
            for first, last, reason in batch.broken:
                broken.append(Converted(label=f"line {first}", raw="", problem=reason, lines=(first, last)))
            for i, cells in enumerate(batch.rows):
                first, _last = batch.lines_of(i)
                position += 1
                if len(cells) != len(header):
                    broken.append(
                        Converted(
                            label=f"line {first}",
                            raw="",
                            problem=f"has {len(cells)} fields, the header has {len(header)}",
                            lines=(first, first),
                        )
                    )
                    continue
                row = dict(zip(header, cells, strict=True))
                number = _value(row, "number")
                if not number:
                    broken.append(
                        Converted(label=f"line {first}", raw="", problem="missing number", lines=(first, first))
                    )
                    continue
                events[number] = events.get(number, 0) + 1
                key = _order(row, tz, position, dates.order)
                if history is not None:
                    history.setdefault(number, []).append(
                        (
                            key,
                            _value(row, "sys_updated_at"),
                            _value(row, "incident_state"),
                            _value(row, "assignment_group"),
                            _value(row, "assigned_to"),
                        )
                    )
                if number not in best or key >= best[number][0]:
                    best[number] = (key, row, first)
    finally:
        source.close()
    return best, events, broken


def _convert(
    number: str, row: dict[str, str], line: int, count: int, tz: tzinfo, rules: dict[str, DateRule]
) -> Converted:
    raw = json.dumps(row, ensure_ascii=False)
    label = f"incident {number} (line {line})"
    state = _value(row, "incident_state").lower()
    status = STATES.get(state)
    if status is None:
        return Converted(
            label=label, raw=raw, problem=f"unknown incident_state '{state}'", lines=(line, line), events=count
        )
    values: dict[str, Any] = {"id": number, "status": status}
    for target, column in COLUMNS.items():
        values[target] = _value(row, column)
    symptom = _value(row, "u_symptom")
    values["tags"] = tags_json([symptom] if symptom else [])
    for target, column in COUNTS.items():
        values[target] = number_text(_value(row, column)) or ""
    values["made_sla"] = bool_text(_value(row, "made_sla")) or ""
    for target, column in DATES.items():
        try:
            dt = rules[target].parse(_value(row, column), tz)
        except ValueError as exc:
            return Converted(label=label, raw=raw, problem=f"{column}: {exc}", lines=(line, line), events=count)
        values[target] = "" if dt is None else to_utc_text(dt)
    return Converted(label=label, raw=raw, values=values, lines=(line, line), events=count)


def timeline(
    rows: list[tuple[tuple[int, datetime, int], str, str, str, str]], tz: tzinfo, rule: DateRule
) -> list[Step]:
    """An incident's state timeline from its event rows: in ``sys_mod_count`` order, one step each time the state,
    the assignment group or the assignee changed, at the row's ``sys_updated_at``; a step that moves the incident
    away from a group or person it had is a reassignment. A time that cannot be read stays empty."""
    steps: list[Step] = []
    for _key, updated, state, group, assignee in sorted(rows, key=lambda r: r[0]):
        previous = steps[-1] if steps else None
        if previous is not None and (previous.state, previous.group, previous.assignee) == (
            state or None,
            group or None,
            assignee or None,
        ):
            continue
        try:
            at = rule.parse(updated, tz)
        except ValueError:
            at = None
        reassigned = previous is not None and (
            (previous.group is not None and (group or None) != previous.group)
            or (previous.assignee is not None and (assignee or None) != previous.assignee)
        )
        steps.append(Step(len(steps) + 1, at, state or None, group or None, assignee or None, reassigned))
    return steps
