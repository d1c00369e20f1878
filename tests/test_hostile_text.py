"""Untrusted ticket and answer text: HTML/JS, Markdown injection, spreadsheet formulas and terminal escapes come
out inert in the terminal (tickets show/list, the review context panel, reviews show), in HTML and Markdown
reports, and in CSV exports — on SQLite and PostgreSQL, through the real commands from import to output.
"""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest

OSC8 = "\x1b]8;;http://evil.example\x07link\x1b]8;;\x07"
HOSTILE_TICKET = {
    "id": "EVIL-1",
    "customer": '=HYPERLINK("http://evil.example/x","click")',
    "subject": f"<script>alert(1)</script> {OSC8} [red]markup[/red] \u202eexe.pdf",
    "description": (
        "# Fake heading\n"
        "[click](javascript:alert(1)) ![t](http://evil.example/t.png) <img src=x onerror=alert(1)>\n"
        "\x1b[2J\x1b[31m red | a | b |\n"
        "```\n<iframe src=//evil.example></iframe>\n"
        "</details></table>-->"
    ),
    "category": "+cmd",
    "tags": "@SUM(1);-2+3",
    "status": "closed",
    "created": "2026-05-01T09:00:00+08:00",
    "resolved": "2026-05-01T12:00:00+08:00",
    "closed": "2026-05-02T12:00:00+08:00",
}
HOSTILE_ANSWERS = (
    'company.short.another_person: "<b>bold</b> =HYPERLINK(\\"http://evil\\") \\e[2J [x](javascript:alert(1))"\n'
    "customer.short.fast_accurate:\n"
    "  value: 2\n"
    '  note: "<script>alert(2)</script> \\e]8;;http://evil\\a"\n'
    '  action: {kind: follow_up, text: "=cmd|\' /C calc\'!A0", owner: "@evil"}\n'
)
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u202e]")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@pytest.fixture
def hostile_db(cli, db_url: str, tmp_path: Path) -> str:  # type: ignore[no-untyped-def]
    path = tmp_path / "evil.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(HOSTILE_TICKET))
        writer.writeheader()
        writer.writerow(HOSTILE_TICKET)
    result = cli("import", str(path), "--db", db_url)
    assert result.exit_code == 0, result.output
    answers = tmp_path / "answers.yaml"
    answers.write_text(HOSTILE_ANSWERS, encoding="utf-8")
    result = cli("review", "EVIL-1", "--answers", str(answers), "--reviewer", "lead", "--db", db_url)
    assert result.exit_code == 0, result.output
    return db_url


def _inert_terminal(text: str) -> None:
    assert not CONTROL.search(text), repr(CONTROL.search(text))
    assert "[red]markup[/red]" in text or "markup" not in text  # Rich markup in ticket text is shown, not applied


def test_terminal_output_is_inert(cli, hostile_db: str) -> None:  # type: ignore[no-untyped-def]
    for command in (
        ["tickets", "show", "EVIL-1"],
        ["tickets", "list"],
        ["reviews", "list"],
        ["reviews", "show", "EVIL-1", "--reviewer", "lead"],
        ["actions", "list"],
    ):
        result = cli(*command, "--db", hostile_db)
        assert result.exit_code == 0, (command, result.output)
        _inert_terminal(result.output)
    show = cli("tickets", "show", "EVIL-1", "--db", hostile_db).stdout
    assert "<script>alert(1)</script>" in show  # shown as text: the terminal does not run HTML
    assert "]8;;http://evil.example" in show  # the OSC 8 link lost its ESC/BEL: visible, not clickable


def test_review_context_panel_is_inert(cli, hostile_db: str) -> None:  # type: ignore[no-untyped-def]
    result = cli("review", "EVIL-1", "--reviewer", "other", "--interactive", "--db", hostile_db, input="q\n")
    assert result.exit_code in (0, 130), result.output
    assert "EVIL-1" in result.output
    _inert_terminal(result.output)


def test_html_report_is_inert(cli, hostile_db: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "r.html"
    result = cli("report", "ticket", "EVIL-1", "-o", str(out), "--db", hostile_db)
    assert result.exit_code == 0, result.output
    html = out.read_text(encoding="utf-8")
    assert "<script>alert" not in html and "<iframe" not in html and "<img src=x" not in html
    assert not re.search(r"<[^>]*\sonerror\s*=", html)
    assert not re.search(r"""href\s*=\s*["']?\s*javascript:""", html, re.I)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html  # shown as text
    assert not CONTROL.search(html)


def test_markdown_report_is_inert(cli, hostile_db: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "r.md"
    result = cli("report", "ticket", "EVIL-1", "-o", str(out), "--db", hostile_db)
    assert result.exit_code == 0, result.output
    md = out.read_text(encoding="utf-8")
    assert not re.search(r"(?<!\\)<(script|img|iframe|/details)", md)  # every < escaped for Markdown
    assert not re.search(r"(?<!\\)\[click(?<!\\)\]\(", md)  # no live link
    assert not re.search(r"(?<!\\)!(?<!\\)\[t(?<!\\)\]\(", md)  # no tracking image
    assert not any(line.lstrip().startswith("# Fake") for line in md.splitlines())  # no injected heading
    assert not CONTROL.search(md)


def test_weekly_report_is_inert(cli, hostile_db: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    for suffix in ("html", "md"):
        out = tmp_path / f"w.{suffix}"
        result = cli("report", "weekly", "--week", "2026-W18", "-o", str(out), "--db", hostile_db)
        assert result.exit_code == 0, result.output
        text = out.read_text(encoding="utf-8")
        assert "<script>alert" not in text
        assert not CONTROL.search(text)


def test_csv_exports_neutralise_formulas(cli, hostile_db: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    seen = []
    for what in ("reviews", "actions"):
        out = tmp_path / f"{what}.csv"
        result = cli("export", what, "-f", "csv", "-o", str(out), "--db", hostile_db)
        assert result.exit_code == 0, result.output
        rows = list(csv.reader(io.StringIO(out.read_text(encoding="utf-8-sig"))))
        assert len(rows) > 1
        for row in rows:
            for cell in row:
                assert not cell.startswith(FORMULA_START), f"{what}: live formula {cell!r}"
                seen.append(cell)
    assert '\'=HYPERLINK("http://evil.example/x","click")' in seen  # kept, but as text
    assert "'=cmd|' /C calc'!A0" in seen
    assert "'@evil" in seen


def test_json_exports_keep_the_text_exactly(cli, hostile_db: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """JSON is data, not a spreadsheet: values stay as entered (no quote added), escaped by the JSON encoder."""
    out = tmp_path / "actions.jsonl"
    result = cli("export", "actions", "-f", "jsonl", "-o", str(out), "--db", hostile_db)
    assert result.exit_code == 0, result.output
    record = json.loads(out.read_text(encoding="utf-8").splitlines()[0])
    assert record["text"] == "=cmd|' /C calc'!A0"
