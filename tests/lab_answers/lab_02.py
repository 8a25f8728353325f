"""Lab 02: answers grading must reject (with their hints) and correct alternatives it must accept."""

from lab_answers import Right, Wrong  # noqa: F401

ANSWERS: dict = {}
