"""The HTTPS + HTTP/2 listener and h2c, over real TCP: protocols, trust, shared state, bad handshakes."""

from __future__ import annotations

import asyncio
import json
import socket
import ssl
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
import requests

from course import server as course_server
from mock_server.config import Config
from mock_server.contract import READY_PREFIX
from mock_server.server import BackgroundServer
from waiting import wait_until


@pytest.fixture(scope="module")
def tls(base_url: str) -> dict[str, str]:
    """The session server's HTTPS URL and CA file."""
    return httpx.get(f"{base_url}/__admin/health", timeout=10).json()["tls"]


@pytest.fixture(scope="module")
def trusting(tls: dict[str, str]) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=tls["ca"])


def seen(base_url: str, key: str) -> list[tuple[str, str, int]]:
    """(scheme, http_version, connection) of each request the server journaled for `key`."""
    entries = httpx.get(f"{base_url}/__admin/requests", headers={"X-Client-Key": key}, timeout=10).json()["requests"]
    return [(entry["scheme"], entry["http_version"], entry["connection"]) for entry in entries]


def key_stats(base_url: str, key: str) -> dict:
    return httpx.get(f"{base_url}/__admin/stats", headers={"X-Client-Key": key}, timeout=10).json()


def server_stats(base_url: str) -> dict:
    return httpx.get(f"{base_url}/__admin/stats/server", timeout=10).json()


async def fan_out(client: httpx.AsyncClient, path: str, n: int) -> list[httpx.Response]:
    return await asyncio.gather(*(client.get(path) for _ in range(n)))


def test_http2_over_tls_serves_concurrent_requests_on_one_connection(
    base_url: str, tls: dict[str, str], trusting: ssl.SSLContext, key: str
) -> None:
    async def run() -> list[httpx.Response]:
        async with httpx.AsyncClient(http2=True, verify=trusting, base_url=tls["url"], headers={"X-Client-Key": key},
                                     timeout=10) as client:
            return await fan_out(client, "/delay/0.2", 20)

    responses = asyncio.run(run())
    assert {(r.status_code, r.http_version) for r in responses} == {(200, "HTTP/2")}
    assert seen(base_url, key) == [("https", "2", 1)] * 20
    stats = key_stats(base_url, key)
    assert stats["connections_by_protocol"] == {"h2": 1}
    assert stats["max_in_flight"] == 20, "the 20 streams were served at the same time"


def test_http1_over_tls_with_requests_trusting_the_ca(base_url: str, tls: dict[str, str], key: str) -> None:
    with requests.Session() as session:
        for _ in range(3):
            response = session.get(f"{tls['url']}/get", headers={"X-Client-Key": key}, verify=tls["ca"], timeout=10)
            assert response.status_code == 200 and response.raw.version == 11
            assert response.json()["url"] == f"{tls['url']}/get"
    assert seen(base_url, key) == [("https", "1.1", 1)] * 3
    assert key_stats(base_url, key)["connections_by_protocol"] == {"http/1.1": 1}


def test_h2c_with_prior_knowledge_on_the_http_port(base_url: str, key: str) -> None:
    async def run() -> list[httpx.Response]:
        async with httpx.AsyncClient(http1=False, http2=True, base_url=base_url, headers={"X-Client-Key": key},
                                     timeout=10) as client:
            return await fan_out(client, "/get", 5)

    assert {r.http_version for r in asyncio.run(run())} == {"HTTP/2"}
    assert seen(base_url, key) == [("http", "2", 1)] * 5
    assert key_stats(base_url, key)["connections_by_protocol"] == {"h2c": 1}


def test_http2_asked_for_over_plain_http_stays_http1(base_url: str, key: str) -> None:
    with httpx.Client(http2=True, base_url=base_url, headers={"X-Client-Key": key}, timeout=10) as client:
        assert client.get("/get").http_version == "HTTP/1.1"
    assert seen(base_url, key) == [("http", "1.1", 1)]


