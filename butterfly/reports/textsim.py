"""Text similarity for grouping tickets: normalisation, character n-gram shingles, MinHash and LSH, in numpy.

Works on any script: runs of CJK characters (Chinese, Japanese, Korean) give character bigrams, other text gives
character trigrams (spaces included, so word boundaries count). Everything is vectorised, so one week's ~20k
tickets group in well under a second on one core.

The similarity of two texts is the Jaccard index of their shingle sets, estimated by MinHash; candidate pairs come
from LSH banding and are kept when their estimated similarity reaches the threshold. Groups are the connected
components of the kept pairs.
"""

from __future__ import annotations

import unicodedata
import zlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

# one home for what both similarity measures share (the script test, the text clean-up patterns, the sort):
# butterfly.similarity.tfidf, the default grouping's measure
from butterfly.similarity.tfidf import _DIGITS, _MENTION, _PUNCT, _URL, _is_cjk, _sorted_unique

U32 = npt.NDArray[np.uint32]
U64 = npt.NDArray[np.uint64]
I64 = npt.NDArray[np.int64]


def normalise(text: str | None) -> str:
    """Text reduced to what identifies a problem: NFKC, case-folded, URLs, @handles and punctuation removed,
    digit runs turned into ``0``, whitespace collapsed (``similarity.tfidf.fold`` without its Chinese
    conversion and reply prefixes: the near-duplicate methods compare text as written)."""
    if not text:
        return ""
    t = unicodedata.normalize("NFKC", text).casefold()
    t = _MENTION.sub(" ", _URL.sub(" ", t))
    t = _PUNCT.sub(" ", _DIGITS.sub("0", t))
    return " ".join(t.split())


def _mix(h: U64, c: U64 | np.uint64) -> U64:
    with np.errstate(over="ignore"):
        return (h ^ c) * np.uint64(0x100000001B3)


def shingle_hashes(texts: Sequence[str], extra: Sequence[Sequence[str]] | None = None) -> tuple[U64, I64]:
    """32-bit shingle hashes of every text, and the text index of each (sorted by text, duplicates removed).

    ``texts`` should already be normalised. ``extra`` adds whole tokens per text (e.g. ``cat:billing``). A text
    with no shingle at all (empty, or shorter than a trigram) gets the hash of the whole text, so it still
    matches only itself.
    """
    n = len(texts)
    joined = "\x00".join(texts) + "\x00\x00\x00"
    c = np.frombuffer(joined.encode("utf-32-le"), dtype=np.uint32)
    sep = c == 0
    doc = np.cumsum(sep, dtype=np.int64)  # text index of each position (separators belong to the next)
    cjk = _is_cjk(c)
    c64 = c.astype(np.uint64)
    m = len(c) - 2
    c0, c1, c2 = c64[:m], c64[1 : m + 1], c64[2 : m + 2]
    s0, s1, s2 = sep[:m], sep[1 : m + 1], sep[2 : m + 2]
    j0, j1, j2 = cjk[:m], cjk[1 : m + 1], cjk[2 : m + 2]
    seed = np.uint64(0xCBF29CE484222325)
    bigram = _mix(_mix(_mix(np.full(m, seed, dtype=np.uint64), np.uint64(2)), c0), c1)
    trigram = _mix(_mix(_mix(_mix(np.full(m, seed, dtype=np.uint64), np.uint64(3)), c0), c1), c2)
    # CJK: character bigrams (also across a CJK/other boundary, so "打印机error" keeps its join)
    use_bi = ~s0 & ~s1 & (j0 | j1) & ~((c0 == 32) | (c1 == 32))
    # other scripts: character trigrams with no CJK in them
    use_tri = ~s0 & ~s1 & ~s2 & ~j0 & ~j1 & ~j2
    hashes = np.concatenate([bigram[use_bi], trigram[use_tri]])
    docs = np.concatenate([doc[:m][use_bi], doc[:m][use_tri]])
    parts_h = [hashes]
    parts_d = [docs]
    counts = np.bincount(docs, minlength=n)[:n]
    empty = np.flatnonzero(counts == 0)
    if len(empty):
        parts_h.append(np.array([zlib.crc32(("\x01" + texts[int(i)]).encode()) for i in empty], dtype=np.uint64))
        parts_d.append(empty.astype(np.int64))
    if extra is not None:
        eh: list[int] = []
        ed: list[int] = []
        for i, tokens in enumerate(extra):
            for token in tokens:
                eh.append(zlib.crc32(("\x02" + token).encode()))
                ed.append(i)
        parts_h.append(np.array(eh, dtype=np.uint64))
        parts_d.append(np.array(ed, dtype=np.int64))
    h = np.concatenate(parts_h)
    d = np.concatenate(parts_d)
    with np.errstate(over="ignore"):
        h32 = (h ^ (h >> np.uint64(32))) & np.uint64(0xFFFFFFFF)
    key = _sorted_unique((d.astype(np.uint64) << np.uint64(32)) | h32)
    return key & np.uint64(0xFFFFFFFF), (key >> np.uint64(32)).astype(np.int64)


