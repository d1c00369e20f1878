"""How well does recurring-problem grouping match real labels? Pairwise precision/recall/F1 and the adjusted Rand
index of each grouping method against the exact-normalised-subject baseline. ``bench_similarity.py`` is the fuller
benchmark (issues found, the similar-ticket panel, more baselines, the Chinese set, threshold sweeps).

    python benchmarks/bench_recurring.py            # both real data sets (../shared/data/real)
    python benchmarks/bench_recurring.py --quick    # the same (they are small); kept for the --quick convention

Data sets (read from ../shared/data/real, never copied):

- ``test.json``: 500 Twitter customer-care threads; label = ``agentURL.doc_id`` (the support article that resolved
  it: same article ~ same problem); subject = the client's first message, description = the client's other
  messages. Scored without a category, and with the support account (``HPSupport`` …) as the category.
- ``incident_event_log.csv``: 890 ServiceNow incidents (last state of each), imported as ``butterfly import``
  maps them (category, subcategory, symptom as a tag, no text). Labels: ``problem_id`` (the 47 incidents that
  have one) and category/subcategory/symptom (all 890; the category-based methods see that label directly).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import time
from collections import Counter
from math import comb
from pathlib import Path

from butterfly.reports.recurring import METHODS, GroupInput, group_labels

REAL = Path(
    os.environ.get("BUTTERFLY_REAL_DATA") or Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "real"
)


def pair_scores(pred: list[int], gold: list[str]) -> dict[str, float]:
    """Pairwise precision, recall, F1 and adjusted Rand index of ``pred`` against ``gold``."""
    n = len(gold)
    both = sum(comb(v, 2) for v in Counter(zip(pred, gold, strict=True)).values())
    pred_pairs = sum(comb(v, 2) for v in Counter(pred).values())
    gold_pairs = sum(comb(v, 2) for v in Counter(gold).values())
    precision = both / pred_pairs if pred_pairs else 1.0
    recall = both / gold_pairs if gold_pairs else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    expected = pred_pairs * gold_pairs / comb(n, 2) if n > 1 else 0.0
    top = (pred_pairs + gold_pairs) / 2
    ari = (both - expected) / (top - expected) if top != expected else 1.0
    return {"precision": precision, "recall": recall, "f1": f1, "ari": ari, "groups": len(set(pred))}


def twitter(path: Path, with_company: bool) -> tuple[list[GroupInput], list[str]]:
    items, labels = [], []
    for conv in json.loads(path.read_text(encoding="utf-8")):
        client = [m["message"] for m in conv["dialogContent"] if "client" in m or "client1" in m]
        items.append(
            GroupInput(
                subject=client[0] if client else "",
                description=" ".join(client[1:]),
                category=conv["dialogHeader"]["company"] if with_company else None,
            )
        )
        labels.append(conv["agentURL"]["doc_id"])
    return items, labels


def incidents(path: Path) -> tuple[list[GroupInput], list[str], list[str | None]]:
    last: dict[str, dict[str, str]] = {}
    with path.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            last[row["number"]] = row
    items, path_labels, problems = [], [], []
    for row in last.values():

        def val(key: str, row: dict[str, str] = row) -> str | None:
            return None if row[key] in ("?", "") else row[key]

        symptom = val("u_symptom")
        items.append(GroupInput(None, None, val("category"), val("subcategory"), [symptom] if symptom else []))
        path_labels.append(f"{row['category']}/{row['subcategory']}/{row['u_symptom']}")
        problems.append(val("problem_id"))
    return items, path_labels, problems


def report(name: str, items: list[GroupInput], gold: list[str]) -> dict[str, dict[str, float]]:
    print(f"\n{name}: {len(items)} tickets, {len(set(gold))} labels")
    print(f"  {'method':<10} {'precision':>9} {'recall':>7} {'F1':>6} {'ARI':>6} {'groups':>7} {'time':>8}")
    out = {}
    for method in ("subject", *[m for m in METHODS if m != "subject"]):
        started = time.perf_counter()
        pred = group_labels(items, method=method)
        elapsed = time.perf_counter() - started
        s = pair_scores(pred, gold)
        out[method] = s
        tag = " (baseline)" if method == "subject" else ""
        print(
            f"  {method:<10} {s['precision']:>9.3f} {s['recall']:>7.3f} {s['f1']:>6.3f} {s['ari']:>6.3f} "
            f"{int(s['groups']):>7} {elapsed * 1000:>6.0f}ms{tag}"
        )
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="same run (the data sets are small)")
    parser.parse_args()
    tw, log = REAL / "test.json", REAL / "incident_event_log.csv"
    if not tw.exists() or not log.exists():
        print(f"real data not found in {REAL}", file=sys.stderr)
        return 2
    results = {}
    items, gold = twitter(tw, with_company=False)
    results["twitter"] = report("test.json (label doc_id; text only)", items, gold)
    items, gold = twitter(tw, with_company=True)
    results["twitter+company"] = report("test.json (label doc_id; support account as category)", items, gold)
    items, path_labels, problems = incidents(log)
    results["servicenow/path"] = report(
        "incident_event_log.csv (label category/subcategory/symptom)", items, path_labels
    )
    with_problem = [i for i, p in enumerate(problems) if p]
    results["servicenow/problem"] = report(
        "incident_event_log.csv (label problem_id, incidents that have one)",
        [items[i] for i in with_problem],
        [problems[i] or "" for i in with_problem],
    )
    print("\nbest method by ARI:")
    for name, scores in results.items():
        best = max(scores, key=lambda m: scores[m]["ari"])
        base = scores["subject"]["ari"]
        print(f"  {name:<20} {best:<9} ARI {scores[best]['ari']:.3f} vs baseline {base:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
