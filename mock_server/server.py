"""Serving the app: a uvicorn protocol that counts TCP connections, and two ways to run it.

uvicorn serves the HTTP port (HTTP/1.1); a connection there that opens with HTTP/2's preface
(h2c, prior knowledge) is handed to hypercorn, which also serves the HTTPS port (tls.py), in the
same event loop.

- `run(config)`: in the foreground (what `python -m mock_server` does);
- `BackgroundServer(config)`: in a daemon thread, for tests of non-default settings.

(`process.spawn` runs it as a child process.)
"""

from __future__ import annotations

import asyncio
import functools
import gc
import json
import socket
import sys
import threading
from collections.abc import Callable
from typing import Any

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from . import delivery
from .app import create_app
from .config import Config, bind_refusal, describe, is_loopback_host
from .contract import READY_PREFIX
from .state import ServerState
from .tls import H2_PREFACE, ConnectionServing, TlsListener, bind_tls, head_too_large, listen, url_of

# How long a refused connection keeps draining what the client still sends, so that the
# client reads our 431 or 408 instead of a connection reset.
LINGER_SECONDS = 1.0


class TrackedProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, plus connection accounting, a request-head limit and two timeouts.

    An ASGI app cannot see TCP connections, so the protocol tags each request's scope with
    its connection (`scope["mock.connection"]`), which makes keep-alive visible in /__admin/stats.

    uvicorn closes a connection that stays silent after a response (its keep-alive timeout),
    but not one that never sends a request, nor one that stops halfway through a request head:
    enough of those would use up the server's file descriptors and lock everyone else out. So a
    new connection gets --idle-timeout to start its first request, and every request head
    --head-timeout from its first byte to its last. Neither limits a request body, nor the time
    the server takes to answer (/delay, /drip, /hang).
    """

    def __init__(self, *args: Any, mock_state: ServerState, mock_h2c: ConnectionServing, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.mock_state = mock_state
        self.mock_h2c = mock_h2c
        self.mock_connection = None
        config = mock_state.config
        self.head_limit = config.max_header_bytes
        self.head_timeout = config.head_timeout
        self.idle_timeout = config.idle_timeout
        self.head_timer: asyncio.TimerHandle | None = None
        self.head_bytes = 0
        self.in_head = True
        self.head_begun = False  # the parser has the start of a request head, not yet its end
        self.rejected = False
        self.fresh = True  # nothing received yet: the connection may still turn out to be h2c

    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)
        self.mock_connection = self.mock_state.open_connection()
        # uvicorn's keep-alive timer, armed before the first request too: any data cancels it.
        self.timeout_keep_alive_task = self.loop.call_later(self.idle_timeout, self._idle_timed_out)

    def connection_lost(self, exc: Exception | None) -> None:
        self._unset_keepalive_if_required()
        self._stop_head_timer()
        if self.mock_connection is not None:
            self.mock_state.close_connection(self.mock_connection)
            self.mock_connection = None
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self.rejected:
            return
        if self.fresh:
            self.fresh = False
            if data.startswith(H2_PREFACE[:14]):  # "PRI * HTTP/2.0": no HTTP/1.1 request starts so
                self._hand_over_h2c(data)
                return
        if self.in_head:
            self.head_bytes += len(data)
        super().data_received(data)
        if self.rejected or self.transport.is_closing():
            return
        # httptools buffers an unfinished head itself, so stop a huge one here.
        if self.in_head and self.head_bytes > self.head_limit:
            self._reject_head(self.head_bytes)
        # A head that arrives whole (the usual case) never needs the timer.
        elif self.head_begun:
            self._start_head_timer()
        elif self.cycle is None or self.cycle.response_complete:
            # Only stray bytes (empty lines) came, and they cancelled the idle timer: start it again.
            self.timeout_keep_alive_task = self.loop.call_later(self.idle_timeout, self._idle_timed_out)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self.scope["mock.connection"] = self.mock_connection  # type: ignore[typeddict-unknown-key]
        self.head_begun = True

    def on_headers_complete(self) -> None:
        self.in_head = self.head_begun = False
        self._stop_head_timer()
        size = len(self.url) + sum(len(name) + len(value) + 4 for name, value in self.headers)
        if size > self.head_limit:
            self._reject_head(size)
            return
        super().on_headers_complete()

    def on_body(self, body: bytes) -> None:
        if not self.rejected:
            super().on_body(body)

    def on_message_complete(self) -> None:
        if self.rejected:
            return
        super().on_message_complete()
        self.in_head, self.head_bytes = True, 0

    def _hand_over_h2c(self, data: bytes) -> None:
        """Let hypercorn serve this connection as HTTP/2 from here on; uvicorn forgets it."""
        self._unset_keepalive_if_required()
        self.connections.discard(self)
        connection, self.mock_connection = self.mock_connection, None
        assert connection is not None
        self.mock_state.switch_protocol(connection, "h2c")
        self.rejected = True
        self.mock_h2c.adopt(self.transport, data, connection)

    def _start_head_timer(self) -> None:
        if self.head_timer is None:
            self.head_timer = self.loop.call_later(self.head_timeout, self._head_timed_out)

    def _stop_head_timer(self) -> None:
        if self.head_timer is not None:
            self.head_timer.cancel()
            self.head_timer = None

    def _idle_timed_out(self) -> None:
        self.timeout_keep_alive_task = None
        if not self.transport.is_closing():
            self.mock_state.idle_timeouts += 1
            self.transport.close()

    def _head_timed_out(self) -> None:
        self.head_timer = None
        if self.rejected or self.transport.is_closing():
            return
        self.mock_state.head_timeouts += 1
        if self.cycle is not None and not self.cycle.response_complete:
            # An answer is still being sent on this connection: end the connection after it.
            self.cycle.keep_alive = False
            return
        self._refuse(
            b"408 Request Timeout",
            {
                "error": "request_timeout",
                "message": f"the request line and headers did not arrive within {self.head_timeout:g} s "
                f"(the server's {describe('head_timeout')})",
                "limit": self.head_timeout,
            },
        )

    def _reject_head(self, size: int) -> None:
        self.mock_state.rejected_heads += 1
        self._refuse(b"431 Request Header Fields Too Large", head_too_large(size, self.head_limit))

    def _refuse(self, status: bytes, error: dict[str, Any]) -> None:
        """Answer `error` and close, after draining what the client still sends for a moment."""
        self.rejected = True
        self._stop_head_timer()
        body = json.dumps(error).encode()
        self.transport.write(
            b"HTTP/1.1 %s\r\ncontent-type: application/json\r\n"
            b"content-length: %d\r\nconnection: close\r\n\r\n%s" % (status, len(body), body)
        )
        self.loop.call_later(LINGER_SECONDS, self.transport.close)


class _Server(uvicorn.Server):
    """uvicorn's server, which also starts and stops the HTTPS listener in its event loop."""

    def __init__(
        self, config: uvicorn.Config, state: ServerState, hypercorn: ConnectionServing,
        tls_sock: socket.socket | None, http_url: str, on_ready: Callable[[], None],
    ) -> None:
        super().__init__(config)
        self.state = state
        self.hypercorn = hypercorn
        self.tls_sock = tls_sock
        self.http_url = http_url
        self.tls: TlsListener | None = None
        self.on_ready = on_ready

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.should_exit:
            return
        if self.tls_sock is not None:
            self.tls = TlsListener(self.tls_sock, self.hypercorn, self.http_url)
            self.tls.start()
            self.state.tls = {"url": self.tls.url, "ca": str(self.tls.certificates.ca_path)}
        self.on_ready()

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        await delivery.shutdown(self.state)  # cancel and await the webhook deliveries, close their client
        if self.tls is not None:
            await self.tls.close()
        else:
            await self.hypercorn.close()  # h2c connections on the HTTP port
        await super().shutdown(sockets)


