"""One private mock server for the whole test session, shared by tests and notebooks.

It is started from pytest_sessionstart (nbval's notebook items get no fixtures), on a free
port, in the xdist controller only; workers and notebook kernels find it through
MOCK_SERVER_URL, which they inherit.
"""

from __future__ import annotations

import os
import subprocess
from collections import Counter
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


BROWSER_TESTS = "tests/browser/"


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Say at the end of the run whether the real-browser tests ran, and why not when they did not."""
    reports = [report for outcome in ("passed", "failed", "error", "skipped")
               for report in terminalreporter.stats.get(outcome, [])
               if getattr(report, "nodeid", "").startswith(BROWSER_TESTS)]
    skipped = [report for report in reports if report.skipped]
    if not skipped:
        return
    reasons = Counter(str(report.longrepr[2]).removeprefix("Skipped: ") if isinstance(report.longrepr, tuple)
                      else str(report.longrepr) for report in skipped)
    terminalreporter.write_sep("=", "browser tests skipped", yellow=True, bold=True)
    for reason, count in sorted(reasons.items()):
        terminalreporter.write_line(f"{count} real-browser test(s) in {BROWSER_TESTS} did not run: {reason}",
                                    yellow=True)
