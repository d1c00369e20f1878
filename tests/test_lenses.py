"""Optional lenses (human-needs, surprise, a team's own) from the checklist files through the review, the reports
and the exports, and the experience level that closes every review."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from butterfly.checklist.model import LANGUAGES, builtin_checklist_ids, load_builtin
from tests.review_support import make_ticket

LENSES = ("human-needs", "surprise")


# -- the lens files --------------------------------------------------------------------------------------------


def test_the_shipped_lenses_are_the_two_from_the_seeds() -> None:
    assert builtin_checklist_ids(kind="lens") == ["human-needs", "surprise"]


@pytest.mark.parametrize("lens_id", LENSES)
def test_lens_loads_in_every_language_with_the_same_ids(lens_id: str) -> None:
    lenses = {lang: load_builtin(lens_id, lang) for lang in LANGUAGES}
    ids = {lang: lens.question_ids() for lang, lens in lenses.items()}
    assert ids["zh-CN"] == ids["zh-TW"] == ids["en"]
    assert {lens.kind for lens in lenses.values()} == {"lens"}
    cells = {lang: [c.id for c in lens.cells] for lang, lens in lenses.items()}
    assert cells["zh-CN"] == cells["zh-TW"] == cells["en"]
    assert all(c.startswith(lens_id + ".") for c in cells["en"])
    assert lenses["zh-CN"].title != lenses["en"].title  # really translated
    assert all(q.help for lens in lenses.values() for q in lens.questions)


def test_human_needs_lens_covers_the_ten_needs_of_seed_003() -> None:
    lens = load_builtin("human-needs", "en")
    needs = [c.id.split(".", 1)[1] for c in lens.cells]
    assert needs == [
        "relevant",
        "tailored",
        "timely",
        "understandable",
        "guiding",
        "continuous",
        "visible",
        "shareable",
        "empathetic",
        "surprising",
    ]
    tailored = lens.question("human-needs.tailored.answer")
    assert "yes_with_conditions" in [c.id for c in tailored.choices or []]


def test_surprise_lens_offers_the_five_experience_levels() -> None:
    from butterfly.review.experience import LEVEL_IDS

    for lang in LANGUAGES:
        q = load_builtin("surprise", lang).question("surprise.foundation.level")
        assert tuple(c.id for c in q.choices or []) == LEVEL_IDS


@pytest.mark.parametrize("lang", LANGUAGES)
def test_checklist_show_and_export_with_lenses(cli, lang: str) -> None:  # type: ignore[no-untyped-def]
    shown = cli("checklist", "show", "--lang", lang, "--lens", "human-needs", "--lens", "surprise")
    assert shown.exit_code == 0, shown.stderr
    for lens_id in LENSES:
        assert load_builtin(lens_id, lang).title in shown.stdout
    exported = cli(
        "checklist", "export", "--lang", lang, "--format", "md", "--lens", "human-needs", "--lens", "surprise"
    )
    assert exported.exit_code == 0, exported.stderr
    assert "human-needs.tailored.answer" in exported.stdout and "surprise.peak_end.end" in exported.stdout


# -- a review with two lenses, end to end -----------------------------------------------------------------------

ANSWERS = """\
experience_level: ultimate
customer.short.fast_accurate: 2
customer.short.certainty:
  value: 1
  note: the plan came after three hours
company.mid.recurrence: one_off
human-needs.relevant.goal: 2
human-needs.tailored.answer: yes_with_conditions
human-needs.timely.in_time: 1
human-needs.empathetic.opened_up:
  value: 2
  note: 客户提到下周要出差，我们把回访改到了周一。
