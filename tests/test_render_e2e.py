"""What members see on public cards and lists, end to end (issue 8): the real bot against the
fake Discord and the loopback Hugging Face server, as in test_digest_e2e.

- a masked link in Hugging Face's or arXiv's text never becomes a disguised link: its address
  is shown;
- a long summary shows every bullet that fits and says how many more there are;
- an unknown upvote count is "—", never 0;
- /paper top source: server shows the server's 👍/👎, not Hugging Face's upvotes.
"""

from __future__ import annotations

from datetime import date

from http_fixture_server import Reply
from test_digest_e2e import (  # noqa: F401 - world is a fixture
    DAY,
    EPHEMERAL,
    _button,
    _embeds,
    hf_items,
    serve_day,
    world,
)

from bot.models import Summary
from storage.lists import server_top_page
from storage.papers import get_paper, save_papers

EVIL = "https://evil.example/login"


async def _complete(world, items: list[dict]) -> None:  # noqa: F811
    """Serve DAY with `items` and poll until the day is complete (00:10 and 00:40 UTC)."""
    serve_day(world.sources, DAY, Reply.json(items))
    await world.ingest_at(10 / 60)
    await world.ingest_at(40 / 60)


def _card(cards: list[dict], paper_id: str) -> dict:
    return next(c for c in cards if c["footer"]["text"].startswith(f"arXiv:{paper_id}"))


def _field(card: dict, name: str) -> str:
    return next(f["value"] for f in card["fields"] if f["name"].startswith(name))


def _line(description: str, paper_id: str) -> str:
    return next(line for line in description.split("\n") if f"/abs/{paper_id})" in line)


def _options(message: dict) -> list[dict]:
    menus = [c for row in message["components"] for c in row["components"] if c["type"] == 3]
    return menus[0]["options"]


def _card_message(world, paper_id: str) -> dict:  # noqa: F811
    """The posted digest message that holds `paper_id`'s card and vote buttons."""
    for message in world.posted("general"):
        for row in message.get("components") or []:
            if any(c.get("custom_id") == f"vote:{paper_id}:up" for c in row["components"]):
                return message
    raise AssertionError(f"no card for {paper_id}")


async def test_masked_links_show_their_address_and_unknown_votes_a_dash(world):  # noqa: F811
    items = hf_items(3)
    first, second, third = (item["paper"] for item in items)
    first["ai_summary"] = (
        f"Beats every baseline; code in [our repo]({EVIL}) and "
        f'[https://github.com/real/repo](<{EVIL}>), demo at [demo]( {EVIL} "the demo").'
    )
    del second["upvotes"]  # Hugging Face did not say: unknown, not 0
    del third["ai_summary"]  # the card falls back to the abstract, which has a link too
    third["summary"] = f"We release [[weights]]({EVIL}) for all. It works."
    third["title"] = "https://good.example: a benchmark of links"
    await _complete(world, items)
    await world.subscribe("general", "09:00", "UTC")
    await world.post_at(9.0)
    cards = _embeds(world.posted("general")[1:])
    assert len(cards) == 3
    for card in cards:
        assert "](" not in (card.get("description") or "")  # no masked link from the data

    summary = _card(cards, "2401.00101")["description"]
    assert "our repo (https://evil.example/login)" in summary
    assert "https://github.com/real/repo (https://evil.example/login)" in summary
    assert "demo (https://evil.example/login)." in summary
    abstract = _card(cards, "2401.00103")
    assert abstract["description"].startswith("**From the abstract**\n")
    assert "[weights] (https://evil.example/login)" in abstract["description"]
    # A title showing an address is not itself a link to arXiv; the Links field has arXiv.
    assert "url" not in abstract
    assert abstract["title"].split(". ", 1)[1].startswith("https://good.example: a benchmark")
    assert _field(abstract, "Links").startswith("[arXiv](https://arxiv.org/abs/2401.00103) · ")

    unknown = _card(cards, "2401.00102")
    assert _field(unknown, "Upvotes") == "—"
    assert _field(_card(cards, "2401.00101"), "Upvotes") == "▲ 99"

    # The day's list and its menu: "▲ —" for the unknown count.
    interaction = await world.slash("paper day", date=DAY.isoformat(), public=True)
    listed = (await interaction.response())["data"]["embeds"][0]["description"]
    assert _line(listed, "2401.00102").endswith(" — ▲ — · Author 102 +1")
    assert "▲ 0" not in listed
    line = _line(listed, "2401.00103")
    assert line.startswith("`") and " · [arXiv](https://arxiv.org/abs/2401.00103) — ▲ 97" in line
    assert "[https" not in line  # the address in the title is no link's label
    options = {o["value"]: o["description"] for o in _options(await interaction.original())}
    assert options["2401.00102"] == "▲ — · Author 102 +1"
    assert options["2401.00101"] == "▲ 99 · Author 101 +1"


