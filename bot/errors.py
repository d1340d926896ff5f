"""Errors whose message is meant for the user, shared by the CLI and the bot."""

from __future__ import annotations

from bot import i18n


class UserError(Exception):
    """A mistake in what the user asked for, or a thing that is not there; shown as it is.

    `exit_code` is what the CLI returns for it (1: failed, 2: bad usage). One made with
    ``UserError.of(key, ...)`` carries a catalogue message (bot/i18n.py), so a member can be
    told in their own language (``localized``); its text is the English one.
    """

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code
        self.key: str | None = None
        self.values: dict[str, object] = {}

    @classmethod
    def of(cls, key: str, *, exit_code: int = 1, **values: object) -> UserError:
        """The error saying catalogue message `key` (English text, any language on demand)."""
        error = cls(i18n.text(i18n.DEFAULT, key, **values), exit_code)
        error.key, error.values = key, values
        return error

    def localized(self, language: object) -> str:
        """The message in `language` when it is a catalogue message, else as it was made."""
        if self.key is None:
            return str(self)
        return i18n.text(language, self.key, **self.values)
