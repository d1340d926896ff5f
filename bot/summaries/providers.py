"""Summary providers: one protocol, three implementations, and the factory.

- ``abstract`` (the default, no service): the first sentences of the abstract, as cards show
  them without a summary (``bot.summaries.text.abstract_bullets``).
- ``hf``: Hugging Face's ``ai_summary`` (one English sentence); any other language, or a paper
  without one, falls back to ``abstract``.
- ``openai``: any server speaking the OpenAI Chat Completions API (OpenAI, Ollama, vLLM,
  llama.cpp's ``llama-server``, LM Studio) through the official ``openai`` client. The request is
  grounded in the paper's text (``bot.summaries.prompt``), the answer is checked
  (``bot.summaries.checks``), a refused answer is asked again once with the reasons, and then the
  paper falls back to ``hf`` (English) or ``abstract``, labelled with why. Requests in flight are
  limited (``LLM_CONCURRENCY``) and counted against a daily budget (``LLM_MAX_CALLS_PER_DAY``);
  timeouts, 429 (after its ``Retry-After``) and 5xx are retried by the client with backoff
  (``max_retries``) before a paper falls back. With ``SUMMARY_SOURCE=fulltext`` the request and
  the checks also carry the start of the paper's text (``bot.summaries.fulltext``), and the
  summaries are stored under a source of their own (``source_suffix``).

The API key is handed to the client and nowhere else: it is not kept on the provider, not in a
repr, a log line, a fallback reason or an exception message of ours (reasons are built from the
HTTP status and the kind of failure, never from the server's text).
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from bot.models import Paper, collapse_whitespace
from bot.summaries.checks import check_bullets
from bot.summaries.prompt import (
    ANSWER_SCHEMA,
    PROMPT_VERSION,
    build_messages,
    parse_answer,
    source_text,
    strip_thinking,
)
from bot.summaries.text import abstract_bullets
from storage.summaries import CHECKS_FAILED

if TYPE_CHECKING:
    import httpx

    from bot.config import Settings

__all__ = [
    "PROVIDERS",
    "RESPONSE_FORMATS",
    "AbstractProvider",
    "DailyBudget",
    "HfProvider",
    "OpenAIProvider",
    "SummaryProvider",
    "SummaryResult",
    "make_provider",
]

log = logging.getLogger(__name__)

PROVIDERS = ("abstract", "hf", "openai")
# How the answer's shape is asked for, best first; a server that refuses one (HTTP 400/422) is
# asked with the next, and the provider remembers what it accepted.
RESPONSE_FORMATS = ("json_schema", "json_object", "prompt")
_ANSWER_ECHO = 4000  # characters of a refused answer sent back with the retry
FULLTEXT_SUFFIX = "+fulltext"  # the model's name in the stored source of full-text summaries

# The start of a paper's text, or None for the abstract alone (bot.summaries.fulltext.FullText).
FullTextSource = Callable[[Paper], Awaitable[str | None]]


@dataclass(frozen=True, slots=True)
class SummaryResult:
    """Bullets about one paper, who wrote them, and why they are a fallback when they are."""

    bullets: list[str]
    language: str  # the language the bullets are written in
    provider: str  # "abstract", "hf" or "openai": who wrote these bullets
    requested_language: str
    model: str | None = None  # the model, for "openai"
    prompt_version: int | None = None  # bot.summaries.prompt.PROMPT_VERSION, for "openai"
    fallback_reason: str | None = None  # why the provider asked for did not write these (short)
    calls: int = 0  # model requests this summary took
    detail: str | None = None  # what exactly failed (the checks' problems), for the log

    @property
    def is_fallback(self) -> bool:
        return self.fallback_reason is not None

    @property
    def label(self) -> str:
        """What a card says above the bullets: where they come from, and why when a fallback."""
        if self.provider == "openai":
            base = f"Summary ({self.language}, {self.model or 'model'})"
        elif self.provider == "hf":
            base = "AI summary (Hugging Face)"
        else:
            base = "From the abstract"
        if self.fallback_reason is None:
            return base
        return f"{base} · no {self.requested_language} summary: {self.fallback_reason}"


@runtime_checkable
class SummaryProvider(Protocol):
    """Makes the bullets of a paper in a language; the digest does not know which one runs."""

    name: str

    async def summarize(self, paper: Paper, language: str, bullets: int) -> SummaryResult: ...


def _base(language: str) -> str:
    return language.strip().casefold().replace("_", "-").split("-")[0]


def _fallback(result: SummaryResult, requested: str, reason: str) -> SummaryResult:
    """`result` relabelled as the fallback for `requested`, for `reason` (the first one wins)."""
    return replace(
        result, requested_language=requested, fallback_reason=result.fallback_reason or reason
    )


class AbstractProvider:
    """The first sentences of the abstract (English, whatever language is asked for)."""

    name = "abstract"

    async def summarize(self, paper: Paper, language: str, bullets: int) -> SummaryResult:
        picked = abstract_bullets(paper.abstract)
        reason = None if picked else "the paper has no abstract"
        return SummaryResult(picked, "en", self.name, language, fallback_reason=reason)


class HfProvider:
    """Hugging Face's AI summary: English only, else (or without one) the abstract."""

    name = "hf"

    def __init__(self, fallback: SummaryProvider | None = None) -> None:
        self._fallback = fallback or AbstractProvider()

    async def summarize(self, paper: Paper, language: str, bullets: int) -> SummaryResult:
        if _base(language) != "en":
            reason = "Hugging Face summaries are in English only"
        elif not (paper.ai_summary and paper.ai_summary.strip()):
            reason = "Hugging Face has no summary of this paper"
        else:
            return SummaryResult([collapse_whitespace(paper.ai_summary)], "en", self.name, language)
        result = await self._fallback.summarize(paper, language, bullets)
        return _fallback(result, language, reason)