def test_a_client_that_does_not_trust_the_ca_gets_the_ordinary_verification_error(
    base_url: str, tls: dict[str, str], key: str
) -> None:
    with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        httpx.get(f"{tls['url']}/get", headers={"X-Client-Key": key}, timeout=10)
    with pytest.raises(requests.exceptions.SSLError, match="CERTIFICATE_VERIFY_FAILED"):
        requests.get(f"{tls['url']}/get", headers={"X-Client-Key": key}, timeout=10)
    assert seen(base_url, key) == [], "no request got through"


def test_the_certificate_names_every_loopback_address(tls: dict[str, str], trusting: ssl.SSLContext) -> None:
    port = int(tls["url"].rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw, \
            trusting.wrap_socket(raw, server_hostname="localhost") as sock:
        names = {value for _, value in sock.getpeercert()["subjectAltName"]}
    assert {"127.0.0.1", "localhost"} <= names and any(name.startswith("0:0:0:0:0:0:0:1") or name == "::1" for name in names)


def test_state_is_shared_whichever_port_and_protocol_a_request_uses(
    base_url: str, tls: dict[str, str], trusting: ssl.SSLContext, key: str
) -> None:
    """One /flaky counter: its two failures and its success come over three different connections."""
    headers = {"X-Client-Key": key}
    params = {"fail": 2}
    first = httpx.get(f"{base_url}/flaky", params=params, headers=headers, timeout=10)
    with httpx.Client(http2=True, verify=trusting, headers=headers, timeout=10) as client:
        second = client.get(f"{tls['url']}/flaky", params=params)
    with httpx.Client(http1=False, http2=True, headers=headers, timeout=10) as client:
        third = client.get(f"{base_url}/flaky", params=params)
    assert [first.status_code, second.status_code, third.status_code] == [503, 503, 200]
    assert seen(base_url, key) == [("http", "1.1", 1), ("https", "2", 2), ("http", "2", 3)]
    assert key_stats(base_url, key)["connections_by_protocol"] == {"h2": 1, "h2c": 1, "http/1.1": 1}


# Bad handshakes: each gets a clean refusal, and the server serves the next client as before.
def plain_http(port: int) -> str:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(b"GET /get HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400 "), head
    error = json.loads(body)
    assert error["error"] == "https_port"
    return error["message"]


def wrong_server_name(port: int, ca: str) -> str:
    context = ssl.create_default_context(cafile=ca)
    context.check_hostname = False  # so that only the server can refuse the name
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw, pytest.raises(ssl.SSLError) as refused:
        context.wrap_socket(raw, server_hostname="evil.example")
    return str(refused.value)


def hang_up_mid_handshake(port: int) -> str:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03")  # the start of a ClientHello
    return "hung up"


def garbage_after_a_tls_byte(port: int) -> str:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(b"\x16" + b"not a TLS record" * 20)
        return f"closed, after sending {len(sock.recv(65536))} bytes"


BAD_HANDSHAKES: dict[str, Callable[[int, str], str]] = {
    "plain HTTP to the HTTPS port": lambda port, ca: plain_http(port),
    "a TLS hello naming another host (SNI)": wrong_server_name,
    "a client that hangs up mid-handshake": lambda port, ca: hang_up_mid_handshake(port),
    "garbage after a TLS record byte": lambda port, ca: garbage_after_a_tls_byte(port),
}


@pytest.mark.parametrize("bad", BAD_HANDSHAKES.values(), ids=BAD_HANDSHAKES.keys())
def test_bad_handshakes_are_refused_and_leave_the_server_healthy(
    bad: Callable[[int, str], str], base_url: str, tls: dict[str, str], trusting: ssl.SSLContext, key: str
) -> None:
    port = int(tls["url"].rsplit(":", 1)[1])
    outcome = bad(port, tls["ca"])
    assert outcome
    with httpx.Client(http2=True, verify=trusting, headers={"X-Client-Key": key}, timeout=10) as client:
        assert client.get(f"{tls['url']}/get").http_version == "HTTP/2"
    assert httpx.get(f"{base_url}/__admin/health", timeout=10).json()["status"] == "ok"


def test_plain_http_to_the_https_port_is_told_which_urls_to_use(base_url: str, tls: dict[str, str]) -> None:
    message = plain_http(int(tls["url"].rsplit(":", 1)[1]))
    assert message == f"this port speaks HTTPS (TLS): use {tls['url']}, or {base_url} for plain HTTP"


def test_refusals_are_counted(base_url: str, tls: dict[str, str]) -> None:
    port = int(tls["url"].rsplit(":", 1)[1])
    before = server_stats(base_url)
    plain_http(port)
    wrong_server_name(port, tls["ca"])
    wait_until(lambda: server_stats(base_url)["tls_handshakes_failed"] > before["tls_handshakes_failed"],
               "the server counted the refused handshake")
    assert server_stats(base_url)["tls_plain_http_refused"] > before["tls_plain_http_refused"]


@pytest.fixture(scope="module")
def small_server() -> Iterator[BackgroundServer]:
    """A server with small limits: 2 HTTP/2 streams per connection, and a 0.5 s head timeout."""
    server = BackgroundServer(Config(port=0, h2_max_streams=2, head_timeout=0.5))
    with server:
        yield server


def test_a_tls_connection_that_never_says_hello_is_closed_after_the_head_timeout(small_server: BackgroundServer) -> None:
    assert small_server.tls is not None
    port = int(small_server.tls["url"].rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        assert sock.recv(1) == b"", "the server closed the silent connection"


def test_the_stream_limit_caps_requests_in_flight_on_one_connection(small_server: BackgroundServer, key: str) -> None:
    assert small_server.tls is not None

    async def run() -> list[httpx.Response]:
        async with httpx.AsyncClient(http2=True, verify=ssl.create_default_context(cafile=small_server.tls["ca"]),
                                     base_url=small_server.tls["url"], headers={"X-Client-Key": key}, timeout=10) as client:
            return await fan_out(client, "/delay/0.2", 6)

    assert {r.status_code for r in asyncio.run(run())} == {200}
    stats = key_stats(small_server.url, key)
    assert stats["connections_by_protocol"] == {"h2": 1}
    assert stats["max_in_flight"] == 2, "the client waited for the server's SETTINGS_MAX_CONCURRENT_STREAMS"


def test_tls_port_zero_turns_https_off_and_the_helpers_say_so(monkeypatch: pytest.MonkeyPatch) -> None:
    with BackgroundServer(Config(port=0, tls_port=0)) as url:
        assert httpx.get(f"{url}/__admin/health", timeout=10).json()["tls"] is None
        monkeypatch.setenv("MOCK_SERVER_URL", url)
        with pytest.raises(course_server.MockServerError, match=r"runs without HTTPS \(it was started with --tls-port 0\)"):
            course_server.ensure_tls()


def test_the_ca_directory_is_removed_when_the_server_stops() -> None:
    server = BackgroundServer(Config(port=0))
    with server:
        assert server.tls is not None
        ca = Path(server.tls["ca"])
        assert ca.read_text().startswith("-----BEGIN CERTIFICATE-----")
    assert not ca.parent.exists()


def test_course_helpers_find_the_https_port_and_the_ca(tls: dict[str, str]) -> None:
    assert course_server.ensure_tls() == tls["url"]
    assert course_server.ca_path() == Path(tls["ca"])


def test_the_ready_line_names_the_https_port_and_the_ca(tmp_path: Path) -> None:
    process = subprocess.Popen([sys.executable, "-m", "mock_server", "--port", "0"], stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
    finally:
        process.terminate()
        process.wait(10)
    assert line.startswith(READY_PREFIX)
    assert "  HTTPS and HTTP/2 at https://127.0.0.1:" in line and line.rstrip().endswith("/ca.pem")


@pytest.mark.parametrize(("args", "error"), [
    (["--port", "65000"], "--port 65000 + 1000 is past 65535: give --tls-port a port of its own, or 0 to turn HTTPS off"),
    (["--tls-port", "70000"], "--tls-port must be at most 65535, got 70000"),
    (["--tls-port", "-2"], "--tls-port must be at least 0, got -2"),
])
def test_bad_tls_ports_are_refused_with_a_message(args: list[str], error: str) -> None:
    result = subprocess.run([sys.executable, "-m", "mock_server", *args], capture_output=True, text=True, timeout=30)
    assert result.returncode == 2 and error in result.stderr


@pytest.mark.parametrize("http2", [False, True], ids=["HTTP/1.1", "HTTP/2"])
def test_a_head_over_the_limit_gets_the_same_431_on_the_https_port(
    http2: bool, base_url: str, tls: dict[str, str], trusting: ssl.SSLContext, key: str
) -> None:
    big = {"X-Client-Key": key, "X-Padding": "a" * 20_000}
    with httpx.Client(http2=http2, verify=trusting, timeout=10) as client:
        over_tls = client.get(f"{tls['url']}/get", headers=big)
    plain = httpx.get(f"{base_url}/get", headers=big, timeout=10)
    assert over_tls.status_code == plain.status_code == 431
    assert over_tls.http_version == ("HTTP/2" if http2 else "HTTP/1.1")
    assert over_tls.json()["error"] == "header_too_large"
    assert over_tls.json()["message"].split("; ")[1] == plain.json()["message"].split("; ")[1] == \
        "the limit is 16384 (the server's --max-header-bytes)"


def test_an_http2_request_cancelled_by_its_client_ends_at_once_and_its_neighbours_carry_on(
    base_url: str, tls: dict[str, str], trusting: ssl.SSLContext, key: str
) -> None:
    async def run() -> httpx.Response:
        async with httpx.AsyncClient(http2=True, verify=trusting, base_url=tls["url"], headers={"X-Client-Key": key},
                                     timeout=10) as client:
            neighbour = asyncio.create_task(client.get("/delay/1", params={"who": "neighbour"}))
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(client.get("/delay/5", params={"who": "cancelled"}), 0.3)
            return await neighbour

    assert asyncio.run(run()).status_code == 200
    wait_until(lambda: key_stats(base_url, key)["in_flight"] == 0, "the server finished both requests")
    entries = httpx.get(f"{base_url}/__admin/requests", headers={"X-Client-Key": key}, timeout=10).json()["requests"]
    outcome = {entry["query"]: (entry["status"], entry["connection"]) for entry in entries}
    assert outcome == {"who=neighbour": (200, 1), "who=cancelled": (499, 1)}
    [cancelled] = [entry for entry in entries if entry["query"] == "who=cancelled"]
    assert cancelled["duration"] < 2, "the server stopped waiting when the stream was cancelled, not after 5 s"


def test_an_http2_body_over_the_limit_gets_413_and_the_connection_carries_on(
    base_url: str, tls: dict[str, str], trusting: ssl.SSLContext, key: str
) -> None:
    """The 413 comes before the body has all arrived; hypercorn would drop the connection on the body's
    next frame, so the server reads the rest of the body first."""
    limit = Config().max_body  # the session server's
    with httpx.Client(http2=True, verify=trusting, base_url=tls["url"], headers={"X-Client-Key": key}, timeout=30) as client:
        too_big = client.post("/post", content=b"x" * (limit + 1))
        after = client.get("/get")
    assert (too_big.http_version, too_big.status_code, too_big.json()["error"]) == ("HTTP/2", 413, "body_too_large")
    assert after.status_code == 200
    assert key_stats(base_url, key)["connections_by_protocol"] == {"h2": 1}, "both requests went over one connection"
