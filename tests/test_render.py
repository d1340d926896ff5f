"""Tests for bot/render.py: what users see in Discord, and that Discord would accept it."""

from __future__ import annotations

import random
import re
from datetime import UTC, date, datetime

import discord
import pytest

from bot.models import Paper, Summary
from bot.render import (
    AUTHOR_NAME_LIMIT,
    BULLET_LIMIT,
    CHOICE_NAME_LIMIT,
    CONTENT_LIMIT,
    DESCRIPTION_LIMIT,
    EMBED_TOTAL_LIMIT,
    EMBEDS_PER_MESSAGE,
    FIELD_COUNT_LIMIT,
    FIELD_NAME_LIMIT,
    FIELD_VALUE_LIMIT,
    FOOTER_LIMIT,
    SELECT_DESCRIPTION_LIMIT,
    SELECT_LABEL_LIMIT,
    SELECT_OPTIONS_LIMIT,
    TITLE_LIMIT,
    autocomplete_name,
    defuse_mentions,
    help_embed,
    pack_embeds,
    paper_card,
    paper_line,
    paper_list_page,
    select_options,
    truncate,
    votes_text,
)
from storage.lists import MemberVotedPaper

# Anything Discord would turn into a ping or a channel/role/user/command link.
LIVE_MENTION = re.compile(r"@everyone|@here|<@[!&]?\d+>|<#\d+>|</[^<>]+:\d+>", re.IGNORECASE)
HOSTILE_TITLE = "Free @everyone @here <@123> <@!42> <@&1> <#789> [x](javascript:alert(1)) ]( [[a]]"


def embed_texts(embed: discord.Embed) -> list[str]:
    """Every text of an embed that Discord shows, from the payload that would be sent."""
    data = embed.to_dict()
    texts = [data.get("title", ""), data.get("description", "")]
    texts += [part for f in data.get("fields", []) for part in (f["name"], f["value"])]
    texts += [data.get("footer", {}).get("text", ""), data.get("author", {}).get("name", "")]
    return texts


def assert_within_discord_limits(embed: discord.Embed) -> None:
    """Every per-embed limit Discord enforces, checked on the sent payload; no live mentions."""
    data = embed.to_dict()
    assert len(data.get("title", "")) <= TITLE_LIMIT
    assert len(data.get("description", "")) <= DESCRIPTION_LIMIT
    fields = data.get("fields", [])
    assert len(fields) <= FIELD_COUNT_LIMIT
    for field in fields:
        assert 0 < len(field["name"]) <= FIELD_NAME_LIMIT, field
        assert 0 < len(field["value"]) <= FIELD_VALUE_LIMIT, field
    assert len(data.get("footer", {}).get("text", "")) <= FOOTER_LIMIT
    assert len(data.get("author", {}).get("name", "")) <= AUTHOR_NAME_LIMIT
    total = sum(len(text) for text in embed_texts(embed))
    assert total == len(embed)  # our count and discord.py's agree
    assert total <= EMBED_TOTAL_LIMIT
    for key in ("url",):
        if key in data:
            assert data[key].startswith(("https://", "http://"))
    for key in ("image", "thumbnail"):
        if key in data:
            assert data[key]["url"].startswith(("https://", "http://"))
    for text in embed_texts(embed):
        assert not LIVE_MENTION.search(text), text


def unescaped(text: str, token: str) -> int:
    """How many times `token` occurs in `text` not preceded by an escaping backslash."""
    count = 0
    for match in re.finditer(re.escape(token), text):
        backslashes = len(text[: match.start()]) - len(text[: match.start()].rstrip("\\"))
        count += backslashes % 2 == 0
    return count


def field(embed: discord.Embed, name_start: str) -> str | None:
    """The value of the first field whose name starts with `name_start`, or None."""
    return next((f.value for f in embed.fields if f.name and f.name.startswith(name_start)), None)


def make_paper(number: int = 1, **changes: object) -> Paper:
    defaults: dict[str, object] = {
        "id": f"2401.{number:05d}",
        "title": f"Paper number {number}",
        "authors": ["Ada Lovelace", "Alan Turing"],
        "upvotes": 21,
    }
    defaults.update(changes)
    return Paper(**defaults)  # type: ignore[arg-type]


def bullets_of(embed: discord.Embed) -> list[str]:
    return [line[2:] for line in (embed.description or "").split("\n") if line.startswith("• ")]


