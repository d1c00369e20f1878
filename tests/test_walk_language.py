"""Every word of the walk and the review commands in the reviewer's language: the rare answer errors, the action
item prompts, the editor's errors, the ``--answers --complete`` refusal, ``checklist diff`` and ``butterfly check``.

The assertions name our own texts (``walk.yaml``, ``command_texts.yaml``): the Chinese one is printed, the
English one is not.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from review_support import make_ticket

from butterfly.labels import command_text, ui

# the default walk, answered so that each rare message shows once
ZH_WALK = [
    "a",  # customer.short.fast_accurate: an action item by hand
    "zzz",  # ... kind: not a kind
    "1",  # ... process_patch
    "修模板",  # ... what
    "",  # ... no owner
    "someday",  # ... due: not a date
    "",  # ... no due date
    "2",  # fast_accurate
    "1",  # certainty
    "s",  # need_escalation
    "y",  # compensation_made
    "n",  # ... no action item
    "9999-12-31T23:59:00-05:00",  # compensation_at: past the calendar in UTC
    "2026-02-30 10:00",  # ... not a date
    "s",  # ... skip
    ",,",  # compensation_kind: nothing picked
    "s",  # ... skip
    "s",  # sequence
    "s",  # save_face
    "s",  # story_signal
    "n",  # publicity_planned
    "s",  # resources_authority
    "e",  # blameless_root_cause: an editor that cannot start
    "q",
]


@pytest.mark.parametrize("lang", ["zh-CN", "zh-TW"])
def test_rare_walk_messages_are_in_the_reviewers_language(cli, session, db_url, lang: str) -> None:  # type: ignore[no-untyped-def]
    make_ticket(session, "T-1")
    env = {"EDITOR": "/nonexistent/butterfly-editor"}
    result = cli(
        "review", "T-1", "--interactive", "--db", db_url, "--lang", lang, input="\n".join(ZH_WALK) + "\n", env=env
    )
    assert result.exit_code == 0, result.output
    out = result.stdout
    kinds = "process_patch, outreach, compensation, follow_up"
    expected = {
        "action.kind.bad": ui("action.kind.bad", lang, raw="zzz", kinds=kinds),
        "action.due.bad": ui("action.due.bad", lang, raw="someday"),
        "answer.datetime_off": ui("answer.datetime_off", lang, raw="9999-12-31T23:59:00-05:00"),
        "answer.datetime": ui("answer.datetime", lang, raw="2026-02-30 10:00"),
        "answer.no_choice": ui("answer.no_choice", lang),
        "editor.cannot_start": ui("editor.cannot_start", lang, editor="/nonexistent/butterfly-editor", reason="")[:12],
    }
    for key, said in expected.items():
        assert said in out.replace("\n", ""), key  # Chinese lines are broken by the walk itself
    assert ("流程补丁" if lang == "zh-CN" else "流程補丁") in out  # the action kind by its label
    for key, values in (
        ("action.kind.bad", {"raw": "zzz", "kinds": kinds}),
        ("action.due.bad", {"raw": "someday"}),
        ("answer.datetime_off", {"raw": "9999-12-31 23:59"}),
        ("answer.no_choice", {}),
        ("editor.cannot_start", {"editor": "/nonexistent/butterfly-editor", "reason": ""}),
    ):
        assert ui(key, "en", **values)[:20] not in out, key
    for english in ("is not an action kind", "is not a due date", "cannot start the editor", "pick at least one"):
        assert english not in out
    # the action item was saved all the same
    listed = cli("actions", "list", "--json", "--db", db_url)
    assert '"process_patch"' in listed.stdout


def test_editor_template_comments_are_in_the_reviewers_language(cli, session, db_url, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import sys

    make_ticket(session, "T-1")
    seen = tmp_path / "seen.txt"
    editor = tmp_path / "editor.py"
    editor.write_text(
        "import shutil, sys\n"
        f"shutil.copy(sys.argv[1], {str(seen)!r})\n"
        "text = open(sys.argv[1], encoding='utf-8').read()\n"
        "open(sys.argv[1], 'w', encoding='utf-8').write('模板没有检查' + text)\n",
        encoding="utf-8",
    )
    lines = ["2", "1", "s", "n", "n", "s", "s", "n", "s", "e", "q"]  # no gesture, no action item, …, the editor
    env = {"EDITOR": f"{sys.executable} {editor}"}
    result = cli(
        "review", "T-1", "--interactive", "--db", db_url, "--lang", "zh-TW", input="\n".join(lines) + "\n", env=env
    )
    assert result.exit_code == 0, result.output
    template = seen.read_text(encoding="utf-8")
    assert f"# {ui('editor.comment', 'zh-TW')}" in template
    assert ui("editor.comment", "en") not in template
    from butterfly.review.answers import answers_for
    from butterfly.review.lifecycle import get_review

    review = get_review(session=session, ticket_id=1, reviewer="tester")
    assert review is not None
    assert (
        answers_for(session=session, review_id=review.id)["company.short.blameless_root_cause"].value == "模板没有检查"
    )


@pytest.mark.parametrize("lang", ["zh-CN", "zh-TW"])
def test_answers_file_complete_refusal_in_the_reviewers_language(
    cli, session, db_url, tmp_path: Path, lang: str
) -> None:  # type: ignore[no-untyped-def]
    make_ticket(session, "T-2")
    answers = tmp_path / "few.yaml"
    answers.write_text("customer.short.fast_accurate: 2\n", encoding="utf-8")
    refused = cli("review", "T-2", "--answers", str(answers), "--complete", "--lang", lang, "--db", db_url)
    assert refused.exit_code == 2
    head = ui("complete.refused_file", lang, ticket="T-2", n=12, ids="")
    assert f"Error: {head}" in refused.stderr
    assert ui("complete.refused_file.hint", lang) in refused.stderr
    assert "is not complete" not in refused.stderr and "answer them" not in refused.stderr


def _v2(tmp_path: Path) -> Path:
    """The shipped English checklist with one question removed and one choice of another removed."""
    import yaml

    from butterfly.checklist.model import builtin_checklist_path

    data = yaml.safe_load(builtin_checklist_path("butterfly", "en").read_text(encoding="utf-8"))
    data["version"] = "9.0"
    for cell in data["cells"]:
        cell["questions"] = [q for q in cell["questions"] if q["id"] != "company.long.offhand_wishes"]
        for q in cell["questions"]:
            if q["id"] == "company.mid.recurrence":
                q["choices"] = q["choices"][:-1]
    path = tmp_path / "team-v2.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


@pytest.mark.parametrize("lang", ["zh-CN", "zh-TW"])
def test_checklist_diff_speaks_the_language(cli, tmp_path: Path, lang: str) -> None:  # type: ignore[no-untyped-def]
    result = cli("checklist", "diff", "butterfly", str(_v2(tmp_path)), "--lang", "en")
    assert result.exit_code == 0, result.output
    assert "removed (1):" in result.stdout  # English by default
    old = Path(__file__).resolve().parent / "data" / "butterfly.1.0.en.yaml"
    for args in (["butterfly", str(_v2(tmp_path))], [str(old), "butterfly"]):
        result = cli("checklist", "diff", *args, "--lang", lang)
        assert result.exit_code == 0, result.output
        out = result.stdout
        assert command_text("diff.added", lang, n=0 if args[0] == "butterfly" else 1) in out
        assert command_text("diff.keep", lang, kept=0, common=0)[:6] in out
        for key in ("added", "removed", "changed"):
            assert command_text(f"diff.{key}", "en", n=0)[:-4] not in out
        assert "old reviews keep" not in out and "now asked only" not in out and "may not fit" not in out
    assert command_text("diff.deep_now", lang, ids="")[:8] in out  # v1 -> v2: some questions went deep


@pytest.mark.parametrize("lang", ["zh-CN", "zh-TW"])
def test_check_speaks_the_language(cli, session, db_url, lang: str) -> None:  # type: ignore[no-untyped-def]
    from butterfly.store.models import ActionItem, Review, Ticket

    closed = datetime.now(UTC) - timedelta(days=2)
    tickets = [
        Ticket(source="csv", external_id=ext, customer="C", status="closed", closed_at=closed, content_hash=ext)
        for ext in ("U1", "R1")
    ]
    session.add_all(tickets)
    session.commit()
    t = tickets[1]
    r = Review(ticket_id=t.id, reviewer="lead", checklist_id="butterfly", checklist_version="2.0", language="en")
    session.add(r)
    session.commit()
    due = (datetime.now(UTC) - timedelta(days=30)).date()
    session.add(ActionItem(review_id=r.id, ticket_id=t.id, kind="outreach", text="call", status="open", due_date=due))
    session.commit()
    result = cli("check", "--since", "30d", "--require-complete", "--lang", lang, "--db", db_url)
    assert result.exit_code == 1
    out, err = result.stdout, result.stderr
    assert "FAIL  coverage" in out  # check names stay greppable
    for key, values in (
        ("gate.coverage.complete", {"reviewed": 0, "closed": 2, "pct": "0%", "min": "80%"}),
        ("gate.unreviewed", {"n": 2}),  # R1 has only a draft: with --require-complete it counts as unreviewed
        ("gate.drafts.title", {"n": 1}),
        ("gate.overdue.title", {"n": 1}),
    ):
        assert command_text(key, lang, **values) in out, key
        assert command_text(key, "en", **values) not in out, key
    assert command_text("gate.failed", lang, names="")[:4] in err
    for english in ("closed tickets have", "unreviewed closed tickets", "draft review", "past due", "check failed"):
        assert english not in result.output
