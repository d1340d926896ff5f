"""Vote-history charts (bot/charts.py): the pure data and drawing layers, the cache, and the
reads from a real SQLite store (storage/votes.py, storage/member_votes.py)."""

from __future__ import annotations

import struct
import subprocess
import sys
import zlib
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from bot.charts import (
    MAX_POINTS,
    ChartCache,
    VoteHistory,
    chart_title,
    history_from,
    load_history,
    render_png,
    window,
)
from bot.errors import UserError
from bot.models import DailyList, Paper
from storage.db import open_store
from storage.member_votes import DOWN, UP, toggle_vote, vote_log
from storage.papers import get_paper, paper_key, save_daily_list
from storage.votes import upvote_history_since

NOW = datetime(2024, 1, 20, 12, 3, tzinfo=UTC)
START, END = window(NOW, 30)
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MAX_BYTES = 150 * 1024
GUILD, OTHER_GUILD = 111, 222


def snapshots(count: int, *, every: timedelta = timedelta(hours=1), first: int = 10):
    begin = NOW - every * count
    return [(begin + every * i, first + i) for i in range(count)]


def votes(count: int, *, begin: datetime = NOW - timedelta(days=5)):
    """(voted_at, user, vote): members voting up and down, some changing their minds."""
    return [
        (begin + timedelta(minutes=7 * i), 1000 + i % 40, UP if i % 3 else DOWN)
        for i in range(count)
    ]


def history(upvotes=None, server_log=(), listed=(date(2024, 1, 10),), **extra) -> VoteHistory:
    return history_from(
        "2401.08541",
        extra.pop("title", "Scalable Pre-training of Large Autoregressive Image Models"),
        snapshots(48) if upvotes is None else upvotes,
        server_log,
        listed,
        start=extra.pop("start", START),
        end=extra.pop("end", END),
    )


def png_size(png: bytes) -> tuple[int, int]:
    assert png.startswith(PNG_SIGNATURE)
    length, kind = struct.unpack(">I4s", png[8:16])
    assert kind == b"IHDR" and length == 13
    return struct.unpack(">II", png[16:24])


def png_pixels(png: bytes) -> bytes:
    """The decompressed image data (every IDAT chunk): what the picture is, whatever zlib did."""
    data, offset = b"", 8
    while offset < len(png):
        (length,) = struct.unpack(">I", png[offset : offset + 4])
        kind = png[offset + 4 : offset + 8]
        if kind == b"IDAT":
            data += png[offset + 8 : offset + 8 + length]
        offset += 12 + length
    return zlib.decompress(data)


# --- the data -------------------------------------------------------------------------------------


def test_the_window_ends_at_the_clock_rounded_down_and_is_bounded():
    start, end = window(NOW, 30)
    assert end == datetime(2024, 1, 20, 12, 0, tzinfo=UTC)
    assert end - start == timedelta(days=30)
    assert window(NOW + timedelta(minutes=6), 30) == (start, end)  # same chart, from the cache
    for bad in (0, 366):
        with pytest.raises(UserError, match="1 to 365"):
            window(NOW, bad)


def test_days_limit_the_window_and_the_count_in_force_leads():
    old = [(NOW - timedelta(days=40), 5), (NOW - timedelta(days=20), 8), (NOW, 9)]
    week = history(old, start=NOW - timedelta(days=7))
    assert week.upvotes == ((NOW - timedelta(days=7), 8), (NOW, 9))
    assert week.snapshots == 2
    assert history(old).upvotes[0] == (START, 5)  # 30 days: the count of day -40 in force
    later = history([(NOW - timedelta(days=2), 3)])
    assert later.upvotes == ((NOW - timedelta(days=2), 3),)  # the history starts in the window


