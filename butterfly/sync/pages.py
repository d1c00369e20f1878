"""What a sync source yields: one page of an API's listing, as the document its file export would hold."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

# Jira and ServiceNow compare dates in the API user's time zone, which the API does not tell: a saved high-water
# mark is moved back this far before it is used again. Tickets read twice are found unchanged by the import.
OVERLAP = timedelta(hours=26)


@dataclass
class Page:
    """One page: ``doc`` in the import ``format``'s shape, and the ``state`` to save once it is committed."""

    account: str
    format: str
    doc: Any
    records: int
    state: dict[str, Any]
    suffix: str = ".json"
    timezone: str | None = None  # the zone of naive times in ``doc`` (ServiceNow's values are UTC)
    ids: list[str] = field(default_factory=list)
    items: list[dict[str, Any]] = field(default_factory=list)  # the API's records, when ``doc`` is not them (CSV)


def parse_time(text: Any) -> datetime | None:
    """An API's timestamp (ISO 8601 with ``Z``/offset, Jira's ``+0000``, ServiceNow's ``YYYY-MM-DD HH:MM:SS`` UTC)."""
    if not isinstance(text, str) or not text.strip():
        return None
    value = text.strip().replace("Z", "+00:00")
    if len(value) > 5 and value[-5] in "+-" and value[-4:].isdigit():  # +0000
        value = value[:-2] + ":" + value[-2:]
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def latest(values: list[Any], previous: str | None) -> str | None:
    """The latest of the timestamps ``values`` and ``previous`` (ISO 8601, UTC), or ``previous``."""
    times = [t for t in (parse_time(v) for v in values) if t is not None]
    if previous:
        before = parse_time(previous)
        if before is not None:
            times.append(before)
    return max(times).isoformat() if times else previous


def iso_z(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
