"""arXiv client: Atom parsing (legacy and current), NotFound, pacing and retries, on loopback."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest
from http_fixture_server import Reply

from bot.sources import NotFound, SourceError
from bot.sources.arxiv import ArxivClient, parse_feed

OWN = Path(__file__).parent / "fixtures" / "arxiv"
SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "fixtures" / "arxiv"
QUERY = "/api/query"


class FakeTime:
    """A clock that only moves when the client sleeps, so pacing is checked without waiting."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.waits: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


@pytest.fixture
def client(http, server, fake_time) -> ArxivClient:
    return ArxivClient(
        http, server.url, min_interval=3.0, clock=fake_time.clock, sleep=fake_time.sleep
    )


def xml(name: str, status: int = 200) -> Reply:
    return Reply.file(OWN / name, status=status)


# Parsing -----------------------------------------------------------------------------------


async def test_legacy_format_paper(client, server):
    server.add(QUERY, xml("legacy_2401.00101v2.xml"), query={"id_list": "2401.00101"})
    paper = await client.paper("arXiv:2401.00101v2")

    assert paper.id == "2401.00101"  # versionless
    assert paper.title == (
        "Synthetic Paper One: A Title Long Enough to Be Hard-Wrapped by the Old Exporter"
    )
    assert paper.abstract.startswith("This abstract is synthetic test data. It is wrapped at a")
    assert "\n" not in paper.abstract and not paper.abstract.endswith(" ")
    assert paper.authors == ["Ada Example", "Bo Sample"]  # repeated name dropped, spaces squeezed
    assert paper.published_at == datetime(2024, 1, 15, 17, 34, 15, tzinfo=UTC)
    (request,) = server.requests_to(QUERY)
    assert request.query == {"id_list": "2401.00101", "max_results": "1"}


async def test_current_format_many_ids_in_one_request_unknown_absent(client, server):
    server.add(QUERY, xml("current_two_of_three.xml"))
    found = await client.papers(["2510.00301", "https://arxiv.org/abs/2510.09999", "math/0601001"])

    assert sorted(found) == ["2510.00301", "math/0601001"]
    assert found["2510.00301"].authors == ["Ivy Synthetic", "Jon Fabricated"]
    assert found["math/0601001"].title == "An Old-Style Synthetic Identifier"
    (request,) = server.requests_to(QUERY)
    assert request.query["id_list"] == "2510.00301,2510.09999,math/0601001"
    assert request.query["max_results"] == "3"


async def test_papers_skips_invalid_ids_and_duplicates(client, server):
    server.add(QUERY, xml("current_two_of_three.xml"))
    found = await client.papers(["2510.00301", "2510.00301v2", "not an id"])
    assert list(found) == ["2510.00301"]
    (request,) = server.requests_to(QUERY)
    assert request.query["id_list"] == "2510.00301"


async def test_papers_with_no_ids_makes_no_request(client, server):
    assert await client.papers([]) == {}
    assert server.requests == []


# NotFound ----------------------------------------------------------------------------------


async def test_error_entry_with_http_400_is_not_found(client, server):
    server.add(QUERY, xml("error_http400.xml", status=400))
    with pytest.raises(NotFound, match="incorrect id format for 2401.00199"):
        await client.paper("2401.00199")
    assert len(server.requests_to(QUERY)) == 1  # a 400 is an answer, not a failure


async def test_error_entry_with_http_200_is_not_found_never_a_paper(client, server):
    server.add(QUERY, xml("error_http400.xml"))
    with pytest.raises(NotFound):
        await client.paper("2401.00199")


async def test_empty_feed_is_not_found(client, server):
    server.add(QUERY, xml("empty.xml"))
    with pytest.raises(NotFound, match="arXiv has no paper 2401.09999"):
        await client.paper("2401.09999")


async def test_feed_without_the_requested_id_is_not_found(client, server):
    server.add(QUERY, xml("current_two_of_three.xml"))
    with pytest.raises(NotFound):
        await client.paper("2510.09999")


async def test_400_without_a_feed_is_not_found(client, server):
    server.add(QUERY, Reply.text("Bad Request", status=400))
    with pytest.raises(NotFound, match="rejected"):
        await client.paper("2401.00001")


async def test_invalid_id_is_not_found_and_never_sent(client, server):
    with pytest.raises(NotFound, match="not an arXiv id"):
        await client.paper("1; DROP TABLE papers")
    assert server.requests == []


# Failures ----------------------------------------------------------------------------------


async def test_malformed_xml_is_retried_then_a_source_error(client, server):
    server.add(QUERY, Reply.text("<feed><entry>", content_type="application/atom+xml"))
    with pytest.raises(SourceError, match="malformed XML") as caught:
        await client.paper("2401.00101")
    assert not isinstance(caught.value, NotFound)
    assert len(server.requests_to(QUERY)) == 4


async def test_xml_that_is_not_atom_is_a_source_error_at_once(client, server):
    server.add(QUERY, Reply.text("<html><body>maintenance</body></html>"))
    with pytest.raises(SourceError, match="not an Atom feed|other than an Atom feed"):
        await client.paper("2401.00101")
    assert len(server.requests_to(QUERY)) == 1


