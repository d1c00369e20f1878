"""Constant memory for ``butterfly export reviews``: peak RSS does not grow with the number of rows exported.

    python benchmarks/bench_export.py             # 2,000 and 40,000 reviews x 25 answers (50k / 1M rows)
    python benchmarks/bench_export.py --quick     # 400 and 8,000 reviews (10k / 200k rows)
    python benchmarks/bench_export.py --pg        # also on PostgreSQL (BUTTERFLY_TEST_PG_URL; a scratch database)

Each database is built once in ``benchmarks/work/`` (SQLite; reused when it is already the right size) by bulk
inserts that bypass the ORM. Every export runs in a fresh process (``python -m butterfly export reviews …``)
writing to a file; the process reports its own peak RSS (``VmHWM``) and wall time. The floor — the same
command selecting no rows (``--since 2999-01-01``) — runs interleaved, so what the export itself costs is visible
apart from the interpreter and imports. Printed: medians per size and format, rows/s, and the ratio of the large
export's peak RSS to the small one's (target: <= 1.2, i.e. memory does not follow the row count).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "benchmarks" / "work"
ANSWERS_PER_REVIEW = 25
STAMP = "2026-11-18 09:30:00.000000"

_RUNNER = """
import sys, time
from butterfly.cli import app
started = time.perf_counter()
try:
    app(sys.argv[1:], prog_name="butterfly")
except SystemExit as exc:
    code = exc.code or 0
else:
    code = 0
