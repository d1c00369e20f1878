"""Make the saved old-release database: the schema of the oldest migration (revision 0001, butterfly 0.1) with
realistic rows, written without today's models so it stays what an old release wrote.

    python tests/data/make_old_db.py                      # writes tests/data/butterfly-0001.db
    python tests/data/make_old_db.py --url postgresql+psycopg://postgres@127.0.0.1:5432/old_copy

The schema comes from Alembic stopped at ``OLD_REVISION``; rows are inserted with SQLAlchemy Core into the tables
as reflected from the database, so later changes to ``butterfly/store/models.py`` cannot leak into the old file.
``tests/test_upgrade_old_release.py`` upgrades a copy to head (``butterfly db upgrade``) and checks that every
old row and value is still there, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

OLD_REVISION = "0001"
HERE = Path(__file__).resolve().parent
DEFAULT_OUT = HERE / f"butterfly-{OLD_REVISION}.db"

T0 = datetime(2025, 9, 1, 8, 30, tzinfo=UTC)

TICKETS = [
    # external_id, customer, subject, category, tags, hours to resolve, language
    ("ZD-1001", "北方贸易", "发票税率错误，第三次了", "billing", ["vat", "repeat"], 30, "zh"),
    ("ZD-1002", "Northwind", "Invoice shows the wrong VAT rate", "billing", ["vat"], 6, "en"),
    ("ZD-1003", "Contoso", "Export to Excel times out after 60 s", "reports", ["export", "timeout"], 52, "en"),
    ("ZD-1004", "北方贸易", "退款一直没到账", "payments", ["refund"], 75, "zh"),
    ("ZD-1005", "Fabrikam", "2FA codes arrive late", "login", ["2fa", "sms"], 3, "en"),
    ("ZD-1006", "Contoso", "Export to Excel times out again", "reports", ["export", "timeout", "repeat"], 8, "en"),
    ("ZD-1007", "大华物流", "客服电话一直占线，希望有在线聊天", "support", ["channel"], 2, "zh"),
    ("ZD-1008", "Tailspin", 'Customer name shows as <script>alert("x")</script>', "data", [], 12, "en"),
    ("ZD-1009", "Northwind", "Can you add a bulk edit? (if only…)", "feature", ["wish"], 1, "en"),
    ("ZD-1010", "Fabrikam", "Password reset link expired", "login", ["password"], 4, "en"),
    ("ZD-1011", "大华物流", "报表导出的中文乱码", "reports", ["encoding"], 20, "zh"),
    ("ZD-1012", "Tailspin", "Duplicate charge on the card", "payments", ["refund", "repeat"], 40, "en"),
]

ANSWERS = {
    # question id: successive values (each change is one history row)
    "customer.short.certainty": [1, 2],
    "customer.short.need_escalation": ["climbed"],
    "customer.mid.compensation_made": [True],
    "customer.mid.compensation_at": ["2025-09-03T10:00:00+00:00"],
    "company.short.another_person": ["没有人会做得更好：系统没有给一线退款权限", "一线没有退款权限；流程要改"],
    "company.mid.recurrence": ["unknown", "recurring"],
    "company.mid.process_patch": ["Give tier-1 refund authority up to 500 CNY"],
    "company.long.offhand_wishes": ["希望有在线聊天 / wants live chat"],
}


def build(url: str) -> dict[str, int]:
    """Create the old schema at ``url`` (empty database) and fill it; returns row counts per table."""
    import sqlalchemy as sa

    from butterfly.store.db import current_revision, dispose_engines, get_engine, upgrade

    engine = get_engine(url)
    if current_revision(engine) is not None:
        raise SystemExit(f"{url}: not an empty database")
    upgrade(engine, OLD_REVISION)
    # the rows are written the way the old release wrote them: JSON with \\u escapes (today's engine keeps UTF-8)
    engine = sa.create_engine(url)
    meta = sa.MetaData()
    meta.reflect(engine)
    t = meta.tables
    counts: dict[str, int] = {}

    def insert(conn: Any, table: str, row: dict[str, Any]) -> int:
        result = conn.execute(t[table].insert().values(**row))
        counts[table] = counts.get(table, 0) + 1
        return int(result.inserted_primary_key[0])

    with engine.begin() as conn:
        run_id = insert(
            conn,
            "import_run",
            {
                "source": "zendesk",
                "format": "zendesk-json",
                "path": "/srv/exports/tickets-2025-09.json",
                "file_sha256": "9f2c" * 16,
                "started_at": T0 + timedelta(days=20),
                "finished_at": T0 + timedelta(days=20, seconds=42),
                "status": "done",
                "rows_read": len(TICKETS) + 1,
                "created": len(TICKETS),
                "updated": 0,
                "unchanged": 0,
                "rejected": 1,
                "rejects_path": "/srv/exports/tickets-2025-09.rejects.csv",
                "options": {"timezone": "Asia/Shanghai", "mapping": None},
            },
        )
        ticket_ids = []
        for n, (ext, customer, subject, category, tags, hours, lang) in enumerate(TICKETS):
            created = T0 + timedelta(days=n, hours=n % 5)
            ticket_ids.append(
                insert(
                    conn,
                    "ticket",
                    {
                        "source": "zendesk",
                        "external_id": ext,
                        "customer": customer,
                        "organization": customer,
                        "subject": subject,
                        "description": f"{subject}\n\n{'客户第三次反馈。' if lang == 'zh' else 'Customer reports it again.'}",
                        "category": category,
                        "subcategory": None,
                        "tags": tags,
                        "status": "closed",
                        "priority": ["low", "normal", "high", "urgent"][n % 4],
                        "channel": ["email", "phone", "web", "chat"][n % 4],
                        "group_name": "Tier 1" if n % 3 else "Billing",
                        "assignee": ["wang.li", "j.smith", "zhao.min"][n % 3],
                        "problem_id": "PRB-7" if "repeat" in tags else None,
                        "created_at": created,
                        "first_response_at": created + timedelta(minutes=15 + n),
                        "resolved_at": created + timedelta(hours=hours),
                        "closed_at": created + timedelta(hours=hours + 24),
                        "updated_at": created + timedelta(hours=hours + 24),
                        "raw": {
                            "id": 1001 + n,
                            "via": {"channel": "email"},
                            "custom_fields": [{"id": 7, "value": lang}],
                        },
                        "content_hash": f"{n:02d}" * 32,
                        "imported_at": T0 + timedelta(days=20, seconds=n),
                        "import_id": run_id,
                    },
                )
            )
        # reviews: two leads on the same ticket, one complete review elsewhere, one draft
        reviews = [
            (ticket_ids[0], "wang.li", "zh-CN", "complete", ["human-needs"]),
            (ticket_ids[0], "j.smith", "en", "draft", []),
            (ticket_ids[2], "j.smith", "en", "complete", ["surprise"]),
            (ticket_ids[3], "zhao.min", "zh-TW", "draft", []),
        ]
        for r, (ticket_id, reviewer, language, status, lenses) in enumerate(reviews):
            started = T0 + timedelta(days=21, hours=r)
            review_id = insert(
                conn,
                "review",
                {
                    "ticket_id": ticket_id,
                    "reviewer": reviewer,
                    "checklist_id": "butterfly",
                    "checklist_version": "1.0",
                    "language": language,
                    "lenses": lenses,
                    "status": status,
                    "experience_level": ["basic", "expected", "desired", "unexpected"][r],
                    "position": "company.long.offhand_wishes"
                    if status == "complete"
                    else "company.short.another_person",
                    "started_at": started,
                    "updated_at": started + timedelta(minutes=25),
                    "completed_at": started + timedelta(minutes=25) if status == "complete" else None,
                    "version": 3 + r,
                },
            )
            for step, (question_id, values) in enumerate(ANSWERS.items()):
                if status == "draft" and question_id.startswith("company.mid"):
                    break  # a draft stops part-way
                at = started + timedelta(minutes=step)
                answer_id = insert(
                    conn,
                    "answer",
                    {
                        "review_id": review_id,
                        "question_id": question_id,
                        "value": values[-1],
                        "na": False,
                        "note": "见工单备注" if step % 3 == 0 else None,
                        "answered_at": at + timedelta(minutes=len(values)),
                        "answered_by": reviewer,
                        "version": len(values),
                    },
                )
                old: Any = None
                for v, value in enumerate(values):
                    insert(
                        conn,
                        "answer_change",
                        {
                            "answer_id": answer_id,
                            "review_id": review_id,
                            "question_id": question_id,
                            "old_value": old,
                            "old_na": None if v == 0 else False,
                            "old_note": None,
                            "new_value": value,
                            "new_na": False,
                            "new_note": None,
                            "changed_at": at + timedelta(minutes=v),
                            "changed_by": reviewer,
                        },
                    )
                    old = value
            if status == "complete":
                insert(
                    conn,
                    "finding",
                    {
                        "review_id": review_id,
                        "question_id": "customer.mid.compensation_at",
                        "kind": "compensation_before_resolution",
                        "detail": "compensation 2025-09-03 10:00 before resolution 2025-09-04 14:30",
                        "kept": r == 0,
                        "created_at": started + timedelta(minutes=10),
                    },
                )
                insert(
                    conn,
                    "action_item",
                    {
                        "review_id": review_id,
                        "ticket_id": ticket_id,
                        "question_id": "company.mid.process_patch",
                        "kind": "process_patch",
                        "text": "Give tier-1 refund authority up to 500 CNY; update the runbook",
                        "owner": "zhao.min",
                        "due_date": date(2025, 10, 15) + timedelta(days=r),
                        "status": "done" if r == 0 else "open",
                        "created_at": started + timedelta(minutes=26),
                        "created_by": reviewer,
                        "done_at": started + timedelta(days=9) if r == 0 else None,
                        "done_by": "zhao.min" if r == 0 else None,
                        "version": 2 if r == 0 else 1,
                    },
                )
        # an action item created by hand, not from a review
        insert(
            conn,
            "action_item",
            {
                "review_id": None,
                "ticket_id": ticket_ids[6],
                "question_id": None,
                "kind": "outreach",
                "text": "Call 大华物流 about live chat before renewal",
                "owner": "wang.li",
                "due_date": date(2025, 11, 1),
                "status": "open",
                "created_at": T0 + timedelta(days=30),
                "created_by": "wang.li",
                "done_at": None,
                "done_by": None,
                "version": 1,
            },
        )
    engine.dispose()
    dispose_engines()
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", help="an empty database URL (default: write the SQLite file --out)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"SQLite file to write (default {DEFAULT_OUT})")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(HERE.parent.parent))
    from butterfly.store.db import sqlite_url
    from butterfly.urls import redact_url

    url = args.url
    if url is None:
        args.out.unlink(missing_ok=True)
        url = sqlite_url(args.out)
    counts = build(url)
    if args.url is None:
        import sqlite3

        conn = sqlite3.connect(args.out)
        conn.execute("PRAGMA journal_mode = DELETE")  # one self-contained file in the repository
        conn.execute("VACUUM")
        conn.close()
    print(
        f"{redact_url(url)}: revision {OLD_REVISION}, rows " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
