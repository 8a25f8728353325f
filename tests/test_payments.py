"""The payments API over TCP: money in minor units, Idempotency-Key, refunds, and outage windows.

Every test has a client key of its own on the session's server (--max-duration 10 s), so each
outage it sets up touches no other test; a setting that must be small (--idempotency-ttl,
--max-records, --state-bytes) gets a server of its own. Waits are short and compared with
generous margins, never against a wall-clock upper bound.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import h2.exceptions
import httpx
import pytest

from mock_server.config import MiB, Config
from mock_server.routes.payments import CURRENCIES, MAX_AMOUNT, MAX_OUTAGE_SECONDS
from mock_server.server import BackgroundServer

PAYMENT = {"amount": 1999, "currency": "usd"}
OUTAGE = "/__admin/payments/outage"


def post(client: httpx.Client, body: Any = PAYMENT, key: str | None = None, **options: Any) -> httpx.Response:
    headers = {} if key is None else {"Idempotency-Key": key}
    return client.post("/payments", json=body, headers=headers, **options)


def existing(client: httpx.Client) -> int:
    """How many payments really exist for the client's key (the admin view: never struck by an outage)."""
    return client.get("/__admin/payments").json()["count"]


def attempts(client: httpx.Client, path: str = "/payments", method: str = "POST") -> list[dict[str, Any]]:
    return client.get("/__admin/requests", params={"method": method, "path": path}).json()["requests"]


def outage(client: httpx.Client, **fields: Any) -> dict[str, Any]:
    response = client.put(OUTAGE, json=fields)
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture
def small() -> Iterator[str]:
    """A server of the test's own, with a short idempotency TTL and few records."""
    with BackgroundServer(Config(port=0, idempotency_ttl=0.3, max_records=2, max_duration=2.0)) as url:
        yield url


# ---- Payments and refunds.

def test_create_get_list_and_refund(client: httpx.Client) -> None:
    created = post(client, {"amount": 1999, "currency": "EUR", "description": "order 42", "customer": "cus_1"})
    assert created.status_code == 201 and created.headers["location"] == "/payments/pay_000001"
    payment = created.json()
    assert payment == {"id": "pay_000001", "object": "payment", "amount": 1999, "currency": "eur",
                       "status": "succeeded", "description": "order 42", "customer": "cus_1", "amount_refunded": 0}
    assert post(client, {"amount": 500, "currency": "jpy"}).json()["id"] == "pay_000002"
    assert client.get("/payments/pay_000001").json() == payment
    listing = client.get("/payments").json()
    assert listing["count"] == 2 and [p["id"] for p in listing["payments"]] == ["pay_000001", "pay_000002"]
    refund = client.post("/payments/pay_000001/refunds", json={"amount": 500})
    assert refund.status_code == 201
    assert refund.json() == {"id": "re_000001", "object": "refund", "payment": "pay_000001", "amount": 500,
                             "currency": "eur"}
    rest = client.post("/payments/pay_000001/refunds")  # no body: all that is left
    assert rest.json()["amount"] == 1499 and rest.json()["id"] == "re_000002"
    assert client.get("/payments/pay_000001").json()["amount_refunded"] == 1999
    too_much = client.post("/payments/pay_000001/refunds", json={"amount": 1})
    assert too_much.status_code == 422 and too_much.json()["error"] == "refund_exceeds_payment"
    assert "0 eur minor units left" in too_much.json()["message"]


def test_keys_have_their_own_payments_and_a_reset_forgets_them(client: httpx.Client, base_url: str, key: str) -> None:
    post(client)
    other = httpx.get(f"{base_url}/payments", headers={"X-Client-Key": f"{key}-other"}, timeout=10)
    assert other.json() == {"count": 0, "payments": []}
    outage(client, mode="error", calls=5)
    client.post("/__admin/reset")
    assert existing(client) == 0 and client.get(OUTAGE).json()["state"] == "none"
    assert post(client).json()["id"] == "pay_000001", "ids start again after a reset"


