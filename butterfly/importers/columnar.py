"""The first load of a large CSV export into an empty SQLite ticket table, column by column.

A million records through Python one at a time cost about 30 s, six times ``sqlite3 .import`` of the same file.
Here the work runs in C, on both cores:

* Arrow's CSV reader parses blocks of the file on its thread pool;
* each column is converted with Arrow compute kernels (ids trimmed, ISO 8601 times to canonical UTC text);
  statuses and tags go through the record path's own converters once per distinct value, and so do times
  Arrow does not read (other formats; times without a zone when the import's zone is not UTC);
* ADBC's SQLite driver binds each record batch, in C, to the same UPSERT the record path uses
  (:class:`~butterfly.importers.bulk.TicketWriter`), while a second thread prepares the next batch.

The load is one transaction that drops the ticket table's secondary indexes and builds them at the end. When no
other connection has the database open it runs in rollback-journal mode (each page is written once, instead of
to the WAL and again at the checkpoint) and switches back to WAL afterwards; otherwise it stays in WAL mode.

Only the plain case is taken. Anything that needs a closer look raises :class:`NotColumnar` after rolling back
(a record of the wrong width, a missing id, an unknown status, a time no converter reads, quoting the strict
reader would refuse, a NUL byte, bytes that are not UTF-8, any database error), and the caller imports the file
record by record, which names each bad record by its line. Content hashes are the record path's, so a later
import of the same export finds every ticket unchanged whichever path it takes.

The work runs in a process of its own (:func:`load_in_child`; see the note above :func:`load_in_child` on why).
Before starting it, the importing process closes its own pooled connections
(:meth:`~butterfly.importers.bulk.BulkConnection.release`): SQLite leaves WAL mode only when no other connection
has the file open.
"""

from __future__ import annotations

import importlib.util
import json
import os
import pickle
import signal
import subprocess
import sys
from collections.abc import Callable
from typing import Any

from butterfly.importers.bulk import Counts
from butterfly.importers.columnar_load import Job, Loaded, load
from butterfly.importers.columnar_read import BLOCK_BYTES, NotColumnar

__all__ = ["BLOCK_BYTES", "CODECS", "Job", "Loaded", "NotColumnar", "load_in_child", "unavailable"]

CODECS = ("utf-8", "utf-8-sig")


def unavailable() -> str | None:
    """Why the columnar load cannot run here (its libraries are missing), or ``None``. Imports nothing."""
    missing = [name for name in ("pyarrow", "adbc_driver_sqlite") if importlib.util.find_spec(name) is None]
    if missing:
        return (
            f"{', '.join(missing)} not installed: pip install 'butterfly-check[fast-import]' "
            "makes a first load of a file this size about 1.5 times as fast"
        )
    return None


# -- the load process ---------------------------------------------------------------------------------------
#
# The ADBC driver carries its own copy of SQLite. Two copies of SQLite in one process must not have the same file
# open (POSIX locks belong to the process: closing the file in one copy drops the locks of the other, and each
# copy takes the other's connections for its own, so it may checkpoint and delete a WAL still in use). So the
# load runs in a process of its own, which only ever opens the database through ADBC; the importing process
# keeps its SQLAlchemy connections and talks to it over pipes: the job pickled on standard input, progress and
# the result as lines on standard output.


def load_in_child(job: Job, progress: Callable[[int, int], None] | None = None) -> Loaded:
    """Run :func:`load` for ``job`` in a new Python process; NotColumnar if it cannot take the file.

    The load process asks before it commits (a ``ready`` line; ``commit`` back on its stdin), so the commit never
    races a Ctrl-C here: KeyboardInterrupt closes its stdin and passes SIGINT on, it rolls back, and the
    KeyboardInterrupt is raised again. A killed importer closes the pipe too: the load process rolls back.
    """
    command = [sys.executable, "-m", "butterfly.importers.columnar"]
    process = subprocess.Popen(  # a fixed command: the job travels on stdin, never on a command line
        command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert process.stdin is not None and process.stdout is not None
    result: Loaded | None = None
    reason: str | None = None
    try:
        try:
            process.stdin.write(pickle.dumps(job))
            process.stdin.flush()
        except BrokenPipeError:
            pass  # the process failed at start-up: its exit status and stderr tell why
        for raw in process.stdout:
            kind, _, rest = raw.decode("utf-8", "replace").rstrip("\n").partition("\t")
            if kind == "progress" and progress is not None:
                done, records = rest.split("\t")
                progress(int(done), int(records))
            elif kind == "ready":
                try:
                    process.stdin.write(b"commit\n")
                    process.stdin.flush()
                except BrokenPipeError:
                    pass  # it died after asking: its exit status says so
            elif kind == "done":
                data = json.loads(rest)
                result = Loaded(records=data["records"], counts=Counts(**data["counts"]), journal=data["journal"])
            elif kind == "not":
                reason = rest
        stderr = process.stderr.read().decode("utf-8", "replace") if process.stderr else ""
        code = process.wait()
    except BaseException:
        _close_quietly(process.stdin)  # no commit now
        if process.poll() is None:
            process.send_signal(signal.SIGINT)  # roll back (a terminal's Ctrl-C reached it already: no harm)
            try:
                process.wait(timeout=120)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        raise
    finally:
        for stream in (process.stdin, process.stdout, process.stderr):
            _close_quietly(stream)
    if result is not None and code == 0:
        return result
    if code == 130:
        raise KeyboardInterrupt
    if reason is None:
        last = stderr.strip().splitlines()[-1] if stderr.strip() else f"exit status {code}"
        reason = f"the load process failed: {last}"
    raise NotColumnar(reason)


def _close_quietly(stream: Any) -> None:
    try:
        if stream is not None:
            stream.close()
    except OSError:
        pass  # a pipe whose reader is gone


def main() -> int:
    """The load process: a pickled :class:`Job` on stdin; ``progress``, then ``done`` or ``not`` lines on stdout."""
    job = pickle.load(sys.stdin.buffer)  # from the importing process, through a pipe it opened
    parent = os.getppid()

    def say(*fields: object) -> None:
        try:
            sys.stdout.write("\t".join(str(f).replace("\n", " ").replace("\t", " ") for f in fields) + "\n")
            sys.stdout.flush()
        except BrokenPipeError:  # the importing process is gone; wanted() says so at the next batch
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())

    def wanted() -> bool:
        return os.getppid() == parent  # re-parented: the importing process was killed

    def confirm() -> bool:
        say("ready")
        return sys.stdin.buffer.readline() == b"commit\n" and wanted()  # end of file: the importer is gone

    try:
        loaded = load(
            job, progress=lambda done, records: say("progress", done, records), wanted=wanted, confirm=confirm
        )
    except NotColumnar as exc:
        say("not", exc)
        return 3
    except KeyboardInterrupt:
        return 130
    counts = {"created": loaded.counts.created, "updated": loaded.counts.updated, "unchanged": loaded.counts.unchanged}
    say("done", json.dumps({"records": loaded.records, "counts": counts, "journal": loaded.journal}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
