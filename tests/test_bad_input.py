"""Bad input gets a 4xx JSON error that names the problem, never a 500, and the server stays up."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator

import httpx
import pytest
import requests

from mock_server.config import Config
from mock_server.server import BackgroundServer

# (method, path, request options, expected status, expected error code, words the message must contain)
BAD_INPUTS = [
    ("GET", "/status/999", {}, 400, "invalid_parameter", "200 to 599"),
    ("GET", "/status/abc", {}, 400, "invalid_parameter", "integer"),
    ("GET", "/status/100", {}, 400, "invalid_parameter", "informational"),
    ("GET", "/status/199", {}, 400, "invalid_parameter", "informational"),
    ("GET", "/status/-200", {}, 400, "invalid_parameter", "200 to 599"),
    ("GET", "/delay/-1", {}, 400, "invalid_parameter", "--max-duration"),
    ("GET", "/delay/1e9", {}, 400, "invalid_parameter", "--max-duration"),
    ("GET", "/delay/nan", {}, 400, "invalid_parameter", "finite number"),
    ("GET", "/delay/inf", {}, 400, "invalid_parameter", "finite number"),
    ("GET", "/delay/0x10", {}, 400, "invalid_parameter", "finite number"),
    ("GET", "/bytes/-5", {}, 400, "invalid_parameter", "--max-bytes"),
    ("GET", "/bytes/999999999999", {}, 400, "invalid_parameter", "--max-bytes"),
    ("GET", "/download/999999999999", {}, 400, "invalid_parameter", "--max-bytes"),
    ("GET", "/stream/100000000", {}, 400, "invalid_parameter", "--max-stream-lines"),
    ("GET", "/stream/5?interval=5", {}, 400, "invalid_parameter", "--max-duration"),
    ("GET", "/drip?duration=1000000", {}, 400, "invalid_parameter", "--max-duration"),
    ("GET", "/drip?duration=6&delay=6", {}, 400, "invalid_parameter", "delay + duration"),
    ("GET", "/drip?code=100", {}, 400, "invalid_parameter", "code"),
    ("GET", "/redirect/100000", {}, 400, "invalid_parameter", "--max-redirects"),
    ("GET", "/redirect/0", {}, 400, "invalid_parameter", "between 1"),
    ("GET", "/redirect-to?url=http://evil.example/", {}, 400, "invalid_parameter", "loopback"),
    ("GET", "/redirect-to?url=//evil.example/", {}, 400, "invalid_parameter", "loopback"),
    ("GET", "/redirect-to?url=get", {}, 400, "invalid_parameter", "single /"),
    ("GET", "/redirect-to?url=http://evil.example%5C@127.0.0.1/", {}, 400, "invalid_parameter", "backslash"),
    ("GET", "/redirect-to?url=/get%0d%0aSet-Cookie:x=1", {}, 400, "invalid_parameter", "control"),
    ("GET", "/redirect-to?url=/get&status_code=200", {}, 400, "invalid_parameter", "between 300 and 399"),
    ("GET", "/redirect-to", {}, 400, "invalid_parameter", "required"),
    ("GET", "/redirect-to?url=http://[::1/", {}, 400, "invalid_parameter", "not a valid URL"),
    ("GET", "/redirect-to?url=http://localhost:70000/", {}, 400, "invalid_parameter", "not a valid URL"),
    ("GET", "/flaky/sequence?codes=503,²", {}, 400, "invalid_parameter", "from 200 to 599"),
    ("GET", "/redirect-to?url=http://a]@127.0.0.1/", {}, 400, "invalid_parameter", "not a valid URL"),
    ("GET", "/users/abc", {}, 400, "invalid_parameter", "integer"),
    ("GET", "/users?page=-1", {}, 400, "invalid_parameter", "at least 1"),
    ("GET", "/users?limit=1000000", {}, 400, "invalid_parameter", "between 1 and 100"),
    ("GET", "/users?limit=5&limit=6", {}, 400, "invalid_parameter", "more than once"),
    ("GET", "/users/999999", {}, 404, "not_found", "no user"),
    ("POST", "/users", {"content": b"{not json", "headers": {"Content-Type": "application/json"}}, 400,
     "malformed_json", "not valid JSON"),
    ("POST", "/users", {"json": {"username": 42, "name": "X", "email": "x@example.com"}}, 422,
     "validation_failed", "username"),
    ("POST", "/users", {"json": {"username": "abc", "name": "X", "email": "x@example.com", "admin": True}}, 422,
     "validation_failed", "admin"),
    ("POST", "/users", {"json": ["not", "an", "object"]}, 422, "validation_failed", "JSON object"),
    ("POST", "/users", {"data": {"username": "abc"}}, 415, "unsupported_media_type", "json="),
    ("PATCH", "/users/1", {"json": {"email": None}}, 422, "validation_failed", "email"),
    ("POST", "/orders", {"json": {"user_id": 99999, "item": "x", "quantity": 1, "amount_minor": 1, "currency": "EUR"}},
     422, "validation_failed", "user_id"),
    ("GET", "/flaky?fail=-1", {}, 400, "invalid_parameter", "between 0 and 100"),
    ("GET", "/flaky?fail=1&status=200", {}, 400, "invalid_parameter", "between 400 and 599"),
    ("GET", "/flaky/sequence?codes=503,abc", {}, 400, "invalid_parameter", "200 to 599"),
    ("GET", "/unstable?failure_rate=2", {}, 400, "invalid_parameter", "between 0 and 1"),
    ("GET", "/ratelimited?limit=0", {}, 400, "invalid_parameter", "between 1"),
    ("GET", "/status/503?retry_after=-1", {}, 400, "invalid_parameter", "retry_after"),
    ("GET", "/status/503?retry_after_format=rfc", {}, 400, "invalid_parameter", "http-date"),
    ("GET", "/response-headers?X-Evil=a%0d%0aSet-Cookie:%20pwned=1", {}, 400, "invalid_header", "control"),
    ("GET", "/response-headers?X-Evil=a%0aSet-Cookie:%20pwned=1", {}, 400, "invalid_header", "control"),
    ("GET", "/response-headers?Bad%20Name=1", {}, 400, "invalid_header", "not a valid header name"),
    ("GET", "/response-headers?Content-Length=5", {}, 400, "invalid_header", "managed by the server"),
    ("GET", "/response-headers?Content-Type=text/html", {}, 400, "invalid_header", "Content-Type"),
    ("GET", "/cookies/set?bad%20name=1", {}, 400, "invalid_cookie", "cookie name"),
    ("GET", "/cookies/set?flavour=a;b", {}, 400, "invalid_cookie", "semicolons"),
    ("POST", "/upload", {"content": b"garbage", "headers": {"Content-Type": "multipart/form-data; boundary=xyz"}},
     400, "malformed_form", "multipart"),
    ("POST", "/upload", {"content": b"garbage", "headers": {"Content-Type": "multipart/form-data"}},
     400, "malformed_form", "boundary"),
    ("POST", "/upload", {"json": {"file": "x"}}, 415, "unsupported_media_type", "multipart/form-data"),
    ("POST", "/upload?allowed_types=csv", {"files": {"f": b"x"}}, 400, "invalid_parameter", "allowed_types"),
    ("POST", "/upload?allowed_types=text/csv,", {"files": {"f": b"x"}}, 400, "invalid_parameter", "type/subtype"),
    ("POST", "/upload?allowed_types=image/*", {"files": {"f": b"x"}}, 400, "invalid_parameter", "no wildcards"),
    ("POST", "/upload?allowed_types=text/csv;q=1", {"files": {"f": b"x"}}, 400, "invalid_parameter", "parameters"),
    ("POST", "/oauth/token", {"json": {"grant_type": "client_credentials"}}, 400, "invalid_request", "data="),
    ("POST", "/oauth/token", {"data": {"grant_type": "password"}}, 400, "unsupported_grant_type", "client_credentials"),
    ("POST", "/oauth/token", {"data": {"grant_type": "client_credentials", "client_id": "course",
                                       "client_secret": "course-secret", "expires_in": "0"}},
     400, "invalid_parameter", "expires_in"),
    ("PUT", "/__admin/chaos", {"json": {"failure_rate": 3}}, 422, "validation_failed", "failure_rate"),
    ("PUT", "/__admin/chaos", {"json": {"latency": 9, "connect_latency": 9}}, 422, "validation_failed",
     "--max-duration"),
    ("GET", "/get", {"headers": {"X-Client-Key": "spaces are not allowed"}}, 400, "invalid_client_key",
     "X-Client-Key"),
    ("GET", "/__admin/health", {"headers": {"X-Client-Key": "spaces are not allowed"}}, 400, "invalid_client_key",
     "X-Client-Key"),
    ("POST", "/__admin/reset?all=true", {"headers": {"X-Client-Key": "spaces are not allowed"}}, 400,
     "invalid_client_key", "X-Client-Key"),
    ("GET", "/no/such/endpoint", {}, 404, "not_found", "/docs"),
    ("DELETE", "/get", {}, 405, "method_not_allowed", "GET"),
]


@pytest.mark.parametrize(("method", "path", "options", "status", "error", "words"), BAD_INPUTS,
                         ids=[f"{row[0]} {row[1][:60]}" for row in BAD_INPUTS])
def test_bad_input_gets_a_json_4xx(client: httpx.Client, method: str, path: str, options: dict, status: int,
                                   error: str, words: str) -> None:
    response = client.request(method, path, **options)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert body["error"] == error
    assert words in body["message"], body["message"]


def test_server_is_still_healthy_after_bad_input(client: httpx.Client) -> None:
    for method, path, options, *_ in BAD_INPUTS:
        client.request(method, path, **options)
    assert client.get("/__admin/health").json()["status"] == "ok"
    assert client.get("/get").status_code == 200


@pytest.mark.parametrize("send", [requests.get, httpx.get], ids=["requests", "httpx"])
def test_huge_header_gets_431_json(base_url: str, send) -> None:
    response = send(f"{base_url}/get", headers={"X-Big": "a" * 70_000}, timeout=10)
    assert response.status_code == 431
    assert response.json()["error"] == "header_too_large"
    assert "--max-header-bytes" in response.json()["message"]


def test_header_just_under_the_limit_is_served(client: httpx.Client) -> None:
    assert client.get("/get", headers={"X-Big": "a" * 15_000}).status_code == 200


def test_unterminated_huge_head_is_cut_off_without_buffering_it(base_url: str) -> None:
    host, port = base_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(b"GET /get HTTP/1.1\r\nHost: x\r\nX-Endless: " + b"a" * 200_000)  # never ends the head
        answer = sock.recv(4096)
    assert answer.startswith(b"HTTP/1.1 431 ")
    assert b'"header_too_large"' in answer


SMALL_BODY_LIMIT = 1024


def chunked(size: int) -> Iterator[bytes]:
    """`size` bytes in 100-byte chunks, so the client sends no Content-Length."""
    for start in range(0, size, 100):
        yield b"x" * min(100, size - start)


# (what is sent, the status it gets); the body limit applies whether the client announces the
# size (Content-Length) or not (chunked, checked while reading)
BODY_LIMITS = [
    ("Content-Length at the limit", b"x" * SMALL_BODY_LIMIT, 200),
    ("Content-Length over the limit", b"x" * (SMALL_BODY_LIMIT + 1), 413),
    ("chunked at the limit", lambda: chunked(SMALL_BODY_LIMIT), 200),
    ("chunked over the limit", lambda: chunked(SMALL_BODY_LIMIT + 1), 413),
]


@pytest.fixture(scope="module")
def small_limit_url() -> Iterator[str]:
    with BackgroundServer(Config(port=0, max_body=SMALL_BODY_LIMIT)) as url:
        yield url


@pytest.mark.parametrize(("sent", "body", "status"), BODY_LIMITS, ids=[row[0] for row in BODY_LIMITS])
def test_bodies_are_limited(small_limit_url: str, sent: str, body: object, status: int) -> None:
    content = body() if callable(body) else body
    response = httpx.post(f"{small_limit_url}/post", content=content, timeout=10)  # type: ignore[arg-type]
    assert response.status_code == status, response.text
    if status == 200:
        assert len(response.json()["data"]) == SMALL_BODY_LIMIT
    else:
        assert response.json()["error"] == "body_too_large"
        assert f"limited to {SMALL_BODY_LIMIT} bytes" in response.json()["message"]
        assert "--max-body" in response.json()["message"]


def test_a_bug_is_answered_with_a_json_500_and_still_raised() -> None:
    from starlette.routing import Route

    from mock_server.app import create_app

    async def broken(request):
        raise ZeroDivisionError("a bug")

    app = create_app()
    app.router.routes.append(Route("/broken", broken))  # in no shortlist: reached through the full router

    async def call() -> httpx.Response:
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            return await client.get("/broken")

    response = asyncio.run(call())
    assert response.status_code == 500
    assert response.json()["error"] == "server_bug" and "ZeroDivisionError" in response.json()["message"]

    async def raising_call() -> None:
        transport = httpx.ASGITransport(app=app)  # re-raised, so uvicorn logs the traceback
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            await client.get("/broken")

    with pytest.raises(ZeroDivisionError):
        asyncio.run(raising_call())
