"""What PostgreSQL adds: several processes writing one store at once. Two stores opened on
the same database (two pools, as two bot processes or a bot and a CLI `fetch` would) write
concurrently and lose nothing: every vote counts, a member's two quick clicks toggle, a day is
begun once, new authors from two saves never collide. Skipped where PostgreSQL is missing."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime

from bot.models import Paper
from storage.db import is_busy, open_store
from storage.member_votes import UP, toggle_vote, vote_counts
from storage.papers import paper_key, save_papers
from storage.posts import begin_post

NOW = datetime(2024, 1, 18, 9, tzinfo=UTC)
PAPER = "2401.00101"


async def test_two_processes_voting_at_once_lose_no_vote(postgres_url):
    async with open_store(postgres_url) as a, open_store(postgres_url) as b:
        async with a.write() as conn:
            await save_papers(conn, [Paper(id=PAPER, title="A paper", authors=["Ada"])], NOW)
        pk = paper_key(PAPER)

        async def click(store, user):
            async with store.write() as conn:
                return await toggle_vote(conn, 1, pk, user, UP, NOW)

        clicks = [click(a if user % 2 else b, user) for user in range(1, 41)]
        clicks += [click(a, 99), click(b, 99)]  # one member's double click, on both processes
        results = await asyncio.gather(*clicks)
        assert sorted(results[-2:]) == [0, UP]  # applied one after the other: set, withdrawn
        assert (await vote_counts(a.reader, 1, [pk]))[pk] == (40, 0)
        rows = await b.reader.execute_fetchall(
            "SELECT vote FROM member_vote_log WHERE user_id = 99 ORDER BY rowid"
        )
        assert [vote for (vote,) in rows] == [UP, 0]


async def test_a_day_is_begun_once_and_new_authors_never_collide(postgres_url):
    async with open_store(postgres_url) as a, open_store(postgres_url) as b:

        async def begin(store):
            async with store.write() as conn:
                _, created = await begin_post(
                    conn, channel_id=7, guild_id=1, day=date(2024, 1, 17),
                    plan={"parts": []}, now=NOW,
                )  # fmt: skip
                return created

        assert sorted(await asyncio.gather(*(begin(s) for s in (a, b, a, b)))) == [
            False, False, False, True,
        ]  # fmt: skip

        async def save(store, n):
            paper = Paper(id=f"2401.{n:05d}", title=f"Paper {n}", authors=[f"New author {n}"])
            async with store.write() as conn:
                await save_papers(conn, [paper], NOW)

        await asyncio.gather(*(save(a if n % 2 else b, n) for n in range(1, 21)))
        rows = await a.reader.execute_fetchall("SELECT count(*), count(DISTINCT id) FROM authors")
        assert tuple(rows[0]) == (20, 20)


async def test_a_writer_held_too_long_is_busy_and_the_next_try_works(postgres_url, monkeypatch):
    import storage.postgres

    monkeypatch.setattr(storage.postgres, "WRITE_LOCK_TIMEOUT", "200ms")
    async with open_store(postgres_url) as a, open_store(postgres_url) as b:
        holding, release = asyncio.Event(), asyncio.Event()

        async def hold():
            async with a.write():
                holding.set()
                await release.wait()

        task = asyncio.create_task(hold())
        await holding.wait()
        try:
            async with b.write() as conn:
                await conn.execute("SELECT 1")
        except Exception as exc:  # noqa: BLE001 - the error is what is checked
            assert is_busy(exc)
        else:
            raise AssertionError("a second writer got in while the first held the lock")
        release.set()
        await task
        async with b.write() as conn:
            await conn.execute("SELECT 1")
