"""`paperboy summarize` and `paperboy export --lang`, end to end: a real SQLite file, the fake
OpenAI-compatible server on loopback (tests/fake_openai.py, through test_summaries_e2e's
per-paper ``Model``), and `main()` run in a worker thread (it starts its own event loop) while
the fake answers from the test's loop.
"""

from __future__ import annotations

import functools
from datetime import UTC, date, datetime

import pytest
from cli_harness import isolate, run_in_thread
from test_summaries_e2e import Model, en_bullets, ko_bullets

from bot.models import DailyList, Paper
from bot.sources.digest_md import parse_digest
from storage.db import open_store
from storage.papers import get_paper, save_daily_list
from storage.summaries import model_source

KEY = "sk-cli-0f1e2d3c4b-never-printed"
MODEL = "qwen3:8b"
SOURCE = model_source(MODEL, 1)
DAY = "2024-03-04"
NEXT = "2024-03-05"
NUMBERS = (101, 102, 103)


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    isolate(tmp_path, monkeypatch)


@pytest.fixture
def arun(capsys):
    """`paperboy ARGS...` in-process, from an async test (see cli_harness.run_in_thread)."""
    return functools.partial(run_in_thread, capsys)


@pytest.fixture
async def model(monkeypatch):
    async with Model() as running:
        monkeypatch.setenv("LLM_BASE_URL", running.url)
        monkeypatch.setenv("LLM_MODEL", MODEL)
        monkeypatch.setenv("LLM_API_KEY", KEY)
        monkeypatch.setenv("LLM_TIMEOUT", "5")
        monkeypatch.setenv("LLM_CONCURRENCY", "4")
        yield running


def paper(n: int) -> Paper:
    return Paper(
        id=f"2401.{n:05d}",
        title=f"Paper number {n} about diffusion",
        abstract=f"Abstract of paper {n}. It has two sentences.",
        authors=[f"Author {n}"],
        upvotes=200 - n,
    )


@pytest.fixture
async def stored(tmp_path):
    """Papers 101-103 listed on DAY, and 103 (again) and 104 on NEXT."""
    async with open_store(tmp_path / "paperboy.db") as store, store.write() as conn:
        at = datetime(2024, 3, 6, tzinfo=UTC)
        await save_daily_list(
            conn, DailyList(date.fromisoformat(DAY), [paper(n) for n in NUMBERS]), at
        )
        await save_daily_list(
            conn, DailyList(date.fromisoformat(NEXT), [paper(103), paper(104)]), at
        )
    return tmp_path / "paperboy.db"


def statuses(rows: list[dict]) -> dict[tuple[str, str], str]:
    return {(row["id"], row["language"]): row["status"] for row in rows}


async def test_summarize_makes_then_caches(stored, model, arun):
    first = await arun("summarize", "--date", DAY, "--lang", "ko", "--lang", "en", "--json")
    assert first.code == 0, first.err
    rows = first.json()
    assert [(row["day"], row["id"], row["language"]) for row in rows] == [
        (DAY, f"2401.{n:05d}", language) for n in NUMBERS for language in ("ko", "en")
    ]
    assert {row["status"] for row in rows} == {"made"}
    assert all(row["source"] == SOURCE and row["reason"] is None for row in rows)
    assert sum(row["calls"] for row in rows) == 6
    assert model.calls() == 6
    assert model.calls(language="Korean") == model.calls(language="English") == 3
    assert all(r.headers["Authorization"] == f"Bearer {KEY}" for r in model.completions)

    async with open_store(stored, read_only=True) as store:
        found = await get_paper(store.reader, "2401.00101")
    by_language = {s.language: s for s in found.summaries if s.source == SOURCE}
    assert by_language["ko"].bullets == ko_bullets(101)
    assert by_language["en"].bullets == en_bullets(101)

    # The second run asks nothing: every pair is stored for this model and prompt.
    second = await arun("summarize", "--date", DAY, "--lang", "ko", "--lang", "en", "--verbose")
    assert second.code == 0, second.err
    assert model.calls() == 6
    assert "6 cached" in second.out and "0 made" in second.out
    assert KEY not in second.out + second.err + first.out + first.err


async def test_force_asks_again(stored, model, arun):
    assert (await arun("summarize", "--date", DAY, "--lang", "ko")).code == 0
    assert model.calls() == 3
    forced = await arun("summarize", "--date", DAY, "--lang", "ko", "--force", "--json")
    assert forced.code == 0, forced.err
    assert set(statuses(forced.json()).values()) == {"made"}
    assert model.calls() == 6


