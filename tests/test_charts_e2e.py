"""`/paper votes` end to end: the real bot against the fake Discord, a digest posted with vote
buttons, members voting, and the chart's PNG fetched back over HTTP from the fake.

The fake keeps the bytes of every attachment and serves them at the attachment's URL, as
Discord's CDN would: the tests download the chart as a member's client does.
"""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from e2e_settings import TOKEN
from fake_discord import FakeDiscord, FakeGuild, FakeUser, Perm
from test_digest_e2e import DAY_END, EPHEMERAL, Clock, World, _settings, bot_running, complete_day

from bot.models import Paper
from storage.papers import save_papers

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PAPER = "2401.00101"  # 99 upvotes on Hugging Face (test_digest_e2e.hf_items)


@pytest.fixture
async def world(tmp_path, server, discord_endpoints):
    guild = FakeGuild.create("Papers HQ", channels=["general"])
    admins = guild.add_role("Admins", Perm.MANAGE_GUILD)
    admin = guild.add_member(FakeUser.create("alice"), roles=[admins]).user
    member = guild.add_member(FakeUser.create("bob")).user
    async with FakeDiscord(guilds=[guild], token=TOKEN) as fake:
        clock = Clock(DAY_END - timedelta(hours=1))
        settings = _settings(tmp_path, fake, server, guild)
        the_world = World(fake, guild, admin, member, clock, server, settings)
        async with bot_running(the_world):
            await fake.wait_for_sync(guild)
            yield the_world


async def _votes(world: World, **options) -> tuple[dict, dict]:
    """Run /paper votes; (the callback body, the answer message once it is there)."""
    interaction = await world.slash("paper votes", user=world.member, **options)
    body = await interaction.response()
    return body, await interaction.original()


async def _png(message: dict) -> bytes:
    (attachment,) = message["attachments"]
    assert attachment["filename"] == f"{PAPER}-votes.png"
    async with httpx.AsyncClient(timeout=5) as client:
        response = await client.get(attachment["url"])
    response.raise_for_status()
    assert len(response.content) == attachment["size"]
    return response.content


async def test_votes_answers_with_a_chart_that_follows_the_servers_votes(world):
    await world.subscribe("general", "09:00", "UTC")
    await complete_day(world, count=2)
    await world.post_at(9.0)
    card_message = next(m for m in world.posted("general") if m["components"])

    body, answer = await _votes(world, id=PAPER)
    assert body["type"] in (4, 5)  # 5: deferred while the first chart is drawn
    assert answer["flags"] & EPHEMERAL
    assert "Paper number 101" in answer["content"] and "▲ 99" in answer["content"]
    assert "👍 0 · 👎 0" in answer["content"]
    before = await _png(answer)
    assert before.startswith(PNG_SIGNATURE) and len(before) <= 150 * 1024
    same_body, same = await _votes(world, id=PAPER)
    assert same_body["type"] == 4  # nothing changed: the cached chart, no deferral needed
    assert await _png(same) == before

    click = await world.fake.click(card_message, custom_id=f"vote:{PAPER}:up", user=world.member)
    await click.wait_for_followups(1)
    _, voted = await _votes(world, id=f"https://arxiv.org/abs/{PAPER}v2")
    assert "👍 1 · 👎 0" in voted["content"]
    after = await _png(voted)
    assert after.startswith(PNG_SIGNATURE) and after != before

    _, week = await _votes(world, id=PAPER, days=7)
    assert "last 7 days" in week["content"] and await _png(week) != after


async def test_votes_can_be_public(world):
    await complete_day(world, count=1)
    interaction = await world.slash("paper votes", id=PAPER, public=True)
    answer = await interaction.original()
    assert not answer["flags"] & EPHEMERAL
    assert (await _png(answer)).startswith(PNG_SIGNATURE)


@pytest.mark.parametrize(
    ("paper_id", "expected"),
    [
        ("2401.09999", "Paper 2401.09999 is not stored, so it has no vote history"),
        ("../../etc", "is not an arXiv id"),
    ],
)
async def test_an_unknown_or_invalid_id_is_a_clear_private_error(world, paper_id, expected):
    body, _ = await _votes(world, id=paper_id, public=True)
    assert body["type"] == 4 and body["data"]["flags"] & EPHEMERAL
    assert expected in body["data"]["content"]
    assert not body["data"].get("attachments")


async def test_a_paper_without_any_vote_yet_says_so_without_a_chart(world):
    async with world.services.store.write() as conn:
        await save_papers(conn, [Paper(id="2401.05555", title="Quiet paper")], world.clock())
    body, answer = await _votes(world, id="2401.05555")
    assert body["type"] == 4
    assert answer["content"] == "**Quiet paper** has no vote history yet."
    assert answer["attachments"] == []


async def test_the_command_is_synced_with_an_autocompleted_id(world):
    await complete_day(world, count=2)
    synced = world.fake.synced_commands[world.guild.id]
    paper = next(c for c in synced if c["name"] == "paper")
    votes = next(o for o in paper["options"] if o["name"] == "votes")
    options = {o["name"]: o for o in votes["options"]}
    assert options["id"]["autocomplete"] is True
    assert (options["days"]["min_value"], options["days"]["max_value"]) == (1, 365)
    interaction = await world.fake.autocomplete(
        world.guild, world.channel("general"), world.member, "paper votes",
        focused="id", value="number 10",
    )  # fmt: skip
    choices = await interaction.choices()
    assert {c["value"] for c in choices} == {"2401.00101", "2401.00102"}
