"""A CSV file's batches, prepared for the writer: in the importing process, or on the second core in a worker
process while the importing process writes.

The record path spends about two thirds of a first load reading, converting and hashing records, and one third
writing them. For a large file whose source has no tickets yet (so no record needs a look-up in the database), a
worker process (``python -m butterfly.importers.csv_batches``) runs the same :func:`prepared_batches` the importing
process runs for every other file and sends each :class:`PreparedBatch` back through a pipe; the importing
process writes them through the one write loop (:mod:`butterfly.importers.writeloop`) exactly as it writes its
own, so rows, content hashes, counts and rejects are the same whichever process prepared them.

The worker never opens the database. It ignores Ctrl-C and ends when its pipe closes: the importing process
handles an interruption or a kill as for any import (what was committed stays, a re-run completes it), and stops
the worker on its way out.
"""

from __future__ import annotations

import hashlib
import io
import os
import pickle
import queue
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import tzinfo
from pathlib import Path
from types import TracebackType
from typing import Any, BinaryIO

from butterfly.errors import InvalidInputError
from butterfly.importers import csv_chunks, staging
from butterfly.importers.dateorder import DateRule
from butterfly.importers.mapping import Mapping
from butterfly.importers.prepare import Prepared, PreparedColumns, TabularPreparer
from butterfly.importers.sources import BATCH_LINES, CsvBatch, CsvFile
from butterfly.importers.staging import StagedRows, StageStatements

WORKER_BYTES = 8 * 1024 * 1024  # from this size a first load of a source prepares its batches in a worker process
MAX_WORKERS = 3  # worker processes of one file at most (with the importing process: four busy cores)
# prepared batches a worker of a file in parts may hold while the importing process reads another worker's part
# (see Sender): it writes faster than the workers prepare, so two are enough (more only cost memory)
AHEAD_BATCHES = 2


@dataclass
class PreparedBatch:
    """One batch of the file, ready for the writer: ``records`` read (rows and broken records), the prepared rows,
    the rejected records as (first line, last line, reason) in line order, and the bytes of the file read so far."""

    records: int
    prepared: Prepared  # as PreparedColumns on its way from the worker process (see Worker.batches)
    bad: list[tuple[int, int, str]]
    bytes_read: int


def row_ids(rows: list[list[str]], batch: CsvBatch) -> list[list[str]]:
    """Each record with an id made from its line and content appended (``--id-from-row``)."""
    out = []
    for i, row in enumerate(rows):
        digest = hashlib.blake2b("\x1f".join(row).encode("utf-8", "surrogatepass"), digest_size=5).hexdigest()
        out.append([*row, f"row{batch.lines_of(i)[0]}-{digest}"])
    return out


def prepared_batches(
    batches: Iterable[CsvBatch],
    preparer: TabularPreparer,
    *,
    id_from_row: bool,
    lookup: Callable[[list[str]], dict[str, str]] | None,
    columns: bool = False,
) -> Iterator[PreparedBatch]:
    """Each batch prepared column by column (:meth:`TabularPreparer.fast`), or record by record when it needs a
    closer look; ``lookup(ids)``: the stored content hashes (records stored unchanged are skipped early).
    ``columns``: a batch prepared column by column stays in columns (:class:`PreparedColumns`, for the pipe)."""
    for batch in batches:
        bad: list[tuple[int, int, str]] = list(batch.broken)
        rows = row_ids(batch.rows, batch) if id_from_row else batch.rows
        prepared: Prepared | PreparedColumns | None = (
            preparer.fast_columns(rows, lookup) if columns else preparer.fast(rows, lookup)
        )
        if prepared is None:

            def reject(i: int, reason: str, batch: CsvBatch = batch, bad: list[Any] = bad) -> None:
                bad.append((*batch.lines_of(i), reason))

            prepared = preparer.slow(rows, reject)
        yield PreparedBatch(
            len(batch.rows) + len(batch.broken),
            prepared,  # type: ignore[arg-type]  # PreparedColumns only on its way through the pipe
            sorted(bad),
            batch.bytes_read,
        )
        del batch, prepared, bad, rows  # before the next batch is read


