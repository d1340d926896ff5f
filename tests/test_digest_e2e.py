"""The daily digest end to end: the real bot against the fake Discord and the loopback Hugging
Face server, with time given by the test (a clock the bot reads; no waiting for real hours).

The ingest and post-check jobs are scheduled far apart here; tests run a round of them
themselves (`ingest.run()`, `jobs.post_due()`), as the scheduler would, at the time they set.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import sqlite3
import subprocess
import sys
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import discord
import pytest
from e2e_settings import TOKEN, digest_settings
from fake_discord import FakeDiscord, FakeGuild, FakeUser, Perm
from http_fixture_server import Reply

from bot.app import PaperBot, configure_endpoints, open_services
from bot.models import Summary
from bot.scheduler import DigestJobs
from storage.db import open_store
from storage.papers import get_paper, save_daily_list, save_papers
from storage.posts import get_post

DAY = date(2024, 1, 17)  # a Wednesday
DAY_END = datetime(2024, 1, 18, tzinfo=UTC)
EPHEMERAL = 64


class Clock:
    """The bot's clock, moved by the test."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def at(self, hours: float) -> None:
        """Set the clock to DAY_END + `hours` (UTC)."""
        self.now = DAY_END + timedelta(hours=hours)


def hf_items(count: int, *, first: int = 101) -> list[dict]:
    """A Daily Papers list in Hugging Face's shape: 2401.00101 ... with falling upvotes."""
    return [
        {
            "paper": {
                "id": f"2401.{n:05d}",
                "title": f"Paper number {n} about diffusion",
                "authors": [{"name": f"Author {n}"}, {"name": "Björn Ommer"}],
                "upvotes": 200 - n,
                "summary": f"Abstract of paper {n}. It has two sentences.",
                "ai_summary": f"Paper {n} in one line.",
            },
            "thumbnail": f"https://cdn.example.org/{n}.png",
        }
        for n in range(first, first + count)
    ]


def serve_day(sources, day: date, reply: Reply):
    """Serve `day`'s list (one page); returns the route, whose replies a test can change."""
    return sources.add("/api/daily_papers", reply, query={"date": day.isoformat(), "p": 0})


@dataclass
class World:
    fake: FakeDiscord
    guild: FakeGuild
    admin: FakeUser
    member: FakeUser
    clock: Clock
    sources: object
    settings: object
    bot: PaperBot | None = None
    services: object = None
    # These tests read embed cards; tests/test_digest_v2_e2e.py subscribes with the default
    # (Components V2 cards) and checks the same guarantees on them.
    card_format: str | None = "embeds"

    @property
    def jobs(self) -> DigestJobs:
        return self.bot.get_cog("Digest").jobs

    def channel(self, name: str):
        return self.guild.channel(name)

    async def slash(self, command: str, user=None, **options):
        """Run a slash command in #general."""
        name, _, sub = command.partition(" ")
        return await self.fake.slash(
            self.guild, self.channel("general"), user or self.admin, name,
            subcommand=sub or None, options=options,
        )  # fmt: skip

    async def subscribe(self, channel: str, time: str, timezone: str, **options) -> str:
        if self.card_format is not None:
            options.setdefault("format", self.card_format)
        interaction = await self.slash(
            "digest subscribe", channel=self.channel(channel), time=time, timezone=timezone,
            **options,
        )  # fmt: skip
        return (await interaction.response())["data"]["content"]

    def posted(self, name: str) -> list[dict]:
        """Messages the bot posted in the channel (not interaction replies), oldest first."""
        return [
            m for m in self.fake.messages(self.channel(name))
            if not m.get("interaction_metadata") and not m["flags"] & EPHEMERAL
            and not m.get("webhook_id")
        ]  # fmt: skip

    async def ingest_at(self, hours: float) -> None:
        self.clock.at(hours)
        await self.services.ingest.run()

    async def post_at(self, hours: float):
        self.clock.at(hours)
        return await self.jobs.post_due()


def _settings(tmp_path: Path, fake: FakeDiscord, sources, guild: FakeGuild, **extra: str):
    return digest_settings(tmp_path, fake, sources, guild, **extra)


@asynccontextmanager
async def bot_running(world: World):
    """Start the bot as `paperboy run` does (in-process), wait for its first ingest round."""
    configure_endpoints(world.settings)
    async with open_services(world.settings, clock=world.clock) as services:
        bot = PaperBot(services, guild_ready_timeout=0.05)
        identified = world.fake.identify_count
        task = asyncio.create_task(bot.start(TOKEN))
        try:
            await world.fake.wait_until_identified(identified + 1)
            await asyncio.wait_for(bot.wait_until_ready(), 10)
            world.bot, world.services = bot, services
            for _ in range(500):  # the start-up ingest round
                if services.ingest.runs:
                    break
                await asyncio.sleep(0.01)
            yield world
        finally:
            await bot.close()
            await asyncio.wait_for(task, 10)


def store_settings(store_target) -> dict[str, str]:
    """The settings that put the bot's store where `store_target` says (conftest: a SQLite
    file, or a PostgreSQL database): these e2e tests run on both backends."""
    if isinstance(store_target, str):
        return {"DATABASE_URL": store_target}
    return {"PAPERBOY_DB": str(store_target)}


@pytest.fixture
async def world(tmp_path, server, discord_endpoints, store_target):
    guild = FakeGuild.create("Papers HQ", channels=["general", "seoul", "berlin", "third"])
    admins = guild.add_role("Admins", Perm.MANAGE_GUILD)
    admin = guild.add_member(FakeUser.create("alice"), roles=[admins]).user
    member = guild.add_member(FakeUser.create("bob")).user
    async with FakeDiscord(guilds=[guild], token=TOKEN) as fake:
        clock = Clock(DAY_END - timedelta(hours=1))
        settings = _settings(tmp_path, fake, server, guild, **store_settings(store_target))
        the_world = World(fake, guild, admin, member, clock, server, settings)
        async with bot_running(the_world):
            await fake.wait_for_sync(guild)
            yield the_world


async def complete_day(world: World, count: int = 7):
    """Serve DAY with `count` papers and poll until it is complete (00:10 and 00:40 UTC);
    returns the route, whose replies a test can change."""
    route = serve_day(world.sources, DAY, Reply.json(hf_items(count)))
    await world.ingest_at(0 + 10 / 60)
    await world.ingest_at(0 + 40 / 60)
    return route


async def posted_day(world: World, count: int, **options):
    """#general subscribed at 09:00 UTC (with `options`), DAY complete with `count` papers and
    posted; returns DAY's route."""
    await world.subscribe("general", "09:00", "UTC", **options)
    route = await complete_day(world, count)
    await world.post_at(9.0)
    return route


def _embeds(messages: list[dict]) -> list[dict]:
    """The cards of `messages`: embeds, or a V2 message's containers (a digest posted
    without a subscription, /digest post or preview, has the default V2 cards)."""
    return [card for message in messages for card in _cards(message)]


def _cards(message: dict) -> list[dict]:
    containers = [c for c in message.get("components") or [] if c.get("type") == 17]
    return (message.get("embeds") or []) + containers


# --- admin commands -------------------------------------------------------------------------


