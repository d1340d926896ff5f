"""The ingest job: the one place that polls Hugging Face's Daily Papers.

Every INGEST_INTERVAL_SECONDS (and right after start-up) it polls the lists of today and
yesterday (UTC), of recent days that are not complete yet, and of the days its listeners still
watch; stores papers and vote snapshots; records each poll for the completeness rule
(storage/days.py); then awaits every listener with an IngestReport: "a day's papers arrived".
The digest listens (late papers, live counts); summaries and follows can listen the same way.
Nothing else polls.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Protocol

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.models import DailyList
from bot.sources import NotFound, SourceError
from bot.sources.huggingface import HuggingFaceClient
from storage.days import DayState, incomplete_days, record_failed_poll, record_poll
from storage.db import Store
from storage.papers import save_daily_list

log = logging.getLogger(__name__)

JOB_ID = "ingest"
RECENT = timedelta(days=3)  # an incomplete day is polled until it is this old


@dataclass(frozen=True, slots=True)
class IngestReport:
    """What one ingest round found."""

    now: datetime
    days: dict[date, DayState] = field(default_factory=dict)  # polled successfully, as they stand


class IngestListener(Protocol):
    async def days_to_poll(self, now: datetime) -> set[date]:
        """Days besides today and yesterday whose lists the listener still needs."""
        ...

    async def papers_ingested(self, report: IngestReport) -> None:
        """Called after every round, in the order listeners were added."""
        ...


class Ingest:
    """Polls, stores, records completeness, tells the listeners. `run()` is one round."""

    def __init__(
        self, store: Store, huggingface: HuggingFaceClient, clock: Callable[[], datetime]
    ) -> None:
        self.store = store
        self.huggingface = huggingface
        self.clock = clock
        self.listeners: list[IngestListener] = []
        self.runs = 0  # completed rounds (start-up logs and tests wait on it)
        self._task: asyncio.Task | None = None

    def schedule(self, scheduler: AsyncIOScheduler, *, every: float) -> None:
        scheduler.add_job(
            self._tick, "interval", seconds=every, id=JOB_ID, next_run_time=datetime.now(UTC),
            max_instances=1, coalesce=True, replace_existing=True,
        )  # fmt: skip

    async def _tick(self) -> None:
        """A round as a task of our own (not the scheduler's), so that `stop()` can end it."""
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self.run(), name="paperboy ingest")

    async def stop(self) -> None:
        """Cancel a round in flight and wait for it (the bot's close, before the store closes)."""
        task, self._task = self._task, None
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def run(self) -> IngestReport:
        """Poll today's and yesterday's lists (UTC), recent incomplete days and the listeners'
        days, then tell the listeners."""
        now = self.clock()
        today = now.astimezone(UTC).date()
        days = {today, today - timedelta(days=1)}
        days |= await incomplete_days(self.store.reader, since=today - RECENT)
        for listener in self.listeners:
            days |= await listener.days_to_poll(now)
        report = IngestReport(now)
        for day in sorted(days):
            try:
                await self.poll(day, report)
            except Exception:  # e.g. the database stayed locked: the other days still run
                log.exception("polling Daily Papers of %s failed", day)
        for listener in self.listeners:
            try:
                await listener.papers_ingested(report)
            except Exception:
                log.exception("%s failed after an ingest round", type(listener).__name__)
        self.runs += 1
        return report

    async def poll(self, day: date, report: IngestReport) -> None:
        """Fetch and store one day's list; a failure is logged and breaks its streak."""
        now = report.now
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
        report.days[day] = state
        if state.complete_at == now:
            log.info("Daily Papers of %s are complete: %d papers", day, state.papers)
