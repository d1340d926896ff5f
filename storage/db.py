"""The SQLite store (the default backend of storage/interface.py): open it, apply numbered
migrations, serialise writes. `open_store` opens either backend: a path is SQLite, a
``postgresql://`` URL is PostgreSQL (storage/postgres.py).

`open_store(path)` opens read-write: it creates the file, switches it to WAL and migrates it.
`open_store(path, read_only=True)` only reads: it never creates, migrates or switches anything,
so it works on a file or folder the user cannot write, and leaves no -wal/-shm files behind.
"""

from __future__ import annotations

import asyncio
import logging
import re
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path
from typing import Any

import aiosqlite

from storage.dialects import SqliteDialect
from storage.interface import Store

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


class NotAPaperboyDatabase(RuntimeError):
    """A read-only open found no paperboy schema: an empty file, or another program's database.

    (A read-write open makes an empty file into a database: that is how a store is created.)
    """

    def __init__(self, path: Path, *, empty: bool):
        what = "the file is empty" if empty else "it has no paperboy schema"
        super().__init__(f"{path} is not a paperboy database ({what})")
        self.path = path
        self.empty = empty


class DatabaseNeedsMigration(RuntimeError):
    """A read-only open found an older schema than this code's: a read-write open migrates it."""

    def __init__(self, path: Path, version: int, latest: int):
        super().__init__(
            f"the database {path} is at schema version {version} and this paperboy uses "
            f"{latest}; open it read-write once to upgrade it"
        )
        self.path = path
        self.version = version
        self.latest = latest


# PostgreSQL's SQLSTATEs (asyncpg's `sqlstate`) for the same two cases: a lock not granted
# within lock_timeout or a deadlock; a disk full.
_PG_BUSY = {"55P03", "40P01"}
_PG_FULL = {"53100"}


def is_busy(error: BaseException) -> bool:
    """Whether `error` says another connection holds the database (SQLITE_BUSY / _LOCKED and
    their extended codes; PostgreSQL: the write lock not granted in time): worth trying the
    transaction again, unlike other errors. Either backend's."""
    if getattr(error, "sqlstate", None) in _PG_BUSY:
        return True
    code = getattr(error, "sqlite_errorcode", None)
    return (
        isinstance(error, sqlite3.OperationalError)
        and code is not None
        and (code & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED))
    )


def is_full(error: BaseException) -> bool:
    """Whether `error` is "database or disk is full", on either backend."""
    if getattr(error, "sqlstate", None) in _PG_FULL:
        return True
    code = getattr(error, "sqlite_errorcode", None)
    return isinstance(error, sqlite3.OperationalError) and code == sqlite3.SQLITE_FULL


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
    ((current,),) = await conn.execute_fetchall("PRAGMA user_version")
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


async def _connect(database: str | Path, *, uri: bool = False) -> aiosqlite.Connection:
    """aiosqlite.connect, autocommit; a failed connection's worker thread has ended on return.

    When sqlite3.connect fails (a folder, a missing or unreadable file), aiosqlite (0.22) queues
    its thread's stop without waiting for it; a caller whose event loop then ends at once (a
    CLI command reporting the error) makes that thread print "Event loop is closed" tracebacks.
    """
    pending = aiosqlite.connect(database, isolation_level=None, uri=uri)
    try:
        return await pending
    except Exception:
        thread = getattr(pending, "_thread", None)
        if thread is not None and thread.is_alive():
            await asyncio.to_thread(thread.join, 5)
        raise


def _read_only_uri(path: Path) -> str:
    """The SQLite URI that reads `path` without writing anything, not even beside it.

    `mode=ro` alone still creates -wal and -shm files next to a WAL database (and fails in a
    folder it cannot write). With no -wal or -journal file present, no writer has the database
    open and everything is in the main file, so it is opened `immutable` (no locks, no side
    files). A writer that starts during the read may make that read fail or miss its changes;
    it never damages the file. A -wal or -journal present: plain `mode=ro`, which reads them.
    """
    unfinished = any(path.with_name(path.name + suffix).exists() for suffix in ("-wal", "-journal"))
    uri = f"{path.absolute().as_uri()}?mode=ro"
    return uri if unfinished else f"{uri}&immutable=1"


async def _check_readable(conn: aiosqlite.Connection, path: Path) -> None:
    """Refuse, on a read-only connection, a database this code cannot read as it is."""
    current = await _refuse_newer(conn)
    latest = len(migrations())
    if current == 0:
        ((pages,),) = await conn.execute_fetchall("PRAGMA page_count")  # 0: a 0-byte file
        raise NotAPaperboyDatabase(path, empty=pages == 0)
    if current < latest:
        raise DatabaseNeedsMigration(path, current, latest)


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


