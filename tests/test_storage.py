"""Tests for the SQLite store: storage/db.py, storage/papers.py and storage/votes.py.

Every test opens a real database file in its own tmp_path with the real migrations.
"""

from __future__ import annotations

import hashlib
import logging
import random
import sqlite3
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import aiosqlite
import pytest

import storage.db
from bot.models import DailyList, Paper, Summary
from storage.db import DatabaseTooNew, Store, migrate, migrations, open_store
from storage.dialects import PostgresDialect
from storage.papers import (
    SaveStats,
    get_paper,
    latest_day,
    load_papers,
    paper_key,
    papers_on_day,
    save_daily_list,
    save_papers,
    store_info,
    top_papers,
)
from storage.postgres import migrations as postgres_migrations
from storage.search import SearchPage, papers_by_author, search_papers
from storage.votes import trending, upvote_history

DAY1 = date(2024, 1, 16)
DAY2 = date(2024, 1, 17)
DAY3 = date(2024, 1, 18)
T0 = datetime(2024, 1, 17, 9, 0, tzinfo=UTC)
AIM_TITLE = "Scalable Pre-training of Large Autoregressive Image Models"
AIM_AUTHORS = [
    "Alaaeldin El-Nouby",
    "Michal Klein",
    "Shuangfei Zhai",
    "Miguel Angel Bautista",
    "Alexander Toshev",
    "Vaishaal Shankar",
    "Joshua M Susskind",
    "Armand Joulin",
]
KO_BULLETS = ["자기회귀 목표로 비전 모델을 사전학습합니다.", "규모가 커질수록 좋아집니다."]


@pytest.fixture
async def store(store_target):
    async with open_store(store_target) as opened:
        yield opened


def full_paper(**changes) -> Paper:
    """A paper with every field a Hugging Face fetch can fill."""
    values = dict(
        id="2401.08541",
        title=AIM_TITLE,
        authors=list(AIM_AUTHORS),
        abstract="This paper introduces AIM, a collection of vision models pre-trained with an "
        "autoregressive objective.",
        upvotes=42,
        published_at=datetime(2024, 1, 16, 18, 58, 12, tzinfo=UTC),
        image_url="https://cdn-thumbnails.huggingface.co/social-thumbnails/papers/2401.08541.png",
        video_url="https://cdn-uploads.huggingface.co/production/uploads/aim/demo.mp4",
        github_repo="https://github.com/apple/ml-aim",
        github_stars=1180,
        project_page="https://example.org/aim",
        ai_summary="AIM models scale like LLMs.",
        ai_keywords=["autoregressive", "vision transformer", "scaling"],
        num_comments=3,
        organization="Apple",
        summaries=[
            Summary("en", "hf_ai", ["AIM models scale like LLMs."]),
            Summary("ko", "digest", KO_BULLETS),
        ],
    )
    values.update(changes)
    return Paper(**values)


def small_paper(arxiv_id: str, title: str | None = None, **changes) -> Paper:
    return Paper(id=arxiv_id, title=title or f"Paper {arxiv_id}", **changes)


async def save_day(store: Store, day: date, papers: list[Paper], at: datetime = T0) -> SaveStats:
    async with store.write() as conn:
        return await save_daily_list(conn, DailyList(day, papers), at)


async def save(store: Store, papers: list[Paper], at: datetime = T0) -> SaveStats:
    async with store.write() as conn:
        return await save_papers(conn, papers, at)


async def table_counts(db) -> dict[str, int]:
    """Row counts of every table, the FTS tables (and SQLite's shadow tables) included."""
    listing = (
        "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY 1"
        if isinstance(db.dialect, PostgresDialect)
        else "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"
    )
    names = [name for (name,) in await db.execute_fetchall(listing)]
    counts = {}
    for name in names:
        ((counts[name],),) = await db.execute_fetchall(f'SELECT count(*) FROM "{name}"')
    return counts


async def pragma(db: aiosqlite.Connection, name: str):
    ((value,),) = await db.execute_fetchall(f"PRAGMA {name}")
    return value


def ids(page: SearchPage) -> list[str]:
    return [p.id for p in page.papers]


def file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def file_names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def user_version(path: Path) -> int:
    conn = sqlite3.connect(path)
    try:
        return conn.execute("PRAGMA user_version").fetchone()[0]
    finally:
        conn.close()


LATEST = migrations()[-1][0]
# For tests of what only SQLite has (PRAGMAs, FTS5's segments, its file): the SQLite store only.
sqlite_only = pytest.mark.parametrize("store_target", ["sqlite"], indirect=True)


# --- db: connection settings ------------------------------------------------------------------


@sqlite_only
async def test_both_connections_use_wal_foreign_keys_and_busy_timeout(store: Store) -> None:
    async with store.write() as writer:
        writer_settings = [
            await pragma(writer, name) for name in ("journal_mode", "foreign_keys", "busy_timeout")
        ]
    reader_settings = [
        await pragma(store.reader, name)
        for name in ("journal_mode", "foreign_keys", "busy_timeout")
    ]

    for journal_mode, foreign_keys, busy_timeout in (writer_settings, reader_settings):
        assert journal_mode == "wal"
        assert foreign_keys == 1
        assert busy_timeout >= 1000


