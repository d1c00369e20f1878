"""What a manager gets out of the reports (#16): the summary first, capped lists, silent customers only when the
data can tell, the "not for publication" mark, and words (labels, plurals, durations, escaping) in the report's
language."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
import yaml
from test_report_golden import NOW, WEEK, _at, _ticket_report, make_dataset

from butterfly.labels import LANGUAGES


def _weekly(session: Any, *, fmt: str = "md", lang: str = "en", **options: Any) -> str:
    from butterfly.labels import labels
    from butterfly.reports.rendering import render_report
    from butterfly.reports.weekly.build import build_weekly_report

    data = build_weekly_report(session=session, week=WEEK, lang=lang, now=NOW, **options)
    return render_report("weekly", data, fmt=fmt, labels=labels(lang), lang=lang, tz="UTC")


# -- the weekly summary -----------------------------------------------------------------------------------------


def test_weekly_report_opens_with_the_summary(session) -> None:  # type: ignore[no-untyped-def]
    make_dataset(session)
    md = _weekly(session)
    summary, _, details = md.partition("## 1. ")
    assert "## Summary" in summary and details  # the summary comes before the first detailed section
    assert "Review coverage: 40% (2 of 5 tickets closed this week), target 80%" in summary
    assert "Overdue process patches: 1" in summary
    # publicity without consent is the first finding named, and marked
    findings = next(line for line in summary.splitlines() if line.startswith("- Findings this week"))
    assert findings.index("Publicity planned without consent") < findings.index("Amends made before resolution")
    assert "Not for publication" in findings
    assert "| 1 | SMS verification code never arrives | 2 | 2 | rising |" in summary
    assert "Silent customers: 1" in summary
    assert "### Since last week (2026-W46)" in summary
    # the not-for-publication line is a blockquote of its own: the list after it is not swallowed by it
    assert "> **Not for publication**: csv:T-1\n\n- Review coverage" in summary


def test_top_caps_the_recurring_list_and_keeps_the_rest_in_an_appendix_and_the_json(session) -> None:  # type: ignore[no-untyped-def]
    make_dataset(session)
    md = _weekly(session, top=1)
    assert "### 1. SMS verification code never arrives" in md
    assert "### 2. " not in md
    appendix = md.split("## Appendix: the other recurring problems", 1)[1]
    assert "| 2 | 发票导出失败" in appendix
    report = json.loads(_weekly(session, fmt="json", top=1))
    assert len(report["recurring"]) == 2 and report["top"] == 1


def test_top_must_be_positive(cli, sqlite_url_fixture: str) -> None:  # type: ignore[no-untyped-def]
    result = cli("report", "weekly", "--week", WEEK, "--top", "0", "--db", sqlite_url_fixture)
    assert result.exit_code == 2


def test_ultimate_reviews_with_publicity_without_consent_are_marked(session) -> None:  # type: ignore[no-untyped-def]
    from sqlmodel import select

    from butterfly.store.models import Finding, Review, Ticket

    make_dataset(session)
    t2 = session.exec(select(Ticket).where(Ticket.external_id == "T-2")).one()
    review = session.exec(select(Review).where(Review.ticket_id == t2.id)).first()
    session.add(
        Finding(
            review_id=review.id, kind="publicity_without_consent", detail="case study", created_at=_at("2026-11-19")
        )
    )
    session.commit()
    html = _weekly(session, fmt="html")
    ultimate = html.split("Reviews that reached", 1)[1]
    item = next(line for line in ultimate.splitlines() if "csv:T-2" in line)
    assert 'data-mark="not-for-publication"' in item and "Not for publication" in item


# -- silent customers -----------------------------------------------------------------------------------------------


def _tickets(session: Any, customer: str, times: list[datetime]) -> None:
    from butterfly.store.models import Ticket

    for n, at in enumerate(times):
        session.add(
            Ticket(
                source="t",
                external_id=f"{customer}-{n}-{at.timestamp()}",
                customer=customer,
                subject="x",
                status="closed",
                created_at=at,
                closed_at=at + timedelta(hours=2),
                content_hash="x",
            )
        )
    session.commit()


def test_a_burst_at_the_edge_of_the_data_is_not_a_silent_customer(session) -> None:  # type: ignore[no-untyped-def]
    """The ServiceNow case: an export covering three days, a caller with 8 tickets on its last day, a report
    weeks later: no history, no verdict."""
    from butterfly.silent import check_silent

    start = datetime(2016, 2, 29, 9, tzinfo=UTC)
    _tickets(session, "Caller 533", [start + timedelta(days=2, minutes=i) for i in range(8)])
    _tickets(session, "Caller 7", [start + timedelta(hours=i) for i in range(20)])
    check, silent = check_silent(session=session, end=datetime(2016, 4, 11, tzinfo=UTC))
    assert silent == []
    assert check.status == "not_enough_history"
    assert check.data_from == start and check.data_to is not None and check.data_to.date().isoformat() == "2016-03-02"


def test_a_baseline_in_one_week_is_not_a_habit(session) -> None:  # type: ignore[no-untyped-def]
    from butterfly.silent import check_silent

    end = datetime(2026, 11, 23, tzinfo=UTC)
    weekly = [end - timedelta(days=3 + 7 * i) for i in range(16)]
    for name in ("A", "B", "C"):  # the population: steady, every week
        _tickets(session, name, weekly)
    _tickets(session, "Burst", [end - timedelta(weeks=10, minutes=i) for i in range(8)])  # 8 tickets, one day
    _tickets(session, "Habit", [end - timedelta(weeks=5 + i) for i in range(8)])  # 8 weeks, then quiet
    check, silent = check_silent(session=session, end=end)
    assert check.status == "checked"
    assert [s.customer for s in silent] == ["Habit"]


def test_everyone_dropping_together_is_no_verdict(session) -> None:  # type: ignore[no-untyped-def]
    from butterfly.silent import check_silent

    end = datetime(2026, 11, 23, tzinfo=UTC)
    baseline = [end - timedelta(weeks=4, days=3 + 7 * i) for i in range(12)]
    for name in ("A", "B", "C"):
        _tickets(session, name, [*baseline, end - timedelta(days=1)])
    check, silent = check_silent(session=session, end=end)
    assert (check.status, silent) == ("volume_dropped", [])


def test_sparklines_do_not_draw_weeks_before_the_data_begins() -> None:
    from butterfly.templating import svg

    assert svg.text_sparkline([0, 0, 0, 2, 4], skip=3) == "▅█"
    assert svg.trend_numbers([0, 0, 3], skip=2) == "– · – · 3"
    drawn = svg.sparkline([0, 0, 0, 2, 4], title="t", skip=3)
    points = re.search(r'points="([^"]+)"', drawn)
    assert points is not None and len(points.group(1).split()) == 2


def test_weekly_report_knows_when_its_trend_begins(session) -> None:  # type: ignore[no-untyped-def]
    from butterfly.reports.weekly.build import build_weekly_report

    make_dataset(session)  # the data begins on 2026-08-10, long before the 8 weeks of trend
    assert build_weekly_report(session=session, week=WEEK, now=NOW).trend_from == 0
    later = build_weekly_report(session=session, week=WEEK, now=NOW, weeks_back=20)
    assert later.trend_from == 5  # 2026-07-06 .. 2026-08-10: five weeks end before the first ticket


# -- the ticket report --------------------------------------------------------------------------------------------


def test_ticket_report_opens_with_summary_and_the_not_for_publication_banner(session) -> None:  # type: ignore[no-untyped-def]
    make_dataset(session)
    md = _ticket_report(session, "T-1")
    head = md.split("## Ticket facts", 1)[0]
    assert head.index("Not for publication") < head.index("## Summary")
    assert "Opened by Acme Retail on 2026-11-16, closed on 2026-11-17" in head
    assert "(li.na, 2026-11-20, **overdue**)" in head  # the action item with its owner
    assert "| wang.li | 62% |" in head
    html = _ticket_report(session, "T-1", fmt="html")
    assert 'data-banner="not-for-publication"' in html.split('id="facts"', 1)[0]
    assert "data-banner" not in _ticket_report(session, "T-3", fmt="html")


# -- words -----------------------------------------------------------------------------------------------------


def test_every_label_is_a_complete_string_in_every_language() -> None:
    raw = yaml.safe_load((resources.files("butterfly") / "data" / "report_labels.yaml").read_text(encoding="utf-8"))
    for key, texts in raw.items():
        # an unquoted ASCII comma inside a flow mapping cuts the text and leaves a stray key
        assert set(texts) == set(LANGUAGES), key
        for lang in LANGUAGES:
            assert isinstance(texts[lang], str) and texts[lang].strip(), (key, lang)
    assert raw["figure_help"]["zh-CN"].endswith("得分越高。")
    assert raw["demand_intro"]["zh-CN"].endswith("相似的归为一组。")


def test_chinese_labels_use_full_width_punctuation() -> None:
    raw = yaml.safe_load((resources.files("butterfly") / "data" / "report_labels.yaml").read_text(encoding="utf-8"))
    half = re.compile(r"[\u4e00-\u9fff][,;:()]|[,;:()][\u4e00-\u9fff]")
    bad = [(k, lang) for k, v in raw.items() for lang in ("zh-CN", "zh-TW") if half.search(v[lang])]
    assert bad == []


def test_label_loader_rejects_a_truncated_label(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from butterfly import labels
    from butterfly.errors import FileProblemsError

    broken = "x: {zh-CN: 左翼,右翼, zh-TW: 左翼, en: wing}\n"
    with pytest.raises(FileProblemsError):
        labels.check_labels(yaml.safe_load(broken), "report_labels.yaml")


def test_plurals_and_durations_in_the_reports_language() -> None:
    from butterfly.labels import labels
    from butterfly.templating.words import counted, duration

    assert counted(labels("en"), "n_tickets", 1, "en") == "1 ticket"
    assert counted(labels("en"), "n_tickets", 1200, "en") == "1,200 tickets"
    assert counted(labels("zh-CN"), "n_tickets", 1, "zh-CN") == "1 张工单"
    assert duration(3 * 3600, "en") == "3h 00m"
    assert duration(3 * 3600, "zh-CN") == "3小时0分钟"
    assert "h" not in duration(2 * 86400 + 3600, "zh-TW")


def test_consistency_contents_say_none_flagged_not_zero(session) -> None:  # type: ignore[no-untyped-def]
    make_dataset(session)
    html = _weekly(session, fmt="html")
    toc = html.split('<nav class="toc">', 1)[1].split("</nav>", 1)[0]
    assert "Consistency across groups (0)" not in toc
    assert "Consistency across groups (none flagged)" in toc or "flagged)" in toc


def test_chinese_ticket_report_has_no_english_status_or_durations(session) -> None:  # type: ignore[no-untyped-def]
    make_dataset(session)
    md = _ticket_report(session, "T-3", lang="zh-CN")
    assert "| closed |" not in md and "已关闭" in md
    assert not re.search(r"\d+h \d+m", md)


def test_markdown_leaves_no_bare_link_live() -> None:
    from butterfly.templating.markdown import md_block, md_inline

    for text in ("see http://evil/x.png", "go to www.evil.example now", "mail me: a@evil.example"):
        out = str(md_inline(text)) + str(md_block(text))
        assert "http://" not in out and "www.evil" not in out and "a@evil" not in out


def test_json_escapes_bidi_controls_like_esc() -> None:
    from butterfly.reports.rendering import json_text

    out = json_text({"subject": "invoice\u202egnp.exe\x1b[31m"})
    assert "\u202e" not in out and "\\u202e" in out and "\\u001b" in out
    assert json.loads(out)["subject"] == "invoice\u202egnp.exe\x1b[31m"


# -- the real ServiceNow log -------------------------------------------------------------------------------------


def test_real_week_10_is_short_and_gives_no_silent_verdict(cli, sqlite_url_fixture: str) -> None:  # type: ignore[no-untyped-def]
    from conftest import real_data

    log = real_data("incident_event_log.csv")
    assert cli("import", "--format", "servicenow", str(log), "--db", sqlite_url_fixture).exit_code == 0
    md = cli("report", "weekly", "--week", "2016-W10", "--db", sqlite_url_fixture).stdout
    assert len(md.encode()) < 30_000
    assert "No silent customers" not in md and "Not enough history for a verdict" in md
    w14 = json.loads(cli("report", "weekly", "--week", "2016-W14", "--db", sqlite_url_fixture, "-f", "json").stdout)
    assert w14["silent"] == [] and w14["silent_check"]["status"] != "checked"


def test_finding_details_in_the_reports_language(session) -> None:  # type: ignore[no-untyped-def]
    make_dataset(session)  # the reviews were written in English
    zh = _ticket_report(session, "T-1", lang="zh-CN")
    findings = zh.split("## 发现", 1)[1].split("## ", 1)[0]
    assert "计划宣传" in findings and "came before the resolution" not in findings
    weekly = _weekly(session, lang="zh-CN").split("## 6. 发现", 1)[1].split("## 7.", 1)[0]
    assert "发生在工单解决" in weekly and "The gesture" not in weekly
    assert not re.search(r"\d+h \d+m", weekly)


# -- figures ------------------------------------------------------------------------------------------------------


def test_butterfly_figure_fills_wedges_by_area() -> None:
    from butterfly.templating import svg

    figure = str(
        svg.butterfly_figure({"customer.short": 0.5}, side_labels={}, horizon_labels={}, title="t", not_rated="–")
    )
    cell = figure.split('data-cell="customer.short"', 1)[1].split("</g>", 1)[0]
    radii = [float(r) for r in re.findall(r"A([\d.]+) ", cell)]
    outer, inner = max(radii), min(radii)  # the wedge's outline: 150 and 16
    filled = sorted(set(radii))[1]  # the filled part's outer arc
    share = (filled**2 - inner**2) / (outer**2 - inner**2)
    assert abs(share - 0.5) < 0.02


def test_bar_chart_labels_keep_their_start() -> None:
    from butterfly.templating import svg

    label = "Customer, long term: turning a one-off buyer into a fan who tells others"
    chart = str(svg.bars([(label, 3.0), ("公司 · 长期：" + "很长的标签" * 10, 1.0)], title="weak"))
    shown = re.findall(r"</title>([^<]*)</text>", chart)
    assert shown[0].startswith("Customer, long term") and shown[0].endswith("…")
    assert shown[1].startswith("公司 · 长期")
    assert all(float(x) >= 0 for x in re.findall(r'<text x="([\d.-]+)"', chart))


def test_one_of_a_thing_is_singular(session) -> None:  # type: ignore[no-untyped-def]
    from butterfly.labels import labels
    from butterfly.templating.words import counted

    en = labels("en")
    assert counted(en, "experience_not_rated", 1, "en").startswith("1 completed review this week has")
    assert counted(en, "experience_not_rated", 2, "en").startswith("2 completed reviews this week have")
    assert counted(en, "consistency_flagged_count", 1, "en") == "1 group flagged"


@pytest.mark.parametrize("lang", ["zh-CN", "zh-TW"])
def test_chinese_action_lines_join_owner_due_date_and_overdue_with_the_enumeration_comma(session, lang: str) -> None:  # type: ignore[no-untyped-def]
    """Owner, due date and "overdue" are joined by 、 inside full-width brackets, never by an ASCII comma; and no
    bracket pair in a Chinese report mixes a half-width opening with a full-width closing one."""
    make_dataset(session)
    overdue = "已逾期"
    md_line = f"（li.na、2026-11-20、**{overdue}**）"
    assert md_line in _ticket_report(session, "T-1", lang=lang)
    assert md_line in _weekly(session, lang=lang)
    html = _ticket_report(session, "T-1", lang=lang, fmt="html")
    assert f'（li.na、2026-11-20、<span class="overdue">{overdue}</span>）' in html
    for text in (html, _weekly(session, lang=lang, fmt="html")):
        visible = re.sub(r"<style.*?</style>|<svg.*?</svg>|<[^>]+>", "", text, flags=re.S)
        assert not re.search(r"\([^()（）]*）|（[^()（）]*\)", visible), re.findall(r".{20}\([^()（）]*）", visible)
        assert "li.na, 2026" not in visible
    # the report's own words around names and times: full-width too (the group of tickets with no assignee)
    weekly = _weekly(session, lang=lang, fmt="html") + _weekly(session, lang=lang)
    none = "（无）" if lang == "zh-CN" else "（無）"
    assert none in weekly and none[1:-1].join("()") not in weekly
    assert re.search(r"(生成时间|產生時間)：", html) and not re.search(r"(生成时间|產生時間):", html)
