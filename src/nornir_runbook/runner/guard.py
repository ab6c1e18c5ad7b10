"""The connection guard: one connection set-up per host at a time, at most ``connect_limit``
at once.

Nornir's ``Host.get_connection`` has no lock; :func:`install_connection_guard` wraps it once per
process (the runner's threads and every remote worker process install it). A FuturesRunner
attempt runs inside :func:`attempt`, which tells the wrapper that attempt's connect gate and
stop flag. A gate is any context manager that holds a permit for its block: a
``threading.BoundedSemaphore`` on threads, a gate of ``runner.permits`` in worker processes
and on dask workers.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager
from typing import Any

from nornir.core.inventory import Host

from nornir_runbook.errors import RunStopped
from nornir_runbook.runner import hostkeys
from nornir_runbook.runner.failures import (
    CONNECT_NOTE,
    UNREACHABLE_NOTE,
    describe_exception,
    unreachable_reason,
)

_local = threading.local()  # the attempt running in this thread: its connect gate and stop
_connecting: dict[int, str] = {}  # id(host) -> "address:port" while its connection opens
_host_locks: dict[int, threading.RLock] = {}
_host_locks_guard = threading.Lock()
_installed = False


def _host_lock(host: Host) -> threading.RLock:
    lock = _host_locks.get(id(host))
    if lock is None:
        with _host_locks_guard:
            lock = _host_locks.setdefault(id(host), threading.RLock())
    return lock


def install_connection_guard() -> None:
    """Wrap ``Host.get_connection``/``open_connection`` once per process.

    Nornir's ``Host.get_connection`` has no lock: two threads on one host both see no connection
    and both open one, leaking a session (nornir#325). The wrapper serializes set-up per host and,
    inside a FuturesRunner worker, takes a permit of that runner's ``connect_limit``. Netmiko
    connections follow the attempt's host key checking (``hostkeys.install``), and a failure
    gets a note naming the address, the port and the cause (``results.UNREACHABLE_NOTE``).
    """
    global _installed  # noqa: PLW0603 -- patched once per process, guarded by this flag
    with _host_locks_guard:
        if _installed:
            return
        _installed = True
    original_get = Host.get_connection
    original_open = Host.open_connection

    def get_connection(self: Host, connection: str, configuration: Any) -> Any:
        existing = self.connections.get(connection)
        if existing is not None:
            return existing.connection
        with _host_lock(self):
            return original_get(self, connection, configuration)

    def open_connection(self: Host, *args: Any, **kwargs: Any) -> Any:
        gate: AbstractContextManager[Any] | None = getattr(_local, "connect_gate", None)
        stopped: threading.Event | None = getattr(_local, "stopped", None)
        if stopped is not None and stopped.is_set():
            raise RunStopped(self.name)
        hostkeys.install()
        try:
            _connecting[id(self)] = _where(self, *args, **kwargs)
            with _host_lock(self):
                if gate is None:
                    return original_open(self, *args, **kwargs)
                with gate:
                    return original_open(self, *args, **kwargs)
        except Exception as exc:
            # whatever went wrong while connecting (a login prompt that never came, say)
            # makes the host unreachable and worth a retry, whatever its type
            exc.add_note(CONNECT_NOTE)
            exc.add_note(UNREACHABLE_NOTE + _unreachable(self, exc, *args, **kwargs))
            raise
        finally:
            _connecting.pop(id(self), None)

    Host.get_connection = get_connection  # type: ignore[method-assign]
    Host.open_connection = open_connection  # type: ignore[method-assign]


def _where(
    host: Host,
    connection: str = "netmiko",
    *args: Any,
    hostname: str | None = None,
    port: int | None = None,
    **kwargs: Any,
) -> str:
    """``127.0.0.1:2201``: where ``open_connection(*args, **kwargs)`` connects to."""
    if hostname is None and port is None:
        try:
            params = host.get_connection_parameters(connection)
            hostname, port = params.hostname, params.port
        except Exception:  # noqa: BLE001 -- an unknown connection, say: the host's own then
            hostname, port = host.hostname, host.port
    address = hostname or host.name
    return f"[{address}]:{port or 22}" if ":" in address else f"{address}:{port or 22}"


def _unreachable(host: Host, exc: BaseException, *args: Any, **kwargs: Any) -> str:
    """``127.0.0.1:2201: connection refused``: where the connection went, and why it failed."""
    where = _where(host, *args, **kwargs)
    username = kwargs.get("username")
    if username is None and "hostname" not in kwargs:
        connection = args[0] if args else kwargs.get("connection", "netmiko")
        with contextlib.suppress(Exception):
            username = host.get_connection_parameters(connection).username
    reason = unreachable_reason(exc, username)
    if reason is None:
        return f"{where}: cannot open the session: {describe_exception(exc)}"
    if reason.startswith("host key"):
        return reason  # names the host and port as known_hosts does
    return f"{where}: {reason}"


@contextlib.contextmanager
def attempt(
    connect_gate: AbstractContextManager[Any] | None, stopped: threading.Event | None = None
) -> Iterator[None]:
    """Within this block, connections opened by this thread take a permit of ``connect_gate``
    and are refused once ``stopped`` is set."""
    _local.connect_gate = connect_gate
    _local.stopped = stopped
    try:
        yield
    finally:
        _local.connect_gate = None
        _local.stopped = None


def connecting_to(host: Host) -> str | None:
    """``address:port`` while ``host``'s connection is being opened, else None."""
    return _connecting.get(id(host))
