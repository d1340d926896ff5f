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
    Perm,
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
# daily digest support: per-channel rate limits, history, holds, channel changes, components


def _text_channel(bot: discord.Client, channel_id: int) -> discord.TextChannel:
    channel = bot.get_channel(channel_id)
    assert isinstance(channel, discord.TextChannel)
    return channel


async def test_channel_limit_headers_and_429_on_raw_http(world: World) -> None:
    fake = world.fake
    papers = world.guild.channel("papers")
    fake.set_channel_message_limit((2, 0.5))
    headers = {"Authorization": f"Bot {TOKEN}"}
    body = {"content": "hi"}
    async with aiohttp.ClientSession(headers=headers) as http:

        async def post(channel_id: int) -> aiohttp.ClientResponse:
            url = f"{fake.api_base}/channels/{channel_id}/messages"
            async with http.post(url, json=body) as response:
                await response.read()
                return response

        first, second = await post(world.general.id), await post(world.general.id)
        other = await post(papers.id)
        over = await post(world.general.id)

        for response, remaining in ((first, "1"), (second, "0"), (other, "1")):
            assert response.status == 200
            assert response.headers["X-RateLimit-Limit"] == "2"
            assert response.headers["X-RateLimit-Remaining"] == remaining
            assert 0 < float(response.headers["X-RateLimit-Reset-After"]) <= 0.5
            assert float(response.headers["X-RateLimit-Reset"]) > 1e9  # epoch seconds
        # one bucket hash for the route, whatever the channel (discord.py keys hash + channel)
        assert first.headers["X-RateLimit-Bucket"] == other.headers["X-RateLimit-Bucket"]

        assert over.status == 429
        assert over.headers["Via"] and over.headers["X-RateLimit-Scope"] == "user"
        assert over.headers["X-RateLimit-Remaining"] == "0"
        assert over.headers["X-RateLimit-Bucket"] == first.headers["X-RateLimit-Bucket"]
        [hit] = fake.rate_limit_hits
        assert hit.kind == "channel" and 0 < hit.retry_after <= 0.5
        assert fake.rate_limited_count == 1
        assert len(fake.messages(world.general)) == 2  # the 429 created nothing

        # other routes carry no rate limit headers; with the limit off, neither do creates
        async with http.get(f"{fake.api_base}/channels/{world.general.id}") as response:
            assert "X-RateLimit-Limit" not in response.headers
        fake.set_channel_message_limit(None)
        assert "X-RateLimit-Limit" not in (await post(world.general.id)).headers

        # edits have a bucket of their own
        fake.set_channel_edit_limit((1, 5.0))
        message_id = fake.message_ids(world.general)[0]
        url = f"{fake.api_base}/channels/{world.general.id}/messages/{message_id}"
        async with http.patch(url, json={"content": "edited"}) as response:
            assert response.status == 200 and response.headers["X-RateLimit-Remaining"] == "0"
        async with http.patch(url, json={"content": "again"}) as response:
            assert response.status == 429
    assert [h.kind for h in fake.rate_limit_hits] == ["channel", "channel"]
    stats = fake.stats()
    assert stats["rate_limited"] == {"global": 0, "channel": 2, "fault": 0}
    assert stats["by_route"]["POST /channels/{cid}/messages"] == 5
    assert stats["by_route"]["PATCH /channels/{cid}/messages/{mid}"] == 2
    assert stats["by_status"][429] == 2


async def test_discord_py_paces_itself_under_the_channel_limit(world: World, bot: TinyBot) -> None:
    """With X-RateLimit-* on every create, discord.py waits out each window by itself
    (http.py Ratelimit.update / __aexit__): no 429 at all, sequential or concurrent."""
    fake = world.fake
    fake.set_channel_message_limit((3, 0.3))
    general = _text_channel(bot, world.general.id)
    papers = _text_channel(bot, world.guild.channel("papers").id)

    async def sequential(channel: discord.TextChannel) -> None:
        for i in range(7):
            await channel.send(f"{channel.name} {i}")

    await asyncio.gather(
        sequential(general),
        *(papers.send(f"burst {i}") for i in range(7)),  # concurrent, one channel
    )
    assert fake.rate_limited_count == 0
    assert fake.status_counts[429] == 0
    for channel in (world.general, world.guild.channel("papers")):
        times = fake.message_create_times(channel)
        assert len(times) == len(fake.messages(channel)) == 7
        # fixed windows starting with messages 0, 3 and 6: two full waits for 7 messages
        assert times[3] - times[0] >= 0.29 and times[6] - times[3] >= 0.29
    contents = [m["content"] for m in fake.messages(world.general)]
    assert contents == [f"general {i}" for i in range(7)]


