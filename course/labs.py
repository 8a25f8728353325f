"""Labs: built from the solutions, kept fresh, and graded.

    python -m course.labs build [--force]   write labs/ from solutions/ (`make labs`)
    python -m course.labs check             exit 1, naming the files, if labs/ is not a fresh build
    python -m course.labs grade [LAB ...]   grade your labs in work/labs/ (`make check LAB=01`)

A solution notebook marks what the learner writes with nbgrader's delimiters, on lines of their
own inside code cells:

    ### BEGIN SOLUTION / ### END SOLUTION        becomes a stub that raises NotImplementedError
    ### BEGIN HIDDEN TESTS / ### END HIDDEN TESTS is removed from the lab (grading runs it)

Each exercise starts with a markdown heading "## Exercise N · Title" and ends with a code cell
tagged `check`, whose assertions say what is wrong when they fail. A lab keeps its solution's
cell ids: grading (course.grading) matches the learner's answer cells to the solution by id.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import re
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import nbformat

from .notebooks import normalise

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS, LABS, NOTEBOOKS = ROOT / "solutions", ROOT / "labs", ROOT / "notebooks"
PATTERN = "*_lab.ipynb"
STUB = ("# YOUR CODE HERE", "raise NotImplementedError()")
BEGIN_SOLUTION = "### BEGIN SOLUTION"
REGIONS = {BEGIN_SOLUTION: "### END SOLUTION", "### BEGIN HIDDEN TESTS": "### END HIDDEN TESTS"}
CHECK_TAG = "check"
KEEP_RUNNING_TAG = "raises-exception"  # JupyterLab's Run All continues past cells with this tag
EXERCISE_HEADING = re.compile(r"#{2,3}\s+(Exercise\b.*)")


class LabError(Exception):
    """A notebook the lab tooling cannot use; the message says where, why, and what to do."""


class UnreadableNotebook(LabError):
    """A file that is not a notebook at all: empty, cut short, not JSON, or JSON of another shape."""

    def __init__(self, path: Path, problem: str) -> None:
        super().__init__(f"{shown(path)} {problem}. {how_to_restore(path)}.")
        self.path, self.problem = path, problem


@dataclass(frozen=True)
class Exercise:
    title: str
    answer_cells: tuple[int, ...]  # the code cells between the heading and the check
    check_cell: int


def read_notebook(path: Path) -> nbformat.NotebookNode:
    """The notebook at `path`; a LabError that names the file, what is wrong with it and how to
    restore it, when it is not a notebook."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise LabError(f"{shown(path)}: no such notebook") from None
    except OSError as exc:
        raise UnreadableNotebook(path, f"cannot be read ({exc.strerror})") from None
    problem = _not_a_notebook(raw)
    if problem is None:
        try:
            notebook = nbformat.reads(raw.decode(), as_version=4)
            nbformat.validate(notebook)
            return notebook
        except (nbformat.ValidationError, ValueError, KeyError, TypeError, AttributeError) as exc:
            problem = f"is JSON, but not a valid notebook ({str(getattr(exc, 'message', exc)).splitlines()[0]})"
    raise UnreadableNotebook(path, problem)


def _not_a_notebook(raw: bytes) -> str | None:
    """What makes these bytes no notebook at all, if anything does."""
    if not raw.strip():
        return f"is empty ({len(raw)} bytes)"
    cut_short = f"is cut short: its JSON stops, unfinished, after {len(raw)} bytes (a save that did not complete?)"
    try:
        data = json.loads(raw.decode())
    except UnicodeDecodeError as exc:
        return cut_short if exc.reason == "unexpected end of data" else f"is not text: byte {exc.start} is not UTF-8"
    except json.JSONDecodeError as exc:
        if _ends_unfinished(exc):
            return cut_short
        return f"is not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})"
    if not isinstance(data, dict) or not isinstance(data.get("cells"), list) or "nbformat" not in data:
        return 'is JSON, but not a notebook (a notebook is an object with "nbformat" and a list of "cells")'
    return None


