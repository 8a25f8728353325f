"""Classroom mode (--classroom): learners, their keys and budgets, the instructor token, class-wide chaos.

One server serves a whole class. A learner joins with a name and gets a key that carries a
secret ("ada~<22 characters>", 128 random bits); in this mode every request must carry that key
in X-Client-Key, or "<learner key>/<anything>", so one learner cannot name, and so cannot read,
reset or re-script, another's state. Each learner has a rate and a concurrency budget; a request
over either gets its 429 after a short hold, so a loop that ignores the 429s cannot keep the server
busy refusing it while the class waits. The instructor's bearer token opens /__admin/classroom/...
(the learners, class-wide chaos, results).

Without --classroom none of this exists: ServerState.classroom is None and the traffic
middleware does not look further.
"""

from __future__ import annotations

import asyncio
import math
import re
import secrets
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from .config import Config, describe
from .contract import (CLASSROOM_PREFIX, CLIENT_KEY_HEADER, CLIENT_KEY_PATTERN, LEARNER_NAME_PATTERN, LEARNER_NAME_RULE,
                       LEARNER_SECRET_PATTERN, LEARNER_SEPARATOR, LEARNER_SUBKEY_SEPARATOR)
from .errors import ApiError
from .state import parse_client_key

LEARNER_NAME = re.compile(LEARNER_NAME_PATTERN)
LEARNER_KEY = re.compile(
    f"({LEARNER_NAME_PATTERN}){re.escape(LEARNER_SEPARATOR)}({LEARNER_SECRET_PATTERN})"
    f"(?:{re.escape(LEARNER_SUBKEY_SEPARATOR)}{CLIENT_KEY_PATTERN})?"
)
JOIN_HINT = 'join the class first: course.server.join("your-name") in a notebook (or POST /__admin/classroom/join)'
# Paths a request may use without a learner key: the health probe, the classroom endpoints (each
# checks what it needs itself: join needs nothing, results a learner key, the rest the token), the docs.
OPEN_PATHS = ("/__admin/health", "/docs", "/openapi.json")
# Bounds on what lab results one learner may keep: labs, exercises per lab, and the length of their names.
MAX_LABS = 50
MAX_EXERCISES = 50
MAX_RESULT_NAME = 64
RESULT_NAME = re.compile(r"[^\x00-\x1f\x7f]{1,64}")
LAB_NAME = re.compile(r"[A-Za-z0-9._-]{1,32}")
# Most learners one TCP connection remembers having served (for the learners' connection counts).
MAX_LEARNERS_PER_CONNECTION = 100
# An over-budget request's 429 is held back one budget tick (1/--learner-rate seconds, at most
# MAX_REFUSAL_HOLD), so a loop that ignores Retry-After waits a tick per refusal instead of
# making the server spend a core answering it. At most MAX_HELD_REFUSALS per learner wait at
# once (the rest are answered at once), so held requests stay few.
MAX_REFUSAL_HOLD = 1.0
MAX_HELD_REFUSALS = 16


@dataclass
class ClassChaos:
    """The class-wide weather: added to every learner's non-admin requests, before their own chaos."""

    latency: float = 0.0
    jitter: float = 0.0
    failure_rate: float = 0.0
    failure_codes: tuple[int, ...] = (500, 502, 503)
    rate_limit: tuple[int, float] | None = None  # (requests, window seconds) per learner
    since: float = field(default_factory=time.time)  # when it was set (wall clock, for "since")

    def as_json(self) -> dict[str, Any]:
        limit = None if self.rate_limit is None else {"limit": self.rate_limit[0], "window": self.rate_limit[1]}
        return {"latency": self.latency, "jitter": self.jitter, "failure_rate": self.failure_rate,
                "failure_codes": list(self.failure_codes), "rate_limit": limit}

    @property
    def calm(self) -> bool:
        return not (self.latency or self.jitter or self.failure_rate or self.rate_limit)


