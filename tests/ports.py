"""Ports for the tests' lab devices, picked where nothing else will take them in the meantime.

A port the kernel hands out for ``bind(("127.0.0.1", 0))`` comes from the ephemeral range, and
between picking it and a lab binding it, any outgoing connection (an nrb run of another test, of
another xdist worker) may be given the same port. So ports are picked below the ephemeral
range, from a slice of its own for each xdist worker, never twice in one process, and checked
free by binding them.
"""

from __future__ import annotations

import os
import random
import socket

LOW, HIGH = 20000, 32000  # below Linux's ephemeral range (32768-60999 by default)
_SLICE = 1500  # ports per xdist worker (gw0 .. gw7)
_given: set[int] = set()


def _slice() -> range:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw")
    index = int(worker) if worker.isdigit() else 0
    start = LOW + (index * _SLICE) % (HIGH - LOW)
    return range(start, start + _SLICE)


def _free(port: int, family: socket.AddressFamily, address: str) -> bool:
    with socket.socket(family) as sock:
        try:
            sock.bind((address, port))
        except OSError:
            return False
    return True


def pick_free_ports(count: int, address: str = "127.0.0.1") -> list[int]:
    """``count`` distinct ports free right now, none handed out before in this process."""
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    ports = list(_slice())
    offset = random.randrange(len(ports))
    picked: list[int] = []
    if count <= 0:
        return picked
    for port in ports[offset:] + ports[:offset]:
        if port not in _given and _free(port, family, address):
            picked.append(port)
            _given.add(port)
            if len(picked) == count:
                return picked
    _given.difference_update(picked)
    raise RuntimeError(f"no {count} free ports left in {ports[0]}-{ports[-1]}")
