"""Files butterfly writes for the user are private (0600), and database passwords never reach any output.

Every command that writes a file runs as a real process under the common umask 022; an existing world-readable
target is replaced by a private one. Then a whole session of commands runs against PostgreSQL with a password in
the URL (trust auth accepts any password), and every stdout, stderr and written file is searched for it.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from loadkit import answers_file_data

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def _run(
    args: list[str], *, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    def umask() -> None:
        os.umask(0o022)

    return subprocess.run(
        [sys.executable, "-m", "butterfly", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        cwd=cwd,
        preexec_fn=umask,
        check=False,
    )


def _with_a_bad_row(folder: Path) -> Path:
    path = folder / "with-a-bad-row.csv"
    path.write_text(
        "id,subject,status,created\nB-1,fine,closed,2026-10-01 09:00\nB-2,broken,no-such-status,2026-10-01 09:00\n",
        encoding="utf-8",
    )
    return path


def _commands(db: str, out: Path, answers: Path) -> list[list[str]]:
    """A working day: import, review, reports, exports, checks."""
    return [
        ["import", str(EXAMPLES / "tickets.csv"), "--db", db],
        ["import", str(EXAMPLES / "zendesk_tickets.json"), "--db", db],
        ["import", str(_with_a_bad_row(out.parent)), "--db", db, "--rejects", str(out / "rejects.txt")],
        ["tickets", "list", "--db", db],
        ["tickets", "show", "T-1001", "--db", db],
        ["review", "T-1001", "--answers", str(answers), "--reviewer", "lead", "--db", db],
        ["reviews", "list", "--db", db, "--json"],
        ["reviews", "show", "T-1001", "--reviewer", "lead", "--db", db],
        ["actions", "list", "--db", db],
        ["report", "ticket", "T-1001", "-o", str(out / "ticket.html"), "--db", db],
        ["report", "ticket", "T-1001", "-o", str(out / "ticket.md"), "--db", db],
        ["report", "weekly", "--week", "2026-W41", "-o", str(out / "weekly.html"), "--db", db],
        ["report", "weekly", "--week", "2026-W41", "-f", "json", "-o", str(out / "weekly.json"), "--db", db],
        ["export", "reviews", "-f", "csv", "-o", str(out / "reviews.csv"), "--db", db],
        ["export", "actions", "-f", "jsonl", "-o", str(out / "actions.jsonl"), "--db", db],
        ["checklist", "export", "-f", "json", "-o", str(out / "checklist.json")],
        ["check", "--db", db],
        ["db", "info", "--db", db],
        ["db", "info", "--db", db, "--json"],
        ["db", "check", "--db", db],
        ["db", "upgrade", "--db", db],
        ["db", "backup", str(out / "backup.db"), "--db", db],
        ["--db", db, "config", "show"],
    ]


def _session(db: str, out: Path, answers: Path) -> list[tuple[list[str], subprocess.CompletedProcess[str]]]:
    """The working day as real processes (BUTTERFLY_DATABASE_URL set too); every command and its result."""
    return [(c, _run(c, env={"BUTTERFLY_DATABASE_URL": db})) for c in _commands(db, out, answers)]


@pytest.fixture
def answers(tmp_path: Path) -> Path:
    path = tmp_path / "answers.json"
    path.write_text(json.dumps(answers_file_data(0), ensure_ascii=False), encoding="utf-8")
    return path


def test_every_file_written_for_the_user_is_private(cli, tmp_path: Path, answers: Path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "out"
    out.mkdir()
    db = str(out / "team.db")
    (out / "ticket.html").write_text("old, world-readable", encoding="utf-8")
    (out / "ticket.html").chmod(0o644)
    previous = os.umask(0o022)
    try:
        for command in _commands(db, out, answers):
            result = cli(*command)
            if command[0] != "check":  # the gate exits 1 when reviews fall short; that is its job
                assert result.exit_code in (0, 1), (command, result.output[-1500:])
    finally:
        os.umask(previous)
    names = {p.name for p in out.iterdir()}
    assert {"team.db", "ticket.html", "ticket.md", "weekly.html", "weekly.json", "reviews.csv"} <= names
    assert {"actions.jsonl", "checklist.json", "backup.db", "rejects.txt"} <= names
    assert not [n for n in names if n.startswith(".")], "temporary files left behind"
    for path in out.iterdir():
        assert _mode(path) == 0o600, f"{path.name} is {oct(_mode(path))}"


def test_default_database_folder_and_file_are_private(tmp_path: Path) -> None:
    data = tmp_path / "fresh-data"
    result = _run(["import", str(EXAMPLES / "tickets.csv")], env={"BUTTERFLY_DATA_DIR": str(data)})
    assert result.returncode == 0, result.stderr
    assert _mode(data / "butterfly.db") == 0o600
    assert _mode(data) == 0o700
    for sidecar in ("butterfly.db-wal", "butterfly.db-shm"):
        if (data / sidecar).exists():
            assert _mode(data / sidecar) == 0o600


PASSWORD = "Pw-7f3a-NOT-FOR-LOGS"


@pytest.mark.postgres
@pytest.mark.slow
def test_database_password_is_never_printed_or_written(pg_server_url: str, tmp_path: Path, answers: Path) -> None:
    """Trust auth accepts any password, so the commands really work with it in the URL; grep everything."""
    from conftest import _truncate_all

    _truncate_all(pg_server_url)
    user_part = "postgres@"
    assert user_part in pg_server_url
    db = pg_server_url.replace(user_part, f"postgres:{PASSWORD}@", 1)
    out = tmp_path / "out"
    out.mkdir()
    results = _session(db, out, answers)
    worked = [c for c, r in results if r.returncode == 0]
    assert len(worked) >= 15, [(c, r.stderr[-300:]) for c, r in results if r.returncode != 0]
    # failures must not leak it either: a closed port, a missing database, a bad option
    failing = [
        ["db", "info", "--db", f"postgresql+psycopg://lead:{PASSWORD}@127.0.0.1:1/x"],
        ["db", "info", "--db", db.rsplit("/", 1)[0] + "/no_such_database"],
        ["db", "backup", str(out / "x.dump"), "--db", db],
        ["tickets", "show", "NOPE", "--db", db],
        ["report", "weekly", "--week", "not-a-week", "--db", db],
    ]
    for command in failing:
        result = _run(command)
        assert result.returncode == 2, (command, result.stderr)
        results.append((command, result))
    for command, result in results:
        assert PASSWORD not in result.stdout + result.stderr, f"password printed by {' '.join(command[:2])}"
        assert "Traceback" not in result.stderr
    for path in out.rglob("*"):
        if path.is_file():
            assert PASSWORD.encode() not in path.read_bytes(), f"password written to {path.name}"
    shown = next(r for c, r in results if c[-2:] == ["config", "show"])
    assert "postgres:***@" in shown.stdout
