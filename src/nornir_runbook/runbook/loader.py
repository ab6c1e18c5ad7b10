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
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from nornir_runbook.errors import Problem, RunbookError, ShapeError, in_file_order
from nornir_runbook.project.targets import Targets
from nornir_runbook.runbook.document import Document
from nornir_runbook.runbook.model import (
    Location,
    Options,
    Runbook,
    Serial,
    Step,
    StepKind,
    Strategy,
)
from nornir_runbook.runbook.templating import index_path, key_path
from nornir_runbook.runner.options import CHECKS, is_whole
from nornir_runbook.text import described, has_control, suggest

__all__ = ["load_runbook", "parse_runbook"]

_TOP_KEYS = ("name", "description", "targets", "vars", "options", "steps")
_STEP_KEYS = ("name", "commands", "config", "task", "args", "targets", "ignore_errors")
_STEP_KINDS = ("commands", "config", "task")
_TARGET_KEYS = ("hosts", "groups", "tags", "filter")
# what a playbook calls them: "hosts: core" is "targets: {groups: [core]}" here
_INSTEAD = {"hosts": "targets", "tasks": "steps"}
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

_MODULE_FUNCTION = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*:[A-Za-z_]\w*")


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
            doc.add("", f"expected a mapping with 'name' and 'steps', got {_got(data)}")
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
    _unknown_keys(doc, data, _TOP_KEYS, "")
    name = _name(doc, data["name"], "name") if "name" in data else _missing(doc, "", "name")
    description = data.get("description")
    locations = doc.locations  # shared by the runbook and its steps; a dict, so it pickles
    return Runbook(
        name=name,
        description=""
        if description is None
        else _text(doc, description, "description", empty=True),
        targets=_targets(doc, data.get("targets"), "targets") or Targets(),
        vars=_mapping(doc, data.get("vars"), "vars"),
        options=_options(doc, data.get("options"), "options"),
        steps=_steps(doc, data, locations),
        path=path,
        locations=locations,
    )


def _missing(doc: Document, path: str, key: str) -> str:
    doc.add(path, f"missing required key '{key}'")
    return ""


def _got(value: Any) -> str:
    return described(value, text=True)  # a runbook holds no secrets: its strings are shown


def _unknown_keys(doc: Document, data: dict[Any, Any], allowed: tuple[str, ...], path: str) -> None:
    for key in data:
        if key not in allowed:
            close = _INSTEAD.get(key) if not path else None  # Ansible's words, at the top
            close = close or suggest(str(key), allowed)
            hint = f"did you mean '{close}'?" if close else "expected " + ", ".join(allowed)
            doc.add(key_path(path, key), f"unknown key '{key}' ({hint})", key=True)


def _text(doc: Document, value: Any, path: str, *, empty: bool = False) -> str:
    if isinstance(value, str) and (empty or value.strip()):
        return value
    doc.add(path, f"expected a {'' if empty else 'non-empty '}string, got {_got(value)}")
    return ""


def _name(doc: Document, value: Any, path: str) -> str:
    """A runbook's or step's name: shown on terminals and in files, so one line of printable
    characters (an escape sequence there could rewrite what the terminal shows)."""
    name = _text(doc, value, path)
    if has_control(name):
        doc.add(path, f"expected a name without control characters, got {name!r}")
    return name


def _strings(doc: Document, value: Any, path: str, *, non_empty: bool = False) -> tuple[str, ...]:
    """A list of non-empty strings, or one string (then recorded also as item 0)."""
    if isinstance(value, str):
        doc.locations[index_path(path, 0)] = doc.locations[path]
        value = [value]
    if not isinstance(value, list) or (non_empty and not value):
        article = "a non-empty" if non_empty else "a"
        doc.add(path, f"expected {article} list of strings or a string, got {_got(value)}")
        return ()
    return tuple(_text(doc, item, index_path(path, i)) for i, item in enumerate(value))


