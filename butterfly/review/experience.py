"""The five experience levels ("net user value" layers), worst to best.

Every customer brings a base expectation to a purchase or a service. The levels, from the surprise article the
``surprise`` lens is built on, place a ticket's experience against it: devil, terrible, basement, baseline and
ultimate. Only service beyond expectation reaches the top. The texts are data, shipped in
``butterfly/data/experience_levels.yaml`` in zh-CN, zh-TW and en.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from butterfly.errors import FileProblemsError, NotFoundError, Problem
from butterfly.yamlload import load_yaml

LANGUAGES: tuple[str, ...] = ("zh-CN", "zh-TW", "en")
LEVEL_IDS: tuple[str, ...] = ("devil", "terrible", "basement", "baseline", "ultimate")


def _text(texts: dict[str, str], lang: str) -> str:
    if lang not in LANGUAGES:
        raise NotFoundError(f"unknown language '{lang}'", hint="use one of: " + ", ".join(LANGUAGES))
    return texts[lang]


class ExperienceLevel(BaseModel):
    """One level: its id, its rank (1 = worst) and its name and one-line description per language."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_-]*$")]
    rank: Annotated[int, Field(ge=1)]
    name: dict[str, str]
    description: dict[str, str]

    def label(self, lang: str) -> str:
        """The level's name in ``lang`` (zh-CN, zh-TW or en)."""
        return _text(self.name, lang)

    def describe(self, lang: str) -> str:
        """The level's one-line description in ``lang`` (zh-CN, zh-TW or en)."""
        return _text(self.description, lang)


class ExperienceScale(BaseModel):
    """All five levels, worst first."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: Annotated[str, Field(pattern=r"^\d+(\.\d+)*$")]
    levels: list[ExperienceLevel]

    @model_validator(mode="after")
    def _five_levels(self) -> ExperienceScale:
        ids = tuple(lv.id for lv in self.levels)
        if ids != LEVEL_IDS:
            found = ", ".join(ids) or "none"
            raise ValueError(f"levels must be exactly, in this order: {', '.join(LEVEL_IDS)} (found: {found})")
        for expected, lv in enumerate(self.levels, start=1):
            if lv.rank != expected:
                raise ValueError(f"level '{lv.id}' must have rank {expected}, not {lv.rank}")
            for field_name, texts in (("name", lv.name), ("description", lv.description)):
                unknown = sorted(set(texts) - set(LANGUAGES))
                if unknown:
                    raise ValueError(f"level '{lv.id}' has a {field_name} in unknown language(s): {', '.join(unknown)}")
                missing = [lang for lang in LANGUAGES if not texts.get(lang, "").strip()]
                if missing:
                    raise ValueError(f"level '{lv.id}' has no {field_name} in: {', '.join(missing)}")
        return self

    def level(self, level_id: str) -> ExperienceLevel:
        """The level with this id; :class:`NotFoundError` with the valid ids as hint if there is none."""
        for lv in self.levels:
            if lv.id == level_id:
                return lv
        raise NotFoundError(f"unknown experience level '{level_id}'", hint="use one of: " + ", ".join(LEVEL_IDS))


def parse_experience_levels(text: str, *, filename: str) -> ExperienceScale:
    """Parse and validate experience-level YAML; problems raise :class:`FileProblemsError` naming ``filename``."""
    data, _ = load_yaml(text, filename=filename)
    try:
        return ExperienceScale.model_validate(data)
    except ValidationError as exc:
        problems = [
            Problem(
                filename,
                str(err["msg"]).removeprefix("Value error, "),
                field=".".join(str(part) for part in err["loc"]) or None,
            )
            for err in exc.errors()
        ]
        raise FileProblemsError(filename, problems) from None


@lru_cache(maxsize=1)
def load_experience_levels() -> ExperienceScale:
    """The shipped experience levels (read once, then cached)."""
    source = resources.files("butterfly") / "data" / "experience_levels.yaml"
    return parse_experience_levels(source.read_text(encoding="utf-8"), filename=str(source))


def level(level_id: str) -> ExperienceLevel:
    """A shipped experience level by id; :class:`NotFoundError` if the id is unknown."""
    return load_experience_levels().level(level_id)
