"""Reading a request: its media type, JSON or form body, strictly validated fields, where it
came from, and the httpbin-style echo of all of it.

Every route module reads requests through these helpers, so each rule (what counts as JSON,
which bodies are forms, which hosts are local) is written once.
"""

from __future__ import annotations

import base64
import ipaddress
import json
import math
import re
from contextlib import aclosing
from itertools import accumulate
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException
from python_multipart.multipart import parse_options_header
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.requests import Request

from .config import describe
from .errors import ApiError
from .state import header_dict, server_state

JSON = "application/json"
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")

# The server's JSON rules, beyond the grammar (RFC 8259), so that whatever it reads it can
# also validate, store and send back. Python's parser would recurse until a RecursionError
# near 1000 levels, and turns 1e999 into inf and a 5,000-digit integer into a ValueError.
MAX_JSON_DEPTH = 64  # arrays and objects nested deeper are refused
MAX_JSON_INTEGER_DIGITS = 100  # longer integers are refused (Python's int-string limit is 4300)
# Below: a JSON string, so its brackets are not counted; and an escape that may be half of a surrogate pair.
_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")
_NOT_BRACKETS = bytes(byte for byte in range(256) if byte not in b"[]{}")
_NESTING_STEP = [0] * 256
_NESTING_STEP[ord("[")] = _NESTING_STEP[ord("{")] = 1
_NESTING_STEP[ord("]")] = _NESTING_STEP[ord("}")] = -1
_DEPTH_CHUNK = 65536  # brackets summed at a time, so a deep body is refused before all of it is summed


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
    data = parse_json(await request.body())
    if not isinstance(data, dict):
        raise ApiError(422, "validation_failed", f"the body must be a JSON object, got {type(data).__name__}")
    return data


