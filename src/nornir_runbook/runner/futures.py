"""FuturesRunner: a Nornir runner that streams results as each host finishes.

Nornir's ``ThreadedRunner`` submits every host and then reads the futures in submission
order. This runner keeps the submit side in the caller's thread and feeds completions back
through a queue filled by ``Future.add_done_callback`` -- the mechanism
``concurrent.futures.as_completed`` uses inside, kept open so that the loop can also wake up
for deadlines and retries and submit more work as permits free up. That loop is the only place
that decides what runs next, so timeouts, retries, the failure threshold, connection and group
limits and Ctrl-C are all decided in one thread, with no locks around the bookkeeping.

Timeouts cannot kill a thread: a host past ``task_timeout`` gets a failed result and the run
goes on, while its worker thread keeps running until the device code returns. Netmiko's own
timeouts bound that (``conn_timeout``, ``auth_timeout``, ``banner_timeout`` while connecting,
``read_timeout`` per command; set them through the inventory's ``connection_options`` extras).
"""

from __future__ import annotations

import functools
import heapq
import itertools
import logging
import queue
import random
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from nornir.core.inventory import Host
from nornir.core.task import AggregatedResult, MultiResult, Result, Task

from nornir_runbook.errors import HostKeyError, RunInterrupted, TaskTimeoutError
from nornir_runbook.runner import hostkeys
from nornir_runbook.runner.executors import HostExecutor, make_executor
from nornir_runbook.runner.failures import UNREACHABLE_NOTE, connection_error
from nornir_runbook.runner.guard import attempt, connecting_to, install_connection_guard
from nornir_runbook.runner.options import RUNNER_FIELDS, HostKeyChecking, RunnerOptions
from nornir_runbook.tasks._netmiko import close_quietly

logger = logging.getLogger(__name__)

_TICK = 0.05  # seconds between deadline checks while a task_timeout is set
# The loop never blocks longer than this: a Ctrl-C that lands just before a wait starts (or any
# Ctrl-C on Windows) does not wake a blocked queue.get, and must not wait for the next host.
_MAX_WAIT = 0.5


@dataclass(frozen=True, slots=True, kw_only=True)
class HostCompletion:
    """What ``on_result`` receives as each host completes."""

    host: str
    result: MultiResult
    attempts: int
    timed_out: bool
    duration_s: float


@dataclass(frozen=True, slots=True, kw_only=True)
class RunArgs:
    """What one ``run()`` is given beyond the runner's set-up (see ``FuturesRunner``)."""

    max_fail_percentage: float | None = None
    counts_as_failure: Callable[[MultiResult], bool] | None = None
    on_result: Callable[[HostCompletion], None] | None = None


@dataclass(slots=True, kw_only=True)
class RunStats:
    """What the last ``run()`` did beyond its results: attempts, timeouts and skipped hosts."""

    attempts: dict[str, int] = field(default_factory=dict)
    timed_out: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # never started: cancelled or interrupted
    aborted: bool = False  # max_fail_percentage was exceeded
    interrupted: bool = False


