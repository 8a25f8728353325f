"""`make bench`: measure the mock server, and any peer found, in one run.

Figures: startup to healthy, /get throughput, 1000 concurrent /delay/1 (mean, p99, max; the
median of three bursts),
delay accuracy at 100 x /delay/0.2, and peak memory. Throughput uses wrk when it is
installed, else a keep-alive load generator written with asyncio. Peers are measured the
same way when present: httpbin (`--httpbin-python` names a Python that has httpbin and
gunicorn; by default this one, if it has them) and go-httpbin (`--go-httpbin`, or on PATH).
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .server import raise_open_file_limit

BURST = 1000
BURST_DELAY = 1.0
ACCURACY_REQUESTS, ACCURACY_DELAY = 100, 0.2
BURST_TIME_LIMIT = 20.0  # a server that cannot overlap slow requests would take many minutes
BURST_RUNS = 3  # report the median run: one burst on a shared machine is noisy
THROUGHPUT_CONNECTIONS = 64


@dataclass
class Target:
    name: str
    command: list[str]
    health_path: str
    port: int = 0
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
    targets = [Target("mock_server", [sys.executable, "-m", "mock_server", "--port", "{port}"], "/__admin/health")]
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
    command = [part.replace("{port}", str(target.port)) for part in target.command]
    started = time.perf_counter()
    target.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                      start_new_session=True)
    while time.perf_counter() - started < 30:
        if target.process.poll() is not None:
            raise RuntimeError(f"{target.name} exited with code {target.process.returncode}: {' '.join(command)}")
        try:
            if _get_status(target.address, target.health_path) == 200:
                return time.perf_counter() - started
        except OSError:
            pass
        time.sleep(0.005)
    raise RuntimeError(f"{target.name} did not become healthy within 30 s")


def stop(target: Target) -> None:
    if target.process is not None:
        os.killpg(target.process.pid, 15)
        target.process.wait(10)


def _get_status(address: tuple[str, int], path: str) -> int:
    with socket.create_connection(address, timeout=1) as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: {address[0]}\r\nConnection: close\r\n\r\n".encode())
        return int(sock.recv(64).split(b" ", 2)[1])


def peak_memory_mib(pid: int) -> float | None:
    """Peak resident memory of a process and its children (Linux), in MiB."""
    total = 0
    for process in [pid, *_children(pid)]:
        try:
            status = Path(f"/proc/{process}/status").read_text()
        except OSError:
            return None
        match = re.search(r"VmHWM:\s+(\d+) kB", status)
        total += int(match.group(1)) if match else 0
    return total / 1024


def _children(pid: int) -> list[int]:
    try:
        return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def throughput_with_wrk(target: Target, seconds: float) -> float:
    output = subprocess.run(
        ["wrk", "-t2", f"-c{THROUGHPUT_CONNECTIONS}", f"-d{seconds:g}s", f"http://127.0.0.1:{target.port}/get"],
        capture_output=True, text=True, check=True,
    ).stdout
    return float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]


async def throughput_with_asyncio(target: Target, seconds: float) -> float:
    """Keep-alive GET /get from many connections for `seconds`; reconnect when the server closes."""
    request = f"GET /get HTTP/1.1\r\nHost: 127.0.0.1:{target.port}\r\n\r\n".encode()
    deadline = time.perf_counter() + seconds
    done = 0

    async def worker() -> None:
        nonlocal done
        reader, writer = await asyncio.open_connection(*target.address)
        while time.perf_counter() < deadline:
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = int(re.search(rb"(?i)content-length: (\d+)", head).group(1))  # type: ignore[union-attr]
            await reader.readexactly(length)
            done += 1
            if re.search(rb"(?i)connection: close", head):
                writer.close()
                reader, writer = await asyncio.open_connection(*target.address)
        writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(THROUGHPUT_CONNECTIONS)))
    return done / (time.perf_counter() - started)


class _OneRequest(asyncio.Protocol):
    """Sends one request on a fresh connection and times it until the whole response is in."""

    def __init__(self, request: bytes, finished: asyncio.Future[float | None]) -> None:
        self.request, self.finished = request, finished
        self.buffer = b""
        self.started = 0.0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        self.started = time.perf_counter()
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


def percentile(values: list[float], fraction: float) -> float:
    return values[min(len(values) - 1, int(fraction * len(values)))]


def measure(target: Target, seconds: float, use_wrk: bool) -> None:
    results = target.results
    results["startup to healthy (s)"] = f"{start(target):.2f}"
    try:
        rate = throughput_with_wrk(target, seconds) if use_wrk else asyncio.run(throughput_with_asyncio(target, seconds))
        results["/get throughput (req/s)"] = f"{rate:,.0f}"
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
        memory = peak_memory_mib(target.process.pid) if target.process else None
        results["peak memory (MiB)"] = "n/a" if memory is None else f"{memory:.0f}"
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
        try:
            ratio = _number(ours["/get throughput (req/s)"]) / _number(peer.results["/get throughput (req/s)"])
        except (KeyError, ValueError, ZeroDivisionError):
            continue
        print(f"\n/get throughput: mock_server is {ratio:.1f}x {peer.name}")


def _number(text: str) -> float:
    return float(text.replace(",", ""))


def main(argv: Sequence[str] | None = None) -> int:
    cli = argparse.ArgumentParser(prog="python -m mock_server.bench", description=__doc__,
                                  formatter_class=argparse.RawDescriptionHelpFormatter)
    cli.add_argument("--seconds", type=float, default=5.0, help="length of the throughput run")
    cli.add_argument("--httpbin-python", help="a Python with httpbin and gunicorn installed (measured as a peer)")
    cli.add_argument("--go-httpbin", help="path to a go-httpbin binary (measured as a peer)")
    cli.add_argument("--no-peers", action="store_true", help="measure the mock server only")
    args = cli.parse_args(argv)
    raise_open_file_limit()
    use_wrk = shutil.which("wrk") is not None
    targets = find_targets(args)
    for target in targets:
        print(f"measuring {target.name} ...", flush=True)
        measure(target, args.seconds, use_wrk)
    report(targets, "wrk (-t2 -c64)" if use_wrk else f"an asyncio load generator ({THROUGHPUT_CONNECTIONS} connections)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
