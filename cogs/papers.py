"""/paper search | author | show | day | top | trending: look papers up in the store."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta
from typing import Literal

import discord
from discord import app_commands
from discord.ext import commands

from bot import charts, render
from bot.app import PaperBot, Services, UserError
from bot.lookup import fetch_and_store
from bot.models import InvalidPaperId, Paper, normalize_arxiv_id, parse_day
from bot.summaries.button import SummarizeButton, member_card
from cogs.views import PAGE_SIZE, ListKind, OpenCard, Page, PageButton, PaperLists, register
from storage.lists import day_page, list_papers, server_top_page, top_page
from storage.papers import get_paper, latest_day, recent_days
from storage.search import papers_by_author, search_papers, suggest_authors, suggest_titles
from storage.votes import trending as upvote_gains

log = logging.getLogger(__name__)

MAX_QUERY = 200  # characters; longer input is refused by Discord before it reaches us
PERIOD_DAYS = {"day": 1, "week": 7, "month": 30}
TRENDING_WINDOW = timedelta(hours=24)


def _quoted(text: str) -> str:
    """User input fit to echo back: short, and unable to ping anyone."""
    return render.defuse_mentions(render.truncate(text, 80))


def _day(text: str) -> date:
    try:
        return parse_day(text)
    except ValueError as exc:
        raise UserError(str(exc)) from None


# -- the lists (cogs/views.py pages them from what their custom_ids carry) ---------------------


async def _search_page(services: Services, query: str, offset: int) -> Page:
    found = await search_papers(services.store.reader, query, limit=PAGE_SIZE, offset=offset)
    return Page(found.papers, found.more)


async def _author_page(services: Services, name: str, offset: int) -> Page:
    found = await papers_by_author(services.store.reader, name, limit=PAGE_SIZE, offset=offset)
    return Page(found.papers, found.more)


async def _day_page(services: Services, day: str, offset: int) -> Page:
    papers, total = await day_page(
        services.store.reader, date.fromisoformat(day), limit=PAGE_SIZE, offset=offset
    )
    if not papers:  # past the end: the page query can't count the list
        return Page([], False)
    return Page(papers, total > offset + PAGE_SIZE, total=total)


def _period(argument: str) -> tuple[date, date]:
    first, _, last = argument.partition(":")
    return date.fromisoformat(first), date.fromisoformat(last)


def _server_period(argument: str) -> tuple[int, date, date]:
    """'guild_id:first:last' -> (guild id, first day, last day)."""
    guild_id, _, period = argument.partition(":")
    return int(guild_id), *_period(period)


async def _top_page(services: Services, period: str, offset: int) -> Page:
    first, last = _period(period)
    papers = await top_page(services.store.reader, first, last, limit=PAGE_SIZE + 1, offset=offset)
    return Page(papers[:PAGE_SIZE], len(papers) > PAGE_SIZE)


async def _ranked_page(services: Services, rows: list[tuple[int, int]]) -> Page:
    """A page from (paper key, score) rows read with limit PAGE_SIZE + 1."""
    papers = await list_papers(services.store.reader, [pk for pk, _ in rows[:PAGE_SIZE]])
    return Page(papers, len(rows) > PAGE_SIZE)


async def _server_top_page(services: Services, argument: str, offset: int) -> Page:
    """The server's members' favourites; each paper carries its 👍/👎 counts for the list."""
    guild_id, first, last = _server_period(argument)
    papers = await server_top_page(
        services.store.reader, guild_id, first, last, limit=PAGE_SIZE + 1, offset=offset
    )
    return Page(papers[:PAGE_SIZE], len(papers) > PAGE_SIZE)


async def _trending_page(services: Services, since: str, offset: int) -> Page:
    when = datetime.fromtimestamp(int(since), UTC)
    rows = await upvote_gains(services.store.reader, when, limit=PAGE_SIZE + 1, offset=offset)
    return await _ranked_page(services, rows)


SEARCH = register(
    ListKind("s", _search_page, lambda query, _: f"Papers matching “{_quoted(query)}”")
)
AUTHOR = register(ListKind("a", _author_page, lambda name, _: f"Papers by {_quoted(name)}"))
DAY = register(
    ListKind(
        "d",
        _day_page,
        lambda day, page: (
            f"Daily Papers — {day}" + (f" · {page.total} papers" if page.total is not None else "")
        ),
    )
)
TOP = register(
    ListKind(
        "t",
        _top_page,
        lambda period, _: "Top papers · {} – {}".format(*_period(period)),
    )
)
SERVER_TOP = register(
    ListKind(
        "v",
        _server_top_page,
        lambda argument, _: "Top papers by this server's 👍/👎 · {} – {}".format(
            *_server_period(argument)[1:]
        ),
    )
)
TRENDING = register(
    ListKind("r", _trending_page, lambda _, __: "Trending · biggest upvote gains in 24 h")
)


class Papers(commands.Cog):
    """Paper lookups. Every reply is private unless `public` is set."""

    paper = app_commands.Group(name="paper", description="Look up Hugging Face Daily Papers")

    def __init__(self, bot: PaperBot) -> None:
        self.bot = bot
        self.services = bot.services
        self.store = bot.services.store
        self.clock = bot.services.clock
        self.lists = PaperLists(bot, bot.services)

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(PageButton, OpenCard, SummarizeButton)
        self.lists.start()

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(PageButton, OpenCard, SummarizeButton)
        await self.lists.stop()

    async def _show_paper(
        self, interaction: discord.Interaction, paper_id: str, *, public: bool
    ) -> None:
        """The paper's card; a paper not stored yet is fetched and stored first."""
        paper = await get_paper(self.store.reader, paper_id)
        if paper is None:
            # Hugging Face and arXiv can take seconds: acknowledge within Discord's 3 s first.
            await interaction.response.defer(ephemeral=not public, thinking=True)
            try:
                paper = await fetch_and_store(
                    self.store, self.services.sources, paper_id, self.clock()
                )
            except Exception:
                if public:  # the error stays private: remove the public "thinking…" message
                    await interaction.delete_original_response()
                raise
        await self._show_card(interaction, paper, public=public)

    async def _show_card(
        self, interaction: discord.Interaction, paper: Paper, *, public: bool
    ) -> None:
        """The card in the member's language (their Discord locale) when a summary in it is
        stored; else as before, with a "Summarize in …" button when a model can write one."""
        embed, view = member_card(self.services, paper, interaction.locale)
        if interaction.response.is_done():
            await interaction.followup.send(
                embed=embed, view=view or discord.utils.MISSING, ephemeral=not public
            )
        else:
            await interaction.response.send_message(
                embed=embed, view=view or discord.utils.MISSING, ephemeral=not public
            )

    # -- commands -----------------------------------------------------------------------------

    @paper.command(name="search", description="Find papers by title words")
    @app_commands.describe(
        query="Words from the title (the last one may be unfinished)",
        public="Show the answer to everyone in the channel",
    )
    async def search(
        self,
        interaction: discord.Interaction,
        query: app_commands.Range[str, 1, MAX_QUERY],
        public: bool = False,
    ) -> None:
        try:  # a suggestion picked from autocomplete (or a pasted id) is one paper
            paper_id = normalize_arxiv_id(query)
        except InvalidPaperId:
            paper_id = None
        if paper_id:
            await self._show_paper(interaction, paper_id, public=public)
            return

        await self.lists.send(
            interaction,
            SEARCH,
            query,
            public=public,
            empty=f"No stored paper matches “{_quoted(query)}”.",
        )

    @search.autocomplete("query")
    async def search_complete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        papers = await suggest_titles(self.store.reader, current[:MAX_QUERY], limit=25)
        return [
            app_commands.Choice(name=render.autocomplete_name(paper.title), value=paper.id)
            for paper in papers
        ]

    @paper.command(name="author", description="Papers by an author, newest first")
    @app_commands.describe(name="The author's name", public="Show the answer to everyone")
    async def author(
        self,
        interaction: discord.Interaction,
        name: app_commands.Range[str, 1, MAX_QUERY],
        public: bool = False,
    ) -> None:
        await self.lists.send(
            interaction,
            AUTHOR,
            name,
            public=public,
            empty=f"No stored paper has an author named “{_quoted(name)}”.",
        )

    @author.autocomplete("name")
    async def author_complete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        authors = await suggest_authors(self.store.reader, current[:MAX_QUERY], limit=25)
        return [
            app_commands.Choice(
                name=render.autocomplete_name(
                    a.name, suffix=f"({a.papers} paper{'' if a.papers == 1 else 's'})"
                ),
                value=a.name[:100],
            )
            for a in authors
        ]

    @paper.command(name="show", description="One paper's card, by arXiv id or URL")
    @app_commands.describe(
        id="2401.08541, 2401.08541v2, an arXiv or Hugging Face paper URL",
        public="Show the answer to everyone",
    )
    async def show(
        self,
        interaction: discord.Interaction,
        id: app_commands.Range[str, 1, MAX_QUERY],  # noqa: A002 - the option's name users see
        public: bool = False,
    ) -> None:
        await self._show_paper(interaction, normalize_arxiv_id(id), public=public)

    @paper.command(name="day", description="A day's Daily Papers, most upvoted first")
    @app_commands.describe(date="YYYY-MM-DD (default: the latest stored day)", public="Show to all")
    async def day(
        self,
        interaction: discord.Interaction,
        date: str | None = None,  # noqa: A002 - the option's name users see
        public: bool = False,
    ) -> None:
        wanted = _day(date) if date else await latest_day(self.store.reader)
        if wanted is None:
            raise UserError("No Daily Papers are stored yet.")
        await self.lists.send(
            interaction,
            DAY,
            wanted.isoformat(),
            public=public,
            empty=f"No Daily Papers are stored for {wanted.isoformat()}.",
        )

    @day.autocomplete("date")
    async def day_complete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        days = await recent_days(self.store.reader, prefix=current.strip()[:10], limit=25)
        return [
            app_commands.Choice(name=f"{day.isoformat()} · {count} papers", value=day.isoformat())
            for day, count in days
        ]

    @paper.command(name="top", description="Most upvoted papers of the latest day, week or month")
    @app_commands.describe(
        period="How far back from the latest stored day",
        source="Hugging Face upvotes, or the votes of this server's members on digest cards",
        public="Show to all",
    )
    async def top(
        self,
        interaction: discord.Interaction,
        period: Literal["day", "week", "month"] = "week",
        source: Literal["huggingface", "server"] = "huggingface",
        public: bool = False,
    ) -> None:
        last = await latest_day(self.store.reader)
        if last is None:
            raise UserError("No Daily Papers are stored yet.")
        first = last - timedelta(days=PERIOD_DAYS[period] - 1)
        period_text = f"{first.isoformat()}:{last.isoformat()}"
        if source == "server":
            if interaction.guild_id is None:
                raise UserError("Votes count per server: ask in a server channel.")
            await self.lists.send(
                interaction,
                SERVER_TOP,
                f"{interaction.guild_id}:{period_text}",
                public=public,
                empty="Nobody in this server has voted on a paper of that period yet; "
                "vote with 👍 / 👎 on the digest cards.",
            )
            return
        await self.lists.send(
            interaction, TOP, period_text, public=public, empty="No papers in that period."
        )

    @paper.command(name="trending", description="Biggest upvote gains over the last 24 hours")
    @app_commands.describe(public="Show the answer to everyone")
    async def trending(self, interaction: discord.Interaction, public: bool = False) -> None:
        since = self.clock() - TRENDING_WINDOW
        await self.lists.send(
            interaction,
            TRENDING,
            str(int(since.timestamp())),
            public=public,
            empty="No paper gained upvotes in the last 24 hours.",
        )

    @paper.command(name="votes", description="A chart of a paper's upvotes and this server's votes")
    @app_commands.describe(
        id="2401.08541, 2401.08541v2, an arXiv or Hugging Face paper URL",
        days="How many days back (1-365, default 30)",
        public="Show the answer to everyone",
    )
    async def votes(
        self,
        interaction: discord.Interaction,
        id: app_commands.Range[str, 1, MAX_QUERY],  # noqa: A002 - the option's name users see
        days: app_commands.Range[int, 1, charts.MAX_DAYS] = charts.DEFAULT_DAYS,
        public: bool = False,
    ) -> None:
        await charts.send_votes(
            interaction, self.services, normalize_arxiv_id(id), days, public=public
        )

    @votes.autocomplete("id")
    async def votes_complete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        return await self.search_complete(interaction, current)  # titles, picked by id


async def setup(bot: PaperBot) -> None:
    await bot.add_cog(Papers(bot))
