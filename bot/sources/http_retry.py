"""Bounded retries for the source clients: backoff, `Retry-After` and `RateLimit` headers.

What is retried: timeouts, connection errors (refused, reset, a body cut short), HTTP 5xx, 429,
and a body the caller's `decode` cannot parse (it raises `TransientBody`). Everything else — 4xx,
a well-formed answer of the wrong shape — goes straight back to the caller, because asking again
would get the same answer.
"""

from __future__ import annotations

import asyncio
import logging
import random
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TypeVar

import httpx

from bot.sources import SourceError

log = logging.getLogger(__name__)

T = TypeVar("T")
Sleep = Callable[[float], Awaitable[object]]


class TransientBody(Exception):
    """Raised by a `decode` callback for a body worth fetching again (unparsable, cut short)."""


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_retries: int = 3  # attempts = max_retries + 1
    backoff: float = 0.5  # first wait; doubles on every retry
    max_wait: float = 60.0  # no single wait is longer, whatever the server asks for
    jitter: float = 0.1  # up to +10 % on backoff waits, so clients do not retry in lockstep

    def backoff_wait(self, attempt: int) -> float:
        base = self.backoff * 2**attempt
        return min(base * (1 + random.uniform(0, self.jitter)), self.max_wait)


def server_wait(headers: httpx.Headers, now: datetime | None = None) -> float | None:
    """Seconds the server asked us to wait, from `Retry-After` or the IETF `RateLimit` headers.

    `Retry-After: 30` or `Retry-After: <HTTP date>`; `RateLimit: "api";r=0;t=30` (the draft's
    structured form, `t` = seconds until the quota resets) or the older `RateLimit-Reset: 30`.
    None when no header says anything usable.
    """
    retry_after = headers.get("retry-after", "").strip()
    if retry_after:
        if retry_after.isdigit():
            return float(retry_after)
        try:
            when = parsedate_to_datetime(retry_after)
        except (TypeError, ValueError):
            when = None
        if when is not None:
            if when.tzinfo is None:
                when = when.replace(tzinfo=UTC)
            return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())
    if (limit := headers.get("ratelimit")) is not None:
        exhausted: list[float] = []
        others: list[float] = []
        for member in limit.split(","):
            reset = re.search(r";\s*t=(\d+)", member)
            if reset:
                empty = re.search(r";\s*r=0(?!\d)", member) is not None
                (exhausted if empty else others).append(float(reset.group(1)))
        if exhausted or others:
            return max(exhausted or others)
    reset = headers.get("ratelimit-reset", "").strip()
    if reset.isdigit():
        return float(reset)
    return None


async def fetch(
    http: httpx.AsyncClient,
    url: str,
    *,
    source: str,
    decode: Callable[[httpx.Response], T],
    params: dict[str, str | int] | None = None,
    policy: RetryPolicy | None = None,
    sleep: Sleep = asyncio.sleep,
    before_attempt: Callable[[], Awaitable[object]] | None = None,
) -> T:
    """GET `url` and return `decode(response)`, retrying transient failures per `policy`.

    `decode` sees every response that is neither 5xx nor 429 and decides: return a value, raise a
    SourceError (not retried), or raise TransientBody (retried). `before_attempt` runs before each
    request (arXiv uses it for its one-request-per-interval pacing). `source` names the service
    in messages. After the last attempt a SourceError says what failed: the URL path (never the
    query or credentials) and the last status or error.
    """
    policy = policy or RetryPolicy()
    attempts = policy.max_retries + 1
    path = httpx.URL(url).path
    problem = "no attempt made"
    for attempt in range(attempts):
        if before_attempt is not None:
            await before_attempt()
        asked: float | None = None
        try:
            response = await http.get(url, params=params)
        except httpx.UnsupportedProtocol as exc:  # a misconfigured base URL; retrying cannot help
            raise SourceError(f"{source} base URL must start with http:// or https://") from exc
        except httpx.TimeoutException:
            problem = "timed out"
        except httpx.TransportError as exc:  # refused, reset, body shorter than announced
            problem = f"connection failed ({type(exc).__name__})"
        else:
            status = response.status_code
            if status == 429 or status >= 500:
                problem = f"HTTP {status}"
                asked = server_wait(response.headers)
            else:
                try:
                    return decode(response)
                except TransientBody as exc:
                    problem = str(exc)
        if attempt + 1 == attempts:
            break
        wait = min(asked, policy.max_wait) if asked is not None else policy.backoff_wait(attempt)
        log.warning(
            "%s %s: %s (attempt %d of %d), retrying in %.1f s",
            source,
            path,
            problem,
            attempt + 1,
            attempts,
            wait,
        )
        await sleep(wait)
    tries = f"{attempts} attempt{'s' if attempts != 1 else ''}"
    log.error("%s %s: %s, giving up after %s", source, path, problem, tries)
    raise SourceError(f"{source} request failed after {tries}: GET {path} ({problem})")
