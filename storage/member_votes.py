"""Votes members cast on digest cards: one current vote per (server, paper, member), and a log."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from storage.interface import Reader, Writer
from storage.sql import chunks, marks
from storage.votes import from_iso, to_iso

UP, DOWN, WITHDRAWN = 1, -1, 0


async def toggle_vote(
    conn: Writer, guild_id: int, paper_pk: int, user_id: int, vote: int, now: datetime
) -> int:
    """Apply a click: the same vote again withdraws it, another one replaces it.

    Returns the member's vote afterwards (UP, DOWN or WITHDRAWN). Inside the caller's write
    transaction, so two quick clicks are applied one after the other.
    """
    if vote not in (UP, DOWN):
        raise ValueError(f"a vote is {UP} or {DOWN}, not {vote!r}")
    rows = await conn.execute_fetchall(
        "SELECT vote FROM member_votes WHERE guild_id = ? AND paper_pk = ? AND user_id = ?",
        (guild_id, paper_pk, user_id),
    )
    current = rows[0][0] if rows else WITHDRAWN
    at = to_iso(now)
    if current == vote:
        await conn.execute(
            "DELETE FROM member_votes WHERE guild_id = ? AND paper_pk = ? AND user_id = ?",
            (guild_id, paper_pk, user_id),
        )
        after = WITHDRAWN
    else:
        await conn.execute(
            "INSERT INTO member_votes (guild_id, paper_pk, user_id, vote, voted_at)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT (guild_id, paper_pk, user_id)"
            " DO UPDATE SET vote = excluded.vote, voted_at = excluded.voted_at",
            (guild_id, paper_pk, user_id, vote, at),
        )
        after = vote
    await conn.execute(
        "INSERT INTO member_vote_log (guild_id, paper_pk, user_id, vote, voted_at)"
        " VALUES (?, ?, ?, ?, ?)",
        (guild_id, paper_pk, user_id, after, at),
    )
    return after


async def vote_counts(
    db: Reader, guild_id: int, paper_pks: Sequence[int]
) -> dict[int, tuple[int, int]]:
    """(up, down) votes of the server's members per paper; papers without votes are (0, 0)."""
    counts = dict.fromkeys(paper_pks, (0, 0))
    for chunk in chunks(list(dict.fromkeys(paper_pks))):
        rows = await db.execute_fetchall(
            "SELECT paper_pk, sum(CASE WHEN vote = 1 THEN 1 ELSE 0 END),"
            " sum(CASE WHEN vote = -1 THEN 1 ELSE 0 END) FROM member_votes"
            f" WHERE guild_id = ? AND paper_pk IN ({marks(len(chunk))}) GROUP BY paper_pk",
            (guild_id, *chunk),
        )
        counts.update((pk, (up, down)) for pk, up, down in rows)
    return counts


async def vote_log(db: Reader, guild_id: int, paper_pk: int) -> list[tuple[datetime, int, int]]:
    """(voted_at, user_id, vote) of every vote change on the paper in ONE server, oldest first
    (WITHDRAWN = 0 after a withdrawal); other servers' votes are never read."""
    rows = await db.execute_fetchall(
        "SELECT voted_at, user_id, vote FROM member_vote_log"
        " WHERE guild_id = ? AND paper_pk = ? ORDER BY voted_at, rowid",
        (guild_id, paper_pk),
    )
    return [(from_iso(at), user_id, vote) for at, user_id, vote in rows]
