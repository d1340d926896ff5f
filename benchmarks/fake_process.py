"""The fake Discord and the load generator of bench_bot.py, in this process or in another one.

bench_bot.py measures the bot. The fake Discord (tests/fake_discord.py) it talks to, and the
code that sends the interactions and times their acknowledgements, are harness: in the bot's
own process they take a share of its CPU and event loop (about 40 % at full load) and of its
garbage collector's heap, which inflates what is measured. `RemoteFake` runs them in a child
process (optionally pinned to a CPU of its own) and drives it over a pipe; `LocalFake` keeps
them in the bot's process and loop, as the e2e tests do.

Latency is measured by the fake, in whichever process it runs: from the moment it creates an
INTERACTION_CREATE (just before sending it on the gateway) to the moment it accepts the bot's
callback (`FakeInteraction.acknowledged_after`).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import multiprocessing
import os
import random
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT / "tests") not in sys.path:
    sys.path.insert(0, str(ROOT / "tests"))
from fake_discord import FakeDiscord, FakeGuild, FakeUser  # noqa: E402

TOKEN = "fake-token-not-secret"


@dataclass(frozen=True, slots=True)
class Request:
    kind: str
    command: str  # "paper search"
    options: tuple[tuple[str, Any], ...] = ()
    focused: str | None = None  # autocomplete: the option being typed in
    value: str = ""

    def describe(self) -> str:
        if self.focused:
            return f"/{self.command} {self.focused}:{self.value!r} (autocomplete)"
        shown = " ".join(f"{k}:{v!r}" for k, v in self.options)
        return f"/{self.command} {shown}".rstrip()


@dataclass(slots=True)
class Sample:
    kind: str
    ms: float | None  # None: never acknowledged
    outcome: str


@dataclass(slots=True)
class Driven:
    """What one run of the load generator saw."""

    samples: list[Sample]
    violations: int  # new fake Discord violations during the run
    cpu_s: float  # CPU time of the fake's process during the run (0 when it is the bot's)


class BenchDiscord(FakeDiscord):
    """The fake Discord, plus a future per interaction resolved when its callback is accepted.

    FakeInteraction.response() re-checks its condition on every request the fake serves; with
    50 waiters that is 50 wake-ups per REST call. The latency itself is still the fake's
    `acknowledged_after`.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.ack_waiters: dict[int, asyncio.Future] = {}
        super().__init__(*args, **kwargs)

    def forget_finished(self) -> int:
        """Drop what the fake recorded about finished interactions; returns how many.

        The fake keeps every interaction, message, request and gateway payload for tests to
        inspect. Over tens of thousands of interactions that is millions of objects, and the
        garbage collector's full passes over them stop the event loop for seconds.
        """
        now = self._loop_time()
        gone = [
            itx
            for itx in self.interactions.values()
            if itx.ack is not None or now - itx.created > itx.ack_limit + 1.0
        ]
        for itx in gone:
            del self.interactions[itx.id]
            self._by_token.pop(itx.token, None)
            for message_id in (itx.original_message_id, *itx.followup_ids):
                if message_id is not None:
                    self._messages.pop(message_id, None)
                    self._message_owner.pop(message_id, None)
        for channel_id, ids in self._channel_messages.items():
            self._channel_messages[channel_id] = [i for i in ids if i in self._messages]
        self.requests.clear()
        self.message_writes.clear()
        self.gateway_log.clear()
        for session in self._sessions.values():
            del session.log[:-1000]  # RESUME replays by sequence number; none happens here
        return len(gone)

    async def _callback(self, ctx):  # noqa: ANN001 - the fake's private handler signature
        try:
            return await super()._callback(ctx)
        finally:
            try:
                itx = self.interactions.get(int(ctx.params["iid"]))
            except (KeyError, ValueError):
                itx = None
            if itx is not None and itx.ack is not None:
                waiter = self.ack_waiters.pop(itx.id, None)
                if waiter is not None and not waiter.done():
                    waiter.set_result(None)


def outcome_of(ack: dict | None) -> str:
    """What the bot answered: ok, empty (a "nothing found" reply), refused (user error), error."""
    if ack is None:
        return "unacked"
    ctype = ack.get("type")
    data = ack.get("data") or {}
    if ctype == 8:
        return "ok" if data.get("choices") else "empty"
    if ctype == 5:
        return "deferred"
    if data.get("embeds"):
        return "ok"
    content = data.get("content") or ""
    if "Something went wrong" in content:
        return "error"
    if content.startswith("No "):
        return "empty"
    return "refused"


