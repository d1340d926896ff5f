"""Paged paper lists: ◀ ▶ buttons and a select menu that opens one paper's card.

Nothing is kept in memory per list. The controls are persistent ``DynamicItem``s whose
custom_id says everything a click needs::

    list:<page>:<owner>:<until>:<kind><argument>     the ◀ and ▶ buttons (page = the target)
    list:open:<owner>:<until>                         the select menu (its values are paper ids)

`owner` is the id of the member who asked (base 36): anyone else's click is refused privately.
`until` is when the list expires (Unix seconds, base 36): every page turn renders the controls
again with a new deadline, VIEW_TIMEOUT after the turn. `kind` is one letter naming the lookup
(see ListKind) and `argument` its input, such as the search words. An argument too long for
the 100-character custom_id is kept in a small bounded in-memory table instead; a click on such
a list after a restart (or after many newer long ones) is told the list has expired.

A click on an expired list is answered by disabling its controls. So that lists also look
expired when nobody clicks, ListExpiry keeps (deadline, message id, interaction token) per
list, a few dozen bytes, and one task disables the controls when the deadline passes. A list
sent before a restart is not disabled by that task, but its clicks still expire.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import heapq
import logging
import re
import time
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import discord

from bot import render
from bot.app import Services
from bot.components import Guarded
from bot.models import InvalidPaperId, Paper, normalize_arxiv_id
from bot.summaries.button import member_card
from storage.papers import get_paper

log = logging.getLogger(__name__)

PAGE_SIZE = 5
VIEW_TIMEOUT = 600.0  # seconds after the last page turn before the controls are disabled
CUSTOM_ID_LIMIT = 100  # Discord's limit (counted here in UTF-16 units, the stricter count)
PREFIX = "list"  # other persistent components (e.g. "vote:") use other prefixes
LONG_ARGUMENTS = 4096  # long arguments remembered in memory (about 1 MiB at most)
EXPIRED_PLACEHOLDER = "This list has expired: run the command again"
REFUSAL = "Only the person who asked can use these buttons; run the command yourself."


@dataclass(slots=True)
class Page:
    papers: list[Paper]
    more: bool  # whether a next page exists
    total: int | None = None  # papers in the whole list, when known


@dataclass(frozen=True, slots=True)
class ListKind:
    """One kind of list: how to fetch a page of it and what its title is.

    `fetch(services, argument, offset)` returns PAGE_SIZE papers from `offset`;
    `title(argument, page)` is the list's title (plain text) given its first page shown.
    """

    code: str  # one lowercase letter, unique
    fetch: Callable[[Services, str, int], Awaitable[Page]]
    title: Callable[[str, Page], str]


KINDS: dict[str, ListKind] = {}


def register(kind: ListKind) -> ListKind:
    if not re.fullmatch(r"[a-z]", kind.code):
        raise ValueError(f"a list kind's code is one lowercase letter, not {kind.code!r}")
    previous = KINDS.get(kind.code)
    if previous is not None and previous.fetch.__qualname__ != kind.fetch.__qualname__:
        raise ValueError(f"list kind {kind.code!r} is registered already")
    KINDS[kind.code] = kind  # the same kind again: its extension was loaded again
    return kind


# -- custom ids -----------------------------------------------------------------------------------


def _b36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        number, rest = divmod(number, 36)
        out = digits[rest] + out
        if not number:
            return out


def _units(text: str) -> int:
    """Length in UTF-16 code units (what JavaScript counts; never less than len())."""
    return len(text.encode("utf-16-le")) // 2


# Long arguments, by digest: a plain str -> str dict (not tracked by the garbage collector).
_long_arguments: dict[str, str] = {}


def _pack_argument(argument: str, room: int) -> str:
    """'=' + the argument when it fits in `room` units, else '#' + a digest kept in memory."""
    if _units(argument) + 1 <= room:
        return "=" + argument
    digest = hashlib.blake2b(argument.encode(), digest_size=12).hexdigest()
    _long_arguments.pop(digest, None)
    _long_arguments[digest] = argument  # most recent last
    while len(_long_arguments) > LONG_ARGUMENTS:
        del _long_arguments[next(iter(_long_arguments))]
    return "#" + digest


def _unpack_argument(packed: str) -> str | None:
    if packed.startswith("="):
        return packed[1:]
    return _long_arguments.get(packed[1:])


@dataclass(frozen=True, slots=True)
class ListState:
    """What a list's controls carry: which list, which page, whose, until when."""

    kind: str
    argument: str
    owner: int
    page: int = 0  # zero-based
    until: int = 0  # Unix seconds

    def page_id(self, page: int) -> str:
        head = f"{PREFIX}:{page}:{_b36(self.owner)}:{_b36(self.until)}:{self.kind}"
        return head + _pack_argument(self.argument, CUSTOM_ID_LIMIT - _units(head))

    def open_id(self) -> str:
        return f"{PREFIX}:open:{_b36(self.owner)}:{_b36(self.until)}"

    def expired(self, now: float | None = None) -> bool:
        return (wall_clock() if now is None else now) > self.until


