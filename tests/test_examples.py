"""The CI examples run: the `run:` steps of examples/github-actions.yml and the `script:` of examples/gitlab-ci.yml
are executed as written (bash, errexit + pipefail, as both CI systems do) against a scratch database, with
examples/tickets.csv and examples/answers.yaml, so the examples cannot rot.

What is *not* run, and why:
- `uses:` steps (checkout, setup-python, upload-artifact) are GitHub's own actions; instead the test checks that
  every path the upload step keeps was produced.
- the install step (`python -m pip install .` / `before_script`) would reinstall into the test's environment;
  the test runs the `butterfly` installed in this environment instead (asserted to be the one from this tree).
- GitLab `rules:` only choose when the pipeline runs.
Anything else the runner does not understand (an unknown `if:` expression, `${{ … }}` it has no value for, a
multi-line GITHUB_ENV value) fails the test rather than being skipped.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
SAMPLE_WEEK = "2026-W41"  # T-1001 (reviewed by examples/answers.yaml) and four other tickets closed that week
INSTALL = re.compile(r"^python -m pip install \.$")
SHELL = ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c"]


def _butterfly_bin() -> str:
    found = shutil.which("butterfly", path=str(Path(sys.executable).parent))
    assert found, "the butterfly command is not installed in this environment"
    return str(Path(found).parent)


@pytest.fixture
def workdir(tmp_path: Path, sqlite_template: Path) -> Path:
    """A scratch checkout: the examples folder only (outputs land here, never in the repository), and an empty,
    migrated database."""
    shutil.copytree(EXAMPLES, tmp_path / "examples")
    shutil.copyfile(sqlite_template, tmp_path / "butterfly.db")
    os.chmod(tmp_path / "butterfly.db", 0o600)
    return tmp_path


def _env(workdir: Path, extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "CI_"))}
    env["PATH"] = _butterfly_bin() + os.pathsep + env.get("PATH", "")
    env["CI"] = "true"
    env["HOME"] = str(workdir / "home")
    env.update(extra)
    return env


def _dangling_expressions(value: str) -> list[str]:
    return re.findall(r"\$\{\{.*?\}\}", value)


@dataclass
class Job:
    outputs: dict[str, dict[str, str]] = field(default_factory=dict)
    failed: bool = False
    failed_step: str | None = None
    ran: list[str] = field(default_factory=list)
    logs: dict[str, str] = field(default_factory=dict)


def _condition(expr: str, job: Job) -> bool:
    expr = expr.strip()
    if expr.startswith("${{") and expr.endswith("}}"):
        expr = expr[3:-2].strip()
    if expr == "always()":
        return True
    m = re.fullmatch(r"steps\.([\w-]+)\.outputs\.([\w-]+)\s*(==|!=)\s*'([^']*)'", expr)
    if m is None:
        pytest.fail(f"the example uses an if: this test cannot evaluate: {expr!r}")
    value = job.outputs.get(m.group(1), {}).get(m.group(2), "")
    equal = value == m.group(4)
    should = equal if m.group(3) == "==" else not equal
    return should and not job.failed


def _read_kv(path: Path) -> dict[str, str]:
    values = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        assert "<<" not in line, "multi-line GITHUB_ENV/GITHUB_OUTPUT values are not supported by this test"
        key, _, value = line.partition("=")
        values[key] = value
    return values


def run_github(workdir: Path, db: str, inputs: dict[str, str]) -> Job:
    workflow = yaml.safe_load((EXAMPLES / "github-actions.yml").read_text(encoding="utf-8"))
    env_values: dict[str, str] = {}
    for key, value in workflow["env"].items():
        value = str(value)
        if key == "BUTTERFLY_DATABASE_URL":
            value = db  # the scratch database instead of the workspace file
        value = value.replace("${{ inputs.week }}", inputs.get("week", ""))
        # a repository variable or secret the test does not set is empty, as on GitHub (sync off: the file import)
        value = re.sub(r"\$\{\{\s*(?:vars|secrets)\.\w+\s*\}\}", "", value)
        assert not _dangling_expressions(value), f"env {key}: no value for {value}"
        env_values[key] = value
    (job_spec,) = workflow["jobs"].values()
    job = Job()
    for index, step in enumerate(job_spec["steps"]):
        name = step.get("name") or step.get("uses") or f"step {index}"
        if "uses" in step:
            continue
        command = step["run"].strip()
        if INSTALL.fullmatch(command):
            continue
        condition = step.get("if")
        if condition is None and job.failed:
            continue
        if condition is not None and not _condition(condition, job):
            continue
        github_env = workdir / f"github_env_{index}"
        github_output = workdir / f"github_output_{index}"
        github_env.write_text("", encoding="utf-8")
        github_output.write_text("", encoding="utf-8")
        env = _env(
            workdir,
            {
                **env_values,
                "GITHUB_ENV": str(github_env),
                "GITHUB_OUTPUT": str(github_output),
                "GITHUB_WORKSPACE": str(workdir),
            },
        )
        assert not _dangling_expressions(command), f"{name}: {command}"
        proc = subprocess.run([*SHELL, command], cwd=workdir, env=env, capture_output=True, text=True, check=False)
        job.ran.append(name)
        job.logs[name] = proc.stdout + proc.stderr
        env_values.update(_read_kv(github_env))
        if "id" in step:
            job.outputs[step["id"]] = _read_kv(github_output)
        if proc.returncode != 0 and not step.get("continue-on-error"):
            job.failed = True
            job.failed_step = name
    # what the artifact step keeps must exist
    upload = next(s for s in job_spec["steps"] if str(s.get("uses", "")).startswith("actions/upload-artifact"))
    for kept in upload["with"]["path"].split():
        assert (workdir / kept).is_file(), f"the workflow keeps {kept}, but no step wrote it"
    return job


def run_gitlab(workdir: Path, db: str, variables: dict[str, str]) -> tuple[int, str]:
    config = yaml.safe_load((EXAMPLES / "gitlab-ci.yml").read_text(encoding="utf-8"))
    (job_spec,) = config.values()
    assert [line for line in job_spec["before_script"] if not INSTALL.fullmatch(line)] == []
    env_values = {k: str(v) for k, v in job_spec["variables"].items()}
    env_values["BUTTERFLY_DATABASE_URL"] = db
    env_values.update(variables)
    env = _env(workdir, {**env_values, "CI_PROJECT_DIR": str(workdir)})
    script = "\n".join(job_spec["script"])
    proc = subprocess.run([*SHELL, script], cwd=workdir, env=env, capture_output=True, text=True, check=False)
    for kept in job_spec["artifacts"]["paths"]:
        assert (workdir / kept).is_file(), f"the job keeps {kept}, but no line wrote it"
    return proc.returncode, proc.stdout + proc.stderr


def _db(workdir: Path) -> str:
    return f"sqlite:///{workdir / 'butterfly.db'}"


def _check_outputs(workdir: Path) -> dict[str, Any]:
    gate: dict[str, Any] = json.loads((workdir / "check.json").read_text(encoding="utf-8"))
    assert gate["schema"] == "butterfly.check/1"
    review = json.loads((workdir / "review.json").read_text(encoding="utf-8"))
    assert review, "the answers file was applied"
    report = (workdir / "weekly-report.html").read_text(encoding="utf-8")
    assert report.lstrip().lower().startswith("<!doctype html")
    exported = (workdir / "reviews.jsonl").read_text(encoding="utf-8").splitlines()
    assert exported, "today's review is in the nightly export"
    assert not re.search(r"[^\s@\"]+@[^\s@\"]+\.[a-z]{2,}", "\n".join(exported))
    for name in ("weekly-report.html", "reviews.jsonl"):
        assert stat.S_IMODE((workdir / name).stat().st_mode) == 0o600
    return gate


def test_butterfly_on_path_is_this_checkout() -> None:
    out = subprocess.run(
        [str(Path(_butterfly_bin()) / "butterfly"), "--version"], capture_output=True, text=True, check=True
    ).stdout
    import butterfly

    assert out.strip() == f"butterfly {butterfly.__version__}"
    assert Path(butterfly.__file__).resolve().is_relative_to(ROOT)


def test_github_workflow_on_the_sample_week_fails_at_the_gate_and_keeps_the_report(workdir: Path) -> None:
    job = run_github(workdir, _db(workdir), {"week": SAMPLE_WEEK})
    gate = _check_outputs(workdir)
    assert gate["period"]["week"] == SAMPLE_WEEK
    assert gate["counts"]["closed_tickets"] == 5
    assert gate["counts"]["reviewed"] == 1
    assert gate["ok"] is False
    assert job.failed_step == "Fail when the gate found a shortfall", job.logs
    assert "FAIL  coverage" in job.logs["Fail when the gate found a shortfall"]
    assert job.ran[-1] == "Fail when the gate found a shortfall"


def test_github_workflow_passes_when_the_gate_does(workdir: Path) -> None:
    # a week with no closed tickets: nothing to review, the gate passes, the last step is skipped
    job = run_github(workdir, _db(workdir), {"week": "2026-W30"})
    gate = _check_outputs(workdir)
    assert gate["ok"] is True
    assert not job.failed, job.logs
    assert "Fail when the gate found a shortfall" not in job.ran


def test_scheduled_runs_pick_last_week(tmp_path: Path) -> None:
    """With no week given (the nightly schedule), both examples check and report the week butterfly calls
    ``last`` in the configured timezone (the ISO week of 7 days ago there), whatever the runner's TZ."""
    from butterfly.clock import Clock
    from butterfly.periods import parse_week

    workflow = yaml.safe_load((EXAMPLES / "github-actions.yml").read_text(encoding="utf-8"))
    zone = workflow["env"]["BUTTERFLY_TIMEZONE"]
    expected = parse_week("last", clock=Clock(zone)).label
    (job_spec,) = workflow["jobs"].values()
    choose = next(s["run"] for s in job_spec["steps"] if s.get("name") == "Choose the week")
    github_env = tmp_path / "github_env"
    github_env.write_text("", encoding="utf-8")
    faked = {k: v for k, v in os.environ.items() if k.startswith(("FAKETIME", "LD_PRELOAD"))}  # under faketime
    runner = {**faked, "PATH": os.environ["PATH"], "TZ": "Etc/GMT+12", "BUTTERFLY_TIMEZONE": zone, "REPORT_WEEK": ""}
    subprocess.run([*SHELL, choose], env={**runner, "GITHUB_ENV": str(github_env)}, check=True)
    assert _read_kv(github_env) == {"REPORT_WEEK": expected}

    config = yaml.safe_load((EXAMPLES / "gitlab-ci.yml").read_text(encoding="utf-8"))
    (gitlab_job,) = config.values()
    assert gitlab_job["variables"]["REPORT_WEEK"] == ""
    assert gitlab_job["variables"]["BUTTERFLY_TIMEZONE"] == zone
    first = gitlab_job["script"][0]
    out = subprocess.run(
        [*SHELL, first + '\necho "$REPORT_WEEK"'],
        env=runner,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert out.strip() == expected


def test_gitlab_job_on_the_sample_week(workdir: Path) -> None:
    code, log = run_gitlab(workdir, _db(workdir), {"REPORT_WEEK": SAMPLE_WEEK})
    gate = _check_outputs(workdir)
    assert gate["period"]["week"] == SAMPLE_WEEK
    assert gate["ok"] is False
    assert code == 1, log
    assert "FAIL  coverage" in log
