"""/paper show in the member's language, and its "Summarize in <language>" button, end to end:
the real bot against the fake Discord, the loopback Hugging Face server and the fake
OpenAI-compatible server (tests/fake_openai.py), with the bot's clock moved by the test."""

from __future__ import annotations

from datetime import timedelta

import pytest
from e2e_settings import TOKEN, digest_settings
from fake_discord import FakeDiscord, FakeUser
from fake_openai import Answer
from test_digest_e2e import DAY_END, EPHEMERAL, Clock, World, bot_running, complete_day
from test_summaries_e2e import KEY, MODEL, SOURCE, Model, en_bullets, ko_bullets, make_guild
from test_summaries_e2e import make_world as model_world

from bot.summaries.button import locale_language
from storage.papers import paper_key
from storage.summaries import save_summary


@pytest.fixture
async def model():
    async with Model() as running:
        yield running


def guild_with_bob():
    guild = make_guild([])
    guild.bob = guild.add_member(FakeUser.create("bob")).user
    return guild


async def show(world: World, paper: str, *, locale: str = "ko", user=None):
    """/paper show in #general with `locale`; returns (interaction, the card message)."""
    interaction = await world.fake.slash(
        world.guild, world.channel("general"), user or world.admin, "paper",
        subcommand="show", options={"id": paper}, locale=locale,
    )  # fmt: skip
    await interaction.response()
    return interaction, await interaction.original()


def buttons(message: dict) -> list[str]:
    return [c["custom_id"] for row in message["components"] for c in row["components"]]


async def store_summary(world: World, paper: str, language: str, bullets: list[str]) -> None:
    async with world.services.store.write() as conn:
        await save_summary(
            conn, paper_key(paper), language, SOURCE, bullets, world.clock() - timedelta(hours=1)
        )


def test_discord_locales_map_to_the_stores_languages():
    assert locale_language("ko") == "ko"
    assert locale_language("en-US") == "en"
    assert locale_language("en-GB") == "en"
    assert locale_language("zh-TW") == "zh-tw"
    assert locale_language("zh-CN") == "zh"
    assert locale_language("pt-BR") == "pt"
    assert locale_language(None) is None


async def test_a_korean_member_sees_the_stored_korean_summary(
    tmp_path, server, discord_endpoints, model
):
    guild = guild_with_bob()
    async with FakeDiscord(guilds=[guild], token=TOKEN) as fake:
        world = model_world(fake, guild, server, tmp_path, model.url)
        async with bot_running(world):
            await fake.wait_for_sync(guild)
            await complete_day(world, 1)
            await store_summary(world, "2401.00101", "en", en_bullets(101))
            await store_summary(world, "2401.00101", "ko", ko_bullets(101))
            _, korean = await show(world, "2401.00101", locale="ko")
            _, english = await show(world, "2401.00101", locale="en-US", user=guild.bob)
    card = korean["embeds"][0]["description"]
    assert card.startswith(f"**요약 (한국어, {MODEL} 작성)**")  # in the member's language
    assert ko_bullets(101)[0] in card
    assert en_bullets(101)[0] in english["embeds"][0]["description"]
    assert buttons(korean) == buttons(english) == []  # stored: nothing to offer
    assert model.calls() == 0


