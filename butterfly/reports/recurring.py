"""Grouping tickets into problems: by what customers write, split by category.

The default method, ``tfidf`` (``problems``), compares subject + description by TF-IDF over character n-grams
(``butterfly.similarity.tfidf``: folded for width and traditional/simplified Chinese, 1-2-grams for CJK, 3-5-grams
inside words otherwise) and clusters them by average linkage (``butterfly.similarity.linkage``), which does not
chain:

- the **category** (category › subcategory, compared loosely) is a blocking key: within a category text splits
  tickets into problems (average cosine >= ``threshold``); tickets of different categories link only when their
  texts are strongly alike (cosine >= ``strong``); a ticket without a category is compared with every other;
- tickets without any text group by their category key (category, subcategory and tags);
- each problem has **variants**: the same clustering cut at ``variant_threshold``, and for tickets without text
  their tag set (the ServiceNow symptom), so ``Category 32 › Subcategory 9`` with three symptoms is one problem
  with three variants.

The older methods stay for the benchmark (``benchmarks/bench_similarity.py``): ``hybrid`` links tickets that
share a category key *or* whose texts are near-duplicates; in it two tickets belong to the same problem when

- they have the same **category key** (category, subcategory and tag set, normalised), or
- their **subjects**, or their **subjects + descriptions**, normalised, are near-duplicates: estimated Jaccard
  similarity of character n-grams (CJK bigrams, other trigrams) of at least ``threshold`` (MinHash/LSH, see
  ``textsim``).

Groups are the connected components of those links. ``subject`` (exact normalised subject) is the baseline,
``text`` uses the near-duplicate text links only and ``category`` the category key only.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from butterfly.reports.group_input import GroupInput, category_key
from butterfly.reports.problems import problems
from butterfly.reports.textsim import SimilarityParams, cluster_texts, components, normalise
from butterfly.similarity.engine import EmbeddingEngine

__all__ = ["DEFAULT_METHOD", "METHODS", "GroupInput", "category_key", "group_hierarchy", "group_labels", "groups_of"]

METHODS = ("tfidf", "hybrid", "text", "category", "subject")
DEFAULT_METHOD = "tfidf"


def ticket_text(subject: str | None, description: str | None) -> str:
    """The normalised text compared for similarity: subject and description."""
    return normalise(f"{subject or ''} {description or ''}")


def group_labels(
    items: Sequence[GroupInput],
    *,
    method: str = DEFAULT_METHOD,
    params: SimilarityParams | None = None,
    engine: EmbeddingEngine | None = None,
) -> list[int]:
    """A group label per item (the smallest index in its group); items alone in a group keep their own. With
    ``method="tfidf"`` an ``engine`` compares English text by sentence embeddings (``butterfly.similarity``)."""
    if method not in METHODS:
        raise ValueError(f"unknown grouping method {method!r}; use one of {', '.join(METHODS)}")
    n = len(items)
    if n == 0:
        return []
    if method == "tfidf":
        return problems(items, engine=engine).problem
    idx = np.arange(n, dtype=np.int64)
    left: list[np.ndarray] = [idx]
    right: list[np.ndarray] = [idx]
    if method == "subject":
        first: dict[str, int] = {}
        link = np.array(
            [first.setdefault(s, i) if s else i for i, s in enumerate(normalise(it.subject) for it in items)]
        )
        left.append(idx)
        right.append(link.astype(np.int64))
    if method in ("hybrid", "category"):
        seen: dict[str, int] = {}
        keys = (category_key(it.category, it.subcategory, it.tags) for it in items)
        link = np.array([seen.setdefault(k, i) if k else i for i, k in enumerate(keys)], dtype=np.int64)
        left.append(idx)
        right.append(link)
    if method in ("hybrid", "text"):
        # near-duplicate subjects, and near-duplicate subject + description (one ticket may have a description
        # the other lacks, so each comparison links on its own)
        subjects = [normalise(it.subject) for it in items]
        full = [
            f"{subj} {normalise(it.description)}".strip() if it.description else ""
            for subj, it in zip(subjects, items, strict=True)
        ]
        for texts in (subjects, full):
            present = np.array([i for i, t in enumerate(texts) if t], dtype=np.int64)
            if len(present):
                labels = cluster_texts([texts[i] for i in present], params=params)
                left.append(present)
                right.append(present[labels])
    labels_all = components(n, np.concatenate(left), np.concatenate(right))
    return [int(v) for v in labels_all]


def group_hierarchy(
    items: Sequence[GroupInput], *, method: str = DEFAULT_METHOD, engine: EmbeddingEngine | None = None
) -> tuple[list[int], list[int]]:
    """(problem label, variant label) per item: variants split a problem (``tfidf``, with an optional embedding
    ``engine``); other methods have one variant per problem."""
    if method == "tfidf":
        found = problems(items, engine=engine)
        return found.problem, found.variant
    labels = group_labels(items, method=method)
    return labels, labels


def groups_of(labels: Sequence[int]) -> list[list[int]]:
    """Item indices per group, groups in order of their first item."""
    out: dict[int, list[int]] = {}
    for i, label in enumerate(labels):
        out.setdefault(label, []).append(i)
    return list(out.values())
