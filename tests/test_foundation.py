"""Foundation: CLI wiring, settings, database creation and migrations on both backends."""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from butterfly.cli import app


def _all_commands() -> list[list[str]]:
    import typer.main

    root = typer.main.get_command(app)
    paths: list[list[str]] = []

    def walk(cmd, prefix):  # type: ignore[no-untyped-def]
        paths.append(prefix)
        for name, sub in getattr(cmd, "commands", {}).items():
            walk(sub, [*prefix, name])

    walk(root, [])
    return paths


@pytest.mark.parametrize("path", _all_commands(), ids=lambda p: " ".join(p) or "butterfly")
def test_every_command_has_help(cli, path: list[str]) -> None:  # type: ignore[no-untyped-def]
    result = cli(*path, "--help")
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output
    import typer.main

    cmd = typer.main.get_command(app)
    for name in path:
        cmd = cmd.commands[name]  # type: ignore[attr-defined]
    assert (cmd.help or "").strip(), f"'{' '.join(path)}' has no help text"


def _reference_sections() -> dict[str, str]:
    """docs/reference.md (generated from the CLI, kept current by tests/test_docs.py) by command heading."""
    text = (Path(__file__).resolve().parent.parent / "docs" / "reference.md").read_text(encoding="utf-8")
    sections: dict[str, str] = {"butterfly": ""}
    current = "butterfly"  # the root command: the text before the first command's heading
    for line in text.splitlines():
        if line.startswith("#") and "`butterfly" in line:
            current = line.split("`")[1]
            sections[current] = ""
        else:
            sections[current] += line + "\n"
    return sections


def test_every_command_and_option_is_in_the_reference() -> None:
    import typer.main

    sections = _reference_sections()
    root = typer.main.get_command(app)
    missing = []
    for path in _all_commands():
        name = " ".join(["butterfly", *path])
        if name not in sections:
            missing.append(name)
            continue
        cmd = root
        for part in path:
            cmd = cmd.commands[part]  # type: ignore[attr-defined]
        for param in cmd.params:
            if param.param_type_name == "option" and not getattr(param, "hidden", False):
                missing += [
                    f"{name} {opt}"
                    for opt in [*param.opts, *param.secondary_opts]
                    if not re.search(rf"^\* `.*(?<![\w-]){re.escape(opt)}(?![\w-])", sections[name], re.MULTILINE)
                ]
    assert not missing, f"not in docs/reference.md (regenerate it, see CONTRIBUTING.md): {missing}"


def test_python_dash_m_works() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "butterfly", "--version"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0
    assert result.stdout.startswith("butterfly ")


def test_checklist_show_in_chinese_shows_all_six_cells(cli) -> None:  # type: ignore[no-untyped-def]
    from butterfly.checklist.model import load_builtin

    result = cli("checklist", "show", "--lang", "zh-CN")
    assert result.exit_code == 0, result.output
    for cell in load_builtin("butterfly", "zh-CN").cells:
        assert cell.title in result.stdout
    assert "customer.short.certainty" in result.stdout


