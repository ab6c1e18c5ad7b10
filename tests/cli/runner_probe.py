"""Project tasks that show from inside ``nrb run`` what the runner does (``runner_probe:...``).

The runner option tests copy this file into a project folder, beside its ``config.yaml``:

- :func:`options`: the options of the runner that runs the host (``task.nornir.runner``, and
  the values of the run it was given), and the process the host runs in.
- :func:`meet_connect` / :func:`meet_group`: in-flight counters. A host waits (up to
  ``MEET_S``) inside a connection set-up, or inside its task if it is in ``group``, for another
  host to join it, and returns the most hosts seen inside at once.
- :func:`hold`: hosts not in ``free`` block until the test lets them go: in a session read that
  never ends (only an aborted session ends it) or until the file ``release`` exists.
  ``started-<host>`` tells the test a host is blocked.
"""

from __future__ import annotations

import multiprocessing
import threading
import time
from pathlib import Path
from typing import Any

from nornir.core.configuration import Config
from nornir.core.exceptions import PluginNotRegistered
from nornir.core.plugins.connections import ConnectionPluginRegister
from nornir.core.task import Result, Task

OPTIONS = (
    "num_workers",
    "executor",
    "dask_address",
    "task_timeout",
    "retries",
    "retry_backoff",
    "max_fail_percentage",
    "connect_limit",
    "group_limits",
    "grace_period",
)
# long enough for hosts started together to meet on a busy machine; a host that meets no one
# waits this long, which only the hosts kept apart by a limit do
MEET_S = 3.0
HANG_GUARD_S = 300.0  # a held host gives up after this, should the test die without releasing


def options(task: Task) -> Result:
    try:
        runner = task.nornir.runner
    except PluginNotRegistered:  # in a worker process: the runner is in nrb's own process
        runner = None
    # the engine's runs go through a FuturesRunner bound to the run's own values (with_args)
    sources = [runner.args, runner.runner] if hasattr(runner, "args") else [runner]
    found: dict[str, Any] = {
        name: next((getattr(s, name) for s in sources if hasattr(s, name)), None)
        for name in OPTIONS
    }
    found["process"] = multiprocessing.current_process().name
    return Result(host=task.host, result=found)


_inside: dict[str, int] = {}
_peak: dict[str, int] = {}
_changed = threading.Condition()


def _meet(key: str) -> int:
    with _changed:
        _inside[key] = _inside.get(key, 0) + 1
        _peak[key] = max(_peak.get(key, 0), _inside[key])
        _changed.notify_all()
        _changed.wait_for(lambda: _inside[key] > 1, timeout=MEET_S)
        _inside[key] -= 1
        return _peak[key]


class MeetConnection:
    """A connection plugin whose set-up is an in-flight counter."""

    def __init__(self) -> None:
        self.connection: Any = None
        self.peak = 0

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
        self.peak = _meet("connect")
        self.connection = self

    def close(self) -> None:
        pass


ConnectionPluginRegister.register("runner_probe_meet", MeetConnection)


def meet_connect(task: Task) -> Result:
    connection = task.host.get_connection("runner_probe_meet", task.nornir.config)
    return Result(host=task.host, result={"peak": connection.peak})


def meet_group(task: Task, group: str) -> Result:
    groups = {g.name for g in task.host.extended_groups()}
    peak = _meet(group) if group in groups else 0
    return Result(host=task.host, result={"peak": peak})


def hold(task: Task, folder: str, free: list[str], session: bool) -> Result:
    name = task.host.name
    if name in free:
        return Result(host=task.host, result="free")
    if session:
        connection = task.host.get_connection("netmiko", task.nornir.config)
        Path(folder, f"started-{name}").touch()
        connection.read_until_pattern(pattern="a prompt no device sends", read_timeout=0)
        return Result(host=task.host, result="read ended")
    Path(folder, f"started-{name}").touch()
    deadline = time.monotonic() + HANG_GUARD_S
    while not Path(folder, "release").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    return Result(host=task.host, result="released")
