"""The traffic middleware: what makes the server a teaching tool.

It gives every request to the simulated API a client key, records it in that key's journal
and statistics, enforces the body limit, and adds the configured latency, simulated
handshake and failures. One plain ASGI layer, cheap per request: when a thousand delayed
requests wake at once, one core serves them in turn.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .classroom import ClassChaos, Classroom, Learner, join_required
from .config import describe
from .contract import CLIENT_KEY_HEADER, INSTANCE_HEADER
from .errors import ApiError, error_response
from .responses import RETRY_AFTER_CODES
from .state import Chaos, ClientState, Connection, JournalEntry, ServerState, parse_client_key

# Paths that are about the server rather than part of the simulated API: never journaled,
# never slowed down or failed by chaos.
UNTRACKED_PREFIXES = ("/__admin/", "/docs", "/openapi.json")
# Their bodies are limited too, and lower: the largest admin body, PUT /__admin/chaos, is a few
# hundred bytes (without a limit one accepted 200 MiB).
UNTRACKED_MAX_BODY = 64 * 1024
CHAOS_RETRY_AFTER = "1"
# Paths whose bodies have a lower limit of their own (a Config field), refused as early as --max-body is.
SMALL_BODY_PREFIXES = {"/webhooks/": "max_webhook_bytes"}  # seconds, on a chaos failure whose code means "come back later"


class TrafficMiddleware:
    """Journal, statistics, body limit and chaos for every request to the simulated API."""

    def __init__(self, app: ASGIApp, state: ServerState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            raw_key, content_length, chunked = _scan_headers(scope["headers"])
            classroom = self.state.classroom
            if classroom is None:
                # Read once, here, for every path: the admin API acts on the key the journal uses.
                scope["mock.client_key"] = parse_client_key(raw_key)
            else:
                learner = self.admit(classroom, scope, raw_key)
                if learner is not None:
                    await self.serve_learner(classroom, learner, scope, receive, send, content_length, chunked)
                    return
        except ApiError as exc:
            await exc.response()(scope, receive, send)
            return
        await self.serve(scope, receive, send, content_length, chunked)

    def admit(self, classroom: Classroom, scope: Scope, raw_key: str | None) -> Learner | None:
        """Classroom mode: the learner whose key the request carries, or None for an open path or the
        instructor; an ApiError (401 join_required) for anything else."""
        key, learner = classroom.identify(raw_key)
        scope["mock.client_key"] = key
        if learner is None and classroom.needs_learner(scope["path"]) and not classroom.is_instructor(scope["headers"]):
            raise join_required(raw_key)
        return learner

    async def serve_learner(
        self, classroom: Classroom, learner: Learner, scope: Scope, receive: Receive, send: Send,
        content_length: int, chunked: bool,
    ) -> None:
        """A learner's request: within their budgets (else a 429 saying which), counted for the instructor."""
        now = time.monotonic()
        learner.last_seen = now
        learner.requests += 1
        refusal = classroom.admit(learner, now)
        if refusal is not None:
            learner.budget_refusals += 1
            learner.count(429)
            await classroom.hold_refusal(learner)
            await refusal.response()(scope, receive, send)
            return
        scope["mock.learner"] = learner
        classroom.note_connection(learner, scope.get("mock.connection"))
        learner.in_flight += 1
        status: int | None = None

        async def counted_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = 499 if _gone(scope) else message["status"]
            await send(message)

        try:
            await self.serve(scope, receive, counted_send, content_length, chunked)
        finally:
            learner.in_flight -= 1
            learner.count(status)

    async def serve(self, scope: Scope, receive: Receive, send: Send, content_length: int, chunked: bool) -> None:
        """Any request, its client key read: an admin or docs one as it is, one to the simulated API tracked."""
        try:
            key = scope["mock.client_key"]
            if scope["path"].startswith(UNTRACKED_PREFIXES):
                await self.serve_untracked(scope, receive, send, content_length, chunked)
                return
            client = self.state.client(key)
        except ApiError as exc:
            await exc.response()(scope, receive, send)
            return
        scope["mock.client"] = client
        connection = scope.get("mock.connection")
        first_on_connection = account_connection(connection)
        started = time.monotonic()
        entry = self.open_entry(scope, client, connection, started)

        async def tracked_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                entry.status = 499 if _gone(scope) else message["status"]
            await send(message)

        try:
            try:
                body_receive = await self.capture_body(client, entry, receive, content_length, chunked)
            except ApiError as exc:
                await exc.response()(scope, receive, tracked_send)
                return
            if body_receive is None:
                return  # the client left halfway through sending its body
            learner = scope.get("mock.learner")
            if learner is not None and not self.state.classroom.chaos.calm:
                weather = await self.class_weather(learner, client)
                if weather is not None:
                    await weather(scope, body_receive, tracked_send)
                    return
            chaos = client.chaos or self.state.default_chaos
            delay = chaos_delay(chaos, client, first_on_connection)
            if delay:
                await asyncio.sleep(delay)
            failure = chaos_failure(chaos, client)
            if failure is not None:
                await failure(scope, body_receive, tracked_send)
                return
            await self.app(scope, body_receive, tracked_send)
        finally:
            self.close(entry, client, scope, started)

    async def class_weather(self, learner: Learner, client: ClientState) -> Response | None:
        """The instructor's class-wide chaos on a learner's request: its rate limit, delay and failures."""
        classroom = self.state.classroom
        limited = classroom.class_limited(learner, time.monotonic())
        if limited is not None:
            return limited.response()
        weather = classroom.chaos
        delay = weather.latency
        if weather.jitter:
            delay += client.random("class-chaos-jitter").uniform(0, weather.jitter)
        if delay:
            await asyncio.sleep(delay)
        return chaos_failure(weather, client, "class-chaos", "class-wide chaos set by the instructor")

    async def serve_untracked(self, scope: Scope, receive: Receive, send: Send, content_length: int, chunked: bool) -> None:
        """An admin or docs request: no journal, no chaos, but a body limit (UNTRACKED_MAX_BODY or --max-body)."""
        limit = min(UNTRACKED_MAX_BODY, self.state.config.max_body)
        if content_length > limit:
            raise _untracked_body_too_large(limit)
        if chunked or content_length:
            body = await _read_body(receive, limit, _untracked_body_too_large)
            if body is None:
                return  # the client left halfway through sending its body
            receive = _replay(body, receive)
        instance = (INSTANCE_HEADER.lower().encode(), self.state.instance.encode())

        async def send_with_instance(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), instance]
            await send(message)

        await self.app(scope, receive, send_with_instance)

    def open_entry(
        self, scope: Scope, client: ClientState, connection: Connection | None, started: float
    ) -> JournalEntry:
        """Count the request, put it in the caller's journal, and mark it in flight."""
        state = self.state
        client.requests += 1
        state.requests += 1
        entry = JournalEntry(
            client.requests,
            started - client.started,
            scope,
            state.connection_number(connection, client) if connection is not None else None,
        )
        client.journal.add(entry)
        client.in_flight += 1
        client.max_in_flight = max(client.max_in_flight, client.in_flight)
        state.in_flight += 1
        state.max_in_flight = max(state.max_in_flight, state.in_flight)
        return entry

    async def capture_body(
        self, client: ClientState, entry: JournalEntry, receive: Receive, content_length: int, chunked: bool
    ) -> Receive | None:
        """Enforce the body limit and read the whole body into the journal entry.

        Returns the receive() the app should use, or None if the client left halfway; a body
        over the limit is an ApiError (413), refused at once when Content-Length announces it.
        """
        config = self.state.config
        limit, too_large = config.max_body, _body_too_large
        for prefix, setting in SMALL_BODY_PREFIXES.items():
            if entry.path.startswith(prefix) and getattr(config, setting) < limit:
                limit, too_large = getattr(config, setting), _small_body_too_large(prefix, setting)
        if content_length > limit:
            raise too_large(limit)
        if not (chunked or content_length):
            return receive
        # Read it all first, so the journal shows the body even when the endpoint never
        # looks at it (a POST to /flaky is still a POST with a body).
        body = await _read_body(receive, limit, too_large)
        if body is None:
            return None
        client.journal.add_body(entry, body[: config.journal_body_bytes], len(body))
        return _replay(body, receive)

    def close(self, entry: JournalEntry, client: ClientState, scope: Scope, started: float) -> None:
        """Settle the entry's status and duration, count the status, and end the in-flight mark."""
        if entry.status is None:
            # 499: the client left before any response (nginx's code); else the app failed.
            entry.status = 499 if _gone(scope) else 500
        entry.duration = time.monotonic() - started
        client.statuses[entry.status] = client.statuses.get(entry.status, 0) + 1
        client.in_flight -= 1
        self.state.in_flight -= 1


