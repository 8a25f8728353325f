"""Classroom mode (--classroom), over real TCP on 127.0.0.1: joining, learner keys, the instructor's API,
class-wide chaos, lab results, fairness budgets, and course.server's join() and client_key().

The security table of issue 11, one test each (every refusal a 4xx JSON error naming why):

| row                                                             | test                                                   |
|-----------------------------------------------------------------|--------------------------------------------------------|
| non-loopback bind without --classroom refused                   | test_a_non_loopback_bind_is_refused_without_classroom  |
| dashboard API and class-wide chaos without the token refused    | test_instructor_calls_without_the_token_are_refused    |
| learner A reading, resetting, re-scripting learner B's state    | test_one_learner_cannot_reach_another_learners_state   |
| a webhook or redirect target off the allowed set                | test_targets_off_the_allowed_set_are_refused           |
| keys nobody joined with                                         | test_unjoined_keys_are_refused                         |
| a runaway learner throttled while another is served             | test_a_runaway_learner_is_throttled_while_another_is_served (rate), |
|                                                                 | test_a_learner_past_the_concurrency_budget_gets_429_while_another_is_served |
| ... while the others' p99 stays within 1.5x of an idle class    | test_classroom_fairness.py (its own server process)    |
"""

from __future__ import annotations

import csv
import io
import json
import stat
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from course import server as course_server
from mock_server import classroom, delivery
from mock_server.__main__ import config_from
from mock_server.config import Config
from mock_server.contract import LEARNER_VARIABLE, URL_VARIABLE
from mock_server.process import spawn
from mock_server.server import BackgroundServer, bind, classroom_lines

TOKEN = "instructor-token-for-the-tests"
BEARER = {"Authorization": f"Bearer {TOKEN}"}
RATE = 20  # --learner-rate: small, so a loop of a hundred requests is a runaway
CONCURRENCY = 3  # --learner-concurrency
CONFIG = Config(port=0, tls_port=0, classroom=True, instructor_token=TOKEN, learner_rate=RATE,
                learner_concurrency=CONCURRENCY, max_learners=100, max_duration=5)
JOIN = "/__admin/classroom/join"
LEARNERS = "/__admin/classroom/learners"
CHAOS = "/__admin/classroom/chaos"
RESULTS = "/__admin/classroom/results"
CSV = "/__admin/classroom/results.csv"


@pytest.fixture(scope="module")
def room() -> Iterator[str]:
    with BackgroundServer(CONFIG) as url:
        yield url


@pytest.fixture
def http(room: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=room, timeout=10) as client:
        yield client


@pytest.fixture
def calm(http: httpx.Client) -> Iterator[None]:
    """Class-wide chaos set by a test is lifted after it, whatever happens."""
    yield
    assert http.delete(CHAOS, headers=BEARER).status_code == 200


def new_name() -> str:
    return f"l-{uuid.uuid4().hex[:10]}"


def join(http: httpx.Client, name: str | None = None) -> str:
    answer = http.post(JOIN, json={"name": name or new_name()})
    assert answer.status_code == 201, answer.text
    return answer.json()["key"]


def key(value: str) -> dict[str, str]:
    return {"X-Client-Key": value}


