"""A real rate limiter per client key: fixed window, sliding window (a log) or token bucket,
announced in RateLimit-* headers.

Every answer carries both generations of rate-limit headers:

- the older triple of the draft's revisions up to -06: RateLimit-Limit, RateLimit-Remaining,
  RateLimit-Reset (whole seconds, at least 1);
- the structured fields of draft-ietf-httpapi-ratelimit-headers-11 (May 2026, the latest
  revision; -10 has the same syntax): `RateLimit-Policy: "fixed";q=5;w=1` (an SF List of
  quota policies: a String naming the policy, q = quota, w = window in whole seconds) and
  `RateLimit: "fixed";r=4;t=1` (r = quota left, t = seconds within which no more than r may be
  used). The draft allows no fraction of a second in w, so a window such as 0.5 s is announced
  as w=1 (rounded up, so a client pacing by q/w never goes too fast) with the exact length in
  a parameter of this server's own, mock-window=0.5 (the draft asks for a vendor prefix).
"""

from __future__ import annotations

import math
import time
from array import array
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ..endpoints import ALL_METHODS, Group, Param
from ..errors import ApiError, invalid_param
from ..reading import JSON
from ..responses import RETRY_AFTER_FORMAT, retry_after_value
from ..state import MAX_ENTRIES_PER_CLIENT, MAX_SLIDING_LOGS_PER_CLIENT, client_state, remember

group = Group(
    "Rate limiting",
    "A per-client limiter (fixed window, sliding window or token bucket) that answers 429 with "
    "Retry-After once you go too fast, and announces its policy in RateLimit-* headers.",
)

DRAFT = "draft-ietf-httpapi-ratelimit-headers-11"
ALGORITHMS = ("fixed", "sliding", "token")
MAX_LIMIT = 10_000
# The sliding log keeps one arrival time (8 bytes) per request its limit allows: a cap on the
# limit is a cap on its memory (~8 KiB a log; state.MAX_SLIDING_LOGS_PER_CLIENT logs per key).
MAX_SLIDING_LIMIT = 1000
# Slack for float arithmetic: a client that waits exactly the announced time gets its token.
EPSILON = 1e-9
RATE_LIMITED = {
    "type": "object", "required": ["error", "message", "retry_after", "algorithm"],
    "properties": {
        "error": {"enum": ["rate_limited"]}, "message": {"type": "string"},
        "retry_after": {"type": "integer", "minimum": 1}, "algorithm": {"enum": list(ALGORITHMS)},
    },
}


@dataclass(slots=True)
class Window:
    """A fixed window: when it started and how many requests it admitted."""

    start: float
    used: int = 0


@dataclass(slots=True)
class Bucket:
    """A token bucket: its tokens (a fraction while refilling) as of `updated`."""

    tokens: float
    updated: float


class SlidingLog:
    """The arrival times of the requests admitted in the last window: a ring of `limit` slots."""

    __slots__ = ("times", "head", "count")

    def __init__(self, limit: int) -> None:
        self.times = array("d", bytes(8 * limit))
        self.head = 0  # index of the oldest time kept
        self.count = 0

    def oldest(self) -> float:
        return self.times[self.head]

    def forget_before(self, cutoff: float) -> None:
        """Drop the times at or before `cutoff`: those requests have left the span."""
        while self.count and self.times[self.head] <= cutoff:
            self.head = (self.head + 1) % len(self.times)
            self.count -= 1

    def add(self, at: float) -> None:
        self.times[(self.head + self.count) % len(self.times)] = at
        self.count += 1


@dataclass(slots=True)
class Decision:
    admitted: bool
    remaining: int
    reset: int  # whole seconds, at least 1: until the quota next grows (and, refused, the Retry-After)


def whole_seconds(seconds: float) -> int:
    return max(1, math.ceil(seconds - EPSILON))


