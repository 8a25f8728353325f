"""What `make lab` opens works in a real browser: lesson 00 runs through JupyterLab's UI with no
unexpected error output, a tqdm progress bar is a widget, and the mock server's /docs renders, through
JupyterLab's own URL (jupyter-server-proxy) too, with no request leaving this machine.

JupyterLab runs on a temporary copy of the course (tests/jupyterlab_run.py: `make lab WORK=<tmp>`),
its kernels on a mock server of this module's own (lesson 00 resets its client key: nbval's run of
the same lesson on the session server must not see that).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest

from browsing import offsite, record_requests
from course.ports import listener
from jupyterlab_run import ROOT, Lab, free_port, jupyterlab
from mock_server.contract import PORT_VARIABLE
from mock_server.process import spawn
from mock_server.routes import GROUPS

LESSON = "notebooks/00_welcome.ipynb"
# ms: every cell of lesson 00 (its slowest waits a few seconds) on a loaded machine; BROWSER_RUN_TIMEOUT_MS to change
RUN_TIMEOUT = int(os.environ.get("BROWSER_RUN_TIMEOUT_MS", "180000"))
ERROR_OUTPUTS = ".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']"
NOTEBOOK = ".jp-NotebookPanel"  # each test opens one notebook in a workspace of its own (?reset)
PROMPT_DONE = re.compile(r"^\[\d+\]:$")


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    tmp = tmp_path_factory.mktemp("jupyterlab")
    server, url = spawn(log=tmp / "mock-server.log")
    try:
        with jupyterlab(tmp, url) as running:
            running.mock_server_url = url  # type: ignore[attr-defined]
            yield running
    finally:
        server.terminate()
        server.wait(10)


def wait_idle(page: Any) -> None:
    """Until the notebook has a kernel and it is idle (JupyterLab's status bar: "Python 3 (ipykernel) | Idle");
    a dialog (such as "Error Starting Kernel") ends the wait at once, and the test with its text."""
    page.wait_for_function(
        "() => document.querySelector('.jp-Dialog') || "
        "/\\(ipykernel\\) \\| Idle/.test(document.querySelector('.jp-StatusBar-Widget')?.innerText ?? '')",
        timeout=RUN_TIMEOUT)
    dialog = page.locator(".jp-Dialog")
    assert dialog.count() == 0, f"JupyterLab shows a dialog: {dialog.first.inner_text()}"


def run_all_from_the_menu(page: Any) -> None:
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")).click()


def wait_until_every_cell_ran(page: Any, cells: int) -> None:
    """Until each of the `cells` code cells shows its execution count ([3]:), none still [*]:."""
    page.wait_for_function(
        """([count, pattern, notebook]) => {
            const prompts = [...document.querySelectorAll(`${notebook} .jp-CodeCell .jp-InputArea-prompt`)];
            return prompts.length === count && prompts.every(p => new RegExp(pattern).test(p.textContent.trim()));
        }""",
        arg=[cells, PROMPT_DONE.pattern, NOTEBOOK], timeout=RUN_TIMEOUT)


def save(page: Any, path: Path) -> dict[str, Any]:
    """Save the notebook from the UI (Ctrl+S) and read what JupyterLab wrote: the outputs of the run."""
    before = path.stat().st_mtime_ns
    page.locator(f"{NOTEBOOK} .jp-Notebook").click(position={"x": 5, "y": 5})
    page.keyboard.press("Control+s")
    page.wait_for_function("() => !document.querySelector('.jp-mod-dirty')", timeout=30_000)
    assert path.stat().st_mtime_ns != before, "Ctrl+S did not save the notebook"
    return json.loads(path.read_text())


def expected_errors(original: Path) -> set[int]:
    """The code cells (by position among code cells) allowed to show an error or stderr: tagged
    raises-exception, or with stderr in the course's committed outputs."""
    notebook = nbformat.read(original, as_version=4)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    return {number for number, cell in enumerate(code)
            if "raises-exception" in cell.metadata.get("tags", [])
            or any(out.output_type == "error" or out.get("name") == "stderr" for out in cell.outputs)}


def shown_errors(notebook: dict[str, Any]) -> dict[int, str]:
    code = [cell for cell in notebook["cells"] if cell["cell_type"] == "code"]
    return {number: "".join(out.get("text", "")) or f"{out.get('ename')}: {out.get('evalue')}"
            for number, cell in enumerate(code) for out in cell["outputs"]
            if out["output_type"] == "error" or out.get("name") == "stderr"}


def test_lesson_00_runs_through_the_ui_without_unexpected_errors(lab: Lab, page: Any) -> None:
    original, copy = ROOT / LESSON, lab.work / LESSON
    original_bytes = original.read_bytes()
    code_cells = sum(cell.cell_type == "code" for cell in nbformat.read(original, as_version=4).cells)
    page.goto(f"{lab.url}/?token={lab.token}")  # JupyterLab's default URL, as `make lab` opens it: lesson 00
    page.wait_for_url(re.compile(r"/lab/tree/notebooks/00_welcome\.ipynb"), timeout=60_000)
    wait_idle(page)
    run_all_from_the_menu(page)
    wait_until_every_cell_ran(page, code_cells)
    wait_idle(page)

    allowed = expected_errors(original)
    in_the_page = page.locator(f"{NOTEBOOK} .jp-CodeCell").evaluate_all(
        f"cells => cells.flatMap((cell, n) => cell.querySelector(\"{ERROR_OUTPUTS}\") ? [n] : [])")
    assert set(in_the_page) <= allowed, f"error output (red) in code cells {sorted(set(in_the_page) - allowed)}"
    saved = save(page, copy)
    unexpected = {number: text for number, text in shown_errors(saved).items() if number not in allowed}
    assert not unexpected, f"unexpected error output: {unexpected}"
    ran = [cell for cell in saved["cells"] if cell["cell_type"] == "code"]
    assert all(cell["execution_count"] for cell in ran) and "All set: continue with lesson 01." in json.dumps(ran[-1])
    assert original.read_bytes() == original_bytes, "the course's own lesson 00 was written to"
    assert offsite(page.requests_seen) == []


TQDM_SCRATCH = """from tqdm.auto import tqdm

for _ in tqdm(range(3), desc="widget check"):
    pass
"""


def test_a_tqdm_progress_bar_renders_as_a_widget(lab: Lab, page: Any) -> None:
    scratch = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(TQDM_SCRATCH)])
    scratch.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
    nbformat.write(scratch, lab.work / "tqdm_scratch.ipynb")
    page.goto(f"{lab.url}/lab/tree/tqdm_scratch.ipynb?reset&token={lab.token}")  # only this notebook open
    wait_idle(page)
    run_all_from_the_menu(page)
    wait_until_every_cell_ran(page, 1)
    output = page.locator(f"{NOTEBOOK} .jp-OutputArea-output")
    bar = output.locator(".widget-hbox .widget-hprogress progress, .widget-hbox .widget-hprogress .progress-bar")
    bar.first.wait_for(timeout=60_000)  # ipywidgets' FloatProgress, drawn by the widget manager
    text = output.locator(".widget-hbox").first.inner_text().replace("\u2007", " ")  # tqdm pads with figure spaces
    assert "widget check: 100%" in text and "3/3" in text
    # Not the text fallback: no "IProgress not found" warning, no bar drawn in characters on stderr
    assert page.locator(f"{NOTEBOOK} {ERROR_OUTPUTS}").count() == 0
    assert output.locator(".jp-RenderedText").count() == 0, output.first.inner_text()
    assert offsite(page.requests_seen) == []


