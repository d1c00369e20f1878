"""``butterfly checklist …``: show the checklist (and, with other modules, export/validate/diff it)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from butterfly.cli._common import LangOption, language, out, safe

if TYPE_CHECKING:
    from butterfly.checklist import Checklist

checklist_app = typer.Typer(help="Show, export, validate and compare checklists.", no_args_is_help=True)

ChecklistOption = Annotated[
    str | None,
    typer.Option(
        "--checklist", help="A checklist file (YAML/JSON) or shipped id; default: settings, then 'butterfly'."
    ),
]


def load_for_cli(checklist: str | None, lang: str | None) -> Checklist:
    """The checklist named on the command line or in settings, in the chosen language."""
    from butterfly.checklist import resolve_checklist
    from butterfly.settings import get_settings

    return resolve_checklist(checklist or get_settings().checklist, language(lang))


def render_tree(cl: Checklist, *, show_help: bool) -> None:
    from rich.tree import Tree

    kinds = {"text": "text", "rating": "rating", "yes_no": "yes/no", "datetime": "date-time", "choice": "choice"}
    root = Tree(f"[bold]{safe(cl.title)}[/]  [dim]{cl.id} v{cl.version} · {cl.language}[/]")
    scale = " · ".join(f"{p.value} = {safe(p.label)}" for p in cl.scale.points) + f" · {safe(cl.scale.na_label)}"
    root.add(f"[dim]scale: {scale}[/]")
    for cell in cl.cells:
        node = root.add(f"[bold cyan]{safe(cell.title)}[/]  [dim]{cell.id}[/]\n[italic]{safe(cell.purpose)}[/]")
        for q in cell.questions:
            extra = kinds[q.kind.value]
            if q.choices:
                extra += ": " + " / ".join(safe(c.label) for c in q.choices)
            leaf = node.add(f"{safe(q.text)}  [dim]({extra}) {q.id}[/]")
            if show_help and q.help:
                leaf.add(f"[dim]{safe(q.help)}[/]")
    out().print(root)


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
    from butterfly.checklist import resolve_checklist

    cl = load_for_cli(checklist, lang)
    render_tree(cl, show_help=show_help)
    for name in lens or []:
        render_tree(resolve_checklist(name, cl.language), show_help=show_help)


@checklist_app.command("path")
def path(lang: LangOption = None) -> None:
    """Print the file path of the shipped checklist (to copy it as a starting point for a team checklist)."""
    from butterfly.checklist import DEFAULT_CHECKLIST_ID, builtin_checklist_path

    typer.echo(str(Path(builtin_checklist_path(DEFAULT_CHECKLIST_ID, language(lang)))))


def register(app: typer.Typer) -> None:
    app.add_typer(checklist_app, name="checklist")
