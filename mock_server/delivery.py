"""Webhook delivery: the server as a sender that signs, retries, duplicates and reorders.

Not an endpoint: routes/webhooks.py registers receivers and queues events; this module keeps,
per client key, the endpoints, the queue and the delivery log (`Webhooks`, in
`ClientState.webhooks`), and, server-wide, the one httpx.AsyncClient that sends (`Sender`,
in `ServerState.deliverer`, closed by server.py at shutdown).

How a batch is sent: each copy's first attempt goes out in the order asked for, one after
another (`spacing` seconds apart); a failed attempt (a non-2xx answer, a timeout, a connection
error; redirects are not followed) is retried after backoff x 2**(n-1), independently of the
copies after it, so a retry may arrive after later messages, as with real senders. Every
attempt is bounded by its endpoint's timeout, at most MAX_ATTEMPTS_IN_FLIGHT_PER_KEY attempts
of one key and --webhook-concurrency of all keys are in flight at once, so a receiver that
hangs or fails slows only its own key's deliveries.

Receivers are loopback only (127.0.0.1, ::1, localhost): nothing is resolved or sent anywhere
else. Secrets, message ids and GitHub delivery GUIDs are derived from the server's --seed and
the client key, so the same calls give the same bytes (except timestamps).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import ipaddress
import json
import random
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlsplit

import httpx

from .config import Config, describe
from .errors import ApiError
from .state import ClientState, ServerState, derive_seed

# Limits that are not flags (every one is checked and named in the error that refuses it).
MAX_ENDPOINTS = 10  # per client key
MAX_EVENTS = 20  # per POST /webhooks/events
MAX_DUPLICATES = 5  # extra copies of each message
MAX_ATTEMPTS = 10
MAX_ATTEMPT_TIMEOUT = 10.0  # seconds, per attempt
MIN_ATTEMPT_TIMEOUT = 0.1
MAX_BACKOFF = 5.0  # seconds: the first retry's wait
MIN_BACKOFF = 0.01
MAX_RETRY_WAIT = 60.0  # seconds: no retry waits longer, whatever backoff x 2**(n-1) says
MAX_SPACING = 5.0  # seconds between the first attempts of a batch
MAX_URL_LENGTH = 2048
MAX_GITHUB_SECRET = 256
MAX_STANDARD_KEY_BYTES = 64
MAX_ATTEMPTS_IN_FLIGHT_PER_KEY = 10  # so one key's hanging receiver holds few of --webhook-concurrency
STALE_SECONDS = 600  # how far in the past stale_timestamp signs
# Bytes --state-bytes charges a log entry beyond its payload: the entry and its message (~600),
# and up to MAX_ATTEMPTS attempts of ~120 each, rounded up.
ENTRY_OVERHEAD = 2000
LOOPBACK_HOSTS = ("127.0.0.1", "::1", "localhost")
SIGNATURES = ("standard", "github")
ORDERS = ("in_order", "reversed", "shuffled")
STANDARD_PREFIX = "whsec_"
USER_AGENT = "mock-server-webhooks/1.0"
# Headers every delivery carries: a request to POST /webhooks/... with one of them is a delivery
# that a receiver URL pointed back at a mock server, and is refused (no delivery loops).
DELIVERY_MARKERS = ("webhook-id", "x-github-delivery")
ERRORS = ("timeout", "connection_failed", "protocol_error", "transport_error")


def _json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


# ---- Receiver URLs and secrets


def same_address(host: str | None, address: str | None) -> bool:
    """Whether `host` (a URL's hostname) is the IP address `address` (None: never)."""
    if not host or not address:
        return False
    try:
        return ipaddress.ip_address(host) == ipaddress.ip_address(address)
    except ValueError:
        return False


def check_url(url: str, learner_address: str | None = None) -> str:
    """`url` if it is http(s) to a loopback host with a port, else a 422 receiver_not_allowed saying why.

    In classroom mode `learner_address` is the requesting learner's own address, allowed too.
    """
    allowed = [*LOOPBACK_HOSTS, *([learner_address] if learner_address else [])]

    def refuse(why: str) -> ApiError:
        return ApiError(422, "receiver_not_allowed", f"receiver URL {url[:80]!r} is not allowed: {why}",
                        allowed_hosts=allowed)

    if len(url) > MAX_URL_LENGTH:
        raise refuse(f"it is longer than {MAX_URL_LENGTH} characters")
    if not url.isascii() or any(char <= " " or char == "\x7f" for char in url):
        raise refuse("it has spaces, control or non-ASCII characters (percent-encode them)")
    if "\\" in url:
        raise refuse("it has a backslash, which URL parsers read differently")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise refuse(f"it is not a valid URL ({exc})") from None
    if parts.scheme not in ("http", "https"):
        raise refuse("only http:// and https:// receivers are allowed")
    if "@" in parts.netloc:
        raise refuse("it carries credentials (user@host); put a secret in the endpoint instead")
    if parts.hostname not in LOOPBACK_HOSTS and not same_address(parts.hostname, learner_address):
        if learner_address:
            raise refuse(f"deliveries go to this machine or to your own address only: use host {learner_address}, "
                         f"127.0.0.1, [::1] or localhost, not {parts.hostname!r} (nothing else is resolved)")
        raise refuse(f"deliveries go to this machine only: use host 127.0.0.1, [::1] or localhost, "
                     f"not {parts.hostname!r} (nothing else is resolved)")
    if port is None or port == 0:
        raise refuse("give the receiver's port, e.g. http://127.0.0.1:8000/webhooks")
    if parts.fragment:
        raise refuse("a fragment (#...) is never sent; leave it out")
    try:
        httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise refuse(f"it is not a valid URL ({exc})") from None
    return url


def generated_secret(config: Config, client: ClientState, signature: str, number: int) -> str:
    """The secret an endpoint gets when it names none: the same for the same seed, key and endpoint number."""
    digest = hashlib.sha256(f"{config.seed}:{client.key}:webhook-secret:{number}".encode()).digest()
    if signature == "standard":
        return STANDARD_PREFIX + base64.b64encode(digest).decode()
    return digest.hex()[:40]


def secret_key(signature: str, secret: str) -> bytes:
    """The HMAC key of `secret`, or a 422 invalid_secret saying what form it must take."""
    if signature == "github":
        if not (1 <= len(secret) <= MAX_GITHUB_SECRET and all(" " <= char <= "~" for char in secret)):
            raise ApiError(422, "invalid_secret",
                           f"a GitHub secret is 1 to {MAX_GITHUB_SECRET} printable ASCII characters")
        return secret.encode()
    encoded = secret.removeprefix(STANDARD_PREFIX)
    try:
        key = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True) if secret.startswith(
            STANDARD_PREFIX) else b""
    except (binascii.Error, ValueError):
        key = b""
    if not 1 <= len(key) <= MAX_STANDARD_KEY_BYTES:
        raise ApiError(422, "invalid_secret",
                       f"a Standard Webhooks secret is {STANDARD_PREFIX!r} then the base64 of 1 to "
                       f"{MAX_STANDARD_KEY_BYTES} key bytes (24 to 64 are recommended), e.g. "
                       f"{STANDARD_PREFIX}{base64.b64encode(b'0123456789abcdef01234567').decode()}")
    return key


