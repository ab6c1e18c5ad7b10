"""A runbook's ``steps`` into :class:`Step` values (phase 1 of the loader: shape).

Decisions the SPEC leaves open:

- A step's ``name`` is optional: it defaults to the task name, or to the commands (config
  lines, checks) themselves. ``steps`` is required and must not be empty.
- ``when`` and ``assert`` take one expression or a list (all must be true), written without
  ``{{ }}`` as in Ansible (a whole ``{{ ... }}`` is accepted too); ``true``/``false`` also.
- ``parse_template`` without ``parse`` means ``parse: textfsm``.
- ``register`` names are letters, digits and ``_``, so that ``registered.NAME`` works.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from nornir_runbook.runbook import shape
from nornir_runbook.runbook.document import Document
from nornir_runbook.runbook.model import Location, Step, StepKind
from nornir_runbook.runbook.parsers import PARSERS
from nornir_runbook.runbook.templating import index_path, key_path
from nornir_runbook.text import suggest

__all__ = ["steps"]

_STEP_KEYS = (
    "name",
    "commands",
    "config",
    "parents",
    "task",
    "args",
    "targets",
    "ignore_errors",
    "when",
    "register",
    "assert",
    "fail_msg",
    "parse",
    "parse_template",
)
_STEP_KINDS = ("commands", "config", "task")
_MODULE_FUNCTION = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*:[A-Za-z_]\w*")
_REGISTER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def steps(
    doc: Document, data: dict[Any, Any], locations: Mapping[str, Location]
) -> tuple[Step, ...]:
    if "steps" not in data:
        shape.missing(doc, "", "steps")
        return ()
    value = data["steps"]
    if not isinstance(value, list) or not value:
        doc.add("steps", f"expected a non-empty list of steps, got {shape.got(value)}")
        return ()
    steps = (_step(doc, item, index_path("steps", i), locations) for i, item in enumerate(value))
    return tuple(s for s in steps if s is not None)


def _step(doc: Document, value: Any, path: str, locations: Mapping[str, Location]) -> Step | None:
    if not isinstance(value, dict):
        doc.add(
            path,
            f"expected a step (a mapping with commands, config or task), got {shape.got(value)}",
        )
        return None
    shape.unknown_keys(doc, value, _STEP_KEYS, path)
    kinds = [k for k in _STEP_KINDS if k in value]
    if len(kinds) > 1 or (not kinds and "assert" not in value):
        written = " and ".join(f"'{k}'" for k in kinds) or "none"
        doc.add(
            path,
            f"expected exactly one of 'commands', 'config' or 'task' (or 'assert' alone), "
            f"got {written}",
        )
    kind = StepKind(kinds[0]) if len(kinds) == 1 else StepKind.ASSERT if not kinds else None
    lines: dict[str, tuple[str, ...]] = {"commands": (), "config": ()}
    by_platform = None
    for key in ("commands", "config"):
        if key in value:
            lines[key], by_platform = _lines(doc, value[key], key_path(path, key))
    task = _task_name(doc, value["task"], key_path(path, "task")) if "task" in value else None
    if "args" in value and kind is not None and kind is not StepKind.TASK:
        doc.add(key_path(path, "args"), "'args' is only allowed with 'task'", key=True)
    parents = _parents(doc, value, path, kind)
    ignore_errors = value.get("ignore_errors", False)
    if not isinstance(ignore_errors, bool):
        doc.add(
            key_path(path, "ignore_errors"),
            f"expected true or false, got {shape.got(ignore_errors)}",
        )
    name = value.get("name")
    name = shape.name(doc, name, key_path(path, "name")) if name is not None else None
    verify = _verify(doc, value, path, kind)
    if kind is None:
        return None
    return Step(
        name=name or _default_name(task, lines["commands"], lines["config"], by_platform, verify),
        kind=kind,
        commands=lines["commands"],
        config=lines["config"],
        parents=parents,
        by_platform=by_platform,
        task=task,
        args=shape.mapping(doc, value.get("args"), key_path(path, "args")),
        targets=shape.targets(doc, value.get("targets"), key_path(path, "targets")),
        ignore_errors=ignore_errors is True,
        location=doc.locations[path],
        yaml_path=path,
        locations=locations,
        **verify,
    )


def _lines(
    doc: Document, value: Any, path: str
) -> tuple[tuple[str, ...], dict[str, tuple[str, ...]] | None]:
    """``commands`` or ``config``: a list of strings, a string, or a mapping from platform to
    either (then returned as the second item, the first being empty)."""
    if not isinstance(value, dict):
        return shape.strings(doc, value, path, non_empty=True), None
    if not value:
        doc.add(path, "expected a non-empty mapping of platform to lines")
    by_platform: dict[str, tuple[str, ...]] = {}
    for platform, items in value.items():
        where = key_path(path, platform)
        if not isinstance(platform, str) or not platform.strip():
            doc.add(where, f"expected a platform name, got {shape.got(platform)}", key=True)
            continue
        by_platform[platform] = shape.strings(doc, items, where, non_empty=True)
    return (), by_platform


def _parents(
    doc: Document, value: dict[Any, Any], path: str, kind: StepKind | None
) -> tuple[str, ...]:
    """``parents``: the section lines a ``config`` step's lines go under (Ansible's
    ``ios_config`` ``parents``), one string or a list, outermost first."""
    if "parents" not in value:
        return ()
    where = key_path(path, "parents")
    if kind is not None and kind is not StepKind.CONFIG:
        doc.add(where, "'parents' is only allowed with 'config'", key=True)
        return ()
    found = shape.strings(doc, value["parents"], where, non_empty=True)
    for index, text in enumerate(found):
        if "\n" in text.strip():
            doc.add(index_path(where, index), f"expected one section line, got {text!r}")
    return found


def _verify(
    doc: Document, value: dict[Any, Any], path: str, kind: StepKind | None
) -> dict[str, Any]:
    """The keys that make a step check what it sees: when, register, assert, fail_msg, parse."""
    found: dict[str, Any] = {}
    if "when" in value:
        found["when"] = _conditions(doc, value["when"], key_path(path, "when"))
    if "assert" in value:
        found["asserts"] = _conditions(doc, value["assert"], key_path(path, "assert"))
        if not found["asserts"]:
            doc.add(key_path(path, "assert"), "expected at least one expression")
    if "fail_msg" in value:
        found["fail_msg"] = shape.text(doc, value["fail_msg"], key_path(path, "fail_msg"))
        if "assert" not in value:
            doc.add(
                key_path(path, "fail_msg"), "'fail_msg' is only allowed with 'assert'", key=True
            )
    if "register" in value:
        found["register"] = _register(doc, value["register"], key_path(path, "register"))
    found.update(_parse_keys(doc, value, path, kind))
    return {k: v for k, v in found.items() if v is not None}


def _register(doc: Document, value: Any, path: str) -> str | None:
    if isinstance(value, str) and _REGISTER.fullmatch(value):
        return value
    doc.add(path, f"expected a name of letters, digits and '_', got {shape.got(value)}")
    return None


def _parse_keys(
    doc: Document, value: dict[Any, Any], path: str, kind: StepKind | None
) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for key in ("parse", "parse_template"):
        if key in value and kind is not None and kind is not StepKind.COMMANDS:
            doc.add(key_path(path, key), f"'{key}' is only allowed with 'commands'", key=True)
    if "parse" in value:
        parser = value["parse"]
        if parser in PARSERS:
            found["parse"] = parser
        else:
            close = suggest(str(parser), PARSERS)
            hint = f" (did you mean '{close}'?)" if close else ""
            expected = ", ".join(f"'{p}'" for p in PARSERS)
            doc.add(
                key_path(path, "parse"),
                f"expected one of {expected}, got {shape.got(parser)}{hint}",
            )
    if "parse_template" in value:
        found["parse_template"] = shape.text(
            doc, value["parse_template"], key_path(path, "parse_template")
        )
        found.setdefault("parse", "textfsm" if "parse" not in value else None)
    return found


def _conditions(doc: Document, value: Any, path: str) -> tuple[str, ...]:
    """``when`` or ``assert``: one expression or a list of them (all must be true), written
    as Ansible writes them, without ``{{ }}``; ``true``/``false`` are expressions too."""
    items = value if isinstance(value, list) else [value]
    found = []
    for index, item in enumerate(items):
        where = index_path(path, index) if isinstance(value, list) else path
        if isinstance(item, bool):
            found.append("true" if item else "false")
        elif isinstance(item, str) and item.strip():
            found.append(_unbraced(item))
        else:
            doc.add(
                where, f"expected an expression (a string) or true/false, got {shape.got(item)}"
            )
    if isinstance(value, str):
        doc.locations[index_path(path, 0)] = doc.locations[path]
    return tuple(found)


def _unbraced(expression: str) -> str:
    """``x == 1`` for ``{{ x == 1 }}``: an expression written as a whole template."""
    text = expression.strip()
    if text.startswith("{{") and text.endswith("}}") and text.count("{{") == 1:
        return text[2:-2].strip()
    return text


def _task_name(doc: Document, value: Any, path: str) -> str | None:
    name = shape.text(doc, value, path)
    if not name:
        return None
    if name != name.strip() or any(c.isspace() for c in name):
        doc.add(path, f"expected a task name without spaces, got {name!r}")
    elif ":" in name and not _MODULE_FUNCTION.fullmatch(name):
        doc.add(path, f"expected a task name or 'package.module:function', got {name!r}")
    return name


def _default_name(
    task: str | None,
    commands: tuple[str, ...],
    config: tuple[str, ...],
    by_platform: Mapping[str, tuple[str, ...]] | None,
    verify: Mapping[str, Any],
) -> str:
    if task:
        return task
    if by_platform is not None:
        commands = next(iter(by_platform.values()), ())
    if commands:
        text = ", ".join(commands)
    elif config:
        text = "config: " + ", ".join(config)
    else:
        text = "assert: " + ", ".join(verify.get("asserts", ()))
    text = " ".join(text.split())
    return text if len(text) <= 60 else text[:59] + "…"  # noqa: PLR2004 - a short name
