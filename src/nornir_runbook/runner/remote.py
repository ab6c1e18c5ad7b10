"""Running one host's task in another process or on another machine.

What crosses the boundary is plain data: the task function (pickled by reference, so it must
be importable where it runs), its parameters, and a ``HostSpec`` -- the host flattened to
what a task needs (addresses, credentials, resolved data, connection options). Never the
inventory: pickling it for every host would cost O(hosts^2).

Each worker process keeps its own ``Host`` objects and their connections between jobs, so
a device's session is reused across steps and runs; a host whose description changed is
rebuilt (and its old session closed). Results come back as ``RemoteResult`` values whose
exceptions are known to unpickle: anything else (an unpicklable exception, a subtask failure
whose result holds the whole host) becomes a ``RemoteTaskError`` with the same type name,
message and traceback text.
"""

from __future__ import annotations

import logging
import pickle
import threading
import time
import traceback
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, TypeVar

from nornir.core import Nornir
from nornir.core.configuration import Config
from nornir.core.exceptions import NornirSubTaskError
from nornir.core.inventory import (
    ConnectionOptions,
    Defaults,
    Groups,
    Host,
    Hosts,
    Inventory,
)
from nornir.core.plugins.connections import ConnectionPluginRegister
from nornir.core.task import MultiResult, Result, Task

from nornir_runbook.runner.failures import is_connection_error
from nornir_runbook.runner.guard import attempt as guarded
from nornir_runbook.runner.guard import install_connection_guard
from nornir_runbook.runner.hostkeys import checking
from nornir_runbook.runner.options import HostKeyChecking
from nornir_runbook.tasks._netmiko import close_dead, close_quietly

logger = logging.getLogger(__name__)

_T = TypeVar("_T")


class RemoteTaskError(Exception):
    """A host's failure that could not travel as itself; keeps its type name and message."""

    def __init__(
        self, type_name: str, message: str, remote_traceback: str, connection: bool
    ) -> None:
        self.type_name = type_name
        self.message = message
        self.remote_traceback = remote_traceback
        self.connection_error = connection  # read by results.is_connection_error
        super().__init__(f"{type_name}: {message}")

    def __reduce__(self) -> tuple[Any, ...]:
        args = (self.type_name, self.message, self.remote_traceback, self.connection_error)
        return (type(self), args, {"__notes__": getattr(self, "__notes__", [])})


@dataclass(frozen=True, slots=True, kw_only=True)
class HostSpec:
    """A host flattened to plain data; ``__repr__`` leaves out the password."""

    name: str
    hostname: str | None
    port: int | None
    username: str | None
    password: str | None = field(repr=False)
    platform: str | None
    groups: tuple[str, ...]
    data: Mapping[str, Any]
    connection_options: Mapping[str, Mapping[str, Any]] = field(repr=False)


def host_spec(host: Host) -> HostSpec:
    options = {
        name: _plain_options(host.get_connection_parameters(name))
        for name in _connection_names(host)
    }
    return HostSpec(
        name=host.name,
        hostname=host.hostname,
        port=host.port,
        username=host.username,
        password=host.password,
        platform=host.platform,
        groups=tuple(g.name for g in host.extended_groups()),
        data=dict(host.extended_data()),
        connection_options=options,
    )


def _connection_names(host: Host) -> set[str]:
    names = set(host.connection_options)
    for group in host.extended_groups():
        names.update(group.connection_options)
    names.update(host.defaults.connection_options)
    return names


def _plain_options(options: ConnectionOptions) -> dict[str, Any]:
    return {
        "hostname": options.hostname,
        "port": options.port,
        "username": options.username,
        "password": options.password,
        "platform": options.platform,
        "extras": dict(options.extras or {}),
    }


