"""The free strategy's Nornir task (Ansible's ``free``): each host runs its whole step list on its
own, as one future, so a slow host never holds the others back.

A retry after a connection error resumes at the step that failed, so that no config step is
applied twice: what each host's program finished is kept, per program run (``token``), in the
process that runs it. When that is this process (``FuturesRunner.remote`` is false), the engine
takes what a host had finished when its program failed or was cut short with
:func:`take_progress`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from nornir.core.exceptions import NornirSubTaskError
from nornir.core.task import Result, Task

from nornir_runbook.report.results import Status, StepResult, step_result
from nornir_runbook.run.plan import Plan
from nornir_runbook.runner.remote import PerHost
from nornir_runbook.tasks._netmiko import close_host


@dataclass(frozen=True, slots=True)
class StepCall:
    """One step of a host's program; plain data, so it can travel to another process."""

    index: int
    name: str
    task_name: str
    fn: Callable[..., Any]
    args: Mapping[str, Any]
    ignore_errors: bool


def program_for(plan: Plan, host: str) -> list[StepCall]:
    return [
        StepCall(p.index, p.step.name, p.task_name, p.fn, p.args[host], p.step.ignore_errors)
        for p in plan.steps_for(host)
    ]


# (program run, host) -> (step index, its result) of each step that host finished so far
_progress: dict[tuple[str, str], list[tuple[int, StepResult]]] = {}


def take_progress(token: str, host: str) -> list[tuple[int, StepResult]]:
    """What ``host``'s program of run ``token`` finished in this process; forgotten here."""
    return list(_progress.pop((token, host), []))


def host_program(task: Task, steps: PerHost, token: str, begun: set[str]) -> Result:
    """A host's whole step list in one future."""
    name = task.host.name
    begun.add(name)
    done = _progress.setdefault((token, name), [])
    for call in steps.of(name)[len(done) :]:
        t0 = time.monotonic()
        try:
            multi = task.run(task=_call_step, name=call.name, call=call)
        except NornirSubTaskError as exc:
            step = step_result(call.name, call.task_name, exc.result, time.monotonic() - t0)
            if step.status is Status.UNREACHABLE:
                raise  # let the runner retry the connection; progress resumes here
            done.append((call.index, step))
            if not call.ignore_errors:
                break
            continue
        elapsed = time.monotonic() - t0
        done.append((call.index, step_result(call.name, call.task_name, multi, elapsed)))
    close_host(task)
    return Result(host=task.host, result=list(_progress.pop((token, name), done)))


def _call_step(task: Task, call: StepCall) -> Result:
    """One step of a program: its arguments may be named as Task.run's own (``name``...)."""
    return call.fn(task, **call.args)  # type: ignore[no-any-return]
