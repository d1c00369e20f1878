"""The butterfly check's guards: what a review must not get wrong, checked while it is written.

- **Certainty** (customer, short term): the measured time from creation to first response and to resolution,
  shown next to the certainty question so the reviewer answers against facts.
- **Order of compensation** (customer, mid term): a compensation or apology gesture made *before* the ticket
  was resolved backfires; the walk explains why and a ``compensation_before_resolution`` finding is recorded.
- **Blameless wording** (company, short term): free text that pins the cause on a named person ("because Wang
  forgot", "都怪小李") gets a gentle prompt to reframe it in terms of resources, process and authority. The
  reviewer may keep the wording; a ``blame_wording`` finding is recorded either way (``kept`` says which).
- **Consent before publicity** (customer, long term): a case planned as a story needs the customer's consent
  (yes, when, scope); without it the review is not for publication and a ``publicity_without_consent``
  finding is recorded.

Guards find their questions by the checklist's ``guard`` tag, never by id, so a team checklist can use them.
Every text shown to the reviewer comes from ``butterfly/data/guards.yaml`` in zh-CN, zh-TW and en.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol
from zoneinfo import ZoneInfo

from butterfly.checklist.model import Guard, Question
from butterfly.errors import NotFoundError
from butterfly.labels import join_items, labels
from butterfly.review.blame import BlameMatch as BlameMatch
from butterfly.review.blame import find_blame as find_blame
from butterfly.review.blame import has_blame as has_blame
from butterfly.settings import get_settings
from butterfly.store.models import Finding, FindingKind
from butterfly.timeutil import as_utc, format_duration

if TYPE_CHECKING:
    from butterfly.conversation.facts import Facts
    from butterfly.store.models import Ticket

LANGUAGES = ("zh-CN", "zh-TW", "en")


class AnswerLike(Protocol):
    value: Any
    na: bool


# -- texts --------------------------------------------------------------------------------------------------


def _texts() -> dict[str, dict[str, str]]:
    from butterfly.labels import text_file

    return text_file("guards.yaml")


def text(key: str, lang: str, **values: object) -> str:
    """A guard text in ``lang`` with ``{placeholders}`` filled in."""
    if lang not in LANGUAGES:
        raise NotFoundError(f"unknown language '{lang}'", hint="use one of: " + ", ".join(LANGUAGES))
    try:
        template = _texts()[key][lang]
    except KeyError:
        raise NotFoundError(f"no guard text '{key}'") from None
    return template.format(**values) if values else template


def text_keys() -> list[str]:
    return sorted(_texts())


def finding_title(kind: str, lang: str) -> str:
    """The human title of a finding kind (e.g. "Amends made before resolution"): the one name of a finding in the
    walk, ``reviews show``, ``review --answers`` and every report (``finding_<kind>`` in report_labels.yaml)."""
    return labels(lang).get(f"finding_{kind}", kind)


def finding_note(finding: Finding, lang: str) -> str:
    """What the reviewer sees of a finding: the detail of an open one (quoting their own blame wording, with
    "kept" when they kept it); for a reworded or dismissed one only its status, who and when, never the words."""
    status = finding.status
    when = finding.status_at.strftime("%Y-%m-%d") if finding.status_at else ""
    if status == "reworded":
        return text("finding.reworded", lang)
    if status == "dismissed":
        return text("finding.dismissed", lang, by=finding.status_by or "?", date=when)
    if finding.kind == FindingKind.blame_wording.value and finding.kept:
        return f"{finding.detail} {text('finding.kept', lang)}"
    return str(finding.detail)


# -- certainty ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Durations:
    """Measured durations of a ticket (``None`` where a time is missing)."""

    first_response: timedelta | None
    resolution: timedelta | None
    closing: timedelta | None


def _between(start: datetime | None, end: datetime | None) -> timedelta | None:
    if start is None or end is None:
        return None
    return as_utc(end) - as_utc(start)  # type: ignore[operator]


def measured_durations(ticket: Ticket) -> Durations:
    """Created → first response, created → resolved, created → closed."""
    return Durations(
        first_response=_between(ticket.created_at, ticket.first_response_at),
        resolution=_between(ticket.created_at, ticket.resolved_at),
        closing=_between(ticket.created_at, ticket.closed_at),
    )


def certainty_line(ticket: Ticket, lang: str, facts: Facts | None = None) -> str:
    """The line shown next to the certainty question, labelled as what it is.

    The method defines certainty as a definite plan and time, and names response speed as a metric that is easy
    to manage and not what the customer feels. With the ticket's conversation (``facts``, from
    :func:`butterfly.conversation.store.thread_facts`) the line says how often the customer chased, the longest
    silence on our side and whether and when a definite plan and time was given, naming the messages; without it,
    it shows the measured times as speed and asks the reviewer to answer against those missing facts.
    """
    d = measured_durations(ticket)
    if facts is None:
        return text(
            "certainty.measured",
            lang,
            first_response=format_duration(d.first_response, lang),
            resolution=format_duration(d.resolution, lang),
        )
    chase_list = ", ".join(f"#{c.position}" for c in facts.chases[:5])
    if facts.first_plan is not None:
        when = facts.first_plan.at.strftime("%Y-%m-%d %H:%M") if facts.first_plan.at else "-"
        plan = text(
            "certainty.plan_given", lang, position=facts.first_plan.position, when=when, phrase=facts.plan_phrase or ""
        )
    else:
        plan = text("certainty.no_plan", lang)
    return text(
        "certainty.facts",
        lang,
        chases=len(facts.chases),
        chase_list=f" ({chase_list})" if chase_list else "",
        silence=format_duration(facts.longest_silence, lang),
        plan=plan,
        first_response=format_duration(d.first_response, lang),
    )


# -- blameless wording -------------------------------------------------------------------------------------
# The detector reads the sentence: butterfly/review/blame.py, rules in butterfly/data/blame_rules.yaml.


# -- consent -------------------------------------------------------------------------------------------------


class Publication(StrEnum):
    """Whether a reviewed case may be used as a story."""

    no_story = "no_story"  # no publicity planned (or not answered)
    publishable = "publishable"  # planned, and consent recorded: yes, when, scope
    not_for_publication = "not_for_publication"  # planned without a full consent


@dataclass(frozen=True)
class PublicationStatus:
    status: Publication
    missing: tuple[str, ...] = ()  # consent, time, scope (or declined)

    @property
    def publishable(self) -> bool:
        return self.status is Publication.publishable


def _tagged(questions: Iterable[Question], guard: Guard) -> list[Question]:
    return [q for q in questions if q.guard is guard]


def _value(answers: Mapping[str, AnswerLike], question: Question | None) -> Any:
    if question is None:
        return None
    a = answers.get(question.id)
    if a is None or a.na:
        return None
    return a.value


def publication_status(questions: Iterable[Question], answers: Mapping[str, AnswerLike]) -> PublicationStatus:
    """Whether the case may be used as a story: only when planned AND consent (yes, time, scope) is recorded."""
    qs = list(questions)
    planned_q = _tagged(qs, Guard.publicity_planned)
    if not planned_q or _value(answers, planned_q[0]) is not True:
        return PublicationStatus(Publication.no_story)
    consent_q = next(iter(_tagged(qs, Guard.consent_given)), None)
    time_q = next(iter(_tagged(qs, Guard.consent_time)), None)
    scope_q = next(iter(_tagged(qs, Guard.consent_scope)), None)
    consent = _value(answers, consent_q)
    if consent is False:
        return PublicationStatus(Publication.not_for_publication, ("declined",))
    missing = []
    if consent is not True:
        missing.append("consent")
    if time_q is not None and not _value(answers, time_q):
        missing.append("time")
    if scope_q is not None and not _value(answers, scope_q):
        missing.append("scope")
    if missing:
        return PublicationStatus(Publication.not_for_publication, tuple(missing))
    return PublicationStatus(Publication.publishable)


def consent_text(key: str, status: PublicationStatus, lang: str) -> str:
    """``consent.detail`` or ``consent.not_for_publication`` for this status (its own text when declined)."""
    if "declined" in status.missing:
        return text(f"{key}.declined", lang)
    return text(key, lang, missing=consent_missing_text(status, lang))


def consent_missing_text(status: PublicationStatus, lang: str) -> str:
    parts = [text("consent.declined" if m == "declined" else f"consent.missing.{m}", lang) for m in status.missing]
    return join_items(parts, lang)


def skip_reason(question: Question, questions: Iterable[Question], answers: Mapping[str, AnswerLike]) -> str | None:
    """Why the walk skips a guard follow-up question (e.g. no consent questions when no story is planned): the key of
    the reason's text in ``butterfly/data/walk.yaml`` (``skip.no_gesture``, ``skip.no_publicity``,
    ``skip.no_consent``), or ``None``."""
    qs = list(questions)
    if question.guard is Guard.compensation_time:
        made = _value(answers, next(iter(_tagged(qs, Guard.compensation_made)), None))
        if made is False:
            return "skip.no_gesture"
    if question.guard in (Guard.consent_given, Guard.consent_time, Guard.consent_scope):
        planned = _value(answers, next(iter(_tagged(qs, Guard.publicity_planned)), None))
        if planned is False:
            return "skip.no_publicity"
        if question.guard is not Guard.consent_given:
            consent = _value(answers, next(iter(_tagged(qs, Guard.consent_given)), None))
            if consent is False:
                return "skip.no_consent"
    return None


# -- compensation order ----------------------------------------------------------------------------------------


def local_time(value: datetime, tz: str | None = None) -> str:
    """``YYYY-MM-DD HH:MM <zone>`` in ``tz`` (default: the ``timezone`` setting)."""
    if tz is None:
        tz = get_settings().timezone
    try:
        zone = ZoneInfo(tz)
    except Exception:
        zone = ZoneInfo("UTC")
    return value.astimezone(zone).strftime("%Y-%m-%d %H:%M ") + (tz or "UTC")


@dataclass(frozen=True)
class CompensationCheck:
    made_at: datetime
    resolved_at: datetime

    @property
    def early_by(self) -> timedelta:
        return self.resolved_at - self.made_at


def compensation_before_resolution(
    questions: Iterable[Question], answers: Mapping[str, AnswerLike], ticket: Ticket
) -> CompensationCheck | None:
    """The gesture and resolution times when a compensation was made before the ticket was resolved."""
    qs = list(questions)
    made = _value(answers, next(iter(_tagged(qs, Guard.compensation_made)), None))
    when = _value(answers, next(iter(_tagged(qs, Guard.compensation_time)), None))
    if made is False or not isinstance(when, str):
        return None
    resolved = as_utc(ticket.resolved_at or ticket.closed_at)
    if resolved is None:
        return None
    try:
        made_at = as_utc(datetime.fromisoformat(when))
    except ValueError:
        return None
    assert made_at is not None
    if made_at < resolved:
        return CompensationCheck(made_at, resolved)
    return None


# -- findings ------------------------------------------------------------------------------------------------


@dataclass
class FindingSpec:
    """A finding the guards derive from the current answers."""

    kind: str
    question_id: str
    detail: str
    kept: bool = False


def evaluate(
    *,
    questions: Sequence[Question],
    answers: Mapping[str, AnswerLike],
    ticket: Ticket,
    lang: str,
    tz: str | None = None,
) -> list[FindingSpec]:
    """Every finding the current answers call for (compensation order, blame wording, consent)."""
    specs: list[FindingSpec] = []
    check = compensation_before_resolution(questions, answers, ticket)
    if check is not None:
        time_q = _tagged(questions, Guard.compensation_time)[0]
        specs.append(
            FindingSpec(
                FindingKind.compensation_before_resolution.value,
                time_q.id,
                text(
                    "compensation.before_resolution",
                    lang,
                    made_at=local_time(check.made_at, tz),
                    resolved_at=local_time(check.resolved_at, tz),
                    gap=format_duration(check.early_by, lang),
                ),
            )
        )
    for q in _tagged(questions, Guard.blameless):
        value = _value(answers, q)
        if isinstance(value, str):
            matches = find_blame(value)
            if matches:
                phrase = "; ".join(m.phrase for m in matches)
                specs.append(
                    FindingSpec(
                        FindingKind.blame_wording.value,
                        q.id,
                        text("blameless.detail", lang, match=phrase),
                        kept=True,
                    )
                )
    status = publication_status(questions, answers)
    if status.status is Publication.not_for_publication:
        planned_q = _tagged(questions, Guard.publicity_planned)[0]
        specs.append(
            FindingSpec(
                FindingKind.publicity_without_consent.value,
                planned_q.id,
                consent_text("consent.detail", status, lang),
            )
        )
    return specs
