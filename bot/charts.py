"""Vote-history charts: a paper's Hugging Face upvotes and one server's 👍/👎 over time, as PNG.

Three layers, each usable alone:

* `history_from` (pure): the stored series clipped to a window, a server's vote log replayed
  into step functions of 👍 and 👎, long series downsampled; a `VoteHistory` with a `key`
  (a hash of exactly what the chart shows).
* `render_png` (pure, blocking): a `VoteHistory` to PNG bytes with matplotlib's object API
  (`Figure` + `FigureCanvasAgg`: no pyplot, no global figure state, no display), imported on
  the first chart so the bot and the CLI start without it.
* `ChartCache`: renders one chart at a time in a worker thread (`asyncio.to_thread`) and keeps
  the last images by key, so identical inputs give the same bytes object back.

`load_history` reads a `VoteHistory` from the store, `votes_reply` / `send_votes` answer a
member (the `/paper votes` command, and any button that wants the same answer).
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import logging
import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from typing import TYPE_CHECKING

from bot.errors import UserError
from bot.models import Paper, normalize_arxiv_id
from storage.interface import Reader
from storage.member_votes import DOWN, UP, vote_counts, vote_log
from storage.papers import get_paper, paper_key
from storage.votes import upvote_history_since

if TYPE_CHECKING:
    import discord

    from bot.app import Services

log = logging.getLogger(__name__)

DEFAULT_DAYS = 30
MAX_DAYS = 365
# The window ends at the clock rounded down to this (or at the newest data point, when later):
# asking again a few minutes later, with nothing changed, gives the same chart from the cache.
WINDOW_STEP = timedelta(minutes=10)
MAX_POINTS = 800  # per series; more are downsampled (the plot is ~700 pixels wide)
CACHED_IMAGES = 128
TITLE_CHARS = 70

# Discord's dark theme: the chat background and text, and its accent colours.
BACKGROUND = "#2b2d31"
PANEL = "#313338"
TEXT = "#dbdee1"
MUTED = "#949ba4"
GRID = "#3f4147"
UPVOTES = "#ffd21e"  # Hugging Face yellow
UP_COLOUR = "#57f287"
DOWN_COLOUR = "#ed4245"
LISTED = "#5865f2"  # blurple

Point = tuple[datetime, int]
ServerPoint = tuple[datetime, int, int]  # (at, 👍, 👎) after the change at `at`


@dataclass(frozen=True, slots=True)
class VoteHistory:
    """What one chart shows. `upvotes` starts with the count in force at `start` (dated
    `start`) when the history began earlier; `server` is None when no server is asked about
    (the CLI without --guild, a direct message), else its 👍/👎 steps, the counts in force at
    `start` first. `key` hashes all of it: equal keys, equal charts."""

    paper_id: str
    title: str
    start: datetime
    end: datetime
    upvotes: tuple[Point, ...]
    server: tuple[ServerPoint, ...] | None
    listed: tuple[date, ...]
    snapshots: int = 0  # upvote snapshots in the window before downsampling
    server_changes: int = 0  # vote log entries of the server before downsampling
    key: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        digest = hashlib.sha256(
            repr(
                (
                    self.paper_id,
                    self.title,
                    self.start.isoformat(),
                    self.end.isoformat(),
                    [(at.isoformat(), n) for at, n in self.upvotes],
                    None
                    if self.server is None
                    else [(at.isoformat(), up, down) for at, up, down in self.server],
                    [day.isoformat() for day in self.listed],
                )
            ).encode()
        ).hexdigest()
        object.__setattr__(self, "key", digest)

    @property
    def empty(self) -> bool:
        """No upvote snapshot and no server vote, ever: nothing to draw."""
        return not self.upvotes and not self.server

    @property
    def current(self) -> tuple[int | None, tuple[int, int] | None]:
        """(upvotes, (👍, 👎)) at the end of the window; None where unknown or not asked."""
        upvotes = self.upvotes[-1][1] if self.upvotes else None
        if self.server is None:
            return upvotes, None
        return upvotes, (self.server[-1][1:] if self.server else (0, 0))


def window(now: datetime, days: int) -> tuple[datetime, datetime]:
    """(start, end) of the last `days` days before `now`, the end rounded down to WINDOW_STEP."""
    if not 1 <= days <= MAX_DAYS:
        raise UserError(f"days is from 1 to {MAX_DAYS}, not {days}", 2)
    now = now.astimezone(UTC)
    epoch = datetime(2000, 1, 1, tzinfo=UTC)
    end = now - (now - epoch) % WINDOW_STEP
    return end - timedelta(days=days), end


def history_from(
    paper_id: str,
    title: str,
    snapshots: Iterable[Point],
    server_log: Iterable[tuple[datetime, int, int]] | None,
    listed: Iterable[date],
    *,
    start: datetime,
    end: datetime,
) -> VoteHistory:
    """The chart's data from the stored series (pure).

    `snapshots`: (observed_at, upvotes) oldest first, as the store keeps them (a row per
    change). `server_log`: ONE server's (voted_at, user_id, vote) log oldest first, replayed
    into (at, 👍, 👎) steps; None when no server is asked about. Anything after `end` moves the
    end to it (the newest data is always shown); before `start` only the value in force counts.
    """
    snapshots = sorted(snapshots, key=lambda point: point[0])
    steps = None if server_log is None else _replay(server_log)
    newest = [points[-1][0] for points in (snapshots, steps) if points]
    end = max([end, *newest])
    upvotes = _clip(snapshots, start)
    server = None if steps is None else _clip(steps, start)
    first_day, last_day = start.date(), end.date()
    days = sorted({day for day in listed if first_day <= day <= last_day})
    return VoteHistory(
        paper_id=paper_id,
        title=title,
        start=start,
        end=end,
        upvotes=tuple(_downsample(upvotes, 1)),
        server=None if server is None else tuple(_downsample(server, 1, 2)),
        listed=tuple(days),
        snapshots=len(upvotes),
        server_changes=0 if server is None else len(server),
    )


def _replay(entries: Iterable[tuple[datetime, int, int]]) -> list[ServerPoint]:
    """(at, 👍, 👎) after each logged change: every member's latest vote counts once."""
    votes: dict[int, int] = {}
    up = down = 0
    steps: list[ServerPoint] = []
    for at, user_id, vote in sorted(entries, key=lambda entry: entry[0]):  # stable: log order
        before = votes.get(user_id, 0)
        up -= before == UP
        down -= before == DOWN
        votes[user_id] = vote
        up += vote == UP
        down += vote == DOWN
        if steps and steps[-1][0] == at:
            steps[-1] = (at, up, down)  # simultaneous changes: the state after all of them
        else:
            steps.append((at, up, down))
    return steps


