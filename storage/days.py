"""Which Daily Papers days are complete: what the ingest job saw at each poll (day_polls).

Hugging Face's list of day D keeps growing after D ends in UTC (their day ends in US time, and
papers are still added the next morning), and an answer can be empty or short while it does.
So D is complete at the first successful poll where:

- D is over in UTC (polls before 00:00 UTC of D + 1 don't count: the list is still growing);
- this poll and the STABLE_POLLS - 1 before it returned the same papers, with no failed poll
  between them (a failed poll breaks the streak);
- the list is not empty, unless D is a Saturday or Sunday on which no poll ever found a paper;
- the list is not smaller than the largest one any poll of D returned (a list that shrank is a
  partial answer) — unless D ended more than SHRUNK_AFTER ago: then a shrunk list that stays the
  same for the streak is taken as Hugging Face's final word, so the day is still posted (before
  the next day completes).

A complete day stays complete. Papers added to it later are posted by the digest as follow-ups
(bot/digest.py); it sends them when the day is *settled* again: the same stable streak, on a
list that grew.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from storage.interface import Reader, Writer
from storage.votes import from_iso, to_iso

STABLE_POLLS = 2  # consecutive polls after the day's end that must agree
# After the day's end, a stable shrunk list counts: within 12 hours, so that the day completes
# (and is posted) before the next day does.
SHRUNK_AFTER = timedelta(hours=12)
WEEKEND = (5, 6)  # date.weekday() of Saturday and Sunday: Daily Papers may be empty then


def day_end(day: date) -> datetime:
    """When `day` is over in UTC (the next day at 00:00 UTC)."""
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=UTC)


def paper_set_hash(paper_ids: Iterable[str]) -> str:
    return hashlib.sha256("\n".join(sorted(set(paper_ids))).encode()).hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class DayState:
    day: date
    papers: int  # in the last successful poll
    stable_polls: int
    polled_at: datetime
    complete_at: datetime | None
    settled: bool = False  # the last poll qualifies to complete the day (see the docstring)


def _counts(day: date, papers: int, most: int, now: datetime) -> bool:
    """Whether a poll returning `papers` papers (`most`: the most any poll of `day` returned,
    this one included) may complete the day, given a stable streak."""
    if papers == 0:
        return most == 0 and day.weekday() in WEEKEND
    return papers >= most or now >= day_end(day) + SHRUNK_AFTER


async def record_poll(conn: Writer, day: date, paper_ids: list[str], now: datetime) -> DayState:
    """Record a successful poll of `day`'s list (inside the caller's write transaction) and
    complete the day when the rules of the module docstring say so."""
    digest = paper_set_hash(paper_ids)
    papers = len(set(paper_ids))
    rows = await conn.execute_fetchall(
        "SELECT paper_set, stable_polls, complete_at, most_papers FROM day_polls WHERE day = ?",
        (day.isoformat(),),
    )
    previous_set, previous_streak, complete_at, most = rows[0] if rows else (None, 0, None, 0)
    most = max(most, papers)
    if now < day_end(day):
        streak = 0
    elif digest == previous_set:
        streak = previous_streak + 1
    else:
        streak = 1
    settled = streak >= STABLE_POLLS and _counts(day, papers, most, now)
    if complete_at is None and settled:
        complete_at = to_iso(now)
    await conn.execute(
        "INSERT INTO day_polls"
        " (day, paper_set, papers, stable_polls, polled_at, complete_at, most_papers)"
        " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (day) DO UPDATE SET"
        " paper_set = excluded.paper_set, papers = excluded.papers,"
        " stable_polls = excluded.stable_polls, polled_at = excluded.polled_at,"
        " complete_at = excluded.complete_at, most_papers = excluded.most_papers",
        (day.isoformat(), digest, papers, streak, to_iso(now), complete_at, most),
    )
    return DayState(day, papers, streak, now, from_iso(complete_at), settled)


async def record_failed_poll(conn: Writer, day: date) -> None:
    """A poll that failed breaks the streak: the next good poll can't confirm the last one."""
    await conn.execute("UPDATE day_polls SET stable_polls = 0 WHERE day = ?", (day.isoformat(),))


async def latest_complete_day(db: Reader) -> tuple[date, datetime] | None:
    """(day, when it became complete) of the newest complete day, or None."""
    rows = await db.execute_fetchall(
        "SELECT day, complete_at FROM day_polls WHERE complete_at IS NOT NULL"
        " ORDER BY day DESC LIMIT 1"
    )
    if not rows:
        return None
    day, complete_at = rows[0]
    return date.fromisoformat(day), from_iso(complete_at)


async def is_complete(db: Reader, day: date) -> bool:
    rows = await db.execute_fetchall(
        "SELECT 1 FROM day_polls WHERE day = ? AND complete_at IS NOT NULL", (day.isoformat(),)
    )
    return bool(rows)


async def incomplete_days(db: Reader, *, since: date) -> set[date]:
    """Days from `since` on that were polled but are not complete yet."""
    rows = await db.execute_fetchall(
        "SELECT day FROM day_polls WHERE day >= ? AND complete_at IS NULL", (since.isoformat(),)
    )
    return {date.fromisoformat(day) for (day,) in rows}
