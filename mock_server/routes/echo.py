"""Echo: the server tells you exactly what it received (httpbin's names and shapes)."""

from __future__ import annotations

import gzip
import hashlib
import json
import re
import uuid

from starlette.datastructures import UploadFile
from starlette.requests import Request
from pydantic import BaseModel, Field
from starlette.responses import JSONResponse, Response

from ..endpoints import ALL_METHODS, Group, Param
from ..errors import ApiError, invalid_param
from ..reading import ANY_BODY, JSON, Basics, Echo, arguments, basics, essence, media_type, read_form, with_body
from ..responses import MAX_SET_HEADERS, compact_json
from ..state import client_state, header_dict

group = Group("Echo", "What the server received: arguments, headers, bodies, uploads.")

_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")  # RFC 9110 field-name
_MEDIA_TYPE = re.compile(r"[!#$%&'+\-.^_`|~0-9a-z]+/[!#$%&'+\-.^_`|~0-9a-z]+")  # type/subtype tokens, without *
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
_TYPE_CHARS = r"[!#$%&'+\-.^_`|~0-9A-Za-z]+"
ALLOWED_TYPES = rf"^\s*{_TYPE_CHARS}/{_TYPE_CHARS}\s*(,\s*{_TYPE_CHARS}/{_TYPE_CHARS}\s*)*$"  # _media_types' rule
# Headers that describe the message framing; a client must not be able to set them.
FRAMING_HEADERS = {"content-length", "transfer-encoding", "connection", "keep-alive", "upgrade", "te", "trailer"}
# Content types /response-headers may set: none that a browser would render as a page.
SAFE_CONTENT_TYPES = {"application/json", "application/problem+json", "text/plain", "text/csv", "application/octet-stream"}


class MethodEcho(Echo):
    method: str


class Uploaded(BaseModel):
    field: str
    filename: str | None
    content_type: str | None
    size: int = Field(ge=0)
    sha256: str = Field(pattern="^[0-9a-f]{64}$")


class Uploads(BaseModel):
    files: list[Uploaded]
    form: dict[str, str]


@group.route("/get", responses={200: {JSON: Basics}})
async def get(request: Request) -> Response:
    """Echo the query arguments, headers, origin and URL."""
    return JSONResponse(basics(request))


def _body_echo(method: str) -> None:
    async def handler(request: Request) -> Response:
        return JSONResponse(await with_body(request))

    handler.__name__ = method.lower()
    handler.__doc__ = f"Echo a {method} request: arguments, headers, and the body as data, form, files and json."
    group.route(f"/{method.lower()}", methods=[method], body=ANY_BODY, body_required=False,
                responses={200: {JSON: Echo}})(handler)


for _method in ("POST", "PUT", "PATCH", "DELETE"):
    _body_echo(_method)


ANYTHING = {"methods": ALL_METHODS, "body": ANY_BODY, "body_required": False, "responses": {200: {JSON: MethodEcho}}}


@group.route("/anything", **ANYTHING)
@group.route("/anything/{path:path}", Param("path", str, "path", description="any path, slashes included"), **ANYTHING)
async def anything(request: Request, path: str = "") -> Response:
    """Echo any method at /anything or any path below it, including the body."""
    return JSONResponse({**await with_body(request), "method": request.method})


@group.route("/headers", responses={200: {JSON: {"type": "object", "required": ["headers"], "properties": {
    "headers": {"type": "object", "additionalProperties": {"type": "string"}}}}}})
async def headers(request: Request) -> Response:
    """Echo the request headers."""
    return JSONResponse({"headers": header_dict(request.headers.raw)})


@group.route("/ip", responses={200: {JSON: {"type": "object", "required": ["origin"], "properties": {
    "origin": {"type": "string", "nullable": True}}}}})
async def ip(request: Request) -> Response:
    """The client's IP address."""
    return JSONResponse({"origin": request.client.host if request.client else None})


@group.route("/user-agent", responses={200: {JSON: {"type": "object", "required": ["user-agent"], "properties": {
    "user-agent": {"type": "string", "nullable": True}}}}})
async def user_agent(request: Request) -> Response:
    """The User-Agent header your client sent."""
    return JSONResponse({"user-agent": request.headers.get("user-agent")})


@group.route("/uuid", responses={200: {JSON: {"type": "object", "required": ["uuid"], "properties": {
    "uuid": {"type": "string", "format": "uuid"}}}}})
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


@group.route("/json", responses={200: {JSON: {"type": "object", "required": ["course"]}}})
async def json_(request: Request) -> Response:
    """A small JSON document."""
    return JSONResponse(SAMPLE)


@group.route("/html", responses={200: {"text/html": None}})
async def html(request: Request) -> Response:
    """A small HTML page."""
    page = "<!DOCTYPE html>\n<html><head><title>Mock server</title></head><body><h1>Hello from the mock server</h1></body></html>\n"
    return Response(page, media_type="text/html")


@group.route("/xml", responses={200: {"application/xml": None}})
async def xml(request: Request) -> Response:
    """A small XML document."""
    lessons = "".join(
        f'<lesson number="{item["number"]}" minutes="{item["minutes"]}">{item["title"]}</lesson>'
        for item in SAMPLE["course"]["lessons"]
    )
    document = f'<?xml version="1.0" encoding="UTF-8"?>\n<course title="{SAMPLE["course"]["title"]}">{lessons}</course>\n'
    return Response(document, media_type="application/xml")


