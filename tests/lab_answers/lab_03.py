"""Lab 03: answers grading must reject (with their hints) and correct alternatives it must accept."""

from lab_answers import Right, Wrong

ANSWERS: dict = {
    1: [
        Wrong("no status_forcelist: a 503 without Retry-After is never retried", hint="status_forcelist=[503]", code='''
def make_retry() -> Retry:
    return Retry(total=3, backoff_factor=0.1)
'''),
        Wrong("the seed notes' Retry: backoff_factor=1 and POST allowed", hint="backoff_factor=0.1", code='''
def make_retry() -> Retry:
    return Retry(total=3, backoff_factor=1, status_forcelist=[429, 500, 502, 503, 504],
                 allowed_methods=["GET", "POST"])
'''),
        Wrong("'make everything retry': allowed_methods with POST (caught by the hidden test)",
              hint="keep the default allowed_methods", code='''
def make_retry() -> Retry:
    return Retry(total=3, status_forcelist=[503], backoff_factor=0.1, allowed_methods=["GET", "POST"])
'''),
        Wrong("allowed_methods=None retries every method (caught by the hidden test)",
              hint="retries a POST answered 503", code='''
def make_retry() -> Retry:
    return Retry(total=3, status_forcelist=[503], backoff_factor=0.1, allowed_methods=None)
'''),
        Wrong("returns the last 503 instead of raising", hint="keep raise_on_status=True", code='''
def make_retry() -> Retry:
    return Retry(total=3, status_forcelist=[503], backoff_factor=0.1, raise_on_status=False)
'''),
        Wrong("a status budget of 0: no retry at all", hint="give it a budget of 3", code='''
def make_retry() -> Retry:
    return Retry(total=3, status=0, status_forcelist=[503], backoff_factor=0.1)
'''),
        Wrong("one retry too many", hint="not 3", code='''
def make_retry() -> Retry:
    return Retry(total=4, status_forcelist=[503], backoff_factor=0.1)
'''),
        Wrong("jitter on top of the backoff asked for", hint="no backoff_jitter", code='''
def make_retry() -> Retry:
    return Retry(total=3, status_forcelist=[503], backoff_factor=0.1, backoff_jitter=0.5)
'''),
        Right("separate counters: total=None with a status budget of 3", code='''
def make_retry() -> Retry:
    return Retry(total=None, connect=3, read=3, other=0, status=3, status_forcelist={503}, backoff_factor=0.1)
'''),
        Right("more statuses in the list, positional total", code='''
def make_retry() -> Retry:
    return Retry(3, status_forcelist=(500, 502, 503, 504), backoff_factor=0.1)
'''),
    ],
    2: [
        Wrong("no retries= of its own: the pool's Retry retries the POST", hint="received the POST 4 times", code='''
def create_order(pool: urllib3.PoolManager, order: dict, timeout: Timeout) -> urllib3.BaseHTTPResponse:
    return pool.request("POST", BASE + "/orders", json=order, headers=HEADERS, timeout=timeout)
'''),
        Wrong("the seed notes' Retry, with POST in allowed_methods", hint="received the POST 4 times", code='''
def create_order(pool: urllib3.PoolManager, order: dict, timeout: Timeout) -> urllib3.BaseHTTPResponse:
    retries = Retry(total=3, backoff_factor=1, status_forcelist=[429, 500, 502, 503, 504],
                    allowed_methods=["GET", "POST"], raise_on_status=False)
    return pool.request("POST", BASE + "/orders", json=order, headers=HEADERS, timeout=timeout, retries=retries)
'''),
        Wrong("retries=False: the lazy shortcut that stops GET retries too", hint="would retry a GET answered 503 0 time",
              code='''
def create_order(pool: urllib3.PoolManager, order: dict, timeout: Timeout) -> urllib3.BaseHTTPResponse:
    return pool.request("POST", BASE + "/orders", json=order, headers=HEADERS, timeout=timeout, retries=False)
'''),
        Wrong("a Retry with no budget (is_retry alone would say it retries GETs)",
              hint="would retry a GET answered 503 0 time", code='''
def create_order(pool: urllib3.PoolManager, order: dict, timeout: Timeout) -> urllib3.BaseHTTPResponse:
    retries = Retry(total=0, status_forcelist=[503])
    return pool.request("POST", BASE + "/orders", json=order, headers=HEADERS, timeout=timeout, retries=retries)
'''),
        Wrong("swallows errors: returns None when the POST times out", hint="let the ReadTimeoutError reach the caller",
              code='''
def create_order(pool: urllib3.PoolManager, order: dict, timeout: Timeout) -> urllib3.BaseHTTPResponse:
    try:
        return pool.request("POST", BASE + "/orders", json=order, headers=HEADERS, timeout=timeout,
                            retries=Retry(total=3, status_forcelist=[503]))
    except urllib3.exceptions.HTTPError:
        return None
'''),
        Wrong("wraps the timeout in an error of its own", hint="reach the caller unchanged", code='''
def create_order(pool: urllib3.PoolManager, order: dict, timeout: Timeout) -> urllib3.BaseHTTPResponse:
    try:
        return pool.request("POST", BASE + "/orders", json=order, headers=HEADERS, timeout=timeout,
                            retries=Retry(total=3, status_forcelist=[503]))
    except urllib3.exceptions.TimeoutError as exc:
        raise RuntimeError("the order could not be placed") from exc
'''),
        Wrong("ignores the timeout it is given", hint="timeout=timeout", code='''
def create_order(pool: urllib3.PoolManager, order: dict, timeout: Timeout) -> urllib3.BaseHTTPResponse:
    return pool.request("POST", BASE + "/orders", json=order, headers=HEADERS, timeout=TIMEOUT,
                        retries=Retry(total=3, status_forcelist=[503]))
'''),
        Wrong("a hand-encoded body without Content-Type (urllib3 1.x habit)", hint="json=", code='''
import json


def create_order(pool: urllib3.PoolManager, order: dict, timeout: Timeout) -> urllib3.BaseHTTPResponse:
    return pool.request("POST", BASE + "/orders", body=json.dumps(order), headers=HEADERS, timeout=timeout,
                        retries=Retry(total=3, status_forcelist=[503]))
'''),
        Right("urllib3.request() with its own Retry (the module-level pool)", code='''
def create_order(pool: urllib3.PoolManager, order: dict, timeout: Timeout) -> urllib3.BaseHTTPResponse:
    return urllib3.request("POST", BASE + "/orders", json=order, headers=HEADERS, timeout=timeout,
                           retries=Retry(3, status_forcelist=[502, 503, 504], raise_on_status=False))
'''),
        Right("urlopen with an encoded body and allowed_methods spelled out", code='''
import json


def create_order(pool: urllib3.PoolManager, order: dict, timeout: Timeout) -> urllib3.BaseHTTPResponse:
    retries = Retry(total=3, status_forcelist=[503], allowed_methods=frozenset({"GET", "HEAD"}))
    return pool.urlopen("POST", BASE + "/orders", body=json.dumps(order).encode(),
                        headers={**HEADERS, "Content-Type": "application/json"}, timeout=timeout, retries=retries)
'''),
    ],
    3: [
        Wrong("no cap: Retry-After is obeyed however long it is", hint="retry_after_max=1", code='''
def make_polite_retry() -> Retry:
    return Retry(total=2, status_forcelist=[429, 503], raise_on_status=False)
'''),
        Wrong("raises when the retries run out", hint="raise_on_status=False", code='''
def make_polite_retry() -> Retry:
    return Retry(total=2, status_forcelist=[429, 503], retry_after_max=1)
'''),
        Wrong("no status_forcelist: relies on RETRY_AFTER_STATUS_CODES, so a bare 429 is never retried",
              hint="has no Retry-After 0 time", code='''
def make_polite_retry() -> Retry:
    return Retry(total=2, retry_after_max=1, raise_on_status=False)
'''),
        Wrong("ignores Retry-After altogether", hint="honour Retry-After", code='''
def make_polite_retry() -> Retry:
    return Retry(total=2, status_forcelist=[429, 503], respect_retry_after_header=False, raise_on_status=False)
'''),
        Wrong("only 503 in the list", hint="retry a 429 that has no Retry-After 0 time", code='''
def make_polite_retry() -> Retry:
    return Retry(total=2, status_forcelist=[503], retry_after_max=1, raise_on_status=False)
'''),
        Wrong("one retry too many", hint="not 2", code='''
def make_polite_retry() -> Retry:
    return Retry(total=3, status_forcelist=[429, 503], retry_after_max=1, raise_on_status=False)
'''),
        Wrong("a backoff that sleeps 2 s when there is no Retry-After", hint="keep every sleep within 1 s", code='''
def make_polite_retry() -> Retry:
    return Retry(total=2, status_forcelist=[429, 503], backoff_factor=1, retry_after_max=1, raise_on_status=False)
'''),
        Right("a status budget instead of total, and a small backoff", code='''
def make_polite_retry() -> Retry:
    return Retry(total=None, status=2, connect=2, read=0, other=0, status_forcelist={429, 503},
                 backoff_factor=0.25, retry_after_max=1, raise_on_status=False)
'''),
        Right("the usual transient statuses, positional total", code='''
def make_polite_retry() -> Retry:
    return Retry(2, status_forcelist=(429, 500, 502, 503, 504), retry_after_max=1, raise_on_status=False)
'''),
    ],
    4: [
        Wrong("a plain Session: the default pool keeps 10 connections", hint="Connection pool is full", code='''
def make_session() -> requests.Session:
    return requests.Session()
'''),
        Wrong("pool_connections mistaken for the pool size (Pitfall R7)", hint="pool_maxsize", code='''
def make_session() -> requests.Session:
    session = requests.Session()
    session.mount("http://", HTTPAdapter(pool_connections=12))
    return session
'''),
        Wrong("the old answer, sized for 8 threads", hint="Connection pool is full", code='''
def make_session() -> requests.Session:
    session = requests.Session()
    session.mount("http://", HTTPAdapter(pool_maxsize=8))
    return session
'''),
        Wrong("pool_block=True: no warning, but threads wait", hint="waited for a free connection", code='''
def make_session() -> requests.Session:
    session = requests.Session()
    session.mount("http://", HTTPAdapter(pool_block=True))
    return session
'''),
        Wrong("mounted for https:// only: http:// URLs keep the default pool", hint="Connection pool is full", code='''
def make_session() -> requests.Session:
    session = requests.Session()
    session.mount("https://", HTTPAdapter(pool_maxsize=12))
    return session
'''),
        Right("a roomier pool, blocking as a safety net", code='''
def make_session() -> requests.Session:
    session = requests.Session()
    session.mount("http://", HTTPAdapter(pool_maxsize=16, pool_block=True))
    return session
'''),
        Right("an adapter mounted for the server's own prefix", code='''
def make_session() -> requests.Session:
    session = requests.Session()
    adapter = HTTPAdapter(pool_connections=1, pool_maxsize=20)
    session.mount(BASE, adapter)
    return session
'''),
    ],
}
