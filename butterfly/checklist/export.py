"""Export a checklist for other tools: JSON/YAML (checklists as code), Markdown and HTML fill-in templates, CSV,
and the JSON Schema of the checklist file format.

Every format is a pure function of the checklist: the same input gives byte-identical output (sorted keys, no
timestamps), so an exported file can live in a repository and a pipeline can diff it.

- ``json`` / ``yaml``: a checklist file that ``butterfly checklist validate`` accepts and ``--checklist`` loads.
- ``md``: a fill-in template with checkboxes, usable as a GitHub or GitLab issue template.
- ``html``: a printable, self-contained fill-in form (``templates/checklist.html``, autoescaped).
- ``csv``: one row per question; cells that a spreadsheet would run as a formula are neutralised.
- ``schema``: the JSON Schema of the checklist file format (from the Pydantic model), for editors and pipelines.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import yaml

from butterfly.checklist.model import AnswerKind, Checklist, Question
from butterfly.errors import InvalidInputError
from butterfly.labels import form_labels
from butterfly.sanitise import json_dumps
from butterfly.templating.environment import render
from butterfly.templating.markdown import md_inline

FORMATS = ("json", "yaml", "md", "html", "csv", "schema")
SCHEMA_ID = "https://butterfly-check.invalid/schema/checklist.json"
JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"

CSV_COLUMNS = (
    "checklist_id",
    "checklist_version",
    "language",
    "cell_id",
    "cell_title",
    "position",
    "question_id",
    "kind",
    "text",
    "help",
    "options",
    "multiple",
    "required",
    "guard",
    "action",
)

_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise_formula(value: str) -> str:
    """A cell a spreadsheet would run as a formula (``=``, ``+``, ``-``, ``@``, tab, CR) gets a leading ``'``."""
    if value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


def checklist_data(checklist: Checklist) -> dict[str, Any]:
    """The checklist as plain data, exactly what a checklist file holds (``None`` fields left out)."""
    return checklist.model_dump(mode="json", exclude_none=True)


def checklist_schema() -> dict[str, Any]:
    """The JSON Schema of a checklist file, from the Pydantic model."""
    schema = Checklist.model_json_schema()
    schema["$schema"] = JSON_SCHEMA_DIALECT
    schema["$id"] = SCHEMA_ID
    schema["description"] = (
        "A butterfly checklist file (YAML or JSON). Structural rules this schema cannot express (unique ids, "
        "question ids prefixed by their cell id, the six cells of a butterfly checklist, choices only for kind "
        "'choice') are checked by `butterfly checklist validate`."
    )
    return schema


def export_checklist(
    checklist: Checklist | None,
    fmt: str,
    *,
    lenses: Sequence[Checklist] = (),
    front_matter: bool = True,
    templates: str | Path | None = None,
) -> str:
    """The checklist (and lenses, for ``md``/``html``/``csv``) in format ``fmt``, as text.

    ``checklist`` may be ``None`` for ``schema`` only. ``json``/``yaml`` write one checklist file, so they take no
    lenses (export a lens on its own: ``--checklist human-needs``). ``front_matter`` (md) adds the YAML header
    GitHub's issue template chooser reads; ``templates`` (html) is a team folder tried before the built-in one.
    """
    if fmt not in FORMATS:
        raise InvalidInputError(f"unknown export format '{fmt}'", hint="use one of: " + ", ".join(FORMATS))
    if fmt == "schema":
        return _dump_json(checklist_schema())
    if checklist is None:
        raise InvalidInputError(f"format '{fmt}' needs a checklist")
    if lenses and fmt in ("json", "yaml"):
        raise InvalidInputError(
            f"--format {fmt} writes one checklist file and cannot include lenses",
            hint="export a lens on its own with --checklist " + lenses[0].id + ", or use md, html or csv",
        )
    if fmt == "json":
        return _dump_json(checklist_data(checklist))
    if fmt == "yaml":
        return _dump_yaml(checklist_data(checklist))
    if fmt == "md":
        return render_markdown(checklist, lenses=lenses, front_matter=front_matter)
    if fmt == "html":
        return render_html(checklist, lenses=lenses, templates=templates)
    return render_csv([checklist, *lenses])


def _dump_json(data: Any) -> str:
    return json_dumps(data, indent=2, sort_keys=True) + "\n"


def _dump_yaml(data: Any) -> str:
    return str(yaml.safe_dump(data, sort_keys=True, allow_unicode=True, default_flow_style=False, width=100))


# -- options of a question (shared by md, html, csv) -----------------------------------------------------------


def question_options(checklist: Checklist, question: Question) -> list[tuple[str, str]]:
    """The (value, label) pairs a question offers: scale points + N/A, yes/no, or its choices."""
    words = form_labels(checklist.language)
    if question.kind is AnswerKind.rating:
        points = [(str(p.value), p.label) for p in checklist.scale.points]
        return [*points, ("na", checklist.scale.na_label)]
    if question.kind is AnswerKind.yes_no:
        return [("yes", words["yes"]), ("no", words["no"])]
    if question.kind is AnswerKind.choice:
        return [(c.id, c.label) for c in question.choices or []]
    return []


