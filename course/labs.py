"""Labs: generated from the solutions, kept fresh, and graded.

    python -m course.labs build [--force]   write labs/ from solutions/ (`make labs`)
    python -m course.labs check             exit 1, naming the files, if labs/ is not a fresh build
    python -m course.labs grade [LAB ...]   run your labs and report each exercise (`make check LAB=01`)

A solution notebook marks what the learner writes with nbgrader's delimiters, on lines of their
own inside code cells:

    ### BEGIN SOLUTION / ### END SOLUTION        becomes a stub that raises NotImplementedError
    ### BEGIN HIDDEN TESTS / ### END HIDDEN TESTS is removed from the lab

Each exercise starts with a markdown heading "## Exercise N · Title" and ends with a code cell
tagged `check`, whose assertions say what is wrong when they fail.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
from nbclient import NotebookClient

from .notebooks import CELL_TIMEOUT, QUIET_KERNEL, normalise

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS, LABS = ROOT / "solutions", ROOT / "labs"
PATTERN = "*_lab.ipynb"
STUB = ("# YOUR CODE HERE", "raise NotImplementedError()")
REGIONS = {"### BEGIN SOLUTION": "### END SOLUTION", "### BEGIN HIDDEN TESTS": "### END HIDDEN TESTS"}
CHECK_TAG = "check"
KEEP_RUNNING_TAG = "raises-exception"  # JupyterLab's Run All continues past cells with this tag
EXERCISE_HEADING = re.compile(r"#{2,3}\s+(Exercise\b.*)")
NOT_DONE = "not done yet: write your code where it says raise NotImplementedError()"


class LabError(Exception):
    """A solution notebook the lab tooling cannot use; the message says where and why."""


@dataclass(frozen=True)
class Exercise:
    title: str
    answer_cells: tuple[int, ...]  # the code cells between the heading and the check
    check_cell: int


@dataclass(frozen=True)
class Result:
    lab: str
    exercise: str
    passed: bool
    check_failed: bool  # the check cell itself raised (what the invert tests need)
    hint: str


def strip_regions(source: str, where: str) -> tuple[str, bool]:
    """The cell's source with solution regions stubbed and hidden tests removed, and whether it
    had a solution region."""
    kept: list[str] = []
    region: str | None = None
    region_line = 0
    had_solution = False
    for number, line in enumerate(source.splitlines(), 1):
        marker = line.strip()
        if marker in REGIONS:
            if region is not None:
                raise LabError(f"{where}, line {number}: {marker} inside {region} (line {region_line}); "
                               "regions cannot nest")
            region, region_line = marker, number
            if marker == "### BEGIN SOLUTION":
                indent = line[: len(line) - len(line.lstrip())]
                kept += [indent + stub for stub in STUB]
                had_solution = True
        elif marker in REGIONS.values():
            if region is None or REGIONS[region] != marker:
                raise LabError(f"{where}, line {number}: {marker} has no matching BEGIN line before it")
            region = None
        elif marker.startswith(("### BEGIN", "### END")):
            raise LabError(f"{where}, line {number}: unknown marker {marker!r}; use one of {', '.join(REGIONS)} "
                           f"and {', '.join(REGIONS.values())}")
        elif region is None:
            kept.append(line)
    if region is not None:
        raise LabError(f"{where}, line {region_line}: {region} is never closed (add {REGIONS[region]})")
    return "\n".join(kept), had_solution


def exercises(notebook: nbformat.NotebookNode, where: str) -> list[Exercise]:
    """The exercises of a lab or solution notebook, from its headings and check cells."""
    found: list[Exercise] = []
    title: str | None = None
    answers: list[int] = []
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type == "markdown":
            heading = EXERCISE_HEADING.match(cell.source.strip().splitlines()[0] if cell.source.strip() else "")
            if heading:
                title, answers = heading.group(1).strip(), []
        elif cell.cell_type == "code":
            if CHECK_TAG in cell.metadata.get("tags", []):
                if title is None:
                    raise LabError(f"{where}, cell {index}: a check cell with no '## Exercise ...' heading above it")
                found.append(Exercise(title, tuple(answers), index))
                title = None
            elif title is not None:
                answers.append(index)
    if not found:
        raise LabError(f"{where}: no exercises (a '## Exercise ...' heading followed by a cell tagged '{CHECK_TAG}')")
    return found


def sources_hash(notebook: nbformat.NotebookNode) -> str:
    """What a learner changes when they do a lab: the cells' sources (not their outputs)."""
    cells = [[cell.cell_type, cell.source] for cell in notebook.cells]
    return hashlib.sha256(json.dumps(cells).encode()).hexdigest()


