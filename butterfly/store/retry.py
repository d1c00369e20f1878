"""Retrying a write that lost a race to another writer (several processes on one SQLite or PostgreSQL database).

Every compare-and-swap or insert-if-missing loop in butterfly runs ``for attempt in write_attempts():``: the same
number of tries everywhere, with a short random back-off from the second try on so two writers stop colliding.
A transaction that finds it lost a race part-way raises :class:`RetryWrite`; its loop rolls back and goes again.
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
