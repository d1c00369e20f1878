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

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from functools import lru_cache
from importlib import resources
from typing import TYPE_CHECKING, Any, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from butterfly.checklist.model import Guard, Question
from butterfly.errors import FileProblemsError, NotFoundError, Problem
from butterfly.settings import get_settings
from butterfly.store.models import Finding, FindingKind
from butterfly.store.retry import WRITE_ATTEMPTS, write_attempts
from butterfly.timeutil import as_utc, format_duration
from butterfly.yamlload import load_yaml

if TYPE_CHECKING:
    from sqlmodel import Session

    from butterfly.store.models import Ticket

LANGUAGES = ("zh-CN", "zh-TW", "en")


class AnswerLike(Protocol):
    value: Any
    na: bool


# -- texts --------------------------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _texts() -> dict[str, dict[str, str]]:
    source = resources.files("butterfly") / "data" / "guards.yaml"
    name = str(source)
    data, _ = load_yaml(source.read_text(encoding="utf-8"), filename=name)
    texts = data.get("texts") if isinstance(data, dict) else None
    if not isinstance(texts, dict):
        raise FileProblemsError(name, [Problem(name, "needs a 'texts' mapping")])
    problems = []
    for key, by_lang in texts.items():
        if not isinstance(by_lang, dict) or any(not str(by_lang.get(lang) or "").strip() for lang in LANGUAGES):
            problems.append(Problem(name, "needs a text in zh-CN, zh-TW and en", field=f"texts.{key}"))
    if problems:
        raise FileProblemsError(name, problems)
    return {str(k): {lang: " ".join(str(v[lang]).split()) for lang in LANGUAGES} for k, v in texts.items()}


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
    """The human title of a finding kind (e.g. "Amends made before resolution")."""
    try:
        return text(f"finding.{kind}", lang)
    except NotFoundError:
        return kind


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


def certainty_line(ticket: Ticket, lang: str) -> str:
    """The measured-times sentence shown next to the certainty question."""
    d = measured_durations(ticket)
    return text(
        "certainty.measured",
        lang,
        first_response=format_duration(d.first_response),
        resolution=format_duration(d.resolution),
    )


# -- blameless wording -------------------------------------------------------------------------------------

# English: a person is a capitalised name (not a common sentence opener), a personal pronoun, or a role.
_EN_NOT_NAMES = (
    "The|This|That|These|Those|It|Its|We|Our|Us|I|You|Your|They|There|Then|When|If|Because|Since|As|But|And|So|"
    "System|Process|Tool|Tools|Policy|Nobody|No|Noone|Everyone|Everybody|Someone|Somebody|Anyone|Customer|"
    "Customers|Company|Team|Support|Management|Nothing|Training|Documentation|Monday|Tuesday|Wednesday|"
    "Thursday|Friday|Saturday|Sunday|Not|Never|Maybe|Perhaps|Also|After|Before|Yes"
)
_EN_ROLE = (
    r"(?:the|our|that|this|a)\s+(?:(?:new|junior|senior|on-call|night|first-line)\s+)?"
    r"(?:agent|engineer|technician|tech|rep|representative|colleague|guy|hire|intern|operator|staffer|"
    r"support\s+person|person\s+on\s+shift|dispatcher)"
)
_EN_PERSON = rf"(?:\b(?!(?:{_EN_NOT_NAMES})\b)[A-Z][a-z]+(?:\s(?!(?:{_EN_NOT_NAMES})\b)[A-Z][a-z]+)?|\b(?i:he|she|him|her)\b|\b(?i:{_EN_ROLE}))"
_EN_SLIP = (
    r"(?i:forgot|forgets|failed\s+to|missed|ignored|neglected|overlooked|messed\s+(?:it\s+|this\s+)?up|"
    r"screwed\s+(?:it\s+|this\s+)?up|dropped\s+the\s+ball|botched|didn'?t\s+bother|did\s+not\s+bother|"
    r"(?:didn'?t|did\s+not|never)\s+(?!have\b|get\b|receive\b|know\b|own\b|hear\b)\w+|"
    r"was\s+(?:careless|lazy|sloppy|incompetent|negligent)|made\s+(?:a|the)\s+(?:mistake|error)|"
    r"should\s+have\s+known|is\s+to\s+blame|was\s+to\s+blame)"
)
EN_BLAME_PATTERNS: tuple[str, ...] = (
    rf"(?:{_EN_PERSON}'s|\b(?i:his|her))\s+(?i:fault|mistake|error|screw-?up|blunder|negligence|carelessness)\b",
    rf"(?i:\bblame[ds]?\b(?:\s+(?:it|this|that|everything|the\s+\w+))?\s+on)\s+{_EN_PERSON}",
    rf"(?i:\b(?:blame[ds]?|blaming)\s+){_EN_PERSON}",
    rf"(?i:\b(?:because|since|as|cause)\s+){_EN_PERSON}\s+{_EN_SLIP}",
    rf"{_EN_PERSON}\s+{_EN_SLIP}",
    rf"(?i:\bfault\s+(?:of|lies\s+with|is\s+with))\s+{_EN_PERSON}",
)
_EN_NEGATION = re.compile(r"(?i:(?:\bnot|n't|\bnever|\bno)\s*(?:really\s+|just\s+|only\s+)?(?:because\s+)?)$")

