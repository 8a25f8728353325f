"""The admin API: the journal, statistics (including TCP connections), reset and chaos."""

from __future__ import annotations

import asyncio
import socket
import time
from concurrent.futures import ThreadPoolExecutor

import aiohttp
import httpx
import pytest
import requests

from mock_server.config import Config
from mock_server.server import BackgroundServer
from waiting import wait_until




def durations(base_url: str, key: str) -> list[float]:
    """How long the server took over each request of `key`, by its own clock (oldest first)."""
    journal = requests.get(f"{base_url}/__admin/requests", headers={"X-Client-Key": key}, timeout=10).json()
    return [entry["duration"] for entry in journal["requests"]]


def test_health(client: httpx.Client) -> None:
    health = client.get("/__admin/health").json()
    assert health.pop("tls").keys() == {"url", "ca"}  # tests/test_tls.py checks what they point at
    assert health == {"status": "ok", "service": "http-clients-course mock server", "seed": 0}


def test_journal_records_what_the_server_saw(client: httpx.Client, key: str) -> None:
    client.post("/post?x=1", json={"secret": "no"}, headers={"Authorization": "Bearer abc.def", "Cookie": "session=s1; theme=dark",
                                                             "X-API-Key": "k"})
    client.get("/status/404")
    entries = client.get("/__admin/requests").json()["requests"]
    first, second = entries
    assert (first["id"], first["method"], first["path"], first["query"], first["status"]) == (1, "POST", "/post", "x=1", 200)
    assert first["body"] == '{"secret":"no"}' and first["body_size"] == 15 and first["body_truncated"] is False
    assert first["headers"]["Authorization"] == "Bearer [redacted]"
    assert first["headers"]["Cookie"] == "session=[redacted]; theme=[redacted]"
    assert first["headers"]["X-Api-Key"] == "[redacted]"
    assert first["headers"]["X-Client-Key"] == key
    assert (second["status"], second["connection"]) == (404, first["connection"])
    assert client.get("/__admin/requests?method=get").json()["count"] == 1
    assert client.get("/__admin/requests?path=/post").json()["requests"][0]["id"] == 1
    assert [e["id"] for e in client.get("/__admin/requests", params={"query": "x=1"}).json()["requests"]] == [1]
    assert client.get("/__admin/requests", params={"query": ""}).json()["requests"][0]["id"] == 2
    assert client.get("/__admin/requests?last=1").json()["requests"][0]["id"] == 2


def test_admin_requests_are_not_journaled(client: httpx.Client) -> None:
    client.get("/__admin/stats")
    client.get("/get")
    assert client.get("/__admin/requests").json()["count"] == 1


def test_journal_truncates_bodies_and_keeps_the_newest_entries() -> None:
    with BackgroundServer(Config(port=0, journal_size=3, journal_body_bytes=4)) as url, httpx.Client(base_url=url) as client:
        for number in range(5):
            client.post("/post", content=f"body-{number}".encode())
        entries = client.get("/__admin/requests").json()["requests"]
    assert [entry["id"] for entry in entries] == [3, 4, 5]
    assert entries[-1]["body"] == "body" and entries[-1]["body_size"] == 6 and entries[-1]["body_truncated"] is True


def test_the_journal_budget_takes_from_the_least_recently_active_key_first() -> None:
    budget = 20_000  # bytes: room for about a dozen small requests
    with BackgroundServer(Config(port=0, journal_bytes=budget)) as url, httpx.Client(base_url=url, timeout=10) as client:

        def journal(key: str) -> dict:
            return client.get("/__admin/requests", headers={"X-Client-Key": key}).json()

        for _ in range(5):
            client.get("/get", headers={"X-Client-Key": "idle"})
        for _ in range(40):
            client.get("/get", headers={"X-Client-Key": "active"})
        idle, active = journal("idle"), journal("active")
        assert (idle["count"], idle["dropped"]) == (0, {"journal_size": 0, "journal_bytes": 5})
        kept = [entry["id"] for entry in active["requests"]]
        assert 0 < len(kept) < 40 and kept == list(range(41 - len(kept), 41)), "the active key keeps its newest"
        assert active["dropped"] == {"journal_size": 0, "journal_bytes": 40 - len(kept)}
        client.get("/get", headers={"X-Client-Key": "idle"})  # now active is the least recently active
        assert journal("idle")["count"] == 1
        assert journal("active")["dropped"]["journal_bytes"] > 40 - len(kept)
        server = client.get("/__admin/stats/server").json()
        assert 0 < server["journal_bytes"] <= server["journal_budget"] == budget
        client.post("/__admin/reset", params={"all": "true"})
        assert client.get("/__admin/stats/server").json()["journal_bytes"] == 0


