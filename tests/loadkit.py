"""Concurrent reviewers for the team-mode tests and ``benchmarks/reliability.py``.

Worker processes (multiprocessing *spawn*: a fresh interpreter each, like separate ``butterfly`` commands on
several laptops) call :func:`butterfly.review.answers.save_answer` against one shared database. Every value a worker
writes is unique, so every save is an effective change and must leave exactly one history row. The parent then
verifies, from the database alone:

- every answer stored exactly once (one row per review and question);
- history complete: ``AnswerChange`` rows == saves made, and each answer's ``version`` == its number of changes;
- no lost update: per answer, the history is one unbroken chain (each change's old value is the previous
  change's new value) ending in the stored value;
- optimistic writers (``expected_version``): every save that succeeded had seen the value it replaced; every
  ``ConflictError`` is counted and left the newer answer in place.
"""

from __future__ import annotations

import itertools
import multiprocessing
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

TEXT_QUESTIONS = (
    "customer.long.consent_scope",
    "company.short.another_person",
    "company.short.blameless_root_cause",
    "company.mid.cost_of_fixing",
    "company.mid.process_patch",
    "company.mid.proactive_outreach",
    "company.long.offhand_wishes",
    "company.long.capability_plan",
)


@dataclass
class Plan:
    url: str
    workers: int
    answers: int  # saves per worker
    shared_review: int | None  # all workers answer this review's questions (contention)
    own_reviews: list[int] = field(default_factory=list)  # worker i answers own_reviews[i] (same ticket)
    pause: float = 0.0  # seconds between two saves of one worker (a person reads the next question)
    optimistic: str = "half"  # "none", "half" (even workers) or "all": save with expected_version, as the walk does

    def is_optimistic(self, index: int) -> bool:
        return self.optimistic == "all" or (self.optimistic == "half" and index % 2 == 0)

    def targets(self, index: int) -> list[int]:
        out = [] if self.shared_review is None else [self.shared_review]
        return out + ([self.own_reviews[index]] if self.own_reviews else [])

    def question(self, index: int, n: int) -> tuple[int, str]:
        """The (review, question) that worker ``index`` answers in its ``n``-th save."""
        targets = self.targets(index)
        return targets[n % len(targets)], TEXT_QUESTIONS[(n // len(targets) + index) % len(TEXT_QUESTIONS)]

    def expected_keys(self) -> set[tuple[int, str]]:
        return {self.question(i, n) for i in range(self.workers) for n in range(self.answers)}


@dataclass
class WorkerResult:
    worker: int
    saves: int = 0
    conflicts: int = 0
    errors: list[str] = field(default_factory=list)
    # for optimistic saves: (review_id, question_id, value seen before, value written)
    swaps: list[tuple[int, str, Any, Any]] = field(default_factory=list)
    seconds: float = 0.0
    slowest: float = 0.0  # the longest single save (waiting for another writer's lock included)


def setup_reviews(url: str, *, reviewers: int, ticket_ref: str = "LOAD-1") -> tuple[int, list[int]]:
    """One closed ticket, one shared review and ``reviewers`` more reviews of the same ticket."""
    from datetime import UTC, datetime, timedelta

    from butterfly.checklist.model import load_builtin
    from butterfly.review.lifecycle import start_review
    from butterfly.store.db import open_session
    from butterfly.store.models import Ticket

    checklist = load_builtin("butterfly", "en")
    with open_session(url) as session:
        t0 = datetime(2026, 5, 4, 9, tzinfo=UTC)
        ticket = Ticket(
            source="load",
            external_id=ticket_ref,
            customer="Contoso",
            subject="Export times out again",
            status="closed",
            created_at=t0,
            resolved_at=t0 + timedelta(hours=5),
            closed_at=t0 + timedelta(hours=6),
            content_hash="load",
        )
        session.add(ticket)
        session.commit()
        shared = start_review(session=session, ticket=ticket, reviewer="team", checklist=checklist)
        own = [
            start_review(session=session, ticket=ticket, reviewer=f"lead-{i}", checklist=checklist).id
            for i in range(reviewers)
        ]
        assert shared.id is not None
        return shared.id, [i for i in own if i is not None]


def worker(plan: Plan, index: int) -> WorkerResult:
    """One reviewer process: ``plan.answers`` saves, alternating the shared review and its own one."""
    import os

    os.environ.setdefault("BUTTERFLY_SQLITE_BUSY_TIMEOUT", "60")
    from butterfly.errors import ButterflyError, ConflictError
    from butterfly.review.answers import save_answer
    from butterfly.store.db import open_session
    from butterfly.store.models import Answer

    result = WorkerResult(worker=index)
    start = time.perf_counter()
    with open_session(plan.url) as session:
        for n in range(plan.answers):
            review_id, question_id = plan.question(index, n)
            value = f"w{index}-n{n}: 根因是流程缺失 / process gap"
            began = time.perf_counter()
            try:
                if plan.is_optimistic(index):
                    from sqlmodel import select

                    current = session.exec(
                        select(Answer)
                        .where(Answer.review_id == review_id, Answer.question_id == question_id)
                        .execution_options(populate_existing=True)
                    ).first()
                    seen = current.value if current is not None else None
                    version = current.version if current is not None else 0
                    session.commit()  # end the read transaction, as a user thinking between screens would
                    while True:
                        try:
                            save_answer(
                                session=session,
                                review_id=review_id,
                                question_id=question_id,
                                value=value,
                                by=f"lead-{index}",
                                expected_version=version,
                            )
                            result.swaps.append((review_id, question_id, seen, value))
                            break
                        except ConflictError:
                            result.conflicts += 1  # shown to the user, who reloads and answers again
                            current = session.exec(
                                select(Answer)
                                .where(Answer.review_id == review_id, Answer.question_id == question_id)
                                .execution_options(populate_existing=True)
                            ).first()
                            seen = current.value if current is not None else None
                            version = current.version if current is not None else 0
                            session.commit()
                else:
                    save_answer(
                        session=session, review_id=review_id, question_id=question_id, value=value, by=f"lead-{index}"
                    )
                result.saves += 1
            except ButterflyError as exc:
                result.errors.append(f"{type(exc).__name__}: {exc.message}")
                session.rollback()
            result.slowest = max(result.slowest, time.perf_counter() - began)
            if plan.pause:
                time.sleep(plan.pause)
    result.seconds = time.perf_counter() - start
    return result


def _run_worker(args: tuple[Plan, int]) -> WorkerResult:
    return worker(*args)


def run_load(plan: Plan, *, meanwhile: Any = None) -> list[WorkerResult]:
    """Run ``plan.workers`` spawned processes at once; returns their results.

    ``meanwhile()``, if given, is called once the first save is visible in the database (the reviewers are at
    work), in this process, while they keep working.
    """
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(plan.workers) as pool:
        pending = pool.map_async(_run_worker, [(plan, i) for i in range(plan.workers)])
        if meanwhile is not None:
            while not pending.ready() and _changes(plan.url) == 0:
                time.sleep(0.02)
            meanwhile()
        return pending.get()


def _changes(url: str) -> int:
    import sqlalchemy as sa

    from butterfly.store.db import get_engine

    with get_engine(url).connect() as conn:
        return int(conn.execute(sa.text("SELECT count(*) FROM answer_change")).scalar_one())


@dataclass
class Verdict:
    expected: int
    answers: int
    history: int
    saves: int
    conflicts: int
    problems: list[str]

    @property
    def ok(self) -> bool:
        return not self.problems


def verify(url: str, results: list[WorkerResult], plan: Plan) -> Verdict:
    """Check exactly-once storage, complete history and unbroken chains from the database alone."""
    from sqlmodel import select

    from butterfly.store.db import open_session
    from butterfly.store.models import Answer, AnswerChange

    review_ids = sorted({r for r, _ in plan.expected_keys()})
    problems: list[str] = []
    saves = sum(r.saves for r in results)
    if saves != plan.workers * plan.answers:
        problems.append(f"{saves} saves made of {plan.workers * plan.answers} planned")
    conflicts = sum(r.conflicts for r in results)
    for r in results:
        problems.extend(f"worker {r.worker}: {e}" for e in r.errors[:3])
    with open_session(url) as session:
        answers = list(session.exec(select(Answer).where(Answer.review_id.in_(review_ids))).all())  # type: ignore[attr-defined]
        changes = list(
            session.exec(
                select(AnswerChange).where(AnswerChange.review_id.in_(review_ids)).order_by(AnswerChange.id)  # type: ignore[attr-defined,arg-type]
            ).all()
        )
    keys = Counter((a.review_id, a.question_id) for a in answers)
    dupes = [k for k, n in keys.items() if n > 1]
    if dupes:
        problems.append(f"answers stored more than once: {dupes[:3]}")
    expected = plan.expected_keys()
    if set(keys) != expected:
        problems.append(f"stored answers differ from the planned ones: {sorted(set(keys) ^ expected)[:3]}")
    if len(changes) != saves:
        problems.append(f"history rows {len(changes)} != effective saves {saves}")
    chains: dict[tuple[int, str], list[AnswerChange]] = defaultdict(list)
    for c in changes:
        chains[(c.review_id, c.question_id)].append(c)
    current = {(a.review_id, a.question_id): a for a in answers}
    for key, chain in chains.items():
        answer = current.get(key)
        if answer is None:
            problems.append(f"history without a stored answer: {key}")
            continue
        if answer.version != len(chain):
            problems.append(f"{key}: version {answer.version} but {len(chain)} changes")
        if chain[0].old_value is not None:
            problems.append(f"{key}: first change does not start from nothing")
        for before, after in itertools.pairwise(chain):
            if after.old_value != before.new_value:
                problems.append(f"{key}: lost update between change #{before.id} and #{after.id}")
                break
        if chain[-1].new_value != answer.value:
            problems.append(f"{key}: stored value is not the last change")
    # optimistic writers: every successful save replaced exactly the value it had seen
    replaced = {(c.review_id, c.question_id, c.new_value): c.old_value for c in changes}
    for r in results:
        for review_id, question_id, seen, value in r.swaps:
            if replaced.get((review_id, question_id, value), "<missing>") != seen:
                problems.append(f"worker {r.worker}: {question_id}={value!r} overwrote an answer it had not seen")
    return Verdict(
        expected=len(expected),
        answers=len(answers),
        history=len(changes),
        saves=saves,
        conflicts=conflicts,
        problems=problems,
    )


# -- answers files for `butterfly review TICKET --answers FILE` ----------------------------------------------


def answers_file_data(variant: int, *, lang: str = "en", tag: str = "") -> dict[str, Any]:
    """A complete answers file for the shipped checklist; variants 0 and 1 differ in every answer."""
    from butterfly.checklist.model import AnswerKind, load_builtin

    checklist = load_builtin("butterfly", lang)
    values = [p.value for p in checklist.scale.points]
    data: dict[str, Any] = {}
    for n, q in enumerate(checklist.questions):
        if q.kind is AnswerKind.rating:
            data[q.id] = values[-1 - variant]
        elif q.kind is AnswerKind.yes_no:
            data[q.id] = "no" if variant else "yes"
        elif q.kind is AnswerKind.datetime:
            data[q.id] = f"2026-05-0{5 + variant}T10:{n:02d}:00+08:00"
        elif q.kind is AnswerKind.choice:
            assert q.choices
            choice = q.choices[variant % len(q.choices)].id
            data[q.id] = [choice] if q.multiple else choice
        else:
            data[q.id] = f"variant {variant}{tag}: 一线没有权限，流程缺失 (q{n})"
    return data


def stored_answers(url: str, review_id: int) -> dict[str, Any]:
    from butterfly.review.answers import answers_for
    from butterfly.store.db import open_session

    with open_session(url) as session:
        return {qid: (a.value, a.na) for qid, a in answers_for(session=session, review_id=review_id).items()}


def history_count(url: str, review_id: int) -> int:
    from sqlalchemy import func, select

    from butterfly.store.db import open_session
    from butterfly.store.models import AnswerChange

    with open_session(url) as session:
        return int(
            session.execute(
                select(func.count()).select_from(AnswerChange).where(AnswerChange.review_id == review_id)  # type: ignore[arg-type]
            ).scalar_one()
        )
