"""Review walk speed on a big database: Enter → first question, and the cost of saving one answer.

    python benchmarks/bench_review.py                 # 1,000,000 tickets in benchmarks/work/review_1m.db
    python benchmarks/bench_review.py --quick         # 20,000 tickets, fewer runs

Targets: from Enter to the first question < 1.5 s median (a fresh process under a pty, the context panel with the
customer's history and the similar-ticket look-up included); each answer saved < 50 ms median.

The database is built once with ``benchmarks/generate_tickets.py`` and ``butterfly import`` (reused when it
already holds enough tickets). Every timed walk opens a *new* review (a fresh reviewer name) on a random closed
ticket, so nothing is warmed up by an earlier run of the same ticket. The start-up floor (``butterfly --version``
in the same pty) is measured interleaved, and the ratio is printed, because the machine is shared and noisy.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "benchmarks" / "work"


def _ticket_count(db: Path) -> int:
    import sqlite3

    if not db.exists():
        return 0
    try:
        with sqlite3.connect(db) as conn:
            return int(conn.execute("SELECT count(*) FROM ticket").fetchone()[0])
    except sqlite3.Error:
        return 0


def build(db: Path, rows: int, csv_path: Path) -> None:
    """Generate ``rows`` tickets and import them into ``db`` unless it already holds that many."""
    have = _ticket_count(db)
    if have >= rows:
        print(f"database: {db} ({have:,} tickets, reused)")
        return
    WORK.mkdir(parents=True, exist_ok=True)
    if not csv_path.exists() or have:
        print(f"generating {rows:,} tickets -> {csv_path}", flush=True)
        subprocess.run(
            [
                sys.executable,
                str(ROOT / "benchmarks" / "generate_tickets.py"),
                "--rows",
                str(rows),
                "-o",
                str(csv_path),
            ],
            check=True,
        )
    print(f"importing into {db} (once) ...", flush=True)
    started = time.perf_counter()
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "butterfly",
            "import",
            str(csv_path),
            "--db",
            str(db),
            "--rejects",
            str(WORK / "rejects.txt"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode not in (0, 1):
        sys.exit(f"import failed:\n{result.stderr[-2000:]}")
    print(f"  imported {_ticket_count(db):,} tickets in {time.perf_counter() - started:.0f} s")


def _sample_tickets(url: str, n: int, seed: int) -> list[str]:
    from sqlmodel import col, func, select

    from butterfly.store.db import open_session
    from butterfly.store.models import Ticket

    with open_session(url) as s:
        top = s.exec(select(func.max(Ticket.id))).one() or 0
        rng = random.Random(seed)
        out: list[str] = []
        while len(out) < n:
            ids = [rng.randint(1, top) for _ in range(n * 4)]
            rows = s.exec(
                select(Ticket.external_id).where(
                    col(Ticket.id).in_(ids), col(Ticket.status).in_(("closed", "resolved"))
                )
            ).all()
            out.extend(rows)
        return out[:n]


def _pty_time(argv: list[str], until: str, then: str | None) -> tuple[float, float]:
    """Wall time from spawn to ``until`` on the pty, and the child's whole CPU time (user + system)."""
    import resource

    import pexpect

    env = dict(os.environ, TERM="dumb", NO_COLOR="1", COLUMNS="160")
    env.pop("CI", None)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    child = pexpect.spawn(argv[0], argv[1:], env=env, encoding="utf-8", timeout=120, dimensions=(50, 160))
    child.expect(until)
    elapsed = time.perf_counter() - started
    if then is not None:
        child.sendline(then)
    child.expect(pexpect.EOF)
    child.close()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return elapsed, cpu


def enter_to_first_question(db: Path, tickets: list[str]) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {"walk": [], "walk cpu": [], "floor": [], "floor cpu": []}
    stamp = f"bench{os.getpid()}"
    for i, ref in enumerate(tickets):
        wall, cpu = _pty_time([sys.executable, "-m", "butterfly", "--version"], "butterfly ", None)
        out["floor"].append(wall)
        out["floor cpu"].append(cpu)
        argv = [sys.executable, "-m", "butterfly", "review", ref, "--db", str(db), "--reviewer", f"{stamp}-{i}"]
        wall, cpu = _pty_time(argv, r"answered\r?\n.*\r?\n> ", "q")
        out["walk"].append(wall)
        out["walk cpu"].append(cpu)
    return out


def context_lookups(url: str, tickets: list[str]) -> dict[str, list[float]]:
    from butterfly.review.similar import customer_history, similar_tickets
    from butterfly.store.db import open_session
    from butterfly.tickets import get_ticket

    out: dict[str, list[float]] = {"history": [], "similar": []}
    with open_session(url) as s:
        for ref in tickets:
            t = get_ticket(session=s, ref=ref)
            started = time.perf_counter()
            customer_history(session=s, ticket=t)
            out["history"].append(time.perf_counter() - started)
            started = time.perf_counter()
            similar_tickets(session=s, ticket=t, limit=5)
            out["similar"].append(time.perf_counter() - started)
    return out


