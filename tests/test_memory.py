"""Memory is bounded in bytes, not only in counts: the worst-case workloads, driven at reduced
limits against a server in a child process, grow its real memory (VmHWM in /proc) by no more
than the configured journal and state budgets plus a fixed margin, and a reset hands the
memory back.

Without the byte bounds, the same workloads grow the server by several times the margin: the
journal keeps every big request head (count caps only), /flaky keeps a counter named by each
long URL, and each Idempotency-Key keeps its long request line and answer beside its record.
"""

from __future__ import annotations

import json
import socket
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import httpx
import pytest

from mock_server.process import spawn
from mock_server.server import BackgroundServer
from mock_server.config import Config
from waiting import wait_until

pytestmark = pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads memory figures from /proc")

MiB = 1024 * 1024
KEYS = 50  # the server's --max-clients below: every key is kept, none forgotten
REQUESTS = 4000
HEAD_LIMIT = 8192
# Headers of a request head near HEAD_LIMIT: many short ones, the costliest shape per wire byte.
FILLER = b"".join(b"x-filler-%03d: %s\r\n" % (i, b"f" * 60) for i in range(95))
BUDGET = 4 * MiB
STATE_BUDGET = 4 * MiB
# What the server may grow by beyond its journal and state budgets: 50 keys' state, counters of
# bounded names, allocator slack. Unbounded, each workload below grows it by 50-100 MiB.
MARGIN = 24 * MiB
# A repo with its text fields at their longest, in 4-byte characters: the costliest record.
BIG_REPO = {"owner": "ada.lovelace", "description": "\U0001f600" * 300, "language": "\U0001f600" * 40}


