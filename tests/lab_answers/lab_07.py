"""Lab 07: answers grading must reject (with their hints) and correct alternatives it must accept.

Most wrong answers are the reference with one mistake in it (`variant`), so that each row is rejected for the
mistake it names and not for another. Exercise 3 builds on exercise 1's PaymentService: its rows bring the
reference service (SERVICE below), so that each is judged on its own, whatever row of exercise 1 runs beside it.
"""

from lab_answers import Right, Wrong


def variant(code: str, *changes: tuple[str, str]) -> str:
    """`code` with each (old, new) replaced; every `old` must occur exactly once, so a change cannot miss."""
    for old, new in changes:
        assert code.count(old) == 1, f"{old!r} occurs {code.count(old)} times"
        code = code.replace(old, new)
    return code


SEND = '''
    async def _send(self, method: str, path: str, **kwargs) -> httpx.Response:
        try:
            response = await self.client.request(method, path, **kwargs)
        except httpx.TransportError as error:
            raise ProviderUnavailable(f"{method} {path}: no answer ({error!r})") from error
        if response.is_success:
            return response
        what = f"{method} {path}: {response.status_code} {response.text}"
        if response.is_server_error or (response.status_code == 409 and "in_flight" in response.text):
            raise ProviderUnavailable(what)
        if response.status_code == 404:
            raise PaymentNotFound(what)
        raise PaymentRejected(what)
'''

SERVICE = '''
class PaymentService:
    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def create_payment(self, amount: int, currency: str, *, idempotency_key: str) -> Payment:
        body = {"amount": amount, "currency": currency}
        async for attempt in AsyncRetrying(
            retry=retry_if_exception_type(ProviderUnavailable),
            wait=BACKOFF,
            stop=stop_after_attempt(MAX_ATTEMPTS),
            reraise=True,
        ):
            with attempt:
                response = await self._send("POST", "/payments", json=body,
                                            headers={"Idempotency-Key": idempotency_key})
        return Payment.model_validate(response.json())

    async def get_payment(self, payment_id: str) -> Payment:
        response = await self._send("GET", f"/payments/{quote(payment_id, safe='')}")
        return Payment.model_validate(response.json())
''' + SEND

CHECKOUT = '''

async def checkout(service: PaymentService, price: str, currency: str) -> Payment:
    return await service.create_payment(int(Decimal(price) * 100), currency, idempotency_key=str(uuid.uuid4()))
'''

PAYMENTS = SERVICE + CHECKOUT

BREAKER = '''
async def list_payments(client: httpx.AsyncClient) -> list[Payment]:
    try:
        response = await client.get("/payments")
    except httpx.TransportError as error:
        raise ProviderUnavailable(repr(error)) from error
    if response.is_server_error:
        raise ProviderUnavailable(f"{response.status_code} {response.text}")
    if response.is_client_error:
        raise PaymentRejected(f"{response.status_code} {response.text}")
    return [Payment.model_validate(item) for item in response.json()["payments"]]


class CircuitBreaker:
    def __init__(self, failure_threshold: int, reset_timeout: float, *,
                 excluded: tuple[type[BaseException], ...] = ()) -> None:
        self.failure_threshold = failure_threshold
        self.reset_timeout = reset_timeout
        self.excluded = excluded
        self.failures = 0
        self.opened_at = None
        self.trial = asyncio.Lock()

    @property
    def state(self) -> str:
        if self.opened_at is None:
            return "closed"
        if self.trial.locked() or time.monotonic() - self.opened_at >= self.reset_timeout:
            return "half_open"
        return "open"

    async def call(self, func, *args, **kwargs):
        state = self.state
        if state == "closed":
            return await self._attempt(func, args, kwargs, trial=False)
        if state == "open" or self.trial.locked():
            raise CircuitOpenError(f"circuit {state}")
        async with self.trial:
            return await self._attempt(func, args, kwargs, trial=True)

    async def _attempt(self, func, args, kwargs, *, trial: bool):
        try:
            result = await func(*args, **kwargs)
        except self.excluded:
            self.failures = 0
            raise
        except Exception:
            self.failures += 1
            if trial or self.failures >= self.failure_threshold:
                self.opened_at = time.monotonic()
            raise
        self.failures = 0
        if trial:
            self.opened_at = None
        return result
'''

