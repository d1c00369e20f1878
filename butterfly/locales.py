"""The languages butterfly ships in, as Babel (CLDR) locales: zh-CN → zh_Hans_CN, zh-TW → zh_Hant_TW, en."""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from babel import Locale

CLDR = {"zh-CN": "zh_Hans_CN", "zh-TW": "zh_Hant_TW", "en": "en"}


@lru_cache(maxsize=8)
def locale(lang: str) -> Locale:
    """The Babel locale of ``lang`` (English for anything else); Babel is imported on first use."""
    from babel import Locale

    return Locale.parse(CLDR.get(lang, "en"))
