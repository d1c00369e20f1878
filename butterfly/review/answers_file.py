"""``butterfly review TICKET --answers FILE``: an answers file read, validated and written in one transaction.

:func:`apply_answers_file` validates every answer in the file first and then writes them all at once, so a bad
file saves nothing; errors name the file, the question id and (for YAML) the line.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy.exc import IntegrityError, OperationalError

from butterfly.checklist.model import Checklist, missing_required
from butterfly.conversation import snapshot
from butterfly.errors import (
    ConflictError,
    FileProblemsError,
    InvalidInputError,
    NotFoundError,
    Problem,
)
from butterfly.files import read_input_text
from butterfly.review.actions import create_action, parse_due, parse_kind, parse_text
from butterfly.review.answers import answer_values, answers_for, validate_answer, write_answer
from butterfly.review.experience import load_experience_levels
from butterfly.review.guards import PublicationStatus, publication_status
from butterfly.review.lifecycle import (
    all_questions,
    discard_if_empty,
    ensure_reviewable,
    gaps_error,
    get_review,
    load_lenses,
    question_scales,
    refresh_findings,
    start_review,
    update_review,
)
from butterfly.store.models import ReviewStatus
from butterfly.store.retry import RetryWrite, wait_if_locked, write_attempts
from butterfly.timeutil import utcnow
from butterfly.yamlload import JsonDataError, json_loads, key_lines, load_yaml

if TYPE_CHECKING:
    from sqlmodel import Session

    from butterfly.store.models import ActionItem, Finding, Review, Ticket


ENTRY_KEYS = ("value", "na", "note", "action")
ACTION_KEYS = ("kind", "text", "owner", "due")
TOP_LEVEL_KEYS = ("experience_level",)
# -- answers file -------------------------------------------------------------------------------------------


@dataclass
class PlannedAction:
    question_id: str
    kind: str
    text: str
    owner: str | None
    due: date | None


@dataclass
class PlannedAnswer:
    question_id: str
    value: Any
    na: bool
    note: str | None


@dataclass
class AnswersPlan:
    """A validated answers file, ready to write."""

    path: str
    answers: list[PlannedAnswer]
    actions: list[PlannedAction]
    experience_level: str | None = None
    set_experience: bool = False


@dataclass
class ApplyResult:
    review: Review
    saved: list[str]
    unchanged: list[str]
    actions: list[ActionItem]
    findings: list[Finding]
    publication: PublicationStatus


def read_answers_file(path: str | Path) -> tuple[Any, dict[tuple[str, ...], int], str]:
    """Parse an answers file (YAML, or JSON by extension); problems name the file and line.

    Read with a size limit; YAML through :func:`butterfly.yamlload.load_yaml` (no aliases, plain data, no
    duplicate keys), JSON with the same duplicate-key and long-number checks.
    """
    p = Path(path)
    name = str(p)
    text = read_input_text(p, encoding="utf-8-sig")
    if p.suffix.lower() != ".json":
        data, root = load_yaml(text, filename=name)
        return data, key_lines(root), name
    try:
        data = json_loads(text)
    except json.JSONDecodeError as exc:
        raise FileProblemsError(name, [Problem(name, f"not valid JSON: {exc.msg}", line=exc.lineno)]) from None
    except JsonDataError as exc:
        raise FileProblemsError(name, [Problem(name, str(exc))]) from None
    except RecursionError:  # json parses recursively: thousands of nested [ or { exhaust the stack
        raise FileProblemsError(name, [Problem(name, "not an answers file: nested too deeply")]) from None
    try:  # JSON is YAML (for the lines of keys); a JSON-only spelling just leaves the lines out
        _, root = load_yaml(text, filename=name)
    except FileProblemsError:
        root = None
    return data, key_lines(root), name


def _bool_hint(raw: object) -> str:
    return " (YAML reads unquoted yes/no/on/off as true/false: put text in quotes)" if isinstance(raw, bool) else ""


def plan_answers(
    data: Any,
    *,
    filename: str,
    lines: dict[tuple[str, ...], int],
    checklist: Checklist,
    lenses: Sequence[Checklist],
    tz: str | None = None,
) -> AnswersPlan:
    """Validate the whole answers file against the checklist; every problem is reported, nothing is written."""
    problems: list[Problem] = []

    def problem(message: str, path: tuple[str, ...], qid: str | None = None) -> None:
        line = None
        for depth in range(len(path), 0, -1):
            line = lines.get(path[:depth])
            if line is not None:
                break
        problems.append(Problem(filename, message, line=line, field=qid or (".".join(path) or None)))

    if not isinstance(data, dict):
        raise FileProblemsError(
            filename, [Problem(filename, "an answers file is a mapping of question id -> answer", line=1)]
        )
    prefix: tuple[str, ...] = ()
    top = data
    entries: dict[Any, Any]
    if isinstance(data.get("answers"), dict):
        entries = data["answers"]
        prefix = ("answers",)
        for key in data:
            if key != "answers" and key not in TOP_LEVEL_KEYS:
                problem(f"unknown top-level key '{key}'", (str(key),))
    else:
        entries = {k: v for k, v in data.items() if k not in TOP_LEVEL_KEYS}
    questions = {q.id: q for q in all_questions(checklist, lenses)}
    scales = question_scales(checklist, lenses)
    plan = AnswersPlan(path=filename, answers=[], actions=[])
    if "experience_level" in top:
        raw_level = top["experience_level"]
        if raw_level is None or raw_level == "":
            plan.set_experience = True
        else:
            try:
                plan.experience_level = load_experience_levels().level(str(raw_level).strip()).id
                plan.set_experience = True
            except NotFoundError as exc:
                problem(f"{exc.message} ({exc.hint})", ("experience_level",), "experience_level")
    for raw_key, entry in entries.items():
        qid = str(raw_key)
        path = (*prefix, qid)
        question = questions.get(qid)
        if question is None:
            close = difflib.get_close_matches(qid, list(questions), n=3, cutoff=0.6)
            lens_ids = {"human-needs", "surprise"}
            hint = ""
            if qid.split(".", 1)[0] in lens_ids:
                hint = f"; add --lens {qid.split('.', 1)[0]} to answer lens questions"
            elif close:
                hint = "; did you mean " + ", ".join(close) + "?"
            problem(f"unknown question id '{qid}'{hint}", path, qid)
            continue
        value: Any = entry
        note: str | None = None
        na = False
        actions_raw: list[Any] = []
        if isinstance(entry, dict):
            for key in entry:
                if key not in ENTRY_KEYS:
                    problem(f"unknown key '{key}' (use: {', '.join(ENTRY_KEYS)})", (*path, str(key)), qid)
            value = entry.get("value")
            na_raw = entry.get("na", False)
            if not isinstance(na_raw, bool):
                problem("'na' must be true or false", (*path, "na"), qid)
            na = na_raw is True
            if entry.get("note") is not None:
                note = str(entry["note"]).strip() or None
            if "action" in entry and entry["action"] is not None:
                actions_raw = entry["action"] if isinstance(entry["action"], list) else [entry["action"]]
            if value is None and not na:
                problem("needs a 'value' (or 'na: true')", path, qid)
                continue
        if na:
            planned = PlannedAnswer(qid, None, True, note)
        else:
            try:
                v, is_na = validate_answer(question, value, scales[qid], tz=tz)
            except InvalidInputError as exc:
                hint = f" ({exc.hint})" if exc.hint else ""
                vpath = (*path, "value") if isinstance(entry, dict) else path
                problem(f"{exc.message}{hint}{_bool_hint(value)}", vpath, qid)
                continue
            planned = PlannedAnswer(qid, v, is_na, note)
        plan.answers.append(planned)
        for i, spec in enumerate(actions_raw):
            apath = (*path, "action") if len(actions_raw) == 1 else (*path, "action", str(i))
            if not isinstance(spec, dict):
                problem("an action is a mapping with kind, text, owner, due", apath, qid)
                continue
            for key in spec:
                if key not in ACTION_KEYS:
                    problem(f"unknown action key '{key}' (use: {', '.join(ACTION_KEYS)})", (*apath, str(key)), qid)
            try:
                kind = parse_kind(spec.get("kind") or (question.action.value if question.action else ""))
                body = parse_text(spec.get("text"))
                due = parse_due(spec.get("due"))
            except InvalidInputError as exc:
                hint = f" ({exc.hint})" if exc.hint else ""
                problem(f"action: {exc.message}{hint}", apath, qid)
                continue
            owner = str(spec["owner"]).strip() if spec.get("owner") is not None else None
            plan.actions.append(PlannedAction(qid, kind.value, body, owner or None, due))
    if problems:
        raise FileProblemsError(filename, problems)
    return plan


def apply_answers_file(
    *,
    session: Session,
    path: str | Path,
    ticket: Ticket,
    reviewer: str,
    checklist: Checklist,
    lenses: Sequence[str] = (),
    allow_open: bool = False,
    complete: bool = False,
    tz: str | None = None,
    allow_gaps: bool = False,
) -> ApplyResult:
    """``review TICKET --answers FILE``: validate everything, then write it all in one transaction.

    Errors name the file, the question id and (for YAML) the line; a file with any error saves nothing.
    Writing the same file twice changes nothing the second time.
    """
    ensure_reviewable(ticket, allow_open=allow_open)
    existing = get_review(session=session, ticket_id=ticket.id or 0, reviewer=reviewer)
    lens_names = list(dict.fromkeys([*(existing.lenses if existing else []), *lenses]))
    lens_lists = load_lenses(lens_names, checklist.language)
    data, lines, name = read_answers_file(path)
    plan = plan_answers(data, filename=name, lines=lines, checklist=checklist, lenses=lens_lists, tz=tz)
    review = start_review(
        session=session, ticket=ticket, reviewer=reviewer, checklist=checklist, lenses=lens_names, allow_open=allow_open
    )
    assert review.id is not None
    snapshot.record(session=session, review=review, ticket=ticket)  # the conversation facts the answers go with
    questions = all_questions(checklist, lens_lists)
    locked = 0
    for _attempt in write_attempts():
        saved: list[str] = []
        unchanged: list[str] = []
        made: list[ActionItem] = []
        try:
            for item in plan.answers:
                outcome = write_answer(
                    session,
                    review_id=review.id,
                    question_id=item.question_id,
                    value=item.value,
                    na=item.na,
                    note=item.note,
                    by=reviewer,
                    expected_version=None,
                )
                if outcome is None:
                    raise RetryWrite()
                (saved if outcome[1] else unchanged).append(item.question_id)
            for action in plan.actions:
                made.append(
                    create_action(
                        session=session,
                        kind=action.kind,
                        text=action.text,
                        owner=action.owner,
                        due_date=action.due,
                        review_id=review.id,
                        ticket_id=ticket.id,
                        question_id=action.question_id,
                        by=reviewer,
                        commit=False,
                    )
                )
            current = session.get(type(review), review.id, populate_existing=True)
            assert current is not None
            changes: dict[str, Any] = {}
            if plan.set_experience and current.experience_level != plan.experience_level:
                changes["experience_level"] = plan.experience_level
            if complete and current.status != ReviewStatus.complete.value:
                now = answers_for(session=session, review_id=review.id)
                missing = missing_required(questions, answer_values(now), now)
                if missing and not allow_gaps:
                    raise gaps_error(ticket.external_id, missing, checklist.language)
                changes["status"] = ReviewStatus.complete.value
                changes["completed_at"] = utcnow()
                changes["allow_gaps"] = bool(missing)
            if current.status == ReviewStatus.complete.value and (saved or changes or session.new):
                raise ConflictError(
                    f"the review of {ticket.external_id} by {reviewer} is complete",
                    hint=f"reopen it first: butterfly reviews reopen {ticket.external_id} --reviewer {reviewer}",
                )
            if saved and "status" not in changes:
                changes["position"] = saved[-1]
            if changes:
                current = update_review(session, current, commit=False, **changes)
            findings = refresh_findings(
                session=session,
                review=current,
                ticket=ticket,
                questions=questions,
                lang=checklist.language,
                commit=False,
            )
            session.commit()
        except (IntegrityError, RetryWrite):
            session.rollback()
            continue
        except OperationalError as exc:
            session.rollback()
            if not wait_if_locked(exc, locked):
                raise
            locked += 1
            continue
        except BaseException:
            session.rollback()
            if existing is None:
                discard_if_empty(session=session, review=review)  # a refused first file leaves no empty draft
            raise
        values = answer_values(answers_for(session=session, review_id=review.id))
        return ApplyResult(current, saved, unchanged, made, findings, publication_status(questions, values))
    raise ConflictError(f"could not save {name}: the review kept changing under us; try again")
