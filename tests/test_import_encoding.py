"""Chinese spreadsheet exports in GBK and Big5, UTF-8 with BOM, and never storing mojibake."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

SIMPLIFIED = (
    "工单号,客户,标题,描述,状态,创建时间\n"
    "G1,华星物流,发票导出失败,月底对账时导出增值税发票报错：模板不存在。,已关闭,2026-10-05 09:00\n"
    "G2,青禾餐饮,小票打印模板错位,升级后小票打印内容整体右移，二维码被截断。,处理中,2026-10-06 10:00\n"
    "G3,明达制造,短信验证码收不到,门店员工登录收不到短信验证码，早班没法开单。,已解决,2026-10-07 11:00\n"
)
TRADITIONAL = (
    "工單編號,客戶,標題,描述,狀態,建立時間\n"
    "B1,臺灣電力,發票匯出失敗,月底對帳時匯出發票報錯：範本不存在。,已結案,2026-10-05 09:00\n"
    "B2,誠品書店,庫存同步延遲兩小時,倉庫出庫後門市庫存要兩個小時才更新，導致超賣。,處理中,2026-10-06 10:00\n"
)


def _tickets(db_url: str) -> dict[str, object]:
    from sqlmodel import select

    from butterfly.store.db import open_session
    from butterfly.store.models import Ticket

    with open_session(db_url) as session:
        return {t.external_id: t for t in session.exec(select(Ticket)).all()}


@pytest.mark.parametrize(
    ("text", "encoding", "label"), [(SIMPLIFIED, "gbk", "GB18030/GBK"), (TRADITIONAL, "big5", "Big5")]
)
def test_gbk_and_big5_files_are_detected_and_read(
    cli, db_url: str, tmp_path: Path, text: str, encoding: str, label: str
) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / f"export-{encoding}.csv"
    path.write_bytes(text.encode(encoding))
    result = cli("import", str(path), "--db", db_url, "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["files"][0]["encoding"] == label
    assert f"({label})" in result.stderr  # the mapping table names the encoding it read the file in
    tickets = _tickets(db_url)
    expected_rows = [line.split(",") for line in text.splitlines()[1:]]
    assert len(tickets) == len(expected_rows)
    for row in expected_rows:
        t = tickets[row[0]]
        assert (t.customer, t.subject, t.description) == (row[1], row[2], row[3])  # type: ignore[attr-defined]


def test_gbk_given_explicitly_and_utf8_with_bom(cli, db_url: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    gbk = tmp_path / "gbk.csv"
    gbk.write_bytes(SIMPLIFIED.encode("gbk"))
    assert cli("import", str(gbk), "--db", db_url, "--encoding", "gbk").exit_code == 0
    bom = tmp_path / "bom.csv"
    bom.write_bytes(b"\xef\xbb\xbf" + "id,客户\nU1,云帆教育\n".encode())
    assert cli("import", str(bom), "--db", db_url).exit_code == 0
    tickets = _tickets(db_url)
    assert tickets["G1"].customer == "华星物流"  # type: ignore[attr-defined]
    assert tickets["U1"].customer == "云帆教育"  # type: ignore[attr-defined]  # the BOM is not part of the header


def test_a_wrong_encoding_is_an_error_naming_file_and_line_not_mojibake(cli, db_url: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "gbk.csv"
    path.write_bytes(SIMPLIFIED.encode("gbk"))
    result = cli("import", str(path), "--db", db_url, "--encoding", "utf-8")
    assert result.exit_code == 2
    assert f"{path}:1: byte 1 of the line" in result.stderr
    assert "is not valid UTF-8" in result.stderr
    assert _tickets(db_url) == {}


def test_bytes_that_fit_no_encoding_are_refused(cli, db_url: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "latin.csv"
    path.write_bytes("id,customer\n1,Café Zoë\n2,Ærø\n".encode("cp1252"))
    result = cli("import", str(path), "--db", db_url)
    assert result.exit_code == 2
    assert "cannot tell its text encoding" in result.stderr
    assert "--encoding" in result.stderr
    assert cli("import", str(path), "--db", db_url, "--encoding", "cp1252").exit_code == 0
    assert _tickets(db_url)["1"].customer == "Café Zoë"  # type: ignore[attr-defined]


def test_bad_bytes_after_the_detection_sample_stop_with_the_line(cli, sqlite_url_fixture: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from butterfly.importers.encoding import SAMPLE_BYTES

    path = tmp_path / "late.csv"
    row = "T{0:06d},华星物流,发票导出失败 {0},closed\n"
    lines = ["id,customer,subject,status\n"]
    size = 0
    while size < SAMPLE_BYTES + 1000:
        line = row.format(len(lines))
        lines.append(line)
        size += len(line.encode())
    bad_line = len(lines) + 1
    data = "".join(lines).encode() + "X1,华星物流,乱码,closed\n".encode("gbk")
    path.write_bytes(data)
    result = cli("import", str(path), "--db", sqlite_url_fixture)
    assert result.exit_code == 2
    assert f"{path}:{bad_line}: " in result.stderr
    assert "not valid UTF-8" in result.stderr
    # what was committed before the bad line is real UTF-8 text, never replacement characters
    tickets = _tickets(sqlite_url_fixture)
    assert all("\ufffd" not in (t.subject or "") for t in tickets.values())  # type: ignore[attr-defined]
    assert "X1" not in tickets


def test_an_import_stopped_by_an_error_is_logged_as_interrupted(cli, sqlite_url_fixture: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from sqlmodel import select

    from butterfly.importers.sources import BATCH_LINES
    from butterfly.store.db import open_session
    from butterfly.store.models import ImportRun

    path = tmp_path / "late.csv"
    lines = "".join(f"T{i:06d},华星物流,closed\n" for i in range(BATCH_LINES * 2))
    path.write_bytes(("id,customer,status\n" + lines).encode() + "X1,乱码,closed\n".encode("gbk"))
    result = cli("import", str(path), "--db", sqlite_url_fixture, "--encoding", "utf-8")
    assert result.exit_code == 2
    assert f"{path}:{BATCH_LINES * 2 + 2}: " in result.stderr
    with open_session(sqlite_url_fixture) as session:
        (run,) = session.exec(select(ImportRun)).all()
    assert run.status == "interrupted"
    assert run.finished_at is not None