def test_a_body_that_arrives_after_its_entry_is_counted_in_the_budget() -> None:
    with BackgroundServer(Config(port=0, journal_bytes=1_000_000)) as url, httpx.Client(base_url=url, timeout=10) as client:

        def used() -> int:
            return client.get("/__admin/stats/server").json()["journal_bytes"]

        client.post("/post", content=b"")
        empty = used()
        client.post("/post", content=b"x" * 1000)
        assert used() - empty >= empty + 1000 - 10, "the second entry counts its 1000-byte body (within header noise)"


def test_least_recently_used_client_keys_are_forgotten() -> None:
    with BackgroundServer(Config(port=0, max_clients=2)) as url, httpx.Client(base_url=url) as client:
        for key in ("a", "b", "a", "c"):  # c pushes out b, the least recently used
            client.get("/get", headers={"X-Client-Key": key})
        counts = {key: client.get("/__admin/stats", headers={"X-Client-Key": key}).json()["requests"] for key in "abc"}
        server = client.get("/__admin/stats/server").json()
    assert counts == {"a": 2, "b": 0, "c": 1}
    assert server["clients"] <= 2


def test_a_client_key_with_a_request_in_flight_is_not_forgotten() -> None:
    with BackgroundServer(Config(port=0, max_clients=2)) as url, httpx.Client(base_url=url, timeout=10) as client:
        def stats(key: str) -> dict:
            return client.get("/__admin/stats", headers={"X-Client-Key": key}).json()

        with ThreadPoolExecutor(1) as pool:
            slow = pool.submit(httpx.get, f"{url}/delay/1", headers={"X-Client-Key": "slow"}, timeout=10)
            wait_until(lambda: stats("slow")["in_flight"] == 1, "the slow request is in flight")
            for key in ("b", "c"):  # c arrives with the table full: b goes, though slow is older
                client.get("/get", headers={"X-Client-Key": key})
            assert slow.result().status_code == 200
        assert {key: stats(key)["requests"] for key in ("slow", "b", "c")} == {"slow": 1, "b": 0, "c": 1}


def test_keep_alive_reuses_one_connection(base_url: str, key: str) -> None:
    with requests.Session() as session:
        session.headers["X-Client-Key"] = key
        for _ in range(20):
            session.get(f"{base_url}/get", timeout=10)
    stats = requests.get(f"{base_url}/__admin/stats", headers={"X-Client-Key": key}, timeout=10).json()
    assert (stats["requests"], stats["connections_opened"]) == (20, 1)


def test_connection_close_opens_a_connection_per_request(base_url: str, key: str) -> None:
    for _ in range(20):
        requests.get(f"{base_url}/get", headers={"X-Client-Key": key, "Connection": "close"}, timeout=10)
    stats = requests.get(f"{base_url}/__admin/stats", headers={"X-Client-Key": key}, timeout=10).json()
    assert (stats["requests"], stats["connections_opened"]) == (20, 20)
    numbers = [entry["connection"] for entry in requests.get(f"{base_url}/__admin/requests",
                                                              headers={"X-Client-Key": key}, timeout=10).json()["requests"]]
    assert numbers == list(range(1, 21))


def test_connections_count_again_after_a_reset(base_url: str, key: str) -> None:
    with requests.Session() as session:
        session.headers["X-Client-Key"] = key
        session.get(f"{base_url}/get", timeout=10)
        session.post(f"{base_url}/__admin/reset", timeout=10)
        session.get(f"{base_url}/get", timeout=10)  # the same kept-alive connection
        assert session.get(f"{base_url}/__admin/stats", timeout=10).json()["connections_opened"] == 1


def test_max_in_flight_counts_concurrent_requests(base_url: str, key: str) -> None:
    async def burst() -> None:
        async with aiohttp.ClientSession(base_url, headers={"X-Client-Key": key}) as session:
            async def one() -> None:
                async with session.get("/delay/1") as response:  # long enough for all eight to overlap
                    await response.read()

            await asyncio.gather(*(one() for _ in range(8)))

    asyncio.run(burst())
    stats = requests.get(f"{base_url}/__admin/stats", headers={"X-Client-Key": key}, timeout=10).json()
    assert stats["max_in_flight"] == 8 and stats["in_flight"] == 0 and stats["connections_opened"] == 8


