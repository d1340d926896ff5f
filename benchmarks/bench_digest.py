"""Digest fan-out benchmark: one day's digest to many channels under Discord's rate limits.

    python -m benchmarks.bench_digest                       # 500 channels, 20 papers
    python -m benchmarks.bench_digest --rate 50 --repeat 3  # DISCORD_REQUESTS_PER_SECOND=50
    python -m benchmarks.bench_digest --fake-process        # the fake in a process of its own

Builds a temporary store holding one complete day (`--papers` synthetic papers from
benchmarks/corpus.py, each with an AI summary and a thumbnail, marked complete by two
`storage.days.record_poll` calls after the day's end) and `--channels` subscriptions at 09:00
UTC, spread over `--guilds` servers. Starts the fake Discord (tests/fake_discord.py) enforcing
50 requests/s globally (a token bucket, burst 50) and 5 messages per 5 s per channel (edits in a
bucket of their own), and the real bot in-process as tests/test_digest_e2e.py does
(`configure_endpoints`, `open_services(settings, clock=...)`, `PaperBot`). The bot's clock reads
08:00 UTC until the scheduler's own first post check has passed; then the clock moves to 09:01
and the benchmark calls `jobs.post_due()` itself, timing it until it returns (every channel's
post recorded as posted). Meanwhile members send slash commands (open loop, Poisson arrivals)
and the fake times each from INTERACTION_CREATE to the accepted callback.

The minimum the limits allow: every message is one request under the global limit, so the
fan-out needs at least N / 50 s for N requests; and a channel's m messages need at least
5 s x (ceil(m / 5) - 1), since only 5 fit in one window. The minimum is the larger of the two.
See benchmarks/README_digest.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import itertools
import logging
import math
import multiprocessing
import os
import random
import re
import shutil
import statistics
import sys
import tempfile
import time as _time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT / "tests") not in sys.path:
    sys.path.insert(0, str(ROOT / "tests"))

import discord  # noqa: E402
from fake_discord import FakeDiscord, FakeGuild, FakeUser  # noqa: E402

from benchmarks.corpus import Corpus  # noqa: E402
from bot import scheduler as bot_scheduler  # noqa: E402
from bot.app import PaperBot, configure_endpoints, open_services  # noqa: E402
from bot.config import Settings, load_settings  # noqa: E402
from bot.digest import CARDS_PER_MESSAGE, DigestOptions, make_plan  # noqa: E402
from bot.models import DailyList, Paper  # noqa: E402
from storage import open_store  # noqa: E402
from storage.days import record_poll  # noqa: E402
from storage.papers import save_daily_list  # noqa: E402
from storage.posts import POSTED, get_post  # noqa: E402
from storage.subscriptions import Subscription, all_subscriptions, save_subscription  # noqa: E402

TOKEN = "fake-token-not-secret"
NOWHERE = "http://127.0.0.1:9"  # Hugging Face / arXiv: the start-up ingest fails fast there
DAY = date(2024, 1, 17)
DAY_END = datetime(2024, 1, 18, tzinfo=UTC)
SLOT = time(9, 0)  # every subscription posts at 09:00 UTC
GLOBAL_LIMIT = 50.0  # requests/s, Discord's global limit (the fake's token bucket, burst 50)
CHANNEL_LIMIT = (5, 5.0)  # messages per channel per window (Discord: 5 per 5 s)
TARGET_RATIO = 1.2
TARGET_P99_MS = 100.0
BUCKET_S = 5.0  # width of the timeline rows


# ---------------------------------------------------------------------------------------------
# Small helpers


def pct(values: Sequence[float], q: float) -> float:
    """The q-quantile (nearest rank); NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def ms(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:,.1f}" if value < 100 else f"{value:,.0f}"


def load() -> str:
    try:
        one, five, fifteen = os.getloadavg()
    except OSError:
        return "load average unknown"
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f}"


def uptime() -> str:
    try:
        with open("/proc/uptime") as f:
            seconds = float(f.read().split()[0])
    except OSError:
        return load()
    return f"up {seconds / 60:.0f} min, {load()}"


