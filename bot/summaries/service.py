"""Summaries made ahead of the digest: an ingest listener that writes, in the background, the
bullets that subscribed channels will post, in their languages, and stores them.

After every ingest round, for each day of the round less than ``RECENT`` old, complete or
still being listed, the service plans the (paper, language) pairs some subscribed channel will
post (its ``top`` / ``min_votes`` over the list as it stands, its ``language``; a channel
taking any language needs nothing), once whatever the number of channels; drops the pairs
stored for the current source (``storage.summaries.model_source``) or attempted by it today
(UTC); and queues the rest, complete days first, for ``concurrency`` workers. Writing while a
day is still listed is what gives a slow model the hours before the post instead of the
minutes of the grace. A summary is stored; a fallback is not, only recorded as an attempt,
so it is not asked for again that day. The listeners of
``after_written`` (the digest, which edits its posted cards) are told of what complete days
and members' clicks got, every ``NOTIFY_EVERY`` seconds while summaries are written, and when
the work ends.

"Could not connect to the model" is not an answer about the paper: it is not recorded, and
the rest of the run is left for the next round (the model is down; asking every paper now
would only spend the budget).
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from bot.digest import DigestOptions, Writer, select_papers
from bot.models import Paper
from storage.interface import Reader
from storage.papers import get_paper, paper_key, papers_on_day
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
    from bot.ingest import IngestReport
    from bot.summaries.providers import SummaryProvider, SummaryResult
    from storage.db import Store

log = logging.getLogger(__name__)

RECENT = timedelta(days=3)  # days younger than this get summaries, complete or still listed
UNREACHABLE = "could not connect to the model"  # OpenAIProvider's reason; not recorded
NOTIFY_EVERY = 30.0  # seconds: how often posted cards are told of new summaries during a run


def provider_source(provider: SummaryProvider) -> str | None:
    """The summaries' source the provider writes, or None when it writes nothing to store
    (``abstract``: cards show the abstract's sentences without it)."""
    name = getattr(provider, "name", "abstract")
    if name == "hf":
        return HF_SOURCE
    if name == "openai":
        from bot.summaries.prompt import PROMPT_VERSION

        model = getattr(provider, "model", "") or "model"
        # "+fulltext" with SUMMARY_SOURCE=fulltext: another input, so another stored source.
        return model_source(model + getattr(provider, "source_suffix", ""), PROMPT_VERSION)
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
    db: Reader, pairs: Sequence[tuple[Paper, str]], source: str, day: date
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
    skipped: int = 0  # queued pairs found written (or tried) by then, not asked again


@dataclass(order=True, slots=True)
class _Job:
    order: tuple[int, int]  # (0 for a complete day, 1 for a day still being listed; sequence)
    paper: Paper = field(compare=False)
    language: str = field(compare=False)
    day: date = field(compare=False)

    @property
    def key(self) -> tuple[str, str]:
        return self.paper.id, self.language


class SummaryService:
    """The ingest listener that makes the summaries; `stop()` ends its work (the bot's close).

    Work is a priority queue served by ``concurrency`` workers: the pairs of complete days
    (about to be posted) come before those of days still being listed, whatever order the
    rounds queued them in. A (paper, language) is written by one writer at a time, whoever
    asks for it (a worker, or `summarize_now` for the /paper show button): a second asker
    waits for the first. A worker looks the pair up in the store again just before the model
    is asked, so a pair stored meanwhile (`paperboy summarize`, another process) costs no
    call."""

    def __init__(
        self,
        store: Store,
        provider: SummaryProvider,
        clock: Callable[[], datetime],
        *,
        bullets: int = 5,
        concurrency: int = 2,
        notify_every: float = NOTIFY_EVERY,
    ) -> None:
        self.store = store
        self.provider = provider
        self.clock = clock
        self.bullets = bullets
        self.concurrency = max(1, concurrency)
        self.notify_every = notify_every
        self.source = provider_source(provider)
        self.stats = RunStats()
        self._queue: list[_Job] = []  # a heap; an entry whose key is not in `_pending` is stale
        self._pending: dict[tuple[str, str], tuple[int, date]] = {}  # queued or written: group, day
        self._inflight: dict[tuple[str, str], asyncio.Future[SummaryResult | None]] = {}
        self._clicks: set[asyncio.Task] = set()  # writes for summarize_now, cancelled by stop()
        self._sequence = 0
        # Awaited when written summaries may change posted cards (those of complete days, and
        # a member's click): every `notify_every` seconds while the work goes on, and once
        # when it ends. The digest edits its cards then (cogs/digest.py adds itself).
        self.after_written: list[Callable[[], Awaitable[None]]] = []
        self._changed_since = 0.0  # monotonic time of the first change not told yet, or 0
        self._notifying: asyncio.Task | None = None
        self._task: asyncio.Task | None = None

    # -- the ingest listener ------------------------------------------------------------------

    async def days_to_poll(self, now: datetime) -> set[date]:
        return set()

    def writing(self, language: str | None, day: date | None = None) -> bool:
        """Whether summaries in `language` (of `day`'s papers, when given) are queued or being
        written: a digest of that day in that language may wait for them, within its grace."""
        if language is None:
            return False
        wanted = _language_key(language)
        return any(
            pending == wanted and (day is None or pending_day == day)
            for (_, pending), (_, pending_day) in self._pending.items()
        )

    def writer(self) -> Writer | None:
        """Who writes the digests' summaries, for the cards' fallback labels (bot/digest.py);
        None when nothing is written (``abstract``)."""
        if self.source is None:
            return None
        today = utc_day(self.clock())
        return Writer(self.source, self.provider.name, today, today - RECENT + timedelta(days=1))

    async def papers_ingested(self, report: IngestReport) -> None:
        """Plan the round's summaries and start writing them (returns before they are done)."""
        if self.source is None:
            return
        for group, (paper, language, day) in await self.plan(report):
            self._sequence += 1
            heapq.heappush(self._queue, _Job((group, self._sequence), paper, language, day))
            self._pending[(paper.id, language)] = (group, day)
        if self._queue and (self._task is None or self._task.done()):
            self._task = asyncio.create_task(self._work(), name="paperboy summaries")

    async def plan(self, report: IngestReport) -> list[tuple[int, tuple[Paper, str, date]]]:
        """(group, (paper, language, day)) still to write for the report's recent days: group
        0 for the complete days, newest first (they are posted next), then group 1 for days
        still being listed, oldest first (the next to complete). Writing a day's summaries
        while it is listed is what lets a slow model be ready when the day is posted; a paper
        that later drops out of a channel's `top` has then cost a call for nothing.

        A pair is planned once, for the first day that needs it: a paper listed on a complete
        day and on a later one is the complete day's. A pair queued for a listed day is
        planned again when a complete day needs it, in group 0 (the queue's old entry then
        goes stale)."""
        if self.source is None:
            return []
        today = utc_day(report.now)
        recent = {day: state for day, state in report.days.items() if today - day < RECENT}
        if not recent:
            return []
        db = self.store.reader
        subs = await all_subscriptions(db)
        if not any(sub.language for sub in subs):
            return []
        complete = [day for day, state in recent.items() if state.complete_at is not None]
        listing = sorted(day for day in recent if day not in complete)
        planned: list[tuple[int, tuple[Paper, str, date]]] = []
        seen: set[tuple[str, str]] = set()
        for group, days in ((0, sorted(complete, reverse=True)), (1, listing)):
            for day in days:
                papers = await papers_on_day(db, day)
                pairs = plan_pairs({day: papers}, subs, self.provider.name)
                for paper, language in (await sort_pairs(db, pairs, self.source, today)).todo:
                    key = (paper.id, language)
                    pending = self._pending.get(key)
                    if key in seen or (pending is not None and pending[0] <= group):
                        continue
                    seen.add(key)
                    planned.append((group, (paper, language, day)))
        return planned

    # -- one pair, whoever asks -------------------------------------------------------------------

    async def tried_today(self, paper: Paper, language: str) -> str | None:
        """Why the current source fell back on `paper` in `language` during this UTC day
        (it is not asked again before the next one), or None when it did not."""
        if self.source is None:
            return None
        today = utc_day(self.clock())
        tried = await attempted(self.store.reader, [paper_key(paper.id)], self.source, today)
        return tried.get((paper_key(paper.id), _language_key(language)))

    async def summarize_now(self, paper: Paper, language: str) -> SummaryResult | None:
        """Write the summary of `paper` in `language` now (the /paper show button). One being
        written already is awaited (None: a worker found it written or tried meanwhile); one
        queued is written now, and its queue entry goes stale."""
        key = (paper.id, language)
        if (running := self._inflight.get(key)) is not None:
            return await asyncio.shield(running)
        task = asyncio.create_task(self._write(paper, language, check_store=False, click=True))
        self._clicks.add(task)
        task.add_done_callback(self._clicks.discard)
        return await asyncio.shield(task)  # a member's cancelled wait does not cancel it

    async def _write(
        self, paper: Paper, language: str, *, check_store: bool, click: bool = False
    ) -> SummaryResult | None:
        """Ask the provider and store the outcome, the pair registered as in flight from
        before the store is read (`check_store`: skip a pair found written or tried; returns
        None then) to after the outcome is stored. The cards are told of it when it was a
        member's `click` or is wanted by a complete day (queued in group 0 by then)."""
        source = self.source
        assert source is not None
        key = (paper.id, language)
        future: asyncio.Future[SummaryResult | None] = asyncio.get_running_loop().create_future()
        self._inflight[key] = future
        try:
            if check_store:
                fresh = await self._still_to_write(paper, language)
                if fresh is None:
                    self.stats.skipped += 1
                    future.set_result(None)
                    return None
                paper = fresh
            result = await summarize_and_store(
                self.store, self.provider, source, paper, language, self.bullets, self.clock
            )
        except asyncio.CancelledError:
            future.cancel()
            raise
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: there may be no one waiting
            raise
        else:
            future.set_result(result)
        finally:
            if self._inflight.get(key) is future:
                del self._inflight[key]
            group = self._pending.pop(key, (None, None))[0]
        self.stats.calls += result.calls
        if result.fallback_reason == UNREACHABLE:
            self.stats.unreachable += 1
            return result
        if result.is_fallback:
            self.stats.fell_back += 1
        else:
            self.stats.stored += 1
            log.info("summary of %s in %s stored (%s)", paper.id, language, source)
        if click or group == 0:  # a posted card may show it (its fallback label changes too)
            self._changed()
        return result

    async def _still_to_write(self, paper: Paper, language: str) -> Paper | None:
        """The paper as stored now when it still lacks the pair (not stored, not tried today),
        else None."""
        source = self.source
        assert source is not None
        fresh = await get_paper(self.store.reader, paper.id)
        if fresh is None:
            return None
        today = utc_day(self.clock())
        found = await sort_pairs(self.store.reader, [(fresh, language)], source, today)
        return fresh if found.todo else None

    # -- the work -------------------------------------------------------------------------------

    async def idle(self) -> None:
        """Wait until the queue is empty (written, or given up on) and the cards were told."""
        while self._task is not None and not self._task.done():
            await asyncio.shield(self._task)

    async def stop(self) -> None:
        """Cancel the work in flight and wait for it (the bot's close, before the store closes)."""
        tasks = [self._task, self._notifying, *self._clicks]
        self._task = self._notifying = None
        self._queue.clear()
        self._pending.clear()
        for task in tasks:
            if task is not None and not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    async def _work(self) -> None:
        """Run workers until the queue is empty, tell the cards, and go on while the telling
        let new work in (a round may queue pairs while the cards are being edited)."""
        while self._queue:
            down = asyncio.Event()
            results = await asyncio.gather(
                *(self._worker(down) for _ in range(self.concurrency)), return_exceptions=True
            )
            for result in results:
                if isinstance(result, Exception):
                    log.error("writing summaries failed", exc_info=result)
            if down.is_set():
                self._queue.clear()  # the next round plans them again
                for key in [key for key in self._pending if key not in self._inflight]:
                    del self._pending[key]
                log.warning("the summary model cannot be reached; trying again next round")
            if self._notifying is not None:
                await self._notifying
            if self._changed_since:
                await self._notify()
            if down.is_set():
                return

    async def _worker(self, down: asyncio.Event) -> None:
        while self._queue and not down.is_set():
            job = heapq.heappop(self._queue)
            key = job.key
            pending = self._pending.get(key)
            if key in self._inflight or pending is None or pending[0] != job.order[0]:
                continue  # being written by summarize_now, or a stale entry
            try:
                result = await self._write(job.paper, job.language, check_store=True)
            except Exception:
                log.exception("writing the summary of %s in %s failed", *key)
                continue
            if result is not None and result.fallback_reason == UNREACHABLE:
                down.set()
            elif self._notify_due():  # in a task of its own: the workers go on
                self._notifying = asyncio.create_task(self._notify(), name="paperboy cards")

    def _notify_due(self) -> bool:
        waited = time.monotonic() - self._changed_since
        idle = self._notifying is None or self._notifying.done()
        return bool(self._changed_since) and waited >= self.notify_every and idle

    def _changed(self) -> None:
        if not self._changed_since:
            self._changed_since = time.monotonic()
        working = self._task is not None and not self._task.done()
        telling = self._notifying is not None and not self._notifying.done()
        if not working and not telling:  # a click with no work running: tell now
            self._notifying = asyncio.create_task(self._notify(), name="paperboy cards")

    async def _notify(self) -> None:
        """Tell the listeners (the digest edits its posted cards)."""
        self._changed_since = 0.0
        for listener in self.after_written:
            try:
                await listener()
            except Exception:
                log.exception("a listener of the summaries failed")
