"""TF-IDF over character n-grams, and cosine similarity through an inverted index, in numpy.

What customers write about one problem is paraphrased ("退款一直没到账" / "钱还没退回来" / "申请退款三天了没收到"),
so tickets are compared by weighted character n-grams rather than by near-duplicate detection:

- **folding** first: NFKC (full/half width), case, traditional to simplified Chinese with Taiwan wording
  (OpenCC ``tw2sp``: 發票匯出失敗 → 发票导出失败, 印表機 → 打印机), reply prefixes, URLs, @handles, digits;
- **n-grams per script**: runs of CJK characters give character 1- and 2-grams, other text gives character 3- to
  5-grams inside each word (padded with a space on both sides, like scikit-learn's ``char_wb``);
- **TF-IDF**: sublinear term frequency (``1 + log tf``), smoothed IDF (``log((1 + n) / (1 + df)) + 1``),
  rows scaled to unit length, so the dot product of two rows is their cosine similarity;
- **pairs** through the inverted index: every two rows that share an n-gram get the sum of their products. An
  n-gram in more than ``max_df`` rows (a stop-gram: "的", " th") still weighs in each row's length but makes no
  pairs by itself, which bounds the work on a large week.

scikit-learn would do the same with ``TfidfVectorizer`` + sparse products, but with SciPy it adds ~190 MB to the
install; this is ~200 lines of numpy (``benchmarks/bench_similarity.py`` checks it against scikit-learn when that
is installed).
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import numpy.typing as npt

F32 = npt.NDArray[np.float32]
I64 = npt.NDArray[np.int64]
U64 = npt.NDArray[np.uint64]

_REPLY = re.compile(r"^\s*(?:(?:re|fw|fwd|aw|答复|回复|回覆|转发|轉寄)\s*[:：]\s*)+", re.IGNORECASE)
_URL = re.compile(r"https?://\S+|www\.\S+")
_MENTION = re.compile(r"(?<![\w.])@\w+")
_DIGITS = re.compile(r"\d+")
_PUNCT = re.compile(r"[^\w\s]|_")
_CJK_CLASS = "\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af\uf900-\ufaff\U00020000-\U0002ffff"
_HAS_CJK = re.compile(f"[{_CJK_CLASS}]")


# characters with two simplified forms in use, where OpenCC keeps the less usual one (到帳 → 到帐, not 到账)
_ONE_FORM = str.maketrans({"帐": "账"})


@lru_cache(maxsize=1)
def _converter() -> Any:
    import opencc

    return opencc.OpenCC("tw2sp")


def fold(text: str | None) -> str:
    """Text as compared: NFKC, case-folded, traditional → simplified Chinese (Taiwan phrases → mainland ones),
    reply prefixes, URLs, @handles and punctuation removed, digit runs → ``0``, whitespace collapsed."""
    if not text:
        return ""
    t = unicodedata.normalize("NFKC", text)
    t = _REPLY.sub("", t).casefold()
    if _HAS_CJK.search(t):
        t = _converter().convert(t).translate(_ONE_FORM)
    if "http" in t or "www." in t:
        t = _URL.sub(" ", t)
    if "@" in t:
        t = _MENTION.sub(" ", t)
    t = _PUNCT.sub(" ", _DIGITS.sub("0", t))
    return " ".join(t.split())


def _is_cjk(c: npt.NDArray[np.uint32]) -> npt.NDArray[np.bool_]:
    return (
        ((c >= 0x3040) & (c <= 0x30FF))
        | ((c >= 0x3400) & (c <= 0x9FFF))
        | ((c >= 0xAC00) & (c <= 0xD7AF))
        | ((c >= 0xF900) & (c <= 0xFAFF))
        | ((c >= 0x20000) & (c <= 0x2FFFF))
    )


def gram_hashes(texts: Sequence[str]) -> tuple[U64, I64]:
    """64-bit hashes of every n-gram occurrence of every (folded) text, and the text index of each."""
    joined = "".join(f"\x00 {t} " for t in texts) + "\x00" * 5
    c = np.frombuffer(joined.encode("utf-32-le"), dtype=np.uint32)
    sep = c == 0
    doc = np.cumsum(sep, dtype=np.int64) - 1
    cjk = _is_cjk(c)
    # other scripts see a CJK character as a space: a word beside Chinese text is padded like any other word
    other = np.where(cjk, np.uint32(32), c).astype(np.uint64)
    space = other == 32
    c64 = c.astype(np.uint64)
    m = len(c) - 4
    hashes: list[U64] = []
    docs: list[I64] = []
    seed = np.uint64(0xCBF29CE484222325)
    prime = np.uint64(0x100000001B3)
    with np.errstate(over="ignore"):
        # CJK 1- and 2-grams: every character CJK
        h = (seed ^ c64[:m]) * prime
        keep = cjk[:m]
        hashes.append((h ^ np.uint64(1))[keep])
        docs.append(doc[:m][keep])
        h = (h ^ c64[1 : m + 1]) * prime
        keep = cjk[:m] & cjk[1 : m + 1]
        hashes.append((h ^ np.uint64(2))[keep])
        docs.append(doc[:m][keep])
        # other scripts: 3- to 5-grams with a space (or CJK) only at either end: inside one padded word
        h = np.full(m, seed, dtype=np.uint64)
        bad = np.zeros(m, dtype=bool)  # the window holds a separator
        inner_space = np.zeros(m, dtype=bool)
        for k in range(5):
            h = (h ^ other[k : m + k]) * prime
            bad |= sep[k : m + k]
            n = k + 1
            if n >= 3:
                inner_space |= space[k - 1 : m + k - 1]
                keep = ~bad & ~inner_space
                hashes.append((h ^ np.uint64(n))[keep])
                docs.append(doc[:m][keep])
    return np.concatenate(hashes), np.concatenate(docs)


def _sorted_unique(values: U64) -> U64:
    """Sorted distinct values (a plain sort: faster than ``np.unique``'s paths on large arrays)."""
    values = np.sort(values)
    if len(values) == 0:
        return values
    keep = np.empty(len(values), dtype=bool)
    keep[0] = True
    np.not_equal(values[1:], values[:-1], out=keep[1:])
    return values[keep]


@dataclass(frozen=True)
class TfidfMatrix:
    """Unit-length TF-IDF rows in CSR form: row ``i`` is ``indices/data[indptr[i]:indptr[i + 1]]``."""

    indptr: I64
    indices: I64
    data: F32
    df: I64  # rows containing each feature
    n_rows: int

    @property
    def n_features(self) -> int:
        return len(self.df)


def tfidf(texts: Sequence[str]) -> TfidfMatrix:
    """TF-IDF rows of folded texts (see :func:`fold`); a text without n-grams gets an empty row."""
    n = len(texts)
    hashes, docs = gram_hashes(texts)
    if len(hashes) == 0:
        return TfidfMatrix(
            np.zeros(n + 1, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float32), np.zeros(0, np.int64), n
        )
    features = _sorted_unique(hashes)
    feat = np.searchsorted(features, hashes)
    key = docs * len(features) + feat
    key = np.sort(key)
    start = np.ones(len(key), dtype=bool)
    start[1:] = key[1:] != key[:-1]
    first = np.flatnonzero(start)
    tf = np.diff(np.append(first, len(key)))
    key = key[first]
    row = key // len(features)
    col = key % len(features)
    df = np.bincount(col, minlength=len(features)).astype(np.int64)
    idf = np.log((1.0 + n) / (1.0 + df)) + 1.0
    w = (1.0 + np.log(tf)) * idf[col]
    norm = np.sqrt(np.bincount(row, weights=w * w, minlength=n))
    w = w / norm[row]
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(row, minlength=n), out=indptr[1:])
    return TfidfMatrix(indptr, col.astype(np.int64), w.astype(np.float32), df, n)


