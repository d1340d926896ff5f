"""The start of a paper's text for its summary (``SUMMARY_SOURCE=fulltext``).

Hugging Face serves a markdown view of each paper it knows, ``GET {HF_API_BASE}/papers/{id}.md``
(built from arXiv's HTML version of the paper when there is one, else from Hugging Face's own
page). ``FullText`` fetches it once per paper and process (a small cache shared by every
language, a concurrency limit of its own), strips what is noise for a summary (``clean_markdown``:
front matter, images, ``data:`` URIs, HTML tags and comments, link targets, the reference list
after a "References" heading, the title and abstract the request already carries) and cuts it to
a token budget at a paragraph or sentence boundary (``cut_to_tokens``).

Tokens are estimated, not counted: no tokenizer is installed, and each model has its own. An
ASCII character is a quarter of a token (English prose runs about 4 characters a token with the
common BPE tokenizers), any other character a whole one (CJK, accented letters and symbols
often take one or more). The budget is approximate: LaTeX, tables and long numbers take more
tokens than prose.

A paper without usable markdown gets ``None`` and its summary is written from the abstract
alone. A 404 or a page with nothing to use (HTML, empty) is remembered like a text; a passing
failure (another status, a timeout, a reset) is not, so the next request for that paper tries
again. At most ``read_bytes`` of a page are read, and it is cleaned in a thread (a long page
takes a fraction of a second). The text is
the paper's, so it is untrusted: it goes inside the request's ``<paper>`` block, which tells the
model it is data, and the answer goes through the same checks (``bot.summaries.checks``).
"""

from __future__ import annotations

import asyncio
import html
import logging
import math
import re
from collections import OrderedDict
from typing import TYPE_CHECKING

import httpx

from bot.models import Paper, collapse_whitespace
from bot.sources import NotFound, SourceError
from bot.sources.huggingface import MARKDOWN_MAX_BYTES, HuggingFaceClient

if TYPE_CHECKING:
    from bot.config import Settings

__all__ = [
    "CACHE_SIZE",
    "CHARS_PER_TOKEN",
    "FETCH_CONCURRENCY",
    "FullText",
    "clean_markdown",
    "cut_to_tokens",
    "estimate_tokens",
    "paper_text",
]

log = logging.getLogger(__name__)

CHARS_PER_TOKEN = 4  # ASCII characters per token, an estimate (see the module docstring)
FETCH_CONCURRENCY = 2  # markdown requests to Hugging Face in flight at most
CACHE_SIZE = 256  # papers whose text (or lack of one) is kept in memory
READ_FLOOR = 65_536  # bytes of a page read at least (see FullText.read_bytes)
ELLIPSIS = "…"


def estimate_tokens(text: str) -> int:
    """About how many tokens `text` is: 4 ASCII characters, or any other character, a token."""
    ascii_chars = sum(1 for char in text if char < "\x80")
    return math.ceil(ascii_chars / CHARS_PER_TOKEN) + (len(text) - ascii_chars)


# --- cleaning ------------------------------------------------------------------------------------

_FRONT_MATTER = re.compile(r"\A\ufeff?---[ \t]*\n.*?\n(?:---|\.\.\.)[ \t]*(?:\n|\Z)", re.DOTALL)
_COMMENT = re.compile(r"<!--.*?(?:-->|\Z)", re.DOTALL)
_BLOCKS = re.compile(
    r"<(script|style|svg|noscript|iframe|object|template)\b[^>]*>.*?(?:</\1\s*>|\Z)",
    re.DOTALL | re.IGNORECASE,
)
_DATA_URI = re.compile(r"data:[\w.+-]+/[\w.+-]+(?:;[\w.+=-]+)*,[^\s)\"'<>]*", re.IGNORECASE)
_IMAGE = re.compile(r"!\[[^\]\n]{0,1000}\](?:\([^)\n]*\)|\[[^\]\n]*\])")
_LINK = re.compile(r"\[([^\]\n]{0,1000})\]\([^)\n]*\)")
_LINK_DEFINITION = re.compile(r"^[ \t]{0,3}\[[^\]\n]+\]:[ \t]*\S.*$", re.MULTILINE)
_TAG = re.compile(r"</?[A-Za-z][A-Za-z0-9:-]*(?:\s[^<>]*)?/?>")
_BREAK = re.compile(r"<br\s*/?>|</?(?:p|div|li|tr|h[1-6]|table|section)\b[^<>]*>", re.IGNORECASE)
_REFERENCES = re.compile(
    r"^[ \t]{0,3}(?:#{1,6}[ \t]*)?(?:\*\*|__)?[ \t]*(?:[0-9IVX]+\.?[ \t]+)?"
    r"(?:references|bibliography|reference list|works cited|literature cited)"
    r"[ \t]*:?[ \t]*(?:\*\*|__)?[ \t]*:?[ \t]*$",
    re.IGNORECASE | re.MULTILINE,
)
_SPACES = re.compile(r"[ \t\f\v\u00a0]+")
_BLANK_LINES = re.compile(r"\n{3,}")
_HEADING_MARK = re.compile(r"^#{1,6}\s*")