async def test_subscribe_list_and_unsubscribe(world):
    text = await world.subscribe("seoul", "10:00", "asia/seoul", top=5, language="ko")
    assert "Subscribed" in text and "10:00 Asia/Seoul" in text and "top 5" in text
    # A new store: no promise of a post at a time when there is nothing to post.
    assert "No Daily Papers day is complete yet" in text and "<t:" not in text

    listing = await (await world.slash("digest list")).response()
    assert listing["data"]["flags"] & EPHEMERAL
    (field,) = listing["data"]["embeds"][0]["fields"]
    assert field["name"] == "#seoul"
    assert "10:00 Asia/Seoul" in field["value"] and "Next post: <t:" in field["value"]
    assert "Last post: none yet" in field["value"]

    # Subscribing again changes the settings of the same subscription.
    again = await world.subscribe("seoul", "7:30", "Europe/Berlin", format="compact")
    assert again.startswith("Updated")
    gone = await (
        await world.slash("digest unsubscribe", channel=world.channel("seoul"))
    ).response()
    assert "won't get the digest" in gone["data"]["content"]
    empty = await (await world.slash("digest list")).response()
    assert "No channel gets the digest" in empty["data"]["content"]
    missing = await (
        await world.slash("digest unsubscribe", channel=world.channel("seoul"))
    ).response()
    assert "nothing to stop" in missing["data"]["content"]


async def test_members_without_manage_server_are_refused(world):
    for command, options in [
        ("digest list", {}),
        (
            "digest subscribe",
            {"channel": world.channel("general"), "time": "09:00", "timezone": "UTC"},
        ),
    ]:
        reply = await (await world.slash(command, user=world.member, **options)).response()
        assert reply["data"]["flags"] & EPHEMERAL
        assert "Manage Server" in reply["data"]["content"]
    listing = await (await world.slash("digest list")).response()
    assert "No channel gets the digest" in listing["data"]["content"]  # nothing was saved


@pytest.mark.parametrize(
    ("time", "timezone", "expected"),
    [
        ("25:00", "UTC", "not a time of day; use 24-hour HH:MM"),
        ("9am", "UTC", "not a time of day"),
        ("09:00", "Asia/Seol", "did you mean `Asia/Seoul`"),
        ("09:00", "Mars/Olympus", "not a time zone name"),
        ("09:00", "@everyone", "not a time zone name"),
        # Abbreviations and offsets name the zone meant, not a close spelling (KST is not MST).
        ("09:00", "KST", "abbreviation; use the zone's name, `Asia/Seoul`"),
        ("09:00", "EST", "`America/New_York`, so daylight saving is right"),  # EST: fixed −5
        ("09:00", "UTC+9", "`Asia/Seoul`, `Asia/Tokyo`"),
        ("09:00", "GMT+9", "A fixed UTC+9 is `Etc/GMT-9`"),  # not Etc/GMT+9, which is UTC−9
        ("09:00", "+05:30", "`Asia/Kolkata`"),
    ],
)
async def test_bad_times_and_time_zones_get_a_hint(world, time, timezone, expected):
    reply = await (
        await world.slash(
            "digest subscribe", channel=world.channel("general"), time=time, timezone=timezone
        )
    ).response()
    assert reply["data"]["flags"] & EPHEMERAL
    assert expected in reply["data"]["content"]
    assert "@everyone" not in reply["data"]["content"]  # echoed input is defused


async def test_time_zone_autocomplete(world):
    interaction = await world.fake.autocomplete(
        world.guild, world.channel("general"), world.admin, "digest subscribe",
        focused="timezone", value="seoul",
        options={"channel": world.channel("general"), "time": "09:00"},
    )  # fmt: skip
    choices = await interaction.choices()
    assert [c["value"] for c in choices] == ["Asia/Seoul"]
    broad = await world.fake.autocomplete(
        world.guild, world.channel("general"), world.admin, "digest subscribe",
        focused="timezone", value="",
        options={"channel": world.channel("general"), "time": "09:00"},
    )  # fmt: skip
    assert len(await broad.choices()) == 25


async def test_subscribe_names_the_missing_permission(world):
    bot_role = next(r for r in world.guild.roles.values() if r.managed)
    world.channel("third").set_permissions(bot_role, deny=Perm.EMBED_LINKS)
    await world.fake.update_channel(world.channel("third"))
    reply = await (
        await world.slash(
            "digest subscribe", channel=world.channel("third"), time="09:00", timezone="UTC"
        )
    ).response()
    assert "missing **Embed Links**" in reply["data"]["content"]
    listing = await (await world.slash("digest list")).response()
    assert "No channel gets the digest" in listing["data"]["content"]


# --- posting at the right time, once -----------------------------------------------------------


async def test_a_digest_is_posted_once_at_the_local_time_of_each_channel(world):
    await world.subscribe("seoul", "10:00", "Asia/Seoul")  # 01:00 UTC
    await world.subscribe("berlin", "09:00", "Europe/Berlin")  # 08:00 UTC in January
    serve_day(world.sources, DAY, Reply.json(hf_items(7)))
    await world.ingest_at(-0.5)  # the day is not over yet: not complete
    assert await world.post_at(0.95) == []
    await complete_day(world)  # complete at 00:40 UTC
    assert await world.post_at(59 / 60) == []  # 09:59 in Seoul
    posted = await world.post_at(1.0)  # 10:00 in Seoul
    assert [p.channel_id for p in posted] == [world.channel("seoul").id]
    seoul = world.posted("seoul")
    assert seoul[0]["content"].startswith("📰 **Daily Papers — 2024-01-17** · 7 papers")
    cards = _embeds(seoul[1:])
    assert [c["title"].split(". ", 1)[0] for c in cards] == [str(n) for n in range(1, 8)]
    assert cards[0]["url"] == "https://arxiv.org/abs/2401.00101"  # most upvoted first
    assert cards[0]["image"]["url"] == "https://cdn.example.org/101.png"
    assert "AI summary (Hugging Face)" in cards[0]["description"]
    assert world.posted("berlin") == []

    assert await world.post_at(7.99) == []  # 08:59 in Berlin
    await world.post_at(8.0)
    assert len(_embeds(world.posted("berlin"))) == 7
    # Later checks, and a check running twice at once, post nothing again.
    before = len(world.fake.requests_to("POST", r"/channels/\d+/messages"))
    await asyncio.gather(world.post_at(9.0), world.jobs.post_due())
    await world.post_at(30.0)
    assert len(world.fake.requests_to("POST", r"/channels/\d+/messages")) == before
    assert all(m == {"parse": []} for m in world.fake.allowed_mentions)


async def test_a_bot_that_was_down_posts_only_the_newest_day_when_it_is_back(world):
    await world.subscribe("general", "09:00", "UTC")
    serve_day(world.sources, DAY, Reply.json(hf_items(3)))
    next_day = DAY + timedelta(days=1)
    serve_day(world.sources, next_day, Reply.json(hf_items(2, first=150)))
    # Both days complete while no post check runs (the bot was "down" at 09:00 on the 18th).
    await world.ingest_at(0.2)
    await world.ingest_at(0.7)
    await world.ingest_at(24.2)
    await world.ingest_at(24.7)
    await world.post_at(26.0)  # back on the 19th at 02:00: the 19th's 09:00 has not come yet
    assert world.posted("general") == []
    await world.post_at(33.0)
    messages = world.posted("general")
    assert messages[0]["content"].startswith("📰 **Daily Papers — 2024-01-18** · 2 papers")
    assert "2024-01-17" not in " ".join(m["content"] or "" for m in messages)  # no backlog


