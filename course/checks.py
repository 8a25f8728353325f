"""What the labs' checks and the lessons' demos need besides the mock server: failures made on
purpose, a way to watch logs and threads, and a record of what a lab's kernel ran.

Failures on purpose:
    closed_port()                   a port on 127.0.0.1 where nothing listens (connection refused)
    port_that_never_accepts()       a port whose server never completes a connection (connect timeout)
Watching:
    captured_logs("urllib3")        the messages a logger emits inside a `with` block
    finish_within(seconds, call)    run call() in a thread; fail, without hanging, if it takes too long
    gaps(entries)                   seconds between journal entries, as the server measured them
    wait_for_server(key)            until the server has finished the requests it got from `key`
    scenario("retry")               a name of this run's own, so /flaky counters start from zero
For `make check`:
    record_runs()                   remember which code each cell of this notebook last ran
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

LOOPBACK = "127.0.0.1"
# Connections queued on the never-accepting socket: with listen(0), Linux keeps one completed
# and one pending, so a third attempt gets no answer at all.
QUEUE_FILLERS = 3


def closed_port() -> int:
    """A port on 127.0.0.1 where nothing listens: connecting to it is refused at once."""
    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        return probe.getsockname()[1]


@contextmanager
def port_that_never_accepts() -> Iterator[int]:
    """The port of a server that never completes a new connection, for as long as the block runs.

    A listening socket whose queue of pending connections is full, and that never calls accept():
    the kernel ignores further connection attempts, as a firewall that drops packets would, so a
    client waits until its connect timeout. (Linux behaves so; other systems may refuse at once.)
    """
    with socket.socket() as busy:
        busy.bind((LOOPBACK, 0))
        busy.listen(0)
        fillers = []
        try:
            for _ in range(QUEUE_FILLERS):
                filler = socket.socket()
                fillers.append(filler)
                filler.setblocking(False)
                try:
                    filler.connect(busy.getsockname())
                except BlockingIOError:
                    pass  # the attempt goes on in the background, filling the queue
            yield busy.getsockname()[1]
        finally:
            for filler in fillers:
                filler.close()


class _Collect(logging.Handler):
    def __init__(self, into: list[str]) -> None:
        super().__init__(logging.DEBUG)
        self.into = into

    def emit(self, record: logging.LogRecord) -> None:
        self.into.append(record.getMessage())


@contextmanager
def captured_logs(name: str) -> Iterator[list[str]]:
    """The messages logger `name` (and its children) emits while the block runs, at every level.

    Libraries such as urllib3 log through `logging` and show nothing unless the application sets
    logging up; this catches their messages without changing what the application sees.
    """
    logger = logging.getLogger(name)
    messages: list[str] = []
    handler = _Collect(messages)
    previous = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield messages
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous)


class TookTooLong(AssertionError):
    """A call that `finish_within` stopped waiting for."""


def finish_within(seconds: float, call: Callable[[], T], what: str = "the call") -> tuple[T, float]:
    """Run `call()` in a helper thread; return its result and how long it took.

    Raises TookTooLong if it is still running after `seconds` (the thread is left to finish on
    its own, so a check never hangs); an exception from `call()` is raised here, unchanged.
    """
    outcome: dict[str, Any] = {}

    def run() -> None:
        started = time.monotonic()
        try:
            outcome["result"] = call()
        except BaseException as exc:  # handed to the caller below
            outcome["error"] = exc
        outcome["seconds"] = time.monotonic() - started

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(seconds)
    if worker.is_alive():
        raise TookTooLong(f"{what} was still running after {seconds:g} s")
    if "error" in outcome:
        raise outcome["error"]
    return outcome["result"], outcome["seconds"]


def gaps(entries: Sequence[Mapping[str, Any]]) -> list[float]:
    """Seconds between consecutive journal entries, from the server's own arrival times."""
    return [later["at"] - earlier["at"] for earlier, later in zip(entries, entries[1:])]


def wait_for_server(key: str, within: float = 10.0) -> None:
    """Return once the server has finished every request it received from client `key`.

    A client that gives up on a slow request (a read timeout) leaves the server still working on
    it: wait before counting what those requests did (orders created, say). Raises TookTooLong
    if requests are still in flight after `within` seconds.
    """
    from .server import stats

    give_up = time.monotonic() + within
    while (in_flight := stats(key)["in_flight"]) > 0:
        if time.monotonic() > give_up:
            raise TookTooLong(f"the server was still handling {in_flight} request(s) of {key!r} after {within:g} s")
        time.sleep(0.02)


def scenario(name: str) -> str:
    """`name` plus a suffix of this call's own: send it as a query parameter (`case=...`), so the
    server counts this run's requests apart from any earlier run's, even one still retrying."""
    return f"{name}-{uuid.uuid4().hex[:8]}"


RUNS_SUFFIX = ".ran.json"


def runs_path(notebook: Path) -> Path:
    """Where record_runs() keeps its record for `notebook`: a hidden file next to it."""
    return notebook.with_name(f".{notebook.stem}{RUNS_SUFFIX}")


def source_hash(source: str) -> str:
    return hashlib.sha256(source.encode()).hexdigest()


def record_runs() -> Path | None:
    """Remember, for each cell this notebook's kernel runs, a fingerprint of the code and whether
    it succeeded, in a file next to the notebook.

    `make check` grades the saved file; with this record it can tell you when a check passed on
    code you have not saved yet. Does nothing outside a notebook in JupyterLab or VS Code (when
    the kernel cannot tell which notebook it runs) and returns where the record is kept.
    """
    from IPython import get_ipython

    shell = get_ipython()
    if shell is None:
        return None
    notebook = _this_notebook(shell.user_ns)
    if notebook is None:
        return None
    record = runs_path(notebook)
    ran: dict[str, dict[str, Any]] = {}

    def after_cell(result: Any) -> None:
        cell_id = getattr(result.info, "cell_id", None)
        if not cell_id:
            return
        ran[cell_id] = {"sha256": source_hash(result.info.raw_cell), "ok": bool(result.success), "at": time.time()}
        temporary = record.with_name(record.name + ".tmp")
        try:
            temporary.write_text(json.dumps({"notebook": notebook.name, "cells": ran}))
            os.replace(temporary, record)
        except OSError:
            pass  # a read-only folder: make check just cannot warn about unsaved code

    for callback in list(shell.events.callbacks["post_run_cell"]):
        if getattr(callback, "__name__", "") == after_cell.__name__ and callback.__module__ == __name__:
            shell.events.unregister("post_run_cell", callback)  # the setup cell ran again
    shell.events.register("post_run_cell", after_cell)
    return record


def _this_notebook(namespace: Mapping[str, Any]) -> Path | None:
    """The notebook this kernel runs: JupyterLab names it in $JPY_SESSION_NAME, VS Code in a global."""
    named = os.environ.get("JPY_SESSION_NAME") or namespace.get("__vsc_ipynb_file__")
    if not named or not str(named).endswith(".ipynb"):
        return None
    path = Path(named)
    # The kernel runs in the notebook's folder; JupyterLab may give the path from its root folder.
    return path if path.is_absolute() else Path.cwd() / path.name
