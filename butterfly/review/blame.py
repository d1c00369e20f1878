"""The blame-wording guard: does an answer pin the cause on a person, or describe the system?

It reads each sentence, not a word list. In a sentence it finds

- the **people** it mentions (names, nicknames, titles, pronouns, roles: "the night-shift agent", 新来的客服, 处理人)
  and the **other actors** (I, we, the customer, the system, it);
- **fault language** after a person: *strong* (fault, incompetence, attitude, a manager's slowness: 能力不足,
  态度敷衍, 拍板太慢, "not up to it", "didn't bother") or a *lapse* (forgot, didn't reply, 没有及时回复);
- **direct phrases** with the person inside: possessive fault (X的问题, X的疏失, "X's lack of"), blame verbs
  (都怪X, "blame X", "it's on X");
- a **system cause**: a cause marker (因为, because) followed by a system noun or another actor rather than a
  person with fault language, or a phrase that is a system cause itself ("had no access", 没有权限);
- a **negation** right before the person ("it wasn't", 不是, 不能怪).

Fault language is blame when the nearest actor before it is a person. A lapse with a system cause in the same
sentence ("she didn't see the ticket because it was auto-routed to the low-priority queue") describes the system
and is not blame; strong fault language and direct phrases are blame whatever the sentence adds.

The rules are data: ``butterfly/data/blame_rules.yaml`` in zh-CN, zh-TW and en.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import yaml

from butterfly.errors import FileProblemsError, Problem

RULE_LANGUAGES = ("zh-CN", "zh-TW", "en")
_KINDS = (
    "persons",
    "others",
    "strong",
    "lapse",
    "direct",
    "blame_causes",
    "cause_markers",
    "system",
    "structural",
    "reframes",
    "negations",
)
_HAN = re.compile("[\u4e00-\u9fff]")
_ZH_SENTENCE = re.compile(r"[^。！？!?\n]+[。！？!?]*")
_EN_SENTENCE = re.compile(
    r"(?:[^.!?\n]|\.(?=\w)|(?<=\b(?:Mr|Ms|Dr))\.|(?<=\bMrs)\.)+[.!?]*"
)  # "Mr. Yan" is one sentence
_ZH_CLAUSE_END = re.compile("[，,；;。！？!?]")
_EN_CLAUSE_END = re.compile(r"[,;.!?]")
# an actor right after a preposition or a verb that takes a person as object (对客户, 答应客户) is no subject
_ZH_OBJECT = re.compile(
    "(?:把|将|將|对|對|给|給|跟|向|帮|幫|替|为|為|让|讓|请|請|答应|答應|回复|回覆|告诉|告訴|通知|联系|聯繫|联络|聯絡|提醒|问|問|"
    "承诺|承諾|接待|拜访|拜訪|教训|教訓)(?:了)?(?:这个|這個|这位|這位|那个|那個|那位|这类|這類|这些|這些|那些|这种|這種)?$"
)
# actors that are people on the customer's or the reviewer's side, or a pronoun: a subject wherever they stand
_ZH_HUMAN_OTHER = re.compile("我|咱|客户|客戶|没有?人|沒有?人|它")
_EN_PRONOUN_OTHER = re.compile(r"(?i:I|we|nobody|no\s+one)$")  # "it" is often an object ("assigned to it")
# any other actor (the system, 工单, 话术) is a subject only at the start of a clause, after a connective
_ZH_SUBJECT_START = re.compile(
    "(?:^|[，,；;：:])\\s*(?:(?:但是|但|而且|而|可是|不过|不過|所以|结果|結果|是因为|是因為|因为|因為|由于|由於|原因是|原因在于|"
    "原因在於|问题在于|問題在於|后来|後來|其实|其實|并且|並且|也|又|就|只是|可|并|並|还|還|因此|于是|於是|加上|同时|同時|"
    "当时|當時|可能|本身|这次|這次)\\s*)*(?:这个|這個|该|該|那个|那個|这些|這些|我们的|我們的|客户的|客戶的|共享|共用)?$"
)
_EN_SUBJECT_START = re.compile(
    r"(?i:(?:^|[,;:—]|\b(?:and|but|because|since|so|while|when|as|which|that|then|until|after|before|though|"
    r"although|if|once)\b)\s*)$"
)
# "they"/"them" is a person unless the sentence has named the customer's side (or a vendor) before it
_EN_THEY = re.compile(r"(?i:they|them)$")
_EN_NOT_OUR_SIDE = re.compile(
    r"(?i)\b(?:customers?|clients?|users?|callers?|buyers?|vendors?|suppliers?|carriers?|partners?)\b"
)
# right before fault language: "it's not that … was" / 不是 … ("不是不上心", "wasn't careless") turns it around
_ZH_CUE_NEGATION = re.compile(
    "(?:不是|並非|并非|并不是|並不是|不算|谈不上|談不上|不能说|不能說|也不是|没有?|沒有?|未|从未|從未)$"
)
_EN_CUE_NEGATION = re.compile(
    r"(?i)\b(?:not|never|wasn't|isn't|weren't|aren't|hardly)\s+(?:really\s+|being\s+|that\s+|just\s+)?$"
)
_CAUSE_WINDOW = 60
MAX_SENTENCE = 400  # characters read as one sentence at most; longer ones are cut at clause ends  # characters after a cause marker that are read as the cause


@dataclass(frozen=True)
class BlameMatch:
    """A phrase that pins the cause on a person, and where it is in the text."""

    phrase: str
    start: int
    end: int


@dataclass(frozen=True)
class _Rules:
    person: re.Pattern[str]
    other: re.Pattern[str]
    strong: re.Pattern[str]
    lapse: re.Pattern[str]
    direct: re.Pattern[str]
    blame_cause: re.Pattern[str]
    cause: re.Pattern[str]
    system: re.Pattern[str]
    structural: re.Pattern[str]
    reframe: re.Pattern[str]
    negation: re.Pattern[str]
    chinese: bool


def _rules_source() -> tuple[str, object]:
    source = resources.files("butterfly") / "data" / "blame_rules.yaml"
    name = str(source)
    try:
        return name, yaml.safe_load(source.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise FileProblemsError(name, [Problem(name, f"not valid YAML: {exc}")]) from None


def parse_rules(name: str, data: object) -> dict[str, dict[str, list[str]]]:
    """The rule lists by language and kind, checked: every kind present in every language, every entry a
    regular expression that compiles (with ``{person}`` filled in for ``direct``)."""
    languages = data.get("languages") if isinstance(data, dict) else None
    if not isinstance(languages, dict):
        raise FileProblemsError(name, [Problem(name, "needs a 'languages' mapping")])
    problems: list[Problem] = []
    out: dict[str, dict[str, list[str]]] = {}
    for lang in RULE_LANGUAGES:
        section = languages.get(lang)
        if not isinstance(section, dict):
            problems.append(Problem(name, "missing", field=f"languages.{lang}"))
            continue
        out[lang] = {}
        for kind in _KINDS:
            entries = section.get(kind)
            field = f"languages.{lang}.{kind}"
            if not isinstance(entries, list) or not entries or not all(isinstance(e, str) and e for e in entries):
                problems.append(Problem(name, "needs a non-empty list of patterns", field=field))
                continue
            for i, entry in enumerate(entries):
                try:
                    re.compile(entry.replace("{person}", "X"))
                except re.error as exc:
                    problems.append(Problem(name, f"not a valid pattern: {exc}", field=f"{field}[{i}]"))
            out[lang][kind] = list(entries)
    if problems:
        raise FileProblemsError(name, problems)
    return out


def _either(entries: list[str]) -> str:
    return "|".join(f"(?:{e})" for e in entries)


def _compile(lists: dict[str, list[str]], *, chinese: bool) -> _Rules:
    person = _either(lists["persons"])
    direct = _either([e.replace("{person}", f"(?:{person})") for e in lists["direct"]])
    return _Rules(
        person=re.compile(person),
        other=re.compile(_either(lists["others"])),
        strong=re.compile(_either(lists["strong"])),
        lapse=re.compile(_either(lists["lapse"])),
        direct=re.compile(direct),
        blame_cause=re.compile(_either(lists["blame_causes"])),
        cause=re.compile(_either(lists["cause_markers"])),
        system=re.compile(_either(lists["system"]), 0 if chinese else re.IGNORECASE),
        structural=re.compile(_either(lists["structural"])),
        reframe=re.compile(_either(lists["reframes"]), 0 if chinese else re.IGNORECASE),
        negation=re.compile(f"(?:{_either(lists['negations'])})$" if chinese else _either(lists["negations"])),
        chinese=chinese,
    )


@lru_cache(maxsize=1)
def _all_rules() -> tuple[_Rules, _Rules]:
    """(Chinese, English) rules; Chinese reads the zh-CN and zh-TW lists together."""
    name, data = _rules_source()
    lists = parse_rules(name, data)
    zh = {kind: lists["zh-CN"][kind] + lists["zh-TW"][kind] for kind in _KINDS}
    return _compile(zh, chinese=True), _compile(lists["en"], chinese=False)


@dataclass(frozen=True)
class _Actor:
    start: int
    end: int
    person: bool


def _actors(sentence: str, rules: _Rules) -> list[_Actor]:
    """People and other actors in order; where they overlap the longer mention wins."""
    found = [
        _Actor(m.start(), m.end(), _person_here(sentence, m, rules))
        for m in rules.person.finditer(sentence)
        if m.end() > m.start()
    ]
    found += [
        _Actor(m.start(), m.end(), False)
        for m in rules.other.finditer(sentence)
        if m.end() > m.start() and _is_subject(sentence, m, rules)
    ]
    found.sort(key=lambda a: (a.start, -(a.end - a.start)))
    kept: list[_Actor] = []
    for actor in found:
        if kept and actor.start < kept[-1].end:
            continue
        kept.append(actor)
    return kept


def _person_here(sentence: str, m: re.Match[str], rules: _Rules) -> bool:
    """A person mention is a person, except "they"/"them" once the sentence has named the customer's side."""
    if rules.chinese or not _EN_THEY.match(m.group(0)):
        return True
    return not _EN_NOT_OUR_SIDE.search(sentence, 0, m.start())


