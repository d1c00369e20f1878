"""Facts from a ticket's thread for the certainty cell (customer, short term).

- **chases**: customer messages sent while the customer was still waiting (after another customer message with no
  public agent reply between) or asking for news ("any update?", "还没好吗", "進度如何");
- **longest silence**: the longest time a customer waited for a public agent message while the ticket was open;
- **first plan**: the first public agent reply with a definite plan and time (:func:`gives_plan`), against replies
  that give only reasons or "we're working on it";
- **need climbed**: a customer message about cost, impact, compensation or leaving after one that only asked when
  it is fixed (the proposal for ``customer.short.need_escalation``).

Each fact names the messages it comes from (their positions, from 1), so the walk and the report can show where it
came from, and the reviewer confirms or overrides it.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from butterfly.conversation.rules import Rules, language_of, rules_for

ROLES = ("customer", "agent", "system", "internal")
# the certainty gap (the walk's proposal for progress_updates, the weekly report's count): chased this often, or
# waited longer than this in silence
CHASES_OFTEN = 2
LONG_SILENCE = timedelta(hours=24)
_SENTENCES = re.compile(r"(?<=[.!?。！？；;])\s*|\n+")
_CLAUSES = re.compile(r"[，、；,;]")  # Chinese replies chain clauses with commas: each is judged on its own
# English clauses for the tense check only: "we received it on Monday, and will ship it on Friday" has a past clause
# and a plan; the vague words are still judged over the whole sentence ("by Friday, but I can't promise it")
_EN_CLAUSES = re.compile(r"\s*[,;]\s*|:\s+|\s+(?:and|but|so|then|after which|which)\s+", re.IGNORECASE)


@dataclass(frozen=True)
class Message:
    """One message of a thread. ``role``: customer, agent, system or internal (an internal note)."""

    position: int
    role: str
    text: str
    at: datetime | None = None
    public: bool = True
    author: str | None = None
    key: str | None = None  # the helpdesk's id of the message (comment events merge into a stored thread by it)


@dataclass(frozen=True)
class Moment:
    position: int
    at: datetime | None


@dataclass
class Facts:
    messages: int
    chases: list[Moment] = field(default_factory=list)
    longest_silence: timedelta | None = None
    silence_from: Moment | None = None  # the customer message that waited longest (and the reply that ended it)
    silence_to: Moment | None = None
    first_plan: Moment | None = None
    plan_phrase: str | None = None
    need_climbed: Moment | None = None  # the first customer message about cost, impact or leaving

    @property
    def need_escalation(self) -> str | None:
        """A proposal for ``customer.short.need_escalation`` (its choice ids): climbed or stayed (None without
        customer messages)."""
        if self.need_climbed is not None:
            return "climbed"
        return "stayed" if self.messages else None

    @property
    def chased_often(self) -> bool:
        """The customer chased at least :data:`CHASES_OFTEN` times."""
        return len(self.chases) >= CHASES_OFTEN

    @property
    def waited_long(self) -> bool:
        """The customer waited longer than :data:`LONG_SILENCE` for a public reply."""
        return self.longest_silence is not None and self.longest_silence > LONG_SILENCE


def gives_plan(text: str) -> str | None:
    """The time phrase when one sentence of ``text`` commits to a definite time, else None.

    A sentence (a clause, in Chinese) counts when it names a time still to come ("tomorrow", "by 5 pm", "明天上午",
    "兩個工作天內") or a time of day or a day ("at 3 pm", "on Monday", "周四下午一点"), and is not a question, does
    not date something past ("was received on Friday", "周二去过了"), is not a schedule ("support hours are 9 to 6",
    "通常需要几天"), and has no vague or refusing words that take the time back ("as soon as possible", "尽快",
    "cannot give an ETA").
    """
    text = unicodedata.normalize("NFKC", text)  # full-width digits and colons: "９：３０" is "9:30"
    rules = rules_for(text)
    chinese = language_of(text) == "zh"
    for whole in _SENTENCES.split(text):
        whole = whole.strip()
        if not whole or whole.endswith(("?", "？")):
            continue
        if chinese:
            for clause in _CLAUSES.split(whole):
                phrase = _plan_in(rules, clause.strip(), clause.strip())
                if phrase is not None:
                    return phrase
        elif rules.find("vague", whole) is None and rules.find("schedule", whole) is None:
            for clause in _EN_CLAUSES.split(whole):
                phrase = _plan_in(rules, clause.strip(), whole)
                if phrase is not None:
                    return phrase
    return None


def _plan_in(rules: Rules, clause: str, sentence: str) -> str | None:
    """The time phrase of ``clause`` when it is a plan; vague and schedule words are looked for in ``sentence``
    (the clause itself in Chinese, the whole sentence in English)."""
    if not clause:
        return None
    future = rules.find("future", clause)  # "tomorrow", "明天上午", "兩個工作天內": a time still to come
    time = future or rules.find("time", clause)
    if time is None:
        return None
    if rules.find("vague", sentence) is not None or rules.find("schedule", sentence) is not None:
        return None  # "as soon as possible", "尽快"; opening hours and "usually takes" are no plan
    if future is None and rules.find("past", clause) is not None:
        return None  # a time that dates what already happened ("received on Friday at 4 pm", "周二去过了")
    return time.group(0).strip()


def asks_for_news(text: str) -> bool:
    return rules_for(text).find("news", text) is not None


def about_cost(text: str) -> bool:
    return rules_for(text).find("cost", text) is not None


def facts(messages: Sequence[Message], *, closed_at: datetime | None = None) -> Facts:
    """The certainty facts of a thread (messages in order; internal notes and system messages are not replies)."""
    result = Facts(messages=sum(1 for m in messages if m.role == "customer"))
    waiting_since: Message | None = None  # the first customer message not yet answered in public
    unanswered = 0
    asked_when = False
    seen_customer = False  # the first customer message opens the ticket: asking for news there is no chase
    for message in messages:
        public_reply = message.role == "agent" and message.public
        if message.role == "customer":
            if seen_customer and (unanswered > 0 or asks_for_news(message.text)):
                result.chases.append(Moment(message.position, message.at))
            cost = about_cost(message.text)
            if cost and asked_when and result.need_climbed is None:
                result.need_climbed = Moment(message.position, message.at)
            if not cost:
                asked_when = True
            if waiting_since is None:
                waiting_since = message
            unanswered += 1
            seen_customer = True
        elif public_reply:
            if waiting_since is not None:
                _silence(result, waiting_since, message)
            waiting_since = None
            unanswered = 0
            if result.first_plan is None:
                phrase = gives_plan(message.text)
                if phrase is not None:
                    result.first_plan = Moment(message.position, message.at)
                    result.plan_phrase = phrase
    if waiting_since is not None and closed_at is not None:
        _silence(result, waiting_since, Message(position=0, role="system", text="", at=closed_at))
    return result


def _silence(result: Facts, start: Message, end: Message) -> None:
    if start.at is None or end.at is None:
        return
    gap = end.at - start.at
    if gap > timedelta(0) and (result.longest_silence is None or gap > result.longest_silence):
        result.longest_silence = gap
        result.silence_from = Moment(start.position, start.at)
        result.silence_to = Moment(end.position, end.at) if end.position else None
