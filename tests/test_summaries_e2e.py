"""Model-written summaries end to end: the real bot against the fake Discord, the loopback
Hugging Face server and the fake OpenAI-compatible server (tests/fake_openai.py), with time
given by the test. Also the planning of which (paper, language) pairs are written (pure).
"""

from __future__ import annotations

import asyncio
import logging
import re
import socket
import subprocess
import sys
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import time, timedelta
from pathlib import Path

import pytest
from aiohttp import web
from e2e_settings import TOKEN, digest_settings
from fake_discord import FakeDiscord, FakeGuild, FakeUser, Perm
from fake_openai import Answer, FakeOpenAI
from http_fixture_server import serve_loopback
from test_digest_e2e import DAY, DAY_END, Clock, World, bot_running, complete_day

from bot.ingest import IngestReport
from bot.models import DailyList, Paper, Summary
from bot.render import paper_card
from bot.summaries.providers import AbstractProvider, HfProvider, OpenAIProvider
from bot.summaries.service import SummaryService, plan_pairs
from storage.days import DayState
from storage.db import open_store
from storage.papers import get_paper, paper_key, papers_on_day, save_daily_list, save_papers
from storage.subscriptions import Subscription, save_subscription
from storage.summaries import (
    attempts_of,
    model_of_source,
    model_source,
    record_attempt,
    save_summary,
)

KEY = "sk-e2e-4b3a2f1e0d-never-in-a-log"
MODEL = "qwen3:8b"
SOURCE = model_source(MODEL, 1)


def ko_bullets(n: int) -> list[str]:
    return [
        f"논문 {n}번은 확산 모델에 관한 연구입니다.",
        "초록은 두 문장으로 구성되어 있습니다.",
        "저자들은 새로운 방법을 제안합니다.",
        "이 연구는 확산 모델의 성능을 다룹니다.",
        "자세한 내용은 논문을 참고하십시오.",
    ]


def en_bullets(n: int) -> list[str]:
    return [
        f"Paper {n} is a study about diffusion.",
        "The abstract has two sentences in total.",
        "The authors propose a new method here.",
        "The work is about diffusion models.",
        "Read the paper for the details.",
    ]


class Model(FakeOpenAI):
    """The fake server answering each request for its paper and language: good bullets, or what
    `faults` says for a paper number (an Answer, or "wrong-language")."""

    def __init__(self) -> None:
        super().__init__()
        self.faults: dict[int, Answer | str] = {}

    def calls(self, n: int | None = None, language: str | None = None) -> int:
        return sum(
            1
            for r in self.completions
            if (n is None or f"Paper number {n} " in r.text)
            and (language is None or f"Bullets in {language}" in r.text)
        )

    async def _handle(self, request: web.Request):  # type: ignore[override]
        text = (await request.read()).decode()  # cached: the base class reads it again
        found = re.search(r"Paper number (\d+) ", text)
        n = int(found[1]) if found else 0
        korean = "Bullets in Korean" in text
        fault = self.faults.get(n)
        if isinstance(fault, Answer):
            answer = fault
        elif fault == "wrong-language" or not korean:
            answer = Answer.bullets(en_bullets(n))
        else:
            answer = Answer.bullets(ko_bullets(n))
        self.script(answer)
        return await super()._handle(request)

    async def start_on(self, port: int) -> None:
        """Listen on `port` (a model that comes back where it was configured)."""
        self._runner, base = await serve_loopback(self._handle, port)
        self.url = f"{base}/v1"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def make_world(fake, guild, server, tmp_path, url: str, **extra: str) -> World:
    admin = guild.admin  # set by make_guild
    settings = digest_settings(
        tmp_path, fake, server, guild,
        LLM_BASE_URL=url, LLM_MODEL=MODEL, LLM_API_KEY=KEY, LLM_TIMEOUT="5",
        LLM_CONCURRENCY="4", **{"POST_CHECK_SECONDS": "60", **extra},
    )  # fmt: skip
    return World(fake, guild, admin, admin, Clock(DAY_END - timedelta(hours=1)), server, settings)


def make_guild(channels: list[str]) -> FakeGuild:
    guild = FakeGuild.create("Papers HQ", channels=["general", *channels])
    admins = guild.add_role("Admins", Perm.MANAGE_GUILD)
    guild.admin = guild.add_member(FakeUser.create("alice"), roles=[admins]).user
    return guild