class LoadGenerator:
    """Sends interactions through a BenchDiscord and times their acknowledgements."""

    def __init__(self, fake: BenchDiscord, guild: FakeGuild, users: list[FakeUser]):
        self.fake, self.guild, self.users = fake, guild, users
        self.channel = guild.channel("general")

    def forget_now_and_then(self) -> None:
        if len(self.fake.interactions) >= 200:
            self.fake.forget_finished()

    async def interact(self, request: Request, user: FakeUser):
        fake = self.fake
        if request.focused:
            itx = await fake.autocomplete(
                self.guild,
                self.channel,
                user,
                request.command,
                focused=request.focused,
                value=request.value,
            )
        else:
            itx = await fake.slash(
                self.guild, self.channel, user, request.command, options=dict(request.options)
            )
        if itx.ack is None:  # no await between this check and registering the waiter: no race
            waiter = asyncio.get_running_loop().create_future()
            fake.ack_waiters[itx.id] = waiter
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(waiter, fake.ack_timeout + 1.0)
            fake.ack_waiters.pop(itx.id, None)
        return itx

    @staticmethod
    def sample(request: Request, itx, since: float | None = None) -> Sample:
        if itx.ack_time is None:
            ms = None
        else:
            ms = (itx.ack_time - (itx.created if since is None else since)) * 1000
        return Sample(request.kind, ms, outcome_of(itx.ack))

    async def _measured(self, run) -> Driven:
        self.fake.forget_finished()
        before = len(self.fake.violations)
        cpu = time.process_time()
        samples = await run()
        cpu = time.process_time() - cpu
        return Driven(samples, len(self.fake.violations) - before, cpu)

    async def closed(self, requests: list[Request], concurrency: int) -> Driven:
        """A closed loop: `concurrency` workers, each with one interaction in flight."""

        async def run() -> list[Sample]:
            samples: list[Sample] = []
            queue = iter(requests)

            async def worker(user: FakeUser) -> None:
                for request in queue:  # one shared iterator: each request is sent once
                    samples.append(self.sample(request, await self.interact(request, user)))
                    self.forget_now_and_then()

            await asyncio.gather(*(worker(self.users[i]) for i in range(concurrency)))
            return samples

        return await self._measured(run)

    async def open(self, requests: list[Request], rate: float, seed: int) -> Driven:
        """An open loop: Poisson arrivals at `rate` per second, however many are in flight.

        Latency counts from the scheduled arrival, so an arrival the generator was too busy to
        send on time is charged its delay (no coordinated omission).
        """
        loop = asyncio.get_running_loop()
        rng = random.Random(seed)

        async def one(request: Request, user: FakeUser, due: float) -> Sample:
            sample = self.sample(request, await self.interact(request, user), since=due)
            self.forget_now_and_then()
            return sample

        async def run() -> list[Sample]:
            tasks = []
            due = loop.time()
            for n, request in enumerate(requests):
                due += rng.expovariate(rate)
                delay = due - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
                user = self.users[n % len(self.users)]
                tasks.append(asyncio.create_task(one(request, user, due)))
            return list(await asyncio.gather(*tasks))

        return await self._measured(run)


def _world(users: int) -> tuple[FakeGuild, list[FakeUser]]:
    guild = FakeGuild.create("Bench HQ", channels=["general"])
    members = [guild.add_member(FakeUser.create(f"user{i}")).user for i in range(users)]
    return guild, members


# ---------------------------------------------------------------------------------------------
# In the bot's process