# (what, amount sent, words the message must contain)
BAD_AMOUNTS = [
    ("a float", 19.99, "amounts are integer minor units, as a JSON integer: send 1999 for 19.99 usd, not 19.99"),
    ("a whole float", 1999.0, "send 1999, not 1999.0"),
    ("a string", "1999", "send 1999, not the string '1999'"),
    ("a decimal string", "19.99", "send 1999 for 19.99 usd"),
    ("a word", "lots", "got the string 'lots'"),
    ("a boolean", True, "got a boolean"),
    ("null", None, "got null"),
    ("an array", [1999], "got an array"),
    ("zero", 0, "at least 1"),
    ("a negative", -1999, "at least 1"),
    ("one too many", MAX_AMOUNT + 1, f"at most {MAX_AMOUNT} minor units, got {MAX_AMOUNT + 1}"),
    ("10**30", 10**30, "an integer of 31 digits"),
    ("a float beyond the range", 1e20, "from 1 to 99999999"),
]


@pytest.mark.parametrize(("what", "amount", "words"), BAD_AMOUNTS, ids=[row[0] for row in BAD_AMOUNTS])
def test_amounts_are_integer_minor_units(client: httpx.Client, what: str, amount: Any, words: str) -> None:
    refused = post(client, {"amount": amount, "currency": "usd"})
    assert refused.status_code == 422, refused.text
    assert (refused.json()["error"], refused.json()["field"]) == ("invalid_amount", "amount")
    assert words in refused.json()["message"]
    assert existing(client) == 0


def test_the_hint_uses_the_currency_minor_unit(client: httpx.Client) -> None:
    assert "jpy has 0 decimal places" in post(client, {"amount": 1999.5, "currency": "jpy"}).json()["message"]
    assert "send 500 for 500 jpy" not in post(client, {"amount": 500.0, "currency": "jpy"}).json()["message"]
    assert "send 1999 for 19.99 usd" in post(client, {"amount": 19.99, "currency": "xyz"}).json()["message"]
    assert "usd has 2 decimal places" in post(client, {"amount": 19.999, "currency": "usd"}).json()["message"]
    assert "send 12346 for 12.346 kwd" in post(client, {"amount": 12.346, "currency": "KWD"}).json()["message"]
    missing = post(client, {"currency": "usd"})
    assert missing.json()["error"] == "invalid_amount" and "amount is required" in missing.json()["message"]


@pytest.mark.parametrize(("body", "status", "error", "words"), [
    ({"amount": 100, "currency": "xyz"}, 422, "invalid_currency", "use one of usd, eur"),
    ({"amount": 100, "currency": 840}, 422, "invalid_currency", "3-letter ISO 4217 code"),
    ({"amount": 100}, 422, "invalid_currency", "got nothing"),
    ({**PAYMENT, "captured": True}, 422, "validation_failed", "captured"),
    ({**PAYMENT, "description": "x" * 501}, 422, "validation_failed", "description"),
    ({**PAYMENT, "customer": 7}, 422, "validation_failed", "customer"),
    ([PAYMENT], 422, "validation_failed", "JSON object"),
])
def test_other_fields_are_checked(client: httpx.Client, body: Any, status: int, error: str, words: str) -> None:
    refused = post(client, body)
    assert (refused.status_code, refused.json()["error"]) == (status, error), refused.text
    assert words in refused.json()["message"]
    if error == "invalid_currency":
        assert refused.json()["supported"] == list(CURRENCIES)


def test_an_id_is_one_raw_path_segment(client: httpx.Client) -> None:
    for target, named in [("/payments/..%2Fadmin", "../admin"), ("/payments/a%2Frefunds", "a/refunds"),
                          ("/payments/%2E%2E", ".."), ("/payments/pay_1%3Fx=1", "pay_1?x=1")]:
        missing = client.get(target)
        assert missing.status_code == 404 and missing.json() == {
            "error": "not_found", "message": f"no payment with id {named!r}", "id": named}, target
    post(client)
    assert client.get("/payments/pay%5F000001").json()["id"] == "pay_000001", "a quoted character is unquoted"
    refund = client.post("/payments/..%2Fadmin/refunds", json={"amount": 1})
    assert refund.status_code == 404 and refund.json()["id"] == "../admin"


def test_each_key_makes_at_most_max_records_payments_and_refunds(small: str) -> None:
    with httpx.Client(base_url=small, timeout=10) as client:
        assert [post(client).status_code for _ in range(3)] == [201, 201, 409]
        assert "--max-records" in post(client).json()["message"]
        refunds = [client.post("/payments/pay_000001/refunds", json={"amount": 1}).status_code for _ in range(3)]
    assert refunds == [201, 201, 409]


