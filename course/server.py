"""Find or start the course's mock server, and ask it what it saw.

Every notebook begins with `BASE = ensure()`. The helpers below wrap the server's admin API
(`/__admin/...`) so a lesson can show the server's side in one line; the HTTP code a lesson
teaches is always written out in the lesson itself.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from mock_server.contract import CLIENT_KEY_HEADER, DEFAULT_PORT, PORT_VARIABLE, SERVICE, URL_VARIABLE
from mock_server.process import spawn

REFUSED = "nothing is listening there"
# Admin calls bypass any HTTP proxy: the server is always on this machine.
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class MockServerError(RuntimeError):
    """The mock server cannot be reached or started; the message says what to do."""


def port() -> int:
    """The port the course uses: $MOCK_SERVER_PORT, else 8765."""
    value = os.environ.get(PORT_VARIABLE, str(DEFAULT_PORT))
    if not value.isdigit() or not 0 < int(value) < 65536:
        raise MockServerError(f"{PORT_VARIABLE} must be a port number from 1 to 65535, got {value!r}")
    return int(value)


def local_url() -> str:
    return f"http://127.0.0.1:{port()}"


def log_path() -> Path:
    return Path(tempfile.gettempdir()) / f"http-clients-course-mock-server-{port()}.log"


def ensure() -> str:
    """The base URL of a healthy mock server, starting one in the background if needed.

    Uses $MOCK_SERVER_URL when set (the test suite sets it); otherwise the server on port
    $MOCK_SERVER_PORT (8765), starting it first if nothing answers there.
    """
    _keep_loopback_off_proxies()
    url = _find_or_start()
    _healthy[_where()] = url
    return url


# The healthy server's URL, per setting of the variables that choose it: the admin helpers use it
# without probing /__admin/health before every call.
_healthy: dict[tuple[str, str], str] = {}


def _where() -> tuple[str, str]:
    return os.environ.get(URL_VARIABLE, ""), os.environ.get(PORT_VARIABLE, "")


def _find_or_start() -> str:
    url = os.environ.get(URL_VARIABLE, "").rstrip("/")
    if url:
        problem = probe(url)
        if problem:
            raise MockServerError(
                f"{URL_VARIABLE} is {url}, but {problem}. Start that server, or unset {URL_VARIABLE} "
                f"to use the one on port {port()} (`make server`)."
            )
        return url
    url = local_url()
    problem = probe(url)
    if problem is None:
        return url
    if problem != REFUSED:
        raise MockServerError(
            f"port {port()} is taken by another program ({problem}). Stop it, or use another port "
            f"for the course: `export {PORT_VARIABLE}=8766`, then restart JupyterLab (`make lab`)."
        )
    start()
    return url


def start() -> subprocess.Popen[str] | None:
    """Start the mock server on the course's port as a background process.

    Returns the process, or None if another caller started the server at the same moment.
    """
    try:
        process, _ = spawn(port=port(), log=log_path())
    except RuntimeError as exc:
        if probe(local_url()) is None:
            return None
        raise MockServerError(f"mock server not running, and it could not be started: {exc}\n"
                              "Run `make server` in a terminal to see why.") from None
    return process


def probe(url: str) -> str | None:
    """None if the course's mock server answers at `url`, else what is wrong."""
    try:
        with _DIRECT.open(f"{url}/__admin/health", timeout=3) as response:
            health = json.load(response)
    except urllib.error.HTTPError as exc:
        return f"it answered {exc.code} to /__admin/health"
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, ConnectionRefusedError):
            return REFUSED
        return f"it cannot be reached ({exc.reason})"
    except (OSError, ValueError) as exc:
        return f"it did not answer like the mock server ({exc})"
    if not isinstance(health, dict) or health.get("service") != SERVICE:
        return "it is not the course's mock server"
    return None


def _keep_loopback_off_proxies() -> None:
    """requests, httpx and urllib send even 127.0.0.1 through $HTTP_PROXY unless NO_PROXY says not to."""
    for name in ("NO_PROXY", "no_proxy"):
        hosts = [host for host in os.environ.get(name, "").split(",") if host]
        os.environ[name] = ",".join(hosts + [host for host in ("127.0.0.1", "localhost") if host not in hosts])


