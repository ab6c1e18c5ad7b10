"""Runbook files into :class:`Runbook` values: the only YAML reader of runbooks.

Two phases, each reporting every problem it finds, each problem located (file, line, column,
yaml path such as ``steps[2].args.path``, and the source line for the caret):

1. :func:`load_runbook` (shape): YAML syntax, keys, types, allowed values. Raises
   :class:`RunbookError`.
2. :func:`~.checks.check_runbook` (meaning, for ``nrb validate`` and before every
   run): task names and their arguments, templates, groups and hosts of the inventory.

The YAML is composed into nodes (ruamel, which keeps line and column) and never constructed
into Python objects by a YAML constructor, so nothing a tag names is ever built or run. Only
plain values are allowed: strings, integers, floats, booleans, null, lists and mappings, with
anchors, aliases and ``<<`` merge keys. Any other tag (``!!python/object``, ``!!binary``,
``!!set``, ``!custom``...) is an error at its position; dates stay strings. Duplicate keys and
anchors defined twice are errors.

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
- Lists and mappings nest at most :data:`MAX_DEPTH` (100) deep: every later step (templates,
  the plan, the report) walks values recursively, and ruamel's own parser needs time quadratic
  in the nesting of ``[[[[...]]]]``, so that is checked first, with libyaml.
"""

from __future__ import annotations

import contextlib
import dataclasses
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from ruamel.yaml.reader import ReaderError

from nornir_runbook.errors import Problem, RunbookError, ShapeError, in_file_order
from nornir_runbook.project.targets import Targets
from nornir_runbook.project.yamldepth import MAX_DEPTH, TOO_DEEP, too_deep
from nornir_runbook.runbook.model import (
    Location,
    Options,
    Runbook,
    Serial,
    Step,
    StepKind,
    Strategy,
)
from nornir_runbook.runbook.templating import index_path, key_path, located_problem
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

_CORE = "tag:yaml.org,2002:"
_SCALAR_TAGS = frozenset(_CORE + t for t in ("str", "int", "float", "bool", "null"))
_MAX_VALUES = 100_000  # an alias bomb stops here
_TOO_DEEP = f"invalid YAML: {TOO_DEEP}"
_MODULE_FUNCTION = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*:[A-Za-z_]\w*")
_BAD_MERGE = "'<<' merges a mapping or a list of mappings (and not one that holds it)"


class _TooLarge(Exception):
    pass


class _Mark(NamedTuple):
    line: int  # 0-based, as ruamel's marks
    column: int