@dataclass
class WorkerJob:
    """What a worker needs to prepare the file exactly as the importing process would (pickled to its stdin).
    ``parts`` workers share a file cut into parts (:mod:`butterfly.importers.csv_chunks`), this one taking every
    ``parts``-th part from ``part`` on; the data starts at byte ``data_start`` (after a one-line header)."""

    path: str
    codec: str
    delimiter: str
    id_from_row: bool
    mapping: Mapping
    header: list[str]
    source: str
    tz: tzinfo
    hash_salt: str
    date_rules: dict[str, DateRule]
    parts: int = 1
    part: int = 0
    data_start: int = 0
    part_bytes: int = csv_chunks.PART_BYTES
    batch_lines: int = BATCH_LINES  # lines per batch (smaller in parts: several workers each hold one)
    stage: StageStatements | None = None  # send the rows as database images (butterfly.importers.staging)

    def preparer(self) -> TabularPreparer:
        return TabularPreparer(
            mapping=self.mapping,
            header=self.header,
            source=self.source,
            tz=self.tz,
            hash_salt=self.hash_salt,
            date_rules=self.date_rules,
        )


def workers_for(size: int, codec: str, header_lines: tuple[int, int]) -> int:
    """How many worker processes prepare a file of ``size`` bytes: one per core up to :data:`MAX_WORKERS` (the
    importing process mostly waits on them), when the file can be cut into parts; else one."""
    if size < 2 * csv_chunks.PART_BYTES or header_lines != (1, 1) or not csv_chunks.can_cut(codec):
        return 1
    return max(1, min(os.cpu_count() or 1, MAX_WORKERS))


def share(job: WorkerJob, size: int, header_lines: tuple[int, int]) -> int:
    """How many workers prepare ``job``'s file (:func:`workers_for`), with ``job`` set up for them: where the data
    starts after the header, parts and batches of the sizes in :mod:`butterfly.importers.csv_chunks`. A file of
    one line (no line break after the header) has nothing to share."""
    workers = workers_for(size, job.codec, header_lines)
    job.data_start = csv_chunks.after_first_line(Path(job.path)) if workers > 1 else 0
    if job.data_start == 0:
        return 1
    job.part_bytes, job.batch_lines = csv_chunks.PART_BYTES, csv_chunks.PART_BATCH_LINES
    return workers


