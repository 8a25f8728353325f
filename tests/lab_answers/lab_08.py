"""Lab 08: answers grading must reject (with their hints) and correct alternatives it must accept."""

from lab_answers import Right, Wrong

# The reference's opening lines, shared by the hand-written answers below that differ elsewhere.
FIELDS = '''
    fields = {name.lower(): value for name, value in headers.items()}
    msg_id, timestamp, signatures = (fields.get(name) for name in
                                     ("webhook-id", "webhook-timestamp", "webhook-signature"))
    if not (msg_id and timestamp and signatures):
        return False
    if not (timestamp.isascii() and timestamp.isdigit()):
        return False
    if abs((time.time() if now is None else now) - int(timestamp)) > tolerance:
        return False
    key = base64.b64decode(secret.removeprefix("whsec_"))
    content = f"{msg_id}.{timestamp}.".encode() + body'''

SIGNATURE = ("def verify_signature(secret: str, headers: Mapping[str, str], body: bytes, *, now: float | None = None,\n"
             "                     tolerance: float = 300) -> bool:")


def verify(body: str) -> str:
    """An answer cell: verify_signature with the reference's opening lines, then `body`."""
    return f"{SIGNATURE}{FIELDS}\n{body.strip(chr(10))}\n"


def receiver(*, seen: str, skip: str, mark: str) -> str:
    """An exercise 2 answer like the reference, with another dedupe: `seen` sets it up, `skip` answers a copy,
    `mark` records a message once handled."""
    return f'''
def make_receiver(secret: str, handle: Callable[[dict], None]) -> FastAPI:
    app = FastAPI()
{seen}

    @app.post("/webhook")
    async def receive(request: Request) -> Response:
        body = await request.body()
        if not verify_signature(secret, request.headers, body):
            return JSONResponse({{"error": "invalid_signature"}}, status_code=401){skip}
        try:
            handle(json.loads(body))
        except Exception:
            return JSONResponse({{"error": "processing_failed"}}, status_code=503)
{mark}
        return JSONResponse({{"status": "processed"}})

    return app
'''


def fast(*, shutdown: str = "        await queue.join()\n        worker.cancel()", status: str = "202",
         verify: bool = True) -> str:
    """An exercise 3 answer like the reference, with another shutdown, answer status, or no signature check."""
    check = ('''
        if not verify_signature(secret, request.headers, body):
            return JSONResponse({"error": "invalid_signature"}, status_code=401)''' if verify else "")
    return f'''
def make_fast_receiver(secret: str, handle: Callable[[dict], Awaitable[None]]) -> FastAPI:
    accepted: set[str] = set()
    queue: asyncio.Queue | None = None

    async def work() -> None:
        while True:
            event = await queue.get()
            try:
                await handle(event)
            finally:
                queue.task_done()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI):
        nonlocal queue
        queue = asyncio.Queue()
        worker = asyncio.create_task(work())
        yield
{shutdown}

    app = FastAPI(lifespan=lifespan)

    @app.post("/webhook")
    async def receive(request: Request) -> Response:
        body = await request.body(){check}
        message_id = request.headers.get("webhook-id")
        if message_id not in accepted:
            accepted.add(message_id)
            queue.put_nowait(json.loads(body))
        return JSONResponse({{"status": "accepted"}}, status_code={status})

    return app
'''