async def test_5xx_is_retried_and_still_paced(client, server, fake_time):
    server.add(QUERY, Reply.error(503), Reply.error(500), xml("legacy_2401.00101v2.xml"))
    paper = await client.paper("2401.00101")
    assert paper.id == "2401.00101"
    assert len(server.requests_to(QUERY)) == 3
    # Backoff (1 s, then 2 s) is shorter than the 3 s interval, so pacing tops each wait up to 3 s.
    assert fake_time.now - 1000.0 == pytest.approx(6.0, abs=0.3)


async def test_5xx_forever_gives_up_with_a_clear_error(client, server):
    server.add(QUERY, Reply.error(502))
    with pytest.raises(SourceError, match=r"arXiv.*/api/query.*HTTP 502"):
        await client.paper("2401.00101")
    assert len(server.requests_to(QUERY)) == 4


async def test_timeout_then_success(client, server):
    server.add(QUERY, Reply.timeout(2.0), xml("legacy_2401.00101v2.xml"))
    assert (await client.paper("2401.00101")).id == "2401.00101"
    assert len(server.requests_to(QUERY)) == 2


# Politeness --------------------------------------------------------------------------------


async def test_one_request_per_interval_with_a_fake_clock(client, server, fake_time):
    server.add(QUERY, xml("legacy_2401.00101v2.xml"))
    for _ in range(3):
        await client.paper("2401.00101")
    assert fake_time.waits == [3.0, 3.0]  # none before the first request


async def test_no_wait_when_the_interval_has_already_passed(client, server, fake_time):
    server.add(QUERY, xml("legacy_2401.00101v2.xml"))
    await client.paper("2401.00101")
    fake_time.now += 10
    await client.paper("2401.00101")
    assert fake_time.waits == []


async def test_concurrent_callers_queue_with_real_spacing(http, server):
    server.add(QUERY, xml("legacy_2401.00101v2.xml"))
    client = ArxivClient(http, server.url, min_interval=0.2)
    results = await asyncio.gather(*(client.paper("2401.00101") for _ in range(3)))

    assert [p.id for p in results] == ["2401.00101"] * 3
    times = [r.time for r in server.requests_to(QUERY)]
    assert len(times) == 3
    gaps = [later - earlier for earlier, later in zip(times, times[1:], strict=False)]
    assert all(gap >= 0.18 for gap in gaps), gaps


async def test_more_than_a_batch_of_ids_is_split_into_paced_requests(client, server, fake_time):
    server.add(QUERY, xml("empty.xml"))
    await client.papers([f"2401.{n:05d}" for n in range(101)])
    lengths = [len(r.query["id_list"].split(",")) for r in server.requests_to(QUERY)]
    assert lengths == [100, 1]
    assert fake_time.waits == [3.0]


# The shared real-world recordings, when this checkout has them -----------------------------


def shared(name: str) -> Path:
    path = SHARED / name
    if not path.exists():
        pytest.skip(f"shared fixture {name} is not available")
    return path


async def test_shared_legacy_recording(client, server):
    server.add(QUERY, Reply.file(shared("legacy-2016_id_list_1111.2011v2.xml")))
    paper = await client.paper("1111.2011v2")
    assert paper.id == "1111.2011"
    assert paper.title == (
        "Quantum Criticality for Extended Nodes on a Bethe Lattice in the Large Connectivity Limit"
    )
    assert paper.authors == ["James M. Murray", "Adrian Del Maestro", "Zlatko Tesanovic"]
    assert paper.abstract.startswith("Theoretical description of anisotropic systems")
    assert paper.published_at == datetime(2011, 11, 8, 18, 48, 36, tzinfo=UTC)


def test_shared_legacy_old_style_id():
    papers, errors = parse_feed(
        shared("legacy-2016_search_au_del_maestro_AND_ti_checkerboard.xml").read_bytes()
    )
    assert [p.id for p in papers] == ["cond-mat/0603029"] and errors == []


async def test_shared_current_recordings(client, server):
    server.add(QUERY, Reply.file(shared("modern-2026_id_list_1605.08386.xml")))
    paper = await client.paper("1605.08386")
    assert paper.title == "Heat-bath random walks with Markov bases"
    assert paper.authors == ["Caprice Stanley", "Tobias Windisch"]
    assert paper.published_at == datetime(2016, 5, 26, 17, 59, 46, tzinfo=UTC)


async def test_shared_one_missing(client, server):
    name = "modern-2026_id_list_0808.05394_1707.08567_one_missing.xml"
    server.add(QUERY, Reply.file(shared(name)))
    found = await client.papers(["0808.05394", "1707.08567"])
    assert list(found) == ["1707.08567"]
    assert len(found["1707.08567"].authors) == 34


async def test_shared_empty_and_error_are_not_found(client, server):
    server.add(
        QUERY,
        Reply.file(shared("modern-2026_id_list_0000.0000_empty.xml")),
        query={"id_list": "0000.0000"},
    )
    server.add(
        QUERY,
        Reply.file(shared("modern-2026_id_list_abc_error_http400.xml"), status=400),
        query={"id_list": "2401.00001"},
    )
    with pytest.raises(NotFound):
        await client.paper("0000.0000")
    with pytest.raises(NotFound, match="incorrect id format"):
        await client.paper("2401.00001")