# --- paper_card: awkward papers still fit ------------------------------------------------------


def test_a_400_author_paper_names_the_first_authors_and_counts_the_rest() -> None:
    authors = [f"Author Number{i} Surname" for i in range(400)]
    embed = paper_card(make_paper(authors=authors))
    assert_within_discord_limits(embed)
    value = field(embed, "Authors")
    assert value is not None
    match = re.fullmatch(r"(?P<names>.+) … \+(?P<more>\d+) more", value)
    assert match, value
    shown = match.group("names").split(", ")
    assert shown == authors[: len(shown)]
    assert len(shown) + int(match.group("more")) == 400
    assert [f.name for f in embed.fields if f.name.startswith("Authors")] == ["Authors (400)"]


def test_authors_with_very_long_names_still_fit_one_field() -> None:
    authors = [f"{'X' * 300} {i}" for i in range(50)]
    embed = paper_card(make_paper(authors=authors))
    assert_within_discord_limits(embed)
    assert field(embed, "Authors").endswith("more")


def test_a_5000_character_abstract_without_summary_gives_its_first_sentences() -> None:
    sentence = "We study a problem of considerable length and importance to the field. "
    abstract = (sentence * 80)[:5000]
    embed = paper_card(make_paper(abstract=abstract))
    assert_within_discord_limits(embed)
    description = embed.description or ""
    assert description.startswith("**From the abstract**\n")
    bullets = bullets_of(embed)
    assert 2 <= len(bullets) <= 3
    assert all(b == sentence.strip() for b in bullets)


def test_an_abstract_that_is_one_endless_sentence_is_cut_with_an_ellipsis() -> None:
    embed = paper_card(make_paper(abstract="word " * 1000))
    assert_within_discord_limits(embed)
    [bullet] = bullets_of(embed)
    assert bullet.endswith("…") and len(bullet) <= BULLET_LIMIT


def test_abstract_sentences_are_not_split_after_abbreviations() -> None:
    abstract = (
        "We compare to baselines, e.g. BERT. Results beat Smith et al. Clearly. A fourth one."
    )
    bullets = bullets_of(paper_card(make_paper(abstract=abstract)))
    assert bullets == [
        "We compare to baselines, e.g. BERT.",
        "Results beat Smith et al. Clearly.",
    ] + ["A fourth one."]


def test_a_300_character_title_is_cut_to_256_with_an_ellipsis() -> None:
    title = " ".join(["Scaling"] * 40)[:300]
    embed = paper_card(make_paper(title=title))
    assert_within_discord_limits(embed)
    assert embed.title is not None and len(embed.title) <= TITLE_LIMIT
    assert embed.title.endswith("…")
    assert title.startswith(embed.title[:-1].rstrip())
    assert embed.url == "https://arxiv.org/abs/2401.00001"


def test_60_bullets_of_900_characters_show_what_fits_and_count_the_rest() -> None:
    bullets = [f"Bullet {i} " + "x" * 890 for i in range(60)]
    paper = make_paper(summaries=[Summary("en", "digest", bullets)])
    embed = paper_card(paper)
    assert_within_discord_limits(embed)
    shown = bullets_of(embed)
    assert len(shown) >= 9  # a card has room for nine trimmed bullets at least
    assert [b.split(" ")[1] for b in shown] == [str(i) for i in range(len(shown))]
    assert all(len(b) <= BULLET_LIMIT and b.endswith("…") for b in shown)
    last = (embed.description or "").split("\n")[-1]
    assert last == f"… +{60 - len(shown)} more bullets"


def test_the_worst_case_paper_still_fits_6000() -> None:
    paper = make_paper(
        title="T" * 1000,
        authors=[f"{'N' * 90}{i}" for i in range(500)],
        abstract="A" * 10000,
        summaries=[Summary("en" * 100, "s" * 500, ["**bold** " * 200] * 60)],
        days=[date(2024, 1, d) for d in range(1, 32)],
        image_url="https://example.org/" + "i" * 1900,
        video_url="https://example.org/" + "v" * 1900 + ".mp4",
        github_repo="https://github.com/" + "g" * 1900,
        github_stars=123_456,
        project_page="https://example.org/(" + "p" * 1900,
        organization="O" * 5000,
    )
    embed = paper_card(paper)
    assert_within_discord_limits(embed)
    assert len(embed) <= EMBED_TOTAL_LIMIT