class Clock:
    """The bot's clock, set by the benchmark."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def minimum_time(messages_per_channel: Sequence[int], requests: int, rate: float) -> dict:
    """The least time the limits allow: max(global bound, per-channel bound)."""
    limit, per = CHANNEL_LIMIT
    most = max(messages_per_channel, default=0)
    channel_bound = per * max(0, math.ceil(most / limit) - 1)
    global_bound = requests / rate
    return {
        "global": global_bound,
        "global_strict": max(0.0, (requests - rate) / rate),  # the bucket starts full (burst)
        "channel": channel_bound,
        "most_per_channel": most,
        "minimum": max(global_bound, channel_bound),
    }


# ---------------------------------------------------------------------------------------------
# The fake Discord and the slash-command driver (in the bot's process, or in one of its own)


@dataclass(frozen=True, slots=True)
class WorldSpec:
    guilds: int
    channels: int
    members: int  # per guild
    global_limit: float
    channel_limit: tuple[int, float]


@dataclass(frozen=True, slots=True)
class SlashRequest:
    kind: str
    command: str
    options: tuple[tuple[str, Any], ...] = ()


def _outcome(ack: dict | None) -> str:
    if ack is None:
        return "unacked"
    data = ack.get("data") or {}
    if ack.get("type") == 5:
        return "deferred"
    if data.get("embeds"):
        return "ok"
    content = data.get("content") or ""
    if "Something went wrong" in content:
        return "error"
    return "ok" if content else "empty"


class FakeHost:
    """The fake Discord with its servers, channels and members, plus an open-loop driver of
    slash commands. Runs in the bot's process (`LocalHost`) or in a child (`RemoteHost`)."""

    def __init__(self, spec: WorldSpec) -> None:
        self.spec = spec
        per, extra = divmod(spec.channels, spec.guilds)
        self.guilds: list[FakeGuild] = []
        self.members: list[tuple[FakeGuild, FakeUser]] = []
        for g in range(spec.guilds):
            count = per + (1 if g < extra else 0)
            names = ["general", *(f"digest-{i}" for i in range(count))]
            guild = FakeGuild.create(f"Bench guild {g}", channels=names)
            for u in range(spec.members):
                self.members.append((guild, guild.add_member(FakeUser.create(f"m{g}-{u}")).user))
            self.guilds.append(guild)
        self.fake = FakeDiscord(
            guilds=self.guilds,
            token=TOKEN,
            global_rate_limit=spec.global_limit,
            channel_message_limit=spec.channel_limit,
            channel_edit_limit=spec.channel_limit,
            strict=False,
        )
        self._stop: asyncio.Event | None = None
        self._generator: asyncio.Task | None = None
        self._pending: set[asyncio.Task] = set()
        self._samples: list[tuple] = []

    async def start(self) -> dict:
        await self.fake.start()
        return {
            "url": self.fake.url,
            "gateway_url": self.fake.gateway_url,
            "guilds": [
                {
                    "id": g.id,
                    "channels": [c.id for c in g.channels.values() if c.name != "general"],
                }
                for g in self.guilds
            ],
        }

    async def ready(self) -> None:
        await self.fake.wait_until_identified(timeout=60)
        await self.fake.wait_for_sync(None, timeout=60)  # global commands: every guild

    async def slash_start(self, requests: list[SlashRequest], rate: float, seed: int) -> None:
        self._samples = []
        self._stop = asyncio.Event()
        if rate > 0 and requests:
            self._generator = asyncio.create_task(self._generate(requests, rate, seed))

    async def slash_stop(self) -> list[tuple]:
        """Stop sending, wait for the answers of those sent; (kind, ack ms, ms from the
        scheduled arrival, ms the send was late, outcome) per interaction."""
        assert self._stop is not None
        self._stop.set()
        if self._generator is not None:
            await self._generator
            self._generator = None
        if self._pending:
            await asyncio.gather(*self._pending)
        return self._samples

    async def _generate(self, requests: list[SlashRequest], rate: float, seed: int) -> None:
        loop = asyncio.get_running_loop()
        rng = random.Random(seed)
        due = loop.time()
        assert self._stop is not None
        for n in itertools.count():
            due += rng.expovariate(rate)
            delay = due - loop.time()
            if delay > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), delay)
            if self._stop.is_set():
                return
            guild, user = self.members[rng.randrange(len(self.members))]
            task = asyncio.create_task(self._one(requests[n % len(requests)], guild, user, due))
            self._pending.add(task)
            task.add_done_callback(self._pending.discard)

    async def _one(self, request: SlashRequest, guild: FakeGuild, user: FakeUser, due: float):
        itx = await self.fake.slash(
            guild, guild.channel("general"), user, request.command, options=dict(request.options)
        )
        with contextlib.suppress(TimeoutError):
            await itx.response(timeout=self.fake.ack_timeout + 1.0)
        ack_ms = None if itx.ack_time is None else (itx.ack_time - itx.created) * 1000
        due_ms = None if itx.ack_time is None else (itx.ack_time - due) * 1000
        self._samples.append(
            (request.kind, ack_ms, due_ms, (itx.created - due) * 1000, _outcome(itx.ack))
        )

    def report(self, channel_ids: list[int]) -> dict:
        """What the fake saw: counters, 429s, violations, and each channel's messages."""
        fake = self.fake
        channels = {}
        for cid in channel_ids:
            created = fake.message_create_times(cid)
            messages = []
            for mid in fake.message_ids(cid):
                m = fake._messages[mid]
                if m.get("interaction_metadata") or m.get("webhook_id") or m["flags"] & 64:
                    continue
                urls = tuple(e.get("url") or e.get("title") or "" for e in m.get("embeds", []))
                first = (m.get("content") or "").split("\n", 1)[0]
                rows = len(m.get("components") or [])
                messages.append((mid, first, urls, rows))
            channels[cid] = {"created": created, "messages": messages}
        hits = Counter(
            (h.kind, "POST message" if re.fullmatch(r"/channels/\d+/messages", h.path) else h.path)
            for h in fake.rate_limit_hits
        )
        requests = [(r.time, r.route, r.status, fake._exempt(r.path)) for r in fake.requests]
        return {
            "stats": fake.stats(),
            "hits": dict(hits),
            "hit_times": [(h.kind, h.time, h.retry_after) for h in fake.rate_limit_hits],
            "violations": [str(v) for v in fake.violations],
            "channels": channels,
            "requests": requests,
        }

    async def close(self) -> None:
        await self.fake.close()


