"""A task for the connect_limit tests, importable by name in worker processes: its connection
set-up kills the process that runs it, while that process holds a connection permit."""

from __future__ import annotations

import os
from typing import Any

from nornir.core.configuration import Config
from nornir.core.plugins.connections import ConnectionPluginRegister
from nornir.core.task import Result, Task

DYING = "limit_tasks_dying"


class DyingConnection:
    """A connection plugin whose set-up ends its process (a crash in the SSH library, the OOM
    killer)."""

    def __init__(self) -> None:
        self.connection: Any = None

    def open(  # noqa: PLR0917 -- nornir's ConnectionPlugin.open signature
        self,
        hostname: str | None,
        username: str | None,
        password: str | None,
        port: int | None,
        platform: str | None,
        extras: dict[str, Any] | None = None,
        configuration: Config | None = None,
    ) -> None:
        os._exit(1)

    def close(self) -> None:
        pass


ConnectionPluginRegister.register(DYING, DyingConnection)


def die_connecting(task: Task) -> Result:
    task.host.get_connection(DYING, task.nornir.config)
    return Result(host=task.host, result="not reached")


def run_semaphores(dask_scheduler: Any) -> list[str]:
    """(Run on a dask scheduler.) The runs' connect_limit semaphores it still knows."""
    known = dask_scheduler.extensions["semaphores"].max_leases
    return sorted(name for name in known if name.startswith("nrb-connect-"))
