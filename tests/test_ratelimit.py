"""Rate and capacity limits over real TCP: /ratelimited's three algorithms and their headers,
/concurrency-limited's cap on requests in flight, and /overloaded's shared capacity.

Timing-robust: windows are long enough that a burst of back-to-back requests falls inside one,
and every wait is a lower bound (time.sleep never returns early); no test asserts that
something happened within a wall-clock limit.
"""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from email.utils import parsedate_to_datetime

import httpx
import pytest

from mock_server.routes.capacity import MAX_CAPACITY, MAX_IN_FLIGHT, MAX_SERVICE_NAME
from mock_server.routes.ratelimit import MAX_LIMIT, MAX_SLIDING_LIMIT
from waiting import wait_until

# RFC 9651 bare items of the kinds the draft's fields use, and one List member with its parameters.
_BARE = r'(?:-?[0-9]{1,12}\.[0-9]{1,3}|-?[0-9]{1,15}|"(?:[\x20\x21\x23-\x5b\x5d-\x7e]|\\["\\])*"|[A-Za-z*][!#$%&\'*+\-.^_`|~:/A-Za-z0-9]*|:[A-Za-z0-9+/=]*:|\?[01])'
_KEY = r"[a-z*][a-z0-9_.*-]*"
_MEMBER = re.compile(rf"({_BARE})((?:;{_KEY}(?:={_BARE})?)*)")
_PARAM = re.compile(rf";({_KEY})(?:=({_BARE}))?")


def _value(raw: str) -> object:
    if raw.startswith('"'):
        return re.sub(r"\\(.)", r"\1", raw[1:-1])
    if re.fullmatch(r"-?[0-9]+", raw):
        return int(raw)
    if re.fullmatch(r"-?[0-9]+\.[0-9]+", raw):
        return float(raw)
    return raw


def sf_list(field: str) -> list[tuple[object, dict[str, object]]]:
    """A Structured Field List of Items with parameters, parsed strictly (ValueError if malformed)."""
    members = []
    rest = field.strip(" ")
    while rest:
        match = _MEMBER.match(rest)
        if match is None:
            raise ValueError(f"not a structured list item: {rest!r}")
        params = {key: _value(value) if value is not None else True for key, value in _PARAM.findall(match[2])}
        members.append((_value(match[1]), params))
        rest = rest[match.end():].lstrip(" ")
        if rest:
            if not rest.startswith(","):
                raise ValueError(f"expected a comma: {rest!r}")
            rest = rest[1:].lstrip(" ")
            if not rest:
                raise ValueError("trailing comma")
    return members


def test_the_structured_field_parser_is_strict() -> None:
    assert sf_list('"fixed";q=5;w=1;mock-window=0.5') == [("fixed", {"q": 5, "w": 1, "mock-window": 0.5})]
    assert sf_list('"a";q=1, "b";r=2;t=3') == [("a", {"q": 1}), ("b", {"r": 2, "t": 3})]
    for bad in ('"fixed";Q=5', '"fixed";q=5,', "fixed q=5", '"fixed";q=0.12345', '"fixed";q=5;;w=1'):
        with pytest.raises(ValueError):
            sf_list(bad)


def statuses(client: httpx.Client, path: str, n: int, **params: object) -> list[int]:
    return [client.get(path, params=params).status_code for _ in range(n)]


# (algorithm and its parameters, requests sent back to back, the statuses, RateLimit-Limit)
BURSTS = [
    ({"algorithm": "fixed", "limit": 3, "window": 5}, 5, [200, 200, 200, 429, 429], "3"),
    ({"limit": 3, "window": 5}, 5, [200, 200, 200, 429, 429], "3"),  # fixed is the default
    ({"algorithm": "sliding", "limit": 3, "window": 5}, 5, [200, 200, 200, 429, 429], "3"),
    ({"algorithm": "token", "limit": 3, "window": 5}, 5, [200, 200, 200, 429, 429], "3"),  # burst = limit
    ({"algorithm": "token", "limit": 1, "window": 5, "burst": 4}, 6, [200] * 4 + [429] * 2, "4"),
]


