"""Status codes, delays and streamed or generated bodies."""

from __future__ import annotations

import hashlib
import time
from email.utils import parsedate_to_datetime

import httpx
import pytest


@pytest.mark.parametrize(
    ("code", "header", "value"),
    [(200, None, None), (201, None, None), (204, None, None), (299, None, None), (301, "location", "/get"),
     (308, "location", "/get"), (401, "www-authenticate", 'Basic realm="mock-server"'), (404, None, None),
     (418, None, None), (429, "retry-after", "1"), (500, None, None), (503, "retry-after", "1"), (599, None, None)],
)
def test_status_codes(client: httpx.Client, code: int, header: str | None, value: str | None) -> None:
    response = client.get(f"/status/{code}")
    assert response.status_code == code
    if header:
        assert response.headers[header] == value
    if code == 204:
        assert response.content == b""
    else:
        assert response.json()["status"] == code


def test_status_retry_after_override_in_both_forms(client: httpx.Client) -> None:
    assert client.get("/status/429?retry_after=7").headers["retry-after"] == "7"
    before = time.time()
    date = client.get("/status/503?retry_after=30&retry_after_format=http-date").headers["retry-after"]
    after = time.time()
    # The server's clock read between before and after, plus 30 s, cut to whole seconds.
    assert before + 29 <= parsedate_to_datetime(date).timestamp() <= after + 30


def test_status_accepts_every_method(client: httpx.Client) -> None:
    assert {client.request(method, "/status/202").status_code for method in ("GET", "POST", "PUT", "PATCH", "DELETE")} == {202}


def test_delay_waits_and_reports_it(client: httpx.Client) -> None:
    started = time.perf_counter()
    response = client.get("/delay/0.3")
    assert time.perf_counter() - started >= 0.3
    assert response.json()["delay"] == 0.3
    assert response.headers["server-timing"] == "delay;dur=300"


def test_delay_echoes_a_posted_body(client: httpx.Client) -> None:
    assert client.post("/delay/0", json={"a": 1}).json()["json"] == {"a": 1}


def test_bytes_are_seeded_and_repeatable(client: httpx.Client) -> None:
    first = client.get("/bytes/100000?seed=7").content
    assert len(first) == 100000
    assert client.get("/bytes/100000?seed=7").content == first
    assert client.get("/bytes/100000?seed=8").content != first
    assert client.get("/bytes/1000?seed=7").content == first[:1000], "a shorter body is a prefix of a longer one"


def test_download_has_length_and_a_checksum_that_matches(client: httpx.Client) -> None:
    chunks = []
    with client.stream("GET", "/download/300000?seed=3&chunk_size=10000") as response:
        assert response.headers["content-length"] == "300000"
        assert "attachment" in response.headers["content-disposition"]
        chunks.extend(response.iter_raw())
    body = b"".join(chunks)
    assert hashlib.sha256(body).hexdigest() == response.headers["x-checksum-sha256"]
    assert body == client.get("/bytes/300000?seed=3").content


def test_download_resumes_with_a_range(client: httpx.Client) -> None:
    whole = client.get("/download/200000")
    etag = whole.headers["etag"]
    part = client.get("/download/200000", headers={"Range": "bytes=150000-", "If-Range": etag})
    assert part.status_code == 206
    assert part.headers["content-range"] == "bytes 150000-199999/200000"
    assert part.content == whole.content[150000:]
    stale = client.get("/download/200000", headers={"Range": "bytes=150000-", "If-Range": '"old"'})
    assert stale.status_code == 200 and len(stale.content) == 200000


@pytest.mark.parametrize(
    ("header", "status", "content_range", "body"),
    [("bytes=0-4", 206, "bytes 0-4/30", b"abcde"), ("bytes=26-", 206, "bytes 26-29/30", b"abcd"),
     ("bytes=-3", 206, "bytes 27-29/30", b"bcd"), ("bytes=10-1000", 206, "bytes 10-29/30", b"klmnopqrstuvwxyzabcd"),
     ("bytes=30-", 416, "bytes */30", None), ("bytes=0-1,4-5", 416, "bytes */30", None),
     ("items=0-1", 416, "bytes */30", None)],
)
def test_range_requests(client: httpx.Client, header: str, status: int, content_range: str, body: bytes | None) -> None:
    response = client.get("/range/30", headers={"Range": header})
    assert response.status_code == status
    assert response.headers["content-range"] == content_range
    if body is not None:
        assert response.content == body
    else:
        assert response.json()["error"] == "range_not_satisfiable"


def test_range_without_a_range_header_is_the_whole_alphabet(client: httpx.Client) -> None:
    response = client.get("/range/28")
    assert response.content == b"abcdefghijklmnopqrstuvwxyzab"
    assert response.headers["accept-ranges"] == "bytes"


def still_sending(client: httpx.Client, path: str) -> bool:
    """Whether the server is still answering the newest request to `path`: its journal entry has no duration yet."""
    newest = client.get("/__admin/requests", params={"path": path, "last": 1}).json()["requests"][0]
    return newest["duration"] is None


def test_drip_spreads_bytes_over_the_duration(client: httpx.Client) -> None:
    arrivals = []
    started = time.perf_counter()
    with client.stream("GET", "/drip?numbytes=5&duration=1&code=202") as response:
        assert response.status_code == 202
        for chunk in response.iter_raw():
            if not arrivals:
                assert still_sending(client, "/drip"), "the first bytes arrive while the server is still sending"
            arrivals.append((time.perf_counter() - started, chunk))
    assert b"".join(chunk for _, chunk in arrivals) == b"*****"
    assert len(arrivals) >= 2, "the bytes arrive in several pieces"
    assert arrivals[-1][0] >= 0.95


def test_stream_sends_json_lines(client: httpx.Client) -> None:
    lines = client.get("/stream/4").text.splitlines()
    assert [line.startswith('{"id":') for line in lines] == [True] * 4
    started = time.perf_counter()
    with client.stream("GET", "/stream/3?interval=0.5") as response:
        lines = response.iter_lines()
        first = next(lines)
        assert still_sending(client, "/stream/3"), "lines arrive as they are sent, not all at the end"
        rest = list(lines)
        last_at = time.perf_counter() - started
    assert '"id":0' in first and len(rest) == 2
    assert last_at >= 0.95, "two intervals pass between the first line and the last"
