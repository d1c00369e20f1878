"""``butterfly check``: the review gate for pipelines (exit 0 all good, 1 a threshold missed, 2 usage error)."""

from typing import TYPE_CHECKING, Annotated

import typer

from butterfly.cli._common import DbOption, JsonOption, err, out, print_json, session_for
from butterfly.sanitise import terminal_safe

if TYPE_CHECKING:
    from butterfly.gate import GateResult


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
    db: DbOption = None,
) -> None:
    """Fail a pipeline when reviews fall short: unreviewed closed tickets, draft reviews, overdue action items,
    publicity without consent. Exit 0 all good, 1 a threshold missed, 2 usage or input error.

    Example: butterfly check --week last --min-coverage 0.8 --max-overdue 0 --json
    """
    from butterfly.checklist.diff import resolve_spec
    from butterfly.checklist.model import LANGUAGES, builtin_checklist_ids, load_builtin
    from butterfly.clock import settings_clock
    from butterfly.gate import run_gate
    from butterfly.periods import resolve_period
    from butterfly.settings import get_settings

    settings = get_settings()
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
        _render(result)
    if not result.ok:
        failed = ", ".join(c.name for c in result.checks if not c.ok)
        err().print(f"check failed: {failed}")
        raise typer.Exit(1)
    err().print("check passed")


def _render(result: "GateResult") -> None:
    console = out()
    console.soft_wrap = True  # one line per item: greppable, never wrapped
    console.print(
        f"butterfly check: {terminal_safe(result.period.describe())} "
        f"(today {result.today.isoformat()} in {terminal_safe(result.timezone)})"
    )
    for c in result.checks:
        mark = "ok  " if c.ok else "FAIL"
        console.print(f"{mark}  {c.name:<26} {terminal_safe(c.message)}")

    def more(shown: int, total: int) -> str:
        return f"  ... and {total - shown} more (--limit 0 lists all)" if total > shown else ""

    if result.unreviewed_count:
        console.print(f"\nunreviewed closed tickets ({result.unreviewed_count}):")
        for t in result.unreviewed:
            draft = "  (draft review)" if t["has_draft_review"] else ""
            console.print(f"  {terminal_safe(t['ticket'])}  closed {terminal_safe(t['closed_at'] or '-')}{draft}")
        if extra := more(len(result.unreviewed), result.unreviewed_count):
            console.print(extra)
    if result.drafts_count:
        console.print(f"\nincomplete (draft) reviews ({result.drafts_count}):")
        for d in result.drafts:
            console.print(
                f"  review {d['review_id']}  {terminal_safe(d['ticket'])}  by {terminal_safe(d['reviewer'])}  "
                f"last change {terminal_safe(d['updated_at'])}"
            )
        if extra := more(len(result.drafts), result.drafts_count):
            console.print(extra)
    if result.with_gaps_count:
        console.print(f"\ncomplete reviews with gaps, closed with --allow-gaps ({result.with_gaps_count}):")
        for g in result.with_gaps:
            console.print(
                f"  {terminal_safe(g['ticket'])}  by {terminal_safe(g['reviewer'])}  completed {terminal_safe(g['completed_at'] or '-')}"
            )
        if extra := more(len(result.with_gaps), result.with_gaps_count):
            console.print(extra)
    if result.overdue_count:
        console.print(f"\noverdue action items ({result.overdue_count}):")
        for a in result.overdue:
            console.print(
                f"  action {a['action_id']}  {terminal_safe(a['kind'])}  owner {terminal_safe(a['owner'] or '-')}  "
                f"due {a['due_date']} ({a['days_overdue']} days late)  {terminal_safe(a['ticket'] or '')}"
            )
        if extra := more(len(result.overdue), result.overdue_count):
            console.print(extra)
    if result.publicity_count:
        console.print(f"\npublicity without consent ({result.publicity_count}):")
        for p in result.publicity:
            console.print(
                f"  review {p['review_id']}  {terminal_safe(p['ticket'])}  by {terminal_safe(p['reviewer'])}  ({terminal_safe(p['reason'])})"
            )
        if extra := more(len(result.publicity), result.publicity_count):
            console.print(extra)


def register(app: typer.Typer) -> None:
    """Add ``butterfly check`` to the root app."""
    app.command("check")(check)