@pytest.fixture
async def model():
    async with Model() as running:
        yield running


async def settle(world: World) -> None:
    """Wait for the summaries the last ingest round started."""
    await asyncio.wait_for(world.services.summaries.idle(), 30)


async def ingest(world: World, hours: float) -> None:
    await world.ingest_at(hours)
    await settle(world)


def descriptions(world: World, channel: str) -> list[str]:
    return [e.get("description", "") for m in world.posted(channel) for e in m["embeds"]]


# --- end to end -------------------------------------------------------------------------------


async def test_a_korean_and_an_english_channel_get_their_own_bullets(
    tmp_path, server, discord_endpoints, model, caplog
):
    caplog.set_level(logging.DEBUG)
    guild = make_guild(["seoul"])
    async with FakeDiscord(guilds=[guild], token=TOKEN) as fake:
        world = make_world(fake, guild, server, tmp_path, model.url)
        async with bot_running(world):
            await fake.wait_for_sync(guild)
            await world.subscribe("seoul", "09:00", "UTC", language="ko")
            await world.subscribe("general", "09:00", "UTC")  # en
            await complete_day(world, 3)
            await settle(world)
            await world.post_at(9.0)
            seoul, general = descriptions(world, "seoul"), descriptions(world, "general")
    assert len(seoul) == len(general) == 3
    for n, (ko, en) in enumerate(zip(seoul, general, strict=True), 101):
        assert ko.startswith(f"**요약 (한국어, {MODEL} 작성)**")
        assert ko_bullets(n)[0] in ko and "Paper number" not in ko
        assert en.startswith(f"**Summary (English, written by {MODEL})**")
        assert en_bullets(n)[0] in en
    assert model.calls() == 6  # 3 papers x 2 languages
    assert model.calls(language="Korean") == model.calls(language="English") == 3
    # The key went in the Authorization header, and nowhere in the log.
    assert all(r.headers["Authorization"] == f"Bearer {KEY}" for r in model.completions)
    assert any("Abstract of paper 101." in r.text for r in model.completions)
    assert KEY not in caplog.text
    assert any("summary of 2401.00101 in ko stored" in r.getMessage() for r in caplog.records)


async def test_ten_channels_cost_one_call_per_paper_and_language_and_a_restart_none(
    tmp_path, server, discord_endpoints, model
):
    names = [f"c{i}" for i in range(10)]
    guild = make_guild(names)
    async with FakeDiscord(guilds=[guild], token=TOKEN) as fake:
        world = make_world(fake, guild, server, tmp_path, model.url)
        async with bot_running(world):
            await fake.wait_for_sync(guild)
            for name in names:
                await world.subscribe(name, "09:00", "UTC", language="ko", top=3)
            await complete_day(world, 5)  # top 3 of 5: three papers to write
            await settle(world)
            assert model.calls() == 3
            await world.post_at(9.0)
            await ingest(world, 9.5)  # a second round: all stored
            assert model.calls() == 3
            for name in names:
                cards = descriptions(world, name)
                assert len(cards) == 3 and all(f"{MODEL} 작성" in c for c in cards)
        world.clock.at(10.0)
        async with bot_running(world):  # a restart: the start-up round finds them stored
            await settle(world)
            await ingest(world, 10.5)
        assert model.calls() == 3
        assert {model.calls(n) for n in (101, 102, 103)} == {1}


