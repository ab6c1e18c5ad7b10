"""What several subcommands share: the project with its secrets known, a checked runbook, the
lab for a run, and saying why no host was selected."""

from __future__ import annotations

import argparse
import gc
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any

from rich.console import Console

from nornir_runbook.cli.extravars import with_extra_vars
from nornir_runbook.errors import Problem, RunbookError, ShapeError, in_file_order
from nornir_runbook.project.config import Project, load_project
from nornir_runbook.project.selection import why_no_host
from nornir_runbook.project.targets import Targets
from nornir_runbook.redact import Redactor, inventory_secrets
from nornir_runbook.runbook.checks import check_runbook
from nornir_runbook.runbook.loader import load_runbook
from nornir_runbook.runbook.model import Runbook
from nornir_runbook.runbook.registry import TaskRegistry, default_registry
from nornir_runbook.text import plural, printable


def load_project_for(args: argparse.Namespace, redactor: Redactor) -> Project:
    """The project of ``-c``; its inventory's secrets are redacted from then on."""
    project = load_project(args.config, ask_pass=getattr(args, "ask_pass", False))
    redactor.add(inventory_secrets(project.nr))
    # the inventory lives as long as the command: the garbage collector need not walk its
    # objects again at every collection of the run (10,000 hosts: 0.5 s of a no-op run)
    gc.freeze()
    return project


def load_checked(
    path: Path,
    project: Project | None,
    extra_vars: Mapping[str, Any] | None = None,
    registry: TaskRegistry | None = None,
) -> Runbook:
    """Load and check a runbook against the tasks (``registry``, by default the project's) and
    (when known) the inventory, with ``extra_vars`` (``-e``) over its ``vars``: templates are
    checked against both.

    Steps whose shape is fine are checked even when others are not: every problem at once.
    """
    shape: list[Problem] = []
    vars_known = True
    runbook: Runbook
    try:
        runbook = load_runbook(path)
    except ShapeError as exc:
        runbook, shape, vars_known = exc.partial, exc.problems, exc.vars_known
    runbook = with_extra_vars(runbook, extra_vars or {})
    if registry is None:
        registry = default_registry(project.directory if project else path.parent)
    inv = project.nr.inventory if project else None
    problems = check_runbook(
        runbook,
        registry,
        groups=inv.groups.keys() if inv is not None else None,  # looked up by name
        hosts=inv.hosts.keys() if inv is not None else None,
        vars_known=vars_known,
    )
    if shape or problems:
        raise RunbookError(in_file_order([*shape, *problems]))
    return runbook


def no_host(err: Console, inventory: Any, targets: Targets | None, args: Any) -> None:
    """Say which part of the selection left no host (exit 3 follows)."""
    message = why_no_host(
        inventory,
        targets=targets,
        limit=args.limit,
        tags=args.tags,
        skip_tags=args.skip_tags,
        filters=args.filters,
    )
    err.print(message, markup=False, highlight=False)


def lab_context(
    enabled: bool, nr: Any, hosts: Sequence[str], err: Console
) -> AbstractContextManager[Any]:
    """The lab devices for ``hosts`` while the run lasts, or nothing."""
    if not enabled or not hosts:
        return nullcontext()
    from nornir_runbook.lab import Lab, devices_from_nornir  # noqa: PLC0415 -- fakenos loads slowly

    devices = devices_from_nornir(nr, hosts)
    err.print(f"lab: starting {plural(len(devices), 'fake device')}", markup=False)
    return Lab(devices)


def path_text(path: Path) -> str:
    """A path as text that any stdout can take (a file name need not be UTF-8, nor printable)."""
    return printable(str(path).encode("utf-8", "backslashreplace").decode("utf-8"))