async def test_a_429_from_the_channel_limit_is_retried_and_counted(
    world: World, bot: TinyBot
) -> None:
    fake = world.fake
    general = _text_channel(bot, world.general.id)
    await general.send("before the limit")  # discord.py now knows the bucket has no headers
    fake.set_channel_message_limit((1, 0.2))
    raw_headers = {"Authorization": f"Bot {TOKEN}"}
    url = f"{fake.api_base}/channels/{world.general.id}/messages"
    async with (
        aiohttp.ClientSession(headers=raw_headers) as http,
        http.post(url, json={"content": "someone else"}) as response,
    ):
        assert response.status == 200  # uses up the window behind the bot's back
    await general.send("after")  # 429 (Via, retry_after), slept, retried
    statuses = [r.status for r in fake.requests_to("POST", r"/channels/\d+/messages")]
    assert statuses == [200, 200, 429, 200]
    assert [h.kind for h in fake.rate_limit_hits] == ["channel"]


async def test_a_herd_under_the_global_limit_gets_through(world: World, bot: TinyBot) -> None:
    """In-flight requests rejected together by the global bucket are told spread-out retry
    times, so discord.py (5 tries, no pacing of the global limit) gets them all through."""
    fake = world.fake
    channels = [world.guild.add_channel(f"herd-{i}") for i in range(8)]
    fake.set_global_rate_limit(60, burst=1)
    sends = (bot.get_partial_messageable(c.id).send("hi") for c in channels)
    await asyncio.gather(*sends)  # one bucket per channel: all 8 in flight at once
    assert all(len(fake.messages(c)) == 1 for c in channels)
    hits = fake.rate_limit_hits
    assert hits and {h.kind for h in hits} == {"global"}
    due = sorted(h.time + h.retry_after for h in hits)
    assert all(b - a >= 1 / 60 - 0.002 for a, b in zip(due, due[1:], strict=False))


async def test_interactions_are_exempt_from_global_and_channel_limits(
    world: World, bot: TinyBot
) -> None:
    fake = world.fake
    fake.set_channel_message_limit((1, 60.0))
    fake.set_global_rate_limit(0.5, burst=1)
    # (raw HTTP: through discord.py, the send that empties a bucket sleeps out its window)
    headers = {"Authorization": f"Bot {TOKEN}"}
    url = f"{fake.api_base}/channels/{world.general.id}/messages"
    async with (
        aiohttp.ClientSession(headers=headers) as http,
        http.post(url, json={"content": "uses the window and the global token"}) as response,
    ):
        assert response.status == 200 and response.headers["X-RateLimit-Remaining"] == "0"
    itx = await fake.slash(world.guild, world.general, world.alice, "later")
    assert (await itx.response())["type"] == 5  # callback
    assert (await itx.original())["content"] == "done"  # webhook PATCH @original
    await itx.wait_for_followups(1)  # webhook POST into the same channel
    assert fake.rate_limited_count == 0
    routes = [r.route for r in fake.requests if r.path.startswith(("/interactions", "/webhooks"))]
    assert sorted(routes) == [
        "PATCH /webhooks/{app}/{token}/messages/{mid}",
        "POST /interactions/{iid}/{token}/callback",
        "POST /webhooks/{app}/{token}",
    ]


async def test_history_query_parameters(world: World, bot: TinyBot) -> None:
    fake = world.fake
    papers_fake = world.guild.channel("papers")
    papers = _text_channel(bot, papers_fake.id)
    sent = [await papers.send(f"m{i}") for i in range(105)]
    await (await fake.slash(world.guild, papers_fake, world.alice, "ping")).response()
    ids = [m.id for m in sent]
    assert len(fake.messages(papers_fake)) == 106  # the ephemeral "pong" is there...

    async def history(**kwargs) -> list[int]:
        return [m.id async for m in papers.history(**kwargs)]

    assert await history(limit=None) == ids[::-1]  # ...but never in the history
    assert await history(limit=5) == ids[:-6:-1]
    # after: Discord answers the 100 right after the id, newest first; discord.py pages on
    # with data[0] and yields oldest first
    assert await history(after=sent[2], limit=None) == ids[3:]
    assert await history(after=sent[2], limit=4) == ids[3:7]
    assert await history(before=sent[10], limit=3) == [ids[9], ids[8], ids[7]]
    assert await history(around=sent[50], limit=5) == [ids[52], ids[51], ids[50], ids[49], ids[48]]
    reads = fake.requests_to("GET", r"/channels/\d+/messages")
    assert [r.query for r in reads if "after" in r.query][:2] == [
        {"limit": "100", "after": str(ids[2])},
        {"limit": "100", "after": str(ids[102])},
    ]

    headers = {"Authorization": f"Bot {TOKEN}"}
    url = f"{fake.api_base}/channels/{papers_fake.id}/messages"
    async with aiohttp.ClientSession(headers=headers) as http:
        async with http.get(url) as response:
            assert len(await response.json()) == 50  # the default limit
        for bad in ("0", "101", "x"):
            async with http.get(url, params={"limit": bad}) as response:
                assert response.status == 400
                assert (await response.json())["errors"]["limit"]
    assert [v.kind for v in fake.take_violations()] == ["invalid_query"] * 3


