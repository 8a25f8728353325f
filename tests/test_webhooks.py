"""Webhook delivery over real TCP: the mock server sends to a small receiver in this process.

The receiver (a Starlette app under uvicorn, course.receiver.BackgroundApp) records every
request it gets under the path's token, and answers as the path's mode says: ok (204), fail
(500), hang (holds the request), flaky-N (fails N times, then 204), redirect (302).
"""

from __future__ import annotations

import asyncio
import base64
import gc
import hashlib
import hmac
import json
import logging
import re
import socket
import threading
import time
import uuid
import warnings
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import standardwebhooks
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from course.receiver import BackgroundApp
from mock_server import delivery
from mock_server.config import Config
from mock_server.server import BackgroundServer

HANG_SECONDS = 3.0  # how long the receiver holds a "hang" request (longer than any timeout below)
SETTLE = 10.0


class Recorder:
    """What the receiver got, per token: (mode, headers, body, monotonic arrival time)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.got: dict[str, list[tuple[dict[str, str], bytes, float]]] = {}
        self.counts: dict[str, int] = {}

    def app(self) -> Starlette:
        async def receive(request: Request) -> Response:
            token, mode = request.path_params["token"], request.path_params["mode"]
            body = await request.body()
            with self.lock:
                self.got.setdefault(token, []).append((dict(request.headers), body, time.monotonic()))
                count = self.counts[token] = self.counts.get(token, 0) + 1
            if mode == "fail":
                return Response(status_code=500)
            if mode == "hang":
                await asyncio.sleep(HANG_SECONDS)
                return Response(status_code=204)
            if mode == "redirect":
                return Response(status_code=302, headers={"Location": f"/r/{token}-moved/ok"})
            if mode.startswith("flaky-") and count <= int(mode.removeprefix("flaky-")):
                return Response(status_code=503)
            return Response(status_code=204)

        return Starlette(routes=[Route("/r/{token}/{mode}", receive, methods=["POST"])])

    def requests(self, token: str) -> list[tuple[dict[str, str], bytes, float]]:
        with self.lock:
            return list(self.got.get(token, []))


@pytest.fixture(scope="module")
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture(scope="module")
def receiver(recorder: Recorder) -> Iterator[str]:
    with BackgroundApp(recorder.app()) as url:
        yield url


class Hooks:
    """One client key's calls to the webhook API, with a token of its own at the receiver."""

    def __init__(self, base_url: str, receiver: str, recorder: Recorder) -> None:
        self.key = f"hook-{uuid.uuid4().hex[:10]}"
        self.token = uuid.uuid4().hex[:10]
        self.receiver, self.recorder = receiver, recorder
        self.http = httpx.Client(base_url=base_url, headers={"X-Client-Key": self.key}, timeout=30)

    def url(self, mode: str = "ok") -> str:
        return f"{self.receiver}/r/{self.token}/{mode}"

    def endpoint(self, mode: str = "ok", **fields: Any) -> dict[str, Any]:
        response = self.http.post("/webhooks/endpoints", json={"url": self.url(mode), **fields})
        assert response.status_code == 201, response.text
        return response.json()

    def send(self, endpoint: str, types: list[str], **fields: Any) -> dict[str, Any]:
        events = [{"type": kind, "data": {"n": number}} for number, kind in enumerate(types, 1)]
        response = self.http.post("/webhooks/events", json={"endpoint": endpoint, "events": events, **fields})
        assert response.status_code == 202, response.text
        return response.json()

    def log(self, settle: float = SETTLE) -> dict[str, Any]:
        response = self.http.get("/__admin/webhooks/deliveries", params={"settle": settle})
        assert response.status_code == 200, response.text
        return response.json()

    def got(self) -> list[tuple[dict[str, str], bytes, float]]:
        return self.recorder.requests(self.token)

    def close(self) -> None:
        self.http.post("/__admin/reset")
        self.http.close()


@pytest.fixture
def hooks(base_url: str, receiver: str, recorder: Recorder) -> Iterator[Hooks]:
    made = Hooks(base_url, receiver, recorder)
    yield made
    made.close()


@pytest.fixture
def other(base_url: str, receiver: str, recorder: Recorder) -> Iterator[Hooks]:
    made = Hooks(base_url, receiver, recorder)
    yield made
    made.close()


