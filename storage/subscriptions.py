"""Digest subscriptions: which channel gets the daily digest, when, and how it looks.

Only valid settings are stored (`save_subscription` raises ValueError otherwise), and a row
that is not valid anyway (written by an older paperboy, which stored what a forged client
sent, or edited by hand) is skipped when read, with one warning per process: the other
channels' digests go on, and `/digest list` shows the channel so an admin can subscribe it
again (which replaces the row) or unsubscribe it.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from storage.interface import Reader, Writer
from storage.votes import from_iso, to_iso

log = logging.getLogger(__name__)

FORMATS = ("cards", "embeds", "compact")  # Components V2 cards, embed cards, a short list
TOP_MAX = 100  # `top`: 1..TOP_MAX papers, or None for all
MIN_VOTES_MAX = 100_000
LANGUAGE = re.compile(r"[a-z]{2,3}(?:-[a-z0-9]{2,8})?")  # en, ko, zh-tw, pt-br...
ID_MAX = 2**63 - 1  # SQLite's largest INTEGER; Discord ids are far below it
TAG_NAME_MAX = 20  # Discord's longest forum tag name


@dataclass(frozen=True, slots=True)
class Subscription:
    """A channel's digest settings."""

    channel_id: int
    guild_id: int
    post_time: time  # local to `timezone`
    timezone: str  # IANA name
    top: int | None = None  # at most this many papers (None: all)
    min_votes: int = 0
    language: str | None = None  # summary language wanted (None: any stored one)
    format: str = "cards"  # cards (Components V2) | embeds | compact
    created_at: datetime | None = None
    created_by: int | None = None
    failed_at: datetime | None = None  # Discord refused the last post (403/404)
    failure: str | None = None
    crosspost: bool = False  # announcement channels: publish each message to followers
    forum_tag: str | None = None  # forums: None, the tag named like the digest; "", none


_COLUMNS = (
    "channel_id, guild_id, post_time, timezone, top, min_votes, language, format,"
    " created_at, created_by, failed_at, failure, crosspost, forum_tag"
)


@dataclass(frozen=True, slots=True)
class Unreadable:
    """A stored row that is not a valid subscription: skipped, shown to admins to fix."""

    channel_id: int
    guild_id: Any
    problem: str


def _whole(value: Any, low: int, high: int) -> bool:
    return type(value) is int and low <= value <= high  # bool is an int: refused


def _zone_exists(name: Any) -> bool:
    if not isinstance(name, str):
        return False
    try:
        ZoneInfo(name)
    except Exception:  # unknown name, a path, a NUL, a surrogate...
        return False
    return True


def subscription_problem(sub: Subscription) -> str | None:
    """What makes `sub` a subscription that cannot be stored or posted, or None when valid."""
    for name in ("channel_id", "guild_id"):
        if not _whole(getattr(sub, name), 1, ID_MAX):
            return f"{name} must be a Discord id, not {getattr(sub, name)!r}"
    if sub.created_by is not None and not _whole(sub.created_by, 1, ID_MAX):
        return f"created_by must be a Discord id or None, not {sub.created_by!r}"
    if type(sub.post_time) is not time or sub.post_time.tzinfo is not None:
        return f"post_time must be a local time of day, not {sub.post_time!r}"
    if not _zone_exists(sub.timezone):
        return f"timezone must be an IANA time zone name, not {sub.timezone!r}"
    if sub.top is not None and not _whole(sub.top, 1, TOP_MAX):
        return f"top must be a whole number from 1 to {TOP_MAX} or None, not {sub.top!r}"
    if not _whole(sub.min_votes, 0, MIN_VOTES_MAX):
        return f"min_votes must be a whole number from 0 to {MIN_VOTES_MAX}, not {sub.min_votes!r}"
    if sub.language is not None and not (
        isinstance(sub.language, str) and LANGUAGE.fullmatch(sub.language)
    ):
        return f"language must be a code such as en or zh-tw, or None, not {sub.language!r}"
    if sub.format not in FORMATS:
        return f"format must be one of {', '.join(FORMATS)}, not {sub.format!r}"
    for name in ("created_at", "failed_at"):
        value = getattr(sub, name)
        if value is not None and (type(value) is not datetime or value.tzinfo is None):
            return f"{name} must be a datetime with a time zone, not {value!r}"
    if sub.failure is not None and not isinstance(sub.failure, str):
        return f"failure must be text or None, not {sub.failure!r}"
    if type(sub.crosspost) is not bool:
        return f"crosspost must be True or False, not {sub.crosspost!r}"
    if sub.forum_tag is not None and not (
        isinstance(sub.forum_tag, str) and len(sub.forum_tag) <= TAG_NAME_MAX
    ):
        return f"forum_tag must be a tag name of at most {TAG_NAME_MAX} characters or None"
    return None


