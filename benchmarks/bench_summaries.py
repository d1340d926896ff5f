"""Summaries benchmark: one day of papers to many channels in several languages (issue 9).

    python -m benchmarks.bench_summaries                   # 500 channels, 50 papers, ko/ja/de
    python -m benchmarks.bench_summaries --channels 30 --guilds 3 --slow 2  # a short run
    python -m benchmarks.bench_summaries --skip-slow       # parts 1 and 2 only

The real bot in-process (as benchmarks/bench_digest.py starts it, reusing its fake-Discord host,
store helpers and `settle`), the fake Discord (tests/fake_discord.py), the loopback Hugging Face
server (tests/http_fixture_server.py) serving the day's list, and the fake OpenAI-compatible
server (tests/fake_openai.py) answering each request with good bullets in the language asked
for, after `--answer-seconds` (parts 1-2) or `--slow` seconds (part 3).

The store holds `--papers` synthetic papers (benchmarks/corpus.py) of 2024-01-17 and
`--channels` subscriptions, their languages taken in turn from `--languages`, default filters
(every paper posted). The start-up ingest round is the day's first poll after its end; the
benchmark's own round is the second, which completes the day.

1. Model calls for the day, next to the number of channels (target <= papers x languages +
   retries), and a second ingest round afterwards (target: 0 calls).
2. Time from the start of the completing ingest round to every summary stored, model answering
   in `--answer-seconds` at `LLM_CONCURRENCY` `--concurrency`; the ideal is
   ceil(pairs / concurrency) x answer seconds.
3. A slow model (60 s per answer in reality) scaled down by f = `--slow` / 60: the answer takes
   `--slow` s and every time setting of the bot is multiplied by f as well --
   SUMMARY_GRACE_MINUTES (`--grace` x f), POST_CHECK_SECONDS (60 x f), INGEST_INTERVAL_SECONDS
   (1800 x f), LLM_TIMEOUT (`--llm-timeout` x f) -- while the bot's clock (a fake one, moving with
   real time from the moment set) runs 1:1. The Discord side is not scaled (its rate limits are
   real): a fan-out that takes T s takes T s at any f. The channels post at the moment the day
   completes; the digest is on time when its first message was created by
   max(slot, completion) + grace, the moment the scheduler stops waiting for summaries. It
   prints that share, how late the others were (in scaled seconds and in real-life ones, / f),
   when the last message went out, and how many cards were edited later, when the summaries
   arrived (the ingest rounds' refresh). See benchmarks/README_summaries.md.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import re
import shutil
import sys
import tempfile
import time as _time
from collections import Counter
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT / "tests") not in sys.path:  # the fakes live in tests/, as for bench_digest
    sys.path.insert(0, str(ROOT / "tests"))

import discord  # noqa: E402
from aiohttp import web  # noqa: E402
from fake_openai import Answer, FakeOpenAI  # noqa: E402
from http_fixture_server import FixtureServer, Reply  # noqa: E402

from benchmarks.bench_digest import (  # noqa: E402
    CHANNEL_LIMIT,
    DAY,
    DAY_END,
    GLOBAL_LIMIT,
    TOKEN,
    LocalHost,
    WorldSpec,
    day_papers,
    pct,
    settle,
    uptime,
)
from bot.app import PaperBot, configure_endpoints, open_services  # noqa: E402
from bot.config import load_settings  # noqa: E402
from bot.digest import CARDS_PER_MESSAGE  # noqa: E402
from bot.models import DailyList, Paper  # noqa: E402
from storage import open_store  # noqa: E402
from storage.papers import save_daily_list  # noqa: E402
from storage.posts import POSTED, get_post  # noqa: E402
from storage.subscriptions import Subscription, all_subscriptions, save_subscription  # noqa: E402

MODEL = "bench-model"
REAL_SLOW = 60.0  # seconds per answer of the slow model the scaled run stands for

# Bullets that pass the checks (3-7 of 8-400 characters, the language's script, no numbers).
BULLETS = {
    "ko": [
        "이 논문은 새로운 방법을 제안합니다.",
        "저자들은 기존 연구의 한계를 분석합니다.",
        "제안된 방법은 여러 벤치마크에서 평가됩니다.",
        "실험 결과는 방법의 효과를 보여 줍니다.",
        "코드와 데이터는 공개될 예정입니다.",
    ],
    "ja": [
        "この論文は新しい手法を提案しています。",
        "著者らは既存研究の限界を分析しています。",
        "提案手法は複数のベンチマークで評価されます。",
        "実験結果は手法の有効性を示しています。",
        "コードとデータは公開される予定です。",
    ],
    "de": [
        "Die Arbeit stellt eine neue Methode vor.",
        "Die Autoren untersuchen die Grenzen früherer Ansätze.",
        "Die Methode wird auf mehreren Benchmarks bewertet.",
        "Die Ergebnisse zeigen die Wirksamkeit des Verfahrens.",
        "Code und Daten sollen veröffentlicht werden.",
    ],
    "en": [
        "The paper proposes a new method.",
        "The authors analyse the limits of earlier work.",
        "The method is evaluated on several benchmarks.",
        "The results show that the method works.",
        "Code and data are to be released.",
    ],
}
NAMES = {"Korean": "ko", "Japanese": "ja", "German": "de", "English": "en"}


class Model(FakeOpenAI):
    """The fake server answering every request with good bullets in the language asked for,
    after `delay` seconds."""

    def __init__(self, delay: float) -> None:
        super().__init__()
        self.delay = delay

    async def _handle(self, request: web.Request):  # type: ignore[override]
        text = (await request.read()).decode()  # cached: the base class reads it again
        found = re.search(r"Bullets in (\w+)", text)
        language = NAMES.get(found[1] if found else "", "en")
        # No await between scripting and the base class taking the answer.
        self.script(Answer.bullets(BULLETS[language]).slow(self.delay))
        return await super()._handle(request)


class RealClock:
    """The bot's clock: a fake date, moving with real (monotonic) time from the moment set."""

    def __init__(self, now: datetime) -> None:
        self.set(now)

    def set(self, now: datetime) -> None:
        self.base, self.m0 = now, _time.monotonic()

    def __call__(self) -> datetime:
        return self.at(_time.monotonic())

    def at(self, monotonic: float) -> datetime:
        return self.base + timedelta(seconds=monotonic - self.m0)