def test_payments_are_charged_to_state_bytes() -> None:
    with BackgroundServer(Config(port=0, state_bytes=2000)) as url, httpx.Client(base_url=url, timeout=10) as client:
        statuses = [post(client).status_code for _ in range(5)]
        used = client.get("/__admin/stats/server").json()["state_bytes"]
    assert statuses[0] == 201 and statuses[-1] == 409 and 0 < used <= 2000, (statuses, used)


# ---- Idempotency-Key.

def test_the_same_key_and_body_replay_the_first_payment(client: httpx.Client) -> None:
    first, again = post(client, key="pay-1"), post(client, key="pay-1")
    assert first.status_code == again.status_code == 201 and again.content == first.content
    assert again.headers["idempotent-replayed"] == "true" and "idempotent-replayed" not in first.headers
    assert existing(client) == 1
    assert [entry["status"] for entry in attempts(client)] == [201, 201], "the journal shows every attempt"
    assert [entry["headers"]["Idempotency-Key"] for entry in attempts(client)] == ["pay-1", "pay-1"]


@pytest.mark.parametrize(("path", "body", "status", "error"), [
    ("/payments", {"amount": 2000, "currency": "usd"}, 422, "idempotency_key_reused"),
    ("/payments/pay_000001/refunds", {"amount": 1}, 422, "idempotency_key_reused"),
])
def test_a_key_reused_for_another_request_is_refused(client: httpx.Client, path: str, body: Any, status: int,
                                                      error: str) -> None:
    post(client, key="once")
    reused = client.post(path, json=body, headers={"Idempotency-Key": "once"})
    assert (reused.status_code, reused.json()["error"]) == (status, error)
    assert existing(client) == 1 and client.get("/payments/pay_000001").json()["amount_refunded"] == 0


def test_a_refused_body_does_not_use_up_the_key(client: httpx.Client) -> None:
    assert post(client, {"amount": 19.99, "currency": "usd"}, key="fix-me").status_code == 422
    fixed = post(client, key="fix-me")
    assert fixed.status_code == 201 and "idempotent-replayed" not in fixed.headers


def test_refunds_honour_idempotency_keys(client: httpx.Client) -> None:
    post(client)
    first = client.post("/payments/pay_000001/refunds", json={"amount": 100}, headers={"Idempotency-Key": "r1"})
    again = client.post("/payments/pay_000001/refunds", json={"amount": 100}, headers={"Idempotency-Key": "r1"})
    assert again.headers["idempotent-replayed"] == "true" and again.json() == first.json()
    assert client.get("/payments/pay_000001").json()["amount_refunded"] == 100


def test_a_10_kb_key_is_a_400(client: httpx.Client) -> None:
    refused = post(client, key="k" * 10_240)
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_idempotency_key"
    assert "got 10240 characters" in refused.json()["message"] and existing(client) == 0


def test_a_key_in_flight_gets_409_while_the_provider_is_slow(client: httpx.Client, base_url: str, key: str) -> None:
    outage(client, mode="slow", calls=1, delay=1.0)
    first: list[httpx.Response] = []
    worker = threading.Thread(target=lambda: first.append(
        httpx.post(f"{base_url}/payments", json=PAYMENT, timeout=10,
                   headers={"X-Client-Key": key, "Idempotency-Key": "slow-1"})))
    worker.start()
    deadline = time.monotonic() + 5
    while not attempts(client) and time.monotonic() < deadline:  # the first request has arrived
        time.sleep(0.02)
    in_flight = post(client, key="slow-1")
    worker.join(10)
    assert in_flight.status_code == 409 and in_flight.json()["error"] == "idempotency_key_in_flight"
    assert in_flight.headers["retry-after"] == "1"
    assert first[0].status_code == 201 and post(client, key="slow-1").headers["idempotent-replayed"] == "true"
    assert existing(client) == 1


def test_keys_expire_after_the_ttl(small: str) -> None:
    with httpx.Client(base_url=small, timeout=10) as client:
        assert post(client, key="k").json()["id"] == "pay_000001"
        time.sleep(0.4)
        later = post(client, key="k")
    assert later.json()["id"] == "pay_000002" and "idempotent-replayed" not in later.headers


# ---- Outages.