async def test_foreign_keys_are_enforced(store: Store) -> None:
    import asyncpg

    with pytest.raises((sqlite3.IntegrityError, asyncpg.ForeignKeyViolationError)):
        async with store.write() as conn:
            await conn.execute(
                "INSERT INTO daily_entries (day, paper_pk, rank) VALUES ('2024-01-17', 123, 0)"
            )

    assert await papers_on_day(store.reader, DAY2) == []


async def test_a_second_process_sees_wal_mode_in_the_file(tmp_path: Path) -> None:
    path = tmp_path / "paperboy.db"
    async with open_store(path):
        pass

    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        conn.close()


# --- db: migrations ---------------------------------------------------------------------------


async def test_migrations_are_recorded_in_user_version(tmp_path: Path) -> None:
    path = tmp_path / "paperboy.db"
    async with open_store(path) as store:
        assert await pragma(store.reader, "user_version") == LATEST
        tables = {
            name
            for (name,) in await store.reader.execute_fetchall(
                "SELECT name FROM sqlite_master WHERE type = 'table'"
            )
        }

    assert LATEST == len(migrations()) >= 1
    assert {"papers", "authors", "daily_entries", "vote_snapshots", "paper_fts"} <= tables
    assert user_version(path) == LATEST


async def test_reopening_keeps_data_and_applies_nothing(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "paperboy.db"
    caplog.set_level(logging.INFO, logger="storage.db")
    async with open_store(path) as store:
        await save_day(store, DAY2, [full_paper()])
    assert "applying migration 0001_init.sql" in caplog.text
    caplog.clear()

    async with open_store(path) as store:
        assert (await get_paper(store.reader, "2401.08541")).title == AIM_TITLE
        assert await pragma(store.reader, "user_version") == LATEST

    assert "applying migration" not in caplog.text


@sqlite_only
async def test_migrate_on_a_current_database_returns_its_version(store: Store) -> None:
    async with store.write() as conn:
        pass
    assert await migrate(conn) == LATEST
    assert await pragma(store.reader, "user_version") == LATEST


async def test_database_from_a_newer_paperboy_is_refused_and_left_untouched(
    tmp_path: Path,
) -> None:
    path = tmp_path / "paperboy.db"
    async with open_store(path) as store:
        await save_day(store, DAY2, [full_paper()])
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {LATEST + 1}")
    conn.commit()
    conn.close()
    before = file_digest(path)
    files_before = file_names(tmp_path)

    with pytest.raises(DatabaseTooNew) as caught:
        async with open_store(path):
            pytest.fail("a too-new database must not open")

    message = str(caught.value)
    assert f"schema version {LATEST + 1}" in message
    assert f"up to {LATEST}" in message
    assert "upgrade paperboy" in message
    assert file_digest(path) == before
    assert file_names(tmp_path) == files_before
    assert user_version(path) == LATEST + 1


async def test_refused_database_in_rollback_journal_mode_is_left_untouched(
    tmp_path: Path,
) -> None:
    path = tmp_path / "other.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE notes (body TEXT)")
    conn.execute("INSERT INTO notes VALUES ('keep me')")
    conn.execute(f"PRAGMA user_version = {LATEST + 5}")
    conn.commit()
    conn.close()
    before = file_digest(path)

    with pytest.raises(DatabaseTooNew):
        async with open_store(path):
            pass

    assert file_digest(path) == before


async def test_the_database_folder_is_created(tmp_path: Path) -> None:
    path = tmp_path / "data" / "nested" / "paperboy.db"

    async with open_store(path) as store:
        await save_day(store, DAY2, [small_paper("2401.00001")])

    assert path.is_file()
    assert user_version(path) == LATEST


def _with_broken_migration(sql: str):
    real = migrations()

    def patched() -> list[tuple[int, str, str]]:
        return [*real, (LATEST + 1, f"{LATEST + 1:04d}_broken.sql", sql)]

    return patched


BROKEN_SQL = (
    "CREATE TABLE half_done (x INTEGER);\n"
    "INSERT INTO half_done VALUES (1);\n"
    "ALTER TABLE papers ADD COLUMN doomed TEXT;\n"
    "INSERT INTO no_such_table VALUES (1);\n"
)


async def test_a_failing_migration_rolls_back_and_keeps_the_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "paperboy.db"
    async with open_store(path) as store:
        await save_day(store, DAY2, [full_paper()])
    monkeypatch.setattr(storage.db, "migrations", _with_broken_migration(BROKEN_SQL))

    with pytest.raises(sqlite3.OperationalError, match="no_such_table"):
        async with open_store(path):
            pass

    monkeypatch.undo()
    assert user_version(path) == LATEST
    conn = sqlite3.connect(path)
    try:
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
        columns = {row[1] for row in conn.execute("PRAGMA table_info(papers)")}
    finally:
        conn.close()
    assert "half_done" not in tables
    assert "doomed" not in columns
    async with open_store(path) as store:  # still usable by this version
        assert (await get_paper(store.reader, "2401.08541")).title == AIM_TITLE