def hf_item(paper: Paper) -> dict:
    """A paper in the shape of Hugging Face's Daily Papers list."""
    return {
        "paper": {
            "id": paper.id,
            "title": paper.title,
            "authors": [{"name": name} for name in paper.authors],
            "upvotes": paper.upvotes or 0,
            "summary": paper.abstract,
            "ai_summary": paper.ai_summary,
        },
        "thumbnail": paper.image_url,
    }


async def build_store(path: Path, papers: list[Paper]) -> None:
    """The day's list, not polled yet."""
    async with open_store(path) as store, store.write() as conn:
        await save_daily_list(conn, DailyList(DAY, papers), DAY_END - timedelta(hours=2))


async def subscribe(
    store: Any, channels: list[tuple[int, int]], languages: list[str], slot: time
) -> None:
    """One subscription per channel, languages in turn."""
    async with store.write() as conn:
        for n, (guild_id, channel_id) in enumerate(channels):
            await save_subscription(
                conn,
                Subscription(
                    channel_id=channel_id, guild_id=guild_id, post_time=slot, timezone="UTC",
                    language=languages[n % len(languages)],
                    created_at=DAY_END - timedelta(days=3), created_by=1,
                ),
            )  # fmt: skip


async def stored_summaries(store: Any) -> int:
    rows = await store.reader.execute_fetchall(
        "SELECT count(*) FROM summaries WHERE source LIKE 'model:%'"
    )
    return rows[0][0]


