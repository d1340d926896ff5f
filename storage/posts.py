"""The posts log: which day was posted to which channel, as which messages.

A row per (channel, day) is the guard against posting a day twice: it is written before the
first message is sent, each message id is recorded as soon as Discord returns it, and the row
is marked posted only when every message is out. An interrupted post therefore resumes with
the messages that are missing, in the same plan.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from storage.interface import Reader, Writer
from storage.sql import CHUNK, chunks, marks
from storage.votes import from_iso, to_iso

POSTING, POSTED, FAILED = "posting", "posted", "failed"


@dataclass(slots=True)
class Post:
    channel_id: int
    day: date
    guild_id: int
    state: str
    plan: dict[str, Any]  # {"format", "language", "parts": [[paper ids], ...]}; part 0: header
    error: str | None = None
    attempts: int = 0
    retry_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    messages: dict[int, int] = field(default_factory=dict)  # part -> message id
    shown: dict[int, str] = field(default_factory=dict)  # part -> counts last rendered

    @property
    def parts(self) -> list[list[str]]:
        return self.plan["parts"]


_COLUMNS = "channel_id, day, guild_id, state, plan, error, attempts, retry_at, started_at," \
    " finished_at"  # fmt: skip


def _post(row: tuple) -> Post:
    channel, day, guild, state, plan, error, attempts, retry_at, started, finished = row
    return Post(
        channel_id=channel,
        day=date.fromisoformat(day),
        guild_id=guild,
        state=state,
        plan=json.loads(plan),
        error=error,
        attempts=attempts,
        retry_at=from_iso(retry_at),
        started_at=from_iso(started),
        finished_at=from_iso(finished),
    )


async def _with_messages(db: Reader, posts: list[Post]) -> list[Post]:
    """Fill in the recorded messages of `posts`, a query per chunk of them."""
    by_key = {(post.channel_id, post.day.isoformat()): post for post in posts}
    keys = list(by_key)
    for chunk in chunks(keys, CHUNK // 2):  # two bound values per post
        condition = " OR ".join(["(channel_id = ? AND day = ?)"] * len(chunk))
        rows = await db.execute_fetchall(
            f"SELECT channel_id, day, part, message_id, shown FROM post_messages WHERE {condition}",
            [value for key in chunk for value in key],
        )
        for channel_id, day, part, message_id, shown in rows:
            post = by_key[(channel_id, day)]
            post.messages[part] = message_id
            post.shown[part] = shown
    return posts


async def get_post(db: Reader, channel_id: int, day: date) -> Post | None:
    rows = await db.execute_fetchall(
        f"SELECT {_COLUMNS} FROM posts WHERE channel_id = ? AND day = ?",
        (channel_id, day.isoformat()),
    )
    return (await _with_messages(db, [_post(rows[0])]))[0] if rows else None


async def post_of_message(db: Reader, message_id: int) -> tuple[Post, int] | None:
    """The post a digest message belongs to and its part, or None for any other message."""
    rows = await db.execute_fetchall(
        "SELECT channel_id, day, part FROM post_messages WHERE message_id = ?", (message_id,)
    )
    if not rows:
        return None
    channel_id, day, part = rows[0]
    post = await get_post(db, channel_id, date.fromisoformat(day))
    return (post, part) if post is not None else None


async def begin_post(
    conn: Writer,
    *,
    channel_id: int,
    guild_id: int,
    day: date,
    plan: dict[str, Any],
    now: datetime,
) -> tuple[Post, bool]:
    """The (channel, day) post, created in state "posting" with `plan` unless it exists.

    Returns (post, created). An existing post keeps its own plan: a resumed post sends the
    messages that are missing from the plan it started with.
    """
    cursor = await conn.execute(
        "INSERT INTO posts (channel_id, day, guild_id, state, plan, started_at)"
        " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (channel_id, day) DO NOTHING",
        (channel_id, day.isoformat(), guild_id, POSTING, json.dumps(plan), to_iso(now)),
    )
    post = await get_post(conn, channel_id, day)
    assert post is not None
    return post, cursor.rowcount > 0


async def restart_post(conn: Writer, channel_id: int, day: date) -> None:
    """Put a failed post back to "posting" before it is retried."""
    await conn.execute(
        "UPDATE posts SET state = ?, retry_at = NULL WHERE channel_id = ? AND day = ?",
        (POSTING, channel_id, day.isoformat()),
    )


async def add_parts(conn: Writer, channel_id: int, day: date, plan: dict[str, Any]) -> bool:
    """Give a posted digest a longer plan (a follow-up) and put it back to "posting", so its
    new messages are sent, and resumed, like any post's, with retries of their own. False if it
    was not posted."""
    cursor = await conn.execute(
        "UPDATE posts SET plan = ?, state = ?, attempts = 0, error = NULL, retry_at = NULL"
        " WHERE channel_id = ? AND day = ? AND state = ?",
        (json.dumps(plan), POSTING, channel_id, day.isoformat(), POSTED),
    )
    return cursor.rowcount > 0


async def record_message(
    conn: Writer, channel_id: int, day: date, part: int, message_id: int, shown: str
) -> None:
    await conn.execute(
        "INSERT INTO post_messages (channel_id, day, part, message_id, shown)"
        " VALUES (?, ?, ?, ?, ?) ON CONFLICT (channel_id, day, part)"
        " DO UPDATE SET message_id = excluded.message_id, shown = excluded.shown",
        (channel_id, day.isoformat(), part, message_id, shown),
    )


async def set_shown(conn: Writer, channel_id: int, day: date, part: int, shown: str) -> None:
    await conn.execute(
        "UPDATE post_messages SET shown = ? WHERE channel_id = ? AND day = ? AND part = ?",
        (shown, channel_id, day.isoformat(), part),
    )


async def finish_post(conn: Writer, channel_id: int, day: date, now: datetime):
    await conn.execute(
        "UPDATE posts SET state = ?, error = NULL, retry_at = NULL, finished_at = ?"
        " WHERE channel_id = ? AND day = ?",
        (POSTED, to_iso(now), channel_id, day.isoformat()),
    )


async def fail_post(
    conn: Writer,
    channel_id: int,
    day: date,
    *,
    error: str,
    retry_at: datetime | None,
    now: datetime,
    counted: bool = True,
) -> None:
    """Mark the post failed; `retry_at` None means: not before the channel's next slot.
    A `counted` failure adds to the post's attempts (a rate limit does not)."""
    await conn.execute(
        "UPDATE posts SET state = ?, error = ?, attempts = attempts + ?, retry_at = ?,"
        " finished_at = ? WHERE channel_id = ? AND day = ?",
        (
            FAILED,
            error,
            int(counted),
            to_iso(retry_at) if retry_at else None,
            to_iso(now),
            channel_id,
            day.isoformat(),
        ),
    )


