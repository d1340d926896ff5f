"""The daily digest: what a day's digest holds, how it is split into messages, posting it once
(resuming an interrupted post), keeping its vote counts live, and members' vote buttons.

Posting is idempotent through the posts log (storage/posts.py): the (channel, day) row and its
plan are written before the first message, each message id right after Discord returns it, and
the row is marked posted at the end. A post interrupted between Discord creating a message and
the bot recording its id is resumed by looking for that message in the channel's recent
history first (this needs Read Message History; without it the message may be sent twice).

A forum channel gets each day as one forum post: the header opens it (the thread's id is its
first message's id, as on Discord) and the cards are its messages; an interrupted post finds
its thread among the forum's active threads by its name. An announcement channel subscribed
with `crosspost` has each message published to the servers following it, before its id is
recorded, so a resumed post publishes a message it finds again (Discord: already published).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import weakref
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal

import aiohttp
import discord

from bot import charts, i18n, render
from bot.components import Guarded
from bot.errors import UserError
from bot.models import Paper
from storage.db import Store
from storage.interface import Reader
from storage.member_votes import DOWN, UP, WITHDRAWN, toggle_vote, vote_counts
from storage.papers import get_paper, load_papers, paper_key, papers_on_day
from storage.posts import (
    FAILED,
    POSTED,
    Post,
    add_parts,
    begin_post,
    fail_post,
    finish_post,
    live_posts,
    post_of_message,
    record_message,
    restart_post,
    set_shown,
    subscribed_posts_of_day,
)
from storage.subscriptions import Subscription, record_failure
from storage.summaries import CHECKS_FAILED, attempted
from storage.votes import from_iso, to_iso

log = logging.getLogger(__name__)

CARDS_PER_MESSAGE = 5  # embed cards: one row of buttons per card, Discord allows 5 rows
# Components V2 cards: a message's 4,000 characters of text are shared by its cards, each
# given an equal part by construction (so a summary arriving later still fits in the edit),
# after room for a follow-up's first line. 3 cards x 6 components stay far under 40.
V2_CARDS_PER_MESSAGE = 3
V2_LINE_ROOM = 200
V2_CARD_TEXT = (render.V2_TEXT_LIMIT - V2_LINE_ROOM) // V2_CARDS_PER_MESSAGE
PACK_BUDGET = 5600  # embed characters a message is packed to: room under 6,000 for later edits
COMPACT_PER_MESSAGE = 15  # papers per message in the compact format (one embed)
LIVE_FOR = timedelta(days=3)  # a posted digest's counts are kept current this long
EDITS_IN_FLIGHT = 100  # channels whose cards are edited at once; the pacer sets the rate
FOLLOW_UPS_FOR = timedelta(days=3)  # papers added to a day are posted until it is this old
RETRY_AFTER = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=25))
LABEL_TITLE_CHARS = 45
HF_DAY_URL = "https://huggingface.co/papers/date/{day}"
# A forum post stays open a week (Discord's longest), past the LIVE_FOR days of edits and the
# follow-ups: an archived thread's messages can't be edited.
FORUM_ARCHIVE_MINUTES: Literal[10080] = 10080
FORUM_TITLE_LIMIT = 100
# Names a forum tag may have to be applied to digest posts when the admin chose none
# (compared without case, spaces or punctuation).
DIGEST_TAG_NAMES = ("dailypapers", "papers", "digest", "paperboy")
PUBLISH_WITHIN = 10.0  # seconds; a publish that Discord holds longer (rate limit) is skipped


@dataclass(frozen=True, slots=True)
class DigestOptions:
    """How a channel wants its digest; a subscription's settings, or the defaults."""

    top: int | None = None
    min_votes: int = 0
    language: str | None = "en"
    format: str = "cards"
    crosspost: bool = False  # announcement channels: publish each message
    tag: str | None = None  # forums: the tag's name; None: one named like the digest; "": none

    @classmethod
    def of(cls, sub: Subscription | None) -> DigestOptions:
        if sub is None:
            return cls()
        return cls(
            top=sub.top, min_votes=sub.min_votes, language=sub.language, format=sub.format,
            crosspost=sub.crosspost, tag=sub.forum_tag,
        )  # fmt: skip

    @classmethod
    def of_plan(cls, plan: dict) -> DigestOptions:
        """The options a digest was planned with (a follow-up keeps them)."""
        return cls(
            top=plan["top"], min_votes=plan["min_votes"], language=plan["language"],
            format=plan["format"],
        )  # fmt: skip


# --- what a digest holds, and its messages --------------------------------------------------


def select_papers(papers: Sequence[Paper], options: DigestOptions) -> list[Paper]:
    """The papers a digest shows, in order: upvotes filter first, then the top N."""
    kept = [p for p in papers if (p.upvotes or 0) >= options.min_votes]
    return kept[: options.top] if options.top else kept


def make_plan(
    day: date, listed: Sequence[str], papers: Sequence[Paper], options: DigestOptions
) -> dict:
    """Which papers go in which message. Part 0 is the header; an empty day has no parts.

    `listed`: the ids of the day's whole list now; papers added to it later are the digest's
    follow-ups (`add_follow_up`).
    """
    parts: list[list[str]] = [[], *_pack(papers, options, first_rank=1)] if papers else []
    return {
        "day": day.isoformat(),
        "format": options.format,
        "language": options.language,
        "listed": len(listed),
        "seen": list(listed),
        "top": options.top,
        "min_votes": options.min_votes,
        "parts": parts,
    }