async def test_a_failing_first_migration_leaves_an_empty_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "paperboy.db"
    monkeypatch.setattr(storage.db, "migrations", lambda: [(1, "0001_broken.sql", BROKEN_SQL)])
    conn = await aiosqlite.connect(path, isolation_level=None)
    try:
        with pytest.raises(sqlite3.OperationalError):
            await migrate(conn)
        assert await pragma(conn, "user_version") == 0
        assert await conn.execute_fetchall("SELECT name FROM sqlite_master") == []
    finally:
        await conn.close()


async def test_an_incomplete_statement_in_a_migration_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "paperboy.db"
    async with open_store(path):
        pass
    monkeypatch.setattr(
        storage.db,
        "migrations",
        _with_broken_migration("CREATE TABLE fine (x);\nCREATE TABLE cut_off (x\n"),
    )

    with pytest.raises(RuntimeError, match="incomplete SQL statement"):
        async with open_store(path):
            pass

    assert user_version(path) == LATEST


# --- db: write transactions -------------------------------------------------------------------


async def test_write_rolls_back_everything_when_the_block_raises(store: Store) -> None:
    empty = await table_counts(store.reader)

    with pytest.raises(RuntimeError, match="boom"):
        async with store.write() as conn:
            await save_daily_list(conn, DailyList(DAY2, [full_paper()]), T0)
            raise RuntimeError("boom")

    assert await get_paper(store.reader, "2401.08541") is None
    assert await table_counts(store.reader) == empty
    # The writer is usable again afterwards.
    stats = await save_day(store, DAY2, [full_paper()])
    assert stats.new == 1
    assert (await get_paper(store.reader, "2401.08541")).title == AIM_TITLE


@sqlite_only
async def test_a_commit_that_fails_leaves_the_writer_usable(store: Store) -> None:
    with pytest.raises(sqlite3.IntegrityError):
        async with store.write() as conn:  # the constraint is only checked at COMMIT
            await conn.execute("PRAGMA defer_foreign_keys = ON")
            await conn.execute(
                "INSERT INTO daily_entries (day, paper_pk, rank) VALUES ('2024-01-17', 1, 0)"
            )
    async with store.write() as conn:  # not "cannot start a transaction within a transaction"
        await save_papers(conn, [Paper(id="2401.08541", title="Still writable")], T0)
    assert (await get_paper(store.reader, "2401.08541")).title == "Still writable"
    rows = await store.reader.execute_fetchall("SELECT count(*) FROM daily_entries")
    assert rows[0][0] == 0


async def test_concurrent_writes_are_serialised(store: Store) -> None:
    import asyncio

    async def writer(arxiv_id: str) -> None:
        async with store.write() as conn:
            await save_papers(conn, [small_paper(arxiv_id)], T0)
            await asyncio.sleep(0.01)  # another writer would interleave here without the lock

    await asyncio.gather(*(writer(f"2401.0000{n}") for n in range(1, 6)))

    info = await store_info(store.reader)
    assert info.papers == 5


# --- papers: keys -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("older", "newer"),
    [
        ("2401.08541", "2401.08542"),
        ("2401.09999", "2401.10000"),
        ("2401.99999", "2402.00001"),
        ("2312.99999", "2401.00001"),
        ("1412.9999", "1501.00001"),  # 4-digit era before the 5-digit era
        ("0704.0001", "0704.0002"),
        ("0704.9999", "0705.0001"),
        ("hep-th/0703999", "0704.0001"),  # old-style ids stop in 2007-03
        ("quant-ph/0703001", "0704.0001"),
        ("hep-th/9912999", "hep-th/0001001"),  # 1999 before 2000
        ("hep-th/9108001", "hep-th/9108002"),
        ("math/0309136", "math/0310001"),
        ("cs/0101001", "2401.08541"),
    ],
)
def test_paper_key_orders_by_arxiv_month_and_number(older: str, newer: str) -> None:
    assert paper_key(older) < paper_key(newer)


def test_paper_keys_do_not_collide_across_archives() -> None:
    ids = ["hep-th/0101001", "hep-ph/0101001", "math/0101001", "cs/0101001", "0704.0001"]

    assert len({paper_key(i) for i in ids}) == len(ids)


def test_paper_key_of_an_unknown_archive_is_an_error() -> None:
    with pytest.raises(ValueError):
        paper_key("nope/0101001")


# --- papers: saving and loading ---------------------------------------------------------------


async def test_saved_paper_round_trips_every_field(store: Store) -> None:
    stats = await save_day(store, DAY2, [full_paper()])

    loaded = await get_paper(store.reader, "2401.08541")

    assert stats == SaveStats(new=1, vote_rows=1, list_entries=1)
    expected = full_paper(days=[DAY2])
    assert loaded == expected
    assert loaded.authors == AIM_AUTHORS  # in paper order, not alphabetical
    assert loaded.published_at.tzinfo is not None


