"""Bot latency benchmark: the real PaperBot against the fake Discord, over loopback.

    python -m benchmarks.bench_bot --papers 100000
    python -m benchmarks.bench_bot --papers 1000000 --build-db /some/dir/bench-1m.db  # kept
    python -m benchmarks.bench_bot --db /some/dir/bench-1m.db --concurrency 50 --requests 2000

Builds a store of N synthetic papers with benchmarks/bench_store.py's `ingest` (or reuses the
one at --db, e.g. a store bench_store.py kept), starts the bot in-process with the same wiring as
tests/test_bot_e2e.py (`configure_endpoints`, `open_services`, `PaperBot`) against
tests/fake_discord.py, and sends INTERACTION_CREATEs through the fake gateway from C workers,
each keeping one interaction in flight (a closed loop), or at fixed arrival rates (open loop).
The latency of an interaction is the fake's `acknowledged_after`: from the moment the fake
creates the INTERACTION_CREATE to the moment it accepts the bot's callback. See
benchmarks/README_bot.md ("Bot latency").

By default the fake Discord and the load generator run in a separate process
(benchmarks/fake_process.py), so that the bot's process, its CPU and its garbage collector hold
only the bot; `--fake inprocess` puts them in the bot's process and event loop, as the e2e
tests do (how this benchmark measured before). The /help "floor" rows (no storage at all) show
what discord.py and the harness cost without any lookup.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import logging
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import aiosqlite
import discord

import cogs.papers
import cogs.views
from benchmarks.bench_store import (
    DEFAULT_SEED,
    build_mix,
    db_files_size,
    environment,
    fmt_ms,
    human_bytes,
    ingest,
    load,
    pct,
)
from benchmarks.fake_process import TOKEN, Driven, LocalFake, RemoteFake, Request, Sample
from bot.app import PaperBot, configure_endpoints, open_services
from bot.config import load_settings
from bot.models import InvalidPaperId, normalize_arxiv_id
from cogs.papers import PERIOD_DAYS
from cogs.views import PAGE_SIZE
from storage import open_store
from storage.db import ReaderPool, _configure
from storage.papers import get_paper, latest_day, papers_on_day, top_papers
from storage.search import papers_by_author, search_papers, suggest_authors, suggest_titles

NOWHERE = "http://127.0.0.1:9"  # Hugging Face / arXiv: never reached (only stored ids are shown)
TARGET_P99_MS = 50.0
TARGET_CONCURRENCY = 50
BASELINE_PAPERS = 1_000

# Share of each request kind in the mix (percent). Autocomplete fires on every keystroke, so it
# is the most frequent interaction a busy server sends.
MIX_WEIGHTS = {
    "search common": 10,
    "search rare": 8,
    "search 2-letter": 6,
    "author": 10,
    "show": 12,
    "day": 8,
    "top": 8,
    "ac search": 22,
    "ac author": 16,
}
KINDS = tuple(MIX_WEIGHTS)


# ---------------------------------------------------------------------------------------------
# Requests


HELP = Request("help (floor)", "help")


async def build_pools(db: aiosqlite.Connection, papers: int, seed: int) -> dict[str, list[Request]]:
    """Distinct requests per kind; words and names come from bench_store's probed query mix."""
    mix = await build_mix(db, papers, seed)
    by = defaultdict(list)
    for q in mix:
        by[q.kind, q.group].append(q.text)
    kinds: dict[str, set[str]] = defaultdict(set)
    for q in mix:
        kinds[q.kind].add(q.group)

    def texts(kind: str, groups: Sequence[str] | None = None) -> list[str]:
        chosen = groups if groups is not None else sorted(kinds[kind])
        return [t for g in chosen for t in by[kind, g]]

    pools: dict[str, list[Request]] = {}
    search = lambda t: Request("", "paper search", (("query", t),))  # noqa: E731
    pools["search common"] = [search(t) for t in texts("title", ["common", "medium"])]
    rare = ["rare", "rare-combination", "substring", "nonsense"]
    pools["search rare"] = [search(t) for t in texts("title", rare)]
    pools["search 2-letter"] = [search(t) for t in texts("title", ["2-letter"])]
    pools["author"] = [Request("", "paper author", (("name", t),)) for t in texts("author")]
    pools["ac search"] = [
        Request("", "paper search", focused="query", value=t)
        for t in texts("prefix") + texts("prefix_1char")
    ]
    pools["ac author"] = [
        Request("", "paper author", focused="name", value=t)
        for t in texts("author_prefix") + texts("author_prefix_1char")
    ]

    rng = random.Random(seed + 7)
    days = [d for (d,) in await db.execute_fetchall("SELECT day FROM daily_entries GROUP BY day")]
    picked_days = rng.sample(days, min(40, len(days)))
    marks = ",".join("?" * len(picked_days))
    pks = [
        pk
        for (pk,) in await db.execute_fetchall(
            f"SELECT paper_pk FROM daily_entries WHERE day IN ({marks}) ORDER BY paper_pk",
            picked_days,
        )
    ]
    pks = rng.sample(pks, min(100, len(pks)))
    marks = ",".join("?" * len(pks))
    ids = sorted(
        i for (i,) in await db.execute_fetchall(f"SELECT id FROM papers WHERE pk IN ({marks})", pks)
    )
    pools["show"] = [Request("", "paper show", (("id", i),)) for i in ids]
    pools["day"] = [Request("", "paper day")] * 5 + [
        Request("", "paper day", (("date", d),)) for d in picked_days[:20]
    ]
    pools["top"] = (
        [Request("", "paper top")] * 2
        + [Request("", "paper top", (("period", "day"),))]
        + [Request("", "paper top", (("period", "week"),))] * 2
        + [Request("", "paper top", (("period", "month"),))]
    )
    return {
        kind: [Request(kind, r.command, r.options, r.focused, r.value) for r in pools[kind]]
        for kind in KINDS
    }


