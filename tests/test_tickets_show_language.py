"""`butterfly tickets show` speaks zh-CN, zh-TW and en: every word it prints around the ticket's own data (field
names, timeline, conversation facts, the thread's roles, the state timeline) comes from ticket_texts.yaml."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.test_conversation_import import COMMENTS, _zendesk
from tests.test_import_timeline import LOG

_CJK = re.compile(r"[\u3400-\u9fff]")
_WORDS = re.compile(r"[A-Za-z]{2,}")
ALLOWED = {"UTC", "SLA", "ServiceNow"}  # names kept as they are in every language


def _data_strings(value: Any) -> list[str]:
    """Every string of the --json output: the ticket's own data, which stays as the helpdesk wrote it."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _data_strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _data_strings(v)]
    return []


def _ours(cli: Any, db_url: str, ref: str, lang: str) -> tuple[str, str]:
    """What `tickets show` printed, whole, and with the ticket's own data taken out."""
    args = ("tickets", "show", ref, "--thread", "--timeline", "--db", db_url)
    shown = cli(*args, "--lang", lang)
    assert shown.exit_code == 0, shown.output
    data = json.loads(cli(*args, "--json").stdout)
    rest = shown.output
    for value in sorted(set(_data_strings(data)), key=len, reverse=True):
        if len(value) > 1:
            rest = rest.replace(value, " ")
            rest = rest.replace(value.replace("\n", " "), " ")
    return shown.output, rest


@pytest.fixture
def two_tickets(tmp_path: Path, db_url: str, cli: Any) -> str:
    export = tmp_path / "zendesk.json"
    export.write_text(json.dumps(_zendesk(COMMENTS)), encoding="utf-8")
    assert cli("import", str(export), "--format", "zendesk", "--db", db_url).exit_code == 0
    log = tmp_path / "incident_event_log.csv"
    log.write_text(LOG + "\n", encoding="utf-8")
    assert cli("import", str(log), "--day-first", "--db", db_url).exit_code == 0
    return db_url


@pytest.mark.parametrize(
    ("lang", "words"),
    [
        ("zh-CN", ["客户催促", "明确的计划", "最长沉默", "内部备注", "客服", "时间线（UTC）"]),
        ("zh-TW", ["客戶催促", "明確的計畫", "最長沉默", "內部備註", "客服", "時間軸（UTC）"]),
    ],
)
def test_chinese_output_has_no_english_left(two_tickets: str, cli: Any, lang: str, words: list[str]) -> None:
    whole, rest = _ours(cli, two_tickets, "42", lang)
    for word in words:
        assert word in whole, (word, whole)
    assert set(_WORDS.findall(rest)) <= ALLOWED, rest
    whole, rest = _ours(cli, two_tickets, "INC0000045", lang)
    assert ("状态时间线" if lang == "zh-CN" else "狀態時間軸") in whole
    assert ("转派" if lang == "zh-CN" else "轉派") in whole  # the reassignment mark and count
    assert set(_WORDS.findall(rest)) <= ALLOWED, rest


def test_english_output_is_all_english(two_tickets: str, cli: Any) -> None:
    whole, _rest = _ours(cli, two_tickets, "42", "en")
    for phrase in ("chased:", "1 time(s): #3", "definite plan:", "longest silence:", "timeline (UTC)", "(internal)"):
        assert phrase in whole
    assert not _CJK.search(whole)
    whole, _rest = _ours(cli, two_tickets, "INC0000045", "en")
    assert "state timeline (UTC)" in whole and "reassigned" in whole and not _CJK.search(whole)


def test_an_unknown_language_is_refused(two_tickets: str, cli: Any) -> None:
    shown = cli("tickets", "show", "42", "--lang", "fr", "--db", two_tickets)
    assert shown.exit_code != 0 and "Error:" in shown.output
