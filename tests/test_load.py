"""The server stays responsive when many slow requests arrive at once."""

from __future__ import annotations

import asyncio

import aiohttp
import requests

from mock_server.server import raise_open_file_limit

CONCURRENT = 1000
# Long enough that every request reaches the server while the first one still waits, even on a
# busy machine; `make bench` measures how close to the floor they finish.
DELAY = 2


async def _burst(base_url: str, key: str) -> list[int]:
    connector = aiohttp.TCPConnector(limit=0)  # one connection per request, all at once
    async with aiohttp.ClientSession(base_url, connector=connector, headers={"X-Client-Key": key}) as session:

        async def one() -> int:
            async with session.get(f"/delay/{DELAY}", timeout=aiohttp.ClientTimeout(total=30)) as response:
                await response.read()
                return response.status

        return await asyncio.gather(*(one() for _ in range(CONCURRENT)))


def test_a_thousand_concurrent_delays_all_succeed_together(base_url: str, key: str) -> None:
    raise_open_file_limit()
    statuses = asyncio.run(_burst(base_url, key))
    assert statuses == [200] * CONCURRENT
    stats = requests.get(f"{base_url}/__admin/stats", headers={"X-Client-Key": key}, timeout=10).json()
    assert (stats["requests"], stats["connections_opened"]) == (CONCURRENT, CONCURRENT)
    assert stats["max_in_flight"] == CONCURRENT, "the server held every wait at once, rather than some in turn"
