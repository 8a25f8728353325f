"""Waiting on behalf of a request without outliving its client."""

from __future__ import annotations

import asyncio

from starlette.requests import ClientDisconnect, Request


async def wait(request: Request, seconds: float) -> None:
    """Sleep `seconds` without blocking the server; raise ClientDisconnect if the client leaves."""
    if seconds <= 0:
        return
    connection = request.scope.get("mock.connection")
    if connection is None:  # served by something other than our protocol: cannot tell
        await asyncio.sleep(seconds)
    elif await connection.wait_lost(seconds, request.scope.get("mock.stream_lost")):
        raise ClientDisconnect()