async def test_times_in_other_zones_are_stored_as_the_same_instant(store: Store) -> None:
    seoul = timezone(timedelta(hours=9))
    published = datetime(2024, 1, 17, 3, 58, 12, tzinfo=seoul)
    await save(store, [full_paper(published_at=published)])

    loaded = await get_paper(store.reader, "2401.08541")

    assert loaded.published_at == published
    assert loaded.published_at.utcoffset() == timedelta(0)


async def test_old_style_paper_round_trips(store: Store) -> None:
    paper = Paper(id="hep-th/9901001", title="Old Strings", authors=["E. Witten"], upvotes=1)
    await save_day(store, DAY1, [paper])

    loaded = await get_paper(store.reader, "hep-th/9901001")

    assert loaded.id == "hep-th/9901001"
    assert loaded.title == "Old Strings"
    assert loaded.authors == ["E. Witten"]
    assert loaded.days == [DAY1]


async def test_unknown_paper_is_none(store: Store) -> None:
    assert await get_paper(store.reader, "2401.08541") is None


async def test_minimal_paper_gets_defaults(store: Store) -> None:
    await save(store, [Paper(id="2401.00001", title="Bare")])

    loaded = await get_paper(store.reader, "2401.00001")

    assert loaded == Paper(id="2401.00001", title="Bare")  # upvotes never seen: None


def three_papers() -> list[Paper]:
    return [
        full_paper(),
        Paper(
            id="2401.08542",
            title="Diffusion Models Beat GANs Again",
            authors=["Michal Klein", "Rui Wang"],
            upvotes=7,
            ai_keywords=["diffusion"],
            summaries=[Summary("ko", "digest", ["확산 모델을 다시 봅니다."])],
        ),
        Paper(id="2312.00001", title="An Older Paper", authors=["Rui Wang"], upvotes=0),
    ]


@pytest.mark.parametrize("second_at", [T0, T0 + timedelta(hours=1)], ids=["same", "later"])
async def test_saving_the_same_list_twice_changes_nothing(
    store: Store, second_at: datetime
) -> None:
    first = await save_day(store, DAY2, three_papers())
    counts = await table_counts(store.reader)

    second = await save_day(store, DAY2, three_papers(), at=second_at)

    assert first.new == 3
    assert first.list_entries == 3
    assert second == SaveStats(unchanged=3)
    assert await table_counts(store.reader) == counts
    assert counts["papers"] == 3
    assert counts["paper_fts"] == 3
    assert counts["title_trigrams"] == 3
    assert counts["author_papers"] == 3
    assert counts["author_fts"] == counts["authors"] == 9
    assert counts["vote_snapshots"] == 3


async def test_saving_the_same_paper_on_two_days(store: Store) -> None:
    await save_day(store, DAY1, [full_paper(), small_paper("2401.00001")])
    stats = await save_day(store, DAY2, [small_paper("2401.00002"), full_paper()])

    loaded = await get_paper(store.reader, "2401.08541")
    info = await store_info(store.reader)

    assert stats.new == 1
    assert stats.list_entries == 2
    assert loaded.days == [DAY1, DAY2]
    assert info.papers == 3
    assert info.days == 2
    assert [p.id for p in await papers_on_day(store.reader, DAY2)] == [
        "2401.08541",
        "2401.00002",
    ]


async def test_a_digest_without_abstract_keeps_the_stored_fields(store: Store) -> None:
    await save_day(store, DAY2, [full_paper()])
    digest_like = Paper(
        id="2401.08541",
        title=AIM_TITLE,
        authors=list(AIM_AUTHORS),
        summaries=[Summary("ko", "digest", KO_BULLETS)],
    )

    stats = await save_day(store, DAY2, [digest_like], at=T0 + timedelta(days=30))

    loaded = await get_paper(store.reader, "2401.08541")
    assert loaded == full_paper(days=[DAY2])
    assert stats.new == 0
    assert stats.vote_rows == 0


async def test_a_new_value_from_a_later_source_replaces_the_stored_one(store: Store) -> None:
    await save(store, [full_paper()])

    stats = await save(store, [full_paper(github_stars=2000, num_comments=5, abstract="New.")])

    loaded = await get_paper(store.reader, "2401.08541")
    assert stats == SaveStats(updated=1)
    assert loaded.github_stars == 2000
    assert loaded.num_comments == 5
    assert loaded.abstract == "New."
    assert loaded.ai_summary == "AIM models scale like LLMs."


async def test_new_summaries_on_a_stored_paper_count_as_an_update(store: Store) -> None:
    await save(store, [full_paper(summaries=[])])

    stats = await save(store, [Paper(id="2401.08541", title=AIM_TITLE, summaries=[
        Summary("ko", "digest", ["새 요약입니다."])
    ])])  # fmt: skip

    assert len((await get_paper(store.reader, "2401.08541")).summaries) == 1
    assert stats == SaveStats(updated=1)


