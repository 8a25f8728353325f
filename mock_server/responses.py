"""Building responses: a status code with its usual headers, Retry-After, and JSON bytes."""

from __future__ import annotations

import time
from email.utils import formatdate
from http import HTTPStatus
from typing import Any

from starlette.responses import JSONResponse, Response

from .endpoints import Param

RETRY_AFTER_CODES = (429, 503)  # the codes whose meaning includes "come back later"
REDIRECT_CODES = (301, 302, 303, 307, 308)
BODYLESS_CODES = (204, 205, 304)
MAX_RETRY_AFTER = 86_400  # a day: enough to test a client's cap on Retry-After
# Headers one request may ask /response-headers or /cookies/set to add: Python's http.client
# (under requests and urllib3) refuses an answer with more than 100 headers.
MAX_SET_HEADERS = 50
# What status_response answers, for the docs: a small JSON body, or none for the bodyless codes.
STATUS_BODY = {
    "application/json": {
        "type": "object", "required": ["status", "reason"],
        "properties": {"status": {"type": "integer", "minimum": 200, "maximum": 599}, "reason": {"type": "string"}},
    },
}

RETRY_AFTER_FORMAT = Param(
    "retry_after_format", str, default="seconds", choices=("seconds", "http-date"),
    description="send Retry-After as delay-seconds or as an HTTP-date",
)


def retry_after_param(description: str) -> Param:
    """The `retry_after` query parameter, in seconds; `description` says where it applies."""
    return Param("retry_after", int, default=None, minimum=0, maximum=MAX_RETRY_AFTER, description=description)


def retry_after_value(seconds: int, form: str) -> str:
    """Retry-After in either of its two forms (RFC 9110 §10.2.3)."""
    if form == "http-date":
        return formatdate(time.time() + seconds, usegmt=True)
    return str(seconds)


def compact_json(value: Any) -> bytes:
    """JSON bytes exactly as JSONResponse renders them, for bodies built by hand."""
    return JSONResponse(value).body


def status_response(code: int, headers: dict[str, str] | None = None) -> Response:
    """A response with `code`, a small JSON body when the code allows one, and its usual headers."""
    headers = dict(headers or {})
    if code in REDIRECT_CODES:
        headers.setdefault("Location", "/get")
    if code == 401:
        headers.setdefault("WWW-Authenticate", 'Basic realm="mock-server"')
    if code in BODYLESS_CODES:
        return Response(status_code=code, headers=headers)
    return JSONResponse({"status": code, "reason": _phrase(code)}, code, headers)


def _phrase(code: int) -> str:
    try:
        return HTTPStatus(code).phrase
    except ValueError:
        return "Unregistered status code"
