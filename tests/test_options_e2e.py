"""Option values Discord would refuse, sent anyway (a forged client): the real bot against the
fake Discord refuses each privately, before the command runs, and stores nothing.

The fake's `slash()` converts values to the synced option types and checks choices, as a real
client does; `Harness.forge()` builds the same interaction and then puts raw values in it.
"""

from __future__ import annotations

import asyncio
import sqlite3
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from e2e_settings import TOKEN, digest_settings
from fake_discord import FakeDiscord, FakeGuild, FakeInteraction, FakeUser, Perm
from http_fixture_server import Reply

from bot.app import PaperBot, configure_endpoints, open_services
from bot.models import DailyList
from bot.sources.huggingface import parse_daily_item
from storage.papers import save_daily_list

DAY = date(2024, 1, 17)  # a Wednesday
DAY_END = datetime(2024, 1, 18, tzinfo=UTC)
EPHEMERAL = 64


class Clock:
    """The bot's clock, moved by the test."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@dataclass(frozen=True)
class Typed:
    """A forged option value sent with the given option type (default: the declared one)."""

    value: Any
    type: int


@dataclass
class Harness:
    fake: FakeDiscord
    guild: FakeGuild
    admin: FakeUser
    member: FakeUser
    clock: Clock
    sources: Any
    db_path: Path
    bot: PaperBot | None = None
    services: Any = None

    def channel(self, name: str = "general"):
        return self.guild.channel(name)

    async def slash(self, command: str, user=None, **options) -> FakeInteraction:
        """Run a slash command in #general, as a real client would send it."""
        return await self.fake.slash(
            self.guild, self.channel(), user or self.admin, command, options=options
        )

    async def forge(
        self,
        command: str,
        valid: dict,
        raw: dict,
        *,
        drop: tuple[str, ...] = (),
        user=None,
        autocomplete: str | None = None,
    ) -> FakeInteraction:
        """`command` with the `valid` options, then the `raw` values put in as they are (with
        the declared option type, or a Typed value's), the `drop` options taken out."""
        fake = self.fake
        path = command.split()
        extra = {"focused": autocomplete, "focused_value": ""} if autocomplete else {}
        data, full = fake._build_command_data(self.guild, path, valid, **extra)
        leaf = data["options"]
        while leaf and leaf[0]["type"] in (1, 2):  # down the subcommands
            leaf = leaf[0]["options"]
        declared = self._declared(path)
        for name, value in raw.items():
            option = next((o for o in leaf if o["name"] == name), None)
            if option is None:
                option = {"type": declared.get(name, 3), "name": name}
                leaf.append(option)
            if isinstance(value, Typed):
                option["type"], value = value.type, value.value
            option["value"] = value
        leaf[:] = [o for o in leaf if o["name"] not in drop]
        kind = 4 if autocomplete else 2
        user = user or self.admin
        return await fake._create_interaction(
            kind, self.guild, self.channel(), user, data, name=full
        )

    def _declared(self, path: list[str]) -> dict[str, int]:
        """Option name -> type, as the bot synced the command."""
        commands = self.fake.synced_commands[self.guild.id]
        options = next(c for c in commands if c["name"] == path[0]).get("options") or []
        for part in path[1:]:
            options = next(o for o in options if o["name"] == part).get("options") or []
        return {o["name"]: o["type"] for o in options}

    def subscription_rows(self) -> list[tuple]:
        """The subscriptions table, read by a connection of its own."""
        with sqlite3.connect(self.db_path) as conn:
            return conn.execute("SELECT * FROM subscriptions ORDER BY channel_id").fetchall()

    def posted(self, name: str) -> list[dict]:
        """Messages the bot posted in the channel (not interaction replies), oldest first."""
        return [
            m for m in self.fake.messages(self.channel(name))
            if not m.get("interaction_metadata") and not m["flags"] & EPHEMERAL
            and not m.get("webhook_id")
        ]  # fmt: skip


def settings_for(tmp_path: Path, fake: FakeDiscord, sources, guild: FakeGuild, **extra: str):
    return digest_settings(tmp_path, fake, sources, guild, **extra)


def hf_items(count: int = 3) -> list[dict]:
    """DAY's Daily Papers list in Hugging Face's shape: 2401.00101 ... with falling upvotes."""
    return [
        {
            "paper": {
                "id": f"2401.{n:05d}",
                "title": f"Diffusion paper number {n}",
                "authors": [{"name": f"Author {n}"}, {"name": "Björn Ommer"}],
                "upvotes": 200 - n,
                "summary": f"Abstract of paper {n}. It has two sentences.",
            }
        }
        for n in range(101, 101 + count)
    ]