def row_features(m: TfidfMatrix, i: int) -> dict[int, float]:
    """Row ``i`` as {feature: weight}."""
    s, e = m.indptr[i], m.indptr[i + 1]
    return dict(zip(m.indices[s:e].tolist(), m.data[s:e].tolist(), strict=True))


def cosine(m: TfidfMatrix, i: int, j: int) -> float:
    """Cosine similarity of rows ``i`` and ``j``."""
    a, b = row_features(m, i), row_features(m, j)
    if len(a) > len(b):
        a, b = b, a
    return float(sum(w * b.get(f, 0.0) for f, w in a.items()))


def cosine_pairs(
    m: TfidfMatrix,
    *,
    min_similarity: float,
    max_df: int | None = None,
    chunk: int = 4_000_000,
) -> tuple[I64, I64, F32]:
    """Every pair ``i < j`` of rows with cosine similarity >= ``min_similarity``: (left, right, similarity).

    Pairs come from the inverted index: rows sharing an n-gram with at most ``max_df`` rows (all n-grams when
    ``None``). A pair's similarity sums the products of the n-grams they share that make pairs, so with a
    ``max_df`` it can fall short of the full cosine by the stop-grams' share (never above it).
    """
    n = m.n_rows
    row = np.repeat(np.arange(n, dtype=np.int64), np.diff(m.indptr))
    order = np.argsort(m.indices, kind="stable")
    f_sorted = m.indices[order]
    r_sorted = row[order]
    w_sorted = m.data[order]
    starts = np.searchsorted(f_sorted, np.arange(m.n_features))
    df = m.df
    usable = df >= 2
    if max_df is not None:
        usable &= df <= max_df
    feats = np.flatnonzero(usable)
    pairs_per = df[feats] * (df[feats] - 1) // 2
    keys: list[U64] = []
    sums: list[F32] = []
    # features in batches of about ``chunk`` pairs, each batch aggregated, then all batches together
    batch_of = np.cumsum(pairs_per) // chunk
    edges = [0, *(np.flatnonzero(np.diff(batch_of)) + 1).tolist(), len(feats)]
    for lo, hi in itertools.pairwise(edges):
        if hi <= lo:
            continue
        batch = feats[lo:hi]
        k, s = _batch_pairs(starts[batch], df[batch], r_sorted, w_sorted)
        keys.append(k)
        sums.append(s)
    if not keys:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float32)
    key, total = _aggregate(np.concatenate(keys), np.concatenate(sums))
    keep = total >= min_similarity - 1e-6
    key, total = key[keep], total[keep]
    return (key >> np.uint64(32)).astype(np.int64), (key & np.uint64(0xFFFFFFFF)).astype(np.int64), total


