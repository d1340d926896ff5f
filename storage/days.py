"""Which Daily Papers days are complete: what the ingest job saw at each poll (day_polls)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import aiosqlite

from storage.votes import from_iso, to_iso

STABLE_POLLS = 2  # consecutive polls after the day's end that must agree


def day_end(day: date) -> datetime:
    """When `day` is over in UTC (the next day at 00:00 UTC)."""
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=UTC)


def paper_set_hash(paper_ids: Iterable[str]) -> str:
    return hashlib.sha256("\n".join(sorted(set(paper_ids))).encode()).hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class DayState:
    day: date
    papers: int
    stable_polls: int
    polled_at: datetime
    complete_at: datetime | None


async def record_poll(
    conn: aiosqlite.Connection, day: date, paper_ids: list[str], now: datetime
) -> DayState:
    """Record a successful poll of `day`'s list (inside the caller's write transaction).

    Polls before the day is over don't count towards completeness (the list is still growing);
    after it, a poll returning the same set as the previous one adds to the streak and a
    different set restarts it. A complete day stays complete.
    """
    digest = paper_set_hash(paper_ids)
    rows = await conn.execute_fetchall(
        "SELECT paper_set, stable_polls, complete_at FROM day_polls WHERE day = ?",
        (day.isoformat(),),
    )
    previous_set, previous_streak, complete_at = rows[0] if rows else (None, 0, None)
    if now < day_end(day):
        streak = 0
    elif digest == previous_set:
        streak = previous_streak + 1
    else:
        streak = 1
    if complete_at is None and streak >= STABLE_POLLS:
        complete_at = to_iso(now)
    await conn.execute(
        "INSERT INTO day_polls (day, paper_set, papers, stable_polls, polled_at, complete_at)"
        " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (day) DO UPDATE SET"
        " paper_set = excluded.paper_set, papers = excluded.papers,"
        " stable_polls = excluded.stable_polls, polled_at = excluded.polled_at,"
        " complete_at = excluded.complete_at",
        (day.isoformat(), digest, len(set(paper_ids)), streak, to_iso(now), complete_at),
    )
    return DayState(day, len(set(paper_ids)), streak, now, from_iso(complete_at))


async def record_failed_poll(conn: aiosqlite.Connection, day: date) -> None:
    """A poll that failed breaks the streak: the next good poll can't confirm the last one."""
    await conn.execute("UPDATE day_polls SET stable_polls = 0 WHERE day = ?", (day.isoformat(),))


async def latest_complete_day(db: aiosqlite.Connection) -> tuple[date, datetime] | None:
    """(day, when it became complete) of the newest complete day, or None."""
    rows = await db.execute_fetchall(
        "SELECT day, complete_at FROM day_polls WHERE complete_at IS NOT NULL"
        " ORDER BY day DESC LIMIT 1"
    )
    if not rows:
        return None
    day, complete_at = rows[0]
    return date.fromisoformat(day), from_iso(complete_at)
