"""What the browser tests share: where chromium is, why they are skipped, and which requests a page made."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

CHROMIUM_VARIABLE = "CHROMIUM"
DEFAULT_CHROMIUM = "/usr/bin/chromium"  # Debian's chromium package (`apt-get install -y chromium`)
INSTALL = ("install Debian's chromium (`sudo apt-get install -y chromium`; .ci/run does it) "
           "or set CHROMIUM=/path/to/chromium")
# Where a page may send requests: this machine only (data: and blob: URLs never leave the browser).
LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "[::1]", "::1"}
LOCAL_SCHEMES = {"data", "blob", "about"}


def chromium_path() -> Path:
    return Path(os.environ.get(CHROMIUM_VARIABLE) or DEFAULT_CHROMIUM)


def skip_reason() -> str | None:
    """Why the browser tests cannot run here, or None."""
    path = chromium_path()
    if not (path.is_file() and os.access(path, os.X_OK)):
        return f"no Chromium at {path}: {INSTALL}"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright for Python is not installed: `make test` installs requirements.txt, which pins it"
    return None


SKIP_REASON = skip_reason()


def record_requests(page: Any) -> list[str]:
    """Record the URL of every request `page` makes from now on, in `page.requests_seen`."""
    seen: list[str] = []
    page.requests_seen = seen
    page.on("request", lambda request: seen.append(request.url))
    return seen


def offsite(urls: list[str]) -> list[str]:
    """The URLs that would leave this machine: anything but loopback HTTP(S) and browser-local schemes."""
    return [url for url in urls if not (urlsplit(url).scheme in LOCAL_SCHEMES
                                        or urlsplit(url).hostname in LOOPBACK_HOSTS)]