@pytest.mark.parametrize("where", ["mock server", "/mock-server/", "/proxy/<port>/"])
def test_docs_render_with_every_request_on_this_machine(lab: Lab, page: Any, where: str) -> None:
    server = lab.mock_server_url  # type: ignore[attr-defined]
    url = {"mock server": f"{server}/docs",
           "/mock-server/": f"{lab.url}/mock-server/docs?token={lab.token}",
           "/proxy/<port>/": f"{lab.url}/proxy/{server.rsplit(':', 1)[1]}/docs?token={lab.token}"}[where]
    page.goto(url)
    page.locator(".opblock-tag-section").first.wait_for(timeout=60_000)
    tags = page.locator(".opblock-tag").evaluate_all("tags => tags.map(t => t.dataset.tag)")
    assert tags == [group.name for group in GROUPS]
    assert page.locator(".opblock").count() > 50  # the operations, not just the group headers
    assert offsite(page.requests_seen) == [], "requests that would leave this machine"
    assert any(request.endswith("/openapi.json") for request in page.requests_seen)


ERRING_SCRATCH = ["import sys\nprint('to stderr', file=sys.stderr)", "raise ValueError('on purpose')", "1 + 1"]


def test_the_error_check_sees_stderr_and_tracebacks(lab: Lab, page: Any) -> None:
    """The checks above can fail: a cell writing to stderr and one raising are both seen, in the page and saved."""
    scratch = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source) for source in ERRING_SCRATCH])
    scratch.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
    path = lab.work / "erring_scratch.ipynb"
    nbformat.write(scratch, path)
    page.goto(f"{lab.url}/lab/tree/erring_scratch.ipynb?reset&token={lab.token}")
    wait_idle(page)
    run_all_from_the_menu(page)
    page.locator(f"{NOTEBOOK} {ERROR_OUTPUTS}").nth(1).wait_for(timeout=60_000)  # Run All stops at the error
    wait_idle(page)
    in_the_page = page.locator(f"{NOTEBOOK} .jp-CodeCell").evaluate_all(
        f"cells => cells.flatMap((cell, n) => cell.querySelector(\"{ERROR_OUTPUTS}\") ? [n] : [])")
    assert in_the_page == [0, 1]
    saved = shown_errors(save(page, path))
    assert sorted(saved) == [0, 1] and "to stderr" in saved[0] and "ValueError: on purpose" in saved[1]


