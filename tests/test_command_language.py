"""Every line of ``reviews list|reopen|dismiss-finding``, ``sync``, import's status note, the new-database line and
the walk's "action item not saved" reason in the user's language (``command_texts.yaml``, ``import_texts.yaml``,
``walk.yaml``): the Chinese text is printed, and no English sentence is left."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from review_support import make_ticket
from test_sync import TOKEN, github_api  # noqa: F401  (the fake GitHub API fixture)

from butterfly.labels import command_text, text, ui
from butterfly.store.db import sqlite_url

LANGS = ["zh-CN", "zh-TW"]
BLAME_Q = "company.short.another_person"
# three or more English words in a row: a sentence (or table heading) left untranslated
ENGLISH = re.compile(r"[A-Za-z]{2,}(?:[ '(),;:-]+[A-Za-z]{2,}){2,}")


def english_left(output: str, *allowed: str) -> list[str]:
    """Runs of English words in ``output`` other than the ``allowed`` ones (commands, names, values) and paths."""
    for part in allowed:
        output = output.replace(part, " ")
    return ENGLISH.findall(re.sub(r"/\S*", " ", output))


@pytest.mark.parametrize("lang", LANGS)
def test_reviews_list_reopen_and_dismiss_speak_the_language(cli, session, db_url, tmp_path: Path, lang: str) -> None:  # type: ignore[no-untyped-def]
    empty = cli("reviews", "list", "--lang", lang, "--db", db_url)
    assert empty.exit_code == 0, empty.output
    assert command_text("reviews.none", lang) in empty.stderr
    assert english_left(empty.stderr, "butterfly review TICKET") == []

    make_ticket(session, "T-1", subject="发票导出失败")
    answers = tmp_path / "answers.yaml"
    answers.write_text(f'{BLAME_Q}: "Because Wang forgot to call the customer back."\n', encoding="utf-8")
    applied = cli("review", "T-1", "--answers", str(answers), "--complete", "--allow-gaps", "--db", db_url)
    assert applied.exit_code == 0, applied.output

    listed = cli("reviews", "list", "--lang", lang, "--db", db_url)
    assert listed.exit_code == 0, listed.output
    for col in ("ticket", "reviewer", "answered", "findings", "updated", "subject"):
        assert command_text(f"reviews.col.{col}", lang) in listed.stdout, col
    assert ui("sum.status.complete", lang) in listed.stdout
    assert english_left(listed.stdout) == [], listed.stdout
    assert "updated (UTC)" not in listed.stdout and "complete" not in listed.stdout

    reopened = cli("reviews", "reopen", "T-1", "--lang", lang, "--db", db_url)
    assert reopened.exit_code == 0, reopened.output
    assert command_text("reviews.reopened", lang, ticket="T-1", reviewer="tester") in reopened.stderr
    assert english_left(reopened.stderr, "butterfly review T-1") == []

    dismissed = cli("reviews", "dismiss-finding", "T-1", BLAME_Q, "--by", "lead.zhou", "--lang", lang, "--db", db_url)
    assert dismissed.exit_code == 0, dismissed.output
    said = command_text("reviews.dismissed", lang, question=BLAME_Q, ticket="T-1", by="lead.zhou", when="")
    assert said.split("（")[0] in dismissed.stderr
    assert "dismissed as not blame" not in dismissed.stderr
    assert english_left(dismissed.stderr) == [], dismissed.stderr


@pytest.mark.parametrize("lang", LANGS)
def test_the_walk_says_why_an_action_item_was_not_saved(cli, session, db_url, lang: str) -> None:  # type: ignore[no-untyped-def]
    make_ticket(session, "T-1")
    too_long = "x" * 2001
    lines = ["a", "1", too_long, "", "", "q"]  # an action item by hand: kind, text over 2,000 characters, no owner/due
    result = cli("review", "T-1", "--interactive", "--lang", lang, "--db", db_url, input="\n".join(lines) + "\n")
    assert result.exit_code == 0, result.output
    out = result.stdout.replace("\n", "")  # Chinese lines are broken by the walk itself
    reason = ui("action.text_long", lang, n=2001, max=2000)
    assert ui("action.failed", lang, reason=reason) in out
    assert "characters long" not in out and "at most 2000" not in out
    listed = cli("actions", "list", "--json", "--db", db_url)
    assert listed.stdout.strip() == "[]"  # nothing stored


@pytest.mark.parametrize("lang", LANGS)
def test_sync_speaks_the_language(github_api: Any, tmp_path: Path, cli, monkeypatch, lang: str) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    monkeypatch.setenv("BUTTERFLY_SYNC__GITHUB__URL", github_api.base)
    github_api.data["acme/support"].append({"number": "not a number", "updated_at": "2026-03-07T00:00:00Z"})
    db = tmp_path / "sync.db"
    result = cli("sync", "github", "--repo", "acme/support", "--lang", lang, "--db", sqlite_url(db))
    assert result.exit_code == 1, result.output  # one record rejected
    out, err = result.stdout, result.stderr
    assert command_text("sync.title", lang, source="github") in out
    for col in ("account", "pages", "fetched", "new", "updated", "unchanged", "duplicate", "skipped", "rejected"):
        assert command_text(f"sync.col.{col}", lang) in out, col
    assert command_text("db.created", lang, path=db) in err
    assert command_text("sync.requests", lang, requests=0, retries=0, seconds=0.0).split("，")[0][-3:] in err
    assert command_text("sync.rejected", lang, n=1, path="")[:6] in err
    assert TOKEN not in out + err
    for english in ("request(s)", "retried", "rejected, kept", "created a new database", "Sync github", "account"):
        assert english not in out + err, english
    assert english_left(out + err, "acme/support") == [], out + err

    dry = cli("sync", "github", "--repo", "acme/support", "--dry-run", "--lang", lang, "--db", sqlite_url(db))
    assert command_text("sync.title.dry_run", lang, source="github") in dry.stdout
    assert "dry run" not in dry.stdout


@pytest.mark.parametrize("lang", LANGS)
def test_import_says_how_statuses_are_set_and_that_the_database_is_new(
    cli, tmp_path: Path, monkeypatch, lang: str
) -> None:  # type: ignore[no-untyped-def]
    from butterfly.settings import get_settings

    monkeypatch.setenv("BUTTERFLY_LANGUAGE", lang)  # import speaks the settings' language
    get_settings.cache_clear()
    with_times = tmp_path / "closed.csv"
    with_times.write_text(
        "id,customer,subject,created,closed\nT-1,Acme,Login fails,2026-03-01 09:00,2026-03-02 09:00\n"
    )
    without = tmp_path / "open.csv"
    without.write_text("id,customer,subject,created\nT-2,Acme,Login fails,2026-03-01 09:00\n")
    db = tmp_path / "new.db"
    first = cli("import", str(with_times), "--db", sqlite_url(db))
    assert first.exit_code == 0, first.output
    assert text("import_texts.yaml", "mapping.status_from_times", lang) in first.stderr
    assert command_text("db.created", lang, path=db) in first.stderr
    second = cli("import", str(without), "--db", sqlite_url(db))
    assert second.exit_code == 0, second.output
    assert text("import_texts.yaml", "mapping.status_open", lang) in second.stderr
    assert command_text("db.created", lang, path=db) not in second.stderr  # not new any more
    for result in (first, second):
        assert "no status column" not in result.stderr and "created a new database" not in result.stderr
    get_settings.cache_clear()


def _db_text(key: str, lang: str, **values: object) -> str:
    return text("db_texts.yaml", key, lang, **values)


@pytest.mark.parametrize("lang", LANGS)
def test_db_upgrade_info_backup_and_check_speak_the_language(cli, db_url: str, tmp_path: Path, lang: str) -> None:  # type: ignore[no-untyped-def]
    upgraded = cli("db", "upgrade", "--lang", lang, "--db", db_url)
    assert upgraded.exit_code == 0, upgraded.output
    assert english_left(upgraded.stderr) == [], upgraded.stderr

    info = cli("db", "info", "--lang", lang, "--db", db_url)
    assert info.exit_code == 0, info.output
    assert _db_text("info.col.rows", lang) in info.stdout
    tables = [line.split("│")[1].strip() for line in info.stdout.splitlines() if line.count("│") >= 3]
    assert english_left(info.stdout, *tables) == [], info.stdout  # table names are the database's own

    checked = cli("db", "check", "--lang", lang, "--db", db_url)
    assert checked.exit_code == 0, checked.output
    assert _db_text("check.ok", lang) in checked.stdout
    assert _db_text("name.orphans.answer_review", lang) in checked.stdout
    assert english_left(checked.stdout, "PRAGMA integrity_check", "PRAGMA foreign_key_check") == [], checked.stdout
    as_json = cli("db", "check", "--lang", lang, "--json", "--db", db_url)
    assert '"name": "orphans: answers without review"' in as_json.stdout  # scripts keep the English ids

    if db_url.startswith("sqlite"):
        backed = cli("db", "backup", str(tmp_path / "copy.db"), "--lang", lang, "--db", db_url)
        assert backed.exit_code == 0, backed.output
        assert english_left(backed.stderr) == [], backed.stderr


def test_db_check_names_a_broken_schema_in_the_language(cli, sqlite_url_fixture: str) -> None:  # type: ignore[no-untyped-def]
    import sqlite3

    path = sqlite_url_fixture.split(":///", 1)[1]
    with sqlite3.connect(path) as conn:
        conn.execute("DROP INDEX IF EXISTS ix_answer_change_answer_id")
        conn.execute("CREATE TABLE my_notes (x int)")
    english = cli("db", "check", "--db", sqlite_url_fixture)
    chinese = cli("db", "check", "--lang", "zh-CN", "--db", sqlite_url_fixture)
    assert "unexpected table my_notes" in english.stdout
    assert _db_text("diff.remove_table", "zh-CN", what="my_notes") in chinese.stdout
    assert "unexpected" not in chinese.stdout
