"""The admin API under /__admin/: what the server saw, and controls over its behaviour.

Admin requests are never journaled or slowed down; like everything else they act on the
caller's X-Client-Key.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ..classroom import instructor_only
from ..config import describe
from ..endpoints import Group, Param
from ..contract import SERVICE
from ..errors import ApiError
from ..reading import JSON, Strict, json_object, validated
from ..state import Chaos, ClientState, client_key, server_state

group = Group("Admin", "Inspect and control the server: journal, statistics, reset, chaos.")
# The counts' names are listed in the docstrings; each is a number unless it says otherwise.
BY_NAME = {"type": "object", "additionalProperties": {"type": "integer"}}
COUNTS = {JSON: {"type": "object", "additionalProperties": {"type": "number"}, "properties": {
    "client_key": {"type": "string"}, "statuses": BY_NAME, "connections_by_protocol": BY_NAME}}}
JOURNAL = {JSON: {"type": "object", "required": ["count", "requests"], "properties": {
    "count": {"type": "integer", "minimum": 0},
    "requests": {"type": "array", "items": {"type": "object", "required": ["id", "method", "path", "status"]}}}}}


def caller(request: Request, *, create: bool = False) -> ClientState:
    """The state of the client key this admin request is about.

    Reading about an unknown key shows an empty state without storing it, so looking does
    not push other keys out of the server's memory.
    """
    state = server_state(request)
    key = client_key(request)
    if create:
        return state.client(key)
    return state.clients.get(key) or ClientState(key, 0, state.config, state.journal_budget, state.state_budget)


@group.route("/__admin/health", responses={200: {JSON: {
    "type": "object", "required": ["status", "service", "seed", "tls"],
    "properties": {"status": {"enum": ["ok"]}, "service": {"type": "string"}, "seed": {"type": "integer"},
                   "tls": {"type": "object", "nullable": True, "required": ["url", "ca"], "properties": {
                       "url": {"type": "string"}, "ca": {"type": "string"}}}}}}})
async def health(request: Request) -> Response:
    """Is the server up? (The course helpers probe this.)

    `tls` is the HTTPS port's base URL and the path of the CA file its clients must trust
    (null when --tls-port is 0).
    """
    state = server_state(request)
    return JSONResponse({"status": "ok", "service": SERVICE, "seed": state.config.seed, "tls": state.tls})


@group.route(
    "/__admin/requests",
    Param("method", str, default=None, description="only requests with this method"),
    Param("path", str, default=None, description="only requests to this path"),
    Param("query", str, default=None, description="only requests with exactly this query string (a=1&b=2)"),
    Param("last", int, default=None, minimum=1, maximum="journal_size", description="only the newest N"),
    responses={200: JOURNAL},
)
async def requests(
    request: Request, method: str | None, path: str | None, query: str | None, last: int | None
) -> Response:
    """The journal: the requests this client key sent, oldest first, as the server saw them.

    Secrets (Authorization, Cookie, X-API-Key) are redacted; bodies are cut at the server's
    --journal-body-bytes; only the newest --journal-size requests are kept, and all keys' journals
    share --journal-bytes, past which the least recently active key's oldest entries go first.
    `dropped` counts this key's entries that are gone, by the limit that pushed them out.
    """
    limit = server_state(request).config.journal_body_bytes
    journal = caller(request).journal
    entries = [
        entry for entry in journal
        if (method is None or entry.method == method.upper())
        and (path is None or entry.path == path)
        and (query is None or entry.query.decode("latin-1") == query)
    ]
    if last is not None:
        entries = entries[-last:]
    return JSONResponse(
        {"count": len(entries), "requests": [entry.as_json(limit) for entry in entries], "dropped": journal.dropped()}
    )


@group.route("/__admin/stats", responses={200: COUNTS})
async def stats(request: Request) -> Response:
    """This client key's counts: requests, statuses, TCP connections used (and by protocol: http/1.1, h2, h2c),
    most requests in flight at once."""
    return JSONResponse(caller(request).stats())


@group.route("/__admin/stats/server", responses={200: COUNTS})
async def server_stats(request: Request) -> Response:
    """Server-wide counts, across every client key."""
    return JSONResponse(server_state(request).stats())


@group.route("/__admin/reset", Param("all", bool, default=False, description="reset every client key"), methods=["POST"],
             responses={200: {JSON: {"type": "object", "required": ["reset"], "properties": {"reset": {"type": "string"}}}}})
async def reset(request: Request, all: bool) -> Response:
    """Forget this client key's journal, counters, records, Idempotency-Keys and chaos (all=true: every key's;
    in classroom mode only with the instructor token)."""
    state = server_state(request)
    key = client_key(request)
    if all:
        if state.classroom is not None and not state.classroom.is_instructor(request.scope["headers"]):
            raise instructor_only("resetting every client key (all=true)")
        state.reset_all()
        return JSONResponse({"reset": "all"})
    state.reset_client(key)
    return JSONResponse({"reset": key})


class ChaosIn(Strict):
    latency: Annotated[float, Field(ge=0, description="seconds added to every response")] = 0.0
    jitter: Annotated[float, Field(ge=0, description="up to this many extra seconds, drawn per request")] = 0.0
    connect_latency: Annotated[float, Field(ge=0, description="seconds added to a connection's first request")] = 0.0
    failure_rate: Annotated[float, Field(ge=0, le=1, description="chance that a request fails")] = 0.0
    failure_codes: Annotated[
        list[Annotated[int, Field(ge=400, le=599)]],
        Field(min_length=1, max_length=10, description="the status codes a failure picks from"),
    ] = [500, 502, 503]


@group.route("/__admin/chaos", methods=["GET"], responses={200: {JSON: ChaosIn}})
async def get_chaos(request: Request) -> Response:
    """The trouble currently added to this client key's requests."""
    client = caller(request)
    chaos = client.chaos or server_state(request).default_chaos
    return JSONResponse(chaos.as_json())


@group.route("/__admin/chaos", methods=["PUT"], body={JSON: ChaosIn}, responses={200: {JSON: ChaosIn}})
async def put_chaos(request: Request) -> Response:
    """Add latency, a simulated handshake delay, or random failures to this client key's requests.

    Fields left out take their defaults: no delays, no failures, failure_codes 500, 502 and 503.
    Each delay, and their sum, is limited by the server's --max-duration.
    """
    wanted = ChaosIn(**validated(ChaosIn, await json_object(request), partial=False))
    limit = server_state(request).config.max_duration
    if wanted.latency + wanted.jitter + wanted.connect_latency > limit:
        raise ApiError(
            422, "validation_failed",
            f"latency + jitter + connect_latency must be at most {limit:g} s (the server's {describe('max_duration')})",
        )
    chaos = Chaos(wanted.latency, wanted.jitter, wanted.connect_latency, wanted.failure_rate, tuple(wanted.failure_codes))
    caller(request, create=True).chaos = chaos
    return JSONResponse(chaos.as_json())


@group.route("/__admin/chaos", methods=["DELETE"], responses={200: {JSON: ChaosIn}})
async def delete_chaos(request: Request) -> Response:
    """Back to the server's own settings (its --latency, --jitter and --connect-latency)."""
    caller(request).chaos = None
    return JSONResponse(server_state(request).default_chaos.as_json())
