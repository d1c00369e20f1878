"""``butterfly check``: the review gate for pipelines (exit 0 all good, 1 a threshold missed, 2 usage error)."""

from typing import TYPE_CHECKING, Annotated

import typer

from butterfly.cli._common import DbOption, JsonOption, LangOption, err, language, out, print_json, session_for
from butterfly.labels import command_text
from butterfly.sanitise import terminal_safe

if TYPE_CHECKING:
    from butterfly.gate import Check, GateResult


def check(
    ctx: typer.Context,
    since: Annotated[
        str | None,
        typer.Option(
            "--since", help="Tickets closed from: YYYY-MM-DD, ISO date-time, or 7d / 12h ago.", show_default=False
        ),
    ] = None,
    until: Annotated[
        str | None,
        typer.Option(
            "--until",
            help="Tickets closed up to (a bare date includes that day; 9999-12-31: no end).",
            show_default=False,
        ),
    ] = None,
    week: Annotated[
        str | None, typer.Option("--week", help="An ISO week: 2026-W47, 'last' or 'this'.", show_default=False)
    ] = None,
    min_coverage: Annotated[
        float, typer.Option("--min-coverage", help="Share of closed tickets that must have a review (0-1).")
    ] = 0.8,
    max_overdue: Annotated[
        int, typer.Option("--max-overdue", help="Open action items allowed past their due date.")
    ] = 0,
    require_complete: Annotated[
        bool, typer.Option("--require-complete", help="Only complete reviews count; any draft review fails.")
    ] = False,
    checklist: Annotated[
        str | None,
        typer.Option(
            "--checklist", help="Team checklist whose guards mark publicity/consent questions.", show_default=False
        ),
    ] = None,
    limit: Annotated[
        int,
        typer.Option(
            "--limit", help="List at most this many items of each kind (0: all).", max=1_000_000_000, clamp=True
        ),
    ] = 20,
    as_json: JsonOption = False,
    lang: LangOption = None,
    db: DbOption = None,
) -> None:
    """Fail a pipeline when reviews fall short: unreviewed closed tickets, draft reviews, overdue action items,
    publicity without consent. Exit 0 all good, 1 a threshold missed, 2 usage or input error. The lines are
    in --lang (check names stay as they are); --json's messages stay English.

    Example: butterfly check --week last --min-coverage 0.8 --max-overdue 0 --json
    """
    from butterfly.checklist.diff import resolve_spec
    from butterfly.checklist.model import LANGUAGES, builtin_checklist_ids, load_builtin
    from butterfly.clock import settings_clock
    from butterfly.gate import run_gate
    from butterfly.periods import resolve_period
    from butterfly.settings import get_settings

    settings = get_settings()
    lng = language(lang)
    clock = settings_clock()
    period = resolve_period(since=since, until=until, week=week, clock=clock)
    checklists = [load_builtin(i, lang) for i in builtin_checklist_ids() for lang in LANGUAGES]
    team = checklist or settings.checklist
    if team:
        checklists.append(resolve_spec(team, settings.language, kind="butterfly"))
    with session_for(ctx, db) as session:
        result = run_gate(
            session,
            period=period,
            checklists=checklists,
            min_coverage=min_coverage,
            max_overdue=max_overdue,
            require_complete=require_complete,
            clock=clock,
            limit=limit,
        )
    if as_json:
        print_json(result.to_dict())
    else:
        _render(result, lng)
    if not result.ok:
        failed = ", ".join(c.name for c in result.checks if not c.ok)
        err().print(terminal_safe(command_text("gate.failed", lng, names=failed)))
        raise typer.Exit(1)
    err().print(terminal_safe(command_text("gate.passed", lng)))


def _period(result: "GateResult", lang: str) -> str:
    p = result.period
    if p.week:
        return command_text("gate.period.week", lang, week=p.week)
    if p.since and p.until:
        return command_text("gate.period.between", lang, since=p.since.isoformat(), until=p.until.isoformat())
    if p.since:
        return command_text("gate.period.since", lang, since=p.since.isoformat())
    if p.until:
        return command_text("gate.period.until", lang, until=p.until.isoformat())
    return command_text("gate.period.all", lang)


