"""The instructor dashboard in a real browser (Playwright driving Debian's chromium, headless).

A classroom server on 127.0.0.1, learners who join and send requests and lab results over
httpx, and the dashboard open with the instructor token: it shows each learner's row and
progress, updates live, and a chaos change made on the page reaches the learners' next request.
Every request the browser makes must stay on 127.0.0.1.
"""

from __future__ import annotations

import csv
import io
import os
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from mock_server import dashboard
from mock_server.config import Config
from mock_server.server import BackgroundServer

CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason=f"no Chromium at {CHROMIUM}: install Debian's package (apt-get install chromium) to run the browser tests",
)
TOKEN = "browser-test-token-0123456789"
CALLED = {urlsplit(dashboard.PATH).path.rsplit("/", 1)[0] + "/" + path for path in dashboard.API.values()}
AUTH = {"Authorization": f"Bearer {TOKEN}"}
STUCK = re.compile(r"\bstuck\b")


def classroom_config(**changes: Any) -> Config:
    return Config(port=0, tls_port=0, classroom=True, instructor_token=TOKEN, **changes)


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with BackgroundServer(classroom_config()) as url:
        yield url


@pytest.fixture(scope="module")
def chromium(request: pytest.FixtureRequest) -> Iterator[Any]:
    """The shared headless chromium of tests/browser/conftest.py when there is one, else one of this module's own."""
    try:
        yield request.getfixturevalue("browser")
        return
    except pytest.FixtureLookupError:
        pass
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        yield browser
        browser.close()


class Page:
    """A fresh browser page whose every request is recorded."""

    def __init__(self, chromium: Any) -> None:
        self.context = chromium.new_context(viewport={"width": 1400, "height": 900}, accept_downloads=True)
        self.context.set_default_timeout(15_000)
        self.page = self.context.new_page()
        self.requests: list[Any] = []
        self.errors: list[str] = []
        self.page.on("request", lambda request: self.requests.append(request))
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))

    def open(self, url: str) -> Any:
        self.page.goto(url)
        return self.page

    def check_it_stayed_local(self) -> None:
        """Every request went to 127.0.0.1, to the page or the classroom API, never with the token in its address."""
        assert self.requests, "the browser made no request at all"
        for request in self.requests:
            parts = urlsplit(request.url)
            assert parts.hostname == "127.0.0.1", f"the browser reached beyond loopback: {request.url}"
            assert parts.path in CALLED | {dashboard.PATH}, f"the page called {request.method} {parts.path}"
            assert TOKEN not in request.url
            if parts.path in CALLED:
                assert request.all_headers()["authorization"] == f"Bearer {TOKEN}"
        assert self.errors == [], f"the page's script failed: {self.errors}"


@pytest.fixture
def browser_page(chromium: Any) -> Iterator[Page]:
    page = Page(chromium)
    yield page
    page.context.close()


class Learner:
    """A simulated learner: joined under `name`, sending requests with their own key."""

    def __init__(self, url: str, name: str) -> None:
        joined = httpx.post(f"{url}/__admin/classroom/join", json={"name": name}, timeout=10)
        assert joined.status_code == 201, joined.text
        self.key = joined.json()["key"]
        self.client = httpx.Client(base_url=url, headers={"X-Client-Key": self.key}, timeout=10)

    def get(self, path: str) -> httpx.Response:
        return self.client.get(path)

    def report(self, lab: str, **passed: bool) -> None:
        exercises = [{"name": name.replace("_", " "), "passed": ok} for name, ok in passed.items()]
        answer = self.client.post("/__admin/classroom/results", json={"lab": lab, "exercises": exercises})
        assert answer.status_code == 200, answer.text


@pytest.fixture(scope="module")
def ada(server: str) -> Iterator[Learner]:
    learner = Learner(server, "ada")
    for path in ("/get", "/get", "/get", "/status/404"):
        learner.get(path)
    learner.report("01", Exercise_1=True, Exercise_2=False)
    yield learner
    learner.client.close()


@pytest.fixture(scope="module")
def grace(server: str) -> Iterator[Learner]:
    learner = Learner(server, "grace")
    for path in ("/get", "/status/503", "/status/429"):
        learner.get(path)
    learner.report("01", Exercise_1=True, Exercise_2=True)
    learner.report("02", Exercise_1=True)
    yield learner
    learner.client.close()


def row(page: Any, name: str) -> Any:
    return page.locator(f'tr[data-learner="{name}"]')


def cells(page: Any, name: str) -> dict[str, str]:
    """The learner's row, as heading -> text."""
    headings = [text.strip() for text in page.locator("thead th").all_inner_texts()]
    return dict(zip(headings, row(page, name).locator("td").all_inner_texts(), strict=True))


def labs(page: Any, name: str) -> list[str]:
    """The learner's lab results as shown: one "01✓✗" per lab."""
    return row(page, name).locator("td.labs .lab").all_inner_texts()


