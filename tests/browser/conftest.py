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


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(chromium_path()), headless=True)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context()
    context.set_default_timeout(30_000)  # every wait bounded: 30 s unless a test says otherwise
    try:
        opened = context.new_page()
        record_requests(opened)
        yield opened
    finally:
        context.close()
