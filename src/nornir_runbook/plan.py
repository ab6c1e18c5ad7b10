"""From a validated runbook to what each host will run: settings, rendered steps, task functions.

Everything here happens before the first connection opens, so that a template error or an
unknown task is an input error, never a host failure.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from nornir.core import Nornir

from nornir_runbook.errors import Problem, RunbookError
from nornir_runbook.hostkeys import HostKeyChecking
from nornir_runbook.model import Runbook, Serial, Step, StepKind, Strategy
from nornir_runbook.registry import TaskRegistry
from nornir_runbook.selection import narrow
from nornir_runbook.templating import render_step

COMMANDS_TASK = "send_commands"
CONFIG_TASK = "send_config"
MAX_PROBLEMS = 10  # template errors shown when many hosts fail to render


@dataclass(frozen=True, slots=True, kw_only=True)
class Settings:
    """How a run goes: runner options and strategy, after config < runbook < command line."""

    strategy: Strategy = Strategy.LINEAR
    workers: int = 20
    executor: str = "thread"
    dask_address: str | None = None
    task_timeout: float | None = None
    retries: int = 0
    retry_backoff: float = 1.0
    max_fail_percentage: float | None = None
    serial: Serial | None = None
    connect_limit: int | None = None
    group_limits: Mapping[str, int] = field(default_factory=dict)
    dry_run: bool = False
    host_keys: HostKeyChecking = field(default_factory=HostKeyChecking)

    def merged(self, **overrides: Any) -> Settings:
        """A copy with every override that is not None applied."""
        return replace(self, **{k: v for k, v in overrides.items() if v is not None})


def settings_from(runner_options: Mapping[str, Any], runbook: Runbook) -> Settings:
    """Config runner options, then the runbook's ``options:`` on top."""
    base = Settings().merged(
        workers=runner_options.get("num_workers"),
        executor=runner_options.get("executor"),
        dask_address=runner_options.get("dask_address"),
        task_timeout=runner_options.get("task_timeout"),
        retries=runner_options.get("retries"),
        retry_backoff=runner_options.get("retry_backoff"),
        max_fail_percentage=runner_options.get("max_fail_percentage"),
        connect_limit=runner_options.get("connect_limit"),
        group_limits=runner_options.get("group_limits"),
    )
    opts = runbook.options
    return base.merged(
        strategy=opts.strategy,
        workers=opts.workers,
        task_timeout=opts.task_timeout,
        retries=opts.retries,
        max_fail_percentage=opts.max_fail_percentage,
        serial=opts.serial,
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class PlannedStep:
    index: int
    step: Step
    task_name: str  # what the report calls it: send_commands, send_config or the task's name
    fn: Callable[..., Any]
    hosts: tuple[str, ...]  # selected hosts this step applies to, inventory order
    args: Mapping[str, Mapping[str, Any]]  # host name -> rendered keyword arguments


@dataclass(frozen=True, slots=True, kw_only=True)
class Plan:
    runbook: Runbook
    hosts: tuple[str, ...]
    steps: tuple[PlannedStep, ...]

    def steps_for(self, host: str) -> list[PlannedStep]:
        return [s for s in self.steps if host in s.args]


def make_plan(
    nr: Nornir,
    runbook: Runbook,
    hosts: Sequence[str],
    registry: TaskRegistry,
    project_dir: Path | None,
) -> Plan:
    """Render every step for every host it applies to; raises RunbookError on a bad template."""
    inventory = nr.inventory
    planned = []
    problems: dict[str, Problem] = {}  # every template error of every host, each said once
    for index, step in enumerate(runbook.steps):
        step_hosts = tuple(narrow(inventory, hosts, step.targets) if step.targets else hosts)
        task_name, fn = _task_for(step, registry, project_dir)
        args = {}
        for name in step_hosts:
            try:
                rendered = render_step(step, inventory.hosts[name], runbook.vars)
            except RunbookError as exc:
                problems.update((str(p), p) for p in exc.problems)
                continue
            args[name] = _arguments(step, rendered)
        planned.append(
            PlannedStep(
                index=index, step=step, task_name=task_name, fn=fn, hosts=step_hosts, args=args
            )
        )
    if problems:
        shown = list(problems.values())[:MAX_PROBLEMS]
        if len(problems) > MAX_PROBLEMS:
            more = len(problems) - MAX_PROBLEMS
            shown.append(Problem(message=f"... and {more} more template errors like these"))
        raise RunbookError(shown)
    return Plan(runbook=runbook, hosts=tuple(hosts), steps=tuple(planned))


def _task_for(
    step: Step, registry: TaskRegistry, project_dir: Path | None
) -> tuple[str, Callable[..., Any]]:
    if step.kind is StepKind.COMMANDS:
        return COMMANDS_TASK, registry.get(COMMANDS_TASK).fn
    if step.kind is StepKind.CONFIG:
        return CONFIG_TASK, registry.get(CONFIG_TASK).fn
    assert step.task is not None
    info = registry.resolve(step.task, project_dir)
    return info.name, info.fn


def _arguments(step: Step, rendered: Any) -> dict[str, Any]:
    if step.kind is StepKind.COMMANDS:
        return {"commands": list(rendered.commands)}
    if step.kind is StepKind.CONFIG:
        return {"config": list(rendered.config)}
    return dict(rendered.args)


def batches(hosts: Sequence[str], serial: Serial | None) -> list[tuple[str, ...]]:
    """Rolling batches of ``serial`` (a count or a percentage), or one batch of every host."""
    if serial is None or not hosts:
        return [tuple(hosts)]
    size = serial.batch_size(len(hosts))
    return [tuple(hosts[i : i + size]) for i in range(0, len(hosts), size)]