def by_hand_standard(secret: str, headers: dict[str, str], body: bytes) -> bool:
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    version, _, given = headers["webhook-signature"].partition(",")
    return version == "v1" and hmac.compare_digest(given, expected)


def by_hand_github(secret: str, headers: dict[str, str], body: bytes) -> bool:
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(headers["x-hub-signature-256"], expected)


# ---- Signatures


def test_standard_deliveries_verify_with_standardwebhooks_and_by_hand(hooks: Hooks) -> None:
    endpoint = hooks.endpoint()
    assert endpoint["secret"].startswith("whsec_") and endpoint["signature"] == "standard"
    queued = hooks.send(endpoint["id"], ["payment.succeeded", "payment.refunded"])
    assert [item["id"] for item in queued["deliveries"]] == ["msg_000001", "msg_000002"]
    log = hooks.log()
    assert log["settled"] and [entry["state"] for entry in log["deliveries"]] == ["delivered"] * 2
    got = hooks.got()
    assert len(got) == 2
    webhook = standardwebhooks.Webhook(endpoint["secret"])
    for (headers, body, _), kind, number in zip(got, ["payment.succeeded", "payment.refunded"], [1, 2]):
        payload = webhook.verify(body, headers)
        assert payload["type"] == kind and payload["data"] == {"n": number}
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", payload["timestamp"])
        assert by_hand_standard(endpoint["secret"], headers, body)
        assert headers["content-type"] == "application/json"
        assert abs(int(headers["webhook-timestamp"]) - time.time()) < 60


def test_github_deliveries_verify_by_hand(hooks: Hooks) -> None:
    endpoint = hooks.endpoint(signature="github")
    assert re.fullmatch(r"[0-9a-f]{40}", endpoint["secret"])
    hooks.send(endpoint["id"], ["push", "issues"])
    assert hooks.log()["settled"]
    got = hooks.got()
    assert [headers["x-github-event"] for headers, _, _ in got] == ["push", "issues"]
    for headers, body, _ in got:
        assert by_hand_github(endpoint["secret"], headers, body)
        assert uuid.UUID(headers["x-github-delivery"]).version == 4
        assert "webhook-id" not in headers
    assert [json.loads(body) for _, body, _ in got] == [{"n": 1}, {"n": 2}]
    log = hooks.log()
    assert [entry["delivery_id"] for entry in log["deliveries"]] == [h["x-github-delivery"] for h, _, _ in got]


@pytest.mark.parametrize("signature", ["standard", "github"])
def test_a_given_secret_is_used(hooks: Hooks, signature: str) -> None:
    secret = "whsec_" + base64.b64encode(b"k" * 32).decode() if signature == "standard" else "It's a secret!"
    endpoint = hooks.endpoint(signature=signature, secret=secret)
    assert endpoint["secret"] == secret
    hooks.send(endpoint["id"], ["a"])
    hooks.log()
    ((headers, body, _),) = hooks.got()
    check = by_hand_standard if signature == "standard" else by_hand_github
    assert check(secret, headers, body)


# (signature, the flag, what standardwebhooks says, whether the by-hand HMAC still matches)
BAD_DELIVERIES = [
    ("standard", "stale_timestamp", "too old", True),
    ("standard", "bad_signature", "No matching signature", False),
    ("github", "bad_signature", None, False),
]


@pytest.mark.parametrize(("signature", "flag", "refusal", "hmac_matches"), BAD_DELIVERIES,
                         ids=[f"{row[0]}-{row[1]}" for row in BAD_DELIVERIES])
def test_stale_and_bad_signatures_are_rejected(hooks: Hooks, signature: str, flag: str, refusal: str | None,
                                               hmac_matches: bool) -> None:
    endpoint = hooks.endpoint(signature=signature)
    hooks.send(endpoint["id"], ["a"], **{flag: True})
    assert hooks.log()["deliveries"][0]["state"] == "delivered"  # the receiver answered 204 all the same
    ((headers, body, _),) = hooks.got()
    if signature == "standard":
        with pytest.raises(standardwebhooks.webhooks.WebhookVerificationError, match=refusal):
            standardwebhooks.Webhook(endpoint["secret"]).verify(body, headers)
        assert by_hand_standard(endpoint["secret"], headers, body) == hmac_matches
        age = time.time() - int(headers["webhook-timestamp"])
        assert (age > delivery.STALE_SECONDS - 60) == (flag == "stale_timestamp")
    else:
        assert by_hand_github(endpoint["secret"], headers, body) == hmac_matches


