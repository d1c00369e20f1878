"""Answers: validation by kind, and save_answer (commit at once, history, no silent overwrite, race-safe)."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st
from review_support import make_ticket, start

from butterfly.checklist.model import load_builtin
from butterfly.errors import ConflictError, InvalidInputError, NotFoundError
from butterfly.review.answers import answers_for, save_answer, validate_answer

CL = load_builtin("butterfly", "en")
SCALE = CL.scale


def q(qid: str):  # type: ignore[no-untyped-def]
    return CL.question(qid)


# -- validation -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("2", (2, False)), (0, (0, False)), ("Partly", (1, False)), ("na", (None, True)), ("N/A", (None, True))],
)
def test_rating_accepts_scale_points_labels_and_na(raw: object, expected: tuple[object, bool]) -> None:
    assert validate_answer(q("customer.short.certainty"), raw, SCALE) == expected


@pytest.mark.parametrize("raw", ["3", "-1", "great", True, 1.5])
def test_rating_off_the_scale_is_refused_naming_the_scale(raw: object) -> None:
    with pytest.raises(InvalidInputError) as info:
        validate_answer(q("customer.short.certainty"), raw, SCALE)
    assert "0 (Not done), 1 (Partly), 2 (Fully)" in (info.value.hint or "")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        *[("y", True), ("Yes", True), ("是", True), ("是的", True), ("true", True), (True, True)],
        *[("n", False), ("no", False), ("否", False), ("false", False), (False, False)],
    ],
)
def test_yes_no_in_english_and_chinese(raw: object, expected: bool) -> None:
    assert validate_answer(q("customer.mid.compensation_made"), raw, SCALE) == (expected, False)


def test_yes_no_rejects_other_words() -> None:
    with pytest.raises(InvalidInputError, match="not yes or no"):
        validate_answer(q("customer.mid.compensation_made"), "maybe", SCALE)


def test_datetime_in_configured_zone_is_stored_as_utc() -> None:
    value, na = validate_answer(q("customer.mid.compensation_at"), "2026-10-06 10:00", SCALE, tz="Asia/Shanghai")
    assert (value, na) == ("2026-10-06T02:00:00+00:00", False)
    value, _ = validate_answer(q("customer.mid.compensation_at"), "2026-10-06T10:00:00+08:00", SCALE, tz="UTC")
    assert value == "2026-10-06T02:00:00+00:00"


def test_datetime_garbage_is_refused_with_the_format() -> None:
    with pytest.raises(InvalidInputError) as info:
        validate_answer(q("customer.mid.compensation_at"), "next tuesday", SCALE)
    assert "YYYY-MM-DD HH:MM" in (info.value.hint or "")


def test_choice_by_id_label_or_number() -> None:
    question = q("company.mid.recurrence")
    assert validate_answer(question, "recurring", SCALE) == ("recurring", False)
    assert validate_answer(question, "One-off", SCALE) == ("one_off", False)
    assert validate_answer(question, "3", SCALE) == ("unknown", False)
    with pytest.raises(InvalidInputError, match="not one of the choices"):
        validate_answer(question, "4", SCALE)


def test_multiple_choice_lists_and_comma_text() -> None:
    question = q("customer.mid.compensation_kind")
    assert validate_answer(question, "1, 3", SCALE) == (["thank_you_call", "small_gift"], False)
    assert validate_answer(question, ["visit", "Small gift", "visit"], SCALE) == (["visit", "small_gift"], False)


def test_text_keeps_several_lines_and_refuses_empty() -> None:
    question = q("company.mid.process_patch")
    assert validate_answer(question, "  line one\nline two  ", SCALE) == ("line one\nline two", False)
    with pytest.raises(InvalidInputError):
        validate_answer(question, "   ", SCALE)


@given(st.sampled_from([p.value for p in SCALE.points]))
def test_rating_round_trip(value: int) -> None:
    assert validate_answer(q("customer.short.certainty"), str(value), SCALE) == (value, False)


@given(
    st.datetimes(
        min_value=datetime(1990, 1, 1), max_value=datetime(2090, 1, 1), timezones=st.just(timezone(timedelta(hours=8)))
    )
)
def test_datetime_round_trip(moment: datetime) -> None:
    value, _ = validate_answer(q("customer.mid.compensation_at"), moment.isoformat(), SCALE, tz="UTC")
    assert datetime.fromisoformat(value) == moment
    assert datetime.fromisoformat(value).utcoffset() == timedelta(0)


@given(st.integers(min_value=1, max_value=3))
def test_choice_number_round_trip(n: int) -> None:
    question = q("company.mid.recurrence")
    assert question.choices is not None
    chosen, _ = validate_answer(question, str(n), SCALE)
    assert validate_answer(question, chosen, SCALE) == (question.choices[n - 1].id, False)


# -- saving --------------------------------------------------------------------------------------------------


@pytest.fixture
def review(session):  # type: ignore[no-untyped-def]
    return start(session, make_ticket(session))


def _changes(session, review_id: int) -> list:  # type: ignore[no-untyped-def]
    from sqlmodel import select

    from butterfly.store.models import AnswerChange

    return list(
        session.exec(select(AnswerChange).where(AnswerChange.review_id == review_id).order_by(AnswerChange.id)).all()
    )


def test_insert_update_and_history(session, review) -> None:  # type: ignore[no-untyped-def]
    a = save_answer(session=session, review_id=review.id, question_id="customer.short.certainty", value=1, by="ann")
    assert (a.value, a.version, a.answered_by) == (1, 1, "ann")
    b = save_answer(
        session=session, review_id=review.id, question_id="customer.short.certainty", value=2, note="fixed", by="bob"
    )
    assert (b.value, b.version, b.answered_by, b.note) == (2, 2, "bob", "fixed")
    history = _changes(session, review.id)
    assert [(h.old_value, h.old_na, h.new_value, h.changed_by) for h in history] == [
        (None, None, 1, "ann"),
        (1, False, 2, "bob"),
    ]
    assert history[1].new_note == "fixed"


def test_unchanged_answer_writes_nothing(session, review) -> None:  # type: ignore[no-untyped-def]
    save_answer(session=session, review_id=review.id, question_id="customer.short.certainty", value=1, by="ann")
    again = save_answer(session=session, review_id=review.id, question_id="customer.short.certainty", value=1, by="bob")
    assert (again.version, again.answered_by) == (1, "ann")
    assert len(_changes(session, review.id)) == 1


def test_na_is_stored_without_a_value(session, review) -> None:  # type: ignore[no-untyped-def]
    save_answer(session=session, review_id=review.id, question_id="customer.short.certainty", value=2, by="ann")
    a = save_answer(
        session=session, review_id=review.id, question_id="customer.short.certainty", value=2, na=True, by="ann"
    )
    assert (a.value, a.na, a.version) == (None, True, 2)


def test_answer_is_committed_immediately(session, review, db_url) -> None:  # type: ignore[no-untyped-def]
    save_answer(session=session, review_id=review.id, question_id="company.mid.process_patch", value="patch", by="ann")
    from butterfly.store.db import open_session

    with open_session(db_url) as other:
        assert answers_for(session=other, review_id=review.id)["company.mid.process_patch"].value == "patch"


def test_stale_version_is_a_conflict_naming_who_and_when(session, review) -> None:  # type: ignore[no-untyped-def]
    save_answer(session=session, review_id=review.id, question_id="customer.short.certainty", value=1, by="ann")
    with pytest.raises(ConflictError) as info:
        save_answer(
            session=session,
            review_id=review.id,
            question_id="customer.short.certainty",
            value=2,
            by="bob",
            expected_version=0,
        )
    assert "changed by ann at" in info.value.message
    assert answers_for(session=session, review_id=review.id)["customer.short.certainty"].value == 1
    ok = save_answer(
        session=session,
        review_id=review.id,
        question_id="customer.short.certainty",
        value=2,
        by="bob",
        expected_version=1,
    )
    assert ok.version == 2


def test_unknown_review_is_not_found(session) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(NotFoundError):
        save_answer(session=session, review_id=999_999, question_id="customer.short.certainty", value=1, by="ann")


def _threads(n: int, target) -> list[BaseException | None]:  # type: ignore[no-untyped-def]
    barrier = threading.Barrier(n)
    results: list[BaseException | None] = [None] * n

    def run(i: int) -> None:
        barrier.wait()
        try:
            target(i)
        except BaseException as exc:
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_concurrent_first_answers_become_one_row_with_full_history(session, review, db_url) -> None:  # type: ignore[no-untyped-def]
    from butterfly.store.db import open_session

    def write(i: int) -> None:
        with open_session(db_url) as s:
            save_answer(
                session=s, review_id=review.id, question_id="company.mid.cost_of_fixing", value=f"text {i}", by=f"u{i}"
            )

    errors = _threads(6, write)
    assert errors == [None] * 6
    answer = answers_for(session=session, review_id=review.id)["company.mid.cost_of_fixing"]
    history = _changes(session, review.id)
    assert answer.version == 6
    assert len(history) == 6
    assert sum(1 for h in history if h.old_na is None) == 1  # exactly one insert
    assert history[-1].new_value == answer.value


def test_concurrent_updates_from_the_same_version_one_wins(session, review, db_url) -> None:  # type: ignore[no-untyped-def]
    from butterfly.store.db import open_session

    save_answer(session=session, review_id=review.id, question_id="customer.short.certainty", value=0, by="ann")

    def write(i: int) -> None:
        with open_session(db_url) as s:
            save_answer(
                session=s,
                review_id=review.id,
                question_id="customer.short.certainty",
                value=1 + i,
                by=f"u{i}",
                expected_version=1,
            )

    errors = _threads(2, write)
    assert sorted(type(e).__name__ for e in errors) == ["ConflictError", "NoneType"]
    answer = answers_for(session=session, review_id=review.id)["customer.short.certainty"]
    assert answer.version == 2
    assert len(_changes(session, review.id)) == 2
