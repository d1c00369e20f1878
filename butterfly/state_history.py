"""A ticket's state timeline in compact form (#18): the steps an event log brought (ServiceNow: state, assignment
group, assignee, at what time), how many were reassignments, and the path the ticket took, for the walk's context
panel and the ticket report. Read from the ``ticket_event`` table (:func:`butterfly.tickets.state_timeline`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlmodel import Session

    from butterfly.store.models import TicketEvent

AGENT_MASK = "[agent {n}]"  # a redacted report's assignees, numbered in order of first appearance


@dataclass(frozen=True)
class StateStep:
    position: int
    at: datetime | None
    state: str | None
    group: str | None
    assignee: str | None
    reassigned: bool  # to another group or assignee after one was set


@dataclass(frozen=True)
class StateHistory:
    steps: tuple[StateStep, ...]

    @property
    def reassignments(self) -> int:
        return sum(1 for s in self.steps if s.reassigned)

    @property
    def first_at(self) -> datetime | None:
        return next((s.at for s in self.steps if s.at is not None), None)

    @property
    def last_at(self) -> datetime | None:
        return next((s.at for s in reversed(self.steps) if s.at is not None), None)

    def changes(self) -> list[StateStep]:
        """The steps where the state, the group or the assignee changed (the first step always): what a reader needs
        of a log that may repeat a state many times."""
        out: list[StateStep] = []
        for step in self.steps:
            if (
                not out
                or step.reassigned
                or (step.state, step.group, step.assignee)
                != (
                    out[-1].state,
                    out[-1].group,
                    out[-1].assignee,
                )
            ):
                out.append(step)
        return out

    def path(self, limit: int = 8) -> list[str]:
        """The states in the order the ticket went through them, a repeated state once per run; at most ``limit``
        (the first ``limit - 1`` and the last, with ``…`` between)."""
        runs: list[str] = []
        for step in self.steps:
            name = step.state or "-"
            if not runs or runs[-1] != name:
                runs.append(name)
        return runs if len(runs) <= limit else [*runs[: limit - 1], "…", runs[-1]]

    def agent_labels(self) -> dict[str, str]:
        """Each assignee's ``[agent N]``, numbered in order of first appearance."""
        labels: dict[str, str] = {}
        for step in self.steps:
            if step.assignee and step.assignee not in labels:
                labels[step.assignee] = AGENT_MASK.format(n=len(labels) + 1)
        return labels

    def masked(self) -> StateHistory:
        """The same history with each assignee replaced by ``[agent N]`` (:meth:`agent_labels`), for ``--redact``:
        who handled it stays distinguishable, not who they are."""
        labels = self.agent_labels()
        return StateHistory(
            tuple(replace(s, assignee=labels[s.assignee] if s.assignee else s.assignee) for s in self.steps)
        )


def from_events(events: Sequence[TicketEvent]) -> StateHistory | None:
    """The history of stored events (oldest first); None without any."""
    if not events:
        return None
    return StateHistory(
        tuple(StateStep(e.position, e.at, e.state, e.group_name, e.assignee, bool(e.reassigned)) for e in events)
    )


def state_history(*, session: Session, ticket_id: int | None) -> StateHistory | None:
    """The ticket's state history as imported; None when its import brought no event log."""
    if ticket_id is None:
        return None
    from butterfly.tickets import state_timeline

    return from_events(state_timeline(session=session, ticket_id=ticket_id))
