"""The CLDR snapshot (butterfly/data/cldr.json) is Babel's data for the three shipped languages, and butterfly.cldr
formats from it exactly as Babel does.

Babel is a dev dependency only: this module regenerates the snapshot from it (``UPDATE_CLDR=1 pytest
tests/test_cldr_snapshot.py`` rewrites the file, as the golden files are rewritten) and compares our numbers,
percentages, plural categories, units, lists and durations with Babel's own functions over many values.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from babel import Locale
from babel.core import get_cldr_version
from babel.lists import _resolve_list_style, format_list
from babel.numbers import (
    format_decimal,
    format_percent,
    get_decimal_symbol,
    get_group_symbol,
    get_infinity_symbol,
    parse_pattern,
)
from babel.units import format_unit

from butterfly import cldr
from butterfly.templating import words
from butterfly.timeutil import UNIT_LIST, duration_units, format_duration

SNAPSHOT = Path(cldr.__file__).resolve().parent / "data" / "cldr.json"
LANGS = ("en", "zh-CN", "zh-TW")
UNITS = ("duration-day", "duration-hour", "duration-minute")
LIST_STYLES = ("unit-narrow", "unit-short")  # what butterfly.timeutil joins durations with
PLURAL_TAGS = ("zero", "one", "two", "few", "many", "other")


def _pattern(pattern: Any) -> dict[str, Any]:
    parsed = parse_pattern(pattern)
    # butterfly.cldr renders plain patterns only: no exponent, significant digits, currency or quoted text
    assert parsed.exp_prec is None and "@" not in parsed.pattern and parsed.number_pattern, parsed.pattern
    assert not any(c in text for text in (*parsed.prefix, *parsed.suffix) for c in "'¤"), parsed.pattern
    return {
        "pattern": parsed.pattern,
        "prefix": list(parsed.prefix),
        "suffix": list(parsed.suffix),
        "grouping": list(parsed.grouping),
        "int_prec": list(parsed.int_prec),
        "frac_prec": list(parsed.frac_prec),
        "scale": parsed.scale,
    }


def build_snapshot() -> dict[str, Any]:
    """The snapshot, from the Babel installed (unit and list data read where format_unit/format_list read it)."""
    locales: dict[str, Any] = {}
    for lang in LANGS:
        loc = Locale.parse(cldr.LOCALES[lang])
        units = {}
        for unit in UNITS:
            narrow = loc._data["unit_patterns"][unit]["narrow"]
            units[unit] = {tag: narrow[tag] for tag in PLURAL_TAGS if tag in narrow}
        lists = {}
        for style in LIST_STYLES:
            patterns = _resolve_list_style(loc, style)
            lists[style] = {key: patterns[key] for key in ("2", "start", "middle", "end")}
        locales[lang] = {
            "cldr_locale": cldr.LOCALES[lang],
            "symbols": {
                "decimal": get_decimal_symbol(loc, numbering_system="latn"),
                "group": get_group_symbol(loc, numbering_system="latn"),
                "infinity": get_infinity_symbol(loc, numbering_system="latn"),
            },
            "decimal": _pattern(loc.decimal_formats[None]),
            "percent": _pattern(loc.percent_formats[None]),
            "plural": dict(loc.plural_form.rules),
            "units": units,
            "lists": lists,
        }
    return {
        "about": "CLDR data for butterfly's languages, generated from Babel by tests/test_cldr_snapshot.py "
        "(UPDATE_CLDR=1 pytest tests/test_cldr_snapshot.py); do not edit by hand",
        "cldr_version": get_cldr_version(),
        "locales": locales,
    }


def _dump(snapshot: dict[str, Any]) -> str:
    return json.dumps(snapshot, ensure_ascii=False, indent=2) + "\n"


def test_the_shipped_snapshot_is_what_babel_has() -> None:
    expected = _dump(build_snapshot())
    if os.environ.get("UPDATE_CLDR") == "1":
        SNAPSHOT.write_text(expected, encoding="utf-8")
    assert SNAPSHOT.read_text(encoding="utf-8") == expected, "run: UPDATE_CLDR=1 pytest tests/test_cldr_snapshot.py"


# --- the values compared ---------------------------------------------------------------------------------------

_rng = random.Random(20261129)
INTEGERS = sorted(
    {*range(0, 1101), 1000, 1234567, 9999, 10000, 99999, 100000, 999999, 1000000, 10**9, 10**9 - 1}
    | {10**k + d for k in range(10) for d in (-1, 0, 1)}
    | {_rng.randrange(0, 10**9 + 1) for _ in range(500)}
)
FLOATS = [
    0.0005,
    0.0015,
    0.0025,
    0.0035,
    0.00049,
    0.00051,
    2.5,
    1.2345,
    1.2355,
    1.0005,
    1.5,
    0.5,
    0.1,
    0.125,
    1.0,
    0.0,
    -0.0,
    1e-7,
    123456.7895,
    1234567.891234,
    999.9995,
    999999.9999,
    1e15,
    1e21,
    2.675,
    *(_rng.uniform(0, 10 ** _rng.randrange(0, 10)) for _ in range(600)),
    *(round(_rng.uniform(0, 100), _rng.randrange(0, 6)) for _ in range(300)),
    *(k / 2000 for k in range(0, 4001)),  # every half-even tie of the third decimal up to 2
]
NUMBERS: list[Any] = [
    *INTEGERS,
    *(-n for n in INTEGERS[1:200:7]),
    *FLOATS,
    *(-x for x in FLOATS[::3]),
    Decimal("1.0005"),
    Decimal("-2.0015"),
    Decimal("12345.6785"),
    "1234.5675",
    float("inf"),
    float("-inf"),
    float("nan"),
]
SHARES: list[Any] = [
    *(k / 1000 for k in range(0, 1001)),
    *(k / 200 for k in range(0, 201)),  # 0.005, 0.015 …: half-even ties of the whole percent
    0.125,
    0.005,
    0.0049999,
    0.0050001,
    0.999,
    0.9995,
    1.0,
    1.5,
    12.345,
    -0.005,
    -0.125,
    -0.0,
    *(_rng.random() for _ in range(500)),
]
SECONDS = sorted(
    {0, 59, 60, 61, 119, 3599, 3600, 3660, 7199, 86399, 86400, 90000, 86400 * 2 + 3600 * 7}
    | {_rng.randrange(0, 10**k) for k in range(2, 10) for _ in range(60)}
    | {86400 * d + 3600 * h for d in (1, 2, 10, 999, 1000, 1001, 12345) for h in (0, 1, 23)}
)


@pytest.mark.parametrize("lang", LANGS)
def test_numbers_are_babels(lang: str) -> None:
    loc = Locale.parse(cldr.LOCALES[lang])
    mismatches = [(v, cldr.format_decimal(v, lang), format_decimal(v, locale=loc)) for v in NUMBERS]
    assert [m for m in mismatches if m[1] != m[2]] == []
    assert [words.number(v, lang) for v in INTEGERS] == [format_decimal(v, locale=loc) for v in INTEGERS]


@pytest.mark.parametrize("lang", LANGS)
def test_percentages_are_babels(lang: str) -> None:
    loc = Locale.parse(cldr.LOCALES[lang])
    mismatches = [(v, words.percent(v, lang), format_percent(v, locale=loc)) for v in SHARES]
    assert [m for m in mismatches if m[1] != m[2]] == []


@pytest.mark.parametrize("lang", LANGS)
def test_plural_categories_are_babels(lang: str) -> None:
    loc = Locale.parse(cldr.LOCALES[lang])
    values = [*INTEGERS, *FLOATS, *(-n for n in INTEGERS[:50]), Decimal("1.0"), Decimal("1"), Decimal("2.50")]
    mismatches = [(v, words.plural_category(v, lang), loc.plural_form(v)) for v in values]
    assert [m for m in mismatches if m[1] != m[2]] == []


def test_the_plural_rule_reader_agrees_with_babel_beyond_the_shipped_languages() -> None:
    """The rules of languages with richer plurals (mod, ranges, lists, not, within-free CLDR) read the same."""
    values = [*range(0, 250), 1.0, 1.5, 2.0, 0.1, 1.25, 11.0, 101, 1000000, Decimal("2.10"), Decimal("5.0")]
    for code in ("fr", "ru", "pl", "ar", "cy", "lt", "sl", "ga", "gd", "mt", "br", "lv", "he", "pt", "is"):
        rules = Locale.parse(code).plural_form
        tests = [(tag, cldr._parse_rule(rule)) for tag, rule in rules.rules.items()]
        for v in values:
            ours = next((tag for tag, test in tests if test(cldr._operands(v))), "other")
            assert ours == rules(v), (code, v, rules.rules)


@pytest.mark.parametrize("lang", LANGS)
def test_units_and_lists_are_babels(lang: str) -> None:
    loc = Locale.parse(cldr.LOCALES[lang])
    for unit in UNITS:
        for v in [*SECONDS[:300], 1, 2, 0, 1.5, 1000, 12345]:
            assert cldr.format_unit(v, unit, lang) == format_unit(v, unit, length="narrow", locale=loc), (unit, v)
    for style in LIST_STYLES:
        for n in range(0, 5):
            parts = [f"{k} 天" for k in range(n)]
            assert cldr.format_list(parts, style, lang) == format_list(parts, style=style, locale=loc)


def _babel_duration(delta: timedelta, lang: str) -> str:
    """butterfly.timeutil._cldr_duration as it was written with Babel (the same units, Babel's formatting)."""
    sign, units = duration_units(delta)
    loc = Locale.parse(cldr.LOCALES[lang])
    parts = [format_unit(v, u, length="narrow", locale=loc) for v, u in units]
    return sign + format_list(parts, style=UNIT_LIST.get(lang, "unit-narrow"), locale=loc)


@pytest.mark.parametrize("lang", ("zh-CN", "zh-TW"))
def test_durations_are_babels(lang: str) -> None:
    deltas = [timedelta(seconds=s) for s in SECONDS] + [timedelta(seconds=-s) for s in SECONDS[::5]]
    mismatches = [(d, format_duration(d, lang), _babel_duration(d, lang)) for d in deltas]
    assert [m for m in mismatches if m[1] != m[2]] == []
    assert [words.duration(d.total_seconds(), lang) for d in deltas[:50]] == [m[2] for m in mismatches[:50]]


def test_the_report_words_work_without_babel() -> None:
    """The default install has no Babel: numbers, percentages, plurals and durations come from the snapshot."""
    code = (
        "import sys\n"
        "sys.modules['babel'] = None\n"
        "from butterfly.templating import words\n"
        "for lang in ('en', 'zh-CN', 'zh-TW'):\n"
        "    print(words.number(1234567.0005, lang), words.percent(0.125, lang), words.plural_category(1, lang),\n"
        "          words.duration(2 * 86400 + 7 * 3600, lang), words.duration(3 * 3600, lang))\n"
        "print('babel' in [m.split('.')[0] for m in sys.modules if sys.modules[m] is not None])\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "1,234,567 12% one 2d 7h 3h 00m",
        "1,234,567 12% other 2天7小时 3小时0分钟",
        "1,234,567 12% other 2 天 7 小時 3 小時 0 分鐘",
        "False",
    ]
