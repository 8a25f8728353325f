"""Serving the app: a uvicorn protocol that counts TCP connections, and two ways to run it.

- `run(config)`: in the foreground (what `python -m mock_server` does);
- `BackgroundServer(config)`: in a daemon thread, for tests of non-default settings.

(`process.spawn` runs it as a child process.)
"""

from __future__ import annotations

import functools
import gc
import json
import os
import socket
import threading
from collections.abc import Callable
from typing import Any

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from .app import create_app
from .config import Config, describe
from .contract import READY_PREFIX
from .state import ServerState

# How long a rejected connection keeps draining what the client still sends, so that the
# client reads our 431 instead of a connection reset.
LINGER_SECONDS = 1.0


class TrackedProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, plus connection accounting and a request-head limit.

    An ASGI app cannot see TCP connections, so the protocol tags each request's scope with
    its connection (`scope["mock.connection"]`), which makes keep-alive visible in /__admin/stats.
    """

    def __init__(self, *args: Any, mock_state: ServerState, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.mock_state = mock_state
        self.mock_connection = None
        self.head_limit = mock_state.config.max_header_bytes
        self.head_bytes = 0
        self.in_head = True
        self.rejected = False

    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)
        self.mock_connection = self.mock_state.open_connection()

    def connection_lost(self, exc: Exception | None) -> None:
        if self.mock_connection is not None:
            self.mock_state.close_connection(self.mock_connection)
            self.mock_connection = None
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self.rejected:
            return
        if self.in_head:
            self.head_bytes += len(data)
        super().data_received(data)
        # httptools buffers an unfinished head itself, so stop a huge one here.
        if self.in_head and self.head_bytes > self.head_limit and not self.rejected:
            self._reject_head(self.head_bytes)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self.scope["mock.connection"] = self.mock_connection  # type: ignore[typeddict-unknown-key]

    def on_headers_complete(self) -> None:
        self.in_head = False
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

    def _reject_head(self, size: int) -> None:
        self.rejected = True
        self.mock_state.rejected_heads += 1
        body = json.dumps(
            {
                "error": "header_too_large",
                "message": f"the request line and headers are {size}+ bytes; the limit is "
                f"{self.head_limit} (the server's {describe('max_header_bytes')})",
                "limit": self.head_limit,
            }
        ).encode()
        self.transport.write(
            b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-type: application/json\r\n"
            b"content-length: %d\r\nconnection: close\r\n\r\n%s" % (len(body), body)
        )
        self.loop.call_later(LINGER_SECONDS, self.transport.close)


class _Server(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, on_ready: Callable[[], None]) -> None:
        super().__init__(config)
        self.on_ready = on_ready

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if not self.should_exit:
            self.on_ready()


def bind(config: Config) -> socket.socket:
    """A listening socket for `config`, or SystemExit with a message that says what to do."""
    sock = socket.socket(socket.AF_INET6 if ":" in config.host else socket.AF_INET)
    if os.name != "nt":  # on Windows this flag would let two servers share the port
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((config.host, config.port))
    except OSError as exc:
        sock.close()
        raise SystemExit(
            f"mock server cannot listen on {config.host}:{config.port}: {exc.strerror}. "
            "Is another server already running there? Stop it, or pick another port with --port."
        ) from None
    sock.listen(config.backlog)
    sock.set_inheritable(True)
    return sock


def _uvicorn_server(config: Config, on_ready: Callable[[], None]) -> _Server:
    app = create_app(config)
    protocol = functools.partial(TrackedProtocol, mock_state=app.state.mock)
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
    return _Server(uv_config, on_ready)


def base_url(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


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


def run(config: Config) -> None:
    """Serve in the foreground until interrupted; print the ready line once listening."""
    raise_open_file_limit()
    sock = bind(config)
    url = base_url(sock)
    server = _uvicorn_server(config, lambda: print(f"{READY_PREFIX}{url}  (API docs: {url}/docs)", flush=True))
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
        self.server = _uvicorn_server(config, self.ready.set)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        if not self.ready.wait(10):
            raise RuntimeError("mock server thread did not start within 10 s")
        return self.url

    def __exit__(self, *exc_info: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)
        self.sock.close()