class DailyBudget:
    """At most `limit` model calls per UTC day (0 = no limit); `take()` spends one."""

    def __init__(self, limit: int, clock: Callable[[], datetime] | None = None) -> None:
        if limit < 0:
            raise ValueError("a budget cannot be negative")
        self.limit = limit
        self._clock = clock or (lambda: datetime.now(UTC))
        self._day: date | None = None
        self._used = 0

    def _today(self) -> None:
        day = self._clock().astimezone(UTC).date()
        if day != self._day:
            self._day, self._used = day, 0

    @property
    def used(self) -> int:
        self._today()
        return self._used

    def take(self) -> bool:
        """Spend one call; False (nothing spent) when today's calls are used up."""
        self._today()
        if self.limit and self._used >= self.limit:
            return False
        self._used += 1
        return True


class _BudgetUsed(Exception):
    def __init__(self, used: int) -> None:
        super().__init__("budget used")
        self.used = used


class _CutOff(Exception):
    """An answer that stopped at the output limit (``finish_reason`` "length")."""

    def __init__(self, content: str | None, used: int) -> None:
        super().__init__("cut off")
        self.content = content
        self.used = used


class _Failed(Exception):
    """A request that failed after the client's own retries; the message is ours, key-free."""

    def __init__(self, reason: str, used: int) -> None:
        super().__init__(reason)
        self.used = used


