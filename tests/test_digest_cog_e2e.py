"""/digest commands end to end (the real bot, the fake Discord): answering in time while another
process holds the database, /digest list for many channels, what subscribe promises, and
subscription rows that are not valid (stored before values were checked).
"""

from __future__ import annotations

import asyncio
import logging
import re
import sqlite3
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from test_options_e2e import DAY, DAY_END, EPHEMERAL, Harness, hf_items, running

from storage.days import record_poll
from storage.db import open_store
from storage.subscriptions import Subscription, get_subscription, save_subscription


@pytest.fixture
async def harness(tmp_path, server, discord_endpoints):
    channels = ("general", "news", "third", "fourth", "fifth")
    async with running(tmp_path, server, channels=channels) as running_harness:
        yield running_harness


async def complete_day(h: Harness) -> None:
    """DAY is complete: two polls after its end (00:10 and 00:40 UTC) found the same papers."""
    ids = [item["paper"]["id"] for item in hf_items()]
    async with h.services.store.write() as conn:
        for minutes in (10, 40):
            await record_poll(conn, DAY, ids, DAY_END + timedelta(minutes=minutes))


def at(hours: float) -> datetime:
    return DAY_END + timedelta(hours=hours)


async def post_check(h: Harness, hours: float) -> list:
    h.clock.now = at(hours)
    return await h.bot.get_cog("Digest").jobs.post_due()


async def subscribe(h: Harness, channel: str, time_of_day: str, zone: str = "UTC", **options):
    interaction = await h.slash(
        "digest subscribe", channel=h.channel(channel), time=time_of_day, timezone=zone, **options
    )
    body = await interaction.response()
    assert body["data"]["flags"] & EPHEMERAL
    return body["data"]["content"]


def headers(h: Harness, channel: str) -> list[str]:
    return [m["content"] for m in h.posted(channel) if m["content"]]


# --- answering in time while the database is locked ---------------------------------------------


