"""Papers and lists -> discord.Embed, select options and short texts, inside Discord's limits.

Everything here is a pure function of its arguments: no I/O, no clock, no globals that change.
Every text that comes from data (titles, authors, summaries, URLs) or from a user passes through
one of a few helpers before it reaches Discord:

- ``defuse_mentions`` breaks ``@everyone``/``@here`` and ``<@id>``/``<@&id>``/``<#id>``/
  ``</cmd:id>`` with a zero-width space, so the text can't ping or link even when a caller puts it
  in message content (the bot also sends ``AllowedMentions.none()``; this is defence in depth).
- ``escape_text`` escapes Discord markdown, including ``[ ] ( )`` so a title can't close the masked
  link it sits in, for titles, author names and labels.
- Summary bullets keep their inline markdown (bold, code) but are flattened to one line and have
  unbalanced delimiters escaped, so one bullet can't format, hide or swallow the next.
- Masked links in data (``[text](https://…)`` in a summary, a bullet or an abstract) are never
  passed on: ``_unmask_links`` shows them as ``text (https://…)``, the address in plain sight
  (just the address when the text is the address, just the text when the address is not a web
  one), and ``_break_links`` then puts a zero-width space into every ``](`` left, so no masked
  link can form from data at all, whatever its spelling (``<…>``, a title, nested or escaped
  brackets). The only masked links in our output are our own: fixed labels ("PDF", "arXiv") and
  paper titles, escaped, linking to the paper's own pages.
- A title that contains an address (``https://…``, ``www.``) is not made a link label, on a list
  line or as a card's linked title: its visible text would be an address other than where the link
  goes. It is shown as text, with an ``arXiv`` link beside it instead.
- URLs must be http(s); ``( ) [ ] < >`` and spaces are percent-encoded inside ``(...)``.

Lengths are fitted by construction: each part gets a budget, text is cut with ``truncate`` (never
inside a combining sequence, emoji ZWJ sequence or flag) and escaping is applied *after* cutting,
so an escape is never split and the escaped result still fits.

Design choices, visible to users:

- Upvotes read ``▲ 21`` (Hugging Face's own arrow, short enough for list lines); an unknown count
  is ``▲ —`` in lists and menus and ``—`` on a card, never 0. A paper carrying ``member_votes``
  (``(up, down)``, see storage.lists.MemberVotedPaper: the server-top list) is listed with those,
  ``👍 3 · 👎 1``, instead of Hugging Face's count.
- A card's summary goes in the **description** (full width, room for several bullets in any
  script), under a bold label saying where it came from: ``Summary (ko, digest)``, ``Summary
  (ko, written by qwen3:8b)`` (a model's; the newest of the language when there are several),
  ``AI summary (Hugging Face)`` or ``From the abstract``. Every bullet that fits is shown, each
  cut to ``BULLET_LIMIT`` characters; when some don't fit, a last line says ``… +3 more
  bullets``. A fallback (no summary in `language`) can say why (``fallback``): ``From the
  abstract · no Korean summary yet``, or that the model's summary did not pass the checks.
- A card's and a list page's own words (field names, labels, footers) are in `locale`, a
  channel's language (``bot/i18n.py``: ``ko``, else English); a digest passes its language.
- The paper's picture is the embed **image** (large, below the fields): Daily Papers thumbnails are
  wide, and a thumbnail would squeeze the text column. Embeds can't play video, so a video paper
  gets a ``▶ Video`` link in the Links field, and still shows its picture when it has one.
- Listed days are Discord timestamps ``<t:UNIX:D>``, which every reader sees in their own time
  zone. The instant used is 12:00 UTC on that day, not 00:00: midnight UTC is still the previous
  day everywhere west of Greenwich (all of the Americas), noon is the same calendar date from
  UTC-11 to UTC+11.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, date, datetime, time
from urllib.parse import quote, urlsplit

import discord

from bot import i18n
from bot.models import Paper, Summary, collapse_whitespace, is_video_url
from bot.summaries.text import abstract_bullets
from storage.summaries import model_of_source

__all__ = [
    "AUTHOR_NAME_LIMIT",
    "CHOICE_NAME_LIMIT",
    "CONTENT_LIMIT",
    "DESCRIPTION_LIMIT",
    "EMBEDS_PER_MESSAGE",
    "EMBED_TOTAL_LIMIT",
    "FIELD_COUNT_LIMIT",
    "FIELD_NAME_LIMIT",
    "FIELD_VALUE_LIMIT",
    "FOOTER_LIMIT",
    "LIST_PAGE_MAX",
    "SELECT_DESCRIPTION_LIMIT",
    "SELECT_LABEL_LIMIT",
    "SELECT_OPTIONS_LIMIT",
    "TITLE_LIMIT",
    "autocomplete_name",
    "defuse_mentions",
    "escape_text",
    "help_embed",
    "listed_day",
    "pack_embeds",
    "card_text",
    "component_count",
    "paper_card",
    "paper_container",
    "text_length",
    "paper_line",
    "paper_list_page",
    "select_options",
    "summary_in",
    "truncate",
    "votes_text",
]

# --- Discord's limits (characters unless noted) ------------------------------------------------
TITLE_LIMIT = 256
DESCRIPTION_LIMIT = 4096
FIELD_NAME_LIMIT = 256
FIELD_VALUE_LIMIT = 1024
FIELD_COUNT_LIMIT = 25  # fields per embed
FOOTER_LIMIT = 2048
AUTHOR_NAME_LIMIT = 256
EMBED_TOTAL_LIMIT = 6000  # title + description + field names/values + footer + author, all embeds
EMBEDS_PER_MESSAGE = 10
CONTENT_LIMIT = 2000
SELECT_LABEL_LIMIT = 100
SELECT_DESCRIPTION_LIMIT = 100
SELECT_VALUE_LIMIT = 100
SELECT_OPTIONS_LIMIT = 25
CHOICE_NAME_LIMIT = 100  # app_commands.Choice name (1-100)

# --- our own choices ---------------------------------------------------------------------------
ELLIPSIS = "…"
ZWSP = "\u200b"
COLOUR = discord.Colour(0xFFD21E)  # Hugging Face yellow
BULLET_LIMIT = 400
MIN_BULLET = 20  # a bullet cut shorter than this is not shown ("• A…" says nothing)
BULLET_INPUT = 4 * BULLET_LIMIT  # characters of a bullet read at most (the rest can't show)
UNKNOWN = "—"  # an unknown count
CARD_AUTHORS = 20  # names shown on a card before "… +N more"
AUTHOR_NAME_CHARS = 100  # one (absurdly long) author name is cut to this
LIST_AUTHOR_CHARS = 40  # the first author's name on a list line
MAX_LISTED_DAYS = 5
LIST_PAGE_MAX = 25  # papers on one list page; 10 papers of 256-char titles fit comfortably
HELP_DESCRIPTION_CHARS = 200
LISTED_DAY_TIME = time(12, 0, tzinfo=UTC)  # see the module docstring
MAX_URL = 2048
_WORD_BACKOFF = 15  # truncate() backs up this far at most to end on a word boundary


# --- text primitives ---------------------------------------------------------------------------


def _extends_previous(char: str) -> bool:
    """True for characters that belong to the grapheme before them (never cut just before one)."""
    code = ord(char)
    return (
        unicodedata.category(char) in ("Mn", "Me", "Mc")  # combining marks, keycap U+20E3
        or code == 0x200D  # zero-width joiner
        or 0xFE00 <= code <= 0xFE0F  # variation selectors (emoji presentation)
        or 0xE0100 <= code <= 0xE01EF
        or 0x1F3FB <= code <= 0x1F3FF  # skin tone modifiers
        or 0xE0020 <= code <= 0xE007F  # tag characters (subdivision flags)
        or 0x1160 <= code <= 0x11FF  # conjoining Hangul vowels and final consonants
        or 0xD7B0 <= code <= 0xD7FF
        or 0xDC00 <= code <= 0xDFFF  # a low surrogate (text decoded with surrogatepass)
    )


def _is_regional_indicator(char: str) -> bool:
    return 0x1F1E6 <= ord(char) <= 0x1F1FF


def _safe_cut(text: str, index: int) -> int:
    """Move `index` back so text[:index] ends on a grapheme boundary (roughly; not full UAX #29)."""
    while 0 < index < len(text) and (_extends_previous(text[index]) or text[index - 1] == "\u200d"):
        index -= 1
    if 0 < index < len(text) and _is_regional_indicator(text[index]):
        run = 0  # regional indicators pair up into flags; don't keep half of one
        while index - run > 0 and _is_regional_indicator(text[index - run - 1]):
            run += 1
        index -= run % 2
    return index


def truncate(text: str, limit: int) -> str:
    """`text` if it has at most `limit` characters, else a prefix ending in "…" of at most `limit`.

    Counts Python characters (code points), as Discord does. The cut never splits a combining
    sequence, an emoji ZWJ sequence, a skin tone or a flag, and prefers a word boundary within the
    last few characters; trailing whitespace before the ellipsis is dropped.
    """
    if limit <= 0:
        return ""
    if len(text) <= limit:
        return text
    index = _safe_cut(text, limit - 1)
    space = text.rfind(" ", max(0, index - _WORD_BACKOFF), index + 1)
    if space > index // 2:
        index = space
    return text[:index].rstrip() + ELLIPSIS


def _fit(text: str, limit: int, transform: Callable[[str], str]) -> str:
    """transform(text), cut first so that the transformed result has at most `limit` characters.

    Cutting before transforming keeps escapes and defused mentions whole; the loop only shortens.
    """
    result = transform(text)
    if len(result) <= limit:
        return result
    keep = limit
    while keep > 0:
        result = transform(truncate(text, keep))
        if len(result) <= limit:
            return result
        keep -= max(1, len(result) - limit)
    return ""


_EVERYONE = re.compile(r"@(?=everyone|here)", re.IGNORECASE)
# <@1> <@!1> <@&1> <#1> </name sub:1> <id:browse> — users, roles, channels, commands, guild nav.
_TAG_MENTION = re.compile(r"<(?=(?:@[!&]?\d+|#\d+|/[^<>\n]+:\d+|id:\w+)>)")


def defuse_mentions(text: str) -> str:
    """Break @everyone, @here, <@…>, <@&…>, <#…>, </…:…> with a zero-width space (no ping/link)."""
    return _TAG_MENTION.sub("<" + ZWSP, _EVERYONE.sub("@" + ZWSP, text))


_MARKDOWN_CHARS = re.compile(r"([\\*_~|`\[\]()<>])")
_LINE_MARKER = re.compile(r"^([#+-])", re.MULTILINE)  # heading, list item, "-#" subtext
_NUMBERED = re.compile(r"^(\d+)\.(?=\s)", re.MULTILINE)  # "1. " numbered list


def escape_text(text: str) -> str:
    """Plain text -> Discord markdown that shows it literally, safe inside a masked link's [...].

    Escapes ``\\ * _ ~ | ` [ ] ( ) < >`` and a leading ``#``/``-``/``+``/``1.`` (headings, lists),
    and defuses mentions. Newlines are kept; callers flatten single-line text first.
    """
    escaped = _MARKDOWN_CHARS.sub(r"\\\1", defuse_mentions(text))
    return _NUMBERED.sub(r"\1\\.", _LINE_MARKER.sub(r"\\\1", escaped))


def _plain(text: str, limit: int) -> str:
    """One line of plain text (a title, a name), escaped and defused, at most `limit` characters."""
    return _fit(collapse_whitespace(text), limit, escape_text)


_BULLET_MARKER = re.compile(r"^(?:[-*•+]|\d+[.)])\s+")
_DELIMITERS = ("||", "~~", "**", "__")
_LONE_STAR = re.compile(r"(?<![*\\])\*(?!\*)")


def _contain_bullet(text: str) -> str:
    """A summary bullet with its inline markdown kept, but unable to affect anything after it,
    and without masked links (see ``_unmask_links`` and ``_break_links``)."""
    text = _BULLET_MARKER.sub("", collapse_whitespace(text))
    if text.count("`") % 2:
        text = text.replace("`", "\\`")
    text = _unmask_links(text)  # again: a code span undone above may have held one
    for delimiter in _DELIMITERS:
        if text.count(delimiter) % 2:
            text = text.replace(delimiter, "".join("\\" + c for c in delimiter))
    if len(_LONE_STAR.findall(text)) % 2:
        text = _LONE_STAR.sub(r"\\*", text)
    if (len(text) - len(text.rstrip("\\"))) % 2:
        text += "\\"  # a final lone backslash would escape whatever follows the bullet
    return _break_links(defuse_mentions(text))


_BACKTICKS = re.compile(r"`+")
_SPECIAL = re.compile(r"[\\`\[\]!]")  # what _unmask_links looks at; the rest is copied
# After "](": a destination, <bracketed> or bare (one level of parentheses), an optional title.
_LINK_DESTINATION = re.compile(
    r"""\s*(?:<(?P<angle>[^<>\n]*)>|(?P<bare>(?:[^\s()\\]|\\.|\((?:[^\s()\\]|\\.)*\))*))"""
    r"""(?:\s+(?:"[^"]*"|'[^']*'|\([^()]*\)))?\s*\)"""
)
_ESCAPE = re.compile(r"\\([^0-9A-Za-z\s])")
_SCHEME = re.compile(r"^(?:https?://)?(?:www\.)?", re.IGNORECASE)
_LINK_DEPTH = 8  # links inside links' text rewritten this deep


def _skip(text: str, index: int) -> int | None:
    """Where an escape (``\\x``) or a code span (or an unclosed run of backticks) starting at
    `index` ends; None when none starts there."""
    char = text[index]
    if char == "\\":
        return index + 2
    if char == "`":  # inline code: a run of backticks up to the next run just as long
        run = _BACKTICKS.match(text, index)
        assert run is not None
        closing = _closing_backticks(run.end() - index).search(text, run.end())
        return closing.end() if closing else run.end()
    return None


@functools.lru_cache(maxsize=32)
def _closing_backticks(width: int) -> re.Pattern[str]:
    return re.compile(rf"(?<!`)`{{{width}}}(?!`)")


def _bracket_pairs(text: str) -> dict[int, int]:
    """{index of "[": index of its "]"} outside escapes and code spans, in one pass."""
    pairs: dict[int, int] = {}
    open_brackets: list[int] = []
    index = 0
    while special := _SPECIAL.search(text, index):
        index = special.start()
        if (after := _skip(text, index)) is not None:
            index = after
            continue
        if text[index] == "[":
            open_brackets.append(index)
        elif text[index] == "]" and open_brackets:
            pairs[open_brackets.pop()] = index
        index += 1
    return pairs


def _comparable(text: str) -> str:
    return _SCHEME.sub("", _ESCAPE.sub(r"\1", text).strip()).rstrip("/").casefold()


def _shown_link(label: str, destination: str) -> str:
    """What a masked link from data becomes: 'text (https://…)', the address alone when the
    text is the address (or empty), the text alone when the address is not a web address."""
    label = label.strip()
    url = _web_url(destination)
    if url is None:
        return label
    shown = quote(url, safe=_URL_SAFE)  # "(" ")" encoded: Discord's autolink ends at the ")"
    if not label or _comparable(label) == _comparable(url):
        return shown
    return f"{label} ({shown})"


def _unmask_links(text: str) -> str:
    """Markdown with every masked link ``[text](url)`` (and image ``![text](url)``) rewritten by
    ``_shown_link``; escapes and code spans are kept as they are. Links nested in a link's text
    are rewritten too, a few levels deep (deeper ones are left to ``_break_links``)."""
    if "](" not in text:
        return text  # no link (the usual case)
    pairs = _bracket_pairs(text)

    def rewrite(start: int, end: int, depth: int) -> str:
        out: list[str] = []
        index = start
        while index < end:
            special = _SPECIAL.search(text, index, end)
            if special is None:
                out.append(text[index:end])
                break
            out.append(text[index : special.start()])
            index = special.start()
            if (after := _skip(text, index)) is not None:
                out.append(text[index : min(after, end)])
                index = after
                continue
            opening = index + 1 if text[index] == "!" else index
            close = pairs.get(opening, end)
            if close < end and text.startswith("(", close + 1) and depth < _LINK_DEPTH:
                limit = min(end, close + 2 + MAX_URL + 400)  # bounded: no quadratic rescans
                match = _LINK_DESTINATION.match(text, close + 2, limit)
                if match is not None:
                    angle, bare = match["angle"], match["bare"]
                    destination = _ESCAPE.sub(r"\1", angle if angle is not None else bare)
                    label = rewrite(opening + 1, close, depth + 1)
                    out.append(_shown_link(label, destination))
                    index = match.end()
                    continue
            out.append(text[index])
            index += 1
        return "".join(out)

    return rewrite(0, len(text), 0)


def _break_links(text: str) -> str:
    """A zero-width space inside every ``](``: no masked link can be made of what is left."""
    return text.replace("](", "]" + ZWSP + "(")


# An address in a title: it must not be the visible text of a link to somewhere else.
_ADDRESS = re.compile(r"[a-z][a-z0-9+.-]*://|\bwww\.", re.IGNORECASE)


def _web_url(url: str | None) -> str | None:
    """The URL when it is a plausible http(s) URL Discord will accept, else None."""
    if not url:
        return None
    url = url.strip()
    if len(url) > MAX_URL or any(c.isspace() or unicodedata.category(c) == "Cc" for c in url):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    return url


_URL_SAFE = ":/?#@!$&'*+,;=%~"  # everything else that could end "(...)" early is percent-encoded


def _link(label: str, url: str) -> str:
    """A masked link; `label` is markdown already, `url` a checked web URL."""
    return f"[{label}]({quote(url, safe=_URL_SAFE)})"


def votes_text(upvotes: int | None) -> str:
    """'▲ 21', or '▲ —' when the count is unknown."""
    return f"▲ {UNKNOWN if upvotes is None else upvotes}"


def _listed_votes(paper: Paper) -> str:
    """A list's count for `paper`: the server's '👍 3 · 👎 1' when it carries `member_votes`
    (the server-top list), else Hugging Face's '▲ 21'."""
    member_votes = getattr(paper, "member_votes", None)
    if member_votes is not None:
        up, down = member_votes
        return f"👍 {up} · 👎 {down}"
    return votes_text(paper.upvotes)


def _count(number: int) -> str:
    """A compact count for stars: 950, 1.2k, 12k, 1.3M."""
    if number < 1000:
        return str(number)
    for divisor, suffix in ((1_000_000, "M"), (1000, "k")):
        if number >= divisor:
            value = number / divisor
            text = f"{value:.1f}" if value < 10 else f"{value:.0f}"
            return text.removesuffix(".0") + suffix
    return str(number)  # unreachable


def listed_day(day: date) -> str:
    """A Discord long-date timestamp ``<t:UNIX:D>`` for a calendar day (at 12:00 UTC, see top)."""
    return discord.utils.format_dt(datetime.combine(day, LISTED_DAY_TIME), "D")


# --- a paper card ------------------------------------------------------------------------------

_SOURCE_KEYS = {"digest": "card.source_digest", "hf_ai": "card.source_hf_ai",
                "abstract": "card.source_abstract"}  # fmt: skip
# Why a card shows a fallback (paper_card's `fallback`): the catalogue key of each reason.
FALLBACKS = {
    "pending": "card.fallback_pending",  # a provider will write it, and has not yet
    "checks": "card.fallback_checks",  # the model's answer did not pass the checks
    "failed": "card.fallback_failed",  # the provider tried and failed otherwise
}


def _stored(paper: Paper) -> list[Summary]:
    return [s for s in paper.summaries if any(b.strip() for b in s.bullets)]


def summary_in(paper: Paper, language: str) -> Summary | None:
    """The stored summary a card shows for `language`: of that very language, else of its
    base language ("ko" for "ko-KR"); None when there is none."""
    stored = _stored(paper)
    wanted = language.strip().casefold()
    return next((s for s in stored if s.language.casefold() == wanted), None) or next(
        (s for s in stored if s.language.casefold().split("-")[0] == wanted.split("-")[0]),
        None,
    )


def _pick_summary(
    paper: Paper, language: str | None, locale: str | None, fallback: str | None
) -> tuple[str, list[str]] | None:
    """(markdown label, raw bullets), in this order of preference: a stored summary in
    `language` (any stored one when `language` is None), Hugging Face's AI summary, the first
    sentences of the abstract, a stored summary in another language; None without any.

    Labels are in `locale`; a fallback's label ends with why (`fallback`, see FALLBACKS)."""
    stored = _stored(paper)
    chosen: Summary | None = None
    if language:
        chosen = summary_in(paper, language)
    elif stored:
        chosen = stored[0]
    reason = ""
    if chosen is None and language and fallback in FALLBACKS:
        name = _plain(i18n.language_name(language, locale), 40)
        reason = " · " + i18n.text(locale, FALLBACKS[fallback], language=name)
    if chosen is None and paper.ai_summary and paper.ai_summary.strip():
        return i18n.text(locale, "card.hf_summary") + reason, [paper.ai_summary]
    if chosen is None and (picked := abstract_bullets(paper.abstract)):
        return i18n.text(locale, "card.abstract") + reason, picked
    if chosen is None and stored:
        chosen = stored[0]  # another language beats nothing
    if chosen is None:
        return None
    language_label = _plain(i18n.language_name(chosen.language, locale), 40)
    model = model_of_source(chosen.source)
    if model is not None:  # written by a model (bot/summaries/service.py)
        label = i18n.text(
            locale, "card.model_summary", language=language_label, model=_plain(model, 40)
        )
        return label + reason, chosen.bullets
    key = _SOURCE_KEYS.get(chosen.source)
    source = i18n.text(locale, key) if key else _plain(chosen.source, 40)
    return i18n.text(
        locale, "card.stored_summary", language=language_label, source=source
    ) + reason, (chosen.bullets)


def _more_bullets(count: int, locale: str | None) -> str:
    return "\n" + i18n.plural(locale, "card.more_bullets", count)


def _summary_block(
    paper: Paper, language: str | None, budget: int, locale: str | None, fallback: str | None
) -> str | None:
    """The description, at most `budget` long: a bold source label, then every bullet that fits
    (each at most BULLET_LIMIT), then '… +N more bullets' for those that don't."""
    picked = _pick_summary(paper, language, locale, fallback)
    if picked is None:
        return None
    label, raw_bullets = picked
    text = f"**{label}**"
    if len(text) > budget:
        return None
    # Links are rewritten before cutting, so a cut can't leave half a link behind.
    bullets = [
        b
        for raw in raw_bullets
        if (b := _unmask_links(truncate(collapse_whitespace(raw), BULLET_INPUT)).strip())
    ]
    for index, bullet in enumerate(bullets):
        later = len(bullets) - index - 1
        more = len(_more_bullets(later, locale)) if later else 0
        room = budget - len(text) - len("\n• ") - more
        shown = _fit(bullet, BULLET_LIMIT, _contain_bullet)
        if len(shown) > room and index == 0 and room >= MIN_BULLET:
            shown = _fit(bullet, room, _contain_bullet)  # the first bullet, shortened to fit
        if len(shown) > room or not shown:
            # The previous round kept room for this very line.
            tail = _more_bullets(len(bullets) - index, locale)
            return text + tail if len(text) + len(tail) <= budget else text
        text += "\n• " + shown
    return text


def _authors_text(authors: Sequence[str], limit: int, shown: int, locale: str | None = None) -> str:
    """'A, B, C … +397 more' in at most `limit` characters, naming at most `shown` authors."""

    def more(count: int) -> str:
        return i18n.text(locale, "card.more_authors", count=count)

    text = ""
    for index, raw in enumerate(authors):
        name = _plain(raw, AUTHOR_NAME_CHARS)
        candidate = f"{text}, {name}" if text else name
        rest = len(authors) - index - 1
        tail = f" {more(rest)}" if rest else ""
        if index >= shown or len(candidate) + len(tail) > limit:
            # The previous round checked that text plus this very tail fits.
            rest = len(authors) - index
            return f"{text} {more(rest)}" if text else more(len(authors))
        text = candidate
    return text


def _code_url(repo: str | None) -> str | None:
    """A GitHub URL from 'https://github.com/o/r' or a bare 'o/r'."""
    if repo and re.fullmatch(r"[\w.-]+/[\w.-]+", repo.strip()):
        return f"https://github.com/{repo.strip()}"
    return _web_url(repo)


def _links_text(
    paper: Paper,
    video_url: str | None,
    limit: int,
    *,
    arxiv: bool = False,
    locale: str | None = None,
) -> str:
    """(arXiv ·) PDF · Hugging Face · ▶ Video · Code ★stars · Project page, as many as fit."""
    links = [_link("arXiv", paper.arxiv_url)] if arxiv else []
    links += [_link("PDF", paper.pdf_url), _link("Hugging Face", paper.hf_url)]
    if video_url:
        links.append(_link(i18n.text(locale, "card.link_video"), video_url))
    if code := _code_url(paper.github_repo):
        stars = f" ★{_count(paper.github_stars)}" if paper.github_stars is not None else ""
        links.append(_link(i18n.text(locale, "card.link_code"), code) + stars)
    project = _web_url(paper.project_page)
    if project and project.rstrip("/") not in (paper.hf_url, paper.arxiv_url, paper.pdf_url):
        # not when it only repeats a link above
        links.append(_link(i18n.text(locale, "card.link_project"), project))
    text = ""
    for link in links:
        candidate = f"{text} · {link}" if text else link
        if len(candidate) <= limit:
            text = candidate
    return text


def _days_text(days: Sequence[date], locale: str | None = None) -> str:
    unique = sorted(set(days))
    shown = ", ".join(listed_day(day) for day in unique[:MAX_LISTED_DAYS])
    hidden = len(unique) - MAX_LISTED_DAYS
    return shown + (" " + i18n.text(locale, "card.more_days", count=hidden) if hidden > 0 else "")


def paper_card(
    paper: Paper,
    *,
    language: str | None = None,
    rank: int | None = None,
    locale: str | None = None,
    fallback: str | None = None,
) -> discord.Embed:
    """One paper as an embed: linked title, summary, votes, listed days, authors, links, picture.

    The description holds the summary in `language` when the paper has one (any stored summary
    when `language` is None), else Hugging Face's AI summary, else the first sentences of the
    abstract, labelled by source; then the label also says why when `fallback` is one of
    FALLBACKS (the caller knows whether a summary in `language` is being written). `rank`
    prefixes the title ("3. "), as in a digest. The title links to arXiv, unless it contains an
    address: then the Links field starts with arXiv. Field names and labels are in `locale`
    (None: English). The result always satisfies every Discord embed limit
    (``len(embed) <= 6000``).
    """
    prefix = f"{rank}. " if rank is not None else ""
    title = prefix + (
        _plain(paper.title, TITLE_LIMIT - len(prefix)) or _plain(paper.id, TITLE_LIMIT)
    )
    linked = not _ADDRESS.search(paper.title)
    embed = discord.Embed(title=title, url=paper.arxiv_url if linked else None, colour=COLOUR)

    votes = UNKNOWN if paper.upvotes is None else f"▲ {paper.upvotes}"
    embed.add_field(name=i18n.text(locale, "card.upvotes"), value=votes)
    if paper.days:
        embed.add_field(name=i18n.text(locale, "card.listed"), value=_days_text(paper.days, locale))
    elif paper.published_at is not None:
        published = paper.published_at
        if published.tzinfo is None:  # naive times from the sources are UTC, not local time
            published = published.replace(tzinfo=UTC)
        name = i18n.text(locale, "card.published")
        embed.add_field(name=name, value=discord.utils.format_dt(published, "D"))
    if paper.authors:
        count = len(paper.authors)
        name = i18n.text(locale, "card.author" if count == 1 else "card.authors", count=count)
        value = _authors_text(paper.authors, FIELD_VALUE_LIMIT, CARD_AUTHORS, locale)
        embed.add_field(name=name, value=value, inline=False)

    image_url, video_url = _web_url(paper.image_url), _web_url(paper.video_url)
    if image_url and is_video_url(image_url):  # a clip stored as the picture: link it instead
        video_url, image_url = video_url or image_url, None
    embed.add_field(
        name=i18n.text(locale, "card.links"),
        value=_links_text(paper, video_url, FIELD_VALUE_LIMIT, arxiv=not linked, locale=locale),
        inline=False,
    )
    if image_url:
        embed.set_image(url=image_url)

    footer = f"arXiv:{paper.id}"
    if paper.organization and paper.organization.strip():
        footer += " · " + truncate(defuse_mentions(collapse_whitespace(paper.organization)), 100)
    embed.set_footer(text=truncate(footer, FOOTER_LIMIT))

    # Everything else is bounded above (~2,700 characters at most), so the summary gets the rest.
    budget = min(DESCRIPTION_LIMIT, EMBED_TOTAL_LIMIT - len(embed))
    embed.description = _summary_block(paper, language, budget, locale, fallback)
    return embed


# --- a paper card in Components V2 ---------------------------------------------------------------

# Discord's limits for a message with the IS_COMPONENTS_V2 flag.
V2_COMPONENTS_LIMIT = 40  # components per message, counted recursively
V2_TEXT_LIMIT = 4000  # characters across a message's text displays
MEDIA_GALLERY_LIMIT = 10
# Our own: a card's text stays well under a message's, so any two cards share one.
CARD_TEXT_LIMIT = 1900
CARD_AUTHOR_CHARS = 300
CARD_LINK_CHARS = 600


def _card_media(paper: Paper) -> str | None:
    """What the card's media gallery shows: the video itself when there is one (it plays
    inline), else the picture; None without either."""
    image_url, video_url = _web_url(paper.image_url), _web_url(paper.video_url)
    if image_url and is_video_url(image_url):  # a clip stored as the picture
        video_url, image_url = video_url or image_url, None
    return video_url or image_url


def card_text(
    paper: Paper,
    *,
    language: str | None = None,
    rank: int | None = None,
    locale: str | None = None,
    fallback: str | None = None,
    limit: int = CARD_TEXT_LIMIT,
) -> str:
    """A V2 card's text, at most `limit` characters: a heading with the title linked to arXiv,
    the upvotes and listed days, the summary (as on an embed card: label, bullets, "… +N more
    bullets"), then in small print the authors, the links, and the arXiv id with the
    organisation. Escaped and defused like the embed card (see the module docstring)."""
    prefix = f"{rank}. " if rank is not None else ""
    title = _plain(paper.title, TITLE_LIMIT) or _plain(paper.id, TITLE_LIMIT)
    linked = not _ADDRESS.search(paper.title)
    head = f"### {_link(prefix + title, paper.arxiv_url)}" if linked else f"### {prefix}{title}"
    facts = [UNKNOWN if paper.upvotes is None else f"▲ {paper.upvotes}"]
    if paper.days:
        facts.append(f"{i18n.text(locale, 'card.listed')} {_days_text(paper.days, locale)}")
    elif paper.published_at is not None:
        published = paper.published_at
        if published.tzinfo is None:  # naive times from the sources are UTC
            published = published.replace(tzinfo=UTC)
        when = discord.utils.format_dt(published, "D")
        facts.append(f"{i18n.text(locale, 'card.published')} {when}")
    small = []
    if paper.authors:
        count = len(paper.authors)
        name = i18n.text(locale, "card.author" if count == 1 else "card.authors", count=count)
        authors = _authors_text(paper.authors, CARD_AUTHOR_CHARS, CARD_AUTHORS, locale)
        small.append(f"-# {name}: {authors}")
    links = _links_text(paper, None, CARD_LINK_CHARS, arxiv=not linked, locale=locale)
    small.append(f"-# {links}")
    footer = f"arXiv:{paper.id}"
    if paper.organization and paper.organization.strip():
        footer += " · " + _plain(paper.organization, 100)
    small.append(f"-# {footer}")
    top = f"{head}\n{' · '.join(facts)}"
    bottom = "\n".join(small)
    budget = limit - len(top) - len(bottom) - 2  # the two line breaks around the summary
    summary = _summary_block(paper, language, budget, locale, fallback)
    return "\n".join(part for part in (top, summary, bottom) if part)


def paper_container(
    paper: Paper,
    *,
    language: str | None = None,
    rank: int | None = None,
    locale: str | None = None,
    fallback: str | None = None,
    actions: Sequence[discord.ui.Item] = (),
    limit: int = CARD_TEXT_LIMIT,
) -> discord.ui.Container:
    """One paper as a Components V2 container: its text (``card_text``), its media (the video
    plays inline), and `actions` (the digest's vote buttons) in a row inside it, so a card's
    buttons sit under that very paper. At most 6 components with two actions; the text is at
    most `limit` characters."""
    children: list[discord.ui.Item] = [
        discord.ui.TextDisplay(
            card_text(
                paper, language=language, rank=rank, locale=locale, fallback=fallback, limit=limit
            )
        )
    ]
    if media := _card_media(paper):
        children.append(discord.ui.MediaGallery(discord.MediaGalleryItem(media)))
    if actions:
        children.append(discord.ui.ActionRow(*actions))
    return discord.ui.Container(*children, accent_colour=COLOUR)


def component_count(item: discord.ui.Item) -> int:
    """Components `item` adds to a V2 message, itself included (as Discord counts them)."""
    children = getattr(item, "children", None) or []
    accessory = getattr(item, "accessory", None)
    return 1 + sum(component_count(child) for child in children) + (accessory is not None)


def text_length(item: discord.ui.Item) -> int:
    """Characters `item`'s text displays add to a V2 message."""
    if isinstance(item, discord.ui.TextDisplay):
        return len(item.content)
    children = list(getattr(item, "children", None) or [])
    return sum(text_length(child) for child in children)


# --- lists ---------------------------------------------------------------------------------------


def _first_author(paper: Paper, limit: int = LIST_AUTHOR_CHARS) -> str:
    """'First Author +3' (escaped), or '' without authors."""
    if not paper.authors:
        return ""
    more = f" +{len(paper.authors) - 1}" if len(paper.authors) > 1 else ""
    return _plain(paper.authors[0], limit) + more


def paper_line(paper: Paper, rank: int, *, title_limit: int = TITLE_LIMIT) -> str:
    """'`1.` [Title](arXiv URL) — ▲ 21 · First Author +3', the title cut to `title_limit`.

    A title containing an address is not a link: '`1.` Title · [arXiv](URL) — ▲ 21 · …'. The
    count is the server's '👍 3 · 👎 1' for a paper carrying `member_votes`. Safe in message
    content as well as in embeds (markdown escaped, mentions defused); in content, send with
    ``suppress_embeds=True`` to avoid link previews.
    """
    title = _plain(paper.title, title_limit) or _plain(paper.id, title_limit)
    return _line(paper, rank, title, linked=not _ADDRESS.search(paper.title))


def _line(paper: Paper, rank: int, title: str, *, linked: bool) -> str:
    author = _first_author(paper)
    tail = f" · {author}" if author else ""
    link = _link(title if linked else "arXiv", paper.arxiv_url)
    head = link if linked else f"{title} · {link}"
    return f"`{rank}.` {head} — {_listed_votes(paper)}{tail}"


def _share(lengths: list[int], total: int) -> list[int]:
    """Split `total` characters among items wanting `lengths`: short ones get all they want."""
    budgets = [0] * len(lengths)
    remaining = total
    order = sorted(range(len(lengths)), key=lengths.__getitem__)
    for position, index in enumerate(order):
        fair = remaining // (len(lengths) - position)
        budgets[index] = min(lengths[index], fair)
        remaining -= budgets[index]
    return budgets


def paper_list_page(
    papers: Sequence[Paper],
    *,
    title: str,
    page: int,
    pages: int | None,
    first_rank: int,
    total: int | None,
    locale: str | None = None,
) -> discord.Embed:
    """One page of a ranked list: a line per paper (see ``paper_line``), 'Page 2/7 · 134 papers'.

    `title` is plain text (escaped here); the footer is in `locale` (None: English). Titles are
    shortened only as much as needed to keep the description within 4096 characters; at most
    LIST_PAGE_MAX papers (ValueError beyond).
    """
    if len(papers) > LIST_PAGE_MAX:
        raise ValueError(f"{len(papers)} papers on one page; at most {LIST_PAGE_MAX}")
    embed = discord.Embed(title=_plain(title, TITLE_LIMIT) or None, colour=COLOUR)
    if papers:
        titles = [collapse_whitespace(p.title) or p.id for p in papers]
        linked = [not _ADDRESS.search(t) for t in titles]
        fixed = [
            len(_line(p, first_rank + i, "", linked=link))
            for i, (p, link) in enumerate(zip(papers, linked, strict=True))
        ]
        room = DESCRIPTION_LIMIT - sum(fixed) - (len(papers) - 1)
        budgets = _share([len(escape_text(t)) for t in titles], room)
        lines = [
            _line(p, first_rank + i, _fit(t, b, escape_text), linked=link)
            for i, (p, t, b, link) in enumerate(zip(papers, titles, budgets, linked, strict=True))
        ]
        embed.description = "\n".join(lines)
    else:
        embed.description = i18n.text(locale, "list.empty")
    if pages:
        footer = i18n.text(locale, "list.page", page=page, pages=pages)
    else:  # pages: None when unknown
        footer = i18n.text(locale, "list.page_unknown", page=page)
    if total is not None:
        footer += " · " + i18n.plural(locale, "list.total", total)
    embed.set_footer(text=footer)
    return embed


def select_options(papers: Iterable[Paper]) -> list[discord.SelectOption]:
    """Options for a paper picker: the first 25 distinct papers; label = title, value = id."""
    options: list[discord.SelectOption] = []
    seen: set[str] = set()
    for paper in papers:
        if paper.id in seen or len(paper.id) > SELECT_VALUE_LIMIT:
            continue
        seen.add(paper.id)
        label = truncate(collapse_whitespace(paper.title), SELECT_LABEL_LIMIT) or paper.id
        author = collapse_whitespace(paper.authors[0]) if paper.authors else ""
        more = f" +{len(paper.authors) - 1}" if len(paper.authors) > 1 else ""
        description = _listed_votes(paper) + (f" · {author}" if author else "")
        # Labels and descriptions are shown as plain text: no markdown, no mentions to defuse.
        description = truncate(description, SELECT_DESCRIPTION_LIMIT - len(more)) + more
        options.append(discord.SelectOption(label=label, value=paper.id, description=description))
        if len(options) == SELECT_OPTIONS_LIMIT:
            break
    return options


def autocomplete_name(text: str, *, suffix: str = "") -> str:
    """A 1-100 character app_commands.Choice name: `text` cut to leave room for `suffix`.

    ``autocomplete_name(name, suffix=" (12 papers)")`` keeps the count however long the name.
    """
    suffix = truncate(collapse_whitespace(suffix), CHOICE_NAME_LIMIT // 2)
    suffix = " " + suffix if suffix else ""
    name = truncate(collapse_whitespace(text), CHOICE_NAME_LIMIT - len(suffix)) or "(blank)"
    return name + suffix


def pack_embeds(embeds: Iterable[discord.Embed]) -> list[list[discord.Embed]]:
    """Group embeds, in order, into messages of at most 10 embeds and 6000 characters each.

    Raises ValueError for an embed that is over 6000 characters on its own (none made here is).
    """
    messages: list[list[discord.Embed]] = []
    current: list[discord.Embed] = []
    size = 0
    for embed in embeds:
        length = len(embed)
        if length > EMBED_TOTAL_LIMIT:
            raise ValueError(f"an embed of {length} characters can't be sent")
        if current and (len(current) == EMBEDS_PER_MESSAGE or size + length > EMBED_TOTAL_LIMIT):
            messages.append(current)
            current, size = [], 0
        current.append(embed)
        size += length
    if current:
        messages.append(current)
    return messages


def help_embed(
    commands: Sequence[tuple[str, str]], *, title: str = "Commands", intro: str = ""
) -> discord.Embed:
    """One screen: an optional intro paragraph, then `commands` as (name, description) pairs,
    '`/paper show` — …' per line."""
    embed = discord.Embed(title=_plain(title, TITLE_LIMIT) or None, colour=COLOUR)
    intro = truncate(intro.strip(), 1000)
    lines: list[str] = [intro, ""] if intro else []
    used = len(intro) + 2 if intro else 0
    for index, (name, description) in enumerate(commands):
        clean = collapse_whitespace(name).replace("`", "'")
        line = f"`{truncate(clean, 100)}`"
        if description.strip():
            line += " — " + _fit(description, HELP_DESCRIPTION_CHARS, _contain_bullet)
        more = len(commands) - index - 1
        reserve = len(f"\n… and {more} more") if more else 0
        if used + len(line) + 1 + reserve > DESCRIPTION_LIMIT:
            lines.append(f"… and {len(commands) - index} more")
            break
        lines.append(line)
        used += len(line) + 1
    embed.description = "\n".join(lines) or "No commands."
    return embed