class LocalHost:
    """FakeHost in the bot's own process and event loop (as the e2e tests run it)."""

    mode = "in the bot's process and event loop"

    def __init__(self, spec: WorldSpec) -> None:
        self.host = FakeHost(spec)

    async def __aenter__(self) -> LocalHost:
        self.info = await self.host.start()
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.host.close()

    async def call(self, command: str, *args: Any) -> Any:
        result = getattr(self.host, command)(*args)
        return await result if asyncio.iscoroutine(result) else result


def _child(conn: Any, spec: WorldSpec) -> None:
    asyncio.run(_serve(conn, spec))


async def _serve(conn: Any, spec: WorldSpec) -> None:
    logging.basicConfig(level=logging.WARNING, format="fake: %(levelname)s %(name)s: %(message)s")
    host = FakeHost(spec)
    conn.send(await host.start())
    try:
        while True:
            command, *args = await asyncio.to_thread(conn.recv)
            if command == "stop":
                conn.send(("ok", None))
                return
            try:
                result = getattr(host, command)(*args)
                if asyncio.iscoroutine(result):
                    result = await result
                conn.send(("ok", result))
            except Exception as exc:  # reported to the parent, which raises it
                conn.send(("error", repr(exc)))
    finally:
        await host.close()


class RemoteHost:
    """FakeHost in a child process, driven over a pipe: the fake's CPU is not the bot's."""

    mode = "in a process of its own"

    def __init__(self, spec: WorldSpec) -> None:
        context = multiprocessing.get_context("spawn")
        self._conn, child_conn = context.Pipe()
        self._process = context.Process(
            target=_child, args=(child_conn, spec), name="bench-digest-fake", daemon=True
        )
        self._lock = asyncio.Lock()

    async def __aenter__(self) -> RemoteHost:
        self._process.start()
        self.info = await asyncio.to_thread(self._recv, 60.0)
        return self

    async def __aexit__(self, *exc: Any) -> None:
        with contextlib.suppress(Exception):
            await self.call("stop")
        await asyncio.to_thread(self._process.join, 10)
        if self._process.is_alive():
            self._process.kill()

    def _recv(self, timeout: float) -> Any:
        if not self._conn.poll(timeout):
            raise TimeoutError("the fake Discord process did not answer")
        return self._conn.recv()

    async def call(self, command: str, *args: Any) -> Any:
        async with self._lock:
            self._conn.send((command, *args))
            status, result = await asyncio.to_thread(self._recv, 600.0)
        if status != "ok":
            raise RuntimeError(f"fake Discord process: {command} failed: {result}")
        return result


# ---------------------------------------------------------------------------------------------
# The store


def day_papers(count: int, seed: int) -> list[Paper]:
    """`count` papers shaped like a Daily Papers day: each with an AI summary and a thumbnail."""
    corpus = Corpus(max(count, 100), seed)
    papers = []
    for paper in itertools.islice(corpus.iter_papers(), count):
        papers.append(
            replace(
                paper,
                image_url=f"https://cdn-thumbnails.huggingface.co/social-thumbnails/papers/{paper.id}.png",
                ai_summary=paper.ai_summary or corpus._sentence_pool[len(papers) * 7 % 6000],
            )
        )
    papers.sort(key=lambda p: p.upvotes or 0, reverse=True)
    return papers


async def build_store(
    path: Path, papers: list[Paper], channels: list[tuple[int, int]], card_format: str = "cards"
) -> None:
    async with open_store(path) as store, store.write() as conn:
        await save_daily_list(conn, DailyList(DAY, papers), DAY_END - timedelta(hours=2))
        ids = [p.id for p in papers]
        await record_poll(conn, DAY, ids, DAY_END + timedelta(minutes=10))
        state = await record_poll(conn, DAY, ids, DAY_END + timedelta(minutes=40))
        assert state.complete_at is not None, "the day should be complete"
        for guild_id, channel_id in channels:
            await save_subscription(
                conn,
                Subscription(
                    channel_id=channel_id,
                    guild_id=guild_id,
                    post_time=SLOT,
                    timezone="UTC",
                    language="en",
                    format=card_format,
                    created_at=DAY_END - timedelta(days=3),
                    created_by=1,
                ),
            )


def slash_mix(papers: list[Paper]) -> list[SlashRequest]:
    """/paper search (a title word), /paper show (an id of the day), /help: 2:2:1."""
    requests = []
    for paper in papers:
        words = [w.strip(":,") for w in paper.title.split() if len(w.strip(":,")) >= 5]
        requests.append(SlashRequest("search", "paper search", (("query", words[0]),)))
        requests.append(SlashRequest("show", "paper show", (("id", paper.id),)))
        if len(requests) % 4 == 0:
            requests.append(SlashRequest("help", "help"))
    random.Random(7).shuffle(requests)
    return requests


