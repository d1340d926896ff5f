"""Hugging Face Daily Papers: a day's ranked list and single papers, over an injected httpx client.

The JSON has changed shape over the years (see the tests' fixtures): the oldest items carry a
singular top-level `mediaUrl`, mid-2024 ones `thumbnail` and top-level `mediaUrls`, newer ones
repeat `mediaUrls`/`organization` under `paper` and add `githubRepo`, `ai_summary` and friends.
The parsers below accept all of them and treat every optional field as possibly missing.

Error policy: a 400 is `BadRequest`, a 404 `NotFound`; timeouts, connection errors, 5xx, 429 and
bodies that are not JSON (or are cut short) are retried by `http_retry.fetch`. JSON that parses but
has the wrong shape (a top-level object instead of a list) is not retried — the server would say
the same again — and becomes a `SourceError` at once. A single malformed item is skipped with one
warning; the rest of the day is kept.
"""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import date, datetime
from typing import Any

import httpx

from bot.models import (
    DailyList,
    InvalidPaperId,
    Paper,
    collapse_whitespace,
    dedupe_authors,
    is_video_url,
    normalize_arxiv_id,
)
from bot.sources import NotFound, SourceError
from bot.sources.http_retry import RetryPolicy, Sleep, TransientBody, fetch

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://huggingface.co"  # the settings' HF_API_BASE overrides it
SOURCE = "Hugging Face"
PAGE_SIZE = 100  # the API's largest `limit`
MAX_PAGES = 10  # 1,000 papers; no real day comes close, a misbehaving server stops here
MARKDOWN_MAX_BYTES = 2_000_000  # of a paper's markdown view read at most; the rest is not read
MARKDOWN_TYPES = ("text/markdown", "text/x-markdown", "text/plain")


class BadRequest(SourceError):
    """Hugging Face rejected the request itself (HTTP 400), e.g. a date it does not accept."""


class MalformedItem(SourceError):
    """A paper record lacks what a Paper needs (id, title) or has fields of the wrong type."""

    def __init__(self, message: str, paper_id: object = None) -> None:
        super().__init__(message)
        self.paper_id = paper_id