def test_a_paper_with_only_id_and_title_still_has_votes_links_and_id() -> None:
    embed = paper_card(Paper(id="2401.08541", title="Just a title"))
    assert_within_discord_limits(embed)
    data = embed.to_dict()
    assert data["title"] == "Just a title"
    assert data["url"] == "https://arxiv.org/abs/2401.08541"
    assert "description" not in data
    assert "image" not in data and "thumbnail" not in data
    assert field(embed, "Upvotes") == "—"
    assert field(embed, "Authors") is None and field(embed, "Listed") is None
    assert field(embed, "Links") == (
        "[PDF](https://arxiv.org/pdf/2401.08541) · "
        "[Hugging Face](https://huggingface.co/papers/2401.08541)"
    )
    assert data["footer"]["text"] == "arXiv:2401.08541"


def test_a_blank_title_falls_back_to_the_id() -> None:
    embed = paper_card(Paper(id="hep-th/9901001", title="  \n "))
    assert embed.title == "hep-th/9901001"
    assert embed.url == "https://arxiv.org/abs/hep-th/9901001"


# --- hostile and non-Latin text ----------------------------------------------------------------


def test_a_hostile_title_neither_pings_nor_breaks_out_of_the_card() -> None:
    paper = make_paper(
        title=HOSTILE_TITLE,
        authors=["@everyone", "[Mallory](https://evil.example)", "<@&1>"],
        summaries=[
            Summary("en", "digest", ["ping @here and <#789>", "**bold** [ok](https://x.org)"])
        ],
        organization="@everyone org",
    )
    embed = paper_card(paper)
    assert_within_discord_limits(embed)  # includes: no live mention anywhere
    assert unescaped(embed.title or "", "[") == 0 and unescaped(embed.title or "", "](") == 0
    authors = field(embed, "Authors") or ""
    assert unescaped(authors, "[") == 0 and unescaped(authors, "(") == 0
    # Summary markdown is the author's own and is kept; a link shows where it goes.
    assert "• **bold** ok (https://x.org)" in (embed.description or "")


def test_a_hostile_title_stays_inside_its_link_on_a_list_page_and_in_content() -> None:
    papers = [make_paper(i, title=HOSTILE_TITLE) for i in range(1, 11)]
    embed = paper_list_page(papers, title="@everyone <@1>", page=1, pages=1, first_rank=1, total=10)
    assert_within_discord_limits(embed)
    lines = (embed.description or "").split("\n")
    assert len(lines) == 10
    for line in lines:
        # Exactly one live link per line: ours.
        assert unescaped(line, "[") == 1 and unescaped(line, "](") == 1
    line = paper_line(papers[0], 1)
    assert len(line) <= CONTENT_LIMIT and not LIVE_MENTION.search(line)
    assert unescaped(line, "](") == 1


def test_defuse_mentions_breaks_every_kind_of_mention_and_nothing_else() -> None:
    text = "@everyone @here <@123> <@!123> <@&456> <#789> </paper show:123> <id:browse> me@x.org"
    defused = defuse_mentions(text)
    assert not LIVE_MENTION.search(defused)
    assert "<id:browse>" not in defused
    assert defused.replace("\u200b", "") == text


def test_a_bullet_with_unbalanced_markdown_cannot_swallow_the_next_bullet() -> None:
    bullets = ["starts ``` a code block", "opens **bold", "opens ||spoiler", "plain *italic", "ok"]
    description = paper_card(make_paper(summaries=[Summary("en", "digest", bullets)])).description
    for line in (description or "").split("\n")[1:]:
        for token in ("`", "**", "||"):
            assert unescaped(line, token) % 2 == 0, line
        assert unescaped(line.replace("**", ""), "*") % 2 == 0, line


