"""The host's Netmiko connection, shared by the built-in tasks, and the two ways of ending a
host's sessions: closing them (:func:`close_quietly`) and cutting them (:func:`abort_connections`).
"""

from __future__ import annotations

import logging
import re
from typing import Any

from nornir.core.task import Task

logger = logging.getLogger(__name__)

# nornir_netmiko's CONNECTION_NAME, without importing netmiko when no device task runs
CONNECTION_NAME = "netmiko"


def netmiko_connection(task: Task) -> Any:
    """The host's open Netmiko connection, opened on first use and reused across steps.

    A session the device dropped since the last step is noticed here and opened again, once;
    if that fails the step fails with the connection error. Never closed here: the engine
    closes every connection at the end of the run.
    """
    host = task.host
    existing = host.connections.get(CONNECTION_NAME)
    if existing is not None and not _alive(existing.connection):
        logger.info("host %s: the session was dropped, connecting again", host.name)
        close_quietly(host, CONNECTION_NAME)
    return host.get_connection(CONNECTION_NAME, task.nornir.config)


def _alive(connection: Any) -> bool:
    """Whether the SSH session is still up, asked of the transport: Netmiko's ``is_alive()``
    writes a NUL byte that a device may echo into the next command's output."""
    try:
        channel = connection.remote_conn
        transport = channel.get_transport()
        return bool(not channel.closed and transport is not None and transport.is_active())
    except Exception:  # noqa: BLE001 -- any error asking means the session is unusable
        return False


def privileged_connection(task: Task) -> Any:
    """The connection, in enable mode when the device lets us in, as Ansible's ``become``.

    Enable is tried once, when the session opens (the session stays privileged across steps);
    a login that may not enable keeps its user level, where show commands still work.
    """
    fresh = CONNECTION_NAME not in task.host.connections
    connection = netmiko_connection(task)
    if fresh:
        try:
            connection.enable()
        except Exception as exc:  # noqa: BLE001 -- Netmiko raises ValueError or ReadTimeout
            logger.info("host %s: staying at user level, enable failed: %s", task.host.name, exc)
    return connection


# What Cisco-style CLIs print when they refuse a line, as Ansible's ios_command checks
REJECTED = re.compile(
    r"^\s*% ?(Invalid input|Incomplete command|Ambiguous command|Unknown command|Invalid command)",
    re.MULTILINE,
)


class CommandRejected(Exception):
    """The device refused a command: its output starts with an IOS-style ``%`` error."""

    def __init__(self, command: str, output: str) -> None:
        match = REJECTED.search(output)
        said = match.group(0).strip() if match else output.strip().splitlines()[0]
        super().__init__(f"{command!r} rejected by the device: {said}")
        self.command = command
        self.output = output


class SessionClosedError(ConnectionError):
    """The device closed the session while a command ran (the host had connected: the step
    fails, the host is not unreachable)."""


def send_command(connection: Any, command: str) -> str:
    """``connection.send_command``, telling a session the device closed from a slow answer.

    Netmiko does not notice a closed channel while it reads: it waits for the prompt until its
    read timeout and raises ReadTimeout. If the session is gone by then, say so.
    """
    try:
        return str(connection.send_command(command))
    except Exception as exc:
        if _alive(connection):
            raise
        raise SessionClosedError(f"the device closed the session during {command!r}") from exc


def close_quietly(host: Any, *names: str) -> None:
    """Close the host's sessions (``names``, or all of them), logging out as Netmiko does; a
    session that fails to close (the device dropped it, say) is forgotten all the same."""
    for name in names or list(host.connections):
        try:
            host.close_connection(name)
        except Exception:  # noqa: BLE001 -- a dead session may fail to close; it is gone anyway
            host.connections.pop(name, None)
            logger.debug("host %s: error while closing %s", host.name, name)


def close_dead(host: Any) -> None:
    """Forget the host's Netmiko session if the device dropped it since it was last used."""
    existing = host.connections.get(CONNECTION_NAME)
    if existing is not None and not _alive(existing.connection):
        close_quietly(host, CONNECTION_NAME)


def close_host(task: Task) -> None:
    """A Nornir task: close the host's sessions (the end of a batch, or of a host's program)."""
    close_quietly(task.host)


def abort_connections(host: Any) -> None:
    """Drop the host's sessions without logging out, for a host past its task_timeout whose
    worker may still be reading: a graceful close would read the same channel (each stealing
    the other's prompt) and wait out the read timeout. The worker's next read fails at once."""
    for name in list(host.connections):
        connection = host.connections.pop(name).connection
        try:
            connection.paramiko_cleanup()  # closes the SSH transport: no "exit", no reads
            connection.channel.remote_conn = None  # Netmiko reads raise instead of waiting
        except Exception:  # noqa: BLE001 -- not a Netmiko connection, or already gone
            logger.debug("host %s: could not abort %s", host.name, name)