class HuggingFaceClient:
    """Reads the Daily Papers API. The caller owns (opens and closes) the httpx client."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        base_url: str = DEFAULT_BASE_URL,
        *,
        max_retries: int = 3,
        backoff: float = 0.5,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._http = http
        self._base_url = base_url.rstrip("/")
        self._policy = RetryPolicy(max_retries=max_retries, backoff=backoff)
        self._sleep = sleep

    async def daily_papers(self, day: date) -> DailyList:
        """The Daily Papers list for `day`, in the order Hugging Face ranks it.

        Pages through `p=0, 1, ...` until a page is shorter than the limit. A server that ignores
        `p` (the same page again) is caught by stopping when a page adds no new paper.
        """
        papers: list[Paper] = []
        seen: set[str] = set()
        for page in range(MAX_PAGES):
            items = await self._get_json(
                "/api/daily_papers",
                params={"date": day.isoformat(), "limit": PAGE_SIZE, "p": page},
                what=f"the Daily Papers list for {day.isoformat()}",
                bad_request=f"Hugging Face rejected the date {day.isoformat()}",
                not_found=f"Hugging Face has no Daily Papers list for {day.isoformat()}",
            )
            if not isinstance(items, list):
                raise SourceError(
                    f"Hugging Face sent something other than a list of papers for "
                    f"{day.isoformat()} ({_describe(items)})"
                )
            fresh = 0
            for index, item in enumerate(items):
                try:
                    paper = parse_daily_item(item)
                except MalformedItem as exc:
                    log.warning(
                        "Skipping Daily Papers item %d (id %r) of %s: %s",
                        page * PAGE_SIZE + index,
                        exc.paper_id,
                        day.isoformat(),
                        exc,
                    )
                    continue
                if paper.id not in seen:
                    seen.add(paper.id)
                    papers.append(paper)
                    fresh += 1
            if len(items) < PAGE_SIZE:
                break
            if fresh == 0:
                log.warning(
                    "Hugging Face page %d for %s brought no new papers; it seems to ignore paging",
                    page,
                    day.isoformat(),
                )
                break
        else:
            log.warning("Stopped after %d pages of Daily Papers for %s", MAX_PAGES, day)
        log.info("Fetched %d Daily Papers for %s", len(papers), day.isoformat())
        return DailyList(day=day, papers=papers)

    async def paper(self, paper_id: str) -> Paper:
        """One paper from `/api/papers/{id}`; NotFound when Hugging Face does not know it."""
        try:
            clean_id = normalize_arxiv_id(paper_id)
        except InvalidPaperId as exc:
            raise NotFound(str(exc)) from exc
        obj = await self._get_json(
            f"/api/papers/{clean_id}",
            what=f"paper {clean_id}",
            bad_request=f"Hugging Face rejected the paper id {clean_id}",
            not_found=f"Hugging Face has no page for paper {clean_id}",
        )
        try:
            return parse_paper(obj)
        except MalformedItem as exc:
            raise SourceError(
                f"Hugging Face sent an unusable record for {clean_id}: {exc}"
            ) from exc

    async def paper_markdown(
        self,
        paper_id: str,
        *,
        max_bytes: int = MARKDOWN_MAX_BYTES,
        deadline: float | None = None,
    ) -> str:
        """Hugging Face's markdown view of a paper, `/papers/{id}.md` (the paper's text, from
        arXiv's HTML version when there is one, else Hugging Face's page), at most `max_bytes`
        of it, as sent: untrusted text.

        One attempt, no retries, at most `deadline` seconds in all (None: only the client's
        timeout per read): the caller has the abstract to fall back on. NotFound for a 404 (or an id
        that is not an arXiv id); SourceError, naming the status or failure only, for anything
        else that is not markdown: another status, a timeout, a connection error, an HTML page,
        a JSON body, an empty one.
        """
        try:
            clean_id = normalize_arxiv_id(paper_id)
        except InvalidPaperId as exc:
            raise NotFound(str(exc)) from exc
        url = f"{self._base_url}/papers/{clean_id}.md"
        what = f"the markdown of paper {clean_id}"
        try:
            async with asyncio.timeout(deadline):
                async with self._http.stream("GET", url) as response:
                    status = response.status_code
                    if status == 404:
                        raise NotFound(f"Hugging Face has no markdown of paper {clean_id}")
                    if not 200 <= status < 300:
                        raise SourceError(f"Hugging Face refused {what} (HTTP {status})")
                    kind = response.headers.get("content-type", "").split(";")[0].strip()
                    if kind and kind.casefold() not in MARKDOWN_TYPES:
                        raise NotFound(f"Hugging Face sent {kind[:40]}, not {what}")
                    body = bytearray()
                    async for chunk in response.aiter_bytes():
                        body += chunk
                        if len(body) >= max_bytes:
                            break
                    encoding = response.charset_encoding or "utf-8"
        except (TimeoutError, httpx.TimeoutException):
            raise SourceError(f"Hugging Face did not send {what} in time") from None
        except httpx.HTTPError as exc:
            raise SourceError(f"could not fetch {what} ({type(exc).__name__})") from None
        read = bytes(body[:max_bytes])
        if len(body) >= max_bytes:  # cut short: drop the last, partial line (half a link…)
            read = read[: read.rfind(b"\n") + 1] or read
        try:
            text = read.decode(encoding, errors="replace")
        except LookupError:  # a charset Python does not know
            text = read.decode("utf-8", errors="replace")
        # A page that is not markdown is as good as none: NotFound, not a passing failure.
        head = text.lstrip()[:200].casefold()
        if not head:
            raise NotFound(f"Hugging Face sent an empty body for {what}")
        if head.startswith(("<!doctype", "<html", "<?xml")) or "<head" in head[:100]:
            raise NotFound(f"Hugging Face sent an HTML page, not {what}")
        if head.startswith(("{", "[")) and _is_json(text):
            raise NotFound(f"Hugging Face sent JSON, not {what}")
        return text

    async def _get_json(
        self,
        path: str,
        *,
        what: str,
        bad_request: str,
        not_found: str,
        params: dict[str, str | int] | None = None,
    ) -> Any:
        def decode(response: httpx.Response) -> Any:
            status = response.status_code
            if status == 400:
                reason = _error_text(response)
                raise BadRequest(f"{bad_request}: {reason}" if reason else bad_request)
            if status == 404:
                raise NotFound(not_found)
            if not 200 <= status < 300:
                raise SourceError(f"Hugging Face refused {what} (HTTP {status})")
            try:
                return response.json()
            except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError
                raise TransientBody(f"invalid JSON for {what}") from exc

        return await fetch(
            self._http,
            self._base_url + path,
            source=SOURCE,
            decode=decode,
            params=params,
            policy=self._policy,
            sleep=self._sleep,
        )


def parse_daily_item(item: dict) -> Paper:
    """A Paper from one `/api/daily_papers` item (`{"paper": {...}, "thumbnail": ..., ...}`)."""
    if not isinstance(item, dict):
        raise MalformedItem(f"item is {_describe(item)}, not an object")
    obj = item.get("paper")
    if not isinstance(obj, dict):
        raise MalformedItem(f"item has no paper object ({_describe(obj)})")
    return parse_paper(obj, item)


def parse_paper(obj: dict, item: dict | None = None) -> Paper:
    """A Paper from a `paper` object; `item` is the Daily Papers item around it, when there is one.

    Required: an arXiv `id` and a `title` (the item's title stands in for a missing paper title).
    `summary`, `authors` and `upvotes` may be missing but, when present, must have the right type.
    Other fields are optional extras: missing or of the wrong type, they are simply left empty.
    """
    if not isinstance(obj, dict):
        raise MalformedItem(f"paper is {_describe(obj)}, not an object")
    outer = item if isinstance(item, dict) else {}
    raw_id = obj.get("id")
    if not isinstance(raw_id, str) or not raw_id.strip():
        raise MalformedItem("paper id is missing", raw_id)
    try:
        paper_id = normalize_arxiv_id(raw_id)
    except InvalidPaperId as exc:
        raise MalformedItem(f"paper id {raw_id[:40]!r} is not an arXiv id", raw_id) from exc

    title = _required(obj, "title", str, paper_id) or _required(outer, "title", str, paper_id)
    if not title or not title.strip():
        raise MalformedItem("title is missing", paper_id)
    abstract = _required(obj, "summary", str, paper_id) or ""
    raw_authors = _required(obj, "authors", list, paper_id) or []
    upvotes = _required(obj, "upvotes", int, paper_id)

    names = [
        a["name"] for a in raw_authors if isinstance(a, dict) and isinstance(a.get("name"), str)
    ]
    image_url, video_url = _media(obj, outer)
    ai_keywords = _extra(obj, outer, "ai_keywords", list) or []
    ai_summary = _extra(obj, outer, "ai_summary", str)
    return Paper(
        id=paper_id,
        title=collapse_whitespace(title),
        authors=dedupe_authors(names),  # hidden authors are still authors: kept
        abstract=collapse_whitespace(abstract),
        upvotes=upvotes,
        published_at=_timestamp(obj.get("publishedAt")),
        image_url=image_url,
        video_url=video_url,
        github_repo=_extra(obj, outer, "githubRepo", str) or None,
        github_stars=_extra(obj, outer, "githubStars", int),
        project_page=_extra(obj, outer, "projectPage", str) or None,
        ai_summary=collapse_whitespace(ai_summary) if ai_summary else None,
        ai_keywords=[
            collapse_whitespace(k) for k in ai_keywords if isinstance(k, str) and k.strip()
        ],
        num_comments=_extra(outer, obj, "numComments", int),
        organization=_organization(_extra(obj, outer, "organization", (dict, str))),
    )


def _required(obj: dict, key: str, kind: type, paper_id: str) -> Any:
    """`obj[key]` when present and of type `kind`; None when missing; MalformedItem otherwise."""
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise MalformedItem(f"{key} is {_describe(value)}, expected {kind.__name__}", paper_id)
    return value


def _extra(first: dict, second: dict, key: str, kind: type | tuple[type, ...]) -> Any:
    """An optional field from `first`, else `second`; None when missing or of the wrong type."""
    for source in (first, second):
        value = source.get(key)
        if isinstance(value, kind) and not isinstance(value, bool):
            return value
    return None


def _media(obj: dict, item: dict) -> tuple[str | None, str | None]:
    """(image_url, video_url): the thumbnail or first picture, and the first video."""
    urls: list[str] = []
    for source in (item, obj):
        many = source.get("mediaUrls")
        if isinstance(many, list):
            urls.extend(many)
        if isinstance(one := source.get("mediaUrl"), str):  # the oldest shape: one URL
            urls.append(one)
    media = [u for u in dict.fromkeys(urls) if isinstance(u, str) and _is_web_url(u)]
    thumbnail = next(
        (t for t in (item.get("thumbnail"), obj.get("thumbnail")) if _is_web_url(t)), None
    )
    picture = next((u for u in media if not is_video_url(u)), None)
    video = next((u for u in media if is_video_url(u)), None)
    return thumbnail or picture, video


def _is_web_url(value: object) -> bool:
    return isinstance(value, str) and value.startswith(("https://", "http://"))


def _organization(value: dict | str | None) -> str | None:
    if isinstance(value, dict):
        value = value.get("fullname") or value.get("name")
    if not isinstance(value, str):
        return None
    return collapse_whitespace(value) or None


def _timestamp(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value)  # Python 3.11 reads the trailing "Z"
    except ValueError:
        return None


def _error_text(response: httpx.Response) -> str:
    """Hugging Face's own explanation in an error body (`{"error": "..."}`), shortened."""
    try:
        body = response.json()
    except ValueError:
        return ""
    error = body.get("error") if isinstance(body, dict) else None
    return collapse_whitespace(error)[:200] if isinstance(error, str) else ""


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def _describe(value: object) -> str:
    return "null" if value is None else type(value).__name__
