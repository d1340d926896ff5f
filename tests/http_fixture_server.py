"""A small real HTTP server on 127.0.0.1 that serves recorded payloads and injects faults.

Tests talk to it with a real HTTP client, so timeouts, resets and truncated bodies are the
real thing rather than mocks. Usage::

    async with FixtureServer() as server:
        server.add("/api/daily_papers", Reply.error(503), Reply.json([...]), query={"p": 0})
        async with httpx.AsyncClient(timeout=0.5) as http:
            await http.get(server.url + "/api/daily_papers", params={"p": 0})  # 503
            await http.get(server.url + "/api/daily_papers", params={"p": 0})  # the JSON
        assert len(server.requests_to("/api/daily_papers")) == 2

Replies: `Reply.json(data)`, `Reply.file(path)`, `Reply.text(...)`, or a fault —
`Reply.error(500)` (any status, optional headers), `Reply.timeout(seconds)` (answers 504 only
after `seconds`: longer than the client's timeout), `Reply.rate_limited(retry_after=7)` or
`Reply.rate_limited(RateLimit='"api";r=0;t=12')`, `Reply.invalid_json()`,
`Reply.truncated(body)` (Content-Length of the whole body, half of it sent, then close) and
`Reply.connection_reset()` (TCP RST, no response). `reply.with_delay(s)` makes any reply late.

Every request is recorded in `server.requests` (method, path, query, body, monotonic arrival
time, headers), so tests can count calls and measure the spacing between them.

A route is a path (plus optional query parameters that must all match) and a queue of replies
consumed in order; the last reply keeps being served once the queue is down to it. When several
routes match a request, the one naming the most query parameters wins. Requests that match no
route get a 404 whose body says so, and are recorded like the others.

Other test modules import this file as ``from http_fixture_server import FixtureServer, Reply``
(pytest puts ``tests/`` on ``sys.path``) and may wrap it in their own fixture::

    @pytest.fixture
    async def server():
        async with FixtureServer() as running:
            yield running
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import struct
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

__all__ = ["FixtureServer", "RecordedRequest", "Reply", "Route"]


@dataclass(frozen=True, slots=True)
class Reply:
    """One behaviour of a route: a response, optionally late, cut short or replaced by a reset."""

    body: bytes = b""
    status: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before answering; longer than the client's timeout = a timeout
    truncate: bool = False  # announce the full Content-Length, send half the body, close
    reset: bool = False  # abort the connection with a TCP reset instead of answering

    @classmethod
    def json(cls, data: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Reply:
        body = json.dumps(data).encode()
        return cls(body, status, {"Content-Type": "application/json", **(headers or {})})

    @classmethod
    def file(cls, path: Path | str, status: int = 200, content_type: str | None = None) -> Reply:
        path = Path(path)
        guessed = {".json": "application/json", ".xml": "application/atom+xml; charset=utf-8"}
        kind = content_type or guessed.get(path.suffix, "application/octet-stream")
        return cls(path.read_bytes(), status, {"Content-Type": kind})

    @classmethod
    def text(cls, text: str, status: int = 200, content_type: str = "text/plain") -> Reply:
        return cls(text.encode(), status, {"Content-Type": content_type})

    # Faults -----------------------------------------------------------------------------
    @classmethod
    def error(cls, status: int = 500, headers: Mapping[str, str] | None = None) -> Reply:
        """An HTTP error (500, 502, 503, 400, 404, ...) with a short JSON body."""
        return cls.json({"error": f"fixture error {status}"}, status, headers)

    @classmethod
    def timeout(cls, seconds: float = 5.0) -> Reply:
        """Answer only after `seconds`; pick more than the client's timeout."""
        return cls.error(504).with_delay(seconds)

    @classmethod
    def rate_limited(cls, retry_after: str | float | None = None, **headers: str) -> Reply:
        """HTTP 429, with `Retry-After` (seconds or an HTTP date) and/or extra headers."""
        extra = dict(headers)
        if retry_after is not None:
            extra["Retry-After"] = str(retry_after)
        return cls.error(429, extra)

    @classmethod
    def invalid_json(cls) -> Reply:
        return cls(b'[{"paper": {"id": "2401.0', 200, {"Content-Type": "application/json"})

    @classmethod
    def truncated(cls, body: bytes = b'[{"paper": {"id": "2401.00001"}}]') -> Reply:
        return cls(body, 200, {"Content-Type": "application/json"}, truncate=True)

    @classmethod
    def connection_reset(cls) -> Reply:
        return cls(reset=True)

    def with_delay(self, seconds: float) -> Reply:
        return Reply(self.body, self.status, self.headers, seconds, self.truncate, self.reset)


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    method: str
    path: str
    query: dict[str, str]  # last value wins for repeated parameters
    time: float  # time.monotonic() when the request arrived
    headers: dict[str, str]
    body: bytes = b""