# ---------------------------------------------------------------------------------------------
# One run


class LagMonitor:
    """How late a 5 ms sleep wakes up in the bot's event loop, and the garbage collector's
    pauses meanwhile."""

    def __init__(self) -> None:
        self.lags: list[float] = []
        self.stalls: list[tuple[float, float]] = []  # (loop time, lag ms) of lags > 50 ms
        self.gcs: list[tuple[float, int, float]] = []  # (loop time, generation, pause ms)
        self._task: asyncio.Task | None = None
        self._gc_start = 0.0

    def start(self) -> None:
        self.lags, self.stalls, self.gcs = [], [], []
        gc.callbacks.append(self._on_gc)
        self._task = asyncio.create_task(self._run())

    def _on_gc(self, phase: str, info: dict) -> None:
        if phase == "start":
            self._gc_start = _time.perf_counter()
        else:
            pause = (_time.perf_counter() - self._gc_start) * 1000
            self.gcs.append((_time.monotonic(), info["generation"], pause))

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            before = loop.time()
            await asyncio.sleep(0.005)
            lag = (loop.time() - before - 0.005) * 1000
            self.lags.append(lag)
            if lag > 50:
                self.stalls.append((before, lag))

    async def stop(self) -> list[float]:
        gc.callbacks.remove(self._on_gc)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        return self.lags


@dataclass
class Run:
    """Everything measured in one run."""

    channels: int
    guilds: int
    papers: int
    rate: float
    total_s: float = 0.0
    t0: float = 0.0
    planned: list[int] = field(default_factory=list)  # messages per channel
    requests: int = 0  # non-exempt requests answered (not 429) during the fan-out
    other_requests: Counter = field(default_factory=Counter)
    minimum: dict = field(default_factory=dict)
    hits: dict = field(default_factory=dict)
    hit_times: list = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    slash: list[tuple] = field(default_factory=list)
    idle_slash: list[tuple] = field(default_factory=list)
    lags: list[float] = field(default_factory=list)
    stalls: list[tuple[float, float]] = field(default_factory=list)
    gcs: list[tuple[float, int, float]] = field(default_factory=list)
    spans: dict[int, tuple[float, float]] = field(default_factory=dict)  # post start, end
    created: dict[int, list[float]] = field(default_factory=dict)  # fake's create times
    pacer: list[float] = field(default_factory=list)  # times the pacer let a request go
    problems: list[str] = field(default_factory=list)
    checked: int = 0
    cpu_s: float = 0.0
    load_before: str = ""
    load_after: str = ""

    @property
    def ratio(self) -> float:
        return self.total_s / self.minimum["minimum"] if self.minimum.get("minimum") else math.nan

    def slash_ms(self, which: str = "fanout", column: int = 1) -> list[float]:
        rows = self.slash if which == "fanout" else self.idle_slash
        return [row[column] for row in rows if row[column] is not None]


async def settle(bot: PaperBot, services: Any) -> None:
    """Wait for the start-up ingest round and the scheduler's first post check (once the bot
    is ready); after it the next one is POST_CHECK_SECONDS away, so only the benchmark posts."""
    deadline = _time.monotonic() + 30
    while _time.monotonic() < deadline:
        job = services.scheduler.get_job("post-check")
        later = job is None or job.next_run_time > datetime.now(UTC) + timedelta(seconds=60)
        if services.ingest.runs and later:
            return
        await asyncio.sleep(0.1)
    raise TimeoutError("the bot's start-up jobs did not run within 30 s")


async def run_once(args: argparse.Namespace, number: int) -> Run:
    spec = WorldSpec(args.guilds, args.channels, args.members, args.global_limit, CHANNEL_LIMIT)
    papers = day_papers(args.papers, args.seed)
    requests = slash_mix(papers)
    workdir = Path(tempfile.mkdtemp(prefix="paperboy-bench-digest-"))
    host_cls = RemoteHost if args.fake_process else LocalHost
    old_base = discord.http.Route.BASE
    old_gateway = discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    run = Run(args.channels, args.guilds, args.papers, args.rate)
    try:
        async with host_cls(spec) as host:
            info = host.info
            channels = [(g["id"], c) for g in info["guilds"] for c in g["channels"]]
            await build_store(workdir / "bot.db", papers, channels, args.format)
            settings = load_settings(
                {
                    "DISCORD_TOKEN": TOKEN,
                    "PAPERBOY_DB": str(workdir / "bot.db"),
                    "HF_API_BASE": NOWHERE,
                    "ARXIV_API_BASE": NOWHERE,
                    "DISCORD_API_BASE": f"{info['url']}/api/v10",
                    "DISCORD_GATEWAY_URL": info["gateway_url"],
                    "HTTP_RETRIES": "0",
                    "HTTP_TIMEOUT": "2",
                    "LOG_LEVEL": "WARNING",
                    "INGEST_INTERVAL_SECONDS": "3600",
                    "POST_CHECK_SECONDS": "3600",
                    "DISCORD_REQUESTS_PER_SECOND": str(args.rate),
                },
                env_file=None,
            )
            configure_endpoints(settings)
            clock = Clock(DAY_END + timedelta(hours=8))  # 08:00 UTC: nothing due yet
            async with open_services(settings, clock=clock) as services:
                bot = PaperBot(services, guild_ready_timeout=0.05)
                task = asyncio.create_task(bot.start(TOKEN))
                try:
                    await host.call("ready")
                    await asyncio.wait_for(bot.wait_until_ready(), 60)
                    await settle(bot, services)
                    await fan_out(args, run, bot, services, host, clock, requests, number)
                finally:
                    await bot.close()
                    await asyncio.wait_for(task, 30)
    finally:
        discord.http.Route.BASE = old_base
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = old_gateway
        shutil.rmtree(workdir, ignore_errors=True)
    return run