@asynccontextmanager
async def running(tmp_path: Path, sources, *, channels=("general", "news"), settings=None):
    """A guild with an admin (Manage Server) and a member, the fake Discord, and the bot started
    as `paperboy run` does (in-process) on a store holding DAY's papers."""
    guild = FakeGuild.create("Papers HQ", channels=list(channels))
    admins = guild.add_role("Admins", Perm.MANAGE_GUILD)
    admin = guild.add_member(FakeUser.create("alice"), roles=[admins]).user
    member = guild.add_member(FakeUser.create("bob")).user
    async with FakeDiscord(guilds=[guild], token=TOKEN) as fake:
        clock = Clock(DAY_END + timedelta(hours=12))
        config = settings_for(tmp_path, fake, sources, guild, **(settings or {}))
        harness = Harness(fake, guild, admin, member, clock, sources, config.database_path)
        configure_endpoints(config)
        # DAY's list, stored and served (a poll of it finds the same papers)
        sources.add(
            "/api/daily_papers", Reply.json(hf_items()), query={"date": DAY.isoformat(), "p": 0}
        )
        listed = DailyList(DAY, [parse_daily_item(item) for item in hf_items()])
        async with open_services(config, clock=clock) as services:
            async with services.store.write() as conn:
                await save_daily_list(conn, listed, DAY_END - timedelta(hours=2))
            bot = PaperBot(services, guild_ready_timeout=0.05)
            identified = fake.identify_count
            task = asyncio.create_task(bot.start(TOKEN))
            try:
                await fake.wait_until_identified(identified + 1)
                await asyncio.wait_for(bot.wait_until_ready(), 10)
                await fake.wait_for_sync(guild)
                harness.bot, harness.services = bot, services
                yield harness
            finally:
                await bot.close()
                await asyncio.wait_for(task, 10)


@pytest.fixture
async def harness(tmp_path, server, discord_endpoints):
    async with running(tmp_path, server) as running_harness:
        yield running_harness


async def refusal(interaction: FakeInteraction) -> str:
    """The private refusal the interaction got (asserted to be one)."""
    body = await interaction.response()
    assert body["type"] == 4, body
    assert body["data"]["flags"] & EPHEMERAL, body
    return body["data"]["content"]


# --- /digest subscribe ----------------------------------------------------------------------

VALID = {"time": "09:00", "timezone": "UTC"}
SUBSCRIBE_FORGERIES = [
    # (raw values, what the refusal says)
    ({"top": "abc"}, "`top` must be a whole number from 1 to 100, not “abc”"),
    ({"top": -1}, "`top` must be a whole number from 1 to 100, not -1"),
    ({"top": 0}, "`top` must be a whole number from 1 to 100, not 0"),
    ({"top": 1.5}, "`top` must be a whole number from 1 to 100, not 1.5"),
    ({"top": 2.0}, "not 2.0"),
    ({"top": 101}, "not 101"),
    ({"top": 2**63}, f"not {2**63}"),
    ({"top": 10**40}, "not a number of about 41 digits"),
    ({"top": True}, "not true"),
    ({"top": float("inf")}, "not inf"),
    ({"top": None}, "not nothing"),
    ({"min_votes": "x"}, "`min_votes` must be a whole number from 0 to 100000, not “x”"),
    ({"min_votes": -5}, "not -5"),
    ({"min_votes": 2**63}, f"not {2**63}"),
    ({"min_votes": Typed("7", 3)}, "`min_votes` must be a whole number from 0 to 100000"),
    ({"format": "evil"}, "`format` must be one of cards, embeds, compact, not “evil”"),
    ({"format": 1}, "`format` must be one of cards, embeds, compact, not 1"),
    ({"time": "\ud800:00"}, "`time` is not valid text: it has an unpaired surrogate (U+D800)"),
    ({"timezone": "Asia/Seoul\x00"}, "`timezone` is not valid text: it has a NUL character"),
    ({"time": ""}, "`time` must be text of 1 to 20 characters"),
    ({"language": "e" * 21}, "`language` must be text of 1 to 20 characters"),
    ({"timezone": ["UTC"]}, "`timezone` must be text of 1 to 64 characters, not a list"),
    ({"channel": "abc"}, "`channel` must be a channel, not “abc”"),
    ({"channel": Typed("general", 3)}, "`channel` must be a channel"),
    ({"evil": "1"}, "/digest subscribe has no option “evil”"),
]


async def test_forged_subscribe_values_are_refused_privately_and_nothing_is_stored(harness):
    # A valid subscription first: the forged updates below must leave it as it is.
    ok = await harness.slash(
        "digest subscribe", channel=harness.channel(), time="09:00", timezone="UTC", top=5
    )
    assert (await ok.response())["data"]["content"].startswith("Subscribed")
    stored = harness.subscription_rows()
    assert len(stored) == 1

    for raw, expected in SUBSCRIBE_FORGERIES:
        for channel in ("general", "news"):  # an update and a new subscription
            valid = {"channel": harness.channel(channel), **VALID}
            text = await refusal(await harness.forge("digest subscribe", valid, raw))
            assert expected in text, (raw, text)
            assert "not run" in text, (raw, text)
            assert harness.subscription_rows() == stored, raw
    assert harness.posted("general") == [] and harness.posted("news") == []


