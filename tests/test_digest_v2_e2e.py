"""The digest in Components V2 cards (the default format) end to end: the real bot against the
fake Discord, which validates V2 messages as Discord does. The same guarantees as the embed
cards of tests/test_digest_e2e.py: each card's buttons under its own paper, counts edited in on
votes and on Hugging Face's upvotes, exactly once (the kill tests there run both formats)."""

from __future__ import annotations

import pytest
from http_fixture_server import Reply
from test_digest_e2e import (
    DAY,
    EPHEMERAL,
    World,
    bot_running,
    card_urls,
    complete_day,
    first_text,
    hf_items,
    serve_day,
)
from test_digest_e2e import world as world  # noqa: F401 - the fixture, with its setup

V2_FLAG = 1 << 15


@pytest.fixture(autouse=True)
def v2_subscriptions(world: World) -> None:  # noqa: F811
    world.card_format = None  # subscribe with the default format


def containers(message: dict) -> list[dict]:
    return [c for c in message["components"] if c["type"] == 17]


def buttons_of(container: dict) -> list[dict]:
    return [
        button
        for child in container["components"]
        if child["type"] == 1
        for button in child["components"]
    ]


def heading(container: dict) -> str:
    text = next(c["content"] for c in container["components"] if c["type"] == 10)
    return text.split("\n", 1)[0]


def card_text(container: dict) -> str:
    return next(c["content"] for c in container["components"] if c["type"] == 10)


def with_video(items: list[dict], index: int) -> list[dict]:
    items[index]["paper"]["mediaUrls"] = ["https://cdn.example.org/clip.mp4"]
    return items


async def test_a_v2_digest_puts_each_cards_buttons_inside_its_own_container(world):  # noqa: F811
    await world.subscribe("general", "09:00", "UTC")
    route = serve_day(world.sources, DAY, Reply.json(with_video(hf_items(7), 1)))
    await world.ingest_at(10 / 60)
    await world.ingest_at(40 / 60)
    await world.post_at(9.0)
    posted = world.posted("general")
    assert route.replies  # served
    header, cards = posted[0], posted[1:]
    assert not header["flags"] & V2_FLAG and header["content"].startswith("📰 **Daily Papers")
    assert [len(containers(m)) for m in cards] == [3, 3, 1]
    for message in cards:
        assert message["flags"] & V2_FLAG
        assert message["content"] == "" and message["embeds"] == []
        assert not [c for c in message["components"] if c["type"] == 1]  # no loose rows
    ranked = [c for m in cards for c in containers(m)]
    for rank, container in enumerate(ranked, 1):
        paper = f"2401.{100 + rank:05d}"
        assert heading(container) == (
            f"### [{rank}. Paper number {100 + rank} about diffusion]"
            f"(https://arxiv.org/abs/{paper})"
        )
        assert [b["custom_id"] for b in buttons_of(container)] == [
            f"vote:{paper}:up",
            f"vote:{paper}:down",
            f"chart:{paper}",
        ]
        assert f"▲ {200 - 100 - rank}" in card_text(container)
    galleries = [c for c in ranked[1]["components"] if c["type"] == 12]
    assert [item["media"]["url"] for item in galleries[0]["items"]] == [
        "https://cdn.example.org/clip.mp4"  # the video itself, to play inline
    ]
    pictures = [c for c in ranked[0]["components"] if c["type"] == 12]
    assert pictures[0]["items"][0]["media"]["url"] == "https://cdn.example.org/101.png"
    assert [url for m in cards for url in card_urls(m)] == [
        f"https://arxiv.org/abs/2401.{n:05d}" for n in range(101, 108)
    ]


