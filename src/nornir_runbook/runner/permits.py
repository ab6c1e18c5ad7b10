"""``connect_limit`` beyond one process: connection set-up permits for the process and dask
executors.

On threads, a run's ``connect_limit`` is a ``threading.BoundedSemaphore`` (``runner.futures``).
A remote attempt is sent a *gate* instead: a small picklable context manager that the worker's
connection guard enters around each connection set-up, and only there (``runner.guard``), so a
host whose session is already open never asks for a permit.

- :class:`PermitServer` and its :class:`ProcessGate` (process executor): a thread of the
  runner's process hands out permits over a local socket (``multiprocessing.connection``,
  authenticated with the process's authkey, which the forkserver workers inherit). A permit
  is held by the worker's connection: when a worker process dies holding one (stopped by
  ``abort()``, killed by the OOM killer), the operating system closes its socket and the permit
  comes back at once. A multiprocessing semaphore handed to the workers when they start could
  not: a holder killed mid-set-up leaks its permit for good, in processes that outlive runs.
- :class:`ClusterGate` (dask executor): a ``distributed.Semaphore`` named for one run, whose
  leases the scheduler keeps: the limit holds across every worker of the cluster, and the
  leases of a worker that dies expire after ``distributed.scheduler.locks.lease-timeout``
  (30 s by default) instead of leaking.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import threading
import uuid
from dataclasses import dataclass
from multiprocessing.connection import Client, Connection, Listener
from types import TracebackType
from typing import Any

_ACQUIRE = "acquire"
_RELEASE = "release"


def _authkey() -> bytes:
    return bytes(multiprocessing.current_process().authkey)


class PermitServer:
    """At most ``limit`` permits held at once by the processes that connect to ``address``."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._listener = Listener(authkey=_authkey())
        self.address: Any = self._listener.address  # a socket path (a pipe name on Windows)
        self._free = threading.Condition()
        self._held = 0
        self._closed = False
        threading.Thread(target=self._accept, name="nrb-permits", daemon=True).start()

    def gate(self) -> ProcessGate:
        """What an attempt carries to its worker process."""
        return ProcessGate(self.address)

    def held(self) -> int:
        """Permits held now."""
        with self._free:
            return self._held

    def close(self) -> None:
        """Stop taking new workers (those connected keep their connection until they exit)."""
        with self._free:
            if self._closed:
                return
            self._closed = True
        with contextlib.suppress(OSError, EOFError):  # wakes the accepting thread
            Client(self.address, authkey=_authkey()).close()

    def _accept(self) -> None:
        try:
            while not self._closed:
                try:
                    worker = self._listener.accept()
                except (OSError, EOFError, multiprocessing.AuthenticationError):
                    continue  # a client that went away, or not one of ours
                if self._closed:
                    worker.close()
                    break
                threading.Thread(
                    target=self._serve, args=(worker,), name="nrb-permits-worker", daemon=True
                ).start()
        finally:
            self._listener.close()

    def _serve(self, worker: Connection) -> None:
        """One worker process's requests, in order; what it holds when it goes comes back."""
        mine = 0
        try:
            while True:
                request = worker.recv()
                if request == _ACQUIRE:
                    with self._free:
                        while self._held >= self.limit:
                            self._free.wait()
                        self._held += 1
                        mine += 1
                    worker.send(True)
                elif request == _RELEASE:
                    if mine:
                        with self._free:
                            self._held -= 1
                            mine -= 1
                            self._free.notify()
                    worker.send(True)
        except (OSError, EOFError):
            pass  # the worker process ended, or died
        finally:
            with self._free:
                self._held -= mine
                self._free.notify(mine)
            worker.close()


class _Connections(threading.local):
    """In a worker process: this thread's connection to each permit server."""

    def __init__(self) -> None:
        self.by_address: dict[Any, Connection] = {}


_connections = _Connections()


def _connection(address: Any) -> Connection:
    known = _connections.by_address
    if address not in known:
        known[address] = Client(address, authkey=_authkey())
    return known[address]


def _drop(address: Any) -> None:
    """Close this thread's connection to ``address``: the server gives back what it held."""
    connection = _connections.by_address.pop(address, None)
    if connection is not None:
        with contextlib.suppress(OSError):
            connection.close()


@dataclass(frozen=True, slots=True)
class ProcessGate:
    """A permit of the :class:`PermitServer` at ``address``, for a ``with`` block."""

    address: Any

    def __enter__(self) -> None:
        _exchange(self.address, _ACQUIRE)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        _exchange(self.address, _RELEASE)  # answered: the next set-up anywhere may start


def _exchange(address: Any, message: Any) -> None:
    """Send ``message`` to the server at ``address`` and wait for its answer."""
    try:
        connection = _connection(address)
        connection.send(message)
        connection.recv()
    except BaseException:
        # an answer may still be on its way: a new connection starts clean, and the server
        # gives back whatever it granted this one
        _drop(address)
        raise


# -- dask ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ClusterGate:
    """A lease of the cluster-wide semaphore ``name`` (``limit`` leases), for a ``with`` block
    on a dask worker."""

    name: str
    limit: int

    @classmethod
    def for_run(cls, limit: int) -> ClusterGate:
        """A gate of its own for one run: a run over leaves no lease behind for the next."""
        return cls(f"nrb-connect-{uuid.uuid4().hex}", limit)

    def __enter__(self) -> None:
        semaphore = _semaphores.hold(self)
        try:
            semaphore.acquire()
        except BaseException:
            _semaphores.let_go(self.name)
            raise

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            _semaphores.get(self.name).release()
        finally:
            _semaphores.let_go(self.name)

    def close(self, client: Any) -> None:
        """Forget the semaphore on the scheduler: the run is over, and none of its attempts
        still runs (one waiting for a lease would wait for ever)."""
        client.sync(client.scheduler.semaphore_close, name=self.name)


class _Semaphores:
    """A dask worker's semaphore objects, one per gate in use: each refreshes its leases on the
    worker's event loop until it is let go of, so the ones of runs that are over are stopped."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._known: dict[str, tuple[Any, int]] = {}  # name -> (semaphore, users)

    def hold(self, gate: ClusterGate) -> Any:
        """The semaphore of ``gate``, counted as in use until :meth:`let_go`."""
        from distributed import Semaphore  # noqa: PLC0415 -- only on dask workers

        with self._guard:
            semaphore, users = self._known.get(gate.name) or (None, 0)
            if semaphore is None:
                semaphore = Semaphore(max_leases=gate.limit, name=gate.name)  # type: ignore[no-untyped-call]
                self._stop_idle()
            self._known[gate.name] = (semaphore, users + 1)
        return semaphore

    def get(self, name: str) -> Any:
        with self._guard:
            return self._known[name][0]

    def let_go(self, name: str) -> None:
        with self._guard:
            semaphore, users = self._known[name]
            self._known[name] = (semaphore, users - 1)

    def _stop_idle(self) -> None:
        for name, (semaphore, users) in list(self._known.items()):
            if users == 0:
                del self._known[name]
                refresh = getattr(semaphore, "refresh_callback", None)  # none without timeout
                if refresh is not None:
                    semaphore.loop.add_callback(refresh.stop)


_semaphores = _Semaphores()
