"""The similarity engine: folding, TF-IDF cosine, average linkage, and grouping paraphrased complaints."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np

from butterfly.reports.problems import ProblemParams, problems
from butterfly.reports.recurring import GroupInput, group_hierarchy, group_labels
from butterfly.similarity.linkage import average_linkage, cut
from butterfly.similarity.tfidf import cosine, cosine_pairs, fold, tfidf

ZH = Path(__file__).parent / "data" / "zh_complaints.json"


def test_fold_joins_widths_scripts_and_taiwan_wording() -> None:
    assert fold("ＡＰＰ 發票匯出失敗！") == fold("app 发票导出失败") == "app 发票导出失败"
    assert fold("印表機連不上網路") == "打印机连不上网络"
    assert fold("退款一直沒到帳") == fold("退款一直没到账")
    assert fold("Re: Order 12345 @HPSupport https://x.example/a") == "order 0"
    assert fold(None) == fold("") == ""


def test_cosine_pairs_are_the_cosine_of_the_rows() -> None:
    texts = [fold(t) for t in ("refund has not arrived", "my refund never arrived", "printer offline", "退款没到账")]
    m = tfidf(texts)
    left, right, sim = cosine_pairs(m, min_similarity=0.0)
    found = {(int(a), int(b)): float(s) for a, b, s in zip(left, right, sim, strict=True)}
    assert (0, 1) in found and abs(found[(0, 1)] - cosine(m, 0, 1)) < 1e-5
    assert 0.1 < found[(0, 1)] < 1.0
    assert (0, 3) not in found and (2, 3) not in found  # nothing in common: no pair at all
    same = tfidf([fold("发票导出失败"), fold("發票匯出失敗")])
    assert abs(cosine(same, 0, 1) - 1.0) < 1e-5


def test_stop_grams_make_no_pairs_by_themselves() -> None:
    texts = ["aaa x", "aaa y", "aaa z", "bbb"]
    m = tfidf(texts)
    assert len(cosine_pairs(m, min_similarity=0.0)[0]) == 3
    assert len(cosine_pairs(m, min_similarity=0.0, max_df=2)[0]) == 0


def test_average_linkage_does_not_chain() -> None:
    # two tight triangles joined by one bridge: components would merge them, average linkage does not
    left = [0, 0, 1, 3, 3, 4, 2]
    right = [1, 2, 2, 4, 5, 5, 3]
    sim = [0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.5]
    merges = average_linkage(6, left, right, sim, threshold=0.3)
    assert cut(6, merges, 0.3).tolist() == [0, 0, 0, 3, 3, 3]
    assert [round(m.similarity, 3) for m in merges] == [0.9, 0.9, 0.9, 0.9]
    # weights: a node standing for three identical texts pulls harder
    merges = average_linkage(3, [0, 1], [1, 2], [0.5, 0.2], threshold=0.3, weights=[1, 3, 1])
    assert cut(3, merges, 0.3).tolist() == [0, 0, 2]


def test_a_category_splits_by_text_and_strong_text_crosses_categories() -> None:
    items = [
        GroupInput("SMS code never arrives", None, "login"),
        GroupInput("sms verification code never arrives", None, "login"),
        GroupInput("Login page is slow to load", None, "login"),
        GroupInput("The login page is very slow", None, "login"),
        GroupInput("SMS verification code never arrives", None, "billing"),  # other category, same words
        GroupInput("invoice export fails", None, "billing"),
    ]
    assert group_labels(items) == [0, 0, 2, 2, 0, 5]
    weak = ProblemParams(strong=1.01)  # nothing is strong enough to cross a category
    assert problems(items, weak).problem == [0, 0, 2, 2, 4, 5]


def test_the_organisation_is_the_block_when_a_ticket_has_no_category() -> None:
    weak = ProblemParams(strong=1.01)  # nothing is strong enough to cross a block
    items = [
        GroupInput("printer cartridge not recognised", organization="HP"),
        GroupInput("my printer does not recognise the new cartridge", organization="HP"),
        GroupInput("printer cartridge not recognised", organization="Canon"),
        GroupInput("printer cartridge is not recognised", organization="Canon"),
    ]
    assert problems(items, weak).problem == [0, 0, 2, 2]
    # without organisations the same text is one problem
    plain = [GroupInput(it.subject) for it in items]
    assert problems(plain, weak).problem == [0, 0, 0, 0]
    # a category, when present, is the block instead of the organisation
    by_category = [GroupInput(it.subject, category="printing", organization=it.organization) for it in items]
    assert problems(by_category, weak).problem == [0, 0, 0, 0]


def test_problems_without_text_group_by_category_with_symptoms_as_variants() -> None:
    items = [
        GroupInput(None, None, "Category 32", "Subcategory 9", ["Symptom 4"]),
        GroupInput(None, None, "Category 32", "Subcategory 9", ["Symptom 470"]),
        GroupInput(None, None, "Category 32", "Subcategory 9"),
        GroupInput(None, None, "Category 32", "Subcategory 9", ["Symptom 4"]),
        GroupInput(None, None, "Category 40", "Subcategory 9", ["Symptom 4"]),
        GroupInput(None, None),
        GroupInput(None, None),
    ]
    problem, variant = group_hierarchy(items)
    assert problem == [0, 0, 0, 0, 4, 5, 6]
    assert variant == [0, 1, 2, 0, 4, 5, 6]


def test_paraphrased_chinese_complaints_are_found() -> None:
    rows = json.loads(ZH.read_text(encoding="utf-8"))["complaints"]
    assert len(rows) >= 120 and len({r["issue"] for r in rows}) >= 10
    assert {r["script"] for r in rows} == {"simplified", "traditional"}
    labels = group_labels([GroupInput(r["text"]) for r in rows])
    gold = [r["issue"] for r in rows]
    size = Counter(labels)
    together = Counter(zip(gold, labels, strict=True))
    found = {g for (g, p), k in together.items() if k >= 2 and 2 * k >= size[p]}
    assert len(found) >= 0.9 * len(set(gold))
    # and it does not lump everything together
    assert max(size.values()) <= 2 * max(Counter(gold).values())
    assert len(np.unique(labels)) >= len(set(gold))