def _cue_negated(sentence: str, at: int, rules: _Rules) -> bool:
    """Whether fault language at ``at`` is denied right before it (她不是不上心, "he wasn't careless")."""
    before = sentence[max(0, at - 12) : at]
    return bool((_ZH_CUE_NEGATION if rules.chinese else _EN_CUE_NEGATION).search(before))


def _is_subject(sentence: str, m: re.Match[str], rules: _Rules) -> bool:
    """Whether an actor that is not a person stands where a subject stands (答应客户, "saw the queue": objects)."""
    if sentence.startswith(("的", "'s"), m.end()):  # 客户的问题, "the customer's reply": a possessive, no subject
        return False
    if rules.chinese:
        if _ZH_OBJECT.search(sentence, 0, m.start()):
            return False
        return bool(_ZH_HUMAN_OTHER.match(m.group(0)) or _ZH_SUBJECT_START.search(sentence, 0, m.start()))
    return bool(_EN_PRONOUN_OTHER.match(m.group(0)) or _EN_SUBJECT_START.search(sentence, 0, m.start()))


def _negated(sentence: str, at: int, rules: _Rules) -> bool:
    clause_start = max(
        (m.end() for m in (_ZH_CLAUSE_END if rules.chinese else _EN_CLAUSE_END).finditer(sentence, 0, at)), default=0
    )
    before = sentence[clause_start:at]
    return bool(rules.negation.search(before[-8:] if rules.chinese else before[-40:]))