def _mapping(doc: Document, value: Any, path: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        doc.add(path, f"expected a mapping, got {_got(value)}")
        return {}
    for key in value:
        if not isinstance(key, str):
            doc.add(key_path(path, key), f"expected a string key, got {_got(key)}", key=True)
    return value


def _targets(doc: Document, value: Any, path: str) -> Targets | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        doc.add(path, f"expected a mapping with {', '.join(_TARGET_KEYS)}, got {_got(value)}")
        return None
    _unknown_keys(doc, value, _TARGET_KEYS, path)
    names = {
        key: _strings(doc, value[key], key_path(path, key)) if value.get(key) is not None else ()
        for key in ("hosts", "groups", "tags")
    }
    return Targets(
        hosts=names["hosts"],
        groups=names["groups"],
        tags=names["tags"],
        filter=_mapping(doc, value.get("filter"), key_path(path, "filter")),
    )


# options -------------------------------------------------------------------------------------


def _options(doc: Document, value: Any, path: str) -> Options:
    if value is None:
        return Options()
    if not isinstance(value, dict):
        doc.add(path, f"expected a mapping, got {_got(value)}")
        return Options()
    _unknown_keys(doc, value, _OPTION_KEYS, path)
    kwargs: dict[str, Any] = {}
    for key in _OPTION_KEYS:
        if key == "group_limits" or value.get(key) is None:
            continue
        result = _option(key, value[key])
        if isinstance(result, _Invalid):
            got = _got(value[key])
            doc.add(key_path(path, key), f"expected {result.expected}, got {got}{result.hint}")
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
        doc.add(path, f"expected {expected}, got {_got(value)}")
        return {}
    for group, limit in value.items():
        if not isinstance(group, str):
            doc.add(key_path(path, str(group)), f"expected a group name, got {_got(group)}")
        elif not is_whole(limit, 1):
            doc.add(
                key_path(path, str(group)), f"expected an integer of 1 or more, got {_got(limit)}"
            )
    return dict(value)


def _serial(value: Any) -> Serial | _Invalid:
    try:
        return Serial.parse(value)
    except ValueError:
        return _Invalid("a number of hosts of 1 or more, or a percentage such as '25%'")


# steps ---------------------------------------------------------------------------------------


def _steps(
    doc: Document, data: dict[Any, Any], locations: Mapping[str, Location]
) -> tuple[Step, ...]:
    if "steps" not in data:
        _missing(doc, "", "steps")
        return ()
    value = data["steps"]
    if not isinstance(value, list) or not value:
        doc.add("steps", f"expected a non-empty list of steps, got {_got(value)}")
        return ()
    steps = (_step(doc, item, index_path("steps", i), locations) for i, item in enumerate(value))
    return tuple(s for s in steps if s is not None)


def _step(doc: Document, value: Any, path: str, locations: Mapping[str, Location]) -> Step | None:
    if not isinstance(value, dict):
        doc.add(
            path, f"expected a step (a mapping with commands, config or task), got {_got(value)}"
        )
        return None
    _unknown_keys(doc, value, _STEP_KEYS, path)
    kinds = [k for k in _STEP_KINDS if k in value]
    if len(kinds) != 1:
        written = " and ".join(f"'{k}'" for k in kinds) or "none"
        doc.add(path, f"expected exactly one of 'commands', 'config' or 'task', got {written}")
    kind = StepKind(kinds[0]) if len(kinds) == 1 else None
    lines = {
        k: _strings(doc, value[k], key_path(path, k), non_empty=True) if k in value else ()
        for k in ("commands", "config")
    }
    task = _task_name(doc, value["task"], key_path(path, "task")) if "task" in value else None
    if "args" in value and kind is not None and kind is not StepKind.TASK:
        doc.add(key_path(path, "args"), "'args' is only allowed with 'task'", key=True)
    ignore_errors = value.get("ignore_errors", False)
    if not isinstance(ignore_errors, bool):
        doc.add(
            key_path(path, "ignore_errors"), f"expected true or false, got {_got(ignore_errors)}"
        )
    name = value.get("name")
    name = _name(doc, name, key_path(path, "name")) if name is not None else None
    if kind is None:
        return None
    return Step(
        name=name or _default_name(task, lines["commands"], lines["config"]),
        kind=kind,
        commands=lines["commands"],
        config=lines["config"],
        task=task,
        args=_mapping(doc, value.get("args"), key_path(path, "args")),
        targets=_targets(doc, value.get("targets"), key_path(path, "targets")),
        ignore_errors=ignore_errors is True,
        location=doc.locations[path],
        yaml_path=path,
        locations=locations,
    )


def _task_name(doc: Document, value: Any, path: str) -> str | None:
    name = _text(doc, value, path)
    if not name:
        return None
    if name != name.strip() or any(c.isspace() for c in name):
        doc.add(path, f"expected a task name without spaces, got {name!r}")
    elif ":" in name and not _MODULE_FUNCTION.fullmatch(name):
        doc.add(path, f"expected a task name or 'package.module:function', got {name!r}")
    return name


def _default_name(task: str | None, commands: tuple[str, ...], config: tuple[str, ...]) -> str:
    if task:
        return task
    text = ", ".join(commands) if commands else "config: " + ", ".join(config)
    text = " ".join(text.split())
    return text if len(text) <= 60 else text[:59] + "…"  # noqa: PLR2004 - a short name
