"""Hostile files, links and URLs (issue #21) for ``benchmarks/reliability.py``: a fuzz set and a fault set.

Fuzz: every YAML reader (answers, checklists, lenses, mapping files, experience levels) fed alias bombs, tags that
are not plain data, duplicate keys, endless numbers and endless input (``/dev/zero``); a case passes when it is a
clear ``FileProblemsError`` naming the file, fast.

Faults (each run as a real ``python -m butterfly`` process): the rejects file planted as a symlink and as a FIFO,
``-o`` onto character devices, a FIFO and a folder, a full disk during exports and the rejects file, database URLs
carrying their secret in six forms, four processes upgrading one fresh SQLite file, temporary files of killed
backups, a mistyped ``--db``, a 2 GB file without a newline, a template trying to run code, and a review save
against a database locked past its busy timeout.
"""

from __future__ import annotations

import os
import random
import sqlite3
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
SECRET = "S3cretPW"


def alias_bomb(levels: int) -> str:
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, levels)]
    return "\n".join(lines) + "\n"


HOSTILE_YAML = [
    ("alias bomb, 10 levels", alias_bomb(10)),
    ("one alias", "a: &x 1\nb: *x\n"),
    ("!!binary", "customer.short.certainty: !!binary aGVsbG8=\n"),
    ("!!set", "customer.short.certainty: !!set {a, b}\n"),
    ("!!python", "customer.short.certainty: !!python/object/apply:os.system ['true']\n"),
    ("merge key", "<<: {customer.short.certainty: 1}\n"),
    ("duplicate key", "customer.short.certainty: 1\ncustomer.short.certainty: 2\n"),
    ("5,000-digit integer", "customer.short.certainty: " + "9" * 5000 + "\n"),
    ("date past the calendar", "due: 0000-01-01\n"),
    ("deep nesting", "a: " + "[" * 5000 + "]" * 5000 + "\n"),
]


def fuzz_hostile_yaml(report: Any, rng: random.Random, row_type: Any, work: Path) -> None:
    """Every YAML reader against :data:`HOSTILE_YAML` and ``/dev/zero``: a clear error naming the file, fast."""
    from butterfly.checklist.model import load_checklist_file
    from butterfly.errors import FileProblemsError
    from butterfly.importers.mapping import load_file
    from butterfly.review.answers_file import read_answers_file
    from butterfly.review.experience import parse_experience_levels

    readers = {
        "answers file": read_answers_file,
        "checklist / lens": load_checklist_file,
        "mapping file": load_file,
        "experience levels": lambda p: parse_experience_levels(Path(p).read_text(encoding="utf-8"), filename=str(p)),
    }
    folder = work / "fuzz-hostile-yaml"
    folder.mkdir(exist_ok=True)
    row = row_type("hostile YAML in every reader (aliases, tags, duplicate keys, endless input)")
    for reader_name, read in readers.items():
        cases = [*HOSTILE_YAML]
        rng.shuffle(cases)
        for kind, text in [*cases, ("/dev/zero", None)]:
            row.cases += 1
            path = Path("/dev/zero") if text is None else folder / "hostile.yaml"
            if text is not None:
                path.write_text(text, encoding="utf-8")
            if text is None and reader_name == "experience levels":
                row.errors += 1  # it reads a packaged file, never a user path
                continue
            started = time.perf_counter()
            try:
                read(path)
                row.accepted += 1
                if kind not in ("date past the calendar",):
                    row.crashes.append(f"{reader_name}, {kind}: accepted")
            except FileProblemsError as exc:
                row.errors += 1
                if exc.file != str(path):
                    row.crashes.append(f"{reader_name}, {kind}: error names {exc.file}")
            except Exception as exc:
                row.crashes.append(f"{reader_name}, {kind}: {type(exc).__name__}: {str(exc)[:60]}")
            if time.perf_counter() - started > 10:
                row.crashes.append(f"{reader_name}, {kind}: took {time.perf_counter() - started:.0f} s")
    report.fuzz.append(row)


def _mknod(path: Path, minor: int) -> bool:
    try:
        os.mknod(path, stat.S_IFCHR | 0o666, os.makedev(1, minor))
        return True
    except (PermissionError, OSError):
        return False