def _pack(papers: Sequence[Paper], options: DigestOptions, *, first_rank: int) -> list[list[str]]:
    """Paper ids split into messages: V2 cards V2_CARDS_PER_MESSAGE a message; embed cards up
    to CARDS_PER_MESSAGE a message and PACK_BUDGET characters; compact lists
    COMPACT_PER_MESSAGE papers a message."""
    ids = [p.id for p in papers]
    if options.format == "compact":
        return [ids[i : i + COMPACT_PER_MESSAGE] for i in range(0, len(ids), COMPACT_PER_MESSAGE)]
    if options.format == "cards":
        step = V2_CARDS_PER_MESSAGE
        return [ids[i : i + step] for i in range(0, len(ids), step)]
    parts: list[list[str]] = []
    current: list[str] = []
    size = 0
    for rank, paper in enumerate(papers, first_rank):
        card = render.paper_card(
            paper, language=options.language, rank=rank, locale=options.language
        )
        length = len(card)
        if current and (len(current) == CARDS_PER_MESSAGE or size + length > PACK_BUDGET):
            parts.append(current)
            current, size = [], 0
        current.append(paper.id)
        size += length
    return [*parts, current] if current else parts


def shown_count(plan: dict) -> int:
    """Papers the digest shows, follow-ups included."""
    return sum(len(ids) for ids in plan["parts"][1:])


def late_papers(plan: dict, listed: Sequence[Paper]) -> list[Paper] | None:
    """The papers of the day's current list (`listed`, in digest order) that were added after
    the digest was planned and pass its filters, as many as its `top` still leaves room for;
    None for a plan that predates follow-ups."""
    if "seen" not in plan:
        return None
    seen = set(plan["seen"])
    options = DigestOptions.of_plan(plan)
    late = [p for p in select_papers(listed, options) if p.id not in seen]
    return late[: max(0, options.top - shown_count(plan))] if options.top else late


def add_follow_up(plan: dict, papers: Sequence[Paper], now: datetime) -> dict:
    """The plan with one more follow-up: messages for `papers`, numbered after the cards shown,
    the first of them headed "+N papers added to Daily Papers — D". A digest that had no papers
    gets them as an ordinary digest instead (a header, then the cards)."""
    parts = _pack(papers, DigestOptions.of_plan(plan), first_rank=shown_count(plan) + 1)
    follow_ups = plan.get("follow_ups", [])
    if plan["parts"]:
        follow_ups = [*follow_ups, [len(plan["parts"]), len(papers)]]
    else:
        parts = [[], *parts]
    seen = plan["seen"] + [p.id for p in papers]
    return {
        **plan,
        "parts": plan["parts"] + parts,
        "follow_ups": follow_ups,
        "seen": seen,
        "listed": len(seen),
        "extended_at": to_iso(now),  # where a resume looks for messages sent since
    }


def _follow_up(plan: dict, part: int) -> tuple[int, int, int] | None:
    """(first part, parts, papers) of the follow-up that message `part` belongs to, if any."""
    starts = plan.get("follow_ups", [])
    for index, (first, count) in enumerate(starts):
        end = starts[index + 1][0] if index + 1 < len(starts) else len(plan["parts"])
        if first <= part < end:
            return first, end - first, count
    return None


def follow_up_text(day: str, count: int, language: str | None = None) -> str:
    """The first line of a follow-up, in the channel's `language`, and the day's link."""
    added = i18n.plural(language, "digest.follow_up", count, day=day)
    return f"{added}\n<{HF_DAY_URL.format(day=day)}>"


@dataclass(slots=True)
class Rendered:
    """One message of a digest, ready to send or to edit in."""

    content: str | None
    embeds: list[discord.Embed]
    view: discord.ui.View | discord.ui.LayoutView | None

    def payload_key(self) -> str:
        """A hash of what the message shows: an edit is needed only when it changes."""
        data = {
            "content": self.content,
            "embeds": [e.to_dict() for e in self.embeds],
            "components": self.view.to_components() if self.view else [],
        }
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:32]

    @property
    def is_v2(self) -> bool:
        """A Components V2 message: its view is all it shows (no content, no embeds)."""
        return isinstance(self.view, discord.ui.LayoutView)

    def signature(self) -> tuple:
        components = self.view.to_components() if self.view is not None and self.is_v2 else []
        return _signature(self.content, self.embeds, components)

    def message_fields(self) -> dict[str, Any]:
        """What to send or edit: the view alone for V2, else content, embeds and view."""
        if self.is_v2:
            return {"view": self.view}
        return {"content": self.content, "embeds": self.embeds, "view": self.view}


def _signature(
    content: str | None, embeds: Sequence[discord.Embed], components: Sequence[dict]
) -> tuple:
    """What identifies a digest message in the channel history: its first line, its embeds,
    and the first line of each text display of a V2 message (a card's linked title)."""
    first_line = (content or "").split("\n", 1)[0]
    texts = tuple(text.split("\n", 1)[0] for text in _text_displays(components))
    return first_line, tuple((e.url or e.title or "") for e in embeds), texts