async def test_a_changed_title_is_searched_under_the_new_title_only(store: Store) -> None:
    await save(store, [full_paper()])

    stats = await save(store, [full_paper(title="Vision Transformers Need Registers")])

    assert stats.updated == 1
    assert (await get_paper(store.reader, "2401.08541")).title == (
        "Vision Transformers Need Registers"
    )
    found = await search_papers(store.reader, "registers")
    assert [p.id for p in found.papers] == ["2401.08541"]
    assert (await search_papers(store.reader, "autoregressive")).papers == []
    assert (await search_papers(store.reader, "regressive")).papers == []  # trigram index too
    assert [p.id for p in (await search_papers(store.reader, "gister")).papers] == ["2401.08541"]


async def test_a_changed_author_list_replaces_the_links(store: Store) -> None:
    await save(store, [full_paper()])
    new_authors = ["Joshua M Susskind", "Björn Ommer", "Alaaeldin El-Nouby"]

    stats = await save(store, [full_paper(authors=new_authors)])

    assert stats.updated == 1
    assert (await get_paper(store.reader, "2401.08541")).authors == new_authors
    assert [p.id for p in (await papers_by_author(store.reader, "Bjorn Ommer")).papers] == [
        "2401.08541"
    ]
    assert (await papers_by_author(store.reader, "Michal Klein")).papers == []
    assert [p.id for p in (await papers_by_author(store.reader, "Susskind")).papers] == [
        "2401.08541"
    ]
    ((links,),) = await store.reader.execute_fetchall("SELECT count(*) FROM paper_authors")
    assert links == 3


async def test_an_empty_author_list_keeps_the_stored_one(store: Store) -> None:
    await save(store, [full_paper()])

    stats = await save(store, [full_paper(authors=[])])

    assert stats == SaveStats(unchanged=1)
    assert (await get_paper(store.reader, "2401.08541")).authors == AIM_AUTHORS


async def test_older_data_saved_later_only_fills_in_what_is_missing(store: Store) -> None:
    later = datetime(2024, 10, 18, 23, 59, tzinfo=UTC)
    async with store.write() as conn:  # the newer archive day is imported first
        newer = Paper(id="2410.09342", title="LLM×MapReduce", authors=["A", "B"], upvotes=7)
        await save_daily_list(conn, DailyList(date(2024, 10, 18), [newer]), later)
    async with store.write() as conn:  # then an older day lists it under another title
        older = Paper(
            id="2410.09342", title="LLMtimesMapReduce", authors=["B", "A"], upvotes=3,
            abstract="What the newer day did not say.",
        )  # fmt: skip
        stats = await save_daily_list(
            conn, DailyList(date(2024, 10, 16), [older]), later - timedelta(days=2)
        )
    paper = await get_paper(store.reader, "2410.09342")
    assert (paper.title, paper.authors, paper.upvotes) == ("LLM×MapReduce", ["A", "B"], 7)
    assert paper.abstract == "What the newer day did not say."  # missing before: filled in
    assert paper.days == [date(2024, 10, 16), date(2024, 10, 18)]
    assert stats.updated == 1
    async with store.write() as conn:  # the same older day again: nothing changes
        again = await save_daily_list(
            conn, DailyList(date(2024, 10, 16), [older]), later - timedelta(days=2)
        )
    assert again == SaveStats(unchanged=1)


async def test_a_batch_with_the_same_paper_twice_keeps_the_last(store: Store) -> None:
    stats = await save(
        store,
        [
            full_paper(title="First Version", upvotes=3),
            small_paper("2401.00001"),
            full_paper(title="Second Version", upvotes=5),
        ],
    )

    loaded = await get_paper(store.reader, "2401.08541")
    info = await store_info(store.reader)
    assert stats.new == 2
    assert info.papers == 2
    assert loaded.title == "Second Version"
    assert loaded.upvotes == 5
    assert [p.id for p in (await search_papers(store.reader, "version")).papers] == ["2401.08541"]


async def test_a_daily_list_with_the_same_paper_twice_is_idempotent(store: Store) -> None:
    papers = [full_paper(), small_paper("2401.00001"), full_paper()]
    await save_day(store, DAY2, papers)
    counts = await table_counts(store.reader)

    second = await save_day(store, DAY2, papers)

    assert await table_counts(store.reader) == counts
    assert second == SaveStats(unchanged=2)


async def test_a_paper_listed_twice_keeps_its_first_rank(store: Store) -> None:
    papers = [full_paper(upvotes=None), small_paper("2401.00001"), full_paper(upvotes=None)]

    await save_day(store, DAY2, papers)

    ranks = await store.reader.execute_fetchall(
        "SELECT paper_pk, rank FROM daily_entries ORDER BY rank"
    )
    assert ranks == [(paper_key("2401.08541"), 0), (paper_key("2401.00001"), 1)]
    assert [p.id for p in await papers_on_day(store.reader, DAY2)] == ["2401.08541", "2401.00001"]


