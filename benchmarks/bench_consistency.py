"""Speed of ``butterfly report consistency`` and the weekly experience-level section on the benchmark database.

    python benchmarks/make_bench_db.py                 # once: benchmarks/work/bench_1m.db (1M tickets, 100k reviews)
    python benchmarks/bench_consistency.py             # 5 runs of each measurement, medians and ratios
    python benchmarks/bench_consistency.py --quick     # on benchmarks/work/bench_quick.db (make_bench_db.py --quick)

Measures, interleaved per run, over the 8 weeks up to the latest resolution time in the database:

- **consistency --by group / assignee**: ``consistency()`` (tickets, reviews, answers, cell scores, flags) and
  rendering it to Markdown, in a fresh session;
- **SQL alone**: the statements one ``--by group`` run issued (captured once), replayed on a plain ``sqlite3``
  connection, fetching every row: the data the report needs, without any Python around it;
- **experience**: ``experience_summary`` (the week's distribution, 8-week trend, "ultimate" reviews).

Target: consistency median < 5 s on 1M tickets and within 3x of SQL alone; experience < 1 s.
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

WORK = Path(__file__).resolve().parent / "work"


def latest(path: Path) -> datetime:
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        (text,) = con.execute("SELECT max(resolved_at) FROM ticket").fetchone()
    finally:
        con.close()
    if text is None:
        sys.exit(f"{path} has no resolved tickets")
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def run_consistency(url: str, by: str, end: datetime) -> tuple[float, int, int]:
    from butterfly.reports.consistency import consistency, render_consistency
    from butterfly.store.db import open_session

    start = time.perf_counter()
    with open_session(url) as session:
        report = consistency(session=session, by=by, weeks=8, end=end)
    text = render_consistency(report, fmt="md")
    elapsed = time.perf_counter() - start
    return elapsed, report.overall.tickets, len(text)


def run_experience(url: str, end: datetime) -> tuple[float, int]:
    from butterfly.reports.experience_stats import experience_summary
    from butterfly.store.db import open_session

    week_start = end - timedelta(days=end.weekday(), hours=end.hour, minutes=end.minute, seconds=end.second)
    start = time.perf_counter()
    with open_session(url) as session:
        summary = experience_summary(session=session, week_start=week_start, language="en")
    return time.perf_counter() - start, sum(d.total for d in summary.trend)


def capture_sql(url: str, end: datetime) -> list[tuple[str, Any]]:
    from sqlalchemy import event

    from butterfly.reports.consistency import consistency
    from butterfly.store.db import get_engine, open_session

    seen: list[tuple[str, Any]] = []

    def record(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append((statement, parameters))

    engine = get_engine(url)
    with open_session(url) as session:
        session.connection()
        event.listen(engine, "before_cursor_execute", record)
        try:
            consistency(session=session, by="group", weeks=8, end=end)
        finally:
            event.remove(engine, "before_cursor_execute", record)
    return seen


def run_sql(path: Path, statements: list[tuple[str, Any]]) -> tuple[float, int]:
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    rows = 0
    start = time.perf_counter()
    try:
        for statement, parameters in statements:
            rows += len(con.execute(statement, parameters).fetchall())
    finally:
        con.close()
    return time.perf_counter() - start, rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="use benchmarks/work/bench_quick.db")
    parser.add_argument("--db", type=Path, help="another SQLite database")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    path = args.db or WORK / ("bench_quick.db" if args.quick else "bench_1m.db")
    if not path.exists():
        sys.exit(f"{path} not found: run python benchmarks/make_bench_db.py{' --quick' if args.quick else ''} first")
    from butterfly.store.db import dispose_engines, sqlite_url

    url = sqlite_url(path)
    end = latest(path)
    statements = capture_sql(url, end)
    dispose_engines()
    times: dict[str, list[float]] = {"group": [], "assignee": [], "sql": [], "experience": []}
    facts: dict[str, int] = {}
    for _ in range(args.runs):
        for by in ("group", "assignee"):
            elapsed, tickets, size = run_consistency(url, by, end)
            times[by].append(elapsed)
            facts["tickets"], facts[f"md_chars_{by}"] = tickets, size
            dispose_engines()
        elapsed, rows = run_sql(path, statements)
        times["sql"].append(elapsed)
        facts["sql_rows"] = rows
        elapsed, rated = run_experience(url, end)
        times["experience"].append(elapsed)
        facts["rated_reviews_8w"] = rated
        dispose_engines()
    med = {k: statistics.median(v) for k, v in times.items()}
    print(f"database: {path} · window: 8 weeks to {end:%Y-%m-%d %H:%M} UTC · runs: {args.runs}")
    print(f"tickets in the window: {facts['tickets']:,} · rows fetched by SQL alone: {facts['sql_rows']:,}")
    print(f"consistency --by group     median {med['group']:.2f} s  ({med['group'] / med['sql']:.1f}x SQL alone)")
    print(f"consistency --by assignee  median {med['assignee']:.2f} s  ({med['assignee'] / med['sql']:.1f}x SQL alone)")
    print(f"SQL alone (group)          median {med['sql']:.2f} s")
    print(f"experience summary         median {med['experience']:.2f} s  ({facts['rated_reviews_8w']:,} rated reviews)")


if __name__ == "__main__":
    main()
