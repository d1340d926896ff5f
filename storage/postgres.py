"""The PostgreSQL store (storage/interface.py's second backend), for several bot processes on
several machines sharing one database. asyncpg, with a pool.

storage/ writes its SQL once, with SQLite's `?` / `?N` placeholders; they become `$N` here.
Writes keep the guarantee the SQLite code was written for, one writer at a time: every write
transaction first takes one transaction-level advisory lock, so two bot processes and a CLI
`fetch` never interleave their read-then-write steps (a vote counted twice, a day posted twice)
and cannot deadlock on each other. Waiting longer than WRITE_LOCK_TIMEOUT for it is "busy"
(storage.db.is_busy), as SQLite's busy timeout is.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from storage.dialects import PostgresDialect

log = logging.getLogger(__name__)

WRITE_LOCK = 0x70617065  # "pape": the advisory lock every write transaction holds
MIGRATION_LOCK = 0x70617066  # held while migrations run, so two processes never both apply one
WRITE_LOCK_TIMEOUT = "5s"
DEFAULT_POOL = 4
_MIGRATION_NAME = re.compile(r"(\d{4})_[a-z0-9_]+\.sql")
_PLACEHOLDER = re.compile(r"'(?:[^']|'')*'|\?(\d*)")


def redact(url: str) -> str:
    """`url` without its password, for messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)[1]
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{netloc}"))


@lru_cache(maxsize=1024)
def pg_sql(sql: str) -> str:
    """SQLite placeholders (`?`, `?N`) as PostgreSQL's (`$N`); string literals left alone."""
    counter = 0

    def replace(match: re.Match) -> str:
        nonlocal counter
        if match.group(0).startswith("'"):
            return match.group(0)
        if match.group(1):
            return f"${match.group(1)}"
        counter += 1
        return f"${counter}"

    return _PLACEHOLDER.sub(replace, sql)


def migrations() -> list[tuple[int, str, str]]:
    """(version, file name, SQL) of every PostgreSQL migration, in order."""
    folder = resources.files("storage.migrations").joinpath("postgres")
    found = []
    for entry in folder.iterdir():
        match = _MIGRATION_NAME.fullmatch(entry.name)
        if match:
            found.append((int(match.group(1)), entry.name, entry.read_text(encoding="utf-8")))
    found.sort()
    if [v for v, _, _ in found] != list(range(1, len(found) + 1)):
        raise RuntimeError("PostgreSQL migrations must be numbered 1..n without gaps")
    return found


@dataclass(frozen=True, slots=True)
class _Changed:
    rowcount: int


def _changed(status: str) -> _Changed:
    """asyncpg's command status ("UPDATE 3", "INSERT 0 1") as a row count."""
    last = status.rsplit(" ", 1)[-1]
    return _Changed(int(last) if last.isdigit() else 0)


class PostgresReader:
    """Reads on the pool: each statement on whichever connection is free."""

    dialect = PostgresDialect()

    def __init__(self, pool: Any):
        self._pool = pool

    async def execute_fetchall(self, sql: str, parameters: Sequence[Any] = ()) -> list:
        return await self._pool.fetch(pg_sql(sql), *(parameters or ()))


class PostgresWriter:
    """One connection inside a write transaction. storage/ may queue several statements at
    once (asyncio.gather), as aiosqlite allows; a connection runs one at a time, so they wait
    their turn here."""

    dialect = PostgresDialect()

    def __init__(self, conn: Any):
        self._conn = conn
        self._turn = asyncio.Lock()

    async def execute_fetchall(self, sql: str, parameters: Sequence[Any] = ()) -> list:
        async with self._turn:
            return await self._conn.fetch(pg_sql(sql), *(parameters or ()))

    async def execute(self, sql: str, parameters: Sequence[Any] = ()) -> _Changed:
        async with self._turn:
            return _changed(await self._conn.execute(pg_sql(sql), *(parameters or ())))

    async def executemany(self, sql: str, parameters: Iterable[Sequence[Any]]) -> None:
        rows = [tuple(row) for row in parameters]
        if rows:
            async with self._turn:
                await self._conn.executemany(pg_sql(sql), rows)


class PostgresStore:
    def __init__(self, url: str, pool: Any, *, read_only: bool):
        self.location = redact(url)
        self._pool = pool
        self._read_only = read_only
        self.reader = PostgresReader(pool)

    @asynccontextmanager
    async def write(self) -> AsyncIterator[PostgresWriter]:
        if self._read_only:
            raise RuntimeError(f"the store {self.location} was opened read-only")
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute(f"SET LOCAL lock_timeout = '{WRITE_LOCK_TIMEOUT}'")
            await conn.execute("SELECT pg_advisory_xact_lock($1)", WRITE_LOCK)
            yield PostgresWriter(conn)

    async def close(self) -> None:
        await self._pool.close()


async def schema_version(conn: Any) -> int:
    exists = await conn.fetchval("SELECT to_regclass('schema_migrations') IS NOT NULL")
    if not exists:
        return 0
    return await conn.fetchval("SELECT coalesce(max(version), 0) FROM schema_migrations")


async def migrate(conn: Any) -> int:
    """Apply pending migrations, each in its own transaction (recorded in
    schema_migrations); refuse a database newer than this code."""
    from storage.db import DatabaseTooNew

    available = migrations()
    latest = len(available)
    await conn.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK)
    try:
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY,"
            " name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
        )
        current = await schema_version(conn)
        if current > latest:
            raise DatabaseTooNew(
                f"the database is at schema version {current} but this paperboy only knows up "
                f"to {latest}; upgrade paperboy or point it at another database"
            )
        for version, name, sql in available[current:]:
            log.info("applying PostgreSQL migration %s", name)
            async with conn.transaction():
                await conn.execute(sql)
                await conn.execute(
                    "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", version, name
                )
        return max(current, latest)
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK)


async def _check_readable(conn: Any, location: str) -> None:
    from storage.db import DatabaseNeedsMigration, DatabaseTooNew, NotAPaperboyDatabase

    current, latest = await schema_version(conn), len(migrations())
    if current > latest:
        raise DatabaseTooNew(
            f"the database is at schema version {current} but this paperboy only knows up to "
            f"{latest}; upgrade paperboy or point it at another database"
        )
    if current == 0:
        raise NotAPaperboyDatabase(location, empty=False)  # type: ignore[arg-type]
    if current < latest:
        raise DatabaseNeedsMigration(location, current, latest)  # type: ignore[arg-type]


@asynccontextmanager
async def open_postgres_store(
    url: str, *, readers: int | None = None, read_only: bool = False
) -> AsyncIterator[PostgresStore]:
    """Connect a pool to the database at `url`, migrate it (unless `read_only`: then only
    check it), and close the pool after the block."""
    import asyncpg

    size = max(2, (readers or DEFAULT_POOL) + 1)
    try:
        pool = await asyncpg.create_pool(url, min_size=1, max_size=size)
    except (OSError, asyncpg.PostgresError) as exc:
        # asyncpg's message may hold the DSN; say only where, without the password
        raise ConnectionError(
            f"cannot connect to PostgreSQL at {redact(url)}: {type(exc).__name__}"
            f"{': ' + str(exc) if url not in str(exc) else ''}"
        ) from None
    try:
        async with pool.acquire() as conn:
            if read_only:
                await _check_readable(conn, redact(url))
            else:
                await migrate(conn)
        store = PostgresStore(url, pool, read_only=read_only)
        yield store
    finally:
        await pool.close()
