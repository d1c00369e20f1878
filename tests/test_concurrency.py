"""Team mode: several reviewers at once on one database (SQLite and PostgreSQL), in separate processes.

Modest sizes here (CI time); ``benchmarks/reliability.py`` runs the full-size load.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from loadkit import (
    Plan,
    answers_file_data,
    history_count,
    run_load,
    setup_reviews,
    stored_answers,
    verify,
)

from butterfly.store.db import dispose_engines

pytestmark = pytest.mark.slow


def test_eight_processes_answer_the_same_review_and_their_own(db_url: str) -> None:
    """8 spawned processes x 30 saves, half of them optimistic: exactly once, complete history, no lost update."""
    shared, own = setup_reviews(db_url, reviewers=8)
    dispose_engines()
    plan = Plan(url=db_url, workers=8, answers=30, shared_review=shared, own_reviews=own, optimistic="half")
    results = run_load(plan)
    verdict = verify(db_url, results, plan)
    assert verdict.ok, verdict.problems
    assert verdict.saves == 240 == verdict.history
    assert verdict.answers == verdict.expected == 8 + 8 * 8


def test_a_stale_answer_is_a_conflict_not_an_overwrite(db_url: str) -> None:
    from butterfly.errors import ConflictError
    from butterfly.review.answers import save_answer
    from butterfly.store.db import open_session

    shared, _ = setup_reviews(db_url, reviewers=0)
    qid = "company.short.another_person"
    with open_session(db_url) as first, open_session(db_url) as second:
        seen = save_answer(session=first, review_id=shared, question_id=qid, value="v1", by="li", expected_version=0)
        assert seen.version == 1
        # both reviewers have version 1 on screen; li saves first, then wang saves over a stale version
        save_answer(session=first, review_id=shared, question_id=qid, value="li's v2", by="li", expected_version=1)
        with pytest.raises(ConflictError) as exc:
            save_answer(
                session=second, review_id=shared, question_id=qid, value="wang's v2", by="wang", expected_version=1
            )
    assert "changed by li" in exc.value.message and "version 2" in exc.value.message
    assert stored_answers(db_url, shared)[qid] == ("li's v2", False)
    assert history_count(db_url, shared) == 2


def _review_id(db_url: str, ticket: str, reviewer: str) -> int:
    from butterfly.review.lifecycle import get_review
    from butterfly.store.db import open_session
    from butterfly.tickets import get_ticket

    with open_session(db_url) as session:
        review = get_review(
            session=session, ticket_id=get_ticket(session=session, ref=ticket).id or 0, reviewer=reviewer
        )
        assert review is not None and review.id is not None
        return review.id


def test_answers_files_from_parallel_commands(db_url: str, tmp_path: Path) -> None:
    """`butterfly review T --answers FILE` x 4 processes: 2 reviewers of one ticket, each with 2 files racing.

    Each file is one transaction: a review ends up with exactly one file's answers (never a mix), and its history
    holds both files' changes.
    """
    setup_reviews(db_url, reviewers=0, ticket_ref="RACE-1")
    dispose_engines()
    files = []
    for variant in (0, 1):
        path = tmp_path / f"answers-{variant}.json"
        path.write_text(json.dumps(answers_file_data(variant), ensure_ascii=False), encoding="utf-8")
        files.append(path)
    reviewers = [f"lead-{i}" for i in range(2)]  # benchmarks/reliability.py runs 8 reviewers x 2 files
    env_overrides = {"BUTTERFLY_SQLITE_BUSY_TIMEOUT": "60", "BUTTERFLY_LANGUAGE": "en"}
    import os

    env = {**os.environ, **env_overrides}
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "butterfly",
                "review",
                "RACE-1",
                "--answers",
                str(f),
                "--reviewer",
                r,
                "--db",
                db_url,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for r in reviewers
        for f in files
    ]
    outputs = [p.communicate(timeout=300) for p in procs]
    for p, (out, err) in zip(procs, outputs, strict=True):
        assert p.returncode == 0, out + err
        assert "Traceback" not in err
    variants = [{q: (v, False) for q, v in answers_file_data(n).items()} for n in (0, 1)]
    from butterfly.checklist.model import load_builtin
    from butterfly.review.answers import validate_answer

    checklist = load_builtin("butterfly", "en")
    stored_forms = [
        {q.id: validate_answer(q, raw[q.id][0], checklist.scale, tz="UTC") for q in checklist.questions}
        for raw in variants
    ]
    for reviewer in reviewers:
        review_id = _review_id(db_url, "RACE-1", reviewer)
        stored = stored_answers(db_url, review_id)
        assert len(stored) == len(checklist.questions)
        assert stored in stored_forms, f"{reviewer}: a mix of the two files"
        assert history_count(db_url, review_id) == 2 * len(checklist.questions)


def test_an_import_runs_while_eight_reviewers_work(db_url: str, tmp_path: Path) -> None:
    """A 20k-ticket import and 8 reviewer processes at once: both finish, every count exact."""
    import os

    csv_path = tmp_path / "tickets.csv"
    root = Path(__file__).resolve().parent.parent
    subprocess.run(
        [
            sys.executable,
            str(root / "benchmarks" / "generate_tickets.py"),
            "--rows",
            "20000",
            "--seed",
            "11",
            "-o",
            str(csv_path),
        ],
        check=True,
        capture_output=True,
    )
    shared, own = setup_reviews(db_url, reviewers=8)
    dispose_engines()
    env = {**os.environ, "BUTTERFLY_SQLITE_BUSY_TIMEOUT": "60"}
    procs: list[subprocess.Popen[str]] = []

    def start_import() -> None:  # once the reviewers are saving answers
        procs.append(
            subprocess.Popen(
                [sys.executable, "-m", "butterfly", "import", str(csv_path), "--db", db_url, "--json"],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env=env,
            )
        )

    plan = Plan(url=db_url, workers=8, answers=30, shared_review=shared, own_reviews=own, pause=0.15)
    results = run_load(plan, meanwhile=start_import)
    importer = procs[0]
    out, err = importer.communicate(timeout=600)
    assert importer.returncode == 0, err[-2000:]
    summary = json.loads(out)
    assert sum(f["new"] for f in summary["files"]) == 20000
    verdict = verify(db_url, results, plan)
    assert verdict.ok, verdict.problems
    assert verdict.history == verdict.saves == 240
    from sqlalchemy import func, select

    from butterfly.store.db import open_session, table_counts
    from butterfly.store.models import AnswerChange, ImportRun

    with open_session(db_url) as session:
        assert table_counts(session)["ticket"] == 20000 + 1  # the import's tickets and the reviewed one
        run = session.exec(select(ImportRun)).one()[0]  # type: ignore[call-overload]
        last_save = session.execute(select(func.max(AnswerChange.changed_at))).scalar_one()
    assert run.status == "done"
    assert run.started_at < last_save, "the reviewers had finished before the import started: no overlap tested"
