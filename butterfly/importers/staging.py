"""Prepared rows handed from a worker process to the importing process as a small SQLite database image.

In a first load in parts (:mod:`butterfly.importers.csv_batches`), the importing process spent about 6 µs a row
unpickling a tuple, binding 17-odd parameters and evaluating the insert's expressions (``NULLIF``, the derived
status, the casts), on a machine whose cores the workers need as well. Now each worker runs the same expressions
into an in-memory SQLite database of its own (:func:`image`), sends its image (``Connection.serialize``), and the
importing process copies it into the ticket table with one ``INSERT … SELECT`` of the finished values
(:meth:`~butterfly.importers.bulk.TicketWriter.write`: ``Connection.deserialize`` into a schema attached for it),
about 3 µs a row. The rows stored are the same: the expressions are the writer's own, evaluated by SQLite either
way. Measured with the other changes of the day in ``benchmarks/README.md`` (1M rows on 2 cores: 16.5 s → 12 s).

Only SQLite databases take images (PostgreSQL imports send rows as before), and only where the ``sqlite3`` module
can (re)load an image (:func:`available`).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass

STAGE_SCHEMA = "bf_stage"  # the schema name the importing process loads an image into
STAGE_TABLE = "r"
IMAGE_PAGE_BYTES = 65536  # large pages: a batch's rows go in a few percent faster, the image is as large


def available() -> bool:
    """Whether this Python's ``sqlite3`` can make and load database images (``serialize``/``deserialize``)."""
    return hasattr(sqlite3.Connection, "serialize") and hasattr(sqlite3.Connection, "deserialize")


@dataclass(frozen=True)
class StageStatements:
    """What a worker runs to stage prepared rows: the table, and the insert of ``rows_per_insert`` rows at a time
    (``insert_one``: one row, for the rest)."""

    create: str
    insert_rows: str
    insert_one: str
    rows_per_insert: int
    nulled: tuple[int, ...] = ()  # the positions whose empty values are bound as NULL (the SQL has no NULLIF)


@dataclass
class StagedRows:
    """``count`` prepared rows as a database image: table ``r`` holds them in order."""

    image: bytes
    count: int

    def __len__(self) -> int:
        return self.count


Rows = list[tuple[str, ...]] | StagedRows


def image(columns: list[Sequence[str]], statements: StageStatements) -> bytes:
    """The database image of the rows whose values ``columns`` hold (column ``j`` has row ``i``'s j-th value)."""
    width, count, per = len(columns), len(columns[0]), statements.rows_per_insert
    values: list[Sequence[str | None]] = list(columns)
    for j in statements.nulled:
        values[j] = [value or None for value in columns[j]]
    whole = count - count % per
    # the parameters of the many-row inserts, made without a tuple per row: every column's values go into one
    # flat list by strided slice assignment (four times cheaper than zipping rows and chaining them)
    flat: list[str | None] = [None] * (whole * width)
    for j, column in enumerate(values):
        flat[j::width] = column[:whole]
    db = sqlite3.connect(":memory:", isolation_level=None)
    try:
        db.execute("PRAGMA journal_mode = OFF")
        db.execute(f"PRAGMA page_size = {IMAGE_PAGE_BYTES}")
        db.execute(statements.create)
        db.execute("BEGIN")
        db.executemany(statements.insert_rows, zip(*[iter(flat)] * (per * width), strict=True))
        if whole < count:
            db.executemany(statements.insert_one, zip(*(column[whole:] for column in values), strict=True))
        db.execute("COMMIT")
        return db.serialize()
    finally:
        db.close()