@pytest.mark.parametrize(("params", "n", "expected", "ceiling"), BURSTS, ids=[str(row[0]) for row in BURSTS])
def test_a_burst_is_admitted_up_to_the_limit_then_429(
    client: httpx.Client, params: dict, n: int, expected: list[int], ceiling: str
) -> None:
    answers = [client.get("/ratelimited", params=params) for _ in range(n)]
    assert [r.status_code for r in answers] == expected
    admitted = expected.count(200)
    assert [r.headers["ratelimit-remaining"] for r in answers] == [str(admitted - i - 1) for i in range(admitted)] + [
        "0"
    ] * (n - admitted)
    assert all(r.headers["ratelimit-limit"] == ceiling for r in answers)
    refused = answers[-1]
    body = refused.json()
    assert body["error"] == "rate_limited" and body["algorithm"] == params.get("algorithm", "fixed")
    assert refused.headers["retry-after"] == refused.headers["ratelimit-reset"] == str(body["retry_after"])


def test_each_policy_and_each_key_has_its_own_state(client: httpx.Client, base_url: str) -> None:
    assert statuses(client, "/ratelimited", 2, limit=1, window=5) == [200, 429]
    for algorithm in ("sliding", "token"):
        assert statuses(client, "/ratelimited", 2, limit=1, window=5, algorithm=algorithm) == [200, 429]
    assert statuses(client, "/ratelimited", 1, limit=1, window=6) == [200], "another window is another policy"
    assert statuses(client, "/ratelimited", 1, limit=2, window=5) == [200], "so is another limit"
    assert statuses(client, "/ratelimited", 1, limit=1, window=5, algorithm="token", burst=2) == [200], "and burst"
    with httpx.Client(base_url=base_url, headers={"X-Client-Key": "ratelimit-other-key"}, timeout=10) as other:
        other.post("/__admin/reset")
        assert statuses(other, "/ratelimited", 1, limit=1, window=5) == [200], "another key is not limited"
    client.post("/__admin/reset")
    assert statuses(client, "/ratelimited", 1, limit=1, window=5, algorithm="sliding") == [200], "reset forgets"


def model(params: dict, arrivals: list[float]) -> list[int]:
    """The statuses a limiter of `params` owes requests arriving at `arrivals` (seconds): the reference."""
    limit, window, algorithm = params["limit"], params["window"], params.get("algorithm", "fixed")
    answers = []
    if algorithm == "fixed":
        start, used = None, 0
        for at in arrivals:
            if start is None or at >= start + window:
                start, used = at, 0
            answers.append(200 if used < limit else 429)
            used += used < limit
    elif algorithm == "sliding":
        log: list[float] = []
        for at in arrivals:
            log = [logged for logged in log if logged > at - window]
            answers.append(200 if len(log) < limit else 429)
            if len(log) < limit:
                log.append(at)
    else:
        burst = params.get("burst", limit)
        tokens, last = float(burst), arrivals[0]
        for at in arrivals:
            tokens, last = min(burst, tokens + (at - last) * limit / window), at
            answers.append(200 if tokens >= 1 - 1e-9 else 429)
            tokens -= tokens >= 1 - 1e-9
    return answers


# (what it shows, the policy, the timeline: (seconds to sleep, then requests to send back to back),
#  the statuses it is designed to give, the Retry-After of its last answer)
TIMELINES = [
    ("the sliding window frees a slot when the oldest request leaves, not all at once",
     {"algorithm": "sliding", "limit": 2, "window": 1.5}, [(0, 1), (1.0, 1), (1.0, 2)], [200, 200, 200, 429], "1"),
    ("the fixed window starts afresh: two more at 2 s, four within 1 s of each other",
     {"algorithm": "fixed", "limit": 2, "window": 1.5}, [(0, 1), (1.0, 1), (1.0, 2)], [200, 200, 200, 200], None),
    ("the token bucket refills at limit per window: one token every 0.5 s",
     {"algorithm": "token", "limit": 2, "window": 1, "burst": 2}, [(0, 3), (0.55, 2)], [200, 200, 429, 200, 429], "1"),
    ("a full bucket admits more than limit in the first window: six in 0.5 s at 4 per second",
     {"algorithm": "token", "limit": 4, "window": 1}, [(0, 4), (0.5, 3)], [200] * 6 + [429], "1"),
]


@pytest.mark.parametrize(("what", "params", "timeline", "designed", "retry_after"), TIMELINES,
                         ids=[row[0].split(":")[0] for row in TIMELINES])