def build_lab(solution: Path) -> nbformat.NotebookNode:
    """The learner's lab for `solution`: answers stubbed, hidden tests removed, no outputs."""
    notebook = nbformat.read(solution, as_version=4)
    lab = copy.deepcopy(notebook)
    solved: set[int] = set()
    for index, cell in enumerate(lab.cells):
        where = f"{solution.name}, cell {index}"
        if cell.cell_type != "code":
            if any(marker in cell.source for marker in (*REGIONS, *REGIONS.values())):
                raise LabError(f"{where}: solution and hidden-test markers belong in code cells, not {cell.cell_type}")
            continue
        cell.source, had_solution = strip_regions(cell.source, where)
        cell.outputs, cell.execution_count = [], None
        tags = cell.metadata.get("tags", [])
        if had_solution:
            solved.add(index)
        if (had_solution or CHECK_TAG in tags) and KEEP_RUNNING_TAG not in tags:
            cell.metadata["tags"] = [*tags, KEEP_RUNNING_TAG]
    for exercise in exercises(lab, solution.name):
        if not solved.intersection(exercise.answer_cells):
            raise LabError(f"{solution.name}: '{exercise.title}' has no ### BEGIN SOLUTION region before its check")
    normalise(lab)
    lab.metadata["course_lab"] = {"solution": f"solutions/{solution.name}", "sources_sha256": sources_hash(lab)}
    return lab


def serialise(notebook: nbformat.NotebookNode) -> str:
    text = nbformat.writes(notebook)
    return text if text.endswith("\n") else text + "\n"


def has_learner_changes(lab: Path) -> bool:
    notebook = nbformat.read(lab, as_version=4)
    recorded = notebook.metadata.get("course_lab", {}).get("sources_sha256")
    return recorded != sources_hash(notebook)


def backup_path(lab: Path) -> Path:
    number = 1
    while (candidate := lab.with_name(f"{lab.stem}.bak{number}.ipynb")).exists():
        number += 1
    return candidate


def build(solutions: Path = SOLUTIONS, labs: Path = LABS, *, force: bool = False) -> int:
    """Write every lab from its solution; keep (or with force, back up) labs a learner changed."""
    labs.mkdir(exist_ok=True)
    kept = []
    for solution in sorted(solutions.glob(PATTERN)):
        lab_path = labs / solution.name
        lab = build_lab(solution)
        if lab_path.exists() and has_learner_changes(lab_path):
            if not force:
                kept.append(lab_path)
                continue
            backup = backup_path(lab_path)
            lab_path.rename(backup)
            print(f"saved your version of {lab_path.name} as {backup}")
        lab_path.write_text(serialise(lab))
        print(f"wrote {lab_path}")
    for lab_path in kept:
        print(f"kept {lab_path}: it has your changes. To replace it with a fresh copy, run "
              f"`python -m course.labs build --force` (your version is then saved next to it).", file=sys.stderr)
    return 1 if kept else 0


def stale(solutions: Path = SOLUTIONS, labs: Path = LABS) -> list[str]:
    """Why labs/ is not a fresh build of solutions/, one line per file (empty when it is)."""
    problems = []
    for solution in sorted(solutions.glob(PATTERN)):
        lab_path = labs / solution.name
        if not lab_path.exists():
            problems.append(f"{lab_path}: missing")
        elif lab_path.read_text() != serialise(build_lab(solution)):
            problems.append(f"{lab_path}: differs from a fresh build of {solution}")
    for lab_path in sorted(labs.glob(PATTERN)):
        if not (solutions / lab_path.name).exists():
            problems.append(f"{lab_path}: no solution to build it from")
    return problems


