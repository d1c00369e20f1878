"""``butterfly checklist validate`` and ``butterfly checklist diff``: team checklists as code."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from butterfly.checklist.model import builtin_checklist_path, load_builtin

SHIPPED = builtin_checklist_path("butterfly", "en")


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def edited(tmp_path: Path, name: str, edit: Any) -> Path:
    data = yaml.safe_load(SHIPPED.read_text(encoding="utf-8"))
    edit(data)
    return write(tmp_path, name, yaml.safe_dump(data, allow_unicode=True, sort_keys=False))


# -- validate ----------------------------------------------------------------------------------------------------


def test_valid_files_exit_0(cli) -> None:  # type: ignore[no-untyped-def]
    lens = builtin_checklist_path("human-needs", "zh-TW")
    result = cli("checklist", "validate", str(SHIPPED), str(lens))
    assert result.exit_code == 0, result.output
    assert f"ok       {SHIPPED}: butterfly v1.0 (en, butterfly)" in result.stdout
    assert "human-needs v1.0 (zh-TW, lens)" in result.stdout


def test_every_problem_with_file_line_and_field_exits_2(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    bad = write(
        tmp_path,
        "team.yaml",
        """id: team
version: "1.0"
language: en
kind: lens
title: Team
scale:
  points:
    - {value: 0, label: no}
    - {value: 1, label: yes}
cells:
  - id: team.one
    title: One
    purpose: Why
    questions:
      - id: team.one.a
        text: First
        kind: essay
      - id: team.one.b
        kind: rating