def request_sequence(pools: dict[str, list[Request]], count: int, seed: int) -> list[Request]:
    rng = random.Random(seed)
    kinds = [k for k in KINDS if pools[k]]
    weights = [MIX_WEIGHTS[k] for k in kinds]
    return [rng.choice(pools[k]) for k in rng.choices(kinds, weights, k=count)]


# ---------------------------------------------------------------------------------------------
# Probes: the reader connection(s) and the event loop


@dataclass
class ReaderStats:
    calls: int = 0
    exec_s: list[float] = field(default_factory=list)  # in the connection thread
    cpu_s: float = 0.0  # CPU time of the connection thread while executing
    wait_s: list[float] = field(default_factory=list)  # queued behind other statements
    resume_s: list[float] = field(default_factory=list)  # result ready -> coroutine resumes

    @property
    def busy_s(self) -> float:
        return sum(self.exec_s)


class ReaderProbe:
    """Times every statement an aiosqlite connection runs: queue wait, execution, resumption.

    aiosqlite runs each call on the connection's own thread, one at a time, in FIFO order;
    `wait` is the time a statement sat in that queue (behind other coroutines' statements),
    `resume` the time between the thread finishing it and the awaiting coroutine running again
    (how busy the event loop was).
    """

    def __init__(self) -> None:
        self.stats = ReaderStats()

    def attach(self, conn: aiosqlite.Connection) -> None:
        original = conn._execute

        async def _execute(fn, *args, **kwargs):
            submitted = time.perf_counter()
            box: list[float] = []

            def timed():
                start, cpu = time.perf_counter(), time.thread_time()
                try:
                    return fn(*args, **kwargs)
                finally:
                    box.extend((start, time.perf_counter(), time.thread_time() - cpu))

            result = await original(timed)
            resumed = time.perf_counter()
            if box:
                start, end, cpu = box
                stats = self.stats
                stats.calls += 1
                stats.wait_s.append(start - submitted)
                stats.exec_s.append(end - start)
                stats.resume_s.append(resumed - end)
                stats.cpu_s += cpu
            return result

        conn._execute = _execute  # type: ignore[method-assign]

    def take(self) -> ReaderStats:
        stats, self.stats = self.stats, ReaderStats()
        return stats


class GcMonitor:
    """Garbage-collector pauses (they stop the event loop and every thread waiting for the GIL)."""

    def __init__(self) -> None:
        self.pauses: list[tuple[int, float]] = []  # (generation, seconds)
        self.collected: list[int] = []  # unreachable objects found by each full collection
        self._started = 0.0
        gc.callbacks.append(self._callback)

    def _callback(self, phase: str, info: dict) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.pauses.append((info["generation"], time.perf_counter() - self._started))
            if info["generation"] == 2:
                self.collected.append(info["collected"])

    def take(self) -> list[tuple[int, float]]:
        pauses, self.pauses = self.pauses, []
        return pauses

    def take_collected(self) -> list[int]:
        collected, self.collected = self.collected, []
        return collected

    def stop(self) -> None:
        with contextlib.suppress(ValueError):
            gc.callbacks.remove(self._callback)


class LagMonitor:
    """How late a 5 ms sleep wakes up: the event loop's responsiveness under load."""

    INTERVAL = 0.005

    def __init__(self) -> None:
        self.samples: list[float] = []
        self._task: asyncio.Task | None = None

    async def _run(self) -> None:
        while True:
            start = time.perf_counter()
            await asyncio.sleep(self.INTERVAL)
            self.samples.append(time.perf_counter() - start - self.INTERVAL)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    def take(self) -> list[float]:
        samples, self.samples = self.samples, []
        return samples

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


def single_row_what_if() -> None:
    """What-if: the two search statements that return 100-200 rows return them as one JSON row.

    Python's sqlite3 releases the GIL around every sqlite3_step(), so a statement costs its
    reader thread one GIL hand-over per row; while the event loop is busy, each can wait up to
    the switch interval (5 ms). Same results, same order; storage/search.py is not edited.
    """
    import json

    import storage.search as search
    from bot.models import Paper
    from storage.search_text import tokens

    async def _newest_matches(db: Any, table: str, expression: str, window: int) -> list[int]:
        rows = await db.execute_fetchall(
            f"SELECT json_group_array(rowid) FROM (SELECT rowid FROM {table}"
            f" WHERE {table} MATCH ? ORDER BY rowid DESC LIMIT ?)",
            (expression, window),
        )
        return json.loads(rows[0][0])

    async def _rank_by_title(db: Any, pks: list[int], text: str) -> list[Paper]:
        if not pks:
            return []
        rows = await db.execute_fetchall(
            "SELECT json_group_array(json_array(pk, id, title, upvotes)) FROM papers"
            f" WHERE pk IN ({','.join('?' * len(pks))})",
            pks,
        )
        words, phrase = tokens(text), " ".join(tokens(text))
        scored = sorted(
            json.loads(rows[0][0]),
            key=lambda row: (search._title_score(words, phrase, row[2]), row[3] or 0, row[0]),
            reverse=True,
        )
        return [Paper(id=paper_id, title=title, upvotes=up) for _, paper_id, title, up in scored]

    search._newest_matches = _newest_matches
    search._rank_by_title = _rank_by_title


