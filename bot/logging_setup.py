"""One place that sets up logging: records go to stderr, never to stdout, never with secrets."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["cli_log_level", "logging_to_stderr"]

# Chatty libraries: their debug output buries ours, even with --verbose.
# discord.gateway and discord.webhook log interaction tokens at DEBUG: never below INFO.
_QUIET = {
    "aiosqlite": logging.INFO,
    "httpcore": logging.INFO,
    "httpx": logging.WARNING,  # a line per request at INFO
    "discord.http": logging.WARNING,
    "discord.gateway": logging.INFO,
    "discord.webhook": logging.INFO,
}

CLI_FORMAT = "paperboy: %(levelname)s: %(message)s"
DETAILED_FORMAT = "%(asctime)s %(levelname)-8s %(name)s: %(message)s"


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever `sys.stderr` is at the time of the record.

    A progress bar (rich) or a test (capsys) may swap `sys.stderr` after setup; holding on to the
    original stream would draw through the bar or write to a closed capture.
    """

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self):  # type: ignore[override]
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:  # StreamHandler.__init__ assigns it
        pass


class _LowerCaseLevel(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        return text.replace(f": {record.levelname}: ", f": {record.levelname.lower()}: ", 1)


class _DropReported(logging.Filter):
    """Drops the records of failures the CLI itself reports as its one-line error.

    `http_retry.fetch` logs "giving up" and then raises a SourceError saying the same thing;
    the CLI prints that error, so the log line would only repeat it.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.name == "bot.sources.http_retry" and record.levelno == logging.ERROR)


def cli_log_level(setting: str, verbose: bool) -> int:
    """The level of a one-shot command: everything with --verbose, else warnings and up.

    The one-shot commands print their own results, so LOG_LEVEL can only make them quieter
    (ERROR, CRITICAL); INFO and DEBUG logs are for the bot and for --verbose.
    """
    if verbose:
        return logging.DEBUG
    return max(logging.WARNING, logging.getLevelName(setting))


@contextmanager
def logging_to_stderr(level: int, *, detailed: bool = False) -> Iterator[None]:
    """Send log records at `level` and above to stderr for the duration of the block.

    `detailed` adds time, level and logger name (the bot, --verbose); otherwise a record reads
    like the CLI's own messages: "paperboy: warning: ...". The handler is removed afterwards,
    so calling `main()` repeatedly (tests) never stacks handlers.
    """
    handler = _StderrHandler()
    if detailed:
        handler.setFormatter(logging.Formatter(DETAILED_FORMAT))
    else:
        handler.setFormatter(_LowerCaseLevel(CLI_FORMAT))
        handler.addFilter(_DropReported())
    handler.setLevel(level)
    root = logging.getLogger()
    previous_level = root.level
    previous_quiet = {name: logging.getLogger(name).level for name in _QUIET}
    root.addHandler(handler)
    root.setLevel(level)
    for name, quiet_level in _QUIET.items():
        logging.getLogger(name).setLevel(max(quiet_level, level))
    try:
        yield
    finally:
        root.removeHandler(handler)
        root.setLevel(previous_level)
        for name, old_level in previous_quiet.items():
            logging.getLogger(name).setLevel(old_level)