class FuturesRunner:
    """Drop-in for Nornir's ``ThreadedRunner`` with streaming, timeouts, retries and limits.

    Arguments:
        num_workers: hosts running at once.
        executor: ``thread`` (default); see ``executors.make_executor``.
        task_timeout: seconds a host may run (per attempt) before it gets a failed result.
        retries: extra attempts for a host whose failure is a connection error.
        retry_backoff: first retry delay in seconds; doubles each attempt, with +-50% jitter.
        max_fail_percentage: once failed hosts exceed this share of the hosts given to the run,
            hosts not yet started are left out of the result (``last_run.skipped``).
        counts_as_failure: which results count toward ``max_fail_percentage``; default: every
            failed one (``result.failed``).
        connect_limit: at most this many connection set-ups at once, on every executor
            (the process and dask executors take it when they are made, at the first run).
        group_limits: ``{group: n}``: at most n hosts of that group (or its child groups) at once.
        on_result: called in the caller's thread with a ``HostCompletion`` per host.
        grace_period: seconds to wait for running hosts after Ctrl-C; a second Ctrl-C, or the
            end of the grace period, aborts the sessions of the hosts still running.
        host_key_checking: ``accept-new`` (default), ``strict`` or ``off``, or a
            ``HostKeyChecking`` naming the known_hosts file too (see ``hostkeys``).
        keep_sessions: (dask) seconds the workers keep each device's session open, idle,
            after ``close()``, for the next runs on the cluster; None: ``close()`` ends them.
    """

    def __init__(
        self,
        num_workers: int = 20,
        *,
        executor: str = "thread",
        dask_address: str | None = None,
        task_timeout: float | None = None,
        retries: int = 0,
        retry_backoff: float = 1.0,
        max_fail_percentage: float | None = None,
        counts_as_failure: Callable[[MultiResult], bool] | None = None,
        connect_limit: int | None = None,
        group_limits: Mapping[str, int] | None = None,
        on_result: Callable[[HostCompletion], None] | None = None,
        grace_period: float = 5.0,
        host_key_checking: HostKeyChecking | str = "accept-new",
        keep_sessions: float | None = None,
    ) -> None:
        options = RunnerOptions(
            num_workers=num_workers,
            executor=executor,
            dask_address=dask_address,
            task_timeout=task_timeout,
            retries=retries,
            retry_backoff=retry_backoff,
            connect_limit=connect_limit,
            group_limits=dict(group_limits or {}),
            grace_period=grace_period,
            host_key_checking=(
                host_key_checking
                if isinstance(host_key_checking, HostKeyChecking)
                else HostKeyChecking(host_key_checking)
            ),
            keep_sessions=keep_sessions,
        )
        # attributes, as scripts read and set them; a run reads them when it starts
        self.num_workers = options.num_workers
        self.executor = options.executor
        self.dask_address = options.dask_address
        self.task_timeout = options.task_timeout
        self.retries = options.retries
        self.retry_backoff = options.retry_backoff
        self.connect_limit = options.connect_limit
        self.group_limits = dict(options.group_limits)
        self.grace_period = options.grace_period
        self.host_keys = options.host_key_checking
        self.keep_sessions = options.keep_sessions
        # a plain run()'s RunArgs, as scripts set them; with_args() gives a run its own
        self.max_fail_percentage = max_fail_percentage
        self.counts_as_failure = counts_as_failure
        self.on_result = on_result
        self.last_run = RunStats()
        self._executor: HostExecutor | None = None
        install_connection_guard()

    @classmethod
    def from_options(cls, options: RunnerOptions) -> FuturesRunner:
        """A runner set up with ``options`` (the run's own values are set per run)."""
        # RunnerOptions' fields are named as this class's keyword arguments
        return cls(**{name: getattr(options, name) for name in RUNNER_FIELDS})

    def run(self, task: Task, hosts: list[Host], args: RunArgs | None = None) -> AggregatedResult:
        """Nornir's entry point; without ``args``, the run's values are the attributes'."""
        if args is None:
            args = RunArgs(
                max_fail_percentage=self.max_fail_percentage,
                counts_as_failure=self.counts_as_failure,
                on_result=self.on_result,
            )
        run = _Run(self, task, hosts, args)
        self.last_run = run.stats
        return run.execute()

    def with_args(self, args: RunArgs) -> BoundRunner:
        """A runner plugin for ``Nornir.with_runner`` whose runs go through this runner with
        ``args``; this runner's attributes stay as they are."""
        return BoundRunner(self, args)

    def pool(self) -> HostExecutor:
        """The executor runs go through: made on first use; process and dask ones are kept
        (with their workers' sessions) until ``close()``."""
        if self._executor is None:
            self._executor = make_executor(
                self.executor,
                self.num_workers,
                self.dask_address,
                host_keys=self.host_keys,
                connect_limit=self.connect_limit,
                keep_sessions=self.keep_sessions,
            )
        return self._executor

    @property
    def remote(self) -> bool:
        """Whether hosts run in other processes (the executor's ``remote``): then what a task
        records while it runs (its progress, the sessions it opens) stays in those processes."""
        return self.pool().remote

    def close(self) -> None:
        """Close the sessions workers hold and stop them (process and dask executors)."""
        executor, self._executor = self._executor, None
        if executor is not None:
            executor.close()