@dataclass(frozen=True, slots=True)
class PerHost:
    """A task parameter whose value differs per host: only the host's own value is sent.

    Nornir gives every host the same task parameters; a runbook's rendered arguments differ
    per host. Wrapping them here lets the process and dask executors ship each worker just
    its host's share instead of every host's (which would be O(hosts^2) in all).
    """

    values: Mapping[str, Any]

    def of(self, host: str) -> Any:
        return self.values[host]

    def only(self, host: str) -> PerHost:
        return PerHost({host: self.values[host]})


def params_for(params: Mapping[str, Any], host: str) -> dict[str, Any]:
    """``params`` with every PerHost narrowed to ``host``."""
    return {k: v.only(host) if isinstance(v, PerHost) else v for k, v in params.items()}


@dataclass(frozen=True, slots=True, kw_only=True)
class RemoteResult:
    name: str | None
    result: Any
    failed: bool
    changed: bool
    diff: str
    severity_level: int
    exception: BaseException | None


# -- the worker side ----------------------------------------------------------------------


class _WorkerState:
    """Per process: the hosts seen so far, their connections, and a lock per device.

    A host is handed out only for the very spec it was built from (credentials, port and
    connection options included): a different spec closes the old sessions and builds anew.
    Sessions kept between runs (``keep``) are closed once idle longer than their keep time --
    by a sweeper thread, or at next use, whichever comes first -- and checked before reuse.
    """

    def __init__(self) -> None:
        ConnectionPluginRegister.auto_register()
        # a host's failure travels back in its result; the libraries' own tracebacks of it would
        # reach the worker's stderr unredacted (Netmiko quotes connection arguments)
        for noisy in ("nornir.core.task", "paramiko", "netmiko"):
            logging.getLogger(noisy).setLevel(logging.CRITICAL)
        install_connection_guard()
        self.guard = threading.Lock()
        self.hosts: dict[str, tuple[HostSpec, Host]] = {}
        self.locks: dict[str, threading.Lock] = {}
        self.kept: dict[str, tuple[float, float]] = {}  # name -> (last used, keep seconds)
        self.sweeper: threading.Thread | None = None
        self.nornir = Nornir(
            inventory=Inventory(hosts=Hosts(), groups=Groups(), defaults=Defaults()),
            config=Config(),
        )

    def host(self, spec: HostSpec, keep: float | None = None) -> tuple[Host, threading.Lock]:
        with self.guard:
            lock = self.locks.setdefault(spec.name, threading.Lock())
            known = self.hosts.get(spec.name)
            kept = self.kept.pop(spec.name, None)
            if keep is not None:
                self.kept[spec.name] = (time.monotonic(), keep)
                self._sweep_soon()
                _close_with_worker()
            if known is not None and known[0] == spec:
                if kept is not None:  # from an earlier run: past its idle time, or dead?
                    idle = time.monotonic() - kept[0]
                    if idle > kept[1]:
                        close_quietly(known[1])
                    else:
                        close_dead(known[1])
                return known[1], lock
            if known is not None:
                close_quietly(known[1])
            host = _build_host(spec)
            self.hosts[spec.name] = (spec, host)
            self.nornir.inventory.hosts[spec.name] = host
            return host, lock

    def used(self, name: str) -> None:
        """The host's attempt is over: its idle time starts now."""
        with self.guard:
            if name in self.kept:
                self.kept[name] = (time.monotonic(), self.kept[name][1])

    def _sweep_soon(self) -> None:
        if self.sweeper is None:
            self.sweeper = threading.Thread(target=self._sweep, name="nrb-sessions", daemon=True)
            self.sweeper.start()

    def _sweep(self) -> None:
        while True:
            with self.guard:
                keeps = [keep for _, keep in self.kept.values()]
            time.sleep(min(max(min(keeps, default=30.0) / 4, 0.2), 30.0))
            now = time.monotonic()
            idle: list[tuple[Host, threading.Lock]] = []
            with self.guard:
                for name, (used, keep) in list(self.kept.items()):
                    lock = self.locks[name]
                    # a host in use is left alone: its next use starts its idle time again
                    if now - used > keep and lock.acquire(blocking=False):
                        del self.kept[name]
                        idle.append((self.hosts[name][1], lock))
            for host, lock in idle:
                try:
                    close_quietly(host)
                finally:
                    lock.release()

    def close(self, names: list[str] | None) -> int:
        with self.guard:
            chosen = list(self.hosts) if names is None else [n for n in names if n in self.hosts]
            for name in chosen:
                self.kept.pop(name, None)
                close_quietly(self.hosts[name][1])
            return len(chosen)


