"""Memory is bounded in bytes, not only in counts: the worst-case workloads, driven at reduced
limits against a server in a child process, grow its real memory (VmHWM in /proc) by no more
than the configured journal budget plus a fixed margin, and a reset hands the memory back.

Without the byte bounds, the same workloads grow the server by several times the margin: the
journal keeps every big request head (count caps only), and /flaky keeps a counter named by
each long URL.
"""

from __future__ import annotations

import socket
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

import httpx
import pytest

from mock_server.process import spawn
from mock_server.state import MAX_CLIENTS_PER_CONNECTION, Connection, ServerState
from mock_server.config import Config

pytestmark = pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads memory figures from /proc")

MiB = 1024 * 1024
KEYS = 50  # the server's --max-clients below: every key is kept, none forgotten
REQUESTS = 4000
HEAD_LIMIT = 8192
# Headers of a request head near HEAD_LIMIT: many short ones, the costliest shape per wire byte.
FILLER = b"".join(b"x-filler-%03d: %s\r\n" % (i, b"f" * 60) for i in range(95))
BUDGET = 4 * MiB
# What the server may grow by beyond its journal budget: 50 keys' state, counters of bounded
# names, allocator slack. Unbounded, each workload below grows it by 50-100 MiB.
MARGIN = 24 * MiB


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
    flags = ["--max-clients", str(KEYS), "--max-header-bytes", str(HEAD_LIMIT), "--journal-bytes", str(BUDGET)]
    process, url = spawn(flags, log=tmp_path / "server.log")
    try:
        # Every code path the workloads use runs once first, so lazy imports and caches are not counted.
        pipelined(url, [head("/status/204", 0), head("/flaky?fail=0", 0), head("/flaky?fail=0&warm=1", 0, b"")])
        yield process.pid, url
    finally:
        process.terminate()
        process.wait(10)


def journal_figures(url: str) -> tuple[int, int]:
    stats = httpx.get(f"{url}/__admin/stats/server", timeout=10).json()
    return stats["journal_bytes"], stats["journal_budget"]


def drive(url: str, heads: list[bytes], expected_status: int) -> None:
    """Send the workload in slices, checking between them that the journal stays within its budget."""
    for start in range(0, len(heads), 500):
        assert pipelined(url, heads[start:start + 500]) == [expected_status] * len(heads[start:start + 500])
        used, budget = journal_figures(url)
        assert used <= budget == BUDGET


WORKLOADS = {
    # Big request heads near --max-header-bytes, spread over every key: the journal keeps them.
    "big heads": ([head("/status/204", n % KEYS) for n in range(REQUESTS)], 204),
    # /flaky with a long URL of its own each time: a counter per URL, each named by the URL.
    "long unique /flaky URLs": (
        [head(f"/flaky?fail=0&n={n}&pad={'p' * 6000}", n % KEYS, b"") for n in range(REQUESTS)], 200,
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
    assert growth <= BUDGET + MARGIN, (
        f"the server grew by {growth / MiB:.1f} MiB on {wire_bytes / MiB:.1f} MiB of requests; "
        f"its journal budget is {BUDGET / MiB:g} MiB"
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
        used, _ = journal_figures(url)
        full = memory(process.pid)["VmRSS"]
        httpx.post(f"{url}/__admin/reset", params={"all": "true"}, timeout=10).raise_for_status()
        after = memory(process.pid)["VmRSS"]
        print(f"reset: {before / MiB:.1f} MiB, full {full / MiB:.1f} MiB, after reset {after / MiB:.1f} MiB", file=sys.stderr)
        assert full - before > budget // 2, "the workload filled the journal"
        assert used > budget // 2
        assert after - before < (full - before) / 4, "most of what the journal held went back to the system"
        assert journal_figures(url)[0] == 0
    finally:
        process.terminate()
        process.wait(10)
