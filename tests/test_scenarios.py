"""Scenarios give every client key its own exact, repeatable sequence of answers."""

from __future__ import annotations

import asyncio
import time
import uuid
from email.utils import parsedate_to_datetime

from collections.abc import Iterator

import aiohttp
import httpx
import pytest

from mock_server.config import Config
from mock_server.server import BackgroundServer
from waiting import wait_until

PARALLEL_KEYS = 200

# (path, calls per key, the statuses every key must see, in order)
SEQUENCES = [
    ("/flaky?fail=2", 4, [503, 503, 200, 200]),
    ("/flaky?fail=3&status=429", 5, [429, 429, 429, 200, 200]),
    ("/flaky?fail=0", 2, [200, 200]),
    ("/flaky/sequence?codes=503,429,200", 5, [503, 429, 200, 200, 200]),
    ("/flaky/sequence?codes=500,200&cycle=true", 5, [500, 200, 500, 200, 500]),
    ("/flaky/sequence?codes=201,204,302", 4, [201, 204, 302, 302]),
]


async def _run_parallel(base_url: str, path: str, calls: int) -> list[list[int]]:
    """Each of PARALLEL_KEYS clients makes `calls` calls in turn, all clients at once.

    aiohttp, because httpx's AsyncClient queues this many concurrent requests slowly.
    """
    run = uuid.uuid4().hex[:8]
    async with aiohttp.ClientSession(base_url) as session:

        async def statuses(key: str) -> list[int]:
            seen = []
            for _ in range(calls):
                async with session.get(path, headers={"X-Client-Key": key}, allow_redirects=False) as response:
                    seen.append(response.status)
            return seen

        return await asyncio.gather(*(statuses(f"parallel-{run}-{index}") for index in range(PARALLEL_KEYS)))


@pytest.fixture(scope="module")
def crowded_server() -> Iterator[str]:
    """A server of these tests' own: their 1200 client keys would push the session server's
    --max-clients table past its limit, and it would forget the idle keys of notebooks and tests
    running beside them (a lesson's key during a 1 s Retry-After, say)."""
    with BackgroundServer(Config(port=0, tls_port=0)) as url:
        yield url


@pytest.mark.parametrize(("path", "calls", "expected"), SEQUENCES, ids=[row[0] for row in SEQUENCES])
def test_every_parallel_key_sees_the_exact_sequence(crowded_server: str, path: str, calls: int, expected: list[int]) -> None:
    results = asyncio.run(_run_parallel(crowded_server, path, calls))
    assert results == [expected] * PARALLEL_KEYS


def test_flaky_counters_are_per_request_and_reset(client: httpx.Client) -> None:
    assert client.get("/flaky?fail=1").status_code == 503
    assert client.post("/flaky?fail=1").status_code == 503, "POST has its own counter"
    assert client.get("/flaky?fail=1&x=1").status_code == 503, "so does another query"
    assert client.get("/flaky?fail=1").json() == {"ok": True, "attempt": 2, "failures_before_success": 1}
    client.post("/__admin/reset")
    assert client.get("/flaky?fail=1").status_code == 503


def test_flaky_failures_say_which_attempt_and_can_carry_retry_after(client: httpx.Client) -> None:
    first = client.get("/flaky?fail=2&retry_after=3")
    assert first.json()["attempt"] == 1 and first.headers["retry-after"] == "3"
    assert "retry-after" not in client.get("/flaky?fail=2").headers, "no Retry-After unless asked"


# (path, the statuses of successive calls, the Retry-After each one carries)
RETRY_AFTERS = [
    ("/status/500", [500], [None]),
    ("/status/503", [503], ["1"]),
    ("/status/429?retry_after=0", [429], ["0"]),
    ("/status/500?retry_after=4", [500], ["4"]),
    ("/status/200?retry_after=4", [200], ["4"]),
    ("/flaky?fail=1&status=500&retry_after=2", [500, 200], ["2", None]),
    ("/flaky?fail=1&status=418&retry_after=2", [418, 200], ["2", None]),
    ("/flaky?fail=1&status=500", [500, 200], [None, None]),
    ("/flaky/sequence?codes=500,404,302,200&retry_after=3", [500, 404, 302, 200], ["3", "3", None, None]),
    ("/flaky/sequence?codes=502,200", [502, 200], [None, None]),
]


@pytest.mark.parametrize(("path", "statuses", "retry_afters"), RETRY_AFTERS, ids=[row[0] for row in RETRY_AFTERS])
def test_retry_after_on_any_failure_when_asked(client: httpx.Client, path: str, statuses: list[int],
                                               retry_afters: list[str | None]) -> None:
    answers = [client.get(path, follow_redirects=False) for _ in statuses]
    assert [answer.status_code for answer in answers] == statuses
    assert [answer.headers.get("retry-after") for answer in answers] == retry_afters


