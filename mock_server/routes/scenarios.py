"""Failure on purpose, per client key: fail N times then succeed, scripted sequences, seeded
random failures, and a request that never answers."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ..contract import CLIENT_KEY_HEADER
from ..endpoints import ALL_METHODS, Group, Param
from ..errors import ApiError, ErrorBody, invalid_param
from ..reading import JSON
from ..responses import RETRY_AFTER_FORMAT, STATUS_BODY, retry_after_param, retry_after_value, status_response
from ..state import client_state, server_state
from ..waiting import wait

group = Group(
    "Scenarios",
    f"Deterministic trouble for retry lessons. Counters are per {CLIENT_KEY_HEADER} and per request "
    "(method, path and query), and POST /__admin/reset starts them again.",
)

MAX_FAILURES = 100
MAX_SEQUENCE = 100
FAILURE_STATUS = Param("status", int, default=503, minimum=400, maximum=599, description="status of each failure")
RETRY_AFTER = retry_after_param("add Retry-After (seconds) to every failure, whatever its status; none by default")
OK = {"type": "object", "required": ["ok"], "properties": {"ok": {"enum": [True]}, "attempt": {"type": "integer", "minimum": 1}}}
# The failures asked for: JSON errors, with any 4xx or 5xx status.
FAILURES = {"4XX": {JSON: ErrorBody}, "5XX": {JSON: ErrorBody}}
CODES = r"^\s*[2-5][0-9]{2}\s*(,\s*[2-5][0-9]{2}\s*){0,%d}$" % (MAX_SEQUENCE - 1)


def _scenario(request: Request) -> str:
    """The counter name for this request: the same method, path and query share a counter."""
    return f"{request.method} {request.url.path}?{request.url.query}"


def _retry_after(retry_after: int | None, form: str) -> dict[str, str]:
    if retry_after is None:
        return {}
    return {"Retry-After": retry_after_value(retry_after, form)}


@group.route(
    "/flaky",
    Param("fail", int, default=2, minimum=0, maximum=MAX_FAILURES, description="how many calls fail first"),
    FAILURE_STATUS,
    RETRY_AFTER,
    RETRY_AFTER_FORMAT,
    methods=ALL_METHODS,
    responses={200: {JSON: OK | {"required": ["ok", "attempt", "failures_before_success"]}}, **FAILURES},
)
async def flaky(request: Request, fail: int, status: int, retry_after: int | None, retry_after_format: str) -> Response:
    """The first `fail` calls answer `status` (default: 2 calls, 503); every later call answers 200.

    Each answer says which attempt it was. With retry_after set, every failure carries
    Retry-After, whatever its status (urllib3 honours it on any status it retries).
    """
    attempt = client_state(request).count(_scenario(request))
    if attempt <= fail:
        headers = _retry_after(retry_after, retry_after_format)
        raise ApiError(status, "flaky_failure", f"simulated failure {attempt} of {fail}", attempt=attempt, headers=headers)
    return JSONResponse({"ok": True, "attempt": attempt, "failures_before_success": fail})


@group.route(
    "/flaky/sequence",
    Param("codes", str, description="comma-separated status codes to answer in order, e.g. 503,429,200",
          rule={"pattern": CODES}),
    Param("cycle", bool, default=False, description="start over after the last code (else repeat the last code)"),
    RETRY_AFTER,
    RETRY_AFTER_FORMAT,
    methods=ALL_METHODS,
    # 200 is the OK body; other codes below 400 are status_response's.
    responses={"2XX": {JSON: {"anyOf": [OK, STATUS_BODY[JSON]]}}, "3XX": STATUS_BODY, **FAILURES},
)
async def flaky_sequence(
    request: Request, codes: str, cycle: bool, retry_after: int | None, retry_after_format: str
) -> Response:
    """Answer the status codes of `codes` one call at a time: 503,429,200 gives 503, then 429, then 200.

    With retry_after set, every failure (4xx and 5xx) carries Retry-After; other codes do not.
    """
    script = _codes(codes)
    attempt = client_state(request).count(_scenario(request))
    index = (attempt - 1) % len(script) if cycle else min(attempt, len(script)) - 1
    code = script[index]
    if code >= 400:
        raise ApiError(code, "scripted_failure", f"call {attempt} of the sequence {codes}", attempt=attempt,
                       headers=_retry_after(retry_after, retry_after_format))
    return status_response(code) if code != 200 else JSONResponse({"ok": True, "attempt": attempt})


def _codes(raw: str) -> list[int]:
    parts = raw.split(",")
    if len(parts) > MAX_SEQUENCE:
        raise invalid_param("codes", f"may list at most {MAX_SEQUENCE} codes")
    codes = []
    for part in parts:
        part = part.strip()
        if not (part.isascii() and part.isdigit() and len(part) <= 3) or not 200 <= int(part) <= 599:
            raise invalid_param("codes", f"each code must be from 200 to 599, got {part!r}")
        codes.append(int(part))
    return codes


@group.route(
    "/unstable",
    Param("failure_rate", float, default=0.5, minimum=0, maximum=1, description="chance that a call fails"),
    FAILURE_STATUS,
    Param("seed", int, default=None, minimum=0,
          description="seed of the draws, the same for every client key (default: the server's --seed and your key)"),
    methods=ALL_METHODS,
    responses={200: {JSON: OK}, **FAILURES},
)
async def unstable(request: Request, failure_rate: float, status: int, seed: int | None) -> Response:
    """Fail with probability `failure_rate`, drawn from a seeded stream that a reset starts again.

    With seed=N the answers depend only on N, failure_rate and status, so every client key sees
    the same sequence ("with seed=7 you will see ..."). Without it, the stream is seeded with the
    server's --seed and your client key, so each key sees its own.
    """
    client = client_state(request)
    if seed is None:
        stream = client.random(f"unstable:{server_state(request).config.seed}:{failure_rate}:{status}")
    else:
        stream = client.random(f"unstable:{seed}:{failure_rate}:{status}", shared=True)
    draw = stream.random()
    if draw < failure_rate:
        raise ApiError(status, "unstable_failure", f"simulated failure (failure_rate={failure_rate:g})")
    return JSONResponse({"ok": True})


@group.route("/hang", methods=ALL_METHODS, responses={504: {JSON: ErrorBody}})
async def hang(request: Request) -> Response:
    """Never answer: hold the request until the client gives up (set a timeout!).

    After the server's --max-duration it answers 504, so nothing waits forever; if the client
    leaves first, the journal shows 499.
    """
    limit = server_state(request).config.max_duration
    await wait(request, limit)
    raise ApiError(504, "hung", f"hung for {limit:g} s (the server's --max-duration); your client should time out sooner")