def fixed_window(windows: dict, limit: int, window: float, now: float) -> Decision:
    current: Window = remember(windows, f"{limit}/{window}", lambda: Window(now), MAX_ENTRIES_PER_CLIENT)
    if now >= current.start + window:
        current.start, current.used = now, 0
    admitted = current.used < limit
    current.used += admitted
    return Decision(admitted, limit - current.used, max(1, math.ceil(current.start + window - now)))


def sliding_window(logs: dict, limit: int, window: float, now: float) -> Decision:
    log: SlidingLog = remember(logs, f"{limit}/{window}", lambda: SlidingLog(limit), MAX_SLIDING_LOGS_PER_CLIENT)
    log.forget_before(now - window)
    admitted = log.count < limit
    if admitted:
        log.add(now)
    return Decision(admitted, limit - log.count, whole_seconds(log.oldest() + window - now))


def token_bucket(windows: dict, limit: int, window: float, burst: int, now: float) -> Decision:
    bucket: Bucket = remember(
        windows, f"token/{limit}/{window}/{burst}", lambda: Bucket(burst, now), MAX_ENTRIES_PER_CLIENT
    )
    rate = limit / window
    bucket.tokens = min(burst, bucket.tokens + (now - bucket.updated) * rate)
    bucket.updated = now
    admitted = bucket.tokens >= 1 - EPSILON
    if admitted:
        bucket.tokens = max(0.0, bucket.tokens - 1)
    whole = math.floor(bucket.tokens + EPSILON)
    return Decision(admitted, whole, whole_seconds((whole + 1 - bucket.tokens) / rate))


def sf_decimal(value: float) -> str:
    """An RFC 9651 Decimal: at most three fractional digits, and always a point."""
    text = f"{value:.3f}".rstrip("0")
    return text + "0" if text.endswith(".") else text


def policy_field(name: str, quota: int, window: float | None = None, **extra: str) -> str:
    """One quota policy item of RateLimit-Policy (draft -11 §3.1)."""
    item = f'"{name}";q={quota}'
    if window is not None:
        item += f";w={whole_seconds(window)}"
        if window != int(window):
            item += f";mock-window={sf_decimal(window)}"
    return item + "".join(f";{key.replace('_', '-')}={value}" for key, value in extra.items())


def limit_field(name: str, remaining: int, reset: int | None = None) -> str:
    """One service limit item of RateLimit (draft -11 §4.1)."""
    return f'"{name}";r={remaining}' + ("" if reset is None else f";t={reset}")


