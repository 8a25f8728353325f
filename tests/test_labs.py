"""The lab machinery: labs/ is a fresh build, grading runs the solution's checks on the learner's
answers, and a learner's own work is never overwritten, lost or counted as a failure."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from course import checks, grading, labs, workspace

SOLUTIONS = sorted(labs.SOLUTIONS.glob(labs.PATTERN))


def notebook(*cells: nbformat.NotebookNode) -> nbformat.NotebookNode:
    return new_notebook(cells=list(cells), metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                                     "language": "python"}})


def check_cell(source: str) -> nbformat.NotebookNode:
    return new_code_cell(source, metadata={"tags": ["check"]})


def fixture_solution(directory: Path) -> Path:
    """A two-exercise solution whose first check has a hidden test."""
    path = directory / "99_fixture_lab.ipynb"
    nbformat.write(notebook(
        new_markdown_cell("# Lab 99 · fixture"),
        new_markdown_cell("## Exercise 1 · Add"),
        new_code_cell("def add(a, b):\n    ### BEGIN SOLUTION\n    return a + b\n    ### END SOLUTION"),
        check_cell('assert add(2, 3) == 5, "add(2, 3) should be 5"\n### BEGIN HIDDEN TESTS\n'
                   'assert add(-1, 1) == 0, "add(-1, 1) should be 0: add, do not look the answers up"\n'
                   "### END HIDDEN TESTS"),
        new_markdown_cell("## Exercise 2 · Greeting"),
        new_code_cell('### BEGIN SOLUTION\ngreeting = "hello"\n### END SOLUTION'),
        check_cell('assert greeting == "hello", "greeting should be \'hello\'"'),
    ), path)
    return path


@pytest.fixture
def fixture_lab(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A lab built from the fixture solution, which grading finds through the lab's metadata."""
    monkeypatch.setattr(grading, "ROOT", tmp_path)
    solutions = tmp_path / "solutions"
    solutions.mkdir()
    solution = fixture_solution(solutions)
    lab = tmp_path / "99_fixture_lab.ipynb"
    lab.write_text(labs.serialise(labs.build_lab(solution)))
    return lab


def edit(lab: Path, change) -> None:
    work = nbformat.read(lab, as_version=4)
    change(work.cells)
    nbformat.write(work, lab)


def statuses(lab: Path) -> list[str]:
    return [result.status for result in grading.grade(lab)]


def test_labs_are_a_fresh_build_of_the_solutions() -> None:
    assert labs.stale() == []


def test_build_stubs_answers_removes_hidden_tests_and_keeps_cell_ids(tmp_path: Path) -> None:
    solution = fixture_solution(tmp_path)
    lab = labs.build_lab(solution)
    sources = [cell.source for cell in lab.cells]
    assert sources[2] == "def add(a, b):\n    # YOUR CODE HERE\n    raise NotImplementedError()"
    assert sources[3] == 'assert add(2, 3) == 5, "add(2, 3) should be 5"'
    assert sources[5] == "# YOUR CODE HERE\nraise NotImplementedError()"
    assert all(cell.get("outputs", []) == [] for cell in lab.cells)
    assert lab.cells[3].metadata["tags"] == ["check", "raises-exception"], "Run All goes on past failing checks"
    assert [cell.id for cell in lab.cells] == [cell.id for cell in nbformat.read(solution, as_version=4).cells]
    assert lab.metadata["language_info"]["version"], "the kernel's language_info, so opening it changes nothing"


def test_check_command_names_stale_labs(tmp_path: Path) -> None:
    solutions, built = tmp_path / "solutions", tmp_path / "labs"
    solutions.mkdir()
    fixture_solution(solutions)
    assert labs.build(solutions, built) == []
    assert labs.stale(solutions, built) == []
    (built / "99_fixture_lab.ipynb").write_text(labs.serialise(notebook(new_markdown_cell("# old"))))
    (built / "98_orphan_lab.ipynb").write_text("{}")
    assert labs.stale(solutions, built) == [
        f"{built / '99_fixture_lab.ipynb'}: differs from a fresh build of {solutions / '99_fixture_lab.ipynb'}",
        f"{built / '98_orphan_lab.ipynb'}: no solution to build it from",
    ]


