"""The fake Discord (tests/fake_discord.py) against the REAL discord.py: a tiny bot starts
in-process, connects over loopback, syncs its commands and answers interactions."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator
from dataclasses import dataclass

import aiohttp
import discord
import discord.gateway
import discord.http
import pytest
import yarl
from discord import app_commands
from discord.ext import commands
from fake_discord import (
    CommandNotSynced,
    FakeDiscord,
    FakeGuild,
    FakeUser,
    MessageFlag,
    validate_choices,
    validate_commands,
    validate_message,
)

TOKEN = "fake-token"


# --------------------------------------------------------------------------------------------
# a tiny bot


class CounterView(discord.ui.View):
    def __init__(self, owner_id: int) -> None:
        super().__init__(timeout=None)
        self.owner_id = owner_id
        self.count = 0

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        if interaction.user.id != self.owner_id:
            await interaction.response.send_message("This is not your counter.", ephemeral=True)
            return False
        return True

    @discord.ui.button(label="+1", style=discord.ButtonStyle.primary)
    async def increment(self, interaction: discord.Interaction, _: discord.ui.Button) -> None:
        self.count += 1
        await interaction.response.edit_message(content=f"count: {self.count}", view=self)

    @discord.ui.select(
        placeholder="Set the count",
        options=[
            discord.SelectOption(label="ten", value="10"),
            discord.SelectOption(label="zero", value="0"),
        ],
    )
    async def set_count(self, interaction: discord.Interaction, select: discord.ui.Select) -> None:
        self.count = int(select.values[0])
        await interaction.response.edit_message(content=f"count: {self.count}", view=self)


class TinyCog(commands.Cog):
    paper = app_commands.Group(name="paper", description="Papers")

    def __init__(self, bot: TinyBot) -> None:
        self.bot = bot

    @app_commands.command(name="ping", description="Replies pong")
    async def ping(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_message("pong", ephemeral=True)

    @paper.command(name="search", description="Search papers")
    @app_commands.describe(query="Words to look for", limit="How many")
    async def search(self, interaction: discord.Interaction, query: str, limit: int = 5) -> None:
        await interaction.response.send_message(f"results for {query!r} (limit {limit})")

    @search.autocomplete("query")
    async def search_query(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        count = 30 if current == "many" else 3  # 30: over Discord's limit of 25
        return [
            app_commands.Choice(name=f"{current} {i}", value=f"{current}-{i}") for i in range(count)
        ]

    @app_commands.command(name="counter", description="A counter with a button")
    async def counter(self, interaction: discord.Interaction) -> None:
        view = CounterView(interaction.user.id)
        await interaction.response.send_message("count: 0", view=view)
        view.message = await interaction.original_response()  # GET .../messages/@original

    @app_commands.command(name="later", description="Defers, then edits")
    async def later(self, interaction: discord.Interaction) -> None:
        await interaction.response.defer(thinking=True)
        await interaction.edit_original_response(content="done")
        embed = discord.Embed(title="More", description="and one more thing")
        await interaction.followup.send(embed=embed, ephemeral=True)

    @app_commands.command(name="shout", description="Too long a message")
    async def shout(self, interaction: discord.Interaction) -> None:
        try:
            await interaction.response.send_message("x" * 2001)
        except discord.HTTPException as error:
            self.bot.http_errors.append(error)
            await interaction.response.send_message("that was too long", ephemeral=True)

    @app_commands.command(name="sleepy", description="Answers too late")
    async def sleepy(self, interaction: discord.Interaction) -> None:
        await asyncio.sleep(self.bot.slow_delay)
        await interaction.response.send_message("finally")


class RecordingTree(app_commands.CommandTree):
    async def on_error(
        self, interaction: discord.Interaction, error: app_commands.AppCommandError
    ) -> None:
        bot = interaction.client
        assert isinstance(bot, TinyBot)
        bot.errors.append(error)
        bot.error_event.set()


class TinyBot(commands.Bot):
    def __init__(self, guild_id: int) -> None:
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=discord.Intents.default(),  # the default has no privileged intent
            tree_cls=RecordingTree,
            allowed_mentions=discord.AllowedMentions.none(),
            help_command=None,
            guild_ready_timeout=0.05,  # on_ready 50 ms after the last GUILD_CREATE, not 2 s
        )
        self.guild_id = guild_id
        self.errors: list[Exception] = []
        self.error_event = asyncio.Event()
        self.http_errors: list[discord.HTTPException] = []
        self.ready_count = 0
        self.ready_event = asyncio.Event()
        self.synced: list[app_commands.AppCommand] = []
        self.slow_delay = 0.0

    async def setup_hook(self) -> None:
        await self.add_cog(TinyCog(self))
        guild = discord.Object(id=self.guild_id)
        self.tree.copy_global_to(guild=guild)
        self.synced = await self.tree.sync(guild=guild)

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        return None  # discord.py sleeps 5 s before every re-IDENTIFY; not in tests

    async def on_ready(self) -> None:
        self.ready_count += 1
        self.ready_event.set()


# --------------------------------------------------------------------------------------------
# fixtures


@dataclass
class World:
    fake: FakeDiscord
    guild: FakeGuild
    general: object
    alice: FakeUser
    bob: FakeUser


@pytest.fixture
async def world() -> AsyncIterator[World]:
    guild = FakeGuild.create("Test Guild", channels=["general", "papers"])
    alice = guild.add_member(FakeUser.create("alice")).user
    bob = guild.add_member(FakeUser.create("bob")).user
    before = _endpoints()
    async with FakeDiscord(guilds=[guild], token=TOKEN) as fake:
        with fake.patch_discord():
            assert _endpoints() == (f"{fake.url}/api/v10", yarl.URL(fake.gateway_url))
            yield World(fake, guild, guild.channel("general"), alice, bob)
        # strict: leaving the block raises if a violation was left in fake.violations
    assert _endpoints() == before  # restored (to whatever it was before this test)


def _endpoints() -> tuple[str, yarl.URL]:
    return discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY


async def _first(task: asyncio.Task, waiter: asyncio.Future, seconds: float = 10.0) -> None:
    done, _ = await asyncio.wait({task, waiter}, timeout=seconds, return_when="FIRST_COMPLETED")
    if task in done:
        task.result()
        raise AssertionError("the bot stopped")
    if waiter not in done:
        waiter.cancel()
        raise TimeoutError("the bot did not get ready")


@pytest.fixture
async def bot(world: World) -> AsyncIterator[TinyBot]:
    bot = TinyBot(world.guild.id)
    task = asyncio.create_task(bot.start(TOKEN))
    try:
        await _first(task, asyncio.ensure_future(bot.ready_event.wait()))
        yield bot
    finally:
        await bot.close()
        await asyncio.wait_for(task, 10)


# --------------------------------------------------------------------------------------------
# start-up


async def test_start_up_identifies_syncs_and_fires_on_ready(world: World, bot: TinyBot) -> None:
    fake = world.fake
    paths = [(r.method, r.path) for r in fake.requests]
    assert paths[:2] == [("GET", "/users/@me"), ("GET", "/oauth2/applications/@me")]
    assert ("PUT", f"/applications/{fake.app_id}/guilds/{world.guild.id}/commands") in paths
    assert not any(p == "/gateway/bot" for _, p in paths)  # a plain Bot goes straight there

    connection = fake.gateway_connections[0]
    assert connection["kind"] == "gateway"
    assert connection["query"]["v"] == "10"
    assert connection["query"]["encoding"] == "json"
    assert connection["query"]["compress"] in ("zlib-stream", "zstd-stream")  # ignored
    assert fake.intents == bot.intents.value
    assert fake.identifies[0]["properties"]["browser"] == "discord.py"

    synced = {c["name"]: c for c in fake.synced_commands[world.guild.id]}
    assert set(synced) == {"ping", "paper", "counter", "later", "shout", "sleepy"}
    assert {c.name: c.id for c in bot.synced} == {n: int(c["id"]) for n, c in synced.items()}
    assert synced["paper"]["options"][0]["type"] == 1  # a subcommand

    guild = bot.get_guild(world.guild.id)
    assert guild is not None and not guild.unavailable
    assert {c.name for c in guild.text_channels} == {"general", "papers"}
    assert guild.me is not None and guild.me.id == fake.bot_user.id
    assert guild.default_role.id == guild.id
    assert guild.me.guild_permissions.send_messages

    seqs = [e["s"] for e in fake.gateway_log if e["dir"] == "send" and e["s"] is not None]
    assert seqs == sorted(set(seqs)) and seqs[0] == 1
    assert bot.ready_count == 1


# --------------------------------------------------------------------------------------------
# interactions


async def test_slash_command_round_trip(world: World, bot: TinyBot) -> None:
    fake = world.fake
    itx = await fake.slash(world.guild, world.general, world.alice, "ping")
    body = await itx.response()
    assert body["type"] == 4
    assert body["data"]["content"] == "pong"
    assert body["data"]["flags"] & MessageFlag.EPHEMERAL
    assert body["data"]["allowed_mentions"] == {"parse": []}
    assert itx.acknowledged_after is not None and itx.acknowledged_after < fake.ack_timeout

    message = await itx.original()
    assert message["content"] == "pong"
    assert message["interaction_metadata"]["user"]["id"] == str(world.alice.id)
    assert fake.allowed_mentions == [{"parse": []}]


async def test_subcommand_options_and_autocomplete(world: World, bot: TinyBot) -> None:
    fake = world.fake
    itx = await fake.slash(
        world.guild,
        world.general,
        world.alice,
        "paper",
        subcommand="search",
        options={"query": "diffusion", "limit": 2},
    )
    assert (await itx.response())["data"]["content"] == "results for 'diffusion' (limit 2)"
    [sub] = itx.payload["data"]["options"]
    assert sub["type"] == 1 and sub["name"] == "search"
    assert {o["name"]: o["value"] for o in sub["options"]} == {"query": "diffusion", "limit": 2}
    assert itx.payload["data"]["guild_id"] == str(world.guild.id)

    auto = await fake.autocomplete(
        world.guild, world.general, world.alice, "paper search", focused="query", value="att"
    )
    focused = auto.payload["data"]["options"][0]["options"]
    assert focused == [{"type": 3, "name": "query", "value": "att", "focused": True}]
    assert await auto.choices() == [{"name": f"att {i}", "value": f"att-{i}"} for i in range(3)]


async def test_autocomplete_over_25_choices_is_a_violation(world: World, bot: TinyBot) -> None:
    fake = world.fake
    await fake.autocomplete(
        world.guild, world.general, world.alice, "paper search", focused="query", value="many"
    )
    violation = await fake.wait_for_violation("invalid_body")
    assert "choices" in violation.details
    assert fake.take_violations() == [violation]


async def test_button_click_and_select_edit_the_message(world: World, bot: TinyBot) -> None:
    fake = world.fake
    itx = await fake.slash(world.guild, world.general, world.alice, "counter")
    message = await itx.original()
    assert message["content"] == "count: 0"
    await fake.wait_for_request("GET", r"/webhooks/\d+/[^/]+/messages/@original")

    click = await fake.click(message, label="+1")  # by the invoker (the default user)
    assert (await click.response())["type"] == 7
    edited = await click.original()
    assert edited["id"] == message["id"] and edited["content"] == "count: 1"
    assert click.payload["message"]["id"] == message["id"]
    assert fake.message(message["id"])["edited_timestamp"] is not None

    refused = await fake.click(edited, label="+1", user=world.bob)
    body = await refused.response()
    assert body["type"] == 4 and body["data"]["content"] == "This is not your counter."
    assert fake.message(message["id"])["content"] == "count: 1"

    chosen = await fake.select(edited, ["10"], placeholder="Set the count")
    assert chosen.payload["data"]["values"] == ["10"]
    assert (await chosen.original())["content"] == "count: 10"
    assert all(m == {"parse": []} for m in fake.allowed_mentions)


async def test_defer_then_edit_and_followup(world: World, bot: TinyBot) -> None:
    fake = world.fake
    itx = await fake.slash(world.guild, world.general, world.alice, "later")
    assert (await itx.response())["type"] == 5
    message = await itx.original()  # waits until it is no longer "thinking"
    assert message["content"] == "done"
    assert not message["flags"] & MessageFlag.LOADING
    [followup] = await itx.wait_for_followups(1)
    assert followup["embeds"][0]["description"] == "and one more thing"
    assert followup["flags"] & MessageFlag.EPHEMERAL
    assert [w.kind for w in fake.message_writes] == ["webhook_edit", "followup"]


async def test_too_long_content_is_rejected_and_recorded(world: World, bot: TinyBot) -> None:
    fake = world.fake
    itx = await fake.slash(world.guild, world.general, world.alice, "shout")
    body = await itx.response()  # the accepted, second callback
    assert body["data"]["content"] == "that was too long"
    assert len(itx.callbacks) == 2
    [error] = bot.http_errors
    assert error.status == 400 and error.code == 50035
    [violation] = fake.take_violations("invalid_body")
    assert "content" in violation.details


async def test_slow_command_breaks_the_ack_window(world: World, bot: TinyBot) -> None:
    fake = world.fake
    fake.ack_timeout = 0.3
    bot.slow_delay = 0.45
    itx = await fake.slash(world.guild, world.general, world.alice, "sleepy")
    await fake.wait_for_violation("interaction_not_acknowledged")
    await fake.wait_for_violation("late_acknowledgement")
    await asyncio.wait_for(bot.error_event.wait(), 5)
    cause = bot.errors[0].__cause__
    assert isinstance(cause, discord.NotFound) and cause.code == 10062
    assert not itx.acknowledged
    kinds = sorted(v.kind for v in fake.take_violations())
    assert kinds == ["interaction_not_acknowledged", "late_acknowledgement"]


async def test_second_acknowledgement_is_rejected(world: World, bot: TinyBot) -> None:
    fake = world.fake
    itx = await fake.slash(world.guild, world.general, world.alice, "ping")
    await itx.response()
    url = f"{fake.api_base}/interactions/{itx.id}/{itx.token}/callback"
    async with aiohttp.ClientSession() as http, http.post(url, json={"type": 5}) as response:
        assert response.status == 400
        assert (await response.json())["code"] == 40060
    [violation] = fake.take_violations()
    assert violation.kind == "already_acknowledged"


async def test_unsynced_command_is_a_helpful_error(world: World, bot: TinyBot) -> None:
    with pytest.raises(CommandNotSynced, match="ping"):
        await world.fake.slash(world.guild, world.general, world.alice, "nope")
    with pytest.raises(CommandNotSynced, match="search"):
        await world.fake.slash(world.guild, world.general, world.alice, "paper", subcommand="x")


# --------------------------------------------------------------------------------------------
# REST faults and rate limits


async def test_429_with_via_is_retried_by_discord_py(world: World, bot: TinyBot) -> None:
    fake = world.fake
    fault = fake.fail_next("POST", r"/channels/\d+/messages", 429, retry_after=0.05)
    channel = bot.get_channel(world.general.id)
    assert isinstance(channel, discord.TextChannel)
    sent = await channel.send("hello")
    assert fault.hits == 1
    attempts = fake.requests_to("POST", rf"/channels/{world.general.id}/messages")
    assert [r.status for r in attempts] == [429, 200]
    assert [m["content"] for m in fake.messages(world.general)] == ["hello"]
    assert sent.id == int(fake.messages(world.general)[0]["id"])
    assert fake.allowed_mentions == [{"parse": []}]


async def test_global_rate_limit_is_waited_out(world: World, bot: TinyBot) -> None:
    fake = world.fake
    fake.set_global_rate_limit(20, burst=1)
    channel = bot.get_channel(world.general.id)
    assert isinstance(channel, discord.TextChannel)
    for i in range(3):
        await channel.send(f"message {i}")
    statuses = [r.status for r in fake.requests_to("POST", r"/channels/\d+/messages")]
    assert statuses.count(200) == 3 and 429 in statuses
    assert [m["content"] for m in fake.messages(world.general)] == [
        f"message {i}" for i in range(3)
    ]


async def test_403_fault_raises_forbidden(world: World, bot: TinyBot) -> None:
    world.fake.fail_next("POST", r"/channels/\d+/messages", 403)
    channel = bot.get_channel(world.general.id)
    assert isinstance(channel, discord.TextChannel)
    with pytest.raises(discord.Forbidden) as caught:
        await channel.send("nope")
    assert caught.value.code == 50013
    assert world.fake.messages(world.general) == []


async def test_file_upload_is_multipart(world: World, bot: TinyBot) -> None:
    channel = bot.get_channel(world.general.id)
    assert isinstance(channel, discord.TextChannel)
    sent = await channel.send("with a file", file=discord.File(io.BytesIO(b"abc"), "a.txt"))
    [request] = world.fake.requests_to("POST", r"/channels/\d+/messages")
    assert request.files == [("a.txt", 3)] and request.json["content"] == "with a file"
    [attachment] = sent.attachments
    assert attachment.filename == "a.txt" and attachment.size == 3


async def test_raw_http_content_type_and_unknown_routes(world: World) -> None:
    fake = world.fake
    headers = {"Authorization": f"Bot {TOKEN}"}
    async with aiohttp.ClientSession(headers=headers) as http:
        async with http.get(f"{fake.api_base}/users/@me") as response:
            assert response.headers["Content-Type"] == "application/json"  # no charset
            assert (await response.json())["id"] == str(fake.bot_user.id)
        async with http.get(f"{fake.api_base}/voice/regions") as response:
            assert response.status == 404
    async with aiohttp.ClientSession() as http, http.get(f"{fake.api_base}/users/@me") as response:
        assert response.status == 401
    [violation] = fake.take_violations()
    assert violation.kind == "unsupported_route" and violation.path == "/voice/regions"


# --------------------------------------------------------------------------------------------
# gateway drops


@pytest.mark.parametrize("how", ["close-4000", "tcp-drop", "op7-reconnect"])
async def test_gateway_drop_resumes_and_replays(world: World, bot: TinyBot, how: str) -> None:
    fake = world.fake
    if how == "op7-reconnect":
        await fake.send_reconnect()
    else:
        await fake.drop_gateway(code=4000, abort=how == "tcp-drop")
    # Sent while the bot is away: queued in the session and replayed on RESUME.
    itx = await fake.slash(world.guild, world.general, world.alice, "ping")
    await fake.wait_until_resumed()
    assert (await itx.response())["data"]["content"] == "pong"
    assert fake.gateway_connections[-1]["kind"] == "resume"  # READY's resume_gateway_url
    assert fake.identify_count == 1 and bot.ready_count == 1

    again = await fake.slash(world.guild, world.general, world.alice, "ping")
    assert (await again.response())["type"] == 4


async def test_invalid_session_makes_the_bot_identify_again(world: World, bot: TinyBot) -> None:
    fake = world.fake
    fake.resume_mode = "invalidate"
    bot.ready_event.clear()
    await fake.drop_gateway()
    await fake.wait_until_identified(count=2)
    await asyncio.wait_for(bot.ready_event.wait(), 10)
    assert fake.invalidated_count == 1 and fake.resume_count == 0
    assert bot.ready_count == 2

    itx = await fake.slash(world.guild, world.general, world.alice, "ping")
    assert (await itx.response())["data"]["content"] == "pong"


async def test_privileged_intents_are_refused_unless_allowed(world: World) -> None:
    intents = discord.Intents.default()
    intents.members = True
    bot = commands.Bot(command_prefix=commands.when_mentioned, intents=intents)
    try:
        with pytest.raises(discord.PrivilegedIntentsRequired):
            await asyncio.wait_for(bot.start(TOKEN), 10)
    finally:
        await bot.close()
    assert world.fake.identify_count == 0


# --------------------------------------------------------------------------------------------
# validators (no bot)


def test_message_limits() -> None:
    assert validate_message({"content": "x" * 2000}) == {}
    assert "content" in validate_message({"content": "x" * 2001})
    assert "embeds" in validate_message({"embeds": [{"title": "t"}] * 11})
    big = {"description": "x" * 4000}
    errors = validate_message({"embeds": [big, big]})  # 8000 characters over two embeds
    assert errors["embeds"]["_errors"][0]["code"] == "MAX_EMBED_SIZE_EXCEEDED"
    embed = {
        "title": "t" * 257,
        "fields": [{"name": "n", "value": "v" * 1025}],
        "footer": {"text": "f" * 2049},
        "author": {"name": "a" * 257},
    }
    errors = validate_message({"embeds": [embed]})["embeds"]["0"]
    assert set(errors) == {"title", "fields", "footer", "author"}
    assert (
        "fields"
        in validate_message({"embeds": [{"fields": [{"name": "n", "value": "v"}] * 26}]})["embeds"][
            "0"
        ]
    )

    def button(i: int) -> dict:
        return {"type": 2, "style": 1, "label": str(i), "custom_id": f"b{i}"}

    six_rows = [{"type": 1, "components": [button(i)]} for i in range(6)]
    assert "components" in validate_message({"components": six_rows})
    wide = [{"type": 1, "components": [button(i) for i in range(6)]}]
    assert "COMPONENT_LAYOUT_WIDTH_EXCEEDED" in str(validate_message({"components": wide}))
    long_id = [{"type": 1, "components": [{**button(0), "custom_id": "c" * 101}]}]
    assert "custom_id" in str(validate_message({"components": long_id}))
    options = [{"label": f"o{i}", "value": str(i)} for i in range(26)]
    menu = [{"type": 1, "components": [{"type": 3, "custom_id": "s", "options": options}]}]
    assert "options" in str(validate_message({"components": menu}))
    long_label = [{"label": "l" * 101, "value": "v"}]
    menu = [{"type": 1, "components": [{"type": 3, "custom_id": "s", "options": long_label}]}]
    assert "label" in str(validate_message({"components": menu}))


def test_choice_and_command_limits() -> None:
    ok = {"choices": [{"name": "a", "value": "a"}]}
    assert validate_choices(ok) == {}
    assert "choices" in validate_choices({"choices": [{"name": "a", "value": "a"}] * 26})
    assert "name" in str(validate_choices({"choices": [{"name": "", "value": "a"}]}))
    assert "value" in str(validate_choices({"choices": [{"name": "a", "value": "v" * 101}]}))
    assert validate_commands([{"name": "ping", "description": "Pong", "type": 1}]) == {}
    assert validate_commands([{"name": "Ping", "description": "Pong", "type": 1}])
    assert validate_commands([{"name": "ping", "description": "", "type": 1}])
