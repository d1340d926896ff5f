"""The `paperboy` command line, end to end: real SQLite files, real HTTP on loopback.

`main()` is called in-process (capsys reads its output). Commands that talk to Hugging Face or
arXiv run `main()` in a worker thread — it starts its own event loop with `asyncio.run` — while
the loopback fixture server answers from the test's loop. Every test runs in its own tmp_path
(so a developer's `.env` is never read), with HTTP_RETRIES=0 and short timeouts, and with the
sources pointed at a closed loopback port unless a test starts the fixture server.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from cli_harness import Result, isolate, run_in_thread
from http_fixture_server import FixtureServer, Reply

import storage.papers
from bot.cli import end_of_day, main, short_authors
from bot.config import ENV_VARS
from bot.sources.digest_md import parse_digest, parse_digest_file
from storage.db import migrations

ROOT = Path(__file__).resolve().parents[1]
OWN = Path(__file__).parent / "fixtures"
SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "fixtures"
DAILY = "/api/daily_papers"
QUERY = "/api/query"

MODERN_DAY = "2025-10-03"  # tests/fixtures/hf/daily_2025_modern.json
MODERN_IDS = ["2510.00301", "2510.00302", "2510.00303"]
MODERN_VOTES = {"2510.00301": 43, "2510.00302": 4, "2510.00303": 9}
PAPER_ONE = "Synthetic Paper One: A Title Long Enough to Be Hard-Wrapped by the Old Exporter"


def _one_error_line(result: Result) -> str:
    """The single stderr line of a failed command (and no traceback)."""
    assert "Traceback" not in result.err
    assert len(result.err_lines) == 1, result.err
    line = result.err_lines[0]
    assert line.startswith("paperboy: error: ")
    return line


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    isolate(tmp_path, monkeypatch)


@pytest.fixture
def run(capsys):
    """Run `paperboy ARGS...` in-process and return its exit code and output."""

    def call(*args: object) -> Result:
        code = main([str(arg) for arg in args])
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return call


@pytest.fixture
def arun(capsys):
    """Like `run`, from an async test."""
    return functools.partial(run_in_thread, capsys)


@pytest.fixture
async def server(monkeypatch):
    """The loopback fixture server, standing in for Hugging Face and arXiv."""
    async with FixtureServer() as running:
        monkeypatch.setenv("HF_API_BASE", running.url)
        monkeypatch.setenv("ARXIV_API_BASE", running.url)
        yield running


def _serve_day(server: FixtureServer, day: str, *replies: Reply) -> None:
    server.add(DAILY, *replies, query={"date": day})


@pytest.fixture
async def fetched(server, arun):
    """A store holding the modern fixture day, fetched through the CLI."""
    _serve_day(server, MODERN_DAY, Reply.file(OWN / "hf" / "daily_2025_modern.json"))
    result = await arun("fetch", "--date", MODERN_DAY, "--json")
    assert result.code == 0, result.err
    return server


def _ids(papers: list[dict]) -> list[str]:
    return [paper["id"] for paper in papers]


def _process(*args: object, cwd: Path, env: dict[str, str] | None = None):
    """`python -m bot ARGS...` as a real process (the checkout first on the path)."""
    env = dict(os.environ if env is None else env)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return subprocess.run(
        [sys.executable, "-m", "bot", *map(str, args)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )


# run ----------------------------------------------------------------------------------------


def test_run_without_token_as_a_subprocess(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ENV_VARS.values()}
    completed = _process("run", cwd=tmp_path, env=env)
    assert completed.returncode == 2
    assert completed.stdout == ""
    assert "Traceback" not in completed.stderr
    lines = completed.stderr.splitlines()
    assert len(lines) == 1, completed.stderr
    assert "DISCORD_TOKEN" in lines[0] and ".env.example" in lines[0]


def test_run_without_token(run):
    result = run("run")
    assert result.code == 2
    assert "DISCORD_TOKEN is not set" in _one_error_line(result)


async def test_run_with_a_rejected_token_says_so_in_one_line(server, arun, monkeypatch, tmp_path):
    # The token comes from .env; Discord (here the loopback server) answers 401 to the login.
    (tmp_path / ".env").write_text("DISCORD_TOKEN=secret-token-value\n", encoding="utf-8")
    monkeypatch.setenv("DISCORD_API_BASE", f"{server.url}/api/v10")
    server.add("/api/v10/users/@me", Reply.json({"message": "401: Unauthorized", "code": 0}, 401))
    result = await arun("run")
    assert result.code == 1
    assert "Traceback" not in result.err  # the service logs its start-up, then one error line
    assert result.err_lines[-1].startswith("paperboy: error: Discord refused DISCORD_TOKEN")
    assert "secret-token-value" not in result.out + result.err
    assert len(server.requests_to("/api/v10/users/@me")) == 1


# fetch --------------------------------------------------------------------------------------


async def test_fetch_a_day(server, arun):
    _serve_day(server, MODERN_DAY, Reply.file(OWN / "hf" / "daily_2025_modern.json"))
    result = await arun("fetch", "--date", MODERN_DAY)
    assert result.code == 0, result.err
    assert result.err == ""
    assert MODERN_DAY in result.out
    row = next(line for line in result.out.splitlines() if MODERN_DAY in line)
    assert row.split()[1:5] == ["3", "3", "0", "3"]  # papers, new, updated, vote rows
    assert len(server.requests_to(DAILY)) == 1


async def test_fetch_twice_adds_nothing_the_second_time(server, arun):
    _serve_day(server, MODERN_DAY, Reply.file(OWN / "hf" / "daily_2025_modern.json"))
    first = await arun("fetch", "--date", MODERN_DAY, "--json")
    second = await arun("fetch", "--date", MODERN_DAY, "--json")
    assert first.code == second.code == 0
    assert first.json() == [
        {
            "day": MODERN_DAY,
            "papers": 3,
            "new": 3,
            "updated": 0,
            "unchanged": 0,
            "vote_rows": 3,
            "error": None,
        }
    ]
    (again,) = second.json()
    assert (again["papers"], again["new"], again["vote_rows"], again["updated"]) == (3, 0, 0, 0)
    assert again["unchanged"] == 3


async def test_fetch_range_with_a_failing_day_stores_the_others(server, arun):
    _serve_day(server, "2024-01-16", Reply.file(OWN / "hf" / "daily_2024_oldest_mediaurl.json"))
    _serve_day(server, "2024-01-17", Reply.error(500))
    _serve_day(server, "2024-01-18", Reply.file(OWN / "hf" / "daily_2024_thumbnail_mediaurls.json"))

    result = await arun("fetch", "--date", "2024-01-16", "--to", "2024-01-18")
    assert result.code == 1
    assert "failed" in result.out
    assert "Traceback" not in result.err
    assert result.err_lines == [
        "paperboy: error: 2024-01-17: Hugging Face request failed after 1 attempt: "
        "GET /api/daily_papers (HTTP 500)",
        "paperboy: error: 1 of 3 days failed; the others are stored",
    ]
    info = (await arun("db", "info", "--json")).json()
    assert (info["days"], info["papers"], info["first_day"], info["last_day"]) == (
        2,
        5,
        "2024-01-16",
        "2024-01-18",
    )
    missing = await arun("export", "--date", "2024-01-17")
    assert "no papers stored for 2024-01-17" in _one_error_line(missing)

    again = await arun("fetch", "--date", "2024-01-16", "--to", "2024-01-18", "--json")
    assert again.code == 1
    rows = {row["day"]: row for row in again.json()}
    assert rows["2024-01-17"]["error"].endswith("(HTTP 500)")
    assert rows["2024-01-16"]["error"] is None and rows["2024-01-16"]["new"] == 0
    assert rows["2024-01-18"]["papers"] == 3


async def test_fetch_range_where_every_day_fails_says_nothing_was_stored(server, arun):
    _serve_day(server, "2024-01-16", Reply.error(500))
    _serve_day(server, "2024-01-17", Reply.error(500))
    result = await arun("fetch", "--date", "2024-01-16", "--to", "2024-01-17")
    assert result.code == 1
    assert "Traceback" not in result.err
    assert result.err_lines[-1] == "paperboy: error: all 2 days failed; nothing was stored"
    assert "the others are stored" not in result.err
    info = (await arun("db", "info", "--json")).json()
    assert (info["days"], info["papers"]) == (0, 0)


async def test_fetch_skips_a_malformed_item_with_a_warning(server, arun):
    _serve_day(server, "2024-02-01", Reply.file(OWN / "hf" / "daily_malformed_item.json"))
    result = await arun("fetch", "--date", "2024-02-01", "--json")
    assert result.code == 0
    assert result.json()[0]["papers"] == 2
    warnings = result.err_lines
    assert len(warnings) == 1 and warnings[0].startswith("paperboy: warning: Skipping")
    assert _ids((await arun("top", "--json")).json()) == ["2402.00401", "2402.00403"]


async def test_fetch_an_empty_day(server, arun):
    _serve_day(server, "2024-01-20", Reply.json([]))
    result = await arun("fetch", "--date", "2024-01-20", "--json")
    assert result.code == 0
    assert result.json()[0]["papers"] == 0


async def test_fetch_when_the_source_is_unreachable(arun):
    result = await arun("fetch", "--date", "2024-01-16")  # HF_API_BASE: a closed port
    assert result.code == 1
    assert "connection failed" in result.err
    assert "Traceback" not in result.err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--date", "2024-02-30"], "'2024-02-30' is not a real date; use YYYY-MM-DD"),
        (["--date", "2024-13-01"], "is not a real date"),
        (["--date", "20240101"], "is not a real date"),
        (["--date", "../../etc"], "is not a real date"),
        (["--date", "2024-02-03", "--to", "2024-02-01"], "--to 2024-02-01 is before --date"),
        (["--date", "2020-01-01", "--to", "2024-01-01"], "fetch at most 366"),
        ([], "the following arguments are required: --date"),
    ],
)
def test_fetch_rejects_bad_dates(run, tmp_path, args, message):
    result = run("fetch", *args)
    assert result.code == 2
    assert message in _one_error_line(result)
    assert not (tmp_path / "paperboy.db").exists()


# import -------------------------------------------------------------------------------------

LATE_ERROR = """## Daily Papers (2024-04-01)

