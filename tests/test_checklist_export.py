"""``butterfly checklist export``: byte-stable checklist files, fill-in templates, CSV, and the JSON Schema."""

from __future__ import annotations

import csv
import io
import json
import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from butterfly.checklist.export import FORMATS, checklist_schema, export_checklist
from butterfly.checklist.model import (
    LANGUAGES,
    Checklist,
    builtin_checklist_ids,
    builtin_checklist_path,
    load_builtin,
    load_checklist_file,
    parse_checklist_text,
)

SHIPPED = [(cid, lang) for cid in builtin_checklist_ids() for lang in LANGUAGES]


def team_checklist(tmp_path: Path, **replace: str) -> Path:
    """A team's own checklist: the shipped one with an id of its own, one question added, text edited."""
    data = yaml.safe_load(builtin_checklist_path("butterfly", "en").read_text(encoding="utf-8"))
    data["id"] = "acme"
    data["version"] = "2.1"
    data["title"] = "ACME butterfly check"
    data["cells"][4]["questions"].append(
        {
            "id": "company.mid.sla_breached",
            "text": "Was the SLA breached?",
            "kind": "yes_no",
            "help": "Contract terms: 4h response.",
        }
    )
    text = yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
    for old, new in replace.items():
        text = text.replace(old, new)
    path = tmp_path / "acme.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("lang", LANGUAGES)
def test_exports_are_byte_stable(cli, fmt: str, lang: str) -> None:  # type: ignore[no-untyped-def]
    args = ["checklist", "export", "--format", fmt, "--lang", lang]
    if fmt in ("md", "html", "csv"):
        args += ["--lens", "human-needs", "--lens", "surprise"]
    first = cli(*args)
    second = cli(*args)
    assert first.exit_code == 0, first.output
    assert first.stdout_bytes == second.stdout_bytes
    assert len(first.stdout_bytes) > 1000


def test_byte_stable_across_processes_and_hash_seeds(tmp_path: Path) -> None:
    outputs = []
    for seed in ("1", "2"):
        out = tmp_path / f"export-{seed}"
        out.mkdir()
        for fmt in ("json", "yaml", "csv"):
            run = subprocess.run(
                [sys.executable, "-m", "butterfly", "checklist", "export", "--lang", "zh-CN", "--format", fmt],
                capture_output=True,
                check=True,
                env={**os.environ, "PYTHONHASHSEED": seed},
            )
            (out / fmt).write_bytes(run.stdout)
        outputs.append({p.name: p.read_bytes() for p in out.iterdir()})
    assert outputs[0] == outputs[1]


@pytest.mark.parametrize("fmt", ["json", "yaml"])
def test_json_and_yaml_carry_id_version_and_question_ids_with_sorted_keys(cli, fmt: str) -> None:  # type: ignore[no-untyped-def]
    result = cli("checklist", "export", "--format", fmt, "--lang", "en")
    data = json.loads(result.stdout) if fmt == "json" else yaml.safe_load(result.stdout)
    original = load_builtin("butterfly", "en")
    assert data["id"] == "butterfly"
    assert data["version"] == "1.0"
    assert [q["id"] for c in data["cells"] for q in c["questions"]] == original.question_ids()
    assert list(data) == sorted(data)
    assert "exported" not in result.stdout and "2026" not in result.stdout  # no timestamps


@pytest.mark.parametrize("fmt", ["json", "yaml"])
def test_team_checklist_export_validate_load_round_trip(cli, tmp_path: Path, fmt: str) -> None:  # type: ignore[no-untyped-def]
    source = team_checklist(tmp_path)
    original = load_checklist_file(source)
    exported = tmp_path / f"exported.{fmt}"
    result = cli("checklist", "export", "--checklist", str(source), "--format", fmt, "-o", str(exported))
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert f"wrote {exported}" in result.stderr

    validated = cli("checklist", "validate", str(exported))
    assert validated.exit_code == 0, validated.output
    assert "acme v2.1" in validated.stdout

    assert load_checklist_file(exported) == original  # nothing lost, nothing added
    shown = cli("checklist", "show", "--checklist", str(exported))
    assert "company.mid.sla_breached" in shown.stdout
    # and exporting the export gives the same bytes
    again = cli("checklist", "export", "--checklist", str(exported), "--format", fmt)
    assert again.stdout == exported.read_text(encoding="utf-8")


