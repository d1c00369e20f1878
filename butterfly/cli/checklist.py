"""``butterfly checklist …``: show the checklist (and, with other modules, export/validate/diff it)."""

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from butterfly.cli._common import DbOption, JsonOption, LangOption, language, out
from butterfly.labels import ui
from butterfly.sanitise import terminal_safe

if TYPE_CHECKING:
    from butterfly.checklist.diff import ChecklistDiff
    from butterfly.checklist.model import Checklist, Question

checklist_app = typer.Typer(help="Show, export, validate and compare checklists.", no_args_is_help=True)

ChecklistOption = Annotated[
    str | None,
    typer.Option(
        "--checklist", help="A checklist file (YAML/JSON) or shipped id; default: settings, then 'butterfly'."
    ),
]


def load_for_cli(checklist: str | None, lang: str | None) -> "Checklist":
    """The checklist named on the command line or in settings, in the chosen language."""
    from butterfly.checklist.model import resolve_checklist
    from butterfly.settings import get_settings

    return resolve_checklist(checklist or get_settings().checklist, language(lang))


def render_tree(cl: "Checklist", *, show_help: bool) -> None:
    from rich.tree import Tree

    kinds = {"text": "text", "rating": "rating", "yes_no": "yes/no", "datetime": "date-time", "choice": "choice"}
    root = Tree(f"[bold]{terminal_safe(cl.title)}[/]  [dim]{cl.id} v{cl.version} · {cl.language}[/]")
    scale = (
        " · ".join(f"{p.value} = {terminal_safe(p.label)}" for p in cl.scale.points)
        + f" · {terminal_safe(cl.scale.na_label)}"
    )
    root.add(f"[dim]scale: {scale}[/]")
    for cell in cl.cells:
        node = root.add(
            f"[bold cyan]{terminal_safe(cell.title)}[/]  [dim]{cell.id}[/]\n[italic]{terminal_safe(cell.purpose)}[/]"
        )
        for q in cell.questions:
            extra = kinds[q.kind.value]
            if q.choices:
                extra += ": " + " / ".join(terminal_safe(c.label) for c in q.choices)
            leaf = node.add(f"{terminal_safe(q.text)}  [dim]({extra}) {q.id}[/]")
            if q.deep:
                leaf.add(f"[magenta]{terminal_safe(ui('show.deep', cl.language))}[/]")
            if q.conditions:
                leaf.add(f"[magenta]{terminal_safe(describe_when(q, cl))}[/]")
            if show_help and q.help:
                leaf.add(f"[dim]{terminal_safe(q.help)}[/]")
            if show_help and q.anchors:
                leaf.add(
                    "[dim]" + " · ".join(f"{v} = {terminal_safe(a)}" for v, a in sorted(q.anchors.items())) + "[/]"
                )
    out().print(root)


def describe_when(q: "Question", cl: "Checklist") -> str:
    """``follow-up when a = yes or b = <choice label> / <choice label>`` in the checklist's language."""
    lang = cl.language

    def value(ref: str, v: object) -> str:
        if isinstance(v, bool):
            return ui("show.yes" if v else "show.no", lang)
        labels = {c.id: c.label for c in cl.question(ref).choices or []}
        return labels.get(str(v), str(v))

    alternatives = []
    for condition in q.conditions:
        parts = []
        for ref, accepted in condition.items():
            options = accepted if isinstance(accepted, list) else [accepted]
            parts.append(f"{ref} = " + " / ".join(value(ref, v) for v in options))
        alternatives.append(ui("show.and", lang).join(parts))
    return ui("show.follow_up", lang, condition=ui("show.or", lang).join(alternatives))


@checklist_app.command("show")
def show(
    lang: LangOption = None,
    checklist: ChecklistOption = None,
    lens: Annotated[list[str] | None, typer.Option("--lens", help="Also show this lens (repeatable).")] = None,
    show_help: Annotated[bool, typer.Option("--help-text/--no-help-text", help="Show each question's help.")] = False,
) -> None:
    """Print the checklist as a tree: six cells, their purpose and questions.

    Example: butterfly checklist show --lang zh-CN
    """
    from butterfly.checklist.model import resolve_checklist

    cl = load_for_cli(checklist, lang)
    render_tree(cl, show_help=show_help)
    for name in lens or []:
        render_tree(resolve_checklist(name, cl.language, kind="lens"), show_help=show_help)


