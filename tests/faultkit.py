"""Fault injection for the reliability tests and ``benchmarks/reliability.py``: real faults, no mocks.

- :func:`run` runs ``python -m butterfly …`` (or Python code) in a subprocess, optionally *unprivileged*
  (as root, the child drops CAP_DAC_OVERRIDE/CAP_DAC_READ_SEARCH/CAP_FOWNER from its bounding set before exec,
  so file permissions apply to it like to any user) and optionally with a file-size limit (RLIMIT_FSIZE: the
  kernel refuses writes past it, a real "disk full" for the process).
- :func:`tiny_tmpfs` mounts a small tmpfs (a real full disk) when the process may mount, else yields ``None``.
- :class:`PrivateCluster` is a throwaway PostgreSQL cluster (``initdb`` under a temp dir, its own port and socket
  dir) that a test may stop and start; the shared server on 5432 is never touched.
- :func:`seed` writes realistic rows (tickets, a review with answers and history, an action item).
"""

from __future__ import annotations

import contextlib
import ctypes
import glob
import os
import pwd
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PR_CAPBSET_DROP = 24
CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER = 1, 2, 3


def is_root() -> bool:
    return os.geteuid() == 0


def _drop_file_capabilities() -> None:  # runs in the child between fork and exec
    libc = ctypes.CDLL(None, use_errno=True)
    for cap in (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER):
        if libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP) failed")


def _limit_file_size(limit: int) -> Callable[[], None]:
    def apply() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a refused write returns EFBIG instead of killing
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


