"""Runs a plan through FuturesRunner, batch by batch, under the runbook's strategy.

The engine owns the run; each batch goes to the strategy's module (``run.linear``,
``run.free``), picked from ``STRATEGIES`` and made afresh for every run (see ``run.strategy``).

The engine never prints: it hands events to ``on_event`` in the caller's thread as hosts
finish, and returns the RunReport. Nothing a device does raises out of it; Ctrl-C ends the run
early with every finished host kept, the hosts it caught part-way failed at the step they had
not finished, and the hosts that never started skipped.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from nornir.core import Nornir
from nornir.core.inventory import Hosts, Inventory
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
    StepResult,
)
from nornir_runbook.report.save import new_run_id
from nornir_runbook.run.free import Free
from nornir_runbook.run.linear import Linear
from nornir_runbook.run.plan import Plan, PlannedStep, Settings, batches, with_modes
from nornir_runbook.run.strategy import BAD, HostState, StrategyPlugin
from nornir_runbook.runbook.model import Strategy
from nornir_runbook.runner import FuturesRunner, HostCompletion, RunArgs
from nornir_runbook.tasks._netmiko import abort_connections, close_host

logger = logging.getLogger(__name__)

EventSink = Callable[[Event], None]

# Nornir skips hosts that failed an earlier run unless told otherwise; the engine decides itself
_EVERY_HOST: dict[str, Any] = {"on_good": True, "on_failed": True, "raise_on_error": False}
# the error of the step a host was at when the run was interrupted
INTERRUPTED = "interrupted: the run stopped before this step finished on this host"
# the strategies, by the runbook's ``strategy``: each call makes one for a run
STRATEGIES: Mapping[Strategy, Callable[[], StrategyPlugin]] = {
    Strategy.LINEAR: Linear,
    Strategy.FREE: Free,
}


def _iso(now: datetime) -> str:
    return now.strftime("%Y-%m-%dT%H:%M:%SZ")


def only(nr: Nornir, names: Sequence[str]) -> Nornir:
    """``nr`` over the hosts ``names`` alone, in that order: what ``nr.filter`` gives for them,
    in time of ``names`` and not of the whole inventory (a ``serial`` batch of 10 among 100,000
    hosts, a step's hosts still going)."""
    inventory = nr.inventory
    hosts = Hosts({name: inventory.hosts[name] for name in names})
    return Nornir(
        inventory=Inventory(hosts=hosts, groups=inventory.groups, defaults=inventory.defaults),
        config=nr.config,
        data=nr.data,
        processors=nr.processors,
    )


class Engine:
    def __init__(self, nr: Nornir, settings: Settings, redactor: Redactor) -> None:
        self.nr = nr
        self.settings = settings
        self.redactor = redactor

    def run(self, plan: Plan, on_event: EventSink, run_id: str | None = None) -> RunReport:
        started = datetime.now(UTC)
        t0 = time.monotonic()
        plan = with_modes(plan, check=self.settings.check, diff=self.settings.diff)
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
    """One run: the hosts' state, the runner, the events and Ctrl-C; the strategy's
    ``RunState``."""

    def __init__(self, engine: Engine, plan: Plan, on_event: EventSink) -> None:
        self.e = engine
        self.plan = plan
        self.emit = on_event
        self.state: dict[str, HostState] = {h: HostState() for h in plan.hosts}
        self.strategy = STRATEGIES[engine.settings.strategy]()
        self.abort: Abort | None = None
        # hosts whose task has begun in a worker (thread executor; a process or dask worker's
        # marks stay there), and the hosts of the runner's current run, for Ctrl-C
        self._begun: set[str] = set()
        self._in_flight: set[str] = set()
        self.runner = FuturesRunner.from_options(engine.settings.runner)

    @property
    def remote(self) -> bool:
        return self.runner.remote

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
                    self.strategy.dry_run(self, batch)
                    continue
                nr = only(self.e.nr, batch)
                limit = settings.max_fail_percentage
                allowed = math.inf if limit is None else math.floor(limit * len(batch) / 100)
                try:
                    aborted = self.strategy.run_batch(self, nr, batch, allowed)
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

    def run_task(
        self,
        nr: Nornir,
        hosts: Sequence[str],
        allowed: float,
        *,
        task: Callable[..., Any],
        name: str,
        params: Mapping[str, Any],
        counts_as_failure: Callable[[MultiResult], bool],
        on_result: Callable[[HostCompletion], None],
    ) -> bool:
        limit = None if allowed == math.inf else max(allowed, 0) * 100 / max(len(hosts), 1)
        args = RunArgs(
            max_fail_percentage=limit, counts_as_failure=counts_as_failure, on_result=on_result
        )
        names = set(hosts)
        selected = only(nr, hosts).with_runner(self.runner.with_args(args))
        for h in hosts:
            if self.state[h].started is None:
                self.state[h].started = time.monotonic()
        self._in_flight = names
        try:
            selected.run(task=task, name=name, begun=self._begun, **params, **_EVERY_HOST)
        except RunInterrupted:
            raise KeyboardInterrupt from None
        self._in_flight = set()
        stats = self.runner.last_run
        for host in stats.skipped:
            self.stop(host, Status.SKIPPED)
        for host in stats.timed_out:  # its worker may still be reading the session
            abort_connections(self.e.nr.inventory.hosts[host])
        return stats.aborted

    def _close_connections(self, nr: Nornir) -> None:
        """Close every host's sessions at the end of a batch, in parallel, whatever their state."""
        if any(h.connections for h in nr.inventory.hosts.values()):
            # grace_period 0: Ctrl-C while closing aborts the sessions still closing, at once
            runner = FuturesRunner(
                self.e.settings.runner.num_workers, task_timeout=30, grace_period=0
            )
            nr.with_runner(runner).run(task=close_host, name="close connections", **_EVERY_HOST)

    # -- results ---------------------------------------------------------------------------

    def timeout_status(self, c: HostCompletion) -> Status | None:
        """A host that timed out before it had a session (threads only can tell) is unreachable."""
        local = not self.runner.remote
        if c.timed_out and local and not self.e.nr.inventory.hosts[c.host].connections:
            return Status.UNREACHABLE
        return None

    def redacted(self, step: StepResult) -> StepResult:
        scrub = self.e.redactor.scrub
        return replace(
            step,
            error=scrub(step.error) if step.error else None,
            result=self.e.redactor.scrub_data(step.result),
            diff=scrub(step.diff) if step.diff else None,
            checks=tuple(
                replace(
                    c,
                    seen=scrub(c.seen) if c.seen else c.seen,
                    error=scrub(c.error) if c.error else c.error,
                )
                for c in step.checks
            ),
        )

    def scrub(self, text: str) -> str:
        return self.e.redactor.scrub(text)

    def failed_in(self, batch: Sequence[str]) -> int:
        return sum(1 for h in batch if self.state[h].status in BAD)

    def stop(self, host: str, status: Status) -> None:
        if self.state[host].status is None:
            self.state[host].status = status

    def host_done(self, host: str) -> None:
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
        ignored = {p.index for p in self.plan.steps if p.step.ignore_errors}
        for host, state in self.state.items():
            if state.done or state.status is not None:
                continue
            for index, raw in self.strategy.finished(self, host):
                step = self.redacted(raw)
                state.steps.append(step)
                if step.status in BAD and index not in ignored:
                    self.stop(host, step.status)
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
            self.stop(host, Status.FAILED)

    def _skip_rest(self) -> None:
        """Hosts the run did not get to the end of are skipped; those that did are done."""
        for host, state in self.state.items():
            if state.done:
                continue
            if len(state.steps) < len(self.plan.steps_for(host)):
                self.stop(host, Status.SKIPPED)
            self.host_done(host)

    def rendered(self, planned: PlannedStep, host: str) -> StepResult:
        """A dry run's step: what it would send, skipped where it would not run, and the
        templates as written where they are rendered on the host (they use ``registered``)."""
        name, task = planned.step.name, planned.task_name
        if host in planned.skipped:
            return StepResult(name=name, task=task, status=Status.SKIPPED)
        args = planned.args[host]
        if planned.deferred:
            platform = self.e.nr.inventory.hosts[host].platform
            lines = planned.step.lines_for(platform)
            kind = planned.step.kind.value
            args = {kind: list(lines)} if kind in ("commands", "config") and lines else {}
            if planned.step.parents:
                args["parents"] = list(planned.step.parents)
        result = self.e.redactor.scrub_data(dict(args))
        return StepResult(name=name, task=task, status=Status.OK, result=result)

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