# --- papers: write order (ingest speed) -------------------------------------------------------

FTS_TABLES = ("paper_fts", "title_trigrams", "author_papers", "author_fts")


def day_of_papers(first: int, count: int, seed: int) -> list[Paper]:
    """`count` new papers from 2401.{first} on, in a shuffled (upvote-like) order, some with
    summaries and shared authors."""
    papers = [
        Paper(
            id=f"2401.{n:05d}",
            title=f"Paper {n}: Sparse Autoregressive Models Nº{n % 7}",
            authors=[f"Author {n}", f"Author {n % 13}", "Björn Ommer"],
            upvotes=n % 11 or None,
            summaries=[Summary("ko", "digest", [f"요약 {n}"])] if n % 5 == 0 else [],
        )
        for n in range(first, first + count)
    ]
    random.Random(seed).shuffle(papers)
    return papers


async def fts_data_rows(conn: aiosqlite.Connection) -> dict[str, int]:
    return {
        table: (await conn.execute_fetchall(f"SELECT count(*) FROM {table}_data"))[0][0]
        for table in FTS_TABLES
    }


@sqlite_only
async def test_lists_in_any_order_are_indexed_at_commit_only(store: Store) -> None:
    # FTS5 writes its pending terms out whenever a rowid goes down or a statement that may
    # write several rows runs; before keys were sorted, a daily list (in upvote order) cost a
    # small segment per paper, and the merges behind them.
    async with store.write() as conn:
        before = await fts_data_rows(conn)
        await save_daily_list(conn, DailyList(DAY1, day_of_papers(1, 120, seed=1)), T0)
        await save_daily_list(conn, DailyList(DAY2, day_of_papers(121, 120, seed=2)), T0)
        during = await fts_data_rows(conn)

    assert during == before  # nothing written out before COMMIT
    assert (
        len((await search_papers(store.reader, "sparse autoregressive", limit=300)).papers) == 240
    )
    assert len((await papers_by_author(store.reader, "bjorn ommer", limit=300)).papers) == 240


async def test_saving_in_any_order_or_batching_stores_the_same(tmp_path: Path) -> None:
    papers = day_of_papers(1, 60, seed=3) + [full_paper()]
    queries = ["sparse", "paper 7", "autoregressive models", "요약", "nº3", "regressive", "scal"]

    async def build(path: Path, batches: list[list[Paper]]) -> tuple:
        async with open_store(path) as opened:
            stats = SaveStats()
            for batch in batches:
                async with opened.write() as conn:
                    stats += await save_daily_list(conn, DailyList(DAY1, batch), T0)
            loaded = await load_papers(opened.reader, sorted(paper_key(p.id) for p in papers))
            found = [
                [p.id for p in (await search_papers(opened.reader, q, limit=100)).papers]
                for q in queries
            ]
            by_author = [p.id for p in (await papers_by_author(opened.reader, "author 3")).papers]
            counts = await table_counts(opened.reader)
            # FTS5 shadow tables differ by how the terms were split into segments
            counts = {k: v for k, v in counts.items() if not k.endswith(("_data", "_idx"))}
            ranks = await opened.reader.execute_fetchall(
                "SELECT day, paper_pk, rank FROM daily_entries ORDER BY paper_pk"
            )
            return stats, loaded, found, by_author, counts, ranks

    one_list = await build(tmp_path / "one.db", [papers])
    sorted_first = sorted(papers, key=lambda p: paper_key(p.id))
    one_by_one = await build(tmp_path / "each.db", [[p] for p in sorted_first])

    assert one_list[0] == SaveStats(new=61, vote_rows=56, list_entries=61)
    assert one_by_one[0] == SaveStats(new=61, vote_rows=56, list_entries=61)
    assert one_list[1:4] == one_by_one[1:4]  # papers, search results, author lookups
    assert one_list[4] == one_by_one[4]  # row counts
    assert len(one_list[2][0]) == 60
    # One list of 61 papers keeps each paper's place in it, whatever order rows are written in
    # (61 lists of one paper each rank their paper first).
    assert {pk: rank for _, pk, rank in one_list[5]} == {
        paper_key(p.id): rank for rank, p in enumerate(papers)
    }
    assert {rank for _, _, rank in one_by_one[5]} == {0}