def hold_write_lock(path, seconds: float, taken: threading.Event) -> None:
    """What another process writing for a while does: hold SQLite's write lock."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        taken.set()
        time.sleep(seconds)
        conn.execute("COMMIT")
    finally:
        conn.close()


async def test_subscribe_answers_in_time_while_another_process_holds_the_database(harness):
    h = harness
    taken = threading.Event()
    # Longer than Discord's 3 s and than SQLite's 5 s busy timeout: the first attempt to write
    # fails, the second one succeeds once the lock is released.
    holder = asyncio.create_task(asyncio.to_thread(hold_write_lock, h.db_path, 5.5, taken))
    await asyncio.to_thread(taken.wait, 5)
    interaction = await h.slash(
        "digest subscribe", channel=h.channel("news"), time="23:00", timezone="UTC"
    )
    ack = await interaction.response(timeout=3.5)
    assert ack["type"] == 5 and ack["data"]["flags"] & EPHEMERAL  # deferred, privately
    assert interaction.acknowledged_after < 3.0
    assert h.subscription_rows() == []  # still locked: nothing written yet
    final = await interaction.original(timeout=15)
    assert final["content"].startswith("Subscribed <#")
    assert "23:00 UTC" in final["content"]
    await holder
    (row,) = h.subscription_rows()
    assert row[0] == h.channel("news").id


async def test_unsubscribe_answers_at_once_when_the_database_is_free(harness):
    h = harness
    await subscribe(h, "news", "23:00")
    interaction = await h.slash("digest unsubscribe", channel=h.channel("news"))
    body = await interaction.response()
    assert body["type"] == 4 and "won't get the digest any more" in body["data"]["content"]
    assert interaction.acknowledged_after < 1
    assert h.subscription_rows() == []


# --- /digest list ---------------------------------------------------------------------------


async def test_digest_list_shows_60_channels_with_long_names_within_discords_limits(
    tmp_path, server, discord_endpoints
):
    names = [f"{n:02d}-" + "x" * 97 for n in range(60)]  # 100 characters, Discord's longest
    async with running(tmp_path, server, channels=("general", *names)) as h:
        await complete_day(h)
        h.clock.now = at(9)  # 18:00 in Seoul
        for name in names:
            await subscribe(h, name, "09:00", "Asia/Seoul", top=5, min_votes=10, language="ko")
        posts = await post_check(h, 9.01)  # each field gets its last post, with a link
        assert len(posts) == 60
        interaction = await h.slash("digest list")
        body = await interaction.response()
        assert body["type"] == 4 and body["data"]["flags"] & EPHEMERAL
        footer = body["data"]["embeds"][0]["footer"]["text"]
        match = re.fullmatch(r"60 channels · part 1 of (\d+)", footer)
        assert match, footer
        parts = int(match[1])
        followups = await interaction.wait_for_followups(parts - 1)
        messages = [body["data"], *followups]
        assert len(messages) == parts
        shown = []
        for number, message in enumerate(messages, 1):
            assert message["flags"] & EPHEMERAL
            (embed,) = message["embeds"]
            assert embed["footer"]["text"] == f"60 channels · part {number} of {parts}"
            assert len(embed["fields"]) <= 25
            size = len(embed["title"]) + len(embed["footer"]["text"])
            size += sum(len(f["name"]) + len(f["value"]) for f in embed["fields"])
            assert size <= 6000
            for field in embed["fields"]:
                assert "09:00 Asia/Seoul · top 5 · ≥ 10 upvotes · summaries in ko" in field["value"]
                assert "✅ 2024-01-17: posted, 3 papers ([jump](https://" in field["value"]
                shown.append(field["name"])
        # every channel once, in order, its name cut to fit
        assert [name[:4] for name in shown] == [f"#{n:02d}-" for n in range(60)]
        assert all(name.endswith("…") and len(name) <= 91 for name in shown)
        assert parts == len(messages) <= 5


# --- what subscribe says will happen --------------------------------------------------------


async def test_a_subscription_after_todays_time_says_the_newest_day_goes_out_now(
    tmp_path, server, discord_endpoints
):
    async with running(tmp_path, server, settings={"POST_CHECK_SECONDS": "60"}) as h:
        await complete_day(h)
        h.clock.now = at(9 + 5 / 60)  # 09:05 UTC: five minutes after the channel's time
        text = await subscribe(h, "news", "09:00")
        assert "the digest of 2024-01-17 goes out within a minute" in text
        assert "After that, daily at 09:00" in text
        assert "<t:" not in text  # no "next post in 24 hours"
        await post_check(h, 9 + 6 / 60)  # the next check (or the scheduled one did already)
        posted = headers(h, "news")
        assert len(posted) == 1 and "Daily Papers — 2024-01-17" in posted[0]


async def test_a_subscription_before_todays_time_names_todays_slot(harness):
    h = harness
    await complete_day(h)
    h.clock.now = at(7)  # 07:00 UTC
    text = await subscribe(h, "news", "10:00")
    slot = int(at(10).timestamp())
    assert f"Next post: <t:{slot}:F> (<t:{slot}:R>)" in text
    assert "after that, daily at 10:00" in text
    assert await post_check(h, 9.9) == []
    assert headers(h, "news") == []
    await post_check(h, 10.01)
    assert "Daily Papers — 2024-01-17" in headers(h, "news")[0]


# --- invalid subscription values -----------------------------------------------------------


async def test_the_store_refuses_invalid_subscriptions(tmp_path):
    now = datetime(2024, 1, 18, tzinfo=UTC)
    valid = dict(
        channel_id=10, guild_id=20, post_time=datetime(2024, 1, 1, 9).time(), timezone="UTC",
        created_at=now,
    )  # fmt: skip
    wrong = [
        {"top": "abc"}, {"top": -1}, {"top": 0}, {"top": 1.5}, {"top": 101}, {"top": True},
        {"top": 2**63}, {"min_votes": "x"}, {"min_votes": -1}, {"min_votes": 100_001},
        {"min_votes": None}, {"format": "evil"}, {"language": "EN!"}, {"language": "e\x00"},
        {"timezone": "Mars/Olympus_Mons"}, {"timezone": "../../etc/passwd"}, {"timezone": 9},
        {"post_time": "09:00"}, {"channel_id": 0}, {"channel_id": 2**63}, {"guild_id": "20"},
        {"created_by": -3}, {"created_at": None},
    ]  # fmt: skip
    async with open_store(tmp_path / "store.db") as store:
        for change in wrong:
            with pytest.raises(ValueError, match="not a valid subscription"):
                async with store.write() as conn:
                    await save_subscription(conn, Subscription(**{**valid, **change}))
        assert await get_subscription(store.reader, 10) is None
        async with store.write() as conn:  # the bounds are fine
            await save_subscription(conn, Subscription(**valid, top=100, min_votes=100_000))
        stored = await get_subscription(store.reader, 10)
        assert (stored.top, stored.min_votes) == (100, 100_000)


BAD_ROWS = {  # written before values were checked: what forged clients got stored
    "news": ("'abc'", "0"),
    "third": ("NULL", "'x'"),
    "fourth": ("-1", "0"),
    "fifth": ("1.5", "0"),
}


async def test_invalid_rows_stored_earlier_are_skipped_once_and_shown_to_admins(harness, caplog):
    h = harness
    await complete_day(h)
    h.clock.now = at(8)
    await subscribe(h, "general", "09:00")
    with sqlite3.connect(h.db_path) as conn:
        for name, (top, min_votes) in BAD_ROWS.items():
            conn.execute(
                "INSERT INTO subscriptions (channel_id, guild_id, post_time, timezone, top,"
                f" min_votes, language, format, created_at) VALUES (?, ?, '09:00', 'UTC', {top},"
                f" {min_votes}, 'en', 'cards', '2024-01-10T00:00:00.000000Z')",
                (h.channel(name).id, h.guild.id),
            )
    with caplog.at_level(logging.WARNING):
        await post_check(h, 9.5)
        await post_check(h, 9.6)  # the next check: nothing more is logged
    assert "Daily Papers — 2024-01-17" in headers(h, "general")[0]  # the others go on
    for name in BAD_ROWS:
        assert h.posted(name) == []
        about = [r for r in caplog.records if str(h.channel(name).id) in r.getMessage()]
        assert len(about) == 1, [r.getMessage() for r in about]
        assert about[0].levelno == logging.WARNING and "skipped" in about[0].getMessage()
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]

    listing = await (await h.slash("digest list")).response()
    fields = {f["name"]: f["value"] for f in listing["data"]["embeds"][0]["fields"]}
    assert "✅ 2024-01-17: posted" in fields["#general"]
    for name in BAD_ROWS:
        assert "stored settings are not valid" in fields[f"#{name}"]
        assert "/digest subscribe" in fields[f"#{name}"]
    assert "not 'abc'" in fields["#news"]

    # subscribing again replaces the row: the channel gets its digest at the next check
    text = await subscribe(h, "news", "09:00", top=2)
    assert text.startswith("Updated") and "goes out" in text
    await post_check(h, 9.7)
    assert "2 papers (of 3" in headers(h, "news")[0]
    gone = await h.slash("digest unsubscribe", channel=h.channel("third"))
    assert "won't get the digest" in (await gone.response())["data"]["content"]
