"""Paged lists as persistent DynamicItems: what their custom_ids carry, and the behaviour that
keeping no view per list must not change (others refused, expiry, the same pages)."""

from __future__ import annotations

import gc
import re

import discord
from test_bot_e2e import DAY1, DAY2, EPHEMERAL, sources, world  # noqa: F401

import cogs.views as views
from cogs.papers import SEARCH, _day_page, _top_page
from cogs.views import CUSTOM_ID_LIMIT, ListExpiry, ListState, OpenCard, PageButton
from storage.papers import papers_on_day, top_papers


def _units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _controls(message: dict) -> list[dict]:
    return [c for row in message["components"] for c in row["components"]]


def test_custom_ids_fit_and_carry_the_list():
    owner = 2**63 - 1  # the largest snowflake
    for argument in ["diffusion", "a" * 200, "🙂" * 60, "x:y=z#w", "Björn Ommer", "é" * 64]:
        state = ListState(SEARCH.code, argument, owner, 3, 2**40)
        for page in (0, 4, 12345):
            custom_id = state.page_id(page)
            assert _units(custom_id) <= CUSTOM_ID_LIMIT
            match = re.fullmatch(PageButton.__discord_ui_compiled_template__, custom_id)
            assert match is not None
            assert int(match["page"]) == page and int(match["owner"], 36) == owner
            assert views._unpack_argument(match["argument"]) == argument
        assert re.fullmatch(OpenCard.__discord_ui_compiled_template__, state.open_id())
        assert not re.fullmatch(PageButton.__discord_ui_compiled_template__, state.open_id())


def test_long_arguments_are_remembered_boundedly(monkeypatch):
    monkeypatch.setattr(views, "LONG_ARGUMENTS", 3)
    monkeypatch.setattr(views, "_long_arguments", {})
    packed = [views._pack_argument(f"{n} " + "w" * 150, 50) for n in range(5)]
    assert all(p.startswith("#") for p in packed)
    assert views._unpack_argument(packed[0]) is None  # dropped: its list has expired
    assert views._unpack_argument(packed[4]) == "4 " + "w" * 150
    assert len(views._long_arguments) == 3


def test_expiry_keeps_only_the_latest_deadline_per_list():
    expiry = ListExpiry(client=None)  # type: ignore[arg-type]
    expiry._lists, expiry._heap = {}, []
    expiry._lists[1] = (10.0, "a")
    expiry._heap[:] = [(5.0, 1), (10.0, 1)]  # turned at 5, then again at 10
    expiry._lists[2] = (7.0, "b")
    expiry._heap.append((7.0, 2))
    expiry._heap.sort()
    assert expiry.due(8.0) == [(2, "b")]  # the first deadline of list 1 is stale
    assert expiry.due(11.0) == [(1, "a")]
    assert len(expiry) == 0


async def test_day_and_top_pages_are_the_stores_lists(world):  # noqa: F811
    services = world.services
    for day in (DAY1, DAY2):
        full = await papers_on_day(services.store.reader, day)
        shown = []
        for offset in range(0, len(full) + 5, 5):
            page = await _day_page(services, day.isoformat(), offset)
            assert page.total in (len(full), None)
            shown += page.papers
        assert [(p.id, p.title, p.upvotes, p.authors) for p in shown] == [
            (p.id, p.title, p.upvotes, p.authors) for p in full
        ]
    period = f"{DAY1.isoformat()}:{DAY2.isoformat()}"
    full = await top_papers(services.store.reader, DAY1, DAY2, limit=100)
    shown, offset, more = [], 0, True
    while more:
        page = await _top_page(services, period, offset)
        shown += page.papers
        offset += len(page.papers)
        more = page.more
        assert more == (offset < len(full))  # "next page" exactly while papers are left
    assert [(p.id, p.authors) for p in shown] == [(p.id, p.authors) for p in full]


async def test_a_list_keeps_no_view_in_memory(world):  # noqa: F811
    store = world.bot._connection._view_store
    interaction = await world.slash("paper search", query="diffusion", public=True)
    await interaction.response()
    turned = await world.fake.click(await interaction.original(), label="▶")
    await turned.response()
    assert not store._synced_message_views and not store._views
    gc.collect()  # views only drawn for a reply are garbage (reference cycles) once it is sent
    assert not [o for o in gc.get_objects() if isinstance(o, discord.ui.View)]


async def test_others_cannot_open_cards_or_turn_pages_even_after_expiry(world, monkeypatch):  # noqa: F811
    interaction = await world.slash("paper search", query="diffusion", public=True)
    await interaction.response()
    message = await interaction.original()
    chosen = await world.fake.select(message, ["2401.00103"], user=world.bob)
    refused = await chosen.response()
    assert refused["data"]["flags"] & EPHEMERAL
    assert "Only the person who asked" in refused["data"]["content"]
    monkeypatch.setattr(views, "wall_clock", lambda: 2**40)  # long after the list expired
    clicked = await world.fake.click(message, label="▶", user=world.bob)
    assert "Only the person who asked" in (await clicked.response())["data"]["content"]


async def test_a_click_after_the_deadline_disables_the_list(world, monkeypatch):  # noqa: F811
    interaction = await world.slash("paper search", query="diffusion")
    await interaction.response()
    message = await interaction.original()
    monkeypatch.setattr(views, "wall_clock", lambda: 2**40)  # e.g. a click after a restart
    click = await world.fake.click(message, label="▶")
    body = await click.response()
    assert body["type"] == 7
    assert all(c.get("disabled") for c in _controls(body["data"]))
    (note,) = await click.wait_for_followups(1)
    assert note["flags"] & EPHEMERAL and "expired" in note["content"]
    expired = await interaction.original()
    assert expired["embeds"] == message["embeds"]  # the page stays readable


async def test_a_long_query_pages_too(world):  # noqa: F811
    query = "diffusion " + "model " * 30  # 190 characters: does not fit in a custom_id
    interaction = await world.slash("paper search", query=query.strip())
    body = await interaction.response()
    assert body["data"]["embeds"][0]["description"].count("Diffusion Model Study") == 5
    ids = [c["custom_id"] for c in _controls(await interaction.original())]
    assert all(_units(i) <= CUSTOM_ID_LIMIT for i in ids)
    turned = await world.fake.click(await interaction.original(), label="▶")
    page2 = (await turned.response())["data"]["embeds"][0]
    assert page2["description"].count("Diffusion Model Study") == 2
    assert "Page 2/2" in page2["footer"]["text"]
