"""Which export column fills which ticket field: guessed from the header, or given by the user.

``--map field=column`` (repeatable) and ``--map mapping.yaml`` / ``.toml`` / ``.json``. A mapping file::

    columns:            # ticket field: column in the export (a dotted path for JSON: requester.name)
      id: Ticket ID
      customer: Company
      created: Created at
    statuses:           # export status value: open | pending | resolved | closed
      Waiting on customer: pending
    timezone: Asia/Shanghai   # optional: zone of times without one
    encoding: gbk             # optional
    date_order: day-first     # optional: day-first | month-first, for dates like 3/4/2016
    date_format: "%d/%m/%Y %H:%M"   # optional: one format for every date column, or field: format entries

A file that holds only ``field: column`` pairs (no ``columns:``) works too.
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from butterfly.errors import FileProblemsError, InvalidInputError, Problem
from butterfly.files import read_input_text
from butterfly.importers.dateorder import DateOptions, check_format, order_from_word
from butterfly.importers.fields import (
    DATE_FIELDS,
    FIELDS,
    STATUSES,
    alias_rank,
    canonical_field,
    normalize_header,
)
from butterfly.yamlload import json_loads, load_yaml

MAPPING_SUFFIXES = (".yaml", ".yml", ".toml", ".json")
SETTINGS_KEYS = ("statuses", "timezone", "encoding", "date_order", "date_format")


@dataclass
class MappingSpec:
    """What the user said (from ``--map`` options and mapping files), before looking at a file's header."""

    columns: dict[str, str] = field(default_factory=dict)
    statuses: dict[str, str] = field(default_factory=dict)
    timezone: str | None = None
    encoding: str | None = None
    dates: DateOptions = field(default_factory=DateOptions)

    @property
    def empty(self) -> bool:
        return not (self.columns or self.statuses)


@dataclass
class Mapping:
    """The mapping used for one file: field -> column, and which of those were guessed."""

    columns: dict[str, str]
    guessed: set[str]
    statuses: dict[str, str]
    unmapped: list[str]
    dates: dict[str, str] = field(default_factory=dict)  # date field -> how its column is read (for showing)
    id_from_row: bool = False  # ids made from each record's line and content (--id-from-row)

    @property
    def status_note(self) -> str | None:
        """How statuses are set when no column gives them (shown with the mapping)."""
        if "status" in self.columns:
            return None
        if any(f in self.columns for f in ("closed", "resolved")):
            return "no status column: closed if a close time is given, else resolved if a resolve time, else open"
        return "no status column and no close or resolve time: every ticket is imported as open"

    def rows(self) -> list[tuple[str, str, bool]]:
        """(field, column, guessed) in field order, for showing the user."""
        return [(f, self.columns[f], f in self.guessed) for f in FIELDS if f in self.columns]

    def fingerprint(self) -> str:
        data = json.dumps([sorted(self.columns.items()), sorted(self.statuses.items())], ensure_ascii=False)
        return hashlib.blake2b(data.encode(), digest_size=8).hexdigest()


def parse_options(values: list[str] | None) -> MappingSpec:
    """Read ``--map`` values: ``field=column`` pairs and mapping files, later ones winning."""
    spec = MappingSpec()
    for value in values or []:
        name, eq, column = value.partition("=")
        is_file = Path(value).suffix.lower() in MAPPING_SUFFIXES
        if eq and (canonical_field(name) is not None or not is_file):
            target = canonical_field(name)
            if target is None:
                raise InvalidInputError(
                    f"--map {value}: unknown ticket field '{name.strip()}'", hint="fields: " + ", ".join(FIELDS)
                )
            if not column.strip():
                raise InvalidInputError(f"--map {value}: no column after '='")
            spec.columns[target] = column.strip()
        elif is_file:
            _merge(spec, load_file(Path(value)))
        else:
            raise InvalidInputError(
                f"--map {value}: expected FIELD=COLUMN or a mapping file (.yaml, .toml, .json)",
                hint="e.g. --map id='Ticket ID' or --map mapping.yaml",
            )
    return spec


def _merge(spec: MappingSpec, other: MappingSpec) -> None:
    spec.columns.update(other.columns)
    spec.statuses.update(other.statuses)
    spec.timezone = other.timezone or spec.timezone
    spec.encoding = other.encoding or spec.encoding
    if not other.dates.empty:
        spec.dates = other.dates


