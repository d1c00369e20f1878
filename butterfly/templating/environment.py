"""The ONE Jinja2 environment (reports and checklist forms), and rendering a template with it.

Templates are looked up datasette-style: first in the team's own folder (``--templates DIR`` or the
``templates`` setting), then in the built-in ones; a built-in template is also reachable as ``default:NAME`` so a
team template can ``{% extends "default:ticket.html" %}`` and override a single block.

Ticket and answer text is untrusted. ``.html`` templates are autoescaped. ``.md`` templates get every ``{{ … }}``
value escaped for Markdown (:mod:`butterfly.templating.markdown`) unless the value is already
:class:`~markupsafe.Markup` (the ``md`` filters and the chart helpers return Markup).

The environment is sandboxed (Jinja's ``ImmutableSandboxedEnvironment``): a team's templates folder is data, not
code. A template reads the report's fields and calls the filters and helpers given here; private attributes
(``cycler.__init__.__globals__``) and changing a list or dict are refused with a ``SecurityError``, and paths
outside the template folders (``/etc/passwd``, ``../``) are not found.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import (
    ChoiceLoader,
    FileSystemLoader,
    PrefixLoader,
    StrictUndefined,
    TemplateError,
    TemplateNotFound,
    TemplateSyntaxError,
    UndefinedError,
    pass_context,
    select_autoescape,
)
from jinja2.exceptions import SecurityError
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment
from markupsafe import Markup

from butterfly.errors import FileProblemsError, InvalidInputError, Problem
from butterfly.paths import templates_dir
from butterfly.sanitise import CONTROL
from butterfly.templating import svg
from butterfly.templating.markdown import md_block, md_inline
from butterfly.templating.words import counted, duration, number


@pass_context
def _finalize(ctx: Context, value: Any) -> Any:
    """``.md``: escape every printed string that is not Markup (numbers cannot inject); others: drop control chars."""
    if value is None:
        return ""
    name = ctx.name or ""
    if isinstance(value, str) and not isinstance(value, Markup):
        if name.endswith(".md"):
            return md_inline(value)
        return CONTROL.sub("", value)  # .html: no terminal escapes or bidi overrides, even in a file someone cats
    return value


def _fmt_datetime(value: datetime | str | None, tz: str = "UTC") -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M")


def _fmt_date(value: date | datetime | str | None) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value[:10]
    if isinstance(value, datetime):
        return value.date().isoformat()
    return value.isoformat()


def _lang(ctx: Context) -> str:
    return str(ctx.get("lang") or "en")


@pass_context
def _duration_in(ctx: Context, seconds: float | None) -> str:
    """``|duration`` in the report's language (``lang`` of the template context)."""
    return duration(seconds, _lang(ctx))


@pass_context
def _counted(ctx: Context, key: str, n: int, **values: object) -> str:
    """``count("n_tickets", 3)``: a counted label in the report's language, singular or plural by Babel."""
    return counted(ctx["t"], key, int(n), _lang(ctx), **values)


@pass_context
def _number(ctx: Context, value: float | None) -> str:
    return number(value, _lang(ctx))


@pass_context
def _delta(ctx: Context, value: int) -> str:
    """A change between two weeks with its sign: ``+1,234``, ``-5``, ``±0``."""
    if not value:
        return "±0"
    return ("+" if value > 0 else "-") + number(abs(value), _lang(ctx))


def _fill(text: str, **values: object) -> str:
    for key, value in values.items():
        text = text.replace("{" + key + "}", str(value))
    return text


def _pairs(items: Any, label: str, value: str) -> list[tuple[str, float]]:
    """``(label, value)`` of each item, for :func:`svg.bars`."""
    return [(str(getattr(i, label)), float(getattr(i, value) or 0)) for i in items]


def make_environment(user_templates: str | Path | None = None) -> ImmutableSandboxedEnvironment:
    """The report environment: the user's folder first, then ``default:`` and the built-in templates."""
    builtin = FileSystemLoader(str(templates_dir()))
    loaders: list[Any] = []
    if user_templates is not None:
        folder = Path(user_templates).expanduser()
        if not folder.is_dir():
            raise InvalidInputError(f"templates folder {folder} does not exist or is not a folder")
        loaders.append(FileSystemLoader(str(folder)))
    loaders += [PrefixLoader({"default": builtin}, delimiter=":"), builtin]
    env = ImmutableSandboxedEnvironment(
        loader=ChoiceLoader(loaders),
        autoescape=select_autoescape(enabled_extensions=("html", "htm", "xml", "svg"), default_for_string=True),
        undefined=StrictUndefined,
        finalize=_finalize,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(
        md=md_inline,
        md_block=md_block,
        datetime=_fmt_datetime,
        date=_fmt_date,
        duration=_duration_in,
        number=_number,
        percent=svg.percent,
        text_bar=svg.text_bar,
        text_sparkline=svg.text_sparkline,
        trend_numbers=svg.trend_numbers,
        fill=_fill,
    )
    env.globals.update(
        butterfly_figure=svg.butterfly_figure,
        sparkline=svg.sparkline,
        bars=svg.bars,
        percent=svg.percent,
        pairs=_pairs,
        count=_counted,
        number=_number,
        delta=_delta,
    )
    return env


def render(template: str, context: dict[str, Any], *, user_templates: str | Path | None = None) -> str:
    """Render ``template`` (e.g. ``ticket.md``) with ``context``; template mistakes name the file and line."""
    env = make_environment(user_templates)
    try:
        return env.get_template(template).render(**context)
    except TemplateNotFound as exc:
        raise InvalidInputError(f"report template '{exc.name}' not found") from None
    except TemplateSyntaxError as exc:
        where = exc.filename or exc.name or template
        raise FileProblemsError(where, [Problem(where, exc.message or "syntax error", line=exc.lineno)]) from None
    except UndefinedError as exc:
        raise InvalidInputError(f"report template '{template}': {exc.message}") from None
    except SecurityError as exc:
        raise InvalidInputError(
            f"report template '{template}' was stopped: {exc}",
            hint="report templates may read the report's fields and use the filters; they cannot run code",
        ) from None
    except TemplateError as exc:
        raise InvalidInputError(f"report template '{template}': {exc}") from None