### [A Fine Paper Before the Mistake](https://arxiv.org/abs/2404.00001)

Vote: 3

Authors: Early Bird

### [Another Fine Paper](https://arxiv.org/abs/2404.00002)

Vote: 2

## Daily Papers (2024-04-02)

### [The Broken One](https://arxiv.org/abs/2404.00003)

Votes: 1
"""


def test_import_folder_with_a_good_and_a_broken_digest(run, tmp_path):
    folder = tmp_path / "digests"
    (folder / "more").mkdir(parents=True)
    shutil.copy(OWN / "digests" / "2024-03-04.md", folder / "2024-03-04.md")
    (folder / "more" / "late-error.md").write_text(LATE_ERROR, encoding="utf-8")
    (folder / "README.md").write_text("# Not a digest\n\nJust notes.\n", encoding="utf-8")

    result = run("import", folder, "--json")
    assert result.code == 1
    line = _one_error_line(result)
    expected = f"{folder / 'more' / 'late-error.md'}:17: expected "
    assert line.startswith(f"paperboy: error: {expected}")
    rows = {Path(row["file"]).name: row for row in result.json()}
    assert set(rows) == {"2024-03-04.md", "late-error.md"}  # README.md is not a digest
    good = rows["2024-03-04.md"]
    assert good["error"] is None
    assert good["days"] == ["2024-03-04", "2024-03-05", "2024-03-06"]
    # 2403.01001 is on two days of the file: the later day's summary replaces the earlier one
    assert (good["papers"], good["new"], good["updated"]) == (7, 6, 1)
    assert rows["late-error.md"]["error"].startswith(expected)
    assert rows["late-error.md"]["papers"] == 0

    # The broken file's good papers were parsed but never written.
    assert run("search", "fine paper", "--json").json() == []
    info = run("db", "info", "--json").json()
    assert (info["papers"], info["days"]) == (6, 2)  # 2024-03-06 has no papers


def test_import_table_output(run):
    result = run("import", OWN / "digests" / "2024-03-04.md", OWN / "digests" / "broken")
    assert result.code == 1
    assert "2024-03-04.md" in result.out and "3 days" in result.out
    assert "failed" in result.out
    assert result.out.splitlines()[-1] == (
        "3 files: 7 papers listed, 6 new, 1 updated, 6 vote rows; 2 failed"
    )
    assert "Traceback" not in result.err
    assert [line.split(": ", 2)[2].split(":")[0:2] for line in result.err_lines] == [
        [str(OWN / "digests" / "broken" / "bad-vote.md"), "7"],
        [str(OWN / "digests" / "broken" / "not-utf8.md"), "3"],
    ]


def test_import_reports_paths_that_are_not_digests(run, tmp_path):
    notes = tmp_path / "notes.md"
    notes.write_text("Some notes\n", encoding="utf-8")
    empty = tmp_path / "empty-folder"
    empty.mkdir()
    result = run("import", notes, empty, tmp_path / "missing.md", "--json")
    assert result.code == 1
    assert "Traceback" not in result.err
    assert len(result.err_lines) == 3
    errors = [row["error"] for row in result.json()]
    assert any(f"{notes}:1: expected '## Daily Papers (YYYY-MM-DD)'" in e for e in errors)
    assert any(e.startswith(f"{empty}: no digests found") for e in errors)
    assert any(e == f"{tmp_path / 'missing.md'}: no such file or folder" for e in errors)


def test_import_the_same_file_twice_changes_nothing(run):
    digest = OWN / "digests" / "2024-03-04.md"
    assert run("import", digest).code == 0
    (row,) = run("import", digest, "--json").json()
    assert (row["new"], row["updated"], row["vote_rows"]) == (0, 0, 0)


def test_digest_votes_are_observed_at_the_end_of_their_day():
    assert end_of_day(date(2024, 1, 17)) == datetime(2024, 1, 17, 23, 59, 59, 999999, tzinfo=UTC)
    assert end_of_day(date(2024, 12, 31)) == datetime(2024, 12, 31, 23, 59, 59, 999999, UTC)


async def test_an_older_digest_does_not_override_newer_fetched_votes(server, arun, tmp_path):
    _serve_day(server, "2024-01-16", Reply.file(OWN / "hf" / "daily_2024_oldest_mediaurl.json"))
    assert (await arun("fetch", "--date", "2024-01-16")).code == 0  # 2401.00101: 32 votes, now
    old = tmp_path / "old.md"
    old.write_text(
        "## Daily Papers (2024-01-16)\n\n"
        f"### [{PAPER_ONE}](https://arxiv.org/abs/2401.00101)\n\nVote: 5\n",
        encoding="utf-8",
    )
    (row,) = (await arun("import", old, "--json")).json()
    assert row["vote_rows"] == 1  # the old count joins the history...
    shown = (await arun("show", "2401.00101", "--json")).json()
    assert shown["upvotes"] == 32  # ...but the newer, fetched count stays current


def test_a_digest_may_retitle_a_stored_paper(run, tmp_path):
    first = tmp_path / "first.md"
    first.write_text(
        "## Daily Papers (2024-01-16)\n\n### [Old Title](https://arxiv.org/abs/2401.00101)\n",
        encoding="utf-8",
    )
    second = tmp_path / "second.md"
    second.write_text(
        "## Daily Papers (2024-01-17)\n\n### [New Title](https://arxiv.org/abs/2401.00101)\n",
        encoding="utf-8",
    )
    assert run("import", first).code == 0
    result = run("import", second)
    assert result.code == 0, result.err
    assert run("show", "2401.00101", "--json").json()["title"] == "New Title"
    assert _ids(run("search", "new title", "--json").json()) == ["2401.00101"]


def test_import_the_shared_digests(run):
    folder = SHARED / "digests"
    if not folder.is_dir():
        pytest.skip("../shared is not beside this checkout")
    result = run("import", folder, "--json")
    assert result.code == 0, result.err
    rows = result.json()
    assert [Path(row["file"]).name for row in rows] == [
        "2024-01-17.md",
        "2024-01-23.md",
        "2025-05-09.md",
    ]
    assert [row["papers"] for row in rows] == [9, 16, 20]  # SOURCES.md is skipped
    info = run("db", "info", "--json").json()
    assert info["days"] == 3
    aim = run("show", "2401.08541", "--json").json()
    assert aim["upvotes"] == 21
    assert aim["authors"][:3] == ["Alaaeldin El-Nouby", "Michal Klein", "Shuangfei Zhai"]
    assert aim["summaries"][0]["language"] == "ko"
    assert _ids(run("author", "el-nouby", "--json").json()) == ["2401.08541"]
    assert "2401.08541" in _ids(run("search", "autoregressive image", "--json").json())


# export -------------------------------------------------------------------------------------


def _by_id(lists) -> dict[str, object]:
    (daily,) = lists
    return {paper.id: paper for paper in daily.papers}


def test_export_markdown_round_trips_through_the_store(run, tmp_path):
    assert run("import", OWN / "digests" / "2024-03-04.md").code == 0
    first = tmp_path / "out" / "first.md"
    result = run("export", "--date", "2024-03-05", "--output", first)
    assert result.code == 0
    assert result.out == ""
    assert f"wrote 4 papers of 2024-03-05 to {first}" in result.err

    original = _by_id(
        [d for d in parse_digest_file(OWN / "digests" / "2024-03-04.md") if d.day.day == 5]
    )
    exported = _by_id(parse_digest_file(first))
    assert list(exported) == ["2403.01001", "2403.01004", "2403.01005", "hep-th/9901001"]
    for paper_id, paper in original.items():
        again = exported[paper_id]
        assert again.title == paper.title
        assert again.authors == paper.authors
        assert (again.image_url, again.video_url) == (paper.image_url, paper.video_url)
        assert again.summaries == paper.summaries
        if paper.upvotes is not None:
            assert again.upvotes == paper.upvotes

    # Into a second store and out again: the same digest, byte for byte.
    assert run("import", first, "--db", tmp_path / "second.db").code == 0
    second = run("export", "--date", "2024-03-05", "--db", tmp_path / "second.db")
    assert second.code == 0
    assert second.out == first.read_text(encoding="utf-8")
    as_json = run("export", "--date", "2024-03-05", "--json").json()
    again_json = run("export", "--date", "2024-03-05", "--json", "--db", tmp_path / "second.db")
    without_dates = [{k: v for k, v in p.items() if k != "dates"} for p in as_json]
    assert [
        {k: v for k, v in p.items() if k != "dates"} for p in again_json.json()
    ] == without_dates


def test_export_shared_digests_round_trip(run, tmp_path):
    folder = SHARED / "digests"
    if not folder.is_dir():
        pytest.skip("../shared is not beside this checkout")
    for name in ("2024-01-17.md", "2024-01-23.md", "2025-05-09.md"):
        assert run("import", folder / name).code == 0
        day = name.removesuffix(".md")
        exported = run("export", "--date", day)
        assert exported.code == 0
        original = _by_id(parse_digest_file(folder / name))
        again = _by_id(parse_digest(exported.out))
        assert set(again) == set(original)
        for paper_id, paper in original.items():
            assert again[paper_id].title == paper.title
            assert again[paper_id].authors == paper.authors
            assert again[paper_id].upvotes == paper.upvotes
            assert again[paper_id].summaries == paper.summaries
            assert (again[paper_id].image_url, again[paper_id].video_url) == (
                paper.image_url,
                paper.video_url,
            )


def test_export_json(run, tmp_path):
    assert run("import", OWN / "digests" / "2024-03-04.md").code == 0
    target = tmp_path / "day.json"
    assert run("export", "--date", "2024-03-04", "--format", "json", "-o", target).code == 0
    papers = json.loads(target.read_text(encoding="utf-8"))
    assert _ids(papers) == ["2403.01001", "2403.01002", "2403.01003"]  # most upvoted first
    assert papers[2]["authors"] == ["Zoë Ångström"]
    assert "Zoë" in target.read_text(encoding="utf-8")  # ensure_ascii=False
    printed = run("export", "--date", "2024-03-04", "--json")
    assert printed.json() == papers
    markdown = run("export", "--date", "2024-03-04", "--json", "--format", "markdown")
    assert markdown.out.startswith("## Daily Papers (2024-03-04)")


def test_export_unknown_day(run):
    assert run("import", OWN / "digests" / "2024-03-04.md").code == 0
    result = run("export", "--date", "2030-01-01")
    assert result.code == 1
    assert _one_error_line(result) == "paperboy: error: no papers stored for 2030-01-01"


# search, author, show, top, db info ---------------------------------------------------------


async def test_search_table_and_json(fetched, arun):
    table = await arun("search", "synthetic")
    assert table.code == 0
    for paper_id in MODERN_IDS:
        assert paper_id in table.out
    assert "Ivy Synthetic" in table.out

    papers = (await arun("search", "synthetic", "--json")).json()
    assert sorted(_ids(papers)) == MODERN_IDS
    assert {p["id"]: p["upvotes"] for p in papers} == MODERN_VOTES
    first = next(p for p in papers if p["id"] == "2510.00301")
    assert first["authors"] == ["Ivy Synthetic", "Jon Fabricated"]
    assert first["dates"] == [MODERN_DAY]
    assert first["url"] == "https://arxiv.org/abs/2510.00301"
    assert first["image_url"].endswith("2510.00301.png")
    assert first["video_url"].endswith("long-demo.mp4")
    assert first["title"] == "Synthetic++: Towards Minute-Scale Test Fixtures"
    for key in ("abstract", "summaries"):
        assert key in first

    # Prefix on the last word, substring inside words.
    assert _ids((await arun("search", "minute-sca", "--json")).json()) == ["2510.00301"]
    assert "2510.00301" in _ids((await arun("search", "ixtures", "--json")).json())


async def test_search_pages(fetched, arun):
    page1 = await arun("search", "synthetic", "--limit", "2")
    assert "More results: add --page 2." in page1.out
    one = (await arun("search", "synthetic", "--limit", "2", "--json")).json()
    two = (await arun("search", "synthetic", "--limit", "2", "--page", "2", "--json")).json()
    assert len(one) == 2 and len(two) == 1
    assert sorted(_ids(one + two)) == MODERN_IDS
    assert (await arun("search", "synthetic", "--page", "5", "--json")).json() == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["search", "synthetic", "--page", "99"], "3 results for 'synthetic', in 1 page of 10."),
        (
            ["search", "synthetic", "--limit", "2", "--page", "3"],
            "3 results for 'synthetic', in 2 pages of 2.",
        ),
        (
            ["search", "synthetic", "--limit", "1", "--page", "4"],
            "3 results for 'synthetic', in 3 pages of 1.",
        ),
        (
            ["author", "ivy synthetic", "--page", "2"],
            "1 paper by 'ivy synthetic', in 1 page of 10.",
        ),
        (["top", "--page", "2"], f"3 papers listed on {MODERN_DAY}, in 1 page of 10."),
        (
            ["top", "--days", "3", "--limit", "2", "--page", "5"],
            f"3 papers listed from 2025-10-01 to {MODERN_DAY}, in 2 pages of 2.",
        ),
    ],
)
async def test_a_page_past_the_end_says_how_many_results_there_are(fetched, arun, args, message):
    result = await arun(*args)
    assert result.code == 0, result.err
    page = args[args.index("--page") + 1]
    assert result.out.strip().startswith(f"Page {page} is past the end: {message}")
    assert "No stored papers" not in result.out
    assert (await arun(*args, "--json")).json() == []  # scripts paging until [] still stop


async def test_a_page_past_the_end_of_nothing_is_no_match(fetched, arun):
    result = await arun("search", "nowhere", "--page", "3")
    assert result.code == 0
    assert result.out.strip() == "No stored papers match 'nowhere'."


async def test_piped_tables_are_not_wrapped(fetched, arun, monkeypatch, tmp_path):
    monkeypatch.setenv("COLUMNS", "80")  # what rich would otherwise use for a pipe
    papers = {p["id"]: p for p in (await arun("search", "synthetic", "--json")).json()}
    table = await arun("search", "synthetic")  # stdout is captured: not a terminal
    assert table.code == 0
    rows = [line for line in table.out.splitlines() if any(i in line for i in papers)]
    assert len(rows) == len(papers)
    assert max(len(line.rstrip()) for line in rows) > 80
    for row in rows:
        paper = papers[next(i for i in papers if i in row)]
        assert paper["title"] in row
        assert short_authors(paper["authors"]) in row
    # The lines of the table: title, blank, header, rule, one per paper, blank.
    assert len(table.out.splitlines()) == 5 + len(papers)
    assert all(line == line.rstrip() for line in table.out.splitlines())  # no padding to cut

    folder = tmp_path / ("a-folder-with-a-name-long-enough-to-push-the-row-past-80-columns")
    folder.mkdir()
    shutil.copy(OWN / "digests" / "2024-03-04.md", folder / "2024-03-04.md")
    imported = await arun("import", folder / "2024-03-04.md", "--db", tmp_path / "other.db")
    assert any(str(folder / "2024-03-04.md") in line for line in imported.out.splitlines())


@pytest.mark.parametrize(
    "query",
    [
        '"a" NEAR(b) *',
        "title: x OR y AND -z",
        "'; DROP TABLE papers; --",
        "x" * 1000,
        " ".join(["word"] * 300),
        "100%_done",
    ],
)
async def test_odd_queries_are_just_words(fetched, arun, query):
    result = await arun("search", query, "--json")
    assert result.code == 0, result.err
    assert isinstance(result.json(), list)
    info = (await arun("db", "info", "--json")).json()
    assert info["papers"] == 3


@pytest.mark.parametrize("command", ["search", "author"])
async def test_queries_without_words_are_a_clear_error(fetched, arun, command):
    result = await arun(command, "🙂🎉 %_% ...")
    assert result.code == 2
    assert "nothing to search for" in _one_error_line(result)


async def test_author_table_and_json(fetched, arun):
    table = await arun("author", "Ivy", "Synthetic")
    assert table.code == 0 and "2510.00301" in table.out
    papers = (await arun("author", "ivy synthetic", "--json")).json()
    assert _ids(papers) == ["2510.00301"]
    assert papers[0]["authors"] == ["Ivy Synthetic", "Jon Fabricated"]
    nobody = await arun("author", "Nobody Atall")
    assert nobody.code == 0 and "No stored papers by 'Nobody Atall'" in nobody.out
    assert (await arun("author", "Nobody Atall", "--json")).json() == []


async def test_show_a_stored_paper(fetched, arun):
    before = len(fetched.requests)
    card = await arun("show", "2510.00301")
    assert card.code == 0
    for text in (
        "Synthetic++: Towards Minute-Scale Test Fixtures",
        "https://arxiv.org/abs/2510.00301",
        "https://huggingface.co/papers/2510.00301",
        "Ivy Synthetic, Jon Fabricated",
        MODERN_DAY,
        "Abstract",
        "Example Lab",
    ):
        assert text in card.out
    paper = (await arun("show", "https://arxiv.org/pdf/2510.00301v2.pdf", "--json")).json()
    assert paper["id"] == "2510.00301" and paper["upvotes"] == 43
    assert paper["dates"] == [MODERN_DAY]
    assert paper["ai_keywords"] == ["test fixtures", "parsers", "synthetic data"]
    assert len(fetched.requests) == before  # stored papers need no request


async def test_top_table_and_json(fetched, arun):
    table = await arun("top")
    assert table.code == 0 and f"Top papers of {MODERN_DAY}" in table.out
    papers = (await arun("top", "--json")).json()
    assert _ids(papers) == ["2510.00301", "2510.00303", "2510.00302"]
    assert [p["upvotes"] for p in papers] == [43, 9, 4]
    assert _ids((await arun("top", "--limit", "2", "--page", "2", "--json")).json()) == [
        "2510.00302"
    ]


def test_top_covers_n_days_ending_at_the_latest(run):
    assert run("import", OWN / "digests" / "2024-03-04.md").code == 0
    # 2024-03-06 has an empty section, so 2024-03-05 is the latest stored day.
    latest = run("top", "--json").json()
    assert _ids(latest) == ["2403.01001", "2403.01004", "2403.01005", "hep-th/9901001"]
    two_days = run("top", "--days", "2", "--json").json()
    assert _ids(two_days)[:2] == ["2403.01001", "2403.01002"]
    assert len(two_days) == 6
    table = run("top", "--days", "2")
    assert "Top papers of 2024-03-04 to 2024-03-05" in table.out


def test_top_on_a_store_without_lists(run, tmp_path):
    digest = tmp_path / "empty-day.md"
    digest.write_text("## Daily Papers (2024-05-01)\n", encoding="utf-8")
    assert run("import", digest).code == 0
    assert run("top", "--json").json() == []
    assert "No Daily Papers lists stored yet" in run("top").out


async def test_export_a_fetched_day(fetched, arun):
    markdown = await arun("export", "--date", MODERN_DAY)
    assert markdown.code == 0
    papers = _by_id(parse_digest(markdown.out))
    assert list(papers) == ["2510.00301", "2510.00303", "2510.00302"]  # most upvoted first
    assert {paper_id: p.upvotes for paper_id, p in papers.items()} == MODERN_VOTES
    assert papers["2510.00301"].authors == ["Ivy Synthetic", "Jon Fabricated"]
    assert papers["2510.00301"].video_url.endswith("long-demo.mp4")
    as_json = (await arun("export", "--date", MODERN_DAY, "--json")).json()
    assert _ids(as_json) == list(papers)
    assert as_json[0]["abstract"].startswith("Modern payloads still wrap the abstract")


async def test_db_info_table_and_json(fetched, arun, tmp_path):
    info = (await arun("db", "info", "--json")).json()
    assert info["path"] == str(tmp_path / "paperboy.db")
    assert info["schema_version"] >= 1
    assert (info["papers"], info["authors"], info["days"]) == (3, 4, 1)
    assert info["first_day"] == info["last_day"] == MODERN_DAY
    assert info["vote_snapshots"] == 3
    assert info["size_bytes"] > 0
    table = await arun("db", "info")
    assert table.code == 0 and "schema version" in table.out and MODERN_DAY in table.out


def test_short_authors():
    assert short_authors([]) == ""
    assert short_authors(["A", "B", "C"]) == "A, B, C"
    assert short_authors(["A", "B", "C", "D", "E"]) == "A, B, C +2 more"


# show: papers not stored yet ----------------------------------------------------------------


async def test_show_fetches_an_unknown_paper_once_and_stores_it(server, arun):
    server.add("/api/papers/2510.00301", Reply.file(OWN / "hf" / "paper_2510.00301.json"))
    first = await arun("show", "2510.00301", "--json")
    assert first.code == 0, first.err
    paper = first.json()
    assert paper["title"] == "Synthetic++: Towards Minute-Scale Test Fixtures"
    assert paper["upvotes"] == 51
    assert paper["dates"] == []
    assert len(server.requests_to("/api/papers/2510.00301")) == 1
    assert server.requests_to(QUERY) == []

    requests = len(server.requests)
    second = await arun("show", "https://huggingface.co/papers/2510.00301")
    assert second.code == 0
    assert "Synthetic++" in second.out
    assert len(server.requests) == requests  # served from the store
    assert (await arun("db", "info", "--json")).json()["papers"] == 1


async def test_show_falls_back_to_arxiv(server, arun):
    # Hugging Face: no route, so 404. arXiv: the legacy feed.
    server.add(
        QUERY,
        Reply.file(OWN / "arxiv" / "legacy_2401.00101v2.xml"),
        query={"id_list": "2401.00101"},
    )
    result = await arun("show", "arXiv:2401.00101v2", "--json")
    assert result.code == 0, result.err
    paper = result.json()
    assert paper["authors"] == ["Ada Example", "Bo Sample"]
    assert paper["abstract"].startswith("This abstract is synthetic test data.")
    assert len(server.requests_to("/api/papers/2401.00101")) == 1
    assert len(server.requests_to(QUERY)) == 1
    again = await arun("show", "2401.00101")
    assert again.code == 0 and "Ada Example, Bo Sample" in again.out
    assert len(server.requests_to(QUERY)) == 1


async def test_show_a_paper_found_nowhere(server, arun):
    server.add(QUERY, Reply.file(OWN / "arxiv" / "empty.xml"))
    result = await arun("show", "2401.09999")
    assert result.code == 1
    assert _one_error_line(result) == (
        "paperboy: error: paper 2401.09999 was not found on Hugging Face or arXiv"
    )
    assert (await arun("db", "info", "--json")).json()["papers"] == 0


async def test_show_when_both_sources_fail(server, arun):
    server.add("/api/papers/2401.00101", Reply.error(503))
    server.add(QUERY, Reply.error(500))
    result = await arun("show", "2401.00101")
    assert result.code == 1
    line = _one_error_line(result)
    assert "neither Hugging Face nor arXiv could be asked about 2401.00101" in line
    assert "(HTTP 503)" in line and "(HTTP 500)" in line


async def test_show_from_arxiv_when_hugging_face_is_down(server, arun):
    server.add("/api/papers/2401.00101", Reply.error(503))
    server.add(QUERY, Reply.file(OWN / "arxiv" / "legacy_2401.00101v2.xml"))
    result = await arun("show", "2401.00101", "--json")
    assert result.code == 0
    assert result.json()["authors"] == ["Ada Example", "Bo Sample"]
    (warning,) = result.err_lines
    assert warning.startswith("paperboy: warning: showing 2401.00101 from arXiv")


@pytest.mark.parametrize(
    "bad_id", ["../../etc", "2401.0854", "2413.00001", "DROP TABLE papers", "https://example.org/x"]
)
def test_show_rejects_invalid_ids(run, tmp_path, bad_id):
    result = run("show", bad_id)
    assert result.code == 2
    assert "is not an arXiv id" in _one_error_line(result)
    assert not (tmp_path / "paperboy.db").exists()


def test_show_rejects_an_unknown_old_style_archive(run):
    result = run("show", "abc/2401085")
    assert result.code == 2
    assert "is not an arXiv id" in _one_error_line(result)


async def test_unknown_upvotes_stay_unknown(server, arun):
    server.add(QUERY, Reply.file(OWN / "arxiv" / "legacy_2401.00101v2.xml"))
    result = await arun("show", "2401.00101", "--json")
    assert result.code == 0
    assert result.json()["upvotes"] is None


# the database -------------------------------------------------------------------------------


async def test_db_in_a_folder_that_does_not_exist_yet(server, arun, tmp_path):
    _serve_day(server, MODERN_DAY, Reply.file(OWN / "hf" / "daily_2025_modern.json"))
    target = tmp_path / "new" / "deeper" / "papers.db"
    result = await arun("fetch", "--date", MODERN_DAY, "--db", target)
    assert result.code == 0
    assert target.is_file()
    assert not (tmp_path / "paperboy.db").exists()


def test_paperboy_db_setting_in_a_new_folder(run, tmp_path, monkeypatch):
    monkeypatch.setenv("PAPERBOY_DB", str(tmp_path / "from-env" / "x.db"))
    assert run("import", OWN / "digests" / "2024-03-04.md").code == 0
    assert (tmp_path / "from-env" / "x.db").is_file()


def test_read_commands_do_not_create_a_database(run, tmp_path):
    for args in (["search", "x"], ["author", "x"], ["top"], ["db", "info"]):
        result = run(*args)
        assert result.code == 1
        assert "there is no database at" in _one_error_line(result)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "args", [["search", "x"], ["db", "info"], ["import", OWN / "digests" / "2024-03-04.md"]]
)
def test_a_database_newer_than_the_code(run, tmp_path, args):
    path = tmp_path / "future.db"
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA user_version = 999")
    result = run(*args, "--db", path)
    assert result.code == 1
    assert "schema version 999" in _one_error_line(result)


def test_a_file_that_is_not_a_database(run, tmp_path):
    path = tmp_path / "notes.db"
    path.write_text("not sqlite at all\n" * 100, encoding="utf-8")
    result = run("db", "info", "--db", path)
    assert result.code == 1
    assert _one_error_line(result) == f"paperboy: error: database {path}: file is not a database"


def test_a_database_folder_that_cannot_be_created(run, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("", encoding="utf-8")
    result = run("import", OWN / "digests" / "2024-03-04.md", "--db", blocker / "x.db")
    assert result.code == 1
    assert "cannot create the folder of the database" in _one_error_line(result)


STORED = "2403.01001"  # in tests/fixtures/digests/2024-03-04.md
READ_COMMANDS = [
    ["search", "summarizers"],
    ["search", "summarizers", "--page", "99"],
    ["author", "mina park", "--json"],
    ["show", STORED],
    ["top", "--days", "2"],
    ["export", "--date", "2024-03-04"],
    ["export", "--date", "2024-03-05", "--json"],
    ["db", "info"],
]
LONG_AGO = 1_000_000_000  # 2001-09-09: set as mtime, so that any write shows as a new mtime


def _digest_store(run, folder: Path) -> Path:
    folder.mkdir(exist_ok=True)
    path = folder / "papers.db"
    assert run("import", OWN / "digests" / "2024-03-04.md", "--db", path).code == 0
    return path


def _files(folder: Path) -> dict[str, tuple[bytes, int]]:
    """Every file of the folder with its bytes and mtime, and the folder's own mtime."""
    files = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in sorted(folder.iterdir())}
    return {**files, ".": (b"", folder.stat().st_mtime_ns)}


