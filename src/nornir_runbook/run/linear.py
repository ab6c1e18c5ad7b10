"""The linear strategy's Nornir task (Ansible's ``linear``): every selected host finishes step N
before any host starts step N+1, so the engine runs one step at a time over the batch and this
task is one step on one host."""

from __future__ import annotations

from collections.abc import Callable

from nornir.core.task import Result, Task

from nornir_runbook.runner.remote import PerHost


def one_step(task: Task, fn: Callable[..., Result], args: PerHost, begun: set[str]) -> Result:
    """One step on one host, with that host's rendered arguments; ``begun`` notes the host
    (read in this process only: see ``FuturesRunner.remote``)."""
    begun.add(task.host.name)
    return fn(task, **args.of(task.host.name))