def test_korean_and_emoji_text_is_kept_and_cut_on_character_boundaries() -> None:
    title = "대규모 언어 모델의 추론 능력 🚀👩‍👩‍👧🇰🇷 " * 20
    korean = Summary("ko", "digest", ["한국어 요약 첫 번째 항목입니다 🎉", "두 번째"])
    embed = paper_card(make_paper(title=title, summaries=[korean]))
    assert_within_discord_limits(embed)
    assert (embed.description or "").startswith("**Summary (Korean, digest)**\n• 한국어 요약")
    assert embed.title is not None and embed.title.endswith("…")
    body = embed.title[:-1]
    assert not body.endswith(("\u200d", "\ufe0f")) and title.startswith(body)


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [
        ("short", 10, "short"),
        ("exactly10!", 10, "exactly10!"),
        ("hello world again", 12, "hello world…"),
        ("e\u0301e\u0301e\u0301", 3, "e\u0301…"),  # é as e + combining acute stays whole
        ("ab🇫🇷🇩🇪", 5, "ab🇫🇷…"),  # flags are pairs of regional indicators
        ("ab🇫🇷🇩🇪", 4, "ab…"),
        ("x👩‍👩‍👧", 5, "x…"),  # a ZWJ family is not split
        ("👍🏽👍🏽", 2, "…"),  # nor a skin tone
        ("anything", 1, "…"),
        ("anything", 0, ""),
    ],
)
def test_truncate(text: str, limit: int, expected: str) -> None:
    assert truncate(text, limit) == expected


def test_truncate_never_exceeds_the_limit() -> None:
    rng = random.Random(7)
    alphabet = "ab \u0301\u200d🇫🇷👩🏽\ufe0f한글。"
    for _ in range(2000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 40)))
        limit = rng.randrange(0, 45)
        result = truncate(text, limit)
        assert len(result) <= limit
        assert result == text or result.endswith("…") or result == ""


# --- media, votes, days --------------------------------------------------------------------------


def test_a_video_paper_links_the_video_and_still_shows_its_picture() -> None:
    paper = make_paper(
        image_url="https://cdn.example/thumb.png", video_url="https://cdn.example/v.mp4"
    )
    embed = paper_card(paper)
    assert_within_discord_limits(embed)
    assert embed.to_dict()["image"]["url"] == "https://cdn.example/thumb.png"
    assert "[▶ Video](https://cdn.example/v.mp4)" in (field(embed, "Links") or "")


def test_a_video_stored_as_the_picture_is_linked_not_shown_as_an_image() -> None:
    embed = paper_card(make_paper(image_url="https://cdn.example/clip.webm"))
    assert "image" not in embed.to_dict()
    assert "[▶ Video](https://cdn.example/clip.webm)" in (field(embed, "Links") or "")


def test_links_show_code_with_stars_and_project_page_and_drop_unsafe_urls() -> None:
    paper = make_paper(
        github_repo="owner/repo",
        github_stars=1234,
        project_page="https://example.org/a_page_(v2)",
    )
    links = field(paper_card(paper), "Links") or ""
    assert "[Code](https://github.com/owner/repo) ★1.2k" in links
    assert "[Project page](https://example.org/a_page_%28v2%29)" in links  # ")" can't end it early
    unsafe = make_paper(project_page="javascript:alert(1)", image_url="data:image/png;base64,AA")
    embed = paper_card(unsafe)
    assert "javascript" not in (field(embed, "Links") or "") and "image" not in embed.to_dict()
    spaced = paper_card(make_paper(project_page="https://example.org/a page"))
    assert "Project page" not in (field(spaced, "Links") or "")
    repeated = make_paper()
    repeated.project_page = repeated.hf_url + "/"  # Hugging Face gives its own page sometimes
    assert "Project page" not in (field(paper_card(repeated), "Links") or "")


def test_unknown_upvotes_show_as_a_dash_everywhere() -> None:
    paper = make_paper(upvotes=None)
    assert field(paper_card(paper), "Upvotes") == "—"
    assert paper_line(paper, 1).endswith(") — ▲ — · Ada Lovelace +1")
    page = paper_list_page([paper], title="Day", page=1, pages=1, first_rank=1, total=1)
    assert (page.description or "").endswith(") — ▲ — · Ada Lovelace +1")
    assert select_options([paper])[0].description == "▲ — · Ada Lovelace +1"
    assert votes_text(None) == "▲ —"
    for text in (field(paper_card(paper), "Upvotes"), paper_line(paper, 1), votes_text(None)):
        assert "0" not in text.replace("2401.00001", "")
    assert field(paper_card(make_paper(upvotes=0)), "Upvotes") == "▲ 0"  # a real zero stays


