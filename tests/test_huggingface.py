"""Hugging Face client: real HTTP against the loopback fixture server, faults included."""

from __future__ import annotations

import json
import logging
from datetime import UTC, date, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import httpx
import pytest
from http_fixture_server import FixtureServer, Reply

from bot.sources import NotFound, SourceError
from bot.sources.http_retry import server_wait
from bot.sources.huggingface import (
    MAX_PAGES,
    PAGE_SIZE,
    BadRequest,
    HuggingFaceClient,
    MalformedItem,
    parse_daily_item,
    parse_paper,
)

OWN = Path(__file__).parent / "fixtures" / "hf"
SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "fixtures" / "hf"
DAILY = "/api/daily_papers"


class Sleeps:
    """Injected sleep: records the waits and returns at once."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def client(http, server, sleeps) -> HuggingFaceClient:
    return HuggingFaceClient(http, server.url, max_retries=3, backoff=0.5, sleep=sleeps)


def own(name: str) -> list | dict:
    return json.loads((OWN / name).read_text())


def fake_items(ids: range, prefix: str = "2403") -> list[dict]:
    """Minimal well-formed daily items with ids like 2403.00042."""
    return [
        {"paper": {"id": f"{prefix}.{n:05d}", "title": f"Paper {n}", "authors": [], "upvotes": n}}
        for n in ids
    ]


# Parsing our own fixtures, one shape each -------------------------------------------------


async def test_oldest_shape_takes_image_or_video_from_singular_media_url(client, server):
    server.add(DAILY, Reply.file(OWN / "daily_2024_oldest_mediaurl.json"))
    daily = await client.daily_papers(date(2024, 1, 16))

    first, second = daily.papers
    assert first.title == (
        "Synthetic Paper One: A Title Long Enough to Be Hard-Wrapped by the Old Exporter"
    )
    assert first.abstract.startswith("This abstract is synthetic test data. It is wrapped at a")
    assert first.image_url == "https://cdn.example.org/social-thumbnails/papers/2401.00101.png"
    assert first.video_url is None
    assert first.upvotes == 32 and first.num_comments == 3
    assert first.published_at == datetime(2024, 1, 15, 17, 34, 15, tzinfo=UTC)
    assert second.video_url == "https://cdn.example.org/uploads/2401.00102/demo.mp4"
    assert second.image_url is None


async def test_thumbnail_shape_splits_video_from_pictures_and_cleans_authors(client, server):
    server.add(DAILY, Reply.file(OWN / "daily_2024_thumbnail_mediaurls.json"))
    video, pictures, bare = (await client.daily_papers(date(2024, 6, 13))).papers

    assert video.title == "Synthetic Video Paper: Physics from Pixels"
    assert video.image_url == "https://cdn.example.org/social-thumbnails/papers/2406.00201.png"
    assert video.video_url == "https://cdn.example.org/uploads/2406.00201/teaser.mp4"
    # The hidden author stays, the repeated one goes, and the order is kept.
    assert video.authors == ["Dee Fictional", "Eli Madeup", "Fay Invented"]
    # No thumbnail: the first non-video media stands in.
    assert pictures.image_url == "https://cdn.example.org/uploads/2406.00202/overview.png"
    assert pictures.video_url is None
    assert bare.image_url is None and bare.video_url is None and bare.authors == []


async def test_modern_shape_reads_optional_extras_and_tolerates_their_absence(client, server):
    server.add(DAILY, Reply.file(OWN / "daily_2025_modern.json"))
    rich, plain, org_by_name = (await client.daily_papers(date(2025, 10, 3))).papers

    assert rich.video_url == "https://cdn.example.org/uploads/2510.00301/long-demo.mp4"
    assert rich.github_repo == "https://github.com/example/synthetic-plus-plus"
    assert rich.github_stars == 1
    assert rich.project_page == "https://project.example.org/synthetic-plus-plus/"
    assert rich.ai_summary == "A synthetic method is proposed to test parsers."
    assert rich.ai_keywords == ["test fixtures", "parsers", "synthetic data"]
    assert rich.organization == "Example Lab"
    assert rich.num_comments == 2
    assert rich.abstract == (
        "Modern payloads still wrap the abstract at arXiv's width. This one is synthetic."
    )

    assert (plain.github_repo, plain.github_stars, plain.project_page) == (None, None, None)
    assert plain.organization is None and plain.video_url is None
    assert plain.ai_keywords == []
    assert org_by_name.organization == "unreal-group"
    assert org_by_name.ai_summary is None and org_by_name.github_stars == 120


async def test_ranking_is_the_order_returned(client, server):
    server.add(DAILY, Reply.file(OWN / "daily_2025_modern.json"))
    daily = await client.daily_papers(date(2025, 10, 3))
    assert daily.day == date(2025, 10, 3)
    assert [p.id for p in daily.papers] == ["2510.00301", "2510.00302", "2510.00303"]


async def test_request_carries_date_limit_and_page(client, server):
    server.add(DAILY, Reply.file(OWN / "daily_2025_modern.json"))
    await client.daily_papers(date(2025, 10, 3))
    (request,) = server.requests_to(DAILY)
    assert request.query == {"date": "2025-10-03", "limit": str(PAGE_SIZE), "p": "0"}


async def test_malformed_item_is_skipped_with_one_warning_and_the_rest_kept(client, server, caplog):
    server.add(DAILY, Reply.file(OWN / "daily_malformed_item.json"))
    with caplog.at_level(logging.WARNING, logger="bot.sources.huggingface"):
        daily = await client.daily_papers(date(2024, 2, 2))

    assert [p.id for p in daily.papers] == ["2402.00401", "2402.00403"]
    warnings = [r for r in caplog.records if r.name == "bot.sources.huggingface"]
    assert len(warnings) == 1
    assert "item 1" in warnings[0].getMessage() and "2402.00402" in warnings[0].getMessage()


@pytest.mark.parametrize(
    ("item", "reason"),
    [
        ("not an object", "not an object"),
        ({"title": "no paper object"}, "no paper object"),
        ({"paper": {"title": "No id"}}, "id is missing"),
        ({"paper": {"id": "not-an-arxiv-id", "title": "Bad id"}}, "not an arXiv id"),
        ({"paper": {"id": "2401.00001", "title": 42}}, "title is int"),
        ({"paper": {"id": "2401.00001", "title": "T", "authors": "Ada"}}, "authors is str"),
        ({"paper": {"id": "2401.00001", "title": "T", "upvotes": "12"}}, "upvotes is str"),
    ],
)
def test_malformed_items_are_rejected_with_a_reason(item, reason):
    with pytest.raises(MalformedItem, match=reason):
        parse_daily_item(item)


def test_optional_extras_of_the_wrong_type_are_dropped_not_fatal():
    paper = parse_paper(
        {
            "id": "arXiv:2401.00001v3",
            "title": "T",
            "githubStars": "many",
            "organization": 7,
            "ai_keywords": "not a list",
            "publishedAt": "yesterday",
            "mediaUrls": ["/relative/path.png", 5],
        }
    )
    assert paper.id == "2401.00001"
    assert paper.github_stars is None and paper.organization is None
    assert paper.ai_keywords == [] and paper.published_at is None and paper.image_url is None


# Single paper ------------------------------------------------------------------------------


async def test_paper_reads_the_paper_object_directly(client, server):
    server.add("/api/papers/2510.00301", Reply.file(OWN / "paper_2510.00301.json"))
    paper = await client.paper("https://huggingface.co/papers/2510.00301")
    assert paper.id == "2510.00301"
    assert paper.upvotes == 51
    assert paper.video_url == "https://cdn.example.org/uploads/2510.00301/long-demo.mp4"
    assert paper.organization == "Example Lab"


async def test_unknown_paper_is_not_found_without_retrying(client, server):
    server.add("/api/papers/2401.09999", Reply.error(404))
    with pytest.raises(NotFound, match="2401.09999"):
        await client.paper("2401.09999")
    assert len(server.requests_to("/api/papers/2401.09999")) == 1


async def test_text_that_is_no_arxiv_id_is_not_found_and_never_sent(client, server):
    with pytest.raises(NotFound, match="not an arXiv id"):
        await client.paper("../../etc/passwd")
    assert server.requests == []


# Faults ------------------------------------------------------------------------------------


async def test_timeout_then_success(client, server, sleeps):
    server.add(DAILY, Reply.timeout(2.0), Reply.file(OWN / "daily_2025_modern.json"))
    daily = await client.daily_papers(date(2025, 10, 3))
    assert len(daily.papers) == 3
    assert len(server.requests_to(DAILY)) == 2
    assert len(sleeps.waits) == 1 and 0.5 <= sleeps.waits[0] <= 0.55  # backoff plus jitter


async def test_500s_exhaust_retries_with_a_clear_error_and_bounded_requests(client, server, sleeps):
    server.add(DAILY, Reply.error(500))
    with pytest.raises(SourceError) as caught:
        await client.daily_papers(date(2025, 10, 3))

    message = str(caught.value)
    assert "Hugging Face" in message and "/api/daily_papers" in message
    assert "HTTP 500" in message and "4 attempts" in message
    assert "date=" not in message and server.url not in message
    assert len(server.requests_to(DAILY)) == 4  # max_retries=3 -> 4 attempts
    assert len(sleeps.waits) == 3
    # Exponential: 0.5, 1, 2 (each with at most 10 % jitter on top).
    for wait, base in zip(sleeps.waits, [0.5, 1.0, 2.0], strict=True):
        assert base <= wait <= base * 1.1


async def test_502_and_503_are_retried_too(client, server):
    server.add(
        DAILY, Reply.error(502), Reply.error(503), Reply.file(OWN / "daily_2025_modern.json")
    )
    assert len((await client.daily_papers(date(2025, 10, 3))).papers) == 3
    assert len(server.requests_to(DAILY)) == 3


async def test_429_with_retry_after_seconds_waits_that_long(client, server, sleeps):
    server.add(DAILY, Reply.rate_limited(retry_after=7), Reply.file(OWN / "daily_2025_modern.json"))
    assert len((await client.daily_papers(date(2025, 10, 3))).papers) == 3
    assert sleeps.waits == [7.0]


async def test_429_with_retry_after_http_date(client, server, sleeps):
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    server.add(
        DAILY, Reply.rate_limited(retry_after=later), Reply.file(OWN / "daily_2025_modern.json")
    )
    await client.daily_papers(date(2025, 10, 3))
    assert len(sleeps.waits) == 1 and 27 <= sleeps.waits[0] <= 30


async def test_429_with_ietf_ratelimit_header_waits_until_reset(client, server, sleeps):
    server.add(
        DAILY,
        Reply.rate_limited(RateLimit='"api";r=0;t=12', **{"RateLimit-Policy": '"api";q=500;w=300'}),
        Reply.file(OWN / "daily_2025_modern.json"),
    )
    await client.daily_papers(date(2025, 10, 3))
    assert sleeps.waits == [12.0]


async def test_429_asking_for_an_hour_is_capped(client, server, sleeps):
    server.add(
        DAILY, Reply.rate_limited(retry_after=3600), Reply.file(OWN / "daily_2025_modern.json")
    )
    await client.daily_papers(date(2025, 10, 3))
    assert sleeps.waits == [60.0]


async def test_429_forever_gives_up_saying_so(client, server, sleeps):
    server.add(DAILY, Reply.rate_limited(retry_after=1))
    with pytest.raises(SourceError, match="HTTP 429"):
        await client.daily_papers(date(2025, 10, 3))
    assert sleeps.waits == [1.0, 1.0, 1.0]


async def test_503_with_retry_after_waits_that_long(client, server, sleeps):
    server.add(
        DAILY, Reply.error(503, {"Retry-After": "4"}), Reply.file(OWN / "daily_2025_modern.json")
    )
    await client.daily_papers(date(2025, 10, 3))
    assert sleeps.waits == [4.0]


async def test_invalid_json_is_retried(client, server):
    server.add(DAILY, Reply.invalid_json(), Reply.file(OWN / "daily_2025_modern.json"))
    assert len((await client.daily_papers(date(2025, 10, 3))).papers) == 3
    assert len(server.requests_to(DAILY)) == 2


async def test_invalid_json_every_time_ends_in_a_source_error(client, server):
    server.add(DAILY, Reply.invalid_json())
    with pytest.raises(SourceError, match="invalid JSON"):
        await client.daily_papers(date(2025, 10, 3))
    assert len(server.requests_to(DAILY)) == 4


async def test_truncated_body_is_retried(client, server):
    body = (OWN / "daily_2025_modern.json").read_bytes()
    server.add(DAILY, Reply.truncated(body), Reply.file(OWN / "daily_2025_modern.json"))
    assert len((await client.daily_papers(date(2025, 10, 3))).papers) == 3
    assert len(server.requests_to(DAILY)) == 2


async def test_connection_reset_is_retried(client, server):
    server.add(DAILY, Reply.connection_reset(), Reply.file(OWN / "daily_2025_modern.json"))
    assert len((await client.daily_papers(date(2025, 10, 3))).papers) == 3
    assert len(server.requests_to(DAILY)) == 2


async def test_connection_refused_ends_in_a_source_error(http, sleeps):
    async with FixtureServer() as gone:
        url = gone.url
    client = HuggingFaceClient(http, url, max_retries=1, sleep=sleeps)
    with pytest.raises(SourceError, match="connection failed"):
        await client.daily_papers(date(2025, 10, 3))


async def test_a_base_url_that_is_not_http_fails_at_once(http, sleeps):
    client = HuggingFaceClient(http, "ftp://example.invalid", sleep=sleeps)
    with pytest.raises(SourceError, match="base URL"):
        await client.daily_papers(date(2025, 10, 3))
    assert sleeps.waits == []


async def test_bad_date_is_a_clear_error_and_not_retried(client, server):
    server.add(DAILY, Reply.json({"error": "Invalid date"}, status=400))
    with pytest.raises(BadRequest, match="Hugging Face rejected the date 2031-02-28"):
        await client.daily_papers(date(2031, 2, 28))
    assert len(server.requests_to(DAILY)) == 1


async def test_an_object_instead_of_a_list_is_a_source_error_at_once(client, server):
    server.add(DAILY, Reply.json({"error": "something changed"}))
    with pytest.raises(SourceError, match="something other than a list"):
        await client.daily_papers(date(2025, 10, 3))
    assert len(server.requests_to(DAILY)) == 1


# Paging ------------------------------------------------------------------------------------


async def test_paging_across_three_pages_stops_on_the_short_page(client, server):
    server.add(DAILY, Reply.json(fake_items(range(0, 100))), query={"p": 0})
    server.add(DAILY, Reply.json(fake_items(range(100, 200))), query={"p": 1})
    server.add(DAILY, Reply.json(fake_items(range(200, 205))), query={"p": 2})
    daily = await client.daily_papers(date(2024, 3, 1))

    assert len(daily.papers) == 205
    assert daily.papers[0].id == "2403.00000" and daily.papers[-1].id == "2403.00204"
    assert [r.query["p"] for r in server.requests_to(DAILY)] == ["0", "1", "2"]


async def test_a_server_ignoring_p_is_not_read_forever(client, server, caplog):
    server.add(DAILY, Reply.json(fake_items(range(0, 100))))
    with caplog.at_level(logging.WARNING, logger="bot.sources.huggingface"):
        daily = await client.daily_papers(date(2024, 3, 1))
    assert len(daily.papers) == 100  # no duplicates from the repeated page
    assert len(server.requests_to(DAILY)) == 2
    assert "ignore paging" in caplog.text


async def test_pages_are_capped(client, server):
    for page in range(MAX_PAGES + 5):
        items = fake_items(range(page * 100, page * 100 + 100), prefix="2404")
        server.add(DAILY, Reply.json(items), query={"p": page})
    daily = await client.daily_papers(date(2024, 4, 1))
    assert len(server.requests_to(DAILY)) == MAX_PAGES
    assert len(daily.papers) == MAX_PAGES * 100


# Retry-header parsing ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Retry-After": "5"}, 5.0),
        ({"RateLimit": '"api";r=0;t=55'}, 55.0),
        ({"RateLimit": '"burst";r=3;t=1, "day";r=0;t=300'}, 300.0),  # the exhausted quota counts
        ({"RateLimit-Reset": "9"}, 9.0),
        ({"Retry-After": "soon"}, None),
        ({}, None),
    ],
)
def test_server_wait_reads_the_headers(headers, expected):
    assert server_wait(httpx.Headers(headers)) == expected


# The shared real-world recordings, when this checkout has them -----------------------------


def shared(name: str) -> Path:
    path = SHARED / name
    if not path.exists():
        pytest.skip(f"shared fixture {name} is not available")
    return path


@pytest.mark.parametrize(
    ("day", "count"),
    [("2024-05-27", 13), ("2024-06-13", 21), ("2025-10-03", 39), ("2026-08-21", 17)],
)
async def test_shared_recordings_parse_completely(client, server, caplog, day, count):
    server.add(DAILY, Reply.file(shared(f"{day}.json")), query={"date": day})
    with caplog.at_level(logging.WARNING, logger="bot.sources.huggingface"):
        daily = await client.daily_papers(date.fromisoformat(day))
    assert len(daily.papers) == count
    assert len({p.id for p in daily.papers}) == count
    assert all(p.title and p.authors and p.abstract for p in daily.papers)
    assert "\n" not in "".join(p.title + p.abstract for p in daily.papers)
    assert not [
        r for r in caplog.records if r.name == "bot.sources.huggingface" and r.levelno >= 30
    ]


async def test_shared_recordings_media_and_extras(client, server):
    for day in ("2024-05-27", "2024-06-13", "2025-10-03"):
        server.add(DAILY, Reply.file(shared(f"{day}.json")), query={"date": day})

    oldest = await client.daily_papers(date(2024, 5, 27))
    assert all(p.image_url and p.image_url.endswith(".png") for p in oldest.papers)

    mid = {p.id: p for p in (await client.daily_papers(date(2024, 6, 13))).papers}
    assert mid["2406.04338"].video_url.endswith(".mp4")
    assert mid["2406.04338"].image_url.endswith("2406.04338.png")

    modern = {p.id: p for p in (await client.daily_papers(date(2025, 10, 3))).papers}
    paper = modern["2510.02283"]
    assert paper.video_url.endswith(".mp4")
    assert paper.github_repo and paper.project_page and paper.ai_summary
    assert paper.organization == "ByteDance Seed"
    assert paper.upvotes == 43
