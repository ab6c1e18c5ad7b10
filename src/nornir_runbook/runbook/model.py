"""The runbook as data: frozen values built by the loader, read by the engine. No I/O."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from nornir_runbook.project.targets import Targets

_SERIAL = re.compile(r"\s*(\d+(?:\.\d*)?)\s*(%?)\s*")


class Strategy(StrEnum):
    LINEAR = "linear"  # every selected host finishes step N before any starts step N+1
    FREE = "free"  # each host runs its whole step list on its own, as one future


class StepKind(StrEnum):
    COMMANDS = "commands"  # Netmiko send_command per command
    CONFIG = "config"  # Netmiko send_config_set
    TASK = "task"  # a registered task or "module:function"
    ASSERT = "assert"  # checks alone: no commands, config or task


@dataclass(frozen=True, slots=True, kw_only=True)
class Location:
    """Where a value was written: file and 1-based line and column."""

    file: str
    line: int
    column: int
    source_line: str | None = field(default=None, compare=False, repr=False)  # for the caret


@dataclass(frozen=True, slots=True, kw_only=True)
class Serial:
    """Rolling batch size: ``count`` hosts, or ``percent`` of the selected hosts."""

    count: int | None = None
    percent: float | None = None

    @classmethod
    def parse(cls, value: Any) -> Serial:
        """``value`` as written in a runbook or on the command line: a number of hosts (``3``,
        ``'3'``) or a percentage of them (``'25%'``). ``ValueError`` says what is wrong."""
        if isinstance(value, int) and not isinstance(value, bool):
            count = value
        elif isinstance(value, str) and (match := _SERIAL.fullmatch(value)):
            number, percent = match.groups()
            if percent:
                if not 0 < float(number) <= 100:  # noqa: PLR2004 - a percentage
                    raise ValueError("a percentage must be in (0, 100]")
                return cls(percent=float(number))
            try:  # isdecimal(): no "1.5"; int() refuses more than 4300 digits, and "\x1c1"
                count = int(value) if number.isdecimal() else 0
            except ValueError:
                count = 0
        else:
            raise ValueError("expected a count N or a percentage P%")
        if count < 1:
            raise ValueError("a count must be a whole number of at least 1")
        return cls(count=count)

    def batch_size(self, total: int) -> int:
        if self.count is not None:
            return max(1, self.count)
        assert self.percent is not None
        return max(1, int(total * self.percent / 100))


@dataclass(frozen=True, slots=True, kw_only=True)
class Options:
    """Runbook ``options:``; ``None`` means "not set here" (the config or CLI decides)."""

    strategy: Strategy = Strategy.LINEAR
    workers: int | None = None
    task_timeout: float | None = None
    retries: int | None = None
    max_fail_percentage: float | None = None
    serial: Serial | None = None
    retry_backoff: float | None = None
    connect_limit: int | None = None
    group_limits: Mapping[str, int] | None = None
    grace_period: float | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Step:
    name: str
    kind: StepKind
    commands: tuple[str, ...] = ()  # kind COMMANDS
    config: tuple[str, ...] = ()  # kind CONFIG
    parents: tuple[str, ...] = ()  # kind CONFIG: the section lines ``config`` goes under
    # kind COMMANDS or CONFIG written as a mapping by platform: the host's platform picks its
    # lines (then ``commands``/``config`` are empty); a platform with no entry skips the step
    by_platform: Mapping[str, tuple[str, ...]] | None = None
    task: str | None = None  # kind TASK: the name as written
    args: Mapping[str, Any] = field(default_factory=dict)  # kind TASK
    targets: Targets | None = None  # narrows the runbook's hosts for this step
    ignore_errors: bool = False
    when: tuple[str, ...] = ()  # Jinja2 expressions, all true for the step to run on a host
    register: str | None = None  # later steps see this step's result as registered.<name>
    asserts: tuple[str, ...] = ()  # Jinja2 expressions, all true for the step to pass
    fail_msg: str | None = None  # a template: the error of a failed assert
    parse: str | None = None  # kind COMMANDS: textfsm, ttp or genie
    parse_template: str | None = None  # kind COMMANDS: the user's own template, as written
    location: Location | None = None
    yaml_path: str = ""  # where the step is in its runbook: "steps[2]"
    # where its values were written, keyed by full yaml path ("steps[2].args.path"); the
    # loader gives every step the runbook's own mapping (see Runbook.locations)
    locations: Mapping[str, Location] = field(default_factory=dict, compare=False, repr=False)

    def lines_for(self, platform: str | None) -> tuple[str, ...] | None:
        """The commands or config lines (templates) for a host of ``platform``; None when the
        step's mapping by platform has no entry for it (the step is skipped there)."""
        if self.by_platform is not None:
            return self.by_platform.get(platform or "")
        return self.commands if self.kind is StepKind.COMMANDS else self.config


@dataclass(frozen=True, slots=True, kw_only=True)
class Runbook:
    name: str
    steps: tuple[Step, ...]
    description: str = ""
    targets: Targets = field(default_factory=Targets)
    vars: Mapping[str, Any] = field(default_factory=dict)
    options: Options = field(default_factory=Options)
    path: Path | None = None
    # every value of the document, keyed by yaml path ("steps[2].args.path"); keys of mappings
    # are under "<path>:key" (where "steps[2].args.pth" was written, for "unknown key" errors)
    locations: Mapping[str, Location] = field(default_factory=dict, compare=False, repr=False)