async def test_a_failing_answer_gets_the_fallback_and_is_not_asked_again_that_day(
    tmp_path, server, discord_endpoints, model
):
    model.faults = {102: Answer.error(500), 103: "wrong-language"}
    guild = make_guild(["seoul"])
    async with FakeDiscord(guilds=[guild], token=TOKEN) as fake:
        world = make_world(fake, guild, server, tmp_path, model.url)
        async with bot_running(world):
            await fake.wait_for_sync(guild)
            await world.subscribe("seoul", "09:00", "UTC", language="ko")
            await complete_day(world, 3)
            await settle(world)
            # 500: the client's own two retries, then the fallback; wrong language: asked again
            # once with the reason, then the fallback.
            assert (model.calls(101), model.calls(102), model.calls(103)) == (1, 3, 2)
            await world.post_at(9.0)
            first, second, third = descriptions(world, "seoul")
            assert first.startswith(f"**요약 (한국어, {MODEL} 작성)**")
            for card in (second, third):  # Hugging Face's line, labelled as such
                assert card.startswith("**AI 요약 (Hugging Face) · ")
                assert f"{MODEL} 작성" not in card
            await ingest(world, 12.0)
            await ingest(world, 23.5)
            assert (model.calls(102), model.calls(103)) == (3, 2)  # not again that UTC day
            async with open_store(world.settings.database_path) as store:
                tried = await attempts_of(store.reader, paper_key("2401.00102"))
            assert [(lang, source, reason) for lang, source, _, reason in tried] == [
                ("ko", SOURCE, "the model answered HTTP 500")
            ]
            model.faults = {}
            await ingest(world, 24.5)  # the next UTC day: asked again, and they pass
            assert (model.calls(102), model.calls(103)) == (4, 3)
            assert model.calls(101) == 1


async def test_a_model_down_at_post_time_is_edited_in_when_it_is_back(
    tmp_path, server, discord_endpoints
):
    port = free_port()  # nothing listens there yet
    guild = make_guild(["seoul"])
    model = Model()
    async with FakeDiscord(guilds=[guild], token=TOKEN) as fake:
        world = make_world(fake, guild, server, tmp_path, f"http://127.0.0.1:{port}/v1")
        async with bot_running(world):
            await fake.wait_for_sync(guild)
            await world.subscribe("seoul", "09:00", "UTC", language="ko")
            await complete_day(world, 2)
            await settle(world)
            assert world.services.summaries.stats.unreachable >= 1
            await world.post_at(9.0)  # on time, with the fallback
            cards = world.posted("seoul")[1:]
            assert all(
                e["description"].startswith("**AI 요약 (Hugging Face) · 한국어 요약 준비 중**")
                for m in cards
                for e in m["embeds"]
            )
            try:
                await model.start_on(port)
                await ingest(world, 9.5)  # written now; this round's refresh ran before
                assert model.calls() == 2
                await ingest(world, 10.0)  # the next round's refresh edits them in
                edited = [fake.message(m["id"]) for m in cards]
                assert all(m["edited_timestamp"] for m in edited)
                texts = [e["description"] for m in edited for e in m["embeds"]]
                assert [t.split("\n")[0] for t in texts] == [f"**요약 (한국어, {MODEL} 작성)**"] * 2
                assert ko_bullets(101)[0] in texts[0] and ko_bullets(102)[0] in texts[1]
                assert model.calls() == 2
            finally:
                await model.__aexit__(None, None, None)


async def test_the_abstract_provider_runs_no_service(tmp_path, server, discord_endpoints):
    guild = make_guild([])
    async with FakeDiscord(guilds=[guild], token=TOKEN) as fake:
        world = make_world(fake, guild, server, tmp_path, "", SUMMARY_PROVIDER="abstract")
        async with bot_running(world):
            assert world.services.summaries is None
            assert world.services.ingest.listeners == [world.jobs]


async def test_the_service_listens_before_the_digest(tmp_path, server, discord_endpoints, model):
    guild = make_guild([])
    async with FakeDiscord(guilds=[guild], token=TOKEN) as fake:
        world = make_world(fake, guild, server, tmp_path, model.url)
        async with bot_running(world):
            assert world.services.ingest.listeners == [world.services.summaries, world.jobs]


# --- planning (pure) --------------------------------------------------------------------------


def paper(n: int, upvotes: int) -> Paper:
    return Paper(id=f"2401.{n:05d}", title=f"Paper {n}", abstract="A.", upvotes=upvotes)


def sub(channel: int, language: str | None, top: int | None = None, min_votes: int = 0):
    return Subscription(channel, 1, time(9), "UTC", top=top, min_votes=min_votes, language=language)


def ids(pairs) -> list[tuple[str, str]]:
    return [(p.id[-3:], language) for p, language in pairs]


