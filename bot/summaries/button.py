"""The "Summarize in <language>" button of /paper show cards: a summary made on demand.

`/paper show` picks the card's summary language from the member's Discord locale
(``locale_language``). When no summary in that language is stored and a model is configured
(the ``openai`` provider), the card carries a `SummarizeButton`; its custom id holds the paper
and the language, so it keeps working after a restart. A click is acknowledged at once, then
the summary is made by the service that writes them ahead of the digest
(``SummaryService.summarize_now``: a pair it is writing already is awaited, not asked twice),
so it is stored and reused by digests, ``export`` and the next /paper show, and the card is
edited to show it. An answer that cannot be used is explained privately.

Clicks are limited per member per hour (``SUMMARY_REQUESTS_PER_MEMBER_PER_HOUR``), counted in
memory by the running process (`RequestLimit`): a restart starts the count afresh.
"""

from __future__ import annotations

import math
import weakref
from collections import deque
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import discord

from bot import i18n, render
from bot.app import UserError
from bot.components import Guarded
from bot.models import Paper
from storage.papers import get_paper

if TYPE_CHECKING:
    from bot.app import Services

WINDOW = timedelta(hours=1)
# discord.Locale values whose language code is not their first part, lower-cased.
_LOCALE_LANGUAGES = {"zh-TW": "zh-tw", "zh-CN": "zh"}


def locale_language(locale: discord.Locale | str | None) -> str | None:
    """The store's language code for a Discord locale: ``ko`` → "ko", ``en-US`` → "en",
    ``zh-TW`` → "zh-tw", ``zh-CN`` → "zh"; None without a locale."""
    if locale is None:
        return None
    value = str(getattr(locale, "value", locale)).strip()
    if not value:
        return None
    return _LOCALE_LANGUAGES.get(value) or value.split("-")[0].casefold()


def stored_summary(paper: Paper, language: str) -> bool:
    """Whether `paper` has a stored summary (with bullets) in exactly `language`."""
    wanted = language.casefold()
    return any(
        s.language.strip().casefold() == wanted and any(b.strip() for b in s.bullets)
        for s in paper.summaries
    )


def can_summarize(services: Services) -> bool:
    """Whether cards may offer the button: a model is configured and clicks are allowed."""
    summaries = services.summaries
    return (
        summaries is not None
        and getattr(summaries.provider, "name", None) == "openai"
        and services.settings.summary_requests_per_member_per_hour > 0
    )


class RequestLimit:
    """Clicks per member in the last hour, in memory (per process)."""

    def __init__(self) -> None:
        self._clicks: dict[int, deque[datetime]] = {}

    def wait(self, member_id: int, limit: int, now: datetime) -> timedelta | None:
        """None and the click counted when the member is under `limit`; else how long until
        their oldest click of the hour leaves the window."""
        clicks = self._clicks.setdefault(member_id, deque())
        while clicks and now - clicks[0] >= WINDOW:
            clicks.popleft()
        if len(clicks) >= limit:
            return clicks[0] + WINDOW - now
        clicks.append(now)
        return None

    def forget(self, member_id: int) -> None:
        """Give the member's newest click back (nothing was asked of the model)."""
        clicks = self._clicks.get(member_id)
        if clicks:
            clicks.pop()


# One limit per running bot (the button is rebuilt from its custom id for every click).
_limits: weakref.WeakKeyDictionary[object, RequestLimit] = weakref.WeakKeyDictionary()


def request_limit(client: object) -> RequestLimit:
    limit = _limits.get(client)
    if limit is None:
        limit = _limits[client] = RequestLimit()
    return limit


def member_card(
    services: Services, paper: Paper, locale: discord.Locale | str | None
) -> tuple[discord.Embed, discord.ui.View | None]:
    """A paper's card for a member (/paper show, a list's card menu): in their Discord
    locale's language when a summary in it is stored; else as without one, with a
    "Summarize in …" button when a model can write it."""
    language = locale_language(locale)
    if language is not None and stored_summary(paper, language):
        return render.paper_card(paper, language=language, locale=language), None
    view = summarize_view(paper, language) if language and can_summarize(services) else None
    return render.paper_card(paper, locale=language), view


