"""The one error path of persistent components (buttons, select menus).

discord.py only logs what a DynamicItem's callback raises, so the member who clicked sees
"This interaction failed". Every persistent component of paperboy mixes in `Guarded` and puts
its work in `act`: whatever goes wrong is answered privately through `user_message`, the same
mapping the slash commands use, in the language of the member's Discord client
(``interaction.locale``: the reply is theirs alone).
"""

from __future__ import annotations

from typing import Any

import discord

from bot.app import reply_ephemeral, user_message


class Guarded:
    """Mix in before ``discord.ui.DynamicItem``; subclasses implement `act`, not `callback`."""

    where = "a button"  # how the log names this kind of component

    async def callback(self, interaction: discord.Interaction) -> Any:
        try:
            await self.act(interaction)
        except Exception as error:
            message = user_message(error, self.where, interaction.locale)
            await reply_ephemeral(interaction, message)

    async def act(self, interaction: discord.Interaction) -> None:
        raise NotImplementedError
