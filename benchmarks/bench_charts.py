"""Vote-history chart benchmark (issue 10): how long `/paper votes` takes to make its PNG.

    python -m benchmarks.bench_charts                      # 10 / 100 / 1,000 / 10,000 snapshots
    python -m benchmarks.bench_charts --runs 200 --votes 500
    python -m benchmarks.bench_charts --sizes 10000 --burst 16

A temporary store (the real migrations) holds one paper per `--sizes` entry, each with that many
Hugging Face upvote snapshots spread over the last 30 days (the default window: every one is
drawn, or downsampled), listed on 3 days, and `--votes` member votes of the server charted
(40 members voting, changing their minds, withdrawing) plus as many of another server (read
past by the query, never drawn). Snapshots are inserted with one `executemany` (not through
`record_upvotes`, whose per-call checks would take minutes at 10,000).

Per paper, `--runs` timed calls after one warm-up call, each:

* **cold**: the cache cleared, then what the command does before answering: `load_history`
  (the store reads) + `ChartCache.render_async` (downsampling is in `load_history`; drawing and
  PNG encoding in a worker thread);
* **render**: `render_png` alone on the loaded data (the drawing's share);
* **cached**: `load_history` + `render_async` hitting the cache (what a repeated ask costs).

Then `--burst` cold requests for the papers at once (the cache draws one at a time): the
slowest of them is what a member waits when many ask together. The first chart of the process
(which imports matplotlib and reads its font cache) is printed on its own line.
Target: cold p99 < 150 ms, PNG <= 150 KB.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from benchmarks.bench_digest import ms, pct
from bot.charts import ChartCache, load_history, render_png
from bot.models import DailyList, Paper
from storage.db import Store, open_store
from storage.member_votes import DOWN, UP, WITHDRAWN
from storage.papers import get_paper, paper_key, save_daily_list
from storage.votes import to_iso

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
GUILD, OTHER_GUILD = 1, 2
TARGET_P99_MS = 150.0
TARGET_BYTES = 150 * 1024


async def build(store: Store, sizes: Sequence[int], votes: int) -> list[Paper]:
    """One paper per size, its snapshots, listed days and both servers' votes."""
    papers = []
    async with store.write() as conn:
        for n, size in enumerate(sizes):
            paper = Paper(
                id=f"2611.{n + 1:05d}", title=f"A benchmark paper with {size:,} snapshots"
            )
            for day_back in (20, 12, 3):
                day = (NOW - timedelta(days=day_back)).date()
                await save_daily_list(conn, DailyList(day, [paper]), NOW - timedelta(days=40))
            pk = paper_key(paper.id)
            await conn.execute("DELETE FROM vote_snapshots WHERE paper_pk = ?", (pk,))
            step = timedelta(days=30) / size
            first = NOW - timedelta(days=30)
            rows = [(pk, to_iso(first + step * i), 3 + i + (i * 7919) % 5) for i in range(size)]
            await conn.executemany(
                "INSERT INTO vote_snapshots (paper_pk, observed_at, upvotes) VALUES (?, ?, ?)",
                rows,
            )
            await conn.execute("UPDATE papers SET upvotes = ? WHERE pk = ?", (rows[-1][2], pk))
            log = []
            for guild in (GUILD, OTHER_GUILD):
                for i in range(votes):
                    at = NOW - timedelta(days=14) + timedelta(days=14) * i / votes
                    vote = (UP, UP, DOWN, WITHDRAWN)[(i * 31 + guild) % 4]
                    log.append((guild, pk, 1000 + i % 40, vote, to_iso(at)))
            await conn.executemany(
                "INSERT INTO member_vote_log (guild_id, paper_pk, user_id, vote, voted_at)"
                " VALUES (?, ?, ?, ?, ?)",
                log,
            )
            papers.append(await get_paper(conn, paper.id))
    return papers


