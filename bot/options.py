"""Option values checked again by the bot.

Discord checks option values against the synced declarations, but a forged client can send
anything, and discord.py passes strings, integers and choices on unchecked. Every slash command
and autocomplete goes through `check_options` (from the command tree's interaction check, in
bot/app.py), which checks the raw values against the command's own parameter declarations
(type, range, length, choices, valid text) before discord.py converts them: no command sees a
value Discord would refuse, and none is stored.
"""

from __future__ import annotations

import math
import re
from typing import Any

import discord
from discord import app_commands

from bot import render

TEXT_MAX = 6000  # Discord's longest string option (for strings declared without a max_length)
NUMBER_LIMIT = 2**53  # integer and number options lie within ±2^53 on Discord
_SNOWFLAKE = re.compile(r"[0-9]{1,20}")
_MEASURED = (
    discord.AppCommandOptionType.string,
    discord.AppCommandOptionType.integer,
    discord.AppCommandOptionType.number,
)
_KIND_NAMES = {
    discord.AppCommandOptionType.boolean: "true or false",
    discord.AppCommandOptionType.user: "a member",
    discord.AppCommandOptionType.channel: "a channel",
    discord.AppCommandOptionType.role: "a role",
    discord.AppCommandOptionType.mentionable: "a member or a role",
    discord.AppCommandOptionType.attachment: "a file",
}


class OptionRefused(app_commands.CheckFailure):
    """An option value Discord itself would have refused; its text says which and why."""


def text_problem(text: str) -> str | None:
    """Why `text` is not text a member can type (a NUL, an unpaired surrogate), or None."""
    if "\x00" in text:
        return "a NUL character"
    for char in text:
        if "\ud800" <= char <= "\udfff":
            return f"an unpaired surrogate (U+{ord(char):04X})"
    return None


def _shown(value: Any) -> str:
    """A forged value, fit to quote in a refusal."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        bits = value.bit_length()
        return str(value) if bits <= 64 else f"a number of about {int(bits * 0.30103) + 1} digits"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, str):
        if text_problem(value):
            return "that text"
        return f"“{render.defuse_mentions(render.truncate(value, 40))}”"
    return {type(None): "nothing", list: "a list", dict: "an object"}.get(type(value), "that")


def _bounds(param: app_commands.Parameter) -> tuple[int | float, int | float]:
    if param.type is discord.AppCommandOptionType.string:
        low, high = param.min_value or 0, TEXT_MAX if param.max_value is None else param.max_value
    else:
        low = -NUMBER_LIMIT if param.min_value is None else param.min_value
        high = NUMBER_LIMIT if param.max_value is None else param.max_value
    return low, high


def _allowed(param: app_commands.Parameter) -> str:
    """What `param` takes, as a member would say it."""
    kind = param.type
    if param.choices:
        return "one of " + ", ".join(str(choice.value) for choice in param.choices)
    low, high = _bounds(param)
    if kind is discord.AppCommandOptionType.string:
        return f"text of {low} to {high} characters" if low else f"at most {high} characters"
    if kind is discord.AppCommandOptionType.integer:
        return f"a whole number from {low} to {high}"
    if kind is discord.AppCommandOptionType.number:
        return f"a number from {low} to {high}"
    return _KIND_NAMES.get(kind, "a value of its kind")


def _has_type(kind: discord.AppCommandOptionType, value: Any) -> bool:
    if kind is discord.AppCommandOptionType.string:
        return isinstance(value, str)
    if kind is discord.AppCommandOptionType.integer:
        return type(value) is int  # not a bool, not 1.0, not "1"
    if kind is discord.AppCommandOptionType.number:
        return type(value) is int or (type(value) is float and math.isfinite(value))
    if kind is discord.AppCommandOptionType.boolean:
        return type(value) is bool
    # users, channels, roles, mentionables, attachments: a snowflake, as text
    return isinstance(value, str) and bool(_SNOWFLAKE.fullmatch(value)) and 0 < int(value) < 2**64


def _within(param: app_commands.Parameter, value: Any) -> bool:
    """Whether a value of the right type is in `param`'s range, length and choices."""
    if param.type in _MEASURED:
        low, high = _bounds(param)
        if not low <= (len(value) if isinstance(value, str) else value) <= high:
            return False
    return not param.choices or any(
        type(choice.value) is type(value) and choice.value == value for choice in param.choices
    )


def check_options(command: app_commands.Command, options: Any, *, autocomplete: bool) -> None:
    """OptionRefused for the first option of an invocation of `command` that Discord would have
    refused: an unknown or repeated option, a missing required one, a value of the wrong type,
    out of range, too long, not a choice, or text with a NUL or an unpaired surrogate.

    In an autocomplete (`autocomplete`), the other options may still be half typed: only their
    types are checked, and the focused value must be valid text no longer than the option allows.
    """
    if not isinstance(options, list):
        raise OptionRefused("This command arrived malformed; it was not run.")
    params = {param.display_name: param for param in command.parameters}
    seen: set[str] = set()
    for option in options:
        name = option.get("name") if isinstance(option, dict) else None
        if not isinstance(name, str) or name not in params:
            raise OptionRefused(
                f"/{command.qualified_name} has no option {_shown(name)}; it was not run."
            )
        if name in seen:
            raise OptionRefused(f"`{name}` was given twice; the command was not run.")
        seen.add(name)
        param, value = params[name], option.get("value")
        if isinstance(value, str) and (problem := text_problem(value)):
            raise OptionRefused(
                f"`{name}` is not valid text: it has {problem}. The command was not run."
            )
        if autocomplete and option.get("focused") is True:
            limit = _bounds(param)[1] if param.type is discord.AppCommandOptionType.string else 100
            fits = isinstance(value, str) and len(value) <= limit
        else:
            fits = option.get("type") == param.type.value and _has_type(param.type, value)
            fits = fits and (autocomplete or _within(param, value))
        if not fits:
            raise OptionRefused(
                f"`{name}` must be {_allowed(param)}, not {_shown(value)}; the command was not run."
            )
    if not autocomplete:
        for name, param in params.items():
            if param.required and name not in seen:
                raise OptionRefused(f"`{name}` is required; the command was not run.")