async def test_filters_language_and_compact_format(world):
    await complete_day(world, count=7)
    async with world.services.store.write() as conn:  # an imported Korean digest summary
        stored = await get_paper(conn, "2401.00102")
        stored.summaries = [Summary("ko", "digest", ["한국어 요약입니다."])]
        await save_papers(conn, [stored], world.clock())
    await world.subscribe("seoul", "09:00", "UTC", top=3, language="ko")
    await world.subscribe("berlin", "09:00", "UTC", min_votes=95, format="compact")
    await world.post_at(9.0)
    seoul = world.posted("seoul")
    assert "논문 3편 (전체 7편 중 상위 3편)" in seoul[0]["content"]
    cards = _embeds(seoul[1:])
    assert len(cards) == 3
    assert "한국어 요약입니다." in cards[1]["description"]  # the channel's language first
    assert "AI 요약 (Hugging Face)" in cards[0]["description"]  # else Hugging Face's
    berlin = world.posted("berlin")
    assert "5 papers (of 7: at least 95 upvotes)" in berlin[0]["content"]
    (listing,) = _embeds(berlin[1:])
    assert listing["description"].count("https://arxiv.org/abs/") == 5
    assert not berlin[1]["components"]  # a list, no vote buttons


async def test_an_empty_day_posts_nothing(world):
    await world.subscribe("general", "09:00", "UTC")
    saturday = date(2024, 1, 20)
    serve_day(world.sources, saturday, Reply.json([]))  # no papers on a weekend day
    await world.ingest_at(72.2)  # the 21st, 00:12 UTC
    await world.ingest_at(72.7)
    await world.post_at(81.0)
    assert world.posted("general") == []
    listing = await (await world.slash("digest list")).response()
    assert "nothing to post" in listing["data"]["embeds"][0]["fields"][0]["value"]


# --- failures ---------------------------------------------------------------------------------


async def test_a_forbidden_channel_fails_alone_and_is_not_retried_in_a_loop(world):
    for name in ("general", "seoul", "third"):
        await world.subscribe(name, "09:00", "UTC")
    await complete_day(world)
    bot_role = next(r for r in world.guild.roles.values() if r.managed)
    world.channel("third").set_permissions(bot_role, deny=Perm.SEND_MESSAGES)
    await world.post_at(9.0)
    assert len(_embeds(world.posted("general"))) == 7
    assert len(_embeds(world.posted("seoul"))) == 7
    assert world.posted("third") == []
    post = await get_post(world.services.store.reader, world.channel("third").id, DAY)
    assert post.state == "failed" and "403" in post.error
    world.fake.take_violations()
    third = rf"/channels/{world.channel('third').id}/messages"
    tries = len(world.fake.requests_to("POST", third))
    for hour in (9.1, 10, 12, 23.9):
        await world.post_at(hour)
    assert len(world.fake.requests_to("POST", third)) == tries  # not before its next post time
    listing = await (await world.slash("digest list")).response()
    third_field = next(f for f in listing["data"]["embeds"][0]["fields"] if f["name"] == "#third")
    assert "failed" in third_field["value"] and "Missing Permissions" in third_field["value"]

    world.channel("third").set_permissions(bot_role)  # an admin fixed it
    await world.post_at(33.0)  # the next day's 09:00: tried again, once
    assert len(_embeds(world.posted("third"))) == 7


async def test_a_429_storm_still_completes_the_digest(world):
    await world.subscribe("general", "09:00", "UTC")
    await complete_day(world)
    world.fake.fail_next("POST", r"/channels/\d+/messages", 429, times=4, retry_after=0.05)
    await world.post_at(9.0)
    messages = world.posted("general")
    assert len(_embeds(messages[1:])) == 7
    assert len({m["id"] for m in messages}) == len(messages)
    post = await get_post(world.services.store.reader, world.channel("general").id, DAY)
    assert post.state == "posted"


async def test_a_server_error_is_retried_later_and_resumes_without_repeating(world):
    await world.subscribe("general", "09:00", "UTC")
    await complete_day(world, count=12)  # a header and 3 card messages
    # The header goes out; Discord answers the next message with a 503.
    gate = world.fake.hold("POST", r"/channels/\d+/messages", after=1)
    posting = asyncio.create_task(world.post_at(9.0))
    await gate.wait_blocked()
    world.fake.fail_next("POST", r"/channels/\d+/messages", 503)
    gate.release()
    await posting
    post = await get_post(world.services.store.reader, world.channel("general").id, DAY)
    assert post.state == "failed" and "503" in post.error
    assert post.retry_at == world.clock() + timedelta(minutes=1)
    assert len(world.posted("general")) == 1
    assert await world.post_at(9.0 + 0.5 / 60) == []  # before the retry time
    await world.post_at(9.0 + 1 / 60)
    messages = world.posted("general")
    assert len(_embeds(messages[1:])) == 12
    assert sum(1 for m in messages if (m["content"] or "").startswith("📰")) == 1


async def test_hugging_face_failing_delays_the_digest_until_it_recovers(world, caplog):
    await world.subscribe("general", "09:00", "UTC")
    route = serve_day(world.sources, DAY, Reply.error(503))
    with caplog.at_level(logging.WARNING, logger="bot.scheduler"):
        for hour in (0.2, 0.7, 1.2):
            await world.ingest_at(hour)
    assert "Daily Papers of 2024-01-17 not polled" in caplog.text
    await world.post_at(9.0)
    assert world.posted("general") == []
    route.replies[:] = [Reply.json(hf_items(4))]
    await world.ingest_at(9.2)
    await world.ingest_at(9.7)
    await world.post_at(9.75)  # 09:00 has passed: posted as soon as the day is complete
    assert len(_embeds(world.posted("general")[1:])) == 4


async def test_a_partial_list_that_grows_is_posted_whole(world):
    await world.subscribe("general", "00:30", "UTC")
    route = serve_day(world.sources, DAY, Reply.json(hf_items(3)))
    await world.ingest_at(0.2)
    route.replies[:] = [Reply.json(hf_items(6))]  # more papers arrived after midnight
    await world.ingest_at(0.7)
    await world.post_at(0.75)
    assert world.posted("general") == []  # two polls disagreed: not complete
    await world.ingest_at(1.2)
    await world.post_at(1.25)
    assert len(_embeds(world.posted("general")[1:])) == 6


# --- votes --------------------------------------------------------------------------------------


def _button(message: dict, custom_id: str) -> dict:
    for row in message["components"]:
        for component in row["components"]:
            if component.get("custom_id") == custom_id:
                return component
    raise AssertionError(f"no button {custom_id}")


async def _vote(world: World, message: dict, custom_id: str, user: FakeUser) -> dict:
    """Click a vote button; returns the private note, sent once the counts are edited in."""
    click = await world.fake.click(message, custom_id=custom_id, user=user)
    return (await click.wait_for_followups(1))[0]


