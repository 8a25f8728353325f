"""Lab 04: answers grading must reject (with their hints) and correct alternatives it must accept."""

from lab_answers import Right, Wrong

ANSWERS: dict = {
    1: [
        Wrong("unbounded gather: every request in flight at once (Pitfall X6)", hint="bound them with the limit",
              code='''
async def fetch_all(paths: list[str], limit: int = N_MAX) -> list[dict]:
    async with httpx.AsyncClient(base_url=BASE, headers=HEADERS, timeout=TIMEOUT) as client:
        responses = await asyncio.gather(*(client.get(path) for path in paths))
    return [response.json() for response in responses]
'''),
        Wrong("the seed notes' fetch_with_limit: a semaphore, but a new AsyncClient per request (Pitfall L5)",
              hint="use one AsyncClient for all of them", code='''
async def fetch_all(paths: list[str], limit: int = N_MAX) -> list[dict]:
    semaphore = asyncio.Semaphore(limit)

    async def fetch_with_limit(path: str) -> dict:
        async with semaphore:
            async with httpx.AsyncClient(base_url=BASE, headers=HEADERS, timeout=TIMEOUT) as client:
                response = await client.get(path)
                return response.json()

    return await asyncio.gather(*(fetch_with_limit(path) for path in paths))
'''),
        Wrong("sequential awaits in a loop: bounded, but one at a time", hint="they ran one after another", code='''
async def fetch_all(paths: list[str], limit: int = N_MAX) -> list[dict]:
    async with httpx.AsyncClient(base_url=BASE, headers=HEADERS, timeout=TIMEOUT) as client:
        return [(await client.get(path)).json() for path in paths]
'''),
        Wrong("a semaphore acquired and released before the request", hint="acquiring it and releasing it before the "
              "request bounds nothing", code='''
async def fetch_all(paths: list[str], limit: int = N_MAX) -> list[dict]:
    gate = asyncio.Semaphore(limit)
    async with httpx.AsyncClient(base_url=BASE, headers=HEADERS, timeout=TIMEOUT) as client:

        async def fetch(path: str) -> dict:
            async with gate:
                request = client.build_request("GET", path)
            response = await client.send(request)
            return response.json()

        return await asyncio.gather(*(fetch(path) for path in paths))
'''),
        Wrong("a semaphore created but never used", hint="hold an asyncio.Semaphore(limit) for the whole request",
              code='''
async def fetch_all(paths: list[str], limit: int = N_MAX) -> list[dict]:
    semaphore = asyncio.Semaphore(limit)  # noqa: F841
    async with httpx.AsyncClient(base_url=BASE, headers=HEADERS, timeout=TIMEOUT) as client:
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(client.get(path)) for path in paths]
    return [task.result().json() for task in tasks]
'''),
        Wrong("Limits(max_connections=limit) with TIMEOUT's 2 s pool timeout: slow resources raise PoolTimeout "
              "(caught by the hidden test)", hint="raised PoolTimeout", code='''
async def fetch_all(paths: list[str], limit: int = N_MAX) -> list[dict]:
    limits = httpx.Limits(max_connections=limit)
    async with httpx.AsyncClient(base_url=BASE, headers=HEADERS, timeout=TIMEOUT, limits=limits) as client:
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(client.get(path)) for path in paths]
    return [task.result().json() for task in tasks]
'''),
        Wrong("the bound hard-coded to N_MAX, ignoring limit (caught by the hidden test)",
              hint="bound them with the limit you are given", code='''
async def fetch_all(paths: list[str], limit: int = N_MAX) -> list[dict]:
    gate = asyncio.Semaphore(N_MAX)
    async with httpx.AsyncClient(base_url=BASE, headers=HEADERS, timeout=TIMEOUT) as client:

        async def fetch(path: str) -> dict:
            async with gate:
                return (await client.get(path)).json()

        return await asyncio.gather(*(fetch(path) for path in paths))
'''),
        Wrong("as_completed: bounded and concurrent, but the bodies come back in finishing order",
              hint="in the order of paths", code='''
async def fetch_all(paths: list[str], limit: int = N_MAX) -> list[dict]:
    gate = asyncio.Semaphore(limit)
    async with httpx.AsyncClient(base_url=BASE, headers=HEADERS, timeout=TIMEOUT) as client:

        async def fetch(path: str) -> dict:
            async with gate:
                await asyncio.sleep(0.01 * (len(paths) - paths.index(path)))
                return (await client.get(path)).json()

        return [await done for done in asyncio.as_completed([fetch(path) for path in paths])]
'''),
        Right("Limits(max_connections=limit) with no pool timeout, and gather", code='''
async def fetch_all(paths: list[str], limit: int = N_MAX) -> list[dict]:
    limits = httpx.Limits(max_connections=limit, max_keepalive_connections=limit)
    timeout = httpx.Timeout(5.0, pool=None)  # waiting for a connection is waiting for our own turn
    async with httpx.AsyncClient(base_url=BASE, headers=HEADERS, timeout=timeout, limits=limits) as client:
        responses = await asyncio.gather(*(client.get(path) for path in paths))
    return [response.raise_for_status().json() for response in responses]
'''),
        Right("a fixed crew of `limit` workers taking paths from a queue", code='''
async def fetch_all(paths: list[str], limit: int = N_MAX) -> list[dict]:
    queue: asyncio.Queue[int] = asyncio.Queue()
    for index in range(len(paths)):
        queue.put_nowait(index)
    bodies: list[dict] = [{}] * len(paths)

    async def worker(client: httpx.AsyncClient) -> None:
        while not queue.empty():
            index = queue.get_nowait()
            response = await client.get(paths[index])
            bodies[index] = response.raise_for_status().json()

    async with httpx.AsyncClient(base_url=BASE, headers=HEADERS, timeout=TIMEOUT) as client:
        async with asyncio.TaskGroup() as group:
            for _ in range(min(limit, len(paths))):
                group.create_task(worker(client))
    return bodies
'''),
    ],
    2: [
        Wrong("client.get() and response.content: the whole body in memory", hint="the whole body was in memory",
              code='''
async def download(client: httpx.AsyncClient, url: str, dest: Path) -> int:
    response = (await client.get(url)).raise_for_status()
    body = response.content
    if len(body) != int(response.headers["Content-Length"]):
        raise DownloadError("size mismatch")
    if hashlib.sha256(body).hexdigest() != response.headers["X-Checksum-SHA256"]:
        raise DownloadError("checksum mismatch")
    dest.write_bytes(body)
    return len(body)
'''),
        Wrong("client.stream() with aread(): streamed in name only", hint="Stream it", code='''
async def download(client: httpx.AsyncClient, url: str, dest: Path) -> int:
    async with client.stream("GET", url) as response:
        response.raise_for_status()
        body = await response.aread()
        if len(body) != int(response.headers["Content-Length"]):
            raise DownloadError("size mismatch")
        if hashlib.sha256(body).hexdigest() != response.headers["X-Checksum-SHA256"]:
            raise DownloadError("checksum mismatch")
    dest.write_bytes(body)
    return len(body)
'''),
        Wrong("streamed, but no checksum verification", hint="differs from X-Checksum-SHA256", code='''
async def download(client: httpx.AsyncClient, url: str, dest: Path) -> int:
    received = 0
    async with client.stream("GET", url) as response:
        response.raise_for_status()
        with dest.open("wb") as file:
            async for chunk in response.aiter_bytes():
                file.write(chunk)
                received += len(chunk)
    return received
'''),
        Wrong("digest() compared with the hex header: every download fails", hint="digest() gives bytes", code='''
async def download(client: httpx.AsyncClient, url: str, dest: Path) -> int:
    partial = dest.with_name(dest.name + ".part")
    digest, received = hashlib.sha256(), 0
    try:
        async with client.stream("GET", url) as response:
            response.raise_for_status()
            with partial.open("wb") as file:
                async for chunk in response.aiter_bytes():
                    file.write(chunk)
                    digest.update(chunk)
                    received += len(chunk)
            if received != int(response.headers["Content-Length"]):
                raise DownloadError("size mismatch")
            if digest.digest() != response.headers.get("X-Checksum-SHA256"):
                raise DownloadError("checksum mismatch")
        partial.replace(dest)
    finally:
        partial.unlink(missing_ok=True)
    return received
'''),
        Wrong("Content-Length compared as a string: every download fails", hint="header values are strings", code='''
async def download(client: httpx.AsyncClient, url: str, dest: Path) -> int:
    partial = dest.with_name(dest.name + ".part")
    digest, received = hashlib.sha256(), 0
    try:
        async with client.stream("GET", url) as response:
            response.raise_for_status()
            with partial.open("wb") as file:
                async for chunk in response.aiter_bytes():
                    file.write(chunk)
                    digest.update(chunk)
                    received += len(chunk)
            if received != response.headers.get("Content-Length"):
                raise DownloadError("size mismatch")
            if digest.hexdigest() != response.headers.get("X-Checksum-SHA256"):
                raise DownloadError("checksum mismatch")
        partial.replace(dest)
    finally:
        partial.unlink(missing_ok=True)
    return received
'''),
        Wrong("verifies only when the checksum header is there", hint="a download you cannot verify is not verified",
              code='''
async def download(client: httpx.AsyncClient, url: str, dest: Path) -> int:
    partial = dest.with_name(dest.name + ".part")
    digest, received = hashlib.sha256(), 0
    try:
        async with client.stream("GET", url) as response:
            response.raise_for_status()
            expected = response.headers.get("X-Checksum-SHA256")
            with partial.open("wb") as file:
                async for chunk in response.aiter_bytes():
                    file.write(chunk)
                    digest.update(chunk)
                    received += len(chunk)
        if received != int(response.headers["Content-Length"]):
            raise DownloadError("size mismatch")
        if expected and digest.hexdigest() != expected:
            raise DownloadError("checksum mismatch")
        partial.replace(dest)
    finally:
        partial.unlink(missing_ok=True)
    return received
'''),
        Wrong("writes to dest and raises, leaving the bad file behind", hint="left ['file.bin'] behind", code='''
async def download(client: httpx.AsyncClient, url: str, dest: Path) -> int:
    digest, received = hashlib.sha256(), 0
    async with client.stream("GET", url) as response:
        response.raise_for_status()
        with dest.open("wb") as file:
            async for chunk in response.aiter_bytes():
                file.write(chunk)
                digest.update(chunk)
                received += len(chunk)
        if received != int(response.headers.get("Content-Length", -1)):
            raise DownloadError("size mismatch")
        if digest.hexdigest() != response.headers.get("X-Checksum-SHA256"):
            raise DownloadError("checksum mismatch")
    return received
'''),
        Wrong("asserts instead of raising DownloadError", hint="raise DownloadError, not an assert", code='''
async def download(client: httpx.AsyncClient, url: str, dest: Path) -> int:
    partial = dest.with_name(dest.name + ".part")
    digest, received = hashlib.sha256(), 0
    try:
        async with client.stream("GET", url) as response:
            response.raise_for_status()
            with partial.open("wb") as file:
                async for chunk in response.aiter_bytes():
                    file.write(chunk)
                    digest.update(chunk)
                    received += len(chunk)
        assert received == int(response.headers.get("Content-Length", -1)), "size mismatch"
        assert digest.hexdigest() == response.headers.get("X-Checksum-SHA256"), "checksum mismatch"
        partial.replace(dest)
    finally:
        partial.unlink(missing_ok=True)
    return received
'''),
        Wrong("checksum verified, length never compared (caught by the hidden test)", hint="int(Content-Length)",
              code='''
async def download(client: httpx.AsyncClient, url: str, dest: Path) -> int:
    partial = dest.with_name(dest.name + ".part")
    digest, received = hashlib.sha256(), 0
    try:
        async with client.stream("GET", url) as response:
            response.raise_for_status()
            checksum = response.headers.get("X-Checksum-SHA256")
            if checksum is None or "Content-Length" not in response.headers:
                raise DownloadError("cannot verify")
            with partial.open("wb") as file:
                async for chunk in response.aiter_bytes():
                    file.write(chunk)
                    digest.update(chunk)
                    received += len(chunk)
        if digest.hexdigest() != checksum:
            raise DownloadError("checksum mismatch")
        partial.replace(dest)
    finally:
        partial.unlink(missing_ok=True)
    return received
'''),
        Wrong("cleans up after its own DownloadError only: a broken connection leaves the partial file (hidden test)",
              hint="delete it in a finally: block", code='''
async def download(client: httpx.AsyncClient, url: str, dest: Path) -> int:
    partial = dest.with_name(dest.name + ".part")
    digest, received = hashlib.sha256(), 0
    async with client.stream("GET", url) as response:
        response.raise_for_status()
        length, checksum = response.headers.get("Content-Length"), response.headers.get("X-Checksum-SHA256")
        if length is None or checksum is None:
            raise DownloadError("cannot verify")
        with partial.open("wb") as file:
            async for chunk in response.aiter_bytes():
                file.write(chunk)
                digest.update(chunk)
                received += len(chunk)
    if received != int(length) or digest.hexdigest() != checksum:
        partial.unlink()
        raise DownloadError("mismatch")
    partial.replace(dest)
    return received
'''),
        Wrong("writes straight to dest and deletes it on failure: dest holds half a file meanwhile (hidden test)",
              hint="dest already existed", code='''
async def download(client: httpx.AsyncClient, url: str, dest: Path) -> int:
    digest, received = hashlib.sha256(), 0
    try:
        async with client.stream("GET", url) as response:
            response.raise_for_status()
            length, checksum = response.headers.get("Content-Length"), response.headers.get("X-Checksum-SHA256")
            if length is None or checksum is None:
                raise DownloadError("cannot verify")
            with dest.open("wb") as file:
                async for chunk in response.aiter_bytes():
                    file.write(chunk)
                    digest.update(chunk)
                    received += len(chunk)
        if received != int(length) or digest.hexdigest() != checksum:
            raise DownloadError("mismatch")
    except BaseException:
        dest.unlink(missing_ok=True)
        raise
    return received
'''),
        Right("client.send(stream=True), aiter_raw, a NamedTemporaryFile next to dest and os.replace", code='''
import os


async def download(client: httpx.AsyncClient, url: str, dest: Path) -> int:
    response = await client.send(client.build_request("GET", url), stream=True)
    try:
        response.raise_for_status()
        if "Content-Length" not in response.headers or "X-Checksum-SHA256" not in response.headers:
            raise DownloadError("the response cannot be verified")
        digest, received = hashlib.sha256(), 0
        with tempfile.NamedTemporaryFile(dir=dest.parent, delete=False) as file:
            try:
                async for chunk in response.aiter_raw(chunk_size=256 * 1024):
                    file.write(chunk)
                    digest.update(chunk)
                    received += len(chunk)
            except BaseException:
                file.close()
                os.unlink(file.name)
                raise
        if received != int(response.headers["Content-Length"]) or \\
                digest.hexdigest() != response.headers["X-Checksum-SHA256"].lower():
            os.unlink(file.name)
            raise DownloadError("the download does not match its headers")
        os.replace(file.name, dest)
        return received
    finally:
        await response.aclose()
'''),
        Right("headers checked before anything is written, the hash compared with hmac.compare_digest", code='''
import hmac


async def download(client: httpx.AsyncClient, url: str, dest: Path) -> int:
    async with client.stream("GET", url) as response:
        response.raise_for_status()
        try:
            expected_size = int(response.headers["Content-Length"])
            expected_sha = response.headers["X-Checksum-SHA256"]
        except KeyError as missing:
            raise DownloadError(f"no {missing} header") from None
        temporary = dest.parent / f".{dest.name}.download"
        try:
            sha, size = hashlib.sha256(), 0
            with open(temporary, "wb") as out:
                async for chunk in response.aiter_bytes(65536):
                    out.write(chunk)
                    sha.update(chunk)
                    size += len(chunk)
            if size != expected_size:
                raise DownloadError(f"{size} bytes, {expected_size} promised")
            if not hmac.compare_digest(sha.hexdigest(), expected_sha):
                raise DownloadError("checksum mismatch")
            temporary.rename(dest)
            return size
        finally:
            temporary.unlink(missing_ok=True)
'''),
    ],
    3: [
        Wrong("a plain def hook on an AsyncClient", hint="define log_and_raise with async def", code='''
def log_and_raise(response: httpx.Response) -> None:
    LOG.info("%s %s -> %d", response.request.method, response.request.url, response.status_code)
    if response.is_error:
        response.read()
        response.raise_for_status()


def make_client() -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=BASE, headers=HEADERS, timeout=TIMEOUT, follow_redirects=True,
                             event_hooks={"response": [log_and_raise]})
'''),
        Wrong("logs, never raises", hint="instead of raising", code='''
async def log_and_raise(response: httpx.Response) -> None:
    LOG.info("%s %s -> %d", response.request.method, response.request.url, response.status_code)


def make_client() -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=BASE, headers=HEADERS, timeout=TIMEOUT, follow_redirects=True,
                             event_hooks={"response": [log_and_raise]})
'''),
        Wrong("raise_for_status() on every response: the redirect's 302 raises (Pitfall X4)",
              hint="raise only for 4xx and 5xx", code='''
async def log_and_raise(response: httpx.Response) -> None:
    LOG.info("%s %s -> %d", response.request.method, response.request.url, response.status_code)
    await response.aread()
    response.raise_for_status()


def make_client() -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=BASE, headers=HEADERS, timeout=TIMEOUT, follow_redirects=True,
                             event_hooks={"response": [log_and_raise]})
'''),
        Wrong("registered as a request hook", hint="Register it as a response hook", code='''
async def log_and_raise(response: httpx.Response) -> None:
    LOG.info("%s %s -> %d", response.request.method, response.request.url, response.status_code)
    if response.is_error:
        await response.aread()
        response.raise_for_status()


def make_client() -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=BASE, headers=HEADERS, timeout=TIMEOUT, follow_redirects=True,
                             event_hooks={"request": [log_and_raise]})
'''),
        Wrong("the httpx docs' raise hook without aread(): the caller cannot read the error body",
              hint="await response.aread() in the hook before raise_for_status()", code='''
async def log_and_raise(response: httpx.Response) -> None:
    LOG.info("%s %s -> %d", response.request.method, response.request.url, response.status_code)
    if response.is_error:
        response.raise_for_status()


def make_client() -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=BASE, headers=HEADERS, timeout=TIMEOUT, follow_redirects=True,
                             event_hooks={"response": [log_and_raise]})
'''),
        Wrong("logs the error body without reading it first", hint="await response.aread() first", code='''
async def log_and_raise(response: httpx.Response) -> None:
    LOG.info("%s %s -> %d", response.request.method, response.request.url, response.status_code)
    if response.is_error:
        LOG.info("error body: %s", response.text)
        response.raise_for_status()


def make_client() -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=BASE, headers=HEADERS, timeout=TIMEOUT, follow_redirects=True,
                             event_hooks={"response": [log_and_raise]})
'''),
        Wrong("no follow_redirects: httpx returns the 302 (Pitfall X4)", hint="follow_redirects=True", code='''
async def log_and_raise(response: httpx.Response) -> None:
    LOG.info("%s %s -> %d", response.request.method, response.request.url, response.status_code)
    if response.is_error:
        await response.aread()
        response.raise_for_status()


def make_client() -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=BASE, headers=HEADERS, timeout=TIMEOUT, event_hooks={"response": [log_and_raise]})
'''),
        Wrong("print() instead of the logger", hint="LOG received nothing", code='''
async def log_and_raise(response: httpx.Response) -> None:
    print(f"{response.request.method} {response.request.url} -> {response.status_code}")
    if response.is_error:
        await response.aread()
        response.raise_for_status()


def make_client() -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=BASE, headers=HEADERS, timeout=TIMEOUT, follow_redirects=True,
                             event_hooks={"response": [log_and_raise]})
'''),
        Wrong("only the path in the log line", hint="full URL", code='''
async def log_and_raise(response: httpx.Response) -> None:
    LOG.info("%s %s -> %d", response.request.method, response.url.path, response.status_code)
    if response.is_error:
        await response.aread()
        response.raise_for_status()


def make_client() -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=BASE, headers=HEADERS, timeout=TIMEOUT, follow_redirects=True,
                             event_hooks={"response": [log_and_raise]})
'''),
        Wrong("always logs GET (caught by the hidden test)", hint="log the request's own method", code='''
async def log_and_raise(response: httpx.Response) -> None:
    LOG.info("GET %s -> %d", response.url, response.status_code)
    if response.is_error:
        await response.aread()
        response.raise_for_status()


def make_client() -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=BASE, headers=HEADERS, timeout=TIMEOUT, follow_redirects=True,
                             event_hooks={"response": [log_and_raise]})
'''),
        Right("a status range test and an HTTPStatusError of its own, hooks added after construction", code='''
async def log_and_raise(response: httpx.Response) -> None:
    LOG.info(f"{response.request.method} {response.url} -> {response.status_code}")
    if 400 <= response.status_code < 600:
        await response.aread()
        raise httpx.HTTPStatusError(f"{response.status_code} for {response.url}", request=response.request,
                                    response=response)


def make_client() -> httpx.AsyncClient:
    client = httpx.AsyncClient(base_url=BASE, headers=HEADERS, timeout=TIMEOUT, follow_redirects=True)
    client.event_hooks["response"].append(log_and_raise)
    return client
'''),
        Right("two hooks: one logs, one raises", code='''
async def log_response(response: httpx.Response) -> None:
    request = response.request
    LOG.info("%s %s -> %s", request.method, request.url, response.status_code)


async def log_and_raise(response: httpx.Response) -> None:
    await log_response(response)
    if response.is_client_error or response.is_server_error:
        await response.aread()
        response.raise_for_status()


def make_client() -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=BASE, headers=HEADERS, timeout=TIMEOUT, follow_redirects=True,
                             event_hooks={"request": [], "response": [log_and_raise]})
'''),
    ],
}

