"""PaperBot: the Discord client. It only wires services; the commands live in cogs/."""

from __future__ import annotations

import gc
import hashlib
import json
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import discord
import httpx
import yarl
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from discord import app_commands
from discord.ext import commands

from bot.config import Settings
from bot.errors import UserError
from bot.i18n import text
from bot.ingest import Ingest
from bot.lookup import Sources, http_client
from bot.models import InvalidPaperId
from bot.options import OptionRefused, check_options
from bot.sources import NotFound, SourceError
from bot.translator import PaperTranslator
from storage.db import Store, is_busy, is_full, open_store
from storage.search import QueryHasNoWords
from storage.state import get_state, set_state

if TYPE_CHECKING:
    from bot.summaries.service import SummaryService

log = logging.getLogger(__name__)

# Loaded in this order by setup_hook; an explicit list, so what runs is what is listed here.
EXTENSIONS = ("cogs.papers", "cogs.digest", "cogs.help")
SYNCED_HASH_KEY = "synced_commands_hash"


def configure_endpoints(settings: Settings) -> None:
    """Point discord.py at another REST API / gateway (a proxy, or the tests' fake Discord).

    Must run before the client is created: discord.py reads these class attributes when it
    builds requests and opens the gateway.
    """
    if settings.discord_api_base:
        discord.http.Route.BASE = settings.discord_api_base.rstrip("/")
    if settings.discord_gateway_url:
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(settings.discord_gateway_url)


def intents() -> discord.Intents:
    """Only what slash commands and digests need: guilds and their channels. No privileged
    intents (no message content, no member list)."""
    return discord.Intents(guilds=True)


@dataclass(frozen=True, slots=True)
class Services:
    """What cogs need, built in main() and handed to the bot."""

    settings: Settings
    store: Store
    http: httpx.AsyncClient
    scheduler: AsyncIOScheduler
    sources: Sources
    ingest: Ingest  # polls Hugging Face; features listen to its rounds
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)  # tests pass their own
    summaries: SummaryService | None = None  # None: the abstract provider, nothing to write


def user_message(error: Exception, where: str, language: object = None) -> str:
    """What to tell a member about `error`, in `language` (a Discord locale, a code; None:
    English); logs what is not their mistake.

    The one mapping from exceptions to replies, used by the command tree and by views.
    """
    cause = error.original if isinstance(error, app_commands.CommandInvokeError) else error
    if isinstance(cause, UserError):
        return cause.localized(language)
    if isinstance(cause, InvalidPaperId | QueryHasNoWords | NotFound):
        return str(cause)
    if isinstance(cause, SourceError):
        log.warning("source error in %s: %s", where, cause)
        return text(language, "errors.sources", cause=cause)
    if isinstance(cause, app_commands.CheckFailure):
        return str(cause) or text(language, "errors.not_here")
    if is_busy(cause):  # another process held the write lock past the busy timeout
        log.warning("the database was busy in %s: %s", where, cause)
        return text(language, "errors.busy")
    if is_full(cause):
        log.error("the database is full (disk space?) in %s: %s", where, cause)
        return text(language, "errors.full")
    if isinstance(cause, app_commands.TransformerError):
        value = cause.value
        if isinstance(value, app_commands.AppCommandChannel | app_commands.AppCommandThread):
            # discord.py resolves only channels of this server that the bot can see
            return text(language, "errors.channel", name=value.name)
        return text(language, "errors.bad_value", value=repr(value))
    log.error("%s failed", where, exc_info=cause)
    return text(language, "errors.generic")


class OptionCheckedTree(app_commands.CommandTree):
    """A command tree that refuses option values Discord would refuse (see check_options)
    before any command runs: with a private reply to a command, no choices to an autocomplete.
    """

    async def interaction_check(self, interaction: discord.Interaction, /) -> bool:
        data: Any = interaction.data or {}
        if data.get("type", 1) != 1:  # context menus: no options
            return True
        autocomplete = interaction.type is discord.InteractionType.autocomplete
        try:
            command, options = self._get_app_command_options(data)
        except app_commands.AppCommandError:
            return True  # an unknown command: the tree reports it as it always does
        except Exception:
            command, options = None, None  # not even shaped like a command
        try:
            if not isinstance(command, app_commands.Command):
                raise OptionRefused("This command arrived malformed; it was not run.")
            check_options(command, options, autocomplete=autocomplete)
        except OptionRefused as refused:
            log.info("refused an interaction of user %s: %s", interaction.user.id, refused)
            if autocomplete:
                try:
                    await interaction.response.autocomplete([])
                except discord.HTTPException:
                    log.warning("could not answer a refused autocomplete (expired?)")
            else:  # answered here: a malformed interaction may not even name its command
                await reply_ephemeral(interaction, user_message(refused, "the option check"))
            return False
        return True


class PaperTree(OptionCheckedTree):
    """The one error path: user mistakes become a short ephemeral reply, the rest is logged."""

    async def on_error(
        self, interaction: discord.Interaction, error: app_commands.AppCommandError
    ) -> None:
        command = interaction.command
        where = f"/{command.qualified_name}" if command else "a command"
        await reply_ephemeral(interaction, user_message(error, where))


