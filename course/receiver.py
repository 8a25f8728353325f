"""Serve an ASGI app (a webhook receiver, say) on a free loopback port from a notebook.

The app runs under uvicorn in a daemon thread of the notebook's own process, with its own event
loop, so the mock server can call it while the notebook's cells run, even while a cell blocks on
a synchronous request:

    receiver = BackgroundApp(app)
    url = receiver.start()      # "http://127.0.0.1:PORT", once the app's lifespan has started
    ...
    receiver.stop()             # runs the lifespan's shutdown, frees the port

or `with BackgroundApp(app) as url: ...`. Each start takes a new free port, so a notebook that
is run again never finds its port taken.
"""

from __future__ import annotations

import socket
import threading
import time
from types import TracebackType
from typing import Any

import uvicorn

HOST = "127.0.0.1"  # loopback only: nothing outside this machine can reach the receiver
START_TIMEOUT = 10.0  # seconds for the lifespan's startup to finish
STOP_TIMEOUT = 5.0  # seconds requests in flight get to finish when it stops; then they are cancelled
POLL_INTERVAL = 0.01


class BackgroundApp:
    """An ASGI app served on 127.0.0.1 by uvicorn in a background thread."""

    def __init__(self, app: Any, *, log_level: str = "warning") -> None:
        self.app = app
        self.log_level = log_level
        self.url: str | None = None  # set while it serves
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._sock: socket.socket | None = None

    def start(self) -> str:
        """Start serving and return the base URL; raise RuntimeError if the app cannot start."""
        if self.url is not None:
            return self.url
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((HOST, 0))
        config = uvicorn.Config(self.app, lifespan="on", log_level=self.log_level, access_log=False,
                                timeout_graceful_shutdown=STOP_TIMEOUT)
        server = uvicorn.Server(config)
        thread = threading.Thread(target=_serve, args=(server, sock), daemon=True,
                                  name=f"receiver-{sock.getsockname()[1]}")
        self._server, self._thread, self._sock = server, thread, sock
        thread.start()
        deadline = time.monotonic() + START_TIMEOUT
        while not server.started:
            if not thread.is_alive():
                self._close_socket()
                raise RuntimeError("the app did not start: its lifespan startup failed (its error is logged above)")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the app did not start within {START_TIMEOUT:g} s: is its lifespan startup stuck?")
            time.sleep(POLL_INTERVAL)
        self.url = f"http://{HOST}:{sock.getsockname()[1]}"
        return self.url

    def stop(self) -> None:
        """Stop serving (the lifespan's shutdown runs) and wait until the port is free; safe to repeat."""
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        server.should_exit = True  # requests still running after STOP_TIMEOUT are cancelled
        thread.join(STOP_TIMEOUT + START_TIMEOUT)
        self._close_socket()
        self._server = self._thread = None
        self.url = None
        if thread.is_alive():
            raise RuntimeError(f"the app did not stop within {STOP_TIMEOUT + START_TIMEOUT:g} s: is its lifespan shutdown stuck?")

    def _close_socket(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def __enter__(self) -> str:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()


def _serve(server: uvicorn.Server, sock: socket.socket) -> None:
    """Run `server` until it stops; a failed startup ends the thread quietly (uvicorn logged why)."""
    try:
        server.run(sockets=[sock])
    except SystemExit:  # uvicorn's answer to a lifespan startup that failed: start() reports it
        pass
