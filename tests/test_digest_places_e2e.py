"""Digests in forum and announcement channels, end to end: the real bot against the fake
Discord. A forum gets one post a day (the header opens it, the cards are its messages, a tag
named like the digest applied); an announcement channel subscribed with `crosspost` has every
message published once. Both exactly once, resumed after a kill like text channels."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from datetime import timedelta

import pytest
from e2e_settings import TOKEN
from fake_discord import FakeDiscord, FakeGuild, FakeUser, Perm
from http_fixture_server import Reply
from test_digest_e2e import (
    DAY,
    DAY_END,
    EPHEMERAL,
    Clock,
    World,
    _seed_due_digest,
    _settings,
    bot_running,
    card_urls,
    complete_day,
    hf_items,
    serve_day,
)
from test_digest_v2_e2e import buttons_of, containers

FORUM, STRICT, NEWS = 15, 15, 5


@pytest.fixture
async def world(tmp_path, server, discord_endpoints):
    guild = FakeGuild.create("Papers HQ", channels=["general"])
    guild.add_channel("papers", type=FORUM, tags=["cs.LG", "Daily Papers"])
    guild.add_channel("strict", type=STRICT, tags=["cs.CL", "cs.LG"], require_tag=True)
    guild.add_channel("news", type=NEWS)
    admins = guild.add_role("Admins", Perm.MANAGE_GUILD)
    admin = guild.add_member(FakeUser.create("alice"), roles=[admins]).user
    member = guild.add_member(FakeUser.create("bob")).user
    async with FakeDiscord(guilds=[guild], token=TOKEN) as fake:
        clock = Clock(DAY_END - timedelta(hours=1))
        settings = _settings(tmp_path, fake, server, guild)
        the_world = World(fake, guild, admin, member, clock, server, settings, card_format=None)
        async with bot_running(the_world):
            await fake.wait_for_sync(guild)
            yield the_world


def tag_names(world: World, forum: str, thread: dict) -> list[str]:
    tags = {world.channel(forum).tag(name)["id"]: name for name in ("cs.LG", "Daily Papers")}
    return [tags.get(int(t), t) for t in thread["applied_tags"]]


def thread_cards(world: World, thread: dict) -> list[dict]:
    """The messages of a forum post after its first (the header): the cards."""
    return world.fake.messages(int(thread["id"]))[1:]


async def test_a_forum_gets_one_post_a_day_with_every_card_and_the_digest_tag(world):
    assert "Subscribed" in await world.subscribe("papers", "09:00", "UTC")
    await complete_day(world, count=7)
    await world.post_at(9.0)
    await world.post_at(9.5)  # a second check posts nothing more
    [post] = world.fake.threads(world.channel("papers"))
    assert post["name"] == f"Daily Papers — {DAY} · 7 papers"
    assert tag_names(world, "papers", post) == ["Daily Papers"]  # named like the digest
    assert post["message"]["content"].startswith(f"📰 **Daily Papers — {DAY}** · 7 papers")
    cards = thread_cards(world, post)
    assert [len(containers(m)) for m in cards] == [3, 3, 1]
    assert [url for m in cards for url in card_urls(m)] == [
        f"https://arxiv.org/abs/2401.{n:05d}" for n in range(101, 108)
    ]
    assert world.posted("general") == []

    # The next day is a second post; the first is left alone.
    next_day = DAY + timedelta(days=1)
    serve_day(world.sources, next_day, Reply.json(hf_items(2, first=150)))
    await world.ingest_at(24 + 10 / 60)
    await world.ingest_at(24 + 40 / 60)
    await world.post_at(24 + 9.0)
    posts = world.fake.threads(world.channel("papers"))
    assert [p["name"] for p in posts] == [
        f"Daily Papers — {DAY} · 7 papers",
        f"Daily Papers — {next_day} · 2 papers",
    ]
    assert len(thread_cards(world, posts[0])) == 3  # untouched

    listing = await (await world.slash("digest list")).response()
    text = listing["data"]["embeds"][0]["fields"][0]["value"]
    assert f"https://discord.com/channels/{world.guild.id}/{posts[1]['id']})" in text


async def test_votes_and_live_counts_edit_the_cards_inside_the_forum_post(world):
    await world.subscribe("papers", "09:00", "UTC")
    route = await complete_day(world, count=4)
    await world.post_at(9.0)
    [post] = world.fake.threads(world.channel("papers"))
    message = thread_cards(world, post)[0]
    up = "vote:2401.00101:up"
    click = await world.fake.click(message, custom_id=up, user=world.member)
    assert (await click.response())["type"] == 6
    await click.wait_for_followups(1)

    def labels(stored: dict) -> dict[str, str]:
        return {b["custom_id"]: b.get("label") for c in containers(stored) for b in buttons_of(c)}

    assert labels(world.fake.message(message["id"]))[up] == "1"

    grown = hf_items(4)
    grown[0]["paper"]["upvotes"] = 150
    route.replies[:] = [Reply.json(grown)]
    await world.ingest_at(10.0)
    edited = world.fake.message(message["id"])
    assert "▲ 150" in containers(edited)[0]["components"][0]["content"]
    assert labels(edited)[up] == "1"
    edits = world.fake.requests_to("PATCH", rf"/channels/{post['id']}/messages/\d+")
    assert edits and not world.fake.requests_to(
        "PATCH", rf"/channels/{world.channel('papers').id}/messages/\d+"
    )


async def test_the_tag_option_chooses_names_or_refuses(world):
    assert "tag Daily Papers" not in await world.subscribe("papers", "09:00", "UTC", tag="none")
    await complete_day(world, count=1)
    await world.post_at(9.0)
    [post] = world.fake.threads(world.channel("papers"))
    assert post["applied_tags"] == []

    reply = await world.subscribe("papers", "09:00", "UTC", tag="cs.lg")
    assert "tag cs.LG" in reply  # stored with the forum's own spelling
    reply = await world.subscribe("papers", "09:00", "UTC", tag="robotics")
    assert "has no tag “robotics”" in reply and "`cs.LG`, `Daily Papers`" in reply
    reply = await world.subscribe("strict", "09:00", "UTC")
    assert "requires a tag on each post" in reply and "`cs.CL`, `cs.LG`" in reply
    assert "Subscribed" in await world.subscribe("strict", "09:00", "UTC", tag="cs.CL")
    assert "`tag` is for forums" in await world.subscribe("general", "09:00", "UTC", tag="x")

    choices = await world.fake.autocomplete(
        world.guild, world.channel("general"), world.admin, "digest", subcommand="subscribe",
        focused="tag", value="", options={"channel": world.channel("strict"), "time": "09:00",
                                          "timezone": "UTC"},
    )  # fmt: skip
    assert [c["value"] for c in await choices.choices()] == ["cs.CL", "cs.LG", "none"]


async def test_subscribe_names_what_a_forum_needs(world):
    bot_role = next(r for r in world.guild.roles.values() if r.managed)
    forum = world.channel("papers")
    forum.set_permissions(bot_role, deny=Perm.SEND_MESSAGES_IN_THREADS)
    await world.fake.update_channel(forum)
    reply = await world.subscribe("papers", "09:00", "UTC")
    assert "missing **Send Messages in Threads**" in reply
    forum.set_permissions(bot_role, deny=Perm.SEND_MESSAGES)
    await world.fake.update_channel(forum)
    reply = await world.subscribe("papers", "09:00", "UTC")
    assert "missing **Create Posts**" in reply


async def test_an_announcement_channel_with_crosspost_publishes_every_message_once(world):
    reply = await world.subscribe("news", "09:00", "UTC", crosspost=True)
    assert "published to followers" in reply
    await complete_day(world, count=4)
    await world.post_at(9.0)
    await world.post_at(9.5)
    posted = world.posted("news")
    assert len(posted) == 3
    assert [c["message_id"] for c in world.fake.crossposts] == [int(m["id"]) for m in posted]
    assert all(world.fake.message(m["id"])["flags"] & 1 for m in posted)  # CROSSPOSTED

    refused = await world.subscribe("general", "09:00", "UTC", crosspost=True)
    assert "`crosspost` publishes to the servers following an announcement channel" in refused
    assert "a text channel" in refused


async def test_without_crosspost_an_announcement_channel_only_posts(world):
    await world.subscribe("news", "09:00", "UTC")
    await complete_day(world, count=2)
    await world.post_at(9.0)
    assert len(world.posted("news")) == 2 and world.fake.crossposts == []


async def test_a_failed_publish_does_not_stop_the_digest(world, caplog):
    await world.subscribe("news", "09:00", "UTC", crosspost=True)
    await complete_day(world, count=4)
    world.fake.fail_next("POST", r"/channels/\d+/messages/\d+/crosspost", 403)
    await world.post_at(9.0)
    posted = world.posted("news")
    assert len(posted) == 3  # every message is there; the first was not published
    assert [c["message_id"] for c in world.fake.crossposts] == [int(m["id"]) for m in posted[1:]]
    assert "was not published" in caplog.text
    world.fake.take_violations()


# --- killed mid-post ------------------------------------------------------------------------


async def _run_killed_and_restarted(tmp_path, server, guild, channel, gate_args, wanted) -> None:
    """`python -m bot run` with the digest of yesterday due in `channel`, killed once the
    gate holds a request, then started again until `wanted()` is true (and a little more)."""
    async with FakeDiscord(guilds=[guild], token=TOKEN) as fake:
        env = {
            **os.environ,
            "DISCORD_TOKEN": TOKEN,
            "PAPERBOY_DB": str(tmp_path / "run.db"),
            "HF_API_BASE": server.url,
            "ARXIV_API_BASE": server.url,
            "DISCORD_API_BASE": f"{fake.url}/api/v10",
            "DISCORD_GATEWAY_URL": fake.gateway_url,
            "DEV_GUILD_ID": str(guild.id),
            "POST_CHECK_SECONDS": "0.2",
            "INGEST_INTERVAL_SECONDS": "3600",
        }
        method, path, after = gate_args
        gate = fake.hold(method, path, after=after, commit_first=True)

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
        gate.release()
        second = await start()
        try:
            for _ in range(3000):
                if wanted(fake):
                    break
                await asyncio.sleep(0.01)
            await asyncio.sleep(0.5)  # would a duplicate follow?
        finally:
            second.terminate()
            _, stderr = await asyncio.wait_for(second.communicate(), 20)
        assert TOKEN not in stderr.decode()
        return fake


@pytest.mark.parametrize("held", ["the forum post", "a card message"])
async def test_a_forum_post_killed_mid_post_is_finished_in_the_same_thread(tmp_path, server, held):
    """Killed after Discord opened the forum post (or created a card in it) but before the bot
    learned its id: the restarted bot finds the thread and finishes it there."""
    guild = FakeGuild.create("Papers HQ", channels=["general"])
    forum = guild.add_channel("papers", type=FORUM, tags=["Daily Papers"])
    day = await _seed_due_digest(tmp_path / "run.db", guild, forum.id, papers=8)
    serve_day(server, day, Reply.json(hf_items(8)))
    gate = (
        ("POST", rf"/channels/{forum.id}/threads", 0)
        if held == "the forum post"
        else ("POST", r"/channels/\d+/messages", 1)
    )

    def done(fake) -> bool:
        posts = fake.threads(forum)
        return bool(posts) and len(fake.messages(int(posts[0]["id"]))) >= 4

    fake = await _run_killed_and_restarted(tmp_path, server, guild, forum, gate, done)
    [post] = fake.threads(forum)
    messages = fake.messages(int(post["id"]))
    assert len(messages) == 4, [card_urls(m) or m["content"] for m in messages]
    assert messages[0]["content"].startswith(f"📰 **Daily Papers — {day}** · 8 papers")
    assert [url for m in messages[1:] for url in card_urls(m)] == [
        f"https://arxiv.org/abs/2401.{n:05d}" for n in range(101, 109)
    ]


@pytest.mark.parametrize("held", ["a message", "its publication"])
async def test_a_crossposted_digest_killed_mid_post_publishes_each_message_once(
    tmp_path, server, held
):
    """Killed after Discord created the second message (or published it) but before the bot
    learned so: the restarted bot finds the message, publishes it (Discord answers "already
    published" if it was) and goes on; every message is published once."""
    guild = FakeGuild.create("Papers HQ", channels=["general"])
    news = guild.add_channel("news", type=NEWS)
    day = await _seed_due_digest(tmp_path / "run.db", guild, news.id, papers=5, crosspost=True)
    serve_day(server, day, Reply.json(hf_items(5)))

    def done(fake) -> bool:
        return len(fake.crossposts) >= 3

    gate = (
        ("POST", rf"/channels/{news.id}/messages", 1)
        if held == "a message"
        else ("POST", rf"/channels/{news.id}/messages/\d+/crosspost", 1)
    )
    fake = await _run_killed_and_restarted(tmp_path, server, guild, news, gate, done)
    messages = [m for m in fake.messages(news) if not m["flags"] & EPHEMERAL]
    assert len(messages) == 3
    assert sorted(c["message_id"] for c in fake.crossposts) == sorted(
        int(m["id"]) for m in messages
    )
    again = fake.requests_to("POST", rf"/channels/{news.id}/messages/\d+/crosspost")
    assert len(again) == (3 if held == "a message" else 4)  # one answered "already published"
