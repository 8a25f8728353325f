"""The browser plumbing itself: chromium starts headless, and a page's requests are recorded and judged."""

from __future__ import annotations

from typing import Any

import pytest

from browsing import offsite


@pytest.mark.parametrize(("url", "leaves"), [
    ("http://127.0.0.1:8765/docs", False),
    ("https://127.0.0.1:9765/openapi.json", False),
    ("http://localhost:8888/lab?token=x", False),
    ("http://[::1]:8765/get", False),
    ("data:image/png;base64,AAAA", False),
    ("blob:http://127.0.0.1:8888/5c1d", False),
    ("about:blank", False),
    ("https://cdn.jsdelivr.net/npm/swagger-ui-dist/swagger-ui.css", True),
    ("http://127.0.0.1.example.com/x", True),
    ("http://10.0.0.1:8765/docs", True),
    ("ws://example.org/socket", True),
])
def test_offsite_judges_each_url(url: str, leaves: bool) -> None:
    assert offsite([url]) == ([url] if leaves else [])


def test_a_page_renders_and_its_requests_are_recorded(page: Any) -> None:
    page.goto("data:text/html,<h1>plumbing</h1><img src='http://127.0.0.1:9/none.png'>")
    assert page.inner_text("h1") == "plumbing"
    assert any(url.startswith("http://127.0.0.1:9/") for url in page.requests_seen)
    assert offsite(page.requests_seen) == []
