"""Idempotency-Key on the collection creates: a retried create replays its first answer."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from mock_server.app import create_app
from mock_server.config import Config
from mock_server.endpoints import Endpoint
from mock_server.server import BackgroundServer
from waiting import wait_until

ORDER = {"user_id": 1, "item": "USB-C cable", "quantity": 2, "amount_minor": 1998, "currency": "EUR"}
SEEDED_ORDERS = 120


def created_orders(client: httpx.Client) -> int:
    return int(client.get("/orders").headers["x-total-count"]) - SEEDED_ORDERS




def test_without_a_key_every_create_creates(client: httpx.Client) -> None:
    assert [client.post("/orders", json=ORDER).json()["id"] for _ in range(2)] == [121, 122]


def test_the_same_key_and_body_replay_the_first_answer(client: httpx.Client) -> None:
    first = client.post("/orders", json=ORDER, headers={"Idempotency-Key": "order-1"})
    again = client.post("/orders", json=ORDER, headers={"Idempotency-Key": "order-1"})
    assert first.status_code == again.status_code == 201
    assert again.content == first.content
    assert {**first.headers, "idempotent-replayed": "true"} == dict(again.headers)
    assert "idempotent-replayed" not in first.headers
    assert created_orders(client) == 1
    attempts = client.get("/__admin/requests", params={"method": "POST", "path": "/orders"}).json()["requests"]
    assert [entry["status"] for entry in attempts] == [201, 201], "the journal shows every attempt"


@pytest.mark.parametrize(("path", "body", "words"), [
    ("/orders", {**ORDER, "quantity": 3}, "(POST /orders with a different body)"),
    ("/repos", {"name": "retry-kit", "owner": "ada.turing"}, "(POST /orders)"),
    ("/orders?note=x", ORDER, "(POST /orders)"),
])
def test_a_key_reused_for_another_request_is_refused(client: httpx.Client, path: str, body: dict, words: str) -> None:
    assert client.post("/orders", json=ORDER, headers={"Idempotency-Key": "once"}).status_code == 201
    reused = client.post(path, json=body, headers={"Idempotency-Key": "once"})
    assert reused.status_code == 422 and reused.json()["error"] == "idempotency_key_reused"
    assert words in reused.json()["message"] and "use a new key for each operation" in reused.json()["message"]
    assert created_orders(client) == 1 and client.get("/repos").headers["x-total-count"] == "30"


@pytest.mark.parametrize(("refused", "status"), [
    ({"json": {**ORDER, "currency": "eur"}}, 422),
    ({"json": {**ORDER, "user_id": 9999}}, 422),
    ({"data": ORDER}, 415),
    ({"content": b"{not json", "headers": {"Content-Type": "application/json"}}, 400),
])
def test_refused_input_is_not_stored_so_the_fixed_body_can_reuse_the_key(client: httpx.Client, refused: dict,
                                                                          status: int) -> None:
    options = {**refused, "headers": {**refused.get("headers", {}), "Idempotency-Key": "fix-me"}}
    assert client.post("/orders", **options).status_code == status
    fixed = client.post("/orders", json=ORDER, headers={"Idempotency-Key": "fix-me"})
    assert fixed.status_code == 201 and "idempotent-replayed" not in fixed.headers


def test_an_answer_after_the_create_started_is_stored_even_when_it_is_an_error(client: httpx.Client) -> None:
    taken = {"username": "ada.turing", "name": "Ada Turing", "email": "someone@example.com"}  # a seeded username
    first = client.post("/users", json=taken, headers={"Idempotency-Key": "taken"})
    again = client.post("/users", json=taken, headers={"Idempotency-Key": "taken"})
    assert first.status_code == again.status_code == 409
    assert again.headers["idempotent-replayed"] == "true" and again.json() == first.json()


@pytest.mark.parametrize(("headers", "words"), [
    ({"Idempotency-Key": ""}, "1 to 255 visible ASCII characters"),
    ({"Idempotency-Key": "k" * 256}, "got 256 characters"),
    ({"Idempotency-Key": "two words"}, "without spaces"),
    ({"Idempotency-Key": b"caf\xe9"}, "visible ASCII"),
    ([("Idempotency-Key", "a"), ("Idempotency-Key", "b")], "send Idempotency-Key once"),
])
def test_a_malformed_key_is_a_400_naming_the_header(client: httpx.Client, headers: object, words: str) -> None:
    refused = client.post("/orders", json=ORDER, headers=headers)  # type: ignore[arg-type]
    assert refused.status_code == 400, refused.text
    assert (refused.json()["error"], refused.json()["header"]) == ("invalid_idempotency_key", "Idempotency-Key")
    assert words in refused.json()["message"]
    assert created_orders(client) == 0


def test_keys_belong_to_one_client_key_and_a_reset_forgets_them(client: httpx.Client, base_url: str, key: str) -> None:
    assert client.post("/orders", json=ORDER, headers={"Idempotency-Key": "shared-name"}).json()["id"] == 121
    other = httpx.post(f"{base_url}/orders", json=ORDER, timeout=10,
                       headers={"X-Client-Key": f"{key}-other", "Idempotency-Key": "shared-name"})
    assert other.status_code == 201 and "idempotent-replayed" not in other.headers
    client.post("/__admin/reset")
    after_reset = client.post("/orders", json=ORDER, headers={"Idempotency-Key": "shared-name"})
    assert after_reset.status_code == 201 and "idempotent-replayed" not in after_reset.headers


def test_keys_expire_after_the_ttl() -> None:
    with BackgroundServer(Config(port=0, idempotency_ttl=0.3)) as url, httpx.Client(base_url=url, timeout=10) as client:
        assert client.post("/orders", json=ORDER, headers={"Idempotency-Key": "k"}).json()["id"] == 121
        time.sleep(0.35)
        later = client.post("/orders", json=ORDER, headers={"Idempotency-Key": "k"})
    assert later.json()["id"] == 122 and "idempotent-replayed" not in later.headers


def test_each_client_key_keeps_a_bounded_number_of_keys_oldest_forgotten_first() -> None:
    with BackgroundServer(Config(port=0, max_idempotency_keys=2)) as url, httpx.Client(base_url=url, timeout=10) as client:
        def create(idempotency_key: str) -> httpx.Response:
            return client.post("/orders", json=ORDER, headers={"Idempotency-Key": idempotency_key})

        assert [create(name).json()["id"] for name in ("a", "b", "c")] == [121, 122, 123]
        newest = create("c")
        oldest = create("a")
    assert newest.json()["id"] == 123 and newest.headers["idempotent-replayed"] == "true"
    assert oldest.json()["id"] == 124 and "idempotent-replayed" not in oldest.headers


def test_openapi_declares_the_header_on_the_creates_only(client: httpx.Client) -> None:
    paths = client.get("/openapi.json").json()["paths"]

    def headers(path: str, method: str) -> set[str]:
        return {p["name"] for p in paths[path][method]["parameters"] if p["in"] == "header"}

    for path in ("/users", "/orders", "/repos"):
        assert "Idempotency-Key" in headers(path, "post")
        assert "Idempotency-Key" not in headers(f"{path}/{{id}}", "patch")
    assert "Idempotency-Key" not in headers("/post", "post")


def test_a_timed_out_create_retried_with_a_key_creates_once(base_url: str, key: str) -> None:
    """The lesson's demo: chaos latency 0.5 s, a read timeout of 0.3 s, three retries."""

    def timed_out_attempts(client: httpx.Client, headers: dict[str, str]) -> int:
        client.put("/__admin/chaos", json={"latency": 0.5})
        timeouts = 0
        for _ in range(4):  # the first try and three retries
            try:
                client.post("/orders", json=ORDER, headers=headers)
            except httpx.ReadTimeout:
                timeouts += 1
            else:
                break
        # The server still runs each create after its client has gone; wait until it is done.
        wait_until(lambda: client.get("/__admin/stats").json()["in_flight"] == 0, "the abandoned creates finish")
        client.delete("/__admin/chaos")
        return timeouts

    timeout = httpx.Timeout(10, read=0.3)
    with httpx.Client(base_url=base_url, timeout=timeout, headers={"X-Client-Key": f"{key}-no-key"}) as without_key:
        assert timed_out_attempts(without_key, {}) == 4
        assert created_orders(without_key) == 4, "without a key, every retry creates another order"
    with httpx.Client(base_url=base_url, timeout=timeout, headers={"X-Client-Key": key}) as with_key:
        assert timed_out_attempts(with_key, {"Idempotency-Key": "order-2f9c41"}) == 4
        assert created_orders(with_key) == 1, "with the same key on every attempt, exactly one order"
        later = with_key.post("/orders", json=ORDER, headers={"Idempotency-Key": "order-2f9c41"})
        journal = with_key.get("/__admin/requests", params={"method": "POST", "path": "/orders"}).json()
    assert later.status_code == 201 and later.headers["idempotent-replayed"] == "true"
    assert (later.json()["id"], later.headers["location"]) == (121, "/orders/121"), "the original 201, replayed"
    assert journal["count"] == 5, "the journal shows every attempt"


