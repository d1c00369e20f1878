"""Hostile and broken export files for every importer: never a traceback, a clear error or a reject.

Random bytes, truncated and mutated samples, wrong encodings, NUL bytes, a 10 MB description, deeply nested JSON
and formula cells, through ``butterfly import`` on SQLite (Hypothesis breadth) and on both backends (the nastiest
cases). After every run the database passes ``db check`` and a rejected run leaves nothing half-written.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import stat
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "import"
EXAMPLE_CSV = ROOT / "examples" / "tickets.csv"


def _csv_rows() -> list[dict[str, str]]:
    with EXAMPLE_CSV.open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def samples() -> dict[str, bytes]:
    """One small valid export per format (the shipped examples and the importer's fixtures)."""
    rows = _csv_rows()[:12]
    out = {
        "csv": EXAMPLE_CSV.read_bytes(),
        "jsonl": "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode("utf-8"),
        "json": json.dumps(rows, ensure_ascii=False).encode("utf-8"),
        "zendesk": (ROOT / "examples" / "zendesk_tickets.json").read_bytes(),
    }
    for fmt, name in (
        ("freshdesk", "freshdesk_tickets.json"),
        ("jira", "jira_search.json"),
        ("github", "github_issues.json"),
    ):
        if (FIXTURES / name).exists():
            out[fmt] = (FIXTURES / name).read_bytes()
    real = ROOT.parent / "shared" / "data" / "real" / "incident_event_log.csv"
    if real.exists():
        with real.open("rb") as fh:
            out["servicenow"] = b"".join(fh.readline() for _ in range(40))
    return out


SAMPLES = samples()
SUFFIX = {"csv": ".csv", "servicenow": ".csv", "jsonl": ".jsonl"}


def _import(cli, url: str, fmt: str, data: bytes, tmp_path: Path, name: str = "export") -> Any:  # type: ignore[no-untyped-def]
    path = tmp_path / f"{name}{SUFFIX.get(fmt, '.json')}"
    path.write_bytes(data)
    result = cli("import", str(path), "--format", fmt, "--source", f"fz-{fmt}", "--db", url, "--json")
    output = result.output
    assert "Traceback" not in output
    assert result.exit_code in (0, 1, 2), output
    if result.exit_code == 2:
        assert re.search(r"^Error: ", result.stderr, re.M), result.stderr[-500:]
        assert len(result.stderr) < 50_000  # names the problem; does not echo megabytes back
    if result.exit_code == 1:
        rejects = next(tmp_path.glob(f"{name}*.rejects*"), None)
        assert rejects is not None, output
        assert stat.S_IMODE(os.stat(rejects).st_mode) == 0o600
    return result


def _db_ok(cli, url: str) -> None:  # type: ignore[no-untyped-def]
    check = cli("db", "check", "--db", url, "--json")
    assert check.exit_code == 0, check.stdout
    report = json.loads(check.stdout)
    assert not [c for c in report["checks"] if c["name"] == "import runs"], "an import run was left 'running'"


FUZZ = settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture
def sqlite_db(sqlite_url_fixture: str) -> str:
    return sqlite_url_fixture


@pytest.mark.parametrize("fmt", list(SAMPLES))
@FUZZ
@given(data=st.binary(max_size=1500))
def test_random_bytes(cli, sqlite_db: str, tmp_path: Path, fmt: str, data: bytes) -> None:  # type: ignore[no-untyped-def]
    _import(cli, sqlite_db, fmt, data, tmp_path)


@pytest.mark.parametrize("fmt", list(SAMPLES))
@FUZZ
@given(frac=st.floats(min_value=0, max_value=1))
def test_truncated_samples(cli, sqlite_db: str, tmp_path: Path, fmt: str, frac: float) -> None:  # type: ignore[no-untyped-def]
    data = SAMPLES[fmt]
    _import(cli, sqlite_db, fmt, data[: int(len(data) * frac)], tmp_path)


@pytest.mark.parametrize("fmt", list(SAMPLES))
@FUZZ
@given(
    edits=st.lists(
        st.tuples(
            st.floats(min_value=0, max_value=1),
            st.integers(min_value=0, max_value=20),
            st.sampled_from(
                ['"', ",", "\n", "{", "}", "[", "]", ":", "\x00", "\r", "\ufeff", "null", "1e999", "-", "\\"]
            ),
        ),
        min_size=1,
        max_size=5,
    )
)
def test_mutated_samples(cli, sqlite_db: str, tmp_path: Path, fmt: str, edits: list[tuple[float, int, str]]) -> None:  # type: ignore[no-untyped-def]
    text = SAMPLES[fmt].decode("utf-8", errors="replace")
    for at, drop, insert in edits:
        i = int(len(text) * at)
        text = text[:i] + insert + text[i + drop :]
    _import(cli, sqlite_db, fmt, text.encode("utf-8"), tmp_path)


# -- the nastiest cases, on SQLite and PostgreSQL --------------------------------------------------------------


def _huge_description(fmt: str) -> bytes:
    big = "重复的问题。" * (10 * 1024 * 1024 // 18 + 1)  # > 10 MB of UTF-8
    rows = _csv_rows()[:3]
    rows[1]["description"] = big
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
        return buf.getvalue().encode("utf-8")
    if fmt == "jsonl":
        return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode("utf-8")
    return json.dumps(rows, ensure_ascii=False).encode("utf-8")


def _nested(depth: int) -> bytes:
    return ('[{"id": "N-1", "subject": "deep", "x": ' + "[" * depth + "]" * depth + "}]").encode()


def _formula_csv() -> bytes:
    rows = _csv_rows()[:2]
    rows[0]["subject"] = '=HYPERLINK("http://evil.example","click")'
    rows[0]["customer"] = "+1-555-CALL"
    rows[1]["description"] = "@SUM(A1:A9)"
    rows[1]["category"] = "=cmd|' /C calc'!A0"
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue().encode("utf-8")


NASTY: dict[str, tuple[str, bytes]] = {
    "csv-10MB-description": ("csv", _huge_description("csv")),
    "jsonl-10MB-description": ("jsonl", _huge_description("jsonl")),
    "json-deeply-nested": ("json", _nested(100_000)),
    "json-nested-1000": ("json", _nested(1000)),
    "zendesk-deeply-nested": ("zendesk", b'{"tickets": ' + _nested(50_000) + b"}"),
    "csv-nul-bytes": ("csv", EXAMPLE_CSV.read_bytes().replace(b"Acme", b"Ac\x00me")),
    "jsonl-nul-escape": ("jsonl", b'{"id": "NUL-1", "subject": "a\\u0000b", "status": "closed"}\n'),
    "csv-utf16": ("csv", EXAMPLE_CSV.read_text(encoding="utf-8").encode("utf-16")),
    "csv-gb18030": ("csv", EXAMPLE_CSV.read_text(encoding="utf-8").encode("gb18030")),
    "csv-formulas": ("csv", _formula_csv()),
    "json-not-tickets": ("json", b'{"a": 1}'),
    "zendesk-wrong-shape": ("zendesk", b'{"tickets": "nope"}'),
    "csv-one-huge-line": ("csv", b"id,subject\n" + b"x" * (5 * 1024 * 1024) + b"\n"),
    "csv-lone-surrogates": ("csv", b"id,subject,status\nS-1,\xed\xa0\x80 bad,closed\n"),
}


@pytest.mark.slow
@pytest.mark.parametrize("case", list(NASTY))
def test_nasty_files(cli, db_url: str, tmp_path: Path, case: str) -> None:  # type: ignore[no-untyped-def]
    fmt, data = NASTY[case]
    from butterfly.store.db import open_session, table_counts

    result = _import(cli, db_url, fmt, data, tmp_path)
    _db_ok(cli, db_url)
    with open_session(db_url) as session:
        counts = table_counts(session)
    if result.exit_code == 2:
        assert counts["ticket"] == 0  # an input error imports nothing
    if case == "csv-formulas":
        assert result.exit_code == 0, result.output
        shown = cli("tickets", "list", "--db", db_url, "--json")
        subjects = [t["subject"] for t in json.loads(shown.stdout)] if shown.exit_code == 0 else []
        assert '=HYPERLINK("http://evil.example","click")' in subjects  # stored as text, exported neutralised
    if case.endswith("10MB-description"):
        assert result.exit_code in (0, 1), result.output[-500:]  # imported or rejected with a reason
    # importing the same file again changes nothing and still works
    again = _import(cli, db_url, fmt, data, tmp_path)
    assert again.exit_code == result.exit_code


@pytest.mark.parametrize(
    ("suffix", "text"),
    [
        (".yaml", "a: " + "[" * 5000 + "]" * 5000),
        (".json", '{"a": ' + "[" * 100_000 + "]" * 100_000 + "}"),
        (".toml", "a = " + "[" * 100_000 + "]" * 100_000),
    ],
)
def test_deeply_nested_mapping_files(cli, sqlite_db: str, tmp_path: Path, suffix: str, text: str) -> None:  # type: ignore[no-untyped-def]
    mapping = tmp_path / f"mapping{suffix}"
    mapping.write_text(text, encoding="utf-8")
    result = cli("import", str(EXAMPLE_CSV), "--map", str(mapping), "--db", sqlite_db)
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert "nested too deeply" in result.stderr
