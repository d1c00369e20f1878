"""Answers the data already gives: the walk proposes them, the reviewer accepts with Enter or types another.

Nothing is stored until the reviewer accepts; each proposal says where it came from.

- ``company.mid.recurrence``: the closed tickets at other customers with a similar subject in the review's context
  (two or more customers: recurring; no similar ticket at all: a one-off; otherwise, e.g. the same category only
  or tickets without a subject, no proposal);
- ``company.long.request_drop``: the customer's own ticket volume, by the silent-customer rule of the weekly report
  (tickets opened in the 4 weeks before the ticket closed against the 12 weeks before that);
- ``customer.mid.sequence``: the time of the gesture (``compensation_at``) against the ticket's resolution;
- ``customer.mid.save_face``: "the customer did not cause it" when nothing in the ticket suggests they did;
- from the ticket's conversation (its certainty facts, :mod:`butterfly.conversation`), each naming the messages:
  ``customer.short.certainty`` (a definite plan with a time before any chase: 2; after a chase: 1; none: 0),
  ``customer.short.progress_updates`` (never chased and no silence over a day: 2; chased often or a silence over
  a day: 0; otherwise 1) and ``customer.short.need_escalation`` (climbed, or stayed).

Proposals are made for the shipped checklist's question ids (a team checklist that keeps those ids gets them too).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import case, func
from sqlmodel import col, select

from butterfly.conversation.facts import Facts, Moment
from butterfly.silent import SilentRule, is_silent
from butterfly.store.models import Ticket
from butterfly.timeutil import as_utc, format_duration

if TYPE_CHECKING:
    from collections.abc import Mapping

    from sqlmodel import Session

    from butterfly.review.similar import SimilarTicket


# words that suggest the customer caused the problem (subject, description, ServiceNow's closed_code)
CUSTOMER_CAUSED = (
    "user error",
    "customer error",
    "misuse",
    "wrong setting",
    "misconfigur",
    "not a bug",
    "works as designed",
    "操作失误",
    "误操作",
    "誤操作",
    "客户原因",
    "客戶原因",
    "用户原因",
    "用戶原因",
    "使用不当",
    "使用不當",
)


@dataclass(frozen=True)
class Proposal:
    """An answer proposed from the data: ``raw`` is what Enter submits; ``source`` a ``walk.yaml`` key."""

    question_id: str
    raw: str
    source: str
    values: dict[str, Any] = field(default_factory=dict)


def _recurrence(similar: list[SimilarTicket], ticket: Ticket) -> Proposal | None:
    # the same category alone is how tickets are filed, not evidence of the same problem: a similar subject is
    # (the level depends on the engine that measured it: butterfly.review.similar.SAME_PROBLEM)
    alike = [t for t in similar if t.same_problem]
    others = {s.ticket.customer for s in alike if s.ticket.customer and s.ticket.customer != ticket.customer}
    if len(others) >= 2:
        return Proposal("company.mid.recurrence", "recurring", "prefill.similar", {"n": len(others)})
    if not similar:
        return Proposal("company.mid.recurrence", "one_off", "prefill.no_similar")
    return None


def customer_volume(*, session: Session, ticket: Ticket, rule: SilentRule | None = None) -> tuple[int, int] | None:
    """(tickets in the recent window, tickets in the baseline window) of the ticket's customer, up to its closing."""
    rule = rule or SilentRule()
    end = as_utc(ticket.closed_at or ticket.resolved_at or ticket.created_at)
    if not ticket.customer or end is None:
        return None
    recent_start = end - timedelta(weeks=rule.recent_weeks)
    base_start = recent_start - timedelta(weeks=rule.baseline_weeks)
    created = col(Ticket.created_at)
    recent, total = session.exec(
        select(func.sum(case((created >= recent_start, 1), else_=0)), func.count()).where(
            Ticket.customer == ticket.customer, created >= base_start, created < end
        )
    ).one()
    return int(recent or 0), int(total or 0) - int(recent or 0)


def _request_drop(volume: tuple[int, int] | None) -> Proposal | None:
    if volume is None:
        return None
    rule = SilentRule()
    recent, baseline = volume
    if baseline < rule.min_baseline:
        return None  # too few tickets to tell
    choice = "dropped" if is_silent(recent, baseline, rule) else "steady"
    return Proposal("company.long.request_drop", choice, "prefill.volume", {"recent": recent, "baseline": baseline})


