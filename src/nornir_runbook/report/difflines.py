"""The lines of a unified diff by kind, and the colour of each kind: one table for every renderer
(the ``--diff`` text output, ``nrb diff``, the HTML page).

Only a unified diff's first two lines are its file lines (``--- before``, ``+++ after``): a
removed device line that itself starts with ``--`` reads ``---...`` and is still a removal.
"""

from __future__ import annotations

from typing import Literal

DiffKind = Literal["file", "hunk", "add", "del", "same"]
# as Ansible's diff callback: added green, removed red, hunks cyan; the file lines bold
DIFF_STYLES: dict[DiffKind, str] = {
    "file": "bold",
    "hunk": "cyan",
    "add": "green",
    "del": "red",
    "same": "",
}
_FILE_STARTS = ("---", "+++")  # of the first and of the second line


def diff_lines(text: str) -> list[tuple[DiffKind, str]]:
    """Each line of ``text`` with its kind, classified by its place as well as its start."""
    return [(_kind(number, line), line) for number, line in enumerate(text.splitlines())]


def _kind(number: int, line: str) -> DiffKind:
    if number < len(_FILE_STARTS) and line.startswith(_FILE_STARTS[number]):
        return "file"
    if line.startswith("@@"):
        return "hunk"
    if line.startswith("+"):
        return "add"
    if line.startswith("-"):
        return "del"
    return "same"