class Learner:
    """One learner who joined: their key, budgets' state, counts and lab results."""

    def __init__(self, name: str, burst: float) -> None:
        self.name = name
        self.secret = secrets.token_urlsafe(16)  # 128 bits, 22 characters
        self.key = f"{name}{LEARNER_SEPARATOR}{self.secret}"
        self.joined = time.time()
        self.requests = 0
        self.statuses = {"2xx": 0, "3xx": 0, "4xx": 0, "5xx": 0}
        self.rate_limited = 0  # answers with status 429, whoever sent them (the budget, class chaos, /ratelimited)
        self.errors = 0  # requests the client gave up on before the answer (499)
        self.budget_refusals = 0
        self.held_refusals = 0  # 429s waiting out their hold (MAX_HELD_REFUSALS)
        self.connections = 0  # TCP connections this learner has used
        self.connections_open = 0
        self.in_flight = 0
        self.last_seen: float | None = None  # time.monotonic()
        self.tokens = burst  # the rate budget's token bucket, full
        self.refilled = time.monotonic()
        self.window: tuple[ClassChaos, float, int] | None = None  # class rate limit: (for which chaos, start, count)
        self.labs: dict[str, dict[str, tuple[bool, str]]] = {}  # lab -> exercise -> (passed, reported_at)

    def count(self, status: int | None) -> None:
        """Count one finished request's answer (None: the client left before it)."""
        if status is None or status == 499:
            self.errors += 1
            return
        group = f"{min(max(status // 100, 2), 5)}xx"
        self.statuses[group] += 1
        if status == 429:
            self.rate_limited += 1

    def as_json(self, now: float) -> dict[str, Any]:
        return {
            "name": self.name,
            "requests": self.requests,
            "statuses": dict(self.statuses),
            "rate_limited": self.rate_limited,
            "budget_refusals": self.budget_refusals,
            "errors": self.errors,
            "connections": self.connections,
            "connections_open": self.connections_open,
            "in_flight": self.in_flight,
            "last_seen": None if self.last_seen is None else round(now - self.last_seen, 1),
            "labs": {lab: {name: passed for name, (passed, _) in exercises.items()}
                     for lab, exercises in sorted(self.labs.items())},
        }