DEADLINE = '''

async def pay_within(service: PaymentService, amount: int, currency: str, *, idempotency_key: str,
                     deadline: float) -> Payment:
    try:
        async with asyncio.timeout(deadline):
            return await service.create_payment(amount, currency, idempotency_key=idempotency_key)
    except TimeoutError as error:
        raise ProviderUnavailable(f"no answer within {deadline} s") from error
'''

FLAG_BREAKER = '''
async def list_payments(client: httpx.AsyncClient) -> list[Payment]:
    try:
        response = await client.get("/payments")
        response.raise_for_status()
    except httpx.TransportError as error:
        raise ProviderUnavailable(repr(error)) from error
    except httpx.HTTPStatusError as error:
        failure = ProviderUnavailable if error.response.is_server_error else PaymentRejected
        raise failure(error.response.text) from error
    return [Payment(**item) for item in response.json()["payments"]]


class CircuitBreaker:
    def __init__(self, failure_threshold: int, reset_timeout: float, *,
                 excluded: tuple[type[BaseException], ...] = ()) -> None:
        self.failure_threshold = failure_threshold
        self.reset_timeout = reset_timeout
        self.excluded = excluded
        self._state = "closed"
        self._failures = 0
        self._opened_at = 0.0
        self._trial_in_flight = False

    @property
    def state(self) -> str:
        return self._state

    def _open(self) -> None:
        self._state, self._opened_at = "open", time.monotonic()

    async def call(self, func, *args, **kwargs):
        if self._state == "open" and time.monotonic() - self._opened_at >= self.reset_timeout:
            self._state = "half_open"
        if self._state == "open":
            raise CircuitOpenError("open")
        trial = self._state == "half_open"
        if trial:
            if self._trial_in_flight:
                raise CircuitOpenError("half-open, a trial is in flight")
            self._trial_in_flight = True
        try:
            result = await func(*args, **kwargs)
        except Exception as error:
            if not isinstance(error, self.excluded):
                self._failures += 1
                if trial or self._failures >= self.failure_threshold:
                    self._open()
            raise
        else:
            self._failures = 0
            if trial:
                self._state = "closed"
            return result
        finally:
            if trial:
                self._trial_in_flight = False
'''

LESSON_BREAKER = '''
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

T = TypeVar("T")


async def list_payments(client: httpx.AsyncClient) -> list[Payment]:
    """Every payment the provider holds, through the lesson's error mapping."""
    try:
        response = await client.get("/payments")
    except httpx.TransportError as exc:
        raise ProviderUnavailable(f"{type(exc).__name__} talking to the provider") from exc
    if response.status_code >= 500 or response.status_code in (408, 429):
        raise ProviderUnavailable(str(response.status_code))
    if response.is_client_error:
        raise PaymentRejected(response.text)
    return [Payment.model_validate(item) for item in response.json()["payments"]]


class CircuitBreaker:
    """The lesson's breaker, as it is there: a lock around each decision, never around the call."""

    def __init__(self, failure_threshold: int, reset_timeout: float, *,
                 excluded: tuple[type[BaseException], ...] = ()) -> None:
        self.failure_threshold = failure_threshold
        self.reset_timeout = reset_timeout
        self.excluded = excluded
        self._state = "closed"
        self._failures = 0
        self._opened_at = 0.0
        self._trial = False
        self._lock = asyncio.Lock()

    @property
    def state(self) -> str:
        if self._state == "open" and time.monotonic() - self._opened_at >= self.reset_timeout:
            return "half_open"
        return self._state

    async def call(self, func: Callable[..., Awaitable[T]], *args: Any, **kwargs: Any) -> T:
        async with self._lock:
            trial = self._admit()
        try:
            result = await func(*args, **kwargs)
        except self.excluded:
            async with self._lock:
                self._succeeded()
            raise
        except Exception:
            async with self._lock:
                self._failed(trial)
            raise
        except BaseException:
            if trial:
                self._trial = False
            raise
        async with self._lock:
            self._succeeded()
        return result

    def _admit(self) -> bool:
        state = self.state
        if state == "open" or (state == "half_open" and self._trial):
            raise CircuitOpenError(max(0.0, self._opened_at + self.reset_timeout - time.monotonic()))
        if state == "half_open":
            self._trial = True
            return True
        return False

    def _succeeded(self) -> None:
        self._state, self._failures, self._trial = "closed", 0, False

    def _failed(self, trial: bool) -> None:
        self._failures += 1
        if trial or self._failures >= self.failure_threshold:
            self._state, self._opened_at, self._trial = "open", time.monotonic(), False
'''

