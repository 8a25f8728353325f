"""`make bench`: measure the mock server, and any peer found, in one run.

Figures: startup to healthy, /get throughput and the server's CPU time per /get, 1000
concurrent /delay/1 (mean, p99, max; the median of three bursts), delay accuracy at
100 x /delay/0.2, and peak memory. Throughput uses wrk when it is installed, else a keep-alive
load generator written with asyncio. The mock server's HTTPS port is measured too: /get over
HTTP/1.1 (wrk, else the asyncio generator over TLS) and over HTTP/2, and /get as h2c on the
HTTP port (both with h2load, from nghttp2, when it is installed). Peers are measured the same way when present: httpbin
(`--httpbin-python` names a Python that has httpbin and gunicorn; by default this one, if it
has them) and go-httpbin (`--go-httpbin`, or on PATH).

Then the mock server alone runs its worst case for memory at its default limits (a minute or
more; `--no-memory` skips it): every client key's journal filled with requests whose heads
are near the head limit, /flaky counter names as long as a head allows, records and
Idempotency-Keys as large as a create allows on every key, and tens of thousands of client
keys over a few keep-alive connections. It reports the resident memory after each
part, the peak, and what is left after POST /__admin/reset?all=true.

Before that, a classroom server (`--classroom`; `--no-classroom` skips it) takes the burst a
class makes when every learner runs a lesson's fan-out at the same moment: 60 joined learners,
each sending 50 concurrent /delay/1 (3000 in flight, one server process). It reports whether
all succeeded, p50, p99 and max (each request timed from before it connects; the median of
three bursts), and the instructor dashboard's own cost: one GET /__admin/classroom/learners
with 60 learners, and the burst's p99 while the dashboard polls that every second.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import importlib.util
import json
import os
import re
import shutil
import socket
import ssl
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Coroutine, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .config import Config
from .server import raise_open_file_limit

BURST = 1000
BURST_DELAY = 1.0
ACCURACY_REQUESTS, ACCURACY_DELAY = 100, 0.2
BURST_TIME_LIMIT = 20.0  # a server that cannot overlap slow requests would take many minutes
BURST_RUNS = 3  # report the median run: one burst on a shared machine is noisy
THROUGHPUT_CONNECTIONS = 64
H2_CONNECTIONS, H2_STREAMS = 8, 8  # HTTP/2 load: as many requests in flight as THROUGHPUT_CONNECTIONS

# The classroom burst: every learner runs a lesson's fan-out at once (issue 11).
CLASS_LEARNERS, CLASS_FAN_OUT, CLASS_DELAY = 60, 50, 1.0
CLASS_POLL = 1.0  # seconds between the dashboard's GET /__admin/classroom/learners while it polls
CLASS_DASHBOARD_CALLS = 20  # timed one after another, on one keep-alive connection
CLASS_LEARNERS_PATH = "/__admin/classroom/learners"
CLASS_CHAOS_PATH = "/__admin/classroom/chaos"  # the dashboard page asks for both on every poll
CLASS_TOKEN = "bench-instructor-token"

# The worst case for memory, sized by the server's default limits: every key the client table
# holds, each with a full journal of the largest heads and bodies the journal keeps.
DEFAULTS = Config()
WORST_HEAD_BYTES = DEFAULTS.max_header_bytes - 256  # near the limit, with room for how a head is counted
WORST_FLAKY_KEYS = 100
WORST_FLAKY_NAMES = 1000  # per key: the counters one client key could hold before issue 7
WORST_KEY_CONNECTIONS, WORST_KEYS_PER_CONNECTION = 8, 5_000
WORST_CREATES_PER_KEY = 20  # idempotent creates on each of max_clients keys: 20,000 records and stored answers
WORST_CONNECTIONS = 16
WORST_ABORT_MIB = 8192  # stop the load there: an unbounded server must not take the machine down


@dataclass
class Target:
    name: str
    command: list[str]
    health_path: str
    port: int = 0
    tls_port: int | None = None  # set for a target that serves HTTPS ("{tls_port}" in its command)
    process: subprocess.Popen[bytes] | None = None
    results: dict[str, str] = field(default_factory=dict)

    @property
    def address(self) -> tuple[str, int]:
        return "127.0.0.1", self.port


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def find_targets(args: argparse.Namespace) -> list[Target]:
    targets = [Target("mock_server", [sys.executable, "-m", "mock_server", "--port", "{port}", "--tls-port", "{tls_port}"],
                      "/__admin/health", tls_port=0)]
    if args.no_peers:
        return targets
    httpbin_python = args.httpbin_python or (
        sys.executable if importlib.util.find_spec("httpbin") and importlib.util.find_spec("gunicorn") else None
    )
    if httpbin_python:
        targets.append(Target("httpbin (gunicorn -w 2)",
                              [httpbin_python, "-m", "gunicorn", "-w", "2", "-b", "127.0.0.1:{port}", "httpbin:app"], "/get"))
    go_httpbin = args.go_httpbin or shutil.which("go-httpbin")
    if go_httpbin:
        targets.append(Target("go-httpbin", [go_httpbin, "-host", "127.0.0.1", "-port", "{port}"], "/get"))
    return targets


def start(target: Target) -> float:
    """Start the target; return the seconds from launch until it answered its health path."""
    target.port = free_port()
    if target.tls_port is not None:
        target.tls_port = free_port()
    command = [part.replace("{port}", str(target.port)).replace("{tls_port}", str(target.tls_port))
               for part in target.command]
    started = time.perf_counter()
    target.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                      start_new_session=True)
    while time.perf_counter() - started < 30:
        if target.process.poll() is not None:
            raise RuntimeError(f"{target.name} exited with code {target.process.returncode}: {' '.join(command)}")
        try:
            if _request_status(target.address, "GET", target.health_path) == 200:
                return time.perf_counter() - started
        except OSError:
            pass
        time.sleep(0.005)
    raise RuntimeError(f"{target.name} did not become healthy within 30 s")


def stop(target: Target) -> None:
    if target.process is not None:
        os.killpg(target.process.pid, 15)
        target.process.wait(10)


def _request_status(address: tuple[str, int], method: str, path: str) -> int:
    with socket.create_connection(address, timeout=1) as sock:
        sock.sendall(f"{method} {path} HTTP/1.1\r\nHost: {address[0]}\r\nConnection: close\r\n\r\n".encode())
        return int(sock.recv(64).split(b" ", 2)[1])


def memory_mib(pid: int, figure: str) -> float | None:
    """A /proc memory figure (VmHWM: peak resident, VmRSS: resident now) of a process and its children, in MiB."""
    total = 0
    for process in [pid, *_children(pid)]:
        try:
            status = Path(f"/proc/{process}/status").read_text()
        except OSError:
            return None
        match = re.search(figure + r":\s+(\d+) kB", status)
        total += int(match.group(1)) if match else 0
    return total / 1024


def _children(pid: int) -> list[int]:
    try:
        return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def cpu_seconds(pid: int) -> float | None:
    """CPU time (user and system, all threads) a process and its children have used so far (Linux)."""
    total = 0
    for process in [pid, *_children(pid)]:
        try:
            fields = Path(f"/proc/{process}/stat").read_text().rpartition(")")[2].split()
        except OSError:
            return None
        total += int(fields[11]) + int(fields[12])  # utime and stime, fields 14 and 15 of stat(5)
    return total / os.sysconf("SC_CLK_TCK")


def throughput_with_wrk(target: Target, seconds: float, *, https: bool = False) -> tuple[float, int]:
    """Requests per second and requests answered (wrk does not check certificates)."""
    url = f"https://127.0.0.1:{target.tls_port}/get" if https else f"http://127.0.0.1:{target.port}/get"
    output = subprocess.run(
        ["wrk", "-t2", f"-c{THROUGHPUT_CONNECTIONS}", f"-d{seconds:g}s", url],
        capture_output=True, text=True, check=True,
    ).stdout
    requests = int(re.search(r"(\d+) requests in", output).group(1))  # type: ignore[union-attr]
    return float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)), requests  # type: ignore[union-attr]


async def throughput_with_asyncio(target: Target, seconds: float, *, https: bool = False) -> tuple[float, int]:
    """Keep-alive GET /get from many connections for `seconds`; reconnect when the server closes.

    Returns requests per second and requests answered."""
    port = target.tls_port if https else target.port
    request = f"GET /get HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode()
    deadline = time.perf_counter() + seconds
    done = 0
    unverified = ssl._create_unverified_context() if https else None  # the load, not the trust, is measured

    async def connect() -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        return await asyncio.open_connection("127.0.0.1", port, ssl=unverified)

    async def worker() -> None:
        nonlocal done
        reader, writer = await connect()
        while time.perf_counter() < deadline:
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = int(re.search(rb"(?i)content-length: (\d+)", head).group(1))  # type: ignore[union-attr]
            await reader.readexactly(length)
            done += 1
            if re.search(rb"(?i)connection: close", head):
                writer.close()
                reader, writer = await connect()
        writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(THROUGHPUT_CONNECTIONS)))
    return done / (time.perf_counter() - started), done


def throughput_with_h2load(url: str, seconds: float) -> float:
    """HTTP/2 requests per second: h2load, H2_CONNECTIONS connections of H2_STREAMS streams each
    (prior knowledge for an http:// URL)."""
    output = subprocess.run(
        ["h2load", f"-c{H2_CONNECTIONS}", f"-m{H2_STREAMS}", f"-D{seconds:g}", url],
        capture_output=True, text=True, check=True,
    ).stdout
    failed = int(re.search(r"(\d+) failed", output).group(1))  # type: ignore[union-attr]
    if failed:
        raise RuntimeError(f"h2load: {failed} requests failed to {url}")
    return float(re.search(r"([\d.]+) req/s", output).group(1))  # type: ignore[union-attr]


def measure_https(target: Target, seconds: float, use_wrk: bool) -> None:
    """/get over the HTTPS port (HTTP/1.1 and HTTP/2), and as h2c on the HTTP port."""
    results = target.results
    rate, _ = (throughput_with_wrk(target, seconds, https=True) if use_wrk
               else asyncio.run(throughput_with_asyncio(target, seconds, https=True)))
    results["HTTPS /get HTTP/1.1 (req/s)"] = f"{rate:,.0f}"
    if shutil.which("h2load") is None:
        results["HTTPS /get HTTP/2 (req/s)"] = "needs h2load"
        return
    results["HTTPS /get HTTP/2 (req/s)"] = f"{throughput_with_h2load(f'https://127.0.0.1:{target.tls_port}/get', seconds):,.0f}"
    results["/get h2c, HTTP port (req/s)"] = f"{throughput_with_h2load(f'http://127.0.0.1:{target.port}/get', seconds):,.0f}"


class _OneRequest(asyncio.Protocol):
    """Sends one request on a fresh connection and times it until the whole response is in."""

    def __init__(self, request: bytes, finished: asyncio.Future[float | None], started: float | None = None) -> None:
        self.request, self.finished = request, finished
        self.buffer = b""
        self.started = started or 0.0  # given: timed from then (before connecting), else from the connection

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        self.started = self.started or time.perf_counter()
        transport.write(self.request)  # type: ignore[attr-defined]

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        head, separator, body = self.buffer.partition(b"\r\n\r\n")
        match = re.search(rb"(?i)content-length: (\d+)", head)
        if separator and match and len(body) >= int(match.group(1)) and not self.finished.done():
            ok = head.startswith(b"HTTP/1.1 200")
            self.finished.set_result(time.perf_counter() - self.started if ok else None)
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.finished.done():
            self.finished.set_result(None)


async def burst(target: Target, count: int, delay: float) -> tuple[list[float], int]:
    """`count` concurrent GET /delay/{delay}, each on its own connection; (latencies, failures)."""
    loop = asyncio.get_running_loop()
    request = f"GET /delay/{delay:g} HTTP/1.1\r\nHost: 127.0.0.1:{target.port}\r\nConnection: close\r\n\r\n".encode()

    async def one() -> float | None:
        finished: asyncio.Future[float | None] = loop.create_future()
        try:
            await loop.create_connection(lambda: _OneRequest(request, finished), *target.address)
            return await finished
        except OSError:
            return None

    tasks = [asyncio.ensure_future(one()) for _ in range(count)]
    done, pending = await asyncio.wait(tasks, timeout=BURST_TIME_LIMIT)
    for task in pending:
        task.cancel()
    latencies = sorted(task.result() for task in done if task.result() is not None)
    return latencies, count - len(latencies)


def _http(address: tuple[str, int], method: str, path: str, body: Any = None,
          headers: dict[str, str] | None = None) -> tuple[int, Any]:
    """One request on a fresh connection: its status and its JSON answer (None when it is not JSON)."""
    connection = http.client.HTTPConnection(*address, timeout=30)
    try:
        data = None if body is None else json.dumps(body).encode()
        connection.request(method, path, data, {**({"Content-Type": "application/json"} if data else {}),
                                                **(headers or {})})
        response = connection.getresponse()
        raw = response.read()
    finally:
        connection.close()
    try:
        return response.status, json.loads(raw)
    except ValueError:
        return response.status, None


def join_class(address: tuple[str, int], learners: int) -> list[str]:
    """Join `learners` learners to the classroom server; their keys. Each reports a few labs'
    results first, so the dashboard has as much to show as in a real class."""
    keys = []
    for number in range(learners):
        status, answer = _http(address, "POST", "/__admin/classroom/join", {"name": f"learner-{number:02d}"})
        if status != 201:
            raise RuntimeError(f"joining learner-{number:02d}: {status} {answer}")
        keys.append(answer["key"])
        for lab in range(1, 12):
            exercises = [{"name": f"Exercise {exercise}", "passed": (number + lab + exercise) % 3 != 0}
                         for exercise in range(1, 5)]
            status, answer = _http(address, "POST", "/__admin/classroom/results",
                                   {"lab": f"{lab:02d}", "exercises": exercises}, {"X-Client-Key": keys[-1]})
            if status != 200:
                raise RuntimeError(f"lab results of learner-{number:02d}: {status} {answer}")
    return keys


def _dashboard_request(address: tuple[str, int], path: str = CLASS_LEARNERS_PATH) -> bytes:
    return (f"GET {path} HTTP/1.1\r\nHost: {address[0]}:{address[1]}\r\n"
            f"Authorization: Bearer {CLASS_TOKEN}\r\n\r\n").encode()


async def _dashboard_answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes) -> int:
    """Send one dashboard request on a keep-alive connection; its status, once the answer is in."""
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    length = re.search(rb"(?i)content-length: (\d+)", head)
    if length is None:
        raise RuntimeError(f"{CLASS_LEARNERS_PATH} answered without a Content-Length: {head!r}")
    await reader.readexactly(int(length.group(1)))
    return int(head.split(b" ", 2)[1])


