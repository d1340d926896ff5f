"""The fake Discord's Components V2, forum, crosspost and attachment rules, against the REAL
discord.py: a small bot posts through the fake, and every breach comes back as Discord answers
it (400 code 50035 "Invalid Form Body" with an error path, or the route's own code).

Breaches discord.py itself refuses to build (41 components, 11 gallery items, a section with
no accessory...) go through discord.py's own HTTP client (``client.http.request``) with a raw
body, so what is tested is still the library's transport and error parsing."""

from __future__ import annotations

import asyncio
import io
import struct
import zlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import discord
import pytest
from discord import app_commands
from discord.http import Route
from fake_discord import (
    ChannelType,
    FakeChannel,
    FakeDiscord,
    FakeGuild,
    FakeUser,
    MessageFlag,
    Perm,
    validate_message,
)

TOKEN = "fake-token"
V2 = MessageFlag.IS_COMPONENTS_V2


def _png(width: int = 2, height: int = 2) -> bytes:
    """A tiny valid PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    rows = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


PNG = _png()


# --------------------------------------------------------------------------------------------
# a small bot


class CardView(discord.ui.LayoutView):
    """Container(TextDisplay, Section(accessory=Button), MediaGallery, ActionRow(Button)),
    then a Separator: every V2 building block the project uses."""

    def __init__(self, *, media: str = "https://example.org/figure.png", text: str = "# A paper"):
        super().__init__(timeout=None)
        self.clicks: list[str] = []
        more = discord.ui.Button(label="More", custom_id="card:more")
        more.callback = self.on_more
        vote = discord.ui.Button(label="Vote", custom_id="card:vote")
        vote.callback = self.on_vote
        self.add_item(
            discord.ui.Container(
                discord.ui.TextDisplay(text),
                discord.ui.Section(discord.ui.TextDisplay("The summary."), accessory=more),
                discord.ui.MediaGallery(discord.MediaGalleryItem(media, description="Fig. 1")),
                discord.ui.ActionRow(vote),
                accent_colour=0x5865F2,
            )
        )
        self.add_item(discord.ui.Separator(spacing=discord.SeparatorSpacing.large))

    async def on_more(self, interaction: discord.Interaction) -> None:
        self.clicks.append("more")
        await interaction.response.send_message("more!", ephemeral=True)

    async def on_vote(self, interaction: discord.Interaction) -> None:
        self.clicks.append("vote")
        await interaction.response.send_message("voted", ephemeral=True)


class V2Bot(discord.Client):
    def __init__(self, guild_id: int) -> None:
        super().__init__(
            intents=discord.Intents.default(),
            allowed_mentions=discord.AllowedMentions.none(),
            guild_ready_timeout=0.05,
        )
        self.guild_id = guild_id
        self.tree = app_commands.CommandTree(self)
        self.ready_event = asyncio.Event()
        self.threads_created: list[discord.Thread] = []

        @self.tree.command(name="chart", description="A chart as a file")
        async def chart(interaction: discord.Interaction) -> None:
            await interaction.response.send_message(
                "the chart", file=discord.File(io.BytesIO(PNG), "chart.png")
            )

        @self.tree.command(name="later", description="Thinks, then sends a chart")
        async def later(interaction: discord.Interaction) -> None:
            await interaction.response.defer(thinking=True)
            await interaction.followup.send(file=discord.File(io.BytesIO(PNG), "later.png"))

        @self.tree.command(name="card", description="A V2 card with its chart")
        async def card(interaction: discord.Interaction) -> None:
            await interaction.response.send_message(
                view=CardView(media="attachment://card.png"),
                file=discord.File(io.BytesIO(PNG), "card.png"),
            )

    async def setup_hook(self) -> None:
        guild = discord.Object(id=self.guild_id)
        self.tree.copy_global_to(guild=guild)
        await self.tree.sync(guild=guild)

    async def on_ready(self) -> None:
        self.ready_event.set()

    async def on_thread_create(self, thread: discord.Thread) -> None:
        self.threads_created.append(thread)


@dataclass
class World:
    fake: FakeDiscord
    guild: FakeGuild
    general: FakeChannel
    news: FakeChannel
    forum: FakeChannel
    alice: FakeUser
    bot: V2Bot

    def channel(self, fake_channel: FakeChannel) -> Any:
        channel = self.bot.get_channel(fake_channel.id)
        assert channel is not None
        return channel


@pytest.fixture
async def world() -> AsyncIterator[World]:
    guild = FakeGuild.create("V2 Guild", channels=["general"])
    news = guild.add_channel("announcements", type=ChannelType.ANNOUNCEMENT)
    forum = guild.add_channel(
        "papers",
        type=ChannelType.FORUM,
        tags=["cs.LG", {"name": "cs.CL", "emoji_name": "🗣️"}],
        default_reaction_emoji="👍",
    )
    alice = guild.add_member(FakeUser.create("alice")).user
    async with FakeDiscord(guilds=[guild], token=TOKEN) as fake:
        with fake.patch_discord():
            bot = V2Bot(guild.id)
            task = asyncio.create_task(bot.start(TOKEN))
            ready = asyncio.ensure_future(bot.ready_event.wait())
            done, _ = await asyncio.wait({task, ready}, timeout=10, return_when="FIRST_COMPLETED")
            if task in done:
                task.result()
            assert ready in done, "the bot did not get ready"
            try:
                yield World(fake, guild, guild.channel("general"), news, forum, alice, bot)
            finally:
                await bot.close()
                await asyncio.wait_for(task, 10)


async def _raw(world: World, method: str, path: str, body: Any, **params: Any) -> Any:
    """A request through discord.py's own HTTP client (its transport, its error parsing)."""
    return await world.bot.http.request(Route(method, path, **params), json=body)


