"""Fixtures for testing against a real server over TCP."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import httpx
import pytest


@pytest.fixture(scope="session")
def base_url() -> str:
    """The session's private mock server (started by the root conftest.py)."""
    return os.environ["MOCK_SERVER_URL"]


@pytest.fixture
def key() -> str:
    """A client key of this test's own, so parallel tests never share server state."""
    return f"test-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def client(base_url: str, key: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base_url, headers={"X-Client-Key": key}, timeout=10) as client:
        yield client
