"""One private mock server for the whole test session, shared by tests and notebooks.

It is started from pytest_sessionstart (nbval's notebook items get no fixtures), on a free
port, in the xdist controller only; workers and notebook kernels find it through
MOCK_SERVER_URL, which they inherit.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from mock_server.process import spawn

_server: subprocess.Popen[str] | None = None


@pytest.hookimpl(tryfirst=True)  # before xdist starts its workers, so they inherit the URL
def pytest_sessionstart(session: pytest.Session) -> None:
    global _server
    if hasattr(session.config, "workerinput"):
        return
    _server, url = spawn(log=Path(session.config.rootpath) / ".mock_server-test.log")
    os.environ["MOCK_SERVER_URL"] = url
    os.environ["NO_PROXY"] = os.environ["no_proxy"] = "127.0.0.1,localhost"


def pytest_sessionfinish(session: pytest.Session) -> None:
    if _server is not None:
        _server.terminate()
        _server.wait(10)
