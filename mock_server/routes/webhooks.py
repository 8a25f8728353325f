"""Webhook delivery: register a receiver on this machine, then have the server send it signed
events, retried, duplicated, reordered, stale or badly signed on request (the sending is
delivery.py's); the delivery log shows every attempt."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from .. import delivery
from ..classroom import learner_address
from ..config import describe
from ..contract import CLIENT_KEY_HEADER
from ..endpoints import Group, Param
from ..errors import ApiError
from ..reading import JSON, Strict, json_object, validated
from ..state import client_key, client_state, server_state

group = Group(
    "Webhooks",
    f"The server as a webhook sender, per {CLIENT_KEY_HEADER}: receivers on this machine only (127.0.0.1, ::1, "
    "localhost), signed the Standard Webhooks way or GitHub's, retried with backoff, duplicated and reordered on "
    "request. POST /__admin/reset cancels the key's pending deliveries and forgets its endpoints and log.",
)

PORT = r"([1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])"
RECEIVER_URL = r"^https?://(127\.0\.0\.1|\[::1\]|localhost):" + PORT + r"([/?][!\"$-\[\]-~]*)?$"
EVENT_TYPE = r"^[A-Za-z0-9_.:-]{1,100}$"


class EndpointIn(Strict):
    # The pattern is documented, not applied: delivery.check_url is the rule, and says what is wrong.
    url: Annotated[str, Field(max_length=delivery.MAX_URL_LENGTH, json_schema_extra={"pattern": RECEIVER_URL},
                              description="http(s) to 127.0.0.1, [::1] or localhost, with a port")]
    signature: Literal["standard", "github"] = "standard"
    secret: Annotated[str | None, Field(
        max_length=300,
        description=f"standard: {delivery.STANDARD_PREFIX!r} + base64 of 1 to {delivery.MAX_STANDARD_KEY_BYTES} key "
        f"bytes; github: 1 to {delivery.MAX_GITHUB_SECRET} printable ASCII characters; left out, one is generated "
        "(the same for the same --seed, client key and endpoint number)")] = None
    max_attempts: Annotated[int, Field(ge=1, le=delivery.MAX_ATTEMPTS)] = 5
    timeout: Annotated[float, Field(ge=delivery.MIN_ATTEMPT_TIMEOUT, le=delivery.MAX_ATTEMPT_TIMEOUT,
                                    description="seconds one attempt may take, answer included")] = 5.0
    backoff: Annotated[float, Field(ge=delivery.MIN_BACKOFF, le=delivery.MAX_BACKOFF,
                                    description="retry n waits backoff x 2**(n-1) seconds "
                                    f"(at most {delivery.MAX_RETRY_WAIT:g})")] = 0.1


class EndpointOut(Strict):
    id: str
    url: str
    signature: Literal["standard", "github"]
    secret: str
    max_attempts: int
    timeout: float
    backoff: float


class EventIn(Strict):
    type: Annotated[str, Field(pattern=EVENT_TYPE, description="e.g. payment.succeeded")]
    data: dict[str, Any] = {}


class EventsIn(Strict):
    endpoint: Annotated[str, Field(max_length=80, description="an endpoint's id, e.g. ep_1")]
    events: Annotated[list[EventIn], Field(min_length=1, max_length=delivery.MAX_EVENTS)]
    duplicates: Annotated[int, Field(ge=0, le=delivery.MAX_DUPLICATES,
                                     description="extra copies of each message, with the same id")] = 0
    order: Literal["in_order", "reversed", "shuffled"] = "in_order"
    stale_timestamp: Annotated[bool, Field(description=f"sign with a timestamp {delivery.STALE_SECONDS} s in the "
                                           "past (Standard Webhooks only)")] = False
    bad_signature: Annotated[bool, Field(description="sign with another secret")] = False
    spacing: Annotated[float, Field(ge=0, le=delivery.MAX_SPACING,
                                    description="seconds between the first attempts of the batch")] = 0.0


ATTEMPT = {"type": "object", "required": ["attempt", "status", "error", "latency"], "properties": {
    "attempt": {"type": "integer", "minimum": 1},
    "status": {"type": "integer", "nullable": True},
    "error": {"type": "string", "nullable": True, "enum": [*delivery.ERRORS, None]},
    "latency": {"type": "number", "minimum": 0}}}
DELIVERY = {"type": "object", "required": ["id", "delivery_id", "endpoint", "type", "copy", "state", "attempts"],
            "properties": {
                "id": {"type": "string"}, "delivery_id": {"type": "string"}, "endpoint": {"type": "string"},
                "type": {"type": "string"}, "copy": {"type": "integer", "minimum": 1},
                "state": {"enum": ["pending", "delivered", "failed", "cancelled"]},
                "attempts": {"type": "array", "items": ATTEMPT}}}
QUEUED = {JSON: {"type": "object", "required": ["deliveries"], "properties": {"deliveries": {
    "type": "array", "items": {"type": "object", "required": ["id", "type", "copies"], "properties": {
        "id": {"type": "string"}, "type": {"type": "string"}, "copies": {"type": "integer", "minimum": 1}}}}}}}
LOG = {JSON: {"type": "object", "required": ["settled", "pending", "count", "deliveries"], "properties": {
    "settled": {"type": "boolean"}, "pending": {"type": "integer", "minimum": 0},
    "count": {"type": "integer", "minimum": 0}, "deliveries": {"type": "array", "items": DELIVERY}}}}
ENDPOINT_ID = Param("id", str, where="path", description="the endpoint's id, e.g. ep_1")


def _no_loop(request: Request) -> None:
    """Refuse a request that is itself a delivery (a receiver URL pointing back at a mock server)."""
    if any(marker in request.headers for marker in delivery.DELIVERY_MARKERS):
        raise ApiError(422, "delivery_loop", "this request is a webhook delivery (it carries "
                       f"{' or '.join(delivery.DELIVERY_MARKERS)}); a delivery cannot register endpoints or ask "
                       "for more deliveries: point the endpoint at a receiver of your own")


def _hooks(request: Request) -> delivery.Webhooks:
    return delivery.webhooks(client_state(request), server_state(request).config)


@group.route("/webhooks/endpoints", methods=["POST"], body={JSON: EndpointIn}, responses={201: {JSON: EndpointOut}})
async def create_endpoint(request: Request) -> Response:
    """Register a receiver URL (201); the answer carries its secret.

    The URL must be http(s) to 127.0.0.1, [::1] or localhost with a port (in classroom mode, or the
    learner's own address; else 422
    receiver_not_allowed, saying why); at most 10 endpoints per client key (409).
    """
    _no_loop(request)
    body = await json_object(request)
    address = learner_address(request)
    if isinstance(body.get("url"), str):
        delivery.check_url(body["url"], address)  # first, so a URL off this machine is refused as such
    wanted = validated(EndpointIn, body, partial=False)
    endpoint = _hooks(request).add_endpoint(**wanted, learner_address=address)
    return JSONResponse(endpoint.as_json(), 201, {"Location": f"/webhooks/endpoints/{endpoint.id}"})


@group.route("/webhooks/endpoints", responses={200: {JSON: {"type": "object", "required": ["count", "endpoints"],
             "properties": {"count": {"type": "integer"}, "endpoints": {"type": "array", "items": EndpointOut}}}}})
async def list_endpoints(request: Request) -> Response:
    """This client key's endpoints, oldest first."""
    endpoints = [endpoint.as_json() for endpoint in _hooks(request).endpoints.values()]
    return JSONResponse({"count": len(endpoints), "endpoints": endpoints})


