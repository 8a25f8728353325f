"""An IPython extension that reports exception groups as errors, in the course's kernels.

IPython 9.18 prints an exception group (what `asyncio.TaskGroup` and `except*` raise), or an
exception raised while one was being handled, to stderr instead of reporting an error: the cell
shows no error output, so a check that failed that way reads as passed, and when it is the
kernel's first error in a cell with top-level `await`, ipykernel never answers and the cell
hangs. This extension reports such an exception the usual way, with the standard library's
formatting of the whole group. Its name and message are those of the group's first leaf
exception (an assertion's own message, say), which is what a learner (and grading's hint)
needs to read.

course/jupyter/ipython_kernel_config.py loads it in every kernel of the course's .venv (`make`
copies that file into .venv/etc/ipython/).
"""

from __future__ import annotations

import traceback
from typing import Any


def load_ipython_extension(shell: Any) -> None:
    original = shell.showtraceback
    shell._last_traceback = getattr(shell, "_last_traceback", None)  # ipykernel reads it after any error

    def showtraceback(exc_tuple: Any = None, filename: str | None = None, tb_offset: int | None = None,
                      exception_only: bool = False, running_compiled_code: bool = False) -> None:
        try:
            _, value, _ = shell._get_exc_info(exc_tuple)
        except ValueError:
            value = None
        if value is None or exception_only or not _involves_group(value):
            return original(exc_tuple, filename, tb_offset, exception_only, running_compiled_code)
        leaf = first_leaf(value)
        lines = "".join(traceback.format_exception(value)).rstrip("\n").split("\n")
        shell._showtraceback(type(leaf), leaf, lines)

    shell.showtraceback = showtraceback


def _involves_group(error: BaseException | None) -> bool:
    """Whether `error`, or an exception it was raised while handling, is an exception group."""
    while error is not None:
        if isinstance(error, BaseExceptionGroup):
            return True
        error = error.__context__
    return False


def first_leaf(error: BaseException) -> BaseException:
    """The first exception inside `error` that is not a group itself (`error`, if it is none)."""
    while isinstance(error, BaseExceptionGroup) and error.exceptions:
        error = error.exceptions[0]
    return error