@dataclass
class Endpoint:
    id: str
    number: int
    url: str
    signature: str
    secret: str
    key: bytes
    max_attempts: int
    timeout: float
    backoff: float

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "url": self.url, "signature": self.signature, "secret": self.secret,
                "max_attempts": self.max_attempts, "timeout": self.timeout, "backoff": self.backoff}


# ---- Messages, deliveries and the log


@dataclass
class Message:
    """One event, as it is sent: its id, the body (the same bytes on every attempt) and how to sign it."""

    id: str
    delivery_id: str  # the id the receiver sees: webhook-id, or X-GitHub-Delivery (a GUID)
    type: str
    body: bytes
    stale: bool
    bad_signature: bool


@dataclass
class Attempt:
    attempt: int
    status: int | None
    error: str | None
    latency: float

    def as_json(self) -> dict[str, Any]:
        return {"attempt": self.attempt, "status": self.status, "error": self.error, "latency": round(self.latency, 4)}


@dataclass
class Delivery:
    """One copy of a message on its way to one endpoint: an entry of the delivery log."""

    message: Message
    endpoint: Endpoint
    copy: int
    size: int  # charged to --state-bytes while in the log
    state: str = "pending"  # pending, delivered, failed; cancelled when its endpoint is deleted
    attempts: list[Attempt] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {"id": self.message.id, "delivery_id": self.message.delivery_id, "endpoint": self.endpoint.id,
                "type": self.message.type, "copy": self.copy, "state": self.state,
                "attempts": [attempt.as_json() for attempt in self.attempts]}


