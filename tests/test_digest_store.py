"""Digest building blocks on a real SQLite file: day completeness, slots, posts log, member
votes, and how a digest is split into messages."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta

import discord
import pytest
from fake_discord import validate_message

from bot import render
from bot.digest import (
    CARDS_PER_MESSAGE,
    COMPACT_PER_MESSAGE,
    PACK_BUDGET,
    DigestOptions,
    add_follow_up,
    header_text,
    make_plan,
    render_part,
    select_papers,
)
from bot.models import DailyList, Paper, Summary
from bot.scheduler import next_slot, today_slot
from storage.days import latest_complete_day, record_failed_poll, record_poll
from storage.db import open_store
from storage.lists import server_top_page
from storage.member_votes import DOWN, UP, WITHDRAWN, toggle_vote, vote_counts
from storage.papers import paper_key, save_daily_list
from storage.posts import (
    FAILED,
    POSTED,
    begin_post,
    fail_post,
    finish_post,
    get_post,
    record_message,
)

DAY = date(2024, 1, 17)
END = datetime(2024, 1, 18, tzinfo=UTC)


@pytest.fixture
async def store(store_target):
    async with open_store(store_target) as opened:
        yield opened


async def _poll(store, ids, at):
    async with store.write() as conn:
        return await record_poll(conn, DAY, ids, at)


# --- when a day is complete -------------------------------------------------------------------


async def test_a_day_is_complete_after_two_identical_polls_once_it_is_over(store):
    assert (await _poll(store, ["a", "b"], END - timedelta(minutes=30))).complete_at is None
    assert (await _poll(store, ["a", "b"], END - timedelta(minutes=1))).complete_at is None
    first = await _poll(store, ["a", "b"], END + timedelta(minutes=10))
    assert first.stable_polls == 1 and first.complete_at is None  # polls before the end don't count
    second = await _poll(store, ["b", "a"], END + timedelta(minutes=40))  # order doesn't matter
    assert second.complete_at == END + timedelta(minutes=40)
    assert await latest_complete_day(store.reader) == (DAY, END + timedelta(minutes=40))
    # It stays complete, and keeps its completion time, whatever later polls say.
    later = await _poll(store, ["a", "b", "c"], END + timedelta(hours=2))
    assert later.complete_at == END + timedelta(minutes=40)


async def test_a_growing_list_or_a_failed_poll_restarts_the_streak(store):
    await _poll(store, ["a"], END + timedelta(minutes=10))
    grown = await _poll(store, ["a", "b"], END + timedelta(minutes=40))  # still growing
    assert grown.stable_polls == 1 and grown.complete_at is None
    async with store.write() as conn:
        await record_failed_poll(conn, DAY)  # Hugging Face down: the next poll can't confirm
    after_failure = await _poll(store, ["a", "b"], END + timedelta(minutes=70))
    assert after_failure.stable_polls == 1 and after_failure.complete_at is None
    assert (await _poll(store, ["a", "b"], END + timedelta(minutes=100))).complete_at is not None


async def test_an_empty_answer_never_completes_a_weekday(store):
    for minutes in (10, 40, 70, 24 * 60 * 3):
        state = await _poll(store, [], END + timedelta(minutes=minutes))
        assert state.complete_at is None and not state.settled
    assert await latest_complete_day(store.reader) is None
    assert DAY.weekday() == 2  # a Wednesday


async def test_an_empty_weekend_day_completes_empty(store):
    saturday = date(2024, 1, 20)
    end = datetime(2024, 1, 21, tzinfo=UTC)
    async with store.write() as conn:
        await record_poll(conn, saturday, [], end + timedelta(minutes=10))
        state = await record_poll(conn, saturday, [], end + timedelta(minutes=40))
    assert state.complete_at == end + timedelta(minutes=40) and state.papers == 0
    assert await latest_complete_day(store.reader) == (saturday, end + timedelta(minutes=40))


async def test_an_empty_answer_after_papers_never_completes_even_a_weekend_day(store):
    sunday = date(2024, 1, 21)
    end = datetime(2024, 1, 22, tzinfo=UTC)
    async with store.write() as conn:
        await record_poll(conn, sunday, ["a"], end - timedelta(hours=3))  # before the end
        for minutes in (10, 40, 70):
            state = await record_poll(conn, sunday, [], end + timedelta(minutes=minutes))
    assert state.complete_at is None


async def test_a_list_that_shrank_does_not_complete_the_day_until_a_day_later(store):
    await _poll(store, ["a", "b", "c"], END + timedelta(minutes=10))
    for minutes in (40, 70, 100):  # Hugging Face answers with part of the list, twice or more
        assert (await _poll(store, ["a"], END + timedelta(minutes=minutes))).complete_at is None
    # The full list is back: that completes the day as usual.
    await _poll(store, ["a", "b", "c"], END + timedelta(minutes=130))
    whole = await _poll(store, ["a", "b", "c"], END + timedelta(minutes=160))
    assert whole.complete_at == END + timedelta(minutes=160)


async def test_a_shrunk_list_that_stays_completes_the_day_half_a_day_after_it_ended(store):
    await _poll(store, ["a", "b", "c"], END + timedelta(minutes=10))
    await _poll(store, ["a", "b"], END + timedelta(hours=11))
    assert (await _poll(store, ["a", "b"], END + timedelta(hours=11.5))).complete_at is None
    late = await _poll(store, ["a", "b"], END + timedelta(hours=12))
    assert late.complete_at == END + timedelta(hours=12)


# --- local times ------------------------------------------------------------------------------


def test_today_slot_is_the_local_time_on_the_local_day():
    now = datetime(2024, 1, 17, 20, 30, tzinfo=UTC)  # Jan 18 05:30 in Seoul, Jan 17 in Berlin
    assert today_slot(now, time(9), "Asia/Seoul") == datetime(2024, 1, 18, 0, 0, tzinfo=UTC)
    assert today_slot(now, time(9), "Europe/Berlin") == datetime(2024, 1, 17, 8, 0, tzinfo=UTC)
    assert next_slot(now, time(9), "Europe/Berlin") == datetime(2024, 1, 18, 8, 0, tzinfo=UTC)


def test_slots_follow_daylight_saving_time():
    # Berlin: 09:00 is 08:00 UTC in winter and 07:00 UTC in summer.
    summer = datetime(2024, 7, 1, 12, tzinfo=UTC)
    assert today_slot(summer, time(9), "Europe/Berlin") == datetime(2024, 7, 1, 7, tzinfo=UTC)
    # 02:30 does not exist on 2024-03-31 in Berlin: the slot is when clocks jumped (01:30 UTC
    # is 03:30 local), never skipped.
    spring = datetime(2024, 3, 31, 12, tzinfo=UTC)
    slot = today_slot(spring, time(2, 30), "Europe/Berlin")
    assert (
        datetime(2024, 3, 31, 0, 30, tzinfo=UTC) <= slot <= datetime(2024, 3, 31, 1, 30, tzinfo=UTC)
    )


# --- posts log -----------------------------------------------------------------------------------


async def test_a_post_keeps_its_first_plan_and_its_recorded_messages(store):
    now = END + timedelta(hours=9)
    plan = {"parts": [[], ["2401.00001"]], "format": "cards"}
    async with store.write() as conn:
        post, created = await begin_post(
            conn, channel_id=1, guild_id=9, day=DAY, plan=plan, now=now
        )
        await record_message(conn, 1, DAY, 0, 111, "k0")
    assert created and post.state == "posting"
    other = {"parts": [[], ["2401.00002"]], "format": "cards"}
    async with store.write() as conn:
        again, created_again = await begin_post(
            conn, channel_id=1, guild_id=9, day=DAY, plan=other, now=now
        )
    assert not created_again
    assert again.parts == plan["parts"]  # the resumed post sends the plan it started with
    assert again.messages == {0: 111}
    async with store.write() as conn:
        await fail_post(conn, 1, DAY, error="500 boom", retry_at=now, now=now)
    failed = await get_post(store.reader, 1, DAY)
    assert (failed.state, failed.error, failed.attempts) == (FAILED, "500 boom", 1)
    async with store.write() as conn:
        await finish_post(conn, 1, DAY, now)
    assert (await get_post(store.reader, 1, DAY)).state == POSTED


# --- member votes ------------------------------------------------------------------------------


async def test_votes_toggle_change_and_count_per_server(store):
    papers = [Paper(id=f"2401.{n:05d}", title=f"P{n}", upvotes=n) for n in (1, 2)]
    async with store.write() as conn:
        await save_daily_list(conn, DailyList(DAY, papers), END)
    a, b = paper_key("2401.00001"), paper_key("2401.00002")
    now = END
    async with store.write() as conn:
        assert await toggle_vote(conn, 7, a, 100, UP, now) == UP
        assert await toggle_vote(conn, 7, a, 101, UP, now) == UP
        assert await toggle_vote(conn, 7, a, 102, DOWN, now) == DOWN
        assert await toggle_vote(conn, 7, a, 102, UP, now) == UP  # changed their mind
        assert await toggle_vote(conn, 7, a, 101, UP, now) == WITHDRAWN  # same click: withdrawn
        assert await toggle_vote(conn, 7, b, 100, DOWN, now) == DOWN
        assert await toggle_vote(conn, 8, b, 100, UP, now) == UP  # another server
    assert await vote_counts(store.reader, 7, [a, b]) == {a: (2, 0), b: (0, 1)}
    assert await vote_counts(store.reader, 8, [a, b]) == {a: (0, 0), b: (1, 0)}
    top = await server_top_page(store.reader, 7, DAY, DAY, limit=10, offset=0)
    assert [(p.id, p.member_votes) for p in top] == [("2401.00001", (2, 0)), ("2401.00002", (0, 1))]
    top = await server_top_page(store.reader, 8, DAY, DAY, limit=10, offset=0)
    assert [(p.id, p.member_votes) for p in top] == [("2401.00002", (1, 0))]
    log = await store.reader.execute_fetchall("SELECT count(*) FROM member_vote_log")
    assert log[0][0] == 7  # every change is kept, withdrawals included
    with pytest.raises(ValueError):
        async with store.write() as conn:
            await toggle_vote(conn, 7, a, 100, 5, now)


# --- what a digest holds -----------------------------------------------------------------------


def _papers(count: int, **extra) -> list[Paper]:
    return [
        Paper(id=f"2401.{n:05d}", title=f"Paper {n}", upvotes=100 - n, **extra)
        for n in range(1, count + 1)
    ]


def test_filters_apply_votes_first_then_top():
    papers = _papers(10) + [Paper(id="2401.00099", title="Unknown votes")]
    kept = select_papers(papers, DigestOptions(top=3, min_votes=95))
    assert [p.id for p in kept] == ["2401.00001", "2401.00002", "2401.00003"]
    assert len(select_papers(papers, DigestOptions(min_votes=95))) == 5
    assert len(select_papers(papers, DigestOptions())) == 11  # unknown votes count as 0


def test_cards_are_packed_within_discord_limits_even_for_huge_papers():
    huge = _papers(
        12,
        abstract="A very long abstract sentence. " * 300,
        authors=[f"Author {i}" for i in range(400)],
    )
    plan = make_plan(DAY, [p.id for p in huge], huge, DigestOptions(format="embeds"))
    assert plan["parts"][0] == []
    assert [pid for part in plan["parts"][1:] for pid in part] == [p.id for p in huge]
    by_id = {p.id: p for p in huge}
    for part in range(1, len(plan["parts"])):
        rendered = render_part(plan, part, by_id, {})
        assert len(rendered.embeds) <= CARDS_PER_MESSAGE
        assert sum(len(e) for e in rendered.embeds) <= PACK_BUDGET or len(rendered.embeds) == 1
        assert len(rendered.view.children) == 4 * len(rendered.embeds)  # a row per card
        assert rendered.embeds[0].title.startswith(f"{1 + sum(map(len, plan['parts'][1:part]))}. ")


def _v2_body(rendered) -> dict:
    return {"flags": 1 << 15, "components": rendered.view.to_components()}


def test_v2_cards_are_valid_within_discord_limits_even_for_huge_papers():
    extra = {
        "abstract": "A very long abstract sentence, with `code` and *stars*. " * 300,
        "authors": [f"Author {i}" for i in range(400)],
        "ai_summary": "An English line. " * 100,
        "summaries": [Summary("ko", "digest", ["아주 긴 한국어 요약 항목입니다. " * 40] * 9)],
        "github_repo": "owner/repo",
        "project_page": "https://example.org/project",
        "image_url": "https://cdn.example.org/thumb.png",
        "video_url": "https://cdn.example.org/clip.mp4",
        "organization": "An Organisation " * 20,
    }
    long_title = ": a very long title" + " and more words" * 20
    huge = [replace(p, title=p.title + long_title) for p in _papers(8, **extra)]
    plan = make_plan(DAY, [p.id for p in huge], huge, DigestOptions(language="ko"))
    assert [len(part) for part in plan["parts"]] == [0, 3, 3, 2]
    by_id = {p.id: p for p in huge}
    counts = {p.id: (12345, 678) for p in huge}
    followed = add_follow_up(plan, huge[:3], datetime(2024, 1, 18, tzinfo=UTC))
    for part in range(1, len(followed["parts"])):
        rendered = render_part(followed, part, by_id, counts)
        assert rendered.is_v2 and rendered.content is None and not rendered.embeds
        assert validate_message(_v2_body(rendered)) == {}, part  # as the fake (Discord) checks
        containers = [c for c in rendered.view.children if isinstance(c, discord.ui.Container)]
        for container, paper_id in zip(containers, followed["parts"][part], strict=True):
            # Each card's own buttons are inside its container, naming its paper.
            (row,) = [c for c in container.children if isinstance(c, discord.ui.ActionRow)]
            assert [b.custom_id for b in row.children] == [
                f"vote:{paper_id}:up", f"vote:{paper_id}:down", f"chart:{paper_id}"
            ]  # fmt: skip
            (gallery,) = [c for c in container.children if isinstance(c, discord.ui.MediaGallery)]
            assert [item.media.url for item in gallery.items] == [
                "https://cdn.example.org/clip.mp4"
            ]
    note = render_part(followed, len(plan["parts"]), by_id, counts)
    assert note.view.children[0].content.startswith("➕ **Daily Papers — 2024-01-17에 논문 3편")


def test_compact_digest_lists_linked_titles_with_votes():
    papers = _papers(20)
    listed = [p.id for p in papers] + [f"2401.{n:05d}" for n in range(900, 905)]
    plan = make_plan(DAY, listed, papers, DigestOptions(format="compact", top=20))
    assert [len(p) for p in plan["parts"]] == [0, COMPACT_PER_MESSAGE, 5]
    rendered = render_part(plan, 2, {p.id: p for p in papers}, None)
    (embed,) = rendered.embeds
    assert embed.description.startswith("`16.` [Paper 16](https://arxiv.org/abs/2401.00016) — ▲ 84")
    assert rendered.view is None
    header = header_text(plan)
    assert header.startswith("📰 **Daily Papers — 2024-01-17** · 20 papers (of 25: top 20)")
    assert len(header) <= render.CONTENT_LIMIT


def test_an_empty_day_has_no_messages():
    assert make_plan(DAY, [], [], DigestOptions())["parts"] == []


async def test_existing_embed_subscriptions_and_posts_keep_their_look_after_the_v2_migration(
    tmp_path,
):
    import json
    import sqlite3

    from storage.db import migrations
    from storage.posts import get_post
    from storage.subscriptions import Subscription, get_subscription, save_subscription

    path = tmp_path / "before.db"
    with sqlite3.connect(path) as old:  # a store as migration 5 left it
        for version, _, sql in migrations()[:5]:
            old.executescript(sql)
            old.execute(f"PRAGMA user_version = {version}")
        old.execute(
            "INSERT INTO subscriptions (channel_id, guild_id, post_time, timezone, format,"
            " created_at) VALUES (1, 9, '09:00', 'UTC', 'cards', '2024-01-01T00:00:00Z'),"
            " (2, 9, '09:00', 'UTC', 'compact', '2024-01-01T00:00:00Z')"
        )
        plan = {"day": "2024-01-17", "format": "cards", "language": "en", "listed": 1,
                "top": None, "min_votes": 0, "parts": [[], ["2401.00001"]]}  # fmt: skip
        old.execute(
            "INSERT INTO posts (channel_id, day, guild_id, state, plan, started_at)"
            " VALUES (1, '2024-01-17', 9, 'posted', ?, '2024-01-17T09:00:00Z')",
            (json.dumps(plan),),
        )
    async with open_store(path) as store:
        assert (await get_subscription(store.reader, 1)).format == "embeds"
        assert (await get_subscription(store.reader, 2)).format == "compact"
        assert (await get_post(store.reader, 1, DAY)).plan["format"] == "embeds"
        async with store.write() as conn:  # new subscriptions get V2 cards
            await save_subscription(
                conn, Subscription(3, 9, time(9), "UTC", created_at=datetime.now(UTC))
            )
        assert (await get_subscription(store.reader, 3)).format == "cards"


async def test_forum_tags_and_crossposts_are_kept_and_checked(store):
    from storage.subscriptions import Subscription, get_subscription, save_subscription

    made = datetime(2024, 1, 1, tzinfo=UTC)
    base = Subscription(channel_id=7, guild_id=1, post_time=time(9), timezone="UTC",
                        created_at=made)  # fmt: skip
    async with store.write() as conn:
        await save_subscription(conn, replace(base, forum_tag="cs.LG"))
    assert (await get_subscription(store.reader, 7)).forum_tag == "cs.LG"
    async with store.write() as conn:  # subscribing again replaces both settings
        await save_subscription(conn, replace(base, crosspost=True, forum_tag=""))
    again = await get_subscription(store.reader, 7)
    assert (again.crosspost, again.forum_tag) == (True, "")
    for bad in ({"crosspost": 1}, {"forum_tag": "x" * 21}, {"forum_tag": 5}):
        with pytest.raises(ValueError):
            async with store.write() as conn:
                await save_subscription(conn, replace(base, **bad))
    assert (await get_subscription(store.reader, 7)).crosspost is True
