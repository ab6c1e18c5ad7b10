"""One inventory file (hosts, groups or defaults) and the problems found in it.

It is read once, with :mod:`nornir_runbook.project.fastyaml` (libyaml: no positions kept, but a
YAML error says its line and column). Only when a problem is found in the values are the files
read again, with ruamel.yaml's round-trip loader, which keeps the line and column of every
value. Neither builds anything but plain values, so a tag in the file cannot run anything.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import yaml
from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from nornir_runbook.errors import Problem
from nornir_runbook.project import fastyaml

# what YAML loaders raise for a tagged value they cannot build: "!!float x", "!!bool maybe",
# "!!int ''" (an IndexError), a duplicate key in a "!!omap" (an AssertionError)
BAD_VALUE = (ValueError, TypeError, KeyError, OverflowError, IndexError, AssertionError)


class InventoryFile:
    """``path``, read for its ``role`` ("hosts", "groups" or "defaults"); ``located``: read with
    positions, to say where each problem is (``problems`` collects them)."""

    def __init__(
        self, path: Path, role: str, problems: list[Problem], *, located: bool, named_by: str
    ) -> None:
        self.path = path
        self.role = role
        self.problems = problems
        self.located = located
        self.named_by = named_by  # where its name comes from: "inventory.options.host_file in..."
        # whether a value may be in two places (an alias): else none contains itself, or
        # expands past the file, and the checks for those can be skipped
        self.aliased = True

    def exists(self) -> bool:
        try:
            return self.path.exists()
        except OSError:  # a name too long, say: reading it says why
            return True

    def load(self, encoding: str) -> Any:
        """The file's value; None, with a problem, if it cannot be read. ``located``: its value
        as ruamel's round trip reads it (each mapping and list knows where its items are)."""
        try:
            text = self.path.read_text(encoding=encoding)
        except (OSError, ValueError, LookupError) as exc:  # ValueError: not `encoding` text
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            self.add(None, f"cannot read the {self.role} file ({self.named_by}): {reason}")
            return None
        try:
            value, self.aliased = fastyaml.parse(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
            line, column = (mark.line, mark.column) if mark else (None, None)
            self.add(None, f"invalid YAML: {problem}", line, column)
            return None
        if not self.located:
            return value
        try:  # within the nesting limit (read above): ruamel's recursion cannot overflow
            return YAML(typ="rt").load(text)
        except (YAMLError, *BAD_VALUE, RecursionError):  # what libyaml's reading accepted
            return value  # the problems found in it, without their positions

    def add(
        self,
        path: str | None,
        message: str,
        line: int | None = None,
        column: int | None = None,
    ) -> None:
        self.problems.append(
            Problem(
                message=message,
                file=str(self.path),
                line=None if line is None else line + 1,
                column=None if column is None else column + 1,
                path=path,
            )
        )

    def at(self, parent: Any, key: Any, path: str, message: str) -> None:
        """A problem with the value of ``parent[key]``, located where it was written."""
        line = column = None
        lc = getattr(parent, "lc", None)  # ruamel's round trip: the position of every value
        if lc is not None:
            with contextlib.suppress(KeyError, IndexError, TypeError, AttributeError):
                line, column = lc.value(key) if isinstance(parent, dict) else lc.item(key)
        self.add(path, message, line, column)
