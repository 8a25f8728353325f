"""Hostile input: each case is answered the server's way, a JSON error that names the problem
(a 4xx, or 501 for a transfer coding it does not implement), and the server is healthy after.

Companion to test_bad_input.py, for the inputs a reliability pass found (issue 7): JSON that
is too deep or carries numbers and strings the server could not send back, integers of
thousands of digits, header values a header cannot carry, cut-off multipart bodies, bodies
to /__admin/, duplicate identities, unknown transfer codings, wrong methods.
"""

from __future__ import annotations

import re
import socket
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import requests
from starlette.requests import Request

from mock_server.__main__ import parser
from mock_server.config import Config
from mock_server.contract import CLIENT_KEY_HEADER, CLIENT_KEY_ONCE
from mock_server.endpoints import ALL_METHODS, MAX_INTEGER_DIGITS, Endpoint
from mock_server.reading import JSON, MAX_JSON_DEPTH, MAX_JSON_INTEGER_DIGITS, arguments
from mock_server.responses import MAX_SET_HEADERS
from mock_server.routes import GROUPS
from mock_server.server import BackgroundServer
from mock_server.traffic import UNTRACKED_MAX_BODY

JSON_TYPE = {"Content-Type": "application/json"}
DEEP_JSON = b"[" * 1000 + b"]" * 1000
JUST_DEEP_ENOUGH = b"[" * MAX_JSON_DEPTH + b"]" * MAX_JSON_DEPTH
# Brackets enough to need a depth check, then a string that never closes, full of escaped
# quotes: a checker that strips strings before parsing rescans to the end from every quote.
UNCLOSED_STRING = b"[" * (MAX_JSON_DEPTH + 1) + b'"' + b'\\"' * 500_000
MANY_DIGITS = "1" * 5000
BOUNDARY = "hostile-boundary"
MULTIPART = {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}
CUT_OFF_MULTIPART = (  # one file part, then the body ends: no closing --hostile-boundary--
    f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="f"; filename="a.txt"\r\n\r\nhello'
).encode()


def as_json(body: bytes) -> dict[str, Any]:
    return {"content": body, "headers": JSON_TYPE}


def raw(head: str, body: bytes = b"") -> dict[str, Any]:
    """A request sent byte for byte over a socket (for what httpx would not send)."""
    return {"raw": head.replace("\n", "\r\n").encode() + b"\r\n" + body}