def test_secrets_and_ids_are_deterministic(base_url: str, receiver: str, recorder: Recorder) -> None:
    """The same calls for the same key give the same secrets, ids and bodies (but the timestamps)."""
    seen = []
    for _ in range(2):
        hooks = Hooks(base_url, receiver, recorder)
        hooks.key = "hook-determinism"
        hooks.http.headers["X-Client-Key"] = hooks.key
        hooks.http.post("/__admin/reset")
        standard, github = hooks.endpoint(), hooks.endpoint(signature="github")
        hooks.send(github["id"], ["a", "b", "c"], order="shuffled")
        hooks.log()
        seen.append((standard["secret"], github["secret"],
                     [(h["x-github-delivery"], body) for h, body, _ in hooks.got()[-3:]]))
        hooks.close()
    assert seen[0] == seen[1]


# ---- Duplicates and order


def test_duplicates_arrive_with_the_same_id_and_body(hooks: Hooks) -> None:
    endpoint = hooks.endpoint()
    queued = hooks.send(endpoint["id"], ["a", "b"], duplicates=2)
    assert [item["copies"] for item in queued["deliveries"]] == [3, 3]
    log = hooks.log()
    assert [(entry["id"], entry["copy"]) for entry in log["deliveries"]] == [
        ("msg_000001", 1), ("msg_000002", 1), ("msg_000001", 2), ("msg_000002", 2), ("msg_000001", 3),
        ("msg_000002", 3)]
    got = hooks.got()
    ids = [headers["webhook-id"] for headers, _, _ in got]
    assert ids == ["msg_000001", "msg_000002"] * 3
    bodies: dict[str, set[bytes]] = {}
    for headers, body, _ in got:
        bodies.setdefault(headers["webhook-id"], set()).add(body)
    assert all(len(kept) == 1 for kept in bodies.values())


ORDERS = [("in_order", lambda ids: ids), ("reversed", lambda ids: ids[::-1])]


@pytest.mark.parametrize(("order", "expected"), ORDERS, ids=[row[0] for row in ORDERS])
def test_order(hooks: Hooks, order: str, expected: Any) -> None:
    endpoint = hooks.endpoint()
    hooks.send(endpoint["id"], ["a", "b", "c", "d"], order=order)
    hooks.log()
    ids = [f"msg_00000{number}" for number in range(1, 5)]
    assert [headers["webhook-id"] for headers, _, _ in hooks.got()] == expected(ids)


def test_shuffled_order_is_seeded(hooks: Hooks) -> None:
    endpoint = hooks.endpoint()
    orders = []
    for _ in range(3):
        hooks.send(endpoint["id"], [f"e{number}" for number in range(8)], order="shuffled")
        hooks.log()
        orders.append([json.loads(body)["type"] for _, body, _ in hooks.got()[-8:]])
    assert all(sorted(order) == [f"e{number}" for number in range(8)] for order in orders)
    assert len({tuple(order) for order in orders}) > 1  # each batch drawn anew
    # A reset key draws the same sequence again.
    hooks.http.post("/__admin/reset")
    endpoint = hooks.endpoint()
    hooks.send(endpoint["id"], [f"e{number}" for number in range(8)], order="shuffled")
    hooks.log()
    assert [json.loads(body)["type"] for _, body, _ in hooks.got()[-8:]] == orders[0]


# ---- Retries


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# (mode, endpoint fields, final state, attempts' statuses, attempts' errors, requests the receiver gets)
RETRIES = [
    ("fail", {"max_attempts": 3, "backoff": 0.01}, "failed", [500, 500, 500], [None] * 3, 3),
    ("flaky-2", {"max_attempts": 5, "backoff": 0.01}, "delivered", [503, 503, 204], [None] * 3, 3),
    ("hang", {"max_attempts": 2, "timeout": 0.2, "backoff": 0.01}, "failed", [None, None], ["timeout"] * 2, 2),
    ("redirect", {"max_attempts": 2, "backoff": 0.01}, "failed", [302, 302], [None] * 2, 2),
    ("ok", {"max_attempts": 1}, "delivered", [204], [None], 1),
]


