"""The ticket fields an import fills, the names users give them, and how statuses map onto butterfly's four.

The header and status names live in ``butterfly/data/import_aliases.yaml``.

A *field* is what ``--map field=column`` names (``id``, ``customer``, ``created`` …); each is stored in one
column of the ``ticket`` table.
"""

from __future__ import annotations

import re
from importlib import resources
from typing import Any

import yaml

from butterfly.errors import FileProblemsError, Problem

# user-facing field name -> ticket column (order = the order of values in a prepared row)
FIELD_COLUMNS: dict[str, str] = {
    "id": "external_id",
    "customer": "customer",
    "organization": "organization",
    "subject": "subject",
    "description": "description",
    "category": "category",
    "subcategory": "subcategory",
    "tags": "tags",
    "status": "status",
    "priority": "priority",
    "channel": "channel",
    "group": "group_name",
    "assignee": "assignee",
    "problem_id": "problem_id",
    "created": "created_at",
    "first_response": "first_response_at",
    "resolved": "resolved_at",
    "closed": "closed_at",
    "updated": "updated_at",
}
FIELDS: tuple[str, ...] = tuple(FIELD_COLUMNS)
DATE_FIELDS: frozenset[str] = frozenset({"created", "first_response", "resolved", "closed", "updated"})
REQUIRED_FIELDS: tuple[str, ...] = ("id",)

# other names accepted for a field in --map and mapping files (the ticket column names and a few synonyms)
FIELD_SYNONYMS: dict[str, str] = {
    **{column: field for field, column in FIELD_COLUMNS.items()},
    "external_id": "id",
    "group_name": "group",
    "problem": "problem_id",
    "first_response_at": "first_response",
}


def _load_aliases() -> dict[str, Any]:
    """``butterfly/data/import_aliases.yaml``, checked against the fields and statuses it names."""
    source = resources.files("butterfly") / "data" / "import_aliases.yaml"
    data = yaml.safe_load(source.read_text(encoding="utf-8"))
    problems: list[Problem] = []
    if (
        not isinstance(data, dict)
        or not isinstance(data.get("headers"), dict)
        or not isinstance(data.get("statuses"), dict)
    ):
        raise FileProblemsError(str(source), [Problem(str(source), "must map headers and statuses to lists of names")])
    for section, known in (("headers", FIELD_COLUMNS), ("statuses", STATUSES)):
        for key, names in data[section].items():
            if key not in known:
                problems.append(Problem(str(source), f"unknown {section[:-1]} '{key}'", field=f"{section}.{key}"))
            elif not isinstance(names, list) or not all(isinstance(n, str) for n in names):
                problems.append(Problem(str(source), "must be a list of quoted names", field=f"{section}.{key}"))
    if problems:
        raise FileProblemsError(str(source), problems)
    return data


STATUSES: tuple[str, ...] = ("open", "pending", "resolved", "closed")
_ALIASES = _load_aliases()

# header names recognised by the auto-mapping, compared after normalize_header(); English and Chinese
HEADER_ALIASES: dict[str, tuple[str, ...]] = {field: tuple(names) for field, names in _ALIASES["headers"].items()}


def normalize_header(name: str) -> str:
    """A header name for comparison: lower case, no spaces, underscores, dashes, dots or brackets."""
    return re.sub(r"[\s_\-./()（）\[\]:：#]+", "", name.strip().lstrip("\ufeff")).lower()


_ALIAS_TO_FIELD: dict[str, str] = {normalize_header(a): f for f, names in HEADER_ALIASES.items() for a in names}


def field_for_header(name: str) -> str | None:
    """The ticket field a column header most likely holds, or ``None``."""
    return _ALIAS_TO_FIELD.get(normalize_header(name))


def canonical_field(name: str) -> str | None:
    """The field a user means by ``name`` in ``--map`` or a mapping file (``None`` if unknown)."""
    key = name.strip().lower().replace("-", "_")
    if key in FIELD_COLUMNS:
        return key
    return FIELD_SYNONYMS.get(key)


# -- statuses -------------------------------------------------------------------------------------------------

# generic CSV/JSON: lower-cased, stripped value -> butterfly status
STATUS_ALIASES: dict[str, str] = {
    **{s: s for s in STATUSES},
    **{alias: status for status, aliases in _ALIASES["statuses"].items() for alias in aliases},
}
