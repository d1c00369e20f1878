"""Does the grouping find the same problem at different customers, and does the walk's similar-ticket panel show
it? Every method against real labels, next to baselines, in one run.

    python benchmarks/bench_similarity.py              # all data sets, default parameters
    python benchmarks/bench_similarity.py --sweep      # + thresholds swept on tune/held-out halves of test.json
    python benchmarks/bench_similarity.py --speed      # + grouping 20,000 generated tickets (timed, 5 runs)
    python benchmarks/bench_similarity.py --embeddings # + the optional embeddings engine (bench_similarity_engine.py)

Scores per method: pairwise precision / recall / F1 and the adjusted Rand index (ARI) against the labels;
**issues found**: a label with >= 3 tickets is found when one predicted group holds >= 2 of its tickets and they
are at least half of that group. **hit@5** of the similar-ticket panel: for each ticket that has an earlier
ticket with the same label at another customer, whether one of the 5 shown (scored among all earlier tickets at
other customers) has its label.

Data (read in place from ../shared/data/real, or the folder in ``BUTTERFLY_REAL_DATA``; skipped when absent;
never copied):

- ``test.json``: 500 Twitter customer-care threads (25 companies), label = the support article that resolved it
  (``agentURL.doc_id``); subject = the customer's first message, description = the customer's other messages
  (``client`` and ``client1``). Scored as text only, with the company as the category, with the company as the
  organisation (the blocking key when a ticket has no category), and *within company* (groups split by company,
  so pairs across companies do not count; labels never cross companies). Precision, recall, F1 and ARI are over
  all 500 tickets. Baseline "plain TF-IDF per company" is the issue's measurement: the same TF-IDF, full average
  linkage over every pair of tickets of one company (no floor, no neighbour cap, no near-duplicate pass).
  ``--sweep`` tunes on the even-numbered threads and reports the odd ones and all of them too.
- ``incident_event_log.csv``: 890 ServiceNow incidents (last state of each; category, subcategory, symptom, no
  text); labels category/subcategory/symptom and ``problem_id``.
- ``tests/data/zh_complaints.json``: 143 short Chinese complaints in 13 problems, simplified and traditional.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
import unicodedata
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path

from bench_recurring import incidents, pair_scores

from butterfly.reports.problems import ProblemParams, item_text, problems
from butterfly.reports.recurring import GroupInput, group_labels
from butterfly.review.similar import rank_candidates
from butterfly.similarity.linkage import Merge, average_linkage, cut
from butterfly.similarity.tfidf import tfidf

ROOT = Path(__file__).resolve().parent.parent
REAL = Path(os.environ.get("BUTTERFLY_REAL_DATA") or ROOT.parent / "shared" / "data" / "real")
ZH = ROOT / "tests" / "data" / "zh_complaints.json"


@dataclass
class Ticket:
    item: GroupInput
    label: str
    customer: str
    company: str | None = None


def twitter(path: Path) -> list[Ticket]:
    out = []
    for conv in json.loads(path.read_text(encoding="utf-8")):
        msgs = [m for m in conv["dialogContent"] if "client" in m or "client1" in m]
        text = [m["message"] for m in msgs]
        who = msgs[0].get("client") or msgs[0].get("client1") if msgs else conv["dialogHeader"]["sessionID"]
        company = conv["dialogHeader"]["company"]
        item = GroupInput(subject=text[0] if text else "", description=" ".join(text[1:]))
        out.append(Ticket(item, f"{company}/{conv['agentURL']['doc_id']}", str(who), company))
    return out


def chinese(path: Path) -> list[Ticket]:
    rows = json.loads(path.read_text(encoding="utf-8"))["complaints"]
    return [Ticket(GroupInput(subject=r["text"]), r["issue"], r["customer"]) for r in rows]


def issues_found(pred: Sequence[int], gold: Sequence[str], min_size: int = 3) -> tuple[int, int]:
    """(found, total) of labels with >= ``min_size`` tickets (see the module docstring)."""
    sizes = Counter(gold)
    group_size = Counter(pred)
    together = Counter(zip(gold, pred, strict=True))
    wanted = [g for g, k in sizes.items() if k >= min_size]
    found = {g for (g, p), k in together.items() if sizes[g] >= min_size and k >= 2 and 2 * k >= group_size[p]}
    return len(found), len(wanted)


def scores(pred: Sequence[int], gold: Sequence[str]) -> dict[str, float]:
    s = pair_scores(list(pred), list(gold))
    s["found"], s["issues"] = issues_found(pred, gold)
    return s


Method = Callable[[list[Ticket]], list[int]]


def plain_merges(tickets: list[Ticket], lowest: float) -> dict[str | None, tuple[list[int], list[Merge]]]:
    """Plain TF-IDF within company (the issue's baseline): one TF-IDF over all tickets, then full average linkage
    over every pair of one company's tickets, down to ``lowest``."""
    import numpy as np

    m = tfidf([item_text(t.item) for t in tickets])
    dense = np.zeros((m.n_rows, m.n_features), dtype=np.float64)
    for i in range(m.n_rows):
        dense[i, m.indices[m.indptr[i] : m.indptr[i + 1]]] = m.data[m.indptr[i] : m.indptr[i + 1]]
    by_company: dict[str | None, list[int]] = {}
    for i, t in enumerate(tickets):
        by_company.setdefault(t.company, []).append(i)
    out = {}
    for company, rows in by_company.items():
        sim = dense[rows] @ dense[rows].T
        left, right = np.triu_indices(len(rows), 1)
        out[company] = (rows, average_linkage(len(rows), left, right, sim[left, right], threshold=lowest))
    return out


def plain_cut(tickets: list[Ticket], merges: dict[str | None, tuple[list[int], list[Merge]]], t: float) -> list[int]:
    pred = [0] * len(tickets)
    for rows, ms in merges.values():
        labels = cut(len(rows), ms, t)
        for local, row in enumerate(rows):
            pred[row] = rows[int(labels[local])]
    return pred


def within_company(tickets: list[Ticket], pred: list[int]) -> list[int]:
    """Groups split by company: pairs across companies do not count."""
    keyed = {(t.company, p): k for k, (t, p) in enumerate(zip(tickets, pred, strict=True))}
    return [keyed[(t.company, p)] for t, p in zip(tickets, pred, strict=True)]


def with_block(tickets: list[Ticket], how: str) -> list[GroupInput]:
    if how == "category":
        return [replace(t.item, category=t.company) for t in tickets]
    if how == "organization":
        return [replace(t.item, organization=t.company) for t in tickets]
    return [t.item for t in tickets]


def methods(block: str, params: ProblemParams) -> dict[str, Method]:
    out: dict[str, Method] = {
        "subject (baseline)": lambda ts: group_labels(with_block(ts, "none"), method="subject"),
    }
    if block == "own":  # the items carry their own categories (ServiceNow)
        out["category key (baseline)"] = lambda ts: group_labels([t.item for t in ts], method="category")
        out["hybrid (old default)"] = lambda ts: group_labels([t.item for t in ts], method="hybrid")
        out["tfidf problems (new default)"] = lambda ts: problems([t.item for t in ts], params).problem
        out["tfidf variants (new default)"] = lambda ts: problems([t.item for t in ts], params).variant
        return out
    if block != "none":
        first: dict[str | None, int] = {}
        out["one per company (baseline)"] = lambda ts: [first.setdefault(t.company, i) for i, t in enumerate(ts)]
    out["hybrid (old default)"] = lambda ts: group_labels(with_block(ts, block), method="hybrid")
    out["tfidf, no blocks (baseline)"] = lambda ts: problems(with_block(ts, "none"), params).problem
    if block != "none":
        out["tfidf + blocks (new default)"] = lambda ts: problems(with_block(ts, block), params).problem
        out["plain TF-IDF per company"] = lambda ts: plain_cut(ts, plain_merges(ts, params.threshold), params.threshold)
    return out


def score_set(name: str, tickets: list[Ticket], block: str, params: ProblemParams, within: bool = False) -> None:
    gold = [t.label for t in tickets]
    print(f"\n{name}: {len(tickets)} tickets, {len(set(gold))} labels")
    print(f"  {'method':<30} {'P':>6} {'R':>6} {'F1':>6} {'ARI':>6} {'found':>7} {'groups':>6} {'time':>7}")
    for mname, method in methods(block, params).items():
        started = time.perf_counter()
        pred = method(tickets)
        elapsed = time.perf_counter() - started
        if within:
            pred = within_company(tickets, pred)
        s = scores(pred, gold)
        print(
            f"  {mname:<30} {s['precision']:>6.3f} {s['recall']:>6.3f} {s['f1']:>6.3f} {s['ari']:>6.3f} "
            f"{int(s['found']):>3}/{int(s['issues']):<3} {int(s['groups']):>6} {elapsed * 1000:>5.0f}ms"
        )


# -- the similar-ticket panel --------------------------------------------------------------------------------


@cache
def _grams(text: str | None) -> frozenset[str]:
    """The panel before #15 (baseline): character 2- and 3-grams of the normalised subject."""
    t = " ".join(
        "".join(ch if ch.isalnum() else " " for ch in unicodedata.normalize("NFKC", text or "").lower()).split()
    )
    if len(t) < 3:
        return frozenset((t,)) if t else frozenset()
    return frozenset([t[i : i + 2] for i in range(len(t) - 1)] + [t[i : i + 3] for i in range(len(t) - 2)])


def gram_similarity_legacy(a: str | None, b: str | None) -> float:
    """Mean of Dice and overlap coefficients of the n-gram sets (overlap only from 4 n-grams on), as before."""
    ga, gb = _grams(a), _grams(b)
    if not ga or not gb:
        return 0.0
    common = len(ga & gb)
    dice = 2 * common / (len(ga) + len(gb))
    shorter = min(len(ga), len(gb))
    return dice if shorter < 4 else (dice + common / shorter) / 2


def panel_hits(tickets: list[Ticket], rank: Callable[[int, list[int]], list[int]]) -> tuple[float, int]:
    """hit@5 over tickets with an earlier same-label ticket at another customer; candidates: all earlier tickets
    at other customers (the panel's own candidate query reads 2,000: the 1,000 newest of the category and the 1,000 closed just before)."""
    hits = total = 0
    for i, t in enumerate(tickets):
        cands = [j for j in range(i) if tickets[j].customer != t.customer]
        if not any(tickets[j].label == t.label for j in cands):
            continue
        total += 1
        shown = rank(i, cands)[:5]
        hits += any(tickets[j].label == t.label for j in shown)
    return (hits / total if total else 0.0), total


def panel(name: str, tickets: list[Ticket], use_company: bool) -> None:
    rng = random.Random(15)

    def cat(t: Ticket) -> str | None:
        return t.company if use_company else None

    def legacy(i: int, cands: list[int]) -> list[int]:
        t = tickets[i]
        scored = []
        for j in cands:
            c = tickets[j]
            same = cat(t) is not None and cat(c) == cat(t)
            sim = gram_similarity_legacy(t.item.subject, c.item.subject)
            if same or sim >= 0.3:
                scored.append((sim + (0.5 if same else 0.0), j))
        scored.sort(key=lambda s: (-s[0], -s[1]))
        return [j for _, j in scored]

    def new(i: int, cands: list[int]) -> list[int]:
        t = tickets[i]
        ranked = rank_candidates(
            (t.item.subject, t.item.description, cat(t)),
            [(tickets[j].item.subject, tickets[j].item.description, cat(tickets[j])) for j in cands],
        )
        return [cands[r[0]] for r in ranked]

    print(f"\n{name}: similar-ticket panel, hit@5")
    for mname, fn in (
        ("random 5 earlier (baseline)", lambda i, c: rng.sample(c, min(5, len(c)))),
        ("old panel (subject n-grams)", legacy),
        ("tfidf panel (new)", new),
    ):
        started = time.perf_counter()
        hit, total = panel_hits(tickets, fn)
        print(f"  {mname:<30} {hit:>6.3f} over {total} tickets ({(time.perf_counter() - started) * 1000:.0f} ms)")


# -- tuning -------------------------------------------------------------------------------------------------


SWEEP = [round(0.02 + 0.01 * k, 2) for k in range(19)] + [0.25, 0.3]


def sweep(tw: list[Ticket], zh: list[Ticket], wanted: int = 14) -> None:
    """F1 / issues found per problem threshold, butterfly's grouping (company as organisation) and plain TF-IDF per
    company, scored within company on the even threads (tuning), the odd ones and all; the Chinese set too."""
    halves = {"tune (even)": tw[0::2], "held-out (odd)": tw[1::2], "all": tw}
    plain = {name: plain_merges(ts, min(SWEEP)) for name, ts in halves.items()}
    results: dict[tuple[str, str], list[tuple[float, float, int, int]]] = {}
    for threshold in SWEEP:
        params = ProblemParams(threshold=threshold, variant_threshold=max(threshold, 0.3))
        for name, ts in halves.items():
            gold = [t.label for t in ts]
            for method, pred in (
                ("butterfly", within_company(ts, problems(with_block(ts, "organization"), params).problem)),
                ("plain", plain_cut(ts, plain[name], threshold)),
            ):
                s = scores(pred, gold)
                results.setdefault((method, name), []).append((threshold, s["f1"], int(s["found"]), int(s["issues"])))
        s = scores(problems(with_block(zh, "none"), params).problem, [t.label for t in zh])
        results.setdefault(("butterfly", "zh_complaints"), []).append(
            (threshold, s["f1"], int(s["found"]), int(s["issues"]))
        )
    columns = [k for k in results]
    print("\nsweep: problem threshold; test.json scored within company (company as organisation); F1 found/issues")
    print("  threshold " + "".join(f"{m[:9] + ' ' + n[:14]:>25}" for m, n in columns))
    for k, threshold in enumerate(SWEEP):
        cells = [f"{results[c][k][1]:.3f} {results[c][k][2]:>2}/{results[c][k][3]:<2}" for c in columns]
        print(f"  {threshold:>9} " + "".join(f"{c:>25}" for c in cells))
    for method in ("butterfly", "plain"):
        for name in halves:
            rows = results[(method, name)]
            need = -(-wanted * rows[0][3] // 26)  # the goal's share (14 of 26) of this half's issues
            enough = [r for r in rows if r[2] >= need]
            best = max(enough, key=lambda r: r[1]) if enough else None
            top = max(rows, key=lambda r: r[1])
            print(
                f"  {method:<9} {name:<15} best F1 with >= {need} found: "
                + (f"{best[1]:.3f} ({best[2]} found, threshold {best[0]})" if best else "none")
                + f"; best F1 at any threshold {top[1]:.3f} ({top[2]} found, threshold {top[0]})"
            )


def speed(rows: int = 20_000, runs: int = 5) -> None:
    """Grouping ``rows`` generated tickets (benchmarks/generate_tickets.py), the week's grouping step."""
    import csv
    import subprocess

    work = ROOT / "benchmarks" / "work"
    work.mkdir(exist_ok=True)
    path = work / f"tickets_{rows}.csv"
    if not path.exists():
        subprocess.run(
            [sys.executable, str(ROOT / "benchmarks" / "generate_tickets.py"), "--rows", str(rows), "-o", str(path)],
            check=True,
        )
    with path.open(encoding="utf-8", newline="") as handle:
        items = [
            GroupInput(r["subject"], r["description"], r["category"], r.get("subcategory") or None)
            for r in csv.DictReader(handle)
        ]
    times = {"tfidf (new default)": [], "hybrid (old default)": []}  # type: dict[str, list[float]]
    cpu = {name: [] for name in times}  # type: dict[str, list[float]]
    load = os.getloadavg()[0]
    for _ in range(runs):
        for name, method in (("tfidf (new default)", "tfidf"), ("hybrid (old default)", "hybrid")):
            started, started_cpu = time.perf_counter(), time.process_time()
            group_labels(items, method=method)
            times[name].append(time.perf_counter() - started)
            cpu[name].append(time.process_time() - started_cpu)
    print(
        f"\ngrouping {len(items)} generated tickets, {runs} runs "
        f"(load average {load:.1f} before, {os.getloadavg()[0]:.1f} after):"
    )
    for name, ts in times.items():
        print(
            f"  {name:<24} wall median {statistics.median(ts):.2f} s (min {min(ts):.2f}, max {max(ts):.2f}), "
            f"CPU median {statistics.median(cpu[name]):.2f} s"
        )


def check_against_sklearn(tickets: list[Ticket]) -> None:
    """When scikit-learn is installed (it is not a dependency): our TF-IDF cosines against its own."""
    try:
        from sklearn.feature_extraction.text import TfidfVectorizer
    except ImportError:
        print("\nscikit-learn not installed: engine check skipped")
        return
    import numpy as np

    from butterfly.similarity.tfidf import _HAS_CJK, cosine_pairs, fold, tfidf

    # texts without CJK (scikit-learn's char_wb has no CJK 1-2-grams)
    texts = [fold(" ".join(p for p in (t.item.subject, t.item.description) if p)) for t in tickets]
    texts = [t for t in texts if not _HAS_CJK.search(t)]
    ours = tfidf(texts)
    left, right, sim = cosine_pairs(ours, min_similarity=0.0)
    x = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True, lowercase=False).fit_transform(texts)
    theirs = (x @ x.T).toarray()
    upper = np.triu(theirs, 1)
    print(
        f"\nengine check against scikit-learn (char_wb 3-5, sublinear tf), {len(texts)} texts without CJK: "
        f"features {ours.n_features} vs "
        f"{x.shape[1]}, pairs {len(left)} vs {int((upper > 1e-9).sum())}, "
        f"largest cosine difference {float(np.abs(theirs[left, right] - sim).max()):.1e}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sweep", action="store_true", help="sweep the problem threshold on tune/held-out halves")
    parser.add_argument("--speed", action="store_true", help="time grouping 20,000 generated tickets")
    parser.add_argument("--threshold", type=float, default=None, help="problem threshold (default: the library's)")
    parser.add_argument(
        "--embeddings",
        action="store_true",
        help="also score the embeddings engine (needs the extra; see bench_similarity_engine.py)",
    )
    args = parser.parse_args()
    params = ProblemParams() if args.threshold is None else ProblemParams(threshold=args.threshold)
    print(f"parameters: {params}")
    zh = chinese(ZH)
    score_set("zh_complaints.json (13 problems, simplified + traditional)", zh, "none", params)
    panel("zh_complaints.json", zh, use_company=False)
    tw_path, log_path = REAL / "test.json", REAL / "incident_event_log.csv"
    if tw_path.exists():
        tw = twitter(tw_path)
        score_set("test.json, text only", tw, "none", params)
        score_set("test.json, company as category", tw, "category", params)
        score_set("test.json, company as organisation", tw, "organization", params)
        score_set("test.json, company as organisation, scored within company", tw, "organization", params, within=True)
        check_against_sklearn(tw)
        panel("test.json, text only", tw, use_company=False)
        panel("test.json, company as category", tw, use_company=True)
        if args.sweep:
            sweep(tw, zh)
    else:
        print(f"\n{tw_path} not found: test.json skipped", file=sys.stderr)
    if log_path.exists():
        items, path_labels, problem_ids = incidents(log_path)
        sn = [Ticket(it, lab, str(i)) for i, (it, lab) in enumerate(zip(items, path_labels, strict=True))]
        score_set("incident_event_log.csv, label category/subcategory/symptom", sn, "own", params)
        with_pid = [
            Ticket(items[i], problem_ids[i] or "", str(i)) for i in range(len(items)) if problem_ids[i] is not None
        ]
        score_set("incident_event_log.csv, label problem_id (incidents with one)", with_pid, "own", params)
        hier = problems(items, params)
        print(
            f"  hierarchy: {len(set(hier.problem))} problems, {len(set(hier.variant))} variants "
            f"(category keys: {len({(it.category, it.subcategory, tuple(it.tags)) for it in items})})"
        )
    else:
        print(f"\n{log_path} not found: ServiceNow log skipped", file=sys.stderr)
    if args.speed:
        speed()
    if args.embeddings:
        from bench_similarity_engine import report

        return report(speed_too=args.speed)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
