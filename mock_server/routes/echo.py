"""Echo: the server tells you exactly what it received (httpbin's names and shapes)."""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import re
import uuid
from typing import Any

from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ..endpoints import ALL_METHODS, Group
from ..errors import ApiError
from ..state import client_state, header_dict

group = Group("Echo", "What the server received: arguments, headers, bodies, uploads.")

FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")  # RFC 9110 field-name
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
# Headers that describe the message framing; a client must not be able to set them.
FRAMING_HEADERS = {"content-length", "transfer-encoding", "connection", "keep-alive", "upgrade", "te", "trailer"}
# Content types /response-headers may set: none that a browser would render as a page.
SAFE_CONTENT_TYPES = {"application/json", "application/problem+json", "text/plain", "text/csv", "application/octet-stream"}


def compact_json(value: Any) -> bytes:
    """JSON bytes exactly as JSONResponse renders them, for bodies built by hand."""
    return JSONResponse(value).body


def arguments(request: Request) -> dict[str, str | list[str]]:
    """Query arguments: a string each, or a list when repeated (as httpbin shows them)."""
    args: dict[str, Any] = {}
    if not request.scope["query_string"]:
        return args
    for name, value in request.query_params.multi_items():
        if name in args:
            args[name] = [*args[name], value] if isinstance(args[name], list) else [args[name], value]
        else:
            args[name] = value
    return args


def request_url(request: Request) -> str:
    """The URL as the client sent it (percent-encoding kept), with the Host it addressed."""
    scope = request.scope
    host = request.headers.get("host") or "{}:{}".format(*scope["server"])
    query = scope["query_string"]
    path = scope.get("raw_path", scope["path"].encode()).decode("latin-1")
    return f"{scope['scheme']}://{host}{path}" + (f"?{query.decode('latin-1')}" if query else "")


def basics(request: Request) -> dict[str, Any]:
    return {
        "args": arguments(request),
        "headers": header_dict(request.headers.raw),
        "origin": request.client.host if request.client else None,
        "url": request_url(request),
    }


async def read_form(request: Request) -> FormData:
    """The form or multipart body, or a 400 that says why it could not be parsed."""
    try:
        return await request.form()
    except HTTPException as exc:
        raise ApiError(400, "malformed_form", f"could not parse the form body: {exc.detail}") from None


def as_text(raw: bytes) -> str:
    """Bytes as text, or as a base64 data URL when they are not UTF-8 (as httpbin does)."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return "data:application/octet-stream;base64," + base64.b64encode(raw).decode()


async def with_body(request: Request) -> dict[str, Any]:
    """The full echo: basics plus data, form, files and json."""
    headers = request.headers
    has_body = "content-length" in headers or "transfer-encoding" in headers  # else none, by HTTP/1.1
    body = await request.body() if has_body else b""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    form: dict[str, Any] = {}
    files: dict[str, Any] = {}
    data = ""
    if content_type in FORM_TYPES:
        for name, value in (await read_form(request)).multi_items():
            if isinstance(value, UploadFile):
                files[name] = as_text(await value.read())
            else:
                form[name] = value
    else:
        data = as_text(body)
    try:
        parsed = json.loads(body) if body and not form and not files else None
    except ValueError:
        parsed = None
    return {**basics(request), "data": data, "files": files, "form": form, "json": parsed}


@group.route("/get")
async def get(request: Request) -> Response:
    """Echo the query arguments, headers, origin and URL."""
    return JSONResponse(basics(request))


def _body_echo(method: str) -> None:
    async def handler(request: Request) -> Response:
        return JSONResponse(await with_body(request))

    handler.__name__ = method.lower()
    handler.__doc__ = f"Echo a {method} request: arguments, headers, and the body as data, form, files and json."
    group.route(f"/{method.lower()}", methods=[method])(handler)


for _method in ("POST", "PUT", "PATCH", "DELETE"):
    _body_echo(_method)


@group.route("/anything", methods=ALL_METHODS)
@group.route("/anything/{path:path}", methods=ALL_METHODS)
async def anything(request: Request) -> Response:
    """Echo any method on any path below /anything, including its body."""
    return JSONResponse({**await with_body(request), "method": request.method})


@group.route("/headers")
async def headers(request: Request) -> Response:
    """Echo the request headers."""
    return JSONResponse({"headers": header_dict(request.headers.raw)})


@group.route("/ip")
async def ip(request: Request) -> Response:
    """The client's IP address."""
    return JSONResponse({"origin": request.client.host if request.client else None})