async def fan_out(
    args: argparse.Namespace,
    run: Run,
    bot: PaperBot,
    services: Any,
    host: LocalHost | RemoteHost,
    clock: Clock,
    requests: list[SlashRequest],
    number: int,
) -> None:
    cog = bot.get_cog("Digest")
    jobs, poster = cog.jobs, cog.poster
    loop = asyncio.get_running_loop()
    store = services.store

    # The plan every channel should get (all subscriptions have the same options).
    subs = await all_subscriptions(store.reader)
    listed, shown = await poster.digest_papers(DAY, DigestOptions.of(subs[0]))
    plan = make_plan(DAY, listed, shown, DigestOptions.of(subs[0]))
    expected = [
        await poster.render(plan, part, subs[0].guild_id) for part in range(len(plan["parts"]))
    ]
    run.planned = [len(plan["parts"])] * len(subs)

    # Idle baseline: the same slash load with nothing else going on.
    if args.idle_seconds > 0 and args.slash_rate > 0:
        await host.call("slash_start", requests, args.slash_rate, args.seed + number)
        await asyncio.sleep(args.idle_seconds)
        run.idle_slash = await host.call("slash_stop")

    # Instrument the poster (on the instance only): when each post starts and ends, and when
    # the pacer lets each request go.
    original_post, original_wait = poster.post, poster.pacer.wait

    async def timed_post(**kwargs: Any):
        start = loop.time()
        try:
            return await original_post(**kwargs)
        finally:
            run.spans[kwargs["channel_id"]] = (start, loop.time())

    async def timed_wait() -> None:
        await original_wait()
        run.pacer.append(loop.time())

    poster.post, poster.pacer.wait = timed_post, timed_wait
    parallel = bot_scheduler.MAX_PARALLEL_CHANNELS
    if args.what_if_parallel:
        bot_scheduler.MAX_PARALLEL_CHANNELS = args.what_if_parallel  # read by post_due
    lag = LagMonitor()
    clock.now = DAY_END + timedelta(hours=9, minutes=1)  # 09:01 UTC: every channel is due
    run.load_before = load()
    await host.call("slash_start", requests, args.slash_rate, args.seed + 100 + number)
    lag.start()
    cpu = _time.process_time()
    run.t0 = loop.time()
    posts = await jobs.post_due()
    run.total_s = loop.time() - run.t0
    run.cpu_s = _time.process_time() - cpu
    run.lags = await lag.stop()
    run.stalls, run.gcs = lag.stalls, lag.gcs
    run.slash = await host.call("slash_stop")
    run.load_after = load()
    poster.post, poster.pacer.wait = original_post, original_wait
    bot_scheduler.MAX_PARALLEL_CHANNELS = parallel

    # What Discord saw, and what the store says.
    report = await host.call("report", [s.channel_id for s in subs])
    run.hits, run.hit_times, run.violations = (
        report["hits"],
        report["hit_times"],
        report["violations"],
    )
    t1 = run.t0 + run.total_s
    for when, route, status, exempt in report["requests"]:
        if run.t0 <= when <= t1 + 0.001 and status != 429 and not exempt:
            run.requests += 1
            if route != "POST /channels/{cid}/messages":
                run.other_requests[route] += 1
    want = [
        (
            r.content.split("\n", 1)[0] if r.content else "",
            tuple(e.url or e.title or "" for e in r.embeds),
        )
        for r in expected
    ]
    if len(posts) != len(subs):
        run.problems.append(f"post_due returned {len(posts)} posts for {len(subs)} channels")
    for sub in subs:
        seen = report["channels"][sub.channel_id]
        run.created[sub.channel_id] = seen["created"]
        got = [(first, urls) for _, first, urls, _ in seen["messages"]]
        post = await get_post(store.reader, sub.channel_id, DAY)
        where = f"channel {sub.channel_id}"
        if got != want:
            run.problems.append(
                f"{where}: {len(got)} messages, expected {len(want)} in the planned order"
                + (" (a duplicate)" if len(got) > len(want) else "")
            )
        elif post is None or post.state != POSTED:
            run.problems.append(f"{where}: post is {post.state if post else 'missing'}")
        elif [post.messages.get(p) for p in range(len(plan["parts"]))] != [
            m[0] for m in seen["messages"]
        ]:
            run.problems.append(f"{where}: the posts table's message ids differ from Discord's")
        else:
            run.checked += 1
    run.minimum = minimum_time(run.planned, run.requests, args.global_limit)