async def test_a_fallback_is_reported_and_not_asked_again_today(stored, model, arun):
    model.faults[102] = "wrong-language"  # English bullets for the Korean request
    first = await arun("summarize", "--date", DAY, "--lang", "ko", "--json")
    assert first.code == 1
    rows = {row["id"]: row for row in first.json()}
    assert rows["2401.00102"]["status"] == "fallback"
    assert rows["2401.00102"]["reason"] == "the answer failed the checks"
    assert rows["2401.00102"]["calls"] == 2  # asked again once with the reasons
    assert rows["2401.00101"]["status"] == rows["2401.00103"]["status"] == "made"
    assert "1 of 3 summaries fell back" in first.err
    assert model.calls() == 4

    # Not asked again the same UTC day, with the recorded reason; --force asks again.
    again = await arun("summarize", "--date", DAY, "--lang", "ko", "--verbose")
    assert again.code == 0, again.err
    assert model.calls() == 4
    assert "2 cached, 1 skipped, 0 fallback" in again.out
    assert "2401.00102 ko: skipped: fell back earlier today (the answer failed the checks)" in (
        " ".join(again.out.split())
    )
    model.faults.clear()
    forced = await arun("summarize", "--date", DAY, "--lang", "ko", "--force", "--json")
    assert forced.code == 0
    assert set(statuses(forced.json()).values()) == {"made"}
    assert model.calls() == 7


async def test_a_range_counts_a_paper_on_its_first_day(stored, model, arun):
    result = await arun("summarize", "--date", DAY, "--to", "2024-03-06", "--lang", "ko")
    assert result.code == 0, result.err
    lines = [" ".join(line.split()) for line in result.out.splitlines()]
    assert f"{DAY} 3 3 0 0 0 ok" in lines
    assert f"{NEXT} 1 (+1 earlier) 1 0 0 0 ok" in lines
    assert "2024-03-06 0 0 0 0 0 no papers stored" in lines
    assert "3 days, 4 papers × 1 language (ko): 4 made, 0 cached, 0 skipped, 0 fallback" in (
        result.out
    )
    assert model.calls() == 4


async def test_an_unreachable_model_stops_the_run(stored, arun, monkeypatch):
    monkeypatch.setenv("LLM_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("LLM_MODEL", MODEL)
    monkeypatch.setenv("LLM_CONCURRENCY", "1")
    result = await arun("summarize", "--date", DAY, "--lang", "ko", "--json")
    assert result.code == 1
    assert "could not connect to the model" in result.err
    assert "made" not in {row["status"] for row in result.json()}


async def test_without_a_model_it_says_so(stored, arun):
    result = await arun("summarize", "--date", DAY, "--lang", "ko")
    assert result.code == 2
    assert result.err.count("\n") == 1 and "LLM_BASE_URL" in result.err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--date", DAY, "--lang", "korean!"], "is not a language code"),
        (["--date", DAY], "--lang"),
        (["--date", NEXT, "--to", DAY, "--lang", "ko"], "is before --date"),
        (["--date", "2020-01-01", "--to", "2021-12-31", "--lang", "ko"], "at most 366"),
    ],
)
async def test_usage_errors(stored, model, arun, args, message):
    result = await arun("summarize", *args)
    assert result.code == 2
    assert message in result.err
    assert model.calls() == 0


async def test_nothing_stored_in_the_range(stored, model, arun):
    result = await arun("summarize", "--date", "2030-01-01", "--lang", "ko")
    assert result.code == 1
    assert "no papers stored on 2030-01-01" in result.err


async def test_export_lang_round_trips_the_bullets(stored, model, arun, tmp_path):
    assert (await arun("summarize", "--date", DAY, "--lang", "ko", "--lang", "en")).code == 0
    for language, bullets in (("ko", ko_bullets), ("en", en_bullets)):
        exported = await arun("export", "--date", DAY, "--lang", language)
        assert exported.code == 0, exported.err
        assert exported.err == ""  # every paper has one
        (daily,) = parse_digest(exported.out)
        assert [p.id for p in daily.papers] == [f"2401.{n:05d}" for n in NUMBERS]
        for n, again in zip(NUMBERS, daily.papers, strict=True):
            assert [s.bullets for s in again.summaries] == [bullets(n)]
            assert again.summaries[0].language == language

    # Through `paperboy import` into another store: the same digest again.
    exported = await arun("export", "--date", DAY, "--lang", "ko")
    path = tmp_path / "ko.md"
    path.write_text(exported.out, encoding="utf-8")
    other = tmp_path / "other.db"
    assert (await arun("import", path, "--db", other)).code == 0
    again = await arun("export", "--date", DAY, "--lang", "ko", "--db", other)
    assert again.out == exported.out
    as_json = await arun("export", "--date", DAY, "--lang", "ko", "--json")
    assert [p["summaries"] for p in as_json.json()] == [
        [{"language": "ko", "source": SOURCE, "bullets": ko_bullets(n)}] for n in NUMBERS
    ]


async def test_export_a_language_with_nothing_stored(stored, arun, tmp_path):
    result = await arun("export", "--date", DAY, "--lang", "ja")
    assert result.code == 0
    (daily,) = parse_digest(result.out)
    assert [p.summaries for p in daily.papers] == [[], [], []]
    assert not any(line.startswith("- ") for line in result.out.splitlines())
    assert "3 of 3 papers of 2024-03-04 have no ja summary" in result.err
    # The abstract's sentences are not written as bullets: importing this stores no summary.
    path = tmp_path / "ja.md"
    path.write_text(result.out, encoding="utf-8")
    other = tmp_path / "other.db"
    assert (await arun("import", path, "--db", other)).code == 0
    async with open_store(other, read_only=True) as store:
        found = await get_paper(store.reader, "2401.00101")
    assert found.summaries == []