class OpenAIProvider:
    """Bullets written by a model behind an OpenAI-compatible Chat Completions API."""

    name = "openai"

    def __init__(
        self,
        *,
        base_url: str,
        model: str,
        api_key: str | None = None,
        timeout: float = 60.0,
        max_retries: int = 2,
        concurrency: int = 2,
        budget: DailyBudget | None = None,
        http: httpx.AsyncClient | None = None,
        fallback_en: SummaryProvider | None = None,
        fallback: SummaryProvider | None = None,
        fulltext: FullTextSource | None = None,
    ) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self.model = model
        self.base_url = base_url
        # Never None: the client would then read OPENAI_API_KEY from the environment and send it
        # to whatever server LLM_BASE_URL names. Local servers ignore the placeholder.
        import openai  # here: only a bot that asks a model loads the client

        self._owns_http = http is None
        self._client = openai.AsyncOpenAI(
            base_url=base_url,
            api_key=api_key or "no-key",
            timeout=timeout,
            max_retries=max_retries,
            http_client=http,
        )
        self._semaphore = asyncio.Semaphore(concurrency)
        self.budget = budget or DailyBudget(0)
        self._format = 0  # index into RESPONSE_FORMATS: what the server accepts
        self._abstract = fallback or AbstractProvider()
        self._english = fallback_en or HfProvider(self._abstract)
        self._fulltext = fulltext
        # Read by bot.summaries.service.provider_source: a summary written from the full text
        # had another input than one from the abstract, so it is stored under its own source.
        self.source_suffix = FULLTEXT_SUFFIX if fulltext is not None else ""

    def __repr__(self) -> str:
        return f"OpenAIProvider(base_url={self.base_url!r}, model={self.model!r})"

    @property
    def response_format(self) -> str:
        """The answer format this server was last found to accept."""
        return RESPONSE_FORMATS[self._format]

    async def aclose(self) -> None:
        """Close the client's connections (not those of an `http` client handed in)."""
        if self._owns_http:
            await self._client.close()
        close = getattr(self._fulltext, "aclose", None)
        if close is not None:
            await close()

    async def summarize(self, paper: Paper, language: str, bullets: int) -> SummaryResult:
        calls = 0
        if not paper.abstract.strip() and not (paper.ai_summary or "").strip():
            return await self._fall_back(paper, language, bullets, "the paper has no abstract", 0)
        extra = await self._fulltext(paper) if self._fulltext is not None else None
        messages: list[dict[str, str]] = build_messages(paper, language, bullets, extra)
        source = source_text(paper, extra)  # what the model was given: all the checks may use
        problems = ""
        for attempt in (1, 2):
            try:
                content, used = await self._complete(messages)
            except _BudgetUsed as exc:
                reason = f"the daily budget of {self.budget.limit} model calls is used"
                return await self._fall_back(paper, language, bullets, reason, calls + exc.used)
            except _Failed as exc:
                return await self._fall_back(paper, language, bullets, str(exc), calls + exc.used)
            except _CutOff as exc:
                content, used, cut = exc.content, exc.used, True
            else:
                cut = False
            calls += used
            found = None if cut else parse_answer(content)
            if cut:
                problems = "the answer was cut off at the model's output limit"
            elif found is None:
                problems = "the answer holds no bullets (not JSON)"
            else:
                checked = check_bullets(found, language, source, bullets)
                if checked.ok:
                    return SummaryResult(
                        checked.bullets,
                        language,
                        self.name,
                        language,
                        self.model,
                        PROMPT_VERSION,
                        calls=calls,
                    )
                problems = checked.reason
            log.info(
                "summary of %s in %s refused (attempt %d): %s",
                paper.id,
                language,
                attempt,
                problems,
            )
            messages = [
                *messages,
                {"role": "assistant", "content": strip_thinking(content)[:_ANSWER_ECHO]},
                {
                    "role": "user",
                    "content": f"That answer was refused: {problems}. Answer again, following "
                    'every rule, with a JSON object only: {"bullets": [...]}.',
                },
            ]
        reason = CHECKS_FAILED
        return await self._fall_back(paper, language, bullets, reason, calls, problems)

    async def _fall_back(
        self,
        paper: Paper,
        language: str,
        bullets: int,
        reason: str,
        calls: int,
        detail: str | None = None,
    ) -> SummaryResult:
        log.warning(
            "summary of %s in %s by %s falls back: %s%s",
            paper.id,
            language,
            self.model,
            reason,
            f" ({detail})" if detail else "",
        )
        provider = self._english if _base(language) == "en" else self._abstract
        result = await provider.summarize(paper, language, bullets)
        # The model's failure is the reason, not the fallback's own.
        return replace(
            result,
            requested_language=language,
            fallback_reason=reason,
            calls=calls,
            detail=detail or None,
        )

    async def _complete(self, messages: list[dict[str, str]]) -> tuple[str | None, int]:
        """One answer's content and the requests it took. Raises _BudgetUsed or _Failed.

        A 400/422 is taken as the server refusing the answer format: the request is sent again
        with the next one (``RESPONSE_FORMATS``), unless its error says the prompt does not
        fit the context or the model is unknown (``_refusal``): no format would help then. The
        format is remembered only once a request with it succeeds, so a 400 for another reason
        that every format gets does not change what later papers are asked with. An answer
        stopped at the output limit raises _CutOff."""
        import openai

        used = 0
        fmt = self._format
        async with self._semaphore:
            while True:
                if not self.budget.take():
                    raise _BudgetUsed(used)
                used += 1
                try:
                    response = await self._client.chat.completions.create(
                        model=self.model,
                        messages=messages,  # type: ignore[arg-type]
                        **_format_options(RESPONSE_FORMATS[fmt]),
                    )
                except (openai.BadRequestError, openai.UnprocessableEntityError) as exc:
                    if (why := _refusal(exc, self.model)) is not None:
                        raise _Failed(why, used) from None  # no other format would help
                    if fmt + 1 < len(RESPONSE_FORMATS):
                        log.info(
                            "%s refused response_format %s (HTTP %d); trying %s",
                            self.model,
                            RESPONSE_FORMATS[fmt],
                            exc.status_code,
                            RESPONSE_FORMATS[fmt + 1],
                        )
                        fmt += 1
                        continue
                    reason = f"the model refused the request (HTTP {exc.status_code})"
                    raise _Failed(reason, used) from None
                except openai.APITimeoutError:
                    raise _Failed("the model did not answer in time", used) from None
                except openai.RateLimitError:
                    raise _Failed("the model is rate limited (HTTP 429)", used) from None
                except openai.NotFoundError:
                    reason = f"the server has no model named {self.model!r} (HTTP 404)"
                    raise _Failed(reason, used) from None
                except openai.APIStatusError as exc:
                    raise _Failed(f"the model answered HTTP {exc.status_code}", used) from None
                except openai.APIConnectionError:
                    raise _Failed("could not connect to the model", used) from None
                except openai.OpenAIError as exc:  # a body that is not a completion, ...
                    raise _Failed(f"unreadable answer ({type(exc).__name__})", used) from None
                self._format = max(self._format, fmt)
                choices = getattr(response, "choices", None) or []
                content = choices[0].message.content if choices else None
                if choices and choices[0].finish_reason == "length":
                    raise _CutOff(content, used)
                return content, used