async def one(store: Store, paper: Paper, cache: ChartCache, *, clear: bool) -> tuple[float, int]:
    if clear:
        cache.clear()
    started = time.perf_counter()
    history = await load_history(store.reader, paper, GUILD, 30, NOW)
    png = await cache.render_async(history)
    return (time.perf_counter() - started) * 1000, len(png)


async def run(args: argparse.Namespace) -> None:
    folder = Path(tempfile.mkdtemp(prefix="bench-charts-"))
    try:
        async with open_store(folder / "bench.db") as store:
            papers = await build(store, args.sizes, args.votes)
            cache = ChartCache()
            first, _ = await one(store, papers[0], cache, clear=True)
            print(f"first chart of the process (imports matplotlib): {ms(first)} ms")
            print(
                f"{args.runs} timed calls each (after 1 warm-up); {args.votes} votes of the "
                f"server charted + {args.votes} of another; window 30 days\n"
            )
            header = (
                f"{'snapshots':>9} {'drawn':>6} | {'cold p50':>8} {'p99':>6} {'max':>6} |"
                f" {'render p50':>10} {'p99':>6} | {'cached p50':>10} {'p99':>6} | {'PNG KB':>6}"
            )
            print(header)
            print("-" * len(header))
            worst = 0.0
            largest = 0
            for size, paper in zip(args.sizes, papers, strict=True):
                await one(store, paper, cache, clear=True)
                cold, sizes = [], []
                for _ in range(args.runs):
                    took, nbytes = await one(store, paper, cache, clear=True)
                    cold.append(took)
                    sizes.append(nbytes)
                history = await load_history(store.reader, paper, GUILD, 30, NOW)
                drawing = []
                for _ in range(args.runs):
                    started = time.perf_counter()
                    render_png(history)
                    drawing.append((time.perf_counter() - started) * 1000)
                cached = [
                    (await one(store, paper, cache, clear=False))[0] for _ in range(args.runs)
                ]
                worst = max(worst, pct(cold, 0.99))
                largest = max(largest, max(sizes))
                print(
                    f"{size:>9,} {len(history.upvotes):>6,} | {ms(pct(cold, 0.5)):>8}"
                    f" {ms(pct(cold, 0.99)):>6} {ms(max(cold)):>6} | {ms(pct(drawing, 0.5)):>10}"
                    f" {ms(pct(drawing, 0.99)):>6} | {pct(cached, 0.5):>10.2f}"
                    f" {pct(cached, 0.99):>6.2f} | {max(sizes) / 1024:>6.1f}"
                )
            if args.burst:
                cache.clear()
                started = time.perf_counter()

                async def timed(paper: Paper, days: int) -> float:
                    history = await load_history(store.reader, paper, GUILD, days, NOW)
                    await cache.render_async(history)
                    return (time.perf_counter() - started) * 1000

                # A window of its own for each (30, 29, ... days): every request is a miss.
                done = await asyncio.gather(
                    *(timed(papers[i % len(papers)], 30 - i % 30) for i in range(args.burst))
                )
                print(
                    f"\nburst of {args.burst} cold requests at once: last answered after "
                    f"{ms(max(done))} ms, median {ms(pct(done, 0.5))} ms "
                    f"({cache.renders} charts drawn, one at a time)"
                )
            verdict = "met" if worst < TARGET_P99_MS and largest <= TARGET_BYTES else "MISSED"
            print(
                f"\ntarget cold p99 < {TARGET_P99_MS:.0f} ms and PNG <= 150 KB: {verdict} "
                f"(worst p99 {ms(worst)} ms, largest {largest / 1024:.1f} KB)"
            )
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--sizes",
        type=int,
        nargs="+",
        default=[10, 100, 1000, 10_000],
        help="snapshots per paper (one paper each)",
    )
    parser.add_argument("--votes", type=int, default=300, help="member votes per server")
    parser.add_argument("--runs", type=int, default=100, help="timed calls per paper and kind")
    parser.add_argument("--burst", type=int, default=8, help="cold requests at once (0: none)")
    args = parser.parse_args()
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
