"""A digest in each channel's language, end to end: the real bot against the fake Discord and
the loopback Hugging Face server (and the fake model server of test_summaries_e2e): a Korean
and an English channel on the same day, the fallback labels saying why, the members' notes,
and the Korean slash command descriptions Discord receives."""

from __future__ import annotations

import re

import test_digest_e2e
import test_summaries_e2e
from fake_discord import FakeDiscord
from fake_openai import Answer
from test_digest_e2e import EPHEMERAL, TOKEN, World, _button, _embeds, bot_running, complete_day
from test_summaries_e2e import MODEL, free_port, make_guild, make_world, settle

from bot.translator import PaperTranslator

HANGUL = re.compile(r"[\uac00-\ud7a3]")
# The fixtures of those modules: a bot running with the default (abstract) provider, the model.
world = test_digest_e2e.world
model = test_summaries_e2e.model


def first_lines(world: World, channel: str) -> list[str]:
    """The bold label over each card's bullets."""
    return [e["description"].split("\n")[0] for e in _embeds(world.posted(channel)[1:])]


async def test_a_korean_and_an_english_channel_read_their_own_language(world):
    await world.subscribe("seoul", "09:00", "UTC", top=2, language="ko")
    await world.subscribe("general", "09:00", "UTC", top=2)  # en
    await world.subscribe("berlin", "09:00", "UTC", language="ko", format="compact")
    await complete_day(world, 3)
    await world.post_at(9.0)

    seoul, general = world.posted("seoul"), world.posted("general")
    assert seoul[0]["content"].split("\n")[0] == (
        "📰 **Daily Papers — 2024-01-17** · 논문 2편 (전체 3편 중 상위 2편)"
    )
    assert general[0]["content"].split("\n")[0] == (
        "📰 **Daily Papers — 2024-01-17** · 2 papers (of 3: top 2)"
    )
    korean, english = _embeds(seoul[1:]), _embeds(general[1:])
    assert [f["name"] for f in korean[0]["fields"]] == ["추천", "게재일", "저자 (2명)", "링크"]
    assert [f["name"] for f in english[0]["fields"]] == [
        "Upvotes",
        "Listed",
        "Authors (2)",
        "Links",
    ]
    # The abstract provider (the default) writes no summaries: a plain fallback label, with
    # no complaint about a summary no one will write.
    assert first_lines(world, "seoul") == ["**AI 요약 (Hugging Face)**"] * 2
    assert first_lines(world, "general") == ["**AI summary (Hugging Face)**"] * 2
    (listing,) = _embeds(world.posted("berlin")[1:])
    assert listing["title"] == "Daily Papers — 2024-01-17"
    assert listing["footer"]["text"] == "1/1쪽 · 논문 3편"

    # A member's private note is in their own Discord language.
    card = seoul[1]
    up = "vote:2401.00101:up"
    click = await world.fake.click(card, custom_id=up, user=world.member, locale="ko")
    note = (await click.wait_for_followups(1))[0]
    assert note["flags"] & EPHEMERAL
    title = "“1. Paper number 101 about diffusion”"
    assert note["content"] == f"{title}에 👍 투표가 반영되었습니다. 다시 누르면 취소됩니다."
    click = await world.fake.click(card, custom_id=up, user=world.member, locale="en-US")
    note = (await click.wait_for_followups(1))[0]
    assert note["content"] == f"Your 👍 on {title} is withdrawn."
    async with world.services.store.write() as conn:  # an operator pruned the store
        await conn.execute("DELETE FROM papers WHERE id = '2401.00102'")
    click = await world.fake.click(
        card, custom_id="vote:2401.00102:up", user=world.member, locale="ko"
    )
    note = (await click.wait_for_followups(1))[0]
    assert note["content"] == "이 논문은 더 이상 paperboy에 저장되어 있지 않습니다."
    assert _button(world.fake.message(card["id"]), "vote:2401.00102:up")["label"] == "0"


async def test_the_fallback_label_says_why_the_summary_is_missing(
    tmp_path, server, discord_endpoints, model
):
    model.faults = {102: "wrong-language", 103: Answer.error(500)}
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
            seoul, general = first_lines(world, "seoul"), first_lines(world, "general")
    assert seoul == [
        f"**요약 (한국어, {MODEL} 작성)**",
        "**AI 요약 (Hugging Face) · 모델의 한국어 요약이 검사를 통과하지 못함**",  # wrong language
        "**AI 요약 (Hugging Face) · 모델이 한국어 요약을 쓰지 못함**",  # HTTP 500
    ]
    assert general == [  # English bullets pass the checks; the 500 is a 500 in English too
        f"**Summary (English, written by {MODEL})**",
        f"**Summary (English, written by {MODEL})**",
        "**AI summary (Hugging Face) · the model could not write the English summary**",
    ]


async def test_a_card_whose_summary_is_not_written_yet_says_so(tmp_path, server, discord_endpoints):
    guild = make_guild(["seoul"])
    async with FakeDiscord(guilds=[guild], token=TOKEN) as fake:
        url = f"http://127.0.0.1:{free_port()}/v1"  # a model that cannot be reached
        world = make_world(fake, guild, server, tmp_path, url)
        async with bot_running(world):
            await fake.wait_for_sync(guild)
            await world.subscribe("seoul", "09:00", "UTC", language="ko")
            await world.subscribe("general", "09:00", "UTC")
            await complete_day(world, 2)
            await settle(world)
            await world.post_at(9.0)
            assert (
                first_lines(world, "seoul")
                == ["**AI 요약 (Hugging Face) · 한국어 요약 준비 중**"] * 2
            )
            assert (
                first_lines(world, "general")
                == ["**AI summary (Hugging Face) · no English summary yet**"] * 2
            )


async def test_discord_gets_korean_descriptions_of_every_command_and_option(world):
    assert isinstance(world.bot.tree.translator, PaperTranslator)
    synced = world.fake.synced_commands[world.guild.id]
    assert {c["name"] for c in synced} == {"paper", "digest", "help"}

    def walk(item: dict) -> list[dict]:
        return [item, *(x for option in item.get("options") or [] for x in walk(option))]

    items = [x for command in synced for x in walk(command)]
    assert len(items) > 30
    for item in items:
        korean = item.get("description_localizations") or {}
        assert set(korean) == {"ko"}, item["name"]
        assert 1 <= len(korean["ko"]) <= 100 and HANGUL.search(korean["ko"]), item["name"]
        assert korean["ko"] != item["description"]
        assert not item.get("name_localizations"), item["name"]  # names stay as they are
    by_name = {c["name"]: c for c in synced}
    assert by_name["help"]["description_localizations"] == {"ko": "paperboy가 하는 일과 사용법"}
