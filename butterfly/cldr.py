"""Numbers, percentages, plural categories, units and lists in the shipped languages (en, zh-CN, zh-TW) from a
snapshot of the CLDR data Babel ships (``data/cldr.json``), so the default install needs no Babel (36 MB).

The snapshot is generated from Babel and checked against it by ``tests/test_cldr_snapshot.py`` (regenerate it with
``UPDATE_CLDR=1 pytest tests/test_cldr_snapshot.py``); the formatting here follows Babel's own steps (the number as
``Decimal(str(value))``, rounded half-even to the pattern's fraction digits), so the output is byte-identical to
``babel.numbers.format_decimal``/``format_percent``, ``Locale.plural_form``, ``babel.units.format_unit`` and
``babel.lists.format_list`` for these locales. It supports the plain patterns these locales use (no exponent,
significant digits or currency).
"""

from __future__ import annotations

import decimal
import json
import re
from collections.abc import Callable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

# butterfly's languages and the CLDR locales they are (anything else is English)
LOCALES = {"zh-CN": "zh_Hans_CN", "zh-TW": "zh_Hant_TW", "en": "en"}

_SNAPSHOT = Path(__file__).resolve().parent / "data" / "cldr.json"


@lru_cache(maxsize=1)
def snapshot() -> dict[str, Any]:
    """The shipped CLDR snapshot (read on first use)."""
    data: dict[str, Any] = json.loads(_SNAPSHOT.read_text(encoding="utf-8"))
    return data


def _data(lang: str) -> dict[str, Any]:
    locales: dict[str, dict[str, Any]] = snapshot()["locales"]
    return locales[lang if lang in locales else "en"]


# --- numbers -------------------------------------------------------------------------------------------------------


def _group(digits: str, grouping: Sequence[int], symbol: str) -> str:
    size, out = grouping[0], ""
    while len(digits) > size:
        out = symbol + digits[-size:] + out
        digits = digits[:-size]
        size = grouping[1]
    return digits + out


def _apply(value: float | decimal.Decimal | str, pattern: dict[str, Any], symbols: dict[str, str]) -> str:
    """Babel's ``NumberPattern.apply`` for a plain pattern (quantized, grouped)."""
    number = value if isinstance(value, decimal.Decimal) else decimal.Decimal(str(value))
    number = number.scaleb(pattern["scale"])
    negative = int(number.is_signed())
    number = abs(number).normalize()
    min_frac, max_frac = pattern["frac_prec"]
    if number.is_infinite():
        text = symbols["infinity"]
    else:
        integer, _, fraction = f"{number.quantize(decimal.Decimal(10) ** -max_frac):f}".partition(".")
        integer = integer.rjust(pattern["int_prec"][0], "0")
        fraction = (fraction or "0").ljust(min_frac, "0")
        if max_frac == 0 or (min_frac == 0 and int(fraction) == 0):
            fraction = ""
        else:
            while len(fraction) > min_frac and fraction.endswith("0"):
                fraction = fraction[:-1]
            fraction = symbols["decimal"] + fraction
        text = _group(integer, pattern["grouping"], symbols["group"]) + fraction
    prefix: str = pattern["prefix"][negative]
    suffix: str = pattern["suffix"][negative]
    return prefix + text + suffix


def format_decimal(value: float | decimal.Decimal | str, lang: str) -> str:
    """``12,345.679`` the way ``babel.numbers.format_decimal(value, locale=...)`` writes it."""
    data = _data(lang)
    return _apply(value, data["decimal"], data["symbols"])


def format_percent(value: float | decimal.Decimal | str, lang: str) -> str:
    """``13%`` the way ``babel.numbers.format_percent(value, locale=...)`` writes it."""
    data = _data(lang)
    return _apply(value, data["percent"], data["symbols"])


# --- plural rules (UTS #35 syntax, as Babel writes a locale's rules) -----------------------------------------------

_Operands = dict[str, decimal.Decimal | int]
_Test = Callable[[_Operands], bool]
_TOKEN = re.compile(r"\s*(\d+|\.\.|!=|=|%|,|[a-z]+)")