""",
    )
    result = cli("checklist", "validate", str(bad))
    assert result.exit_code == 2
    lines = result.stdout.splitlines()
    assert lines[0] == f"invalid  {bad}: 4 problems"
    assert f"  {bad}:8: scale.points[0].label: Input should be a valid string" in lines[1]
    assert "put it in quotes" in lines[1]
    assert f"  {bad}:9: scale.points[1].label" in lines[2]
    assert f"  {bad}:17: cells[0].questions[0].kind: Input should be" in lines[3]
    assert f"  {bad}:18: cells[0].questions[1].text: Field required" in lines[4]
    assert "1 of 1 file invalid" in result.stderr


def test_several_files_json_report(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    good = edited(tmp_path, "good.yaml", lambda d: d.update(id="good"))
    bad = edited(tmp_path, "bad.yaml", lambda d: d["cells"][0]["questions"][0].update(kind="essay"))
    missing = tmp_path / "missing.yaml"
    result = cli("checklist", "validate", "--json", str(good), str(bad), str(missing))
    assert result.exit_code == 2
    data = json.loads(result.stdout)
    assert data["schema"] == "butterfly.checklist-validate/1"
    assert data["valid"] is False
    files = {Path(f["file"]).name: f for f in data["files"]}
    assert files["good.yaml"]["valid"] is True
    assert files["good.yaml"]["id"] == "good"
    assert files["good.yaml"]["questions"] == len(load_builtin("butterfly", "en").questions)
    assert files["bad.yaml"]["problems"][0]["field"] == "cells[0].questions[0].kind"
    assert files["bad.yaml"]["problems"][0]["line"] > 1
    assert files["missing.yaml"]["problems"] == [{"line": None, "field": None, "message": "file not found"}]


def test_structural_rules_beyond_types(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    def dup(d: dict[str, Any]) -> None:
        d["cells"][1]["questions"][0]["id"] = d["cells"][1]["questions"][1]["id"]

    path = edited(tmp_path, "dup.yaml", dup)
    result = cli("checklist", "validate", str(path))
    assert result.exit_code == 2
    assert "is used more than once" in result.stdout


def test_duplicate_yaml_keys_are_problems(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    text = SHIPPED.read_text(encoding="utf-8").replace('version: "1.0"\n', 'version: "1.0"\nversion: "2.0"\n', 1)
    path = write(tmp_path, "twice.yaml", text)
    result = cli("checklist", "validate", str(path))
    assert result.exit_code == 2
    assert f"{path}:3: version: key 'version' appears twice (first on line 2)" in result.stdout


def test_guard_on_wrong_kind_is_a_warning_not_an_error(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    def edit(d: dict[str, Any]) -> None:
        q = next(q for q in d["cells"][2]["questions"] if q.get("guard") == "consent_given")
        q["kind"] = "text"

    path = edited(tmp_path, "warn.yaml", edit)
    result = cli("checklist", "validate", str(path))
    assert result.exit_code == 0, result.output
    assert "warning:" in result.stdout
    assert "guard 'consent_given' expects a question of kind yes_no" in result.stdout


def test_not_yaml_at_all(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = write(tmp_path, "broken.yaml", "id: [unclosed\n")
    result = cli("checklist", "validate", str(path))
    assert result.exit_code == 2
    assert "not valid YAML/JSON" in result.stdout


# -- diff --------------------------------------------------------------------------------------------------------


def v2(tmp_path: Path) -> Path:
    """Version 2 of a team checklist: one question removed, one added, one choice dropped, one kind changed."""

    def edit(d: dict[str, Any]) -> None:
        d["version"] = "2.0"
        long = d["cells"][2]["questions"]
        d["cells"][2]["questions"] = [q for q in long if q["id"] != "customer.long.story"]
        d["cells"][5]["questions"].append({"id": "company.long.churn_risk", "text": "Churn risk?", "kind": "rating"})
        rec = next(q for q in d["cells"][4]["questions"] if q["id"] == "company.mid.recurrence")
        rec["choices"] = [c for c in rec["choices"] if c["id"] != "unknown"]
        fast = d["cells"][0]["questions"][0]
        fast["kind"] = "yes_no"
        fast["text"] = "Fixed fast and right?"

    return edited(tmp_path, "v2.yaml", edit)


def test_diff_lists_added_removed_and_changed_ids(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    result = cli("checklist", "diff", "butterfly", str(v2(tmp_path)), "--lang", "en", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["schema"] == "butterfly.checklist-diff/1"
    assert data["old"]["version"] == "1.0" and data["new"]["version"] == "2.0"
    assert [a["id"] for a in data["added"]] == ["company.long.churn_risk"]
    assert [r["id"] for r in data["removed"]] == ["customer.long.story"]
    assert data["removed"][0]["answers"] is None  # no database asked for
    changed = {c["id"]: c for c in data["changed"]}
    assert set(changed) == {"customer.short.fast_accurate", "company.mid.recurrence"}
    assert changed["customer.short.fast_accurate"]["changed"] == ["kind", "text"]
    assert changed["customer.short.fast_accurate"]["affects_answers"] is True
    assert changed["company.mid.recurrence"]["choices_removed"] == ["unknown"]

    human = cli("checklist", "diff", "butterfly", str(v2(tmp_path)), "--lang", "en")
    assert "+ company.long.churn_risk (rating)" in human.stdout
    assert "- customer.long.story (rating)" in human.stdout
    assert "~ customer.short.fast_accurate: kind rating -> yes_no, text" in human.stdout
    assert "~ company.mid.recurrence: choices -unknown" in human.stdout


def test_same_checklist_in_another_language_changes_only_wording(cli) -> None:  # type: ignore[no-untyped-def]
    from butterfly.checklist.diff import diff_checklists
    from butterfly.checklist.model import load_builtin

    result = diff_checklists(load_builtin("butterfly", "en"), load_builtin("butterfly", "zh-CN"))
    assert not result.added and not result.removed
    assert all(not c.affects_answers for c in result.changed)
    same = cli("checklist", "diff", "butterfly", "butterfly")
    assert "no question added, removed or changed" in same.stdout


def test_diff_counts_stored_answers_and_deletes_nothing(cli, session, db_url: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import func, select

    from butterfly.store.models import Answer, Review, Ticket

    for i, recurrence in enumerate(["unknown", "recurring", "unknown"]):
        t = Ticket(source="csv", external_id=f"T{i}", content_hash=str(i))
        session.add(t)
        session.commit()
        r = Review(ticket_id=t.id, reviewer="lead", checklist_id="butterfly", checklist_version="1.0", language="en")
        session.add(r)
        session.commit()
        session.add_all(
            [
                Answer(review_id=r.id, question_id="customer.long.story", value=2, answered_by="lead"),
                Answer(review_id=r.id, question_id="company.mid.recurrence", value=recurrence, answered_by="lead"),
            ]
        )
        if i == 0:
            session.add(Answer(review_id=r.id, question_id="customer.short.fast_accurate", value=1, answered_by="lead"))
        session.commit()
    # a review of another checklist with the same question id does not count
    other = Review(ticket_id=t.id, reviewer="x", checklist_id="other", checklist_version="1", language="en")
    session.add(other)
    session.commit()
    session.add(Answer(review_id=other.id, question_id="customer.long.story", value=1, answered_by="x"))
    session.commit()
    before = session.execute(select(func.count()).select_from(Answer)).scalar_one()

    result = cli("checklist", "diff", "butterfly", str(v2(tmp_path)), "--lang", "en", "--db", db_url, "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["answers_counted"] is True
    assert data["removed"] == [
        {"id": "customer.long.story", "text": data["removed"][0]["text"], "kind": "rating", "answers": 3}
    ]
    changed = {c["id"]: c for c in data["changed"]}
    assert changed["company.mid.recurrence"]["answers"] == 3
    assert changed["company.mid.recurrence"]["answers_with_removed_choices"] == 2
    assert changed["customer.short.fast_accurate"]["answers"] == 1

    human = cli("checklist", "diff", "butterfly", str(v2(tmp_path)), "--lang", "en", "--db", db_url)
    assert "customer.long.story (rating)  [3 stored answers] - kept, shown as answers to a removed question" in (
        human.stdout
    )
    assert "(2 use a removed choice)" in human.stdout
    session.expire_all()
    assert session.execute(select(func.count()).select_from(Answer)).scalar_one() == before


@pytest.mark.parametrize("args", [["butterfly"], ["butterfly", "no-such-checklist"]])
def test_diff_usage_errors(cli, args: list[str]) -> None:  # type: ignore[no-untyped-def]
    result = cli("checklist", "diff", *args)
    assert result.exit_code == 2
    assert "Traceback" not in result.output