class Bench:
    """One world: fake Discord, Hugging Face and model servers, a store, the running bot."""

    def __init__(self, args: argparse.Namespace, delay: float, extra: dict[str, str]) -> None:
        self.args, self.delay, self.extra = args, delay, extra

    async def __aenter__(self) -> Bench:
        args = self.args
        self.workdir = Path(tempfile.mkdtemp(prefix="paperboy-bench-summaries-"))
        self.old = (discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY)
        spec = WorldSpec(args.guilds, args.channels, 0, GLOBAL_LIMIT, CHANNEL_LIMIT)
        self.host = await LocalHost(spec).__aenter__()
        self.hf = await FixtureServer().__aenter__()
        self.model = await Model(self.delay).__aenter__()
        self.papers = day_papers(args.papers, args.seed)
        self.hf.add(
            "/api/daily_papers",
            Reply.json([hf_item(p) for p in self.papers]),
            query={"date": DAY.isoformat(), "p": 0},
        )
        info = self.host.info
        self.channels = [(g["id"], c) for g in info["guilds"] for c in g["channels"]]
        db = self.workdir / "bot.db"
        self.slot = self.extra.pop("slot")
        subscribed = self.extra.pop("subscribed_at_start")
        await build_store(db, self.papers)
        if subscribed:  # the start-up round sees the channels: summaries are written from it
            async with open_store(db) as store:
                await subscribe(store, self.channels, args.languages, self.slot)
        settings = load_settings(
            {
                "DISCORD_TOKEN": TOKEN,
                "PAPERBOY_DB": str(db),
                "HF_API_BASE": self.hf.url,
                "ARXIV_API_BASE": self.hf.url,
                "DISCORD_API_BASE": f"{info['url']}/api/v10",
                "DISCORD_GATEWAY_URL": info["gateway_url"],
                "HTTP_RETRIES": "0",
                "HTTP_TIMEOUT": "5",
                "LOG_LEVEL": "WARNING",
                "LLM_BASE_URL": self.model.url,
                "LLM_MODEL": MODEL,
                "LLM_CONCURRENCY": str(args.concurrency),
                "LLM_MAX_CALLS_PER_DAY": "0",
                "DISCORD_REQUESTS_PER_SECOND": str(args.rate),
                **self.extra,
            },
            env_file=None,
        )
        configure_endpoints(settings)
        # 00:10 UTC on the next day: the start-up round is the day's first poll after its end.
        self.clock = RealClock(DAY_END + timedelta(minutes=10))
        self._services_cm = open_services(settings, clock=self.clock)
        self.services = await self._services_cm.__aenter__()
        self.bot = PaperBot(self.services, guild_ready_timeout=0.05)
        self.task = asyncio.create_task(self.bot.start(TOKEN))
        await self.host.call("ready")
        await asyncio.wait_for(self.bot.wait_until_ready(), 60)
        if float(self.extra.get("POST_CHECK_SECONDS", "3600")) >= 600:
            await settle(self.bot, self.services)  # start-up ingest and first post check
        else:  # part 3: post checks every few seconds; the start-up ingest round is enough
            while not self.services.ingest.runs:  # noqa: ASYNC110 (a counter, no event)
                await asyncio.sleep(0.05)
        return self

    async def __aexit__(self, *exc: Any) -> None:
        try:
            await self.bot.close()
            await asyncio.wait_for(self.task, 30)
            await self._services_cm.__aexit__(None, None, None)
        finally:
            await self.model.__aexit__(None, None, None)
            await self.hf.__aexit__(None, None, None)
            await self.host.__aexit__(None, None, None)
            discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = self.old
            shutil.rmtree(self.workdir, ignore_errors=True)

    async def subscribe(self) -> None:
        await subscribe(self.services.store, self.channels, self.args.languages, self.slot)

    @property
    def summaries(self):
        return self.services.summaries

    def pairs(self) -> int:
        return len(self.papers) * len(set(self.args.languages))


# ---------------------------------------------------------------------------------------------
# Parts 1 and 2: calls per day, and time to all summaries stored


