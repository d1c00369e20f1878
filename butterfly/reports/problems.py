"""The ``tfidf`` grouping: problems and their variants from what customers write, blocked by category.

See ``recurring`` for the rules; the pieces are ``butterfly.similarity.tfidf`` (folding, n-grams, weights, cosine
pairs) and ``butterfly.similarity.linkage`` (average linkage and its cuts).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from butterfly.reports.group_input import GroupInput, category_key, loose_label
from butterfly.reports.textsim import cluster_texts
from butterfly.similarity.engine import EmbeddingEngine, EmbeddingParams, embed_text, has_cjk
from butterfly.similarity.linkage import average_linkage, cut
from butterfly.similarity.neighbours import knn_pairs
from butterfly.similarity.tfidf import cosine_pairs, fold, tfidf


@dataclass(frozen=True)
class ProblemParams:
    """Thresholds on cosine similarity of TF-IDF vectors (0..1).

    ``threshold``: average similarity at which tickets of one category form one problem; ``variant_threshold``:
    the same, for the sub-variants of a problem; ``strong``: the similarity two tickets of different categories
    need to link; ``floor``: pairs below it count as 0 (they still dilute averages, as absent pairs do);
    ``max_df``: n-grams in more rows than this make no pairs by themselves (None: decided by the row count);
    ``neighbours``: each ticket keeps its links to this many most similar others (both ends' lists count).
    """

    threshold: float = 0.1
    variant_threshold: float = 0.3
    strong: float = 0.6
    floor: float = 0.05
    max_df: int | None = None
    neighbours: int = 30  # edges kept per ticket (its most similar ones), which bounds the clustering's work


DEFAULT_PARAMS = ProblemParams()


@dataclass(frozen=True)
class Problems:
    problem: list[int]  # per item: the smallest item index of its problem
    variant: list[int]  # per item: the smallest item index of its variant (within its problem)


def block_key(item: GroupInput) -> str | None:
    """What splits tickets before text does: category › subcategory, else the organisation as a product/brand.

    The weekly report passes no organisation: in butterfly it names the customer's company, and a block per
    customer company would split the very problem seen at several companies."""
    cat, sub = loose_label(item.category), loose_label(item.subcategory)
    if cat or sub:
        return f"{cat} › {sub}"
    org = loose_label(item.organization)
    return f"org:{org}" if org else None


DESCRIPTION_CHARS = 300


def item_text(item: GroupInput) -> str:
    """The folded text compared: subject and the start of the description."""
    return fold(" ".join(p for p in (item.subject, (item.description or "")[:DESCRIPTION_CHARS]) if p))


def problems(
    items: Sequence[GroupInput], params: ProblemParams | None = None, *, engine: EmbeddingEngine | None = None
) -> Problems:
    """Problem and variant label of each item (see ``recurring``); with an ``engine``, English texts are compared
    by its sentence embeddings (``engine.params``) and CJK texts by TF-IDF (``params``)."""
    p = params or DEFAULT_PARAMS
    n = len(items)
    if n == 0:
        return Problems([], [])
    texts = [item_text(it) for it in items]
    blocks = [block_key(it) for it in items]
    # identical (text, block) once; an item with neither text nor block stays alone
    first: dict[tuple[str, str | None] | int, int] = {}
    node = np.empty(n, dtype=np.int64)
    for i, (t, b) in enumerate(zip(texts, blocks, strict=True)):
        key: tuple[str, str | None] | int = (t, b) if (t or b) else -1 - i
        node[i] = first.setdefault(key, len(first))
    u = len(first)
    node_text = [""] * u
    node_block: list[str | None] = [None] * u
    for i in range(n):
        node_text[node[i]] = texts[i]
        node_block[node[i]] = blocks[i]
    # near-duplicates (estimated Jaccard >= 0.5 of shingles, MinHash) of one block are clustered once: on a large
    # week of templated tickets this keeps the number of pairs, and the clustering's work, bounded
    near = cluster_texts(node_text)
    rep_first: dict[tuple[int, str | None], int] = {}
    rep = np.array(
        [
            rep_first.setdefault(
                (int(near[k]), node_block[k]) if node_text[k] or node_block[k] else (-1 - k, None), len(rep_first)
            )
            for k in range(u)
        ]
    )
    node = rep[node]
    u = len(rep_first)
    rep_text = [""] * u
    rep_block: list[str | None] = [None] * u
    for k in range(len(rep) - 1, -1, -1):
        rep_text[rep[k]] = node_text[k]
        rep_block[rep[k]] = node_block[k]
    node_text, node_block = rep_text, rep_block
    weight = np.bincount(node, minlength=u)
    if engine is None:
        problem_node, variant_node = _tfidf_cuts(node_text, node_block, weight, p)
    else:
        # English to the embedding model, CJK (and text-less nodes, which make no pairs) to TF-IDF; the two
        # sets are clustered apart, each with its own thresholds
        rep_item = np.full(u, n, dtype=np.int64)
        np.minimum.at(rep_item, node, np.arange(n, dtype=np.int64))
        raw = [embed_text(items[i].subject, items[i].description) for i in rep_item.tolist()]
        english = np.array([bool(t) and not has_cjk(t) for t in raw], dtype=bool)
        problem_node = np.arange(u, dtype=np.int64)
        variant_node = np.arange(u, dtype=np.int64)
        for chosen, is_english in ((np.flatnonzero(~english), False), (np.flatnonzero(english), True)):
            if len(chosen) == 0:
                continue
            sub_block = [node_block[k] for k in chosen.tolist()]
            if is_english:
                keys = [items[i].key for i in rep_item[chosen].tolist()]
                x = engine.vectors([raw[k] for k in chosen.tolist()], keys)
                pc, vc = _embedding_cuts(x, sub_block, weight[chosen], engine.params)
            else:
                pc, vc = _tfidf_cuts([node_text[k] for k in chosen.tolist()], sub_block, weight[chosen], p)
            problem_node[chosen] = chosen[pc]
            variant_node[chosen] = chosen[vc]
    problem = _smallest(problem_node[node])
    # variants: the finer cut; tickets without text by their full category key (tags included)
    variant_keys = [
        (int(variant_node[node[i]]), category_key(it.category, it.subcategory, it.tags) if not texts[i] else None)
        for i, it in enumerate(items)
    ]
    vfirst: dict[tuple[int, str | None], int] = {}
    variant = [vfirst.setdefault(k, i) for i, k in enumerate(variant_keys)]
    return Problems([int(v) for v in problem], variant)


def _block_ids(blocks: Sequence[str | None]) -> tuple[np.ndarray, int]:
    """An id per block, and the id of "no block" (-1 when every node has one)."""
    ids = {b: k for k, b in enumerate(dict.fromkeys(blocks))}
    return np.array([ids[b] for b in blocks], dtype=np.int64), ids.get(None, -1)


def _tfidf_cuts(
    texts: Sequence[str], blocks: Sequence[str | None], weight: np.ndarray, p: ProblemParams
) -> tuple[np.ndarray, np.ndarray]:
    """(problem, variant) node label per node: TF-IDF cosine pairs, average linkage, two cuts."""
    u = len(texts)
    matrix = tfidf(texts)
    max_df = p.max_df if p.max_df is not None else max(200, u // 20)
    left, right, sim = cosine_pairs(matrix, min_similarity=p.floor, max_df=max_df)
    if len(left):
        bid, none = _block_ids(blocks)
        same = (bid[left] == bid[right]) | (bid[left] == none) | (bid[right] == none)
        keep = same | (sim >= p.strong)
        left, right, sim = _nearest(left[keep], right[keep], sim[keep], p.neighbours)
    merges = average_linkage(u, left, right, sim, threshold=min(p.threshold, p.variant_threshold), weights=weight)
    return cut(u, merges, p.threshold), cut(u, merges, p.variant_threshold)


def _embedding_cuts(
    x: np.ndarray, blocks: Sequence[str | None], weight: np.ndarray, p: EmbeddingParams
) -> tuple[np.ndarray, np.ndarray]:
    """(problem, variant) node label per node from unit vectors: nearest neighbours, average linkage, two cuts."""
    u = len(x)
    bid, none = _block_ids(blocks)
    left, right, sim = knn_pairs(x, bid, k=p.neighbours, floor=p.floor, strong=p.strong, no_block=none)
    merges = average_linkage(u, left, right, sim, threshold=min(p.threshold, p.variant_threshold), weights=weight)
    return cut(u, merges, p.threshold), cut(u, merges, p.variant_threshold)


def _nearest(left: np.ndarray, right: np.ndarray, sim: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The pairs among each node's ``k`` most similar (a pair stays when it is in either end's list)."""
    if len(left) == 0:
        return left, right, sim
    node = np.concatenate([left, right])
    pair = np.concatenate([np.arange(len(left)), np.arange(len(left))])
    s = np.concatenate([sim, sim])
    order = np.lexsort((-s, node))
    node, pair = node[order], pair[order]
    start = np.ones(len(node), dtype=bool)
    start[1:] = node[1:] != node[:-1]
    first = np.maximum.accumulate(np.where(start, np.arange(len(node)), 0))
    rank = np.arange(len(node)) - first
    chosen = np.unique(pair[rank < k])
    return left[chosen], right[chosen], sim[chosen]


def _smallest(labels: np.ndarray) -> np.ndarray:
    """Relabel so that each group's label is its smallest index."""
    out = np.full(int(labels.max()) + 1, len(labels), dtype=np.int64)
    np.minimum.at(out, labels, np.arange(len(labels), dtype=np.int64))
    result: np.ndarray = out[labels]
    return result