@pytest.mark.parametrize(("mode", "fields", "state", "statuses", "errors", "requests"), RETRIES,
                         ids=[row[0] for row in RETRIES])
def test_retries_until_max_attempts(hooks: Hooks, mode: str, fields: dict[str, Any], state: str,
                                    statuses: list[int | None], errors: list[str | None], requests: int) -> None:
    endpoint = hooks.endpoint(mode, **fields)
    hooks.send(endpoint["id"], ["a"])
    (entry,) = hooks.log()["deliveries"]
    assert entry["state"] == state
    assert [attempt["attempt"] for attempt in entry["attempts"]] == list(range(1, len(statuses) + 1))
    assert [attempt["status"] for attempt in entry["attempts"]] == statuses
    assert [attempt["error"] for attempt in entry["attempts"]] == errors
    assert all(attempt["latency"] >= 0 for attempt in entry["attempts"])
    got = hooks.got()
    assert len(got) == requests
    assert {headers["webhook-id"] for headers, _, _ in got} == {"msg_000001"}  # the same id on every attempt
    assert len({body for _, body, _ in got}) == 1
    if mode == "redirect":
        assert hooks.recorder.requests(f"{hooks.token}-moved") == []  # never followed


def test_a_refused_connection_is_a_failed_attempt(hooks: Hooks) -> None:
    response = hooks.http.post("/webhooks/endpoints", json={
        "url": f"http://127.0.0.1:{closed_port()}/hook", "max_attempts": 2, "backoff": 0.01})
    hooks.send(response.json()["id"], ["a"])
    (entry,) = hooks.log()["deliveries"]
    assert entry["state"] == "failed"
    assert [(attempt["status"], attempt["error"]) for attempt in entry["attempts"]] == [(None, "connection_failed")] * 2


def test_the_timeout_bounds_a_hanging_attempt(hooks: Hooks) -> None:
    endpoint = hooks.endpoint("hang", max_attempts=1, timeout=0.3)
    hooks.send(endpoint["id"], ["a"])
    (attempt,) = hooks.log()["deliveries"][0]["attempts"]
    assert attempt["error"] == "timeout" and 0.3 <= attempt["latency"] < HANG_SECONDS


def test_backoff_doubles(hooks: Hooks) -> None:
    endpoint = hooks.endpoint("fail", max_attempts=4, backoff=0.2)
    hooks.send(endpoint["id"], ["a"])
    hooks.log()
    times = [arrived for _, _, arrived in hooks.got()]
    gaps = [later - earlier for earlier, later in zip(times, times[1:])]
    assert len(gaps) == 3 and gaps[0] >= 0.2 and gaps[1] > gaps[0] and gaps[2] > gaps[1]


def test_retries_get_a_fresh_timestamp_and_signature(hooks: Hooks) -> None:
    endpoint = hooks.endpoint("flaky-1", max_attempts=2, backoff=1.1)  # over a second apart
    hooks.send(endpoint["id"], ["a"])
    hooks.log()
    (first, _, _), (second, _, _) = hooks.got()
    assert first["webhook-id"] == second["webhook-id"]
    assert int(second["webhook-timestamp"]) > int(first["webhook-timestamp"])
    assert first["webhook-signature"] != second["webhook-signature"]


# ---- Redelivery, settling, deleting, reset


def test_redeliver_sends_the_same_message_again(hooks: Hooks) -> None:
    endpoint = hooks.endpoint()
    hooks.send(endpoint["id"], ["a", "b"])
    hooks.log()
    response = hooks.http.post("/webhooks/deliveries/msg_000002/redeliver")
    assert response.status_code == 202, response.text
    assert response.json()["id"] == "msg_000002" and response.json()["copy"] == 2
    log = hooks.log()
    assert [(entry["id"], entry["copy"], entry["state"]) for entry in log["deliveries"]] == [
        ("msg_000001", 1, "delivered"), ("msg_000002", 1, "delivered"), ("msg_000002", 2, "delivered")]
    got = hooks.got()
    assert [headers["webhook-id"] for headers, _, _ in got] == ["msg_000001", "msg_000002", "msg_000002"]
    assert got[1][1] == got[2][1]
    missing = hooks.http.post("/webhooks/deliveries/msg_999999/redeliver")
    assert missing.status_code == 404 and "msg_999999" in missing.json()["message"]