async def _refused(world: World, method: str, path: str, body: Any, **params: Any) -> Any:
    with pytest.raises(discord.HTTPException) as caught:
        await _raw(world, method, path, body, **params)
    return caught.value


def _button(custom_id: str, label: str = "b") -> dict[str, Any]:
    return {"type": 2, "style": 1, "label": label, "custom_id": custom_id}


def _text(content: str) -> dict[str, Any]:
    return {"type": 10, "content": content}


# --------------------------------------------------------------------------------------------
# Components V2


async def test_a_layout_view_is_accepted_stored_and_clickable(world: World) -> None:
    fake = world.fake
    view = CardView()
    sent = await world.channel(world.general).send(view=view)
    assert sent.flags.components_v2

    [request] = fake.requests_to("POST", r"/channels/\d+/messages")
    body = request.json
    assert body["flags"] == V2 and body["content"] is None  # discord.py sends content: null
    container = body["components"][0]
    assert container["type"] == 17 and container["accent_color"] == 0x5865F2
    assert [c["type"] for c in container["components"]] == [10, 9, 12, 1]
    assert body["components"][1] == {"type": 14, "divider": True, "spacing": 2}

    stored = fake.message(sent.id)
    assert stored["flags"] & V2
    kinds = [c["type"] for c in fake._walk_components(stored["components"])]
    assert kinds == [17, 10, 9, 2, 10, 12, 1, 2, 14]  # the accessory right after its section
    ids = [c["id"] for c in fake._walk_components(stored["components"])]
    assert sorted(ids) == list(range(1, 10))  # Discord numbers components without an id

    click = await fake.click(stored, custom_id="card:more", user=world.alice)  # an accessory
    assert (await click.response())["data"]["content"] == "more!"
    click = await fake.click(stored, label="Vote", user=world.alice)  # in a row in a container
    assert (await click.response())["data"]["content"] == "voted"
    assert view.clicks == ["more", "vote"]


async def test_41_components_are_refused(world: World) -> None:
    rows = [{"type": 1, "components": [_button(f"b{i}")]} for i in range(20)]
    body = {"flags": V2, "components": [*rows, _text("one too many")]}  # 20*2 + 1
    error = await _refused(
        world, "POST", "/channels/{channel_id}/messages", body, channel_id=world.general.id
    )
    assert error.status == 400 and error.code == 50035
    assert "In components: Must be 40 or fewer in length." in error.text
    [violation] = world.fake.take_violations("invalid_body")
    assert violation.details["components"]["_errors"][0]["code"] == "BASE_TYPE_MAX_LENGTH"
    body["components"] = rows  # exactly 40
    await _raw(world, "POST", "/channels/{channel_id}/messages", body, channel_id=world.general.id)


