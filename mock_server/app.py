"""The ASGI application: routing, JSON errors, and the traffic middleware.

The middleware is what makes the server a teaching tool: it gives every request a client
key, records it in that key's journal and statistics, enforces the body limit, and adds
the configured latency, simulated handshake and failures.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Router
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from . import docs
from .config import Config, describe
from .errors import ApiError, error_response
from .routes import GROUPS
from .routes.resources import build_collections
from .contract import CLIENT_KEY_HEADER
from .state import Chaos, ClientState, Connection, JournalEntry, ServerState, parse_client_key

# Paths that are about the server rather than part of the simulated API: never journaled,
# never slowed down or failed by chaos.
UNTRACKED_PREFIXES = ("/__admin/", "/docs", "/openapi.json")


def create_app(config: Config | None = None) -> MockApp:
    """Build the mock API for `config` (defaults to `Config()`)."""
    config = config or Config()
    state = ServerState(config)
    state.collections = build_collections(config.seed)
    routes = [endpoint.route() for group in GROUPS for endpoint in group.endpoints]
    return MockApp(state, SegmentRouter([*routes, *docs.routes()]))


class MockApp(Starlette):
    """Starlette with a short middleware stack: traffic accounting, JSON errors, the router.

    (Starlette's default stack wraps every request in two error layers; one does the job.)
    """

    def __init__(self, state: ServerState, router: Router) -> None:
        super().__init__()
        self.router = router
        self.state.mock = state

    def build_middleware_stack(self) -> ASGIApp:
        return TrafficMiddleware(JsonErrors(self.router), self.state.mock)


class SegmentRouter(Router):
    """Starlette's router, trying only the routes that share the request's first path segment.

    Starlette tries every route in turn, about half a microsecond each; with seventy routes
    that was a fifth of a request's cost. Anything the shortlist cannot answer (a 404, a
    trailing slash) falls through to the full router, so behaviour does not change.
    """

    def __init__(self, routes: list[BaseRoute]) -> None:
        super().__init__(routes)
        groups: dict[str, list[BaseRoute]] = {}
        for route in routes:
            groups.setdefault(_first_segment(route.path), []).append(route)  # type: ignore[attr-defined]
        full = super().app
        self.shortlists = {segment: Router(group, redirect_slashes=False, default=full) for segment, group in groups.items()}

    async def app(self, scope: Scope, receive: Receive, send: Send) -> None:
        shortlist = self.shortlists.get(_first_segment(scope.get("path", "")))
        await (shortlist.app if shortlist is not None else super().app)(scope, receive, send)


def _first_segment(path: str) -> str:
    return path.split("/", 2)[1] if path.startswith("/") else ""


class JsonErrors:
    """Errors the endpoints do not answer themselves, in the server's JSON shape.

    Starlette's unknown path (404) and wrong method (405); and any bug, answered with a JSON
    500 and then re-raised so uvicorn logs its traceback.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watched_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, watched_send)
        except HTTPException as exc:
            if started:
                raise
            await _http_error(Request(scope), exc)(scope, receive, send)
        except Exception as exc:
            if not started:
                await error_response(
                    500, "server_bug", f"the mock server failed ({type(exc).__name__}); this is a bug, please report it"
                )(scope, receive, send)
            raise


def _http_error(request: Request, exc: HTTPException) -> Response:
    if exc.status_code == 404:
        return error_response(404, "not_found", f"no endpoint at {request.url.path}; see /docs for the list")
    if exc.status_code == 405:
        allowed = (exc.headers or {}).get("Allow", "")
        return error_response(
            405, "method_not_allowed", f"{request.method} is not allowed on {request.url.path}; use {allowed}",
            exc.headers,
        )
    return error_response(exc.status_code, "http_error", str(exc.detail), exc.headers)