def _text_displays(components: Sequence[dict]) -> list[str]:
    found = []
    for component in components:
        if component.get("type") == discord.ComponentType.text_display.value:
            found.append(component.get("content") or "")
        found += _text_displays(component.get("components") or [])
    return found


def forum_title(plan: dict) -> str:
    """The name of a forum's post of the day: the day and its papers, follow-ups left out
    (the name is what an interrupted post finds its thread by)."""
    starts = plan.get("follow_ups")
    own = plan["parts"][1 : starts[0][0]] if starts else plan["parts"][1:]
    count = sum(len(ids) for ids in own)
    title = i18n.plural(plan["language"], "digest.forum_title", count, day=plan["day"])
    return render.truncate(title, FORUM_TITLE_LIMIT)


def _tag_key(name: str) -> str:
    return "".join(c for c in name.casefold() if c.isalnum())


def forum_tag(forum: discord.ForumChannel, wanted: str | None) -> discord.ForumTag | None:
    """The tag a digest post gets in `forum`: the one named `wanted` (any case), none for "",
    and for None the first tag named like the digest ("Daily Papers", "Papers", "Digest")."""
    if wanted == "":
        return None
    tags = forum.available_tags
    if wanted is not None:
        return next((t for t in tags if t.name.casefold() == wanted.casefold()), None)
    return next((t for t in tags if _tag_key(t.name) in DIGEST_TAG_NAMES), None)


def header_text(plan: dict, *, preview: bool = False) -> str:
    """The digest's first message, in the channel's language (the plan's)."""
    day, language = plan["day"], plan["language"]
    shown = shown_count(plan)
    text = i18n.plural(language, "digest.header", shown, day=day)
    if shown < plan["listed"]:
        filters = []
        if plan.get("top"):
            filters.append(i18n.text(language, "digest.filter_top", top=plan["top"]))
        if plan.get("min_votes"):
            filters.append(
                i18n.text(language, "digest.filter_min_votes", min_votes=plan["min_votes"])
            )
        joined = i18n.text(language, "digest.filter_separator").join(filters)
        text += i18n.text(language, "digest.filtered", listed=plan["listed"], filters=joined)
    text += f"\n<{HF_DAY_URL.format(day=day)}>"  # <...>: a link without a preview
    if preview:
        text = i18n.text(language, "digest.preview") + "\n" + text
    return text


def render_part(
    plan: dict,
    part: int,
    papers: dict[str, Paper],
    counts: dict[str, tuple[int, int]] | None,
    *,
    preview: bool = False,
    fallbacks: dict[str, str] | None = None,
) -> Rendered:
    """Message `part` of the digest described by `plan`, in the plan's language.

    `papers` maps ids to stored papers (one that has gone is left out); `counts` are the
    server's member votes per paper id, shown on the cards' buttons (None: no buttons);
    `fallbacks`, why a card has no summary in the plan's language (``fallback_reasons``).
    """
    if part == 0:
        return Rendered(header_text(plan, preview=preview), [], None)
    first_rank = 1 + sum(len(ids) for ids in plan["parts"][1:part])
    ranked = [
        (first_rank + offset, papers[pid])
        for offset, pid in enumerate(plan["parts"][part])
        if pid in papers
    ]
    # The digest's own messages are parts 1.. up to its first follow-up; each follow-up's
    # messages come after it, the first of them with a line saying how many papers it adds.
    follow_up = _follow_up(plan, part)
    content = None
    if follow_up is None:
        starts = plan.get("follow_ups")
        group_first, pages = 1, (starts[0][0] if starts else len(plan["parts"])) - 1
    else:
        group_first, pages, count = follow_up
        if part == group_first:
            content = follow_up_text(plan["day"], count, plan["language"])
    if plan["format"] == "compact":
        group = plan["parts"][group_first : group_first + pages]
        embed = render.paper_list_page(
            [paper for _, paper in ranked],
            title=i18n.text(plan["language"], "digest.list_title", day=plan["day"]),
            page=part - group_first + 1,
            pages=pages,
            first_rank=first_rank,
            total=sum(len(ids) for ids in group),
            locale=plan["language"],
        )
        return Rendered(content, [embed], None)
    language, fallbacks = plan["language"], fallbacks or {}
    if plan["format"] == "cards":
        return _v2_message(content, ranked, language, counts, fallbacks)
    embeds = [
        render.paper_card(
            p, language=language, rank=rank, locale=language, fallback=fallbacks.get(p.id)
        )
        for rank, p in ranked
    ]
    view = None
    if counts is not None:
        view = vote_view(
            [(p.id, card_label(rank, p), counts.get(p.id, (0, 0))) for rank, p in ranked]
        )
    return Rendered(content, embeds, view)


