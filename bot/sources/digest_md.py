"""Read and write the markdown "Daily Papers" digest format.

A digest file holds one or more day sections; each paper is a block of lines::

    ## Daily Papers (2024-01-17)

    ### [Title](https://arxiv.org/abs/2401.08541)

    ![](https://example.org/thumbnail.png)

    Vote: 21

    Authors: First Author, Second Author

    - a bullet, inline markdown kept as-is
    - another bullet

A video paper has ``[Watch Video](clip.mp4)`` followed by the line
``<div><video controls src="clip.mp4" muted="false"></video></div>`` instead of the image.

Rules where the original generator leaves room for doubt (the parser is strict, because an error
with a line number beats silently dropping data):

- Blank lines and trailing whitespace don't matter; ``\\r\\n`` endings and a UTF-8 BOM are accepted.
- Only the heading is required. The media, ``Vote:`` and ``Authors:`` lines are optional, may come
  in any order and at most once each; the bullets come last. ``render_digest`` omits the line of
  anything a paper lacks (no media, ``upvotes=None``, no authors, no bullets).
- A paper may have both an image and a video; they are written image first.
- ``![](url)`` whose URL ends in a video extension counts as the video; ``[Watch Video](url)`` is
  always the video. The ``<div><video ...>`` line is optional, but when present it must come right
  after ``[Watch Video](url)`` and name the same URL.
- Titles follow CommonMark escaping: a backslash before ASCII punctuation escapes it, so a title
  may hold ``[``, ``]``, ``)`` and backslashes; ``render_digest`` escapes ``\\``, ``[`` and ``]``.
- Authors are separated by a comma followed by whitespace, so a name can't contain ", " (render
  refuses such a name). Repeated names are dropped, and so are "names" without a letter or digit
  (a stray ``+``).
- Bullets are kept verbatim, apart from the surrounding whitespace; blank bullets are dropped.
  They become one ``Summary(language, "digest", bullets)``; a paper without bullets has no summary.
- Errors: text before the first section, a bad section date, two sections for the same day, a
  heading without an arXiv link, the same paper twice in one section, a vote that is not a
  non-negative integer, a repeated field, unknown lines, and a file with no section at all
  (an empty file) each raise ``DigestFormatError``; nothing is returned from a broken file.
  A section without papers is allowed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import NoReturn

from bot.models import (
    DailyList,
    InvalidPaperId,
    Paper,
    Summary,
    collapse_whitespace,
    dedupe_authors,
    is_video_url,
    normalize_arxiv_id,
)
from bot.sources import SourceError

__all__ = [
    "DigestFormatError",
    "detect_language",
    "parse_digest",
    "parse_digest_file",
    "render_digest",
]

SUMMARY_SOURCE = "digest"

_SECTION_FORM = "'## Daily Papers (YYYY-MM-DD)'"
_PAPER_FORM = "'### [Title](https://arxiv.org/abs/<id>)'"

_SECTION = re.compile(r"## Daily Papers \((?P<day>[^()]*)\)")
_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
# Greedy title: the link is the last "](...)" on the line, so titles may contain "](" themselves.
_PAPER = re.compile(r"### \[(?P<title>.*)\]\((?P<url>\S*)\)")
_IMAGE = re.compile(r"!\[[^\[\]]*\]\((?P<url>\S+)\)")
_WATCH_VIDEO = re.compile(r"\[Watch Video\]\((?P<url>\S+)\)")
_VIDEO_TAG = re.compile(r'<div><video\b[^>]*?\ssrc="(?P<url>[^"]*)"[^>]*></video></div>')
_VOTE = re.compile(r"Vote:\s*(?P<votes>[0-9]+)")
_AUTHOR_SEPARATOR = re.compile(r",\s+")
_ESCAPED = re.compile(r"\\([!-/:-@\[-`{-~])")  # CommonMark: a backslash before ASCII punctuation
_TITLE_SPECIALS = re.compile(r"([\\\[\]])")


class DigestFormatError(SourceError, ValueError):
    """A digest that breaks the format; the message reads `file:line: expected ..., found ...`."""

    def __init__(self, source: str, line: int, expected: str, found: str) -> None:
        super().__init__(f"{source}:{line}: expected {expected}, found {found}")
        self.source = source
        self.line = line
        self.expected = expected
        self.found = found


def detect_language(text: str) -> str:
    """Guess the language of `text` from its script: "ko", "ja", "zh", or "en" for anything else.

    Hangul means Korean (unless kana outnumber it), kana means Japanese, Han characters without
    kana mean Chinese. Latin, digits and punctuation don't count, so Korean bullets full of English
    terms are still Korean.
    """
    hangul = kana = han = 0
    for char in text:
        code = ord(char)
        if (
            0xAC00 <= code <= 0xD7A3
            or 0x1100 <= code <= 0x11FF
            or 0x3130 <= code <= 0x318F
            or 0xA960 <= code <= 0xA97F
            or 0xD7B0 <= code <= 0xD7FF
        ):
            hangul += 1
        elif (0x3040 <= code <= 0x30FF and code != 0x30FB) or 0x31F0 <= code <= 0x31FF:
            kana += 1  # U+30FB (katakana middle dot) also appears in Chinese and Korean text
        elif 0xFF66 <= code <= 0xFF9D:
            kana += 1  # half-width katakana
        elif (
            0x4E00 <= code <= 0x9FFF
            or 0x3400 <= code <= 0x4DBF
            or 0xF900 <= code <= 0xFAFF
            or 0x20000 <= code <= 0x3FFFF
        ):
            han += 1
    if hangul and hangul >= kana:
        return "ko"
    if kana:
        return "ja"
    if han:
        return "zh"
    return "en"


def parse_digest(text: str, *, source_name: str = "<string>") -> list[DailyList]:
    """Parse digest markdown into one DailyList per section, papers in file order (= rank).

    Raises DigestFormatError, naming `source_name` and the line, for anything off-format;
    see the module docstring for the rules.
    """
    parser = _Parser(source_name)
    for lineno, line in enumerate(text.removeprefix("\ufeff").split("\n"), start=1):
        parser.feed(lineno, line.rstrip())
    return parser.finish()


def parse_digest_file(path: Path) -> list[DailyList]:
    """Read a UTF-8 digest file and parse it; error messages name the file, not the full path."""
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        # The BOM utf-8-sig skips is 3 bytes, but it contains no newline, so counting is unaffected.
        line = data.count(b"\n", 0, error.start) + 1
        found = f"byte 0x{data[error.start]:02x}"
        raise DigestFormatError(path.name, line, "UTF-8 text", found) from None
    return parse_digest(text, source_name=path.name)


def render_digest(lists: list[DailyList]) -> str:
    """Write DailyLists in the digest format; `parse_digest` reads the result back unchanged.

    Uses the bullets of each paper's first Summary. Fields a paper lacks are left out. Line breaks
    inside a title or bullet are joined into spaces. Raises ValueError for what the format cannot
    hold: two lists for one day, a paper twice in a day, an id that is not an arXiv id, a negative
    vote count, an empty title, an author name containing ", ", or a media URL with whitespace or
    a double quote in it.
    """
    parts: list[str] = []
    days: set[date] = set()
    for daily in lists:
        if daily.day in days:
            raise ValueError(f"two lists for {daily.day.isoformat()}; a digest has one per day")
        days.add(daily.day)
        parts.append(f"## Daily Papers ({daily.day.isoformat()})\n\n")
        ids: set[str] = set()
        for paper in daily.papers:
            paper_id = normalize_arxiv_id(paper.id)
            if paper_id in ids:
                raise ValueError(f"paper {paper_id} appears twice on {daily.day.isoformat()}")
            ids.add(paper_id)
            parts.append(_render_paper(paper, paper_id))
    return "".join(parts)


def _render_paper(paper: Paper, paper_id: str) -> str:
    title = _one_line(paper.title)
    if not title:
        raise ValueError(f"paper {paper_id} has an empty title")
    escaped = _TITLE_SPECIALS.sub(r"\\\1", title)
    lines = [f"### [{escaped}](https://arxiv.org/abs/{paper_id})", ""]
    if paper.image_url:
        lines += [f"![]({_checked_url(paper.image_url, paper_id)})", ""]
    if paper.video_url:
        url = _checked_url(paper.video_url, paper_id)
        lines += [
            f"[Watch Video]({url})",
            f'<div><video controls src="{url}" muted="false"></video></div>',
            "",
        ]
    if paper.upvotes is not None:
        if paper.upvotes < 0:
            raise ValueError(f"paper {paper_id} has a negative vote count ({paper.upvotes})")
        lines += [f"Vote: {paper.upvotes}", ""]
    authors = _author_names(paper.authors)
    for name in authors:
        if re.search(r",\s", name):
            raise ValueError(
                f"author {name!r} of paper {paper_id} contains ', ', which separates names"
            )
    if authors:
        lines += [f"Authors: {', '.join(authors)}", ""]
    first_summary = paper.summaries[0].bullets if paper.summaries else []
    bullets = [line for line in map(_one_line, first_summary) if line]
    if bullets:
        lines += [f"- {bullet}" for bullet in bullets] + [""]
    return "\n".join(lines) + "\n"


def _one_line(text: str) -> str:
    """The text as one line: stripped, and whitespace runs collapsed only if it had a line break."""
    if "\n" in text or "\r" in text:
        return collapse_whitespace(text)
    return text.strip()


def _checked_url(url: str, paper_id: str) -> str:
    if re.search(r'[\s"]', url):
        raise ValueError(f"media URL {url!r} of paper {paper_id} contains whitespace or '\"'")
    return url


def _author_names(names: list[str]) -> list[str]:
    """Deduplicated names, without entries that have no letter or digit (such as a stray '+')."""
    return dedupe_authors([name for name in names if any(char.isalnum() for char in name)])


def _show(text: str, limit: int = 80) -> str:
    """Quote a piece of the input for an error message, shortened so the message stays readable."""
    return repr(text if len(text) <= limit else text[: limit - 1] + "…")


@dataclass(slots=True)
class _Draft:
    """The paper being read, with the line each of its fields came from."""

    paper: Paper
    bullets: list[str] = field(default_factory=list)
    in_bullets: bool = False
    seen: dict[str, int] = field(default_factory=dict)
    watch_video_line: int | None = None  # the '[Watch Video](...)' line, while it is the last one


class _Parser:
    """Line-by-line state machine behind parse_digest."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.lineno = 0
        self.lists: list[DailyList] = []
        self.day_lines: dict[date, int] = {}
        self.paper_lines: dict[str, int] = {}  # ids in the current section -> heading line
        self.draft: _Draft | None = None

    def fail(self, expected: str, found: str) -> NoReturn:
        raise DigestFormatError(self.source, self.lineno, expected, found)

    def feed(self, lineno: int, line: str) -> None:
        self.lineno = lineno
        if not line:
            return
        if line.startswith("## ") or line == "##":
            self.section(line)
        elif line.startswith("### ") or line == "###":
            self.heading(line)
        elif not self.lists:
            self.fail(_SECTION_FORM, _show(line))
        elif self.draft is None:
            self.fail(f"a paper heading {_PAPER_FORM}", _show(line))
        else:
            self.paper_line(self.draft, line)

    def finish(self) -> list[DailyList]:
        self.close_paper()
        if not self.lists:
            self.lineno = 1
            self.fail(_SECTION_FORM, "no Daily Papers section (the file is empty)")
        return self.lists

    def section(self, line: str) -> None:
        self.close_paper()
        match = _SECTION.fullmatch(line)
        if not match:
            self.fail(_SECTION_FORM, _show(line))
        text = match.group("day")
        try:
            if not _ISO_DAY.fullmatch(text):
                raise ValueError(text)
            day = date.fromisoformat(text)
        except ValueError:
            self.fail("a real date 'YYYY-MM-DD' in the section heading", _show(text))
        if day in self.day_lines:
            self.fail(
                "one section per day",
                f"a second section for {day.isoformat()} (first on line {self.day_lines[day]})",
            )
        self.day_lines[day] = self.lineno
        self.lists.append(DailyList(day=day))
        self.paper_lines = {}

    def heading(self, line: str) -> None:
        self.close_paper()
        if not self.lists:
            self.fail(f"{_SECTION_FORM} before the first paper", _show(line))
        match = _PAPER.fullmatch(line)
        if not match:
            self.fail(_PAPER_FORM, _show(line))
        title = _ESCAPED.sub(r"\1", match.group("title")).strip()
        if not title:
            self.fail("a title in " + _PAPER_FORM, _show(line))
        try:
            paper_id = normalize_arxiv_id(match.group("url"))
        except InvalidPaperId:
            self.fail("an arXiv link such as https://arxiv.org/abs/2401.08541", _show(match["url"]))
        if paper_id in self.paper_lines:
            self.fail(
                "each paper once per section",
                f"{paper_id} again (first on line {self.paper_lines[paper_id]})",
            )
        self.paper_lines[paper_id] = self.lineno
        self.draft = _Draft(Paper(id=paper_id, title=title))

    def paper_line(self, draft: _Draft, line: str) -> None:
        watch_video_line, draft.watch_video_line = draft.watch_video_line, None
        if line == "-" or line.startswith("- "):
            draft.in_bullets = True
            if bullet := line[2:].strip():
                draft.bullets.append(bullet)
            return
        if draft.in_bullets:
            self.fail("a '- ' bullet or the next paper heading", _show(line))
        paper = draft.paper
        if line.startswith("Vote:"):
            match = _VOTE.fullmatch(line)
            if not match:
                self.fail("'Vote: <number>'", _show(line))
            self.once(draft, "'Vote:' line")
            paper.upvotes = int(match.group("votes"))
        elif line.startswith("Authors:"):
            self.once(draft, "'Authors:' line")
            names = line.removeprefix("Authors:").strip()
            paper.authors = _author_names(_AUTHOR_SEPARATOR.split(names)) if names else []
        elif match := _IMAGE.fullmatch(line):
            url = match.group("url")
            if is_video_url(url):
                self.once(draft, "video")
                paper.video_url = url
            else:
                self.once(draft, "image")
                paper.image_url = url
        elif match := _WATCH_VIDEO.fullmatch(line):
            self.once(draft, "video")
            paper.video_url = match.group("url")
            draft.watch_video_line = self.lineno
        elif match := _VIDEO_TAG.fullmatch(line):
            if watch_video_line is None:
                self.fail("'[Watch Video](<url>)' before the '<div><video ...>' line", _show(line))
            if match.group("url") != paper.video_url:
                self.fail(f"the video URL of line {watch_video_line}", _show(match.group("url")))
        else:
            self.fail(
                "an image '![](<url>)', '[Watch Video](<url>)', 'Vote: <number>', "
                "'Authors: <names>' or a '- ' bullet",
                _show(line),
            )

    def once(self, draft: _Draft, what: str) -> None:
        if what in draft.seen:
            self.fail(f"one {what} per paper", f"another (first on line {draft.seen[what]})")
        draft.seen[what] = self.lineno

    def close_paper(self) -> None:
        draft, self.draft = self.draft, None
        if draft is None:
            return
        if draft.bullets:
            language = detect_language("\n".join(draft.bullets))
            draft.paper.summaries = [Summary(language, SUMMARY_SOURCE, draft.bullets)]
        self.lists[-1].papers.append(draft.paper)
