"""paramiko's MAC check, in C.

paramiko checks the MAC of every packet it reads with ``paramiko.util.constant_time_bytes_eq``,
a byte-by-byte loop in Python: 50 sessions of enable and two show commands read about 8,000
packets, some 80 ms of CPU in the process that reads them. :func:`install` has paramiko compare
bytes with ``hmac.compare_digest``, the standard library's constant-time comparison: the same
answer, still in a time that does not depend on where the bytes differ. Anything but two
``bytes`` goes to paramiko's own function.
"""

from __future__ import annotations

import functools
import hmac
import threading
from collections.abc import Callable
from typing import Any

_lock = threading.Lock()


def install() -> None:
    """Make paramiko's packet MAC check use ``hmac.compare_digest`` (once per process)."""
    from paramiko import util  # noqa: PLC0415 -- only when connecting

    with _lock:
        if getattr(util.constant_time_bytes_eq, "fastmac", False):
            return
        util.constant_time_bytes_eq = constant_time_equal(util.constant_time_bytes_eq)


def constant_time_equal(original: Callable[[Any, Any], bool]) -> Callable[[Any, Any], bool]:
    """``original``'s answer, from ``hmac.compare_digest`` when both are ``bytes``
    (``original`` is its ``__wrapped__``)."""

    @functools.wraps(original)
    def equal(a: Any, b: Any) -> bool:
        if type(a) is bytes and type(b) is bytes:
            return hmac.compare_digest(a, b)
        return original(a, b)

    equal.fastmac = True  # type: ignore[attr-defined]
    return equal
