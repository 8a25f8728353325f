"""Status codes, delays and streamed or generated bodies."""

from __future__ import annotations

import hashlib
import re
import socket
import ssl
import time
from email.utils import parsedate_to_datetime

import h2.exceptions
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


def raw_get(base_url: str, key: str, target: str, headers: dict[str, str] | None = None) -> tuple[bytes, bytes, bool]:
    """GET `target` over a socket of its own: the head, the body bytes that arrived, and whether
    the server closed the connection (the body ended without a close otherwise)."""
    host, port = base_url.removeprefix("http://").split(":")
    lines = [f"GET {target} HTTP/1.1", f"Host: {host}:{port}", f"X-Client-Key: {key}"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        received = b""
        while b"\r\n\r\n" not in received:
            received += sock.recv(65536)
        head, _, body = received.partition(b"\r\n\r\n")
        length = int(re.search(rb"(?im)^content-length: *(\d+)", head).group(1))
        closed = False
        while len(body) < length:
            piece = sock.recv(65536)
            if not piece:
                closed = True
                break
            body += piece
    return head, body, closed


def test_download_cut_after_closes_the_first_request_then_serves_whole(base_url: str, key: str) -> None:
    target = "/download/300000?cut_after=100000&seed=3"
    whole = httpx.get(f"{base_url}/bytes/300000?seed=3", timeout=10).content
    head, body, closed = raw_get(base_url, key, target)
    assert head.startswith(b"HTTP/1.1 200") and b"content-length: 300000" in head.lower()
    assert closed and body == whole[:100000], "exactly cut_after bytes, then the connection closes"
    etag = re.search(rb"(?im)^etag: *(\S+)", head).group(1).decode()
    head, body, closed = raw_get(base_url, key, target, {"Range": "bytes=100000-", "If-Range": etag})
    assert head.startswith(b"HTTP/1.1 206") and b"content-range: bytes 100000-299999/300000" in head.lower()
    assert not closed and body == whole[100000:], "the second request of the URL is served whole"
    seen = httpx.get(f"{base_url}/__admin/requests", params={"path": "/download/300000"},
                     headers={"X-Client-Key": key}).json()["requests"]
    assert [entry["status"] for entry in seen] == [200, 206]


def test_download_cuts_counts_per_key_and_url_and_reset_starts_again(base_url: str, key: str, client: httpx.Client) -> None:
    target = "/download/5000?cut_after=1000&cuts=2"
    assert [len(raw_get(base_url, key, target)[1]) for _ in range(3)] == [1000, 1000, 5000]
    assert len(raw_get(base_url, key, target + "&case=other")[1]) == 1000, "another query is another count"
    assert len(raw_get(base_url, f"{key}-b", target)[1]) == 1000, "another key is another count"
    assert client.head("/download/5000?cut_after=1000&case=head").status_code == 200
    assert len(raw_get(base_url, key, "/download/5000?cut_after=1000&case=head")[1]) == 1000, "HEAD is not counted"
    client.post("/__admin/reset")
    assert len(raw_get(base_url, key, target)[1]) == 1000


def test_download_cut_applies_to_a_range_request_and_spares_a_short_one(base_url: str, key: str) -> None:
    head, body, closed = raw_get(base_url, key, "/download/5000?cut_after=1000", {"Range": "bytes=2000-"})
    assert head.startswith(b"HTTP/1.1 206") and closed and len(body) == 1000
    head, body, closed = raw_get(base_url, key, "/download/5000?cut_after=1000&case=s", {"Range": "bytes=4500-"})
    assert head.startswith(b"HTTP/1.1 206") and not closed and len(body) == 500, "a part no longer than cut_after"


def test_download_with_ranges_false_ignores_range(client: httpx.Client) -> None:
    response = client.get("/download/5000?ranges=false", headers={"Range": "bytes=1000-"})
    assert response.status_code == 200 and len(response.content) == 5000
    assert response.headers["accept-ranges"] == "none" and "content-range" not in response.headers
    assert hashlib.sha256(response.content).hexdigest() == response.headers["x-checksum-sha256"]


@pytest.mark.parametrize(
    ("query", "param", "words"),
    [("cut_after=5000", "cut_after", "less than nbytes (5000)"), ("cut_after=-1", "cut_after", "--max-bytes"),
     ("cuts=2", "cuts", "needs cut_after"), ("cut_after=10&cuts=0", "cuts", "between 1 and 10"),
     ("cut_after=10&cuts=11", "cuts", "between 1 and 10"), ("ranges=maybe", "ranges", "true or false")],
)
def test_download_refuses_bad_cuts(client: httpx.Client, query: str, param: str, words: str) -> None:
    response = client.get(f"/download/5000?{query}")
    assert response.status_code == 400, response.text
    error = response.json()
    assert error["error"] == "invalid_parameter" and error["param"] == param and words in error["message"]


def test_links_pages_link_to_every_other_page(client: httpx.Client) -> None:
    response = client.get("/links/4/2")
    assert response.headers["content-type"].startswith("text/html")
    assert re.findall(r"href='([^']+)'", response.text) == ["/links/4/0", "/links/4/1", "/links/4/3"]
    assert "2 <a" in response.text, "the page's own number is shown, not linked"
    assert client.get("/links/1/0").text.count("href") == 0


@pytest.mark.parametrize(("path", "param", "words"),
                         [("/links/4/4", "offset", "less than n (4)"), ("/links/0/0", "n", "between 1 and 200"),
                          ("/links/201/0", "n", "between 1 and 200"), ("/links/5/-1", "offset", "between 0 and 199")])
def test_links_refuses_pages_outside_the_set(client: httpx.Client, path: str, param: str, words: str) -> None:
    response = client.get(path)
    assert response.status_code == 400
    assert response.json()["param"] == param and words in response.json()["message"], response.text


@pytest.mark.parametrize("scheme", ["https", "h2c"])
def test_download_cut_over_http2_ends_the_stream_short_at_once(
    base_url: str, key: str, scheme: str
) -> None:
    tls = httpx.get(f"{base_url}/__admin/health", timeout=10).json()["tls"]
    url, verify = (tls["url"], ssl.create_default_context(cafile=tls["ca"])) if scheme == "https" else (base_url, True)
    target = f"{url}/download/300000?cut_after=100000"
    with httpx.Client(http1=False, http2=True, verify=verify, timeout=10, headers={"X-Client-Key": key}) as client:
        started = time.perf_counter()
        # httpcore passes h2's own InvalidBodyLengthError on, unwrapped.
        with pytest.raises(h2.exceptions.InvalidBodyLengthError, match="Expected 300000 bytes, received 100000"):
            client.get(target)
        assert time.perf_counter() - started < 5, "the stream ends at once; the client does not wait for a timeout"
        rest = client.get(target, headers={"Range": "bytes=100000-"})
        assert rest.http_version == "HTTP/2" and rest.status_code == 206 and len(rest.content) == 200000
