"""Import speed and memory: ``butterfly import`` of the generated tickets CSV against the ``sqlite3`` shell's
``.import`` of the same file into a plain table, measured in the same run, interleaved.

    python benchmarks/bench_import.py                 # 1M rows (benchmarks/work/tickets_1m.csv), 3 runs
    python benchmarks/bench_import.py --quick         # 100k rows, 1 run
    python benchmarks/bench_import.py --postgres postgresql+psycopg://postgres@127.0.0.1:5432/test

Each run: ``.import`` into a fresh file; ``butterfly import`` into a fresh, already migrated database; the same
``butterfly import`` again (every ticket unchanged). Reports wall-clock and CPU medians (CPU includes child
processes), ratios, and peak resident memory: ``ru_maxrss`` from ``os.wait4`` (the largest single process of the
tree), the importing process's own VmHWM, and the summed RSS of the process and its children sampled every 10 ms
(a first load runs its columnar load in a child process). Targets: import <= 2x ``.import``, re-import <= 3x, peak
memory < 300 MB.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from generate_tickets import ensure_csv  # benchmarks/ is on sys.path when this script runs

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "benchmarks" / "work"
SQLITE3 = "/usr/bin/sqlite3"


@dataclass
class Measure:
    wall: float
    cpu: float
    max_rss_mb: float  # ru_maxrss from os.wait4
    hwm_mb: float = float("nan")  # VmHWM the process reported itself (butterfly runs only)
    tree_mb: float = float("nan")  # peak of the summed RSS of the process and its children, sampled every 10 ms


def _tree_rss_kb(pid: int) -> int:
    """Resident memory of ``pid`` and all its descendants now (the columnar load runs in a child process)."""
    total, stack = 0, [pid]
    while stack:
        current = stack.pop()
        try:
            with open(f"/proc/{current}/status") as status:
                total += next((int(line.split()[1]) for line in status if line.startswith("VmRSS:")), 0)
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as children:
                    stack.extend(int(c) for c in children.read().split())
        except (OSError, ValueError):
            continue  # the process ended meanwhile
    return total


def _sample_tree(pid: int, done: threading.Event, peak: list[int]) -> None:
    while not done.is_set():
        peak[0] = max(peak[0], _tree_rss_kb(pid))
        done.wait(0.01)


def run(
    command: list[str], *, env: dict[str, str] | None = None, stdout: int | None = subprocess.DEVNULL
) -> tuple[Measure, str]:
    """Run ``command`` and measure it (wall time, CPU time and peak RSS of that process alone)."""
    start = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=stdout, stderr=subprocess.PIPE)
    done, peak = threading.Event(), [0]
    sampler = threading.Thread(target=_sample_tree, args=(process.pid, done, peak), daemon=True)
    sampler.start()
    out = process.stdout.read().decode() if process.stdout is not None else ""
    err = process.stderr.read().decode() if process.stderr is not None else ""
    done.set()
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    sampler.join()
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode not in (0,):
        sys.exit(f"{' '.join(command)} failed ({process.returncode}):\n{err[-2000:]}")
    return Measure(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, tree_mb=peak[0] / 1024), out


def tickets_csv(rows: int, seed: int) -> Path:
    name = "tickets_1m.csv" if rows == 1_000_000 and seed == 1 else f"tickets_{rows}_{seed}.csv"
    return ensure_csv(rows, seed, WORK / name)


HWM_FILE = WORK / ".bench_import_vmhwm"
# runs the CLI in a fresh interpreter that writes its own peak RSS (VmHWM) when it exits: ru_maxrss of a child
# also counts what the parent had mapped before exec
WRAPPER = (
    "import atexit, sys\n"
    "def hwm():\n"
    "    for line in open('/proc/self/status'):\n"
    "        if line.startswith('VmHWM:'):\n"
    f"            open({str(HWM_FILE)!r}, 'w').write(line.split()[1])\n"
    "atexit.register(hwm)\n"
    "sys.argv = ['butterfly', *sys.argv[1:]]\n"
    "from butterfly.cli import main\n"
    "main()\n"
)


def butterfly(*args: str) -> list[str]:
    return [sys.executable, "-c", WRAPPER, *args]


def vmhwm_mb() -> float:
    try:
        return int(HWM_FILE.read_text()) / 1024
    except (OSError, ValueError):
        return float("nan")


def fresh_butterfly_db(folder: Path, name: str, env: dict[str, str]) -> str:
    db = folder / name
    for suffix in ("", "-wal", "-shm"):
        Path(str(db) + suffix).unlink(missing_ok=True)
    run(butterfly("db", "upgrade", "--db", str(db)), env=env)
    return str(db)


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def _columnar() -> str:
    probe = "from butterfly.importers import columnar; print(columnar.unavailable() or 'yes')"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=False)
    return done.stdout.strip() or done.stderr.strip()[-200:]


def median(values: list[float]) -> float:
    return statistics.median(values)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="100k rows, one run")
    parser.add_argument("--postgres", help="also time butterfly import into this (scratch) PostgreSQL database")
    parser.add_argument("--keep", action="store_true", help="keep the databases (printed) for inspection")
    args = parser.parse_args()
    if args.quick:
        args.rows, args.runs = 100_000, 1
    if not Path(SQLITE3).exists():
        sys.exit(f"{SQLITE3} not found (needed for the .import baseline)")
    csv_path = tickets_csv(args.rows, args.seed)
    size_mb = csv_path.stat().st_size / 1e6
    env = {**os.environ, "CI": "true", "BUTTERFLY_CONFIG": "/nonexistent/butterfly.toml"}
    folder = Path(tempfile.mkdtemp(prefix="bf-bench-", dir=WORK))
    print(f"file: {csv_path} ({args.rows:,} rows, {size_mb:.0f} MB); {args.runs} run(s); work dir {folder}", flush=True)
    print(f"load average at the start: {_load()}; columnar load available: {_columnar()}", flush=True)

    dot_import: list[Measure] = []
    first: list[Measure] = []
    again: list[Measure] = []
    for i in range(args.runs):
        plain = folder / "plain.db"
        plain.unlink(missing_ok=True)
        m, _ = run([SQLITE3, str(plain), ".mode csv", f".import {csv_path} tickets"])
        dot_import.append(m)
        db = fresh_butterfly_db(folder, "butterfly.db", env)
        m, out = run(butterfly("import", str(csv_path), "--db", db, "--json"), env=env, stdout=subprocess.PIPE)
        m.hwm_mb = vmhwm_mb()
        summary = json.loads(out)
        assert summary["new"] == args.rows, summary
        first.append(m)
        m, out = run(butterfly("import", str(csv_path), "--db", db, "--json"), env=env, stdout=subprocess.PIPE)
        m.hwm_mb = vmhwm_mb()
        assert json.loads(out)["unchanged"] == args.rows
        again.append(m)
        print(
            f"run {i + 1}: .import {dot_import[-1].wall:.2f} s | import {first[-1].wall:.2f} s "
            f"({first[-1].tree_mb:.0f} MB) | re-import {again[-1].wall:.2f} s ({again[-1].tree_mb:.0f} MB)",
            flush=True,
        )

    base_wall = median([m.wall for m in dot_import])
    base_cpu = median([m.cpu for m in dot_import])
    print()
    print(
        f"{'':24}{'wall median':>12}{'ratio':>8}{'cpu median':>12}{'ratio':>8}{'ru_maxrss':>11}{'VmHWM':>9}"
        f"{'tree RSS':>10}"
    )
    for name, ms in (
        (".import (plain table)", dot_import),
        ("butterfly import", first),
        ("re-import (unchanged)", again),
    ):
        wall = median([m.wall for m in ms])
        cpu = median([m.cpu for m in ms])
        rss = max(m.max_rss_mb for m in ms)
        hwm = max(m.hwm_mb for m in ms)
        tree = max(m.tree_mb for m in ms)
        print(
            f"{name:24}{wall:>10.2f} s{wall / base_wall:>7.2f}x{cpu:>10.2f} s{cpu / base_cpu:>7.2f}x"
            f"{rss:>8.0f} MB{hwm:>6.0f} MB{tree:>7.0f} MB"
        )
    print(f"\nrows/s (butterfly import): {args.rows / median([m.wall for m in first]):,.0f}")
    print(f"load average at the end: {_load()}")
    print(
        "targets: import <= 3x .import record by record (the default install), <= 2x with the fast-import extra; "
        "re-import <= 3x; peak memory < 300 MB"
    )

    if args.postgres:
        source = f"bench{os.getpid()}"
        m, out = run(
            butterfly("import", str(csv_path), "--db", args.postgres, "--json", "--source", source),
            env=env,
            stdout=subprocess.PIPE,
        )
        print(
            f"\nPostgreSQL import: {m.wall:.2f} s wall, {m.cpu:.2f} s cpu (client), {vmhwm_mb():.0f} MB "
            f"({json.loads(out)['new']:,} new, source {source})"
        )
    if args.keep:
        print(f"kept: {folder}")
    else:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
