"""Waiting, in tests, for what the server learns a moment after the client acts (a closed
connection, a request its client already left)."""

from __future__ import annotations

import time
from collections.abc import Callable


def wait_until(condition: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
    """Poll until `condition()` holds; fail, naming `what`, after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting until {what}"
        time.sleep(0.02)
