"""Hostile files, links and URLs (issue #21): no denial of service, no write through a link, no secret, no traceback.

Each test names the input it is about and checks what a user sees: the exit code, our ``Error:`` line naming the
file, what is (not) on disk afterwards.
"""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from faultkit import no_traceback, run
from review_support import ROOT, load_example_tickets

EXAMPLES = ROOT / "examples"
CHECKLISTS = ROOT / "butterfly" / "checklist" / "builtin"


def alias_bomb(levels: int) -> str:
    """Nested anchors, each level nine aliases of the one before: 9**levels strings once expanded."""
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]")
    return "\n".join(lines) + "\n"


# -- YAML: one loader for every file ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "reader",
    ["answers", "checklist", "lens", "mapping", "experience"],
)
def test_alias_bomb_is_refused_in_every_yaml_butterfly_reads(reader: str, tmp_path: Path) -> None:
    from butterfly.errors import FileProblemsError

    path = tmp_path / "bomb.yaml"
    path.write_text(alias_bomb(10), encoding="utf-8")
    started = time.perf_counter()
    with pytest.raises(FileProblemsError) as caught:
        if reader == "answers":
            from butterfly.review.answers_file import read_answers_file

            read_answers_file(path)
        elif reader in ("checklist", "lens"):
            from butterfly.checklist.model import load_checklist_file

            load_checklist_file(path)
        elif reader == "mapping":
            from butterfly.importers.mapping import load_file

            load_file(path)
        else:
            from butterfly.review.experience import parse_experience_levels

            parse_experience_levels(path.read_text(encoding="utf-8"), filename=str(path))
    assert time.perf_counter() - started < 5
    assert caught.value.file == str(path)
    assert caught.value.problems[0].line == 1
    assert "anchors" in caught.value.problems[0].message