async def test_4001_characters_of_text_are_refused(world: World) -> None:
    channel = world.channel(world.general)
    view = discord.ui.LayoutView()
    view.add_item(discord.ui.TextDisplay("x" * 2000))
    view.add_item(discord.ui.Container(discord.ui.TextDisplay("y" * 2001)))
    with pytest.raises(discord.HTTPException) as caught:
        await channel.send(view=view)
    assert caught.value.code == 50035 and "In components:" in caught.value.text
    [violation] = world.fake.take_violations("invalid_body")
    assert violation.details["components"]["_errors"][0]["code"] == (
        "COMPONENTS_TEXT_LENGTH_EXCEEDED"
    )
    view = discord.ui.LayoutView()
    view.add_item(discord.ui.TextDisplay("x" * 4000))  # one display may hold all 4,000
    await channel.send(view=view)


async def test_a_button_outside_a_row_or_section_is_refused(world: World) -> None:
    for components, where in (
        ([_button("top")], "components.0.type"),
        ([{"type": 17, "components": [_button("inside")]}], "components.0.components.0.type"),
        (
            [{"type": 9, "components": [_button("child")], "accessory": _button("acc")}],
            "components.0.components.0.type",
        ),
    ):
        body = {"flags": V2, "components": components}
        error = await _refused(
            world, "POST", "/channels/{channel_id}/messages", body, channel_id=world.general.id
        )
        assert error.code == 50035 and f"In {where}: Value of field" in error.text
    assert len(world.fake.take_violations("invalid_body")) == 3
    assert world.fake.messages(world.general) == []


async def test_a_media_gallery_of_11_items_is_refused(world: World) -> None:
    items = [{"media": {"url": f"https://example.org/{i}.png"}} for i in range(11)]
    body = {"flags": V2, "components": [{"type": 12, "items": items}]}
    error = await _refused(
        world, "POST", "/channels/{channel_id}/messages", body, channel_id=world.general.id
    )
    assert error.code == 50035 and "In components.0.items: Must be between 1 and 10" in error.text
    body = {"flags": V2, "components": [{"type": 12, "items": [{"media": {}}]}]}
    error = await _refused(
        world, "POST", "/channels/{channel_id}/messages", body, channel_id=world.general.id
    )
    assert "In components.0.items.0.media.url: This field is required" in error.text
    assert len(world.fake.take_violations("invalid_body")) == 2


async def test_content_with_the_flag_is_refused(world: World) -> None:
    channel = world.channel(world.general)
    with pytest.raises(discord.HTTPException) as caught:
        await channel.send("hello", view=CardView())
    assert caught.value.code == 50035
    assert "In content: The 'content' field cannot be used" in caught.value.text
    with pytest.raises(discord.HTTPException) as caught:
        await channel.send(embed=discord.Embed(title="t"), view=CardView())
    assert "In embeds:" in caught.value.text
    assert len(world.fake.take_violations("invalid_body")) == 2


async def test_a_section_needs_one_accessory_and_one_to_three_texts(world: World) -> None:
    section = {"type": 9, "components": [_text("alone")]}
    body = {"flags": V2, "components": [section]}
    error = await _refused(
        world, "POST", "/channels/{channel_id}/messages", body, channel_id=world.general.id
    )
    assert error.code == 50035 and "In components.0.accessory: This field is required" in error.text
    thumbnail = {"type": 11, "media": {"url": "https://example.org/t.png"}}
    section = {"type": 9, "components": [_text(str(i)) for i in range(4)], "accessory": thumbnail}
    body = {"flags": V2, "components": [section]}
    error = await _refused(
        world, "POST", "/channels/{channel_id}/messages", body, channel_id=world.general.id
    )
    assert "In components.0.components: Must be between 1 and 3" in error.text
    section["components"] = section["components"][:3]
    await _raw(world, "POST", "/channels/{channel_id}/messages", body, channel_id=world.general.id)
    assert len(world.fake.take_violations("invalid_body")) == 2