def _backdate(folder: Path) -> None:
    for path in [*folder.iterdir(), folder]:
        os.utime(path, (LONG_AGO, LONG_AGO))


@pytest.mark.parametrize("args", READ_COMMANDS, ids=" ".join)
def test_read_commands_never_write(run, tmp_path, args):
    folder = tmp_path / "data"
    path = _digest_store(run, folder)
    assert sorted(p.name for p in folder.iterdir()) == ["papers.db"]  # no -wal left behind
    _backdate(folder)
    before = _files(folder)
    result = run(*args, "--db", path)
    assert result.code == 0, result.err
    assert result.out
    # Same bytes, same mtimes: nothing written, and no -wal, -shm or -journal made (and removed).
    assert _files(folder) == before


@pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
def test_read_commands_in_a_read_only_folder(run, tmp_path):
    if os.geteuid() == 0:
        pytest.skip("running as root: chmod does not stop root from writing")
    folder = tmp_path / "data"
    path = _digest_store(run, folder)
    path.chmod(0o444)
    folder.chmod(0o555)
    try:
        for args in READ_COMMANDS:
            result = run(*args, "--db", path)
            assert result.code == 0, (args, result.err)
        assert sorted(p.name for p in folder.iterdir()) == ["papers.db"]
        refused = run("import", OWN / "digests" / "2024-03-04.md", "--db", path)
        assert refused.code == 1
        assert "readonly database (the file or its folder is not writable)" in _one_error_line(
            refused
        )
    finally:
        folder.chmod(0o755)
        path.chmod(0o644)