def _clip(points: Sequence[tuple], start: datetime) -> list:
    """The points after `start`, led by the one in force at `start` (re-dated to `start`)."""
    before = [p for p in points if p[0] <= start]
    after = [p for p in points if p[0] > start]
    if before:
        return [(start, *before[-1][1:]), *after]
    return after


def _downsample(points: list, *columns: int) -> list:
    """At most about MAX_POINTS points that draw the same picture: per time bucket, the first
    and last point and those holding each column's minimum and maximum."""
    if len(points) <= MAX_POINTS:
        return points
    buckets = MAX_POINTS // (2 + 2 * len(columns))
    first, last = points[0][0], points[-1][0]
    span = (last - first).total_seconds() or 1.0
    keep: set[int] = {0, len(points) - 1}
    bucket: list[int] = []
    current = None
    for index, point in enumerate(points):
        number = min(buckets - 1, int((point[0] - first).total_seconds() / span * buckets))
        if number != current and bucket:
            keep.update(_extremes(points, bucket, columns))
            bucket = []
        current = number
        bucket.append(index)
    if bucket:
        keep.update(_extremes(points, bucket, columns))
    return [points[index] for index in sorted(keep)]


def _extremes(points: Sequence[tuple], bucket: list[int], columns: Sequence[int]) -> list[int]:
    chosen = [bucket[0], bucket[-1]]
    for column in columns:
        chosen.append(min(bucket, key=lambda index: points[index][column]))
        chosen.append(max(bucket, key=lambda index: points[index][column]))
    return chosen


# --- drawing ------------------------------------------------------------------------------------


@cache
def _load_matplotlib() -> None:
    """Import what the charts use, once, then move every object alive into the garbage
    collector's permanent generation, as the bot does after its start (bot/app.py): the
    ~100k objects of matplotlib, numpy and Pillow would otherwise be traversed by every full
    collection, and those land in renders (30-80 ms, the slowest charts' difference)."""
    import gc
    import importlib

    for name in ("backends.backend_agg", "dates", "figure", "patches", "ticker"):
        importlib.import_module(f"matplotlib.{name}")
    importlib.import_module("PIL.Image")  # matplotlib's own dependency
    _drawable()
    gc.freeze()