@dataclass(frozen=True, slots=True)
class BoundRunner:
    """A FuturesRunner and one run's values (``FuturesRunner.with_args``)."""

    runner: FuturesRunner
    args: RunArgs

    def run(self, task: Task, hosts: list[Host]) -> AggregatedResult:
        return self.runner.run(task, hosts, self.args)


@dataclass(slots=True)
class _Job:
    host: Host
    attempt: int
    groups: tuple[str, ...]
    started: float | None = None  # set by the worker thread when it begins


class _Run:
    """One ``run()`` call: the dispatch loop and its bookkeeping, all in the caller's thread."""

    def __init__(self, runner: FuturesRunner, task: Task, hosts: list[Host], args: RunArgs) -> None:
        self.r = runner
        self.args = args
        self.task = task
        self.hosts = hosts
        self.stats = RunStats()
        self.results: dict[str, MultiResult] = {}
        self.pending = _Pending(hosts, runner.group_limits)
        self.delayed: list[tuple[float, int, Host, int]] = []  # (ready_at, seq, host, attempt)
        self.running: dict[Future[MultiResult], _Job] = {}
        self.done: queue.SimpleQueue[Future[MultiResult]] = queue.SimpleQueue()
        self.in_group: dict[str, int] = dict.fromkeys(runner.group_limits, 0)
        self.first_start: dict[str, float] = {}
        self.failed = 0
        self.seq = itertools.count()
        self.connect_gate = (
            threading.BoundedSemaphore(runner.connect_limit) if runner.connect_limit else None
        )
        self.stopped = threading.Event()  # set when the run gives up on its running hosts

    # -- the loop -------------------------------------------------------------------------

    def execute(self) -> AggregatedResult:
        pool = self.r.pool()
        try:
            self._loop(pool)
        except KeyboardInterrupt:
            self._interrupt()
            raise RunInterrupted(self._aggregate(), list(self.stats.skipped)) from None
        finally:
            pool.end_run()
        return self._aggregate()

    def _loop(self, pool: Any) -> None:
        next_check = time.monotonic() + _TICK
        while self.pending or self.delayed or self.running:
            self._dispatch(pool)
            try:
                self._complete(self.done.get(timeout=self._wait_time()))
                while True:
                    self._complete(self.done.get_nowait())
            except queue.Empty:
                pass
            if self.r.task_timeout is not None and time.monotonic() >= next_check:
                self._expire(time.monotonic(), pool)
                next_check = time.monotonic() + _TICK

    def _wait_time(self) -> float:
        waits = [_MAX_WAIT]
        if self.r.task_timeout is not None:
            waits.append(_TICK)
        if self.delayed and self._has_room():  # with no room, the next completion wakes us
            waits.append(max(0.0, self.delayed[0][0] - time.monotonic()))
        return min(waits)

    # -- starting hosts --------------------------------------------------------------------

    def _dispatch(self, pool: Any) -> None:
        now = time.monotonic()
        while self.delayed and self.delayed[0][0] <= now and self._has_room():
            _, _, host, attempt = heapq.heappop(self.delayed)
            self._submit(pool, host, attempt)
        while self.pending and self._has_room():
            eligible = self._next_eligible()
            if eligible is None:
                return
            self._submit(pool, eligible, 1)

    def _has_room(self) -> bool:
        return len(self.running) < self.r.num_workers

    def _next_eligible(self) -> Host | None:
        return self.pending.take_first(self._fits)

    def _fits(self, groups: tuple[str, ...]) -> bool:
        return all(self.in_group[g] < self.r.group_limits[g] for g in groups)

    def _submit(self, pool: Any, host: Host, attempt: int) -> None:
        groups = _limited_groups(host, self.in_group) if self.in_group else ()
        if attempt > 1 and not self._fits(groups):
            heapq.heappush(self.delayed, (time.monotonic() + _TICK, next(self.seq), host, attempt))
            return
        for g in groups:
            self.in_group[g] += 1
        job = _Job(host=host, attempt=attempt, groups=groups)
        if pool.remote:  # no thread here to say when it starts: count from submission
            job.started = time.monotonic()
        work = functools.partial(
            _work, self.task, job, self.connect_gate, self.stopped, self.r.host_keys
        )
        future = pool.submit(self.task, host, attempt, work)
        self.running[future] = job
        future.add_done_callback(self.done.put)

    # -- finishing hosts -------------------------------------------------------------------

    def _complete(self, future: Future[MultiResult]) -> None:
        job = self.running.pop(future, None)
        if job is None:  # it timed out earlier and was already reported
            return
        self._release(job)
        try:
            result = future.result()
        except BaseException as exc:  # noqa: BLE001 -- a cancelled future or an executor failure
            result = failed_result(self.task, job.host, exc)
        if self._should_retry(job, result):
            delay = self.r.retry_backoff * 2 ** (job.attempt - 1) * random.uniform(0.5, 1.5)  # noqa: S311
            logger.info(
                "host %s: connection failed, retry %d in %.2fs", job.host.name, job.attempt, delay
            )
            heapq.heappush(
                self.delayed, (time.monotonic() + delay, next(self.seq), job.host, job.attempt + 1)
            )
            return
        self._finish(job, result, timed_out=False)

    def _should_retry(self, job: _Job, result: MultiResult) -> bool:
        error = connection_error(result)
        return (
            result.failed
            and job.attempt <= self.r.retries
            and not self.stats.aborted
            and not self.stats.interrupted
            and error is not None
            and not isinstance(error, HostKeyError)  # a refused key stays refused
        )

    def _expire(self, now: float, pool: Any) -> None:
        timeout = self.r.task_timeout
        assert timeout is not None
        for future, job in list(self.running.items()):
            if job.started is not None and now - job.started > timeout:
                del self.running[future]
                self._release(job)
                # the timed-out attempt keeps its pool thread until the device code returns:
                # one more, so that the hosts after it still start
                pool.add_worker()
                self.stats.timed_out.append(job.host.name)
                exc = TaskTimeoutError(job.host.name, timeout)
                where = connecting_to(job.host)  # still connecting (thread executor)
                if where is not None:
                    exc.add_note(f"{UNREACHABLE_NOTE}{where}: timed out connecting ({exc})")
                self._finish(job, failed_result(self.task, job.host, exc), timed_out=True)

    def _release(self, job: _Job) -> None:
        for g in job.groups:
            self.in_group[g] -= 1

    def _finish(self, job: _Job, result: MultiResult, *, timed_out: bool) -> None:
        name = job.host.name
        self.results[name] = result
        self.stats.attempts[name] = job.attempt
        counts = self.args.counts_as_failure
        if counts(result) if counts is not None else result.failed:
            self.failed += 1
            self._check_threshold()
        if self.args.on_result is not None:
            started = job.started if job.started is not None else time.monotonic()
            self.args.on_result(
                HostCompletion(
                    host=name,
                    result=result,
                    attempts=job.attempt,
                    timed_out=timed_out,
                    duration_s=time.monotonic() - started,
                )
            )

    def _check_threshold(self) -> None:
        limit = self.args.max_fail_percentage
        if limit is None or self.stats.aborted or not self.hosts:
            return
        if self.failed * 100 / len(self.hosts) > limit:
            self.stats.aborted = True
            self.stats.skipped.extend(h.name for h in self.pending)
            self.pending.clear()

    # -- Ctrl-C ----------------------------------------------------------------------------

    def _interrupt(self) -> None:
        """Cancel what has not started, give running hosts a grace period, keep what finished.

        A second Ctrl-C ends the wait at once. The hosts still running then are given up on:
        their sessions are aborted (no logout), so that their workers' reads fail at once.
        """
        self.stats.interrupted = True
        self.stats.skipped.extend(h.name for h in self.pending)
        self.pending.clear()
        self.stats.skipped.extend(host.name for _, _, host, _ in self.delayed)
        self.delayed.clear()
        for future, job in list(self.running.items()):
            if future.cancel():
                del self.running[future]
                self.stats.skipped.append(job.host.name)
        deadline = time.monotonic() + self.r.grace_period
        try:
            for future in [f for f in self.running if f.done()]:
                self._complete(future)  # Ctrl-C came between dequeuing it and recording it
            if self.running and self.r.grace_period > 0:
                hosts = f"{len(self.running)} running host{'s' if len(self.running) > 1 else ''}"
                logger.warning(
                    "interrupted: waiting up to %gs for %s (interrupt again to stop now)",
                    self.r.grace_period,
                    hosts,
                )
            while self.running and (left := deadline - time.monotonic()) > 0:
                try:  # bounded waits: a second Ctrl-C must not wait for the next host either
                    self._complete(self.done.get(timeout=min(left, _MAX_WAIT)))
                except queue.Empty:
                    continue
        except KeyboardInterrupt:
            logger.warning("interrupted again: aborting the sessions of running hosts")
        else:
            if self.running:
                logger.warning("grace period over: aborting the sessions of running hosts")
        self.stopped.set()  # a worker still running opens no new session
        given_up = [job.host for job in self.running.values()]
        self.stats.skipped.extend(host.name for host in given_up)
        self.running.clear()
        if given_up:
            self.r.pool().abort(given_up)

    def _aggregate(self) -> AggregatedResult:
        aggregated = AggregatedResult(self.task.name)
        for host in self.hosts:
            if host.name in self.results:
                aggregated[host.name] = self.results[host.name]
        return aggregated


