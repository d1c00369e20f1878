"""Precision and recall of the blame-wording guard (butterfly/review/blame.py) per language, on the labelled corpus
``tests/data/blame_corpus.yaml`` (300 review answers: 100 each zh-CN, zh-TW, en; half blaming a person, half
blameless but naming people).

    python benchmarks/bench_blame.py             # tuning part, held-out part (30%), whole corpus, fresh rounds
    python benchmarks/bench_blame.py --errors    # also list every false alarm and miss

``tests/data/blame_corpus_fresh.yaml`` holds smaller rounds (60, 30, 30 … answers), each written after the rules
were frozen and scored once before the rules were changed for it (their first scores are in the README guard
section); a round the rules were not yet changed for is scored here as well. Round 6 (``fresh-6``, 120 answers) is
the held-out test of the generalised rules: written before them and never tuned for.

Goal (issue #14): precision >= 0.9 and recall >= 0.85 in each language. Exit code 1 when a language of the whole
corpus is below the goal.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

from blamekit import LANGUAGES, load, load_fresh, score  # noqa: E402

from butterfly.review.blame import has_blame  # noqa: E402

PRECISION_GOAL = 0.9
RECALL_GOAL = 0.85


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--errors", action="store_true", help="list false alarms and misses")
    args = parser.parse_args()
    items = load()
    fresh = load_fresh()
    has_blame("warm up: compile the rules")
    started = time.perf_counter()
    for item in items:
        has_blame(item.text)
    per_answer_ms = (time.perf_counter() - started) * 1000 / len(items)
    parts = {
        "tuning": [i for i in items if not i.held_out],
        "held-out": [i for i in items if i.held_out],
        "full": items,
        **{r: [i for i in fresh if i.round == r] for r in sorted({i.round for i in fresh})},
    }
    print(f"{'part':<9} {'language':<6} {'n':>4} {'TP':>3} {'FP':>3} {'FN':>3} {'precision':>9} {'recall':>6}")
    below = []
    for part, part_items in parts.items():
        for lang in LANGUAGES:
            chosen = [i for i in part_items if i.lang == lang]
            s, false_alarms, misses = score(chosen, has_blame)
            print(
                f"{part:<9} {lang:<6} {len(chosen):>4} {s.tp:>3} {s.fp:>3} {s.fn:>3} "
                f"{s.precision:>9.2f} {s.recall:>6.2f}"
            )
            if part == "full" and (s.precision < PRECISION_GOAL or s.recall < RECALL_GOAL):
                below.append(lang)
            if args.errors:
                for item in false_alarms:
                    print(f"    false alarm {item.ref}: {item.text}")
                for item in misses:
                    print(f"    missed      {item.ref}: {item.text}")
    print(f"\n{per_answer_ms:.2f} ms per answer (mean over {len(items)} answers, one run)")
    if below:
        print(f"below the goal (precision >= {PRECISION_GOAL}, recall >= {RECALL_GOAL}): {', '.join(below)}")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
