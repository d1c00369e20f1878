"""Words butterfly shows around the content, in zh-CN, zh-TW and en, from the data files in ``butterfly/data/``.

``report_labels.yaml`` holds the reports' headings and labels (:func:`labels`), ``checklist_labels.yaml`` the
words of the printable checklist forms (:func:`form_labels`). Each file maps a key to its text in every
language; a missing text is an error naming the file and the key.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

from butterfly.errors import FileProblemsError, NotFoundError, Problem
from butterfly.yamlload import load_yaml

LANGUAGES = ("zh-CN", "zh-TW", "en")


@lru_cache(maxsize=4)
def _label_file(name: str) -> dict[str, dict[str, str]]:
    source = resources.files("butterfly") / "data" / name
    data, _ = load_yaml(source.read_text(encoding="utf-8"), filename=str(source))
    problems = []
    if not isinstance(data, dict):
        problems.append(Problem(str(source), "must be a mapping of label keys"))
        data = {}
    for key, texts in data.items():
        if not isinstance(texts, dict):
            problems.append(Problem(str(source), "must map each language to a text", field=str(key)))
            continue
        for lang in LANGUAGES:
            if not isinstance(texts.get(lang), str) or not texts[lang].strip():
                problems.append(Problem(str(source), f"missing text for {lang}", field=str(key)))
    if problems:
        raise FileProblemsError(str(source), problems)
    return data


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