@pytest.mark.parametrize("args", READ_COMMANDS, ids=" ".join)
def test_an_empty_file_is_not_a_database(run, tmp_path, args):
    path = tmp_path / "empty.db"
    path.touch()
    result = run(*args, "--db", path)
    assert result.code == 1
    assert _one_error_line(result) == (
        f"paperboy: error: {path} is not a paperboy database (the file is empty)"
    )
    assert path.stat().st_size == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty.db"]


def test_another_programs_database_is_not_a_paperboy_database(run, tmp_path):
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE notes (body TEXT)")
    conn.close()
    result = run("search", "x", "--db", path)
    assert result.code == 1
    assert "is not a paperboy database (it has no paperboy schema)" in _one_error_line(result)


def test_a_writing_command_makes_an_empty_file_a_database(run, tmp_path):
    path = tmp_path / "empty.db"
    path.touch()
    assert run("import", OWN / "digests" / "2024-03-04.md", "--db", path).code == 0
    assert run("show", STORED, "--db", path, "--json").json()["id"] == STORED


def test_an_older_schema_is_read_after_db_migrate(run, tmp_path):
    *older, _ = migrations()
    if not older:
        pytest.skip("only one migration: no older schema to make")
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    for version, _, sql in older:
        conn.executescript(sql)
        conn.execute(f"PRAGMA user_version = {version}")
    conn.close()
    old, latest = len(older), len(older) + 1
    before = path.read_bytes()

    for args in (["search", "x"], ["db", "info"]):
        result = run(*args, "--db", path)
        assert result.code == 1
        assert _one_error_line(result) == (
            f"paperboy: error: the database {path} is at schema version {old} and this "
            f"paperboy uses {latest}; run 'paperboy db migrate' to upgrade it (the commands "
            "that only read never change the database)"
        )
    assert path.read_bytes() == before

    migrated = run("db", "migrate", "--db", path, "--json")
    assert migrated.code == 0, migrated.err
    assert migrated.json() == {"path": str(path), "schema_version": latest, "previous_version": old}
    assert run("db", "info", "--db", path, "--json").json()["schema_version"] == latest
    again = run("db", "migrate", "--db", path)
    assert again.code == 0
    assert again.out == f"{path}: schema version {latest}, up to date\n"