def test_settle_waits_for_pending_deliveries(hooks: Hooks) -> None:
    endpoint = hooks.endpoint()
    hooks.send(endpoint["id"], ["a", "b", "c"], spacing=0.3)
    early = hooks.log(settle=0)
    assert not early["settled"] and early["pending"] > 0
    late = hooks.log(settle=SETTLE)
    assert late["settled"] and late["pending"] == 0
    assert [entry["state"] for entry in late["deliveries"]] == ["delivered"] * 3


def test_an_unknown_key_has_an_empty_settled_log(hooks: Hooks) -> None:
    assert hooks.log(settle=0) == {"settled": True, "pending": 0, "count": 0, "deliveries": []}


def test_deleting_an_endpoint_cancels_its_deliveries(hooks: Hooks) -> None:
    endpoint = hooks.endpoint("hang", timeout=2)
    hooks.send(endpoint["id"], ["a", "b"])
    assert hooks.http.delete(f"/webhooks/endpoints/{endpoint['id']}").status_code == 204
    log = hooks.log()
    assert log["settled"] and [entry["state"] for entry in log["deliveries"]] == ["cancelled"] * 2
    assert hooks.http.get(f"/webhooks/endpoints/{endpoint['id']}").status_code == 404
    again = hooks.http.post("/webhooks/deliveries/msg_000001/redeliver")
    assert again.status_code == 409 and again.json()["error"] == "endpoint_deleted"


def test_reset_cancels_pending_deliveries(hooks: Hooks, other: Hooks) -> None:
    endpoint = hooks.endpoint("hang", timeout=2, max_attempts=3)
    hooks.send(endpoint["id"], ["a", "b", "c"])
    while not hooks.got():  # the first attempt reached the receiver
        time.sleep(0.02)
    hooks.http.post("/__admin/reset")
    assert hooks.log(settle=0) == {"settled": True, "pending": 0, "count": 0, "deliveries": []}
    # Long enough for the cancelled ones to have gone out: another key's retries after a timeout.
    late = other.endpoint("hang", timeout=0.5, max_attempts=2, backoff=0.01)
    other.send(late["id"], ["x"])
    assert other.log()["settled"]
    assert len(hooks.got()) == 1
    assert hooks.http.get("/webhooks/endpoints").json() == {"count": 0, "endpoints": []}


# ---- A receiver that hangs or fails never stalls the server


def test_a_hanging_receiver_stalls_only_its_own_key(hooks: Hooks, other: Hooks, base_url: str) -> None:
    hanging = hooks.endpoint("hang", timeout=HANG_SECONDS - 0.5, max_attempts=2)
    failing = hooks.endpoint("fail", max_attempts=10, backoff=0.01)
    hooks.send(hanging["id"], [f"h{number}" for number in range(20)])
    for _ in range(3):
        hooks.send(failing["id"], [f"f{number}" for number in range(20)])
    while not hooks.got():
        time.sleep(0.02)
    fine = other.endpoint()
    other.send(fine["id"], [f"o{number}" for number in range(10)], duplicates=1)
    log = other.log()
    answer = httpx.get(f"{base_url}/get", timeout=30)
    mine = hooks.log(settle=0)
    # The other key's 20 deliveries and an ordinary request were done while this key's hanging
    # deliveries (the first of them being attempted, none finished) and failing retries went on.
    assert log["settled"] and [entry["state"] for entry in log["deliveries"]] == ["delivered"] * 20
    assert answer.status_code == 200
    assert not mine["settled"]
    hanging_entries = [entry for entry in mine["deliveries"] if entry["endpoint"] == hanging["id"]]
    assert sum(entry["state"] == "pending" for entry in hanging_entries) == 20


# ---- Refusals