def test_each_algorithm_over_time(
    base_url: str, what: str, params: dict, timeline: list[tuple[float, int]], designed: list[int],
    retry_after: str | None,
) -> None:
    """The server's answers match the reference model at the arrival times the server recorded.

    A loaded machine can delay a request past a boundary; then the model (fed the journal's
    times) still says what the answers must be, and the timeline runs again, under a new key,
    until it shows what it was designed to show (three tries). So does a run whose key the
    server forgot while it slept (the session server keeps --max-clients keys, and parallel
    tests make hundreds).
    """
    for attempt in range(3):
        with httpx.Client(base_url=base_url, headers={"X-Client-Key": f"timeline-{uuid.uuid4().hex[:12]}"},
                          timeout=10) as client:
            answers = []
            for pause, n in timeline:
                time.sleep(pause)
                answers += [client.get("/ratelimited", params=params) for _ in range(n)]
            arrivals = [entry["at"] for entry in client.get("/__admin/requests").json()["requests"]]
        if len(arrivals) != len(answers):
            continue  # the key was forgotten while it slept (other tests' keys filled --max-clients)
        got = [answer.status_code for answer in answers]
        assert got == model(params, arrivals), f"arrivals {arrivals}"
        if got == designed:
            break
    else:
        pytest.fail(f"three runs were too slow to show that {what}")
    if retry_after is not None:
        assert answers[-1].headers["retry-after"] == retry_after


@pytest.mark.parametrize("algorithm", ["fixed", "sliding", "token"])
def test_the_structured_fields_follow_the_draft(client: httpx.Client, algorithm: str) -> None:
    params = {"algorithm": algorithm, "limit": 2, "window": 3}
    answers = [client.get("/ratelimited", params=params) for _ in range(3)]
    assert [r.status_code for r in answers] == [200, 200, 429]
    for answer in answers:
        (policy,) = sf_list(answer.headers["ratelimit-policy"])
        (limit,) = sf_list(answer.headers["ratelimit"])
        expected = {"q": 2, "w": 3} | ({"mock-burst": 2} if algorithm == "token" else {})
        assert policy == (algorithm, expected)
        assert limit == (algorithm, {"r": int(answer.headers["ratelimit-remaining"]),
                                     "t": int(answer.headers["ratelimit-reset"])})
    assert [sf_list(r.headers["ratelimit"])[0][1]["r"] for r in answers] == [1, 0, 0]


def test_a_fractional_window_is_announced_rounded_up_with_its_exact_length(client: httpx.Client) -> None:
    answer = client.get("/ratelimited", params={"limit": 4, "window": 0.25, "algorithm": "sliding"})
    assert sf_list(answer.headers["ratelimit-policy"]) == [("sliding", {"q": 4, "w": 1, "mock-window": 0.25})]
    assert int(answer.headers["ratelimit-reset"]) == 1  # never 0


@pytest.mark.parametrize("algorithm", ["fixed", "sliding", "token"])
def test_retry_after_as_an_http_date(client: httpx.Client, algorithm: str) -> None:
    params = {"algorithm": algorithm, "limit": 1, "window": 3, "retry_after_format": "http-date"}
    assert client.get("/ratelimited", params=params).status_code == 200
    before = time.time()
    refused = client.get("/ratelimited", params=params)
    after = time.time()
    assert refused.status_code == 429
    seconds = int(refused.headers["ratelimit-reset"])
    assert 1 <= seconds <= 3 and refused.json()["retry_after"] == seconds
    # The server's clock read between before and after, plus `seconds`, cut to whole seconds.
    assert before + seconds - 1 <= parsedate_to_datetime(refused.headers["retry-after"]).timestamp() <= after + seconds


