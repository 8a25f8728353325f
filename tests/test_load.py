"""The server stays responsive when many slow requests arrive at once."""

from __future__ import annotations

import asyncio
import time

import aiohttp

from mock_server.server import raise_open_file_limit

CONCURRENT = 1000
# Generous: the point is that 1000 one-second waits overlap (about 1 s in all), not that
# they meet the benchmark's figures on a busy CI machine (`make bench` measures those).
WALL_LIMIT = 5.0


async def _burst(base_url: str, key: str) -> tuple[list[int], float]:
    connector = aiohttp.TCPConnector(limit=0)  # one connection per request, all at once
    async with aiohttp.ClientSession(base_url, connector=connector, headers={"X-Client-Key": key}) as session:

        async def one() -> int:
            async with session.get("/delay/1", timeout=aiohttp.ClientTimeout(total=30)) as response:
                await response.read()
                return response.status

        started = time.perf_counter()
        statuses = await asyncio.gather(*(one() for _ in range(CONCURRENT)))
        return statuses, time.perf_counter() - started


def test_a_thousand_concurrent_delays_all_succeed_together(base_url: str, key: str) -> None:
    raise_open_file_limit()
    statuses, wall = asyncio.run(_burst(base_url, key))
    assert statuses == [200] * CONCURRENT
    assert wall < WALL_LIMIT, f"{CONCURRENT} concurrent /delay/1 took {wall:.2f} s"