def test_checklist_show_with_broken_team_file_exits_2_naming_the_file(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "team.yaml"
    bad.write_text("id: team\nversion: 1.0.0\nlanguage: fr\n", encoding="utf-8")
    result = cli("checklist", "show", "--checklist", str(bad))
    assert result.exit_code == 2
    assert f"{bad}:3: language" in result.stderr
    assert "Traceback" not in result.stderr


def test_default_database_is_created_private_in_the_data_dir(cli, isolated_home: Path) -> None:  # type: ignore[no-untyped-def]
    assert cli("db", "info").exit_code == 2  # reading never creates it
    created = cli("db", "upgrade")
    assert created.exit_code == 0, created.output
    assert f"created a new database at {isolated_home / 'data' / 'butterfly.db'}" in created.stderr
    result = cli("db", "info", "--json")
    assert result.exit_code == 0, result.output
    info = json.loads(result.stdout)
    path = isolated_home / "data" / "butterfly.db"
    assert info["url"] == f"sqlite:///{path}"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert info["revision"] == info["head"]
    assert info["tables"]["ticket"] == 0


def test_db_info_on_each_backend(cli, db_url: str) -> None:  # type: ignore[no-untyped-def]
    result = cli("db", "info", "--db", db_url, "--json")
    assert result.exit_code == 0, result.output
    info = json.loads(result.stdout)
    assert info["backend"] in ("sqlite", "postgresql")
    assert info["revision"] == info["head"]
    assert set(info["tables"]) >= {
        "ticket",
        "review",
        "answer",
        "answer_change",
        "action_item",
        "import_run",
        "finding",
    }


def test_db_upgrade_is_idempotent(cli, db_url: str) -> None:  # type: ignore[no-untyped-def]
    result = cli("db", "upgrade", "--db", db_url)
    assert result.exit_code == 0
    assert "already at revision" in result.stderr


def test_migrations_match_the_models(db_url: str) -> None:
    """No drift between models.py and the migrations (what autogenerate would write is empty)."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlmodel import SQLModel

    import butterfly.store.models  # noqa: F401
    from butterfly.store.db import get_engine

    with get_engine(db_url).connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
    assert diff == []


def test_password_is_never_printed(cli) -> None:  # type: ignore[no-untyped-def]
    url = "postgresql+psycopg://lead:s3cret-pw@127.0.0.1:1/nowhere"
    result = cli("db", "info", "--db", url)
    assert result.exit_code == 2
    assert "s3cret-pw" not in result.output
    assert "***" in result.stderr
    assert "Traceback" not in result.output


def test_config_file_and_environment(cli, isolated_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    (isolated_home / "config.toml").write_text('reviewer = "wang"\nlanguage = "zh-TW"\n', encoding="utf-8")
    monkeypatch.delenv("BUTTERFLY_REVIEWER")
    monkeypatch.delenv("BUTTERFLY_LANGUAGE")
    from butterfly.settings import get_settings

    get_settings.cache_clear()
    data = json.loads(cli("config", "show", "--json").stdout)
    assert data["reviewer"] == "wang"
    assert data["language"] == "zh-TW"
    monkeypatch.setenv("BUTTERFLY_REVIEWER", "li")
    get_settings.cache_clear()
    assert json.loads(cli("config", "show", "--json").stdout)["reviewer"] == "li"


def test_broken_config_is_a_clear_error(cli, isolated_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    (isolated_home / "config.toml").write_text('language = "fr"\n', encoding="utf-8")
    monkeypatch.delenv("BUTTERFLY_LANGUAGE")
    from butterfly.settings import get_settings

    get_settings.cache_clear()
    result = cli("config", "show")
    assert result.exit_code == 2
    assert "language" in result.stderr


def test_help_does_not_import_heavy_modules() -> None:
    code = (
        "import sys; from butterfly.cli import app; "
        "sys.argv=['butterfly','--help']\n"
        "try:\n    app()\nexcept SystemExit:\n    pass\n"
        "heavy=[m for m in ('sqlalchemy','sqlmodel','jinja2','alembic','psycopg') if m in sys.modules]\n"
        "print('HEAVY', heavy)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert "HEAVY []" in result.stdout, result.stdout + result.stderr


def test_the_walk_does_not_load_migrations_or_the_import_service(cli, session, db_url) -> None:  # type: ignore[no-untyped-def]
    """Enter → first question on 1M tickets (benchmarks/bench_walk_start.py): Alembic (~0.1 s of CPU on a quiet
    machine) only when a migration runs, the import service (pyarrow, ADBC) not at all."""
    from review_support import make_ticket

    make_ticket(session, "T-1")
    code = (
        "import sys; from butterfly.cli import app\n"
        f"sys.argv=['butterfly','review','T-1','--interactive','--db',{db_url!r}]\n"
        "try:\n    app()\nexcept SystemExit:\n    pass\n"
        "loaded=[m for m in ('alembic','butterfly.importers','pyarrow') if m in sys.modules]\n"
        "print('LOADED', loaded)"
    )
    env = dict(os.environ, BUTTERFLY_LANGUAGE="en")
    result = subprocess.run(
        [sys.executable, "-c", code], input="q\n", capture_output=True, text=True, env=env, check=False
    )
    assert "0/13 answered" in result.stdout, result.stdout + result.stderr  # the first question was asked
    assert "LOADED []" in result.stdout, result.stdout + result.stderr


def test_fast_head_revision_agrees_with_alembic() -> None:
    from alembic.script import ScriptDirectory

    from butterfly.store.db import alembic_config, head_revision

    assert head_revision() == ScriptDirectory.from_config(alembic_config()).get_current_head()


def test_cli_modules_keep_start_up_cheap() -> None:
    """No postponed annotations in the CLI layer: Typer would evaluate each of them at every start."""
    cli_dir = Path(__file__).resolve().parent.parent / "butterfly" / "cli"
    offenders = [
        p.name
        for p in cli_dir.glob("*.py")
        if "from __future__ import annotations" in p.read_text("utf-8").splitlines()
    ]
    assert offenders == []


def _readme_setup_commands() -> list[str]:
    root = Path(__file__).resolve().parent.parent
    readme = (root / "README.md").read_text(encoding="utf-8")
    return [line.strip() for line in readme.splitlines() if line.strip().startswith("python3 -m venv .venv && ")]


def test_ci_runs_the_readme_test_command() -> None:
    root = Path(__file__).resolve().parent.parent
    tests = {c for c in _readme_setup_commands() if c.endswith("&& pytest")}
    assert len(tests) == 1, tests  # one test command, however often the README repeats it
    (command,) = tests
    assert command in (root / ".ci" / "run").read_text(encoding="utf-8").splitlines()


def test_readme_installs_through_the_lock() -> None:
    """Both set-up commands install the locked versions (constraints.txt), so every day tests the same libraries."""
    root = Path(__file__).resolve().parent.parent
    commands = set(_readme_setup_commands())
    assert any(c.endswith("butterfly demo") for c in commands), commands
    for command in commands:
        assert "pip install -c constraints.txt " in command, command
    lock = (root / "constraints.txt").read_text(encoding="utf-8")
    pinned = [line for line in lock.splitlines() if line and not line.startswith((" ", "#"))]
    assert pinned and all("==" in line for line in pinned), [p for p in pinned if "==" not in p]
    names = {line.split("==")[0].strip().lower() for line in pinned}
    assert {"typer", "sqlmodel", "pytest", "pyarrow"} <= names  # the default, dev and fast-import parts


def test_the_default_install_leaves_the_heavy_columnar_libraries_to_an_extra() -> None:
    """`pip install .` brings no pyarrow (about 190 MB): it is the fast-import extra, which dev pulls in."""
    import tomllib

    project = tomllib.loads((Path(__file__).resolve().parent.parent / "pyproject.toml").read_text("utf-8"))["project"]
    names = {re.split(r"[<>=\[ ;]", d, maxsplit=1)[0].lower() for d in project["dependencies"]}
    assert not names & {"pyarrow", "adbc-driver-sqlite"}
    extras = project["optional-dependencies"]
    assert {re.split(r"[<>=\[ ;]", d, maxsplit=1)[0].lower() for d in extras["fast-import"]} == {
        "pyarrow",
        "adbc-driver-sqlite",
    }
    assert any(d.startswith("butterfly-check[fast-import") for d in extras["dev"])


def test_the_postgresql_driver_is_the_postgres_extra_which_dev_pulls_in() -> None:
    """SQLite needs no driver: psycopg (about 15 MB) is the postgres extra; the suite (dev) tests both databases."""
    import tomllib

    project = tomllib.loads((Path(__file__).resolve().parent.parent / "pyproject.toml").read_text("utf-8"))["project"]
    names = {re.split(r"[<>=\[ ;]", d, maxsplit=1)[0].lower() for d in project["dependencies"]}
    assert "psycopg" not in names
    extras = project["optional-dependencies"]
    assert [re.split(r"[<>=\[ ;]", d, maxsplit=1)[0].lower() for d in extras["postgres"]] == ["psycopg"]
    assert any(d.startswith("butterfly-check[") and "postgres" in d for d in extras["dev"])


def test_a_postgresql_url_without_the_driver_names_the_extra(tmp_path: Path) -> None:
    """Without psycopg (a fresh process where it cannot be imported), a PostgreSQL URL is one Error: line naming the
    postgres extra, exit 2, and no password in any form; a plain postgresql:// URL asks for the same driver."""
    script = (
        "import sys\n"
        "sys.modules['psycopg'] = None\n"
        "from butterfly.cli import main\n"
        "sys.argv = ['butterfly', *sys.argv[1:]]\n"
        "main()\n"
    )
    for url in (
        "postgresql+psycopg://lead:s3cret-pw@127.0.0.1:5432/test",
        "postgresql://lead:s3cret-pw@127.0.0.1/test",
    ):
        result = subprocess.run(
            [sys.executable, "-c", script, "--db", url, "db", "info"],
            capture_output=True,
            text=True,
            check=False,
            cwd=tmp_path,
            env={**os.environ, "COLUMNS": "200"},
        )
        assert result.returncode == 2, result.stderr
        assert result.stderr.startswith("Error:"), result.stderr
        assert "Traceback" not in result.stderr
        assert "butterfly-check[postgres]" in result.stderr
        assert "s3cret-pw" not in result.stdout + result.stderr
