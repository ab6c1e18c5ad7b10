"""Runs a plan through FuturesRunner, batch by batch, under the runbook's strategy.

The engine never prints: it hands events to ``on_event`` in the caller's thread as hosts
finish, and returns the RunReport. Nothing a device does raises out of it; Ctrl-C ends the run
early with every finished host kept, the hosts it caught part-way failed at the step they had
not finished, and the hosts that never started skipped.
"""

from __future__ import annotations

import logging
import math
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from nornir.core import Nornir
from nornir.core.task import MultiResult

from nornir_runbook.errors import RunInterrupted
from nornir_runbook.redact import Redactor
from nornir_runbook.report.results import (
    Abort,
    BatchStarted,
    Event,
    HostDone,
    HostReport,
    RunReport,
    RunStarted,
    Status,
    StepDone,
    StepResult,
    StepStarted,
    step_error,
    step_result,
    step_status,
)
from nornir_runbook.report.save import new_run_id
from nornir_runbook.run import free, linear
from nornir_runbook.run.plan import Plan, PlannedStep, Settings, batches
from nornir_runbook.runbook.model import Strategy
from nornir_runbook.runner import FuturesRunner, HostCompletion
from nornir_runbook.runner.remote import PerHost
from nornir_runbook.tasks._netmiko import abort_connections, close_host

logger = logging.getLogger(__name__)

EventSink = Callable[[Event], None]

# Nornir skips hosts that failed an earlier run unless told otherwise; the engine decides itself
_EVERY_HOST: dict[str, Any] = {"on_good": True, "on_failed": True, "raise_on_error": False}
# the error of the step a host was at when the run was interrupted
INTERRUPTED = "interrupted: the run stopped before this step finished on this host"
_BAD = (Status.FAILED, Status.UNREACHABLE)


def _iso(now: datetime) -> str:
    return now.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(slots=True)
class _HostState:
    steps: list[StepResult] = field(default_factory=list)
    status: Status | None = None  # set once the host stops (failed, unreachable, skipped)
    started: float | None = None
    finished: float | None = None
    done: bool = False


class Engine:
    def __init__(self, nr: Nornir, settings: Settings, redactor: Redactor) -> None:
        self.nr = nr
        self.settings = settings
        self.redactor = redactor

    def run(self, plan: Plan, on_event: EventSink, run_id: str | None = None) -> RunReport:
        started = datetime.now(UTC)
        t0 = time.monotonic()
        run = _Run(self, plan, on_event)
        if not self.settings.dry_run and plan.hosts:
            run.runner.pool()  # a dask scheduler out of reach is an input error, before any event
        run_id = run_id or new_run_id(started)
        on_event(
            RunStarted(
                runbook=plan.runbook.name,
                run_id=run_id,
                hosts=plan.hosts,
                steps=tuple(s.step.name for s in plan.steps),
                dry_run=self.settings.dry_run,
            )
        )
        interrupted = run.execute()
        return RunReport(
            runbook=plan.runbook.name,
            run_id=run_id,
            started_at=_iso(started),
            finished_at=_iso(datetime.now(UTC)),
            duration_s=time.monotonic() - t0,
            hosts=tuple(run.report(h) for h in plan.hosts),
            interrupted=interrupted,
            dry_run=self.settings.dry_run,
            abort=run.abort,
        )


