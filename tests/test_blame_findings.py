"""Blame-wording findings follow the text: --answers prints them, rewording closes them, a reviewer can dismiss
them (walk key and CLI), and no report repeats the words or counts what was reworded or dismissed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from review_support import make_ticket

BLAME_Q = "company.short.another_person"
BLAMING = "Because Wang forgot to call the customer back."
CLEAN = "Nobody had a callback reminder: the queue has no follow-up step."


def _answers(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "answers.yaml"
    path.write_text(f'{BLAME_Q}: "{text}"\ncustomer.short.fast_accurate: 2\n', encoding="utf-8")
    return path


def _finding(db_url: str) -> Any:
    from sqlmodel import select

    from butterfly.store.db import open_session
    from butterfly.store.models import Finding

    with open_session(db_url) as session:
        return session.exec(select(Finding).where(Finding.kind == "blame_wording")).one()


def test_answers_file_prints_and_records_the_finding(cli, session, db_url, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    make_ticket(session, "T-1")
    result = cli("review", "T-1", "--answers", str(_answers(tmp_path, BLAMING)), "--db", db_url)
    assert result.exit_code == 0, result.output
    assert f"finding: Wording that blames a person ({BLAME_Q}):" in result.stdout
    f = _finding(db_url)
    assert (f.status, f.kept) == ("open", True)


def test_reword_then_reports_keep_no_words(cli, session, db_url, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    make_ticket(session, "T-1")
    assert cli("review", "T-1", "--answers", str(_answers(tmp_path, BLAMING)), "--db", db_url).exit_code == 0
    kept = cli("report", "ticket", "T-1", "--db", db_url).stdout
    assert "Wording that blames a person" in kept
    assert "Wang" not in kept  # neither in the findings nor in the answer's cell
    assert "the report does not repeat the words" in kept

    result = cli("review", "T-1", "--answers", str(_answers(tmp_path, CLEAN)), "--db", db_url)
    assert result.exit_code == 0, result.output
    assert f"finding: Wording that blames a person ({BLAME_Q}): (reworded)" in result.stdout
    f = _finding(db_url)
    assert (f.status, f.detail) == ("reworded", "")
    report = cli("report", "ticket", "T-1", "--db", db_url).stdout
    assert "Wang" not in report and "Wording that blames a person" not in report
    assert "Answers whose blame wording was reworded: 1" in report
    assert CLEAN in report
    # the history keeps the old wording for the reviewer
    history = cli("reviews", "show", "T-1", "--history", "--db", db_url).stdout
    assert "Wang" in history and "(reworded)" in history

    week = "{}-W{:02d}".format(*f.created_at.isocalendar()[:2])
    weekly = cli("report", "weekly", "--week", week, "--db", db_url).stdout
    assert "Wang" not in weekly
    assert "| Wording that blames a person | 0 |" in weekly
    assert "Answers whose blame wording was reworded: 1" in weekly


def test_dismiss_finding_cli(cli, session, db_url, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    make_ticket(session, "T-1")
    assert cli("review", "T-1", "--answers", str(_answers(tmp_path, BLAMING)), "--db", db_url).exit_code == 0
    missing = cli("reviews", "dismiss-finding", "T-1", "company.short.nope", "--db", db_url)
    assert missing.exit_code == 2
    assert missing.stderr.startswith("Error: ")
    result = cli("reviews", "dismiss-finding", "T-1", BLAME_Q, "--by", "lead.zhou", "--db", db_url)
    assert result.exit_code == 0, result.output
    assert "dismissed as not blame by lead.zhou" in result.stderr
    f = _finding(db_url)
    assert (f.status, f.status_by) == ("dismissed", "lead.zhou")
    assert f.status_at is not None
    report = cli("report", "ticket", "T-1", "--db", db_url).stdout
    assert "Findings dismissed as not blame: 1" in report
    assert "Wording that blames a person" not in report
    listed = cli("reviews", "list", "--json", "--db", db_url).stdout
    assert '"findings": 0' in listed
    shown = cli("reviews", "show", "T-1", "--db", db_url).stdout
    assert "(dismissed as not blame by lead.zhou on" in shown


def test_walk_dismisses_with_one_key(cli, session, db_url) -> None:  # type: ignore[no-untyped-def]
    from butterfly.checklist.model import load_builtin
    from butterfly.review.lifecycle import set_position, start_review

    ticket = make_ticket(session, "T-1")
    checklist = load_builtin("butterfly", "en")
    review = start_review(session=session, ticket=ticket, reviewer="tester", checklist=checklist)
    ids = checklist.question_ids()
    set_position(session=session, review=review, question_id=ids[ids.index(BLAME_Q) - 1])
    result = cli("review", "T-1", "--interactive", "--reviewer", "tester", "--db", db_url, input="都怪小李\nd\nq\n")
    assert result.exit_code == 0, result.output
    assert "Blameless wording" in result.stdout
    assert "Dismissed: the finding is recorded as not blame" in result.stdout
    f = _finding(db_url)
    assert (f.status, f.status_by) == ("dismissed", "tester")


def test_migration_0005_marks_old_reworded_blame_findings_and_clears_their_words(tmp_path: Path) -> None:
    import sqlalchemy as sa

    from butterfly.store.db import dispose_engines, get_engine, sqlite_url, upgrade

    engine = get_engine(sqlite_url(tmp_path / "old.db"))
    try:
        upgrade(engine, "0004")
        with engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO ticket (source, external_id, status, content_hash, tags, imported_at) "
                    "VALUES ('csv', 'T-1', 'closed', 'h', '[]', '2026-10-01 09:00:00')"
                )
            )
            conn.execute(
                sa.text(
                    "INSERT INTO review (ticket_id, reviewer, checklist_id, checklist_version, language, status, "
                    "started_at, updated_at, lenses, version) VALUES (1, 'ann', 'butterfly', '1.0', 'en', 'draft', "
                    "'2026-10-02 09:00:00', '2026-10-02 09:00:00', '[]', 1)"
                )
            )
            for kind, detail, kept in (
                ("blame_wording", '"Wang forgot"', False),  # the old code's "reworded" state
                ("blame_wording", '"Li forgot"', True),
                ("compensation_before_resolution", "too early", False),
            ):
                conn.execute(
                    sa.text(
                        "INSERT INTO finding (review_id, question_id, kind, detail, kept, created_at) "
                        "VALUES (1, :q, :kind, :detail, :kept, '2026-10-02 10:00:00')"
                    ),
                    {"q": f"q.{detail}", "kind": kind, "detail": detail, "kept": kept},
                )
        upgrade(engine)
        with engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT kind, detail, status FROM finding ORDER BY id")).all()
    finally:
        dispose_engines()
    assert [tuple(r) for r in rows] == [
        ("blame_wording", "", "reworded"),
        ("blame_wording", '"Li forgot"', "open"),
        ("compensation_before_resolution", "too early", "open"),
    ]
