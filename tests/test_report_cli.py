"""``butterfly report ticket|weekly``: output to stdout or a private file, formats, team templates, hostile ticket
text, errors; the silent-customer rule; grouping Chinese text; the weekly report on the real ServiceNow log."""

from __future__ import annotations

import json
import os
import re
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from test_report_golden import WEEK, make_dataset

XSS = "<script>alert(1)</script>"


@pytest.fixture
def db(db_url: str) -> str:
    from butterfly.store.db import open_session

    with open_session(db_url) as session:
        make_dataset(session)
        from butterfly.tickets import get_ticket

        t = get_ticket(session=session, ref="T-2")
        t.subject = XSS + " [click](javascript:alert(2)) *bold* | pipe"
        t.description = "# not a heading\n<img src=x onerror=alert(3)>"
        session.add(t)
        session.commit()
    return db_url


def test_ticket_report_markdown_to_stdout(cli, db: str) -> None:  # type: ignore[no-untyped-def]
    result = cli("report", "ticket", "T-1", "--db", db)
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert out.startswith("# Butterfly retrospective · csv:T-1 · SMS verification code never arrives\n")
    assert "| Cell | wang.li | chen.mei |" in out
    assert "Amends made before resolution" in out


def test_hostile_subject_is_inert_in_markdown_and_html(cli, db: str) -> None:  # type: ignore[no-untyped-def]
    md = cli("report", "ticket", "T-2", "--db", db, "--format", "md").stdout
    assert not re.search(r"(?<!\\)<(script|img)", md)  # every < escaped for Markdown
    assert "\\<script>alert(1)\\</script>" in md
    assert "\\[click\\](javascript:alert(2))" in md  # no link
    assert "\\*bold\\*" in md and "\\| pipe" in md  # no emphasis, no broken table
    assert "\\# not a heading" in md
    html = cli("report", "ticket", "T-2", "--db", db, "--format", "html").stdout
    assert "<script" not in html.lower() and "<img" not in html.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    weekly_md = cli("report", "weekly", "--week", WEEK, "--db", db).stdout
    assert not re.search(r"(?<!\\)<script", weekly_md) and "\\<script>" in weekly_md
    weekly_html = cli("report", "weekly", "--week", WEEK, "--db", db, "--format", "html").stdout
    assert "<script" not in weekly_html.lower() and "&lt;script&gt;" in weekly_html


