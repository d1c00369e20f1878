"""Report headings and labels in zh-CN, zh-TW and en, from ``butterfly/data/report_labels.yaml``."""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

from butterfly.errors import FileProblemsError, NotFoundError, Problem
from butterfly.yamlload import load_yaml

LANGUAGES = ("zh-CN", "zh-TW", "en")


@lru_cache(maxsize=1)
def _all_labels() -> dict[str, dict[str, str]]:
    source = resources.files("butterfly") / "data" / "report_labels.yaml"
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


def labels(lang: str) -> dict[str, str]:
    """Every report label in ``lang`` (zh-CN, zh-TW or en)."""
    if lang not in LANGUAGES:
        raise NotFoundError(f"unknown language '{lang}'", hint="use one of: " + ", ".join(LANGUAGES))
    return {key: texts[lang] for key, texts in _all_labels().items()}