class _Document:
    """One file being read: its lines, where each value was written, the problems found."""

    def __init__(self, file: str, text: str) -> None:
        self.file = file
        self.text = text
        self.lines = text.splitlines()
        self.locations: dict[str, Location] = {}
        self.problems: list[Problem] = []
        self.bad_values: set[str] = set()  # paths of values converted to None after a problem
        self._anchors: dict[str, tuple[int, int]] = {}  # name -> (id of node, line)
        self._active: set[int] = set()  # nodes being converted, to find recursive aliases
        self._count = 0
        self._depth = 0  # lists and mappings being converted, one inside the other
        self._constructor = YAML(typ="safe", pure=True).constructor

    def location(self, mark: Any) -> Location:
        line, column = (mark.line, mark.column) if mark is not None else (0, 0)
        source = self.lines[line] if 0 <= line < len(self.lines) else None
        return Location(file=self.file, line=line + 1, column=column + 1, source_line=source)

    def add(self, path: str, message: str, *, key: bool = False) -> None:
        if path not in self.bad_values:  # one problem for a value that could not be read
            self.problems.append(located_problem(self.locations, path, message, key=key))

    def add_at(self, location: Location, path: str, message: str) -> None:
        self.problems.append(located_problem({path: location}, path, message))

    def bad_value(self, path: str, message: str) -> None:
        self.add(path, message)
        self.bad_values.add(path)

    def parse(self) -> Any:
        """The document as plain data (None when empty or unreadable)."""
        root = self._compose()
        if root is None:
            return None
        try:
            return self.value(root, "")
        except _TooLarge:
            self.add("", f"more than {_MAX_VALUES} values: is an alias used in a loop?")
            return None

    def _compose(self) -> Node | None:
        """The document's root node (None when empty, or after a problem)."""
        if (deep := too_deep(self.text)) is not None:
            self.add_at(self.location(deep), "", _TOO_DEEP)
            return None
        yaml = YAML(typ="rt")
        yaml.composer.warn_double_anchors = False  # reported as errors below
        try:
            root: Node | None = yaml.compose(self.text)
        except ReaderError as exc:  # a control character: located by its offset in the text
            before = self.text[: exc.position]
            mark = _Mark(before.count("\n"), len(before) - (before.rfind("\n") + 1))
            message = f"invalid YAML: character #x{exc.character:04x} is not allowed"
            self.add_at(self.location(mark), "", message)
            return None
        except YAMLError as exc:
            self.add_at(self.location(getattr(exc, "problem_mark", None)), "", _yaml_message(exc))
            return None
        except RecursionError:  # ruamel composes recursively; too_deep() needs libyaml
            self.add_at(self.location(None), "", _TOO_DEEP)
            return None
        return root

    def value(self, node: Node, path: str) -> Any:
        self._count += 1
        if self._count > _MAX_VALUES:
            raise _TooLarge
        self.locations[path] = self.location(node.start_mark)
        self._check_anchor(node, path)
        if isinstance(node, ScalarNode):
            return self._scalar(node, path)
        if id(node) in self._active:
            self.bad_value(path, "recursive alias: this value contains itself")
            return None
        expected = _CORE + ("seq" if isinstance(node, SequenceNode) else "map")
        if node.tag != expected:
            self._bad_tag(node, path)
            return None
        if self._depth >= MAX_DEPTH:
            self.bad_value(path, _TOO_DEEP)
            return None
        self._active.add(id(node))
        self._depth += 1
        try:
            if isinstance(node, SequenceNode):
                return [self.value(item, index_path(path, i)) for i, item in enumerate(node.value)]
            return self._mapping(node, path)
        finally:
            self._active.discard(id(node))
            self._depth -= 1

    def _check_anchor(self, node: Node, path: str) -> None:
        if node.anchor is None:
            return
        first = self._anchors.setdefault(node.anchor, (id(node), node.start_mark.line + 1))
        if first[0] != id(node):
            self.add(path, f"anchor '&{node.anchor}' defined again (first at line {first[1]})")
            self._anchors[node.anchor] = (id(node), node.start_mark.line + 1)

    def _bad_tag(self, node: Node, path: str) -> None:
        tag = str(node.tag).replace(_CORE, "!!")
        self.bad_value(
            path,
            f"YAML tag '{tag}' is not allowed: a runbook holds only strings, numbers, "
            "booleans, null, lists and mappings",
        )

    def _scalar(self, node: ScalarNode, path: str) -> Any:
        if node.tag == _CORE + "timestamp":
            return node.value
        if node.tag not in _SCALAR_TAGS:
            self._bad_tag(node, path)
            return None
        try:
            return self._constructor.construct_object(node, deep=True)
        except (YAMLError, ValueError, KeyError):  # KeyError: "!!bool maybe"
            tag = str(node.tag).replace(_CORE, "!!")
            self.bad_value(path, f"invalid {tag} value {node.value!r}")
            return None

    def _mapping(self, node: Node, path: str, into: dict[Any, Any] | None = None) -> dict[Any, Any]:
        """The mapping; with ``into`` (a ``<<`` merge), only keys ``into`` does not hold yet."""
        result: dict[Any, Any] = {} if into is None else into
        first_line: dict[Any, int] = {}
        merges: list[Node] = []
        for key_node, value_node in node.value:
            if key_node.tag == _CORE + "merge":
                merges.append(value_node)
                continue
            key = self._key(key_node, path)
            where = self.location(key_node.start_mark)
            child = key_path(path, key)
            if key in first_line:
                message = f"duplicate key '{key}' (first at line {first_line[key]})"
                self.add_at(where, child, message)
            elif into is None or key not in result:
                self.locations[f"{child}:key"] = where
                result[key] = self.value(value_node, child)
            first_line.setdefault(key, where.line)
        for merged in merges:  # explicit keys win, then the first merged mapping
            sources = merged.value if isinstance(merged, SequenceNode) else [merged]
            if not all(isinstance(s, MappingNode) and id(s) not in self._active for s in sources):
                self.add_at(self.location(merged.start_mark), path, _BAD_MERGE)
                continue
            for source in sources:
                self._active.add(id(source))
                self._mapping(source, path, result)
                self._active.discard(id(source))
        return result

    def _key(self, node: Node, path: str) -> Any:
        if isinstance(node, ScalarNode) and node.tag in _SCALAR_TAGS:
            with contextlib.suppress(YAMLError, ValueError, KeyError):
                return self._constructor.construct_object(node, deep=True)
            return node.value
        self.add_at(self.location(node.start_mark), path, "a key must be a plain string or number")
        placeholder = f"<key at line {node.start_mark.line + 1}>"
        self.bad_values.add(key_path(path, placeholder))
        return placeholder


