"""Papers, their authors, summaries and daily lists: idempotent bulk upserts and lookups."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Iterable, Sequence
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime
from typing import Any

from bot.models import OLD_ARCHIVES, DailyList, Paper, Summary
from storage.interface import Reader, Writer
from storage.search_text import index_text
from storage.sql import chunks, marks
from storage.votes import from_iso, record_upvotes, to_iso


def paper_key(arxiv_id: str) -> int:
    """An integer that orders papers by arXiv submission month and number (newer = larger).

    2401.08541 -> 202401_08541; hep-th/9901001 -> 199901_<archive><001>. Old and new ids never
    collide because old-style ids stop in 2007-03 and new-style ones start in 2007-04.
    """
    if "/" in arxiv_id:
        archive, number = arxiv_id.split("/")
        yy, mm, seq = int(number[:2]), int(number[2:4]), int(number[4:])
        year = 1900 + yy if yy >= 91 else 2000 + yy
        code = OLD_ARCHIVES.index(archive) + 1  # normalize_arxiv_id admits only these
        return (year * 100 + mm) * 100_000 + code * 1000 + seq
    month, number = arxiv_id.split(".")
    return (2000 * 100 + int(month)) * 100_000 + int(number)


@dataclass(slots=True)
class SaveStats:
    """What a save changed; all zeros except `unchanged` means it was already stored."""

    new: int = 0
    updated: int = 0
    unchanged: int = 0
    vote_rows: int = 0
    list_entries: int = 0

    def __iadd__(self, other: SaveStats) -> SaveStats:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))
        return self


# Columns copied from Paper; a value the source did not give (None / "" / []) keeps the stored one.
_COLUMNS = (
    "title", "abstract", "published_at", "image_url", "video_url", "github_repo",
    "github_stars", "project_page", "ai_summary", "ai_keywords", "num_comments", "organization",
)  # fmt: skip


def _column_values(paper: Paper) -> tuple:
    """The values of _COLUMNS, in that order."""
    published, keywords = paper.published_at, paper.ai_keywords
    return (
        paper.title,
        paper.abstract,
        to_iso(published) if published else None,
        paper.image_url,
        paper.video_url,
        paper.github_repo,
        paper.github_stars,
        paper.project_page,
        paper.ai_summary,
        json.dumps(keywords, ensure_ascii=False) if keywords else "[]",
        paper.num_comments,
        paper.organization,
    )


def _is_given(value: object) -> bool:
    return value not in (None, "", "[]")


def _summary_text(summaries: Iterable[tuple[str, str, str]]) -> str:
    """Folded text of stored summaries (language, source, bullets JSON) for the index."""
    return index_text(" ".join(" ".join(json.loads(bullets)) for _, _, bullets in summaries))


async def _run(*statements: Awaitable) -> list:
    """Await statements queued on one connection together; raise the first failure.

    aiosqlite runs a connection's statements one after another on its own thread, in the order
    they were queued: queuing them together spares a thread round trip per statement, and a
    failure still leaves the caller's transaction to roll back (the later statements of the
    group have run by then, inside the same transaction)."""
    results = await asyncio.gather(*statements, return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return results


async def save_papers(conn: Writer, papers: Iterable[Paper], observed_at: datetime) -> SaveStats:
    """Insert or merge papers (inside the caller's write transaction).

    Merging keeps stored values the new source does not give, so importing a digest (no
    abstract) after a Hugging Face fetch loses nothing. Saving the same data twice changes
    nothing and adds no vote rows. `observed_at` is when the upvote counts were seen.
    """
    batch: dict[int, Paper] = {}
    for paper in papers:
        batch[paper_key(paper.id)] = paper  # a paper repeated in one batch: last one wins
    return await _save(conn, batch, observed_at)


async def save_daily_list(conn: Writer, daily: DailyList, observed_at: datetime) -> SaveStats:
    """Save a day's papers and their ranks on that day (inside the caller's transaction)."""
    batch: dict[int, Paper] = {}
    ranks: dict[int, int] = {}
    for paper in daily.papers:
        pk = paper_key(paper.id)
        if pk not in batch:  # a paper listed twice keeps its first place
            batch[pk] = paper
            ranks[pk] = len(ranks)
    return await _save(conn, batch, observed_at, daily.day.isoformat(), ranks)


async def _save(
    conn: Writer,
    batch: dict[int, Paper],
    observed_at: datetime,
    day: str | None = None,
    ranks: dict[int, int] | None = None,
) -> SaveStats:
    stats = SaveStats()
    if not batch:
        return stats
    # Every table and index is written in key order. FTS5 writes its pending terms out to a
    # new segment whenever a rowid is smaller than the previous one, so unsorted rows (a daily
    # list is in upvote order) would cost a flush per paper and many merges later.
    pks = sorted(batch)
    batch = {pk: batch[pk] for pk in pks}
    now = to_iso(datetime.now(UTC))
    at = to_iso(observed_at)
    names = sorted({name for paper in batch.values() for name in paper.authors})

    # Reads first, queued at once: stored rows, the ids of the authors named (sorted: probing
    # the name index in order keeps its pages hot), the next free author id. Then, for stored
    # papers only (a new key has nothing else stored): author lists, summaries, list ranks.
    found, known, ((next_id,),) = await _run(
        _select_in(
            conn, f"SELECT pk, upvotes_at, {', '.join(_COLUMNS)} FROM papers WHERE pk IN", pks
        ),
        _select_in(conn, "SELECT name, id FROM authors WHERE name IN", names),
        conn.execute_fetchall("SELECT coalesce(max(id), 0) + 1 FROM authors"),
    )
    existing = {pk: dict(zip(_COLUMNS, values, strict=True)) for pk, _, *values in found}
    # What was stored from a later observation wins: a save of older data (an archive day
    # imported again after a newer one) only fills in what is missing, so re-imports are no-ops.
    newer = {pk for pk, seen_at, *_ in found if seen_at is not None and seen_at > at}
    stored_authors: dict[int, list[str]] = {}
    stored_summaries: list[tuple] = []
    stored_ranks: dict[int, int] = {}
    if existing:
        stored = list(existing)
        stored_authors, stored_summaries, listed = await _run(
            _authors_of(conn, stored),
            _select_in(
                conn,
                "SELECT paper_pk, language, source, bullets, observed_at FROM summaries"
                " WHERE paper_pk IN",
                [pk for pk in stored if batch[pk].summaries],
            ),
            _select_in(
                conn,
                "SELECT paper_pk, rank FROM daily_entries WHERE day = ? AND paper_pk IN",
                stored if day is not None else [],
                prefix=(day,),
            ),
        )
        stored_ranks = dict(listed)

    writes: list[Awaitable] = []
    # A new paper's summary text goes into its index row: an UPDATE of a row just inserted
    # would cost a flush of the pending terms (its rowid is not above the last one written).
    summary_rows, summary_texts = _changed_summaries(batch, stored_summaries, at)
    resummarised = set(summary_texts)
    inserts, fts_rows, new_votes, updates, title_changes = [], [], [], [], []
    author_changes: dict[int, list[str]] = {}
    unchanged: set[int] = set()
    for pk, paper in batch.items():
        values = _column_values(paper)
        old = existing.get(pk)
        if old is None:
            # A new paper's count goes in with it; its first snapshot needs no comparison.
            upvotes = paper.upvotes
            seen_at = None if upvotes is None else at
            inserts.append((pk, paper.id, *values, upvotes, seen_at, now))
            fts_rows.append((pk, index_text(paper.title), summary_texts.pop(pk, "")))
            if upvotes is not None:
                new_votes.append((pk, at, upvotes))
            author_changes[pk] = paper.authors
            continue
        older = pk in newer
        merged = {
            c: value if _is_given(value) and not (older and _is_given(old[c])) else old[c]
            for c, value in zip(_COLUMNS, values, strict=True)
        }
        changed = merged != old
        if changed:
            updates.append((*merged.values(), now, pk))
            if merged["title"] != old["title"]:
                title_changes.append((index_text(merged["title"]), pk))
        if (
            paper.authors
            and paper.authors != stored_authors.get(pk, [])
            and not (older and stored_authors.get(pk))
        ):
            author_changes[pk] = paper.authors
            changed = True
        if not changed:
            unchanged.add(pk)
    stats.new = len(inserts)

    if inserts:
        writes += [
            conn.executemany(
                f"INSERT INTO papers (pk, id, {', '.join(_COLUMNS)}, upvotes, upvotes_at,"
                f" updated_at) VALUES ({marks(len(_COLUMNS) + 5)})",
                inserts,
            ),
            conn.executemany(
                "INSERT INTO paper_fts (rowid, title, summary) VALUES (?, ?, ?)", fts_rows
            ),
            conn.executemany(
                "INSERT INTO title_trigrams (rowid, title) VALUES (?, ?)",
                [(pk, title) for pk, title, _ in fts_rows],
            ),
        ]
    if updates:
        assignments = ", ".join(f"{c} = ?" for c in _COLUMNS)
        writes.append(
            conn.executemany(
                f"UPDATE papers SET {assignments}, updated_at = ? WHERE pk = ?", updates
            )
        )
    if title_changes:
        writes += [
            conn.executemany("UPDATE paper_fts SET title = ? WHERE rowid = ?", title_changes),
            conn.executemany("UPDATE title_trigrams SET title = ? WHERE rowid = ?", title_changes),
        ]
    if author_changes:
        ids = dict(known)
        writes += _link_authors(
            conn,
            author_changes,
            ids,
            next_id,
            replace=[pk for pk in author_changes if pk in existing],
        )
    if summary_rows:
        writes.append(
            conn.executemany(
                "INSERT INTO summaries (paper_pk, language, source, bullets, observed_at)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (paper_pk, language, source)"
                " DO UPDATE SET bullets = excluded.bullets, observed_at = excluded.observed_at",
                summary_rows,
            )
        )
    if summary_texts:  # stored papers whose summaries changed
        writes.append(
            conn.executemany(
                "UPDATE paper_fts SET summary = ? WHERE rowid = ?",
                [(text, pk) for pk, text in summary_texts.items()],
            )
        )
    if new_votes:
        writes.append(
            conn.executemany(
                "INSERT INTO vote_snapshots (paper_pk, observed_at, upvotes) VALUES (?, ?, ?)",
                new_votes,
            )
        )
        stats.vote_rows = len(new_votes)
    if day is not None and ranks is not None:
        entries = [
            (day, pk, rank) for pk, rank in sorted(ranks.items()) if stored_ranks.get(pk) != rank
        ]
        if entries:
            writes.append(
                conn.executemany(
                    "INSERT INTO daily_entries (day, paper_pk, rank) VALUES (?, ?, ?)"
                    " ON CONFLICT (day, paper_pk) DO UPDATE SET rank = excluded.rank",
                    entries,
                )
            )
        stats.list_entries = len(entries)
    await _run(*writes)

    unchanged -= resummarised
    stats.unchanged = len(unchanged)
    stats.updated = len(existing) - stats.unchanged
    counts = [(pk, up) for pk in existing if (up := batch[pk].upvotes) is not None]
    if counts:
        stats.vote_rows += await record_upvotes(conn, counts, observed_at)
    return stats


async def _select_in(
    conn: Reader,
    sql: str,
    values: Sequence,
    suffix: str = "",
    prefix: tuple = (),
) -> list:
    """Rows of `sql IN (values)` (`sql` ends with "IN"), in chunks under the bound-value limit."""
    rows: list = []
    for chunk in chunks(values):
        rows += await conn.execute_fetchall(
            f"{sql} ({marks(len(chunk))}){suffix}", (*prefix, *chunk)
        )
    return rows


async def _authors_of(conn: Reader, pks: list[int]) -> dict[int, list[str]]:
    """Stored author names of each paper, in order."""
    names: dict[int, list[str]] = {}
    for pk, name in await _select_in(
        conn,
        "SELECT pa.paper_pk, a.name FROM paper_authors pa JOIN authors a ON a.id = pa.author_id"
        " WHERE pa.paper_pk IN",
        pks,
        " ORDER BY pa.paper_pk, pa.position",
    ):
        names.setdefault(pk, []).append(name)
    return names


AUTHOR_TOKEN_PREFIX = "a"


def author_token(author_id: int) -> str:
    """The token standing for an author in the author_papers index."""
    return f"{AUTHOR_TOKEN_PREFIX}{author_id}"


def _link_authors(
    conn: Writer,
    authors: dict[int, list[str]],
    ids: dict[str, int],
    next_id: int,
    replace: list[int],
) -> list[Awaitable]:
    """Statements linking papers (in key order) to their authors, creating missing names.

    `ids` holds the known author ids (updated with the new ones), `next_id` the first free id;
    the links of the papers in `replace` are deleted first."""
    writes: list[Awaitable[Any]] = []
    for chunk in chunks(replace):
        placeholders = marks(len(chunk))
        writes += [
            conn.execute(f"DELETE FROM paper_authors WHERE paper_pk IN ({placeholders})", chunk),
            conn.execute(f"DELETE FROM author_papers WHERE rowid IN ({placeholders})", chunk),
        ]
    missing = sorted({name for names in authors.values() for name in names} - ids.keys())
    if missing:
        new_rows = [(next_id + offset, name) for offset, name in enumerate(missing)]
        ids.update((name, author_id) for author_id, name in new_rows)
        writes += [
            conn.executemany("INSERT INTO authors (id, name) VALUES (?, ?)", new_rows),
            conn.executemany(
                "INSERT INTO author_fts (rowid, name) VALUES (?, ?)",
                [(author_id, index_text(name)) for author_id, name in new_rows],
            ),
        ]
    writes.append(
        conn.executemany(
            "INSERT INTO author_papers (rowid, author_ids) VALUES (?, ?)",
            [(pk, " ".join(author_token(ids[n]) for n in names)) for pk, names in authors.items()],
        )
    )
    # One single-row INSERT per link. A statement that may write several rows (INSERT ...
    # SELECT, a multi-row VALUES) opens a statement savepoint, and FTS5 writes out its pending
    # terms at every savepoint: one such statement per batch would flush all four full-text
    # indexes into small segments, paid for again when they are merged.
    writes.append(
        conn.executemany(
            "INSERT INTO paper_authors (paper_pk, position, author_id) VALUES (?, ?, ?)",
            [
                (pk, position, ids[name])
                for pk, names in authors.items()
                for position, name in enumerate(names)
            ],
        )
    )
    return writes


def _changed_summaries(
    batch: dict[int, Paper], stored_rows: list[tuple], at: str
) -> tuple[list[tuple], dict[int, str]]:
    """(summary rows to upsert, new summary text of each paper whose summaries change).

    `stored_rows` are the stored summaries (paper_pk, language, source, bullets, observed_at)
    of the batch's summarised papers. A paper summarised differently on two days keeps the later
    day's bullets, whatever the import order, so importing the same files again changes
    nothing."""
    wanted = {
        (pk, s.language, s.source): json.dumps(s.bullets, ensure_ascii=False)
        for pk, paper in batch.items()
        for s in paper.summaries
    }
    stored = {
        (pk, lang, source): (bullets, seen) for pk, lang, source, bullets, seen in stored_rows
    }
    changed = [
        (*key, bullets, at)
        for key, bullets in wanted.items()
        if key not in stored or (stored[key][0] != bullets and stored[key][1] <= at)
    ]
    changed_pks = {pk for pk, *_ in changed}
    # The papers' summaries once the upserts are in, in key order (language, source).
    current = {key: bullets for key, (bullets, _) in stored.items() if key[0] in changed_pks}
    current.update(((pk, lang, source), bullets) for pk, lang, source, bullets, _ in changed)
    rows: dict[int, list[tuple[str, str, str]]] = {}
    for (pk, lang, source), bullets in sorted(current.items()):
        rows.setdefault(pk, []).append((lang, source, bullets))
    return changed, {pk: _summary_text(summaries) for pk, summaries in rows.items()}


# ---------------------------------------------------------------------------------------------
# Reads


_PAPER_COLUMNS = f"pk, id, {', '.join(_COLUMNS)}, upvotes"


async def load_papers(db: Reader, pks: Sequence[int]) -> list[Paper]:
    """Full papers (authors, summaries, days) for the given keys, in the given order."""
    by_pk: dict[int, Paper] = {}
    for chunk in chunks(list(dict.fromkeys(pks))):
        placeholders = marks(len(chunk))
        for row in await db.execute_fetchall(
            f"SELECT {_PAPER_COLUMNS} FROM papers WHERE pk IN ({placeholders})", chunk
        ):
            pk, paper_id, *values, upvotes = row
            col = dict(zip(_COLUMNS, values, strict=True))
            by_pk[pk] = Paper(
                id=paper_id,
                title=col["title"],
                abstract=col["abstract"],
                upvotes=upvotes,
                published_at=from_iso(col["published_at"]),
                image_url=col["image_url"],
                video_url=col["video_url"],
                github_repo=col["github_repo"],
                github_stars=col["github_stars"],
                project_page=col["project_page"],
                ai_summary=col["ai_summary"],
                ai_keywords=json.loads(col["ai_keywords"]),
                num_comments=col["num_comments"],
                organization=col["organization"],
            )
        for pk, names in (await _authors_of(db, list(chunk))).items():
            by_pk[pk].authors = names
        for pk, language, source, bullets in await db.execute_fetchall(
            "SELECT paper_pk, language, source, bullets FROM summaries"
            # Newest first within a language: a card shows the first one of its language.
            f" WHERE paper_pk IN ({placeholders})"
            " ORDER BY paper_pk, language, observed_at DESC, source",
            chunk,
        ):
            by_pk[pk].summaries.append(Summary(language, source, json.loads(bullets)))
        for pk, day in await db.execute_fetchall(
            "SELECT paper_pk, day FROM daily_entries"
            f" WHERE paper_pk IN ({placeholders}) ORDER BY day",
            chunk,
        ):
            by_pk[pk].days.append(date.fromisoformat(day))
    return [by_pk[pk] for pk in pks if pk in by_pk]


async def get_paper(db: Reader, arxiv_id: str) -> Paper | None:
    """The stored paper with this (versionless) arXiv id, or None."""
    papers = await load_papers(db, [paper_key(arxiv_id)])
    return papers[0] if papers else None


async def papers_on_day(db: Reader, day: date) -> list[Paper]:
    """The day's list, most upvoted first (ties keep the list's own order)."""
    rows = await db.execute_fetchall(
        "SELECT d.paper_pk FROM daily_entries d JOIN papers p ON p.pk = d.paper_pk"
        " WHERE d.day = ? ORDER BY p.upvotes DESC NULLS LAST, d.rank",
        (day.isoformat(),),
    )
    return await load_papers(db, [pk for (pk,) in rows])


async def latest_day(db: Reader) -> date | None:
    """The most recent day with a stored list."""
    ((day,),) = await db.execute_fetchall("SELECT max(day) FROM daily_entries")
    return date.fromisoformat(day) if day else None


async def top_papers(
    db: Reader, since: date, until: date, *, limit: int = 10, offset: int = 0
) -> list[Paper]:
    """The most upvoted papers listed on a day in [since, until]."""
    rows = await db.execute_fetchall(
        "SELECT p.pk FROM papers p WHERE p.pk IN"
        " (SELECT paper_pk FROM daily_entries WHERE day BETWEEN ? AND ?)"
        " ORDER BY p.upvotes DESC NULLS LAST, p.pk DESC LIMIT ? OFFSET ?",
        (since.isoformat(), until.isoformat(), limit, offset),
    )
    return await load_papers(db, [pk for (pk,) in rows])


@dataclass(slots=True)
class StoreInfo:
    schema_version: int
    papers: int
    authors: int
    days: int
    first_day: date | None
    last_day: date | None
    vote_snapshots: int
    summaries: int
    size_bytes: int


async def store_info(db: Reader) -> StoreInfo:
    """Counts and extent of what is stored."""

    async def one(sql: str):
        return (await db.execute_fetchall(sql))[0][0]

    first, last = (await db.execute_fetchall("SELECT min(day), max(day) FROM daily_entries"))[0]
    return StoreInfo(
        schema_version=await db.dialect.schema_version(db),
        papers=await one("SELECT count(*) FROM papers"),
        authors=await one("SELECT count(*) FROM authors"),
        days=await one("SELECT count(DISTINCT day) FROM daily_entries"),
        first_day=date.fromisoformat(first) if first else None,
        last_day=date.fromisoformat(last) if last else None,
        vote_snapshots=await one("SELECT count(*) FROM vote_snapshots"),
        summaries=await one("SELECT count(*) FROM summaries"),
        size_bytes=await db.dialect.size_bytes(db),
    )


async def recent_days(db: Reader, *, prefix: str = "", limit: int = 25) -> list[tuple[date, int]]:
    """The most recent days with a stored list whose date starts with `prefix` ("2024-01"),
    newest first, with their paper counts."""
    # One index seek per day (a GROUP BY would read every entry ever stored).
    rows = await db.execute_fetchall(
        "WITH RECURSIVE d(day) AS (SELECT max(day) FROM daily_entries WHERE day < ?2"
        "  UNION ALL SELECT (SELECT max(day) FROM daily_entries WHERE day < d.day)"
        "  FROM d WHERE d.day >= ?1 LIMIT ?3)"
        " SELECT day, (SELECT count(*) FROM daily_entries e WHERE e.day = d.day)"
        " FROM d WHERE day >= ?1",
        (prefix, prefix + "~", limit + 1),  # "~" sorts after every digit and "-"
    )
    return [(date.fromisoformat(day), count) for day, count in rows][:limit]
