"""Fail on purpose: a task that needs no device, to exercise ignore_errors and thresholds."""

from __future__ import annotations

from nornir.core.task import Result, Task


def fail(task: Task, message: str = "failed on purpose") -> Result:
    """A failed ``Result`` whose ``result`` is ``message`` (no exception is raised)."""
    return Result(host=task.host, result=message, failed=True)
