"""The pools FuturesRunner submits to, behind one small factory."""

from __future__ import annotations

from concurrent.futures import Executor, ThreadPoolExecutor

from nornir_runbook.errors import ConfigError

EXECUTORS = ("thread",)


def make_executor(kind: str, num_workers: int, dask_address: str | None = None) -> Executor:
    """A fresh executor for one run.

    ``thread`` is the only executor in this release; ``process`` and ``dask`` are refused
    with a clear error rather than silently running on threads.
    """
    if kind == "thread":
        return ThreadPoolExecutor(max_workers=num_workers, thread_name_prefix="nrb-host")
    choices = ", ".join(EXECUTORS)
    raise ConfigError(f"executor {kind!r} is not available in this release (choose: {choices})")
