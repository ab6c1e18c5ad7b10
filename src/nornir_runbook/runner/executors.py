"""Where FuturesRunner's host attempts run: threads, processes, or a dask.distributed cluster.

Every executor here takes one host attempt at a time and hands back a
``concurrent.futures.Future`` of that host's ``MultiResult``; the runner's loop is the same
on all three. The thread executor runs ``Task.start`` on the caller's own ``Host``; the
process and dask executors send a ``remote.HostSpec`` and rebuild the result on return.

- ``thread``: a ThreadPoolExecutor per run.
- ``process``: ``num_workers`` worker processes (forkserver), each host pinned to one of them
  so that its session is reused across steps and runs; made on first use, kept until
  ``close()``.
- ``dask``: a ``distributed.Client`` to ``dask_address``; each host pinned to one worker
  (with ``allow_other_workers`` as the fallback when that worker is gone).

``connect_limit`` holds on all three: the thread executor's attempts carry the run's own
semaphore; the process and dask executors send their attempts a gate of ``runner.permits``.
"""

from __future__ import annotations

import contextlib
import math
import multiprocessing
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import CancelledError, Future, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Protocol

from nornir.core.inventory import Host
from nornir.core.task import MultiResult, Task

from nornir_runbook.errors import ConfigError, MissingDependencyError
from nornir_runbook.runner.options import EXECUTORS, HostKeyChecking
from nornir_runbook.runner.permits import ClusterGate, PermitServer, ProcessGate
from nornir_runbook.runner.remote import (
    RemoteResult,
    RemoteTaskError,
    close_on_worker,
    host_spec,
    params_for,
    rebuild,
    release_claim,
    run_on_worker,
)
from nornir_runbook.tasks._netmiko import abort_connections


class HostExecutor(Protocol):
    remote: bool  # results come back rebuilt, from another process

    def submit(
        self, task: Task, host: Host, attempt: int, local: Callable[[], MultiResult]
    ) -> Future[MultiResult]: ...

    def end_run(self) -> None:
        """The run is over: let go of what only this run needed."""

    def add_worker(self) -> None:
        """One worker is stuck past its timeout: run the next hosts beside it."""

    def abort(self, hosts: list[Host]) -> None:
        """The run gave up on these running hosts (Ctrl-C): end their sessions now, no logout."""

    def close(self) -> None:
        """Close every session the workers hold and stop them."""


def make_executor(
    kind: str,
    num_workers: int,
    dask_address: str | None = None,
    *,
    host_keys: HostKeyChecking | None = None,
    connect_limit: int | None = None,
    keep_sessions: float | None = None,
) -> HostExecutor:
    """``host_keys``: the host key checking remote workers apply; ``connect_limit``: at most
    this many connection set-ups at once across the remote workers (the thread executor's
    attempts carry both themselves). ``keep_sessions``: see ``DaskExecutor``."""
    host_keys = host_keys or HostKeyChecking()
    if kind == "thread":
        return ThreadExecutor(num_workers)
    if kind == "process":
        return ProcessExecutor(num_workers, host_keys, connect_limit)
    if kind == "dask":
        if not dask_address:
            raise ConfigError("executor 'dask' needs dask_address (--dask-address HOST:PORT)")
        return DaskExecutor(dask_address, host_keys, connect_limit, keep_sessions=keep_sessions)
    raise ConfigError(f"unknown executor {kind!r} (choose one of: {', '.join(EXECUTORS)})")


class ThreadExecutor:
    """Threads in this process, a fresh pool per run (a timed-out thread cannot be reused)."""

    remote = False

    def __init__(self, num_workers: int) -> None:
        self.num_workers = num_workers
        self._pool: ThreadPoolExecutor | None = None

    @property
    def pool(self) -> ThreadPoolExecutor:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.num_workers, thread_name_prefix="nrb-host")
        return self._pool

    def submit(
        self, task: Task, host: Host, attempt: int, local: Callable[[], MultiResult]
    ) -> Future[MultiResult]:
        return self.pool.submit(local)

    def add_worker(self) -> None:
        if self._pool is not None:
            self._pool._max_workers += 1

    def abort(self, hosts: list[Host]) -> None:
        """Their sessions are here: closing the transports makes their threads' reads fail."""
        for host in hosts:
            abort_connections(host)

    def end_run(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)

    def close(self) -> None:
        self.end_run()


