"""Grading a lab: the learner's answers, run under the instructor's checks.

A lab is built from its solution (course.labs) and keeps the solution's cell ids. To grade it,
the solution runs with each of its answer cells replaced by the learner's cell of the same id,
and with the cells the learner added kept where they put them. Every other cell (the setup,
the text, and the check cells with their hidden tests) comes from the solution, so an edited
or deleted check in the lab changes nothing, and hidden tests count (nbgrader's autograder
works the same way).

The saved file is what gets graded. When the lab's kernel recorded (course.checks.record_runs)
that a check passed on code the file does not hold yet, the result says "save first".
"""

from __future__ import annotations

import copy
import json
import os
import sys
import textwrap
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
from nbclient import NotebookClient

from mock_server.contract import LEARNER_VARIABLE

from .checks import runs_path, source_hash
from .labs import PATTERN, ROOT, Exercise, LabError, answer_cell_ids, exercises, read_notebook
from .notebooks import CELL_TIMEOUT, QUIET_KERNEL

NOT_DONE = "not done yet: write your code where it says raise NotImplementedError()"
SAVE_FIRST = ("your notebook passed this check on code that is not saved yet, and the file still holds older "
              "code. Save the notebook (Ctrl+S, or File > Save Notebook), then grade it again.")
MISSING_ANSWER = ("the cell where your answer goes is no longer in your lab. Copy it back from the original "
                  "(labs/{name}), or get a fresh copy of the lab with `make work FRESH={number}` (yours is "
                  "kept as a backup).")
# How a notebook kernel learns which notebook it runs (JupyterLab sets it): a grading kernel
# must not inherit it, or it would record its runs as the learner's.
NOTEBOOK_VARIABLES = ("JPY_SESSION_NAME",)
HINT_WIDTH = 100


@dataclass(frozen=True)
class Result:
    lab: str
    exercise: str
    status: str  # "pass", "FAIL", "not done" or "save first"
    hint: str  # what to change, in full ("" when it passes)

    @property
    def passed(self) -> bool:
        return self.status == "pass"