async def test_member_votes_update_the_card_and_survive_a_restart(world):
    await world.subscribe("general", "09:00", "UTC")
    await complete_day(world, count=2)
    await world.post_at(9.0)
    card_message = world.posted("general")[1]
    up = "vote:2401.00101:up"
    assert _button(card_message, up)["label"] == "0"
    assert _button(card_message, "card:2401.00101")["label"].startswith("1. Paper number 101")

    click = await world.fake.click(card_message, custom_id=up, user=world.admin)
    assert (await click.response())["type"] == 6  # acknowledged first, the counts edited in
    note = (await click.wait_for_followups(1))[0]
    assert note["flags"] & EPHEMERAL and "counted" in note["content"]
    assert _button(world.fake.message(card_message["id"]), up)["label"] == "1"

    # Restart the bot: the buttons keep working, the votes are still there.
    await world.bot.close()
    async with bot_running(world):
        await world.fake.wait_for_sync(world.guild)
        await _vote(world, world.fake.message(card_message["id"]), up, world.member)
        assert _button(world.fake.message(card_message["id"]), up)["label"] == "2"
        down = "vote:2401.00101:down"
        await _vote(world, world.fake.message(card_message["id"]), down, world.member)
        updated = world.fake.message(card_message["id"])
        assert (_button(updated, up)["label"], _button(updated, down)["label"]) == ("1", "1")
        assert "withdrawn" in (await _vote(world, updated, up, world.admin))["content"]
        final = world.fake.message(card_message["id"])
        assert (_button(final, up)["label"], _button(final, down)["label"]) == ("0", "1")

        # /paper top source: server ranks by these votes; 2401.00101 now has 0 - 1.
        await _vote(world, final, "vote:2401.00102:up", world.member)
        top = await (await world.slash("paper top", period="week", source="server")).response()
        ranked = top["data"]["embeds"][0]["description"]
        assert ranked.index("2401.00102") < ranked.index("2401.00101")
        by_upvotes = await (await world.slash("paper top", period="week")).response()
        ranked = by_upvotes["data"]["embeds"][0]["description"]
        assert ranked.index("2401.00101") < ranked.index("2401.00102")


async def test_posted_cards_follow_hugging_face_upvotes_for_three_days(world):
    route = await posted_day(world, 2)
    card_message = world.posted("general")[1]
    votes = next(f for f in card_message["embeds"][0]["fields"] if f["name"] == "Upvotes")
    assert votes["value"] == "▲ 99"

    grown = hf_items(2)
    grown[0]["paper"]["upvotes"] = 150
    route.replies[:] = [Reply.json(grown)]
    edits = len(world.fake.requests_to("PATCH", r"/channels/\d+/messages/\d+"))
    await world.ingest_at(10.0)
    edited = world.fake.message(card_message["id"])
    votes = next(f for f in edited["embeds"][0]["fields"] if f["name"] == "Upvotes")
    assert votes["value"] == "▲ 150"
    assert _button(edited, "vote:2401.00101:up")  # the vote buttons stay
    assert len(world.fake.requests_to("PATCH", r"/channels/\d+/messages/\d+")) == edits + 1
    await world.ingest_at(10.5)  # nothing changed: no edit
    assert len(world.fake.requests_to("PATCH", r"/channels/\d+/messages/\d+")) == edits + 1

    grown[0]["paper"]["upvotes"] = 300
    route.replies[:] = [Reply.json(grown)]
    await world.ingest_at(9.0 + 24 * 3 + 1)  # more than three days after the post
    assert len(world.fake.requests_to("PATCH", r"/channels/\d+/messages/\d+")) == edits + 1


# --- preview and manual post ----------------------------------------------------------------------


async def test_preview_is_private_and_post_backfills_once(world):
    await complete_day(world, count=7)
    preview = await world.slash("digest preview")
    body = await preview.response()
    assert body["data"]["flags"] & EPHEMERAL
    assert "Preview" in body["data"]["content"] and "7 papers" in body["data"]["content"]
    assert "Not complete yet" not in body["data"]["content"]
    followups = await preview.wait_for_followups(3)  # 7 V2 cards: 3 + 3 + 1
    assert all(f["flags"] & EPHEMERAL for f in followups)
    shown = len(_cards(body["data"])) + sum(len(_cards(f)) for f in followups)
    assert shown == 7
    assert world.posted("general") == []

    bad = await (await world.slash("digest preview", date="2024-02-30")).response()
    assert "not a real date" in bad["data"]["content"]

    posting = await world.slash("digest post", channel=world.channel("seoul"), date="2024-01-17")
    assert (await posting.response())["type"] == 5  # acknowledged first: posting takes a while
    done = await posting.original()
    assert "Posted the digest of 2024-01-17" in done["content"]
    assert len(_embeds(world.posted("seoul")[1:])) == 7
    twice = await world.slash("digest post", channel=world.channel("seoul"))
    assert "already in" in (await twice.response())["data"]["content"]
    # It counts as that day's post: the subscription made later does not post it again.
    await world.subscribe("seoul", "09:00", "UTC")
    await world.post_at(9.0)
    assert len(_embeds(world.posted("seoul")[1:])) == 7


# --- killed mid-post ---------------------------------------------------------------------------


async def _seed_due_digest(
    db_path: Path,
    guild: FakeGuild,
    channel_id: int,
    papers: int,
    card_format: str = "cards",
    **sub_options,
) -> date:
    """A store where yesterday (UTC, real time) is complete and #general is due at 00:00 UTC."""
    from bot.models import DailyList
    from bot.sources.huggingface import parse_daily_item
    from storage.days import day_end, record_poll
    from storage.db import open_store
    from storage.papers import save_daily_list
    from storage.subscriptions import Subscription, save_subscription

    now = datetime.now(UTC)
    yesterday = now.date() - timedelta(days=1)
    items = [parse_daily_item(item) for item in hf_items(papers)]
    async with open_store(db_path) as store, store.write() as conn:
        await save_daily_list(conn, DailyList(yesterday, items), now)
        for second in (1, 2):
            end = day_end(yesterday) + timedelta(seconds=second)
            await record_poll(conn, yesterday, [p.id for p in items], end)
        await save_subscription(
            conn,
            Subscription(channel_id=channel_id, guild_id=guild.id, post_time=datetime.min.time(),
                         timezone="UTC", created_at=now - timedelta(days=2),
                         format=card_format, **sub_options),
        )  # fmt: skip
    return yesterday


def card_urls(message: dict) -> list[str]:
    """The arXiv links of a digest message's cards: the embeds' URLs, or the links in the
    headings of a V2 message's containers."""
    urls = [embed["url"] for embed in message.get("embeds") or []]
    for container in _cards(message):
        for child in container.get("components") or []:
            if child.get("type") == 10 and (found := ARXIV_LINK.search(child["content"])):
                urls.append(found[0].strip("()"))
                break
    return urls


ARXIV_LINK = re.compile(r"\(https://arxiv\.org/abs/[0-9.]+\)")


