"""What a channel reads, in its language: message catalogues and ``text(language, key, ...)``.

The catalogues are TOML files in ``bot/locales/`` (``en.toml``, ``ko.toml``): tables of
``key = "text with {placeholders}"``, read once with ``tomllib``; a key is its table path,
``card.upvotes``. English is complete and is the fallback: a language without a catalogue, or a
key missing from one, reads English. A language is matched by its base, case-insensitively
(``ko``, ``ko-KR``, ``KO``, a ``discord.Locale``); None (a channel taking any language) reads
English.

Catalogue strings are trusted markdown; the values put into them are not, so callers pass
data (titles, names, model names) through ``bot.render``'s escaping helpers first.

Plurals: a key ending in ``_one`` / ``_other`` is picked by ``count`` (``plural``); languages
without plural forms (Korean) give both the same text.

``bot/locales/commands.ko.toml`` holds the Korean slash command descriptions, keyed by their
English text (``bot.translator``).
"""

from __future__ import annotations

import functools
import tomllib
from pathlib import Path
from typing import Any

from bot.summaries.prompt import LANGUAGE_NAMES

__all__ = [
    "DEFAULT",
    "LANGUAGES",
    "catalogue",
    "catalogue_language",
    "command_translations",
    "language_name",
    "plural",
    "text",
]

LOCALES = Path(__file__).with_name("locales")
DEFAULT = "en"
LANGUAGES = ("en", "ko")  # the catalogues shipped; each is LOCALES / f"{language}.toml"

# Language names as a Korean reader says them (English names: bot.summaries.prompt).
KOREAN_NAMES = {
    "en": "영어",
    "ko": "한국어",
    "ja": "일본어",
    "zh": "중국어(간체)",
    "zh-tw": "중국어(번체)",
    "de": "독일어",
    "fr": "프랑스어",
    "es": "스페인어",
    "it": "이탈리아어",
    "pt": "포르투갈어",
    "nl": "네덜란드어",
    "pl": "폴란드어",
    "tr": "튀르키예어",
    "vi": "베트남어",
    "id": "인도네시아어",
    "ru": "러시아어",
    "uk": "우크라이나어",
}
_NAMES = {"en": LANGUAGE_NAMES, "ko": KOREAN_NAMES}


def _flatten(table: dict[str, Any], prefix: str = "") -> dict[str, str]:
    flat: dict[str, str] = {}
    for key, value in table.items():
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[prefix + key] = str(value)
    return flat


@functools.cache
def catalogue(language: str) -> dict[str, str]:
    """The messages of a shipped catalogue (``LANGUAGES``), keyed ``table.key``."""
    with (LOCALES / f"{language}.toml").open("rb") as file:
        return _flatten(tomllib.load(file))


@functools.cache
def command_translations(language: str) -> dict[str, str]:
    """{English description: its translation} of the slash commands; {} without a file."""
    path = LOCALES / f"commands.{language}.toml"
    if not path.exists():
        return {}
    with path.open("rb") as file:
        return {str(k): str(v) for k, v in tomllib.load(file).items()}


def catalogue_language(language: object) -> str:
    """The shipped catalogue for `language` (a code, a Discord locale or None): its base if
    shipped, else English."""
    if language is None:
        return DEFAULT
    base = str(language).strip().casefold().replace("_", "-").split("-")[0]
    return base if base in LANGUAGES else DEFAULT


def text(language: object, key: str, /, **values: object) -> str:
    """The message `key` in `language` (English when that has none), `values` filled in.

    A key that no catalogue has is a bug: KeyError."""
    messages = catalogue(catalogue_language(language))
    template = messages.get(key)
    if template is None:
        template = catalogue(DEFAULT)[key]
    return template.format(**values) if values else template


def plural(language: object, key: str, count: int, /, **values: object) -> str:
    """``key_one`` when `count` is 1, else ``key_other``; `count` is a value too."""
    return text(language, f"{key}_{'one' if count == 1 else 'other'}", count=count, **values)


def language_name(code: str, language: object) -> str:
    """The name of language `code` ("ko", "zh-TW") in `language`'s catalogue; the code itself
    when neither catalogue knows it."""
    names = _NAMES[catalogue_language(language)]
    key = code.strip().casefold().replace("_", "-")
    return names.get(key) or names.get(key.split("-")[0]) or code
