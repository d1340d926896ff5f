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
with a line number beats silently dropping data; every leniency below is a form the public
archive of these digests really uses):

- Blank lines and trailing whitespace don't matter; ``\\r\\n`` endings and a UTF-8 BOM are
  accepted.
- Only the heading is required. The media, ``Vote:`` and ``Authors:`` lines are optional, may come
  in any order and at most once each; the bullets come last. ``render_digest`` omits the line of
  anything a paper lacks (no media, ``upvotes=None``, no authors, no bullets).
- ``Vote: -`` means the count is unknown: ``upvotes=None``, never 0, exactly as if the line were
  missing (a later Hugging Face fetch fills it in; storage never lets an unknown count replace a
  known one). ``render_digest`` writes no line for it.
- A paper may have both an image and a video; they are written image first.
- The video is any one of: ``![](url)`` whose URL ends in a video extension;
  ``[Watch Video](url)`` or ``[Watch Video]url`` (an http(s) URL without the parentheses); a
  ``<video src="url"></video>`` tag, bare or wrapped in ``<div>...</div>``, with the URL in single
  or double quotes. A video tag right after a ``[Watch Video]`` line is its player and must name
  the same URL; anywhere else it is the paper's one video. ``render_digest`` writes
  ``[Watch Video](url)`` and the ``<div><video ...>`` line.
- An image that is a Hugging Face user avatar (a path under ``/avatars/``, or on
  ``cdn-avatars.huggingface.co``) is what the generator picked up for a paper without a
  thumbnail, not the paper's picture: it counts as the paper's image line but is not kept.
- Titles follow CommonMark escaping: a backslash before ASCII punctuation escapes it, so a title
  may hold ``[``, ``]``, ``)`` and backslashes; ``render_digest`` escapes ``\\``, ``[`` and ``]``.