# (case, method, path, request options, status, error code, words the message must contain)
HOSTILE = [
    ("JSON 1000 deep", "POST", "/users", as_json(DEEP_JSON), 400, "json_too_deep", f"{MAX_JSON_DEPTH} levels"),
    ("JSON unclosed string of escaped quotes", "POST", "/users", as_json(UNCLOSED_STRING), 400, "malformed_json",
     "not valid JSON"),
    ("JSON NaN", "POST", "/users", as_json(b'{"username": NaN}'), 400, "malformed_json", "NaN is not a JSON number"),
    ("JSON Infinity", "POST", "/orders", as_json(b'{"amount_minor": Infinity}'), 400, "malformed_json", "Infinity"),
    ("JSON -Infinity", "PUT", "/__admin/chaos", as_json(b'{"latency": -Infinity}'), 400, "malformed_json",
     "-Infinity"),
    ("JSON 1e999", "PUT", "/__admin/chaos", as_json(b'{"latency": 1e999}'), 400, "json_number_out_of_range",
     "too large to be a finite number"),
    ("JSON -1e999", "POST", "/repos", as_json(b'{"stars": -1e999}'), 400, "json_number_out_of_range", "finite"),
    ("JSON 5000-digit integer", "POST", "/users", as_json(b'{"id": ' + MANY_DIGITS.encode() + b"}"), 400,
     "json_number_out_of_range", f"5000 digits; the server reads at most {MAX_JSON_INTEGER_DIGITS}"),
    ("JSON 5000-digit decimal", "PATCH", "/users/1", as_json(b'{"name": ' + MANY_DIGITS.encode() + b".5}"), 400,
     "json_number_out_of_range", "finite"),
    ("JSON lone surrogate", "POST", "/users", as_json(b'{"username": "\\ud800"}'), 400, "json_invalid_string",
     "lone UTF-16 surrogate"),
    ("JSON lone low surrogate as a key", "POST", "/login", as_json(b'{"\\udc00": 1}'), 400, "json_invalid_string",
     "surrogate"),
    ("JSON NaN at /login", "POST", "/login", as_json(b'{"username": NaN}'), 400, "malformed_json", "NaN"),
    ("JSON not UTF-8", "POST", "/users", as_json(b'{"username": "\xff"}'), 400, "malformed_json", "not UTF-8"),
    ("echo: JSON 1000 deep", "POST", "/post", as_json(DEEP_JSON), 400, "json_too_deep", "levels deep"),
    ("echo: lone surrogate", "PUT", "/anything/x", as_json(b'["\\ud800"]'), 400, "json_invalid_string", "surrogate"),
    ("echo: 1e999", "PATCH", "/patch", as_json(b"1e999"), 400, "json_number_out_of_range", "finite"),
    ("5000-digit /bytes/{n}", "GET", f"/bytes/{MANY_DIGITS}", {}, 400, "invalid_parameter", "--max-bytes"),
    ("5000-digit negative /bytes/{n}", "GET", f"/bytes/-{MANY_DIGITS}", {}, 400, "invalid_parameter", "between 0"),
    ("5000-digit /status/{code}", "GET", f"/status/{MANY_DIGITS}", {}, 400, "invalid_parameter",
     f"at most {MAX_INTEGER_DIGITS} digits"),
    ("5000-digit ?page=", "GET", f"/users?page={MANY_DIGITS}", {}, 400, "invalid_parameter", "5000 digits"),
    ("5000-digit ?limit=", "GET", f"/users?limit={MANY_DIGITS}", {}, 400, "invalid_parameter", "between 1 and 100"),
    ("5000-digit /users/{id}", "GET", f"/users/{MANY_DIGITS}", {}, 400, "invalid_parameter", "digits"),
    ("5000-digit /delay/{seconds}", "GET", f"/delay/{MANY_DIGITS}", {}, 400, "invalid_parameter", "finite number"),
    ("5000-digit exponent", "GET", f"/delay/1e{MANY_DIGITS}", {}, 400, "invalid_parameter", "finite number"),
    ("non-ASCII digits", "GET", "/bytes/%D9%A1%D9%A0", {}, 400, "invalid_parameter", "integer"),
    ("5000-digit Range", "GET", "/range/10", {"headers": {"Range": f"bytes=0-{MANY_DIGITS}"}}, 416,
     "range_not_satisfiable", "bytes=0-99"),
    ("5000-digit status in codes=", "GET", f"/flaky/sequence?codes={MANY_DIGITS}", {}, 400, "invalid_parameter",
     "200 to 599"),
    ("superscript status in codes=", "GET", "/flaky/sequence?codes=%C2%B2", {}, 400, "invalid_parameter",
     "200 to 599"),
    ("header value not Latin-1", "GET", "/response-headers?X-Euro=%E2%82%AC", {}, 400, "invalid_header", "Latin-1"),
    ("Content-Type not Latin-1", "GET", "/response-headers?Content-Type=text/plain;x=%E2%82%AC", {}, 400,
     "invalid_header", "Latin-1"),
    ("header value with NUL", "GET", "/response-headers?X-Nul=a%00b", {}, 400, "invalid_header", "control"),
    ("header value with CR", "GET", "/response-headers?X-Cr=a%0db", {}, 400, "invalid_header", "control"),
    ("header value with DEL", "GET", "/response-headers?X-Del=a%7fb", {}, 400, "invalid_header", "control"),
    ("header name not a token", "GET", "/response-headers?X-%E2%82%AC=1", {}, 400, "invalid_header",
     "not a valid header name"),
    ("header name with colon", "GET", "/response-headers?X-A%3A=1", {}, 400, "invalid_header",
     "not a valid header name"),
    ("empty header name", "GET", "/response-headers?=1", {}, 400, "invalid_header", "not a valid header name"),
    ("more headers than a client reads", "GET", "/response-headers?" + "&".join(["X-A=1"] * (MAX_SET_HEADERS + 1)),
     {}, 400, "too_many_headers", f"at most {MAX_SET_HEADERS} headers"),
    ("more cookies than a client reads", "GET", "/cookies/set?" + "&".join(["a=1"] * (MAX_SET_HEADERS + 1)),
     {}, 400, "too_many_cookies", f"at most {MAX_SET_HEADERS} cookies"),
    ("more cookie deletions than a client reads", "GET",
     "/cookies/delete?" + "&".join(f"c{number}" for number in range(MAX_SET_HEADERS + 1)), {}, 400,
     "too_many_cookies", f"at most {MAX_SET_HEADERS} cookies"),
    ("multipart cut off at /post", "POST", "/post", {"content": CUT_OFF_MULTIPART, "headers": MULTIPART}, 400,
     "malformed_form", f"before its closing boundary --{BOUNDARY}--"),
    ("multipart cut off at /anything", "PUT", "/anything", {"content": CUT_OFF_MULTIPART, "headers": MULTIPART},
     400, "malformed_form", "closing boundary"),
    ("multipart cut off at /upload", "POST", "/upload", {"content": CUT_OFF_MULTIPART, "headers": MULTIPART}, 400,
     "malformed_form", "closing boundary"),
    ("multipart cut off at /login", "POST", "/login", {"content": CUT_OFF_MULTIPART, "headers": MULTIPART}, 400,
     "malformed_form", "closing boundary"),
    ("empty multipart body", "POST", "/upload", {"content": b"", "headers": MULTIPART}, 400, "malformed_form",
     "closing boundary"),
    ("admin body over its limit", "PUT", "/__admin/chaos",
     {"content": b" " * (UNTRACKED_MAX_BODY + 1), "headers": JSON_TYPE}, 413, "body_too_large",
     f"/__admin/ and /docs are limited to {UNTRACKED_MAX_BODY} bytes"),
    ("docs body over its limit", "GET", "/openapi.json", {"content": b"x" * (UNTRACKED_MAX_BODY + 1)}, 413,
     "body_too_large", "/__admin/"),
    ("two X-Client-Key on traffic", "GET", "/get", {"headers": [("X-Client-Key", "a1"), ("X-Client-Key", "b1")]},
     400, "invalid_client_key", "more than once"),
    ("two X-Client-Key on admin", "POST", "/__admin/reset",
     {"headers": [("X-Client-Key", "a1"), ("X-Client-Key", "b1")]}, 400, "invalid_client_key", "more than once"),
    ("two equal X-Client-Key", "GET", "/__admin/requests",
     {"headers": [("X-Client-Key", "a1"), ("X-Client-Key", "a1")]}, 400, "invalid_client_key", "more than once"),
    ("Transfer-Encoding: gzip, chunked", "POST", "/post",
     raw("POST /post HTTP/1.1\nHost: x\nTransfer-Encoding: gzip, chunked\n", b"3\r\nabc\r\n0\r\n\r\n"), 501,
     "unsupported_transfer_encoding", "only a single chunked"),
    ("Transfer-Encoding on admin", "PUT", "/__admin/chaos",
     raw("PUT /__admin/chaos HTTP/1.1\nHost: x\nTransfer-Encoding: compress, chunked\n", b"2\r\n{}\r\n0\r\n\r\n"),
     501, "unsupported_transfer_encoding", "'compress, chunked'"),
    ("float money", "POST", "/payments", {"json": {"amount": 19.99, "currency": "usd"}}, 422, "invalid_amount",
     "send 1999 for 19.99 usd"),
    ("whole float money", "POST", "/payments", {"json": {"amount": 1999.0, "currency": "usd"}}, 422,
     "invalid_amount", "send 1999, not 1999.0"),
    ("huge amount", "POST", "/payments", {"json": {"amount": 10**30, "currency": "usd"}}, 422, "invalid_amount",
     "31 digits"),
    ("negative amount", "POST", "/payments", {"json": {"amount": -1, "currency": "usd"}}, 422, "invalid_amount",
     "at least 1"),
    ("negative refund", "POST", "/payments/pay_000001/refunds", {"json": {"amount": -1}}, 404, "not_found",
     "pay_000001"),
    ("10 KB Idempotency-Key", "POST", "/payments",
     {"json": {"amount": 1, "currency": "usd"}, "headers": {"Idempotency-Key": "k" * 10_240}}, 400,
     "invalid_idempotency_key", "got 10240 characters"),
    ("quoted slash in a payment id", "GET", "/payments/..%2Fadmin", {}, 404, "not_found", "'../admin'"),
    ("outage delay past --max-duration", "PUT", "/__admin/payments/outage",
     {"json": {"mode": "slow", "calls": 1, "delay": 1e9}}, 422, "validation_failed", "--max-duration"),
    ("non-loopback receiver", "POST", "/webhooks/endpoints", {"json": {"url": "http://169.254.169.254:80/latest"}},
     422, "receiver_not_allowed", "this machine only"),
    ("receiver with no host", "POST", "/webhooks/endpoints", {"json": {"url": "http://:80/"}}, 422,
     "receiver_not_allowed", "this machine only"),
    ("event over --max-webhook-bytes", "POST", "/webhooks/events",
     {"content": b'{"endpoint": "ep_1", "events": [{"type": "a", "data": {"x": "' + b"x" * 100_000 + b'"}}]}',
      "headers": JSON_TYPE}, 413, "body_too_large", "--max-webhook-bytes"),
    ("events to no endpoint", "POST", "/webhooks/events", {"json": {"endpoint": "ep_1", "events": [{"type": "a"}]}},
     404, "not_found", "ep_1"),
    ("delivery log settle too long", "GET", "/__admin/webhooks/deliveries?settle=1e9", {}, 400, "invalid_parameter",
     "--max-duration"),
    ("PUT /users", "PUT", "/users", {}, 405, "method_not_allowed", "use GET, HEAD, POST"),
    ("POST /users/1", "POST", "/users/1", {}, 405, "method_not_allowed", "use DELETE, GET, HEAD, PATCH, PUT"),
    ("POST /__admin/chaos", "POST", "/__admin/chaos", {}, 405, "method_not_allowed", "use DELETE, GET, HEAD, PUT"),
]