async def test_the_button_writes_the_summary_once_and_it_is_reused(
    tmp_path, server, discord_endpoints, model
):
    guild = guild_with_bob()
    async with FakeDiscord(guilds=[guild], token=TOKEN) as fake:
        world = model_world(fake, guild, server, tmp_path, model.url)
        async with bot_running(world):
            await fake.wait_for_sync(guild)
            await complete_day(world, 1)
            interaction, card = await show(world, "2401.00101")
            assert card["flags"] & EPHEMERAL
            assert "요약 (한국어" not in card["embeds"][0]["description"]
            (button,) = [c for row in card["components"] for c in row["components"]]
            assert button["custom_id"] == "sum:2401.00101:ko"
            assert button["label"] == "한국어 요약 만들기"
        world.clock.at(1.0)
        async with bot_running(world):  # the button works after a restart
            click = await fake.click(card, custom_id="sum:2401.00101:ko")
            assert (await click.response())["type"] == 6  # acknowledged before the model runs
            assert click.acknowledged_after < 3
            edited = await interaction.original(where=lambda m: not m["components"])
            description = edited["embeds"][0]["description"]
            assert description.startswith(f"**요약 (한국어, {MODEL} 작성)**")
            assert ko_bullets(101)[0] in description
            assert model.calls(101, "Korean") == 1
            _, bobs = await show(world, "2401.00101", user=guild.bob)
            assert ko_bullets(101)[0] in bobs["embeds"][0]["description"]
            assert buttons(bobs) == []
    assert model.calls() == 1
    assert all(r.headers["Authorization"] == f"Bearer {KEY}" for r in model.completions)


async def test_the_sixth_click_in_an_hour_is_refused(tmp_path, server, discord_endpoints, model):
    guild = guild_with_bob()
    async with FakeDiscord(guilds=[guild], token=TOKEN) as fake:
        world = model_world(fake, guild, server, tmp_path, model.url)
        async with bot_running(world):
            await fake.wait_for_sync(guild)
            await complete_day(world, 7)
            cards = [await show(world, f"2401.{n:05d}") for n in range(101, 108)]
            for minute, (interaction, card) in enumerate(cards[:5]):
                n = 101 + minute
                world.clock.at(1.0 + minute / 60)
                click = await fake.click(card, custom_id=f"sum:2401.{n:05d}:ko")
                await click.response()
                await interaction.original(where=lambda m: not m["components"])
            world.clock.at(1.0 + 20 / 60)
            _, sixth = cards[5]
            refused = await fake.click(sixth, custom_id="sum:2401.00106:ko")
            body = await refused.response()
            assert body["data"]["flags"] & EPHEMERAL
            assert "try again in 40 minutes" in body["data"]["content"]
            assert model.calls() == 5
            # Another member has an hour of their own.
            _, bobs = await show(world, "2401.00107", user=guild.bob)
            await (await fake.click(bobs, custom_id="sum:2401.00107:ko")).response()
            await fake._wait_for(lambda: model.calls() == 6, 5, "bob's summary")
            # An hour after the first click, one more is allowed.
            world.clock.at(2.0)
            again = await fake.click(sixth, custom_id="sum:2401.00106:ko")
            assert (await again.response())["type"] == 6
            await cards[5][0].original(where=lambda m: not m["components"])
    assert model.calls(106) == 1


async def test_a_failing_answer_is_explained_privately(
    tmp_path, server, discord_endpoints, model, caplog
):
    model.faults = {101: Answer.error(500)}
    guild = guild_with_bob()
    async with FakeDiscord(guilds=[guild], token=TOKEN) as fake:
        world = model_world(fake, guild, server, tmp_path, model.url)
        async with bot_running(world):
            await fake.wait_for_sync(guild)
            await complete_day(world, 1)
            interaction, card = await show(world, "2401.00101")
            click = await fake.click(card, custom_id="sum:2401.00101:ko")
            (reply,) = await click.wait_for_followups(1, timeout=15)
            unchanged = await interaction.original()
    assert reply["flags"] & EPHEMERAL
    assert "could not be used" in reply["content"]
    assert "HTTP 500" in reply["content"]
    assert KEY not in reply["content"] and KEY not in caplog.text
    assert buttons(unchanged) == ["sum:2401.00101:ko"]  # the member may try again later
    assert "요약 (한국어" not in unchanged["embeds"][0]["description"]


