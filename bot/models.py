"""Plain data passed between sources, storage and rendering. No I/O here."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

# New-style arXiv ids (0704.0001 onwards) and old-style ones (hep-th/9901001), version optional.
# [0-9], not \d: \d also matches other scripts' digits ("２４０１"), which are not arXiv ids.
_NEW_ID = re.compile(r"(?P<id>[0-9]{4}\.[0-9]{4,5})(?:v[0-9]+)?")
_OLD_ID = re.compile(r"(?P<archive>[a-z][a-z\-]*)(?:\.[A-Z]{2})?/(?P<number>[0-9]{7})(?:v[0-9]+)?")

# Archives of old-style ids (hep-th/9901001), used until March 2007.
OLD_ARCHIVES = (  # noqa: SIM905 - a word list reads better than 34 quoted strings
    "acc-phys adap-org alg-geom ao-sci astro-ph atom-ph bayes-an chao-dyn chem-ph cmp-lg comp-gas "
    "cond-mat cs dg-ga funct-an gr-qc hep-ex hep-lat hep-ph hep-th math math-ph mtrl-th nlin "
    "nucl-ex nucl-th patt-sol physics plasm-ph q-alg q-bio quant-ph solv-int supr-con"
).split()

VIDEO_EXTENSIONS = (".mp4", ".webm", ".mov", ".qt", ".m4v", ".mkv", ".ogv")  # .qt: QuickTime


def _valid_new_id(arxiv_id: str) -> bool:
    """YYMM must be a real month; numbers have 4 digits until 2014 and 5 digits from 2015."""
    month, number = arxiv_id.split(".")
    yymm = int(month)
    return 1 <= yymm % 100 <= 12 and yymm >= 704 and len(number) == (4 if yymm < 1501 else 5)


class InvalidPaperId(ValueError):
    """Text that is not an arXiv id."""


def normalize_arxiv_id(text: str) -> str:
    """Return the versionless arXiv id in `text` (an id, abs/pdf URL or Hugging Face papers URL).

    Raises InvalidPaperId for anything else, so odd input never reaches a query or a URL.
    """
    candidate = text.strip()
    for prefix in ("arxiv:", "arXiv:"):
        candidate = candidate.removeprefix(prefix)
    match = re.fullmatch(
        r"(?:https?://)?(?:www\.|export\.)?(?:arxiv\.org/(?:abs|pdf|html)/|huggingface\.co/papers/)"
        r"(?P<rest>[^?#]+?)(?:\.pdf)?/?(?:[?#].*)?",
        candidate,
    )
    if match:
        candidate = match.group("rest")
    if (found := _NEW_ID.fullmatch(candidate)) and _valid_new_id(found.group("id")):
        return found.group("id")
    found = _OLD_ID.fullmatch(candidate)
    if (
        found
        and found.group("archive") in OLD_ARCHIVES  # the subject class (math.AG/) is not in the id
        and 1 <= int(found.group("number")[2:4]) <= 12
    ):
        return f"{found.group('archive')}/{found.group('number')}"
    raise InvalidPaperId(f"{text[:60]!r} is not an arXiv id (expected something like 2401.08541)")


def parse_day(text: str, today: date | None = None) -> date:
    """A day typed by a person: YYYY-MM-DD, "today" or "yesterday" (UTC).

    ValueError with a hint for anything else (2024-02-30, 20240117, 2024-W03 ...).
    """
    cleaned = text.strip().lower()
    today = today or datetime.now(UTC).date()
    named = {"today": today, "yesterday": today - timedelta(days=1)}
    if cleaned in named:
        return named[cleaned]
    try:
        if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", cleaned):
            raise ValueError(text)
        return date.fromisoformat(cleaned)
    except ValueError:
        shown = text if len(text) <= 40 else text[:39] + "…"
        raise ValueError(
            f"{shown!r} is not a real date; use YYYY-MM-DD (e.g. 2024-01-17), today or yesterday"
        ) from None


def is_video_url(url: str) -> bool:
    """True when the URL points at a video file (judged by its extension)."""
    path = url.split("?", 1)[0].split("#", 1)[0].lower()
    return path.endswith(VIDEO_EXTENSIONS)


def collapse_whitespace(text: str) -> str:
    """Join arXiv's hard-wrapped lines and squeeze runs of spaces."""
    return " ".join(text.split())


def dedupe_authors(names: list[str]) -> list[str]:
    """Drop repeated author names, keeping the first occurrence's position."""
    seen: set[str] = set()
    unique = []
    for name in names:
        clean = collapse_whitespace(name)
        key = unicodedata.normalize("NFC", clean).casefold()
        if clean and key not in seen:
            seen.add(key)
            unique.append(clean)
    return unique


@dataclass(slots=True)
class Summary:
    """A few bullets about a paper in one language, and where they came from."""

    language: str  # BCP-47-ish code: "en", "ko", ...
    source: str  # "digest" (imported markdown), "hf_ai" (Hugging Face ai_summary), "abstract"
    bullets: list[str]


@dataclass(slots=True)
class Paper:
    """One arXiv paper as the sources describe it."""

    id: str  # versionless arXiv id
    title: str
    authors: list[str] = field(default_factory=list)  # deduplicated, in order
    abstract: str = ""
    upvotes: int | None = None  # Hugging Face upvotes when known
    published_at: datetime | None = None  # arXiv publication time
    image_url: str | None = None  # thumbnail to show on a card
    video_url: str | None = None  # first video, when the paper has one
    github_repo: str | None = None
    github_stars: int | None = None
    project_page: str | None = None
    ai_summary: str | None = None
    ai_keywords: list[str] = field(default_factory=list)
    num_comments: int | None = None
    organization: str | None = None
    summaries: list[Summary] = field(default_factory=list)
    days: list[date] = field(default_factory=list)  # days it was on the Daily Papers list (store)

    @property
    def arxiv_url(self) -> str:
        return f"https://arxiv.org/abs/{self.id}"

    @property
    def pdf_url(self) -> str:
        return f"https://arxiv.org/pdf/{self.id}"

    @property
    def hf_url(self) -> str:
        return f"https://huggingface.co/papers/{self.id}"


@dataclass(slots=True)
class DailyList:
    """A day's Daily Papers list; the position in `papers` is the rank (0 = first)."""

    day: date
    papers: list[Paper] = field(default_factory=list)
