"""Shared pieces of the thin CLI layer: options, consoles, error rendering, one session per command.

Nothing here imports SQLAlchemy, SQLModel or Jinja2 at module level: ``butterfly --help`` stays fast.
"""

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from typer.core import TyperGroup

from butterfly.sanitise import json_dumps, terminal_safe

if TYPE_CHECKING:
    from rich.console import Console
    from sqlmodel import Session

DbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        help="Database file or URL (default: BUTTERFLY_DATABASE_URL, then the user data dir).",
        show_default=False,
    ),
]
LangOption = Annotated[
    str | None, typer.Option("--lang", help="zh-CN, zh-TW or en (default: settings).", show_default=False)
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON to stdout for scripts.")]


def ci_mode() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def interactive() -> bool:
    """Prompts and colour only on a real terminal and outside CI."""
    return sys.stdin.isatty() and sys.stdout.isatty() and not ci_mode()


PIPE_WIDTH = 200  # tables written to a pipe or file are not cut at 80 columns


def _console(*, stderr: bool) -> "Console":
    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    width = None if stream.isatty() or os.environ.get("COLUMNS") else PIPE_WIDTH
    # CI=true: no styles at all (not only no colour), even on a terminal
    return Console(
        stderr=stderr,
        width=width,
        highlight=False,
        no_color=ci_mode() or None,
        color_system=None if ci_mode() else "auto",
    )


def out() -> "Console":
    """Console for results (stdout)."""
    return _console(stderr=False)


def err() -> "Console":
    """Console for messages (stderr)."""
    return _console(stderr=True)


def print_json(data: Any) -> None:
    """Machine output: JSON on stdout, UTF-8, no colour."""
    sys.stdout.write(json_dumps(data, indent=2, default=str) + "\n")
    sys.stdout.flush()


def reviewer_name(name: str | None) -> str:
    """``--reviewer`` or, when not given, the settings' reviewer, then the OS user."""
    from butterfly.settings import get_settings

    return (name or "").strip() or get_settings().effective_reviewer()


def resolve_db(ctx: typer.Context | None, db: str | None) -> str:
    """The database URL for this command: its ``--db``, the global ``--db``, settings, default."""
    from butterfly.store.db import resolve_url

    if db is None and ctx is not None:
        root = ctx.find_root()
        if isinstance(root.obj, dict):
            db = root.obj.get("db")
    return resolve_url(db)


@contextmanager
def session_for(
    ctx: typer.Context | None, db: str | None, *, create: bool = False, lang: str | None = None
) -> "Iterator[Session]":
    """One session for one command. Only a command that saves (``create=True``) may create a new SQLite file,
    and it says so on stderr (in ``lang``, default: settings); the others stop with an error naming the missing
    path.

    The notice comes once the command has run, and after the ``Error:`` line when it stops on an error, so that
    line is always the first one on stderr (a failed first import still says where its new database is)."""
    from butterfly.errors import ButterflyError
    from butterfly.store.db import open_session

    url = resolve_db(ctx, db)
    notice = new_database(url, create=create, lang=lang)
    try:
        with open_session(url) as session:
            yield session
    except ButterflyError as exc:
        if notice:
            exc.add_note(notice)  # printed by render_error, after the Error: and Hint: lines
        raise
    except BaseException:
        if notice:
            _notice(notice)
        raise
    if notice:
        _notice(notice)


@contextmanager
def gc_paused() -> "Iterator[None]":
    """Python's cyclic garbage collector paused while a command starts: importing SQLAlchemy, SQLModel and the
    models allocates ~140,000 objects, hardly any of them garbage, and the collections they trigger cost ~10% of
    the walk's start-up CPU (benchmarks/README.md, walk start). :func:`resume_gc` turns it back on early (the walk
    does at its first question); it is on again when the block ends, whatever happens."""
    import gc

    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def resume_gc() -> None:
    """Turn the garbage collector back on (the start-up :func:`gc_paused` covered is over)."""
    import gc

    gc.enable()


def new_database(url: str, *, create: bool, lang: str | None = None) -> str | None:
    """Refuse a missing SQLite file unless ``create``; the notice to print once it is made, if it is new (in
    ``lang``, default: settings)."""
    from butterfly.store.db import is_new_database, require_existing_database, sqlite_path

    if not create:
        require_existing_database(url)
        return None
    if not is_new_database(url):
        return None
    from butterfly.labels import command_text

    return command_text("db.created", language(lang), path=sqlite_path(url))


def _notice(text: str) -> None:
    err().print(text, markup=False, highlight=False)


def language(lang: str | None) -> str:
    from butterfly.errors import InvalidInputError
    from butterfly.settings import get_settings

    value = lang or get_settings().language
    if value not in ("zh-CN", "zh-TW", "en"):
        raise InvalidInputError(f"unknown language '{value}'", hint="use zh-CN, zh-TW or en")
    return value


def render_error(exc: Exception) -> None:
    console = err()
    message = getattr(exc, "message", str(exc))
    # terminal_safe(): messages quote user files and ticket text, whose escape sequences must not reach the terminal;
    # soft_wrap: never break a message at the console width (paths, URLs and commands stay copyable and greppable)
    console.print(f"[bold red]Error:[/] {terminal_safe(message)}", soft_wrap=True)
    hint = getattr(exc, "hint", None)
    if hint:
        console.print(f"[dim]Hint:[/] {terminal_safe(hint)}", soft_wrap=True)
    for note in getattr(exc, "__notes__", ()):  # what the command did before it stopped (a database it created)
        console.print(terminal_safe(note), soft_wrap=True, highlight=False)


class ButterflyGroup(TyperGroup):
    """Root group: maps domain errors to ``Error: …`` and exit codes; Ctrl-C to "stopped by user"."""

    def invoke(self, ctx: Any) -> Any:
        from butterfly.errors import ButterflyError

        try:
            return super().invoke(ctx)
        except ButterflyError as exc:
            render_error(exc)
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt:
            err().print("stopped by user (everything answered so far is saved)")
            raise typer.Exit(130) from None
        except BrokenPipeError:
            raise typer.Exit(1) from None


# -- report output (``report ticket|weekly|consistency``) ---------------------------------------------------


class Format(StrEnum):
    md = "md"
    html = "html"
    json = "json"


FormatOption = Annotated[
    Format | None,
    typer.Option(
        "--format", "-f", help="md, html or json (default: from the -o file name, else md).", show_default=False
    ),
]


def report_format(fmt: Format | None, output: Path | None) -> str:
    """``--format``, else the ``-o`` file's suffix (``.html``/``.htm``, ``.json``), else ``md``.

    Called before any work: an ``-o`` that cannot be written (a folder, a missing folder) is refused here.
    """
    from butterfly.files import check_output

    check_output(output)
    if fmt is not None:
        return fmt.value
    if output is not None:
        suffix = output.suffix.lower().lstrip(".")
        if suffix in ("htm", "html"):
            return "html"
        if suffix == "json":
            return "json"
    return "md"


def emit(text: str, output: Path | None) -> None:
    """A rendered report to stdout, or to ``output`` (atomically, 0600) with a ``wrote PATH`` line on stderr."""
    if output is None:
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    from butterfly.files import write_private

    path = write_private(output, text)
    err().print(f"wrote {path}", markup=False, highlight=False)
