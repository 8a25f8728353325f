"""Running the mock server as a child process.

Kept free of server imports, so notebooks can start the server without loading it.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

from .contract import READY_PREFIX



def spawn(args: Sequence[str] = (), *, port: int = 0, log: Path, timeout: float = 20.0) -> tuple[subprocess.Popen[str], str]:
    """Start `python -m mock_server` as a child process; return it and its base URL.

    Its log goes to `log`. Raises RuntimeError, with the log's last lines, if it cannot start.
    """
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "w") as log_file:
        process = subprocess.Popen(
            [sys.executable, "-m", "mock_server", "--port", str(port), *args],
            stdout=subprocess.PIPE,
            stderr=log_file,
            text=True,
            start_new_session=True,  # an interrupt in a notebook must not stop the server
        )
    line = _read_line(process, timeout)
    if line is None or not line.startswith(READY_PREFIX):
        process.kill()
        tail = "".join(log.read_text().splitlines(keepends=True)[-5:]) if log.exists() else ""
        raise RuntimeError(f"the mock server did not start (log: {log}):\n{tail}")
    assert process.stdout is not None
    process.stdout.close()  # the ready line is the only thing the server prints
    return process, line[len(READY_PREFIX):].split()[0]


def _read_line(process: subprocess.Popen[str], timeout: float) -> str | None:
    assert process.stdout is not None
    result: list[str] = []
    reader = threading.Thread(target=lambda: result.append(process.stdout.readline()), daemon=True)  # type: ignore[union-attr]
    reader.start()
    reader.join(timeout)
    return result[0] if result else None
