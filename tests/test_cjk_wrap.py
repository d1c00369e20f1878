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


# -- inside tables and panels (the context panel, the summary) at 80 columns -----------------------------------

SUBJECTS = [  # closing marks at many offsets, so some fall where a cell's width runs out
    "发票导出" + "失败" * k + "，" + "客户说“模板" + "没有" * j + "更新”。" + "需要跟进处理。" * 2
    for k in range(5)
    for j in range(4)
]


def _segments(rendered: str) -> list[str]:
    """The cells of each rendered line: text between box borders and runs of two or more spaces."""
    import re

    return [seg for line in rendered.splitlines() for seg in re.split(r"\s{2,}|[│╭╮╰╯─]+", line) if seg.strip()]


def test_table_cells_and_panel_lines_break_by_the_rule_at_80_columns() -> None:
    """The context panel in Chinese at 80 columns: every cell shown whole, no cell line starts with a mark."""
    import io
    from datetime import UTC, datetime, timedelta

    from rich.console import Console

    from butterfly.cli.walk_ui import render_context
    from butterfly.review.similar import CustomerHistory, SimilarTicket, TicketBrief
    from butterfly.review.walk_base import ReviewContext
    from butterfly.store.models import Ticket

    at = datetime(2026, 10, 1, 9, tzinfo=UTC)
    bad: list[str] = []
    for n, subject in enumerate(SUBJECTS):
        ticket = Ticket(
            id=1, source="csv", external_id="T-1", customer="华星物流（上海）有限公司", subject=subject,
            category="billing", status="closed", created_at=at, resolved_at=at + timedelta(hours=20),
            closed_at=at + timedelta(days=1), content_hash="x",
        )  # fmt: skip
        brief = TicketBrief(
            2, "csv", "T-2", "远洋制造", subject[: len(subject) - n % 7], "billing", "closed", at, at, at
        )
        similar = [SimilarTicket(brief, 0.9, True, 0.8)]
        history = CustomerHistory("华星物流（上海）有限公司", 1, 1, [brief])
        console = Console(width=80, record=True, file=io.StringIO(), color_system=None)
        console.print(render_context(ReviewContext(ticket, history, similar, lang="zh-CN")))
        rendered = console.export_text()
        assert "…" not in rendered  # Rich alone cuts a Chinese cell short with an ellipsis instead of breaking it
        bad += [seg for seg in _segments(rendered) if seg.strip()[0] in CLOSING]
    assert bad == []