def test_the_plan_takes_each_channels_papers_once_per_language():
    day = {DAY: [paper(1, 50), paper(2, 20), paper(3, 5)]}
    subs = [
        sub(1, "ko", top=1),
        sub(2, "ko", top=2),  # the same language with other filters: the union
        sub(3, "en", min_votes=10),
        sub(4, "en", min_votes=10),  # a second channel adds nothing
        sub(5, None),  # any language: nothing to write
        sub(6, "KO", top=1),  # the same language, spelled otherwise
    ]
    assert ids(plan_pairs(day, subs, "openai")) == [
        ("001", "en"), ("001", "ko"), ("002", "en"), ("002", "ko"),
    ]  # fmt: skip
    assert ids(plan_pairs(day, subs, "hf")) == [("001", "en"), ("002", "en")]
    assert plan_pairs(day, subs, "abstract") == []
    assert plan_pairs(day, [sub(5, None)], "openai") == []


def test_the_plan_puts_the_newest_day_first():
    days = {DAY: [paper(1, 9)], DAY - timedelta(days=1): [paper(7, 9)]}
    assert ids(plan_pairs(days, [sub(1, "ja")], "openai")) == [("001", "ja"), ("007", "ja")]


def test_model_sources_name_model_and_prompt():
    assert SOURCE == "model:qwen3:8b:p1"
    assert model_of_source(SOURCE) == MODEL
    assert model_of_source(model_source("gpt-4o-mini", 12)) == "gpt-4o-mini"
    for other in ("digest", "hf_ai", "abstract", "model:", "model:x:pz", "model::p1"):
        assert model_of_source(other) is None


async def test_the_newest_summary_of_a_language_is_shown(tmp_path):
    async with open_store(tmp_path / "s.db") as store:
        imported = Paper(
            id="2401.00001", title="T", abstract="A.",
            summaries=[Summary("ko", "digest", ["가져온 요약입니다."])],
        )  # fmt: skip
        async with store.write() as conn:
            await save_papers(conn, [imported], DAY_END)
            await save_summary(
                conn, paper_key(imported.id), "ko", SOURCE, ["모델의 요약입니다."],
                DAY_END + timedelta(hours=1),
            )  # fmt: skip
            await record_attempt(
                conn, paper_key(imported.id), "en", SOURCE, DAY_END, "the model answered HTTP 500"
            )
        stored = await get_paper(store.reader, imported.id)
        assert [s.source for s in stored.summaries] == [SOURCE, "digest"]
        card = paper_card(stored, language="ko")
        assert card.description.startswith(f"**Summary (Korean, written by {MODEL})**")
        assert "모델의 요약입니다." in card.description
        tried = await attempts_of(store.reader, paper_key(imported.id))
        assert [(lang, reason) for lang, _, _, reason in tried] == [
            ("en", "the model answered HTTP 500")
        ]
        # The model's bullets are searchable like imported ones.
        rows = await store.reader.execute_fetchall(
            "SELECT summary FROM paper_fts WHERE rowid = ?", (paper_key(imported.id),)
        )
        assert "모델의" in rows[0][0]


# --- the service without Discord ----------------------------------------------------------------


def day_list(count: int) -> DailyList:
    return DailyList(
        DAY,
        [
            Paper(
                id=f"2401.{n:05d}", title=f"Paper number {n} about diffusion",
                abstract=f"Abstract of paper {n}. It has two sentences.", upvotes=200 - n,
                ai_summary=f"Paper {n} in one line." if n != 102 else None,
            )
            for n in range(101, 101 + count)
        ],
    )  # fmt: skip


@asynccontextmanager
async def store_with_day(tmp_path, count: int, *languages: str | None):
    """A store holding DAY's list and a subscription per language; yields (store, report)."""
    async with open_store(tmp_path / "service.db") as store:
        async with store.write() as conn:
            await save_daily_list(conn, day_list(count), DAY_END)
            for channel, language in enumerate(languages, 1):
                await save_subscription(conn, replace(sub(channel, language), created_at=DAY_END))
        state = DayState(DAY, count, 2, DAY_END, complete_at=DAY_END, settled=True)
        yield store, IngestReport(DAY_END + timedelta(hours=1), {DAY: state})


async def test_the_hf_provider_stores_english_only(tmp_path):
    async with store_with_day(tmp_path, 2, "en", "ko", None) as (store, report):
        service = SummaryService(store, HfProvider(), lambda: report.now)
        await service.papers_ingested(report)
        await service.idle()
        first, second = await papers_on_day(store.reader, DAY)
        assert [(s.language, s.source, s.bullets) for s in first.summaries] == [
            ("en", "hf_ai", ["Paper 101 in one line."])
        ]
        assert second.summaries == []  # no Hugging Face summary: the attempt is recorded
        assert [a[:2] for a in await attempts_of(store.reader, paper_key(second.id))] == [
            ("en", "hf_ai")
        ]
        assert await service.plan(report) == []  # nothing left to do today


