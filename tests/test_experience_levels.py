"""The shipped experience levels: five ids in order, texts in all three languages, and strict validation."""

from __future__ import annotations

from importlib import resources
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from butterfly.errors import FileProblemsError, NotFoundError
from butterfly.review.experience import (
    LEVEL_IDS,
    ExperienceScale,
    level,
    load_experience_levels,
    parse_experience_levels,
)

LANGUAGES = ("zh-CN", "zh-TW", "en")


def _shipped_data() -> dict[str, Any]:
    text = (resources.files("butterfly") / "data" / "experience_levels.yaml").read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    assert isinstance(data, dict)
    return data


def test_level_ids_are_the_five_layers_worst_to_best() -> None:
    assert LEVEL_IDS == ("devil", "terrible", "basement", "baseline", "ultimate")


def test_shipped_file_loads_with_five_levels_in_rank_order() -> None:
    scale = load_experience_levels()
    assert [lv.id for lv in scale.levels] == list(LEVEL_IDS)
    assert [lv.rank for lv in scale.levels] == [1, 2, 3, 4, 5]


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_level_has_name_and_description_in_each_language(lang: str) -> None:
    for lv in load_experience_levels().levels:
        assert lv.label(lang).strip(), (lv.id, lang)
        assert lv.describe(lang).strip(), (lv.id, lang)


def test_names_match_the_source_terms() -> None:
    assert [level(i).label("zh-CN") for i in LEVEL_IDS] == ["魔鬼式", "恶劣型", "底层", "基础", "极致"]
    assert [level(i).label("zh-TW") for i in LEVEL_IDS] == ["魔鬼式", "惡劣型", "底層", "基礎", "極致"]
    assert [level(i).label("en") for i in LEVEL_IDS] == ["Devil", "Terrible", "Basement", "Baseline", "Ultimate"]


def test_unknown_level_raises_not_found_with_valid_ids_in_hint() -> None:
    with pytest.raises(NotFoundError) as info:
        level("heavenly")
    assert "heavenly" in info.value.message
    assert info.value.hint is not None
    for level_id in LEVEL_IDS:
        assert level_id in info.value.hint


def test_unknown_language_raises_not_found() -> None:
    with pytest.raises(NotFoundError):
        level("devil").label("fr")


def test_copy_missing_an_en_description_fails_validation() -> None:
    data = _shipped_data()
    del data["levels"][2]["description"]["en"]

    with pytest.raises(ValidationError, match="basement"):
        ExperienceScale.model_validate(data)

    broken = yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
    with pytest.raises(FileProblemsError) as info:
        parse_experience_levels(broken, filename="broken.yaml")
    assert "broken.yaml" in str(info.value)
    assert "level 'basement' has no description in: en" in str(info.value)


def test_copy_with_levels_out_of_order_fails_validation() -> None:
    data = _shipped_data()
    data["levels"][0], data["levels"][1] = data["levels"][1], data["levels"][0]
    with pytest.raises(ValidationError, match="in this order"):
        ExperienceScale.model_validate(data)


def test_copy_with_a_wrong_rank_fails_validation() -> None:
    data = _shipped_data()
    data["levels"][4]["rank"] = 6
    with pytest.raises(ValidationError, match="rank 5"):
        ExperienceScale.model_validate(data)
