"""The runner's options as values: how host keys are checked (:class:`HostKeyChecking`).

Plain data that loads nothing: the command line's parser reads :data:`MODES` from here.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MODES = ("accept-new", "strict", "off")
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