def account_connection(connection: Connection | None) -> bool:
    """Count a request on its TCP connection; True when it is the connection's first."""
    if connection is None:  # served by something other than our protocol (an ASGI test client)
        return False
    connection.requests += 1
    return connection.requests == 1


def chaos_delay(chaos: Chaos, client: ClientState, first_on_connection: bool) -> float:
    """Seconds to hold this request: latency, seeded jitter, and the simulated handshake."""
    delay = chaos.latency
    if chaos.jitter:
        delay += client.random("chaos-jitter").uniform(0, chaos.jitter)
    if first_on_connection:
        delay += chaos.connect_latency
    return delay


def chaos_failure(
    chaos: Chaos | ClassChaos, client: ClientState, streams: str = "chaos", what: str = "chaos"
) -> Response | None:
    """The simulated failure this request gets instead of its answer, drawn from the seeded stream; or None."""
    if not chaos.failure_rate or client.random(f"{streams}-failures").random() >= chaos.failure_rate:
        return None
    code = client.random(f"{streams}-codes").choice(chaos.failure_codes)
    headers = {"Retry-After": CHAOS_RETRY_AFTER} if code in RETRY_AFTER_CODES else {}
    return error_response(code, "chaos", f"simulated failure ({what} failure_rate={chaos.failure_rate})", headers)


