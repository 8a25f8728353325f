"""Real-browser tests: Playwright for Python driving Debian's chromium (never a downloaded browser).

The browser is /usr/bin/chromium, or the one $CHROMIUM names. When it is missing (or Playwright is),
every test here is skipped with a reason that says so and how to install it, and `make test` says at
the end of its run that the browser tests were skipped, and why (see the root conftest.py).

Fixtures: `browser` (one headless chromium per test process), `page` (a fresh context and page per
test, closed after it, whose every request is recorded in `page.requests_seen`: see
`browsing.offsite`).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from browsing import SKIP_REASON, chromium_path, record_requests

if SKIP_REASON:
    # Skipping at collection (rather than in a fixture) keeps the reason on every test, and lets
    # the root conftest.py name it once in the run's summary.
    def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
        for item in items:
            if "browser" in getattr(item, "fixturenames", ()):
                item.add_marker(pytest.mark.skip(reason=SKIP_REASON))


# Per module, not per session: while a sync Playwright lives, its event loop counts as running in this
# thread, and any later asyncio.run() in the same test process (tests/test_load.py) would fail.
@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(chromium_path()), headless=True)
        try:
            yield launched
        finally:
            launched.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    if report.when == "call":
        item.browser_failed = report.failed  # type: ignore[attr-defined]


@pytest.fixture
def page(browser: Any, request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[Any]:
    """A fresh page; when its test fails, a screenshot of it is kept in the test's tmp_path (and named)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(30_000)  # every wait bounded: 30 s unless a test says otherwise
    try:
        opened = context.new_page()
        record_requests(opened)
        yield opened
        if getattr(request.node, "browser_failed", False):
            shot = tmp_path / "failed.png"
            opened.screenshot(path=str(shot), timeout=10_000)
            print(f"screenshot of the failed page: {shot}")
    finally:
        context.close()