def test_listed_days_are_discord_long_date_timestamps_in_order() -> None:
    days = [date(2025, 5, 9), date(2024, 1, 17), date(2025, 5, 9)]
    value = field(paper_card(make_paper(days=days)), "Listed") or ""
    stamps = re.findall(r"<t:(\d+):D>", value)
    assert value == ", ".join(f"<t:{s}:D>" for s in stamps)
    shown = [datetime.fromtimestamp(int(s), UTC) for s in stamps]
    # Noon UTC: the same calendar date for readers from UTC-11 to UTC+11.
    assert shown == [datetime(2024, 1, 17, 12, tzinfo=UTC), datetime(2025, 5, 9, 12, tzinfo=UTC)]


def test_many_listed_days_are_capped() -> None:
    days = [date(2024, 1, d) for d in range(1, 9)]
    value = field(paper_card(make_paper(days=days)), "Listed") or ""
    assert value.count(":D>") == 5 and value.endswith(" +3 more")


def test_a_paper_never_listed_shows_its_publication_date() -> None:
    embed = paper_card(make_paper(published_at=datetime(2024, 1, 16, 18, 30)))
    assert field(embed, "Listed") is None
    assert (
        field(embed, "Published")
        == f"<t:{int(datetime(2024, 1, 16, 18, 30, tzinfo=UTC).timestamp())}:D>"
    )


# --- which summary -------------------------------------------------------------------------------

EN = Summary("en", "digest", ["English bullet"])
KO = Summary("ko", "digest", ["한국어 항목"])
HF = Summary("en", "hf_ai", ["Stored HF bullet"])


@pytest.mark.parametrize(
    ("summaries", "language", "ai_summary", "abstract", "label", "first_bullet"),
    [
        ([EN, KO], "ko", None, "", "Summary (Korean, digest)", "한국어 항목"),
        ([EN, KO], "KO-kr", None, "", "Summary (Korean, digest)", "한국어 항목"),
        ([EN, KO], "fr", None, "", "Summary (English, digest)", "English bullet"),
        ([KO, EN], None, None, "", "Summary (Korean, digest)", "한국어 항목"),
        ([HF], "en", "AI text.", "", "Summary (English, Hugging Face AI)", "Stored HF bullet"),
        ([Summary("ko", "digest", ["  "]), EN], "ko", None, "", "Summary (English, digest)", None),
        ([], "ko", "The AI summary.", "Abstract. More.", "AI summary (Hugging Face)", None),
        ([], None, "  ", "First sentence. Second one.", "From the abstract", "First sentence."),
    ],
)
def test_summary_preference(
    summaries: list[Summary],
    language: str | None,
    ai_summary: str | None,
    abstract: str,
    label: str,
    first_bullet: str | None,
) -> None:
    paper = make_paper(summaries=summaries, ai_summary=ai_summary, abstract=abstract)
    embed = paper_card(paper, language=language)
    lines = (embed.description or "").split("\n")
    assert lines[0] == f"**{label}**"
    expected = first_bullet or (ai_summary or "").strip() or "English bullet"
    assert lines[1] == f"• {expected}"


def test_no_summary_no_ai_summary_no_abstract_means_no_description() -> None:
    assert paper_card(make_paper(), language="en").description is None


# --- list pages, select menus, autocomplete ------------------------------------------------------


def test_a_list_page_of_ten_300_character_titles_fits_4096() -> None:
    papers = [make_paper(i, title=f"{i} " + "Long title words " * 18) for i in range(1, 11)]
    assert all(len(p.title) >= 300 for p in papers)
    embed = paper_list_page(papers, title="Top papers", page=2, pages=7, first_rank=11, total=64)
    assert_within_discord_limits(embed)
    lines = (embed.description or "").split("\n")
    assert len(lines) == 10
    assert [line.split(" ", 1)[0] for line in lines] == [f"`{r}.`" for r in range(11, 21)]
    assert all("(https://arxiv.org/abs/2401." in line for line in lines)
    assert all(line.endswith(" — ▲ 21 · Ada Lovelace +1") for line in lines)
    assert embed.footer.text == "Page 2/7 · 64 papers"


def test_a_list_page_keeps_short_titles_whole_and_shortens_only_long_ones() -> None:
    papers = [make_paper(i, title=f"Short {i}") for i in range(1, 10)]
    papers.append(make_paper(10, title="L" * 5000))
    embed = paper_list_page(papers, title="Mixed", page=1, pages=1, first_rank=1, total=None)
    assert_within_discord_limits(embed)
    lines = (embed.description or "").split("\n")
    assert all(f"[Short {i}](" in lines[i - 1] for i in range(1, 10))
    assert "…](" in lines[9]
    assert len(embed.description or "") > DESCRIPTION_LIMIT - 50  # the long title got the rest
    assert embed.footer.text == "Page 1/1"