# (case, endpoint fields, status, error, words in the message)
BAD_ENDPOINTS = [
    ("remote host", {"url": "http://example.com:80/hook"}, 422, "receiver_not_allowed", "this machine only"),
    ("private address", {"url": "http://10.0.0.1:80/"}, 422, "receiver_not_allowed", "'10.0.0.1'"),
    ("other loopback address", {"url": "http://127.0.0.2:80/"}, 422, "receiver_not_allowed", "127.0.0.1"),
    ("no port", {"url": "http://127.0.0.1/hook"}, 422, "receiver_not_allowed", "port"),
    ("port 0", {"url": "http://127.0.0.1:0/hook"}, 422, "receiver_not_allowed", "port"),
    ("port out of range", {"url": "http://127.0.0.1:70000/"}, 422, "receiver_not_allowed", "not a valid URL"),
    ("ftp", {"url": "ftp://127.0.0.1:21/"}, 422, "receiver_not_allowed", "http://"),
    ("credentials", {"url": "http://evil.example@127.0.0.1:80/"}, 422, "receiver_not_allowed", "credentials"),
    ("backslash", {"url": "http://127.0.0.1:80\\@evil.example/"}, 422, "receiver_not_allowed", "backslash"),
    ("space", {"url": "http://127.0.0.1:80/a b"}, 422, "receiver_not_allowed", "spaces"),
    ("non-ASCII host", {"url": "http://127.0.0.1:80/é"}, 422, "receiver_not_allowed", "non-ASCII"),
    ("decimal IP", {"url": "http://2130706433:80/"}, 422, "receiver_not_allowed", "this machine only"),
    ("long URL", {"url": "http://127.0.0.1:80/" + "a" * 3000}, 422, "receiver_not_allowed", "longer than"),
    ("not a string", {"url": 42}, 422, "validation_failed", "url"),
    ("no url", {}, 422, "validation_failed", "url"),
    ("unknown signature", {"url": "http://127.0.0.1:80/", "signature": "svix"}, 422, "validation_failed",
     "signature"),
    ("standard secret without prefix", {"url": "http://127.0.0.1:80/", "secret": "abc"}, 422, "invalid_secret",
     "whsec_"),
    ("standard secret not base64", {"url": "http://127.0.0.1:80/", "secret": "whsec_!!!"}, 422, "invalid_secret",
     "base64"),
    ("empty standard secret", {"url": "http://127.0.0.1:80/", "secret": "whsec_"}, 422, "invalid_secret", "1 to"),
    ("github secret with a newline", {"url": "http://127.0.0.1:80/", "signature": "github", "secret": "a\nb"}, 422,
     "invalid_secret", "printable ASCII"),
    ("too many attempts", {"url": "http://127.0.0.1:80/", "max_attempts": 11}, 422, "validation_failed",
     "max_attempts"),
    ("timeout too long", {"url": "http://127.0.0.1:80/", "timeout": 60}, 422, "validation_failed", "timeout"),
    ("backoff as a string", {"url": "http://127.0.0.1:80/", "backoff": "1"}, 422, "validation_failed", "backoff"),
    ("unknown field", {"url": "http://127.0.0.1:80/", "events": ["*"]}, 422, "validation_failed", "events"),
]


@pytest.mark.parametrize(("case", "fields", "status", "error", "words"), BAD_ENDPOINTS,
                         ids=[row[0] for row in BAD_ENDPOINTS])
def test_bad_endpoints_are_refused(hooks: Hooks, case: str, fields: dict[str, Any], status: int, error: str,
                                   words: str) -> None:
    response = hooks.http.post("/webhooks/endpoints", json=fields)
    assert response.status_code == status, response.text
    assert response.json()["error"] == error and words in response.json()["message"], response.json()


EVENT = [{"type": "a", "data": {}}]
# (case, events request fields (endpoint ep_1 unless given), status, error, words in the message)
BAD_EVENTS = [
    ("unknown endpoint", {"endpoint": "ep_9", "events": EVENT}, 404, "not_found", "ep_9"),
    ("no events", {"events": []}, 422, "validation_failed", "events"),
    ("21 events", {"events": EVENT * 21}, 422, "validation_failed", "events"),
    ("6 duplicates", {"events": EVENT, "duplicates": 6}, 422, "validation_failed", "duplicates"),
    ("unknown order", {"events": EVENT, "order": "random"}, 422, "validation_failed", "order"),
    ("spacing too long", {"events": EVENT, "spacing": 6}, 422, "validation_failed", "spacing"),
    ("data not an object", {"events": [{"type": "a", "data": [1]}]}, 422, "validation_failed", "data"),
    ("type with a newline", {"events": [{"type": "a\nb"}]}, 422, "validation_failed", "type"),
    ("stale GitHub delivery", {"endpoint": "ep_2", "events": EVENT, "stale_timestamp": True}, 422,
     "validation_failed", "GitHub deliveries carry no timestamp"),
]