elapsed = time.perf_counter() - started
# VmHWM belongs to this process image (ru_maxrss would carry the parent's peak across fork + exec)
hwm = next(int(x.split()[1]) for x in open("/proc/self/status") if x.startswith("VmHWM:"))
print(f"BENCH {code} {elapsed:.4f} {hwm}", file=sys.stderr)
"""


def question_ids() -> list[str]:
    from butterfly.checklist.model import load_builtin

    return load_builtin("butterfly", "en").question_ids()[:ANSWERS_PER_REVIEW]


def build_sqlite(path: Path, reviews: int) -> None:
    import sqlite3

    if path.exists():
        try:
            with sqlite3.connect(path) as conn:
                if conn.execute("SELECT count(*) FROM review").fetchone()[0] == reviews:
                    print(f"database: {path} ({reviews:,} reviews, reused)")
                    return
        except sqlite3.Error:
            pass
        path.unlink()
    from butterfly.store.db import dispose_engines, ensure_schema, get_engine, sqlite_url

    ensure_schema(get_engine(sqlite_url(path)))
    dispose_engines()
    started = time.perf_counter()
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA synchronous = OFF")
    chunk = 5000
    for start in range(0, reviews, chunk):
        tickets, revs, answers = _rows_slice(start, min(start + chunk, reviews))
        conn.executemany(
            "INSERT INTO ticket (id, source, external_id, customer, tags, status, content_hash, imported_at, "
            "closed_at) VALUES (?,?,?,?,?,?,?,?,?)",
            tickets,
        )
        conn.executemany(
            "INSERT INTO review (id, ticket_id, reviewer, checklist_id, checklist_version, language, lenses, status, "
            "started_at, updated_at, completed_at, version) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
            revs,
        )
        conn.executemany(
            "INSERT INTO answer (review_id, question_id, value, na, answered_at, answered_by, version) "
            "VALUES (?,?,?,?,?,?,?)",
            answers,
        )
        conn.commit()
    conn.close()
    print(f"built {path} ({reviews:,} reviews) in {time.perf_counter() - started:.1f} s", flush=True)


def _rows_slice(
    start: int, end: int
) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]], list[tuple[object, ...]]]:
    rng = random.Random(start)
    qids = question_ids()
    tickets, revs, answers = [], [], []
    for i in range(start + 1, end + 1):
        tickets.append((i, "bench", f"B{i:08d}", f"Customer {i % 997}", "[]", "closed", f"h{i}", STAMP, STAMP))
        revs.append((i, i, f"lead{i % 7}", "butterfly", "1.0", "en", "[]", "complete", STAMP, STAMP, STAMP, 1))
        for qid in qids:
            value = json.dumps(rng.choice([0, 1, 2, True, "a free-text answer about the refund process"]))
            answers.append((i, qid, value, False, STAMP, f"lead{i % 7}", 1))
    return tickets, revs, answers


def build_pg(base_url: str, reviews: int) -> str:
    """A scratch PostgreSQL database holding ``reviews`` reviews (dropped by :func:`drop_pg`)."""
    import psycopg

    name = f"butterfly_bench_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin_url = base_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = f"{base_url.rsplit('/', 1)[0]}/{name}"
    from butterfly.store.db import dispose_engines, ensure_schema, get_engine

    ensure_schema(get_engine(url))
    dispose_engines()
    started = time.perf_counter()
    stamp = STAMP + "+00"
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as conn:
        for start in range(0, reviews, 5000):
            tickets, revs, answers = _rows_slice(start, min(start + 5000, reviews))
            with conn.cursor() as cur:
                with cur.copy(
                    "COPY ticket (id, source, external_id, customer, tags, status, content_hash, imported_at, "
                    "closed_at) FROM STDIN"
                ) as copy:
                    for t in tickets:
                        copy.write_row((*t[:7], stamp, stamp))
                with cur.copy(
                    "COPY review (id, ticket_id, reviewer, checklist_id, checklist_version, language, lenses, status, "
                    "started_at, updated_at, completed_at, version) FROM STDIN"
                ) as copy:
                    for r in revs:
                        copy.write_row((*r[:8], stamp, stamp, stamp, 1))
                with cur.copy(
                    "COPY answer (review_id, question_id, value, na, answered_at, answered_by, version) FROM STDIN"
                ) as copy:
                    for a in answers:
                        copy.write_row((a[0], a[1], a[2], a[3], stamp, a[5], a[6]))
            conn.commit()
        conn.execute("ANALYZE")
    print(f"built PostgreSQL {name} ({reviews:,} reviews) in {time.perf_counter() - started:.1f} s", flush=True)
    return url


def drop_pg(base_url: str, url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    with psycopg.connect(base_url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def run_export(db: str, fmt: str, out: Path, *extra: str) -> tuple[float, int]:
    """(seconds, peak RSS in KiB) of one export in a fresh process."""
    args = ["export", "reviews", "--db", db, "--format", fmt, "-o", str(out), *extra]
    proc = subprocess.run([sys.executable, "-c", _RUNNER, *args], capture_output=True, text=True, check=False)
    line = next((x for x in proc.stderr.splitlines() if x.startswith("BENCH ")), None)
    if line is None or not line.startswith("BENCH 0 "):
        raise SystemExit(f"export failed: {proc.stderr}")
    _, _, seconds, rss = line.split()
    return float(seconds), int(rss)


def measure(label: str, db: str, rows: int, formats: list[str], runs: int) -> dict[str, dict[str, float]]:
    results: dict[str, dict[str, float]] = {}
    out = WORK / "export.out"
    for fmt in formats:
        times, peaks, floors = [], [], []
        for _ in range(runs):
            _, floor = run_export(db, fmt, out, "--since", "2999-01-01")
            seconds, peak = run_export(db, fmt, out)
            floors.append(floor)
            times.append(seconds)
            peaks.append(peak)
        t, p, f = statistics.median(times), statistics.median(peaks), statistics.median(floors)
        results[fmt] = {"seconds": t, "peak_kib": p, "floor_kib": f}
        print(
            f"{label:<22} {fmt:<6} {rows:>10,} rows  {t:7.2f} s  {rows / t:10,.0f} rows/s  "
            f"peak {p / 1024:6.1f} MiB  (floor {f / 1024:6.1f} MiB, export adds {(p - f) / 1024:5.1f} MiB)",
            flush=True,
        )
    out.unlink(missing_ok=True)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small sizes, one run each")
    parser.add_argument("--runs", type=int, default=3, help="runs per measurement (median)")
    parser.add_argument("--pg", action="store_true", help="also measure on PostgreSQL (a scratch database)")
    args = parser.parse_args()
    small, large = (400, 8_000) if args.quick else (2_000, 40_000)
    runs = 1 if args.quick else args.runs
    formats = ["jsonl", "csv"] if args.quick else ["jsonl", "csv", "json"]
    WORK.mkdir(parents=True, exist_ok=True)

    from butterfly.store.db import sqlite_url

    print(f"answers per review: {ANSWERS_PER_REVIEW}; medians of {runs} run(s); machine shared, expect noise\n")
    measured: dict[str, dict[int, dict[str, dict[str, float]]]] = {"sqlite": {}}
    for reviews in (small, large):
        path = WORK / f"export_{reviews}.db"
        build_sqlite(path, reviews)
        measured["sqlite"][reviews] = measure("sqlite", sqlite_url(path), reviews * ANSWERS_PER_REVIEW, formats, runs)
    if args.pg:
        base = os.environ.get("BUTTERFLY_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
        measured["postgresql"] = {}
        for reviews in (small, large):
            url = build_pg(base, reviews)
            try:
                measured["postgresql"][reviews] = measure(
                    "postgresql", url, reviews * ANSWERS_PER_REVIEW, formats, runs
                )
            finally:
                drop_pg(base, url)

    print(
        f"\nlarge ({large * ANSWERS_PER_REVIEW:,} rows) vs small ({small * ANSWERS_PER_REVIEW:,} rows), "
        f"{large // small}x the rows:"
    )
    for backend, sizes in measured.items():
        for fmt in formats:
            a, b = sizes[small][fmt], sizes[large][fmt]
            print(
                f"  {backend:<10} {fmt:<6} peak RSS ratio {b['peak_kib'] / a['peak_kib']:.2f} "
                f"(target <= 1.2); time ratio {b['seconds'] / a['seconds']:.1f}"
            )


if __name__ == "__main__":
    main()
