"""Optional: the openai provider against a REAL OpenAI-compatible server you have running.

Skipped unless PAPERBOY_LLM_TRY_URL names one (its API base, with /v1) and
PAPERBOY_LLM_TRY_MODEL the model to ask, e.g. for llama.cpp's llama-server::

    llama-server -m model.gguf --port 8080 -c 4096 &
    PAPERBOY_LLM_TRY_URL=http://127.0.0.1:8080/v1 PAPERBOY_LLM_TRY_MODEL=any \\
        .venv/bin/python -m pytest -q tests/test_local_server.py

(Ollama: http://127.0.0.1:11434/v1 with a pulled model such as qwen3:8b; vLLM:
http://127.0.0.1:8000/v1 with the served model name; LM Studio: http://127.0.0.1:1234/v1 with
the loaded model's id.) Set PAPERBOY_LLM_TRY_CONTEXT to the context the server was started with
(llama-server -c, Ollama num_ctx, vLLM --max-model-len) to also send a paper longer than it.

What is asserted is the request shape end to end, not the quality of the model: a completion
comes back, the provider settles on a response_format the server accepted, and the result is
either stored bullets or a labelled fallback with a reason, without an exception. A model with
random weights passes too (its nonsense is refused by the checks and falls back, labelled).
The last test always runs: the same overflow against the fake, answering as llama-server did.
"""

from __future__ import annotations

import json
import os

import httpx
import pytest
from fake_openai import Answer, FakeOpenAI

from bot.models import Paper
from bot.summaries.providers import RESPONSE_FORMATS, OpenAIProvider

URL = os.environ.get("PAPERBOY_LLM_TRY_URL", "").strip()
MODEL = os.environ.get("PAPERBOY_LLM_TRY_MODEL", "").strip()
CONTEXT = os.environ.get("PAPERBOY_LLM_TRY_CONTEXT", "").strip()

needs_server = pytest.mark.skipif(
    not (URL and MODEL),
    reason="no local model server: set PAPERBOY_LLM_TRY_URL (e.g. http://127.0.0.1:8080/v1) "
    "and PAPERBOY_LLM_TRY_MODEL to try one",
)
slow = pytest.mark.timeout(900)  # a CPU-only server writing a few answers can take minutes

PAPER = Paper(
    id="2401.08541",
    title="Scalable Pre-training of Large Autoregressive Image Models",
    authors=["Alaaeldin El-Nouby"],
    abstract=(
        "This paper introduces AIM, a collection of vision models pre-trained with an "
        "autoregressive objective. These models are inspired by their textual counterparts, "
        "i.e., Large Language Models (LLMs), and exhibit similar scaling properties. We "
        "pre-train a 7 billion parameter AIM on 2 billion images, that achieves 84.0% on "
        "ImageNet-1k with a frozen trunk."
    ),
)


class Exchanges:
    """Every request the provider's client sends and the status and body it gets back."""

    def __init__(self) -> None:
        self.items: list[dict] = []

    async def request(self, request: httpx.Request) -> None:
        body = json.loads(request.content or b"{}")
        self.items.append({"path": request.url.path, "body": body, "status": None})

    async def response(self, response: httpx.Response) -> None:
        await response.aread()
        try:
            data = response.json()
        except ValueError:
            data = None
        self.items[-1].update(status=response.status_code, data=data)

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            timeout=600, event_hooks={"request": [self.request], "response": [self.response]}
        )

    @property
    def completions(self) -> list[dict]:
        return [i for i in self.items if i["path"].endswith("/chat/completions")]


def format_of(body: dict) -> str:
    fmt = body.get("response_format")
    return fmt["type"] if isinstance(fmt, dict) else "prompt"


def assert_labelled(result, language: str = "ko") -> None:
    """Stored bullets from the model, or a fallback that says why."""
    if result.is_fallback:
        assert result.fallback_reason
        assert f"no {language} summary: {result.fallback_reason}" in result.label
        assert result.provider in ("abstract", "hf")
    else:
        assert result.provider == "openai"
        assert result.language == language
        assert result.bullets
        assert all(isinstance(b, str) and b.strip() for b in result.bullets)


def make(http: httpx.AsyncClient) -> OpenAIProvider:
    # No client retries, so every request seen is one the provider counted; a long timeout,
    # as a CPU-only server can take minutes for one answer.
    return OpenAIProvider(
        base_url=URL, model=MODEL, api_key=None, http=http, timeout=600, max_retries=0
    )