def _ends_unfinished(error: json.JSONDecodeError) -> bool:
    """Whether the JSON is fine up to where the text ends: a file cut short, not one written wrong."""
    rest = error.doc[error.pos:].rstrip()
    # An unterminated string runs to the end of the file (a JSON string holds no newline).
    return not rest or error.msg.startswith("Unterminated string") or any(
        literal.startswith(rest) for literal in ("true", "false", "null"))


def how_to_restore(path: Path) -> str:
    """How to get a working copy of the notebook at `path` back, by where it lives."""
    folder = path.resolve().parent
    if folder == LABS:
        return (f"`make labs FORCE=1` saves it as {backup_path(path).name} and writes a fresh build; "
                f"`git checkout -- {shown(path)}` restores the committed one")
    if folder in (SOLUTIONS, NOTEBOOKS):
        return f"`git checkout -- {shown(path)}` restores the committed version"
    checkpoint = path.parent / ".ipynb_checkpoints" / f"{path.stem}-checkpoint.ipynb"
    saved = f" (JupyterLab's last checkpoint of your work is {shown(checkpoint)})" if checkpoint.is_file() else ""
    return (f"`make work FRESH={path.name.split('_')[0]}` saves it as {backup_path(path).name} and gives you a "
            f"fresh copy{saved}")


def shown(path: Path) -> str:
    """A path as one would type it in the course's folder: relative when inside it."""
    return str(path.relative_to(ROOT)) if path.is_absolute() and path.is_relative_to(ROOT) else str(path)


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
            if marker == BEGIN_SOLUTION:
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


def answer_cell_ids(solution: nbformat.NotebookNode) -> set[str]:
    """The ids of the cells a learner writes in: the code cells with a solution region."""
    return {cell.id for cell in solution.cells
            if cell.cell_type == "code" and any(line.strip() == BEGIN_SOLUTION for line in cell.source.splitlines())}


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
    """The learner's lab for `solution`: answers stubbed, hidden tests removed, no outputs, and
    the solution's cell ids kept (grading matches answers to the solution by them)."""
    notebook = read_notebook(solution)
    ids = [cell.id for cell in notebook.cells]
    repeated = sorted({cell_id for cell_id in ids if ids.count(cell_id) > 1})
    if repeated:
        raise LabError(f"{solution.name}: cell ids {', '.join(repeated)} appear more than once; every cell needs its own")
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
            raise LabError(f"{solution.name}: '{exercise.title}' has no {BEGIN_SOLUTION} region before its check")
    normalise(lab)
    lab.metadata["course_lab"] = {
        "solution": f"solutions/{solution.name}",
        "sources_sha256": sources_hash(lab),
        "course_cells": [cell.id for index, cell in enumerate(lab.cells) if index not in solved],
    }
    return lab


def serialise(notebook: nbformat.NotebookNode) -> str:
    text = nbformat.writes(notebook)
    return text if text.endswith("\n") else text + "\n"


def has_learner_changes(lab: Path) -> bool:
    notebook = read_notebook(lab)
    recorded = notebook.metadata.get("course_lab", {}).get("sources_sha256")
    return recorded != sources_hash(notebook)


def _why_keep(lab: Path) -> str | None:
    """Why a build must not simply overwrite `lab`, if it must not: someone changed it, or it is
    no notebook any more (and may still hold someone's work)."""
    try:
        return "it has changes of its own, not made by a build" if has_learner_changes(lab) else None
    except UnreadableNotebook as exc:
        return f"it {exc.problem}"


def backup_path(notebook: Path) -> Path:
    number = 1
    while (candidate := notebook.with_name(f"{notebook.stem}.bak{number}.ipynb")).exists():
        number += 1
    return candidate


