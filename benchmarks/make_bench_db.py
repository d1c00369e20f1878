"""Build the weekly-report benchmark database: 1,000,000 tickets (generated, then imported with
``butterfly import``) plus 100,000 reviews with answers, findings and action items inserted in bulk.

    python benchmarks/make_bench_db.py                # benchmarks/work/bench_1m.db
    python benchmarks/make_bench_db.py --quick        # 50k tickets, 5k reviews: benchmarks/work/bench_quick.db

The tickets come from ``benchmarks/generate_tickets.py`` (seeded; reused when the CSV is already there). Reviews are
written straight into SQLite in the form the ORM uses (UTC text datetimes, JSON text), seeded too.
"""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
WORK = HERE / "work"
REVIEWERS = [f"lead.{i:02d}" for i in range(24)]
OWNERS = [f"owner.{i:02d}" for i in range(40)]
LEVELS = ["devil", "terrible", "basement", "baseline", "baseline", "baseline", "ultimate"]
WISHES = [
    "If only the app could export straight to Excel",
    "Wish the invoice template could be edited by us",
    "如果能支持批量导入就好了",
    "希望小程序也能查看库存",
    "Could you add a dark mode to the POS screen?",
    "要是能自动对账就好了",
]


def _ts(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def _parse(text: str) -> datetime:
    return datetime.strptime(text[:19], "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)


def make_tickets(rows: int, csv_path: Path, db_path: Path) -> None:
    if not csv_path.exists():
        print(f"generating {rows:,} tickets -> {csv_path}", flush=True)
        subprocess.run(
            [
                sys.executable,
                str(HERE / "generate_tickets.py"),
                "--rows",
                str(rows),
                "--seed",
                "1",
                "-o",
                str(csv_path),
            ],
            check=True,
        )
    if db_path.exists():
        db_path.unlink()
    print(f"importing {csv_path.name} -> {db_path}", flush=True)
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "butterfly", "--db", str(db_path), "import", str(csv_path)],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    print(f"  imported in {time.perf_counter() - started:.1f} s", flush=True)


def make_reviews(db_path: Path, count: int, seed: int = 7) -> None:
    from butterfly.checklist.model import AnswerKind, Guard, load_builtin

    checklist = load_builtin("butterfly", "en")
    rng = random.Random(seed)
    con = sqlite3.connect(db_path)
    closed = con.execute(
        "SELECT id, closed_at FROM ticket WHERE status IN ('closed', 'resolved') AND closed_at IS NOT NULL"
    ).fetchall()
    picks = rng.sample(closed, min(count, len(closed)))
    print(f"inserting {len(picks):,} reviews with answers, findings and action items", flush=True)
    started = time.perf_counter()
    reviews, answers, findings, actions = [], [], [], []
    review_id = (con.execute("SELECT COALESCE(MAX(id), 0) FROM review").fetchone()[0] or 0) + 1
    for ticket_id, closed_at in picks:
        closed_dt = _parse(closed_at)
        reviewer = rng.choice(REVIEWERS)
        complete = rng.random() < 0.9
        started_at = closed_dt + timedelta(hours=rng.randint(1, 96))
        done_at = started_at + timedelta(minutes=rng.randint(10, 90))
        reviews.append(
            (
                review_id,
                ticket_id,
                reviewer,
                "butterfly",
                checklist.version,
                "en",
                "[]",
                "complete" if complete else "draft",
                rng.choice(LEVELS) if complete else None,
                None,
                _ts(started_at),
                _ts(done_at),
                _ts(done_at) if complete else None,
                1,
            )
        )
        for q in checklist.questions:
            if rng.random() < 0.15:
                continue
            if q.kind is AnswerKind.rating:
                value: object = rng.choice([0, 1, 1, 2, 2, 2])
            elif q.kind is AnswerKind.yes_no:
                value = rng.random() < 0.4
            elif q.guard is Guard.demand_signal:
                if rng.random() > 0.2:
                    continue
                value = rng.choice(WISHES)
            elif q.kind is AnswerKind.choice and q.choices:
                value = rng.choice(q.choices).id
            elif q.kind is AnswerKind.datetime:
                value = (closed_dt - timedelta(hours=rng.randint(-24, 24))).isoformat()
            else:
                value = "noted in the review"
            answers.append(
                (review_id, q.id, json.dumps(value, ensure_ascii=False), 0, None, _ts(started_at), reviewer, 1)
            )
        if rng.random() < 0.06:
            kind = rng.choice(["compensation_before_resolution", "blame_wording", "publicity_without_consent"])
            findings.append((review_id, None, kind, "found by the benchmark generator", 0, _ts(done_at)))
        if rng.random() < 0.35:
            kind = rng.choice(["process_patch", "outreach", "compensation", "follow_up"])
            due = (done_at + timedelta(days=rng.randint(-5, 30))).date().isoformat()
            is_done = rng.random() < 0.5
            finished = done_at + timedelta(days=rng.randint(0, 20))
            actions.append(
                (
                    review_id,
                    ticket_id,
                    None,
                    kind,
                    f"{kind} from the benchmark",
                    rng.choice(OWNERS),
                    due,
                    "done" if is_done else "open",
                    _ts(done_at),
                    reviewer,
                    _ts(finished) if is_done else None,
                    reviewer if is_done else None,
                    1,
                )
            )
        review_id += 1
    with con:
        con.executemany(
            "INSERT INTO review (id, ticket_id, reviewer, checklist_id, checklist_version, language, lenses, status, "
            "experience_level, position, started_at, updated_at, completed_at, version) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            reviews,
        )
        con.executemany(
            "INSERT INTO answer (review_id, question_id, value, na, note, answered_at, answered_by, version) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            answers,
        )
        con.executemany(
            "INSERT INTO finding (review_id, question_id, kind, detail, kept, created_at) VALUES (?, ?, ?, ?, ?, ?)",
            findings,
        )
        con.executemany(
            "INSERT INTO action_item (review_id, ticket_id, question_id, kind, text, owner, due_date, status, "
            "created_at, created_by, done_at, done_by, version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            actions,
        )
    con.execute("ANALYZE")
    con.close()
    print(
        f"  {len(reviews):,} reviews, {len(answers):,} answers, {len(findings):,} findings, {len(actions):,} action "
        f"items in {time.perf_counter() - started:.1f} s",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="50k tickets and 5k reviews instead of 1M and 100k")
    parser.add_argument("--rows", type=int, help="tickets to generate (default 1,000,000; --quick 50,000)")
    parser.add_argument("--reviews", type=int, help="reviews to insert (default 100,000; --quick 5,000)")
    parser.add_argument("-o", "--output", type=Path, help="database file (default benchmarks/work/bench_1m.db)")
    args = parser.parse_args()
    rows = args.rows or (50_000 if args.quick else 1_000_000)
    reviews = args.reviews or (5_000 if args.quick else 100_000)
    WORK.mkdir(exist_ok=True)
    name = "quick" if args.quick else ("1m" if rows == 1_000_000 else str(rows))
    csv_path = WORK / f"tickets_{name}.csv"
    db_path = args.output or WORK / f"bench_{name}.db"
    make_tickets(rows, csv_path, db_path)
    make_reviews(db_path, reviews)
    print(f"done: {db_path}")


if __name__ == "__main__":
    main()
