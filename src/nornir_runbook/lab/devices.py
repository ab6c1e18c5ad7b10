"""The lab's devices: what each one is (:class:`Device`), read from a Nornir inventory
(:func:`devices_from_nornir`), and the checks made before any of them listens."""

from __future__ import annotations

import errno
import ipaddress
import socket
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from nornir_runbook.errors import LabError
from nornir_runbook.lab.faults import DEFAULT_FAULT_DELAY, check_fault
from nornir_runbook.lab.platforms import IOS, platform_named

if TYPE_CHECKING:
    from nornir.core import Nornir

MAX_PORT = 65535


@dataclass(frozen=True, slots=True, kw_only=True)
class Device:
    """One fake device: its host name (also its prompt), where it listens, who may log in.

    ``platform``: the CLI it plays, an inventory platform name that
    :mod:`~nornir_runbook.lab.platforms` serves (kept as the lab's own name for it: ``ios`` is
    ``cisco_ios``); ``fault``: None (healthy) or how it misbehaves, a
    :class:`~nornir_runbook.lab.faults.Fault` or its name; ``fault_delay``: seconds before each
    output line of a ``slow`` device, or before a ``slow_login`` device answers a login.
    """

    name: str
    address: str
    port: int
    username: str
    password: str = field(repr=False)
    fault: str | None = None
    fault_delay: float = DEFAULT_FAULT_DELAY
    platform: str = IOS.name

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "fault", check_fault(self.fault, self.fault_delay))
            object.__setattr__(self, "platform", platform_named(self.platform).name)
        except ValueError as exc:
            raise LabError(f"host {self.name!r}: {exc}") from None
        try:
            loopback = ipaddress.ip_address(self.address).is_loopback
        except ValueError:
            loopback = False
        if not loopback:
            raise LabError(
                f"host {self.name!r}: {self.address!r} is not a loopback IP address; the lab "
                "only serves 127.0.0.0/8 and ::1"
            )
        if not 0 < self.port <= MAX_PORT:
            raise LabError(f"host {self.name!r}: port {self.port} is out of range")


def devices_from_nornir(nr: Nornir, hosts: Iterable[str] | None = None) -> list[Device]:
    """The lab devices for ``hosts`` (default: every host), in inventory order.

    Address, port, credentials and platform are what nornir_netmiko will connect with: the
    host's own values, else its groups', else the defaults', overridden by
    ``connection_options.netmiko``.
    Data keys ``lab_fault`` and ``lab_fault_delay`` (resolved the same way) give the device's
    fault (see :mod:`nornir_runbook.lab.faults`).
    """
    inventory = nr.inventory.hosts
    wanted = set(inventory) if hosts is None else set(hosts)
    unknown = sorted(wanted - set(inventory))
    if unknown:
        raise LabError(f"unknown hosts: {', '.join(unknown)}")
    devices = []
    for name, host in inventory.items():
        if name not in wanted:
            continue
        params = host.get_connection_parameters("netmiko")
        for attribute in ("hostname", "username", "password"):
            if getattr(params, attribute) is None:
                raise LabError(f"host {name!r} has no {attribute}")
        devices.append(
            Device(
                name=name,
                address=str(params.hostname),
                port=params.port or 22,
                username=str(params.username),
                password=str(params.password),
                fault=host.get("lab_fault"),
                fault_delay=float(host.get("lab_fault_delay", DEFAULT_FAULT_DELAY)),
                platform=str(params.platform),
            )
        )
    return devices


def check_port_free(device: Device) -> None:
    """Raise :class:`LabError` if something already listens on the device's address and port.

    FakeNOS's own servers set ``SO_REUSEPORT``, so binding a busy port would silently succeed.
    This probe sets ``SO_REUSEADDR`` only: on Linux that still fails against any listener, but
    not against connections of an earlier lab left in ``TIME_WAIT``.
    """
    family = socket.AF_INET6 if ":" in device.address else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((device.address, device.port))
        except OSError as exc:
            reason = "already in use" if exc.errno == errno.EADDRINUSE else exc.strerror
            raise LabError(
                f"host {device.name!r}: cannot serve {device.address}:{device.port}: {reason}"
            ) from None


def check_unique(devices: Sequence[Device]) -> None:
    names = [name for name, n in Counter(d.name for d in devices).items() if n > 1]
    if names:
        raise LabError(f"duplicate device names: {', '.join(names)}")
    owner: dict[tuple[str, int], str] = {}
    for device in devices:
        key = (str(ipaddress.ip_address(device.address)), device.port)
        if key in owner:
            raise LabError(
                f"hosts {owner[key]!r} and {device.name!r} both use {device.address}:{device.port}"
            )
        owner[key] = device.name
