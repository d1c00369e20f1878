"""Proof of reliability: concurrent load, injected faults and fuzzing, on SQLite and PostgreSQL.

    python benchmarks/reliability.py            # the full run (about 10-20 minutes on 2 busy cores)
    python benchmarks/reliability.py --quick    # a small run (a few minutes)
    python benchmarks/reliability.py --no-pg    # SQLite only
    python benchmarks/reliability.py --only hostile --no-pg   # hostile files, links and URLs (a few minutes)

Writes ``benchmarks/RELIABILITY.md`` (``-o`` to change): a table of the load held (processes x answers on each
backend, every answer stored once, history complete, no lost update, conflicts surfaced), the faults injected and
survived (PostgreSQL stopped or unreachable, SQLite locked / read-only / disk full, a database from a newer
release, kill -9 during an import, a review save and report rendering) and the fuzz cases run (checklists,
answers files, every importer, hostile ticket text), with nothing lost. Every row is a check that can fail; the
script exits 1 if one did.

PostgreSQL comes from ``BUTTERFLY_TEST_PG_URL`` (default ``postgresql+psycopg://postgres@127.0.0.1:5432/test``):
each scenario creates and drops its own database there; the "server stopped" faults use a private throwaway
cluster (``initdb`` under a temp dir, its own port) and never touch that server. The fault and load machinery is
shared with the test suite (``tests/faultkit.py``, ``tests/loadkit.py``). Work files go to
``benchmarks/work/reliability/`` (git-ignored).
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import json
import os
import platform
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from generate_tickets import ensure_csv  # benchmarks/ is on sys.path when this script runs
from reliability_hostile import fuzz_hostile_yaml, hostile_faults

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))
WORK = ROOT / "benchmarks" / "work" / "reliability"
PG_URL = os.environ.get("BUTTERFLY_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


# -- results ---------------------------------------------------------------------------------------------------


@dataclass
class LoadRow:
    backend: str
    scenario: str
    processes: int
    planned: int
    stored_once: int
    expected_answers: int
    history: int
    conflicts: int
    slowest: float
    seconds: float
    problems: list[str]

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass
class FaultRow:
    fault: str
    backend: str
    how: str
    saw: str
    exit_code: str
    intact: bool
    ok: bool
    detail: str = ""


@dataclass
class FuzzRow:
    target: str
    cases: int = 0
    errors: int = 0  # a clear error (FileProblemsError / exit 2 with Error:)
    accepted: int = 0  # valid input, or imported with rejects
    crashes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.crashes


@dataclass
class Report:
    quick: bool
    load: list[LoadRow] = field(default_factory=list)
    faults: list[FaultRow] = field(default_factory=list)
    fuzz: list[FuzzRow] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def log(message: str) -> None:
    print(f"[{datetime.now():%H:%M:%S}] {message}", flush=True)


# -- databases ------------------------------------------------------------------------------------------------


def pg_available() -> str | None:
    try:
        import psycopg

        with psycopg.connect(PG_URL.replace("postgresql+psycopg://", "postgresql://"), connect_timeout=5):
            return None
    except Exception as exc:
        return f"PostgreSQL not reachable at {PG_URL}: {str(exc).splitlines()[0]}"


@contextlib.contextmanager
def database(backend: str, tag: str) -> Iterator[str]:
    """A fresh, empty database URL on ``backend`` (dropped / deleted afterwards)."""
    from butterfly.store.db import dispose_engines, sqlite_url

    if backend == "sqlite":
        folder = WORK / f"{tag}-{uuid.uuid4().hex[:6]}"
        folder.mkdir(parents=True)
        try:
            yield sqlite_url(folder / "butterfly.db")
        finally:
            dispose_engines()
            shutil.rmtree(folder, ignore_errors=True)
        return
    import psycopg

    admin_url = PG_URL.replace("postgresql+psycopg://", "postgresql://")
    name = f"reliability_{tag.replace('-', '_')}_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield PG_URL.rsplit("/", 1)[0] + "/" + name
    finally:
        dispose_engines()
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def check_ok(url: str) -> tuple[bool, str]:
    """``butterfly db check`` in a fresh process: (ok, first problem)."""
    from faultkit import run

    result = run(["db", "check", "--db", url, "--json"])
    if result.returncode != 0:
        try:
            bad = [c for c in json.loads(result.stdout)["checks"] if c["level"] == "problem"]
            return False, f"{bad[0]['name']}: {bad[0]['detail']}" if bad else result.stderr.strip()[:200]
        except (ValueError, KeyError):
            return False, (result.stdout + result.stderr).strip()[:200]
    return True, "ok"


def first_error(text: str) -> str:
    for line in text.splitlines():
        if line.startswith("Error: "):
            return line[len("Error: ") :][:150]
    return text.strip().splitlines()[-1][:150] if text.strip() else ""


def generate_csv(rows: int, seed: int) -> Path:
    return ensure_csv(rows, seed, WORK / f"tickets-{rows}-{seed}.csv")


def count(url: str, table: str) -> int:
    import sqlalchemy as sa

    from butterfly.store.db import get_engine

    try:
        with get_engine(url).connect() as conn:
            return int(conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one())
    except Exception:
        return 0


# -- load -----------------------------------------------------------------------------------------------------


def load_scenarios(report: Report, backends: list[str], quick: bool) -> None:
    from loadkit import Plan, run_load, setup_reviews, verify

    workers, saves = (8, 40) if quick else (16, 250)
    for backend in backends:
        with database(backend, "load") as url:
            log(f"load: {workers} processes x {saves} saves on {backend}")
            shared, own = setup_reviews(url, reviewers=workers)
            from butterfly.store.db import dispose_engines

            dispose_engines()
            plan = Plan(
                url=url, workers=workers, answers=saves, shared_review=shared, own_reviews=own, optimistic="half"
            )
            started = time.perf_counter()
            results = run_load(plan)
            seconds = time.perf_counter() - started
            verdict = verify(url, results, plan)
            ok, detail = check_ok(url)
            report.load.append(
                LoadRow(
                    backend,
                    "same review + one review each of one ticket; half the writers optimistic",
                    workers,
                    workers * saves,
                    verdict.answers,
                    verdict.expected,
                    verdict.history,
                    verdict.conflicts,
                    max(r.slowest for r in results),
                    seconds,
                    verdict.problems + ([] if ok else [f"db check: {detail}"]),
                )
            )
        answers_race(report, backend, quick)
        import_while_reviewing(report, backend, quick)


def answers_race(report: Report, backend: str, quick: bool) -> None:
    """`butterfly review T --answers FILE` from many processes at once: 2 files racing per reviewer."""
    from loadkit import answers_file_data, history_count, setup_reviews, stored_answers

    from butterfly.checklist.model import load_builtin
    from butterfly.review.answers import validate_answer
    from butterfly.store.db import dispose_engines

    reviewers = 4 if quick else 8
    with database(backend, "race") as url:
        log(f"load: {reviewers * 2} `review --answers` processes on {backend}")
        setup_reviews(url, reviewers=0, ticket_ref="RACE-1")
        dispose_engines()
        files = []
        for variant in (0, 1):
            path = WORK / f"race-{variant}.json"
            path.write_text(json.dumps(answers_file_data(variant), ensure_ascii=False), encoding="utf-8")
            files.append(path)
        env = {**os.environ, "BUTTERFLY_SQLITE_BUSY_TIMEOUT": "120"}
        started = time.perf_counter()
        procs = [
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "butterfly",
                    "review",
                    "RACE-1",
                    "--answers",
                    str(f),
                    "--reviewer",
                    f"lead-{i}",
                    "--db",
                    url,
                ],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env=env,
            )
            for i in range(reviewers)
            for f in files
        ]
        outs = [p.communicate(timeout=900) for p in procs]
        seconds = time.perf_counter() - started
        problems = [
            f"exit {p.returncode}: {first_error(e)}" for p, (_, e) in zip(procs, outs, strict=True) if p.returncode
        ]
        checklist = load_builtin("butterfly", "en")
        forms = [
            {
                q.id: validate_answer(q, answers_file_data(n)[q.id], checklist.scale, tz="UTC")
                for q in checklist.questions
            }
            for n in (0, 1)
        ]
        n_q = len(checklist.questions)
        stored_total = history_total = 0
        from butterfly.review.lifecycle import get_review
        from butterfly.store.db import open_session
        from butterfly.tickets import get_ticket

        for i in range(reviewers):
            with open_session(url) as session:
                ticket = get_ticket(session=session, ref="RACE-1")
                review = get_review(session=session, ticket_id=ticket.id or 0, reviewer=f"lead-{i}")
            if review is None or review.id is None:
                problems.append(f"lead-{i}: no review")
                continue
            stored = stored_answers(url, review.id)
            stored_total += len(stored)
            history = history_count(url, review.id)
            history_total += history
            if stored not in forms:
                problems.append(f"lead-{i}: a mix of two files")
            if history != 2 * n_q:
                problems.append(f"lead-{i}: {history} history rows, expected {2 * n_q}")
        ok, detail = check_ok(url)
        report.load.append(
            LoadRow(
                backend,
                f"`review --answers`: {reviewers} reviewers x 2 racing files of {n_q} answers (one transaction each)",
                reviewers * 2,
                reviewers * 2 * n_q,
                stored_total,
                reviewers * n_q,
                history_total,
                0,
                0.0,
                seconds,
                problems + ([] if ok else [f"db check: {detail}"]),
            )
        )


def import_while_reviewing(report: Report, backend: str, quick: bool) -> None:
    from loadkit import Plan, run_load, setup_reviews, verify

    from butterfly.store.db import dispose_engines, open_session
    from butterfly.store.models import ImportRun

    rows = 20_000 if quick else 200_000
    workers, saves = 8, (30 if quick else 60)
    csv_path = generate_csv(rows, 11)
    with database(backend, "importing") as url:
        log(f"load: import of {rows:,} tickets while {workers} reviewers save on {backend}")
        shared, own = setup_reviews(url, reviewers=workers)
        dispose_engines()
        procs: list[subprocess.Popen[str]] = []

        def start_import() -> None:
            env = {**os.environ, "BUTTERFLY_SQLITE_BUSY_TIMEOUT": "300"}
            procs.append(
                subprocess.Popen(
                    [sys.executable, "-m", "butterfly", "import", str(csv_path), "--db", url, "--json"],
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                    env=env,
                )
            )

        plan = Plan(url=url, workers=workers, answers=saves, shared_review=shared, own_reviews=own, pause=0.2)
        started = time.perf_counter()
        results = run_load(plan, meanwhile=start_import)
        out, err = procs[0].communicate(timeout=1800)
        seconds = time.perf_counter() - started
        verdict = verify(url, results, plan)
        problems = list(verdict.problems)
        if procs[0].returncode != 0:
            problems.append(f"import exit {procs[0].returncode}: {first_error(err)}")
        else:
            new = sum(f["new"] for f in json.loads(out)["files"])
            if new != rows:
                problems.append(f"import created {new} of {rows}")
        tickets = count(url, "ticket")
        if tickets != rows + 1:
            problems.append(f"{tickets} tickets, expected {rows + 1}")
        with open_session(url) as session:
            from sqlalchemy import func, select

            from butterfly.store.models import AnswerChange

            run_row = session.execute(select(ImportRun)).scalars().first()
            last = session.execute(select(func.max(AnswerChange.changed_at))).scalar_one()
        if run_row is None or not run_row.started_at < last:
            problems.append("the import did not overlap the reviewers' work")
        ok, detail = check_ok(url)
        report.load.append(
            LoadRow(
                backend,
                f"import of {rows:,} tickets while {workers} reviewers save (paced 0.2 s)",
                workers + 1,
                workers * saves,
                verdict.answers,
                verdict.expected,
                verdict.history,
                verdict.conflicts,
                max(r.slowest for r in results),
                seconds,
                problems + ([] if ok else [f"db check: {detail}"]),
            )
        )


# -- faults ---------------------------------------------------------------------------------------------------

WRITE = """
import json, sys
from butterfly.store.db import open_session
from butterfly.errors import DatabaseError
from butterfly.store.models import Ticket
url, n, size, prefix = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
try:
    with open_session(url) as session:
        for i in range(n):
            session.add(Ticket(source="w", external_id=f"{prefix}{i}", description="x" * size, content_hash="h"))
        session.commit()