def test_a_build_by_another_python_version_is_still_fresh(tmp_path: Path) -> None:
    solutions, built = tmp_path / "solutions", tmp_path / "labs"
    solutions.mkdir()
    fixture_solution(solutions)
    labs.build(solutions, built)
    lab = built / "99_fixture_lab.ipynb"
    text = json.loads(lab.read_text())
    text["metadata"]["language_info"]["version"] = "3.99.0"
    lab.write_text(json.dumps(text, indent=1, sort_keys=True, ensure_ascii=False) + "\n")
    assert labs.stale(solutions, built) == []


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


# One row per way a notebook file gets broken: what it then holds (made from a good notebook's
# bytes), and what the message must say is wrong with it.
BROKEN = {
    "empty": (lambda good: b"", "is empty (0 bytes)"),
    "blank": (lambda good: b"\n \n", "is empty (3 bytes)"),
    "truncated": (lambda good: good[: len(good) // 2], "is cut short: its JSON stops, unfinished, after"),
    "invalid JSON": (lambda good: b"{not json}",
                     "is not valid JSON (Expecting property name enclosed in double quotes at line 1, column 2)"),
    "not UTF-8": (lambda good: '{"cells": "\u00e9"}'.encode("latin-1"), "is not text: byte 11 is not UTF-8"),
    "JSON, not a notebook": (lambda good: b"[1, 2]", "is JSON, but not a notebook (a notebook is an object with"),
    "a notebook's keys, not its shape": (
        lambda good: b'{"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [{"source": 1}]}',
        "is JSON, but not a valid notebook ("),
}


def break_file(path: Path, kind: str) -> str:
    """Overwrite the notebook at `path` as `kind` breaks it; return what the message must say."""
    make, problem = BROKEN[kind]
    path.write_bytes(make(path.read_bytes()))
    return problem


@pytest.mark.parametrize("kind", BROKEN)
def test_a_file_that_is_no_notebook_gets_one_line_with_the_problem_and_the_fix(tmp_path: Path, kind: str) -> None:
    path = fixture_solution(tmp_path).rename(tmp_path / "01_broken_lab.ipynb")
    problem = break_file(path, kind)
    with pytest.raises(labs.LabError) as raised:
        labs.read_notebook(path)
    message = str(raised.value)
    assert message.startswith(f"{path} {problem}") and "\n" not in message
    assert message.endswith("`make work FRESH=01` saves it as 01_broken_lab.bak1.ipynb and gives you a fresh copy.")


def test_every_cut_of_a_notebook_is_called_cut_short(tmp_path: Path) -> None:
    """Wherever a save stops (inside a string, a number, `true`, a multi-byte character), the file
    is called cut short, not "invalid JSON", which would send the learner looking for a typo."""
    good = fixture_solution(tmp_path).read_bytes().rstrip()
    assert "·".encode() in good, "the cuts include one inside a multi-byte character"
    path = tmp_path / "01_cut_lab.ipynb"
    wrong = {}
    for length in range(1, len(good)):
        path.write_bytes(good[:length])
        with pytest.raises(labs.LabError) as raised:
            labs.read_notebook(path)
        if "is cut short" not in str(raised.value) and "is empty" not in str(raised.value):
            wrong[length] = str(raised.value)
    assert not wrong, f"{len(wrong)} cuts of {len(good)} misnamed, e.g. {next(iter(wrong.items()), None)}"


def test_how_to_restore_a_notebook_depends_on_where_it_lives(tmp_path: Path) -> None:
    lab, solution = labs.LABS / "01_requests_basics_lab.ipynb", labs.SOLUTIONS / "01_requests_basics_lab.ipynb"
    assert labs.how_to_restore(lab).startswith("`make labs FORCE=1` saves it as 01_requests_basics_lab.bak1.ipynb")
    assert labs.how_to_restore(solution) == \
        "`git checkout -- solutions/01_requests_basics_lab.ipynb` restores the committed version"
    mine = tmp_path / "02_mine_lab.ipynb"
    assert labs.how_to_restore(mine).startswith("`make work FRESH=02` saves it as 02_mine_lab.bak1.ipynb")
    checkpoint = tmp_path / ".ipynb_checkpoints" / "02_mine_lab-checkpoint.ipynb"
    checkpoint.parent.mkdir()
    checkpoint.write_text("{}")
    assert f"JupyterLab's last checkpoint of your work is {checkpoint}" in labs.how_to_restore(mine)


@pytest.mark.parametrize("kind", BROKEN)
def test_build_keeps_a_broken_lab_until_forced_and_builds_the_others(tmp_path: Path, kind: str,
                                                                     capsys: pytest.CaptureFixture) -> None:
    solutions, built = tmp_path / "solutions", tmp_path / "labs"
    solutions.mkdir()
    fixture_solution(solutions)
    (solutions / "98_other_lab.ipynb").write_text(fixture_solution(tmp_path).read_text())
    labs.build(solutions, built)
    lab, other = built / "99_fixture_lab.ipynb", built / "98_other_lab.ipynb"
    problem = break_file(lab, kind)
    broken = lab.read_bytes()
    other.unlink()
    capsys.readouterr()

    assert labs.build(solutions, built) == [lab]
    assert lab.read_bytes() == broken, "what may be someone's work is kept"
    assert other.exists(), "the other labs are still built"
    kept = [line for line in capsys.readouterr().out.splitlines() if line.startswith("kept")]
    assert len(kept) == 1 and kept[0].startswith(f"kept {lab}: it {problem}")
    assert kept[0].endswith("`make labs FORCE=1` (this one is saved as 99_fixture_lab.bak1.ipynb first).")

    assert labs.build(solutions, built, force=True) == []
    assert (built / "99_fixture_lab.bak1.ipynb").read_bytes() == broken
    assert f"saved {lab} as {built / '99_fixture_lab.bak1.ipynb'}: it {problem}" in capsys.readouterr().out
    assert labs.stale(solutions, built) == [], "rebuilt"


def test_build_goes_on_past_a_solution_it_cannot_read(tmp_path: Path) -> None:
    solutions, built = tmp_path / "solutions", tmp_path / "labs"
    solutions.mkdir()
    fixture_solution(solutions)
    (solutions / "98_broken_lab.ipynb").write_text("")
    with pytest.raises(labs.LabError, match=r"98_broken_lab.ipynb is empty \(0 bytes\)"):
        labs.build(solutions, built)
    assert (built / "99_fixture_lab.ipynb").exists(), "the other labs are still built"


def test_a_lab_broken_since_its_commit_is_not_a_stale_build(tmp_path: Path) -> None:
    """labs/ is checked as committed: a file someone broke afterwards is theirs, like any edit."""
    solutions, built = tmp_path / "solutions", tmp_path / "labs"
    solutions.mkdir()
    fixture_solution(solutions)
    labs.build(solutions, built)
    git = ["git", "-C", str(built), "-c", "user.name=t", "-c", "user.email=t@example.invalid"]
    for command in (["init", "-q"], ["add", "."], ["commit", "-q", "-m", "labs"]):
        subprocess.run([*git, *command], check=True, capture_output=True, timeout=30)
    lab = built / "99_fixture_lab.ipynb"
    committed = lab.read_bytes()
    for kind in BROKEN:
        lab.write_bytes(committed)
        break_file(lab, kind)
        assert labs.stale(solutions, built) == [], kind
    (solutions / "98_new_lab.ipynb").write_text(fixture_solution(tmp_path).read_text())
    (built / "98_new_lab.ipynb").write_text("")
    assert labs.stale(solutions, built) == [
        f"{built / '98_new_lab.ipynb'}: differs from a fresh build of {solutions / '98_new_lab.ipynb'}"
    ], "a broken lab that was never committed as a fresh build is stale"


def test_grading_goes_on_past_labs_it_cannot_read(tmp_path: Path) -> None:
    work = tmp_path / "work"
    (work / "labs").mkdir(parents=True)
    solution = fixture_solution(tmp_path)
    broken = {}
    for number, kind in enumerate(BROKEN, 90):
        path = work / "labs" / f"{number}_broken_lab.ipynb"
        path.write_bytes(solution.read_bytes())
        broken[path] = break_file(path, kind)
    (work / "labs" / "99_fixture_lab.ipynb").write_text(solution.read_text())
    result = grade_command(work=work)
    assert result.returncode == 2, "exit 2: a lab could not be graded"
    assert "2 of 2 exercises pass." in result.stdout, "the readable lab is graded"
    lines = [line for line in result.stderr.splitlines() if line.startswith("could not grade")]
    assert len(lines) == len(BROKEN), "one line per broken lab"
    for line, (path, problem) in zip(lines, broken.items()):
        number = path.name[:2]
        assert line.startswith(f"could not grade: {path} {problem}")
        assert line.endswith(f"`make work FRESH={number}` saves it as {number}_broken_lab.bak1.ipynb and gives you a "
                             "fresh copy.")


def test_work_copies_that_are_no_notebook_are_named_and_replaced_on_request(tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "course"
    (root / "labs").mkdir(parents=True)
    monkeypatch.setattr(workspace, "ROOT", root)
    monkeypatch.setattr(workspace, "WORK", root / "work")
    for number, _ in enumerate(BROKEN, 90):
        original = notebook(new_markdown_cell(f"# {number}"))
        (root / "labs" / f"{number}_demo_lab.ipynb").write_text(labs.serialise(original))
    assert workspace.sync() == []
    copies = {}
    for number, kind in enumerate(BROKEN, 90):
        mine = root / "work" / "labs" / f"{number}_demo_lab.ipynb"
        copies[mine] = (break_file(mine, kind), mine.read_bytes())
    (root / "labs" / "89_course_broke_lab.ipynb").write_text("{")

    notes = workspace.sync()
    assert notes[0].startswith(f"{root / 'work/labs/89_course_broke_lab.ipynb'} was not updated: "
                               f"{root / 'labs/89_course_broke_lab.ipynb'} is cut short"), \
        "a broken original is named, and the other copies are still checked"
    assert not (root / "work/labs/89_course_broke_lab.ipynb").exists()
    assert len(notes) == 1 + len(BROKEN)
    for note, (mine, (problem, broken)) in zip(notes[1:], copies.items()):
        assert note.startswith(f"{mine} {problem}") and f"`make work FRESH={mine.name[:2]}` saves it as" in note
        assert mine.read_bytes() == broken, "named, never touched"

    workspace.sync(fresh=[mine.name[:2] for mine in copies])
    for mine, (_, broken) in copies.items():
        assert mine.with_name(mine.name.replace(".ipynb", ".bak1.ipynb")).read_bytes() == broken, "kept as a backup"
        assert nbformat.read(mine, as_version=4).cells[0].source == f"# {mine.name[:2]}", "and a fresh copy"


def test_build_keeps_a_lab_someone_changed_unless_forced(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    solutions, built = tmp_path / "solutions", tmp_path / "labs"
    solutions.mkdir()
    fixture_solution(solutions)
    labs.build(solutions, built)
    lab_path = built / "99_fixture_lab.ipynb"
    edit(lab_path, lambda cells: setattr(cells[5], "source", 'greeting = "hello"'))
    mine = lab_path.read_text()

    assert labs.build(solutions, built) == [lab_path]
    assert lab_path.read_text() == mine, "the changed lab is untouched"
    assert "make labs FORCE=1" in capsys.readouterr().out
    assert labs.main(["build"]) == 0, "keeping a changed lab is what build promises, not an error"

    assert labs.build(solutions, built, force=True) == []
    assert (built / "99_fixture_lab.bak1.ipynb").read_text() == mine, "and kept as a backup when forced"
    assert labs.stale(solutions, built) == []


def test_grading_runs_the_solutions_checks_on_the_learners_answers(fixture_lab: Path) -> None:
    assert statuses(fixture_lab) == ["not done", "not done"]
    edit(fixture_lab, lambda cells: setattr(cells[2], "source", "def add(a, b):\n    return 5"))
    results = grading.grade(fixture_lab)
    assert [result.status for result in results] == ["FAIL", "not done"], "the hidden test counts"
    assert results[0].hint == "add(-1, 1) should be 0: add, do not look the answers up", "in full, never cut"
    edit(fixture_lab, lambda cells: setattr(cells[2], "source", "def add(a, b):\n    return a + b"))
    assert statuses(fixture_lab) == ["pass", "not done"]


@pytest.mark.parametrize("vandalism", ["empty the checks", "delete the checks", "make the checks print 'passed'"])
def test_editing_the_labs_check_cells_changes_nothing(fixture_lab: Path, vandalism: str) -> None:
    def vandalise(cells: list) -> None:
        for index in (6, 3):
            if vandalism.startswith("delete"):
                del cells[index]
            else:
                cells[index].source = "pass" if vandalism.startswith("empty") else 'print("passed")'

    edit(fixture_lab, vandalise)
    assert statuses(fixture_lab) == ["not done", "not done"]


def test_cells_the_learner_added_run_where_they_put_them(fixture_lab: Path) -> None:
    def add_helper(cells: list) -> None:
        cells.insert(2, new_code_cell("def plus(a, b):\n    return a + b"))
        cells[3].source = "def add(a, b):\n    return plus(a, b)"

    edit(fixture_lab, add_helper)
    assert statuses(fixture_lab)[0] == "pass"


def test_a_deleted_answer_cell_is_explained(fixture_lab: Path) -> None:
    edit(fixture_lab, lambda cells: cells.pop(2))
    result = grading.grade(fixture_lab)[0]
    assert result.status == "FAIL" and "no longer in your lab" in result.hint and "make work FRESH=99" in result.hint


def record_a_run(lab: Path, cell_id: str, source: str, ok: bool = True, at: float | None = None) -> None:
    record = checks.runs_path(lab)
    ran = json.loads(record.read_text())["cells"] if record.exists() else {}
    ran[cell_id] = {"sha256": checks.source_hash(source), "ok": ok, "at": at or time.time() + 1}
    record.write_text(json.dumps({"notebook": lab.name, "cells": ran}))


def test_a_check_that_passed_on_unsaved_code_says_save_first(fixture_lab: Path) -> None:
    lab = nbformat.read(fixture_lab, as_version=4)
    answer, check = lab.cells[2], lab.cells[3]
    record_a_run(fixture_lab, answer.id, "def add(a, b):\n    return a + b")
    record_a_run(fixture_lab, check.id, check.source)
    result = grading.grade(fixture_lab)[0]
    assert result.status == "save first" and "Save the notebook" in result.hint and grading.NOT_DONE in result.hint


def test_a_check_that_fails_inside_a_task_group_fails_with_its_own_message(tmp_path: Path) -> None:
    """IPython 9.18 shows an exception group on stderr only (no error output, so the check would
    pass), and its kernel never answers when that is the first error of a cell with top-level
    await. course.exception_groups, which every kernel of .venv loads, reports it as an error."""
    path = tmp_path / "98_groups_lab.ipynb"
    nbformat.write(notebook(
        new_markdown_cell("# Lab 98 · groups"),
        new_markdown_cell("## Exercise 1 · Fan out"),
        new_code_cell("import asyncio\n### BEGIN SOLUTION\nanswer = 1\n### END SOLUTION"),
        check_cell("async def check():\n    assert answer == 2, 'answer should be 2'\n\n"
                   "async with asyncio.TaskGroup() as group:\n    group.create_task(check())"),
    ), path)
    [result] = grading.grade(path, timeout=30)
    assert (result.status, result.hint) == ("FAIL", "answer should be 2"), (
        f"graded {result}: is course/jupyter/ipython_kernel_config.py in {sys.prefix}/etc/ipython/? (make copies it there)")


def test_a_run_older_than_the_saved_file_is_not_a_reason_to_save(fixture_lab: Path) -> None:
    lab = nbformat.read(fixture_lab, as_version=4)
    saved_at = fixture_lab.stat().st_mtime
    record_a_run(fixture_lab, lab.cells[2].id, "def add(a, b):\n    return a + b", at=saved_at - 10)
    record_a_run(fixture_lab, lab.cells[3].id, lab.cells[3].source, at=saved_at - 10)
    assert statuses(fixture_lab)[0] == "not done"


def test_record_runs_notes_each_cell_a_notebook_kernel_runs(tmp_path: Path) -> None:
    """What JupyterLab does: it names the notebook in JPY_SESSION_NAME and each cell's id in the
    execute request (nbclient sends no cell ids, so this test talks to the kernel itself)."""
    from jupyter_client.manager import start_new_kernel

    lab = tmp_path / "01_demo_lab.ipynb"
    lab.write_text("{}")
    kernel, client = start_new_kernel(kernel_name="python3", cwd=str(tmp_path),
                                      env={**os.environ, "JPY_SESSION_NAME": str(lab)})
    try:
        for cell_id, code in [("setup", "from course.checks import record_runs\nrecord_runs()"),
                              ("answer", "x = 1"), ("check", "assert x == 2")]:
            message = client.session.msg("execute_request", {"code": code, "silent": False, "store_history": True,
                                                             "user_expressions": {}, "allow_stdin": False,
                                                             "stop_on_error": False}, metadata={"cellId": cell_id})
            client.shell_channel.send(message)
            # Wait for this request's reply: on a busy machine, start_new_kernel may have asked
            # for kernel_info more than once, and those replies come first.
            while client.get_shell_msg(timeout=30)["parent_header"].get("msg_id") != message["header"]["msg_id"]:
                pass
    finally:
        client.stop_channels()
        kernel.shutdown_kernel(now=True)
    ran = json.loads(checks.runs_path(lab).read_text())["cells"]
    assert ran["answer"]["sha256"] == checks.source_hash("x = 1") and ran["answer"]["ok"] is True
    assert ran["check"]["ok"] is False


def grade_command(*args: str, work: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "course.labs", "grade", *args], capture_output=True, text=True,
                          timeout=120, env={**os.environ, workspace.WORK_VARIABLE: str(work)})


def test_grade_command_reports_each_exercise_with_a_meaningful_exit_status(tmp_path: Path) -> None:
    solved = grade_command(str(fixture_solution(tmp_path)), work=tmp_path / "work")
    assert solved.returncode == 0 and "2 of 2 exercises pass. Well done!" in solved.stdout
    assert "grading" in solved.stderr, "a progress bar while it runs"
    unknown = grade_command("42", work=tmp_path / "work")
    assert unknown.returncode == 2 and "no lab '42'" in unknown.stderr


@pytest.mark.usefixtures("private_server")
class TestMakeCheck:
    def test_make_check_reports_an_unsolved_lab_without_a_make_error(self, tmp_path: Path) -> None:
        """`make check` copies the labs into work/ when it is missing, grades them, prints every hint,
        and ends without make's 'Error 1' line: failing exercises are a report, not a crash."""
        result = subprocess.run(["make", "-s", "--no-print-directory", "check", "LAB=01", f"WORK={tmp_path}"],
                                cwd=labs.ROOT, capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stderr
        assert "0 of 4 exercises pass." in result.stdout and grading.NOT_DONE in result.stdout
        assert "Error" not in result.stderr
        assert (tmp_path / "labs" / "01_requests_basics_lab.ipynb").exists()
        direct = grade_command("01", work=tmp_path)
        assert direct.returncode == 1, "for scripts, course.labs grade still exits 1 while an exercise fails"

    def test_make_check_grades_the_other_labs_and_names_a_broken_one(self, tmp_path: Path) -> None:
        subprocess.run([sys.executable, "-m", "course.workspace"], check=True, timeout=120,
                       env={**os.environ, workspace.WORK_VARIABLE: str(tmp_path)})
        broken = tmp_path / "labs" / "02_sessions_auth_timeouts_lab.ipynb"
        broken.write_text("")
        result = subprocess.run(["make", "-s", "--no-print-directory", "check", "LAB=01 02", f"WORK={tmp_path}"],
                                cwd=labs.ROOT, capture_output=True, text=True, timeout=300)
        assert result.returncode != 0, "make fails: a lab could not be graded"
        assert "0 of 4 exercises pass." in result.stdout, "lab 01 is graded all the same"
        assert (f"could not grade: {broken} is empty (0 bytes). `make work FRESH=02` saves it as "
                "02_sessions_auth_timeouts_lab.bak1.ipynb and gives you a fresh copy.") in result.stderr
        assert "Traceback" not in result.stderr


def test_work_copies_follow_the_course_until_the_learner_changes_them(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "course"
    (root / "notebooks").mkdir(parents=True)
    lesson = root / "notebooks" / "01_demo.ipynb"
    nbformat.write(notebook(new_markdown_cell("# v1"), new_code_cell("x = 1")), lesson)
    monkeypatch.setattr(workspace, "ROOT", root)
    monkeypatch.setattr(workspace, "WORK", root / "work")
    mine = root / "work" / "notebooks" / "01_demo.ipynb"

    assert workspace.sync() == [] and mine.exists()
    ran = nbformat.read(mine, as_version=4)
    ran.cells[1].outputs = [nbformat.v4.new_output("stream", name="stdout", text="ran\n")]
    nbformat.write(ran, mine)
    nbformat.write(notebook(new_markdown_cell("# v2"), new_code_cell("x = 2")), lesson)
    assert workspace.sync() == [] and nbformat.read(mine, as_version=4).cells[0].source == "# v2", \
        "a copy that was only run follows the course"

    edited = nbformat.read(mine, as_version=4)
    edited.cells[1].source = "x = 'mine'"
    nbformat.write(edited, mine)
    nbformat.write(notebook(new_markdown_cell("# v3"), new_code_cell("x = 3")), lesson)
    notes = workspace.sync()
    assert nbformat.read(mine, as_version=4).cells[1].source == "x = 'mine'", "a changed copy is never touched"
    assert len(notes) == 1 and "make work FRESH=01" in notes[0]

    workspace.sync(fresh=["1"])
    assert nbformat.read(mine, as_version=4).cells[0].source == "# v3"
    assert nbformat.read(mine.with_name("01_demo.bak1.ipynb"), as_version=4).cells[1].source == "x = 'mine'"


def _lab_class(solution: Path) -> type:
    """One test class per lab, so xdist's loadscope can run the labs on different workers."""

    @pytest.mark.usefixtures("private_server")
    class TestLab:
        def test_every_check_passes_on_the_solution_and_fails_on_the_lab(self, tmp_path: Path) -> None:
            lab = tmp_path / solution.name
            lab.write_text(labs.serialise(labs.build_lab(solution)))
            failing = [f"{r.exercise}: {r.hint}" for r in grading.grade(solution) if not r.passed]
            assert not failing, f"checks that fail on the solution: {failing}"
            passing = [r.exercise for r in grading.grade(lab) if r.passed]
            assert not passing, f"checks that pass on the unsolved lab: {passing}"

    TestLab.__name__ = TestLab.__qualname__ = f"TestLab{solution.name.split('_')[0]}"
    return TestLab


for _solution in SOLUTIONS:
    globals()[f"TestLab{_solution.name.split('_')[0]}"] = _lab_class(_solution)