surprise.foundation.level: ultimate
surprise.peak_end.end: 2
surprise.beyond.found: also checked their two other invoice templates
surprise.consistent.designed: yes
"""


def _review_with_two_lenses(cli, db_url: str, tmp_path: Path) -> Path:  # type: ignore[no-untyped-def]
    from butterfly.store.db import open_session

    with open_session(db_url) as session:
        make_ticket(session, "T-1", group_name="Billing", channel="email")
    path = tmp_path / "answers.yaml"
    path.write_text(ANSWERS, encoding="utf-8")
    result = cli(
        "review", "T-1", "--lens", "human-needs", "--lens", "surprise", "--answers", str(path), "--complete",
        "--db", db_url,
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert "saved 11 answer(s)" in result.stdout
    return path


def test_two_lenses_round_trip_through_answers_reports_and_exports(cli, db_url: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = _review_with_two_lenses(cli, db_url, tmp_path)

    # the review keeps both lenses, the lens answers and the experience level
    shown = cli("reviews", "show", "T-1", "--json", "--db", db_url)
    assert shown.exit_code == 0, shown.stderr
    detail = json.loads(shown.stdout)
    assert detail["review"]["lenses"] == ["human-needs", "surprise"]
    assert detail["review"]["experience_level"] == "ultimate"
    assert detail["review"]["status"] == "complete"

    # answering again from the same file changes nothing; lenses need not be repeated
    again = cli("review", "T-1", "--answers", str(path), "--db", db_url)
    assert again.exit_code == 0, again.stderr
    assert "saved 0 answer(s), 11 unchanged" in again.stdout

    # ticket report: the lens sections and the experience level, named and described in the report language
    report = cli("report", "ticket", "T-1", "--format", "json", "--db", db_url)
    assert report.exit_code == 0, report.stderr
    data = json.loads(report.stdout)
    assert [lens["id"] for lens in data["lenses"]] == ["human-needs", "surprise"]
    rows = {q["id"]: q["answers"][0] for lens in data["lenses"] for cell in lens["cells"] for q in cell["questions"]}
    assert rows["human-needs.tailored.answer"]["text"] == "Yes, with conditions"
    assert rows["human-needs.empathetic.opened_up"]["note"] == "客户提到下周要出差，我们把回访改到了周一。"
    assert rows["surprise.consistent.designed"]["text"] == "yes"
    assert rows["surprise.peak_end.peak"]["answered"] is False
    assert data["extra_answers"] == []  # every answer found its question
    review = data["reviews"][0]
    assert (review["experience_level"], review["experience_label"]) == ("ultimate", "Ultimate")
    assert review["experience_description"].startswith("Goes beyond expectation")

    md = cli("report", "ticket", "T-1", "--lang", "zh-CN", "--db", db_url)
    assert md.exit_code == 0, md.stderr
    assert "## 体验层级" in md.stdout
    assert "极致 — 超出预期、让客户惊喜的服务" in md.stdout
    assert "## 视角" in md.stdout
    assert load_builtin("human-needs", "zh-CN").title in md.stdout
    assert "是，但有条件" in md.stdout or "有条件" in md.stdout

    # exports: the lens answers like any other, the lenses and the experience level on every record
    export = cli("export", "reviews", "--per", "review", "--format", "json", "-o", "-", "--db", db_url)
    assert export.exit_code == 0, export.stderr
    [record] = json.loads(export.stdout)
    assert record["lenses"] == ["human-needs", "surprise"]
    assert record["experience_level"] == "ultimate"
    assert record["answers"]["human-needs.tailored.answer"]["value"] == "yes_with_conditions"
    assert record["answers"]["surprise.foundation.level"]["value"] == "ultimate"
    lines = cli("export", "reviews", "--format", "jsonl", "-o", "-", "--db", db_url)
    per_answer = [json.loads(line) for line in lines.stdout.splitlines()]
    assert len(per_answer) == 11
    assert {r["experience_level"] for r in per_answer} == {"ultimate"}
    assert sum(r["question_id"].startswith("surprise.") for r in per_answer) == 4


def test_lens_answers_without_the_lens_are_refused_naming_the_line(cli, db_url: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from butterfly.store.db import open_session

    with open_session(db_url) as session:
        make_ticket(session, "T-1")
    path = tmp_path / "answers.yaml"
    path.write_text(ANSWERS, encoding="utf-8")
    result = cli("review", "T-1", "--lens", "surprise", "--answers", str(path), "--db", db_url)
    assert result.exit_code == 2
    assert f"{path}:7: human-needs.relevant.goal: unknown question id" in result.stderr
    assert "add --lens human-needs" in result.stderr
    # nothing was written: the whole file is checked first
    shown = cli("reviews", "list", "--json", "--db", db_url)
    assert json.loads(shown.stdout) == []


def test_bad_lens_answer_and_bad_experience_level_name_line_and_field(cli, db_url: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from butterfly.store.db import open_session

    with open_session(db_url) as session:
        make_ticket(session, "T-1")
    path = tmp_path / "answers.yaml"
    path.write_text("experience_level: superb\nhuman-needs.tailored.answer: maybe\n", encoding="utf-8")
    result = cli("review", "T-1", "--lens", "human-needs", "--answers", str(path), "--db", db_url)
    assert result.exit_code == 2
    assert f"{path}:1: experience_level: unknown experience level 'superb'" in result.stderr
    assert f"{path}:2: human-needs.tailored.answer:" in result.stderr


TEAM_LENS = """\
id: team-care
version: "1.0"
language: en
kind: lens
title: Team care lens
scale:
  points:
    - {value: 1, label: poor}
    - {value: 2, label: weak}
    - {value: 3, label: fair}
    - {value: 4, label: good}
    - {value: 5, label: great}
