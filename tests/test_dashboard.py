"""The instructor dashboard page: served by every server, loading nothing from elsewhere, calling
only the classroom API, and showing no data without the instructor token.

(What it shows in a real browser: tests/browser/test_dashboard_browser.py.)
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Iterator
from html.parser import HTMLParser
from urllib.parse import urljoin

import httpx
import pytest

from mock_server import dashboard
from mock_server.classroom import Classroom
from mock_server.config import Config
from mock_server.server import BackgroundServer, classroom_lines
from mock_server.state import ServerState

TOKEN = "dashboard-test-token-0123456789"
# The classroom contract's instructor endpoints, and the methods the page uses on each.
CONTRACT = {
    "/__admin/classroom/learners": {"GET"},
    "/__admin/classroom/chaos": {"GET", "PUT", "DELETE"},
    "/__admin/classroom/results.csv": {"GET"},
}


@pytest.fixture(scope="module")
def classroom() -> Iterator[str]:
    """A classroom server of this module's own, on loopback, with a known instructor token."""
    with BackgroundServer(Config(port=0, tls_port=0, classroom=True, instructor_token=TOKEN)) as url:
        yield url


class Parts(HTMLParser):
    """The page's attributes that name an address, and its inline scripts and styles."""

    def __init__(self) -> None:
        super().__init__()
        self.addresses: list[tuple[str, str, str]] = []  # (tag, attribute, value)
        self.scripts: list[str] = []
        self.styles: list[str] = []
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self._in: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        for name, value in attrs:
            if name in ("src", "href", "action", "formaction", "srcset", "poster", "data", "background"):
                self.addresses.append((tag, name, value or ""))
        self._in = tag if tag in ("script", "style") else None

    def handle_endtag(self, tag: str) -> None:
        self._in = None

    def handle_data(self, data: str) -> None:
        if self._in == "script":
            self.scripts.append(data)
        elif self._in == "style":
            self.styles.append(data)


def parts(html: str) -> Parts:
    parser = Parts()
    parser.feed(html)
    return parser


@pytest.fixture(scope="module")
def served(base_url: str) -> httpx.Response:
    return httpx.get(base_url + dashboard.PATH, timeout=10)


def test_the_page_is_served_with_a_policy_that_allows_only_its_own_script(served: httpx.Response) -> None:
    assert served.status_code == 200
    assert served.headers["content-type"].startswith("text/html")
    assert served.headers["cache-control"] == "no-store"
    policy = dict(part.strip().split(" ", 1) for part in served.headers["content-security-policy"].split(";"))
    assert policy["default-src"] == "'none'"  # nothing loads unless named below
    assert policy["connect-src"] == "'self'"  # fetch() reaches this server only
    assert policy["img-src"] == "data:" and policy["style-src"] == "'unsafe-inline'"
    (script,) = parts(served.text).scripts
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    assert policy["script-src"] == f"'sha256-{digest}'"  # exactly the inline script served, nothing else


def test_the_page_names_no_outside_address(served: httpx.Response) -> None:
    page = served.text
    assert not re.search(r"https?:", page, re.IGNORECASE), "the page names an http(s) URL"
    found = parts(page)
    for tag, attribute, value in found.addresses:
        relative = not re.match(r"[a-z][a-z0-9+.-]*:|//", value, re.IGNORECASE)
        assert relative or value.startswith("data:"), f"<{tag} {attribute}={value!r}> is not a relative address"
    assert not any(tag == "script" and "src" in attrs for tag, attrs in found.tags), "a script loaded from a file"
    assert not any(tag == "link" and attrs.get("rel") == "stylesheet" for tag, attrs in found.tags)
    for style in found.styles:
        assert "url(" not in style and "@import" not in style and "@font-face" not in style
    assert [tag for tag, _ in found.tags if tag in ("iframe", "img", "object", "embed", "video", "audio")] == []


