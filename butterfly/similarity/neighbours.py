"""Nearest neighbours of dense unit vectors (sentence embeddings) as a sparse similarity graph for the linkage.

Every row is compared with every other by one matrix product per chunk of rows (BLAS); of each row's pairs only
its ``k`` most similar allowed ones at or above ``floor`` are kept (a pair stays when it is in either end's list),
as the TF-IDF grouping keeps 30 neighbours per ticket. A pair is allowed within one block, with a row that has no
block, or across blocks when its similarity reaches ``strong``.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

F32 = npt.NDArray[np.float32]
I64 = npt.NDArray[np.int64]

ROWS_PER_CHUNK = 1024


def knn_pairs(x: F32, block: I64, *, k: int, floor: float, strong: float, no_block: int = -1) -> tuple[I64, I64, F32]:
    """(left, right, similarity) with left < right: each row's ``k`` best allowed pairs (see the module doc).

    ``block``: a block id per row; ``no_block``: the id of rows without a block (compared with every row)."""
    n = len(x)
    if n < 2 or k < 1:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float32)
    x = np.ascontiguousarray(x, dtype=np.float32)
    free = block == no_block
    one_block = bool((block == block[0]).all())
    lefts: list[I64] = []
    rights: list[I64] = []
    sims: list[F32] = []
    for start in range(0, n, ROWS_PER_CHUNK):
        stop = min(n, start + ROWS_PER_CHUNK)
        sim = x[start:stop] @ x.T
        rows = np.arange(start, stop)
        sim[rows - start, rows] = -1.0
        allowed = sim >= floor
        if not one_block:
            same = (block[start:stop, None] == block[None, :]) | free[start:stop, None] | free[None, :]
            allowed &= same | (sim >= strong)
        allowed[rows - start, rows] = False
        if n - 1 > k:
            # pairs not allowed sink below every allowed one but keep distinct values: a row of equal values
            # (say all -inf) is argpartition's slow case
            np.subtract(sim, 3.0, out=sim, where=~allowed)
            part = np.argpartition(sim, n - k, axis=1)[:, n - k :]
        else:
            part = np.broadcast_to(np.arange(n), (stop - start, n))
        best = np.take_along_axis(sim, part, axis=1)
        keep = np.take_along_axis(allowed, part, axis=1)
        r = np.repeat(rows, part.shape[1]).reshape(part.shape)[keep]
        c = part[keep].astype(np.int64)
        lefts.append(np.minimum(r, c))
        rights.append(np.maximum(r, c))
        sims.append(best[keep].astype(np.float32))
    left, right, s = np.concatenate(lefts), np.concatenate(rights), np.concatenate(sims)
    key = left * n + right
    _, first = np.unique(key, return_index=True)
    return left[first], right[first], s[first]
