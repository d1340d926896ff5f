"""Pages of paper lists as the bot shows them: id, title, upvotes and authors only, read in one
statement per page (load_papers reads every column, summaries and days too, in four)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from bot.models import Paper
from storage.interface import Reader
from storage.sql import marks


def _columns(db: Reader) -> str:
    """id, title, upvotes and the authors as a JSON list (the backend's JSON aggregate)."""
    return f"p.id, p.title, p.upvotes, {db.dialect.AUTHORS_JSON}"


@dataclass(slots=True)
class MemberVotedPaper(Paper):
    """A paper on the server-top list, with the server's members' (👍, 👎) votes on it.

    bot.render lists such a paper with these counts instead of Hugging Face's upvotes.
    """

    member_votes: tuple[int, int] = (0, 0)


def _paper(paper_id: str, title: str, upvotes: int | None, authors: str) -> Paper:
    return Paper(id=paper_id, title=title, upvotes=upvotes, authors=json.loads(authors))


async def list_papers(db: Reader, pks: Sequence[int]) -> list[Paper]:
    """The papers behind `pks` (at most a page of them), in that order."""
    if not pks:
        return []
    rows = await db.execute_fetchall(
        f"SELECT p.pk, {_columns(db)} FROM papers p WHERE p.pk IN ({marks(len(pks))})", list(pks)
    )
    by_pk = {pk: _paper(*rest) for pk, *rest in rows}
    return [by_pk[pk] for pk in pks if pk in by_pk]


async def day_page(db: Reader, day: date, *, limit: int, offset: int) -> tuple[list[Paper], int]:
    """(a page of the day's list, most upvoted first, ties in the list's order; its length)."""
    rows = await db.execute_fetchall(
        "WITH page AS MATERIALIZED (SELECT d.paper_pk AS pk, count(*) OVER () AS total,"
        "  row_number() OVER (ORDER BY p.upvotes DESC NULLS LAST, d.rank) AS n"
        "  FROM daily_entries d JOIN papers p ON p.pk = d.paper_pk WHERE d.day = ?1"
        "  ORDER BY n LIMIT ?2 OFFSET ?3)"
        f" SELECT {_columns(db)}, page.total FROM page JOIN papers p ON p.pk = page.pk"
        " ORDER BY page.n",
        (day.isoformat(), limit, offset),
    )
    return [_paper(*row[:4]) for row in rows], rows[0][4] if rows else 0


async def top_page(db: Reader, since: date, until: date, *, limit: int, offset: int) -> list[Paper]:
    """The most upvoted papers listed on a day in [since, until] (storage.papers.top_papers'
    order)."""
    rows = await db.execute_fetchall(
        "WITH page AS MATERIALIZED (SELECT p.pk AS pk FROM papers p"
        "  WHERE p.pk IN (SELECT paper_pk FROM daily_entries WHERE day BETWEEN ?1 AND ?2)"
        "  ORDER BY p.upvotes DESC NULLS LAST, p.pk DESC LIMIT ?3 OFFSET ?4)"
        f" SELECT {_columns(db)} FROM page JOIN papers p ON p.pk = page.pk"
        " ORDER BY p.upvotes DESC NULLS LAST, p.pk DESC",
        (since.isoformat(), until.isoformat(), limit, offset),
    )
    return [_paper(*row) for row in rows]


async def server_top_page(
    db: Reader, guild_id: int, since: date, until: date, *, limit: int, offset: int
) -> list[MemberVotedPaper]:
    """Papers listed on a day in [since, until] that the server's members voted on, with their
    (👍, 👎) counts, ranked by 👍 minus 👎, then
    the number of votes, then the paper stored last."""
    rows = await db.execute_fetchall(
        "WITH page AS MATERIALIZED (SELECT v.paper_pk AS pk, sum(v.vote) AS score,"
        "  count(*) AS voters, sum(CASE WHEN v.vote = 1 THEN 1 ELSE 0 END) AS up,"
        "  sum(CASE WHEN v.vote = -1 THEN 1 ELSE 0 END) AS down"
        "  FROM member_votes v WHERE v.guild_id = ?1 AND v.paper_pk IN"
        "   (SELECT paper_pk FROM daily_entries WHERE day BETWEEN ?2 AND ?3)"
        "  GROUP BY v.paper_pk ORDER BY score DESC, voters DESC, v.paper_pk DESC"
        "  LIMIT ?4 OFFSET ?5)"
        f" SELECT {_columns(db)}, page.up, page.down FROM page JOIN papers p ON p.pk = page.pk"
        " ORDER BY page.score DESC, page.voters DESC, page.pk DESC",
        (guild_id, since.isoformat(), until.isoformat(), limit, offset),
    )
    return [
        MemberVotedPaper(
            id=paper_id,
            title=title,
            upvotes=upvotes,
            authors=json.loads(authors),
            member_votes=(up, down),
        )
        for paper_id, title, upvotes, authors, up, down in rows
    ]