class _SessionCloser:
    """A dask worker plugin: the worker calls its ``teardown`` as it shuts down."""

    def teardown(self, worker: Any) -> None:
        close_on_worker()


def _close_with_worker() -> None:
    """(On a dask worker.) Its shutdown logs out the sessions it keeps; added locally, once."""
    from distributed import get_worker  # noqa: PLC0415 -- only on dask workers

    closer = _SessionCloser()  # a worker calls a plugin's teardown if it has one
    get_worker().plugins.setdefault("nornir-runbook-sessions", closer)  # type: ignore[arg-type]


_state: _WorkerState | None = None
_state_guard = threading.Lock()


def _worker_state() -> _WorkerState:
    global _state  # noqa: PLW0603 -- one per worker process, made on first use
    with _state_guard:
        if _state is None:
            _state = _WorkerState()
        return _state


_kept: dict[str, Any] = {}  # worker_local's values, in each worker process
_kept_guard = threading.Lock()


def worker_local(key: str, make: Callable[[], _T]) -> _T:
    """The value this worker process keeps under ``key`` for the tasks it runs, made by ``make``
    on first use: a task's state that must outlive one attempt of a host (hosts are pinned to
    their worker). Keys name the run they belong to."""
    with _kept_guard:
        if key not in _kept:
            _kept[key] = make()
        return _kept[key]  # type: ignore[no-any-return]


def _build_host(spec: HostSpec) -> Host:
    options = {
        name: ConnectionOptions(
            hostname=o["hostname"],
            port=o["port"],
            username=o["username"],
            password=o["password"],
            platform=o["platform"],
            extras=dict(o["extras"]),
        )
        for name, o in spec.connection_options.items()
    }
    return Host(
        name=spec.name,
        hostname=spec.hostname,
        port=spec.port,
        username=spec.username,
        password=spec.password,
        platform=spec.platform,
        data=dict(spec.data),
        connection_options=options,
        defaults=Defaults(),
    )


def run_on_worker(
    fn: Callable[..., Any],
    name: str,
    params: Mapping[str, Any],
    spec: HostSpec,
    attempt: int,
    *,
    once: str | None = None,
    refuse_rerun: bool = False,
    host_keys: HostKeyChecking | None = None,
    connect_gate: AbstractContextManager[Any] | None = None,
    keep: float | None = None,
) -> list[RemoteResult]:
    """One attempt of ``fn`` on one host, in a worker; never raises for a host failure.

    ``once`` (dask): a cluster-wide name this attempt claims before it starts. When a worker
    dies after an attempt finished but before its result was fetched, dask computes the task
    again elsewhere; the claim makes that second run refuse, so a config change is never
    applied twice.

    ``refuse_rerun`` (dask, the scheduler running ``rerun_guard.RerunGuard``): the same
    without a claim: the scheduler marks a task that may have run on a worker it lost.

    ``host_keys``: how the attempt's SSH connections check host keys (the runner's setting).

    ``connect_gate``: the run's ``connect_limit`` (``runner.permits``), a permit of which each
    connection the attempt opens holds while it is set up.

    ``keep``: seconds the host's sessions may stay open, idle, after the attempt, for the next
    run (``keep_sessions``); None: until the executor closes them.
    """
    if (refuse_rerun and _lost_before()) or (once is not None and not _claim(once)):
        error = RemoteTaskError(
            "AlreadyRan",
            "this attempt may already have run on a worker that was lost before its result "
            "came back; not running it a second time",
            "",
            False,
        )
        return [
            RemoteResult(
                name=name,
                result=str(error),
                failed=True,
                changed=False,
                diff="",
                severity_level=logging.ERROR,
                exception=error,
            )
        ]
    state = _worker_state()
    host, lock = state.host(spec, keep)
    with lock:
        if attempt > 1:
            close_quietly(host)
        task = Task(fn, state.nornir, global_dry_run=False, processors=_no_processors(), name=name)
        task.params = dict(params)
        try:
            with checking(host_keys or HostKeyChecking()), guarded(connect_gate):
                multi = task.start(host)
        except BaseException as exc:  # noqa: BLE001 -- Task.start lets KeyboardInterrupt/SystemExit out
            multi = MultiResult(name)
            multi.append(Result(host=host, exception=exc, result=str(exc), failed=True))
        state.used(spec.name)
    return [_plain_result(r) for r in multi]