@pytest.mark.parametrize(("case", "fields", "status", "error", "words"), BAD_EVENTS, ids=[row[0] for row in BAD_EVENTS])
def test_bad_events_are_refused(hooks: Hooks, case: str, fields: dict[str, Any], status: int, error: str,
                                words: str) -> None:
    hooks.endpoint()
    hooks.endpoint(signature="github")
    response = hooks.http.post("/webhooks/events", json={"endpoint": "ep_1", **fields})
    assert response.status_code == status, response.text
    assert response.json()["error"] == error and words in response.json()["message"], response.json()
    assert hooks.log(settle=0)["count"] == 0


def test_a_delivery_cannot_ask_for_more_deliveries(hooks: Hooks) -> None:
    endpoint = hooks.endpoint()
    response = hooks.http.post("/webhooks/events", json={"endpoint": endpoint["id"], "events": EVENT},
                               headers={"webhook-id": "msg_000001"})
    assert response.status_code == 422 and response.json()["error"] == "delivery_loop"


def test_at_most_ten_endpoints(hooks: Hooks) -> None:
    for _ in range(delivery.MAX_ENDPOINTS):
        hooks.endpoint()
    response = hooks.http.post("/webhooks/endpoints", json={"url": hooks.url()})
    assert response.status_code == 409 and response.json()["error"] == "too_many_endpoints"
    assert hooks.http.get("/webhooks/endpoints").json()["count"] == delivery.MAX_ENDPOINTS