def _operands(value: float | decimal.Decimal) -> _Operands:
    """n, i, v, w, f, t as Babel's ``extract_operands`` takes them (a float through its ``str``)."""
    n: Any = abs(value)
    i = int(n)
    if isinstance(n, float):
        n = i if i == n else decimal.Decimal(str(n))
    v = w = f = t = 0
    if isinstance(n, decimal.Decimal):
        sign_digits_exp = n.as_tuple()
        exp = sign_digits_exp.exponent
        fraction = "".join(map(str, sign_digits_exp.digits[exp:])) if isinstance(exp, int) and exp < 0 else ""
        v, w = len(fraction), len(fraction.rstrip("0"))
        f, t = int(fraction or 0), int(fraction.rstrip("0") or 0)
    return {"n": n, "i": i, "v": v, "w": w, "f": f, "t": t, "c": 0, "e": 0}


def _parse_rule(text: str) -> _Test:
    """A rule such as ``i in 1 and v in 0`` or ``n mod 10 in 2..4 and n mod 100 not in 12..14`` as a test."""
    tokens: list[str] = _TOKEN.findall(text)
    if "".join(tokens) != re.sub(r"\s+", "", text):
        raise ValueError(f"unsupported plural rule {text!r}")
    pos = 0

    def take(*expected: str) -> str | None:
        nonlocal pos
        if pos < len(tokens) and (not expected or tokens[pos] in expected):
            pos += 1
            return tokens[pos - 1]
        return None

    def relation() -> _Test:
        operand = take()
        if operand not in {"n", "i", "v", "w", "f", "t", "c", "e"}:
            raise ValueError(f"unsupported plural rule {text!r}")
        modulo = int(take() or "") if take("%", "mod") else None
        negated = False
        if take("is"):
            negated, method = take("not") is not None, "in"
        elif take("="):
            method = "in"
        elif take("!="):
            negated, method = True, "in"
        else:
            negated = take("not") is not None
            method = take("in", "within") or ""
            if not method:
                raise ValueError(f"unsupported plural rule {text!r}")
        ranges: list[tuple[int, int]] = []
        while True:
            low = int(take() or "")
            ranges.append((low, int(take() or "") if take("..") else low))
            if not take(","):
                break

        def test(ops: _Operands) -> bool:
            value: Any = ops[operand]
            if modulo is not None:
                value = value % modulo  # operands are never negative: CLDR's modulo is Python's here
            inside = any(low <= value <= high for low, high in ranges)
            if method == "in":
                inside = inside and value == int(value)
            return inside != negated

        return test

    def conjunction() -> _Test:
        tests = [relation()]
        while take("and"):
            tests.append(relation())
        return lambda ops: all(t(ops) for t in tests)

    alternatives = [conjunction()]
    while take("or"):
        alternatives.append(conjunction())
    if pos != len(tokens):
        raise ValueError(f"unsupported plural rule {text!r}")
    return lambda ops: any(t(ops) for t in alternatives)


@lru_cache(maxsize=8)
def _plural_rules(lang: str) -> tuple[tuple[str, _Test], ...]:
    return tuple((category, _parse_rule(rule)) for category, rule in _data(lang)["plural"].items())


def plural_form(value: float | decimal.Decimal, lang: str) -> str:
    """The CLDR plural category (``one``, ``other`` …) of ``value``, as ``babel.Locale.plural_form`` gives it."""
    ops = _operands(value)
    return next((category for category, test in _plural_rules(lang) if test(ops)), "other")


# --- units and lists -----------------------------------------------------------------------------------------------


def format_unit(value: float | decimal.Decimal, unit: str, lang: str) -> str:
    """``3小时`` the way ``babel.units.format_unit(value, unit, length="narrow", locale=...)`` writes it."""
    patterns: dict[str, str] = _data(lang)["units"][unit]
    pattern = patterns.get(plural_form(value, lang)) or patterns["other"]
    return pattern.format(format_decimal(value, lang))


def format_list(parts: Sequence[str], style: str, lang: str) -> str:
    """``2 天, 3 小時`` the way ``babel.lists.format_list(parts, style=..., locale=...)`` joins them."""
    if not parts:
        return ""
    if len(parts) == 1:
        return parts[0]
    patterns: dict[str, str] = _data(lang)["lists"][style]
    if len(parts) == 2:
        return patterns["2"].format(*parts)
    result = patterns["start"].format(parts[0], parts[1])
    for part in parts[2:-1]:
        result = patterns["middle"].format(result, part)
    return patterns["end"].format(result, parts[-1])