def _lost_before() -> bool:
    from nornir_runbook.runner.rerun_guard import lost_before  # noqa: PLC0415 -- dask only

    return lost_before()


def _claim(name: str) -> bool:
    from distributed import Event  # noqa: PLC0415 -- only on dask workers

    event = Event(name)
    if event.is_set():
        return False
    event.set()
    return True


def release_claim(name: str, client: Any) -> None:
    from distributed import Event  # noqa: PLC0415 -- only with the dask executor

    Event(name, client=client).clear()


def close_on_worker(names: list[str] | None = None) -> int:
    """Close this worker's sessions to ``names`` (every host when None); how many it closed."""
    return _worker_state().close(names) if _state is not None else 0


def _no_processors() -> Any:
    from nornir.core.processor import Processors  # noqa: PLC0415

    return Processors()


def _plain_result(r: Result) -> RemoteResult:
    return RemoteResult(
        name=r.name,
        result=_travels(r.result),
        failed=bool(r.failed),
        changed=bool(r.changed),
        diff=str(r.diff or ""),
        severity_level=r.severity_level,
        exception=_exception(r.exception) if r.exception is not None else None,
    )


def _travels(value: Any) -> Any:
    """``value`` if it survives a pickle round trip, else its repr (dask hangs on the rest)."""
    try:
        pickle.loads(pickle.dumps(value))  # noqa: S301 -- our own bytes, just made
    except Exception:  # noqa: BLE001 -- anything that does not round-trip is sent as text
        return repr(value)
    return value


def _exception(exc: BaseException) -> BaseException:
    if not isinstance(exc, NornirSubTaskError):
        try:
            copy = pickle.loads(pickle.dumps(exc))  # noqa: S301 -- our own bytes, just made
        except Exception:  # noqa: BLE001, S110 -- falls through to RemoteTaskError below
            pass
        else:
            if type(copy) is type(exc):
                return exc
    inner = _innermost(exc)
    text = "".join(traceback.format_exception(exc))
    error = RemoteTaskError(type(inner).__name__, str(inner), text, is_connection_error(inner))
    for note in getattr(inner, "__notes__", ()):  # the connection guard's account, say
        error.add_note(note)
    return error


def _innermost(exc: BaseException) -> BaseException:
    if isinstance(exc, NornirSubTaskError):
        for r in exc.result:
            if r.exception is not None:
                return _innermost(r.exception)
    return exc


# -- the caller side ----------------------------------------------------------------------


def rebuild(task: Task, host: Host, results: list[RemoteResult]) -> MultiResult:
    """The Nornir MultiResult for ``results``, attached to the caller's own Host."""
    multi = MultiResult(task.name)
    for r in results:
        result = Result(
            host=host,
            result=r.result,
            failed=r.failed,
            changed=r.changed,
            diff=r.diff,
            severity_level=r.severity_level,
            exception=r.exception,
        )
        result.name = r.name  # type: ignore[assignment]  # nornir declares Result.name None
        multi.append(result)
    return multi
