"""What nrb tells about, and adds to, each host's Netmiko connection: the address it connects
to (for the audit trail), and the session log of ``--session-log``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from nornir.core import Nornir
from nornir.core.inventory import ConnectionOptions, Host

from nornir_runbook.tasks._netmiko import CONNECTION_NAME

SSH_PORT = 22


def address(host: Host) -> str:
    """``hostname:port`` that Netmiko connects ``host`` to (``[v6]:port`` for IPv6); the
    connection options of ``netmiko`` (host, groups, defaults) over the host's own."""
    params = host.get_connection_parameters(CONNECTION_NAME)
    hostname = params.hostname or host.name
    shown = f"[{hostname}]" if ":" in hostname else hostname
    return f"{shown}:{params.port or SSH_PORT}"


def attach_session_logs(
    nr: Nornir, files: Mapping[str, Path], hidden: Sequence[str], header: str
) -> None:
    """Each host of ``files`` logs its Netmiko sessions to its file, with ``hidden`` masked;
    ``header`` opens each session in the file.

    The log goes in the host's own ``netmiko`` connection options (the resolved ones, with
    ``session_log`` added to their extras), so that it reaches Netmiko wherever the host runs:
    the process and dask executors rebuild hosts from those options.
    """
    from nornir_runbook.runner.sessionlog import SessionLogFile  # noqa: PLC0415 -- loads netmiko

    for name, path in files.items():
        host = nr.inventory.hosts[name]
        params = host.get_connection_parameters(CONNECTION_NAME)
        extras = dict(params.extras or {})
        extras["session_log"] = SessionLogFile(str(path), hidden, header)
        host.connection_options[CONNECTION_NAME] = ConnectionOptions(
            hostname=params.hostname,
            port=params.port,
            username=params.username,
            password=params.password,
            platform=params.platform,
            extras=extras,
        )
