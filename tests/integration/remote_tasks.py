"""Task functions for the executor tests: importable by name in worker processes."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

from nornir.core.task import Result, Task

from nornir_runbook.tasks.send_commands import send_commands


class UnpicklableError(Exception):
    """Holds a lock, so pickling it fails."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.lock = threading.Lock()


def where(task: Task) -> Result:
    """Which process serves the host, and which session object it uses."""
    send_commands(task, commands=["show clock"])
    session = task.host.connections["netmiko"].connection
    return Result(host=task.host, result={"pid": os.getpid(), "session": id(session)})


def raise_value_error(task: Task) -> Result:
    raise ValueError(f"boom on {task.host.name}")


def raise_unpicklable(task: Task) -> Result:
    raise UnpicklableError(f"cannot travel from {task.host.name}")


def _inner(task: Task) -> Result:
    raise RuntimeError(f"inner failure on {task.host.name}")


def fail_through_subtask(task: Task) -> Result:
    task.run(task=_inner)
    return Result(host=task.host, result="not reached")


def mark_once(task: Task, directory: str, kill: str = "") -> Result:
    """Append the host's name to its marker file (a stand-in for a config change); the host
    named ``kill`` kills the worker process running it."""
    marker = Path(directory) / f"{task.host.name}.applied"
    with marker.open("a") as f:
        f.write("applied\n")
    if task.host.name == kill:
        os._exit(1)
    return Result(host=task.host, result="applied", changed=True)


def gated_mark(task: Task, directory: str) -> Result:
    """Leave ``HOST.started``, wait (at most a minute) for a file ``gate``, then leave
    ``HOST.applied``: a host held mid-change until the test lets it go."""
    folder = Path(directory)
    (folder / f"{task.host.name}.started").touch()
    deadline = time.monotonic() + 60
    while not (folder / "gate").exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    (folder / f"{task.host.name}.applied").touch()
    return Result(host=task.host, result="applied", changed=True)


def held_hosts(dask_worker: object) -> list[str]:
    """(Run on a dask worker.) The hosts of the run's tasks the worker still holds."""
    keys = [str(key) for key in dask_worker.state.tasks]  # type: ignore[attr-defined]
    return sorted(
        k.removeprefix("nrb-").rsplit("-", 1)[0]
        for k in keys
        if k.startswith("nrb-") and not k.endswith("-claim")
    )


class DiesWhenSent:
    """A result that kills the worker process holding it when the worker sends it on (pickles
    it outside the thread that made it), the first time only: ``once`` is a file it creates."""

    def __init__(self, thread: int, once: str) -> None:
        self.thread = thread
        self.once = once

    def __reduce__(self) -> tuple[object, ...]:
        if threading.get_ident() != self.thread:
            try:
                os.close(os.open(self.once, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
            except FileExistsError:
                pass
            else:
                os._exit(1)
        return (DiesWhenSent, (self.thread, self.once))


def mark_then_lose_result(task: Task, directory: str, lose: str) -> Result:
    """Append the host's name to its marker file; the host named ``lose`` returns a result
    whose worker dies as it sends it: the task finished, its result never reached the caller."""
    marker = Path(directory) / f"{task.host.name}.applied"
    with marker.open("a") as f:
        f.write("applied\n")
    if task.host.name != lose:
        return Result(host=task.host, result="applied", changed=True)
    dies = DiesWhenSent(threading.get_ident(), str(Path(directory) / "worker-died"))
    return Result(host=task.host, result=dies, changed=True)
