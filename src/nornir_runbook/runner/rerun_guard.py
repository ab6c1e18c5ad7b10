"""A dask scheduler plugin that stops the scheduler from running a host's attempt twice.

dask computes a task again when the worker holding it is lost: a task that was *processing*
there is sent to another worker (up to ``distributed.scheduler.allowed-failures`` times,
else it fails with ``KilledWorker``), and a task that had *finished* there, its result not yet
fetched, is computed again whatever ``allowed-failures`` says (``remove_worker``: memory ->
released -> waiting, since the client still wants it). For a configuration change, that second
run would apply it twice.

:class:`RerunGuard` watches the scheduler's transitions of the runner's tasks (keys starting
with ``nrb-``): when one leaves a lost worker (its result lost, or lost while processing), it
is annotated :data:`LOST`. The annotation reaches the next worker with the task itself, and
:func:`lost_before` there reads it locally: a guard with no round trip per attempt. A task
taken back from a live worker that had not started it (work stealing) is not marked.

This module imports only the standard library and ``distributed``: the executor registers
the plugin pickled by value, so a scheduler without nornir-runbook installed runs it too.
"""

from __future__ import annotations

from typing import Any

from distributed.diagnostics.plugin import SchedulerPlugin

NAME = "nornir-runbook-rerun-guard-1"
PREFIX = "nrb-"
LOST = "nornir_runbook_lost"


class RerunGuard(SchedulerPlugin):
    """Marks a runner's task that may have run on a worker the scheduler has lost."""

    idempotent = True  # one per scheduler, shared by every client that registers it

    def __init__(self) -> None:
        self.scheduler: Any = None
        self.on: dict[str, str] = {}  # a processing task's worker address

    async def start(self, scheduler: Any) -> None:
        self.scheduler = scheduler

    def transition(
        self, key: Any, start: str, finish: str, *args: Any, stimulus_id: str, **kwargs: Any
    ) -> None:
        if not isinstance(key, str) or not key.startswith(PREFIX):
            return
        ts = self.scheduler.tasks.get(key)
        if finish == "processing":
            if ts is not None and ts.processing_on is not None:
                self.on[key] = ts.processing_on.address
            return
        worker = self.on.pop(key, None) if start == "processing" else None
        if ts is None or finish != "released":
            return
        # memory -> released: its only copy was lost (or the client let it go: then it is
        # forgotten next, never run again); processing -> released: stolen from a live worker
        # (never started there), or its worker is gone (it may have run)
        if start == "memory" or (worker is not None and worker not in self.scheduler.workers):
            ts.annotations = {**(ts.annotations or {}), LOST: True}


def lost_before() -> bool:
    """(In a task on a dask worker.) Whether the scheduler marked this task as one that may
    have run on a worker it lost."""
    from distributed import get_worker  # noqa: PLC0415 -- only on dask workers

    worker = get_worker()
    ts = worker.state.tasks.get(worker.get_current_task())
    return ts is not None and bool((ts.annotations or {}).get(LOST))


def install(client: Any) -> bool:
    """Register the plugin on ``client``'s scheduler, once per scheduler; False when the
    scheduler refuses it (``distributed.scheduler.pickle: false``, say)."""
    import sys  # noqa: PLC0415

    import cloudpickle  # type: ignore[import-untyped]  # noqa: PLC0415 -- comes with distributed

    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    try:
        client.register_plugin(RerunGuard(), name=NAME)
    except Exception:  # noqa: BLE001 -- any refusal: the executor claims attempts instead
        return False
    return True
