"""The per-ticket retrospective: ticket facts, timeline, the conversation's facts and key moments, each reviewer's
six cells side by side, the butterfly figure's scores, findings, action items and similar tickets at other
customers. The report's data model is in :mod:`.ticket_model`, answers as text in :mod:`.answer_text`, the
conversation section in :mod:`.ticket_conversation`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from sqlmodel import col, select

from butterfly.checklist.model import DEFAULT_CHECKLIST_ID, Checklist, load_builtin, resolve_checklist
from butterfly.clock import Clock
from butterfly.errors import ButterflyError, NotFoundError
from butterfly.reports.answer_text import show_answer
from butterfly.reports.finding_text import details_in
from butterfly.reports.ticket_conversation import conversation_section
from butterfly.reports.ticket_model import (
    TIMELINE_FIELDS,
    ActionRow,
    AnswerShown,
    CellSection,
    FindingRow,
    LensSection,
    QuestionRow,
    ReviewSummary,
    SimilarRow,
    TicketFacts,
    TicketReport,
    TimelineStep,
)
from butterfly.reports.ticket_redact import customer_names, redact_report
from butterfly.reports.ticket_states import states_section
from butterfly.review.actions import is_overdue
from butterfly.review.experience import load_experience_levels
from butterfly.review.guards import text as guard_text
from butterfly.review.scoring import AnswerValue, cell_scores
from butterfly.review.similar import similar_tickets
from butterfly.store.models import ActionItem, Answer, Finding, FindingKind, FindingStatus, Review
from butterfly.tickets import ticket_ref
from butterfly.timeutil import as_utc, utcnow

if TYPE_CHECKING:
    from sqlmodel import Session

    from butterfly.store.models import Ticket

__all__ = ["TicketReport", "build_ticket_report", "show_answer"]

# -- building -----------------------------------------------------------------------------------------------


def _facts(ticket: Ticket) -> TicketFacts:
    assert ticket.id is not None
    return TicketFacts(
        id=ticket.id,
        ref=ticket_ref(ticket.source, ticket.external_id),
        source=ticket.source,
        external_id=ticket.external_id,
        customer=ticket.customer,
        organization=ticket.organization,
        subject=ticket.subject,
        description=ticket.description,
        category=ticket.category,
        subcategory=ticket.subcategory,
        tags=[str(t) for t in (ticket.tags or [])],
        status=ticket.status,
        priority=ticket.priority,
        channel=ticket.channel,
        group_name=ticket.group_name,
        assignee=ticket.assignee,
        problem_id=ticket.problem_id,
    )


def _timeline(ticket: Ticket) -> list[TimelineStep]:
    steps: list[TimelineStep] = []
    created = as_utc(ticket.created_at)
    previous: datetime | None = None
    for key in TIMELINE_FIELDS:
        at = as_utc(getattr(ticket, key))
        if at is None:
            continue
        steps.append(
            TimelineStep(
                key=key,
                at=at,
                since_created_s=(at - created).total_seconds() if created is not None and key != "created_at" else None,
                since_previous_s=(at - previous).total_seconds() if previous is not None else None,
            )
        )
        previous = at
    return steps


def _checklist_for(checklist_id: str, lang: str, override: Checklist | None) -> Checklist:
    if override is not None and override.id == checklist_id:
        return override
    try:
        return load_builtin(checklist_id, lang)
    except NotFoundError:
        return override if override is not None else load_builtin(DEFAULT_CHECKLIST_ID, lang)


def _rows(
    checklist: Checklist,
    reviews: Sequence[Review],
    answers: dict[int, dict[str, Answer]],
    labels: dict[str, str],
    tz: str,
    withheld: Mapping[tuple[int, str], str] | None = None,
) -> list[CellSection]:
    """The answers cell by cell; an answer with an open blame-wording finding shows ``withheld``'s sentence
    instead of its words (a report never repeats wording that pins the cause on a person)."""
    sections = []
    for cell in checklist.cells:
        rows = []
        for q in cell.questions:
            shown = []
            for r in reviews:
                assert r.id is not None
                a = answers.get(r.id, {}).get(q.id)
                if a is None:
                    shown.append(AnswerShown(text="", answered=False, na=False))
                elif withheld and (r.id, q.id) in withheld:
                    shown.append(AnswerShown(text=withheld[(r.id, q.id)], answered=True, na=False))
                else:
                    text = show_answer(q, a.value, a.na, checklist, labels, tz)
                    shown.append(AnswerShown(text=text, answered=bool(text) or a.na, na=a.na, note=a.note))
            rows.append(QuestionRow(id=q.id, text=q.text, kind=q.kind.value, answers=shown))
        scores = []
        for r in reviews:
            assert r.id is not None
            values = {qid: AnswerValue(a.value, a.na) for qid, a in answers.get(r.id, {}).items()}
            score = next(s.score for s in cell_scores(checklist, values) if s.cell_id == cell.id)
            scores.append(score)
        sections.append(
            CellSection(
                id=cell.id,
                title=cell.title,
                purpose=cell.purpose,
                side=cell.side,
                horizon=cell.horizon,
                scores=scores,
                questions=rows,
            )
        )
    return sections


def _similar(
    session: Session, ticket: Ticket, limit: int, similarity: str | None, lang: str
) -> tuple[list[SimilarRow], str]:
    """Similar tickets at other customers (:func:`butterfly.review.similar.similar_tickets`)."""
    rows = [
        SimilarRow(
            ref=ticket_ref(item.ticket.source, item.ticket.external_id),
            source=item.ticket.source,
            external_id=item.ticket.external_id,
            customer=item.ticket.customer,
            subject=item.ticket.subject,
            category=item.ticket.category,
            closed_at=as_utc(item.ticket.closed_at),
            score=round(float(item.score), 3),
        )
        for item in similar_tickets(session=session, ticket=ticket, limit=limit, engine=similarity, lang=lang)[:limit]
    ]
    return rows, "similar"


def build_ticket_report(
    *,
    session: Session,
    ticket: Ticket,
    lang: str,
    labels: dict[str, str],
    reviewers: Sequence[str] | None = None,
    checklist: Checklist | None = None,
    tz: str = "UTC",
    similar_limit: int = 5,
    now: datetime | None = None,
    thread: bool = False,
    redact: bool = False,
    similarity: str | None = None,
) -> TicketReport:
    """Everything the retrospective of ``ticket`` shows, in ``lang``; only ``reviewers``' reviews when given.

    ``thread``: the conversation section carries the whole thread too; ``redact``: the customer's identity, message
    text and author names are masked (:mod:`.ticket_redact`), assignees become ``[agent N]``
    (:mod:`.ticket_states`); ``similarity``: the engine of the similar tickets, ``tfidf`` or ``embeddings``
    (default: the settings')."""
    assert ticket.id is not None
    now = now or utcnow()
    reviews = list(
        session.exec(
            select(Review).where(Review.ticket_id == ticket.id).order_by(col(Review.started_at), col(Review.id))
        )
    )
    if reviewers:
        wanted = list(dict.fromkeys(reviewers))
        missing = [name for name in wanted if name not in {r.reviewer for r in reviews}]
        if missing:
            have = ", ".join(r.reviewer for r in reviews) or "nobody yet"
            raise NotFoundError(
                f"no review of {ticket_ref(ticket.source, ticket.external_id)} by {', '.join(missing)}",
                hint=f"reviewed by: {have}",
            )
        reviews = sorted((r for r in reviews if r.reviewer in wanted), key=lambda r: wanted.index(r.reviewer))
    review_ids = [r.id for r in reviews if r.id is not None]
    answers: dict[int, dict[str, Answer]] = {rid: {} for rid in review_ids}
    if review_ids:
        for a in session.exec(select(Answer).where(col(Answer.review_id).in_(review_ids))):
            answers[a.review_id][a.question_id] = a
    main = _checklist_for(reviews[0].checklist_id if reviews else DEFAULT_CHECKLIST_ID, lang, checklist)
    by_review = {r.id: r.reviewer for r in reviews}
    details = details_in(  # finding details of reviews written in another language, in the report's
        session=session,
        lang=lang,
        review_ids=review_ids,
        checklist_for=lambda cid: main if cid == main.id else _checklist_for(cid, lang, checklist),
        tz=tz,
    )
    findings = []
    withheld: dict[tuple[int, str], str] = {}
    reworded = dismissed = 0
    if review_ids:
        for f in session.exec(
            select(Finding).where(col(Finding.review_id).in_(review_ids)).order_by(col(Finding.id))
        ).all():
            if f.status == FindingStatus.reworded.value:
                reworded += 1
                continue
            if f.status == FindingStatus.dismissed.value:
                dismissed += 1
                continue
            detail = details.get((f.review_id, f.kind, f.question_id), f.detail)
            if f.kind == FindingKind.blame_wording.value:
                detail = guard_text("finding.blame_report", lang)
                if f.question_id:
                    withheld[(f.review_id, f.question_id)] = detail
            qtext = None
            if f.question_id:
                try:
                    qtext = main.question(f.question_id).text
                except KeyError:
                    qtext = f.question_id
            findings.append(
                FindingRow(
                    review_id=f.review_id,
                    reviewer=by_review.get(f.review_id, ""),
                    kind=f.kind,
                    question_id=f.question_id,
                    question_text=qtext,
                    detail=detail,
                    kept=f.kept,
                    created_at=f.created_at,
                )
            )
    cells = _rows(main, reviews, answers, labels, tz, withheld)
    known = set(main.question_ids())

    lens_ids = list(dict.fromkeys(lens for r in reviews for lens in (r.lenses or [])))
    lenses = []
    for lens_id in lens_ids:
        try:  # a shipped lens id, or a team's own lens file (stored as its path)
            lens = resolve_checklist(lens_id, lang)
        except ButterflyError:
            continue
        known.update(lens.question_ids())
        lenses.append(
            LensSection(id=lens.id, title=lens.title, cells=_rows(lens, reviews, answers, labels, tz, withheld))
        )

    extra_ids = sorted({qid for per in answers.values() for qid in per if qid not in known})
    extra = []
    for qid in extra_ids:
        shown = []
        for r in reviews:
            assert r.id is not None
            found_answer = answers[r.id].get(qid)
            if found_answer is None:
                shown.append(AnswerShown(text="", answered=False, na=False))
                continue
            text = show_answer(None, found_answer.value, found_answer.na, main, labels, tz)
            shown.append(AnswerShown(text=text, answered=True, na=found_answer.na, note=found_answer.note))
        extra.append(QuestionRow(id=qid, text=qid, kind="unknown", answers=shown))

    levels = load_experience_levels()
    summaries = []
    for index, r in enumerate(reviews):
        assert r.id is not None
        level_label = level_text = None
        if r.experience_level:
            try:
                lv = levels.level(r.experience_level)
                level_label, level_text = lv.label(lang), lv.describe(lang)
            except NotFoundError:
                level_label = r.experience_level
        summaries.append(
            ReviewSummary(
                id=r.id,
                reviewer=r.reviewer,
                status=r.status,
                checklist_id=r.checklist_id,
                checklist_version=r.checklist_version,
                language=r.language,
                lenses=list(r.lenses or []),
                experience_level=r.experience_level,
                experience_label=level_label,
                experience_description=level_text,
                started_at=r.started_at,
                completed_at=r.completed_at,
                cell_scores={c.id: c.scores[index] for c in cells},
                allow_gaps=r.allow_gaps,
            )
        )

    # every action item of this ticket (also those from reviews not shown, they belong to the ticket)
    all_review_ids = [rid for rid in session.exec(select(Review.id).where(Review.ticket_id == ticket.id))]
    condition = col(ActionItem.ticket_id) == ticket.id
    if all_review_ids:
        condition = condition | col(ActionItem.review_id).in_(all_review_ids)
    today = Clock(tz).day_of(now)  # overdue as of the report's time, in the timezone setting
    actions = [
        ActionRow(
            id=a.id or 0,
            kind=a.kind,
            text=a.text,
            owner=a.owner,
            due_date=a.due_date,
            status=a.status,
            overdue=is_overdue(a, today),
            created_at=a.created_at,
            created_by=a.created_by,
        )
        for a in session.exec(select(ActionItem).where(condition).order_by(col(ActionItem.id))).all()
    ]
    similar, method = _similar(session, ticket, similar_limit, similarity, lang)
    states, assignee = states_section(session=session, ticket=ticket, redact=redact)
    report = TicketReport(
        language=lang,
        timezone=tz,
        generated_at=now,
        checklist_id=main.id,
        checklist_title=main.title,
        ticket=_facts(ticket),
        timeline=_timeline(ticket),
        reviews=summaries,
        cells=cells,
        lenses=lenses,
        extra_answers=extra,
        findings=findings,
        blame_reworded=reworded,
        blame_dismissed=dismissed,
        actions=actions,
        similar=similar,
        similar_method=method,
        conversation=conversation_section(session=session, ticket=ticket, reviews=reviews, whole=thread, redact=redact),
        states=states,
    )
    report.ticket.assignee = assignee  # "[agent N]" with redact, as in the state timeline
    if redact:
        report = redact_report(report, customer_names(report, [ticket.requester]))
    return report