async def fast(args: argparse.Namespace) -> None:
    extra = {"INGEST_INTERVAL_SECONDS": "3600", "POST_CHECK_SECONDS": "3600", "slot": time(9)}
    extra["LLM_TIMEOUT"] = str(max(60.0, args.answer_seconds * 4))
    # The channels subscribe after the start-up round: the completing round is the first to
    # plan summaries (the worst case; a list seen earlier is written earlier, see part 3).
    async with Bench(args, args.answer_seconds, {**extra, "subscribed_at_start": False}) as b:
        await b.subscribe()
        before = len(b.model.completions)
        assert before == 0 and b.summaries.writing(args.languages[0]) is False
        loop = asyncio.get_running_loop()
        b.clock.set(DAY_END + timedelta(minutes=40))
        t0 = loop.time()
        report = await b.services.ingest.run()  # the round that completes the day
        t_round = loop.time() - t0
        state = report.days.get(DAY)
        completed = state is not None and state.complete_at is not None
        await b.summaries.idle()
        t_all = loop.time() - t0
        calls = len(b.model.completions)
        stored = await stored_summaries(b.services.store)
        stats = b.summaries.stats
        # A second round: everything is stored.
        b.clock.set(DAY_END + timedelta(minutes=70))
        await b.services.ingest.run()
        await b.summaries.idle()
        second = len(b.model.completions) - calls
        pairs = b.pairs()
        rounds = math.ceil(pairs / args.concurrency)
        ideal = rounds * args.answer_seconds
        gaps = sorted(r.arrived for r in b.model.completions[:calls])
        langs = args.languages
        per = Counter(langs[n % len(langs)] for n in range(args.channels))
        print(f"\n== 1. model calls for the day ({args.answer_seconds:g} s answers) ==")
        print(
            f"  {args.channels} channels in {len(per)} languages"
            f" ({', '.join(f'{k} {v}' for k, v in sorted(per.items()))} channels),"
            f" {len(b.papers)} papers, all posted (default filters)"
        )
        verdict = "MEETS" if calls <= pairs + stats.fell_back else "MISSES"
        print(
            f"  model calls: {calls} for {args.channels} channels; target <= papers x languages ="
            f" {pairs} (+ retries): {verdict}; stored {stored} summaries, fell back"
            f" {stats.fell_back}, unreachable {stats.unreachable}; most in flight at the model"
            f" {b.model.max_in_flight} (LLM_CONCURRENCY {args.concurrency})"
        )
        verdict = "MEETS" if second == 0 else "MISSES"
        print(f"  second ingest round: {second} calls (target 0: {verdict})")
        print(f"\n== 2. completion -> all summaries stored (LLM_CONCURRENCY {args.concurrency}) ==")
        done = "completed the day" if completed else "DID NOT complete the day"
        print(
            f"  the completing round {done}"
            f" and returned after {t_round:.2f} s (the service's planning included; writing goes on"
            " in the background)"
        )
        print(
            f"  all {stored} summaries stored {t_all:.2f} s after the round started; ideal"
            f" ceil({pairs} / {args.concurrency}) x {args.answer_seconds:g} s = {ideal:.1f} s"
            f" (pairs / concurrency x answer ="
            f" {pairs / args.concurrency * args.answer_seconds:.1f} s);"
            f" measured / ideal = {t_all / ideal:.3f}"
        )
        if gaps:
            print(
                f"  first request reached the model {gaps[0] - t0:.2f} s after the round started;"
                f" the last {gaps[-1] - t0:.2f} s"
            )


# ---------------------------------------------------------------------------------------------
# Part 3: on time with a slow model


def card_texts(fake: Any, channel_id: int) -> dict[tuple[int, int], str]:
    """(message id, embed index) -> the card's description, for the digest's messages."""
    out = {}
    for mid in fake.message_ids(channel_id):
        m = fake._messages[mid]
        if m.get("interaction_metadata") or m.get("webhook_id") or m["flags"] & 64:
            continue
        for i, e in enumerate(m.get("embeds") or []):
            out[(mid, i)] = e.get("description") or ""
    return out


def written(text: str) -> bool:
    return "written by" in text.split("\n", 1)[0]


