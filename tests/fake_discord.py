# ruff: noqa: ASYNC109  (waiting helpers take a timeout= argument, like asyncio.wait_for)
r"""A small local fake Discord (REST under ``/api/v10`` + a gateway websocket) for end-to-end tests.

The REAL discord.py bot connects to it over loopback, so what is tested is the real library
talking a (reduced) real protocol: JSON over HTTP and a websocket, rate limits, the 3 second
interaction acknowledgement window, message size limits.

Pointing discord.py 2.7 at the fake
-----------------------------------
Two class attributes, both read lazily, must be patched before ``bot.start()`` / ``login()``
and stay patched for the bot's whole life (``DEFAULT_GATEWAY`` is read by every connection
that has no resume URL yet)::

    discord.http.Route.BASE = f"{fake.url}/api/v10"          # a str, no trailing slash
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(fake.gateway_url)  # a yarl.URL

``Route.BASE`` is a ``ClassVar[str]`` concatenated with each route's path in ``Route.__init__``;
the interaction webhooks (``discord.webhook.async_``) use the same ``Route`` class.
``DEFAULT_GATEWAY`` must be a ``yarl.URL`` (discord.py calls ``.with_query()`` on it; a str
fails). ``fake.patch_discord()`` does both and restores the old values; never call
``discord.http._set_api_version`` meanwhile (it resets ``Route.BASE``). CDN asset URLs are not
redirected.

Verified in discord.py 2.7's source:

* A plain ``Client``/``commands.Bot`` connects straight to ``DEFAULT_GATEWAY`` (only
  ``AutoShardedClient`` asks ``GET /gateway/bot``, which the fake also answers, one shard).
  It adds ``?v=10&encoding=json&compress=zlib-stream`` (``zstd-stream`` when a zstd module is
  importable); the fake ignores ``compress`` and sends text frames, which discord.py never
  tries to decompress (it only decompresses ``bytes`` frames).
* ``login()`` calls ``GET /users/@me`` then ``GET /oauth2/applications/@me``; then
  ``setup_hook`` (where ``tree.sync()`` usually is: ``PUT /applications/{app}/commands`` or
  ``.../guilds/{guild}/commands``), then the gateway: HELLO, IDENTIFY, READY (with
  ``resume_gateway_url``, used for RESUME), GUILD_CREATE per guild.
* ``on_ready`` fires ``guild_ready_timeout`` seconds (default 2.0) after the last
  GUILD_CREATE: pass ``guild_ready_timeout=0.05`` (a ``Client`` keyword) in tests.
* After INVALID_SESSION (op 9, d=false) discord.py closes with 1000 and IDENTIFYs again on
  the gateway URL it last used (after a RESUME attempt: the resume URL, since
  ``Client.connect`` keeps ``ws_params['gateway']``); the fake accepts IDENTIFY and RESUME on
  both URLs. A re-IDENTIFY that is not the first one sleeps 5 s in
  ``Client.before_identify_hook``; tests of that path override the hook.
* Responses are parsed as JSON only if ``Content-Type`` is exactly ``application/json``.
  A 429 is retried only if it has a ``Via`` header and a JSON body with ``retry_after``;
  500/502/504 are retried after 1, 3, 5... seconds (so 500 faults make tests slow).
* Rate limits (``discord/http.py``, ``HTTPClient.request`` and ``Ratelimit``): buckets are
  keyed ``"{X-RateLimit-Bucket}:{channel_id}"`` (the hash learnt per route, the same for
  every channel); a new bucket starts at limit 1, so the first request to a channel goes
  alone. ``Ratelimit.update`` reads ``X-RateLimit-Limit``/``-Remaining`` and
  ``-Reset-After`` (``-Reset`` only with ``use_clock``) from every non-429 response that has
  ``X-RateLimit-Remaining``; when remaining reaches 0, ``Ratelimit.__aexit__`` sleeps
  ``reset_after`` *inside the call that emptied it* (the 5th ``send()`` of a window returns
  only when the window is over) and queued requests wait, so a bot paced by headers sends no
  429. A 429 is slept out (``retry_after``, global ones block every request) and retried up to
  5 tries in all. Without headers discord.py sends one request per bucket at a time.
* ``channel.send()`` sends a random ``nonce`` with ``enforce_nonce: true``;
  ``channel.history(after=x)`` asks ``?limit=100&after=x``, expects the answer newest first,
  pages on with ``data[0]`` and yields oldest first; ``before`` pages on with ``data[-1]``.
* Interaction callbacks are ``POST /interactions/{id}/{token}/callback?with_response=1``;
  ``InteractionCallbackResponse`` reads ``interaction.id``, ``response_message_id``,
  ``response_message_loading``, ``response_message_ephemeral`` and ``resource.type`` /
  ``resource.message``; the view of a ``send_message(view=...)`` is bound to
  ``response_message_id``. Followups (an application webhook) always use ``?wait=1``.
  Multipart (``payload_json`` + ``files[n]``) is only used when files are attached; every
  file part says ``application/octet-stream`` (the fake sniffs PNG/JPEG/GIF/WebP for the
  attachment's ``content_type``) and ``attachments`` lists ``{"id": n, "filename"}``.
* A ``LayoutView`` sets flag 1<<15 itself and sends ``content: null`` (``channel.send`` and
  ``send_message`` always send ``content``; null and "" count as unused), ``tts: false``,
  ``Container`` with ``accent_color: null`` when it has no colour and ``spoiler: false``,
  ``Thumbnail`` with ``description: null``, ``Separator`` as ``{"divider", "spacing"}``,
  media as ``{"url": ...}`` (a ``discord.File`` becomes ``attachment://<filename>``).
  discord.py itself refuses over 40 components, 10 gallery items, 3 section texts.
* ``ForumChannel.create_thread`` posts ``/channels/{forum}/threads?use_nested_fields=1`` with
  ``{"name", "auto_archive_duration" (the forum's default), "rate_limit_per_user": null,
  "type": 11, "applied_tags": ["id", ...], "message": {...}}`` (files: multipart as above)
  and reads a thread channel object with a nested ``message``; ``Message.publish`` posts
  ``/channels/{id}/messages/{id}/crosspost`` with no body.

Usage::

    from fake_discord import FakeDiscord, FakeGuild, FakeUser

    guild = FakeGuild.create("Papers HQ", channels=["general"])
    alice = guild.add_member(FakeUser.create("alice")).user
    async with FakeDiscord(guilds=[guild], token="fake-token") as fake:
        with fake.patch_discord():              # a plain (sync) context manager
            bot = MyBot(intents=discord.Intents.default(), guild_ready_timeout=0.05)
            task = asyncio.create_task(bot.start("fake-token"))
            await fake.wait_until_identified()  # then wait for on_ready (e.g. an Event)
            await fake.wait_for_sync(guild)     # if setup_hook syncs to the guild
            itx = await fake.slash(guild, guild.channel("general"), alice, "paper",
                                   subcommand="search", options={"query": "diffusion"})
            body = await itx.response()         # {"type": 4, "data": {...}}, waits
            message = await itx.original()      # the response message (after edits)
            click = await fake.click(message, label="Next")   # or custom_id="..."
            assert (await click.response())["type"] == 7
            auto = await fake.autocomplete(guild, guild.channel("general"), alice,
                                           "paper search", focused="query", value="diff")
            choices = await auto.choices()
            fake.fail_next("POST", r"/channels/\d+/messages", 429, retry_after=0.1)
            await fake.drop_gateway()           # discord.py resumes by itself
            await fake.wait_until_resumed()
            assert all(m == {"parse": []} for m in fake.allowed_mentions)
            await bot.close()
            await task
    # leaving the block raises FakeDiscordViolations if fake.violations is not empty

API (every ``wait*``/``response``/``original`` takes ``timeout=`` and raises TimeoutError)
------------------------------------------------------------------------------------------
* ``FakeDiscord(guilds, *, bot_user=None, app_id=None, token=None, ack_timeout=3.0,
  resume_mode="resume", heartbeat_interval_ms=41250, allowed_privileged_intents=0,
  global_rate_limit=None, channel_message_limit=None, channel_edit_limit=None,
  bot_permissions=Perm.DEFAULT_BOT, record_bodies=True, strict=True)``: ``fake.url``,
  ``fake.api_base``, ``fake.gateway_url``, ``fake.patch_discord()``. The bot user joins every
  guild with a managed role of ``bot_permissions``. ``token=None`` accepts any token.
  ``record_bodies=False`` keeps no request bodies (``requests[].json`` and
  ``message_writes[].body`` are None, attachment bytes are not kept; allowed_mentions are
  kept): for long benchmarks.
* Builders: ``FakeUser.create(name)``, ``FakeGuild.create(name, channels=[...], owner=None)``
  (an @everyone role whose id is the guild id, text channels, the owner as a member),
  ``guild.add_member(user, roles)``, ``guild.add_role(name, permissions)``,
  ``guild.add_channel(name, *, topic=None, type=0, tags=(), require_tag=False,
  default_reaction_emoji=None)`` (``type``: ``ChannelType.TEXT`` 0, ``ANNOUNCEMENT`` 5 or
  ``FORUM`` 15; a forum's ``tags`` are names or ``{"name", "moderated", "emoji_name"}``
  dicts, sent as ``available_tags``; ``channel.tag(name)`` gives one with its ``id``),
  ``channel.set_permissions(role_or_user, allow=, deny=)``, ``guild.channel(name)``,
  ``guild.threads()``, ``guild.permissions_for(user, channel)`` (a thread uses its parent's
  overwrites), ``Perm.*``, ``MessageFlag.*``;
  ``await fake.add_guild(guild)`` later sends a GUILD_CREATE. Builders change the fake's
  world at once but tell the bot nothing; these also tell it (GUILDS intent):
  ``await fake.add_channel(guild, name, **options)`` (CHANNEL_CREATE), ``await
  fake.update_channel(channel)`` (CHANNEL_UPDATE, or THREAD_UPDATE for a thread, with the
  channel as it is now, e.g. after ``set_permissions``: the bot's
  ``channel.permissions_for(guild.me)`` follows), ``await fake.delete_channel(channel)``
  (CHANNEL_DELETE or THREAD_DELETE; then every request to it gets 404 code 10003 "Unknown
  Channel"; its messages stay readable with ``fake.messages(channel)``).
* Waiting: ``wait_until_identified(count=1)``, ``wait_until_resumed(count=1)``,
  ``wait_until_connected()``, ``wait_for_sync(guild=None)``, ``wait_for_message(channel,
  where=None)``, ``wait_for_request(method, path_regex, count=1)``,
  ``wait_for_violation(kind)``.
* Interactions: ``slash(guild, channel, user, "paper", subcommand="search",
  options={...})`` (``"paper search"`` works too; option values are converted to the synced
  option types, users/channels/roles go to ``resolved``), ``autocomplete(..., focused=,
  value=, options=)``, ``click(message, custom_id=None, *, label=None, user=None)``,
  ``select(message, values, custom_id=None, *, placeholder=None, user=None)`` (``user``
  defaults to whoever invoked the interaction that created the message; a message the bot
  posted itself, e.g. ``channel.send(view=...)``, has no such user: pass ``user=`` or get a
  ValueError). The custom_id goes back verbatim (``vote:2401.08541:up``), so persistent
  views and ``DynamicItem`` templates route it in a restarted bot. Each returns a
  ``FakeInteraction``: ``payload`` (what was sent), ``await response()`` (the accepted
  callback body), ``await choices()``, ``await original(where=None)`` (the original response
  message once it is not "thinking"; for components: the clicked message), ``followups``,
  ``await wait_for_followups(n)``, ``acknowledged_after`` (seconds), ``callbacks`` (every
  callback body, rejected ones included).
* Records: ``requests`` (method, path, query, time, json, files, status, ``route`` = the
  route kind like ``"POST /channels/{cid}/messages"`` or "unsupported", ``held``,
  ``dropped``), ``requests_to()``, ``violations`` / ``take_violations(kind=None)``,
  ``message_writes`` / ``allowed_mentions``, ``messages(channel)`` (oldest first, ephemeral
  ones included; a thread's id works too), ``message_ids(channel)`` (no copies),
  ``message(id)``, ``threads(forum)`` (the forum's posts, oldest first: thread channel
  objects with ``applied_tags`` and ``"message"``, the first message as it is now),
  ``crossposts`` ({"channel_id", "message_id", "time"}), ``attachment_bytes(message,
  index=0)`` (the uploaded bytes; also served at the attachment's ``url``, so discord.py's
  ``await attachment.read()`` works),
  ``message_create_times(channel)`` (loop times of the ``POST /channels/{id}/messages``
  that created a message there), ``synced_commands`` ({guild id or None: [commands with
  ids]}), ``identifies`` / ``intents``, ``gateway_connections`` ({"kind":
  "gateway"|"resume", "query"}), ``gateway_log``, ``resume_count``, ``invalidated_count``,
  ``presence_updates``.
* Counters (kept as requests arrive; for benchmarks): ``request_counts`` (Counter by route
  kind), ``status_counts`` (Counter by status), ``rate_limit_hits`` (every 429 sent:
  ``RateLimitHit(kind, method, path, retry_after, time)``, kind "global", "channel" or
  "fault") and ``rate_limited_count``; ``stats()`` sums them up in a dict. Per-channel data
  is indexed per channel (nothing on the request path scans all messages or requests).

Behaviour worth knowing: the first followup after a "thinking" defer (callback type 5)
replaces the loading message, as on Discord; MESSAGE_CREATE/UPDATE/DELETE for non-ephemeral
messages are dispatched only with the GUILD_MESSAGES intent; GUILD_CREATE lists all members
only with GUILD_MEMBERS (else just the bot); privileged intents not in
``allowed_privileged_intents`` close the gateway with 4014; events dispatched while the bot is
disconnected are queued in its session and replayed on RESUME (lost on re-IDENTIFY).

Rules enforced (each breach answers like Discord does AND is recorded in ``fake.violations``;
with ``strict=True``, the default, leaving the ``async with`` raises if any were left there;
``fake.take_violations()`` returns and clears them for tests that provoke them on purpose):
an interaction must be acknowledged within ``ack_timeout`` (late: 404 code 10062, plus a
``interaction_not_acknowledged`` violation when the deadline passes), only once (400 code
40060), with a callback type valid for the interaction type; message bodies obey Discord's
limits (content 2000, 10 embeds, embed field limits, 6000 characters over all embeds,
5 action rows of at most 5 buttons or one select, 25 select options, custom_id 100...),
autocomplete answers at most 25 choices of names 1-100 chars (400 code 50035 "Invalid Form
Body" with Discord-style ``errors``); requests to routes the fake does not know
(``unsupported_route``); webhook/followup use before the acknowledgement. ``allowed_mentions``
of every message write (forum posts: kind ``forum_post``) is kept in ``fake.message_writes`` /
``fake.allowed_mentions``.

Components V2 (flag IS_COMPONENTS_V2, 1<<15; Discord's component reference and Create/Edit
Message docs; each breach a 400 code 50035 with an ``errors`` path such as
``components.0.components.2.items``, recorded as an ``invalid_body`` violation): ``content``,
``embeds``, ``sticker_ids`` and ``poll`` must be unused (null, "" or []); top-level
components are ActionRow 1, Section 9, TextDisplay 10, MediaGallery 12, File 13, Separator
14 or Container 17 (anything else, a bare Button included: ``UNION_TYPE_CHOICES`` on its
``type``); a Container holds 1+ of those but Containers; a Section 1-3 TextDisplays and
exactly one ``accessory``, a Thumbnail 11 or a Button 2; an ActionRow 1-5 buttons or one
select (buttons anywhere else are refused); at most 40 components counted recursively,
accessories included (gallery items are not components); at most 4,000 characters over all
TextDisplay ``content`` (one display may hold them all); a MediaGallery 1-10 items, each with
``media.url`` (descriptions up to 1,024); a Thumbnail needs ``media.url``; a File only takes
``attachment://``; media URLs are http(s) or ``attachment://<name>``, which must name a file
uploaded with the same request (``attachments[].filename`` renames, an edit may also name a
kept attachment); ``accent_color`` null or 0..0xFFFFFF; ``spoiler``/``divider`` booleans;
Separator ``spacing`` 1 or 2; ``id`` a 32-bit int, unique in the message (0 = none). Stored
V2 messages keep ``flags`` and ``components`` as Discord answers them: every component gets
an ``id`` (sequential, skipping given ones) and ``attachment://`` media are resolved to the
upload (``url``/``proxy_url`` of the attachment, ``attachment_id``, ``content_type``; a File
component also ``name``/``size``). Edits (channel, webhook, callback type 7) are checked as
the message would be afterwards: a V2 message stays V2 (``flags`` without the bit: refused,
the docs say it "can only be set"; ``content``/``embeds`` refused), and a legacy message may
become V2 only if the edit empties its ``content``/``embeds`` (``content: null``), as the Edit
Message docs say. The first followup after a thinking defer carries its V2 flag over.
``fake.click``/``select`` find buttons in containers, rows and section accessories.

Forum posts: ``POST /channels/{forum}/threads`` needs VIEW_CHANNEL and SEND_MESSAGES on the
forum ("Create Posts"; 403 code 50013), ``name`` 1-100, ``message`` (the message rules above,
V2 included, errors under ``message.``; empty: 50006), ``applied_tags`` at most 5 ids of the
forum's tags, ``auto_archive_duration`` 60/1440/4320/10080, ``rate_limit_per_user`` 0-21600
(else 50035); with ``require_tag`` and no tag: 400 code 40067. It answers the public thread
(type 11, ``parent_id``, ``owner_id``, ``applied_tags``, ``thread_metadata``, ``member``)
with ``message`` nested (its id is the thread's, as on Discord) and dispatches THREAD_CREATE
(``newly_created``) then MESSAGE_CREATE. Threads then take ``POST /channels/{thread}/messages``
(SEND_MESSAGES_IN_THREADS, not SEND_MESSAGES, on the parent), history, edits and deletes like
channels, and are listed in GUILD_CREATE ``threads``. ``POST /channels/{forum}/messages`` is
400 code 40058; ``POST /channels/{text}/threads`` is not modelled: 400 code 50024 plus an
``unsupported_route`` violation.

Crossposts: ``POST /channels/{id}/messages/{id}/crosspost`` in an announcement channel (type
5) sets flag CROSSPOSTED (1<<0, kept by later edits), dispatches MESSAGE_UPDATE, answers the
message and is recorded in ``fake.crossposts``; it needs SEND_MESSAGES (plus MANAGE_MESSAGES
for another author's message; 403 code 50013); again on the same message: 400 code 40033 "This
message has already been crossposted"; in any other channel: 400 code 50024 "Cannot execute
action on this channel type" (the docs give no code for it; discord.py documents Forbidden).

Rate limits: ``fake.set_global_rate_limit(rps, burst=None)`` (a token bucket over all
requests; over it a global 429) and ``fake.set_channel_message_limit((5, 5.0))`` (Discord's
per-channel message limit: at most 5 ``POST /channels/{id}/messages`` per channel in a fixed
5 s window that starts with the first one; None: off) / ``fake.set_channel_edit_limit(...)``
(``PATCH /channels/{id}/messages/{id}``, a bucket of its own); both also as constructor
options. The global bucket tells each request it rejects a retry time of its own, 1/rate
after the previous one's, so a herd of in-flight requests retries spread out, not all at once
for one token (each request still races new ones: sustained overload still fails requests,
discord.py gives up after 5 tries with HTTPException 429; it never paces the global limit
itself). While a per-channel limit is on, every non-429 answer of its route carries
``X-RateLimit-Limit``, ``-Remaining``, ``-Reset`` (epoch), ``-Reset-After`` (rounded up to the
ms) and ``-Bucket`` (one hash per route, as on Discord), so discord.py paces itself and sends
no 429; over the limit: 429 with ``Via``, JSON ``retry_after`` and ``global: false``, the
bucket headers and ``X-RateLimit-Scope: user``. Interaction callbacks and interaction
webhooks (followups, @original edits) are exempt from both, as on Discord. Every 429 is
counted in ``rate_limit_hits``.

Holding requests (freezing the bot mid-post, deterministically): ``gate = fake.hold(method,
path_regex, after=0, commit_first=False)`` holds matching requests (method or "*",
``re.fullmatch`` of the path after /api/v10) after letting the first ``after`` through, until
``gate.release()`` (then they go on in order, and the gate holds nothing more). A held request
has had no effect yet (no rate limit, fault, message): if its client disconnects (the bot
process was killed; ``task.cancel()`` of the ``send()`` or ``bot.close()`` does it in-process)
it is dropped, as a request Discord never received: ``record.dropped``, status None, no
message. With ``commit_first=True`` the request is carried out first (message created,
recorded, MESSAGE_CREATE dispatched) and only the answer is held: "Discord created the
message, the bot died before it learned the id". ``await gate.wait_blocked(count=1)`` waits
until ``count`` requests were held (``gate.held``, records), ``await gate.wait_dropped()``
until their clients went away (``gate.dropped``); ``gate.waiting`` is how many wait now.
Held requests still waiting when the fake closes end unanswered, with no effect.

Messages: ``GET /channels/{id}/messages`` takes Discord's ``limit`` (1-100, default 50; else
400 code 50035 and an ``invalid_query`` violation) and one of ``around`` (``limit // 2``
older messages and the rest from the id on), ``before`` (the ``limit`` right before the id),
``after`` (the ``limit`` right after the id), always newest first, non-ephemeral messages
only. A create with ``enforce_nonce: true`` and a ``nonce`` seen in the last
``fake.nonce_window`` seconds (300) returns that message and creates none, as on Discord: a
restarted bot can re-post idempotently with ``channel.send(..., nonce=...)``.

Faults: ``fake.fail_next(method, path_regex, status, times=1, retry_after=0.1)`` (the regex is
matched with ``re.fullmatch`` against the path after ``/api/v10``, e.g.
``r"/channels/\d+/messages"``; method ``"*"`` matches any),
``await fake.drop_gateway(code=4000)`` or ``drop_gateway(abort=True)`` (TCP drop),
``await fake.send_reconnect()`` (op 7), ``fake.resume_mode = "invalidate"`` (answer RESUME
with INVALID_SESSION so the bot re-identifies).

Limits of the fake: one shard; guild text, announcement and forum channels and the threads
of forum posts only (no DMs, voice, categories, media channels, threads in text channels,
private threads, thread archiving/locking/members, moderated-tag
checks, channel following, crosspost rate limits); no context-menu commands, attachment
options, modal submits, reactions, pins, polls, stickers, presences or member updates;
unfurled media are not fetched (no width/height/placeholder); mentions in content or text
displays are not parsed; only the
routes under a per-channel limit carry X-RateLimit-* headers (elsewhere discord.py never
waits pre-emptively); the gateway session keeps every dispatch (as text) for RESUME;
permissions are computed (owner, roles, administrator, channel overwrites) and checked on
channel routes only (interaction responses need none, as on Discord).
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import copy
import hashlib
import itertools
import json
import logging
import math
import mimetypes
import re
import secrets
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import WSMsgType, web

__all__ = [
    "ChannelType",
    "CommandNotSynced",
    "FakeChannel",
    "FakeDiscord",
    "FakeDiscordViolations",
    "FakeGuild",
    "FakeInteraction",
    "FakeMember",
    "FakeRole",
    "FakeUser",
    "Fault",
    "Gate",
    "Intent",
    "MessageFlag",
    "MessageWrite",
    "Overwrite",
    "Perm",
    "RateLimitHit",
    "RecordedRequest",
    "Violation",
    "new_snowflake",
    "validate_choices",
    "validate_commands",
    "validate_message",
]

log = logging.getLogger("fake_discord")

API_PREFIX = "/api/v10"
DISCORD_EPOCH_MS = 1420070400000
TOKEN_LIFETIME = 15 * 60.0


# --------------------------------------------------------------------------------------------
# ids, permissions


_counter = itertools.count()
_last_snowflake = 0


def new_snowflake() -> int:
    """A unique, increasing snowflake for "now" (discord.py reads creation times from ids)."""
    global _last_snowflake
    ms = int(time.time() * 1000) - DISCORD_EPOCH_MS
    value = max((ms << 22) | (next(_counter) & 0xFFF), _last_snowflake + 1)
    _last_snowflake = value
    return value


class Perm:
    """Permission bits (the subset a bot cares about)."""

    CREATE_INSTANT_INVITE = 1 << 0
    ADMINISTRATOR = 1 << 3
    MANAGE_CHANNELS = 1 << 4
    MANAGE_GUILD = 1 << 5
    ADD_REACTIONS = 1 << 6
    VIEW_CHANNEL = 1 << 10
    SEND_MESSAGES = 1 << 11
    MANAGE_MESSAGES = 1 << 13
    EMBED_LINKS = 1 << 14
    ATTACH_FILES = 1 << 15
    READ_MESSAGE_HISTORY = 1 << 16
    MENTION_EVERYONE = 1 << 17
    USE_EXTERNAL_EMOJIS = 1 << 18
    CONNECT = 1 << 20
    SPEAK = 1 << 21
    CHANGE_NICKNAME = 1 << 26
    USE_APPLICATION_COMMANDS = 1 << 31
    MANAGE_THREADS = 1 << 34
    CREATE_PUBLIC_THREADS = 1 << 35
    CREATE_PRIVATE_THREADS = 1 << 36
    SEND_MESSAGES_IN_THREADS = 1 << 38
    ALL = (1 << 51) - 1

    DEFAULT_EVERYONE = (
        CREATE_INSTANT_INVITE
        | ADD_REACTIONS
        | VIEW_CHANNEL
        | SEND_MESSAGES
        | EMBED_LINKS
        | ATTACH_FILES
        | READ_MESSAGE_HISTORY
        | USE_EXTERNAL_EMOJIS
        | CONNECT
        | SPEAK
        | CHANGE_NICKNAME
        | USE_APPLICATION_COMMANDS
        | CREATE_PUBLIC_THREADS
        | SEND_MESSAGES_IN_THREADS
    )
    DEFAULT_BOT = (
        VIEW_CHANNEL
        | SEND_MESSAGES
        | EMBED_LINKS
        | ATTACH_FILES
        | READ_MESSAGE_HISTORY
        | USE_EXTERNAL_EMOJIS
    )


class Intent:
    GUILDS = 1 << 0
    GUILD_MEMBERS = 1 << 1
    GUILD_PRESENCES = 1 << 8
    GUILD_MESSAGES = 1 << 9
    MESSAGE_CONTENT = 1 << 15
    PRIVILEGED = GUILD_MEMBERS | GUILD_PRESENCES | MESSAGE_CONTENT


class MessageFlag:
    CROSSPOSTED = 1 << 0
    SUPPRESS_EMBEDS = 1 << 2
    EPHEMERAL = 1 << 6
    LOADING = 1 << 7
    SUPPRESS_NOTIFICATIONS = 1 << 12
    IS_COMPONENTS_V2 = 1 << 15
    SETTABLE = SUPPRESS_EMBEDS | EPHEMERAL | SUPPRESS_NOTIFICATIONS | IS_COMPONENTS_V2


def _now_iso() -> str:
    return datetime.now(UTC).isoformat()


def _id_of(obj: Any) -> int:
    """An id from an int, a digit string, a fake model, or a message/channel dict."""
    if isinstance(obj, bool):
        raise TypeError(f"not an id: {obj!r}")
    if isinstance(obj, int):
        return obj
    if isinstance(obj, str) and obj.isdigit():
        return int(obj)
    if isinstance(obj, Mapping) and "id" in obj:
        return int(obj["id"])
    if isinstance(obj, FakeMember):
        return obj.user.id
    value = getattr(obj, "id", None)
    if isinstance(value, int):
        return value
    raise TypeError(f"cannot get an id from {obj!r}")


# --------------------------------------------------------------------------------------------
# guild model and builders


@dataclass(eq=False)
class FakeUser:
    id: int
    username: str
    global_name: str | None = None
    bot: bool = False

    @classmethod
    def create(cls, username: str, *, bot: bool = False, global_name: str | None = None):
        return cls(id=new_snowflake(), username=username, global_name=global_name, bot=bot)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": str(self.id),
            "username": self.username,
            "discriminator": "0",
            "global_name": self.global_name,
            "avatar": None,
            "public_flags": 0,
            "flags": 0,
            "avatar_decoration_data": None,
            "primary_guild": None,
            "collectibles": None,
        }
        if self.bot:
            data["bot"] = True
        return data


@dataclass(eq=False)
class FakeRole:
    id: int
    name: str
    permissions: int = 0
    position: int = 0
    managed: bool = False
    tags: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": str(self.id),
            "name": self.name,
            "permissions": str(self.permissions),
            "position": self.position,
            "color": 0,
            "colors": {"primary_color": 0, "secondary_color": None, "tertiary_color": None},
            "hoist": False,
            "managed": self.managed,
            "mentionable": False,
            "icon": None,
            "unicode_emoji": None,
            "flags": 0,
        }
        if self.tags is not None:
            data["tags"] = self.tags
        return data


@dataclass(eq=False)
class Overwrite:
    id: int
    type: int  # 0 role, 1 member
    allow: int = 0
    deny: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "type": self.type,
            "allow": str(self.allow),
            "deny": str(self.deny),
        }


class ChannelType:
    TEXT = 0
    ANNOUNCEMENT = 5
    ANNOUNCEMENT_THREAD = 10
    PUBLIC_THREAD = 11
    PRIVATE_THREAD = 12
    FORUM = 15
    THREADS = (ANNOUNCEMENT_THREAD, PUBLIC_THREAD, PRIVATE_THREAD)


FORUM_REQUIRE_TAG = 1 << 4  # channel flag: a forum post needs at least one tag


@dataclass(eq=False)
class FakeChannel:
    id: int
    name: str
    guild_id: int
    type: int = 0
    position: int = 0
    topic: str | None = None
    overwrites: list[Overwrite] = field(default_factory=list)
    # forum channels (type 15)
    available_tags: list[dict[str, Any]] = field(default_factory=list)
    default_reaction_emoji: dict[str, Any] | None = None
    flags: int = 0
    # threads (types 10, 11, 12)
    parent_id: int | None = None
    owner_id: int | None = None
    applied_tags: list[int] = field(default_factory=list)
    auto_archive_duration: int = 1440
    rate_limit_per_user: int = 0
    message_count: int = 0
    last_message_id: int | None = None
    created_at: str = field(default_factory=_now_iso)

    @property
    def is_thread(self) -> bool:
        return self.type in ChannelType.THREADS

    def tag(self, name: str) -> dict[str, Any]:
        """A forum tag by name: ``{"id": int, "name", "moderated", "emoji_id", "emoji_name"}``."""
        for tag in self.available_tags:
            if tag["name"] == name:
                return tag
        have = [t["name"] for t in self.available_tags]
        raise LookupError(f"channel {self.name!r} has no tag {name!r} (has {have})")

    def set_permissions(self, target: Any, *, allow: int = 0, deny: int = 0) -> None:
        """Add an overwrite for a role (FakeRole) or a member (FakeUser/FakeMember)."""
        kind = 0 if isinstance(target, FakeRole) else 1
        target_id = _id_of(target)
        self.overwrites = [o for o in self.overwrites if o.id != target_id]
        self.overwrites.append(Overwrite(target_id, kind, allow, deny))

    def to_dict(self, *, with_guild_id: bool = True) -> dict[str, Any]:
        if self.is_thread:
            return self._thread_dict()
        data: dict[str, Any] = {
            "id": str(self.id),
            "type": self.type,
            "name": self.name,
            "position": self.position,
            "permission_overwrites": [o.to_dict() for o in self.overwrites],
            "parent_id": None,
            "topic": self.topic,
            "nsfw": False,
            "last_message_id": str(self.last_message_id) if self.last_message_id else None,
            "rate_limit_per_user": 0,
            "flags": self.flags,
        }
        if self.type in (ChannelType.TEXT, ChannelType.ANNOUNCEMENT, ChannelType.FORUM):
            data["default_auto_archive_duration"] = 1440
            data["default_thread_rate_limit_per_user"] = 0
        if self.type == ChannelType.FORUM:
            data["available_tags"] = [
                {**t, "id": str(t["id"]), "emoji_id": t["emoji_id"] and str(t["emoji_id"])}
                for t in self.available_tags
            ]
            data["default_reaction_emoji"] = self.default_reaction_emoji
            data["default_sort_order"] = None
            data["default_forum_layout"] = 0
        if with_guild_id:
            data["guild_id"] = str(self.guild_id)
        return data

    def _thread_dict(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "guild_id": str(self.guild_id),
            "parent_id": str(self.parent_id),
            "owner_id": str(self.owner_id),
            "type": self.type,
            "name": self.name,
            "last_message_id": str(self.last_message_id) if self.last_message_id else None,
            "rate_limit_per_user": self.rate_limit_per_user,
            "message_count": self.message_count,
            "member_count": 1,
            "total_message_sent": self.message_count,
            "flags": self.flags,
            "applied_tags": [str(t) for t in self.applied_tags],
            "thread_metadata": {
                "archived": False,
                "auto_archive_duration": self.auto_archive_duration,
                "archive_timestamp": self.created_at,
                "locked": False,
                "create_timestamp": self.created_at,
            },
        }


@dataclass(eq=False)
class FakeMember:
    user: FakeUser
    roles: list[int] = field(default_factory=list)
    nick: str | None = None
    joined_at: str = field(default_factory=_now_iso)

    def to_dict(self, *, with_user: bool = True, permissions: int | None = None) -> dict:
        data: dict[str, Any] = {
            "roles": [str(r) for r in self.roles],
            "nick": self.nick,
            "avatar": None,
            "banner": None,
            "joined_at": self.joined_at,
            "premium_since": None,
            "deaf": False,
            "mute": False,
            "pending": False,
            "flags": 0,
            "communication_disabled_until": None,
            "unusual_dm_activity_until": None,
        }
        if with_user:
            data["user"] = self.user.to_dict()
        if permissions is not None:
            data["permissions"] = str(permissions)
        return data


@dataclass(eq=False)
class FakeGuild:
    id: int
    name: str
    owner_id: int
    roles: dict[int, FakeRole] = field(default_factory=dict)
    channels: dict[int, FakeChannel] = field(default_factory=dict)
    members: dict[int, FakeMember] = field(default_factory=dict)
    locale: str = "en-US"

    @classmethod
    def create(
        cls,
        name: str = "Test Guild",
        *,
        channels: Iterable[str] = ("general",),
        owner: FakeUser | None = None,
        everyone_permissions: int = Perm.DEFAULT_EVERYONE,
    ) -> FakeGuild:
        """A guild with an @everyone role (id = guild id), text channels and its owner."""
        owner = owner or FakeUser.create(f"{name.lower().replace(' ', '-')}-owner")
        guild = cls(id=new_snowflake(), name=name, owner_id=owner.id)
        guild.roles[guild.id] = FakeRole(guild.id, "@everyone", everyone_permissions, 0)
        for channel in channels:
            guild.add_channel(channel)
        guild.add_member(owner)
        return guild

    @property
    def everyone(self) -> FakeRole:
        return self.roles[self.id]

    def add_channel(
        self,
        name: str,
        *,
        topic: str | None = None,
        type: int = ChannelType.TEXT,  # noqa: A002  (Discord's name for it)
        tags: Iterable[str | Mapping[str, Any]] = (),
        require_tag: bool = False,
        default_reaction_emoji: str | None = None,
    ) -> FakeChannel:
        """A text (0), announcement (5) or forum (15) channel. A forum's ``tags`` are names or
        ``{"name", "moderated", "emoji_name"}`` dicts (ids are made up: ``channel.tag(name)``);
        ``require_tag`` sets the REQUIRE_TAG flag; ``default_reaction_emoji`` a unicode emoji."""
        if type not in (ChannelType.TEXT, ChannelType.ANNOUNCEMENT, ChannelType.FORUM):
            raise ValueError(f"the fake models channel types 0, 5 and 15, not {type}")
        if (tags or require_tag or default_reaction_emoji) and type != ChannelType.FORUM:
            raise ValueError("tags, require_tag and default_reaction_emoji are forum options")
        position = len([c for c in self.channels.values() if not c.is_thread])
        channel = FakeChannel(new_snowflake(), name, self.id, type, position, topic)
        for tag in tags:
            spec = {"name": tag} if isinstance(tag, str) else dict(tag)
            channel.available_tags.append(
                {
                    "id": new_snowflake(),
                    "name": spec["name"],
                    "moderated": bool(spec.get("moderated", False)),
                    "emoji_id": spec.get("emoji_id"),
                    "emoji_name": spec.get("emoji_name"),
                }
            )
        if require_tag:
            channel.flags |= FORUM_REQUIRE_TAG
        if default_reaction_emoji is not None:
            channel.default_reaction_emoji = {
                "emoji_id": None,
                "emoji_name": default_reaction_emoji,
            }
        self.channels[channel.id] = channel
        return channel

    def threads(self) -> list[FakeChannel]:
        return [c for c in self.channels.values() if c.is_thread]

    def add_role(self, name: str, permissions: int = 0, **kwargs: Any) -> FakeRole:
        role = FakeRole(new_snowflake(), name, permissions, len(self.roles), **kwargs)
        self.roles[role.id] = role
        return role

    def add_member(self, user: FakeUser, roles: Iterable[FakeRole | int] = ()) -> FakeMember:
        member = FakeMember(user, [_id_of(r) for r in roles])
        self.members[user.id] = member
        return member

    def channel(self, name_or_id: str | int) -> FakeChannel:
        for channel in self.channels.values():
            if name_or_id in (channel.name, channel.id):
                return channel
        raise LookupError(f"guild {self.name!r} has no channel {name_or_id!r}")

    def member(self, user: Any) -> FakeMember:
        user_id = _id_of(user)
        try:
            return self.members[user_id]
        except KeyError:
            raise LookupError(
                f"user {user_id} is not a member of guild {self.name!r}; use guild.add_member()"
            ) from None

    def permissions_for(self, user: Any, channel: FakeChannel | None = None) -> int:
        """Discord's algorithm: owner, @everyone + roles, administrator, then overwrites."""
        member = self.member(user)
        if member.user.id == self.owner_id:
            return Perm.ALL
        perms = self.everyone.permissions
        for role_id in member.roles:
            role = self.roles.get(role_id)
            if role is not None:
                perms |= role.permissions
        if perms & Perm.ADMINISTRATOR:
            return Perm.ALL
        if channel is None:
            return perms
        if channel.is_thread and channel.parent_id in self.channels:
            channel = self.channels[channel.parent_id]  # a thread has its parent's overwrites
        by_id = {o.id: o for o in channel.overwrites}
        everyone = by_id.get(self.id)
        if everyone is not None:
            perms = (perms & ~everyone.deny) | everyone.allow
        allow = deny = 0
        for o in channel.overwrites:
            if o.type == 0 and o.id in member.roles:
                allow |= o.allow
                deny |= o.deny
        perms = (perms & ~deny) | allow
        own = by_id.get(member.user.id)
        if own is not None and own.type == 1:
            perms = (perms & ~own.deny) | own.allow
        return perms

    def to_gateway(self, *, members: Iterable[FakeMember]) -> dict[str, Any]:
        member_list = list(members)
        return {
            "id": str(self.id),
            "name": self.name,
            "icon": None,
            "splash": None,
            "discovery_splash": None,
            "banner": None,
            "description": None,
            "owner_id": str(self.owner_id),
            "afk_channel_id": None,
            "afk_timeout": 300,
            "verification_level": 0,
            "default_message_notifications": 0,
            "explicit_content_filter": 0,
            "mfa_level": 0,
            "nsfw_level": 0,
            "premium_tier": 0,
            "premium_subscription_count": 0,
            "premium_progress_bar_enabled": False,
            "system_channel_id": None,
            "system_channel_flags": 0,
            "rules_channel_id": None,
            "public_updates_channel_id": None,
            "safety_alerts_channel_id": None,
            "preferred_locale": self.locale,
            "features": [],
            "max_members": 500000,
            "vanity_url_code": None,
            "application_id": None,
            "widget_enabled": False,
            "roles": [r.to_dict() for r in self.roles.values()],
            "emojis": [],
            "stickers": [],
            "channels": [
                c.to_dict(with_guild_id=False) for c in self.channels.values() if not c.is_thread
            ],
            "threads": [c.to_dict() for c in self.channels.values() if c.is_thread],
            "members": [m.to_dict() for m in member_list],
            "member_count": len(self.members),
            "presences": [],
            "voice_states": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "soundboard_sounds": [],
            "joined_at": _now_iso(),
            "large": False,
            "lazy": True,
            "unavailable": False,
        }