def test_an_error_window_of_calls_fails_them_then_lets_calls_through(client: httpx.Client) -> None:
    window = outage(client, mode="error", calls=2, status=502, retry_after=3)
    assert (window["state"], window["calls_left"], window["status"]) == ("active", 2, 502)
    failed = [post(client, key="breaker-1") for _ in range(2)]
    assert [(r.status_code, r.json()["error"], r.headers.get("retry-after")) for r in failed] == \
        [(502, "provider_unavailable", "3")] * 2
    assert existing(client) == 0, "nothing is created during an error window"
    after = post(client, key="breaker-1")
    assert after.status_code == 201 and "idempotent-replayed" not in after.headers, "a failure is not stored"
    assert client.get(OUTAGE).json() | {"starts_in": 0} == window | {"state": "over", "active": False,
                                                                     "calls_left": 0, "affected": 2}


def test_a_breaker_cycle_against_a_scheduled_window_of_seconds(client: httpx.Client) -> None:
    """Closed (calls succeed), open (the window: they fail), then closed again once it is over."""
    window = outage(client, mode="error", seconds=1.0, starts_in=0.5)
    started = time.monotonic()
    assert window["state"] == "scheduled" and 0 < window["starts_in"] <= 0.5
    assert post(client).status_code == 201, "before the window"
    time.sleep(max(0.0, 1.0 - (time.monotonic() - started)))
    assert client.get(OUTAGE).json()["state"] == "active"
    assert client.get("/payments").status_code == 503, "inside the window, every /payments request fails"
    assert post(client).status_code == 503
    time.sleep(max(0.0, 2.0 - (time.monotonic() - started)))
    assert post(client).status_code == 201, "after the window"
    assert client.get(OUTAGE).json()["state"] == "over" and existing(client) == 2
    assert [entry["status"] for entry in attempts(client)] == [201, 503, 201]


def test_a_window_of_calls_counts_from_its_start(client: httpx.Client) -> None:
    outage(client, mode="error", calls=1, starts_in=0.3)
    assert post(client).status_code == 201, "before the start: not counted"
    time.sleep(0.4)
    assert [post(client).status_code for _ in range(2)] == [503, 201]


def test_timeout_holds_then_answers_504_and_creates_nothing(client: httpx.Client, base_url: str, key: str) -> None:
    outage(client, mode="timeout", calls=2, delay=0.5)
    held = post(client)
    assert held.status_code == 504 and held.json()["error"] == "provider_timeout"
    impatient = httpx.Client(base_url=base_url, headers={"X-Client-Key": key}, timeout=httpx.Timeout(10, read=0.1))
    with impatient:
        with pytest.raises(httpx.ReadTimeout):
            post(impatient)
    time.sleep(0.6)
    assert existing(client) == 0
    assert [entry["status"] for entry in attempts(client)] == [504, 499], "the client that gave up is a 499"


def test_slow_waits_then_answers(client: httpx.Client) -> None:
    outage(client, mode="slow", calls=1, delay=0.5)
    started = time.monotonic()
    slow = post(client)
    slow_time = time.monotonic() - started
    started = time.monotonic()
    fast = post(client)
    fast_time = time.monotonic() - started
    assert slow.status_code == fast.status_code == 201
    assert slow_time >= 0.45 and slow_time > fast_time, (slow_time, fast_time)


def test_a_lost_answer_retried_with_the_same_key_replays_one_payment(client: httpx.Client) -> None:
    outage(client, mode="lost_answer", calls=1)
    with pytest.raises(httpx.RemoteProtocolError):
        post(client, key="order-7")
    retry = post(client, key="order-7")
    assert retry.status_code == 201 and retry.headers["idempotent-replayed"] == "true"
    assert retry.json()["id"] == "pay_000001"
    assert client.get("/payments").json()["count"] == 1
    assert [entry["status"] for entry in attempts(client)] == [201, 201], "the lost attempt is in the journal"


def test_a_lost_answer_retried_without_a_key_charges_twice(client: httpx.Client) -> None:
    outage(client, mode="lost_answer", calls=1)
    with pytest.raises(httpx.RemoteProtocolError):
        post(client)
    assert post(client).status_code == 201
    assert client.get("/payments").json()["count"] == 2


def test_any_answer_can_be_lost(client: httpx.Client) -> None:
    outage(client, mode="lost_answer", calls=2)
    for target in ("/payments/pay_000404", "/payments"):
        with pytest.raises(httpx.RemoteProtocolError):
            client.get(target)
    seen = client.get("/__admin/requests", params={"method": "GET"}).json()["requests"]
    assert [(entry["path"], entry["status"]) for entry in seen] == [("/payments/pay_000404", 404), ("/payments", 200)]


