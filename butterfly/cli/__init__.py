"""The ``butterfly`` command line: a thin Typer layer over the library, one module per command group.

The modules of this package import no heavy library at module level and do not use
``from __future__ import annotations``: Typer evaluates every command's annotations when it builds the app, and
string annotations cost ``butterfly --help`` about 15 ms (see benchmarks/startup.py). Annotations that name types
imported only for type checking are written as strings.
"""

from typing import Annotated

import typer

from butterfly import __version__
from butterfly.cli import (
    actions,
    checklist,
    config,
    db,
    demo,
    exports,
    gate,
    imports,
    report,
    review,
    sync,
    tickets,
)
from butterfly.cli._common import ButterflyGroup, DbOption

app = typer.Typer(
    cls=ButterflyGroup,
    name="butterfly",
    help="The butterfly check (蝴蝶检查法): review closed support tickets from the customer's and the company's side, "
    "short, mid and long term.",
    no_args_is_help=True,
    rich_markup_mode="rich",
    pretty_exceptions_show_locals=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"butterfly {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    ctx: typer.Context,
    db: DbOption = None,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version and exit.")
    ] = False,
) -> None:
    """The butterfly check (蝴蝶检查法) for closed customer-service tickets."""
    ctx.obj = {"db": db}


for module in (checklist, imports, sync, tickets, review, actions, report, exports, gate, db, config, demo):
    module.register(app)


def main() -> None:
    app(prog_name="butterfly")