- Authors are separated by a comma followed by whitespace. A value starting with ``[`` is a
  Python list of quoted names instead (``Authors: ['Ada Quill', "Bo O'Hara"]``), read with
  ``ast.literal_eval`` only after checking it is a flat list of string literals, so a name may
  hold anything; a malformed list is an error. ``render_digest`` writes the comma form, and the
  list form only when the comma form could not hold the names (a name containing ", ", or a first
  name starting with ``[``). Either way repeated names are dropped, runs of whitespace in a name
  are squeezed, and "names" without a letter or digit (a stray ``+``) are dropped.
- Bullets are kept verbatim, apart from the surrounding whitespace; blank bullets are dropped.
  A line right after a bullet (no blank line between) that is not a ``- `` bullet continues it:
  an indented sub-item (``  - (1) ...``), a numbered item (``1) ...``, ``2. **Term**: ...``) or
  a wrapped line. Its text (a sub-item without its ``- ``, a numbered item with its number) is
  joined to the bullet with one space, so a bullet and its sub-items stay one point of the
  summary. After a blank line only a new ``- `` bullet or the next heading may follow, and a
  continuation that looks like a field, a media line, HTML or other markdown structure (``#``,
  ``>``, a fence, a rule, another list marker) is an error.
  The bullets become one ``Summary(language, "digest", bullets)``; a paper without bullets has no
  summary.
- Two sections for the same day (the generator ran twice) are one day: one DailyList, at the place
  of the first section, with the papers of both in file order. A paper already listed in an
  earlier section of that day keeps its first place; each field the later entry gives (title,
  vote count, media, authors, bullets) replaces the earlier one, and a field it lacks keeps the
  earlier value (a later run sees later counts; "unknown" never erases a count).
- Errors: text before the first section, a bad section date, a heading without an arXiv link, the
  same paper twice in one section, a vote that is neither a non-negative integer nor ``-``, a
  malformed author list, a video tag naming another URL than its ``[Watch Video]`` line, a
  repeated field, unknown lines, and a file with no section at all (an empty file) each raise
  ``DigestFormatError``; nothing is returned from a broken file. A section without papers is
  allowed.
"""

from __future__ import annotations

import ast
import re
import warnings
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import NoReturn
from urllib.parse import urlsplit

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
from bot.summaries.text import detect_language

__all__ = [
    "DigestFormatError",
    "detect_language",
    "parse_digest",
    "parse_digest_file",
    "render_digest",
    "summary_in",
]

SUMMARY_SOURCE = "digest"

_SECTION_FORM = "'## Daily Papers (YYYY-MM-DD)'"
_PAPER_FORM = "'### [Title](https://arxiv.org/abs/<id>)'"

_SECTION = re.compile(r"## Daily Papers \((?P<day>[^()]*)\)")
_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
# Greedy title: the link is the last "](...)" on the line, so titles may contain "](" themselves.
_PAPER = re.compile(r"### \[(?P<title>.*)\]\((?P<url>\S*)\)")
_IMAGE = re.compile(r"!\[[^\[\]]*\]\((?P<url>\S+)\)")
# '[Watch Video](url)', or the generator's early '[Watch Video]https://...' without parentheses.
_WATCH_VIDEO = re.compile(r"\[Watch Video\](?:\((?P<url>\S+)\)|(?P<bare>https?://[^\s()]+))")
# '<video ... src="url" ...></video>', the URL in either quotes, optionally inside '<div>...</div>'.
_VIDEO_TAG = re.compile(
    r"(?P<div><div>)?<video\b[^>]*?\ssrc=(?P<quote>[\"'])(?P<url>[^\"'\s]+)(?P=quote)[^>]*>"
    r"</video>(?(div)</div>)"
)
_VOTE = re.compile(r"Vote:\s*(?:(?P<votes>[0-9]+)|-)")
_AUTHOR_SEPARATOR = re.compile(r",\s+")
# A flat Python list of string literals (no prefixes, no nesting), checked before literal_eval.
_QUOTED = r"'(?:[^'\\\n]|\\.)*'" + "|" + r'"(?:[^"\\\n]|\\.)*"'
_AUTHOR_LIST = re.compile(rf"\[\s*(?:(?:{_QUOTED})\s*(?:,\s*(?:{_QUOTED})\s*)*,?\s*)?\]")
# Lines that continue the bullet above them: an indented sub-item, a numbered item.
_SUB_ITEM = re.compile(r"\s+[-*+]\s+(?P<text>\S.*)")
_NUMBERED = re.compile(r"\s*[0-9]{1,3}[.)]\s+\S.*")
# ... but never a field, a media line, HTML or other markdown block structure.
_NOT_CONTINUATION = re.compile(r"Vote:|Authors:|!\[|\[Watch Video\]|[#<>]|```|~~~|[*+](?:\s|$)")
_RULE = re.compile(r"[-_*=\s]+")  # a thematic break or a setext underline
_AVATAR_HOST = "cdn-avatars.huggingface.co"
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


def render_digest(lists: list[DailyList], *, language: str | None = None) -> str:
    """Write DailyLists in the digest format; `parse_digest` reads the result back unchanged.

    Uses the bullets of each paper's first Summary, or with `language` its first Summary in
    that language (``summary_in``), a paper without one getting no bullets. Fields a paper
    lacks are left out (an unknown vote count too). Line breaks inside a title or bullet are
    joined into spaces. Authors are written as a Python list only when the comma form could not
    hold them. Raises ValueError for what the format cannot hold: two lists for one day, a paper
    twice in a day, an id that is not an arXiv id, a negative vote count, an empty title, or a
    media URL with whitespace or a double quote in it.
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
            parts.append(_render_paper(paper, paper_id, language))
    return "".join(parts)


def summary_in(paper: Paper, language: str) -> Summary | None:
    """The paper's first Summary in `language` (compared stripped and case-folded), else None.

    Papers read from the store list a language's summaries newest first."""
    wanted = language.strip().casefold()
    return next((s for s in paper.summaries if s.language.strip().casefold() == wanted), None)


def _render_paper(paper: Paper, paper_id: str, language: str | None = None) -> str:
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
    if authors := _author_names(paper.authors):
        lines += [f"Authors: {_authors_text(authors)}", ""]
    if language is None:
        first_summary = paper.summaries[0].bullets if paper.summaries else []
    else:
        chosen = summary_in(paper, language)
        first_summary = chosen.bullets if chosen else []
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


def _authors_text(names: list[str]) -> str:
    """The value of an 'Authors:' line: 'A, B', or "['A, Jr.', 'B']" when that would not read back.

    `names` come from _author_names, so they read back through it unchanged."""
    text = ", ".join(names)
    if text.startswith("[") or _author_names(_AUTHOR_SEPARATOR.split(text)) != names:
        text = "[" + ", ".join(map(repr, names)) + "]"
    return text


def _author_list(text: str) -> list[str] | None:
    """The names of a Python list literal of strings, or None when `text` is not one.

    The text is checked to be a flat list of plain string literals before ast.literal_eval sees
    it, so nothing but strings (and no deep nesting) can come out; never eval."""
    if not _AUTHOR_LIST.fullmatch(text):
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an invalid escape such as '\\d' is an error, not a warning
        try:
            names = ast.literal_eval(text)
        except (SyntaxError, ValueError, Warning):
            return None
    return names


def _is_avatar(url: str) -> bool:
    """True for a Hugging Face user's avatar: '/avatars/...' (on the site) or its avatar CDN."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    host = (parts.hostname or "").lower()
    if host == _AVATAR_HOST:
        return True
    return host in ("", "huggingface.co") and parts.path.startswith("/avatars/")


def _show(text: str, limit: int = 80) -> str:
    """Quote a piece of the input for an error message, shortened so the message stays readable."""
    return repr(text if len(text) <= limit else text[: limit - 1] + "…")


@dataclass(slots=True)
class _Draft:
    """The paper being read, with the line each of its fields came from."""

    paper: Paper
    bullets: list[str] = field(default_factory=list)
    in_bullets: bool = False
    bullet_open: bool = False  # the last line was (part of) a bullet, with no blank line since
    seen: dict[str, int] = field(default_factory=dict)
    watch_video_line: int | None = None  # the '[Watch Video]...' line, while it is the last one


class _Parser:
    """Line-by-line state machine behind parse_digest."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.lineno = 0
        self.lists: list[DailyList] = []
        self.current: DailyList | None = None  # the day of the section being read
        self.day_papers: dict[date, dict[str, Paper]] = {}  # each day's papers by id
        self.paper_lines: dict[str, int] = {}  # ids in the current section -> heading line
        self.draft: _Draft | None = None

    def fail(self, expected: str, found: str) -> NoReturn:
        raise DigestFormatError(self.source, self.lineno, expected, found)

    def feed(self, lineno: int, line: str) -> None:
        self.lineno = lineno
        if not line:
            if self.draft is not None:
                self.draft.bullet_open = False
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
        if day in self.day_papers:  # the same day again: its papers join the first section's
            self.current = next(daily for daily in self.lists if daily.day == day)
        else:
            self.current = DailyList(day=day)
            self.lists.append(self.current)
            self.day_papers[day] = {}
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
            bullet = line[2:].strip()
            if bullet:
                draft.bullets.append(bullet)
            draft.bullet_open = bool(bullet)
            return
        if draft.in_bullets:
            self.bullet_continuation(draft, line)
            return
        paper = draft.paper
        if line.startswith("Vote:"):
            match = _VOTE.fullmatch(line)
            if not match:
                self.fail("'Vote: <number>' or 'Vote: -'", _show(line))
            self.once(draft, "'Vote:' line")
            votes = match.group("votes")
            paper.upvotes = None if votes is None else int(votes)  # 'Vote: -': unknown
        elif line.startswith("Authors:"):
            self.once(draft, "'Authors:' line")
            names = line.removeprefix("Authors:").strip()
            if names.startswith("["):
                listed = _author_list(names)
                if listed is None:
                    self.fail(
                        "a Python list of quoted names such as \"Authors: ['A. Name', 'B. Name']\"",
                        _show(line),
                    )
                paper.authors = _author_names(listed)
            else:
                paper.authors = _author_names(_AUTHOR_SEPARATOR.split(names)) if names else []
        elif match := _IMAGE.fullmatch(line):
            url = match.group("url")
            if is_video_url(url):
                self.once(draft, "video")
                paper.video_url = url
            else:
                self.once(draft, "image")
                if not _is_avatar(url):
                    paper.image_url = url
        elif match := _WATCH_VIDEO.fullmatch(line):
            self.once(draft, "video")
            paper.video_url = match.group("url") or match.group("bare")
            draft.watch_video_line = self.lineno
        elif match := _VIDEO_TAG.fullmatch(line):
            url = match.group("url")
            if watch_video_line is None:  # a video tag on its own is the video
                self.once(draft, "video")
                paper.video_url = url
            elif url != paper.video_url:  # right after '[Watch Video]', it is that video's player
                self.fail(f"the video URL of line {watch_video_line}", _show(url))
        else:
            self.fail(
                "an image '![](<url>)', '[Watch Video](<url>)', a '<video src=...>' tag, "
                "'Vote: <number>', 'Authors: <names>' or a '- ' bullet",
                _show(line),
            )

    def bullet_continuation(self, draft: _Draft, line: str) -> None:
        """A line after the first bullet that is not a '- ' bullet: more of the bullet above."""
        if not draft.bullet_open:
            self.fail("a '- ' bullet or the next paper heading", _show(line))
        text = line.strip()
        if match := _SUB_ITEM.fullmatch(line):
            text = match.group("text").strip()
        elif not _NUMBERED.fullmatch(line) and (
            _NOT_CONTINUATION.match(text) or _RULE.fullmatch(text)
        ):
            self.fail(
                "more text of the bullet above, a '- ' bullet or the next paper heading",
                _show(line),
            )
        draft.bullets[-1] += " " + text

    def once(self, draft: _Draft, what: str) -> None:
        if what in draft.seen:
            self.fail(f"one {what} per paper", f"another (first on line {draft.seen[what]})")
        draft.seen[what] = self.lineno

    def close_paper(self) -> None:
        draft, self.draft = self.draft, None
        if draft is None:
            return
        paper = draft.paper
        if draft.bullets:
            language = detect_language("\n".join(draft.bullets))
            paper.summaries = [Summary(language, SUMMARY_SOURCE, draft.bullets)]
        assert self.current is not None  # a heading is refused before the first section
        listed = self.day_papers[self.current.day]
        if earlier := listed.get(paper.id):
            _merge_later(earlier, paper)
        else:
            listed[paper.id] = paper
            self.current.papers.append(paper)


def _merge_later(earlier: Paper, later: Paper) -> None:
    """Fold a later entry for the same paper on the same day into the earlier one, in place.

    What the later entry gives replaces the earlier value; what it lacks keeps it."""
    earlier.title = later.title
    if later.upvotes is not None:
        earlier.upvotes = later.upvotes
    earlier.image_url = later.image_url or earlier.image_url
    earlier.video_url = later.video_url or earlier.video_url
    earlier.authors = later.authors or earlier.authors
    earlier.summaries = later.summaries or earlier.summaries
