"""Limits on load rather than on rate: a cap on requests in flight, and an overloaded service
that shows a thundering herd."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ..contract import CLIENT_KEY_HEADER
from ..endpoints import ALL_METHODS, Group, Param
from ..errors import ApiError, invalid_param
from ..reading import JSON
from ..state import MAX_ENTRIES_PER_CLIENT, client_state, remember, server_state
from ..waiting import wait

group = Group(
    "Capacity",
    f"Limits on load rather than on rate, per {CLIENT_KEY_HEADER}: at most N requests in flight, and an "
    "overloaded service that refuses what exceeds its capacity per short interval.",
)

MAX_IN_FLIGHT = 100
DEFAULT_DELAY = 0.5  # seconds, or the server's --max-duration if that is shorter
MAX_CAPACITY = 1000
MIN_INTERVAL, MAX_INTERVAL = 0.01, 60
MAX_SERVICE_NAME = 64
SERVICE_NAME = r"^[A-Za-z0-9._:-]{1,%d}$" % MAX_SERVICE_NAME
_SERVICE_NAME = re.compile(SERVICE_NAME)


def _error(code: str, extra: dict) -> dict:
    return {
        "type": "object", "required": ["error", "message", *extra],
        "properties": {"error": {"enum": [code]}, "message": {"type": "string"}, **extra},
    }


COUNT = {"type": "integer", "minimum": 0}


@group.route(
    "/concurrency-limited",
    Param("max_in_flight", int, default=2, minimum=1, maximum=MAX_IN_FLIGHT,
          description="requests of this client key (and this max_in_flight) allowed in flight at once"),
    Param("delay", float, default=None, minimum=0, maximum="max_duration",
          description=f"seconds each request takes (default {DEFAULT_DELAY:g}, or --max-duration if shorter)"),
    methods=ALL_METHODS,
    responses={
        200: {JSON: {"type": "object", "required": ["ok", "in_flight", "max_in_flight", "delay"],
                     "properties": {"ok": {"enum": [True]}, "in_flight": {"type": "integer", "minimum": 1},
                                    "max_in_flight": {"type": "integer", "minimum": 1},
                                    "delay": {"type": "number", "minimum": 0}}}},
        429: {JSON: _error("concurrency_limited", {"max_in_flight": COUNT, "in_flight": COUNT})},
    },
)
async def concurrency_limited(request: Request, max_in_flight: int, delay: float | None) -> Response:
    """Allow at most `max_in_flight` requests in flight at once; answer 429 at once beyond that.

    Each admitted request takes `delay` seconds (ended early if its client leaves), then
    answers 200 with `in_flight`: how many were in flight when it arrived, itself included
    (1 to max_in_flight). The count is per client key and per max_in_flight value: requests
    asking for another max_in_flight are another limiter. A request that finds the limit
    reached gets 429 with error "concurrency_limited", `max_in_flight` and `in_flight`, and
    no Retry-After: a slot frees when another request ends, not at a time the server knows.
    A cancelled or abandoned request frees its slot. Answers carry the draft's structured
    fields (draft-ietf-httpapi-ratelimit-headers-11, quota unit "concurrent-requests"):
    RateLimit-Policy `"concurrency";q=2;qu="concurrent-requests"` and RateLimit
    `"concurrency";r=<slots free after this request was admitted, 0 on a 429>`.
    """
    if delay is None:
        delay = min(DEFAULT_DELAY, server_state(request).config.max_duration)
    counts = client_state(request).in_flight_by_limit
    current = counts.get(max_in_flight, 0)
    policy = f'"concurrency";q={max_in_flight};qu="concurrent-requests"'
    if current >= max_in_flight:
        raise ApiError(
            429, "concurrency_limited",
            f"max_in_flight of {max_in_flight} reached: {current} requests of this client key are in flight; "
            "send the next one when one of them has finished",
            headers={"RateLimit-Policy": policy, "RateLimit": '"concurrency";r=0'},
            max_in_flight=max_in_flight, in_flight=current,
        )
    counts[max_in_flight] = current + 1
    headers = {"RateLimit-Policy": policy, "RateLimit": f'"concurrency";r={max_in_flight - current - 1}'}
    try:
        await wait(request, delay)
    finally:
        left = counts[max_in_flight] - 1
        if left:
            counts[max_in_flight] = left
        else:
            del counts[max_in_flight]
    return JSONResponse({"ok": True, "in_flight": current + 1, "max_in_flight": max_in_flight, "delay": delay},
                        headers=headers)


@dataclass(slots=True)
class Interval:
    start: float
    admitted: int = 0
    refused: int = 0


@group.route(
    "/overloaded",
    Param("capacity", int, default=5, minimum=1, maximum=MAX_CAPACITY,
          description="requests the service admits per interval"),
    Param("interval", float, default=0.1, minimum=MIN_INTERVAL, maximum=MAX_INTERVAL,
          description="length of each interval, in seconds"),
    Param("name", str, default="default",
          description=f"the service's name: one experiment's label (1 to {MAX_SERVICE_NAME} of A-Z a-z 0-9 . _ : -)",
          rule={"pattern": SERVICE_NAME}),
    methods=ALL_METHODS,
    responses={
        200: {JSON: {"type": "object", "required": ["ok", "name", "admitted", "capacity"],
                     "properties": {"ok": {"enum": [True]}, "name": {"type": "string"},
                                    "admitted": {"type": "integer", "minimum": 1},
                                    "capacity": {"type": "integer", "minimum": 1}}}},
        503: {JSON: _error("overloaded", {"name": {"type": "string"}, "capacity": COUNT,
                                          "interval": {"type": "number"}, "refused": COUNT})},
    },
)
async def overloaded(request: Request, capacity: int, interval: float, name: str) -> Response:
    """An overloaded service: at most `capacity` requests per `interval` seconds, the rest 503 at once.

    The service is shared by every request of one client key with the same name, capacity
    and interval, so the "clients" of one experiment (tasks sharing the lesson's key) compete
    for it. An interval starts with the first request after the previous one ended; it admits
    `capacity` requests (200, with `admitted`: this request's place in the interval) and
    refuses the rest with 503, error "overloaded" and no Retry-After (the body says how many
    this interval refused so far).

    The thundering herd: when many clients fail together and all retry after the same delay
    (no jitter), their retries land in the same interval again, so only `capacity` of them
    get through each round and the rest fail again, round after round. Clients that draw
    their delays at random (full jitter) spread their retries over many intervals, each one
    with room, so nearly all succeed at the first retry. The journal's `at` times show
    the two shapes.
    """
    if not _SERVICE_NAME.fullmatch(name):
        shown = f"{len(name)} characters" if len(name) > MAX_SERVICE_NAME else repr(name)
        raise invalid_param("name", f"must be 1 to {MAX_SERVICE_NAME} characters of A-Z a-z 0-9 . _ : -, got {shown}")
    now = time.monotonic()
    current: Interval = remember(
        client_state(request).windows, f"overloaded/{capacity}/{interval}/{name}", lambda: Interval(now),
        MAX_ENTRIES_PER_CLIENT,
    )
    if now >= current.start + interval:
        current.start, current.admitted, current.refused = now, 0, 0
    if current.admitted >= capacity:
        current.refused += 1
        raise ApiError(
            503, "overloaded",
            f"service {name!r} is overloaded: it admits {capacity} requests per {interval:g} s and has admitted "
            f"them all in this interval; try again later",
            name=name, capacity=capacity, interval=interval, refused=current.refused,
        )
    current.admitted += 1
    return JSONResponse({"ok": True, "name": name, "admitted": current.admitted, "capacity": capacity})
