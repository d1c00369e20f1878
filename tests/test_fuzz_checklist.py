"""Hostile and broken checklist files: never a traceback, always a FileProblemsError (or a valid checklist).

Random bytes, truncated and mutated copies of the shipped files, wrong encodings, deep nesting, huge fields,
YAML tags and alias bombs. The full-size runs live in ``benchmarks/reliability.py``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from butterfly.checklist.model import (
    Checklist,
    builtin_checklist_path,
    load_checklist_file,
    parse_checklist_text,
)
from butterfly.errors import FileProblemsError

SHIPPED = builtin_checklist_path("butterfly", "zh-CN").read_text(encoding="utf-8")
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _parse_bytes(tmp_path: Path, data: bytes) -> Checklist | FileProblemsError:
    path = tmp_path / "team.yaml"
    path.write_bytes(data)
    try:
        return load_checklist_file(path)
    except FileProblemsError as exc:
        assert exc.file == str(path)
        assert exc.problems, "a FileProblemsError names at least one problem"
        assert all(p.file == str(path) for p in exc.problems)
        return exc


@FUZZ
@given(data=st.binary(max_size=4096))
def test_random_bytes(tmp_path: Path, data: bytes) -> None:
    _parse_bytes(tmp_path, data)


@FUZZ
@given(cut=st.integers(min_value=0, max_value=len(SHIPPED.encode("utf-8"))))
def test_truncated_shipped_checklist(tmp_path: Path, cut: int) -> None:
    result = _parse_bytes(tmp_path, SHIPPED.encode("utf-8")[:cut])
    if cut < len(SHIPPED.encode("utf-8")) // 2:
        assert isinstance(result, FileProblemsError)  # half a checklist is never a valid one


@FUZZ
@given(
    edits=st.lists(
        st.tuples(
            st.integers(min_value=0, max_value=len(SHIPPED) - 1),
            st.integers(min_value=0, max_value=40),
            st.lists(st.sampled_from([*"{}[]:-#&*!|>'\"\n\t ,?%@`\\\x00\x1b", "yes", "蝴蝶", "0x1F"]), max_size=4).map(
                "".join
            ),
        ),
        min_size=1,
        max_size=6,
    )
)
def test_mutated_shipped_checklist(edits: list[tuple[int, int, str]]) -> None:
    text = SHIPPED
    for at, drop, insert in edits:
        at = min(at, len(text))
        text = text[:at] + insert + text[at + drop :]
    try:
        parse_checklist_text(text, filename="team.yaml")
    except FileProblemsError as exc:
        assert all(p.file == "team.yaml" for p in exc.problems)


@FUZZ
@given(
    value=st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(),
        lambda c: st.lists(c) | st.dictionaries(st.text(), c),
        max_leaves=30,
    )
)
def test_arbitrary_json_documents(value: object) -> None:
    import json

    try:
        parse_checklist_text(json.dumps(value), filename="team.json")
    except FileProblemsError:
        pass


@pytest.mark.parametrize("encoding", ["gb18030", "big5", "utf-16", "utf-32", "shift_jis"])
def test_wrong_encodings_are_named(tmp_path: Path, encoding: str) -> None:
    text = builtin_checklist_path("butterfly", "zh-TW" if encoding == "big5" else "zh-CN").read_text(encoding="utf-8")
    data = text.encode(encoding, errors="replace")
    result = _parse_bytes(tmp_path, data)
    assert isinstance(result, FileProblemsError)
    assert "UTF-8" in str(result) or "not valid YAML" in str(result)


@pytest.mark.parametrize(
    "text",
    [
        "[" * 20000 + "]" * 20000,
        "a: " + "{a: " * 5000 + "1" + "}" * 5000,
        "".join("  " * i + "a:\n" for i in range(3000)),
        "".join("  " * i + "- \n" for i in range(3000)),
    ],
    ids=["flow-lists", "flow-maps", "block-maps", "block-lists"],
)
def test_deeply_nested(text: str) -> None:
    with pytest.raises(FileProblemsError, match=r"nested too deeply|not valid YAML|mapping|Field required"):
        parse_checklist_text(text, filename="deep.yaml")


def test_yaml_tags_are_not_executed(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    text = f"!!python/object/apply:os.system ['touch {marker}']\n"
    with pytest.raises(FileProblemsError, match="not accepted"):
        parse_checklist_text(text, filename="evil.yaml")
    assert not marker.exists()


def test_alias_bomb_is_rejected_quickly() -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 9):
        refs = ", ".join([f"*a{i - 1}"] * 9)
        lines.append(f"a{i}: &a{i} [{refs}]")
    with pytest.raises(FileProblemsError):
        parse_checklist_text("\n".join(lines), filename="bomb.yaml")


def test_huge_fields(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    """1 MB of help text is valid data (no limit is promised); a 1 MB id is a clear error naming file and line.

    (PyYAML's pure-Python parser reads ~1 MB/s: the 10 MB cases run in benchmarks/reliability.py.)"""
    import yaml

    data = yaml.safe_load(SHIPPED)
    data["cells"][0]["questions"][0]["help"] = "很长" * 500_000
    big = tmp_path / "big.yaml"
    big.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    assert load_checklist_file(big).cells[0].questions[0].help.startswith("很长")
    data["cells"][0]["questions"][0]["id"] = "x" * 1_000_000
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(data, allow_unicode=True, width=10**9), encoding="utf-8")
    result = cli("checklist", "validate", str(bad))
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert f"{bad}:" in result.output
    assert len(result.output) < 20_000  # the error names the field; it does not echo the megabyte back


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\x00" * 100,
        b"\xff\xfe\x00",
        "\ufeffid: x\n".encode(),
        b"---\n...\n",
        b"- a\n- b\n",
        b"\x1b[2J\x1b]8;;http://evil\x07x",
    ],
    ids=["empty", "nul", "bad-bom", "utf8-bom", "empty-doc", "list", "escapes"],
)
def test_small_broken_files_through_the_cli(tmp_path: Path, cli, data: bytes) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "team.yaml"
    path.write_bytes(data)
    for command in (["checklist", "validate", str(path)], ["checklist", "show", "--checklist", str(path)]):
        result = cli(*command)
        assert result.exit_code == 2, result.output
        assert "Traceback" not in result.output
        assert "\x1b" not in result.output  # terminal escapes from the file are not echoed raw
        assert str(path) in result.output


@pytest.mark.parametrize("text", ["[" * 100_000 + "]" * 100_000, "- " * 100_000 + "x"], ids=["flow", "block"])
def test_extreme_nesting_does_not_crash_the_process(text: str, tmp_path: Path) -> None:
    """libyaml composes recursively in C: 100k levels used to overflow the C stack (a segfault, not an error)."""
    import subprocess
    import sys

    path = tmp_path / "deep.yaml"
    path.write_text(text, encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "butterfly", "checklist", "validate", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2, (result.returncode, result.stderr[-500:])
    output = result.stdout + result.stderr
    assert "Traceback" not in output
    assert str(path) in output  # our report naming the file, whatever libyaml's own wording is