def _yaml_message(exc: YAMLError) -> str:
    problem = getattr(exc, "problem", None) or str(exc)
    context = getattr(exc, "context", None)
    context_mark = getattr(exc, "context_mark", None)
    if context and context_mark is not None:
        return f"invalid YAML: {problem} ({context} at line {context_mark.line + 1})"
    if context:
        return f"invalid YAML: {problem} ({context})"
    return f"invalid YAML: {problem}"


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
    doc = _Document(file, text)
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


def _runbook(doc: _Document, data: dict[Any, Any], path: Path | None) -> Runbook:
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


def _missing(doc: _Document, path: str, key: str) -> str:
    doc.add(path, f"missing required key '{key}'")
    return ""


def _got(value: Any) -> str:
    return described(value, text=True)  # a runbook holds no secrets: its strings are shown


def _unknown_keys(
    doc: _Document, data: dict[Any, Any], allowed: tuple[str, ...], path: str
) -> None:
    for key in data:
        if key not in allowed:
            close = _INSTEAD.get(key) if not path else None  # Ansible's words, at the top
            close = close or suggest(str(key), allowed)
            hint = f"did you mean '{close}'?" if close else "expected " + ", ".join(allowed)
            doc.add(key_path(path, key), f"unknown key '{key}' ({hint})", key=True)


def _text(doc: _Document, value: Any, path: str, *, empty: bool = False) -> str:
    if isinstance(value, str) and (empty or value.strip()):
        return value
    doc.add(path, f"expected a {'' if empty else 'non-empty '}string, got {_got(value)}")
    return ""


def _name(doc: _Document, value: Any, path: str) -> str:
    """A runbook's or step's name: shown on terminals and in files, so one line of printable
    characters (an escape sequence there could rewrite what the terminal shows)."""
    name = _text(doc, value, path)
    if has_control(name):
        doc.add(path, f"expected a name without control characters, got {name!r}")
    return name


def _strings(doc: _Document, value: Any, path: str, *, non_empty: bool = False) -> tuple[str, ...]:
    """A list of non-empty strings, or one string (then recorded also as item 0)."""
    if isinstance(value, str):
        doc.locations[index_path(path, 0)] = doc.locations[path]
        value = [value]
    if not isinstance(value, list) or (non_empty and not value):
        article = "a non-empty" if non_empty else "a"
        doc.add(path, f"expected {article} list of strings or a string, got {_got(value)}")
        return ()
    return tuple(_text(doc, item, index_path(path, i)) for i, item in enumerate(value))


def _mapping(doc: _Document, value: Any, path: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        doc.add(path, f"expected a mapping, got {_got(value)}")
        return {}
    for key in value:
        if not isinstance(key, str):
            doc.add(key_path(path, key), f"expected a string key, got {_got(key)}", key=True)
    return value


def _targets(doc: _Document, value: Any, path: str) -> Targets | None:
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


def _options(doc: _Document, value: Any, path: str) -> Options:
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


def _group_limits(doc: _Document, value: Any, options_path: str) -> dict[str, int]:
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
    doc: _Document, data: dict[Any, Any], locations: Mapping[str, Location]
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


def _step(doc: _Document, value: Any, path: str, locations: Mapping[str, Location]) -> Step | None:
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


def _task_name(doc: _Document, value: Any, path: str) -> str | None:
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