def test_the_server_log_is_replayed_into_up_and_down_steps():
    t = NOW - timedelta(days=1)
    log = [
        (t, 1, UP),
        (t + timedelta(minutes=1), 2, UP),
        (t + timedelta(minutes=2), 1, DOWN),  # changed their mind
        (t + timedelta(minutes=3), 2, 0),  # withdrawn
        (t + timedelta(minutes=3), 3, DOWN),  # at the same moment
    ]
    data = history(server_log=log)
    assert data.server == (
        (t, 1, 0),
        (t + timedelta(minutes=1), 2, 0),
        (t + timedelta(minutes=2), 1, 1),
        (t + timedelta(minutes=3), 0, 2),
    )
    assert data.current == (57, (0, 2))
    older = history(server_log=log, start=t + timedelta(minutes=2, seconds=30))
    assert older.server[0] == (t + timedelta(minutes=2, seconds=30), 1, 1)  # in force then


def test_data_newer_than_the_window_end_moves_the_end():
    late = NOW + timedelta(minutes=20)
    data = history(server_log=[(late, 1, UP)])
    assert data.end == late and data.server[-1] == (late, 1, 0)


def test_thousands_of_snapshots_are_downsampled_keeping_the_shape():
    many = snapshots(10_000, every=timedelta(minutes=4))
    many[5000] = (many[5000][0], 50_000)  # a spike must survive
    data = history(many)
    assert data.snapshots == 10_000
    assert len(data.upvotes) <= MAX_POINTS
    assert data.upvotes[0] == (START, many[0][1]) or data.upvotes[0] == many[0]
    assert data.upvotes[-1] == many[-1]
    assert max(n for _, n in data.upvotes) == 50_000
    assert [at for at, _ in data.upvotes] == sorted(at for at, _ in data.upvotes)


def test_listed_days_are_kept_within_the_window():
    data = history(listed=[date(2023, 11, 1), START.date(), date(2024, 1, 19)])
    assert data.listed == (START.date(), date(2024, 1, 19))


def test_no_history_at_all_is_empty_and_not_drawn():
    data = history([], server_log=[])
    assert data.empty
    with pytest.raises(ValueError, match="no vote history"):
        render_png(data)
    assert not history([], server_log=[(NOW, 1, UP)]).empty  # a server vote is history too


# --- the picture ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        history(),
        history(server_log=votes(300)),
        history(snapshots(1)),
        history(snapshots(1), server_log=None),
        history(snapshots(10_000, every=timedelta(minutes=4)), server_log=votes(500)),
        history([], server_log=votes(3)),
    ],
    ids=["upvotes", "with-server", "one-snapshot", "no-server", "10k-snapshots", "votes-only"],
)
def test_a_chart_is_a_small_png(data):
    png = render_png(data)
    assert png_size(png) == (800, 400)
    assert len(png) <= MAX_BYTES
    assert b"Matplotlib" not in png  # no version text: the bytes depend on the data only


def test_the_bytes_change_when_a_vote_is_added_and_not_otherwise():
    before = render_png(history(server_log=votes(20)))
    assert render_png(history(server_log=votes(20))) == before  # deterministic
    after = render_png(history(server_log=votes(21)))
    assert after != before and png_pixels(after) != png_pixels(before)
    more_upvotes = [*snapshots(48), (NOW, 500)]
    assert png_pixels(render_png(history(more_upvotes, server_log=votes(20)))) != png_pixels(before)


def test_titles_with_dollars_and_glyphs_the_font_lacks_are_drawn():
    data = history(title="$O(n)$ attention for 한국어 and 中文 🙂 models")
    assert chart_title(data) == "$O(n)$ attention for and models"
    assert render_png(data).startswith(PNG_SIGNATURE)  # no mathtext error for a lone "$"
    assert chart_title(history(title="한국어 논문")) == "2401.08541"
    long = chart_title(history(title="word " * 40))
    assert len(long) <= 70 and long.endswith("…")


# --- the cache ----------------------------------------------------------------------------------


def test_identical_inputs_give_the_cached_image():
    cache = ChartCache()
    first = cache.render(history(server_log=votes(10)))
    again = cache.render(history(server_log=votes(10)))  # built anew, equal
    assert again is first and cache.renders == 1
    changed = cache.render(history(server_log=votes(11)))
    assert changed != first and cache.renders == 2