def listed(url: str, name: str) -> dict[str, Any]:
    learners = httpx.get(f"{url}/__admin/classroom/learners", headers=AUTH, timeout=10).json()["learners"]
    return next(learner for learner in learners if learner["name"] == name)


def test_the_dashboard_shows_each_learners_traffic_and_progress(
    server: str, ada: Learner, grace: Learner, browser_page: Page
) -> None:
    from playwright.sync_api import expect

    page = browser_page.open(f"{server}{dashboard.PATH}#token={TOKEN}")
    expect(row(page, "ada")).to_be_visible()
    expect(row(page, "grace")).to_be_visible()
    assert "token" not in page.url  # taken off the address bar
    for name in ("ada", "grace"):
        shown, truth = cells(page, name), listed(server, name)
        assert shown["Requests"] == str(truth["requests"])
        assert [shown[group] for group in ("2xx", "3xx", "4xx", "5xx")] == [str(truth["statuses"][group]) for group in
                                                                             ("2xx", "3xx", "4xx", "5xx")]
        assert shown["429"] == str(truth["rate_limited"]) and shown["Conns"] == str(truth["connections"])
    ada_row, grace_row = cells(page, "ada"), cells(page, "grace")
    assert int(ada_row["4xx"]) >= 1 and int(grace_row["5xx"]) >= 1 and int(grace_row["429"]) >= 1
    assert labs(page, "ada") == ["01\u2713\u2717"]
    assert labs(page, "grace") == ["01\u2713\u2713", "02\u2713"]
    assert (ada_row["Passed"], ada_row["Failing"]) == ("1", "1")
    assert (grace_row["Passed"], grace_row["Failing"]) == ("3", "0")
    assert ada_row["Last seen"].endswith("s ago")
    # The learner with a failing exercise comes first, marked; each mark names its exercise.
    assert page.locator("tbody tr").first.get_attribute("data-learner") == "ada"
    expect(row(page, "ada")).to_have_class(STUCK)
    failing = row(page, "ada").locator("span.no")
    assert failing.get_attribute("title") == "lab 01, Exercise 2: fails"
    expect(page.locator("#summary-text")).to_contain_text("2 learners")

    # Live: new requests and results show up without a reload.
    before = int(ada_row["Requests"])
    ada.get("/get")
    ada.get("/get")
    ada.report("01", Exercise_2=True)
    now = listed(server, "ada")["requests"]
    assert now == before + 3  # the report is a request with ada's key too
    expect(row(page, "ada").locator("td").nth(1)).to_have_text(str(now))
    expect(row(page, "ada").locator("td.labs")).to_have_text("01\u2713\u2713")
    expect(row(page, "ada")).not_to_have_class(STUCK)
    browser_page.check_it_stayed_local()


def apply(page: Any, **fields: str) -> None:
    form = page.locator("#chaos")
    for name, value in fields.items():
        form.locator(f'input[name="{name}"]').fill(value)
    page.locator("#apply").click()


def test_a_chaos_change_made_on_the_page_takes_effect_on_the_next_request(
    server: str, ada: Learner, grace: Learner, browser_page: Page
) -> None:
    from playwright.sync_api import expect

    page = browser_page.open(f"{server}{dashboard.PATH}#token={TOKEN}")
    weather = page.locator("#weather")
    expect(weather).to_contain_text("normal weather")
    assert ada.get("/get").status_code == 200

    apply(page, failure_rate="100", failure_codes="503")
    expect(weather).to_have_text("The class is under: 100% of requests fail with 503.")
    failed = ada.get("/get")
    assert failed.status_code == 503 and "instructor" in failed.json()["message"]
    assert grace.get("/get").status_code == 503  # class-wide: every learner
    journal = ada.client.get("/__admin/requests", params={"last": 1}).json()["requests"]
    assert [(entry["path"], entry["status"]) for entry in journal] == [("/get", 503)]

    apply(page, failure_rate="0", latency="0.5")
    expect(weather).to_have_text("The class is under: 0.5 s latency.")
    started = time.monotonic()
    assert ada.get("/get").status_code == 200
    assert time.monotonic() - started >= 0.5

    apply(page, latency="0", rate_limit="2", rate_window="60")
    expect(weather).to_have_text("The class is under: 429 above 2 requests per 60 s per learner.")
    assert [ada.get("/get").status_code for _ in range(3)] == [200, 200, 429]

    # A setting the server refuses is said on the page, and the class stays as it was.
    apply(page, latency="60")  # beyond the server's --max-duration
    expect(page.locator("#chaos-error")).to_contain_text("Not applied")
    expect(weather).to_have_text("The class is under: 429 above 2 requests per 60 s per learner.")

    page.locator("#clear").click()
    expect(weather).to_contain_text("normal weather")
    assert httpx.get(f"{server}/__admin/classroom/chaos", headers=AUTH, timeout=10).json()["rate_limit"] is None
    assert grace.get("/get").status_code == 200
    browser_page.check_it_stayed_local()


