"""One inventory file (hosts, groups or defaults) and the problems found in it.

It is read once, with :mod:`nornir_runbook.project.fastyaml` (libyaml, no positions). Only when
a problem is found is it read again, as ruamel.yaml's safe loader reads it (the YAML errors
exactly as SimpleInventory words them), then with ruamel's round-trip loader, which keeps the
line and column of every value. None builds anything but plain values, so a tag in the file
cannot run anything.
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
from nornir_runbook.project.yamldepth import TOO_DEEP, too_deep

# what YAML loaders raise for a tagged value they cannot build: "!!float x", "!!bool maybe",
# "!!int ''" (ruamel: IndexError), a duplicate key in a "!!omap" (ruamel: AssertionError)
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

    def exists(self) -> bool:
        try:
            return self.path.exists()
        except OSError:  # a name too long, say: reading it says why
            return True

    def load(self, encoding: str) -> Any:
        """The file's value; None, with a problem, if it cannot be read."""
        try:
            text = self.path.read_text(encoding=encoding)
        except (OSError, ValueError, LookupError) as exc:  # ValueError: not `encoding` text
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            self.add(None, f"cannot read the {self.role} file ({self.named_by}): {reason}")
            return None
        try:
            if not self.located:
                return fastyaml.load(text)
            if (deep := too_deep(text)) is not None:  # ruamel would take seconds, then crash
                self.add(None, f"invalid YAML: {TOO_DEEP}", deep.line, deep.column)
                return None
            YAML(typ="safe").load(text)  # the YAML errors exactly as Nornir would see them
            return YAML(typ="rt").load(text)
        except (YAMLError, yaml.YAMLError, *BAD_VALUE) as exc:
            mark = getattr(exc, "problem_mark", None)
            problem = getattr(exc, "problem", None) or (str(exc) or type(exc).__name__)
            problem = problem.splitlines()[0]
            line, column = (mark.line, mark.column) if mark else (None, None)
            self.add(None, f"invalid YAML: {problem}", line, column)
            return None
        except RecursionError:
            self.add(None, f"invalid YAML: {TOO_DEEP}")
            return None

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
