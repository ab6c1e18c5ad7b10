"""One step on one host, where the host runs (a thread, a worker process, a dask worker).

A step that only sends (commands, config, a task) is its task function and nothing more. A step
that verifies also, around it: evaluates ``when`` and renders its templates there, when they use
``registered`` (what earlier steps gave on this host is only known then); parses each command's
output (``parse``); checks its ``assert`` expressions against the result; and hands back a
:class:`~nornir_runbook.report.results.StepOutcome` with the status, the checks and the result,
which later steps see as ``registered.NAME``.

What the device does still raises (a connection error stays an exception, so that the runner
can retry it); what the checks find is data: a failed check, a parse error, an expression that
raises, a template that cannot render are the step's failure on this host, never the run's.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from nornir.core.task import Result, Task

from nornir_runbook.errors import RenderError
from nornir_runbook.report.results import Check, Status, StepOutcome
from nornir_runbook.runbook.expressions import evaluate, explain
from nornir_runbook.runbook.model import Step, StepKind
from nornir_runbook.runbook.parsers import ParseError, Template, parse_output
from nornir_runbook.runbook.templating import (
    HostView,
    render_step,
    render_text,
    template_context,
)

_SHOWN = 100  # characters of an expression in a step's error


@dataclass(frozen=True, slots=True)
class StepCall:
    """One step for one host; plain data, so it can travel to another process."""

    index: int
    name: str
    task_name: str
    fn: Callable[..., Any]
    args: Mapping[str, Any]  # rendered when the plan was made (empty when ``deferred``)
    ignore_errors: bool = False
    step: Step | None = None  # set when the step verifies: the rest is done here
    vars: Mapping[str, Any] = field(default_factory=dict)
    deferred: bool = False  # templates and ``when`` use ``registered``: rendered here
    skip: bool = False  # the plan found the step does not run on this host
    template: Template | None = None  # ``parse_template``, read
    modes: Mapping[str, bool] = field(default_factory=dict)  # check=True, diff=True
    check_skip: str | None = None  # --check, and the task has no check mode: why it skips
    check_mode: bool = False  # --check: what templates see as check_mode

    @property
    def register(self) -> str | None:
        return self.step.register if self.step is not None else None


def checks_only(task: Task) -> Result:
    """The task of a step of ``assert`` alone: nothing is sent (``run_step`` checks)."""
    return Result(host=task.host)


def run_step(task: Task, call: StepCall, registered: Mapping[str, Any]) -> Result:
    """The step on ``task.host``; what it returns is the step's result there."""
    if call.skip or call.check_skip is not None:  # a false ``when``, or --check: why it skips
        reason = None if call.skip else call.check_skip
        return _outcome(task, StepOutcome(status=Status.SKIPPED, error=reason))
    if call.step is None:
        return call.fn(task, **call.args, **call.modes)  # type: ignore[no-any-return]
    step, host = call.step, task.host
    context = template_context(
        HostView.from_host(host), call.vars, registered, check_mode=call.check_mode
    )
    args = call.args
    if call.deferred:
        early = _deferred(call, step, task, context, registered)
        if isinstance(early, StepOutcome):
            return _outcome(task, early)
        args = early
    value: Any = None
    changed, diff = False, ""
    if step.kind is not StepKind.ASSERT:
        done = call.fn(task, **args, **call.modes)
        if done.failed:
            return done  # type: ignore[no-any-return]
        value, changed, diff = done.result, done.changed, done.diff
    if step.parse is not None and isinstance(value, dict):
        try:
            value = _parsed(step.parse, host.platform, value, call.template)
        except ParseError as exc:
            return _outcome(task, StepOutcome(status=Status.FAILED, result=value, error=str(exc)))
    outcome = check(step, {**context, "result": value}, value)
    return _outcome(task, outcome, changed=changed, diff=diff)