@pytest.mark.parametrize("created_before_the_kill", [False, True])
@pytest.mark.parametrize(("card_format", "messages_sent"), [("cards", 5), ("embeds", 4)])
async def test_killing_the_bot_mid_post_neither_repeats_nor_loses_a_message(
    tmp_path, server, created_before_the_kill, card_format, messages_sent
):
    """`python -m bot run`, killed (SIGKILL) while its third message is in flight, then
    started again: the digest ends up whole, each message once, in order. With
    `created_before_the_kill`, Discord had created that message but the bot never learned
    its id; the restarted bot finds it in the channel history instead of sending it again.
    For V2 cards (3 a message) and embed cards (5 a message)."""
    guild = FakeGuild.create("Papers HQ", channels=["general"])
    channel = guild.channel("general")
    db = tmp_path / "run.db"
    day = await _seed_due_digest(db, guild, channel.id, papers=12, card_format=card_format)
    serve_day(server, day, Reply.json(hf_items(12)))
    async with FakeDiscord(guilds=[guild], token=TOKEN) as fake:
        env = {
            **os.environ,
            "DISCORD_TOKEN": TOKEN,
            "PAPERBOY_DB": str(db),
            "HF_API_BASE": server.url,
            "ARXIV_API_BASE": server.url,
            "DISCORD_API_BASE": f"{fake.url}/api/v10",
            "DISCORD_GATEWAY_URL": fake.gateway_url,
            "DEV_GUILD_ID": str(guild.id),
            "POST_CHECK_SECONDS": "0.2",
            "INGEST_INTERVAL_SECONDS": "3600",
        }
        posts = rf"/channels/{channel.id}/messages"
        gate = fake.hold("POST", posts, after=2, commit_first=created_before_the_kill)

        async def start():
            return await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", "run", cwd=tmp_path, env=env,
                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            )  # fmt: skip

        first = await start()
        try:
            await gate.wait_blocked(timeout=30)
        finally:
            first.kill()
            await first.wait()
        if not created_before_the_kill:
            await gate.wait_dropped()  # the request died with the process: never created
        gate.release()
        assert len(fake.messages(channel)) == (3 if created_before_the_kill else 2)

        second = await start()
        try:
            for _ in range(3000):
                if len(fake.messages(channel)) >= messages_sent:
                    break
                await asyncio.sleep(0.01)
            await asyncio.sleep(0.5)  # would a duplicate follow?
        finally:
            second.terminate()
            _, stderr = await asyncio.wait_for(second.communicate(), 20)
        messages = fake.messages(channel)
        assert TOKEN not in stderr.decode()
    assert len(messages) == messages_sent, [card_urls(m) or m["content"] for m in messages]
    assert messages[0]["content"].startswith(f"📰 **Daily Papers — {day}** · 12 papers")
    urls = [url for message in messages[1:] for url in card_urls(message)]
    assert urls == [f"https://arxiv.org/abs/2401.{n:05d}" for n in range(101, 113)]


async def test_help_mentions_the_digest_commands(world):
    body = await (await world.slash("help", user=world.member)).response()
    text = body["data"]["embeds"][0]["description"]
    for command in ("subscribe", "unsubscribe", "list", "preview", "post"):
        assert f"/digest {command}" in text
    assert "/digest subscribe" in text.split("\n\n", 1)[0]  # the intro says what it is for


async def test_a_channel_of_another_server_is_refused(world):
    other = FakeGuild.create("Elsewhere", channels=["news"])
    await world.fake.add_guild(other)
    for _ in range(200):
        if world.bot.get_guild(other.id):
            break
        await asyncio.sleep(0.01)
    for command in ("digest subscribe", "digest post"):
        options = {"channel": other.channel("news"), "time": "09:00", "timezone": "UTC"}
        if command == "digest post":
            options = {"channel": other.channel("news")}
        reply = await (await world.slash(command, **options)).response()
        assert "pick a channel of this server" in reply["data"]["content"].lower()
    assert world.fake.messages(other.channel("news")) == []


async def test_the_scheduler_polls_completes_and_posts_by_itself(
    tmp_path, server, discord_endpoints
):
    """No test-driven rounds: the APScheduler jobs poll, see the day complete, and post."""
    guild = FakeGuild.create("Papers HQ", channels=["general"])
    admins = guild.add_role("Admins", Perm.MANAGE_GUILD)
    admin = guild.add_member(FakeUser.create("alice"), roles=[admins]).user
    serve_day(server, DAY, Reply.json(hf_items(3)))
    async with FakeDiscord(guilds=[guild], token=TOKEN) as fake:
        clock = Clock(DAY_END + timedelta(hours=10))
        settings = _settings(
            tmp_path, fake, server, guild, INGEST_INTERVAL_SECONDS="0.1", POST_CHECK_SECONDS="0.1"
        )
        world = World(fake, guild, admin, admin, clock, server, settings)
        async with bot_running(world):
            await fake.wait_for_sync(guild)
            await world.subscribe("general", "09:00", "UTC")
            for _ in range(1000):
                if len(world.posted("general")) == 2:
                    break
                await asyncio.sleep(0.01)
            await asyncio.sleep(0.3)  # a few more rounds: nothing more is posted
            assert len(world.posted("general")) == 2
            assert len(_embeds(world.posted("general"))) == 3


async def test_language_autocomplete_and_validation(world):
    interaction = await world.fake.autocomplete(
        world.guild, world.channel("general"), world.admin, "digest subscribe",
        focused="language", value="kor",
        options={"channel": world.channel("general"), "time": "09:00", "timezone": "UTC"},
    )  # fmt: skip
    assert [c["value"] for c in await interaction.choices()] == ["ko"]
    bad = await world.subscribe("general", "09:00", "UTC", language="Korean!")
    assert "not a language code" in bad
    ok = await world.subscribe("general", "09:00", "UTC", language="ZH_tw")
    assert "summaries in zh-tw" in ok


async def test_a_deleted_channel_is_marked_failed_and_left_alone(world):
    await world.subscribe("third", "09:00", "UTC")
    await complete_day(world)
    third = world.channel("third").id
    await world.fake.delete_channel(world.channel("third"))
    await world.post_at(9.0)
    post = await get_post(world.services.store.reader, third, DAY)
    assert post.state == "failed" and "404" in post.error
    sends = len(world.fake.requests_to("POST", r"/channels/\d+/messages"))
    await world.post_at(12.0)
    assert len(world.fake.requests_to("POST", r"/channels/\d+/messages")) == sends
    listing = await (await world.slash("digest list")).response()
    assert "failed" in listing["data"]["embeds"][0]["fields"][0]["value"]


async def test_server_errors_are_retried_three_times_then_wait_for_the_next_day(world):
    await world.subscribe("general", "09:00", "UTC")
    await complete_day(world, count=2)
    now = 9.0
    for delay in (1, 5, 25):  # minutes after each failure
        world.fake.fail_next("POST", r"/channels/\d+/messages", 503)
        await world.post_at(now)
        post = await get_post(world.services.store.reader, world.channel("general").id, DAY)
        assert post.state == "failed"
        assert post.retry_at == world.clock() + timedelta(minutes=delay)
        now += delay / 60
    world.fake.fail_next("POST", r"/channels/\d+/messages", 503)
    await world.post_at(now)  # the fourth failure: no retry time any more
    post = await get_post(world.services.store.reader, world.channel("general").id, DAY)
    assert (post.state, post.retry_at, post.attempts) == ("failed", None, 4)
    sends = len(world.fake.requests_to("POST", r"/channels/\d+/messages"))
    await world.post_at(now + 2)
    assert len(world.fake.requests_to("POST", r"/channels/\d+/messages")) == sends
    await world.post_at(33.0)  # the next day's 09:00
    assert len(_embeds(world.posted("general"))) == 2


# --- rate limits that outlast discord.py's retries ----------------------------------------

DISCORD_PY_TRIES = 5  # discord.py sends a request at most this often before it gives up on 429s


