"""From a validated runbook to what each host will run: settings, rendered steps, task functions.

Everything here happens before the first connection opens, so that a template error or an
unknown task is an input error, never a host failure.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from nornir.core import Nornir
from nornir.core.inventory import Host

from nornir_runbook.errors import Problem, RenderError, RunbookError
from nornir_runbook.project.selection import narrow
from nornir_runbook.report.document import COMMANDS_TASK
from nornir_runbook.run.step import StepCall, WhenFailed, arguments, checks_only, runs_on
from nornir_runbook.runbook.checks import template_file
from nornir_runbook.runbook.model import Runbook, Serial, Step, StepKind, Strategy
from nornir_runbook.runbook.parsers import ParseError, Template, template_problem
from nornir_runbook.runbook.registry import TaskRegistry
from nornir_runbook.runbook.templating import (
    HostView,
    index_path,
    key_path,
    located_problem,
    render_step,
    template_context,
    uses_registered,
)
from nornir_runbook.runner.options import RUNNER_FIELDS, RunnerOptions
from nornir_runbook.text import plural

CONFIG_TASK = "send_config"
ASSERT_TASK = "assert"  # what the report calls a step of checks alone
MAX_PROBLEMS = 10  # template errors shown when many hosts fail to render
MAX_HOSTS_NAMED = 10  # hosts named in one template error


@dataclass(frozen=True, slots=True, kw_only=True)
class Settings:
    """How a run goes, after config < runbook < command line: the runner's options, and what
    the engine decides itself (strategy, batches, max_fail_percentage, dry run)."""

    runner: RunnerOptions = field(default_factory=RunnerOptions)
    strategy: Strategy = Strategy.LINEAR
    max_fail_percentage: float | None = None
    serial: Serial | None = None
    dry_run: bool = False
    check: bool = False  # --check: config steps send nothing, tasks without check mode skip
    diff: bool = False  # --diff: config steps report the running configuration's diff

    def merged(self, **overrides: Any) -> Settings:
        """A copy with every override that is not None applied: a runner option by its name in
        config.yaml (``num_workers``) or in runbooks and on the command line (``workers``,
        ``host_keys``), anything else by its field here."""
        given = {_RUNNER_NAMES.get(k, k): v for k, v in overrides.items() if v is not None}
        runner = {k: v for k, v in given.items() if k in RUNNER_FIELDS}
        own = {k: v for k, v in given.items() if k not in RUNNER_FIELDS}
        return replace(self, runner=self.runner.merged(**runner), **own)


# a runbook's and the command line's names -> the RunnerOptions field
_RUNNER_NAMES = {"workers": "num_workers", "host_keys": "host_key_checking"}


def settings_from(runner_options: Mapping[str, Any], runbook: Runbook) -> Settings:
    """Config runner options, then the runbook's ``options:`` on top.

    Every option is carried by name, so an option that config.yaml or the runbook accepts
    cannot be left behind on its way to the run.
    """
    runbook_options = {f.name: getattr(runbook.options, f.name) for f in fields(runbook.options)}
    return Settings().merged(**runner_options).merged(**runbook_options)


@dataclass(frozen=True, slots=True, kw_only=True)
class PlannedStep:
    index: int
    step: Step
    task_name: str  # what the report calls it: send_commands, send_config or the task's name
    fn: Callable[..., Any]
    hosts: tuple[str, ...]  # selected hosts this step applies to, inventory order
    # host name -> rendered keyword arguments, for every host the step applies to (empty for
    # the hosts in ``skipped``, and for all when ``deferred``)
    args: Mapping[str, Mapping[str, Any]]
    skipped: frozenset[str] = frozenset()  # a false ``when``, or no lines for its platform
    deferred: bool = False  # templates or ``when`` use ``registered``: rendered on the host
    template: Template | None = None  # ``parse_template``, read
    vars: Mapping[str, Any] = field(default_factory=dict)
    # the step without where each value was written (the whole runbook's): what travels
    bare_step: Step | None = None
    # --check and --diff: the keywords the task is called with (``check=True``, ``diff=True``,
    # those it takes), and why the step is skipped on every host (a task without check mode)
    modes: Mapping[str, bool] = field(default_factory=dict)
    check_skip: str | None = None
    check_mode: bool = False  # --check: what templates see as check_mode

    @property
    def verifies(self) -> bool:
        """Whether anything runs around the task (``when``, parse, assert, register...)."""
        s = self.step
        return bool(
            self.deferred or self.skipped or s.when or s.asserts or s.register or s.parse
        ) or (s.kind is StepKind.ASSERT)

    def call(self, host: str) -> StepCall:
        """The step for ``host``, as it travels to where the host runs."""
        return StepCall(
            index=self.index,
            name=self.step.name,
            task_name=self.task_name,
            fn=self.fn,
            args=self.args[host],
            ignore_errors=self.step.ignore_errors,
            step=(self.bare_step or self.step) if self.verifies else None,
            vars=self.vars if self.verifies else {},
            deferred=self.deferred,
            skip=host in self.skipped,
            template=self.template,
            modes=self.modes,
            check_skip=self.check_skip,
            check_mode=self.check_mode,
        )


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
    *,
    check_mode: bool = False,
) -> Plan:
    """Render every step for every host it applies to; raises RunbookError on a bad template.
    ``check_mode``: the run is a ``--check`` (templates see it as ``check_mode``)."""
    inventory = nr.inventory
    planned = []
    failed: dict[tuple[str, str], list[str]] = {}  # (yaml path, reason) -> hosts it hit
    for index, step in enumerate(runbook.steps):
        step_hosts = tuple(narrow(inventory, hosts, step.targets) if step.targets else hosts)
        task_name, fn = _task_for(step, registry, project_dir)
        deferred = uses_registered(step)
        args: dict[str, Mapping[str, Any]] = {}
        skipped: set[str] = set()
        for name in step_hosts:
            host = inventory.hosts[name]
            args[name] = {}
            if deferred:
                continue
            try:
                if not _runs_on(step, host, runbook.vars, check_mode=check_mode):
                    skipped.add(name)
                    continue
                rendered = render_step(step, host, runbook.vars, check_mode=check_mode)
            except RenderError as exc:
                for failure in exc.failures:
                    failed.setdefault(failure, []).append(name)
                continue
            args[name] = arguments(step, rendered)
        planned.append(
            PlannedStep(
                index=index,
                step=step,
                task_name=task_name,
                fn=fn,
                hosts=step_hosts,
                args=args,
                skipped=frozenset(skipped),
                deferred=deferred,
                template=_template(step, runbook, failed, step_hosts),
                vars=runbook.vars,
                bare_step=replace(step, locations={}),
                check_mode=check_mode,
            )
        )
    for planned_step in planned:
        _check_parsers(planned_step, inventory, failed)
    if failed:
        problems = [
            located_problem(runbook.locations, path, _render_message(path, reason, hosts))
            for (path, reason), hosts in failed.items()
        ]
        shown = problems[:MAX_PROBLEMS]
        if len(problems) > MAX_PROBLEMS:
            more = len(problems) - MAX_PROBLEMS
            shown.append(Problem(message=f"... and {more} more template errors like these"))
        raise RunbookError(shown)
    return Plan(runbook=runbook, hosts=tuple(hosts), steps=tuple(planned))


def with_modes(plan: Plan, *, check: bool, diff: bool) -> Plan:
    """``plan`` under ``--check`` and ``--diff`` (as Ansible's check and diff modes): each
    task that takes a ``check`` or ``diff`` keyword is called with it set; under ``--check`` a
    ``task:`` step whose function takes no ``check`` is skipped, while ``commands`` (read
    only) and ``config`` steps (whose task has both) run."""
    if not (check or diff):
        return plan
    return replace(plan, steps=tuple(_with_modes(p, check=check, diff=diff) for p in plan.steps))


def _with_modes(planned: PlannedStep, *, check: bool, diff: bool) -> PlannedStep:
    takes = _keywords(planned.fn)
    wanted = (("check", check), ("diff", diff))
    modes = {name: True for name, on in wanted if on and name in takes}
    skip = None
    if check and planned.step.kind is StepKind.TASK and "check" not in takes:
        name = planned.task_name
        skip = f"--check: task {name!r} has no check mode (no 'check' argument)"
    return replace(planned, modes=modes, check_skip=skip)


def _keywords(fn: Callable[..., Any]) -> frozenset[str]:
    """The parameters ``fn`` takes by name (``**kwargs`` does not count: a task says that it
    has a check mode by naming it)."""
    try:
        parameters = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return frozenset()
    named = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    return frozenset(p.name for p in parameters if p.kind in named)


def _render_message(path: str, reason: str, hosts: Sequence[str]) -> str:
    """One template error for every host it hit: ``cannot render for 3 hosts (a, b, c): ...``."""
    if reason.startswith("template syntax error") or path.endswith(".parse_template"):
        return reason
    named = ", ".join(hosts[:MAX_HOSTS_NAMED])
    more = f" and {len(hosts) - MAX_HOSTS_NAMED} more" if len(hosts) > MAX_HOSTS_NAMED else ""
    if path.endswith(".parse"):
        return f"{reason} (needed by {plural(len(hosts), 'host')}: {named}{more})"
    verb = "evaluate" if ".when" in path else "render"
    if len(hosts) == 1:
        return f"cannot {verb} for host {hosts[0]!r}: {reason}"
    return f"cannot {verb} for {len(hosts)} hosts ({named}{more}): {reason}"


def _task_for(
    step: Step, registry: TaskRegistry, project_dir: Path | None
) -> tuple[str, Callable[..., Any]]:
    if step.kind is StepKind.COMMANDS:
        return COMMANDS_TASK, registry.get(COMMANDS_TASK).fn
    if step.kind is StepKind.CONFIG:
        return CONFIG_TASK, registry.get(CONFIG_TASK).fn
    if step.kind is StepKind.ASSERT:
        return ASSERT_TASK, checks_only
    assert step.task is not None
    info = registry.resolve(step.task, project_dir)
    return info.name, info.fn


def _runs_on(step: Step, host: Host, vars: Mapping[str, Any], *, check_mode: bool) -> bool:
    """:func:`~.step.runs_on` before the run: an expression that fails is input, a
    RenderError at its place."""
    context = {}
    if step.when:
        context = template_context(HostView.from_host(host), vars, check_mode=check_mode)
    try:
        return runs_on(step, host.platform, context)
    except WhenFailed as exc:
        path = index_path(key_path(step.yaml_path, "when"), exc.index)
        problem = located_problem(step.locations, path, exc.reason)
        raise RenderError([problem], host.name, [(path, exc.reason)]) from None


def _template(
    step: Step, runbook: Runbook, failed: dict[tuple[str, str], list[str]], hosts: Sequence[str]
) -> Template | None:
    if step.parse_template is None:
        return None
    try:
        return template_file(step.parse_template, runbook.path)
    except ParseError as exc:
        where = key_path(step.yaml_path, "parse_template")
        failed.setdefault((where, str(exc)), []).extend(hosts)
        return None


def _check_parsers(
    planned: PlannedStep, inventory: Any, failed: dict[tuple[str, str], list[str]]
) -> None:
    """Every (platform, command) pair the hosts will send has a template (or parser), found
    before anything connects; deferred steps are checked on the host."""
    step = planned.step
    if step.parse is None or planned.template is not None:
        return
    where = key_path(step.yaml_path, "parse")
    for host, args in planned.args.items():
        platform = inventory.hosts[host].platform
        for command in args.get("commands", ()):
            problem = template_problem(
                step.parse, platform=platform, command=command, template=planned.template
            )
            if problem is not None:
                failed.setdefault((where, problem), []).append(host)


def batches(hosts: Sequence[str], serial: Serial | None) -> list[tuple[str, ...]]:
    """Rolling batches of ``serial`` (a count or a percentage), or one batch of every host."""
    if serial is None or not hosts:
        return [tuple(hosts)]
    size = serial.batch_size(len(hosts))
    return [tuple(hosts[i : i + size]) for i in range(0, len(hosts), size)]