def hostile_faults(report: Any, fault_row: Any, work: Path, log: Any) -> None:
    """The fault set of issue #21; each row a real process, checked from what is on disk afterwards."""
    from faultkit import no_traceback, run

    def add(fault: str, how: str, result: subprocess.CompletedProcess[str], intact: bool, ok: bool) -> None:
        saw = next((line[7:] for line in result.stderr.splitlines() if line.startswith("Error: ")), "")
        saw = saw or (result.stderr.strip().splitlines() or [""])[-1]
        good = ok and intact and no_traceback(result) and SECRET not in result.stdout + result.stderr
        report.faults.append(fault_row(fault, "sqlite", how, saw[:150], str(result.returncode), intact, good))
        log(f"fault: {fault}: {'survived' if good else 'FAILED'}")

    base = work / "hostile"
    base.mkdir(exist_ok=True)
    db = base / "team.db"
    run(["--db", str(db), "import", str(EXAMPLES / "tickets.csv")])
    run(["--db", str(db), "review", "T-1001", "--answers", str(EXAMPLES / "answers.yaml")])

    # the rejects file planted as a symlink to a file the importing user can write
    drop = base / "drop"
    drop.mkdir()
    victim = base / "bashrc"
    victim.write_text("export PATH=$PATH:~/bin\n", encoding="utf-8")
    source = drop / "export.csv"
    source.write_text("id,subject,status,created\nB-1,fine,closed,2026-10-01 09:00\n,no id,closed,2026-10-01\n")
    (drop / "export.csv.rejects.txt").symlink_to(victim)
    result = run(["--db", str(db), "import", str(source)])
    kept = victim.read_text(encoding="utf-8") == "export PATH=$PATH:~/bin\n"
    replaced = not (drop / "export.csv.rejects.txt").is_symlink()
    add("rejects file is a symlink", "`import` with `export.csv.rejects.txt` -> ~/.bashrc", result, kept, replaced)
    (drop / "export.csv.rejects.txt").unlink()
    os.mkfifo(drop / "export.csv.rejects.txt")
    result = run(["--db", str(db), "import", str(source)], timeout=60)
    add(
        "rejects file is a FIFO",
        "`import` with a FIFO planted at the rejects path",
        result,
        True,
        result.returncode == 2,
    )

    # -o onto devices, a FIFO, a folder
    dev = base / "dev"
    dev.mkdir()
    if _mknod(dev / "null", 3) and _mknod(dev / "full", 7):
        result = run(["--db", str(db), "export", "reviews", "-o", str(dev / "null")])
        add(
            "-o onto a character device",
            "`export reviews -o NULL` (a mknod'ed /dev/null in a temp folder)",
            result,
            stat.S_ISCHR(os.stat(dev / "null").st_mode),
            result.returncode == 0,
        )
        result = run(["--db", str(db), "report", "weekly", "-o", str(dev / "full")])
        add(
            "-o onto a full device",
            "`report weekly -o FULL` (a mknod'ed /dev/full in a temp folder)",
            result,
            stat.S_ISCHR(os.stat(dev / "full").st_mode),
            result.returncode == 2 and "No space left" in result.stderr,
        )
    else:
        report.skipped.append("-o onto a device: making device nodes needs root (CAP_MKNOD)")
    result = subprocess.run(
        [sys.executable, "-m", "butterfly", "checklist", "export", "--format", "json", "-o", "/dev/stdout"],
        capture_output=True,
        text=True,
        check=False,
    )
    add("-o /dev/stdout", "`checklist export -o /dev/stdout`", result, True, result.stdout.startswith("{"))
    fifo = base / "pipe"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()))
    reader.start()
    result = run(["checklist", "export", "--format", "json", "-o", str(fifo)])
    reader.join(timeout=30)
    add(
        "-o onto a FIFO",
        "`checklist export -o FIFO` with a reader",
        result,
        stat.S_ISFIFO(os.stat(fifo).st_mode),
        bool(got),
    )
    result = run(["--db", str(db), "export", "reviews", "-o", str(base)])
    add("-o onto a folder", "`export reviews -o DIR`: checked before any work", result, True, result.returncode == 2)

    # full disk while writing exports and the rejects file (RLIMIT_FSIZE)
    out = base / "out"
    out.mkdir()
    target = out / "export.txt"
    target.write_text("old\n", encoding="utf-8")
    result = run(["checklist", "export", "--format", "html", "-o", str(target)], file_size_limit=16 * 1024)
    left = sorted(p.name for p in out.iterdir())
    add(
        "disk full during an export",
        "`checklist export` with RLIMIT_FSIZE = 16 KiB",
        result,
        target.read_text(encoding="utf-8") == "old\n" and left == ["export.txt"],
        result.returncode == 2,
    )
    many = base / "many.csv"
    many.write_text(
        "id,subject,status,created\n" + "".join(f",no id {'x' * 200},closed,2026-10-01\n" for _ in range(2000)),
        encoding="utf-8",
    )
    result = run(["--db", str(db), "import", str(many)], file_size_limit=db.stat().st_size + 256 * 1024)
    add(
        "disk full during the rejects file",
        "`import` of 2,000 rejects with RLIMIT_FSIZE = db + 256 KiB",
        result,
        not (base / "many.csv.rejects.txt").exists() and not list(base.glob(".many.csv.rejects.txt.*")),
        result.returncode == 2,
    )

    # a 2 GB file without a newline (sparse: no 2 GB written)
    huge = base / "huge.csv"
    with huge.open("wb") as handle:
        handle.write(b"id,subject,status,created\n")
        handle.truncate(2 * 1024**3)
    result = run(["--db", str(db), "import", str(huge)], timeout=600)
    add("2 GB file without a newline", "`import` of a sparse 2 GB file", result, True, result.returncode == 2)
    huge.unlink()

    # secrets in every URL form
    for url in (
        f"postgresql+psycopg://lead@127.0.0.1:1/team?password={SECRET}",
        f"postgresql+psycopg://:{SECRET}@127.0.0.1:1/team",
        f"postgresql+psycopg://lead:S3cret@{SECRET[6:]}x@127.0.0.1:1/team",
        f"postgresql+psycopg://lead@127.0.0.1:1/team?sslpassword={SECRET}&passfile=/home/{SECRET}",
    ):
        for command in (
            ["db", "info"],
            ["config", "show"],
            ["db", "backup", str(base / "x.dump")],
            ["tickets", "list"],
        ):
            result = run(["--db", url, *command])
            text = result.stdout + result.stderr
            leaked = SECRET in text or f"{SECRET[6:]}x@" in text
            form = url.split("//", 1)[1].split("@127")[0] + ("@…?" + url.split("?", 1)[1] if "?" in url else "@…")
            add(
                "secret in a URL form",
                f"`{' '.join(command[:2])}` with `{form.replace(SECRET, 'SECRET')}`",
                result,
                not leaked,
                not leaked,
            )

    # four processes upgrading one fresh SQLite file
    failures = 0
    for trial in range(5):
        fresh = base / f"fresh{trial}.db"
        procs = [
            subprocess.Popen(
                [sys.executable, "-m", "butterfly", "--db", str(fresh), "db", "upgrade"],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(4)
        ]
        failures += sum(p.wait(timeout=300) != 0 for p in procs)
        for p in procs:
            p.communicate()
    result = run(["--db", str(base / "fresh0.db"), "db", "check"])
    add(
        "4 processes upgrade a fresh file",
        "5 trials of 4 concurrent `db upgrade`",
        result,
        result.returncode == 0,
        failures == 0,
    )

    # temporary files of killed backups
    backups = base / "backups"
    backups.mkdir()
    stale = backups / ".butterfly-20261001-101010.db.k1ll3d_9.tmp"
    stale.write_bytes(db.read_bytes())
    old = time.time() - 3600
    os.utime(stale, (old, old))
    result = run(["--db", str(db), "db", "backup", str(backups / "today.db")])
    add("killed backups' temporary files", "a full-size leftover, then `db backup`", result, True, not stale.exists())

    # a mistyped --db
    typo = base / "typo" / "team.db"
    result = run(["--db", str(typo), "tickets", "list"])
    add(
        "mistyped --db",
        "`tickets list` on a path that does not exist",
        result,
        not typo.parent.exists(),
        result.returncode == 2,
    )

    # a template trying to run code
    templates = base / "templates"
    templates.mkdir()
    (templates / "weekly.md").write_text("{{ cycler.__init__.__globals__.os.popen('id').read() }}\n", encoding="utf-8")
    result = run(["--db", str(db), "report", "weekly", "--templates", str(templates)])
    add(
        "template runs code",
        "`report weekly` with `cycler.__init__.__globals__.os.popen`",
        result,
        "uid=" not in result.stdout,
        result.returncode == 2,
    )

    # a review save against a database locked past its busy timeout
    holder = sqlite3.connect(db, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")
    release = threading.Timer(4, lambda: holder.execute("COMMIT"))
    release.start()
    try:
        env = {**os.environ, "BUTTERFLY_SQLITE_BUSY_TIMEOUT": "0.2"}
        result = run(["--db", str(db), "review", "T-1002", "--answers", str(EXAMPLES / "answers.yaml")], env=env)
    finally:
        release.join()
        holder.close()
    add(
        "database locked past the busy timeout",
        "`review --answers` while another writer holds the lock 4 s (busy timeout 0.2 s)",
        result,
        True,
        result.returncode == 0,
    )