# ---------------------------------------------------------------------------------------------
# The world: fake Discord + the real bot


@dataclass
class World:
    fake: LocalFake | RemoteFake
    bot: PaperBot
    store: Any
    probe: ReaderProbe
    lag: LagMonitor
    gcs: GcMonitor

    def lists_alive(self) -> str:
        """What the bot keeps per paged list still open (views before, expiry entries after)."""
        try:
            from cogs.views import PaperPages  # the bot before lists became DynamicItems
        except ImportError:
            from cogs.views import PaperLists

            count = len(PaperLists.of(self.bot).expiry)
            return f"{count:,} lists awaiting expiry (a deadline and a token each, no view)"
        views = sum(1 for o in gc.get_objects() if isinstance(o, PaperPages))
        return f"{views:,} live paged-list views (kept {cogs.views.VIEW_TIMEOUT:g} s each)"


def reader_connections(store: Any) -> list[aiosqlite.Connection]:
    """The store's reader connections (a ReaderPool's, or the one connection of older code)."""
    return list(getattr(store.reader, "connections", [store.reader]))


@asynccontextmanager
async def running_bot(db_path: Path, args: argparse.Namespace, users: int) -> AsyncIterator[World]:
    """The bot wired as tests/test_bot_e2e.py wires it, on the store at `db_path`."""
    old_base = discord.http.Route.BASE
    old_gateway = discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    extra: list[aiosqlite.Connection] = []
    if args.fake == "process":
        fake: Any = RemoteFake(users, cpu=1 if args.pin else None)
    else:
        fake = LocalFake(users)
    try:
        async with fake:
            settings = load_settings(
                {
                    "DISCORD_TOKEN": TOKEN,
                    "PAPERBOY_DB": str(db_path),
                    "HF_API_BASE": NOWHERE,
                    "ARXIV_API_BASE": NOWHERE,
                    "DISCORD_API_BASE": f"{fake.url}/api/v10",
                    "DISCORD_GATEWAY_URL": fake.gateway_url,
                    "DEV_GUILD_ID": str(fake.guild_id),
                    "HTTP_RETRIES": "0",
                    "HTTP_TIMEOUT": "2",
                    "LOG_LEVEL": "WARNING",
                },
                env_file=None,
            )
            configure_endpoints(settings)
            async with open_services(settings) as services:
                store = services.store
                original_reader = store.reader
                probe = ReaderProbe()
                pooled = hasattr(original_reader, "connections")
                if args.readers and not pooled and args.readers > 1:  # older code: one reader
                    for _ in range(args.readers - 1):
                        conn = await aiosqlite.connect(db_path, isolation_level=None)
                        await _configure(conn)
                        extra.append(conn)
                    store.reader = ReaderPool([original_reader, *extra])
                for conn in [*reader_connections(store), *extra]:
                    probe.attach(conn)
                bot = PaperBot(services, guild_ready_timeout=0.05)
                task = asyncio.create_task(bot.start(TOKEN))
                lag = LagMonitor()
                gcs = GcMonitor()
                try:
                    await fake.wait_ready()
                    await asyncio.wait_for(bot.wait_until_ready(), 30)
                    if args.gc_freeze:
                        gc.collect()
                        gc.freeze()
                    lag.start()
                    yield World(fake, bot, store, probe, lag, gcs)
                finally:
                    gcs.stop()
                    await lag.stop()
                    await bot.close()
                    # Paged lists of the older code outlive the bot (their 600 s timeout tasks
                    # hold them): stop them, or the next store's run pays for their heap.
                    with contextlib.suppress(ImportError):
                        from cogs.views import PaperPages

                        for view in [o for o in gc.get_objects() if isinstance(o, PaperPages)]:
                            view.stop()
                    await asyncio.wait_for(task, 30)
                    store.reader = original_reader
                    for conn in extra:
                        await conn.close()
                    if args.gc_freeze:
                        gc.unfreeze()
    finally:
        discord.http.Route.BASE = old_base
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = old_gateway


# ---------------------------------------------------------------------------------------------
# Running a level


@dataclass
class LevelRun:
    concurrency: int
    samples: list[Sample]
    wall_s: float
    cpu_s: float  # the bot's process (with the fake when it runs in the same process)
    reader: ReaderStats
    lag_s: list[float]
    violations: int
    gc_pauses: list[tuple[int, float]] = field(default_factory=list)
    gc_collected: list[int] = field(default_factory=list)  # garbage found by full collections
    fake_cpu_s: float = 0.0  # the fake's process, when separate

    def latencies(self, kind: str | None = None) -> list[float]:
        return [s.ms for s in self.samples if s.ms is not None and (kind is None or s.kind == kind)]

    @property
    def rate(self) -> float:
        return len(self.samples) / self.wall_s if self.wall_s else 0.0


async def measured(
    world: World, run: Callable[[], Awaitable[Driven]], concurrency: int, *, collect: bool = True
) -> LevelRun:
    await world.fake.forget()
    if collect:
        gc.collect()  # before the probes are reset: a collection here is not the bot's
    world.probe.take()
    world.lag.take()
    world.gcs.take()
    world.gcs.take_collected()
    cpu = time.process_time()
    start = time.perf_counter()
    driven = await run()
    wall = time.perf_counter() - start
    cpu = time.process_time() - cpu
    result = LevelRun(
        concurrency,
        driven.samples,
        wall,
        cpu,
        world.probe.take(),
        world.lag.take(),
        driven.violations,
        world.gcs.take(),
        world.gcs.take_collected(),
        driven.cpu_s,
    )
    await asyncio.sleep(0.3)  # let trailing work finish
    return result


