"""Enter → first question of the review walk on a big database: wall time *and* the process's own CPU time up to
the moment the first question is on the screen.

    python benchmarks/bench_walk_start.py                        # benchmarks/work/review_1m.db (bench_review.py builds it)
    python benchmarks/bench_walk_start.py --runs 9 --baseline /tmp/main-src   # also time another tree's code

Each run spawns ``python -m butterfly review TICKET`` under a pty (pexpect) as a fresh reviewer on a random closed
ticket, waits for the first question's ``> `` prompt and reads the child's user+system CPU time from
``/proc/PID/stat`` at that moment (so the CPU figure covers start-up to the first question only, not the quit
after it). ``butterfly --version`` is timed the same way as the start-up floor. With ``--baseline DIR`` (a source
tree, e.g. ``git archive main | tar -x -C DIR``) the same tickets are also walked with that tree's code
(``PYTHONPATH=DIR``), interleaved run by run, so both see the same load. Prints medians, the load average before
and after, and the ratio to the baseline. Target: Enter → first question < 1.5 s median (a quiet machine's wall
time; on a shared machine compare the CPU time).
"""

from __future__ import annotations

import argparse
import os
import random
import re
import sqlite3
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "benchmarks" / "work"
FIRST_QUESTION = r"answered\r?\n.*\r?\n> "  # the progress line, the hint line, then the prompt
SECOND_QUESTION = re.compile(r"customer\.short\.certainty.*?\n> ", re.DOTALL)  # its hints span several lines


def _cpu_of(pid: int) -> float:
    """User + system CPU seconds of a live process (``/proc/PID/stat`` fields 14 and 15)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _run(argv: list[str], until: str, env: dict[str, str], *, second: bool = False) -> tuple[float, float, float]:
    """Wall time from spawn to ``until`` and the child's CPU time at that moment; with ``second``, also the wall
    time from skipping the first question at once (``s``) to the second question's prompt (the similar tickets,
    looked up in the background since the first prompt, are shown in between); then quit it."""
    import pexpect

    started = time.perf_counter()
    # run from outside any source tree: ``python -m`` puts the working directory first on sys.path
    child = pexpect.spawn(
        argv[0], argv[1:], env=env, encoding="utf-8", timeout=180, dimensions=(50, 160), cwd=str(Path("/").resolve())
    )
    child.expect(until)
    wall = time.perf_counter() - started
    cpu = _cpu_of(child.pid)
    then = 0.0
    if second:
        skipped = time.perf_counter()
        child.sendline("s")
        child.expect(SECOND_QUESTION)
        then = time.perf_counter() - skipped
    child.sendline("q")
    child.expect(pexpect.EOF)
    child.close()
    return wall, cpu, then


def _tickets(db: Path, n: int, seed: int) -> list[str]:
    with sqlite3.connect(db) as conn:
        top = conn.execute("SELECT max(id) FROM ticket").fetchone()[0] or 0
        rng = random.Random(seed)
        out: list[str] = []
        while len(out) < n:
            ids = ",".join(str(rng.randint(1, top)) for _ in range(n * 4))
            rows = conn.execute(
                f"SELECT external_id FROM ticket WHERE id IN ({ids}) AND status IN ('closed', 'resolved')"
            ).fetchall()
            out.extend(r[0] for r in rows)
    return out[:n]


PHASES_SCRIPT = """
import gc, sys, time
gc.disable()  # as `butterfly review` does until the first question (cli/_common.gc_paused)
cpu = time.process_time  # the whole process: the similar-ticket thread included
marks = [("interpreter start-up", cpu())]
def mark(name): marks.append((name, cpu()))
import butterfly.cli; mark("import the CLI")
from butterfly.review.walk import run_review_walk; from butterfly.cli.walk_ui import TerminalIO; mark("import the walk")
from butterfly.settings import get_settings; get_settings(); mark("settings")
from butterfly.store.db import open_session, sqlite_url
from butterfly.tickets import get_ticket
from butterfly.review.lifecycle import get_review, start_review, load_lenses
from butterfly.checklist.model import resolve_checklist
from butterfly.review.walk_base import review_context
from butterfly.review.prefill import Prefiller
from rich.console import Console
mark("import the rest")
from pathlib import Path
db, ref, reviewer = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
with open_session(sqlite_url(db)) as s:
    mark("open the database, schema check")
    t = get_ticket(session=s, ref=ref); mark("find the ticket")
    get_review(session=s, ticket_id=t.id, reviewer=reviewer); mark("the reviewer's review (language)")
    cl = resolve_checklist(None, "en"); mark("load the checklist")
    ctx = review_context(session=s, ticket=t, lang="en", defer_similar=True)
    mark("customer history, thread facts")
    r = start_review(session=s, ticket=t, reviewer=reviewer, checklist=cl, lenses=[]); mark("start the review")
    io = TerminalIO(Console(file=open("/dev/null", "w"), width=160))
    io.show_context(ctx); mark("render the context panel")
    p = Prefiller(session=s, ticket=t, similar=ctx.similar, lang="en")
    p.propose(cl.questions[0].id, {}); mark("first proposal (prefill)")
    mark("= the first question is on the screen")
    gc.enable()
    ctx = ctx.with_similar(); mark("after it: similar tickets (thread)")
    io.show_similar(ctx); mark("after it: render the similar tickets")
