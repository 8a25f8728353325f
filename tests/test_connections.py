"""Connection hygiene: a connection that sends nothing, or stops halfway through a request head,
is closed after its timeout, so idle sockets cannot lock other clients out; a slow body or a
slow answer is not cut; a long keep-alive connection's map of client keys stays bounded."""

from __future__ import annotations

import json
import os
import resource
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

import httpx
import pytest

from mock_server.config import Config
from mock_server.contract import READY_PREFIX
from mock_server.server import BackgroundServer
from mock_server.state import MAX_CLIENTS_PER_CONNECTION
from waiting import wait_until

TIMEOUT = 0.5  # the small --head-timeout and --idle-timeout of these servers, in seconds
SMALL = Config(port=0, head_timeout=TIMEOUT, idle_timeout=TIMEOUT)


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    with BackgroundServer(SMALL) as url:
        yield url


def connect(url: str) -> socket.socket:
    host, port = url.removeprefix("http://").rsplit(":", 1)
    sock = socket.create_connection((host, int(port)), timeout=30)
    return sock


def read_all(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection."""
    received = b""
    while data := sock.recv(65536):
        received += data
    return received


def server_stats(url: str) -> dict[str, int]:
    return httpx.get(f"{url}/__admin/stats/server", timeout=10).json()


@pytest.mark.parametrize("sent", [b"", b"\r\n\r\n"], ids=["nothing", "only empty lines"])
def test_a_connection_that_sends_no_request_is_closed_after_the_idle_timeout(url: str, sent: bytes) -> None:
    before = server_stats(url)["idle_timeouts"]
    with connect(url) as sock:
        sock.sendall(sent)
        started = time.monotonic()
        assert read_all(sock) == b"", "closed without an answer: there was no request to answer"
        assert time.monotonic() - started >= TIMEOUT * 0.9
    assert server_stats(url)["idle_timeouts"] == before + 1


@pytest.mark.parametrize(
    "sent",
    [b"GET /get HTTP/1.1\r\nHost: x\r\n", b"GET /get HTT", b"POST /post HTTP/1.1\r\nContent-Length: 5\r\nX-Long"],
    ids=["headers without their end", "half a request line", "half a header"],
)
def test_a_request_head_that_does_not_finish_gets_408_and_close(url: str, sent: bytes) -> None:
    before = server_stats(url)["head_timeouts"]
    with connect(url) as sock:
        sock.sendall(sent)
        started = time.monotonic()
        answer = read_all(sock)
        assert time.monotonic() - started >= TIMEOUT * 0.9
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408 ")
    assert b"connection: close" in head
    error = json.loads(body)
    assert error["error"] == "request_timeout" and "--head-timeout" in error["message"]
    assert server_stats(url)["head_timeouts"] == before + 1


def test_a_head_sent_a_byte_at_a_time_is_timed_from_its_first_byte(url: str) -> None:
    request = b"GET /get HTTP/1.1\r\nHost: x\r\nX-Padding: " + b"p" * 200 + b"\r\n\r\n"
    with connect(url) as sock:
        sock.settimeout(TIMEOUT / 5)
        answer = b""
        for byte in request:  # one byte per TIMEOUT / 5: the whole head would take 40 timeouts
            try:
                sock.sendall(bytes([byte]))
                answer += sock.recv(65536)
            except TimeoutError:
                continue
            except (BrokenPipeError, ConnectionResetError):
                break
            if answer:
                break
        sock.settimeout(30)
        answer += read_all(sock)
    assert answer.startswith(b"HTTP/1.1 408 "), "refused long before the head was complete"


def slow_body(parts: int, pause: float) -> Iterator[bytes]:
    for n in range(parts):
        if n:
            time.sleep(pause)
        yield b"part%d;" % n


@pytest.mark.parametrize(
    "send",
    [
        pytest.param(lambda client: client.post("/post", content=slow_body(4, TIMEOUT)), id="slow body upload"),
        pytest.param(lambda client: client.get(f"/delay/{TIMEOUT * 4}"), id="slow answer (/delay)"),
        pytest.param(lambda client: client.get("/drip", params={"numbytes": 4, "duration": TIMEOUT * 4}), id="slow answer (/drip)"),
    ],
)
def test_slow_bodies_and_slow_answers_are_not_cut_by_the_head_timeout(url: str, key: str, send) -> None:  # type: ignore[no-untyped-def]
    with httpx.Client(base_url=url, headers={"X-Client-Key": key}, timeout=30) as client:
        started = time.monotonic()
        response = send(client)
        assert time.monotonic() - started > TIMEOUT * 2, "the request took longer than the head timeout"
        assert response.status_code == 200
        again = client.get("/get")  # and the connection is still good for another request
        assert again.status_code == 200
        assert client.get("/__admin/stats").json()["connections_opened"] == 1


def test_a_pipelined_head_that_stalls_ends_the_connection_after_the_current_answer(url: str) -> None:
    with connect(url) as sock:
        sock.sendall(b"GET /delay/%g HTTP/1.1\r\nHost: x\r\n\r\nGET /get HTTP/1.1\r\nHo" % (TIMEOUT * 4))
        answer = read_all(sock)
    assert answer.startswith(b"HTTP/1.1 200 "), "the answer in progress is delivered whole"
    assert answer.count(b"HTTP/1.1 ") == 1, "no 408 in the middle of it; the connection just ends"
    assert b"connection: close" in answer.partition(b"\r\n\r\n")[0]


@contextmanager
def server_with_few_files(files: int, idle_timeout: float) -> Iterator[str]:
    """A server in a child process that may open only `files` file descriptors."""

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (files, files))

    process = subprocess.Popen(
        [sys.executable, "-m", "mock_server", "--port", "0", "--idle-timeout", str(idle_timeout)],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, preexec_fn=limit,
        cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith(READY_PREFIX), line
        yield line[len(READY_PREFIX):].split()[0]
    finally:
        process.terminate()
        process.wait(10)


@pytest.mark.skipif(sys.platform == "win32", reason="no file descriptor limit to exhaust")
def test_idle_sockets_beyond_the_file_limit_do_not_lock_a_new_client_out() -> None:
    files = 64
    with server_with_few_files(files, idle_timeout=1.0) as url, ExitStack() as idle:
        for _ in range(files * 2):  # more than the server can hold
            idle.enter_context(connect(url))
        # While they hold every file descriptor, a new client is turned away (uvloop resets its
        # connection); without the idle timeout that would last as long as they stay open.
        wait_until(lambda: served(url), "a new client was served", timeout=30)
        assert server_stats(url)["idle_timeouts"] >= files // 2, "the idle sockets had filled the server"


def served(url: str) -> bool:
    try:
        return httpx.get(f"{url}/get", timeout=5).status_code == 200
    except httpx.TransportError:
        return False


@pytest.mark.parametrize(
    ("keys", "rounds", "max_clients"),
    [(MAX_CLIENTS_PER_CONNECTION * 2, 1, 1000), (MAX_CLIENTS_PER_CONNECTION + 50, 2, 50)],
    ids=["more keys than a connection remembers", "keys that come back after the server forgot them"],
)
def test_one_connection_cycling_through_many_client_keys(keys: int, rounds: int, max_clients: int) -> None:
    names = [f"cycle-{n}" for n in range(keys)]
    with BackgroundServer(Config(port=0, max_clients=max_clients)) as url, httpx.Client(base_url=url, timeout=10) as client:
        for _ in range(rounds):
            for name in names:
                assert client.get("/get", headers={"X-Client-Key": name}).status_code == 200
        with httpx.Client(base_url=url, timeout=10) as admin:

            def open_counts() -> list[int]:
                return [admin.get("/__admin/stats", headers={"X-Client-Key": name}).json()["connections_open"] for name in names]

            counts = open_counts()
            assert min(counts) >= 0
            assert sum(counts) <= MAX_CLIENTS_PER_CONNECTION, "the connection remembers a bounded number of keys"
            assert counts[-1] == 1, "the newest key still counts the connection as open"
            if rounds == 1:
                assert counts[:keys - MAX_CLIENTS_PER_CONNECTION] == [0] * (keys - MAX_CLIENTS_PER_CONNECTION)
            client.close()
            wait_until(lambda: open_counts() == [0] * keys, "every key saw its connection close")
