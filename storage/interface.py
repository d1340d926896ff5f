"""The storage interface: what cogs, the scheduler, the CLI and storage's own functions hold.

A `Store` has a `reader` (statements outside a transaction, spread over a pool) and `write()`,
a transaction that commits when its block ends. Both speak SQL with `?` (or `?N`)
placeholders in the dialect both backends share; the few statements that differ (full-text
matching) are the backend's `search` object. SQLite (storage/db.py) and PostgreSQL
(storage/postgres.py) implement it; nothing outside storage/ knows which one runs.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from storage.dialects import Dialect

Row = Any  # a row: indexable and iterable in column order (a tuple, an asyncpg Record)


class Changed(Protocol):
    """What a write statement reports: how many rows it changed."""

    @property
    def rowcount(self) -> int: ...


class Reader(Protocol):
    """Read statements; each runs on its own (no transaction spans two calls)."""

    @property
    def dialect(self) -> Dialect:
        """The backend's own statements (storage/dialects.py)."""
        ...

    async def execute_fetchall(self, sql: str, parameters: Sequence[Any] = ()) -> list[Row]:
        """Every row of `sql`, as sequences in column order."""
        ...


class Writer(Reader, Protocol):
    """Statements inside one write transaction (reads there see its own writes)."""

    async def execute(self, sql: str, parameters: Sequence[Any] = ()) -> Changed: ...

    async def executemany(self, sql: str, parameters: Iterable[Sequence[Any]]) -> None: ...


class Store(Protocol):
    """A paperboy database, whichever backend holds it."""

    @property
    def location(self) -> str:
        """A path, or a URL without its password: for messages and logs."""
        ...

    @property
    def reader(self) -> Reader: ...

    def write(self) -> AbstractAsyncContextManager[Writer]:
        """A write transaction: commits when the block ends, rolls back if it raises."""
        ...

    async def close(self) -> None: ...
