"""The linear strategy (Ansible's ``linear``): every selected host finishes step N before any
host starts step N+1, so each step is one runner run over the batch's hosts still going, and
its Nornir task is one step on one host."""

from __future__ import annotations

import functools
from dataclasses import replace
from typing import Any

from nornir.core import Nornir
from nornir.core.task import MultiResult, Result, Task

from nornir_runbook.report.results import Status, StepDone, StepResult, StepStarted, step_result
from nornir_runbook.run.plan import PlannedStep
from nornir_runbook.run.step import StepCall, run_step
from nornir_runbook.run.strategy import BAD, RunState
from nornir_runbook.runner import HostCompletion
from nornir_runbook.runner.remote import PerHost


def one_step(task: Task, calls: PerHost, begun: set[str]) -> Result:
    """One step on one host: the host's ``(StepCall, registered)``; ``begun`` notes the host
    (read in this process only: see ``FuturesRunner.remote``)."""
    begun.add(task.host.name)
    call, registered = calls.of(task.host.name)
    return run_step(task, call, registered)


class Linear:
    """Step by step over the batch; a host that fails a step (without ``ignore_errors``) stops."""

    def run_batch(self, run: RunState, nr: Nornir, batch: tuple[str, ...], allowed: float) -> bool:
        for planned in run.plan.steps:
            # the batch's hosts the step applies to (``args`` holds each), in inventory order
            alive = [h for h in batch if h in planned.args and run.state[h].status is None]
            if not alive:
                continue
            run.emit(StepStarted(index=planned.index, name=planned.step.name, hosts=tuple(alive)))
            if run.run_task(
                nr,
                alive,
                allowed - run.failed_in(batch),
                task=one_step,
                name=planned.step.name,
                params={"calls": PerHost({h: _call(run, planned, h) for h in alive})},
                counts_as_failure=functools.partial(_counts_as_failure, planned),
                on_result=functools.partial(self._completed, run, planned),
            ):
                return True
        for h in batch:
            run.host_done(h)
        return run.failed_in(batch) > allowed

    def _completed(self, run: RunState, planned: PlannedStep, c: HostCompletion) -> None:
        state = run.state[c.host]
        step = step_result(planned.step.name, planned.task_name, c.result, c.duration_s)
        status = run.timeout_status(c)
        if status is not None:
            step = replace(step, status=status)
        if planned.step.register is not None and step.status is not Status.SKIPPED:
            state.registered[planned.step.register] = step.result
        step = run.redacted(step)
        state.steps.append(step)
        run.emit(StepDone(index=planned.index, host=c.host, result=step))
        if step.status in BAD and not planned.step.ignore_errors:
            run.stop(c.host, step.status)
            run.host_done(c.host)
        elif len(state.steps) == len(run.plan.steps_for(c.host)):
            run.host_done(c.host)  # its last step: the host is done, stream it now

    def dry_run(self, run: RunState, batch: tuple[str, ...]) -> None:
        for planned in run.plan.steps:
            hosts = tuple(h for h in batch if h in planned.args)
            if not hosts:
                continue
            run.emit(StepStarted(index=planned.index, name=planned.step.name, hosts=hosts))
            for host in hosts:
                step = run.rendered(planned, host)
                run.state[host].steps.append(step)
                run.emit(StepDone(index=planned.index, host=host, result=step))
                if len(run.state[host].steps) == len(run.plan.steps_for(host)):
                    run.host_done(host)
        for host in batch:
            run.host_done(host)

    def finished(self, run: RunState, host: str) -> list[tuple[int, StepResult]]:
        """Nothing: each step's results reach the engine as they come."""
        return []


def _call(run: RunState, planned: PlannedStep, host: str) -> tuple[StepCall, dict[str, Any]]:
    """What the host's worker needs for the step: the call, and what earlier steps registered
    there (only when the step reads it)."""
    registered = run.state[host].registered if planned.verifies else {}
    return planned.call(host), dict(registered)


def _counts_as_failure(planned: PlannedStep, multi: MultiResult) -> bool:
    """Toward max_fail_percentage, as in Ansible: a failure ``ignore_errors`` let through
    does not count."""
    return bool(multi.failed) and not planned.step.ignore_errors
