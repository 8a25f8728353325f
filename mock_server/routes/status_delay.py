"""Status codes on demand, and responses that take their time."""

from __future__ import annotations

import time
from email.utils import formatdate
from http import HTTPStatus

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ..endpoints import ALL_METHODS, Group, Param
from ..errors import invalid_param
from ..state import server_state
from ..waiting import wait
from .echo import with_body

group = Group("Status and time", "Any status code you need, and slow responses.")

RETRY_AFTER_CODES = (429, 503)
REDIRECT_CODES = (301, 302, 303, 307, 308)
BODYLESS_CODES = (204, 205, 304)
MAX_RETRY_AFTER = 86_400  # a day: enough to test a client's cap on Retry-After

RETRY_AFTER = Param(
    "retry_after", int, default=None, minimum=0, maximum=MAX_RETRY_AFTER,
    description="Retry-After seconds on 429/503 (default: the server's --retry-after)",
)
RETRY_AFTER_FORMAT = Param(
    "retry_after_format", str, default="seconds", choices=("seconds", "http-date"),
    description="send Retry-After as delay-seconds or as an HTTP-date",
)


def retry_after_value(seconds: int, form: str) -> str:
    """Retry-After in either of its two forms (RFC 9110 §10.2.3)."""
    if form == "http-date":
        return formatdate(time.time() + seconds, usegmt=True)
    return str(seconds)


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


@group.route(
    "/status/{code}",
    Param("code", int, "path", description="an HTTP status code from 200 to 599"),
    RETRY_AFTER,
    RETRY_AFTER_FORMAT,
    methods=ALL_METHODS,
)
async def status(request: Request, code: int, retry_after: int | None, retry_after_format: str) -> Response:
    """Answer with the status code you ask for.

    Codes 100-199 are refused: an informational code cannot be a final response. 429 and 503
    carry Retry-After; 3xx carry Location: /get; 401 carries a Basic challenge.
    """
    if 100 <= code <= 199:
        raise invalid_param("code", f"{code} is informational (1xx) and cannot be a final response; use 200-599")
    if not 200 <= code <= 599:
        raise invalid_param("code", f"must be a status code from 200 to 599, got {code}")
    headers = {}
    if code in RETRY_AFTER_CODES:
        seconds = server_state(request).config.retry_after if retry_after is None else retry_after
        headers["Retry-After"] = retry_after_value(seconds, retry_after_format)
    return status_response(code, headers)


@group.route(
    "/delay/{seconds}",
    Param("seconds", float, "path", minimum=0, maximum="max_duration", description="how long to wait"),
    methods=ALL_METHODS,
)
async def delay(request: Request, seconds: float) -> Response:
    """Wait `seconds` (awaited, never blocking the server), then echo the request.

    The wait ends early if the client disconnects. Server-Timing reports the delay applied.
    """
    echo = await with_body(request)
    await wait(request, seconds)
    return JSONResponse({**echo, "delay": seconds}, headers={"Server-Timing": f"delay;dur={seconds * 1000:g}"})
