"""/paper search | author | show | day | top | trending: look papers up in the store."""

from __future__ import annotations

import logging
from datetime import date, timedelta
from typing import Literal

import discord
from discord import app_commands
from discord.ext import commands

from bot import render
from bot.app import PaperBot, Services, UserError
from bot.lookup import fetch_and_store
from bot.models import InvalidPaperId, Paper, normalize_arxiv_id, parse_day
from cogs.views import PAGE_SIZE, Page, PageSource, PaperPages
from storage.papers import (
    get_paper,
    latest_day,
    load_papers,
    papers_on_day,
    recent_days,
    top_papers,
)
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


class Papers(commands.Cog):
    """Paper lookups. Every reply is private unless `public` is set."""

    paper = app_commands.Group(name="paper", description="Look up Hugging Face Daily Papers")

    def __init__(self, services: Services) -> None:
        self.services = services
        self.store = services.store
        self.clock = services.clock

    # -- helpers ------------------------------------------------------------------------------

    async def _send_list(
        self,
        interaction: discord.Interaction,
        *,
        title: str,
        source: PageSource,
        public: bool,
        empty: str,
    ) -> None:
        first = await source(0)
        if not first.papers:
            await interaction.response.send_message(empty, ephemeral=True)
            return
        view = PaperPages(title=title, source=source, owner_id=interaction.user.id, first=first)
        view.last_interaction = interaction
        await interaction.response.send_message(embed=view.embed(), view=view, ephemeral=not public)

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
        embed = render.paper_card(paper)
        if interaction.response.is_done():
            await interaction.followup.send(embed=embed, ephemeral=not public)
        else:
            await interaction.response.send_message(embed=embed, ephemeral=not public)

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

        async def source(offset: int) -> Page:
            found = await search_papers(self.store.reader, query, limit=PAGE_SIZE, offset=offset)
            return Page(found.papers, found.more)

        await self._send_list(
            interaction,
            title=f"Papers matching “{_quoted(query)}”",
            source=source,
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
        async def source(offset: int) -> Page:
            found = await papers_by_author(self.store.reader, name, limit=PAGE_SIZE, offset=offset)
            return Page(found.papers, found.more)

        await self._send_list(
            interaction,
            title=f"Papers by {_quoted(name)}",
            source=source,
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
        papers = await papers_on_day(self.store.reader, wanted)

        async def source(offset: int) -> Page:
            page = papers[offset : offset + PAGE_SIZE]
            return Page(page, len(papers) > offset + PAGE_SIZE, total=len(papers))

        await self._send_list(
            interaction,
            title=f"Daily Papers — {wanted.isoformat()} · {len(papers)} papers",
            source=source,
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
    @app_commands.describe(period="How far back from the latest stored day", public="Show to all")
    async def top(
        self,
        interaction: discord.Interaction,
        period: Literal["day", "week", "month"] = "week",
        public: bool = False,
    ) -> None:
        last = await latest_day(self.store.reader)
        if last is None:
            raise UserError("No Daily Papers are stored yet.")
        first = last - timedelta(days=PERIOD_DAYS[period] - 1)

        async def source(offset: int) -> Page:
            papers = await top_papers(
                self.store.reader, first, last, limit=PAGE_SIZE + 1, offset=offset
            )
            return Page(papers[:PAGE_SIZE], len(papers) > PAGE_SIZE)

        await self._send_list(
            interaction,
            title=f"Top papers · {first.isoformat()} – {last.isoformat()}",
            source=source,
            public=public,
            empty="No papers in that period.",
        )

    @paper.command(name="trending", description="Biggest upvote gains over the last 24 hours")
    @app_commands.describe(public="Show the answer to everyone")
    async def trending(self, interaction: discord.Interaction, public: bool = False) -> None:
        since = self.clock() - TRENDING_WINDOW

        async def source(offset: int) -> Page:
            rows = await upvote_gains(self.store.reader, since, limit=PAGE_SIZE + 1, offset=offset)
            papers = await load_papers(self.store.reader, [pk for pk, _ in rows[:PAGE_SIZE]])
            return Page(papers, len(rows) > PAGE_SIZE)

        await self._send_list(
            interaction,
            title="Trending · biggest upvote gains in 24 h",
            source=source,
            public=public,
            empty="No paper gained upvotes in the last 24 hours.",
        )


async def setup(bot: PaperBot) -> None:
    await bot.add_cog(Papers(bot.services))
