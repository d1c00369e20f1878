"""Reviewer effort of the walk: questions asked, keystrokes and text answers requested, default walk vs --deep.

    python benchmarks/bench_walk_effort.py            # 10 ServiceNow incidents + 10 example tickets, both walks
    python benchmarks/bench_walk_effort.py --quick    # 4 + 4

Three scripted reviews per ticket: the default walk accepting every proposal; the default walk where the reviewer
answers the recurrence "one-off" (so no follow-up applies: the issue's goal case); and ``--deep``.

Drives the installed ``butterfly review`` under a pty (pexpect), as a busy service lead would answer: at a rating,
the cell's remaining ratings in one line (``2 1``); at a proposal (``proposed: …``), Enter; a yes/no, ``n``; a choice,
a fixed typical pick; a free-text question, one short sentence; no action items; experience level ``4``; Enter at
"Mark the review complete?". The tickets are real: the ServiceNow event log in ``/work/shared/data/real/``
(skipped with a reason when absent) and ``examples/tickets.csv``, each imported into a scratch database in
``benchmarks/work/``.

Printed per walk: checklist questions answered (from the database: one-line ratings count each question), prompts
answered (the experience level and the completion included), keystrokes (every character typed plus Enter), of
those the keys that are the words of text answers, and text answers requested; then the median and max of each.
Goal (issue #13): default walk median <= 14 questions and <= 40 keystrokes (answers plus Enters; the words of a text
answer are the reviewer's content and are shown separately).
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "benchmarks" / "work"
SERVICENOW = Path("/work/shared/data/real/incident_event_log.csv")

# a typical pick per choice question (1-based), when no proposal is shown
CHOICES = {
    "customer.short.need_escalation": "1",
    "customer.mid.save_face": "4",
    "customer.long.story_signal": "3",
    "company.mid.recurrence": "3",
    "company.mid.process_gap": "4",
    "company.long.request_drop": "1",
    "customer.mid.compensation_kind": "1",
}
TEXT = {
    "company.short.blameless_root_cause": "no runbook for this error in the L1 knowledge base",
    "company.long.offhand_wishes": "asked whether alerts could reach them by SMS",
}
DEFAULT_TEXT = "nothing to add beyond the timeline"

QUESTION_LINE = re.compile(r"(\S+) \d+/\d+ · ([a-z0-9_.-]+) · ")
PROMPTS = [
    r"(?!x)x",  # 0 (unused)
    QUESTION_LINE.pattern,  # 1
    r"\[y/N\] > ",  # 2
    r"\[Y/n\] > ",  # 3
    r"experience level 1-\d.*> ",  # 4
    r"g go to the first of them .*> ",  # 5
    r"Render the report: ",  # 6
]


@dataclass
class Effort:
    questions: set[str] = field(default_factory=set)
    prompts: int = 0
    keys: int = 0
    text_keys: int = 0
    text_answers: int = 0

    def type(self, child: object, line: str, *, text: bool = False) -> None:
        child.sendline(line)  # type: ignore[attr-defined]
        self.prompts += 1
        self.keys += len(line) + 1
        if text:
            self.text_keys += len(line)
            self.text_answers += 1


def _import(db: Path, files: list[Path]) -> None:
    if db.exists():
        return
    WORK.mkdir(parents=True, exist_ok=True)
    for f in files:
        subprocess.run(
            [sys.executable, "-m", "butterfly", "--db", str(db), "import", str(f)],
            check=False,
            capture_output=True,
        )


def _closed(db: Path, n: int) -> list[str]:
    from sqlmodel import col, select

    from butterfly.store.db import open_session, sqlite_url
    from butterfly.store.models import Ticket

    with open_session(sqlite_url(db)) as s:
        rows = s.exec(
            select(Ticket.external_id).where(Ticket.status == "closed").order_by(col(Ticket.id)).limit(n * 7)
        ).all()
    return list(rows[:: max(1, len(rows) // n)][:n])  # spread over the file


def _ratings_left(qid: str, answered: dict[str, object], deep: bool) -> int:
    """The rating questions the walk asks in ``qid``'s cell from ``qid`` on (what a one-line answer fills)."""
    from butterfly.checklist.model import AnswerKind, is_asked, load_builtin

    cl = load_builtin("butterfly", "en")
    cell = cl.cell_of(qid)
    ids = [q.id for q in cell.questions]
    rest = cell.questions[ids.index(qid) :]
    return sum(1 for q in rest if q.kind is AnswerKind.rating and is_asked(q, answered, deep=deep))