@checklist_app.command("path")
def path(lang: LangOption = None) -> None:
    """Print the file path of the shipped checklist (to copy it as a starting point for a team checklist)."""
    from butterfly.checklist.model import DEFAULT_CHECKLIST_ID, builtin_checklist_path

    typer.echo(str(Path(builtin_checklist_path(DEFAULT_CHECKLIST_ID, language(lang)))))


# -- checklists as code: export, validate, diff (automation) ------------------------------------------------


@checklist_app.command("export")
def export(
    fmt: Annotated[
        str,
        typer.Option("--format", "-f", help="json, yaml, md (issue template), html (form), csv or schema."),
    ],
    lang: LangOption = None,
    checklist: ChecklistOption = None,
    lens: Annotated[
        list[str] | None, typer.Option("--lens", help="Append this lens (md, html, csv; repeatable).")
    ] = None,
    output: Annotated[
        str | None, typer.Option("--output", "-o", help="Write to this file (0600, atomic); '-' or none: stdout.")
    ] = None,
    front_matter: Annotated[
        bool, typer.Option("--front-matter/--no-front-matter", help="md: the YAML header of a GitHub issue template.")
    ] = True,
) -> None:
    """Export the checklist: json/yaml (a checklist file, byte-stable), md, html, csv, or the JSON Schema.

    The same checklist always gives the same bytes (sorted keys, no timestamps).

    Example: butterfly checklist export --format md --lang zh-CN -o .github/ISSUE_TEMPLATE/butterfly.md
    """
    import sys

    from butterfly.checklist.diff import resolve_spec
    from butterfly.checklist.export import export_checklist
    from butterfly.files import check_output, open_output
    from butterfly.settings import get_settings

    check_output(output)
    cl = None
    if fmt != "schema" or checklist is not None or lens:
        cl = resolve_spec(checklist or get_settings().checklist or "butterfly", language(lang))
    lenses = [resolve_spec(name, cl.language, kind="lens") for name in lens or []] if cl is not None else []
    text = export_checklist(cl, fmt, lenses=lenses, front_matter=front_matter, templates=get_settings().templates)
    with open_output(output, stdout=sys.stdout) as stream:
        stream.write(text)
        stream.flush()
    if output not in (None, "-"):
        from butterfly.cli._common import err

        err().print(f"wrote {terminal_safe(output)}")


@checklist_app.command("validate")
def validate(
    paths: Annotated[list[Path], typer.Argument(help="Checklist files (YAML or JSON).", show_default=False)],
    as_json: JsonOption = False,
) -> None:
    """Check team checklist files: every problem with file, line and field. Exit 0 when all are valid, 2 if not.

    Example: butterfly checklist validate checklists/*.yaml
    """
    from butterfly.checklist.validate import validate_checklist_file
    from butterfly.cli._common import err, print_json

    results = [validate_checklist_file(p) for p in paths]
    invalid = [r for r in results if not r.ok]
    if as_json:
        print_json(
            {"schema": "butterfly.checklist-validate/1", "valid": not invalid, "files": [r.to_dict() for r in results]}
        )
    else:
        console = out()
        console.soft_wrap = True  # one line per item: greppable, never wrapped
        for r in results:
            if r.ok and r.checklist is not None:
                cl = r.checklist
                console.print(
                    f"ok       {terminal_safe(r.file)}: {terminal_safe(cl.id)} v{terminal_safe(cl.version)} ({cl.language}, {cl.kind}), "
                    f"{len(cl.questions)} questions"
                )
            else:
                n = len(r.problems)
                console.print(f"invalid  {terminal_safe(r.file)}: {n} problem{'s' if n != 1 else ''}")
            for p in r.problems:
                console.print(f"  {terminal_safe(p)}")
            for w in r.warnings:
                console.print(f"  warning: {terminal_safe(w)}")
    if invalid:
        err().print(f"{len(invalid)} of {len(results)} file{'s' if len(results) != 1 else ''} invalid")
        raise typer.Exit(2)


