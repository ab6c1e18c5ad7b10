"""Return the arguments: a task that needs no device."""

from __future__ import annotations

from typing import Any

from nornir.core.task import Result, Task


def echo(task: Task, **data: Any) -> Result:
    """``result`` is the arguments as given (templates already rendered for the host)."""
    return Result(host=task.host, result=dict(data))