async def test_no_button_without_a_model_or_with_the_limit_at_zero(
    tmp_path, server, discord_endpoints, model
):
    guild = guild_with_bob()
    async with FakeDiscord(guilds=[guild], token=TOKEN) as fake:
        settings = digest_settings(tmp_path, fake, server, guild)  # no LLM_BASE_URL
        clock = Clock(DAY_END - timedelta(hours=1))
        world = World(fake, guild, guild.admin, guild.admin, clock, server, settings)
        async with bot_running(world):
            await fake.wait_for_sync(guild)
            await complete_day(world, 1)
            _, card = await show(world, "2401.00101")
            assert buttons(card) == []
            assert "Paper 101 in one line." in card["embeds"][0]["description"]
        world = model_world(
            fake, guild, server, tmp_path, model.url, SUMMARY_REQUESTS_PER_MEMBER_PER_HOUR="0"
        )
        async with bot_running(world):
            _, card = await show(world, "2401.00101")
            assert buttons(card) == []
    assert model.calls() == 0


async def test_a_click_while_the_service_writes_the_same_summary_costs_no_second_call(
    tmp_path, server, discord_endpoints, model
):
    model.faults = {101: Answer.bullets(ko_bullets(101)).slow(1.0)}
    guild = guild_with_bob()
    async with FakeDiscord(guilds=[guild], token=TOKEN) as fake:
        world = model_world(fake, guild, server, tmp_path, model.url)
        async with bot_running(world):
            await fake.wait_for_sync(guild)
            await world.subscribe("general", "09:00", "UTC", language="ko")
            await complete_day(world, 1)  # the service is now writing paper 101 in Korean
            await fake._wait_for(lambda: model.in_flight == 1, 5, "the service's request")
            interaction, card = await show(world, "2401.00101")
            click = await fake.click(card, custom_id="sum:2401.00101:ko")
            assert (await click.response())["type"] == 6
            edited = await interaction.original(where=lambda m: not m["components"])
            assert ko_bullets(101)[0] in edited["embeds"][0]["description"]
            await world.services.summaries.idle()
    assert model.calls(101, "Korean") == 1


async def test_a_card_opened_from_a_list_offers_the_button(
    tmp_path, server, discord_endpoints, model
):
    guild = guild_with_bob()
    async with FakeDiscord(guilds=[guild], token=TOKEN) as fake:
        world = model_world(fake, guild, server, tmp_path, model.url)
        async with bot_running(world):
            await fake.wait_for_sync(guild)
            await complete_day(world, 2)
            listed = await fake.slash(
                guild, world.channel("general"), world.admin, "paper",
                subcommand="search", options={"query": "diffusion"}, locale="ko",
            )  # fmt: skip
            await listed.response()
            chosen = await fake.select(await listed.original(), ["2401.00102"], locale="ko")
            await chosen.response()
            card = await chosen.original()
            assert buttons(card) == ["sum:2401.00102:ko"]
            await store_summary(world, "2401.00101", "ko", ko_bullets(101))
            chosen = await fake.select(await listed.original(), ["2401.00101"], locale="ko")
            await chosen.response()
            stored = await chosen.original()
    assert buttons(stored) == []  # stored in the member's language: shown, nothing to offer
    assert ko_bullets(101)[0] in stored["embeds"][0]["description"]
    assert model.calls() == 0


async def test_a_click_on_a_summary_that_failed_today_asks_nothing_and_says_when(
    tmp_path, server, discord_endpoints, model
):
    model.faults = {101: Answer.error(500)}
    guild = guild_with_bob()
    async with FakeDiscord(guilds=[guild], token=TOKEN) as fake:
        world = model_world(fake, guild, server, tmp_path, model.url)
        async with bot_running(world):
            await fake.wait_for_sync(guild)
            await world.subscribe("general", "09:00", "UTC", language="ko")
            await complete_day(world, 1)  # the service tries paper 101 in Korean and fails
            await world.services.summaries.idle()
            calls = model.calls()
            assert calls == 3  # the client's own two retries
            _, card = await show(world, "2401.00101")
            click = await fake.click(card, custom_id="sum:2401.00101:ko", locale="ko")
            (reply,) = await click.wait_for_followups(1, timeout=15)
    assert model.calls() == calls  # nothing asked again before the next UTC day
    assert reply["flags"] & EPHEMERAL
    assert reply["content"].startswith("오늘 이미 모델이 이 요약을 시도했지만")
    assert "HTTP 500" in reply["content"] and "UTC 자정" in reply["content"]