def _chain(
    source: Any, task: Task, host: Host, gathered: Callable[[], None] | None = None
) -> Future[MultiResult]:
    """A Future of the rebuilt MultiResult, done when ``source`` (a list of RemoteResult) is;
    ``gathered`` is called once the result is safely here."""
    target: Future[MultiResult] = Future()
    target.set_running_or_notify_cancel()

    def done(f: Any) -> None:
        try:
            results: list[RemoteResult] = f.result()
            if gathered is not None:
                gathered()
            target.set_result(rebuild(task, host, results))
        except BaseException as exc:  # noqa: BLE001 -- handed to the runner as this host's failure
            unimportable = isinstance(exc, ImportError) or "deserializ" in str(exc)
            target.set_exception(_not_importable(task, exc) if unimportable else exc)

    source.add_done_callback(done)
    return target


def _not_importable(task: Task, exc: BaseException) -> RemoteTaskError:
    """The scheduler or a worker could not unpickle the task function (dask's scheduler
    unpickles tasks too, so it needs the same code as the workers)."""
    fn = task.task
    where = f"{getattr(fn, '__module__', '?')}:{getattr(fn, '__qualname__', '?')}"
    return RemoteTaskError(
        type(exc).__name__,
        f"a worker cannot import task {where} ({str(exc).splitlines()[0]}): install its "
        "package on the scheduler and workers, or start them with the runbook project's "
        "folder on PYTHONPATH",
        "",
        False,
    )


