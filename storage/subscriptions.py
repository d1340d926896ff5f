"""Digest subscriptions: which channel gets the daily digest, when, and how it looks."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time

import aiosqlite

from storage.votes import from_iso, to_iso

FORMATS = ("cards", "compact")


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
    format: str = "cards"  # cards | compact
    created_at: datetime | None = None
    created_by: int | None = None
    failed_at: datetime | None = None  # Discord refused the last post (403/404)
    failure: str | None = None


_COLUMNS = (
    "channel_id, guild_id, post_time, timezone, top, min_votes, language, format,"
    " created_at, created_by, failed_at, failure"
)


def _from_row(row: tuple) -> Subscription:
    channel, guild, post_time, tz, top, min_votes, language, fmt, created, by, failed, why = row
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
    )


async def save_subscription(conn: aiosqlite.Connection, sub: Subscription) -> bool:
    """Create or replace the channel's subscription; True when it is new.

    Replacing keeps `created_at` and clears a recorded failure: subscribing again is how an
    admin says the channel is fixed.
    """
    rows = await conn.execute_fetchall(
        "SELECT 1 FROM subscriptions WHERE channel_id = ?", (sub.channel_id,)
    )
    await conn.execute(
        f"INSERT INTO subscriptions ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, NULL)"
        " ON CONFLICT (channel_id) DO UPDATE SET guild_id = excluded.guild_id,"
        " post_time = excluded.post_time, timezone = excluded.timezone, top = excluded.top,"
        " min_votes = excluded.min_votes, language = excluded.language,"
        " format = excluded.format, created_by = excluded.created_by,"
        " failed_at = NULL, failure = NULL",
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
        ),
    )
    return not rows


async def delete_subscription(conn: aiosqlite.Connection, guild_id: int, channel_id: int) -> bool:
    """Remove the channel's subscription (only within `guild_id`); True when there was one."""
    cursor = await conn.execute(
        "DELETE FROM subscriptions WHERE channel_id = ? AND guild_id = ?", (channel_id, guild_id)
    )
    return cursor.rowcount > 0


async def get_subscription(db: aiosqlite.Connection, channel_id: int) -> Subscription | None:
    rows = await db.execute_fetchall(
        f"SELECT {_COLUMNS} FROM subscriptions WHERE channel_id = ?", (channel_id,)
    )
    return _from_row(rows[0]) if rows else None


async def guild_subscriptions(db: aiosqlite.Connection, guild_id: int) -> list[Subscription]:
    """The server's subscriptions, by channel id."""
    rows = await db.execute_fetchall(
        f"SELECT {_COLUMNS} FROM subscriptions WHERE guild_id = ? ORDER BY channel_id",
        (guild_id,),
    )
    return [_from_row(row) for row in rows]


async def all_subscriptions(db: aiosqlite.Connection) -> list[Subscription]:
    rows = await db.execute_fetchall(f"SELECT {_COLUMNS} FROM subscriptions ORDER BY channel_id")
    return [_from_row(row) for row in rows]


async def record_failure(
    conn: aiosqlite.Connection, channel_id: int, reason: str | None, at: datetime
) -> None:
    """Note that Discord refused a post to the channel (reason None: it works again)."""
    await conn.execute(
        "UPDATE subscriptions SET failed_at = ?, failure = ? WHERE channel_id = ?",
        (to_iso(at) if reason else None, reason, channel_id),
    )
