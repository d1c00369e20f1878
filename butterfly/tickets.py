"""Finding tickets by what a user types: an external id, ``source:external_id``, or ``#<row id>``."""

from __future__ import annotations

import difflib
from typing import TYPE_CHECKING

from butterfly.errors import NotFoundError

if TYPE_CHECKING:
    from sqlmodel import Session

    from butterfly.models import Ticket


def get_ticket(*, session: Session, ref: str) -> Ticket:
    """The ticket ``ref`` names; :class:`NotFoundError` with close matches when there is none or it is ambiguous."""
    from sqlmodel import col, select

    from butterfly.models import Ticket

    ref = ref.strip()
    if ref.startswith("#") and ref[1:].isdigit():
        ticket = session.get(Ticket, int(ref[1:]))
        if ticket is not None:
            return ticket
    candidates = list(session.exec(select(Ticket).where(Ticket.external_id == ref)).all())
    if not candidates and ":" in ref:
        source, _, external = ref.partition(":")
        candidates = list(
            session.exec(select(Ticket).where(Ticket.source == source, Ticket.external_id == external)).all()
        )
    if len(candidates) == 1:
        return candidates[0]
    if len(candidates) > 1:
        names = ", ".join(f"{t.source}:{t.external_id}" for t in candidates)
        raise NotFoundError(f"'{ref}' is ambiguous: {names}", hint="name it as SOURCE:ID")
    # close matches: same prefix first (cheap, uses the unique index), then fuzzy among those
    stem = ref[: max(1, len(ref) - 2)]
    nearby = list(
        session.exec(
            select(Ticket.source, Ticket.external_id).where(col(Ticket.external_id).startswith(stem)).limit(200)
        ).all()
    )
    ids = [e for _, e in nearby]
    matches = difflib.get_close_matches(ref, ids, n=5, cutoff=0.6) or ids[:5]
    hint = ("did you mean: " + ", ".join(matches) + "?") if matches else "see `butterfly tickets list`"
    raise NotFoundError(f"no ticket '{ref}'", hint=hint)