@pytest.fixture
def healthy(base_url: str) -> Iterator[None]:
    """Checks, after the test, that the server still answers its health check."""
    yield
    assert httpx.get(f"{base_url}/__admin/health", timeout=10).json()["status"] == "ok"


def send(base_url: str, key: str, method: str, path: str, options: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """The status and JSON body of one request, over TCP (raw bytes when the options say so)."""
    if "raw" in options:
        return raw_exchange(base_url, options["raw"])
    headers = options.get("headers", {})
    headers = [*headers] if isinstance(headers, list) else [*headers.items(), ("X-Client-Key", key)]
    response = httpx.request(method, f"{base_url}{path}", **{**options, "headers": headers}, timeout=10)
    assert response.headers["content-type"] == "application/json", response.text
    return response.status_code, response.json()


def raw_exchange(base_url: str, request: bytes) -> tuple[int, dict[str, Any]]:
    """Send `request` as bytes; the answer's status and JSON body (it must be a complete answer)."""
    host, port = base_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(request)
        answer = b""
        while not (head_end := answer.find(b"\r\n\r\n")) > 0 or len(answer) < head_end + 4 + _length(answer):
            chunk = sock.recv(65536)
            assert chunk, f"the connection closed before a whole answer: {answer!r}"
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    assert b"\r\ncontent-type: application/json" in head.lower(), head
    return int(head.split()[1]), httpx.Response(200, content=body).json()


def _length(answer: bytes) -> int:
    match = re.search(rb"\r\ncontent-length: *(\d+)", answer, re.IGNORECASE)
    return int(match.group(1)) if match else 0


@pytest.mark.parametrize(("case", "method", "path", "options", "status", "error", "words"), HOSTILE,
                         ids=[row[0] for row in HOSTILE])
def test_hostile_input_gets_a_json_error(base_url: str, key: str, healthy: None, case: str, method: str, path: str,
                                         options: dict[str, Any], status: int, error: str, words: str) -> None:
    got, body = send(base_url, key, method, path, options)
    assert got == status, body
    assert body["error"] == error, body
    assert words in body["message"], body["message"]


def test_the_one_client_key_rule_is_documented(base_url: str) -> None:
    assert CLIENT_KEY_ONCE in " ".join(parser().format_help().split())
    document = httpx.get(f"{base_url}/openapi.json", timeout=10).json()
    descriptions = {parameter["description"] for operations in document["paths"].values()
                    for operation in operations.values() for parameter in operation.get("parameters", [])
                    if parameter["name"] == CLIENT_KEY_HEADER}
    assert descriptions and all(CLIENT_KEY_ONCE in description for description in descriptions)


def test_a_refused_transfer_coding_closes_the_connection(base_url: str) -> None:
    host, port = base_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(b"POST /post HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n")
        answer = b""
        while chunk := sock.recv(65536):  # ends only when the server closes
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 501 ") and b"\r\nconnection: close\r\n" in answer.lower()


# ---- Deep JSON on every endpoint that takes a body, derived from the declarations.

# Endpoints that declare a JSON body but never parse it: /signed signs the bytes as they came.
JSON_AS_BYTES = {"/signed"}
PATH_VALUES = {"id": "1", "path": "deep/path", "code": "200", "seconds": "0", "n": "1", "nbytes": "10",
               "user": "u", "passwd": "p", "name": "n", "value": "v", "offset": "0", "payment_id": "pay_000001"}
REQUIRED_QUERY = {"url": "/get", "codes": "200"}
CALM_QUERY = {"/flaky": "fail=0", "/unstable": "failure_rate=0"}  # no failures on purpose
NEVER_ANSWERS = {"/hang"}  # holds the request until the client leaves


def body_operations() -> list[tuple[str, str, bool]]:
    """(method, path, whether it reads JSON) for every operation that may carry a body."""
    operations = []
    for group in GROUPS:
        for endpoint in group.endpoints:
            if endpoint.path in NEVER_ANSWERS:
                continue
            reads_json = JSON in (endpoint.body or {}) and endpoint.path not in JSON_AS_BYTES
            operations += [(method, _url(endpoint), reads_json) for method in endpoint.methods if method != "GET"]
    return operations


def _url(endpoint: Endpoint) -> str:
    path = re.sub(r"\{(\w+)(:\w+)?\}", lambda match: PATH_VALUES[match.group(1)], endpoint.path)
    query = "&".join([f"{param.name}={REQUIRED_QUERY[param.name]}" for param in endpoint.params
                      if param.required and param.where == "query"] + ([CALM_QUERY[path]] if path in CALM_QUERY else []))
    return f"{path}?{query}" if query else path


BODY_OPERATIONS = body_operations()


def test_the_json_readers_are_all_found() -> None:
    readers = {path for _, path, reads_json in BODY_OPERATIONS if reads_json}
    assert {"/users", "/users/1", "/orders", "/repos/1", "/__admin/chaos", "/login", "/post"} <= readers


@pytest.mark.parametrize(("method", "path", "reads_json"), BODY_OPERATIONS,
                         ids=[f"{method} {path}" for method, path, _ in BODY_OPERATIONS])
def test_deep_json_is_refused_by_every_json_reader(client: httpx.Client, healthy: None, method: str, path: str,
                                                   reads_json: bool) -> None:
    """A JSON reader answers json_too_deep; any other endpoint answers as it would, but never a 5xx.

    An endpoint that reads JSON without declaring it fails here: declare it (Group.route(body=
    {JSON: ...})); one that declares JSON but keeps it as bytes belongs in JSON_AS_BYTES.
    """
    response = client.request(method, path, content=DEEP_JSON, headers=JSON_TYPE)
    assert response.status_code < 500, response.text
    too_deep = response.status_code == 400 and response.json().get("error") == "json_too_deep"
    assert too_deep == reads_json, response.text


# Read, then judged on its content: chaos wants an object (422), the echo shows it (200).
@pytest.mark.parametrize(("path", "status"), [("/__admin/chaos", 422), ("/put", 200)])
def test_json_at_the_depth_limit_is_read(client: httpx.Client, path: str, status: int) -> None:
    response = client.put(path, content=JUST_DEEP_ENOUGH, headers=JSON_TYPE)
    assert response.status_code == status, response.text


# ---- The echo's json field: null for what is not JSON (as httpbin shows), 400 for JSON it refuses.

# (body, Content-Type, status, the json field or the error code)
ECHOED_JSON = [
    (b'{"n": 1}', "application/json", 200, {"n": 1}),
    (b"[1, 2]", "text/plain", 200, [1, 2]),
    (b"not json", "application/json", 200, None),
    (b"NaN", "application/json", 200, None),  # NaN is not JSON (RFC 8259), so it is shown as data only
    (b'{"a": Infinity}', "text/plain", 200, None),
    (b'"\\ud800"', "text/plain", 200, None),  # not declared as JSON: just data
    (DEEP_JSON, "text/plain", 200, None),
    (b'"\\ud800"', "application/json", 400, "json_invalid_string"),
    (b'"\\ud83d\\ude00"', "application/json", 200, "\N{GRINNING FACE}"),  # a pair is one character
    (DEEP_JSON, "application/json", 400, "json_too_deep"),
    (b"1e999", "application/json", 400, "json_number_out_of_range"),
    (b"1e308", "application/json", 200, 1e308),
]


@pytest.mark.parametrize(("body", "content_type", "status", "expected"), ECHOED_JSON,
                         ids=[f"{row[0][:20]!r} as {row[1]}" for row in ECHOED_JSON])
def test_echo_shows_json_or_null(client: httpx.Client, healthy: None, body: bytes, content_type: str, status: int,
                                 expected: object) -> None:
    response = client.post("/post", content=body, headers={"Content-Type": content_type})
    assert response.status_code == status, response.text
    if status == 200:
        assert response.json()["json"] == expected
        assert response.json()["data"] == body.decode()
    else:
        assert response.json()["error"] == expected


# ---- Methods: every 405 lists every method its path serves, derived from the declarations.

def served_methods() -> dict[str, set[str]]:
    served: dict[str, set[str]] = {}
    for group in GROUPS:
        for endpoint in group.endpoints:
            served.setdefault(_url(endpoint), set()).update(endpoint.methods)
    return {path: methods | {"HEAD"} if "GET" in methods else methods for path, methods in served.items()}


WRONG_METHODS = [(path, methods) for path, methods in served_methods().items() if set(ALL_METHODS) - methods]


@pytest.mark.parametrize(("path", "methods"), WRONG_METHODS, ids=[path for path, _ in WRONG_METHODS])
def test_405_lists_every_method_the_path_serves(client: httpx.Client, path: str, methods: set[str]) -> None:
    wrong = sorted(set(ALL_METHODS) - methods)[0]
    response = client.request(wrong, path)
    assert response.status_code == 405, response.text
    assert response.headers["allow"] == ", ".join(sorted(methods))
    assert response.json()["message"].endswith(f"use {', '.join(sorted(methods))}")


# ---- The trailing-slash redirect stays on this server, whatever Host says.

# (path sent, Location expected, or None for a 404)
SLASH_REDIRECTS = [
    ("/users/", "/users"),
    ("/users/?page=2&limit=3", "/users?page=2&limit=3"),
    ("/__admin/health/", "/__admin/health"),
    ("/anything", None),  # served as it is
    ("//get/", None),  # "//get" would be a protocol-relative URL, to a host called get
]


@pytest.mark.parametrize(("path", "location"), SLASH_REDIRECTS, ids=[row[0] for row in SLASH_REDIRECTS])
def test_trailing_slash_redirect_is_relative(base_url: str, path: str, location: str | None) -> None:
    host, port = base_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n".encode())
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head = answer.partition(b"\r\n\r\n")[0].decode("latin-1").lower() + "\r\n"
    if location is None:
        assert "\r\nlocation:" not in head and "evil.example" not in head
    else:
        assert head.startswith("http/1.1 307 ")
        assert f"\r\nlocation: {location.lower()}\r\n" in head


# ---- Repeated query names cost linear time.

def fastest_arguments(repeats: int) -> float:
    """The best of seven timings of reading.arguments on `repeats` repeats of one query name."""
    query = "&".join(["a=1"] * repeats).encode()
    request = Request({"type": "http", "method": "GET", "path": "/get", "query_string": query, "headers": []})
    assert request.query_params  # parsed (and cached) by Starlette first: only arguments() is timed
    timings = []
    for _ in range(7):
        started = time.perf_counter()
        arguments(request)
        timings.append(time.perf_counter() - started)
    return min(timings)


def test_repeated_query_names_cost_linear_time() -> None:
    # 8 times the repeats: about 8 times the time when linear (measured 8), 64 when quadratic
    # (the list-copying version measured 43 to 51).
    ratio = fastest_arguments(16_000) / fastest_arguments(2_000)
    assert ratio < 20, f"8x the repeats took {ratio:.0f}x the time"


@pytest.mark.parametrize(("path", "item"), [("/response-headers", "X-H{}=1"), ("/cookies/set", "c{}=1"),
                                           ("/cookies/delete", "c{}")])
def test_as_many_headers_as_allowed_reach_requests(base_url: str, path: str, item: str) -> None:
    query = "&".join(item.format(number) for number in range(MAX_SET_HEADERS))
    response = requests.get(f"{base_url}{path}?{query}", allow_redirects=False, timeout=10)
    assert response.status_code in (200, 302) and len(list(response.raw.headers.iteritems())) > MAX_SET_HEADERS


def test_many_repeated_query_names_are_served(client: httpx.Client, healthy: None) -> None:
    response = client.get("/get?" + "&".join(["a"] * 7_900))
    assert response.status_code == 200 and len(response.json()["args"]["a"]) == 7_900


# ---- Size limits, at small settings so the tests stay fast.

SMALL_BODY, SMALL_FORM_FIELD = 1024, 256


@pytest.fixture(scope="module")
def small_url() -> Iterator[str]:
    with BackgroundServer(Config(port=0, max_body=SMALL_BODY, max_form_field=SMALL_FORM_FIELD)) as url:
        yield url


def chunks(size: int) -> Iterator[bytes]:
    """`size` bytes in 100-byte chunks, so the client sends no Content-Length."""
    for start in range(0, size, 100):
        yield b" " * min(100, size - start)


# (case, method, path, request options, status, error code, words the message must contain)
SMALL_LIMITS = [
    ("admin body announced over --max-body", "PUT", "/__admin/chaos",
     {"content": b" " * (SMALL_BODY + 1), "headers": JSON_TYPE}, 413, "body_too_large",
     f"limited to {SMALL_BODY} bytes (the server's --max-body"),
    ("admin body chunked over --max-body", "PUT", "/__admin/chaos",
     {"content": lambda: chunks(SMALL_BODY + 1), "headers": JSON_TYPE}, 413, "body_too_large",
     f"limited to {SMALL_BODY} bytes"),
    ("admin body chunked at --max-body", "PUT", "/__admin/chaos",
     {"content": lambda: chunks(SMALL_BODY - 2), "headers": JSON_TYPE}, 400, "malformed_json", "not valid JSON"),
    ("form field over --max-form-field", "POST", "/post", {"data": {"note": "x" * (SMALL_FORM_FIELD + 1)}}, 413,
     "form_field_too_large", f"limited to {SMALL_FORM_FIELD} bytes each (the server's --max-form-field)"),
    ("multipart field over --max-form-field", "POST", "/upload",
     {"data": {"note": "x" * (SMALL_FORM_FIELD + 1)}, "files": {"f": b"x"}}, 413, "form_field_too_large",
     "--max-form-field"),
]


@pytest.mark.parametrize(("case", "method", "path", "options", "status", "error", "words"), SMALL_LIMITS,
                         ids=[row[0] for row in SMALL_LIMITS])
def test_size_limits_get_a_json_error(small_url: str, key: str, case: str, method: str, path: str,
                                      options: dict[str, Any], status: int, error: str, words: str) -> None:
    content = options.get("content")
    got, body = send(small_url, key, method, path, {**options, "content": content() if callable(content) else content})
    assert got == status, body
    assert body["error"] == error, body
    assert words in body["message"], body["message"]
    assert httpx.get(f"{small_url}/__admin/health", timeout=10).json()["status"] == "ok"


def test_a_file_part_is_not_a_form_field(small_url: str) -> None:
    response = httpx.post(f"{small_url}/upload", files={"f": b"x" * (SMALL_FORM_FIELD * 2)}, timeout=10)
    assert response.status_code == 200 and response.json()["files"][0]["size"] == SMALL_FORM_FIELD * 2