@checklist_app.command("diff")
def diff(
    ctx: typer.Context,
    old: Annotated[str, typer.Argument(help="The old checklist: a file or a shipped id.", show_default=False)],
    new: Annotated[str, typer.Argument(help="The new checklist: a file or a shipped id.", show_default=False)],
    lang: LangOption = None,
    db: DbOption = None,
    answers: Annotated[
        bool, typer.Option("--answers", help="Count stored answers in the default database (implied by --db).")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Show added, removed and changed question ids between two checklist versions.

    With --db (or --answers), also how many stored answers each removed or changed question has. Nothing is
    changed: answers to removed questions stay in the database and old reviews show them as removed.

    Example: butterfly checklist diff butterfly team-v2.yaml --db team.db
    """
    from butterfly.checklist.diff import diff_checklists, resolve_spec

    lng = language(lang)
    old_cl = resolve_spec(old, lng)
    new_cl = resolve_spec(new, lng)
    global_db = None
    root = ctx.find_root()
    if isinstance(root.obj, dict):
        global_db = root.obj.get("db")
    if db or global_db or answers:
        from butterfly.cli._common import session_for

        with session_for(ctx, db) as session:
            result = diff_checklists(old_cl, new_cl, session=session)
    else:
        result = diff_checklists(old_cl, new_cl)
    if as_json:
        from butterfly.cli._common import print_json

        print_json(result.to_dict())
        return
    _render_diff(result, lng)


def _render_diff(result: "ChecklistDiff", lang: str) -> None:
    from butterfly.labels import command_text

    def say(key: str, **values: object) -> str:
        return command_text(f"diff.{key}", lang, **values)

    console = out()
    console.soft_wrap = True  # one line per item: greppable, never wrapped
    console.print(f"{terminal_safe(result.old)} -> {terminal_safe(result.new)}")
    if result.identical:
        console.print(say("identical"))
        return

    def stored(n: int | None) -> str:
        return "" if n is None else say("stored", n=n)

    if result.scale_changed:
        console.print(say("scale_changed"))
    console.print(say("added", n=len(result.added)))
    for a in result.added:
        console.print(f"  + {a.id} ({a.kind})")
    console.print(say("removed", n=len(result.removed)))
    for r in result.removed:
        kept = say("removed.kept") if r.answers else ""
        console.print(terminal_safe(f"  - {r.id} ({r.kind}){stored(r.answers)}{kept}"))
    console.print(say("changed", n=len(result.changed)))
    for c in result.changed:
        parts = []
        for name in c.changed:
            if name == "kind":
                parts.append(f"kind {c.old_kind} -> {c.new_kind}")
            elif name == "choices":
                detail = [f"-{x}" for x in c.choices_removed] + [f"+{x}" for x in c.choices_added]
                detail += [f"~{x}" for x in c.choices_relabelled]
                parts.append("choices " + (" ".join(detail) if detail else say("reordered")))
            else:
                parts.append(name)
        line = f"  ~ {c.id}: {', '.join(parts)}{stored(c.answers)}"
        if c.answers_with_removed_choices:
            line += say("use_removed_choice", n=c.answers_with_removed_choices)
        if c.affects_answers:
            line += say("may_not_fit")
        console.print(terminal_safe(line))
    keep = say("keep", kept=len(result.kept), common=len(result.common))
    if result.removed:
        keep += say("keep.removed", n=len(result.removed))
    console.print(terminal_safe(keep))
    if result.deep_now:
        console.print(terminal_safe(say("deep_now", ids=", ".join(result.deep_now))))
    if result.follow_up_now:
        console.print(terminal_safe(say("follow_up_now", ids=", ".join(result.follow_up_now))))


def register(app: typer.Typer) -> None:
    app.add_typer(checklist_app, name="checklist")
