"""Which measure compares tickets: TF-IDF over character n-grams (the default, ``tfidf``) or sentence embeddings
(``embeddings``, an opt-in extra), and what the embedding engine needs of an encoder and of a vector cache.

The embedding engine sends **English** (any text without CJK characters) to a sentence-embedding model and keeps
TF-IDF for CJK text: the shipped model (all-MiniLM-L6-v2) is English-only and scores far below TF-IDF on Chinese
complaints (benchmarks/README.md). Vectors are computed once per ticket and kept in the database
(``vector_cache``), keyed by ticket, model and a hash of the text, so an edited ticket is embedded again.

An :class:`Encoder` is anything with a ``model_id`` and an ``encode`` method returning unit-length rows; the real
one is ``butterfly.similarity.embeddings.MiniLM`` (sentence-transformers, loaded from files installed with the
extra, never downloaded); tests use a small deterministic one through the same interface.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import numpy.typing as npt

from butterfly.similarity.tfidf import _HAS_CJK

F32 = npt.NDArray[np.float32]

ENGINES = ("tfidf", "embeddings")
DEFAULT_ENGINE = "tfidf"
DESCRIPTION_CHARS = 300  # of a description embedded after the subject (as the TF-IDF grouping compares)

_URL = re.compile(r"https?://\S+|www\.\S+")
_MENTION = re.compile(r"(?<![\w.])@\w+")


class Encoder(Protocol):
    """A sentence-embedding model: ``encode`` returns one unit-length float32 row per text."""

    @property
    def model_id(self) -> str:
        """Names the model and its input; part of the cache key (at most 64 characters)."""
        ...

    def encode(self, texts: Sequence[str]) -> F32: ...


class VectorStore(Protocol):
    """Where vectors are kept between runs (``vector_cache.DbVectorStore``)."""

    def load(self, keys: Sequence[int], model: str) -> dict[int, tuple[str, F32]]:
        """Stored (text hash, vector) per key, for the keys that have one."""
        ...

    def save(self, rows: Sequence[tuple[int, str, F32]], model: str) -> None:
        """Store (key, text hash, vector) rows, replacing older ones."""
        ...


def has_cjk(text: str | None) -> bool:
    """Whether the text holds CJK characters (it is then compared by TF-IDF, not by the English model)."""
    return bool(text) and _HAS_CJK.search(text or "") is not None


def embed_text(subject: str | None, description: str | None) -> str:
    """What the model reads of a ticket: the subject and the start of the description, NFKC, URLs and
    @handles removed (a handle names the company, not the problem), whitespace collapsed."""
    parts = [p for p in (subject, (description or "")[:DESCRIPTION_CHARS]) if p and p.strip()]
    text = unicodedata.normalize("NFKC", " ".join(parts))
    if "http" in text or "www." in text:
        text = _URL.sub(" ", text)
    if "@" in text:
        text = _MENTION.sub(" ", text)
    return " ".join(text.split())


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class EmbeddingParams:
    """Thresholds on the cosine similarity of sentence embeddings (their scale differs from TF-IDF's: two
    unrelated English support messages already average about 0.12 with all-MiniLM-L6-v2).

    ``threshold`` and ``floor``: average similarity at which English tickets of one block form one problem, and
    the similarity below which a pair counts as 0, tuned together on the even test.json threads
    (benchmarks/bench_similarity_engine.py); ``variant_threshold``: the same for
    the variants of a problem; ``strong``: what tickets of different blocks need to link; ``floor``: pairs below
    it count as 0; ``neighbours``: edges kept per ticket (its most similar ones).
    """

    threshold: float = 0.15
    variant_threshold: float = 0.5
    strong: float = 0.8
    floor: float = 0.15
    neighbours: int = 30


@dataclass
class EmbeddingEngine:
    """The ``embeddings`` engine: an encoder, an optional vector cache, and its thresholds."""

    encoder: Encoder
    store: VectorStore | None = None
    params: EmbeddingParams = field(default_factory=EmbeddingParams)
    embedded: int = 0  # texts sent to the encoder by this engine (cache misses), for reports and benchmarks
    batch: int = 256  # texts encoded (and stored) at a time

    name = "embeddings"

    def vectors(self, texts: Sequence[str], keys: Sequence[int | None] | None = None) -> F32:
        """Unit-length vectors of ``texts`` (made by :func:`embed_text`), read from the cache when a row's key has
        a vector of the same text and model, else encoded (and stored under its key)."""
        n = len(texts)
        model = self.encoder.model_id
        hashes = [text_hash(t) for t in texts]
        cached: dict[int, tuple[str, F32]] = {}
        known = [k for k in keys if k is not None] if keys is not None else []
        if self.store is not None and known:
            cached = self.store.load(known, model)
        missing: list[int] = []
        rows: dict[int, F32] = {}
        for i in range(n):
            key = keys[i] if keys is not None else None
            hit = cached.get(key) if key is not None else None
            if hit is not None and hit[0] == hashes[i]:
                rows[i] = hit[1]
            else:
                missing.append(i)
        # identical texts are encoded once; each batch is stored as soon as it is encoded (an interrupted first
        # run keeps what it did)
        same: dict[str, list[int]] = {}
        for i in missing:
            same.setdefault(texts[i], []).append(i)
        groups = list(same.values())
        for start in range(0, len(groups), self.batch):
            chunk = groups[start : start + self.batch]
            vecs = np.asarray(self.encoder.encode([texts[g[0]] for g in chunk]), dtype=np.float32)
            self.embedded += len(chunk)
            new: list[tuple[int, str, F32]] = []
            for g, v in zip(chunk, vecs, strict=True):
                for i in g:
                    rows[i] = v
                    key = keys[i] if keys is not None else None
                    if key is not None:
                        new.append((key, hashes[i], v))
            if self.store is not None and new:
                self.store.save(new, model)
        dim = len(next(iter(rows.values()))) if rows else 0
        out = np.zeros((n, dim), dtype=np.float32)
        for i, v in rows.items():
            out[i] = v
        return out
