"""A real dask.distributed cluster on 127.0.0.1 for the tests: ``dask scheduler`` and
``dask worker`` processes started from the command line, as a user would."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

from distributed import Client

DASK = Path(sys.executable).with_name("dask")


@contextlib.contextmanager
def dask_cluster(
    port: int, workers: int, nthreads: int, pythonpath: Sequence[Path] = ()
) -> Iterator[str]:
    """A scheduler on ``port`` and ``workers`` workers of ``nthreads`` threads, with
    ``pythonpath`` importable on them; yields the scheduler's address."""
    address = f"tcp://127.0.0.1:{port}"
    env = {
        **os.environ,
        # a task on a worker that dies is failed, never run a second time somewhere else
        "DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES": "0",
        # a device stays on its worker: no stealing its task for an idle worker (a new session)
        "DASK_DISTRIBUTED__SCHEDULER__WORK_STEALING": "False",
        "PYTHONPATH": os.pathsep.join([*map(str, pythonpath), os.environ.get("PYTHONPATH", "")]),
    }
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "env": env}
    scheduler = subprocess.Popen(
        [DASK, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"], **quiet
    )
    worker = [DASK, "worker", address, "--host", "127.0.0.1", "--no-dashboard"]
    procs = [
        subprocess.Popen([*worker, "--nthreads", str(nthreads)], **quiet) for _ in range(workers)
    ]
    try:
        _wait_for_workers(address, workers)
        yield address
    finally:
        for proc in [*procs, scheduler]:
            proc.terminate()
        for proc in [*procs, scheduler]:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)


def _wait_for_workers(address: str, count: int) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            with Client(address, timeout=5) as client:
                client.wait_for_workers(count, timeout=max(1.0, deadline - time.monotonic()))
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)
