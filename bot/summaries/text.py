"""Pure text helpers about prose and scripts, shared by rendering, the digest parser and the
summary checks. No I/O, no state."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from bot.models import collapse_whitespace

__all__ = [
    "ABSTRACT_CHARS",
    "ABSTRACT_SENTENCES",
    "ScriptCounts",
    "abstract_bullets",
    "detect_language",
    "script_counts",
    "sentences",
]

ABSTRACT_SENTENCES = 3
ABSTRACT_CHARS = 600  # stop adding abstract sentences past this many characters

# Words after which ". " does not end a sentence (compared lower-cased).
_ABBREVIATIONS = frozenset(
    ["e.g.", "i.e.", "al.", "etc.", "vs.", "cf.", "fig.", "figs.", "eq.", "eqs.", "sec."]
    + ["no.", "approx.", "resp.", "ref.", "refs.", "dr.", "prof."]
)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[^\sa-z])|(?<=[。！？])\s*(?=\S)")


def sentences(text: str) -> list[str]:
    """Split prose into sentences, not after common abbreviations ("e.g.", "et al.")."""
    text = collapse_whitespace(text)
    found, start = [], 0
    for match in _SENTENCE_END.finditer(text):
        before = text[start : match.start()].rsplit(" ", 1)[-1].lower()
        if before in _ABBREVIATIONS:
            continue
        found.append(text[start : match.start()])
        start = match.end()
    found.append(text[start:])
    return [s for s in found if s]


def abstract_bullets(
    abstract: str, count: int = ABSTRACT_SENTENCES, max_chars: int = ABSTRACT_CHARS
) -> list[str]:
    """The first sentences of an abstract ("From the abstract"): the first one always, then up to
    `count` in all while they stay within `max_chars` together; [] for an empty abstract."""
    found = sentences(abstract)
    if not found:
        return []
    picked = [found[0]]
    for sentence in found[1:count]:
        if sum(map(len, picked)) + len(sentence) > max_chars:
            break
        picked.append(sentence)
    return picked


@dataclass(frozen=True, slots=True)
class ScriptCounts:
    """How many letters of each script a text has (digits, punctuation and spaces don't count)."""

    hangul: int = 0
    kana: int = 0
    han: int = 0
    latin: int = 0
    other: int = 0  # letters of any other script (Cyrillic, Greek, Arabic, ...)
    scripts: tuple[tuple[str, int], ...] = ()  # the "other" letters per Unicode script name

    @property
    def letters(self) -> int:
        return self.hangul + self.kana + self.han + self.latin + self.other

    def of(self, script: str) -> int:
        """Letters of another script by its Unicode name prefix ("CYRILLIC", "GREEK", ...)."""
        return dict(self.scripts).get(script, 0)


def _is_hangul(code: int) -> bool:
    return (
        0xAC00 <= code <= 0xD7A3
        or 0x1100 <= code <= 0x11FF
        or 0x3130 <= code <= 0x318F
        or 0xA960 <= code <= 0xA97F
        or 0xD7B0 <= code <= 0xD7FF
    )


def _is_kana(code: int) -> bool:
    # U+30FB (katakana middle dot) also appears in Chinese and Korean text; FF66-FF9D: half-width.
    return (
        (0x3040 <= code <= 0x30FF and code != 0x30FB)
        or 0x31F0 <= code <= 0x31FF
        or 0xFF66 <= code <= 0xFF9D
    )


def _is_han(code: int) -> bool:
    return (
        0x4E00 <= code <= 0x9FFF
        or 0x3400 <= code <= 0x4DBF
        or 0xF900 <= code <= 0xFAFF
        or 0x20000 <= code <= 0x3FFFF
    )


def script_counts(text: str) -> ScriptCounts:
    """Count the letters of `text` per script: Hangul, kana, Han, Latin and the others."""
    hangul = kana = han = latin = 0
    others: dict[str, int] = {}
    for char in text:
        code = ord(char)
        if code < 0x80:
            latin += char.isalpha()
        elif _is_hangul(code):
            hangul += 1
        elif _is_kana(code):
            kana += 1
        elif _is_han(code):
            han += 1
        elif char.isalpha():
            script = unicodedata.name(char, "UNKNOWN").split(" ", 1)[0]
            if script == "LATIN":
                latin += 1
            else:
                others[script] = others.get(script, 0) + 1
    return ScriptCounts(
        hangul, kana, han, latin, sum(others.values()), tuple(sorted(others.items()))
    )


def detect_language(text: str) -> str:
    """Guess the language of `text` from its script: "ko", "ja", "zh", or "en" for anything else.

    Hangul means Korean (unless kana outnumber it), kana means Japanese, Han characters without
    kana mean Chinese. Latin, digits and punctuation don't count, so Korean bullets full of English
    terms are still Korean.
    """
    counts = script_counts(text)
    if counts.hangul and counts.hangul >= counts.kana:
        return "ko"
    if counts.kana:
        return "ja"
    if counts.han:
        return "zh"
    return "en"