# ---------------------------------------------------------------------------------------------
# Reporting


def describe_run(run: Run, args: argparse.Namespace, number: int) -> None:
    m = run.minimum
    total_messages = sum(run.planned)
    per = run.planned[0] if run.planned else 0
    print(f"\n== run {number}: {load()} at the end ==")
    print(
        f"  {run.channels} channels ({run.guilds} guilds), {run.papers} papers ->"
        f" {per} messages each (1 header + cards, up to {CARDS_PER_MESSAGE} a message);"
        f" {total_messages:,} messages"
    )
    print(
        f"  fan-out (post_due call -> return, every post recorded as posted): {run.total_s:.2f} s"
    )
    print(
        f"  minimum: max({run.requests:,} requests / {args.global_limit:g} per s ="
        f" {m['global']:.2f} s, per channel {m['most_per_channel']} messages at"
        f" {CHANNEL_LIMIT[0]} per {CHANNEL_LIMIT[1]:g} s = {m['channel']:.2f} s) ="
        f" {m['minimum']:.2f} s  (strictly, with the bucket's burst of {args.global_limit:g}:"
        f" {m['global_strict']:.2f} s)"
    )
    verdict = "MEETS" if run.ratio <= TARGET_RATIO else "MISSES"
    print(f"  ratio total / minimum = {run.ratio:.3f}  (target <= {TARGET_RATIO}: {verdict})")
    pace = run.requests / run.rate
    print(
        f"  the bot's own pacing (DISCORD_REQUESTS_PER_SECOND={run.rate:g}) allows no less than"
        f" {pace:.2f} s; total / that = {run.total_s / pace:.3f}"
    )
    if run.other_requests:
        print(f"  requests other than message creates: {dict(run.other_requests)}")
    kinds = Counter()
    for (kind, _route), count in run.hits.items():
        kinds[kind] += count
    print(
        f"  429s sent by the fake: global {kinds['global']}, channel {kinds['channel']},"
        f" fault {kinds['fault']}" + (f"  (by route: {run.hits})" if run.hits else "")
    )
    # Timeline
    starts = [s for s, _ in run.spans.values()]
    ends = [e for _, e in run.spans.values()]
    lasts = {c: t[-1] for c, t in run.created.items() if t}
    firsts = [t[0] for t in run.created.values() if t]
    all_created = sorted(x for t in run.created.values() for x in t)
    if all_created:
        first, last = all_created[0] - run.t0, all_created[-1] - run.t0
        print(
            f"  first message created at +{first:.2f} s, last at +{last:.2f} s; post_due returned"
            f" {run.total_s - last:.2f} s after the last message"
            f" ({(len(all_created) - 1) / max(1e-9, last - first):.1f} messages/s in between)"
        )
    tails = [run.spans[c][1] - lasts[c] for c in lasts if c in run.spans]
    spans = [e - s for s, e in run.spans.values()]
    print(
        f"  per channel: post duration p50 {pct(spans, 0.5):.2f} s, max {max(spans):.2f} s;"
        f" first to last message p50"
        f" {pct([t[-1] - t[0] for t in run.created.values() if t], 0.5):.2f} s;"
        f" last message -> post returned (discord.py sleeping on the channel's exhausted"
        f" bucket) p50 {pct(tails, 0.5):.2f} s, max {max(tails, default=0):.2f} s"
    )
    if run.pacer:
        gaps = [b - a for a, b in itertools.pairwise(run.pacer)]
        print(
            f"  pacer: {len(run.pacer):,} requests let go, interval p50"
            f" {pct(gaps, 0.5) * 1000:.1f} ms (1/rate = {1000 / run.rate:.1f} ms), gaps > 2/rate:"
            f" {sum(1 for g in gaps if g > 2 / run.rate)} summing to"
            f" {sum(g for g in gaps if g > 2 / run.rate):.2f} s"
        )
    # Rows of BUCKET_S seconds: messages created, posts in flight (of which in the tail sleep)
    print(
        f"  timeline ({BUCKET_S:g} s rows): messages created / posts in flight (mean) / of which"
        " all messages out, waiting in discord.py / posts started"
    )
    horizon = run.total_s
    rows = math.ceil(horizon / BUCKET_S)
    for row in range(rows):
        lo, hi = run.t0 + row * BUCKET_S, run.t0 + min(horizon, (row + 1) * BUCKET_S)
        made = sum(1 for x in all_created if lo <= x < hi)
        steps = 50
        flying = tail = 0.0
        for k in range(steps):
            t = lo + (hi - lo) * (k + 0.5) / steps
            for c, (s, e) in run.spans.items():
                if s <= t < e:
                    flying += 1
                    if c in lasts and lasts[c] <= t:
                        tail += 1
        started = sum(1 for s in starts if lo <= s < hi)
        print(
            f"    +{row * BUCKET_S:5.0f} s  {made:5d} msgs ({made / max(1e-9, hi - lo):5.1f}/s)"
            f"  in flight {flying / steps:5.1f}  waiting {tail / steps:5.1f}  started {started:4d}"
        )
    del firsts, ends
    # Slash commands
    for which, label in (("idle", "before the fan-out (idle)"), ("fanout", "during the fan-out")):
        rows = run.idle_slash if which == "idle" else run.slash
        if not rows:
            continue
        ack = run.slash_ms(which, 1)
        due = run.slash_ms(which, 2)
        late = [r[3] for r in rows]
        outcomes = Counter(r[4] for r in rows)
        verdict = ""
        if which == "fanout":
            verdict = f"  (target p99 <= {TARGET_P99_MS:.0f} ms: " + (
                "MEETS)" if pct(ack, 0.99) <= TARGET_P99_MS else "MISSES)"
            )
        print(
            f"  slash commands {label}: n={len(rows)}, INTERACTION_CREATE -> callback p50"
            f" {ms(pct(ack, 0.5))} / p99 {ms(pct(ack, 0.99))} /"
            f" max {ms(max(ack, default=math.nan))} ms{verdict}"
        )
        print(
            f"    from the scheduled arrival: p50 {ms(pct(due, 0.5))} / p99 {ms(pct(due, 0.99))} /"
            f" max {ms(max(due, default=math.nan))} ms; sent late by the generator p99"
            f" {ms(pct(late, 0.99))} ms; outcomes {dict(outcomes)}; by kind p50/p99: "
            + ", ".join(
                f"{k} {ms(pct(v, 0.5))}/{ms(pct(v, 0.99))}"
                for k in sorted({r[0] for r in rows})
                for v in [[r[1] for r in rows if r[0] == k and r[1] is not None]]
            )
        )
    if run.stalls or run.gcs:
        slow = sorted(run.stalls, key=lambda x: -x[1])[:5]
        full = [g for g in run.gcs if g[1] == 2]
        print(
            f"  event-loop stalls > 50 ms: {len(run.stalls)}"
            + (
                " (worst at "
                + ", ".join(f"+{t - run.t0:.1f} s {lag:.0f} ms" for t, lag in slow)
                + ")"
                if slow
                else ""
            )
            + f"; GC: {len(run.gcs)} collections, {len(full)} full, longest"
            f" {max((g[2] for g in run.gcs), default=0):.0f} ms"
            + (
                " (full ones at "
                + ", ".join(f"+{t - run.t0:.1f} s {p:.0f} ms" for t, _, p in full)
                + ")"
                if full
                else ""
            )
        )
    if run.lags:
        print(
            f"  bot's event loop: a 5 ms sleep woke late by p50 {ms(pct(run.lags, 0.5))} / p99"
            f" {ms(pct(run.lags, 0.99))} / max {ms(max(run.lags))} ms; bot process CPU"
            f" {run.cpu_s:.1f} s over {run.total_s:.1f} s ({run.cpu_s / run.total_s:.2f} cores)"
        )
    status = "OK" if not run.problems and not run.violations else "FAILED"
    print(
        f"  verification {status}: {run.checked}/{run.channels} channels got exactly the planned"
        f" {per} messages in order (header, then the cards' papers), posts table posted with"
        f" Discord's message ids; fake Discord violations: {len(run.violations)}"
    )
    for problem in run.problems[:10]:
        print(f"    problem: {problem}")
    if len(run.problems) > 10:
        print(f"    ... and {len(run.problems) - 10} more problems")
    for violation in run.violations[:10]:
        print(f"    violation: {violation}")


