"""Your own copies of the lessons, labs and solutions, in work/: run them, change them, save them.

    python -m course.workspace               bring work/ up to date (`make work`; `make lab` runs it too)
    python -m course.workspace --fresh 01    fresh copies of lesson 01, lab 01 and its solution (`make work
                                             FRESH=01`); copies you changed are kept as backups

The originals in notebooks/, labs/ and solutions/ belong to the course: `git pull` updates them
and `make test` checks them. Your copies live in work/, which git ignores, so an update of the
course never clashes with your work:
- a copy the course has and you do not is added;
- a copy you have not changed (running cells changes only outputs) follows the course's version;
- a copy you changed is never touched: you are told when the course has a newer version, and
  `--fresh` gets it for you, keeping yours as a backup.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import sys
from collections.abc import Sequence
from pathlib import Path

import nbformat

from .labs import ROOT, LabError, backup_path, read_notebook, serialise, shown, sources_hash
from .notebooks import language_info

WORK_VARIABLE = "COURSE_WORK"  # where your copies live, when not in work/ (`make WORK=...` sets it)
WORK = Path(os.environ.get(WORK_VARIABLE) or ROOT / "work")
FOLDERS = ("notebooks", "labs", "solutions")
BACKUP = re.compile(r"\.bak\d+\.ipynb$")  # what backup_path() names a kept copy
COPY_KEY = "course_copy"  # notebook metadata: which original a copy came from, and how it was


def originals() -> list[Path]:
    """Every notebook of the course that a learner gets a copy of."""
    return [path for folder in FOLDERS for path in sorted((ROOT / folder).glob("*.ipynb")) if not BACKUP.search(path.name)]


def copy_path(original: Path) -> Path:
    return WORK / original.relative_to(ROOT)


def fresh_copy(original: Path) -> str:
    """The text of a new copy of `original`, marked with where it came from."""
    copied = read_notebook(original)
    copied.metadata["language_info"] = language_info()  # this Python's, so opening the copy changes nothing
    copied.metadata[COPY_KEY] = {
        "from": original.relative_to(ROOT).as_posix(),
        "original_sha256": hashlib.sha256(original.read_bytes()).hexdigest(),
        "sources_sha256": sources_hash(copied),
    }
    return serialise(copied)


def changed(copied: nbformat.NotebookNode) -> bool:
    """Whether the learner changed a copy's cells (outputs do not count)."""
    return copied.metadata.get(COPY_KEY, {}).get("sources_sha256") != sources_hash(copied)


def outdated(copied: nbformat.NotebookNode, original: Path) -> bool:
    """Whether the course's original changed since the copy was made."""
    recorded = copied.metadata.get(COPY_KEY, {}).get("original_sha256")
    return recorded != hashlib.sha256(original.read_bytes()).hexdigest()


def sync(fresh: Sequence[str] = ()) -> list[str]:
    """Bring work/ up to date; with `fresh` lesson or lab numbers, replace those copies too.
    Returns one line per thing the learner should know."""
    if WORK.resolve() == ROOT.resolve():
        return [f"{WORK_VARIABLE} is the course folder itself: your copies must live elsewhere (the default is work/)"]
    numbers = {number.zfill(2) for number in fresh}
    notes = []
    for original in originals():
        target = copy_path(original)
        try:
            notes.append(_sync_copy(original, target, refresh=original.name.split("_")[0] in numbers))
        except LabError as exc:  # the course's own notebook is broken: the other copies still come
            notes.append(f"{shown(target)} was not updated: {exc}")
    return [note for note in notes if note]


def _sync_copy(original: Path, target: Path, *, refresh: bool) -> str:
    """Bring one copy up to date (or, with `refresh`, replace it); what the learner should know, or ""."""
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(fresh_copy(original))
        return ""
    try:
        copied = read_notebook(target)
    except LabError as exc:  # no notebook any more; the message says how --fresh gets a new copy
        return _replace(original, target) if refresh else str(exc)
    if refresh:
        return _replace(original, target) if changed(copied) else _write(original, target)
    if not outdated(copied, original):
        return ""
    if changed(copied):
        return (f"{shown(target)}: the course has a newer version, and your copy has your changes, so it is kept. "
                f"For the new version: `make work FRESH={original.name[:2]}` (yours is saved next to it).")
    _write(original, target)
    return ""


def _write(original: Path, target: Path) -> str:
    target.write_text(fresh_copy(original))
    return f"{shown(target)}: fresh copy"


def _replace(original: Path, target: Path) -> str:
    text = fresh_copy(original)  # first: if the original is broken, the learner's copy stays where it is
    backup = backup_path(target)
    target.rename(backup)
    target.write_text(text)
    return f"{shown(target)}: fresh copy; yours is now {shown(backup)}"


def main(argv: Sequence[str] | None = None) -> int:
    cli = argparse.ArgumentParser(prog="python -m course.workspace", description=__doc__,
                                  formatter_class=argparse.RawDescriptionHelpFormatter)
    cli.add_argument("--fresh", nargs="*", default=[], metavar="NN", help="lesson or lab numbers to copy afresh")
    args = cli.parse_args(argv)
    for note in sync(args.fresh):
        print(note)
    return 0


if __name__ == "__main__":
    sys.exit(main())