@group.route("/webhooks/endpoints/{id}", ENDPOINT_ID, responses={200: {JSON: EndpointOut}})
async def get_endpoint(request: Request, id: str) -> Response:
    """One endpoint (404 naming the id when there is none)."""
    return JSONResponse(_hooks(request).endpoint(id).as_json())


@group.route("/webhooks/endpoints/{id}", ENDPOINT_ID, methods=["DELETE"], responses={204: None})
async def delete_endpoint(request: Request, id: str) -> Response:
    """Delete an endpoint (204): its pending deliveries are cancelled (state "cancelled" in the log)."""
    _hooks(request).delete_endpoint(id)
    return Response(status_code=204)


@group.route("/webhooks/events", methods=["POST"], body={JSON: EventsIn}, responses={202: QUEUED})
async def send_events(request: Request) -> Response:
    """Queue events for delivery to an endpoint (202): each event becomes one message with its own id.

    `duplicates` sends every message that many more times with the same id (copy 2 of every
    message after copy 1 of all of them); `order` is the order of the first attempts
    (shuffled is seeded); `stale_timestamp` signs 600 s in the past; `bad_signature` signs with
    another secret; `spacing` waits between first attempts. A failed attempt (non-2xx, timeout,
    connection error; redirects are not followed) is retried with the same id and a fresh
    signature until the endpoint's max_attempts. The log: GET /__admin/webhooks/deliveries.
    Payloads over --max-webhook-bytes get 413; a full queue (--webhook-queue) 429.
    """
    _no_loop(request)
    wanted = EventsIn(**validated(EventsIn, await json_object(request), partial=False))
    config = server_state(request).config
    client = client_state(request)
    hooks = _hooks(request)
    endpoint = hooks.endpoint(wanted.endpoint)
    if wanted.stale_timestamp and endpoint.signature == "github":
        raise ApiError(422, "validation_failed", "stale_timestamp: GitHub deliveries carry no timestamp to make "
                       "stale; use it with a Standard Webhooks endpoint", fields={"stale_timestamp": "not for github"})
    messages = [hooks.new_message(number, event.type, event.data, signature=endpoint.signature,
                                  stale=wanted.stale_timestamp, bad=wanted.bad_signature)
                for number, event in enumerate(wanted.events, hooks.messages + 1)]
    for message in messages:
        if len(message.body) > config.max_webhook_bytes:
            raise ApiError(413, "webhook_payload_too_large",
                           f"the payload of event {message.type!r} would be {len(message.body)} bytes; webhooks "
                           f"are limited to {config.max_webhook_bytes} (the server's {describe('max_webhook_bytes')})",
                           limit=config.max_webhook_bytes)
    copies = 1 + wanted.duplicates
    hooks.check_room(len(messages) * copies,
                     sum(len(message.body) + delivery.ENTRY_OVERHEAD for message in messages) * copies)
    hooks.messages += len(messages)
    if wanted.order == "reversed":
        ordered = messages[::-1]
    elif wanted.order == "shuffled":
        ordered = delivery.shuffled(messages, client.random("webhook-order"))
    else:
        ordered = messages
    batch = [delivery.Delivery(message, endpoint, copy, len(message.body) + delivery.ENTRY_OVERHEAD)
             for copy in range(1, copies + 1) for message in ordered]
    hooks.enqueue(delivery.sender(server_state(request)), batch, wanted.spacing)
    return JSONResponse({"deliveries": [{"id": message.id, "type": message.type, "copies": copies}
                                        for message in messages]}, 202)


