"""Retrying a write that lost a race to another writer (several processes on one SQLite or PostgreSQL database).

Every compare-and-swap or insert-if-missing loop in butterfly runs ``for attempt in write_attempts():``: the same
number of tries everywhere, with a short random back-off from the second try on so two writers stop colliding.
A transaction that finds it lost a race part-way raises :class:`RetryWrite`; its loop rolls back and goes again.
A write that failed with SQLite's "database is locked" (the busy timeout ran out under heavy load) is tried again a
few times with growing pauses (:func:`locked_retry_delay`) before the error reaches the user.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator

WRITE_ATTEMPTS = 20


class RetryWrite(Exception):
    """A concurrent writer won a race inside the transaction: roll back and write it again."""


def write_attempts(attempts: int = WRITE_ATTEMPTS) -> Iterator[int]:
    """The attempt numbers ``0 .. attempts-1``; before each try after the first, back off a little."""
    for attempt in range(attempts):
        if attempt:
            time.sleep(random.uniform(0, 0.005 * attempt))  # another writer is busy here
        yield attempt


LOCKED_RETRIES = 5  # after the busy timeout, a locked write is tried again this many times (0.25 s doubling to 4 s)


def locked_retry_delay(exc: BaseException, attempt: int) -> float | None:
    """Seconds to wait before trying a write again that failed with "database is locked" (``attempt`` from 0);
    ``None`` when it is another error or the retries are used up.

    SQLite's busy timeout already waits for the lock; under heavy load (hundreds of writers) a writer can still
    lose every time, and a few bounded retries with growing, jittered pauses let it through.
    """
    detail = str(getattr(exc, "orig", None) or exc).lower()
    if attempt >= LOCKED_RETRIES or not ("database is locked" in detail or "database table is locked" in detail):
        return None
    return float(0.25 * 2**attempt * (1 + random.random() / 4))


def wait_if_locked(exc: BaseException, attempt: int) -> bool:
    """Pause before trying again a write that failed with "database is locked" and return True; False when it is
    another error or the retries are used up (the caller re-raises)."""
    delay = locked_retry_delay(exc, attempt)
    if delay is None:
        return False
    time.sleep(delay)
    return True
