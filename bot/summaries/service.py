"""Summaries made ahead of the digest: an ingest listener that writes, in the background, the
bullets that subscribed channels will post, in their languages, and stores them.

After every ingest round, for each day of the round that is complete and less than
``RECENT`` old, the service plans the (paper, language) pairs some subscribed channel will
post (its ``top`` / ``min_votes``, its ``language``; a channel taking any language needs
nothing), once whatever the number of channels; drops the pairs stored for the current source
(``storage.summaries.model_source``) or attempted by it today (UTC); and runs the rest in a
task of its own, at most ``concurrency`` at a time. A summary is stored; a fallback is not,
only recorded as an attempt, so it is not asked for again that day. The digest's refresh after
each round re-renders the posted cards from the store, so a summary that arrives after its
digest was posted is edited into the cards at the next round.

"Could not connect to the model" is not an answer about the paper: it is not recorded, and
the rest of the run is left for the next round (the model is down; asking every paper now
would only spend the budget).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from bot.digest import DigestOptions, select_papers
from bot.models import Paper
from storage.papers import paper_key, papers_on_day
from storage.subscriptions import Subscription, all_subscriptions
from storage.summaries import (
    HF_SOURCE,
    attempted,
    model_source,
    record_attempt,
    save_summary,
    utc_day,
)

if TYPE_CHECKING:
    import aiosqlite

    from bot.ingest import IngestReport
    from bot.summaries.providers import SummaryProvider, SummaryResult
    from storage.db import Store

log = logging.getLogger(__name__)

RECENT = timedelta(days=3)  # complete days younger than this get summaries
UNREACHABLE = "could not connect to the model"  # OpenAIProvider's reason; not recorded


def provider_source(provider: SummaryProvider) -> str | None:
    """The summaries' source the provider writes, or None when it writes nothing to store
    (``abstract``: cards show the abstract's sentences without it)."""
    name = getattr(provider, "name", "abstract")
    if name == "hf":
        return HF_SOURCE
    if name == "openai":
        from bot.summaries.prompt import PROMPT_VERSION

        return model_source(getattr(provider, "model", "") or "model", PROMPT_VERSION)
    return None


def _language_key(language: str) -> str:
    return language.strip().casefold()


def plan_pairs(
    days: dict[date, Sequence[Paper]],
    subscriptions: Iterable[Subscription],
    provider_name: str,
) -> list[tuple[Paper, str]]:
    """(paper, language) pairs some channel will post, once each, by day, rank and language.

    `days`: each day's papers in digest order. A channel taking any language (None) needs no
    summary; ``abstract`` writes none; ``hf`` writes English only."""
    if provider_name == "abstract":
        return []
    wanted: dict[tuple[int | None, int], set[str]] = {}  # filters -> languages
    for sub in subscriptions:
        if sub.language is None:
            continue
        language = _language_key(sub.language)
        if provider_name == "hf" and language.split("-")[0] != "en":
            continue
        wanted.setdefault((sub.top, sub.min_votes), set()).add(language)
    pairs: dict[tuple[str, str], tuple[int, int, str, Paper]] = {}
    for day_index, (_, papers) in enumerate(sorted(days.items(), reverse=True)):
        for (top, min_votes), languages in wanted.items():
            options = DigestOptions(top=top, min_votes=min_votes)
            for rank, paper in enumerate(select_papers(papers, options)):
                for language in languages:
                    key = (paper.id, language)
                    order = (day_index, rank, language, paper)
                    if key not in pairs or order[:3] < pairs[key][:3]:
                        pairs[key] = order
    ranked = sorted(pairs.values(), key=lambda item: item[:3])
    return [(paper, language) for _, _, language, paper in ranked]


@dataclass(slots=True)
class SortedPairs:
    """Pairs split by what is stored: `todo` to ask for, `cached` (stored for the source),
    `tried` (fell back with the source during the UTC day), each in the order given."""

    todo: list[tuple[Paper, str]]
    cached: list[tuple[Paper, str]]
    tried: list[tuple[Paper, str]]


async def sort_pairs(
    db: aiosqlite.Connection, pairs: Sequence[tuple[Paper, str]], source: str, day: date
) -> SortedPairs:
    """Split (paper, language) pairs into those stored for `source` (the papers' `summaries`
    say), those `source` fell back on during UTC `day`, and the rest, still to write.

    Languages are compared as ``plan_pairs`` writes them (stripped, case-folded)."""
    tried_keys = await attempted(db, {paper_key(p.id) for p, _ in pairs}, source, day)
    found = SortedPairs([], [], [])
    for paper, language in pairs:
        key = _language_key(language)
        if any(s.source == source and _language_key(s.language) == key for s in paper.summaries):
            found.cached.append((paper, language))
        elif (paper_key(paper.id), key) in tried_keys:
            found.tried.append((paper, language))
        else:
            found.todo.append((paper, language))
    return found


async def summarize_and_store(
    store: Store,
    provider: SummaryProvider,
    source: str,
    paper: Paper,
    language: str,
    bullets: int,
    clock: Callable[[], datetime],
) -> SummaryResult:
    """Ask `provider` for the summary of `paper` in `language` and store what it gives: a
    summary under `source`, or, for a fallback, the attempt (so it is not asked for again
    that UTC day). An unreachable model (``UNREACHABLE``) is returned and not recorded."""
    result: SummaryResult = await provider.summarize(paper, language, bullets)
    if result.fallback_reason == UNREACHABLE:
        return result
    now = clock()
    pk = paper_key(paper.id)
    async with store.write() as conn:
        if result.is_fallback:
            await record_attempt(conn, pk, language, source, now, result.fallback_reason or "")
        else:
            await save_summary(conn, pk, language, source, result.bullets, now)
    return result


@dataclass(slots=True)
class RunStats:
    """What the service did since it started (the tests and the log read it)."""

    stored: int = 0
    fell_back: int = 0
    unreachable: int = 0
    calls: int = 0


class SummaryService:
    """The ingest listener that makes the summaries; `stop()` ends its work (the bot's close)."""

    def __init__(
        self,
        store: Store,
        provider: SummaryProvider,
        clock: Callable[[], datetime],
        *,
        bullets: int = 5,
        concurrency: int = 2,
    ) -> None:
        self.store = store
        self.provider = provider
        self.clock = clock
        self.bullets = bullets
        self.concurrency = max(1, concurrency)
        self.source = provider_source(provider)
        self.stats = RunStats()
        self._queue: list[tuple[Paper, str]] = []
        self._pending: set[tuple[str, str]] = set()  # queued or being written
        # Awaited after each batch is written: the digest edits its posted cards then, rather
        # than at the next ingest round (cogs/digest.py adds itself).
        self.after_batch: list[Callable[[], Awaitable[None]]] = []
        self._task: asyncio.Task | None = None

    # -- the ingest listener ------------------------------------------------------------------

    async def days_to_poll(self, now: datetime) -> set[date]:
        return set()

    def writing(self, language: str | None) -> bool:
        """Whether summaries in `language` are queued or being written (a digest in that
        language may wait for them, SUMMARY_GRACE_MINUTES at most)."""
        if language is None:
            return False
        wanted = _language_key(language)
        return any(pending == wanted for _, pending in self._pending)

    async def papers_ingested(self, report: IngestReport) -> None:
        """Plan the round's summaries and start writing them (returns before they are done)."""
        if self.source is None:
            return
        pairs = await self.plan(report)
        if not pairs:
            return
        self._queue += pairs
        self._pending |= {(paper.id, language) for paper, language in pairs}
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._work(), name="paperboy summaries")

    async def plan(self, report: IngestReport) -> list[tuple[Paper, str]]:
        """The pairs of the report's recent complete days still to write."""
        if self.source is None:
            return []
        today = utc_day(report.now)
        days = [
            day
            for day, state in report.days.items()
            if state.complete_at is not None and today - day < RECENT
        ]
        if not days:
            return []
        db = self.store.reader
        subs = await all_subscriptions(db)
        if not any(sub.language for sub in subs):
            return []
        listed = {day: await papers_on_day(db, day) for day in days}
        pairs = plan_pairs(listed, subs, self.provider.name)
        todo = (await sort_pairs(db, pairs, self.source, today)).todo
        return [
            (paper, language)
            for paper, language in todo
            if (paper.id, language) not in self._pending
        ]

    # -- the work -------------------------------------------------------------------------------

    async def idle(self) -> None:
        """Wait until the queued summaries are written (or given up on)."""
        while self._task is not None and not self._task.done():
            await asyncio.shield(self._task)

    async def stop(self) -> None:
        """Cancel the work in flight and wait for it (the bot's close, before the store closes)."""
        task, self._task = self._task, None
        self._queue.clear()
        self._pending.clear()
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _work(self) -> None:
        while self._queue:
            batch, self._queue = self._queue, []
            down = asyncio.Event()
            limit = asyncio.Semaphore(self.concurrency)

            async def one(paper: Paper, language: str, down=down, limit=limit) -> None:
                async with limit:
                    if not down.is_set():
                        await self._write(paper, language, down)

            try:
                results = await asyncio.gather(
                    *(one(paper, language) for paper, language in batch), return_exceptions=True
                )
            finally:
                self._pending -= {(paper.id, language) for paper, language in batch}
            for result in results:
                if isinstance(result, Exception):
                    log.error("writing a summary failed", exc_info=result)
            for listener in self.after_batch:
                try:
                    await listener()
                except Exception:
                    log.exception("a listener of the summaries failed")
            if down.is_set():
                self._queue.clear()  # the next round plans them again
                self._pending.clear()
                log.warning("the summary model cannot be reached; trying again next round")

    async def _write(self, paper: Paper, language: str, down: asyncio.Event) -> None:
        source = self.source
        assert source is not None
        result = await summarize_and_store(
            self.store, self.provider, source, paper, language, self.bullets, self.clock
        )
        self.stats.calls += result.calls
        if result.fallback_reason == UNREACHABLE:
            self.stats.unreachable += 1
            down.set()
            return
        if result.is_fallback:
            self.stats.fell_back += 1
        else:
            self.stats.stored += 1
            log.info("summary of %s in %s stored (%s)", paper.id, language, source)
