"""Lab 01: answers grading must reject (with their hints) and correct alternatives it must accept."""

from lab_answers import Right, Wrong

ANSWERS: dict = {
    1: [
        Wrong("page arithmetic with params=", hint="no params=", code='''
def all_users(first_page_url: str) -> list[dict]:
    users, page = [], 1
    while True:
        response = requests.get(first_page_url, params={"page": page}, headers=HEADERS, timeout=TIMEOUT)
        response.raise_for_status()
        batch = response.json()
        if not batch:
            return users
        users.extend(batch)
        page += 1
'''),
        Wrong("page numbers appended to the first URL", hint="exactly as they are", code='''
def all_users(first_page_url: str) -> list[dict]:
    users, page, url = [], 1, first_page_url
    while True:
        response = requests.get(url, headers=HEADERS, timeout=TIMEOUT)
        response.raise_for_status()
        users.extend(response.json())
        if "next" not in response.links:
            return users
        page += 1
        url = f"{first_page_url}&page={page}"
'''),
        Wrong("the query rebuilt with the next page number, stopping at an empty page",
              hint="stop when a page has no rel='next' link", code='''
from urllib.parse import parse_qsl, urlencode, urlsplit

def all_users(first_page_url: str) -> list[dict]:
    parts = urlsplit(first_page_url)
    query = dict(parse_qsl(parts.query))
    page = int(query.get("page", 1))
    users = []
    while True:
        url = parts._replace(query=urlencode({**query, "page": page})).geturl()
        response = requests.get(url, headers=HEADERS, timeout=TIMEOUT)
        response.raise_for_status()
        batch = response.json()
        if not batch:
            return users
        users.extend(batch)
        page += 1
'''),
        Wrong("one big page instead of following the links", hint="start from first_page_url exactly", code='''
def all_users(first_page_url: str) -> list[dict]:
    response = requests.get(f"{BASE}/users", params={"limit": 100}, headers=HEADERS, timeout=TIMEOUT)
    response.raise_for_status()
    return response.json()
'''),
        Wrong("no raise_for_status()", hint="raise_for_status() on every page", code='''
def all_users(first_page_url: str) -> list[dict]:
    users, url = [], first_page_url
    while url:
        response = requests.get(url, headers=HEADERS, timeout=TIMEOUT)
        users.extend(response.json())
        url = response.links.get("next", {}).get("url")
    return users
'''),
        Wrong("raise_for_status() on the first page only", hint="rather than giving a partial list", code='''
def all_users(first_page_url: str) -> list[dict]:
    response = requests.get(first_page_url, headers=HEADERS, timeout=TIMEOUT)
    response.raise_for_status()
    users = list(response.json())
    while "next" in response.links:
        response = requests.get(response.links["next"]["url"], headers=HEADERS, timeout=TIMEOUT)
        users += response.json()
    return users
'''),
        Wrong("no timeout", hint="pass timeout=TIMEOUT", code='''
def all_users(first_page_url: str) -> list[dict]:
    users, url = [], first_page_url
    while url:
        response = requests.get(url, headers=HEADERS)
        response.raise_for_status()
        users.extend(response.json())
        url = response.links.get("next", {}).get("url")
    return users
'''),
        Right("a Session, and a loop that breaks when there is no next link", code='''
def all_users(first_page_url: str) -> list[dict]:
    """Every user, following rel="next" from first_page_url."""
    users: list[dict] = []
    with requests.Session() as session:
        session.headers.update(HEADERS)
        response = session.get(first_page_url, timeout=5)
        while True:
            response.raise_for_status()
            users += response.json()
            if "next" not in response.links:
                return users
            response = session.get(response.links["next"]["url"], timeout=5)
'''),
        Right("a generator of pages, parsing the Link header itself", code='''
from requests.utils import parse_header_links

def pages(url):
    while url:
        response = requests.get(url, headers=HEADERS, timeout=TIMEOUT)
        response.raise_for_status()
        yield response.json()
        links = parse_header_links(response.headers.get("Link", ""))
        url = next((link["url"] for link in links if link.get("rel") == "next"), None)

def all_users(first_page_url: str) -> list[dict]:
    return [user for page in pages(first_page_url) for user in page]
'''),
    ],
    2: [
        Wrong("data= instead of json=, with raise_for_status()", hint="send the fields with json=", code='''
def create_user(username: str, name: str, email: str) -> dict:
    created = requests.post(f"{BASE}/users", data={"username": username, "name": name, "email": email},
                            headers=HEADERS, timeout=TIMEOUT)
    created.raise_for_status()
    response = requests.get(urljoin(created.url, created.headers["Location"]), headers=HEADERS, timeout=TIMEOUT)
    response.raise_for_status()
    return response.json()
'''),
        Wrong("data= instead of json=, no checks at all", hint="not data=", code='''
def create_user(username: str, name: str, email: str) -> dict:
    created = requests.post(f"{BASE}/users", data={"username": username, "name": name, "email": email},
                            headers=HEADERS, timeout=TIMEOUT)
    return requests.get(urljoin(created.url, created.headers["Location"]), headers=HEADERS, timeout=TIMEOUT).json()
'''),
        Wrong("no raise_for_status() on the POST", hint="call raise_for_status() on the POST", code='''
def create_user(username: str, name: str, email: str) -> dict:
    created = requests.post(f"{BASE}/users", json={"username": username, "name": name, "email": email},
                            headers=HEADERS, timeout=TIMEOUT)
    response = requests.get(urljoin(created.url, created.headers["Location"]), headers=HEADERS, timeout=TIMEOUT)
    response.raise_for_status()
    return response.json()
'''),
        Wrong("no raise_for_status() on the GET", hint="raise_for_status() on the GET too", code='''
def create_user(username: str, name: str, email: str) -> dict:
    created = requests.post(f"{BASE}/users", json={"username": username, "name": name, "email": email},
                            headers=HEADERS, timeout=TIMEOUT)
    created.raise_for_status()
    return requests.get(urljoin(created.url, created.headers["Location"]), headers=HEADERS, timeout=TIMEOUT).json()
'''),
        Wrong("the POST's answer returned, never read back", hint="read the record back from the URL in the Location",
              code='''
def create_user(username: str, name: str, email: str) -> dict:
    created = requests.post(f"{BASE}/users", json={"username": username, "name": name, "email": email},
                            headers=HEADERS, timeout=TIMEOUT)
    created.raise_for_status()
    return created.json()
'''),
        Wrong("the GET without HEADERS", hint="send headers=HEADERS with the GET too", code='''
def create_user(username: str, name: str, email: str) -> dict:
    created = requests.post(f"{BASE}/users", json={"username": username, "name": name, "email": email},
                            headers=HEADERS, timeout=TIMEOUT)
    created.raise_for_status()
    response = requests.get(urljoin(created.url, created.headers["Location"]), timeout=TIMEOUT)
    response.raise_for_status()
    return response.json()
'''),
        Right("the record's URL built from its id (this API documents /users/{id})", code='''
def create_user(username: str, name: str, email: str) -> dict:
    created = requests.post(f"{BASE}/users", json={"username": username, "name": name, "email": email},
                            headers=HEADERS, timeout=TIMEOUT)
    created.raise_for_status()
    response = requests.get(f"{BASE}/users/{created.json()['id']}", headers=HEADERS, timeout=TIMEOUT)
    response.raise_for_status()
    return response.json()
'''),
        Right("a Session, Location joined to BASE", code='''
def create_user(username: str, name: str, email: str) -> dict:
    with requests.Session() as session:
        session.headers.update(HEADERS)
        created = session.post(f"{BASE}/users", json={"username": username, "name": name, "email": email},
                               timeout=(2, 5))
        created.raise_for_status()
        record = session.get(BASE + created.headers["Location"], timeout=(2, 5))
        record.raise_for_status()
        return record.json()
'''),
    ],
    3: [
        Wrong("the bare file object, raising for the 415", hint='(filename, file, "text/csv")', code='''
def upload_report(path: Path) -> dict:
    with path.open("rb") as f:
        response = requests.post(f"{BASE}/upload", params={"allowed_types": "text/csv"}, files={"report": f},
                                 headers=HEADERS, timeout=TIMEOUT)
    response.raise_for_status()
    return response.json()
'''),
        Wrong("the bare file object, to an upload that takes any type", hint="not the bare file object", code='''
def upload_report(path: Path) -> dict:
    with path.open("rb") as f:
        response = requests.post(f"{BASE}/upload", files={"report": f}, headers=HEADERS, timeout=TIMEOUT)
    response.raise_for_status()
    return response.json()
'''),
        Wrong("the bare file object, and the 415 returned as the answer", hint="call raise_for_status()", code='''
def upload_report(path: Path) -> dict:
    with path.open("rb") as f:
        return requests.post(f"{BASE}/upload", params={"allowed_types": "text/csv"}, files={"report": f},
                             headers=HEADERS, timeout=TIMEOUT).json()
'''),
        Wrong("text mode", hint="binary mode", code='''
def upload_report(path: Path) -> dict:
    with path.open("r") as f:
        response = requests.post(f"{BASE}/upload", params={"allowed_types": "text/csv"},
                                 files={"report": (path.name, f, "text/csv")}, headers=HEADERS, timeout=TIMEOUT)
    response.raise_for_status()
    return response.json()
'''),
        Wrong("a fixed filename", hint="not a fixed name", code='''
def upload_report(path: Path) -> dict:
    with path.open("rb") as f:
        response = requests.post(f"{BASE}/upload", params={"allowed_types": "text/csv"},
                                 files={"report": ("weekly_report.csv", f, "text/csv")}, headers=HEADERS,
                                 timeout=TIMEOUT)
    response.raise_for_status()
    return response.json()
'''),
        Wrong("no raise_for_status()", hint="call response.raise_for_status() before returning", code='''
def upload_report(path: Path) -> dict:
    with path.open("rb") as f:
        response = requests.post(f"{BASE}/upload", params={"allowed_types": "text/csv"},
                                 files={"report": (path.name, f, "text/csv")}, headers=HEADERS, timeout=TIMEOUT)
    return response.json()
'''),
        Wrong("the wrong content type", hint="text/csv", code='''
def upload_report(path: Path) -> dict:
    with path.open("rb") as f:
        response = requests.post(f"{BASE}/upload", params={"allowed_types": "text/csv"},
                                 files={"report": (path.name, f, "text/plain")}, headers=HEADERS, timeout=TIMEOUT)
    response.raise_for_status()
    return response.json()
'''),
        Right("the bytes read first, in a tuple", code='''
def upload_report(path: Path) -> dict:
    response = requests.post(f"{BASE}/upload", params={"allowed_types": "text/csv"},
                             files={"report": (path.name, path.read_bytes(), "text/csv")},
                             headers=HEADERS, timeout=TIMEOUT)
    response.raise_for_status()
    return response.json()
'''),
        Right("a Session and a 4-tuple with a header of its own for the part", code='''
def upload_report(path: Path) -> dict:
    with requests.Session() as session, open(path, "rb") as f:
        session.headers.update(HEADERS)
        response = session.post(f"{BASE}/upload", params={"allowed_types": "text/csv"}, timeout=(2, 5),
                                files={"report": (path.name, f, "text/csv", {"X-Report": "weekly"})})
        response.raise_for_status()
        return response.json()
'''),
    ],
    4: [
        Wrong("returns None on every failure (error swallowing)", hint="never return None for an error", code='''
class ApiError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message


def get_json(url: str) -> Any:
    try:
        response = requests.get(url, headers=HEADERS, timeout=TIMEOUT)
        response.raise_for_status()
        return response.json()
    except requests.RequestException as exc:
        print("request failed:", exc)
        return None
'''),
        Wrong("every requests exception wrapped in ApiError", hint="let requests.ConnectionError propagate", code='''
class ApiError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message


def get_json(url: str) -> Any:
    try:
        response = requests.get(url, headers=HEADERS, timeout=TIMEOUT)
        response.raise_for_status()
        return response.json()
    except requests.HTTPError as exc:
        try:
            message = exc.response.json().get("message")
        except (ValueError, AttributeError):
            message = None
        raise ApiError(exc.response.status_code, message or exc.response.reason) from exc
    except requests.JSONDecodeError as exc:
        raise ApiError(response.status_code, "response is not JSON") from exc
    except requests.RequestException as exc:
        raise ApiError(0, f"request failed: {exc}") from exc
'''),
        Wrong("timeouts wrapped in ApiError", hint="let requests.Timeout propagate", code='''
class ApiError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message


def get_json(url: str) -> Any:
    try:
        response = requests.get(url, headers=HEADERS, timeout=TIMEOUT)
    except requests.Timeout as exc:
        raise ApiError(504, "the server took too long") from exc
    try:
        response.raise_for_status()
    except requests.HTTPError as exc:
        try:
            body = response.json()
        except requests.JSONDecodeError:
            body = None
        message = body.get("message") if isinstance(body, dict) else None
        raise ApiError(response.status_code, message or response.reason) from exc
    try:
        return response.json()
    except requests.JSONDecodeError as exc:
        raise ApiError(response.status_code, "response is not JSON") from exc
'''),
        Wrong("not chained (no `from exc`)", hint="from exc", code='''
class ApiError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message


def get_json(url: str) -> Any:
    response = requests.get(url, headers=HEADERS, timeout=TIMEOUT)
    try:
        response.raise_for_status()
    except requests.HTTPError:
        try:
            body = response.json()
        except requests.JSONDecodeError:
            body = None
        message = body.get("message") if isinstance(body, dict) else None
        raise ApiError(response.status_code, message or response.reason)
    try:
        return response.json()
    except requests.JSONDecodeError:
        raise ApiError(response.status_code, "response is not JSON")
'''),
        Wrong("no timeout", hint="give the request timeout=TIMEOUT", code='''
class ApiError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message


def get_json(url: str) -> Any:
    response = requests.get(url, headers=HEADERS)
    try:
        response.raise_for_status()
    except requests.HTTPError as exc:
        try:
            body = response.json()
        except requests.JSONDecodeError:
            body = None
        message = body.get("message") if isinstance(body, dict) else None
        raise ApiError(response.status_code, message or response.reason) from exc
    try:
        return response.json()
    except requests.JSONDecodeError as exc:
        raise ApiError(response.status_code, "response is not JSON") from exc
'''),
        Wrong("the exception's text as the message", hint="the reason phrase 'Not Found'", code='''
class ApiError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message


def get_json(url: str) -> Any:
    response = requests.get(url, headers=HEADERS, timeout=TIMEOUT)
    try:
        response.raise_for_status()
        return response.json()
    except requests.HTTPError as exc:
        raise ApiError(response.status_code, str(exc)) from exc
    except requests.JSONDecodeError as exc:
        raise ApiError(response.status_code, "response is not JSON") from exc
'''),
        Right("a dataclass ApiError, a Session and an ok check before raise_for_status()", code='''
from dataclasses import dataclass


@dataclass
class ApiError(Exception):
    status: int
    message: str


def get_json(url: str) -> Any:
    with requests.Session() as session:
        response = session.get(url, headers=HEADERS, timeout=(1, 8))
    if not response.ok:
        try:
            body = response.json()
        except ValueError:
            body = {}
        message = body.get("message") if isinstance(body, dict) else None
        try:
            response.raise_for_status()
        except requests.HTTPError as exc:
            raise ApiError(response.status_code, message or response.reason) from exc
    try:
        return response.json()
    except ValueError as exc:
        raise ApiError(response.status_code, "response is not JSON") from exc
'''),
    ],
}
