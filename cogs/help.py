"""/help: what the bot does and every command, on one screen."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from bot import render
from bot.app import PaperBot


def command_lines(tree: app_commands.CommandTree) -> list[tuple[str, str]]:
    """("/group sub", description) for every slash command, in the order they were added."""
    lines = []
    for command in tree.get_commands():
        if isinstance(command, app_commands.Group):
            lines += [
                (f"/{sub.qualified_name}", sub.description)
                for sub in command.walk_commands()
                if isinstance(sub, app_commands.Command)
            ]
        elif isinstance(command, app_commands.Command):
            lines.append((f"/{command.name}", command.description))
    return lines


ABOUT = (
    "paperboy follows Hugging Face **Daily Papers**: every paper of every day, its upvotes over "
    "time and its summaries, kept in a local store. Look papers up by title words, author, "
    "arXiv id or day, see the top and trending ones, and page through the results. Answers are "
    "private unless you set `public`. Server admins can have each day's papers posted in a "
    "channel at their local time with `/digest subscribe`; vote on the cards with 👍 / 👎."
)


class Help(commands.Cog):
    """The /help command; it lists whatever commands are loaded, so it never goes stale."""

    def __init__(self, bot: PaperBot) -> None:
        self.bot = bot

    @app_commands.command(name="help", description="What paperboy does and how to use it")
    async def help(self, interaction: discord.Interaction) -> None:
        embed = render.help_embed(command_lines(self.bot.tree), title="paperboy", intro=ABOUT)
        await interaction.response.send_message(embed=embed, ephemeral=True)


async def setup(bot: PaperBot) -> None:
    await bot.add_cog(Help(bot))