def bind(config: Config) -> socket.socket:
    """A listening socket for `config`, or SystemExit with a message that says what to do.

    Beyond loopback only in classroom mode: refused before any socket is made.
    """
    refusal = bind_refusal(config)
    if refusal is not None:
        raise SystemExit(refusal)
    return listen(config.host, config.port, config.backlog, "", "Stop it, or pick another port with --port.")


def _uvicorn_server(config: Config, sock: socket.socket, on_ready: Callable[[ServerState], None]) -> _Server:
    app = create_app(config)
    state = app.state.mock
    hypercorn = ConnectionServing(app, state)
    protocol = functools.partial(TrackedProtocol, mock_state=state, mock_h2c=hypercorn)
    uv_config = uvicorn.Config(
        app,
        http=protocol,  # type: ignore[arg-type]
        ws="none",
        lifespan="off",
        backlog=config.backlog,
        access_log=False,
        server_header=False,
        date_header=False,  # outputs must not change from run to run
        proxy_headers=False,  # every client is on loopback; never trust X-Forwarded-For
        log_level=config.log_level,
    )
    return _Server(uv_config, state, hypercorn, bind_tls(config), base_url(sock), lambda: on_ready(state))


def base_url(sock: socket.socket) -> str:
    return url_of(sock, "http")


