"""course.server finds, starts and explains the mock server, and wraps its admin API."""

from __future__ import annotations

import http.server
import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from course import server
from mock_server.process import spawn


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def own_port(monkeypatch: pytest.MonkeyPatch) -> int:
    """A free port as the course's port, with no MOCK_SERVER_URL: as on a learner's machine."""
    port = free_port()
    monkeypatch.setenv("MOCK_SERVER_TLS_PORT", str(free_port()))  # port + 1000 may be taken, or past 65535
    monkeypatch.delenv("MOCK_SERVER_URL", raising=False)
    monkeypatch.setenv("MOCK_SERVER_PORT", str(port))
    return port


@pytest.fixture
def spawned(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[subprocess.Popen[str]]]:
    """Records the servers course.server starts, and stops them after the test."""
    processes: list[subprocess.Popen[str]] = []
    real_spawn = server.spawn

    def recording_spawn(*args: Any, **kwargs: Any) -> tuple[subprocess.Popen[str], str]:
        process, url = real_spawn(*args, **kwargs)
        processes.append(process)
        return process, url

    monkeypatch.setattr(server, "spawn", recording_spawn)
    yield processes
    for process in processes:
        process.terminate()
        process.wait(10)


@pytest.fixture
def other_program(own_port: int) -> Iterator[None]:
    """Something that is not the mock server, listening on the course's port."""
    httpd = http.server.HTTPServer(("127.0.0.1", own_port), http.server.SimpleHTTPRequestHandler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield
    httpd.shutdown()
    httpd.server_close()


def test_ensure_uses_mock_server_url(base_url: str) -> None:
    assert server.ensure() == base_url


def test_ensure_explains_a_dead_mock_server_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MOCK_SERVER_URL", f"http://127.0.0.1:{free_port()}")
    with pytest.raises(server.MockServerError, match="nothing is listening there.*unset MOCK_SERVER_URL"):
        server.ensure()


def test_ensure_starts_a_server_when_none_runs(own_port: int, spawned: list, capsys: pytest.CaptureFixture) -> None:
    url = server.ensure()
    assert url == f"http://127.0.0.1:{own_port}"
    assert requests.get(f"{url}/get", timeout=5).status_code == 200
    assert server.ensure() == url, "a second call finds the running server"
    assert len(spawned) == 1
    assert capsys.readouterr().err == "", "a first start is no restart: nothing to say"


@pytest.fixture
def stopped_server(own_port: int, spawned: list, monkeypatch: pytest.MonkeyPatch) -> Iterator[int]:
    """A mock server that course.server started, then stopped with SIGSTOP (Ctrl-Z does the same);
    yields its pid. The helpers' timeouts are cut to 1 s: a stopped server never answers anyway."""
    server.ensure()
    monkeypatch.setattr(server, "PROBE_TIMEOUT", 1.0)
    monkeypatch.setattr(server, "ADMIN_TIMEOUT", 1.0)
    pid = spawned[0].pid
    os.kill(pid, signal.SIGSTOP)
    try:
        yield pid
    finally:
        os.kill(pid, signal.SIGCONT)  # a stopped process would keep spawned's SIGTERM pending


@pytest.mark.parametrize("call", ["ensure", "journal"], ids=["a first ensure()", "an admin call after ensure()"])
def test_a_stopped_server_is_named_with_the_commands_that_fix_it(
    stopped_server: int, own_port: int, call: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if call == "ensure":
        monkeypatch.setattr(server, "_healthy", {})  # as in a notebook that has not found the server yet
    with pytest.raises(server.MockServerError) as raised:
        server.ensure() if call == "ensure" else server.journal("stopped")
    message = str(raised.value)
    assert f"accepts connections at http://127.0.0.1:{own_port} but does not answer within 1 s" in message
    assert f"a mock server (pid {stopped_server}) that is stopped" in message
    assert f"`kill -CONT {stopped_server}`" in message and f"`kill -9 {stopped_server}`" in message
    assert "MOCK_SERVER_PORT=8766" in message
    assert "taken by another program" not in message and "gone" not in message


def test_a_program_that_takes_connections_and_never_answers_is_named(own_port: int,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(server, "PROBE_TIMEOUT", 1.0)
    with socket.create_server(("127.0.0.1", own_port)):  # listens; the kernel accepts, nobody reads
        with pytest.raises(server.MockServerError) as raised:
            server.ensure()
    message = str(raised.value)
    assert f"it is process {os.getpid()} (`" in message and "not the course's mock server" in message
    assert f"Stop it (`kill {os.getpid()}`)" in message and "MOCK_SERVER_PORT=8766" in message


def started_then_killed(spawned: list, key: str) -> str:
    """The URL of a server that course.server started and that journaled one request of `key`, now killed."""
    url = server.ensure()
    requests.get(f"{url}/get", headers={"X-Client-Key": key}, timeout=5)
    assert len(server.journal(key)) == 1
    spawned[0].kill()
    spawned[0].wait(10)
    return url


def test_a_server_that_died_is_reported_then_restarted_with_one_notice(own_port: int, spawned: list, key: str,
                                                                       capsys: pytest.CaptureFixture) -> None:
    url = started_then_killed(spawned, key)

    with pytest.raises(server.MockServerError, match="is gone .* what it recorded went with it.*first cell again"):
        server.journal(key)
    assert capsys.readouterr().err == ""
    assert server.journal(key) == [], "the next call starts a new server..."
    notice = capsys.readouterr().err
    assert notice.startswith(server.RESTARTED) and url in notice and notice.count("\n") == 1, "...and says so"
    assert len(spawned) == 2
    assert server.journal(key) == [] and server.ensure() == url
    assert capsys.readouterr().err == "", "once per restart, not on every call"


def test_a_server_restarted_by_someone_else_is_noticed_once(own_port: int, spawned: list, key: str, tmp_path: Path,
                                                            capsys: pytest.CaptureFixture) -> None:
    url = started_then_killed(spawned, key)
    replacement, replacement_url = spawn(port=own_port, log=tmp_path / "replacement.log")  # as another notebook would
    spawned.append(replacement)
    assert replacement_url == url

    assert server.journal(key) == []
    notice = capsys.readouterr().err
    assert notice.startswith(server.RESTARTED) and url in notice and notice.count("\n") == 1
    assert server.journal(key) == [] and server.stats(key)["requests"] == 0
    assert capsys.readouterr().err == "", "once per restart, not on every call"


def test_ensure_explains_a_port_taken_by_another_program(other_program: None, own_port: int) -> None:
    with pytest.raises(server.MockServerError, match=f"port {own_port} is taken by another program.*MOCK_SERVER_PORT"):
        server.ensure()


def test_bad_port_variable_is_explained(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MOCK_SERVER_URL", raising=False)
    monkeypatch.setenv("MOCK_SERVER_PORT", "eighty")
    with pytest.raises(server.MockServerError, match="port number"):
        server.ensure()


def test_run_starts_the_server_for_a_command_and_stops_it_after(own_port: int, spawned: list) -> None:
    command = [sys.executable, "-c",
               "import os, urllib.request; urllib.request.urlopen(os.environ['MOCK_SERVER_URL'] + '/get')"]
    assert server.run_with_server(["--", *command]) == 0
    assert len(spawned) == 1 and spawned[0].poll() is not None, "the server it started is stopped"


def test_run_leaves_a_server_it_did_not_start(base_url: str) -> None:
    command = [sys.executable, "-c", "pass"]
    assert server.run_with_server(command) == 0
    assert server.probe(base_url) is None


def test_admin_wrappers(base_url: str, key: str) -> None:
    requests.get(f"{base_url}/status/418", headers={"X-Client-Key": key}, timeout=5)
    assert [(entry["path"], entry["status"]) for entry in server.journal(key)] == [("/status/418", 418)]
    assert server.journal(key, path="/status/418", query="") == server.journal(key)
    assert server.stats(key)["statuses"] == {"418": 1}
    assert server.chaos(key, latency=0.1)["latency"] == 0.1
    assert server.chaos(key)["latency"] == 0.0
    server.reset(key)
    assert server.journal(key) == []


def test_loopback_is_kept_off_proxies(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_PROXY", "internal.example")
    server.ensure()
    assert os.environ["NO_PROXY"] == "internal.example,127.0.0.1,localhost"