@group.route(
    "/ratelimited",
    Param("limit", int, default=None, minimum=1, maximum=MAX_LIMIT,
          description="requests allowed per window; with algorithm=token, the refill: limit tokens per window "
                      f"(default: the server's --rate-limit; at most {MAX_SLIDING_LIMIT} with algorithm=sliding)"),
    Param("window", float, default=None, minimum=0.1, maximum=3600,
          description="window length in seconds (default: the server's --rate-window)"),
    Param("algorithm", str, default="fixed", choices=ALGORITHMS,
          description="fixed: a window starts with the first request after the previous one ended; "
                      "sliding: at most limit requests in any window-long span; "
                      "token: a bucket of burst tokens refilled at limit/window per second"),
    Param("burst", int, default=None, minimum=1, maximum=MAX_LIMIT,
          description="the token bucket's capacity (default: limit); only with algorithm=token"),
    RETRY_AFTER_FORMAT,
    methods=ALL_METHODS,
    responses={
        200: {JSON: {"type": "object", "required": ["ok", "remaining", "algorithm"],
                     "properties": {"ok": {"enum": [True]}, "remaining": {"type": "integer", "minimum": 0},
                                    "algorithm": {"enum": list(ALGORITHMS)}}}},
        429: {JSON: RATE_LIMITED},
    },
)
async def ratelimited(
    request: Request, limit: int | None, window: float | None, algorithm: str, burst: int | None,
    retry_after_format: str,
) -> Response:
    """Allow `limit` requests per `window` seconds for each client key, then answer 429.

    algorithm=fixed (the default): a window starts with the first request after the previous
    one ended and admits `limit` requests. algorithm=sliding: at most `limit` requests in any
    `window`-long span (a log of arrival times); a refused request waits until the oldest one
    logged leaves the span. algorithm=token: a bucket of `burst` tokens (default `limit`),
    full at first, refilled continuously at limit/window tokens per second; each request takes
    one. Each (algorithm, limit, window, burst) is a policy with its own state per client key;
    a key keeps its 200 newest fixed windows and buckets and its 8 newest sliding logs, and
    POST /__admin/reset starts them all again.

    Every answer, 200 or 429, carries RateLimit-Limit (the limit; the burst for a token
    bucket), RateLimit-Remaining, RateLimit-Reset (whole seconds, at least 1: until the window
    ends, the oldest logged request leaves the span, or the next token arrives), and the
    structured fields of draft-ietf-httpapi-ratelimit-headers-11: RateLimit-Policy
    `"fixed";q=5;w=1` (`"token";q=5;w=1;mock-burst=10` for a bucket; a fractional window is
    announced as w rounded up plus mock-window=0.5) and RateLimit `"fixed";r=4;t=1`. A 429
    also carries Retry-After, equal to RateLimit-Reset, as delay-seconds or
    (retry_after_format=http-date) a date; its body is `{"error": "rate_limited", "message",
    "retry_after", "algorithm"}`. A limit over 1000 with algorithm=sliding, or burst without
    algorithm=token, is refused with 400.
    """
    config = request.app.state.mock.config
    if burst is not None and algorithm != "token":
        raise invalid_param("burst", f"is the token bucket's capacity: it needs algorithm=token, got algorithm={algorithm}")
    if limit is None:
        limit = config.rate_limit
        if algorithm == "sliding" and limit > MAX_SLIDING_LIMIT:
            raise invalid_param("limit", f"must be at most {MAX_SLIDING_LIMIT} with algorithm=sliding, and the "
                                         f"server's --rate-limit is {limit}: give limit")
    elif algorithm == "sliding" and limit > MAX_SLIDING_LIMIT:
        raise invalid_param("limit", f"must be at most {MAX_SLIDING_LIMIT} with algorithm=sliding (its log keeps "
                                     f"one arrival time per request allowed), got {limit}")
    window = config.rate_window if window is None else window
    now = time.monotonic()
    client = client_state(request)
    if algorithm == "fixed":
        decision, ceiling, extra = fixed_window(client.windows, limit, window, now), limit, {}
    elif algorithm == "sliding":
        decision, ceiling, extra = sliding_window(client.sliding_logs, limit, window, now), limit, {}
    else:
        burst = limit if burst is None else burst
        decision, ceiling = token_bucket(client.windows, limit, window, burst, now), burst
        extra = {"mock_burst": str(burst)}
    headers = {
        "RateLimit-Limit": str(ceiling),
        "RateLimit-Remaining": str(decision.remaining),
        "RateLimit-Reset": str(decision.reset),
        "RateLimit-Policy": policy_field(algorithm, limit, window, **extra),
        "RateLimit": limit_field(algorithm, decision.remaining, decision.reset),
    }
    if not decision.admitted:
        headers["Retry-After"] = retry_after_value(decision.reset, retry_after_format)
        raise ApiError(429, "rate_limited", _refusal(algorithm, limit, window, ceiling, decision.reset),
                       headers=headers, retry_after=decision.reset, algorithm=algorithm)
    return JSONResponse({"ok": True, "remaining": decision.remaining, "algorithm": algorithm}, headers=headers)


def _refusal(algorithm: str, limit: int, window: float, burst: int, reset: int) -> str:
    if algorithm == "fixed":
        what = f"limit of {limit} requests per {window:g} s reached"
    elif algorithm == "sliding":
        what = f"limit of {limit} requests in any {window:g} s reached (sliding window)"
    else:
        what = f"token bucket empty (capacity {burst}, refilled at {limit} per {window:g} s)"
    return f"{what}; retry after {reset} s"