async def test_attachment_references_must_name_an_uploaded_file(world: World) -> None:
    channel = world.channel(world.general)
    with pytest.raises(discord.HTTPException) as caught:
        await channel.send(view=CardView(media="attachment://missing.png"))
    assert "media.url: Attachment 'missing.png' was not uploaded" in caught.value.text
    world.fake.take_violations("invalid_body")

    sent = await channel.send(
        view=CardView(media="attachment://fig.png"), file=discord.File(io.BytesIO(PNG), "fig.png")
    )
    stored = world.fake.message(sent.id)
    [attachment] = stored["attachments"]
    gallery = stored["components"][0]["components"][2]
    media = gallery["items"][0]["media"]
    assert media["attachment_id"] == attachment["id"] and media["url"] == attachment["url"]
    assert media["content_type"] == "image/png"
    assert world.fake.attachment_bytes(stored) == PNG
    assert sent.components[0].children[2].items[0].media.url == attachment["url"]


async def test_v2_edits_follow_discords_rules(world: World) -> None:
    fake = world.fake
    channel = world.channel(world.general)
    card = await channel.send(view=CardView())
    with pytest.raises(discord.HTTPException) as caught:
        await card.edit(content="now with text")  # a V2 message stays V2
    assert "In content:" in caught.value.text
    path = "/channels/{channel_id}/messages/{message_id}"
    error = await _refused(
        world, "PATCH", path, {"flags": 0}, channel_id=world.general.id, message_id=card.id
    )
    assert "In flags:" in error.text  # the flag cannot be removed
    edited = await card.edit(view=CardView(text="# Edited"))
    assert edited.flags.components_v2
    assert fake.message(card.id)["components"][0]["components"][0]["content"] == "# Edited"

    legacy = await channel.send("plain text")
    with pytest.raises(discord.HTTPException) as caught:
        await legacy.edit(view=CardView())  # content would stay: refused
    assert "In content:" in caught.value.text
    upgraded = await legacy.edit(content=None, view=CardView())  # Discord: reset it to null
    assert upgraded.flags.components_v2 and fake.message(legacy.id)["content"] == ""
    assert len(fake.take_violations("invalid_body")) == 3


def test_v2_validator_rules() -> None:
    def errors(*components: Any, **extra: Any) -> str:
        return str(validate_message({"flags": V2, "components": list(components), **extra}))

    assert validate_message({"flags": V2, "components": [_text("ok")]}) == {}
    assert "spacing" in errors({"type": 14, "spacing": 3})
    assert "accent_color" in errors({"type": 17, "accent_color": 0x1000000, "components": []})
    assert "spoiler" in errors({"type": 17, "spoiler": "yes", "components": [_text("a")]})
    assert "COMPONENT_ID_DUPLICATED" in errors({**_text("a"), "id": 7}, {**_text("b"), "id": 7})
    assert validate_message({"flags": V2, "components": [{**_text("a"), "id": 0}] * 2}) == {}
    assert "WIDTH" in errors(
        {"type": 1, "components": [{"type": 3, "custom_id": "s", "options": []}, _button("x")]}
    )
    assert "url" in errors({"type": 9, "components": [_text("a")], "accessory": {"type": 11}})
    assert "INVALID_PROTOCOL" in errors({"type": 13, "file": {"url": "https://x.org/a.pdf"}})
    assert "SCHEME" in errors({"type": 12, "items": [{"media": {"url": "ftp://x.org/a"}}]})
    assert "sticker_ids" in errors(_text("a"), sticker_ids=["1"])
    assert "poll" in errors(_text("a"), poll={"question": {"text": "?"}})
    ok = {"type": 13, "file": {"url": "attachment://a.pdf"}}
    assert validate_message({"flags": V2, "components": [ok]}, filenames=["a.pdf"]) == {}
    assert "NOT_FOUND" in str(validate_message({"flags": V2, "components": [ok]}, filenames=[]))
    # without the flag the legacy rules hold: only action rows at the top
    assert "COMPONENT_LAYOUT_INVALID" in str(validate_message({"components": [_text("a")]}))


# --------------------------------------------------------------------------------------------
# forum posts and threads