@pytest.fixture(scope="module")
def hub_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """JupyterLab as repo2docker starts it (`./start jupyter lab`), with no mock server running: on a port
    of its own (not 8765, which may be the user's), so the one its kernel starts is stopped here after."""
    port = free_port()
    try:
        with jupyterlab(tmp_path_factory.mktemp("hub"), None, hub=True, environ={PORT_VARIABLE: str(port)}) as running:
            running.mock_server_port = port  # type: ignore[attr-defined]
            yield running
    finally:
        found = listener(port)
        if found is not None and "mock_server" in found.command.split():
            os.kill(found.pid, 15)


def test_on_a_hub_the_first_cell_starts_the_server_that_jupyterlab_serves(hub_lab: Lab, page: Any) -> None:
    """No Makefile: lesson 00's first cell (ensure()) starts the server, then /mock-server/docs renders."""
    port = hub_lab.mock_server_port  # type: ignore[attr-defined]
    assert listener(port) is None
    page.goto(f"{hub_lab.url}/lab/tree/{LESSON}?reset&token={hub_lab.token}")
    wait_idle(page)
    page.locator(f"{NOTEBOOK} .jp-CodeCell").first.click()
    page.keyboard.press("Shift+Enter")  # the first cell only: BASE = ensure(); print(BASE)
    first = page.locator(f"{NOTEBOOK} .jp-CodeCell").first
    first.locator(".jp-OutputArea-output", has_text=f"http://127.0.0.1:{port}").wait_for(timeout=RUN_TIMEOUT)
    docs = page.context.new_page()
    record_requests(docs)
    docs.goto(f"{hub_lab.url}/mock-server/docs")
    docs.locator(".opblock-tag-section").first.wait_for(timeout=60_000)
    assert docs.locator(".opblock-tag").evaluate_all("tags => tags.map(t => t.dataset.tag)") == [g.name for g in GROUPS]
    assert offsite(page.requests_seen + docs.requests_seen) == []