def check_message(c: "Check", result: "GateResult", lang: str) -> str:
    """What a check found, in ``lang`` (the ``--json`` ``message`` stays English: scripts read it)."""
    if c.name == "coverage":
        cov = result.coverage
        if cov is None:
            return command_text("gate.coverage.none", lang)
        key = "gate.coverage.complete" if result.require_complete else "gate.coverage"
        return command_text(
            key,
            lang,
            reviewed=result.reviewed,
            closed=result.closed_tickets,
            pct=f"{cov:.0%}",
            min=f"{result.min_coverage:.0%}",
        )
    if c.name == "incomplete_reviews":
        text = command_text("gate.drafts", lang, n=result.drafts_count)
        return text + ("" if result.require_complete else command_text("gate.drafts.not_enforced", lang))
    if c.name == "complete_with_gaps":
        return command_text("gate.with_gaps", lang, n=result.with_gaps_count)
    if c.name == "overdue_actions":
        return command_text("gate.overdue", lang, n=result.overdue_count, max=result.max_overdue)
    if c.name == "publicity_without_consent":
        return command_text("gate.publicity", lang, n=result.publicity_count)
    return c.message


def _render(result: "GateResult", lang: str) -> None:
    def say(key: str, **values: object) -> str:
        return terminal_safe(command_text(f"gate.{key}", lang, **values))

    console = out()
    console.soft_wrap = True  # one line per item: greppable, never wrapped
    console.print(say("head", period=_period(result, lang), today=result.today.isoformat(), tz=result.timezone))
    for c in result.checks:
        mark = "ok  " if c.ok else "FAIL"
        console.print(f"{mark}  {c.name:<26} {terminal_safe(check_message(c, result, lang))}")

    def more(shown: int, total: int) -> str:
        return say("more", n=total - shown) if total > shown else ""

    if result.unreviewed_count:
        console.print("\n" + say("unreviewed", n=result.unreviewed_count))
        for t in result.unreviewed:
            draft = command_text("gate.unreviewed.draft", lang) if t["has_draft_review"] else ""
            console.print(say("unreviewed.item", ticket=t["ticket"], closed=t["closed_at"] or "-", draft=draft))
        if extra := more(len(result.unreviewed), result.unreviewed_count):
            console.print(extra)
    if result.drafts_count:
        console.print("\n" + say("drafts.title", n=result.drafts_count))
        for d in result.drafts:
            console.print(
                say(
                    "drafts.item",
                    id=d["review_id"],
                    ticket=d["ticket"],
                    reviewer=d["reviewer"],
                    updated=d["updated_at"],
                )
            )
        if extra := more(len(result.drafts), result.drafts_count):
            console.print(extra)
    if result.with_gaps_count:
        console.print("\n" + say("with_gaps.title", n=result.with_gaps_count))
        for g in result.with_gaps:
            console.print(
                say("with_gaps.item", ticket=g["ticket"], reviewer=g["reviewer"], completed=g["completed_at"] or "-")
            )
        if extra := more(len(result.with_gaps), result.with_gaps_count):
            console.print(extra)
    if result.overdue_count:
        console.print("\n" + say("overdue.title", n=result.overdue_count))
        for a in result.overdue:
            console.print(
                say(
                    "overdue.item",
                    id=a["action_id"],
                    kind=a["kind"],
                    owner=a["owner"] or "-",
                    due=a["due_date"],
                    days=a["days_overdue"],
                    ticket=a["ticket"] or "",
                )
            )
        if extra := more(len(result.overdue), result.overdue_count):
            console.print(extra)
    if result.publicity_count:
        console.print("\n" + say("publicity.title", n=result.publicity_count))
        for p in result.publicity:
            console.print(
                say("publicity.item", id=p["review_id"], ticket=p["ticket"], reviewer=p["reviewer"], reason=p["reason"])
            )
        if extra := more(len(result.publicity), result.publicity_count):
            console.print(extra)


def register(app: typer.Typer) -> None:
    """Add ``butterfly check`` to the root app."""
    app.command("check")(check)
