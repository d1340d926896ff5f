"""`paperboy chart`: a stored paper's vote history as a PNG file, from a real SQLite store."""

from __future__ import annotations

import asyncio
import functools
import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cli_harness import isolate, run_in_thread

from bot.models import DailyList, Paper
from storage.db import open_store
from storage.member_votes import DOWN, UP, toggle_vote
from storage.papers import paper_key, save_daily_list, save_papers

ROOT = Path(__file__).resolve().parents[1]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PAPER = "2401.08541"
GUILD, OTHER_GUILD = 4242, 9999


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    isolate(tmp_path, monkeypatch)


@pytest.fixture
def arun(capsys):
    return functools.partial(run_in_thread, capsys)


@pytest.fixture
async def db(tmp_path) -> Path:
    """A store with PAPER listed 3 days ago, its upvotes growing since, and a quiet paper."""
    path = tmp_path / "paperboy.db"
    now = datetime.now(UTC)
    async with open_store(path) as store, store.write() as conn:
        for hours_ago, upvotes in ((72, 5), (48, 12), (30, 20), (2, 31)):
            paper = Paper(id=PAPER, title="Scalable Pre-training of AIM", upvotes=upvotes)
            day = (now - timedelta(days=3)).date()
            await save_daily_list(conn, DailyList(day, [paper]), now - timedelta(hours=hours_ago))
        await save_papers(conn, [Paper(id="2401.05555", title="Quiet")], now)
    return path


async def _vote(path: Path, guild: int, count: int, vote: int) -> None:
    async with open_store(path) as store, store.write() as conn:
        for user in range(count):
            at = datetime.now(UTC) - timedelta(hours=20 - user / 2)
            await toggle_vote(conn, guild, paper_key(PAPER), user, vote, at)


async def test_chart_writes_id_votes_png_here_and_says_where(db, arun, tmp_path):
    result = await arun("chart", PAPER)
    assert result.code == 0, result.err
    written = tmp_path / f"{PAPER}-votes.png"
    png = written.read_bytes()
    assert png.startswith(PNG_SIGNATURE) and len(png) <= 150 * 1024
    assert result.out == f"wrote {PAPER}-votes.png ({len(png) / 1024:.1f} KB, the last 30 days)\n"
    assert result.err == ""


async def _clear_of_a_window_step() -> None:
    """The chart's window ends at the clock rounded down to 10 minutes: two runs either side of
    a boundary draw different windows. Start well before the next one."""
    into = datetime.now(UTC).timestamp() % 600
    if into > 580:
        await asyncio.sleep(600 - into + 0.1)


async def test_the_png_changes_in_size_and_content_when_the_votes_do(db, arun, tmp_path):
    await _clear_of_a_window_step()
    out = tmp_path / "charts" / "votes.png"  # a folder that does not exist yet
    assert (await arun("chart", PAPER, "--guild", GUILD, "-o", out, "--json")).code == 0
    before = out.read_bytes()
    await _vote(db, OTHER_GUILD, 15, DOWN)  # another server's votes do not count
    assert (await arun("chart", PAPER, "--guild", GUILD, "-o", out)).code == 0
    assert out.read_bytes() == before

    await _vote(db, GUILD, 15, UP)
    result = await arun("chart", f"https://arxiv.org/abs/{PAPER}v2", "--guild", GUILD, "-o", out)
    assert result.code == 0, result.err
    after = out.read_bytes()
    assert after.startswith(PNG_SIGNATURE)
    assert after != before and len(after) != len(before)


async def test_json_output_and_days(db, arun, tmp_path):
    result = await arun("chart", PAPER, "--days", "1", "--guild", GUILD, "--json")
    assert result.code == 0, result.err
    data = json.loads(result.out)
    size = (tmp_path / f"{PAPER}-votes.png").stat().st_size
    assert data == {
        "id": PAPER,
        "path": f"{PAPER}-votes.png",
        "bytes": size,
        "days": 1,
        "guild": GUILD,
        "snapshots": 2,  # the count in force a day ago (20) and the change to 31
        "server_votes": 0,
    }


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["chart", "2401.09999"], 1, "paper 2401.09999 is not stored, so it has no vote history; "
         "'paperboy show 2401.09999' fetches it"),
        (["chart", "2401.05555"], 1, "2401.05555 has no vote history yet (no upvote snapshot); "
         "nothing was written"),
        (["chart", "../../etc"], 2, "is not an arXiv id"),
        (["chart", PAPER, "--days", "366"], 2, "expected a whole number from 1 to 365"),
        (["chart", PAPER, "--dyas", "3"], 2, "did you mean --days?"),
    ],
)  # fmt: skip
async def test_mistakes_are_one_line(db, arun, tmp_path, args, code, message):
    result = await arun(*args)
    assert result.code == code
    assert "Traceback" not in result.err and len(result.err.splitlines()) == 1
    assert result.err.startswith("paperboy: error: ") and message in result.err
    assert not list(tmp_path.glob("*.png"))


def test_without_a_database_it_says_so(tmp_path, capsys):
    from bot.cli import main

    assert main(["chart", PAPER]) == 1
    assert "there is no database at" in capsys.readouterr().err
    assert not (tmp_path / "paperboy.db").exists()


async def test_chart_only_reads_the_store_and_loads_no_discord(db, tmp_path):
    folder = db.parent / "store"
    folder.mkdir()
    db.rename(folder / db.name)
    before = sorted(p.name for p in folder.iterdir())
    probe = (
        "import sys\nfrom bot.cli import main\n"
        f"code = main(['chart', {PAPER!r}, '--db', {str(folder / db.name)!r}])\n"
        "print(code, 'discord' in sys.modules, 'matplotlib' in sys.modules)"
    )
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "PYTHONPATH": path}
    done = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-c", probe],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.stdout.split()[-3:] == ["0", "False", "True"], done.stderr
    assert sorted(p.name for p in folder.iterdir()) == before  # no -wal, no -shm
    assert (tmp_path / f"{PAPER}-votes.png").read_bytes().startswith(PNG_SIGNATURE)
