"""Lab 05: answers grading must reject (with their hints) and correct alternatives it must accept.

The answers to exercises 2 to 4 bring their own predicate (TRANSIENT below) instead of exercise 1's is_transient,
so that each row is judged on its own, whatever the row of exercise 1 that runs beside it.
"""

from lab_answers import Right, Wrong

TRANSIENT = '''
def transient(exc: BaseException) -> bool:
    if isinstance(exc, httpx.HTTPStatusError):
        return exc.response.status_code in {408, 429, 500, 502, 503, 504}
    return isinstance(exc, httpx.TransportError)

'''

GET_JSON = '''
def get_json(client: httpx.Client, path: str, params: dict | None = None) -> dict:
    response = client.get(path, params=params)
    response.raise_for_status()
    return response.json()
'''

ANSWERS: dict = {
    1: [
        Wrong("the seed notes' retry of everything (no predicate at all)", hint="they are not network failures",
              code='''
def is_transient(exc: BaseException) -> bool:
    return True
'''),
        Wrong("every httpx.HTTPError: 4xx included", hint="a 4xx means the request itself is wrong", code='''
def is_transient(exc: BaseException) -> bool:
    return isinstance(exc, httpx.HTTPError)
'''),
        Wrong("only 5xx statuses: misses 429 and every transport error",
              hint="HTTPStatusError 429 Too Many Requests (GET /status/429) not transient", code='''
def is_transient(exc: BaseException) -> bool:
    return isinstance(exc, httpx.HTTPStatusError) and exc.response.status_code >= 500
'''),
        Wrong("only a refused connection", hint="ReadTimeout (/delay/1 with a 0.1 s read timeout)", code='''
def is_transient(exc: BaseException) -> bool:
    return isinstance(exc, httpx.ConnectError)
'''),
        Wrong("reads exc.response on every exception", hint="only an httpx.HTTPStatusError has a response", code='''
def is_transient(exc: BaseException) -> bool:
    return exc.response.status_code in {408, 429, 500, 502, 503, 504}
'''),
        Wrong("timeouts and refused connections, but not a server hanging up", hint="RemoteProtocolError", code='''
def is_transient(exc: BaseException) -> bool:
    if isinstance(exc, httpx.HTTPStatusError):
        return exc.response.status_code in {408, 429, 500, 502, 503, 504}
    return isinstance(exc, (httpx.TimeoutException, httpx.ConnectError))
'''),
        Wrong("429 and 5xx, but not 408 (caught by the hidden test)", hint="HTTPStatusError 408 Request Timeout",
              code='''
def is_transient(exc: BaseException) -> bool:
    if isinstance(exc, httpx.HTTPStatusError):
        return exc.response.status_code in {429, 500, 502, 503, 504}
    return isinstance(exc, httpx.TransportError)
'''),
        Wrong("connection errors only, no timeouts (the hidden connect and pool timeouts)",
              hint="ConnectTimeout (a server that never accepts the connection)", code='''
def is_transient(exc: BaseException) -> bool:
    if isinstance(exc, httpx.ReadTimeout):
        return True
    if isinstance(exc, httpx.HTTPStatusError):
        return exc.response.status_code in {408, 429, 500, 502, 503, 504}
    return isinstance(exc, (httpx.NetworkError, httpx.RemoteProtocolError))
'''),
        Right("the transport errors named one by one, and every 5xx", code='''
def is_transient(exc: BaseException) -> bool:
    """A timeout, a network error, a server hanging up; or 408, 429 and 5xx."""
    if isinstance(exc, (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)):
        return True
    if isinstance(exc, httpx.HTTPStatusError):
        code = exc.response.status_code
        return code in (408, 429) or code >= 500
    return False
'''),
        Right("a match statement on the exception's class", code='''
def is_transient(exc: BaseException) -> bool:
    match exc:
        case httpx.HTTPStatusError(response=response):
            return response.status_code in (408, 429, 500, 502, 503, 504)
        case httpx.TransportError():
            return True
        case _:
            return False
'''),
    ],
    2: [
        Wrong("the seed notes' version: stop_after_attempt(3), no predicate, no wait (Pitfall T1)",
              hint="make up to 5 attempts in all", code='''
@retry(stop=stop_after_attempt(3))
''' + GET_JSON),
        Wrong("no wait: retries back to back", hint="come back to back", code=TRANSIENT + '''
@retry(retry=retry_if_exception(transient), stop=stop_after_attempt(5), reraise=True)
''' + GET_JSON),
        Wrong("wait_exponential: backoff without jitter (Pitfall T4)", hint="a fixed schedule", code=TRANSIENT + '''
@retry(retry=retry_if_exception(transient), wait=tenacity.wait_exponential(multiplier=0.05, max=0.5),
       stop=stop_after_attempt(5), reraise=True)
''' + GET_JSON),
        Wrong("waits of whole seconds, as in production", hint="keep the waits", code=TRANSIENT + '''
@retry(retry=retry_if_exception(transient), wait=wait_random_exponential(multiplier=1, max=60),
       stop=stop_after_attempt(5), reraise=True)
''' + GET_JSON),
        Wrong("stop_after_attempt(3): three attempts, not enough for three failures",
              hint="stop=stop_after_attempt(5) (5 attempts are 4 retries)", code=TRANSIENT + '''
@retry(retry=retry_if_exception(transient), wait=wait_random_exponential(multiplier=0.05, max=0.5),
       stop=stop_after_attempt(3), reraise=True)
''' + GET_JSON),
        Wrong("no stop: retries forever (caught by the hidden test)", hint="give it a stop", code=TRANSIENT + '''
@retry(retry=retry_if_exception(transient), wait=wait_random_exponential(multiplier=0.05, max=0.5), reraise=True)
''' + GET_JSON),
        Wrong("every httpx.HTTPError retried, a 404 too (caught by the hidden test)", hint="sent /status/404 5 times",
              code='''
@retry(retry=tenacity.retry_if_exception_type(httpx.HTTPError), wait=wait_random_exponential(multiplier=0.05, max=0.5),
       stop=stop_after_attempt(5), reraise=True)
''' + GET_JSON),
        Wrong("no reraise: the caller gets RetryError (Pitfall T2, hidden test)", hint="reraise=True", code=TRANSIENT + '''
@retry(retry=retry_if_exception(transient), wait=wait_random_exponential(multiplier=0.05, max=0.5),
       stop=stop_after_attempt(5))
''' + GET_JSON),
        Wrong("status errors only: a refused connection is not retried (hidden test)",
              hint="a transport error (httpx.ConnectError) is transient too", code='''
def status_transient(exc: BaseException) -> bool:
    return isinstance(exc, httpx.HTTPStatusError) and exc.response.status_code in {408, 429, 500, 502, 503, 504}


@retry(retry=retry_if_exception(status_transient), wait=wait_random_exponential(multiplier=0.05, max=0.5),
       stop=stop_after_attempt(5), reraise=True)
''' + GET_JSON),
        Right("the Retrying iterator with wait_exponential_jitter", code=TRANSIENT + '''
def get_json(client: httpx.Client, path: str, params: dict | None = None) -> dict:
    """GET path, up to 5 attempts with jittered exponential waits."""
    for attempt in Retrying(
        retry=retry_if_exception(transient),
        wait=tenacity.wait_exponential_jitter(multiplier=0.05, max=0.5, jitter=0.05),
        stop=stop_after_attempt(5),
        reraise=True,
    ):
        with attempt:
            response = client.get(path, params=params).raise_for_status()
    return response.json()
'''),
        Right("stamina, the opinionated alternative (it reraises by default)", code='''
import stamina

''' + TRANSIENT + '''
@stamina.retry(on=transient, attempts=5, timeout=None, wait_initial=0.05, wait_max=0.5, wait_jitter=0.05)
''' + GET_JSON),
    ],
    3: [
        Wrong("the seed notes' int(Retry-After) (Pitfall L7): crashes on the HTTP-date", hint="may be an HTTP-date",
              code='''
def wait_retry_after(retry_state: RetryCallState) -> float:
    response = retry_state.outcome.exception().response
    return int(response.headers.get("Retry-After", 5))
'''),
        Wrong("Retry-After plus the backoff: the waits stack (Pitfall L9)", hint="without adding a backoff", code='''
def wait_retry_after(retry_state: RetryCallState) -> float:
    error = retry_state.outcome.exception()
    value = error.response.headers.get("Retry-After") if isinstance(error, httpx.HTTPStatusError) else None
    if value is None:
        return BACKOFF(retry_state)
    if value.isdigit():
        seconds = float(value)
    else:
        when = email.utils.parsedate_to_datetime(value)
        seconds = (when - datetime.datetime.now(datetime.timezone.utc)).total_seconds()
    return max(0.0, min(seconds, RETRY_AFTER_MAX)) + BACKOFF(retry_state)
'''),
        Wrong("sleeps Retry-After itself, then lets tenacity wait the backoff (Pitfall L9)", hint="it slept", code='''
def wait_retry_after(retry_state: RetryCallState) -> float:
    error = retry_state.outcome.exception()
    if isinstance(error, httpx.HTTPStatusError) and "Retry-After" in error.response.headers:
        value = error.response.headers["Retry-After"]
        if value.isdigit():
            time.sleep(min(float(value), RETRY_AFTER_MAX))
    return BACKOFF(retry_state)
'''),
        Wrong("seconds only; a date falls back to the backoff", hint="parse the date form", code='''
def wait_retry_after(retry_state: RetryCallState) -> float:
    error = retry_state.outcome.exception()
    if isinstance(error, httpx.HTTPStatusError):
        try:
            return min(float(error.response.headers["Retry-After"]), RETRY_AFTER_MAX)
        except (KeyError, ValueError):
            pass
    return BACKOFF(retry_state)
'''),
        Wrong("a naive datetime.now()", hint="not the naive datetime.now()", code='''
def wait_retry_after(retry_state: RetryCallState) -> float:
    error = retry_state.outcome.exception()
    value = error.response.headers.get("Retry-After") if isinstance(error, httpx.HTTPStatusError) else None
    if value is None:
        return BACKOFF(retry_state)
    if value.isdigit():
        return min(float(value), RETRY_AFTER_MAX)
    seconds = (email.utils.parsedate_to_datetime(value) - datetime.datetime.now()).total_seconds()
    return max(0.0, min(seconds, RETRY_AFTER_MAX))
'''),
        Wrong("not clamped: a date in the past gives a negative wait", hint="clamp the wait to at least 0", code='''
def wait_retry_after(retry_state: RetryCallState) -> float:
    error = retry_state.outcome.exception()
    value = error.response.headers.get("Retry-After") if isinstance(error, httpx.HTTPStatusError) else None
    if value is None:
        return BACKOFF(retry_state)
    if value.isdigit():
        return min(float(value), RETRY_AFTER_MAX)
    seconds = (email.utils.parsedate_to_datetime(value) - datetime.datetime.now(datetime.timezone.utc)).total_seconds()
    return min(seconds, RETRY_AFTER_MAX)
'''),
        Wrong("not capped: an hour is an hour (caught by the hidden test)", hint="cap the wait at RETRY_AFTER_MAX",
              code='''
def wait_retry_after(retry_state: RetryCallState) -> float:
    error = retry_state.outcome.exception()
    value = error.response.headers.get("Retry-After") if isinstance(error, httpx.HTTPStatusError) else None
    if value is None:
        return BACKOFF(retry_state)
    if value.isdigit():
        return float(value)
    seconds = (email.utils.parsedate_to_datetime(value) - datetime.datetime.now(datetime.timezone.utc)).total_seconds()
    return max(0.0, seconds)
'''),
        Wrong("reads .response of a transport error", hint="a transport error has no response", code='''
def wait_retry_after(retry_state: RetryCallState) -> float:
    value = retry_state.outcome.exception().response.headers.get("Retry-After")
    if value is None:
        return BACKOFF(retry_state)
    if value.isdigit():
        return min(float(value), RETRY_AFTER_MAX)
    seconds = (email.utils.parsedate_to_datetime(value) - datetime.datetime.now(datetime.timezone.utc)).total_seconds()
    return max(0.0, min(seconds, RETRY_AFTER_MAX))
'''),
        Wrong("a fixed 0.1 s when there is no header", hint="return BACKOFF(retry_state)", code='''
def wait_retry_after(retry_state: RetryCallState) -> float:
    error = retry_state.outcome.exception()
    value = error.response.headers.get("Retry-After") if isinstance(error, httpx.HTTPStatusError) else None
    if value is None:
        return 0.1
    if value.isdigit():
        return min(float(value), RETRY_AFTER_MAX)
    seconds = (email.utils.parsedate_to_datetime(value) - datetime.datetime.now(datetime.timezone.utc)).total_seconds()
    return max(0.0, min(seconds, RETRY_AFTER_MAX))
'''),
        Right("email.utils.parsedate_tz and mktime_tz against time.time()", code='''
def wait_retry_after(retry_state: RetryCallState) -> float:
    """Retry-After (seconds or HTTP-date), clamped and capped; BACKOFF without it."""
    error = retry_state.outcome.exception()
    if not isinstance(error, httpx.HTTPStatusError) or "Retry-After" not in error.response.headers:
        return BACKOFF(retry_state)
    value = error.response.headers["Retry-After"]
    try:
        seconds = float(int(value))
    except ValueError:
        parsed = email.utils.parsedate_tz(value)
        if parsed is None:
            return BACKOFF(retry_state)
        seconds = email.utils.mktime_tz(parsed) - time.time()
    return min(max(seconds, 0.0), RETRY_AFTER_MAX)
'''),
        Right("urllib3's own parser, Retry.parse_retry_after", code='''
from urllib3.exceptions import InvalidHeader
from urllib3.util import Retry

PARSER = Retry(retry_after_max=RETRY_AFTER_MAX)


def wait_retry_after(retry_state: RetryCallState) -> float:
    error = retry_state.outcome.exception()
    value = error.response.headers.get("Retry-After") if isinstance(error, httpx.HTTPStatusError) else None
    if value is not None:
        try:
            return float(PARSER.parse_retry_after(value))  # both forms, clamped at 0 and capped
        except InvalidHeader:
            pass
    return BACKOFF(retry_state)
'''),
    ],
    4: [
        Wrong("a new AsyncClient per attempt (Pitfall T7, hidden test)", hint="through the client you are given",
              code=TRANSIENT + '''
async def get_within_budget(client: httpx.AsyncClient, path: str, params: dict | None = None,
                            budget: float = BUDGET) -> dict:
    deadline = time.monotonic() + budget
    async for attempt in AsyncRetrying(retry=retry_if_exception(transient),
                                       wait=wait_random_exponential(multiplier=0.05, max=0.3),
                                       stop=stop_before_delay(budget), reraise=True):
        with attempt:
            async with httpx.AsyncClient(base_url=BASE, headers=HEADERS) as own:
                response = await own.get(path, params=params, timeout=max(deadline - time.monotonic(), 0.001))
                response.raise_for_status()
    return response.json()
'''),
        Wrong("no budget: a number of attempts with growing waits", hint="past its 1.0 s budget", code=TRANSIENT + '''
async def get_within_budget(client: httpx.AsyncClient, path: str, params: dict | None = None,
                            budget: float = BUDGET) -> dict:
    async for attempt in AsyncRetrying(retry=retry_if_exception(transient),
                                       wait=tenacity.wait_exponential(multiplier=0.1),
                                       stop=stop_after_attempt(5), reraise=True):
        with attempt:
            response = await client.get(path, params=params)
            response.raise_for_status()
    return response.json()
'''),
        Wrong("stop_after_delay alone: a slow attempt overruns the budget (hidden test)", hint="one slow answer used",
              code=TRANSIENT + '''
async def get_within_budget(client: httpx.AsyncClient, path: str, params: dict | None = None,
                            budget: float = BUDGET) -> dict:
    async for attempt in AsyncRetrying(retry=retry_if_exception(transient),
                                       wait=wait_random_exponential(multiplier=0.05, max=0.3),
                                       stop=stop_after_delay(budget), reraise=True):
        with attempt:
            response = await client.get(path, params=params)
            response.raise_for_status()
    return response.json()
'''),
        Wrong("stop_before_delay alone: it decides between attempts only (hidden test)",
              hint="stop_before_delay and stop_after_delay only decide between attempts", code=TRANSIENT + '''
async def get_within_budget(client: httpx.AsyncClient, path: str, params: dict | None = None,
                            budget: float = BUDGET) -> dict:
    async for attempt in AsyncRetrying(retry=retry_if_exception(transient),
                                       wait=wait_random_exponential(multiplier=0.05, max=0.3),
                                       stop=stop_before_delay(budget), reraise=True):
        with attempt:
            response = await client.get(path, params=params)
            response.raise_for_status()
    return response.json()
'''),
        Wrong("no reraise: RetryError leaks to the caller", hint="reraise=True", code=TRANSIENT + '''
async def get_within_budget(client: httpx.AsyncClient, path: str, params: dict | None = None,
                            budget: float = BUDGET) -> dict:
    deadline = time.monotonic() + budget
    async for attempt in AsyncRetrying(retry=retry_if_exception(transient),
                                       wait=wait_random_exponential(multiplier=0.05, max=0.3),
                                       stop=stop_before_delay(budget)):
        with attempt:
            response = await client.get(path, params=params, timeout=max(deadline - time.monotonic(), 0.001))
            response.raise_for_status()
    return response.json()
'''),
        Wrong("the seed notes' stop_after_delay with no wait: a tight loop (Pitfall T5)", hint="a tight loop",
              code=TRANSIENT + '''
async def get_within_budget(client: httpx.AsyncClient, path: str, params: dict | None = None,
                            budget: float = BUDGET) -> dict:
    deadline = time.monotonic() + budget
    async for attempt in AsyncRetrying(retry=retry_if_exception(transient), stop=stop_after_delay(budget),
                                       reraise=True):
        with attempt:
            response = await client.get(path, params=params, timeout=max(deadline - time.monotonic(), 0.001))
            response.raise_for_status()
    return response.json()
'''),
        Wrong("gives up early: three attempts, whatever the budget", hint="keep retrying while the budget allows",
              code=TRANSIENT + '''
async def get_within_budget(client: httpx.AsyncClient, path: str, params: dict | None = None,
                            budget: float = BUDGET) -> dict:
    deadline = time.monotonic() + budget
    async for attempt in AsyncRetrying(retry=retry_if_exception(transient),
                                       wait=wait_random_exponential(multiplier=0.05, max=0.3),
                                       stop=stop_after_attempt(3) | stop_before_delay(budget), reraise=True):
        with attempt:
            response = await client.get(path, params=params, timeout=max(deadline - time.monotonic(), 0.001))
            response.raise_for_status()
    return response.json()
'''),
        Right("stop_after_delay with each attempt bounded by asyncio.timeout (accepted: it may overrun by one wait)",
              code=TRANSIENT + '''
async def get_within_budget(client: httpx.AsyncClient, path: str, params: dict | None = None,
                            budget: float = BUDGET) -> dict:
    """Retry transient failures; every attempt ends by the deadline."""
    deadline = asyncio.get_running_loop().time() + budget
    async for attempt in AsyncRetrying(retry=retry_if_exception(transient),
                                       wait=wait_random_exponential(multiplier=0.05, max=0.3),
                                       stop=stop_after_delay(budget), reraise=True):
        with attempt:
            async with asyncio.timeout_at(deadline):
                response = await client.get(path, params=params)
            response.raise_for_status()
    return response.json()
'''),
        Right("@retry on an inner coroutine, with the attempt's timeout from the deadline", code=TRANSIENT + '''
async def get_within_budget(client: httpx.AsyncClient, path: str, params: dict | None = None,
                            budget: float = BUDGET) -> dict:
    deadline = time.monotonic() + budget

    @retry(retry=retry_if_exception(transient), wait=wait_random_exponential(multiplier=0.05, max=0.3),
           stop=stop_before_delay(budget) | stop_after_attempt(50), reraise=True)
    async def once() -> dict:
        left = deadline - time.monotonic()
        if left <= 0:
            raise httpx.ReadTimeout("no time left in the budget")
        response = await client.get(path, params=params, timeout=httpx.Timeout(left))
        return response.raise_for_status().json()

    return await once()
'''),
    ],
}