async def test_a_digest_card_shows_all_nine_bullets_and_counts_what_does_not_fit(world):  # noqa: F811
    await _complete(world, hf_items(2))
    nine = [
        f"Point {n}: " + "a finding worth a sentence or two of explanation. " * 6 for n in range(9)
    ]
    many = [f"Long point {n}: " + "x" * 600 for n in range(14)]
    async with world.services.store.write() as conn:  # imported digest summaries
        papers = [await get_paper(conn, "2401.00101"), await get_paper(conn, "2401.00102")]
        papers[0].summaries = [Summary("en", "digest", nine)]
        papers[1].summaries = [Summary("en", "digest", many)]
        await save_papers(conn, papers, world.clock())
    await world.subscribe("general", "09:00", "UTC")
    await world.post_at(9.0)
    cards = _embeds(world.posted("general")[1:])

    lines = _card(cards, "2401.00101")["description"].split("\n")
    assert lines[0] == "**Summary (English, digest)**"
    assert [line.split(":")[0] for line in lines[1:]] == [f"• Point {n}" for n in range(9)]
    assert not any("more bullet" in line for line in lines)

    lines = _card(cards, "2401.00102")["description"].split("\n")
    shown = [line for line in lines if line.startswith("• Long point ")]
    assert 5 < len(shown) < 14
    assert lines[-1] == f"… +{14 - len(shown)} more bullets"


async def test_server_top_shows_the_members_votes_not_hugging_faces(world):  # noqa: F811
    await _complete(world, hf_items(7))
    await world.subscribe("general", "09:00", "UTC")
    await world.post_at(9.0)
    votes = [
        ("2401.00101", "up", world.admin),
        ("2401.00101", "up", world.member),
        ("2401.00103", "up", world.admin),
        ("2401.00102", "down", world.member),
        ("2401.00104", "up", world.member),
        ("2401.00104", "down", world.admin),
        ("2401.00105", "up", world.member),
        ("2401.00106", "up", world.admin),
    ]
    for paper_id, way, user in votes:
        message = _card_message(world, paper_id)
        click = await world.fake.click(message, custom_id=f"vote:{paper_id}:{way}", user=user)
        await click.response()
        await click.wait_for_followups(1)  # "counted": the vote is stored
    assert _button(_card_message(world, "2401.00101"), "vote:2401.00101:up")["label"] == "2"

    interaction = await world.slash("paper top", period="week", source="server")
    body = await interaction.response()
    assert body["data"]["flags"] & EPHEMERAL
    page = body["data"]["embeds"][0]
    assert "▲" not in page["description"]  # Hugging Face's counts are not this list's
    lines = page["description"].split("\n")
    assert [line.split("/abs/")[1].split(")")[0] for line in lines] == [
        "2401.00101", "2401.00106", "2401.00105", "2401.00103", "2401.00104",
    ]  # fmt: skip
    assert lines[0].endswith(" — 👍 2 · 👎 0 · Author 101 +1")
    assert lines[4].endswith(" — 👍 1 · 👎 1 · Author 104 +1")
    message = await interaction.original()
    options = {o["value"]: o["description"] for o in _options(message)}
    assert options["2401.00101"] == "👍 2 · 👎 0 · Author 101 +1"

    turned = await world.fake.click(message, label="▶")
    page2 = (await turned.response())["data"]["embeds"][0]
    assert page2["description"].startswith("`6.` [Paper number 102 about diffusion]")
    assert page2["description"].endswith(" — 👍 0 · 👎 1 · Author 102 +1")
    assert "Page 2/2 · 6 papers" in page2["footer"]["text"]

    reader = world.services.store.reader
    ranked = await server_top_page(reader, world.guild.id, DAY, DAY, limit=10, offset=0)
    scores = [up - down for up, down in (p.member_votes for p in ranked)]
    assert scores == sorted(scores, reverse=True)  # 👍 minus 👎, best first
    assert await server_top_page(reader, world.guild.id, date(2024, 2, 1), date(2024, 2, 2),
                                 limit=10, offset=0) == []  # fmt: skip

    by_upvotes = await (await world.slash("paper top", period="week")).response()
    assert "— ▲ 99 · Author 101 +1" in by_upvotes["data"]["embeds"][0]["description"]