def grade(path: Path, on_cell: Callable[[], None] | None = None) -> list[Result]:
    """Run a lab (or solution) notebook in a fresh kernel, without changing the file, and say
    which exercises pass."""
    notebook = nbformat.read(path, as_version=4)
    hooks: dict[str, Any] = {"on_cell_executed": lambda **_: on_cell()} if on_cell else {}
    NotebookClient(
        notebook, timeout=CELL_TIMEOUT, interrupt_on_timeout=True, allow_errors=True, kernel_name="python3",
        extra_arguments=QUIET_KERNEL, resources={"metadata": {"path": str(path.parent)}}, **hooks,
    ).execute()
    lab = path.name.split("_")[0]
    results = []
    for exercise in exercises(notebook, path.name):
        answer_errors = [error for index in exercise.answer_cells if (error := _error(notebook.cells[index]))]
        check_error = _error(notebook.cells[exercise.check_cell])
        first = answer_errors[0] if answer_errors else check_error
        results.append(Result(lab, exercise.title, first is None, check_error is not None, _hint(first)))
    return results


def _error(cell: nbformat.NotebookNode) -> dict[str, str] | None:
    return next((output for output in cell.get("outputs", []) if output.output_type == "error"), None)


def _hint(error: dict[str, str] | None) -> str:
    if error is None:
        return ""
    if error["ename"] == "NotImplementedError":
        return NOT_DONE
    message = (error["evalue"].strip().splitlines() or [""])[0]
    text = message if error["ename"] == "AssertionError" and message else f"{error['ename']}: {message}"
    return text if len(text) <= 100 else text[:97] + "..."


def find_labs(wanted: Sequence[str]) -> list[Path]:
    """Lab notebooks named by number ("01") or by path; all of labs/ when none are named."""
    if not wanted:
        return sorted(LABS.glob(PATTERN))
    found = []
    for name in wanted:
        matches = [Path(name)] if name.endswith(".ipynb") else sorted(LABS.glob(f"{name.zfill(2)}_{PATTERN}"))
        if not matches or not matches[0].is_file():
            raise LabError(f"no lab {name!r}: name one by number (01) or path; the labs are in {LABS}")
        found += matches
    return found


def report(results: list[Result]) -> str:
    width = max(len(result.exercise) for result in results) + 2
    lines = [f"{'Lab':<5}{'Exercise':<{width}}{'Result':<8}Hint"]
    lines += [f"{r.lab:<5}{r.exercise:<{width}}{'pass' if r.passed else 'FAIL':<8}{r.hint}" for r in results]
    passed = sum(result.passed for result in results)
    lines.append(f"\n{passed} of {len(results)} exercises pass." + (" Well done!" if passed == len(results) else ""))
    return "\n".join(lines)


def grade_command(wanted: Sequence[str]) -> int:
    from tqdm.auto import tqdm

    from .server import running

    paths = find_labs(wanted)
    cells = sum(cell.cell_type == "code" for path in paths for cell in nbformat.read(path, as_version=4).cells)
    results: list[Result] = []
    # The labs need the mock server: start it once here (if none runs) rather than in every kernel.
    with running(), tqdm(total=cells, desc="grading", unit="cell", leave=False) as progress:
        for path in paths:
            progress.set_postfix_str(path.name)
            results += grade(path, on_cell=lambda: progress.update())
    print(report(results))
    return 0 if all(result.passed for result in results) else 1


def main(argv: Sequence[str] | None = None) -> int:
    cli = argparse.ArgumentParser(prog="python -m course.labs", description=__doc__,
                                  formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = cli.add_subparsers(dest="command", required=True)
    build_cli = commands.add_parser("build", help="write labs/ from solutions/")
    build_cli.add_argument("--force", action="store_true", help="replace labs you changed (a backup is kept)")
    commands.add_parser("check", help="exit 1 if labs/ is not a fresh build of solutions/")
    grade_cli = commands.add_parser("grade", help="run labs and report each exercise")
    grade_cli.add_argument("labs", nargs="*", help="lab numbers (01) or notebook paths; default: all of labs/")
    args = cli.parse_args(argv)
    try:
        if args.command == "build":
            return build(force=args.force)
        if args.command == "check":
            problems = stale()
            for problem in problems:
                print(problem, file=sys.stderr)
            if problems:
                print("labs/ is out of date: run `make labs`.", file=sys.stderr)
            return 1 if problems else 0
        return grade_command(args.labs)
    except LabError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
