# IPython's settings for the course's kernels. `make` copies this file into .venv/etc/ipython/,
# where every IPython kernel of the course's Python reads it: under `make lab`, `make check`,
# `make test`, and in VS Code with .venv as its interpreter.
c = get_config()  # noqa: F821 (IPython provides it)
c.InteractiveShellApp.extensions = ["course.exception_groups"]