def wall_clock() -> float:
    """Unix time; the custom_ids' deadlines survive restarts, so not a monotonic clock."""
    return time.time()


def _deadline() -> int:
    """`until` for controls rendered now (rounded up: a list never expires early)."""
    return int(wall_clock() + VIEW_TIMEOUT) + 1


# -- rendering --------------------------------------------------------------------------------


def list_embed(state: ListState, page: Page) -> discord.Embed:
    total = page.total
    if total is None and not page.more:  # the last page tells the total
        total = state.page * PAGE_SIZE + len(page.papers)
    pages = -(-total // PAGE_SIZE) if total is not None else None
    return render.paper_list_page(
        page.papers,
        title=KINDS[state.kind].title(state.argument, page),
        page=state.page + 1,
        pages=pages,
        first_rank=state.page * PAGE_SIZE + 1,
        total=total,
    )


def _static_view(*items: discord.ui.Item) -> discord.ui.View:
    """A view only to render components: stopped, so discord.py neither stores nor times it."""
    view = discord.ui.View(timeout=None)
    for item in items:
        view.add_item(item)
    view.stop()
    return view


def list_controls(state: ListState, page: Page) -> discord.ui.View:
    previous = discord.ui.Button(
        label="◀",
        style=discord.ButtonStyle.secondary,
        custom_id=state.page_id(max(0, state.page - 1)),
        disabled=state.page == 0,
    )
    following = discord.ui.Button(
        label="▶",
        style=discord.ButtonStyle.secondary,
        custom_id=state.page_id(state.page + 1),
        disabled=not page.more,
    )
    options = render.select_options(page.papers)
    picker = discord.ui.Select(
        custom_id=state.open_id(),
        placeholder="Open a paper's card…",
        min_values=1,
        max_values=1,
        options=options or [discord.SelectOption(label="(no papers)", value="-")],
        disabled=not options,
        row=1,
    )
    return _static_view(PageButton(previous), PageButton(following), OpenCard(picker))


def expired_controls() -> discord.ui.View:
    """The controls of an expired list: all disabled (no list data needed to draw them)."""
    return _static_view(
        *(
            discord.ui.Button(
                label=label,
                style=discord.ButtonStyle.secondary,
                custom_id=f"{PREFIX}:expired:{n}",
                disabled=True,
            )
            for n, label in enumerate(("◀", "▶"))
        ),
        discord.ui.Select(
            custom_id=f"{PREFIX}:expired:open",
            placeholder=EXPIRED_PLACEHOLDER,
            options=[discord.SelectOption(label="(expired)", value="-")],
            disabled=True,
            row=1,
        ),
    )


# -- the lists of one bot -----------------------------------------------------------------------


class PaperLists:
    """Sends lists and disables them when they expire; one per bot (see `of`)."""

    _by_client: weakref.WeakKeyDictionary[discord.Client, PaperLists] = weakref.WeakKeyDictionary()

    def __init__(self, client: discord.Client, services: Services) -> None:
        self.client = client
        self.services = services
        self.expiry = ListExpiry(client)
        PaperLists._by_client[client] = self

    @classmethod
    def of(cls, client: discord.Client) -> PaperLists:
        return cls._by_client[client]

    def start(self) -> None:
        self.expiry.start()

    async def stop(self) -> None:
        await self.expiry.stop()
        PaperLists._by_client.pop(self.client, None)

    async def send(
        self,
        interaction: discord.Interaction,
        kind: ListKind,
        argument: str,
        *,
        public: bool,
        empty: str,
    ) -> None:
        """The list's first page with its controls, or `empty` (privately) when it has none."""
        first = await kind.fetch(self.services, argument, 0)
        if not first.papers:
            await interaction.response.send_message(empty, ephemeral=True)
            return
        state = ListState(kind.code, argument, interaction.user.id, 0, _deadline())
        sent = await interaction.response.send_message(
            embed=list_embed(state, first),
            view=list_controls(state, first),
            ephemeral=not public,
        )
        if sent.message_id is not None:
            self.expiry.watch(sent.message_id, interaction.token)

    async def turn(self, interaction: discord.Interaction, state: ListState) -> None:
        """Show page `state.page` in place of the clicked list's page."""
        kind = KINDS[state.kind]
        page = await kind.fetch(self.services, state.argument, state.page * PAGE_SIZE)
        if not page.papers and state.page > 0:  # the list shrank: show its last page
            state = ListState(state.kind, state.argument, state.owner, state.page - 1)
            page = await kind.fetch(self.services, state.argument, state.page * PAGE_SIZE)
        state = ListState(state.kind, state.argument, state.owner, state.page, _deadline())
        await interaction.response.edit_message(
            embed=list_embed(state, page), view=list_controls(state, page)
        )
        if interaction.message is not None:
            self.expiry.watch(interaction.message.id, interaction.token)

    async def expire(self, interaction: discord.Interaction) -> None:
        """A click on an expired list: disable its controls and say why."""
        await interaction.response.edit_message(view=expired_controls())
        if interaction.message is not None:
            self.expiry.forget(interaction.message.id)
        await interaction.followup.send(EXPIRED_PLACEHOLDER + ".", ephemeral=True)


class ListExpiry:
    """Disables a list's controls VIEW_TIMEOUT after its last page turn.

    Per list it keeps the message id, the latest interaction token (valid 15 minutes, longer
    than VIEW_TIMEOUT) and a deadline: ints, a str and a float, which the garbage collector
    does not track. One task sleeps until the earliest deadline while there are lists to
    watch, and ends when there are none: an idle bot has no task waiting forever, and `stop()`
    (the cog's unload, on the bot's close) cancels and awaits the one there is.
    """

    def __init__(self, client: discord.Client) -> None:
        self.client = client
        self._lists: dict[int, tuple[float, str]] = {}  # message id -> (deadline, token)
        self._heap: list[tuple[float, int]] = []  # (deadline, message id), stale ones skipped
        self._task: asyncio.Task | None = None
        self._running = False  # between start() and stop()
        self._wake = asyncio.Event()

    def __len__(self) -> int:
        return len(self._lists)

    def start(self) -> None:
        self._running = True
        self._ensure_task()

    async def stop(self) -> None:
        self._running = False
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def _ensure_task(self) -> None:
        if self._running and self._heap and (self._task is None or self._task.done()):
            self._task = asyncio.create_task(self._run(), name="paperboy-list-expiry")

    def watch(self, message_id: int, token: str) -> None:
        deadline = time.monotonic() + VIEW_TIMEOUT
        self._lists[message_id] = (deadline, token)
        heapq.heappush(self._heap, (deadline, message_id))
        if self._heap[0][1] == message_id:  # a new earliest deadline
            self._wake.set()
        self._ensure_task()

    def forget(self, message_id: int) -> None:
        self._lists.pop(message_id, None)

    def due(self, now: float) -> list[tuple[int, str]]:
        """(message id, token) of the lists whose deadline has passed; they are forgotten."""
        found = []
        heap = self._heap
        while heap and heap[0][0] <= now:
            deadline, message_id = heapq.heappop(heap)
            current = self._lists.get(message_id)
            if current is not None and current[0] == deadline:  # else: turned again since
                del self._lists[message_id]
                found.append((message_id, current[1]))
        return found

    async def _run(self) -> None:
        while self._heap:  # ends when every list has expired; watch() starts it again
            self._wake.clear()
            delay = self._heap[0][0] - time.monotonic()
            if delay > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), delay)
                continue
            for message_id, token in self.due(time.monotonic()):
                await self._disable(message_id, token)

    async def _disable(self, message_id: int, token: str) -> None:
        application_id = self.client.application_id
        if application_id is None:
            return
        webhook = discord.Webhook.partial(application_id, token, client=self.client)
        try:
            await webhook.edit_message(message_id, view=expired_controls())
        except discord.HTTPException:  # message deleted, or the token expired after all
            log.debug("could not disable the controls of an expired list")
        except Exception:
            log.exception("disabling the controls of an expired list failed")


