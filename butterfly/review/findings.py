"""Findings follow the text: stored, recomputed when an answer changes, reworded, dismissed.

- :func:`sync_findings` makes a review's findings match what the guards derive from its current answers. A
  blame-wording finding whose answer was reworded clean becomes ``reworded``: its quote is cleared (the answer's
  history keeps the old wording) and nothing counts it any more. Reworded into new blame wording, it is open again.
- :func:`dismiss_finding` records a reviewer's judgement that a blame-wording finding is not blame, with who and
  when. It stays dismissed while the flagged wording stays the same; new blame wording opens it again.
- Only ``open`` findings count (:data:`OPEN`): reports, the weekly counts and ``butterfly check``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from butterfly.errors import NotFoundError
from butterfly.store.models import Finding, FindingKind, FindingStatus
from butterfly.store.retry import WRITE_ATTEMPTS, write_attempts
from butterfly.timeutil import utcnow

if TYPE_CHECKING:
    from sqlmodel import Session

    from butterfly.review.guards import FindingSpec
    from butterfly.store.models import Review

OPEN = FindingStatus.open.value
BLAME = FindingKind.blame_wording.value


def _reopen(found: Finding, spec: FindingSpec) -> None:
    found.status = OPEN
    found.status_by = None
    found.status_at = None
    found.detail = spec.detail
    found.kept = spec.kept


def sync_findings(
    *,
    session: Session,
    review_id: int,
    specs: Sequence[FindingSpec],
    by: str | None = None,
    commit: bool = True,
    now: datetime | None = None,
) -> list[Finding]:
    """Make the review's findings match ``specs`` (``by``: who changed the answers, recorded on a rewording)."""
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
                elif found.status == FindingStatus.dismissed.value and found.detail == spec.detail:
                    continue  # the same wording a reviewer judged not blame
                elif found.status != OPEN:
                    _reopen(found, spec)
                    session.add(found)
                elif found.detail != spec.detail or found.kept != spec.kept:
                    found.detail = spec.detail
                    found.kept = spec.kept
                    session.add(found)
            for old_key, found in existing.items():
                if old_key in wanted:
                    continue
                if found.kind != BLAME:
                    session.delete(found)
                elif found.status == OPEN:
                    found.status = FindingStatus.reworded.value  # reworded clean: the history keeps the words
                    found.status_by = by
                    found.status_at = now or utcnow()
                    found.detail = ""
                    found.kept = False
                    session.add(found)
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
            .order_by(col(Finding.id))
            .execution_options(populate_existing=True)
        ).all()
    )


def dismiss_finding(
    *,
    session: Session,
    review: Review,
    question_id: str,
    by: str,
    now: datetime | None = None,
) -> Finding:
    """Dismiss the review's blame-wording finding on ``question_id`` as "not blame" (who and when recorded).

    Raises :class:`NotFoundError` when that question has no open or dismissed blame-wording finding.
    """
    found = session.exec(
        select(Finding).where(Finding.review_id == review.id, Finding.kind == BLAME, Finding.question_id == question_id)
    ).first()
    if found is None or found.status == FindingStatus.reworded.value:
        raise NotFoundError(
            f"no blame-wording finding on question '{question_id}' of this review",
            hint="butterfly reviews show TICKET lists the findings and their questions",
        )
    if found.status != FindingStatus.dismissed.value:
        found.status = FindingStatus.dismissed.value
        found.status_by = by
        found.status_at = now or utcnow()
        session.add(found)
        session.commit()
        session.refresh(found)
    return found