# Chinese: pronouns, nicknames (小王, 老李, 阿张), surname + title (王工, 李经理), roles; full names only after
# a marker word (因为王伟忘了, 都怪李明).
_ZH_SURNAMES = (
    "王李张張刘劉陈陳杨楊黄黃赵趙吴吳周徐孙孫马馬朱胡郭何高林罗羅郑鄭梁谢謝宋唐许許韩韓冯馮邓鄧曹彭曾肖萧蕭田董"
    "袁潘蒋蔣蔡余杜叶葉程苏蘇魏吕呂丁任沈姚卢盧姜崔钟鍾谭譚陆陸汪范金石廖贾賈夏韦韋邹鄒孟熊秦邱江尹薛闫閆段雷侯"
    "龙龍史陶黎贺賀顾顧毛郝龚龔邵万萬钱錢严嚴覃武戴莫孔汤湯于"
)
# surnames that begin too many ordinary words (方案, 高层, 任何, 程序, 于是 …) are left out of bare full names
_ZH_FULLNAME_SURNAMES = re.sub("[高石金江史武毛孔莫于万萬任程段严嚴方白向龙龍夏曾]", "", _ZH_SURNAMES)
_ZH_PRONOUN = "他们|她们|他們|她們|他|她|此人|那人|这人|這人|那个人|那個人|这个人|這個人|某人|某某"
_ZH_ROLE = (
    "(?:那个|那個|这个|這個|该|該|那位|这位|這位)?"
    "(?:新来的|新來的)?(?:客服|工程师|工程師|同事|员工|員工|新人|新同事|技术员|技術員|坐席|接线员|接線員|"
    "处理人|處理人|值班的人|实习生|實習生|师傅|師傅)"
)
_ZH_NICK = f"(?:小|老|阿)[{_ZH_SURNAMES}]"
_ZH_TITLED = f"[{_ZH_SURNAMES}](?:工|总|總|经理|經理|师傅|師傅|主管|组长|組長|老师|老師|哥|姐)"
_ZH_PERSON = f"(?:{_ZH_PRONOUN}|{_ZH_NICK}|{_ZH_TITLED}|{_ZH_ROLE})"
_ZH_PERSON_OR_NAME = f"(?:{_ZH_PERSON}|[{_ZH_FULLNAME_SURNAMES}][\u4e00-\u9fff]{{1,2}}?)"
_ZH_SLIP = (
    "(?:忘了|忘记|忘記|忘掉|疏忽|粗心|马虎|馬虎|大意|搞错|搞錯|搞砸|弄错|弄錯|漏了|漏掉|偷懒|偷懶|"
    "不负责|不負責|失职|失職|犯了?错|犯了?錯|出错|出錯|处理不当|處理不當|操作失误|操作失誤|"
    "[没沒]有?(?:做好|做到|处理好|處理好|跟进|跟進|注意|检查|檢查|及时|及時|回复|回覆|通知|上报|上報|"
    "按流程|按規定|按规定|看|听|聽|仔细|仔細|管好|负责|負責|尽责|盡責)|未能?(?:及时|及時|按|跟进|跟進|处理|處理))"
)
ZH_BLAME_PATTERNS: tuple[str, ...] = (
    f"{_ZH_PERSON}的(?:错|錯|责任|責任|失误|失誤|过错|過錯|过失|過失|锅|鍋)",
    f"{_ZH_PERSON}(?:的)?(?:失误|失誤|疏忽|过失|過失)",
    f"(?:都怪|全怪|只怪|要怪|就怪|怪罪|(?<![奇古难難见見责責])怪)(?:{_ZH_PERSON_OR_NAME})",
    f"(?:因为|因為|由于|由於|是)(?:{_ZH_PERSON_OR_NAME})(?:{_ZH_SLIP})",
    f"{_ZH_PERSON}(?:{_ZH_SLIP})",
    f"(?:归咎于|歸咎於|责任在于?|責任在於?|甩锅给|甩鍋給|推给|推給)(?:{_ZH_PERSON_OR_NAME})",
    f"(?:{_ZH_PERSON_OR_NAME})(?:背锅|背鍋|负全责|負全責|难辞其咎|難辭其咎)",
)
_ZH_NEGATION = re.compile("(?:不是|并非|並非|不能|不该|不該|别|別|不|非)$")


