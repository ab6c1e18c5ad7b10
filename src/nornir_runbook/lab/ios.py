"""The Cisco IOS profile of the lab: FakeNOS's IOS commands plus configuration mode.

Stock FakeNOS IOS knows ``enable``, ``show clock``, ``show version`` and about a hundred canned
``show`` commands, but no ``configure terminal``. :class:`IosShell` adds what Netmiko's
``send_config_set`` and ``save_config`` need, the way a real IOS answers:

- ``configure terminal`` at ``#`` enters ``{host}(config)#``; ``interface``, ``router``,
  ``line``... enter their sub-modes (``(config-if)#``...); ``exit`` goes up one mode, ``end``
  back to ``#``; ``do CMD`` runs an exec command from any config mode;
- every config line is recorded per device (shared by all its sessions), and
  ``show running-config`` is the canned config with those lines added before ``end``;
- ``write memory`` / ``copy running-config startup-config`` answer ``[OK]``; ``disable``
  returns to ``>``; ``| include``, ``| exclude`` and ``| begin`` filter any command's output.

:class:`LabSshServer` is FakeNOS's ``ParamikoSshServer`` without its per-host costs: the parsed
``Nos`` and the host key are built once per process (:func:`ios_nos`, :func:`host_key`) and
shared by every device (the key is this user's lab key, the same at every start: see
:func:`nornir_runbook.runner.hostkeys.lab_host_key`), and it never sets ``SO_REUSEPORT`` (a busy
port fails to bind instead of silently sharing connections with whatever listens there). Each
server counts its sessions and may misbehave (:class:`~nornir_runbook.lab.faults.DeviceState`,
``Fault``).
"""

from __future__ import annotations

import contextlib
import logging
import re
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
from fakenos.plugins.shell.cmd_shell import CMDShell

from nornir_runbook.lab.faults import (
    BANNER_COMMAND,
    DEFAULT_FAULT_DELAY,
    HOSTILE_BANNER,
    DeviceState,
    Fault,
    SessionFaults,
    hold_silently,
    parse_fault,
)
from nornir_runbook.runner.hostkeys import lab_host_key

PLATFORM = "cisco_ios"
BANNER = "nornir-runbook lab device"
CONFIG_INTRO = "Enter configuration commands, one per line.  End with CNTL/Z."
SAVE_OUTPUT = "Building configuration...\n[OK]"
CONFIG_MODE = "config"
WATCHDOG_INTERVAL = 0.5  # how soon a session's shell notices its client has gone

CONFIGURE = frozenset({"configure terminal", "configure", "conf t", "config t", "conf term"})
RUNNING_CONFIG = frozenset({"show running-config", "show running", "show run"})
SAVE = frozenset(
    {
        "write",
        "wr",
        "write mem",
        "write memory",
        "copy running-config startup-config",
        "copy run start",
    }
)
SUBMODES: tuple[tuple[str, str], ...] = (
    ("interface ", "config-if"),
    ("router ", "config-router"),
    ("line ", "config-line"),
    ("vrf definition ", "config-vrf"),
    ("ip access-list ", "config-ext-nacl"),
    ("route-map ", "config-route-map"),
    ("class-map ", "config-cmap"),
    ("policy-map ", "config-pmap"),
)
log = logging.getLogger(__name__)

PIPE = re.compile(r"^(?P<command>.+?)\s+\|\s+(?P<kind>include|exclude|begin|i|e|b)\s+(?P<rx>.+)$")


@cache
def ios_nos() -> Nos:
    """FakeNOS's IOS profile (the 4,500-line YAML and the Python module), parsed once."""
    return Nos(filename=list(nos_plugins[PLATFORM]))


def host_key() -> paramiko.PKey:
    """The lab's host key, parsed once per process."""
    key: paramiko.PKey = lab_host_key()
    return key


