"""Misbehaving lab devices: the faults a device can be given, and what every device counts.

A :class:`~nornir_runbook.lab.Device` with ``fault=`` set (or an inventory host with data key
``lab_fault:``, read by :func:`~nornir_runbook.lab.devices_from_nornir`) misbehaves this way:

=============================  ==================================================================
``no_banner``                  accepts TCP, reads what the client sends, never sends the SSH
                               banner (a hung sshd, a tarpit)
``no_prompt``                  logs in and opens the shell, then never writes anything: no
                               prompt, no output (a hung line card, a full vty)
``drop_mid_output``            every session: closes it after the first half of the first
                               output of more than one line (``show version``, ``show run``)
``slow``                       waits ``fault_delay`` seconds before each output line
``slow_login``                 waits ``fault_delay`` seconds before it answers a login (a slow
                               TACACS/RADIUS server): connection set-ups pile up on it
``drop_after_first_command``   closes the session right after the device's first command that
                               is not session set-up (``terminal ...``, ``enable``) has answered
                               with its prompt; later sessions are healthy
``drop_then_deny_login``       as ``drop_after_first_command``, and once a session has logged
                               in, every further login is refused (as a wrong password)
``hostile_banner``             answers ``show banner motd`` with :data:`HOSTILE_BANNER`: terminal
                               escape sequences that set the window title, clear the screen,
                               write the clipboard (OSC 52), ring the bell, and forge an
                               ``ok: [forged]`` line with cursor movement and a carriage return
``link_down``                  a link has failed: its first routed Ethernet interface that is up
                               shows ``down``/``down`` in ``show ip interface brief`` (a check
                               that wants every interface up fails on this device)
=============================  ==================================================================

A refused port needs no device (pick a free port nobody listens on), and a wrong password is an
inventory password that differs from the device's.

The devices served by one process share a :class:`SetupGauge`: the connection set-ups in
progress on them at once (from the TCP accept to the login's answer), and the most seen.

:class:`DeviceState` holds one device's fault and counters, shared by its sessions;
:class:`SessionFaults` is one session's side of the fault, used by the lab shell (any platform);
:class:`SessionStats` is what :meth:`~nornir_runbook.lab.Lab.stats` reports for each device.
This module needs only the standard library, so the lab package imports it without FakeNOS.
"""

from __future__ import annotations

import re
import select
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from enum import StrEnum
from typing import Any

DEFAULT_FAULT_DELAY = 0.5  # seconds before each output line of a "slow" device
HOLD_POLL = 0.2  # how often a silent connection checks that the lab still runs
DRAIN_TIMEOUT = 2.0  # how long a dropping session lets its last lines reach the client
DRAIN_SETTLE = 0.1  # after the queue is empty: time for the last line's channel write
BANNER_COMMAND = "show banner motd"
HOSTILE_BANNER = (
    "\x1b]0;pwned by the banner\x07"  # OSC 0: the window title
    "\x1b[2J\x1b[H"  # clear the screen, cursor home
    "\x1b]52;c;cm0gLXJmIH4K\x07"  # OSC 52: write the clipboard
    "Authorized access only\x07\n"  # and the bell
    "\x1b[1A\x1b[2K\rok: [forged]\x1b[K"  # cursor up, erase the line, a forged outcome
)


LINK_COMMANDS = frozenset({"show ip interface brief", "show ip int brief", "show ip int br"})
_UP_UP = re.compile(r"\bup(\s+)up\b")


def link_down(text: str) -> str:
    """``show ip interface brief`` with its first Ethernet interface that is up and has an
    address (a routed uplink, not a subinterface) shown down."""
    lines = text.splitlines()
    for index, line in enumerate(lines):
        name = line.split(" ", 1)[0]
        uplink = name.startswith("Et") and "." not in name and "unassigned" not in line
        if uplink and _UP_UP.search(line):
            # "up   up" -> "down down", the columns after it where they were
            lines[index] = _UP_UP.sub(
                lambda m: "down" + " " * max(1, len(m.group(1)) - 2) + "down", line, count=1
            )
            break
    return "\n".join(lines)


