"""The lab machinery: labs/ is a fresh build, every check can fail, learners' work is safe."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from course import labs
from mock_server.process import spawn

SOLUTIONS = sorted(labs.SOLUTIONS.glob(labs.PATTERN))


def notebook(*cells: nbformat.NotebookNode) -> nbformat.NotebookNode:
    return new_notebook(cells=list(cells), metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                                     "language": "python"}})


def check_cell(source: str) -> nbformat.NotebookNode:
    return new_code_cell(source, metadata={"tags": ["check"]})


def fixture_solution(directory: Path, vacuous: bool = False) -> Path:
    """A two-exercise solution; with vacuous=True the second check asserts nothing."""
    path = directory / "99_fixture_lab.ipynb"
    nbformat.write(notebook(
        new_markdown_cell("# Lab 99 · fixture"),
        new_markdown_cell("## Exercise 1 · Add"),
        new_code_cell("def add(a, b):\n    ### BEGIN SOLUTION\n    return a + b\n    ### END SOLUTION"),
        check_cell('assert add(2, 3) == 5, "add(2, 3) should be 5"\n### BEGIN HIDDEN TESTS\nassert add(-1, 1) == 0\n'
                   "### END HIDDEN TESTS"),
        new_markdown_cell("## Exercise 2 · Greeting"),
        new_code_cell('### BEGIN SOLUTION\ngreeting = "hello"\n### END SOLUTION'),
        check_cell("assert True" if vacuous else 'assert greeting == "hello", "greeting should be \'hello\'"'),
    ), path)
    return path


def checks_that_pass_on_the_lab(solution: Path, directory: Path) -> list[str]:
    """The invert test: exercises whose check passes on the solution but not on the stubbed lab
    are sound; return the ones that are not."""
    lab = directory / f"lab-{solution.name}"
    lab.write_text(labs.serialise(labs.build_lab(solution)))
    on_solution = labs.grade(solution)
    on_lab = labs.grade(lab)
    problems = [f"{r.exercise}: fails on the solution ({r.hint})" for r in on_solution if not r.passed]
    problems += [f"{r.exercise}: its check passes on the unsolved lab" for r in on_lab if not r.check_failed]
    return problems


@pytest.fixture(scope="class")
def private_server() -> Iterator[None]:
    """Labs reset their client key as they start; a server of their own keeps these runs apart
    from nbval's run of the same solutions on the session server."""
    process, url = spawn(log=Path(tempfile.gettempdir()) / f"labs-test-{os.getpid()}.log")
    previous = os.environ["MOCK_SERVER_URL"]
    os.environ["MOCK_SERVER_URL"] = url
    yield
    os.environ["MOCK_SERVER_URL"] = previous
    process.terminate()
    process.wait(10)


def test_labs_are_a_fresh_build_of_the_solutions() -> None:
    assert labs.stale() == []


@pytest.fixture
def built(tmp_path: Path) -> tuple[Path, Path]:
    """solutions/ holding the fixture solution, and labs/ freshly built from it."""
    solutions, built = tmp_path / "solutions", tmp_path / "labs"
    solutions.mkdir()
    fixture_solution(solutions)
    assert labs.build(solutions, built) == 0
    return solutions, built


def test_check_command_names_stale_labs(built: tuple[Path, Path]) -> None:
    solutions, built = built
    assert labs.stale(solutions, built) == []
    (built / "99_fixture_lab.ipynb").write_text("{}")
    (built / "98_orphan_lab.ipynb").write_text("{}")
    assert labs.stale(solutions, built) == [
        f"{built / '99_fixture_lab.ipynb'}: differs from a fresh build of {solutions / '99_fixture_lab.ipynb'}",
        f"{built / '98_orphan_lab.ipynb'}: no solution to build it from",
    ]


def test_build_stubs_answers_removes_hidden_tests_and_clears_outputs(tmp_path: Path) -> None:
    lab = labs.build_lab(fixture_solution(tmp_path))
    sources = [cell.source for cell in lab.cells]
    assert sources[2] == "def add(a, b):\n    # YOUR CODE HERE\n    raise NotImplementedError()"
    assert sources[3] == 'assert add(2, 3) == 5, "add(2, 3) should be 5"'
    assert sources[5] == "# YOUR CODE HERE\nraise NotImplementedError()"
    assert all(cell.get("outputs", []) == [] for cell in lab.cells)
    assert lab.cells[3].metadata["tags"] == ["check", "raises-exception"], "Run All goes on past failing checks"