@cache
def _drawable() -> frozenset[int]:
    """The code points the chart's font has (DejaVu Sans, shipped with matplotlib)."""
    from matplotlib import font_manager
    from matplotlib.ft2font import FT2Font

    path = font_manager.findfont(font_manager.FontProperties(family="DejaVu Sans"))
    return frozenset(FT2Font(path).get_charmap())


def chart_title(history: VoteHistory) -> str:
    """The paper's title, cut short, without characters the font cannot draw (a CJK or emoji
    title would be tofu boxes); the id when nothing is left."""
    drawable = _drawable()
    kept = "".join(char if ord(char) in drawable else " " for char in history.title)
    title = " ".join(kept.split())
    if len(title) <= 3:
        return history.paper_id
    if len(title) > TITLE_CHARS:
        cut = title[: TITLE_CHARS - 1]
        space = cut.rfind(" ")
        title = (cut[:space] if space > TITLE_CHARS // 2 else cut).rstrip(" ,:;-") + "…"
    return title


def render_png(history: VoteHistory) -> bytes:
    """The chart as PNG bytes (800×400 px, dark): upvotes over time on top, the server's 👍
    and 👎 below (when a server is asked about), the days the paper was listed shaded.

    Blocking (~30-60 ms): call it in a thread (`ChartCache.render_async`). Thread-safe: every
    call has its own Figure and canvas, and nothing global is changed.
    """
    if history.empty:
        raise ValueError(f"{history.paper_id} has no vote history to draw")
    _load_matplotlib()
    import matplotlib.dates as mdates
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    figure = Figure(figsize=(8, 4), dpi=100, facecolor=BACKGROUND)
    canvas = FigureCanvasAgg(figure)  # the Agg canvas, explicitly: no backend, no display
    if history.server is None:
        axes = [figure.add_subplot()]
    else:
        axes = list(figure.subplots(2, 1, sharex=True, height_ratios=[3, 2]))
    for ax in axes:
        ax.set_facecolor(PANEL)
        ax.tick_params(colors=MUTED, labelsize=8)
        for spine in ax.spines.values():
            spine.set_color(GRID)
        ax.grid(True, color=GRID, linewidth=0.6)
        ax.set_axisbelow(True)
        ax.yaxis.set_major_locator(MaxNLocator(integer=True, nbins=5))
        for day in history.listed:
            first = datetime.combine(day, time.min, tzinfo=UTC)
            ax.axvspan(first, first + timedelta(days=1), color=LISTED, alpha=0.35, linewidth=0)
    top = axes[0]
    top.set_xlim(history.start, history.end)
    top.set_title(
        chart_title(history), color=TEXT, fontsize=11, loc="left", y=1.0, pad=8, parse_math=False
    )

    if history.upvotes:
        times = [at for at, _ in history.upvotes] + [history.end]
        counts = [n for _, n in history.upvotes]
        top.step(times, [*counts, counts[-1]], where="post", color=UPVOTES, linewidth=1.8)
        top.plot(times[-2:-1], counts[-1:], "o", color=UPVOTES, markersize=3)
        top.set_title(
            f"▲ {counts[-1]}",
            color=UPVOTES,
            fontsize=11,
            loc="right",
            y=1.0,
            pad=8,
            fontweight="bold",
        )
        low, high = min(counts), max(counts)
        top.set_ylim(max(0, low - max(1, (high - low) // 10)), high + max(1, (high - low) // 8))
    else:
        _note(top, "no Hugging Face upvotes recorded")
    top.set_ylabel("Hugging Face ▲", color=MUTED, fontsize=8)

    if history.server is not None:
        bottom = axes[1]
        bottom.set_ylabel("this server", color=MUTED, fontsize=8)
        if history.server:
            times = [at for at, _, _ in history.server] + [history.end]
            for column, colour, label in ((1, UP_COLOUR, "up"), (2, DOWN_COLOUR, "down")):
                values = [point[column] for point in history.server]
                bottom.step(
                    times,
                    [*values, values[-1]],
                    where="post",
                    color=colour,
                    linewidth=1.6,
                    label=f"{label} {values[-1]}",
                )
            highest = max(max(up, down) for _, up, down in history.server)
            bottom.set_ylim(-0.3, highest + max(1, highest // 6))
            legend = bottom.legend(
                loc="upper left", fontsize=8, frameon=False, labelcolor=TEXT, ncols=2
            )
            legend.set_in_layout(False)
        else:
            _note(bottom, "no votes from this server yet")
            bottom.set_ylim(0, 1)

    locator, pattern = _date_ticks(history.end - history.start, mdates)
    axes[-1].xaxis.set_major_locator(locator)
    axes[-1].xaxis.set_major_formatter(mdates.DateFormatter(pattern, tz=UTC))
    if history.listed:
        from matplotlib.patches import Patch

        legend = top.legend(
            handles=[Patch(color=LISTED, alpha=0.35, label="listed on Daily Papers")],
            loc="upper left",
            fontsize=8,
            frameon=False,
            labelcolor=TEXT,
        )
        legend.set_in_layout(False)
    figure.subplots_adjust(left=0.08, right=0.98, top=0.9, bottom=0.12, hspace=0.12)
    canvas.draw()
    from PIL import Image  # matplotlib's own dependency

    # Opaque RGB at zlib level 1: a third of savefig's encoding time for ~10 % more bytes, and
    # no text chunks (savefig writes matplotlib's version): the bytes depend on the data only.
    width, height = canvas.get_width_height()
    image = Image.frombuffer("RGBA", (width, height), canvas.buffer_rgba(), "raw", "RGBA", 0, 1)
    out = io.BytesIO()
    image.convert("RGB").save(out, format="png", compress_level=1)
    return out.getvalue()


def _date_ticks(span: timedelta, mdates):
    """A locator with 4-8 ticks over `span`, and their label pattern (fixed rules: cheaper
    than matplotlib's AutoDateLocator, and the same ticks for the same window)."""
    days = span.total_seconds() / 86400
    if days <= 1.5:
        return mdates.HourLocator(byhour=range(0, 24, 4 if days > 0.75 else 2), tz=UTC), "%H:%M"
    if days <= 8:
        return mdates.DayLocator(tz=UTC), "%b %d"
    if days <= 62:
        interval = max(2, round(days / 6))
        return mdates.DayLocator(interval=interval, tz=UTC), "%b %d"
    if days <= 200:
        return mdates.MonthLocator(bymonthday=(1, 15), tz=UTC), "%b %d"
    return mdates.MonthLocator(bymonth=range(1, 13, 2), tz=UTC), "%b %Y"


def _note(ax, text: str) -> None:
    ax.text(
        0.5,
        0.5,
        text,
        transform=ax.transAxes,
        ha="center",
        va="center",
        color=MUTED,
        fontsize=9,
        parse_math=False,
    )


class ChartCache:
    """Renders charts in a worker thread, one at a time, and keeps the last `size` images by
    key (least recently used goes first). Thread-safe; bound to no event loop."""

    def __init__(self, size: int = CACHED_IMAGES) -> None:
        self.size = size
        self.renders = 0  # charts drawn (misses), for tests and benchmarks
        self._images: OrderedDict[str, bytes] = OrderedDict()
        self._lock = threading.Lock()  # guards _images
        self._drawing = threading.Lock()  # one render at a time: matplotlib is CPU-bound

    def get(self, key: str) -> bytes | None:
        with self._lock:
            image = self._images.get(key)
            if image is not None:
                self._images.move_to_end(key)
            return image

    def render(self, history: VoteHistory) -> bytes:
        """The chart of `history`, drawn unless cached (blocking)."""
        image = self.get(history.key)
        if image is not None:
            return image
        with self._drawing:
            image = self.get(history.key)  # drawn by the render this one waited for
            if image is None:
                image = render_png(history)
                self.renders += 1
                with self._lock:
                    self._images[history.key] = image
                    while len(self._images) > self.size:
                        self._images.popitem(last=False)
        return image

    async def render_async(self, history: VoteHistory) -> bytes:
        """`render` off the event loop; a cached image comes back without a thread hop."""
        image = self.get(history.key)
        if image is not None:
            return image
        return await asyncio.to_thread(self.render, history)

    def clear(self) -> None:
        with self._lock:
            self._images.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._images)


# The process's charts: a memo of a pure function (like functools.lru_cache), shared by the
# command and any button so a chart is drawn once. Tests and benchmarks make their own.
CHARTS = ChartCache()


# --- from the store, to a member -----------------------------------------------------------------


async def load_history(
    db: Reader, paper: Paper, guild_id: int | None, days: int, now: datetime
) -> VoteHistory:
    """The chart data of `paper` for the last `days` days; the 👍/👎 of server `guild_id` only
    (None: no server votes)."""
    start, end = window(now, days)
    pk = paper_key(paper.id)
    snapshots = await upvote_history_since(db, pk, start)
    server_log = None if guild_id is None else await vote_log(db, guild_id, pk)
    return history_from(
        paper.id, paper.title, snapshots, server_log, paper.days, start=start, end=end
    )


def not_stored(paper_id: str) -> UserError:
    return UserError(
        f"Paper {paper_id} is not stored, so it has no vote history; "
        f"/paper show {paper_id} looks it up."
    )


def file_name(paper_id: str) -> str:
    """`2401.08541-votes.png` (an old-style id's slash becomes `_`)."""
    return f"{paper_id.replace('/', '_')}-votes.png"


@dataclass(frozen=True, slots=True)
class VotesReply:
    """What to answer: `content`, and the chart (`png`, None without a history) as `filename`."""

    content: str
    png: bytes | None
    filename: str


async def votes_history(
    services: Services, paper_id: str, guild_id: int | None, days: int = DEFAULT_DAYS
) -> tuple[Paper, VoteHistory]:
    """The stored paper and its chart data (quick: the store only). UserError for a paper
    not stored, InvalidPaperId for a malformed id."""
    paper_id = normalize_arxiv_id(paper_id)
    paper = await get_paper(services.store.reader, paper_id)
    if paper is None:
        raise not_stored(paper_id)
    history = await load_history(services.store.reader, paper, guild_id, days, services.clock())
    return paper, history


async def votes_reply(
    services: Services,
    paper_id: str,
    guild_id: int | None,
    days: int = DEFAULT_DAYS,
    *,
    charts: ChartCache = CHARTS,
) -> VotesReply:
    """The answer to "how were this paper's votes?": a short text and the chart."""
    paper, history = await votes_history(services, paper_id, guild_id, days)
    return await _reply(services, paper, history, guild_id, days, charts)


async def _reply(
    services: Services,
    paper: Paper,
    history: VoteHistory,
    guild_id: int | None,
    days: int,
    charts: ChartCache,
) -> VotesReply:
    from bot import render  # imports discord: the bot's side only (the CLI draws without it)

    title = render.escape_text(render.truncate(" ".join(paper.title.split()), 150))
    name = file_name(paper.id)
    if history.empty:
        return VotesReply(f"**{title}** has no vote history yet.", None, name)
    png = await charts.render_async(history)
    parts = [f"**{title}**", render.votes_text(paper.upvotes)]
    if guild_id is not None:
        pk = paper_key(paper.id)
        up, down = (await vote_counts(services.store.reader, guild_id, [pk]))[pk]
        parts.append(f"this server: 👍 {up} · 👎 {down}")
    parts.append(f"last {days} day{'' if days == 1 else 's'}")
    return VotesReply(" · ".join(parts), png, name)


async def send_votes(
    interaction: discord.Interaction,
    services: Services,
    paper_id: str,
    days: int = DEFAULT_DAYS,
    *,
    public: bool = False,
    charts: ChartCache = CHARTS,
) -> None:
    """Answer `interaction` with the paper's vote chart (the server's votes: the
    interaction's server). An unknown paper raises before anything is sent (the caller's
    error path answers privately); a chart not cached yet is drawn after a deferral, so the
    answer never misses Discord's 3 seconds."""
    guild_id = interaction.guild_id
    paper, history = await votes_history(services, paper_id, guild_id, days)
    ephemeral = not public
    if history.empty or charts.get(history.key) is not None:
        reply = await _reply(services, paper, history, guild_id, days, charts)
        file = _file(reply)
        await interaction.response.send_message(reply.content, file=file, ephemeral=ephemeral)
        return
    await interaction.response.defer(ephemeral=ephemeral, thinking=True)
    try:
        reply = await _reply(services, paper, history, guild_id, days, charts)
    except Exception:
        if public:  # the error stays private: remove the public "thinking…" message
            await interaction.delete_original_response()
        raise
    await interaction.followup.send(reply.content, file=_file(reply), ephemeral=ephemeral)


def _file(reply: VotesReply):
    import discord

    if reply.png is None:
        return discord.utils.MISSING
    return discord.File(io.BytesIO(reply.png), filename=reply.filename)
