"""/digest subscribe | unsubscribe | list | preview | post — the daily digest, for admins.

Discord hides these commands from members without Manage Server (default permissions), and
every call checks it again: a server can change who sees a command.
"""

from __future__ import annotations

import asyncio
import difflib
import logging
import math
import re
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from typing import Literal, TypeVar
from zoneinfo import ZoneInfo, available_timezones

import discord
from discord import app_commands
from discord.ext import commands

from bot import render
from bot.app import PaperBot, Services, reply_ephemeral
from bot.digest import (
    FOLLOW_UPS_FOR,
    CardLabel,
    ChartButton,
    DigestOptions,
    DigestPoster,
    Pacer,
    VoteButton,
    forum_tag,
    make_plan,
    shown_count,
)
from bot.errors import UserError
from bot.models import parse_day
from bot.scheduler import DigestJobs, next_slot
from storage.days import is_complete, latest_complete_day
from storage.db import is_busy
from storage.interface import Writer
from storage.papers import latest_day
from storage.posts import FAILED, POSTED, Post, get_post, latest_posts
from storage.subscriptions import (
    LANGUAGE,
    MIN_VOTES_MAX,
    TOP_MAX,
    Subscription,
    Unreadable,
    delete_subscription,
    get_subscription,
    guild_subscription_rows,
    save_subscription,
)

log = logging.getLogger(__name__)

NEEDED = {
    "view_channel": "View Channel",
    "send_messages": "Send Messages",
    "embed_links": "Embed Links",
}
# A forum: Send Messages is what Discord's settings call Create Posts there, and the cards go
# into the post, a thread. (Publishing the bot's own messages in an announcement channel needs
# only Send Messages; Manage Messages is for publishing other members' messages.)
NEEDED_IN_FORUM = {
    "view_channel": "View Channel",
    "send_messages": "Create Posts",
    "send_messages_in_threads": "Send Messages in Threads",
    "embed_links": "Embed Links",
}
NO_TAG = "none"  # the `tag` option's value for "apply no tag"
Postable = discord.TextChannel | discord.ForumChannel  # text and announcement channels, forums
RECOMMENDED = {"read_message_history": "Read Message History"}
# Offered by the language autocomplete; any other code typed is accepted too.
LANGUAGES = (
    ("en", "English"), ("ko", "Korean · 한국어"), ("ja", "Japanese · 日本語"),
    ("zh", "Chinese · 中文"), ("de", "German · Deutsch"), ("fr", "French · Français"),
    ("es", "Spanish · Español"), ("pt", "Portuguese · Português"), ("ru", "Russian · Русский"),
    ("vi", "Vietnamese · Tiếng Việt"), ("any", "whatever summary is stored"),
)  # fmt: skip
_TIME = re.compile(r"\s*([01]?[0-9]|2[0-3])[:.h]([0-5][0-9])\s*")
# A command that writes answers Discord (which allows 3 s) itself when the write is done within
# ANSWER_WITHIN seconds, else defers and answers once it is. Another process holding the
# database's write lock makes each attempt wait up to the 5 s busy timeout; a write is tried
# again for WRITE_PATIENCE seconds before the admin is told to try later.
ANSWER_WITHIN = 2.0
WRITE_PATIENCE = 60.0
# /digest list: one embed per message, filled up to this many characters (Discord: 6,000 over
# all embeds of a message; the rest is room for the title and footer), as many messages as needed.
LIST_BUDGET = render.EMBED_TOTAL_LIMIT - 300
T = TypeVar("T")


@cache
def _zones() -> dict[str, str]:
    """IANA time zone names by their case-folded form."""
    return {name.casefold(): name for name in available_timezones()}


