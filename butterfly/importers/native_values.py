"""What the native converters (:mod:`butterfly.importers.native`, :mod:`butterfly.importers.native_trackers`)
share: the converted record, the problem one record has, the records of an export, and reading text and dates."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import tzinfo
from typing import Any

from butterfly.importers.dates import parse_datetime, to_utc_text


@dataclass
class Converted:
    """One source record, converted (``values``), rejected (``problem``) or deliberately ``skip``-ped."""

    label: str
    raw: str
    values: dict[str, str] | None = None
    problem: str | None = None
    skip: bool = False
    skip_reason: str = ""
    lines: tuple[int, int] | None = None
    events: int = 1  # source rows this ticket was built from
    record: Any = None  # the source record (JSON exports): its thread is read from it
    timeline: Any = None  # the state timeline (ServiceNow's event log): a list of thread_store.Step


class Problem(Exception):
    pass


def text_of(value: Any) -> str:
    if value is None:
        return ""
    return str(value).strip() if not isinstance(value, str) else value


def date_of(value: Any, tz: tzinfo, name: str) -> str:
    if value is None or value == "":
        return ""
    try:
        if isinstance(value, int | float) and not isinstance(value, bool):
            dt = parse_datetime(str(int(value)), tz)
        else:
            dt = parse_datetime(str(value), tz)
    except ValueError as exc:
        raise Problem(f"{name}: {exc}") from None
    return "" if dt is None else to_utc_text(dt)


def index_by_id(items: Any) -> dict[Any, dict[str, Any]]:
    if not isinstance(items, list):
        return {}
    return {i.get("id"): i for i in items if isinstance(i, dict) and "id" in i}


def records_of(doc: Any, *keys: str) -> list[Any]:
    """The records of an export: a list, a list under one of ``keys`` (``tickets``, Freshdesk search's
    ``results``, GitHub search's ``items``), Zendesk's single ``{"ticket": …}``, or one record on its own."""
    if isinstance(doc, list):
        return doc
    if isinstance(doc, dict):
        for key in keys:
            if isinstance(doc.get(key), list):
                return list(doc[key])
        if isinstance(doc.get("ticket"), dict):
            return [doc["ticket"]]
    return [doc]


def each(records: Iterable[Any], tz: tzinfo, one: Any, noun: str) -> Iterator[Converted]:
    for i, record in enumerate(records, start=1):
        raw = json.dumps(record, ensure_ascii=False)
        label = f"{noun} {i}"
        if not isinstance(record, dict):
            yield Converted(label=label, raw=raw, problem="not a JSON object")
            continue
        try:
            values = one(record, tz)
        except Problem as exc:
            yield Converted(label=label, raw=raw, problem=str(exc))
            continue
        if values is None or "_skip" in values:
            reason = values["_skip"] if values else "skipped"
            yield Converted(label=label, raw=raw, skip=True, skip_reason=reason, values=values)
            continue
        yield Converted(label=label, raw=raw, values=values, record=record)


def require_id(value: Any, name: str) -> str:
    text = text_of(value).strip()
    if not text:
        raise Problem(f"missing {name}")
    return text