class _Run:
    def __init__(self, engine: Engine, plan: Plan, on_event: EventSink) -> None:
        self.e = engine
        self.plan = plan
        self.emit = on_event
        self.state = {h: _HostState() for h in plan.hosts}
        self._token = ""  # the free strategy's current program run: its progress is kept under it
        self.abort: Abort | None = None
        # hosts whose task has begun in a worker (thread executor; a process or dask worker's
        # marks stay there), and the hosts of the runner's current run, for Ctrl-C
        self._begun: set[str] = set()
        self._in_flight: set[str] = set()
        self.runner = FuturesRunner.from_options(engine.settings.runner)

    def execute(self) -> bool:
        """Run every batch; True when interrupted."""
        try:
            return self._batches()
        finally:
            self.runner.close()

    def _batches(self) -> bool:
        settings = self.e.settings
        todo = batches(self.plan.hosts, settings.serial)
        try:
            for number, batch in enumerate(todo, 1):
                if settings.serial is not None and batch:
                    self.emit(BatchStarted(number=number, count=len(todo), hosts=batch))
                if settings.dry_run:
                    self._dry_run(batch)
                    continue
                nr = self.e.nr.filter(filter_func=lambda h, names=set(batch): h.name in names)
                try:
                    aborted = self._batch(nr, batch)
                finally:
                    self._close_connections(nr)
                if aborted:
                    limit = settings.max_fail_percentage or 0.0
                    self.abort = Abort(max_fail_percentage=limit, batch=number, batches=len(todo))
                    break
        except KeyboardInterrupt:
            self._cut_short()
            self._skip_rest()
            return True
        self._skip_rest()
        return False

    def _batch(self, nr: Nornir, batch: tuple[str, ...]) -> bool:
        """One batch under the strategy; True when it went past max_fail_percentage."""
        limit = self.e.settings.max_fail_percentage
        allowed = math.inf if limit is None else math.floor(limit * len(batch) / 100)
        if self.e.settings.strategy == "free":
            self._run_step(nr, None, batch, allowed)
        else:
            for planned in self.plan.steps:
                alive = [h for h in planned.hosts if h in batch and self.state[h].status is None]
                if not alive:
                    continue
                self.emit(
                    StepStarted(index=planned.index, name=planned.step.name, hosts=tuple(alive))
                )
                failed_before = self._failed_in(batch)
                if self._run_step(nr, planned, alive, allowed - failed_before):
                    return True
            for h in batch:
                self._host_done(h)
        return self._failed_in(batch) > allowed

    def _run_step(
        self,
        nr: Nornir,
        planned: PlannedStep | None,
        hosts: tuple[str, ...] | list[str],
        allowed: float,
    ) -> bool:
        runner = self.runner
        runner.max_fail_percentage = (
            None if allowed == math.inf else max(allowed, 0) * 100 / max(len(hosts), 1)
        )
        runner.counts_as_failure = lambda multi: self._counts_as_failure(planned, multi)
        runner.on_result = lambda c: self._completed(planned, c)
        names = set(hosts)
        selected = nr.with_runner(runner).filter(filter_func=lambda h: h.name in names)
        for h in hosts:
            if self.state[h].started is None:
                self.state[h].started = time.monotonic()
        self._in_flight = names
        try:
            if planned is None:
                programs = PerHost({h: free.program_for(self.plan, h) for h in hosts})
                self._token = uuid.uuid4().hex
                selected.run(
                    task=free.host_program,
                    name="runbook",
                    steps=programs,
                    token=self._token,
                    begun=self._begun,
                    **_EVERY_HOST,
                )
            else:
                selected.run(
                    task=linear.one_step,
                    name=planned.step.name,
                    fn=planned.fn,
                    args=PerHost(planned.args),
                    begun=self._begun,
                    **_EVERY_HOST,
                )
        except RunInterrupted:
            raise KeyboardInterrupt from None
        self._in_flight = set()
        for name in runner.last_run.skipped:
            self._stop(name, Status.SKIPPED)
        for name in runner.last_run.timed_out:  # its worker may still be reading the session
            abort_connections(self.e.nr.inventory.hosts[name])
        return runner.last_run.aborted

    def _close_connections(self, nr: Nornir) -> None:
        """Close every host's sessions at the end of a batch, in parallel, whatever their state."""
        if any(h.connections for h in nr.inventory.hosts.values()):
            # grace_period 0: Ctrl-C while closing aborts the sessions still closing, at once
            runner = FuturesRunner(
                self.e.settings.runner.num_workers, task_timeout=30, grace_period=0
            )
            nr.with_runner(runner).run(task=close_host, name="close connections", **_EVERY_HOST)

    def _counts_as_failure(self, planned: PlannedStep | None, multi: MultiResult) -> bool:
        """Toward max_fail_percentage, as in Ansible: a failure ``ignore_errors`` let through
        does not count."""
        if not multi.failed:
            return False
        if planned is not None:
            return not planned.step.ignore_errors
        program = multi[0]  # free: the host's program lists the steps it ran
        if program.exception is not None or not isinstance(program.result, list):
            return True
        ignored = {p.index for p in self.plan.steps if p.step.ignore_errors}
        return any(step.status in _BAD and i not in ignored for i, step in program.result)

    # -- results ---------------------------------------------------------------------------

    def _completed(self, planned: PlannedStep | None, c: HostCompletion) -> None:
        state = self.state[c.host]
        if planned is None:
            self._completed_program(c)
            return
        step = self._step_result(planned, c.result, c.duration_s, c.timed_out, c.host)
        state.steps.append(step)
        self.emit(StepDone(index=planned.index, host=c.host, result=step))
        if step.status is not Status.OK and not planned.step.ignore_errors:
            self._stop(c.host, step.status)
            self._host_done(c.host)
        elif len(state.steps) == len(self.plan.steps_for(c.host)):
            self._host_done(c.host)  # its last step: the host is done, stream it now

    def _completed_program(self, c: HostCompletion) -> None:
        program = c.result[0]  # its own Result; the steps' results follow it in the MultiResult
        outcome = program.result if program.exception is None else None
        if isinstance(outcome, list):  # the program ran: a StepResult per step it got to
            by_index = {p.index: p for p in self.plan.steps}
            for index, raw in outcome:
                step = self._redacted(raw)
                self.state[c.host].steps.append(step)
                if step.status is not Status.OK and not by_index[index].step.ignore_errors:
                    self._stop(c.host, step.status)
        else:  # the program itself failed (timeout, or a failure around the steps)
            status = self._timeout_status(c) or step_status(c.result)
            name, task = "runbook", "runbook"
            if not self.runner.remote:  # its progress is in this process: keep it
                for _, step in free.take_progress(self._token, c.host):
                    self.state[c.host].steps.append(self._redacted(step))
                todo = self.plan.steps_for(c.host)[len(self.state[c.host].steps) :]
                if todo:  # the step it was at when it failed
                    name, task = todo[0].step.name, todo[0].task_name
            self.state[c.host].steps.append(
                StepResult(
                    name=name,
                    task=task,
                    status=status,
                    duration_s=c.duration_s,
                    error=self.e.redactor.scrub(step_error(c.result) or "failed"),
                )
            )
            self._stop(c.host, status)
        self._host_done(c.host)

    def _timeout_status(self, c: HostCompletion) -> Status | None:
        """A host that timed out before it had a session (threads only can tell) is unreachable."""
        local = not self.runner.remote
        if c.timed_out and local and not self.e.nr.inventory.hosts[c.host].connections:
            return Status.UNREACHABLE
        return None

    def _redacted(self, step: StepResult) -> StepResult:
        return replace(
            step,
            error=self.e.redactor.scrub(step.error) if step.error else None,
            result=self.e.redactor.scrub_data(step.result),
        )

    def _step_result(
        self, planned: PlannedStep, multi: MultiResult, duration: float, timed_out: bool, host: str
    ) -> StepResult:
        step = step_result(planned.step.name, planned.task_name, multi, duration)
        c = HostCompletion(host=host, result=multi, attempts=1, timed_out=timed_out, duration_s=0)
        status = self._timeout_status(c)
        if status is not None:
            step = replace(step, status=status)
        return self._redacted(step)

    def _failed_in(self, batch: tuple[str, ...]) -> int:
        return sum(1 for h in batch if self.state[h].status in _BAD)

    def _stop(self, host: str, status: Status) -> None:
        if self.state[host].status is None:
            self.state[host].status = status

    def _host_done(self, host: str) -> None:
        state = self.state[host]
        if state.done:
            return
        state.finished = time.monotonic()
        event = HostDone(report=self.report(host))
        state.done = True  # right before the hand-over: an interrupt between the two loses it
        self.emit(event)

    def _cut_short(self) -> None:
        """After Ctrl-C: a host that got part of its steps keeps them and fails at the step it
        had not finished (``INTERRUPTED``); a host that never began stays for ``_skip_rest``.

        With a process or dask executor a worker's marks stay in its process: every host the
        runner had been given counts as begun, as nothing proves it had not.
        """
        local = not self.runner.remote
        is_free = self.e.settings.strategy is Strategy.FREE
        ignored = {p.index for p in self.plan.steps if p.step.ignore_errors}
        for host, state in self.state.items():
            if state.done or state.status is not None:
                continue
            if is_free and local:  # what its program finished before it was cut short
                for index, raw in free.take_progress(self._token, host):
                    step = self._redacted(raw)
                    state.steps.append(step)
                    if step.status in _BAD and index not in ignored:
                        self._stop(host, step.status)
            todo = self.plan.steps_for(host)[len(state.steps) :]
            begun = host in self._begun if local else host in self._in_flight
            if state.status is not None or not todo or not (state.steps or begun):
                continue
            state.steps.append(
                StepResult(
                    name=todo[0].step.name,
                    task=todo[0].task_name,
                    status=Status.FAILED,
                    error=INTERRUPTED,
                )
            )
            self._stop(host, Status.FAILED)

    def _skip_rest(self) -> None:
        """Hosts the run did not get to the end of are skipped; those that did are done."""
        for host, state in self.state.items():
            if state.done:
                continue
            if len(state.steps) < len(self.plan.steps_for(host)):
                self._stop(host, Status.SKIPPED)
            self._host_done(host)

    def _dry_run(self, batch: tuple[str, ...]) -> None:
        """What each step would send, with the events of a real run in the order it has them."""
        if self.e.settings.strategy is Strategy.FREE:
            for host in batch:
                for planned in self.plan.steps_for(host):
                    self.state[host].steps.append(self._rendered(planned, host))
                self._host_done(host)
            return
        for planned in self.plan.steps:
            hosts = tuple(h for h in batch if h in planned.args)
            if not hosts:
                continue
            self.emit(StepStarted(index=planned.index, name=planned.step.name, hosts=hosts))
            for host in hosts:
                step = self._rendered(planned, host)
                self.state[host].steps.append(step)
                self.emit(StepDone(index=planned.index, host=host, result=step))
                if len(self.state[host].steps) == len(self.plan.steps_for(host)):
                    self._host_done(host)
        for host in batch:
            self._host_done(host)

    def _rendered(self, planned: PlannedStep, host: str) -> StepResult:
        result = self.e.redactor.scrub_data(dict(planned.args[host]))
        return StepResult(
            name=planned.step.name, task=planned.task_name, status=Status.OK, result=result
        )

    def report(self, host: str) -> HostReport:
        state = self.state[host]
        skipped = tuple(
            StepResult(name=p.step.name, task=p.task_name, status=Status.SKIPPED)
            for p in self.plan.steps_for(host)[len(state.steps) :]
        )
        duration = (
            (state.finished or time.monotonic()) - state.started
            if state.started is not None
            else 0.0
        )
        return HostReport(
            name=host,
            status=state.status or Status.OK,
            steps=tuple(state.steps) + skipped,
            duration_s=duration,
        )