prev = 0.0
for name, at in marks:
    print(f"{name}\t{at - prev}")
    prev = at
"""


def phases(db: Path, tickets: list[str]) -> None:
    """CPU time of each step before the first question, in a fresh process per ticket; medians."""
    import subprocess
    from collections import defaultdict

    found: dict[str, list[float]] = defaultdict(list)
    env = dict(os.environ, PYTHONPATH=str(ROOT), BUTTERFLY_LANGUAGE="en")
    for i, ref in enumerate(tickets):
        argv = [sys.executable, "-c", PHASES_SCRIPT, str(db.resolve()), ref, f"phases{os.getpid()}-{i}"]
        out = subprocess.run(argv, env=env, capture_output=True, text=True, check=True, cwd="/").stdout
        for line in out.splitlines():
            name, value = line.split("\t")
            found[name].append(float(value))
    names = list(found)
    cut = names.index("= the first question is on the screen")
    before = sum(statistics.median(found[n]) for n in names[:cut])
    after = sum(statistics.median(found[n]) for n in names[cut + 1 :])
    print(f"\nCPU per step (medians of {len(tickets)} fresh processes):")
    for name in names[:cut]:
        print(f"  {name:<38} {statistics.median(found[name]) * 1000:6.0f} ms")
    print(f"  {'sum before the first question':<38} {before * 1000:6.0f} ms")
    for name in names[cut + 1 :]:
        print(f"  {name:<38} {statistics.median(found[name]) * 1000:6.0f} ms")
    print(f"  {'sum after it (while the reviewer reads)':<38} {after * 1000:6.0f} ms")


def _median(values: list[float]) -> str:
    return f"{statistics.median(values) * 1000:7.0f} ms (min {min(values) * 1000:.0f}, max {max(values) * 1000:.0f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--db", type=Path, default=WORK / "review_1m.db", help="SQLite file (bench_review.py builds it)"
    )
    parser.add_argument("--runs", type=int, default=7, help="timed walks per code (default 7)")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--baseline", type=Path, default=None, help="another source tree to time the same way")
    parser.add_argument("--tree", type=Path, default=ROOT, help="the source tree to time (default: this one)")
    parser.add_argument("--phases", action="store_true", help="only the CPU per step, in-process (no pty)")
    args = parser.parse_args()
    if not args.db.exists():
        sys.exit(f"{args.db} does not exist: build it with python benchmarks/bench_review.py (1M tickets)")
    with sqlite3.connect(args.db) as conn:
        count = conn.execute("SELECT count(*) FROM ticket").fetchone()[0]
    tickets = _tickets(args.db, args.runs, args.seed)
    if args.phases:
        print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        phases(args.db, tickets)
        return
    base_env = dict(os.environ, TERM="dumb", NO_COLOR="1", COLUMNS="160", BUTTERFLY_LANGUAGE="en")
    base_env.pop("CI", None)
    codes = {"this tree": dict(base_env, PYTHONPATH=str(args.tree.resolve()))}
    if args.baseline is not None:
        codes["baseline"] = dict(base_env, PYTHONPATH=str(args.baseline.resolve()))
    print(f"database: {args.db} ({count:,} tickets); {args.runs} fresh reviews per code")
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    results: dict[str, dict[str, list[float]]] = {
        name: {"wall": [], "cpu": [], "floor": [], "floor cpu": [], "second": []} for name in codes
    }
    stamp = f"start{os.getpid()}"
    for i, ref in enumerate(tickets):
        for name, env in codes.items():
            wall, cpu, _ = _run([sys.executable, "-m", "butterfly", "--version"], "butterfly ", env)
            results[name]["floor"].append(wall)
            results[name]["floor cpu"].append(cpu)
            argv = [sys.executable, "-m", "butterfly", "review", ref, "--db", str(args.db.resolve())]
            wall, cpu, then = _run([*argv, "--reviewer", f"{stamp}-{name[:4]}-{i}"], FIRST_QUESTION, env, second=True)
            results[name]["wall"].append(wall)
            results[name]["cpu"].append(cpu)
            results[name]["second"].append(then)
    print(f"load average after:  {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    for name, r in results.items():
        print(f"\n{name}:")
        print(f"  Enter → first question, wall   {_median(r['wall'])}")
        print(f"  ... CPU (user+sys) to then     {_median(r['cpu'])}")
        print(f"  first skipped at once → 2nd q  {_median(r['second'])}")
        print(f"  butterfly --version, wall      {_median(r['floor'])}")
        print(f"  ... CPU                        {_median(r['floor cpu'])}")
        met = statistics.median(r["wall"]) < 1.5
        print(f"  target < 1500 ms wall median:  {'met' if met else 'MISSED'}")
    if "baseline" in results:
        this, base = results["this tree"], results["baseline"]
        print(
            f"\nratio this/baseline: wall {statistics.median(this['wall']) / statistics.median(base['wall']):.2f}x, "
            f"CPU {statistics.median(this['cpu']) / statistics.median(base['cpu']):.2f}x"
        )


if __name__ == "__main__":
    main()
