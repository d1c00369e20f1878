"""The ONE Jinja2 environment for reports, and rendering a report to Markdown or HTML.

Templates are looked up datasette-style: first in the team's own folder (``--templates DIR`` or the
``templates`` setting), then in the built-in ones; a built-in template is also reachable as ``default:NAME`` so a
team template can ``{% extends "default:ticket.html" %}`` and override a single block.

Ticket and answer text is untrusted. ``.html`` templates are autoescaped. ``.md`` templates get every ``{{ … }}``
value escaped for Markdown (``<`` and Markdown punctuation backslash-escaped, ``&`` only where it would start an
entity, ``>`` only where it would start a quote, line breaks folded: ``pending > 7 days`` stays readable as
plain text, never ``&gt;``) unless the value is already :class:`~markupsafe.Markup` (the ``md`` filters and the chart helpers
return Markup).
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import (
    ChoiceLoader,
    FileSystemLoader,
    PrefixLoader,
    StrictUndefined,
    TemplateNotFound,
    TemplateSyntaxError,
    pass_context,
    select_autoescape,
)
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment
from markupsafe import Markup

from butterfly.errors import FileProblemsError, InvalidInputError, Problem
from butterfly.paths import templates_dir
from butterfly.reports import svg
from butterfly.timeutil import format_duration

FORMATS = ("md", "html", "json")

_MD_SPECIAL = re.compile(r"([\\`*_\[\]{}|~#+!$<])")  # < : no HTML tag or autolink can start
_ENTITY = re.compile(r"&(?=#?[0-9A-Za-z]+;)")  # & only where it would start an entity (&lt; &#60;)
_LINE_START = re.compile(r"^(\s*)(?:([-=>])|(\d+)([.)]))", re.MULTILINE)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def _escape_line_start(m: re.Match[str]) -> str:
    if m.group(2):
        return m.group(1) + "\\" + m.group(2)
    return m.group(1) + m.group(3) + "\\" + m.group(4)


def md_inline(value: object) -> Markup:
    """Untrusted text made inert for Markdown on one line (headings, list items, table cells).

    Markdown punctuation and ``<`` are backslash-escaped (no HTML, links, images, emphasis, code or table breaks
    can be injected; CommonMark shows ``\\<`` as ``<``), an ``&`` that would start an entity too, and line breaks
    become spaces.
    """
    if value is None:
        return Markup("")
    if isinstance(value, Markup):
        return value
    text = _CONTROL.sub("", str(value))
    text = re.sub(r"\s*[\r\n]+\s*", " ", text)
    text = _ENTITY.sub(r"\\&", _MD_SPECIAL.sub(r"\\\1", text))
    text = _LINE_START.sub(_escape_line_start, text)
    return Markup(text)


def md_block(value: object) -> Markup:
    """Untrusted multi-line text made inert for Markdown, keeping its paragraphs and line breaks."""
    if value is None:
        return Markup("")
    if isinstance(value, Markup):
        return value
    text = _CONTROL.sub("", str(value)).replace("\r\n", "\n").replace("\r", "\n")
    paragraphs = [p for p in re.split(r"\n\s*\n", text) if p.strip()]
    out = []
    for para in paragraphs:
        lines = [md_inline(line.strip()) for line in para.split("\n") if line.strip()]
        out.append("  \n".join(str(line) for line in lines))
    return Markup("\n\n".join(out))


@pass_context
def _finalize(ctx: Context, value: Any) -> Any:
    """``.md``: escape every printed string that is not Markup (numbers cannot inject); others: drop control chars."""
    if value is None:
        return ""
    name = ctx.name or ""
    if isinstance(value, str) and not isinstance(value, Markup):
        if name.endswith(".md"):
            return md_inline(value)
        return _CONTROL.sub("", value)  # .html: no terminal escapes or bidi overrides, even in a file someone cats
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


def _fmt_duration(seconds: float | None) -> str:
    if seconds is None:
        return ""
    return format_duration(timedelta(seconds=seconds))


def _fill(text: str, **values: object) -> str:
    for key, value in values.items():
        text = text.replace("{" + key + "}", str(value))
    return text


def _pairs(items: Any, label: str, value: str) -> list[tuple[str, float]]:
    """``(label, value)`` of each item, for :func:`svg.bars`."""
    return [(str(getattr(i, label)), float(getattr(i, value) or 0)) for i in items]


def make_environment(user_templates: str | Path | None = None) -> ImmutableSandboxedEnvironment:
    """The report environment: the user's folder first, then ``default:`` and the built-in templates.

    Sandboxed: a team's template folder is data, not code. A template reads the report's fields and calls the
    filters and helpers given here; ``cycler.__init__.__globals__`` and other private attributes, and changing a
    list or dict, are refused (``SecurityError``), as are paths outside the folders (``/etc/passwd``, ``../``).
    """
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
        duration=_fmt_duration,
        percent=svg.percent,
        text_bar=svg.text_bar,
        text_sparkline=svg.text_sparkline,
        fill=_fill,
    )
    env.globals.update(
        butterfly_figure=svg.butterfly_figure,
        sparkline=svg.sparkline,
        bars=svg.bars,
        percent=svg.percent,
        pairs=_pairs,
    )
    return env


def render(template: str, context: dict[str, Any], *, user_templates: str | Path | None = None) -> str:
    """Render ``template`` (e.g. ``ticket.md``) with ``context``; template mistakes name the file and line."""
    from jinja2 import TemplateError, UndefinedError
    from jinja2.exceptions import SecurityError

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


def report_context(report: Any, labels: dict[str, str], *, lang: str, tz: str) -> dict[str, Any]:
    """What every report template gets: ``report``, the labels ``t``, ``lang``, ``tz`` and wing/horizon names."""
    from butterfly import __version__

    return {
        "report": report,
        "t": labels,
        "lang": lang,
        "tz": tz,
        "version": __version__,
        "side_labels": {"customer": labels["side_customer"], "company": labels["side_company"]},
        "horizon_labels": {h: labels[f"horizon_{h}"] for h in ("short", "mid", "long")},
    }


def render_report(
    name: str,
    report: Any,
    *,
    fmt: str,
    labels: dict[str, str],
    lang: str,
    tz: str,
    user_templates: str | Path | None = None,
) -> str:
    """A built report (a pydantic model) as ``md``, ``html`` (template ``NAME.md``/``NAME.html``) or ``json``."""
    if fmt not in FORMATS:
        raise InvalidInputError(f"unknown report format '{fmt}'", hint="use md, html or json")
    if fmt == "json":
        import json

        return json.dumps(report.model_dump(mode="json"), ensure_ascii=False, indent=2) + "\n"
    return render(f"{name}.{fmt}", report_context(report, labels, lang=lang, tz=tz), user_templates=user_templates)