def test_db_migrate_needs_a_database(run, tmp_path):
    result = run("db", "migrate")
    assert result.code == 1
    assert "there is no database at" in _one_error_line(result)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "args", [["search", "x"], ["db", "info"], ["import", OWN / "digests" / "2024-03-04.md"]]
)
def test_a_database_path_that_is_a_folder_is_one_line(tmp_path, args):
    completed = _process(*args, "--db", tmp_path, cwd=tmp_path)
    assert completed.returncode == 2
    assert completed.stderr == (
        f"paperboy: error: the database {tmp_path} is a folder; give the path of a file, such as "
        f"{tmp_path / 'paperboy.db'}\n"
    )
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(not hasattr(socket, "AF_UNIX"), reason="needs Unix sockets")
@pytest.mark.parametrize(
    "args", [["db", "info"], ["top"], ["import", OWN / "digests" / "2024-03-04.md"]]
)
def test_a_database_file_that_cannot_be_opened_is_one_line(tmp_path, args):
    # A socket exists and is no folder, but SQLite cannot open it: the connection fails, and
    # aiosqlite's worker thread must not print a traceback after the error line.
    path = tmp_path / "s.db"
    with socket.socket(socket.AF_UNIX) as listening:
        listening.bind(str(path))
        completed = _process(*args, "--db", path, cwd=tmp_path)
    assert completed.returncode == 1
    assert completed.stderr == f"paperboy: error: database {path}: unable to open database file\n"