class Fault(StrEnum):
    NO_BANNER = "no_banner"
    NO_PROMPT = "no_prompt"
    DROP_MID_OUTPUT = "drop_mid_output"
    SLOW = "slow"
    SLOW_LOGIN = "slow_login"
    DROP_AFTER_FIRST_COMMAND = "drop_after_first_command"
    DROP_THEN_DENY_LOGIN = "drop_then_deny_login"
    HOSTILE_BANNER = "hostile_banner"
    LINK_DOWN = "link_down"


FAULTS = frozenset(f.value for f in Fault)
_DROP_AFTER_COMMAND = frozenset({Fault.DROP_AFTER_FIRST_COMMAND, Fault.DROP_THEN_DENY_LOGIN})
# what Netmiko sends while it prepares a session: never "the first command"
_SETUP_PREFIXES = ("terminal ", "enable", "disable")


def parse_fault(value: object) -> Fault | None:
    """``None`` or a :class:`Fault`; ``ValueError`` naming the known faults otherwise."""
    if value is None or isinstance(value, Fault):
        return value
    if isinstance(value, str) and value in FAULTS:
        return Fault(value)
    raise ValueError(f"unknown lab fault {value!r} (known: {', '.join(sorted(FAULTS))})")


def check_fault(fault: object, fault_delay: object) -> str | None:
    """The fault's name (None for a healthy device); ``ValueError`` says what is wrong."""
    parsed = parse_fault(fault)
    if isinstance(fault_delay, bool) or not isinstance(fault_delay, int | float) or fault_delay < 0:
        raise ValueError(f"fault_delay must be 0 or more seconds, not {fault_delay!r}")
    return parsed.value if parsed is not None else None


@dataclass(frozen=True, slots=True, kw_only=True)
class SessionStats:
    """What one device has seen since the lab started.

    ``connections``: TCP connections accepted; ``open``: of those, still open now;
    ``logins``: sessions that logged in; ``denied``: logins refused (bad credentials, or
    ``drop_then_deny_login``); ``commands``: commands answered in full (session set-up such as
    ``terminal length 0`` aside); ``client_closed``: sessions the client closed itself (SSH
    channel close: Netmiko's ``disconnect``), as opposed to sessions cut by a dying client, a
    network error or the device; ``drops``: sessions the device cut on purpose (its fault).
    """

    connections: int = 0
    open: int = 0
    logins: int = 0
    denied: int = 0
    commands: int = 0
    client_closed: int = 0
    drops: int = 0

    def to_dict(self) -> dict[str, int]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SessionStats:
        return cls(**{k: int(v) for k, v in data.items()})