except DatabaseError as exc:
    print(json.dumps({"error": exc.message, "hint": exc.hint}))
    sys.exit(2)
print(json.dumps({"ok": n}))
"""


def _same(now: dict[str, int], before: dict[str, int]) -> bool:
    """Every saved row still there (the import log may gain a row for an import that failed)."""
    return all(now.get(t, 0) == n for t, n in before.items() if t != "import_run")


def _saw(result: subprocess.CompletedProcess[str]) -> str:
    if result.stdout.startswith("{") and '"error"' in result.stdout:
        return json.loads(result.stdout)["error"].split(": ", 1)[-1][:150]
    return first_error(result.stderr)


def _clean(result: subprocess.CompletedProcess[str]) -> bool:
    return result.returncode == 2 and "Traceback" not in result.stdout + result.stderr


def faults(report: Report, backends: list[str], quick: bool) -> None:
    from faultkit import counts, make_read_only, run, seed, tiny_tmpfs

    from butterfly.store.db import dispose_engines

    secret = "S3cret-reliability"

    def add(
        fault: str,
        backend: str,
        how: str,
        result: subprocess.CompletedProcess[str],
        intact: bool,
        extra_ok: bool = True,
    ) -> None:
        ok = _clean(result) and intact and extra_ok and secret not in result.stdout + result.stderr
        report.faults.append(FaultRow(fault, backend, how, _saw(result), str(result.returncode), intact, ok))
        log(f"fault: {fault} ({backend}): {'survived' if ok else 'FAILED'}")

    # PostgreSQL unreachable: a closed port
    for command in (
        ["db", "info"],
        ["tickets", "list"],
        ["review", "T-1", "--answers", str(ROOT / "examples" / "answers.yaml")],
    ):
        result = run([*command, "--db", f"postgresql+psycopg://lead:{secret}@127.0.0.1:1/butterfly"])
        add(
            "PostgreSQL unreachable (closed port)",
            "postgresql",
            f"`{' '.join(command[:2])}` against 127.0.0.1:1",
            result,
            True,
        )

    # PostgreSQL really stopped: a private cluster
    from faultkit import private_cluster, private_cluster_unavailable

    reason = private_cluster_unavailable()
    if reason:
        report.skipped.append(f"PostgreSQL server stopped: {reason}")
    else:
        with private_cluster() as cluster:
            url = cluster.create_database("stopped")
            saved = seed(url, tickets=50)
            dispose_engines()
            cluster.stop()
            try:
                for command in (["db", "info"], ["tickets", "list"]):
                    result = run([*command, "--db", url])
                    add(
                        "PostgreSQL server stopped",
                        "postgresql",
                        f"private cluster stopped; `{' '.join(command)}`",
                        result,
                        True,
                        True,
                    )
                writer = run([url, "1", "10", "X"], code=WRITE)
            finally:
                cluster.start()
            dispose_engines()
            intact = _same(counts(url), saved) and check_ok(url)[0]
            add("PostgreSQL server stopped", "postgresql", "private cluster stopped; a write", writer, intact)
            # stopped in the middle of work
            mid = _pg_stopped_midway(cluster)
            report.faults.append(mid)
            log(f"fault: {mid.fault}: {'survived' if mid.ok else 'FAILED'}")

    # SQLite: locked, read-only, disk full, newer release
    with database("sqlite", "faults") as url:
        from butterfly.store.db import sqlite_path

        path = sqlite_path(url)
        assert path is not None
        saved = seed(url, tickets=50)
        dispose_engines()
        env_short = {**os.environ, "BUTTERFLY_SQLITE_BUSY_TIMEOUT": "0.5"}
        # locked: rollback-journal file under BEGIN EXCLUSIVE -> readers and writers wait, then a clear error
        sqlite3.connect(path).execute("PRAGMA journal_mode = DELETE").close()
        holder = sqlite3.connect(path, isolation_level=None)
        holder.execute("BEGIN EXCLUSIVE")
        try:
            read = run(["tickets", "list", "--db", url], env=env_short)
            write = run([url, "1", "10", "X"], code=WRITE, env=env_short)
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        intact = _same(counts(url), saved)
        add(
            "SQLite file locked (BEGIN EXCLUSIVE elsewhere)",
            "sqlite",
            "`tickets list` after a 0.5 s busy timeout",
            read,
            intact,
        )
        add(
            "SQLite file locked (BEGIN EXCLUSIVE elsewhere)",
            "sqlite",
            "a write after a 0.5 s busy timeout",
            write,
            intact,
        )
        # WAL mode: another writer holds the lock; the reader works, the second writer gets a clear error
        dispose_engines()
        run(["db", "info", "--db", url])  # back to WAL
        holder = sqlite3.connect(path, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        try:
            reader = run(["tickets", "list", "--db", url], env=env_short)
            answers = WORK / "answers-fault.yaml"
            answers.write_text("customer.short.fast_accurate: 2\n", encoding="utf-8")
            write = run(["review", "T0001", "--answers", str(answers), "--reviewer", "x", "--db", url], env=env_short)
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        intact = _same(counts(url), saved) and reader.returncode == 0
        add("SQLite write lock held (WAL)", "sqlite", "`review --answers` while another process writes", write, intact)
        # read-only file and folder (file capabilities dropped when root)
        path.chmod(0o444)
        try:
            ro = run(["review", "T0001", "--answers", str(answers), "--reviewer", "x", "--db", url], unprivileged=True)
        finally:
            path.chmod(0o600)
        add("SQLite file read-only", "sqlite", "`review --answers` on a 0444 file", ro, _same(counts(url), saved))
        ro_dir = WORK / "ro-dir"
        ro_dir.mkdir(exist_ok=True)
        make_read_only(ro_dir)
        try:
            rod = run(
                ["import", str(ROOT / "examples" / "tickets.csv"), "--db", str(ro_dir / "new.db")], unprivileged=True
            )
        finally:
            ro_dir.chmod(0o755)
        add(
            "SQLite folder read-only",
            "sqlite",
            "`import` into a new database in a 0555 folder",
            rod,
            not (ro_dir / "new.db").exists(),
        )
        # disk full: RLIMIT_FSIZE (the kernel refuses the write)
        limit = path.stat().st_size + 128 * 1024
        full = run(["import", str(generate_csv(20_000, 5)), "--db", url], file_size_limit=limit)
        dispose_engines()
        intact = counts(url)["ticket"] == saved["ticket"] and check_ok(url)[0]
        add(
            "disk full (file-size limit)",
            "sqlite",
            "`import` of 20k tickets with RLIMIT_FSIZE = db + 128 KiB",
            full,
            intact,
        )
        # newer release
        with sqlite3.connect(path) as conn:
            conn.execute("UPDATE alembic_version SET version_num = '0999'")
        newer = run(["tickets", "list", "--db", url])
        check = run(["db", "check", "--db", url, "--json"])
        flagged = check.returncode == 1 and "unknown to this release" in check.stdout
        with sqlite3.connect(path) as conn:
            from butterfly.store.db import head_revision

            conn.execute("UPDATE alembic_version SET version_num = ?", (head_revision(),))
        add(
            "database made by a newer release",
            "sqlite",
            "schema revision 0999; `tickets list`",
            newer,
            _same(counts(url), saved),
            flagged,
        )
    with tiny_tmpfs(1024) as mount:
        if mount is None:
            report.skipped.append("disk full on a tmpfs: cannot mount here (not root)")
        else:
            from butterfly.store.db import sqlite_url

            url = sqlite_url(mount / "butterfly.db")
            saved = seed(url, tickets=20)
            dispose_engines()
            full = run(["import", str(generate_csv(20_000, 5)), "--db", url])
            dispose_engines()
            intact = counts(url)["ticket"] == saved["ticket"] and check_ok(url)[0]
            add("disk full (1 MiB tmpfs)", "sqlite", "`import` of 20k tickets onto a full disk", full, intact)
            dispose_engines()
    for backend in backends:
        crashes(report, backend, quick)


def _pg_stopped_midway(cluster: Any) -> FaultRow:
    from faultkit import counts

    from butterfly.store.db import dispose_engines

    url = cluster.create_database("midway")
    csv_path = generate_csv(200_000, 13)
    proc = subprocess.Popen(
        [sys.executable, "-m", "butterfly", "import", str(csv_path), "--db", url],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 300
    while count(url, "ticket") < 100_000 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    before = count(url, "ticket")
    dispose_engines()
    cluster.stop()
    _, err = proc.communicate(timeout=300)
    cluster.start()
    dispose_engines()
    after = counts(url)["ticket"]
    ok_check = check_ok(url)[0]
    rerun = subprocess.run(
        [sys.executable, "-m", "butterfly", "import", str(csv_path), "--db", url], capture_output=True, text=True
    )
    dispose_engines()
    complete = rerun.returncode == 0 and count(url, "ticket") == 200_000
    clean = proc.returncode == 2 and "Traceback" not in err
    intact = after == before and ok_check and complete
    return FaultRow(
        "PostgreSQL server stopped during an import",
        "postgresql",
        f"stopped after the first commit ({before:,} tickets); re-run",
        first_error(err),
        str(proc.returncode),
        intact,
        clean and intact,
        f"{after:,} kept, re-run completed: {complete}",
    )


def crashes(report: Report, backend: str, quick: bool) -> None:
    from loadkit import answers_file_data, history_count, stored_answers

    from butterfly.store.db import dispose_engines

    rows = 60_000 if quick else 250_000
    csv_path = generate_csv(rows, 7)
    # kill -9 during an import: into a table that already holds tickets (commits every 100k records), and a first
    # load into an empty SQLite table (one transaction that drops and rebuilds the indexes)
    for preloaded in (True, False) if backend == "sqlite" else (True,):
        kill_import(report, backend, csv_path, rows, preloaded=preloaded)
    # kill -9 during review saves
    with database(backend, "kill-review") as url:
        log(f"crash: kill -9 during review saves on {backend}")
        from faultkit import seed

        seed(url, tickets=12)
        dispose_engines()
        answers = WORK / "kill-answers.json"
        answers.write_text(json.dumps(answers_file_data(1), ensure_ascii=False), encoding="utf-8")
        n_q = len(answers_file_data(1))
        args = ["--answers", str(answers), "--reviewer", "lead", "--db", url]
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "butterfly", "review", "T0012", *args], capture_output=True, check=True)
        duration = time.perf_counter() - started
        attempts = 5 if quick else 10
        hits, torn = 0, 0
        for k in range(attempts):
            proc = subprocess.Popen(
                [sys.executable, "-m", "butterfly", "review", f"T{k + 1:04d}", *args],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
            time.sleep(duration * (0.5 + 0.5 * k / attempts))
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGKILL)
                hits += 1
            proc.communicate()
            dispose_engines()
            rid = _review_id(url, f"T{k + 1:04d}")
            if rid is not None:
                stored = len(stored_answers(url, rid))
                if stored not in (0, n_q) or history_count(url, rid) != stored:
                    torn += 1
        ok, detail = check_ok(url)
        complete = 0
        for k in range(attempts):
            subprocess.run([sys.executable, "-m", "butterfly", "review", f"T{k + 1:04d}", *args], capture_output=True)
            rid = _review_id(url, f"T{k + 1:04d}")
            if rid is not None and len(stored_answers(url, rid)) == n_q and history_count(url, rid) == n_q:
                complete += 1
        report.faults.append(
            FaultRow(
                "kill -9 during review saves",
                backend,
                f"{attempts} `review --answers` processes killed at 50-95 % of a run",
                f"{hits} killed mid-run; {torn} reviews half-written; db check {detail}",
                "-9",
                torn == 0 and ok and complete == attempts,
                hits > 0 and torn == 0 and ok and complete == attempts,
                f"re-run completed {complete}/{attempts} exactly once",
            )
        )
    # kill -9 during report rendering
    with database(backend, "kill-report") as url:
        log(f"crash: kill -9 during report rendering on {backend}")
        subprocess.run(
            [sys.executable, "-m", "butterfly", "import", str(generate_csv(60_000, 7)), "--db", url],
            capture_output=True,
            check=True,
        )
        out_dir = WORK / f"reports-{backend}"
        shutil.rmtree(out_dir, ignore_errors=True)
        out_dir.mkdir()
        out = out_dir / "weekly.html"
        old = "<!doctype html><p>last week's report</p></html>\n"
        args = ["report", "weekly", "--week", "2026-W40", "--weeks-back", "104", "-o", str(out), "--db", url]
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "butterfly", *args], capture_output=True, check=True)
        duration = time.perf_counter() - started
        complete_text = out.read_text(encoding="utf-8")
        out.write_text(old, encoding="utf-8")
        attempts = 5 if quick else 12
        hits = truncated = 0
        for k in range(attempts):
            proc = subprocess.Popen(
                [sys.executable, "-m", "butterfly", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE
            )
            time.sleep(duration * (0.3 + 0.69 * k / max(1, attempts - 1)))
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGKILL)
                hits += 1
            proc.communicate()
            if _unstamped(out.read_text(encoding="utf-8")) not in (old, _unstamped(complete_text)):
                truncated += 1
        leftovers = len([p for p in out_dir.iterdir() if p.name != out.name])
        rerun = subprocess.run([sys.executable, "-m", "butterfly", *args], capture_output=True)
        done = rerun.returncode == 0 and _unstamped(out.read_text(encoding="utf-8")) == _unstamped(complete_text)
        report.faults.append(
            FaultRow(
                "kill -9 during report rendering",
                backend,
                f"{attempts} `report weekly -o` processes killed at 30-99 % of a run (60k tickets)",
                f"{hits} killed mid-run; {truncated} truncated reports at the path; {leftovers} temp files left beside it",
                "-9",
                truncated == 0 and done,
                hits > 0 and truncated == 0 and done,
                f"re-run wrote the whole report: {done}",
            )
        )


def _unstamped(html: str) -> str:
    """The report without its 'Generated: <minute>' footer (two runs a minute apart differ only there)."""
    import re

    return re.sub(r"Generated: [0-9: -]+ \(UTC\)", "Generated: …", html)


def kill_import(report: Report, backend: str, csv_path: Path, rows: int, *, preloaded: bool) -> None:
    from faultkit import seed

    from butterfly.store.db import dispose_engines

    with database(backend, "kill-import") as url:
        log(f"crash: kill -9 during an import of {rows:,} on {backend} ({'preloaded' if preloaded else 'empty'} table)")
        base = seed(url, tickets=5, prefix="OLD-")["ticket"] if preloaded else 0
        dispose_engines()
        proc = subprocess.Popen(
            [sys.executable, "-m", "butterfly", "import", str(csv_path), "--db", url, "--json"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        first_commit = preloaded and rows > 100_000
        delay = rows / 100_000  # about a third of the way through the writing here
        if first_commit:
            while count(url, "ticket") < base + 100_000 and proc.poll() is None:
                time.sleep(0.02)
        else:  # the import has started (its log row is committed first); kill it while it writes
            while count(url, "import_run") < 1 and proc.poll() is None:
                time.sleep(0.02)
            time.sleep(delay)
        alive = proc.poll() is None
        if alive:
            os.kill(proc.pid, signal.SIGKILL)
        proc.communicate()
        dispose_engines()
        partial = count(url, "ticket") - base
        ok, detail = check_ok(url)
        rerun = subprocess.run(
            [sys.executable, "-m", "butterfly", "import", str(csv_path), "--db", url, "--json"],
            capture_output=True,
            text=True,
        )
        dispose_engines()
        done = rerun.returncode == 0 and count(url, "ticket") == base + rows
        whole = partial % 100_000 == 0 or partial == rows  # commits every 100k records (or all at once)
        when = "after its first 100k commit" if first_commit else f"{delay:.1f} s into writing"
        report.faults.append(
            FaultRow(
                "kill -9 during an import",
                backend,
                f"{rows:,}-ticket CSV into {'a table holding tickets' if preloaded else 'an empty table'}, killed {when}",
                f"{partial:,} of its tickets visible after the kill; db check {detail}",
                "-9" if alive else "finished first",
                ok and whole and done,
                alive and ok and whole and done,
                f"re-run completed: {done}",
            )
        )


def _review_id(url: str, ref: str) -> int | None:
    from butterfly.review.lifecycle import get_review
    from butterfly.store.db import open_session
    from butterfly.tickets import get_ticket

    with open_session(url) as session:
        ticket = get_ticket(session=session, ref=ref)
        review = get_review(session=session, ticket_id=ticket.id or 0, reviewer="lead")
        return review.id if review else None


# -- fuzz -----------------------------------------------------------------------------------------------------

MUTATIONS = [
    '"',
    "'",
    ",",
    "\n",
    "{",
    "}",
    "[",
    "]",
    ":",
    "- ",
    "\x00",
    "\r",
    "\ufeff",
    "\x1b[2J",
    "null",
    "1e999",
    "&a",
    "*a",
    "!!python/object:os.system",
    "蝴蝶",
    "\t",
    "#",
    "|",
    ">",
]


def _mutate(rng: random.Random, text: str) -> str:
    for _ in range(rng.randint(1, 6)):
        at = rng.randrange(len(text) + 1)
        text = text[:at] + rng.choice(MUTATIONS) + text[at + rng.randint(0, 20) :]
    return text


def _random_json(rng: random.Random, depth: int = 0) -> Any:
    kind = rng.randrange(7 if depth < 4 else 4)
    if kind == 0:
        return None
    if kind == 1:
        return rng.choice([True, False, 0, -1, 10**30, 1.5, float("inf")])
    if kind in (2, 3):
        return "".join(rng.choice("ab蝴蝶\x1b<>=+-@ \n\t\"'") for _ in range(rng.randint(0, 20)))
    if kind in (4, 5):
        return [_random_json(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    return {str(_random_json(rng, depth + 1))[:10]: _random_json(rng, depth + 1) for _ in range(rng.randint(0, 4))}


def _cases(
    rng: random.Random, seed_texts: list[str], n: int, *, keys: list[str] | None = None
) -> Iterator[tuple[str, bytes]]:
    for i in range(n):
        kind = i % 5
        base = rng.choice(seed_texts)
        if kind == 0:
            yield "random bytes", rng.randbytes(rng.randint(0, 3000))
        elif kind == 1:
            data = base.encode("utf-8")
            yield "truncated", data[: rng.randint(0, len(data))]
        elif kind == 2:
            yield "mutated", _mutate(rng, base).encode("utf-8", errors="surrogatepass")
        elif kind == 3:
            doc = _random_json(rng)
            if keys and isinstance(doc, dict):
                doc = {rng.choice(keys): v for v in doc.values()} or {rng.choice(keys): _random_json(rng)}
            yield "random JSON", json.dumps(doc, allow_nan=True).encode()
        else:
            codec = rng.choice(["gb18030", "big5", "utf-16", "utf-32", "latin-1", "shift_jis"])
            yield f"wrong encoding ({codec})", base.encode(codec, errors="replace")


def fuzz_checklists(report: Report, n: int, rng: random.Random) -> None:
    from butterfly.checklist.model import builtin_checklist_path, parse_checklist_text
    from butterfly.errors import FileProblemsError

    row = FuzzRow("checklist files (YAML/JSON)")
    seeds = [
        builtin_checklist_path(i, lang).read_text(encoding="utf-8")
        for i in ("butterfly", "human-needs")
        for lang in ("zh-CN", "en")
    ]
    fixed = [
        ("deep [", "[" * 50_000 + "]" * 50_000),
        ("deep {", "a: " + "{a: " * 20_000 + "1" + "}" * 20_000),
        ("deep block", "".join("  " * i + "a:\n" for i in range(5000))),
        ("python tag", "!!python/object/apply:os.system ['true']"),
        (
            "alias bomb",
            "\n".join(
                ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
                + [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 10)]
            ),
        ),
        ("10 MB help text", seeds[0].replace("help: ", "help: " + "长" * 10_000_000 + " ", 1)),
    ]
    cases = [(k, d.encode("utf-8")) for k, d in fixed] + list(_cases(rng, seeds, n))
    for kind, data in cases:
        row.cases += 1
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            row.errors += 1  # load_checklist_file reports "not UTF-8 text"
            continue
        try:
            parse_checklist_text(text, filename="fuzz.yaml")
            row.accepted += 1
        except FileProblemsError:
            row.errors += 1
        except Exception as exc:
            row.crashes.append(f"{kind}: {type(exc).__name__}: {str(exc)[:80]}")
    report.fuzz.append(row)
    log(f"fuzz: checklists {row.cases} cases, {len(row.crashes)} crashes")


def fuzz_answers(report: Report, n: int, rng: random.Random) -> None:
    from butterfly.checklist.model import load_builtin
    from butterfly.errors import FileProblemsError
    from butterfly.paths import examples_dir
    from butterfly.review.answers_file import plan_answers, read_answers_file

    row = FuzzRow("answers files (`review --answers`)")
    checklist = load_builtin("butterfly", "en")
    seeds = [(examples_dir() / "answers.yaml").read_text(encoding="utf-8")]
    folder = WORK / "fuzz-answers"
    folder.mkdir(exist_ok=True)
    fixed = [
        ("deep JSON", b"[" * 200_000 + b"]" * 200_000, ".json"),
        ("deep YAML", b"a: " + b"{a: " * 20_000 + b"1" + b"}" * 20_000, ".yaml"),
        ("10 MB answer", json.dumps({"company.short.another_person": "长" * 10_000_000}).encode(), ".json"),
    ]
    cases = [(k, d, s) for k, d, s in fixed] + [
        (k, d, rng.choice([".yaml", ".json"])) for k, d in _cases(rng, seeds, n, keys=checklist.question_ids())
    ]
    for kind, data, suffix in cases:
        row.cases += 1
        path = folder / f"answers{suffix}"
        path.write_bytes(data)
        try:
            raw, lines, name = read_answers_file(path)
            plan_answers(raw, filename=name, lines=lines, checklist=checklist, lenses=[], tz="UTC")
            row.accepted += 1
        except FileProblemsError:
            row.errors += 1
        except Exception as exc:
            row.crashes.append(f"{kind}: {type(exc).__name__}: {str(exc)[:80]}")
    report.fuzz.append(row)
    log(f"fuzz: answers files {row.cases} cases, {len(row.crashes)} crashes")


def _import_samples() -> dict[str, bytes]:
    with (ROOT / "examples" / "tickets.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))[:12]
    fixtures = ROOT / "tests" / "fixtures" / "import"
    out = {
        "csv": (ROOT / "examples" / "tickets.csv").read_bytes(),
        "jsonl": "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode(),
        "json": json.dumps(rows, ensure_ascii=False).encode(),
        "zendesk": (ROOT / "examples" / "zendesk_tickets.json").read_bytes(),
    }
    for fmt, name in (
        ("freshdesk", "freshdesk_tickets.json"),
        ("jira", "jira_search.json"),
        ("github", "github_issues.json"),
    ):
        if (fixtures / name).exists():
            out[fmt] = (fixtures / name).read_bytes()
    real = ROOT.parent / "shared" / "data" / "real" / "incident_event_log.csv"
    if real.exists():
        with real.open("rb") as fh:
            out["servicenow"] = b"".join(fh.readline() for _ in range(40))
    return out


def _nasty_imports() -> list[tuple[str, str, bytes]]:
    with (ROOT / "examples" / "tickets.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))[:3]
    big = dict(rows[1], description="重复的问题。" * 600_000)  # > 10 MB
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows([rows[0], big, rows[2]])
    formulas = [
        dict(rows[0], subject='=HYPERLINK("http://evil.example","x")', customer="+1-555", category="@SUM(1)"),
        dict(rows[1], description="=cmd|' /C calc'!A0"),
    ]
    fbuf = io.StringIO()
    fw = csv.DictWriter(fbuf, fieldnames=list(rows[0]))
    fw.writeheader()
    fw.writerows(formulas)
    example = (ROOT / "examples" / "tickets.csv").read_bytes()
    return [
        ("10 MB description", "csv", buf.getvalue().encode()),
        (
            "10 MB description",
            "jsonl",
            "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in (rows[0], big)).encode(),
        ),
        ("deeply nested JSON", "json", b'[{"id": "N-1", "x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}]"),
        (
            "deeply nested JSON",
            "zendesk",
            b'{"tickets": [{"id": 1, "x": ' + b"[" * 50_000 + b"]" * 50_000 + b"}]}",
        ),
        ("NUL bytes", "csv", example.replace(b"Acme", b"Ac\x00me")),
        ("formula cells", "csv", fbuf.getvalue().encode()),
        ("UTF-16 file", "csv", example.decode().encode("utf-16")),
        ("one 5 MB line", "csv", b"id,subject\n" + b"x" * 5_000_000 + b"\n"),
    ]


def fuzz_imports(report: Report, n_per_format: int, rng: random.Random, backends: list[str]) -> None:
    from typer.testing import CliRunner

    from butterfly.cli import app

    runner = CliRunner()
    samples = _import_samples()
    folder = WORK / "fuzz-import"
    folder.mkdir(exist_ok=True)

    def one(row: FuzzRow, url: str, fmt: str, kind: str, data: bytes) -> None:
        suffix = {"csv": ".csv", "servicenow": ".csv", "jsonl": ".jsonl"}.get(fmt, ".json")
        path = folder / f"export{suffix}"
        path.write_bytes(data)
        row.cases += 1
        result = runner.invoke(
            app, ["import", str(path), "--format", fmt, "--source", f"fz-{fmt}", "--db", url, "--json"]
        )
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            row.crashes.append(f"{fmt} {kind}: {type(result.exception).__name__}: {str(result.exception)[:80]}")
        elif "Traceback" in result.output:
            row.crashes.append(f"{fmt} {kind}: traceback printed")
        elif result.exit_code == 2:
            row.errors += 1
        elif result.exit_code in (0, 1):
            row.accepted += 1
        else:
            row.crashes.append(f"{fmt} {kind}: exit {result.exit_code}")
        for stray in folder.glob("export*.rejects*"):
            stray.unlink()

    for fmt, sample in samples.items():
        row = FuzzRow(f"import --format {fmt}")
        with database("sqlite", f"fuzz-{fmt}") as url:
            for kind, data in _cases(rng, [sample.decode("utf-8", errors="replace")], n_per_format):
                one(row, url, fmt, kind, data)
            ok, detail = check_ok(url)
            if not ok:
                row.crashes.append(f"db check after the run: {detail}")
        report.fuzz.append(row)
        log(f"fuzz: import {fmt} {row.cases} cases, {len(row.crashes)} crashes")
    for backend in backends:
        row = FuzzRow(f"import: 10 MB fields, deep JSON, NUL, formulas, encodings ({backend})")
        with database(backend, "fuzz-nasty") as url:
            for kind, fmt, data in _nasty_imports():
                one(row, url, fmt, kind, data)
            ok, detail = check_ok(url)
            if not ok:
                row.crashes.append(f"db check after the run: {detail}")
        report.fuzz.append(row)
        log(f"fuzz: nasty imports on {backend}: {len(row.crashes)} crashes")


DATE_CELLS = [
    "2026-10-1",
    "2026-1",
    "2026",
    "0",
    "1",
    "9999-12-31T23:59:59-12:00",
    "0001-01-01T00:00:00+14:00",
    "9999-12-31 23:59",
    "31/31/2016",
    "13/13/2016 25:61",
    "10/Mar/24 1:15 PM",
    "10/Foo/24 13:15 PM",
    "45000.5",
    "1e999",
    "-1",
    "99999999999999",
]


def _date_cell(rng: random.Random) -> str:
    kind = rng.randrange(5)
    if kind == 0:
        return rng.choice(DATE_CELLS)
    a, b = rng.randint(1, 12), rng.randint(1, 12)  # fits both orders: the ambiguous case
    if kind == 1:
        a = rng.randint(13, 31)  # day first
    elif kind == 2:
        b = rng.randint(13, 31)  # month first
    sep = rng.choice("/-.")
    time_part = rng.choice(["", f" {rng.randint(0, 23)}:{rng.randint(0, 59):02d}", f" {rng.randint(1, 12)}:05 PM"])
    return f"{a}{sep}{b}{sep}{rng.randint(1990, 2030)}{time_part}"


def _date_import_cases(rng: random.Random, n: int) -> Iterator[tuple[str, list[str], bytes]]:
    """(kind, extra options, file bytes): ambiguous and odd date columns, and UTF-16 with and without a BOM."""
    for i in range(n):
        rows = ["id,status,created,closed"]
        rows += [f"D{j % 7},closed,{_date_cell(rng)},{_date_cell(rng)}" for j in range(rng.randint(1, 12))]
        text = "\n".join(rows) + "\n"
        options = rng.choice([[], [], ["--day-first"], ["--month-first"], ["--date-format", "%d/%m/%Y %H:%M"]])
        if rng.random() < 0.3:
            options = [*options, "--timezone", rng.choice(["America/New_York", "Pacific/Kiritimati", "UTC"])]
        kind = i % 4
        if kind == 0:
            yield "dates", options, text.encode("utf-8")
        elif kind == 1:
            bom = rng.choice([b"\xff\xfe", b""])
            data = bom + text.replace(",", "\t").encode("utf-16-le")
            yield "UTF-16LE" + (" BOM" if bom else ""), options, data[: rng.randint(len(data) // 2, len(data))]
        elif kind == 2:
            yield "--encoding utf-16 without BOM", ["--encoding", "utf-16"], text.encode("utf-8")
        else:
            data = bytearray(b"\xfe\xff" + text.encode("utf-16-be"))
            for _ in range(rng.randint(1, 4)):
                data[rng.randrange(len(data))] = rng.randrange(256)
            yield "UTF-16BE mutated", options, bytes(data)


def fuzz_import_dates(report: Report, n: int, rng: random.Random, backends: list[str]) -> None:
    """Ambiguous, short and edge-of-calendar date cells, and UTF-16 files: an import or one Error line, never a
    traceback; every record in one bucket of the summary."""
    from typer.testing import CliRunner

    from butterfly.cli import app

    runner = CliRunner()
    folder = WORK / "fuzz-import-dates"
    folder.mkdir(exist_ok=True)
    buckets = ("new", "updated", "unchanged", "duplicates", "skipped", "rejected")
    for backend in backends:
        row = FuzzRow(f"import: ambiguous/short/edge dates, UTF-16 ({backend})")
        with database(backend, "fuzz-dates") as url:
            for kind, options, data in _date_import_cases(rng, n):
                path = folder / "dates.csv"
                path.write_bytes(data)
                row.cases += 1
                result = runner.invoke(app, ["import", str(path), "--db", url, "--json", *options])
                label = f"{kind} {' '.join(options)}"
                if result.exception is not None and not isinstance(result.exception, SystemExit):
                    row.crashes.append(f"{label}: {type(result.exception).__name__}: {str(result.exception)[:80]}")
                elif "Traceback" in result.output:
                    row.crashes.append(f"{label}: traceback printed")
                elif result.exit_code == 2:
                    row.errors += 1
                    if not result.stderr.startswith("Error:"):
                        row.crashes.append(f"{label}: exit 2 without an Error: line")
                elif result.exit_code in (0, 1):
                    row.accepted += 1
                    for f in json.loads(result.stdout)["files"]:
                        if sum(f[b] for b in buckets) != f["records"]:
                            row.crashes.append(
                                f"{label}: buckets add up to {sum(f[b] for b in buckets)}, not {f['records']}"
                            )
                else:
                    row.crashes.append(f"{label}: exit {result.exit_code}")
                for stray in folder.glob("dates*.rejects*"):
                    stray.unlink()
            ok, detail = check_ok(url)
            if not ok:
                row.crashes.append(f"db check after the run: {detail}")
        report.fuzz.append(row)
        log(f"fuzz: import dates/UTF-16 on {backend}: {row.cases} cases, {len(row.crashes)} crashes")


def hostile_text(report: Report, backends: list[str]) -> None:
    """Hostile ticket/answer text through import, review, terminal views, reports and exports."""
    import re

    from typer.testing import CliRunner

    from butterfly.cli import app

    runner = CliRunner()
    control = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u202e]")
    ticket = {
        "id": "EVIL-1",
        "customer": '=HYPERLINK("http://evil.example/x","click")',
        "subject": "<script>alert(1)</script> \x1b]8;;http://evil.example\x07link\x1b]8;;\x07 [red]m[/red] \u202eexe.pdf",
        "description": "# Fake\n[click](javascript:alert(1)) <img src=x onerror=alert(1)>\n\x1b[2J | a |\n</details>",
        "status": "closed",
        "created": "2026-05-01T09:00:00+08:00",
        "closed": "2026-05-02T12:00:00+08:00",
    }
    for backend in backends:
        row = FuzzRow(f"hostile ticket text in terminal, HTML, Markdown, CSV ({backend})")
        with database(backend, "hostile") as url:
            folder = WORK / f"hostile-{backend}"
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir()
            src = folder / "evil.csv"
            with src.open("w", newline="", encoding="utf-8") as fh:
                w = csv.DictWriter(fh, fieldnames=list(ticket))
                w.writeheader()
                w.writerow(ticket)
            answers = folder / "a.yaml"
            answers.write_text(
                'company.short.another_person: "<b>x</b> \\e[2J [x](javascript:alert(1))"\n'
                "customer.short.fast_accurate: {value: 2, action: {kind: follow_up, text: \"=cmd|' /C calc'!A0\"}}\n",
                encoding="utf-8",
            )
            steps: list[tuple[list[str], Callable[[str], bool]]] = [
                (["import", str(src)], lambda o: True),
                (["review", "EVIL-1", "--answers", str(answers), "--reviewer", "lead"], lambda o: True),
                (["tickets", "show", "EVIL-1"], lambda o: not control.search(o)),
                (["tickets", "list"], lambda o: not control.search(o)),
                (["reviews", "show", "EVIL-1", "--reviewer", "lead"], lambda o: not control.search(o)),
                (["review", "EVIL-1", "--reviewer", "other", "--interactive"], lambda o: not control.search(o)),
                (
                    ["report", "ticket", "EVIL-1", "-o", str(folder / "r.html")],
                    lambda o, folder=folder: _inert_html((folder / "r.html").read_text(encoding="utf-8"), control),
                ),
                (
                    ["report", "ticket", "EVIL-1", "-o", str(folder / "r.md")],
                    lambda o, folder=folder: _inert_md((folder / "r.md").read_text(encoding="utf-8"), control),
                ),
                (
                    ["export", "reviews", "-f", "csv", "-o", str(folder / "r.csv")],
                    lambda o, folder=folder: _no_formulas(folder / "r.csv"),
                ),
                (
                    ["export", "actions", "-f", "csv", "-o", str(folder / "a.csv")],
                    lambda o, folder=folder: _no_formulas(folder / "a.csv"),
                ),
            ]
            for command, inert in steps:
                row.cases += 1
                result = runner.invoke(app, [*command, "--db", url], input="q\n")
                if result.exception is not None and not isinstance(result.exception, SystemExit):
                    row.crashes.append(f"{command[0]}: {type(result.exception).__name__}")
                elif result.exit_code not in (0, 130) or not inert(result.output):
                    row.crashes.append(f"`{' '.join(command[:2])}`: not inert (exit {result.exit_code})")
                else:
                    row.accepted += 1
        report.fuzz.append(row)
        log(f"fuzz: hostile text on {backend}: {len(row.crashes)} failures")


def _inert_html(html: str, control: Any) -> bool:
    import re

    return "<script>alert" not in html and not re.search(r"<[^>]*\sonerror\s*=", html) and not control.search(html)


def _inert_md(md: str, control: Any) -> bool:
    import re

    # Markdown escapes for Markdown: "\\<script>" is the text "<script>", never a tag
    return (
        not re.search(r"(?<!\\)<script>", md)
        and not re.search(r"(?<!\\)\[click(?<!\\)\]\(", md)
        and not control.search(md)
    )


def _no_formulas(path: Path) -> bool:
    cells = [c for r in csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"))) for c in r]
    return bool(cells) and not any(c.startswith(("=", "+", "-", "@", "\t", "\r")) for c in cells)


# -- the report file ------------------------------------------------------------------------------------------


def machine() -> str:
    load = os.getloadavg() if hasattr(os, "getloadavg") else (0.0, 0.0, 0.0)
    pg = "n/a"
    with contextlib.suppress(Exception):
        import psycopg

        with psycopg.connect(PG_URL.replace("postgresql+psycopg://", "postgresql://"), connect_timeout=5) as conn:
            row = conn.execute("SHOW server_version").fetchone()
            pg = str(row[0]) if row else "?"
    return (
        f"{os.cpu_count()} cores, load average {load[0]:.1f} at the end of the run (shared machine), "
        f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}, PostgreSQL {pg}"
    )


def write_markdown(report: Report, path: Path, seconds: float, seed: int) -> None:
    lines = [
        "# Reliability: load held, faults survived, fuzz cases run",
        "",
        f"Produced by `python benchmarks/reliability.py{' --quick' if report.quick else ''}` (seed {seed}) on "
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC in {seconds / 60:.1f} min. {machine()}. Every row is a check that can "
        "fail; rerun the script to reproduce. Times are wall-clock on a busy shared machine: read them as orders of "
        "magnitude, not as benchmarks.",
        "",
        "## Load held (concurrent reviewers, separate processes)",
        "",
        "Each save writes a unique value, so every save must leave exactly one history row. Checked from the database "
        "afterwards: one row per (review, question), history rows = saves, each answer's version = its number of changes, "
        "every change's old value = the previous change's new value (no lost update), every optimistic save replaced the "
        "value its writer had seen, and `butterfly db check` passes. Conflicts are `ConflictError`s shown to the writer, "
        "who reloads and answers again — never a silent overwrite.",
        "",
        "| backend | scenario | processes | saves | answers stored once / expected | history rows | conflicts surfaced | slowest save | time | result |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in report.load:
        lines.append(
            f"| {r.backend} | {r.scenario} | {r.processes} | {r.planned:,} | {r.stored_once:,} / {r.expected_answers:,} | "
            f"{r.history:,} | {r.conflicts:,} | {f'{r.slowest:.2f} s' if r.slowest else '-'} | {r.seconds:.0f} s | "
            f"{'held' if r.ok else 'FAILED: ' + '; '.join(r.problems[:3])} |"
        )
    lines += [
        "",
        "## Faults injected and survived",
        "",
        "Survived = a clear `Error: …` line, exit code 2, no traceback, no password printed, and everything saved "
        "before still there (row counts unchanged, `butterfly db check` passes); for kill -9: nothing half-written "
        "visible and re-running the command completes the work exactly once.",
        "",
        "| fault | backend | how | what the user saw / found | exit | nothing lost | result |",
        "|---|---|---|---|---|---|---|",
    ]
    for f in report.faults:
        saw = (f.saw + (f" ({f.detail})" if f.detail else "")).replace("|", "\\|")
        lines.append(
            f"| {f.fault} | {f.backend} | {f.how} | {saw} | {f.exit_code} | {'yes' if f.intact else 'NO'} | {'survived' if f.ok else 'FAILED'} |"
        )
    lines += [
        "",
        "## Fuzz cases run",
        "",
        "Random bytes, truncated and mutated copies of valid files, random JSON, wrong encodings, and fixed nasty cases "
        "(deep nesting, 10 MB fields, NUL bytes, YAML tags, alias bombs, formula cells). A crash is any exception other "
        "than the clear error, or a traceback in the output.",
        "",
        "| target | cases | clear errors | accepted (valid / imported with rejects) | crashes | result |",
        "|---|---|---|---|---|---|",
    ]
    for z in report.fuzz:
        lines.append(
            f"| {z.target} | {z.cases:,} | {z.errors:,} | {z.accepted:,} | {len(z.crashes)} | "
            f"{'ok' if z.ok else 'FAILED: ' + '; '.join(z.crashes[:3]).replace('|', '/')} |"
        )
    held = sum(r.ok for r in report.load)
    survived = sum(f.ok for f in report.faults)
    fuzz_cases = sum(z.cases for z in report.fuzz)
    crashes = sum(len(z.crashes) for z in report.fuzz)
    saves = sum(r.planned for r in report.load)
    lines += [
        "",
        "## Summary",
        "",
        f"- Load: {held}/{len(report.load)} scenarios held ({saves:,} saves from up to "
        f"{max((r.processes for r in report.load), default=0)} processes at once).",
        f"- Faults: {survived}/{len(report.faults)} injected faults survived.",
        f"- Fuzz: {fuzz_cases:,} cases, {crashes} crashes.",
        f"- Nothing lost: {'yes' if held == len(report.load) and survived == len(report.faults) and not crashes else 'NO'}.",
    ]
    if report.skipped:
        lines += ["", "Skipped here:", ""] + [f"- {s}" for s in report.skipped]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small sizes (a few minutes)")
    parser.add_argument("--no-pg", action="store_true", help="SQLite only")
    parser.add_argument("--seed", type=int, default=20261122)
    parser.add_argument("--only", choices=["load", "faults", "fuzz", "hostile"], help="run one part only")
    parser.add_argument("-o", "--output", type=Path, default=ROOT / "benchmarks" / "RELIABILITY.md")
    args = parser.parse_args()

    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True)
    home = WORK / "home"
    home.mkdir()
    for var in [v for v in os.environ if v.startswith("BUTTERFLY_") and v != "BUTTERFLY_TEST_PG_URL"]:
        del os.environ[var]
    os.environ.update(
        {
            "BUTTERFLY_CONFIG": str(home / "config.toml"),
            "BUTTERFLY_DATA_DIR": str(home / "data"),
            "BUTTERFLY_REVIEWER": "reliability",
            "BUTTERFLY_LANGUAGE": "en",
            "COLUMNS": "200",
        }
    )
    report = Report(quick=args.quick)
    backends = ["sqlite"]
    if not args.no_pg:
        reason = pg_available()
        if reason:
            report.skipped.append(reason)
        else:
            backends.append("postgresql")
    rng = random.Random(args.seed)
    started = time.perf_counter()
    if args.only in (None, "load"):
        load_scenarios(report, backends, args.quick)
    if args.only in (None, "faults"):
        faults(report, backends, args.quick)
    if args.only in (None, "faults", "hostile"):
        hostile_faults(report, FaultRow, WORK, log)
    if args.only in (None, "fuzz"):
        n = 300 if args.quick else 2000
        fuzz_checklists(report, n, rng)
        fuzz_answers(report, n, rng)
        fuzz_imports(report, 40 if args.quick else 200, rng, backends)
        fuzz_import_dates(report, 60 if args.quick else 400, rng, backends)
        hostile_text(report, backends)
    if args.only in (None, "fuzz", "hostile"):
        fuzz_hostile_yaml(report, rng, FuzzRow, WORK)
    seconds = time.perf_counter() - started
    write_markdown(report, args.output, seconds, args.seed)
    log(f"wrote {args.output}")
    print(args.output.read_text(encoding="utf-8"))
    failed = (
        [r for r in report.load if not r.ok]
        or [f for f in report.faults if not f.ok]
        or [z for z in report.fuzz if not z.ok]
    )
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