async def test_a_rate_limit_that_outlasts_discord_py_is_retried_after_it_not_given_up(world):
    await world.subscribe("general", "09:00", "UTC")
    await complete_day(world, count=7)
    # The header goes out; then every try of the next message is answered 429.
    gate = world.fake.hold("POST", r"/channels/\d+/messages", after=1)
    posting = asyncio.create_task(world.post_at(9.0))
    await gate.wait_blocked()
    world.fake.fail_next(
        "POST", r"/channels/\d+/messages", 429, times=DISCORD_PY_TRIES, retry_after=0.01
    )
    gate.release()
    await posting
    general = world.channel("general").id
    post = await get_post(world.services.store.reader, general, DAY)
    assert post.state == "failed" and "rate limited" in post.error
    assert post.retry_at == world.clock() + timedelta(seconds=1)  # Discord's Retry-After
    assert post.attempts == 0  # a rate limit does not use up the day's retries
    listing = await (await world.slash("digest list")).response()
    assert "retrying" in listing["data"]["embeds"][0]["fields"][0]["value"]

    await world.post_at(9.0 + 2 / 3600)  # two seconds later
    messages = world.posted("general")
    assert len(_embeds(messages[1:])) == 7
    assert sum(1 for m in messages if (m["content"] or "").startswith("📰")) == 1
    post = await get_post(world.services.store.reader, general, DAY)
    assert post.state == "posted"


async def test_rate_limits_many_times_in_a_row_still_post_the_day_once(world):
    await world.subscribe("general", "09:00", "UTC")
    await complete_day(world, count=3)
    now = 9.0
    for _ in range(6):  # more than the three retries a server error gets
        world.fake.fail_next(
            "POST", r"/channels/\d+/messages", 429, times=DISCORD_PY_TRIES, retry_after=0.01
        )
        await world.post_at(now)
        now += 2 / 3600
    assert world.posted("general") == []
    await world.post_at(now)
    messages = world.posted("general")
    assert len(messages) == 2 and len(_embeds(messages[1:])) == 3


async def test_a_rate_limited_live_edit_is_tried_again_not_dropped(world):
    route = await posted_day(world, 2)
    card_message = world.posted("general")[1]
    grown = hf_items(2)
    grown[0]["paper"]["upvotes"] = 150
    route.replies[:] = [Reply.json(grown)]
    world.fake.fail_next(
        "PATCH", r"/channels/\d+/messages/\d+", 429, times=DISCORD_PY_TRIES, retry_after=0.01
    )
    await world.ingest_at(10.0)
    votes = next(f for f in world.fake.message(card_message["id"])["embeds"][0]["fields"]
                 if f["name"] == "Upvotes")  # fmt: skip
    assert votes["value"] == "▲ 99"  # not edited this round
    await world.ingest_at(10.5)
    votes = next(f for f in world.fake.message(card_message["id"])["embeds"][0]["fields"]
                 if f["name"] == "Upvotes")  # fmt: skip
    assert votes["value"] == "▲ 150"


async def test_an_unreadable_history_delays_a_resume_instead_of_risking_a_duplicate(world):
    await world.subscribe("general", "09:00", "UTC")
    await complete_day(world, count=12)
    gate = world.fake.hold("POST", r"/channels/\d+/messages", after=1)
    posting = asyncio.create_task(world.post_at(9.0))
    await gate.wait_blocked()
    world.fake.fail_next("POST", r"/channels/\d+/messages", 503)
    gate.release()
    await posting  # the header is out, the rest failed: the resume reads the history first
    world.fake.fail_next(
        "GET", r"/channels/\d+/messages", 429, times=DISCORD_PY_TRIES, retry_after=0.01
    )
    await world.post_at(9.0 + 1 / 60)
    general = world.channel("general").id
    post = await get_post(world.services.store.reader, general, DAY)
    assert post.state == "failed" and "rate limited" in post.error
    assert len(world.posted("general")) == 1
    await world.post_at(9.0 + 2 / 60)
    messages = world.posted("general")
    assert len(_embeds(messages[1:])) == 12 and len(messages) == 4


async def test_discord_py_refusing_to_wait_is_a_rate_limit_too(world):
    from bot.digest import RateLimitedFailure

    async def request():  # what discord.py raises when max_ratelimit_timeout is exceeded
        raise discord.RateLimited(42.0)

    with pytest.raises(RateLimitedFailure) as caught:
        await world.bot.get_cog("Digest").poster._call(request())
    assert caught.value.retry_after == 42.0


# --- when a day is complete, and papers added to it later ----------------------------------------


async def test_empty_answers_after_midnight_do_not_post_an_empty_weekday(world):
    await world.subscribe("general", "00:30", "UTC")
    route = serve_day(world.sources, DAY, Reply.json([]))
    for hours in (0.2, 0.7, 1.2):
        await world.ingest_at(hours)
        await world.post_at(hours + 0.05)
    assert world.posted("general") == []
    assert await get_post(world.services.store.reader, world.channel("general").id, DAY) is None
    route.replies[:] = [Reply.json(hf_items(6))]
    await world.ingest_at(1.7)
    await world.ingest_at(2.2)
    await world.post_at(2.25)
    assert len(_embeds(world.posted("general")[1:])) == 6


async def test_a_list_that_shrank_is_not_posted_short(world):
    await world.subscribe("general", "00:30", "UTC")
    route = serve_day(world.sources, DAY, Reply.json(hf_items(7)))
    await world.ingest_at(0.2)
    route.replies[:] = [Reply.json(hf_items(2))]  # a partial answer, twice
    await world.ingest_at(0.7)
    await world.ingest_at(1.2)
    await world.post_at(1.25)
    assert world.posted("general") == []
    route.replies[:] = [Reply.json(hf_items(7))]
    await world.ingest_at(1.7)
    await world.ingest_at(2.2)
    await world.post_at(2.25)
    assert len(_embeds(world.posted("general")[1:])) == 7


def first_text(message: dict) -> str:
    """A message's content, or a V2 message's first top-level text display."""
    texts = [c["content"] for c in message.get("components") or [] if c.get("type") == 10]
    return message["content"] or (texts[0] if texts else "")


def _follow_ups(messages: list[dict]) -> list[dict]:
    return [m for m in messages if first_text(m).startswith("➕")]