async def slow(args: argparse.Namespace) -> None:
    f = args.slow / REAL_SLOW
    grace_min = args.grace * f
    check_s, ingest_s = 60 * f, 1800 * f
    slot = time(0, 30)  # the channels' time; the day completes at it
    extra = {
        "SUMMARY_GRACE_MINUTES": f"{grace_min:g}",
        "POST_CHECK_SECONDS": f"{check_s:g}",
        "INGEST_INTERVAL_SECONDS": f"{ingest_s:g}",
        "LLM_TIMEOUT": f"{args.llm_timeout * f:g}",
        "slot": slot,
    }
    ahead = args.ahead * 60 * f  # real seconds between the list's first sight and the slot
    async with Bench(args, args.slow, {**extra, "subscribed_at_start": ahead > 0}) as b:
        fake = b.host.host.fake
        loop = asyncio.get_running_loop()
        if ahead > 0:  # the start-up round saw the list: the service writes meanwhile
            await asyncio.sleep(ahead)
            ahead_stored = await stored_summaries(b.services.store)
        else:  # the channels subscribe now: nothing was written before the completing round
            await b.subscribe()
        subs = await all_subscriptions(b.services.store.reader)
        b.clock.set(DAY_END + timedelta(hours=slot.hour, minutes=slot.minute))
        t0 = loop.time()
        report = await b.services.ingest.run()  # completes the day (or it was already)
        state = report.days[DAY]
        since = max(DAY_END + timedelta(minutes=30), state.complete_at)
        deadline = since + timedelta(minutes=grace_min)
        print(f"\n== 3. on time with a slow model (scaled: f = {args.slow:g} / 60 = {f:.3f}) ==")
        print(
            f"  answer {args.slow:g} s (stands for {REAL_SLOW:g} s), SUMMARY_GRACE_MINUTES"
            f" {grace_min:g} (stands for {args.grace:g}), POST_CHECK_SECONDS {check_s:g} (60),"
            f" INGEST_INTERVAL_SECONDS {ingest_s:g} (1800), LLM_TIMEOUT {args.llm_timeout * f:g}"
            f" ({args.llm_timeout:g}); {args.channels} channels at {slot:%H:%M} UTC, the day"
            f" completed at {state.complete_at:%H:%M:%S}"
        )
        if ahead > 0:
            print(
                f"  the list was first seen {args.ahead:g} real-life minutes ({ahead:.0f} s"
                f" scaled) before the channels' time: {ahead_stored}/{b.pairs()} summaries"
                " were stored by then"
            )
        # Wait until every channel's digest is posted.
        limit = loop.time() + args.timeout
        ready_at_post = None  # summaries stored when the first digest message went out
        while loop.time() < limit:
            if ready_at_post is None and any(fake.message_create_times(s.channel_id) for s in subs):
                ready_at_post = await stored_summaries(b.services.store)
            posts = [await get_post(b.services.store.reader, s.channel_id, DAY) for s in subs]
            if all(p is not None and p.state == POSTED for p in posts):
                break
            await asyncio.sleep(0.2)
        posted_at = loop.time()
        ready_at_end = await stored_summaries(b.services.store)
        releases = [(p.started_at - deadline).total_seconds() for p in posts if p and p.started_at]
        before = {s.channel_id: card_texts(fake, s.channel_id) for s in subs}
        firsts, lasts = [], []
        on_time = not_posted = 0
        for s in subs:
            created = fake.message_create_times(s.channel_id)
            if not created:
                not_posted += 1
                continue
            first, last = b.clock.at(created[0]), b.clock.at(created[-1])
            firsts.append((first - deadline).total_seconds())
            lasts.append((last - deadline).total_seconds())
            on_time += first <= deadline
        n = len(subs)
        print(
            f"  on time (first message by max(slot, completion) + grace): {on_time}/{n} ="
            f" {on_time / n:.1%}; not posted within --timeout: {not_posted}"
        )
        if releases:
            print(
                f"  released by the scheduler (posts.started_at) vs that moment: min"
                f" {min(releases):+.1f} / p50 {pct(releases, 0.5):+.1f} /"
                f" max {max(releases):+.1f} s"
                f" scaled ({min(releases) / f:+.0f} / {pct(releases, 0.5) / f:+.0f} /"
                f" {max(releases) / f:+.0f} s real-life; a post check comes every {check_s:g} s)"
            )
        if firsts:
            print(
                f"  first message vs that moment: min {min(firsts):+.1f} / p50"
                f" {pct(firsts, 0.5):+.1f} / max {max(firsts):+.1f} s"
                f"; last message: p50 {pct(lasts, 0.5):+.1f} / max {max(lasts):+.1f} s (the"
                " fan-out under Discord's limits is real time, not scaled)"
            )
        cards = sum(len(v) for v in before.values())
        model_at_post = sum(written(t) for v in before.values() for t in v.values())
        print(
            f"  summaries stored when the first digest message went out: {ready_at_post}/"
            f"{b.pairs()}, when the last post finished: {ready_at_end}; posts done"
            f" {posted_at - t0:.1f} s after the completing round; cards posted {cards}"
            f" ({CARDS_PER_MESSAGE} a message), {model_at_post} of them with the model's bullets"
            f" ({model_at_post / max(1, cards):.1%})"
        )
        # Then until every summary is written and an ingest round has refreshed the cards since
        # (at most --edit-timeout seconds after the summaries are all stored).
        await asyncio.wait_for(b.summaries.idle(), args.timeout)
        all_stored = loop.time()
        rows = await b.services.store.reader.execute_fetchall(
            "SELECT max(observed_at) FROM summaries WHERE source LIKE 'model:%'"
        )
        done = state.complete_at
        last_stored = datetime.fromisoformat(rows[0][0]) if rows and rows[0][0] else done
        print(
            f"  the last summary was stored {(last_stored - done).total_seconds():.1f} s"
            " after the completing round"
            f" (ideal ceil({b.pairs()} / {args.concurrency}) x {args.slow:g} s ="
            f" {math.ceil(b.pairs() / args.concurrency) * args.slow:.1f} s); model calls"
            f" {len(b.model.completions)}"
        )
        # A round in flight now may have rendered its cards before the last summaries: wait
        # for the end of one that starts after them.
        ingest = b.services.ingest
        in_flight = ingest._task is not None and not ingest._task.done()
        runs = ingest.runs + (2 if in_flight else 1)
        stop = all_stored + args.edit_timeout
        while ingest.runs < runs and loop.time() < stop:  # noqa: ASYNC110
            await asyncio.sleep(0.5)
        ended = ingest.runs >= runs
        waited = loop.time()
        after = {s.channel_id: card_texts(fake, s.channel_id) for s in subs}
        edited = sum(
            1
            for cid, v in before.items()
            for key, text in v.items()
            if not written(text) and written(after[cid].get(key, ""))
        )
        still = sum(not written(t) for v in after.values() for t in v.values())
        edit_route = "PATCH /channels/{cid}/messages/{mid}"
        patches = [r.time for r in fake.requests if r.route == edit_route]
        rate = (len(patches) - 1) / (patches[-1] - patches[0]) if len(patches) > 1 else math.nan
        print(
            f"  cards edited later to the model's bullets: {edited}"
            f" ({edited / max(1, cards - model_at_post):.1%} of the {cards - model_at_post}"
            f" posted with the fallback); still without them: {still};"
            f" {waited - t0:.1f} s after the completing round,"
            + (
                " when the first ingest round started after the last summary had ended"
                if ended
                else f" --edit-timeout {args.edit_timeout:g} s after the last summary, that"
                " round's refresh NOT finished"
            )
            + f"; PATCH requests {len(patches)} ({rate:.1f}/s from the first to the last)"
        )


