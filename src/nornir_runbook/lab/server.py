"""A lab device's SSH server: FakeNOS's ``ParamikoSshServer`` without its per-host costs.

The parsed ``Nos`` of each platform and the host key are built once per process
(:func:`platform_nos`, :func:`host_key`) and shared by every device (the key is this user's lab
key, the same at every start: see :func:`nornir_runbook.runner.hostkeys.lab_host_key`), and the
server never sets ``SO_REUSEPORT`` (a busy port fails to bind instead of silently sharing
connections with whatever listens there). Each session runs a
:class:`~nornir_runbook.lab.shell.LabShell` of the device's platform. Each server counts its
sessions and may misbehave (:class:`~nornir_runbook.lab.faults.DeviceState`, ``Fault``).
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
from collections.abc import Callable
from functools import cache
from typing import Any

import paramiko
from fakenos.core.nos import Nos
from fakenos.core.servers import TCPServerBase
from fakenos.plugins.nos import nos_plugins
from fakenos.plugins.servers.ssh_server_paramiko import (
    ParamikoSshServer,
    ParamikoSshServerInterface,
    TapIO,
    channel_to_shell_tap,
    shell_to_channel_tap,
)

from nornir_runbook.lab.faults import (
    DEFAULT_FAULT_DELAY,
    DeviceState,
    Fault,
    SetupGauge,
    hold_silently,
    parse_fault,
)
from nornir_runbook.lab.platforms import IOS, platform_named
from nornir_runbook.lab.shell import LabShell, RunningConfig
from nornir_runbook.runner.hostkeys import lab_host_key

BANNER = "nornir-runbook lab device"
WATCHDOG_INTERVAL = 0.5  # how soon a session's shell notices its client has gone

log = logging.getLogger(__name__)


@cache
def platform_nos(platform: str) -> Nos:
    """FakeNOS's profile of ``platform`` (its YAML and its Python module), parsed once."""
    return Nos(filename=list(nos_plugins[platform]))


def host_key() -> paramiko.PKey:
    """The lab's host key, parsed once per process."""
    key: paramiko.PKey = lab_host_key()
    return key