class SetupGauge:
    """Connection set-ups in progress at once on the devices that share it, and the most seen:
    a set-up runs from the TCP accept to the answer to its login (or to the end of a connection
    that never got one). What a client's ``connect_limit`` bounds, seen from the devices."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._now = 0
        self._peak = 0

    def begin(self) -> Callable[[], None]:
        """Count a set-up that starts now; the function returned ends it (once, however often
        it is called)."""
        with self._lock:
            self._now += 1
            self._peak = max(self._peak, self._now)
        ended = False

        def end() -> None:
            nonlocal ended
            with self._lock:
                if not ended:
                    ended = True
                    self._now -= 1

        return end

    def peak(self) -> int:
        """The most set-ups that were in progress at once."""
        with self._lock:
            return self._peak


class DeviceState:
    """One device's fault and counters, shared by all its sessions (thread-safe); ``setups``
    is shared with the other devices of its process."""

    def __init__(
        self,
        fault: Fault | None = None,
        fault_delay: float = DEFAULT_FAULT_DELAY,
        setups: SetupGauge | None = None,
    ):
        self.fault = fault
        self.fault_delay = fault_delay
        self.setups = setups if setups is not None else SetupGauge()
        self._lock = threading.Lock()
        self._counts = {f.name: 0 for f in fields(SessionStats)}
        self._first_command_done = False

    def __repr__(self) -> str:
        return f"DeviceState(fault={self.fault}, {self.stats()})"

    def count(self, name: str, n: int = 1) -> None:
        with self._lock:
            self._counts[name] += n

    def connected(self) -> None:
        with self._lock:
            self._counts["connections"] += 1
            self._counts["open"] += 1

    def login(self, credentials_ok: bool) -> bool:
        """Count a login attempt; True when it may log in (``slow_login``: after a wait)."""
        if self.fault is Fault.SLOW_LOGIN:
            time.sleep(self.fault_delay)
        with self._lock:
            allowed = credentials_ok and not (
                self.fault is Fault.DROP_THEN_DENY_LOGIN and self._counts["logins"] > 0
            )
            self._counts["logins" if allowed else "denied"] += 1
        return allowed

    def first_command(self) -> bool:
        """True once only: for the first command of the device's life that is not set-up."""
        with self._lock:
            first, self._first_command_done = not self._first_command_done, True
        return first

    def stats(self) -> SessionStats:
        with self._lock:
            return SessionStats(**self._counts)


class _Discard:
    """The output of a ``no_prompt`` shell: nothing ever reaches the client."""

    def write(self, value: str) -> None:
        pass

    def flush(self) -> None:
        pass


class SessionFaults:
    """One session's side of its device's fault, for the shell to consult.

    ``stopping`` is set when the session ends, and wakes a slow shell's waits.
    """

    def __init__(self, device: DeviceState | None) -> None:
        self.device = device
        self.fault = device.fault if device is not None else None
        self.stopping = threading.Event()
        self.dropping = False  # set once the session is to end after the current command

    def output(self, stdout: Any) -> Any:
        """What the shell writes to: ``stdout``, or nowhere for ``no_prompt``."""
        return _Discard() if self.fault is Fault.NO_PROMPT else stdout

    def lines(self, lines: list[str]) -> list[str]:
        """The lines of one output to send (``drop_mid_output``: the first half, once)."""
        if self.dropping:
            return []
        if self.fault is Fault.DROP_MID_OUTPUT and len(lines) > 1:
            self.dropping = True
            return lines[: len(lines) // 2]
        return lines

    def before_line(self) -> bool:
        """Wait before a line (``slow``); False when the session ended meanwhile."""
        if self.fault is Fault.SLOW and self.device is not None:
            return not self.stopping.wait(self.device.fault_delay)
        return not self.stopping.is_set()

    def after_command(self, line: str) -> bool | None:
        """After a command: None to go on; else end the session (True: send the prompt first).

        Counts the command as answered, unless it is set-up or its answer did not all go out.
        """
        if self.dropping:
            return False
        command = " ".join(line.split())
        if not command or command.startswith(_SETUP_PREFIXES) or self.device is None:
            return None
        if self.fault is not Fault.NO_PROMPT and not self.stopping.is_set():
            self.device.count("commands")
        if self.fault in _DROP_AFTER_COMMAND and self.device.first_command():
            return True
        return None

    def dropped(self, queued: list[str]) -> None:
        """Let the ``queued`` lines reach the client, then count the drop."""
        deadline = time.monotonic() + DRAIN_TIMEOUT
        while queued and time.monotonic() < deadline and not self.stopping.is_set():
            time.sleep(0.01)
        self.stopping.wait(DRAIN_SETTLE)
        if self.device is not None:
            self.device.count("drops")


def hold_silently(client: socket.socket, is_running: threading.Event) -> None:
    """``no_banner``: keep the connection open, read and discard, until the client or lab ends."""
    while is_running.is_set():
        try:
            readable, _, _ = select.select([client], [], [], HOLD_POLL)
            if readable and not client.recv(4096):
                return
        except (OSError, ValueError):  # closed under us by the lab's halt
            return
