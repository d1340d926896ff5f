"""Papers, their authors, summaries and daily lists: idempotent bulk upserts and lookups."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime

import aiosqlite

from bot.models import OLD_ARCHIVES, DailyList, Paper, Summary
from storage.search_text import fold
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
    month, seq = arxiv_id.split(".")
    return (2000 * 100 + int(month)) * 100_000 + int(seq)


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


def _column_values(paper: Paper) -> dict[str, object]:
    return {
        "title": paper.title,
        "abstract": paper.abstract,
        "published_at": to_iso(paper.published_at) if paper.published_at else None,
        "image_url": paper.image_url,
        "video_url": paper.video_url,
        "github_repo": paper.github_repo,
        "github_stars": paper.github_stars,
        "project_page": paper.project_page,
        "ai_summary": paper.ai_summary,
        "ai_keywords": json.dumps(paper.ai_keywords, ensure_ascii=False),
        "num_comments": paper.num_comments,
        "organization": paper.organization,
    }


def _is_given(value: object) -> bool:
    return value not in (None, "", "[]")


def _summary_text(summaries: Iterable[tuple[str, str, str]]) -> str:
    """Folded text of stored summaries (language, source, bullets JSON) for the index."""
    return fold(" ".join(" ".join(json.loads(bullets)) for _, _, bullets in summaries))


async def save_papers(
    conn: aiosqlite.Connection, papers: Iterable[Paper], observed_at: datetime
) -> SaveStats:
    """Insert or merge papers (inside the caller's write transaction).

    Merging keeps stored values the new source does not give, so importing a digest (no
    abstract) after a Hugging Face fetch loses nothing. Saving the same data twice changes
    nothing and adds no vote rows. `observed_at` is when the upvote counts were seen.
    """
    batch: dict[int, Paper] = {}
    for paper in papers:
        batch[paper_key(paper.id)] = paper  # a paper repeated in one batch: last one wins
    stats = SaveStats()
    if not batch:
        return stats
    now = to_iso(datetime.now(UTC))
    existing = await _existing_rows(conn, list(batch))
    stored_authors = await _authors_of(conn, list(existing))

    inserts, updates, title_changes, author_changes = [], [], {}, {}
    unchanged: set[int] = set()
    for pk, paper in batch.items():
        values = _column_values(paper)
        old = existing.get(pk)
        if old is None:
            inserts.append((pk, paper.id, *(values[c] for c in _COLUMNS), now))
            author_changes[pk] = paper.authors
            stats.new += 1
            continue
        merged = {c: values[c] if _is_given(values[c]) else old[c] for c in _COLUMNS}
        changed = any(merged[c] != old[c] for c in _COLUMNS)
        if changed:
            updates.append((*(merged[c] for c in _COLUMNS), now, pk))
            if merged["title"] != old["title"]:
                title_changes[pk] = merged["title"]
        if paper.authors and paper.authors != stored_authors.get(pk, []):
            author_changes[pk] = paper.authors
            changed = True
        if not changed:
            unchanged.add(pk)

    if inserts:
        await conn.executemany(
            f"INSERT INTO papers (pk, id, {', '.join(_COLUMNS)}, updated_at)"
            f" VALUES ({marks(len(_COLUMNS) + 3)})",
            inserts,
        )
        rows = [(pk, fold(batch[pk].title)) for pk, *_ in inserts]
        await conn.executemany(
            "INSERT INTO paper_fts (rowid, title, summary) VALUES (?, ?, '')", rows
        )
        await conn.executemany("INSERT INTO title_trigrams (rowid, title) VALUES (?, ?)", rows)
    if updates:
        assignments = ", ".join(f"{c} = ?" for c in _COLUMNS)
        await conn.executemany(
            f"UPDATE papers SET {assignments}, updated_at = ? WHERE pk = ?", updates
        )
    if title_changes:
        rows = [(fold(title), pk) for pk, title in title_changes.items()]
        await conn.executemany("UPDATE paper_fts SET title = ? WHERE rowid = ?", rows)
        await conn.executemany("UPDATE title_trigrams SET title = ? WHERE rowid = ?", rows)
    if author_changes:
        await _link_authors(
            conn, author_changes, replace=[pk for pk in author_changes if pk in existing]
        )
    resummarised = await _save_summaries(
        conn, {pk: p.summaries for pk, p in batch.items() if p.summaries}, observed_at
    )
    unchanged -= resummarised
    stats.unchanged = len(unchanged)
    stats.updated = len(existing) - stats.unchanged
    stats.vote_rows = await record_upvotes(
        conn,
        [(pk, p.upvotes) for pk, p in batch.items() if p.upvotes is not None],
        observed_at,
        new_pks={pk for pk, *_ in inserts},
    )
    return stats


async def save_daily_list(
    conn: aiosqlite.Connection, daily: DailyList, observed_at: datetime
) -> SaveStats:
    """Save a day's papers and their ranks on that day (inside the caller's transaction)."""
    first: dict[str, Paper] = {}
    for paper in daily.papers:
        first.setdefault(paper.id, paper)  # a paper listed twice keeps its first place
    papers = list(first.values())
    stats = await save_papers(conn, papers, observed_at)
    day = daily.day.isoformat()
    before = conn.total_changes
    await conn.executemany(
        "INSERT INTO daily_entries (day, paper_pk, rank) VALUES (?, ?, ?)"
        " ON CONFLICT (day, paper_pk) DO UPDATE SET rank = excluded.rank"
        " WHERE rank != excluded.rank",
        [(day, paper_key(paper.id), rank) for rank, paper in enumerate(papers)],
    )
    stats.list_entries = conn.total_changes - before
    return stats


async def _existing_rows(conn: aiosqlite.Connection, pks: list[int]) -> dict[int, dict]:
    found = {}
    for chunk in chunks(pks):
        rows = await conn.execute_fetchall(
            f"SELECT pk, {', '.join(_COLUMNS)} FROM papers WHERE pk IN ({marks(len(chunk))})",
            chunk,
        )
        for pk, *values in rows:
            found[pk] = dict(zip(_COLUMNS, values, strict=True))
    return found


async def _authors_of(conn: aiosqlite.Connection, pks: list[int]) -> dict[int, list[str]]:
    """Stored author names of each paper, in order."""
    names: dict[int, list[str]] = {}
    for chunk in chunks(pks):
        rows = await conn.execute_fetchall(
            "SELECT pa.paper_pk, a.name FROM paper_authors pa JOIN authors a ON a.id = pa.author_id"
            f" WHERE pa.paper_pk IN ({marks(len(chunk))}) ORDER BY pa.paper_pk, pa.position",
            chunk,
        )
        for pk, name in rows:
            names.setdefault(pk, []).append(name)
    return names


async def _author_ids(conn: aiosqlite.Connection, names: set[str]) -> dict[str, int]:
    """Ids of the given author names, creating (and indexing) the missing ones."""
    ids: dict[str, int] = {}
    wanted = sorted(names)  # probing the name index in order keeps its pages hot
    for chunk in chunks(wanted):
        rows = await conn.execute_fetchall(
            f"SELECT name, id FROM authors WHERE name IN ({marks(len(chunk))})", chunk
        )
        ids.update(rows)
    missing = [name for name in wanted if name not in ids]
    if missing:
        (next_id,) = (await conn.execute_fetchall("SELECT coalesce(max(id), 0) + 1 FROM authors"))[
            0
        ]
        new_rows = [(next_id + offset, name) for offset, name in enumerate(missing)]
        await conn.executemany("INSERT INTO authors (id, name) VALUES (?, ?)", new_rows)
        await conn.executemany(
            "INSERT INTO author_fts (rowid, name) VALUES (?, ?)",
            [(author_id, fold(name)) for author_id, name in new_rows],
        )
        ids.update((name, author_id) for author_id, name in new_rows)
    return ids


AUTHOR_TOKEN_PREFIX = "a"


def author_token(author_id: int) -> str:
    """The token standing for an author in the author_papers index."""
    return f"{AUTHOR_TOKEN_PREFIX}{author_id}"


async def _link_authors(
    conn: aiosqlite.Connection, authors: dict[int, list[str]], replace: list[int]
) -> None:
    for chunk in chunks(replace):
        placeholders = marks(len(chunk))
        await conn.execute(f"DELETE FROM paper_authors WHERE paper_pk IN ({placeholders})", chunk)
        await conn.execute(f"DELETE FROM author_papers WHERE rowid IN ({placeholders})", chunk)
    ids = await _author_ids(conn, {name for names in authors.values() for name in names})
    await conn.executemany(
        "INSERT INTO author_papers (rowid, author_ids) VALUES (?, ?)",
        [(pk, " ".join(author_token(ids[n]) for n in names)) for pk, names in authors.items()],
    )
    # One bound row per paper; SQLite expands the id list (16x fewer Python round trips).
    await conn.executemany(
        "INSERT INTO paper_authors (paper_pk, position, author_id)"
        " SELECT ?1, key, value FROM json_each(?2)",
        [(pk, json.dumps([ids[name] for name in names])) for pk, names in authors.items()],
    )


async def _save_summaries(
    conn: aiosqlite.Connection, summaries: dict[int, list[Summary]], observed_at: datetime
) -> set[int]:
    """Upsert summaries and re-index the summary text of papers whose summaries changed.

    A paper summarised differently on two days keeps the later day's bullets, whatever the
    import order, so importing the same files again changes nothing. Returns the changed keys."""
    at = to_iso(observed_at)
    wanted = {
        (pk, s.language, s.source): json.dumps(s.bullets, ensure_ascii=False)
        for pk, items in summaries.items()
        for s in items
    }
    stored = {}
    for chunk in chunks(list(summaries)):
        rows = await conn.execute_fetchall(
            "SELECT paper_pk, language, source, bullets, observed_at FROM summaries"
            f" WHERE paper_pk IN ({marks(len(chunk))})",
            chunk,
        )
        stored.update(
            ((pk, lang, source), (bullets, seen)) for pk, lang, source, bullets, seen in rows
        )
    changed = [
        (*key, bullets, at)
        for key, bullets in wanted.items()
        if key not in stored or (stored[key][0] != bullets and stored[key][1] <= at)
    ]
    if not changed:
        return set()
    await conn.executemany(
        "INSERT INTO summaries (paper_pk, language, source, bullets, observed_at)"
        " VALUES (?, ?, ?, ?, ?) ON CONFLICT (paper_pk, language, source)"
        " DO UPDATE SET bullets = excluded.bullets, observed_at = excluded.observed_at",
        changed,
    )
    changed_pks = {pk for pk, *_ in changed}
    for pk in changed_pks:  # imports only, a handful per batch
        rows = await conn.execute_fetchall(
            "SELECT language, source, bullets FROM summaries WHERE paper_pk = ?", (pk,)
        )
        await conn.execute(
            "UPDATE paper_fts SET summary = ? WHERE rowid = ?", (_summary_text(rows), pk)
        )
    return changed_pks


# ---------------------------------------------------------------------------------------------
# Reads


_PAPER_COLUMNS = f"pk, id, {', '.join(_COLUMNS)}, upvotes"


async def load_papers(db: aiosqlite.Connection, pks: Sequence[int]) -> list[Paper]:
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
            f" WHERE paper_pk IN ({placeholders}) ORDER BY paper_pk, language, source",
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


async def get_paper(db: aiosqlite.Connection, arxiv_id: str) -> Paper | None:
    """The stored paper with this (versionless) arXiv id, or None."""
    papers = await load_papers(db, [paper_key(arxiv_id)])
    return papers[0] if papers else None


async def papers_on_day(db: aiosqlite.Connection, day: date) -> list[Paper]:
    """The day's list, most upvoted first (ties keep the list's own order)."""
    rows = await db.execute_fetchall(
        "SELECT d.paper_pk FROM daily_entries d JOIN papers p ON p.pk = d.paper_pk"
        " WHERE d.day = ? ORDER BY p.upvotes DESC, d.rank",
        (day.isoformat(),),
    )
    return await load_papers(db, [pk for (pk,) in rows])


async def latest_day(db: aiosqlite.Connection) -> date | None:
    """The most recent day with a stored list."""
    ((day,),) = await db.execute_fetchall("SELECT max(day) FROM daily_entries")
    return date.fromisoformat(day) if day else None


async def top_papers(
    db: aiosqlite.Connection, since: date, until: date, *, limit: int = 10, offset: int = 0
) -> list[Paper]:
    """The most upvoted papers listed on a day in [since, until]."""
    rows = await db.execute_fetchall(
        "SELECT p.pk FROM papers p WHERE p.pk IN"
        " (SELECT paper_pk FROM daily_entries WHERE day BETWEEN ? AND ?)"
        " ORDER BY p.upvotes DESC, p.pk DESC LIMIT ? OFFSET ?",
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


async def store_info(db: aiosqlite.Connection) -> StoreInfo:
    """Counts and extent of what is stored."""

    async def one(sql: str):
        return (await db.execute_fetchall(sql))[0][0]

    first, last = (await db.execute_fetchall("SELECT min(day), max(day) FROM daily_entries"))[0]
    return StoreInfo(
        schema_version=await one("PRAGMA user_version"),
        papers=await one("SELECT count(*) FROM papers"),
        authors=await one("SELECT count(*) FROM authors"),
        days=await one("SELECT count(DISTINCT day) FROM daily_entries"),
        first_day=date.fromisoformat(first) if first else None,
        last_day=date.fromisoformat(last) if last else None,
        vote_snapshots=await one("SELECT count(*) FROM vote_snapshots"),
        summaries=await one("SELECT count(*) FROM summaries"),
        size_bytes=await one(
            "SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()"
        ),
    )


async def recent_days(
    db: aiosqlite.Connection, *, prefix: str = "", limit: int = 25
) -> list[tuple[date, int]]:
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