# --------------------------------------------------------------------------------------------
# records


@dataclass(eq=False)
class RecordedRequest:
    method: str
    path: str  # after /api/v10
    query: dict[str, str]
    time: float  # loop time
    json: Any  # the parsed JSON body (or multipart payload_json), else None
    files: list[tuple[str, int]] = field(default_factory=list)  # (filename, size)
    status: int | None = None  # None: not answered (yet), or never (``dropped``)
    route: str = ""  # the route kind, e.g. "POST /channels/{cid}/messages" ("unsupported")
    held: bool = False  # a Gate held it (see FakeDiscord.hold)
    dropped: bool = False  # the client went away while it was held: the answer never left


@dataclass
class RateLimitHit:
    """One 429 the fake sent: ``kind`` is "global" (the token bucket), "channel" (a
    per-channel window) or "fault" (``fail_next(..., 429)``)."""

    kind: str
    method: str
    path: str
    retry_after: float
    time: float  # loop time


@dataclass
class Violation:
    kind: str
    message: str
    method: str | None = None
    path: str | None = None
    interaction_id: int | None = None
    details: Any = None

    def __str__(self) -> str:
        where = f" [{self.method} {self.path}]" if self.method else ""
        return f"{self.kind}: {self.message}{where}"


class FakeDiscordViolations(AssertionError):
    """Raised when a strict FakeDiscord closes with violations left in ``fake.violations``."""


