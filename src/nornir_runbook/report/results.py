"""Typed results of a runbook run, their plain-data form (the json document) and the exit code."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from nornir.core.task import MultiResult

from nornir_runbook.errors import ExitCode
from nornir_runbook.runner.failures import connection_error, describe_exception


class Status(StrEnum):
    OK = "ok"
    FAILED = "failed"  # a step failed
    UNREACHABLE = "unreachable"  # could not connect or log in, or timed out connecting
    SKIPPED = "skipped"  # cancelled, or not run


@dataclass(frozen=True, slots=True, kw_only=True)
class Check:
    """One ``assert`` expression on one host: ``seen`` says what a false one saw, ``error`` why
    one could not be evaluated."""

    that: str
    ok: bool
    seen: str | None = None
    error: str | None = None

    @property
    def detail(self) -> str:
        """What it saw and why it failed, as one line: ``saw 1 >= 2``, an error, or both."""
        return "; ".join(d for d in (self.seen, self.error) if d)

    def to_dict(self) -> dict[str, Any]:
        return {"that": self.that, "ok": self.ok, "seen": self.seen, "error": self.error}


@dataclass(frozen=True, slots=True, kw_only=True)
class StepOutcome:
    """What a step that verifies gives on one host (the result of its Nornir task)."""

    status: Status
    result: Any = None
    error: str | None = None
    checks: tuple[Check, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class StepResult:
    name: str
    task: str
    status: Status
    changed: bool = False
    duration_s: float = 0.0
    error: str | None = None
    result: Any = None  # commands step: {command: output}; another task: what it returned
    checks: tuple[Check, ...] = ()  # its assert expressions, in order
    diff: str | None = None  # --diff: a config step's unified diff of the running config

    def to_dict(self) -> dict[str, Any]:
        """The step in the json document; ``checks`` only for a step that checked something,
        ``diff`` only for a step that has one."""
        found = {
            "name": self.name,
            "task": self.task,
            "status": self.status.value,
            "changed": self.changed,
            "duration_s": round(self.duration_s, 3),
            "error": self.error,
            "result": self.result,
        }
        if self.checks:
            found["checks"] = [c.to_dict() for c in self.checks]
        if self.diff:
            found["diff"] = self.diff
        return found


@dataclass(frozen=True, slots=True, kw_only=True)
class HostReport:
    name: str
    status: Status
    steps: tuple[StepResult, ...] = ()
    duration_s: float = 0.0

    @property
    def changed(self) -> bool:
        return any(s.changed for s in self.steps)

    @property
    def error(self) -> str | None:
        return next((s.error for s in self.steps if s.error), None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status.value,
            "changed": self.changed,
            "duration_s": round(self.duration_s, 3),
            "steps": [s.to_dict() for s in self.steps],
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class Summary:
    hosts: int
    ok: int
    changed: int
    failed: int
    unreachable: int
    skipped: int

    def to_dict(self) -> dict[str, int]:
        return {
            "hosts": self.hosts,
            "ok": self.ok,
            "changed": self.changed,
            "failed": self.failed,
            "unreachable": self.unreachable,
            "skipped": self.skipped,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class Abort:
    """Where ``max_fail_percentage`` stopped a run: in batch ``batch`` (from 1) of ``batches``."""

    max_fail_percentage: float
    batch: int
    batches: int


@dataclass(frozen=True, slots=True, kw_only=True)
class RunReport:
    runbook: str
    run_id: str
    started_at: str  # ISO 8601, UTC, "2026-11-25T10:15:00Z"
    finished_at: str
    duration_s: float
    hosts: tuple[HostReport, ...] = field(default_factory=tuple)  # inventory order
    interrupted: bool = False
    dry_run: bool = False
    abort: Abort | None = None  # set when max_fail_percentage stopped the run

    @property
    def aborted(self) -> bool:
        return self.abort is not None

    @property
    def summary(self) -> Summary:
        statuses = [h.status for h in self.hosts]
        return Summary(
            hosts=len(self.hosts),
            ok=statuses.count(Status.OK),
            changed=sum(1 for h in self.hosts if h.changed),
            failed=statuses.count(Status.FAILED),
            unreachable=statuses.count(Status.UNREACHABLE),
            skipped=statuses.count(Status.SKIPPED),
        )

    def failed_hosts(self) -> list[str]:
        """The hosts to run again, for failed.txt and ``--limit @file``: failed and unreachable
        ones, and after a run that was cut short (interrupted, or stopped by
        max_fail_percentage) the skipped ones too, so that the list resumes the work."""
        redo = {Status.FAILED, Status.UNREACHABLE}
        if self.interrupted or self.aborted:
            redo.add(Status.SKIPPED)
        return [h.name for h in self.hosts if h.status in redo]

    def to_dict(self) -> dict[str, Any]:
        return {
            "runbook": self.runbook,
            "run_id": self.run_id,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "duration_s": round(self.duration_s, 3),
            "dry_run": self.dry_run,
            "interrupted": self.interrupted,
            "aborted": self.aborted,
            "summary": self.summary.to_dict(),
            "hosts": {h.name: h.to_dict() for h in self.hosts},
        }

    def exit_code(self) -> ExitCode:
        if self.interrupted:
            return ExitCode.INTERRUPTED
        if not self.hosts:
            return ExitCode.NO_HOSTS
        code = exit_code_for(h.status for h in self.hosts)
        if self.aborted and code is ExitCode.OK:  # a stopped run never looks like a clean one
            return ExitCode.FAILED
        return code


def exit_code_for(statuses: Any) -> ExitCode:
    """Unreachable wins over failed; skipped hosts alone do not fail a run."""
    seen = set(statuses)
    if Status.UNREACHABLE in seen:
        return ExitCode.UNREACHABLE
    if Status.FAILED in seen:
        return ExitCode.FAILED
    return ExitCode.OK


# Events the engine yields while a run goes on, in the caller's thread, for live output.


@dataclass(frozen=True, slots=True, kw_only=True)
class RunStarted:
    runbook: str
    run_id: str
    hosts: tuple[str, ...]  # selected hosts, inventory order
    steps: tuple[str, ...]  # step names
    dry_run: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class BatchStarted:
    """A ``serial`` batch begins: batch ``number`` (from 1) of ``count``."""

    number: int
    count: int
    hosts: tuple[str, ...]  # inventory order


@dataclass(frozen=True, slots=True, kw_only=True)
class StepStarted:
    index: int
    name: str
    hosts: tuple[str, ...]  # hosts that run this step (linear strategy only)


@dataclass(frozen=True, slots=True, kw_only=True)
class StepDone:
    """One host finished one step (linear strategy; under ``free`` only HostDone comes)."""

    index: int
    host: str
    result: StepResult


@dataclass(frozen=True, slots=True, kw_only=True)
class HostDone:
    """A host has finished all it will run in this run: its final report."""

    report: HostReport


Event = RunStarted | BatchStarted | StepStarted | StepDone | HostDone


def step_status(result: MultiResult) -> Status:
    if not result.failed:
        return Status.OK
    return Status.UNREACHABLE if connection_error(result) is not None else Status.FAILED


def step_error(result: MultiResult) -> str | None:
    """The message of the first failure in ``result``, or None when nothing failed."""
    for r in result:
        if r.exception is not None:
            return describe_exception(r.exception)
        if r.failed:
            return r.result.error if isinstance(r.result, StepOutcome) else str(r.result)
    return None


def step_result(name: str, task: str, result: MultiResult, duration: float) -> StepResult:
    """A step's outcome on one host from Nornir's MultiResult (not yet redacted)."""
    outcome = result[0].result if result else None
    diff = (result[0].diff or None) if result else None
    if isinstance(outcome, StepOutcome):
        return StepResult(
            name=name,
            task=task,
            status=outcome.status,
            changed=result.changed,
            duration_s=duration,
            error=outcome.error,
            result=outcome.result,
            checks=outcome.checks,
            diff=diff,
        )
    value = result[0].result if result and not result.failed else None
    return StepResult(
        name=name,
        task=task,
        status=step_status(result),
        changed=result.changed,
        duration_s=duration,
        error=step_error(result),
        result=value,
        diff=diff,
    )