def test_the_script_calls_only_the_classroom_api(served: httpx.Response) -> None:
    (script,) = parts(served.text).scripts
    # One fetch(), inside call(); every call() names an entry of API, and API is the contract's endpoints.
    assert re.findall(r"\bfetch\s*\(([^,)]*)", script) == ["path"]
    api = json.loads(re.search(r"const API = (\{.*?\});", script)[1])
    assert api == dashboard.API
    called = re.findall(r"(?<!function )\bcall\s*\(([^,)]*)", script)
    assert called and set(called) <= {f"API.{name}" for name in api}
    assert {urljoin(dashboard.PATH, path) for path in api.values()} == set(CONTRACT)
    methods = {method.strip('"') for method in re.findall(r'changeChaos\(("[A-Z]+")\)', script)}
    assert methods == CONTRACT["/__admin/classroom/chaos"] - {"GET"}
    # No other way to reach out: no other request API, no navigation, no absolute path or address.
    for other in ("XMLHttpRequest", "EventSource", "WebSocket", "sendBeacon", "import(", "new Image",
                  "location.href", "location.assign", "window.open", "eval(", "innerHTML"):
        assert other not in script, f"the dashboard's script uses {other}"
    assert not re.search(r"""["'`]/""", script), "the script names an absolute path: keep addresses relative"


def test_every_address_the_page_calls_exists_with_the_token(classroom: str) -> None:
    auth = {"Authorization": f"Bearer {TOKEN}"}
    with httpx.Client(base_url=classroom, headers=auth, timeout=10) as client:
        assert client.get("/__admin/classroom/learners").json() == {"count": 0, "learners": []}
        assert client.get("/__admin/classroom/chaos").json()["rate_limit"] is None
        assert client.delete("/__admin/classroom/chaos").status_code == 200
        csv = client.get("/__admin/classroom/results.csv")
        assert csv.status_code == 200 and csv.text.splitlines()[0] == "learner,lab,exercise,passed,reported_at"


@pytest.mark.parametrize("headers", [
    {},
    {"Authorization": "Bearer not-the-token"},
    {"Authorization": f"Basic {TOKEN}"},
    {"Authorization": TOKEN},
], ids=["no token", "a wrong token", "another scheme", "no scheme"])
@pytest.mark.parametrize(("method", "path"), [(method, path) for path, methods in CONTRACT.items() for method in sorted(methods)])
def test_the_data_needs_the_instructor_token(classroom: str, headers: dict[str, str], method: str, path: str) -> None:
    answer = httpx.request(method, classroom + path, headers=headers, timeout=10,
                           json={"latency": 1} if method == "PUT" else None)
    assert answer.status_code == 401 and answer.json()["error"] == "instructor_only"


def test_the_page_itself_loads_without_a_token_or_a_learner_key(classroom: str) -> None:
    page = httpx.get(classroom + dashboard.PATH, timeout=10)  # a browser sends neither
    assert page.status_code == 200 and "instructor token" in page.text
    assert page.text == dashboard.PAGE  # the same page for everyone: it holds no data


def test_the_token_is_read_from_the_fragment_and_taken_off_the_address(served: httpx.Response) -> None:
    (script,) = parts(served.text).scripts
    # The fragment (#token=...) never reaches the server; the page removes it from the address bar
    # and keeps the token in this tab's sessionStorage only.
    assert "location.hash" in script and "history.replaceState" in script
    assert "localStorage" not in script and "document.cookie" not in script


@pytest.mark.parametrize(("host", "url", "opened"), [
    ("127.0.0.1", "http://127.0.0.1:8765", "http://127.0.0.1:8765"),
    ("0.0.0.0", "http://0.0.0.0:8765", "http://127.0.0.1:8765"),
    ("::", "http://[::]:8765", "http://[::1]:8765"),
    ("192.0.2.7", "http://192.0.2.7:8765", "http://192.0.2.7:8765"),
])
def test_a_classroom_server_prints_the_dashboard_link_with_its_token(host: str, url: str, opened: str) -> None:
    state = ServerState(Config(host=host, classroom=True, instructor_token=TOKEN))
    state.classroom = Classroom(state.config)
    (line,) = [line for line in classroom_lines(state, url) if line.startswith("instructor dashboard:")]
    assert f"{opened}{dashboard.PATH}#token={TOKEN}" in line.split()


def test_a_server_alone_prints_no_dashboard_link() -> None:
    assert classroom_lines(ServerState(Config()), "http://127.0.0.1:8765") == []
