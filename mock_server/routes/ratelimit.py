"""A real rate limiter: a fixed window per client key, announced in RateLimit-* headers."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ..endpoints import ALL_METHODS, Group, Param
from ..errors import ApiError
from ..reading import JSON
from ..responses import RETRY_AFTER_FORMAT, retry_after_value
from ..state import MAX_ENTRIES_PER_CLIENT, client_state, remember

group = Group("Rate limiting", "A per-client limiter that answers 429 with Retry-After once you go too fast.")


@dataclass
class Window:
    start: float
    used: int = 0


@group.route(
    "/ratelimited",
    Param("limit", int, default=None, minimum=1, maximum=10_000,
          description="requests allowed per window (default: the server's --rate-limit)"),
    Param("window", float, default=None, minimum=0.1, maximum=3600,
          description="window length in seconds (default: the server's --rate-window)"),
    RETRY_AFTER_FORMAT,
    methods=ALL_METHODS,
    responses={200: {JSON: {"type": "object", "required": ["ok", "remaining"],
                            "properties": {"ok": {"enum": [True]}, "remaining": {"type": "integer", "minimum": 0}}}}},
)
async def ratelimited(request: Request, limit: int | None, window: float | None, retry_after_format: str) -> Response:
    """Allow `limit` requests per `window` seconds for each client key, then answer 429.

    A window starts with the first request after the previous one ended. Every answer carries
    RateLimit-Limit, RateLimit-Remaining and RateLimit-Reset (seconds until the window ends);
    a 429 also carries Retry-After, as delay-seconds or (retry_after_format=http-date) a date.
    """
    config = request.app.state.mock.config
    limit = config.rate_limit if limit is None else limit
    window = config.rate_window if window is None else window
    now = time.monotonic()
    windows = client_state(request).windows
    current: Window = remember(windows, f"{limit}/{window}", lambda: Window(now), MAX_ENTRIES_PER_CLIENT)
    if now >= current.start + window:
        current.start, current.used = now, 0
    reset = max(1, math.ceil(current.start + window - now))
    headers = {"RateLimit-Limit": str(limit), "RateLimit-Reset": str(reset)}
    if current.used >= limit:
        headers["RateLimit-Remaining"] = "0"
        headers["Retry-After"] = retry_after_value(reset, retry_after_format)
        raise ApiError(
            429, "rate_limited", f"limit of {limit} requests per {window:g} s reached; retry after {reset} s",
            headers=headers, retry_after=reset,
        )
    current.used += 1
    headers["RateLimit-Remaining"] = str(limit - current.used)
    return JSONResponse({"ok": True, "remaining": limit - current.used}, headers=headers)