@group.route("/gzip", responses={200: {JSON: Basics}})
async def gzipped(request: Request) -> Response:
    """A gzip-encoded JSON echo (Content-Encoding: gzip); clients decode it for you."""
    body = compact_json({**basics(request), "gzipped": True})
    return Response(
        gzip.compress(body, mtime=0), media_type="application/json", headers={"Content-Encoding": "gzip"}
    )


@group.route("/response-headers", methods=["GET", "POST"], any_query="each becomes a response header", responses={200: {JSON: {
    "type": "object", "additionalProperties": {"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]}}}})
async def response_headers(request: Request) -> Response:
    """Answer with each query argument set as a response header: /response-headers?X-Demo=1.

    Names must be valid header names; values may not contain control characters (no header
    injection); framing headers such as Content-Length are refused; Content-Type may only be
    a type that browsers do not render as a page.
    """
    asked = request.query_params.multi_items()
    if len(asked) > MAX_SET_HEADERS:
        raise ApiError(400, "too_many_headers", f"ask for at most {MAX_SET_HEADERS} headers, not {len(asked)}")
    chosen: list[tuple[bytes, bytes]] = []
    content_type = None
    for name, value in asked:
        if not _TOKEN.fullmatch(name):
            raise ApiError(400, "invalid_header", f"{name[:40]!r} is not a valid header name", header=name[:40])
        if _CONTROL.search(value):
            raise ApiError(400, "invalid_header", f"the value of {name} contains a control character", header=name)
        try:
            encoded = value.encode("latin-1")
        except UnicodeEncodeError:
            raise ApiError(
                400, "invalid_header",
                f"the value of {name} has a character that is not Latin-1 (ISO-8859-1), which a header cannot "
                "carry; percent-encode it",
                header=name,
            ) from None
        lowered = name.lower()
        if lowered in FRAMING_HEADERS:
            raise ApiError(400, "invalid_header", f"{name} is managed by the server and cannot be set", header=name)
        if lowered == "content-type":
            if essence(value) not in SAFE_CONTENT_TYPES:
                raise ApiError(
                    400, "invalid_header", f"Content-Type may be one of {', '.join(sorted(SAFE_CONTENT_TYPES))}",
                    header=name,
                )
            content_type = value  # replaces the JSON default rather than adding a second Content-Type
        else:
            chosen.append((lowered.encode("latin-1"), encoded))
    response = JSONResponse(arguments(request))
    if content_type is not None:
        response.headers["content-type"] = content_type
    response.raw_headers.extend(chosen)
    return response


@group.route(
    "/upload",
    Param("allowed_types", str, default=None,
          description="comma-separated media types every file part must carry, e.g. text/csv,image/png",
          rule={"pattern": ALLOWED_TYPES}),
    methods=["POST"],
    body={"multipart/form-data": {"type": "object", "additionalProperties": {"type": "string", "format": "binary"}}},
    responses={200: {JSON: Uploads}},
)
async def upload(request: Request, allowed_types: str | None) -> Response:
    """Receive a multipart upload; answer each file's name, size, SHA-256 and content type.

    The content type is the one your client sent for that part (null if it sent none). With
    allowed_types, every file part must carry one of those types; otherwise the whole upload is
    refused with a 415 that names the part, and no file is reported as received.
    """
    allowed = None if allowed_types is None else _media_types(allowed_types)
    if media_type(request) != "multipart/form-data":
        raise ApiError(
            415, "unsupported_media_type",
            "POST /upload expects a multipart/form-data body (requests: files=..., httpx: files=...)",
        )
    parts = (await read_form(request)).multi_items()
    if allowed is not None:
        _check_types(parts, allowed)
    files, fields = [], {}
    for name, value in parts:
        if isinstance(value, UploadFile):
            content = await value.read()
            files.append(
                {
                    "field": name,
                    "filename": value.filename,
                    "content_type": value.content_type,
                    "size": len(content),
                    "sha256": hashlib.sha256(content).hexdigest(),
                }
            )
        else:
            fields[name] = value
    return JSONResponse({"files": files, "form": fields})


def _media_types(raw: str) -> tuple[str, ...]:
    types = tuple(item.strip().lower() for item in raw.split(","))
    for item in types:
        if not _MEDIA_TYPE.fullmatch(item):
            raise invalid_param(
                "allowed_types", f"each item must be a type/subtype like text/csv (no wildcards or parameters), got {item!r}"
            )
    return types


def _check_types(parts: list[tuple[str, str | UploadFile]], allowed: tuple[str, ...]) -> None:
    """Refuse the upload (415) at the first file part whose type is not allowed."""
    for name, value in parts:
        if isinstance(value, UploadFile) and essence(value.content_type or "") not in allowed:
            carried = f"Content-Type {value.content_type}" if value.content_type else "no Content-Type"
            example = f'files={{{json.dumps(name)}: (filename, file, "{allowed[0]}")}}'
            raise ApiError(
                415, "unsupported_media_type",
                f"file part {name!r} carried {carried}, but this upload accepts only {', '.join(allowed)}; "
                f"send the type with each file, in requests: {example}",
                field=name, content_type=value.content_type, allowed=list(allowed),
            )