def test_a_10_mib_event_is_refused_before_it_is_all_read(base_url: str) -> None:
    host, port = base_url.removeprefix("http://").split(":")
    head = (f"POST /webhooks/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            f"Content-Length: {10 * 1024 * 1024}\r\n\r\n").encode()
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(head + b'{"endpoint": "ep_1", "events": [{"type": "a", "data": {"x": "')
        answer = b""  # the whole answer comes though almost all of the body is still unsent
        while not (b"\r\n\r\n" in answer and answer.endswith(b"}")):
            chunk = sock.recv(65536)
            assert chunk, f"the connection closed before a whole answer: {answer!r}"
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 413 ")
    assert b'"body_too_large"' in answer and b"--max-webhook-bytes" in answer


SMALL = Config(port=0, tls_port=0, webhook_queue=5, max_webhook_bytes=2048, webhook_log_size=4)


@pytest.fixture(scope="module")
def small_url() -> Iterator[str]:
    with BackgroundServer(SMALL) as url:
        yield url


@pytest.fixture
def small(small_url: str, receiver: str, recorder: Recorder) -> Iterator[Hooks]:
    made = Hooks(small_url, receiver, recorder)
    yield made
    made.close()


def test_a_full_queue_is_429_and_an_impossible_batch_422(small: Hooks) -> None:
    endpoint = small.endpoint("hang", timeout=2)
    small.send(endpoint["id"], ["a", "b", "c", "d"])
    full = small.http.post("/webhooks/events", json={"endpoint": endpoint["id"], "events": EVENT * 2})
    assert full.status_code == 429 and full.json()["error"] == "delivery_queue_full"
    assert full.headers["retry-after"] == "1" and "--webhook-queue" in full.json()["message"]
    never = small.http.post("/webhooks/events", json={"endpoint": endpoint["id"], "events": EVENT * 3,
                                                      "duplicates": 1})
    assert never.status_code == 422 and never.json()["error"] == "too_many_deliveries"
    redeliver = small.http.post("/webhooks/deliveries/msg_000001/redeliver")
    assert redeliver.status_code == 202  # the fifth place in the queue
    assert small.http.post("/webhooks/deliveries/msg_000001/redeliver").status_code == 429


def test_a_payload_over_the_limit_is_413(small: Hooks) -> None:
    endpoint = small.endpoint()
    # 1e9 is 3 bytes in the request and 12 in the payload (1000000000.0).
    data = {"numbers": [1e9] * 300}
    request = json.dumps({"endpoint": endpoint["id"], "events": [{"type": "a", "data": data}]}).replace(
        "1000000000.0", "1e9")
    assert len(request) < SMALL.max_webhook_bytes
    response = small.http.post("/webhooks/events", content=request, headers={"Content-Type": "application/json"})
    assert response.status_code == 413 and response.json()["error"] == "webhook_payload_too_large"
    assert "--max-webhook-bytes" in response.json()["message"]


def test_a_request_body_over_the_limit_is_413_chunked_too(small: Hooks) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(50):
            yield b" " * 100

    for content in (b" " * (SMALL.max_webhook_bytes + 1), chunks()):
        response = small.http.post("/webhooks/endpoints", content=content, headers={"Content-Type": "application/json"})
        assert response.status_code == 413 and "--max-webhook-bytes" in response.json()["message"]


def test_the_log_is_a_ring_that_keeps_pending_entries(small: Hooks) -> None:
    endpoint = small.endpoint()
    for _ in range(3):
        small.send(endpoint["id"], ["a", "b"])
        small.log()
    log = small.log()
    assert log["count"] == SMALL.webhook_log_size
    assert [entry["id"] for entry in log["deliveries"]] == ["msg_000003", "msg_000004", "msg_000005", "msg_000006"]


# ---- Shutdown


def test_shutdown_cancels_deliveries_without_warnings(receiver: str, recorder: Recorder,
                                                      caplog: pytest.LogCaptureFixture) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with caplog.at_level(logging.WARNING, logger="asyncio"):
            server = BackgroundServer(Config(port=0, tls_port=0))
            with server as url:
                hooks = Hooks(url, receiver, recorder)
                endpoint = hooks.endpoint("hang", timeout=5)
                hooks.send(endpoint["id"], ["a", "b"])
                hooks.endpoint("fail", backoff=5)
                hooks.send("ep_2", ["c"])
                while len(hooks.got()) < 2:
                    time.sleep(0.02)
                hooks.http.close()
            assert not server.thread.is_alive()
            gc.collect()
    assert not [str(warning.message) for warning in caught
                if issubclass(warning.category, ResourceWarning) or "never awaited" in str(warning.message)]
    assert "Task was destroyed" not in caplog.text and "Unclosed" not in caplog.text
    assert server.server.state.deliverer is None


def test_the_course_helper_reads_the_log(hooks: Hooks) -> None:
    from course.server import deliveries

    endpoint = hooks.endpoint()
    hooks.send(endpoint["id"], ["a"], spacing=0)
    log = deliveries(hooks.key, settle=5)
    assert log["settled"] and log["count"] == 1 and log["deliveries"][0]["state"] == "delivered"


# URLs the documented pattern allows (what the fuzzer draws from) must be ones the server accepts.
DOCUMENTED_URLS = ["http://127.0.0.1:1", "https://[::1]:65535/a?b=c", "http://localhost:8000/hooks/x%20y",
                   "http://127.0.0.1:80?x", "http://localhost:9/!$&'()*+,;=:@[]~"]


@pytest.mark.parametrize("url", DOCUMENTED_URLS)
def test_the_documented_receiver_pattern_allows_only_accepted_urls(url: str) -> None:
    from mock_server.routes.webhooks import RECEIVER_URL

    assert re.fullmatch(RECEIVER_URL, url)
    assert delivery.check_url(url) == url


@pytest.mark.parametrize("url", ["http://127.0.0.1:0/", "http://127.0.0.1:65536/", "http://127.0.0.1/",
                                 "http://example.com:80/", "http://127.0.0.1:80#f", "http://127.0.0.1:80/\\\\"])
def test_the_documented_receiver_pattern_refuses_what_the_server_refuses(url: str) -> None:
    from mock_server.routes.webhooks import RECEIVER_URL

    assert not re.fullmatch(RECEIVER_URL, url)


def test_the_log_is_charged_to_the_state_budget_and_given_back(receiver: str, recorder: Recorder) -> None:
    server = BackgroundServer(Config(port=0, tls_port=0, webhook_log_size=2))
    with server as url:
        state = server.server.state
        hooks = Hooks(url, receiver, recorder)
        endpoint = hooks.endpoint()
        hooks.send(endpoint["id"], ["a"], duplicates=1)
        hooks.log()
        two = state.stats()["state_bytes"]
        assert two >= 2 * delivery.ENTRY_OVERHEAD
        hooks.send(endpoint["id"], ["b"], duplicates=1)  # the ring pushes the first two out
        hooks.log()
        assert state.stats()["state_bytes"] == pytest.approx(two, abs=100)
        hooks.close()
        assert state.stats()["state_bytes"] == 0
