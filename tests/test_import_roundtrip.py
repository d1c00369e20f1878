"""Hypothesis: random tickets survive CSV export → import → export unchanged (the generic format is lossless)."""

from __future__ import annotations

import io
import itertools
from datetime import UTC, datetime
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from butterfly.importers.export import COLUMNS, csv_writer, format_tags, format_time
from butterfly.importers.prepare import split_tags

# any text a spreadsheet cell can hold: no NUL (csv refuses it), no lone surrogates (not encodable)
cell = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=25)
ticket_id = st.text(
    st.characters(blacklist_categories=("Cs", "Zs", "Cc", "Zl", "Zp"), blacklist_characters="\x00"),
    min_size=1,
    max_size=12,
)
tag = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), min_size=1, max_size=10)
moment = st.one_of(
    st.none(),
    st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2099, 12, 31)).map(lambda d: d.replace(tzinfo=UTC)),
)
row = st.fixed_dictionaries(
    {
        "customer": cell,
        "subject": cell,
        "description": cell,
        "category": cell,
        "tags": st.lists(tag, max_size=4),
        "status": st.sampled_from(["open", "pending", "resolved", "closed"]),
        "created": moment,
        "first_response": moment,
        "resolved": moment,
        "closed": moment,
        "assignee": cell,
        "group": cell,
        "channel": cell,
    }
)
counter = itertools.count()


def _csv(rows: list[list[str]]) -> str:
    buffer = io.StringIO()
    writer = csv_writer(buffer)
    writer.writerow(COLUMNS)
    writer.writerows(rows)
    return buffer.getvalue()


def _cells(ticket_ref: str, data: dict[str, object]) -> list[str]:
    out = []
    for column in COLUMNS:
        if column == "id":
            out.append(ticket_ref)
        elif column == "tags":
            out.append(format_tags(data["tags"]))  # type: ignore[arg-type]
        elif column in ("created", "first_response", "resolved", "closed"):
            out.append(format_time(data[column]))  # type: ignore[arg-type]
        else:
            out.append(str(data[column]))
    return out


def test_tags_written_by_export_read_back_the_same() -> None:
    @given(st.lists(tag, max_size=5))
    def check(tags: list[str]) -> None:
        assert split_tags(format_tags(tags)) == tags

    check()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(ticket_id, row), min_size=1, max_size=6, unique_by=lambda r: r[0]))
def test_export_import_export_is_stable(
    tmp_path: Path, sqlite_url_fixture: str, tickets: list[tuple[str, dict[str, object]]]
) -> None:
    from butterfly.importers import export_tickets_csv, import_files
    from butterfly.store.db import open_session

    source = f"h{next(counter)}"
    original = tmp_path / f"{source}.csv"
    original.write_text(_csv([_cells(ref, data) for ref, data in tickets]), encoding="utf-8", newline="")
    with open_session(sqlite_url_fixture) as session:
        summary = import_files(session=session, paths=[original], source=source, format="csv", encoding="utf-8")
        assert summary.rejected == 0, summary.problems
        first = tmp_path / f"{source}-1.csv"
        export_tickets_csv(session=session, path=first, source=source)
        again = import_files(session=session, paths=[first], source=source, format="csv", encoding="utf-8")
        assert again.total("unchanged") + again.total("updated") == len(tickets)
        second = tmp_path / f"{source}-2.csv"
        export_tickets_csv(session=session, path=second, source=source)
    exported = first.read_text(encoding="utf-8")
    assert second.read_text(encoding="utf-8") == exported
    # and the export holds exactly what went in
    assert exported == original.read_text(encoding="utf-8")
