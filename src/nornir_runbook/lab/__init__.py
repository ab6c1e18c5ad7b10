"""Fake network devices (FakeNOS) for the hosts of an inventory, for ``nrb lab``, ``--lab``
and the tests: Cisco IOS and Arista EOS, as each host's ``platform`` says (see
:mod:`nornir_runbook.lab.platforms`).

A :class:`Lab` serves :class:`Device` s on loopback addresses only. Its devices run in child
processes, about 50 devices each (one FakeNOS process saturates a core at 50-75 sessions, and
devices inside the client's own process would fight it for the GIL); ``processes=0`` serves
them from threads of this process instead, for small uses.

Each child reads its devices as one JSON line on stdin, answers one JSON line on stdout when
every device listens (or with the error that stopped it), then one line per request line
(every device's :class:`SessionStats`), and exits as soon as its stdin closes: when
:meth:`Lab.stop` closes it, or when this process dies for any reason.

A device may misbehave (``Device(fault=...)``, or data key ``lab_fault`` in the inventory): see
:mod:`nornir_runbook.lab.faults`. :meth:`Lab.stats` counts each device's sessions, and
:meth:`Lab.peak_setups` the most connection set-ups the devices had in progress at once.

Every device presents the same SSH host key, made once per user and kept in nornir-runbook's
state folder (:func:`~nornir_runbook.runner.hostkeys.lab_host_key`): a known_hosts file that trusted
a lab device keeps trusting it at the next start. :meth:`Lab.known_hosts` writes a known_hosts
file for the lab's devices, which ``nrb run --lab`` checks them against (strictly), so that a
lab run neither reads nor writes the user's own known_hosts.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import selectors
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict
from pathlib import Path
from types import TracebackType
from typing import IO, TYPE_CHECKING, Any

from nornir_runbook.errors import LabError
from nornir_runbook.lab.devices import Device, check_port_free, check_unique, devices_from_nornir
from nornir_runbook.lab.faults import SessionStats, SetupGauge
from nornir_runbook.runner.hostkeys import lab_host_key, lab_known_hosts
from nornir_runbook.text import plural

if TYPE_CHECKING:
    from nornir_runbook.lab.server import LabSshServer

__all__ = ["Device", "Lab", "check_port_free", "child_main", "devices_from_nornir"]

DEVICES_PER_PROCESS = 50
READY_TIMEOUT = 60.0
STOP_TIMEOUT = 5.0

log = logging.getLogger(__name__)


class Lab:
    """Fake devices for the length of a ``with`` block (or between :meth:`start` and
    :meth:`stop`).

    ``processes``: how many child processes serve the devices (default: one per 50 devices, at
    most one per CPU); ``0`` serves them from threads of this process.
    """

    def __init__(self, devices: Sequence[Device], processes: int | None = None) -> None:
        self.devices: tuple[Device, ...] = tuple(devices)
        check_unique(self.devices)
        if processes is None:
            processes = min(math.ceil(len(self.devices) / DEVICES_PER_PROCESS), os.cpu_count() or 1)
            processes = max(processes, 1)
        if processes < 0:
            raise LabError(f"processes must be 0 or more, not {processes}")
        self.processes = min(processes, len(self.devices))
        self._children: list[_Child] = []
        self._servers: list[LabSshServer] = []
        self._setups = SetupGauge()  # of the devices served from this process
        self._running = False
        self._keys_dir: tempfile.TemporaryDirectory[str] | None = None

    def __repr__(self) -> str:
        state = "running" if self._running else "stopped"
        devices, processes = (
            plural(len(self.devices), "device"),
            plural(self.processes, "process", "processes"),
        )
        return f"<Lab {devices}, {processes}, {state}>"

    def start(self) -> None:
        """Return when every device accepts connections; :class:`LabError` if one cannot."""
        if self._running:
            return
        for device in self.devices:
            check_port_free(device)
        lab_host_key()  # made here once, before child processes read it
        try:
            if self.processes == 0:
                self._setups = SetupGauge()
                self._servers = _serve(self.devices, self._setups)
            else:
                for i in range(self.processes):
                    self._children.append(_Child(self.devices[i :: self.processes]))
                deadline = time.monotonic() + READY_TIMEOUT
                for child in self._children:
                    child.wait_ready(deadline)
        except BaseException:
            self.stop()
            raise
        self._running = True
        log.debug("lab: %d devices listening, %d processes", len(self.devices), self.processes)

    def stop(self) -> None:
        """Stop every device at once; their ports are free when this returns."""
        servers, self._servers = self._servers, []
        _halt(servers)
        children, self._children = self._children, []
        for child in children:
            child.close_stdin()
        for child in children:
            child.wait_exit()
        self._running = False
        keys_dir, self._keys_dir = self._keys_dir, None
        if keys_dir is not None:
            keys_dir.cleanup()

    def stats(self) -> dict[str, SessionStats]:
        """Every device's session counters now, in lab order (:class:`LabError` if stopped)."""
        if not self._running:
            raise LabError("the lab is not running")
        found: dict[str, SessionStats] = {s.name: s.device_state.stats() for s in self._servers}
        for child in self._children:
            found.update(child.stats())
        return {d.name: found[d.name] for d in self.devices}

    def peak_setups(self) -> int:
        """The most connection set-ups (TCP accepted, login not yet answered) that the devices
        had in progress at once since the lab started: what a client's ``connect_limit`` bounds.

        Counted per serving process: exact for a lab of one process (50 devices or fewer, or
        ``processes=0``); with more, the highest of its processes' figures, which may be lower
        than the lab-wide one. :class:`LabError` if the lab is stopped.
        """
        if not self._running:
            raise LabError("the lab is not running")
        peaks = [self._setups.peak()] if self.processes == 0 else []
        peaks.extend(child.peak_setups() for child in self._children)
        return max(peaks, default=0)

    def known_hosts(self) -> Path:
        """A known_hosts file filing the lab's key for each device, removed by :meth:`stop`."""
        if self._keys_dir is None:
            self._keys_dir = tempfile.TemporaryDirectory(prefix="nrb-lab-keys-")
        addresses = [(d.address, d.port) for d in self.devices]
        return lab_known_hosts(addresses, Path(self._keys_dir.name))

    def serve_forever(self) -> None:
        """Start, then serve until Ctrl-C; :class:`LabError` if a child process dies."""
        self.start()
        try:
            while True:
                for child in self._children:
                    if child.proc.poll() is not None:
                        raise LabError(f"a lab process died: {child.describe_exit()}")
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass
        finally:
            self.stop()

    def __enter__(self) -> Lab:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def _serve(devices: Iterable[Device], setups: SetupGauge) -> list[LabSshServer]:
    """Start a server per device in this process (halting them all if one fails), counting
    their connection set-ups on ``setups``."""
    from nornir_runbook.lab.server import LabSshServer  # noqa: PLC0415  # fakenos loads slowly

    fakenos_log = logging.getLogger("fakenos")
    if fakenos_log.level == logging.NOTSET:  # it logs every client disconnect as an error
        fakenos_log.setLevel(logging.CRITICAL)
    servers: list[LabSshServer] = []
    try:
        for device in devices:
            server = LabSshServer(
                name=device.name,
                address=device.address,
                port=device.port,
                username=device.username,
                password=device.password,
                fault=device.fault,
                fault_delay=device.fault_delay,
                platform=device.platform,
                setups=setups,
            )
            try:
                server.start()
            except OSError as exc:
                raise LabError(
                    f"host {device.name!r}: cannot serve {device.address}:{device.port}: "
                    f"{exc.strerror or exc}"
                ) from None
            servers.append(server)
    except BaseException:
        _halt(servers)
        raise
    return servers


