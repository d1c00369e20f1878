"""Hostile and broken answers files for ``butterfly review TICKET --answers FILE``.

Never a traceback: a FileProblemsError naming the file (and nothing saved), or a valid plan. Library-level
Hypothesis runs for breadth, then the real command on both backends for the nastiest cases.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from loadkit import answers_file_data, history_count, setup_reviews

from butterfly.checklist.model import load_builtin
from butterfly.errors import FileProblemsError
from butterfly.paths import examples_dir
from butterfly.review.answers_file import plan_answers, read_answers_file

CHECKLIST = load_builtin("butterfly", "en")
EXAMPLE = (examples_dir() / "answers.yaml").read_text(encoding="utf-8")
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _plan_file(path: Path) -> object:
    try:
        data, lines, name = read_answers_file(path)
        return plan_answers(data, filename=name, lines=lines, checklist=CHECKLIST, lenses=[], tz="UTC")
    except FileProblemsError as exc:
        assert exc.file == str(path) and exc.problems
        return exc


@FUZZ
@given(data=st.binary(max_size=2048), suffix=st.sampled_from([".yaml", ".json"]))
def test_random_bytes(tmp_path: Path, data: bytes, suffix: str) -> None:
    path = tmp_path / f"answers{suffix}"
    path.write_bytes(data)
    _plan_file(path)


@FUZZ
@given(cut=st.integers(min_value=0, max_value=len(EXAMPLE.encode("utf-8"))))
def test_truncated_example(tmp_path: Path, cut: int) -> None:
    path = tmp_path / "answers.yaml"
    path.write_bytes(EXAMPLE.encode("utf-8")[:cut])
    _plan_file(path)


@FUZZ
@given(
    edits=st.lists(
        st.tuples(
            st.integers(min_value=0, max_value=len(EXAMPLE) - 1),
            st.integers(min_value=0, max_value=30),
            st.lists(
                st.sampled_from([*"{}[]:-#&*!|>'\"\n\t ,?%", "yes", "na", "2", "!!binary", "\x1b[2J"]), max_size=4
            ).map("".join),
        ),
        min_size=1,
        max_size=6,
    )
)
def test_mutated_example(tmp_path: Path, edits: list[tuple[int, int, str]]) -> None:
    text = EXAMPLE
    for at, drop, insert in edits:
        text = text[:at] + insert + text[at + drop :]
    path = tmp_path / "answers.yaml"
    path.write_text(text, encoding="utf-8")
    _plan_file(path)


_scalar = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30)
_value = st.recursive(
    _scalar, lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=8), c, max_size=4), max_leaves=12
)
_entry = _value | st.fixed_dictionaries(
    {}, optional={"value": _value, "na": _value, "note": _value, "action": _value, "bogus": _value}
)


@FUZZ
@given(
    answers=st.dictionaries(
        st.sampled_from([*CHECKLIST.question_ids(), "nope.question", "human-needs.x", "experience_level"]),
        _entry,
        max_size=8,
    )
)
def test_arbitrary_values_for_real_questions(tmp_path: Path, answers: dict[str, Any]) -> None:
    path = tmp_path / "answers.json"
    path.write_text(json.dumps(answers, allow_nan=True), encoding="utf-8")
    _plan_file(path)


HOSTILE: dict[str, bytes] = {
    "random-bytes": bytes(range(256)) * 8,
    "truncated": EXAMPLE[: EXAMPLE.index('"2026') + 6].encode("utf-8"),  # inside a quoted date-time
    "gb18030": EXAMPLE.encode("gb18030"),
    "utf-16": EXAMPLE.encode("utf-16"),
    "deep-json": b"[" * 100_000 + b"]" * 100_000,
    "deep-yaml": b"a: " + b"{a: " * 5000 + b"1" + b"}" * 5000,
    "python-tag": b"customer.short.fast_accurate: !!python/object/apply:os.system ['true']\n",
    "escapes": b'customer.short.fast_accurate: "\\e[2J\\e]8;;http://evil\\a2"\n',
    "unknown-ids": b"customer.short.fast: 2\nx.y: 1\n",
    "not-a-mapping": b"- 1\n- 2\n",
}


@pytest.mark.parametrize("name", list(HOSTILE))
def test_hostile_answers_files_save_nothing(cli, db_url: str, tmp_path: Path, name: str) -> None:  # type: ignore[no-untyped-def]
    shared, _ = setup_reviews(db_url, reviewers=0, ticket_ref="H-1")
    suffix = ".json" if "json" in name else ".yaml"
    path = tmp_path / f"{name}{suffix}"
    path.write_bytes(HOSTILE[name])
    result = cli("review", "H-1", "--answers", str(path), "--reviewer", "team", "--db", db_url)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert str(path) in result.stderr
    assert "\x1b" not in result.output
    assert history_count(db_url, shared) == 0


def test_huge_note_and_answer(cli, db_url: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A 10 MB text answer is refused with a clear error (nothing saved); the file is named."""
    shared, _ = setup_reviews(db_url, reviewers=0, ticket_ref="H-2")
    data = answers_file_data(0)
    data["company.short.another_person"] = "很长的回答" * 2_000_000
    path = tmp_path / "huge.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    result = cli("review", "H-2", "--answers", str(path), "--reviewer", "team", "--db", db_url)
    assert result.exit_code == 2, result.output[-2000:]
    assert "Traceback" not in result.output
    assert "company.short.another_person" in result.stderr
    assert len(result.output) < 10_000
    assert history_count(db_url, shared) == 0
