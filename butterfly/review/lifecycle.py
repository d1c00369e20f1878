"""The review lifecycle: one reviewer's butterfly check of one ticket, started, answered, completed, reopened.

Each reviewer has their own review of a ticket (unique ``(ticket_id, reviewer)``). A review is a *draft* while
it is being answered and *complete* once the reviewer says so; it can be reopened and edited, and every change
of an answer is kept in the history (:mod:`butterfly.review.answers`). Lists and details are in
:mod:`butterfly.review.queries`, the non-interactive path in :mod:`butterfly.review.answers_file`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlmodel import select

from butterfly.checklist.model import (
    LANGUAGES,
    Checklist,
    Question,
    Scale,
    load_builtin,
    missing_required,
    resolve_checklist,
)
from butterfly.conversation.snapshot import delete_for_review
from butterfly.errors import (
    ConflictError,
    FileProblemsError,
    InvalidInputError,
    NotFoundError,
)
from butterfly.labels import ui
from butterfly.review.answers import answer_values, answers_for
from butterfly.review.experience import load_experience_levels
from butterfly.review.findings import sync_findings
from butterfly.review.guards import evaluate
from butterfly.settings import get_settings
from butterfly.store.models import Review, ReviewStatus, TicketStatus
from butterfly.store.retry import RetryWrite, wait_if_locked, write_attempts
from butterfly.timeutil import utcnow

if TYPE_CHECKING:
    from sqlmodel import Session

    from butterfly.store.models import Finding, Ticket

REVIEWABLE_STATUSES = (TicketStatus.closed.value, TicketStatus.resolved.value)


# -- checklists of a review -------------------------------------------------------------------------------


def load_lenses(names: Sequence[str], lang: str) -> list[Checklist]:
    """The lens checklists named (``human-needs``, ``surprise`` or a lens file); each must be ``kind: lens``."""
    out: list[Checklist] = []
    for name in names:
        lens = resolve_checklist(name, lang, kind="lens")
        if all(existing.id != lens.id for existing in out):
            out.append(lens)
    return out


def review_checklist(review: Review, lang: str | None = None) -> Checklist:
    """The checklist a review was started with (shipped by id, or the configured team checklist)."""
    language = lang or review.language
    try:
        return load_builtin(review.checklist_id, language)
    except (NotFoundError, FileProblemsError):
        pass

    configured = get_settings().checklist
    if configured:
        try:
            cl = resolve_checklist(configured, language)
            if cl.id == review.checklist_id:
                return cl
        except (NotFoundError, FileProblemsError):
            pass
    return load_builtin("butterfly", language)


def question_scales(checklist: Checklist, lenses: Sequence[Checklist]) -> dict[str, Scale]:
    """The rating scale of every question: its own checklist's (a team lens may use another scale)."""
    return {q.id: cl.scale for cl in (checklist, *lenses) for q in cl.questions}


def all_questions(checklist: Checklist, lenses: Sequence[Checklist]) -> list[Question]:
    """The six cells' questions, then each lens's."""
    return [*checklist.questions, *(q for lens in lenses for q in lens.questions)]


# -- lifecycle ----------------------------------------------------------------------------------------------


def ensure_reviewable(ticket: Ticket, *, allow_open: bool = False) -> None:
    """Only closed or resolved tickets are reviewed (unless ``allow_open``)."""
    if allow_open or ticket.status in REVIEWABLE_STATUSES:
        return
    raise InvalidInputError(
        f"ticket {ticket.external_id} is {ticket.status}: only closed or resolved tickets are reviewed",
        hint="review it once it is closed, or pass --allow-open to review it anyway",
    )


def get_review(*, session: Session, ticket_id: int, reviewer: str) -> Review | None:
    return session.exec(
        select(Review)
        .where(Review.ticket_id == ticket_id, Review.reviewer == reviewer)
        .execution_options(populate_existing=True)
    ).first()


def start_review(
    *,
    session: Session,
    ticket: Ticket,
    reviewer: str,
    checklist: Checklist,
    lenses: Sequence[str] = (),
    allow_open: bool = False,
) -> Review:
    """The reviewer's review of ``ticket``, created if there is none yet (race-safe).

    New ``lenses`` are added to an existing review's lenses.
    """
    assert ticket.id is not None
    reviewer = reviewer.strip()
    if not reviewer:
        raise InvalidInputError("the reviewer name is empty", hint="pass --reviewer NAME or set BUTTERFLY_REVIEWER")
    locked = 0
    for _attempt in write_attempts():
        review = get_review(session=session, ticket_id=ticket.id, reviewer=reviewer)
        if review is not None:
            missing = [name for name in lenses if name not in review.lenses]
            if missing:
                review = update_review(session, review, lenses=[*review.lenses, *missing])
            return review
        ensure_reviewable(ticket, allow_open=allow_open)
        review = Review(
            ticket_id=ticket.id,
            reviewer=reviewer,
            checklist_id=checklist.id,
            checklist_version=checklist.version,
            language=checklist.language,
            lenses=list(dict.fromkeys(lenses)),
        )
        session.add(review)
        try:
            session.commit()
        except IntegrityError:
            session.rollback()  # another process created it at the same moment: use theirs
            continue
        except OperationalError as exc:
            session.rollback()
            if not wait_if_locked(exc, locked):
                raise
            locked += 1
            continue
        return review
    raise ConflictError(f"could not start the review of {ticket.external_id}; try again")


