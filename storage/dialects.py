"""What differs between the backends' SQL, one class per backend: the full-text statements,
and what the database says about itself. The rest of storage/'s SQL is shared.

Both backends keep the same index tables (storage/migrations): `paper_fts` (title and summary
text of each paper, by rowid = paper key), `title_trigrams` (titles, for substrings),
`author_fts` (author names by id) and `author_papers` (each paper's author tokens). The text
in them is `search_text.index_text`: folded tokens between single spaces. SQLite indexes them
with FTS5; PostgreSQL with tsvector columns of those tokens (the `simple` configuration: no
stemming or stop words; the folding, accents included, is paperboy's, so both backends see
the same words) and a pg_trgm index for substrings. Queries are built from the same tokens
(`search_text.match_expression` and `tsquery_expression`).

Every method returns rows newest first (larger rowid = newer paper or author).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

from storage.search_text import match_expression, tokens, tsquery_expression

if TYPE_CHECKING:
    from storage.interface import Reader, Writer

TITLE, TITLE_AND_SUMMARY = "title", "title summary"


class Dialect(Protocol):
    # A paper's authors in order as a JSON list (text), for a query over papers `p`.
    AUTHORS_JSON: str

    async def schema_version(self, db: Reader) -> int: ...

    async def size_bytes(self, db: Reader) -> int:
        """The database's size on disk."""
        ...

    async def after_copy(self, conn: Writer) -> None:
        """Whatever the database needs after rows were copied in with their own keys."""
        ...

    async def paper_matches(
        self, db: Reader, text: str, columns: str, window: int, *, prefix_last: bool = True
    ) -> list[int]:
        """Keys of the newest papers (up to `window`) having every word of `text` in
        `columns` (TITLE or TITLE_AND_SUMMARY), the last word as a prefix if `prefix_last`."""
        ...

    async def authors_named(
        self, db: Reader, name: str, window: int, *, starting: bool
    ) -> list[tuple[int, str]]:
        """(id, name) of the newest authors whose name holds every word of `name` (the last
        a prefix); `starting`: whose name starts with exactly those words."""
        ...

    async def papers_of_authors(
        self, db: Reader, author_ids: Sequence[int], window: int
    ) -> list[int]:
        """Keys of the newest papers (up to `window`) by any of the authors."""
        ...

    async def author_suggestions(self, db: Reader, text: str, window: int) -> list[tuple[str, int]]:
        """(name, papers) of the newest authors (up to `window`) matching what was typed."""
        ...


def _author_token(author_id: int) -> str:
    from storage.papers import author_token

    return author_token(author_id)


class SqliteDialect:
    """FTS5 tables: MATCH expressions, walked from the newest rowid down."""

    AUTHORS_JSON = (
        "(SELECT json_group_array(name) FROM (SELECT a.name FROM paper_authors pa"
        " JOIN authors a ON a.id = pa.author_id WHERE pa.paper_pk = p.pk ORDER BY pa.position))"
    )

    async def schema_version(self, db: Reader) -> int:
        return (await db.execute_fetchall("PRAGMA user_version"))[0][0]

    async def size_bytes(self, db: Reader) -> int:
        rows = await db.execute_fetchall(
            "SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()"
        )
        return rows[0][0]

    async def after_copy(self, conn: Writer) -> None:
        return None

    async def _newest(self, db: Reader, table: str, expression: str, window: int) -> list[int]:
        rows = await db.execute_fetchall(
            f"SELECT rowid FROM {table} WHERE {table} MATCH ? ORDER BY rowid DESC LIMIT ?",
            (expression, window),
        )
        return [rowid for (rowid,) in rows]

    async def paper_matches(self, db, text, columns, window, *, prefix_last=True):
        expression = match_expression(text, prefix_last=prefix_last)
        if expression is None:
            return []
        return await self._newest(db, "paper_fts", f"{{{columns}}} : ({expression})", window)

    async def authors_named(self, db, name, window, *, starting):
        if starting:  # a name starting with exactly these words
            expression = "^" + " + ".join('"' + w.replace('"', '""') + '"' for w in tokens(name))
        else:
            expression = match_expression(name)
        if not expression or expression == "^":
            return []
        rows = await db.execute_fetchall(
            "SELECT a.id, a.name FROM authors a WHERE a.id IN (SELECT rowid FROM author_fts"
            " WHERE author_fts MATCH ? ORDER BY rowid DESC LIMIT ?)",
            (expression, window),
        )
        return [(author_id, author) for author_id, author in rows]

    async def papers_of_authors(self, db, author_ids, window):
        expression = " OR ".join(_author_token(author_id) for author_id in author_ids)
        return await self._newest(db, "author_papers", expression, window)

    async def author_suggestions(self, db, text, window):
        from storage.papers import AUTHOR_TOKEN_PREFIX

        expression = match_expression(text)
        if expression is None:
            return []
        rows = await db.execute_fetchall(
            "SELECT a.name,"
            " (SELECT count(*) FROM author_papers WHERE author_papers MATCH ?3 || a.id)"
            " FROM authors a WHERE a.id IN"
            " (SELECT rowid FROM author_fts WHERE author_fts MATCH ?1"
            "  ORDER BY rowid DESC LIMIT ?2)",
            (expression, window, AUTHOR_TOKEN_PREFIX),
        )
        return [(author, count) for author, count in rows]


