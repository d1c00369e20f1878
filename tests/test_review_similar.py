"""The context panel's look-ups: the customer's earlier tickets and the same problem at other customers."""

from __future__ import annotations

from datetime import timedelta

from review_support import BASE, make_ticket

from butterfly.review import similar
from butterfly.review.similar import customer_history, normalize_subject, rank_candidates, similar_tickets


def _ranked(target: str, candidates: list[str]) -> list[str]:
    return [candidates[r[0]] for r in rank_candidates((target, None, None), [(c, None, None) for c in candidates])]


def test_paraphrases_rank_above_other_problems_in_chinese_and_english() -> None:
    complaints = ["积分没到账", "短信验证码收不到", "钱还没退回来", "發票匯出失敗", "打印机离线", "退款一直沒到帳"]
    assert _ranked("退款一直没到账", complaints)[0] == "退款一直沒到帳"  # traditional, another customer's words
    assert _ranked("发票导出失败", complaints)[0] == "發票匯出失敗"  # Taiwan wording (匯出) folds to 导出
    assert _ranked("印表機連不上", complaints)[0] == "打印机离线"
    english = ["Printer is offline again", "SMS verification code never arrives", "Refund has not arrived"]
    assert _ranked("never got the sms code", english)[0] == "SMS verification code never arrives"
    assert "短信验证码收不到" not in _ranked("退款一直没到账", complaints)  # nothing in common: not shown
    assert normalize_subject("  FW: ＰＲＩＮＴＥＲ   OFFLINE!! ") == "printer offline"
    assert normalize_subject("") == ""


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
    assert by_ref["T-subject"].text_similarity > 0.6
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


def test_a_ticket_without_subject_is_compared_by_its_description(session) -> None:  # type: ignore[no-untyped-def]
    t = make_ticket(session, "T-1", customer="华星物流", subject="退款一直没到账", category="billing")
    make_ticket(
        session, "T-chat", customer="青禾餐饮", subject=None, description="退款一直沒到帳，已經一週了", category="chat"
    )
    make_ticket(session, "T-other", customer="Northwind", subject=None, description="打印机离线", category="chat")
    found = similar_tickets(session=session, ticket=t, limit=5)
    assert [s.ticket.external_id for s in found] == ["T-chat"]
    assert found[0].text_similarity > 0.3 and not found[0].same_category