def load_file(path: Path) -> MappingSpec:
    """A mapping file; FileProblemsError naming each wrong entry."""
    name = str(path)
    text = read_input_text(path, encoding="utf-8-sig")
    try:
        data = _parse(path, text)
    except ValueError as exc:
        raise FileProblemsError(name, [Problem(name, str(exc))]) from None
    if not isinstance(data, dict):
        raise FileProblemsError(name, [Problem(name, "expected a table of field: column entries")])
    problems: list[Problem] = []
    spec = MappingSpec()
    columns = data.get("columns", None)
    if columns is None:
        columns = {k: v for k, v in data.items() if k not in SETTINGS_KEYS}
    if not isinstance(columns, dict):
        problems.append(Problem(name, "expected field: column entries", field="columns"))
        columns = {}
    for key, column in columns.items():
        target = canonical_field(str(key))
        if target is None:
            problems.append(Problem(name, "unknown ticket field (fields: " + ", ".join(FIELDS) + ")", field=str(key)))
        elif not isinstance(column, str | int) or not str(column).strip():
            problems.append(Problem(name, "expected the name of a column", field=str(key)))
        else:
            spec.columns[target] = str(column).strip()
    statuses = data.get("statuses") or {}
    if not isinstance(statuses, dict):
        problems.append(Problem(name, "expected value: status entries", field="statuses"))
        statuses = {}
    for raw, status in statuses.items():
        if str(status).strip().lower() not in STATUSES:
            problems.append(Problem(name, f"'{status}' is not one of {', '.join(STATUSES)}", field=f"statuses.{raw}"))
        else:
            spec.statuses[str(raw).strip().lower()] = str(status).strip().lower()
    for key in ("timezone", "encoding"):
        value = data.get(key)
        if value is not None and not isinstance(value, str):
            problems.append(Problem(name, "expected text", field=key))
    spec.timezone = str(data["timezone"]) if data.get("timezone") else None
    spec.encoding = str(data["encoding"]) if data.get("encoding") else None
    spec.dates = _date_options(data, name, problems)
    if problems:
        raise FileProblemsError(name, problems)
    return spec


def _date_options(data: dict[str, Any], name: str, problems: list[Problem]) -> DateOptions:
    dates = DateOptions(source=f"date_format in {name}")
    order = data.get("date_order")
    if order is not None:
        dates.order = order_from_word(str(order))
        if dates.order is None:
            problems.append(Problem(name, f"'{order}' is not day-first or month-first", field="date_order"))
    fmt = data.get("date_format")
    formats = fmt if isinstance(fmt, dict) else {"": fmt} if fmt is not None else {}
    for key, value in formats.items():
        target = canonical_field(str(key)) if key else ""
        where = f"date_format.{key}" if key else "date_format"
        if key and target not in DATE_FIELDS:
            problems.append(Problem(name, "not a date field (" + ", ".join(sorted(DATE_FIELDS)) + ")", field=where))
            continue
        try:
            checked = check_format(str(value))
        except InvalidInputError as exc:
            problems.append(Problem(name, exc.message.split(": ", 1)[-1], field=where))
            continue
        if target:
            dates.formats[str(target)] = checked
        else:
            dates.fmt = checked
    return dates


def _parse(path: Path, text: str) -> Any:
    try:
        return _parse_any(path, text)
    except RecursionError:  # json, tomllib and PyYAML parse recursively: thousands of nested [ or {
        raise ValueError("nested too deeply to be a mapping file") from None


def _parse_any(path: Path, text: str) -> Any:
    suffix = path.suffix.lower()
    if suffix == ".toml":
        try:
            return tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ValueError(f"not valid TOML: {exc}") from None
    if suffix == ".json":
        try:
            return json_loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"line {exc.lineno}: not valid JSON: {exc.msg}") from None

    return load_yaml(text, filename=str(path))[0]


def resolve(spec: MappingSpec, headers: list[str], *, file: str, auto: bool = True) -> Mapping:
    """The mapping for a file with ``headers``: the user's columns, then guesses for the rest."""
    columns: dict[str, str] = {}
    used: set[str] = set()
    by_norm: dict[str, str] = {}
    for h in headers:
        by_norm.setdefault(normalize_header(h), h)
    for target, column in spec.columns.items():
        actual = column if column in headers else by_norm.get(normalize_header(column))
        if actual is None and "." in column:
            actual = column  # a dotted JSON path, checked against the records by the reader
        if actual is None:
            raise InvalidInputError(
                f"{file}: no column '{column}' (for {target}) in the header",
                hint="columns: " + ", ".join(headers[:40]) + (" …" if len(headers) > 40 else ""),
            )
        columns[target] = actual
        used.add(actual)
    guessed: set[str] = set()
    if auto:
        # each field takes the header that names it most exactly ("category" before "ticket_type"), then the
        # earliest; a header fills one field
        candidates = sorted(
            (rank, position, target, h)
            for position, h in enumerate(headers)
            for target, rank in alias_rank(h)
            if target not in columns and h not in used
        )
        for _rank, _position, target, h in candidates:
            if target not in columns and h not in used:
                columns[target] = h
                guessed.add(target)
                used.add(h)
    if "id" not in columns:
        raise InvalidInputError(
            f"{file}: no column for the ticket id",
            hint="name it with --map id=COLUMN; columns: " + ", ".join(headers[:40]),
        )
    unmapped = [h for h in headers if h not in used]
    return Mapping(columns=columns, guessed=guessed, statuses=dict(spec.statuses), unmapped=unmapped)