class TrafficMiddleware:
    """Journal, statistics, body limit and chaos for every request to the simulated API."""

    def __init__(self, app: ASGIApp, state: ServerState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(UNTRACKED_PREFIXES):
            await self.app(scope, receive, send)
            return
        raw_key, content_length, chunked = _scan_headers(scope["headers"])
        try:
            key = parse_client_key(raw_key)
        except ApiError as exc:
            await exc.response()(scope, receive, send)
            return

        state, config = self.state, self.state.config
        client = state.client(key)
        scope["mock.client"] = client
        connection = scope.get("mock.connection")
        first_on_connection = connection is not None and connection.requests == 0
        if connection is not None:
            connection.requests += 1
        started = time.monotonic()
        client.requests += 1
        state.requests += 1
        entry = JournalEntry(
            client.requests,
            started - client.started,
            scope,
            connection.number_for(client) if connection is not None else None,
        )
        client.journal.append(entry)
        client.in_flight += 1
        client.max_in_flight = max(client.max_in_flight, client.in_flight)
        state.in_flight += 1
        state.max_in_flight = max(state.max_in_flight, state.in_flight)

        async def tracked_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                entry.status = 499 if _gone(connection) else message["status"]
            await send(message)

        try:
            if content_length > config.max_body:  # refuse at once, without reading it
                await _body_too_large(config).response()(scope, receive, tracked_send)
                return
            if chunked or content_length:
                # Read the whole body first, so the journal shows it even when the endpoint
                # never looks at it (a POST to /flaky is still a POST with a body).
                try:
                    body = await _read_body(receive, config)
                except ApiError as exc:
                    await exc.response()(scope, receive, tracked_send)
                    return
                if body is None:
                    return  # the client left halfway through sending it
                entry.body, entry.body_size = body[: config.journal_body_bytes], len(body)
                receive = _replay(body, receive)
            chaos = client.chaos or state.default_chaos
            delay = _chaos_delay(chaos, client, first_on_connection)
            if delay:
                await asyncio.sleep(delay)
            if chaos.failure_rate and client.random("chaos-failures").random() < chaos.failure_rate:
                await _chaos_failure(chaos, client)(scope, receive, tracked_send)
                return
            await self.app(scope, receive, tracked_send)
        finally:
            if entry.status is None:
                # 499: the client left before any response (nginx's code); else the app failed.
                entry.status = 499 if _gone(connection) else 500
            entry.duration = time.monotonic() - started
            client.statuses[entry.status] = client.statuses.get(entry.status, 0) + 1
            client.in_flight -= 1
            state.in_flight -= 1


async def _read_body(receive: Receive, config: Config) -> bytes | None:
    """The request body, or None if the client disconnected; a 413 ApiError past the limit."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > config.max_body:
            raise _body_too_large(config)
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


def _gone(connection: Connection | None) -> bool:
    return connection is not None and connection.lost.done()


_KEY_HEADER = CLIENT_KEY_HEADER.lower().encode()


def _scan_headers(headers: list[tuple[bytes, bytes]]) -> tuple[str | None, int, bool]:
    """X-Client-Key, Content-Length and whether the body is chunked, in one pass over the headers."""
    key, length, chunked = None, 0, False
    for name, value in headers:
        if name == _KEY_HEADER:
            key = value.decode("latin-1")
        elif name == b"content-length" and value.isdigit():
            length = int(value)
        elif name == b"transfer-encoding":
            chunked = b"chunked" in value.lower()
    return key, length, chunked


def _body_too_large(config: Config) -> ApiError:
    return ApiError(
        413,
        "body_too_large",
        f"request bodies are limited to {config.max_body} bytes (the server's {describe('max_body')})",
        limit=config.max_body,
    )


def _chaos_delay(chaos: Chaos, client: ClientState, first_on_connection: bool) -> float:
    delay = chaos.latency
    if chaos.jitter:
        delay += client.random("chaos-jitter").uniform(0, chaos.jitter)
    if first_on_connection:
        delay += chaos.connect_latency
    return delay


def _chaos_failure(chaos: Chaos, client: ClientState) -> Response:
    code = client.random("chaos-codes").choice(chaos.failure_codes)
    headers: dict[str, Any] = {"Retry-After": "1"} if code in (429, 503) else {}
    return error_response(code, "chaos", f"simulated failure (chaos failure_rate={chaos.failure_rate})", headers)