async def test_the_bounds_themselves_are_accepted(harness):
    interaction = await harness.slash(
        "digest subscribe", channel=harness.channel("news"), time="23:59", timezone="UTC",
        top=100, min_votes=100_000, format="compact", language="zh-tw",
    )  # fmt: skip
    text = (await interaction.response())["data"]["content"]
    assert "top 100" in text and "≥ 100000 upvotes" in text and "compact" in text
    assert len(harness.subscription_rows()) == 1


async def test_a_missing_required_option_is_refused(harness):
    forged = await harness.forge(
        "digest unsubscribe", {"channel": harness.channel()}, {}, drop=("channel",)
    )
    assert "`channel` is required" in await refusal(forged)
    forged = await harness.forge("digest subscribe", {"channel": harness.channel(), **VALID}, {},
                                 drop=("timezone",))  # fmt: skip
    assert "`timezone` is required" in await refusal(forged)
    assert harness.subscription_rows() == []


# --- /paper ---------------------------------------------------------------------------------

PAPER_FORGERIES = [
    ("paper top", {}, {"period": "year"}, "`period` must be one of day, week, month, not “year”"),
    ("paper top", {}, {"source": "evil"}, "`source` must be one of huggingface, server"),
    ("paper top", {}, {"public": "yes"}, "`public` must be true or false, not “yes”"),
    ("paper top", {}, {"public": 1}, "`public` must be true or false, not 1"),
    (
        "paper search",
        {"query": "x"},
        {"query": "diffusion \ud83d"},
        "`query` is not valid text: it has an unpaired surrogate (U+D83D)",
    ),
    ("paper search", {"query": "x"}, {"query": "a\x00b"}, "`query` is not valid text"),
    (
        "paper search",
        {"query": "x"},
        {"query": "a" * 201},
        "`query` must be text of 1 to 200 characters",
    ),
    ("paper search", {"query": "x"}, {"query": 42}, "`query` must be text of 1 to 200 characters"),
    ("paper author", {"name": "x"}, {"name": "\udfff"}, "`name` is not valid text"),
    ("paper show", {"id": "x"}, {"id": "2401.00101\x00"}, "`id` is not valid text"),
    ("paper day", {}, {"date": "2024-01-17\ud800"}, "`date` is not valid text"),
    ("paper day", {}, {"date": "7" * 6001}, "`date` must be at most 6000 characters"),
    ("paper trending", {}, {"public": None}, "`public` must be true or false, not nothing"),
]


async def test_forged_paper_values_are_refused_privately(harness):
    for command, valid, raw, expected in PAPER_FORGERIES:
        text = await refusal(await harness.forge(command, valid, raw))
        assert expected in text, (command, raw, text)
    # the same commands with real values work
    body = await (await harness.slash("paper top", period="month")).response()
    assert "Diffusion paper number 101" in str(body["data"]["embeds"])
    body = await (await harness.slash("paper search", query="diffusion")).response()
    assert "Diffusion paper number 101" in str(body["data"]["embeds"])


async def test_text_with_a_surrogate_pair_is_fine(harness):
    """A real astral character (an emoji) is valid text; only an unpaired half is refused."""
    body = await (await harness.slash("paper search", query="diffusion 🚀")).response()
    assert body["type"] == 4 and "not valid text" not in str(body)


# --- autocomplete ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("command", "focused"),
    [("paper search", "query"), ("paper author", "name"), ("paper day", "date")],
)
async def test_an_autocomplete_with_invalid_text_gets_no_choices(harness, command, focused):
    for value in ("diff\ud800", "\x00", "\udc00usion"):
        interaction = await harness.fake.autocomplete(
            harness.guild, harness.channel(), harness.admin, command, focused=focused, value=value
        )
        assert await interaction.choices() == [], value
        assert interaction.acknowledged_after < 3


async def test_a_forged_autocomplete_is_refused_with_no_choices(harness):
    too_long = await harness.forge(
        "paper search", {}, {"query": Typed("d" * 201, 3)}, autocomplete="query"
    )
    assert await too_long.choices() == []
    bad_neighbour = await harness.forge(
        "digest subscribe", {"time": "09:00"}, {"top": "abc", "timezone": "asia/seo"},
        autocomplete="timezone",
    )  # fmt: skip
    assert await bad_neighbour.choices() == []
    # a real autocomplete still answers
    auto = await harness.fake.autocomplete(
        harness.guild, harness.channel(), harness.admin, "paper search", focused="query",
        value="diffusion",
    )  # fmt: skip
    assert "2401.00101" in [c["value"] for c in await auto.choices()]
    zones = await harness.forge(
        "digest subscribe", {"time": "09:00"}, {"timezone": "asia/seo"}, autocomplete="timezone"
    )
    assert [c["value"] for c in await zones.choices()] == ["Asia/Seoul"]