async def run_level(
    world: World, requests: list[Request], concurrency: int, *, collect: bool = True
) -> LevelRun:
    """A closed loop: `concurrency` workers, each with one interaction in flight."""
    return await measured(
        world, lambda: world.fake.closed(requests, concurrency), concurrency, collect=collect
    )


async def run_open(world: World, requests: list[Request], rate: float, seed: int) -> LevelRun:
    """An open loop: Poisson arrivals at `rate` per second (latency from the scheduled arrival)."""
    return await measured(world, lambda: world.fake.open(requests, rate, seed), 0)


# ---------------------------------------------------------------------------------------------
# Reports


def median_of(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def print_level_table(title: str, runs: list[LevelRun], kinds: Sequence[str]) -> dict[str, float]:
    """Per kind: median over rounds of p50/p90/p99, max over all rounds; returns overall row."""
    print(f"\n{title}")
    header = f"  {'kind':<18} {'n':>6} | {'p50':>7} {'p90':>7} {'p99':>7} {'max':>7} | outcomes"
    print(header)
    print("  " + "-" * (len(header) - 2))
    overall: dict[str, float] = {}
    for kind in [*kinds, None]:
        per_round = [r.latencies(kind) for r in runs]
        if not any(per_round):
            continue
        n = sum(len(v) for v in per_round)
        p50 = median_of([pct(v, 0.50) for v in per_round if v])
        p90 = median_of([pct(v, 0.90) for v in per_round if v])
        p99 = median_of([pct(v, 0.99) for v in per_round if v])
        worst = max(max(v) for v in per_round if v)
        outcomes = Counter(s.outcome for r in runs for s in r.samples if kind in (None, s.kind))
        shown = " ".join(f"{k} {v}" for k, v in sorted(outcomes.items()))
        label = kind or "OVERALL"
        if kind is None:
            print("  " + "-" * (len(header) - 2))
            overall = {"p50": p50, "p90": p90, "p99": p99, "max": worst, "n": n}
        print(
            f"  {label:<18} {n:>6} | {fmt_ms(p50):>7} {fmt_ms(p90):>7} {fmt_ms(p99):>7}"
            f" {fmt_ms(worst):>7} | {shown}"
        )
    unacked = sum(1 for r in runs for s in r.samples if s.ms is None)
    if unacked:
        print(f"  NOT ACKNOWLEDGED: {unacked} interactions (not in the percentiles)")
    return overall


def print_diagnostics(runs: list[LevelRun]) -> None:
    """Throughput, CPU, reader-thread and event-loop figures, median over rounds."""

    def med(f: Callable[[LevelRun], float]) -> float:
        return statistics.median(f(r) for r in runs)

    def q(values: list[float], p: float) -> float:
        return pct(values, p) * 1000 if values else float("nan")

    rate = med(lambda r: r.rate)
    cpu = med(lambda r: r.cpu_s / r.wall_s)
    per_itx_cpu = med(lambda r: r.cpu_s / max(1, len(r.samples)) * 1000)
    calls = med(lambda r: r.reader.calls / max(1, len(r.samples)))
    busy = med(lambda r: r.reader.busy_s / r.wall_s)
    exec_per = med(lambda r: r.reader.busy_s / max(1, len(r.samples)) * 1000)
    reader_cpu = med(lambda r: r.reader.cpu_s / max(r.reader.busy_s, 1e-9))
    wait50 = med(lambda r: q(r.reader.wait_s, 0.5))
    wait99 = med(lambda r: q(r.reader.wait_s, 0.99))
    res50 = med(lambda r: q(r.reader.resume_s, 0.5))
    res99 = med(lambda r: q(r.reader.resume_s, 0.99))
    lag99 = med(lambda r: q(r.lag_s, 0.99))
    lagmax = max(max(r.lag_s, default=0.0) for r in runs) * 1000
    c = runs[0].concurrency
    fake_cpu = med(lambda r: r.fake_cpu_s / r.wall_s)
    fake_per_itx = med(lambda r: r.fake_cpu_s / max(1, len(r.samples)) * 1000)
    fake = (
        f" | fake Discord's process CPU {fake_cpu:.2f} cores, {fake_per_itx:.2f} ms per interaction"
        if fake_cpu
        else ""
    )
    print(
        f"  throughput {rate:,.0f} interactions/s (Little: C/throughput = {c / rate * 1000:.1f} ms"
        f" mean latency) | bot process CPU {cpu:.2f} cores, {per_itx_cpu:.2f} ms per interaction"
        + fake
    )
    print(
        f"  reader: {calls:.1f} statements and {exec_per:.2f} ms of execution per interaction;"
        f" thread busy {100 * busy:.0f}% of the wall time (CPU {100 * reader_cpu:.0f}% of busy);"
        f" queue wait p50/p99 {wait50:.2f}/{wait99:.2f} ms; result->resume p50/p99"
        f" {res50:.2f}/{res99:.2f} ms"
    )
    gen2 = [t for r in runs for g, t in r.gc_pauses if g == 2]
    young = [t for r in runs for g, t in r.gc_pauses if g < 2]
    full = f"{len(gen2)} full"
    if gen2:
        found = median_of([c for r in runs for c in r.gc_collected])
        full += (
            f" (max {max(gen2) * 1000:.0f} ms, total {sum(gen2) * 1000:.0f} ms,"
            f" {found:,.0f} unreachable objects found by a median one)"
        )
    print(
        f"  event loop: 5 ms sleep overshoot p99 {lag99:.2f} ms, max {lagmax:.1f} ms | GC pauses:"
        f" {len(young)} young (max {max(young, default=0) * 1000:.1f} ms), {full}"
    )
    violations = sum(r.violations for r in runs)
    print(f"  fake Discord violations: {violations}")


# ---------------------------------------------------------------------------------------------
# Where the event loop's CPU time goes (cProfile of the main thread)

PROFILE_GROUPS = (
    ("fake_discord", "fake Discord (test harness)"),
    ("/copy.py", "copy.deepcopy (mostly the fake's payload copies)"),
    ("/yarl/", "yarl (URLs)"),
    ("/multidict/", "aiohttp (fake's server + discord.py's client)"),
    ("/aiohttp/", "aiohttp (fake's server + discord.py's client)"),
    ("/discord/", "discord.py"),
    ("/storage/", "storage/ (Python side of lookups)"),
    ("/aiosqlite/", "aiosqlite (main-thread side)"),
    ("/bot/render", "bot/render.py"),
    ("/bot/", "bot/ (other)"),
    ("/cogs/", "cogs/"),
    ("/json/", "json"),
    ("/asyncio/", "asyncio + sockets"),
    ("/selectors.py", "asyncio + sockets"),
    ("/re/", "re"),
    ("/enum.py", "enum"),
    ("/typing.py", "typing"),
    ("bench_bot", "this benchmark"),
)


def _group(filename: str) -> str:
    for needle, label in PROFILE_GROUPS:
        if needle in filename:
            return label
    return "other Python"


def print_profile(profile: Any, wall: float, interactions: int, top: int = 18) -> None:
    """Main-thread CPU by package; C built-ins are charged to the package that called them."""
    import pstats

    stats = pstats.Stats(profile).stats  # type: ignore[attr-defined]
    groups: dict[str, float] = defaultdict(float)
    for (filename, _, _), (_, _, tottime, _, callers) in stats.items():
        if filename != "~":
            groups[_group(filename)] += tottime
            continue
        from_callers = sum(c[2] for c in callers.values())
        if not from_callers:
            groups["other Python"] += tottime
            continue
        for (caller_file, _, _), c in callers.items():
            groups[_group(caller_file)] += tottime * c[2] / from_callers
    total = sum(groups.values()) or 1e-9
    print(
        f"  main-thread CPU (thread_time) under cProfile: {total:.2f} s for {interactions}"
        " interactions"
        f" ({total / interactions * 1000:.2f} ms each, inflated by the profiler) in {wall:.1f} s"
    )
    others: dict[str, float] = defaultdict(float)
    for (filename, _, _), (_, _, tottime, _, _) in stats.items():
        if filename != "~" and _group(filename) == "other Python":
            others["/".join(Path(filename).parts[-2:])] += tottime
    for label, seconds in sorted(groups.items(), key=lambda kv: -kv[1]):
        extra = ""
        if label == "other Python" and others:
            biggest = sorted(others.items(), key=lambda kv: -kv[1])[:4]
            extra = " (" + ", ".join(f"{f} {100 * t / total:.1f}%" for f, t in biggest) + ")"
        print(f"  {100 * seconds / total:5.1f}%  {label}{extra}")
    print("  top functions by own time:")
    ranked = sorted(stats.items(), key=lambda kv: -kv[1][2])[:top]
    for (filename, line, name), (_, calls, tottime, cumtime, _) in ranked:
        where = filename if filename == "~" else "/".join(Path(filename).parts[-2:])
        print(
            f"  {100 * tottime / total:5.1f}% {calls:>8}x  {name} ({where}:{line})"
            f"  cum {cumtime:.2f} s"
        )


# ---------------------------------------------------------------------------------------------
# Storage alone: the same calls the cogs make, without Discord


async def storage_call(db: Any, request: Request) -> None:
    """The storage calls one request makes in cogs/papers.py (same arguments)."""
    options = dict(request.options)
    kind = request.kind
    if kind.startswith("search"):
        query = options["query"]
        try:
            paper_id = normalize_arxiv_id(query)
        except InvalidPaperId:
            paper_id = None
        if paper_id and await get_paper(db, paper_id):
            return
        await search_papers(db, query, limit=PAGE_SIZE, offset=0)
    elif kind == "author":
        await papers_by_author(db, options["name"], limit=PAGE_SIZE, offset=0)
    elif kind == "show":
        await get_paper(db, normalize_arxiv_id(options["id"]))
    elif kind in ("day", "top"):
        page = getattr(cogs.papers, "_day_page" if kind == "day" else "_top_page", None)
        services = SimpleNamespace(store=SimpleNamespace(reader=db))
        if kind == "day":
            wanted = date.fromisoformat(options["date"]) if "date" in options else None
            wanted = wanted or await latest_day(db)
            if page is None:  # the bot before list pages were read in SQL
                await papers_on_day(db, wanted)
            else:
                await page(services, wanted.isoformat(), 0)
        else:
            last = await latest_day(db)
            first = last - timedelta(days=PERIOD_DAYS[options.get("period", "week")] - 1)
            if page is None:
                await top_papers(db, first, last, limit=PAGE_SIZE + 1, offset=0)
            else:
                await page(services, f"{first.isoformat()}:{last.isoformat()}", 0)
    elif kind == "ac search":
        await suggest_titles(db, request.value, limit=25)
    elif kind == "ac author":
        await suggest_authors(db, request.value, limit=25)


async def storage_alone(
    db_path: Path, requests: list[Request], levels: Sequence[int], readers: Sequence[int]
) -> None:
    print(
        "\n== Storage alone: the cogs' storage calls for the same requests, no Discord, no bot"
        " (ms per request) =="
    )
    async with open_store(db_path) as store:
        for count in readers:
            extra = []
            for _ in range(count - 1):
                conn = await aiosqlite.connect(db_path, isolation_level=None)
                await _configure(conn)
                extra.append(conn)
            first = reader_connections(store)[0]
            db: Any = ReaderPool([first, *extra]) if extra else first
            try:
                for concurrency in levels:
                    per_kind: dict[str, list[float]] = defaultdict(list)
                    queue = iter(requests)

                    async def worker(per_kind=per_kind, queue=queue, db=db) -> None:
                        for request in queue:
                            start = time.perf_counter()
                            await storage_call(db, request)
                            per_kind[request.kind].append((time.perf_counter() - start) * 1000)

                    start = time.perf_counter()
                    await asyncio.gather(*(worker() for _ in range(concurrency)))
                    wall = time.perf_counter() - start
                    every = [v for values in per_kind.values() for v in values]
                    cells = " ".join(
                        f"{k.replace(' ', '-')} {fmt_ms(pct(per_kind[k], 0.5))}/"
                        f"{fmt_ms(pct(per_kind[k], 0.99))}"
                        for k in KINDS
                        if per_kind[k]
                    )
                    print(
                        f"  readers {count} C={concurrency:<3} {len(every) / wall:6,.0f} req/s"
                        f" | all p50/p99/max {fmt_ms(pct(every, 0.5))}/{fmt_ms(pct(every, 0.99))}"
                        f"/{fmt_ms(max(every))} | p50/p99 by kind: {cells}"
                    )
            finally:
                for conn in extra:
                    await conn.close()


# ---------------------------------------------------------------------------------------------
# Main


async def paper_count(path: Path) -> int:
    async with aiosqlite.connect(f"file:{path}?mode=ro", uri=True) as db:
        return (await db.execute_fetchall("SELECT count(*) FROM daily_entries"))[0][0]


async def prepare_store(path: Path, papers: int, seed: int, reuse: bool) -> int:
    if reuse:
        count = await paper_count(path)
        print(f"reusing {path.name}: {count:,} papers, {human_bytes(db_files_size(path))}")
        return count
    print(f"building {papers:,} papers ...", file=sys.stderr, flush=True)
    result = await ingest(path, papers, 10, seed, False)
    print(
        f"built {result.papers:,} papers in {result.save_s + result.generate_s:.0f} s"
        f" ({result.rate:,.0f} papers/s saved), {human_bytes(result.size_bytes)}"
    )
    return result.papers


async def bench_store_at(
    label: str,
    path: Path,
    papers: int,
    args: argparse.Namespace,
    levels: Sequence[int],
    *,
    floor: bool,
) -> dict[int, dict[str, float]]:
    """Warm up, then `rounds` x every level; returns the overall row per level."""
    users = max(levels)
    async with running_bot(path, args, users) as world:
        async with open_store(path) as store:
            pools = await build_pools(store.reader, papers, args.seed)
        distinct = [r for kind in KINDS for r in pools[kind]]
        print(f"\n[{label}] request mix (share %: distinct requests, examples):")
        for kind in KINDS:
            examples = ", ".join(r.describe() for r in pools[kind][:3])
            print(f"  {kind:<16} {MIX_WEIGHTS[kind]:>3}%: {len(pools[kind]):>3}  {examples}")
        start = time.perf_counter()
        warm = await run_level(world, distinct, 1)
        print(
            f"[{label}] warm-up: every distinct request once at C=1 in"
            f" {time.perf_counter() - start:.1f} s; p50 {fmt_ms(pct(warm.latencies(), 0.5))},"
            f" max {fmt_ms(max(warm.latencies(), default=float('nan')))} ms"
        )
        runs: dict[int, list[LevelRun]] = defaultdict(list)
        for number in range(args.rounds):
            sequence = request_sequence(pools, args.requests, args.seed + 1000 + number)
            for concurrency in levels:
                start = time.perf_counter()
                runs[concurrency].append(await run_level(world, sequence, concurrency))
                print(
                    f"  ... [{label}] round {number + 1}/{args.rounds} C={concurrency}:"
                    f" {time.perf_counter() - start:.1f} s, {load()}",
                    file=sys.stderr,
                    flush=True,
                )
        await world.fake.forget()
        tracked = len(gc.get_objects())
        heap = (
            f"[{label}] heap after the rounds: {tracked:,} objects tracked by the GC"
            f" ({len(gc.get_objects(2)):,} in the oldest generation,"
            f" {gc.get_freeze_count():,} frozen); {world.lists_alive()}"
        )
        floors: dict[int, LevelRun] = {}
        if floor:
            for concurrency in levels:
                floors[concurrency] = await run_level(
                    world, [HELP] * max(1, args.requests // 2), concurrency
                )
        opens: list[tuple[float, LevelRun]] = []
        for number, rate in enumerate(args.open_rates):
            count = min(args.requests, max(100, int(rate * 40)))  # at most ~40 s per rate
            sequence = request_sequence(pools, count, args.seed + 2000 + number)
            opens.append((rate, await run_open(world, sequence, rate, args.seed + number)))
        profiled = None
        if args.profile:
            import cProfile

            sequence = request_sequence(pools, args.requests, args.seed + 3000)
            gc.collect()
            profile = cProfile.Profile(time.thread_time)  # main-thread CPU, not GIL waits
            profile.enable()
            profiled = await run_level(world, sequence, max(levels), collect=False)
            profile.disable()
        print(f"[{label}] after the runs: {load()}")
        print(heap)
        overall = {}
        for concurrency in levels:
            title = (
                f"== [{label}] concurrency {concurrency}: {args.rounds} round(s) x"
                f" {args.requests} interactions; ms from INTERACTION_CREATE to the accepted"
                " callback; p50/p90/p99 = median over rounds, max = over all rounds =="
            )
            overall[concurrency] = print_level_table(title, runs[concurrency], KINDS)
            print_diagnostics(runs[concurrency])
            if concurrency in floors:
                f = floors[concurrency]
                lat = f.latencies()
                print(
                    f"  floor, /help (no storage) x{len(lat)} at C={concurrency}: p50"
                    f" {fmt_ms(pct(lat, 0.5))} p90 {fmt_ms(pct(lat, 0.9))} p99"
                    f" {fmt_ms(pct(lat, 0.99))} max {fmt_ms(max(lat))} ms,"
                    f" {f.rate:,.0f}/s, {f.cpu_s / max(1, len(lat)) * 1000:.2f} ms CPU each"
                )
        if opens:
            print(
                f"\n== [{label}] open loop: Poisson arrivals, up to {args.requests} interactions"
                " (40 s) per rate; ms from the scheduled arrival to the accepted callback"
                " (1 run each) =="
            )
            print(
                f"  {'rate/s':>7} {'achieved':>8} {'n':>5} | {'p50':>7} {'p90':>7} {'p99':>7}"
                f" {'max':>7}"
            )
            for rate, run in opens:
                lat = run.latencies()
                print(
                    f"  {rate:>7,.0f} {run.rate:>8,.0f} {len(run.samples):>5} |"
                    f" {fmt_ms(pct(lat, 0.5)):>7}"
                    f" {fmt_ms(pct(lat, 0.9)):>7} {fmt_ms(pct(lat, 0.99)):>7}"
                    f" {fmt_ms(max(lat)):>7} | CPU {run.cpu_s / run.wall_s:.2f} cores,"
                    f" violations {run.violations}"
                )
        print(
            f"[{label}] fake Discord violations over the whole run:"
            f" {await world.fake.violations()}"
            + (f" ({profiled.violations} in the profiled run)" if profiled else "")
        )
        if profiled is not None:
            print(f"\n== [{label}] profile of one closed-loop run at C={max(levels)} ==")
            print_profile(profile, profiled.wall_s, len(profiled.samples))
    if args.storage_alone:  # after the bot is gone: its heap does not slow these down
        gc.collect()
        requests = request_sequence(pools, args.requests, args.seed + 1000)
        readers = sorted({1, 2, 4, args.readers} - {0})
        await storage_alone(path, requests, levels, readers)
    for concurrency, f in floors.items():
        lat = f.latencies()
        overall[-concurrency] = {
            "p50": pct(lat, 0.5),
            "p90": pct(lat, 0.9),
            "p99": pct(lat, 0.99),
            "max": max(lat),
        }
    return overall


async def amain(args: argparse.Namespace) -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    print(f"paperboy bot latency benchmark, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    print(environment())
    print(f"discord.py {discord.__version__}; at start: {load()}")
    levels = sorted({int(x) for x in args.levels.split(",")} | {args.concurrency})
    if args.view_timeout is not None:
        print(
            f"WHAT-IF RUN: paged-list views time out after {args.view_timeout:g} s (the bot"
            f" ships with {cogs.views.VIEW_TIMEOUT:g} s)"
        )
        cogs.views.VIEW_TIMEOUT = args.view_timeout  # read when each PaperPages is created
    if args.switch_interval:
        print(
            f"WHAT-IF RUN: sys.setswitchinterval({args.switch_interval}) (Python's default is"
            f" {sys.getswitchinterval()} s)"
        )
        sys.setswitchinterval(args.switch_interval)
    if args.readers:
        try:
            import storage.db as storage_db

            print(
                f"reader connections: {args.readers} (open_store's default is"
                f" {storage_db.DEFAULT_READERS})"
            )
            storage_db.DEFAULT_READERS = args.readers  # read by open_store when it is called
        except AttributeError:
            print(f"WHAT-IF RUN: {args.readers} reader connections (the bot ships with one)")
    if args.pin:
        os.sched_setaffinity(0, {0})  # before any thread starts: they inherit it
        fake_cpu = ", the fake's to CPU 1" if args.fake == "process" else ""
        print(f"the bot's process is pinned to CPU 0{fake_cpu}")
    if args.gc_threshold:
        thresholds = tuple(int(x) for x in args.gc_threshold.split(","))
        print(f"WHAT-IF RUN: gc.set_threshold{thresholds} (default {gc.get_threshold()})")
        gc.set_threshold(*thresholds)
    if args.gc_freeze:
        print("WHAT-IF RUN: gc.freeze() once the bot is ready")
    if args.what_if_single_row:
        print("WHAT-IF RUN: search statements return their 100-200 rows as one JSON row")
        single_row_what_if()
    print(f"fake Discord and load generator: {args.fake}")
    workdir = Path(tempfile.mkdtemp(prefix="paperboy-bench-bot-"))
    try:
        if args.db:
            path, reuse = Path(args.db), True
            if not await asyncio.to_thread(path.exists):
                raise SystemExit(f"--db: no database at {path} (to build one, use --build-db)")
        elif args.build_db:
            path, reuse = Path(args.build_db), False
            if await asyncio.to_thread(path.exists):
                raise SystemExit(f"--build-db: {path} exists; pass it to --db to reuse it")
        else:
            path, reuse = workdir / "bench.db", False
        papers = await prepare_store(path, args.papers, args.seed, reuse)
        big = await bench_store_at(
            f"{papers:,} papers", path, papers, args, levels, floor=not args.no_floor
        )
        tiny: dict[int, dict[str, float]] = {}
        if args.baseline_papers:
            tiny_path = workdir / "tiny.db"
            count = await prepare_store(tiny_path, args.baseline_papers, args.seed, False)
            tiny = await bench_store_at(
                f"baseline {count:,} papers",
                tiny_path,
                count,
                argparse.Namespace(
                    **{**vars(args), "storage_alone": False, "open_rates": [], "profile": False}
                ),
                [args.concurrency],
                floor=False,
            )
        print("\n== Summary: overall latency (ms), medians over rounds ==")
        print(f"  {'store':<22} {'C':>3} | {'p50':>7} {'p90':>7} {'p99':>7} {'max':>7}")
        rows = [(f"{papers:,} papers", c, big[c]) for c in levels]
        rows += [("/help only (floor)", -c, big[c]) for c in sorted(big, reverse=True) if c < 0]
        rows += [(f"{args.baseline_papers:,} papers", c, tiny[c]) for c in tiny]
        for name, c, row in rows:
            print(
                f"  {name:<22} {c:>3} | {fmt_ms(row['p50']):>7} {fmt_ms(row['p90']):>7}"
                f" {fmt_ms(row['p99']):>7} {fmt_ms(row['max']):>7}"
            )
        if TARGET_CONCURRENCY in big:
            p99 = big[TARGET_CONCURRENCY]["p99"]
            verdict = "MEETS" if p99 <= TARGET_P99_MS else "MISSES"
            shown = fmt_ms(p99) if p99 >= 1000 else f"{fmt_ms(p99)} ms"
            print(
                f"target p99 <= {TARGET_P99_MS:.0f} ms at {TARGET_CONCURRENCY} concurrent on"
                f" {papers:,} papers: {verdict} ({shown})"
            )
        print(f"at the end: {load()}")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--papers", type=int, default=100_000, help="corpus size to build")
    parser.add_argument("--db", help="reuse the store built at this path (nothing is built)")
    parser.add_argument("--build-db", help="build the store at this new path and keep it")
    parser.add_argument("--concurrency", type=int, default=50, help="highest concurrency")
    parser.add_argument(
        "--levels", default="1,10", help="other concurrency levels (comma-separated)"
    )
    parser.add_argument("--requests", type=int, default=2000, help="interactions per level/round")
    parser.add_argument("--rounds", type=int, default=3, help="repeat every level; medians")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument(
        "--baseline-papers",
        type=int,
        default=BASELINE_PAPERS,
        help="tiny store run at --concurrency for comparison (0: skip)",
    )
    parser.add_argument("--no-floor", action="store_true", help="skip the /help floor runs")
    parser.add_argument(
        "--storage-alone",
        action="store_true",
        help="also time the cogs' storage calls without the bot (1, 2, 4 readers)",
    )
    parser.add_argument(
        "--readers",
        type=int,
        default=0,
        help="reader connections (default: what open_store opens, storage.db.DEFAULT_READERS)",
    )
    parser.add_argument(
        "--fake",
        choices=("process", "inprocess"),
        default="process",
        help="run the fake Discord and the load generator in a separate process (default) or in"
        " the bot's process and event loop (as the e2e tests do)",
    )
    parser.add_argument(
        "--pin",
        action="store_true",
        help="with --fake process: pin the bot's process to CPU 0 and the fake's to CPU 1",
    )
    parser.add_argument(
        "--what-if-single-row",
        action="store_true",
        help="what-if: search's many-row statements return one JSON row (see single_row_what_if)",
    )
    parser.add_argument(
        "--gc-freeze",
        action="store_true",
        help="what-if: gc.collect() then gc.freeze() once the bot is ready",
    )
    parser.add_argument(
        "--gc-threshold",
        default="",
        help="what-if: gc.set_threshold(...) for the bot, e.g. 50000,50,100",
    )
    parser.add_argument(
        "--view-timeout",
        type=float,
        help="what-if: paged-list views time out after this many seconds (the bot: 600)",
    )
    parser.add_argument(
        "--switch-interval",
        type=float,
        default=0.0,
        help="what-if: sys.setswitchinterval(seconds) for the GIL (Python's default 0.005)",
    )
    parser.add_argument(
        "--open-rates",
        type=lambda text: [float(x) for x in text.split(",") if x],
        default=[],
        help="also run an open loop at these arrival rates per second, e.g. 50,100,200",
    )
    parser.add_argument(
        "--profile", action="store_true", help="cProfile one extra run at the top concurrency"
    )
    args = parser.parse_args(argv)
    asyncio.run(amain(args))


if __name__ == "__main__":
    main()
