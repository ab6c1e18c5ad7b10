"""The free strategy (Ansible's ``free``): each host runs its whole step list on its own, as one
future, so a slow host never holds the others back.

A retry after a connection error resumes at the step that failed, so that no config step is
applied twice: what each host's program finished is kept in the run's ``Progress``, in the
process that runs the program. When that is this process (``FuturesRunner.remote`` is false),
the strategy reads from it what a host had finished when its program failed or was cut short.
"""

from __future__ import annotations

import functools
import time
import uuid
from collections.abc import Mapping
from typing import Any

from nornir.core import Nornir
from nornir.core.exceptions import NornirSubTaskError
from nornir.core.task import MultiResult, Result, Task

from nornir_runbook.report.results import Status, StepResult, step_error, step_result, step_status
from nornir_runbook.run.plan import Plan
from nornir_runbook.run.step import StepCall, run_step
from nornir_runbook.run.strategy import BAD, RunState
from nornir_runbook.runner import HostCompletion
from nornir_runbook.runner.remote import PerHost, worker_local
from nornir_runbook.tasks._netmiko import close_host


def program_for(plan: Plan, host: str) -> list[StepCall]:
    return [p.call(host) for p in plan.steps_for(host)]


class Progress:
    """What each host's program finished so far in one run: (step index, result) per step.

    With the thread executor the programs write into this very object. Sent to a worker process
    it arrives as a stand-in, and ``here()`` there is that process's own ``Progress`` of the same
    run, kept between jobs (a host always runs in the same worker), so that a retry there
    resumes too; what it holds stays in that process.
    """

    def __init__(self, token: str | None = None) -> None:
        self.token = token or uuid.uuid4().hex
        self._sent = False
        self._done: dict[str, list[tuple[int, StepResult]]] = {}

    def __reduce__(self) -> tuple[Any, ...]:
        return (_arrived, (self.token,))

    def here(self) -> Progress:
        """The Progress a program running in this process writes into."""
        if not self._sent:
            return self
        return worker_local(f"nrb-progress-{self.token}", functools.partial(Progress, self.token))

    def of(self, host: str) -> list[tuple[int, StepResult]]:
        """``host``'s finished steps, to append to."""
        return self._done.setdefault(host, [])

    def take(self, host: str) -> list[tuple[int, StepResult]]:
        """``host``'s finished steps, forgotten here."""
        return list(self._done.pop(host, []))


def _arrived(token: str) -> Progress:
    progress = Progress(token)
    progress._sent = True
    return progress


def host_program(task: Task, steps: PerHost, progress: Progress, begun: set[str]) -> Result:
    """A host's whole step list in one future."""
    name = task.host.name
    begun.add(name)
    here = progress.here()
    done = here.of(name)
    calls = steps.of(name)
    for call in calls[len(done) :]:
        registered = _registered(calls, done)  # from what it finished: a retry resumes it too
        t0 = time.monotonic()
        try:
            multi = task.run(task=_call_step, name=call.name, call=call, registered=registered)
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
    here.take(name)
    return Result(host=task.host, result=list(done))


def _call_step(task: Task, call: StepCall, registered: Mapping[str, Any]) -> Result:
    """One step of a program: its arguments may be named as Task.run's own (``name``...)."""
    return run_step(task, call, registered)


def _registered(calls: list[StepCall], done: list[tuple[int, StepResult]]) -> dict[str, Any]:
    """What the steps a host has finished registered, by name (a skipped step registers
    nothing)."""
    names = {c.index: c.register for c in calls if c.register is not None}
    return {
        names[index]: step.result
        for index, step in done
        if index in names and step.status is not Status.SKIPPED
    }


class Free:
    """Each host through its whole step list as one runner job; its results come at its end."""

    def __init__(self) -> None:
        self.progress = Progress()

    def run_batch(self, run: RunState, nr: Nornir, batch: tuple[str, ...], allowed: float) -> bool:
        programs = PerHost({h: program_for(run.plan, h) for h in batch})
        run.run_task(
            nr,
            batch,
            allowed,
            task=host_program,
            name="runbook",
            params={"steps": programs, "progress": self.progress},
            counts_as_failure=functools.partial(_counts_as_failure, run.plan),
            on_result=functools.partial(self._completed, run),
        )
        return run.failed_in(batch) > allowed

    def _completed(self, run: RunState, c: HostCompletion) -> None:
        state = run.state[c.host]
        program = c.result[0]  # its own Result; the steps' results follow it in the MultiResult
        outcome = program.result if program.exception is None else None
        if isinstance(outcome, list):  # the program ran: a StepResult per step it got to
            by_index = {p.index: p for p in run.plan.steps}
            for index, raw in outcome:
                step = run.redacted(raw)
                state.steps.append(step)
                if step.status in BAD and not by_index[index].step.ignore_errors:
                    run.stop(c.host, step.status)
        else:  # the program itself failed (timeout, or a failure around the steps)
            status = run.timeout_status(c) or step_status(c.result)
            name, task = "runbook", "runbook"
            if not run.remote:  # its progress is in this process: keep it
                for _, step in self.progress.take(c.host):
                    state.steps.append(run.redacted(step))
                todo = run.plan.steps_for(c.host)[len(state.steps) :]
                if todo:  # the step it was at when it failed
                    name, task = todo[0].step.name, todo[0].task_name
            state.steps.append(
                StepResult(
                    name=name,
                    task=task,
                    status=status,
                    duration_s=c.duration_s,
                    error=run.scrub(step_error(c.result) or "failed"),
                )
            )
            run.stop(c.host, status)
        run.host_done(c.host)

    def dry_run(self, run: RunState, batch: tuple[str, ...]) -> None:
        for host in batch:
            for planned in run.plan.steps_for(host):
                run.state[host].steps.append(run.rendered(planned, host))
            run.host_done(host)

    def finished(self, run: RunState, host: str) -> list[tuple[int, StepResult]]:
        """What its program finished before it was cut short, when it ran in this process."""
        return [] if run.remote else self.progress.take(host)


def _counts_as_failure(plan: Plan, multi: MultiResult) -> bool:
    """Toward max_fail_percentage, as in Ansible: a failure ``ignore_errors`` let through
    does not count; the host's program lists the steps it ran."""
    if not multi.failed:
        return False
    program = multi[0]
    if program.exception is not None or not isinstance(program.result, list):
        return True
    ignored = {p.index for p in plan.steps if p.step.ignore_errors}
    return any(step.status in BAD and i not in ignored for i, step in program.result)