ANSWERS[4] = [
    Wrong("verify=False: HTTP/2 works, and any certificate is accepted", hint="never verify=False", code='''
def make_h2_client(base_url: str = TLS_BASE) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=base_url, headers=HEADERS, timeout=TIMEOUT, http2=True, verify=False)


async def fetch_all_h2(paths: list[str]) -> list[dict]:
    async with make_h2_client() as client:
        responses = await asyncio.gather(*(client.get(path) for path in paths))
    return [response.json() for response in responses]
'''),
    Wrong("http2 never enabled: the course CA, but HTTP/1.1", hint="enable HTTP/2 with http2=True", code='''
def make_h2_client(base_url: str = TLS_BASE) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=base_url, headers=HEADERS, timeout=TIMEOUT,
                             verify=ssl.create_default_context(cafile=ca_path()))


async def fetch_all_h2(paths: list[str]) -> list[dict]:
    async with make_h2_client() as client:
        responses = await asyncio.gather(*(client.get(path) for path in paths))
    return [response.json() for response in responses]
'''),
    Wrong("http2=True on the plain http:// port: stays HTTP/1.1 (Pitfall X3)", hint="connect to the HTTPS port",
          code='''
def make_h2_client(base_url: str = TLS_BASE) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=BASE, headers=HEADERS, timeout=TIMEOUT, http2=True,
                             verify=ssl.create_default_context(cafile=ca_path()))


async def fetch_all_h2(paths: list[str]) -> list[dict]:
    async with make_h2_client() as client:
        responses = await asyncio.gather(*(client.get(path) for path in paths))
    return [response.json() for response in responses]
'''),
    Wrong("h2c with prior knowledge on the plain port: HTTP/2, but no TLS", hint="cleartext h2c, not TLS", code='''
def make_h2_client(base_url: str = TLS_BASE) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=BASE, headers=HEADERS, timeout=TIMEOUT, http1=False, http2=True)


async def fetch_all_h2(paths: list[str]) -> list[dict]:
    async with make_h2_client() as client:
        responses = await asyncio.gather(*(client.get(path) for path in paths))
    return [response.json() for response in responses]
'''),
    Wrong("a new client per request: HTTP/2, but a connection each", hint="use one make_h2_client() for all of them",
          code='''
def make_h2_client(base_url: str = TLS_BASE) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=base_url, headers=HEADERS, timeout=TIMEOUT, http2=True,
                             verify=ssl.create_default_context(cafile=ca_path()))


async def fetch_all_h2(paths: list[str]) -> list[dict]:
    async def fetch(path: str) -> dict:
        async with make_h2_client() as client:
            return (await client.get(path)).json()

    return await asyncio.gather(*(fetch(path) for path in paths))
'''),
    Wrong("one request after another: one connection, one stream at a time", hint="not one after another", code='''
def make_h2_client(base_url: str = TLS_BASE) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=base_url, headers=HEADERS, timeout=TIMEOUT, http2=True,
                             verify=ssl.create_default_context(cafile=ca_path()))


async def fetch_all_h2(paths: list[str]) -> list[dict]:
    async with make_h2_client() as client:
        return [(await client.get(path)).json() for path in paths]
'''),
    Wrong("verify= with the CA's path as a string (deprecated in httpx 0.28, Pitfall X7)", hint="Pitfall X7", code='''
def make_h2_client(base_url: str = TLS_BASE) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=base_url, headers=HEADERS, timeout=TIMEOUT, http2=True, verify=str(ca_path()))


async def fetch_all_h2(paths: list[str]) -> list[dict]:
    async with make_h2_client() as client:
        responses = await asyncio.gather(*(client.get(path) for path in paths))
    return [response.json() for response in responses]
'''),
    Wrong("a retrying transport= beside the client's http2= and verify=, which it then ignores (Pitfall X2)",
          hint="give them to the transport", code='''
def make_h2_client(base_url: str = TLS_BASE) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=base_url, headers=HEADERS, timeout=TIMEOUT, http2=True,
                             verify=ssl.create_default_context(cafile=ca_path()),
                             transport=httpx.AsyncHTTPTransport(retries=2))


async def fetch_all_h2(paths: list[str]) -> list[dict]:
    async with make_h2_client() as client:
        responses = await asyncio.gather(*(client.get(path) for path in paths))
    return [response.json() for response in responses]
'''),
    Wrong("the default verify=True: the system's CAs do not know the course's", hint="trust the course's CA", code='''
def make_h2_client(base_url: str = TLS_BASE) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=base_url, headers=HEADERS, timeout=TIMEOUT, http2=True)


async def fetch_all_h2(paths: list[str]) -> list[dict]:
    async with make_h2_client() as client:
        responses = await asyncio.gather(*(client.get(path) for path in paths))
    return [response.json() for response in responses]
'''),
    Wrong("a context that checks nothing (CERT_NONE): verify=False by another name", hint="never verify=False",
          code='''
def make_h2_client(base_url: str = TLS_BASE) -> httpx.AsyncClient:
    context = ssl.create_default_context(cafile=ca_path())
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return httpx.AsyncClient(base_url=base_url, headers=HEADERS, timeout=TIMEOUT, http2=True, verify=context)


async def fetch_all_h2(paths: list[str]) -> list[dict]:
    async with make_h2_client() as client:
        responses = await asyncio.gather(*(client.get(path) for path in paths))
    return [response.json() for response in responses]
'''),
    Wrong("base_url ignored: always the course's HTTPS port", hint="connect to the base_url you are given", code='''
def make_h2_client(base_url: str = TLS_BASE) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=TLS_BASE, headers=HEADERS, timeout=TIMEOUT, http2=True,
                             verify=ssl.create_default_context(cafile=ca_path()))


async def fetch_all_h2(paths: list[str]) -> list[dict]:
    async with make_h2_client() as client:
        responses = await asyncio.gather(*(client.get(path) for path in paths))
    return [response.json() for response in responses]
'''),
    Right("X2 done right: http2= and verify= on a retrying transport; HTTP/2 only (http1=False)", code='''
def make_h2_client(base_url: str = TLS_BASE) -> httpx.AsyncClient:
    transport = httpx.AsyncHTTPTransport(http1=False, http2=True, retries=2,
                                         verify=ssl.create_default_context(cafile=ca_path()))
    return httpx.AsyncClient(base_url=base_url, headers=HEADERS, timeout=TIMEOUT, transport=transport)


async def fetch_all_h2(paths: list[str]) -> list[dict]:
    async with make_h2_client() as client:
        responses = await asyncio.gather(*(client.get(path) for path in paths))
    return [response.raise_for_status().json() for response in responses]
'''),
    Right("the system's CAs plus the course's, and a semaphore well above the request count", code='''
def make_h2_client(base_url: str = TLS_BASE) -> httpx.AsyncClient:
    context = ssl.create_default_context()
    context.load_verify_locations(cafile=ca_path())
    return httpx.AsyncClient(base_url=base_url, headers=HEADERS, timeout=TIMEOUT, http2=True, verify=context)


async def fetch_all_h2(paths: list[str]) -> list[dict]:
    gate = asyncio.Semaphore(50)
    async with make_h2_client() as client:

        async def fetch(path: str) -> dict:
            async with gate:
                response = await client.get(path)
            return response.json()

        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(fetch(path)) for path in paths]
    return [task.result() for task in tasks]
'''),
]
