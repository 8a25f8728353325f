"""Execute notebooks in place, as the tests run them, so their committed outputs are current.

    python -m course.notebooks run notebooks/01_requests_basics.ipynb solutions/*.ipynb

Each notebook runs in a fresh kernel from its own folder, against a private mock server, and
is saved with its outputs and normalised metadata (no timings, one kernelspec). Run it after
editing a lesson or a solution; `make test` then checks that the outputs still hold.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from mock_server.contract import DEFAULT_PORT, URL_VARIABLE
from mock_server.process import spawn

KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
CELL_TIMEOUT = 120
# The kernel's own warnings (e.g. "running over TCP without encryption", which is about its
# local control sockets) are noise in a learner's terminal.
QUIET_KERNEL = ["--IPKernelApp.log_level=ERROR"]


def language_info() -> dict[str, object]:
    """What this Python's kernel says about its language, exactly as it tells JupyterLab.

    A notebook that already holds it is not marked as changed when its kernel starts, so
    opening it changes nothing on disk.
    """
    from ipykernel.ipkernel import IPythonKernel

    return dict(IPythonKernel.language_info)


def normalise(notebook: nbformat.NotebookNode) -> None:
    """One kernelspec, the kernel's language_info, and no per-cell noise, so diffs show only real changes."""
    notebook.metadata = {"kernelspec": KERNELSPEC, "language_info": language_info()}
    for cell in notebook.cells:
        for key in ("execution", "collapsed", "scrolled", "ExecuteTime"):
            cell.metadata.pop(key, None)


def execute(path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)
    NotebookClient(
        notebook, timeout=CELL_TIMEOUT, kernel_name="python3", extra_arguments=QUIET_KERNEL,
        resources={"metadata": {"path": str(path.parent)}},
    ).execute()
    normalise(notebook)
    nbformat.write(notebook, path)


def main(argv: Sequence[str] | None = None) -> int:
    cli = argparse.ArgumentParser(prog="python -m course.notebooks", description=__doc__,
                                  formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = cli.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="execute notebooks in place and keep their outputs")
    run.add_argument("paths", nargs="+", type=Path)
    args = cli.parse_args(argv)
    missing = [str(path) for path in args.paths if not path.is_file()]
    if missing:
        cli.error(f"no such notebook: {', '.join(missing)}")
    log = Path(tempfile.gettempdir()) / "http-clients-course-notebooks.log"
    try:  # the course's own port when free, so saved outputs show the URL learners see
        server, url = spawn(port=DEFAULT_PORT, log=log)
    except RuntimeError:
        server, url = spawn(log=log)
    os.environ[URL_VARIABLE] = url
    try:
        for path in args.paths:
            print(f"running {path}", flush=True)
            execute(path)
    finally:
        server.terminate()
        server.wait(10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
