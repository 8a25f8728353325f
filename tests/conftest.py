"""Fixtures for testing against a real server over TCP."""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from mock_server.contract import URL_VARIABLE
from mock_server.process import spawn


@pytest.fixture(scope="session")
def base_url() -> str:
    """The session's private mock server (started by the root conftest.py)."""
    return os.environ[URL_VARIABLE]


@pytest.fixture
def key() -> str:
    """A client key of this test's own, so parallel tests never share server state."""
    return f"test-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def client(base_url: str, key: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base_url, headers={"X-Client-Key": key}, timeout=10) as client:
        yield client


@pytest.fixture(scope="class")
def private_server() -> Iterator[str]:
    """A mock server of this test class's own, which the notebook kernels it starts also use.

    Labs reset their client key as they start; a server of their own keeps these runs apart
    from nbval's run of the same solutions on the session server.
    """
    process, url = spawn(log=Path(tempfile.gettempdir()) / f"private-server-{os.getpid()}.log")
    previous = os.environ[URL_VARIABLE]
    os.environ[URL_VARIABLE] = url
    yield url
    os.environ[URL_VARIABLE] = previous
    process.terminate()
    process.wait(10)
