"""``butterfly export reviews|actions``: record shapes, filters, CSV safety, redaction, private atomic files."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import stat
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlmodel import select

from butterfly.exports import ANSWER_FIELDS, redact_text
from butterfly.files import atomic_output
from butterfly.store.models import ActionItem, Answer, Review, Ticket

T0 = datetime(2026, 11, 18, 9, 30, tzinfo=UTC)
T1 = datetime(2026, 11, 20, 14, 0, tzinfo=UTC)

PII_TEXT = (
    "Called Zhang Wei back on 13800138000 and +86 139-1234-5678; e-mail zhang.wei@example.cn, "
    "his colleague +44 20 7946 0958 / (415) 555-2671 / 0086 13712345678. ACME Trading was happy."
)
# independent of the implementation's patterns: any e-mail, or 7+ digits in a row allowing separators
EMAIL_CHECK = re.compile(r"[^\s@]+@[^\s@]+\.[a-z]{2,}", re.IGNORECASE)
PHONE_CHECK = re.compile(r"\d(?:[\s().+-]*\d){6,}")


def build(session: Any) -> dict[str, Any]:
    t1 = Ticket(
        source="zendesk",
        external_id="1001",
        customer="Zhang Wei",
        organization="ACME Trading",
        category="billing",
        status="closed",
        created_at=T0,
        closed_at=T0,
        content_hash="a",
    )
    t2 = Ticket(source="csv", external_id="=2+3", customer="李娜", status="closed", closed_at=T1, content_hash="b")
    session.add_all([t1, t2])
    session.commit()
    r1 = Review(
        ticket_id=t1.id,
        reviewer="lead",
        checklist_id="butterfly",
        checklist_version="1.0",
        language="en",
        lenses=["surprise"],
        status="complete",
        started_at=T0,
        updated_at=T0,
        completed_at=T0,
    )
    r2 = Review(
        ticket_id=t2.id,
        reviewer="wang",
        checklist_id="butterfly",
        checklist_version="1.0",
        language="zh-CN",
        status="draft",
        started_at=T1,
        updated_at=T1,
    )
    session.add_all([r1, r2])
    session.commit()
    session.add_all(
        [
            Answer(
                review_id=r1.id, question_id="customer.short.certainty", value=2, answered_by="lead", answered_at=T0
            ),
            Answer(
                review_id=r1.id,
                question_id="company.short.another_person",
                value=PII_TEXT,
                note="ask zhang wei first",
                answered_by="lead",
                answered_at=T0,
            ),
            Answer(
                review_id=r1.id,
                question_id="customer.mid.compensation_kind",
                value=["thank_you_call", "small_gift"],
                answered_by="lead",
                answered_at=T0,
            ),
            Answer(review_id=r1.id, question_id="customer.long.story", na=True, answered_by="lead", answered_at=T0),
            Answer(
                review_id=r2.id,
                question_id="company.mid.process_patch",
                value='=HYPERLINK("http://x") 李娜的电话 13912345678',
                answered_by="wang",
                answered_at=T1,
            ),
        ]
    )
    session.add_all(
        [
            ActionItem(
                review_id=r1.id,
                ticket_id=t1.id,
                question_id="company.mid.process_patch",
                kind="process_patch",
                text="Tell Zhang Wei (zhang.wei@example.cn) when the refund flow is fixed",
                owner="ops",
                due_date=date(2026, 11, 30),
                created_at=T0,
                created_by="lead",
            ),
            ActionItem(
                review_id=r2.id,
                ticket_id=t2.id,
                kind="follow_up",
                text="-call back",
                status="done",
                created_at=T1,
                done_at=T1,
                done_by="wang",
            ),
        ]
    )
    session.commit()
    return {"r1": r1, "r2": r2}


def export(cli: Any, db_url: str, *args: str) -> str:
    result = cli("export", *args, "--db", db_url)
    assert result.exit_code == 0, result.output
    return str(result.stdout)


def test_per_answer_jsonl_has_ticket_reviewer_checklist_and_times(cli, session, db_url: str) -> None:  # type: ignore[no-untyped-def]
    ids = build(session)
    text = export(cli, db_url, "reviews")
    records = [json.loads(line) for line in text.splitlines()]
    assert len(records) == 5
    first = records[0]
    assert list(first) == list(ANSWER_FIELDS)
    assert first["review_id"] == ids["r1"].id
    assert first["ticket_source"] == "zendesk"
    assert first["ticket_external_id"] == "1001"
    assert first["customer"] == "Zhang Wei"
    assert first["reviewer"] == "lead"
    assert first["checklist_id"] == "butterfly"
    assert first["checklist_version"] == "1.0"
    assert first["lenses"] == ["surprise"]
    assert first["question_id"] == "customer.short.certainty"
    assert first["value"] == 2
    assert first["review_completed_at"] == "2026-11-18T09:30:00+00:00"
    assert first["ticket_closed_at"] == "2026-11-18T09:30:00+00:00"
    story = next(r for r in records if r["question_id"] == "customer.long.story")
    assert story["na"] is True and story["value"] is None
    assert records[-1]["review_status"] == "draft"


def test_per_review_json_and_wide_csv(cli, session, db_url: str) -> None:  # type: ignore[no-untyped-def]
    build(session)
    data = json.loads(export(cli, db_url, "reviews", "--per", "review", "--format", "json"))
    assert [r["ticket_external_id"] for r in data] == ["1001", "=2+3"]
    answers = data[0]["answers"]
    assert answers["customer.mid.compensation_kind"]["value"] == ["thank_you_call", "small_gift"]
    assert answers["company.short.another_person"]["note"] == "ask zhang wei first"

    rows = list(csv.DictReader(io.StringIO(export(cli, db_url, "reviews", "--per", "review", "--format", "csv"))))
    assert len(rows) == 2
    assert rows[0]["customer.short.certainty"] == "2"
    assert rows[0]["customer.mid.compensation_kind"] == "thank_you_call;small_gift"
    assert rows[0]["customer.long.story"] == "N/A"
    assert rows[0]["company.short.another_person note"] == "ask zhang wei first"
    assert rows[1]["customer.short.certainty"] == ""
    assert rows[1]["ticket_external_id"] == "'=2+3"


def test_csv_neutralises_formulas(cli, session, db_url: str) -> None:  # type: ignore[no-untyped-def]
    build(session)
    rows = list(csv.DictReader(io.StringIO(export(cli, db_url, "reviews", "--format", "csv"))))
    patch = next(r for r in rows if r["question_id"] == "company.mid.process_patch")
    assert patch["value"].startswith("'=HYPERLINK(")
    assert patch["ticket_external_id"] == "'=2+3"
    actions = list(csv.DictReader(io.StringIO(export(cli, db_url, "actions", "--format", "csv"))))
    assert actions[1]["text"] == "'-call back"
    for row in rows + actions:
        for value in row.values():
            assert not value.startswith(("=", "+", "-", "@", "\t", "\r")), value


def test_since_and_until_select_reviews_changed_in_the_period(cli, session, db_url: str) -> None:  # type: ignore[no-untyped-def]
    ids = build(session)
    late = [json.loads(x) for x in export(cli, db_url, "reviews", "--since", "2026-11-19").splitlines()]
    assert {r["review_id"] for r in late} == {ids["r2"].id}
    early = [json.loads(x) for x in export(cli, db_url, "reviews", "--until", "2026-11-18").splitlines()]
    assert {r["review_id"] for r in early} == {ids["r1"].id}  # a bare --until date includes the day
    none = export(cli, db_url, "reviews", "--since", "2026-12-01", "--format", "json")
    assert json.loads(none) == []
    # an answer changed later brings its whole review back into an incremental export
    session.add(
        Answer(
            review_id=ids["r1"].id,
            question_id="customer.short.progress_updates",
            value=1,
            answered_by="lead",
            answered_at=datetime(2026, 12, 2, tzinfo=UTC),
        )
    )
    session.commit()
    again = [json.loads(x) for x in export(cli, db_url, "reviews", "--since", "2026-12-01").splitlines()]
    assert {r["review_id"] for r in again} == {ids["r1"].id}
    assert len(again) == 5


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "json"])
@pytest.mark.parametrize("what", [["reviews"], ["reviews", "--per", "review"], ["actions"]])
def test_redact_leaves_no_email_phone_or_customer_name(cli, session, db_url: str, fmt: str, what: list[str]) -> None:  # type: ignore[no-untyped-def]
    build(session)
    plain = export(cli, db_url, *what, "--format", fmt)
    assert EMAIL_CHECK.search(plain)  # the data really holds them
    text = export(cli, db_url, *what, "--format", fmt, "--redact")
    assert not EMAIL_CHECK.search(text), EMAIL_CHECK.search(text)
    phones = [m.group(0) for m in PHONE_CHECK.finditer(text)]
    # only timestamps and dates may keep long digit runs
    assert all(re.fullmatch(r"[\d\s:.+-]+", p) and ("-" in p or ":" in p) and "20" in p[:4] for p in phones), phones
    for name in ("Zhang Wei", "zhang wei", "ACME Trading", "李娜"):
        assert name not in text
    assert "[customer]" in text


def test_actions_export(cli, session, db_url: str) -> None:  # type: ignore[no-untyped-def]
    ids = build(session)
    records = [json.loads(x) for x in export(cli, db_url, "actions").splitlines()]
    assert [r["kind"] for r in records] == ["process_patch", "follow_up"]
    assert records[0]["due_date"] == "2026-11-30"
    assert records[0]["review_id"] == ids["r1"].id
    assert records[0]["ticket_external_id"] == "1001"
    assert records[0]["checklist_version"] == "1.0"
    assert records[1]["done_at"] == "2026-11-20T14:00:00+00:00"
    done = [json.loads(x) for x in export(cli, db_url, "actions", "--status", "done").splitlines()]
    assert [r["kind"] for r in done] == ["follow_up"]
    assert cli("export", "actions", "--status", "late", "--db", db_url).exit_code == 2


def test_file_output_is_private_atomic_and_reported_on_stderr(cli, session, db_url: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    build(session)
    folder = tmp_path / "out"
    folder.mkdir()
    target = folder / "reviews.csv"
    target.write_text("yesterday's export\n", encoding="utf-8")
    os.chmod(target, 0o644)
    result = cli("export", "reviews", "--format", "csv", "-o", str(target), "--db", db_url)
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert f"exported 5 records to {target}" in result.stderr
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert target.read_bytes().count(b"\r\n") == 6
    assert sorted(p.name for p in folder.iterdir()) == ["reviews.csv"]


def test_failed_write_keeps_the_old_file_and_leaves_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "reviews.jsonl"
    target.write_text("complete old export\n", encoding="utf-8")
    with pytest.raises(RuntimeError), atomic_output(target) as handle:
        handle.write('{"half": ')
        raise RuntimeError("database went away")
    assert target.read_text(encoding="utf-8") == "complete old export\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["reviews.jsonl"]


def test_bad_options_exit_2(cli, sqlite_url_fixture: str) -> None:  # type: ignore[no-untyped-def]
    for args in (["--format", "xml"], ["--per", "ticket"], ["--since", "soon"]):
        result = cli("export", "reviews", *args, "--db", sqlite_url_fixture)
        assert result.exit_code == 2, (args, result.output)
        assert result.stdout == ""


# -- redaction, property-based ---------------------------------------------------------------------------------

_filler = st.text(alphabet=st.sampled_from(list("abcxyz ABC,.:;()\n-+张伟李娜的电话邮箱请联系")), max_size=30)
_d = st.integers(0, 9).map(str)


@st.composite
def phones(draw: st.DrawFn) -> str:
    digits = lambda n: "".join(draw(st.lists(_d, min_size=n, max_size=n)))  # noqa: E731
    mobile = "1" + draw(st.sampled_from("3456789")) + digits(9)
    sep = draw(st.sampled_from(["", " ", "-"]))
    cn = mobile[:3] + sep + mobile[3:7] + sep + mobile[7:]
    forms = [
        cn,
        draw(st.sampled_from(["+86 ", "+86", "0086 ", "86-"])) + cn,
        "+" + digits(2) + " " + digits(2) + " " + digits(4) + " " + digits(4),
        "+1 (" + digits(3) + ") " + digits(3) + "-" + digits(4),
        "00" + digits(2) + " " + digits(3) + " " + digits(3) + " " + digits(3),
        "(" + digits(3) + ") " + digits(3) + "-" + digits(4),
        digits(3) + "-" + digits(3) + "-" + digits(4),
        "0" + digits(2) + "-" + digits(8),
        "0" + digits(3) + " " + digits(4) + " " + digits(4),
        digits(11),
    ]
    return draw(st.sampled_from(forms))


_emails = st.builds(
    lambda user, host, tld: f"{user}@{host}.{tld}",
    st.from_regex(r"[a-z][a-z0-9._+-]{0,12}", fullmatch=True),
    st.from_regex(r"[a-z][a-z0-9-]{0,10}(\.[a-z]{2,5})?", fullmatch=True),
    st.sampled_from(["com", "cn", "co.uk", "io"]),
)


_gap = st.sampled_from([" ", ", ", "\n", "; ", "，", "：", "或", " or "])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(_filler, _gap, st.one_of(phones(), _emails), _gap), min_size=1, max_size=4), _filler)
def test_redact_text_masks_every_generated_email_and_phone(parts: list[tuple[str, str, str, str]], tail: str) -> None:
    """Whatever surrounds them (text, punctuation, Chinese), no digit and no @ survives."""
    text = "".join(f + g1 + pii + g2 for f, g1, pii, g2 in parts) + tail
    redacted = redact_text(text)
    assert not re.search(r"\d", redacted), (text, redacted)
    assert "@" not in redacted, (text, redacted)


def test_redact_text_keeps_ordinary_text_and_dates() -> None:
    text = "Fixed on 2026-11-20 at 14:00, policy v1.2.3, 3 of 5 steps, order #4521"
    assert redact_text(text, ["Li"]) == text
    assert redact_text("李娜说好", ["李娜"]) == "[customer]说好"
    assert redact_text("ask LI about it", ["Li"]) == "ask [customer] about it"


HIDDEN = "\u202e\u2066\u2067\u2068\u2069\u202a\u202b\u202c\u202d\u200e\u200f\u061c\x9b\x1b"


def test_json_and_jsonl_escape_bidi_and_control_characters_like_esc(cli, session, db_url: str) -> None:  # type: ignore[no-untyped-def]
    """A note or a customer name that reads backwards (U+202E) shows as an escape in the raw file, as ESC does."""
    build(session)
    ticket = session.get(Ticket, 1)
    ticket.customer = f"invoice{HIDDEN}gnp.exe"
    answer = session.exec(select(Answer).where(Answer.question_id == "company.short.another_person")).one()
    answer.note = f"see {HIDDEN} here"
    session.commit()
    for args in (("reviews",), ("reviews", "--format", "json"), ("reviews", "--per", "review"), ("actions",)):
        text = export(cli, db_url, *args)
        assert not any(ch in text for ch in HIDDEN), args
        assert "\\u202e" in text and "\\u2066" in text and "\\u061c" in text and "\\u001b" in text, args
        records = json.loads(text) if "json" in args else [json.loads(line) for line in text.splitlines()]
        assert any(r.get("customer") == f"invoice{HIDDEN}gnp.exe" for r in records), args
    listed = cli("tickets", "list", "--json", "--db", db_url)
    assert listed.exit_code == 0 and not any(ch in listed.stdout for ch in HIDDEN) and "\\u202e" in listed.stdout
