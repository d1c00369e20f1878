"""Speed of the weekly report on the 1M-ticket benchmark database (100k reviews).

    python benchmarks/make_bench_db.py             # once: benchmarks/work/bench_1m.db
    python benchmarks/bench_weekly.py              # 5 runs of each measurement, medians and ratio
    python benchmarks/bench_weekly.py --quick      # on benchmarks/work/bench_quick.db (make_bench_db.py --quick)

Measures, interleaved per run:

- **report**: ``build_weekly_report`` (all sections) plus rendering it to Markdown, in a fresh session;
- **SQL alone**: every SQL statement that report run issued (captured once), replayed on a plain ``sqlite3``
  connection, fetching all rows: the raw aggregates the report needs, without any Python around them;
- **grouping**: text + category grouping alone, of at least ``--group-size`` (20,000) closed tickets: the week's,
  widened a week at a time when the week has fewer.

Targets: report median < 10 s and within 3x of SQL alone; grouping < 5 s. ``--plans`` prints each statement's
query plan (SQLite ``EXPLAIN QUERY PLAN``).
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import sys
import time
from pathlib import Path
from typing import Any

WORK = Path(__file__).resolve().parent / "work"


def capture_sql(url: str, week: str) -> list[tuple[str, Any]]:
    """Run the report once and return the statements it sent to the database, with their parameters."""
    from sqlalchemy import event

    from butterfly.reports.weekly.build import build_weekly_report
    from butterfly.store.db import get_engine, open_session

    seen: list[tuple[str, Any]] = []

    def record(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append((statement, parameters))

    engine = get_engine(url)
    with open_session(url) as session:
        session.connection()  # migrations checked before we listen
        event.listen(engine, "before_cursor_execute", record)
        try:
            build_weekly_report(session=session, week=week)
        finally:
            event.remove(engine, "before_cursor_execute", record)
    return seen


def run_report(url: str, week: str) -> tuple[float, int, int]:
    from butterfly.labels import labels
    from butterfly.reports.rendering import render_report
    from butterfly.reports.weekly.build import build_weekly_report
    from butterfly.store.db import open_session

    started = time.perf_counter()
    with open_session(url) as session:
        data = build_weekly_report(session=session, week=week)
    text = render_report("weekly", data, fmt="md", labels=labels("en"), lang="en", tz="UTC")
    return time.perf_counter() - started, data.closed_tickets, len(text)


def run_sql(path: Path, statements: list[tuple[str, Any]]) -> float:
    con = sqlite3.connect(path)
    started = time.perf_counter()
    for sql, params in statements:
        con.execute(sql, params).fetchall()
    elapsed = time.perf_counter() - started
    con.close()
    return elapsed


def run_grouping(url: str, week: str, at_least: int = 0) -> tuple[float, int]:
    """Group the week's closed tickets; with ``at_least``, widen the window a week at a time until it has that many
    (the generated data closes ~6k tickets a week; the target is stated for a ~20k-ticket week)."""
    from datetime import timedelta

    from butterfly.reports.recurring import GroupInput, group_labels
    from butterfly.reports.weekly.common import closed_tickets
    from butterfly.reports.weekly.weeks import parse_week, week_bounds
    from butterfly.store.db import open_session

    start, end = week_bounds(*parse_week(week))
    with open_session(url) as session:
        tickets = closed_tickets(session, start, end)
        while len(tickets) < at_least:
            start -= timedelta(weeks=1)
            tickets = closed_tickets(session, start, end)
    items = [GroupInput(t.subject, t.description, t.category, t.subcategory, t.tags) for t in tickets]
    started = time.perf_counter()
    group_labels(items)
    return time.perf_counter() - started, len(items)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="use benchmarks/work/bench_quick.db")
    parser.add_argument("--db", type=Path, help="benchmark database (default: bench_1m.db, or bench_quick.db)")
    parser.add_argument("--week", default="2026-W46", help="ISO week to report (default 2026-W46)")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--plans", action="store_true", help="print the query plan of every statement")
    parser.add_argument("--group-size", type=int, default=20_000, help="tickets for the grouping measurement")
    args = parser.parse_args()
    path = args.db or WORK / ("bench_quick.db" if args.quick else "bench_1m.db")
    if not path.exists():
        print(
            f"{path} not found: run python benchmarks/make_bench_db.py{' --quick' if args.quick else ''}",
            file=sys.stderr,
        )
        return 2
    from butterfly.store.db import dispose_engines, sqlite_url

    url = sqlite_url(path)
    statements = capture_sql(url, args.week)
    print(f"{path.name}: week {args.week}, {len(statements)} SELECT statements per report")
    if args.plans:
        con = sqlite3.connect(path)
        for sql, params in statements:
            print("\n" + " ".join(sql.split())[:400])
            for row in con.execute("EXPLAIN QUERY PLAN " + sql, params):
                print("   ", row[-1])
        con.close()
    report_times, sql_times, group_times = [], [], []
    closed = groups_n = 0
    for i in range(args.runs):
        dispose_engines()
        t_report, closed, _size = run_report(url, args.week)
        t_sql = run_sql(path, statements)
        t_group, groups_n = run_grouping(url, args.week, args.group_size)
        report_times.append(t_report)
        sql_times.append(t_sql)
        group_times.append(t_group)
        print(f"  run {i + 1}: report {t_report:.2f} s, SQL alone {t_sql:.2f} s, grouping {t_group:.2f} s", flush=True)
    rep, sql, grp = (statistics.median(x) for x in (report_times, sql_times, group_times))
    print(f"\nclosed tickets in the week: {closed:,}; grouping measured on {groups_n:,} closed tickets")
    print(
        f"weekly report (all sections + Markdown): median {rep:.2f} s   target < 10 s   {'OK' if rep < 10 else 'MISSED'}"
    )
    print(f"raw SQL aggregates alone:                median {sql:.2f} s")
    ratio = rep / sql if sql else float("inf")
    print(f"ratio report / SQL:                      {ratio:.2f}x   target <= 3x   {'OK' if ratio <= 3 else 'MISSED'}")
    print(
        f"grouping of the week's tickets:          median {grp:.2f} s   target < 5 s   {'OK' if grp < 5 else 'MISSED'}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