def parse_time(text: str) -> time:
    """'09:00', '9:00', '21.30', '7h05' -> a time; UserError with a hint otherwise."""
    match = _TIME.fullmatch(text)
    if not match:
        shown = render.truncate(text, 40)
        raise UserError(
            f"“{render.defuse_mentions(shown)}” is not a time of day; "
            "use 24-hour HH:MM, e.g. 09:00 or 18:30."
        )
    return time(int(match[1]), int(match[2]))


# What people type for a zone that is not the zone's name: abbreviations (ambiguous, and EST,
# MST and HST are IANA names of fixed offsets with no daylight saving) and UTC offsets. They get
# the names of the zones they usually mean instead of a close spelling (KST is not MST).
_ABBREVIATIONS = {
    "kst": ("Asia/Seoul",), "jst": ("Asia/Tokyo",), "hkt": ("Asia/Hong_Kong",),
    "sgt": ("Asia/Singapore",), "ist": ("Asia/Kolkata", "Europe/Dublin"),
    "cst": ("America/Chicago", "Asia/Shanghai"), "cdt": ("America/Chicago",),
    "est": ("America/New_York",), "edt": ("America/New_York",), "et": ("America/New_York",),
    "mst": ("America/Denver", "America/Phoenix"), "mdt": ("America/Denver",),
    "pst": ("America/Los_Angeles",), "pdt": ("America/Los_Angeles",),
    "pt": ("America/Los_Angeles",), "hst": ("Pacific/Honolulu",), "bst": ("Europe/London",),
    "cest": ("Europe/Berlin", "Europe/Paris"), "msk": ("Europe/Moscow",),
    "aest": ("Australia/Sydney", "Australia/Brisbane"), "aedt": ("Australia/Sydney",),
}  # fmt: skip
_OFFSET = re.compile(r"(?:utc|gmt)?\s*([+\-−])\s*(\d{1,2})(?::?([0-5]\d))?", re.IGNORECASE)
# Places offered for a UTC offset, in this order when several share it.
_PLACES = (
    "Asia/Seoul", "Asia/Tokyo", "Asia/Shanghai", "Asia/Kolkata", "Asia/Singapore",
    "Europe/London", "Europe/Berlin", "Europe/Paris", "Europe/Moscow", "America/New_York",
    "America/Chicago", "America/Denver", "America/Los_Angeles", "America/Sao_Paulo",
    "Australia/Sydney", "Pacific/Auckland", "Asia/Dubai", "Asia/Jakarta", "Africa/Cairo",
)  # fmt: skip


def _places_at(offset: timedelta, now: datetime) -> list[str]:
    """Zones whose clocks are `offset` ahead of UTC now: well-known places first."""
    names = [*_PLACES, *sorted(_zones().values())]
    found = []
    for name in dict.fromkeys(names):
        place = "/" in name and not name.startswith(("Etc/", "SystemV/"))
        if place and now.astimezone(ZoneInfo(name)).utcoffset() == offset:
            found.append(name)
            if len(found) == 3:
                break
    return found


