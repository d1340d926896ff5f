"""Importing digests the way the archive has them, through `paperboy import` into real SQLite.

The unknown-vote tests always run, on the project's own fixtures. The whole-archive test needs
a local copy of the public digest archive (the folder holding YYYY/MM/DD.md files): set
PAPERBOY_ARCHIVE to it; without it the test is skipped.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import sqlite3
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from bot.cli import main
from bot.config import ENV_VARS
from bot.models import DailyList, Paper
from bot.sources.digest_md import parse_digest_file
from storage.db import open_store
from storage.papers import get_paper, save_daily_list

ARCHIVE_VARIABLE = "PAPERBOY_ARCHIVE"
FIXTURES = Path(__file__).parent / "fixtures" / "digests"

# What the archive of 2023-11-20 .. 2025-05-09 holds.
ARCHIVE_FILES = 357
ARCHIVE_ENTRIES = 5488
ARCHIVE_PAPERS = 5487


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    """A clean working directory and environment: no real .env, no real network."""
    monkeypatch.chdir(tmp_path)
    for name in ENV_VARS.values():
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HF_API_BASE", "http://127.0.0.1:9")
    monkeypatch.setenv("ARXIV_API_BASE", "http://127.0.0.1:9")


def paperboy(capsys, *args: object) -> tuple[int, str, str]:
    """Run `paperboy ARGS...` in-process: (exit code, stdout, stderr)."""
    code = main([str(arg) for arg in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def import_json(capsys, db: Path, *paths: Path) -> list[dict]:
    code, out, err = paperboy(capsys, "import", *paths, "--db", db, "--json")
    assert code == 0, err
    return json.loads(out)


def totals(rows: list[dict]) -> dict[str, int]:
    return {key: sum(row[key] for row in rows) for key in ("papers", "new", "updated", "vote_rows")}


def stored(db: Path, sql: str, *params: object) -> list[tuple]:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql, params).fetchall()


# --- an unknown vote count in storage --------------------------------------------------------


def test_unknown_vote_is_stored_as_unknown_not_zero(capsys, tmp_path):
    db = tmp_path / "paperboy.db"

    import_json(capsys, db, FIXTURES / "vote-unknown.md")

    assert stored(db, "SELECT id, upvotes, upvotes_at IS NULL FROM papers ORDER BY id") == [
        ("2405.20001", None, 1),
        ("2405.20002", 0, 0),
    ]
    assert stored(db, "SELECT paper_pk FROM vote_snapshots") == [(20240520002,)]
    code, out, _ = paperboy(capsys, "show", "2405.20001", "--db", db, "--json")
    assert code == 0 and json.loads(out)["upvotes"] is None


def test_an_unknown_vote_never_replaces_a_known_count(capsys, tmp_path):
    db = tmp_path / "paperboy.db"
    counted = tmp_path / "counted.md"
    counted.write_text(
        "## Daily Papers (2024-05-29)\n\n"
        "### [Counting Votes Nobody Cast](https://arxiv.org/abs/2405.20001)\n\nVote: 12\n",
        encoding="utf-8",
    )
    import_json(capsys, db, counted)

    # The next day's digest lists it with 'Vote: -': the count stays, nothing is recorded.
    (row,) = import_json(capsys, db, FIXTURES / "vote-unknown.md")

    assert row["vote_rows"] == 1  # the other paper's 0
    assert stored(db, "SELECT upvotes FROM papers WHERE id = '2405.20001'") == [(12,)]
    assert stored(db, "SELECT count(*) FROM vote_snapshots WHERE paper_pk = 20240520001") == [(1,)]
    # And the other way round: importing the older, counted digest again changes nothing.
    (again,) = import_json(capsys, db, counted)
    assert (again["new"], again["updated"], again["vote_rows"]) == (0, 0, 0)


async def test_a_hugging_face_fetch_fills_in_an_unknown_count(capsys, tmp_path):
    db = tmp_path / "paperboy.db"
    await asyncio.to_thread(import_json, capsys, db, FIXTURES / "vote-unknown.md")
    fetched = Paper(id="2405.20001", title="Counting Votes Nobody Cast", upvotes=31)

    # What a fetch of that day saves (the scheduler and `paperboy fetch` call the same function).
    async with open_store(db) as store:
        async with store.write() as conn:
            stats = await save_daily_list(
                conn, DailyList(day=date(2024, 5, 30), papers=[fetched]), datetime.now(UTC)
            )
        paper = await get_paper(store.reader, "2405.20001")

    assert stats.vote_rows == 1
    assert paper is not None and paper.upvotes == 31
    assert paper.authors == ["Hana Seo", "Tomas Virtanen"]  # the digest's fields stay
    # Importing the digest again does not take the count back to unknown.
    (row,) = await asyncio.to_thread(import_json, capsys, db, FIXTURES / "vote-unknown.md")
    assert (row["updated"], row["vote_rows"]) == (0, 0)
    assert stored(db, "SELECT upvotes FROM papers WHERE id = '2405.20001'") == [(31,)]


# --- the whole public archive ----------------------------------------------------------------


def content_digest(db: Path) -> tuple[dict[str, int], str]:
    """(row count of each content table, a hash of their rows in a fixed order).

    Everything the import writes except the time a row was written (papers.updated_at)."""
    tables = {
        "papers": "SELECT pk, id, title, abstract, published_at, image_url, video_url,"
        " github_repo, github_stars, project_page, ai_summary, ai_keywords, num_comments,"
        " organization, upvotes, upvotes_at FROM papers ORDER BY pk",
        "authors": "SELECT id, name FROM authors ORDER BY id",
        "paper_authors": "SELECT paper_pk, position, author_id FROM paper_authors"
        " ORDER BY paper_pk, position",
        "summaries": "SELECT paper_pk, language, source, bullets, observed_at FROM summaries"
        " ORDER BY paper_pk, language, source",
        "daily_entries": "SELECT day, paper_pk, rank FROM daily_entries ORDER BY day, paper_pk",
        "vote_snapshots": "SELECT paper_pk, observed_at, upvotes FROM vote_snapshots"
        " ORDER BY paper_pk, observed_at",
    }
    counts: dict[str, int] = {}
    digest = hashlib.sha256()
    with sqlite3.connect(db) as conn:
        for table, sql in tables.items():
            rows = conn.execute(sql).fetchall()
            counts[table] = len(rows)
            digest.update(repr((table, rows)).encode())
    return counts, digest.hexdigest()


def archive() -> Path:
    folder = os.environ.get(ARCHIVE_VARIABLE)
    if not folder:
        pytest.skip(f"set {ARCHIVE_VARIABLE} to a local copy of the digest archive's paper_logs")
    return Path(folder)


def test_the_whole_archive_imports_exactly_and_twice_changes_nothing(capsys, tmp_path):
    folder = archive()
    files = sorted(folder.rglob("*.md"))
    assert len(files) == ARCHIVE_FILES
    db = tmp_path / "archive.db"

    first = import_json(capsys, db, folder)

    assert [row["error"] for row in first if row["error"]] == []
    assert len(first) == ARCHIVE_FILES
    assert totals(first)["papers"] == ARCHIVE_ENTRIES
    assert totals(first)["new"] == ARCHIVE_PAPERS
    counts, before = content_digest(db)
    assert counts["papers"] == ARCHIVE_PAPERS
    assert counts["daily_entries"] == ARCHIVE_ENTRIES
    assert len(stored(db, "SELECT DISTINCT day FROM daily_entries")) == ARCHIVE_FILES
    lists = [daily for path in files for daily in parse_digest_file(path)]
    assert len({daily.day for daily in lists}) == ARCHIVE_FILES
    assert sum(len(daily.papers) for daily in lists) == ARCHIVE_ENTRIES
    # Each paper is stored as its listings say, later days' values winning where given.
    assert stored_papers(db) == expected_papers(lists)
    # No author name is a piece of a Python list literal.
    edges = ("[", "]", "'", '"')
    assert (
        stored(
            db,
            "SELECT name FROM authors WHERE substr(name, 1, 1) IN (?, ?, ?, ?)"
            " OR substr(name, -1) IN (?, ?, ?, ?)",
            *edges,
            *edges,
        )
        == []
    )

    second = import_json(capsys, db, folder)

    assert [row["error"] for row in second if row["error"]] == []
    assert (totals(second)["new"], totals(second)["vote_rows"]) == (0, 0)
    # Nothing is updated, but for a paper listed on several days with conflicting titles,
    # authors or media, while storage lets each import overwrite those (one paper in the
    # archive); what is stored ends the same either way.
    assert totals(second)["updated"] <= retitled_listings(lists)
    assert content_digest(db) == (counts, before)


def expected_papers(lists: list[DailyList]) -> dict[str, tuple]:
    """(title, authors, image, video, upvotes) of each paper after importing `lists` in order."""
    papers: dict[str, list] = {}
    for daily in sorted(lists, key=lambda daily: daily.day):
        for paper in daily.papers:
            values = papers.setdefault(paper.id, [paper.title, [], None, None, None])
            given = [paper.title, paper.authors, paper.image_url, paper.video_url, paper.upvotes]
            papers[paper.id] = [
                new if new or new == 0 else old for new, old in zip(given, values, strict=True)
            ]
    return {paper_id: tuple(values) for paper_id, values in papers.items()}


def stored_papers(db: Path) -> dict[str, tuple]:
    authors: dict[str, list[str]] = {}
    for paper_id, name in stored(
        db,
        "SELECT p.id, a.name FROM papers p JOIN paper_authors pa ON pa.paper_pk = p.pk"
        " JOIN authors a ON a.id = pa.author_id ORDER BY p.pk, pa.position",
    ):
        authors.setdefault(paper_id, []).append(name)
    return {
        paper_id: (title, authors.get(paper_id, []), image, video, upvotes)
        for paper_id, title, image, video, upvotes in stored(
            db, "SELECT id, title, image_url, video_url, upvotes FROM papers"
        )
    }


def retitled_listings(lists: list[DailyList]) -> int:
    """How many listings are of a paper listed on several days with conflicting values.

    Title, authors and media: the stored columns a later import overwrites whatever its day."""
    listings: dict[str, list[Paper]] = {}
    for daily in lists:
        for paper in daily.papers:
            listings.setdefault(paper.id, []).append(paper)

    def conflict(seen: list[Paper]) -> bool:
        fields = [
            {repr(value) for paper in seen if (value := pick(paper))}
            for pick in (
                lambda p: p.title,
                lambda p: p.authors,
                lambda p: p.image_url,
                lambda p: p.video_url,
            )
        ]
        return any(len(values) > 1 for values in fields)

    return sum(len(seen) for seen in listings.values() if len(seen) > 1 and conflict(seen))
