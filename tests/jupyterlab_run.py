"""JupyterLab started as `make lab` starts it, on a free port and a temporary copy of the course.

`make lab WORK=<temporary folder>` with LAB_ARGS for a port and a token of the test's own: the course's
JUPYTER_CONFIG_PATH, root_dir, default_url (lesson 00) and ipc kernels come from the Makefile itself.
JupyterLab's own state (settings, workspaces, runtime files) and IPython's go to the temporary folder,
never to the user's home. Every wait is bounded; on the way out every kernel is shut down and the
whole process group (make, course.server, jupyter) is stopped, killed if it does not stop in time.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from mock_server.contract import URL_VARIABLE

ROOT = Path(__file__).resolve().parent.parent
START_TIMEOUT = 120.0  # seconds for JupyterLab to answer (a loaded 2-core machine)
STOP_TIMEOUT = 20.0


@dataclass
class Lab:
    url: str  # http://127.0.0.1:<port>
    token: str
    work: Path  # the temporary copy of the course that JupyterLab shows
    log: Path

    def get(self, path: str) -> httpx.Response:
        """GET `path` (from JupyterLab's root) with the token, not following redirects."""
        with httpx.Client(timeout=30) as client:
            return client.get(self.url + path, headers={"Authorization": f"token {self.token}"})

    def log_tail(self, lines: int = 40) -> str:
        return "".join(self.log.read_text(errors="replace").splitlines(keepends=True)[-lines:])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def jupyterlab(tmp: Path, mock_server_url: str | None, *, hub: bool = False,
               environ: dict[str, str] | None = None) -> Iterator[Lab]:
    """JupyterLab as `make lab` runs it, showing `tmp`/work, its kernels using the server at `mock_server_url`.

    With `hub`, as repo2docker runs it instead (Binder, a hub's image): `./start jupyter lab`, no Makefile,
    no course config path; with no `mock_server_url`, the kernels' first ensure() starts the server.
    """
    work, state = tmp / "work", tmp / "jupyter-state"
    state.mkdir(parents=True, exist_ok=True)
    port, token = free_port(), secrets.token_hex(16)
    lab_args = (f"--no-browser --ServerApp.ip=127.0.0.1 --ServerApp.port={port} --ServerApp.port_retries=0 "
                f"--IdentityProvider.token={token}" + (" --allow-root" if os.geteuid() == 0 else ""))  # CI runs as root
    # The kernels' ipc sockets live in the runtime folder: a short path (a socket's is at most 107 bytes).
    runtime = Path(tempfile.mkdtemp(prefix="jl-"))
    env = {**os.environ, **({URL_VARIABLE: mock_server_url} if mock_server_url else {}),
           "JUPYTERLAB_SETTINGS_DIR": str(state / "settings"), "JUPYTERLAB_WORKSPACES_DIR": str(state / "workspaces"),
           "JUPYTER_RUNTIME_DIR": str(runtime), "IPYTHONDIR": str(state / "ipython")}
    for name in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS"):  # under `make test`: this make is a make of its own
        env.pop(name, None)
    if mock_server_url is None:
        env.pop(URL_VARIABLE, None)
    env |= environ or {}
    if hub:
        env |= {"COURSE_WORK": str(work), "PATH": f"{Path(sys.executable).parent}:{env['PATH']}"}
        command = [str(ROOT / "start"), "jupyter", "lab", f"--ServerApp.root_dir={work}", *lab_args.split()]
    else:
        command = ["make", "-s", "-C", str(ROOT), "lab", f"WORK={work}", f"LAB_ARGS={lab_args}"]
    log = tmp / "jupyterlab.log"
    with open(log, "w") as output:
        process = subprocess.Popen(command, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=output,
                                   stderr=subprocess.STDOUT, env=env, start_new_session=True)
    lab = Lab(f"http://127.0.0.1:{port}", token, work, log)
    try:
        _wait_ready(lab, process)
        yield lab
    finally:
        _stop(lab, process)
        shutil.rmtree(runtime, ignore_errors=True)


def _wait_ready(lab: Lab, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"JupyterLab's command exited with {process.returncode} before it answered:\n"
                                 f"{lab.log_tail()}")
        try:
            if lab.get("/api/status").status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"JupyterLab did not answer at {lab.url} within {START_TIMEOUT:g} s:\n{lab.log_tail()}")


def _stop(lab: Lab, process: subprocess.Popen[bytes]) -> None:
    """Shut down every kernel (they run in sessions of their own), then the whole process group."""
    try:
        if process.poll() is None:
            for kernel in lab.get("/api/kernels").json():
                with httpx.Client(timeout=STOP_TIMEOUT) as client:
                    client.delete(f"{lab.url}/api/kernels/{kernel['id']}",
                                  headers={"Authorization": f"token {lab.token}"})
    except (httpx.HTTPError, ValueError):
        pass  # JupyterLab is gone or stuck: stopping its group below still ends its kernels' parent
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            break
        try:
            process.wait(STOP_TIMEOUT)
            break
        except subprocess.TimeoutExpired:
            continue
    # make may be gone while jupyter still shuts down: wait until nothing of the group is left
    deadline = time.monotonic() + STOP_TIMEOUT
    while time.monotonic() < deadline:
        try:
            os.killpg(process.pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