def _v2_message(
    content: str | None,
    ranked: Sequence[tuple[int, Paper]],
    language: str | None,
    counts: dict[str, tuple[int, int]] | None,
    fallbacks: dict[str, str],
) -> Rendered:
    """A Components V2 message: a follow-up's first line as a text display, then one
    container per card with its own 👍/👎/📈 inside it (none without `counts`: a preview)."""
    view = discord.ui.LayoutView(timeout=None)
    if content:
        view.add_item(discord.ui.TextDisplay(content))
    for rank, paper in ranked:
        actions: list[discord.ui.Item] = []
        if counts is not None:
            up, down = counts.get(paper.id, (0, 0))
            actions = [
                VoteButton(paper.id, "up", up),
                VoteButton(paper.id, "down", down),
                ChartButton(paper.id),
            ]
        view.add_item(
            render.paper_container(
                paper,
                language=language,
                rank=rank,
                locale=language,
                fallback=fallbacks.get(paper.id),
                actions=actions,
                limit=V2_CARD_TEXT,
            )  # fmt: skip
        )
    return Rendered(None, [], view)


# --- member votes -----------------------------------------------------------------------------


class CardLabel(
    Guarded, discord.ui.DynamicItem[discord.ui.Button], template=r"card:(?P<paper>\S+)"
):
    """A disabled button naming the card a row of vote buttons belongs to ("3. Title…")."""

    where = "a card label"

    def __init__(self, paper_id: str, label: str) -> None:
        button: discord.ui.Button[Any] = discord.ui.Button(
            label=label, custom_id=f"card:{paper_id}", disabled=True,
            style=discord.ButtonStyle.secondary,
        )  # fmt: skip
        super().__init__(button)

    @classmethod
    async def from_custom_id(cls, interaction, item, match):
        return cls(match["paper"], "·")

    async def act(self, interaction: discord.Interaction) -> None:
        # Disabled, so only a forged client clicks it; it is answered all the same.
        await interaction.response.send_message(
            i18n.text(interaction.locale, "votes.card_label"), ephemeral=True
        )


class ChartButton(
    Guarded, discord.ui.DynamicItem[discord.ui.Button], template=r"chart:(?P<paper>\S+)"
):
    """📈 on a digest card: the paper's vote chart (``/paper votes``), privately, for the
    clicker's server. Its custom id carries the paper, so it works after a restart."""

    where = "a chart button"

    def __init__(self, paper_id: str) -> None:
        self.paper_id = paper_id
        button: discord.ui.Button[Any] = discord.ui.Button(
            emoji="📈", custom_id=f"chart:{paper_id}", style=discord.ButtonStyle.secondary
        )
        super().__init__(button)

    @classmethod
    async def from_custom_id(cls, interaction, item, match):
        return cls(match["paper"])

    async def act(self, interaction: discord.Interaction) -> None:
        services = interaction.client.services  # type: ignore[attr-defined]
        await charts.send_votes(interaction, services, self.paper_id)


class VoteButton(
    Guarded,
    discord.ui.DynamicItem[discord.ui.Button],
    template=r"vote:(?P<paper>\S+):(?P<way>up|down)",
):
    """👍 / 👎 on a digest card. The custom id carries the paper and the direction, so the
    buttons keep working after a restart with nothing kept in memory."""

    where = "a vote button"

    def __init__(self, paper_id: str, way: str, count: int) -> None:
        self.paper_id, self.way = paper_id, way
        button: discord.ui.Button[Any] = discord.ui.Button(
            label=str(count),
            emoji="👍" if way == "up" else "👎",
            custom_id=f"vote:{paper_id}:{way}",
            style=discord.ButtonStyle.secondary,
        )
        super().__init__(button)

    @classmethod
    async def from_custom_id(cls, interaction, item, match):
        return cls(match["paper"], match["way"], 0)

    async def act(self, interaction: discord.Interaction) -> None:
        services = interaction.client.services  # type: ignore[attr-defined]
        poster = DigestPoster.of(interaction.client)
        await cast_vote(
            interaction, services.store, services.clock(), self.paper_id, self.way, poster
        )


@dataclass(frozen=True, slots=True)
class Writer:
    """Who writes summaries ahead of the digests (bot/summaries/service.py): their `source`
    (storage/summaries.py), the provider's `name`, the UTC `day` whose attempts count (a
    paper that fell back is asked again the next UTC day: until then its failure stands,
    after that it is pending again), and the `oldest` listed day it writes for."""

    source: str
    provider: str
    day: date
    oldest: date


async def fallback_reasons(
    db: Reader,
    papers: Iterable[Paper],
    language: str | None,
    writer: Writer | None,
    listed: date,
) -> dict[str, str]:
    """{paper id: why its card has no summary in `language`} (render.FALLBACKS): "checks"
    when the writer's model answered and failed the checks, "failed" when it failed
    otherwise, "pending" when it has not tried yet that day (or could not reach the model).
    Nothing without a `writer`, when it does not write `language` (``hf``: English only) or
    for a day it no longer writes (`listed` before ``writer.oldest``, e.g. a backfill): then
    no one will write one, and the fallback is simply what the card shows.

    One query for all the papers.
    """
    if language is None or writer is None or listed < writer.oldest:
        return {}
    wanted = language.strip().casefold()
    if writer.provider == "hf" and wanted.split("-")[0] != "en":
        return {}
    missing = [p for p in papers if render.summary_in(p, language) is None]
    if not missing:
        return {}
    tried = await attempted(db, [paper_key(p.id) for p in missing], writer.source, writer.day)
    why = {(pk, lang.casefold()): reason for (pk, lang), reason in tried.items()}
    reasons: dict[str, str] = {}
    for paper in missing:
        reason = why.get((paper_key(paper.id), wanted))
        if reason is None:
            reasons[paper.id] = "pending"
        else:
            reasons[paper.id] = "checks" if reason == CHECKS_FAILED else "failed"
    return reasons