class RunningConfig:
    """The config lines one device has received, shared by all its sessions."""

    def __init__(self, hostname: str, nos: Nos) -> None:
        self._hostname = hostname
        self._nos = nos
        self._lines: list[str] = []
        self._lock = threading.Lock()

    def apply(self, line: str, *, child: bool) -> None:
        """Record a line; a top-level ``no X`` removes a recorded ``X`` instead."""
        text = (" " + line.strip() if not line[:1].isspace() else line) if child else line.strip()
        with self._lock:
            undone = text.startswith("no ") and text[3:] in self._lines
            if undone:
                self._lines.remove(text[3:])
            else:
                self._lines.append(text)

    def render(self) -> str:
        base: str = self._nos.device.render(
            "cisco_ios/show_running-config.j2", base_prompt=self._hostname
        ).rstrip()
        with self._lock:
            added = list(self._lines)
        if not added:
            return base
        head, _, _ = base.rpartition("\nend")
        return "\n".join([head or base, *added, "!", "end"])


def _pipe_filter(kind: str, rx: str) -> Callable[[str], str]:
    pattern = re.compile(rx)

    def apply(text: str) -> str:
        lines = text.splitlines()
        if kind[0] == "i":
            lines = [ln for ln in lines if pattern.search(ln)]
        elif kind[0] == "e":
            lines = [ln for ln in lines if not pattern.search(ln)]
        else:
            start = next((i for i, ln in enumerate(lines) if pattern.search(ln)), len(lines))
            lines = lines[start:]
        return "\n".join(lines)

    return apply