def update_review(session: Session, review: Review, *, commit: bool = True, **values: Any) -> Review:
    """Compare-and-swap update of the review row (bumps ``version`` and ``updated_at``)."""
    table = Review.__table__  # type: ignore[attr-defined]
    current = review
    for _attempt in write_attempts():
        result = session.execute(
            sa.update(table)
            .where(table.c.id == current.id, table.c.version == current.version)
            .values(**values, updated_at=utcnow(), version=current.version + 1)
        )
        if getattr(result, "rowcount", 0) == 1:
            if commit:
                session.commit()
            else:
                session.flush()
            fresh = session.get(Review, current.id, populate_existing=True)
            assert fresh is not None
            return fresh
        if not commit:
            raise RetryWrite()
        session.rollback()
        reloaded = session.get(Review, current.id, populate_existing=True)
        if reloaded is None:
            raise NotFoundError(f"review {current.id} no longer exists")
        current = reloaded
    raise ConflictError(f"review {review.id} kept changing; try again")


def set_position(*, session: Session, review: Review, question_id: str | None) -> Review:
    """Remember the question the reviewer is on (the resume point)."""
    if review.position == question_id:
        return review
    return update_review(session, review, position=question_id)


def set_experience_level(*, session: Session, review: Review, level: str | None) -> Review:
    """Store the overall experience level the customer got (``devil`` … ``ultimate``), or clear it."""
    if level is not None:
        level = load_experience_levels().level(level).id
    if review.experience_level == level:
        return review
    return update_review(session, review, experience_level=level)


def required_gaps(*, session: Session, review: Review) -> list[str]:
    """Ids of the required questions the review still has no answer to (follow-ups only when they apply)."""
    assert review.id is not None
    checklist = review_checklist(review)
    questions = all_questions(checklist, load_lenses(review.lenses, checklist.language))
    answers = answers_for(session=session, review_id=review.id)
    return missing_required(questions, answer_values(answers), answers)


def gaps_error(ticket_ref: str, missing: Sequence[str], lang: str = "en") -> InvalidInputError:
    """The refusal to mark a review complete while required questions are unanswered, naming them, in ``lang``
    (the review's language: ``butterfly/data/walk.yaml``)."""
    shown = ", ".join(missing[:10]) + (ui("complete.more", lang, n=len(missing) - 10) if len(missing) > 10 else "")
    return InvalidInputError(
        ui("complete.refused_file", lang, ticket=ticket_ref, n=len(missing), ids=shown),
        hint=ui("complete.refused_file.hint", lang),
    )


def complete_review(
    *, session: Session, review: Review, allow_gaps: bool = False, ticket_ref: str | None = None
) -> Review:
    """Mark the review complete (a no-op when it already is).

    Refused (:class:`InvalidInputError`) while a required question is unanswered, unless ``allow_gaps``: then
    the review is completed and ``allow_gaps`` is recorded on it.
    """
    if review.status == ReviewStatus.complete.value:
        return review
    missing = required_gaps(session=session, review=review)
    if missing and not allow_gaps:
        lang = review.language if review.language in LANGUAGES else "en"
        raise gaps_error(ticket_ref or f"review {review.id}", missing, lang)
    return update_review(
        session, review, status=ReviewStatus.complete.value, completed_at=utcnow(), allow_gaps=bool(missing)
    )


def reopen_review(*, session: Session, review: Review) -> Review:
    """Make a complete review a draft again so it can be edited (the history keeps every change)."""
    if review.status == ReviewStatus.draft.value:
        return review
    return update_review(session, review, status=ReviewStatus.draft.value, completed_at=None, allow_gaps=False)


def discard_if_empty(*, session: Session, review: Review) -> bool:
    """Delete a draft that has no answer, action item or experience level (a walk quit before answering)."""
    from sqlmodel import func

    from butterfly.store.models import ActionItem, Answer, AnswerChange, Finding

    if review.status != ReviewStatus.draft.value or review.experience_level or review.id is None:
        return False
    for model in (Answer, AnswerChange, ActionItem, Finding):
        n = session.exec(select(func.count()).select_from(model).where(model.review_id == review.id)).one()
        if n:
            return False
    fresh = session.get(Review, review.id)
    if fresh is None:
        return False
    delete_for_review(session=session, review_id=review.id)
    session.flush()
    session.delete(fresh)
    session.commit()
    return True


def find_review(*, session: Session, ticket: Ticket, reviewer: str | None, default_reviewer: str) -> Review:
    """The review of ``ticket`` by ``reviewer``; without one, the default reviewer's, or the only one."""
    assert ticket.id is not None
    if reviewer:
        review = get_review(session=session, ticket_id=ticket.id, reviewer=reviewer)
        if review is None:
            raise NotFoundError(f"{reviewer} has not reviewed ticket {ticket.external_id}")
        return review
    reviews = list(session.exec(select(Review).where(Review.ticket_id == ticket.id)).all())
    if not reviews:
        raise NotFoundError(
            f"ticket {ticket.external_id} has no review yet", hint=f"start one: butterfly review {ticket.external_id}"
        )
    for review in reviews:
        if review.reviewer == default_reviewer:
            return review
    if len(reviews) == 1:
        return reviews[0]
    names = ", ".join(sorted(r.reviewer for r in reviews))
    raise InvalidInputError(
        f"ticket {ticket.external_id} has reviews by {names}", hint="choose one with --reviewer NAME"
    )


def refresh_findings(
    *, session: Session, review: Review, ticket: Ticket, questions: Sequence[Question], lang: str, commit: bool = True
) -> list[Finding]:
    """Recompute the guards' findings from the review's current answers and store them."""
    assert review.id is not None
    values = answer_values(answers_for(session=session, review_id=review.id))
    specs = evaluate(questions=questions, answers=values, ticket=ticket, lang=lang)
    return sync_findings(session=session, review_id=review.id, specs=specs, by=review.reviewer, commit=commit)
