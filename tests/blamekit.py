"""The labelled blame corpus (``tests/data/blame_corpus.yaml``) and its scores, shared by
``tests/test_blame_corpus.py`` and ``benchmarks/bench_blame.py``."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

CORPUS = Path(__file__).resolve().parent / "data" / "blame_corpus.yaml"
FRESH = Path(__file__).resolve().parent / "data" / "blame_corpus_fresh.yaml"
LANGUAGES = ("zh-CN", "zh-TW", "en")
HELD_OUT = frozenset({1, 4, 7})
FRESH_ROUNDS = 5  # rounds in blame_corpus_fresh.yaml the rules were changed for (round 6 is held out: never tuned for)


@dataclass(frozen=True)
class Item:
    lang: str
    blame: bool
    index: int
    text: str
    round: str = "main"  # "main" (blame_corpus.yaml) or "fresh-N" (blame_corpus_fresh.yaml)

    @property
    def held_out(self) -> bool:
        return self.round == "main" and self.index % 10 in HELD_OUT

    @property
    def ref(self) -> str:
        where = "" if self.round == "main" else f"{self.round}:"
        return f"{where}{self.lang}/{'blame' if self.blame else 'blameless'}[{self.index}]"


def load(path: Path = CORPUS) -> list[Item]:
    """The main corpus (300 answers)."""
    import yaml

    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return [
        Item(lang, label == "blame", i, str(text))
        for lang in LANGUAGES
        for label in ("blame", "blameless")
        for i, text in enumerate(data[lang][label])
    ]


def load_fresh(path: Path = FRESH) -> list[Item]:
    """Every fresh round written after the rules were frozen (keys ``zh-CN`` …, ``zh-CN-2`` …, ``zh-CN-3`` …)."""
    import yaml

    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    items = []
    for key, labelled in data.items():
        found = re.fullmatch(r"(zh-CN|zh-TW|en)(?:-(\d+))?", str(key))
        if found is None:
            raise ValueError(f"{path}: unexpected key {key!r} (zh-CN, zh-TW or en, then -N for round N)")
        lang, n = found.group(1), found.group(2)
        for label in ("blame", "blameless"):
            for i, text in enumerate(labelled[label]):
                items.append(Item(lang, label == "blame", i, str(text), round=f"fresh-{n or 1}"))
    return items


def tuned_on(item: Item) -> bool:
    """Whether the rules were changed for this item's round (main corpus, or a fresh round up to FRESH_ROUNDS)."""
    return item.round == "main" or int(item.round.removeprefix("fresh-")) <= FRESH_ROUNDS


@dataclass(frozen=True)
class Score:
    tp: int
    fp: int
    fn: int
    tn: int

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0


def score(items: Iterable[Item], detect: Callable[[str], bool]) -> tuple[Score, list[Item], list[Item]]:
    """Counts, and the false alarms and misses."""
    tp = fp = fn = tn = 0
    false_alarms: list[Item] = []
    misses: list[Item] = []
    for item in items:
        said = detect(item.text)
        if said and item.blame:
            tp += 1
        elif said:
            fp += 1
            false_alarms.append(item)
        elif item.blame:
            fn += 1
            misses.append(item)
        else:
            tn += 1
    return Score(tp, fp, fn, tn), false_alarms, misses
