"""The phrase rules of the conversation facts, loaded once from ``butterfly/data/certainty_rules.yaml``."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import yaml

LANGUAGES = ("en", "zh-CN", "zh-TW")
KINDS = ("commitment", "time", "future", "vague", "schedule", "past", "news", "cost")
_CJK = re.compile(r"[\u3400-\u9fff]")


@dataclass(frozen=True)
class Rules:
    """One language's compiled patterns, by kind."""

    patterns: dict[str, tuple[re.Pattern[str], ...]]

    def find(self, kind: str, text: str) -> re.Match[str] | None:
        for pattern in self.patterns[kind]:
            match = pattern.search(text)
            if match is not None:
                return match
        return None


@lru_cache(maxsize=1)
def all_rules() -> dict[str, Rules]:
    source = resources.files("butterfly") / "data" / "certainty_rules.yaml"
    raw = yaml.safe_load(source.read_text(encoding="utf-8"))  # shipped with butterfly, not user input
    out = {}
    for lang in LANGUAGES:
        kinds = raw[lang]
        out[lang] = Rules({k: tuple(re.compile(p, re.IGNORECASE) for p in kinds.get(k, ())) for k in KINDS})
    return out


def language_of(text: str) -> str:
    """``en`` for text without Chinese characters, else ``zh`` (simplified and traditional share one rule set:
    a reply mixes them, and many characters are the same in both)."""
    return "zh" if _CJK.search(text) else "en"


@lru_cache(maxsize=1)
def _chinese() -> Rules:
    cn, tw = all_rules()["zh-CN"], all_rules()["zh-TW"]
    return Rules({k: cn.patterns[k] + tw.patterns[k] for k in KINDS})


def rules_for(text: str) -> Rules:
    return _chinese() if language_of(text) == "zh" else all_rules()["en"]
