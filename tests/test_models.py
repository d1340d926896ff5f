"""Tests for the plain data helpers in bot/models.py: arXiv ids, author lists, video URLs."""

from __future__ import annotations

import pytest

from bot.models import InvalidPaperId, dedupe_authors, is_video_url, normalize_arxiv_id

# --- normalize_arxiv_id: what people paste ----------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2401.08541", "2401.08541"),
        ("  2401.08541\n", "2401.08541"),
        ("2401.08541v1", "2401.08541"),
        ("2401.08541v12", "2401.08541"),
        ("arXiv:2401.08541", "2401.08541"),
        ("arxiv:2401.08541v3", "2401.08541"),
        ("0704.0001", "0704.0001"),  # the first new-style id (4 digits until 2014)
        ("1412.9999", "1412.9999"),
        ("1501.00001", "1501.00001"),  # 5 digits from 2015
        ("https://arxiv.org/abs/2401.08541", "2401.08541"),
        ("https://arxiv.org/abs/2401.08541v2", "2401.08541"),
        ("http://arxiv.org/abs/2401.08541/", "2401.08541"),
        ("arxiv.org/abs/2401.08541", "2401.08541"),
        ("https://www.arxiv.org/abs/2401.08541?context=cs", "2401.08541"),
        ("https://export.arxiv.org/abs/2401.08541", "2401.08541"),
        ("https://arxiv.org/pdf/2401.08541", "2401.08541"),
        ("https://arxiv.org/pdf/2401.08541.pdf", "2401.08541"),
        ("https://arxiv.org/pdf/2401.08541v2.pdf", "2401.08541"),
        ("https://arxiv.org/html/2401.08541v1", "2401.08541"),
        ("https://arxiv.org/html/2401.08541v1#S3", "2401.08541"),
        ("https://huggingface.co/papers/2401.08541", "2401.08541"),
        ("https://huggingface.co/papers/2401.08541#community", "2401.08541"),
        ("huggingface.co/papers/2401.08541?utm_source=x", "2401.08541"),
    ],
)
def test_normalize_new_style_ids_and_urls(text: str, expected: str) -> None:
    assert normalize_arxiv_id(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("hep-th/9901001", "hep-th/9901001"),
        ("hep-th/9901001v2", "hep-th/9901001"),
        ("cond-mat/0608208", "cond-mat/0608208"),
        ("math.GT/0309136", "math/0309136"),  # the subject class is not part of the id
        ("cs.AI/0101001v1", "cs/0101001"),
        ("https://arxiv.org/abs/math.GT/0309136", "math/0309136"),
        ("https://arxiv.org/abs/hep-th/9901001v1", "hep-th/9901001"),
        ("https://arxiv.org/pdf/quant-ph/0201082.pdf", "quant-ph/0201082"),
        ("arXiv:astro-ph/0703001", "astro-ph/0703001"),
    ],
)
def test_normalize_old_style_ids(text: str, expected: str) -> None:
    assert normalize_arxiv_id(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "../../etc",
        "../../etc/passwd",
        "https://arxiv.org/abs/../../etc",
        "https://huggingface.co/papers/../../etc/passwd",
        "1" * 1000,
        "2401." + "1" * 995,
        "2401.0854",  # 4 digits after 2014
        "2401.8541",
        "2401.085411",  # 6 digits
        "2413.00001",  # month 13
        "2400.00001",  # month 0
        "0703.0001",  # before new-style ids existed
        "1412.00001",  # 5 digits before 2015
        "2401.08541v",
        "2401.08541 2401.08542",
        "2401-08541",
        "hep-th/990100",  # 6 digits
        "hep-th/99010011",
        "HEP-TH/9901001",
        "https://example.com/abs/2401.08541",
        "https://arxiv.org/list/cs.CL/2401.08541",
        "2401.08541'; DROP TABLE papers; --",
        "2401.08541\x00",
    ],
)
def test_normalize_rejects_what_is_not_an_id(text: str) -> None:
    with pytest.raises(InvalidPaperId, match="is not an arXiv id"):
        normalize_arxiv_id(text)


def test_rejection_message_stays_short_for_long_input() -> None:
    with pytest.raises(InvalidPaperId) as caught:
        normalize_arxiv_id("x" * 1000)

    assert len(str(caught.value)) < 200
    assert "2401.08541" in str(caught.value)  # says what an id looks like


@pytest.mark.parametrize("text", ["２４０１.０８５４１", "٢٤٠١.٠٨٥٤١"])
def test_non_ascii_digits_are_not_passed_through(text: str) -> None:
    # Full-width or Arabic-Indic digits must either become the ASCII id or be rejected; they
    # must never end up in arxiv_url / hf_url or be stored as a second spelling of the id.
    try:
        result = normalize_arxiv_id(text)
    except InvalidPaperId:
        return
    assert result == "2401.08541"


@pytest.mark.parametrize("text", ["foo/0101001", "abc/2401085"])
def test_old_style_ids_need_a_known_archive(text: str) -> None:
    with pytest.raises(InvalidPaperId):
        normalize_arxiv_id(text)


@pytest.mark.parametrize("text", ["hep-th/9913001", "hep-th/9900001"])
def test_old_style_ids_need_a_real_month(text: str) -> None:
    with pytest.raises(InvalidPaperId):
        normalize_arxiv_id(text)


# --- dedupe_authors ---------------------------------------------------------------------------


def test_dedupe_authors_keeps_first_occurrence_order() -> None:
    names = ["Alaaeldin El-Nouby", "Michal Klein", "Alaaeldin El-Nouby", "Shuangfei Zhai"]

    assert dedupe_authors(names) == ["Alaaeldin El-Nouby", "Michal Klein", "Shuangfei Zhai"]


def test_dedupe_authors_drops_blanks_and_squeezes_whitespace() -> None:
    names = ["", "  Rui  Wang ", "\t", "Rui Wang", "Wang\nRui", "   "]

    assert dedupe_authors(names) == ["Rui Wang", "Wang Rui"]


def test_dedupe_authors_ignores_case_and_unicode_form() -> None:
    composed = "Bj\u00f6rn Ommer"
    decomposed = "Bjo\u0308rn Ommer"

    assert dedupe_authors([composed, decomposed, "BJÖRN OMMER", "Patrick Esser"]) == [
        composed,
        "Patrick Esser",
    ]


def test_dedupe_authors_keeps_different_people() -> None:
    assert dedupe_authors(["Rui Wang", "Rui Wangson", "Wang Rui"]) == [
        "Rui Wang",
        "Rui Wangson",
        "Wang Rui",
    ]
    assert dedupe_authors([]) == []


# --- is_video_url -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "https://cdn-uploads.huggingface.co/production/uploads/abc/demo.mp4",
        "https://example.com/clip.webm",
        "https://example.com/clip.MOV",
        "https://example.com/clip.m4v?download=1",
        "https://example.com/clip.mkv#t=10",
        "https://example.com/clip.ogv",
        "https://cdn-uploads.huggingface.co/production/uploads/abc/demo.qt",  # QuickTime
    ],
)
def test_video_urls(url: str) -> None:
    assert is_video_url(url)


@pytest.mark.parametrize(
    "url",
    [
        "https://cdn-uploads.huggingface.co/production/uploads/abc/teaser.png",
        "https://example.com/clip.gif",
        "https://example.com/clip.mp4.png",
        "https://example.com/mp4",
        "https://example.com/page?file=clip.mp4",
        "https://example.com/page#clip.mp4",
        "https://www.youtube.com/watch?v=abc",
        "",
    ],
)
def test_not_video_urls(url: str) -> None:
    assert not is_video_url(url)
