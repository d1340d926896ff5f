"""Tests for full-text search (storage/search.py, storage/search_text.py) on a real store."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.models import Paper, Summary
from storage.db import Store, open_store
from storage.papers import save_papers
from storage.search import (
    AUTHOR_CANDIDATES,
    CANDIDATES,
    QueryHasNoWords,
    SearchPage,
    papers_by_author,
    search_papers,
    suggest_authors,
    suggest_titles,
)

T0 = datetime(2024, 1, 17, 9, 0, tzinfo=UTC)
AIM = Paper(
    id="2401.08541",
    title="Scalable Pre-training of Large Autoregressive Image Models",
    authors=["Alaaeldin El-Nouby", "Michal Klein", "Armand Joulin"],
    upvotes=42,
)


@pytest.fixture
async def store(store_target):
    async with open_store(store_target) as opened:
        yield opened


async def save(store: Store, papers: list[Paper]) -> None:
    async with store.write() as conn:
        await save_papers(conn, papers, T0)


def ids(page: SearchPage | list[Paper]) -> list[str]:
    papers = page.papers if isinstance(page, SearchPage) else page
    return [p.id for p in papers]


def numbered(count: int, title: str, *, month: str = "2402", **changes) -> list[Paper]:
    """`count` papers with ids {month}.00001 upwards (newer = larger number)."""
    return [
        Paper(id=f"{month}.{n:05d}", title=title.format(n=n), **changes)
        for n in range(1, count + 1)
    ]


@pytest.fixture
async def corpus(store: Store) -> Store:
    await save(
        store,
        [
            AIM,
            Paper(id="2401.00010", title="Image Segmentation with Transformers", upvotes=90),
            Paper(id="2401.00011", title="Large Language Models Are Few-Shot Learners", upvotes=1),
            Paper(
                id="2401.00012",
                title="Models for Language Evolution in Large Populations",
                upvotes=80,
            ),
            Paper(id="1706.03762", title="Attention Is All You Need", upvotes=100),
            Paper(id="2401.00013", title="Near-Optimal Regret Bounds for a Bandit", upvotes=2),
            Paper(id="2401.00014", title="Learning to Walk and Run: a Benchmark", upvotes=3),
            Paper(id="2401.00015", title="To Be or Not: a Bayesian View", upvotes=4),
            Paper(id="2401.00016", title="Title Generation for Scientific Papers", upvotes=5),
            Paper(id="2401.00017", title="Model X: Planning with Tools", upvotes=6),
            Paper(
                id="2401.00018",
                title="A Study of Retrieval",
                summaries=[
                    Summary("ko", "digest", ["검색 모델을 개선합니다.", "적은 데이터로 학습."])
                ],
            ),
            Paper(id="2401.00019", title="大语言模型训练的高效方法"),
            Paper(
                id="2401.00020",
                title="拡散モデルによる高解像度画像生成",
                summaries=[Summary("ja", "digest", ["テキストから画像を生成します。"])],
            ),
        ],
    )
    return store


# --- words, prefixes and substrings -----------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        "autoreg",
        "Autoregressive",
        "AUTOREGRESSIVE IMAGE",
        "regressive",  # inside a word
        "scalable pre-training",
        "pre train",
        "large autoregressive image models",
    ],
)
async def test_finds_the_aim_paper(corpus: Store, query: str) -> None:
    page = await search_papers(corpus.reader, query)

    assert ids(page) == ["2401.08541"]
    assert page.papers[0].title == AIM.title
    assert page.papers[0].authors == AIM.authors
    assert page.more is False


async def test_every_word_must_match(corpus: Store) -> None:
    assert ids(await search_papers(corpus.reader, "image models")) == ["2401.08541"]
    assert ids(await search_papers(corpus.reader, "image transformers")) == ["2401.00010"]
    assert ids(await search_papers(corpus.reader, "image language")) == []
    assert set(ids(await search_papers(corpus.reader, "image"))) == {"2401.08541", "2401.00010"}


async def test_a_title_with_the_whole_phrase_ranks_first(corpus: Store) -> None:
    # The scattered-words title is newer and has far more upvotes; the phrase still wins.
    page = await search_papers(corpus.reader, "language models")

    assert ids(page) == ["2401.00011", "2401.00012"]


async def test_whole_words_rank_above_prefixes(store: Store) -> None:
    await save(
        store,
        [
            Paper(id="2401.00001", title="Modeling the Weather", upvotes=1),
            Paper(id="2401.00002", title="Modelling Oceans", upvotes=50),
            Paper(id="2401.00003", title="Weather Model Ensembles", upvotes=0),
        ],
    )

    page = await search_papers(store.reader, "model")

    assert ids(page)[0] == "2401.00003"
    assert set(ids(page)) == {"2401.00001", "2401.00002", "2401.00003"}


async def test_paging(store: Store) -> None:
    await save(
        store,
        numbered(5, "Sparse Attention Study {n}") + [Paper(id="2402.00099", title="Dense Layers")],
    )

    pages = [
        await search_papers(store.reader, "sparse attention", limit=2, offset=o)
        for o in (0, 2, 4, 6)
    ]

    assert [len(p.papers) for p in pages] == [2, 2, 1, 0]
    assert [p.more for p in pages] == [True, True, False, False]
    seen = [paper_id for p in pages for paper_id in ids(p)]
    assert sorted(seen) == [f"2402.{n:05d}" for n in range(1, 6)]
    exact = await search_papers(store.reader, "sparse attention", limit=5)
    assert len(exact.papers) == 5
    assert exact.more is False


async def test_a_summary_word_finds_the_paper(corpus: Store) -> None:
    assert ids(await search_papers(corpus.reader, "retrieval")) == ["2401.00018"]
    assert ids(await search_papers(corpus.reader, "검색")) == ["2401.00018"]


# --- other scripts ----------------------------------------------------------------------------


@pytest.mark.parametrize("query", ["모델", "모델을", "검색 모델", "학습"])
async def test_korean_summary_text_is_searchable(corpus: Store, query: str) -> None:
    assert ids(await search_papers(corpus.reader, query)) == ["2401.00018"]


@pytest.mark.parametrize("query", ["语言模型", "大语言模型训练", "模型训练", "高效方法", "训练"])
async def test_chinese_title_substrings(corpus: Store, query: str) -> None:
    assert ids(await search_papers(corpus.reader, query)) == ["2401.00019"]


async def test_chinese_characters_must_be_adjacent_and_in_order(corpus: Store) -> None:
    assert ids(await search_papers(corpus.reader, "训练模型")) == []


@pytest.mark.parametrize(
    "query", ["画像生成", "モデル", "拡散モデル", "による", "高解像度", "テキスト"]
)
async def test_japanese_title_and_summary(corpus: Store, query: str) -> None:
    assert ids(await search_papers(corpus.reader, query)) == ["2401.00020"]


async def test_cjk_suggestions(corpus: Store) -> None:
    assert ids(await suggest_titles(corpus.reader, "语言模")) == ["2401.00019"]
    assert ids(await suggest_titles(corpus.reader, "画像")) == ["2401.00020"]


# --- hostile input ----------------------------------------------------------------------------

NO_WORDS = ['"', "'", "*", "(", ")", "^", "-", ":", "{}", '""', "***", "🤗🚀", "🤗", "\x00", "   "]


@pytest.mark.parametrize("query", NO_WORDS)
async def test_input_without_words_is_a_user_error(corpus: Store, query: str) -> None:
    with pytest.raises(QueryHasNoWords, match="type some words"):
        await search_papers(corpus.reader, query)
    with pytest.raises(QueryHasNoWords):
        await papers_by_author(corpus.reader, query)

    assert await suggest_titles(corpus.reader, query) == []
    assert await suggest_authors(corpus.reader, query) == []


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("-x", ["2401.00017"]),
        ("model -x", ["2401.00017"]),
        ("NEAR(a b)", ["2401.00013"]),
        ("a AND b", ["2401.00014"]),
        ("a OR b", ["2401.00015"]),
        ("{title}:", ["2401.00016"]),
        ("title:", ["2401.00016"]),
        ('"attention', ["1706.03762"]),
        ('"attention is"', ["1706.03762"]),
        ("attention'", ["1706.03762"]),
        ("attention*", ["1706.03762"]),
        ("(attention)", ["1706.03762"]),
        ("^attention", ["1706.03762"]),
        ("attention\x00need", ["1706.03762"]),
        ("attention " * 100, ["1706.03762"]),  # a 1,000-character query
        ("a" * 1000, []),
        ("'; DROP TABLE papers; --", []),
        ("1=1 OR 'x'='x'", []),
        ("NOT attention", []),
    ],
)
async def test_operators_and_quotes_are_plain_words(
    corpus: Store, query: str, expected: list[str]
) -> None:
    page = await search_papers(corpus.reader, query)

    assert ids(page) == expected
    assert isinstance(await suggest_titles(corpus.reader, query), list)
    assert isinstance(await suggest_authors(corpus.reader, query), list)
    assert isinstance(await papers_by_author(corpus.reader, query), SearchPage)


async def test_sql_in_a_query_leaves_the_tables_alone(corpus: Store) -> None:
    attack = "'; DROP TABLE papers; --"

    await search_papers(corpus.reader, attack)
    await suggest_titles(corpus.reader, attack)
    await suggest_authors(corpus.reader, attack)
    await papers_by_author(corpus.reader, attack)

    ((count,),) = await corpus.reader.execute_fetchall("SELECT count(*) FROM papers")
    assert count == 13
    assert ids(await search_papers(corpus.reader, "autoregressive")) == ["2401.08541"]


# --- authors ----------------------------------------------------------------------------------


@pytest.fixture
async def authors(store: Store) -> Store:
    await save(
        store,
        [
            Paper(
                id="2312.00010", title="Latent Diffusion", authors=["Björn Ommer", "Robin Rombach"]
            ),
            Paper(
                id="2405.00001", title="Rectified Flow", authors=["Patrick Esser", "Björn Ommer"]
            ),
            Paper(id="2401.00002", title="Upper Case Names", authors=["BJÖRN OMMER"]),
            Paper(id="hep-th/0101001", title="An Old One", authors=["Björn Ommer"]),
            Paper(id="2401.00003", title="By Rui Wang", authors=["Rui Wang", "Soren Kierkegaard"]),
            Paper(id="2401.00004", title="Also Rui Wang", authors=["Anna Smith", "Rui Wang"]),
            Paper(id="2401.00005", title="By Rui Wangson", authors=["Rui Wangson"]),
            Paper(id="2401.00006", title="By Wang Rui", authors=["Wang Rui"]),
            Paper(id="2401.00007", title="Dane", authors=["Søren Hauberg"]),
        ],
    )
    return store


OMMER_NEWEST_FIRST = ["2405.00001", "2401.00002", "2312.00010", "hep-th/0101001"]


@pytest.mark.parametrize(
    "name", ["bjorn ommer", "Björn Ommer", "BJÖRN OMMER", "BJORN OMMER", "Bjo\u0308rn Ommer"]
)
async def test_author_names_ignore_case_and_accents(authors: Store, name: str) -> None:
    page = await papers_by_author(authors.reader, name)

    assert ids(page) == OMMER_NEWEST_FIRST  # newest arXiv id first, old-style ids last
    assert page.more is False


async def test_author_pages(authors: Store) -> None:
    first = await papers_by_author(authors.reader, "ommer", limit=3)
    rest = await papers_by_author(authors.reader, "ommer", limit=3, offset=3)

    assert ids(first) == OMMER_NEWEST_FIRST[:3]
    assert first.more is True
    assert ids(rest) == OMMER_NEWEST_FIRST[3:]
    assert rest.more is False


async def test_an_exact_full_name_means_that_person(authors: Store) -> None:
    assert ids(await papers_by_author(authors.reader, "Rui Wang")) == ["2401.00004", "2401.00003"]
    assert ids(await papers_by_author(authors.reader, "rui wang")) == ["2401.00004", "2401.00003"]
    assert ids(await papers_by_author(authors.reader, "Wang Rui")) == ["2401.00006"]
    assert ids(await papers_by_author(authors.reader, "Rui Wangson")) == ["2401.00005"]


async def test_a_partial_name_finds_every_matching_author(authors: Store) -> None:
    page = await papers_by_author(authors.reader, "wang")

    assert set(ids(page)) == {"2401.00003", "2401.00004", "2401.00005", "2401.00006"}


async def test_letters_without_a_decomposition_fold_too(authors: Store) -> None:
    assert ids(await papers_by_author(authors.reader, "soren hauberg")) == ["2401.00007"]
    assert ids(await papers_by_author(authors.reader, "Kierkegaard")) == ["2401.00003"]


async def test_an_unknown_author_has_no_papers(authors: Store) -> None:
    page = await papers_by_author(authors.reader, "Nobody Atall")

    assert page == SearchPage([], more=False)


async def test_suggest_authors_ranks_prolific_authors_first(authors: Store) -> None:
    found = await suggest_authors(authors.reader, "rui")

    assert [(s.name, s.papers) for s in found][:2] == [("Rui Wang", 2), ("Rui Wangson", 1)]
    assert {s.name for s in found} == {"Rui Wang", "Rui Wangson", "Wang Rui"}
    assert [s.name for s in await suggest_authors(authors.reader, "ommer")][0] == "Björn Ommer"
    assert len(await suggest_authors(authors.reader, "r", limit=2)) == 2


async def test_equally_prolific_authors_are_alphabetical(store: Store) -> None:
    await save(
        store,
        [
            Paper(id="2401.00001", title="One", authors=["Rui Adams"]),
            Paper(id="2401.00002", title="Two", authors=["Rui Zhang"]),
        ],
    )

    found = await suggest_authors(store.reader, "rui")

    assert [s.name for s in found] == ["Rui Adams", "Rui Zhang"]


async def test_an_author_without_papers_is_not_suggested(store: Store) -> None:
    await save(store, [Paper(id="2401.00001", title="T", authors=["Bjorn Ommer", "Robin Rombach"])])
    await save(store, [Paper(id="2401.00001", title="T", authors=["Björn Ommer", "Robin Rombach"])])

    found = await suggest_authors(store.reader, "ommer")

    assert [(s.name, s.papers) for s in found] == [("Björn Ommer", 1)]


async def test_an_exact_name_wins_even_among_many_similar_names(store: Store) -> None:
    await save(store, [Paper(id="2401.00001", title="The Original", authors=["Wei Li"])])
    letters = "abcdefghijklmnopqrstuvwxyz"
    similar = [f"Wei Li{a}{b}" for a in letters for b in letters][: AUTHOR_CANDIDATES + 50]
    await save(
        store,
        [
            Paper(id=f"2402.{n + 1:05d}", title=f"Other {n}", authors=similar[n * 10 : n * 10 + 10])
            for n in range(len(similar) // 10)
        ],
    )

    assert ids(await papers_by_author(store.reader, "Wei Li")) == ["2401.00001"]


@pytest.mark.xfail(
    strict=True,
    reason="bug: suggest_authors ranks by paper count only among the newest CANDIDATES "
    "matching author ids, so a prolific author first seen long ago is not suggested",
)
async def test_the_most_prolific_author_is_suggested_among_many_names(store: Store) -> None:
    await save(
        store,
        [Paper(id=f"2401.{n:05d}", title=f"Paper {n}", authors=["Rui Wang"]) for n in range(1, 6)],
    )
    others = [f"Person{n} Wang" for n in range(CANDIDATES + 50)]
    await save(
        store,
        [
            Paper(id=f"2402.{n + 1:05d}", title=f"Other {n}", authors=[name])
            for n, name in enumerate(others)
        ],
    )

    found = await suggest_authors(store.reader, "wang", limit=10)

    assert found[0].name == "Rui Wang"
    assert found[0].papers == 5


# --- suggestions --------------------------------------------------------------------------------


async def test_suggest_titles_prefers_matching_titles(store: Store) -> None:
    await save(
        store,
        [
            Paper(
                id="2401.00001", title="Diffusion Models Beat GANs on Image Synthesis", upvotes=1
            ),
            Paper(id="2401.00002", title="Modeling Diffusion in Porous Media", upvotes=90),
            Paper(id="2401.00003", title="Graph Networks", upvotes=99),
            Paper(
                id="2401.00004",
                title="Unrelated Title",
                summaries=[Summary("en", "digest", ["diffusion models everywhere"])],
            ),
        ],
    )

    found = await suggest_titles(store.reader, "diffusion mod")

    assert ids(found) == ["2401.00001", "2401.00002"]  # titles only; the phrase first
    assert found[0].title == "Diffusion Models Beat GANs on Image Synthesis"
    assert ids(await suggest_titles(store.reader, "diffusion mod", limit=2)) == [
        "2401.00001",
        "2401.00002",
    ]
    assert ids(await suggest_titles(store.reader, "porous")) == ["2401.00002"]
    assert ids(await suggest_titles(store.reader, "rous")) == ["2401.00002"]  # inside a word
    assert await suggest_titles(store.reader, "nothing like it") == []


async def test_suggest_titles_returns_at_most_limit(store: Store) -> None:
    await save(store, numbered(30, "Model Number {n}"))

    found = await suggest_titles(store.reader, "model", limit=25)
    few = await suggest_titles(store.reader, "mod", limit=3)

    assert len(found) == 25
    assert len(few) == 3


# --- a common word in a large store -------------------------------------------------------------


async def test_a_word_matching_thousands_of_papers_still_pages(store: Store) -> None:
    await save(
        store,
        [
            Paper(id=f"2401.{n:05d}", title=f"A Model for Task {n}", upvotes=n % 17)
            for n in range(1, 3001)
        ]
        + [Paper(id="2401.09999", title="Graph Networks")],
    )

    first = await search_papers(store.reader, "model")
    deep = await search_papers(store.reader, "model", limit=10, offset=500)
    last = await search_papers(store.reader, "model", limit=10, offset=2990)
    beyond = await search_papers(store.reader, "model", limit=10, offset=3000)

    assert len(first.papers) == 10
    assert first.more is True
    assert all("Model" in p.title for p in first.papers)
    assert len(deep.papers) == 10
    assert deep.more is True
    assert len(last.papers) == 10
    assert last.more is False
    assert beyond == SearchPage([], more=False)
    assert ids(await search_papers(store.reader, "model task 2999")) == ["2401.02999"]


async def test_paging_through_a_common_word_shows_each_paper_once(store: Store) -> None:
    count = CANDIDATES + 50
    # Older papers have more upvotes, so each growth of the window re-ranks earlier pages.
    await save(
        store,
        [
            Paper(id=f"2401.{n:05d}", title=f"Model {n}", upvotes=count - n)
            for n in range(1, count + 1)
        ],
    )

    seen: list[str] = []
    offset, more = 0, True
    while more:
        page = await search_papers(store.reader, "model", limit=10, offset=offset)
        seen += ids(page)
        offset, more = offset + 10, page.more

    assert len(seen) == len(set(seen)) == count


async def test_paging_is_stable_when_the_last_word_is_long(store: Store) -> None:
    # "transformers" is longer than the prefix indexes: the choice between the exact word and
    # the prefix must not flip from one page to the next.
    await save(store, numbered(250, "Transformers {n}", month="2401"))
    await save(store, numbered(100, "Transformersxl {n}", month="2402"))

    seen: list[str] = []
    offset, more = 0, True
    while more:
        page = await search_papers(store.reader, "transformers", limit=10, offset=offset)
        seen += ids(page)
        offset, more = offset + 10, page.more

    assert len(seen) == len(set(seen))
    assert len(seen) >= 250  # every "Transformers n" at least