def test_a_delayed_lost_answer_times_out_and_the_retry_replays(base_url: str, key: str, client: httpx.Client) -> None:
    outage(client, mode="lost_answer", calls=1, delay=1.0)
    impatient = httpx.Client(base_url=base_url, headers={"X-Client-Key": key}, timeout=httpx.Timeout(10, read=0.2))
    with impatient:
        with pytest.raises(httpx.ReadTimeout):
            post(impatient, key="order-8")
        retry = post(impatient, key="order-8")  # at once: the answer was stored before it was delayed
    assert retry.status_code == 201 and retry.headers["idempotent-replayed"] == "true"
    assert existing(client) == 1


def test_a_lost_answer_over_http2_ends_the_stream_short(base_url: str, key: str) -> None:
    headers = {"X-Client-Key": key}
    with httpx.Client(base_url=base_url, http1=False, http2=True, headers=headers, timeout=10) as client:
        outage(client, mode="lost_answer", calls=1)
        # httpcore passes h2's error on unwrapped, or as a LocalProtocolError when the head and the stream's end
        # arrive together (h2 checks the length as it reads the end).
        cut_short = (h2.exceptions.InvalidBodyLengthError, httpx.LocalProtocolError)
        with pytest.raises(cut_short, match="InvalidBodyLength|Expected"):
            post(client, key="h2")
        retry = post(client, key="h2")
        assert retry.http_version == "HTTP/2" and retry.headers["idempotent-replayed"] == "true"


def test_admin_requests_are_never_struck_and_the_window_can_be_ended(client: httpx.Client) -> None:
    post(client)
    outage(client, mode="error", calls=100)
    assert client.get("/__admin/payments").json()["count"] == 1
    assert client.get(OUTAGE).json()["calls_left"] == 100
    assert client.get("/payments/pay_000001").status_code == 503
    ended = client.delete(OUTAGE).json()
    assert (ended["state"], ended["affected"], ended["calls_left"]) == ("ended", 1, None)
    assert client.get("/payments/pay_000001").status_code == 200
    assert client.delete(OUTAGE).json()["state"] == "none"


def test_a_new_window_replaces_the_old(client: httpx.Client) -> None:
    outage(client, mode="error", calls=5)
    window = outage(client, mode="slow", seconds=2, delay=0.1)
    assert (window["mode"], window["calls"], window["seconds_left"], window["status"]) == ("slow", None, 2.0, None)
    assert post(client).status_code == 201


@pytest.mark.parametrize(("fields", "field", "words"), [
    ({"calls": 1}, "mode", "Field required"),
    ({"mode": "down", "calls": 1}, "mode", "'error', 'timeout', 'slow' or 'lost_answer'"),
    ({"mode": "error"}, "calls", "exactly one of calls"),
    ({"mode": "error", "calls": 1, "seconds": 1}, "calls", "exactly one of calls"),
    ({"mode": "error", "calls": 0}, "calls", "greater than or equal to 1"),
    ({"mode": "error", "calls": 1.5}, "calls", "integer"),
    ({"mode": "error", "seconds": MAX_OUTAGE_SECONDS + 1}, "seconds", "less than or equal to 60"),
    ({"mode": "error", "seconds": 0}, "seconds", "greater than or equal to 0.01"),
    ({"mode": "error", "calls": 1, "starts_in": -1}, "starts_in", "greater than or equal to 0"),
    ({"mode": "error", "calls": 1, "starts_in": 61}, "starts_in", "less than or equal to 60"),
    ({"mode": "error", "calls": 1, "status": 404}, "status", "greater than or equal to 500"),
    ({"mode": "timeout", "calls": 1, "status": 503}, "status", "mode error only"),
    ({"mode": "slow", "calls": 1, "retry_after": 1}, "retry_after", "mode error only"),
    ({"mode": "slow", "calls": 1, "delay": 11}, "delay", "at most 10 s (the server's --max-duration)"),
    ({"mode": "slow", "calls": 1, "delay": "1"}, "delay", "number"),
    ({"mode": "lost_answer", "calls": 1, "delay": 0}, "delay", "leave it out to drop the connection"),
    ({"mode": "error", "calls": 1, "window": 3}, "window", "Extra inputs"),
])
def test_every_outage_field_is_checked(client: httpx.Client, fields: dict[str, Any], field: str, words: str) -> None:
    refused = client.put(OUTAGE, json=fields)
    assert refused.status_code == 422 and refused.json()["error"] == "validation_failed", refused.text
    assert words in refused.json()["fields"][field]
    assert client.get(OUTAGE).json()["state"] == "none"


