"""SQLite store: connection, migrations and query functions grouped by table family."""

from storage.db import DatabaseTooNew, Store, open_store

__all__ = ["DatabaseTooNew", "Store", "open_store"]
