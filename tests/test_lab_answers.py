"""Grading rejects the plausible wrong answers to every exercise and accepts correct alternatives.

Each lab has a table in tests/lab_answers/ (see its __init__.py): per exercise, at least three
Wrong answers, each with the hint it must get, and at least one Right answer that differs from
the reference. A run grades one lab file holding one row of every exercise, with the lab's own
check cells emptied or deleted, so only the solution's checks (hidden tests included) decide.
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import nbformat
import pytest

from course import grading, labs
from lab_answers import Answer

SOLUTIONS = sorted(labs.SOLUTIONS.glob(labs.PATTERN))
MIN_WRONG, MIN_RIGHT = 3, 1
CELL_TIMEOUT = 60  # a wrong answer that hangs must still end: the checks bound their own waits
VANDALISM = ("emptied", "deleted")


def lab_number(solution: Path) -> str:
    return solution.name.split("_")[0]


def table(solution: Path) -> dict[int, list[Answer]]:
    return importlib.import_module(f"lab_answers.lab_{lab_number(solution)}").ANSWERS


def exercise_number(title: str) -> int:
    match = re.match(r"Exercise (\d+)", title)
    assert match, f"an exercise title should start with 'Exercise N': {title!r}"
    return int(match.group(1))


def reference_answer(source: str) -> str:
    """An answer cell of the solution, as a learner who solved it would have it."""
    return "\n".join(line for line in source.splitlines()
                     if line.strip() not in (labs.BEGIN_SOLUTION, labs.REGIONS[labs.BEGIN_SOLUTION]))


def lab_with(solution: Path, answers: dict[int, Answer | None], vandalism: str) -> nbformat.NotebookNode:
    """The lab built from `solution`, with these answers (None: the lab's stub; missing: the
    reference) and its check cells emptied or deleted."""
    reference = labs.read_notebook(solution)
    answer_ids = labs.answer_cell_ids(reference)
    by_id = {cell.id: cell for cell in reference.cells}
    lab = labs.build_lab(solution)
    for exercise in labs.exercises(lab, solution.name):
        [index] = [index for index in exercise.answer_cells if lab.cells[index].id in answer_ids]
        number = exercise_number(exercise.title)
        if number not in answers:
            lab.cells[index].source = reference_answer(by_id[lab.cells[index].id].source)
        elif answers[number] is not None:
            lab.cells[index].source = answers[number].source
        lab.cells[exercise.check_cell].source = "pass" if vandalism == "emptied" else "DELETE"
    lab.cells = [cell for cell in lab.cells if cell.source != "DELETE"]
    return lab


def grade_run(solution: Path, answers: dict[int, Answer | None], vandalism: str, folder: Path) -> dict[int, grading.Result]:
    path = folder / solution.name
    path.write_text(labs.serialise(lab_with(solution, answers, vandalism)))
    return {exercise_number(result.exercise): result for result in grading.grade(path, timeout=CELL_TIMEOUT)}


@pytest.mark.parametrize("solution", SOLUTIONS, ids=lab_number)
def test_every_exercise_has_a_table_of_wrong_and_right_answers(solution: Path) -> None:
    reference = labs.read_notebook(solution)
    numbers = [exercise_number(exercise.title) for exercise in labs.exercises(reference, solution.name)]
    answers = table(solution)
    assert sorted(answers) == numbers, f"lab {lab_number(solution)}: the table should cover exercises {numbers}"
    references = {reference_answer(cell.source).strip() for cell in reference.cells if cell.id in labs.answer_cell_ids(reference)}
    for number, rows in answers.items():
        wrong = [row for row in rows if row.hint is not None]
        right = [row for row in rows if row.hint is None]
        assert len(wrong) >= MIN_WRONG and len(right) >= MIN_RIGHT, (
            f"exercise {number}: {len(wrong)} wrong and {len(right)} right answers; the rule is at least "
            f"{MIN_WRONG} and {MIN_RIGHT}")
        assert not [row.label for row in right if row.source.strip() in references], \
            f"exercise {number}: a Right answer should differ from the reference solution"


def _lab_class(solution: Path) -> type:
    """One class per lab, with a server of its own, so xdist runs the labs on different workers."""
    answers = table(solution)
    runs = max((len(rows) for rows in answers.values()), default=0)

    @pytest.mark.usefixtures("private_server")
    class TestAnswers:
        def test_the_unsolved_lab_fails_every_exercise(self, tmp_path: Path) -> None:
            results = grade_run(solution, dict.fromkeys(answers), "emptied", tmp_path)
            passing = [result.exercise for result in results.values() if result.passed]
            assert not passing, f"these checks pass on the unsolved lab: {passing}"
            assert {result.status for result in results.values()} == {"not done"}

        def test_the_reference_answers_pass_without_the_labs_checks(self, tmp_path: Path) -> None:
            results = grade_run(solution, {}, "deleted", tmp_path)
            failing = {result.exercise: result.hint for result in results.values() if not result.passed}
            assert not failing, f"the reference answers fail: {failing}"

        @pytest.mark.parametrize("run", range(runs))
        def test_wrong_answers_are_rejected_and_right_ones_accepted(self, tmp_path: Path, run: int) -> None:
            chosen = {number: rows[run] for number, rows in answers.items() if run < len(rows)}
            results = grade_run(solution, chosen, VANDALISM[run % 2], tmp_path)
            problems = []
            for number, row in chosen.items():
                result = results[number]
                if row.hint is None and not result.passed:
                    problems.append(f"exercise {number}, right answer '{row.label}' was rejected: {result.hint}")
                elif row.hint is not None and result.passed:
                    problems.append(f"exercise {number}, wrong answer '{row.label}' passed")
                elif row.hint is not None and row.hint.lower() not in result.hint.lower():
                    problems.append(f"exercise {number}, wrong answer '{row.label}': the hint should say "
                                    f"{row.hint!r}, it says {result.hint!r}")
            assert not problems, "\n".join(problems)

    TestAnswers.__name__ = TestAnswers.__qualname__ = f"TestLab{lab_number(solution)}Answers"
    return TestAnswers


for _solution in SOLUTIONS:
    globals()[f"TestLab{lab_number(_solution)}Answers"] = _lab_class(_solution)