async def test_votes_on_a_v2_card_edit_its_counts_and_survive_a_restart(world):  # noqa: F811
    await world.subscribe("general", "09:00", "UTC")
    await complete_day(world, count=4)
    await world.post_at(9.0)
    message = world.posted("general")[1]
    up, down = "vote:2401.00102:up", "vote:2401.00102:down"

    def labels(stored: dict) -> dict[str, str]:
        return {b["custom_id"]: b.get("label") for c in containers(stored) for b in buttons_of(c)}

    assert labels(message)[up] == "0"
    click = await world.fake.click(message, custom_id=up, user=world.admin)
    assert (await click.response())["type"] == 6
    (note,) = await click.wait_for_followups(1)
    assert note["flags"] & EPHEMERAL and "2. Paper number 102" in note["content"]
    edited = world.fake.message(message["id"])
    assert edited["flags"] & V2_FLAG
    assert labels(edited)[up] == "1" and labels(edited)["vote:2401.00101:up"] == "0"
    assert [heading(c) for c in containers(edited)] == [heading(c) for c in containers(message)]

    await world.bot.close()
    async with bot_running(world):
        await world.fake.wait_for_sync(world.guild)
        click = await world.fake.click(edited, custom_id=down, user=world.member)
        await click.wait_for_followups(1)
        after = labels(world.fake.message(message["id"]))
    assert (after[up], after[down]) == ("1", "1")


async def test_v2_cards_follow_hugging_face_upvotes(world):  # noqa: F811
    await world.subscribe("general", "09:00", "UTC")
    route = await complete_day(world, count=2)
    await world.post_at(9.0)
    message = world.posted("general")[1]
    assert "▲ 99" in card_text(containers(message)[0])
    grown = hf_items(2)
    grown[0]["paper"]["upvotes"] = 150
    route.replies[:] = [Reply.json(grown)]
    patches = len(world.fake.requests_to("PATCH", r"/channels/\d+/messages/\d+"))
    await world.ingest_at(10.0)
    edited = world.fake.message(message["id"])
    assert "▲ 150" in card_text(containers(edited)[0])
    assert buttons_of(containers(edited)[0])  # the buttons stay inside the card
    assert len(world.fake.requests_to("PATCH", r"/channels/\d+/messages/\d+")) == patches + 1
    await world.ingest_at(10.5)  # nothing changed: no edit
    assert len(world.fake.requests_to("PATCH", r"/channels/\d+/messages/\d+")) == patches + 1


async def test_a_follow_up_in_v2_says_what_it_adds_in_its_first_text(world):  # noqa: F811
    await world.subscribe("general", "09:00", "UTC")
    route = await complete_day(world, count=2)
    await world.post_at(9.0)
    route.replies[:] = [Reply.json(hf_items(4))]
    await world.ingest_at(10.0)
    await world.ingest_at(10.5)  # stable again with two more papers
    await world.post_at(10.6)
    note = world.posted("general")[-1]
    assert note["flags"] & V2_FLAG
    assert first_text(note).startswith("➕ **+2 papers added to Daily Papers — 2024-01-17**")
    assert [heading(c).split("]")[0] for c in containers(note)] == [
        "### [3. Paper number 103 about diffusion",
        "### [4. Paper number 104 about diffusion",
    ]


async def test_embeds_stay_a_choice_and_the_subscribe_reply_names_the_format(world):  # noqa: F811
    reply = await world.subscribe("general", "09:00", "UTC", format="embeds")
    assert "embeds" in reply
    await complete_day(world, count=2)
    await world.post_at(9.0)
    message = world.posted("general")[1]
    assert not message["flags"] & V2_FLAG and len(message["embeds"]) == 2


async def test_the_chart_button_of_a_card_answers_with_the_papers_vote_chart(world):  # noqa: F811
    await world.subscribe("general", "09:00", "UTC")
    await complete_day(world, count=2)
    await world.post_at(9.0)
    message = world.posted("general")[1]
    vote = await world.fake.click(message, custom_id="vote:2401.00101:up", user=world.member)
    await vote.wait_for_followups(1)
    message = world.fake.message(message["id"])
    click = await world.fake.click(message, custom_id="chart:2401.00101", user=world.member)
    first = await click.response()
    # A chart drawn now is deferred (type 5), a cached one answered at once (type 4).
    assert first["type"] in (4, 5) and first["data"]["flags"] & EPHEMERAL
    assert click.acknowledged_after < 3
    # The first chart loads matplotlib; the answer replaces the "thinking…" message.
    reply = await click.original(where=lambda m: m["attachments"], timeout=30)
    assert reply["flags"] & EPHEMERAL
    png = world.fake.attachment_bytes(reply)
    assert png.startswith(b"\x89PNG") and len(png) <= 150_000
