"""The ticket report's "State timeline" section (#18): the reassignments, state changes and their times an event log
brought (ServiceNow's ``incident_event_log``), compact; assignee names become ``[agent N]`` with ``--redact``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from butterfly.reports.ticket_model import StateRow, StateSection
from butterfly.state_history import StateHistory, state_history

if TYPE_CHECKING:
    from sqlmodel import Session

    from butterfly.store.models import Ticket

CHANGES_LIMIT = 50  # rows of the section; a longer log keeps its first 49 changes and the last
AGENT = "[agent]"  # a redacted report's assignee who is not in the state timeline


def states_section(*, session: Session, ticket: Ticket, redact: bool = False) -> tuple[StateSection | None, str | None]:
    """The section for ``ticket`` (None when its import brought no state timeline) and the ticket's assignee as the
    report shows it: with ``redact``, the ``[agent N]`` the timeline gives the same person, else ``[agent]``."""
    history = state_history(session=session, ticket_id=ticket.id)
    assignee = ticket.assignee
    if redact and assignee:
        assignee = (history.agent_labels() if history is not None else {}).get(assignee, AGENT)
    if history is None:
        return None, assignee
    return section_of(history.masked() if redact else history, redacted=redact), assignee


def section_of(history: StateHistory, *, redacted: bool = False) -> StateSection:
    changes = history.changes()
    if len(changes) > CHANGES_LIMIT:
        changes = [*changes[: CHANGES_LIMIT - 1], changes[-1]]
    return StateSection(
        steps=len(history.steps),
        reassignments=history.reassignments,
        first_at=history.first_at,
        last_at=history.last_at,
        path=history.path(limit=12),
        changes=[
            StateRow(
                position=c.position,
                at=c.at,
                state=c.state,
                group=c.group,
                assignee=c.assignee,
                reassigned=c.reassigned,
            )
            for c in changes
        ],
        redacted=redacted,
    )
