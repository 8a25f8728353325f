"""Echo endpoints answer with what they received, in httpbin's shapes."""

from __future__ import annotations

import gzip
import hashlib
import json
import uuid

import httpx
import pytest
import requests


def test_get_echoes_args_headers_origin_and_url(client: httpx.Client, base_url: str) -> None:
    body = client.get("/get", params=[("a", "1"), ("a", "2"), ("b", "x y")], headers={"X-Demo": "yes"}).json()
    assert body["args"] == {"a": ["1", "2"], "b": "x y"}
    assert body["headers"]["X-Demo"] == "yes"
    assert body["origin"] == "127.0.0.1"
    assert body["url"] == f"{base_url}/get?a=1&a=2&b=x+y"
    assert list(body["headers"]) == sorted(body["headers"]), "headers are sorted, so outputs are stable"


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
def test_body_echoes(client: httpx.Client, method: str) -> None:
    path = f"/{method.lower()}"
    as_json = client.request(method, path, json={"n": 1}).json()
    assert as_json["json"] == {"n": 1} and as_json["data"] == '{"n":1}' and as_json["form"] == {}
    as_form = client.request(method, path, data={"k": "v"}).json()
    assert as_form["form"] == {"k": "v"} and as_form["data"] == "" and as_form["json"] is None
    raw = client.request(method, path, content=b"\xff\x00").json()
    assert raw["data"] == "data:application/octet-stream;base64,/wA="


def test_multipart_echo_shows_files_and_fields(client: httpx.Client) -> None:
    body = client.post("/post", files={"doc": ("a.txt", b"hello", "text/plain")}, data={"note": "hi"}).json()
    assert body["files"] == {"doc": "hello"}
    assert body["form"] == {"note": "hi"}


def test_echoed_url_keeps_the_encoding_the_client_sent(client: httpx.Client, base_url: str) -> None:
    assert client.get("/anything/a%20b/c?x=%2F&y=").json()["url"] == f"{base_url}/anything/a%20b/c?x=%2F&y="


def test_anything_accepts_any_method_and_path(client: httpx.Client) -> None:
    body = client.request("PATCH", "/anything/deep/path?x=1", json=[1, 2]).json()
    assert body["method"] == "PATCH"
    assert body["url"].endswith("/anything/deep/path?x=1")
    assert body["json"] == [1, 2]


@pytest.mark.parametrize(
    ("path", "field", "expected"),
    [("/headers", "headers", None), ("/ip", "origin", "127.0.0.1"), ("/user-agent", "user-agent", "course-test")],
)
def test_inspection_endpoints(client: httpx.Client, path: str, field: str, expected: str | None) -> None:
    body = client.get(path, headers={"User-Agent": "course-test"}).json()
    assert field in body
    if expected is not None:
        assert body[field] == expected


def test_uuid_is_repeatable_per_client_key_after_reset(client: httpx.Client) -> None:
    first = [client.get("/uuid").json()["uuid"] for _ in range(3)]
    client.post("/__admin/reset")
    again = [client.get("/uuid").json()["uuid"] for _ in range(3)]
    assert first == again
    assert len(set(first)) == 3
    assert all(uuid.UUID(value).version == 4 for value in first)


@pytest.mark.parametrize(
    ("path", "content_type", "marker"),
    [("/json", "application/json", b'"course"'), ("/html", "text/html; charset=utf-8", b"<h1>"),
     ("/xml", "application/xml", b"<?xml")],
)
def test_formats(client: httpx.Client, path: str, content_type: str, marker: bytes) -> None:
    response = client.get(path)
    assert response.headers["content-type"] == content_type
    assert marker in response.content


def test_gzip_is_decoded_by_clients_and_stable(client: httpx.Client, base_url: str) -> None:
    response = client.get("/gzip")
    assert response.headers["content-encoding"] == "gzip"
    assert response.json()["gzipped"] is True
    raw = requests.get(f"{base_url}/gzip", stream=True, timeout=10).raw.read()
    assert json.loads(gzip.decompress(raw))["gzipped"] is True
    assert raw[4:8] == b"\x00\x00\x00\x00", "gzip mtime is zero, so the bytes never change"


def test_response_headers_sets_headers(client: httpx.Client) -> None:
    response = client.get("/response-headers", params=[("X-Demo", "1"), ("X-Demo", "2"), ("Content-Type", "text/plain")])
    assert response.headers.get_list("X-Demo") == ["1", "2"]
    assert response.headers["content-type"] == "text/plain"


def test_upload_reports_size_checksum_and_content_type(client: httpx.Client) -> None:
    payload = b"\x89PNG fake image"
    body = client.post(
        "/upload", files=[("image", ("photo.png", payload, "image/png")), ("notes", ("n.txt", b"hi"))],
        data={"album": "holiday"},
    ).json()
    image, notes = body["files"]
    assert image == {"field": "image", "filename": "photo.png", "content_type": "image/png", "size": len(payload),
                     "sha256": hashlib.sha256(payload).hexdigest()}
    assert notes["filename"] == "n.txt" and notes["size"] == 2
    assert body["form"] == {"album": "holiday"}


def test_upload_shows_a_missing_content_type_as_null(base_url: str) -> None:
    body = requests.post(f"{base_url}/upload", files={"image": b"raw bytes"}, timeout=10).json()
    assert body["files"][0]["content_type"] is None  # requests sends no type for a bare file (pitfall R13)


CSV, PNG = ("report.csv", b"a,b\n1,2\n", "text/csv"), ("photo.png", b"\x89PNG fake", "image/png")

# (files as requests sends them, the field refused or None, words the refusal must contain)
ALLOWED_TYPES = [
    ({"report": CSV, "photo": PNG}, None, ""),
    ({"report": ("report.csv", b"a,b", "Text/CSV; charset=utf-8")}, None, ""),
    ({"report": ("report.csv", b"a,b")}, "report", "'report' carried no Content-Type"),
    ({"report": b"a,b"}, "report", 'files={"report": (filename, file, "text/csv")}'),
    ({"report": ("report.csv", b"a,b", "text/plain")}, "report", "carried Content-Type text/plain"),
    ({"report": CSV, "notes": ("notes.txt", b"hi", "text/plain")}, "notes", "accepts only text/csv, image/png"),
]


@pytest.mark.parametrize(("files", "refused", "words"), ALLOWED_TYPES, ids=[str(row[1]) for row in ALLOWED_TYPES])
def test_upload_with_allowed_types_is_all_or_nothing(base_url: str, key: str, files: dict, refused: str | None,
                                                    words: str) -> None:
    response = requests.post(f"{base_url}/upload", params={"allowed_types": "text/csv,image/png"}, files=files,
                             data={"album": "q3"}, headers={"X-Client-Key": key}, timeout=10)
    body = response.json()
    if refused is None:
        assert response.status_code == 200, body
        assert [part["field"] for part in body["files"]] == list(files)
        return
    assert response.status_code == 415
    assert (body["error"], body["field"]) == ("unsupported_media_type", refused)
    assert words in body["message"], body["message"]
    assert "files" not in body, "nothing is reported as uploaded when one part is refused"