def _admin(method: str, path: str, key: str, query: dict[str, Any] | None = None, body: Any = None) -> Any:
    base = _healthy.get(_where()) or ensure()
    query = {name: value for name, value in (query or {}).items() if value is not None}
    url = f"{base}/__admin/{path}" + (f"?{urllib.parse.urlencode(query)}" if query else "")
    data = None if body is None else json.dumps(body).encode()
    headers = {CLIENT_KEY_HEADER: key, **({"Content-Type": "application/json"} if data else {})}
    request = urllib.request.Request(url, data, headers, method=method)
    try:
        with _DIRECT.open(request, timeout=10) as response:
            return json.load(response)
    except urllib.error.HTTPError as exc:
        raise MockServerError(f"{method} /__admin/{path} failed: {exc.code} {exc.read().decode()}") from None
    except (urllib.error.URLError, OSError) as exc:
        _healthy.pop(_where(), None)
        reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
        raise MockServerError(
            f"the mock server at {base} stopped answering ({reason}), and what it recorded went with it. "
            "Run the notebook's first cell again (its ensure() starts a new server), then the cells you need."
        ) from None


def journal(
    key: str,
    *,
    method: str | None = None,
    path: str | None = None,
    query: str | Mapping[str, Any] | None = None,
    last: int | None = None,
) -> list[dict[str, Any]]:
    """The requests the server received from client `key`, oldest first.

    Filter by method, path, or query: the parameters a request sent, as a dict
    (`query={"fail": 2, "demo": "x"}`, encoded as `params=` encodes them) or as the exact query string.
    """
    if isinstance(query, Mapping):
        query = urllib.parse.urlencode(query, doseq=True)
    return _admin("GET", "requests", key, {"method": method, "path": path, "query": query, "last": last})["requests"]


def stats(key: str) -> dict[str, Any]:
    """Client `key`'s counts: requests, statuses, TCP connections opened, most in flight at once."""
    return _admin("GET", "stats", key)


def reset(key: str) -> None:
    """Forget everything client `key` did: journal, counters, records, statistics, chaos."""
    _admin("POST", "reset", key)


def chaos(key: str, **settings: Any) -> dict[str, Any]:
    """Make the server add trouble to `key`'s requests (latency, jitter, connect_latency,
    failure_rate, failure_codes); with no settings, go back to none."""
    if not settings:
        return _admin("DELETE", "chaos", key)
    return _admin("PUT", "chaos", key, body=settings)


def main(argv: Sequence[str] | None = None) -> int:
    cli = argparse.ArgumentParser(prog="python -m course.server", description=__doc__)
    commands = cli.add_subparsers(dest="command", required=True)
    commands.add_parser("ensure", help="print the server's URL, starting it if needed")
    run = commands.add_parser("run", help="run a command with the server up; stop it after, if we started it")
    run.add_argument("cmd", nargs=argparse.REMAINDER, help="the command, e.g. jupyter lab")
    args = cli.parse_args(argv)
    try:
        if args.command == "ensure":
            print(ensure())
            return 0
        return run_with_server(args.cmd)
    except MockServerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


@contextmanager
def running() -> Iterator[str]:
    """A healthy server for the duration of a `with` block: the one already running, or one
    started here and stopped at the end (a server someone else started keeps running)."""
    process = None
    try:
        if not os.environ.get(URL_VARIABLE) and probe(local_url()) == REFUSED:
            process = start()
        yield ensure()
    finally:
        if process is not None:
            process.terminate()
            process.wait(10)


def run_with_server(cmd: list[str]) -> int:
    """Run `cmd` with a healthy server and MOCK_SERVER_URL set (what `make lab` does)."""
    command = cmd[1:] if cmd[:1] == ["--"] else cmd
    if not command:
        raise MockServerError("give a command to run, e.g. `python -m course.server run -- jupyter lab`")
    with running() as url:
        print(f"mock server: {url}  (API docs: {url}/docs; log: {log_path()})", flush=True)
        child = subprocess.Popen(command, env={**os.environ, URL_VARIABLE: url})
        while True:
            try:
                return child.wait()
            except KeyboardInterrupt:
                continue  # Ctrl-C reaches the child too; wait for it to shut down


if __name__ == "__main__":
    sys.exit(main())
