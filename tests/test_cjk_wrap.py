"""Chinese text in the walk wraps without a punctuation mark at the start of a line."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from rich.cells import cell_len
from rich.text import Text

from butterfly.cli.cjk_wrap import CLOSING, OPENING, wrap_text

# like real sentences: runs of characters or a short Latin word, each with at most an opening and a closing mark
PHRASE = st.tuples(
    st.sampled_from(["", "（", "「", "“"]),
    st.one_of(
        st.text(alphabet="客户问题解决服务流程补偿故事", min_size=1, max_size=8), st.sampled_from(["SLA", "T-1042"])
    ),
    st.sampled_from(["", "，", "。", "、", "；", "？", "）", "」", "”", "”。", "）："]),
).map("".join)


@given(
    st.lists(PHRASE, min_size=1, max_size=30).map("".join), st.integers(min_value=16, max_value=60)
)  # wider than any unbreakable run
def test_no_line_starts_with_a_closing_mark_or_ends_with_an_opening_one(text: str, width: int) -> None:
    lines = wrap_text(Text(text), width).plain.split("\n")
    for line in lines[1:]:
        assert not line or line[0] not in CLOSING or len(lines) == 1
    for line in lines[:-1]:
        assert not line or line[-1] not in OPENING
    assert "".join(lines).replace(" ", "") == text.replace(" ", "")  # nothing lost, only breaks added


def test_lines_fit_the_width_unless_a_mark_had_nowhere_to_go() -> None:
    text = "处理过程中，客户关心的事有没有变——从“什么时候能修好”，变成了“这件事已经给我造成了什么影响”？"
    for width in (10, 13, 20, 27):
        lines = wrap_text(Text(text), width).plain.split("\n")
        assert all(cell_len(line) <= width for line in lines)
        assert all(line[0] not in CLOSING for line in lines[1:])


def test_the_walk_prints_chinese_questions_with_these_breaks(cli, session, db_url) -> None:  # type: ignore[no-untyped-def]
    from review_support import make_ticket

    make_ticket(session, "T-1")
    env = {"COLUMNS": "24"}
    result = cli("review", "T-1", "--interactive", "--db", db_url, "--lang", "zh-CN", input="q\n", env=env)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert any("问题" in line for line in lines)
    assert not [line for line in lines if line[:1] in CLOSING]
