"""Paged paper lists: ◀ ▶ buttons and a select menu that opens one paper's card."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import discord

from bot import render
from bot.app import reply_ephemeral, user_message
from bot.models import Paper

log = logging.getLogger(__name__)

PAGE_SIZE = 5
VIEW_TIMEOUT = 600.0  # seconds before the buttons are disabled


@dataclass(slots=True)
class Page:
    papers: list[Paper]
    more: bool  # whether a next page exists
    total: int | None = None  # papers in the whole list, when known


# Fetches the page starting at `offset` (PAGE_SIZE papers).
PageSource = Callable[[int], Awaitable[Page]]


class PaperPages(discord.ui.View):
    """A list of papers, one page at a time, for the member who asked.

    Only the member who ran the command can turn pages or open cards; others get a short
    private refusal. When the view times out, its controls are disabled on the message.
    """

    def __init__(self, *, title: str, source: PageSource, owner_id: int, first: Page) -> None:
        super().__init__(timeout=VIEW_TIMEOUT)
        self.title = title
        self.source = source
        self.owner_id = owner_id
        self.page_number = 0
        self.page = first
        # The latest interaction on the list: its token (valid 15 minutes) edits the message
        # when the view times out, however long ago the command itself ran.
        self.last_interaction: discord.Interaction | None = None
        self._sync_controls()

    def embed(self) -> discord.Embed:
        total = self.page.total
        if total is None and not self.page.more:  # the last page tells the total
            total = self.page_number * PAGE_SIZE + len(self.page.papers)
        pages = -(-total // PAGE_SIZE) if total is not None else None
        return render.paper_list_page(
            self.page.papers,
            title=self.title,
            page=self.page_number + 1,
            pages=pages,
            first_rank=self.page_number * PAGE_SIZE + 1,
            total=total,
        )

    def _sync_controls(self) -> None:
        self.previous.disabled = self.page_number == 0
        self.next.disabled = not self.page.more
        self.open_card.options = render.select_options(self.page.papers) or [
            discord.SelectOption(label="(no papers)", value="-")
        ]
        self.open_card.disabled = not self.page.papers

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        if interaction.user.id == self.owner_id:
            self.last_interaction = interaction
            return True
        await interaction.response.send_message(
            "Only the person who asked can use these buttons; run the command yourself.",
            ephemeral=True,
        )
        return False

    async def _turn(self, interaction: discord.Interaction, step: int) -> None:
        number = max(0, self.page_number + step)
        page = await self.source(number * PAGE_SIZE)
        if page.papers or number == 0:
            self.page_number, self.page = number, page
        self._sync_controls()
        await interaction.response.edit_message(embed=self.embed(), view=self)

    @discord.ui.button(label="◀", style=discord.ButtonStyle.secondary)
    async def previous(self, interaction: discord.Interaction, _: discord.ui.Button) -> None:
        await self._turn(interaction, -1)

    @discord.ui.button(label="▶", style=discord.ButtonStyle.secondary)
    async def next(self, interaction: discord.Interaction, _: discord.ui.Button) -> None:
        await self._turn(interaction, +1)

    @discord.ui.select(placeholder="Open a paper's card…", min_values=1, max_values=1)
    async def open_card(self, interaction: discord.Interaction, select: discord.ui.Select) -> None:
        chosen = next((p for p in self.page.papers if p.id == select.values[0]), None)
        if chosen is None:
            await interaction.response.send_message(
                "That paper is no longer on this page.", ephemeral=True
            )
            return
        await interaction.response.send_message(embed=render.paper_card(chosen), ephemeral=True)

    async def on_timeout(self) -> None:
        for item in self.children:
            item.disabled = True  # type: ignore[attr-defined]
        if self.last_interaction is not None:
            try:
                await self.last_interaction.edit_original_response(view=self)
            except discord.HTTPException:  # message deleted, or the token expired after all
                log.debug("could not disable the controls of an expired list")

    async def on_error(
        self, interaction: discord.Interaction, error: Exception, item: discord.ui.Item
    ) -> None:
        await reply_ephemeral(interaction, user_message(error, f"the list {self.title!r}"))
