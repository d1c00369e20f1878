"""Golden reports for a small fixed dataset: the ticket retrospective and the weekly report in Markdown.

The same dataset runs on SQLite and PostgreSQL and must give byte-identical Markdown. To accept a deliberate
change of the output, run ``UPDATE_GOLDEN=1 pytest tests/test_report_golden.py`` and review the diff.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

GOLDEN = Path(__file__).resolve().parent / "golden"
NOW = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)
WEEK = "2026-W47"  # Monday 2026-11-16 .. Monday 2026-11-23


def _at(day: str, hour: int = 10) -> datetime:
    return datetime.fromisoformat(f"{day}T{hour:02d}:00:00+00:00")


def make_dataset(session: Any) -> dict[str, int]:
    """Tickets at several customers (Chinese and English), three reviews, findings and action items."""
    from butterfly.store.models import ActionItem, Answer, Finding, Message, Review, Ticket

    def ticket(
        ext: str,
        customer: str,
        subject: str,
        category: str,
        tags: list[str],
        opened: str,
        closed: str,
        description: str = "",
    ) -> Ticket:
        t = Ticket(
            source="csv",
            external_id=ext,
            customer=customer,
            subject=subject,
            description=description,
            category=category,
            tags=tags,
            status="closed",
            channel="web",
            assignee="li.na",
            created_at=_at(opened, 9),
            first_response_at=_at(opened, 11),
            resolved_at=_at(closed, 8),
            closed_at=_at(closed, 16),
            content_hash=ext,
        )
        session.add(t)
        return t

    tickets = [
        ticket(
            "T-1",
            "Acme Retail",
            "SMS verification code never arrives",
            "login",
            ["sms"],
            "2026-11-16",
            "2026-11-17",
            "Store staff cannot log in: the SMS code never arrives.\nMorning shift is blocked.",
        ),
        ticket("T-2", "Northwind", "SMS verification code never arrived", "login", ["sms"], "2026-11-17", "2026-11-18"),
        ticket(
            "T-3",
            "华星物流",
            "发票导出失败,提示模板不存在",
            "billing",
            ["invoice"],
            "2026-11-16",
            "2026-11-18",
            "月底对账时导出增值税发票报错:模板不存在。",
        ),
        ticket(
            "T-4",
            "青禾餐饮",
            "发票导出失败:提示“模板不存在”",
            "billing",
            ["export", "invoice"],
            "2026-11-18",
            "2026-11-19",
        ),
        ticket("T-5", "Acme Retail", "Receipt printer misaligned", "printing", ["printer"], "2026-11-18", "2026-11-19"),
        # history: the SMS problem two weeks earlier at another customer
        ticket("T-6", "Contoso", "SMS verification code never arrives", "login", ["sms"], "2026-11-04", "2026-11-05"),
    ]
    # a customer that used to open a ticket every week and went quiet four weeks ago
    for i in range(8):
        opened = date(2026, 8, 10) + timedelta(weeks=i)
        tickets.append(
            ticket(
                f"F-{i + 1}",
                "Fabrikam",
                f"Stock sync delay #{i + 1}",
                "sync",
                ["inventory"],
                opened.isoformat(),
                (opened + timedelta(days=1)).isoformat(),
            )
        )
    session.commit()
    ids = {t.external_id: t.id for t in tickets}
    # threads (#18): T-1's customer chased twice before a plan came; T-3's waited more than a day, no plan given
    threads = {
        "T-1": [
            ("customer", "2026-11-16", 9, "Store staff cannot log in: the SMS code never arrives."),
            ("agent", "2026-11-16", 11, "Sorry about this, we're looking into it."),
            ("customer", "2026-11-16", 13, "Any update? The morning shift is blocked."),
            ("customer", "2026-11-16", 15, "Still nothing. This is costing us sales."),
            ("internal", "2026-11-16", 15, "SMS provider outage confirmed by their status page."),
            (
                "agent",
                "2026-11-16",
                16,
                "We are switching to a second SMS provider; codes will arrive again by 8 am tomorrow.",
            ),
            ("agent", "2026-11-17", 8, "Codes are arriving again. Sorry for the trouble."),
        ],
        "T-3": [
            ("customer", "2026-11-16", 9, "月底对账时导出增值税发票报错:模板不存在。"),
            ("agent", "2026-11-16", 11, "您好，我们正在排查。"),
            ("customer", "2026-11-17", 6, "还没好吗？明天就要报税了。"),
            ("agent", "2026-11-18", 8, "模板已恢复，请重新导出。"),
        ],
    }
    for ext, thread in threads.items():
        for position, (role, day, hour, text) in enumerate(thread, start=1):
            session.add(
                Message(
                    ticket_id=ids[ext],
                    position=position,
                    at=_at(day, hour),
                    role=role,
                    author={"customer": "Customer", "agent": "li.na"}.get(role),
                    public=role != "internal",
                    text=text,
                    thread_hash=ext,
                )
            )
    session.commit()

    def review(
        ext: str, reviewer: str, status: str, level: str | None, completed: str | None, answers: dict[str, Any]
    ) -> Review:
        r = Review(
            ticket_id=ids[ext],
            reviewer=reviewer,
            checklist_id="butterfly",
            checklist_version="1.0",
            language="en",
            status=status,
            experience_level=level,
            started_at=_at("2026-11-19", 9),
            updated_at=_at("2026-11-19", 9),
            completed_at=_at(completed, 15) if completed else None,
        )
        session.add(r)
        session.commit()
        for qid, value in answers.items():
            na = value == "N/A"
            session.add(
                Answer(
                    review_id=r.id,
                    question_id=qid,
                    value=None if na else value,
                    na=na,
                    answered_by=reviewer,
                    answered_at=_at("2026-11-19", 10),
                )
            )
        return r

    wish = "If only the SMS code could fall back to a voice call"
    r1 = review(
        "T-1",
        "wang.li",
        "complete",
        "baseline",
        "2026-11-19",
        {
            "customer.short.fast_accurate": 2,
            "customer.short.certainty": 1,
            "customer.short.progress_updates": 0,
            "customer.short.friend_mindset": 2,
            "customer.mid.trouble_mindset": 1,
            "customer.mid.compensation_made": True,
            "customer.mid.compensation_at": "2026-11-16T12:00:00+00:00",
            "customer.mid.sequence": 0,
            "customer.long.story": 0,
            "customer.long.extra_value": "N/A",
            "customer.long.publicity_planned": False,
            "company.short.resources_authority": 1,
            "company.mid.recurrence": "recurring",
            "company.mid.process_patch": "Fall back to a second SMS provider after 60 s",
            "company.long.offhand_wishes": wish,
        },
    )
    r2 = review(
        "T-1",
        "chen.mei",
        "complete",
        "ultimate",
        "2026-11-20",
        {
            "customer.short.fast_accurate": 2,
            "customer.short.certainty": 2,
            "customer.long.story": 2,
            "customer.long.extra_value": 2,
            "customer.long.publicity_planned": True,
            "customer.long.consent_given": False,
            "company.long.offhand_wishes": "",
        },
    )
    r3 = review(
        "T-2",
        "zhao.yun",
        "complete",
        "ultimate",
        "2026-11-20",
        {
            "customer.short.fast_accurate": 1,
            "customer.long.story": 2,
            "customer.long.extra_value": 2,
            "customer.long.publicity_planned": True,
            "customer.long.consent_given": True,
            "company.long.offhand_wishes": wish + "!",
        },
    )
    review("T-3", "wang.li", "draft", None, None, {"customer.short.fast_accurate": 1})
    session.add(
        Finding(
            review_id=r1.id,
            question_id="customer.mid.compensation_at",
            kind="compensation_before_resolution",
            detail="The gesture (2026-11-16 12:00) came before the resolution (2026-11-17 08:00).",
            created_at=_at("2026-11-19", 10),
        )
    )
    session.add(
        Finding(
            review_id=r2.id,
            question_id="customer.long.publicity_planned",
            kind="publicity_without_consent",
            detail="Publicity is planned but the customer has not consented.",
            created_at=_at("2026-11-20", 10),
        )
    )
    session.add(
        ActionItem(
            review_id=r1.id,
            ticket_id=ids["T-1"],
            question_id="company.mid.process_patch",
            kind="process_patch",
            text="Fall back to a second SMS provider after 60 s",
            owner="li.na",
            due_date=date(2026, 11, 20),
            created_at=_at("2026-11-19", 10),
            created_by="wang.li",
        )
    )
    session.add(
        ActionItem(
            review_id=r3.id,
            ticket_id=ids["T-2"],
            question_id="company.mid.proactive_outreach",
            kind="outreach",
            text="Tell Contoso about the SMS fallback",
            owner="zhao.yun",
            due_date=date(2026, 11, 27),
            status="done",
            created_at=_at("2026-11-20", 10),
            done_at=_at("2026-11-21", 10),
            done_by="zhao.yun",
            created_by="zhao.yun",
        )
    )
    session.commit()
    return {k: v for k, v in ids.items() if v is not None}


def _check_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"{path} missing: run with UPDATE_GOLDEN=1 once and review it"
    assert text == path.read_text(encoding="utf-8")


def _ticket_report(session: Any, ref: str, lang: str = "en", fmt: str = "md") -> str:
    from butterfly.labels import labels
    from butterfly.reports.rendering import render_report
    from butterfly.reports.ticket_report import build_ticket_report
    from butterfly.tickets import get_ticket

    texts = labels(lang)
    data = build_ticket_report(
        session=session, ticket=get_ticket(session=session, ref=ref), lang=lang, labels=texts, now=NOW
    )
    return render_report("ticket", data, fmt=fmt, labels=texts, lang=lang, tz="UTC")


def _weekly_report(session: Any, lang: str = "en", fmt: str = "md") -> str:
    from butterfly.labels import labels
    from butterfly.reports.rendering import render_report
    from butterfly.reports.weekly.build import build_weekly_report

    data = build_weekly_report(session=session, week=WEEK, lang=lang, now=NOW)
    # Markdown through the golden override (sections owned by other modules left out); HTML/JSON as shipped
    folder = GOLDEN / "templates" if fmt == "md" else None
    return render_report("weekly", data, fmt=fmt, labels=labels(lang), lang=lang, tz="UTC", user_templates=folder)


def test_ticket_report_markdown_matches_golden(session) -> None:  # type: ignore[no-untyped-def]
    make_dataset(session)
    _check_golden("ticket_T-1.en.md", _ticket_report(session, "T-1"))


def test_ticket_report_in_chinese_matches_golden(session) -> None:  # type: ignore[no-untyped-def]
    make_dataset(session)
    _check_golden("ticket_T-3.zh-CN.md", _ticket_report(session, "T-3", lang="zh-CN"))


def test_weekly_report_markdown_matches_golden(session) -> None:  # type: ignore[no-untyped-def]
    make_dataset(session)
    _check_golden("weekly_2026-W47.en.md", _weekly_report(session))


def test_weekly_report_content(session) -> None:  # type: ignore[no-untyped-def]
    from butterfly.reports.weekly.build import build_weekly_report

    make_dataset(session)
    report = build_weekly_report(session=session, week=WEEK, now=NOW)
    assert report.closed_tickets == 5
    groups = {g.label: g for g in report.recurring}
    # the SMS problem at two customers this week, and at Contoso two weeks ago
    sms = groups["SMS verification code never arrives"]
    assert sms.customers == ["Acme Retail", "Northwind"]
    assert sms.trend == [0, 0, 0, 0, 0, 1, 0, 2]  # W45 (Contoso), W47
    assert sms.weeks_seen == 2
    assert sms.outreach_candidates == ["Contoso"]
    assert sorted(sms.members) == sorted(t.ref for t in sms.tickets) and len(sms.members) == sms.ticket_count
    assert sms.process_patch == "overdue"
    # the invoice problem: Chinese subjects, different tag sets, grouped by text similarity
    invoice = next(g for g in report.recurring if "发票导出失败" in g.label)
    assert invoice.customers == ["华星物流", "青禾餐饮"]
    assert invoice.process_patch == "missing"
    # the printer problem happened at one customer only
    assert all("printer" not in g.label.lower() for g in report.recurring)
    assert [s.customer for s in report.silent] == ["Fabrikam"]
    assert report.demand[0].mentions == 2
    assert report.coverage.reviewed == 2 and report.coverage.draft_only == 1
    assert {r.reviewer: (r.complete, r.drafts) for r in report.coverage.by_reviewer} == {
        "wang.li": (1, 1),
        "chen.mei": (1, 0),
        "zhao.yun": (1, 0),
    }
    assert report.actions.overdue == 1 and report.actions.done == 1 and report.actions.opened == 2
    assert report.findings.counts["compensation_before_resolution"] == 1


def test_story_planned_for_publicity_without_consent_is_never_listed(session) -> None:  # type: ignore[no-untyped-def]
    from butterfly.reports.weekly.build import build_weekly_report

    make_dataset(session)
    report = build_weekly_report(session=session, week=WEEK, now=NOW)
    # chen.mei rated T-1 "ultimate" but publicity is planned without consent; zhao.yun's T-2 has consent
    assert [(s.ticket_ref, s.reviewer) for s in report.stories] == [("csv:T-2", "zhao.yun")]
    for fmt in ("md", "html"):
        text = _weekly_report(session, fmt=fmt)
        stories = text[text.index("7. Stories worth telling") :]
        assert "chen.mei" not in stories
        assert "zhao.yun" in stories
    data = json.loads(_weekly_report(session, fmt="json"))
    assert all(s["reviewer"] != "chen.mei" for s in data["stories"])


def test_ticket_report_json_has_every_reviewer_side_by_side(session) -> None:  # type: ignore[no-untyped-def]
    make_dataset(session)
    data = json.loads(_ticket_report(session, "T-1", fmt="json"))
    assert [r["reviewer"] for r in data["reviews"]] == ["wang.li", "chen.mei"]
    cell = next(c for c in data["cells"] if c["id"] == "customer.short")
    assert cell["scores"] == [pytest.approx(0.625), pytest.approx(1.0)]
    assert [f["kind"] for f in data["findings"]] == ["compensation_before_resolution", "publicity_without_consent"]
    assert data["actions"][0]["overdue"] is True
    assert [s["customer"] for s in data["similar"]][:2] == ["Contoso", "Northwind"] or {
        s["customer"] for s in data["similar"]
    } >= {"Contoso", "Northwind"}
    assert all(s["customer"] != "Acme Retail" for s in data["similar"])
