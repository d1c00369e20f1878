"""Words butterfly shows around the content, in zh-CN, zh-TW and en, from the data files in ``butterfly/data/``.

``report_labels.yaml`` holds the reports' headings and labels (:func:`labels`), ``checklist_labels.yaml`` the
words of the printable checklist forms (:func:`form_labels`). Each file maps a key to its text in every
language; a missing text, or a stray key (what an unquoted ASCII comma inside a YAML flow mapping leaves behind,
with the text cut before it), is an error naming the file and the key.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from importlib import resources

from butterfly.errors import FileProblemsError, NotFoundError, Problem
from butterfly.yamlload import load_yaml

LANGUAGES = ("zh-CN", "zh-TW", "en")


def check_labels(data: object, source: str) -> dict[str, dict[str, str]]:
    """A label file's data, or every problem in it: each key maps exactly the languages to non-empty texts."""
    problems = []
    if not isinstance(data, dict):
        problems.append(Problem(source, "must be a mapping of label keys"))
        data = {}
    for key, texts in data.items():
        if not isinstance(texts, dict):
            problems.append(Problem(source, "must map each language to a text", field=str(key)))
            continue
        for lang in LANGUAGES:
            if not isinstance(texts.get(lang), str) or not texts[lang].strip():
                problems.append(Problem(source, f"missing text for {lang}", field=str(key)))
        for extra in sorted(set(texts) - set(LANGUAGES), key=str):
            problems.append(
                Problem(source, f"unexpected key '{extra}' (quote a text that holds a comma)", field=str(key))
            )
    if problems:
        raise FileProblemsError(source, problems)
    return data


@lru_cache(maxsize=4)
def _label_file(name: str) -> dict[str, dict[str, str]]:
    source = resources.files("butterfly") / "data" / name
    data, _ = load_yaml(source.read_text(encoding="utf-8"), filename=str(source))
    return check_labels(data, str(source))


@lru_cache(maxsize=4)
def text_file(name: str) -> dict[str, dict[str, str]]:
    """A file of sentences under a ``texts:`` key (``guards.yaml``, ``walk.yaml``); runs of whitespace folded (a
    long text may be a YAML block)."""
    source = resources.files("butterfly") / "data" / name
    data, _ = load_yaml(source.read_text(encoding="utf-8"), filename=str(source))
    texts = check_labels(data.get("texts") if isinstance(data, dict) else None, str(source))
    return {str(k): {lang: " ".join(v[lang].split()) for lang in LANGUAGES} for k, v in texts.items()}


def text(name: str, key: str, lang: str, **values: object) -> str:
    """The text ``key`` of the text file ``name`` in ``lang``, ``{placeholders}`` filled in."""
    if lang not in LANGUAGES:
        raise NotFoundError(f"unknown language '{lang}'", hint="use one of: " + ", ".join(LANGUAGES))
    try:
        template = text_file(name)[key][lang]
    except KeyError:
        raise NotFoundError(f"no text '{key}' in {name}") from None
    return template.format(**values) if values else template


def join_items(items: Iterable[str], lang: str) -> str:
    """Items of an inline list: with the enumeration comma (、) in Chinese, ", " in English."""
    return ("、" if lang.startswith("zh") else ", ").join(items)


def ui(key: str, lang: str, **values: object) -> str:
    """A text of the review walk (``walk.yaml``: prompts, keys, the context panel, the summary, the queue)."""
    return text("walk.yaml", key, lang, **values)


@lru_cache(maxsize=1)
def _command_texts() -> dict[str, dict[str, str]]:
    """``command_texts.yaml`` as written: its lines keep their leading and inner spaces (aligned columns)."""
    source = resources.files("butterfly") / "data" / "command_texts.yaml"
    data, _ = load_yaml(source.read_text(encoding="utf-8"), filename=str(source))
    return check_labels(data.get("texts") if isinstance(data, dict) else None, str(source))


def command_text(key: str, lang: str, **values: object) -> str:
    """A line of ``butterfly check`` or ``butterfly checklist diff`` (``command_texts.yaml``) in ``lang``; ``{s}``
    is the English plural ending, filled in from ``n`` when not given."""
    if lang not in LANGUAGES:
        raise NotFoundError(f"unknown language '{lang}'", hint="use one of: " + ", ".join(LANGUAGES))
    try:
        template = _command_texts()[key][lang]
    except KeyError:
        raise NotFoundError(f"no text '{key}' in command_texts.yaml") from None
    if "n" in values and "s" not in values:
        values["s"] = "" if values["n"] == 1 else "s"
    return template.format(**values) if values else template


def _in_language(name: str, lang: str) -> dict[str, str]:
    if lang not in LANGUAGES:
        raise NotFoundError(f"unknown language '{lang}'", hint="use one of: " + ", ".join(LANGUAGES))
    return {key: texts[lang] for key, texts in _label_file(name).items()}


def labels(lang: str) -> dict[str, str]:
    """Every report label in ``lang`` (zh-CN, zh-TW or en)."""
    return _in_language("report_labels.yaml", lang)


def form_labels(lang: str) -> dict[str, str]:
    """The words of the printable checklist forms in ``lang`` (zh-CN, zh-TW or en)."""
    return _in_language("checklist_labels.yaml", lang)