@group.route("/user-agent")
async def user_agent(request: Request) -> Response:
    """The User-Agent header your client sent."""
    return JSONResponse({"user-agent": request.headers.get("user-agent")})


@group.route("/uuid")
async def uuid_(request: Request) -> Response:
    """A version-4 UUID, drawn from this client key's seeded stream (repeatable after a reset)."""
    bits = client_state(request).random("uuid").getrandbits(128)
    return JSONResponse({"uuid": str(uuid.UUID(int=bits, version=4))})


SAMPLE = {
    "course": {
        "title": "HTTP clients in Python",
        "lessons": [
            {"number": 1, "title": "requests basics", "minutes": 40},
            {"number": 2, "title": "Sessions, auth and timeouts", "minutes": 45},
            {"number": 3, "title": "urllib3 pooling and retries", "minutes": 45},
        ],
    }
}


@group.route("/json")
async def json_(request: Request) -> Response:
    """A small JSON document."""
    return JSONResponse(SAMPLE)


@group.route("/html")
async def html(request: Request) -> Response:
    """A small HTML page."""
    page = "<!DOCTYPE html>\n<html><head><title>Mock server</title></head><body><h1>Hello from the mock server</h1></body></html>\n"
    return Response(page, media_type="text/html")


@group.route("/xml")
async def xml(request: Request) -> Response:
    """A small XML document."""
    lessons = "".join(
        f'<lesson number="{item["number"]}" minutes="{item["minutes"]}">{item["title"]}</lesson>'
        for item in SAMPLE["course"]["lessons"]
    )
    document = f'<?xml version="1.0" encoding="UTF-8"?>\n<course title="{SAMPLE["course"]["title"]}">{lessons}</course>\n'
    return Response(document, media_type="application/xml")


@group.route("/gzip")
async def gzipped(request: Request) -> Response:
    """A gzip-encoded JSON echo (Content-Encoding: gzip); clients decode it for you."""
    body = compact_json({**basics(request), "gzipped": True})
    return Response(
        gzip.compress(body, mtime=0), media_type="application/json", headers={"Content-Encoding": "gzip"}
    )


@group.route("/response-headers", methods=["GET", "POST"])
async def response_headers(request: Request) -> Response:
    """Answer with each query argument set as a response header: /response-headers?X-Demo=1.

    Names must be valid header names; values may not contain control characters (no header
    injection); framing headers such as Content-Length are refused; Content-Type may only be
    a type that browsers do not render as a page.
    """
    chosen: list[tuple[str, str]] = []
    for name, value in request.query_params.multi_items():
        if not _TOKEN.fullmatch(name):
            raise ApiError(400, "invalid_header", f"{name!r} is not a valid header name", header=name)
        if _CONTROL.search(value):
            raise ApiError(400, "invalid_header", f"the value of {name} contains a control character", header=name)
        if name.lower() in FRAMING_HEADERS:
            raise ApiError(400, "invalid_header", f"{name} is managed by the server and cannot be set", header=name)
        if name.lower() == "content-type" and value.split(";")[0].strip().lower() not in SAFE_CONTENT_TYPES:
            raise ApiError(
                400, "invalid_header", f"Content-Type may be one of {', '.join(sorted(SAFE_CONTENT_TYPES))}",
                header=name,
            )
        chosen.append((name, value))
    response = JSONResponse(arguments(request))
    for name, value in chosen:
        if name.lower() == "content-type":
            response.headers[name] = value
        else:
            response.raw_headers.append((name.lower().encode("latin-1"), value.encode("latin-1", "replace")))
    return response


@group.route("/upload", methods=["POST"])
async def upload(request: Request) -> Response:
    """Receive a multipart upload; answer each file's name, size, SHA-256 and content type.

    The content type is the one your client sent for that part (null if it sent none).
    """
    if request.headers.get("content-type", "").split(";")[0].strip().lower() != "multipart/form-data":
        raise ApiError(
            415, "unsupported_media_type",
            "POST /upload expects a multipart/form-data body (requests: files=..., httpx: files=...)",
        )
    files, fields = [], {}
    for name, value in (await read_form(request)).multi_items():
        if isinstance(value, UploadFile):
            content = await value.read()
            files.append(
                {
                    "field": name,
                    "filename": value.filename,
                    "content_type": value.headers.get("content-type"),
                    "size": len(content),
                    "sha256": hashlib.sha256(content).hexdigest(),
                }
            )
        else:
            fields[name] = value
    return JSONResponse({"files": files, "form": fields})