def test_a_key_in_flight_gets_409_and_a_failed_handler_frees_its_key() -> None:
    """The creates answer without awaiting anything; an awaiting handler (as payments will be) can be caught mid-way."""
    started, release = asyncio.Event(), asyncio.Event()
    calls: list[bytes] = []

    async def slow_create(request: Request) -> Response:
        calls.append(await request.body())
        if len(calls) == 1:
            raise RuntimeError("a bug on the first call")
        started.set()
        await release.wait()
        return JSONResponse({"id": len(calls)}, 201)

    app = create_app()
    app.router.routes.append(Endpoint("/slow", ("POST",), slow_create, (), None, "", "", "test", idempotent=True).route())

    async def scenario() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            def post(body: dict) -> asyncio.Task[httpx.Response]:
                return asyncio.ensure_future(client.post("/slow", json=body, headers={"Idempotency-Key": "k"}))

            failed = await post({"a": 1})
            first = post({"a": 1})
            await asyncio.wait_for(started.wait(), 10)
            in_flight, other_body = await post({"a": 1}), await post({"a": 2})
            release.set()
            return [failed, in_flight, other_body, await first, await post({"a": 1})]

    failed, in_flight, other_body, first, replayed = asyncio.run(scenario())
    assert failed.status_code == 500, "the bug is answered, and its key is not kept"
    assert in_flight.status_code == 409 and in_flight.json()["error"] == "idempotency_key_in_flight"
    assert in_flight.headers["retry-after"] == "1"
    assert other_body.status_code == 422 and other_body.json()["error"] == "idempotency_key_reused"
    assert first.status_code == 201 and first.json() == {"id": 2}
    assert replayed.json() == {"id": 2} and replayed.headers["idempotent-replayed"] == "true"
    assert len(calls) == 2, "the handler ran for the failed call and the first good one only"
