"""The walk's similar-ticket look-up, run in a background thread while the reviewer reads the first question.

It is the costliest part of a walk start that the first question does not need (importing NumPy for TF-IDF,
reading and scoring up to 2,000 candidates): ``butterfly review`` shows the context panel without it, starts
it when the first question is on the screen and shows its table before the next question (and in the panel
from then on: key ``c``). The recurrence proposal waits for it. See benchmarks/README.md (walk start).

The thread has its own database session (a session is not shared between threads) and its own copy of the
ticket's few columns. Where a second connection would not see the same data (an in-memory SQLite database, a
session bound to one connection) the look-up runs at once, in the caller's thread, as before.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from butterfly.store.models import Ticket

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine
    from sqlmodel import Session

    from butterfly.review.similar import SimilarTicket

# the columns similar_tickets() reads from the ticket it compares
_COLUMNS = (
    "id",
    "source",
    "external_id",
    "customer",
    "subject",
    "description",
    "category",
    "status",
    "created_at",
    "resolved_at",
    "closed_at",
)


def _shareable_engine(session: Session) -> Engine | None:
    """The session's engine when another thread can open its own connection to the same data, else None."""
    from sqlalchemy.engine import Engine

    bind = session.get_bind()
    if not isinstance(bind, Engine):
        return None
    url = bind.url
    in_memory = (url.database or "") in ("", ":memory:") or url.query.get("mode") == "memory"
    return None if url.get_backend_name() == "sqlite" and in_memory else bind


class SimilarLookup:
    """``similar_tickets(ticket, limit)`` computed once, in a thread once :meth:`start` is called."""

    def __init__(self, *, session: Session, ticket: Ticket, limit: int = 5) -> None:
        self._session = session
        self._engine = _shareable_engine(session)
        # a detached copy: the thread never touches an object of the caller's session
        self._ticket = Ticket(**{name: getattr(ticket, name) for name in _COLUMNS})
        self._limit = limit
        self._thread: threading.Thread | None = None
        self._result: list[SimilarTicket] | None = None
        self._error: BaseException | None = None

    @property
    def started(self) -> bool:
        return self._thread is not None or self._result is not None or self._error is not None

    def start(self) -> None:
        """Start the look-up in a background thread (once); in-memory SQLite runs it here instead."""
        if self.started:
            return
        if self._engine is None:
            self._result = self._lookup(self._session)  # an error is raised here, as before
            return
        self._thread = threading.Thread(target=self._in_thread, name="butterfly-similar-tickets")
        self._thread.start()

    def result(self) -> list[SimilarTicket]:
        """The similar tickets (starting the look-up if needed and waiting for it); re-raises its error."""
        self.start()
        if self._thread is not None:
            self._thread.join()
        if self._error is not None:
            raise self._error
        assert self._result is not None
        return self._result

    def wait(self) -> None:
        """Wait for a running look-up to end (its result or error kept for :meth:`result`)."""
        if self._thread is not None:
            self._thread.join()

    def _in_thread(self) -> None:
        from sqlmodel import Session

        assert self._engine is not None
        try:
            with Session(self._engine, expire_on_commit=False) as session:
                self._result = self._lookup(session)
        except BaseException as exc:  # raised again in the caller's thread by result()
            self._error = exc

    def _lookup(self, session: Session) -> list[SimilarTicket]:
        from butterfly.review.similar import similar_tickets

        return similar_tickets(session=session, ticket=self._ticket, limit=self._limit)