def _plain(text: str) -> str:
    """A paragraph compared with the title or abstract: no heading mark, collapsed, folded."""
    return collapse_whitespace(_HEADING_MARK.sub("", text.strip())).casefold()


def clean_markdown(markdown: str, paper: Paper | None = None) -> str:
    """`markdown` without what is noise for a summary, paragraphs separated by blank lines.

    Dropped: YAML front matter, HTML comments and script/style/svg blocks, images, ``data:``
    URIs, link definitions and targets (a link keeps its text), HTML tags (their text is kept;
    entities are decoded first, so an escaped tag is dropped too), and everything from a
    "References" / "Bibliography" heading on. With `paper`, a paragraph that is just its title
    or its abstract (already in the request), or an "Abstract" heading, is dropped as well.
    """
    text = markdown.replace("\r\n", "\n").replace("\r", "\n")
    text = _FRONT_MATTER.sub("", text)
    text = _COMMENT.sub("", text)
    text = _DATA_URI.sub("", text)
    text = _IMAGE.sub("", text)
    text = _LINK.sub(r"\1", text)
    text = _LINK_DEFINITION.sub("", text)
    text = html.unescape(text)
    text = _COMMENT.sub("", text)
    text = _BLOCKS.sub("", text)
    text = _BREAK.sub("\n", text)
    text = _TAG.sub("", text)
    text = text.replace("<!--", "").replace("-->", "")
    if (references := _REFERENCES.search(text)) is not None:
        text = text[: references.start()]
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    text = _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()
    if paper is None:
        return text
    known = {_plain(paper.title), _plain(paper.abstract), "abstract", "abstract."} - {""}
    paragraphs = [p for p in text.split("\n\n") if _plain(p) not in known]
    return "\n\n".join(paragraphs)


# --- cutting -------------------------------------------------------------------------------------

# A sentence's end: . ! ? (and a closing quote or bracket) before a space; 。！？ anywhere.
_SENTENCE_END = re.compile(r"[.!?][\"')\]]*(?=\s)|[。！？][」』）]*")


def _sentences_within(paragraph: str, tokens: int) -> str:
    """The paragraph's first sentences that fit in `tokens`; '' when the first one does not.

    Counted as it goes (a long paragraph of many sentences is read once)."""
    ascii_chars = other_chars = 0
    kept_end = start = 0
    for match in _SENTENCE_END.finditer(paragraph):
        sentence = paragraph[start : match.end()]
        ascii_here = sum(1 for char in sentence if char < "\x80")
        ascii_chars += ascii_here
        other_chars += len(sentence) - ascii_here
        if math.ceil(ascii_chars / CHARS_PER_TOKEN) + other_chars > tokens:
            break
        kept_end = start = match.end()
    return paragraph[:kept_end]


def _words_within(text: str, tokens: int) -> str:
    """The start of `text` that fits in `tokens` (with an ellipsis), cut after a whole word."""
    room = tokens - 1  # the ellipsis
    low, high = 0, len(text)
    while low < high:  # the longest prefix within the budget
        middle = (low + high + 1) // 2
        if estimate_tokens(text[:middle]) <= room:
            low = middle
        else:
            high = middle - 1
    cut = text[:low]
    if low < len(text) and " " in cut:
        cut = cut[: cut.rindex(" ")]
    cut = cut.rstrip()
    return cut + ELLIPSIS if cut else ""


def cut_to_tokens(text: str, tokens: int) -> str:
    """The start of `text` within about `tokens` tokens (``estimate_tokens``).

    Whole paragraphs while they fit, then the whole sentences of the next one that fit. Only a
    first paragraph without a sentence that fits is cut inside a sentence, after a word, with an
    ellipsis."""
    if tokens <= 0:
        return ""
    if estimate_tokens(text) <= tokens:
        return text
    kept: list[str] = []
    used = 0
    for paragraph in text.split("\n\n"):
        separator = 1 if kept else 0  # a blank line is about a token
        cost = estimate_tokens(paragraph) + separator
        if used + cost <= tokens:
            kept.append(paragraph)
            used += cost
            continue
        room = tokens - used - separator
        part = _sentences_within(paragraph, room)
        if not part and not kept:
            part = _words_within(paragraph, room)
        if part:
            kept.append(part)
        break
    return "\n\n".join(kept)


