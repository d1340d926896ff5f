"""The digest's background work (APScheduler 3, on the bot's event loop):

- after each ingest round (bot/ingest.py polls; the digest listens): refresh the counts of live
  digests, and give posted digests a follow-up with the papers added to their day since;
- post check: every POST_CHECK_SECONDS once the bot is connected, post the digests that are due
  and resume interrupted ones (follow-ups included).

When a digest is due: a subscription is due once its local time has passed on the local day,
the newest complete day has not been posted to it (nor a newer one), and no digest of an earlier
day was posted there since that time: one digest per local day. So a channel gets the newest
day at its time, or as soon as that day is complete after it if it has had none since (Seoul,
whose 09:00 comes before the day is complete); a day that completes after the channel got its
digest of the day before (San Francisco's evening) waits for the next local time. A bot that
was down at that time posts when it comes back, once: only the newest day, never a backlog. A
subscription made after today's time gets the newest day right away.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.digest import LIVE_FOR, DigestOptions, DigestPoster
from bot.ingest import IngestReport
from storage.days import latest_complete_day
from storage.db import Store
from storage.posts import (
    FAILED,
    POSTED,
    Post,
    interrupted_posts,
    live_posts,
    posts_since,
    retry_due_follow_ups,
)
from storage.subscriptions import Subscription, all_subscriptions

log = logging.getLogger(__name__)

# Posts in flight at once; the pacer sets the request rate. discord.py holds a channel's 5th
# message until that channel's 5-second window resets, so with fewer posts in flight the slots
# fill with waiting posts and the fan-out falls below the pacer's rate (benchmarks/README_digest).
MAX_PARALLEL_CHANNELS = 100
RECENT_POSTS = timedelta(days=7)  # earlier posts a due check looks at (one digest per local day)


def today_slot(now: datetime, post_time: time, timezone: str) -> datetime:
    """When the local clock in `timezone` reads `post_time` on the local day of `now` (a time
    skipped by a DST change counts as the moment the clocks jumped)."""
    zone = ZoneInfo(timezone)
    slot = datetime.combine(now.astimezone(zone).date(), post_time, tzinfo=zone)
    return slot.astimezone(UTC)


def next_slot(now: datetime, post_time: time, timezone: str) -> datetime:
    """The first slot after `now`."""
    zone = ZoneInfo(timezone)
    local = now.astimezone(zone)
    for offset in range(3):
        slot = datetime.combine(local.date() + timedelta(days=offset), post_time, tzinfo=zone)
        if slot.astimezone(UTC) > now:
            return slot.astimezone(UTC)
    raise AssertionError("unreachable: a slot exists within two days")


class DigestJobs:
    """The post check and the digest's part of each ingest round; `post_due()` and
    `papers_ingested()` can also be called directly."""

    def __init__(
        self,
        store: Store,
        poster: DigestPoster,
        clock: Callable[[], datetime],
        *,
        writing: Callable[[str | None, date], bool] | None = None,
        grace: timedelta = timedelta(0),
    ) -> None:
        """`writing(language, day)`: whether summaries of the day in that language are still
        being written; a digest of it in that language then waits, `grace` at most past its
        time (or past the day's completion, when that came later)."""
        self.store = store
        self.poster = poster
        self.clock = clock
        self.writing = writing
        self.grace = grace
        self.check_every = timedelta(0)  # set by schedule(): how far off the next check is
        self._posting: asyncio.Task | None = None

    # -- scheduling ---------------------------------------------------------------------------

    def schedule(self, scheduler: AsyncIOScheduler, *, check_every: float) -> None:
        self.check_every = timedelta(seconds=check_every)
        scheduler.add_job(
            self._check, "interval", seconds=check_every, id="post-check",
            next_run_time=datetime.now(UTC), max_instances=1, coalesce=True,
            replace_existing=True,
        )  # fmt: skip

    async def unschedule(self, scheduler: AsyncIOScheduler) -> None:
        """Remove the job and stop (and await) a posting round in flight."""
        if scheduler.get_job("post-check"):
            scheduler.remove_job("post-check")
        task, self._posting = self._posting, None
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _check(self) -> None:
        """Start a posting round unless one is still going (a fan-out can outlast the interval)."""
        if self._posting is None or self._posting.done():
            self._posting = asyncio.create_task(self._round(), name="paperboy digest posting")

    async def _round(self) -> None:
        # Nothing is posted before the bot is connected: at start-up the first check waits
        # for it (rather than guessing how long connecting takes).
        await self.poster.client.wait_until_ready()
        try:
            await self.post_due()
        except Exception:  # e.g. the database: the next check tries again
            log.exception("the post check failed")

    # -- after each ingest round ------------------------------------------------------------------

    async def refresh_cards(self, now: datetime | None = None) -> None:
        """Edit the live digests' cards whose counts or summaries changed (after an ingest
        round, and when the summaries service has written some)."""
        try:
            edited = await self.poster.refresh(now or self.clock())
        except Exception:
            log.exception("refreshing the cards of live digests failed")
        else:
            if edited:
                log.info("updated %d digest messages", edited)

    async def days_to_poll(self, now: datetime) -> set[date]:
        """Days whose digests are still live: their counts and late papers matter."""
        return {
            post.day for post in await live_posts(self.store.reader, now - LIVE_FOR, messages=False)
        }

    async def papers_ingested(self, report: IngestReport) -> None:
        """Refresh live counts, then plan follow-ups for days settled with new papers."""
        await self.refresh_cards(report.now)
        for day, state in sorted(report.days.items()):
            if not state.settled:  # complete, and stable again after any addition
                continue
            try:
                await self.poster.add_late_papers(day, report.now)
            except Exception:  # the next round tries again; other days go on
                log.exception("planning the follow-ups of %s failed", day)

    # -- posting ---------------------------------------------------------------------------------

    async def post_due(self) -> list[Post]:
        """Post every due digest and resume every interrupted one; returns the posts touched."""
        now = self.clock()
        work = await self.due(now)
        if not work:
            return []
        log.info("posting %d digests", len(work))
        limit = asyncio.Semaphore(MAX_PARALLEL_CHANNELS)
        plans: dict = {}  # channels with the same settings share the day's plan

        async def one(sub: Subscription, day: date) -> Post | None:
            async with limit:
                try:
                    return await self.poster.post(
                        channel_id=sub.channel_id, guild_id=sub.guild_id, day=day,
                        options=DigestOptions.of(sub), now=now, plans=plans,
                    )  # fmt: skip
                except Exception:
                    log.exception(
                        "posting the digest of %s in channel %d failed", day, sub.channel_id
                    )
                    return None

        done = await asyncio.gather(*(one(sub, day) for sub, day in work))
        return [post for post in done if post is not None]

    async def due(self, now: datetime) -> list[tuple[Subscription, date]]:
        """(subscription, day) pairs to post or resume now (a few queries for every channel)."""
        db = self.store.reader
        latest = await latest_complete_day(db)
        interrupted: dict[int, date] = {}
        resumable = await interrupted_posts(db) + await retry_due_follow_ups(db, now)
        for post in resumable:  # oldest first
            interrupted.setdefault(post.channel_id, post.day)
        subs = await all_subscriptions(db)
        recent = (
            await posts_since(db, [s.channel_id for s in subs], latest[0] - RECENT_POSTS)
            if latest
            else {}
        )
        work = []
        for sub in subs:
            if self.poster.busy(sub.channel_id):
                continue
            # A post cut short (the bot stopped mid-way, or a follow-up waiting to be sent or
            # retried) is finished first, whatever its day.
            if sub.channel_id in interrupted:
                work.append((sub, interrupted[sub.channel_id]))
                continue
            day = _due_day(sub, latest, recent.get(sub.channel_id, []), now)
            if day is not None and not self._waits_for_summaries(sub, latest, now):
                work.append((sub, day))
        return work

    def _waits_for_summaries(
        self, sub: Subscription, latest: tuple[date, datetime] | None, now: datetime
    ) -> bool:
        if self.writing is None or latest is None or not self.writing(sub.language, latest[0]):
            return False
        since = max(today_slot(now, sub.post_time, sub.timezone), latest[1])
        # Wait only while the next check still comes before the grace ends: the digest goes
        # out at the last check within it, not one check late.
        return now + self.check_every < since + self.grace

    async def due_day(self, sub: Subscription, now: datetime) -> date | None:
        """The day to post to `sub` now, if any (see the module docstring)."""
        latest = await latest_complete_day(self.store.reader)
        if latest is None:
            return None
        recent = await posts_since(self.store.reader, [sub.channel_id], latest[0] - RECENT_POSTS)
        return _due_day(sub, latest, recent.get(sub.channel_id, []), now)


def _due_day(
    sub: Subscription, latest: tuple[date, datetime] | None, recent: list[Post], now: datetime
) -> date | None:
    """The newest complete day if `sub` is due for it; `recent`: the channel's posts of the
    RECENT_POSTS days before that day and later."""
    slot = today_slot(now, sub.post_time, sub.timezone)
    if latest is None or now < slot:
        return None
    day = latest[0]
    for post in recent:
        if post.day < day and post.state == POSTED and post.started_at and post.started_at >= slot:
            return None  # today's time went to the day before: this one waits for the next
        if post.day > day and post.state == POSTED:
            return None  # a newer day was posted already (e.g. by /digest post)
        if post.day == day:
            if post.state == POSTED:
                return None
            if post.state == FAILED:  # transient: after its backoff; else a new local day
                if post.retry_at is not None:
                    return day if post.retry_at <= now else None
                return day if post.finished_at is None or slot > post.finished_at else None
    return day