def test_each_mode_has_its_defaults(client: httpx.Client) -> None:
    defaults = {mode: outage(client, mode=mode, calls=1) for mode in ("error", "timeout", "slow", "lost_answer")}
    assert {mode: (window["status"], window["delay"]) for mode, window in defaults.items()} == {
        "error": (503, 0.0), "timeout": (None, 10.0), "slow": (None, 1.0), "lost_answer": (None, None)}


# ---- Hostile input: each a 4xx JSON error, nothing created, the server healthy after.

HOSTILE = [
    ("float money", {"json": {"amount": 19.99, "currency": "usd"}}, 422, "invalid_amount"),
    ("huge amount", {"content": b'{"amount": 1' + b"0" * 60 + b', "currency": "usd"}'}, 422, "invalid_amount"),
    ("100-digit amount", {"content": b'{"amount": ' + b"9" * 101 + b', "currency": "usd"}'}, 400,
     "json_number_out_of_range"),
    ("1e999 amount", {"content": b'{"amount": 1e999, "currency": "usd"}'}, 400, "json_number_out_of_range"),
    ("negative amount", {"json": {"amount": -100, "currency": "usd"}}, 422, "invalid_amount"),
    ("10 KB idempotency key", {"json": PAYMENT, "headers": {"Idempotency-Key": "x" * 10_240}}, 400,
     "invalid_idempotency_key"),
    ("malformed JSON", {"content": b'{"amount": 1999,', "headers": {"Content-Type": "application/json"}}, 400,
     "malformed_json"),
    ("a form, not JSON", {"data": {"amount": "1999", "currency": "usd"}}, 415, "unsupported_media_type"),
    ("no content type", {"content": b'{"amount": 1999, "currency": "usd"}', "headers": {"Content-Type": ""}}, 415,
     "unsupported_media_type"),
    ("10 MiB body", {"content": b" " * (10 * MiB + 1), "headers": {"Content-Type": "application/json"}}, 413,
     "body_too_large"),
]


@pytest.mark.parametrize(("case", "options", "status", "error"), HOSTILE, ids=[row[0] for row in HOSTILE])
def test_hostile_input_gets_a_json_error(client: httpx.Client, case: str, options: dict[str, Any], status: int,
                                         error: str) -> None:
    if "content" in options:
        options = {"headers": {"Content-Type": "application/json"}, **options}
    refused = client.post("/payments", **options)
    assert refused.status_code == status and refused.headers["content-type"] == "application/json", refused.text
    assert refused.json()["error"] == error
    assert existing(client) == 0 and client.get("/__admin/health").json()["status"] == "ok"


def test_a_replayed_key_with_another_body_is_a_422(client: httpx.Client) -> None:
    post(client, key="replayed")
    reused = post(client, {"amount": 1, "currency": "usd"}, key="replayed")
    assert reused.status_code == 422 and reused.json()["error"] == "idempotency_key_reused"
    assert existing(client) == 1


def test_the_openapi_document_describes_the_payments_api(client: httpx.Client) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/payments", "/payments/{payment_id}", "/payments/{payment_id}/refunds", "/__admin/payments",
            OUTAGE} <= paths.keys()
    create = paths["/payments"]["post"]
    assert "Idempotency-Key" in {parameter["name"] for parameter in create["parameters"]}
    assert {"201", "4XX", "5XX"} <= create["responses"].keys()
    assert set(paths[OUTAGE]) == {"get", "put", "delete"}


def test_the_course_helpers_set_read_and_end_an_outage(client: httpx.Client, key: str) -> None:
    from course import server

    window = server.outage(key, mode="error", calls=1, retry_after=1)
    assert (window["state"], window["calls_left"]) == ("active", 1)
    assert server.outage(key) == window, "with no fields, the current window"
    assert post(client).status_code == 503 and post(client).status_code == 201
    assert [payment["id"] for payment in server.payments(key)] == ["pay_000001"]
    assert server.end_outage(key)["affected"] == 1 and server.outage(key)["state"] == "none"
    with pytest.raises(server.MockServerError, match="exactly one of calls"):
        server.outage(key, mode="error")