def card_label(rank: int, paper: Paper) -> str:
    return render.truncate(f"{rank}. {' '.join(paper.title.split())}", LABEL_TITLE_CHARS)


def vote_view(rows: Sequence[tuple[str, str, tuple[int, int]]]) -> discord.ui.View:
    """A row per card from (paper id, card label, (👍, 👎) counts): its name, 👍 n, 👎 n, 📈."""
    view = discord.ui.View(timeout=None)
    for row, (paper_id, label, (up, down)) in enumerate(rows):
        items = (
            CardLabel(paper_id, label),
            VoteButton(paper_id, "up", up),
            VoteButton(paper_id, "down", down),
            ChartButton(paper_id),
        )
        for item in items:
            item.row = row
            view.add_item(item)
    return view


_message_locks: weakref.WeakValueDictionary[int, asyncio.Lock] = weakref.WeakValueDictionary()


async def cast_vote(
    interaction: discord.Interaction,
    store: Store,
    now: datetime,
    paper_id: str,
    way: str,
    poster: DigestPoster | None = None,
) -> None:
    """Record a member's click and show the new counts on the message's buttons.

    The click is acknowledged first: the write may wait for another process's write lock
    longer than Discord's 3 seconds. The counts are edited in once the vote is stored: a
    digest message is rendered again whole by the `poster` (a V2 message is its components,
    so its buttons cannot be edited alone); another message gets its rows of buttons again.
    The member's note is in their own Discord language (it is theirs alone).
    """
    if interaction.guild_id is None or interaction.message is None:
        raise UserError.of("errors.server_only")
    pk = paper_key(paper_id)
    message = interaction.message
    await interaction.response.defer()
    # One click at a time per message, so two quick votes can't show stale counts.
    lock = _message_locks.setdefault(message.id, asyncio.Lock())
    async with lock:
        async with store.write() as conn:
            if not await conn.execute_fetchall("SELECT 1 FROM papers WHERE pk = ?", (pk,)):
                raise UserError.of("errors.paper_gone")
            after = await toggle_vote(
                conn,
                interaction.guild_id,
                pk,
                interaction.user.id,
                UP if way == "up" else DOWN,
                now,
            )
        found = await post_of_message(store.reader, message.id) if poster else None
        if poster is not None and found is not None:
            post, part = found
            rendered = await poster.render(post.plan, part, interaction.guild_id)
            await interaction.edit_original_response(**rendered.message_fields())
            async with store.write() as conn:  # the next refresh need not edit it again
                await set_shown(conn, post.channel_id, post.day, part, rendered.payload_key())
            title = paper_id
            ranked = [pid for ids in post.plan["parts"][1:] for pid in ids]
            paper = await get_paper(store.reader, paper_id)
            if paper is not None and paper_id in ranked:
                title = card_label(ranked.index(paper_id) + 1, paper)
        else:
            rows = _vote_rows(message)
            counts = await vote_counts(
                store.reader, interaction.guild_id, [paper_key(pid) for pid, _ in rows]
            )
            view = vote_view([(pid, label, counts[paper_key(pid)]) for pid, label in rows])
            await interaction.edit_original_response(view=view)
            title = next((label for pid, label in rows if pid == paper_id), paper_id)
    emoji = "👍" if way == "up" else "👎"
    key = "votes.withdrawn" if after == WITHDRAWN else "votes.counted"
    note = i18n.text(interaction.locale, key, emoji=emoji, title=title)
    await interaction.followup.send(render.defuse_mentions(note), ephemeral=True)


def _vote_rows(message: discord.Message) -> list[tuple[str, str]]:
    """(paper id, card label) of each row of vote buttons on a digest message."""
    rows = []
    for row in message.components:
        for child in getattr(row, "children", []):
            custom_id = getattr(child, "custom_id", None) or ""
            if custom_id.startswith("card:"):
                rows.append((custom_id.removeprefix("card:"), child.label or "·"))
    return rows


# --- posting ----------------------------------------------------------------------------------


class Pacer:
    """Spaces channel requests evenly at `rate` per second across every post and edit, so a
    fan-out to many channels stays under Discord's global limit instead of bouncing off it."""

    def __init__(self, rate: float) -> None:
        self.interval = 1.0 / rate
        self._next = 0.0
        self._lock = asyncio.Lock()

    async def wait(self) -> None:
        async with self._lock:
            loop = asyncio.get_running_loop()
            # Slots follow each other exactly `interval` apart (a late wake-up must not push
            # every later slot back), and never start before now.
            slot = max(self._next, loop.time())
            self._next = slot + self.interval
            delay = slot - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)


class PermanentFailure(Exception):
    """Discord refused the channel (deleted, or a permission removed): don't retry soon."""


class TransientFailure(Exception):
    """Discord or the network failed for now (5xx after discord.py's own retries, timeouts)."""


class RateLimitedFailure(TransientFailure):
    """Discord kept answering 429 past discord.py's own retries: wait `retry_after` seconds.

    Not the channel's fault, so it does not count towards the attempts that give a day up."""

    def __init__(self, reason: str, retry_after: float) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


