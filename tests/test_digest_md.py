"""Tests for the markdown digest parser and renderer (bot/sources/digest_md.py)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from bot.models import DailyList, InvalidPaperId, Paper, Summary
from bot.sources import SourceError
from bot.sources.digest_md import (
    DigestFormatError,
    detect_language,
    parse_digest,
    parse_digest_file,
    render_digest,
)

FIXTURES = Path(__file__).parent / "fixtures" / "digests"
OWN_DIGESTS = sorted(FIXTURES.glob("*.md"))
SHARED_DIGESTS = Path(__file__).resolve().parents[1].parent / "shared" / "fixtures" / "digests"


def shared_digest(name: str) -> Path:
    """A digest from the shared, read-only fixtures next to the project; skip when not there."""
    path = SHARED_DIGESTS / name
    if not path.is_file():
        pytest.skip(f"shared fixture {name} is not available")
    return path


def only_list(lists: list[DailyList]) -> DailyList:
    assert len(lists) == 1
    return lists[0]


# --- the shared real-world digests -----------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "count"), [("2024-01-17.md", 9), ("2024-01-23.md", 16), ("2025-05-09.md", 20)]
)
def test_shared_digest_parses_and_round_trips(name: str, count: int) -> None:
    lists = parse_digest_file(shared_digest(name))

    daily = only_list(lists)
    assert daily.day == date.fromisoformat(name.removesuffix(".md"))
    assert len(daily.papers) == count
    assert all(paper.summaries[0].language == "ko" for paper in daily.papers)
    assert all(paper.summaries[0].source == "digest" for paper in daily.papers)
    assert parse_digest(render_digest(lists)) == lists


def test_shared_2024_01_17_fields() -> None:
    daily = only_list(parse_digest_file(shared_digest("2024-01-17.md")))
    papers = daily.papers

    assert [p.id for p in papers] == [
        "2401.08541",
        "2401.07519",
        "2401.06951",
        "2401.07781",
        "2401.08417",
        "2401.07049",
        "2401.07004",
        "2401.08565",
        "2401.07727",
    ]
    assert [p.upvotes for p in papers] == [21, 17, 12, 11, 8, 8, 7, 7, 2]
    assert [len(p.summaries[0].bullets) for p in papers] == [6, 7, 7, 6, 6, 6, 9, 7, 7]
    first = papers[0]
    assert first.title == "Scalable Pre-training of Large Autoregressive Image Models"
    # 20 names in the file, each real author listed up to three times.
    assert len(first.authors) == 8
    assert first.authors[0] == "Alaaeldin El-Nouby"
    assert first.authors[-1] == "Armand Joulin"
    assert first.image_url is not None and first.image_url.endswith("agQVTT_BcFBvRnhUcBL4R.png")
    assert first.video_url is None
    video = papers[3]
    assert video.video_url is not None and video.video_url.endswith("Er9TRXk_yScajuisjQu55.mp4")
    assert video.image_url is None
    assert [p.id for p in papers if p.video_url] == ["2401.07781"]
    assert len(papers[5].authors) == 6 and "Michael Kölle" in papers[5].authors


def test_shared_2024_01_23_drops_stray_plus_and_finds_videos() -> None:
    papers = only_list(parse_digest_file(shared_digest("2024-01-23.md"))).papers

    cmmmu = papers[1]
    assert cmmmu.id == "2401.11944"
    assert "+" not in cmmmu.authors
    assert len(cmmmu.authors) == 22
    assert cmmmu.authors[:4] == ["Ge Zhang", "Yu-Hsuan Tsai", "Yizhi Li", "Ruibin Yuan"]
    assert [p.id for p in papers if p.video_url] == ["2401.12179", "2401.12175", "2401.11985"]
    assert all(p.image_url is None for p in papers if p.video_url)
    assert [p.upvotes for p in papers] == [25, 20, 16, 14, 14, 13, 11, 10, 10, 8, 7, 5, 2, 2, 1, 1]
    assert [len(p.summaries[0].bullets) for p in papers] == [
        4, 7, 8, 9, 6, 5, 8, 7, 6, 4, 7, 6, 8, 5, 7, 7,
    ]  # fmt: skip


def test_shared_2025_05_09_renders_back_byte_for_byte() -> None:
    path = shared_digest("2025-05-09.md")
    lists = parse_digest_file(path)
    papers = only_list(lists).papers

    assert papers[0].id == "2505.04921" and papers[0].upvotes == 75
    assert papers[-1].id == "2505.04955" and papers[-1].upvotes == 1
    assert papers[15].id == "2504.19314"
    assert all(len(p.summaries[0].bullets) == 3 for p in papers)
    assert papers[0].summaries[0].bullets[0].startswith("***What's New***: ")
    assert (
        papers[0].image_url
        == "https://cdn-thumbnails.huggingface.co/social-thumbnails/papers/2505.04921.png"
    )
    # Authors there are already unique, so the canonical rendering is the file itself.
    assert render_digest(lists) == path.read_text(encoding="utf-8")


# --- the project's own synthetic digests -------------------------------------------------------


@pytest.mark.parametrize("path", OWN_DIGESTS, ids=lambda path: path.name)
def test_own_digest_round_trips(path: Path) -> None:
    lists = parse_digest_file(path)

    assert lists
    assert parse_digest(render_digest(lists)) == lists


def test_multi_section_digest() -> None:
    lists = parse_digest_file(FIXTURES / "2024-03-04.md")

    assert [daily.day for daily in lists] == [date(2024, 3, 4), date(2024, 3, 5), date(2024, 3, 6)]
    assert [[p.id for p in daily.papers] for daily in lists] == [
        ["2403.01001", "2403.01002", "2403.01003"],
        ["2403.01001", "hep-th/9901001", "2403.01004", "2403.01005"],
        [],  # a section without papers is allowed
    ]
    first, video, tricky = lists[0].papers
    assert first == Paper(
        id="2403.01001",
        title="Tiny Summarizers: Long Documents with Small Models",
        authors=["Mina Park", "Joon Lee", "Ada Quill"],
        upvotes=42,
        image_url="https://example.org/thumbs/2403.01001.png",
        summaries=[
            Summary(
                "ko",
                "digest",
                [
                    "***What's New***: 이 논문은 작은 언어 모델로 "
                    "긴 문서를 요약하는 방법을 제안합니다.",
                    "***Technical Details***: 문서를 여러 조각으로 나눈 뒤 "
                    "조각마다 핵심 문장을 먼저 고릅니다.",
                    "***Performance Highlights***: 기존 방법보다 두 배 빠르면서 "
                    "품질은 비슷했습니다.",
                ],
            )
        ],
    )
    assert video.video_url == "https://example.org/clips/2403.01002.mp4"
    assert video.image_url is None
    assert video.summaries[0].language == "en"
    assert (
        video.summaries[0].bullets[1].endswith("[the project page](https://example.org/project).")
    )
    assert tricky.title == "Brackets [v2] and (Parentheses) \\ Backslashes: A Title](Test"
    assert tricky.upvotes == 0
    assert tricky.authors == ["Zoë Ångström"]
    assert lists[1].papers[0].upvotes == 50  # the same paper on another day is a separate entry


def test_paper_with_nothing_but_a_heading() -> None:
    bare = parse_digest_file(FIXTURES / "2024-03-04.md")[1].papers[1]

    assert bare == Paper(id="hep-th/9901001", title="An Old-Style Identifier with Nothing Else")
    assert bare.upvotes is None and bare.summaries == [] and bare.authors == []


def test_japanese_and_chinese_bullets_and_replacement_char() -> None:
    japanese, chinese = parse_digest_file(FIXTURES / "2024-03-04.md")[1].papers[2:]

    assert japanese.title == "小さなモデルによる画像説明"
    assert japanese.summaries[0].language == "ja"
    assert chinese.summaries[0].language == "zh"
    assert chinese.summaries[0].bullets[-1] == "最后一条要点以替换字符结尾\ufffd"


def test_canonical_fixture_renders_back_byte_for_byte() -> None:
    path = FIXTURES / "2024-03-04.md"

    assert render_digest(parse_digest_file(path)) == path.read_text(encoding="utf-8")


def test_lenient_layout_and_author_cleanup() -> None:
    spaced, mixed = only_list(parse_digest_file(FIXTURES / "edge-cases.md")).papers

    assert spaced.id == "2403.02001"  # from a versioned PDF link
    assert spaced.title == "Spaces around the title"
    assert spaced.video_url == "https://example.org/media/2403.02001.webm"  # '![]' of a video
    assert spaced.image_url is None
    assert spaced.upvotes == 7
    # Repeats (also in other case) and names without a letter go; a comma without a space stays.
    assert spaced.authors == ["Li Wei", "Smith,Jr", "Kim Min-jun"]
    assert spaced.summaries == [
        Summary(
            "en",
            "digest",
            [
                "A bullet with extra spaces inside  and around.",
                "***What's New***: a bullet keeps **markdown** and `code` as-is.",
            ],
        )
    ]
    assert mixed.id == "2403.02002"  # from a Hugging Face papers link
    assert mixed.title == "Raw brackets [v2] and a \\alpha backslash, [escaped]"
    assert mixed.image_url == "https://example.org/thumbs/2403.02002.png"
    assert mixed.video_url == "https://example.org/clips/2403.02002.mp4"
    assert mixed.authors == []
    assert mixed.summaries[0].language == "ko"


def test_crlf_bom_and_trailing_whitespace_are_accepted() -> None:
    text = (
        "\ufeff## Daily Papers (2024-03-09)  \r\n\r\n"
        "### [Windows Line Endings](https://arxiv.org/abs/2403.04001) \r\n"
        "Vote: 5\t\r\n"
        "- kept bullet   \r\n"
    )

    paper = only_list(parse_digest(text)).papers[0]

    assert paper.title == "Windows Line Endings"
    assert paper.upvotes == 5
    assert paper.summaries[0].bullets == ["kept bullet"]


# --- forms the public archive of these digests really uses ----------------------------------


def test_unknown_vote_is_none_not_zero() -> None:
    unknown, zero = only_list(parse_digest_file(FIXTURES / "vote-unknown.md")).papers

    assert (unknown.id, unknown.upvotes) == ("2405.20001", None)
    assert (zero.id, zero.upvotes) == ("2405.20002", 0)
    assert unknown.authors == ["Hana Seo", "Tomas Virtanen"]
    assert unknown.image_url == "https://example.org/thumbs/2405.20001.png"


def test_unknown_vote_renders_as_no_line_and_stays_unknown() -> None:
    lists = parse_digest_file(FIXTURES / "vote-unknown.md")

    text = render_digest(lists)

    assert "Vote: -" not in text and "Vote: 0" in text
    assert [p.upvotes for p in only_list(parse_digest(text)).papers] == [None, 0]


def test_every_video_form_is_the_papers_video() -> None:
    papers = only_list(parse_digest_file(FIXTURES / "video-forms.md")).papers

    assert [(p.id, p.video_url, p.image_url) for p in papers] == [
        ("2312.03001", "https://example.org/clips/2312.03001.mp4", None),  # [Watch Video]url
        ("2312.03002", "https://example.org/clips/2312.03002.mp4", None),  # <video src='...'>
        (
            "2312.03003",
            "https://example.org/clips/2312.03003.webm",  # <video src="..."> after an image
            "https://example.org/thumbs/2312.03003.png",
        ),
        ("2312.03004", "https://example.org/clips/2312.03004.mp4", None),  # <div><video> alone
    ]
    assert [p.upvotes for p in papers] == [12, None, 3, 1]
    assert papers[1].authors == ["Priya Raman"]


def test_authors_as_a_python_list_are_the_names_exactly() -> None:
    listed, empty, tidied = only_list(parse_digest_file(FIXTURES / "authors-list.md")).papers

    assert listed.authors == [
        "Ines Duarte",
        "Kofi Mensah",
        "Aoife O'Malley",
        "Pablo Ruiz, Jr.",
        'Dana "DJ" O\'Neil',
    ]
    assert empty.authors == []
    # The same tidying as the comma form: repeats and sign-only names go, spaces are squeezed.
    assert tidied.authors == ["Li Wei", "Sun Yu"]


def test_authors_the_comma_form_cannot_hold_render_as_a_list() -> None:
    lists = parse_digest_file(FIXTURES / "authors-list.md")

    text = render_digest(lists)

    assert (
        "Authors: ['Ines Duarte', 'Kofi Mensah', \"Aoife O'Malley\", 'Pablo Ruiz, Jr.', "
        "'Dana \"DJ\" O\\'Neil']\n"
    ) in text
    assert "Authors: Li Wei, Sun Yu\n" in text  # the comma form whenever it reads back the same
    assert parse_digest(text) == lists


@pytest.mark.parametrize(
    "names",
    [
        ["Smith, John", "Ada Quill"],
        ["[Bot] Helper", "Ada Quill"],  # a comma form starting with '[' would read as a list
    ],
)
def test_render_then_parse_keeps_awkward_author_names(names: list[str]) -> None:
    lists = [DailyList(day=date(2024, 3, 14), papers=[Paper("2403.08101", "T", authors=names)])]

    papers = only_list(parse_digest(render_digest(lists))).papers

    assert papers[0].authors == names


def test_sub_items_numbered_items_and_wrapped_lines_join_their_bullet() -> None:
    bare, numbered, terms = only_list(parse_digest_file(FIXTURES / "nested-items.md")).papers

    # The oldest layout: no image, vote or author line, no blank lines, indented sub-items.
    assert bare == Paper(
        id="2408.15001",
        title="Four Features of a Small Framework",
        summaries=[
            Summary(
                "ko",
                "digest",
                [
                    "이 프레임워크는 네 가지 특징이 있다: (1) 여러 응용에 쓸 수 있다. "
                    "(2) 여러 모델을 묶는다.",
                    "코드는 공개되어 있다.",
                ],
            )
        ],
    )
    assert numbered.summaries[0].bullets == [
        "**What's New**: 새로운 정책 생성기를 제안합니다.",
        "**Technical Details**: 주요 기여는 다음과 같습니다: "
        "1) 정책을 잠재 표현으로 바꾸는 인코더를 제안했습니다. 2) 행동 임베딩을 학습합니다.",
        "**Performance Highlights**: 세 가지 작업에서 더 좋았습니다.",
    ]
    assert numbered.upvotes == 6 and numbered.authors == ["Noor Haddad", "Elif Demir"]
    assert terms.summaries[0].bullets == [
        "**Technical Details**: 모델의 특징은 다음과 같습니다: "
        "1. **Tokenizer**: 10만 단어 크기의 BPE 토크나이저를 씁니다. "
        "2. **Attention**: 그룹 쿼리 어텐션을 씁니다.",
        "**Scaling**: 로그 형태가 잘 맞습니다: "
        "x=log10(size), y=log10(error), size는 [10^3, 10^9] 사이입니다.",
        "**Performance Highlights**: 비슷한 크기의 모델보다 좋았습니다.",
    ]


def test_an_indented_wrapped_line_joins_its_bullet() -> None:
    text = HEAD + PAPER + "- a bullet\n  wrapped onto a second line\n- next\n"

    paper = only_list(parse_digest(text)).papers[0]

    assert paper.summaries[0].bullets == ["a bullet wrapped onto a second line", "next"]


def test_two_sections_for_one_day_are_one_day() -> None:
    lists = parse_digest_file(FIXTURES / "repeated-day.md")

    daily = only_list(lists)
    assert daily.day == date(2024, 10, 28)
    first, twice, unknown_later, second = daily.papers
    assert [p.id for p in daily.papers] == ["2410.28001", "2410.28002", "2410.28003", "2410.28004"]
    assert first.authors == ["Marta Kowalska", "Yusuf Adeyemi"]
    assert second.authors == ["Lea Fischer"] and second.upvotes == 3
    # Listed in both runs: first place, and what the second run gives replaces the first's...
    assert twice.upvotes == 9
    assert twice.image_url == "https://example.org/thumbs/2410.28002.png"
    assert twice.summaries == [
        Summary("ko", "digest", ["***What's New***: 두 번째 실행의 요약입니다."])
    ]
    # ... while what it lacks is kept, and an unknown count never erases a known one.
    assert twice.authors == ["Chen Jie", "Rosa Almeida"]
    assert unknown_later.upvotes == 7
    assert unknown_later.summaries[0].bullets == [
        "***What's New***: 첫 번째 실행에서 투표 수가 있었습니다."
    ]
    assert render_digest(lists).count("## Daily Papers") == 1


def test_a_repeated_day_keeps_its_first_place_among_other_days() -> None:
    text = (
        "## Daily Papers (2024-10-27)\n### [A](https://arxiv.org/abs/2410.27001)\n"
        "## Daily Papers (2024-10-28)\n### [B](https://arxiv.org/abs/2410.28011)\n"
        "## Daily Papers (2024-10-27)\n### [C](https://arxiv.org/abs/2410.27002)\n"
        "### [B on the 27th](https://arxiv.org/abs/2410.28011)\n"
    )

    lists = parse_digest(text)

    assert [(d.day.day, [p.title for p in d.papers]) for d in lists] == [
        (27, ["A", "C", "B on the 27th"]),
        (28, ["B"]),
    ]


def test_avatar_images_are_not_the_papers_picture() -> None:
    papers = only_list(parse_digest_file(FIXTURES / "avatar-image.md")).papers

    assert [p.image_url for p in papers] == [
        None,
        None,
        "https://example.org/thumbs/2407.04003.png",
    ]
    assert [p.upvotes for p in papers] == [11, 4, 2]


# --- detect_language ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("이 모델은 LLM 기반입니다", "ko"),
        ("한국어 문장에 漢字가 섞여도 한국어", "ko"),
        ("これは日本語の文です", "ja"),
        ("カタカナだけ", "ja"),
        ("ｶﾀｶﾅ", "ja"),
        ("漢字と ひらがな", "ja"),
        ("ひらがなとカタカナの文に 한 が一つ", "ja"),  # more kana than Hangul
        ("这是中文句子", "zh"),
        ("中文・间隔号", "zh"),  # the katakana middle dot alone is not Japanese
        ("Plain English, 42 %", "en"),
        ("", "en"),
        ("Ünïcödé Latin only", "en"),
    ],
)
def test_detect_language(text: str, language: str) -> None:
    assert detect_language(text) == language


# --- errors ------------------------------------------------------------------------------------

HEAD = "## Daily Papers (2024-03-10)\n\n"
PAPER = "### [A Paper](https://arxiv.org/abs/2403.05001)\n\n"
FIELDS = (
    "an image '![](<url>)', '[Watch Video](<url>)', a '<video src=...>' tag, 'Vote: <number>', "
    "'Authors: <names>' or a '- ' bullet"
)
AUTHOR_LIST = "a Python list of quoted names such as \"Authors: ['A. Name', 'B. Name']\""
MORE = "more text of the bullet above, a '- ' bullet or the next paper heading"
NEXT = "a '- ' bullet or the next paper heading"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param(
            PAPER,
            "t.md:1: expected '## Daily Papers (YYYY-MM-DD)' before the first paper, "
            "found '### [A Paper](https://arxiv.org/abs/2403.05001)'",
            id="paper-before-section",
        ),
        pytest.param(
            "Some preface text\n" + HEAD,
            "t.md:1: expected '## Daily Papers (YYYY-MM-DD)', found 'Some preface text'",
            id="text-before-section",
        ),
        pytest.param(
            "## Daily Papers (2024-02-30)\n",
            "t.md:1: expected a real date 'YYYY-MM-DD' in the section heading, found '2024-02-30'",
            id="impossible-date",
        ),
        pytest.param(
            "## Daily Papers (2024-3-1)\n",
            "t.md:1: expected a real date 'YYYY-MM-DD' in the section heading, found '2024-3-1'",
            id="short-date",
        ),
        pytest.param(
            HEAD + "## Notes\n",
            "t.md:3: expected '## Daily Papers (YYYY-MM-DD)', found '## Notes'",
            id="other-section",
        ),
        pytest.param(
            HEAD + "### A title without a link\n",
            "t.md:3: expected '### [Title](https://arxiv.org/abs/<id>)', "
            "found '### A title without a link'",
            id="heading-without-link",
        ),
        pytest.param(
            HEAD + "### [Elsewhere](https://example.org/paper/17)\n",
            "t.md:3: expected an arXiv link such as https://arxiv.org/abs/2401.08541, "
            "found 'https://example.org/paper/17'",
            id="non-arxiv-link",
        ),
        pytest.param(
            HEAD + "### [Bad Id](https://arxiv.org/abs/not-an-id)\n",
            "t.md:3: expected an arXiv link such as https://arxiv.org/abs/2401.08541, "
            "found 'https://arxiv.org/abs/not-an-id'",
            id="non-arxiv-id",
        ),
        pytest.param(
            HEAD + "### [ ](https://arxiv.org/abs/2403.05001)\n",
            "t.md:3: expected a title in '### [Title](https://arxiv.org/abs/<id>)', "
            "found '### [ ](https://arxiv.org/abs/2403.05001)'",
            id="empty-title",
        ),
        pytest.param(
            HEAD + PAPER + "Vote: many\n",
            "t.md:5: expected 'Vote: <number>' or 'Vote: -', found 'Vote: many'",
            id="vote-not-a-number",
        ),
        pytest.param(
            HEAD + PAPER + "Vote: -3\n",
            "t.md:5: expected 'Vote: <number>' or 'Vote: -', found 'Vote: -3'",
            id="negative-vote",
        ),
        pytest.param(
            HEAD + PAPER + "Vote: 3\n\nVote: 4\n",
            "t.md:7: expected one 'Vote:' line per paper, found another (first on line 5)",
            id="repeated-vote",
        ),
        pytest.param(
            HEAD + PAPER + "Authors: A\nAuthors: B\n",
            "t.md:6: expected one 'Authors:' line per paper, found another (first on line 5)",
            id="repeated-authors",
        ),
        pytest.param(
            HEAD + PAPER + "![](https://example.org/a.png)\n![](https://example.org/b.png)\n",
            "t.md:6: expected one image per paper, found another (first on line 5)",
            id="two-images",
        ),
        pytest.param(
            HEAD
            + PAPER
            + "![](https://example.org/a.mp4)\n[Watch Video](https://example.org/b.mp4)\n",
            "t.md:6: expected one video per paper, found another (first on line 5)",
            id="two-videos",
        ),
        pytest.param(
            HEAD
            + PAPER
            + "[Watch Video](https://example.org/a.mp4)\n"
            + '<div><video controls src="https://example.org/b.mp4" muted="false"></video></div>\n',
            "t.md:6: expected the video URL of line 5, found 'https://example.org/b.mp4'",
            id="video-tag-other-url",
        ),
        pytest.param(
            HEAD + PAPER + PAPER,
            "t.md:5: expected each paper once per section, "
            "found 2403.05001 again (first on line 3)",
            id="duplicate-paper",
        ),
        pytest.param(
            HEAD + "Vote: 3\n",
            "t.md:3: expected a paper heading '### [Title](https://arxiv.org/abs/<id>)', "
            "found 'Vote: 3'",
            id="field-before-first-paper",
        ),
        pytest.param(
            HEAD + PAPER + "Some stray prose.\n",
            f"t.md:5: expected {FIELDS}, found 'Some stray prose.'",
            id="stray-text",
        ),
        pytest.param(
            HEAD + PAPER + "- a bullet\n\nVote: 3\n",
            "t.md:7: expected a '- ' bullet or the next paper heading, found 'Vote: 3'",
            id="field-after-bullets",
        ),
        pytest.param(
            "",
            "t.md:1: expected '## Daily Papers (YYYY-MM-DD)', "
            "found no Daily Papers section (the file is empty)",
            id="empty",
        ),
        pytest.param(
            "\n  \n\n",
            "t.md:1: expected '## Daily Papers (YYYY-MM-DD)', "
            "found no Daily Papers section (the file is empty)",
            id="blank-lines-only",
        ),
        # Broken inputs near the forms the archive uses: still refused.
        pytest.param(
            HEAD + PAPER + "Vote: abc\n",
            "t.md:5: expected 'Vote: <number>' or 'Vote: -', found 'Vote: abc'",
            id="vote-letters",
        ),
        pytest.param(
            HEAD + PAPER + "Vote: --\n",
            "t.md:5: expected 'Vote: <number>' or 'Vote: -', found 'Vote: --'",
            id="vote-two-dashes",
        ),
        pytest.param(
            HEAD + PAPER + "Vote: -\n\nVote: 4\n",
            "t.md:7: expected one 'Vote:' line per paper, found another (first on line 5)",
            id="unknown-vote-then-a-count",
        ),
        pytest.param(
            HEAD + PAPER + "Authors: ['unterminated\n",
            f't.md:5: expected {AUTHOR_LIST}, found "Authors: [\'unterminated"',
            id="author-list-unterminated",
        ),
        pytest.param(
            HEAD + PAPER + "Authors: ['Ada Quill', ['Bo Chen']]\n",
            f"t.md:5: expected {AUTHOR_LIST}, found \"Authors: ['Ada Quill', ['Bo Chen']]\"",
            id="author-list-nested",
        ),
        pytest.param(
            HEAD + PAPER + "Authors: ['Ada Quill', 42]\n",
            f"t.md:5: expected {AUTHOR_LIST}, found \"Authors: ['Ada Quill', 42]\"",
            id="author-list-number",
        ),
        pytest.param(
            HEAD + PAPER + "Authors: ['Ada Quill' 'Bo Chen']\n",
            f"t.md:5: expected {AUTHOR_LIST}, found \"Authors: ['Ada Quill' 'Bo Chen']\"",
            id="author-list-missing-comma",
        ),
        pytest.param(
            HEAD + PAPER + "Authors: [f'{x}']\n",
            f"t.md:5: expected {AUTHOR_LIST}, found \"Authors: [f'{{x}}']\"",
            id="author-list-f-string",
        ),
        pytest.param(
            HEAD + PAPER + "Authors: ['bad \\d escape']\n",
            f"t.md:5: expected {AUTHOR_LIST}, found \"Authors: ['bad \\\\d escape']\"",
            id="author-list-bad-escape",
        ),
        pytest.param(
            HEAD + PAPER + "Authors: [Ada Quill, Bo Chen]\n",
            f"t.md:5: expected {AUTHOR_LIST}, found 'Authors: [Ada Quill, Bo Chen]'",
            id="author-list-unquoted",
        ),
        pytest.param(
            HEAD
            + PAPER
            + "[Watch Video]https://example.org/a.mp4\n"
            + "<video src='https://example.org/b.mp4'></video>\n",
            "t.md:6: expected the video URL of line 5, found 'https://example.org/b.mp4'",
            id="bare-link-then-other-video-tag",
        ),
        pytest.param(
            HEAD
            + PAPER
            + "<video src='https://example.org/a.mp4'></video>\n"
            + "[Watch Video](https://example.org/a.mp4)\n",
            "t.md:6: expected one video per paper, found another (first on line 5)",
            id="video-tag-then-link",
        ),
        pytest.param(
            HEAD + PAPER + "[Watch Video]clip.mp4\n",
            f"t.md:5: expected {FIELDS}, found '[Watch Video]clip.mp4'",
            id="bare-link-not-a-url",
        ),
        pytest.param(
            HEAD + PAPER + "<video src='https://example.org/a.mp4\"></video>\n",
            f"t.md:5: expected {FIELDS}, found '<video src=\\'https://example.org/a.mp4\"></video>'",
            id="video-tag-mismatched-quotes",
        ),
        pytest.param(
            HEAD + PAPER + "<video src=''></video>\n",
            f"t.md:5: expected {FIELDS}, found \"<video src=''></video>\"",
            id="video-tag-empty-url",
        ),
        pytest.param(
            HEAD + PAPER + "<video src='https://example.org/a.mp4'>\n",
            f"t.md:5: expected {FIELDS}, found \"<video src='https://example.org/a.mp4'>\"",
            id="video-tag-unclosed",
        ),
        pytest.param(
            HEAD + PAPER + '<div><video src="https://example.org/a.mp4"></video>\n',
            f"t.md:5: expected {FIELDS}, "
            "found '<div><video src=\"https://example.org/a.mp4\"></video>'",
            id="video-tag-div-unclosed",
        ),
        pytest.param(
            HEAD + PAPER + "  - (1) a sub-item before any bullet\n",
            f"t.md:5: expected {FIELDS}, found '  - (1) a sub-item before any bullet'",
            id="sub-item-before-bullets",
        ),
        pytest.param(
            HEAD + PAPER + "1) a numbered item before any bullet\n",
            f"t.md:5: expected {FIELDS}, found '1) a numbered item before any bullet'",
            id="numbered-before-bullets",
        ),
        pytest.param(
            HEAD + PAPER + "- a bullet\n\n  - (1) a sub-item after a blank line\n",
            f"t.md:7: expected {NEXT}, found '  - (1) a sub-item after a blank line'",
            id="sub-item-after-blank",
        ),
        pytest.param(
            HEAD + PAPER + "- a bullet\n\nSome stray prose.\n",
            f"t.md:7: expected {NEXT}, found 'Some stray prose.'",
            id="prose-after-blank",
        ),
        pytest.param(
            HEAD + PAPER + "-\nwrapped after an empty bullet\n",
            f"t.md:6: expected {NEXT}, found 'wrapped after an empty bullet'",
            id="continuation-of-empty-bullet",
        ),
        pytest.param(
            HEAD + PAPER + "- a bullet\nVote: 3\n",
            f"t.md:6: expected {MORE}, found 'Vote: 3'",
            id="vote-right-after-bullet",
        ),
        pytest.param(
            HEAD + PAPER + "- a bullet\nAuthors: Ada Quill\n",
            f"t.md:6: expected {MORE}, found 'Authors: Ada Quill'",
            id="authors-right-after-bullet",
        ),
        pytest.param(
            HEAD + PAPER + "- a bullet\n<video src='https://example.org/a.mp4'></video>\n",
            f"t.md:6: expected {MORE}, found \"<video src='https://example.org/a.mp4'></video>\"",
            id="video-right-after-bullet",
        ),
        pytest.param(
            HEAD + PAPER + "- a bullet\n![](https://example.org/a.png)\n",
            f"t.md:6: expected {MORE}, found '![](https://example.org/a.png)'",
            id="image-right-after-bullet",
        ),
        pytest.param(
            HEAD + PAPER + "- a bullet\n#### Notes\n",
            f"t.md:6: expected {MORE}, found '#### Notes'",
            id="other-heading-right-after-bullet",
        ),
        pytest.param(
            HEAD + PAPER + "- a bullet\n---\n",
            f"t.md:6: expected {MORE}, found '---'",
            id="rule-right-after-bullet",
        ),
        pytest.param(
            HEAD + PAPER + "- a bullet\n> a quote\n",
            f"t.md:6: expected {MORE}, found '> a quote'",
            id="quote-right-after-bullet",
        ),
        pytest.param(
            HEAD + PAPER + "- a bullet\n* another list\n",
            f"t.md:6: expected {MORE}, found '* another list'",
            id="other-list-marker-right-after-bullet",
        ),
        pytest.param(
            HEAD + PAPER + "## Daily Papers (2024-03-10)\n\n" + PAPER + PAPER,
            "t.md:9: expected each paper once per section, "
            "found 2403.05001 again (first on line 7)",
            id="repeated-day-repeats-a-paper-in-its-own-section",
        ),
    ],
)
def test_broken_digest_is_rejected_with_line_and_reason(text: str, message: str) -> None:
    with pytest.raises(DigestFormatError) as caught:
        parse_digest(text, source_name="t.md")

    assert str(caught.value) == message


def test_error_parts_and_types() -> None:
    with pytest.raises(DigestFormatError) as caught:
        parse_digest(HEAD + PAPER + "Vote: lots\n")

    error = caught.value
    assert isinstance(error, ValueError) and isinstance(error, SourceError)
    assert (error.source, error.line) == ("<string>", 5)
    assert error.expected == "'Vote: <number>' or 'Vote: -'"
    assert error.found == "'Vote: lots'"


def test_long_offending_line_is_shortened_in_the_message() -> None:
    with pytest.raises(DigestFormatError) as caught:
        parse_digest(HEAD + PAPER + "x" * 500)

    assert str(caught.value).endswith("found '" + "x" * 79 + "…'")


def test_error_after_many_good_papers_fails_the_whole_file() -> None:
    good = (FIXTURES / "2024-03-04.md").read_text(encoding="utf-8")
    vote_line = good.count("\n") + 2
    late = "### [Late](https://arxiv.org/abs/2403.09999)\nVote: ?\n"

    with pytest.raises(
        DigestFormatError, match=rf"^late\.md:{vote_line}: expected 'Vote: <number>'"
    ):
        parse_digest(good + late, source_name="late.md")


def test_file_errors_name_the_file() -> None:
    with pytest.raises(DigestFormatError) as caught:
        parse_digest_file(FIXTURES / "broken" / "bad-vote.md")

    assert str(caught.value) == (
        "bad-vote.md:7: expected 'Vote: <number>' or 'Vote: -', found 'Vote: many'"
    )


def test_file_that_is_not_utf8() -> None:
    with pytest.raises(DigestFormatError) as caught:
        parse_digest_file(FIXTURES / "broken" / "not-utf8.md")

    assert str(caught.value) == "not-utf8.md:3: expected UTF-8 text, found byte 0xe9"


# --- render_digest -----------------------------------------------------------------------------


def test_render_layout_and_omitted_lines() -> None:
    lists = [
        DailyList(
            day=date(2024, 3, 11),
            papers=[
                Paper(
                    id="2403.06001v2",
                    title="Both [Media]\nand a wrapped title",
                    authors=["Ada Quill", "ada quill", "+", "Bo  Chen"],
                    upvotes=9,
                    image_url="https://example.org/t.png",
                    video_url="https://example.org/v.webm",
                    summaries=[
                        Summary("en", "hf_ai", ["first\n  line", "  ", "second"]),
                        Summary("ko", "digest", ["무시됩니다"]),
                    ],
                ),
                Paper(id="2403.06002", title="Bare"),
            ],
        )
    ]

    assert render_digest(lists) == (
        "## Daily Papers (2024-03-11)\n"
        "\n"
        "### [Both \\[Media\\] and a wrapped title](https://arxiv.org/abs/2403.06001)\n"
        "\n"
        "![](https://example.org/t.png)\n"
        "\n"
        "[Watch Video](https://example.org/v.webm)\n"
        '<div><video controls src="https://example.org/v.webm" muted="false"></video></div>\n'
        "\n"
        "Vote: 9\n"
        "\n"
        "Authors: Ada Quill, Bo Chen\n"
        "\n"
        "- first line\n"
        "- second\n"
        "\n"
        "### [Bare](https://arxiv.org/abs/2403.06002)\n"
        "\n"
    )


def test_render_then_parse_keeps_tricky_titles() -> None:
    titles = ["a\\b", "ends with \\", "x](y", "[[nested]]", "\\[already\\]", "(parens) only"]
    lists = [
        DailyList(
            day=date(2024, 3, 12),
            papers=[Paper(id=f"2403.0700{n}", title=title) for n, title in enumerate(titles)],
        )
    ]

    assert [p.title for p in only_list(parse_digest(render_digest(lists))).papers] == titles


def test_render_nothing() -> None:
    assert render_digest([]) == ""


@pytest.mark.parametrize(
    ("paper", "message"),
    [
        (Paper(id="2403.08001", title="T", upvotes=-1), "negative vote count"),
        (Paper(id="2403.08001", title=" \n "), "empty title"),
        (Paper(id="2403.08001", title="T", image_url="https://x.org/a b.png"), "whitespace"),
        (Paper(id="2403.08001", title="T", video_url='https://x.org/"a".mp4'), "whitespace or"),
    ],
)
def test_render_refuses_what_the_format_cannot_hold(paper: Paper, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        render_digest([DailyList(day=date(2024, 3, 13), papers=[paper])])


def test_render_refuses_duplicates_and_bad_ids() -> None:
    paper = Paper(id="2403.08001", title="T")
    day = date(2024, 3, 13)

    with pytest.raises(ValueError, match="two lists for 2024-03-13"):
        render_digest([DailyList(day=day), DailyList(day=day)])
    with pytest.raises(ValueError, match="2403.08001 appears twice on 2024-03-13"):
        render_digest([DailyList(day=day, papers=[paper, Paper(id="2403.08001v2", title="U")])])
    with pytest.raises(InvalidPaperId):
        render_digest([DailyList(day=day, papers=[Paper(id="nonsense", title="T")])])
