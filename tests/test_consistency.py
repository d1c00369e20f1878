"""Consistency across teams: spread of resolution times, review scores and experience levels per group."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from butterfly.errors import InvalidInputError
from tests.conftest import real_data

END = datetime(2024, 6, 1, tzinfo=UTC)
SN_END = datetime(2016, 4, 25, tzinfo=UTC)  # 8 weeks after the ServiceNow sample's incidents were opened


# -- data -----------------------------------------------------------------------------------------------------


def import_servicenow(cli, db_url: str) -> None:  # type: ignore[no-untyped-def]
    """The real ServiceNow event log, imported as a user would: ``butterfly import --format servicenow``
    (each incident's final state; assignment group -> group, contact type -> channel, assigned_to -> assignee)."""
    path = real_data("incident_event_log.csv")
    result = cli("import", str(path), "--format", "servicenow", "--db", db_url)
    assert result.exit_code == 0, result.stderr


def _ticket(session, n: int, group: str, hours: float, *, channel: str = "email"):  # type: ignore[no-untyped-def]
    from butterfly.store.models import Ticket

    resolved = END - timedelta(days=1 + n % 20)
    ticket = Ticket(
        source="demo",
        external_id=f"C-{n:04d}",
        group_name=group,
        channel=channel,
        assignee=f"{group}-agent{n % 2}",
        created_at=resolved - timedelta(hours=hours),
        resolved_at=resolved,
        content_hash=f"{n:064d}",
    )
    session.add(ticket)
    session.flush()
    return ticket


def _review(session, ticket, rating: int, level: str | None) -> None:  # type: ignore[no-untyped-def]
    from butterfly.checklist.model import AnswerKind, load_builtin
    from butterfly.store.models import Answer, Review

    review = Review(
        ticket_id=ticket.id,
        reviewer="lead",
        checklist_id="butterfly",
        checklist_version="1.0",
        language="en",
        status="complete",
        experience_level=level,
        completed_at=ticket.resolved_at + timedelta(hours=2),
    )
    session.add(review)
    session.flush()
    for q in load_builtin("butterfly", "en").questions:
        if q.kind is AnswerKind.rating:
            session.add(Answer(review_id=review.id, question_id=q.id, value=rating, answered_by="lead"))


def _constructed(session) -> None:  # type: ignore[no-untyped-def]
    """Five groups of 12 tickets; "Slow" takes ten times longer; "Tiny" (2 tickets) takes longest of all.

    Reviews: 6 per normal group (ratings 2 = fully, level baseline), 6 for "Careless" (ratings 0, level devil),
    and 3 for "Tiny" (ratings 0, level devil: too few to judge).
    """
    n = 0
    normal_hours = {"Alpha": 4.0, "Beta": 5.0, "Gamma": 6.0, "Delta": 4.5, "Careless": 5.5}
    for group, base in {**normal_hours, "Slow": 50.0}.items():
        for i in range(12):
            n += 1
            ticket = _ticket(session, n, group, base + (i % 3) * 0.5)
            if i < 6:
                careless = group == "Careless"
                _review(session, ticket, 0 if careless else 2, "devil" if careless else "baseline")
    for _ in range(2):
        n += 1
        ticket = _ticket(session, n, "Tiny", 900.0)
        _review(session, ticket, 0, "devil")
    n += 1
    _review(session, _ticket(session, n, "Tiny", 900.0), 0, "devil")
    # outside the window: resolved long before, would make Alpha look slow if it were counted
    for _ in range(20):
        n += 1
        old = _ticket(session, n, "Alpha", 500.0)
        old.resolved_at = END - timedelta(weeks=30)
        old.created_at = old.resolved_at - timedelta(hours=500)
    session.commit()


# -- a constructed case ---------------------------------------------------------------------------------------


def test_a_clearly_slower_group_is_flagged_and_a_tiny_one_is_not(session) -> None:  # type: ignore[no-untyped-def]
    from butterfly.reports.consistency import consistency
    from butterfly.reports.consistency_stats import Measure

    _constructed(session)
    report = consistency(session=session, by="group", weeks=8, end=END)
    by_name = {g.name: g for g in report.groups}

    assert by_name["Alpha"].tickets == 12  # the 20 old tickets are outside the window
    assert by_name["Tiny"].tickets == 3
    slow = by_name["Slow"]
    assert [(f.measure, f.direction) for f in slow.flags] == [(Measure.resolution_time, "slower")]
    assert slow.flags[0].compared_with == 5
    assert slow.flags[0].z >= 3
    assert by_name["Tiny"].flags == []  # 3 tickets, 3 reviews: counted, never judged
    assert not report.is_judged(by_name["Tiny"], Measure.resolution_time)
    careless = by_name["Careless"]
    assert {(f.measure, f.direction) for f in careless.flags} == {
        (Measure.cell_score, "lower"),
        (Measure.experience, "lower"),
    }
    assert careless.mean_score == 0.0
    for name in ("Alpha", "Beta", "Gamma", "Delta"):
        assert by_name[name].flags == [], name
    assert {g.name for g in report.flagged} == {"Slow", "Careless"}
    assert [g.name for g in report.too_small] == ["Tiny"]
    spread = report.spreads[Measure.resolution_time]
    assert spread.groups == 6
    assert spread.ratio is not None and spread.ratio > 9


def test_thresholds_can_be_raised_so_nothing_is_judged(session) -> None:  # type: ignore[no-untyped-def]
    from butterfly.reports.consistency import consistency

    _constructed(session)
    report = consistency(session=session, by="group", weeks=8, end=END, min_tickets=13, min_reviews=7)
    assert report.flagged == []
    assert report.judged == []
    assert sum(g.tickets for g in report.groups) == report.overall.tickets == 75


def test_bad_options_are_clear_errors(session) -> None:  # type: ignore[no-untyped-def]
    from butterfly.reports.consistency import consistency

    with pytest.raises(InvalidInputError, match="unknown grouping 'team'"):
        consistency(session=session, by="team")
    with pytest.raises(InvalidInputError, match="at least 1"):
        consistency(session=session, weeks=0)


def test_robust_z_needs_three_others_and_some_spread() -> None:
    from butterfly.reports.consistency_stats import robust_z

    assert robust_z(10.0, [1.0, 2.0]) is None
    assert robust_z(10.0, [1.0, 1.0, 1.0]) is None
    assert robust_z(10.0, [1.0, 1.0, 1.0], floor=1.0) == 9.0
    z = robust_z(10.0, [1.0, 2.0, 3.0])
    assert z is not None and z > 3


# -- the real ServiceNow data ---------------------------------------------------------------------------------


def test_real_servicenow_data_groups_by_assignment_group_with_counts(cli, db_url: str) -> None:  # type: ignore[no-untyped-def]
    from butterfly.reports.consistency import consistency
    from butterfly.reports.consistency_stats import MIN_TICKETS, Measure
    from butterfly.store.db import open_session

    import_servicenow(cli, db_url)
    with open_session(db_url) as session:
        report = consistency(session=session, by="group", weeks=8, end=SN_END)
    names = [g.name for g in report.groups]
    assert names[0] == "Group 70"  # the busiest assignment group
    assert report.groups[0].tickets == 175
    assert "(none)" in names  # incidents with no assignment group ('?') are a visible group of their own
    assert sum(g.tickets for g in report.groups) == report.overall.tickets == 835  # resolved in the 8 weeks
    judged = [g for g in report.groups if report.is_judged(g, Measure.resolution_time)]
    assert len(judged) == 20
    assert all(g.timed >= MIN_TICKETS for g in judged)
    for g in report.groups:
        if g.timed < MIN_TICKETS:
            assert g.flags == [] and Measure.resolution_time not in g.z, g.name
    spread = report.spreads[Measure.resolution_time]
    assert spread.groups == 20
    assert spread.minimum is not None and spread.maximum is not None
    assert spread.maximum > 50 * spread.minimum  # the groups are far from consistent

    with open_session(db_url) as session:
        by_person = consistency(session=session, by="assignee", weeks=8, end=SN_END)
    assert (by_person.groups[0].name, by_person.groups[0].tickets) == ("(none)", 217)  # unassigned, shown as such
    assert by_person.overall.tickets == 835


def test_real_servicenow_data_by_channel_is_one_group(cli, db_url: str) -> None:  # type: ignore[no-untyped-def]
    from butterfly.reports.consistency import consistency
    from butterfly.store.db import open_session

    import_servicenow(cli, db_url)
    with open_session(db_url) as session:
        report = consistency(session=session, by="channel", weeks=8, end=SN_END)
    assert [(g.name, g.tickets) for g in report.groups] == [("Phone", 835)]
    assert report.flagged == []


# -- the command ----------------------------------------------------------------------------------------------


def test_command_markdown_shows_the_flag_and_the_counts(cli, db_url: str) -> None:  # type: ignore[no-untyped-def]
    from butterfly.store.db import open_session

    with open_session(db_url) as session:
        _constructed(session)
    result = cli("report", "consistency", "--db", db_url, "--until", "2024-05-31", "--weeks", "8")
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    assert out.startswith("# Consistency across groups · Group\n")
    assert "75 tickets in 7 groups, 39 completed reviews; 6 groups have enough data to compare." in out
    assert "- **Slow**: Resolution time (median per group) much slower:" in out
    assert "- **Careless**: Mean cell score much lower: 0% vs. 100% for the other 5 groups (z = -30.0)" in out
    assert "- **Careless**: Experience level (mean, 1 = devil … 5 = ultimate) much lower: 1.0 vs. 4.0 for" in out
    assert "| Slow | 12 | 12 |" in out
    assert "Tiny (3 tickets, 3 reviews)" in out  # counted, not judged
    assert "Tiny**" not in out


def test_command_html_and_json_files(cli, db_url: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import json
    import stat

    from butterfly.store.db import open_session

    with open_session(db_url) as session:
        _constructed(session)
        for n in range(1000, 1012):  # a hostile group name, enough tickets to be compared
            _ticket(session, n, "<script>alert(1)</script>|*x*", 5.0)
        session.commit()
    html = tmp_path / "consistency.html"
    result = cli("report", "consistency", "--db", db_url, "--until", "2024-05-31", "-o", str(html))
    assert result.exit_code == 0, result.stderr
    assert stat.S_IMODE(html.stat().st_mode) == 0o600
    page = html.read_text(encoding="utf-8")
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;|*x*" in page
    assert (
        'class="flagged" style="background: #fdf3f3"><td style="white-space: nowrap; overflow-wrap: normal">Slow</td>'
        in page
    )

    result = cli("report", "consistency", "--db", db_url, "--until", "2024-05-31", "--by", "channel", "-f", "json")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["by"] == "channel"
    assert [(g["name"], g["tickets"]) for g in data["groups"]] == [("email", 87)]
    assert data["totals"]["flagged_groups"] == 0

    result = cli("report", "consistency", "--db", db_url, "--until", "2024-05-31")
    assert not re.search(r"(?<!\\)<script>", result.stdout)
    assert "| \\<script>alert(1)\\</script>\\|\\*x\\* | 12 |" in result.stdout  # one table cell, inert


def test_command_in_chinese(cli, db_url: str) -> None:  # type: ignore[no-untyped-def]
    from butterfly.store.db import open_session

    with open_session(db_url) as session:
        _constructed(session)
    result = cli("report", "consistency", "--db", db_url, "--until", "2024-05-31", "--lang", "zh-CN")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("# 跨组一致性 · 处理组\n")
    assert (
        # full-width separator and durations in Chinese (#16)
        "- **Slow**：解决时间（各组中位数）明显更慢：2天2小时，其他 5 个组的中位数为 5小时30分钟（z = 15.7）"
        in result.stdout
    )


def test_command_errors_exit_2(cli, sqlite_url_fixture: str) -> None:  # type: ignore[no-untyped-def]
    result = cli("report", "consistency", "--db", sqlite_url_fixture, "--until", "2016-13-01")
    assert result.exit_code == 2
    assert "--until: '2016-13-01' is not a date" in result.stderr
    result = cli("report", "consistency", "--db", sqlite_url_fixture, "--by", "team")
    assert result.exit_code == 2


def test_command_on_the_real_servicenow_data(cli, db_url: str) -> None:  # type: ignore[no-untyped-def]
    import_servicenow(cli, db_url)
    result = cli("report", "consistency", "--db", db_url, "--until", "2016-04-24", "--by", "group")
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    assert "835 tickets in 52 groups, 0 completed reviews; 20 groups have enough data to compare." in out
    assert "| Group 70 | 175 | 146 |" in out
    assert "Group 31 (8 tickets, 0 reviews)" in out  # shown with its count, no verdict
    assert "| **All** | 835 | 806 |" in out
