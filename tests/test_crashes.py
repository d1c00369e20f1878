"""``kill -9`` during an import, during review saves and during report rendering, on SQLite and PostgreSQL.

Afterwards the database passes ``butterfly db check``, nothing half-written is visible (imported tickets are
whole rows, a review has all of an answers file or none of it, a report path holds the old report or the whole
new one), and running the same command again completes the work.
"""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from faultkit import wait_for
from loadkit import answers_file_data, history_count, stored_answers

from butterfly.store.db import dispose_engines

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parent.parent
ROWS = 60_000  # a weekly report of 104 weeks over them takes seconds: a kill lands while it runs (25,000 was flaky)


def _count(url: str, table: str) -> int:
    import sqlalchemy as sa

    from butterfly.store.db import get_engine

    try:
        with get_engine(url).connect() as conn:
            return int(conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one())
    except Exception:
        return 0


def _spawn(args: list[str]) -> subprocess.Popen[str]:
    env = {**os.environ, "BUTTERFLY_SQLITE_BUSY_TIMEOUT": "60"}
    return subprocess.Popen(
        [sys.executable, "-m", "butterfly", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )


def _kill(proc: subprocess.Popen[str]) -> bool:
    """kill -9; True when the process was still running (the kill hit it mid-work)."""
    alive = proc.poll() is None
    if alive:
        os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=60)
    return alive


def _check(url: str) -> dict[str, object]:
    result = subprocess.run(
        [sys.executable, "-m", "butterfly", "db", "check", "--db", url, "--json"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    report: dict[str, object] = json.loads(result.stdout)
    return report


@pytest.fixture(scope="module")
def big_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("crash") / "tickets.csv"
    subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "generate_tickets.py"),
            "--rows",
            str(ROWS),
            "--seed",
            "7",
            "-o",
            str(path),
        ],
        check=True,
        capture_output=True,
    )
    return path


