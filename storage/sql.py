"""Small helpers for building SQL with bound parameters."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

CHUNK = 900  # stays under SQLite's bound-parameter limit in IN (...) lists


def chunks(items: Sequence, size: int = CHUNK) -> Iterable[Sequence]:
    """`items` in slices of at most `size`."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def marks(count: int) -> str:
    """`?, ?, ...` placeholders for an IN (...) list of `count` values."""
    return ",".join("?" * count)
