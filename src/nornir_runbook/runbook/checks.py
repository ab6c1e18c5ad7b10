"""Phase 2 of reading a runbook: what it means, against the tasks and the inventory.

:func:`nornir_runbook.runbook.loader.load_runbook` checks a runbook's shape; :func:`check_runbook`
checks the rest before anything connects (this is ``nrb validate``): task names and their
``args`` against each task's signature, templates and expressions that compile,
``registered.NAME`` that an earlier step registers, ``parse_template`` files that can be
read, and host and group names that the inventory has. Every problem is returned at once,
located as the loader locates its own.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

from nornir_runbook.errors import Problem, in_file_order
from nornir_runbook.project.hostdata import FORBIDDEN_KEYS
from nornir_runbook.project.targets import Targets
from nornir_runbook.runbook.model import Runbook, Step, StepKind
from nornir_runbook.runbook.parsers import ParseError, Template, read_template, template_problem
from nornir_runbook.runbook.registry import TaskRegistry, arg_problems
from nornir_runbook.runbook.templating import has_templates, index_path, key_path, located_problem
from nornir_runbook.text import suggest

__all__ = ["check_runbook"]


def check_runbook(
    runbook: Runbook,
    registry: TaskRegistry,
    *,
    groups: Collection[str] | None = None,
    hosts: Collection[str] | None = None,
    vars_known: bool = True,
) -> list[Problem]:
    """Every problem of meaning, located: tasks and their args, templates, groups and hosts.

    ``groups`` and ``hosts`` are the inventory's names (a set or a mapping's keys: each name
    a runbook gives is looked up there); None skips that check. Without
    ``vars_known`` (the runbook's ``vars`` could not be read), ``vars.x`` is not checked.
    """
    locations = runbook.locations
    problems: list[Problem] = []
    registered: set[str] = set()  # names registered by the steps so far
    for step in runbook.steps:
        problems.extend(_check_task(step, registry))
        found = _check_templates(
            step, vars=runbook.vars if vars_known else None, registered=frozenset(registered)
        )
        problems.extend(located_problem(locations, path, message) for path, message in found)
        problems.extend(_check_parse_template(step, runbook.path))
        if step.register is not None:
            registered.add(step.register)
        if step.targets is not None:
            found = _check_targets(step.targets, key_path(step.yaml_path, "targets"), groups, hosts)
            problems.extend(located_problem(locations, p, m) for p, m in found)
    found = _check_targets(runbook.targets, "targets", groups, hosts)
    problems.extend(located_problem(locations, p, m) for p, m in found)
    for group in runbook.options.group_limits or {}:
        if groups is not None and group not in groups:
            close = suggest(group, groups)
            hint = f" (did you mean '{close}'?)" if close else ""
            where = key_path("options.group_limits", group)
            problems.append(
                located_problem(locations, where, f"unknown group '{group}'{hint}", key=True)
            )
    return in_file_order(problems)


def _check_templates(
    step: Step, *, vars: Mapping[str, Any] | None, registered: Collection[str]
) -> list[tuple[str, str]]:
    """:func:`~nornir_runbook.runbook.template_check.compile_check` of a step with templates or
    expressions; Jinja2 is not loaded for a runbook that has none."""
    if not has_templates(step):
        return []
    from nornir_runbook.runbook.template_check import compile_check  # noqa: PLC0415 -- Jinja2

    return compile_check(step, vars=vars, registered=registered)


def _check_task(step: Step, registry: TaskRegistry) -> list[Problem]:
    if step.kind is not StepKind.TASK or step.task is None:
        return []
    task_path = key_path(step.yaml_path, "task")
    try:
        info = registry.resolve(step.task)
    except LookupError as exc:
        return [located_problem(step.locations, task_path, str(exc.args[0]))]
    args_path = key_path(step.yaml_path, "args")
    problems = []
    for arg, message in arg_problems(info, step.args):
        if arg is not None:
            path, key = key_path(args_path, arg), True
        else:
            path, key = (args_path if args_path in step.locations else task_path), False
        problems.append(located_problem(step.locations, path, message, key=key))
    return problems


def _check_parse_template(step: Step, runbook_path: Path | None) -> list[Problem]:
    """``parse_template`` names a file that can be read (relative to the runbook)."""
    if step.parse_template is None:
        return []
    where = key_path(step.yaml_path, "parse_template")
    try:
        template = template_file(step.parse_template, runbook_path)
    except ParseError as exc:
        return [located_problem(step.locations, where, str(exc))]
    # a template of one's own fits every platform and command: this compiles it
    problem = template_problem(
        step.parse or "textfsm", platform=None, command="", template=template
    )
    return [] if problem is None else [located_problem(step.locations, where, problem)]


def template_file(written: str, runbook_path: Path | None) -> Template:
    """The template ``parse_template: written`` names, read, relative to the runbook's folder."""
    path = Path(written).expanduser()
    if not path.is_absolute() and runbook_path is not None:
        path = runbook_path.parent / path
    return read_template(path)


def _check_targets(
    targets: Targets, path: str, groups: Collection[str] | None, hosts: Collection[str] | None
) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for kind, names, known in (("group", targets.groups, groups), ("host", targets.hosts, hosts)):
        if known is None:
            continue
        for index, name in enumerate(names):
            if name not in known:
                close = suggest(name, known)
                hint = f" (did you mean '{close}'?)" if close else ""
                item = index_path(key_path(path, f"{kind}s"), index)
                found.append((item, f"unknown {kind} '{name}'{hint}"))
    for key in targets.filter:  # as select_hosts() refuses them, but located, and in validate
        if key in FORBIDDEN_KEYS:
            where = key_path(key_path(path, "filter"), key)
            found.append((where, f"selecting hosts by '{key}' is not allowed"))
    return found