async def _read_body(receive: Receive, limit: int, too_large: Callable[[int], ApiError]) -> bytes | None:
    """The request body, or None if the client disconnected; too_large(limit) is raised past the limit."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise too_large(limit)
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """A receive() that hands the app the body already read, then waits for a disconnect."""
    delivered = False

    async def replay() -> Message:
        nonlocal delivered
        if delivered:
            return await receive()
        delivered = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


def _gone(scope: Scope) -> bool:
    """Whether the request's client has left: its connection closed, or (HTTP/2) its stream cancelled."""
    connection, stream = scope.get("mock.connection"), scope.get("mock.stream_lost")
    return (connection is not None and connection.lost.done()) or (stream is not None and stream.done())


_KEY_HEADER = CLIENT_KEY_HEADER.lower().encode()


def _scan_headers(headers: list[tuple[bytes, bytes]]) -> tuple[str | None, int, bool]:
    """X-Client-Key, Content-Length and whether the body is chunked, in one pass over the headers.

    An ApiError for a second X-Client-Key (one reading of the key everywhere: journal and
    admin alike) and for any transfer coding but a single chunked.
    """
    key, length, chunked = None, 0, False
    for name, value in headers:
        if name == _KEY_HEADER:
            if key is not None:
                raise ApiError(
                    400, "invalid_client_key",
                    f"{CLIENT_KEY_HEADER} was sent more than once: send one, so that the journal and "
                    "/__admin/ agree on whose request this is",
                )
            key = value.decode("latin-1")
        elif name == b"content-length" and value.isdigit():
            # httptools refuses a length beyond 64 bits, but not leading zeros, which int() counts.
            length = int(value.lstrip(b"0") or b"0")
        elif name == b"transfer-encoding":
            if chunked or value.strip().lower() != b"chunked":
                raise _unsupported_coding(value)
            chunked = True
    return key, length, chunked


def _unsupported_coding(value: bytes) -> ApiError:
    # RFC 9112 §6.1: a server that receives a transfer coding it does not understand SHOULD
    # answer 501 and close the connection (Go's net/http does the same). httptools would
    # decode "gzip, chunked" as plain chunked and hand the app a body that is still gzipped.
    return ApiError(
        501, "unsupported_transfer_encoding",
        f"Transfer-Encoding {value.decode('latin-1')[:80]!r} is not supported: the server understands only "
        "a single chunked; send the body with Content-Length or Transfer-Encoding: chunked "
        "(and Content-Encoding for compression)",
        headers={"Connection": "close"},
    )


def _body_too_large(limit: int) -> ApiError:
    return ApiError(
        413,
        "body_too_large",
        f"request bodies are limited to {limit} bytes (the server's {describe('max_body')})",
        limit=limit,
    )


def _small_body_too_large(prefix: str, setting: str) -> Callable[[int], ApiError]:
    def too_large(limit: int) -> ApiError:
        return ApiError(413, "body_too_large",
                        f"request bodies to {prefix} are limited to {limit} bytes (the server's {describe(setting)})",
                        limit=limit)
    return too_large


def _untracked_body_too_large(limit: int) -> ApiError:
    return ApiError(
        413,
        "body_too_large",
        f"request bodies to /__admin/ and /docs are limited to {limit} bytes (the server's "
        f"{describe('max_body')}, or at most {UNTRACKED_MAX_BODY}: admin bodies are small)",
        limit=limit,
    )
