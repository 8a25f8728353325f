"""Status codes on demand, and responses that take their time."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ..endpoints import ALL_METHODS, Group, Param
from ..errors import invalid_param
from ..errors import ErrorBody
from ..reading import ANY_BODY, JSON, Echo, with_body
from ..responses import (
    RETRY_AFTER_CODES, RETRY_AFTER_FORMAT, STATUS_BODY, retry_after_param, retry_after_value, status_response,
)
from ..state import server_state
from ..waiting import wait

group = Group("Status and time", "Any status code you need, and slow responses.")


class Delayed(Echo):
    delay: float


@group.route(
    "/status/{code}",
    Param("code", int, "path", description="an HTTP status code from 200 to 599",
          rule={"minimum": 200, "maximum": 599}),
    retry_after_param("Retry-After seconds, sent with any code (default: --retry-after, on 429 and 503 only)"),
    RETRY_AFTER_FORMAT,
    methods=ALL_METHODS,
    responses={
        **{status: STATUS_BODY for status in ("2XX", "3XX", "5XX")},
        "4XX": {JSON: {"anyOf": [ErrorBody, STATUS_BODY[JSON]]}},
    },
)
async def status(request: Request, code: int, retry_after: int | None, retry_after_format: str) -> Response:
    """Answer with the status code you ask for.

    Codes 100-199 are refused: an informational code cannot be a final response. 429 and 503
    carry Retry-After (the server's --retry-after); with retry_after given, any code carries it
    (urllib3 honours Retry-After on any status it retries). 3xx carry Location: /get; 401
    carries a Basic challenge.
    """
    if 100 <= code <= 199:
        raise invalid_param("code", f"{code} is informational (1xx) and cannot be a final response; use 200-599")
    if not 200 <= code <= 599:
        raise invalid_param("code", f"must be a status code from 200 to 599, got {code}")
    if retry_after is None and code in RETRY_AFTER_CODES:
        retry_after = server_state(request).config.retry_after
    headers = {} if retry_after is None else {"Retry-After": retry_after_value(retry_after, retry_after_format)}
    return status_response(code, headers)


@group.route(
    "/delay/{seconds}",
    Param("seconds", float, "path", minimum=0, maximum="max_duration", description="how long to wait"),
    methods=ALL_METHODS,
    body=ANY_BODY,
    body_required=False,
    responses={200: {JSON: Delayed}},
)
async def delay(request: Request, seconds: float) -> Response:
    """Wait `seconds` (awaited, never blocking the server), then echo the request.

    The wait ends early if the client disconnects. Server-Timing reports the delay applied.
    """
    echo = await with_body(request)
    await wait(request, seconds)
    return JSONResponse({**echo, "delay": seconds}, headers={"Server-Timing": f"delay;dur={seconds * 1000:g}"})
