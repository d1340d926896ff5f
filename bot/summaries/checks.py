"""What a model's bullets must pass before paperboy uses them. Pure functions, no I/O.

``check_bullets(bullets, language, source, expected)`` returns a ``CheckResult``: the cleaned
bullets and the problems found (empty = accepted). The paper's text is untrusted, and so is what
a model makes of it, so the checks are strict and say exactly why an answer is refused:

- **count**: from ``max(1, expected - 2)`` to ``expected + 2`` bullets (a model asked for 5 that
  writes 6 is fine; 1 or 12 is not following the request);
- **length**: each bullet ``MIN_CHARS``..``MAX_CHARS`` characters after cleaning (``MAX_CHARS``
  is what a card shows of a bullet), no two bullets the same;
- **language**, by script (``language_problem``): ``ko`` needs Hangul, ``ja`` kana (with or
  without kanji), ``zh`` Han without kana or Hangul, ``ru``/``uk``/... Cyrillic, ``el`` Greek,
  ``ar``/``fa`` Arabic, ``he`` Hebrew, ``hi`` Devanagari, ``th`` Thai, in at least
  ``SCRIPT_SHARE`` of the letters of the whole answer and ``BULLET_SCRIPT_SHARE`` of every
  bullet, a Hangul syllable, kana or Han character counting as three Latin letters (English
  terms in parentheses are fine, an answer mostly in English is not); Latin-script
  languages (``en``, ``de``, ``fr``, ``es``, ...) need ``LATIN_SHARE`` Latin letters. Languages
  written in the same script are not told apart (German bullets pass as French); a language code
  we know no script for is not checked;
- **numbers** (``numbers_in``): every number in a bullet must occur in the source. Numbers are
  compared as values: ``97.3%`` matches ``97.3`` (the sign is not part of the number),
  ``1,000`` and ``1000`` are the same (a comma before exactly three digits groups thousands,
  otherwise it is a decimal comma: ``97,3`` is ``97.3``), ``2.50`` is ``2.5``; ``1K``/``7B``/
  ``2M`` in the *source* also count as ``1000``/``7000000000``/``2000000``, so a bullet may
  spell them out (the reverse is not needed: the bullet's ``7B`` is ``7``, found in ``7B``);
  number words in the source (``three``, ``ten``, ``hundred``) count as their digits. Anything
  else (``10억`` for "one billion", a rounded ``97%`` for ``97.3%``) is refused as a number the
  paper does not state;
- **links**: a URL (``http://``, ``https://``, ``www.``) only when the source has it;
- **untrusted text**: a ping (``@everyone``, ``@here``, ``<@id>``, ``<@&id>``, ``<#id>``) or a
  masked link (``[text](url)``) refuses the answer outright (it is what an injected abstract asks
  for). Other markdown is neutralised, not refused: each bullet is flattened to one line, a
  leading list marker, heading ``#`` or quote ``>`` is dropped, and code fences are removed;
  inline markdown that is left is made harmless by the card renderer (``bot.render``).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from bot.models import collapse_whitespace
from bot.summaries.text import ScriptCounts, script_counts

__all__ = [
    "BULLET_SCRIPT_SHARE",
    "LATIN_SHARE",
    "MAX_CHARS",
    "MIN_CHARS",
    "SCRIPT_SHARE",
    "CheckResult",
    "bullet_bounds",
    "check_bullets",
    "clean_bullet",
    "language_problem",
    "numbers_in",
]

MIN_CHARS = 8  # "대형 언어 모델을 제안" is short in characters; shorter than this says nothing
MAX_CHARS = 400  # bot.render.BULLET_LIMIT: a card shows this much of a bullet
SCRIPT_SHARE = 0.5  # of the letters of the whole answer, in the target script
BULLET_SCRIPT_SHARE = 0.2  # of the letters of each bullet
LATIN_SHARE = 0.9

_LATIN_WORDS = (
    "en de fr es it pt nl pl tr vi id ms sv da no nb nn fi cs sk sl hr ro hu et lv lt ca eu gl "
    "af sq is ga cy mt sw tl"
)
_LATIN_LANGUAGES = frozenset(_LATIN_WORDS.split())
_OTHER_SCRIPTS = {
    "ru": "CYRILLIC",
    "uk": "CYRILLIC",
    "bg": "CYRILLIC",
    "sr": "CYRILLIC",
    "be": "CYRILLIC",
    "kk": "CYRILLIC",
    "mk": "CYRILLIC",
    "el": "GREEK",
    "ar": "ARABIC",
    "fa": "ARABIC",
    "ur": "ARABIC",
    "he": "HEBREW",
    "hi": "DEVANAGARI",
    "mr": "DEVANAGARI",
    "ne": "DEVANAGARI",
    "th": "THAI",
    "bn": "BENGALI",
    "ta": "TAMIL",
    "ka": "GEORGIAN",
    "hy": "ARMENIAN",
}


@dataclass(frozen=True, slots=True)
class CheckResult:
    """The cleaned bullets and what is wrong with them; `ok` when nothing is."""

    bullets: list[str]
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def reason(self) -> str:
        """The problems as one short sentence for a log line and a fallback label."""
        return "; ".join(self.problems)


def bullet_bounds(expected: int) -> tuple[int, int]:
    """How many bullets are accepted when `expected` were asked for."""
    return max(1, expected - 2), expected + 2


# --- cleaning ------------------------------------------------------------------------------------

_FENCE_MARK = re.compile(r"```+|~~~+")
_LEADING_MARK = re.compile(r"^(?:(?:[-*•+]|\d{1,2}[.)]|#{1,6})\s+|>+\s*)+")


def clean_bullet(text: str) -> str:
    """One line, without a leading list marker, heading or quote mark, without code fences."""
    text = collapse_whitespace(_FENCE_MARK.sub(" ", unicodedata.normalize("NFC", text)))
    return _LEADING_MARK.sub("", text).strip()


# --- language ------------------------------------------------------------------------------------


_CJK_WEIGHT = 3  # a Hangul syllable, kana or Han character counts as this many Latin letters


def _weighted(counts: ScriptCounts) -> float:
    return counts.latin + counts.other + _CJK_WEIGHT * (counts.hangul + counts.kana + counts.han)


def _target(language: str, counts: ScriptCounts) -> float | None:
    """Weighted letters of `language`'s script in `counts`; None when we can't judge it."""
    base = language.strip().casefold().replace("_", "-").split("-")[0]
    if base == "ko":
        return _CJK_WEIGHT * counts.hangul
    if base == "ja":
        return _CJK_WEIGHT * (counts.kana + counts.han) if counts.kana else 0
    if base == "zh":
        return 0 if counts.kana or counts.hangul else _CJK_WEIGHT * counts.han
    if base in _LATIN_LANGUAGES:
        return counts.latin
    if base in _OTHER_SCRIPTS:
        return counts.of(_OTHER_SCRIPTS[base])
    return None


def _share(language: str, text: str) -> float | None:
    counts = script_counts(text)
    target = _target(language, counts)
    if target is None:
        return None
    total = _weighted(counts)
    return target / total if total else 1.0


def language_problem(bullets: list[str], language: str) -> str | None:
    """Why `bullets` are not in `language`'s script, or None when they are (or can't be told)."""
    share = _share(language, " ".join(bullets))
    if share is None:
        return None
    latin = language.strip().casefold().split("-")[0] in _LATIN_LANGUAGES
    if share < (LATIN_SHARE if latin else SCRIPT_SHARE):
        return f"not written in {language} ({share:.0%} of letters in its script)"
    if not latin:
        for index, bullet in enumerate(bullets, 1):
            if (_share(language, bullet) or 0) < BULLET_SCRIPT_SHARE:
                return f"bullet {index} is not written in {language}"
    return None


# --- numbers -------------------------------------------------------------------------------------

# A number: digits with optional thousands groups or a decimal part, and an optional K/M/B suffix.
_NUMBER = re.compile(
    r"(?<![0-9])(?P<digits>[0-9]+(?:[.,][0-9]+)*)(?:\s?(?P<suffix>[kKmMbB])(?![A-Za-z]))?"
)
_SUFFIXES = {"k": 10**3, "m": 10**6, "b": 10**9}
_WORDS = {
    "zero": 0,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "thirteen": 13,
    "fourteen": 14,
    "fifteen": 15,
    "sixteen": 16,
    "seventeen": 17,
    "eighteen": 18,
    "nineteen": 19,
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fifty": 50,
    "hundred": 100,
    "thousand": 1000,
    "million": 10**6,
    "billion": 10**9,
    "single": 1,
    "double": 2,
    "twice": 2,
    "triple": 3,
    "dozen": 12,
    "half": 0.5,
    "first": 1,
    "second": 2,
    "third": 3,
}
_WORD = re.compile(r"[A-Za-z]+")


def _value(digits: str) -> Decimal | None:
    """'1,000' -> 1000, '1,000.5' -> 1000.5, '97,3' -> 97.3, '2.50' -> 2.5; None for anything
    else ('1.2.3', a version), which is then compared as written."""
    if "," in digits and "." in digits:
        integer, _, decimals = digits.partition(".")
        if not all(len(group) == 3 for group in integer.split(",")[1:]):
            return None
        digits = integer.replace(",", "") + "." + decimals
    elif "," in digits:
        groups = digits.split(",")
        if all(len(group) == 3 for group in groups[1:]):
            digits = "".join(groups)  # thousands groups
        elif len(groups) == 2:
            digits = ".".join(groups)  # a decimal comma
        else:
            return None
    if digits.count(".") > 1:
        return None
    try:
        return Decimal(digits)
    except InvalidOperation:
        return None


def numbers_in(text: str, *, expand: bool = False) -> set[str]:
    """The numbers in `text`, each as a normalised string ('1,000' and '1000' -> '1000').

    With `expand` (for the source), '1K'/'7B'/'2M' also give their full value, and English number
    words give theirs. A version ('1.2.3') gives itself and each of its parts."""
    text = unicodedata.normalize("NFKC", text)
    found: set[str] = set()
    for match in _NUMBER.finditer(text):
        digits = match["digits"]
        value = _value(digits)
        if value is None or (expand and "," in digits):
            # A version ('1.2.3') as written and each of its parts; in the source, also the
            # parts of '1,2' (a list as much as a decimal comma).
            found.add(digits)
            found.update(_show(Decimal(part)) for part in re.split("[.,]", digits))
        if value is None:
            continue
        found.add(_show(value))
        if expand and match["suffix"]:
            found.add(_show(value * _SUFFIXES[match["suffix"].lower()]))
    if expand:
        for word in _WORD.findall(text):
            if (number := _WORDS.get(word.lower())) is not None:
                found.add(_show(Decimal(str(number))))
    return found


def _show(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


# --- links and pings -----------------------------------------------------------------------------

_URL = re.compile(r"(?:https?://|www\.)[^\s<>()\[\]{}\"']+", re.IGNORECASE)
_MENTION = re.compile(r"@(?:everyone|here)\b|<(?:@[!&]?|#)\d+>|</[^<>\n]+:\d+>", re.IGNORECASE)
_MASKED_LINK = re.compile(r"\]\s*\(")


def _urls(text: str) -> list[str]:
    return [m.group().rstrip(".,;:!?") for m in _URL.finditer(text)]


def _bare(url: str) -> str:
    return re.sub(r"^(?:https?://)?(?:www\.)?", "", url, flags=re.IGNORECASE).rstrip("/").lower()


# --- all of it -----------------------------------------------------------------------------------


def check_bullets(bullets: list[str], language: str, source: str, expected: int) -> CheckResult:
    """Clean `bullets` and check them against `source` (the text the model was given).

    Problems are listed in a fixed order, each once, so a log line reads the same every time.
    """
    cleaned = [b for b in (clean_bullet(raw) for raw in bullets) if b]
    problems: list[str] = []
    low, high = bullet_bounds(expected)
    if not low <= len(cleaned) <= high:
        count = len(cleaned)
        problems.append(f"{count} bullet{'' if count == 1 else 's'}, expected {low} to {high}")
    for index, bullet in enumerate(cleaned, 1):
        if len(bullet) < MIN_CHARS:
            problems.append(f"bullet {index} is too short ({len(bullet)} characters)")
        elif len(bullet) > MAX_CHARS:
            problems.append(f"bullet {index} is too long ({len(bullet)} characters)")
    if len({b.casefold() for b in cleaned}) < len(cleaned):
        problems.append("repeated bullets")
    if cleaned and (problem := language_problem(cleaned, language)):
        problems.append(problem)
    source_numbers = numbers_in(source, expand=True)
    source_urls = {_bare(url) for url in _urls(source)}
    for index, bullet in enumerate(cleaned, 1):
        invented = sorted(numbers_in(bullet) - source_numbers)
        if invented:
            problems.append(f"bullet {index} has numbers not in the paper: {', '.join(invented)}")
        unknown = [url for url in _urls(bullet) if _bare(url) not in source_urls]
        if unknown:
            problems.append(f"bullet {index} has a link not in the paper")
        if _MENTION.search(bullet):
            problems.append(f"bullet {index} has a mention")
        if _MASKED_LINK.search(bullet):
            problems.append(f"bullet {index} has a masked link")
    return CheckResult(cleaned, problems)