def _unstable(base_url: str, key: str, query: str, calls: int = 40) -> list[int]:
    with httpx.Client(base_url=base_url, headers={"X-Client-Key": key}, timeout=10) as client:
        return [client.get(f"/unstable?{query}").status_code for _ in range(calls)]


def test_unstable_is_seeded_per_client_key(client: httpx.Client, base_url: str, key: str) -> None:
    first = _unstable(base_url, key, "failure_rate=0.5")
    client.post("/__admin/reset")
    assert _unstable(base_url, key, "failure_rate=0.5") == first, "a reset starts the sequence again"
    assert _unstable(base_url, f"{key}-other", "failure_rate=0.5") != first, "another key sees its own sequence"
    assert 8 <= first.count(503) <= 32
    assert set(_unstable(base_url, key, "failure_rate=0", 5)) == {200}
    assert set(_unstable(base_url, key, "failure_rate=1&status=500", 5)) == {500}


def test_unstable_with_a_seed_is_the_same_for_every_client_key(client: httpx.Client, base_url: str, key: str) -> None:
    from mock_server.config import Config
    from mock_server.server import BackgroundServer

    first = _unstable(base_url, key, "failure_rate=0.5&seed=7")
    assert _unstable(base_url, f"{key}-other", "failure_rate=0.5&seed=7") == first
    client.post("/__admin/reset")
    assert _unstable(base_url, key, "failure_rate=0.5&seed=7") == first, "a reset starts the sequence again"
    assert _unstable(base_url, key, "failure_rate=0.5&seed=8") != first
    with BackgroundServer(Config(port=0, seed=5)) as other_server:
        assert _unstable(other_server, "anyone", "failure_rate=0.5&seed=7") == first, "the server's --seed plays no part"


def test_ratelimited_answers_429_with_retry_after_and_ratelimit_headers(client: httpx.Client) -> None:
    answers = [client.get("/ratelimited?limit=3&window=2") for _ in range(5)]
    assert [r.status_code for r in answers] == [200, 200, 200, 429, 429]
    assert [r.headers["ratelimit-remaining"] for r in answers] == ["2", "1", "0", "0", "0"]
    assert all(r.headers["ratelimit-limit"] == "3" for r in answers)
    assert all(1 <= int(r.headers["ratelimit-reset"]) <= 2 for r in answers)
    limited = answers[-1]
    assert limited.headers["retry-after"] in ("1", "2") and limited.json()["error"] == "rate_limited"


def test_ratelimited_retry_after_as_http_date(client: httpx.Client) -> None:
    for _ in range(5):
        client.get("/ratelimited?window=3")
    before = time.time()
    limited = client.get("/ratelimited?window=3&retry_after_format=http-date")
    after = time.time()
    assert limited.status_code == 429
    # The server's clock read between before and after, plus 1 to 3 s, cut to whole seconds.
    assert before <= parsedate_to_datetime(limited.headers["retry-after"]).timestamp() <= after + 3


def test_ratelimited_window_refills(client: httpx.Client) -> None:
    assert [client.get("/ratelimited?limit=2&window=1").status_code for _ in range(3)] == [200, 200, 429]
    time.sleep(1.05)
    assert client.get("/ratelimited?limit=2&window=1").status_code == 200


def test_hang_ends_when_the_client_gives_up(client: httpx.Client) -> None:
    with pytest.raises(httpx.ReadTimeout):
        client.get("/hang", timeout=0.3)

    def hang_status() -> int | None:
        return client.get("/__admin/requests?path=/hang").json()["requests"][0]["status"]

    wait_until(lambda: hang_status() is not None, "the server noticed the client left")
    assert hang_status() == 499


def test_hang_gives_up_after_max_duration() -> None:
    from mock_server.config import Config
    from mock_server.server import BackgroundServer

    with BackgroundServer(Config(port=0, max_duration=0.3)) as url:
        response = httpx.get(f"{url}/hang", timeout=5)
    assert response.status_code == 504 and "--max-duration" in response.json()["message"]


def test_long_flaky_urls_keep_their_own_counters(client: httpx.Client) -> None:
    # Names this long are stored as digests: equal URLs must still share one counter, and URLs
    # that differ only in their last character must not.
    first, second = (f"/flaky?fail=2&pad={'p' * 5000}{end}" for end in "ab")
    assert [client.get(first).status_code for _ in range(3)] == [503, 503, 200]
    assert [client.get(second).status_code for _ in range(3)] == [503, 503, 200]
    assert client.get(first).json()["attempt"] == 4
