"""The runner's options as values.

- :class:`RunnerOptions`: what a FuturesRunner is set up with, merged from config.yaml's
  ``runner.options`` < a runbook's ``options:`` < the command line.
- :data:`CHECKS`: what each option takes, the one table config.yaml and runbooks are checked
  against.
- :class:`HostKeyChecking`: how host keys are checked.

Plain data that loads nothing: the command line's parser reads :data:`MODES` from here.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

MODES = ("accept-new", "strict", "off")
EXECUTORS = ("thread", "process", "dask")
DEFAULT_KNOWN_HOSTS = "~/.ssh/known_hosts"


@dataclass(frozen=True, slots=True)
class HostKeyChecking:
    """How host keys are checked: ``mode`` (one of MODES) against ``known_hosts`` (a path;
    None: ``~/.ssh/known_hosts`` of whoever opens the connection)."""

    mode: str = "accept-new"
    known_hosts: str | None = None

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(
                f"host key checking must be one of {', '.join(MODES)}, not {self.mode!r}"
            )

    @property
    def file(self) -> Path:
        return Path(os.path.expanduser(self.known_hosts or DEFAULT_KNOWN_HOSTS))


def is_number(value: Any, low: float = -math.inf, high: float = math.inf) -> bool:
    """Whether ``value`` is a finite number (a boolean is not one) from ``low`` to ``high``."""
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and low <= value <= high
    )


def is_whole(value: Any, minimum: int) -> bool:
    """Whether ``value`` is an integer (a boolean is not one) of ``minimum`` or more."""
    return isinstance(value, int) and not isinstance(value, bool) and value >= minimum


@dataclass(frozen=True, slots=True)
class Check:
    """What an option takes, in words (``expected``), and whether a value is that."""

    expected: str
    valid: Callable[[Any], bool]


def _group_limits(value: Any) -> bool:
    return isinstance(value, dict) and all(
        isinstance(k, str) and is_whole(n, 1) for k, n in value.items()
    )


#: every runner option, by its name in config.yaml (a runbook's ``workers`` is ``num_workers``)
CHECKS: dict[str, Check] = {
    "num_workers": Check("an integer of 1 or more", lambda v: is_whole(v, 1)),
    "executor": Check("'thread', 'process' or 'dask'", lambda v: v in EXECUTORS),
    "dask_address": Check("a string", lambda v: isinstance(v, str)),
    "task_timeout": Check(
        "a number of seconds greater than 0", lambda v: is_number(v, 0) and v > 0
    ),
    "retries": Check("an integer of 0 or more", lambda v: is_whole(v, 0)),
    "retry_backoff": Check("a number of seconds of 0 or more", lambda v: is_number(v, 0)),
    "max_fail_percentage": Check("a number from 0 to 100", lambda v: is_number(v, 0, 100)),
    "connect_limit": Check("an integer of 1 or more", lambda v: is_whole(v, 1)),
    "group_limits": Check("a mapping of group names to integers of 1 or more", _group_limits),
    "grace_period": Check("a number of seconds of 0 or more", lambda v: is_number(v, 0)),
    "keep_sessions": Check(
        "a number of seconds greater than 0", lambda v: is_number(v, 0) and v > 0
    ),
}


@dataclass(frozen=True, slots=True, kw_only=True)
class RunnerOptions:
    """How a FuturesRunner runs hosts, whatever the run: config.yaml's ``runner.options`` <
    a runbook's ``options:`` < the command line, merged by :meth:`merged`. What changes from
    run to run (``max_fail_percentage``, ``on_result``...) is not here."""

    num_workers: int = 20
    executor: str = "thread"
    dask_address: str | None = None
    task_timeout: float | None = None
    retries: int = 0
    retry_backoff: float = 1.0
    connect_limit: int | None = None
    group_limits: Mapping[str, int] = field(default_factory=dict)
    grace_period: float = 5.0
    host_key_checking: HostKeyChecking = field(default_factory=HostKeyChecking)
    # dask: sessions stay open on the workers this many idle seconds, for the next runs
    keep_sessions: float | None = None

    def __post_init__(self) -> None:
        if self.num_workers < 1:
            raise ValueError(f"num_workers must be at least 1, not {self.num_workers}")
        for group, limit in self.group_limits.items():
            if limit < 1:  # its hosts would stay pending forever
                raise ValueError(f"group_limits[{group!r}] must be at least 1, not {limit}")

    def merged(self, **overrides: Any) -> RunnerOptions:
        """A copy with every override that is not None applied."""
        return replace(self, **{k: v for k, v in overrides.items() if v is not None})


#: the names of :class:`RunnerOptions`' fields
RUNNER_FIELDS = frozenset(f.name for f in fields(RunnerOptions))
