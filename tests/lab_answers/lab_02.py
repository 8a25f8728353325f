"""Lab 02: answers grading must reject (with their hints) and correct alternatives it must accept."""

from lab_answers import Right, Wrong

ANSWERS: dict = {
    1: [
        Wrong("Content-Type on the session (R1)", hint="don't put Content-Type on the session", code='''
def make_session() -> requests.Session:
    session = requests.Session()
    session.headers.update({"X-Client-Key": KEY, "Accept": "application/json", "Content-Type": "application/json"})
    return session


def get_twenty() -> list[dict]:
    with make_session() as session:
        return [session.get(f"{BASE}/get", params={"i": i}, timeout=(3.05, 10)).json() for i in range(20)]
'''),
        Wrong("headers passed per request instead of on the session", hint="put the header on session.headers",
              code='''
def make_session() -> requests.Session:
    return requests.Session()


def get_twenty() -> list[dict]:
    headers = {"X-Client-Key": KEY, "Accept": "application/json"}
    with make_session() as session:
        return [session.get(f"{BASE}/get", params={"i": i}, headers=headers, timeout=(3.05, 10)).json()
                for i in range(20)]
'''),
        Wrong("a new Session per call", hint="made 20 sessions", code='''
def make_session() -> requests.Session:
    session = requests.Session()
    session.headers.update({"X-Client-Key": KEY, "Accept": "application/json"})
    return session


def get_twenty() -> list[dict]:
    bodies = []
    for i in range(20):
        with make_session() as session:
            bodies.append(session.get(f"{BASE}/get", params={"i": i}, timeout=(3.05, 10)).json())
    return bodies
'''),
        Wrong("requests.get per call, the session never used", hint="should get its session from make_session()",
              code='''
def make_session() -> requests.Session:
    session = requests.Session()
    session.headers.update({"X-Client-Key": KEY, "Accept": "application/json"})
    return session


def get_twenty() -> list[dict]:
    headers = {"X-Client-Key": KEY, "Accept": "application/json"}
    return [requests.get(f"{BASE}/get", params={"i": i}, headers=headers, timeout=(3.05, 10)).json()
            for i in range(20)]
'''),
        Wrong("the session is never closed (R11)", hint="still open after get_twenty() returned", code='''
def make_session() -> requests.Session:
    session = requests.Session()
    session.headers.update({"X-Client-Key": KEY, "Accept": "application/json"})
    return session


def get_twenty() -> list[dict]:
    session = make_session()
    return [session.get(f"{BASE}/get", params={"i": i}, timeout=(3.05, 10)).json() for i in range(20)]
'''),
        Wrong("Connection: close on the session", hint="opened 20 TCP connections", code='''
def make_session() -> requests.Session:
    session = requests.Session()
    session.headers.update({"X-Client-Key": KEY, "Accept": "application/json", "Connection": "close"})
    return session


def get_twenty() -> list[dict]:
    with make_session() as session:
        return [session.get(f"{BASE}/get", params={"i": i}, timeout=(3.05, 10)).json() for i in range(20)]
'''),
        Wrong("one module-level session handed out every time", hint="returned the same Session twice", code='''
SHARED = requests.Session()
SHARED.headers.update({"X-Client-Key": KEY, "Accept": "application/json"})


def make_session() -> requests.Session:
    return SHARED


def get_twenty() -> list[dict]:
    with make_session() as session:
        return [session.get(f"{BASE}/get", params={"i": i}, timeout=(3.05, 10)).json() for i in range(20)]
'''),
        Right("headers set one by one, closed in a finally block", code='''
def make_session() -> requests.Session:
    session = requests.Session()
    session.headers["X-Client-Key"] = KEY
    session.headers["Accept"] = "application/json"
    return session


def get_twenty() -> list[dict]:
    session = make_session()
    try:
        bodies = []
        for i in range(20):
            response = session.get(f"{BASE}/get", params={"i": i}, timeout=(3.05, 10))
            response.raise_for_status()
            bodies.append(response.json())
        return bodies
    finally:
        session.close()
'''),
        Right("a Session subclass with its own defaults, closed by contextlib.closing", code='''
from contextlib import closing


class LabSession(requests.Session):
    def __init__(self) -> None:
        super().__init__()
        self.headers.update({"X-Client-Key": KEY, "Accept": "application/json"})


def make_session() -> requests.Session:
    return LabSession()


def get_twenty() -> list[dict]:
    with closing(make_session()) as session:
        return [session.get(f"{BASE}/get", params={"i": i}, timeout=3).json() for i in range(20)]
'''),
    ],
    2: [
        Wrong("a session of its own instead of the one given", hint="through the session you were given", code='''
def dashboard_user(session: requests.Session) -> str:
    with requests.Session() as mine:
        mine.headers["X-Client-Key"] = KEY
        login = mine.post(f"{BASE}/login", data={"username": "learner", "password": "hunter2"}, timeout=(3.05, 10))
        login.raise_for_status()
        dashboard = mine.get(f"{BASE}/dashboard", timeout=(3.05, 10))
        dashboard.raise_for_status()
        return dashboard.json()["user"]
'''),
        Wrong("JSON instead of a form", hint="log in with a form body", code='''
def dashboard_user(session: requests.Session) -> str:
    login = session.post(f"{BASE}/login", json={"username": "learner", "password": "hunter2"}, timeout=(3.05, 10))
    login.raise_for_status()
    dashboard = session.get(f"{BASE}/dashboard", timeout=(3.05, 10))
    dashboard.raise_for_status()
    return dashboard.json()["user"]
'''),
        Wrong("module-level requests calls: the cookie is lost", hint="through the session you were given", code='''
def dashboard_user(session: requests.Session) -> str:
    headers = dict(session.headers)
    login = requests.post(f"{BASE}/login", data={"username": "learner", "password": "hunter2"}, headers=headers,
                          timeout=(3.05, 10))
    login.raise_for_status()
    dashboard = requests.get(f"{BASE}/dashboard", headers=headers, timeout=(3.05, 10))
    dashboard.raise_for_status()
    return dashboard.json()["user"]
'''),
        Wrong("no raise_for_status at all", hint="it should raise requests.HTTPError", code='''
def dashboard_user(session: requests.Session) -> str:
    session.post(f"{BASE}/login", data={"username": "learner", "password": "hunter2"}, timeout=(3.05, 10))
    return session.get(f"{BASE}/dashboard", timeout=(3.05, 10)).json()["user"]
'''),
        Wrong("raise_for_status on the dashboard only", hint="yet dashboard_user went on", code='''
def dashboard_user(session: requests.Session) -> str:
    session.post(f"{BASE}/login", data={"username": "learner", "password": "hunter2"}, timeout=(3.05, 10))
    dashboard = session.get(f"{BASE}/dashboard", timeout=(3.05, 10))
    dashboard.raise_for_status()
    return dashboard.json()["user"]
'''),
        Wrong("raise_for_status on the login only", hint="when the dashboard answered 503", code='''
def dashboard_user(session: requests.Session) -> str:
    login = session.post(f"{BASE}/login", data={"username": "learner", "password": "hunter2"}, timeout=(3.05, 10))
    login.raise_for_status()
    return session.get(f"{BASE}/dashboard", timeout=(3.05, 10)).json()["user"]
'''),
        Right("response.ok checked, HTTPError raised by hand", code='''
def dashboard_user(session: requests.Session) -> str:
    for method, path, kwargs in (("POST", "/login", {"data": {"username": "learner", "password": "hunter2"}}),
                                 ("GET", "/dashboard", {})):
        response = session.request(method, f"{BASE}{path}", timeout=5, **kwargs)
        if not response.ok:
            raise requests.HTTPError(f"{method} {path} answered {response.status_code}", response=response)
    return response.json()["user"]
'''),
        Right("raise_for_status chained on each call", code='''
def dashboard_user(session: requests.Session) -> str:
    credentials = {"username": "learner", "password": "hunter2"}
    session.post(f"{BASE}/login", data=credentials, timeout=(3.05, 10)).raise_for_status()
    dashboard = session.get(f"{BASE}/dashboard", timeout=(3.05, 10))
    dashboard.raise_for_status()
    return dashboard.json()["user"]
'''),
    ],
    3: [
        Wrong("signs r.url instead of r.path_url", hint="not r.url", code='''
SIGNING_KEY = b"course-signing-secret"


class HmacAuth(requests.auth.AuthBase):
    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        body = r.body or b""
        if isinstance(body, str):
            body = body.encode()
        message = f"{r.method}\\n{r.url}\\n".encode() + body
        r.headers["X-Signature"] = hmac.new(SIGNING_KEY, message, hashlib.sha256).hexdigest()
        return r
'''),
        Wrong("signs the path without its query", hint="not the path alone", code='''
SIGNING_KEY = b"course-signing-secret"


class HmacAuth(requests.auth.AuthBase):
    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        body = r.body or b""
        if isinstance(body, str):
            body = body.encode()
        message = f"{r.method}\\n{urlsplit(r.url).path}\\n".encode() + body
        r.headers["X-Signature"] = hmac.new(SIGNING_KEY, message, hashlib.sha256).hexdigest()
        return r
'''),
        Wrong("ignores the body", hint="sign the body too", code='''
SIGNING_KEY = b"course-signing-secret"


class HmacAuth(requests.auth.AuthBase):
    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        message = f"{r.method}\\n{r.path_url}\\n".encode()
        r.headers["X-Signature"] = hmac.new(SIGNING_KEY, message, hashlib.sha256).hexdigest()
        return r
'''),
        Wrong("a str body (a form) not encoded", hint="turn it into bytes first", code='''
SIGNING_KEY = b"course-signing-secret"


class HmacAuth(requests.auth.AuthBase):
    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        message = f"{r.method}\\n{r.path_url}\\n".encode() + (r.body or b"")
        r.headers["X-Signature"] = hmac.new(SIGNING_KEY, message, hashlib.sha256).hexdigest()
        return r
'''),
        Wrong("base64 of the digest instead of hex", hint="not base64", code='''
SIGNING_KEY = b"course-signing-secret"


class HmacAuth(requests.auth.AuthBase):
    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        body = r.body or b""
        if isinstance(body, str):
            body = body.encode()
        message = f"{r.method}\\n{r.path_url}\\n".encode() + body
        r.headers["X-Signature"] = base64.b64encode(hmac.new(SIGNING_KEY, message, hashlib.sha256).digest()).decode()
        return r
'''),
        Wrong("forgets to return r", hint="end it with `return r`", code='''
SIGNING_KEY = b"course-signing-secret"


class HmacAuth(requests.auth.AuthBase):
    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        body = r.body or b""
        if isinstance(body, str):
            body = body.encode()
        message = f"{r.method}\\n{r.path_url}\\n".encode() + body
        r.headers["X-Signature"] = hmac.new(SIGNING_KEY, message, hashlib.sha256).hexdigest()
'''),
        Right("hmac.digest() and a conditional expression", code='''
SIGNING_KEY = b"course-signing-secret"


class HmacAuth(requests.auth.AuthBase):
    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        body = r.body if isinstance(r.body, bytes) else (r.body or "").encode()
        message = b"\\n".join([r.method.encode(), r.path_url.encode(), body])
        r.headers["X-Signature"] = hmac.digest(SIGNING_KEY, message, "sha256").hex()
        return r
'''),
    ],
    4: [
        Wrong("one big timeout", hint="it should raise requests.ReadTimeout", code='''
def fetch(url: str) -> requests.Response:
    return requests.get(url, headers={"X-Client-Key": KEY}, timeout=10)
'''),
        Wrong("a connect timeout only", hint="it should raise requests.ReadTimeout", code='''
def fetch(url: str) -> requests.Response:
    return requests.get(url, headers={"X-Client-Key": KEY}, timeout=(0.5, None))
'''),
        Wrong("a read timeout only", hint="give it a connect timeout", code='''
def fetch(url: str) -> requests.Response:
    try:
        return requests.get(url, headers={"X-Client-Key": KEY}, timeout=(None, 1.0))
    except requests.ConnectionError as exc:
        if exc.args and isinstance(exc.args[0], urllib3.exceptions.ReadTimeoutError):
            raise requests.ReadTimeout(*exc.args) from exc
        raise
'''),
        Wrong("a read timeout too short for /delay/0.2", hint="is the read timeout too short?", code='''
def fetch(url: str) -> requests.Response:
    return requests.get(url, headers={"X-Client-Key": KEY}, timeout=(0.5, 0.1))
'''),
        Wrong("no timeout at all", hint="it should raise requests.ReadTimeout", code='''
def fetch(url: str) -> requests.Response:
    return requests.get(url, headers={"X-Client-Key": KEY})
'''),
        Wrong("good timeouts, but the body's read timeout stays a ConnectionError",
              hint="a body that stopped arriving", code='''
def fetch(url: str) -> requests.Response:
    return requests.get(url, headers={"X-Client-Key": KEY}, timeout=(0.5, 1.0))
'''),
        Wrong("every ConnectionError turned into ReadTimeout", hint="should raise requests.ConnectTimeout", code='''
def fetch(url: str) -> requests.Response:
    try:
        return requests.get(url, headers={"X-Client-Key": KEY}, timeout=(0.5, 1.0))
    except requests.ConnectionError as exc:
        raise requests.ReadTimeout(*exc.args) from exc
'''),
        Wrong("every ConnectionError but a timeout turned into ReadTimeout", hint="a refused connection gave", code='''
def fetch(url: str) -> requests.Response:
    try:
        return requests.get(url, headers={"X-Client-Key": KEY}, timeout=(0.5, 1.0))
    except requests.Timeout:
        raise
    except requests.ConnectionError as exc:
        raise requests.ReadTimeout(*exc.args) from exc
'''),
        Right("one number for both timeouts, the cause found in __context__", code='''
def fetch(url: str) -> requests.Response:
    with requests.Session() as session:
        session.headers["X-Client-Key"] = KEY
        try:
            return session.get(url, timeout=1)
        except requests.ConnectionError as exc:
            if isinstance(exc.__context__, urllib3.exceptions.ReadTimeoutError):
                raise requests.ReadTimeout(str(exc)) from exc
            raise
'''),
    ],
}