def refused(response: httpx.Response, status: int, code: str, *words: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert body["error"] == code, body
    for word in words:
        assert word in body["message"], (word, body["message"])
    return body


def learner(http: httpx.Client, name: str) -> dict[str, Any]:
    listing = http.get(LEARNERS, headers=BEARER).json()
    return next(one for one in listing["learners"] if one["name"] == name)


def forged(real_key: str) -> str:
    """The same name with another secret of the right shape."""
    name, secret = real_key.split("~")
    return f"{name}~{('A' if secret[0] != 'A' else 'B') + secret[1:]}"


# ---- the security table


@pytest.mark.parametrize("argv", [["--host", "0.0.0.0"], ["--host", "::"], ["--host", "10.1.2.3"],
                                  ["--host", "example.com"]])
def test_a_non_loopback_bind_is_refused_without_classroom(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        config_from(argv)
    message = capsys.readouterr().err
    assert "not a loopback address" in message and "--classroom" in message and "127.0.0.1" in message
    # Programmatic use is refused too, before any socket is made.
    with pytest.raises(SystemExit, match="only in classroom mode"):
        bind(Config(host=argv[1], port=0, tls_port=0))
    # With --classroom the same host is accepted (it is never bound here).
    assert config_from([*argv, "--classroom"]).host == argv[1]


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1", "localhost"])
def test_loopback_hosts_need_no_classroom(host: str) -> None:
    assert config_from(["--host", host]).host == host


@pytest.mark.parametrize("method, path, body", [
    ("GET", LEARNERS, None),
    ("GET", CHAOS, None),
    ("PUT", CHAOS, {"failure_rate": 1}),
    ("DELETE", CHAOS, None),
    ("GET", CSV, None),
    ("POST", "/__admin/reset?all=true", None),
])
@pytest.mark.parametrize("credentials", ["none", "wrong token", "learner key", "not bearer"])
def test_instructor_calls_without_the_token_are_refused(
    http: httpx.Client, method: str, path: str, body: Any, credentials: str
) -> None:
    own = join(http)
    headers = {
        "none": key(own),
        "wrong token": {**key(own), "Authorization": f"Bearer {TOKEN}x"},
        "learner key": {**key(own), "Authorization": f"Bearer {own}"},
        "not bearer": {**key(own), "Authorization": f"Basic {TOKEN}"},
    }[credentials]
    answer = http.request(method, path, json=body, headers=headers)
    refused(answer, 401, "instructor_only", "instructor token")
    assert answer.headers["www-authenticate"].startswith("Bearer")
    assert http.get(CHAOS, headers=BEARER).json()["failure_rate"] == 0  # nothing changed


def test_one_learner_cannot_reach_another_learners_state(http: httpx.Client) -> None:
    ada, bob = join(http), join(http)
    bob_lesson = f"{bob}/lesson-07"
    # Bob's state: a journal entry, a flaky counter at 1, a payment, chaos of his own.
    assert http.get("/get", headers=key(bob_lesson)).status_code == 200
    assert http.get("/flaky?fail=2", headers=key(bob_lesson)).status_code == 503
    assert http.post("/payments", json={"amount": 100, "currency": "usd"}, headers=key(bob_lesson)).status_code == 201
    assert http.put("/__admin/chaos", json={"latency": 0.01}, headers=key(bob_lesson)).status_code == 200
    ada_secret = ada.split("~")[1]
    bob_name = bob.split("~")[0]
    # Every way ada could name bob's state: his name alone, his name with her secret, a guessed secret,
    # the plain lesson key everyone uses alone.
    for pretend in (bob_name, f"{bob_name}/lesson-07", f"{bob_name}~{ada_secret}/lesson-07",
                    f"{forged(bob)}/lesson-07", "lesson-07"):
        for method, path, body in [
            ("GET", "/__admin/requests", None),  # read his journal
            ("GET", "/__admin/stats", None),  # read his counts
            ("POST", "/__admin/reset", None),  # reset him
            ("PUT", "/__admin/chaos", {"failure_rate": 1}),  # re-script his weather
            ("DELETE", "/__admin/chaos", None),
            ("GET", "/flaky?fail=2", None),  # move his flaky counter
            ("GET", "/__admin/payments", None),  # read his payments
            ("POST", "/payments", {"amount": 1, "currency": "usd"}),  # add to them
            ("PUT", "/__admin/payments/outage", {"mode": "error", "calls": 5}),  # break his provider
        ]:
            answer = http.request(method, path, json=body, headers=key(pretend))
            refused(answer, 401, "join_required", "course.server.join")
    # Ada's own key only ever reaches her own state.
    assert http.get("/__admin/requests", headers=key(f"{ada}/lesson-07")).json()["count"] == 0
    assert http.post("/__admin/reset", headers=key(f"{ada}/lesson-07")).json() == {"reset": f"{ada}/lesson-07"}
    # Bob's state is as he left it.
    journal = http.get("/__admin/requests", headers=key(bob_lesson)).json()
    assert [entry["path"] for entry in journal["requests"]] == ["/get", "/flaky", "/payments"]
    assert http.get("/__admin/chaos", headers=key(bob_lesson)).json()["latency"] == 0.01
    assert len(http.get("/__admin/payments", headers=key(bob_lesson)).json()["payments"]) == 1
    assert http.get("/flaky?fail=2", headers=key(bob_lesson)).json()["attempt"] == 2


@pytest.mark.parametrize("target", ["http://10.0.0.5:9000/hook", "http://192.168.1.20:8000/", "http://example.com:80/",
                                    "http://169.254.169.254:80/latest"])
def test_targets_off_the_allowed_set_are_refused(http: httpx.Client, target: str) -> None:
    own = key(join(http))
    webhook = http.post("/webhooks/endpoints", json={"url": target}, headers=own)
    body = refused(webhook, 422, "receiver_not_allowed", "your own address", "127.0.0.1")
    assert body["allowed_hosts"] == ["127.0.0.1", "::1", "localhost", "127.0.0.1"]  # loopback, and the learner's own
    redirect = http.get("/redirect-to", params={"url": target}, headers=own, follow_redirects=False)
    refused(redirect, 400, "invalid_parameter", "loopback", "your own address 127.0.0.1")
    # The allowed set: loopback, and the learner's own address.
    assert http.post("/webhooks/endpoints", json={"url": "http://127.0.0.1:9/hook"}, headers=own).status_code == 201
    assert http.get("/redirect-to", params={"url": "http://127.0.0.1:9/x"}, headers=own,
                    follow_redirects=False).status_code == 302


@pytest.mark.parametrize("url, address, allowed", [
    ("http://10.1.2.3:9000/hook", "10.1.2.3", True),  # the learner's own address
    ("http://10.1.2.3:9000/hook", "10.1.2.4", False),  # a neighbour's
    ("http://10.1.2.3:9000/hook", None, False),  # alone: loopback only
    ("http://[fd00::1]:9000/hook", "fd00::1", True),
    ("http://127.0.0.1:9000/hook", "10.1.2.4", True),  # loopback stays allowed
    ("http://learner.local:9000/hook", "10.1.2.3", False),  # nothing is resolved
])
def test_a_webhook_receiver_may_be_the_learners_own_address(url: str, address: str | None, allowed: bool) -> None:
    if allowed:
        assert delivery.check_url(url, address) == url
    else:
        with pytest.raises(delivery.ApiError) as caught:
            delivery.check_url(url, address)
        assert caught.value.error == "receiver_not_allowed"


@pytest.mark.parametrize("path", ["/get", "/__admin/requests", "/__admin/stats", "/__admin/stats/server",
                                  "/__admin/chaos", "/__admin/webhooks/deliveries"])
@pytest.mark.parametrize("sent", ["none", "plain", "lesson", "forged", "learner-shaped", "malformed"])
def test_unjoined_keys_are_refused(http: httpx.Client, path: str, sent: str) -> None:
    real = join(http)
    header = {
        "none": {},
        "plain": key("ada"),
        "lesson": key("lesson-07"),
        "forged": key(f"{forged(real)}/lesson-07"),
        "learner-shaped": key("nobody~" + "A" * 22),  # a key of the right shape that this server never gave out
        "malformed": key(f"{real}x"),  # not a key of any shape: a secret one character too long
    }[sent]
    answer = http.get(path, headers=header)
    refused(answer, 401, "join_required", "course.server.join", "client_key")
    # What needs no key: the health probe, joining, the docs.
    assert http.get("/__admin/health").status_code == 200
    assert http.get("/openapi.json").status_code == 200


def test_a_runaway_learner_is_throttled_while_another_is_served(http: httpx.Client) -> None:
    runaway, other = join(http), join(http)
    answers = [http.get("/get", headers=key(runaway)) for _ in range(2 * RATE)]
    statuses = [answer.status_code for answer in answers]
    assert statuses[:RATE] == [200] * RATE  # a burst of one second's budget is fine
    assert 429 in statuses
    answer = answers[statuses.index(429)]
    body = refused(answer, 429, "learner_budget_exceeded", "--learner-rate", "runaway")
    assert body["budget"] == "rate" and int(answer.headers["retry-after"]) >= 1
    assert [http.get("/get", headers=key(other)).status_code for _ in range(RATE // 2)] == [200] * (RATE // 2)
    counts = learner(http, runaway.split("~")[0])
    assert counts["budget_refusals"] == statuses.count(429) == counts["rate_limited"]
    assert counts["requests"] == 2 * RATE
    assert learner(http, other.split("~")[0])["rate_limited"] == 0


def test_an_over_budget_429_is_held_one_budget_tick_so_a_loop_runs_at_the_budgets_pace(http: httpx.Client) -> None:
    runaway = join(http)
    started = time.perf_counter()
    burst = [http.get("/get", headers=key(runaway)).status_code for _ in range(RATE)]
    assert burst == [200] * RATE
    tick = 1 / RATE
    timed: list[tuple[int, float]] = []
    while len(timed) < 2 * RATE:  # a loop that ignores its 429s
        sent = time.perf_counter()
        timed.append((http.get("/get", headers=key(runaway)).status_code, time.perf_counter() - sent))
    seconds = time.perf_counter() - started
    refusals = [took for status, took in timed if status == 429]
    assert refusals and min(refusals) >= 0.9 * tick, "each 429 waits out one budget tick first"
    # Each refusal takes a tick, and each success after the burst spends a token the budget refills
    # at RATE a second: however fast the client, its loop cannot send more than this.
    assert len(timed) <= 2 * RATE * seconds + 1, f"{RATE + len(timed)} requests in {seconds:.2f} s"
    assert learner(http, runaway.split("~")[0])["budget_refusals"] == len(refusals)


def test_at_most_max_held_refusals_wait_at_once_the_rest_are_answered_at_once() -> None:
    """With --learner-rate 0.1 the hold is capped at classroom.MAX_REFUSAL_HOLD (1 s), long beside a
    refusal's cost, and the budget's one token takes 10 s to come back."""
    with BackgroundServer(CONFIG.with_changes(learner_rate=0.1)) as url, httpx.Client(base_url=url, timeout=10) as http:
        runaway = join(http)
        assert http.get("/get", headers=key(runaway)).status_code == 200  # the budget's one token
        extra = 4
        ready = threading.Barrier(classroom.MAX_HELD_REFUSALS + extra)
        answers: list[tuple[int, float]] = []

        def over_budget() -> None:
            with httpx.Client(base_url=url, timeout=10) as own:
                own.get("/__admin/health")  # connected before the barrier, so all arrive at once
                ready.wait()
                sent = time.perf_counter()
                answers.append((own.get("/get", headers=key(runaway)).status_code, time.perf_counter() - sent))

        threads = [threading.Thread(target=over_budget) for _ in range(classroom.MAX_HELD_REFUSALS + extra)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert [status for status, _ in answers] == [429] * len(threads)
    held = [took for _, took in answers if took >= 0.9 * classroom.MAX_REFUSAL_HOLD]
    answered_at_once = sorted(took for _, took in answers)[:extra]
    assert held and len(held) <= classroom.MAX_HELD_REFUSALS < len(answers)
    assert max(answered_at_once) < 0.5 * min(held), (answered_at_once, held)


def test_a_learner_past_the_concurrency_budget_gets_429_while_another_is_served(room: str, http: httpx.Client) -> None:
    runaway, other = join(http), join(http)
    results: list[int] = []

    def hold() -> None:
        with httpx.Client(base_url=room, timeout=10) as own:
            results.append(own.get("/delay/1", headers=key(runaway)).status_code)

    threads = [threading.Thread(target=hold) for _ in range(CONCURRENCY)]
    for thread in threads:
        thread.start()
    name = runaway.split("~")[0]
    while learner(http, name)["in_flight"] < CONCURRENCY:
        time.sleep(0.01)
    answer = http.get("/get", headers=key(runaway))
    body = refused(answer, 429, "learner_budget_exceeded", "--learner-concurrency", "in flight")
    assert body["budget"] == "concurrency" and body["limit"] == CONCURRENCY
    assert http.get("/get", headers=key(other)).status_code == 200  # the class is served meanwhile
    for thread in threads:
        thread.join()
    assert results == [200] * CONCURRENCY
    assert http.get("/get", headers=key(runaway)).status_code == 200  # and the runaway again, once under budget


# ---- joining


def test_join_rejoin_and_a_taken_name(http: httpx.Client) -> None:
    name = new_name()
    first = http.post(JOIN, json={"name": name})
    assert first.status_code == 201
    got = first.json()
    assert got["name"] == name and got["rejoined"] is False
    assert got["key"].startswith(f"{name}~") and len(got["key"].split("~")[1]) == 22  # 128 bits, base64url
    assert got["budgets"] == {"rate": RATE, "concurrency": CONCURRENCY}
    refused(http.post(JOIN, json={"name": name}), 409, "name_taken", name, "rejoin")
    refused(http.post(JOIN, json={"name": name}, headers=key(forged(got["key"]))), 409, "name_taken")
    for presented in (got["key"], f"{got['key']}/lesson-03"):
        again = http.post(JOIN, json={"name": name}, headers=key(presented))
        assert again.status_code == 200 and again.json()["key"] == got["key"] and again.json()["rejoined"] is True
    # Another learner's key joins a new name: it is not a rejoin.
    other = http.post(JOIN, json={"name": new_name()}, headers=key(got["key"]))
    assert other.status_code == 201 and other.json()["key"] != got["key"]


@pytest.mark.parametrize("body, status, code", [
    ({"name": ""}, 422, "invalid_name"),
    ({"name": "Ada"}, 422, "invalid_name"),
    ({"name": "a" * 33}, 422, "invalid_name"),
    ({"name": "ada lovelace"}, 422, "invalid_name"),
    ({"name": "ada~x"}, 422, "invalid_name"),
    ({"name": "ada/x"}, 422, "invalid_name"),
    ({"name": "adä"}, 422, "invalid_name"),
    ({"name": 7}, 422, "invalid_name"),
    ({}, 422, "invalid_name"),
    ({"name": "ada", "admin": True}, 422, "validation_failed"),
    ([], 422, None),
])
def test_bad_names_are_refused(http: httpx.Client, body: Any, status: int, code: str | None) -> None:
    answer = http.post(JOIN, json=body)
    assert answer.status_code == status, answer.text
    if code:
        assert answer.json()["error"] == code


def test_a_name_of_32_characters_is_fine(http: httpx.Client) -> None:
    name = ("z" + uuid.uuid4().hex)[:32]
    assert http.post(JOIN, json={"name": name}).status_code == 201


def test_a_full_class_refuses_a_new_learner() -> None:
    with BackgroundServer(CONFIG.with_changes(max_learners=2)) as url, httpx.Client(base_url=url, timeout=10) as http:
        first = join(http, "one")
        join(http, "two")
        refused(http.post(JOIN, json={"name": "three"}), 409, "classroom_full", "--max-learners")
        assert http.post(JOIN, json={"name": "one"}, headers=key(first)).status_code == 200  # a rejoin still works


# ---- the instructor's view


def test_the_learners_listing_counts_what_each_learner_did(room: str, http: httpx.Client) -> None:
    name = new_name()
    own = join(http, name)
    idle = new_name()
    join(http, idle)
    assert learner(http, idle)["last_seen"] is None and learner(http, idle)["requests"] == 0
    for path in ("/get", "/get", "/status/302", "/status/404", "/status/429", "/status/503"):
        http.get(path, headers=key(f"{own}/lesson-04"), follow_redirects=False)
    with httpx.Client(base_url=room, timeout=10) as second:  # a second TCP connection
        assert second.get("/get", headers=key(own)).status_code == 200
    with httpx.Client(base_url=room, timeout=0.2) as impatient:  # gives up: the server sees a 499
        with pytest.raises(httpx.TimeoutException):
            impatient.get("/delay/1", headers=key(own))
    while learner(http, name)["in_flight"] or learner(http, name)["connections_open"] > 1:
        time.sleep(0.02)  # the impatient request ends when its delay does; closed connections are seen soon
    counts = learner(http, name)
    assert counts["requests"] == 8
    assert counts["statuses"] == {"2xx": 3, "3xx": 1, "4xx": 2, "5xx": 1}
    assert counts["rate_limited"] == 1 and counts["budget_refusals"] == 0
    assert counts["errors"] == 1
    assert counts["connections"] == 3 and counts["connections_open"] == 1  # this test's client is still open
    assert counts["in_flight"] == 0
    assert 0 <= counts["last_seen"] < 60
    assert counts["labs"] == {}
    listing = http.get(LEARNERS, headers=BEARER).json()
    assert listing["count"] == len(listing["learners"]) >= 2
    assert [one["name"] for one in listing["learners"]] == sorted(one["name"] for one in listing["learners"])
    assert all("key" not in one for one in listing["learners"])  # the instructor's view never shows a secret


def test_class_wide_chaos_reaches_every_learners_next_request(http: httpx.Client, calm: None) -> None:
    ada, bob = join(http), join(http)
    assert http.get(CHAOS, headers=BEARER).json() == {
        "latency": 0.0, "jitter": 0.0, "failure_rate": 0.0, "failure_codes": [500, 502, 503], "rate_limit": None}
    weather = {"failure_rate": 1, "failure_codes": [503]}
    assert http.put(CHAOS, json=weather, headers=BEARER).status_code == 200
    shown = http.get(CHAOS, headers=BEARER).json()
    assert shown["failure_rate"] == 1 and shown["failure_codes"] == [503] and shown["rate_limit"] is None
    for learner_key in (ada, f"{bob}/lesson-05"):
        answer = http.get("/get", headers=key(learner_key))
        refused(answer, 503, "chaos", "class-wide")
        assert answer.headers["retry-after"] == "1"
        assert http.get("/__admin/stats", headers=key(learner_key)).status_code == 200  # admin calls are spared
    # A rate limit, per learner, with a Retry-After and a message naming it.
    assert http.put(CHAOS, json={"rate_limit": {"limit": 2, "window": 30}}, headers=BEARER).status_code == 200
    for learner_key in (ada, bob):
        assert [http.get("/get", headers=key(learner_key)).status_code for _ in range(2)] == [200, 200]
        answer = http.get("/get", headers=key(learner_key))
        body = refused(answer, 429, "class_rate_limited", "class-wide", "instructor")
        assert body["limit"] == 2 and 1 <= int(answer.headers["retry-after"]) <= 30
    assert http.get(CHAOS, headers=BEARER).json()["rate_limit"] == {"limit": 2, "window": 30.0}
    # Latency: the next request takes at least that long.
    assert http.put(CHAOS, json={"latency": 0.3}, headers=BEARER).status_code == 200
    started = time.monotonic()
    assert http.get("/get", headers=key(ada)).status_code == 200
    assert time.monotonic() - started >= 0.3
    # Calm again: the next request is answered as usual.
    assert http.delete(CHAOS, headers=BEARER).json()["latency"] == 0
    assert http.get("/get", headers=key(bob)).status_code == 200


@pytest.mark.parametrize("body, field", [
    ({"latency": 4, "jitter": 2}, None),  # more than --max-duration 5
    ({"latency": -1}, "latency"),
    ({"failure_rate": 1.5}, "failure_rate"),
    ({"failure_codes": [200]}, "failure_codes.0"),
    ({"rate_limit": {"limit": 0, "window": 1}}, "rate_limit.limit"),
    ({"rate_limit": {"limit": 5}}, "rate_limit.window"),
    ({"connect_latency": 1}, "connect_latency"),
    ({"latency": "1"}, "latency"),
])
def test_bad_class_chaos_is_refused(http: httpx.Client, body: dict[str, Any], field: str | None) -> None:
    answer = http.put(CHAOS, json=body, headers=BEARER)
    got = refused(answer, 422, "validation_failed")
    if field:
        assert field in got["fields"], got
    assert http.get(CHAOS, headers=BEARER).json()["latency"] == 0


def test_lab_results_in_and_csv_out(http: httpx.Client) -> None:
    ada_name, bob_name = "a" + new_name(), "b" + new_name()
    ada, bob = join(http, ada_name), join(http, bob_name)
    report = {"lab": "07", "exercises": [{"name": "Exercise 1", "passed": True},
                                         {"name": "Exercise 2", "passed": False}]}
    answer = http.post(RESULTS, json=report, headers=key(f"{ada}/lab-07"))
    assert answer.status_code == 200 and answer.json() == {"learner": ada_name, "lab": "07", "exercises": 2}
    again = {"lab": "07", "exercises": [{"name": "Exercise 2", "passed": True}]}
    assert http.post(RESULTS, json=again, headers=key(ada)).status_code == 200
    tricky = {"lab": "01", "exercises": [{"name": "=HYPERLINK(\"x\")", "passed": False}]}
    assert http.post(RESULTS, json=tricky, headers=key(bob)).status_code == 200
    assert learner(http, ada_name)["labs"] == {"07": {"Exercise 1": True, "Exercise 2": True}}
    exported = http.get(CSV, headers=BEARER)
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert list(rows[0]) == ["learner", "lab", "exercise", "passed", "reported_at"]
    mine = [(row["learner"], row["lab"], row["exercise"], row["passed"]) for row in rows
            if row["learner"] in (ada_name, bob_name)]
    assert mine == [(ada_name, "07", "Exercise 1", "true"), (ada_name, "07", "Exercise 2", "true"),
                    (bob_name, "01", "'=HYPERLINK(\"x\")", "false")]
    assert all(row["reported_at"].endswith("+00:00") for row in rows)


@pytest.mark.parametrize("body", [
    {"lab": "07"},
    {"lab": "07", "exercises": []},
    {"lab": "../07", "exercises": [{"name": "Exercise 1", "passed": True}]},
    {"lab": "07", "exercises": [{"name": "Exercise 1", "passed": "yes"}]},
    {"lab": "07", "exercises": [{"name": "", "passed": True}]},
    {"lab": "07", "exercises": [{"name": "x" * 65, "passed": True}]},
    {"lab": "07", "exercises": [{"name": "line\nbreak", "passed": True}]},
    {"lab": "07", "exercises": [{"name": "Exercise 1", "passed": True, "score": 3}]},
    {"lab": "07", "exercises": [{"name": f"E{n}", "passed": True} for n in range(51)]},
    {"lab": "07", "exercises": [{"name": "Exercise 1", "passed": True}], "learner": "bob"},
])
def test_bad_results_are_refused(http: httpx.Client, body: dict[str, Any]) -> None:
    own = join(http)
    refused(http.post(RESULTS, json=body, headers=key(own)), 422, "validation_failed")
    assert learner(http, own.split("~")[0])["labs"] == {}


def test_results_need_a_learner_key(http: httpx.Client) -> None:
    report = {"lab": "07", "exercises": [{"name": "Exercise 1", "passed": True}]}
    refused(http.post(RESULTS, json=report), 401, "join_required")
    refused(http.post(RESULTS, json=report, headers=BEARER), 401, "join_required")  # the instructor is no learner


def test_the_instructor_token_opens_admin_calls(http: httpx.Client) -> None:
    assert http.get("/__admin/stats/server", headers=BEARER).status_code == 200
    assert http.get("/get", headers={**BEARER, **key("instructor-demo")}).status_code == 200


def test_the_server_prints_the_token_and_the_join_line() -> None:
    server = BackgroundServer(CONFIG.with_changes(instructor_token=""))
    with server as url:
        state = server.server.state
        lines = classroom_lines(state, url)
    token = state.classroom.token
    assert len(token) >= 16 and token != TOKEN
    assert any(f"instructor token {token}" in line for line in lines)
    assert any(f"MOCK_SERVER_URL={url}" in line and "MOCK_SERVER_LEARNER" in line and "course.server.join" in line
               for line in lines)
    state.config = Config(host="0.0.0.0", classroom=True, instructor_token=TOKEN)
    assert any("<this machine's address>" in line for line in classroom_lines(state, "http://0.0.0.0:8765"))


@pytest.mark.parametrize("argv, words", [
    (["--classroom", "--instructor-token", "short"], "at least 16"),
])
def test_cli_checks_the_classroom_flags(argv: list[str], words: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        config_from(argv)
    assert words in capsys.readouterr().err


def test_the_token_can_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MOCK_SERVER_INSTRUCTOR_TOKEN", TOKEN)
    config = config_from(["--classroom"])
    assert config.classroom and config.instructor_token == TOKEN


# ---- course.server


@pytest.fixture
def joined_env(room: str, tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """course.server pointed at the classroom server, with its own keys file, and nothing joined yet."""
    monkeypatch.setenv(URL_VARIABLE, room)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    monkeypatch.delenv(LEARNER_VARIABLE, raising=False)
    monkeypatch.setattr(course_server, "_learners", {})
    monkeypatch.setattr(course_server, "_healthy", {})
    yield room


def test_course_server_join_and_client_key(joined_env: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert course_server.client_key("lesson-07") == "lesson-07"  # not joined yet
    name = new_name()
    learner_key = course_server.join(name)
    printed = capsys.readouterr().out
    assert f"joined the class at {joined_env} as {name}" in printed and "client_key" in printed
    assert course_server.client_key("lesson-07") == f"{learner_key}/lesson-07"
    assert course_server.learner_key() == learner_key
    KEY = course_server.client_key("lesson-07")
    course_server.reset(KEY)
    with httpx.Client(base_url=joined_env, headers=key(KEY), timeout=10) as http:
        assert http.get("/get").status_code == 200
    assert [entry["path"] for entry in course_server.journal(KEY)] == ["/get"]
    kept = course_server.keys_file()
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    assert json.loads(kept.read_text()) == {joined_env: {name: learner_key}}
    # Another kernel (nothing joined in memory) rejoins with the same name and gets the same key.
    course_server._learners.clear()
    assert course_server.join(name) == learner_key
    assert "rejoined" in capsys.readouterr().out


def test_mock_server_learner_joins_on_the_first_ensure(joined_env: str, monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    name = new_name()
    monkeypatch.setenv(LEARNER_VARIABLE, name)
    assert course_server.ensure() == joined_env
    assert f"as {name} (as {LEARNER_VARIABLE} says)" in capsys.readouterr().out
    assert course_server.client_key("lab-01").startswith(f"{name}~")
    course_server.ensure()
    assert capsys.readouterr().out == ""  # once per session


def test_client_key_joins_first_when_the_variable_is_set(joined_env: str, monkeypatch: pytest.MonkeyPatch) -> None:
    name = new_name()
    monkeypatch.setenv(LEARNER_VARIABLE, name)
    assert course_server.client_key("lesson-00").split("/") == [course_server.learner_key(), "lesson-00"]


def test_joining_a_server_that_is_not_a_classroom_says_so(base_url: str, tmp_path: Any,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(URL_VARIABLE, base_url)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    monkeypatch.setattr(course_server, "_learners", {})
    with pytest.raises(course_server.MockServerError, match="not a classroom server"):
        course_server.join("ada")
    assert course_server.client_key("lesson-07") == "lesson-07"
    assert not (tmp_path / "http-clients-course").exists()


# ---- classroom off


@pytest.mark.parametrize("method, path", [("POST", JOIN), ("GET", LEARNERS), ("GET", CHAOS), ("PUT", CHAOS),
                                          ("GET", CSV), ("POST", RESULTS)])
def test_without_classroom_the_classroom_endpoints_are_404(client: httpx.Client, method: str, path: str) -> None:
    answer = client.request(method, path, json={"name": "ada"}, headers=BEARER)
    refused(answer, 404, "classroom_off", "--classroom")


def test_without_classroom_nothing_changes(client: httpx.Client, key: str) -> None:
    assert client.get("/get").status_code == 200  # any key, no join
    refused(client.get("/get", headers={"X-Client-Key": "ada~" + "A" * 22}), 400, "invalid_client_key")
    assert client.post("/__admin/reset?all=false").status_code == 200
    assert client.get("/__admin/requests").json()["count"] == 0


def test_a_remembered_key_from_a_server_since_restarted_joins_anew(joined_env: str,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    name = new_name()
    stale = f"{name}~" + "Q" * 22  # what a restarted server's keys file may hold: a key this run never gave out
    kept = course_server.keys_file()
    kept.parent.mkdir(parents=True)
    kept.write_text(json.dumps({joined_env: {name: stale}}))
    fresh = course_server.join(name)
    assert fresh != stale and fresh.startswith(f"{name}~") and "joined the class" in capsys.readouterr().out
    assert json.loads(kept.read_text()) == {joined_env: {name: fresh}}


def test_python_m_mock_server_classroom_prints_the_token_and_the_join_line(tmp_path: Any) -> None:
    log = tmp_path / "classroom.log"
    process, url = spawn(["--classroom", "--instructor-token", TOKEN, "--tls-port", "0"], log=log)
    try:
        with httpx.Client(base_url=url, timeout=10) as http:
            assert http.get(LEARNERS, headers=BEARER).json()["count"] == 0
            refused(http.get("/get"), 401, "join_required")
        while "learners join with" not in log.read_text():
            time.sleep(0.05)
    finally:
        process.terminate()
        process.wait(10)
    printed = log.read_text()
    assert f"instructor token {TOKEN}" in printed and f"MOCK_SERVER_URL={url}" in printed
