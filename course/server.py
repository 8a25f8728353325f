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

from mock_server.contract import (CLIENT_KEY_HEADER, DEFAULT_CLIENT_KEY, DEFAULT_PORT, INSTANCE_HEADER,
                                  LEARNER_SUBKEY_SEPARATOR, LEARNER_VARIABLE, PORT_VARIABLE, SERVICE, URL_VARIABLE)
from mock_server.process import spawn

from .ports import listener

REFUSED = "nothing is listening there"
PROBE_TIMEOUT = 3.0  # seconds; /__admin/health answers at once unless the server is stopped or stuck
ADMIN_TIMEOUT = 10.0
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
RESTARTED = "the mock server was restarted: earlier journal entries are gone"
OTHER_PORT = (f"use another port for the course: `make lab PORT=8766` (or `export {PORT_VARIABLE}=8766`, "
              "then restart JupyterLab)")
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
    where = _where()
    url, started = _find_or_start()
    if started and where in _answered:
        _say_restarted(f"the one at {url} had stopped, and a new one was started; its log: {log_path()}")
        _instances.pop(where, None)  # the new server's first answer is not news
    _healthy[where] = url
    _answered.add(where)
    name = os.environ.get(LEARNER_VARIABLE, "")
    if name and where not in _learners:
        _join(url, name, f"as {LEARNER_VARIABLE} says")
    return url


# ---- Classroom: joining a classroom server (python -m mock_server --classroom)

# The learner key this process joined with, per setting of the variables that choose the server.
_learners: dict[tuple[str, str], str] = {}


def keys_file() -> Path:
    """Where join() keeps this user's learner keys, per server and name (readable by the user only)."""
    config = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(config) / "http-clients-course" / "classroom-keys.json"


def join(name: str) -> str:
    """Join the classroom server at $MOCK_SERVER_URL as `name`; returns the learner key.

    From then on client_key("lesson-07") gives "<learner key>/lesson-07", so every notebook's KEY
    carries it. The key is kept in keys_file(), so joining again with the same name (another
    notebook, a restarted kernel) is a rejoin with the same key. Setting $MOCK_SERVER_LEARNER joins
    on the first ensure() instead.
    """
    return _join(_find(), name, "")


def _find() -> str:
    where = _where()
    return _healthy.get(where) or ensure()


def client_key(name: str) -> str:
    """The X-Client-Key to use for `name`: `name` itself alone, "<learner key>/<name>" once joined to a class."""
    where = _where()
    key = _learners.get(where)
    if key is None and os.environ.get(LEARNER_VARIABLE):
        ensure()  # joins
        key = _learners.get(where)
    return name if key is None else f"{key}{LEARNER_SUBKEY_SEPARATOR}{name}"


def learner_key() -> str | None:
    """The learner key this process joined the current server with, or None (alone)."""
    return _learners.get(_where())


def joined_names(base: str) -> list[str]:
    """The names this user joined the classroom server at `base` with (as keys_file() keeps them)."""
    names = _read_keys(keys_file()).get(base)
    return sorted(names) if isinstance(names, dict) else []


def send_results(lab: str, exercises: list[dict[str, Any]]) -> None:
    """Report one lab's results, [{"name": "Exercise 1 · ...", "passed": True}, ...], to the classroom
    server this process joined (POST /__admin/classroom/results with the learner key).

    Raises MockServerError, saying why, when the server did not take them.
    """
    key = learner_key()
    if key is None:
        raise MockServerError("this process has not joined a class (course.server.join)")
    base = _find()
    body = json.dumps({"lab": lab, "exercises": exercises}).encode()
    request = urllib.request.Request(f"{base}/__admin/classroom/results", body,
                                     {"Content-Type": "application/json", CLIENT_KEY_HEADER: key}, method="POST")
    try:
        with _DIRECT.open(request, timeout=ADMIN_TIMEOUT) as response:
            response.read()
    except urllib.error.HTTPError as exc:
        try:
            problem = json.loads(exc.read())
            why = f"{problem['error']}: {problem['message']}"
        except (ValueError, KeyError, TypeError):
            why = exc.reason
        raise MockServerError(f"it answered {exc.code} ({why})") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
        if isinstance(reason, TimeoutError):
            raise MockServerError(f"it did not answer within {ADMIN_TIMEOUT:g} s") from None
        raise MockServerError(f"it cannot be reached ({reason})") from None