@group.route("/webhooks/deliveries/{id}/redeliver", Param("id", str, where="path", description="a message id, "
             "e.g. msg_000001"), methods=["POST"], responses={202: {JSON: DELIVERY}})
async def redeliver(request: Request, id: str) -> Response:
    """Send a message again, as GitHub's manual redelivery does (202): same id and body, a new copy in the log.

    404 if the message is not in the log; 409 if its endpoint was deleted; 429 when the queue is full.
    """
    _no_loop(request)
    hooks = _hooks(request)
    last = hooks.copy_of(id)
    if hooks.endpoints.get(last.endpoint.id) is not last.endpoint:
        raise ApiError(409, "endpoint_deleted", f"the endpoint {last.endpoint.id} of {id} was deleted; "
                       "a redelivery has nowhere to go")
    hooks.check_room(1, last.size)
    copy = max(entry.copy for entry in hooks.log if entry.message is last.message) + 1
    again = delivery.Delivery(last.message, last.endpoint, copy, last.size)
    hooks.enqueue(delivery.sender(server_state(request)), [again], 0.0)
    return JSONResponse(again.as_json(), 202)


@group.route(
    "/__admin/webhooks/deliveries",
    Param("settle", float, default=0.0, minimum=0, maximum="max_duration",
          description="wait up to this many seconds until none of this key's deliveries is pending"),
    responses={200: LOG},
)
async def deliveries(request: Request, settle: float) -> Response:
    """The delivery log: every copy of every message sent for this client key, each attempt with its
    status or error and latency; `settled` says whether none is pending any more.

    With settle=S the answer waits (at most S seconds, and the server's --max-duration) for the
    pending deliveries to finish. Finished entries beyond --webhook-log-size are forgotten, oldest first.
    """
    client = server_state(request).clients.get(client_key(request))
    hooks = client.webhooks if client is not None else None
    if hooks is None:
        return JSONResponse({"settled": True, "pending": 0, "count": 0, "deliveries": []})
    settled = await hooks.wait_settled(settle)
    entries = [entry.as_json() for entry in hooks.log]
    return JSONResponse({"settled": settled, "pending": hooks.pending, "count": len(entries), "deliveries": entries})