def test_output_file_is_private_and_written_atomically(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    target = tmp_path / "checklist.md"
    target.write_text("old content\n", encoding="utf-8")
    os.chmod(target, 0o644)
    assert cli("checklist", "export", "--format", "md", "-o", str(target)).exit_code == 0
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert target.read_text(encoding="utf-8") == cli("checklist", "export", "--format", "md").stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checklist.md"]  # no temp file left


def test_output_to_a_missing_folder_is_a_clear_error(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    result = cli("checklist", "export", "--format", "json", "-o", str(tmp_path / "nope" / "c.json"))
    assert result.exit_code == 2
    assert "does not exist" in result.stderr


def test_markdown_is_an_issue_template_with_a_checkbox_per_option(cli) -> None:  # type: ignore[no-untyped-def]
    text = cli("checklist", "export", "--format", "md", "--lang", "en", "--lens", "human-needs").stdout
    front, body = text.split("---\n", 2)[1:]
    meta = yaml.safe_load(front)
    assert meta["name"] == "Butterfly check"
    assert meta["about"]
    assert meta["labels"] == ["butterfly-check"]
    cl = load_builtin("butterfly", "en")
    lens = load_builtin("human-needs", "en")
    for q in [*cl.questions, *lens.questions]:
        assert f"`{q.id}`" in body
    # a rating offers every scale point and N/A; a choice every choice; yes/no both
    block = body.split("`customer.short.certainty`", 1)[1].split("###", 1)[0]
    assert "- [ ] 0 · Not done" in block and "- [ ] 2 · Fully" in block and "- [ ] N/A" in block
    block = body.split("`customer.mid.compensation_made`", 1)[1].split("###", 1)[0]
    assert "- [ ] Yes" in block and "- [ ] No" in block
    block = body.split("`company.mid.recurrence`", 1)[1].split("###", 1)[0]
    assert block.count("- [ ]") == 3
    assert "# Lens: " in body

    bare = cli("checklist", "export", "--format", "md", "--no-front-matter").stdout
    assert bare.startswith("# ")


def test_markdown_in_chinese(cli) -> None:  # type: ignore[no-untyped-def]
    text = cli("checklist", "export", "--format", "md", "--lang", "zh-CN").stdout
    assert "- [ ] 是" in text
    assert "为什么要问" in text
    assert load_builtin("butterfly", "zh-CN").cells[0].title in text


def test_html_is_autoescaped(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    source = team_checklist(tmp_path, **{"Was the SLA breached?": "<script>alert('x')</script> & <b>SLA</b>?"})
    result = cli("checklist", "export", "--checklist", str(source), "--format", "html", "--lens", "surprise")
    assert result.exit_code == 0, result.output
    html = result.stdout
    assert "<script>" not in html
    assert "&lt;script&gt;" in html
    assert "&amp; &lt;b&gt;SLA&lt;/b&gt;" in html
    assert html.startswith("<!DOCTYPE html>")
    assert '<html lang="en">' in html
    for q in load_checklist_file(source).questions + load_builtin("surprise", "en").questions:
        assert f'id="{q.id}"' in html


def test_csv_has_one_row_per_question_and_neutralises_formulas(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    source = team_checklist(
        tmp_path,
        **{
            "Was the SLA breached?": '=HYPERLINK("http://evil.example","click")',
            "Contract terms: 4h response.": "@SUM(A1:A9)",
        },
    )
    text = cli("checklist", "export", "--checklist", str(source), "--format", "csv").stdout
    rows = list(csv.DictReader(io.StringIO(text)))
    cl = load_checklist_file(source)
    assert [r["question_id"] for r in rows] == cl.question_ids()
    sla = next(r for r in rows if r["question_id"] == "company.mid.sla_breached")
    assert sla["text"] == '\'=HYPERLINK("http://evil.example","click")'
    assert sla["help"] == "'@SUM(A1:A9)"
    assert sla["options"] == "yes=Yes | no=No"
    rating = next(r for r in rows if r["question_id"] == "customer.short.certainty")
    assert rating["options"] == "0=Not done | 1=Partly | 2=Fully | na=N/A"
    assert rating["guard"] == "certainty"
    for row in rows:
        for value in row.values():
            assert not value.startswith(("=", "+", "-", "@", "\t", "\r"))


def test_lens_export_and_lens_in_json_is_refused(cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("checklist", "export", "--format", "json", "--lens", "surprise")
    assert result.exit_code == 2
    assert "--checklist surprise" in result.stderr
    lens = json.loads(cli("checklist", "export", "--format", "json", "--checklist", "surprise").stdout)
    assert lens["kind"] == "lens"
    assert cli("checklist", "export", "--format", "docx").exit_code == 2


# -- the JSON Schema ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def validator() -> jsonschema.protocols.Validator:
    schema = checklist_schema()
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def test_schema_export_is_the_models_schema(cli) -> None:  # type: ignore[no-untyped-def]
    schema = json.loads(cli("checklist", "export", "--format", "schema").stdout)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["properties"].keys() == Checklist.model_json_schema()["properties"].keys()
    assert schema["additionalProperties"] is False


@pytest.mark.parametrize(("checklist_id", "lang"), SHIPPED)
def test_schema_accepts_every_shipped_checklist(validator: Any, checklist_id: str, lang: str) -> None:
    data = yaml.safe_load(builtin_checklist_path(checklist_id, lang).read_text(encoding="utf-8"))
    errors = list(validator.iter_errors(data))
    assert not errors, [e.message for e in errors]


def _shipped() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(builtin_checklist_path("butterfly", "en").read_text(encoding="utf-8"))
    return data


@pytest.mark.parametrize(
    "breakage",
    [
        lambda d: d.pop("cells"),
        lambda d: d.update(language="fr"),
        lambda d: d.update(version=1.0),
        lambda d: d.update(id="Has Spaces"),
        lambda d: d.update(colour="blue"),
        lambda d: d["cells"][0]["questions"][0].update(kind="essay"),
        lambda d: d["cells"][0]["questions"][0].pop("text"),
        lambda d: d["cells"][1]["questions"][0].update(id="customer.mid.Bad Id"),
        lambda d: d["cells"][0].update(questions=[]),
        lambda d: d["scale"].update(points=[{"value": 0, "label": "only one"}]),
        lambda d: d["cells"][0]["questions"][0].update(guard="vibes"),
    ],
    ids=[
        "no-cells",
        "unknown-language",
        "numeric-version",
        "bad-id",
        "unknown-field",
        "unknown-kind",
        "no-text",
        "bad-question-id",
        "empty-cell",
        "one-point-scale",
        "unknown-guard",
    ],
)
def test_schema_rejects_broken_checklists(validator: Any, breakage: Any) -> None:
    data = _shipped()
    breakage(data)
    assert list(validator.iter_errors(data))


# -- round trip on generated checklists --------------------------------------------------------------------------

_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\ufeff\u2028\u2029\x85"),
    min_size=1,
    max_size=40,
).filter(lambda s: s.strip() == s and s != "")
_slug = st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True)


@st.composite
def lenses(draw: st.DrawFn) -> Checklist:
    lens_id = draw(_slug)
    cells = []
    for cell_slug in draw(st.lists(_slug, min_size=1, max_size=3, unique=True)):
        cell_id = f"{lens_id}.{cell_slug}"
        questions = []
        for q_slug in draw(st.lists(_slug, min_size=1, max_size=3, unique=True)):
            kind = draw(st.sampled_from(["text", "rating", "yes_no", "datetime", "choice"]))
            q: dict[str, Any] = {"id": f"{cell_id}.{q_slug}", "text": draw(_text), "kind": kind}
            if kind == "choice":
                ids = draw(st.lists(_slug, min_size=1, max_size=3, unique=True))
                q["choices"] = [{"id": i, "label": draw(_text)} for i in ids]
                q["multiple"] = draw(st.booleans())
            if draw(st.booleans()):
                q["help"] = draw(_text)
            questions.append(q)
        cells.append({"id": cell_id, "title": draw(_text), "purpose": draw(_text), "questions": questions})
    return Checklist.model_validate(
        {
            "id": lens_id,
            "version": draw(st.from_regex(r"[0-9]{1,2}(\.[0-9]{1,2}){0,2}", fullmatch=True)),
            "language": draw(st.sampled_from(LANGUAGES)),
            "kind": "lens",
            "title": draw(_text),
            "scale": {"points": [{"value": 0, "label": draw(_text)}, {"value": 1, "label": draw(_text)}]},
            "cells": cells,
        }
    )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lenses(), st.sampled_from(["json", "yaml"]))
def test_generated_checklists_round_trip(cl: Checklist, fmt: str) -> None:
    text = export_checklist(cl, fmt)
    assert parse_checklist_text(text, filename=f"generated.{fmt}") == cl
    assert export_checklist(cl, fmt) == text


def test_team_template_overrides_one_block_of_the_html_form(cli, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "templates"
    folder.mkdir()
    (folder / "checklist.html").write_text(
        '{% extends "default:checklist.html" %}{% block footer %}<footer>ACME support handbook</footer>{% endblock %}',
        encoding="utf-8",
    )
    monkeypatch.setenv("BUTTERFLY_TEMPLATES", str(folder))
    from butterfly.settings import get_settings

    get_settings.cache_clear()
    html = cli("checklist", "export", "--format", "html").stdout
    assert "<footer>ACME support handbook</footer>" in html
    assert 'id="customer.short.certainty"' in html
