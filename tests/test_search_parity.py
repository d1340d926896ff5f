"""Search parity: the same corpus in a SQLite store and a PostgreSQL store answers every
lookup of a mixed query set with the same papers and authors in the same order (the top 10).

The corpus is benchmarks/corpus.py's synthetic Daily Papers (Zipf-weighted ML titles, authors
of many cultures with accents and colliding names) plus a few Korean, Japanese and Chinese
titles; the queries are drawn from it: whole words, the last word cut short (autocomplete),
substrings inside words, accents typed or not, author names in any case, and words that match
nothing. Skipped in one line where PostgreSQL is not installed.
"""

from __future__ import annotations

import random
import re
from datetime import UTC, datetime

from benchmarks.corpus import iter_daily_lists
from bot.models import Paper
from storage.db import open_store
from storage.papers import save_daily_list, save_papers
from storage.search import papers_by_author, search_papers, suggest_authors, suggest_titles

PAPERS = 3000
AT = datetime(2024, 6, 1, tzinfo=UTC)
CJK = [
    Paper(id="2405.00001", title="대형 언어 모델의 추론 능력 향상", upvotes=12, authors=["김민수"]),
    Paper(id="2405.00002", title="拡散モデルによる高解像度画像生成", upvotes=8, authors=["佐藤"]),
    Paper(id="2405.00003", title="大语言模型的高效训练方法", upvotes=5, authors=["王伟"]),
    Paper(id="2405.00004", title="언어 모델 평가", upvotes=3, authors=["Björn Ommer"]),
]


def query_mix(papers: list[Paper], seed: int = 7) -> dict[str, list[str]]:
    """Queries per kind, drawn from the corpus (deterministic)."""
    rng = random.Random(seed)
    words = [w for p in papers for w in re.findall(r"[^\W_]+", p.title) if len(w) > 3]
    names = sorted({name for p in papers for name in p.authors})
    sample = rng.sample(words, 40)
    searches = [
        *sample[:15],  # one word, common or rare
        *(f"{a} {b}" for a, b in zip(sample[15:25], sample[25:35], strict=True)),  # two words
        *(w[: max(3, len(w) // 2)] for w in sample[35:40]),  # the last word half typed
        *(w[1:-1] for w in rng.sample([w for w in words if len(w) > 7], 5)),  # inside words
        "model", "language model", "diffusion", "autoreg", "video gen", "zzzqqq",
        "언어 모델", "언어", "画像生成", "模型", "bjorn",
    ]  # fmt: skip
    authors = [*rng.sample(names, 15), "bjorn ommer", "WEI WANG", "nobody atall"]
    typed = [name[: max(2, len(name) // 2)] for name in rng.sample(names, 10)]
    return {
        "search": searches,
        "titles": [q[: max(3, len(q) - 2)] for q in searches],
        "author": authors,
        "author names": [*typed, "bj", "wa"],
    }


async def answers(store, mix: dict[str, list[str]]) -> dict[tuple[str, str], list[str]]:
    found = {}
    for query in mix["search"]:
        found["search", query] = [p.id for p in (await search_papers(store.reader, query)).papers]
    for query in mix["titles"]:
        found["titles", query] = [p.id for p in await suggest_titles(store.reader, query)][:10]
    for query in mix["author"]:
        page = await papers_by_author(store.reader, query)
        found["author", query] = [p.id for p in page.papers]
    for query in mix["author names"]:
        found["author names", query] = [s.name for s in await suggest_authors(store.reader, query)][
            :10
        ]
    return found


async def test_both_backends_give_the_same_top_ten_for_the_whole_mix(tmp_path, postgres_url):
    lists = list(iter_daily_lists(PAPERS))
    papers = [p for daily in lists for p in daily.papers]
    mix = query_mix(papers + CJK)
    results = []
    for target in (tmp_path / "parity.db", postgres_url):
        async with open_store(target) as store:
            async with store.write() as conn:
                for daily in lists:
                    await save_daily_list(conn, daily, AT)
                await save_papers(conn, CJK, AT)
            results.append(await answers(store, mix))
    on_sqlite, on_postgres = results
    differ = {key: (on_sqlite[key], on_postgres[key]) for key in on_sqlite if
              on_sqlite[key] != on_postgres[key]}  # fmt: skip
    assert not differ, differ
    found = sum(1 for ids in on_sqlite.values() if ids)
    assert found > 0.8 * len(on_sqlite)  # the mix mostly finds something: a real comparison
    assert on_sqlite["search", "언어 모델"] == ["2405.00004", "2405.00001"]
    assert on_sqlite["search", "zzzqqq"] == []