def test_without_a_valid_token_the_page_shows_no_data(server: str, ada: Learner, browser_page: Page) -> None:
    from playwright.sync_api import expect

    page = browser_page.open(f"{server}{dashboard.PATH}")
    expect(page.locator("#message")).to_contain_text("needs the instructor token")
    assert page.locator("tr[data-learner]").count() == 0 and page.locator("#board").is_hidden()

    page.locator("#token").fill("not-the-token")
    page.locator("#login button").click()
    expect(page.locator("#message")).to_contain_text("refused this token")
    assert page.locator("tr[data-learner]").count() == 0 and page.locator("#board").is_hidden()
    refused = [request for request in browser_page.requests if urlsplit(request.url).path in CALLED]
    assert refused and all(request.all_headers()["authorization"] == "Bearer not-the-token" for request in refused)
    browser_page.requests.clear()  # what follows uses the right token

    page.locator("#token").fill(TOKEN)
    page.locator("#login button").click()
    expect(row(page, "ada")).to_be_visible()
    page.locator("#logout").click()
    expect(page.locator("#message")).to_contain_text("Token forgotten")
    assert page.locator("tr[data-learner]").count() == 0 and page.locator("#board").is_hidden()
    assert "ada" not in page.locator("body").inner_text()
    assert page.evaluate("sessionStorage.length") == 0
    browser_page.check_it_stayed_local()


def test_the_lab_results_download_as_csv(server: str, ada: Learner, grace: Learner, browser_page: Page) -> None:
    from playwright.sync_api import expect

    page = browser_page.open(f"{server}{dashboard.PATH}#token={TOKEN}")
    expect(row(page, "grace")).to_be_visible()
    with page.expect_download() as download:
        page.locator("#download").click()
    saved = Path(download.value.path()).read_text()
    rows = list(csv.DictReader(io.StringIO(saved)))
    assert {(entry["learner"], entry["lab"], entry["exercise"]) for entry in rows} >= {
        ("ada", "01", "Exercise 1"), ("grace", "01", "Exercise 2"), ("grace", "02", "Exercise 1")}
    assert saved == httpx.get(f"{server}/__admin/classroom/results.csv", headers=AUTH, timeout=10).text
    assert download.value.suggested_filename == "lab-results.csv"
    browser_page.check_it_stayed_local()


def test_sixty_learners_fit_one_readable_table(browser_page: Page, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    with BackgroundServer(classroom_config()) as url:
        learners = [Learner(url, f"learner-{number:02d}") for number in range(60)]
        try:
            for number, learner in enumerate(learners):
                learner.get("/get")
                learner.report("01", Exercise_1=True, Exercise_2=number % 10 != 3)  # 03, 13, ... are stuck
            page = browser_page.open(f"{url}{dashboard.PATH}#token={TOKEN}")
            expect(page.locator("tr[data-learner]")).to_have_count(60)
            expect(page.locator("#summary-text")).to_contain_text("60 learners")
            expect(page.locator("#summary-text")).to_contain_text("6 with failing exercises")
            # The stuck ones first, then the rest by name.
            order = [page.locator("tbody tr").nth(number).get_attribute("data-learner") for number in range(7)]
            assert order == [f"learner-{number:02d}" for number in (3, 13, 23, 33, 43, 53, 0)]
            # Scrolled to the end, the heading row stays on screen, at the top of the table's box.
            page.locator(".wrap").evaluate("box => box.scrollTop = box.scrollHeight")
            expect(row(page, "learner-59")).to_be_in_viewport()
            heading, box = page.locator("thead th").first.bounding_box(), page.locator(".wrap").bounding_box()
            assert abs(heading["y"] - box["y"]) < 1
            # Sorted by name from its heading; the filter narrows the rows.
            page.locator('th[data-key="name"]').click()
            assert page.locator("tbody tr").first.get_attribute("data-learner") == "learner-00"
            page.locator('th[data-key="name"]').click()
            assert page.locator("tbody tr").first.get_attribute("data-learner") == "learner-59"
            page.locator('th[data-key="seen"]').press("Enter")  # by keyboard too
            expect(page.locator('th[data-key="seen"]')).to_have_attribute("aria-sort", "descending")
            expect(page.locator('th[data-key="name"]')).not_to_have_attribute("aria-sort", re.compile("."))
            page.locator("#filter").fill("learner-1")
            expect(page.locator("tr[data-learner]")).to_have_count(10)
            page.screenshot(path=str(tmp_path / "dashboard-60.png"))
        finally:
            for learner in learners:
                learner.client.close()
    browser_page.check_it_stayed_local()


def test_on_a_server_that_is_not_a_classroom_the_page_says_so(base_url: str, browser_page: Page) -> None:
    from playwright.sync_api import expect

    page = browser_page.open(f"{base_url}{dashboard.PATH}#token={TOKEN}")
    expect(page.locator("#message")).to_contain_text("not in classroom mode")
    expect(page.locator("#message")).to_contain_text("python -m mock_server --classroom")
    assert page.locator("tr[data-learner]").count() == 0 and page.locator("#board").is_hidden()
    browser_page.check_it_stayed_local()
