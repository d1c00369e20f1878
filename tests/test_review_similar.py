"""The context panel's look-ups: the customer's earlier tickets and the same problem at other customers."""

from __future__ import annotations

from datetime import timedelta

from review_support import BASE, make_ticket

from butterfly.review import similar
from butterfly.review.similar import customer_history, ngrams, normalize_subject, similar_tickets, subject_similarity


def test_subject_similarity_works_for_chinese_and_english() -> None:
    assert subject_similarity("Re: 发票导出失败", "发票导出失败！") == 1.0
    assert subject_similarity("发票导出失败，提示模板不存在", "发票导出报错") > 0.3
    assert subject_similarity("发票导出失败", "短信验证码收不到") == 0.0
    assert subject_similarity("SMS code never arrives", "sms verification code never arrives") > 0.6
    assert normalize_subject("  FW: Printer   OFFLINE!! ") == "printer offline"
    assert ngrams("") == frozenset()


def test_same_problem_at_other_customers(session) -> None:  # type: ignore[no-untyped-def]
    t = make_ticket(session, "T-1", customer="华星物流", subject="发票导出失败，提示模板不存在", category="billing")
    make_ticket(session, "T-same-customer", customer="华星物流", subject="发票导出失败", category="billing")
    make_ticket(session, "T-open", customer="Acme", subject="发票导出失败", category="billing", status="open")
    make_ticket(session, "T-cat", customer="Acme", subject="Refund is late", category="billing")
    make_ticket(session, "T-subject", customer="青禾餐饮", subject="发票导出失败：模板不存在", category="reporting")
    make_ticket(session, "T-unrelated", customer="Northwind", subject="短信验证码收不到", category="login")
    found = similar_tickets(session=session, ticket=t, limit=10)
    refs = [s.ticket.external_id for s in found]
    assert refs == ["T-subject", "T-cat"]  # similar subject beats the same category alone
    by_ref = {s.ticket.external_id: s for s in found}
    assert by_ref["T-cat"].same_category and not by_ref["T-subject"].same_category
    assert by_ref["T-subject"].subject_similarity > 0.6
    assert similar_tickets(session=session, ticket=t, limit=1)[0].ticket.external_id == "T-subject"


def test_candidates_stay_bounded(session, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    t = make_ticket(session, "T-0", customer="A", subject="打印机离线", category="printing")
    for i in range(12):
        make_ticket(
            session,
            f"T-{i + 1}",
            customer=f"C{i}",
            subject="打印机离线" if i % 2 else "小票打印模板错位",
            category="printing",
            closed_at=BASE + timedelta(days=1, hours=i),
        )
    monkeypatch.setattr(similar, "CATEGORY_CANDIDATES", 5)
    monkeypatch.setattr(similar, "NEARBY_CANDIDATES", 0)
    candidates = similar.similar_candidates(session=session, ticket=t)
    assert len(candidates) == 5
    assert [c.external_id for c in candidates] == ["T-12", "T-11", "T-10", "T-9", "T-8"]  # the latest closed
    found = similar_tickets(session=session, ticket=t, limit=3)
    assert [s.ticket.external_id for s in found] == ["T-12", "T-10", "T-8"]  # same subject first, then newest


def test_customer_history_counts_earlier_tickets_and_the_last_90_days(session) -> None:  # type: ignore[no-untyped-def]
    t = make_ticket(session, "T-now", customer="Acme", created_at=BASE)
    make_ticket(session, "T-old", customer="Acme", created_at=BASE - timedelta(days=200))
    make_ticket(session, "T-recent", customer="Acme", created_at=BASE - timedelta(days=10), subject="Printer jam")
    make_ticket(session, "T-later", customer="Acme", created_at=BASE + timedelta(days=1))
    make_ticket(session, "T-other", customer="Beta", created_at=BASE - timedelta(days=1))
    h = customer_history(session=session, ticket=t)
    assert (h.earlier, h.last_90_days) == (2, 1)
    assert [b.external_id for b in h.recent] == ["T-recent", "T-old"]
    nobody = make_ticket(session, "T-anon", customer=None)
    assert customer_history(session=session, ticket=nobody).earlier == 0
