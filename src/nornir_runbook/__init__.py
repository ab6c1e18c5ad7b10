"""nornir-runbook: Ansible-style YAML runbooks on Nornir, with a streaming futures runner."""

from nornir_runbook.errors import (
    InputError,
    LabError,
    RunbookToolError,
    RunInterrupted,
    TaskTimeoutError,
)
from nornir_runbook.runner import FuturesRunner, HostCompletion, RunStats

__version__ = "0.1.0"

__all__ = [
    "FuturesRunner",
    "HostCompletion",
    "InputError",
    "LabError",
    "RunInterrupted",
    "RunStats",
    "RunbookToolError",
    "TaskTimeoutError",
    "__version__",
]
