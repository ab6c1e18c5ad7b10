"""``nrb validate``: every check a run makes before its first connection, and nothing more:
the runbook's shape and meaning, and, with a project, its plan for the hosts of its targets."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from rich.console import Console

from nornir_runbook.cli.common import load_checked, load_project_for, path_text
from nornir_runbook.cli.extravars import read_extra_vars
from nornir_runbook.errors import ConfigError, ExitCode, InputError, Problem, RunbookError
from nornir_runbook.project.config import Project
from nornir_runbook.project.selection import select_hosts
from nornir_runbook.redact import Redactor
from nornir_runbook.run.plan import make_plan
from nornir_runbook.runbook.model import Runbook
from nornir_runbook.runbook.registry import TaskRegistry, default_registry


def cmd_validate(args: argparse.Namespace, out: Console, err: Console, redactor: Redactor) -> int:
    extra_vars = read_extra_vars(args.extra_vars)
    project = load_project_for(args, redactor) if _is_file(args.config) else None
    if project is None:
        err.print(
            f"note: no {args.config}: host and group names are not checked (use -c)",
            markup=False,
            highlight=False,
        )
    problems: list[Any] = []
    for path in args.runbooks:
        try:
            registry = default_registry(project.directory if project else path.parent)
            runbook = load_checked(path, project, extra_vars, registry)
            if project is not None:
                _plan(runbook, project, registry)
        except InputError as exc:
            problems.extend(exc.problems)
            continue
        out.file.write(f"ok: {path_text(path)}\n")
        for module, where in _local_modules(runbook):  # runbooks are code: say which
            out.file.write(f"  imports module {module} from {path_text(Path(where))}\n")
    if problems:
        raise RunbookError(problems)
    return ExitCode.OK


def _plan(runbook: Runbook, project: Project, registry: TaskRegistry) -> None:
    """What ``nrb run`` does before it connects: every template rendered and every ``when``
    evaluated for each host of the runbook's targets, and a parser template found for each
    (platform, command) they will send."""
    hosts = select_hosts(project.nr.inventory, targets=runbook.targets)
    make_plan(project.nr, runbook, hosts, registry, project.directory)


def _local_modules(runbook: Runbook) -> list[tuple[str, str]]:
    """``(module, its file)`` of each ``module:function`` task, once each, in step order.

    Checking the runbook imported them; their code runs on ``nrb validate`` as on ``nrb run``.
    """
    found: dict[str, str] = {}
    for step in runbook.steps:
        module = (step.task or "").partition(":")[0] if ":" in (step.task or "") else ""
        if module and module not in found:
            loaded = sys.modules.get(module)
            found[module] = str(getattr(loaded, "__file__", None) or "(no file)")
    return list(found.items())


def _is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except OSError as exc:  # a name too long for the file system, say
        problem = Problem(message=f"cannot read: {exc.strerror}", file=path_text(path))
        raise ConfigError(problem) from None
