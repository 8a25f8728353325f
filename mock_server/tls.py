"""The HTTPS listener (HTTP/1.1 and HTTP/2 by ALPN), and HTTP/2 with prior knowledge (h2c).

Both run hypercorn's connection handling in the event loop that uvicorn serves the HTTP port
from, so every request meets the same app and the same `ServerState` whichever port it came
in on. uvicorn speaks only HTTP/1.1; hypercorn serves HTTP/2. Each TCP connection gets its own
hypercorn `TCPServer`, with the app wrapped so its requests' scopes carry their connection
(`scope["mock.connection"]`), as `server.TrackedProtocol` does for the HTTP port.

Certificates are made at start-up with trustme: a CA of this run, and a certificate from it
for 127.0.0.1, ::1 and localhost. The CA's PEM file is what clients must trust
(`ssl.create_default_context(cafile=...)`); its path is printed and in /__admin/health.

Refusals are clean and leave the server healthy: plain HTTP sent to the HTTPS port gets a 400
that says which URL to use; a TLS hello naming another host (SNI) has its handshake refused
(asyncio closes the connection without sending the alert); a client that hangs up mid-handshake
is forgotten, and one that stalls is closed after --head-timeout.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import shutil
import socket
import ssl
import tempfile
from pathlib import Path
from typing import Any

import trustme
from hypercorn.app_wrappers import ASGIWrapper
from hypercorn.asyncio.tcp_server import TCPServer
from hypercorn.asyncio.worker_context import WorkerContext
from hypercorn.config import Config as HypercornConfig
from starlette.responses import JSONResponse

from .config import AUTO, Config, describe
from .contract import TLS_PORT_OFFSET, TLS_PORT_VARIABLE
from .state import Connection, ServerState

CERTIFICATE_NAMES = ("127.0.0.1", "::1", "localhost")
# Names a client may ask for in its TLS hello. RFC 6066 has no SNI for an IP address, and most
# clients send none for one, but some (wrk) send the address itself.
SNI_NAMES = set(CERTIFICATE_NAMES)
CA_FILE = "ca.pem"
TLS_RECORD_HANDSHAKE = 0x16  # the first byte of every TLS ClientHello
H2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
STREAM_QUEUE = 10  # messages of one HTTP/2 request read ahead of the app (hypercorn's max_app_queue_size)
# hypercorn closes an HTTP/1.1 connection after this many requests; uvicorn sets no such limit.
KEEP_ALIVE_MAX_REQUESTS = 1_000_000


def hypercorn_config(config: Config) -> HypercornConfig:
    """hypercorn's settings, each one from the mock server's own limits."""
    settings = HypercornConfig()
    settings.h2_max_concurrent_streams = config.h2_max_streams
    settings.h11_max_incomplete_size = config.max_header_bytes
    settings.h2_max_header_list_size = config.max_header_bytes
    settings.keep_alive_timeout = 5  # as uvicorn's keep-alive timeout on the HTTP port
    settings.keep_alive_max_requests = KEEP_ALIVE_MAX_REQUESTS
    settings.include_date_header = False  # outputs must not change from run to run
    settings.include_server_header = False
    settings.errorlog = logging.getLogger("mock_server.tls")
    settings.accesslog = None
    return settings


class StreamWatch:
    """Reads an HTTP/2 request's messages as they come, so its cancellation (hypercorn's
    http.disconnect) is known at once, even to a handler that never reads (/delay waits on
    `lost`). The app reads the same messages from `receive`; STREAM_QUEUE bounds the body
    read ahead of it, as hypercorn's own queue does."""

    def __init__(self, receive: Any) -> None:
        loop = asyncio.get_running_loop()
        self.messages: asyncio.Queue[Any] = asyncio.Queue(STREAM_QUEUE)
        self.lost: asyncio.Future[None] = loop.create_future()
        self.body_read: asyncio.Future[None] = loop.create_future()  # the client sent all of its body
        self.discarding = False
        self.disconnect: Any = None
        self.pump = loop.create_task(self._read(receive))

    async def _read(self, receive: Any) -> None:
        while True:
            message = await receive()
            if message["type"] == "http.request" and not message.get("more_body", False):
                self.body_read.set_result(None)
            if message["type"] == "http.disconnect":
                self.disconnect = message
                self.lost.set_result(None)
            if not self.discarding:
                await self.messages.put(message)
            if self.disconnect is not None:
                return

    async def drain(self, timeout: float) -> None:
        """Read and drop the rest of the request body (the app is done with it), for at most `timeout` seconds."""
        if self.body_read.done() or self.lost.done():
            return
        self.discarding = True
        while not self.messages.empty():
            self.messages.get_nowait()
        await asyncio.wait([self.body_read, self.lost], timeout=timeout, return_when=asyncio.FIRST_COMPLETED)

    async def receive(self) -> Any:
        if self.disconnect is not None and self.messages.empty():
            return self.disconnect  # ASGI: every receive after a disconnect is a disconnect
        return await self.messages.get()

    def close(self) -> None:
        self.pump.cancel()