class _Pending:
    """The hosts not yet started, in the order given, queued apart by the limited groups each
    is in (``group_limits``): the first host whose groups have room is at the head of one of
    those queues, so finding it looks at a few queues, never at every host still waiting."""

    def __init__(self, hosts: list[Host], limited: Mapping[str, int]) -> None:
        self._queues: dict[tuple[str, ...], deque[tuple[int, Host]]] = {}
        for seq, host in enumerate(hosts):
            groups = _limited_groups(host, limited) if limited else ()
            self._queues.setdefault(groups, deque()).append((seq, host))
        self._count = len(hosts)

    def __bool__(self) -> bool:
        return self._count > 0

    def __iter__(self) -> Iterator[Host]:
        """The hosts in the order given."""
        return (host for _, host in heapq.merge(*self._queues.values(), key=lambda e: e[0]))

    def clear(self) -> None:
        self._queues.clear()
        self._count = 0

    def take_first(self, fits: Callable[[tuple[str, ...]], bool]) -> Host | None:
        """The first host (in the order given) whose limited groups ``fits``, taken out."""
        first: deque[tuple[int, Host]] | None = None
        for groups, waiting in self._queues.items():
            if (first is None or waiting[0][0] < first[0][0]) and fits(groups):
                first = waiting
        if first is None:
            return None
        _, host = first.popleft()
        self._count -= 1
        if not first:
            self._queues = {g: w for g, w in self._queues.items() if w}
        return host


