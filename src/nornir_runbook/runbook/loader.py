"""Runbook files into :class:`Runbook` values: the only YAML reader of runbooks.

Two phases, each reporting every problem it finds, each problem located (file, line, column,
yaml path such as ``steps[2].args.path``, and the source line for the caret):

1. :func:`load_runbook` (shape): YAML syntax (read by :class:`~.document.Document`), keys,
   types, allowed values. Raises :class:`RunbookError`.
2. :func:`~.checks.check_runbook` (meaning, for ``nrb validate`` and before every
   run): task names and their arguments, templates, groups and hosts of the inventory.

Decisions the SPEC leaves open:

- ``commands`` and ``config`` take a list of strings or a single string (one item). A rendered
  item is split into its non-blank lines (see :mod:`nornir_runbook.runbook.templating`), so a block
  string gives one command per line.
- ``targets.hosts``, ``groups`` and ``tags`` take a list of strings or a single string.
- A step's ``name`` is optional: it defaults to the task name, or to the commands (config
  lines) themselves. ``steps`` is required and must not be empty.
- A runbook's or step's ``name`` holds no control character (tab and line break included): it
  is shown on terminals and in text files.
- An option set to null is not set (the config or the command line decides).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from nornir_runbook.errors import Problem, RunbookError, ShapeError, in_file_order
from nornir_runbook.project.targets import Targets
from nornir_runbook.runbook import shape
from nornir_runbook.runbook.document import Document
from nornir_runbook.runbook.model import (
    Options,
    Runbook,
    Serial,
    Strategy,
)
from nornir_runbook.runbook.steps import steps
from nornir_runbook.runbook.templating import key_path
from nornir_runbook.runner.options import CHECKS, is_whole
from nornir_runbook.text import suggest

__all__ = ["load_runbook", "parse_runbook"]

_TOP_KEYS = ("name", "description", "targets", "vars", "options", "steps")
_OPTION_KEYS = (
    "strategy",
    "workers",
    "task_timeout",
    "retries",
    "max_fail_percentage",
    "serial",
    "retry_backoff",
    "connect_limit",
    "group_limits",
    "grace_period",
)

# a runbook's name for a runner option -> its name in the one table (runner.options.CHECKS)
_RUNNER_NAMES = {"workers": "num_workers"}
_FLOATS = frozenset({"task_timeout", "max_fail_percentage", "retry_backoff", "grace_period"})


# ---------------------------------------------------------------------------------------------
# Phase 1: shape


def load_runbook(path: Path) -> Runbook:
    """Read and check one runbook file; :class:`RunbookError` lists every problem found."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise RunbookError(Problem(message=f"not UTF-8 text: {exc}", file=str(path))) from None
    except OSError as exc:
        raise RunbookError(
            Problem(message=f"cannot read: {exc.strerror}", file=str(path))
        ) from None
    return parse_runbook(text, file=str(path), path=path)


def parse_runbook(text: str, *, file: str = "<string>", path: Path | None = None) -> Runbook:
    """A runbook from YAML text; ``file`` names it in problems."""
    doc = Document(file, text)
    data = doc.parse()
    if not doc.problems:
        if data is None:
            doc.add_at(
                doc.location(None), "", "empty runbook: expected a mapping with 'name' and 'steps'"
            )
        elif not isinstance(data, dict):
            doc.add("", f"expected a mapping with 'name' and 'steps', got {shape.got(data)}")
    if doc.problems and not isinstance(data, dict):
        raise RunbookError(in_file_order(doc.problems))
    runbook = _runbook(doc, data, path)
    if doc.problems:
        problems = in_file_order(doc.problems)

        def fine(path: str) -> bool:  # no problem at path or inside it
            inside = (f"{path}.", f"{path}[")
            return not any(p.path == path or (p.path or "").startswith(inside) for p in problems)

        steps = tuple(step for step in runbook.steps if fine(step.yaml_path))
        partial = dataclasses.replace(runbook, steps=steps)
        raise ShapeError(problems, partial, vars_known=fine("vars"))
    return runbook


def _runbook(doc: Document, data: dict[Any, Any], path: Path | None) -> Runbook:
    shape.unknown_keys(doc, data, _TOP_KEYS, "")
    name = (
        shape.name(doc, data["name"], "name") if "name" in data else shape.missing(doc, "", "name")
    )
    description = data.get("description")
    locations = doc.locations  # shared by the runbook and its steps; a dict, so it pickles
    return Runbook(
        name=name,
        description=""
        if description is None
        else shape.text(doc, description, "description", empty=True),
        targets=shape.targets(doc, data.get("targets"), "targets") or Targets(),
        vars=shape.mapping(doc, data.get("vars"), "vars"),
        options=_options(doc, data.get("options"), "options"),
        steps=steps(doc, data, locations),
        path=path,
        locations=locations,
    )


# options -------------------------------------------------------------------------------------


def _options(doc: Document, value: Any, path: str) -> Options:
    if value is None:
        return Options()
    if not isinstance(value, dict):
        doc.add(path, f"expected a mapping, got {shape.got(value)}")
        return Options()
    shape.unknown_keys(doc, value, _OPTION_KEYS, path)
    kwargs: dict[str, Any] = {}
    for key in _OPTION_KEYS:
        if key == "group_limits" or value.get(key) is None:
            continue
        result = _option(key, value[key])
        if isinstance(result, _Invalid):
            seen = shape.got(value[key])
            doc.add(key_path(path, key), f"expected {result.expected}, got {seen}{result.hint}")
        else:
            kwargs[key] = result
    if value.get("group_limits") is not None:
        kwargs["group_limits"] = _group_limits(doc, value["group_limits"], path)
    return Options(**kwargs)


class _Invalid:
    def __init__(self, expected: str, hint: str = "") -> None:
        self.expected = expected
        self.hint = hint


def _option(key: str, value: Any) -> Any:
    """``value`` of option ``key`` as the run takes it, or what it should have been."""
    if key == "strategy":
        return _strategy(value)
    if key == "serial":
        return _serial(value)
    check = CHECKS[_RUNNER_NAMES.get(key, key)]
    if not check.valid(value):
        return _Invalid(check.expected)
    return float(value) if key in _FLOATS else value


def _strategy(value: Any) -> Strategy | _Invalid:
    choices = [s.value for s in Strategy]
    if value in choices:
        return Strategy(value)
    close = suggest(str(value), choices)
    hint = f" (did you mean '{close}'?)" if close else ""
    return _Invalid(" or ".join(f"'{c}'" for c in choices), hint)


def _group_limits(doc: Document, value: Any, options_path: str) -> dict[str, int]:
    path = key_path(options_path, "group_limits")
    if not isinstance(value, dict):
        expected = "a mapping of group names to integers of 1 or more"
        doc.add(path, f"expected {expected}, got {shape.got(value)}")
        return {}
    for group, limit in value.items():
        if not isinstance(group, str):
            doc.add(key_path(path, str(group)), f"expected a group name, got {shape.got(group)}")
        elif not is_whole(limit, 1):
            doc.add(
                key_path(path, str(group)),
                f"expected an integer of 1 or more, got {shape.got(limit)}",
            )
    return dict(value)


def _serial(value: Any) -> Serial | _Invalid:
    try:
        return Serial.parse(value)
    except ValueError:
        return _Invalid("a number of hosts of 1 or more, or a percentage such as '25%'")