# -- the persistent controls ------------------------------------------------------------------


async def _refused(interaction: discord.Interaction, owner: int) -> bool:
    """True (after telling them) when someone other than the list's owner clicked."""
    if interaction.user.id == owner:
        return False
    await interaction.response.send_message(REFUSAL, ephemeral=True)
    return True


class PageButton(
    Guarded,
    discord.ui.DynamicItem[discord.ui.Button],
    template=re.compile(
        PREFIX + r":(?P<page>\d+):(?P<owner>[0-9a-z]+):(?P<until>[0-9a-z]+)"
        r":(?P<kind>[a-z])(?P<argument>[=#].*)",
        re.DOTALL,
    ),
):
    """◀ or ▶: shows the page named in its custom_id."""

    where = "a paper list"

    def __init__(
        self, button: discord.ui.Button, *, owner: int = 0, state: ListState | None = None
    ) -> None:
        super().__init__(button)
        self.owner = owner
        self.state = state  # None: the list is no longer known (its long argument was dropped)

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item, match: re.Match[str], /
    ) -> PageButton:
        owner = int(match["owner"], 36)
        argument = _unpack_argument(match["argument"])
        state = None
        if argument is not None and match["kind"] in KINDS:
            state = ListState(
                match["kind"], argument, owner, int(match["page"]), int(match["until"], 36)
            )
        button = discord.ui.Button(custom_id=match.string)
        return cls(button, owner=owner, state=state)

    async def act(self, interaction: discord.Interaction) -> None:
        if await _refused(interaction, self.owner):
            return
        lists = PaperLists.of(interaction.client)
        if self.state is None or self.state.expired():
            await lists.expire(interaction)
        else:
            await lists.turn(interaction, self.state)


