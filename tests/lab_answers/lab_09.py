"""Lab 09: answers grading must reject (with their hints) and correct alternatives it must accept."""

from lab_answers import Right, Wrong

ANSWERS: dict = {
    1: [
        Wrong("the seed notes' sliding window: no lock, an if instead of a while, no re-check (Pitfall L1)",
              hint="a while loop, not an if", code='''
class RateLimiter:
    def __init__(self, rate: int, per: float) -> None:
        self.rate, self.per = rate, per
        self.calls = collections.deque()

    async def __aenter__(self) -> None:
        now = time.monotonic()
        while self.calls and self.calls[0] <= now - self.per:
            self.calls.popleft()
        if len(self.calls) >= self.rate:
            await asyncio.sleep(self.calls[0] + self.per - now)
        self.calls.append(time.monotonic())

    async def __aexit__(self, *exc_info) -> None:
        pass
'''),
        Wrong("a token bucket whose capacity is the rate: the first window admits twice the rate (Pitfall L2)",
              hint="starts full", code='''
class RateLimiter:
    def __init__(self, rate: int, per: float) -> None:
        self.capacity = self.tokens = float(rate)
        self.refill = rate / per  # tokens per second
        self.updated = time.monotonic()
        self.lock = asyncio.Lock()

    async def __aenter__(self) -> None:
        async with self.lock:
            while True:
                now = time.monotonic()
                self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.refill)
                self.updated = now
                if self.tokens >= 1:
                    self.tokens -= 1
                    return
                await asyncio.sleep((1 - self.tokens) / self.refill)

    async def __aexit__(self, *exc_info) -> None:
        pass
'''),
        Wrong("aiolimiter.AsyncLimiter(rate, per) as it comes: a leaky bucket that bursts up to the rate (Pitfall L2)",
              hint="AsyncLimiter(1, per / rate)", code='''
def RateLimiter(rate: int, per: float) -> aiolimiter.AsyncLimiter:
    return aiolimiter.AsyncLimiter(rate, per)
'''),
        Wrong("a Semaphore(rate): it bounds concurrency, not rate (Pitfall L6)", hint="bounds concurrency, not rate",
              code='''
class RateLimiter(asyncio.Semaphore):
    """At most `rate` requests at a time."""

    def __init__(self, rate: int, per: float) -> None:
        super().__init__(rate)
'''),
        Wrong("sleep(per / rate) before each request: the tasks all sleep at once and wake at once",
              hint="they all sleep at once and wake at once", code='''
class RateLimiter:
    def __init__(self, rate: int, per: float) -> None:
        self.interval = per / rate

    async def __aenter__(self) -> None:
        await asyncio.sleep(self.interval)

    async def __aexit__(self, *exc_info) -> None:
        pass
'''),
        Wrong("too careful: a correct sliding window over twice the period (no 429, half the rate)",
              hint="at least 14 (90%) must get through", code='''
class RateLimiter:
    def __init__(self, rate: int, per: float) -> None:
        self.rate, self.per = rate, 2 * per  # to be safe
        self.starts = collections.deque()
        self.lock = asyncio.Lock()

    async def __aenter__(self) -> None:
        async with self.lock:
            while True:
                now = time.monotonic()
                while self.starts and now - self.starts[0] >= self.per:
                    self.starts.popleft()
                if len(self.starts) < self.rate:
                    self.starts.append(now)
                    return
                await asyncio.sleep(self.starts[0] + self.per - now)

    async def __aexit__(self, *exc_info) -> None:
        pass
'''),
        Wrong("hard-coded 5 per 1.2 s whatever it is given (caught by the hidden test)",
              hint="use the rate and per you are given", code='''
def RateLimiter(rate: int, per: float) -> aiolimiter.AsyncLimiter:
    return aiolimiter.AsyncLimiter(1, 1.2 / 5)
'''),
        Right("aiolimiter with a bucket of 1: one start every per / rate seconds", code='''
def RateLimiter(rate: int, per: float) -> aiolimiter.AsyncLimiter:
    """Starts spaced per / rate seconds apart: never a burst, so never more than `rate` in a `per` span."""
    return aiolimiter.AsyncLimiter(1, per / rate)
'''),
        Right("pyrate-limiter's sliding-window log, behind __aenter__", code='''
from pyrate_limiter import Limiter, Rate


class RateLimiter:
    def __init__(self, rate: int, per: float) -> None:
        self.limiter = Limiter(Rate(rate, int(per * 1000)))  # Rate(limit, interval in ms)

    async def __aenter__(self) -> None:
        await self.limiter.try_acquire_async("lab-09")

    async def __aexit__(self, *exc_info) -> None:
        pass
'''),
        Right("a schedule of start slots: each caller books the next free slot, per / rate apart, without a lock",
              code='''
class RateLimiter:
    def __init__(self, rate: int, per: float) -> None:
        self.interval = per / rate
        self.next_slot = 0.0

    async def __aenter__(self) -> None:
        loop = asyncio.get_running_loop()
        slot = max(loop.time(), self.next_slot)  # no await between reading and booking: no race
        self.next_slot = slot + self.interval
        await asyncio.sleep(slot - loop.time())

    async def __aexit__(self, *exc_info) -> None:
        pass
'''),
    ],
    2: [
        Wrong("the seed notes' int(value): crashes on an HTTP-date (Pitfall L7)", hint="may be a date", code='''
def retry_after_seconds(value: str | None, *, now: datetime | None = None, cap: float = 60.0) -> float | None:
    if value is None:
        return None
    return min(float(int(value)), cap)
'''),
        Wrong("both forms, but no clamp: a date in the past gives a negative delay", hint="clamp at zero", code='''
def retry_after_seconds(value: str | None, *, now: datetime | None = None, cap: float = 60.0) -> float | None:
    if value is None:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        return min(float(value), cap)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    now = now or datetime.now(timezone.utc)
    return min((when - now).total_seconds(), cap)
'''),
        Wrong("both forms, clamped, but no cap", hint="never wait more than the cap", code='''
def retry_after_seconds(value: str | None, *, now: datetime | None = None, cap: float = 60.0) -> float | None:
    if value is None:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    now = now or datetime.now(timezone.utc)
    return max(0.0, (when - now).total_seconds())
'''),
        Wrong("float(value) first: accepts 1.5 and -5, which are not delay-seconds", hint="1*DIGIT", code='''
def retry_after_seconds(value: str | None, *, now: datetime | None = None, cap: float = 60.0) -> float | None:
    if value is None:
        return None
    try:
        return min(float(value), cap)
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    now = now or datetime.now(timezone.utc)
    return min(max(0.0, (when - now).total_seconds()), cap)
'''),
        Wrong("garbage raises instead of giving None", hint="never raise", code='''
def retry_after_seconds(value: str | None, *, now: datetime | None = None, cap: float = 60.0) -> float | None:
    if value is None:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        return min(float(value), cap)
    when = parsedate_to_datetime(value)  # a ValueError says the header is broken
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    now = now or datetime.now(timezone.utc)
    return min(max(0.0, (when - now).total_seconds()), cap)
'''),
        Wrong("ignores the `now` it is given and counts from the clock", hint="count the seconds from the `now` you are given",
              code='''
def retry_after_seconds(value: str | None, *, now: datetime | None = None, cap: float = 60.0) -> float | None:
    if value is None:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        return min(float(value), cap)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return min(max(0.0, (when - datetime.now(timezone.utc)).total_seconds()), cap)
'''),
        Wrong("int() for the digits: accepts '+5' and '1_0' (caught by the hidden test)", hint="ASCII digits only",
              code='''
def retry_after_seconds(value: str | None, *, now: datetime | None = None, cap: float = 60.0) -> float | None:
    if value is None:
        return None
    try:
        seconds = int(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
        now = now or datetime.now(timezone.utc)
        return min(max(0.0, (when - now).total_seconds()), cap)
    return min(float(seconds), cap) if seconds >= 0 else None
'''),
        Wrong("an aware now minus the naive datetime of the asctime form (caught by the hidden test)",
              hint="treat it as UTC",
              code='''
def retry_after_seconds(value: str | None, *, now: datetime | None = None, cap: float = 60.0) -> float | None:
    if value is None:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        return min(float(value), cap)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    now = now or datetime.now(timezone.utc)
    return min(max(0.0, (when - now).total_seconds()), cap)
'''),
        Right("a regular expression for delay-seconds, email.utils.parsedate_tz and mktime_tz for dates", code='''
import re
from email.utils import mktime_tz, parsedate_tz


def retry_after_seconds(value: str | None, *, now: datetime | None = None, cap: float = 60.0) -> float | None:
    """Seconds to wait for a Retry-After value, 0..cap; None if it is neither form."""
    if value is None:
        return None
    if re.fullmatch(r"\\s*[0-9]+\\s*", value):
        seconds = float(value)
    else:
        parts = parsedate_tz(value.strip())
        if parts is None:
            return None
        if parts[9] is None:  # the asctime form has no zone: HTTP-dates are GMT (mktime_tz would take local time)
            parts = parts[:9] + (0,)
        try:
            moment = mktime_tz(parts)
        except (OverflowError, ValueError):
            return None
        reference = (now or datetime.now(timezone.utc)).timestamp()
        seconds = moment - reference
    return min(max(seconds, 0.0), cap)
'''),
    ],
    3: [
        Wrong("a semaphore only: the fast server gets every request at once", hint="enter a rate limiter too", code='''
async def fetch_all(urls: list[str], max_in_flight: int, rate: int, per: float) -> list[httpx.Response]:
    slots = asyncio.Semaphore(max_in_flight)
    async with httpx.AsyncClient(headers=HEADERS, timeout=TIMEOUT) as client:

        async def fetch(url: str) -> httpx.Response:
            async with slots:
                return await client.get(url)

        return await asyncio.gather(*(fetch(url) for url in urls))
'''),
        Wrong("a limiter only: the slow server piles up requests in flight", hint="asyncio.Semaphore(max_in_flight)",
              code='''
async def fetch_all(urls: list[str], max_in_flight: int, rate: int, per: float) -> list[httpx.Response]:
    limiter = aiolimiter.AsyncLimiter(1, per / rate)
    async with httpx.AsyncClient(headers=HEADERS, timeout=TIMEOUT) as client:

        async def fetch(url: str) -> httpx.Response:
            async with limiter:
                return await client.get(url)

        return await asyncio.gather(*(fetch(url) for url in urls))
'''),
        Wrong("the seed notes' fetch_with_limit: an AsyncClient per request (Pitfall L5)", hint="one httpx.AsyncClient",
              code='''
async def fetch_with_limit(url: str, slots: asyncio.Semaphore, limiter) -> httpx.Response:
    async with slots, limiter:
        async with httpx.AsyncClient(headers=HEADERS, timeout=TIMEOUT) as client:
            return await client.get(url)


async def fetch_all(urls: list[str], max_in_flight: int, rate: int, per: float) -> list[httpx.Response]:
    slots = asyncio.Semaphore(max_in_flight)
    limiter = aiolimiter.AsyncLimiter(1, per / rate)
    return await asyncio.gather(*(fetch_with_limit(url, slots, limiter) for url in urls))
'''),
        Wrong("one request after another: both caps kept, neither used", hint="send the requests concurrently", code='''
async def fetch_all(urls: list[str], max_in_flight: int, rate: int, per: float) -> list[httpx.Response]:
    limiter = aiolimiter.AsyncLimiter(1, per / rate)
    responses = []
    async with httpx.AsyncClient(headers=HEADERS, timeout=TIMEOUT) as client:
        for url in urls:
            async with limiter:
                responses.append(await client.get(url))
    return responses
'''),
        Wrong("both caps, but AsyncLimiter(rate, per): its burst lets the first second through twice",
              hint="AsyncLimiter(rate, per) bursts", code='''
async def fetch_all(urls: list[str], max_in_flight: int, rate: int, per: float) -> list[httpx.Response]:
    slots = asyncio.Semaphore(max_in_flight)
    limiter = aiolimiter.AsyncLimiter(rate, per)
    async with httpx.AsyncClient(headers=HEADERS, timeout=TIMEOUT) as client:

        async def fetch(url: str) -> httpx.Response:
            async with slots, limiter:
                return await client.get(url)

        return await asyncio.gather(*(fetch(url) for url in urls))
'''),
        Wrong("a Semaphore(3) whatever max_in_flight says (caught by the hidden test)",
              hint="use the max_in_flight you are given", code='''
async def fetch_all(urls: list[str], max_in_flight: int, rate: int, per: float) -> list[httpx.Response]:
    slots = asyncio.Semaphore(3)
    limiter = aiolimiter.AsyncLimiter(1, per / rate)
    async with httpx.AsyncClient(headers=HEADERS, timeout=TIMEOUT) as client:

        async def fetch(url: str) -> httpx.Response:
            async with slots:
                async with limiter:
                    return await client.get(url)

        return await asyncio.gather(*(fetch(url) for url in urls))
'''),
        Right("max_in_flight worker tasks on a queue, a hand-written sliding window, connections capped by Limits",
              code='''
async def fetch_all(urls: list[str], max_in_flight: int, rate: int, per: float) -> list[httpx.Response]:
    """max_in_flight workers (the concurrency cap) share a sliding-window log (the rate cap)."""
    starts: collections.deque[float] = collections.deque()
    lock = asyncio.Lock()

    async def wait_for_turn() -> None:
        async with lock:
            while True:
                now = time.monotonic()
                while starts and now - starts[0] >= per:
                    starts.popleft()
                if len(starts) < rate:
                    starts.append(now)
                    return
                await asyncio.sleep(starts[0] + per - now)

    queue: asyncio.Queue[int] = asyncio.Queue()
    for index in range(len(urls)):
        queue.put_nowait(index)
    responses: list = [None] * len(urls)
    limits = httpx.Limits(max_connections=max_in_flight)
    async with httpx.AsyncClient(headers=HEADERS, timeout=TIMEOUT, limits=limits) as client:

        async def worker() -> None:
            while not queue.empty():
                index = queue.get_nowait()
                await wait_for_turn()
                responses[index] = await client.get(urls[index])

        async with asyncio.TaskGroup() as group:
            for _ in range(max_in_flight):
                group.create_task(worker())
    return responses
'''),
        Right("pyrate-limiter for the rate, a TaskGroup, the semaphore entered after the limiter's wait", code='''
from pyrate_limiter import Limiter, Rate


async def fetch_all(urls: list[str], max_in_flight: int, rate: int, per: float) -> list[httpx.Response]:
    limiter = Limiter(Rate(rate, int(per * 1000)))
    slots = asyncio.Semaphore(max_in_flight)
    async with httpx.AsyncClient(headers=HEADERS, timeout=TIMEOUT) as client:

        async def fetch(url: str) -> httpx.Response:
            async with slots:
                await limiter.try_acquire_async("lab-09-ex3")
                return await client.get(url)

        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(fetch(url)) for url in urls]
    return [task.result() for task in tasks]
'''),
    ],
}