def answer_saves(url: str, ref: str, n: int) -> dict[str, list[float]]:
    from butterfly.checklist.model import AnswerKind, load_builtin
    from butterfly.review.answers import save_answer
    from butterfly.review.lifecycle import set_position, start_review
    from butterfly.store.db import open_session
    from butterfly.tickets import get_ticket

    cl = load_builtin("butterfly", "en")
    ratings = [q.id for q in cl.questions if q.kind is AnswerKind.rating]
    out: dict[str, list[float]] = {"save_answer": [], "walk step (save + position)": []}
    with open_session(url) as s:
        review = start_review(
            session=s, ticket=get_ticket(session=s, ref=ref), reviewer=f"bench-saves-{os.getpid()}", checklist=cl
        )
        for i in range(n):
            qid = ratings[i % len(ratings)]
            value = (i // len(ratings)) % 3
            started = time.perf_counter()
            save_answer(session=s, review_id=review.id, question_id=qid, value=value, by="bench")
            mid = time.perf_counter()
            review = set_position(session=s, review=review, question_id=qid)
            done = time.perf_counter()
            out["save_answer"].append(mid - started)
            out["walk step (save + position)"].append(done - started)
    return out


def pg_saves(server_url: str, n: int) -> dict[str, list[float]]:
    """The same answer-save loop on a throw-away PostgreSQL database (created and dropped here)."""
    import psycopg

    from butterfly.store.db import dispose_engines
    from butterfly.store.models import Ticket

    plain = server_url.replace("postgresql+psycopg://", "postgresql://")
    name = f"butterfly_bench_review_{os.getpid()}"
    with psycopg.connect(plain, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = server_url.rsplit("/", 1)[0] + "/" + name
    try:
        from butterfly.store.db import open_session

        with open_session(url) as s:
            s.add(Ticket(source="bench", external_id="B-1", status="closed", content_hash="x"))
            s.commit()
        return answer_saves(url, "B-1", n)
    finally:
        dispose_engines()
        with psycopg.connect(plain, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _ms(values: list[float]) -> str:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    return f"median {statistics.median(values) * 1000:7.1f} ms   p95 {p95 * 1000:7.1f} ms   (n={len(values)})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="20,000 tickets, 3 walks, 60 saves")
    parser.add_argument("--rows", type=int, default=None, help="tickets in the database (default 1,000,000)")
    parser.add_argument("--db", type=Path, default=None, help="SQLite file (default benchmarks/work/review_<rows>.db)")
    parser.add_argument("--runs", type=int, default=None, help="timed walks (default 7)")
    parser.add_argument("--saves", type=int, default=None, help="timed answer saves (default 300)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--pg",
        metavar="URL",
        default=None,
        help="also time answer saves on PostgreSQL (a throw-away database is created on this server and dropped)",
    )
    args = parser.parse_args()
    rows = args.rows or (20_000 if args.quick else 1_000_000)
    runs = args.runs or (3 if args.quick else 7)
    saves = args.saves or (60 if args.quick else 300)
    label = "1m" if rows == 1_000_000 else str(rows)
    db = args.db or WORK / f"review_{label}.db"
    csv_path = WORK / f"tickets_{label}.csv"
    build(db, rows, csv_path)
    from butterfly.store.db import sqlite_url

    url = sqlite_url(db)
    tickets = _sample_tickets(url, runs + 30, args.seed)

    print(f"\nEnter → first question ({runs} fresh reviews, a new process under a pty each):")
    t = enter_to_first_question(db, tickets[:runs])
    walk, floor = t["walk"], t["floor"]
    print(f"  butterfly review TICKET    {_ms(walk)}")
    print(f"  butterfly --version        {_ms(floor)}   (start-up floor)")
    print(f"  ratio walk/floor           {statistics.median(walk) / statistics.median(floor):.2f}x")
    print(f"  CPU time (user+sys)        review {_ms(t['walk cpu'])}")
    print(f"                             --version {_ms(t['floor cpu'])}")
    target = statistics.median(walk) < 1.5
    print(f"  target < 1500 ms median:   {'met' if target else 'MISSED'}")

    print("\ncontext look-ups in-process (30 tickets, warm process):")
    for name, values in context_lookups(url, tickets[runs:]).items():
        print(f"  {name:<26} {_ms(values)}")

    print(f"\nsaving answers ({saves} saves on one review; each commits):")
    timings = answer_saves(url, tickets[0], saves)
    for name, values in timings.items():
        print(f"  {name:<26} {_ms(values)}")
    ok = statistics.median(timings["save_answer"]) < 0.05
    print(f"  target < 50 ms median:     {'met' if ok else 'MISSED'}")
    if args.pg:
        print(f"\nsaving answers on PostgreSQL ({saves} saves):")
        for name, values in pg_saves(args.pg, saves).items():
            print(f"  {name:<26} {_ms(values)}")


if __name__ == "__main__":
    main()
