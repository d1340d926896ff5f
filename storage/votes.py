"""Vote history: Hugging Face upvote snapshots (append-only, one row per change)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import overload

from storage.interface import Reader, Writer
from storage.sql import chunks, marks


def to_iso(moment: datetime) -> str:
    """UTC timestamp text that sorts chronologically ("2024-01-17T23:59:59.999999Z")."""
    moment = moment.astimezone(UTC)
    if moment.year < 1000:  # isoformat() would agree, but strftime pads years everywhere
        return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    # isoformat(): the same text as strftime for these years, 5x faster (ingest calls it a lot)
    return moment.replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


@overload
def from_iso(text: str) -> datetime: ...
@overload
def from_iso(text: None) -> None: ...
@overload
def from_iso(text: str | None) -> datetime | None: ...
def from_iso(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text.replace("Z", "+00:00")) if text else None


async def record_upvotes(
    conn: Writer,
    counts: Sequence[tuple[int, int]],
    observed_at: datetime,
) -> int:
    """Store (paper_pk, upvotes) seen at `observed_at`; return how many snapshot rows were added.

    A row is added only when the count differs from the snapshot in force at that moment, so
    polling an unchanged list adds nothing. The paper's current count follows the newest
    observation, even when an older digest is imported later.
    """
    if not counts:
        return 0
    at = to_iso(observed_at)
    previous: dict[int, int] = {}
    for chunk in chunks([pk for pk, _ in counts]):
        rows = await conn.execute_fetchall(
            "SELECT v.paper_pk, v.upvotes FROM vote_snapshots v"
            f" WHERE v.paper_pk IN ({marks(len(chunk))}) AND v.observed_at = ("
            "  SELECT max(observed_at) FROM vote_snapshots"
            "  WHERE paper_pk = v.paper_pk AND observed_at <= ?)",
            (*chunk, at),
        )
        previous.update(rows)
    changed = [(pk, at, upvotes) for pk, upvotes in counts if previous.get(pk) != upvotes]
    # A snapshot already stored at that very moment (with another count) is kept.
    taken: set[int] = set()
    for chunk in chunks([pk for pk, _, _ in changed]):
        rows = await conn.execute_fetchall(
            "SELECT paper_pk FROM vote_snapshots"
            f" WHERE observed_at = ? AND paper_pk IN ({marks(len(chunk))})",
            (at, *chunk),
        )
        taken.update(pk for (pk,) in rows)
    added_rows = [row for row in changed if row[0] not in taken]
    if added_rows:
        await conn.executemany(
            "INSERT INTO vote_snapshots (paper_pk, observed_at, upvotes) VALUES (?, ?, ?)",
            added_rows,
        )
    added = len(added_rows)
    # A back-filled observation (an older digest imported late) can make the next snapshot a
    # repeat: the change is now known to have happened earlier, so that row goes.
    await conn.executemany(
        "DELETE FROM vote_snapshots WHERE paper_pk = ?1 AND upvotes = ?3 AND observed_at = ("
        " SELECT min(observed_at) FROM vote_snapshots WHERE paper_pk = ?1 AND observed_at > ?2)"
        # only when this count was stored at ?2 (a snapshot stored there before is kept)
        " AND EXISTS (SELECT 1 FROM vote_snapshots"
        "  WHERE paper_pk = ?1 AND observed_at = ?2 AND upvotes = ?3)",
        changed,
    )
    await conn.executemany(
        "UPDATE papers SET upvotes = ?, upvotes_at = ?"
        " WHERE pk = ? AND (upvotes_at IS NULL OR upvotes_at <= ?)"
        " AND upvotes_at IS DISTINCT FROM ?",
        [(upvotes, at, pk, at, at) for pk, upvotes in counts],
    )
    return added


async def upvote_history(db: Reader, paper_pk: int) -> list[tuple[datetime, int]]:
    """(observed_at, upvotes) of every change, oldest first."""
    rows = await db.execute_fetchall(
        "SELECT observed_at, upvotes FROM vote_snapshots WHERE paper_pk = ? ORDER BY observed_at",
        (paper_pk,),
    )
    return [(from_iso(at), n) for at, n in rows]


async def trending(
    db: Reader, since: datetime, *, limit: int = 10, offset: int = 0
) -> list[tuple[int, int]]:
    """(paper_pk, gain) of the papers whose upvotes grew most since `since`, biggest first.

    The gain is the current count minus the count in force at `since`; for a paper first seen
    after `since`, minus its first observed count (its earlier history is unknown, and an old
    paper merely looked up today has gained nothing).
    """
    at = to_iso(since)
    rows = await db.execute_fetchall(
        "SELECT pk, gain FROM (SELECT p.pk, p.upvotes, p.upvotes - coalesce("
        "   (SELECT v.upvotes FROM vote_snapshots v WHERE v.paper_pk = p.pk"
        "     AND v.observed_at <= ?1 ORDER BY v.observed_at DESC LIMIT 1),"
        "   (SELECT v.upvotes FROM vote_snapshots v WHERE v.paper_pk = p.pk"
        "     ORDER BY v.observed_at LIMIT 1)) AS gain"
        " FROM papers p WHERE p.pk IN"
        "  (SELECT DISTINCT paper_pk FROM vote_snapshots WHERE observed_at > ?1)) AS grown"
        " WHERE gain > 0 ORDER BY gain DESC, upvotes DESC NULLS LAST, pk DESC LIMIT ?2 OFFSET ?3",
        (at, limit, offset),
    )
    return [(pk, gain) for pk, gain in rows]


async def upvote_history_since(
    db: Reader, paper_pk: int, since: datetime
) -> list[tuple[datetime, int]]:
    """(observed_at, upvotes) from `since` on, oldest first: the snapshot in force at `since`
    (observed then or earlier; absent when the history starts later), then every change."""
    at = to_iso(since)
    rows = await db.execute_fetchall(
        "SELECT observed_at, upvotes FROM ("
        "  SELECT observed_at, upvotes FROM vote_snapshots WHERE paper_pk = ?1"
        "  AND observed_at <= ?2 ORDER BY observed_at DESC LIMIT 1) AS earlier"
        " UNION ALL"
        " SELECT observed_at, upvotes FROM vote_snapshots WHERE paper_pk = ?1 AND observed_at > ?2"
        " ORDER BY observed_at",
        (paper_pk, at),
    )
    return [(from_iso(at), n) for at, n in rows]