def _deferred(
    call: StepCall, step: Step, task: Task, context: Mapping[str, Any], registered: Any
) -> StepOutcome | Mapping[str, Any]:
    """``when`` and the templates that need ``registered``: the outcome when the step goes no
    further (skipped, or an expression that fails), else the rendered arguments."""
    try:
        if not runs_on(step, task.host.platform, context):
            return StepOutcome(status=Status.SKIPPED)
    except WhenFailed as exc:
        return StepOutcome(status=Status.FAILED, error=f"when: {exc.source}: {exc.reason}")
    try:
        rendered = render_step(step, task.host, call.vars, registered)
    except RenderError as exc:
        reasons = "; ".join(f"{path}: {reason}" for path, reason in exc.failures)
        return StepOutcome(status=Status.FAILED, error=f"cannot render: {reasons}")
    return arguments(step, rendered)


class WhenFailed(Exception):
    """A ``when`` expression raised: which one (its index in the step's list), and why."""

    def __init__(self, index: int, source: str, cause: BaseException) -> None:
        super().__init__(source)
        self.index, self.source, self.reason = index, source, _reason(cause)


def runs_on(step: Step, platform: str | None, context: Mapping[str, Any]) -> bool:
    """Whether ``step`` runs on a host of ``platform`` whose templates see ``context``: the
    step has lines for its platform (when written by platform) and every ``when`` is true.
    An expression that raises is :class:`WhenFailed`; with no ``when``, ``context`` is not
    read."""
    if step.lines_for(platform) is None:
        return False
    for index, source in enumerate(step.when):
        try:
            if not evaluate(source, context):
                return False
        except Exception as exc:
            raise WhenFailed(index, source, exc) from exc
    return True


def arguments(step: Step, rendered: Any) -> dict[str, Any]:
    """The task's keyword arguments from a step rendered for one host."""
    if step.kind is StepKind.COMMANDS:
        return {"commands": list(rendered.commands)}
    if step.kind is StepKind.CONFIG:
        parents = {"parents": list(rendered.parents)} if rendered.parents else {}
        return {"config": list(rendered.config), **parents}
    if step.kind is StepKind.ASSERT:
        return {}
    return dict(rendered.args)


def _parsed(
    parser: str, platform: str | None, outputs: Mapping[str, Any], template: Template | None
) -> dict[str, Any]:
    return {
        command: parse_output(
            parser, platform=platform, command=command, output=output, template=template
        )
        if isinstance(output, str)
        else output
        for command, output in outputs.items()
    }


def check(step: Step, context: Mapping[str, Any], value: Any) -> StepOutcome:
    """Every ``assert`` of ``step`` against ``context`` (which holds ``result``)."""
    checks = []
    for source in step.asserts:
        try:
            ok = bool(evaluate(source, context))
        except Exception as exc:  # noqa: BLE001 - a missing key in parsed data, say
            checks.append(Check(that=source, ok=False, error=_reason(exc)))
            continue
        checks.append(Check(that=source, ok=ok, seen=None if ok else explain(source, context)))
    failed = [c for c in checks if not c.ok]
    if not failed:
        return StepOutcome(status=Status.OK, result=value, checks=tuple(checks))
    return StepOutcome(
        status=Status.FAILED,
        result=value,
        checks=tuple(checks),
        error=_failure(step, context, failed),
    )


def _failure(step: Step, context: Mapping[str, Any], failed: list[Check]) -> str:
    """One line: ``fail_msg`` rendered, else ``assertion failed``, with the first failed
    expression (shortened) and what it saw; every check is in the step's ``checks``."""
    first = failed[0]
    what = _shortened(first.that) + (f"; {first.detail}" if first.detail else "")
    more = f" (and {len(failed) - 1} more failed)" if len(failed) > 1 else ""
    if step.fail_msg is None:
        return f"assertion failed: {what}{more}"
    try:
        message = " ".join(render_text(step.fail_msg, context).split())
    except Exception as exc:  # noqa: BLE001 - the check's failure matters more than its message
        message = f"assertion failed (fail_msg: {_reason(exc)})"
    return f"{message} ({what}){more}"


def _shortened(expression: str) -> str:
    text = " ".join(expression.split())
    return text if len(text) <= _SHOWN else text[: _SHOWN - 1] + "…"


def _reason(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__


def _outcome(task: Task, outcome: StepOutcome, *, changed: bool = False, diff: str = "") -> Result:
    return Result(
        host=task.host,
        result=outcome,
        changed=changed,
        diff=diff,
        failed=outcome.status is Status.FAILED,
    )
