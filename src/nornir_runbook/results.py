"""Typed results of a runbook run, their plain-data form (the json document) and the exit code."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum, StrEnum
from typing import Any

from nornir.core.exceptions import NornirSubTaskError
from nornir.core.task import MultiResult, Result

from nornir_runbook.hostkeys import PROXY_NOTE


class Status(StrEnum):
    OK = "ok"
    FAILED = "failed"  # a step failed
    UNREACHABLE = "unreachable"  # could not connect or log in, or timed out connecting
    SKIPPED = "skipped"  # cancelled, or not run


class ExitCode(IntEnum):
    OK = 0
    BUG = 1
    FAILED = 2
    NO_HOSTS = 3
    UNREACHABLE = 4
    INVALID_INPUT = 5
    INTERRUPTED = 130
    BROKEN_PIPE = 141  # stdout was closed by its reader, as with SIGPIPE
    TERMINATED = 143


@dataclass(frozen=True, slots=True, kw_only=True)
class StepResult:
    name: str
    task: str
    status: Status
    changed: bool = False
    duration_s: float = 0.0
    error: str | None = None
    result: Any = None  # commands step: {command: output}; another task: what it returned

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "task": self.task,
            "status": self.status.value,
            "changed": self.changed,
            "duration_s": round(self.duration_s, 3),
            "error": self.error,
            "result": self.result,
        }


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


# Which failures mean "could not reach the device" rather than "the device said no".

_CONNECT_TYPE_NAMES = frozenset(
    {
        "NetmikoTimeoutException",  # TCP connect or SSH handshake timed out
        "NetmikoAuthenticationException",
        "AuthenticationException",  # paramiko, and its subclasses below
        "BadAuthenticationType",
        "PasswordRequiredException",
        "UnableToAuthenticate",
        "NoValidConnectionsError",
        "ConnectionRefusedError",
        "ConnectionResetError",
        "ConnectionAbortedError",
        "gaierror",
        "ConnectionException",  # scrapli and netmiko
        "ScrapliConnectionNotOpened",
        "ScrapliAuthenticationFailed",
        "ScrapliTimeout",
        "HostKeyError",  # ours: the host's SSH key was refused
    }
)
CONNECT_NOTE = "nornir-runbook: raised while opening the connection"
# the connection guard's one-line account of a failed connection: address, port and cause
UNREACHABLE_NOTE = "nornir-runbook: unreachable: "
_CONNECT_MESSAGES = (
    "Error reading SSH protocol banner",
    "No existing session",
    "Unable to connect",
)


def is_connection_error(exc: BaseException) -> bool:
    """True when ``exc`` (or what caused it) says the device could not be reached or logged in."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if CONNECT_NOTE in getattr(current, "__notes__", ()):
            return True
        names = {cls.__name__ for cls in type(current).__mro__}
        if names & _CONNECT_TYPE_NAMES:
            return True
        if isinstance(current, TimeoutError) and "connect" in str(current).lower():
            return True
        if any(m in str(current) for m in _CONNECT_MESSAGES):
            return True
        current = current.__cause__ or current.__context__
    return False


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and all(current is not e for e in seen):
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def _names(exc: BaseException) -> set[str]:
    return {cls.__name__ for cls in type(exc).__mro__}


_AUTH_NAMES = frozenset(
    {"AuthenticationException", "NetmikoAuthenticationException", "ScrapliAuthenticationFailed"}
)


def unreachable_reason(exc: BaseException, username: str | None = None) -> str | None:
    """What stopped a connection, in a few words: ``connection refused``, ``timed out ...``,
    ``authentication failed ...``, the host key's refusal; None when the exception says nothing
    this function knows. Looks through the causes Netmiko wraps into its own exceptions."""
    chain = _chain(exc)
    for e in chain:
        if "HostKeyError" in _names(e):
            return str(e)
    for e in chain:
        for note in getattr(e, "__notes__", ()):
            if isinstance(note, str) and note.startswith(PROXY_NOTE):
                return f"the jump host failed: {note.removeprefix(PROXY_NOTE)}"
        if "ProxyCommandFailure" in _names(e):
            return f"the jump host failed: {str(e).strip()}"
    for e in chain:
        if _names(e) & _AUTH_NAMES:
            user = f" for user {username!r}" if username else ""
            detail = str(chain[-1]).strip().splitlines()
            said = f" ({detail[0]})" if detail and _names(chain[-1]) & _AUTH_NAMES else ""
            return f"authentication failed{user}{said}"
    for e in chain:
        reason = _socket_reason(e)
        if reason is not None:
            return reason
    return None


def _socket_reason(e: BaseException) -> str | None:  # noqa: PLR0911 -- one return per cause
    import errno  # noqa: PLC0415

    names = _names(e)
    if "NoValidConnectionsError" in names:  # paramiko: every address refused or unreachable
        causes = list(getattr(e, "errors", {}).values())
        codes = {getattr(c, "errno", None) for c in causes}
        if codes == {errno.EHOSTUNREACH}:
            return "no route to host"
        return "connection refused"
    if isinstance(e, ConnectionRefusedError):
        return "connection refused"
    if "gaierror" in names:
        return f"host name not resolved ({e})"
    if "Error reading SSH protocol banner" in str(e):
        return "timed out waiting for the SSH banner (the port answers, no SSH server speaks)"
    if isinstance(e, TimeoutError):
        return "timed out connecting"
    if isinstance(e, OSError) and e.errno == errno.EHOSTUNREACH:
        return "no route to host"
    if isinstance(e, ConnectionResetError | EOFError):
        return "the connection was closed by the other end while connecting"
    return None


def unreachable_note(exc: BaseException) -> str | None:
    """The connection guard's account of ``exc`` (see UNREACHABLE_NOTE), if it has one."""
    for e in _chain(exc):
        for note in getattr(e, "__notes__", ()):
            if isinstance(note, str) and note.startswith(UNREACHABLE_NOTE):
                return note.removeprefix(UNREACHABLE_NOTE)
    return None


def connection_error(result: MultiResult | Result) -> BaseException | None:
    """The first connection-class exception inside a (multi)result, looking into subtasks."""
    results = result if isinstance(result, MultiResult) else [result]
    for r in results:
        exc = r.exception
        if exc is None:
            continue
        if isinstance(exc, NornirSubTaskError):
            inner = connection_error(exc.result)
            if inner is not None:
                return inner
        elif is_connection_error(exc):
            return exc
    return None


def describe_exception(exc: BaseException) -> str:
    """One readable line for an exception: the innermost cause through subtask failures."""
    if isinstance(exc, NornirSubTaskError):
        for r in exc.result:
            if r.exception is not None:
                return describe_exception(r.exception)
            if r.failed:
                return f"subtask {r.name!r} failed: {r.result}"
    note = unreachable_note(exc)
    if note is not None:
        return note
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    first = lines[0] if lines else type(exc).__name__
    if first.endswith(":") and len(lines) > 1:  # a heading, as Netmiko's "... creation:"
        first = f"{first} {lines[1]}"
    return f"{type(exc).__name__}: {first}"


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
            return str(r.result)
    return None


def step_result(name: str, task: str, result: MultiResult, duration: float) -> StepResult:
    """A step's outcome on one host from Nornir's MultiResult (not yet redacted)."""
    value = result[0].result if result and not result.failed else None
    return StepResult(
        name=name,
        task=task,
        status=step_status(result),
        changed=result.changed,
        duration_s=duration,
        error=step_error(result),
        result=value,
    )
