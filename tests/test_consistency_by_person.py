"""``report consistency --by assignee``: counts with the method's caveat, never flags or a ranking of people."""

from __future__ import annotations

from test_consistency import END, _constructed


def test_by_person_raises_no_flag_where_by_group_does(session) -> None:  # type: ignore[no-untyped-def]
    from butterfly.reports.consistency import consistency

    _constructed(session)
    assert consistency(session=session, by="group", weeks=8, end=END).flagged  # Slow and Careless
    by_person = consistency(session=session, by="assignee", weeks=8, end=END)
    assert by_person.per_person
    assert by_person.flagged == []
    assert all(g.flags == [] for g in by_person.groups)
    data = by_person.to_dict()
    assert data["per_person"] is True and data["spread"] == {}  # no slowest-vs-fastest ratio of people
    assert data["totals"]["flagged_groups"] == 0
    assert sum(g["tickets"] for g in data["groups"]) == by_person.overall.tickets  # counts still shown


def test_by_person_report_shows_the_caveat_and_points_to_group_views(cli, session, db_url) -> None:  # type: ignore[no-untyped-def]
    _constructed(session)
    until = (END.date().fromordinal(END.date().toordinal() - 1)).isoformat()
    md = cli("report", "consistency", "--by", "assignee", "--until", until, "--db", db_url)
    assert md.exit_code == 0, md.output
    assert "By person: counts only, no flags, no ranking" in md.stdout
    assert "Why did I choose this person for this job?" in md.stdout
    assert "Groups far from the rest" not in md.stdout
    assert "Slow-agent0" in md.stdout  # the counts are there
    html = cli("report", "consistency", "--by", "assignee", "--until", until, "-f", "html", "--db", db_url)
    assert "By person: counts only, no flags, no ranking" in html.stdout
    zh = cli("report", "consistency", "--by", "assignee", "--until", until, "--lang", "zh-TW", "--db", db_url)
    assert "為什麼「我」選擇這個人" in zh.stdout
    by_group = cli("report", "consistency", "--by", "group", "--until", until, "--db", db_url).stdout
    assert "Groups far from the rest" in by_group
