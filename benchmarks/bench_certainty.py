"""Precision and recall of the "definite plan with a time" rule (butterfly.conversation.facts.gives_plan) on the
labelled agent replies in tests/data/agent_replies*.yaml, per language, next to a naive baseline: "the reply
mentions a time" (the time patterns alone, without the commitment, question, past-tense and vague checks).

    python benchmarks/bench_certainty.py

Goal: precision >= 0.85 and recall >= 0.85 in each language.
"""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

from butterfly.conversation.facts import gives_plan
from butterfly.conversation.rules import rules_for

DATA = Path(__file__).resolve().parent.parent / "tests" / "data"
CORPORA = {
    "agent_replies.yaml (the rules were tuned on it)": DATA / "agent_replies.yaml",
    "agent_replies_fresh.yaml (round 2: scored once, then the rule changed)": DATA / "agent_replies_fresh.yaml",
    "agent_replies_round3.yaml (round 3: written after the rules were final, never tuned on)": DATA
    / "agent_replies_round3.yaml",
    "agent_replies_round4.yaml (round 4: 60 per language, committed before the rules changed)": DATA
    / "agent_replies_round4.yaml",
    "agent_replies_round5.yaml (round 5: scored once after the round-4 change, then tuned on in round 6's change)": DATA
    / "agent_replies_round5.yaml",
    "agent_replies_round6.yaml (round 6: committed before the round-6 change, never tuned on: the held-out figure)": DATA
    / "agent_replies_round6.yaml",
}


def scores(pairs: list[tuple[bool, bool]]) -> tuple[float, float, int, int, int]:
    tp = sum(1 for truth, said in pairs if truth and said)
    fp = sum(1 for truth, said in pairs if said and not truth)
    fn = sum(1 for truth, said in pairs if truth and not said)
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    return precision, recall, tp, fp, fn


def main() -> int:
    failed = False
    for title, path in CORPORA.items():
        print(f"\n{title}")
        failed |= report(yaml.safe_load(path.read_text(encoding="utf-8")))
    return 1 if failed else 0


def report(corpus: dict[str, list[dict[str, object]]]) -> bool:
    print(
        f"{'language':9} {'n':>4} | {'rule P':>7} {'rule R':>7} {'fp':>3} {'fn':>3} | {'baseline P':>10} {'baseline R':>10}"
    )
    failed = False
    misses = []
    for lang, items in corpus.items():
        rule, base = [], []
        for item in items:
            text, truth = str(item["text"]), bool(item["plan"])
            said = gives_plan(text) is not None
            rule.append((truth, said))
            base.append((truth, rules_for(text).find("time", text) is not None))
            if said != truth:
                misses.append((lang, truth, text))
        p, r, _tp, fp, fn = scores(rule)
        bp, br, *_ = scores(base)
        failed |= p < 0.85 or r < 0.85
        print(f"{lang:9} {len(items):4} | {p:7.2f} {r:7.2f} {fp:3} {fn:3} | {bp:10.2f} {br:10.2f}")
    for lang, truth, text in misses:
        print(f"  {'missed' if truth else 'false alarm'} [{lang}] {text}")
    return failed


if __name__ == "__main__":
    sys.exit(main())