def _spawn() -> tuple[BinaryIO, subprocess.Popen[bytes]]:
    # stderr is read only if it fails (a pipe nobody reads could fill and block it)
    stderr = tempfile.TemporaryFile()  # noqa: SIM115
    process = subprocess.Popen(  # a fixed command: the job travels on stdin, never on a command line
        [sys.executable, "-m", "butterfly.importers.csv_batches"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=stderr,
    )
    return stderr, process


class Spare:
    """Worker processes started before their job is known, so that their start-up overlaps the importing
    process's own work (reading the header, deciding how the dates are read); :class:`Worker` takes them over, or
    :meth:`close` stops them when the file goes another way."""

    def __init__(self, count: int = 1) -> None:
        self._started: list[tuple[BinaryIO, subprocess.Popen[bytes]]] = [_spawn() for _ in range(count)]

    def take(self) -> tuple[BinaryIO, subprocess.Popen[bytes]] | None:
        return self._started.pop(0) if self._started else None

    def close(self) -> None:
        while (started := self.take()) is not None:
            _stop(*started)


def _stop(stderr: BinaryIO, process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.kill()  # it holds nothing but the batches it prepares
    process.wait()
    for stream in (process.stdin, process.stdout, stderr):
        if stream is not None:
            stream.close()


class Worker:
    """The worker processes of one file: ``with Worker(job, count=2) as worker: for batch in worker.batches():``
    gives the file's batches in file order, whichever process prepared them (``spare``: processes started
    earlier, see :class:`Spare`)."""

    def __init__(self, job: WorkerJob, spare: Spare | None = None, count: int = 1) -> None:
        self.processes: list[tuple[BinaryIO, subprocess.Popen[bytes]]] = []
        for part in range(count):
            started = (spare.take() if spare is not None else None) or _spawn()
            self.processes.append(started)
            stdin = started[1].stdin
            assert stdin is not None
            try:
                pickle.dump(replace(job, parts=count, part=part), stdin, protocol=pickle.HIGHEST_PROTOCOL)
                stdin.close()
            except BrokenPipeError:
                pass  # it failed at start-up: batches() says why

    def batches(self) -> Iterator[PreparedBatch]:
        count = len(self.processes)
        index = 0  # the part read now, from worker index % count
        while True:
            worker = index % count
            while True:
                kind, item = self._receive(worker)
                if kind == "batch":
                    yield item
                elif kind == "part":  # the end of part `index`
                    break
                elif kind == "rest":  # this worker reads on to the end of the file (a cut was not a boundary)
                    while (message := self._receive(worker))[0] == "batch":
                        yield message[1]
                    return
                else:  # the end: there is no part `index`, nor any after it
                    return
            index += 1

    def _receive(self, worker: int) -> tuple[str, Any]:
        stdout = self.processes[worker][1].stdout
        assert stdout is not None
        try:
            kind, item = pickle.load(stdout)
        except EOFError:
            raise InvalidInputError(f"the process preparing the records stopped: {self._failure(worker)}") from None
        if kind == "error":
            raise item
        if kind == "batch" and isinstance(item.prepared, PreparedColumns):
            item.prepared = item.prepared.prepared()
        return kind, item

    def _failure(self, worker: int) -> str:
        stderr, process = self.processes[worker]
        code = process.wait()
        stderr.seek(0)
        lines = stderr.read().decode("utf-8", "replace").strip().splitlines()
        return lines[-1] if lines else f"exit status {code}"

    def __enter__(self) -> Worker:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        for started in self.processes:
            _stop(*started)


def _pickled(message: tuple[str, Any]) -> memoryview:
    buffer = io.BytesIO()
    pickler = pickle.Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL)
    # no memo: a batch holds no object twice that matters and no cycle, and the memo costs five times the rest
    pickler.fast = True
    pickler.dump(message)
    return buffer.getbuffer()


class Sender:
    """Sends a worker's messages from a thread, so that it goes on preparing while its pipe is full. The importing
    process reads the parts in file order, one worker at a time, and a pipe holds 64 KB: without this, a worker
    whose part was not being read stopped after its first batch, and the workers took turns instead of working at
    once. At most ``ahead`` prepared messages wait (the worker's extra memory: about ``ahead`` batches)."""

    def __init__(self, out: BinaryIO, ahead: int) -> None:
        self.out = out
        self.waiting: queue.Queue[memoryview | None] = queue.Queue(maxsize=ahead)
        self.failed: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="butterfly-sender", daemon=True)
        self.thread.start()

    def send(self, message: tuple[str, Any]) -> None:
        if self.failed is not None:
            raise self.failed
        self.waiting.put(_pickled(message))

    def _run(self) -> None:
        while (data := self.waiting.get()) is not None:
            if self.failed is None:
                try:
                    self.out.write(data)
                except BaseException as exc:  # the importing process is gone (BrokenPipeError): send() raises it
                    self.failed = exc
            # after a failure the queue is still emptied, so that a send() waiting for room returns and raises

    def close(self) -> None:
        """Wait until every message is written (raises what writing raised)."""
        self.waiting.put(None)
        self.thread.join()
        if self.failed is not None:
            raise self.failed
        self.out.flush()


