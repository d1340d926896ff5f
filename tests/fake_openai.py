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
``context_chars`` models a context window: a request whose messages hold more characters than
that gets the 400 llama.cpp's ``llama-server`` answers for a prompt longer than its context
(``"type": "exceed_context_size_error"``, with ``n_prompt_tokens`` and ``n_ctx``), whatever its
``response_format``, also without using up the script.

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
    finish_reason: str = "stop"
    error_body: Mapping[str, str] = field(default_factory=dict)  # more of an error: code, param

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
    def error(
        cls,
        status: int = 500,
        message: str = "internal error",
        *,
        code: str | None = None,
        param: str | None = None,
        **headers: str,
    ) -> Answer:
        """An HTTP error; `code` and `param` go in the error body as OpenAI's API puts them."""
        body = {key: value for key, value in (("code", code), ("param", param)) if value}
        return cls(None, status, message, headers, error_body=body)

    @classmethod
    def cut_off(cls, content: str) -> Answer:
        """A completion that stopped at the output limit (``finish_reason`` "length")."""
        return cls(content, finish_reason="length")

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

    def __init__(
        self, *, reject_formats: Iterable[str] = (), context_chars: int | None = None
    ) -> None:
        self.reject_formats = set(reject_formats)
        self.context_chars = context_chars
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
        if self.context_chars is not None and len(recorded.text) > self.context_chars:
            return _context_exceeded(len(recorded.text), self.context_chars)
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
            return _error(answer.status, answer.message, answer.headers, **answer.error_body)
        completion = {
            "id": f"chatcmpl-{len(self.requests)}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body["model"],
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": answer.content},
                    "finish_reason": answer.finish_reason,
                }
            ],
            "usage": {"prompt_tokens": 100, "completion_tokens": 50, "total_tokens": 150},
        }
        return web.json_response(completion, headers=dict(answer.headers))


def _error(
    status: int, message: str, headers: Mapping[str, str] | None = None, **more: str
) -> web.Response:
    error = {"message": message, "type": "invalid_request_error", "code": status, **more}
    return web.json_response({"error": error}, status=status, headers=dict(headers or {}))


def _context_exceeded(prompt: int, context: int) -> web.Response:
    """llama-server's answer to a prompt longer than its context (tools/server, b0-0c1e570)."""
    message = f"request ({prompt} tokens) exceeds the available context size ({context} tokens), "
    message += "try increasing it"
    body = {
        "error": {
            "code": 400,
            "message": message,
            "type": "exceed_context_size_error",
            "n_prompt_tokens": prompt,
            "n_ctx": context,
        }
    }
    return web.json_response(body, status=400)
