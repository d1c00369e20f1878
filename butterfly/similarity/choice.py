"""The similarity engine a command uses: its ``--similarity`` option, else the ``[similarity] engine`` setting
(``BUTTERFLY_SIMILARITY__ENGINE``), else ``tfidf``; and the engine object for it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from butterfly.errors import InvalidInputError
from butterfly.similarity.engine import DEFAULT_ENGINE, ENGINES, EmbeddingEngine

if TYPE_CHECKING:
    from sqlmodel import Session


def engine_name(name: str | None = None) -> str:
    """``name``, else the settings' engine; an unknown name is an error."""
    if name is None:
        from butterfly.settings import get_settings

        name = get_settings().similarity.engine
    name = name or DEFAULT_ENGINE
    if name not in ENGINES:
        raise InvalidInputError(f"unknown similarity engine '{name}'", hint="use " + " or ".join(ENGINES))
    return name


def make_engine(name: str | None = None, *, session: Session | None, lang: str = "en") -> EmbeddingEngine | None:
    """``None`` for ``tfidf``; for ``embeddings`` the model (loaded once per process) with the database's vector
    cache when a session is given. Without the extra: ``embeddings.EmbeddingsUnavailable`` in ``lang``."""
    if engine_name(name) == "tfidf":
        return None
    from butterfly.similarity.embeddings import load_encoder

    encoder = load_encoder(lang)
    store = None
    if session is not None:
        from butterfly.similarity.vector_cache import DbVectorStore

        store = DbVectorStore(session)
    return EmbeddingEngine(encoder, store)