class Classroom:
    """Everything classroom mode keeps: bounded by --max-learners and the result limits above."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.token = config.instructor_token or secrets.token_urlsafe(24)
        self.token_bytes = self.token.encode()
        self.learners: dict[str, Learner] = {}
        self.chaos = ClassChaos()

    # ---- who is asking

    def identify(self, raw_key: str | None) -> tuple[str, Learner | None]:
        """The request's client key, and the learner whose key it is (None: not a key this class gave out)."""
        if raw_key is not None:
            found = LEARNER_KEY.fullmatch(raw_key)
            if found is not None:
                learner = self.learners.get(found[1])
                if learner is not None and secrets.compare_digest(learner.secret, found[2]):
                    return raw_key, learner
                return raw_key, None
            if LEARNER_SEPARATOR in raw_key or LEARNER_SUBKEY_SEPARATOR in raw_key:
                raise join_required(raw_key)  # meant as a learner key, but not one: say how to get one
        return parse_client_key(raw_key), None

    def is_instructor(self, headers: list[tuple[bytes, bytes]]) -> bool:
        """Whether the request carries `Authorization: Bearer <the instructor token>`."""
        for name, value in headers:
            if name == b"authorization":
                scheme, _, token = value.partition(b" ")
                return scheme.lower() == b"bearer" and secrets.compare_digest(token.strip(), self.token_bytes)
        return False

    def needs_learner(self, path: str) -> bool:
        return needs_learner(path)

    # ---- joining

    def join(self, name: Any, learner: Learner | None) -> tuple[Learner, bool]:
        """The learner called `name` (True: newly joined); `learner` is whoever the request's key names."""
        if not isinstance(name, str) or not LEARNER_NAME.fullmatch(name):
            raise ApiError(422, "invalid_name", f"a learner's name must be {LEARNER_NAME_RULE} (e.g. \"ada\"), "
                           f"got {str(name)[:40]!r}", field="name")
        existing = self.learners.get(name)
        if existing is not None:
            if learner is existing:
                return existing, False
            raise ApiError(409, "name_taken", f"the name {name!r} is taken in this class: pick another, or rejoin "
                           f"with the key you got for it in {CLIENT_KEY_HEADER} (course.server.join remembers it)",
                           name=name)
        if len(self.learners) >= self.config.max_learners:
            raise ApiError(409, "classroom_full", f"this class is full: {self.config.max_learners} learners have "
                           f"joined (the server's {describe('max_learners')}); ask the instructor",
                           limit=self.config.max_learners)
        joined = self.learners[name] = Learner(name, budget_burst(self.config.learner_rate))
        return joined, True

    # ---- budgets

    def admit(self, learner: Learner, now: float) -> ApiError | None:
        """Spend one request of `learner`'s budgets; an ApiError (429) when either is used up."""
        config = self.config
        if learner.in_flight >= config.learner_concurrency:
            return budget_exceeded(
                f"{learner.in_flight} of your requests are in flight, the most one learner may have at once "
                f"(the server's {describe('learner_concurrency')}, {config.learner_concurrency})",
                "concurrency", config.learner_concurrency, 1)
        rate = config.learner_rate
        learner.tokens = min(budget_burst(rate), learner.tokens + (now - learner.refilled) * rate)
        learner.refilled = now
        if learner.tokens < 1:
            wait = math.ceil((1 - learner.tokens) / rate)
            return budget_exceeded(
                f"you sent more than {rate:g} requests per second, the most one learner may send "
                f"(the server's {describe('learner_rate')})", "rate", rate, wait)
        learner.tokens -= 1
        return None

    async def hold_refusal(self, learner: Learner) -> None:
        """Wait one budget tick before an over-budget answer, unless MAX_HELD_REFUSALS already wait."""
        if learner.held_refusals >= MAX_HELD_REFUSALS:
            return
        learner.held_refusals += 1
        try:
            await asyncio.sleep(min(MAX_REFUSAL_HOLD, 1 / self.config.learner_rate))
        finally:
            learner.held_refusals -= 1

    def class_limited(self, learner: Learner, now: float) -> ApiError | None:
        """The class-wide rate limit's 429 for this request, if the instructor set one and it is used up."""
        chaos = self.chaos
        if chaos.rate_limit is None:
            return None
        limit, window = chaos.rate_limit
        if learner.window is None or learner.window[0] is not chaos or now - learner.window[1] >= window:
            learner.window = (chaos, now, 0)
        owner, start, count = learner.window
        if count >= limit:
            retry = max(1, math.ceil(start + window - now))
            return ApiError(429, "class_rate_limited",
                            f"the class-wide limit set by the instructor: at most {limit} requests per {window:g} s "
                            "per learner; wait for Retry-After and go on", headers={"Retry-After": str(retry)},
                            limit=limit, window=window)
        learner.window = (owner, start, count + 1)
        return None

    def note_connection(self, learner: Learner, connection: Any) -> None:
        """Count `connection` for `learner` the first time they use it."""
        if connection is None:
            return
        seen = connection.learners
        if seen is None:
            seen = connection.learners = {}
        if learner.name in seen:
            return
        if len(seen) >= MAX_LEARNERS_PER_CONNECTION:
            del seen[next(iter(seen))]
        seen[learner.name] = learner
        learner.connections += 1
        learner.connections_open += 1

    # ---- lab results

    def report(self, learner: Learner, lab: Any, exercises: Any) -> int:
        """Keep `learner`'s results for `lab`; the number of exercises taken, or a 422 saying what is wrong."""
        if not isinstance(lab, str) or not LAB_NAME.fullmatch(lab):
            raise ApiError(422, "validation_failed", f"lab must be 1 to 32 characters from A-Z a-z 0-9 . _ - "
                           f"(e.g. \"07\"), got {str(lab)[:40]!r}", fields={"lab": "invalid"})
        if not isinstance(exercises, list) or not 1 <= len(exercises) <= MAX_EXERCISES:
            raise ApiError(422, "validation_failed", f"exercises must be a list of 1 to {MAX_EXERCISES} "
                           "{\"name\": ..., \"passed\": true|false}", fields={"exercises": "invalid"})
        results: dict[str, bool] = {}
        for number, item in enumerate(exercises):
            if (not isinstance(item, dict) or set(item) != {"name", "passed"} or not isinstance(item["name"], str)
                    or not RESULT_NAME.fullmatch(item["name"]) or not isinstance(item["passed"], bool)):
                raise ApiError(422, "validation_failed", f"exercises[{number}] must be {{\"name\": a name of 1 to "
                               f"{MAX_RESULT_NAME} characters, \"passed\": true or false}}",
                               fields={f"exercises.{number}": "invalid"})
            results[item["name"]] = item["passed"]
        kept = learner.labs.get(lab)
        if kept is None:
            if len(learner.labs) >= MAX_LABS:
                raise ApiError(409, "too_many_labs", f"a learner's results are kept for at most {MAX_LABS} labs")
            kept = learner.labs[lab] = {}
        if len(set(kept) | set(results)) > MAX_EXERCISES:
            raise ApiError(409, "too_many_exercises", f"a lab's results are kept for at most {MAX_EXERCISES} exercises")
        at = datetime.now(timezone.utc).isoformat(timespec="seconds")
        for name, passed in results.items():
            kept[name] = (passed, at)
        return len(results)

    def results_rows(self) -> list[tuple[str, str, str, bool, str]]:
        return [(learner.name, lab, name, passed, at)
                for learner in sorted(self.learners.values(), key=lambda learner: learner.name)
                for lab, exercises in sorted(learner.labs.items())
                for name, (passed, at) in exercises.items()]

    def listing(self) -> dict[str, Any]:
        now = time.monotonic()
        learners = [learner.as_json(now) for learner in sorted(self.learners.values(), key=lambda one: one.name)]
        return {"count": len(learners), "learners": learners}