async def test_a_forum_post_with_a_tag_then_a_thread_message(world: World) -> None:
    fake = world.fake
    forum = world.channel(world.forum)
    assert isinstance(forum, discord.ForumChannel)
    assert [t.name for t in forum.available_tags] == ["cs.LG", "cs.CL"]
    assert str(forum.default_reaction_emoji) == "👍"
    tag = forum.get_tag(world.forum.tag("cs.CL")["id"])
    assert tag is not None and str(tag.emoji) == "🗣️"

    created = await forum.create_thread(name="2401.00001", content="A paper", applied_tags=[tag])
    thread, message = created.thread, created.message
    assert thread.parent_id == forum.id and thread.applied_tags == [tag]
    assert message.id == thread.id and message.content == "A paper"

    [request] = fake.requests_to("POST", r"/channels/\d+/threads")
    assert request.query == {"use_nested_fields": "1"}
    assert request.json["message"]["content"] == "A paper"
    assert request.json["applied_tags"] == [str(tag.id)] and request.json["type"] == 11

    [post] = fake.threads(world.forum)
    assert post["id"] == str(thread.id) and post["type"] == 11
    assert post["applied_tags"] == [str(tag.id)] and post["message"]["content"] == "A paper"

    reply = await thread.send("A follow-up")
    assert [m["content"] for m in fake.messages(thread.id)] == ["A paper", "A follow-up"]
    history = [m.content async for m in thread.history(limit=10)]
    assert history == ["A follow-up", "A paper"]
    assert reply.channel.id == thread.id
    await fake.wait_for_request("POST", r"/channels/\d+/messages")
    assert [t.id for t in world.bot.threads_created] == [thread.id]  # THREAD_CREATE came
    assert world.bot.get_channel(thread.id) is not None


async def test_a_v2_forum_post_with_a_file(world: World) -> None:
    forum = world.channel(world.forum)
    created = await forum.create_thread(
        name="card",
        view=CardView(media="attachment://card.png"),
        file=discord.File(io.BytesIO(PNG), "card.png"),
    )
    assert created.message.flags.components_v2
    [post] = world.fake.threads(world.forum)
    assert post["message"]["flags"] & V2
    assert world.fake.attachment_bytes(created.message) == PNG
    with pytest.raises(discord.HTTPException) as caught:
        await forum.create_thread(name="bad", content="text", view=CardView())
    assert caught.value.code == 50035 and "In message.content:" in caught.value.text
    world.fake.take_violations("invalid_body")


async def test_forum_post_rules(world: World) -> None:
    fake = world.fake
    path = "/channels/{channel_id}/threads"
    cid = world.forum.id
    message = {"content": "x"}
    body = {"name": "t", "message": message, "applied_tags": ["123"]}
    error = await _refused(world, "POST", path, body, channel_id=cid)
    assert error.code == 50035 and "In applied_tags.0:" in error.text
    tags = [str(world.forum.tag("cs.LG")["id"])] * 6
    error = await _refused(world, "POST", path, {**body, "applied_tags": tags}, channel_id=cid)
    assert "In applied_tags: Must be 5 or fewer" in error.text
    error = await _refused(world, "POST", path, {"name": "t"}, channel_id=cid)
    assert "In message: This field is required" in error.text
    error = await _refused(world, "POST", path, {"name": "", "message": message}, channel_id=cid)
    assert "In name:" in error.text
    error = await _refused(
        world,
        "POST",
        path,
        {"name": "t", "message": {}, "auto_archive_duration": 5},
        channel_id=cid,
    )
    assert "In auto_archive_duration:" in error.text
    assert len(fake.take_violations("invalid_body")) == 5

    error = await _refused(world, "POST", path, {"name": "t", "message": {}}, channel_id=cid)
    assert error.code == 50006  # a forum post needs a first message with something in it
    fake.take_violations("empty_message")

    # a forum takes no plain messages
    error = await _refused(
        world, "POST", "/channels/{channel_id}/messages", message, channel_id=cid
    )
    assert error.status == 400 and error.code == 40058

    # text channels: threads are not modelled
    error = await _refused(world, "POST", path, {"name": "t"}, channel_id=world.general.id)
    assert error.code == 50024
    fake.take_violations("unsupported_route")

    world.forum.flags |= 1 << 4  # REQUIRE_TAG
    error = await _refused(world, "POST", path, {"name": "t", "message": message}, channel_id=cid)
    assert error.code == 40067
    assert fake.threads(world.forum) == []