def summarize(runs: list[Run], args: argparse.Namespace) -> None:
    def med(values: list[float]) -> float:
        return statistics.median(values) if values else math.nan

    print(f"\n== Summary: {len(runs)} run(s), medians ==")
    print(
        "  (msgs/s: between the first and the last message; tail: last message -> post_due"
        " returned; slash ms: INTERACTION_CREATE -> callback, and p99 from the scheduled arrival)"
    )
    print(
        f"  {'run':>3} {'total s':>7} {'min s':>6} {'ratio':>6} {'msgs/s':>6} {'tail s':>6}"
        f" {'429 g/c':>7} | {'slash n':>7} {'p50':>5} {'p99':>5} {'max':>5} {'arr.p99':>7} |"
        f" {'lag p99':>7} | checks"
    )
    for n, run in enumerate(runs, 1):
        kinds = Counter()
        for (kind, _route), count in run.hits.items():
            kinds[kind] += count
        ack = run.slash_ms()
        ok = "ok" if not run.problems and not run.violations else "FAILED"
        made = sorted(x for t in run.created.values() for x in t)
        span = made[-1] - made[0] if len(made) > 1 else math.nan
        tail = run.t0 + run.total_s - made[-1] if made else math.nan
        print(
            f"  {n:>3} {run.total_s:>7.2f} {run.minimum['minimum']:>6.2f} {run.ratio:>6.3f}"
            f" {(len(made) - 1) / span:>6.1f} {tail:>6.2f}"
            f" {kinds['global']:>3}/{kinds['channel']:<3} | {len(ack):>7} {ms(pct(ack, 0.5)):>5}"
            f" {ms(pct(ack, 0.99)):>5} {ms(max(ack, default=math.nan)):>5}"
            f" {ms(pct(run.slash_ms(column=2), 0.99)):>7} | {ms(pct(run.lags, 0.99)):>7} | {ok}"
        )
    ratio = med([r.ratio for r in runs])
    p99 = med([pct(r.slash_ms(), 0.99) for r in runs])
    print(
        f"  median: total {med([r.total_s for r in runs]):.2f} s vs minimum"
        f" {med([r.minimum['minimum'] for r in runs]):.2f} s, ratio {ratio:.3f}"
        f" (target <= {TARGET_RATIO}: {'MEETS' if ratio <= TARGET_RATIO else 'MISSES'});"
        f" slash p50 {ms(med([pct(r.slash_ms(), 0.5) for r in runs]))} ms, p99 {ms(p99)} ms"
        f" (target <= {TARGET_P99_MS:.0f}: {'MEETS' if p99 <= TARGET_P99_MS else 'MISSES'})"
    )