async def amain(args: argparse.Namespace) -> None:
    import logging

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("discord.http").setLevel(logging.ERROR)
    print(f"paperboy summaries benchmark, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    print(f"python {sys.version.split()[0]}, discord.py {discord.__version__}; {uptime()}")
    print(
        f"{args.channels} channels over {args.guilds} guilds, {args.papers} papers, languages"
        f" {', '.join(args.languages)}, LLM_CONCURRENCY {args.concurrency}"
    )
    if not args.skip_fast:
        await fast(args)
    if not args.skip_slow:
        await slow(args)
    print(f"\nat the end: {uptime()}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--channels", type=int, default=500)
    parser.add_argument("--guilds", type=int, default=50)
    parser.add_argument("--papers", type=int, default=50)
    parser.add_argument(
        "--languages", default="ko,ja,de", help="comma-separated; channels take them in turn"
    )
    parser.add_argument("--concurrency", type=int, default=4, help="LLM_CONCURRENCY")
    parser.add_argument(
        "--answer-seconds", type=float, default=1.0, help="the model's answer time, parts 1-2"
    )
    parser.add_argument(
        "--slow", type=float, default=6.0, help="part 3: seconds per answer standing for 60 s"
    )
    parser.add_argument(
        "--grace", type=float, default=10.0, help="part 3: SUMMARY_GRACE_MINUTES before scaling"
    )
    parser.add_argument(
        "--llm-timeout", type=float, default=120.0, help="part 3: LLM_TIMEOUT before scaling"
    )
    parser.add_argument(
        "--ahead",
        type=float,
        default=0.0,
        help="part 3: real-life minutes between the list's first sight and the channels' time"
        " (0: the channels subscribe just before, so nothing is written ahead)",
    )
    parser.add_argument("--rate", type=float, default=45.0, help="DISCORD_REQUESTS_PER_SECOND")
    parser.add_argument(
        "--timeout", type=float, default=1800.0, help="part 3: most real seconds to wait"
    )
    parser.add_argument(
        "--edit-timeout",
        type=float,
        default=600.0,
        help="part 3: most real seconds to wait, after the last summary, for a refresh round",
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--skip-fast", action="store_true", help="skip parts 1 and 2")
    parser.add_argument("--skip-slow", action="store_true", help="skip part 3")
    args = parser.parse_args(argv)
    args.languages = [x.strip() for x in args.languages.split(",") if x.strip()]
    unknown = [x for x in args.languages if x not in BULLETS]
    if unknown:
        parser.error(f"the fake model writes only {', '.join(BULLETS)}; not {', '.join(unknown)}")
    if args.guilds < 1 or args.channels < args.guilds:
        parser.error("--channels must be at least --guilds (>= 1)")
    sys.stdout.reconfigure(line_buffering=True)  # numbers show as they come, also in a file
    asyncio.run(amain(args))


if __name__ == "__main__":
    main()