# What servers say when a prompt does not fit the context (llama-server's
# "exceed_context_size_error", OpenAI's and vLLM's "context_length_exceeded" / "maximum
# context length"): read only to tell this 400 from a refused answer format.
_TOO_LONG = re.compile(r"context.(length|size|window)|maximum context|exceeds? the .{0,20}context")


def _refusal(exc: Any, model: str) -> str | None:
    """Why a 400/422 is not about the answer format, when its error says so (our words, never
    the server's text): a prompt too long for the context, or a model the server lacks."""
    kind = f"{exc.type or ''} {exc.code or ''}"
    if _TOO_LONG.search(kind) or _TOO_LONG.search(str(exc.message or "")):
        return f"the paper is too long for the model's context (HTTP {exc.status_code})"
    if exc.param == "model" or "model_not_found" in kind:
        return f"the server has no model named {model!r} (HTTP {exc.status_code})"
    return None


def _format_options(fmt: str) -> dict[str, Any]:
    if fmt == "json_schema":
        schema = {"name": "summary", "strict": True, "schema": ANSWER_SCHEMA}
        return {"response_format": {"type": "json_schema", "json_schema": schema}}
    if fmt == "json_object":
        return {"response_format": {"type": "json_object"}}
    return {}


def make_provider(settings: Settings, http: httpx.AsyncClient | None = None) -> SummaryProvider:
    """The provider the settings choose (see ``Settings.summary_provider_name``)."""
    name = settings.summary_provider_name
    if name == "hf":
        return HfProvider()
    if name == "openai":
        if not settings.llm_base_url or not settings.llm_model:
            raise ValueError("the openai summary provider needs LLM_BASE_URL and LLM_MODEL")
        fulltext = None
        if settings.summary_source == "fulltext":
            from bot.summaries.fulltext import FullText

            fulltext = FullText.from_settings(settings, http)
        return OpenAIProvider(
            base_url=settings.llm_base_url,
            model=settings.llm_model,
            api_key=settings.llm_api_key,
            timeout=settings.llm_timeout,
            concurrency=settings.llm_concurrency,
            budget=DailyBudget(settings.llm_max_calls_per_day),
            http=http,
            fulltext=fulltext,
        )
    return AbstractProvider()