async def amain(args: argparse.Namespace) -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    # discord.py logs every 429 it retries at WARNING; the fake counts them instead.
    logging.getLogger("discord.http").setLevel(logging.ERROR)
    # The start-up ingest polls Hugging Face at an address that refuses connections.
    logging.getLogger("bot.scheduler").setLevel(logging.ERROR)
    logging.getLogger("bot.sources").setLevel(logging.CRITICAL)
    print(f"paperboy digest fan-out benchmark, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    print(
        f"python {sys.version.split()[0]}, discord.py {discord.__version__},"
        f" {os.cpu_count()} cpus; {uptime()}"
    )
    print(
        f"fake Discord {'in a process of its own' if args.fake_process else 'in the bot process'}:"
        f" {args.global_limit:g} requests/s globally (token bucket, burst {args.global_limit:g};"
        " interaction callbacks and followups exempt), "
        f"{CHANNEL_LIMIT[0]} messages per {CHANNEL_LIMIT[1]:g} s per channel (edits: their own"
        " bucket, same limit)"
    )
    print(
        f"bot: DISCORD_REQUESTS_PER_SECOND={args.rate:g} (the Pacer),"
        f" MAX_PARALLEL_CHANNELS={bot_scheduler.MAX_PARALLEL_CHANNELS}; {args.channels} channels"
        f" over {args.guilds} guilds, {args.papers} papers; slash commands {args.slash_rate:g}/s"
        f" (Poisson) from {args.members} members per guild: /paper search, /paper show, /help"
    )
    if args.what_if_parallel:
        print(
            "WHAT-IF RUN (patched in this process only, bot code unchanged):"
            + (f" MAX_PARALLEL_CHANNELS={args.what_if_parallel}" if args.what_if_parallel else "")
        )
    runs = []
    for number in range(1, args.repeat + 1):
        run = await run_once(args, number)
        describe_run(run, args, number)
        runs.append(run)
    summarize(runs, args)
    print(f"at the end: {uptime()}")


def main(argv: list[str] | None = None) -> None:
    default_rate = Settings().discord_requests_per_second
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--channels", type=int, default=500, help="subscribed channels")
    parser.add_argument(
        "--format",
        default="cards",
        choices=("cards", "embeds", "compact"),
        help="the channels' digest format (cards: Components V2, 3 a message; embeds: 5)",
    )
    parser.add_argument("--guilds", type=int, default=50, help="servers they are spread over")
    parser.add_argument("--papers", type=int, default=20, help="papers on the day")
    parser.add_argument(
        "--rate",
        type=float,
        default=default_rate,
        help=f"DISCORD_REQUESTS_PER_SECOND for the bot (default: the setting's {default_rate:g})",
    )
    parser.add_argument(
        "--global-limit", type=float, default=GLOBAL_LIMIT, help="the fake's global requests/s"
    )
    parser.add_argument("--slash-rate", type=float, default=10.0, help="slash commands per second")
    parser.add_argument(
        "--idle-seconds", type=float, default=5.0, help="slash load alone before the fan-out"
    )
    parser.add_argument("--members", type=int, default=5, help="members per guild sending them")
    parser.add_argument("--repeat", type=int, default=1, help="runs (fresh store, bot and fake)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--what-if-parallel",
        type=int,
        default=0,
        help="what-if: set bot.scheduler.MAX_PARALLEL_CHANNELS for the run (the bot ships 100)",
    )
    parser.add_argument(
        "--fake-process",
        action="store_true",
        help="run the fake Discord and the slash driver in a child process (default: in the"
        " bot's process and event loop, as the e2e tests do)",
    )
    args = parser.parse_args(argv)
    if args.guilds < 1 or args.channels < args.guilds:
        parser.error("--channels must be at least --guilds (>= 1)")
    asyncio.run(amain(args))


if __name__ == "__main__":
    main()
