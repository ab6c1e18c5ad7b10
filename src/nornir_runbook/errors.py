"""Every exception nornir-runbook raises on purpose.

Hierarchy::

    RunbookToolError                  root: catch this to catch everything below (exit code 1)
    ├── InputError                    bad input (exit code 5); carries one or more Problems
    │   ├── RunbookError              a runbook file is invalid
    │   │   ├── ShapeError            its shape; carries the steps whose shape is fine
    │   │   └── RenderError           a step's templates failed for one host
    │   ├── ConfigError               config.yaml is invalid
    │   ├── InventoryError            the inventory is invalid or names an unknown group
    │   └── UsageError                the command line is invalid
    ├── LabError                      the fake-device lab cannot start (port busy, not loopback; 5)
    └── MissingDependencyError        an optional extra is not installed (says what to install; 5)

    TaskTimeoutError                  put in a host's Result when it runs past task_timeout
    RunStopped                        a host's new session refused: its run was interrupted
    HostKeyError                      a host's SSH key was refused (unknown, changed, revoked)
    RunInterrupted(KeyboardInterrupt) Ctrl-C during a run; carries what finished (130)

Each class that can end ``nrb`` knows its exit code (``exit_code``, an :class:`ExitCode`); the
others are never raised out of the runner: they travel in a host's ``Result``.

Host failures are data: a device that misbehaves ends up in that host's ``Result``,
never as an exception out of the runner or the engine.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import TYPE_CHECKING, Generic, TypeVar

from nornir_runbook.text import plural

if TYPE_CHECKING:
    from nornir.core.task import AggregatedResult


@dataclass(frozen=True, slots=True, kw_only=True)
class Problem:
    """One thing wrong with the input, located as precisely as it can be.

    ``path`` is the key path inside the document, as ``steps[2].args.path``.
    ``line`` and ``column`` are 1-based; ``source_line`` is the text of that line, for the caret.
    """

    message: str
    file: str | None = None
    line: int | None = None
    column: int | None = None
    path: str | None = None
    source_line: str | None = None

    def location(self) -> str:
        parts = [p for p in (self.file, self.line, self.column) if p is not None]
        return ":".join(str(p) for p in parts)

    def __str__(self) -> str:
        head = " ".join(p for p in (self.location(), self.path) if p)
        text = f"{head}: {self.message}" if head else self.message
        if self.source_line is not None:
            caret = " " * max((self.column or 1) - 1, 0) + "^"
            text += f"\n    {self.source_line}\n    {caret}"
        return text


def in_file_order(problems: list[Problem]) -> list[Problem]:
    """In file order, each once (a merged mapping is read once per merge)."""
    unique = dict.fromkeys(problems)
    return sorted(unique, key=lambda p: (p.file or "", p.line or 0, p.column or 0))


class ExitCode(IntEnum):
    """``nrb``'s exit codes (README, "Exit codes")."""

    OK = 0
    BUG = 1
    FAILED = 2
    NO_HOSTS = 3
    UNREACHABLE = 4
    INVALID_INPUT = 5
    INTERRUPTED = 130
    BROKEN_PIPE = 141  # stdout was closed by its reader, as with SIGPIPE
    TERMINATED = 143


class RunbookToolError(Exception):
    """Root of nornir-runbook's exceptions. One that reaches ``nrb`` ends it with its class's
    ``exit_code``; the root's own is 1, a bug in nrb."""

    exit_code: ExitCode = ExitCode.BUG


class InputError(RunbookToolError):
    """Bad input; ``problems`` lists every problem found, not only the first."""

    exit_code = ExitCode.INVALID_INPUT

    def __init__(self, problems: list[Problem] | Problem | str) -> None:
        if isinstance(problems, str):
            problems = [Problem(message=problems)]
        elif isinstance(problems, Problem):
            problems = [problems]
        self.problems: list[Problem] = problems
        super().__init__("\n".join(str(p) for p in problems))


class RunbookError(InputError):
    """A runbook file is invalid."""


_Partial = TypeVar("_Partial")


class ShapeError(RunbookError, Generic[_Partial]):
    """Shape problems of a runbook that is still a mapping. ``partial`` is that runbook (a
    ``runbook.model.Runbook``, which this bottom layer does not import) with only the steps
    whose shape is fine, for the meaning phase to check too (every problem at once);
    ``vars_known`` is false when its ``vars`` could not be read as written."""

    def __init__(self, problems: list[Problem], partial: _Partial, *, vars_known: bool) -> None:
        super().__init__(problems)
        self.partial = partial
        self.vars_known = vars_known


class RenderError(RunbookError):
    """Templates of one step that failed for one host. ``failures`` holds ``(yaml path,
    reason)`` without the host's name, so that the same mistake on many hosts is said once."""

    def __init__(self, problems: list[Problem], host: str, failures: list[tuple[str, str]]):
        super().__init__(problems)
        self.host = host
        self.failures = failures


class ConfigError(InputError):
    """A Nornir config file is invalid."""


class InventoryError(InputError):
    """The inventory is invalid, or a selection names something it does not hold."""


class UsageError(InputError):
    """The command line is invalid."""


class LabError(RunbookToolError):
    """The fake-device lab cannot start."""

    exit_code = ExitCode.INVALID_INPUT


class MissingDependencyError(RunbookToolError):
    """An optional dependency is missing; the message names the package to install."""

    exit_code = ExitCode.INVALID_INPUT

    def __init__(self, feature: str, package: str, extra: str) -> None:
        super().__init__(
            f"{feature} needs the {package!r} package: "
            f"pip install 'nornir-runbook[{extra}]' (or pip install {package})"
        )


class TaskTimeoutError(Exception):
    """A host ran past ``task_timeout``; its thread may still be running."""

    def __init__(self, host: str, timeout: float) -> None:
        self.host = host
        self.timeout = timeout
        super().__init__(f"task timed out after {timeout:g}s on host {host!r}")

    def __reduce__(self) -> tuple[type[TaskTimeoutError], tuple[str, float]]:
        return (type(self), (self.host, self.timeout))


class RunStopped(Exception):
    """A worker the interrupted run gave up on tried to open a new session."""

    def __init__(self, host: str) -> None:
        self.host = host
        super().__init__(f"not connecting to host {host!r}: the run was interrupted")

    def __reduce__(self) -> tuple[type[RunStopped], tuple[str]]:
        return (type(self), (self.host,))


class HostKeyError(Exception):
    """A host's SSH key was refused: unknown (strict checking), changed, revoked, or not
    recordable. The message names the host and port (``[127.0.0.1]:2201``) and the file."""


class RunInterrupted(KeyboardInterrupt):
    """Ctrl-C during ``FuturesRunner.run``: ``result`` holds every host that finished."""

    exit_code = ExitCode.INTERRUPTED

    def __init__(self, result: AggregatedResult, skipped: list[str]) -> None:
        self.result = result
        self.skipped = skipped
        super().__init__(
            f"interrupted: {plural(len(result), 'host')} finished, {len(skipped)} skipped"
        )