def test_alias_bomb_answers_file_is_one_error_line_and_exit_2(cli, session, db_url: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    load_example_tickets(session)
    path = tmp_path / "answers.yaml"
    path.write_text(alias_bomb(10), encoding="utf-8")
    result = cli("review", "T-1001", "--answers", str(path), "--db", db_url)
    assert result.exit_code == 2
    assert (
        f"{path}:1: " in result.stderr and "YAML anchors and aliases (&name, *name) are not accepted" in result.stderr
    )


def test_a_lone_alias_is_refused_too() -> None:
    from butterfly.errors import FileProblemsError
    from butterfly.yamlload import load_yaml

    with pytest.raises(FileProblemsError, match=r"x.yaml:1: b: YAML anchors and aliases .* are not accepted"):
        load_yaml("a: &a 1\nb: *a\n", filename="x.yaml")


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("customer.short.certainty: !!binary aGVsbG8=\n", "!!binary"),
        ("customer.short.certainty: !!set {a, b}\n", "!!set"),
        ("customer.short.certainty: !!python/object/apply:os.system ['true']\n", "!!python/object/apply:os.system"),
        ("customer.short.certainty: !local x\n", "!local"),
        ("<<: {customer.short.certainty: 1}\n", "merge keys"),
        ("customer.short.certainty: 1\ncustomer.short.certainty: 2\n", "appears twice (first on line 1)"),
        ("customer.short.certainty: " + "7" * 5000 + "\n", "5,000 digits"),
    ],
)
def test_answers_files_hold_plain_data_only(text: str, problem: str, cli, session, db_url: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    load_example_tickets(session)
    path = tmp_path / "answers.yaml"
    path.write_text(text, encoding="utf-8")
    result = cli("review", "T-1001", "--answers", str(path), "--db", db_url)
    assert result.exit_code == 2, result.output
    assert f"Error: {path}: 1 problem" in result.stderr
    assert problem in result.stderr
    shown = cli("reviews", "show", "T-1001", "--json", "--db", db_url)
    assert shown.exit_code != 0 or '"answered": 0' in shown.stdout  # nothing saved


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('{"customer.short.certainty": 1, "customer.short.certainty": 2}', "appears twice"),
        ('{"customer.short.certainty": ' + "7" * 5000 + "}", "5,000 digits"),
    ],
)
def test_json_answers_files_refuse_duplicate_keys_and_endless_numbers(
    text: str, problem: str, cli, session, db_url: str, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    load_example_tickets(session)
    path = tmp_path / "answers.json"
    path.write_text(text, encoding="utf-8")
    result = cli("review", "T-1001", "--answers", str(path), "--db", db_url)
    assert result.exit_code == 2
    assert f"Error: {path}: 1 problem" in result.stderr
    assert problem in result.stderr


def test_checklist_with_an_endless_number_is_a_problem(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    text = (CHECKLISTS / "butterfly.en.yaml").read_text(encoding="utf-8")
    path = tmp_path / "team.yaml"
    path.write_text(text.replace("version:", "version: " + "1" * 5000 + "\nx_version:", 1), encoding="utf-8")
    result = cli("checklist", "validate", str(path))
    assert result.exit_code == 2
    assert "5,000 digits" in result.stdout
    assert no_traceback(result)


# -- inputs read with a limit, non-files named ------------------------------------------------------------


@pytest.mark.parametrize(
    "command",
    [
        ["review", "T-1001", "--answers", "/dev/zero"],
        ["review", "T-1001", "--lens", "/dev/zero", "--answers", str(EXAMPLES / "answers.yaml")],
        ["checklist", "validate", "/dev/zero"],
        ["checklist", "show", "--checklist", "/dev/zero"],
    ],
)
def test_endless_inputs_are_read_with_a_limit(command: list[str], cli, session, db_url: str) -> None:  # type: ignore[no-untyped-def]
    load_example_tickets(session)
    result = cli(*command, "--db", db_url) if command[0] == "review" else cli(*command)
    assert result.exit_code == 2, result.output
    assert "/dev/zero: larger than 32 MB" in result.output


def test_a_fifo_answers_file_is_read_like_process_substitution(cli, session, db_url: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    load_example_tickets(session)
    fifo = tmp_path / "answers.yaml"
    os.mkfifo(fifo)

    def feed() -> None:
        with fifo.open("w", encoding="utf-8") as handle:
            handle.write("customer.short.certainty: 2\n")

    writer = threading.Thread(target=feed)
    writer.start()
    result = cli("review", "T-1001", "--answers", str(fifo), "--db", db_url)
    writer.join(timeout=10)
    assert result.exit_code == 0, result.output
    assert "saved 1 answer(s)" in result.stdout


def test_non_files_are_named_for_what_they_are(cli, sqlite_url_fixture: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "folder.csv"
    folder.mkdir()
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    loop = tmp_path / "loop.csv"
    loop.symlink_to(loop)
    dangling = tmp_path / "dangling.csv"
    dangling.symlink_to(tmp_path / "gone.csv")
    expected = {
        folder: "a folder, not a file",
        fifo: "a named pipe (FIFO), not a file",
        loop: "a symbolic link loop",
        dangling: "a symbolic link to a file that does not exist",
    }
    for path, reason in expected.items():
        result = cli("import", str(path), "--db", sqlite_url_fixture)
        assert result.exit_code == 2, (path, result.output)
        assert f"Error: {path}: {reason}" in result.stderr
    result = cli("checklist", "validate", str(loop))
    assert result.exit_code == 2
    assert "a symbolic link loop" in result.stdout


# -- writing: never through a link, devices written directly ------------------------------------------------


def _bad_row_csv(folder: Path) -> Path:
    path = folder / "export.csv"
    path.write_text("id,subject,status,created\nB-1,fine,closed,2026-10-01 09:00\n,no id,closed,2026-10-01\n")
    return path


def test_rejects_file_never_writes_through_a_symlink(cli, sqlite_url_fixture: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    victim = tmp_path / "bashrc"
    victim.write_text("export PATH=$PATH:~/bin\n", encoding="utf-8")
    victim.chmod(0o644)
    drop = tmp_path / "drop"
    drop.mkdir()
    source = _bad_row_csv(drop)
    link = drop / "export.csv.rejects.txt"
    link.symlink_to(victim)
    result = cli("import", str(source), "--db", sqlite_url_fixture)
    assert result.exit_code == 1, result.output  # finished with rejects
    assert victim.read_text(encoding="utf-8") == "export PATH=$PATH:~/bin\n"
    assert stat.S_IMODE(victim.stat().st_mode) == 0o644
    assert not link.is_symlink()
    assert stat.S_IMODE(link.stat().st_mode) == 0o600
    assert "# line 3: " in link.read_text(encoding="utf-8")
    assert sorted(p.name for p in drop.iterdir()) == ["export.csv", "export.csv.rejects.txt"]


def test_rejects_file_refuses_a_planted_fifo(cli, sqlite_url_fixture: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    source = _bad_row_csv(tmp_path)
    os.mkfifo(tmp_path / "export.csv.rejects.txt")
    result = cli("import", str(source), "--db", sqlite_url_fixture)
    assert result.exit_code == 2
    assert "export.csv.rejects.txt: it is a device or pipe, not a regular file" in result.stderr


def test_rejects_file_on_a_full_disk_leaves_nothing(tmp_path: Path) -> None:
    source = tmp_path / "many.csv"
    rows = ["id,subject,status,created"] + [f",no id {'x' * 200},closed,2026-10-01" for _ in range(2000)]
    source.write_text("\n".join(rows) + "\n", encoding="utf-8")
    db = tmp_path / "team.db"
    assert run(["--db", str(db), "db", "upgrade"]).returncode == 0
    limit = db.stat().st_size + 256 * 1024  # the database may grow a little; the 450 KB rejects file may not
    result = run(["--db", str(db), "import", str(source)], file_size_limit=limit)
    assert result.returncode == 2, result.stdout + result.stderr
    assert f"cannot write {source}.rejects.txt: File too large" in result.stderr
    assert no_traceback(result)
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith("team.db")) == ["many.csv"]


@pytest.fixture
def devices(tmp_path: Path) -> dict[str, Path]:
    """Character devices like /dev/null and /dev/full, made in a temporary folder (the real /dev is not touched)."""
    made = {}
    for name, minor in (("null", 3), ("full", 7)):
        path = tmp_path / "dev" / name
        path.parent.mkdir(exist_ok=True)
        try:
            os.mknod(path, stat.S_IFCHR | 0o666, os.makedev(1, minor))
        except PermissionError:
            pytest.skip("making device nodes needs root (CAP_MKNOD)")
        made[name] = path
    return made


def test_output_onto_a_device_writes_to_it_and_keeps_it_a_device(cli, sqlite_url_fixture: str, devices) -> None:  # type: ignore[no-untyped-def]
    null = devices["null"]
    for command in (
        ["export", "reviews", "-o", str(null)],
        ["checklist", "export", "--format", "md", "-o", str(null)],
        ["report", "weekly", "-o", str(null)],
    ):
        result = cli(*command, "--db", sqlite_url_fixture) if command[0] != "checklist" else cli(*command)
        assert result.exit_code == 0, (command, result.output)
        assert stat.S_ISCHR(os.stat(null).st_mode), command
    assert sorted(p.name for p in null.parent.iterdir()) == ["full", "null"]


def test_output_onto_a_full_device_is_no_space_left_and_exit_2(cli, sqlite_url_fixture: str, devices) -> None:  # type: ignore[no-untyped-def]
    full = devices["full"]
    for command in (["checklist", "export", "--format", "md", "-o", str(full)], ["report", "weekly", "-o", str(full)]):
        result = cli(*command, "--db", sqlite_url_fixture) if command[0] != "checklist" else cli(*command)
        assert result.exit_code == 2, (command, result.output)
        assert f"Error: cannot write {full}: No space left on device" in result.stderr
        assert stat.S_ISCHR(os.stat(full).st_mode)


def test_output_to_dev_stdout_reaches_stdout(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "butterfly", "checklist", "export", "--format", "json", "-o", "/dev/stdout"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("{")


def test_output_into_a_fifo_writes_through_the_pipe(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()))
    reader.start()
    result = cli("checklist", "export", "--format", "json", "-o", str(fifo))
    reader.join(timeout=10)
    assert result.exit_code == 0, result.output
    assert got and got[0].startswith(b"{")
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)


def test_output_through_a_symlink_replaces_the_link_not_its_target(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me\n", encoding="utf-8")
    link = tmp_path / "checklist.json"
    link.symlink_to(victim)
    result = cli("checklist", "export", "--format", "json", "-o", str(link))
    assert result.exit_code == 0, result.output
    assert victim.read_text(encoding="utf-8") == "keep me\n"
    assert not link.is_symlink()
    assert link.read_text(encoding="utf-8").startswith("{")


@pytest.mark.parametrize(
    "command",
    [
        ["export", "reviews", "-o", "{dir}"],
        ["export", "actions", "-o", "{dir}"],
        ["checklist", "export", "--format", "md", "-o", "{dir}"],
        ["report", "weekly", "-o", "{dir}"],
        ["export", "reviews", "-o", "{dir}/missing/reviews.jsonl"],
    ],
)
def test_output_targets_are_checked_before_any_work(
    command: list[str], cli, sqlite_url_fixture: str, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    args = [part.replace("{dir}", str(tmp_path)) for part in command]
    result = cli(*args, "--db", sqlite_url_fixture) if args[0] != "checklist" else cli(*args)
    assert result.exit_code == 2, result.output
    assert f"Error: cannot write {tmp_path}" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith("butterfly.db")) == []


@pytest.mark.parametrize(
    ("command", "limit"),
    [
        (["export", "reviews", "--format", "jsonl"], 48 * 1024),  # SQLite's shared-memory file needs 32 KiB
        (["checklist", "export", "--format", "html"], 16 * 1024),  # 36 KB of HTML
    ],
)
def test_full_disk_during_an_export_keeps_the_old_file_and_leaves_no_temp(
    command: list[str], limit: int, tmp_path: Path
) -> None:
    db = tmp_path / "team.db"
    load = run(["--db", str(db), "import", str(EXAMPLES / "tickets.csv")])
    assert load.returncode == 0, load.stderr
    for ticket in ("T-1001", "T-1002", "T-1003"):  # 3 x 32 answers: about 72 KB of JSON Lines
        review = run(["--db", str(db), "review", ticket, "--answers", str(EXAMPLES / "answers.yaml")])
        assert review.returncode == 0, review.stderr
    out = tmp_path / "out"
    out.mkdir()
    target = out / "export.txt"
    target.write_text("old\n", encoding="utf-8")
    args = ["--db", str(db), *command, "-o", str(target)] if command[0] == "export" else [*command, "-o", str(target)]
    result = run(args, file_size_limit=limit)
    assert result.returncode == 2, result.stdout + result.stderr
    assert f"Error: cannot write {target}: File too large" in result.stderr
    assert no_traceback(result)
    assert target.read_text(encoding="utf-8") == "old\n"
    assert sorted(p.name for p in out.iterdir()) == ["export.txt"]


# -- secrets in every URL form -------------------------------------------------------------------------------

SECRET = "S3cretPW"
URL_FORMS = [
    f"postgresql+psycopg://lead@127.0.0.1:1/team?password={SECRET}",
    f"postgresql+psycopg://:{SECRET}@127.0.0.1:1/team",
    f"postgresql+psycopg://lead:S3cret@{SECRET[6:]}x@127.0.0.1:1/team",
    f"postgresql+psycopg://lead@127.0.0.1:1/team?sslpassword={SECRET}&passfile=/home/lead/{SECRET}",
    f"postgresql+psycopg://lead:{SECRET}@127.0.0.1:1/team",
]


@pytest.mark.parametrize("url", URL_FORMS)
def test_no_url_form_prints_its_secret(url: str, cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    secret_parts = [SECRET, f"{SECRET[6:]}x@"]
    for command in (
        ["db", "info"],
        ["config", "show"],
        ["db", "backup", str(tmp_path / "x.dump")],
        ["tickets", "list"],
    ):
        result = cli("--db", url, *command)
        text = result.stdout + result.stderr
        for part in secret_parts:
            assert part not in text, (command, text)
        assert "***" in text or (command[0] == "db" and command[1] == "backup"), (command, text)
        assert no_traceback(result)


def test_redaction_goes_through_the_url_parser() -> None:
    from butterfly.urls import redact_text, redact_url

    assert redact_url("postgresql+psycopg://u:a@b@host:5432/db") == "postgresql+psycopg://u:***@host:5432/db"
    assert redact_url("postgresql://u@h/db?sslmode=require&password=x1") == (
        "postgresql://u@h/db?password=***&sslmode=require"
    )
    assert redact_url("sqlite:////tmp/team.db") == "sqlite:////tmp/team.db"
    assert redact_text('host "b@host" unknown', "postgresql://u:a@b@host/db") == 'host "***@host" unknown'


# -- state and concurrency -----------------------------------------------------------------------------------


def test_four_processes_upgrading_a_fresh_sqlite_file_all_succeed(tmp_path: Path) -> None:
    for trial in range(3):
        db = tmp_path / f"fresh{trial}.db"
        procs = [
            subprocess.Popen(
                [sys.executable, "-m", "butterfly", "--db", str(db), "db", "upgrade"],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(4)
        ]
        outputs = [p.communicate(timeout=120) for p in procs]
        assert [p.returncode for p in procs] == [0, 0, 0, 0], outputs
        assert sum("upgraded empty" in err for _, err in outputs) == 1, outputs


def test_backup_removes_temporary_files_of_killed_backups(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    db = tmp_path / "team.db"
    assert cli("--db", str(db), "import", str(EXAMPLES / "tickets.csv")).exit_code == 0
    backups = tmp_path / "backups"
    backups.mkdir()
    stale = backups / ".butterfly-20261001-101010.db.k1ll3d_9.tmp"
    stale.write_bytes(db.read_bytes())  # what a killed backup leaves: a full-size SQLite file
    other = backups / ".notes.txt.abcdefgh.tmp"
    other.write_text("not ours\n", encoding="utf-8")
    old = time.time() - 3600
    for path in (stale, other):
        os.utime(path, (old, old))
    result = cli("--db", str(db), "db", "backup", str(backups / "today.db"))
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in backups.iterdir()) == [".notes.txt.abcdefgh.tmp", "today.db"]


# -- errors that point the right way -------------------------------------------------------------------------


def test_review_of_a_missing_ticket_without_a_terminal_names_the_ticket(cli, sqlite_url_fixture: str) -> None:  # type: ignore[no-untyped-def]
    result = cli("review", "INC9999999", "--db", sqlite_url_fixture)
    assert result.exit_code == 2
    assert "no ticket 'INC9999999'" in result.stderr
    assert "interactive terminal" not in result.stderr


def test_kind_is_checked_for_checklists_and_lenses(cli, session, db_url: str) -> None:  # type: ignore[no-untyped-def]
    load_example_tickets(session)
    lens = str(CHECKLISTS / "surprise.en.yaml")
    main = str(CHECKLISTS / "butterfly.en.yaml")
    result = cli("review", "T-1001", "--checklist", lens, "--answers", str(EXAMPLES / "answers.yaml"), "--db", db_url)
    assert result.exit_code == 2
    assert f"'{lens}' is a lens, not a main checklist" in result.stderr
    for command in (["checklist", "show", "--lens", main], ["checklist", "export", "--format", "md", "--lens", main]):
        result = cli(*command)
        assert result.exit_code == 2, command
        assert f"'{main}' is not a lens" in result.stderr


def test_a_20_digit_limit_lists_everything(cli, session, db_url: str) -> None:  # type: ignore[no-untyped-def]
    load_example_tickets(session)
    result = cli("tickets", "list", "--limit", "99999999999999999999", "--db", db_url)
    assert result.exit_code == 0, result.output
    assert "T-1001" in result.stdout


def test_markdown_report_escapes_for_markdown_not_html(cli, session, db_url: str) -> None:  # type: ignore[no-untyped-def]
    from review_support import make_ticket

    make_ticket(session, "T-9", subject="pending > 7 days & AT&T <b>late</b>")
    session.commit()
    md = cli("report", "ticket", "T-9", "--format", "md", "--db", db_url).stdout
    assert "pending > 7 days & AT&T \\<b>late\\</b>" in md
    assert "&gt;" not in md and "&amp;" not in md


def test_created_database_is_announced_and_a_mistyped_one_is_an_error(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    typo = tmp_path / "wrong" / "folder" / "team.db"
    for command in (["tickets", "list"], ["db", "info"], ["export", "reviews"], ["report", "weekly"], ["db", "check"]):
        result = cli("--db", str(typo), *command)
        assert result.exit_code == 2, (command, result.output)
        assert f"no database at {typo}" in result.stderr
    assert not (tmp_path / "wrong").exists()
    fresh = tmp_path / "new" / "team.db"
    result = cli("--db", str(fresh), "import", str(EXAMPLES / "tickets.csv"))
    assert result.exit_code == 0, result.output
    assert f"created a new database at {fresh}" in result.stderr
    again = cli("--db", str(fresh), "import", str(EXAMPLES / "tickets.csv"))
    assert "created a new database" not in again.stderr
    upgraded = cli("--db", str(tmp_path / "other.db"), "db", "upgrade")
    assert upgraded.exit_code == 0
    assert f"created a new database at {tmp_path / 'other.db'}" in upgraded.stderr


def test_failed_first_import_puts_the_error_first_then_names_the_new_database(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    # benchmarks/RELIABILITY.md's one fuzz failure (seed 20261122): the first generated date file, imported with
    # --timezone Pacific/Kiritimati into a fresh SQLite file, exited 2 with the new-database notice before Error:
    bad = tmp_path / "dates.csv"
    bad.write_text(
        "id,status,created,closed\nD0,closed,3.18.2007 10:05 PM,15.4.2005 10:35\n"
        "D1,closed,23-8-2000 2:54,7-10-1992 8:05 PM\n",
        encoding="utf-8",
    )
    for n, path in enumerate((bad, tmp_path / "missing.csv")):
        fresh = tmp_path / f"new{n}" / "team.db"
        result = cli("--db", str(fresh), "import", str(path), "--timezone", "Pacific/Kiritimati")
        assert result.exit_code == 2, result.output
        lines = result.stderr.splitlines()
        assert lines[0].startswith(f"Error: {path}"), result.stderr
        assert lines[-1] == f"created a new database at {fresh}", result.stderr
        assert "Traceback" not in result.output


@pytest.mark.parametrize(
    "template",
    [
        "{{ cycler.__init__.__globals__.os.popen('echo PWNED-$((6*7))').read() }}",
        "{{ report.__class__.__mro__ }}",
        "{% set seen = [] %}{{ seen.append(1) }}",
        '{% include "/etc/passwd" %}',
        '{% include "../outside.md" %}',
    ],
)
def test_report_templates_cannot_run_code_or_read_files(
    template: str, cli, sqlite_url_fixture: str, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "templates"
    folder.mkdir()
    (folder / "weekly.md").write_text(template + "\n", encoding="utf-8")
    (tmp_path / "outside.md").write_text("outside the templates folder\n", encoding="utf-8")
    result = cli("report", "weekly", "--templates", str(folder), "--db", sqlite_url_fixture)
    assert result.exit_code == 2, result.output
    assert "Error: report template" in result.stderr
    assert "PWNED-42" not in result.output and "root:" not in result.output and "outside the" not in result.output


def test_a_rerun_settles_the_run_a_killed_import_left_running(cli, session, db_url: str) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import text

    source = (EXAMPLES / "tickets.csv").resolve()
    other = str(source.with_name("elsewhere.csv"))
    for path in (str(source), other):  # what kill -9 leaves: the log row of a run that never finished
        session.execute(
            text(
                "INSERT INTO import_run (source, format, path, started_at, status, rows_read, created, updated, "
                "unchanged, rejected, options) VALUES ('csv', 'csv', :path, :started, 'running', 0, 0, 0, 0, 0, '{}')"
            ),
            {"path": path, "started": "2026-10-01 09:00:00"},
        )
    session.commit()
    assert "2 import run(s) still marked running" in cli("db", "check", "--db", db_url).stdout
    assert cli("import", str(source), "--db", db_url).exit_code == 0
    checked = cli("db", "check", "--db", db_url).stdout
    assert "1 import run(s) still marked running" in checked  # only the other file's run is left


def test_a_locked_review_save_is_retried_with_backoff(tmp_path: Path) -> None:
    import sqlite3

    db = tmp_path / "team.db"
    assert run(["--db", str(db), "import", str(EXAMPLES / "tickets.csv")]).returncode == 0
    holder = sqlite3.connect(db, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")  # another writer holds the lock well past the busy timeout

    def commit_later() -> None:  # time.sleep, not threading.Timer: a Timer's timed wait hangs under libfaketime
        time.sleep(4)
        holder.execute("COMMIT")

    release = threading.Thread(target=commit_later)
    release.start()
    try:
        env = {**os.environ, "BUTTERFLY_SQLITE_BUSY_TIMEOUT": "0.2"}
        result = run(["--db", str(db), "review", "T-1001", "--answers", str(EXAMPLES / "answers.yaml")], env=env)
    finally:
        release.join()
        holder.close()
    assert result.returncode == 0, result.stderr
    assert re.search(r"saved \d+ answer\(s\)", result.stdout), result.stdout


def test_a_wrong_lens_file_names_the_file_and_its_first_problem_only(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    wrong = tmp_path / "lens.yaml"
    wrong.write_text("id: x\nfoo: 1\nsecret_line: do-not-echo-me\n", encoding="utf-8")
    result = cli("checklist", "show", "--lens", str(wrong))
    assert result.exit_code == 2
    assert f"Error: {wrong}: 1 problem" in result.stderr
    assert f"more problem(s): butterfly checklist validate {wrong}" in result.stderr
    assert "do-not-echo-me" not in result.stderr


def test_a_file_without_line_breaks_stops_at_64_mb_naming_file_and_line(
    cli, sqlite_url_fixture: str, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    huge = tmp_path / "huge.csv"
    with huge.open("wb") as handle:  # sparse: 80 MB of NUL bytes after the header, nothing written to disk
        handle.write(b"id,subject,status,created\n")
        handle.truncate(80 * 1024 * 1024)
    result = cli("import", str(huge), "--db", sqlite_url_fixture)
    assert result.exit_code == 2, result.output[-500:]
    assert f"Error: {huge}:2: a line longer than 64 MB" in result.stderr
    assert not (tmp_path / "huge.csv.rejects.txt").exists()


def test_endless_numbers_in_json_imports(cli, sqlite_url_fixture: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    big = "9" * 5000
    lines = tmp_path / "tickets.jsonl"
    lines.write_text(
        '{"id": "J-1", "subject": "ok", "status": "closed", "created": "2026-10-01T09:00:00Z"}\n'
        f'{{"id": "J-2", "n": {big}, "status": "closed"}}\n',
        encoding="utf-8",
    )
    result = cli("import", str(lines), "--db", sqlite_url_fixture)
    assert result.exit_code == 1, result.output  # finished with rejects
    assert "# line 2: a number of 5,000 digits is too long" in (tmp_path / "tickets.jsonl.rejects.txt").read_text()
    array = tmp_path / "tickets.json"
    array.write_text(f'[{{"id": "J-3", "n": {big}}}]', encoding="utf-8")
    result = cli("import", str(array), "--db", sqlite_url_fixture)
    assert result.exit_code == 2
    assert f"Error: {array}: not a ticket export: a number of 5,000 digits is too long" in result.stderr
    tags = tmp_path / "tags.csv"
    tags.write_text(f'id,subject,status,created,tags\nC-1,x,closed,2026-10-01 09:00,"[{big}]"\n', encoding="utf-8")
    assert cli("import", str(tags), "--db", sqlite_url_fixture).exit_code == 0


def test_ten_thousand_unmapped_columns_are_summarised(cli, sqlite_url_fixture: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    wide = tmp_path / "wide.csv"
    extra = [f"extra column number {i}" for i in range(10_000)]
    wide.write_text(
        ",".join(["id", "subject", "status", "created", *extra])
        + "\n"
        + ",".join(["W-1", "s", "closed", "2026-10-01 09:00"] + ["x"] * 10_000)
        + "\n",
        encoding="utf-8",
    )
    result = cli("import", str(wide), "--db", sqlite_url_fixture)
    assert result.exit_code == 0, result.output[-500:]
    assert "… and 9,980 more" in result.stderr
    assert len(result.stderr) < 5000