async def posts_since(db: Reader, channel_ids: list[int], day: date) -> dict[int, list[Post]]:
    """The posts of `day` and later of each channel (without their messages)."""
    found: dict[int, list[Post]] = {}
    for chunk in chunks(channel_ids):
        rows = await db.execute_fetchall(
            f"SELECT {_COLUMNS} FROM posts WHERE channel_id IN ({marks(len(chunk))}) AND day >= ?",
            (*chunk, day.isoformat()),
        )
        for row in rows:
            post = _post(row)
            found.setdefault(post.channel_id, []).append(post)
    return found


async def subscribed_posts_of_day(db: Reader, day: date, *, state: str) -> list[Post]:
    """The posts of `day` in `state` of the channels that are still subscribed (without their
    messages): a channel that unsubscribed gets no follow-up."""
    rows = await db.execute_fetchall(
        f"SELECT {_COLUMNS} FROM posts WHERE day = ? AND state = ?"
        " AND channel_id IN (SELECT channel_id FROM subscriptions)",
        (day.isoformat(), state),
    )
    return [_post(row) for row in rows]


async def retry_due_follow_ups(db: Reader, now: datetime) -> list[Post]:
    """Failed posts with a follow-up whose retry time has come (without their messages)."""
    rows = await db.execute_fetchall(
        f"SELECT {_COLUMNS} FROM posts WHERE state = ? AND retry_at <= ?"
        " AND plan LIKE '%\"follow_ups\":%' ORDER BY started_at",
        (FAILED, to_iso(now)),
    )
    return [_post(row) for row in rows]


async def latest_posts(db: Reader, channel_ids: list[int]) -> dict[int, Post]:
    """The newest-day post of each channel that has one, with its messages."""
    posts: list[Post] = []
    for chunk in chunks(channel_ids):
        rows = await db.execute_fetchall(
            f"SELECT {_COLUMNS} FROM posts p WHERE channel_id IN ({marks(len(chunk))})"
            " AND day = (SELECT max(day) FROM posts WHERE channel_id = p.channel_id)",
            chunk,
        )
        posts += [_post(row) for row in rows]
    return {post.channel_id: post for post in await _with_messages(db, posts)}


async def interrupted_posts(db: Reader) -> list[Post]:
    """Posts cut short (still "posting"), oldest first (without their messages)."""
    rows = await db.execute_fetchall(
        f"SELECT {_COLUMNS} FROM posts WHERE state = ? ORDER BY started_at", (POSTING,)
    )
    return [_post(row) for row in rows]


async def live_posts(db: Reader, since: datetime, *, messages: bool = True) -> list[Post]:
    """Posted digests finished at or after `since` (vote refresh), with their messages unless
    `messages` is False."""
    rows = await db.execute_fetchall(
        f"SELECT {_COLUMNS} FROM posts WHERE state = ? AND finished_at >= ? ORDER BY finished_at",
        (POSTED, to_iso(since)),
    )
    posts = [_post(row) for row in rows]
    return await _with_messages(db, posts) if messages else posts
