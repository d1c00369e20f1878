"""Sentence-embedding vectors kept in the database (table ``ticket_embedding``), so each ticket is embedded once.

A row is keyed by ticket and model and holds the hash of the text that was embedded: a ticket whose subject or
description changed no longer matches its hash and is embedded again (``engine.EmbeddingEngine.vectors``).

Reads go through the caller's session; writes through a connection of their own, committed per batch, so a report
or a review's context panel (which may hold a read transaction, never a half-done write of its own when it asks
for similar tickets) stores its vectors without committing anything else. A failed write (the database busy
or read-only) costs only the cache: the vectors are still used for this run.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import sqlalchemy as sa

from butterfly.similarity.engine import F32
from butterfly.store.models import TicketEmbedding

if TYPE_CHECKING:
    from sqlmodel import Session

CHUNK = 900  # ids per IN (...) (SQLite's default limit on bound parameters was 999)
ROWS_PER_INSERT = 150  # x 5 columns


def _table() -> sa.Table:
    table: sa.Table = TicketEmbedding.__table__  # type: ignore[attr-defined]
    return table


def pack(vector: F32) -> bytes:
    return np.asarray(vector, dtype="<f4").tobytes()


def unpack(blob: bytes, dim: int) -> F32:
    out: F32 = np.frombuffer(blob, dtype="<f4", count=dim).astype(np.float32)
    return out


class DbVectorStore:
    """``engine.VectorStore`` over butterfly's database."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.write_errors = 0

    def load(self, keys: Sequence[int], model: str) -> dict[int, tuple[str, F32]]:
        t = _table()
        out: dict[int, tuple[str, F32]] = {}
        ids = sorted(set(keys))
        for start in range(0, len(ids), CHUNK):
            stmt = sa.select(t.c.ticket_id, t.c.text_hash, t.c.dim, t.c.vector).where(
                t.c.model == model, t.c.ticket_id.in_(ids[start : start + CHUNK])
            )
            for tid, digest, dim, blob in self.session.execute(stmt):
                out[int(tid)] = (digest, unpack(bytes(blob), int(dim)))
        return out

    def save(self, rows: Sequence[tuple[int, str, F32]], model: str) -> None:
        if not rows:
            return
        values = [
            {"ticket_id": int(k), "model": model, "text_hash": h, "dim": len(v), "vector": pack(v)} for k, h, v in rows
        ]
        bind: Any = self.session.get_bind()
        try:
            with bind.begin() as conn:
                for start in range(0, len(values), ROWS_PER_INSERT):
                    conn.execute(_upsert(conn.dialect.name, values[start : start + ROWS_PER_INSERT]))
        except sa.exc.SQLAlchemyError:
            self.write_errors += 1


def _upsert(dialect: str, values: list[dict[str, Any]]) -> Any:
    """INSERT … ON CONFLICT (ticket, model) DO UPDATE: two processes embedding the same ticket both succeed."""
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        stmt: Any = pg_insert(_table()).values(values)
    else:
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        stmt = sqlite_insert(_table()).values(values)
    return stmt.on_conflict_do_update(
        index_elements=["ticket_id", "model"],
        set_={"text_hash": stmt.excluded.text_hash, "dim": stmt.excluded.dim, "vector": stmt.excluded.vector},
    )