def summarize_view(paper: Paper, language: str) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    view.add_item(SummarizeButton(paper.id, language))
    return view


class SummarizeButton(
    Guarded,
    discord.ui.DynamicItem[discord.ui.Button],
    template=r"sum:(?P<paper>[^:\s]+):(?P<lang>[a-z]{2,3}(?:-[a-z0-9]{2,8})?)",
):
    """The "Summarize in Korean" of a /paper show card; its custom id holds paper and language."""

    where = "a summarize button"

    def __init__(self, paper_id: str, language: str) -> None:
        self.paper_id, self.language = paper_id, language
        name = i18n.language_name(language, language)  # in its own catalogue: "한국어"
        button: discord.ui.Button[Any] = discord.ui.Button(
            label=render.truncate(i18n.text(language, "summaries.button", language=name), 80),
            emoji="📝",
            custom_id=f"sum:{paper_id}:{language}",
            style=discord.ButtonStyle.secondary,
        )
        super().__init__(button)

    @classmethod
    async def from_custom_id(cls, interaction, item, match):
        return cls(match["paper"], match["lang"])

    async def act(self, interaction: discord.Interaction) -> None:
        services: Services = interaction.client.services  # type: ignore[attr-defined]
        if not can_summarize(services):
            raise UserError.of("summaries.no_model")
        summaries = services.summaries
        assert summaries is not None
        limits = request_limit(interaction.client)
        per_hour = services.settings.summary_requests_per_member_per_hour
        wait = limits.wait(interaction.user.id, per_hour, services.clock())
        if wait is not None:
            minutes = max(1, math.ceil(wait.total_seconds() / 60))
            note = i18n.plural(interaction.locale, "summaries.limit", minutes, asked=per_hour)
            await interaction.response.send_message(note, ephemeral=True)
            return
        # The model can take many seconds: acknowledge within Discord's 3 s first.
        await interaction.response.defer()
        paper = await get_paper(services.store.reader, self.paper_id)
        if paper is None:
            limits.forget(interaction.user.id)
            raise UserError.of("errors.paper_gone")
        if stored_summary(paper, self.language):  # another click (or the digest) made it
            limits.forget(interaction.user.id)
        elif (tried := await summaries.tried_today(paper, self.language)) is not None:
            # The service asks again the next UTC day; a click does not spend calls before.
            limits.forget(interaction.user.id)
            note = _fallback_text(interaction.locale, "summaries.tried_today", tried, services)
            await interaction.followup.send(note, ephemeral=True)
            return
        else:  # written by the service, so a pair it is writing already costs no second call
            result = await summaries.summarize_now(paper, self.language)
            if result is None:  # the service had just written (or tried) it: show that
                paper = await get_paper(services.store.reader, self.paper_id) or paper
                reason = await summaries.tried_today(paper, self.language)
                if not stored_summary(paper, self.language) and reason is not None:
                    note = _fallback_text(interaction.locale, "summaries.failed", reason, services)
                    await interaction.followup.send(note, ephemeral=True)
                    return
            elif result.is_fallback:  # refused, failed, or the model unreachable
                note = _fallback_text(
                    interaction.locale, "summaries.failed", result.fallback_reason, services
                )
                await interaction.followup.send(note, ephemeral=True)
                return
            paper = await get_paper(services.store.reader, self.paper_id) or paper
        embed = render.paper_card(paper, language=self.language, locale=self.language)
        await interaction.edit_original_response(embed=embed, view=None)


def _fallback_text(locale: object, key: str, reason: str | None, services: Services) -> str:
    """Catalogue message `key` for the member, with why (key-free, mentions defused)."""
    why = render.truncate(" ".join((reason or "no reason given").split()), 200)
    secret = services.settings.llm_api_key
    if secret:
        why = why.replace(secret, "…")
    return render.defuse_mentions(i18n.text(locale, key, reason=why))
