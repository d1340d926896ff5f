"""arXiv export API (Atom): papers by id, politely paced, over an injected httpx client.

arXiv asks for at most one request every three seconds, so a client serialises its requests
behind a lock and waits out the interval before each one (retries included); concurrent callers
simply queue. The Atom feed has looked different over the years — namespaces declared on every
element or once on <feed>, other child order, hard-wrapped or single-line summaries — and the
parser only relies on what both share.

Error policy: an error entry (title "Error", or an id under api/errors), HTTP 400, an empty feed
or an id missing from the feed are "no such paper" (`NotFound` from `paper()`, simply absent from
`papers()`). Timeouts, connection errors, 5xx, 429 and unparsable XML are retried; XML that still
does not parse becomes a `SourceError`, like a feed that parses but is not Atom.
"""

from __future__ import annotations

import asyncio
import logging
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable
from datetime import datetime

import httpx

from bot.models import (
    InvalidPaperId,
    Paper,
    collapse_whitespace,
    dedupe_authors,
    normalize_arxiv_id,
)
from bot.sources import NotFound, SourceError
from bot.sources.http_retry import RetryPolicy, Sleep, TransientBody, fetch

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://export.arxiv.org"
SOURCE = "arXiv"
BATCH_SIZE = 100  # ids per request; longer id lists are split, each request paced

ATOM = "{http://www.w3.org/2005/Atom}"  # arxiv: and opensearch: elements carry nothing we use


class ArxivClient:
    """Reads the arXiv export API. The caller owns (opens and closes) the httpx client."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        base_url: str = DEFAULT_BASE_URL,
        *,
        min_interval: float = 3.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Sleep = asyncio.sleep,
        max_retries: int = 3,
        backoff: float = 1.0,
    ) -> None:
        self._http = http
        self._base_url = base_url.rstrip("/")
        self._min_interval = min_interval
        self._clock = clock
        self._sleep = sleep
        self._policy = RetryPolicy(max_retries=max_retries, backoff=backoff)
        self._lock = asyncio.Lock()
        self._last_request: float | None = None

    async def paper(self, paper_id: str) -> Paper:
        """One paper; NotFound when arXiv has no such id (or the id is not an arXiv id)."""
        try:
            clean_id = normalize_arxiv_id(paper_id)
        except InvalidPaperId as exc:
            raise NotFound(str(exc)) from exc
        found, errors = await self._query([clean_id])
        if clean_id in found:
            return found[clean_id]
        detail = f" ({errors[0]})" if errors else ""
        raise NotFound(f"arXiv has no paper {clean_id}{detail}")

    async def papers(self, ids: Iterable[str]) -> dict[str, Paper]:
        """Papers by versionless id, one request per 100 ids; unknown and invalid ids are absent."""
        wanted: list[str] = []
        for raw in ids:
            try:
                wanted.append(normalize_arxiv_id(raw))
            except InvalidPaperId:
                log.warning("Not asking arXiv for %r: not an arXiv id", raw[:60])
        wanted = list(dict.fromkeys(wanted))
        found: dict[str, Paper] = {}
        for start in range(0, len(wanted), BATCH_SIZE):
            batch, errors = await self._query(wanted[start : start + BATCH_SIZE])
            if errors:
                log.warning("arXiv reported errors for a batch of ids: %s", "; ".join(errors))
            found.update(batch)
        return found

    async def _query(self, ids: list[str]) -> tuple[dict[str, Paper], list[str]]:
        """({id: Paper} for the requested ids arXiv returned, [error messages arXiv sent])."""
        async with self._lock:
            papers, errors = await fetch(
                self._http,
                f"{self._base_url}/api/query",
                source=SOURCE,
                decode=_decode,
                params={"id_list": ",".join(ids), "max_results": len(ids)},
                policy=self._policy,
                sleep=self._sleep,
                before_attempt=self._wait_turn,
            )
        requested = set(ids)
        stray = [paper.id for paper in papers if paper.id not in requested]
        if stray:
            log.warning("arXiv returned papers that were not asked for: %s", ", ".join(stray))
        return {p.id: p for p in papers if p.id in requested}, errors

    async def _wait_turn(self) -> None:
        """Sleep until `min_interval` has passed since the last request. Hold the lock."""
        if self._last_request is not None:
            wait = self._last_request + self._min_interval - self._clock()
            if wait > 0:
                log.debug("Waiting %.2f s before the next arXiv request", wait)
                await self._sleep(wait)
        self._last_request = self._clock()


def _decode(response: httpx.Response) -> tuple[list[Paper], list[str]]:
    status = response.status_code
    if status == 400:  # arXiv explains a rejected query in an Atom error entry
        try:
            return parse_feed(response.content)
        except (ET.ParseError, SourceError):
            return [], ["arXiv rejected the query (HTTP 400)"]
    if not 200 <= status < 300:
        raise SourceError(f"arXiv refused the query (HTTP {status})")
    try:
        return parse_feed(response.content)
    except ET.ParseError as exc:
        raise TransientBody(f"malformed XML ({exc})") from exc


def parse_feed(content: bytes | str) -> tuple[list[Paper], list[str]]:
    """(papers, error messages) from an arXiv Atom feed, legacy or current format.

    Raises ET.ParseError for text that is not XML and SourceError for XML that is not an Atom
    feed. Error entries become messages, never Papers; entries without a usable id or title are
    skipped with a warning.
    """
    root = ET.fromstring(content)
    if root.tag != f"{ATOM}feed":
        raise SourceError(f"arXiv sent something other than an Atom feed (<{root.tag}>)")
    papers: list[Paper] = []
    errors: list[str] = []
    for index, entry in enumerate(root.findall(f"{ATOM}entry")):
        entry_id = _text(entry, "id")
        title = _text(entry, "title")
        if title == "Error" or "api/errors" in entry_id:
            errors.append(_text(entry, "summary") or entry_id or "unexplained error")
            continue
        try:
            paper_id = normalize_arxiv_id(entry_id)
        except InvalidPaperId:
            log.warning("Skipping arXiv entry %d: id %r is not an arXiv id", index, entry_id[:80])
            continue
        if not title:
            log.warning("Skipping arXiv entry %d (%s): no title", index, paper_id)
            continue
        names = [_text(author, "name") for author in entry.findall(f"{ATOM}author")]
        papers.append(
            Paper(
                id=paper_id,
                title=title,
                authors=dedupe_authors(names),
                abstract=_text(entry, "summary"),
                published_at=_timestamp(_text(entry, "published")),
            )
        )
    return papers, errors


def _text(element: ET.Element, tag: str) -> str:
    """The whitespace-collapsed text of the Atom child `tag`, or ""."""
    child = element.find(f"{ATOM}{tag}")
    return collapse_whitespace("".join(child.itertext())) if child is not None else ""


def _timestamp(value: str) -> datetime | None:
    try:
        return datetime.fromisoformat(value) if value else None
    except ValueError:
        return None
