"""Copy one store into another (`paperboy db copy`): a SQLite file into PostgreSQL, typically.

Every table is read in key order in chunks and each chunk is written in its own transaction
with ON CONFLICT DO NOTHING, so an interrupted copy is resumed by running it again: what was
copied is skipped, nothing is duplicated. Both stores have the same tables and columns
(storage/migrations), the full-text tables included, so the copy needs no re-indexing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from storage.interface import Store

CHUNK_ROWS = 2000


@dataclass(frozen=True, slots=True)
class Table:
    name: str
    key: tuple[str, ...]  # the primary key: the order rows are read in
    columns: tuple[str, ...]  # the key's columns first


def _table(name: str, key: str, others: str) -> Table:
    keys = tuple(key.split())
    return Table(name, keys, keys + tuple(others.split()))


# In an order that keeps foreign keys satisfied (papers before what refers to them).
TABLES = (
    _table(
        "papers", "pk",
        "id title abstract published_at image_url video_url github_repo github_stars"
        " project_page ai_summary ai_keywords num_comments organization upvotes upvotes_at"
        " updated_at",
    ),
    _table("authors", "id", "name"),
    _table("paper_authors", "paper_pk position", "author_id"),
    _table("daily_entries", "day paper_pk", "rank"),
    _table("vote_snapshots", "paper_pk observed_at", "upvotes"),
    _table("summaries", "paper_pk language source", "bullets observed_at"),
    _table("paper_fts", "rowid", "title summary"),
    _table("title_trigrams", "rowid", "title"),
    _table("author_fts", "rowid", "name"),
    _table("author_papers", "rowid", "author_ids"),
    _table("bot_state", "key", "value"),
    _table("day_polls", "day", "paper_set papers stable_polls polled_at complete_at most_papers"),
    _table(
        "subscriptions", "channel_id",
        "guild_id post_time timezone top min_votes language format created_at created_by"
        " failed_at failure crosspost forum_tag",
    ),
    _table(
        "posts", "channel_id day",
        "guild_id state plan error attempts retry_at started_at finished_at",
    ),
    _table("post_messages", "channel_id day part", "message_id shown"),
    _table("member_votes", "guild_id paper_pk user_id", "vote voted_at"),
    _table("member_vote_log", "rowid", "guild_id paper_pk user_id vote voted_at"),
    _table("summary_attempts", "paper_pk language source day", "attempted_at reason"),
)  # fmt: skip


@dataclass(slots=True)
class Copied:
    table: str
    source_rows: int
    target_rows: int

    @property
    def matches(self) -> bool:
        return self.source_rows == self.target_rows


async def count_rows(store: Store, table: Table) -> int:
    return (await store.reader.execute_fetchall(f"SELECT count(*) FROM {table.name}"))[0][0]


async def copy_table(
    source: Store, target: Store, table: Table, progress: Callable[[int], None]
) -> None:
    """Every row of `table` from `source` into `target`; `progress(rows)` after each chunk."""
    columns = ", ".join(table.columns)
    keys = ", ".join(table.key)
    marks = ", ".join("?" * len(table.columns))
    after: Sequence | None = None
    while True:
        where = f" WHERE ({keys}) > ({', '.join('?' * len(table.key))})" if after else ""
        rows = await source.reader.execute_fetchall(
            f"SELECT {columns} FROM {table.name}{where} ORDER BY {keys} LIMIT ?",
            (*(after or ()), CHUNK_ROWS),
        )
        rows = [tuple(row) for row in rows]
        if not rows:
            return
        async with target.write() as conn:
            await conn.executemany(
                f"INSERT INTO {table.name} ({columns}) VALUES ({marks}) ON CONFLICT DO NOTHING",
                rows,
            )
        progress(len(rows))
        after = rows[-1][: len(table.key)]


async def copy_store(
    source: Store,
    target: Store,
    *,
    begin: Callable[[Table, int], None] = lambda table, rows: None,
    progress: Callable[[int], None] = lambda rows: None,
    done: Callable[[Table], None] = lambda table: None,
) -> list[Copied]:
    """Copy every table; then compare the row counts of each (a target that held other rows
    before, or a copy still missing rows, shows as a mismatch)."""
    for table in TABLES:
        begin(table, await count_rows(source, table))
        await copy_table(source, target, table, progress)
        done(table)
    async with target.write() as conn:
        await conn.dialect.after_copy(conn)
    return [
        Copied(table.name, await count_rows(source, table), await count_rows(target, table))
        for table in TABLES
    ]