def _retry_after(error: discord.HTTPException) -> float:
    """Seconds a 429 asks to wait (Discord's Retry-After header), at least one."""
    try:
        return max(1.0, float(error.response.headers.get("Retry-After", 1)))
    except (TypeError, ValueError):
        return 1.0


def _describe(error: discord.HTTPException) -> str:
    text = error.text or error.response.reason or ""
    return f"{error.status} {text}".strip()


class DigestPoster:
    """Posts digests to channels, resumes interrupted posts and keeps counts live; one per bot
    (`of`: the vote buttons render their message again through it)."""

    _by_client: weakref.WeakKeyDictionary[discord.Client, DigestPoster] = (
        weakref.WeakKeyDictionary()
    )

    @classmethod
    def of(cls, client: discord.Client) -> DigestPoster | None:
        return cls._by_client.get(client)

    def __init__(
        self,
        client: discord.Client,
        store: Store,
        pacer: Pacer,
        *,
        writer: Callable[[], Writer | None] | None = None,
    ) -> None:
        """`writer`: who writes the summaries now (``SummaryService.writer``), for the cards'
        fallback labels; None when nothing writes them."""
        self.client = client
        self.store = store
        self.pacer = pacer
        self.writer = writer
        DigestPoster._by_client[client] = self
        self._channel_locks: dict[int, asyncio.Lock] = {}
        self._refreshing = asyncio.Lock()

    def busy(self, channel_id: int) -> bool:
        lock = self._channel_locks.get(channel_id)
        return lock is not None and lock.locked()

    async def digest_papers(
        self, day: date, options: DigestOptions
    ) -> tuple[list[str], list[Paper]]:
        """(ids of the papers listed that day, the papers the digest shows)."""
        listed = await papers_on_day(self.store.reader, day)
        return [p.id for p in listed], select_papers(listed, options)

    async def add_late_papers(self, day: date, now: datetime) -> int:
        """Give every posted digest of `day` a follow-up with the papers added to the day since
        it was planned (within its filters); the post check sends them, exactly once, like any
        interrupted post. Returns how many digests got one."""
        if now >= datetime.combine(day, time(0), tzinfo=UTC) + FOLLOW_UPS_FOR:
            return 0
        posts = await subscribed_posts_of_day(self.store.reader, day, state=POSTED)
        if not posts:
            return 0
        listed = await papers_on_day(self.store.reader, day)
        extended = []
        for post in posts:
            late = late_papers(post.plan, listed)
            if late:
                extended.append((post, add_follow_up(post.plan, late, now)))
        if extended:
            async with self.store.write() as conn:
                for post, plan in extended:
                    await add_parts(conn, post.channel_id, day, plan)
            log.info("papers were added to %s after its digest: %d follow-ups", day, len(extended))
        return len(extended)

    async def render(
        self, plan: dict, part: int, guild_id: int | None, *, preview: bool = False
    ) -> Rendered:
        ids = plan["parts"][part]
        papers = {
            p.id: p for p in await load_papers(self.store.reader, [paper_key(i) for i in ids])
        }
        counts, fallbacks = None, None
        if plan["format"] in ("cards", "embeds") and part > 0:
            writer = self.writer() if self.writer is not None else None
            fallbacks = await fallback_reasons(
                self.store.reader, papers.values(), plan["language"], writer,
                date.fromisoformat(plan["day"]),
            )  # fmt: skip
            if guild_id is not None and not preview:
                by_pk = await vote_counts(self.store.reader, guild_id, [paper_key(i) for i in ids])
                counts = {i: by_pk[paper_key(i)] for i in ids}
        return render_part(plan, part, papers, counts, preview=preview, fallbacks=fallbacks)

    async def post(
        self,
        *,
        channel_id: int,
        guild_id: int,
        day: date,
        options: DigestOptions,
        now: datetime,
        plans: dict | None = None,
    ) -> Post:
        """Post `day`'s digest to the channel once: a posted day is left alone, an unfinished
        one is resumed with its own plan, a new one is planned from the store now.

        `plans` is a cache shared by the posts of one round, so 500 channels with the same
        settings plan the day once.
        """
        lock = self._channel_locks.setdefault(channel_id, asyncio.Lock())
        async with lock:
            plan = (plans or {}).get((day, options))
            if plan is None:
                listed, papers = await self.digest_papers(day, options)
                plan = make_plan(day, listed, papers, options)
                if plans is not None:
                    plans[(day, options)] = plan
            if isinstance(await self._channel(channel_id), discord.ForumChannel):
                plan = {**plan, "forum": True}  # a copy: the cached plan serves other channels
            async with self.store.write() as conn:
                post, created = await begin_post(
                    conn, channel_id=channel_id, guild_id=guild_id, day=day, plan=plan, now=now
                )
                if post.state == FAILED:
                    await restart_post(conn, channel_id, day)
            if post.state == POSTED:
                return post
            return await self._send(post, options, resuming=not created, now=now)

    async def _channel(self, channel_id: int) -> discord.abc.GuildChannel | None:
        """The channel as the gateway told it (fetched when not cached); None when Discord
        won't say (the send then fails with the real reason)."""
        channel = self.client.get_channel(channel_id)
        if channel is None:
            try:
                channel = await self.client.fetch_channel(channel_id)
            except (discord.HTTPException, aiohttp.ClientError, TimeoutError, OSError) as exc:
                log.info("channel %d could not be looked up: %r", channel_id, exc)
                return None
        return channel  # type: ignore[return-value]

    def _target(self, post: Post, part: int) -> discord.PartialMessageable:
        """Where message `part` of the post lives: the channel, or the forum post's thread."""
        where = post.messages[0] if post.plan.get("forum") and part > 0 else post.channel_id
        return self.client.get_partial_messageable(where, guild_id=post.guild_id)

    async def _send(
        self, post: Post, options: DigestOptions, *, resuming: bool, now: datetime
    ) -> Post:
        forum = post.plan.get("forum", False)
        missing = [part for part in range(len(post.parts)) if part not in post.messages]
        if missing:
            log.info(
                "%s the digest of %s in channel %d: %d of %d messages to send",
                "resuming" if resuming else "posting", post.day, post.channel_id,
                len(missing), len(post.parts),
            )  # fmt: skip
        try:
            for part in missing:
                rendered = await self.render(post.plan, part, post.guild_id)
                opens_thread = forum and part == 0
                found: discord.abc.Snowflake | None = None
                if resuming and part == missing[0]:
                    found = await (
                        self._find_thread(post)
                        if opens_thread
                        else self._find_sent(self._target(post, part), post, rendered)
                    )
                if found is None:
                    await self.pacer.wait()
                    if opens_thread:
                        found = await self._open_thread(post, rendered, options)
                    else:
                        fields = rendered.message_fields()
                        fields["view"] = fields["view"] or discord.utils.MISSING
                        found = await self._call(self._target(post, part).send(**fields))
                if options.crosspost and isinstance(found, discord.Message):
                    await self._publish(found)
                async with self.store.write() as conn:
                    await record_message(
                        conn, post.channel_id, post.day, part, found.id, rendered.payload_key()
                    )
                post.messages[part] = found.id
        except PermanentFailure as exc:
            await self._failed(post, str(exc), retry_at=None, now=now, permanent=True)
            return post
        except RateLimitedFailure as exc:
            retry_at = now + timedelta(seconds=exc.retry_after)
            await self._failed(post, str(exc), retry_at=retry_at, now=now, counted=False)
            return post
        except TransientFailure as exc:
            delay = RETRY_AFTER[min(post.attempts, len(RETRY_AFTER) - 1)]
            later = now + delay if post.attempts < len(RETRY_AFTER) else None
            await self._failed(post, str(exc), retry_at=later, now=now)
            return post
        async with self.store.write() as conn:
            await finish_post(conn, post.channel_id, post.day, now)
            await record_failure(conn, post.channel_id, None, now)
        post.state = POSTED
        log.info("posted the digest of %s in channel %d", post.day, post.channel_id)
        return post

    async def _open_thread(
        self, post: Post, rendered: Rendered, options: DigestOptions
    ) -> discord.Message:
        """Open the forum post of the day with the header; its message (the thread's id)."""
        forum = await self._channel(post.channel_id)
        if not isinstance(forum, discord.ForumChannel):
            raise PermanentFailure("the channel is not a forum any more")
        tag = forum_tag(forum, options.tag)
        if options.tag and tag is None:
            log.warning(
                "forum %d has no tag named %r any more; posting the digest without it",
                forum.id, options.tag,
            )  # fmt: skip
        made = await self._call(
            forum.create_thread(
                name=forum_title(post.plan),
                content=rendered.content or "",
                applied_tags=[tag] if tag else [],
                auto_archive_duration=FORUM_ARCHIVE_MINUTES,
            )
        )
        return made.message

    async def _find_thread(self, post: Post) -> discord.Thread | None:
        """The forum post of an interrupted digest, if Discord opened it before the bot died:
        the bot's own active thread of that name in the forum, opened since the post began."""
        forum = await self._channel(post.channel_id)
        me = self.client.user
        if not isinstance(forum, discord.ForumChannel) or me is None:
            return None
        name = forum_title(post.plan)
        since = (post.started_at or datetime.now(UTC)) - timedelta(minutes=1)
        for thread in forum.threads:
            if (
                thread.owner_id == me.id
                and thread.name == name
                and discord.utils.snowflake_time(thread.id) >= since
            ):
                log.info("found the forum post of an interrupted digest; not opening another")
                return thread
        return None

    async def _publish(self, message: discord.Message) -> None:
        """Publish a message of an announcement channel to its followers, best effort: the
        digest itself must not wait on it or fail because of it."""
        try:
            await asyncio.wait_for(message.publish(), PUBLISH_WITHIN)
        except discord.HTTPException as exc:
            if exc.code == 40033:  # published before a restart: done
                return
            log.warning("digest message %d was not published: %s", message.id, _describe(exc))
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            log.warning("digest message %d was not published: %r", message.id, exc)

    async def _failed(
        self,
        post: Post,
        reason: str,
        *,
        retry_at: datetime | None,
        now: datetime,
        permanent: bool = False,
        counted: bool = True,
    ) -> None:
        """Mark the post failed; `counted` failures use up the day's retries (RETRY_AFTER)."""
        async with self.store.write() as conn:
            await fail_post(
                conn, post.channel_id, post.day, error=reason, retry_at=retry_at, now=now,
                counted=counted,
            )  # fmt: skip
            if permanent:
                await record_failure(conn, post.channel_id, reason, now)
        post.state, post.error, post.retry_at = FAILED, reason, retry_at
        post.attempts += counted
        when = (
            f"retrying after {retry_at:%H:%M} UTC"
            if retry_at
            else "not retried before its next slot"
        )
        log.warning(
            "the digest of %s could not be posted in channel %d: %s (%s)",
            post.day, post.channel_id, reason, when,
        )  # fmt: skip

    async def _call(self, request: Any) -> Any:
        """Await a Discord request, sorting its failures into permanent and transient."""
        try:
            return await request
        except (discord.Forbidden, discord.NotFound) as exc:
            raise PermanentFailure(_describe(exc)) from exc
        except discord.DiscordServerError as exc:
            raise TransientFailure(_describe(exc)) from exc
        except discord.RateLimited as exc:  # discord.py refused to wait that long itself
            raise RateLimitedFailure(
                f"rate limited by Discord for {exc.retry_after:.0f} s", exc.retry_after
            ) from exc
        except discord.HTTPException as exc:
            if exc.status == 429:  # still limited after discord.py's own retries
                wait = _retry_after(exc)
                raise RateLimitedFailure(f"rate limited by Discord for {wait:.0f} s", wait) from exc
            # 400s: what we sent was refused; don't loop on it
            log.error("Discord refused a digest message: %s", exc)
            raise PermanentFailure(_describe(exc)) from exc
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise TransientFailure(f"network error: {exc!r}") from exc

    async def _find_sent(
        self, channel: discord.PartialMessageable, post: Post, rendered: Rendered
    ) -> discord.Message | None:
        """The message of this part if Discord created it before the bot died, else None."""
        # Messages sent since the post (or its latest follow-up) began, after the last one
        # recorded: a follow-up can come hours after the digest's own messages.
        begun = from_iso(post.plan.get("extended_at")) or post.started_at or datetime.now(UTC)
        after = discord.Object(
            id=max(
                max(post.messages.values(), default=0),
                discord.utils.time_snowflake(begun - timedelta(minutes=1)),
            )
        )
        wanted = rendered.signature()
        me = self.client.user

        async def scan() -> discord.Message | None:
            # One page of history (100 messages): members may have talked since.
            async for message in channel.history(limit=100, after=after, oldest_first=True):
                if (
                    me
                    and message.author.id == me.id
                    and _signature(
                        message.content,
                        message.embeds,
                        [dict(component.to_dict()) for component in message.components],
                    )
                    == wanted
                ):
                    log.info(
                        "found message %d of an interrupted post; not sending it again", message.id
                    )
                    return message
            return None

        try:
            # A history that can't be read now (429, 5xx) is a reason to try again later:
            # sending blindly could repeat the message.
            return await self._call(scan())
        except PermanentFailure as exc:
            if not isinstance(exc.__cause__, discord.Forbidden):
                raise
            log.warning(
                "channel %d: no Read Message History permission, so an interrupted post may "
                "repeat one message", channel.id,
            )  # fmt: skip
            return None

    async def refresh(self, now: datetime) -> int:
        """Edit the cards of digests posted in the last LIVE_FOR whose counts or summaries
        changed, channels in parallel (each channel's messages in order), paced like posting.

        Returns how many messages were edited. A deleted message or a lost permission stops
        the edits of that message only; nothing is retried in a loop. One refresh at a time:
        an ingest round and the summaries service may both ask for one.
        """
        async with self._refreshing:
            by_channel: dict[int, list[Post]] = {}
            for post in await live_posts(self.store.reader, now - LIVE_FOR):
                by_channel.setdefault(post.channel_id, []).append(post)
            limit = asyncio.Semaphore(EDITS_IN_FLIGHT)

            async def channel_edits(posts: list[Post]) -> int:
                async with limit:
                    return sum([await self._refresh_post(post) for post in posts])

            done = await asyncio.gather(*(channel_edits(posts) for posts in by_channel.values()))
            return sum(done)

    async def _refresh_post(self, post: Post) -> int:
        edited = 0
        for part, message_id in sorted(post.messages.items()):
            if part == 0 or post.shown.get(part) == "gone":
                continue
            rendered = await self.render(post.plan, part, post.guild_id)
            key = rendered.payload_key()
            if key == post.shown.get(part):
                continue
            if sum(len(e) for e in rendered.embeds) > render.EMBED_TOTAL_LIMIT:
                log.warning("digest message %d grew past 6,000 characters; not edited", message_id)
                continue
            await self.pacer.wait()
            try:
                await self._call(
                    self._target(post, part)
                    .get_partial_message(message_id)
                    .edit(**rendered.message_fields())
                )
            except PermanentFailure as exc:
                log.info("digest message %d can't be edited any more: %s", message_id, exc)
                key = "gone"
            except TransientFailure as exc:  # rate limits included: edited next round
                log.warning("digest message %d not edited this time: %s", message_id, exc)
                continue
            else:
                edited += 1
            async with self.store.write() as conn:
                await set_shown(conn, post.channel_id, post.day, part, key)
        return edited