def paper_text(markdown: str, paper: Paper, tokens: int) -> str | None:
    """What the request carries of `markdown`: cleaned, cut to `tokens`; None when nothing is
    left (a page of images and references, or only the title and abstract)."""
    text = cut_to_tokens(clean_markdown(markdown, paper), tokens).strip()
    return text or None


# --- fetching ------------------------------------------------------------------------------------


class FullText:
    """``await full_text(paper)``: the start of `paper`'s text, or None to use the abstract alone.

    Each paper is fetched at most once while it is in the cache (its last `cache_size` papers),
    whatever the number of languages asking for it at the same time: they wait for the same
    request. A failure is cached like a text (the abstract alone, and no second request). The
    caller owns an `http` client handed in; without one, one is made and ``aclose()`` closes it.
    """

    def __init__(
        self,
        http: httpx.AsyncClient | None,
        base_url: str,
        tokens: int,
        *,
        timeout: float | None = 20.0,
        concurrency: int = FETCH_CONCURRENCY,
        cache_size: int = CACHE_SIZE,
    ) -> None:
        if tokens < 1 or concurrency < 1 or cache_size < 1:
            raise ValueError("tokens, concurrency and cache_size must be at least 1")
        self.tokens = tokens
        self._owns_http = http is None
        if http is None:
            from bot import version

            http = httpx.AsyncClient(
                timeout=timeout, headers={"User-Agent": f"paperboy/{version()}"}
            )
        self._http = http
        self._client = HuggingFaceClient(http, base_url)
        self._timeout = timeout
        self._semaphore = asyncio.Semaphore(concurrency)
        self._cache: OrderedDict[str, asyncio.Future[str | None]] = OrderedDict()
        self._cache_size = cache_size
        self.fetches = 0  # requests made to Hugging Face

    @classmethod
    def from_settings(cls, settings: Settings, http: httpx.AsyncClient | None = None) -> FullText:
        return cls(
            http,
            settings.hf_api_base,
            settings.summary_fulltext_tokens,
            timeout=settings.http_timeout,
        )

    async def __call__(self, paper: Paper) -> str | None:
        future = self._cache.get(paper.id)
        if future is None:
            future = asyncio.ensure_future(self._load(paper))
            self._cache[paper.id] = future
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)  # a request in flight still ends for its callers
        else:
            self._cache.move_to_end(paper.id)
        # Shielded: a caller that is cancelled does not cancel the request the others wait for.
        return await asyncio.shield(future)

    async def _load(self, paper: Paper) -> str | None:
        async with self._semaphore:
            self.fetches += 1
            try:
                markdown = await self._client.paper_markdown(
                    paper.id, max_bytes=self.read_bytes, deadline=self._timeout
                )
            except NotFound as exc:  # kept: the paper has no markdown view
                log.info("no full text of %s (%s); the abstract alone", paper.id, exc)
                return None
            except Exception as exc:  # never lose a summary for its optional extra text
                why = str(exc) if isinstance(exc, SourceError) else type(exc).__name__
                log.warning("no full text of %s (%s); the abstract alone", paper.id, why)
                self._forget(paper.id)  # a passing failure: the next request tries again
                return None
        # Cleaning a long page takes a fraction of a second: not on the event loop.
        text = await asyncio.to_thread(paper_text, markdown, paper, self.tokens)
        if text is None:
            log.info("the full text of %s holds nothing to use; the abstract alone", paper.id)
        return text

    def _forget(self, paper_id: str) -> None:
        future = self._cache.get(paper_id)
        if future is not None and not future.done():  # this very load: drop it when it ends
            future.add_done_callback(lambda _: self._cache.pop(paper_id, None))

    @property
    def read_bytes(self) -> int:
        """How much of a page is read: enough for the budget after images, links and markup
        are dropped (32 bytes a token), never less than 64 KB, never more than the source's
        own cap."""
        return min(MARKDOWN_MAX_BYTES, max(READ_FLOOR, self.tokens * 32))

    async def aclose(self) -> None:
        """Close the HTTP client if this made it (not one handed in)."""
        if self._owns_http:
            await self._http.aclose()