class OpenCard(
    Guarded,
    discord.ui.DynamicItem[discord.ui.Select],
    template=PREFIX + r":open:(?P<owner>[0-9a-z]+):(?P<until>[0-9a-z]+)",
):
    """The select menu: sends the chosen paper's card, privately."""

    where = "a paper list"

    def __init__(self, select: discord.ui.Select, *, owner: int = 0, until: int = 0) -> None:
        super().__init__(select)
        self.owner = owner
        self.until = until

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item, match: re.Match[str], /
    ) -> OpenCard:
        select = discord.ui.Select(custom_id=match.string)
        return cls(select, owner=int(match["owner"], 36), until=int(match["until"], 36))

    async def act(self, interaction: discord.Interaction) -> None:
        if await _refused(interaction, self.owner):
            return
        lists = PaperLists.of(interaction.client)
        if wall_clock() > self.until:
            await lists.expire(interaction)
            return
        paper = None
        values = self.item.values
        try:
            paper_id = normalize_arxiv_id(values[0]) if values else None
        except InvalidPaperId:
            paper_id = None
        if paper_id:
            paper = await get_paper(lists.services.store.reader, paper_id)
        if paper is None:
            await interaction.response.send_message(
                "That paper is no longer in paperboy's store.", ephemeral=True
            )
            return
        embed, view = member_card(lists.services, paper, interaction.locale)
        await interaction.response.send_message(
            embed=embed, view=view or discord.utils.MISSING, ephemeral=True
        )