def _join(base: str, name: str, why: str) -> str:
    path = keys_file()
    kept = _read_keys(path)
    remembered = kept.get(base, {}).get(name)
    headers = {"Content-Type": "application/json", **({CLIENT_KEY_HEADER: remembered} if remembered else {})}
    request = urllib.request.Request(f"{base}/__admin/classroom/join", json.dumps({"name": name}).encode(),
                                     headers, method="POST")
    try:
        with _DIRECT.open(request, timeout=ADMIN_TIMEOUT) as response:
            answer = json.load(response)
    except urllib.error.HTTPError as exc:
        try:
            problem = json.loads(exc.read())
        except ValueError:
            problem = {}
        if problem.get("error") == "classroom_off":
            raise MockServerError(f"the mock server at {base} is not a classroom server, so there is nothing to join: "
                                  f"alone, leave {LEARNER_VARIABLE} unset and do not call join()") from None
        raise MockServerError(f"joining the class at {base} as {name!r} failed: {exc.code} "
                              f"{problem.get('message', '')}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise MockServerError(f"joining the class at {base} failed: {exc}") from None
    key = answer["key"]
    kept.setdefault(base, {})[name] = key
    _write_keys(path, kept)
    _learners[_where()] = key
    how = "rejoined" if answer.get("rejoined") else "joined"
    print(f"{how} the class at {base} as {name}{' (' + why + ')' if why else ''}: every KEY = client_key(...) now "
          f"carries your learner key (kept in {path}, readable by you only)")
    return key


def _read_keys(path: Path) -> dict[str, dict[str, str]]:
    try:
        kept = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return kept if isinstance(kept, dict) else {}


def _write_keys(path: Path, kept: dict[str, dict[str, str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as out:
        json.dump(kept, out, indent=1, sort_keys=True)
    os.replace(temporary, path)


def ensure_tls() -> str:
    """The HTTPS base URL (HTTP/1.1 and HTTP/2) of the mock server that ensure() finds or starts.

    Its certificate comes from the course's own CA: trust it with
    `ssl.create_default_context(cafile=ca_path())`.
    """
    return _tls()["url"]


def ca_path() -> Path:
    """The PEM file of the CA that signed the HTTPS port's certificate (made when the server started)."""
    path = Path(_tls()["ca"])
    if not path.is_file():
        raise MockServerError(f"the mock server's CA file {path} is gone (was the temporary directory cleaned?). "
                              "Restart the server (`make lab` again, or stop it and rerun this) to make a new one.")
    return path


def _tls() -> dict[str, str]:
    base = ensure()
    health = _admin("GET", "health", DEFAULT_CLIENT_KEY)
    if "tls" not in health:
        raise MockServerError(f"the mock server at {base} is older than this course and has no HTTPS port. "
                              "Stop it and run this again to start the current one.")
    if health["tls"] is None:
        raise MockServerError(f"the mock server at {base} runs without HTTPS (it was started with --tls-port 0). "
                              "Restart it without that flag.")
    return health["tls"]


# The healthy server's URL, per setting of the variables that choose it: the admin helpers use it
# without probing /__admin/health before every call.
_healthy: dict[tuple[str, str], str] = {}
# Where a server answered this process before: a server started there now is a restart.
_answered: set[tuple[str, str]] = set()
# The run of the server (its INSTANCE_HEADER) that last answered an admin call, per setting: another
# value means someone else (another notebook, `make lab`) restarted it since.
_instances: dict[tuple[str, str], str] = {}


def _say_restarted(how: str) -> None:
    # Printed, not warned: one plain line in the cell's output, on every restart (a warning
    # would add the helper's file and line, and Python shows each warning only once).
    print(f"{RESTARTED} ({how})", file=sys.stderr)


def _note_instance(base: str, instance: str | None) -> None:
    """Say once when the server at `base` is not the run that answered this process before."""
    where = _where()
    known = _instances.get(where)
    if instance is not None and known is not None and instance != known:
        _say_restarted(f"the server at {base} is a new one since this notebook last asked it")
    if instance is not None:
        _instances[where] = instance


def _where() -> tuple[str, str]:
    return os.environ.get(URL_VARIABLE, ""), os.environ.get(PORT_VARIABLE, "")


def _find_or_start() -> tuple[str, bool]:
    """The healthy server's URL, and whether it had to be started."""
    url = os.environ.get(URL_VARIABLE, "").rstrip("/")
    if url:
        problem = probe(url)
        if problem:
            raise MockServerError(
                f"{URL_VARIABLE} is {url}, but {problem}. Start that server, or unset {URL_VARIABLE} "
                f"to use the one on port {port()} (`make server`)."
            )
        return url, False
    url = local_url()
    problem = probe(url)
    if problem is None:
        return url, False
    if problem != REFUSED:
        raise MockServerError(f"port {port()} is taken by another program ({problem}). Stop it, or {OTHER_PORT}.")
    start()
    return url, True


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
    """None if the course's mock server answers at `url`, else what is wrong.

    Raises MockServerError, saying what to do, when something there accepts connections but
    does not answer (most often a mock server stopped with Ctrl-Z or `kill -STOP`).
    """
    try:
        with _DIRECT.open(f"{url}/__admin/health", timeout=PROBE_TIMEOUT) as response:
            health = json.load(response)
    except urllib.error.HTTPError as exc:
        return f"it answered {exc.code} to /__admin/health"
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, ConnectionRefusedError):
            return REFUSED
        if isinstance(exc.reason, TimeoutError):
            raise MockServerError(unresponsive(url, PROBE_TIMEOUT)) from None
        return f"it cannot be reached ({exc.reason})"
    except TimeoutError:  # connected, and then no answer: urllib does not wrap this one
        raise MockServerError(unresponsive(url, PROBE_TIMEOUT)) from None
    except (OSError, ValueError) as exc:
        return f"it did not answer like the mock server ({exc})"
    if not isinstance(health, dict) or health.get("service") != SERVICE:
        return "it is not the course's mock server"
    return None


def unresponsive(url: str, waited: float) -> str:
    """What to do about a server at `url` that took connections but sent no answer for `waited` seconds."""
    parts = urllib.parse.urlsplit(url)
    found = listener(parts.port or 80) if parts.hostname in LOOPBACK else None
    what = f"something accepts connections at {url} but does not answer within {waited:g} s"
    # A stopped process keeps a plain `kill` (SIGTERM) pending until it resumes; -9 ends it at once.
    if found is None:
        return (f"{what}: most likely a mock server that is stopped (suspended with Ctrl-Z or `kill -STOP`) or stuck. "
                f"Find its pid with `lsof -i :{parts.port}`, then resume it with `kill -CONT <pid>`, or end it with "
                f"`kill -9 <pid>` and run this again to start a new one; or {OTHER_PORT}.")
    pid = found.pid
    if "mock_server" not in found.command.split():
        stopped, stop = (" that is stopped", f"kill -9 {pid}") if found.stopped else ("", f"kill {pid}")
        return (f"{what}: it is process {pid}{stopped} (`{found.command}`), not the course's mock server. "
                f"Stop it (`{stop}`), or {OTHER_PORT}.")
    if found.stopped:
        return (f"{what}: it is a mock server (pid {pid}) that is stopped (suspended with Ctrl-Z or `kill -STOP`). "
                f"Resume it with `kill -CONT {pid}`, or end it with `kill -9 {pid}` and run this again to start a "
                f"new one; or {OTHER_PORT}.")
    return (f"{what}: it is a mock server (pid {pid}), running but stuck or very busy. Wait a moment and run this "
            f"again, or end it with `kill {pid}` and run this again to start a new one; or {OTHER_PORT}.")


def _keep_loopback_off_proxies() -> None:
    """requests, httpx and urllib send even 127.0.0.1 through $HTTP_PROXY unless NO_PROXY says not to."""
    for name in ("NO_PROXY", "no_proxy"):
        hosts = [host for host in os.environ.get(name, "").split(",") if host]
        os.environ[name] = ",".join(hosts + [host for host in ("127.0.0.1", "localhost") if host not in hosts])


def _admin(method: str, path: str, key: str, query: dict[str, Any] | None = None, body: Any = None,
           wait: float = 0.0) -> Any:
    base = _healthy.get(_where()) or ensure()
    query = {name: value for name, value in (query or {}).items() if value is not None}
    url = f"{base}/__admin/{path}" + (f"?{urllib.parse.urlencode(query)}" if query else "")
    data = None if body is None else json.dumps(body).encode()
    headers = {CLIENT_KEY_HEADER: key, **({"Content-Type": "application/json"} if data else {})}
    request = urllib.request.Request(url, data, headers, method=method)
    try:
        with _DIRECT.open(request, timeout=ADMIN_TIMEOUT + wait) as response:
            _note_instance(base, response.headers.get(INSTANCE_HEADER))
            return json.load(response)
    except urllib.error.HTTPError as exc:
        raise MockServerError(f"{method} /__admin/{path} failed: {exc.code} {exc.read().decode()}") from None
    except (urllib.error.URLError, OSError) as exc:
        if isinstance(exc, TimeoutError) or isinstance(getattr(exc, "reason", None), TimeoutError):
            raise MockServerError(unresponsive(base, ADMIN_TIMEOUT)) from None  # still there: keep its URL
        _healthy.pop(_where(), None)
        reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
        if os.environ.get(URL_VARIABLE):
            again = "Start it again (`make server` in a terminal, or quit and rerun `make lab`)"
        else:
            again = "Run the notebook's first cell again (its ensure() starts a new one)"
        raise MockServerError(f"the mock server at {base} is gone ({reason}), and what it recorded went with it. "
                              f"{again}, then the cells you need.") from None


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


def outage(key: str, **fields: Any) -> dict[str, Any]:
    """Make the payments API fail on purpose for client `key`, and return the window as the server keeps it.

    The fields are those of PUT /__admin/payments/outage: `mode` ("error", "timeout", "slow" or
    "lost_answer"), exactly one of `calls` (the next N requests to /payments...) or `seconds` (a window
    of S seconds), and optionally `starts_in`, `delay`, `status` and `retry_after`. A new window
    replaces the old one. With no fields, the current window (its `state`: none, scheduled, active
    or over; `calls_left` or `seconds_left`; `affected`, the requests it struck so far).
    """
    if not fields:
        return _admin("GET", "payments/outage", key)
    return _admin("PUT", "payments/outage", key, body=fields)


def end_outage(key: str) -> dict[str, Any]:
    """End client `key`'s outage window now; returns it as it ended (how many requests it struck)."""
    return _admin("DELETE", "payments/outage", key)


def payments(key: str) -> list[dict[str, Any]]:
    """The payments client `key` really made, oldest first, read from the admin API: never struck by an
    outage, and not in the journal."""
    return _admin("GET", "payments", key)["payments"]


def deliveries(key: str, settle: float = 5.0) -> dict[str, Any]:
    """The server's webhook delivery log for client `key`, waiting up to `settle` seconds until none is pending.

    Returns `{"settled": bool, "pending": N, "count": N, "deliveries": [...]}`: each copy of each
    message sent, with its `id`, `endpoint`, `type`, `copy`, `state` ("pending", "delivered",
    "failed" or "cancelled") and every attempt's `status`, `error` and `latency`.
    """
    return _admin("GET", "webhooks/deliveries", key, {"settle": settle}, wait=settle)


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
        print(f"mock server: {url}  (API docs: {url}/docs; log: {log_path()})\n"
              f"HTTPS and HTTP/2: {ensure_tls()}  (CA: {ca_path()})", flush=True)
        child = subprocess.Popen(command, env={**os.environ, URL_VARIABLE: url})
        while True:
            try:
                return child.wait()
            except KeyboardInterrupt:
                continue  # Ctrl-C reaches the child too; wait for it to shut down


if __name__ == "__main__":
    sys.exit(main())