@pytest.mark.parametrize(
    "observed",
    [
        datetime(2024, 1, 17, 9, 0, tzinfo=UTC),
        datetime(2024, 1, 17, 9, 0, 0, 123456, tzinfo=UTC),
        datetime(2024, 1, 17, 18, 30, 5, 7, tzinfo=timezone(timedelta(hours=9))),
        datetime(1999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
    ],
)
async def test_a_new_papers_first_snapshot_is_the_same_observation_later(
    store: Store, observed: datetime
) -> None:
    # A new paper's snapshot is written by papers.py, later ones by votes.py: one time format.
    pk = paper_key("2401.08541")
    first = await save(store, [full_paper(upvotes=9)], at=observed)
    again = await save(store, [full_paper(upvotes=9)], at=observed)
    backfill = await save(store, [full_paper(upvotes=7)], at=observed - timedelta(microseconds=1))

    assert (first.vote_rows, again.vote_rows, backfill.vote_rows) == (1, 0, 1)
    assert await upvote_history(store.reader, pk) == [
        (observed - timedelta(microseconds=1), 7),
        (observed, 9),
    ]
    assert (await get_paper(store.reader, "2401.08541")).upvotes == 9


async def test_a_new_papers_summary_is_searchable_and_later_ones_replace_it(
    store: Store,
) -> None:
    await save_day(store, DAY1, [full_paper(summaries=[Summary("en", "digest", ["Porous media"])])])
    assert ids(await search_papers(store.reader, "porous")) == ["2401.08541"]

    stats = await save_day(
        store,
        DAY2,
        [full_paper(summaries=[Summary("en", "digest", ["Granular flows"])])],
        at=T0 + timedelta(days=1),
    )

    assert stats.updated == 1
    assert await search_papers(store.reader, "porous") == SearchPage([], more=False)
    assert ids(await search_papers(store.reader, "granular")) == ["2401.08541"]


async def test_a_statement_failing_mid_save_leaves_nothing_stored(store: Store) -> None:
    # A save queues its statements together; one failing still fails the save, and the
    # statements queued after it are rolled back with the transaction.
    await save(store, [small_paper("2401.00001", "Kept Paper", upvotes=1)])
    counts = await table_counts(store.reader)
    too_big = full_paper(github_stars=2**70)  # does not fit SQLite's INTEGER

    import asyncpg

    with pytest.raises((OverflowError, asyncpg.DataError)):  # PostgreSQL's BIGINT: the same
        await save_day(store, DAY2, [small_paper("2401.00002", "Lost Paper"), too_big])

    assert await table_counts(store.reader) == counts
    assert (await search_papers(store.reader, "lost")).papers == []
    assert ids(await search_papers(store.reader, "kept")) == ["2401.00001"]


# --- papers: lists ----------------------------------------------------------------------------


async def test_papers_on_day_most_upvoted_first_ties_in_list_order(store: Store) -> None:
    await save_day(
        store,
        DAY2,
        [
            small_paper("2401.00001", upvotes=3),
            small_paper("2401.00002", upvotes=10),
            small_paper("2401.00003", upvotes=1),
            small_paper("2401.00004", upvotes=10),
        ],
    )
    await save_day(store, DAY3, [small_paper("2401.00005", upvotes=99)])

    day = await papers_on_day(store.reader, DAY2)

    assert [p.id for p in day] == ["2401.00002", "2401.00004", "2401.00001", "2401.00003"]
    assert [p.upvotes for p in day] == [10, 10, 3, 1]
    assert await papers_on_day(store.reader, DAY1) == []


async def test_latest_day(store: Store) -> None:
    assert await latest_day(store.reader) is None

    await save_day(store, DAY2, [small_paper("2401.00002")])
    await save_day(store, DAY1, [small_paper("2401.00001")])  # an older digest imported later

    assert await latest_day(store.reader) == DAY2


async def test_top_papers_over_a_date_range(store: Store) -> None:
    await save_day(store, DAY1, [small_paper("2401.00001", upvotes=50)])
    await save_day(
        store,
        DAY2,
        [small_paper("2401.00002", upvotes=25), small_paper("2401.00003", upvotes=20)],
    )
    await save_day(
        store,
        DAY3,
        [small_paper("2401.00004", upvotes=30), small_paper("2401.00003", upvotes=20)],
    )

    top = await top_papers(store.reader, DAY2, DAY3)
    page2 = await top_papers(store.reader, DAY2, DAY3, limit=2, offset=1)
    one_day = await top_papers(store.reader, DAY1, DAY1)

    assert [p.id for p in top] == ["2401.00004", "2401.00002", "2401.00003"]  # each paper once
    assert [p.upvotes for p in top] == [30, 25, 20]
    assert [p.id for p in page2] == ["2401.00002", "2401.00003"]
    assert [p.id for p in one_day] == ["2401.00001"]
    assert await top_papers(store.reader, date(2023, 1, 1), date(2023, 12, 31)) == []


async def test_store_info_counts(store: Store) -> None:
    empty = await store_info(store.reader)
    assert (empty.papers, empty.authors, empty.days, empty.first_day, empty.last_day) == (
        0,
        0,
        0,
        None,
        None,
    )
    assert empty.schema_version == (
        len(postgres_migrations()) if isinstance(store.reader.dialect, PostgresDialect) else LATEST
    )

    await save_day(store, DAY1, three_papers())
    await save_day(store, DAY3, [small_paper("2401.00009", upvotes=1)])
    await save_day(store, DAY3, [small_paper("2401.00009", upvotes=2)], at=T0 + timedelta(hours=1))

    info = await store_info(store.reader)
    assert info.papers == 4
    assert info.authors == 9
    assert info.days == 2
    assert (info.first_day, info.last_day) == (DAY1, DAY3)
    assert info.vote_snapshots == 5  # 3 + the new paper's 1 and 2
    assert info.summaries == 3
    assert info.size_bytes > 0


# --- votes ------------------------------------------------------------------------------------


async def test_a_snapshot_is_added_only_when_the_count_changes(store: Store) -> None:
    pk = paper_key("2401.08541")
    rows = []
    for hours, count in ((0, 5), (1, 5), (2, 7)):
        stats = await save_day(
            store, DAY2, [full_paper(upvotes=count)], at=T0 + timedelta(hours=hours)
        )
        rows.append(stats.vote_rows)

    history = await upvote_history(store.reader, pk)

    assert rows == [1, 0, 1]
    assert history == [(T0, 5), (T0 + timedelta(hours=2), 7)]
    assert (await get_paper(store.reader, "2401.08541")).upvotes == 7


async def test_an_older_observation_does_not_overwrite_the_current_count(store: Store) -> None:
    pk = paper_key("2401.08541")
    await save(store, [full_paper(upvotes=40)], at=T0 + timedelta(days=2))

    stats = await save(store, [full_paper(upvotes=12)], at=T0)  # an old digest imported later

    assert stats.vote_rows == 1
    assert (await get_paper(store.reader, "2401.08541")).upvotes == 40
    assert await upvote_history(store.reader, pk) == [(T0, 12), (T0 + timedelta(days=2), 40)]
    top = await top_papers(store.reader, DAY1, DAY3)
    assert top == []  # no daily list saved: top papers come from lists only


async def test_the_same_observation_twice_adds_no_duplicate(store: Store) -> None:
    pk = paper_key("2401.08541")
    await save(store, [full_paper(upvotes=9)], at=T0)

    stats = await save(store, [full_paper(upvotes=9)], at=T0)

    assert stats.vote_rows == 0
    assert await upvote_history(store.reader, pk) == [(T0, 9)]


async def test_a_paper_without_a_count_adds_no_snapshot(store: Store) -> None:
    await save(store, [full_paper(upvotes=None)])

    assert await upvote_history(store.reader, paper_key("2401.08541")) == []
    assert (await get_paper(store.reader, "2401.08541")).upvotes is None


async def test_vote_rows_counts_only_rows_actually_added(store: Store) -> None:
    pk = paper_key("2401.08541")
    await save(store, [full_paper(upvotes=9)], at=T0)

    stats = await save(store, [full_paper(upvotes=11)], at=T0)

    assert len(await upvote_history(store.reader, pk)) == stats.vote_rows + 1


async def test_history_lists_only_changes_after_a_backfill(store: Store) -> None:
    pk = paper_key("2401.08541")
    await save(store, [full_paper(upvotes=5)], at=T0)
    await save(store, [full_paper(upvotes=7)], at=T0 + timedelta(hours=2))

    await save(store, [full_paper(upvotes=7)], at=T0 + timedelta(hours=1))

    counts = [n for _, n in await upvote_history(store.reader, pk)]
    assert all(a != b for a, b in zip(counts, counts[1:], strict=False)), counts


async def test_a_corrected_count_at_a_known_time_keeps_the_later_history(store: Store) -> None:
    # A digest says 9 at T0, a later fetch sees 11, then the digest (corrected to 11) is
    # imported again with the same observation time.
    pk = paper_key("2401.08541")
    later = T0 + timedelta(hours=3)
    await save(store, [full_paper(upvotes=9)], at=T0)
    await save(store, [full_paper(upvotes=11)], at=later)

    await save(store, [full_paper(upvotes=11)], at=T0)

    history = await upvote_history(store.reader, pk)
    assert history[-1][1] == (await get_paper(store.reader, "2401.08541")).upvotes == 11
    # The first count seen at T0 stands (snapshots are append-only); the history stays intact.
    assert history == [(T0, 9), (later, 11)]


async def test_a_paper_first_seen_inside_the_window_has_not_trended(store: Store) -> None:
    # An old paper looked up today arrives with 2,000 upvotes: that is not a gain.
    since = T0 - timedelta(hours=24)
    await save(store, [small_paper("2401.00001", upvotes=5)], at=since - timedelta(hours=1))
    await save(store, [small_paper("2401.00001", upvotes=9)], at=T0)
    await save(store, [small_paper("1706.03762", upvotes=2000)], at=T0)

    gains = await trending(store.reader, since)

    assert gains == [(paper_key("2401.00001"), 4)]


async def test_a_paper_first_seen_inside_the_window_counts_from_its_first_count(
    store: Store,
) -> None:
    since = T0 - timedelta(hours=24)
    await save(store, [small_paper("2401.00002", upvotes=3)], at=T0 - timedelta(hours=5))
    await save(store, [small_paper("2401.00002", upvotes=10)], at=T0)

    assert await trending(store.reader, since) == [(paper_key("2401.00002"), 7)]
