"""The walk's similar-ticket look-up runs while the reviewer reads the first question (butterfly.review.walk_similar):
the same tickets as before, shown before the second question, its errors not lost, NumPy not loaded at start."""

from __future__ import annotations

import subprocess
import sys
import threading

import pytest
from review_support import make_ticket

from butterfly.review import similar
from butterfly.review.similar import similar_tickets
from butterfly.review.walk_similar import SimilarLookup


def _refs(found: list[similar.SimilarTicket]) -> list[str]:
    return [s.ticket.external_id for s in found]


def _record_threads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the threads the similar-ticket look-up runs in, one per call, as it is called."""
    threads: list[str] = []
    original = similar.similar_tickets

    def recording(**kwargs):  # type: ignore[no-untyped-def]
        threads.append(threading.current_thread().name)
        return original(**kwargs)

    monkeypatch.setattr(similar, "similar_tickets", recording)
    return threads


def test_the_look_up_runs_in_another_thread_and_finds_the_same_tickets(session, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    t = make_ticket(session, "T-1", customer="Acme", subject="Invoice export fails", category="billing")
    make_ticket(session, "T-2", customer="Beta", subject="Invoice export fails", category="billing")
    make_ticket(session, "T-3", customer="Gamma", subject="Refund is late", category="billing")
    make_ticket(session, "T-4", customer="Delta", subject="SMS code never arrives", category="login")
    expected = _refs(similar_tickets(session=session, ticket=t, limit=5))
    assert expected == ["T-2", "T-3"]

    threads = _record_threads(monkeypatch)
    lookup = SimilarLookup(session=session, ticket=t, limit=5)
    assert not lookup.started
    lookup.start()
    assert _refs(lookup.result()) == expected
    assert threads and threads[0] != threading.current_thread().name
    assert _refs(lookup.result()) == expected and len(threads) == 1  # looked up once


def test_an_error_in_the_look_up_is_raised_to_the_caller(session, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    t = make_ticket(session, "T-1")

    def failing(**kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError("the look-up failed")

    monkeypatch.setattr(similar, "similar_tickets", failing)
    lookup = SimilarLookup(session=session, ticket=t)
    lookup.start()
    lookup.wait()  # waiting does not raise ...
    with pytest.raises(RuntimeError, match="the look-up failed"):
        lookup.result()  # ... asking for the result does


def test_an_in_memory_database_is_looked_up_in_the_callers_thread(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A second connection to ``sqlite://`` would be another, empty database: the look-up runs at once instead."""
    from butterfly.store.db import open_session

    threads = _record_threads(monkeypatch)
    with open_session("sqlite://") as session:
        t = make_ticket(session, "T-1", customer="Acme", subject="Invoice export fails")
        make_ticket(session, "T-2", customer="Beta", subject="Invoice export fails")
        lookup = SimilarLookup(session=session, ticket=t)
        lookup.start()
        assert threads == [threading.current_thread().name]
        assert _refs(lookup.result()) == ["T-2"]


def test_the_walk_shows_the_similar_tickets_before_the_second_question(cli, session, db_url) -> None:  # type: ignore[no-untyped-def]
    make_ticket(session, "T-1", customer="Acme", subject="Invoice export fails")
    make_ticket(session, "T-2", customer="Beta", subject="Invoice export fails")
    result = cli("review", "T-1", "--interactive", "--db", db_url, input="2\nc\nq\n", env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    out = result.stdout
    first = out.index("customer.short.fast_accurate")
    second = out.index("customer.short.certainty")
    pending = out.index("looked up while you read the first question, shown after it")
    assert pending < first
    assert "T-2" not in out[:first]  # not in the panel shown before the first question ...
    shown = out.index("T-2")
    assert out.index("saved (1/13 answered)") < shown < second  # ... but right after its answer
    again = out.index("T-2", second)  # and `c` shows the whole panel with it
    assert "looked up while you read" not in out[second:]
    assert out.index("Invoice export fails", second) < again
    assert "Stopped. 1/13 answered" in out


def test_the_walk_in_chinese_says_the_similar_tickets_follow(cli, session, db_url) -> None:  # type: ignore[no-untyped-def]
    make_ticket(session, "T-1", customer="Acme", subject="Invoice export fails")
    result = cli(
        "review", "T-1", "--interactive", "--lang", "zh-TW", "--db", db_url, input="q\n", env={"COLUMNS": "200"}
    )
    assert result.exit_code == 0, result.output
    assert "在你讀第一個問題時查找" in result.stdout
    assert "looked up while you read" not in result.stdout


def test_the_walks_modules_do_not_import_numpy() -> None:
    """NumPy (~0.1 s of CPU) is imported by the similar-ticket look-up, which runs after the first question."""
    code = (
        "import sys, butterfly.cli, butterfly.cli.review, butterfly.cli.walk_ui, butterfly.review.walk\n"
        "print('NUMPY', 'numpy' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert "NUMPY False" in result.stdout, result.stdout + result.stderr


def test_the_garbage_collector_is_on_again_after_the_walk_starts_and_after_an_error(cli, session, db_url) -> None:  # type: ignore[no-untyped-def]
    """The walk pauses Python's cyclic garbage collector while it starts (cli/_common.gc_paused): never longer."""
    import gc

    make_ticket(session, "T-1")
    seen: list[bool] = []
    import builtins

    real_input = builtins.input

    def watching_input(prompt: str = "") -> str:
        seen.append(gc.isenabled())
        return real_input(prompt)

    builtins.input = watching_input
    try:
        result = cli("review", "T-1", "--interactive", "--db", db_url, input="2\nq\n")
    finally:
        builtins.input = real_input
    assert result.exit_code == 0, result.output
    assert seen and all(seen)  # on again from the first question
    assert gc.isenabled()
    missing = cli("review", "T-nope", "--interactive", "--db", db_url, input="q\n")
    assert missing.exit_code != 0 and missing.stderr.startswith("Error:")
    assert gc.isenabled()
