"""The ticket report's Conversation section (#18): the facts and key moments as the reviewer saw them, kept when the
thread changes later; the whole thread with --thread; message text and author names masked with --redact."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlmodel import select
from test_conversation_import import COMMENTS, _zendesk

from butterfly.store.db import open_session
from butterfly.store.models import Message, Review, ReviewConversation

USERS = [{"id": 7, "name": "Ana Lindqvist", "email": "ana@example.com"}, {"id": 99, "name": "Bo Agent"}]


def _export(tmp_path: Path, comments: list[dict[str, Any]]) -> Path:
    doc = _zendesk(comments)
    doc["tickets"][0]["status"] = "closed"
    doc["users"] = USERS
    path = tmp_path / "zendesk.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def _review(tmp_path: Path, db_url: str, cli: Any, *extra: str) -> None:
    answers = tmp_path / "answers.yaml"
    answers.write_text("customer.short.certainty: 1\n", encoding="utf-8")
    result = cli("review", "42", "--answers", str(answers), "--reviewer", "mei", *extra, "--db", db_url)
    assert result.exit_code == 0, result.output


def test_the_report_shows_the_facts_and_key_moments_not_the_whole_thread(tmp_path: Path, db_url: str, cli: Any) -> None:
    assert cli("import", str(_export(tmp_path, COMMENTS)), "--format", "zendesk", "--db", db_url).exit_code == 0
    _review(tmp_path, db_url, cli)
    md = cli("report", "ticket", "42", "--db", db_url)
    assert md.exit_code == 0, md.output
    section = md.output.split("## Conversation", 1)[1].split("\n## ", 1)[0]
    assert "The facts mei saw when reviewing" in section
    assert "**Customer chased**: 1 time (#3 2026-03-02 15:00)" in section
    assert "**Definite plan and time**: #5 2026-03-02 15:30 “by 5 pm”" in section
    assert "**#2 First reply** · agent" in section
    assert "**#3 Chase** · customer" in section and "Any update? We file taxes today." in section
    assert "**#5 Plan given · Resolution** · agent" in section
    assert "L2: template lost" not in section  # an internal note is no key moment; the whole thread only with --thread
    whole = cli("report", "ticket", "42", "--thread", "--db", db_url).output
    assert "### The whole thread" in whole and "L2: template lost in the release" in whole

    data = json.loads(cli("report", "ticket", "42", "--format", "json", "--db", db_url).output)
    conv = data["conversation"]
    assert conv["reviewer"] == "mei" and conv["thread"] is None
    assert [(m["position"], m["kinds"]) for m in conv["moments"]] == [
        (2, ["first_reply"]),
        (3, ["chase"]),
        (5, ["plan", "resolution"]),
    ]
    zh = cli("report", "ticket", "42", "--lang", "zh-TW", "--db", db_url).output
    assert "## 對話" in zh and "**客戶催促**：1 次" in zh and "給出計畫 · 解決" in zh


def test_a_changed_thread_does_not_change_what_a_complete_review_saw(tmp_path: Path, db_url: str, cli: Any) -> None:
    export = _export(tmp_path, COMMENTS)
    cli("import", str(export), "--format", "zendesk", "--db", db_url)
    _review(tmp_path, db_url, cli, "--complete", "--allow-gaps")
    # the helpdesk's thread changes: the plan is edited away, and the customer chases again
    changed = [dict(c) for c in COMMENTS]
    changed[4]["body"] = "We are still looking into it."
    changed.append(
        {"id": 6, "author_id": 7, "public": True, "body": "Any news??", "created_at": "2026-03-02T18:00:00Z"}
    )
    _export(tmp_path, changed)
    assert cli("import", str(export), "--format", "zendesk", "--db", db_url).exit_code == 0
    assert "We are still looking" in cli("tickets", "show", "42", "--thread", "--db", db_url).output

    md = cli("report", "ticket", "42", "--db", db_url).output
    section = md.split("## Conversation", 1)[1].split("\n## ", 1)[0]
    assert "The thread changed after the review" in section
    assert "The template will be restored by 5 pm today." in section  # what the reviewer saw
    assert "**Customer chased**: 1 time" in section and "Any news" not in section
    with open_session(db_url) as session:
        rows = session.exec(select(ReviewConversation)).all()
        assert len(rows) == 1 and rows[0].data["facts"]["first_plan"]["position"] == 5

    # a draft review refreshes its facts when the reviewer works on it again
    assert cli("reviews", "reopen", "42", "--reviewer", "mei", "--db", db_url).exit_code == 0
    _review(tmp_path, db_url, cli)
    md = cli("report", "ticket", "42", "--db", db_url).output
    section = md.split("## Conversation", 1)[1].split("\n## ", 1)[0]
    assert "The thread changed" not in section and "**Definite plan and time**: none given" in section
    assert "**Customer chased**: 2 times" in section


def test_redact_masks_message_text_and_author_names(tmp_path: Path, db_url: str, cli: Any) -> None:
    comments = [dict(c) for c in COMMENTS]
    comments[2]["body"] = "Any update? Call me on +44 20 7946 0958 or ana@example.com. Ana Lindqvist"
    cli("import", str(_export(tmp_path, comments)), "--format", "zendesk", "--db", db_url)
    _review(tmp_path, db_url, cli)
    plain = cli("report", "ticket", "42", "--thread", "--format", "json", "--db", db_url).output
    assert "ana@example.com" in plain
    for fmt in ("md", "html", "json"):
        out = cli("report", "ticket", "42", "--thread", "--redact", "--format", fmt, "--db", db_url)
        assert out.exit_code == 0, out.output
        text = out.output
        assert "ana@example.com" not in text and "7946 0958" not in text and "Lindqvist" not in text, fmt
        assert "L2: template lost in the release" in text  # text without anything personal stays readable
    data = json.loads(cli("report", "ticket", "42", "--redact", "--thread", "--format", "json", "--db", db_url).output)
    conv = data["conversation"]
    assert conv["redacted"] is True
    assert all(m["author"] is None for m in conv["thread"] + conv["moments"])
    assert data["ticket"]["customer"] in (None, "[customer]")


def test_a_ticket_without_a_thread_has_no_conversation_section(tmp_path: Path, db_url: str, cli: Any) -> None:
    cli("import", str(_export(tmp_path, [])), "--format", "zendesk", "--db", db_url)
    _review(tmp_path, db_url, cli)
    assert "## Conversation" not in cli("report", "ticket", "42", "--db", db_url).output
    with open_session(db_url) as session:
        assert session.exec(select(ReviewConversation)).all() == []
        assert len(session.exec(select(Review)).all()) == 1


def _ticket_with_thread(session: Any, ext: str, group: str | None, thread: list[tuple[str, int, str]]) -> None:
    from datetime import UTC, datetime, timedelta

    from butterfly.store.models import Ticket

    opened = datetime(2026, 11, 16, 9, tzinfo=UTC)
    ticket = Ticket(
        source="csv",
        external_id=ext,
        customer=f"customer of {ext}",
        subject="Export fails",
        status="closed",
        group_name=group,
        created_at=opened,
        resolved_at=opened + timedelta(days=2),
        closed_at=opened + timedelta(days=2, hours=1),
        content_hash=ext,
    )
    session.add(ticket)
    session.commit()
    for position, (role, hours, text) in enumerate(thread, start=1):
        session.add(
            Message(
                ticket_id=ticket.id,
                position=position,
                at=opened + timedelta(hours=hours),
                role=role,
                public=True,
                text=text,
                thread_hash=ext,
            )
        )
    session.commit()


def test_the_weekly_certainty_gap_counts_chasing_and_waiting_by_group(session: Any) -> None:
    from test_report_golden import NOW, WEEK

    from butterfly.labels import labels
    from butterfly.reports.rendering import render_report
    from butterfly.reports.weekly.build import build_weekly_report

    chased = [("customer", 0, "Login fails"), ("customer", 1, "Any update?"), ("customer", 2, "Hello??")]
    _ticket_with_thread(session, "A-1", "Tier 1", [*chased, ("agent", 3, "Fixed now.")])
    _ticket_with_thread(session, "A-2", "Tier 1", [("customer", 0, "Login fails"), ("agent", 1, "Fixed now.")])
    waited = [("customer", 0, "Invoice wrong"), ("agent", 1, "Looking."), ("customer", 2, "Thanks")]
    _ticket_with_thread(session, "B-1", "Billing", [*waited, ("agent", 30, "Corrected.")])
    _ticket_with_thread(session, "C-1", None, [])  # no thread: not counted, but named as not countable
    data = build_weekly_report(session=session, week=WEEK, lang="en", now=NOW)
    gap = data.coverage.certainty
    assert gap is not None
    assert (gap.closed, gap.with_thread, gap.chased, gap.waited, gap.gap) == (4, 3, 1, 1, 2)
    assert [(g.group, g.with_thread, g.chased, g.waited, g.gap) for g in gap.by_group] == [
        ("Billing", 1, 0, 1, 1),
        ("Tier 1", 2, 1, 0, 1),
    ]
    md = render_report("weekly", data, fmt="md", labels=labels("zh-TW"), lang="zh-TW", tz="UTC")
    assert "### 確定感缺口（按處理組）" in md and "| Billing | 1 | 0 | 1 | 1（100%） |" in md
    assert "沒有對話的工單無法計入：1 張" in md
    html = render_report("weekly", data, fmt="html", labels=labels("en"), lang="en", tz="UTC")
    assert "Certainty gap by group" in html and '<td class="text">Tier 1</td>' in html


def test_no_thread_in_the_week_leaves_the_certainty_gap_out(session: Any) -> None:
    from test_report_golden import NOW, WEEK

    from butterfly.reports.weekly.build import build_weekly_report

    _ticket_with_thread(session, "C-1", None, [])
    assert build_weekly_report(session=session, week=WEEK, lang="en", now=NOW).coverage.certainty is None