def _batch_pairs(start: I64, length: I64, rows: I64, weights: F32) -> tuple[U64, F32]:
    """All pairs within each posting list ``rows[start:start + length]``, keyed ``left << 32 | right``."""
    # position of every posting, and how many later postings of the same list it pairs with
    pos = np.repeat(start, length) + _ramp(length)
    after = np.repeat(length, length) - _ramp(length) - 1
    left = np.repeat(pos, after)
    right = left + _ramp(after) + 1
    a, b = rows[left], rows[right]
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    key = (lo.astype(np.uint64) << np.uint64(32)) | hi.astype(np.uint64)
    return _aggregate(key, weights[left] * weights[right])


def _ramp(lengths: I64) -> I64:
    """0, 1, …, n-1 for each n in ``lengths``, concatenated."""
    total = int(lengths.sum())
    if total == 0:
        return np.zeros(0, np.int64)
    offsets = np.repeat(np.cumsum(lengths) - lengths, lengths)
    return np.arange(total, dtype=np.int64) - offsets


def _aggregate(key: U64, value: F32) -> tuple[U64, F32]:
    """Sum of ``value`` per distinct ``key`` (keys sorted)."""
    if len(key) == 0:
        return key, value.astype(np.float32)
    order = np.argsort(key, kind="stable")
    key, value = key[order], value[order]
    start = np.ones(len(key), dtype=bool)
    start[1:] = key[1:] != key[:-1]
    idx = np.flatnonzero(start)
    return key[idx], np.add.reduceat(value.astype(np.float32), idx)


def similarity_to(m: TfidfMatrix, i: int) -> F32:
    """Cosine similarity of row ``i`` to every row (a dense vector; for a few thousand candidates)."""
    s, e = m.indptr[i], m.indptr[i + 1]
    q = np.zeros(m.n_features, dtype=np.float32)
    q[m.indices[s:e]] = m.data[s:e]
    row = np.repeat(np.arange(m.n_rows, dtype=np.int64), np.diff(m.indptr))
    return np.bincount(row, weights=m.data * q[m.indices], minlength=m.n_rows).astype(np.float32)