async def test_hold_then_release(world: World, bot: TinyBot) -> None:
    fake = world.fake
    general = _text_channel(bot, world.general.id)
    gate = fake.hold("POST", r"/channels/\d+/messages", after=1)
    sender = asyncio.create_task(general.send("one"))
    await sender
    second = asyncio.create_task(general.send("two"))
    [held] = await gate.wait_blocked()
    assert held.json["content"] == "two" and held.status is None
    assert gate.waiting == 1 and [m["content"] for m in fake.messages(world.general)] == ["one"]
    assert not second.done()
    gate.release()
    message = await asyncio.wait_for(second, 5)
    assert message.content == "two" and held.status == 200 and not held.dropped
    await general.send("three")  # a released gate holds nothing more
    assert gate.waiting == 0 and len(gate.held) == 1
    assert [m["content"] for m in fake.messages(world.general)] == ["one", "two", "three"]


@pytest.mark.parametrize("commit_first", [False, True])
async def test_killed_mid_post(world: World, bot: TinyBot, commit_first: bool) -> None:
    """The bot dies while a create is in flight: without commit_first Discord never got it
    (no message); with it, the message exists but the bot never learned its id."""
    fake = world.fake
    general = _text_channel(bot, world.general.id)
    gate = fake.hold("POST", r"/channels/\d+/messages", commit_first=commit_first)
    sender = asyncio.create_task(general.send("digest part 1", nonce="digest-1"))
    [held] = await gate.wait_blocked()
    assert len(fake.messages(world.general)) == (1 if commit_first else 0)
    sender.cancel()  # a killed process: its connection closes, the answer is lost
    assert await gate.wait_dropped() == [held]
    gate.release()
    assert held.dropped and held.status == (200 if commit_first else None)
    assert len(fake.messages(world.general)) == (1 if commit_first else 0)
    assert len(fake.message_create_times(world.general)) == (1 if commit_first else 0)

    # The restarted bot re-posts with the same enforced nonce: Discord (and the fake) hands
    # back the message it already created instead of a duplicate.
    again = await general.send("digest part 1", nonce="digest-1")
    [stored] = fake.messages(world.general)
    assert again.id == int(stored["id"]) and stored["nonce"] == "digest-1"
    assert fake.stats()["held"] == 1 and fake.stats()["dropped"] == 1


async def test_deleted_channel_is_unknown(world: World, bot: TinyBot) -> None:
    fake = world.fake
    papers_fake = world.guild.channel("papers")
    papers = _text_channel(bot, papers_fake.id)
    posted = await papers.send("soon gone")
    deleted = asyncio.ensure_future(bot.wait_for("guild_channel_delete", timeout=5))
    await fake.delete_channel(papers_fake)
    assert (await deleted).id == papers_fake.id
    assert bot.get_channel(papers_fake.id) is None
    with pytest.raises(discord.NotFound) as caught:
        await bot.get_partial_messageable(papers_fake.id).send("anyone there?")
    assert caught.value.code == 10003
    with pytest.raises(discord.NotFound) as caught:
        await posted.edit(content="edit")
    assert caught.value.code == 10003
    assert [m["content"] for m in fake.messages(papers_fake)] == ["soon gone"]  # still readable
    with pytest.raises(LookupError, match="deleted"):
        await fake.click(fake.message_ids(papers_fake)[0], custom_id="x", user=world.alice)


async def test_losing_send_permission(world: World, bot: TinyBot) -> None:
    fake = world.fake
    general = _text_channel(bot, world.general.id)
    world.general.set_permissions(fake.bot_user, deny=Perm.SEND_MESSAGES)
    assert general.permissions_for(general.guild.me).send_messages  # the cache is stale...
    with pytest.raises(discord.Forbidden) as caught:
        await general.send("nope")  # ...but the fake checks the real permissions
    assert caught.value.code == 50013
    updated = asyncio.ensure_future(bot.wait_for("guild_channel_update", timeout=5))
    await fake.update_channel(world.general)
    _, after = await updated
    assert after.id == world.general.id
    assert not general.permissions_for(general.guild.me).send_messages
    assert general.permissions_for(general.guild.me).view_channel
    assert fake.messages(world.general) == []