class PostgresDialect:
    """tsvector columns (`doc`, and `title_doc` for titles alone) with GIN indexes."""

    AUTHORS_JSON = (
        "(SELECT coalesce(json_agg(a.name ORDER BY pa.position), '[]')::text"
        " FROM paper_authors pa JOIN authors a ON a.id = pa.author_id WHERE pa.paper_pk = p.pk)"
    )

    async def schema_version(self, db: Reader) -> int:
        rows = await db.execute_fetchall("SELECT coalesce(max(version), 0) FROM schema_migrations")
        return rows[0][0]

    async def size_bytes(self, db: Reader) -> int:
        return (await db.execute_fetchall("SELECT pg_database_size(current_database())"))[0][0]

    async def after_copy(self, conn: Writer) -> None:
        # member_vote_log's rowid is a sequence: the next change goes after the copied ones
        await conn.execute_fetchall(
            "SELECT setval(pg_get_serial_sequence('member_vote_log', 'rowid'),"
            " (SELECT coalesce(max(rowid), 0) + 1 FROM member_vote_log), false)"
        )

    async def _newest(
        self, db: Reader, table: str, column: str, query: str, window: int
    ) -> list[int]:
        rows = await db.execute_fetchall(
            f"SELECT rowid FROM {table} WHERE {column} @@ ?::tsquery ORDER BY rowid DESC LIMIT ?",
            (query, window),
        )
        return [rowid for (rowid,) in rows]

    async def paper_matches(self, db, text, columns, window, *, prefix_last=True):
        query = tsquery_expression(text, prefix_last=prefix_last)
        if query is None:
            return []
        column = "title_doc" if columns == TITLE else "doc"
        return await self._newest(db, "paper_fts", column, query, window)

    async def authors_named(self, db, name, window, *, starting):
        words = tokens(name)
        if not words:
            return []
        if starting:  # the stored name is its tokens between single spaces
            phrase = " ".join(words)
            condition, parameter = "f.name = ?1 OR f.name LIKE ?1 || ' %'", phrase
        else:
            condition, parameter = "f.doc @@ ?1::tsquery", tsquery_expression(name)
        rows = await db.execute_fetchall(
            "SELECT a.id, a.name FROM authors a WHERE a.id IN (SELECT f.rowid FROM author_fts f"
            f" WHERE {condition} ORDER BY f.rowid DESC LIMIT ?2)",
            (parameter, window),
        )
        return [(author_id, author) for author_id, author in rows]

    async def papers_of_authors(self, db, author_ids, window):
        query = " | ".join(f"'{_author_token(author_id)}'" for author_id in author_ids)
        return await self._newest(db, "author_papers", "doc", query, window)

    async def author_suggestions(self, db, text, window):
        from storage.papers import AUTHOR_TOKEN_PREFIX

        query = tsquery_expression(text)
        if query is None:
            return []
        rows = await db.execute_fetchall(
            "SELECT a.name, (SELECT count(*) FROM author_papers p"
            "  WHERE p.doc @@ (?3 || a.id)::tsquery)"
            " FROM authors a WHERE a.id IN (SELECT rowid FROM author_fts"
            "  WHERE doc @@ ?1::tsquery ORDER BY rowid DESC LIMIT ?2)",
            (query, window, AUTHOR_TOKEN_PREFIX),
        )
        return [(author, count) for author, count in rows]
