"""The walk's similar-ticket look-up alone on a large database: wall and CPU time per look-up.

    python benchmarks/bench_similar_lookup.py                 # benchmarks/work/review_1m.db (bench_review.py builds it)
    python benchmarks/bench_similar_lookup.py --db FILE --tickets 40

Each closed ticket sampled (seeded) is looked up with several candidate limits, interleaved and each going first in
turn (the first look-up of a ticket reads its rows from disk; category candidates + candidates closed just before
it; the library's default is the first row), in one warm process; the subject-fold
cache is cleared before every look-up, as a walk is a fresh process that has folded nothing yet. Medians of wall time
and of this process's CPU time (``time.process_time``), and the load average before and after: on a shared machine
the wall time mostly measures the other users.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

from bench_review import WORK, _sample_tickets

from butterfly.review import similar
from butterfly.store.db import open_session, sqlite_url
from butterfly.tickets import get_ticket


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", type=Path, default=WORK / "review_1m.db")
    parser.add_argument("--tickets", type=int, default=40)
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args()
    if not args.db.exists():
        print(f"{args.db} not found: build it with benchmarks/bench_review.py")
        return 1
    url = sqlite_url(args.db)
    default = (similar.CATEGORY_CANDIDATES, similar.NEARBY_CANDIDATES)
    limits = [default, *((c, n) for c, n in ((2000, 2000), (1000, 500), (500, 500)) if (c, n) != default)]
    wall: dict[tuple[int, int], list[float]] = {k: [] for k in limits}
    cpu: dict[tuple[int, int], list[float]] = {k: [] for k in limits}
    refs = _sample_tickets(url, args.tickets, args.seed)
    load = os.getloadavg()[0]
    with open_session(url) as session:
        tickets = [get_ticket(session=session, ref=ref) for ref in refs]
        for i, ticket in enumerate(tickets):
            for key in limits[i % len(limits) :] + limits[: i % len(limits)]:  # each limit goes first in turn
                similar.CATEGORY_CANDIDATES, similar.NEARBY_CANDIDATES = key
                similar._fold_subject.cache_clear()
                started, started_cpu = time.perf_counter(), time.process_time()
                similar.similar_tickets(session=session, ticket=ticket, limit=5)
                wall[key].append(time.perf_counter() - started)
                cpu[key].append(time.process_time() - started_cpu)
    similar.CATEGORY_CANDIDATES, similar.NEARBY_CANDIDATES = default
    print(
        f"similar-ticket look-up on {args.db.name}, {len(tickets)} closed tickets "
        f"(load average {load:.1f} before, {os.getloadavg()[0]:.1f} after):"
    )
    for key in limits:
        mark = " (default)" if key == default else ""
        print(
            f"  {key[0]:>5} + {key[1]:<5} candidates{mark:<10} wall median {statistics.median(wall[key]) * 1000:6.0f} ms"
            f"   CPU median {statistics.median(cpu[key]) * 1000:5.0f} ms"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