class Webhooks:
    """One client key's endpoints, queue and delivery log."""

    def __init__(self, client: ClientState, config: Config) -> None:
        self.client = client
        self.config = config
        self.endpoints: OrderedDict[str, Endpoint] = OrderedDict()
        self.endpoint_numbers = 0
        self.messages = 0
        self.log: list[Delivery] = []  # oldest first; finished entries past --webhook-log-size go first
        self.pending = 0
        self.settled = asyncio.Event()
        self.settled.set()
        self.tasks: set[asyncio.Task[None]] = set()
        self.slots = asyncio.Semaphore(MAX_ATTEMPTS_IN_FLIGHT_PER_KEY)
        self.closed = False

    # endpoints
    def add_endpoint(self, url: str, signature: str, secret: str | None, max_attempts: int, timeout: float,
                     backoff: float, learner_address: str | None = None) -> Endpoint:
        if len(self.endpoints) >= MAX_ENDPOINTS:
            raise ApiError(409, "too_many_endpoints",
                           f"a client key may register at most {MAX_ENDPOINTS} endpoints; delete one first "
                           "(DELETE /webhooks/endpoints/{id}) or reset", limit=MAX_ENDPOINTS)
        check_url(url, learner_address)
        number = self.endpoint_numbers + 1
        if secret is None:
            secret = generated_secret(self.config, self.client, signature, number)
        key = secret_key(signature, secret)
        self.endpoint_numbers = number
        endpoint = Endpoint(f"ep_{number}", number, url, signature, secret, key, max_attempts, timeout, backoff)
        self.endpoints[endpoint.id] = endpoint
        return endpoint

    def endpoint(self, endpoint_id: str) -> Endpoint:
        found = self.endpoints.get(endpoint_id)
        if found is None:
            raise ApiError(404, "not_found", f"no webhook endpoint {endpoint_id[:80]!r} for this client key; "
                           "register one with POST /webhooks/endpoints", endpoint=endpoint_id[:80])
        return found

    def delete_endpoint(self, endpoint_id: str) -> Endpoint:
        endpoint = self.endpoint(endpoint_id)
        del self.endpoints[endpoint_id]
        for delivery in self.log:
            if delivery.endpoint is endpoint and delivery.state == "pending":
                self._finish(delivery, "cancelled")
        return endpoint

    # queueing
    def new_message(self, number: int, event_type: str, data: Any, *, signature: str, stale: bool,
                    bad: bool) -> Message:
        """Message number `number` (the caller counts it in `messages` once the batch is accepted)."""
        message_id = f"msg_{number:06d}"
        if signature == "github":
            digest = hashlib.sha256(f"{self.config.seed}:{self.client.key}:github-delivery:{number}".encode()).digest()
            delivery_id = str(uuid.UUID(bytes=digest[:16], version=4))
            body = _json(data)
        else:
            delivery_id = message_id
            stamp = datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
            body = _json({"type": event_type, "timestamp": stamp, "data": data})
        return Message(message_id, delivery_id, event_type, body, stale, bad)

    def check_room(self, copies: int, payload_bytes: int) -> None:
        """Refuse `copies` more deliveries when the queue cannot take them (429, or 422 if it never could)."""
        limit = self.config.webhook_queue
        if copies > limit:
            raise ApiError(422, "too_many_deliveries",
                           f"this request asks for {copies} deliveries; the queue holds at most {limit} per client "
                           f"key (the server's {describe('webhook_queue')}): send fewer events or duplicates",
                           limit=limit)
        if self.pending + copies > limit:
            raise ApiError(429, "delivery_queue_full",
                           f"{self.pending} deliveries are still pending for this client key and the queue holds "
                           f"{limit} (the server's {describe('webhook_queue')}); wait for them "
                           "(GET /__admin/webhooks/deliveries?settle=5) or reset",
                           headers={"Retry-After": "1"}, limit=limit, pending=self.pending)
        self.client.state_budget.charge(self.client, payload_bytes)

    def enqueue(self, sender: Sender, batch: list[Delivery], spacing: float) -> None:
        for delivery in batch:
            self._add_to_log(delivery)
        self.pending += len(batch)
        self.settled.clear()
        self._spawn(sender, self._send_batch(sender, batch, spacing))

    def copy_of(self, message_id: str) -> Delivery:
        for delivery in reversed(self.log):
            if delivery.message.id == message_id:
                return delivery
        raise ApiError(404, "not_found", f"no delivery {message_id[:80]!r} in this client key's delivery log "
                       f"(it keeps the newest {self.config.webhook_log_size})", delivery=message_id[:80])

    def _add_to_log(self, delivery: Delivery) -> None:
        self.log.append(delivery)
        excess = len(self.log) - self.config.webhook_log_size
        if excess > 0:
            keep = []
            for entry in self.log:
                if excess > 0 and entry.state != "pending":
                    excess -= 1
                    self.client.state_budget.give_back(self.client, entry.size)
                else:
                    keep.append(entry)
            self.log = keep

    def _spawn(self, sender: Sender, coroutine: Any) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        for tasks in (self.tasks, sender.tasks):
            tasks.add(task)
            task.add_done_callback(tasks.discard)

    def _finish(self, delivery: Delivery, state: str) -> None:
        if delivery.state != "pending":
            return
        delivery.state = state
        self.pending -= 1
        if self.pending == 0:
            self.settled.set()

    # sending
    async def _send_batch(self, sender: Sender, batch: list[Delivery], spacing: float) -> None:
        for index, delivery in enumerate(batch):
            if index and spacing:
                await asyncio.sleep(spacing)
            if delivery.state == "pending":
                await self._attempt(sender, delivery)

    async def _attempt(self, sender: Sender, delivery: Delivery) -> None:
        """One attempt; on failure, schedule the next (its own task) until max_attempts."""
        endpoint = delivery.endpoint
        number = len(delivery.attempts) + 1
        async with self.slots:
            attempt = await sender.send(delivery, number)
        if delivery.state != "pending":
            return  # cancelled meanwhile
        delivery.attempts.append(attempt)
        if attempt.status is not None and 200 <= attempt.status < 300:
            self._finish(delivery, "delivered")
        elif number >= endpoint.max_attempts:
            self._finish(delivery, "failed")
        else:
            self._spawn(sender, self._retry(sender, delivery, min(endpoint.backoff * 2 ** (number - 1), MAX_RETRY_WAIT)))

    async def _retry(self, sender: Sender, delivery: Delivery, wait: float) -> None:
        await asyncio.sleep(wait)
        if delivery.state == "pending":
            await self._attempt(sender, delivery)

    async def wait_settled(self, timeout: float) -> bool:
        if not self.settled.is_set() and timeout > 0:
            try:
                await asyncio.wait_for(self.settled.wait(), timeout)
            except TimeoutError:
                pass
        return self.settled.is_set()

    def close(self) -> None:
        """Cancel every pending delivery (the key is reset or forgotten)."""
        self.closed = True
        for task in list(self.tasks):
            task.cancel()
        for entry in self.log:
            self._finish(entry, "cancelled")  # and wakes anyone waiting for the log to settle