class ConnectionServing:
    """Serves one TCP connection at a time with hypercorn, counted in the server's state."""

    def __init__(self, app: Any, state: ServerState) -> None:
        self.app = app
        self.state = state
        self.settings = hypercorn_config(state.config)
        self.context = WorkerContext(None)
        self.tasks: set[asyncio.Task[None]] = set()

    async def serve(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, connection: Connection
    ) -> None:
        """Serve the connection until it ends; `connection` is already counted as open."""
        task = asyncio.current_task()
        if task is not None:
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)
        app = self.app
        limit = self.state.config.max_header_bytes

        async def with_connection(scope: Any, receive: Any, send: Any) -> None:
            if scope["type"] != "http":
                await app(scope, receive, send)
                return
            scope["mock.connection"] = connection
            # hypercorn limits only a head that arrives in pieces; hold every head to the HTTP port's limit.
            size = head_size(scope)
            if size > limit:
                self.state.rejected_heads += 1
                await JSONResponse(head_too_large(size, limit), 431)(scope, receive, send)
                return
            if scope["http_version"] != "2":
                await app(scope, receive, send)
                return
            # An HTTP/2 client may cancel one request and keep the connection: watch its stream.
            stream = StreamWatch(receive)
            scope["mock.stream_lost"] = stream.lost

            async def send_after_body(message: Any) -> None:
                if message["type"] == "http.response.body" and not message.get("more_body", False):
                    # An answer that ends before the request's body has (a 413, say): hypercorn
                    # forgets the stream, then drops the whole connection on the body's next frame.
                    await stream.drain(self.state.config.head_timeout)
                await send(message)

            try:
                await app(scope, stream.receive, send_after_body)
            finally:
                stream.close()

        try:
            await TCPServer(ASGIWrapper(with_connection), asyncio.get_running_loop(), self.settings,  # type: ignore[arg-type]
                            self.context, {}, reader, writer)
        finally:
            self.state.close_connection(connection)

    def adopt(self, transport: asyncio.Transport, received: bytes, connection: Connection) -> None:
        """Take over a connection that began as HTTP/1.1 on uvicorn's port: h2c with prior knowledge."""
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader(limit=2**16)

        def connected(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            loop.create_task(self.serve(reader, writer, connection))  # serve() keeps it in self.tasks

        protocol = asyncio.StreamReaderProtocol(reader, connected)
        transport.set_protocol(protocol)
        protocol.connection_made(transport)
        protocol.data_received(received)

    async def close(self) -> None:
        """Tell every connection to finish, and wait briefly for them."""
        await self.context.terminated.set()
        if self.tasks:
            await asyncio.wait(set(self.tasks), timeout=self.settings.graceful_timeout)


class Certificates:
    """This run's CA and server certificate, with the CA's PEM file in a directory of its own."""

    def __init__(self) -> None:
        self.ca = trustme.CA(organization_name="HTTP clients course", organization_unit_name="mock server")
        self.leaf = self.ca.issue_cert(*CERTIFICATE_NAMES)
        self.directory = Path(tempfile.mkdtemp(prefix="http-clients-course-ca-"))
        self.ca_path = self.directory / CA_FILE
        self.ca.cert_pem.write_to_path(str(self.ca_path))

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.leaf.configure_cert(context)
        context.set_alpn_protocols(["h2", "http/1.1"])
        context.sni_callback = _check_server_name
        return context

    def remove(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)


def head_size(scope: Any) -> int:
    """A request head's size as both ports count it: its target, and each header with 4 bytes more."""
    target = len(scope["raw_path"]) + (len(scope["query_string"]) + 1 if scope["query_string"] else 0)
    return target + sum(len(name) + len(value) + 4 for name, value in scope["headers"])


def head_too_large(size: int, limit: int) -> dict[str, Any]:
    """The 431 error body, on either port."""
    return {
        "error": "header_too_large",
        "message": f"the request line and headers are {size}+ bytes; the limit is {limit} "
        f"(the server's {describe('max_header_bytes')})",
        "limit": limit,
    }


def _check_server_name(sock: ssl.SSLObject, name: str | None, context: ssl.SSLContext) -> int | None:
    """Refuse a TLS hello that names a host this server has no certificate for."""
    if name is not None and name.lower() not in SNI_NAMES:
        return ssl.ALERT_DESCRIPTION_UNRECOGNIZED_NAME
    return None


def url_of(sock: socket.socket, scheme: str) -> str:
    """The base URL of a listening socket: `http://127.0.0.1:8765`, `https://[::1]:9765`."""
    host, port = sock.getsockname()[:2]
    return f"{scheme}://[{host}]:{port}" if ":" in host else f"{scheme}://{host}:{port}"


class TlsListener:
    """The HTTPS port: accepts connections, looks at their first bytes, and serves them."""

    def __init__(self, sock: socket.socket, serving: ConnectionServing, http_url: str) -> None:
        self.sock = sock
        self.serving = serving
        self.state = serving.state
        self.http_url = http_url
        self.url = url_of(sock, "https")
        self.certificates = Certificates()
        self.context = self.certificates.server_context()
        self.accepting: asyncio.Task[None] | None = None
        self.greeting: set[asyncio.Task[None]] = set()

    def start(self) -> None:
        self.sock.setblocking(False)
        self.accepting = asyncio.get_running_loop().create_task(self._accept())

    async def close(self) -> None:
        if self.accepting is not None:
            self.accepting.cancel()
        for task in list(self.greeting):
            task.cancel()
        await self.serving.close()
        self.sock.close()
        self.certificates.remove()

    async def _accept(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            try:
                client, _ = await loop.sock_accept(self.sock)
            except OSError:  # out of file descriptors, or the client already gave up
                await asyncio.sleep(0.05)
                continue
            task = loop.create_task(self._greet(client))
            self.greeting.add(task)
            task.add_done_callback(self.greeting.discard)

    async def _greet(self, client: socket.socket) -> None:
        """Wait for the client's first bytes: a TLS hello is served, anything else refused."""
        loop = asyncio.get_running_loop()
        client.setblocking(False)
        timeout = self.state.config.head_timeout
        try:
            async with asyncio.timeout(timeout):
                first = await _peek(loop, client)
        except (TimeoutError, OSError):
            client.close()
            return
        if not first:
            client.close()
        elif first[0] != TLS_RECORD_HANDSHAKE:
            await self._refuse_plain_http(loop, client)
        else:
            await self._serve_tls(loop, client, timeout)

    async def _serve_tls(self, loop: asyncio.AbstractEventLoop, client: socket.socket, timeout: float) -> None:
        reader = asyncio.StreamReader(limit=2**16)
        protocol = asyncio.StreamReaderProtocol(reader)
        try:
            transport, _ = await loop.connect_accepted_socket(
                lambda: protocol, client, ssl=self.context, ssl_handshake_timeout=timeout
            )
        except (OSError, ssl.SSLError, TimeoutError, ConnectionError):
            client.close()  # a failed handshake: the client has had its alert, or has gone
            self.state.tls_handshakes_failed += 1
            return
        writer = asyncio.StreamWriter(transport, protocol, reader, loop)
        ssl_object = transport.get_extra_info("ssl_object")
        alpn = ssl_object.selected_alpn_protocol() if ssl_object is not None else None
        connection = self.state.open_connection("h2" if alpn == "h2" else "http/1.1")
        await self.serving.serve(reader, writer, connection)

    async def _refuse_plain_http(self, loop: asyncio.AbstractEventLoop, client: socket.socket) -> None:
        self.state.tls_plain_refused += 1
        body = json.dumps({
            "error": "https_port",
            "message": f"this port speaks HTTPS (TLS): use {self.url}, or {self.http_url} for plain HTTP",
            "https": self.url,
            "http": self.http_url,
        }).encode()
        try:
            await loop.sock_sendall(client, b"HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\n"
                                            b"content-length: %d\r\nconnection: close\r\n\r\n%s" % (len(body), body))
            client.shutdown(socket.SHUT_WR)
            # Drain what the client still sends for a moment, so it reads the 400, not a reset.
            async with asyncio.timeout(1.0):
                while await loop.sock_recv(client, 65536):
                    pass
        except (OSError, TimeoutError):
            pass
        finally:
            client.close()


async def _peek(loop: asyncio.AbstractEventLoop, client: socket.socket) -> bytes:
    """The first byte the client sent (b"" if it closed), left unread for the TLS layer."""
    readable = loop.create_future()
    loop.add_reader(client.fileno(), lambda: readable.done() or readable.set_result(None))
    try:
        await readable
    finally:
        loop.remove_reader(client.fileno())
    return client.recv(1, socket.MSG_PEEK)


def bind_tls(config: Config) -> socket.socket | None:
    """The HTTPS port's listening socket (None when --tls-port is 0), or SystemExit saying what to do."""
    port = tls_port(config)
    if port is None:
        return None
    return listen(config.host, port, config.backlog, "for HTTPS ",
                  f"Pick another port with {describe('tls_port')} (`make lab TLS_PORT=9766`, or "
                  f"`export {TLS_PORT_VARIABLE}=9766`); 0 turns HTTPS off.")


def listen(host: str, port: int, backlog: int, what: str, fix: str) -> socket.socket:
    """A listening socket on host:port, or SystemExit saying that listening `what` failed, and the `fix`."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    if os.name != "nt":  # on Windows this flag would let two servers share the port
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise SystemExit(f"mock server cannot listen {what}on {host}:{port}: {exc.strerror}. "
                         f"Is another server already running there? {fix}") from None
    sock.listen(backlog)
    sock.set_inheritable(True)
    return sock


def tls_port(config: Config) -> int | None:
    """The HTTPS port to bind: --tls-port, else --port + TLS_PORT_OFFSET (any free port when
    --port is 0); None when --tls-port is 0."""
    if config.tls_port == 0:
        return None
    if config.tls_port != AUTO:
        return config.tls_port
    return config.port + TLS_PORT_OFFSET if config.port else 0