def _limited_groups(host: Host, limited: Mapping[str, int]) -> tuple[str, ...]:
    return tuple(g.name for g in host.extended_groups() if g.name in limited)


def _work(
    task: Task,
    job: _Job,
    connect_gate: threading.BoundedSemaphore | None,
    stopped: threading.Event,
    host_keys: HostKeyChecking,
) -> MultiResult:
    """Runs in a worker thread: one attempt of ``task`` on one host."""
    job.started = time.monotonic()
    try:
        with attempt(connect_gate, stopped):
            if job.attempt > 1:
                close_quietly(job.host)  # the half-open session a failed attempt left
            with hostkeys.checking(host_keys):
                return task.copy().start(job.host)
    except BaseException as exc:  # noqa: BLE001 -- Task.start lets KeyboardInterrupt, SystemExit out
        return failed_result(task, job.host, exc)


def failed_result(task: Task, host: Host, exc: BaseException) -> MultiResult:
    """A MultiResult holding one failed Result for ``exc``, as ``Task.start`` builds them."""
    multi = MultiResult(task.name)
    text = "".join(traceback.format_exception(exc)) if exc.__traceback__ else str(exc)
    result = Result(
        host=host, exception=exc, result=text, failed=True, severity_level=logging.ERROR
    )
    result.name = task.name  # type: ignore[assignment]  # nornir declares Result.name None
    multi.append(result)
    return multi
