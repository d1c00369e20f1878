"""``butterfly review TICKET --answers FILE``: validate everything, then save it all in one go (or nothing)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from review_support import ROOT, load_example_tickets, make_ticket

from butterfly.review.answers import answers_for


def _counts(session) -> dict[str, int]:  # type: ignore[no-untyped-def]
    from butterfly.store.db import table_counts

    return {k: v for k, v in table_counts(session).items() if k in ("review", "answer", "answer_change", "action_item")}


def test_the_shipped_example_answers_file_is_complete_and_valid(cli, session, db_url) -> None:  # type: ignore[no-untyped-def]
    load_example_tickets(session)
    result = cli("review", "T-1001", "--answers", str(ROOT / "examples" / "answers.yaml"), "--complete", "--db", db_url)
    assert result.exit_code == 0, result.output
    assert "saved 32 answer(s), 0 unchanged, 3 action item(s)" in result.stdout
    assert "Render the report: butterfly report ticket T-1001" in result.stdout
    shown = json.loads(cli("reviews", "show", "T-1001", "--json", "--db", db_url).stdout)
    assert shown["review"]["status"] == "complete"
    assert shown["review"]["answered"] == shown["review"]["questions"] == 32
    assert shown["review"]["experience_level"] == "baseline"
    assert shown["findings"] == []  # compensation after resolution, blameless wording, no publicity planned
    assert shown["answers"]["customer.mid.compensation_at"]["value"] == "2026-10-06T02:00:00+00:00"
    assert shown["answers"]["customer.short.certainty"]["note"].startswith("首次响应")
    assert {a["kind"] for a in shown["actions"]} == {"process_patch", "outreach", "follow_up"}
    assert shown["scores"][0]["score"] == pytest.approx((2 + 1 + 1 + 2) / 8)
    # the same file again changes nothing
    again = cli("review", "T-1001", "--answers", str(ROOT / "examples" / "answers.yaml"), "--db", db_url)
    assert again.exit_code == 0, again.output
    assert "saved 0 answer(s), 32 unchanged" in again.stdout


BAD = """\
customer.short.fast_accurate: 2
customer.short.certainty: 5
customer.mid.compensation_made: maybe
customer.mid.compensation_at: "next tuesday"
company.mid.proces_patch: typo in the id
company.mid.recurrence:
  value: sometimes
  note: ok
company.long.offhand_wishes:
  value: a wish
  action: {kind: party, text: ''}