def graded_notebook(lab: nbformat.NotebookNode, solution: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The solution, with the lab's answer cells (matched by id) and the cells the learner added."""
    answers = answer_cell_ids(solution)
    known = {cell.id for cell in solution.cells}
    course_cells_then = set(lab.metadata.get("course_lab", {}).get("course_cells", []))
    mine = {cell.id: cell for cell in lab.cells if cell.get("id") in answers}
    added: dict[str | None, list[nbformat.NotebookNode]] = {}
    anchor = None
    for cell in lab.cells:
        if cell.get("id") in known:
            anchor = cell.id
        elif cell.get("id") not in course_cells_then:  # cells of an older version of the lab are dropped
            added.setdefault(anchor, []).append(cell)
    graded = copy.deepcopy(solution)
    graded.cells = [_unrun(cell) for cell in added.get(None, [])]
    for cell in solution.cells:
        if cell.id not in answers:
            graded.cells.append(_unrun(cell))
        elif cell.id in mine:
            graded.cells.append(_unrun(mine[cell.id]))
        else:
            graded.cells.append(_missing_answer(cell, lab))
        graded.cells.extend(_unrun(extra) for extra in added.get(cell.id, []))
    return graded


def _unrun(cell: nbformat.NotebookNode) -> nbformat.NotebookNode:
    cell = copy.deepcopy(cell)
    if cell.cell_type == "code":
        cell.outputs, cell.execution_count = [], None
    return cell


def _missing_answer(answer: nbformat.NotebookNode, lab: nbformat.NotebookNode) -> nbformat.NotebookNode:
    name = Path(lab.metadata.get("course_lab", {}).get("solution", "")).name
    message = MISSING_ANSWER.format(name=name, number=name.split("_")[0])
    cell = _unrun(answer)
    cell.source = f"raise LookupError({message!r})"
    return cell


def grade(path: Path, *, on_cell: Callable[[], None] | None = None, timeout: int = CELL_TIMEOUT) -> list[Result]:
    """Grade the lab at `path` (or run a solution as it is) in a fresh kernel, without changing
    the file, and say how each exercise did."""
    lab = read_notebook(path)
    solution = _solution_of(lab, path)
    graded = graded_notebook(lab, solution) if solution is not None else copy.deepcopy(lab)
    hooks: dict[str, Any] = {"on_cell_executed": lambda **_: on_cell()} if on_cell else {}
    kernel_env = {name: value for name, value in os.environ.items() if name not in NOTEBOOK_VARIABLES}
    NotebookClient(
        graded, timeout=timeout, interrupt_on_timeout=True, allow_errors=True, kernel_name="python3",
        extra_arguments=QUIET_KERNEL, resources={"metadata": {"path": str(path.parent)}}, **hooks,
    ).execute(env=kernel_env)
    found = exercises(graded, path.name)
    unsaved = _ran_unsaved(path, graded, found)
    answers = answer_cell_ids(solution if solution is not None else lab)
    number = path.name.split("_")[0]
    results = []
    for exercise in found:
        check_error = _error(graded.cells[exercise.check_cell])
        if check_error is None:
            results.append(Result(number, exercise.title, "pass", ""))
            continue
        mine = [graded.cells[index] for index in exercise.answer_cells]
        answer_errors = [error for cell in sorted(mine, key=lambda c: c.id not in answers) if (error := _error(cell))]
        advice = hint(answer_errors[0] if answer_errors else check_error)
        if exercise.title in unsaved:
            results.append(Result(number, exercise.title, "save first", f"{SAVE_FIRST}\nThe saved file gives: {advice}"))
        else:
            results.append(Result(number, exercise.title, "not done" if advice == NOT_DONE else "FAIL", advice))
    return results


def _solution_of(lab: nbformat.NotebookNode, path: Path) -> nbformat.NotebookNode | None:
    named = lab.metadata.get("course_lab", {}).get("solution")
    if not named:
        return None  # a solution, or another notebook with exercises: run it as it is
    solution = ROOT / named
    if not solution.is_file():
        raise LabError(f"{path} was made from {named}, which this course no longer has; "
                       "finish it by its visible checks, or start the lab's new version with `make work`")
    return read_notebook(solution)


def _ran_unsaved(path: Path, graded: nbformat.NotebookNode, found: list[Exercise]) -> set[str]:
    """Exercises whose check passed in the lab's kernel (as course.checks.record_runs noted) on
    answer code that differs from the saved file, run after it was last saved."""
    try:
        ran = json.loads(runs_path(path).read_text())["cells"]
        saved_at = path.stat().st_mtime
    except (OSError, ValueError, KeyError, TypeError):
        return set()
    unsaved = set()
    for exercise in found:
        if not ran.get(graded.cells[exercise.check_cell].id, {}).get("ok"):
            continue
        for index in exercise.answer_cells:
            cell = graded.cells[index]
            seen = ran.get(cell.get("id"))
            if seen and seen.get("at", 0) > saved_at and seen.get("sha256") != source_hash(cell.source):
                unsaved.add(exercise.title)
    return unsaved


def _error(cell: nbformat.NotebookNode) -> dict[str, str] | None:
    return next((output for output in cell.get("outputs", []) if output.output_type == "error"), None)


def hint(error: dict[str, str] | None) -> str:
    """What an error tells the learner: an assertion's own message, else the exception and its message."""
    if error is None:
        return ""
    if error["ename"] == "NotImplementedError":
        return NOT_DONE
    message = error["evalue"].strip()
    return message if error["ename"] == "AssertionError" and message else f"{error['ename']}: {message}"


def report(results: list[Result]) -> str:
    """A table of every exercise, then each hint in full, then the score."""
    width = max(len(result.exercise) for result in results) + 2
    lines = [f"{'Lab':<5}{'Exercise':<{width}}Result"]
    lines += [f"{result.lab:<5}{result.exercise:<{width}}{result.status}" for result in results]
    for result in results:
        if not result.passed:
            lines += ["", f"Lab {result.lab} · {result.exercise}: {result.status}"]
            lines += [_wrap(paragraph) for paragraph in result.hint.splitlines() if paragraph.strip()]
    passed = sum(result.passed for result in results)
    lines.append(f"\n{passed} of {len(results)} exercises pass." + (" Well done!" if passed == len(results) else ""))
    return "\n".join(lines)


def _wrap(paragraph: str) -> str:
    return textwrap.fill(paragraph, HINT_WIDTH, initial_indent="    ", subsequent_indent="    ",
                         break_long_words=False, break_on_hyphens=False)


def find_labs(wanted: Sequence[str], folder: Path) -> list[Path]:
    """Lab notebooks named by number ("01") or by path; every lab in `folder` when none are named."""
    if not wanted:
        found = sorted(folder.glob(PATTERN))
        if not found:
            raise LabError(f"no labs in {folder}: `make work` (or `make lab`) puts your copies there")
        return found
    found = []
    for name in wanted:
        matches = [Path(name)] if name.endswith(".ipynb") else sorted(folder.glob(f"{name.zfill(2)}_{PATTERN}"))
        if not matches or not matches[0].is_file():
            raise LabError(f"no lab {name!r}: name one by number (01) or by path; your labs are in {folder}")
        found += matches
    return found


def grade_command(wanted: Sequence[str]) -> int:
    """Grade labs with a progress bar, print the report, and exit 0 (all pass), 1 (some do not)
    or 2 (a lab could not be graded)."""
    from tqdm.auto import tqdm

    from .server import MockServerError, running
    from .workspace import WORK, sync

    if not (WORK / "labs").is_dir():
        sync()
    paths = find_labs(wanted, WORK / "labs")
    cells = sum(cell.cell_type == "code" for path in paths for cell in _readable(path))
    results: list[Result] = []
    problems: list[str] = []
    learner, previous = None, os.environ.get(LEARNER_VARIABLE)
    # The labs need the mock server: start it once here (if none runs) rather than in every kernel.
    try:
        with running() as base:
            learner = join_for_grading(base)
            with tqdm(total=cells, desc="grading", unit="cell", leave=False) as progress:
                for path in paths:
                    progress.set_postfix_str(path.name)
                    try:
                        results += grade(path, on_cell=lambda: progress.update())
                    except LabError as exc:
                        problems.append(str(exc))
    except MockServerError as exc:  # raised before any lab ran
        print(f"error: the labs need the mock server, and {exc}", file=sys.stderr)
        return 2
    finally:
        _set_learner_variable(previous)  # join_for_grading sets it for the grading kernels
    if results:
        print(report(results))
    for problem in problems:
        print(f"\ncould not grade: {problem}", file=sys.stderr)
    if results and learner:
        share_results(base, learner, results)
    return 2 if problems else 0 if all(result.passed for result in results) else 1


# ---- Lab results for the instructor: sent only when the learner has joined a classroom server

RESULT_NAME_LIMIT = 64  # the classroom server keeps exercise names of at most this many characters


def join_for_grading(base: str) -> str | None:
    """The name the learner joined the classroom server at `base` with, or None when they have not
    joined it: alone, nothing is sent, and no server is asked anything.

    Joined means $MOCK_SERVER_LEARNER is set (course.server.ensure() has joined with it), or
    course.server.join(name) was called for this server, in a notebook (it keeps the key in
    course.server.keys_file()): then this process joins again with that key, and sets
    $MOCK_SERVER_LEARNER for the grading kernels, so that the labs' KEYs carry the learner key as
    they do in the learner's own notebooks.
    """
    from .server import MockServerError, join, joined_names

    name = os.environ.get(LEARNER_VARIABLE)
    if name:
        return name
    names = joined_names(base)
    if not names:
        return None
    if len(names) > 1:
        print(f"Your results are not sent to the classroom server at {base}: you joined it as "
              f"{' and '.join(names)}. Say which one gets them: {LEARNER_VARIABLE}={names[0]} make check",
              file=sys.stderr)
        return None
    try:
        join(names[0])
    except MockServerError as exc:
        print(f"Your results are not sent to the classroom server at {base}: {exc}", file=sys.stderr)
        return None
    os.environ[LEARNER_VARIABLE] = names[0]
    return names[0]


def _set_learner_variable(value: str | None) -> None:
    if value is None:
        os.environ.pop(LEARNER_VARIABLE, None)
    else:
        os.environ[LEARNER_VARIABLE] = value


def classroom_results(results: Sequence[Result]) -> dict[str, list[dict[str, Any]]]:
    """What the instructor gets, lab by lab: each exercise's title and whether it passed (no code, no hints)."""
    by_lab: dict[str, list[dict[str, Any]]] = {}
    for result in results:
        by_lab.setdefault(result.lab, []).append({"name": _short(result.exercise), "passed": result.passed})
    return by_lab


def _short(title: str) -> str:
    if len(title) <= RESULT_NAME_LIMIT:
        return title
    return title[: RESULT_NAME_LIMIT - 1].rsplit(" ", 1)[0] + "…"


def share_results(base: str, learner: str, results: Sequence[Result]) -> bool:
    """Send each exercise's pass or fail to the classroom server at `base`; print one line that says
    what was sent and where, or why it was not. Never raises: the grades stand either way."""
    from .server import send_results

    by_lab = classroom_results(results)
    try:
        for lab, exercises in by_lab.items():
            send_results(lab, exercises)
    except Exception as exc:  # noqa: BLE001 - whatever went wrong, the grade is already given
        print(f"Your results were not sent to the classroom server at {base}: {exc}. Your grades above stand; "
              "only the instructor does not see them yet.", file=sys.stderr)
        return False
    summary = "; ".join(f"lab {lab}: {sum(item['passed'] for item in exercises)} of {len(exercises)} pass"
                        for lab, exercises in by_lab.items())
    print(f"\nSent to the classroom server at {base}, as {learner}: whether each exercise passed ({summary}). "
          "Nothing else is sent: no code, no hints.")
    return True


def _readable(path: Path) -> list[nbformat.NotebookNode]:
    try:
        return read_notebook(path).cells
    except LabError:
        return []