def test_an_empty_list_page_says_so() -> None:
    embed = paper_list_page([], title="Nothing", page=1, pages=1, first_rank=1, total=0)
    assert embed.description == "No papers." and embed.footer.text == "Page 1/1 · 0 papers"


def test_select_options_stop_at_25_and_fit_their_limits() -> None:
    papers = [
        make_paper(i, title="Title " * 60, authors=["Z" * 150, "B"], upvotes=10**6)
        for i in range(1, 31)
    ]
    papers.insert(3, papers[0])  # a duplicate id would make Discord reject the menu
    options = select_options(papers)
    assert len(options) == SELECT_OPTIONS_LIMIT
    assert len({o.value for o in options}) == SELECT_OPTIONS_LIMIT
    assert options[0].value == "2401.00001"
    for option in options:
        assert 0 < len(option.label) <= SELECT_LABEL_LIMIT
        assert option.description is not None
        assert 0 < len(option.description) <= SELECT_DESCRIPTION_LIMIT
        assert option.description.startswith("▲ 1000000 · ZZZ") and option.description.endswith(
            "… +1"
        )


def test_autocomplete_names_are_1_to_100_characters_and_keep_the_count() -> None:
    assert autocomplete_name("A short title") == "A short title"
    assert autocomplete_name("   ") == "(blank)"
    long_name = autocomplete_name("Very Long Name " * 20, suffix="(12 papers)")
    assert len(long_name) <= CHOICE_NAME_LIMIT and long_name.endswith("… (12 papers)")
    assert len(autocomplete_name("x" * 500)) == CHOICE_NAME_LIMIT
    assert autocomplete_name("Ada\nLovelace", suffix="(3 papers)") == "Ada Lovelace (3 papers)"


# --- packing embeds into messages, help ----------------------------------------------------------


def sized_embed(size: int, tag: int) -> discord.Embed:
    """An embed whose len() is exactly `size` (>= 10), tagged for order checks."""
    title = f"{tag:09d}|"
    return discord.Embed(title=title, description="d" * (size - len(title)) or None)


def test_pack_embeds_respects_10_embeds_and_6000_characters() -> None:
    rng = random.Random(20240117)
    for _ in range(300):
        sizes = [rng.choice([rng.randint(10, 300), rng.randint(10, 6000)]) for _ in range(40)]
        embeds = [sized_embed(size, tag) for tag, size in enumerate(sizes)]
        messages = pack_embeds(embeds)
        assert [e for message in messages for e in message] == embeds  # all, in order
        for message in messages:
            assert 1 <= len(message) <= EMBEDS_PER_MESSAGE
            assert sum(len(e) for e in message) <= EMBED_TOTAL_LIMIT
        for message, following in zip(messages, messages[1:], strict=False):
            # Greedy: a new message starts only when the next embed would not fit.
            too_big = sum(map(len, message)) + len(following[0]) > EMBED_TOTAL_LIMIT
            assert len(message) == EMBEDS_PER_MESSAGE or too_big


def test_pack_embeds_packs_real_cards_and_refuses_an_oversized_embed() -> None:
    authors = [f"Author {j}" for j in range(300)]
    cards = [
        paper_card(make_paper(i, authors=authors, abstract="Words. " * 400)) for i in range(29)
    ]
    messages = pack_embeds(cards)
    assert sum(map(len, messages)) == 29 and len(messages) >= 3
    assert pack_embeds([]) == []
    with pytest.raises(ValueError):
        pack_embeds([sized_embed(EMBED_TOTAL_LIMIT + 1, 0)])


def test_help_embed_lists_commands_on_one_screen() -> None:
    embed = help_embed([("/paper show", "Show one paper"), ("/paper search", "Search @everyone")])
    assert_within_discord_limits(embed)
    assert (
        embed.description
        == "`/paper show` — Show one paper\n`/paper search` — Search @\u200beveryone"
    )


