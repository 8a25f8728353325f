"""Lab 06: answers grading must reject (with their hints) and correct alternatives it must accept."""

from lab_answers import Right, Wrong

ANSWERS: dict = {
    1: [
        Wrong("an unbounded gather: every link of a level at once", hint="never more than concurrency=4", code='''
async def crawl(start: str, budget: int, concurrency: int) -> list[str]:
    seen, fetched = {start}, []
    async with aiohttp.ClientSession(headers=HEADERS, timeout=TIMEOUT, raise_for_status=True) as session:

        async def fetch(url: str) -> list[str]:
            async with session.get(url) as resp:
                fetched.append(url)
                return links_in(await resp.text(), url)

        level = [start]
        while level:
            found = await asyncio.gather(*(fetch(url) for url in level))
            level = []
            for links in found:
                for link in links:
                    if link not in seen and len(seen) < budget:
                        seen.add(link)
                        level.append(link)
    return fetched
'''),
        Wrong("no set of visited pages: the budget alone stops it, after revisits", hint="more than once", code='''
async def crawl(start: str, budget: int, concurrency: int) -> list[str]:
    fetched = []
    slots = asyncio.Semaphore(concurrency)
    async with aiohttp.ClientSession(headers=HEADERS, timeout=TIMEOUT, raise_for_status=True) as session:

        async def fetch(url: str) -> list[str]:
            async with slots, session.get(url) as resp:
                fetched.append(url)
                return links_in(await resp.text(), url)

        level = [start]
        while level and len(fetched) < budget:
            found = await asyncio.gather(*(fetch(url) for url in level))
            level = [link for links in found for link in links][: budget - len(fetched)]
    return fetched
'''),
        Wrong("the seed notes' fetch(url): a ClientSession per request (Pitfall A1)", hint="one aiohttp.ClientSession",
              code='''
async def fetch(url: str) -> str:
    async with aiohttp.ClientSession(headers=HEADERS, timeout=TIMEOUT) as session:
        async with session.get(url) as resp:
            resp.raise_for_status()
            return await resp.text()


async def crawl(start: str, budget: int, concurrency: int) -> list[str]:
    seen, fetched = {start}, []
    slots = asyncio.Semaphore(concurrency)

    async def visit(url: str) -> list[str]:
        async with slots:
            html = await fetch(url)
        fetched.append(url)
        return links_in(html, url)

    level = [start]
    while level:
        found = await asyncio.gather(*(visit(url) for url in level))
        level = []
        for links in found:
            for link in links:
                if link not in seen and len(seen) < budget:
                    seen.add(link)
                    level.append(link)
    return fetched
'''),
        Wrong("the seed notes' fetch_all: a gather of un-entered session.get() (Pitfall A2)",
              hint="never more than concurrency=4", code='''
async def fetch_all(session: aiohttp.ClientSession, urls: list[str]) -> list[str]:
    responses = await asyncio.gather(*[session.get(url) for url in urls])
    return [await resp.text() for resp in responses]


async def crawl(start: str, budget: int, concurrency: int) -> list[str]:
    seen, fetched, level = {start}, [], [start]
    async with aiohttp.ClientSession(headers=HEADERS, timeout=TIMEOUT) as session:
        while level:
            pages = await fetch_all(session, level)
            fetched += level
            found, level = list(zip(level, pages)), []
            for url, html in found:
                for link in links_in(html, url):
                    if link not in seen and len(seen) < budget:
                        seen.add(link)
                        level.append(link)
    return fetched
'''),
        Wrong("sequential: one page at a time, though the task requires concurrency", hint="requires concurrency",
              code='''
import collections


async def crawl(start: str, budget: int, concurrency: int) -> list[str]:
    seen, fetched, queue = {start}, [], collections.deque([start])
    async with aiohttp.ClientSession(headers=HEADERS, timeout=TIMEOUT, raise_for_status=True) as session:
        while queue:
            url = queue.popleft()
            async with session.get(url) as resp:
                html = await resp.text()
            fetched.append(url)
            for link in links_in(html, url):
                if link not in seen and len(seen) < budget:
                    seen.add(link)
                    queue.append(link)
    return fetched
'''),
        Wrong("the budget off by one: <= instead of <", hint="fetch at most the budget", code='''
async def crawl(start: str, budget: int, concurrency: int) -> list[str]:
    seen, fetched = {start}, []
    slots = asyncio.Semaphore(concurrency)
    async with aiohttp.ClientSession(headers=HEADERS, timeout=TIMEOUT, raise_for_status=True) as session:

        async def fetch(url: str) -> list[str]:
            async with slots, session.get(url) as resp:
                fetched.append(url)
                return links_in(await resp.text(), url)

        level = [start]
        while level:
            found = await asyncio.gather(*(fetch(url) for url in level))
            level = []
            for links in found:
                for link in links:
                    if link not in seen and len(seen) <= budget:
                        seen.add(link)
                        level.append(link)
    return fetched
'''),
        Wrong("a semaphore of 4 whatever concurrency says (caught by the hidden test)", hint="the concurrency you are given",
              code='''
async def crawl(start: str, budget: int, concurrency: int) -> list[str]:
    seen, fetched = {start}, []
    slots = asyncio.Semaphore(4)
    async with aiohttp.ClientSession(headers=HEADERS, timeout=TIMEOUT, raise_for_status=True) as session:

        async def fetch(url: str) -> list[str]:
            async with slots, session.get(url) as resp:
                fetched.append(url)
                return links_in(await resp.text(), url)

        level = [start]
        while level:
            found = await asyncio.gather(*(fetch(url) for url in level))
            level = []
            for links in found:
                for link in links:
                    if link not in seen and len(seen) < budget:
                        seen.add(link)
                        level.append(link)
    return fetched
'''),
        Right("a queue and `concurrency` worker tasks", code='''
async def crawl(start: str, budget: int, concurrency: int) -> list[str]:
    queue: asyncio.Queue[str] = asyncio.Queue()
    queue.put_nowait(start)
    seen, fetched = {start}, []
    async with aiohttp.ClientSession(headers=HEADERS, timeout=TIMEOUT, raise_for_status=True) as session:

        async def worker() -> None:
            while True:
                url = await queue.get()
                try:
                    async with session.get(url) as resp:
                        html = await resp.text()
                    fetched.append(url)
                    for link in links_in(html, url):
                        if link not in seen and len(seen) < budget:
                            seen.add(link)
                            queue.put_nowait(link)
                finally:
                    queue.task_done()

        workers = [asyncio.create_task(worker()) for _ in range(concurrency)]
        await queue.join()
        for task in workers:
            task.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
    return fetched
'''),
        Right("the connector's limit as the bound, a TaskGroup per level", code='''
async def crawl(start: str, budget: int, concurrency: int) -> list[str]:
    seen, fetched = {start}, []
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector, headers=HEADERS, timeout=TIMEOUT,
                                     raise_for_status=True) as session:

        async def fetch(url: str) -> list[str]:
            async with session.get(url) as resp:
                html = await resp.text()
            fetched.append(url)
            return links_in(html, url)

        level = [start]
        while level:
            async with asyncio.TaskGroup() as group:
                tasks = [group.create_task(fetch(url)) for url in level]
            level = [link for task in tasks for link in task.result()]
            level = [link for link in dict.fromkeys(level) if link not in seen][: budget - len(seen)]
            seen.update(level)
    return fetched
'''),
    ],
    2: [
        Wrong("restarts from zero after a cut", hint="resume, do not restart", code='''
async def download_resumable(url: str, path: Path, attempts: int = 5) -> str:
    async with aiohttp.ClientSession(headers=HEADERS, timeout=TIMEOUT) as session:
        for attempt in range(1, attempts + 1):
            try:
                async with session.get(url) as resp:
                    resp.raise_for_status()
                    expected = resp.headers["X-Checksum-SHA256"]
                    with path.open("wb") as file:
                        async for chunk in resp.content.iter_chunked(65536):
                            file.write(chunk)
                break
            except aiohttp.ClientPayloadError:
                if attempt == attempts:
                    raise
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != expected:
        raise ValueError(f"sha256 {digest}, expected {expected}")
    return digest
'''),
        Wrong("asks for bytes=0- each time and rewrites the file", hint="resume, do not restart", code='''
async def download_resumable(url: str, path: Path, attempts: int = 5) -> str:
    etag = None
    async with aiohttp.ClientSession(headers=HEADERS, timeout=TIMEOUT) as session:
        for attempt in range(1, attempts + 1):
            headers = {"Range": "bytes=0-", "If-Range": etag} if etag else {}
            try:
                async with session.get(url, headers=headers) as resp:
                    resp.raise_for_status()
                    etag, expected = resp.headers["ETag"], resp.headers["X-Checksum-SHA256"]
                    with path.open("wb") as file:
                        async for chunk in resp.content.iter_chunked(65536):
                            file.write(chunk)
                break
            except aiohttp.ClientPayloadError:
                if attempt == attempts:
                    raise
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != expected:
        raise ValueError(f"sha256 {digest}, expected {expected}")
    return digest
'''),
        Wrong("buffers the whole body with await resp.read(): a cut loses it all", hint="iter_chunked", code='''
async def download_resumable(url: str, path: Path, attempts: int = 5) -> str:
    path.write_bytes(b"")
    etag = None
    async with aiohttp.ClientSession(headers=HEADERS, timeout=TIMEOUT) as session:
        for attempt in range(1, attempts + 1):
            offset = path.stat().st_size
            headers = {"Range": f"bytes={offset}-", "If-Range": etag} if offset and etag else {}
            try:
                async with session.get(url, headers=headers) as resp:
                    resp.raise_for_status()
                    etag, expected = resp.headers["ETag"], resp.headers["X-Checksum-SHA256"]
                    body = await resp.read()
                with path.open("ab" if resp.status == 206 else "wb") as file:
                    file.write(body)
                break
            except aiohttp.ClientPayloadError:
                if attempt == attempts:
                    raise
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != expected:
        raise ValueError(f"sha256 {digest}, expected {expected}")
    return digest
'''),
        Wrong("an offset one past the bytes on disk", hint="ask for exactly the bytes on disk", code='''
async def download_resumable(url: str, path: Path, attempts: int = 5) -> str:
    path.write_bytes(b"")
    etag = None
    async with aiohttp.ClientSession(headers=HEADERS, timeout=TIMEOUT) as session:
        for attempt in range(1, attempts + 1):
            offset = path.stat().st_size
            headers = {"Range": f"bytes={offset + 1}-", "If-Range": etag} if offset else {}
            try:
                async with session.get(url, headers=headers) as resp:
                    resp.raise_for_status()
                    etag = etag or resp.headers["ETag"]
                    expected = resp.headers["X-Checksum-SHA256"]
                    with path.open("ab" if resp.status == 206 else "wb") as file:
                        async for chunk in resp.content.iter_chunked(65536):
                            file.write(chunk)
                break
            except aiohttp.ClientPayloadError:
                if attempt == attempts:
                    raise
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != expected:
        raise ValueError(f"sha256 {digest}, expected {expected}")
    return digest
'''),
        Wrong("an offset one short of the bytes on disk", hint="one byte off either way", code='''
async def download_resumable(url: str, path: Path, attempts: int = 5) -> str:
    path.write_bytes(b"")
    etag = None
    async with aiohttp.ClientSession(headers=HEADERS, timeout=TIMEOUT) as session:
        for attempt in range(1, attempts + 1):
            offset = path.stat().st_size
            headers = {"Range": f"bytes={offset - 1}-", "If-Range": etag} if offset else {}
            try:
                async with session.get(url, headers=headers) as resp:
                    resp.raise_for_status()
                    etag = etag or resp.headers["ETag"]
                    expected = resp.headers["X-Checksum-SHA256"]
                    with path.open("ab" if resp.status == 206 else "wb") as file:
                        async for chunk in resp.content.iter_chunked(65536):
                            file.write(chunk)
                break
            except aiohttp.ClientPayloadError:
                if attempt == attempts:
                    raise
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != expected:
        raise ValueError(f"sha256 {digest}, expected {expected}")
    return digest
'''),
        Wrong("Range without If-Range", hint="send the ETag of the first response", code='''
async def download_resumable(url: str, path: Path, attempts: int = 5) -> str:
    path.write_bytes(b"")
    async with aiohttp.ClientSession(headers=HEADERS, timeout=TIMEOUT) as session:
        for attempt in range(1, attempts + 1):
            offset = path.stat().st_size
            headers = {"Range": f"bytes={offset}-"} if offset else {}
            try:
                async with session.get(url, headers=headers) as resp:
                    resp.raise_for_status()
                    expected = resp.headers["X-Checksum-SHA256"]
                    with path.open("ab" if resp.status == 206 else "wb") as file:
                        async for chunk in resp.content.iter_chunked(65536):
                            file.write(chunk)
                break
            except aiohttp.ClientPayloadError:
                if attempt == attempts:
                    raise
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != expected:
        raise ValueError(f"sha256 {digest}, expected {expected}")
    return digest
'''),
        Wrong("appends whatever comes back, without checking for 206 (caught by a hidden test)",
              hint="append only the body of a 206", code='''
async def download_resumable(url: str, path: Path, attempts: int = 5) -> str:
    path.write_bytes(b"")
    etag = None
    async with aiohttp.ClientSession(headers=HEADERS, timeout=TIMEOUT) as session:
        for attempt in range(1, attempts + 1):
            offset = path.stat().st_size
            headers = {"Range": f"bytes={offset}-", "If-Range": etag} if offset else {}
            try:
                async with session.get(url, headers=headers) as resp:
                    resp.raise_for_status()
                    etag = etag or resp.headers["ETag"]
                    expected = resp.headers["X-Checksum-SHA256"]
                    with path.open("ab") as file:
                        async for chunk in resp.content.iter_chunked(65536):
                            file.write(chunk)
                break
            except aiohttp.ClientPayloadError:
                if attempt == attempts:
                    raise
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != expected:
        raise ValueError(f"sha256 {digest}, expected {expected}")
    return digest
'''),
        Wrong("never compares the checksum (caught by a hidden test)", hint="raise ValueError when it differs", code='''
async def download_resumable(url: str, path: Path, attempts: int = 5) -> str:
    path.write_bytes(b"")
    etag = None
    async with aiohttp.ClientSession(headers=HEADERS, timeout=TIMEOUT) as session:
        for attempt in range(1, attempts + 1):
            offset = path.stat().st_size
            headers = {"Range": f"bytes={offset}-", "If-Range": etag} if offset else {}
            try:
                async with session.get(url, headers=headers) as resp:
                    resp.raise_for_status()
                    if resp.status == 200:
                        etag = resp.headers["ETag"]
                    with path.open("ab" if resp.status == 206 else "wb") as file:
                        async for chunk in resp.content.iter_chunked(65536):
                            file.write(chunk)
                break
            except aiohttp.ClientPayloadError:
                if attempt == attempts:
                    raise
    return hashlib.sha256(path.read_bytes()).hexdigest()
'''),
        Wrong("retries for ever, ignoring attempts (caught by a hidden test)", hint="after the last attempt", code='''
async def download_resumable(url: str, path: Path, attempts: int = 5) -> str:
    path.write_bytes(b"")
    etag = None
    async with aiohttp.ClientSession(headers=HEADERS, timeout=TIMEOUT) as session:
        while True:
            offset = path.stat().st_size
            headers = {"Range": f"bytes={offset}-", "If-Range": etag} if offset else {}
            try:
                async with session.get(url, headers=headers) as resp:
                    resp.raise_for_status()
                    if resp.status == 200:
                        etag = resp.headers["ETag"]
                    expected = resp.headers["X-Checksum-SHA256"]
                    with path.open("ab" if resp.status == 206 else "wb") as file:
                        async for chunk in resp.content.iter_chunked(65536):
                            file.write(chunk)
                break
            except aiohttp.ClientPayloadError:
                continue
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != expected:
        raise ValueError(f"sha256 {digest}, expected {expected}")
    return digest
'''),
        Right("one open file (truncate on 200, seek to the end on 206), writes off the event loop", code='''
import hmac
import os


async def download_resumable(url: str, path: Path, attempts: int = 5) -> str:
    etag = expected = None
    with path.open("w+b") as file:
        async with aiohttp.ClientSession(headers=HEADERS, timeout=TIMEOUT) as session:
            for attempt in range(attempts):
                offset = file.seek(0, os.SEEK_END)
                headers = {"Range": f"bytes={offset}-", "If-Range": etag} if offset and etag else {}
                try:
                    async with session.get(url, headers=headers, raise_for_status=True) as resp:
                        if resp.status == 206:
                            assert resp.headers["Content-Range"].startswith(f"bytes {offset}-")
                        else:
                            file.seek(0)
                            file.truncate()
                            etag = resp.headers.get("ETag")
                        expected = resp.headers["X-Checksum-SHA256"]
                        async for chunk in resp.content.iter_any():
                            await asyncio.to_thread(file.write, chunk)
                    break
                except aiohttp.ClientError:
                    if attempt == attempts - 1:
                        raise
        file.flush()
        file.seek(0)
        digest = hashlib.sha256()
        while block := file.read(1 << 20):
            digest.update(block)
    if not hmac.compare_digest(digest.hexdigest(), expected or ""):
        raise ValueError(f"checksum mismatch for {url}")
    return digest.hexdigest()
'''),
        Right("a helper per attempt that says how many bytes are on disk", code='''
async def fetch_rest(session: aiohttp.ClientSession, url: str, path: Path, seen: dict) -> None:
    """One request for the bytes `path` lacks; note the ETag and checksum the server sent in `seen`."""
    have = path.stat().st_size if path.exists() else 0
    headers = {"Range": f"bytes={have}-", "If-Range": seen["etag"]} if have and seen.get("etag") else {}
    async with session.get(url, headers=headers) as resp:
        resp.raise_for_status()
        if resp.status != 206:
            seen["etag"] = resp.headers.get("ETag")
        seen["sha256"] = resp.headers["X-Checksum-SHA256"]
        with open(path, "ab" if resp.status == 206 else "wb") as out:
            async for chunk in resp.content.iter_chunked(32 * 1024):
                out.write(chunk)


async def download_resumable(url: str, path: Path, attempts: int = 5) -> str:
    path.unlink(missing_ok=True)
    seen: dict = {}
    async with aiohttp.ClientSession(headers=HEADERS, timeout=TIMEOUT) as session:
        for left in reversed(range(attempts)):
            try:
                await fetch_rest(session, url, path, seen)
                break
            except (aiohttp.ClientPayloadError, aiohttp.ServerDisconnectedError):
                if not left:
                    raise
    actual = hashlib.sha256(path.read_bytes()).hexdigest()
    if actual != seen["sha256"]:
        raise ValueError(f"{path} is corrupt: {actual} != {seen['sha256']}")
    return actual
'''),
    ],
    3: [
        Wrong("on_request_start and on_request_end only: nothing about the connection", hint="no request is marked",
              code='''
async def timed_fetches(rounds: list[list[str]]) -> list[dict]:
    records = []

    async def on_start(session, ctx, params):
        ctx.started = time.perf_counter()

    async def on_end(session, ctx, params):
        records.append({"url": str(params.url), "new_connection": False,
                        "seconds": time.perf_counter() - ctx.started})

    trace = aiohttp.TraceConfig()
    trace.on_request_start.append(on_start)
    trace.on_request_end.append(on_end)
    async with aiohttp.ClientSession(headers=HEADERS, timeout=TIMEOUT, trace_configs=[trace]) as session:

        async def fetch(url):
            async with session.get(url) as resp:
                await resp.read()

        for urls in rounds:
            await asyncio.gather(*(fetch(url) for url in urls))
    return records
'''),
        Wrong("every request marked as a new connection", hint="marked all 9 requests as new", code='''
async def timed_fetches(rounds: list[list[str]]) -> list[dict]:
    records = []

    async def on_start(session, ctx, params):
        ctx.started = time.perf_counter()

    async def on_connection(session, ctx, params):
        ctx.new_connection = True

    async def on_end(session, ctx, params):
        records.append({"url": str(params.url), "new_connection": True, "seconds": time.perf_counter() - ctx.started})

    trace = aiohttp.TraceConfig()
    trace.on_request_start.append(on_start)
    trace.on_connection_queued_end.append(on_connection)
    trace.on_request_end.append(on_end)
    async with aiohttp.ClientSession(headers=HEADERS, timeout=TIMEOUT, trace_configs=[trace]) as session:

        async def fetch(url):
            async with session.get(url) as resp:
                await resp.read()

        for urls in rounds:
            await asyncio.gather(*(fetch(url) for url in urls))
    return records
'''),
        Wrong("time.time() around the whole call, without a trace config", hint="True or False", code='''
async def timed_fetches(rounds: list[list[str]]) -> list[dict]:
    records = []
    async with aiohttp.ClientSession(headers=HEADERS, timeout=TIMEOUT) as session:

        async def fetch(url):
            started = time.time()
            async with session.get(url) as resp:
                await resp.read()
            records.append({"url": url, "new_connection": None, "seconds": time.time() - started})

        for urls in rounds:
            await asyncio.gather(*(fetch(url) for url in urls))
    return records
'''),
        Wrong("a new ClientSession per request", hint="through one ClientSession", code='''
async def timed_fetches(rounds: list[list[str]]) -> list[dict]:
    records = []

    async def on_start(session, ctx, params):
        ctx.started, ctx.new = time.perf_counter(), False

    async def on_create(session, ctx, params):
        ctx.new = True

    async def on_end(session, ctx, params):
        records.append({"url": str(params.url), "new_connection": ctx.new, "seconds": time.perf_counter() - ctx.started})

    trace = aiohttp.TraceConfig()
    trace.on_request_start.append(on_start)
    trace.on_connection_create_end.append(on_create)
    trace.on_request_end.append(on_end)

    async def fetch(url):
        async with aiohttp.ClientSession(headers=HEADERS, timeout=TIMEOUT, trace_configs=[trace]) as session:
            async with session.get(url) as resp:
                await resp.read()

    for urls in rounds:
        await asyncio.gather(*(fetch(url) for url in urls))
    return records
'''),
        Wrong("one start time for all the requests", hint="not from a start time shared by all", code='''
async def timed_fetches(rounds: list[list[str]]) -> list[dict]:
    records = []
    started = time.perf_counter()

    async def on_start(session, ctx, params):
        ctx.new = False

    async def on_create(session, ctx, params):
        ctx.new = True

    async def on_end(session, ctx, params):
        records.append({"url": str(params.url), "new_connection": ctx.new, "seconds": time.perf_counter() - started})

    trace = aiohttp.TraceConfig()
    trace.on_request_start.append(on_start)
    trace.on_connection_create_end.append(on_create)
    trace.on_request_end.append(on_end)
    async with aiohttp.ClientSession(headers=HEADERS, timeout=TIMEOUT, trace_configs=[trace]) as session:

        async def fetch(url):
            async with session.get(url) as resp:
                await resp.read()

        for urls in rounds:
            await asyncio.gather(*(fetch(url) for url in urls))
    return records
'''),
        Wrong("times the whole call, body included (caught by the hidden test)", hint="not until the end of the body",
              code='''
async def timed_fetches(rounds: list[list[str]]) -> list[dict]:
    records = []

    async def on_start(session, ctx, params):
        ctx.trace_request_ctx["new_connection"] = False

    async def on_create(session, ctx, params):
        ctx.trace_request_ctx["new_connection"] = True

    trace = aiohttp.TraceConfig()
    trace.on_request_start.append(on_start)
    trace.on_connection_create_end.append(on_create)
    async with aiohttp.ClientSession(headers=HEADERS, timeout=TIMEOUT, trace_configs=[trace]) as session:

        async def fetch(url):
            record = {"url": url}
            started = time.perf_counter()
            async with session.get(url, trace_request_ctx=record) as resp:
                await resp.read()
            record["seconds"] = time.perf_counter() - started
            records.append(record)

        for urls in rounds:
            await asyncio.gather(*(fetch(url) for url in urls))
    return records
'''),
        Right("reuse marked by on_connection_reuseconn, records made at the start, a TaskGroup per round", code='''
async def timed_fetches(rounds: list[list[str]]) -> list[dict]:
    records = []
    clock = time.monotonic

    async def on_request_start(session, ctx, params):
        ctx.record = {"url": str(params.url), "new_connection": None, "started": clock()}
        records.append(ctx.record)

    async def on_connection_create_end(session, ctx, params):
        ctx.record["new_connection"] = True

    async def on_connection_reuseconn(session, ctx, params):
        ctx.record["new_connection"] = False

    async def on_request_end(session, ctx, params):
        ctx.record["seconds"] = clock() - ctx.record.pop("started")

    trace = aiohttp.TraceConfig()
    for signal, handler in [(trace.on_request_start, on_request_start),
                            (trace.on_connection_create_end, on_connection_create_end),
                            (trace.on_connection_reuseconn, on_connection_reuseconn),
                            (trace.on_request_end, on_request_end)]:
        signal.append(handler)
    async with aiohttp.ClientSession(headers=HEADERS, timeout=TIMEOUT, trace_configs=[trace]) as session:

        async def fetch(url):
            async with session.get(url) as resp:
                return await resp.text()

        for urls in rounds:
            async with asyncio.TaskGroup() as group:
                for url in urls:
                    group.create_task(fetch(url))
    return records
'''),
    ],
}
