"""A fake OpenAI-compatible Chat Completions server on 127.0.0.1, answering from a script.

Real HTTP, so the official ``openai`` client talks to it exactly as it would to Ollama, vLLM,
llama.cpp's ``llama-server``, LM Studio or OpenAI itself (same paths, bodies and errors)::

    async with FakeOpenAI(reject_formats={"json_schema"}) as fake:
        fake.script(Answer.error(500), Answer.bullets(["…", "…"]))
        provider = OpenAIProvider(base_url=fake.url, model="m", api_key="k", max_retries=0)
        ...
        assert fake.requests[-1].body["model"] == "m"

``POST /v1/chat/completions`` serves the scripted answers in order; the last one repeats. An
answer is a completion (``Answer.bullets`` as JSON, ``Answer.fenced`` in a code fence,
``Answer.think`` after a ``<think>`` block, ``Answer.lines`` as ``- `` lines, ``Answer.text``
anything, ``Answer.broken`` cut-off JSON) or a fault (``Answer.error(status)``,
``Answer.rate_limited(retry_after)``), and ``answer.slow(seconds)`` makes any of them late (a
timeout when longer than the client's). ``reject_formats`` names the ``response_format`` types
this server does not support: such a request gets a 400 like a real server's, without using up
the script, as LM Studio does for ``json_object`` and older servers for ``json_schema``.

Every request is recorded (headers, parsed JSON body, raw body, arrival time) in ``requests``;
``max_in_flight`` is the most requests the server held at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from aiohttp import web
from http_fixture_server import serve_loopback

__all__ = ["Answer", "ChatRequest", "FakeOpenAI"]

COMPLETIONS = "/v1/chat/completions"


@dataclass(frozen=True, slots=True)
class Answer:
    """One scripted reply: a completion's content, or an HTTP error; optionally late."""

    content: str | None = None
    status: int = 200
    message: str = ""
    headers: Mapping[str, str] = field(default_factory=dict)
    delay: float = 0.0

    @classmethod
    def bullets(cls, items: Iterable[str]) -> Answer:
        return cls(json.dumps({"bullets": list(items)}, ensure_ascii=False))

    @classmethod
    def fenced(cls, items: Iterable[str]) -> Answer:
        body = json.dumps({"bullets": list(items)}, ensure_ascii=False, indent=2)
        return cls(f"Here is the summary:\n```json\n{body}\n```\n")

    @classmethod
    def think(cls, items: Iterable[str], thoughts: str = "The user wants bullets {a}.") -> Answer:
        body = json.dumps({"bullets": list(items)}, ensure_ascii=False)
        return cls(f"<think>\n{thoughts}\n</think>\n\n{body}")

    @classmethod
    def lines(cls, items: Iterable[str]) -> Answer:
        return cls("Summary:\n" + "\n".join(f"- {item}" for item in items))

    @classmethod
    def text(cls, content: str) -> Answer:
        return cls(content)

    @classmethod
    def broken(cls) -> Answer:
        return cls('{"bullets": ["The paper proposes a method that')

    @classmethod
    def error(cls, status: int = 500, message: str = "internal error", **headers: str) -> Answer:
        return cls(None, status, message, headers)

    @classmethod
    def rate_limited(cls, retry_after: float | str = 1) -> Answer:
        return cls(None, 429, "rate limit reached", {"Retry-After": str(retry_after)})

    def slow(self, seconds: float) -> Answer:
        return replace(self, delay=seconds)


@dataclass(frozen=True, slots=True)
class ChatRequest:
    """One request as the server received it."""

    method: str
    path: str
    headers: dict[str, str]
    raw: bytes
    arrived: float  # time.monotonic()

    @property
    def body(self) -> dict[str, Any]:
        try:
            data = json.loads(self.raw or b"{}")
        except ValueError:
            return {}
        return data if isinstance(data, dict) else {}

    @property
    def response_format(self) -> str | None:
        fmt = self.body.get("response_format")
        return fmt.get("type") if isinstance(fmt, dict) else None

    @property
    def text(self) -> str:
        """Every message's content, joined: what the model was shown."""
        return "\n".join(str(m.get("content", "")) for m in self.body.get("messages", []))


class FakeOpenAI:
    """The server; ``url`` is the API base including ``/v1`` once entered."""

    def __init__(self, *, reject_formats: Iterable[str] = ()) -> None:
        self.reject_formats = set(reject_formats)
        self.requests: list[ChatRequest] = []
        self.url = ""
        self.in_flight = 0
        self.max_in_flight = 0
        self._script: list[Answer] = []
        self._runner: web.AppRunner | None = None
        self._closing = asyncio.Event()

    def script(self, *answers: Answer) -> None:
        """Answer the next requests with `answers`, in order; the last one repeats."""
        self._script = list(answers)

    @property
    def completions(self) -> list[ChatRequest]:
        """Requests to the completions endpoint."""
        return [r for r in self.requests if r.path == COMPLETIONS]

    async def __aenter__(self) -> FakeOpenAI:
        self._runner, base = await serve_loopback(self._handle)
        self.url = f"{base}/v1"
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self._closing.set()
        if self._runner is not None:
            await self._runner.cleanup()

    def _next(self) -> Answer:
        if not self._script:
            return Answer.error(500, "no scripted answer")
        return self._script.pop(0) if len(self._script) > 1 else self._script[0]

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        recorded = ChatRequest(
            request.method, request.path, dict(request.headers), raw, time.monotonic()
        )
        self.requests.append(recorded)
        if request.method != "POST" or request.path != COMPLETIONS:
            return _error(404, f"no route {request.method} {request.path}")
        body = recorded.body
        if not body.get("model") or not isinstance(body.get("messages"), list):
            return _error(400, "model and messages are required")
        if recorded.response_format in self.reject_formats:
            return _error(400, f"response_format {recorded.response_format} is not supported")
        answer = self._next()
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if answer.delay:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._closing.wait(), answer.delay)
        finally:
            self.in_flight -= 1
        if answer.status != 200:
            return _error(answer.status, answer.message, answer.headers)
        completion = {
            "id": f"chatcmpl-{len(self.requests)}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body["model"],
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": answer.content},
                    "finish_reason": "stop",
                }
            ],
            "usage": {"prompt_tokens": 100, "completion_tokens": 50, "total_tokens": 150},
        }
        return web.json_response(completion, headers=dict(answer.headers))


def _error(status: int, message: str, headers: Mapping[str, str] | None = None) -> web.Response:
    body = {"error": {"message": message, "type": "invalid_request_error", "code": status}}
    return web.json_response(body, status=status, headers=dict(headers or {}))