OWN_CLIENT = """\
            async with httpx.AsyncClient(base_url=BASE, headers=HEADERS, timeout=TIMEOUT) as own:
                response = await own.request(method, path, **kwargs)
"""

RETRIED_CHECKOUT = """
from tenacity import retry


@retry(retry=retry_if_exception_type(ProviderUnavailable), wait=BACKOFF, stop=stop_after_attempt(MAX_ATTEMPTS),
       reraise=True)
async def checkout("""

ANSWERS: dict = {
    1: [
        Wrong("a new Idempotency-Key per attempt: the retry wraps checkout, which makes the key (Pitfall P2)",
              hint="different Idempotency-Keys", code=variant(
                  PAYMENTS,
                  ('''        async for attempt in AsyncRetrying(
            retry=retry_if_exception_type(ProviderUnavailable),
            wait=BACKOFF,
            stop=stop_after_attempt(MAX_ATTEMPTS),
            reraise=True,
        ):
            with attempt:
                response = await self._send("POST", "/payments", json=body,
                                            headers={"Idempotency-Key": idempotency_key})
''', '''        response = await self._send("POST", "/payments", json=body,
                                    headers={"Idempotency-Key": idempotency_key})
'''),
                  ("\nasync def checkout(", RETRIED_CHECKOUT))),
        Wrong("no Idempotency-Key at all: the seed notes' POST (Pitfall P2)", hint="without an Idempotency-Key",
              code=variant(PAYMENTS, ('''json=body,
                                            headers={"Idempotency-Key": idempotency_key})''', "json=body)"))),
        Wrong("a key made inside the retry loop, the parameter ignored", hint="different Idempotency-Keys",
              code=variant(PAYMENTS, ('headers={"Idempotency-Key": idempotency_key}',
                                      'headers={"Idempotency-Key": str(uuid.uuid4())}'))),
        Wrong("one constant key for every payment", hint="sent the Idempotency-Key of the payment before it",
              code=variant(PAYMENTS, ("idempotency_key=str(uuid.uuid4())", 'idempotency_key="checkout"'))),
        Wrong("a key made from the amount and currency: the same price twice is one payment (hidden test)",
              hint="each needs a key of its own", code=variant(
                  PAYMENTS, ("idempotency_key=str(uuid.uuid4())",
                             'idempotency_key=f"pay-{price}-{currency}"'))),
        Wrong("every exception retried, a 422 included", hint="was sent 4 times",
              code=variant(PAYMENTS, ("retry=retry_if_exception_type(ProviderUnavailable)",
                                      "retry=retry_if_exception_type(Exception)"))),
        Wrong("a float amount sent: float(price) * 100 (Pitfall P1)", hint="never a float",
              code=variant(PAYMENTS, ("int(Decimal(price) * 100)", "float(price) * 100"))),
        Wrong("int() of a float: 1998 for 19.99 (Pitfall P1)", hint="truncates 1998.9999999999998 to 1998",
              code=variant(PAYMENTS, ("int(Decimal(price) * 100)", "int(float(price) * 100)"))),
        Wrong("unbounded retries: a while True loop", hint="bound the retries", code=variant(
            PAYMENTS, ('''        async for attempt in AsyncRetrying(
            retry=retry_if_exception_type(ProviderUnavailable),
            wait=BACKOFF,
            stop=stop_after_attempt(MAX_ATTEMPTS),
            reraise=True,
        ):
            with attempt:
                response = await self._send("POST", "/payments", json=body,
                                            headers={"Idempotency-Key": idempotency_key})
''', '''        delay = 0.05
        while True:
            try:
                response = await self._send("POST", "/payments", json=body,
                                            headers={"Idempotency-Key": idempotency_key})
                break
            except ProviderUnavailable:
                await asyncio.sleep(delay)
                delay = min(delay * 2, 0.3)
'''))),
        Wrong("no reraise: the caller gets tenacity.RetryError", hint="reraise=True",
              code=variant(PAYMENTS, ("            reraise=True,\n", ""))),
        Wrong("stop_after_attempt(MAX_ATTEMPTS + 1): retries counted apart from the first attempt",
              hint=f"made 5 attempts during a long outage",
              code=variant(PAYMENTS, ("stop_after_attempt(MAX_ATTEMPTS)", "stop_after_attempt(MAX_ATTEMPTS + 1)"))),
        Wrong("5xx retried, but a dropped connection raised as it is", hint="gave up after one attempt", code=variant(
            PAYMENTS, ('''        try:
            response = await self.client.request(method, path, **kwargs)
        except httpx.TransportError as error:
            raise ProviderUnavailable(f"{method} {path}: no answer ({error!r})") from error
''', '''        response = await self.client.request(method, path, **kwargs)
'''))),
        Wrong("every error status a PaymentRejected: a 503 is not retried", hint="gave up after one attempt",
              code=variant(PAYMENTS, ("""        if response.is_server_error or (response.status_code == 409 and "in_flight" in response.text):
            raise ProviderUnavailable(what)
""", ""))),
        Wrong("a dropped connection retried, a timeout not (hidden test)", hint="A timeout (httpx.ReadTimeout",
              code=variant(PAYMENTS, ("except httpx.TransportError as error:",
                                      "except (httpx.RemoteProtocolError, httpx.ConnectError) as error:"))),
        Wrong("a client of its own per request, not the one given (hidden test)",
              hint="went through the client you were given", code=variant(
                  PAYMENTS, ("            response = await self.client.request(method, path, **kwargs)\n",
                             OWN_CLIENT))),
        Wrong("the id put in the path unquoted (Pitfall P5, hidden test)", hint="quote the id as one path segment",
              code=variant(PAYMENTS, ("f\"/payments/{quote(payment_id, safe='')}\"", 'f"/payments/{payment_id}"'))),
        Right("a retry loop written by hand, the key a uuid4().hex, raise_for_status mapped by a match", code='''
import random


class PaymentService:
    """Payments over one injected client, retried by hand with full jitter."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def _request(self, method: str, path: str, **kwargs) -> httpx.Response:
        try:
            response = await self.client.request(method, path, **kwargs)
            response.raise_for_status()
        except httpx.TransportError as error:
            raise ProviderUnavailable(str(error)) from error
        except httpx.HTTPStatusError as error:
            match error.response.status_code:
                case 404:
                    raise PaymentNotFound(error.response.text) from error
                case code if code >= 500:
                    raise ProviderUnavailable(error.response.text) from error
                case _:
                    raise PaymentRejected(error.response.text) from error
        return response

    async def create_payment(self, amount: int, currency: str, *, idempotency_key: str) -> Payment:
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                response = await self._request("POST", "/payments", json={"amount": amount, "currency": currency},
                                               headers={"Idempotency-Key": idempotency_key})
                return Payment.model_validate_json(response.content)
            except ProviderUnavailable:
                if attempt == MAX_ATTEMPTS:
                    raise
                await asyncio.sleep(random.uniform(0, min(0.3, 0.05 * 2 ** (attempt - 1))))

    async def get_payment(self, payment_id: str) -> Payment:
        response = await self._request("GET", "/payments/" + quote(payment_id, safe=""))
        return Payment.model_validate_json(response.content)


async def checkout(service: PaymentService, price: str, currency: str) -> Payment:
    minor = Decimal(price).scaleb(2)
    assert minor == minor.to_integral_value(), f"{price} has more than two decimals"
    return await service.create_payment(int(minor), currency, idempotency_key=uuid.uuid4().hex)
'''),
        Right("tenacity's @retry on an inner function, a secrets token as the key", code='''
import secrets

from tenacity import retry


class PaymentService:
    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    def _check(self, response: httpx.Response) -> httpx.Response:
        if response.status_code >= 500:
            raise ProviderUnavailable(f"{response.status_code}")
        if response.status_code == 404:
            raise PaymentNotFound(response.text)
        if response.status_code >= 400:
            raise PaymentRejected(response.text)
        return response

    async def create_payment(self, amount: int, currency: str, *, idempotency_key: str) -> Payment:
        @retry(retry=retry_if_exception_type(ProviderUnavailable), wait=BACKOFF,
                        stop=stop_after_attempt(MAX_ATTEMPTS), reraise=True)
        async def once() -> httpx.Response:
            try:
                response = await self.client.post("/payments", json={"amount": amount, "currency": currency},
                                                  headers={"Idempotency-Key": idempotency_key})
            except httpx.HTTPError as error:  # every transport error: no status here
                raise ProviderUnavailable(repr(error)) from error
            return self._check(response)

        return Payment.model_validate((await once()).json())

    async def get_payment(self, payment_id: str) -> Payment:
        try:
            response = await self.client.get(f"/payments/{quote(payment_id, safe='')}")
        except httpx.TransportError as error:
            raise ProviderUnavailable(repr(error)) from error
        return Payment.model_validate(self._check(response).json())


async def checkout(service: PaymentService, price: str, currency: str) -> Payment:
    units, _, cents = price.partition(".")
    amount = int(units) * 100 + int(cents.ljust(2, "0"))
    return await service.create_payment(amount, currency, idempotency_key="pay_" + secrets.token_urlsafe(18))
'''),
    ],
    2: [
        Wrong("the seed notes' breaker: a sync call, every exception counted, every caller let through when "
              "half-open, time.time(), a bare Exception (Pitfalls C2-C6)", hint="call is a plain def", code='''
async def list_payments(client: httpx.AsyncClient) -> list[Payment]:
    response = await client.get("/payments")
    if response.is_server_error:
        raise ProviderUnavailable(str(response.status_code))
    response.raise_for_status()
    return [Payment.model_validate(item) for item in response.json()["payments"]]


class CircuitBreaker:
    def __init__(self, failure_threshold: int, reset_timeout: float, *, excluded=()) -> None:
        self.failure_threshold = failure_threshold
        self.reset_timeout = reset_timeout
        self.failures = 0
        self.last_failure = None
        self._state = "closed"

    @property
    def state(self) -> str:
        return self._state

    def call(self, func, *args, **kwargs):
        if self._state == "open":
            if time.time() - self.last_failure > self.reset_timeout:
                self._state = "half_open"
            else:
                raise Exception("Circuit breaker is OPEN")
        try:
            result = func(*args, **kwargs)
            self.failures = 0
            self._state = "closed"
            return result
        except Exception as e:
            self.failures += 1
            self.last_failure = time.time()
            if self.failures >= self.failure_threshold:
                self._state = "open"
            raise e
'''),
        Wrong("list_payments does not raise on a 503 (Pitfall C1)", hint="httpx returns a 503 like any other answer",
              code=variant(BREAKER, ('''    if response.is_server_error:
        raise ProviderUnavailable(f"{response.status_code} {response.text}")
    if response.is_client_error:
        raise PaymentRejected(f"{response.status_code} {response.text}")
    return [Payment.model_validate(item) for item in response.json()["payments"]]''',
                                     '''    body = response.json()
    return [Payment.model_validate(item) for item in body.get("payments", [])]'''))),
        Wrong("a lazy breaker that never opens", hint="the breaker never opened", code='''
async def list_payments(client: httpx.AsyncClient) -> list[Payment]:
    response = await client.get("/payments")
    if response.is_server_error:
        raise ProviderUnavailable(str(response.status_code))
    response.raise_for_status()
    return [Payment.model_validate(item) for item in response.json()["payments"]]


class CircuitBreaker:
    def __init__(self, failure_threshold: int, reset_timeout: float, *, excluded=()) -> None:
        self.failure_threshold, self.reset_timeout, self.excluded = failure_threshold, reset_timeout, excluded
        self.state = "closed"

    async def call(self, func, *args, **kwargs):
        return await func(*args, **kwargs)
'''),
        Wrong("half-open lets every caller through (Pitfall C3)", hint="Let exactly one trial through",
              code=variant(BREAKER, ('''        if state == "open" or self.trial.locked():
            raise CircuitOpenError(f"circuit {state}")
        async with self.trial:
            return await self._attempt(func, args, kwargs, trial=True)''', '''        if state == "open":
            raise CircuitOpenError(f"circuit {state}")
        return await self._attempt(func, args, kwargs, trial=True)'''))),
        Wrong("half-open callers queue on a lock and go through one after the other", hint="Let exactly one trial",
              code=variant(BREAKER, ('if state == "open" or self.trial.locked():', 'if state == "open":'))),
        Wrong("every exception counted, the excluded ones too (Pitfall C5)", hint="an excluded error is not a failure",
              code=variant(BREAKER, ('''        except self.excluded:
            self.failures = 0
            raise
''', ""))),
        Wrong("a bare Exception('Circuit breaker is OPEN') (Pitfall C5)", hint="a bare Exception",
              code=variant(BREAKER, ('raise CircuitOpenError(f"circuit {state}")',
                                     'raise Exception("Circuit breaker is OPEN")'))),
        Wrong("time.time() for the reset timeout (Pitfall C6, hidden test)", hint="time.monotonic()",
              code=BREAKER.replace("time.monotonic()", "time.time()")),
        Wrong("failures counted in total, not in a row (hidden test)", hint="count failures in a row",
              code=variant(BREAKER, ('''        except self.excluded:
            self.failures = 0
            raise''', '''        except self.excluded:
            raise'''), ('''        self.failures = 0
        if trial:
            self.opened_at = None''', '''        if trial:
            self.failures = 0
            self.opened_at = None'''))),
        Wrong("a failed trial counts as one failure more, but does not reopen", hint="a failed trial opens the breaker",
              code=variant(BREAKER, ('''            if trial or self.failures >= self.failure_threshold:
                self.opened_at = time.monotonic()''', '''            if self.failures >= self.failure_threshold:
                self.opened_at = time.monotonic()
                self.failures = 0'''))),
        Right("a trial flag instead of a lock, and an explicit state attribute", code=FLAG_BREAKER),
        Wrong("a trial flag cleared when the trial ends, but not when it is cancelled (hidden test)",
              hint="free the trial slot whatever ends it", code=variant(
                  FLAG_BREAKER,
                  ("""        except Exception as error:
            if not isinstance""", """        except Exception as error:
            self._trial_in_flight = False
            if not isinstance"""),
                  ("""        else:
            self._failures = 0""", """        else:
            self._trial_in_flight = False
            self._failures = 0"""),
                  ("""        finally:
            if trial:
                self._trial_in_flight = False
""", ""))),
        Right("the lesson's breaker, copied as it is (its CircuitOpenError takes the seconds left)",
              code=LESSON_BREAKER),
        Wrong("purgatory 3.0.1 behind the lab's names: its half-open state lets every caller through",
              hint="Let exactly one trial through", code='''
import purgatory
from purgatory.domain.model import OpenedState


async def list_payments(client: httpx.AsyncClient) -> list[Payment]:
    try:
        response = await client.get("/payments")
    except httpx.TransportError as error:
        raise ProviderUnavailable(repr(error)) from error
    if response.status_code >= 500:
        raise ProviderUnavailable(str(response.status_code))
    if response.status_code >= 400:
        raise PaymentRejected(str(response.status_code))
    return [Payment.model_validate(item) for item in response.json()["payments"]]


class CircuitBreaker:
    NAMES = {"closed": "closed", "opened": "open", "half-opened": "half_open"}

    def __init__(self, failure_threshold: int, reset_timeout: float, *,
                 excluded: tuple[type[BaseException], ...] = ()) -> None:
        self.factory = purgatory.AsyncCircuitBreakerFactory(default_threshold=failure_threshold,
                                                             default_ttl=reset_timeout, exclude=list(excluded))
        self.factory.add_listener(self.noted)
        self._state = "closed"

    def noted(self, name: str, event_name: str, event) -> None:
        if event_name == "state_changed":
            self._state = self.NAMES[event.state]

    @property
    def state(self) -> str:
        return self._state

    async def call(self, func, *args, **kwargs):
        breaker = await self.factory.get_breaker("provider")
        try:
            async with breaker:
                return await func(*args, **kwargs)
        except OpenedState as error:
            raise CircuitOpenError(str(error)) from None
'''),
    ],
    3: [
        Wrong("the time checked after the call: the caller still waits it all", hint="checking the time after the call",
              code=SERVICE + '''

async def pay_within(service: PaymentService, amount: int, currency: str, *, idempotency_key: str,
                     deadline: float) -> Payment:
    started = time.monotonic()
    payment = await service.create_payment(amount, currency, idempotency_key=idempotency_key)
    if time.monotonic() - started > deadline:
        raise ProviderUnavailable(f"took more than {deadline} s")
    return payment
'''),
        Wrong("the deadline's TimeoutError let through", hint="Catch the TimeoutError", code=SERVICE + '''

async def pay_within(service: PaymentService, amount: int, currency: str, *, idempotency_key: str,
                     deadline: float) -> Payment:
    async with asyncio.timeout(deadline):
        return await service.create_payment(amount, currency, idempotency_key=idempotency_key)
'''),
        Wrong("a timeout per request (a client of its own with timeout=deadline): it adds up over the attempts",
              hint="the deadline is for the whole operation", code=SERVICE + '''

async def pay_within(service: PaymentService, amount: int, currency: str, *, idempotency_key: str,
                     deadline: float) -> Payment:
    async with httpx.AsyncClient(base_url=BASE, headers=HEADERS, timeout=deadline) as quick:
        return await PaymentService(quick).create_payment(amount, currency, idempotency_key=idempotency_key)
'''),
        Wrong("every exception turned into ProviderUnavailable, a refusal too (hidden test)",
              hint="let it through unchanged", code=SERVICE + '''

async def pay_within(service: PaymentService, amount: int, currency: str, *, idempotency_key: str,
                     deadline: float) -> Payment:
    try:
        async with asyncio.timeout(deadline):
            return await service.create_payment(amount, currency, idempotency_key=idempotency_key)
    except Exception as error:
        raise ProviderUnavailable(str(error)) from error
'''),
        Wrong("None on a timeout", hint="then raise ProviderUnavailable", code=SERVICE + '''

async def pay_within(service: PaymentService, amount: int, currency: str, *, idempotency_key: str,
                     deadline: float) -> Payment | None:
    try:
        async with asyncio.timeout(deadline):
            return await service.create_payment(amount, currency, idempotency_key=idempotency_key)
    except TimeoutError:
        return None
'''),
        Wrong("a key of its own instead of the one given (hidden test)", hint="pass the idempotency_key you are given",
              code=variant(SERVICE + DEADLINE, ("idempotency_key=idempotency_key)\n    except",
                                                "idempotency_key=str(uuid.uuid4()))\n    except"))),
        Right("asyncio.wait_for", code=SERVICE + '''

async def pay_within(service: PaymentService, amount: int, currency: str, *, idempotency_key: str,
                     deadline: float) -> Payment:
    try:
        return await asyncio.wait_for(service.create_payment(amount, currency, idempotency_key=idempotency_key),
                                      deadline)
    except TimeoutError as error:
        raise ProviderUnavailable("deadline") from error
'''),
        Right("asyncio.timeout_at with the loop's clock", code=SERVICE + '''

async def pay_within(service: PaymentService, amount: int, currency: str, *, idempotency_key: str,
                     deadline: float) -> Payment:
    when = asyncio.get_running_loop().time() + deadline
    try:
        async with asyncio.timeout_at(when):
            payment = await service.create_payment(amount, currency, idempotency_key=idempotency_key)
    except TimeoutError:
        raise ProviderUnavailable(f"gave up after {deadline} s") from None
    return payment
'''),
    ],
}