def raise_open_file_limit() -> None:
    """Allow as many open sockets as the system permits: a burst of 1000 connections needs
    more than the common default soft limit of 1024 file descriptors."""
    try:
        import resource
    except ImportError:  # Windows has no such limit
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = hard if hard != resource.RLIM_INFINITY else 65536
    if soft != resource.RLIM_INFINITY and soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))


def ready_line(state: ServerState, url: str) -> str:
    """What the server prints once it listens: its URL first (process.spawn reads it), then HTTPS."""
    line = f"{READY_PREFIX}{url}  (API docs: {url}/docs)"
    if state.tls is not None:
        line += f"  HTTPS and HTTP/2 at {state.tls['url']}, trusting the CA in {state.tls['ca']}"
    return line


def classroom_lines(state: ServerState, url: str) -> list[str]:
    """What a classroom server prints after its ready line: the instructor token and the learners' join line."""
    if state.classroom is None:
        return []
    host = state.config.host
    shared = url
    if not is_loopback_host(host):
        # 0.0.0.0 or :: is every interface, not an address to connect to: say which one to give out.
        if host in ("0.0.0.0", "::"):
            shared = url.replace(host if host == "0.0.0.0" else "[::]", "<this machine's address>", 1)
    token = state.classroom.token
    return [
        f"classroom mode: instructor token {token}  (send Authorization: Bearer {token}; keep it to yourself)",
        f"learners join with: export MOCK_SERVER_URL={shared} MOCK_SERVER_LEARNER=<name>  "
        f'(or in a notebook: course.server.join("<name>") with MOCK_SERVER_URL set)',
        f"budgets per learner: {state.config.learner_rate:g} requests/s, {state.config.learner_concurrency} in flight; "
        f"at most {state.config.max_learners} learners",
    ]


def run(config: Config) -> None:
    """Serve in the foreground until interrupted; print the ready line once listening."""
    raise_open_file_limit()
    sock = bind(config)

    def ready(state: ServerState) -> None:
        url = base_url(sock)
        print(ready_line(state, url), flush=True)
        # On stderr: the ready line is the only one on stdout (process.spawn reads it, then closes the pipe).
        for line in classroom_lines(state, url):
            print(line, file=sys.stderr, flush=True)

    server = _uvicorn_server(config, sock, ready)
    # The journal keeps many small objects alive, so with the default thresholds the garbage
    # collector runs full collections often, and each one stalls every request in flight.
    # Freeze what startup made and collect less often; every store is bounded anyway.
    gc.freeze()
    gc.set_threshold(10_000, 20, 50)
    server.run(sockets=[sock])


class BackgroundServer:
    """The server in a daemon thread of this process: `with BackgroundServer(cfg) as url: ...`."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.ready = threading.Event()
        self.sock = bind(config)
        self.url = base_url(self.sock)
        self.server = _uvicorn_server(config, self.sock, lambda state: self.ready.set())
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        if not self.ready.wait(10):
            raise RuntimeError("mock server thread did not start within 10 s")
        return self.url

    @property
    def tls(self) -> dict[str, str] | None:
        """The HTTPS listener's url and CA file, once it listens (None when it is off)."""
        return self.server.state.tls

    def __exit__(self, *exc_info: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)
        self.sock.close()
        if self.server.tls_sock is not None:
            self.server.tls_sock.close()
