"""Full-text lookups: papers by title/summary words, title autocomplete, papers by author.

Ranking stays cheap at any size: FTS5 walks matches from the newest paper down (rowid = paper
key, larger = newer) and stops after a bounded window of candidates, which are then ranked in
Python. A common word such as "model" therefore reads a few hundred index entries, not the
300,000 rows it matches; a rare term's window holds all of its matches.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from bot.models import Paper
from storage.dialects import TITLE, TITLE_AND_SUMMARY
from storage.interface import Reader
from storage.papers import load_papers, paper_key
from storage.search_text import PREFIX_INDEXED, fold, tokens
from storage.sql import marks

CANDIDATES = 200  # newest matches considered for ranking
# Author names considered for one lookup or suggestion: each costs an index probe, and a bare
# surname ("wang") matches thousands of people, so only the most recently seen ones count.
AUTHOR_CANDIDATES = 50
SUBSTRING_BELOW = 20  # whole-word matches under which substring matches are added
SUBSTRING_ROWS = 100  # trigram candidates read (with their titles) for that fallback
_WORD = re.compile(r"[^\W_]+")


class QueryHasNoWords(ValueError):
    """The query holds nothing searchable (only punctuation, symbols or emoji)."""

    def __init__(self, text: str):
        super().__init__(f"there is nothing to search for in {text[:40]!r}: type some words")


async def _word_matches(db: Reader, columns: str, text: str, limit: int) -> list[int]:
    """Newest papers (up to `limit`) having every word of `text` in `columns`.

    Prefixes up to PREFIX_INDEXED characters have their own index and cost one doclist read.
    A longer last word ("diffusion"*) would make FTS5 merge the doclists of every word it
    starts, so the exact word is tried first and the prefix only when that is not enough.
    """
    words = tokens(text)
    if not words:
        raise QueryHasNoWords(text)
    if len(words[-1]) > PREFIX_INDEXED:
        # Decided by a probe of fixed size, not by `limit`: every page must use the same query.
        probe = await db.dialect.paper_matches(db, text, columns, CANDIDATES + 1, prefix_last=False)
        if len(probe) > CANDIDATES:
            if limit <= len(probe):
                return probe[:limit]
            return await db.dialect.paper_matches(db, text, columns, limit, prefix_last=False)
    return await db.dialect.paper_matches(db, text, columns, limit)


async def _substring_matches(db: Reader, text: str, window: int, exclude: set[int]) -> list[int]:
    """Papers whose title contains every query word, also inside longer words (trigrams).

    Only the longest word goes to the trigram index (its trigrams are the most selective;
    intersecting those of a common word such as "model" costs more than the whole search);
    the other words are checked on the candidates' titles.
    """
    words = tokens(text)
    if not words or min(map(len, words)) < 3:  # a trigram index needs 3 characters
        return []
    longest = max(words, key=len)  # letters and digits only: nothing LIKE treats specially
    rows = await db.execute_fetchall(
        "SELECT rowid, title FROM title_trigrams WHERE title LIKE ? ORDER BY rowid DESC LIMIT ?",
        (f"%{longest}%", SUBSTRING_ROWS),
    )
    found = [
        rowid
        for rowid, title in rows
        if rowid not in exclude and all(word in title for word in words)
    ]
    return found[:window]


def _title_score(query_words: Sequence[str], phrase: str, title: str) -> float:
    """How well a title matches: the whole phrase, whole words, then word prefixes."""
    spaced = " " + " ".join(_WORD.findall(fold(title))) + " "  # words between single spaces
    score = 4.0 if f" {phrase}" in spaced else 0.0
    for word in query_words:
        if f" {word} " in spaced:
            score += 1.0
        elif f" {word}" in spaced:
            score += 0.5
    return score


@dataclass(slots=True)
class SearchPage:
    """One page of results; `more` says whether a next page exists."""

    papers: list[Paper]
    more: bool


async def search_papers(db: Reader, text: str, *, limit: int = 10, offset: int = 0) -> SearchPage:
    """Papers whose title (or a stored summary) has every word of `text`, best first.

    The last word may be a prefix ("autoreg" finds "Autoregressive"); when few papers match by
    words, titles containing the words inside longer words are added ("regressive").
    """
    # Matches are ranked in blocks of CANDIDATES, newest block first, so every page is cut
    # from the same order however deep the user pages.
    window = ((offset + limit) // CANDIDATES + 1) * CANDIDATES
    found = await _word_matches(db, TITLE_AND_SUMMARY, text, window + 1)
    more_beyond = len(found) > window
    found = found[:window]
    # Few whole-word matches: add titles holding the words inside longer words. The threshold
    # does not depend on the page asked for, so every page is cut from the same candidates.
    if len(found) < SUBSTRING_BELOW:
        found += await _substring_matches(db, text, window - len(found), set(found))
    ranked: list[Paper] = []
    for start in range(0, len(found), CANDIDATES):
        ranked += await _rank_by_title(db, found[start : start + CANDIDATES], text)
    page = [paper_key(paper.id) for paper in ranked[offset : offset + limit]]
    more = more_beyond or len(ranked) > offset + limit
    return SearchPage(await load_papers(db, page), more=more)


async def _rank_by_title(db: Reader, pks: list[int], text: str) -> list[Paper]:
    """The papers behind `pks` (id, title, upvotes only), best title match first."""
    if not pks:
        return []
    rows = await db.execute_fetchall(
        f"SELECT pk, id, title, upvotes FROM papers WHERE pk IN ({marks(len(pks))})", pks
    )
    words, phrase = tokens(text), " ".join(tokens(text))
    scored = sorted(
        rows,
        key=lambda row: (_title_score(words, phrase, row[2]), row[3] or 0, row[0]),
        reverse=True,
    )
    return [Paper(id=paper_id, title=title, upvotes=up) for _, paper_id, title, up in scored]


async def suggest_titles(db: Reader, text: str, *, limit: int = 25) -> list[Paper]:
    """Autocomplete: papers whose title matches what was typed so far (last word a prefix)."""
    if not tokens(text):
        return []
    found = await _word_matches(db, TITLE, text, CANDIDATES // 2)
    if len(found) < limit:
        found += await _substring_matches(db, text, limit - len(found), set(found))
    return (await _rank_by_title(db, found, text))[:limit]


async def _matching_authors(db: Reader, name: str) -> list[tuple[int, str]]:
    """(id, name) of the authors meant by `name`.

    People with exactly that name (ignoring case and accents) when there are some: "Rui Wang"
    means that person, not also "Rui Wangson". Otherwise every name holding all the words.
    """
    words = tokens(name)
    if not words:
        raise QueryHasNoWords(name)
    wanted = " ".join(words)
    # A name starting with exactly these words first: few rows even for a common name.
    for starting in (True, False):
        rows = await db.dialect.authors_named(db, name, AUTHOR_CANDIDATES, starting=starting)
        exact = [row for row in rows if " ".join(tokens(row[1])) == wanted]
        if exact:
            return exact
    return rows


async def papers_by_author(
    db: Reader, name: str, *, limit: int = 10, offset: int = 0
) -> SearchPage:
    """Papers by the named author (case- and accent-insensitive), newest first."""
    authors = await _matching_authors(db, name)
    if not authors:
        return SearchPage([], more=False)
    ids = [author_id for author_id, _ in authors]
    pks = (await db.dialect.papers_of_authors(db, ids, offset + limit + 1))[offset:]
    return SearchPage(await load_papers(db, pks[:limit]), more=len(pks) > limit)


@dataclass(slots=True)
class AuthorSuggestion:
    name: str
    papers: int


async def suggest_authors(db: Reader, text: str, *, limit: int = 25) -> list[AuthorSuggestion]:
    """Autocomplete: author names matching what was typed, those with most papers first."""
    rows = await db.dialect.author_suggestions(db, text, AUTHOR_CANDIDATES)
    typed = " ".join(tokens(text))
    rows = [row for row in rows if row[1] > 0]  # a name left behind by a corrected author list
    rows.sort(key=lambda r: (not fold(r[0]).startswith(typed), -r[1], r[0]))
    return [AuthorSuggestion(name, count) for name, count in rows[:limit]]