def test_reset_forgets_one_client_key_only(base_url: str, key: str) -> None:
    other = f"{key}-other"
    for client_key in (key, other):
        requests.get(f"{base_url}/get", headers={"X-Client-Key": client_key}, timeout=10)
    assert requests.post(f"{base_url}/__admin/reset", headers={"X-Client-Key": key}, timeout=10).json() == {"reset": key}
    requests_of = {k: requests.get(f"{base_url}/__admin/stats", headers={"X-Client-Key": k}, timeout=10).json()["requests"]
                   for k in (key, other)}
    assert requests_of == {key: 0, other: 1}


def test_chaos_latency_and_failures_per_client_key(client: httpx.Client, base_url: str, key: str) -> None:
    assert client.put("/__admin/chaos", json={"latency": 0.2}).json()["latency"] == 0.2
    started = time.perf_counter()
    client.get("/get")
    assert time.perf_counter() - started >= 0.2
    calm = f"{key}-calm-neighbour"
    requests.get(f"{base_url}/get", headers={"X-Client-Key": calm}, timeout=10)
    (slowed,), (unslowed,) = durations(base_url, key), durations(base_url, calm)
    assert unslowed < slowed, "other client keys are not slowed down"
    client.put("/__admin/chaos", json={"failure_rate": 1, "failure_codes": [502]})
    failed = client.get("/get")
    assert failed.status_code == 502 and failed.json()["error"] == "chaos"
    assert client.delete("/__admin/chaos").json()["failure_rate"] == 0
    assert client.get("/get").status_code == 200


def test_chaos_failures_are_seeded(client: httpx.Client) -> None:
    def run() -> list[int]:
        client.post("/__admin/reset")
        client.put("/__admin/chaos", json={"failure_rate": 0.5})
        return [client.get("/get").status_code for _ in range(30)]

    first = run()
    assert first == run()
    assert {500, 502, 503} & set(first) and 200 in first


def test_connect_latency_delays_only_new_connections(base_url: str, key: str) -> None:
    requests.put(f"{base_url}/__admin/chaos", json={"connect_latency": 0.3}, headers={"X-Client-Key": key}, timeout=10)
    with requests.Session() as session:
        session.headers["X-Client-Key"] = key
        started = time.perf_counter()
        session.get(f"{base_url}/get", timeout=10)
        first = time.perf_counter() - started
        for _ in range(2):
            session.get(f"{base_url}/get", timeout=10)
    assert first >= 0.3
    entries = requests.get(f"{base_url}/__admin/requests", headers={"X-Client-Key": key}, timeout=10).json()["requests"]
    assert [entry["connection"] for entry in entries] == [1, 1, 1]
    handshake, *reused = durations(base_url, key)
    assert max(reused) < handshake, "only the connection's first request waits for the simulated handshake"


@pytest.mark.parametrize("flag", ["latency", "connect_latency"])
def test_latency_flags_apply_to_the_api_but_not_to_admin(flag: str) -> None:
    # A whole second: this server shares the test's process (and GIL), which a busy machine stalls.
    with BackgroundServer(Config(port=0, **{flag: 1.0})) as url:
        started = time.perf_counter()
        httpx.get(f"{url}/get", timeout=5)
        api = time.perf_counter() - started
        started = time.perf_counter()
        httpx.get(f"{url}/__admin/health", timeout=5)
        admin = time.perf_counter() - started
    assert api >= 1.0
    assert admin < api, "both open a new connection; only the API request waits"


def test_server_stats_count_tcp_connections(base_url: str) -> None:
    before = requests.get(f"{base_url}/__admin/stats/server", timeout=10).json()["connections_opened"]
    host, port = base_url.removeprefix("http://").split(":")
    for _ in range(3):
        socket.create_connection((host, int(port)), timeout=5).close()

    def opened() -> int:
        return requests.get(f"{base_url}/__admin/stats/server", timeout=10).json()["connections_opened"]

    wait_until(lambda: opened() >= before + 4, "the server counted the three bare connections and this one")


def test_connections_open_drops_when_the_client_closes(base_url: str, key: str) -> None:
    def open_now() -> int:
        return requests.get(f"{base_url}/__admin/stats", headers={"X-Client-Key": key}, timeout=10).json()["connections_open"]

    session = requests.Session()
    session.get(f"{base_url}/get", headers={"X-Client-Key": key}, timeout=10)
    assert open_now() == 1, "the Session keeps its connection open for reuse"
    session.close()
    wait_until(lambda: open_now() == 0, "the server heard that the Session closed its connection")


@pytest.mark.parametrize("path", ["/flaky?fail=1", "/status/201", "/delay/0"])
def test_journal_shows_bodies_the_endpoint_never_read(client: httpx.Client, path: str) -> None:
    client.post(path, json={"order": 42})
    entry = client.get("/__admin/requests").json()["requests"][0]
    assert (entry["body"], entry["body_size"]) == ('{"order":42}', 12)