def minhash(hashes: U64, docs: I64, n_docs: int, num_perm: int = 64, seed: int = 1) -> U32:
    """MinHash signatures, shape ``(n_docs, num_perm)``; every doc must have at least one shingle.

    Permutation ``k`` of a 32-bit shingle hash ``x`` is the multiply-add-shift hash ``(a_k * x + b_k) >> 32``
    (64-bit arithmetic, ``a_k`` odd): universal, and much faster in numpy than a modulo.
    """
    rng = np.random.default_rng(seed)
    a = rng.integers(1, 1 << 62, size=num_perm, dtype=np.uint64) * np.uint64(2) + np.uint64(1)
    b = rng.integers(0, 1 << 62, size=num_perm, dtype=np.uint64)
    starts = np.searchsorted(docs, np.arange(n_docs))
    sig = np.empty((n_docs, num_perm), dtype=np.uint32)
    shift = np.uint64(32)
    value = np.empty(len(hashes), dtype=np.uint64)
    with np.errstate(over="ignore"):
        for k in range(num_perm):
            np.multiply(hashes, a[k], out=value)
            value += b[k]
            value >>= shift
            sig[:, k] = np.minimum.reduceat(value.astype(np.uint32), starts)
    return sig


def components(n: int, left: I64, right: I64) -> I64:
    """Connected components: the smallest member index of each node's component."""
    labels = np.arange(n, dtype=np.int64)
    if len(left) == 0:
        return labels
    while True:
        lo = np.minimum(labels[left], labels[right])
        before = labels.copy()
        np.minimum.at(labels, left, lo)
        np.minimum.at(labels, right, lo)
        # pointer jumping until every label is a root
        while True:
            nxt = labels[labels]
            if np.array_equal(nxt, labels):
                break
            labels = nxt
        if np.array_equal(labels, before):
            return labels


@dataclass(frozen=True)
class SimilarityParams:
    """MinHash/LSH settings: ``bands * rows`` permutations; pairs kept at estimated Jaccard >= ``threshold``."""

    threshold: float = 0.5
    bands: int = 16
    rows: int = 4
    seed: int = 1


def cluster_texts(
    texts: Sequence[str], *, extra: Sequence[Sequence[str]] | None = None, params: SimilarityParams | None = None
) -> I64:
    """Cluster label (smallest member index) for each text; ``texts`` are normalised already.

    Identical texts always share a cluster; near-duplicates join when their estimated Jaccard similarity of
    shingles reaches ``params.threshold``.
    """
    p = params or SimilarityParams()
    n = len(texts)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    # identical (text, extra) pairs first: similarity work is done once per distinct key
    keys = [(t, tuple(sorted(extra[i])) if extra is not None else ()) for i, t in enumerate(texts)]
    first: dict[tuple[str, tuple[str, ...]], int] = {}
    inverse = np.empty(n, dtype=np.int64)
    for i, k in enumerate(keys):
        inverse[i] = first.setdefault(k, len(first))
    uniq = list(first)
    u = len(uniq)
    h, d = shingle_hashes([k[0] for k in uniq], [list(k[1]) for k in uniq] if extra is not None else None)
    sig = minhash(h, d, u, p.bands * p.rows, p.seed)
    lefts: list[I64] = []
    rights: list[I64] = []
    mult = np.uint64(0x9E3779B97F4A7C15)
    for band in range(p.bands):
        block = sig[:, band * p.rows : (band + 1) * p.rows].astype(np.uint64)
        key = np.full(u, np.uint64(band + 1), dtype=np.uint64)
        with np.errstate(over="ignore"):
            for col in range(p.rows):
                key = (key ^ block[:, col]) * mult
        order = np.argsort(key, kind="stable")
        sk = key[order]
        is_start = np.ones(u, dtype=bool)
        is_start[1:] = sk[1:] != sk[:-1]
        leader_pos = np.maximum.accumulate(np.where(is_start, np.arange(u), 0))
        member = ~is_start
        lefts.append(order[leader_pos[member]])
        rights.append(order[member])
    left = np.concatenate(lefts)
    right = np.concatenate(rights)
    if len(left):
        pair = _sorted_unique(((np.minimum(left, right) << 32) | np.maximum(left, right)).astype(np.uint64))
        left, right = (pair >> np.uint64(32)).astype(np.int64), (pair & np.uint64(0xFFFFFFFF)).astype(np.int64)
        keep = np.empty(len(left), dtype=bool)
        step = 200_000
        for s in range(0, len(left), step):
            keep[s : s + step] = (sig[left[s : s + step]] == sig[right[s : s + step]]).mean(axis=1) >= p.threshold
        left, right = left[keep], right[keep]
    labels_u = components(u, left, right)
    # back to the original indices: label = smallest original index in the component
    comp = labels_u[inverse]
    smallest = np.full(u, n, dtype=np.int64)
    np.minimum.at(smallest, comp, np.arange(n, dtype=np.int64))
    return smallest[comp]


def jaccard(a: str, b: str) -> float:
    """Exact Jaccard similarity of two normalised texts' shingle sets (for tests and explanations)."""
    h, d = shingle_hashes([a, b])
    sa, sb = set(h[d == 0].tolist()), set(h[d == 1].tolist())
    return len(sa & sb) / len(sa | sb) if sa | sb else 1.0