def run(
    args: list[str],
    *,
    env: dict[str, str] | None = None,
    unprivileged: bool = False,
    file_size_limit: int | None = None,
    timeout: float = 120,
    code: str | None = None,
    cwd: Path | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m butterfly ARGS`` (or ``python -c CODE ARGS``) and capture its output."""
    steps: list[Callable[[], None]] = []
    if unprivileged and is_root():
        steps.append(_drop_file_capabilities)
    if file_size_limit is not None:
        steps.append(_limit_file_size(file_size_limit))

    def preexec() -> None:
        for step in steps:
            step()

    cmd = [sys.executable, "-c", code, *args] if code is not None else [sys.executable, "-m", "butterfly", *args]
    full_env = dict(os.environ if env is None else env)
    full_env.setdefault("COLUMNS", "200")
    return subprocess.run(
        cmd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
        preexec_fn=preexec if steps else None,
        cwd=cwd,
        check=False,
    )


def make_read_only(path: Path) -> None:
    """Owner and everyone: read (and enter, for folders) but not write."""
    path.chmod(0o555 if path.is_dir() else 0o444)


@contextlib.contextmanager
def tiny_tmpfs(size_kb: int) -> Iterator[Path | None]:
    """A freshly mounted tmpfs of ``size_kb`` KiB (a real full disk), or ``None`` where mounting is not allowed."""
    where = Path(tempfile.mkdtemp(prefix="butterfly-full-"))
    mounted = False
    if is_root() and shutil.which("mount"):
        result = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size_kb}k,mode=0755", "tmpfs", str(where)],
            capture_output=True,
            text=True,
            check=False,
        )
        mounted = result.returncode == 0
    try:
        yield where if mounted else None
    finally:
        if mounted:
            subprocess.run(["umount", "-l", str(where)], capture_output=True, check=False)
        shutil.rmtree(where, ignore_errors=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def postgres_bin(name: str) -> str | None:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}")) or sorted(glob.glob(f"/usr/local/pgsql/bin/{name}"))
    if found:
        return found[-1]
    return shutil.which(name)


@dataclass
class PrivateCluster:
    """A throwaway PostgreSQL cluster under a temp dir, on its own port: start it, stop it, throw it away."""

    base: Path
    port: int
    initdb: str
    pg_ctl: str
    user: str | None  # run the server as this OS user (root may not run PostgreSQL)

    @property
    def data(self) -> Path:
        return self.base / "data"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def _as_user(self, cmd: list[str]) -> list[str]:
        if self.user is None:
            return cmd
        return ["runuser", "-u", self.user, "--", *cmd]

    def _run(self, cmd: list[str]) -> None:
        result = subprocess.run(self._as_user(cmd), capture_output=True, text=True, check=False, timeout=120)
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed: {result.stdout}{result.stderr}")

    def init(self) -> None:
        self._run([self.initdb, "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8"])

    def start(self) -> None:
        opts = f"-p {self.port} -k {self.base} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run([self.pg_ctl, "-D", str(self.data), "-o", opts, "-l", str(self.base / "log"), "-w", "start"])

    def stop(self) -> None:
        self._run([self.pg_ctl, "-D", str(self.data), "-m", "fast", "-w", "stop"])

    def running(self) -> bool:
        with socket.socket() as s:
            s.settimeout(1)
            return s.connect_ex(("127.0.0.1", self.port)) == 0

    def create_database(self, name: str) -> str:
        import psycopg

        with psycopg.connect(f"postgresql://postgres@127.0.0.1:{self.port}/postgres", autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


def private_cluster_unavailable() -> str | None:
    """Why a private cluster cannot be made here (``None`` when it can)."""
    if postgres_bin("initdb") is None or postgres_bin("pg_ctl") is None:
        return "PostgreSQL server binaries (initdb, pg_ctl) are not installed"
    if is_root():
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root and there is no 'postgres' user to run a private cluster as"
        if shutil.which("runuser") is None:
            return "running as root without runuser to start a private cluster as 'postgres'"
    return None


@contextlib.contextmanager
def private_cluster() -> Iterator[PrivateCluster]:
    """A started private cluster, stopped and deleted afterwards. Raise RuntimeError when impossible."""
    reason = private_cluster_unavailable()
    if reason:
        raise RuntimeError(reason)
    base = Path(tempfile.mkdtemp(prefix="butterfly-pg-"))
    user = "postgres" if is_root() else None
    if user:
        info = pwd.getpwnam(user)
        os.chown(base, info.pw_uid, info.pw_gid)
    base.chmod(0o700)
    initdb, pg_ctl = postgres_bin("initdb"), postgres_bin("pg_ctl")
    assert initdb and pg_ctl
    cluster = PrivateCluster(base=base, port=free_port(), initdb=initdb, pg_ctl=pg_ctl, user=user)
    try:
        cluster.init()
        cluster.start()
        yield cluster
    finally:
        with contextlib.suppress(Exception):
            if cluster.running():
                cluster.stop()
        shutil.rmtree(base, ignore_errors=True)


# -- rows ----------------------------------------------------------------------------------------------------


def seed(url: str, *, tickets: int = 3, prefix: str = "T") -> dict[str, int]:
    """Realistic rows through the models: tickets, one review with answers and history, an action item."""
    from datetime import UTC, datetime, timedelta

    from butterfly.store.db import open_session, table_counts
    from butterfly.store.models import ActionItem, Answer, AnswerChange, Review, Ticket

    start = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    with open_session(url) as session:
        made = []
        for i in range(tickets):
            t = Ticket(
                source="zendesk",
                external_id=f"{prefix}{i + 1:04d}",
                customer=f"customer-{i % 3}",
                subject=["Invoice shows the wrong VAT", "退款一直没到账", "Export times out"][i % 3],
                description="Customer reports the problem again; agent escalated to billing.",
                category=["billing", "payments", "reports"][i % 3],
                tags=["vat", "repeat"] if i % 2 == 0 else [],
                status="closed",
                created_at=start + timedelta(days=i),
                resolved_at=start + timedelta(days=i, hours=5),
                closed_at=start + timedelta(days=i, hours=6),
                content_hash=f"{i:064x}",
            )
            session.add(t)
            made.append(t)
        session.flush()
        review = Review(
            ticket_id=made[0].id or 0,
            reviewer="wang.li",
            checklist_id="butterfly",
            checklist_version="1.0",
            language="zh-CN",
        )
        session.add(review)
        session.flush()
        for qid, value in (("customer.short.certainty", 2), ("company.mid.recurrence", "recurring")):
            answer = Answer(review_id=review.id or 0, question_id=qid, value=value, answered_by="wang.li")
            session.add(answer)
            session.flush()
            session.add(
                AnswerChange(
                    answer_id=answer.id or 0,
                    review_id=review.id or 0,
                    question_id=qid,
                    new_value=value,
                    changed_by="wang.li",
                )
            )
        session.add(
            ActionItem(
                review_id=review.id,
                ticket_id=made[0].id,
                kind="process_patch",
                text="Add the VAT rule to the billing runbook",
                owner="li",
            )
        )
        session.commit()
        return table_counts(session)


def counts(url: str) -> dict[str, int]:
    from butterfly.store.db import open_session, table_counts

    with open_session(url, migrate=False) as session:
        return table_counts(session)


def no_traceback(result: subprocess.CompletedProcess[str] | Any) -> bool:
    text = (getattr(result, "stdout", "") or "") + (getattr(result, "stderr", "") or "")
    return "Traceback" not in text


def wait_for(predicate: Callable[[], bool], timeout: float = 30, step: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return predicate()
