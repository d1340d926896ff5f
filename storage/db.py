"""Open the SQLite store, apply numbered migrations, and serialise writes."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path
from typing import Any

import aiosqlite

log = logging.getLogger(__name__)

# Reader connections opened by open_store. SQLite runs statements of different connections in
# parallel (each aiosqlite connection has its own thread, and SQLite releases the GIL while it
# works), so one slow lookup does not hold up the others queued behind it: at 50 concurrent
# lookups the queue wait fell from 33 ms (p50) with one to 17-27 ms with two, for the same
# throughput (benchmarks/README_bot.md). Each has its own page cache (cache_size below).
DEFAULT_READERS = 2

_MIGRATION_NAME = re.compile(r"(\d{4})_[a-z0-9_]+\.sql")


class DatabaseTooNew(RuntimeError):
    """The database was migrated by a newer paperboy than this one."""


def migrations() -> list[tuple[int, str, str]]:
    """(version, file name, SQL) of every bundled migration, in order."""
    found = []
    for entry in resources.files("storage.migrations").iterdir():
        match = _MIGRATION_NAME.fullmatch(entry.name)
        if match:
            found.append((int(match.group(1)), entry.name, entry.read_text(encoding="utf-8")))
    found.sort()
    versions = [version for version, _, _ in found]
    if versions != list(range(1, len(found) + 1)):
        raise RuntimeError(f"migrations must be numbered 1..n without gaps, found {versions}")
    return found


async def _configure(conn: aiosqlite.Connection) -> None:
    await conn.execute("PRAGMA foreign_keys = ON")
    await conn.execute("PRAGMA busy_timeout = 5000")
    await conn.execute("PRAGMA synchronous = NORMAL")  # safe with WAL; a crash loses no commit
    await conn.execute("PRAGMA cache_size = -65536")  # 64 MiB page cache


async def _refuse_newer(conn: aiosqlite.Connection) -> int:
    """The database's schema version; DatabaseTooNew when this code does not know it."""
    (current,) = await (await conn.execute("PRAGMA user_version")).fetchone()
    latest = len(migrations())
    if current > latest:
        raise DatabaseTooNew(
            f"the database is at schema version {current} but this paperboy only knows up to "
            f"{latest}; upgrade paperboy or point it at another database"
        )
    return current


async def migrate(conn: aiosqlite.Connection) -> int:
    """Apply pending migrations, each in its own transaction; return the schema version."""
    current = await _refuse_newer(conn)
    available = migrations()
    latest = len(available)
    for version, name, sql in available[current:]:
        log.info("applying migration %s", name)
        # executescript() would commit on its own; run statements inside one explicit transaction.
        await conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in _split_sql(sql):
                await conn.execute(statement)
            await conn.execute(f"PRAGMA user_version = {version}")
            await conn.commit()
        except BaseException:
            await conn.rollback()
            raise
    return max(current, latest)


def _split_sql(script: str) -> list[str]:
    """Split a migration into statements (complete_statement knows about quotes and triggers)."""
    import sqlite3

    statements, pending = [], ""
    for line in script.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            if pending.strip():
                statements.append(pending.strip())
            pending = ""
    if pending.strip() and not all(
        part.strip().startswith("--") or not part.strip() for part in pending.splitlines()
    ):
        raise RuntimeError(f"incomplete SQL statement at the end of a migration: {pending[:80]!r}")
    return statements


class ReaderPool:
    """Read-only statements spread over a few connections, as one connection-like object.

    Every read in storage/ goes through ``execute_fetchall``; each call runs on the connection
    with the fewest statements in flight (ties: the first), so an idle store uses one connection
    and its warm cache. Other attributes (``execute``, ``row_factory``...) are the first
    connection's: a cursor stays on the connection that made it.
    """

    def __init__(self, connections: list[aiosqlite.Connection]):
        if not connections:
            raise ValueError("a reader pool needs at least one connection")
        self.connections = connections
        self._inflight = [0] * len(connections)

    async def execute_fetchall(self, sql: str, parameters: Any = None) -> Any:
        inflight = self._inflight
        index = inflight.index(min(inflight))
        inflight[index] += 1
        try:
            return await self.connections[index].execute_fetchall(sql, parameters)
        finally:
            inflight[index] -= 1

    def __getattr__(self, name: str) -> Any:
        return getattr(self.connections[0], name)

    async def close(self) -> None:
        for conn in self.connections:
            await conn.close()


class Store:
    """The database: one writer connection behind a lock, a small pool of connections for reads.

    SQLite allows one writer at a time; serialising writes in-process avoids busy errors and
    keeps two coroutines' transactions from interleaving on one connection.
    """

    def __init__(
        self, path: Path, writer: aiosqlite.Connection, reader: ReaderPool | aiosqlite.Connection
    ):
        self.path = path
        self._writer = writer
        self.reader = reader
        self._write_lock = asyncio.Lock()

    @asynccontextmanager
    async def write(self) -> AsyncIterator[aiosqlite.Connection]:
        """A write transaction: commits when the block ends, rolls back if it raises."""
        async with self._write_lock:
            await self._writer.execute("BEGIN IMMEDIATE")
            try:
                yield self._writer
            except BaseException:
                await self._writer.rollback()
                raise
            await self._writer.commit()

    async def close(self) -> None:
        await self.reader.close()
        await self._writer.close()


@asynccontextmanager
async def open_store(path: Path | str, *, readers: int | None = None) -> AsyncIterator[Store]:
    """Open (creating if needed) and migrate the database at `path`, with `readers` connections
    for reads (``store.reader``; default DEFAULT_READERS)."""
    path = Path(path)
    readers = DEFAULT_READERS if readers is None else readers
    path.parent.mkdir(parents=True, exist_ok=True)
    writer = await aiosqlite.connect(path, isolation_level=None)
    try:
        await _refuse_newer(writer)  # before WAL is switched on: a refused file stays untouched
        await writer.execute("PRAGMA journal_mode = WAL")
        await _configure(writer)
        await migrate(writer)
    except BaseException:
        await writer.close()
        raise
    connections: list[aiosqlite.Connection] = []
    try:
        for _ in range(max(1, readers)):
            conn = await aiosqlite.connect(path, isolation_level=None)
            connections.append(conn)
            await _configure(conn)
    except BaseException:
        for conn in connections:
            await conn.close()
        await writer.close()
        raise
    store = Store(path, writer, ReaderPool(connections))
    try:
        yield store
    finally:
        await store.close()