def _fault_after_person(segment: str, rules: _Rules) -> bool:
    """Whether ``segment`` has a person followed by fault language (a person cause, not a system cause)."""
    for actor in _actors(segment, rules):
        if not actor.person:
            continue
        rest = segment[actor.end :]
        for pattern in (rules.strong, rules.lapse):
            cue = pattern.search(rest)
            if cue is None:
                continue
            between = [a for a in _actors(rest[: cue.start()], rules)]
            if not between or between[-1].person:
                return True
    return False


def system_cause(sentence: str, rules: _Rules) -> bool:
    """Whether the sentence gives a cause in the system: a structural phrase, or a cause marker followed by a
    system noun or another actor (the customer, it) rather than a person with fault language."""
    if rules.structural.search(sentence) or rules.reframe.search(sentence):
        return True
    clause_end = _ZH_CLAUSE_END if rules.chinese else re.compile(r"[.!?]")
    for marker in rules.cause.finditer(sentence):
        stop = clause_end.search(sentence, marker.end())
        end = min(stop.start() if stop else len(sentence), marker.end() + _CAUSE_WINDOW)
        segment = sentence[marker.end() : end]
        if _fault_after_person(segment, rules):
            continue
        actors = _actors(segment, rules)
        if rules.system.search(segment) or (actors and not actors[0].person):
            return True
    return False


