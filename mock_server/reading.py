"""Reading a request: its media type, JSON or form body, strictly validated fields, where it
came from, and the httpbin-style echo of all of it.

Every route module reads requests through these helpers, so each rule (what counts as JSON,
which bodies are forms, which hosts are local) is written once.
"""

from __future__ import annotations

import base64
import ipaddress
import json
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request

from .errors import ApiError
from .state import header_dict

JSON = "application/json"
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def essence(content_type: str) -> str:
    """A Content-Type without its parameters, lowercased: 'Text/CSV; charset=utf-8' -> 'text/csv'."""
    return content_type.split(";", 1)[0].strip().lower()


def media_type(request: Request) -> str:
    """The request's media type ('' when it sent no Content-Type)."""
    return essence(request.headers.get("content-type", ""))


async def json_object(request: Request) -> dict[str, Any]:
    """The request body as a JSON object, or a 415/400/422 that says what is wrong."""
    sent = media_type(request)
    if sent != JSON:
        raise ApiError(
            415, "unsupported_media_type",
            f"send a JSON body with Content-Type: application/json (got {sent or 'no Content-Type'}); "
            "in requests or httpx use json=...",
        )
    try:
        data = json.loads(await request.body())
    except ValueError as exc:
        raise ApiError(400, "malformed_json", f"the body is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ApiError(422, "validation_failed", f"the body must be a JSON object, got {type(data).__name__}")
    return data


async def read_form(request: Request) -> FormData:
    """The form or multipart body, or a 400 that says why it could not be parsed."""
    try:
        return await request.form()
    except HTTPException as exc:
        raise ApiError(400, "malformed_form", f"could not parse the form body: {exc.detail}") from None


class Strict(BaseModel):
    """Request bodies are checked strictly: no type coercion, no unknown fields."""

    model_config = ConfigDict(strict=True, extra="forbid")


def validated(model: type[BaseModel], data: dict[str, Any], *, partial: bool) -> dict[str, Any]:
    """`data` checked against `model` (only the fields it sets, when `partial`), or a 422 naming each bad field."""
    try:
        return model.model_validate(data).model_dump(exclude_unset=partial)
    except ValidationError as exc:
        fields = {".".join(map(str, error["loc"])) or "body": error["msg"] for error in exc.errors()}
        raise ApiError(422, "validation_failed", f"invalid fields: {', '.join(fields)}", fields=fields) from None


class Basics(BaseModel):
    """What `basics` answers: the echo of a request without its body."""

    args: dict[str, str | list[str]]
    headers: dict[str, str]
    origin: str | None
    url: str


class Echo(Basics):
    """What `with_body` answers: the echo with the body as data, form, files and json."""

    data: str
    files: dict[str, str]
    form: dict[str, str]
    json_: Any = Field(alias="json", description="the body parsed as JSON, or null")  # BaseModel has .json


# What an echo reads, as a request body: anything, shown for the media types it parses.
ANY_BODY = {
    JSON: {},
    "application/x-www-form-urlencoded": {"type": "object", "additionalProperties": {"type": "string"}},
    "multipart/form-data": {"type": "object", "additionalProperties": {"type": "string", "format": "binary"}},
    "text/plain": {"type": "string"},
    "application/octet-stream": {"type": "string", "format": "binary"},
}


def is_loopback(host: str | None) -> bool:
    """Whether `host` names this machine (localhost, 127.0.0.0/8, ::1)."""
    if host is None:
        return False
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def origin(request: Request) -> str:
    """This server's origin, from the Host header when it names a loopback host."""
    host_header = request.headers.get("host", "")
    if is_loopback(urlsplit(f"//{host_header}").hostname):
        return f"{request.url.scheme}://{host_header}"
    host, port = request.scope["server"][:2]
    return f"{request.url.scheme}://{host}:{port}"


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
    """The echo of a request without its body: args, headers, origin and url."""
    return {
        "args": arguments(request),
        "headers": header_dict(request.headers.raw),
        "origin": request.client.host if request.client else None,
        "url": request_url(request),
    }


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
    form: dict[str, Any] = {}
    files: dict[str, Any] = {}
    data = ""
    if media_type(request) in FORM_TYPES:
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