# (path, what it is asked, the words its 400 message must contain)
BAD_INPUT = [
    ("/ratelimited", {"algorithm": "leaky"}, "algorithm: must be one of fixed, sliding, token"),
    ("/ratelimited", {"burst": 3}, "burst: is the token bucket's capacity: it needs algorithm=token"),
    ("/ratelimited", {"algorithm": "sliding", "burst": 3}, "got algorithm=sliding"),
    ("/ratelimited", {"algorithm": "sliding", "limit": MAX_SLIDING_LIMIT + 1},
     f"limit: must be at most {MAX_SLIDING_LIMIT} with algorithm=sliding"),
    ("/ratelimited", {"algorithm": "token", "burst": 0}, f"burst: must be between 1 and {MAX_LIMIT}"),
    ("/ratelimited", {"algorithm": "token", "burst": MAX_LIMIT + 1}, f"burst: must be between 1 and {MAX_LIMIT}"),
    ("/ratelimited", {"limit": 0}, "limit: must be between 1"),
    ("/ratelimited", {"limit": -3, "algorithm": "token"}, "limit: must be between 1"),
    ("/ratelimited", {"window": 0}, "window: must be between 0.1 and 3600"),
    ("/ratelimited", {"window": -1, "algorithm": "sliding"}, "window: must be between 0.1 and 3600"),
    ("/ratelimited", {"window": "nan"}, "window: must be a finite number"),
    ("/concurrency-limited", {"max_in_flight": 0}, f"max_in_flight: must be between 1 and {MAX_IN_FLIGHT}"),
    ("/concurrency-limited", {"max_in_flight": MAX_IN_FLIGHT + 1}, "max_in_flight: must be between 1 and"),
    ("/concurrency-limited", {"delay": -0.1}, "delay: must be between 0 and 10 (the server's --max-duration)"),
    ("/concurrency-limited", {"delay": 11}, "delay: must be between 0 and 10 (the server's --max-duration)"),
    ("/concurrency-limited", {"max_in_flight": "two"}, "max_in_flight: must be an integer"),
    ("/overloaded", {"capacity": 0}, f"capacity: must be between 1 and {MAX_CAPACITY}"),
    ("/overloaded", {"capacity": MAX_CAPACITY + 1}, f"capacity: must be between 1 and {MAX_CAPACITY}"),
    ("/overloaded", {"interval": 0}, "interval: must be between 0.01 and 60"),
    ("/overloaded", {"interval": 61}, "interval: must be between 0.01 and 60"),
    ("/overloaded", {"name": ""}, f"name: must be 1 to {MAX_SERVICE_NAME} characters"),
    ("/overloaded", {"name": "x" * (MAX_SERVICE_NAME + 1)}, f"got {MAX_SERVICE_NAME + 1} characters"),
    ("/overloaded", {"name": "two words"}, "name: must be 1 to 64 characters of A-Z a-z 0-9 . _ : -, got 'two words'"),
]


@pytest.mark.parametrize(("path", "params", "words"), BAD_INPUT, ids=[f"{row[0]} {row[1]}"[:60] for row in BAD_INPUT])
def test_bad_input_is_refused_naming_the_problem(client: httpx.Client, path: str, params: dict, words: str) -> None:
    answer = client.get(path, params=params)
    assert answer.status_code == 400, answer.text
    body = answer.json()
    assert body["error"] == "invalid_parameter" and words in body["message"], body


async def _concurrently(base_url: str, key: str, n: int, **params: object) -> list[httpx.Response]:
    limits = httpx.Limits(max_connections=n + 1)
    async with httpx.AsyncClient(base_url=base_url, headers={"X-Client-Key": key}, timeout=10, limits=limits) as client:
        return await asyncio.gather(*(client.get("/concurrency-limited", params=params) for _ in range(n)))


def test_beyond_max_in_flight_the_server_answers_429_at_once(base_url: str, key: str, client: httpx.Client) -> None:
    answers = asyncio.run(_concurrently(base_url, key, 5, max_in_flight=3, delay=1.5))
    assert sorted(r.status_code for r in answers) == [200, 200, 200, 429, 429]
    assert sorted(r.json()["in_flight"] for r in answers if r.status_code == 200) == [1, 2, 3]
    for refused in (r for r in answers if r.status_code == 429):
        body = refused.json()
        assert body["error"] == "concurrency_limited" and "max_in_flight of 3" in body["message"]
        assert (body["max_in_flight"], body["in_flight"]) == (3, 3)
        assert "retry-after" not in refused.headers
        assert sf_list(refused.headers["ratelimit"]) == [("concurrency", {"r": 0})]
        assert sf_list(refused.headers["ratelimit-policy"]) == [
            ("concurrency", {"q": 3, "qu": "concurrent-requests"})
        ]
        # Refused at once: it never waited for the 1.5 s the admitted ones took.
        assert refused.elapsed < min(r.elapsed for r in answers if r.status_code == 200)
    # All done: every slot is free again.
    assert sorted(r.status_code for r in asyncio.run(_concurrently(base_url, key, 3, max_in_flight=3, delay=0.1))) == [200] * 3
    assert client.get("/__admin/stats").json()["max_in_flight"] >= 3