company.mid.cost_of_fixing: yes
"""


def test_bad_file_names_file_line_and_question_and_saves_nothing(cli, session, db_url, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    make_ticket(session, "T-1")
    path = tmp_path / "answers.yaml"
    path.write_text(BAD, encoding="utf-8")
    before = _counts(session)
    result = cli("review", "T-1", "--answers", str(path), "--db", db_url)
    assert result.exit_code == 2
    err = result.stderr
    assert f"{path}: 7 problems" in err
    assert f"{path}:2: customer.short.certainty: '5' is not on the rating scale" in err
    assert f"{path}:3: customer.mid.compensation_made: 'maybe' is not yes or no" in err
    assert f"{path}:4: customer.mid.compensation_at: 'next tuesday' is not a date-time" in err
    assert f"{path}:5: company.mid.proces_patch: unknown question id 'company.mid.proces_patch'; did you mean" in err
    assert f"{path}:7: company.mid.recurrence: 'sometimes' is not one of the choices" in err
    assert f"{path}:11: company.long.offhand_wishes: action:" in err
    assert f"{path}:12: company.mid.cost_of_fixing: expected text (YAML reads unquoted yes/no" in err
    assert "Traceback" not in result.output
    assert _counts(session) == before  # not even the review was created


def test_json_answers_file_with_na_and_notes(cli, session, db_url, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    make_ticket(session, "T-2")
    path = tmp_path / "answers.json"
    data = {
        "customer.short.certainty": {"value": "Fully", "note": "plan within the hour"},
        "customer.mid.save_face": {"na": True},
        "customer.mid.compensation_kind": [1, "visit"],
        "company.short.another_person": "都怪小李",
    }
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    result = cli("review", "T-2", "--answers", str(path), "--db", db_url)
    assert result.exit_code == 0, result.output
    assert "Wording that blames a person" in result.stdout
    from butterfly.review.lifecycle import get_review

    review = get_review(session=session, ticket_id=1, reviewer="tester")
    answers = answers_for(session=session, review_id=review.id)
    assert (answers["customer.short.certainty"].value, answers["customer.short.certainty"].note) == (
        2,
        "plan within the hour",
    )
    assert (answers["customer.mid.save_face"].value, answers["customer.mid.save_face"].na) == (None, True)
    assert answers["customer.mid.compensation_kind"].value == ["thank_you_call", "visit"]


def test_broken_json_names_the_line(cli, session, db_url, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    make_ticket(session, "T-3")
    path = tmp_path / "a.json"
    path.write_text('{\n  "customer.short.certainty": 2,\n}\n', encoding="utf-8")
    result = cli("review", "T-3", "--answers", str(path), "--db", db_url)
    assert result.exit_code == 2
    assert f"{path}:3: not valid JSON" in result.stderr


def test_answers_for_a_complete_review_need_a_reopen(cli, session, db_url, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    make_ticket(session, "T-4")
    path = tmp_path / "a.yaml"
    path.write_text("customer.short.certainty: 2\n", encoding="utf-8")
    assert cli("review", "T-4", "--answers", str(path), "--complete", "--db", db_url).exit_code == 0
    path.write_text("customer.short.certainty: 1\n", encoding="utf-8")
    refused = cli("review", "T-4", "--answers", str(path), "--db", db_url)
    assert refused.exit_code == 2
    assert "is complete" in refused.stderr and "butterfly reviews reopen T-4" in refused.stderr
    assert cli("reviews", "reopen", "T-4", "--db", db_url).exit_code == 0
    assert cli("review", "T-4", "--answers", str(path), "--db", db_url).exit_code == 0
    shown = json.loads(cli("reviews", "show", "T-4", "--json", "--db", db_url).stdout)
    assert shown["review"]["status"] == "draft"
    assert [(h["old_value"], h["new_value"]) for h in shown["history"]] == [(None, 2), (2, 1)]


def test_lens_questions_need_the_lens(cli, session, db_url, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from butterfly.checklist.model import load_builtin

    make_ticket(session, "T-5")
    lens_q = load_builtin("human-needs", "en").questions[1]
    path = tmp_path / "a.yaml"
    path.write_text(f"{lens_q.id}: 2\n", encoding="utf-8")
    refused = cli("review", "T-5", "--answers", str(path), "--db", db_url)
    assert refused.exit_code == 2
    assert "add --lens human-needs" in refused.stderr
    ok = cli("review", "T-5", "--answers", str(path), "--lens", "human-needs", "--json", "--db", db_url)
    assert ok.exit_code == 0, ok.output
    data = json.loads(ok.stdout)
    assert data["review"]["lenses"] == ["human-needs"]
    assert data["answers"][lens_q.id]["value"] == 2
    assert "human-needs" in data["lens_scores"]


def test_open_ticket_is_refused_unless_allowed(cli, session, db_url, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    make_ticket(session, "T-6", status="open", resolved_at=None, closed_at=None)
    path = tmp_path / "a.yaml"
    path.write_text("customer.short.certainty: 2\n", encoding="utf-8")
    refused = cli("review", "T-6", "--answers", str(path), "--db", db_url)
    assert refused.exit_code == 2
    assert "T-6 is open" in refused.stderr and "--allow-open" in refused.stderr
    assert cli("review", "T-6", "--answers", str(path), "--allow-open", "--db", db_url).exit_code == 0
