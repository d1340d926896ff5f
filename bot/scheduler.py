"""Background jobs of the running bot (APScheduler 3, on the bot's event loop):

- ingest: poll the Hugging Face list of today and yesterday (UTC), and of days whose digest is
  still live, right after start-up and every INGEST_INTERVAL_SECONDS; store papers and vote
  snapshots; note when a day is complete (storage/days.py); then refresh live digests' counts.
- post check: every POST_CHECK_SECONDS, post the digests that are due and resume interrupted ones.

When a digest is due: a subscription is due once its local time has passed on the local day and
the newest complete day has not been posted to it (nor a newer one). So a channel gets the newest
day at its time, or as soon as that day is complete after it; a bot that was down at that time
posts when it comes back, once: only the newest day, never a backlog. A subscription made after
today's time gets the newest day right away.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.digest import LIVE_FOR, DigestOptions, DigestPoster
from bot.models import DailyList
from bot.sources import NotFound, SourceError
from bot.sources.huggingface import HuggingFaceClient
from storage.days import latest_complete_day, record_failed_poll, record_poll
from storage.db import Store
from storage.papers import save_daily_list
from storage.posts import FAILED, POSTED, Post, interrupted_posts, live_posts, posts_since
from storage.subscriptions import Subscription, all_subscriptions

log = logging.getLogger(__name__)

# Posts in flight at once; the pacer sets the request rate. discord.py holds a channel's 5th
# message until that channel's 5-second window resets, so with fewer posts in flight the slots
# fill with waiting posts and the fan-out falls below the pacer's rate (benchmarks/README_digest).
MAX_PARALLEL_CHANNELS = 100


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
    """The ingest and posting jobs; `ingest()` and `post_due()` can also be called directly."""

    def __init__(
        self,
        store: Store,
        huggingface: HuggingFaceClient,
        poster: DigestPoster,
        clock: Callable[[], datetime],
    ) -> None:
        self.store = store
        self.huggingface = huggingface
        self.poster = poster
        self.clock = clock
        self._posting: asyncio.Task | None = None
        self.ingest_runs = 0  # completed ingest rounds (start-up logs and tests wait on it)

    # -- scheduling ---------------------------------------------------------------------------

    def schedule(self, scheduler: AsyncIOScheduler, *, ingest_every: float, check_every: float):
        start = datetime.now(UTC)
        scheduler.add_job(
            self.ingest, "interval", seconds=ingest_every, id="ingest", next_run_time=start,
            max_instances=1, coalesce=True, replace_existing=True,
        )  # fmt: skip
        scheduler.add_job(
            self._check, "interval", seconds=check_every, id="post-check",
            next_run_time=start + timedelta(seconds=min(check_every, 5)),
            max_instances=1, coalesce=True, replace_existing=True,
        )  # fmt: skip

    def unschedule(self, scheduler: AsyncIOScheduler) -> None:
        for job_id in ("ingest", "post-check"):
            if scheduler.get_job(job_id):
                scheduler.remove_job(job_id)
        if self._posting and not self._posting.done():
            self._posting.cancel()

    async def _check(self) -> None:
        """Start a posting round unless one is still going (a fan-out can outlast the interval)."""
        if self._posting is None or self._posting.done():
            self._posting = asyncio.create_task(self.post_due(), name="digest posting")

    # -- ingest ---------------------------------------------------------------------------------

    async def ingest(self) -> None:
        """Poll today's and yesterday's lists (UTC) and those of live digests, then refresh."""
        now = self.clock()
        today = now.astimezone(UTC).date()
        days = {today, today - timedelta(days=1)}
        live = await live_posts(self.store.reader, now - LIVE_FOR, messages=False)
        days |= {post.day for post in live}
        for day in sorted(days):
            await self.poll(day, now)
        try:
            edited = await self.poster.refresh(now)
        except Exception:
            log.exception("refreshing the counts of live digests failed")
        else:
            if edited:
                log.info("updated the counts on %d digest messages", edited)
        self.ingest_runs += 1

    async def poll(self, day: date, now: datetime) -> None:
        """Fetch and store one day's list; a failure is logged and breaks its streak."""
        try:
            daily = await self.huggingface.daily_papers(day)
        except NotFound:
            daily = DailyList(day, [])  # no list for that day (yet): same as an empty one
        except SourceError as exc:
            log.warning("Daily Papers of %s not polled: %s; the day is not complete yet", day, exc)
            async with self.store.write() as conn:
                await record_failed_poll(conn, day)
            return
        async with self.store.write() as conn:
            await save_daily_list(conn, daily, now)
            state = await record_poll(conn, day, [p.id for p in daily.papers], now)
        if state.complete_at == now:
            log.info("Daily Papers of %s are complete: %d papers", day, state.papers)

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
        for post in await interrupted_posts(db):  # oldest first
            interrupted.setdefault(post.channel_id, post.day)
        subs = await all_subscriptions(db)
        recent = await posts_since(db, [s.channel_id for s in subs], latest[0]) if latest else {}
        work = []
        for sub in subs:
            if self.poster.busy(sub.channel_id):
                continue
            # A post cut short (the bot stopped mid-way) is finished first, whatever its day.
            day = interrupted.get(sub.channel_id) or _due_day(
                sub, latest, recent.get(sub.channel_id, []), now
            )
            if day is not None:
                work.append((sub, day))
        return work

    async def due_day(self, sub: Subscription, now: datetime) -> date | None:
        """The day to post to `sub` now, if any (see the module docstring)."""
        latest = await latest_complete_day(self.store.reader)
        if latest is None:
            return None
        recent = await posts_since(self.store.reader, [sub.channel_id], latest[0])
        return _due_day(sub, latest, recent.get(sub.channel_id, []), now)


def _due_day(
    sub: Subscription, latest: tuple[date, datetime] | None, recent: list[Post], now: datetime
) -> date | None:
    """The newest complete day if `sub` is due for it; `recent`: the channel's posts of that day
    and later."""
    slot = today_slot(now, sub.post_time, sub.timezone)
    if latest is None or now < slot:
        return None
    day = latest[0]
    for post in recent:
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
