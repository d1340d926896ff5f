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

import aiosqlite

from bot.models import Paper
from storage.papers import author_token, load_papers
from storage.search_text import fold, like_terms, match_expression, tokens

CANDIDATES = 200  # newest matches considered for ranking
AUTHOR_CANDIDATES = 500  # author names considered for one author lookup


class QueryHasNoWords(ValueError):
    """The query holds nothing searchable (only punctuation, symbols or emoji)."""

    def __init__(self, text: str):
        super().__init__(f"there is nothing to search for in {text[:40]!r}: type some words")


def _expression(text: str) -> str:
    expression = match_expression(text)
    if expression is None:
        raise QueryHasNoWords(text)
    return expression


async def _newest_matches(
    db: aiosqlite.Connection, table: str, expression: str, window: int
) -> list[int]:
    rows = await db.execute_fetchall(
        f"SELECT rowid FROM {table} WHERE {table} MATCH ? ORDER BY rowid DESC LIMIT ?",
        (expression, window),
    )
    return [rowid for (rowid,) in rows]


async def _substring_matches(
    db: aiosqlite.Connection, text: str, window: int, exclude: set[int]
) -> list[int]:
    """Papers whose title contains every query word inside a word (trigram index)."""
    words = tokens(text)
    patterns = like_terms(text)
    if not patterns or len(patterns) != len(words):  # words under 3 characters cannot use it
        return []
    where = " AND ".join("title LIKE ?" for _ in patterns)
    rows = await db.execute_fetchall(
        f"SELECT rowid FROM title_trigrams WHERE {where} ORDER BY rowid DESC LIMIT ?",
        (*patterns, window + len(exclude)),
    )
    return [rowid for (rowid,) in rows if rowid not in exclude][:window]


def _title_score(query_words: Sequence[str], phrase: str, title: str) -> float:
    """How well a title matches: the whole phrase, whole words, then word prefixes."""
    folded = fold(title)
    title_words = set(re.findall(r"[^\W_]+", folded))
    score = 4.0 if phrase and phrase in folded else 0.0
    for word in query_words:
        if word in title_words:
            score += 1.0
        elif any(t.startswith(word) for t in title_words):
            score += 0.5
    return score


@dataclass(slots=True)
class SearchPage:
    """One page of results; `more` says whether a next page exists."""

    papers: list[Paper]
    more: bool


async def search_papers(
    db: aiosqlite.Connection, text: str, *, limit: int = 10, offset: int = 0
) -> SearchPage:
    """Papers whose title (or a stored summary) has every word of `text`, best first.

    The last word may be a prefix ("autoreg" finds "Autoregressive"); when few papers match by
    words, titles containing the words inside longer words are added ("regressive").
    """
    expression = _expression(text)
    # Matches are ranked in blocks of CANDIDATES, newest block first, so every page is cut
    # from the same order however deep the user pages.
    window = ((offset + limit) // CANDIDATES + 1) * CANDIDATES
    found = await _newest_matches(
        db, "paper_fts", f"{{title summary}} : ({expression})", window + 1
    )
    more_beyond = len(found) > window
    found = found[:window]
    if len(found) < window:
        found += await _substring_matches(db, text, window - len(found), set(found))
    ranked: list[int] = []
    for start in range(0, len(found), CANDIDATES):
        ranked += await _rank_by_title(db, found[start : start + CANDIDATES], text)
    page = ranked[offset : offset + limit]
    more = more_beyond or len(ranked) > offset + limit
    return SearchPage(await load_papers(db, page), more=more)


async def _rank_by_title(db: aiosqlite.Connection, pks: list[int], text: str) -> list[int]:
    if not pks:
        return []
    rows = await db.execute_fetchall(
        f"SELECT pk, title, upvotes FROM papers WHERE pk IN ({','.join('?' * len(pks))})", pks
    )
    words, phrase = tokens(text), " ".join(tokens(text))
    scored = sorted(
        rows,
        key=lambda row: (_title_score(words, phrase, row[1]), row[2] or 0, row[0]),
        reverse=True,
    )
    return [pk for pk, _, _ in scored]


async def suggest_titles(db: aiosqlite.Connection, text: str, *, limit: int = 25) -> list[Paper]:
    """Autocomplete: papers whose title matches what was typed so far (last word a prefix)."""
    expression = match_expression(text)
    if expression is None:
        return []
    found = await _newest_matches(db, "paper_fts", f"{{title}} : ({expression})", CANDIDATES // 2)
    if len(found) < limit:
        found += await _substring_matches(db, text, limit - len(found), set(found))
    best = (await _rank_by_title(db, found, text))[:limit]
    rows = await db.execute_fetchall(
        f"SELECT pk, id, title, upvotes FROM papers WHERE pk IN ({','.join('?' * len(best))})",
        best,
    )
    by_pk = {pk: Paper(id=paper_id, title=title, upvotes=up) for pk, paper_id, title, up in rows}
    return [by_pk[pk] for pk in best if pk in by_pk]


async def _matching_authors(db: aiosqlite.Connection, name: str) -> list[tuple[int, str]]:
    """(id, name) of the authors meant by `name`.

    People with exactly that name (ignoring case and accents) when there are some: "Rui Wang"
    means that person, not also "Rui Wangson". Otherwise every name holding all the words.
    """
    words = tokens(name)
    if not words:
        raise QueryHasNoWords(name)
    wanted = " ".join(words)
    # A name starting with exactly these words: few rows even for a common name.
    starts = "^" + " + ".join('"' + word.replace('"', '""') + '"' for word in words)
    for expression in (starts, _expression(name)):
        rows = await db.execute_fetchall(
            "SELECT a.id, a.name FROM authors a WHERE a.id IN (SELECT rowid FROM author_fts"
            " WHERE author_fts MATCH ? ORDER BY rowid DESC LIMIT ?)",
            (expression, AUTHOR_CANDIDATES),
        )
        exact = [row for row in rows if " ".join(tokens(row[1])) == wanted]
        if exact:
            return exact
    return list(rows)


async def papers_by_author(
    db: aiosqlite.Connection, name: str, *, limit: int = 10, offset: int = 0
) -> SearchPage:
    """Papers by the named author (case- and accent-insensitive), newest first."""
    authors = await _matching_authors(db, name)
    if not authors:
        return SearchPage([], more=False)
    expression = " OR ".join(author_token(author_id) for author_id, _ in authors)
    pks = (await _newest_matches(db, "author_papers", expression, offset + limit + 1))[offset:]
    return SearchPage(await load_papers(db, pks[:limit]), more=len(pks) > limit)


@dataclass(slots=True)
class AuthorSuggestion:
    name: str
    papers: int


async def suggest_authors(
    db: aiosqlite.Connection, text: str, *, limit: int = 25
) -> list[AuthorSuggestion]:
    """Autocomplete: author names matching what was typed, those with most papers first."""
    expression = match_expression(text)
    if expression is None:
        return []
    rows = await db.execute_fetchall(
        "SELECT a.name,"
        " (SELECT count(*) FROM author_papers WHERE author_papers MATCH 'a' || a.id)"
        " FROM authors a WHERE a.id IN"
        " (SELECT rowid FROM author_fts WHERE author_fts MATCH ? ORDER BY rowid DESC LIMIT ?)",
        (expression, CANDIDATES),
    )
    typed = " ".join(tokens(text))
    rows = [row for row in rows if row[1] > 0]  # a name left behind by a corrected author list
    rows.sort(key=lambda r: (not fold(r[0]).startswith(typed), -r[1], r[0]))
    return [AuthorSuggestion(name, count) for name, count in rows[:limit]]