def test_help_embed_with_too_many_commands_stays_within_limits() -> None:
    commands = [(f"/command{i}", "Does something useful. " * 30) for i in range(100)]
    embed = help_embed(commands)
    assert_within_discord_limits(embed)
    assert (embed.description or "").endswith(" more") and "… and " in (embed.description or "")


# --- masked links from the data (issue 8) ------------------------------------------------------

EVIL = "https://evil.example/login"


@pytest.mark.parametrize(
    ("bullet", "shown"),
    [
        (f"Code in [our repo]({EVIL}).", f"Code in our repo ({EVIL})."),
        (f"See [the demo](<{EVIL}>)", f"See the demo ({EVIL})"),
        (f'See [the demo]( {EVIL} "a title")', f"See the demo ({EVIL})"),
        (f"See [the demo]({EVIL} 'a title')", f"See the demo ({EVIL})"),
        (f"[a [nested] label]({EVIL})", f"a [nested] label ({EVIL})"),
        (f"[[x]({EVIL})](https://other.example)", f"x ({EVIL}) (https://other.example)"),
        (f"[https://github.com/real/repo]({EVIL})", f"https://github.com/real/repo ({EVIL})"),
        ("[https://github.com/o/r](https://github.com/o/r/)", "https://github.com/o/r/"),
        (f"[]({EVIL}) and [ ]({EVIL})", f"{EVIL} and {EVIL}"),
        (f"![a picture]({EVIL}.png)", f"a picture ({EVIL}.png)"),
        (f"[te\\]xt]({EVIL})", f"te\\]xt ({EVIL})"),
        (f"\\\\[text]({EVIL})", f"\\\\text ({EVIL})"),  # an escaped backslash, then a link
        ("[run](javascript:alert(1)) it", "run it"),  # not a web address: the text alone
        (
            "[wiki](https://en.wikipedia.org/wiki/A_(b))",
            "wiki (https://en.wikipedia.org/wiki/A_%28b%29)",
        ),
        ("[Re] Reproducing [12] and [3, 4]", "[Re] Reproducing [12] and [3, 4]"),  # not links
    ],
)
def test_a_masked_link_in_a_summary_shows_its_address(bullet: str, shown: str) -> None:
    embed = paper_card(make_paper(ai_summary=bullet))
    assert_within_discord_limits(embed)
    assert bullets_of(embed) == [shown]


@pytest.mark.parametrize(
    "bullet",
    [
        f"\\[text]({EVIL})",  # an escaped bracket: "[text]" is plain text, "(…)" too
        f"[a\\]({EVIL})",  # Discord ignores escapes inside a link's label
        f"`code [x]({EVIL})` after",  # in code: shown as written
        f"[unclosed ({EVIL}) [text]]({EVIL}",
        f"https://x.org/`<[a]({EVIL})`",  # an address that ends early, then a "code span"
    ],
)
def test_no_masked_link_can_be_made_from_a_summary(bullet: str) -> None:
    for paper in (make_paper(ai_summary=bullet), make_paper(abstract=bullet + " Second.")):
        embed = paper_card(paper)
        assert_within_discord_limits(embed)
        assert "](" not in (embed.description or "")
        visible = (embed.description or "").replace("\u200b", "")
        assert EVIL.removeprefix("https://") in visible  # still shown, as text


def test_random_markdown_never_makes_a_masked_link_and_always_fits() -> None:
    rng = random.Random(8)
    pieces = ["[", "]", "(", ")", "<", ">", "\\", "`", "**", "!", " ", "x", '"', EVIL, "]("]
    for _ in range(1500):
        bullets = ["".join(rng.choice(pieces) for _ in range(rng.randrange(1, 40)))]
        bullets *= rng.randrange(1, 4)
        paper = make_paper(summaries=[Summary("en", "digest", bullets)], title=bullets[0])
        embed = paper_card(paper)
        assert_within_discord_limits(embed)
        assert "](" not in (embed.description or "")
        line = paper_line(paper, 1)
        assert unescaped(line, "](") == 1  # ours, to the paper