def _not_a_zone_name(text: str, cleaned: str) -> str | None:
    """The hint for an abbreviation or a UTC offset, or None for anything else."""
    if names := _ABBREVIATIONS.get(cleaned.casefold()):
        zones = " or ".join(f"`{name}`" for name in names)
        return f"it is an abbreviation; use the zone's name, {zones}, so daylight saving is right."
    match = _OFFSET.fullmatch(text.strip())
    if match is None:
        return None
    sign = -1 if match[1] in "-−" else 1
    offset = sign * timedelta(hours=int(match[2]), minutes=int(match[3] or 0))
    places = _places_at(offset, datetime.now(UTC))
    hint = "it is a UTC offset; use the zone of a place, so daylight saving time is followed"
    hint += f": {', '.join(f'`{p}`' for p in places)}" if places else ""
    if offset.seconds % 3600 == 0 and abs(offset) <= timedelta(hours=14):
        hours = int(offset.total_seconds() // 3600)
        hint += f". A fixed UTC{'+' if hours >= 0 else '−'}{abs(hours)} is `Etc/GMT{-hours:+d}`"
        hint += " (IANA writes the sign the other way round)"
    return hint + "."


def parse_timezone(text: str) -> str:
    """The IANA name for `text` (any case); UserError suggesting close names otherwise."""
    cleaned = text.strip().replace(" ", "_")
    shown = render.defuse_mentions(render.truncate(text, 40))
    if (hint := _not_a_zone_name(text, cleaned)) is not None:
        raise UserError(f"“{shown}” is not a time zone name: {hint}")
    name = _zones().get(cleaned.casefold())
    if name:
        return name
    close = difflib.get_close_matches(cleaned.casefold(), list(_zones()), n=3, cutoff=0.6)
    hint = (
        "did you mean " + ", ".join(f"`{_zones()[c]}`" for c in close) + "?"
        if close
        else "pick one from the suggestions, e.g. `Asia/Seoul`, `Europe/Berlin` or `UTC`."
    )
    raise UserError(f"“{shown}” is not a time zone name; {hint}")


def parse_language(text: str) -> str | None:
    cleaned = text.strip().lower().replace("_", "-")
    if cleaned in ("any", "*"):
        return None
    if not LANGUAGE.fullmatch(cleaned):
        shown = render.defuse_mentions(render.truncate(text, 20))
        raise UserError(
            f"“{shown}” is not a language code; use one like `en`, `ko` or `zh-tw`, or `any`."
        )
    return cleaned


def missing_permissions(channel: discord.abc.GuildChannel, me: discord.Member) -> list[str]:
    allowed = channel.permissions_for(me)
    needed = NEEDED_IN_FORUM if isinstance(channel, discord.ForumChannel) else NEEDED
    return [label for name, label in needed.items() if not getattr(allowed, name)]


def _kind(channel: discord.abc.GuildChannel) -> str:
    if isinstance(channel, discord.ForumChannel):
        return "a forum"
    if isinstance(channel, discord.TextChannel) and channel.is_news():
        return "an announcement channel"
    return "a text channel"


def chosen_tag(channel: discord.abc.GuildChannel, tag: str | None) -> str | None:
    """The `forum_tag` to store for the `tag` option: the forum tag's own name, "" for none,
    None for the automatic choice; UserError when the option does not fit the channel."""
    if not isinstance(channel, discord.ForumChannel):
        if tag is not None:
            raise UserError(f"`tag` is for forums; {channel.mention} is {_kind(channel)}.")
        return None
    names = ", ".join(f"`{t.name}`" for t in channel.available_tags) or "none"
    if tag is not None and tag.strip().casefold() == NO_TAG:
        stored = ""
    elif tag is not None:
        found = forum_tag(channel, tag.strip())
        if found is None:
            shown = render.defuse_mentions(render.truncate(tag, 20))
            raise UserError(f"{channel.mention} has no tag “{shown}”. Its tags: {names}.")
        stored = found.name
    else:
        stored = None
    applied = forum_tag(channel, stored)
    if applied is None and channel.flags.require_tag:
        raise UserError(
            f"{channel.mention} requires a tag on each post: choose one with `tag` "
            f"(its tags: {names})."
        )
    me = channel.guild.me
    if (
        applied is not None
        and applied.moderated
        and me
        and not channel.permissions_for(me).manage_threads
    ):
        raise UserError(
            f"Only moderators can apply the tag `{applied.name}` in {channel.mention}: allow "
            "**Manage Threads** for my role there, or choose another tag."
        )
    return stored


def _describe_options(sub: Subscription) -> str:
    parts = [f"{sub.post_time:%H:%M} {sub.timezone}"]
    if sub.top:
        parts.append(f"top {sub.top}")
    if sub.min_votes:
        parts.append(f"≥ {sub.min_votes} upvotes")
    parts.append(f"summaries in {sub.language}" if sub.language else "summaries in any language")
    parts.append(sub.format)
    if sub.crosspost:
        parts.append("published to followers")
    if sub.forum_tag:
        parts.append(f"tag {sub.forum_tag}")
    elif sub.forum_tag == "":
        parts.append("no tag")
    return " · ".join(parts)


def _post_link(post: Post) -> str | None:
    """A link to a digest's first message, or to its forum post (a thread: the same id)."""
    first = post.messages.get(0)
    if first is None:
        return None
    if post.plan.get("forum"):
        return f"https://discord.com/channels/{post.guild_id}/{first}"
    return f"https://discord.com/channels/{post.guild_id}/{post.channel_id}/{first}"


def _within(seconds: float) -> str:
    """'within a minute', 'within 5 minutes': how soon the next post check runs."""
    minutes = max(1, math.ceil(seconds / 60))
    return "within a minute" if minutes == 1 else f"within {minutes} minutes"


def pack_fields(fields: list[tuple[str, str]]) -> list[list[tuple[str, str]]]:
    """(name, value) fields in embeds' worth: at most 25 each and LIST_BUDGET characters."""
    pages: list[list[tuple[str, str]]] = []
    size = 0
    for name, value in fields:
        length = len(name) + len(value)
        if not pages or len(pages[-1]) == render.FIELD_COUNT_LIMIT or size + length > LIST_BUDGET:
            pages.append([])
            size = 0
        pages[-1].append((name, value))
        size += length
    return pages


class Digest(commands.Cog):
    """Admins choose which channels get the daily digest, at what local time and how."""

    digest = app_commands.Group(
        name="digest",
        description="Post the Daily Papers digest in this server's channels (Manage Server)",
        guild_only=True,
        default_permissions=discord.Permissions(manage_guild=True),
    )

    def __init__(self, bot: PaperBot, services: Services) -> None:
        self.bot = bot
        self.services = services
        self.store = services.store
        self.clock = services.clock
        summaries = services.summaries
        self.poster = DigestPoster(
            bot, services.store, Pacer(services.settings.discord_requests_per_second),
            writer=summaries.writer if summaries is not None else None,
        )  # fmt: skip
        self.jobs = DigestJobs(
            services.store, self.poster, self.clock,
            writing=summaries.writing if summaries is not None else None,
            grace=timedelta(minutes=services.settings.summary_grace_minutes),
        )  # fmt: skip

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(VoteButton, CardLabel, ChartButton)
        self.services.ingest.listeners.append(self.jobs)
        if self.services.summaries is not None:  # cards are edited as soon as they are written
            self.services.summaries.after_written.append(self.jobs.refresh_cards)
        self.jobs.schedule(
            self.services.scheduler, check_every=self.services.settings.post_check_interval
        )

    async def cog_unload(self) -> None:
        await self.jobs.unschedule(self.services.scheduler)
        self.services.ingest.listeners.remove(self.jobs)
        if self.services.summaries is not None:
            self.services.summaries.after_written.remove(self.jobs.refresh_cards)
        self.bot.remove_dynamic_items(VoteButton, CardLabel, ChartButton)

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        if interaction.guild_id is None:
            raise app_commands.NoPrivateMessage("Digests are set up in a server, not in DMs.")
        if not interaction.permissions.manage_guild:
            raise app_commands.CheckFailure(
                "Only members with the Manage Server permission can see or change this "
                "server's digests."
            )
        return True

    # -- helpers -----------------------------------------------------------------------------

    def _own_channel(self, interaction: discord.Interaction, channel) -> Postable:
        if getattr(channel, "guild", None) is None or channel.guild.id != interaction.guild_id:
            raise UserError("Pick a channel of this server.")
        resolved = interaction.guild.get_channel(channel.id) if interaction.guild else None
        if isinstance(resolved, discord.TextChannel | discord.ForumChannel):
            return resolved
        return channel

    def _check_can_post(self, channel: discord.abc.GuildChannel) -> list[str]:
        """Raise UserError naming the missing permissions; return recommended ones missing."""
        me = channel.guild.me
        if me is None:
            raise UserError(
                "I can't see my own permissions in this server yet; try again in a minute."
            )
        missing = missing_permissions(channel, me)
        if missing:
            names = ", ".join(f"**{m}**" for m in missing)
            raise UserError(
                f"I can't post in {channel.mention}: I'm missing {names} there. Allow them for my "
                "role in the channel's permissions, then try again."
            )
        allowed = channel.permissions_for(me)
        return [label for name, label in RECOMMENDED.items() if not getattr(allowed, name)]

    async def _default_day(self) -> date:
        complete = await latest_complete_day(self.store.reader)
        day = complete[0] if complete else await latest_day(self.store.reader)
        if day is None:
            raise UserError("No Daily Papers are stored yet; the bot fetches them every half hour.")
        return day

    async def _plan(self, day: date, options: DigestOptions) -> dict:
        """The digest of `day` as it would be posted; UserError saying why when it is empty."""
        listed, papers = await self.poster.digest_papers(day, options)
        if not papers:
            why = (
                "no papers are stored for that day" if not listed else "no paper passes the filters"
            )
            raise UserError(f"The digest of {day} would be empty: {why}.")
        return make_plan(day, listed, papers, options)

    async def _still_growing(self, day: date) -> bool:
        """Whether Hugging Face may still add papers to `day`: it is recent (papers added to it
        are still followed up) and not complete."""
        recent = self.clock() < datetime.combine(day, time(0), tzinfo=UTC) + FOLLOW_UPS_FOR
        return recent and not await is_complete(self.store.reader, day)

    @staticmethod
    def _day(text: str) -> date:
        try:
            return parse_day(text)
        except ValueError as exc:
            raise UserError(str(exc)) from None

    async def _write(
        self,
        interaction: discord.Interaction,
        work: Callable[[Writer], Awaitable[T]],
    ) -> T:
        """`work` in a write transaction; the interaction is deferred if it takes a while."""
        task = asyncio.create_task(self._write_patiently(work))
        done, _ = await asyncio.wait({task}, timeout=ANSWER_WITHIN)
        if not done:
            log.info("the database is slow to write; deferring the answer")
            try:
                await interaction.response.defer(ephemeral=True, thinking=True)
            except discord.HTTPException:  # expired: the write still finishes
                log.warning("could not defer an answer while waiting for the database")
        return await task

    async def _write_patiently(self, work: Callable[[Writer], Awaitable[T]]) -> T:
        loop = asyncio.get_running_loop()
        give_up = loop.time() + WRITE_PATIENCE
        while True:
            try:
                async with self.store.write() as conn:
                    return await work(conn)
            except Exception as exc:
                if not is_busy(exc) or loop.time() >= give_up:
                    raise  # busy for good: bot.app.user_message tells the admin to try again
                log.warning("the database is locked by another process; writing again")

    # -- commands ----------------------------------------------------------------------------

    @digest.command(
        name="subscribe", description="Post the daily digest in a channel at a local time"
    )
    @app_commands.describe(
        channel="Where the digest goes",
        time="Local time of day, 24-hour HH:MM (e.g. 09:00)",
        timezone="IANA time zone, e.g. Asia/Seoul or Europe/Berlin",
        top="Only the N most upvoted papers (default: all)",
        min_votes="Only papers with at least this many upvotes",
        language="Summary language wanted, e.g. en or ko (default en; any = whatever is stored)",
        format="cards: a card per paper, buttons inside; embeds: classic cards; compact: a list",
        crosspost="Announcement channels: publish each message to the servers following it",
        tag="Forums: the tag of each day's post (default: one named like Daily Papers; none)",
    )
    async def subscribe(
        self,
        interaction: discord.Interaction,
        channel: Postable,
        time: app_commands.Range[str, 1, 20],
        timezone: app_commands.Range[str, 1, 64],
        top: app_commands.Range[int, 1, TOP_MAX] | None = None,
        min_votes: app_commands.Range[int, 0, MIN_VOTES_MAX] = 0,
        language: app_commands.Range[str, 1, 20] = "en",
        format: Literal["cards", "embeds", "compact"] = "cards",  # noqa: A002 - the option's name
        crosspost: bool = False,
        tag: app_commands.Range[str, 1, 20] | None = None,
    ) -> None:
        channel = self._own_channel(interaction, channel)
        post_time, zone = parse_time(time), parse_timezone(timezone)
        wanted_language = parse_language(language)
        if crosspost and not (isinstance(channel, discord.TextChannel) and channel.is_news()):
            raise UserError(
                f"`crosspost` publishes to the servers following an announcement channel; "
                f"{channel.mention} is {_kind(channel)}."
            )
        recommended = self._check_can_post(channel)
        stored_tag = chosen_tag(channel, tag)
        sub = Subscription(
            channel_id=channel.id, guild_id=channel.guild.id, post_time=post_time, timezone=zone,
            top=top, min_votes=min_votes, language=wanted_language, format=format,
            created_at=self.clock(), created_by=interaction.user.id, crosspost=crosspost,
            forum_tag=stored_tag,
        )  # fmt: skip
        new = await self._write(interaction, lambda conn: save_subscription(conn, sub))
        text = f"{'Subscribed' if new else 'Updated'} {channel.mention}: {_describe_options(sub)}."
        text += "\n" + await self._first_post_text(sub)
        if recommended:
            text += (
                f"\nTip: allow **{', '.join(recommended)}** too, so a post interrupted by a "
                "restart can never repeat a message."
            )
        await reply_ephemeral(interaction, text)

    async def _first_post_text(self, sub: Subscription) -> str:
        """What happens next for a subscription just saved, as the post check will do it."""
        now = self.clock()
        daily = f"daily at {sub.post_time:%H:%M} (or later, once the day's papers are complete)"
        due = await self.jobs.due_day(sub, now)
        if due is not None:  # the post check posts it at once (bot/scheduler.py)
            soon = _within(self.services.settings.post_check_interval)
            return (
                f"{sub.post_time:%H:%M} has passed there today: the digest of {due} goes out "
                f"{soon}. After that, {daily}."
            )
        following = next_slot(now, sub.post_time, sub.timezone)
        if await latest_complete_day(self.store.reader) is None:  # a new or import-only store
            return (
                "No Daily Papers day is complete yet, so nothing is posted until one is; then "
                f"the newest goes out at the first {sub.post_time:%H:%M} after it, and {daily}."
            )
        return (
            f"Next post: {discord.utils.format_dt(following, 'F')} "
            f"({discord.utils.format_dt(following, 'R')}), with the newest complete day; "
            f"after that, {daily}."
        )

    @subscribe.autocomplete("timezone")
    async def timezone_complete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        typed = current.strip().casefold().replace(" ", "_")
        names = sorted(_zones().values())
        starts = [n for n in names if n.casefold().startswith(typed)]
        inside = [n for n in names if typed in n.casefold() and n not in starts]
        return [app_commands.Choice(name=n, value=n) for n in (starts + inside)[:25]]

    @subscribe.autocomplete("tag")
    async def tag_complete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        """The chosen forum's tags (the channel option as typed so far), and `none`."""
        chosen = interaction.namespace.channel
        forum = interaction.guild.get_channel(chosen.id) if chosen and interaction.guild else None
        names = [t.name for t in getattr(forum, "available_tags", [])] + [NO_TAG]
        typed = current.strip().casefold()
        return [app_commands.Choice(name=n, value=n) for n in names if typed in n.casefold()][:25]

    @subscribe.autocomplete("language")
    async def language_complete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        typed = current.strip().casefold()
        return [
            app_commands.Choice(name=f"{code} · {name}", value=code)
            for code, name in LANGUAGES
            if typed in code or typed in name.casefold()
        ][:25]

    @digest.command(name="unsubscribe", description="Stop posting the digest in a channel")
    @app_commands.describe(channel="The channel that should stop getting the digest")
    async def unsubscribe(self, interaction: discord.Interaction, channel: Postable) -> None:
        channel = self._own_channel(interaction, channel)
        guild_id = channel.guild.id
        removed = await self._write(
            interaction, lambda conn: delete_subscription(conn, guild_id, channel.id)
        )
        if not removed:
            raise UserError(f"{channel.mention} doesn't get the digest; nothing to stop.")
        await reply_ephemeral(interaction, f"{channel.mention} won't get the digest any more.")

    @digest.command(
        name="list", description="This server's digest channels, next posts, last results"
    )
    async def list_(self, interaction: discord.Interaction) -> None:
        assert interaction.guild_id is not None  # interaction_check refuses DMs
        subs, unreadable = await guild_subscription_rows(self.store.reader, interaction.guild_id)
        if not subs and not unreadable:
            await interaction.response.send_message(
                "No channel gets the digest yet. Start with `/digest subscribe`.", ephemeral=True
            )
            return
        now = self.clock()
        last = await latest_posts(self.store.reader, [s.channel_id for s in subs])
        fields = []
        for sub in subs:
            following = next_slot(now, sub.post_time, sub.timezone)
            lines = [
                _describe_options(sub),
                f"Next post: {discord.utils.format_dt(following, 'F')} "
                f"({discord.utils.format_dt(following, 'R')})",
                "Last post: " + await self._last_post_text(sub, last.get(sub.channel_id)),
            ]
            fields.append((self._field_name(sub.channel_id), "\n".join(lines)))
        fields += [(self._field_name(row.channel_id), _unreadable_text(row)) for row in unreadable]
        pages = pack_fields(
            [(name, render.truncate(value, render.FIELD_VALUE_LIMIT)) for name, value in fields]
        )
        count = len(fields)
        for number, page in enumerate(pages, 1):
            embed = discord.Embed(title="Daily digest channels", colour=render.COLOUR)
            for name, value in page:
                embed.add_field(name=name, value=value, inline=False)
            part = f" · part {number} of {len(pages)}" if len(pages) > 1 else ""
            embed.set_footer(text=f"{count} channel{'' if count == 1 else 's'}{part}")
            if number == 1:
                await interaction.response.send_message(embed=embed, ephemeral=True)
            else:
                await interaction.followup.send(embed=embed, ephemeral=True)

    def _field_name(self, channel_id: int) -> str:
        return f"#{render.truncate(self._channel_name(channel_id), 90)}"

    def _channel_name(self, channel_id: int) -> str:
        channel = self.bot.get_channel(channel_id)
        return getattr(channel, "name", None) or str(channel_id)

    async def _last_post_text(self, sub: Subscription, post) -> str:
        if sub.failure:
            return f"❌ failed: {sub.failure} (retried at the next post time)"
        if post is None:
            return "none yet"
        if post.state == POSTED:
            shown = shown_count(post.plan)
            if not shown:
                return f"{post.day}: nothing to post (no papers)"
            link = _post_link(post)
            text = f"✅ {post.day}: posted, {shown} paper{'' if shown == 1 else 's'}"
            return f"{text} ([jump]({link}))" if link else text
        if post.state == FAILED:
            retry = (
                f", retrying {discord.utils.format_dt(post.retry_at, 'R')}" if post.retry_at else ""
            )
            return f"❌ {post.day}: failed: {post.error}{retry}"
        return f"⏳ {post.day}: posting…"

    @digest.command(name="preview", description="See the digest as it would be posted (only you)")
    @app_commands.describe(
        date="YYYY-MM-DD (default: the newest complete day)",
        channel="Use this channel's digest settings (default: the defaults)",
    )
    async def preview(
        self,
        interaction: discord.Interaction,
        date: str | None = None,  # noqa: A002 - the option's name users see
        channel: Postable | None = None,
    ) -> None:
        day = self._day(date) if date else await self._default_day()
        sub = None
        if channel is not None:
            channel = self._own_channel(interaction, channel)
            sub = await get_subscription(self.store.reader, channel.id)
        options = DigestOptions.of(sub)
        plan = await self._plan(day, options)
        messages = [
            await self.poster.render(plan, part, interaction.guild_id, preview=True)
            for part in range(len(plan["parts"]))
        ]
        header, cards = messages[0], messages[1:]
        content = header.content or ""
        if await self._still_growing(day):
            content += "\n⚠️ Not complete yet: Hugging Face may still add papers to this day."
        first = cards[0] if cards and not cards[0].is_v2 else None  # V2 can't carry content
        await interaction.response.send_message(
            content=content, embeds=first.embeds if first else [], ephemeral=True
        )
        for message in cards[1:] if first else cards:
            fields = message.message_fields()
            fields["view"] = fields["view"] or discord.utils.MISSING
            await interaction.followup.send(**fields, ephemeral=True)

    @digest.command(name="post", description="Post a day's digest in a channel now (backfill)")
    @app_commands.describe(
        channel="Where to post it",
        date="YYYY-MM-DD (default: the newest complete day)",
    )
    async def post(
        self,
        interaction: discord.Interaction,
        channel: Postable,
        date: str | None = None,  # noqa: A002 - the option's name users see
    ) -> None:
        channel = self._own_channel(interaction, channel)
        day = self._day(date) if date else await self._default_day()
        self._check_can_post(channel)
        existing = await get_post(self.store.reader, channel.id, day)
        if existing is not None and existing.state == POSTED:
            link = _post_link(existing)
            raise UserError(
                f"The digest of {day} is already in {channel.mention}"
                + (f": {link}" if link else ".")
            )
        options = DigestOptions.of(await get_subscription(self.store.reader, channel.id))
        plan = await self._plan(day, options)  # says why when there is nothing to post
        # Posting takes a while (rate limits): acknowledge within Discord's 3 seconds first.
        if not await self._still_growing(day):
            await interaction.response.defer(ephemeral=True, thinking=True)
        else:  # Hugging Face may still add papers to it
            shown = shown_count(plan)
            later = (
                "papers added later follow there in one “+N papers added” message once the day "
                "is complete"
                if await get_subscription(self.store.reader, channel.id)
                else "papers added later are not posted there, since the channel has no "
                "subscription (`/digest subscribe`)"
            )
            await interaction.response.send_message(
                f"⚠️ Daily Papers of {day} are not complete yet: Hugging Face is still adding "
                f"papers. Posting the {shown} listed so far in {channel.mention}; {later}.",
                ephemeral=True,
            )
        post = await self.poster.post(
            channel_id=channel.id, guild_id=channel.guild.id, day=day, options=options,
            now=self.clock(),
        )  # fmt: skip
        if post.state == POSTED:
            count = shown_count(post.plan)
            await interaction.followup.send(
                f"Posted the digest of {day} in {channel.mention}: {count} papers, "
                f"{len(post.parts)} messages.", ephemeral=True,
            )  # fmt: skip
        else:
            await interaction.followup.send(
                f"The digest of {day} could not be posted in {channel.mention}: {post.error}",
                ephemeral=True,
            )


def _unreadable_text(row: Unreadable) -> str:
    return (
        f"⚠️ Its stored settings are not valid ({render.truncate(row.problem, 300)}), so nothing "
        "is posted here: run `/digest subscribe` for this channel again to replace them, or "
        "`/digest unsubscribe`."
    )


async def setup(bot: PaperBot) -> None:
    await bot.add_cog(Digest(bot, bot.services))