def main() -> int:
    """The worker: a pickled :class:`WorkerJob` on stdin; on stdout ``("batch", PreparedBatch)`` messages, after
    each of its parts ``("part", index)`` (or ``("rest", index)`` once when it reads on past a part's end to the
    end of the file), then ``("end", None)`` or ``("error", exception)``."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the importing process's to handle; it stops us
    job: WorkerJob = pickle.load(sys.stdin.buffer)  # from the importing process, through a pipe it opened
    out = sys.stdout.buffer
    parent = os.getppid()
    sender = Sender(out, AHEAD_BATCHES if job.parts > 1 else 1)
    try:
        try:
            _prepare(job, sender.send, parent)
        except BrokenPipeError:
            raise
        except Exception as exc:  # an unreadable file (InvalidInputError names it): the importing process raises it
            try:
                sender.send(("error", exc))
            except (pickle.PicklingError, TypeError, AttributeError):
                sender.send(("error", InvalidInputError(f"{job.path}: {exc}")))
            sender.close()
            return 2
        sender.close()
    except BrokenPipeError:  # the importing process is gone or stopped reading
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    return 0


def _prepare(job: WorkerJob, send: Callable[[tuple[str, Any]], None], parent: int) -> None:
    """The worker's batches of the file, each part's followed by ``("part", index)``, and ``("end", None)``."""
    preparer = job.preparer()
    if job.parts == 1:
        whole = CsvFile(Path(job.path), job.codec, delimiter=job.delimiter)
        readers: Iterable[tuple[int, CsvFile]] = [(0, whole)]
    else:
        readers = _my_parts(job)
    for index, reader in readers:
        try:
            told = False  # ("rest", index) sent: this worker reads on to the end of the file
            for batch in prepared_batches(
                reader.batches(job.batch_lines), preparer, id_from_row=job.id_from_row, lookup=None, columns=True
            ):
                if os.getppid() != parent:  # the importing process was killed: nobody reads what follows
                    raise BrokenPipeError
                if reader.read_past_end and not told:
                    send(("rest", index))
                    told = True
                if job.stage is not None:
                    batch.prepared = _staged(batch.prepared, job.stage)
                send(("batch", batch))
            if reader.read_past_end:
                if not told:
                    send(("rest", index))
                break  # it read to the end of the file
            if job.parts > 1:
                send(("part", index))
        finally:
            reader.close()
    send(("end", None))


def _staged(prepared: Prepared | PreparedColumns, statements: StageStatements) -> Prepared:
    """``prepared`` with its rows as a database image (:mod:`butterfly.importers.staging`); a batch without rows
    stays as it is."""
    if isinstance(prepared, PreparedColumns):
        columns = prepared.full_columns()
        done = Prepared([], prepared.ids, prepared.unchanged, prepared.replaced, prepared.stored)
    else:
        assert not isinstance(prepared.rows, StagedRows)  # prepared_batches makes rows; only this function stages
        columns = list(zip(*prepared.rows, strict=True))
        done = prepared
    if not done.ids:
        return done
    rows = StagedRows(staging.image(columns, statements), len(done.ids))
    return Prepared(rows, done.ids, done.unchanged, done.replaced, done.stored)


def _my_parts(job: WorkerJob) -> Iterator[tuple[int, CsvFile]]:
    """This worker's parts of the file (every ``job.parts``-th), each opened for reading."""
    path = Path(job.path)
    size = os.path.getsize(path)
    for part in csv_chunks.parts(path, job.data_start, 2, size, job.part_bytes):  # the data from line 2 on
        if part.index % job.parts == job.part:
            yield (
                part.index,
                csv_chunks.PartFile(path, job.codec, delimiter=job.delimiter, header=job.header, size=size, part=part),
            )


if __name__ == "__main__":
    # run through the module's own name, so the batches it pickles name their classes by it, not by __main__
    from butterfly.importers.csv_batches import main as run

    sys.exit(run())
