"""Key/value facts the bot keeps between runs (bot_state table)."""

from __future__ import annotations

from storage.interface import Reader, Writer


async def get_state(db: Reader, key: str) -> str | None:
    """The stored value for `key`, or None."""
    rows = await db.execute_fetchall("SELECT value FROM bot_state WHERE key = ?", (key,))
    return rows[0][0] if rows else None


async def set_state(conn: Writer, key: str, value: str) -> None:
    """Store `value` under `key` (inside the caller's write transaction)."""
    await conn.execute(
        "INSERT INTO bot_state (key, value) VALUES (?, ?)"
        " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        (key, value),
    )