cells:
  - id: team-care.follow_up
    title: Follow-up
    purpose: We called back after the fix.
    questions:
      - id: team-care.follow_up.called
        text: How well did we follow up after the fix?
        help: A call after the fix shows we care about the result, not only the ticket.
        kind: rating
"""


def test_a_team_lens_file_with_its_own_scale(cli, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    from butterfly.store.db import open_session

    with open_session(db_url) as session:
        make_ticket(session, "T-1")
    (tmp_path / "team").mkdir()
    (tmp_path / "team" / "team-care.yaml").write_text(TEAM_LENS, encoding="utf-8")
    path = tmp_path / "answers.yaml"
    path.write_text("team-care.follow_up.called: 5\ncustomer.short.fast_accurate: 2\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path / "team")
    result = cli("review", "T-1", "--lens", "team-care.yaml", "--answers", str(path), "--db", db_url)
    assert result.exit_code == 0, result.stderr
    assert "saved 2 answer(s)" in result.stdout
    monkeypatch.chdir(tmp_path)  # the report is made from another folder: the lens is kept by its full path
    report = cli("report", "ticket", "T-1", "--format", "json", "--db", db_url)
    data = json.loads(report.stdout)
    [section] = data["lenses"]
    assert section["title"] == "Team care lens"
    assert section["cells"][0]["questions"][0]["answers"][0]["text"] == "5 · great"
    assert section["cells"][0]["scores"] == [1.0]


# -- the walk ---------------------------------------------------------------------------------------------------


def _walk(cli, db_url: str, lines: list[str], *extra: str):  # type: ignore[no-untyped-def]
    return cli("review", "T-1", "--interactive", "--db", db_url, *extra, input="\n".join(lines) + "\n")


def _stored_review(db_url: str):  # type: ignore[no-untyped-def]
    from sqlmodel import select

    from butterfly.review.answers import answers_for
    from butterfly.store.db import open_session
    from butterfly.store.models import Review

    with open_session(db_url) as session:
        review = session.exec(select(Review)).one()
        assert review.id is not None
        return review, {qid: a.value for qid, a in answers_for(session=session, review_id=review.id).items()}


def test_walk_with_two_lenses_offers_the_surprise_level_as_the_experience_level(cli, db_url: str) -> None:  # type: ignore[no-untyped-def]
    from butterfly.store.db import open_session

    with open_session(db_url) as session:
        make_ticket(session, "T-1")
    # cells 1-6 the butterfly check, 7-16 human-needs, 17-22 surprise: jump to surprise's first and last cells
    lines = ["j", "17", "2", "5", "j", "22", "2", "y", "2", "", "n"]
    result = _walk(cli, db_url, lines, "--lens", "human-needs", "--lens", "surprise")
    assert result.exit_code == 0, result.output
    assert "17) Satisfaction first" in result.stdout and "22) Consistent, not one-off" in result.stdout
    assert "(Enter takes ultimate, your surprise-lens answer)" in result.stdout
    review, answers = _stored_review(db_url)
    assert review.lenses == ["human-needs", "surprise"]
    assert review.experience_level == "ultimate"
    assert review.status == "draft"
    assert answers == {
        "surprise.foundation.basics": 2,
        "surprise.foundation.level": "ultimate",
        "surprise.consistent.repeatable": 2,
        "surprise.consistent.designed": True,
        "surprise.consistent.unannounced": 2,
    }


def test_walk_with_a_team_lens_uses_its_scale_and_sets_the_level(cli, db_url: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from butterfly.store.db import open_session

    with open_session(db_url) as session:
        make_ticket(session, "T-1")
    lens = tmp_path / "team-care.yaml"
    lens.write_text(TEAM_LENS, encoding="utf-8")
    result = _walk(cli, db_url, ["j", "7", "0", "5", "3", "n"], "--lens", str(lens))
    assert result.exit_code == 0, result.output
    assert "1 = poor · 2 = weak · 3 = fair · 4 = good · 5 = great" in result.stdout
    assert "'0' is not on the rating scale" in result.stdout  # 0 is on the main scale, not on this lens's
    review, answers = _stored_review(db_url)
    assert answers == {"team-care.follow_up.called": 5}
    assert review.experience_level == "basement"