def _sentence_blame(sentence: str, offset: int, rules: _Rules) -> list[BlameMatch]:
    found: list[BlameMatch] = []
    for m in rules.direct.finditer(sentence):
        if not _negated(sentence, m.start(), rules):
            found.append(BlameMatch(m.group(0).strip(), offset + m.start(), offset + m.end()))
    actors = _actors(sentence, rules)
    if not any(a.person for a in actors):
        return found
    cause = None  # computed on first need
    for framing in rules.blame_cause.finditer(sentence):  # "the root of it is that <person> …"
        after = [a for a in actors if a.start >= framing.end() and a.start - framing.end() <= 12]
        if not after or not after[0].person or _negated(sentence, framing.start(), rules):
            continue
        if cause is None:
            cause = system_cause(sentence, rules)
        if not cause:
            start, end = offset + framing.start(), offset + after[0].end
            if any(f.start < end and start < f.end for f in found):
                continue
            found.append(BlameMatch(sentence[framing.start() : after[0].end].strip(), start, end))
    cues = [(m, True) for m in rules.strong.finditer(sentence)] + [(m, False) for m in rules.lapse.finditer(sentence)]
    for cue, strong in sorted(cues, key=lambda c: c[0].start()):
        before = [a for a in actors if a.end <= cue.start()]
        if not before or not before[-1].person:
            continue
        actor = before[-1]
        if _negated(sentence, actor.start, rules) or _cue_negated(sentence, cue.start(), rules):
            continue
        if not strong:
            if cause is None:
                cause = system_cause(sentence, rules)
            if cause:
                continue
        start, end = offset + actor.start, offset + cue.end()
        if any(f.start <= start < f.end or start <= f.start < end for f in found):
            continue
        found.append(BlameMatch(sentence[actor.start : cue.end()].strip(), start, end))
    return found


def find_blame(answer_text: str) -> list[BlameMatch]:
    """Phrases in ``answer_text`` that pin the cause on a person (zh-CN, zh-TW and en), in order."""
    if not answer_text or not answer_text.strip():
        return []
    zh, en = _all_rules()
    found: list[BlameMatch] = []
    chinese_text = bool(_HAN.search(answer_text))
    splitter = _ZH_SENTENCE if chinese_text else _EN_SENTENCE
    for m in splitter.finditer(answer_text):
        for start, piece in _pieces(m.group(0), m.start()):
            rules = zh if _HAN.search(piece) else en
            found.extend(_sentence_blame(piece, start, rules))
    return sorted(found, key=lambda f: f.start)


def _pieces(sentence: str, offset: int) -> list[tuple[int, str]]:
    """A sentence cut into pieces of at most :data:`MAX_SENTENCE` characters, at clause ends where it can be, so
    that a huge run-on "sentence" (hostile input, a pasted log) costs linear time, not quadratic."""
    if len(sentence) <= MAX_SENTENCE:
        return [(offset, sentence)]
    pieces: list[tuple[int, str]] = []
    start = 0
    while start < len(sentence):
        end = min(start + MAX_SENTENCE, len(sentence))
        if end < len(sentence):
            cut = max(sentence.rfind(c, start + MAX_SENTENCE // 2, end) for c in "，,；;")
            end = cut + 1 if cut > start else end
        pieces.append((offset + start, sentence[start:end]))
        start = end
    return pieces


def has_blame(answer_text: str) -> bool:
    return bool(find_blame(answer_text))