async def test_forum_and_thread_permissions(world: World) -> None:
    fake = world.fake
    forum = world.channel(world.forum)
    created = await forum.create_thread(name="allowed", content="first")
    world.forum.set_permissions(fake.bot_user, deny=Perm.SEND_MESSAGES_IN_THREADS)
    with pytest.raises(discord.Forbidden) as caught:
        await created.thread.send("not in threads")
    assert caught.value.code == 50013
    await forum.create_thread(name="still allowed", content="posts need SEND_MESSAGES only")

    world.forum.set_permissions(fake.bot_user, deny=Perm.SEND_MESSAGES)
    with pytest.raises(discord.Forbidden) as caught:
        await forum.create_thread(name="refused", content="no")
    assert caught.value.code == 50013
    assert [p["name"] for p in fake.threads(world.forum)] == ["allowed", "still allowed"]


async def test_deleting_a_forum_post(world: World) -> None:
    forum = world.channel(world.forum)
    created = await forum.create_thread(name="soon gone", content="first")
    thread = world.guild.channel(created.thread.id)
    assert thread.is_thread and thread in world.guild.threads()
    deleted = asyncio.ensure_future(world.bot.wait_for("raw_thread_delete", timeout=5))
    await world.fake.delete_channel(thread)
    assert (await deleted).thread_id == thread.id
    with pytest.raises(discord.NotFound) as caught:
        await created.thread.send("too late")
    assert caught.value.code == 10003
    assert world.fake.threads(world.forum) == []


# --------------------------------------------------------------------------------------------
# crossposts


async def test_crosspost_and_the_double_crosspost_error(world: World) -> None:
    fake = world.fake
    news = world.channel(world.news)
    assert news.is_news()
    sent = await news.send("Today's digest")
    await sent.publish()
    assert fake.message(sent.id)["flags"] & MessageFlag.CROSSPOSTED
    assert fake.crossposts[0]["message_id"] == sent.id
    with pytest.raises(discord.HTTPException) as caught:
        await sent.publish()
    assert caught.value.status == 400 and caught.value.code == 40033
    assert "already been crossposted" in caught.value.text

    edited = await sent.edit(content="Today's digest (edited)")  # the flag stays
    assert edited.flags.crossposted

    plain = await world.channel(world.general).send("not an announcement")
    with pytest.raises(discord.HTTPException) as caught:
        await plain.publish()
    assert caught.value.status == 400 and caught.value.code == 50024
    assert len(fake.crossposts) == 1


async def test_crossposting_needs_send_messages(world: World) -> None:
    sent = await world.channel(world.news).send("soon")
    world.news.set_permissions(world.fake.bot_user, deny=Perm.SEND_MESSAGES)
    with pytest.raises(discord.Forbidden):
        await sent.publish()
    assert world.fake.crossposts == []


# --------------------------------------------------------------------------------------------
# attachments


async def test_file_attachments_round_trip(world: World) -> None:
    fake = world.fake
    sent = await world.channel(world.general).send(file=discord.File(io.BytesIO(PNG), "a.png"))
    [attachment] = sent.attachments
    assert attachment.filename == "a.png" and attachment.size == len(PNG)
    assert attachment.content_type == "image/png"
    assert fake.attachment_bytes(sent) == PNG
    assert await attachment.read() == PNG  # GET on the attachment's URL

    itx = await fake.slash(world.guild, world.general, world.alice, "chart")
    message = await itx.original()
    assert message["attachments"][0]["filename"] == "chart.png"
    assert fake.attachment_bytes(message) == PNG

    itx = await fake.slash(world.guild, world.general, world.alice, "later")
    message = await itx.original(where=lambda m: m["attachments"])
    assert message["attachments"][0]["filename"] == "later.png"
    assert fake.attachment_bytes(message, 0) == PNG
    with pytest.raises(LookupError):
        fake.attachment_bytes(message, 1)

    itx = await fake.slash(world.guild, world.general, world.alice, "card")
    card = await itx.original()
    assert card["flags"] & V2
    media = card["components"][0]["components"][2]["items"][0]["media"]
    assert media["attachment_id"] == card["attachments"][0]["id"]
    click = await fake.click(card, custom_id="card:vote")  # alice invoked /card
    assert (await click.response())["data"]["content"] == "voted"
