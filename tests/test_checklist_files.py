"""The shipped checklists: they load, agree across languages, and broken files give precise errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from butterfly.checklist.model import (
    CELL_ORDER,
    LANGUAGES,
    AnswerKind,
    Guard,
    builtin_checklist_ids,
    load_builtin,
    load_checklist_file,
    parse_checklist_text,
)
from butterfly.errors import FileProblemsError


def _shape(checklist_id: str, lang: str) -> list[tuple[object, ...]]:
    cl = load_builtin(checklist_id, lang)
    return [
        (q.id, q.kind, q.guard, q.action, q.multiple, q.required, tuple(c.id for c in q.choices or []))
        for q in cl.questions
    ]


@pytest.mark.parametrize("checklist_id", builtin_checklist_ids())
def test_same_question_ids_kinds_and_choices_in_every_language(checklist_id: str) -> None:
    shapes = {lang: _shape(checklist_id, lang) for lang in LANGUAGES}
    assert shapes["zh-CN"] == shapes["zh-TW"] == shapes["en"]
    versions = {load_builtin(checklist_id, lang).version for lang in LANGUAGES}
    assert len(versions) == 1


@pytest.mark.parametrize("lang", LANGUAGES)
def test_butterfly_checklist_has_six_cells_with_four_to_six_questions(lang: str) -> None:
    cl = load_builtin("butterfly", lang)
    assert cl.language == lang
    assert tuple(c.id for c in cl.cells) == CELL_ORDER
    for cell in cl.cells:
        assert 4 <= len(cell.questions) <= 7, cell.id
        assert any(q.kind is AnswerKind.rating for q in cell.questions), f"{cell.id} has no rating to score"
        assert cell.purpose.strip()
        assert all(q.help for q in cell.questions), f"{cell.id}: every question explains why it matters"


def test_the_method_guards_find_their_questions() -> None:
    cl = load_builtin("butterfly", "en")
    guards = {q.guard: q for q in cl.questions if q.guard}
    for guard in Guard:
        assert guard in guards, guard
    assert guards[Guard.compensation_made].kind is AnswerKind.yes_no
    assert guards[Guard.compensation_time].kind is AnswerKind.datetime
    assert guards[Guard.consent_given].kind is AnswerKind.yes_no
    assert guards[Guard.publicity_planned].kind is AnswerKind.yes_no
    assert guards[Guard.certainty].id == "customer.short.certainty"


def test_chinese_checklist_is_really_chinese() -> None:
    cn = load_builtin("butterfly", "zh-CN")
    tw = load_builtin("butterfly", "zh-TW")
    assert "客户" in cn.cells[0].title
    assert "客戶" in tw.cells[0].title


GOOD = """\
id: team
version: "1.0"
language: en
title: Team check
scale:
  points:
    - {value: 0, label: not done}
    - {value: 1, label: done}
cells:
"""


def _six_cells(question_kind: str = "rating") -> str:
    out = GOOD
    for cell in CELL_ORDER:
        side, horizon = cell.split(".")
        out += (
            f"  - id: {cell}\n    side: {side}\n    horizon: {horizon}\n    title: T\n    purpose: P\n"
            f"    questions:\n      - id: {cell}.q\n        text: Q?\n        kind: {question_kind}\n"
        )
    return out


def test_a_valid_team_checklist_loads(tmp_path: Path) -> None:
    path = tmp_path / "team.yaml"
    path.write_text(_six_cells(), encoding="utf-8")
    cl = load_checklist_file(path)
    assert cl.question_ids()[0] == "customer.short.q"


def test_wrong_kind_names_file_line_and_field(tmp_path: Path) -> None:
    path = tmp_path / "team.yaml"
    text = _six_cells().replace("kind: rating", "kind: stars", 1)
    path.write_text(text, encoding="utf-8")
    with pytest.raises(FileProblemsError) as info:
        load_checklist_file(path)
    problem = info.value.problems[0]
    assert problem.file == str(path)
    assert problem.field == "cells[0].questions[0].kind"
    expected_line = text.splitlines().index("        kind: stars") + 1
    assert problem.line == expected_line
    assert "stars" in str(info.value) or "Input should be" in str(info.value)
    assert f"{path}:{expected_line}: cells[0].questions[0].kind" in str(info.value)


def test_every_problem_is_reported_not_just_the_first(tmp_path: Path) -> None:
    text = _six_cells().replace("kind: rating", "kind: stars").replace("    title: T\n", "    title: ''\n", 1)
    with pytest.raises(FileProblemsError) as info:
        parse_checklist_text(text, filename="team.yaml")
    fields = {p.field for p in info.value.problems}
    assert "cells[0].title" in fields
    assert sum(1 for f in fields if f and f.endswith(".kind")) == 6


def test_yaml_syntax_error_names_the_line() -> None:
    text = GOOD + "  - id: [unclosed\n"
    with pytest.raises(FileProblemsError) as info:
        parse_checklist_text(text, filename="bad.yaml")
    assert info.value.problems[0].line is not None
    assert "bad.yaml:" in str(info.value)


def test_missing_cell_and_duplicate_question_are_explained() -> None:
    text = _six_cells().replace("company.long.q", "company.mid.q")
    with pytest.raises(FileProblemsError) as info:
        parse_checklist_text(text, filename="dup.yaml")
    assert "company.mid.q" in str(info.value)


def test_choice_question_without_choices_is_rejected() -> None:
    with pytest.raises(FileProblemsError) as info:
        parse_checklist_text(_six_cells("choice"), filename="c.yaml")
    assert "choices" in str(info.value)


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FileProblemsError, match="file not found"):
        load_checklist_file(tmp_path / "nope.yaml")


def test_yaml_booleans_in_labels_get_a_hint() -> None:
    text = _six_cells().replace("label: not done", "label: no")
    with pytest.raises(FileProblemsError) as info:
        parse_checklist_text(text, filename="team.yaml")
    assert "team.yaml:7: scale.points[0].label" in str(info.value)
    assert "put it in quotes" in str(info.value)
