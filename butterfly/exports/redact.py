"""Masking personal data in exported text: e-mail addresses, phone numbers (international ``+…``/``00…`` forms,
Chinese mobile numbers, common national forms, any other long digit run but dates) and the customer's and
organisation's names."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

EMAIL_MASK = "[email]"
PHONE_MASK = "[phone]"
NAME_MASK = "[customer]"

EMAIL_RE = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
# what is left of an address glued to another ("a@b.coma@c.com"): mask from the @ to the end of the domain
LEFTOVER_AT_RE = re.compile(r"[^\s@\[\]]*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+|(?<=\])@|@(?=\[)")
# +CC / 00CC international numbers: digits with spaces, dots, dashes or brackets between them
INTL_PHONE_RE = re.compile(r"(?:\+|(?<!\d)00)\s?\d(?:[\s.\-()]{0,2}\d){6,}")
# Chinese mobile numbers: 1[3-9]x xxxx xxxx, optionally +86 / 86 / 0086 in front, spaces or dashes allowed
CN_MOBILE_RE = re.compile(r"(?<!\d)(?:(?:\+|00)?86[\s\-]?)?1[3-9]\d(?:[\s\-]?\d{4}){2}(?!\d)")
# national forms: (415) 555-2671, 415-555-2671, 415.555.2671, 010-12345678, 0755 1234 5678
NATIONAL_PHONE_RE = re.compile(
    r"(?<!\d)(?:\(\d{2,4}\)\s?\d{3,4}[\s.\-]?\d{4}"
    r"|\d{3}[.\-\s]\d{3}[.\-\s]\d{4}"
    r"|0\d{2,3}[\s\-]\d{7,8}"
    r"|0\d{2,3}\s\d{4}\s\d{4})(?!\d)"
)
# the sweep: any other 7 or more digits in a row, allowing separators (numbers glued together, unusual forms;
# also masks long order numbers in text) -- except dates such as 2026-11-20 or 2026.11.20 14
SWEEP_RE = re.compile(r"\+?\d(?:[ .\-()]{0,2}\d){6,}")
DATE_LIKE_RE = re.compile(r"\d{4}[-./]\d{1,2}[-./]\d{1,2}(?:[ T]\d{1,2})?")


def _sweep(match: re.Match[str]) -> str:
    return match.group(0) if DATE_LIKE_RE.fullmatch(match.group(0)) else PHONE_MASK


def redact_text(text: str, names: Sequence[str] = ()) -> str:
    """``text`` with e-mail addresses, phone numbers and the given names masked."""
    # addresses first (a numeric QQ address is one address, not a phone number and a domain)
    text = EMAIL_RE.sub(EMAIL_MASK, text)
    text = LEFTOVER_AT_RE.sub(EMAIL_MASK, text)
    text = CN_MOBILE_RE.sub(PHONE_MASK, text)
    text = INTL_PHONE_RE.sub(PHONE_MASK, text)
    text = NATIONAL_PHONE_RE.sub(PHONE_MASK, text)
    text = SWEEP_RE.sub(_sweep, text)
    for name in sorted({n.strip() for n in names if n and len(n.strip()) >= 2}, key=len, reverse=True):
        pattern = re.escape(name)
        if name.isascii():  # whole words only ("Li" must not eat "policy"); CJK text has no word breaks
            pattern = rf"(?<![A-Za-z0-9]){pattern}(?![A-Za-z0-9])"
        text = re.sub(pattern, NAME_MASK, text, flags=re.IGNORECASE)
    return text


def redact_value(value: Any, names: Sequence[str]) -> Any:
    if isinstance(value, str):
        return redact_text(value, names)
    if isinstance(value, list):
        return [redact_value(v, names) for v in value]
    if isinstance(value, dict):
        return {k: redact_value(v, names) for k, v in value.items()}
    return value