class LabSshServer(ParamikoSshServer):  # type: ignore[misc]  # fakenos is untyped
    """One device: an SSH server on ``address:port`` running :class:`LabShell` sessions of
    ``platform`` (an inventory platform name, see :mod:`nornir_runbook.lab.platforms`).

    Built without ``ParamikoSshServer.__init__``, which parses its RSA key for every host. Its
    threads are daemons, so a session that is slow to notice the end cannot hold the process.
    ``fault`` makes it misbehave; ``device_state`` counts its sessions, and its connection
    set-ups on ``setups`` (shared with other devices).
    """

    def __init__(
        self,
        *,
        name: str,
        address: str,
        port: int,
        username: str,
        password: str,
        fault: Fault | str | None = None,
        fault_delay: float = DEFAULT_FAULT_DELAY,
        platform: str = IOS.name,
        setups: SetupGauge | None = None,
    ) -> None:
        TCPServerBase.__init__(self, address=address, port=port, timeout=1)
        self._socket: socket.socket | None = None
        profile = platform_named(platform)
        nos = platform_nos(profile.name)
        self.name = name
        self.nos = nos
        self.nos_inventory_config: dict[str, Any] = {}
        self.platform = profile.name
        self.shell = LabShell
        self.device_state = DeviceState(parse_fault(fault), fault_delay, setups)
        self.shell_configuration: dict[str, Any] = {
            "base_prompt": name,
            "platform": profile,
            "running_config": RunningConfig(name, nos, profile),
            "device": self.device_state,
        }
        self.ssh_banner = BANNER
        self.username = username
        self.password = password
        self.watchdog_interval = WATCHDOG_INTERVAL
        self._active_sessions: set[paramiko.Transport] = set()
        self._active_sessions_lock = threading.Lock()
        self._ssh_server_key = host_key()

    def __repr__(self) -> str:
        return f"LabSshServer({self.name!r}, {self.platform}, {self.address}:{self.port})"

    def connection_function(self, client: socket.socket, is_running: threading.Event) -> None:
        """One TCP connection, counted: an SSH session, or silence for ``no_banner``."""
        self.device_state.connected()
        set_up = self.device_state.setups.begin()
        try:
            if self.device_state.fault is Fault.NO_BANNER:
                hold_silently(client, is_running)
            else:
                self._session(client, is_running, set_up)
        except Exception as exc:  # noqa: BLE001 -- a client gone mid-handshake ends its session
            log.debug("%s: session ended: %s: %s", self.name, type(exc).__name__, exc)
        finally:
            with contextlib.suppress(OSError):
                client.close()
            set_up()  # a connection that never got a login answer
            self.device_state.count("open", -1)

    def _session(
        self, client: socket.socket, is_running: threading.Event, set_up: Callable[[], None]
    ) -> None:
        """FakeNOS's ``connection_function`` with the device's login check (which ends the
        set-up), and a hold on the channel to count the sessions that the client closed itself."""
        run_srv, replied, helpers = threading.Event(), threading.Event(), []
        run_srv.set()
        transport = paramiko.Transport(client)
        with self._active_sessions_lock:
            self._active_sessions.add(transport)
        try:
            transport.add_server_key(self._ssh_server_key)
            transport.start_server(server=_Login(self, set_up))
            channel = transport.accept()  # None once the client leaves or fails to log in
            if channel is None:
                return
            stdio = channel.makefile("rw")
            stdin, stdout = TapIO(run_srv), TapIO(run_srv)
            config = {**self.shell_configuration, "is_running": is_running}
            shell = self.shell(stdin, stdout, self.nos, self.nos_inventory_config, **config)
            for target, args in (
                (channel_to_shell_tap, (stdio, stdin, replied, run_srv)),
                (shell_to_channel_tap, (stdio, stdout, replied, run_srv)),
                (self.watchdog, (is_running, run_srv, transport, shell)),
            ):
                helpers.append(threading.Thread(target=target, args=args, daemon=True))
                helpers[-1].start()
            shell.start()  # until the client logs out or leaves, the lab halts, or a fault drops it
            if channel.eof_received:  # Netmiko's disconnect() closes its channel first
                self.device_state.count("client_closed")
        finally:
            run_srv.clear()
            transport.close()
            with self._active_sessions_lock:
                self._active_sessions.discard(transport)
            self._join_connection_helper_threads(helpers)

    def start(self) -> None:
        """Bind and listen now (so the device accepts connections when this returns)."""
        if self._is_running.is_set():
            return
        self._bind_sockets()
        self._is_running.set()
        self._listen_thread = threading.Thread(
            target=self._listen, name=f"lab-{self.name}", daemon=True
        )
        self._listen_thread.start()

    def _bind_sockets(self) -> None:
        family = socket.AF_INET6 if ":" in self.address else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            # SO_REUSEADDR only: a restart must not trip over TIME_WAIT, but no SO_REUSEPORT
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.settimeout(self.timeout)
            sock.bind((self.address, self.port))
            sock.listen(socket.SOMAXCONN)
        except BaseException:
            sock.close()
            raise
        self._socket = sock

    def halt(self) -> None:
        """Stop listening and drop every session at once, without waiting for threads."""
        self._is_running.clear()
        sock, self._socket = self._socket, None
        if sock is not None:
            with contextlib.suppress(OSError):  # wakes accept() in the listening thread
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        self._close_active_connections()

    def join(self, timeout: float) -> None:
        if self._listen_thread is not None:
            self._listen_thread.join(timeout)


class _Login(ParamikoSshServerInterface):  # type: ignore[misc]  # fakenos is untyped
    """FakeNOS's SSH server interface; the device's state decides (and counts) each login, and
    its answer ends the connection's set-up."""

    def __init__(self, server: LabSshServer, set_up: Callable[[], None]) -> None:
        super().__init__(ssh_banner=BANNER, username=server.username, password=server.password)
        self._state = server.device_state
        self._set_up = set_up

    def check_auth_password(self, username: str, password: str) -> int:
        matches = super().check_auth_password(username, password) == paramiko.AUTH_SUCCESSFUL
        allowed = self._state.login(matches)
        self._set_up()
        return int(paramiko.AUTH_SUCCESSFUL if allowed else paramiko.AUTH_FAILED)