@pytest.mark.parametrize(("source", "message"), [
    ("x = 1\n### BEGIN SOLUTION\ny = 2", "line 2: ### BEGIN SOLUTION is never closed (add ### END SOLUTION)"),
    ("### END SOLUTION", "line 1: ### END SOLUTION has no matching BEGIN line"),
    ("### BEGIN SOLUTION\n### BEGIN HIDDEN TESTS\n### END HIDDEN TESTS\n### END SOLUTION", "regions cannot nest"),
    ("### BEGIN SOLUTIONS\nx = 1", "unknown marker '### BEGIN SOLUTIONS'"),
])
def test_malformed_markers_are_explained(tmp_path: Path, source: str, message: str) -> None:
    path = tmp_path / "01_broken_lab.ipynb"
    nbformat.write(notebook(new_markdown_cell("## Exercise 1 · x"), new_code_cell(source), check_cell("assert x")), path)
    with pytest.raises(labs.LabError, match=message.replace("(", r"\(").replace(")", r"\)")):
        labs.build_lab(path)


@pytest.mark.parametrize(("cells", "message"), [
    ([new_markdown_cell("## Exercise 1 · x\n### BEGIN SOLUTION"), check_cell("assert x")], "belong in code cells"),
    ([new_markdown_cell("## Exercise 1 · x"), new_code_cell("x = 1"), check_cell("assert x")],
     "has no ### BEGIN SOLUTION region"),
    ([new_code_cell("### BEGIN SOLUTION\nx = 1\n### END SOLUTION"), check_cell("assert x")], "no '## Exercise"),
    ([new_markdown_cell("## Exercise 1 · x"), new_code_cell("### BEGIN SOLUTION\nx = 1\n### END SOLUTION")],
     "no exercises"),
])
def test_badly_shaped_solutions_are_explained(tmp_path: Path, cells: list, message: str) -> None:
    path = tmp_path / "01_broken_lab.ipynb"
    nbformat.write(notebook(*cells), path)
    with pytest.raises(labs.LabError, match=message):
        labs.build_lab(path)


def test_build_keeps_a_lab_the_learner_changed_unless_forced(built: tuple[Path, Path],
                                                             capsys: pytest.CaptureFixture) -> None:
    solutions, built = built
    lab_path = built / "99_fixture_lab.ipynb"
    work = nbformat.read(lab_path, as_version=4)
    work.cells[5].source = 'greeting = "hello"'
    nbformat.write(work, lab_path)
    mine = lab_path.read_text()

    assert labs.build(solutions, built) == 1
    assert lab_path.read_text() == mine, "the learner's work is untouched"
    assert "kept" in capsys.readouterr().err

    assert labs.build(solutions, built, force=True) == 0
    assert (built / "99_fixture_lab.bak1.ipynb").read_text() == mine, "and kept as a backup when forced"
    assert labs.stale(solutions, built) == []


def test_running_cells_alone_does_not_count_as_changes(built: tuple[Path, Path]) -> None:
    solutions, built = built
    lab_path = built / "99_fixture_lab.ipynb"
    ran = nbformat.read(lab_path, as_version=4)
    ran.cells[2].outputs = [nbformat.v4.new_output("stream", name="stdout", text="hi\n")]
    nbformat.write(ran, lab_path)
    assert labs.build(solutions, built) == 0


def test_a_vacuous_check_is_caught(tmp_path: Path) -> None:
    assert checks_that_pass_on_the_lab(fixture_solution(tmp_path), tmp_path) == []
    assert checks_that_pass_on_the_lab(fixture_solution(tmp_path, vacuous=True), tmp_path) == [
        "Exercise 2 · Greeting: its check passes on the unsolved lab"]


def test_grade_command_reports_each_exercise(tmp_path: Path) -> None:
    solution = fixture_solution(tmp_path)
    lab = tmp_path / "99_lab_copy_lab.ipynb"
    lab.write_text(labs.serialise(labs.build_lab(solution)))

    def run(path: Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "course.labs", "grade", str(path)], capture_output=True,
                              text=True, timeout=120)

    unsolved = run(lab)
    assert unsolved.returncode == 1
    assert "0 of 2 exercises pass." in unsolved.stdout
    assert f"FAIL    {labs.NOT_DONE}" in unsolved.stdout
    assert "grading" in unsolved.stderr, "a progress bar while it runs"
    solved = run(solution)
    assert solved.returncode == 0 and "2 of 2 exercises pass. Well done!" in solved.stdout
    assert lab.read_text() == labs.serialise(labs.build_lab(solution)), "grading never changes the notebook"


def test_grade_explains_an_unknown_lab() -> None:
    result = subprocess.run([sys.executable, "-m", "course.labs", "grade", "42"], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 2 and "no lab '42'" in result.stderr


def _lab_class(solution: Path) -> type:
    """One test class per lab, so xdist's loadscope can run the labs on different workers."""

    @pytest.mark.usefixtures("private_server")
    class TestLab:
        def test_every_check_passes_on_the_solution_and_fails_on_the_lab(self, tmp_path: Path) -> None:
            assert checks_that_pass_on_the_lab(solution, tmp_path) == []

    TestLab.__name__ = TestLab.__qualname__ = f"TestLab{solution.name.split('_')[0]}"
    return TestLab


for _solution in SOLUTIONS:
    globals()[f"TestLab{_solution.name.split('_')[0]}"] = _lab_class(_solution)