async def summarize(provider: OpenAIProvider, paper: Paper):
    return await provider.summarize(paper, "ko", 5)


@needs_server
@slow
async def test_a_real_server_takes_the_providers_request_and_the_provider_settles_a_format():
    seen = Exchanges()
    async with seen.client() as http:
        provider = make(http)
        result = await summarize(provider, PAPER)

    assert seen.completions, "the provider sent no request"
    answered = [i for i in seen.completions if i["status"] == 200]
    assert answered, f"no completion came back: {[i['status'] for i in seen.completions]}"
    for item in answered:
        assert item["data"]["choices"][0]["message"]["content"] is not None
    # Refusals (400/422) only come before the first accepted format, never after it.
    first_ok = seen.completions.index(answered[0])
    assert all(i["status"] in (400, 422) for i in seen.completions[:first_ok])
    assert provider.response_format in RESPONSE_FORMATS
    assert provider.response_format == format_of(answered[0]["body"])
    assert all(not i["body"].get("stream") for i in seen.completions)
    assert all(i["body"]["model"] == MODEL for i in seen.completions)
    assert result.calls == len(seen.completions)
    assert_labelled(result)


@needs_server
@slow
@pytest.mark.skipif(
    bool(URL and MODEL and not CONTEXT),
    reason="set PAPERBOY_LLM_TRY_CONTEXT to the server's context to send a longer paper",
)
async def test_a_paper_longer_than_the_context_falls_back_and_keeps_the_format_memory():
    seen = Exchanges()
    words = 2 * int(CONTEXT)  # at least twice the context for any tokenizer
    long_paper = Paper(id="2401.00001", title="A long paper", abstract="word " * words)
    async with seen.client() as http:
        provider = make(http)
        first = await summarize(provider, PAPER)
        settled = provider.response_format
        start = len(seen.completions)
        overflow = await summarize(provider, long_paper)
        overflow_requests = seen.completions[start:]
        after = await summarize(provider, PAPER)

    assert_labelled(first)
    assert_labelled(overflow)
    assert_labelled(after)
    # Servers answer an over-long prompt with a 400 (llama-server, vLLM) or cut it silently
    # and answer 200 (Ollama's default): either way what the next paper is asked with stays.
    assert all(i["status"] in (200, 400, 413, 422) for i in overflow_requests)
    if all(i["status"] != 200 for i in overflow_requests):
        assert overflow.is_fallback
    assert provider.response_format == settled


async def test_the_fake_answers_an_overflow_as_llama_server_and_the_format_memory_stays():
    """llama-server (b0-0c1e570) answered a prompt longer than -c with, for every format:
    400 {"error": {"code": 400, "type": "exceed_context_size_error", "n_prompt_tokens": ..,
    "n_ctx": ..}}. The paper falls back labelled; later papers are still asked json_schema."""
    bullets = [
        "AIM은 자기회귀 목표로 사전 학습된 비전 모델 모음입니다.",
        "AIM은 대형 언어 모델(LLMs)과 비슷한 확장 특성을 보입니다.",
        "AIM은 대규모 이미지 모음으로 사전 학습되었습니다.",
        "고정된 트렁크로 ImageNet-1k에서 84.0%를 달성합니다.",
        "이 모델들은 텍스트 모델에서 영감을 받았습니다.",
    ]
    long_paper = Paper(id="2401.00001", title="A long paper", abstract="word " * 3000)
    async with FakeOpenAI(context_chars=5000) as fake:
        fake.script(Answer.bullets(bullets))
        provider = OpenAIProvider(base_url=fake.url, model="m", api_key=None, max_retries=0)
        try:
            overflow = await summarize(provider, long_paper)
            after = await summarize(provider, PAPER)
        finally:
            await provider.aclose()

    assert overflow.is_fallback and "HTTP 400" in overflow.fallback_reason
    assert_labelled(overflow)
    # The overflow is known for what it is: one request, no other answer format tried.
    assert overflow.calls == 1 and "too long for the model's context" in overflow.fallback_reason
    assert not after.is_fallback and after.bullets == bullets
    assert fake.completions[-1].response_format == "json_schema"
    assert provider.response_format == "json_schema"
