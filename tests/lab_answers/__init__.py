"""Answers to the labs' exercises that grading must reject, and correct ones it must accept.

Each lab has a module here (lab_01.py, ...) with a table per exercise number:

    ANSWERS = {
        1: [
            Wrong("page arithmetic instead of the Link header", hint="rel='next'", code='''
    def all_users() -> list[dict]:
        ...
    '''),
            Right("a for loop that stops when the page is empty", code='''...'''),
        ],
    }

`code` is the whole answer cell as a learner would write it (the cell that holds the solution
region; dedented here). A Wrong answer must not pass and its hint must contain `hint`; a Right
one must pass. tests/test_lab_answers.py grades them, several rows per run, against a lab whose
check cells were also vandalised, so the grade cannot come from the lab's own checks.
Add a row: append one Wrong or Right to the exercise's list.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass


@dataclass(frozen=True)
class Answer:
    label: str
    code: str
    hint: str | None  # None: grading must accept it; else: reject it with this text in the hint

    @property
    def source(self) -> str:
        return textwrap.dedent(self.code).strip("\n")


def Wrong(label: str, *, hint: str, code: str) -> Answer:  # noqa: N802  (reads as a table row)
    return Answer(label, code, hint)


def Right(label: str, *, code: str) -> Answer:  # noqa: N802
    return Answer(label, code, None)
