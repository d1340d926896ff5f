"""The ingest job: the one place that polls Hugging Face's Daily Papers.

Every INGEST_INTERVAL_SECONDS (and right after start-up) it polls the lists of today and
yesterday (UTC) and of the days its listeners still watch, stores papers and vote snapshots,
records each poll for the completeness rule (storage/days.py), then awaits every listener with
an IngestReport: "a day's papers arrived". The digest listens (late papers, live counts);
summaries and follows can listen the same way. Nothing else polls.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Protocol

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.models import DailyList
from bot.sources import NotFound, SourceError
from bot.sources.huggingface import HuggingFaceClient
from storage.days import DayState, listed_keys, record_failed_poll, record_poll
from storage.db import Store
from storage.papers import paper_key, save_daily_list

log = logging.getLogger(__name__)

JOB_ID = "ingest"


@dataclass(frozen=True, slots=True)
class IngestReport:
    """What one ingest round found."""

    now: datetime
    days: dict[date, DayState] = field(default_factory=dict)  # polled successfully
    added: dict[date, list[str]] = field(default_factory=dict)  # ids new to each day's list
    failed: list[date] = field(default_factory=list)  # polls that failed


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

    def schedule(self, scheduler: AsyncIOScheduler, *, every: float) -> None:
        scheduler.add_job(
            self.run, "interval", seconds=every, id=JOB_ID, next_run_time=datetime.now(UTC),
            max_instances=1, coalesce=True, replace_existing=True,
        )  # fmt: skip

    async def run(self) -> IngestReport:
        """Poll today's and yesterday's lists (UTC) and the listeners' days, then tell them."""
        now = self.clock()
        today = now.astimezone(UTC).date()
        days = {today, today - timedelta(days=1)}
        for listener in self.listeners:
            days |= await listener.days_to_poll(now)
        report = IngestReport(now)
        for day in sorted(days):
            await self.poll(day, report)
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
            report.failed.append(day)
            return
        async with self.store.write() as conn:
            before = await listed_keys(conn, day)
            await save_daily_list(conn, daily, now)
            state = await record_poll(conn, day, [p.id for p in daily.papers], now)
        report.days[day] = state
        report.added[day] = [p.id for p in daily.papers if paper_key(p.id) not in before]
        if state.complete_at == now:
            log.info("Daily Papers of %s are complete: %d papers", day, state.papers)
