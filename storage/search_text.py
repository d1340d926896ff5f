"""Fold text for the full-text index and turn user input into safe FTS5 queries.

User text never reaches FTS5 syntax: it is folded, split into plain word tokens, and every token
is emitted as a double-quoted string, so quotes, `*`, `-`, NEAR, AND or parentheses are only
ever words to look for.
"""

from __future__ import annotations

import re
import unicodedata

# Letters that NFKD does not decompose but that people type without the accent.
_EXTRA_FOLDS = str.maketrans(
    {"ø": "o", "đ": "d", "ð": "d", "ł": "l", "ħ": "h", "ı": "i", "æ": "ae", "œ": "oe", "þ": "th"}
)
# Scripts written without spaces: every character is its own token (searched as a phrase).
_SPLIT_CHARS = re.compile(
    r"([\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002fa1f])"
)
_HANGUL = re.compile(r"[\u1100-\u11ff\u3130-\u318f\uac00-\ud7af]")
# A token is a run of letters/digits (what FTS5's unicode61 tokenizer keeps).
_TOKEN = re.compile(r"[^\W_]+")

PREFIX_INDEXED = 8  # prefix lengths 1..8 have an index of their own (migrations/0001_init.sql)
MAX_QUERY_TOKENS = 16  # a 1,000-character query is searched by its first words, not rejected


def fold(text: str) -> str:
    """Lower-case, strip accents and space out CJK characters, as stored in the index."""
    if text.isascii():
        return text.lower()
    text = unicodedata.normalize("NFC", text).casefold().translate(_EXTRA_FOLDS)
    if not _HANGUL.search(text):
        text = _strip_marks(text)
    else:  # NFKD would break Hangul syllables into jamo: strip marks outside Hangul only
        text = "".join(ch if _HANGUL.match(ch) else _strip_marks(ch) for ch in text)
    return _SPLIT_CHARS.sub(r" \1 ", text)


def _strip_marks(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def tokens(text: str) -> list[str]:
    """The folded word tokens of user input, at most MAX_QUERY_TOKENS of them."""
    return _TOKEN.findall(fold(text))[:MAX_QUERY_TOKENS]


def _quote(token: str) -> str:
    return '"' + token.replace('"', '""') + '"'


def match_expression(text: str, *, prefix_last: bool = True) -> str | None:
    """An FTS5 MATCH expression requiring every token; None when the input has no words.

    The last token is a prefix (the word being typed: "autoreg" finds "autoregressive").
    Runs of CJK characters, indexed one character per token, are matched as a phrase.
    """
    words = tokens(text)
    if not words:
        return None
    groups = _groups(words)
    parts = [" + ".join(_quote(word) for word in group) for group in groups]
    if prefix_last and not _SPLIT_CHARS.fullmatch(groups[-1][-1]):
        parts[-1] += "*"
    return " AND ".join(parts)


def _groups(words: list[str]) -> list[list[str]]:
    """Consecutive CJK characters share a group (one phrase); other words are groups of one."""
    groups: list[list[str]] = []
    for word in words:
        if _SPLIT_CHARS.fullmatch(word) and groups and _SPLIT_CHARS.fullmatch(groups[-1][-1]):
            groups[-1].append(word)
        else:
            groups.append([word])
    return groups


def tsquery_expression(text: str, *, prefix_last: bool = True) -> str | None:
    """The PostgreSQL tsquery (cast with ``::tsquery``, so lexemes are taken as they are)
    requiring every token, like `match_expression`; None when the input has no words.

    Tokens hold only letters and digits, so quoting them in '...' is enough to keep user text
    out of tsquery syntax. CJK runs are phrases (``<->``).
    """
    words = tokens(text)
    if not words:
        return None
    groups = _groups(words)
    parts = [" <-> ".join(f"'{word}'" for word in group) for group in groups]
    if prefix_last and not _SPLIT_CHARS.fullmatch(groups[-1][-1]):
        parts[-1] += ":*"
    return " & ".join(f"({part})" if "<->" in part else part for part in parts)


def index_text(text: str) -> str:
    """What the full-text tables store for `text`: its folded tokens between single spaces
    (both backends then split it alike: FTS5's unicode61, PostgreSQL's string_to_array)."""
    return " ".join(_TOKEN.findall(fold(text)))
