"""Korean slash command descriptions for Discord, through discord.py's ``Translator``.

discord.py asks the translator for every ``locale_str`` of the command tree (names,
descriptions, choice names), once per Discord locale, when it builds the sync payload; what
it returns goes into ``name_localizations`` / ``description_localizations`` and Discord shows
it to clients in that locale. Only descriptions are translated (of commands, groups and
options), looked up by their English text in ``bot/locales/commands.<language>.toml``: command
and option names stay as they are (they must be lowercase and unique, and members type them),
and the choices offered are identifiers (``day``, ``cards``). Everything else gets None, which
discord.py leaves out.
"""

from __future__ import annotations

import discord
from discord import app_commands

from bot.i18n import command_translations

__all__ = ["DESCRIPTIONS", "PaperTranslator"]

# Where a string is a description, to translate; names and choices are left alone.
DESCRIPTIONS = frozenset(
    {
        app_commands.TranslationContextLocation.command_description,
        app_commands.TranslationContextLocation.group_description,
        app_commands.TranslationContextLocation.parameter_description,
    }
)
LOCALES = {discord.Locale.korean: "ko"}  # Discord locale -> catalogue


class PaperTranslator(app_commands.Translator):
    """Descriptions in the locales of ``LOCALES``; None (Discord shows English) otherwise."""

    async def translate(
        self,
        string: app_commands.locale_str,
        locale: discord.Locale,
        context: app_commands.TranslationContextTypes,
    ) -> str | None:
        language = LOCALES.get(locale)
        if language is None or context.location not in DESCRIPTIONS:
            return None
        return command_translations(language).get(string.message)