def test_kill_during_import_then_rerun(db_url: str, big_csv: Path) -> None:
    dispose_engines()
    proc = _spawn(["import", str(big_csv), "--db", db_url, "--json"])
    # the import log row is committed when the import starts; kill while the tickets are being written
    # (benchmarks/reliability.py kills a bigger import after its first 100k-record commit)
    assert wait_for(lambda: _count(db_url, "import_run") > 0 or proc.poll() is not None, timeout=120, step=0.01)
    time.sleep(0.3)
    assert _kill(proc), "the import finished before it could be killed: use a bigger file"
    dispose_engines()
    partial = _count(db_url, "ticket")
    assert partial < ROWS
    report = _check(db_url)  # integrity, orphans, migrations: ok (a run left 'running' is only a warning)
    assert report["ok"] is True
    # what is visible is whole rows: every stored ticket equals its line in the file
    import sqlalchemy as sa

    from butterfly.store.db import get_engine

    with get_engine(db_url).connect() as conn:
        stored = {
            r[0]: (r[1], r[2]) for r in conn.execute(sa.text("SELECT external_id, subject, customer FROM ticket"))
        }
    with big_csv.open(encoding="utf-8", newline="") as fh:
        expected = {row["id"]: (row["subject"] or None, row["customer"] or None) for row in csv.DictReader(fh)}
    assert all(expected[k] == v for k, v in stored.items())
    # running it again completes the work
    again = subprocess.run(
        [sys.executable, "-m", "butterfly", "import", str(big_csv), "--db", db_url, "--json"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert again.returncode == 0, again.stderr[-2000:]
    summary = json.loads(again.stdout)
    created = sum(f["new"] for f in summary["files"])
    assert created == ROWS - partial
    dispose_engines()
    assert _count(db_url, "ticket") == ROWS
    _check(db_url)


def _make_tickets(url: str, n: int) -> None:
    from datetime import UTC, datetime, timedelta

    from butterfly.store.db import open_session
    from butterfly.store.models import Ticket

    t0 = datetime(2026, 5, 4, 9, tzinfo=UTC)
    with open_session(url) as session:
        for i in range(n):
            session.add(
                Ticket(
                    source="crash",
                    external_id=f"K-{i}",
                    customer="Contoso",
                    subject="Export times out",
                    status="closed",
                    created_at=t0,
                    resolved_at=t0 + timedelta(hours=5),
                    closed_at=t0 + timedelta(hours=6),
                    content_hash=f"k{i}",
                )
            )
        session.commit()


def _review_id(url: str, ref: str) -> int | None:
    from butterfly.review.lifecycle import get_review
    from butterfly.store.db import open_session
    from butterfly.tickets import get_ticket

    with open_session(url) as session:
        ticket = get_ticket(session=session, ref=ref)
        review = get_review(session=session, ticket_id=ticket.id or 0, reviewer="lead")
        return review.id if review else None


def test_kill_during_review_saves_then_rerun(db_url: str, tmp_path: Path) -> None:
    attempts = 3  # benchmarks/reliability.py kills 10
    _make_tickets(db_url, attempts + 1)
    dispose_engines()
    answers = tmp_path / "answers.json"
    answers.write_text(json.dumps(answers_file_data(0), ensure_ascii=False), encoding="utf-8")
    n_questions = len(answers_file_data(0))
    args = ["--answers", str(answers), "--reviewer", "lead", "--db", db_url]
    started = time.perf_counter()  # one full run, to spread the kills over a command's lifetime
    full = subprocess.run([sys.executable, "-m", "butterfly", "review", f"K-{attempts}", *args], capture_output=True)
    assert full.returncode == 0, full.stderr
    duration = time.perf_counter() - started
    hit = 0
    for k in range(attempts):
        proc = _spawn(["review", f"K-{k}", *args])
        time.sleep(duration * (0.55 + 0.15 * k))
        hit += _kill(proc)
        dispose_engines()
        review_id = _review_id(db_url, f"K-{k}")
        if review_id is not None:  # all of the file or none of it; history matches what is stored
            stored = len(stored_answers(db_url, review_id))
            assert stored in (0, n_questions)
            assert history_count(db_url, review_id) == stored
        _check(db_url)
    assert hit, "no kill landed while a save was running"
    for k in range(attempts):  # running the same command again completes the work, exactly once
        again = subprocess.run([sys.executable, "-m", "butterfly", "review", f"K-{k}", *args], capture_output=True)
        assert again.returncode == 0, again.stderr
        review_id = _review_id(db_url, f"K-{k}")
        assert review_id is not None
        assert len(stored_answers(db_url, review_id)) == n_questions
        assert history_count(db_url, review_id) == n_questions
    _check(db_url)


def _unstamped(html: str) -> str:
    """The report without its 'Generated: <minute>' footer (two runs a minute apart differ only there)."""
    import re

    return re.sub(r"Generated: [0-9: -]+ \(UTC\)", "Generated: …", html)


def test_kill_during_report_rendering_then_rerun(db_url: str, big_csv: Path, tmp_path: Path) -> None:
    imported = subprocess.run(
        [sys.executable, "-m", "butterfly", "import", str(big_csv), "--db", db_url], capture_output=True, check=False
    )
    assert imported.returncode == 0, imported.stderr[-2000:]
    (tmp_path / "out").mkdir()
    out = tmp_path / "out" / "weekly.html"
    old = "<!doctype html><p>last week's report</p></html>\n"
    out.write_text(old, encoding="utf-8")
    args = ["report", "weekly", "--week", "2026-W40", "--weeks-back", "104", "-o", str(out), "--db", db_url]
    started = time.perf_counter()
    full = subprocess.run([sys.executable, "-m", "butterfly", *args], capture_output=True, text=True)
    assert full.returncode == 0, full.stderr
    duration = time.perf_counter() - started
    complete = out.read_text(encoding="utf-8")
    assert complete.rstrip().endswith("</html>") and len(complete) > len(old)
    out.write_text(old, encoding="utf-8")
    hit = 0
    # kills at 50/80/95% of the full run's duration; when the machine got quieter than during that run and every
    # report finished first, earlier kills follow (at most 6 more, each half as late) until one lands
    fractions = [0.5, 0.8, 0.95] + [0.4 / 2**k for k in range(6)]
    for n, fraction in enumerate(fractions):  # benchmarks/reliability.py kills 12 times
        if hit and n >= 3:
            break
        proc = _spawn(args)
        time.sleep(duration * fraction)
        hit += _kill(proc)
        text = _unstamped(out.read_text(encoding="utf-8"))
        assert text in (old, _unstamped(complete)), f"a truncated report at the target after a kill at {fraction:.0%}"
    assert hit, "no kill landed while the report was being made"
    leftovers = [p.name for p in out.parent.iterdir() if p.name != out.name]
    assert all(n.startswith(".weekly.html.") and n.endswith(".tmp") for n in leftovers), leftovers
    rerun = subprocess.run([sys.executable, "-m", "butterfly", *args], capture_output=True, text=True)
    assert rerun.returncode == 0, rerun.stderr
    assert _unstamped(out.read_text(encoding="utf-8")) == _unstamped(complete)
    assert oct(out.stat().st_mode & 0o777) == "0o600"