def _sequence(answers: Mapping[str, Any], ticket: Ticket, lang: str) -> Proposal | None:
    made = answers.get("customer.mid.compensation_at")
    resolved = as_utc(ticket.resolved_at)
    value = getattr(made, "value", None)
    if resolved is None or getattr(made, "na", False) or not isinstance(value, str):
        return None
    try:
        at = as_utc(datetime.fromisoformat(value))
    except ValueError:
        return None
    assert at is not None
    if at >= resolved:
        return Proposal("customer.mid.sequence", "2", "prefill.after", {"gap": format_duration(at - resolved, lang)})
    return Proposal("customer.mid.sequence", "0", "prefill.before", {"gap": format_duration(resolved - at, lang)})


def _save_face(ticket: Ticket) -> Proposal | None:
    raw = ticket.raw or {}
    words = " ".join(str(x or "") for x in (ticket.subject, ticket.description, raw.get("closed_code"))).lower()
    if any(w in words for w in CUSTOMER_CAUSED):
        return None
    return Proposal("customer.mid.save_face", "not_customer_caused", "prefill.not_customer_caused")


def _when(at: datetime | None) -> str:
    return at.strftime("%Y-%m-%d %H:%M") if at is not None else "-"


def _positions(moments: list[Moment]) -> str:
    shown = ", ".join(f"#{m.position}" for m in moments[:5])
    return shown + (", …" if len(moments) > 5 else "")


def _certainty(found: Facts) -> Proposal:
    plan = found.first_plan
    if plan is None:
        return Proposal("customer.short.certainty", "0", "prefill.no_plan", {"chases": len(found.chases)})
    values = {"position": plan.position, "when": _when(plan.at), "phrase": found.plan_phrase or ""}
    before = [c for c in found.chases if c.position < plan.position]
    if not before:
        return Proposal("customer.short.certainty", "2", "prefill.plan_early", values)
    return Proposal("customer.short.certainty", "1", "prefill.plan_late", {**values, "chases": _positions(before)})


def _progress(found: Facts, lang: str) -> Proposal:
    silence = format_duration(found.longest_silence, lang) if found.longest_silence is not None else "-"
    start = f"#{found.silence_from.position}" if found.silence_from is not None else "-"
    values = {"n": len(found.chases), "chases": _positions(found.chases) or "-", "silence": silence, "from": start}
    if found.chased_often or found.waited_long:
        raw = "0"
    elif not found.chases:
        raw = "2"
    else:
        raw = "1"
    return Proposal("customer.short.progress_updates", raw, "prefill.updates", values)


def _need(found: Facts) -> Proposal | None:
    choice = found.need_escalation
    if choice is None:
        return None
    if found.need_climbed is not None:
        return Proposal(
            "customer.short.need_escalation", choice, "prefill.need_climbed", {"position": found.need_climbed.position}
        )
    return Proposal("customer.short.need_escalation", choice, "prefill.need_stayed")


class Prefiller:
    """Proposals for one walk; facts are looked up once, on the first question that needs them."""

    def __init__(
        self,
        *,
        session: Session,
        ticket: Ticket,
        similar: list[SimilarTicket],
        lang: str,
        conversation: Facts | None = None,
    ) -> None:
        self.session = session
        self.ticket = ticket
        self.similar = similar
        self.lang = lang
        self.conversation = conversation  # the thread's certainty facts (None: no thread imported)
        self._volume: tuple[int, int] | None = None
        self._volume_known = False

    @staticmethod
    def needs_similar(question_id: str) -> bool:
        """Whether the proposal for ``question_id`` is drawn from the similar tickets."""
        return question_id == "company.mid.recurrence"

    def propose(self, question_id: str, answers: Mapping[str, Any]) -> Proposal | None:
        if question_id == "company.mid.recurrence":
            return _recurrence(self.similar, self.ticket)
        if question_id == "company.long.request_drop":
            if not self._volume_known:
                self._volume = customer_volume(session=self.session, ticket=self.ticket)
                self._volume_known = True
            return _request_drop(self._volume)
        if question_id == "customer.mid.sequence":
            return _sequence(answers, self.ticket, self.lang)
        if question_id == "customer.mid.save_face":
            return _save_face(self.ticket)
        found = self.conversation
        if found is None:
            return None
        if question_id == "customer.short.certainty":
            return _certainty(found)
        if question_id == "customer.short.progress_updates":
            return _progress(found, self.lang)
        if question_id == "customer.short.need_escalation":
            return _need(found)
        return None
