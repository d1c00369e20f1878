"""Which text encoding a file is in — UTF-8 (with or without BOM), GB18030/GBK or Big5 — without guessing wrong.

A guess is only taken when the bytes decode cleanly in exactly one plausible encoding, or when the decoded
text is clearly Chinese in one and clearly not in the other. Otherwise the user is asked for ``--encoding``.
Bytes that turn out to be invalid later in the file stop the import with the file and line (never replacement
characters).
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from charset_normalizer import from_bytes

from butterfly.errors import InvalidInputError

SAMPLE_BYTES = 4 * 1024 * 1024

# what users type -> the Python codec used (supersets that decode the same bytes identically)
ALIASES = {
    "utf8": "utf-8",
    "utf-8": "utf-8",
    "utf-8-sig": "utf-8-sig",
    "utf8-sig": "utf-8-sig",
    "gbk": "gb18030",
    "gb2312": "gb18030",
    "cp936": "gb18030",
    "gb18030": "gb18030",
    "big5": "cp950",
    "cp950": "cp950",
    "big5hkscs": "big5hkscs",
}
DISPLAY = {"utf-8": "UTF-8", "utf-8-sig": "UTF-8 (BOM)", "gb18030": "GB18030/GBK", "cp950": "Big5"}


@dataclass(frozen=True)
class Encoding:
    codec: str  # Python codec name
    guessed: bool  # detected rather than given with --encoding

    @property
    def label(self) -> str:
        return DISPLAY.get(self.codec, self.codec)


def resolve(name: str) -> str:
    """The codec for an ``--encoding`` value; InvalidInputError if Python does not know it."""
    key = name.strip().lower().replace("_", "-")
    codec = ALIASES.get(key, key)
    try:
        codecs.lookup(codec)
    except LookupError:
        raise InvalidInputError(f"unknown encoding '{name}'", hint="use utf-8, gbk, gb18030 or big5") from None
    return codec


@lru_cache(maxsize=1)
def _common_chars() -> tuple[frozenset[str], frozenset[str], frozenset[str]]:
    """(GB2312 level-1 hanzi, GB2312 level-2 hanzi, Big5 frequently used hanzi)."""

    def block(codec: str, leads: range, trails: list[int]) -> frozenset[str]:
        chars = set()
        for lead in leads:
            for trail in trails:
                try:
                    chars.add(bytes((lead, trail)).decode(codec))
                except UnicodeDecodeError:
                    pass
        return frozenset(chars)

    gb_trails = list(range(0xA1, 0xFF))
    level1 = block("gb2312", range(0xB0, 0xD8), gb_trails)
    level2 = block("gb2312", range(0xD8, 0xF8), gb_trails)
    big5_trails = list(range(0x40, 0x7F)) + list(range(0xA1, 0xFF))
    big5 = block("big5", range(0xA4, 0xC7), big5_trails)
    return level1, level2, big5


def _score(text: str, codec: str) -> float:
    """How much ``text`` looks like real Chinese when decoded with ``codec`` (0..1 over non-ASCII letters)."""
    level1, level2, big5 = _common_chars()
    total = good = 0.0
    for ch in text:
        if ch < "\x80" or not ch.isalpha():
            continue  # ASCII, punctuation and symbols say little
        total += 1
        if codec == "gb18030":
            good += 1.0 if ch in level1 else 0.5 if ch in level2 else 0.0
        else:
            good += 1.0 if ch in big5 else 0.3 if "\u4e00" <= ch <= "\u9fff" else 0.0
    return good / total if total else 0.0


def _decodes(data: bytes, codec: str, final: bool) -> str | None:
    try:
        return codecs.getincrementaldecoder(codec)("strict").decode(data, final=final)
    except UnicodeDecodeError:
        return None


def detect(path: Path, given: str | None = None) -> Encoding:
    """The encoding of ``path``: ``given`` (``--encoding``) or detected from its first few megabytes."""
    with path.open("rb") as handle:
        head = handle.read(SAMPLE_BYTES)
        final = len(head) < SAMPLE_BYTES
    has_bom = head.startswith(codecs.BOM_UTF8)
    if given:
        codec = resolve(given)
        if codec == "utf-8" and has_bom:
            codec = "utf-8-sig"
        return Encoding(codec, guessed=False)
    if has_bom:
        return Encoding("utf-8-sig", guessed=True)
    if not final:  # do not judge by a multi-byte character cut in half
        cut = head.rfind(b"\n")
        head = head[: cut + 1] if cut > 0 else head
    if _decodes(head, "utf-8", final=True) is not None:
        return Encoding("utf-8", guessed=True)
    scores = {codec: _score(text, codec) for codec in ("gb18030", "cp950") if (text := _decodes(head, codec, True))}
    best = max(scores, key=lambda c: scores[c], default=None)
    if best is not None:
        other = max((s for c, s in scores.items() if c != best), default=0.0)
        if scores[best] >= 0.8 and scores[best] - other >= 0.2:
            return Encoding(best, guessed=True)
        tie_break = _less_chaotic(head[:1_000_000], [c for c, s in scores.items() if s >= 0.8])
        if tie_break is not None:
            return Encoding(tie_break, guessed=True)
    found = ", ".join(f"{DISPLAY[c]} {s:.0%} plausible" for c, s in sorted(scores.items())) or "none fits"
    raise InvalidInputError(
        f"{path}: cannot tell its text encoding: not UTF-8; as Chinese: {found}",
        hint="name it with --encoding (utf-8, gbk, gb18030, big5, or e.g. cp1252)",
    )


def _less_chaotic(data: bytes, candidates: list[str]) -> str | None:
    """charset-normalizer's verdict among ``candidates`` when it is clear (much less "chaos" than the rest)."""
    if not candidates:
        return None

    names = {"gb18030": "gb18030", "cp950": "big5"}
    chaos = {m.encoding: m.chaos for m in from_bytes(data, cp_isolation=[names[c] for c in candidates])}
    ranked = sorted((chaos.get(names[c], 1.0), c) for c in candidates)
    if ranked and ranked[0][0] < 0.1 and (len(ranked) == 1 or ranked[1][0] - ranked[0][0] >= 0.1):
        return ranked[0][1]
    return None


def locate_decode_error(path: Path, codec: str) -> tuple[int, str]:
    """(line number, detail) of the first bytes in ``path`` that are not valid ``codec``."""
    decoder = codecs.getincrementaldecoder(codec)("strict")
    with path.open("rb") as handle:
        for number, line in enumerate(handle, start=1):
            try:
                decoder.decode(line)
            except UnicodeDecodeError as exc:
                bad = line[exc.start : exc.end + 2].hex(" ")
                return number, f"byte {exc.start + 1} of the line ({bad}) is not valid {DISPLAY.get(codec, codec)}"
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return number, f"the file ends in the middle of a {DISPLAY.get(codec, codec)} character"
    return 0, f"not valid {DISPLAY.get(codec, codec)}"