# arguments, settings and unexpected errors -------------------------------------------------


async def test_global_options_before_or_after_the_command(fetched, arun, tmp_path):
    db = tmp_path / "paperboy.db"
    after = await arun("search", "synthetic", "--json", "--db", db)
    before = await arun("--json", "--db", db, "search", "synthetic")
    assert after.code == before.code == 0
    assert after.json() == before.json() and len(after.json()) == 3


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "required: COMMAND"),
        (["frobnicate"], "invalid choice: 'frobnicate'"),
        (["search"], "required: TEXT"),
        (["top", "--limit", "0"], "argument --limit: expected a whole number from 1 to 100"),
        (["top", "--days", "many"], "argument --days"),
        (["search", "x", "--page", "-1"], "argument --page"),
        (["db"], "required: COMMAND"),
        (["export", "--date", "2024-01-01", "--format", "pdf"], "invalid choice: 'pdf'"),
    ],
)
def test_usage_errors_are_one_line(run, args, message):
    result = run(*args)
    assert result.code == 2
    assert message in _one_error_line(result)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["search", "--limt", "5"], "unrecognized arguments: --limt; did you mean --limit?"),
        (["search", "x", "--limit=5", "--pgae", "2"], "--pgae 2; did you mean --page?"),
        (["--jsno", "top"], "unrecognized arguments: --jsno; did you mean --json?"),
        (
            ["top", "--lmit", "3", "--dayz", "2"],
            "did you mean --limit for --lmit, --days for --dayz?",
        ),
        (["serch", "x"], "invalid choice: 'serch'; did you mean search? (choose from 'run',"),
        (["db", "inf"], "invalid choice: 'inf'; did you mean info?"),
        (["export", "--date", "2024-01-01", "--format", "jsno"], "did you mean json?"),
    ],
)
def test_mistyped_options_and_commands_get_a_suggestion(run, args, message):
    result = run(*args)
    assert result.code == 2
    assert message in _one_error_line(result)