def parse_json(raw: bytes) -> Any:
    """`raw` parsed by the server's JSON rules, or a 400 ApiError naming the rule it breaks.

    Beyond the grammar: UTF-8 only (RFC 8259 §8.1); arrays and objects nested at most
    MAX_JSON_DEPTH deep; no NaN or Infinity (they are not JSON); numbers that stay finite
    and integers of at most MAX_JSON_INTEGER_DIGITS digits; no lone surrogate escape such as
    \\ud800, which no UTF-8 text can carry.
    """
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ApiError(400, "malformed_json", f"the body is not valid JSON: it is not UTF-8 (byte {exc.start})") from None
    try:
        data = _DECODER.decode(text)
    except RecursionError:
        raise _too_deep() from None
    except ValueError as exc:
        raise ApiError(400, "malformed_json", f"the body is not valid JSON: {exc}") from None
    _check_depth(raw)
    if _SURROGATE_ESCAPE.search(text):
        try:
            json.dumps(data, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            raise ApiError(
                400, "json_invalid_string",
                "the JSON body has a lone UTF-16 surrogate escape (such as \\ud800 without its pair), "
                "which no UTF-8 text can carry",
            ) from None
    return data


def _check_depth(raw: bytes) -> None:
    """Refuse valid JSON nested deeper than MAX_JSON_DEPTH.

    Only for text that parsed: there every quote the pattern meets opens a string that
    closes, so stripping strings takes linear time (on broken JSON, such as an unclosed
    string full of escaped quotes, each quote would start a scan to the end).
    """
    if raw.count(b"[") + raw.count(b"{") <= MAX_JSON_DEPTH:
        return  # too few brackets to nest that deep; most bodies stop here
    brackets = _JSON_STRING.sub(b"", raw).translate(None, _NOT_BRACKETS)
    depth = 0
    for start in range(0, len(brackets), _DEPTH_CHUNK):
        levels = list(accumulate(map(_NESTING_STEP.__getitem__, brackets[start:start + _DEPTH_CHUNK]), initial=depth))
        if max(levels) > MAX_JSON_DEPTH:
            raise _too_deep()
        depth = levels[-1]


def _too_deep() -> ApiError:
    return ApiError(
        400, "json_too_deep",
        f"the JSON body nests arrays and objects more than {MAX_JSON_DEPTH} levels deep, the most the server reads",
        limit=MAX_JSON_DEPTH,
    )


def _not_json(constant: str) -> None:
    raise ApiError(
        400, "malformed_json",
        f"the body is not valid JSON: {constant} is not a JSON number (send null, or the value as a string)",
    )


def _finite_float(literal: str) -> float:
    value = float(literal)
    if math.isinf(value):
        raise ApiError(400, "json_number_out_of_range",
                       f"the JSON number {literal[:40]} is too large to be a finite number")
    return value


def _bounded_int(literal: str) -> int:
    if len(literal.lstrip("-")) > MAX_JSON_INTEGER_DIGITS:
        raise ApiError(
            400, "json_number_out_of_range",
            f"a JSON integer in the body has {len(literal.lstrip('-'))} digits; "
            f"the server reads at most {MAX_JSON_INTEGER_DIGITS}",
        )
    return int(literal)


# One decoder, made once (json.loads with hooks would build a new one per body).
_DECODER = json.JSONDecoder(parse_constant=_not_json, parse_float=_finite_float, parse_int=_bounded_int)


class _WholeMultiPartParser(MultiPartParser):
    """Starlette's multipart parser, refusing a body that ends before its closing boundary.

    python-multipart's finalize() does not check that the message ended (0.0.34 leaves it as
    a TODO), so a cut-off upload would parse as fewer parts, or none: a silent partial success.
    """

    ended = False

    def on_end(self) -> None:
        self.ended = True

    async def parse(self) -> FormData:
        form = await super().parse()
        if not self.ended:
            await form.close()
            boundary = parse_options_header(self.headers["Content-Type"])[1][b"boundary"].decode("latin-1")
            raise MultiPartException(f"the multipart body ended before its closing boundary --{boundary[:70]}--")
        return form


# What Starlette's form parsers say when a field is over max_part_size (starlette 1.10).
_FIELD_TOO_LARGE = ("Part exceeded maximum size", "Field exceeded maximum size")


async def read_form(request: Request) -> FormData:
    """The form or multipart body; a 400 that says why it could not be parsed, or a 413 for a
    field (not a file) over the server's --max-form-field."""
    config = server_state(request).config
    try:
        if media_type(request) == "multipart/form-data":
            async with aclosing(request.stream()) as stream:
                return await _WholeMultiPartParser(request.headers, stream, max_part_size=config.max_form_field).parse()
        return await request.form(max_part_size=config.max_form_field)
    except (HTTPException, MultiPartException) as exc:
        detail = exc.detail if isinstance(exc, HTTPException) else exc.message
        if detail.startswith(_FIELD_TOO_LARGE):
            raise ApiError(
                413, "form_field_too_large",
                f"form fields are limited to {config.max_form_field} bytes each (the server's "
                f"{describe('max_form_field')}); send large values as a file part",
                limit=config.max_form_field,
            ) from None
        raise ApiError(400, "malformed_form", f"could not parse the form body: {detail}") from None


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
    if not request.scope["query_string"]:
        return {}
    values: dict[str, list[str]] = {}
    for name, value in request.query_params.multi_items():
        values.setdefault(name, []).append(value)  # appending, not copying, so repeats cost linear time
    return {name: given[0] if len(given) == 1 else given for name, given in values.items()}


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
    parsed = _echoed_json(body, media_type(request)) if body and not form and not files else None
    return {**basics(request), "data": data, "files": files, "form": form, "json": parsed}


def _echoed_json(body: bytes, sent: str) -> Any:
    """The body as JSON for the echo, or None (as httpbin shows) when it is not JSON.

    A body sent as application/json that is JSON but breaks one of the server's rules (too
    deep, a number out of range, a lone surrogate) gets the same 400 as everywhere else.
    """
    try:
        return parse_json(body)
    except ApiError as exc:
        if exc.error == "malformed_json" or sent != JSON:
            return None
        raise
