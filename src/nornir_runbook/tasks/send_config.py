"""Send configuration lines with Netmiko's ``send_config_set``."""

from __future__ import annotations

from nornir.core.task import Result, Task

from nornir_runbook.tasks._netmiko import REJECTED, netmiko_connection


def send_config(task: Task, config: list[str]) -> Result:
    """Enter enable mode (as ``netmiko_send_config`` does), then send ``config`` in config mode.

    ``result`` is the session output and ``changed`` is True; no lines (all rendered away)
    sends nothing and changes nothing. A single string is split into lines.
    """
    lines = config.splitlines() if isinstance(config, str) else list(config)
    if not lines:
        return Result(host=task.host, result="", changed=False)
    connection = netmiko_connection(task)
    connection.enable()
    output = connection.send_config_set(config_commands=lines, error_pattern=REJECTED.pattern)
    return Result(host=task.host, result=output, changed=True)
