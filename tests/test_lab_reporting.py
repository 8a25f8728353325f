"""Lab results reach the instructor: `make check` (python -m course.labs grade) sends each
exercise's pass or fail to the classroom server once the learner has joined it, says what it
sent and where, and says so when it could not, grades unchanged. Alone, nothing is sent.

Every server here is on 127.0.0.1: a classroom BackgroundServer, a plain one, and a stand-in
that only answers the health probe and records every request it gets.
"""

from __future__ import annotations

import csv
import http.server
import io
import json
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from course import grading
from course import server as course_server
from mock_server.config import Config
from mock_server.contract import LEARNER_VARIABLE, SERVICE, URL_VARIABLE
from mock_server.server import BackgroundServer

TOKEN = "instructor-token-for-reporting"
BEARER = {"Authorization": f"Bearer {TOKEN}"}
LONG_TITLE = "Exercise 3 · A payment that is created once, however often it is retried"  # 72 characters


def report_lab(folder: Path, name: str = "98_report_lab.ipynb", *, asks_the_server: bool = False) -> Path:
    """A notebook of two exercises, graded as it is: the first fails, the second passes. With
    `asks_the_server`, the second passes only if its kernel's KEY carries a learner key the
    server takes (so the grading kernels are joined too)."""
    second = ("import json, urllib.request\nfrom course.server import client_key, ensure\n"
              "### BEGIN SOLUTION\nKEY = client_key('lab-98')\n### END SOLUTION\n"
              "request = urllib.request.Request(ensure() + '/get', headers={'X-Client-Key': KEY})\n"
              "status = urllib.request.urlopen(request, timeout=10).status"
              if asks_the_server else '### BEGIN SOLUTION\ngreeting = "hello"\n### END SOLUTION')
    check = ('assert status == 200 and "~" in KEY, f"KEY {KEY!r} should carry the learner key"'
             if asks_the_server else 'assert greeting == "hello", "greeting should be \'hello\'"')
    path = folder / name
    nbformat.write(new_notebook(cells=[
        new_markdown_cell("# Lab 98 · reporting"),
        new_markdown_cell("## Exercise 1 · Add"),
        new_code_cell("def add(a, b):\n    ### BEGIN SOLUTION\n    return a - b\n    ### END SOLUTION"),
        new_code_cell('assert add(2, 3) == 5, "add(2, 3) should be 5"', metadata={"tags": ["check"]}),
        new_markdown_cell("## Exercise 2 · Greeting"),
        new_code_cell(second),
        new_code_cell(check, metadata={"tags": ["check"]}),
    ], metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}), path)
    return path