async def test_render_async_draws_in_a_thread_and_hits_without_one():
    cache = ChartCache()
    data = history()
    png = await cache.render_async(data)
    assert await cache.render_async(history()) is png
    assert cache.renders == 1


def test_the_cache_is_bounded_least_recently_used_first():
    cache = ChartCache(size=2)
    a, b, c = (history(snapshots(n)) for n in (2, 3, 4))
    image_a = cache.render(a)
    cache.render(b)
    assert cache.render(a) is image_a  # a used again: b is now the oldest
    cache.render(c)
    assert len(cache) == 2 and cache.get(b.key) is None and cache.get(a.key) is image_a


def test_matplotlib_is_not_imported_by_the_bot_or_the_cli():
    code = (
        "import sys, bot.app, bot.cli, bot.charts, cogs.papers, cogs.digest, cogs.help\n"
        "print('matplotlib' in sys.modules, 'numpy' in sys.modules)"
    )
    root = Path(__file__).resolve().parents[1]
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=root
    )
    assert done.stdout.split() == ["False", "False"]


# --- from a real store ------------------------------------------------------------------------


@pytest.fixture
async def store(tmp_path):
    async with open_store(tmp_path / "paperboy.db") as opened:
        paper = Paper(id="2401.08541", title="AIM", upvotes=10)
        async with opened.write() as conn:
            await save_daily_list(
                conn, DailyList(date(2024, 1, 17), [paper]), NOW - timedelta(days=3)
            )
            for day, upvotes in ((2, 15), (1, 30)):
                paper.upvotes = upvotes
                await save_daily_list(
                    conn, DailyList(date(2024, 1, 17), [paper]), NOW - timedelta(days=day)
                )
        yield opened


async def test_the_store_reads_the_upvotes_in_force_and_one_servers_log(store):
    pk = paper_key("2401.08541")
    since = await upvote_history_since(store.reader, pk, NOW - timedelta(days=2, hours=12))
    assert since == [(NOW - timedelta(days=3), 10), (NOW - timedelta(days=2), 15),
                     (NOW - timedelta(days=1), 30)]  # fmt: skip
    assert await upvote_history_since(store.reader, pk, NOW - timedelta(days=1)) == [
        (NOW - timedelta(days=1), 30)
    ]
    async with store.write() as conn:
        await toggle_vote(conn, GUILD, pk, 1, UP, NOW - timedelta(hours=2))
        await toggle_vote(conn, OTHER_GUILD, pk, 1, DOWN, NOW - timedelta(hours=1))
        await toggle_vote(conn, GUILD, pk, 1, UP, NOW)  # withdrawn
    assert await vote_log(store.reader, GUILD, pk) == [
        (NOW - timedelta(hours=2), 1, UP),
        (NOW, 1, 0),
    ]


async def test_a_servers_chart_never_shows_another_servers_votes(store):
    pk = paper_key("2401.08541")
    paper = await get_paper(store.reader, "2401.08541")
    async with store.write() as conn:
        for user in range(3):
            await toggle_vote(conn, GUILD, pk, user, UP, NOW - timedelta(hours=5 - user))
    ours = await load_history(store.reader, paper, GUILD, 30, NOW)
    cache = ChartCache()
    image = cache.render(ours)
    async with store.write() as conn:  # another server votes a lot, in the other direction
        for user in range(50):
            await toggle_vote(conn, OTHER_GUILD, pk, user, DOWN, NOW - timedelta(hours=1))
    again = await load_history(store.reader, paper, GUILD, 30, NOW)
    assert again == ours and again.key == ours.key
    assert again.current == (30, (3, 0))
    assert render_png(again) == image
    theirs = await load_history(store.reader, paper, OTHER_GUILD, 30, NOW)
    assert theirs.current == (30, (0, 50)) and render_png(theirs) != image
    without = await load_history(store.reader, paper, None, 30, NOW)
    assert without.server is None and render_png(without) != image
