"""The contract between the engine and a strategy (Ansible's ``plugins/strategy``): how the hosts
of one batch go through the plan's steps.

The engine owns the run -- the hosts' state, the runner, the events, Ctrl-C -- and hands each
batch to the runbook's strategy, a ``StrategyPlugin`` made afresh for every run, so that what it
keeps (the free strategy's progress) is that run's own. A strategy reaches the run only through
``RunState``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from nornir.core import Nornir
from nornir.core.task import MultiResult

from nornir_runbook.report.results import Event, Status, StepResult
from nornir_runbook.run.plan import Plan, PlannedStep
from nornir_runbook.runner import HostCompletion

BAD = (Status.FAILED, Status.UNREACHABLE)  # the statuses that count toward max_fail_percentage


@dataclass(slots=True)
class HostState:
    steps: list[StepResult] = field(default_factory=list)
    status: Status | None = None  # set once the host stops (failed, unreachable, skipped)
    started: float | None = None
    finished: float | None = None
    done: bool = False
    registered: dict[str, Any] = field(default_factory=dict)  # register name -> step result


class RunState(Protocol):
    """What a strategy may see and do of the engine's run."""

    plan: Plan

    @property
    def state(self) -> Mapping[str, HostState]:
        """Each host's steps and status so far."""

    @property
    def remote(self) -> bool:
        """Whether hosts run in other processes (``FuturesRunner.remote``)."""

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
        """``task`` on ``hosts`` of ``nr`` through the run's runner; True when more than
        ``allowed`` of them counted as failed (max_fail_percentage)."""

    def emit(self, event: Event) -> None: ...

    def failed_in(self, batch: Sequence[str]) -> int:
        """How many hosts of ``batch`` have failed or were unreachable."""

    def stop(self, host: str, status: Status) -> None:
        """``host`` runs no more steps; its status is ``status`` unless it already has one."""

    def host_done(self, host: str) -> None:
        """``host`` is over: its report goes out now (once)."""

    def redacted(self, step: StepResult) -> StepResult: ...

    def scrub(self, text: str) -> str: ...

    def timeout_status(self, c: HostCompletion) -> Status | None:
        """UNREACHABLE for a host that timed out before it had a session, else None."""

    def rendered(self, planned: PlannedStep, host: str) -> StepResult:
        """A dry run's result of ``planned`` on ``host``: what it would send."""


class StrategyPlugin(Protocol):
    """A strategy (Ansible's ``linear``, ``free``), made for one run."""

    def run_batch(self, run: RunState, nr: Nornir, batch: tuple[str, ...], allowed: float) -> bool:
        """The batch's hosts through their steps; True when more than ``allowed`` of them failed
        (the run stops there: max_fail_percentage)."""

    def dry_run(self, run: RunState, batch: tuple[str, ...]) -> None:
        """What each step would send, with the events of a real run in the order it has them."""

    def finished(self, run: RunState, host: str) -> list[tuple[int, StepResult]]:
        """After Ctrl-C: the steps ``host`` finished that the engine has not been told of, as
        (step index, result)."""