def test_the_cap_is_per_key_and_per_max_in_flight(base_url: str, key: str) -> None:
    async def run() -> list[int]:
        async with httpx.AsyncClient(base_url=base_url, timeout=10, limits=httpx.Limits(max_connections=10)) as client:

            async def get(client_key: str, n: int) -> int:
                answer = await client.get("/concurrency-limited", params={"max_in_flight": n, "delay": 1},
                                          headers={"X-Client-Key": client_key})
                return answer.status_code

            return await asyncio.gather(get(key, 1), get(key, 1), get(f"{key}-other", 1), get(key, 2))

    *mine, others, another_limit = asyncio.run(run())
    assert sorted(mine) == [200, 429]
    assert others == 200, "another key has slots of its own"
    assert another_limit == 200, "so does another max_in_flight"


def test_a_request_that_is_given_up_frees_its_slot(base_url: str, key: str, client: httpx.Client) -> None:
    with pytest.raises(httpx.ReadTimeout):
        client.get("/concurrency-limited", params={"max_in_flight": 1, "delay": 5}, timeout=0.3)
    wait_until(lambda: client.get("/__admin/stats").json()["in_flight"] <= 1, "the abandoned request ended")
    assert client.get("/concurrency-limited", params={"max_in_flight": 1, "delay": 0}).status_code == 200


def test_the_overloaded_service_admits_capacity_per_interval(client: httpx.Client, base_url: str) -> None:
    service = {"capacity": 3, "interval": 5, "name": "herd"}
    answers = [client.get("/overloaded", params=service) for _ in range(5)]
    assert [r.status_code for r in answers] == [200, 200, 200, 503, 503]
    assert [r.json()["admitted"] for r in answers[:3]] == [1, 2, 3]
    for refused, count in zip(answers[3:], (1, 2)):
        body = refused.json()
        assert body["error"] == "overloaded" and "retry-after" not in refused.headers
        assert (body["name"], body["capacity"], body["refused"]) == ("herd", 3, count)
    assert statuses(client, "/overloaded", 1, capacity=3, interval=5, name="other") == [200], "per name"
    with httpx.Client(base_url=base_url, headers={"X-Client-Key": "overloaded-other-key"}, timeout=10) as other:
        other.post("/__admin/reset")
        assert statuses(other, "/overloaded", 1, **service) == [200], "per key"


def test_the_overloaded_service_recovers_in_the_next_interval(client: httpx.Client) -> None:
    service = {"capacity": 2, "interval": 0.3}
    assert statuses(client, "/overloaded", 3, **service) == [200, 200, 503]
    time.sleep(0.35)
    assert statuses(client, "/overloaded", 3, **service) == [200, 200, 503]


def test_lock_step_retries_keep_colliding_while_jittered_ones_get_through(base_url: str, key: str) -> None:
    """Ten clients at once, each retrying until it succeeds, against a capacity of 2 per 0.2 s.

    The first attempts are the same either way: 2 admitted, 8 refused. In lock-step (every
    client waits the same 0.2 s) the 8 retries land in one interval again, and each round
    lets only two more through: 6 + 4 + 2 retries refused. Spread over a second (each client
    its own delay, as full jitter would draw them) nearly every retry finds room. The measure
    is the number of retries the server refused.
    """
    clients = 10

    async def refused_retries(delays: list[float], name: str) -> int:
        refused = 0
        async with httpx.AsyncClient(base_url=base_url, headers={"X-Client-Key": key}, timeout=10,
                                     limits=httpx.Limits(max_connections=clients + 1)) as client:

            async def one(delay: float) -> None:
                nonlocal refused
                params = {"capacity": 2, "interval": 0.2, "name": name}
                attempt = 0
                while (await client.get("/overloaded", params=params)).status_code == 503:
                    refused += attempt > 0
                    attempt += 1
                    await asyncio.sleep(delay)

            await asyncio.gather(*(one(delay) for delay in delays))
        return refused

    lock_step = asyncio.run(refused_retries([0.2] * clients, "lock-step"))
    jittered = asyncio.run(refused_retries([0.1 * (i + 1) for i in range(clients)], "jittered"))
    print(f"refused retries: lock-step {lock_step}, jittered {jittered}")
    assert lock_step >= 8 and 3 * jittered < lock_step, (lock_step, jittered)