@pytest.mark.parametrize(
    "args", [["search", "x", "--days", "2"], ["frobnicate"], ["top", "--vrebose-mode"]]
)
def test_no_suggestion_when_nothing_is_close(run, args):
    result = run(*args)
    assert result.code == 2
    assert "did you mean" not in _one_error_line(result)


def test_unknown_options_name_the_commands_help(run):
    line = _one_error_line(run("search", "x", "--limt", "5"))
    assert line.endswith("(see 'paperboy search --help')")


HEAVY = ("discord", "aiohttp", "httpx", "apscheduler", "aiosqlite", "rich", "dotenv")
IMPORTS_PROBE = """
import json, sys
from bot.cli import main

def heavy():
    return sorted({name.split(".")[0] for name in sys.modules} & set(HEAVY))

stages = {"import bot.cli": heavy()}
for args in (["--help"], ["--version"], ["search", "summarizers", "--json"],
             ["show", STORED, "--json"], ["search", "summarizers"]):
    code = main(args)
    assert code == 0, (args, code)
    stages[" ".join(args)] = heavy()
print("\\n" + json.dumps(stages))
"""


def test_commands_import_only_what_they_use(run, tmp_path):
    path = _digest_store(run, tmp_path / "data")
    probe = IMPORTS_PROBE.replace("HEAVY", repr(HEAVY)).replace("STORED", repr(STORED))
    env = {**os.environ, "PAPERBOY_DB": str(path)}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    completed = subprocess.run(
        [sys.executable, "-c", probe], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert completed.returncode == 0, completed.stderr
    assert "paperboy " in completed.stdout  # --version
    stages = json.loads(completed.stdout.splitlines()[-1])
    assert stages["import bot.cli"] == stages["--help"] == stages["--version"] == []
    # Reading the store: aiosqlite (and dotenv for the settings), no HTTP, no Discord, no rich.
    assert stages["search summarizers --json"] == ["aiosqlite", "dotenv"]
    assert stages[f"show {STORED} --json"] == ["aiosqlite", "dotenv"]
    assert stages["search summarizers"] == ["aiosqlite", "dotenv", "rich"]


def test_version(run):
    result = run("--version")
    assert result.code == 0
    assert result.out.startswith("paperboy ") and result.err == ""


def test_help(run):
    result = run("--help")
    assert result.code == 0
    for command in ("run", "fetch", "import", "export", "search", "author", "show", "top", "db"):
        assert command in result.out
    assert run("search", "--help").code == 0


def test_a_bad_setting_is_one_line(run, monkeypatch):
    monkeypatch.setenv("HTTP_TIMEOUT", "-3")
    result = run("db", "info")
    assert result.code == 2
    assert _one_error_line(result).startswith("paperboy: error: HTTP_TIMEOUT must be")


def test_unexpected_errors_are_one_line_unless_verbose(run, monkeypatch):
    assert run("import", OWN / "digests" / "2024-03-04.md").code == 0

    async def broken(db):
        raise RuntimeError("something nobody expected")

    monkeypatch.setattr(storage.papers, "store_info", broken)  # imported by the command
    result = run("db", "info")
    assert result.code == 1
    line = _one_error_line(result)
    assert "unexpected error: RuntimeError: something nobody expected" in line
    assert "run with --verbose for details" in line

    verbose = run("db", "info", "--verbose")
    assert verbose.code == 1
    assert "Traceback" in verbose.err and "something nobody expected" in verbose.err
    assert verbose.err_lines[-1].startswith("paperboy: error: unexpected error")


async def test_secrets_never_reach_the_output(fetched, arun, monkeypatch):
    monkeypatch.setenv("DISCORD_TOKEN", "very-secret-token")
    for args in (["search", "synthetic", "--verbose"], ["db", "info", "--verbose"]):
        result = await arun(*args)
        assert "very-secret-token" not in result.out + result.err