class LocalFake:
    """The fake and the load generator in the bot's own process and event loop."""

    mode = "in the bot's process"

    def __init__(self, users: int) -> None:
        self.guild, self.users = _world(users)
        self.fake = BenchDiscord(guilds=[self.guild], token=TOKEN, strict=False)
        self.load = LoadGenerator(self.fake, self.guild, self.users)

    async def __aenter__(self) -> LocalFake:
        await self.fake.__aenter__()
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.fake.__aexit__(*exc)

    @property
    def url(self) -> str:
        return self.fake.url

    @property
    def gateway_url(self) -> str:
        return self.fake.gateway_url

    @property
    def guild_id(self) -> int:
        return self.guild.id

    async def wait_ready(self) -> None:
        await self.fake.wait_until_identified(timeout=30)
        await self.fake.wait_for_sync(self.guild, timeout=30)

    async def forget(self) -> None:
        self.fake.forget_finished()

    async def closed(self, requests: list[Request], concurrency: int) -> Driven:
        driven = await self.load.closed(requests, concurrency)
        driven.cpu_s = 0.0  # counted in the bot's process
        return driven

    async def open(self, requests: list[Request], rate: float, seed: int) -> Driven:
        driven = await self.load.open(requests, rate, seed)
        driven.cpu_s = 0.0
        return driven

    async def violations(self) -> int:
        return len(self.fake.violations)


# ---------------------------------------------------------------------------------------------
# In a process of its own


def _child(conn: Any, users: int, cpu: int | None) -> None:
    """The child process: serve commands from the pipe until told to stop."""
    if cpu is not None:
        os.sched_setaffinity(0, {cpu})
    asyncio.run(_serve(conn, users))


async def _serve(conn: Any, users: int) -> None:
    guild, members = _world(users)
    async with BenchDiscord(guilds=[guild], token=TOKEN, strict=False) as fake:
        load = LoadGenerator(fake, guild, members)
        gc.collect()
        gc.freeze()  # the fake's start-up objects: out of every later collection
        conn.send({"url": fake.url, "gateway_url": fake.gateway_url, "guild_id": guild.id})
        while True:
            command, *args = await asyncio.to_thread(conn.recv)
            try:
                if command == "stop":
                    conn.send(("ok", None))
                    return
                if command == "ready":
                    await fake.wait_until_identified(timeout=30)
                    await fake.wait_for_sync(guild, timeout=30)
                    result: Any = None
                elif command == "forget":
                    result = fake.forget_finished()
                elif command == "closed":
                    result = await load.closed(*args)
                elif command == "open":
                    result = await load.open(*args)
                elif command == "violations":
                    result = len(fake.violations)
                else:
                    raise ValueError(f"unknown command {command!r}")
                gc.collect()  # between runs, not during the next one
                conn.send(("ok", result))
            except Exception as exc:  # reported to the parent, which raises it
                conn.send(("error", repr(exc)))


class RemoteFake:
    """The fake and the load generator in a child process, driven over a pipe."""

    def __init__(self, users: int, *, cpu: int | None = None) -> None:
        self.users = users
        self.cpu = cpu
        self.mode = "in a separate process" + (f" pinned to CPU {cpu}" if cpu is not None else "")
        context = multiprocessing.get_context("spawn")
        self._conn, child_conn = context.Pipe()
        self._process = context.Process(
            target=_child, args=(child_conn, users, cpu), name="bench-fake-discord", daemon=True
        )
        self._lock = asyncio.Lock()
        self.url = self.gateway_url = ""
        self.guild_id = 0

    async def __aenter__(self) -> RemoteFake:
        self._process.start()
        info = await asyncio.to_thread(self._recv, 60.0)
        self.url, self.gateway_url, self.guild_id = (
            info["url"],
            info["gateway_url"],
            info["guild_id"],
        )
        return self

    async def __aexit__(self, *exc: Any) -> None:
        with contextlib.suppress(Exception):
            await self._call("stop")
        await asyncio.to_thread(self._process.join, 10)
        if self._process.is_alive():
            self._process.kill()

    def _recv(self, timeout: float) -> Any:
        if not self._conn.poll(timeout):
            raise TimeoutError("the fake Discord process did not answer")
        return self._conn.recv()

    async def _call(self, command: str, *args: Any, wait: float = 600.0) -> Any:
        async with self._lock:
            self._conn.send((command, *args))
            status, result = await asyncio.to_thread(self._recv, wait)
        if status != "ok":
            raise RuntimeError(f"fake Discord process: {command} failed: {result}")
        return result

    async def wait_ready(self) -> None:
        await self._call("ready", wait=70)

    async def forget(self) -> None:
        await self._call("forget")

    async def closed(self, requests: list[Request], concurrency: int) -> Driven:
        return await self._call("closed", requests, concurrency)

    async def open(self, requests: list[Request], rate: float, seed: int) -> Driven:
        return await self._call("open", requests, rate, seed)

    async def violations(self) -> int:
        return await self._call("violations")