def needs_learner(path: str) -> bool:
    """Whether a request to `path` needs a learner key (or the instructor token) in classroom mode."""
    return not (path.startswith(CLASSROOM_PREFIX) or path.startswith(OPEN_PATHS))


def learner_address(request: Any) -> str | None:
    """The requesting learner's own IP address in classroom mode (webhook and redirect targets may be it), else None."""
    if request.scope.get("mock.learner") is None or not request.scope.get("client"):
        return None
    return request.scope["client"][0]


def budget_burst(rate: float) -> float:
    """The rate budget's bucket size: a second's worth of requests, and at least one (for a rate under 1/s)."""
    return max(1.0, rate)


def budget_exceeded(why: str, budget: str, limit: float, retry_after: int) -> ApiError:
    return ApiError(429, "learner_budget_exceeded",
                    f"{why}, so that one runaway loop cannot slow down the class; wait for Retry-After, "
                    "and send fewer requests at once", headers={"Retry-After": str(retry_after)},
                    budget=budget, limit=limit)


def join_required(raw_key: str | None) -> ApiError:
    if raw_key is not None and LEARNER_KEY.fullmatch(raw_key):
        why = f"the learner key in {CLIENT_KEY_HEADER} is not one this server gave out (it may have been restarted)"
    elif raw_key is None:
        why = f"this request has no {CLIENT_KEY_HEADER}"
    else:
        why = f"{CLIENT_KEY_HEADER} {raw_key[:40]!r} is not a learner key"
    return ApiError(401, "join_required", f"this server runs a class: every request needs your learner key. "
                    f"{why}; {JOIN_HINT}, then use KEY = course.server.client_key(...)")


def instructor_only(what: str) -> ApiError:
    return ApiError(401, "instructor_only", f"{what} is for the instructor: send Authorization: Bearer <the "
                    "instructor token> (printed when the classroom server started, or its --instructor-token)",
                    headers={"WWW-Authenticate": 'Bearer realm="classroom"'})