ANSWERS: dict = {
    1: [
        Wrong("hmac.compare_digest on str header values: TypeError on a non-ASCII signature (Pitfall W2)",
              hint="compare bytes: hmac.compare_digest(expected, signature.encode())", code=verify('''
    expected = base64.b64encode(hmac.new(key, content, hashlib.sha256).digest()).decode()
    for candidate in signatures.split(" "):
        version, _, signature = candidate.partition(",")
        if version == "v1" and hmac.compare_digest(expected, signature):
            return True
    return False
''')),
        Wrong("the re-serialised JSON signed instead of the raw body (Pitfall W8)",
              hint="sign the raw body, the bytes as they arrived", code=verify('''
    content = f"{msg_id}.{timestamp}.".encode() + json.dumps(json.loads(body)).encode()
    expected = base64.b64encode(hmac.new(key, content, hashlib.sha256).digest())
    for candidate in signatures.split(" "):
        version, _, signature = candidate.partition(",")
        if version == "v1" and hmac.compare_digest(expected, signature.encode()):
            return True
    return False
''')),
        Wrong("no timestamp check: a 10-minute-old delivery (a replay) is accepted (Pitfall W3)",
              hint="refuse a timestamp more than tolerance seconds before now", code='''
def verify_signature(secret: str, headers: Mapping[str, str], body: bytes, *, now: float | None = None,
                     tolerance: float = 300) -> bool:
    fields = {name.lower(): value for name, value in headers.items()}
    msg_id, timestamp, signatures = (fields.get(name) for name in
                                     ("webhook-id", "webhook-timestamp", "webhook-signature"))
    if not (msg_id and timestamp and signatures):
        return False
    key = base64.b64decode(secret.removeprefix("whsec_"))
    expected = base64.b64encode(hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest())
    for candidate in signatures.split(" "):
        version, _, signature = candidate.partition(",")
        if version == "v1" and hmac.compare_digest(expected, signature.encode()):
            return True
    return False
'''),
        Wrong("only the first signature of the list checked", hint="accept the delivery when any v1 signature matches, "
              "not only the first", code=verify('''
    expected = base64.b64encode(hmac.new(key, content, hashlib.sha256).digest())
    version, _, signature = signatures.split(" ")[0].partition(",")
    return version == "v1" and hmac.compare_digest(expected, signature.encode())
''')),
        Wrong("split(',') into two names: ValueError on a signature with no comma", hint="split each signature on its "
              "first comma with version, _, signature = candidate.partition(',')", code=verify('''
    expected = base64.b64encode(hmac.new(key, content, hashlib.sha256).digest())
    for candidate in signatures.split(" "):
        version, signature = candidate.split(",")
        if version == "v1" and hmac.compare_digest(expected, signature.encode()):
            return True
    return False
''')),
        Wrong("the HMAC compared in hex, as GitHub's sha256= header is", hint="the signature after 'v1,' is base64",
              code=verify('''
    expected = hmac.new(key, content, hashlib.sha256).hexdigest().encode()
    for candidate in signatures.split(" "):
        version, _, signature = candidate.partition(",")
        if version == "v1" and hmac.compare_digest(expected, signature.encode()):
            return True
    return False
''')),
        Wrong("standardwebhooks catching only WebhookVerificationError: its ValueError escapes (Pitfall W10)",
              hint="raised ValueError", code='''
def verify_signature(secret: str, headers: Mapping[str, str], body: bytes, *, now: float | None = None,
                     tolerance: float = 300) -> bool:
    try:
        Webhook(secret).verify(body, dict(headers))
    except WebhookVerificationError:
        return False
    return True
'''),
        Wrong("the secret's text used as the HMAC key", hint="the HMAC key is the secret's decoded bytes", code='''
def verify_signature(secret: str, headers: Mapping[str, str], body: bytes, *, now: float | None = None,
                     tolerance: float = 300) -> bool:
    fields = {name.lower(): value for name, value in headers.items()}
    msg_id, timestamp, signatures = (fields.get(name) for name in
                                     ("webhook-id", "webhook-timestamp", "webhook-signature"))
    if not (msg_id and timestamp and signatures) or not timestamp.isdigit():
        return False
    if abs((time.time() if now is None else now) - int(timestamp)) > tolerance:
        return False
    digest = hmac.new(secret.encode(), f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    expected = base64.b64encode(digest)
    return any(hmac.compare_digest(expected, candidate.partition(",")[2].encode())
               for candidate in signatures.split(" ") if candidate.startswith("v1,"))
'''),
        Wrong("header names looked up as written: the capitalised Webhook-Id is missed",
              hint="header names are case-insensitive", code='''
def verify_signature(secret: str, headers: Mapping[str, str], body: bytes, *, now: float | None = None,
                     tolerance: float = 300) -> bool:
    msg_id, timestamp, signatures = (headers.get(name) for name in
                                     ("webhook-id", "webhook-timestamp", "webhook-signature"))
    if not (msg_id and timestamp and signatures) or not (timestamp.isascii() and timestamp.isdigit()):
        return False
    if abs((time.time() if now is None else now) - int(timestamp)) > tolerance:
        return False
    key = base64.b64decode(secret.removeprefix("whsec_"))
    expected = base64.b64encode(hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest())
    return any(version == "v1" and hmac.compare_digest(expected, signature.encode())
               for version, _, signature in (candidate.partition(",") for candidate in signatures.split(" ")))
'''),
        Wrong("the version ignored: the right HMAC labelled v2 is accepted", hint="only v1 signatures count",
              code=verify('''
    expected = base64.b64encode(hmac.new(key, content, hashlib.sha256).digest())
    for candidate in signatures.split(" "):
        _, _, signature = candidate.partition(",")
        if hmac.compare_digest(expected, signature.encode()):
            return True
    return False
''')),
        Wrong("int(timestamp) unguarded: ValueError on a timestamp that is not a number",
              hint="check timestamp.isascii() and timestamp.isdigit() before int(timestamp)", code='''
def verify_signature(secret: str, headers: Mapping[str, str], body: bytes, *, now: float | None = None,
                     tolerance: float = 300) -> bool:
    fields = {name.lower(): value for name, value in headers.items()}
    msg_id, timestamp, signatures = (fields.get(name) for name in
                                     ("webhook-id", "webhook-timestamp", "webhook-signature"))
    if not (msg_id and timestamp and signatures):
        return False
    if abs((time.time() if now is None else now) - int(timestamp)) > tolerance:
        return False
    key = base64.b64decode(secret.removeprefix("whsec_"))
    expected = base64.b64encode(hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest())
    for candidate in signatures.split(" "):
        version, _, signature = candidate.partition(",")
        if version == "v1" and hmac.compare_digest(expected, signature.encode()):
            return True
    return False
'''),
        Wrong("the clock read with time.time() whatever now says (caught by the hidden test)",
              hint="measure the timestamp's age from now, the argument", code='''
def verify_signature(secret: str, headers: Mapping[str, str], body: bytes, *, now: float | None = None,
                     tolerance: float = 300) -> bool:
    fields = {name.lower(): value for name, value in headers.items()}
    msg_id, timestamp, signatures = (fields.get(name) for name in
                                     ("webhook-id", "webhook-timestamp", "webhook-signature"))
    if not (msg_id and timestamp and signatures) or not (timestamp.isascii() and timestamp.isdigit()):
        return False
    if abs(time.time() - int(timestamp)) > tolerance:
        return False
    key = base64.b64decode(secret.removeprefix("whsec_"))
    expected = base64.b64encode(hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest())
    return any(version == "v1" and hmac.compare_digest(expected, signature.encode())
               for version, _, signature in (candidate.partition(",") for candidate in signatures.split(" ")))
'''),
        Wrong("the tolerance hard-coded to 5 minutes (caught by the hidden test)",
              hint="use the tolerance you are given", code='''
def verify_signature(secret: str, headers: Mapping[str, str], body: bytes, *, now: float | None = None,
                     tolerance: float = 300) -> bool:
    fields = {name.lower(): value for name, value in headers.items()}
    msg_id, timestamp, signatures = (fields.get(name) for name in
                                     ("webhook-id", "webhook-timestamp", "webhook-signature"))
    if not (msg_id and timestamp and signatures) or not (timestamp.isascii() and timestamp.isdigit()):
        return False
    if abs((time.time() if now is None else now) - int(timestamp)) > 300:
        return False
    key = base64.b64decode(secret.removeprefix("whsec_"))
    expected = base64.b64encode(hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest())
    return any(version == "v1" and hmac.compare_digest(expected, signature.encode())
               for version, _, signature in (candidate.partition(",") for candidate in signatures.split(" ")))
'''),
        Right("standardwebhooks' Webhook.verify, both its exceptions caught, the timestamp checked against now first",
              code='''
def verify_signature(secret: str, headers: Mapping[str, str], body: bytes, *, now: float | None = None,
                     tolerance: float = 300) -> bool:
    timestamp = {name.lower(): value for name, value in headers.items()}.get("webhook-timestamp", "")
    if not (timestamp.isascii() and timestamp.isdigit()):
        return False
    if abs((time.time() if now is None else now) - int(timestamp)) > tolerance:
        return False
    try:
        Webhook(secret).verify(body, dict(headers), json_parse=False)
    except (WebhookVerificationError, ValueError):  # ValueError: Pitfall W10
        return False
    return True
'''),
        Right("each signature decoded from base64 (binascii.Error caught) and compared with the raw digest", code='''
def verify_signature(secret: str, headers: Mapping[str, str], body: bytes, *, now: float | None = None,
                     tolerance: float = 300) -> bool:
    import re

    lower = {name.lower(): value for name, value in headers.items()}
    try:
        msg_id, timestamp, signatures = lower["webhook-id"], lower["webhook-timestamp"], lower["webhook-signature"]
    except KeyError:
        return False
    if not re.fullmatch(r"[0-9]+", timestamp):
        return False
    clock = time.time() if now is None else now
    if not clock - tolerance <= int(timestamp) <= clock + tolerance:
        return False
    secret_bytes = base64.b64decode(secret[len("whsec_"):] if secret.startswith("whsec_") else secret)
    digest = hmac.new(secret_bytes, msg_id.encode() + b"." + timestamp.encode() + b"." + body, hashlib.sha256).digest()
    for candidate in signatures.split():
        if not candidate.startswith("v1,"):
            continue
        try:
            sent = base64.b64decode(candidate[3:], validate=True)
        except (binascii.Error, ValueError):
            continue
        if hmac.compare_digest(digest, sent):
            return True
    return False
'''),
    ],
    2: [
        Wrong("no dedupe: every verified copy processed (Pitfall W3)",
              hint="your receiver processed msg_direct_1 twice", code='''
def make_receiver(secret: str, handle: Callable[[dict], None]) -> FastAPI:
    app = FastAPI()

    @app.post("/webhook")
    async def receive(request: Request) -> Response:
        body = await request.body()
        if not verify_signature(secret, request.headers, body):
            return JSONResponse({"error": "invalid_signature"}, status_code=401)
        try:
            handle(json.loads(body))
        except Exception:
            return JSONResponse({"error": "processing_failed"}, status_code=503)
        return JSONResponse({"status": "processed"})

    return app
'''),
        Wrong("dedupe by a hash of the body", hint="dedupe by webhook-id, not by the body", code=receiver(
            seen="    seen: set[str] = set()",
            skip='''
        digest = hashlib.sha256(body).hexdigest()
        if digest in seen:
            return JSONResponse({"status": "duplicate"})''',
            mark="        seen.add(digest)")),
        Wrong("dedupe by the webhook-signature header, which a redelivery signs afresh",
              hint="a redelivery carries the same webhook-id with a new timestamp and signature", code=receiver(
                  seen="    seen: set[str] = set()",
                  skip='''
        if request.headers["webhook-signature"] in seen:
            return JSONResponse({"status": "duplicate"})''',
                  mark='        seen.add(request.headers["webhook-signature"])')),
        Wrong("a duplicate answered 409 Conflict: the sender retries it", hint="answer 2xx (it is done)",
              code=receiver(seen="    seen: set[str] = set()", skip='''
        if request.headers["webhook-id"] in seen:
            return JSONResponse({"error": "duplicate"}, status_code=409)''',
                            mark='        seen.add(request.headers["webhook-id"])')),
        Wrong("the id marked before handle runs: an event whose first handling failed is never processed",
              hint="Add the id to your set only after handle returns", code='''
def make_receiver(secret: str, handle: Callable[[dict], None]) -> FastAPI:
    app = FastAPI()
    seen: set[str] = set()

    @app.post("/webhook")
    async def receive(request: Request) -> Response:
        body = await request.body()
        if not verify_signature(secret, request.headers, body):
            return JSONResponse({"error": "invalid_signature"}, status_code=401)
        if request.headers["webhook-id"] in seen:
            return JSONResponse({"status": "duplicate"})
        seen.add(request.headers["webhook-id"])
        try:
            handle(json.loads(body))
        except Exception:
            return JSONResponse({"error": "processing_failed"}, status_code=503)
        return JSONResponse({"status": "processed"})

    return app
'''),
        Wrong("a bad signature raised as an exception: a 500", hint="never a 500", code='''
def make_receiver(secret: str, handle: Callable[[dict], None]) -> FastAPI:
    app = FastAPI()
    seen: set[str] = set()

    @app.post("/webhook")
    async def receive(request: Request) -> Response:
        body = await request.body()
        if not verify_signature(secret, request.headers, body):
            raise ValueError("invalid webhook signature")
        if request.headers["webhook-id"] not in seen:
            handle(json.loads(body))
            seen.add(request.headers["webhook-id"])
        return Response(status_code=204)

    return app
'''),
        Wrong("the seed notes' handler: Header(None), compare_digest on str, no replay or duplicate protection "
              "(Pitfalls W1, W2, W3)", hint="your receiver answered 500 to a delivery without webhook headers",
              code='''
from fastapi import Header, HTTPException


def make_receiver(secret: str, handle: Callable[[dict], None]) -> FastAPI:
    app = FastAPI()
    key = base64.b64decode(secret.removeprefix("whsec_"))

    @app.post("/webhook")
    async def receive(request: Request, webhook_id: str = Header(None), webhook_timestamp: str = Header(None),
                      webhook_signature: str = Header(None)):
        body = await request.body()
        digest = hmac.new(key, f"{webhook_id}.{webhook_timestamp}.".encode() + body, hashlib.sha256).digest()
        expected = "v1," + base64.b64encode(digest).decode()
        if not hmac.compare_digest(expected, webhook_signature):
            raise HTTPException(status_code=401, detail="Invalid signature")
        handle(json.loads(body))
        return {"status": "received"}

    return app
'''),
        Wrong("the headers declared as required parameters: FastAPI answers 422 when one is missing",
              hint="FastAPI answers 422 by itself", code='''
from fastapi import Header


def make_receiver(secret: str, handle: Callable[[dict], None]) -> FastAPI:
    app = FastAPI()
    seen: set[str] = set()

    @app.post("/webhook")
    async def receive(request: Request, webhook_id: str = Header(), webhook_timestamp: str = Header(),
                      webhook_signature: str = Header()) -> Response:
        body = await request.body()
        if not verify_signature(secret, request.headers, body):
            return JSONResponse({"error": "invalid_signature"}, status_code=401)
        if webhook_id not in seen:
            handle(json.loads(body))
            seen.add(webhook_id)
        return Response(status_code=204)

    return app
'''),
        Wrong("handle's exception left to escape the route: a 500 and a traceback",
              hint="catch its exception and answer 503", code='''
def make_receiver(secret: str, handle: Callable[[dict], None]) -> FastAPI:
    app = FastAPI()
    seen: set[str] = set()

    @app.post("/webhook")
    async def receive(request: Request) -> Response:
        body = await request.body()
        if not verify_signature(secret, request.headers, body):
            return JSONResponse({"error": "invalid_signature"}, status_code=401)
        if request.headers["webhook-id"] not in seen:
            handle(json.loads(body))
            seen.add(request.headers["webhook-id"])
        return Response(status_code=204)

    return app
'''),
        Wrong("no signature check at all (the seed notes' payment webhook, Pitfall W5)",
              hint="check every delivery with verify_signature", code='''
def make_receiver(secret: str, handle: Callable[[dict], None]) -> FastAPI:
    app = FastAPI()
    seen: set[str] = set()

    @app.post("/webhook")
    async def receive(request: Request) -> Response:
        message_id = request.headers.get("webhook-id")
        if message_id not in seen:
            handle(await request.json())
            seen.add(message_id)
        return Response(status_code=204)

    return app
'''),
        Wrong("the processed ids in a global, shared by every receiver (caught by the hidden test)",
              hint="not in a global that every receiver shares", code='''
PROCESSED: set[str] = set()


def make_receiver(secret: str, handle: Callable[[dict], None]) -> FastAPI:
    app = FastAPI()

    @app.post("/webhook")
    async def receive(request: Request) -> Response:
        body = await request.body()
        if not verify_signature(secret, request.headers, body):
            return JSONResponse({"error": "invalid_signature"}, status_code=401)
        if request.headers["webhook-id"] not in PROCESSED:
            try:
                handle(json.loads(body))
            except Exception:
                return Response(status_code=503)
            PROCESSED.add(request.headers["webhook-id"])
        return Response(status_code=204)

    return app
'''),
        Right("a dict of ids and when they were processed, the id as an optional header parameter, 204 answers",
              code='''
from typing import Annotated

from fastapi import Header


def make_receiver(secret: str, handle: Callable[[dict], None]) -> FastAPI:
    app = FastAPI()
    processed_at: dict[str, float] = {}

    @app.post("/webhook", status_code=204)
    async def receive(request: Request, webhook_id: Annotated[str | None, Header()] = None) -> Response:
        body = await request.body()
        if not verify_signature(secret, request.headers, body):
            return Response(status_code=401)
        if webhook_id in processed_at:
            return Response(status_code=204)
        try:
            handle(json.loads(body))
        except Exception:
            return Response(status_code=503)
        processed_at[webhook_id] = time.monotonic()
        return Response(status_code=204)

    return app
'''),
        Right("standardwebhooks in the route, both its exceptions caught, and an asyncio.Lock", code='''
def make_receiver(secret: str, handle: Callable[[dict], None]) -> FastAPI:
    app = FastAPI()
    webhook = Webhook(secret)
    done: set[str] = set()
    lock = asyncio.Lock()

    @app.post("/webhook")
    async def receive(request: Request) -> Response:
        body = await request.body()
        try:
            event = webhook.verify(body, dict(request.headers))
        except (WebhookVerificationError, ValueError):  # ValueError: Pitfall W10
            return JSONResponse({"error": "invalid_signature"}, status_code=401)
        async with lock:
            if request.headers["webhook-id"] not in done:
                try:
                    handle(event)
                except Exception:
                    return JSONResponse({"error": "try again"}, status_code=503)
                done.add(request.headers["webhook-id"])
        return JSONResponse({"ok": True})

    return app
'''),
    ],
    3: [
        Wrong("handle awaited before answering: the answer waits for the work", hint="it processed the event before "
              "answering", code='''
def make_fast_receiver(secret: str, handle: Callable[[dict], Awaitable[None]]) -> FastAPI:
    app = FastAPI()
    accepted: set[str] = set()

    @app.post("/webhook")
    async def receive(request: Request) -> Response:
        body = await request.body()
        if not verify_signature(secret, request.headers, body):
            return JSONResponse({"error": "invalid_signature"}, status_code=401)
        if request.headers["webhook-id"] not in accepted:
            accepted.add(request.headers["webhook-id"])
            await handle(json.loads(body))
        return JSONResponse({"status": "accepted"}, status_code=202)

    return app
'''),
        Wrong("FastAPI's BackgroundTasks: answered at once, but the events run side by side (Pitfall W6)",
              hint="process them one at a time", code='''
from fastapi import BackgroundTasks


def make_fast_receiver(secret: str, handle: Callable[[dict], Awaitable[None]]) -> FastAPI:
    app = FastAPI()
    accepted: set[str] = set()

    @app.post("/webhook", status_code=202)
    async def receive(request: Request, background: BackgroundTasks) -> Response:
        body = await request.body()
        if not verify_signature(secret, request.headers, body):
            return JSONResponse({"error": "invalid_signature"}, status_code=401)
        if request.headers["webhook-id"] not in accepted:
            accepted.add(request.headers["webhook-id"])
            background.add_task(handle, json.loads(body))
        return Response(status_code=202, background=background)

    return app
'''),
        Wrong("asyncio.create_task per event: side by side, and never awaited", hint="process them one at a time",
              code='''
def make_fast_receiver(secret: str, handle: Callable[[dict], Awaitable[None]]) -> FastAPI:
    app = FastAPI()
    accepted: set[str] = set()
    tasks: set[asyncio.Task] = set()

    @app.post("/webhook")
    async def receive(request: Request) -> Response:
        body = await request.body()
        if not verify_signature(secret, request.headers, body):
            return JSONResponse({"error": "invalid_signature"}, status_code=401)
        if request.headers["webhook-id"] not in accepted:
            accepted.add(request.headers["webhook-id"])
            task = asyncio.create_task(handle(json.loads(body)))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        return JSONResponse({"status": "accepted"}, status_code=202)

    return app
'''),
        Wrong("the worker cancelled at shutdown with events still queued: accepted, answered 202, and lost",
              hint="finish the accepted events (await queue.join()) before you cancel the worker", code=fast(
                  shutdown="        worker.cancel()")),
        Wrong("the ids noted by the worker once handled, and checked by the route: a duplicate that arrives while "
              "the first copy waits in the queue is queued again", hint="accept each webhook-id once, when you queue "
              "its event", code='''
def make_fast_receiver(secret: str, handle: Callable[[dict], Awaitable[None]]) -> FastAPI:
    handled: set[str] = set()
    queue: asyncio.Queue | None = None

    async def work() -> None:
        while True:
            message_id, event = await queue.get()
            try:
                await handle(event)
                handled.add(message_id)
            finally:
                queue.task_done()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI):
        nonlocal queue
        queue = asyncio.Queue()
        worker = asyncio.create_task(work())
        yield
        await queue.join()
        worker.cancel()

    app = FastAPI(lifespan=lifespan)

    @app.post("/webhook")
    async def receive(request: Request) -> Response:
        body = await request.body()
        if not verify_signature(secret, request.headers, body):
            return JSONResponse({"error": "invalid_signature"}, status_code=401)
        if request.headers["webhook-id"] not in handled:
            queue.put_nowait((request.headers["webhook-id"], json.loads(body)))
        return JSONResponse({"status": "accepted"}, status_code=202)

    return app
'''),
        Wrong("answered 200 OK, as if the event had been processed", hint="answer 202 Accepted to each",
              code=fast(status="200")),
        Wrong("no signature check: queued whatever arrives", hint="check every delivery with verify_signature",
              code=fast(verify=False)),
        Right("a deque and an asyncio.Event instead of a Queue, the worker told to stop once it is empty", code='''
import collections


def make_fast_receiver(secret: str, handle: Callable[[dict], Awaitable[None]]) -> FastAPI:
    pending: collections.deque[dict] = collections.deque()
    accepted: set[str] = set()
    state: dict = {}

    async def work() -> None:
        while True:
            while pending:
                try:
                    await handle(pending.popleft())
                except Exception:
                    pass
            if state["stopping"]:
                return
            state["more"].clear()
            await state["more"].wait()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI):
        state.update(more=asyncio.Event(), stopping=False)
        worker = asyncio.create_task(work())
        yield
        state["stopping"] = True
        state["more"].set()
        await worker

    app = FastAPI(lifespan=lifespan)

    @app.post("/webhook", status_code=202)
    async def receive(request: Request) -> Response:
        body = await request.body()
        if not verify_signature(secret, request.headers, body):
            return Response(status_code=401)
        if request.headers["webhook-id"] not in accepted:
            accepted.add(request.headers["webhook-id"])
            pending.append(json.loads(body))
            state["more"].set()
        return Response(status_code=202)

    return app
'''),
        Right("a task per event, serialised by an asyncio.Lock (FIFO), all awaited at shutdown", code='''
def make_fast_receiver(secret: str, handle: Callable[[dict], Awaitable[None]]) -> FastAPI:
    accepted: set[str] = set()
    tasks: list[asyncio.Task] = []
    locks: list[asyncio.Lock] = []

    async def process(event: dict) -> None:
        async with locks[0]:
            await handle(event)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI):
        locks.append(asyncio.Lock())
        yield
        await asyncio.gather(*tasks, return_exceptions=True)

    app = FastAPI(lifespan=lifespan)

    @app.post("/webhook")
    async def receive(request: Request) -> Response:
        body = await request.body()
        if not verify_signature(secret, request.headers, body):
            return JSONResponse({"error": "invalid_signature"}, status_code=401)
        if request.headers["webhook-id"] not in accepted:
            accepted.add(request.headers["webhook-id"])
            tasks.append(asyncio.create_task(process(json.loads(body))))
        return JSONResponse({"status": "accepted"}, status_code=202)

    return app
'''),
    ],
}