async def time_dashboard(address: tuple[str, int], calls: int) -> list[float]:
    """Seconds each of `calls` GET /__admin/classroom/learners took, one after another."""
    reader, writer = await asyncio.open_connection(*address)
    request, took = _dashboard_request(address), []
    try:
        for _ in range(calls):
            started = time.perf_counter()
            status = await _dashboard_answer(reader, writer, request)
            took.append(time.perf_counter() - started)
            if status != 200:
                raise RuntimeError(f"{CLASS_LEARNERS_PATH} answered {status}")
    finally:
        writer.close()
    return took


async def class_burst(address: tuple[str, int], keys: list[str], fan_out: int, delay: float,
                      poll: float | None = None) -> tuple[list[float], int, list[float]]:
    """Every learner's `fan_out` concurrent GET /delay/{delay} at once, each on its own connection
    and timed from before it connects; with `poll`, the dashboard asks for the learners every
    `poll` seconds meanwhile (and for the class's chaos, as the page does). Returns (latencies,
    failures, the seconds each of the dashboard's polls took)."""
    loop = asyncio.get_running_loop()
    requests = [f"GET /delay/{delay:g} HTTP/1.1\r\nHost: {address[0]}:{address[1]}\r\nX-Client-Key: {key}\r\n"
                f"Connection: close\r\n\r\n".encode() for key in keys for _ in range(fan_out)]

    async def one(request: bytes) -> float | None:
        finished: asyncio.Future[float | None] = loop.create_future()
        started = time.perf_counter()
        try:
            await loop.create_connection(lambda: _OneRequest(request, finished, started), *address)
            return await finished
        except OSError:
            return None

    polled: list[float] = []

    async def dashboard() -> None:
        assert poll is not None
        reader, writer = await asyncio.open_connection(*address)
        requests = [_dashboard_request(address), _dashboard_request(address, CLASS_CHAOS_PATH)]
        try:
            while True:
                started = time.perf_counter()
                for request in requests:
                    if await _dashboard_answer(reader, writer, request) != 200:
                        raise RuntimeError(f"the dashboard's {request.split()[1].decode()} failed during the burst")
                polled.append(time.perf_counter() - started)
                await asyncio.sleep(max(0.0, poll - (time.perf_counter() - started)))
        finally:
            writer.close()

    poller = asyncio.ensure_future(dashboard()) if poll else None
    tasks = [asyncio.ensure_future(one(request)) for request in requests]
    done, pending = await asyncio.wait(tasks, timeout=BURST_TIME_LIMIT)
    for task in pending:
        task.cancel()
    if poller is not None:
        poller.cancel()
        await asyncio.gather(poller, return_exceptions=True)
        if poller.done() and not poller.cancelled() and poller.exception():
            raise poller.exception()  # type: ignore[misc]
    latencies = sorted(task.result() for task in done if task.result() is not None)
    return latencies, len(requests) - len(latencies), polled


