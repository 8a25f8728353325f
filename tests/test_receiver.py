"""course.receiver.BackgroundApp: an app served on a free loopback port from a background thread,
its lifespan run on start and stop, the port freed after stop."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from collections.abc import AsyncIterator

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from course import receiver
from course.receiver import BackgroundApp


def recording_app(events: list[str]) -> Starlette:
    """An app that notes its lifespan's startup and shutdown, and answers /hello and /hang."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        events.append("startup")
        yield
        events.append("shutdown")

    async def hello(request: Request) -> PlainTextResponse:
        return PlainTextResponse("hello")

    async def hang(request: Request) -> PlainTextResponse:
        await asyncio.sleep(3600)
        return PlainTextResponse("never")

    return Starlette(routes=[Route("/hello", hello), Route("/hang", hang)], lifespan=lifespan)


def refused(url: str) -> bool:
    host, port = url.removeprefix("http://").split(":")
    with socket.socket() as sock:
        return sock.connect_ex((host, int(port))) != 0


def test_serves_on_loopback_and_runs_the_lifespan() -> None:
    events: list[str] = []
    app = BackgroundApp(recording_app(events))
    url = app.start()
    try:
        assert url.startswith("http://127.0.0.1:")
        assert events == ["startup"]
        assert app.start() == url  # starting again changes nothing
        assert httpx.get(f"{url}/hello", timeout=5).text == "hello"
    finally:
        app.stop()
    assert events == ["startup", "shutdown"]
    assert app.url is None and refused(url)
    app.stop()  # stopping again is harmless


def test_context_manager_and_a_fresh_port_each_start() -> None:
    events: list[str] = []
    with BackgroundApp(recording_app(events)) as first:
        assert httpx.get(f"{first}/hello", timeout=5).status_code == 200
    with BackgroundApp(recording_app(events)) as second:
        assert httpx.get(f"{second}/hello", timeout=5).status_code == 200
    assert events == ["startup", "shutdown"] * 2
    assert refused(first) and refused(second)


def test_a_failing_startup_is_an_error_that_says_so() -> None:
    @contextlib.asynccontextmanager
    async def broken(app: Starlette) -> AsyncIterator[None]:
        raise RuntimeError("no database")
        yield

    with pytest.raises(RuntimeError, match="lifespan startup failed"):
        BackgroundApp(Starlette(lifespan=broken)).start()


def test_stop_ends_even_with_a_request_that_never_ends(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(receiver, "STOP_TIMEOUT", 0.5)
    app = BackgroundApp(recording_app([]))
    url = app.start()
    outcome: list[object] = []

    def send_hanging() -> None:
        try:
            outcome.append(httpx.get(f"{url}/hang", timeout=httpx.Timeout(5, read=30)))
        except httpx.HTTPError as exc:
            outcome.append(exc)

    client = threading.Thread(target=send_hanging)
    client.start()
    while not app._server.server_state.connections:  # the request has arrived
        time.sleep(0.01)
    app.stop()
    client.join(10)
    assert refused(url)
    # uvicorn cancels the request after STOP_TIMEOUT and answers 500: the client is not left waiting
    assert [getattr(answer, "status_code", answer) for answer in outcome] == [500]