# a bot that posts a digest with persistent (DynamicItem) vote buttons


class VoteButton(
    discord.ui.DynamicItem[discord.ui.Button],
    template=r"vote:(?P<paper>\d{4}\.\d{4,5}):(?P<direction>up|down)",
):
    def __init__(self, paper: str, direction: str) -> None:
        super().__init__(discord.ui.Button(label=direction, custom_id=f"vote:{paper}:{direction}"))
        self.paper = paper
        self.direction = direction

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Button, match
    ) -> VoteButton:
        return cls(match["paper"], match["direction"])

    async def callback(self, interaction: discord.Interaction) -> None:
        text = f"{interaction.user.name} voted {self.direction} on {self.paper}"
        await interaction.response.send_message(text, ephemeral=True)


class DigestBot(discord.Client):
    def __init__(self) -> None:
        super().__init__(
            intents=discord.Intents.default(),
            allowed_mentions=discord.AllowedMentions.none(),
            guild_ready_timeout=0.05,
        )
        self.ready_event = asyncio.Event()

    async def setup_hook(self) -> None:
        self.add_dynamic_items(VoteButton)

    async def on_ready(self) -> None:
        self.ready_event.set()


async def _start(client: DigestBot) -> asyncio.Task:
    task = asyncio.create_task(client.start(TOKEN))
    await _first(task, asyncio.ensure_future(client.ready_event.wait()))
    return task


async def test_dynamic_buttons_on_a_channel_message_survive_a_restart(world: World) -> None:
    fake = world.fake
    first = DigestBot()
    task = await _start(first)
    view = discord.ui.View(timeout=None)
    papers = ["2401.08541", "2401.07519"]
    for paper in papers:
        view.add_item(VoteButton(paper, "up"))
        view.add_item(VoteButton(paper, "down"))
    embeds = [discord.Embed(title=f"Paper {i}", description="x" * 200) for i in range(10)]
    sent = await _text_channel(first, world.general.id).send(embeds=embeds, view=view)
    await first.close()
    await task

    message = fake.message(sent.id)
    assert len(message["embeds"]) == 10
    with pytest.raises(ValueError, match="pass user="):
        await fake.click(message, custom_id="vote:2401.08541:up")  # nobody invoked it

    second = DigestBot()  # a new process: only the DynamicItem template knows the buttons
    task = await _start(second)
    try:
        click = await fake.click(message, custom_id="vote:2401.08541:up", user=world.alice)
        body = await click.response()
        assert body["data"]["content"] == "alice voted up on 2401.08541"
        assert body["data"]["flags"] & MessageFlag.EPHEMERAL
        assert click.payload["data"]["custom_id"] == "vote:2401.08541:up"
        assert click.payload["message"]["id"] == str(sent.id)
        down = await fake.click(message, custom_id="vote:2401.07519:down", user=world.bob)
        assert (await down.response())["data"]["content"] == "bob voted down on 2401.07519"
    finally:
        await second.close()
        await task
    assert fake.identify_count == 2


async def test_fan_out_to_many_channels(world: World, bot: TinyBot) -> None:
    """A small fan-out (the benchmark's shape): one 10-embed message with buttons per
    channel, then an edit of each, under Discord's per-channel limit."""
    fake = world.fake
    fake.set_channel_message_limit((5, 5.0))
    fake.set_channel_edit_limit((5, 5.0))
    last = asyncio.ensure_future(
        bot.wait_for("guild_channel_create", check=lambda c: c.name == "digest-39", timeout=5)
    )
    channels = [await fake.add_channel(world.guild, f"digest-{i}") for i in range(40)]
    await last
    embeds = [discord.Embed(title=f"Paper {i}", description="y" * 300) for i in range(10)]

    async def post(channel_id: int) -> discord.Message:
        view = discord.ui.View(timeout=None)
        view.add_item(VoteButton("2401.08541", "up"))
        return await _text_channel(bot, channel_id).send(embeds=embeds, view=view)

    sent = await asyncio.gather(*(post(c.id) for c in channels))
    await asyncio.gather(*(m.edit(content="updated") for m in sent))
    assert fake.rate_limited_count == 0
    assert all(fake.message(m.id)["content"] == "updated" for m in sent)
    stats = fake.stats()
    assert stats["channel_message_creates"] == 40
    assert stats["by_route"]["PATCH /channels/{cid}/messages/{mid}"] == 40


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
