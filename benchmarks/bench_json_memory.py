"""Peak memory of importing one large JSON export: a top-level array (``[ {...}, … ]``) and a vendor document
(``{"tickets": [...]}``, Zendesk's shape), generated here, imported by ``butterfly import`` in a fresh process that
reports its own peak RSS (VmHWM); CPU and wall time too. The JSON is read record by record (ijson), so the peak
should not grow with the file.

    python benchmarks/bench_json_memory.py                 # 200k records (~110 MB per file)
    python benchmarks/bench_json_memory.py --records 50000
    python benchmarks/bench_json_memory.py --tree /path/to/other/checkout   # the same run against another tree
    python benchmarks/bench_json_memory.py --comments 1000000   # one Zendesk ticket embedding 1M comments, beside
                                                                # the same file with 5,000: peak RSS and CPU each

With ``--comments`` the thread cap (2,000 messages per ticket) applies while the JSON is streamed, so the peak should
be the same for 1,000,000 comments as for 5,000; ``--tree`` runs the same files against another checkout (before).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WRAPPER = (
    "import atexit, sys\n"
    "def hwm():\n"
    "    for line in open('/proc/self/status'):\n"
    "        if line.startswith('VmHWM:'):\n"
    "            sys.stderr.write('VMHWM ' + line.split()[1] + '\\n')\n"
    "atexit.register(hwm)\n"
    "sys.argv = ['butterfly', *sys.argv[1:]]\n"
    "from butterfly.cli import main\n"
    "main()\n"
)


def generic(i: int) -> dict[str, object]:
    return {
        "id": f"T-{i}",
        "customer": f"Customer {i % 997}",
        "subject": f"Invoice export fails on page {i}",
        "description": "The VAT invoice export says template not found. " * 3,
        "status": "closed",
        "created": f"2026-03-{1 + i % 28:02d}T09:{i % 60:02d}:00Z",
        "closed": f"2026-04-{1 + i % 28:02d}T10:{i % 60:02d}:00Z",
    }


def zendesk(i: int) -> dict[str, object]:
    return {
        "id": i,
        "url": f"https://acme.zendesk.com/api/v2/tickets/{i}.json",
        "subject": f"Invoice export fails on page {i}",
        "description": "The VAT invoice export says template not found. " * 3,
        "status": "closed",
        "requester_id": 1000 + i % 997,
        "created_at": f"2026-03-{1 + i % 28:02d}T09:{i % 60:02d}:00Z",
        "updated_at": f"2026-04-{1 + i % 28:02d}T10:{i % 60:02d}:00Z",
        "via": {"channel": "email"},
        "tags": ["invoice", "export"],
    }


def write(path: Path, records: int, shape: str) -> None:
    with path.open("w", encoding="utf-8") as out:
        out.write('{"tickets": [' if shape == "zendesk" else "[")
        for i in range(1, records + 1):
            if i > 1:
                out.write(",\n")
            out.write(json.dumps(zendesk(i) if shape == "zendesk" else generic(i)))
        out.write('], "end_of_stream": true}' if shape == "zendesk" else "]")


def write_thread(path: Path, comments: int) -> None:
    """A Zendesk export of 3 tickets, the first embedding ``comments`` comments."""
    with path.open("w", encoding="utf-8") as out:
        first = zendesk(1)
        out.write('{"tickets": [' + json.dumps(first)[:-1] + ', "comments": [')
        for i in range(comments):
            comment = {
                "id": i + 1,
                "author_id": first["requester_id"] if i % 2 == 0 else 7,
                "public": True,
                "body": f"Any update on the invoice export? This is message {i}.",
                "created_at": "2026-03-02T10:00:00Z",
            }
            out.write(("," if i else "") + json.dumps(comment))
        out.write("]}")
        for i in (2, 3):
            out.write(",\n" + json.dumps(zendesk(i)))
        out.write('], "end_of_stream": true}')


def measure(tree: Path | None, path: Path, fmt: str, db: Path) -> tuple[float, float, float, int]:
    env = dict(os.environ)
    if tree is not None:
        env["PYTHONPATH"] = str(tree)
    for suffix in ("", "-wal", "-shm"):
        Path(str(db) + suffix).unlink(missing_ok=True)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    command = [sys.executable, "-c", WRAPPER, "import", str(path), "--format", fmt, "--json", "--db", str(db)]
    # cwd: `python -c` puts the working directory first on sys.path, which would shadow --tree with this checkout
    done = subprocess.run(command, env=env, cwd=tree or ROOT, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if done.returncode != 0:
        raise SystemExit(f"import failed ({done.returncode}): {done.stderr[-2000:]}")
    hwm = next(int(line.split()[1]) for line in done.stderr.splitlines() if line.startswith("VMHWM "))
    summary = json.loads(done.stdout)["files"][0]
    over = summary.get("messages_over_cap")
    if over:
        print(f"  messages over the cap: {over:,} ({summary.get('capped_tickets')})")
    return wall, cpu, hwm / 1024, summary["records"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--tree", type=Path, help="import with the butterfly package of this checkout instead")
    parser.add_argument("--comments", type=int, help="one ticket embedding this many comments (and one with 5,000)")
    args = parser.parse_args()
    print(f"load: {os.getloadavg()[0]:.2f}; tree: {args.tree or ROOT}")
    with tempfile.TemporaryDirectory(prefix="bf-json-") as work:
        if args.comments:
            for n in (5_000, args.comments):
                path = Path(work) / f"thread-{n}.json"
                write_thread(path, n)
                size = path.stat().st_size / 1e6
                wall, cpu, peak, records = measure(args.tree, path, "zendesk", Path(work) / "bench.db")
                print(
                    f"one ticket with {n:,} comments, {size:.0f} MB: {records:,} records; wall {wall:.1f} s, "
                    f"CPU {cpu:.1f} s, peak RSS {peak:.0f} MB"
                )
                path.unlink()
            print(f"load: {os.getloadavg()[0]:.2f}")
            return
        for shape, fmt in (("array", "json"), ("zendesk", "zendesk")):
            path = Path(work) / f"{shape}.json"
            write(path, args.records, shape)
            size = path.stat().st_size / 1e6
            wall, cpu, peak, records = measure(args.tree, path, fmt, Path(work) / "bench.db")
            print(
                f"{shape:8} {args.records:,} records, {size:.0f} MB: {records:,} imported; wall {wall:.1f} s, "
                f"CPU {cpu:.1f} s, peak RSS {peak:.0f} MB"
            )
            path.unlink()


if __name__ == "__main__":
    main()