async def reply_ephemeral(interaction: discord.Interaction, text: str) -> None:
    """Answer with a private message whether or not the interaction was answered already."""
    try:
        if interaction.response.is_done():
            await interaction.followup.send(text[:1900], ephemeral=True)
        else:
            await interaction.response.send_message(text[:1900], ephemeral=True)
    except discord.HTTPException:
        log.warning("could not answer privately (the interaction expired?)")


class PaperBot(commands.Bot):
    """The bot: holds the services, loads the cogs, syncs slash commands when they change."""

    def __init__(self, services: Services, **options: Any) -> None:
        super().__init__(
            **options,
            command_prefix=commands.when_mentioned,  # slash commands only; no message content
            intents=intents(),
            tree_cls=PaperTree,
            allowed_mentions=discord.AllowedMentions.none(),
            help_command=None,
        )
        self.services = services

    async def setup_hook(self) -> None:
        for extension in EXTENSIONS:
            await self.load_extension(extension)  # features add their ingest listeners
        services = self.services
        services.ingest.schedule(services.scheduler, every=services.settings.ingest_interval)
        services.scheduler.start()
        # Before the sync: the payload carries the Korean descriptions (bot/translator.py).
        await self.tree.set_translator(PaperTranslator())
        await self.sync_commands()
        # What exists now (modules, commands, caches) lives as long as the bot: keep it out of
        # the garbage collector's full passes, which otherwise stall replies (benchmarks/).
        gc.collect()
        gc.freeze()

    async def close(self) -> None:
        """Stop the jobs, then the cogs (their cog_unload awaits what they started): nothing of
        the bot's is left running when this returns."""
        if self.services.scheduler.running:
            self.services.scheduler.shutdown(wait=False)
        await self.services.ingest.stop()
        if self.services.summaries is not None:
            await self.services.summaries.stop()
        await super().close()

    async def sync_commands(self) -> None:
        """Sync to DEV_GUILD_ID at every start (instant there); globally only on change.

        Global syncs are rate limited and take time to spread, so the hash of the synced
        commands is kept in the store and a restart with the same commands syncs nothing.
        """
        guild_id = self.services.settings.dev_guild_id
        if guild_id is not None:
            guild = discord.Object(id=guild_id)
            self.tree.copy_global_to(guild=guild)
            synced = await self.tree.sync(guild=guild)
            log.info("synced %d commands to guild %d", len(synced), guild_id)
            return
        digest = await self.commands_hash()
        store = self.services.store
        if await get_state(store.reader, SYNCED_HASH_KEY) == digest:
            log.info("slash commands unchanged since the last sync; not syncing")
            return
        synced = await self.tree.sync()
        async with store.write() as conn:
            await set_state(conn, SYNCED_HASH_KEY, digest)
        log.info("synced %d global commands", len(synced))

    async def commands_hash(self) -> str:
        """A hash of the global command tree as it would be sent to Discord (with the
        translator's localizations: a changed translation is a change to sync)."""
        translator = self.tree.translator
        commands = self.tree.get_commands()
        if translator is None:
            payload = [command.to_dict(self.tree) for command in commands]
        else:
            payload = [await c.get_translated_payload(self.tree, translator) for c in commands]
        # Keyed by application: the same database used by another bot must sync that one too.
        text = json.dumps([self.application_id, payload], sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()


@asynccontextmanager
async def open_services(
    settings: Settings, *, clock: Callable[[], datetime] | None = None
) -> AsyncIterator[Services]:
    """Open the store and the HTTP client, and build what the cogs need."""
    clock = clock or (lambda: datetime.now(UTC))
    async with open_store(settings.store_target) as store, http_client(settings) as http:
        sources = Sources.create(http, settings)
        ingest = Ingest(store, sources.huggingface, clock)
        summaries = summary_service(settings, store, http, clock)
        if summaries is not None:
            # The first listener, before the digest's (added when its cog loads): a round's
            # refresh of the posted cards sees the summaries ready by then.
            ingest.listeners.append(summaries)
        try:
            yield Services(
                settings=settings,
                store=store,
                http=http,
                scheduler=AsyncIOScheduler(timezone="UTC"),
                sources=sources,
                ingest=ingest,
                clock=clock,
                summaries=summaries,
            )
        finally:
            if summaries is not None:
                await summaries.stop()
                close = getattr(summaries.provider, "aclose", None)
                if close is not None:
                    await close()


def summary_service(
    settings: Settings, store: Store, http: httpx.AsyncClient, clock: Callable[[], datetime]
) -> SummaryService | None:
    """The service writing summaries ahead of the digest; None with the abstract provider.

    ``bot.summaries.providers`` (which imports the ``openai`` client) is imported only when a
    provider other than ``abstract`` runs; with ``hf`` it is imported too, though unused."""
    if settings.summary_provider_name == "abstract":
        return None
    from bot.summaries.providers import make_provider
    from bot.summaries.service import SummaryService

    return SummaryService(
        store,
        make_provider(settings, http),
        clock,
        bullets=settings.summary_bullets,
        concurrency=settings.llm_concurrency,
    )


async def run_bot(settings: Settings) -> None:
    """Open the services, start the bot and run until it is stopped."""
    configure_endpoints(settings)
    if not settings.discord_token:
        raise ValueError("DISCORD_TOKEN is not set")  # `paperboy run` checks it before this
    async with open_services(settings) as services, PaperBot(services) as bot:
        await bot.start(settings.discord_token)
