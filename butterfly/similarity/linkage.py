"""Average-linkage clustering of a sparse similarity graph, cut at a threshold.

Two clusters merge when the *average* similarity over all their member pairs reaches the threshold (a pair
with no edge counts as 0), most similar first. Unlike connected components of "similar enough" links, a chain
of weakly similar tickets never pulls two unrelated problems together: a bridge of one link between two groups
of ten averages 1/100 of its weight.

Average linkage never merges at a higher similarity than an earlier merge, so the merges, in order, form a
hierarchy: cutting it at a higher threshold gives the sub-variants of each problem.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

I64 = npt.NDArray[np.int64]


@dataclass(frozen=True)
class Merge:
    a: int  # the cluster kept (a node index: its smallest node)
    b: int  # the cluster merged into it
    similarity: float  # the average similarity at which they merged


def average_linkage(
    n: int,
    left: Sequence[int] | I64,
    right: Sequence[int] | I64,
    similarity: Sequence[float] | npt.NDArray[np.floating],
    *,
    threshold: float,
    weights: Sequence[int] | I64 | None = None,
) -> list[Merge]:
    """The merges of average linkage down to ``threshold``, in order (similarity non-increasing).

    ``weights`` counts how many identical items each node stands for (identical texts are clustered once):
    a node of weight 3 is three members at similarity 1 to each other.
    """
    size = [1] * n if weights is None else [int(w) for w in weights]
    sums: list[dict[int, float]] = [{} for _ in range(n)]
    for a, b, s in zip(
        np.asarray(left).tolist(), np.asarray(right).tolist(), np.asarray(similarity).tolist(), strict=True
    ):
        if a == b or s <= 0:
            continue
        total = s * size[a] * size[b]
        sums[a][b] = sums[a].get(b, 0.0) + total
        sums[b][a] = sums[b].get(a, 0.0) + total
    heap: list[tuple[float, int, int]] = []
    for a in range(n):
        for b, total in sums[a].items():
            if a < b:
                avg = total / (size[a] * size[b])
                if avg >= threshold:
                    heap.append((-avg, a, b))
    heapq.heapify(heap)
    alive = [True] * n
    merges: list[Merge] = []
    while heap:
        neg, a, b = heapq.heappop(heap)
        if not (alive[a] and alive[b]):
            continue
        total = sums[a].get(b)
        if total is None or abs(total / (size[a] * size[b]) + neg) > 1e-9:
            continue  # stale: one side grew since this entry was pushed
        keep, gone = (a, b) if len(sums[a]) >= len(sums[b]) else (b, a)
        merges.append(Merge(min(a, b), max(a, b), -neg))
        alive[gone] = False
        del sums[keep][gone]
        for c, t in sums[gone].items():
            if c == keep:
                continue
            sums[keep][c] = sums[keep].get(c, 0.0) + t
            other = sums[c]
            other[keep] = other.get(keep, 0.0) + other.pop(gone)
        sums[gone] = {}
        size[keep] += size[gone]
        for c, t in sums[keep].items():
            avg = t / (size[keep] * size[c])
            if avg >= threshold:
                heapq.heappush(heap, (-avg, min(keep, c), max(keep, c)))
    return merges


def cut(n: int, merges: Sequence[Merge], threshold: float) -> I64:
    """Cluster label of each node (its cluster's smallest node) after the merges at >= ``threshold``."""
    parent = np.arange(n, dtype=np.int64)

    def find(x: int) -> int:
        root = x
        while parent[root] != root:
            root = int(parent[root])
        while parent[x] != root:
            parent[x], x = root, int(parent[x])
        return root

    for m in merges:
        if m.similarity < threshold:
            break
        ra, rb = find(m.a), find(m.b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    return np.array([find(i) for i in range(n)], dtype=np.int64)