def _halt(servers: Sequence[LabSshServer]) -> None:
    for server in servers:
        server.halt()
    deadline = time.monotonic() + 1.0
    for server in servers:
        server.join(max(0.0, deadline - time.monotonic()))


class _Child:
    """A child process serving a share of the devices (see the module docstring)."""

    def __init__(self, devices: Sequence[Device]) -> None:
        self.names = [d.name for d in devices]
        self._ask = threading.Lock()  # one stats request at a time on the pipes
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115  # closed in wait_exit
        src = str(Path(__file__).resolve().parents[1])
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(p for p in (src, os.environ.get("PYTHONPATH")) if p),
        }
        self.proc = subprocess.Popen(  # our own interpreter and module
            [sys.executable, "-c", "from nornir_runbook.lab import child_main; child_main()"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            env=env,
        )
        stdin = self._pipe(self.proc.stdin)
        # passwords travel on the pipe, never on the command line
        stdin.write(json.dumps([asdict(d) for d in devices]).encode() + b"\n")
        stdin.flush()

    @staticmethod
    def _pipe(stream: IO[bytes] | None) -> IO[bytes]:
        assert stream is not None  # Popen was given PIPE
        return stream

    def wait_ready(self, deadline: float) -> None:
        stdout = self._pipe(self.proc.stdout)
        with selectors.DefaultSelector() as selector:
            selector.register(stdout, selectors.EVENT_READ)
            if not selector.select(max(0.0, deadline - time.monotonic())):
                raise LabError(f"lab devices {self._span()} not ready after {READY_TIMEOUT:g}s")
        line = stdout.readline()
        reply: dict[str, Any] = json.loads(line) if line.strip() else {}
        if "error" in reply:
            raise LabError(str(reply["error"]))
        if "ready" not in reply:
            self.proc.wait(STOP_TIMEOUT)
            raise LabError(f"lab process for {self._span()} failed: {self.describe_exit()}")

    def stats(self) -> dict[str, SessionStats]:
        reply = self._counters()
        return {name: SessionStats.from_dict(data) for name, data in reply["stats"].items()}

    def peak_setups(self) -> int:
        return int(self._counters()["peak_setups"])

    def _counters(self) -> dict[str, Any]:
        """The child's counters now: ``stats`` (per device) and ``peak_setups``."""
        stdin, stdout = self._pipe(self.proc.stdin), self._pipe(self.proc.stdout)
        with self._ask, selectors.DefaultSelector() as selector:
            with contextlib.suppress(OSError):  # a dead child is reported below
                stdin.write(b'{"stats": true}\n')
                stdin.flush()
            selector.register(stdout, selectors.EVENT_READ)
            line = stdout.readline() if selector.select(READY_TIMEOUT) else b""
        reply: dict[str, Any] = json.loads(line) if line.strip() else {}
        if "stats" not in reply:
            raise LabError(f"lab devices {self._span()} did not report: {self.describe_exit()}")
        return reply

    def close_stdin(self) -> None:
        with contextlib.suppress(OSError):
            self._pipe(self.proc.stdin).close()

    def wait_exit(self) -> None:
        try:
            self.proc.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._pipe(self.proc.stdout).close()
        self._stderr.close()

    def describe_exit(self) -> str:
        self._stderr.seek(0)
        tail = self._stderr.read()[-2000:].decode(errors="replace").strip()
        return f"exit code {self.proc.returncode}" + (f"\n{tail}" if tail else "")

    def _span(self) -> str:
        return f"{self.names[0]}..{self.names[-1]}" if len(self.names) > 1 else self.names[0]


def child_main() -> None:
    """Entry point of a child process: serve the devices read from stdin until stdin closes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    logging.getLogger("paramiko").setLevel(logging.CRITICAL)  # every client disconnect, too
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    servers: list[LabSshServer] = []
    setups = SetupGauge()
    try:
        devices = [Device(**item) for item in json.loads(stdin.readline())]
        servers = _serve(devices, setups)
    except LabError as exc:
        reply: dict[str, Any] = {"error": str(exc)}
    except Exception as exc:  # noqa: BLE001  # reported to the parent, which raises LabError
        reply = {"error": f"lab process failed: {type(exc).__name__}: {exc}"}
    else:
        reply = {"ready": len(devices)}
    stdout.write(json.dumps(reply).encode() + b"\n")
    stdout.flush()
    if "ready" in reply:
        for _ in iter(stdin.readline, b""):  # a request, until the parent closes or dies
            stats = {s.name: s.device_state.stats().to_dict() for s in servers}
            counters = {"stats": stats, "peak_setups": setups.peak()}
            stdout.write(json.dumps(counters).encode() + b"\n")
            stdout.flush()
    os._exit(0 if "ready" in reply else 1)  # no need to join session threads: we are done