class SqliteWriter:
    """The writer connection inside a transaction, as storage/interface.py's Writer."""

    dialect = SqliteDialect()

    def __init__(self, conn: aiosqlite.Connection):
        self._conn = conn

    async def execute_fetchall(self, sql: str, parameters: Any = ()) -> Any:
        return await self._conn.execute_fetchall(sql, parameters)

    async def execute(self, sql: str, parameters: Any = ()) -> Any:
        return await self._conn.execute(sql, parameters)  # a cursor: its rowcount

    async def executemany(self, sql: str, parameters: Any) -> None:
        await self._conn.executemany(sql, parameters)


class ReaderPool:
    """Read-only statements spread over a few connections, as one connection-like object.

    Every read in storage/ goes through ``execute_fetchall``; each call runs on the connection
    with the fewest statements in flight (ties: the first), so an idle store uses one connection
    and its warm cache. Other attributes (``execute``, ``row_factory``...) are the first
    connection's: a cursor stays on the connection that made it.
    """

    dialect = SqliteDialect()

    def __init__(self, connections: list[aiosqlite.Connection]):
        if not connections:
            raise ValueError("a reader pool needs at least one connection")
        self.connections = connections
        self._inflight = [0] * len(connections)

    async def execute_fetchall(self, sql: str, parameters: Any = ()) -> Any:
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


class SqliteStore:
    """The database: one writer connection behind a lock, a small pool of connections for reads.

    SQLite allows one writer at a time; serialising writes in-process avoids busy errors and
    keeps two coroutines' transactions from interleaving on one connection. A store opened
    read-only has no writer: `write()` raises.
    """

    def __init__(self, path: Path, writer: aiosqlite.Connection | None, reader: ReaderPool):
        self.path = path
        self.location = str(path)
        self._writer = writer
        self._writing = SqliteWriter(writer) if writer is not None else None
        self.reader = reader
        self._write_lock = asyncio.Lock()

    @asynccontextmanager
    async def write(self) -> AsyncIterator[SqliteWriter]:
        """A write transaction: commits when the block ends, rolls back if it raises."""
        if self._writer is None or self._writing is None:
            raise RuntimeError(f"the store {self.path} was opened read-only")
        async with self._write_lock:
            await self._writer.execute("BEGIN IMMEDIATE")
            try:
                yield self._writing
            except BaseException:
                await self._writer.rollback()
                raise
            try:
                await self._writer.commit()
            except BaseException:  # e.g. disk full, a deferred constraint: never stay inside
                if self._writer.in_transaction:
                    await self._writer.rollback()
                raise

    async def close(self) -> None:
        await self.reader.close()
        if self._writer is not None:
            await self._writer.close()


def is_database_url(target: object) -> bool:
    """Whether `target` names a PostgreSQL database rather than a SQLite file."""
    return isinstance(target, str) and target.startswith(("postgresql://", "postgres://"))


@asynccontextmanager
async def open_store(
    target: Path | str, *, readers: int | None = None, read_only: bool = False
) -> AsyncIterator[Store]:
    """The store at `target`: a SQLite file (`open_sqlite_store`) or a ``postgresql://`` URL
    (storage/postgres.py), opened, migrated unless `read_only`, closed after the block."""
    if is_database_url(target):
        from storage.postgres import open_postgres_store

        async with open_postgres_store(str(target), readers=readers, read_only=read_only) as store:
            yield store
    else:
        async with open_sqlite_store(target, readers=readers, read_only=read_only) as store:
            yield store


@asynccontextmanager
async def open_sqlite_store(
    path: Path | str, *, readers: int | None = None, read_only: bool = False
) -> AsyncIterator[SqliteStore]:
    """Open (creating if needed) and migrate the database at `path`, with `readers` connections
    for reads (``store.reader``; default DEFAULT_READERS).

    `read_only`: open an existing database for reading only (``store.write()`` raises); nothing
    is created or written. A file without paperboy's schema is NotAPaperboyDatabase, an older
    schema DatabaseNeedsMigration, a newer one DatabaseTooNew; a missing file an sqlite3 error.
    """
    path = Path(path)
    readers = DEFAULT_READERS if readers is None else readers
    writer: aiosqlite.Connection | None = None
    database: str | Path
    if read_only:
        database, uri = _read_only_uri(path), True
    else:
        database, uri = path, False
        path.parent.mkdir(parents=True, exist_ok=True)
        writer = await _connect(path)
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
            conn = await _connect(database, uri=uri)
            connections.append(conn)
            if read_only and len(connections) == 1:
                await _check_readable(conn, path)
            await _configure(conn)
    except BaseException:
        for conn in connections:
            await conn.close()
        if writer is not None:
            await writer.close()
        raise
    store = SqliteStore(path, writer, ReaderPool(connections))
    try:
        yield store
    finally:
        await store.close()
