"""The stored position of each sync (source + account): read before a run, saved after each committed page."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, select

from butterfly.store.models import SyncState
from butterfly.timeutil import utcnow


def load(*, session: Session, source: str, account: str) -> dict[str, Any]:
    """The saved state (empty before the first sync)."""
    row = session.exec(select(SyncState).where(SyncState.source == source, SyncState.account == account)).first()
    return dict(row.state) if row is not None else {}


def save(*, session: Session, source: str, account: str, state: dict[str, Any]) -> None:
    """Store ``state`` and commit (call only after the page's tickets are committed)."""
    row = session.exec(select(SyncState).where(SyncState.source == source, SyncState.account == account)).first()
    if row is None:
        row = SyncState(source=source, account=account, state=dict(state))
    else:
        row.state = dict(state)
        row.updated_at = utcnow()
    session.add(row)
    session.commit()


def forget(*, session: Session, source: str, account: str) -> None:
    """Drop the saved state (``--full`` starts from the beginning and saves as it goes)."""
    row = session.exec(select(SyncState).where(SyncState.source == source, SyncState.account == account)).first()
    if row is not None:
        session.delete(row)
        session.commit()
