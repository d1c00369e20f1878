"""A built report (a pydantic model) as Markdown, HTML (through :mod:`butterfly.templating`) or JSON."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from butterfly import __version__
from butterfly.errors import InvalidInputError
from butterfly.sanitise import json_dumps
from butterfly.templating.environment import render

FORMATS = ("md", "html", "json")


def json_text(data: Any) -> str:
    """``data`` as indented JSON: non-ASCII text kept readable, control and bidi characters escaped."""
    return json_dumps(data, indent=2) + "\n"


def report_context(report: Any, labels: dict[str, str], *, lang: str, tz: str) -> dict[str, Any]:
    """What every report template gets: ``report``, the labels ``t``, ``lang``, ``tz`` and wing/horizon names."""
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
        return json_text(report.model_dump(mode="json"))
    return render(f"{name}.{fmt}", report_context(report, labels, lang=lang, tz=tz), user_templates=user_templates)