def measure_classroom(results: dict[str, str]) -> None:
    """The classroom burst and the dashboard's cost, on a server of its own started with --classroom."""
    target = Target("mock_server --classroom",
                    [sys.executable, "-m", "mock_server", "--port", "{port}", "--tls-port", "0", "--classroom",
                     "--instructor-token", CLASS_TOKEN], "/__admin/health")
    start(target)
    try:
        assert target.process is not None
        keys = join_class(target.address, CLASS_LEARNERS)
        label = f"classroom: {CLASS_LEARNERS} x {CLASS_FAN_OUT} /delay/{CLASS_DELAY:g}"
        quiet, polled, answers, failed = [], [], [], 0
        for run in range(BURST_RUNS):
            for runs, poll in ((quiet, None), (polled, CLASS_POLL)):
                time.sleep(1.5)  # let the previous burst drain
                latencies, failures, dashboard = asyncio.run(
                    class_burst(target.address, keys, CLASS_FAN_OUT, CLASS_DELAY, poll))
                failed += failures
                runs.append(latencies)
                answers += dashboard
        total = 2 * BURST_RUNS * len(keys) * CLASS_FAN_OUT
        results[f"{label}: succeeded"] = f"{total - failed:,} of {total:,}" + (" (all)" if not failed else "")
        # The median burst by p99, each mode: one burst on a shared machine is noisy.
        by_p99 = lambda latencies: percentile(latencies, 0.99) if latencies else float("inf")  # noqa: E731
        middle = sorted(quiet, key=by_p99)[len(quiet) // 2]
        if middle:
            results[f"{label}: p50 (s)"] = f"{percentile(middle, 0.50):.3f}"
            results[f"{label}: p99 (s)"] = f"{percentile(middle, 0.99):.3f}"
            results[f"{label}: max (s)"] = f"{middle[-1]:.3f}"
        busy = sorted(polled, key=by_p99)[len(polled) // 2]
        if busy:
            results[f"{label}: p99, dashboard polled every {CLASS_POLL:g} s (s)"] = f"{percentile(busy, 0.99):.3f}"
        if answers:
            results[f"classroom: dashboard answer during a burst, max (ms)"] = f"{max(answers) * 1000:.0f}"
        time.sleep(1.5)
        cpu_before = cpu_seconds(target.process.pid)
        took = sorted(asyncio.run(time_dashboard(target.address, CLASS_DASHBOARD_CALLS)))
        cpu_after = cpu_seconds(target.process.pid)
        dashboard = f"classroom: GET {CLASS_LEARNERS_PATH.rsplit('/', 1)[1]}, {len(keys)} learners"
        results[f"{dashboard}, median (ms)"] = f"{statistics.median(took) * 1000:.1f}"
        if cpu_before is not None and cpu_after is not None:
            results[f"{dashboard}, server CPU (ms)"] = f"{(cpu_after - cpu_before) / len(took) * 1000:.1f}"
    finally:
        stop(target)


@dataclass
class Tally:
    """Requests answered so far, and how many of them with a status the workload did not expect."""

    answered: int = 0
    failed: int = 0


async def drive(
    address: tuple[str, int], requests: Iterable[bytes], connections: int, expected: Callable[[int], bool], tally: Tally
) -> None:
    """Send `requests` over keep-alive connections, one at a time on each, counting them in `tally`.

    A request fails when its status is not one that `expected` accepts; a connection the
    server closes is opened again.
    """
    pending = iter(requests)

    async def worker() -> None:
        reader, writer = await asyncio.open_connection(*address)
        try:
            for request in pending:
                writer.write(request)
                head = await reader.readuntil(b"\r\n\r\n")
                length = re.search(rb"(?i)content-length: (\d+)", head)
                if length:
                    await reader.readexactly(int(length.group(1)))
                tally.answered += 1
                tally.failed += not expected(int(head.split(b" ", 2)[1]))
                if re.search(rb"(?i)connection: close", head):
                    writer.close()
                    reader, writer = await asyncio.open_connection(*address)
        finally:
            writer.close()

    await asyncio.gather(*(worker() for _ in range(connections)))


def _large_head(method: str, path: str, target: Target, key: str, headers: str = "", *, pad_query: bool = False) -> bytes:
    """A request head of exactly WORST_HEAD_BYTES, filled up in a `pad` query parameter (pad_query)
    or else in an X-Pad header."""
    rest = f" HTTP/1.1\r\nHost: 127.0.0.1:{target.port}\r\nX-Client-Key: {key}\r\n{headers}"
    if pad_query:
        start = f"{method} {path}&pad="
        return (start + "q" * (WORST_HEAD_BYTES - len(start) - len(rest) - 2) + rest + "\r\n").encode()
    start, rest = f"{method} {path}", rest + "X-Pad: "
    return (start + rest + "p" * (WORST_HEAD_BYTES - len(start) - len(rest) - 4) + "\r\n\r\n").encode()


def _journal_requests(target: Target) -> Iterator[bytes]:
    """journal_size requests for each of max_clients keys, round robin, each head near the limit
    and with as much body as the journal keeps."""
    body = b"b" * DEFAULTS.journal_body_bytes
    requests = [
        _large_head("POST", "/status/204", target, f"memory-{key}", f"Content-Length: {len(body)}\r\n") + body
        for key in range(DEFAULTS.max_clients)
    ]
    for _ in range(DEFAULTS.journal_size):
        yield from requests


def _flaky_requests(target: Target) -> Iterator[bytes]:
    """WORST_FLAKY_NAMES different /flaky URLs, each as long as a head allows, on each of WORST_FLAKY_KEYS keys."""
    for name in range(WORST_FLAKY_NAMES):
        for key in range(WORST_FLAKY_KEYS):
            yield _large_head("GET", f"/flaky?fail=0&name={name}", target, f"memory-{key}", pad_query=True)


def _create_requests(target: Target) -> Iterator[bytes]:
    """WORST_CREATES_PER_KEY idempotent POST /repos on each of max_clients keys, round robin: each
    record with its text fields at their longest (in 4-byte characters, which Python stores widest),
    each Idempotency-Key remembering a request line as long as a head allows."""
    for number in range(WORST_CREATES_PER_KEY):
        for key in range(DEFAULTS.max_clients):
            body = json.dumps({
                "name": f"repo-{number}-".ljust(100, "r"), "owner": "memory-owner",
                "description": "\U0001f4be" * 300, "language": "\U0001f40d" * 40,
            }).encode()
            headers = f"Content-Type: application/json\r\nIdempotency-Key: create-{number}\r\nContent-Length: {len(body)}\r\n"
            yield _large_head("POST", "/repos?memory=1", target, f"memory-{key}", headers, pad_query=True) + body


def _many_keys_requests(target: Target, connection: int) -> Iterator[bytes]:
    """WORST_KEYS_PER_CONNECTION different client keys of the longest allowed length, for one connection."""
    for number in range(WORST_KEYS_PER_CONNECTION):
        key = f"connection-{connection}-key-{number}-".ljust(64, "k")  # 64: the longest key allowed
        yield f"GET /status/204 HTTP/1.1\r\nHost: 127.0.0.1:{target.port}\r\nX-Client-Key: {key}\r\n\r\n".encode()


async def _until_too_big(pid: int, work: Coroutine[Any, Any, object]) -> bool:
    """Run `work`; cancel it and return False once the process's resident memory passes WORST_ABORT_MIB."""
    task = asyncio.ensure_future(work)
    while not task.done():
        await asyncio.wait([task], timeout=0.25)
        if (memory_mib(pid, "VmRSS") or 0) > WORST_ABORT_MIB:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            return False
    task.result()
    return True


async def worst_case_for_memory(target: Target) -> None:
    """Drive the mock server's worst case for memory at its default limits; add its figures to the results."""
    assert target.process is not None
    pid, results, tally = target.process.pid, target.results, Tally()
    address = target.address
    many_keys = WORST_KEY_CONNECTIONS * WORST_KEYS_PER_CONNECTION
    parts: list[tuple[str, Callable[[], Coroutine[Any, Any, object]]]] = [
        (f"{DEFAULTS.max_clients:,} journals full",
         lambda: drive(address, _journal_requests(target), WORST_CONNECTIONS, lambda status: status == 204, tally)),
        # A server may refuse a counter name over its bound (a 4xx); that keeps memory bounded too.
        (f"+ {WORST_FLAKY_KEYS * WORST_FLAKY_NAMES:,} /flaky names",
         lambda: drive(address, _flaky_requests(target), WORST_CONNECTIONS, lambda status: status < 500, tally)),
        # Past --state-bytes a create may be refused (409, 503) rather than stored.
        (f"+ {DEFAULTS.max_clients * WORST_CREATES_PER_KEY:,} records and Idempotency-Keys",
         lambda: drive(address, _create_requests(target), WORST_CONNECTIONS, lambda status: status in (201, 409, 503),
                       tally)),
        (f"+ {many_keys:,} keys on {WORST_KEY_CONNECTIONS} connections",
         lambda: asyncio.gather(*(drive(address, _many_keys_requests(target, connection), 1,
                                        lambda status: status == 204, tally)
                                  for connection in range(WORST_KEY_CONNECTIONS)))),
    ]
    started = time.perf_counter()
    resident: list[float] = []
    for label, work in parts:
        if not await _until_too_big(pid, work()):
            results[f"worst case: RSS, {label} (MiB)"] = f"> {WORST_ABORT_MIB} (stopped)"
            results["worst case: peak RSS (MiB)"] = f"> {WORST_ABORT_MIB}"
            break
        resident.append(memory_mib(pid, "VmRSS") or 0)
        results[f"worst case: RSS, {label} (MiB)"] = _mib(resident[-1])
    else:
        # The kernel updates VmHWM lazily, so it can trail the VmRSS just read.
        results["worst case: peak RSS (MiB)"] = _mib(max(memory_mib(pid, "VmHWM") or 0, *resident))
    results["worst case: time (s)"] = f"{time.perf_counter() - started:.0f}"
    results["worst case: requests (failed)"] = f"{tally.answered:,} ({tally.failed:,})"
    status = await asyncio.to_thread(_request_status, address, "POST", "/__admin/reset?all=true")
    results["worst case: RSS after reset (MiB)"] = _mib(memory_mib(pid, "VmRSS")) if status == 200 else f"reset: {status}"


def _mib(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0f}"


def percentile(values: list[float], fraction: float) -> float:
    return values[min(len(values) - 1, int(fraction * len(values)))]


def measure(target: Target, seconds: float, use_wrk: bool, worst_case: bool, classroom: bool = False) -> None:
    results = target.results
    results["startup to healthy (s)"] = f"{start(target):.2f}"
    try:
        assert target.process is not None
        cpu_before = cpu_seconds(target.process.pid)
        rate, requests = (throughput_with_wrk(target, seconds) if use_wrk
                          else asyncio.run(throughput_with_asyncio(target, seconds)))
        cpu_after = cpu_seconds(target.process.pid)
        results["/get throughput (req/s)"] = f"{rate:,.0f}"
        # What the server spent on each request: on a busy machine it moves much less than throughput.
        if cpu_before is not None and cpu_after is not None and requests:
            results["/get server CPU per request (us)"] = f"{(cpu_after - cpu_before) / requests * 1e6:.0f}"
        if target.tls_port is not None:
            measure_https(target, seconds, use_wrk)
        runs = []
        for _ in range(BURST_RUNS):
            time.sleep(1.5)  # let the previous load drain
            runs.append(asyncio.run(burst(target, BURST, BURST_DELAY)))
            if runs[-1][1]:
                break  # a server that fails a burst will not pass the next one
        latencies, failed = sorted(runs, key=lambda run: (run[1], statistics.mean(run[0]) if run[0] else 0))[len(runs) // 2]
        if latencies and not failed:
            results[f"{BURST} x /delay/1 mean (s)"] = f"{statistics.mean(latencies):.3f}"
            results[f"{BURST} x /delay/1 p99 (s)"] = f"{percentile(latencies, 0.99):.3f}"
            results[f"{BURST} x /delay/1 max (s)"] = f"{latencies[-1]:.3f}"
        else:
            results[f"{BURST} x /delay/1 mean (s)"] = f"{len(latencies)} of {BURST} done in {BURST_TIME_LIMIT:g} s"
        time.sleep(1.5)
        latencies, failed = asyncio.run(burst(target, ACCURACY_REQUESTS, ACCURACY_DELAY))
        if latencies and not failed:
            errors = [(latency - ACCURACY_DELAY) * 1000 for latency in latencies]
            results[f"{ACCURACY_REQUESTS} x /delay/0.2 error, mean (ms)"] = f"{statistics.mean(errors):.1f}"
            results[f"{ACCURACY_REQUESTS} x /delay/0.2 error, max (ms)"] = f"{max(errors):.1f}"
        memory = memory_mib(target.process.pid, "VmHWM")
        results["peak memory (MiB)"] = "n/a" if memory is None else f"{memory:.0f}"
        if classroom:
            print(f"measuring {target.name} as a classroom server: {CLASS_LEARNERS} learners x {CLASS_FAN_OUT} "
                  f"/delay/{CLASS_DELAY:g}, {2 * BURST_RUNS} bursts ...", flush=True)
            measure_classroom(results)
        if worst_case:
            print(f"measuring {target.name}'s worst case for memory (a minute or more) ...", flush=True)
            asyncio.run(worst_case_for_memory(target))
    finally:
        stop(target)


def report(targets: list[Target], generator: str) -> None:
    names = list(targets[0].results)
    width = max(map(len, names)) + 2
    columns = [target.name for target in targets]
    print(f"\nmock server benchmark: {os.cpu_count()} CPUs, /get load from {generator}\n")
    print("".ljust(width) + "".join(column.rjust(26) for column in columns))
    for name in names:
        print(name.ljust(width) + "".join(target.results.get(name, "-").rjust(26) for target in targets))
    ours = targets[0].results
    for peer in targets[1:]:
        print()
        for name, figure in RATIOS:
            try:
                ratio = _number(ours[name]) / _number(peer.results[name])
            except (KeyError, ValueError, ZeroDivisionError):
                continue
            print(f"{figure}: {targets[0].name} is {ratio:.2f}x {peer.name}")


RATIOS = [
    ("/get throughput (req/s)", "/get throughput"),
    ("/get server CPU per request (us)", "/get server CPU per request"),
    (f"{BURST} x /delay/1 p99 (s)", f"{BURST} x /delay/1 p99"),
]


def _number(text: str) -> float:
    return float(text.replace(",", ""))


def main(argv: Sequence[str] | None = None) -> int:
    cli = argparse.ArgumentParser(prog="python -m mock_server.bench", description=__doc__,
                                  formatter_class=argparse.RawDescriptionHelpFormatter)
    cli.add_argument("--seconds", type=float, default=5.0, help="length of the throughput run")
    cli.add_argument("--httpbin-python", help="a Python with httpbin and gunicorn installed (measured as a peer)")
    cli.add_argument("--go-httpbin", help="path to a go-httpbin binary (measured as a peer)")
    cli.add_argument("--no-peers", action="store_true", help="measure the mock server only")
    cli.add_argument("--no-memory", action="store_true", help="skip the mock server's worst case for memory")
    cli.add_argument("--no-classroom", action="store_true",
                     help=f"skip the classroom burst ({CLASS_LEARNERS} learners x {CLASS_FAN_OUT} /delay/1 at once)")
    args = cli.parse_args(argv)
    raise_open_file_limit()
    use_wrk = shutil.which("wrk") is not None
    targets = find_targets(args)
    for target in targets:
        print(f"measuring {target.name} ...", flush=True)
        ours = target is targets[0]
        measure(target, args.seconds, use_wrk, worst_case=ours and not args.no_memory,
                classroom=ours and not args.no_classroom)
    generator = "wrk (-t2 -c64)" if use_wrk else f"an asyncio load generator ({THROUGHPUT_CONNECTIONS} connections)"
    if shutil.which("h2load"):
        generator += f"; HTTP/2 from h2load (-c{H2_CONNECTIONS} -m{H2_STREAMS})"
    report(targets, generator)
    return 0


if __name__ == "__main__":
    sys.exit(main())
