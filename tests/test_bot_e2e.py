"""The real bot (PaperBot with its cogs) against the local fake Discord, end to end.

The bot runs in-process through the same wiring `paperboy run` uses (`open_services`,
`configure_endpoints`, `PaperBot`); Hugging Face and arXiv are the loopback fixture server.
The fake Discord enforces Discord's rules (3 s acknowledgement, one acknowledgement, embed and
content limits, 25 choices) and fails the test on any violation.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from e2e_settings import TOKEN, e2e_settings
from fake_discord import FakeDiscord, FakeGuild, FakeUser, MessageFlag
from http_fixture_server import Reply

from bot.app import PaperBot, configure_endpoints, open_services
from bot.models import DailyList, Paper, Summary
from storage.papers import save_daily_list

OWN = Path(__file__).parent / "fixtures"

NOW = datetime(2024, 1, 18, 12, 0, tzinfo=UTC)
DAY1, DAY2 = date(2024, 1, 16), date(2024, 1, 17)
EPHEMERAL = 64


def _paper(n: int, title: str, authors: list[str], upvotes: int, **extra) -> Paper:
    return Paper(id=f"2401.{n:05d}", title=title, authors=authors, upvotes=upvotes, **extra)


def corpus() -> list[DailyList]:
    """Two days: a list long enough to page through, an @everyone title, a Korean summary."""
    day1 = [
        _paper(100 + i, f"Diffusion Model Study {i}", [f"Author {i}", "Björn Ommer"], 10 + i)
        for i in range(7)
    ]
    day2 = [
        _paper(
            8541,
            "Scalable Pre-training of Large Autoregressive Image Models",
            ["Alaaeldin El-Nouby", "Michal Klein"],
            21,
            abstract="This paper introduces AIM. " * 20,
            image_url="https://example.org/aim.png",
            summaries=[Summary("ko", "digest", ["자동회귀 목표로 사전 학습된 비전 모델입니다."])],
        ),
        _paper(7519, "Hello @everyone and <@&123> and @here", ["Mallory"], 17),
        _paper(6951, "A 400-author paper", [f"Person {i}" for i in range(400)], 12),
    ]
    return [DailyList(DAY1, day1), DailyList(DAY2, day2)]


@pytest.fixture
def sources(server):
    """Hugging Face and arXiv, served on loopback."""
    return server


def bot_settings(tmp_path: Path, fake: FakeDiscord, sources, **extra: str):
    return e2e_settings(tmp_path, fake, sources, **extra)


@asynccontextmanager
async def running_bot(settings, fake: FakeDiscord, *, corpus_lists=()):
    """The bot wired as `paperboy run` wires it, started in-process; stopped on exit."""
    configure_endpoints(settings)
    async with open_services(settings, clock=lambda: NOW) as services:
        async with services.store.write() as conn:
            for n, daily in enumerate(corpus_lists):
                await save_daily_list(conn, daily, NOW - timedelta(hours=30 - n))
        bot = PaperBot(services, guild_ready_timeout=0.05)
        identified = fake.identify_count
        task = asyncio.create_task(bot.start(TOKEN))
        try:
            await fake.wait_until_identified(identified + 1)
            yield bot, services
        finally:
            await bot.close()
            await asyncio.wait_for(task, 10)


@pytest.fixture
async def world(tmp_path, sources, discord_endpoints):
    """A running bot connected to a fake Discord with one guild, alice and bob."""
    guild = FakeGuild.create("Papers HQ", channels=["general"])
    alice = guild.add_member(FakeUser.create("alice")).user
    bob = guild.add_member(FakeUser.create("bob")).user
    async with FakeDiscord(guilds=[guild], token=TOKEN) as fake:
        settings = bot_settings(tmp_path, fake, sources, DEV_GUILD_ID=str(guild.id))
        async with running_bot(settings, fake, corpus_lists=corpus()) as (bot, services):
            await fake.wait_for_sync(guild)
            yield World(fake, guild, alice, bob, bot, services)


async def test_a_restart_with_the_same_commands_does_not_sync_again(
    tmp_path, sources, discord_endpoints
):
    guild = FakeGuild.create("Papers HQ", channels=["general"])
    async with FakeDiscord(guilds=[guild], token=TOKEN) as fake:
        settings = bot_settings(tmp_path, fake, sources)  # no DEV_GUILD_ID: global commands
        async with running_bot(settings, fake):
            await fake.wait_for_sync(None)
        async with running_bot(settings, fake):
            pass
        assert fake.sync_count == 1
        assert {c["name"] for c in fake.synced_commands[None]} == {"paper", "digest", "help"}


class World:
    def __init__(self, fake, guild, alice, bob, bot, services):
        self.fake, self.guild, self.alice, self.bob = fake, guild, alice, bob
        self.bot, self.services = bot, services
        self.channel = guild.channel("general")

    async def slash(self, command: str, user=None, **options):
        name, _, sub = command.partition(" ")
        return await self.fake.slash(
            self.guild, self.channel, user or self.alice, name, subcommand=sub or None,
            options=options,
        )  # fmt: skip

    async def complete(self, command: str, focused: str, value: str):
        interaction = await self.fake.autocomplete(
            self.guild, self.channel, self.alice, command, focused=focused, value=value
        )
        return await interaction.choices()


def _embed(body: dict) -> dict:
    (embed,) = body["data"]["embeds"]
    return embed


def _text(embed: dict) -> str:
    parts = [embed.get("title", ""), embed.get("description", "")]
    parts += [f["name"] + " " + f["value"] for f in embed.get("fields", [])]
    return "\n".join(parts)


# --- commands -------------------------------------------------------------------------------


async def test_commands_are_synced_to_the_dev_guild(world):
    synced = world.fake.synced_commands[world.guild.id]
    names = {command["name"] for command in synced}
    assert names == {"paper", "digest", "help"}
    paper = next(c for c in synced if c["name"] == "paper")
    assert {o["name"] for o in paper["options"]} == {
        "search", "author", "show", "day", "top", "trending", "votes"
    }  # fmt: skip
    # Only the guilds intent: no privileged intents (members 1<<1, presences 1<<8, content 1<<15)
    assert world.fake.intents & ((1 << 1) | (1 << 8) | (1 << 15)) == 0


async def test_help_lists_every_command_privately(world):
    body = await (await world.slash("help")).response()
    assert body["data"]["flags"] & EPHEMERAL
    text = _text(_embed(body))
    assert "Daily Papers" in text  # what the bot does, then every command
    for command in ("search", "author", "show", "day", "top", "trending", "votes"):
        assert f"/paper {command}" in text


async def test_search_pages_through_results_for_the_asker_only(world):
    interaction = await world.slash("paper search", query="diffusion")
    body = await interaction.response()
    assert body["data"]["flags"] & EPHEMERAL
    first = _embed(body)
    assert "Diffusion Model Study" in first["description"]
    assert first["description"].count("Diffusion Model Study") == 5  # 7 results, 5 a page

    message = await interaction.original()
    turned = await world.fake.click(message, label="▶")
    page2 = _embed(await turned.response())
    assert page2["description"].count("Diffusion Model Study") == 2
    shown = {line for line in first["description"].splitlines() if "Study" in line}
    assert not shown & {line for line in page2["description"].splitlines() if "Study" in line}

    # A public list: someone else pressing the buttons is refused, privately.
    public = await world.slash("paper search", query="diffusion", public=True)
    await public.response()
    public_message = await public.original()
    refused = await world.fake.click(public_message, label="▶", user=world.bob)
    answer = await refused.response()
    assert answer["data"]["flags"] & EPHEMERAL
    assert "Only the person who asked" in answer["data"]["content"]
    assert (await public.original())["embeds"] == public_message["embeds"]  # page unchanged


async def test_select_menu_opens_a_card(world):
    interaction = await world.slash("paper search", query="diffusion")
    await interaction.response()
    message = await interaction.original()
    chosen = await world.fake.select(message, ["2401.00103"])
    card = _embed(await chosen.response())
    assert card["title"].startswith("Diffusion Model Study 3")
    assert card["url"] == "https://arxiv.org/abs/2401.00103"


async def test_search_autocomplete_suggests_titles_and_picking_one_shows_the_paper(world):
    choices = await world.complete("paper search", "query", "autoreg")
    assert choices[0]["value"] == "2401.08541"
    assert "Autoregressive" in choices[0]["name"]
    assert len(await world.complete("paper search", "query", "di")) <= 25
    card = _embed(await (await world.slash("paper search", query="2401.08541")).response())
    assert card["url"] == "https://arxiv.org/abs/2401.08541"


async def test_author_search_is_accent_insensitive_and_newest_first(world):
    body = await (await world.slash("paper author", name="bjorn ommer")).response()
    listing = _embed(body)["description"]
    positions = [listing.index(f"Diffusion Model Study {i}") for i in (6, 5, 4, 3, 2)]
    assert positions == sorted(positions)  # 2401.00106 (newest) first
    choices = await world.complete("paper author", "name", "omm")
    assert choices[0]["value"] == "Björn Ommer"
    assert "7 papers" in choices[0]["name"]


async def test_show_a_stored_paper_card(world):
    body = await (
        await world.slash("paper show", id="https://arxiv.org/abs/2401.08541v2")
    ).response()
    card = _embed(body)
    assert card["title"] == "Scalable Pre-training of Large Autoregressive Image Models"
    assert card["url"] == "https://arxiv.org/abs/2401.08541"
    assert card["image"]["url"] == "https://example.org/aim.png"
    assert "자동회귀" in card["description"]
    assert "<t:" in _text(card)  # the day it was listed, as a Discord timestamp


@pytest.mark.parametrize(("command", "option"), [("paper show", "id"), ("paper search", "query")])
async def test_show_fetches_an_unknown_paper_once(world, sources, command, option):
    sources.add("/api/papers/2510.00301", Reply.file(OWN / "hf" / "paper_2510.00301.json"))
    interaction = await world.slash(command, **{option: "2510.00301"})
    assert (await interaction.response())["type"] == 5  # deferred: the fetch may be slow
    card_message = await interaction.original()  # the followup replaces "thinking…"
    assert card_message["embeds"][0]["url"] == "https://arxiv.org/abs/2510.00301"
    again = await (await world.slash("paper show", id="2510.00301")).response()
    assert _embed(again)["url"] == "https://arxiv.org/abs/2510.00301"
    assert len(sources.requests_to("/api/papers/2510.00301")) == 1  # stored the first time


async def test_show_falls_back_to_arxiv_then_says_not_found(world, sources):
    sources.add("/api/papers/2401.00101", Reply.json({"error": "not found"}, 404))
    sources.add("/api/query", Reply.file(OWN / "arxiv" / "legacy_2401.00101v2.xml"))
    interaction = await world.slash("paper show", id="2401.00101")
    message = await interaction.original()
    assert message["embeds"][0]["url"] == "https://arxiv.org/abs/2401.00101"

    sources.add("/api/papers/2401.00999", Reply.json({"error": "not found"}, 404))
    sources.add(
        "/api/query", Reply.file(OWN / "arxiv" / "empty.xml"), query={"id_list": "2401.00999"}
    )
    missing = await world.slash("paper show", id="2401.00999")
    reply = await missing.original()
    assert reply["flags"] & EPHEMERAL
    assert "not found on Hugging Face or arXiv" in reply["content"]


async def test_day_defaults_to_the_latest_day_ranked_by_votes(world):
    listing = _embed(await (await world.slash("paper day")).response())
    assert "2024-01-17" in listing["title"] and "3 papers" in listing["title"]
    description = listing["description"]
    assert description.index("Autoregressive") < description.index("400-author")
    older = _embed(await (await world.slash("paper day", date="2024-01-16")).response())
    assert "Diffusion Model Study 6" in older["description"]  # 16 votes: first
    choices = await world.complete("paper day", "date", "2024-01")
    assert [c["value"] for c in choices] == ["2024-01-17", "2024-01-16"]


async def test_list_controls_are_disabled_when_the_list_expires(world, monkeypatch):
    monkeypatch.setattr("cogs.views.VIEW_TIMEOUT", 0.5)
    interaction = await world.slash("paper search", query="diffusion")
    await interaction.response()
    await world.fake.click(await interaction.original(), label="▶")

    def all_disabled(message: dict) -> bool:
        controls = [c for row in message["components"] for c in row["components"]]
        return bool(controls) and all(c.get("disabled") for c in controls)

    expired = await interaction.original(where=all_disabled, timeout=5)
    assert "Diffusion Model Study" in expired["embeds"][0]["description"]


async def test_a_public_lookup_that_fails_tells_only_the_asker(world, sources):
    sources.add("/api/papers/2401.00998", Reply.json({"error": "not found"}, 404))
    sources.add("/api/query", Reply.file(OWN / "arxiv" / "empty.xml"))
    interaction = await world.slash("paper show", id="2401.00998", public=True)
    (reply,) = await interaction.wait_for_followups(1)
    assert reply["flags"] & EPHEMERAL
    assert "not found on Hugging Face or arXiv" in reply["content"]
    public = [m for m in world.fake.messages(world.channel) if not m["flags"] & EPHEMERAL]
    assert not any("not found" in (m.get("content") or "") for m in public)


async def test_top_and_trending(world):
    top = _embed(await (await world.slash("paper top", period="week")).response())
    lines = [line for line in top["description"].splitlines() if line.strip()]
    assert "Autoregressive" in lines[0]  # 21 votes, the most of the week
    assert "Study 0" not in top["description"]  # 10 votes: 10th of 10, on page 2
    async with world.services.store.write() as conn:  # +9 votes in the last 24 h
        await save_daily_list(
            conn,
            DailyList(DAY1, [_paper(100, "Diffusion Model Study 0", [], 19)]),
            NOW - timedelta(hours=1),
        )
    trending = _embed(await (await world.slash("paper trending")).response())
    assert "Diffusion Model Study 0" in trending["description"]
    assert "Autoregressive" not in trending["description"]  # no gain in the window


# --- limits, mentions and bad input --------------------------------------------------------


async def test_nobody_is_pinged_by_a_hostile_title(world):
    body = await (await world.slash("paper show", id="2401.07519", public=True)).response()
    assert body["data"]["allowed_mentions"] == {"parse": []}
    assert "@everyone" not in _embed(body)["title"]  # defused with a zero-width space
    assert all(m == {"parse": []} for m in world.fake.allowed_mentions)


async def test_a_400_author_paper_fits_in_one_card(world):
    card = _embed(await (await world.slash("paper show", id="2401.06951")).response())
    assert "more" in _text(card)  # the fake rejects (and fails the test) anything over limits


@pytest.mark.parametrize(
    ("command", "options", "expected"),
    [
        ("paper show", {"id": "../../etc"}, "is not an arXiv id"),
        ("paper day", {"date": "2024-02-30"}, "is not a real date"),
        ("paper search", {"query": '"a" NEAR(b) * -c'}, "No stored paper matches"),
        ("paper search", {"query": "🙂🙂"}, "nothing to search for"),
        (
            "paper author",
            {"name": "@everyone"},
            "No stored paper has an author named “@\u200beveryone”",
        ),
    ],
)
async def test_bad_input_gets_a_private_helpful_reply(world, command, options, expected):
    body = await (await world.slash(command, **options)).response()
    assert body["data"]["flags"] & EPHEMERAL
    assert expected in body["data"]["content"]
    assert "Traceback" not in body["data"]["content"]


async def test_the_bot_answers_again_after_the_gateway_drops(world):
    await world.fake.drop_gateway()
    await world.fake.wait_until_resumed()
    body = await (await world.slash("help")).response()
    assert body["data"]["embeds"]


# --- the real entry point -------------------------------------------------------------------


async def test_paperboy_run_connects_and_answers(tmp_path, monkeypatch):
    """`python -m bot run` as a subprocess: the real entry point, settings from the env."""
    guild = FakeGuild.create("Papers HQ", channels=["general"])
    alice = guild.add_member(FakeUser.create("alice")).user
    async with FakeDiscord(guilds=[guild], token=TOKEN) as fake:
        env = {
            **os.environ,
            "DISCORD_TOKEN": TOKEN,
            "PAPERBOY_DB": str(tmp_path / "run.db"),
            "DISCORD_API_BASE": f"{fake.url}/api/v10",
            "DISCORD_GATEWAY_URL": fake.gateway_url,
        }
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", cwd=tmp_path, env=env,
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )  # fmt: skip
        try:
            await fake.wait_until_identified(timeout=20)
            await fake.wait_for_sync(None, timeout=10)  # no DEV_GUILD_ID: a global sync
            body = await (
                await fake.slash(guild, guild.channel("general"), alice, "help")
            ).response()
            assert body["data"]["flags"] & MessageFlag.EPHEMERAL
        finally:
            process.terminate()
            _, stderr = await asyncio.wait_for(process.communicate(), 20)
        assert TOKEN not in stderr.decode()


def _paperboy_tasks() -> list[asyncio.Task]:
    """The background tasks the bot started itself (their names start with "paperboy")."""
    return [t for t in asyncio.all_tasks() if t.get_name().startswith("paperboy") and not t.done()]


async def test_background_tasks_live_only_while_needed_and_end_with_the_bot(
    tmp_path, sources, discord_endpoints
):
    guild = FakeGuild.create("Papers HQ", channels=["general"])
    alice = guild.add_member(FakeUser.create("alice")).user
    async with FakeDiscord(guilds=[guild], token=TOKEN) as fake:
        settings = bot_settings(tmp_path, fake, sources, DEV_GUILD_ID=str(guild.id))
        async with running_bot(settings, fake, corpus_lists=corpus()) as (bot, services):
            await fake.wait_for_sync(guild)
            await asyncio.wait_for(bot.wait_until_ready(), 10)
            for _ in range(200):  # the start-up post check finds nothing to post
                if not _paperboy_tasks():
                    break
                await asyncio.sleep(0.01)
            assert _paperboy_tasks() == []  # idle: nothing waits for the bot's whole life
            world = World(fake, guild, alice, alice, bot, services)
            await (await world.slash("paper search", query="diffusion")).response()
            assert [t.get_name() for t in _paperboy_tasks()] == ["paperboy-list-expiry"]
        assert _paperboy_tasks() == []  # close() cancelled and awaited it