async def test_papers_added_after_the_digest_follow_up_once_within_each_channels_filters(world):
    await world.subscribe("general", "09:00", "UTC")
    await world.subscribe("seoul", "09:00", "UTC", min_votes=90)
    await world.subscribe("berlin", "09:00", "UTC", format="compact")
    route = serve_day(world.sources, DAY, Reply.json(hf_items(5)))  # 99 ... 95 upvotes
    await world.ingest_at(0.2)
    await world.ingest_at(0.7)
    await world.post_at(9.0)
    assert len(_embeds(world.posted("general")[1:])) == 5

    # Hugging Face adds three papers the next morning: 150, 80 and 79 upvotes.
    added = [*hf_items(1, first=50), *hf_items(2, first=120)]
    route.replies[:] = [Reply.json(hf_items(5) + added)]
    await world.ingest_at(10.0)
    await world.post_at(10.05)
    assert _follow_ups(world.posted("general")) == []  # the list is still changing
    await world.ingest_at(10.5)  # the same list again: the day is settled
    await world.post_at(10.55)

    general = world.posted("general")
    (note,) = _follow_ups(general)
    assert note["content"].startswith("➕ **+3 papers added to Daily Papers — 2024-01-17**")
    assert [c["title"].split(". ", 1)[0] for c in note["embeds"]] == ["6", "7", "8"]
    assert note["embeds"][0]["url"] == "https://arxiv.org/abs/2401.00050"  # most upvoted first
    assert _button(note, "vote:2401.00050:up")["label"] == "0"  # members can vote on them
    (seoul_note,) = _follow_ups(world.posted("seoul"))  # at least 90 upvotes: only one
    assert seoul_note["content"].startswith("➕ **+1 paper added")
    assert [c["url"] for c in seoul_note["embeds"]] == ["https://arxiv.org/abs/2401.00050"]
    (berlin_note,) = _follow_ups(world.posted("berlin"))  # compact: one more list
    listing = berlin_note["embeds"][0]["description"]
    assert all(f"2401.{n:05d}" in listing for n in (50, 120, 121))
    assert "2401.00101" not in listing

    # Exactly once: more rounds, a check running twice at once, nothing new is sent.
    sends = len(world.fake.requests_to("POST", r"/channels/\d+/messages"))
    await world.ingest_at(11.0)
    await asyncio.gather(world.post_at(11.05), world.jobs.post_due())
    await world.post_at(12.0)
    assert len(world.fake.requests_to("POST", r"/channels/\d+/messages")) == sends
    listing = await (await world.slash("digest list")).response()
    fields = {f["name"]: f["value"] for f in listing["data"]["embeds"][0]["fields"]}
    assert "posted, 8 papers" in fields["#general"]


async def test_a_follow_up_interrupted_by_a_server_error_is_retried_and_sent_once(world):
    route = await posted_day(world, 2)
    route.replies[:] = [Reply.json(hf_items(9))]  # seven more: two follow-up messages
    await world.ingest_at(10.0)
    await world.ingest_at(10.5)
    gate = world.fake.hold("POST", r"/channels/\d+/messages", after=1)
    posting = asyncio.create_task(world.post_at(10.55))
    await gate.wait_blocked()
    world.fake.fail_next("POST", r"/channels/\d+/messages", 503)
    gate.release()
    await posting
    # The newer day completes meanwhile; the follow-up of the 17th is still retried.
    serve_day(world.sources, DAY + timedelta(days=1), Reply.json(hf_items(2, first=150)))
    await world.ingest_at(24.2)
    await world.ingest_at(24.7)
    await world.post_at(24.75)  # the retry of the 17th's follow-up (due since 10:56)
    messages = world.posted("general")
    (note,) = _follow_ups(messages)
    assert note["content"].startswith("➕ **+7 papers added")
    assert len(_embeds(messages[messages.index(note) :])) == 7
    await world.post_at(33.0)  # and the 18th at its time
    assert world.posted("general")[-2]["content"].startswith("📰 **Daily Papers — 2024-01-18**")


async def test_papers_added_three_days_later_are_not_posted(world):
    route = await posted_day(world, 2)
    route.replies[:] = [Reply.json(hf_items(4))]
    await world.ingest_at(48.2)  # the 20th: the 17th is three days old
    await world.ingest_at(48.7)
    await world.post_at(48.75)
    assert _follow_ups(world.posted("general")) == []


async def test_posting_an_incomplete_day_says_so_and_the_rest_follows_when_it_is_complete(world):
    route = serve_day(world.sources, DAY, Reply.json(hf_items(3)))
    world.clock.at(-3.0)  # 21:00 UTC on the 17th: Hugging Face is still adding papers
    await world.services.ingest.run()
    posting = await world.slash("digest post", channel=world.channel("seoul"), date="2024-01-17")
    first = await posting.response()
    assert first["data"]["flags"] & EPHEMERAL
    assert "not complete yet" in first["data"]["content"]
    done = (await posting.wait_for_followups(1))[-1]
    assert "Posted the digest of 2024-01-17" in done["content"]
    assert len(_embeds(world.posted("seoul")[1:])) == 3

    preview = await (await world.slash("digest preview", date="2024-01-17")).response()
    assert "Not complete yet" in preview["data"]["content"]

    await world.subscribe("seoul", "09:00", "Asia/Seoul")
    route.replies[:] = [Reply.json(hf_items(6))]
    await world.ingest_at(0.2)
    await world.ingest_at(0.7)  # complete now, with six papers
    await world.post_at(0.75)
    seoul = world.posted("seoul")
    assert sum(1 for m in seoul if (m["content"] or "").startswith("📰")) == 1
    (note,) = _follow_ups(seoul)
    assert first_text(note).startswith("➕ **+3 papers added")
    assert len(_embeds(seoul[1:])) == 6


# --- vote clicks that fail, or wait for the database ----------------------------------------------


async def _posted_cards(world: World, count: int = 2) -> dict:
    await posted_day(world, count)
    return world.posted("general")[1]


async def test_a_vote_on_a_paper_gone_from_the_store_is_answered(world):
    card_message = await _posted_cards(world)
    async with world.services.store.write() as conn:  # an operator pruned the store
        await conn.execute("DELETE FROM papers WHERE id = '2401.00101'")
    click = await world.fake.click(card_message, custom_id="vote:2401.00101:up", user=world.member)
    note = (await click.wait_for_followups(1))[0]
    assert note["flags"] & EPHEMERAL
    assert "no longer in paperboy's store" in note["content"]
    assert _button(world.fake.message(card_message["id"]), "vote:2401.00101:up")["label"] == "0"


async def test_a_vote_is_acknowledged_while_another_process_holds_the_write_lock(world):
    card_message = await _posted_cards(world)
    up = "vote:2401.00101:up"
    held, release = asyncio.Event(), asyncio.Event()

    async def other_process() -> None:  # e.g. a `paperboy fetch` writing a long range
        async with open_store(world.settings.store_target) as other, other.write():
            held.set()
            await release.wait()

    holder = asyncio.create_task(other_process())
    await held.wait()
    try:
        click = await world.fake.click(card_message, custom_id=up, user=world.member)
        assert (await click.response())["type"] == 6  # answered while the lock is still held
        assert _button(world.fake.message(card_message["id"]), up)["label"] == "0"
    finally:
        release.set()
        await holder
    note = (await click.wait_for_followups(1))[0]
    assert "counted" in note["content"]
    assert _button(world.fake.message(card_message["id"]), up)["label"] == "1"