class ProcessExecutor:
    """``num_workers`` single-process pools: a host always runs in the same process.

    A process that dies (a task that kills it, the OOM killer) fails every attempt its pool
    still held with ``BrokenProcessPool``. Only the oldest of them was running: it fails, and
    the others, which never started, are sent again to a new process for that slot.

    ``connect_limit``: a :class:`~nornir_runbook.runner.permits.PermitServer` in this process
    hands out the permits; a process that dies mid-set-up gives its permit back as it goes.
    """

    remote = True

    def __init__(
        self,
        num_workers: int,
        host_keys: HostKeyChecking | None = None,
        connect_limit: int | None = None,
    ) -> None:
        self.num_workers = num_workers
        self.host_keys = host_keys or HostKeyChecking()
        self.connect_limit = connect_limit
        self._permits: PermitServer | None = None
        self._gate: ProcessGate | None = None
        self._slots: list[ProcessPoolExecutor] = []
        self._assigned: dict[str, int] = {}
        self._held: dict[int, list[Future[Any]]] = {}  # per slot, in submission order
        self._died: dict[int, Future[Any] | None] = {}  # per dead slot, what it was running
        self._aborted: set[int] = set()  # slots stopped by abort(): nothing is sent again
        self._guard = threading.RLock()
        self._context = multiprocessing.get_context("forkserver")
        self._context.set_forkserver_preload(["nornir_runbook.runner.remote"])

    def _index(self, name: str) -> int:
        with self._guard:
            if not self._slots:
                if self.connect_limit is not None and self._permits is None:
                    self._permits = PermitServer(self.connect_limit)
                    self._gate = self._permits.gate()
                self._slots = [
                    ProcessPoolExecutor(max_workers=1, mp_context=self._context)
                    for _ in range(self.num_workers)
                ]
            return self._assigned.setdefault(name, len(self._assigned) % self.num_workers)

    def submit(
        self, task: Task, host: Host, attempt: int, local: Callable[[], MultiResult]
    ) -> Future[MultiResult]:
        args = (task.task, task.name, params_for(task.params, host.name), host_spec(host), attempt)
        outcome: Future[Any] = Future()
        outcome.set_running_or_notify_cancel()
        self._send(self._index(host.name), args, outcome)
        return _chain(outcome, task, host)

    def _send(self, index: int, args: tuple[Any, ...], outcome: Future[Any]) -> None:
        with self._guard:
            slot = self._slots[index]
            keys, gate = self.host_keys, self._gate
            try:
                source = slot.submit(run_on_worker, *args, host_keys=keys, connect_gate=gate)
            except BrokenProcessPool:  # its process died: start a new one
                slot = self._replace(index, slot)
                source = slot.submit(run_on_worker, *args, host_keys=keys, connect_gate=gate)
            self._held.setdefault(id(slot), []).append(source)

        def done(f: Future[Any]) -> None:
            exc = CancelledError() if f.cancelled() else f.exception()
            with self._guard:
                held = self._held.setdefault(id(slot), [])
                if isinstance(exc, BrokenProcessPool) and id(slot) not in self._died:
                    self._died[id(slot)] = held[0] if held else None  # the one it was running
                was_running = self._died.get(id(slot)) is f
                if f in held:
                    held.remove(f)
            if (
                isinstance(exc, BrokenProcessPool)
                and not was_running
                and id(slot) not in self._aborted
            ):
                self._send(index, args, outcome)  # it never started: the process died under another
            elif exc is not None:
                outcome.set_exception(exc)
            else:
                outcome.set_result(f.result())

        source.add_done_callback(done)

    def _replace(self, index: int, broken: ProcessPoolExecutor) -> ProcessPoolExecutor:
        with self._guard:
            if self._slots[index] is broken:
                broken.shutdown(wait=False, cancel_futures=True)
                self._slots[index] = ProcessPoolExecutor(max_workers=1, mp_context=self._context)
            return self._slots[index]

    def end_run(self) -> None:
        """Workers and their sessions outlive a run; ``close()`` ends them."""

    def add_worker(self) -> None:
        """A process stays busy with its timed-out host; its other hosts wait for it."""

    def abort(self, hosts: list[Host]) -> None:
        """Stop the processes running them, their sessions with them; a new one takes over
        each slot when a host is next sent there."""
        with self._guard:
            names = {host.name for host in hosts}
            for index in {i for name, i in self._assigned.items() if name in names}:
                slot = self._slots[index]
                self._aborted.add(id(slot))
                # no public way to stop a busy worker process before Python 3.14
                for process in list((slot._processes or {}).values()):
                    process.terminate()
                slot.shutdown(wait=False, cancel_futures=True)
                self._slots[index] = ProcessPoolExecutor(max_workers=1, mp_context=self._context)
                # its hosts' sessions are gone: close() has nothing to ask the new process
                self._assigned = {n: i for n, i in self._assigned.items() if i != index}

    def close(self) -> None:
        permits, self._permits, self._gate = self._permits, None, None
        if permits is not None:
            permits.close()
        used = set(self._assigned.values())
        slots, self._slots = self._slots, []
        self._assigned = {}
        for index, slot in enumerate(slots):
            if index not in used:  # never started: nothing to close, no process to start
                slot.shutdown(wait=False)
                continue
            # a broken worker has no sessions left to close
            with contextlib.suppress(Exception):
                slot.submit(close_on_worker).result(timeout=30)
            slot.shutdown(wait=True, cancel_futures=True)