def test_output_file_is_private_and_replaced_atomically(cli, db: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "reports"
    folder.mkdir()
    target = folder / "T-1.html"
    target.write_text("old report", encoding="utf-8")
    os.chmod(target, 0o644)
    result = cli("report", "ticket", "T-1", "--db", db, "-o", str(target))
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert f"wrote {target}" in result.stderr
    text = target.read_text(encoding="utf-8")
    assert text.startswith("<!doctype html>")  # format from the file name
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert sorted(p.name for p in folder.iterdir()) == ["T-1.html"]  # no temporary file left behind
    data = cli("report", "weekly", "--week", WEEK, "--db", db, "-o", str(tmp_path / "w.json")).exit_code
    assert data == 0
    weekly = json.loads((tmp_path / "w.json").read_text(encoding="utf-8"))
    assert weekly["week"] == WEEK and weekly["kind"] == "weekly"


def test_output_into_missing_folder_fails_cleanly(cli, db: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    result = cli("report", "ticket", "T-1", "--db", db, "-o", str(tmp_path / "nope" / "r.md"))
    assert result.exit_code == 2
    assert "does not exist" in result.stderr


def test_reviewer_filter_and_unknown_reviewer(cli, db: str) -> None:  # type: ignore[no-untyped-def]
    one = cli("report", "ticket", "T-1", "--db", db, "--reviewer", "chen.mei", "--format", "json")
    assert one.exit_code == 0, one.output
    assert [r["reviewer"] for r in json.loads(one.stdout)["reviews"]] == ["chen.mei"]
    missing = cli("report", "ticket", "T-1", "--db", db, "--reviewer", "nobody")
    assert missing.exit_code == 2
    assert "no review of csv:T-1 by nobody" in missing.stderr
    assert "wang.li" in missing.stderr


def test_unknown_ticket_and_bad_week_exit_2(cli, db: str) -> None:  # type: ignore[no-untyped-def]
    result = cli("report", "ticket", "T-404", "--db", db)
    assert result.exit_code == 2 and "no ticket 'T-404'" in result.stderr
    result = cli("report", "weekly", "--week", "2026-47", "--db", db)
    assert result.exit_code == 2 and result.stderr.startswith("Error: --week: '2026-47' is not an ISO week")
    result = cli("report", "weekly", "--week", "2025-W53", "--db", db)
    assert result.exit_code == 2 and result.stderr.startswith("Error: --week: week 53 of 2025 does not exist")


def test_report_in_traditional_chinese(cli, db: str) -> None:  # type: ignore[no-untyped-def]
    out = cli("report", "weekly", "--week", WEEK, "--db", db, "--lang", "zh-TW").stdout
    assert out.startswith("# 每週重複問題報告 · 2026-W47")
    assert "## 2. 沉默的客戶" in out


def test_team_template_overrides_one_block(cli, db: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "team"
    folder.mkdir()
    (folder / "ticket.md").write_text(
        '{% extends "default:ticket.md" %}\n{% block similar %}## Our own section for {{ report.ticket.ref }}\n'
        "{% endblock %}\n",
        encoding="utf-8",
    )
    (folder / "base.html").write_text(
        '{% extends "default:base.html" %}{% block style_extra %}body { background: #fffbe6; }{% endblock %}',
        encoding="utf-8",
    )
    md = cli("report", "ticket", "T-1", "--db", db, "--templates", str(folder)).stdout
    assert "## Our own section for csv:T\\-1" not in md  # escaped once only
    assert "## Our own section for csv:T-1" in md
    assert "Similar tickets at other customers" not in md
    assert "## Findings" in md  # the rest is the built-in template
    html = cli("report", "ticket", "T-1", "--db", db, "--templates", str(folder), "--format", "html").stdout
    assert "#fffbe6" in html and "Similar tickets at other customers" in html


def test_broken_team_template_names_file_and_line(cli, db: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "team"
    folder.mkdir()
    (folder / "weekly.md").write_text("# fine\n{% block recurring %}\n{% if %}\n", encoding="utf-8")
    result = cli("report", "weekly", "--week", WEEK, "--db", db, "--templates", str(folder))
    assert result.exit_code == 2
    assert "weekly.md:3" in result.stderr
    missing = cli("report", "weekly", "--db", db, "--templates", str(tmp_path / "absent"))
    assert missing.exit_code == 2 and "does not exist" in missing.stderr


# -- the silent-customer rule ---------------------------------------------------------------------------------


def _add_tickets(session: Any, customer: str, days_ago: list[int], end: datetime) -> None:
    from butterfly.store.models import Ticket

    for n, days in enumerate(days_ago):
        at = end - timedelta(days=days)
        session.add(
            Ticket(
                source="t",
                external_id=f"{customer}-{n}",
                customer=customer,
                subject="x",
                created_at=at,
                closed_at=at + timedelta(hours=2),
                content_hash="x",
            )
        )
    session.commit()


def test_silent_customer_rule_on_a_constructed_case(session) -> None:  # type: ignore[no-untyped-def]
    from butterfly.silent import SilentRule, is_silent, silent_customers

    end = datetime(2026, 11, 23, tzinfo=UTC)
    baseline = [30 + 7 * i for i in range(12)]  # one ticket a week in the 12 weeks before the last 4
    _add_tickets(session, "Gone Quiet", baseline, end)  # nothing in the last 4 weeks
    _add_tickets(session, "Slowing", [*baseline, 3], end)  # 1 in 4 weeks: 0.25/week vs 1/week -> -75 %
    _add_tickets(session, "Steady", [*baseline, 3, 10, 17, 24], end)
    _add_tickets(session, "New", [1, 2, 3], end)  # no baseline: never silent
    _add_tickets(session, "Rare", [40, 80], end)  # too little baseline to judge
    _add_tickets(session, "Too Old", [7 * 17], end)  # outside both windows
    found = silent_customers(session=session, end=end)
    assert [(s.customer, s.recent, s.baseline) for s in found] == [("Gone Quiet", 0, 12), ("Slowing", 1, 12)]
    assert found[0].drop == 1.0 and found[1].drop == 0.75
    assert found[0].baseline_per_week == 1.0 and found[1].recent_per_week == 0.25
    rule = SilentRule()
    assert is_silent(0, 6, rule) and not is_silent(0, 5, rule) and not is_silent(2, 12, rule)


# -- grouping ---------------------------------------------------------------------------------------------------


def test_grouping_joins_simplified_and_traditional_and_splits_a_category_by_text() -> None:
    from butterfly.reports.recurring import GroupInput, group_labels, groups_of

    items = [
        GroupInput("打印机无法连接网络", "门店的小票打印机今天早上开始连不上网络"),
        GroupInput("打印机无法连接到网络!"),
        GroupInput("發票匯出失敗,提示範本不存在"),
        GroupInput("发票导出失败,提示模板不存在"),
        GroupInput("发票导出失败:提示“模板不存在”", None, "billing"),
        GroupInput("SMS code never arrives", None, "login", None, ["sms"]),
        GroupInput("Login page is slow", None, "login", None, ["SMS"]),
        GroupInput("完全不同的问题:退款没有到账"),
    ]
    groups = sorted(groups_of(group_labels(items)))
    # 發票匯出失敗 (zh-TW) is 发票导出失败 (zh-CN); one category (login) holds two problems
    assert groups == [[0, 1], [2, 3, 4], [5], [6], [7]]
    assert sorted(groups_of(group_labels(items, method="hybrid"))) == [[0, 1], [2], [3, 4], [5, 6], [7]]
    baseline = sorted(groups_of(group_labels(items, method="subject")))
    assert baseline == [[0], [1], [2], [3], [4], [5], [6], [7]]


# -- the real ServiceNow log --------------------------------------------------------------------------------------


def test_weekly_report_on_real_servicenow_data_finds_problems_at_several_callers(
    cli, sqlite_url_fixture: str, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    from conftest import real_data

    log = real_data("incident_event_log.csv")
    imported = cli("import", "--format", "servicenow", str(log), "--db", sqlite_url_fixture)
    assert imported.exit_code == 0, imported.output
    result = cli("report", "weekly", "--week", "2016-W10", "--db", sqlite_url_fixture, "--format", "json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["closed_tickets"] > 300
    groups = report["recurring"]
    assert len(groups) >= 10
    assert all(g["customer_count"] >= 2 for g in groups)
    assert max(g["customer_count"] for g in groups) >= 5
    assert all(c.startswith("Caller ") for g in groups for c in g["customers"])
    top = groups[0]
    assert top["trend"][-1] == top["ticket_count"] and len(top["trend"]) == 8
    assert top["first_seen"] <= report["end"]
    # one problem per category › subcategory, its symptoms as variants; every member listed
    assert len({g["category"] for g in groups}) == len(groups)
    assert any(len(g["variants"]) >= 2 for g in groups)
    for g in groups:
        assert len(g["members"]) == len(set(g["members"])) == g["ticket_count"]
        if g["variants"]:
            assert sorted(m for v in g["variants"] for m in v["members"]) == sorted(g["members"])
    md = cli("report", "weekly", "--week", "2016-W10", "--db", sqlite_url_fixture).stdout
    assert f"### 1. {top['label']}" in md.replace("\\", "")
    shown = next(g for g in groups if len(g["variants"]) >= 2)
    section = md.replace("\\", "").split(f"{shown['label']}\n", 1)[1].split("###")[0]
    first = shown["variants"][0]
    assert f"- Variants: {first['label']} ({first['ticket_count']})" in section
