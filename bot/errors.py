"""Errors whose message is meant for the user, shared by the CLI and the bot."""

from __future__ import annotations


class UserError(Exception):
    """A mistake in what the user asked for, or a thing that is not there; shown as it is.

    `exit_code` is what the CLI returns for it (1: failed, 2: bad usage).
    """

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code
