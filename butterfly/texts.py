"""Texts shown to users, kept in data files (``butterfly/data/*.yaml``) in zh-CN, zh-TW and en.

A text file is ``{version, texts: {key: {zh-CN: …, zh-TW: …, en: …}}}``; a key without all three languages is
a problem naming the file and the key. ``{placeholders}`` are filled in by :func:`lookup`.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

from butterfly.errors import FileProblemsError, NotFoundError, Problem

LANGUAGES = ("zh-CN", "zh-TW", "en")


@lru_cache(maxsize=8)
def load_texts(filename: str) -> dict[str, dict[str, str]]:
    """``{key: {lang: text}}`` from ``butterfly/data/<filename>`` (whitespace runs folded to one space)."""
    import yaml

    source = resources.files("butterfly") / "data" / filename
    name = str(source)
    try:
        data = yaml.safe_load(source.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise FileProblemsError(name, [Problem(name, f"not valid YAML: {exc}")]) from None
    texts = data.get("texts") if isinstance(data, dict) else None
    if not isinstance(texts, dict):
        raise FileProblemsError(name, [Problem(name, "needs a 'texts' mapping")])
    problems = []
    for key, by_lang in texts.items():
        if not isinstance(by_lang, dict) or any(not str(by_lang.get(lang) or "").strip() for lang in LANGUAGES):
            problems.append(Problem(name, "needs a text in zh-CN, zh-TW and en", field=f"texts.{key}"))
    if problems:
        raise FileProblemsError(name, problems)
    return {str(k): {lang: " ".join(str(v[lang]).split()) for lang in LANGUAGES} for k, v in texts.items()}


def lookup(filename: str, key: str, lang: str, **values: object) -> str:
    """The text ``key`` of ``filename`` in ``lang`` with ``{placeholders}`` filled in."""
    if lang not in LANGUAGES:
        raise NotFoundError(f"unknown language '{lang}'", hint="use one of: " + ", ".join(LANGUAGES))
    try:
        template = load_texts(filename)[key][lang]
    except KeyError:
        raise NotFoundError(f"no text '{key}' in {filename}") from None
    return template.format(**values) if values else template


def ui(key: str, lang: str, **values: object) -> str:
    """A text of the review walk (``butterfly/data/walk.yaml``)."""
    return lookup("walk.yaml", key, lang, **values)