class DaskExecutor:
    """Submits to a dask.distributed cluster; each device goes to the same worker each time.

    ``connect_limit``: each run has a cluster-wide semaphore of its own
    (:class:`~nornir_runbook.runner.permits.ClusterGate`), forgotten when the run ends.
    """

    remote = True

    def __init__(
        self,
        address: str,
        host_keys: HostKeyChecking | None = None,
        connect_limit: int | None = None,
        *,
        keep_sessions: float | None = None,
    ) -> None:
        """``keep_sessions``: seconds the workers keep each device's session open, idle, after
        a run, for the next runs (on any client); None: ``close()`` closes them."""
        self.host_keys = host_keys or HostKeyChecking()
        self.connect_limit = connect_limit
        self._gate: ClusterGate | None = None  # this run's
        self.keep_sessions = keep_sessions
        try:
            from distributed import Client  # noqa: PLC0415 -- optional dependency

            from nornir_runbook.runner import rerun_guard  # noqa: PLC0415 -- imports distributed
        except ImportError:
            raise MissingDependencyError("executor 'dask'", "distributed", "dask") from None
        try:
            self.client = Client(address, set_as_default=False, timeout="10s")
        except (OSError, TimeoutError) as exc:
            raise ConfigError(f"cannot reach the dask scheduler at {address}: {exc}") from None
        self._assigned: dict[str, str] = {}
        self._running: set[Any] = set()
        self._workers_list: list[str] = []
        self._workers_at = -math.inf
        # the scheduler marks a task that may have run on a worker it lost (no round trip per
        # attempt); a scheduler that refuses the plugin: each attempt claims an Event instead
        self.rerun_guard = rerun_guard.install(self.client)
        self._prefix = rerun_guard.PREFIX  # the keys the scheduler's guard watches

    def _workers(self) -> list[str]:
        """The cluster's workers, asked of the scheduler at most once a second."""
        now = time.monotonic()
        if now - self._workers_at > 1.0:
            info = self.client.scheduler_info(n_workers=-1)
            self._workers_list = sorted(info["workers"])
            self._workers_at = now
        return self._workers_list

    def _worker_for(self, name: str) -> list[str]:
        workers = self._workers()
        if not workers:
            return []
        current = self._assigned.get(name)
        if current not in workers:
            current = workers[len(self._assigned) % len(workers)]
            self._assigned[name] = current
        return [current]

    def submit(
        self, task: Task, host: Host, attempt: int, local: Callable[[], MultiResult]
    ) -> Future[MultiResult]:
        key = f"{self._prefix}{host.name}-{uuid.uuid4().hex}"
        claim = None if self.rerun_guard else f"{key}-claim"
        source = self.client.submit(
            run_on_worker,
            task.task,
            task.name,
            params_for(task.params, host.name),
            host_spec(host),
            attempt,
            once=claim,
            refuse_rerun=self.rerun_guard,
            host_keys=self.host_keys,
            connect_gate=self._run_gate(),
            keep=self.keep_sessions,
            key=key,
            pure=False,
            workers=self._worker_for(host.name),
            allow_other_workers=True,
        )
        self._running.add(source)
        source.add_done_callback(self._running.discard)
        if claim is None:
            return _chain(source, task, host)
        # the claim is let go only once the result is here: a result lost with its worker
        # makes dask run the task again, and then the claim must still be held
        return _chain(source, task, host, lambda: release_claim(claim, self.client))

    def _run_gate(self) -> ClusterGate | None:
        if self._gate is None and self.connect_limit is not None:
            self._gate = ClusterGate.for_run(self.connect_limit)
        return self._gate

    def add_worker(self) -> None:
        """The cluster's threads are the cluster's: nothing to add from here."""

    def abort(self, hosts: list[Host]) -> None:
        """A task running on a dask worker cannot be stopped from here (``end_run`` cancels
        what is still queued); the worker finishes it."""

    def end_run(self) -> None:
        """Cancel what this run left queued (an interrupted run); sessions stay for the next."""
        left = list(self._running)
        if left:
            self.client.cancel(left)
        gate, self._gate = self._gate, None
        if gate is not None and not left:  # else its attempts still running may wait on it
            gate.close(self.client)

    def close(self) -> None:
        try:
            # nothing may still be in flight once the client is gone: a result callback would
            # wait on the client's loop for ever and keep the process from exiting
            self.client.cancel(list(self._running))
            if self.keep_sessions is None:  # else each closes once idle past keep_sessions
                self.client.run(close_on_worker)
        finally:
            self.client.close()