def option_display(question: Question, value: str, label: str) -> str:
    """How an option reads on a form: a rating point shows its value (``2 · Fully``)."""
    if question.kind is AnswerKind.rating and value != "na":
        return f"{value} · {label}"
    return label


# -- Markdown ----------------------------------------------------------------------------------------------------


def _yaml_scalar(text: str) -> str:
    return json_dumps(text)  # a double-quoted YAML scalar: JSON's escapes are YAML's


def render_markdown(checklist: Checklist, *, lenses: Sequence[Checklist] = (), front_matter: bool = True) -> str:
    """A fill-in template with checkboxes (GitHub/GitLab issue template; front matter for GitHub's chooser)."""
    words = form_labels(checklist.language)
    lines: list[str] = []
    if front_matter:
        lines += [
            "---",
            f"name: {_yaml_scalar(checklist.title)}",
            f"about: {_yaml_scalar(' '.join((checklist.description or checklist.title).split()))}",
            f"title: {_yaml_scalar(checklist.title + ': ')}",
            'labels: ["butterfly-check"]',
            "---",
            "",
        ]
    lines += [f"# {md_inline(checklist.title)}", ""]
    lines += [f"- **{words['ticket']}:** ", f"- **{words['reviewer']}:** ", f"- **{words['date']}:** ", ""]
    if checklist.description:
        lines += [md_inline(checklist.description), ""]
    for cl in (checklist, *lenses):
        _markdown_body(cl, lines, lens=cl is not checklist)
    ids = [checklist, *lenses]
    lines.append(
        f"<!-- {words['generated']}: " + ", ".join(f"{c.id} v{c.version} ({c.language})" for c in ids) + " -->"
    )
    return "\n".join(lines) + "\n"


def _markdown_body(cl: Checklist, lines: list[str], *, lens: bool) -> None:
    words = form_labels(cl.language)
    if lens:
        lines += [f"# {words['lens']}: {md_inline(cl.title)}", ""]
        if cl.description:
            lines += [md_inline(cl.description), ""]
    number = 0
    for cell in cl.cells:
        lines += [f"## {md_inline(cell.title)}", "", f"_{md_inline(cell.purpose)}_", ""]
        for q in cell.questions:
            number += 1
            marks = []
            if q.kind is AnswerKind.choice:
                marks.append(words["pick_any"] if q.multiple else words["pick_one"])
            if not q.required:
                marks.append(words["optional"])
            suffix = f" ({', '.join(marks)})" if marks else ""
            lines += [f"### {number}. {md_inline(q.text)}{suffix}", "", f"`{q.id}`", ""]
            options = question_options(cl, q)
            if options:
                lines += [f"- [ ] {md_inline(option_display(q, value, label))}" for value, label in options]
                lines += ["", f"{words['note']}: ", ""]
            elif q.kind is AnswerKind.datetime:
                lines += [f"{words['when']}: ", ""]
            else:
                lines += [f"{words['answer']}:", "", "> ", ""]
            if q.help:
                lines += [
                    "<details>",
                    f"<summary>{words['why']}</summary>",
                    "",
                    md_inline(q.help),
                    "",
                    "</details>",
                    "",
                ]


# -- HTML --------------------------------------------------------------------------------------------------------


def render_html(checklist: Checklist, *, lenses: Sequence[Checklist] = (), templates: str | Path | None = None) -> str:
    """A self-contained, printable fill-in form (``checklist.html``; every value autoescaped).

    Rendered through the reports' Jinja environment, so a team's ``templates`` folder can override
    ``checklist.html`` (or ``{% extends "default:checklist.html" %}`` and change one block).
    """
    sections = []
    for cl in (checklist, *lenses):
        sections.append(
            {
                "checklist": cl,
                "lens": cl is not checklist,
                "cells": [
                    {
                        "cell": cell,
                        "questions": [
                            {
                                "q": q,
                                "options": [(v, option_display(q, v, label)) for v, label in question_options(cl, q)],
                            }
                            for q in cell.questions
                        ],
                    }
                    for cell in cl.cells
                ],
            }
        )
    context = {
        "checklist": checklist,
        "sections": sections,
        "words": form_labels(checklist.language),
        "sources": [f"{c.id} v{c.version} ({c.language})" for c in (checklist, *lenses)],
    }
    return render("checklist.html", context, user_templates=templates)


# -- CSV ---------------------------------------------------------------------------------------------------------


def csv_rows(checklists: Iterable[Checklist]) -> Iterable[list[str]]:
    """One row per question (header first); every text cell neutralised against spreadsheet formulas."""
    yield list(CSV_COLUMNS)
    for cl in checklists:
        position = 0
        for cell in cl.cells:
            for q in cell.questions:
                position += 1
                options = question_options(cl, q)
                row = [
                    cl.id,
                    cl.version,
                    cl.language,
                    cell.id,
                    cell.title,
                    str(position),
                    q.id,
                    q.kind.value,
                    q.text,
                    q.help or "",
                    " | ".join(f"{value}={label}" for value, label in options),
                    "true" if q.multiple else "false",
                    "true" if q.required else "false",
                    q.guard.value if q.guard else "",
                    q.action.value if q.action else "",
                ]
                yield [neutralise_formula(" ".join(v.split()) if v else v) for v in row]


def render_csv(checklists: Iterable[Checklist]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerows(csv_rows(checklists))
    return buffer.getvalue()