def walk(db: Path, ref: str, reviewer: str, deep: bool, one_off: bool = False) -> Effort:
    import pexpect

    from butterfly.checklist.model import AnswerKind, load_builtin

    cl = load_builtin("butterfly", "en")
    kinds = {q.id: q.kind for q in cl.questions}
    env = dict(os.environ, TERM="dumb", NO_COLOR="1", COLUMNS="200")
    env.pop("CI", None)
    argv = ["-m", "butterfly", "review", ref, "--db", str(db), "--reviewer", reviewer, "--lang", "en"]
    child = pexpect.spawn(sys.executable, [*argv, *(["--deep"] if deep else [])], env=env, encoding="utf-8", timeout=60)
    effort = Effort()
    answered: dict[str, object] = {}  # what this script answered (to follow the follow-ups)
    qid = ""
    while True:
        i = child.expect([*PROMPTS, pexpect.EOF])
        if i == 1:
            qid = child.match.group(2)
            child.expect("> ")
            proposal = "proposed: " in child.before
            kind = kinds[qid]
            if one_off and qid == "company.mid.recurrence":
                effort.type(child, "1")  # the reviewer knows better: a one-off (no follow-up applies)
                answered[qid] = "one_off"
            elif proposal:
                effort.type(child, "")
                answered[qid] = "proposed"
            elif kind is AnswerKind.rating:
                n = _ratings_left(qid, answered, deep)
                effort.type(child, " ".join(["2"] * n))
                for q in cl.cell_of(qid).questions:
                    if q.kind is AnswerKind.rating:
                        answered.setdefault(q.id, 2)
            elif kind is AnswerKind.yes_no:
                effort.type(child, "n")
                answered[qid] = False
            elif kind is AnswerKind.choice:
                effort.type(child, CHOICES.get(qid, "1"))
                q = cl.question(qid)
                assert q.choices is not None
                answered[qid] = q.choices[int(CHOICES.get(qid, "1")) - 1].id
            elif kind is AnswerKind.text:
                effort.type(child, TEXT.get(qid, DEFAULT_TEXT), text=True)
                answered[qid] = "text"
            else:
                effort.type(child, "na")
                answered[qid] = None
        elif i in (2, 3):
            effort.type(child, "" if i == 3 else "n")
        elif i == 4:
            effort.type(child, "4")
        elif i == 5:
            effort.type(child, "")
        elif i == 6:
            child.expect(pexpect.EOF)
            break
        else:
            break
    child.close()
    effort.questions = _answered(db, ref, reviewer)
    return effort


def _answered(db: Path, ref: str, reviewer: str) -> set[str]:
    """The questions the walk asked and the script answered (one-line ratings included), from the database."""
    from sqlmodel import col, select

    from butterfly.store.db import open_session, sqlite_url
    from butterfly.store.models import Answer, Review, Ticket

    with open_session(sqlite_url(db)) as s:
        rows = s.exec(
            select(Answer.question_id)
            .join(Review, col(Review.id) == col(Answer.review_id))
            .join(Ticket, col(Ticket.id) == col(Review.ticket_id))
            .where(Ticket.external_id == ref, Review.reviewer == reviewer)
        ).all()
    return set(rows)


FOLLOW_UPS: set[str] = set()


def follow_ups(e: Effort) -> int:
    """Follow-up questions (``when``) the walk asked because an answer made them relevant."""
    if not FOLLOW_UPS:
        from butterfly.checklist.model import load_builtin

        FOLLOW_UPS.update(q.id for q in load_builtin("butterfly", "en").questions if q.conditions)
    return len(e.questions & FOLLOW_UPS)


def report(title: str, efforts: list[Effort]) -> None:
    def stat(values: list[int]) -> str:
        if not values:
            return "none"
        return f"median {statistics.median(values):g}, max {max(values)}"

    q = [len(e.questions) for e in efforts]
    keys = [e.keys - e.text_keys for e in efforts]
    print(f"{title} ({len(efforts)} walks)")
    print(f"  questions asked:            {stat(q)}")
    print(f"  prompts answered:           {stat([e.prompts for e in efforts])}")
    print(f"  keystrokes (answers+Enter): {stat(keys)}  (text answers' words excluded)")
    print(f"  keystrokes with text words: {stat([e.keys for e in efforts])}")
    print(f"  text answers requested:     {stat([e.text_answers for e in efforts])}")
    print(f"  follow-ups asked:           {stat([follow_ups(e) for e in efforts])}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="4 tickets from each source instead of 10")
    args = parser.parse_args()
    n = 4 if args.quick else 10
    sources: list[tuple[str, Path, list[Path]]] = [
        ("examples", WORK / "effort_examples.db", [ROOT / "examples" / "tickets.csv"])
    ]
    if SERVICENOW.is_file():
        sources.append(("servicenow", WORK / "effort_servicenow.db", [SERVICENOW]))
    else:
        print(f"skipped the ServiceNow log: {SERVICENOW} not found")
    results: dict[str, list[Effort]] = {"default": [], "one-off": [], "deep": []}
    stamp = f"effort{os.getpid()}"
    for name, db, files in sources:
        _import(db, files)
        refs = _closed(db, n)
        print(f"{name}: {len(refs)} closed tickets: {', '.join(refs)}")
        for mode in results:
            for ref in refs:
                e = walk(db, ref, f"{stamp}-{mode}", mode == "deep", one_off=mode == "one-off")
                results[mode].append(e)
                print(
                    f"  {mode:<8} {ref}: {len(e.questions)} questions, {e.prompts} prompts, "
                    f"{e.keys - e.text_keys} keys (+{e.text_keys} text), {e.text_answers} text answers, "
                    f"{follow_ups(e)} follow-ups",
                    flush=True,
                )
    report("default walk, proposals accepted", results["default"])
    report("default walk, recurrence answered one-off (no follow-up applies)", results["one-off"])
    report("deep walk (--deep), proposals accepted", results["deep"])


if __name__ == "__main__":
    main()