def _from_row(row: tuple) -> Subscription:
    channel, guild, post_time, tz, top, min_votes, language, fmt, created, by, *rest = row
    failed, why, crosspost, forum_tag = rest
    return Subscription(
        channel_id=channel,
        guild_id=guild,
        post_time=time.fromisoformat(post_time),
        timezone=tz,
        top=top,
        min_votes=min_votes,
        language=language,
        format=fmt,
        created_at=from_iso(created),
        created_by=by,
        failed_at=from_iso(failed),
        failure=why,
        crosspost=bool(crosspost),
        forum_tag=forum_tag,
    )


_reported: set[tuple[int, str]] = set()  # unreadable rows warned about by this process


def _read(rows: list[tuple]) -> tuple[list[Subscription], list[Unreadable]]:
    """The valid subscriptions of `rows`, and the rows that are not (each warned about once)."""
    subs, unreadable = [], []
    for row in rows:
        try:
            sub = _from_row(row)
            problem = subscription_problem(sub)
        except Exception as exc:  # a column that does not even parse (time, timestamps)
            problem = f"unreadable row ({type(exc).__name__}: {exc})"
        if problem is None:
            subs.append(sub)
            continue
        unreadable.append(Unreadable(row[0], row[1], problem))
        if (row[0], problem) not in _reported:
            _reported.add((row[0], problem))
            log.warning(
                "the digest subscription of channel %s is skipped: %s; subscribe the channel "
                "again (or unsubscribe it) to fix it",
                row[0],
                problem,
            )
    return subs, unreadable


async def save_subscription(conn: Writer, sub: Subscription) -> bool:
    """Create or replace the channel's subscription; True when it is new.

    Replacing keeps `created_at` and clears a recorded failure: subscribing again is how an
    admin says the channel is fixed. ValueError (nothing written) when a setting is not valid
    (see `subscription_problem`), e.g. `top` of 0 or "abc"; `created_at` is required.
    """
    problem = subscription_problem(sub)
    if problem is None and sub.created_at is None:
        problem = "created_at is required"
    if problem is not None:
        raise ValueError(f"not a valid subscription: {problem}")
    rows = await conn.execute_fetchall(
        "SELECT 1 FROM subscriptions WHERE channel_id = ?", (sub.channel_id,)
    )
    await conn.execute(
        f"INSERT INTO subscriptions ({_COLUMNS})"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, NULL, ?, ?)"
        " ON CONFLICT (channel_id) DO UPDATE SET guild_id = excluded.guild_id,"
        " post_time = excluded.post_time, timezone = excluded.timezone, top = excluded.top,"
        " min_votes = excluded.min_votes, language = excluded.language,"
        " format = excluded.format, created_by = excluded.created_by,"
        " failed_at = NULL, failure = NULL, crosspost = excluded.crosspost,"
        " forum_tag = excluded.forum_tag",
        (
            sub.channel_id,
            sub.guild_id,
            sub.post_time.strftime("%H:%M"),
            sub.timezone,
            sub.top,
            sub.min_votes,
            sub.language,
            sub.format,
            to_iso(sub.created_at) if sub.created_at else None,
            sub.created_by,
            int(sub.crosspost),
            sub.forum_tag,
        ),
    )
    return not rows


async def delete_subscription(conn: Writer, guild_id: int, channel_id: int) -> bool:
    """Remove the channel's subscription (only within `guild_id`); True when there was one."""
    cursor = await conn.execute(
        "DELETE FROM subscriptions WHERE channel_id = ? AND guild_id = ?", (channel_id, guild_id)
    )
    return cursor.rowcount > 0


async def get_subscription(db: Reader, channel_id: int) -> Subscription | None:
    """The channel's subscription; None when there is none or its row is not valid."""
    rows = await db.execute_fetchall(
        f"SELECT {_COLUMNS} FROM subscriptions WHERE channel_id = ?", (channel_id,)
    )
    subs, _ = _read(list(rows))
    return subs[0] if subs else None


async def guild_subscription_rows(
    db: Reader, guild_id: int
) -> tuple[list[Subscription], list[Unreadable]]:
    """The server's valid subscriptions and its rows that are not, by channel id."""
    rows = await db.execute_fetchall(
        f"SELECT {_COLUMNS} FROM subscriptions WHERE guild_id = ? ORDER BY channel_id",
        (guild_id,),
    )
    return _read(list(rows))


async def all_subscriptions(db: Reader) -> list[Subscription]:
    """Every valid subscription, by channel id; rows that are not valid are skipped."""
    rows = await db.execute_fetchall(f"SELECT {_COLUMNS} FROM subscriptions ORDER BY channel_id")
    subs, _ = _read(list(rows))
    return subs


async def record_failure(conn: Writer, channel_id: int, reason: str | None, at: datetime) -> None:
    """Note that Discord refused a post to the channel (reason None: it works again)."""
    await conn.execute(
        "UPDATE subscriptions SET failed_at = ?, failure = ? WHERE channel_id = ?",
        (to_iso(at) if reason else None, reason, channel_id),
    )
