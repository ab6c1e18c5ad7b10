"""nornir-runbook: Ansible-style YAML runbooks on Nornir, with a streaming futures runner.

The public names below are imported on first use (module ``__getattr__``), so that ``nrb
--help`` and ``import nornir_runbook.errors`` load no Nornir.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from nornir_runbook.lazy import defer_netmiko_genie, exports

if TYPE_CHECKING:
    from nornir_runbook.errors import (
        InputError,
        LabError,
        RunbookToolError,
        RunInterrupted,
        TaskTimeoutError,
    )
    from nornir_runbook.runner.futures import FuturesRunner, HostCompletion, RunStats
    from nornir_runbook.runner.options import HostKeyChecking

__version__ = "0.1.0"

_EXPORTS = {
    "FuturesRunner": "nornir_runbook.runner.futures",
    "HostCompletion": "nornir_runbook.runner.futures",
    "RunStats": "nornir_runbook.runner.futures",
    "HostKeyChecking": "nornir_runbook.runner.options",
    "InputError": "nornir_runbook.errors",
    "LabError": "nornir_runbook.errors",
    "RunInterrupted": "nornir_runbook.errors",
    "RunbookToolError": "nornir_runbook.errors",
    "TaskTimeoutError": "nornir_runbook.errors",
}

__all__ = [
    "FuturesRunner",
    "HostCompletion",
    "HostKeyChecking",
    "InputError",
    "LabError",
    "RunInterrupted",
    "RunStats",
    "RunbookToolError",
    "TaskTimeoutError",
    "__version__",
]


__getattr__, __dir__ = exports(__name__, _EXPORTS)
defer_netmiko_genie()