@lru_cache(maxsize=1)
def _blame_res() -> tuple[re.Pattern[str], ...]:
    """The compiled blame patterns (compiled on first use: they are big, and most commands never need them)."""
    return tuple(re.compile(p) for p in (*EN_BLAME_PATTERNS, *ZH_BLAME_PATTERNS))


@dataclass(frozen=True)
class BlameMatch:
    """A phrase that pins the cause on a person, and where it is in the text."""

    phrase: str
    start: int
    end: int


def find_blame(answer_text: str) -> list[BlameMatch]:
    """Phrases in ``answer_text`` that pin the cause on a named person (English and Chinese).

    Negated phrases ("it wasn't Wang's fault", "不是他的错") are not counted.
    """
    if not answer_text:
        return []
    found: list[BlameMatch] = []
    for pattern in _blame_res():
        for m in pattern.finditer(answer_text):
            before = answer_text[max(0, m.start() - 24) : m.start()]
            if _EN_NEGATION.search(before) or _ZH_NEGATION.search(before):
                continue
            if any(f.start <= m.start() < f.end or m.start() <= f.start < m.end() for f in found):
                continue
            found.append(BlameMatch(m.group(0).strip(), m.start(), m.end()))
    return sorted(found, key=lambda f: f.start)


def has_blame(answer_text: str) -> bool:
    return bool(find_blame(answer_text))


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
    return ("、" if lang.startswith("zh") else ", ").join(parts)


def skip_reason(question: Question, questions: Iterable[Question], answers: Mapping[str, AnswerLike]) -> str | None:
    """Why the walk skips a guard follow-up question (e.g. no consent questions when no story is planned)."""
    qs = list(questions)
    if question.guard is Guard.compensation_time:
        made = _value(answers, next(iter(_tagged(qs, Guard.compensation_made)), None))
        if made is False:
            return "no gesture was made"
    if question.guard in (Guard.consent_given, Guard.consent_time, Guard.consent_scope):
        planned = _value(answers, next(iter(_tagged(qs, Guard.publicity_planned)), None))
        if planned is False:
            return "no publicity is planned"
        if question.guard is not Guard.consent_given:
            consent = _value(answers, next(iter(_tagged(qs, Guard.consent_given)), None))
            if consent is False:
                return "the customer did not consent"
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
                    gap=format_duration(check.early_by),
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


def sync_findings(
    *, session: Session, review_id: int, specs: Sequence[FindingSpec], commit: bool = True
) -> list[Finding]:
    """Make the review's findings match ``specs``.

    A blame finding whose wording has since been reworded is kept, with ``kept=False``: the prompt worked, and
    the history shows what was there. Other findings that no longer apply are removed.
    """
    for attempt in write_attempts():
        try:
            stmt = select(Finding).where(Finding.review_id == review_id).execution_options(populate_existing=True)
            existing = {(f.kind, f.question_id): f for f in session.exec(stmt).all()}
            wanted = {(s.kind, s.question_id): s for s in specs}
            for key, spec in wanted.items():
                found = existing.get(key)
                if found is None:
                    session.add(
                        Finding(
                            review_id=review_id,
                            question_id=spec.question_id,
                            kind=spec.kind,
                            detail=spec.detail,
                            kept=spec.kept,
                        )
                    )
                elif found.detail != spec.detail or found.kept != spec.kept:
                    found.detail = spec.detail
                    found.kept = spec.kept
                    session.add(found)
            for old_key, found in existing.items():
                if old_key in wanted:
                    continue
                if found.kind == FindingKind.blame_wording.value:
                    if found.kept:
                        found.kept = False  # reworded after the prompt: keep the finding, mark it
                        session.add(found)
                else:
                    session.delete(found)
            session.flush()
            if commit:
                session.commit()
            break
        except IntegrityError:
            session.rollback()
            if attempt == WRITE_ATTEMPTS - 1 or not commit:
                raise
    return list(
        session.exec(
            select(Finding)
            .where(Finding.review_id == review_id)
            .order_by(Finding.id)  # type: ignore[arg-type]
            .execution_options(populate_existing=True)
        ).all()
    )