@pytest.mark.parametrize("store_target", ["sqlite"], indirect=True)  # SQLite's busy_timeout
async def test_a_vote_that_cannot_get_the_write_lock_says_so_privately(world):
    card_message = await _posted_cards(world)
    async with world.services.store.write() as conn:
        await conn.execute("PRAGMA busy_timeout = 100")  # rather than waiting the full 5 s
    other = sqlite3.connect(world.settings.database_path, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    try:
        click = await world.fake.click(
            card_message, custom_id="vote:2401.00101:up", user=world.member
        )
        note = (await click.wait_for_followups(1))[0]
    finally:
        other.rollback()
        other.close()
    assert note["flags"] & EPHEMERAL and "busy right now" in note["content"]
    assert _button(world.fake.message(card_message["id"]), "vote:2401.00101:up")["label"] == "0"


def test_a_full_disk_is_named_to_the_member_not_hidden(tmp_path):
    from bot.app import user_message

    db = sqlite3.connect(tmp_path / "tiny.db")
    db.execute("CREATE TABLE t (x TEXT)")
    db.execute("PRAGMA max_page_count = 2")  # the disk "fills" after two pages
    with pytest.raises(sqlite3.OperationalError) as full:
        for _ in range(100):
            db.execute("INSERT INTO t VALUES (?)", ("x" * 1000,))
    assert "disk is full" in user_message(full.value, "a test")


async def test_papers_added_to_a_day_posted_empty_get_a_digest_not_a_follow_up(world):
    await world.subscribe("general", "09:00", "UTC")
    saturday = date(2024, 1, 20)
    route = serve_day(world.sources, saturday, Reply.json([]))
    await world.ingest_at(72.2)  # complete and empty: nothing to post
    await world.ingest_at(72.7)
    await world.post_at(81.0)
    assert world.posted("general") == []
    route.replies[:] = [Reply.json(hf_items(2))]  # Hugging Face lists two papers after all
    await world.ingest_at(82.0)
    await world.ingest_at(82.5)
    await world.post_at(82.55)
    messages = world.posted("general")
    assert messages[0]["content"].startswith("📰 **Daily Papers — 2024-01-20** · 2 papers")
    assert _follow_ups(messages) == []
    assert [c["title"].split(". ", 1)[0] for c in _embeds(messages[1:])] == ["1", "2"]


async def test_a_top_n_channel_gets_no_more_than_n_papers_from_follow_ups(world):
    route = await posted_day(world, 2, top=3)
    route.replies[:] = [Reply.json(hf_items(2) + hf_items(3, first=50))]  # 150, 149, 148 votes
    await world.ingest_at(10.0)
    await world.ingest_at(10.5)
    await world.post_at(10.55)
    (note,) = _follow_ups(world.posted("general"))
    assert note["content"].startswith("➕ **+1 paper added")
    assert [c["url"] for c in note["embeds"]] == ["https://arxiv.org/abs/2401.00050"]
    assert len(_embeds(world.posted("general")[1:])) == 3


async def test_a_follow_up_has_retries_of_its_own(world):
    await world.subscribe("general", "09:00", "UTC")
    route = serve_day(world.sources, DAY, Reply.json(hf_items(2)))
    await world.ingest_at(0.2)
    await world.ingest_at(0.7)
    now = 9.0
    for delay in (1, 5, 25):  # the digest itself needed all three retries
        world.fake.fail_next("POST", r"/channels/\d+/messages", 503)
        await world.post_at(now)
        now += delay / 60
    await world.post_at(now)
    assert len(_embeds(world.posted("general")[1:])) == 2
    route.replies[:] = [Reply.json(hf_items(4))]
    await world.ingest_at(10.0)
    await world.ingest_at(10.5)
    world.fake.fail_next("POST", r"/channels/\d+/messages", 503)
    await world.post_at(10.55)
    post = await get_post(world.services.store.reader, world.channel("general").id, DAY)
    assert post.state == "failed" and post.retry_at == world.clock() + timedelta(minutes=1)
    await world.post_at(10.55 + 1 / 60)
    (note,) = _follow_ups(world.posted("general"))
    assert len(note["embeds"]) == 2


async def test_a_follow_up_cut_short_is_found_in_the_history_after_members_talked(world):
    route = await posted_day(world, 2)
    for n in range(25):  # a busy channel between the digest and the follow-up
        world.fake._create_message(world.channel("general"), {"content": f"chat {n}"})
    route.replies[:] = [Reply.json(hf_items(4))]
    await world.ingest_at(10.0)
    await world.ingest_at(10.5)
    # Discord creates the follow-up, then the bot dies before it learns the message's id.
    gate = world.fake.hold("POST", r"/channels/\d+/messages", commit_first=True)
    posting = asyncio.create_task(world.post_at(10.55))
    await gate.wait_blocked()
    posting.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await posting
    gate.release()
    await world.post_at(10.6)  # the resume finds it instead of sending it again
    assert len(_follow_ups(world.posted("general"))) == 1


async def test_an_unsubscribed_channel_gets_no_follow_up(world):
    route = await posted_day(world, 2)
    await (await world.slash("digest unsubscribe", channel=world.channel("general"))).response()
    route.replies[:] = [Reply.json(hf_items(4))]
    await world.ingest_at(10.0)
    await world.ingest_at(10.5)
    await world.post_at(10.55)
    assert _follow_ups(world.posted("general")) == []
    post = await get_post(world.services.store.reader, world.channel("general").id, DAY)
    assert post.state == "posted"  # not left waiting to be sent


async def test_a_shrunk_list_is_posted_half_a_day_later_rather_than_lost(world):
    await world.subscribe("general", "09:00", "UTC")
    route = serve_day(world.sources, DAY, Reply.json(hf_items(4)))
    await world.ingest_at(0.2)
    route.replies[:] = [Reply.json(hf_items(3))]  # one paper is gone for good
    for hours in (0.7, 1.2, 6.0, 11.5):
        await world.ingest_at(hours)
    await world.post_at(11.55)
    assert world.posted("general") == []
    await world.ingest_at(12.0)
    await world.post_at(12.05)
    assert len(_embeds(world.posted("general")[1:])) == 4  # the stored list keeps all four


async def test_posting_an_old_day_that_was_never_polled_gives_no_incomplete_note(world):
    from bot.models import DailyList
    from bot.sources.huggingface import parse_daily_item

    old_day = date(2023, 12, 1)  # e.g. imported from the archive
    async with world.services.store.write() as conn:
        papers = [parse_daily_item(item) for item in hf_items(2)]
        await save_daily_list(conn, DailyList(old_day, papers), DAY_END)
    posting = await world.slash("digest post", channel=world.channel("seoul"), date="2023-12-01")
    assert (await posting.response())["type"] == 5  # no "not complete" note first
    assert "Posted the digest of 2023-12-01" in (await posting.original())["content"]


async def test_posting_an_incomplete_day_in_a_channel_without_subscription_says_what_follows(world):
    serve_day(world.sources, DAY, Reply.json(hf_items(3)))
    world.clock.at(-3.0)
    await world.services.ingest.run()
    posting = await world.slash("digest post", channel=world.channel("third"), date="2024-01-17")
    first = (await posting.response())["data"]["content"]
    assert "Posting the 3 listed so far in" in first
    assert "not posted there, since the channel has no subscription" in first


async def test_a_day_completing_in_the_evening_west_of_utc_waits_for_the_next_morning(world):
    await world.subscribe("general", "09:00", "America/Los_Angeles")  # 17:00 UTC in January
    before = DAY - timedelta(days=1)
    serve_day(world.sources, before, Reply.json(hf_items(2, first=150)))
    await world.ingest_at(-23.8)  # the 16th completes at 00:42 UTC on the 17th
    await world.ingest_at(-23.3)
    await world.post_at(-7.0)  # 09:00 on the 17th in San Francisco: the 16th
    assert world.posted("general")[0]["content"].startswith("📰 **Daily Papers — 2024-01-16**")
    serve_day(world.sources, DAY, Reply.json(hf_items(3)))
    await world.ingest_at(0.2)
    await world.ingest_at(0.7)  # the 17th completes at 16:42 on the 17th there
    assert await world.post_at(0.75) == []  # not that evening: today's digest was sent
    assert await world.post_at(16.9) == []
    await world.post_at(17.0)  # 09:00 on the 18th
    assert world.posted("general")[-2]["content"].startswith("📰 **Daily Papers — 2024-01-17**")