def test_a_title_showing_an_address_is_not_the_label_of_a_link() -> None:
    paper = make_paper(title="https://good.example/x: a benchmark")
    embed = paper_card(paper)
    assert_within_discord_limits(embed)
    assert embed.url is None and embed.title == "https://good.example/x: a benchmark"
    assert (field(embed, "Links") or "").startswith(
        "[arXiv](https://arxiv.org/abs/2401.00001) · [PDF]("
    )
    line = paper_line(paper, 4)
    assert line == (
        "`4.` https://good.example/x: a benchmark · [arXiv](https://arxiv.org/abs/2401.00001)"
        " — ▲ 21 · Ada Lovelace +1"
    )
    page = paper_list_page(
        [paper, make_paper(2, title="Visit www.good.example"), make_paper(3)],
        title="Mixed", page=1, pages=1, first_rank=1, total=3,
    )  # fmt: skip
    lines = (page.description or "").split("\n")
    assert [unescaped(x, "](") for x in lines] == [1, 1, 1]
    assert "[arXiv](" in lines[0] and "[arXiv](" in lines[1]
    assert lines[2].startswith("`3.` [Paper number 3](https://arxiv.org/abs/2401.00003)")
    assert paper_card(make_paper()).url == "https://arxiv.org/abs/2401.00001"


# --- bullets: all that fit, and how many more (issue 8) -----------------------------------------


def test_nine_bullets_are_all_shown() -> None:
    bullets = [f"Bullet {n} " + "y" * 380 for n in range(9)]  # the reference digest's most
    embed = paper_card(make_paper(summaries=[Summary("ko", "digest", bullets)]))
    assert_within_discord_limits(embed)
    assert bullets_of(embed) == bullets
    assert "more bullet" not in (embed.description or "")


def test_bullets_that_do_not_fit_are_counted() -> None:
    bullets = [f"Bullet {n} " + "y" * 390 for n in range(12)]
    crowded = make_paper(
        title="T" * 300,
        summaries=[Summary("en", "digest", bullets)],
        authors=[f"{'N' * 90}{i}" for i in range(500)],  # the longest Authors field
        days=[date(2024, 1, d) for d in range(1, 32)],
        github_repo="https://github.com/" + "g" * 400,
        project_page="https://example.org/" + "p" * 400,
        video_url="https://example.org/" + "v" * 300 + ".mp4",
        organization="O" * 5000,
    )
    embed = paper_card(crowded)
    assert_within_discord_limits(embed)
    shown = bullets_of(embed)
    assert 9 <= len(shown) < 12 and shown == bullets[: len(shown)]  # nine fit even here
    hidden = 12 - len(shown)
    assert (embed.description or "").endswith(
        f"\n… +{hidden} more bullet{'' if hidden == 1 else 's'}"
    )


def test_one_bullet_too_many_says_bullet() -> None:
    bullets = [f"Bullet {n} " + "y" * 390 for n in range(11)]  # 10 fit in 4096, 11 do not
    embed = paper_card(make_paper(authors=[], summaries=[Summary("en", "digest", bullets)]))
    assert_within_discord_limits(embed)
    assert len(bullets_of(embed)) == 10
    assert (embed.description or "").endswith("\n… +1 more bullet")


def test_any_number_of_bullets_fits_and_adds_up() -> None:
    rng = random.Random(9)
    for _ in range(200):
        count = rng.randrange(1, 30)
        bullets = [f"B{n} " + "z" * rng.randrange(1, 900) for n in range(count)]
        authors = [f"Author {i}" for i in range(rng.choice([1, 30, 400]))]
        embed = paper_card(make_paper(authors=authors, summaries=[Summary("en", "d", bullets)]))
        assert_within_discord_limits(embed)
        shown = bullets_of(embed)
        last = (embed.description or "").split("\n")[-1]
        match = re.fullmatch(r"… \+(\d+) more bullets?", last)
        assert len(shown) + (int(match.group(1)) if match else 0) == count


# --- the server's own votes on the server-top list (issue 8) ----------------------------------


def test_a_paper_with_member_votes_is_listed_with_them() -> None:
    voted = MemberVotedPaper(
        id="2401.00007", title="Voted", authors=["Ada"], upvotes=150, member_votes=(3, 1)
    )
    line = paper_line(voted, 1)
    assert line == "`1.` [Voted](https://arxiv.org/abs/2401.00007) — 👍 3 · 👎 1 · Ada"
    page = paper_list_page([voted], title="Top", page=1, pages=1, first_rank=1, total=1)
    assert page.description == line
    assert select_options([voted])[0].description == "👍 3 · 👎 1 · Ada"
    assert field(paper_card(voted), "Upvotes") == "▲ 150"  # its card is the paper's own