@dataclass(slots=True)
class Route:
    method: str
    path: str
    query: dict[str, str]
    replies: list[Reply]
    calls: int = 0

    def matches(self, method: str, path: str, query: Mapping[str, str]) -> bool:
        return (
            method == self.method
            and path == self.path
            and all(query.get(key) == value for key, value in self.query.items())
        )

    def next_reply(self) -> Reply:
        self.calls += 1
        return self.replies.pop(0) if len(self.replies) > 1 else self.replies[0]


async def serve_loopback(
    handler: Callable[[web.Request], Awaitable[web.StreamResponse]], port: int = 0
) -> tuple[web.AppRunner, str]:
    """Serve every method and path with `handler` on 127.0.0.1 (`port` 0: any free one);
    returns the runner (clean it up to stop) and the base URL."""
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    # A short shutdown timeout: a handler still sleeping in a delay must not hold up teardown.
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    host, bound = runner.addresses[0][:2]
    return runner, f"http://{host}:{bound}"


class FixtureServer:
    """aiohttp server on a random loopback port; see the module docstring."""

    def __init__(self) -> None:
        self.routes: list[Route] = []
        self.requests: list[RecordedRequest] = []
        self._runner: web.AppRunner | None = None
        self._closing = asyncio.Event()
        self.url = ""

    def add(
        self,
        path: str,
        *replies: Reply,
        query: Mapping[str, str | int] | None = None,
        method: str = "GET",
    ) -> Route:
        """Serve `replies` in order at `path` (the last one repeats) when `query` matches."""
        if not replies:
            raise ValueError("a route needs at least one reply")
        wanted = {key: str(value) for key, value in (query or {}).items()}
        route = Route(method.upper(), path, wanted, list(replies))
        self.routes.append(route)
        return route

    def requests_to(self, path: str) -> list[RecordedRequest]:
        return [request for request in self.requests if request.path == path]

    async def __aenter__(self) -> FixtureServer:
        self._runner, self.url = await serve_loopback(self._handle)
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self._closing.set()
        if self._runner is not None:
            await self._runner.cleanup()

    def _find(self, method: str, path: str, query: Mapping[str, str]) -> Route | None:
        candidates = [route for route in self.routes if route.matches(method, path, query)]
        return max(candidates, key=lambda route: len(route.query), default=None)

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        arrived = time.monotonic()
        query = dict(request.query.items())  # the last value wins for a repeated parameter
        body = await request.read()
        self.requests.append(
            RecordedRequest(
                request.method, request.path, query, arrived, dict(request.headers), body
            )
        )
        route = self._find(request.method, request.path, query)
        if route is None:
            return web.json_response(
                {"error": f"no fixture route for {request.method} {request.path_qs}"}, status=404
            )
        reply = route.next_reply()
        if reply.delay:
            # Wake early when the server closes, so a timed-out request does not delay teardown.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closing.wait(), reply.delay)
        if reply.reset:
            return _reset(request)
        if reply.truncate:
            return await _truncated(request, reply)
        return web.Response(body=reply.body, status=reply.status, headers=dict(reply.headers))


def _reset(request: web.Request) -> web.StreamResponse:
    transport = request.transport
    if transport is not None:
        sock = transport.get_extra_info("socket")
        if sock is not None:  # linger 0 turns the close into a TCP RST
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        transport.abort()
    return web.Response()  # never sent: the connection is gone


async def _truncated(request: web.Request, reply: Reply) -> web.StreamResponse:
    response = web.StreamResponse(status=reply.status, headers=dict(reply.headers))
    response.content_length = len(reply.body)
    await response.prepare(request)
    await response.write(reply.body[: len(reply.body) // 2])
    if request.transport is not None:
        request.transport.close()
    return response