def build(solutions: Path = SOLUTIONS, labs: Path = LABS, *, force: bool = False) -> list[Path]:
    """Write every lab from its solution; keep (or with force, back up) labs someone changed and
    labs that are no notebook any more. Returns the labs it kept.

    A solution it cannot build does not stop the others: a LabError names them all at the end.
    """
    labs.mkdir(exist_ok=True)
    kept: dict[Path, str] = {}
    failed = []
    for solution in sorted(solutions.glob(PATTERN)):
        lab_path = labs / solution.name
        try:
            lab = serialise(build_lab(solution))
        except LabError as exc:
            failed.append(str(exc))
            continue
        if lab_path.exists() and lab_path.read_bytes() == lab.encode():
            continue
        reason = _why_keep(lab_path) if lab_path.exists() else None
        if reason:
            if not force:
                kept[lab_path] = reason
                continue
            backup = backup_path(lab_path)
            lab_path.rename(backup)
            print(f"saved {shown(lab_path)} as {shown(backup)}: {reason}")
        lab_path.write_text(lab)
        print(f"wrote {shown(lab_path)}")
    for lab_path, reason in kept.items():
        print(f"kept {shown(lab_path)}: {reason}. Learners work in work/labs/ (`make work` copies the labs there); "
              f"to replace this file with a fresh build, run `make labs FORCE=1` (this one is saved as "
              f"{backup_path(lab_path).name} first).")
    if failed:
        raise LabError("\n".join(failed))
    return list(kept)


def stale(solutions: Path = SOLUTIONS, labs: Path = LABS) -> list[str]:
    """Why labs/ is not a fresh build of solutions/, one line per file (empty when it is).

    A lab whose committed version is a fresh build passes even when someone changed the file
    since (a learner working in labs/ itself): their edits are never a test failure.
    """
    problems = []
    for solution in sorted(solutions.glob(PATTERN)):
        lab_path = labs / solution.name
        fresh = serialise(build_lab(solution))
        if not lab_path.exists():
            problems.append(f"{lab_path}: missing")
        elif not _same_build(lab_path.read_bytes(), fresh) and not _same_build(_committed(lab_path), fresh):
            problems.append(f"{lab_path}: differs from a fresh build of {solution}")
    for lab_path in sorted(labs.glob(PATTERN)):
        if not (solutions / lab_path.name).exists():
            problems.append(f"{lab_path}: no solution to build it from")
    return problems


def _same_build(text: bytes | None, fresh: str) -> bool:
    """Whether a lab's text is `fresh`, whichever Python version built it (language_info names it)."""
    if text is None:
        return False
    if text == fresh.encode():
        return True
    try:
        ours, theirs = json.loads(text), json.loads(fresh)
    except ValueError:
        return False
    try:
        for notebook in (ours, theirs):
            notebook["metadata"]["language_info"].pop("version", None)
    except (KeyError, TypeError, AttributeError):  # a fresh build has it; JSON without it is no fresh build
        return False
    return ours == theirs


def _committed(path: Path) -> bytes | None:
    """The file as the last commit has it, when the change since then is a learner's (or broke the file)."""
    if _why_keep(path) is None:
        return None
    try:
        committed = subprocess.run(["git", "show", f"HEAD:./{path.name}"], cwd=path.parent, capture_output=True,
                                   timeout=30)
    except OSError:
        return None
    return committed.stdout if committed.returncode == 0 else None


def main(argv: Sequence[str] | None = None) -> int:
    cli = argparse.ArgumentParser(prog="python -m course.labs", description=__doc__,
                                  formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = cli.add_subparsers(dest="command", required=True)
    build_cli = commands.add_parser("build", help="write labs/ from solutions/")
    build_cli.add_argument("--force", action="store_true", help="replace changed labs too (a backup is kept)")
    commands.add_parser("check", help="exit 1 if labs/ is not a fresh build of solutions/")
    grade_cli = commands.add_parser(
        "grade", help="grade labs; exit 0 when every exercise passes, 1 when one does not, 2 when a lab cannot be graded")
    grade_cli.add_argument("labs", nargs="*", help="lab numbers (01) or notebook paths; default: all of work/labs/")
    args = cli.parse_args(argv)
    try:
        if args.command == "build":
            build(force=args.force)
            return 0
        if args.command == "check":
            problems = stale()
            for problem in problems:
                print(problem, file=sys.stderr)
            if problems:
                print("labs/ is out of date: run `make labs`.", file=sys.stderr)
            return 1 if problems else 0
        from .grading import grade_command

        return grade_command(args.labs)
    except LabError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    # Run the imported module's main, so the LabError that grading raises is the one caught here.
    from course.labs import main as course_labs_main

    sys.exit(course_labs_main())