async def test_days_too_old_get_nothing(tmp_path):
    async with store_with_day(tmp_path, 2, "ko") as (store, report):
        service = SummaryService(store, HfProvider(), lambda: report.now)
        old = IngestReport(DAY_END + timedelta(days=3), report.days)
        openai_like = SummaryService(store, AbstractProvider(), lambda: report.now)
        assert await service.plan(old) == []
        assert await openai_like.plan(report) == []  # abstract: nothing to store
        assert await service.plan(report) == []  # hf and a ko channel: nothing either


class GatedProvider(HfProvider):
    """Hugging Face's provider that answers only once `gate` is open, recording what it was
    asked, in order (a slow model whose pace the test sets); `asked` is set at each request."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = asyncio.Event()
        self.asked = asyncio.Event()
        self.papers: list[str] = []

    async def summarize(self, paper, language, bullets):
        self.papers.append(paper.id[-3:])
        self.asked.set()
        await self.gate.wait()
        return await super().summarize(paper, language, bullets)


async def save_listed_day(store, day, numbers) -> None:
    papers = [
        Paper(id=f"2401.{n:05d}", title=f"Paper {n}", abstract="A.", upvotes=9,
              ai_summary=f"Paper {n} in one line.")
        for n in numbers
    ]  # fmt: skip
    async with store.write() as conn:
        await save_daily_list(conn, DailyList(day, papers), DAY_END)


async def test_a_day_still_listed_is_written_ahead_after_the_complete_ones(tmp_path):
    today = DAY + timedelta(days=1)
    async with store_with_day(tmp_path, 2, "en") as (store, report):
        await save_listed_day(store, today, [201, 202])
        listing = DayState(today, 2, 1, report.now, complete_at=None)
        provider = GatedProvider()
        service = SummaryService(store, provider, lambda: report.now, concurrency=1)
        both = IngestReport(report.now, {today: listing, **report.days})
        await service.papers_ingested(both)
        await asyncio.sleep(0)
        # The digest of the complete day waits only for its own papers, not today's.
        assert service.writing("en", DAY) and service.writing("en", today)
        provider.gate.set()
        await service.idle()
        assert not service.writing("en", DAY) and not service.writing("en")
        assert provider.papers == ["101", "102", "201", "202"]  # the complete day first
        for stored in await papers_on_day(store.reader, today):  # stored before it completes
            assert [s.source for s in stored.summaries] == ["hf_ai"]


async def test_a_complete_day_queued_later_goes_before_the_listed_days_queue(tmp_path):
    today = DAY + timedelta(days=1)
    async with store_with_day(tmp_path, 1, "en") as (store, report):
        await save_listed_day(store, today, [201, 202, 203])
        provider = GatedProvider()
        service = SummaryService(store, provider, lambda: report.now, concurrency=1)
        listing = DayState(today, 3, 1, report.now, complete_at=None)
        await service.papers_ingested(IngestReport(report.now, {today: listing}))
        await provider.asked.wait()  # 201 is being written
        await service.papers_ingested(report)  # then DAY completes
        provider.gate.set()
        await service.idle()
        assert provider.papers == ["201", "101", "202", "203"]


async def test_a_pair_stored_while_queued_costs_no_call(tmp_path):
    async with store_with_day(tmp_path, 2, "en") as (store, report):
        provider = GatedProvider()
        service = SummaryService(store, provider, lambda: report.now, concurrency=1)
        await service.papers_ingested(report)
        await provider.asked.wait()  # 101 is being written, 102 waits
        async with store.write() as conn:  # e.g. `paperboy summarize`, or another process
            await save_summary(conn, paper_key("2401.00102"), "en", "hf_ai", ["Kept."], DAY_END)
        provider.gate.set()
        await service.idle()
        assert provider.papers == ["101"]
        assert service.stats.skipped == 1 and service.stats.stored == 1
        second = await get_paper(store.reader, "2401.00102")
        assert [s.bullets for s in second.summaries] == [["Kept."]]


async def test_summarize_now_joins_the_write_in_flight(tmp_path):
    async with store_with_day(tmp_path, 1, "en") as (store, report):
        provider = GatedProvider()
        service = SummaryService(store, provider, lambda: report.now)
        await service.papers_ingested(report)
        await provider.asked.wait()
        (listed,) = await papers_on_day(store.reader, DAY)
        clicked = asyncio.create_task(service.summarize_now(listed, "en"))
        await asyncio.sleep(0)  # the click has started waiting
        provider.gate.set()
        result = await clicked
        await service.idle()
        assert provider.papers == ["101"] and result.bullets == ["Paper 101 in one line."]


async def test_a_click_while_a_worker_looks_the_pair_up_joins_it(tmp_path):
    async with store_with_day(tmp_path, 1, "en") as (store, report):
        provider = GatedProvider()
        provider.gate.set()
        service = SummaryService(store, provider, lambda: report.now)
        await service.papers_ingested(report)
        while service._queue:  # noqa: ASYNC110 - the worker has taken the job ...
            await asyncio.sleep(0)
        (listed,) = await papers_on_day(store.reader, DAY)
        result = await service.summarize_now(listed, "en")  # ... and is reading the store
        await service.idle()
        assert provider.papers == ["101"] and result.bullets == ["Paper 101 in one line."]


async def test_work_queued_while_the_cards_are_told_is_written_too(tmp_path):
    later = DAY + timedelta(days=1)
    async with store_with_day(tmp_path, 1, "en") as (store, report):
        await save_listed_day(store, later, [201])
        provider = GatedProvider()
        provider.gate.set()
        service = SummaryService(store, provider, lambda: report.now)
        telling, told = asyncio.Event(), asyncio.Event()

        async def slow_listener() -> None:  # the digest editing its cards
            telling.set()
            await told.wait()

        service.after_written.append(slow_listener)
        await service.papers_ingested(report)
        await telling.wait()  # the work is done and telling the cards: a round comes in
        state = DayState(later, 1, 2, report.now, complete_at=report.now, settled=True)
        await service.papers_ingested(IngestReport(report.now, {later: state}))
        told.set()
        await service.idle()
        assert provider.papers == ["101", "201"]
        assert not service.writing("en")


async def test_a_paper_on_a_complete_day_and_a_listed_one_is_the_complete_days(tmp_path):
    later = DAY + timedelta(days=1)
    async with store_with_day(tmp_path, 1, "en") as (store, report):
        await save_listed_day(store, later, [101])  # listed again the next day
        provider = GatedProvider()
        service = SummaryService(store, provider, lambda: report.now)
        listing = DayState(later, 1, 1, report.now, complete_at=None)
        planned = await service.plan(IngestReport(report.now, {later: listing, **report.days}))
        assert [(group, paper.id, day) for group, (paper, _, day) in planned] == [
            (0, "2401.00101", DAY)
        ]
        # Queued for the listed day first, then needed by the completed one: its digest waits.
        await service.papers_ingested(IngestReport(report.now, {later: listing}))
        await provider.asked.wait()
        assert service.writing("en", later) and not service.writing("en", DAY)
        await service.papers_ingested(report)
        assert service.writing("en", DAY)
        provider.gate.set()
        await service.idle()
        assert provider.papers == ["101"]


async def test_stop_cancels_a_clicks_write(tmp_path):
    async with store_with_day(tmp_path, 1, "en") as (store, report):
        provider = GatedProvider()
        service = SummaryService(store, provider, lambda: report.now)
        (listed,) = await papers_on_day(store.reader, DAY)
        clicked = asyncio.create_task(service.summarize_now(listed, "en"))
        await provider.asked.wait()
        await asyncio.wait_for(service.stop(), 2)
        with pytest.raises(asyncio.CancelledError):
            await clicked
        (stored,) = await papers_on_day(store.reader, DAY)
        assert stored.summaries == []


async def test_cards_are_told_while_a_long_run_goes_on_and_when_it_ends(tmp_path):
    async with store_with_day(tmp_path, 3, "en") as (store, report):
        provider = GatedProvider()
        provider.gate.set()
        service = SummaryService(
            store, provider, lambda: report.now, concurrency=1, notify_every=0.0
        )
        told: list[int] = []

        async def listener() -> None:
            told.append(service.stats.stored + service.stats.fell_back)

        service.after_written.append(listener)
        await service.papers_ingested(report)
        await service.idle()
        assert told[-1] == 3 and len(told) >= 2  # during the run, then once at its end
        slow = SummaryService(store, provider, lambda: report.now)
        slow.after_written.append(listener)
        told.clear()
        await slow.papers_ingested(IngestReport(report.now + timedelta(days=1), report.days))
        await slow.idle()
        assert told == []  # nothing new to write: nobody is told


async def test_stop_cancels_a_summary_in_flight(tmp_path, model, http):
    model.faults = {101: Answer.bullets(ko_bullets(101)).slow(30)}
    async with store_with_day(tmp_path, 1, "ko") as (store, report):
        provider = OpenAIProvider(base_url=model.url, model=MODEL, max_retries=0, http=http)
        service = SummaryService(store, provider, lambda: report.now)
        await service.papers_ingested(report)
        for _ in range(200):
            if model.in_flight:
                break
            await asyncio.sleep(0.01)
        assert model.in_flight == 1
        await asyncio.wait_for(service.stop(), 2)
        assert service._task is None
        (stored,) = await papers_on_day(store.reader, DAY)
        assert stored.summaries == []
        assert await attempts_of(store.reader, paper_key(stored.id)) == []


def test_the_openai_client_is_not_imported_without_a_model():
    code = (
        "import sys, bot.app, bot.cli, cogs.papers, cogs.digest, cogs.help\n"
        "print('openai' in sys.modules, 'bot.summaries.providers' in sys.modules)"
    )
    root = Path(__file__).resolve().parents[1]
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=root
    )
    assert done.stdout.split() == ["False", "False"]


# --- the grace before a digest ------------------------------------------------------------------


async def test_a_digest_waits_for_summaries_being_written_within_the_grace(
    tmp_path, server, discord_endpoints, model
):
    model.faults = {101: Answer.bullets(ko_bullets(101)).slow(0.5)}  # a slow answer
    guild = make_guild(["seoul"])
    async with FakeDiscord(guilds=[guild], token=TOKEN) as fake:
        world = make_world(fake, guild, server, tmp_path, model.url)
        async with bot_running(world):
            await fake.wait_for_sync(guild)
            await world.subscribe("seoul", "09:00", "UTC", language="ko")
            await world.subscribe("general", "09:00", "UTC", language="any")  # needs none
            await complete_day(world, 2)  # the model is still writing paper 101
            assert world.services.summaries.writing("ko")
            posted = await world.post_at(9.0)
            assert [p.channel_id for p in posted] == [world.channel("general").id]
            assert world.posted("seoul") == []  # waits, SUMMARY_GRACE_MINUTES at most
            await settle(world)
            await world.post_at(9.0 + 1 / 60)
            cards = descriptions(world, "seoul")
    assert len(cards) == 2 and all(c.startswith("**요약 (한국어, ") for c in cards)


async def test_past_the_grace_the_digest_goes_out_with_what_is_ready(
    tmp_path, server, discord_endpoints, model
):
    model.faults = {101: Answer.bullets(ko_bullets(101)).slow(1.0)}
    guild = make_guild(["seoul"])
    async with FakeDiscord(guilds=[guild], token=TOKEN) as fake:
        world = make_world(fake, guild, server, tmp_path, model.url, SUMMARY_GRACE_MINUTES="5")
        async with bot_running(world):
            await fake.wait_for_sync(guild)
            await world.subscribe("seoul", "09:00", "UTC", language="ko")
            await complete_day(world, 2)
            assert await world.post_at(9.0 + 3.5 / 60) == []  # within 5 minutes: waits
            # The last check within the grace (checks run every minute): posted as it is,
            # rather than one check after the grace.
            await world.post_at(9.0 + 4.5 / 60)
            first, _ = descriptions(world, "seoul")
            assert not first.startswith("**요약 (한국어, ")  # still being written
            await settle(world)  # ... and edited in once it is written, not a round later
            edited = world.fake.message(world.posted("seoul")[1]["id"])
    assert edited["embeds"][0]["description"].startswith(f"**요약 (한국어, {MODEL} 작성)**")