def shuffled(items: list[Any], stream: random.Random) -> list[Any]:
    items = list(items)
    stream.shuffle(items)
    return items


# ---- The sender, server-wide


class Sender:
    """The server's one HTTP client for deliveries, and the limit on attempts in flight."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.slots = asyncio.Semaphore(config.webhook_concurrency)
        self.client = httpx.AsyncClient(
            trust_env=False,  # never a proxy from the environment: receivers are on this machine
            follow_redirects=False,
            limits=httpx.Limits(max_connections=config.webhook_concurrency, max_keepalive_connections=20),
            headers={"User-Agent": USER_AGENT},
        )
        self.attempts = 0
        self.tasks: set[asyncio.Task[None]] = set()  # every key's batches and retries

    def headers(self, delivery: Delivery) -> dict[str, str]:
        message, endpoint = delivery.message, delivery.endpoint
        key = endpoint.key
        if message.bad_signature:
            key = hashlib.sha256(b"not-the-endpoint-secret:" + key).digest()
        if endpoint.signature == "github":
            digest = hmac.new(key, message.body, hashlib.sha256).hexdigest()
            return {"content-type": "application/json", "X-GitHub-Event": message.type,
                    "X-GitHub-Delivery": message.delivery_id, "X-Hub-Signature-256": f"sha256={digest}"}
        timestamp = str(int(time.time()) - (STALE_SECONDS if message.stale else 0))
        signed = f"{message.delivery_id}.{timestamp}.".encode() + message.body
        signature = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
        return {"content-type": "application/json", "webhook-id": message.delivery_id,
                "webhook-timestamp": timestamp, "webhook-signature": f"v1,{signature}"}

    async def send(self, delivery: Delivery, number: int) -> Attempt:
        """One POST of `delivery`, bounded by its endpoint's timeout as a whole; never raises for the receiver's faults."""
        endpoint = delivery.endpoint
        async with self.slots:
            self.attempts += 1
            started = time.monotonic()
            status: int | None = None
            error: str | None = None
            try:
                async with asyncio.timeout(endpoint.timeout):
                    async with self.client.stream("POST", endpoint.url, content=delivery.message.body,
                                                  headers=self.headers(delivery),
                                                  timeout=httpx.Timeout(endpoint.timeout)) as response:
                        status = response.status_code
            except (TimeoutError, httpx.TimeoutException):
                error = "timeout"
            except httpx.ConnectError:
                error = "connection_failed"
            except httpx.RemoteProtocolError:
                error = "protocol_error"
            except (httpx.HTTPError, httpx.InvalidURL, OSError, ValueError):
                error = "transport_error"
            return Attempt(number, status, error, time.monotonic() - started)

    async def close(self) -> None:
        await self.client.aclose()


def sender(state: ServerState) -> Sender:
    """The server's Sender, made on first use (inside the server's event loop)."""
    if state.deliverer is None:
        state.deliverer = Sender(state.config)
    return state.deliverer


def webhooks(client: ClientState, config: Config) -> Webhooks:
    """Client `client`'s webhooks, made on first use."""
    if client.webhooks is None:
        client.webhooks = Webhooks(client, config)
    return client.webhooks


async def shutdown(state: ServerState) -> None:
    """Cancel every key's deliveries, wait for them to end, and close the sender (server.py calls it)."""
    for client in state.clients.values():
        if client.webhooks is not None:
            client.webhooks.close()
    deliverer, state.deliverer = state.deliverer, None
    if deliverer is not None:
        tasks = list(deliverer.tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await deliverer.close()