class CommandNotSynced(LookupError):
    """slash()/autocomplete() named a command (or option) the bot did not sync."""


@dataclass
class MessageWrite:
    """One message-creating/editing body the bot sent (for allowed_mentions and similar)."""

    kind: str  # channel_create, channel_edit, callback, followup, webhook_edit
    method: str
    path: str
    message_id: int | None
    body: dict[str, Any] | None  # None with FakeDiscord(record_bodies=False)
    allowed_mentions: dict[str, Any] | None
    time: float


@dataclass
class Fault:
    method: str
    path_regex: str
    status: int
    times: int
    retry_after: float = 0.1
    code: int | None = None
    message: str | None = None
    global_: bool = False
    hits: int = 0

    def matches(self, method: str, path: str) -> bool:
        return (
            self.times > 0
            and self.method in ("*", method)
            and re.fullmatch(self.path_regex, path) is not None
        )


class ApiError(Exception):
    def __init__(self, status: int, code: int, message: str, errors: dict | None = None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.errors = errors

    def body(self) -> dict[str, Any]:
        data: dict[str, Any] = {"message": self.message, "code": self.code}
        if self.errors:
            data["errors"] = self.errors
        return data


def _guess_type(filename: str, data: bytes) -> str:
    """A content type from the bytes (PNG, JPEG, GIF, WebP) or the name, as Discord sniffs."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    guessed, _ = mimetypes.guess_type(filename)
    return guessed or "application/octet-stream"


def _json_response(data: Any, status: int = 200, headers: Mapping[str, str] | None = None):
    # Exactly "application/json": discord.py treats "application/json; charset=utf-8" as text.
    all_headers = {"Content-Type": "application/json"}
    all_headers.update(headers or {})
    return web.Response(status=status, body=json.dumps(data).encode(), headers=all_headers)


def _no_content() -> web.Response:
    return web.Response(status=204)


# --------------------------------------------------------------------------------------------
# validation (Discord-style nested "errors")


def _set_error(errors: dict, path: Iterable[str | int], code: str, message: str) -> None:
    node = errors
    for key in path:
        node = node.setdefault(str(key), {})
    node.setdefault("_errors", []).append({"code": code, "message": message})


def _check_len(errors, path, value, maximum, *, minimum=0) -> None:
    if value is None:
        return
    if not isinstance(value, str):
        _set_error(errors, path, "BASE_TYPE_STRING", "Must be a string.")
    elif not minimum <= len(value) <= maximum:
        if minimum:
            msg = f"Must be between {minimum} and {maximum} in length."
            _set_error(errors, path, "BASE_TYPE_BAD_LENGTH", msg)
        else:
            msg = f"Must be {maximum} or fewer in length."
            _set_error(errors, path, "BASE_TYPE_MAX_LENGTH", msg)


def _embed_size(embed: Mapping[str, Any]) -> int:
    size = len(embed.get("title") or "") + len(embed.get("description") or "")
    size += len((embed.get("footer") or {}).get("text") or "")
    size += len((embed.get("author") or {}).get("name") or "")
    for f in embed.get("fields") or []:
        size += len(f.get("name") or "") + len(f.get("value") or "")
    return size


def validate_message(
    body: Mapping[str, Any], *, v2: bool | None = None, filenames: Iterable[str] | None = None
) -> dict[str, Any]:
    """Discord's limits on a message body; returns the nested ``errors`` ({} if valid).

    ``v2``: validate as a Components V2 message (default: the body's IS_COMPONENTS_V2 flag).
    ``filenames``: the files uploaded with it, which ``attachment://`` references must name
    (None: not checked)."""
    errors: dict[str, Any] = {}
    if v2 is None:
        v2 = bool((body.get("flags") or 0) & MessageFlag.IS_COMPONENTS_V2)
    if v2:
        for key in _V2_LEGACY_FIELDS:
            if body.get(key):  # null, "" and [] are "not used"
                msg = f"The '{key}' field cannot be used when using MessageFlags.IS_COMPONENTS_V2"
                _set_error(
                    errors, [key], "MESSAGE_CANNOT_USE_LEGACY_FIELDS_WITH_COMPONENTS_V2", msg
                )
    _check_len(errors, ["content"], body.get("content"), 2000)
    embeds = body.get("embeds") or []
    if len(embeds) > 10:
        _set_error(errors, ["embeds"], "BASE_TYPE_MAX_LENGTH", "Must be 10 or fewer in length.")
    for i, embed in enumerate(embeds):
        base = ["embeds", i]
        _check_len(errors, [*base, "title"], embed.get("title"), 256)
        _check_len(errors, [*base, "description"], embed.get("description"), 4096)
        _check_len(errors, [*base, "footer", "text"], (embed.get("footer") or {}).get("text"), 2048)
        _check_len(errors, [*base, "author", "name"], (embed.get("author") or {}).get("name"), 256)
        fields = embed.get("fields") or []
        if len(fields) > 25:
            msg = "Must be 25 or fewer in length."
            _set_error(errors, [*base, "fields"], "BASE_TYPE_MAX_LENGTH", msg)
        for j, f in enumerate(fields):
            for key, maximum in (("name", 256), ("value", 1024)):
                value = f.get(key)
                if value is None or value == "":
                    msg = "This field is required"
                    _set_error(errors, [*base, "fields", j, key], "BASE_TYPE_REQUIRED", msg)
                else:
                    _check_len(errors, [*base, "fields", j, key], value, maximum)
    if sum(_embed_size(e) for e in embeds) > 6000:
        msg = "Embed size exceeds maximum size of 6000"
        _set_error(errors, ["embeds"], "MAX_EMBED_SIZE_EXCEEDED", msg)
    components = body.get("components") or []
    _validate_components(errors, components, v2=v2, filenames=filenames)
    return errors


def _has_content(body: Mapping[str, Any]) -> bool:
    keys = ("content", "embeds", "components", "attachments", "sticker_ids", "poll")
    return any(body.get(k) for k in keys)


_SELECT_TYPES = {3, 5, 6, 7, 8}


def _validate_components(
    errors: dict, components: list, *, v2: bool, filenames: Iterable[str] | None = None
) -> None:
    seen: set[str] = set()

    def check_interactive(path: list, comp: Mapping[str, Any]) -> None:
        ctype = comp.get("type")
        custom_id = comp.get("custom_id")
        if ctype == 2 and comp.get("style") in (5, 6):  # link / premium buttons
            if custom_id is not None:
                msg = "Link buttons cannot have a custom_id"
                _set_error(errors, [*path, "custom_id"], "BUTTON_COMPONENT_INVALID", msg)
        elif ctype == 2 or ctype in _SELECT_TYPES:
            if not custom_id:
                msg = "This field is required"
                _set_error(errors, [*path, "custom_id"], "BASE_TYPE_REQUIRED", msg)
            else:
                _check_len(errors, [*path, "custom_id"], custom_id, 100)
                if custom_id in seen:
                    msg = "Component custom id cannot be duplicated"
                    _set_error(errors, [*path, "custom_id"], "COMPONENT_CUSTOM_ID_DUPLICATED", msg)
                seen.add(custom_id)
        if ctype == 2:
            _check_len(errors, [*path, "label"], comp.get("label"), 80)
        if ctype in _SELECT_TYPES:
            _check_len(errors, [*path, "placeholder"], comp.get("placeholder"), 150)
            options = comp.get("options") or []
            if ctype == 3 and not 1 <= len(options) <= 25:
                msg = "Must be between 1 and 25 in length."
                _set_error(errors, [*path, "options"], "BASE_TYPE_BAD_LENGTH", msg)
            for k, option in enumerate(options):
                _check_len(errors, [*path, "options", k, "label"], option.get("label"), 100)
                _check_len(errors, [*path, "options", k, "value"], option.get("value"), 100)
                desc = option.get("description")
                _check_len(errors, [*path, "options", k, "description"], desc, 100)
            for key in ("min_values", "max_values"):
                value = comp.get(key)
                if value is not None and not 0 <= value <= 25:
                    msg = "int value should be between 0 and 25."
                    _set_error(errors, [*path, key], "NUMBER_TYPE_MAX", msg)

    if v2:
        _validate_v2_layout(errors, components, check_interactive, filenames)
        return

    if len(components) > 5:
        _set_error(errors, ["components"], "BASE_TYPE_MAX_LENGTH", "Must be 5 or fewer in length.")
    for i, row in enumerate(components):
        path = ["components", i]
        if row.get("type") != 1:
            msg = "Top-level components must be action rows"
            _set_error(errors, [*path, "type"], "COMPONENT_LAYOUT_INVALID", msg)
            continue
        children = row.get("components") or []
        if not children:
            msg = "Must be between 1 and 5 in length."
            _set_error(errors, [*path, "components"], "BASE_TYPE_BAD_LENGTH", msg)
        selects = [c for c in children if c.get("type") in _SELECT_TYPES]
        if len(children) > 5 or (selects and len(children) > 1):
            msg = "The specified component exceeds the maximum width"
            _set_error(errors, [*path, "components"], "COMPONENT_LAYOUT_WIDTH_EXCEEDED", msg)
        for j, comp in enumerate(children):
            check_interactive([*path, "components", j], comp)


# Components V2 (message flag IS_COMPONENTS_V2): which component types may sit where.
# action row, section, text display, media gallery, file, separator, container
V2_TOP_LEVEL = {1, 9, 10, 12, 13, 14, 17}
V2_IN_CONTAINER = {1, 9, 10, 12, 13, 14}
V2_COMPONENT_LIMIT = 40  # every component, nested ones and accessories included
V2_TEXT_LIMIT = 4000  # characters over all text displays of a message
_V2_LEGACY_FIELDS = ("content", "embeds", "sticker_ids", "poll")


def _type_choices(errors: dict, path: list, allowed: Iterable[int]) -> None:
    choices = ", ".join(str(t) for t in sorted(allowed))
    msg = f'Value of field "type" must be one of ({choices}).'
    _set_error(errors, path, "UNION_TYPE_CHOICES", msg)


def _check_bool(errors: dict, path: list, value: Any) -> None:
    if value is not None and not isinstance(value, bool):
        _set_error(errors, path, "BASE_TYPE_BOOLEAN", "Must be either true or false.")


def _check_media(
    errors: dict, path: list, media: Any, filenames: Iterable[str] | None, *, attachment_only=False
) -> None:
    """An unfurled media item: ``{"url": ...}``, http(s) or ``attachment://<uploaded name>``."""
    if not isinstance(media, Mapping) or not media.get("url"):
        _set_error(errors, [*path, "url"], "BASE_TYPE_REQUIRED", "This field is required")
        return
    url = media["url"]
    if not isinstance(url, str):
        _set_error(errors, [*path, "url"], "BASE_TYPE_STRING", "Must be a string.")
        return
    if url.startswith("attachment://"):
        name = url[len("attachment://") :]
        if filenames is not None and name not in set(filenames):
            msg = f"Attachment {name!r} was not uploaded with this message"
            _set_error(errors, [*path, "url"], "UNFURLED_MEDIA_ITEM_ATTACHMENT_NOT_FOUND", msg)
    elif attachment_only:
        msg = "File components only support attachment:// references"
        _set_error(errors, [*path, "url"], "UNFURLED_MEDIA_ITEM_INVALID_PROTOCOL", msg)
    elif not re.match(r"https?://[^\s/]+", url):
        msg = "Scheme must be one of ('http', 'https', 'attachment')."
        _set_error(errors, [*path, "url"], "URL_TYPE_INVALID_SCHEME", msg)
    else:
        _check_len(errors, [*path, "url"], url, 2048)


def _validate_v2_layout(
    errors: dict,
    components: list,
    check_interactive: Callable[[list, Mapping[str, Any]], None],
    filenames: Iterable[str] | None,
) -> None:
    """Discord's rules for a message with the IS_COMPONENTS_V2 flag (see the module docstring)."""
    count = 0
    text = 0
    ids: set[int] = set()
    names = None if filenames is None else set(filenames)

    def common(path: list, comp: Mapping[str, Any]) -> None:
        nonlocal count
        count += 1
        cid = comp.get("id")
        if cid is None or cid == 0:  # 0 is "empty": Discord assigns one
            return
        if not isinstance(cid, int) or isinstance(cid, bool) or not 0 < cid < 2**31:
            msg = "int value should be between 0 and 2147483647."
            _set_error(errors, [*path, "id"], "NUMBER_TYPE_MAX", msg)
        elif cid in ids:
            msg = "Component id must be unique within a message"
            _set_error(errors, [*path, "id"], "COMPONENT_ID_DUPLICATED", msg)
        ids.add(cid)

    def button(path: list, comp: Mapping[str, Any]) -> None:
        common(path, comp)
        check_interactive(path, comp)

    def action_row(path: list, row: Mapping[str, Any]) -> None:
        common(path, row)
        children = row.get("components") or []
        if not children:
            msg = "Must be between 1 and 5 in length."
            _set_error(errors, [*path, "components"], "BASE_TYPE_BAD_LENGTH", msg)
        selects = [c for c in children if c.get("type") in _SELECT_TYPES]
        if len(children) > 5 or (selects and len(children) > 1):
            msg = "The specified component exceeds the maximum width"
            _set_error(errors, [*path, "components"], "COMPONENT_LAYOUT_WIDTH_EXCEEDED", msg)
        for j, comp in enumerate(children):
            cpath = [*path, "components", j]
            if comp.get("type") != 2 and comp.get("type") not in _SELECT_TYPES:
                _type_choices(errors, [*cpath, "type"], {2, *_SELECT_TYPES})
                continue
            button(cpath, comp)

    def text_display(path: list, comp: Mapping[str, Any]) -> None:
        nonlocal text
        common(path, comp)
        content = comp.get("content")
        if not isinstance(content, str) or not content:
            _set_error(errors, [*path, "content"], "BASE_TYPE_REQUIRED", "This field is required")
        else:
            text += len(content)

    def section(path: list, comp: Mapping[str, Any]) -> None:
        common(path, comp)
        children = comp.get("components") or []
        if not 1 <= len(children) <= 3:
            msg = "Must be between 1 and 3 in length."
            _set_error(errors, [*path, "components"], "BASE_TYPE_BAD_LENGTH", msg)
        for j, child in enumerate(children):
            if child.get("type") != 10:
                _type_choices(errors, [*path, "components", j, "type"], {10})
            else:
                text_display([*path, "components", j], child)
        accessory = comp.get("accessory")
        apath = [*path, "accessory"]
        if not isinstance(accessory, Mapping):
            _set_error(errors, apath, "BASE_TYPE_REQUIRED", "This field is required")
        elif accessory.get("type") == 2:
            button(apath, accessory)
        elif accessory.get("type") == 11:
            common(apath, accessory)
            _check_media(errors, [*apath, "media"], accessory.get("media"), names)
            _check_len(errors, [*apath, "description"], accessory.get("description"), 1024)
            _check_bool(errors, [*apath, "spoiler"], accessory.get("spoiler"))
        else:
            _type_choices(errors, [*apath, "type"], {2, 11})

    def gallery(path: list, comp: Mapping[str, Any]) -> None:
        common(path, comp)
        items = comp.get("items") or []
        if not 1 <= len(items) <= 10:
            msg = "Must be between 1 and 10 in length."
            _set_error(errors, [*path, "items"], "BASE_TYPE_BAD_LENGTH", msg)
        for j, item in enumerate(items):
            ipath = [*path, "items", j]
            if not isinstance(item, Mapping):
                _set_error(errors, ipath, "DICT_TYPE_CONVERT", "Only dictionaries may be used")
                continue
            _check_media(errors, [*ipath, "media"], item.get("media"), names)
            _check_len(errors, [*ipath, "description"], item.get("description"), 1024)
            _check_bool(errors, [*ipath, "spoiler"], item.get("spoiler"))

    def file(path: list, comp: Mapping[str, Any]) -> None:
        common(path, comp)
        _check_media(errors, [*path, "file"], comp.get("file"), names, attachment_only=True)
        _check_bool(errors, [*path, "spoiler"], comp.get("spoiler"))

    def separator(path: list, comp: Mapping[str, Any]) -> None:
        common(path, comp)
        _check_bool(errors, [*path, "divider"], comp.get("divider"))
        spacing = comp.get("spacing")
        if spacing is not None and spacing not in (1, 2):
            _set_error(
                errors, [*path, "spacing"], "BASE_TYPE_CHOICES", "Value must be one of (1, 2)."
            )

    def container(path: list, comp: Mapping[str, Any]) -> None:
        common(path, comp)
        colour = comp.get("accent_color")
        if colour is not None and (
            not isinstance(colour, int) or isinstance(colour, bool) or not 0 <= colour <= 0xFFFFFF
        ):
            msg = "int value should be between 0 and 16777215."
            _set_error(errors, [*path, "accent_color"], "NUMBER_TYPE_MAX", msg)
        _check_bool(errors, [*path, "spoiler"], comp.get("spoiler"))
        children = comp.get("components") or []
        if not children:
            msg = "Must be 1 or more in length."
            _set_error(errors, [*path, "components"], "BASE_TYPE_MIN_LENGTH", msg)
        for j, child in enumerate(children):
            one(child, [*path, "components", j], V2_IN_CONTAINER)

    handlers: dict[int, Callable[[list, Mapping[str, Any]], None]] = {
        1: action_row,
        9: section,
        10: text_display,
        12: gallery,
        13: file,
        14: separator,
        17: container,
    }

    def one(comp: Any, path: list, allowed: set[int]) -> None:
        if not isinstance(comp, Mapping):
            _set_error(errors, path, "DICT_TYPE_CONVERT", "Only dictionaries may be used")
            return
        if comp.get("type") not in allowed:
            _type_choices(errors, [*path, "type"], allowed)
            return
        handlers[comp["type"]](path, comp)

    if not components:
        msg = "Must be 1 or more in length."
        _set_error(errors, ["components"], "BASE_TYPE_MIN_LENGTH", msg)
    for i, comp in enumerate(components):
        one(comp, ["components", i], V2_TOP_LEVEL)
    if count > V2_COMPONENT_LIMIT:
        msg = f"Must be {V2_COMPONENT_LIMIT} or fewer in length."
        _set_error(errors, ["components"], "BASE_TYPE_MAX_LENGTH", msg)
    if text > V2_TEXT_LIMIT:
        msg = f"The text of all text displays must be {V2_TEXT_LIMIT} or fewer in length ({text})."
        _set_error(errors, ["components"], "COMPONENTS_TEXT_LENGTH_EXCEEDED", msg)


def validate_choices(data: Mapping[str, Any]) -> dict[str, Any]:
    errors: dict[str, Any] = {}
    choices = data.get("choices")
    if not isinstance(choices, list):
        _set_error(errors, ["choices"], "BASE_TYPE_REQUIRED", "This field is required")
        return errors
    if len(choices) > 25:
        _set_error(errors, ["choices"], "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length.")
    for i, choice in enumerate(choices):
        _check_len(errors, ["choices", i, "name"], choice.get("name"), 100, minimum=1)
        value = choice.get("value")
        if isinstance(value, str):
            _check_len(errors, ["choices", i, "value"], value, 100)
        elif not isinstance(value, int | float) or isinstance(value, bool):
            msg = "Must be a string, integer or number."
            _set_error(errors, ["choices", i, "value"], "BASE_TYPE_CHOICES", msg)
    return errors


def validate_commands(payload: Any) -> dict[str, Any]:
    errors: dict[str, Any] = {}
    if not isinstance(payload, list):
        _set_error(errors, [], "BASE_TYPE_ARRAY", "Must be an array.")
        return errors
    if len(payload) > 100:
        _set_error(errors, [], "BASE_TYPE_MAX_LENGTH", "Must be 100 or fewer in length.")

    def check_options(path: list, options: list) -> None:
        if len(options) > 25:
            msg = "Must be 25 or fewer in length."
            _set_error(errors, [*path, "options"], "BASE_TYPE_MAX_LENGTH", msg)
        seen_optional = False
        for i, option in enumerate(options):
            opath = [*path, "options", i]
            check_name(opath, option.get("name"))
            _check_len(errors, [*opath, "description"], option.get("description"), 100, minimum=1)
            check_localizations(opath, option)
            if option.get("type") in (1, 2):
                check_options(opath, option.get("options") or [])
                continue
            if option.get("required"):
                if seen_optional:
                    msg = "Required options must be placed before non-required options"
                    _set_error(errors, opath, "APPLICATION_COMMAND_OPTIONS_ORDER_INVALID", msg)
            else:
                seen_optional = True
            if len(option.get("choices") or []) > 25:
                msg = "Must be 25 or fewer in length."
                _set_error(errors, [*opath, "choices"], "BASE_TYPE_MAX_LENGTH", msg)

    def check_localizations(path: list, item: dict) -> None:
        # Translated descriptions obey the description's own limit, per locale.
        for locale, text in (item.get("description_localizations") or {}).items():
            _check_len(errors, [*path, "description_localizations", locale], text, 100, minimum=1)

    def check_name(path: list, name: Any) -> None:
        if (
            not isinstance(name, str)
            or not re.fullmatch(r"[-_\w]{1,32}", name)
            or name.lower() != name
        ):
            msg = "Command name is invalid"
            _set_error(errors, [*path, "name"], "APPLICATION_COMMAND_INVALID_NAME", msg)

    names: set[tuple[int, str]] = set()
    for i, command in enumerate(payload):
        ctype = command.get("type", 1)
        if ctype == 1:
            check_name([i], command.get("name"))
            desc = command.get("description")
            _check_len(errors, [i, "description"], desc, 100, minimum=1)
            check_localizations([i], command)
            check_options([i], command.get("options") or [])
        key = (ctype, command.get("name"))
        if key in names:
            msg = "Application command names must be unique"
            _set_error(errors, [i, "name"], "APPLICATION_COMMANDS_DUPLICATE_NAME", msg)
        names.add(key)
    return errors


# --------------------------------------------------------------------------------------------
# interactions


class FakeInteraction:
    """A handle on one INTERACTION_CREATE the fake sent, and on what the bot did with it."""

    def __init__(
        self,
        fake: FakeDiscord,
        *,
        type: int,
        payload: dict,
        guild: FakeGuild,
        channel: FakeChannel,
        user: FakeUser,
        name: str | None,
        source_message_id: int | None,
    ):
        self._fake = fake
        self.id: int = int(payload["id"])
        self.token: str = payload["token"]
        self.type = type
        self.payload = payload
        self.guild = guild
        self.channel = channel
        self.user = user
        self.name = name
        self.source_message_id = source_message_id
        self.created: float = fake._loop_time()
        self.ack_limit: float = fake.ack_timeout  # the window this interaction was created with
        self.ack: dict[str, Any] | None = None
        self.ack_time: float | None = None
        self.callbacks: list[dict[str, Any]] = []  # every callback body received, accepted or not
        self.original_message_id: int | None = None
        self.followup_ids: list[int] = []
        self.deadline: asyncio.TimerHandle | None = None

    def __repr__(self) -> str:
        return f"<FakeInteraction id={self.id} type={self.type} name={self.name!r}>"

    @property
    def acknowledged(self) -> bool:
        return self.ack is not None

    @property
    def acknowledged_after(self) -> float | None:
        """Seconds from INTERACTION_CREATE to the accepted callback (None if none yet)."""
        return None if self.ack_time is None else self.ack_time - self.created

    async def response(self, timeout: float = 5.0) -> dict[str, Any]:
        """The accepted callback body ({"type": ..., "data": ...}), waiting for it."""
        await self._fake._wait_for(lambda: self.ack is not None, timeout, f"a response to {self}")
        assert self.ack is not None
        return copy.deepcopy(self.ack)

    async def choices(self, timeout: float = 5.0) -> list[dict[str, Any]]:
        """The autocomplete choices the bot answered."""
        body = await self.response(timeout)
        if body.get("type") != 8:
            raise AssertionError(f"{self} was answered with type {body.get('type')}, not 8")
        return body.get("data", {}).get("choices", [])

    async def original(
        self, where: Callable[[dict], bool] | None = None, timeout: float = 5.0
    ) -> dict[str, Any]:
        """The original response message, once it exists and is not "thinking" any more
        (and ``where(message)`` is true, to wait for a particular edit)."""

        def ready() -> dict | None:
            if self.original_message_id is None:
                return None
            message = self._fake._messages.get(self.original_message_id)
            if message is None or message["flags"] & MessageFlag.LOADING:
                return None
            return message if where is None or where(message) else None

        message = await self._fake._wait_for(ready, timeout, f"the original response of {self}")
        return copy.deepcopy(message)

    @property
    def followups(self) -> list[dict[str, Any]]:
        messages = (self._fake._messages.get(i) for i in self.followup_ids)
        return [copy.deepcopy(m) for m in messages if m is not None]

    async def wait_for_followups(self, count: int = 1, timeout: float = 5.0) -> list[dict]:
        await self._fake._wait_for(
            lambda: len(self.followup_ids) >= count, timeout, f"{count} followup(s) of {self}"
        )
        return self.followups


# --------------------------------------------------------------------------------------------
# gateway sessions


class _Conn:
    def __init__(self, ws: web.WebSocketResponse, request: web.Request, kind: str):
        self.ws = ws
        self.request = request
        self.kind = kind  # "gateway" or "resume"
        self.query = dict(request.query)
        self.send_lock = asyncio.Lock()
        self.session: _Session | None = None


class _Session:
    def __init__(self, session_id: str, intents: int, identify: dict):
        self.id = session_id
        self.intents = intents
        self.identify = identify
        self.seq = 0
        self.log: list[tuple[int, str, str]] = []  # (seq, event, serialized payload)
        self.conn: _Conn | None = None
        self.live = False
        self.lock = asyncio.Lock()


class _TokenBucket:
    def __init__(self, rate: float, burst: float):
        self.rate = rate
        self.capacity = burst
        self.tokens = burst
        self.updated = time.monotonic()
        self.promised = 0.0  # the latest retry time announced to a rejected request

    def take(self) -> float:
        """0.0 (allowed) or the retry_after to announce."""
        now = time.monotonic()
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        # Each rejected request is told a time of its own, 1/rate after the previous one:
        # told all the same "when the next token comes", a herd of N in-flight requests would
        # retry together for one token, N-1 fail again, and discord.py gives up after 5 tries
        # within a fraction of a second (Discord's answers spread such a herd out).
        retry_at = max(now + (1 - self.tokens) / self.rate, self.promised + 1 / self.rate)
        self.promised = retry_at
        return retry_at - now


class _WindowLimit:
    """Discord's per-route buckets: ``limit`` requests per key (a channel) in a fixed window
    of ``per`` seconds that starts with the first request after the previous one ended."""

    def __init__(self, limit: int, per: float):
        if limit < 1 or per <= 0:
            raise ValueError(f"a rate limit needs limit >= 1 and per > 0, not {limit}/{per}")
        self.limit = limit
        self.per = per
        self._windows: dict[int, list[float]] = {}  # key -> [reset_at (monotonic), used]

    def take(self, key: int) -> tuple[int, float]:
        """(remaining, reset_after) when allowed; (-1, retry_after) when over the limit."""
        now = time.monotonic()
        window = self._windows.get(key)
        if window is None or window[0] <= now:
            window = self._windows[key] = [now + self.per, 0]
        reset_after = window[0] - now
        if window[1] >= self.limit:
            return -1, reset_after
        window[1] += 1
        return self.limit - int(window[1]), reset_after


def _bucket_hash(method: str, path: str) -> str:
    """One X-RateLimit-Bucket per route (the same for every channel, as on Discord)."""
    template = re.sub(r"\d{5,}", "{id}", path)
    return hashlib.sha1(f"{method} {template}".encode()).hexdigest()[:16]


def _limit_headers(limit: int, remaining: int, reset_after: float, bucket: str) -> dict:
    reset_after = _ceil_ms(reset_after)
    return {
        "X-RateLimit-Limit": str(limit),
        "X-RateLimit-Remaining": str(remaining),
        "X-RateLimit-Reset": f"{time.time() + reset_after:.3f}",
        "X-RateLimit-Reset-After": f"{reset_after:.3f}",
        "X-RateLimit-Bucket": bucket,
    }


def _ceil_ms(seconds: float) -> float:
    # Rounded up: a client that waits the announced time must find the window over.
    return max(0.001, math.ceil(seconds * 1000) / 1000)


class Gate:
    """A hold on matching requests, made by ``FakeDiscord.hold()`` (see there)."""

    def __init__(
        self, fake: FakeDiscord, method: str, path_regex: str, after: int, commit_first: bool
    ):
        self._fake = fake
        self.method = method.upper()
        self.path_regex = path_regex
        self._pattern = re.compile(path_regex)
        self.after = after
        self.commit_first = commit_first
        self.seen = 0  # matching requests so far (let through, held or dropped)
        self.held: list[RecordedRequest] = []  # every request this gate held, in order
        self.dropped: list[RecordedRequest] = []  # held ones whose client went away
        self.released = False
        self._waiting: list[tuple[web.Request, RecordedRequest, asyncio.Future[str]]] = []

    def __repr__(self) -> str:
        state = "released" if self.released else f"holding {len(self._waiting)}"
        return f"<Gate {self.method} {self.path_regex} after={self.after} {state}>"

    def _matches(self, method: str, path: str) -> bool:
        return self.method in ("*", method) and self._pattern.fullmatch(path) is not None

    @property
    def waiting(self) -> int:
        """How many requests are held right now."""
        return len(self._waiting)

    def release(self) -> None:
        """Let the held requests go on (in order) and stop holding: later ones pass."""
        self._release("released")

    def _release(self, outcome: str) -> None:
        self.released = True
        if self in self._fake._gates:
            self._fake._gates.remove(self)
        for _, _, future in self._waiting:
            if not future.done():
                future.set_result(outcome)
        self._fake._changed()

    async def wait_blocked(self, count: int = 1, timeout: float = 5.0) -> list[RecordedRequest]:
        """Wait until ``count`` requests were held (in all: released/dropped ones count)."""
        await self._fake._wait_for(
            lambda: len(self.held) >= count, timeout, f"{count} request(s) held by {self}"
        )
        return list(self.held)

    async def wait_dropped(self, count: int = 1, timeout: float = 5.0) -> list[RecordedRequest]:
        """Wait until the clients of ``count`` held requests went away (the bot was killed)."""
        await self._fake._wait_for(
            lambda: len(self.dropped) >= count, timeout, f"{count} dropped request(s) of {self}"
        )
        return list(self.dropped)


# --------------------------------------------------------------------------------------------
# the fake


Handler = Callable[..., Awaitable[web.StreamResponse]]


class FakeDiscord:
    """See the module docstring. All waits take a ``timeout`` and raise TimeoutError."""

    def __init__(
        self,
        guilds: Iterable[FakeGuild] = (),
        *,
        bot_user: FakeUser | None = None,
        app_id: int | None = None,
        token: str | None = None,
        ack_timeout: float = 3.0,
        resume_mode: str = "resume",
        heartbeat_interval_ms: int = 41250,
        allowed_privileged_intents: int = 0,
        global_rate_limit: float | None = None,
        channel_message_limit: tuple[int, float] | None = None,
        channel_edit_limit: tuple[int, float] | None = None,
        bot_permissions: int = Perm.DEFAULT_BOT,
        attachment_size_limit: int = 10 * 1024 * 1024,
        application_flags: int = 0,
        record_bodies: bool = True,
        strict: bool = True,
        host: str = "127.0.0.1",
    ) -> None:
        self.bot_user = bot_user or FakeUser.create("fakebot", bot=True)
        self.app_id = app_id or self.bot_user.id
        self.token = token
        self.ack_timeout = ack_timeout
        self.resume_mode = resume_mode  # "resume" or "invalidate"
        self.heartbeat_interval_ms = heartbeat_interval_ms
        self.allowed_privileged_intents = allowed_privileged_intents
        self.bot_permissions = bot_permissions
        self.attachment_size_limit = attachment_size_limit
        self.application_flags = application_flags
        self.record_bodies = record_bodies
        self.strict = strict
        self.host = host

        self.guilds: dict[int, FakeGuild] = {}
        for guild in guilds:
            self._adopt_guild(guild)

        # what happened
        self.requests: list[RecordedRequest] = []
        self.violations: list[Violation] = []
        self.message_writes: list[MessageWrite] = []
        self.identifies: list[dict[str, Any]] = []  # IDENTIFY payloads ("d"), token removed
        self.gateway_log: list[dict[str, Any]] = []  # {"dir", "op", "t", "s", "conn"}
        self.gateway_connections: list[dict[str, Any]] = []  # {"kind", "query"}
        self.presence_updates: list[dict[str, Any]] = []
        self.resume_count = 0
        self.invalidated_count = 0
        self.synced_commands: dict[int | None, list[dict[str, Any]]] = {}
        self.sync_count = 0
        self.interactions: dict[int, FakeInteraction] = {}
        self.rate_limit_hits: list[RateLimitHit] = []  # every 429 sent
        self.request_counts: Counter[str] = Counter()  # route kind -> requests received
        self.status_counts: Counter[int] = Counter()  # status -> responses

        self._messages: dict[int, dict[str, Any]] = {}
        self._channel_messages: dict[int, list[int]] = {}  # every message, oldest first
        self._channel_history: dict[int, list[int]] = {}  # non-ephemeral ones, ascending ids
        self._create_times: dict[int, list[float]] = {}  # channel -> loop times of POSTs
        self._channel_guild: dict[int, int] = {}  # channel id -> guild id (an index)
        self._message_owner: dict[int, int] = {}  # message id -> user id of the interaction
        self._attachment_data: dict[int, bytes] = {}  # attachment id -> the uploaded bytes
        self._forum_posts: dict[int, list[int]] = {}  # forum id -> thread ids, in order
        self.crossposts: list[dict[str, Any]] = []  # {"channel_id", "message_id", "time"}
        self._nonces: dict[str, tuple[float, int]] = {}  # enforced nonce -> (time, message)
        self.nonce_window = 300.0  # seconds an enforced nonce stays unique
        self._by_token: dict[str, FakeInteraction] = {}
        self._faults: list[Fault] = []
        self._bucket: _TokenBucket | None = None
        if global_rate_limit:
            self.set_global_rate_limit(global_rate_limit)
        self._create_limit: _WindowLimit | None = None
        self._edit_limit: _WindowLimit | None = None
        self.set_channel_message_limit(channel_message_limit)
        self.set_channel_edit_limit(channel_edit_limit)
        self._gates: list[Gate] = []
        self._hold_watch: asyncio.Task[None] | None = None
        self._sessions: dict[str, _Session] = {}
        self._conns: list[_Conn] = []
        self._change = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self._port: int | None = None
        self._routes = self._build_routes()

    # ---- lifecycle ------------------------------------------------------------------------

    async def __aenter__(self) -> FakeDiscord:
        await self.start()
        return self

    async def __aexit__(self, exc_type, exc, tb) -> None:
        await self.close()
        if self.strict and exc_type is None and self.violations:
            lines = "\n  ".join(str(v) for v in self.violations)
            raise FakeDiscordViolations(f"{len(self.violations)} violation(s):\n  {lines}")

    async def start(self) -> None:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_get("/gateway", self._gateway_handler)
        app.router.add_get("/resume-gateway", self._gateway_handler)
        app.router.add_route("*", API_PREFIX + "/{tail:.*}", self._api_handler)
        app.router.add_get("/attachments/{cid}/{aid}/{filename}", self._attachment_handler)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, 0)
        await site.start()
        self._port = self._runner.addresses[0][1]

    async def close(self) -> None:
        for itx in self.interactions.values():
            if itx.deadline is not None:
                itx.deadline.cancel()
        for gate in list(self._gates):
            gate._release("closed")  # held requests end unanswered, with no effect
        if self._hold_watch is not None:
            self._hold_watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._hold_watch
            self._hold_watch = None
        for conn in list(self._conns):
            with contextlib.suppress(Exception):
                await asyncio.wait_for(conn.ws.close(code=1001), 2)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def url(self) -> str:
        if self._port is None:
            raise RuntimeError("FakeDiscord is not started")
        return f"http://{self.host}:{self._port}"

    @property
    def api_base(self) -> str:
        return self.url + API_PREFIX

    @property
    def gateway_url(self) -> str:
        return f"ws://{self.host}:{self._port}/gateway"

    @property
    def resume_gateway_url(self) -> str:
        return f"ws://{self.host}:{self._port}/resume-gateway"

    @contextlib.contextmanager
    def patch_discord(self) -> Iterator[None]:
        """Point discord.py's REST base and default gateway here; restore them afterwards."""
        import discord.gateway
        import discord.http
        import yarl

        old_base = discord.http.Route.BASE
        old_gateway = discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
        discord.http.Route.BASE = self.api_base
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(self.gateway_url)
        try:
            yield
        finally:
            discord.http.Route.BASE = old_base
            discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = old_gateway

    # ---- small helpers ----------------------------------------------------------------------

    @staticmethod
    def _loop_time() -> float:
        return asyncio.get_running_loop().time()

    def _changed(self) -> None:
        event, self._change = self._change, asyncio.Event()
        event.set()

    async def _wait_for(self, predicate: Callable[[], Any], timeout: float, what: str) -> Any:
        async def wait() -> Any:
            while True:
                result = predicate()
                if result:
                    return result
                await self._change.wait()

        try:
            return await asyncio.wait_for(wait(), timeout)
        except TimeoutError:
            raise TimeoutError(f"fake Discord: no {what} within {timeout}s") from None

    def _violation(self, kind: str, message: str, **kwargs: Any) -> Violation:
        violation = Violation(kind, message, **kwargs)
        self.violations.append(violation)
        log.error("fake Discord violation: %s", violation)
        self._changed()
        return violation

    def take_violations(self, kind: str | None = None) -> list[Violation]:
        """Return and forget the violations (of one kind), for tests that provoke them."""
        taken = [v for v in self.violations if kind is None or v.kind == kind]
        self.violations = [v for v in self.violations if v not in taken]
        return taken

    async def wait_for_violation(self, kind: str, timeout: float = 5.0) -> Violation:
        return await self._wait_for(
            lambda: next((v for v in self.violations if v.kind == kind), None),
            timeout,
            f"{kind} violation",
        )

    def _adopt_guild(self, guild: FakeGuild) -> None:
        if self.bot_user.id not in guild.members:
            role = guild.add_role(
                self.bot_user.username,
                self.bot_permissions,
                managed=True,
                tags={"bot_id": str(self.bot_user.id)},
            )
            guild.add_member(self.bot_user, [role])
        self.guilds[guild.id] = guild

    async def add_guild(self, guild: FakeGuild) -> None:
        """Add a guild; if the bot is connected it gets a GUILD_CREATE (a join)."""
        self._adopt_guild(guild)
        session = self._current_session()
        if session is not None and session.intents & Intent.GUILDS:
            await self._dispatch("GUILD_CREATE", self._guild_create(guild, session))

    def _find_channel(self, channel_id: int) -> tuple[FakeGuild, FakeChannel]:
        guild = self.guilds.get(self._channel_guild.get(channel_id, 0))
        if guild is not None and channel_id in guild.channels:
            return guild, guild.channels[channel_id]
        for guild in self.guilds.values():
            if channel_id in guild.channels:
                self._channel_guild[channel_id] = guild.id
                return guild, guild.channels[channel_id]
        raise ApiError(404, 10003, "Unknown Channel")

    def _lookup_channel(self, channel: Any) -> tuple[FakeGuild, FakeChannel]:
        """_find_channel for the test side: a LookupError, not an HTTP error."""
        try:
            return self._find_channel(_id_of(channel))
        except ApiError:
            raise LookupError(f"channel {_id_of(channel)} does not exist (deleted?)") from None

    async def add_channel(self, guild: FakeGuild, name: str, **options: Any) -> FakeChannel:
        """``guild.add_channel()`` (same options: ``topic``, ``type``, ``tags``...) plus a
        CHANNEL_CREATE for the connected bot."""
        channel = guild.add_channel(name, **options)
        await self._dispatch("CHANNEL_CREATE", channel.to_dict(), intent=Intent.GUILDS)
        return channel

    async def update_channel(self, channel: Any) -> None:
        """Send CHANNEL_UPDATE with the channel as it is now (after ``set_permissions()``, a
        rename...), so the bot's cache (``channel.permissions_for(guild.me)``) follows."""
        _, found = self._lookup_channel(channel)
        event = "THREAD_UPDATE" if found.is_thread else "CHANNEL_UPDATE"
        await self._dispatch(event, found.to_dict(), intent=Intent.GUILDS)

    async def delete_channel(self, channel: Any) -> None:
        """Delete a channel: CHANNEL_DELETE to the bot; later requests to it get 404 code
        10003 "Unknown Channel". Its messages stay readable with ``messages(channel)``."""
        guild, found = self._lookup_channel(channel)
        del guild.channels[found.id]
        self._channel_guild.pop(found.id, None)
        if found.is_thread:
            data = {
                "id": str(found.id),
                "guild_id": str(guild.id),
                "parent_id": str(found.parent_id),
                "type": found.type,
            }
            await self._dispatch("THREAD_DELETE", data, intent=Intent.GUILDS)
        else:
            await self._dispatch("CHANNEL_DELETE", found.to_dict(), intent=Intent.GUILDS)
        self._changed()

    # ---- test-facing queries ------------------------------------------------------------------

    def messages(self, channel: Any) -> list[dict[str, Any]]:
        """Messages of a channel (ephemeral ones included, flag 64), oldest first."""
        ids = self._channel_messages.get(_id_of(channel), [])
        return [copy.deepcopy(self._messages[i]) for i in ids if i in self._messages]

    def message_ids(self, channel: Any) -> list[int]:
        """Ids of the messages of a channel, oldest first (cheap: no copies)."""
        ids = self._channel_messages.get(_id_of(channel), [])
        return [i for i in ids if i in self._messages]

    def message(self, message_id: Any) -> dict[str, Any]:
        return copy.deepcopy(self._messages[_id_of(message_id)])

    def message_create_times(self, channel: Any) -> list[float]:
        """Loop times of the messages created by ``POST /channels/{id}/messages`` in a
        channel, in order (interaction responses and followups are not included)."""
        return list(self._create_times.get(_id_of(channel), []))

    def threads(self, forum: Any) -> list[dict[str, Any]]:
        """The posts of a forum channel, oldest first: each the thread's channel object (type
        11, ``applied_tags``...) with ``"message"``, its first message as it is now."""
        posts = []
        for thread_id in self._forum_posts.get(_id_of(forum), []):
            guild = self.guilds.get(self._channel_guild.get(thread_id, 0))
            thread = guild.channels.get(thread_id) if guild is not None else None
            if thread is None:
                continue
            data = thread.to_dict()
            starter = self._messages.get(thread_id)  # a forum post's first message has its id
            data["message"] = copy.deepcopy(starter) if starter is not None else None
            posts.append(data)
        return posts

    def attachment_bytes(self, message: Any, index: int = 0) -> bytes:
        """The bytes uploaded for attachment ``index`` of a stored message (also served at
        the attachment's ``url``, so ``await attachment.read()`` in discord.py works)."""
        stored = self._messages.get(_id_of(message))
        if stored is None:
            raise LookupError(f"message {_id_of(message)} does not exist (deleted?)")
        attachments = stored["attachments"]
        if not 0 <= index < len(attachments):
            raise LookupError(f"message {stored['id']} has {len(attachments)} attachment(s)")
        data = self._attachment_data.get(int(attachments[index]["id"]))
        if data is None:
            raise LookupError("attachment bytes are not kept with FakeDiscord(record_bodies=False)")
        return data

    async def _attachment_handler(self, request: web.Request) -> web.StreamResponse:
        aid = request.match_info["aid"]
        data = self._attachment_data.get(int(aid)) if aid.isdigit() else None
        if data is None:
            raise web.HTTPNotFound()
        filename = request.match_info["filename"]
        return web.Response(body=data, content_type=_guess_type(filename, data))

    @property
    def rate_limited_count(self) -> int:
        """How many 429s the fake sent (all kinds; see ``rate_limit_hits``)."""
        return len(self.rate_limit_hits)

    def stats(self) -> dict[str, Any]:
        """Counters for a benchmark report."""
        hits = Counter(h.kind for h in self.rate_limit_hits)
        return {
            "requests": len(self.requests),
            "by_route": dict(self.request_counts),
            "by_status": dict(self.status_counts),
            "rate_limited": {k: hits.get(k, 0) for k in ("global", "channel", "fault")},
            "rate_limited_total": len(self.rate_limit_hits),
            "channel_message_creates": sum(len(t) for t in self._create_times.values()),
            "messages": len(self._messages),
            "held": sum(1 for r in self.requests if r.held),
            "dropped": sum(1 for r in self.requests if r.dropped),
        }

    async def wait_for_message(
        self, channel: Any, where: Callable[[dict], bool] | None = None, timeout: float = 5.0
    ) -> dict[str, Any]:
        channel_id = _id_of(channel)

        def find() -> dict | None:
            for mid in self._channel_messages.get(channel_id, []):
                message = self._messages.get(mid)
                if message is not None and (where is None or where(message)):
                    return message
            return None

        return copy.deepcopy(await self._wait_for(find, timeout, f"message in {channel_id}"))

    @property
    def allowed_mentions(self) -> list[dict[str, Any] | None]:
        """allowed_mentions of every message write, in order (None where it was absent)."""
        return [w.allowed_mentions for w in self.message_writes]

    async def wait_for_request(
        self, method: str, path_regex: str, count: int = 1, timeout: float = 5.0
    ) -> list[RecordedRequest]:
        """Wait until ``count`` requests matched (and were answered); returns them all."""
        pattern = re.compile(path_regex)
        scanned = 0
        found: list[RecordedRequest] = []  # matched and answered, in arrival order
        pending: list[RecordedRequest] = []  # matched, not answered yet

        def answered() -> list[RecordedRequest] | None:
            # Incremental: each change looks only at new requests and the unanswered ones.
            nonlocal scanned, pending
            new = self.requests[scanned:]
            scanned += len(new)
            pending += [r for r in new if method in ("*", r.method) and pattern.fullmatch(r.path)]
            if any(r.status is not None for r in pending):
                found.extend(r for r in pending if r.status is not None)
                pending = [r for r in pending if r.status is None]
            if len(found) < count:
                return None
            return sorted(found, key=self._request_order().__getitem__)

        return await self._wait_for(answered, timeout, f"{count} x {method} {path_regex}")

    def _request_order(self) -> dict[RecordedRequest, int]:
        return {r: i for i, r in enumerate(self.requests)}

    def requests_to(self, method: str, path_regex: str) -> list[RecordedRequest]:
        return [
            r
            for r in self.requests
            if method in ("*", r.method) and re.fullmatch(path_regex, r.path)
        ]

    # ---- faults ---------------------------------------------------------------------------------

    def fail_next(
        self,
        method: str,
        path_regex: str,
        status: int,
        *,
        times: int = 1,
        retry_after: float = 0.1,
        code: int | None = None,
        message: str | None = None,
        global_: bool = False,
    ) -> Fault:
        """Answer the next ``times`` requests matching (method, fullmatch of path) with
        ``status``: 429 (with Via, retry_after, X-RateLimit-*), 403 (50013 Missing
        Permissions), 404, 500 or any other."""
        fault = Fault(
            method.upper(), path_regex, status, times, retry_after, code, message, global_
        )
        self._faults.append(fault)
        return fault

    def set_global_rate_limit(self, per_second: float | None, burst: float | None = None) -> None:
        """A token bucket over all requests (None: off); over it answers a global 429."""
        if per_second is None:
            self._bucket = None
        else:
            self._bucket = _TokenBucket(per_second, burst if burst is not None else per_second)

    def set_channel_message_limit(self, limit: tuple[int, float] | None) -> None:
        """At most ``limit[0]`` ``POST /channels/{id}/messages`` per channel per ``limit[1]``
        seconds (Discord: (5, 5.0)); None: off. Resets the windows."""
        self._create_limit = None if limit is None else _WindowLimit(*limit)

    def set_channel_edit_limit(self, limit: tuple[int, float] | None) -> None:
        """The same for ``PATCH /channels/{id}/messages/{id}`` (a bucket of its own)."""
        self._edit_limit = None if limit is None else _WindowLimit(*limit)

    def hold(
        self, method: str, path_regex: str, *, after: int = 0, commit_first: bool = False
    ) -> Gate:
        """Hold requests matching (method or "*", ``re.fullmatch`` of the path after
        /api/v10) after letting the first ``after`` through, until ``gate.release()``.
        Held before anything happens (no rate limit, fault or effect): a held request whose
        client disconnects (the bot was killed) is dropped, as if Discord never got it. With
        ``commit_first=True`` the request is carried out (message created, recorded,
        dispatched) and only the response is held: "created, but the bot never learned the
        id". A request is handled by the first unreleased gate that matches it."""
        gate = Gate(self, method, path_regex, after, commit_first)
        self._gates.append(gate)
        return gate

    def _gate_for(self, method: str, path: str) -> Gate | None:
        for gate in self._gates:
            if gate._matches(method, path):
                gate.seen += 1
                return gate if gate.seen > gate.after else None
        return None

    async def _hold(self, gate: Gate, request: web.Request, record: RecordedRequest) -> str:
        """Wait until the gate is released ("released"), the client goes away ("dropped")
        or the fake closes ("closed")."""
        future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        entry = (request, record, future)
        gate._waiting.append(entry)
        gate.held.append(record)
        record.held = True
        if self._hold_watch is None or self._hold_watch.done():
            self._hold_watch = asyncio.create_task(self._watch_held())
        self._changed()
        try:
            return await future
        finally:
            gate._waiting.remove(entry)
            self._changed()

    async def _watch_held(self) -> None:
        # One poller for every held request: aiohttp (handler_cancellation off) tells a
        # handler nothing when its client disconnects, but the request's transport goes away.
        while True:
            entries = [(g, e) for g in self._gates for e in g._waiting]
            if not entries:
                return
            for gate, (request, record, future) in entries:
                transport = request.transport
                if not future.done() and (transport is None or transport.is_closing()):
                    record.dropped = True
                    gate.dropped.append(record)
                    future.set_result("dropped")
                    self._changed()
            await asyncio.sleep(0.01)

    def _fault_response(self, fault: Fault, method: str, path: str) -> web.Response:
        if fault.status == 429:
            kind = "fault"
            return self._rate_limited(
                fault.retry_after, kind=kind, global_=fault.global_, method=method, path=path
            )
        defaults = {
            400: (50035, "Invalid Form Body"),
            401: (0, "401: Unauthorized"),
            403: (50013, "Missing Permissions"),
            404: (10000, "404: Not Found"),
            500: (0, "500: Internal Server Error"),
            502: (0, "502: Bad Gateway"),
        }
        code, message = defaults.get(fault.status, (0, f"{fault.status}: Injected fault"))
        body = {"message": fault.message or message, "code": fault.code or code}
        return _json_response(body, fault.status)

    def _rate_limited(
        self,
        retry_after: float,
        *,
        kind: str,
        global_: bool,
        method: str,
        path: str,
        limit: int = 5,
    ) -> web.Response:
        """A 429 as discord.py retries it (a Via header, JSON ``retry_after``), counted."""
        retry_after = _ceil_ms(retry_after)
        self.rate_limit_hits.append(
            RateLimitHit(kind, method, path, retry_after, self._loop_time())
        )
        headers = {
            "Via": "1.1 google",
            "Retry-After": str(max(1, math.ceil(retry_after))),
            "X-RateLimit-Scope": "global" if global_ else "user",
        }
        if global_:
            headers["X-RateLimit-Global"] = "true"
        else:
            headers.update(_limit_headers(limit, 0, retry_after, _bucket_hash(method, path)))
        body = {
            "message": "You are being rate limited.",
            "retry_after": retry_after,
            "global": global_,
        }
        return _json_response(body, 429, headers)

    # ---- REST dispatch --------------------------------------------------------------------------

    def _build_routes(self) -> list[_Route]:
        # (method, path pattern, handler, needs bot authorization)
        table: list[tuple[str, str, Handler, bool]] = [
            ("GET", r"/users/@me", self._get_me, True),
            ("GET", r"/oauth2/applications/@me", self._get_application, True),
            ("GET", r"/applications/@me", self._get_application, True),
            ("GET", r"/gateway", self._get_gateway, False),
            ("GET", r"/gateway/bot", self._get_gateway, True),
            ("GET", r"/applications/(?P<app>\d+)/commands", self._get_commands, True),
            ("PUT", r"/applications/(?P<app>\d+)/commands", self._put_commands, True),
            (
                "GET",
                r"/applications/(?P<app>\d+)/guilds/(?P<guild>\d+)/commands",
                self._get_commands,
                True,
            ),
            (
                "PUT",
                r"/applications/(?P<app>\d+)/guilds/(?P<guild>\d+)/commands",
                self._put_commands,
                True,
            ),
            (
                "POST",
                r"/interactions/(?P<iid>\d+)/(?P<token>[^/]+)/callback",
                self._callback,
                False,
            ),
            ("POST", r"/webhooks/(?P<app>\d+)/(?P<token>[^/]+)", self._followup, False),
            (
                "GET",
                r"/webhooks/(?P<app>\d+)/(?P<token>[^/]+)/messages/(?P<mid>@original|\d+)",
                self._webhook_get,
                False,
            ),
            (
                "PATCH",
                r"/webhooks/(?P<app>\d+)/(?P<token>[^/]+)/messages/(?P<mid>@original|\d+)",
                self._webhook_edit,
                False,
            ),
            (
                "DELETE",
                r"/webhooks/(?P<app>\d+)/(?P<token>[^/]+)/messages/(?P<mid>@original|\d+)",
                self._webhook_delete,
                False,
            ),
            ("GET", r"/channels/(?P<cid>\d+)", self._get_channel, True),
            ("GET", r"/channels/(?P<cid>\d+)/messages", self._get_history, True),
            ("POST", r"/channels/(?P<cid>\d+)/messages", self._post_message, True),
            ("POST", r"/channels/(?P<cid>\d+)/typing", self._typing, True),
            ("POST", r"/channels/(?P<cid>\d+)/threads", self._start_thread, True),
            (
                "POST",
                r"/channels/(?P<cid>\d+)/messages/(?P<mid>\d+)/crosspost",
                self._crosspost,
                True,
            ),
            ("GET", r"/channels/(?P<cid>\d+)/messages/(?P<mid>\d+)", self._get_message, True),
            ("PATCH", r"/channels/(?P<cid>\d+)/messages/(?P<mid>\d+)", self._edit_message, True),
            (
                "DELETE",
                r"/channels/(?P<cid>\d+)/messages/(?P<mid>\d+)",
                self._delete_message,
                True,
            ),
            ("GET", r"/guilds/(?P<gid>\d+)", self._get_guild, True),
            ("GET", r"/guilds/(?P<gid>\d+)/channels", self._get_guild_channels, True),
            ("GET", r"/guilds/(?P<gid>\d+)/members/(?P<uid>\d+)", self._get_member, True),
        ]
        routes = []
        for method, pattern, handler, needs_auth in table:
            template = re.sub(r"[(][?]P<(\w+)>[^)]*[)]", r"{\1}", pattern)
            kind = f"{method} {template}"
            window = _WINDOWED_ROUTES.get(kind)
            routes.append(_Route(method, re.compile(pattern), handler, needs_auth, kind, window))
        return routes

    def _match_route(self, method: str, path: str) -> tuple[_Route | None, dict[str, str]]:
        for route in self._routes:
            if route.method == method:
                match = route.pattern.fullmatch(path)
                if match is not None:
                    return route, match.groupdict()
        return None, {}

    async def _read_body(self, request: web.Request) -> tuple[Any, list[dict[str, Any]]]:
        ctype = request.content_type
        if ctype == "multipart/form-data":
            form = await request.post()
            payload: Any = None
            files = []
            for name, value in form.items():
                if name == "payload_json":
                    payload = json.loads(value if isinstance(value, str) else value.file.read())
                elif isinstance(value, web.FileField):
                    content = value.file.read()
                    files.append(
                        {
                            "field": name,
                            "filename": value.filename,
                            "content_type": value.content_type,
                            "data": content,
                        }
                    )
            return payload, files
        raw = await request.read()
        if not raw:
            return None, []
        if ctype == "application/json":
            try:
                return json.loads(raw), []
            except ValueError:
                raise ApiError(400, 50109, "The request body contains invalid JSON.") from None
        return None, []

    async def _api_handler(self, request: web.Request) -> web.StreamResponse:
        path = request.path[len(API_PREFIX) :] or "/"
        method = request.method
        record = RecordedRequest(method, path, dict(request.query), self._loop_time(), None)
        self.requests.append(record)
        route, params = self._match_route(method, path)
        record.route = route.kind if route is not None else "unsupported"
        self.request_counts[record.route] += 1
        gate = self._gate_for(method, path) if self._gates else None
        headers: dict[str, str] = {}  # X-RateLimit-* of a rate limited route
        try:
            body, files = await self._read_body(request)
            if self.record_bodies:
                record.json = body
            record.files = [(f["filename"], len(f["data"])) for f in files]
            if gate is not None and not gate.commit_first:
                outcome = await self._hold(gate, request, record)
                if outcome != "released":  # never reached "Discord": no effect at all
                    self._changed()
                    return _json_response({"message": "client went away", "code": 0}, 503)
            response = await self._route(request, method, path, body, files, route, params, headers)
        except ApiError as error:
            response = _json_response(error.body(), error.status)
        except Exception as error:  # a bug in the fake must not look like a Discord answer
            log.exception("fake Discord failed on %s %s", method, path)
            self._violation(
                "fake_error", f"{type(error).__name__}: {error}", method=method, path=path
            )
            # 400, not 500: discord.py would retry a 500 for seconds
            response = _json_response({"message": f"fake Discord error: {error}", "code": 0}, 400)
        if headers and response.status != 429:
            response.headers.update(headers)
        record.status = response.status
        self.status_counts[response.status] += 1
        self._changed()
        if gate is not None and gate.commit_first:
            await self._hold(gate, request, record)  # done; only the answer waits (or is lost)
        return response

    async def _route(
        self,
        request: web.Request,
        method: str,
        path: str,
        body: Any,
        files: list[dict[str, Any]],
        route: _Route | None,
        params: dict[str, str],
        headers: dict[str, str],
    ) -> web.StreamResponse:
        for fault in self._faults:
            if fault.matches(method, path):
                fault.times -= 1
                fault.hits += 1
                if fault.times <= 0:
                    self._faults.remove(fault)
                return self._fault_response(fault, method, path)

        if route is None:
            self._violation(
                "unsupported_route",
                "the fake does not implement this route",
                method=method,
                path=path,
            )
            return _json_response({"message": "404: Not Found", "code": 0}, 404)
        if route.needs_auth:
            self._check_auth(request)
        if self._bucket is not None and not self._exempt(path):
            retry_after = self._bucket.take()
            if retry_after:
                return self._rate_limited(
                    retry_after, kind="global", global_=True, method=method, path=path
                )
        window = {"create": self._create_limit, "edit": self._edit_limit}.get(route.window or "")
        if window is not None:
            remaining, reset_after = window.take(int(params["cid"]))
            if remaining < 0:
                return self._rate_limited(
                    reset_after,
                    kind="channel",
                    global_=False,
                    method=method,
                    path=path,
                    limit=window.limit,
                )
            bucket = _bucket_hash(method, path)
            headers.update(_limit_headers(window.limit, remaining, reset_after, bucket))
        return await route.handler(_Ctx(request, method, path, body, files, params))

    def _exempt(self, path: str) -> bool:
        if path.startswith("/interactions/"):
            return True
        match = re.match(r"/webhooks/\d+/([^/]+)", path)
        return bool(match and match.group(1) in self._by_token)

    def _check_auth(self, request: web.Request) -> None:
        auth = request.headers.get("Authorization", "")
        if not auth.startswith("Bot ") or (self.token is not None and auth[4:] != self.token):
            raise ApiError(401, 0, "401: Unauthorized")

    # ---- REST: identity, gateway, commands ------------------------------------------------------

    def _me(self) -> dict[str, Any]:
        data = self.bot_user.to_dict()
        data.update(
            {"bot": True, "verified": True, "mfa_enabled": False, "locale": "en-US", "email": None}
        )
        return data

    async def _get_me(self, ctx: _Ctx) -> web.Response:
        return _json_response(self._me())

    async def _get_application(self, ctx: _Ctx) -> web.Response:
        owner = FakeUser(self.app_id + 1, "app-owner").to_dict()
        return _json_response(
            {
                "id": str(self.app_id),
                "name": self.bot_user.username,
                "icon": None,
                "description": "",
                "summary": "",
                "type": None,
                "hook": True,
                "bot_public": True,
                "bot_require_code_grant": False,
                "verify_key": hashlib.sha256(str(self.app_id).encode()).hexdigest(),
                "owner": owner,
                "team": None,
                "flags": self.application_flags,
                "bot": self._me(),
                "redirect_uris": [],
                "interactions_endpoint_url": None,
                "tags": [],
                "approximate_guild_count": len(self.guilds),
                "integration_types_config": {"0": {}},
            }
        )

    async def _get_gateway(self, ctx: _Ctx) -> web.Response:
        data: dict[str, Any] = {"url": self.gateway_url}
        if ctx.path.endswith("/bot"):
            data["shards"] = 1
            data["session_start_limit"] = {
                "total": 1000,
                "remaining": 999,
                "reset_after": 0,
                "max_concurrency": 1,
            }
        return _json_response(data)

    def _check_app(self, app: str) -> None:
        if int(app) != self.app_id:
            raise ApiError(403, 50001, "Missing Access")

    async def _get_commands(self, ctx: _Ctx) -> web.Response:
        self._check_app(ctx.params["app"])
        guild_id = int(ctx.params["guild"]) if ctx.params.get("guild") else None
        return _json_response(self.synced_commands.get(guild_id, []))

    async def _put_commands(self, ctx: _Ctx) -> web.Response:
        self._check_app(ctx.params["app"])
        guild_id = int(ctx.params["guild"]) if ctx.params.get("guild") else None
        if guild_id is not None and guild_id not in self.guilds:
            raise ApiError(403, 50001, "Missing Access")
        errors = validate_commands(ctx.body)
        if errors:
            self._violation(
                "invalid_body",
                f"command sync: {json.dumps(errors)}",
                method=ctx.method,
                path=ctx.path,
                details=errors,
            )
            raise ApiError(400, 50035, "Invalid Form Body", errors)
        previous = {(c["type"], c["name"]): c for c in self.synced_commands.get(guild_id, [])}
        result = []
        for command in ctx.body:
            ctype = command.get("type", 1)
            old = previous.get((ctype, command["name"]))
            stored = {
                "description": "",
                "options": [],
                "default_member_permissions": None,
                "dm_permission": True,
                "nsfw": False,
                "contexts": None,
                "integration_types": [0],
                **copy.deepcopy(command),
                "type": ctype,
                "id": old["id"] if old else str(new_snowflake()),
                "application_id": str(self.app_id),
                "version": str(new_snowflake()),
            }
            if guild_id is not None:
                stored["guild_id"] = str(guild_id)
            result.append(stored)
        self.synced_commands[guild_id] = result
        self.sync_count += 1
        return _json_response(result)

    async def wait_for_sync(self, guild: Any = None, timeout: float = 5.0) -> list[dict]:
        """Wait until commands were synced (to a guild, or globally with guild=None)."""
        guild_id = None if guild is None else _id_of(guild)
        return await self._wait_for(
            lambda: self.synced_commands.get(guild_id), timeout, f"command sync to {guild_id}"
        )

    # ---- REST: channels -------------------------------------------------------------------------

    def _require(self, guild: FakeGuild, channel: FakeChannel, perms: int, code=50013) -> None:
        have = guild.permissions_for(self.bot_user, channel)
        if have & perms != perms:
            raise ApiError(403, code, "Missing Access" if code == 50001 else "Missing Permissions")

    async def _get_channel(self, ctx: _Ctx) -> web.Response:
        guild, channel = self._find_channel(int(ctx.params["cid"]))
        self._require(guild, channel, Perm.VIEW_CHANNEL, 50001)
        return _json_response(channel.to_dict())

    async def _typing(self, ctx: _Ctx) -> web.Response:
        self._find_channel(int(ctx.params["cid"]))
        return _no_content()

    def _channel_message(self, ctx: _Ctx) -> tuple[FakeGuild, FakeChannel, dict[str, Any]]:
        guild, channel = self._find_channel(int(ctx.params["cid"]))
        message = self._messages.get(int(ctx.params["mid"]))
        if message is None or int(message["channel_id"]) != channel.id:
            raise ApiError(404, 10008, "Unknown Message")
        return guild, channel, message

    async def _get_message(self, ctx: _Ctx) -> web.Response:
        guild, channel, message = self._channel_message(ctx)
        self._require(guild, channel, Perm.VIEW_CHANNEL | Perm.READ_MESSAGE_HISTORY, 50001)
        return _json_response(message)

    async def _get_history(self, ctx: _Ctx) -> web.Response:
        guild, channel = self._find_channel(int(ctx.params["cid"]))
        self._require(guild, channel, Perm.VIEW_CHANNEL | Perm.READ_MESSAGE_HISTORY, 50001)
        query = ctx.request.query
        errors: dict[str, Any] = {}
        limit = 50
        if "limit" in query:
            try:
                limit = int(query["limit"])
            except ValueError:
                msg = f'Value "{query["limit"]}" is not int.'
                _set_error(errors, ["limit"], "NUMBER_TYPE_COERCE", msg)
            else:
                if limit < 1:
                    msg = "int value should be greater than or equal to 1."
                    _set_error(errors, ["limit"], "NUMBER_TYPE_MIN", msg)
                elif limit > 100:
                    msg = "int value should be less than or equal to 100."
                    _set_error(errors, ["limit"], "NUMBER_TYPE_MAX", msg)
        anchors: dict[str, int] = {}
        for key in ("around", "before", "after"):
            if key in query:
                if query[key].isdigit():
                    anchors[key] = int(query[key])
                else:
                    msg = f'Value "{query[key]}" is not snowflake.'
                    _set_error(errors, [key], "NUMBER_TYPE_COERCE", msg)
        if errors:
            self._violation(
                "invalid_query",
                f"message history query: {json.dumps(errors)}",
                method=ctx.method,
                path=ctx.path,
                details=errors,
            )
            raise ApiError(400, 50035, "Invalid Form Body", errors)
        # Ascending ids of the non-ephemeral messages; Discord answers newest first, for
        # ``after`` too: the ``limit`` messages right after the id (discord.py pages on with
        # data[0], the newest, and reverses them), for ``before`` the ones right before it.
        # Only one anchor is used (around, else before, else after), as on Discord.
        ids = self._channel_history.get(channel.id, [])
        if "around" in anchors:
            pivot = bisect.bisect_left(ids, anchors["around"])
            older = limit // 2
            chosen = ids[max(0, pivot - older) : pivot + limit - older]
        elif "before" in anchors:
            end = bisect.bisect_left(ids, anchors["before"])
            chosen = ids[max(0, end - limit) : end]
        elif "after" in anchors:
            start = bisect.bisect_right(ids, anchors["after"])
            chosen = ids[start : start + limit]
        else:
            chosen = ids[-limit:]
        messages = self._messages  # (.get: tolerate messages pruned behind the fake's back)
        return _json_response([messages[i] for i in reversed(chosen) if i in messages])

    async def _post_message(self, ctx: _Ctx) -> web.Response:
        guild, channel = self._find_channel(int(ctx.params["cid"]))
        if channel.type == ChannelType.FORUM:
            raise ApiError(400, 40058, "Cannot send a message in a forum channel")
        # In a thread Discord asks for SEND_MESSAGES_IN_THREADS (on the parent), not SEND_MESSAGES.
        send = Perm.SEND_MESSAGES_IN_THREADS if channel.is_thread else Perm.SEND_MESSAGES
        self._require(guild, channel, Perm.VIEW_CHANNEL | send)
        body = self._message_body(ctx, create=True)
        if ctx.files:
            self._require(guild, channel, Perm.ATTACH_FILES)
        nonce = body.get("nonce") if body.get("enforce_nonce") else None
        if nonce is not None:
            # Discord: a nonce seen from the same author within a few minutes returns that
            # message and creates nothing (the way to make a re-post after a crash idempotent).
            seen = self._nonces.get(str(nonce))
            if seen is not None and self._loop_time() - seen[0] <= self.nonce_window:
                existing = self._messages.get(seen[1])
                if existing is not None:
                    return _json_response(existing)
        mtype = 19 if body.get("message_reference") else 0
        flags = (body.get("flags") or 0) & ~MessageFlag.EPHEMERAL
        message = self._create_message(channel, body, ctx.files, mtype=mtype, flags=flags)
        self._create_times.setdefault(channel.id, []).append(self._loop_time())
        if nonce is not None:
            self._nonces[str(nonce)] = (self._loop_time(), int(message["id"]))
        self._record_write("channel_create", ctx, message, body)
        channel.last_message_id = int(message["id"])
        if channel.is_thread:
            channel.message_count += 1
        await self._dispatch_message("MESSAGE_CREATE", guild, message)
        return _json_response(message)

    async def _start_thread(self, ctx: _Ctx) -> web.Response:
        """``POST /channels/{id}/threads``: a forum post (a public thread and its first
        message). Threads in text channels (with or without a message) are not modelled:
        400 code 50024."""
        guild, forum = self._find_channel(int(ctx.params["cid"]))
        self._require(guild, forum, Perm.VIEW_CHANNEL, 50001)
        if forum.type != ChannelType.FORUM:
            self._violation(
                "unsupported_route",
                "the fake models threads in forum channels only",
                method=ctx.method,
                path=ctx.path,
            )
            raise ApiError(400, 50024, "Cannot execute action on this channel type")
        # Discord: "The current user must have the SEND_MESSAGES permission
        # (CREATE_PUBLIC_THREADS is ignored)" ("Create Posts" in the client).
        self._require(guild, forum, Perm.SEND_MESSAGES)
        body = ctx.body if isinstance(ctx.body, dict) else {}
        errors: dict[str, Any] = {}
        _check_len(errors, ["name"], body.get("name"), 100, minimum=1)
        if not body.get("name"):
            _set_error(errors, ["name"], "BASE_TYPE_REQUIRED", "This field is required")
        archive = body.get("auto_archive_duration")
        if archive is not None and archive not in (60, 1440, 4320, 10080):
            msg = "Value must be one of (60, 1440, 4320, 10080)."
            _set_error(errors, ["auto_archive_duration"], "BASE_TYPE_CHOICES", msg)
        slowmode = body.get("rate_limit_per_user")
        if slowmode is not None and not (isinstance(slowmode, int) and 0 <= slowmode <= 21600):
            msg = "int value should be between 0 and 21600."
            _set_error(errors, ["rate_limit_per_user"], "NUMBER_TYPE_MAX", msg)
        tag_ids = {t["id"] for t in forum.available_tags}
        applied = body.get("applied_tags") or []
        if len(applied) > 5:
            msg = "Must be 5 or fewer in length."
            _set_error(errors, ["applied_tags"], "BASE_TYPE_MAX_LENGTH", msg)
        for i, tag in enumerate(applied):
            if not str(tag).isdigit() or int(tag) not in tag_ids:
                msg = f"Tag {tag} is not one of the forum's tags"
                _set_error(errors, ["applied_tags", i], "FORUM_TAG_UNKNOWN", msg)
        if not isinstance(body.get("message"), dict):
            _set_error(errors, ["message"], "BASE_TYPE_REQUIRED", "This field is required")
        if errors:
            self._violation(
                "invalid_body",
                f"forum post breaks Discord's rules: {json.dumps(errors)}",
                method=ctx.method,
                path=ctx.path,
                details=errors,
            )
            raise ApiError(400, 50035, "Invalid Form Body", errors)
        if forum.flags & FORUM_REQUIRE_TAG and not applied:
            raise ApiError(400, 40067, "A tag is required to create a forum post in this channel")
        message_body = self._message_body(ctx, create=True, data=body["message"], where=["message"])
        if ctx.files:
            self._require(guild, forum, Perm.ATTACH_FILES)

        thread = FakeChannel(
            new_snowflake(),
            body["name"],
            guild.id,
            ChannelType.PUBLIC_THREAD,
            parent_id=forum.id,
            owner_id=self.bot_user.id,
            applied_tags=[int(t) for t in applied],
            auto_archive_duration=archive or 1440,
            rate_limit_per_user=slowmode or 0,
        )
        guild.channels[thread.id] = thread
        self._channel_guild[thread.id] = guild.id
        self._forum_posts.setdefault(forum.id, []).append(thread.id)
        flags = (message_body.get("flags") or 0) & ~MessageFlag.EPHEMERAL
        message = self._create_message(
            thread, message_body, ctx.files, flags=flags, message_id=thread.id
        )
        thread.message_count = 1
        thread.last_message_id = forum.last_message_id = thread.id
        self._record_write("forum_post", ctx, message, message_body)
        created = thread.to_dict()
        member = {
            "id": str(thread.id),
            "user_id": str(self.bot_user.id),
            "join_timestamp": thread.created_at,
            "flags": 1,
        }
        await self._dispatch(
            "THREAD_CREATE",
            {**created, "newly_created": True, "member": member},
            intent=Intent.GUILDS,
        )
        await self._dispatch_message("MESSAGE_CREATE", guild, message)
        self._changed()
        return _json_response({**created, "member": member, "message": message})

    async def _crosspost(self, ctx: _Ctx) -> web.Response:
        """Publish a message of an announcement channel to the channels following it."""
        guild, channel, message = self._channel_message(ctx)
        if channel.type != ChannelType.ANNOUNCEMENT:
            raise ApiError(400, 50024, "Cannot execute action on this channel type")
        needed = Perm.VIEW_CHANNEL | Perm.SEND_MESSAGES
        if int(message["author"]["id"]) != self.bot_user.id:
            needed |= Perm.MANAGE_MESSAGES
        self._require(guild, channel, needed)
        if message["flags"] & MessageFlag.CROSSPOSTED:
            raise ApiError(400, 40033, "This message has already been crossposted")
        message["flags"] |= MessageFlag.CROSSPOSTED
        self.crossposts.append(
            {"channel_id": channel.id, "message_id": int(message["id"]), "time": self._loop_time()}
        )
        await self._dispatch_message("MESSAGE_UPDATE", guild, message)
        self._changed()
        return _json_response(message)

    async def _edit_message(self, ctx: _Ctx) -> web.Response:
        guild, channel, message = self._channel_message(ctx)
        if int(message["author"]["id"]) != self.bot_user.id:
            raise ApiError(403, 50005, "Cannot edit a message authored by another user")
        body = self._message_body(ctx, create=False, existing=message)
        self._apply_edit(message, body, ctx.files)
        self._record_write("channel_edit", ctx, message, body)
        await self._dispatch_message("MESSAGE_UPDATE", guild, message)
        return _json_response(message)

    async def _delete_message(self, ctx: _Ctx) -> web.Response:
        guild, channel, message = self._channel_message(ctx)
        if int(message["author"]["id"]) != self.bot_user.id:
            self._require(guild, channel, Perm.MANAGE_MESSAGES)
        await self._remove_message(guild, message)
        return _no_content()

    async def _get_guild(self, ctx: _Ctx) -> web.Response:
        guild = self.guilds.get(int(ctx.params["gid"]))
        if guild is None:
            raise ApiError(404, 10004, "Unknown Guild")
        data = guild.to_gateway(members=[])
        for key in ("channels", "members", "threads", "presences", "voice_states", "joined_at"):
            data.pop(key, None)
        return _json_response(data)

    async def _get_guild_channels(self, ctx: _Ctx) -> web.Response:
        guild = self.guilds.get(int(ctx.params["gid"]))
        if guild is None:
            raise ApiError(404, 10004, "Unknown Guild")
        channels = [c.to_dict() for c in guild.channels.values() if not c.is_thread]
        return _json_response(channels)

    async def _get_member(self, ctx: _Ctx) -> web.Response:
        guild = self.guilds.get(int(ctx.params["gid"]))
        if guild is None:
            raise ApiError(404, 10004, "Unknown Guild")
        member = guild.members.get(int(ctx.params["uid"]))
        if member is None:
            raise ApiError(404, 10007, "Unknown Member")
        return _json_response(member.to_dict())

    # ---- messages -------------------------------------------------------------------------------

    def _message_body(
        self,
        ctx: _Ctx,
        *,
        create: bool,
        data: Any = None,
        existing: dict[str, Any] | None = None,
        where: Iterable[str] = (),
    ) -> dict[str, Any]:
        """The validated message body of a request (``data``: the callback's ``data``, or a
        forum post's ``message``; ``where``: the keys above it in error paths). ``existing``:
        the message an edit changes (the IS_COMPONENTS_V2 rules of edits need it)."""
        body = ctx.body if data is None else data
        where = list(where) or (["data"] if data is not None else [])
        if body is None:
            body = {}
        if not isinstance(body, dict):
            errors: dict[str, Any] = {}
            msg = "Only dictionaries may be used in a DictType"
            _set_error(errors, [], "DICT_TYPE_CONVERT", msg)
            raise ApiError(400, 50035, "Invalid Form Body", errors)
        for f in ctx.files:
            if len(f["data"]) > self.attachment_size_limit:
                raise ApiError(413, 40005, "Request entity too large")
        filenames = self._upload_names(body, ctx.files)
        v2_flag = MessageFlag.IS_COMPONENTS_V2
        errors = {}
        if existing is not None and (
            existing["flags"] & v2_flag or (body.get("flags") or 0) & v2_flag
        ):
            # Edits of a V2 message, or of a legacy one into V2: Discord checks the message as it
            # would be after the edit. The flag cannot be removed again (it "can only be set").
            flags = body.get("flags")
            if existing["flags"] & v2_flag and flags is not None and not flags & v2_flag:
                msg = "The IS_COMPONENTS_V2 flag cannot be removed from a message"
                _set_error(errors, ["flags"], "MESSAGE_CANNOT_REMOVE_COMPONENTS_V2_FLAG", msg)
            merged = {
                key: body[key] if key in body else existing.get(key)
                for key in ("content", "embeds", "components")
            }
            merged["sticker_ids"] = body.get("sticker_ids")
            merged["poll"] = body.get("poll")
            kept = {a["filename"] for a in existing.get("attachments") or []}
            for key, value in validate_message(
                merged, v2=True, filenames=[*filenames, *kept]
            ).items():
                errors.setdefault(key, value)
        else:
            errors = validate_message(body, filenames=filenames)
        if errors:
            nested = errors
            for key in reversed(where):
                nested = {key: nested}
            self._violation(
                "invalid_body",
                f"message body breaks Discord's limits: {json.dumps(errors)}",
                method=ctx.method,
                path=ctx.path,
                details=errors,
            )
            raise ApiError(400, 50035, "Invalid Form Body", nested)
        if create and not ctx.files and not _has_content(body):
            self._violation(
                "empty_message", "a message with no content", method=ctx.method, path=ctx.path
            )
            raise ApiError(400, 50006, "Cannot send an empty message")
        return body

    @staticmethod
    def _upload_names(body: Mapping[str, Any], files: list[dict]) -> list[str]:
        """The filenames of a request's uploads (``attachments[].filename`` renames them)."""
        described = {str(a.get("id")): a for a in body.get("attachments") or []}
        return [
            described.get(str(i), {}).get("filename") or f["filename"] for i, f in enumerate(files)
        ]

    def _record_write(self, kind: str, ctx: _Ctx, message: dict | None, body: dict) -> None:
        # The body is the request's parsed JSON, owned by the fake and never changed in place
        # (stored messages copy what they keep): shared, not copied, with requests[].json.
        self.message_writes.append(
            MessageWrite(
                kind,
                ctx.method,
                ctx.path,
                int(message["id"]) if message else None,
                body if self.record_bodies else None,
                copy.deepcopy(body.get("allowed_mentions")),
                self._loop_time(),
            )
        )

    def _attachments(self, channel_id: int, body: dict, files: list[dict]) -> list[dict]:
        described = {str(a.get("id")): a for a in body.get("attachments") or []}
        result = []
        for index, f in enumerate(files):
            attachment_id = new_snowflake()
            meta = described.get(str(index), {})
            filename = meta.get("filename") or f["filename"]
            url = f"{self.url}/attachments/{channel_id}/{attachment_id}/{filename}"
            content_type = f["content_type"]
            if content_type in (None, "application/octet-stream"):  # discord.py sends this one
                content_type = _guess_type(filename, f["data"])
            result.append(
                {
                    "id": str(attachment_id),
                    "filename": filename,
                    "description": meta.get("description"),
                    "size": len(f["data"]),
                    "url": url,
                    "proxy_url": url,
                    "content_type": content_type,
                }
            )
            if self.record_bodies:
                self._attachment_data[attachment_id] = f["data"]
        return result

    def _stored_components(
        self, components: list, attachments: list[dict], *, v2: bool
    ) -> list[dict[str, Any]]:
        """What Discord keeps of a message's components: for V2 messages, ``attachment://``
        media resolved to the uploaded file (url, proxy_url, attachment_id, content_type; a
        File component also gets ``name`` and ``size``) and an ``id`` for every component
        that has none (sequential, skipping the ids given)."""
        stored = copy.deepcopy(components or [])
        if not v2:
            return stored
        by_name = {a["filename"]: a for a in attachments}

        def resolve(media: Any) -> dict | None:
            if not isinstance(media, dict) or not str(media.get("url", "")).startswith(
                "attachment://"
            ):
                return None
            found = by_name.get(media["url"][len("attachment://") :])
            if found is None:
                return None
            media.update(
                url=found["url"],
                proxy_url=found["proxy_url"],
                attachment_id=found["id"],
                content_type=found["content_type"],
            )
            return found

        everything = list(self._walk_components(stored))
        taken = {c["id"] for c in everything if isinstance(c.get("id"), int) and c["id"]}
        next_id = itertools.count(1)
        for comp in everything:
            if not comp.get("id"):
                comp["id"] = next(i for i in next_id if i not in taken)
            resolve(comp.get("media"))
            for item in comp.get("items") or []:
                resolve(item.get("media"))
            found = resolve(comp.get("file"))
            if found is not None:
                comp["name"], comp["size"] = found["filename"], found["size"]
        return stored

    def _create_message(
        self,
        channel: FakeChannel,
        body: dict[str, Any],
        files: Iterable[dict] = (),
        *,
        mtype: int = 0,
        flags: int = 0,
        interaction: FakeInteraction | None = None,
        message_id: int | None = None,
    ) -> dict[str, Any]:
        message_id = message_id or new_snowflake()
        attachments = self._attachments(channel.id, body, list(files))
        v2 = bool(flags & MessageFlag.IS_COMPONENTS_V2)
        message: dict[str, Any] = {
            "id": str(message_id),
            "channel_id": str(channel.id),
            "author": self.bot_user.to_dict(),
            "content": body.get("content") or "",
            "timestamp": _now_iso(),
            "edited_timestamp": None,
            "tts": bool(body.get("tts")),
            "mention_everyone": False,
            "mentions": [],
            "mention_roles": [],
            "attachments": attachments,
            "embeds": [{"type": "rich", **e} for e in body.get("embeds") or []],
            "reactions": [],
            "pinned": False,
            "type": mtype,
            "flags": flags & (MessageFlag.SETTABLE | MessageFlag.LOADING),
            "components": self._stored_components(body.get("components"), attachments, v2=v2),
        }
        if body.get("nonce") is not None:
            message["nonce"] = body["nonce"]
        if interaction is not None:
            message["webhook_id"] = str(self.app_id)
            message["application_id"] = str(self.app_id)
            metadata: dict[str, Any] = {
                "id": str(interaction.id),
                "type": interaction.type,
                "user": interaction.user.to_dict(),
                "authorizing_integration_owners": {"0": str(interaction.guild.id)},
            }
            if interaction.name:
                metadata["name"] = interaction.name
            if interaction.source_message_id is not None:
                metadata["interacted_message_id"] = str(interaction.source_message_id)
            message["interaction_metadata"] = metadata
            self._message_owner[message_id] = interaction.user.id
        self._messages[message_id] = message
        self._channel_messages.setdefault(channel.id, []).append(message_id)
        if not message["flags"] & MessageFlag.EPHEMERAL:  # ids only grow: stays sorted
            self._channel_history.setdefault(channel.id, []).append(message_id)
        return message

    def _apply_edit(self, message: dict, body: dict, files: list[dict]) -> None:
        was_loading = bool(message["flags"] & MessageFlag.LOADING)
        if "content" in body:
            message["content"] = body["content"] or ""
        if "embeds" in body:
            message["embeds"] = [{"type": "rich", **e} for e in body["embeds"] or []]
        if "flags" in body and body["flags"] is not None:
            keep = message["flags"] & (
                MessageFlag.EPHEMERAL | MessageFlag.IS_COMPONENTS_V2 | MessageFlag.CROSSPOSTED
            )
            settable = MessageFlag.SUPPRESS_EMBEDS | MessageFlag.IS_COMPONENTS_V2
            message["flags"] = keep | (body["flags"] & settable)
        new_attachments: list[dict] = []
        if "attachments" in body or files:
            kept_ids = {str(a.get("id")) for a in body.get("attachments") or []}
            kept = [a for a in message["attachments"] if a["id"] in kept_ids]
            channel_id = int(message["channel_id"])
            new_attachments = self._attachments(channel_id, body, files)
            message["attachments"] = kept + new_attachments
        if "components" in body:
            v2 = bool(message["flags"] & MessageFlag.IS_COMPONENTS_V2)
            message["components"] = self._stored_components(
                body["components"], message["attachments"], v2=v2
            )
        message["flags"] &= ~MessageFlag.LOADING
        if not was_loading:
            message["edited_timestamp"] = _now_iso()

    async def _remove_message(self, guild: FakeGuild, message: dict) -> None:
        message_id = int(message["id"])
        self._messages.pop(message_id, None)
        channel_id = int(message["channel_id"])
        for index in (self._channel_messages, self._channel_history):
            ids = index.get(channel_id, [])
            at = bisect.bisect_left(ids, message_id)
            if at < len(ids) and ids[at] == message_id:
                del ids[at]
        if not message["flags"] & MessageFlag.EPHEMERAL:
            data = {
                "id": message["id"],
                "channel_id": message["channel_id"],
                "guild_id": str(guild.id),
            }
            await self._dispatch("MESSAGE_DELETE", data, intent=Intent.GUILD_MESSAGES)

    async def _dispatch_message(self, event: str, guild: FakeGuild, message: dict) -> None:
        if message["flags"] & MessageFlag.EPHEMERAL:
            return
        # No deep copy: _dispatch serializes the event before anything can change the message.
        data = {
            **message,
            "guild_id": str(guild.id),
            "member": guild.member(self.bot_user).to_dict(with_user=False),
        }
        await self._dispatch(event, data, intent=Intent.GUILD_MESSAGES)

    # ---- REST: interactions ---------------------------------------------------------------------

    _ALLOWED_CALLBACKS = {2: {4, 5, 9}, 3: {4, 5, 6, 7, 9}, 4: {8}, 5: {4, 5, 6, 7}}

    async def _callback(self, ctx: _Ctx) -> web.Response:
        now = self._loop_time()
        itx = self.interactions.get(int(ctx.params["iid"]))
        if itx is None or itx.token != ctx.params["token"]:
            raise ApiError(404, 10062, "Unknown interaction")
        body = ctx.body if isinstance(ctx.body, dict) else {}
        itx.callbacks.append(copy.deepcopy(body))
        elapsed = now - itx.created
        common = {"method": ctx.method, "path": ctx.path, "interaction_id": itx.id}
        if itx.ack is not None:
            self._violation(
                "already_acknowledged",
                f"second callback (type {body.get('type')}) for {itx}",
                **common,
            )
            raise ApiError(400, 40060, "Interaction has already been acknowledged.")
        if elapsed > itx.ack_limit:
            self._violation(
                "late_acknowledgement",
                f"{itx} acknowledged after {elapsed:.2f}s (limit {itx.ack_limit}s)",
                **common,
            )
            raise ApiError(404, 10062, "Unknown interaction")
        ctype = body.get("type")
        if ctype not in self._ALLOWED_CALLBACKS.get(itx.type, set()):
            msg = f"callback type {ctype} is not valid for interaction type {itx.type}"
            self._violation("invalid_callback_type", msg, **common)
            errors: dict[str, Any] = {}
            _set_error(errors, ["type"], "INTERACTION_RESPONSE_TYPE_INVALID", msg)
            raise ApiError(400, 50035, "Invalid Form Body", errors)
        data = body.get("data") or {}
        if ctype == 8:
            errors = validate_choices(data)
            if errors:
                msg = f"autocomplete: {json.dumps(errors)}"
                self._violation("invalid_body", msg, details=errors, **common)
                raise ApiError(400, 50035, "Invalid Form Body", {"data": errors})
        elif ctype in (4, 7):
            source = self._messages.get(itx.source_message_id or 0) if ctype == 7 else None
            self._message_body(ctx, create=ctype == 4, data=data, existing=source)

        itx.ack = copy.deepcopy(body)
        itx.ack_time = now
        if itx.deadline is not None:
            itx.deadline.cancel()
        message: dict[str, Any] | None = None
        guild, channel = itx.guild, itx.channel
        response_type = 20 if itx.type == 2 else 0
        if ctype == 4:
            flags = data.get("flags") or 0
            message = self._create_message(
                channel, data, ctx.files, mtype=response_type, flags=flags, interaction=itx
            )
            itx.original_message_id = int(message["id"])
            self._record_write("callback", ctx, message, data)
            await self._dispatch_message("MESSAGE_CREATE", guild, message)
        elif ctype == 5:
            flags = MessageFlag.LOADING | ((data.get("flags") or 0) & MessageFlag.EPHEMERAL)
            message = self._create_message(
                channel, {}, mtype=response_type, flags=flags, interaction=itx
            )
            itx.original_message_id = int(message["id"])
            await self._dispatch_message("MESSAGE_CREATE", guild, message)
        elif ctype in (6, 7):
            itx.original_message_id = itx.source_message_id
            source = self._messages.get(itx.source_message_id or 0)
            if ctype == 7 and source is not None:
                self._apply_edit(source, data, ctx.files)
                self._record_write("callback", ctx, source, data)
                await self._dispatch_message("MESSAGE_UPDATE", guild, source)
            message = source
        self._changed()

        if ctx.request.query.get("with_response", "").lower() not in ("1", "true"):
            return _no_content()
        interaction_data: dict[str, Any] = {"id": str(itx.id), "type": itx.type}
        resource: dict[str, Any] = {"type": ctype}
        if message is not None:
            interaction_data["response_message_id"] = message["id"]
            interaction_data["response_message_loading"] = bool(
                message["flags"] & MessageFlag.LOADING
            )
            interaction_data["response_message_ephemeral"] = bool(
                message["flags"] & MessageFlag.EPHEMERAL
            )
            resource["message"] = message
        result: dict[str, Any] = {"interaction": interaction_data}
        if ctype in (4, 5, 7):
            result["resource"] = resource
        return _json_response(result)

    def _webhook_interaction(self, ctx: _Ctx, *, needs_ack: bool) -> FakeInteraction:
        itx = self._by_token.get(ctx.params["token"])
        if int(ctx.params["app"]) != self.app_id or itx is None:
            raise ApiError(404, 10015, "Unknown Webhook")
        if self._loop_time() - itx.created > TOKEN_LIFETIME:
            raise ApiError(401, 50027, "Invalid Webhook Token")
        if needs_ack and itx.ack is None:
            self._violation(
                "webhook_before_acknowledgement",
                f"{ctx.method} {ctx.path} before {itx} was acknowledged",
                method=ctx.method,
                path=ctx.path,
                interaction_id=itx.id,
            )
            raise ApiError(404, 10015, "Unknown Webhook")
        return itx

    def _webhook_message(self, ctx: _Ctx, itx: FakeInteraction) -> dict[str, Any]:
        mid = ctx.params["mid"]
        if mid == "@original":
            message_id = itx.original_message_id
        else:
            message_id = int(mid)
            if message_id not in (itx.original_message_id, *itx.followup_ids):
                message_id = None
        message = self._messages.get(message_id) if message_id is not None else None
        if message is None:
            raise ApiError(404, 10008, "Unknown Message")
        return message

    async def _webhook_get(self, ctx: _Ctx) -> web.Response:
        itx = self._webhook_interaction(ctx, needs_ack=True)
        return _json_response(self._webhook_message(ctx, itx))

    async def _webhook_edit(self, ctx: _Ctx) -> web.Response:
        itx = self._webhook_interaction(ctx, needs_ack=True)
        message = self._webhook_message(ctx, itx)
        body = self._message_body(ctx, create=False, existing=message)
        self._apply_edit(message, body, ctx.files)
        self._record_write("webhook_edit", ctx, message, body)
        await self._dispatch_message("MESSAGE_UPDATE", itx.guild, message)
        self._changed()
        return _json_response(message)

    async def _webhook_delete(self, ctx: _Ctx) -> web.Response:
        itx = self._webhook_interaction(ctx, needs_ack=True)
        message = self._webhook_message(ctx, itx)
        await self._remove_message(itx.guild, message)
        return _no_content()

    async def _followup(self, ctx: _Ctx) -> web.Response:
        itx = self._webhook_interaction(ctx, needs_ack=True)
        body = self._message_body(ctx, create=True)
        original = self._messages.get(itx.original_message_id or 0)
        assert itx.ack is not None
        if (
            itx.ack.get("type") == 5
            and original is not None
            and original["flags"] & MessageFlag.LOADING
        ):
            # The first followup after a "thinking" defer replaces the loading message (it
            # keeps the defer's ephemerality), as Discord does; a V2 followup makes it V2.
            kept = (body.get("flags") or 0) & (
                MessageFlag.IS_COMPONENTS_V2 | MessageFlag.SUPPRESS_EMBEDS
            )
            self._apply_edit(original, {**body, "flags": kept}, ctx.files)
            message = original
            event = "MESSAGE_UPDATE"
        else:
            flags = body.get("flags") or 0
            message = self._create_message(
                itx.channel, body, ctx.files, flags=flags, interaction=itx
            )
            itx.followup_ids.append(int(message["id"]))
            event = "MESSAGE_CREATE"
        self._record_write("followup", ctx, message, body)
        await self._dispatch_message(event, itx.guild, message)
        self._changed()
        if ctx.request.query.get("wait", "").lower() in ("1", "true"):
            return _json_response(message)
        return _no_content()

    # ---- gateway --------------------------------------------------------------------------------

    def _current_session(self) -> _Session | None:
        sessions = [s for s in self._sessions.values() if s.conn is not None]
        if sessions:
            return sessions[-1]
        return next(reversed(self._sessions.values()), None)

    @property
    def connected(self) -> bool:
        """A gateway session is live (READY or RESUMED sent, connection not dropped)."""
        return any(s.live for s in self._sessions.values())

    @property
    def identify_count(self) -> int:
        return len(self.identifies)

    @property
    def intents(self) -> int | None:
        """The intents of the last IDENTIFY."""
        return self.identifies[-1].get("intents") if self.identifies else None

    async def wait_until_identified(self, count: int = 1, timeout: float = 10.0) -> None:
        """Wait until ``count`` IDENTIFYs were answered with READY and the session is live."""
        await self._wait_for(
            lambda: self.identify_count >= count and self.connected, timeout, f"IDENTIFY #{count}"
        )

    async def wait_until_resumed(self, count: int = 1, timeout: float = 10.0) -> None:
        await self._wait_for(
            lambda: self.resume_count >= count and self.connected, timeout, f"RESUME #{count}"
        )

    async def wait_until_connected(self, timeout: float = 10.0) -> None:
        await self._wait_for(lambda: self.connected, timeout, "live gateway session")

    async def _ws_send(self, conn: _Conn, payload: dict[str, Any]) -> None:
        await self._ws_send_text(
            conn, payload["op"], payload.get("t"), payload.get("s"), json.dumps(payload)
        )

    async def _ws_send_text(self, conn: _Conn, op: int, t: str | None, s: int | None, text: str):
        self.gateway_log.append({"dir": "send", "op": op, "t": t, "s": s, "conn": id(conn)})
        async with conn.send_lock:
            if not conn.ws.closed:
                await conn.ws.send_str(text)

    async def _emit(
        self,
        session: _Session,
        event: str,
        data: Any = None,
        *,
        data_text: str | None = None,
        force: bool = False,
    ) -> None:
        """Append a dispatch to the session (caller holds session.lock) and send it if live.
        The log keeps the serialized text (events are big; dicts would be copies)."""
        session.seq += 1
        if data_text is None:
            data_text = json.dumps(data)
        text = f'{{"op": 0, "s": {session.seq}, "t": {json.dumps(event)}, "d": {data_text}}}'
        session.log.append((session.seq, event, text))
        conn = session.conn
        if conn is not None and (session.live or force):
            with contextlib.suppress(ConnectionError, RuntimeError):
                await self._ws_send_text(conn, 0, event, session.seq, text)

    async def _dispatch(self, event: str, data: Any, *, intent: int | None = None) -> None:
        """Dispatch to the current session; queued in it (replayed on RESUME) if disconnected."""
        session = self._current_session()
        if session is None:
            return
        if intent is not None and not session.intents & intent:
            return
        data_text = json.dumps(data)  # now: ``data`` may change while we wait for the lock
        async with session.lock:
            await self._emit(session, event, data_text=data_text)

    def _guild_create(self, guild: FakeGuild, session: _Session) -> dict[str, Any]:
        if session.intents & Intent.GUILD_MEMBERS:
            members = list(guild.members.values())
        else:
            members = [guild.member(self.bot_user)]
        return guild.to_gateway(members=members)

    async def _gateway_handler(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(max_msg_size=0)
        await ws.prepare(request)
        kind = "resume" if request.path == "/resume-gateway" else "gateway"
        conn = _Conn(ws, request, kind)
        self._conns.append(conn)
        self.gateway_connections.append({"kind": kind, "query": conn.query})
        try:
            if conn.query.get("v", "10") != "10":
                await ws.close(code=4012, message=b"Invalid API version")
                return ws
            hello = {"heartbeat_interval": self.heartbeat_interval_ms, "_trace": ["fake-discord"]}
            await self._ws_send(conn, {"op": 10, "d": hello, "s": None, "t": None})
            async for msg in ws:
                if msg.type not in (WSMsgType.TEXT, WSMsgType.BINARY):
                    break
                try:
                    payload = json.loads(msg.data)
                except ValueError:
                    await ws.close(code=4002, message=b"Error while decoding payload.")
                    break
                await self._on_gateway_payload(conn, payload)
        finally:
            self._conns.remove(conn)
            session = conn.session
            if session is not None and session.conn is conn:
                session.conn = None
                session.live = False
            self._changed()
        return ws

    async def _on_gateway_payload(self, conn: _Conn, payload: dict[str, Any]) -> None:
        op = payload.get("op")
        data = payload.get("d")
        self.gateway_log.append({"dir": "recv", "op": op, "t": None, "s": None, "conn": id(conn)})
        if op == 1:
            await self._ws_send(conn, {"op": 11, "d": None, "s": None, "t": None})
        elif op == 2:
            await self._identify(conn, data or {})
        elif op == 6:
            await self._resume(conn, data or {})
        elif op == 3:
            self.presence_updates.append(data)
        elif op == 8:
            await self._request_members(conn, data or {})
        elif op == 4:
            pass  # voice state updates: ignored
        else:
            await conn.ws.close(code=4001, message=b"Unknown opcode.")

    def _token_ok(self, token: Any) -> bool:
        return bool(token) and (self.token is None or token == self.token)

    async def _identify(self, conn: _Conn, data: dict[str, Any]) -> None:
        if not self._token_ok(data.get("token")):
            await conn.ws.close(code=4004, message=b"Authentication failed.")
            return
        if conn.session is not None:
            await conn.ws.close(code=4005, message=b"Already authenticated.")
            return
        intents = data.get("intents")
        if not isinstance(intents, int):
            await conn.ws.close(code=4013, message=b"Invalid intent(s).")
            return
        if intents & Intent.PRIVILEGED & ~self.allowed_privileged_intents:
            await conn.ws.close(code=4014, message=b"Disallowed intent(s).")
            return
        self.identifies.append({k: v for k, v in data.items() if k != "token"})
        session = _Session(secrets.token_hex(16), intents, data)
        for old in self._sessions.values():
            old.live = False
        self._sessions[session.id] = session
        conn.session = session
        session.conn = conn
        ready: dict[str, Any] = {
            "v": 10,
            "user": self._me(),
            "guilds": [{"id": str(g), "unavailable": True} for g in self.guilds],
            "session_id": session.id,
            "session_type": "normal",
            "resume_gateway_url": self.resume_gateway_url,
            "application": {"id": str(self.app_id), "flags": self.application_flags},
            "private_channels": [],
            "relationships": [],
            "presences": [],
            "guild_join_requests": [],
            "geo_ordered_rtc_regions": [],
            "user_settings": {},
            "_trace": ["fake-discord"],
        }
        if "shard" in data:
            ready["shard"] = data["shard"]
        async with session.lock:
            await self._emit(session, "READY", ready, force=True)
            if intents & Intent.GUILDS:
                for guild in list(self.guilds.values()):
                    payload = self._guild_create(guild, session)
                    await self._emit(session, "GUILD_CREATE", payload, force=True)
            session.live = True
        self._changed()

    async def _resume(self, conn: _Conn, data: dict[str, Any]) -> None:
        if not self._token_ok(data.get("token")):
            await conn.ws.close(code=4004, message=b"Authentication failed.")
            return
        session = self._sessions.get(data.get("session_id") or "")
        seq = data.get("seq") or 0
        if self.resume_mode != "resume" or session is None or seq > session.seq:
            if session is not None:
                session.live = False
                self._sessions.pop(session.id, None)
            self.invalidated_count += 1
            await self._ws_send(conn, {"op": 9, "d": False, "s": None, "t": None})
            self._changed()
            return
        async with session.lock:
            old = session.conn
            if old is not None and old is not conn:
                old.session = None
                with contextlib.suppress(Exception):
                    await old.ws.close(code=4000)
            session.conn = conn
            conn.session = session
            for s, event, text in session.log:
                if s > seq:
                    await self._ws_send_text(conn, 0, event, s, text)
            await self._emit(session, "RESUMED", {"_trace": ["fake-discord"]}, force=True)
            session.live = True
        self.resume_count += 1
        self._changed()

    async def _request_members(self, conn: _Conn, data: dict[str, Any]) -> None:
        session = conn.session
        if session is None:
            await conn.ws.close(code=4003, message=b"Not authenticated.")
            return
        guild = self.guilds.get(int(data.get("guild_id", 0)))
        if guild is None:
            return
        members = list(guild.members.values())
        if data.get("user_ids"):
            wanted = {int(u) for u in data["user_ids"]}
            members = [m for m in members if m.user.id in wanted]
        elif data.get("query"):
            members = [m for m in members if m.user.username.startswith(data["query"])]
        if data.get("limit"):
            members = members[: data["limit"]]
        chunk = {
            "guild_id": str(guild.id),
            "members": [m.to_dict() for m in members],
            "chunk_index": 0,
            "chunk_count": 1,
            "not_found": [],
        }
        if data.get("nonce") is not None:
            chunk["nonce"] = data["nonce"]
        async with session.lock:
            await self._emit(session, "GUILD_MEMBERS_CHUNK", chunk)

    async def drop_gateway(self, code: int = 4000, *, abort: bool = False) -> None:
        """Close the live gateway connection(s) with ``code`` (discord.py resumes on 4000),
        or with ``abort=True`` drop the TCP connection without a close frame."""
        conns = [c for c in self._conns if c.session is not None]
        if not conns:
            raise RuntimeError("no gateway connection to drop")
        for conn in conns:
            if conn.session is not None:
                conn.session.live = False
            if abort:
                transport = conn.request.transport
                if transport is not None:
                    transport.abort()
            else:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(conn.ws.close(code=code, message=b"fake drop"), 5)
        self._changed()

    async def send_reconnect(self) -> None:
        """Send op 7 RECONNECT (the client closes and resumes); later events are queued."""
        conns = [c for c in self._conns if c.session is not None]
        if not conns:
            raise RuntimeError("no gateway connection to send RECONNECT to")
        for conn in conns:
            assert conn.session is not None
            async with conn.session.lock:
                conn.session.live = False
                await self._ws_send(conn, {"op": 7, "d": None, "s": None, "t": None})
        self._changed()

    # ---- interactions (test side) -------------------------------------------------------------

    def _find_command(self, guild: FakeGuild, name: str, ctype: int = 1) -> tuple[dict, bool]:
        for guild_id in (guild.id, None):
            for command in self.synced_commands.get(guild_id, []):
                if command["name"] == name and command.get("type", 1) == ctype:
                    return command, guild_id is not None
        known = sorted(
            f"{c['name']} ({'guild' if gid else 'global'})"
            for gid, commands in self.synced_commands.items()
            if gid in (guild.id, None)
            for c in commands
        )
        raise CommandNotSynced(
            f"/{name} was not synced for guild {guild.name!r} (nor globally); synced: "
            f"{', '.join(known) or 'nothing'} — did the bot call tree.sync()?"
        )

    def _build_command_data(
        self,
        guild: FakeGuild,
        path: list[str],
        options: Mapping[str, Any],
        *,
        focused: str | None = None,
        focused_value: Any = None,
    ) -> tuple[dict[str, Any], str]:
        command, guild_scoped = self._find_command(guild, path[0])
        data: dict[str, Any] = {"id": command["id"], "name": command["name"], "type": 1}
        if guild_scoped:
            data["guild_id"] = str(guild.id)
        definitions = command.get("options") or []
        chain: list[dict[str, Any]] = []
        for part in path[1:]:
            definition = next(
                (o for o in definitions if o["name"] == part and o["type"] in (1, 2)), None
            )
            if definition is None:
                subs = [o["name"] for o in definitions if o["type"] in (1, 2)]
                raise CommandNotSynced(
                    f"/{' '.join(path)}: no subcommand {part!r} (has: {', '.join(subs) or 'none'})"
                )
            chain.append({"type": definition["type"], "name": part, "options": []})
            definitions = definition.get("options") or []
        if any(o["type"] in (1, 2) for o in definitions):
            subs = [o["name"] for o in definitions if o["type"] in (1, 2)]
            raise CommandNotSynced(f"/{' '.join(path)} is a group; pick one of {subs}")

        resolved: dict[str, dict[str, Any]] = {}
        leaf: list[dict[str, Any]] = []
        by_name = {o["name"]: o for o in definitions}
        values = dict(options)
        if focused is not None:
            if focused not in by_name:
                raise CommandNotSynced(f"/{' '.join(path)} has no option {focused!r}")
            if not by_name[focused].get("autocomplete"):
                raise CommandNotSynced(
                    f"option {focused!r} of /{' '.join(path)} has no autocomplete"
                )
        for name, value in values.items():
            if name not in by_name:
                have = ", ".join(by_name) or "none"
                raise CommandNotSynced(f"/{' '.join(path)} has no option {name!r} (has: {have})")
            leaf.append(self._option(by_name[name], value, guild, resolved))
        if focused is not None:
            option = {
                "type": by_name[focused]["type"],
                "name": focused,
                "value": str(focused_value),
            }
            option["focused"] = True
            leaf = [o for o in leaf if o["name"] != focused] + [option]
        else:
            missing = [
                o["name"] for o in definitions if o.get("required") and o["name"] not in values
            ]
            if missing:
                raise ValueError(f"/{' '.join(path)}: required option(s) missing: {missing}")

        node = leaf
        for link in reversed(chain):
            link["options"] = node
            node = [link]
        if node:
            data["options"] = node
        if resolved:
            data["resolved"] = resolved
        return data, " ".join(path)

    def _option(self, definition: dict, value: Any, guild: FakeGuild, resolved: dict) -> dict:
        otype = definition["type"]
        name = definition["name"]
        if otype == 3:
            value = str(value)
        elif otype == 4:
            value = int(value)
        elif otype == 5:
            value = bool(value)
        elif otype == 10:
            value = float(value)
        elif otype in (6, 7, 8, 9):
            value = self._resolve(otype, value, guild, resolved)
        else:
            raise NotImplementedError(
                f"option type {otype} ({name!r}) is not supported by the fake"
            )
        choices = definition.get("choices")
        if choices and value not in [c["value"] for c in choices]:
            raise ValueError(f"{value!r} is not one of the choices of option {name!r}")
        return {"type": otype, "name": name, "value": value}

    def _resolve(self, otype: int, value: Any, guild: FakeGuild, resolved: dict) -> str:
        if isinstance(value, FakeRole) or (otype == 8):
            role = value if isinstance(value, FakeRole) else guild.roles[_id_of(value)]
            resolved.setdefault("roles", {})[str(role.id)] = role.to_dict()
            return str(role.id)
        if isinstance(value, FakeChannel) or otype == 7:
            channel = value if isinstance(value, FakeChannel) else guild.channels[_id_of(value)]
            data = channel.to_dict()
            data["permissions"] = str(guild.permissions_for(self.bot_user, channel))
            resolved.setdefault("channels", {})[str(channel.id)] = data
            return str(channel.id)
        user_id = _id_of(value)
        member = guild.members.get(user_id)
        user = member.user if member else value if isinstance(value, FakeUser) else None
        if user is None:
            raise LookupError(f"unknown user {value!r}")
        resolved.setdefault("users", {})[str(user.id)] = user.to_dict()
        if member is not None:
            perms = guild.permissions_for(member)
            member_data = member.to_dict(with_user=False, permissions=perms)
            resolved.setdefault("members", {})[str(user.id)] = member_data
        return str(user.id)

    async def _create_interaction(
        self,
        itype: int,
        guild: FakeGuild,
        channel: FakeChannel,
        user: Any,
        data: dict[str, Any],
        *,
        name: str | None = None,
        message: dict[str, Any] | None = None,
        locale: str = "en-US",
        timeout: float = 10.0,
    ) -> FakeInteraction:
        await self._wait_for(
            lambda: self._current_session() is not None, timeout, "gateway session"
        )
        member = guild.member(user)
        channel_data = channel.to_dict()
        member_perms = guild.permissions_for(member, channel)
        channel_data["permissions"] = str(member_perms)
        interaction_id = new_snowflake()
        payload: dict[str, Any] = {
            "id": str(interaction_id),
            "application_id": str(self.app_id),
            "type": itype,
            "data": data,
            "guild": {"id": str(guild.id), "locale": guild.locale, "features": []},
            "guild_id": str(guild.id),
            "channel": channel_data,
            "channel_id": str(channel.id),
            "member": member.to_dict(permissions=member_perms),
            "token": f"fake.{interaction_id}.{secrets.token_urlsafe(24)}",
            "version": 1,
            "app_permissions": str(guild.permissions_for(self.bot_user, channel)),
            "locale": locale,
            "guild_locale": guild.locale,
            "entitlements": [],
            "entitlement_sku_ids": [],
            "authorizing_integration_owners": {"0": str(guild.id)},
            "context": 0,
            "attachment_size_limit": self.attachment_size_limit,
        }
        if message is not None:
            payload["message"] = copy.deepcopy(message)
        itx = FakeInteraction(
            self,
            type=itype,
            payload=payload,
            guild=guild,
            channel=channel,
            user=member.user,
            name=name,
            source_message_id=int(message["id"]) if message else None,
        )
        self.interactions[itx.id] = itx
        self._by_token[itx.token] = itx
        itx.deadline = asyncio.get_running_loop().call_later(
            itx.ack_limit, self._deadline_passed, itx
        )
        await self._dispatch("INTERACTION_CREATE", payload)
        return itx

    def _deadline_passed(self, itx: FakeInteraction) -> None:
        if itx.ack is None:
            self._violation(
                "interaction_not_acknowledged",
                f"{itx} was not acknowledged within {itx.ack_limit}s",
                interaction_id=itx.id,
            )

    @staticmethod
    def _path(name: str, subcommand: str | None) -> list[str]:
        return name.split() + (subcommand.split() if subcommand else [])

    async def slash(
        self,
        guild: FakeGuild,
        channel: FakeChannel,
        user: Any,
        name: str,
        *,
        subcommand: str | None = None,
        options: Mapping[str, Any] | None = None,
        locale: str = "en-US",
    ) -> FakeInteraction:
        """Invoke a synced slash command: ``name`` may be "paper search" or use subcommand=."""
        path = self._path(name, subcommand)
        data, full = self._build_command_data(guild, path, options or {})
        return await self._create_interaction(
            2, guild, channel, user, data, name=full, locale=locale
        )

    async def autocomplete(
        self,
        guild: FakeGuild,
        channel: FakeChannel,
        user: Any,
        name: str,
        *,
        subcommand: str | None = None,
        focused: str,
        value: Any = "",
        options: Mapping[str, Any] | None = None,
        locale: str = "en-US",
    ) -> FakeInteraction:
        """Send an autocomplete interaction: ``focused`` is the option being typed in."""
        path = self._path(name, subcommand)
        data, full = self._build_command_data(
            guild, path, options or {}, focused=focused, focused_value=value
        )
        return await self._create_interaction(
            4, guild, channel, user, data, name=full, locale=locale
        )

    def _component_target(self, message: Any) -> tuple[dict, FakeGuild, FakeChannel]:
        message_id = _id_of(message)
        stored = self._messages.get(message_id)
        if stored is None:
            raise LookupError(f"message {message_id} does not exist (deleted?)")
        guild, channel = self._lookup_channel(int(stored["channel_id"]))
        return stored, guild, channel

    @staticmethod
    def _walk_components(components: list) -> Iterator[dict]:
        for comp in components:
            yield comp
            if comp.get("accessory"):
                yield comp["accessory"]
            yield from FakeDiscord._walk_components(comp.get("components") or [])

    def _clicker(self, message: dict, user: Any) -> Any:
        owner = self._message_owner.get(int(message["id"]))
        if user is None:
            if owner is None:
                raise ValueError(
                    f"message {message['id']} was not an interaction response (the bot posted "
                    "it itself, e.g. channel.send(view=...)), so nobody invoked it: pass user= "
                    "(the member who clicks)"
                )
            return owner
        if message["flags"] & MessageFlag.EPHEMERAL and owner is not None and _id_of(user) != owner:
            raise ValueError("only the invoking user can see (and click) an ephemeral message")
        return user

    async def click(
        self,
        message: Any,
        custom_id: str | None = None,
        *,
        label: str | None = None,
        user: Any = None,
        locale: str = "en-US",
    ) -> FakeInteraction:
        """Click a button of a stored message (by custom_id or label). ``user`` defaults to
        the user whose interaction produced the message; for a message the bot posted itself
        (``channel.send(view=...)``) it must be given (ValueError otherwise)."""
        stored, guild, channel = self._component_target(message)
        buttons = [c for c in self._walk_components(stored["components"]) if c.get("type") == 2]
        button = next(
            (
                b
                for b in buttons
                if (custom_id is not None and b.get("custom_id") == custom_id)
                or (custom_id is None and label is not None and b.get("label") == label)
            ),
            None,
        )
        if button is None:
            available = [(b.get("label"), b.get("custom_id")) for b in buttons]
            raise LookupError(f"no button {custom_id or label!r} on message; has {available}")
        if button.get("disabled"):
            raise ValueError(f"button {button.get('label')!r} is disabled")
        if button.get("style") in (5, 6):
            raise ValueError("link/premium buttons do not create interactions")
        user = self._clicker(stored, user)
        data = {"custom_id": button["custom_id"], "component_type": 2}
        return await self._create_interaction(
            3, guild, channel, user, data, message=stored, locale=locale
        )

    async def select(
        self,
        message: Any,
        values: Iterable[Any],
        custom_id: str | None = None,
        *,
        placeholder: str | None = None,
        user: Any = None,
        locale: str = "en-US",
    ) -> FakeInteraction:
        """Choose ``values`` in a select menu (by custom_id or placeholder; the only select
        of the message if neither is given)."""
        stored, guild, channel = self._component_target(message)
        selects = [
            c for c in self._walk_components(stored["components"]) if c.get("type") in _SELECT_TYPES
        ]
        if custom_id is not None:
            selects = [s for s in selects if s.get("custom_id") == custom_id]
        elif placeholder is not None:
            selects = [s for s in selects if s.get("placeholder") == placeholder]
        if len(selects) != 1:
            raise LookupError(f"{len(selects)} select menus match {custom_id or placeholder!r}")
        menu = selects[0]
        if menu.get("disabled"):
            raise ValueError("the select menu is disabled")
        chosen = list(values)
        low, high = menu.get("min_values", 1), menu.get("max_values", 1)
        if not low <= len(chosen) <= high:
            raise ValueError(f"{len(chosen)} values chosen; the menu takes {low}..{high}")
        resolved: dict[str, Any] = {}
        if menu["type"] == 3:
            allowed = [o["value"] for o in menu.get("options") or []]
            unknown = [v for v in chosen if v not in allowed]
            if unknown:
                raise ValueError(f"{unknown} are not options of the menu ({allowed})")
            out = [str(v) for v in chosen]
        else:
            otype = {5: 6, 6: 8, 7: 7, 8: 9}[menu["type"]]
            out = [self._resolve(otype, v, guild, resolved) for v in chosen]
        user = self._clicker(stored, user)
        data: dict[str, Any] = {
            "custom_id": menu["custom_id"],
            "component_type": menu["type"],
            "values": out,
        }
        if resolved:
            data["resolved"] = resolved
        return await self._create_interaction(
            3, guild, channel, user, data, message=stored, locale=locale
        )


@dataclass
class _Route:
    method: str
    pattern: re.Pattern[str]
    handler: Handler
    needs_auth: bool
    kind: str  # "POST /channels/{cid}/messages"
    window: str | None  # the per-channel limit it is under: "create", "edit" or None


# route kind -> which per-channel window limit applies
_WINDOWED_ROUTES = {
    "POST /channels/{cid}/messages": "create",
    "PATCH /channels/{cid}/messages/{mid}": "edit",
}


@dataclass
class _Ctx:
    request: web.Request
    method: str
    path: str
    body: Any
    files: list[dict[str, Any]]
    params: dict[str, str]