class IosShell(CMDShell):  # type: ignore[misc]  # fakenos is untyped
    """One session's CLI: FakeNOS's command table plus configuration mode (see module doc);
    ``device``, the device's shared state, may give it a fault (see ``lab_faults``)."""

    prompt: str
    stdout: Any  # FakeNOS's output queue, or nowhere (no_prompt)

    def __init__(
        self,
        *args: Any,
        running_config: RunningConfig,
        device: DeviceState | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self._running = running_config
        self._user_prompt: str = self.nos.initial_prompt.format(base_prompt=self.base_prompt)
        self._exec_prompt: str = self.nos.enable_prompt.format(base_prompt=self.base_prompt)
        self._mode: str | None = None  # None: exec; else "config" or a sub-mode
        self._pipe: Callable[[str], str] | None = None
        self._closing = False
        self._faults = SessionFaults(device)
        self.stdout = self._faults.output(self.stdout)

    def stop(self) -> None:
        # FakeNOS stops a shell by typing "exit", which config mode would take as "go up one mode"
        self._closing = True
        self._faults.stopping.set()
        super().stop()

    def onecmd(self, line: str) -> bool:
        if self._closing or not self.is_running.is_set():
            return True
        stop = self._config_line(line) if self._mode is not None else bool(super().onecmd(line))
        drop = None if stop else self._faults.after_command(line)
        if drop is not None:  # the device's fault: end the session now
            if drop:  # the command completed: the client sees its prompt, then the session goes
                self.stdout.write(self.prompt)
            self._faults.dropped(getattr(self.stdout, "lines", []))
            return True
        return stop

    def writeline(self, value: Any) -> None:
        text = str(value)
        for line in self._faults.lines((self._pipe(text) if self._pipe else text).splitlines()):
            if not self._faults.before_line():
                return  # the session ended while this output was going out slowly
            self.stdout.write(line + self.newline)

    def default(self, line: str) -> bool:  # noqa: PLR0911 -- one return per command
        """An exec-mode command (at ``>`` or ``#``)."""
        match = PIPE.match(line)
        if match:
            self._pipe = _pipe_filter(match["kind"], match["rx"])
            try:
                return self.default(match["command"])
            finally:
                self._pipe = None
        command = " ".join(line.split())
        if self.prompt == self._exec_prompt:
            if command in CONFIGURE:
                self.writeline(CONFIG_INTRO)
                self._set_mode(CONFIG_MODE)
                return False
            if command in RUNNING_CONFIG:
                self.writeline(self._running.render())
                return False
            if command in SAVE:
                self.writeline(SAVE_OUTPUT)
                return False
            if command == "disable":
                self.prompt = self._user_prompt
                return False
        if command == BANNER_COMMAND and self._faults.fault is Fault.HOSTILE_BANNER:
            self.stdout.write(HOSTILE_BANNER + self.newline)  # as is: writeline splits at \r
            return False
        return bool(super().default(command))

    def _set_mode(self, mode: str | None) -> None:
        self._mode = mode
        self.prompt = self._exec_prompt if mode is None else f"{self.base_prompt}({mode})#"

    def _config_line(self, raw: str) -> bool:
        line = raw.rstrip()
        word = " ".join(line.split())
        if not word or word.startswith("!"):
            return False
        if word in ("end", "\x1a"):
            self._set_mode(None)
        elif word == "exit":
            self._set_mode(None if self._mode == CONFIG_MODE else CONFIG_MODE)
        elif word.startswith("do "):
            mode, self.prompt = self._mode, self._exec_prompt
            self._mode = None
            try:
                self.default(word[3:])
            finally:
                self._set_mode(mode)
        else:
            submode = None if line[:1].isspace() else _submode(word)
            self._running.apply(line, child=submode is None and self._mode != CONFIG_MODE)
            if submode is not None:
                self._set_mode(submode)
        return False


def _submode(line: str) -> str | None:
    return next((mode for prefix, mode in SUBMODES if line.startswith(prefix)), None)


class LabSshServer(ParamikoSshServer):  # type: ignore[misc]  # fakenos is untyped
    """One device: an SSH server on ``address:port`` running :class:`IosShell` sessions.

    Built without ``ParamikoSshServer.__init__``, which parses its RSA key for every host. Its
    threads are daemons, so a session that is slow to notice the end cannot hold the process.
    ``fault`` makes it misbehave; ``device_state`` counts its sessions.
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
    ) -> None:
        TCPServerBase.__init__(self, address=address, port=port, timeout=1)
        self._socket: socket.socket | None = None
        nos = ios_nos()
        self.name = name
        self.nos = nos
        self.nos_inventory_config: dict[str, Any] = {}
        self.shell = IosShell
        self.device_state = DeviceState(parse_fault(fault), fault_delay)
        self.shell_configuration: dict[str, Any] = {
            "base_prompt": name,
            "running_config": RunningConfig(name, nos),
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
        return f"LabSshServer({self.name!r}, {self.address}:{self.port})"

    def connection_function(self, client: socket.socket, is_running: threading.Event) -> None:
        """One TCP connection, counted: an SSH session, or silence for ``no_banner``."""
        self.device_state.connected()
        try:
            if self.device_state.fault is Fault.NO_BANNER:
                hold_silently(client, is_running)
            else:
                self._session(client, is_running)
        except Exception as exc:  # noqa: BLE001 -- a client gone mid-handshake ends its session
            log.debug("%s: session ended: %s: %s", self.name, type(exc).__name__, exc)
        finally:
            with contextlib.suppress(OSError):
                client.close()
            self.device_state.count("open", -1)

    def _session(self, client: socket.socket, is_running: threading.Event) -> None:
        """FakeNOS's ``connection_function`` with the device's login check, and a hold on the
        channel to count the sessions that the client closed itself."""
        run_srv, replied, helpers = threading.Event(), threading.Event(), []
        run_srv.set()
        transport = paramiko.Transport(client)
        with self._active_sessions_lock:
            self._active_sessions.add(transport)
        try:
            transport.add_server_key(self._ssh_server_key)
            transport.start_server(server=_Login(self))
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
    """FakeNOS's SSH server interface; the device's state decides (and counts) each login."""

    def __init__(self, server: LabSshServer) -> None:
        super().__init__(ssh_banner=BANNER, username=server.username, password=server.password)
        self._state = server.device_state

    def check_auth_password(self, username: str, password: str) -> int:
        matches = super().check_auth_password(username, password) == paramiko.AUTH_SUCCESSFUL
        return int(paramiko.AUTH_SUCCESSFUL if self._state.login(matches) else paramiko.AUTH_FAILED)
