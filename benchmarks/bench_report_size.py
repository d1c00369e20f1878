"""Size of the weekly report on the benchmark database: the default Markdown must stay under 30 KB for any week
(GitHub's issue/comment body limit is 65,536 characters), and the HTML printed to A4 should stay a few pages.

    python benchmarks/make_bench_db.py                        # once: benchmarks/work/bench_1m.db
    python benchmarks/bench_report_size.py                    # the 6 busiest weeks by tickets closed
    python benchmarks/bench_report_size.py --weeks 2024-W48 2026-W40 --pdf   # named weeks, with PDF page counts
    python benchmarks/bench_report_size.py --db path.db --all # every week with a closed ticket (slow: ~15 s a week)

PDF page counts need headless Chromium and ``pdfinfo`` (poppler-utils); without them only sizes are printed.
"""

from __future__ import annotations

import argparse
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from collections import Counter
from datetime import date
from pathlib import Path

WORK = Path(__file__).resolve().parent / "work"
LIMIT = 30_000
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--no-pdf-header-footer",
]


def busiest_weeks(db: Path) -> list[tuple[str, int]]:
    """ISO weeks by tickets closed, busiest first."""
    con = sqlite3.connect(db)
    weeks: Counter[str] = Counter()
    for day, n in con.execute(
        "SELECT substr(closed_at, 1, 10), COUNT(*) FROM ticket "
        "WHERE status IN ('closed', 'resolved') AND closed_at IS NOT NULL GROUP BY 1"
    ):
        iso = date.fromisoformat(day).isocalendar()
        weeks[f"{iso.year}-W{iso.week:02d}"] += n
    con.close()
    return weeks.most_common()


def pdf_pages(html: str) -> int | None:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    pdfinfo = shutil.which("pdfinfo")
    if chromium is None or pdfinfo is None:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        page, pdf = Path(tmp) / "w.html", Path(tmp) / "w.pdf"
        page.write_text(html, encoding="utf-8")
        subprocess.run(
            [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={tmp}/profile", f"--print-to-pdf={pdf}", page.as_uri()],
            capture_output=True,
            check=False,
            timeout=120,
        )
        if not pdf.exists():
            return None
        info = subprocess.run([pdfinfo, str(pdf)], capture_output=True, text=True, check=False).stdout
        m = re.search(r"^Pages:\s+(\d+)", info, re.MULTILINE)
        return int(m.group(1)) if m else None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", type=Path, default=WORK / "bench_1m.db")
    parser.add_argument("--weeks", nargs="*", help="ISO weeks (default: the busiest --busiest weeks)")
    parser.add_argument("--busiest", type=int, default=6)
    parser.add_argument("--all", action="store_true", help="every week with a closed ticket")
    parser.add_argument("--pdf", action="store_true", help="also print the HTML to PDF and count its pages")
    args = parser.parse_args()
    if not args.db.exists():
        print(f"{args.db} not found: run benchmarks/make_bench_db.py first", file=sys.stderr)
        return 2

    from butterfly.labels import labels
    from butterfly.reports.rendering import render_report
    from butterfly.reports.weekly.build import build_weekly_report
    from butterfly.store.db import open_session

    ranked = busiest_weeks(args.db)
    closed = dict(ranked)
    weeks = args.weeks or [w for w, _ in (ranked if args.all else ranked[: args.busiest])]
    texts = labels("en")
    worst = 0
    print(f"{'week':<9} {'closed':>7} {'md bytes':>9} {'html bytes':>10} {'pdf pages':>9}")
    for week in weeks:
        with open_session(f"sqlite:///{args.db}") as session:
            report = build_weekly_report(session=session, week=week)
        md = render_report("weekly", report, fmt="md", labels=texts, lang="en", tz="UTC")
        html = render_report("weekly", report, fmt="html", labels=texts, lang="en", tz="UTC")
        size = len(md.encode("utf-8"))
        worst = max(worst, size)
        pages = pdf_pages(html) if args.pdf else None
        shown = "" if pages is None else str(pages)
        print(f"{week:<9} {closed.get(week, 0):>7} {size:>9,} {len(html.encode('utf-8')):>10,} {shown:>9}", flush=True)
    print(f"largest Markdown: {worst:,} bytes (limit {LIMIT:,}): {'OK' if worst < LIMIT else 'TOO BIG'}")
    return 0 if worst < LIMIT else 1


if __name__ == "__main__":
    raise SystemExit(main())