def grade(lab: Path, url: str, config: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """`python -m course.labs grade <lab>` against the server at `url`, with its own keys file."""
    environment = {name: value for name, value in os.environ.items() if name != LEARNER_VARIABLE}
    environment.update({URL_VARIABLE: url, "XDG_CONFIG_HOME": str(config), "COURSE_WORK": str(lab.parent / "work"),
                        **env})
    return subprocess.run([sys.executable, "-m", "course.labs", "grade", str(lab)], capture_output=True, text=True,
                          timeout=180, env=environment)


@pytest.fixture(scope="module")
def room() -> Iterator[str]:
    with BackgroundServer(Config(port=0, tls_port=0, classroom=True, instructor_token=TOKEN)) as url:
        yield url


def learners(room: str) -> dict[str, dict]:
    answer = httpx.get(f"{room}/__admin/classroom/learners", headers=BEARER, timeout=10)
    assert answer.status_code == 200, answer.text
    return {learner["name"]: learner for learner in answer.json()["learners"]}


def results_csv(room: str) -> list[dict[str, str]]:
    answer = httpx.get(f"{room}/__admin/classroom/results.csv", headers=BEARER, timeout=10)
    return list(csv.DictReader(io.StringIO(answer.text)))


class Recorder(http.server.BaseHTTPRequestHandler):
    """Answers the health probe as the mock server does, and records every request line."""

    seen: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self.seen.append(f"GET {self.path}")
        body = json.dumps({"status": "ok", "service": SERVICE, "seed": 0, "tls": None}).encode()
        self.send_response(200 if self.path == "/__admin/health" else 404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:  # noqa: N802
        self.seen.append(f"POST {self.path}")
        self.send_response(404)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def recorder() -> Iterator[tuple[str, list[str]]]:
    seen: list[str] = []
    handler = type("Recording", (Recorder,), {"seen": seen})
    with http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler) as stand_in:
        thread = threading.Thread(target=stand_in.serve_forever, daemon=True)
        thread.start()
        yield f"http://127.0.0.1:{stand_in.server_port}", seen
        stand_in.shutdown()


def test_alone_nothing_is_sent(tmp_path: Path, recorder: tuple[str, list[str]]) -> None:
    """Not joined (no MOCK_SERVER_LEARNER, no join() for this server; one for another server
    does not count): the report is as it always was and the server hears nothing but the probe
    that finds it."""
    url, seen = recorder
    keys = tmp_path / "config" / "http-clients-course" / "classroom-keys.json"
    keys.parent.mkdir(parents=True)
    keys.write_text(json.dumps({"http://127.0.0.1:9": {"ada": "ada~" + "x" * 22}}))
    result = grade(report_lab(tmp_path), url, tmp_path / "config")
    assert result.returncode == 1, result.stderr
    assert result.stdout.rstrip().endswith("1 of 2 exercises pass."), "nothing after the report"
    assert "classroom" not in result.stdout + result.stderr
    assert set(seen) == {"GET /__admin/health"}, f"alone, only the health probe reaches the server: {seen}"


def test_alone_join_for_grading_asks_nobody(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Deciding that the learner is alone reads the keys file and opens no connection at all."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    monkeypatch.delenv(LEARNER_VARIABLE, raising=False)
    connections: list[object] = []
    monkeypatch.setattr(socket.socket, "connect", lambda self, address: connections.append(address))
    assert grading.join_for_grading("http://127.0.0.1:8765") is None
    assert connections == [] and LEARNER_VARIABLE not in os.environ


def test_joined_by_the_variable_the_results_reach_the_instructor(tmp_path: Path, room: str) -> None:
    alone = grade(report_lab(tmp_path), room, tmp_path / "config", **{LEARNER_VARIABLE: "ada"})
    assert alone.returncode == 1, "the exit status is the grade's: one exercise fails"
    assert "1 of 2 exercises pass." in alone.stdout
    assert (f"Sent to the classroom server at {room}, as ada: whether each exercise passed (lab 98: 1 of 2 pass). "
            "Nothing else is sent: no code, no hints.") in alone.stdout
    assert learners(room)["ada"]["labs"] == {"98": {"Exercise 1 · Add": False, "Exercise 2 · Greeting": True}}
    rows = [(row["learner"], row["lab"], row["exercise"], row["passed"]) for row in results_csv(room)
            if row["learner"] == "ada"]
    assert rows == [("ada", "98", "Exercise 1 · Add", "false"), ("ada", "98", "Exercise 2 · Greeting", "true")]


def test_joined_in_a_notebook_make_check_rejoins_and_its_kernels_carry_the_key(tmp_path: Path, room: str) -> None:
    """course.server.join("bob") in a notebook (another process) is enough: grading rejoins with
    the kept key, so the labs' KEYs carry it, and the results go to bob."""
    config = tmp_path / "config"
    joined = subprocess.run([sys.executable, "-c", "from course.server import join; join('bob')"], capture_output=True,
                            text=True, timeout=60, env={**os.environ, URL_VARIABLE: room, "XDG_CONFIG_HOME": str(config)})
    assert joined.returncode == 0, joined.stderr
    result = grade(report_lab(tmp_path, asks_the_server=True), room, config)
    assert result.returncode == 1, result.stderr
    assert f"rejoined the class at {room} as bob" in result.stdout
    assert f"Sent to the classroom server at {room}, as bob: whether each exercise passed (lab 98: 1 of 2 pass)" \
        in result.stdout
    bob = learners(room)["bob"]
    assert bob["labs"] == {"98": {"Exercise 1 · Add": False, "Exercise 2 · Greeting": True}}
    assert bob["statuses"]["2xx"] >= 1, "the grading kernel's request was bob's"


def test_two_names_for_one_server_send_nothing_and_say_how_to_choose(tmp_path: Path, room: str) -> None:
    config = tmp_path / "config"
    for name in ("cleo", "cleo2"):
        subprocess.run([sys.executable, "-c", f"from course.server import join; join({name!r})"], check=True,
                       capture_output=True, timeout=60, env={**os.environ, URL_VARIABLE: room, "XDG_CONFIG_HOME": str(config)})
    result = grade(report_lab(tmp_path), room, config)
    assert (f"Your results are not sent to the classroom server at {room}: you joined it as cleo and cleo2. "
            f"Say which one gets them: {LEARNER_VARIABLE}=cleo make check") in result.stderr
    assert "Sent to" not in result.stdout
    assert learners(room)["cleo"]["labs"] == learners(room)["cleo2"]["labs"] == {}


def test_results_the_server_refuses_are_named_and_the_grade_stands(tmp_path: Path, room: str) -> None:
    """A lab whose number the server cannot take (a 422): the line says why, the report and the
    exit status are what they are without a class."""
    lab = report_lab(tmp_path, "9+8_odd_lab.ipynb")
    result = grade(lab, room, tmp_path / "config", **{LEARNER_VARIABLE: "dora"})
    assert result.returncode == 1 and "1 of 2 exercises pass." in result.stdout
    assert "Sent to" not in result.stdout
    assert f"Your results were not sent to the classroom server at {room}: it answered 422 (validation_failed: lab " \
        in result.stderr
    assert result.stderr.rstrip().endswith("Your grades above stand; only the instructor does not see them yet.")


def test_a_server_gone_before_the_results_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    monkeypatch.delenv(LEARNER_VARIABLE, raising=False)
    monkeypatch.setattr(course_server, "_learners", {})
    monkeypatch.setattr(course_server, "_healthy", {})
    with BackgroundServer(Config(port=0, tls_port=0, classroom=True, instructor_token=TOKEN)) as url:
        monkeypatch.setenv(URL_VARIABLE, url)
        course_server.join("eve")
    results = [grading.Result("98", "Exercise 1 · Add", "pass", "")]
    assert grading.share_results(url, "eve", results) is False
    said = capsys.readouterr().err
    assert said.startswith(f"Your results were not sent to the classroom server at {url}: it cannot be reached (")


def test_what_is_sent_is_each_exercise_and_whether_it_passed() -> None:
    results = [grading.Result("07", "Exercise 1 · Add", "pass", ""), grading.Result("07", LONG_TITLE, "FAIL", "a hint"),
               grading.Result("07", "Exercise 2 · Later", "save first", "save"),
               grading.Result("08", "Exercise 1 · Sign", "not done", grading.NOT_DONE)]
    sent = grading.classroom_results(results)
    assert sent == {
        "07": [{"name": "Exercise 1 · Add", "passed": True},
               {"name": "Exercise 3 · A payment that is created once, however often it…", "passed": False},
               {"name": "Exercise 2 · Later", "passed": False}],
        "08": [{"name": "Exercise 1 · Sign", "passed": False}],
    }
    assert all(len(item["name"]) <= grading.RESULT_NAME_LIMIT for items in sent.values() for item in items)