def memory(pid: int) -> dict[str, int]:
    """The process's resident memory now (VmRSS) and at its peak (VmHWM), in bytes."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            fields[name] = int(value.split()[0]) * 1024
    return fields


def head(path: str, key: int, extra: bytes = FILLER) -> bytes:
    return b"GET %s HTTP/1.1\r\nhost: test\r\nx-client-key: key-%02d\r\n%s\r\n" % (path.encode(), key, extra)


def create(key: int, number: int, pad: int = 6000) -> bytes:
    """An idempotent POST /repos of a big repo, its request line (which the key keeps) padded by `pad` bytes."""
    body = json.dumps({**BIG_REPO, "name": f"repo-{number}"}, ensure_ascii=False).encode()
    return (
        b"POST /repos?pad=%s HTTP/1.1\r\nhost: test\r\nx-client-key: key-%02d\r\nidempotency-key: create-%06d\r\n"
        b"content-type: application/json\r\ncontent-length: %d\r\n\r\n%s" % (b"p" * pad, key, number, len(body), body)
    )


def pipelined(url: str, heads: Sequence[bytes], batch: int = 50) -> list[int]:
    """Send `heads` on one keep-alive connection, `batch` at a time; the status of every answer."""
    host, port = url.removeprefix("http://").rsplit(":", 1)
    statuses: list[int] = []
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        answers = _answers(sock)
        for start in range(0, len(heads), batch):
            chunk = heads[start:start + batch]
            sock.sendall(b"".join(chunk))
            statuses.extend(next(answers) for _ in chunk)
    return statuses


def _answers(sock: socket.socket) -> Iterator[int]:
    """The status of each HTTP/1.1 answer read from `sock`, in order (bodies by Content-Length)."""
    buffer = b""
    while True:
        while b"\r\n\r\n" not in buffer:
            data = sock.recv(65536)
            assert data, "the server closed the connection"
            buffer += data
        head_end = buffer.index(b"\r\n\r\n") + 4
        lines = buffer[:head_end].split(b"\r\n")
        length = next((int(line.split(b":")[1]) for line in lines if line.lower().startswith(b"content-length:")), 0)
        while len(buffer) < head_end + length:
            data = sock.recv(65536)
            assert data, "the server closed the connection"
            buffer += data
        buffer = buffer[head_end + length:]
        yield int(lines[0].split()[1])


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[int, str]]:
    """A server in a child process with reduced limits: its pid and base URL."""
    flags = ["--max-clients", str(KEYS), "--max-header-bytes", str(HEAD_LIMIT), "--journal-bytes", str(BUDGET),
             "--state-bytes", str(STATE_BUDGET)]
    process, url = spawn(flags, log=tmp_path / "server.log")
    try:
        # Every code path the workloads use runs once first, so lazy imports and caches are not counted.
        pipelined(url, [head("/status/204", 0), head("/flaky?fail=0", 0), head("/flaky?fail=0&warm=1", 0, b""),
                        create(0, -1, pad=0), head("/ratelimited?algorithm=sliding&limit=1000&window=1", 0, b"")])
        yield process.pid, url
    finally:
        process.terminate()
        process.wait(10)


def figures(url: str, store: str = "journal") -> tuple[int, int]:
    """What the store ("journal" or "state") holds and its budget, from /__admin/stats/server."""
    stats = httpx.get(f"{url}/__admin/stats/server", timeout=10).json()
    return stats[f"{store}_bytes"], stats[f"{store}_budget"]


def drive(url: str, heads: list[bytes], expected_status: int) -> None:
    """Send the workload in slices, checking between them that the journal and the state stay within their budgets."""
    for start in range(0, len(heads), 500):
        assert pipelined(url, heads[start:start + 500]) == [expected_status] * len(heads[start:start + 500])
        used, budget = figures(url, "journal")
        assert used <= budget == BUDGET
        used, budget = figures(url, "state")
        assert used <= budget == STATE_BUDGET


WORKLOADS = {
    # Big request heads near --max-header-bytes, spread over every key: the journal keeps them.
    "big heads": ([head("/status/204", n % KEYS) for n in range(REQUESTS)], 204),
    # /flaky with a long URL of its own each time: a counter per URL, each named by the URL.
    "long unique /flaky URLs": (
        [head(f"/flaky?fail=0&n={n}&pad={'p' * 6000}", n % KEYS, b"") for n in range(REQUESTS)], 200,
    ),
    # Every key creating big records with an Idempotency-Key and a long request line: each key
    # keeps its records, and its last 100 keys with their request lines and answers.
    "idempotent creates": ([create(n % KEYS, n) for n in range(2 * REQUESTS)], 201),
    # Sliding-window limits at their largest, a new window each time: every key starts log after
    # log of 1000 arrival times (8 KiB each), of which it keeps its newest few.
    "sliding logs": (
        [head(f"/ratelimited?algorithm=sliding&limit=1000&window={1 + n / 4}", n % KEYS, b"") for n in range(2 * REQUESTS)],
        200,
    ),
}


@pytest.mark.parametrize("workload", WORKLOADS)
def test_worst_case_workloads_stay_within_the_byte_budget(server: tuple[int, str], workload: str) -> None:
    pid, url = server
    before = memory(pid)
    heads, status = WORKLOADS[workload]
    drive(url, heads, status)
    wire_bytes = sum(map(len, heads))
    growth = memory(pid)["VmHWM"] - before["VmRSS"]
    print(f"{workload}: {wire_bytes / MiB:.1f} MiB sent, server grew {growth / MiB:.1f} MiB", file=sys.stderr)
    assert growth <= BUDGET + STATE_BUDGET + MARGIN, (
        f"the server grew by {growth / MiB:.1f} MiB on {wire_bytes / MiB:.1f} MiB of requests; "
        f"its journal and state budgets are {BUDGET / MiB:g} MiB each"
    )


def test_the_journal_says_how_many_entries_each_limit_dropped(server: tuple[int, str]) -> None:
    _, url = server
    heads = [head("/status/204", 7) for _ in range(300)] + [head("/status/204", n % KEYS) for n in range(1000)]
    drive(url, heads, 204)
    journal = httpx.get(f"{url}/__admin/requests", headers={"X-Client-Key": "key-07"}, timeout=10).json()
    # 300 + 20 requests: the oldest 120 fell out of its --journal-size of 200, and the budget took
    # more as every other key kept sending.
    assert journal["dropped"]["journal_size"] >= 100
    assert journal["dropped"]["journal_bytes"] > 0
    assert journal["count"] + sum(journal["dropped"].values()) == 320
    ids = [entry["id"] for entry in journal["requests"]]
    assert ids == list(range(321 - len(ids), 321)), "what is kept is the newest, in order"


@pytest.mark.parametrize(
    "headers", [b"x-big: " + b"v" * 7000 + b"\r\n", FILLER], ids=["one big header", "many small headers"]
)
def test_reset_all_hands_the_memory_back(tmp_path: Path, headers: bytes) -> None:
    budget = 48 * MiB
    flags = ["--max-header-bytes", str(HEAD_LIMIT), "--journal-bytes", str(budget)]
    process, url = spawn(flags, log=tmp_path / "server.log")
    try:
        pipelined(url, [head("/status/204", 0, headers)])
        before = memory(process.pid)["VmRSS"]
        pipelined(url, [head("/status/204", n % 40, headers) for n in range(6000)])
        used, _ = figures(url)
        full = memory(process.pid)["VmRSS"]
        httpx.post(f"{url}/__admin/reset", params={"all": "true"}, timeout=10).raise_for_status()
        after = memory(process.pid)["VmRSS"]
        print(f"reset: {before / MiB:.1f} MiB, full {full / MiB:.1f} MiB, after reset {after / MiB:.1f} MiB", file=sys.stderr)
        assert full - before > budget // 2, "the workload filled the journal"
        assert used > budget // 2
        assert after - before < (full - before) / 4, "most of what the journal held went back to the system"
        assert figures(url)[0] == 0
    finally:
        process.terminate()
        process.wait(10)


SEEDED_REPOS = 30


def own_repos(client: httpx.Client, key: str) -> int:
    """How many repos `key` created that the server still keeps."""
    return int(client.get("/repos", headers={"X-Client-Key": key}).headers["x-total-count"]) - SEEDED_REPOS


def create_repo(client: httpx.Client, key: str, number: int) -> httpx.Response:
    return client.post("/repos", json={**BIG_REPO, "name": f"repo-{number}"},
                       headers={"X-Client-Key": key, "Idempotency-Key": f"create-{number}"})


def server_stats(client: httpx.Client) -> dict[str, int]:
    return client.get("/__admin/stats/server").json()


def hang(url: str, key: str) -> socket.socket:
    """A connection with a request of `key` in flight (/hang) until it is closed."""
    host, port = url.removeprefix("http://").rsplit(":", 1)
    sock = socket.create_connection((host, int(port)), timeout=30)
    sock.sendall(b"GET /hang HTTP/1.1\r\nhost: test\r\nx-client-key: %s\r\n\r\n" % key.encode())
    return sock


def test_the_state_budget_gets_back_what_replaced_deleted_expired_and_reset_records_held() -> None:
    config = Config(port=0, idempotency_ttl=0.5)
    with BackgroundServer(config) as url, httpx.Client(base_url=url, timeout=10) as client:
        def used() -> int:
            return server_stats(client)["state_bytes"]

        assert used() == 0
        big = client.post("/repos", json={**BIG_REPO, "name": "repo-1"}).json()
        with_big = used()
        client.put(f"/repos/{big['id']}", json={"name": "repo-1", "owner": "ada.lovelace"})
        assert 0 < used() < with_big, "a smaller replacement gives back the difference"
        client.delete(f"/repos/{big['id']}")
        client.delete("/repos/1")  # a seeded one: only marked deleted
        assert used() == 0
        first = create_repo(client, "anon", 2).json()
        with_key = used()
        client.delete(f"/repos/{first['id']}")
        assert 0 < used() < with_key, "the Idempotency-Key and its answer are still kept"
        time.sleep(config.idempotency_ttl + 0.1)
        create_repo(client, "anon", 3)  # the same sizes as the first: only the expired key is gone
        assert used() == with_key
        client.post("/__admin/reset", params={"all": "true"})
        assert used() == 0
        assert server_stats(client)["state_budget"] == config.state_bytes


def test_past_the_state_budget_the_least_recently_used_idle_key_is_forgotten_whole() -> None:
    budget = 200_000
    with BackgroundServer(Config(port=0, state_bytes=budget, max_duration=60)) as url, \
            httpx.Client(base_url=url, timeout=10) as client:
        for number in range(5):
            assert create_repo(client, "busy", number).status_code == 201
        with hang(url, "busy"):  # the least recently used key, yet busy
            wait_until(lambda: server_stats(client)["in_flight"] == 1, "the busy key's request is in flight")
            for key in ("idle", "recent"):
                for number in range(5):
                    assert create_repo(client, key, number).status_code == 201
            assert server_stats(client)["clients"] == 3
            for number in range(1, budget // 1000):
                assert create_repo(client, "active", number).status_code == 201
                stats = server_stats(client)
                assert stats["state_bytes"] <= stats["state_budget"] == budget
                if stats["clients"] == 3:
                    break  # a fourth key's creates made the server forget one
            else:
                pytest.fail("the active key's creates never made the server forget a key")
            kept = {key: own_repos(client, key) for key in ("busy", "recent", "active")}
        assert kept == {"busy": 5, "recent": 5, "active": number}, "the busy, the recent and the active keys keep all"
        assert client.get("/__admin/stats", headers={"X-Client-Key": "idle"}).json()["requests"] == 0
        assert own_repos(client, "idle") == 0, "the least recently used idle key was forgotten whole"


def test_a_create_that_only_busy_keys_could_make_room_for_gets_503_until_they_finish() -> None:
    budget = 60_000
    with BackgroundServer(Config(port=0, state_bytes=budget, max_duration=60)) as url, \
            httpx.Client(base_url=url, timeout=10) as client:
        number = 0
        while server_stats(client)["state_bytes"] < budget // 2:
            assert create_repo(client, "busy", number).status_code == 201
            number += 1
        with hang(url, "busy"):
            wait_until(lambda: server_stats(client)["in_flight"] == 1, "the busy key's request is in flight")
            answers = [create_repo(client, "other", n) for n in range(budget // 1000)]
            refused = next(answer for answer in answers if answer.status_code != 201)
            assert refused.status_code == 503 and refused.json()["error"] == "state_budget_busy"
            assert refused.headers["retry-after"] == "1" and "--state-bytes" in refused.json()["message"]
            assert own_repos(client, "busy") == number, "a key with a request in flight is never forgotten"
            assert server_stats(client)["state_bytes"] <= budget
        wait_until(lambda: server_stats(client)["in_flight"] == 0, "the busy key's request ended")
        retried = client.send(refused.request)  # the same Idempotency-Key: the 503 was not kept
        assert retried.status_code == 201 and "idempotent-replayed" not in retried.headers
        assert own_repos(client, "busy") == 0, "once idle, the least recently used key made room"


def test_a_key_that_alone_would_hold_more_than_the_state_budget_gets_409() -> None:
    budget = 50_000
    with BackgroundServer(Config(port=0, state_bytes=budget)) as url, httpx.Client(base_url=url, timeout=10) as client:
        assert create_repo(client, "other", 0).status_code == 201
        answers = [create_repo(client, "big", number) for number in range(budget // 1000)]
        statuses = [answer.status_code for answer in answers]
        created = statuses.index(409)
        assert created > 0 and set(statuses[created:]) == {409}, statuses
        refused = answers[created].json()
        assert refused["error"] == "state_budget_exceeded" and refused["limit"] == budget
        assert "--state-bytes" in refused["message"] and "/__admin/reset" in refused["message"]
        assert own_repos(client, "big") == created, "what the key had is kept whole"
        assert own_repos(client, "other") == 0, "the idle key made room first"
        assert server_stats(client)["state_bytes"] <= budget
        client.post("/__admin/reset", headers={"X-Client-Key": "big"})
        assert create_repo(client, "big", budget).status_code == 201
